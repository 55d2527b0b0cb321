//! Random number generation as PyTorch's CPU generator does it, value for value.
//!
//! # Why PyTorch's stream
//!
//! A script that calls `torch.manual_seed(0)` and then builds a model, draws a batch or
//! shuffles a dataset is expected to get PyTorch's numbers: the same initial weights, the
//! same dropout masks, the same `DataLoader` order. So the generator is PyTorch's 32-bit
//! Mersenne Twister ([`mt19937`]) and every fill consumes it as PyTorch's CPU kernels do,
//! with the same arithmetic on the drawn bits:
//!
//! | fill                           | draws per element          | value                                 |
//! |--------------------------------|----------------------------|---------------------------------------|
//! | uniform, float32 / 16-bit      | one u32                    | `fma(u24 * 2^-24, to - from, from)`   |
//! | uniform, float64               | one u64 (two u32, high first) | `fma(u53 * 2^-53, to - from, from)` |
//! | normal, contiguous, >= 16      | one per element + 16 if `n % 16 != 0` | Box–Muller per 16 ([`box_muller`]) |
//! | normal, otherwise              | two u64 per pair, cached   | `normal_distribution<double>`         |
//! | bernoulli(p), exponential      | one u64                    | `u53 < p`, `-ln(1 - u53) / lambda`    |
//! | integers in a range `r`        | u32 if `r < 2^28`, else u64 | `draw % r + from`                    |
//!
//! The draws are serial (a twister value depends on the previous ones), as in PyTorch;
//! the arithmetic after them is independent per element or per block of 16, and runs
//! in parallel for long fills, so results do not depend on the thread count.

mod box_muller;
pub mod mt19937;

use mt19937::{Mt19937, STATE_N};

/// Fills longer than this transform their drawn bits in parallel chunks of this size
/// (a multiple of 16, so that chunks hold whole Box–Muller blocks).
pub const PAR_CHUNK: usize = 32768;

/// Elements drawn per pass of a serial fill whose arithmetic is light (bernoulli,
/// integers): the drawn bits stay in cache between the draw and their use.
const DRAW_BATCH: usize = 1024;

/// The size of PyTorch's `CPUGeneratorImplState`, the byte layout of `get_rng_state()`.
pub const STATE_BYTES: usize = 5056;

/// PyTorch's CPU generator: the twister and the cached second value of the last
/// Box–Muller pair drawn one value at a time.
#[derive(Clone, Debug, PartialEq)]
pub struct Generator {
    engine: Mt19937,
    next_double_normal: Option<f64>,
    next_float_normal: Option<f32>,
}

impl Generator {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Generator {
            engine: Mt19937::new(seed),
            next_double_normal: None,
            next_float_normal: None,
        }
    }

    /// The seed it was last seeded with.
    pub fn seed(&self) -> u64 {
        self.engine.seed()
    }

    /// Reseeds: a fresh twister and no cached normal value.
    pub fn set_seed(&mut self, seed: u64) {
        *self = Generator::new(seed);
    }

    /// The next 32-bit value.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        self.engine.next_u32()
    }

    /// The next 64-bit value: two 32-bit draws, the first the high half (PyTorch's
    /// `random64`).
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let hi = self.engine.next_u32();
        let lo = self.engine.next_u32();
        (u64::from(hi) << 32) | u64::from(lo)
    }

    /// The next `out.len()` 32-bit values.
    #[inline(never)]
    pub fn fill_u32(&mut self, out: &mut [u32]) {
        self.engine.fill(out);
    }

    /// The next `out.len()` 64-bit values (each as [`Generator::next_u64`]).
    // Not inlined: the fills that call it stay small (the extension has a size budget).
    #[inline(never)]
    pub fn fill_u64(&mut self, out: &mut [u64]) {
        let mut words = [0u32; 2 * DRAW_BATCH];
        for chunk in out.chunks_mut(DRAW_BATCH) {
            let words = &mut words[..2 * chunk.len()];
            self.engine.fill(words);
            for (o, w) in chunk.iter_mut().zip(words.chunks_exact(2)) {
                *o = (u64::from(w[0]) << 32) | u64::from(w[1]);
            }
        }
    }

    /// One value of PyTorch's `normal_distribution<double>`: Box–Muller on two 53-bit
    /// uniforms, the sine half kept for the next call.
    pub fn normal_f64(&mut self, mean: f64, std: f64) -> f64 {
        if let Some(z) = self.next_double_normal.take() {
            return z.mul_add(std, mean);
        }
        let u1 = unit_f64(self.next_u64());
        let u2 = unit_f64(self.next_u64());
        let r = (-2.0 * (-u2).ln_1p()).sqrt();
        let theta = std::f64::consts::TAU * u1;
        self.next_double_normal = Some(r * theta.sin());
        (r * theta.cos()).mul_add(std, mean)
    }

    /// The state in PyTorch's `CPUGeneratorImplState` layout (little-endian, as on every
    /// machine PyTorch runs on): seed u64, left i32, seeded i32, next u64, 624 words as
    /// u64, three f64 of which the second is the cached normal value, its valid flag as
    /// i32, padding, the cached float32 normal value and its bool flag, padding.
    pub fn get_state(&self) -> Vec<u8> {
        let mut s = Vec::with_capacity(STATE_BYTES);
        let (left, next, words) = self.engine.parts();
        s.extend(self.engine.seed().to_le_bytes());
        s.extend((left as i32).to_le_bytes());
        s.extend(1i32.to_le_bytes());
        s.extend(u64::from(next).to_le_bytes());
        for &w in words {
            s.extend(u64::from(w).to_le_bytes());
        }
        s.extend(0f64.to_le_bytes());
        s.extend(self.next_double_normal.unwrap_or(0.0).to_le_bytes());
        s.extend(0f64.to_le_bytes());
        s.extend(i32::from(self.next_double_normal.is_some()).to_le_bytes());
        s.extend([0u8; 4]);
        s.extend(self.next_float_normal.unwrap_or(0.0).to_le_bytes());
        s.push(u8::from(self.next_float_normal.is_some()));
        s.extend([0u8; 3]);
        debug_assert_eq!(s.len(), STATE_BYTES);
        s
    }

    /// Restores a state of [`Generator::get_state`]'s layout.
    pub fn set_state(&mut self, state: &[u8]) -> Result<(), String> {
        if state.len() != STATE_BYTES {
            return Err(format!(
                "Expected a CPUGeneratorImplState of size {STATE_BYTES} but found the input RNG \
                 state size to be {}",
                state.len()
            ));
        }
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&state[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let i32_at = |at: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&state[at..at + 4]);
            i32::from_le_bytes(b)
        };
        let f64_at = |at: usize| f64::from_bits(u64_at(at));
        let mut words = [0u32; STATE_N];
        for (k, w) in words.iter_mut().enumerate() {
            // The words are stored widened to u64; PyTorch keeps their low halves.
            *w = u64_at(24 + 8 * k) as u32;
        }
        let engine = Mt19937::from_parts(u64_at(0), i32_at(8), i32_at(12) != 0, u64_at(16), words)
            .ok_or_else(|| "Invalid mt19937 state".to_string())?;
        let next_double_normal = (i32_at(5040) != 0).then(|| f64_at(5024));
        let next_float_normal = (state[5052] != 0).then(|| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&state[5048..5052]);
            f32::from_le_bytes(b)
        });
        *self = Generator {
            engine,
            next_double_normal,
            next_float_normal,
        };
        Ok(())
    }
}

const TWO_POW_M24_F32: f32 = 1.0 / 16_777_216.0;
const TWO_POW_M53_F64: f64 = 1.0 / 9_007_199_254_740_992.0;

/// The low 24 bits of a draw as an f32 in [0, 1).
#[inline(always)]
pub fn unit_f32(x: u32) -> f32 {
    (x & 0x00ff_ffff) as f32 * TWO_POW_M24_F32
}

/// The low 53 bits of a draw as an f64 in [0, 1).
#[inline(always)]
pub fn unit_f64(x: u64) -> f64 {
    (x & ((1 << 53) - 1)) as f64 * TWO_POW_M53_F64
}

/// Runs `body` compiled for AVX2 + FMA where the CPU has them (the fills' `mul_add` are
/// then single instructions; AVX-512 adds nothing to their 8-lane blocks), else as is
/// (`mul_add` calls the C library's `fma`: the same values, more slowly).
#[inline(always)]
fn at_fma_level(body: impl FnOnce()) {
    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2(body: impl FnOnce()) {
        body()
    }
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::math::capability() >= crate::cpu::math::Capability::Avx2 {
        // SAFETY: `capability()` only answers a level the CPU supports.
        unsafe { avx2(body) };
        return;
    }
    body()
}

/// `f(chunk)` over chunks of [`PAR_CHUNK`] elements, in parallel above that length.
fn transform<T: Send>(out: &mut [T], f: impl Fn(&mut [T]) + Sync) {
    if out.len() <= PAR_CHUNK {
        f(out);
    } else {
        crate::cpu::par_chunks_mut(out, PAR_CHUNK, &|_, chunk| f(chunk));
    }
}

/// Draws one u32 per element straight into `out`, whose elements are 32-bit floats.
fn draw_u32_into_f32(g: &mut Generator, out: &mut [f32]) {
    // SAFETY: f32 and u32 have the same size and alignment and every bit pattern is a
    // valid value of both; the u32 view is the only one used while it lives.
    let bits = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u32>(), out.len()) };
    g.fill_u32(bits);
}

/// Draws one u64 per element straight into `out`, whose elements are 64-bit floats.
fn draw_u64_into_f64(g: &mut Generator, out: &mut [f64]) {
    // SAFETY: as in `draw_u32_into_f32`, for f64 and u64.
    let bits = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u64>(), out.len()) };
    g.fill_u64(bits);
}

/// Uniform float32 values in [from, to): `fma(u, to - from, from)` with `u` from the low
/// 24 bits of one u32, a value that rounds up to `to` replaced by `from` (PyTorch's
/// clamp). 16-bit dtypes take these values and round them.
pub fn fill_uniform_f32(g: &mut Generator, out: &mut [f32], from: f32, to: f32) {
    draw_u32_into_f32(g, out);
    let span = to - from;
    transform(out, |chunk| {
        at_fma_level(
            #[inline(always)]
            || {
                for o in chunk.iter_mut() {
                    let v = unit_f32(o.to_bits()).mul_add(span, from);
                    *o = if v == to { from } else { v };
                }
            },
        )
    });
}

/// [`fill_uniform_f32`] in float64, from the low 53 bits of one u64 per element.
pub fn fill_uniform_f64(g: &mut Generator, out: &mut [f64], from: f64, to: f64) {
    draw_u64_into_f64(g, out);
    let span = to - from;
    transform(out, |chunk| {
        at_fma_level(
            #[inline(always)]
            || {
                for o in chunk.iter_mut() {
                    let v = unit_f64(o.to_bits()).mul_add(span, from);
                    *o = if v == to { from } else { v };
                }
            },
        )
    });
}

/// Turns drawn u32 in `out` into uniforms, then each block of 16 into normal values.
fn normal_blocks_f32(out: &mut [f32], mean: f32, std: f32) {
    transform(out, |chunk| {
        at_fma_level(
            #[inline(always)]
            || {
                for block in chunk.chunks_exact_mut(16) {
                    for v in block.iter_mut() {
                        *v = unit_f32(v.to_bits());
                    }
                    box_muller::normal16_f32(block, mean, std);
                }
            },
        )
    });
}

/// Normal float32 values as PyTorch's contiguous fill of 16 or more: a uniform per
/// element, Box–Muller on each whole block of 16, and for a partial last block 16 new
/// uniforms whose block overwrites the last 16 values. `out.len() >= 16`.
pub fn fill_normal_f32(g: &mut Generator, out: &mut [f32], mean: f32, std: f32) {
    debug_assert!(out.len() >= 16);
    draw_u32_into_f32(g, out);
    let whole = out.len() / 16 * 16;
    normal_blocks_f32(&mut out[..whole], mean, std);
    normal_tail_f32(g, out, mean, std);
}

/// Normal values for a 16-bit tensor (computed in float32, to be rounded by the caller),
/// as PyTorch's fill for those dtypes: 16 uniforms per whole block, then 16 for the tail
/// (no draws for the partial block's own elements). `out.len() >= 16`.
pub fn fill_normal_f32_by_blocks(g: &mut Generator, out: &mut [f32], mean: f32, std: f32) {
    debug_assert!(out.len() >= 16);
    let whole = out.len() / 16 * 16;
    draw_u32_into_f32(g, &mut out[..whole]);
    normal_blocks_f32(&mut out[..whole], mean, std);
    normal_tail_f32(g, out, mean, std);
}

fn normal_tail_f32(g: &mut Generator, out: &mut [f32], mean: f32, std: f32) {
    if !out.len().is_multiple_of(16) {
        let mut block = [0f32; 16];
        draw_u32_into_f32(g, &mut block);
        normal_blocks_f32(&mut block, mean, std);
        let n = out.len();
        out[n - 16..].copy_from_slice(&block);
    }
}

/// [`fill_normal_f32`] in float64 (one u64 per uniform; the C library's ln, sin, cos).
pub fn fill_normal_f64(g: &mut Generator, out: &mut [f64], mean: f64, std: f64) {
    debug_assert!(out.len() >= 16);
    draw_u64_into_f64(g, out);
    // One copy for every level: the time is in the C library's ln, sin and cos.
    let blocks = |chunk: &mut [f64]| {
        for block in chunk.chunks_exact_mut(16) {
            for v in block.iter_mut() {
                *v = unit_f64(v.to_bits());
            }
            box_muller::normal16_f64(block, mean, std);
        }
    };
    let whole = out.len() / 16 * 16;
    transform(&mut out[..whole], blocks);
    if !out.len().is_multiple_of(16) {
        let mut block = [0f64; 16];
        draw_u64_into_f64(g, &mut block);
        blocks(&mut block);
        let n = out.len();
        out[n - 16..].copy_from_slice(&block);
    }
}

/// Normal values one at a time ([`Generator::normal_f64`]): PyTorch's fill of tensors
/// shorter than 16 or not contiguous (in the tensor's memory order).
pub fn fill_normal_serial(g: &mut Generator, out: &mut [f64], mean: f64, std: f64) {
    for o in out.iter_mut() {
        *o = g.normal_f64(mean, std);
    }
}

/// `f(i, u)` for each element `i` with its 53-bit uniform `u` from one u64, drawn a
/// batch at a time.
fn for_each_unit_f64(g: &mut Generator, n: usize, mut f: impl FnMut(usize, f64)) {
    let mut draws = [0u64; DRAW_BATCH];
    for start in (0..n).step_by(DRAW_BATCH) {
        let draws = &mut draws[..DRAW_BATCH.min(n - start)];
        g.fill_u64(draws);
        for (k, &x) in draws.iter().enumerate() {
            f(start + k, unit_f64(x));
        }
    }
}

/// `out[i] = 1` where element `i`'s 53-bit uniform is below `p`, else 0 (`bernoulli_(p)`
/// with a number: dropout's masks).
pub fn fill_bernoulli(g: &mut Generator, out: &mut [f32], p: f64) {
    for_each_unit_f64(g, out.len(), |i, u| out[i] = if u < p { 1.0 } else { 0.0 });
}

/// `out[i] = (u_i < probs[i])`: with 53-bit uniforms from one u64 each (probabilities
/// held in float64), or when `narrow` with 24-bit ones from one u32 each compared in
/// float32 (probabilities held in a narrower float type; float64 compares the same
/// float32 values exactly).
pub fn fill_bernoulli_probs(g: &mut Generator, out: &mut [u8], probs: &[f64], narrow: bool) {
    if !narrow {
        for_each_unit_f64(g, out.len(), |i, u| out[i] = u8::from(u < probs[i]));
        return;
    }
    let mut draws = [0u32; DRAW_BATCH];
    for (o, p) in out.chunks_mut(DRAW_BATCH).zip(probs.chunks(DRAW_BATCH)) {
        let draws = &mut draws[..o.len()];
        g.fill_u32(draws);
        for ((o, &x), &p) in o.iter_mut().zip(draws.iter()).zip(p) {
            *o = u8::from(f64::from(unit_f32(x)) < f64::from(p as f32));
        }
    }
}

/// Exponential values `(-1 / lambd) * ln(1 - u)` (as `ln_1p(-u)`) from 53-bit uniforms.
pub fn fill_exponential(g: &mut Generator, out: &mut [f64], lambd: f64) {
    let scale = -1.0 / lambd;
    for_each_unit_f64(g, out.len(), |i, u| out[i] = scale * (-u).ln_1p());
}

/// Integers `draw % range + from` (wrapping, two's complement): the draw one u32 when
/// `range < 2^28`, else one u64 (PyTorch's `random_(from, to)` and `randint`).
pub fn fill_ints_in_range(g: &mut Generator, out: &mut [i64], from: i64, range: u64) {
    fill_ints(g, out, range >= 1 << 28, Some(range), from);
}

/// Integers from one draw each, a u64 when `wide`, else a u32: `draw % range + from`
/// (wrapping), or with no `range` the u64 itself as two's complement.
#[inline(never)] // one copy for its three callers (the extension has a size budget)
pub fn fill_ints(g: &mut Generator, out: &mut [i64], wide: bool, range: Option<u64>, from: i64) {
    // A zero range reaches here from no caller (they check from < to); as 1, no panic.
    let place = |x: u64| match range {
        Some(r) => from.wrapping_add((x % r.max(1)) as i64),
        None => x as i64,
    };
    let mut draws = [0u64; DRAW_BATCH];
    let mut words = [0u32; DRAW_BATCH];
    for o in out.chunks_mut(DRAW_BATCH) {
        if wide {
            g.fill_u64(&mut draws[..o.len()]);
        } else {
            g.fill_u32(&mut words[..o.len()]);
            for (d, &w) in draws.iter_mut().zip(&words[..o.len()]) {
                *d = u64::from(w);
            }
        }
        for (o, &x) in o.iter_mut().zip(draws.iter()) {
            *o = place(x);
        }
    }
}

/// A uniformly random permutation of `0..n` into `perm` (`n` its length), as PyTorch's
/// CPU `randperm`: below `2^32 / 20`, position `i` swaps with `i + u32 % (n - i)`; above
/// (where the modulo of a u32 would skew), the inside-out shuffle with `u64 % (i + 1)`.
pub fn randperm(g: &mut Generator, perm: &mut [i64]) {
    let n = perm.len();
    if (n as u64) < u64::from(u32::MAX) / 20 {
        for (i, p) in perm.iter_mut().enumerate() {
            *p = i as i64;
        }
        // A batch of partners at a time, so that each swap's cache line is asked for
        // ahead of it: the swaps wait on memory, not on the draws (1M: 7.4 -> 4 ms).
        const BATCH: usize = 256;
        const AHEAD: usize = 16;
        let swaps = n.saturating_sub(1);
        let mut draws = [0u32; BATCH];
        let mut partners = [0usize; BATCH];
        for first in (0..swaps).step_by(BATCH) {
            let len = BATCH.min(swaps - first);
            g.fill_u32(&mut draws[..len]);
            for (k, (j, &x)) in partners.iter_mut().zip(&draws[..len]).enumerate() {
                // n - i < 2^32 here, so the remainder can be taken in 32 bits.
                let i = first + k;
                *j = i + (x % (n - i) as u32) as usize;
            }
            for k in 0..len {
                if let Some(&ahead) = partners[..len].get(k + AHEAD) {
                    prefetch(&perm[ahead]);
                }
                perm.swap(first + k, partners[k]);
            }
        }
    } else {
        for i in 0..n {
            let z = (g.next_u64() % (i as u64 + 1)) as usize;
            perm[i] = perm[z];
            perm[z] = i as i64;
        }
    }
}

/// Asks for the cache line of `v` (a hint: no effect on the values).
#[inline(always)]
fn prefetch<T>(v: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing architecturally and never faults; SSE is part of
    // every x86_64 CPU.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((v as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first values of seed 3, as numpy's `MT19937` with the legacy seeding gives
    /// them (`random_raw`), and PyTorch's `torch.randint(0, 2**32, ...)` reads them.
    const SEED3: [u32; 4] = [2_365_658_986, 303_761_048, 3_041_471_737, 3_607_553_667];

    #[test]
    fn draws_follow_the_twister() {
        let mut g = Generator::new(3);
        let mut v = [0u32; 4];
        g.fill_u32(&mut v);
        assert_eq!(v, SEED3);
        let mut g = Generator::new(3);
        assert_eq!(
            g.next_u64(),
            (u64::from(SEED3[0]) << 32) | u64::from(SEED3[1])
        );
        let mut w = [0u64; 1];
        g.fill_u64(&mut w);
        assert_eq!(w[0], (u64::from(SEED3[2]) << 32) | u64::from(SEED3[3]));
    }

    #[test]
    fn uniform_is_the_low_bits_scaled() {
        let mut g = Generator::new(3);
        let mut v = [0f32; 4];
        fill_uniform_f32(&mut g, &mut v, 0.0, 1.0);
        for (x, w) in v.iter().zip(SEED3) {
            assert_eq!(*x as f64, (w & 0xff_ffff) as f64 / 16_777_216.0);
        }
        // A value that would round up to `to` becomes `from`.
        let mut g = Generator::new(3);
        let mut v = [0f32; 4];
        fill_uniform_f32(&mut g, &mut v, 1.0, 1.0);
        assert_eq!(v, [1.0; 4]);
    }

    #[test]
    fn normal_fill_blocks_and_tail() {
        // 20 values: one block of 16, then 16 new uniforms whose block overwrites the
        // last 16; the generator moves by 20 + 16 draws.
        let mut g = Generator::new(5);
        let mut out = vec![0f32; 20];
        fill_normal_f32(&mut g, &mut out, 0.0, 1.0);
        let mut reference = Generator::new(5);
        let mut bits = [0u32; 36];
        reference.fill_u32(&mut bits);
        let mut first: Vec<f32> = bits[..16].iter().map(|&x| unit_f32(x)).collect();
        box_muller::normal16_f32(&mut first, 0.0, 1.0);
        let mut tail: Vec<f32> = bits[20..].iter().map(|&x| unit_f32(x)).collect();
        box_muller::normal16_f32(&mut tail, 0.0, 1.0);
        assert_eq!(out[..4], first[..4]);
        assert_eq!(out[4..], tail[..]);
        assert_eq!(g, reference);
        // The 16-bit dtypes' fill draws only whole blocks: 16 + 16.
        let mut g = Generator::new(5);
        fill_normal_f32_by_blocks(&mut g, &mut out, 0.0, 1.0);
        let mut reference = Generator::new(5);
        reference.fill_u32(&mut bits[..32]);
        assert_eq!(g, reference);
    }

    #[test]
    fn normal_values_have_unit_moments() {
        let mut g = Generator::new(11);
        let mut v = vec![0f32; 200_000];
        fill_normal_f32(&mut g, &mut v, 0.0, 1.0);
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!(
            mean.abs() < 0.01 && (var - 1.0).abs() < 0.01,
            "{mean} {var}"
        );
        let mut w = vec![0f64; 200_003];
        fill_normal_f64(&mut g, &mut w, 2.0, 3.0);
        let n = w.len() as f64;
        let mean = w.iter().sum::<f64>() / n;
        let var = w.iter().map(|&x| (x - mean).powi(2)).sum::<f64>() / n;
        assert!(
            (mean - 2.0).abs() < 0.03 && (var - 9.0).abs() < 0.1,
            "{mean} {var}"
        );
    }

    #[test]
    fn serial_normal_caches_the_sine_half() {
        let mut g = Generator::new(9);
        let a = g.normal_f64(0.0, 1.0);
        let state_after_pair = g.clone();
        let b = g.normal_f64(0.0, 1.0);
        // The second value drew nothing: the twister is where the first left it.
        let (mut x, mut y) = (g.clone(), state_after_pair.clone());
        assert_eq!(x.next_u32(), y.next_u32());
        let mut r = Generator::new(9);
        let u1 = unit_f64(r.next_u64());
        let u2 = unit_f64(r.next_u64());
        let radius = (-2.0 * (-u2).ln_1p()).sqrt();
        let t = std::f64::consts::TAU * u1;
        assert_eq!(a, radius * t.cos());
        assert_eq!(b, radius * t.sin());
        // Reseeding drops the cached value.
        let mut g = Generator::new(9);
        g.normal_f64(0.0, 1.0);
        g.set_seed(9);
        assert_eq!(g.normal_f64(0.0, 1.0), a);
    }

    #[test]
    fn state_roundtrips_in_pytorchs_layout() {
        let mut g = Generator::new(3);
        g.normal_f64(0.0, 1.0);
        let s = g.get_state();
        assert_eq!(s.len(), STATE_BYTES);
        assert_eq!(s[..8], 3u64.to_le_bytes());
        assert_eq!(s[8..12], 621i32.to_le_bytes()); // 2 draws of 2 words after seeding
        assert_eq!(s[16..24], 4u64.to_le_bytes());
        assert_eq!(s[5040..5044], 1i32.to_le_bytes());
        let mut h = Generator::new(0);
        h.set_state(&s).unwrap();
        assert_eq!(h, g);
        assert_eq!(h.normal_f64(0.0, 1.0), g.normal_f64(0.0, 1.0));
        assert_eq!(h.next_u32(), g.next_u32());
        // Other sizes (PyTorch's older 5048-byte layout included) and invalid twister
        // states are refused.
        let mut other = Generator::new(0);
        assert!(other.set_state(&s[..5048]).is_err());
        let mut bad = s.clone();
        bad[8..12].copy_from_slice(&0i32.to_le_bytes());
        assert_eq!(other.set_state(&bad), Err("Invalid mt19937 state".into()));
    }

    #[test]
    fn ints_pick_the_draw_width_by_range() {
        let mut g = Generator::new(3);
        let mut v = [0i64; 2];
        fill_ints_in_range(&mut g, &mut v, 5, 100);
        assert_eq!(
            v,
            [5 + (SEED3[0] % 100) as i64, 5 + (SEED3[1] % 100) as i64]
        );
        let mut g = Generator::new(3);
        let mut v = [0i64; 1];
        fill_ints_in_range(&mut g, &mut v, 0, 1 << 28);
        assert_eq!(v[0], i64::from(SEED3[1] % (1 << 28)));
        let mut g = Generator::new(3);
        fill_ints_in_range(&mut g, &mut v, i64::MIN, u64::MAX);
        let x = (u64::from(SEED3[0]) << 32) | u64::from(SEED3[1]);
        assert_eq!(v[0], i64::MIN.wrapping_add((x % u64::MAX) as i64));
    }

    #[test]
    fn randperm_is_a_permutation_by_pytorchs_swaps() {
        let mut g = Generator::new(3);
        let mut p = [0i64; 5];
        randperm(&mut g, &mut p);
        // torch.manual_seed(3); torch.randperm(5) gives [1, 0, 3, 4, 2].
        assert_eq!(p, [1, 0, 3, 4, 2]);
        let mut g = Generator::new(1);
        let mut p = vec![0i64; 1000];
        randperm(&mut g, &mut p);
        let mut sorted = p.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<i64>>());
        let mut empty: [i64; 0] = [];
        randperm(&mut g, &mut empty);
    }

    #[test]
    fn bernoulli_and_exponential_use_53_bit_uniforms() {
        let mut g = Generator::new(3);
        let mut v = [0f32; 2];
        fill_bernoulli(&mut g, &mut v, 0.5);
        let u = unit_f64((u64::from(SEED3[0]) << 32) | u64::from(SEED3[1]));
        assert_eq!(v[0], f32::from(u8::from(u < 0.5)));
        let mut g = Generator::new(3);
        let mut e = [0f64; 1];
        fill_exponential(&mut g, &mut e, 2.0);
        assert_eq!(e[0], (-1.0 / 2.0) * (-u).ln_1p());
    }

    #[test]
    fn long_fills_do_not_depend_on_the_split() {
        let n = 3 * PAR_CHUNK + 37;
        let mut a = vec![0f32; n];
        fill_normal_f32(&mut Generator::new(4), &mut a, 0.5, 2.0);
        let mut b = vec![0f32; n];
        let mut g = Generator::new(4);
        draw_u32_into_f32(&mut g, &mut b);
        for block in b.chunks_exact_mut(16) {
            for v in block.iter_mut() {
                *v = unit_f32(v.to_bits());
            }
            box_muller::normal16_f32(block, 0.5, 2.0);
        }
        normal_tail_f32(&mut g, &mut b, 0.5, 2.0);
        assert_eq!(a, b);
    }
}
