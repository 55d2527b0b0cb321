//! Random number generation on a counter-based generator (Philox4x32-10).
//!
//! # Why counter-based
//!
//! A sequential generator (Mersenne Twister, PCG, xorshift) produces value `i + 1` from the
//! state left behind by value `i`, so a fill of `n` values is inherently serial, the result
//! of a parallel fill depends on how the work was split, and a GPU cannot reproduce the CPU
//! stream without replaying it. A counter-based generator is a keyed bijection applied to
//! an index: value `i` of a draw is `philox(counter(i), key)`, computed from nothing but
//! `(seed, offset, i)`. Hence:
//!
//! * fills are split into chunks run on any number of threads with bit-identical results;
//! * a CUDA kernel in which thread `i` evaluates the same function reproduces the stream;
//! * the whole generator state is two integers (16 bytes), and skipping ahead is free.
//!
//! # Stream layout
//!
//! The key is the seed's two 32-bit halves, `[seed as u32, (seed >> 32) as u32]`. The
//! generator's `offset` counts 128-bit *blocks* already handed out. A draw of `n` 32-bit
//! values starting at offset `o` reads value `i` from lane `i % 4` of
//! `philox4x32_10(counter(o + i / 4), key)`, where `counter(b)` is the 128-bit number `b`
//! split little-endian into four words; the draw then advances the offset by `ceil(n / 4)`
//! blocks, so the next draw starts on a fresh block. [`Generator::reserve`] returns the
//! draw's [`Stream`], which computes any of its values independently.
//!
//! # Consumption of each fill (what a GPU kernel must mirror)
//!
//! | fill                      | values used by element `i` (pair `k`)  | elements per block |
//! |---------------------------|----------------------------------------|--------------------|
//! | [`fill_uniform_f32`]      | u32 `i`                                | 4                  |
//! | [`fill_uniform_f64`]      | u32 `2i`, `2i+1` (low, high half)      | 2                  |
//! | [`fill_normal_f32`]       | pair `k`: u32 `2k`, `2k+1`             | 4 (2 pairs)        |
//! | [`fill_normal_f64`]       | pair `k`: block `k`                    | 2 (1 pair)         |
//! | [`fill_exponential_f64`]  | u32 `2i`, `2i+1`                       | 2                  |
//! | [`fill_random_ints`]      | bound <= 2^32: u32 `2i`, `2i+1`        | 2                  |
//! |                           | bound > 2^32: block `i`                | 1                  |
//! | [`randperm`]              | swap `k`: u32 `2k`, `2k+1`             | (serial)           |
//!
//! A 64-bit value built from two u32 takes the even one as the low half.

pub mod philox;

use crate::cpu::math::at_widest_level;

pub use philox::philox4x32_10;

/// Fills at most this long run serially; longer ones run in parallel chunks of this size.
/// A multiple of 4 so that every chunk starts on a block boundary for every fill.
pub const PAR_CHUNK: usize = 32768;

const TWO_POW_M24_F32: f32 = 1.0 / 16_777_216.0;
const TWO_POW_M53_F64: f64 = 1.0 / 9_007_199_254_740_992.0;

/// A Philox4x32-10 generator: a seed (the key) and an offset (blocks already consumed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generator {
    seed: u64,
    offset: u64,
}

impl Generator {
    /// A generator for `seed`, positioned at the start of its stream.
    pub fn new(seed: u64) -> Self {
        Generator { seed, offset: 0 }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Reseeds and rewinds to the start of the new stream.
    pub fn set_seed(&mut self, seed: u64) {
        self.seed = seed;
        self.offset = 0;
    }

    /// Number of 128-bit blocks already handed out.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Moves to block `offset` of the current seed's stream.
    pub fn set_offset(&mut self, offset: u64) {
        self.offset = offset;
    }

    /// The Philox key: the seed's low and high 32-bit halves.
    pub fn key(&self) -> [u32; 2] {
        [self.seed as u32, (self.seed >> 32) as u32]
    }

    /// The state as 16 bytes: seed then offset, both little-endian.
    pub fn get_state(&self) -> [u8; 16] {
        let mut state = [0u8; 16];
        state[..8].copy_from_slice(&self.seed.to_le_bytes());
        state[8..].copy_from_slice(&self.offset.to_le_bytes());
        state
    }

    /// Restores a state produced by [`Generator::get_state`].
    pub fn set_state(&mut self, state: &[u8]) -> Result<(), String> {
        if state.len() != 16 {
            return Err(format!(
                "generator state must be 16 bytes (seed and offset), got {}",
                state.len()
            ));
        }
        let mut seed = [0u8; 8];
        let mut offset = [0u8; 8];
        seed.copy_from_slice(&state[..8]);
        offset.copy_from_slice(&state[8..]);
        self.seed = u64::from_le_bytes(seed);
        self.offset = u64::from_le_bytes(offset);
        Ok(())
    }

    /// Hands out a draw of `n_u32` 32-bit values and advances the offset past it, rounded
    /// up to whole blocks.
    pub fn reserve(&mut self, n_u32: u64) -> Stream {
        self.reserve_blocks(n_u32.div_ceil(4))
    }

    /// Hands out a draw of `n_blocks` whole blocks (4 u32 each) and advances past it.
    ///
    /// The offset wraps modulo 2^64; a draw that runs past block 2^64 - 1 continues into
    /// counters with a non-zero third word, so it still never repeats within itself.
    pub fn reserve_blocks(&mut self, n_blocks: u64) -> Stream {
        let stream = Stream {
            key: self.key(),
            start_block: self.offset,
        };
        self.offset = self.offset.wrapping_add(n_blocks);
        stream
    }
}

/// One draw of a generator: computes any of its values from the value's index alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stream {
    /// The Philox key.
    pub key: [u32; 2],
    /// The block (128-bit counter) at which the draw starts.
    pub start_block: u64,
}

impl Stream {
    /// The four u32 values of block `j` of the draw (values `4j .. 4j + 4`).
    #[inline]
    pub fn block(&self, j: u64) -> [u32; 4] {
        let counter = philox::block_counter(u128::from(self.start_block) + u128::from(j));
        philox4x32_10(counter, self.key)
    }

    /// Value `i` of the draw.
    #[inline]
    pub fn u32_at(&self, i: u64) -> u32 {
        self.block(i / 4)[(i % 4) as usize]
    }

    /// The 64-bit value made of u32 values `2i` (low half) and `2i + 1` (high half).
    #[inline]
    pub fn u64_at(&self, i: u64) -> u64 {
        let b = self.block(i / 2);
        let lane = 2 * (i % 2) as usize;
        join_u64(b[lane], b[lane + 1])
    }
}

#[inline]
fn join_u64(lo: u32, hi: u32) -> u64 {
    u64::from(lo) | (u64::from(hi) << 32)
}

/// 24 random bits as an f32 in [0, 1).
#[inline]
fn unit_f32(x: u32) -> f32 {
    (x >> 8) as f32 * TWO_POW_M24_F32
}

/// 24 random bits as an f32 in (0, 1] (safe for `ln`).
#[inline]
fn open_unit_f32(x: u32) -> f32 {
    ((x >> 8) + 1) as f32 * TWO_POW_M24_F32
}

/// 53 random bits as an f64 in [0, 1).
#[inline]
fn unit_f64(x: u64) -> f64 {
    (x >> 11) as f64 * TWO_POW_M53_F64
}

/// 53 random bits as an f64 in (0, 1] (safe for `ln`).
#[inline]
fn open_unit_f64(x: u64) -> f64 {
    ((x >> 11) + 1) as f64 * TWO_POW_M53_F64
}

/// The uniform f32 in [0, 1) that [`fill_uniform_f32`] derives from u32 `i` of `stream`.
#[inline]
pub fn uniform_f32_at(stream: &Stream, i: u64) -> f32 {
    unit_f32(stream.u32_at(i))
}

/// The uniform f64 in [0, 1) that [`fill_uniform_f64`] derives for element `i` of
/// `stream` (u32 values `2i` and `2i + 1`).
#[inline]
pub fn uniform_f64_at(stream: &Stream, i: u64) -> f64 {
    unit_f64(stream.u64_at(i))
}

/// The largest f32 strictly below `x` (`x` not NaN and not -inf; for those some other
/// value, without a panic: fills work it out before knowing they need it).
fn prev_f32(x: f32) -> f32 {
    if x == 0.0 {
        -f32::from_bits(1)
    } else if x > 0.0 {
        f32::from_bits(x.to_bits().wrapping_sub(1))
    } else {
        f32::from_bits(x.to_bits().wrapping_add(1))
    }
}

/// `prev_f32` in f64.
fn prev_f64(x: f64) -> f64 {
    if x == 0.0 {
        -f64::from_bits(1)
    } else if x > 0.0 {
        f64::from_bits(x.to_bits().wrapping_sub(1))
    } else {
        f64::from_bits(x.to_bits().wrapping_add(1))
    }
}

/// `low + u * (high - low)`, a value rounded up to `high` (`high > low`) replaced by
/// `below_high`, the largest f32 below `high` (worked out once per fill, so that the
/// fill's loop is a select and vectorises).
#[inline(always)]
fn scale_f32(u: f32, low: f32, high: f32, below_high: f32) -> f32 {
    let v = low + u * (high - low);
    if v >= high && high > low {
        below_high
    } else {
        v
    }
}

/// `scale_f32` in f64.
#[inline(always)]
fn scale_f64(u: f64, low: f64, high: f64, below_high: f64) -> f64 {
    let v = low + u * (high - low);
    if v >= high && high > low {
        below_high
    } else {
        v
    }
}

/// Box–Muller pairs of `blocks` (two per block: u32 values `2k`, `2k + 1` make pair `k`)
/// as `mean + std * z` into `out` (at most two values per pair; a short `out` drops the
/// last ones): `r = sqrt(-2 ln u1)` with `u1` in (0, 1], `t = 2 pi u2`, `z = (r cos t,
/// r sin t)`. ln, sin and cos run as vector passes over the batch (the vectorised
/// kernels of `cpu::math`, within an ulp; a call of libm's each per pair took most of
/// randn's time), so a value depends on its pair's two u32 alone.
fn box_muller_f32(blocks: &[[u32; 4]], out: &mut [f32], mean: f32, std: f32) {
    use crate::cpu::math::{cos_fast_slice, log_slice_inplace, sin_fast_slice};
    const PAIRS: usize = 2 * BATCH_BLOCKS;
    let pairs = out.len().div_ceil(2).min(2 * blocks.len()).min(PAIRS);
    let (mut r, mut t) = ([0f32; PAIRS], [0f32; PAIRS]);
    let (r, t) = (&mut r[..pairs], &mut t[..pairs]);
    let words = &blocks.as_flattened()[..2 * pairs];
    at_widest_level(
        #[inline(always)]
        || {
            for ((r, t), w) in r.iter_mut().zip(t.iter_mut()).zip(words.chunks_exact(2)) {
                *r = open_unit_f32(w[0]);
                *t = std::f32::consts::TAU * unit_f32(w[1]);
            }
        },
    );
    log_slice_inplace(r);
    // t lies in [0, 2 pi): inside the fast kernels' range, no fix-up needed.
    let (mut sin, mut cos) = ([0f32; PAIRS], [0f32; PAIRS]);
    let (sin, cos) = (&mut sin[..pairs], &mut cos[..pairs]);
    sin_fast_slice(t, sin);
    cos_fast_slice(t, cos);
    let (r, sin, cos) = (&*r, &*sin, &*cos);
    at_widest_level(
        #[inline(always)]
        move || {
            let z = move |k: usize, trig: f32| mean + std * ((-2.0 * r[k]).sqrt() * trig);
            // Whole pairs in a loop of its own (it vectorises), then an odd last value.
            let half = out.len() / 2;
            let mut pairs = out.chunks_exact_mut(2);
            for (k, pair) in (&mut pairs).enumerate() {
                pair[0] = z(k, cos[k]);
                pair[1] = z(k, sin[k]);
            }
            if let [last] = pairs.into_remainder() {
                *last = z(half, cos[half]);
            }
        },
    );
}

/// Box–Muller on one block: `u1` from lanes 0, 1 in (0, 1], `u2` from lanes 2, 3.
#[inline]
fn box_muller_f64(blk: [u32; 4]) -> [f64; 2] {
    let r = (-2.0 * open_unit_f64(join_u64(blk[0], blk[1])).ln()).sqrt();
    let (s, c) = (std::f64::consts::TAU * unit_f64(join_u64(blk[2], blk[3]))).sin_cos();
    [r * c, r * s]
}

/// `floor(x * bound / 2^64)`: a 64-bit draw mapped onto [0, bound).
#[inline]
fn mul_high_u64(x: u64, bound: u64) -> u64 {
    ((u128::from(x) * u128::from(bound)) >> 64) as u64
}

/// `floor(x * bound / 2^128)` for the 128-bit draw `x`: exact, no overflow.
#[inline]
fn mul_high_u128(x: u128, bound: u64) -> u64 {
    let b = u128::from(bound);
    let hi = x >> 64;
    let lo = x & u128::from(u64::MAX);
    ((hi * b + ((lo * b) >> 64)) >> 64) as u64
}

/// Blocks computed per pass of a fill (sixteen per SIMD pass of `philox_blocks`).
const BATCH_BLOCKS: usize = 64;

/// Reserves `ceil(out.len() / per_block)` blocks and lets `kernel` write each group of
/// `per_block` consecutive elements (the last group may be shorter) from its block.
/// Runs in parallel chunks of [`PAR_CHUNK`] elements above that length; the result does
/// not depend on the split because each group depends only on its block index.
fn fill_by_blocks<T, F>(g: &mut Generator, out: &mut [T], per_block: usize, kernel: F)
where
    T: Send,
    F: Fn([u32; 4], &mut [T]) + Sync,
{
    fill_by_batches(g, out, per_block, |blocks, batch| {
        for (group, blk) in batch.chunks_mut(per_block).zip(blocks) {
            kernel(*blk, group);
        }
    });
}

/// `fill_by_blocks` handing `kernel` a batch at a time: up to [`BATCH_BLOCKS`] blocks and
/// the `per_block` elements of each (the batch's last group may be shorter), for kernels
/// that compute a batch in vector passes.
fn fill_by_batches<T, F>(g: &mut Generator, out: &mut [T], per_block: usize, kernel: F)
where
    T: Send,
    F: Fn(&[[u32; 4]], &mut [T]) + Sync,
{
    debug_assert!(matches!(per_block, 1 | 2 | 4));
    let stream = g.reserve_blocks(out.len().div_ceil(per_block) as u64);
    let run = |first_block: u64, chunk: &mut [T]| {
        let mut blocks = [[0u32; 4]; BATCH_BLOCKS];
        for (b, batch) in chunk.chunks_mut(per_block * BATCH_BLOCKS).enumerate() {
            let n = batch.len().div_ceil(per_block);
            let first = u128::from(stream.start_block)
                + u128::from(first_block)
                + (b * BATCH_BLOCKS) as u128;
            philox::philox_blocks(first, stream.key, &mut blocks[..n]);
            kernel(&blocks[..n], batch);
        }
    };
    if out.len() <= PAR_CHUNK {
        run(0, out);
    } else {
        let blocks_per_chunk = (PAR_CHUNK / per_block) as u64;
        crate::cpu::par_chunks_mut(out, PAR_CHUNK, &|c, chunk| {
            run(c as u64 * blocks_per_chunk, chunk)
        });
    }
}

/// Uniform values in [low, high): `low + u * (high - low)` with `u = (x >> 8) * 2^-24`;
/// a result rounded up to `high` becomes the largest f32 below `high`. The caller checks
/// `low <= high` and that both and their difference are finite.
pub fn fill_uniform_f32(g: &mut Generator, out: &mut [f32], low: f32, high: f32) {
    let below_high = prev_f32(high);
    fill_by_batches(g, out, 4, |blocks, batch| {
        let words = blocks.as_flattened();
        at_widest_level(
            #[inline(always)]
            move || {
                for (o, &x) in batch.iter_mut().zip(words) {
                    *o = scale_f32(unit_f32(x), low, high, below_high);
                }
            },
        )
    });
}

/// `out[i] = one` where the uniform f64 that [`fill_uniform_f64`] would draw for
/// element `i` is below `p`, else `zero` (`bernoulli_(p)`, written in place).
pub fn fill_bernoulli<T: Copy + Send + Sync>(
    g: &mut Generator,
    out: &mut [T],
    p: f64,
    one: T,
    zero: T,
) {
    fill_by_blocks(g, out, 2, |blk, group| {
        for (k, o) in group.iter_mut().enumerate() {
            let u = unit_f64(join_u64(blk[2 * k], blk[2 * k + 1]));
            *o = if u < p { one } else { zero };
        }
    });
}

/// Uniform values in [low, high) from 53 random bits (two u32) per element; same
/// conventions as [`fill_uniform_f32`].
pub fn fill_uniform_f64(g: &mut Generator, out: &mut [f64], low: f64, high: f64) {
    let below_high = prev_f64(high);
    fill_by_batches(g, out, 2, |blocks, batch| {
        let words = blocks.as_flattened();
        at_widest_level(
            #[inline(always)]
            move || {
                for (o, w) in batch.iter_mut().zip(words.chunks_exact(2)) {
                    let u = unit_f64(join_u64(w[0], w[1]));
                    *o = scale_f64(u, low, high, below_high);
                }
            },
        )
    });
}

/// Normal values `mean + std * z` by Box–Muller: elements `2k` and `2k + 1` are the cosine
/// and sine outputs of the pair built from u32 values `2k`, `2k + 1` (math in f32).
pub fn fill_normal_f32(g: &mut Generator, out: &mut [f32], mean: f32, std: f32) {
    fill_by_batches(g, out, 4, |blocks, batch| {
        box_muller_f32(blocks, batch, mean, std)
    });
}

/// Normal values `mean + std * z` by Box–Muller: elements `2k` and `2k + 1` come from
/// block `k` (two 53-bit uniforms).
pub fn fill_normal_f64(g: &mut Generator, out: &mut [f64], mean: f64, std: f64) {
    fill_by_blocks(g, out, 2, |blk, group| {
        for (o, z) in group.iter_mut().zip(box_muller_f64(blk)) {
            *o = mean + std * z;
        }
    });
}

/// Exponential values `-ln(1 - u) / lambd` (computed as `-ln_1p(-u) / lambd`) with `u` the
/// 53-bit uniform of [`uniform_f64_at`]. The caller checks `lambd > 0`.
pub fn fill_exponential_f64(g: &mut Generator, out: &mut [f64], lambd: f64) {
    fill_by_blocks(g, out, 2, |blk, group| {
        for (k, o) in group.iter_mut().enumerate() {
            let u = unit_f64(join_u64(blk[2 * k], blk[2 * k + 1]));
            *o = -(-u).ln_1p() / lambd;
        }
    });
}

/// Uniform integers in [low, low + bound) (`low` plus a draw in [0, bound), wrapping as
/// two's complement: the caller's range may span all of i64), for any `bound >= 1`,
/// without rejection (so every element stays computable from its index):
///
/// * `bound <= 2^32`: `floor(x * bound / 2^64)` with `x` the 64-bit value of u32 `2i`,
///   `2i + 1`. Each result has probability `floor(2^64 / bound) / 2^64` or one more count
///   than that, a relative bias below `bound / 2^64 <= 2^-32`, which is negligible.
/// * `bound > 2^32`: the same with the 128-bit block `i` (lanes little-endian), a relative
///   bias below `2^-64`.
///
/// Errors when `bound == 0`.
pub fn fill_random_ints(
    g: &mut Generator,
    out: &mut [i64],
    low: i64,
    bound: u64,
) -> Result<(), String> {
    if bound == 0 {
        return Err("random integers: the upper bound must be at least 1".to_string());
    }
    let place = |draw: u64| low.wrapping_add(draw as i64);
    if bound <= 1 << 32 {
        fill_by_blocks(g, out, 2, |blk, group| {
            for (k, o) in group.iter_mut().enumerate() {
                *o = place(mul_high_u64(join_u64(blk[2 * k], blk[2 * k + 1]), bound));
            }
        });
    } else {
        fill_by_blocks(g, out, 1, |blk, group| {
            let x =
                u128::from(join_u64(blk[0], blk[1])) | (u128::from(join_u64(blk[2], blk[3])) << 64);
            for o in group.iter_mut() {
                *o = place(mul_high_u128(x, bound));
            }
        });
    }
    Ok(())
}

/// A uniformly random permutation of `0..n` by Fisher–Yates (serial): swap `k`
/// (`k = 0 .. n - 1`) exchanges position `i = n - 1 - k` with `j = floor(x * (i + 1) / 2^64)`,
/// `x` the 64-bit value of u32 `2k`, `2k + 1` (relative bias below `n / 2^64`). Written
/// into `perm`, `n` its length.
pub fn randperm(g: &mut Generator, perm: &mut [i64]) {
    let n = perm.len();
    for (i, p) in perm.iter_mut().enumerate() {
        *p = i as i64;
    }
    if n < 2 {
        return;
    }
    let swaps = n - 1;
    let stream = g.reserve(2 * swaps as u64);
    // The blocks a batch at a time (vector passes), two swaps per block; each batch's
    // partners j first, so that the swaps can fetch theirs ahead: the swaps wait on
    // memory, not on arithmetic (100 000 elements: 5.3 ns a swap, 3.0 fetched ahead).
    const AHEAD: usize = 16;
    let mut blocks = [[0u32; 4]; BATCH_BLOCKS];
    let mut partners = [0usize; 2 * BATCH_BLOCKS];
    for first in (0..swaps.div_ceil(2)).step_by(BATCH_BLOCKS) {
        let count = BATCH_BLOCKS.min(swaps.div_ceil(2) - first);
        let start = u128::from(stream.start_block) + first as u128;
        philox::philox_blocks(start, stream.key, &mut blocks[..count]);
        // Swap 2 first + k of the draw exchanges position top - k.
        let top = n - 1 - 2 * first;
        let len = (2 * count).min(swaps - 2 * first);
        let words = blocks[..count].as_flattened().chunks_exact(2);
        for (k, (w, j)) in words.zip(&mut partners[..len]).enumerate() {
            *j = mul_high_u64(join_u64(w[0], w[1]), (top - k + 1) as u64) as usize;
        }
        for k in 0..len {
            if let Some(&ahead) = partners[..len].get(k + AHEAD) {
                prefetch(&perm[ahead]);
            }
            perm.swap(top - k, partners[k]);
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

    fn mean_var(xs: impl Iterator<Item = f64>) -> (f64, f64) {
        let v: Vec<f64> = xs.collect();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        (mean, var)
    }

    #[test]
    fn stream_is_send_sync_copy() {
        fn check<T: Send + Sync + Copy>() {}
        check::<Stream>();
    }

    #[test]
    fn key_and_counter_layout() {
        let mut g = Generator::new(0x0123_4567_89ab_cdef);
        assert_eq!(g.key(), [0x89ab_cdef, 0x0123_4567]);
        g.set_offset(5);
        let s = g.reserve(9);
        assert_eq!(g.offset(), 8); // ceil(9 / 4) = 3 blocks
        assert_eq!(s.start_block, 5);
        let blk = philox4x32_10([6, 0, 0, 0], [0x89ab_cdef, 0x0123_4567]);
        assert_eq!(s.u32_at(4), blk[0]);
        assert_eq!(s.u32_at(7), blk[3]);
        assert_eq!(s.u64_at(3), join_u64(blk[2], blk[3]));
        // A fresh draw starts on a fresh block.
        let t = g.reserve(1);
        assert_eq!(t.start_block, 8);
        assert_eq!(g.offset(), 9);
        g.reserve(0);
        assert_eq!(g.offset(), 9);
    }

    #[test]
    fn same_seed_same_numbers() {
        let mut a = Generator::new(42);
        let mut b = Generator::new(42);
        let mut xa = vec![0f32; 1001];
        let mut xb = vec![0f32; 1001];
        fill_normal_f32(&mut a, &mut xa, 0.0, 1.0);
        fill_normal_f32(&mut b, &mut xb, 0.0, 1.0);
        assert_eq!(xa, xb);
        fill_uniform_f32(&mut a, &mut xa, 0.0, 1.0);
        fill_uniform_f32(&mut b, &mut xb, 0.0, 1.0);
        assert_eq!(xa, xb);
        assert_eq!(a, b);

        let mut c = Generator::new(43);
        let mut xc = vec![0f32; 1001];
        fill_uniform_f32(&mut c, &mut xc, 0.0, 1.0);
        assert_ne!(xa, xc);

        // Reseeding rewinds.
        a.set_seed(42);
        let mut xa2 = vec![0f32; 1001];
        fill_normal_f32(&mut a, &mut xa2, 0.0, 1.0);
        let mut b2 = Generator::new(42);
        fill_normal_f32(&mut b2, &mut xb, 0.0, 1.0);
        assert_eq!(xa2, xb);
    }

    #[test]
    fn parallel_fill_equals_per_index() {
        let n = 100_003;
        let mut g = Generator::new(7);
        g.set_offset(123);
        let mut reference = g.clone();
        let stream = reference.reserve(n as u64);

        let mut out = vec![0f32; n];
        fill_uniform_f32(&mut g, &mut out, 0.0, 1.0);
        assert_eq!(g, reference);
        for (i, &v) in out.iter().enumerate() {
            assert_eq!(v, uniform_f32_at(&stream, i as u64));
            assert_eq!(v, unit_f32(stream.u32_at(i as u64)));
        }

        let stream = reference.reserve(2 * n as u64);
        let mut out = vec![0f64; n];
        fill_uniform_f64(&mut g, &mut out, 0.0, 1.0);
        assert_eq!(g, reference);
        for (i, &v) in out.iter().enumerate() {
            assert_eq!(v, uniform_f64_at(&stream, i as u64));
        }

        let stream = reference.reserve(2 * n as u64);
        let mut out = vec![0f64; n];
        fill_exponential_f64(&mut g, &mut out, 2.0);
        assert_eq!(g, reference);
        for (i, &v) in out.iter().enumerate() {
            let u = uniform_f64_at(&stream, i as u64);
            assert_eq!(v, -(-u).ln_1p() / 2.0);
        }

        let stream = reference.reserve(n as u64 + 1);
        let mut out = vec![0f32; n];
        fill_normal_f32(&mut g, &mut out, 1.0, 2.0);
        assert_eq!(g, reference);
        for (i, &v) in out.iter().enumerate() {
            let k = (i / 2) as u64;
            let mut z = [0f32; 2];
            let blk = [stream.u32_at(2 * k), stream.u32_at(2 * k + 1), 0, 0];
            box_muller_f32(&[blk], &mut z, 1.0, 2.0);
            assert_eq!(v, z[i % 2]);
        }

        let stream = reference.reserve_blocks(n.div_ceil(2) as u64);
        let mut out = vec![0f64; n];
        fill_normal_f64(&mut g, &mut out, 0.0, 1.0);
        assert_eq!(g, reference);
        for (i, &v) in out.iter().enumerate() {
            assert_eq!(v, box_muller_f64(stream.block((i / 2) as u64))[i % 2]);
        }
    }

    /// The vectorised Box–Muller against its formula in float64 on the same uniforms: u1
    /// at both ends of (0, 1] and u2 at every quarter turn included, a whole batch and
    /// a short one with an odd number of values.
    #[test]
    fn box_muller_f32_matches_f64_formula() {
        let mut words: Vec<u32> = vec![0, 0, u32::MAX, u32::MAX, 0xFF, 0x4000_0000];
        words.extend([0x8000_0000, 0xC000_0000, 0x7FFF_FFFF, 0x2000_0000]);
        let mut x = 0x9E37_79B9u32;
        while words.len() < 4 * BATCH_BLOCKS {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            words.push(x);
        }
        let blocks: Vec<[u32; 4]> = words.chunks(4).map(|w| [w[0], w[1], w[2], w[3]]).collect();
        for len in [4 * BATCH_BLOCKS, 7] {
            let mut out = vec![0f32; len];
            box_muller_f32(&blocks, &mut out, 0.5, 3.0);
            for (i, &v) in out.iter().enumerate() {
                let (a, b) = (words[i / 2 * 2], words[i / 2 * 2 + 1]);
                let u1 = f64::from((a >> 8) + 1) / 16_777_216.0;
                let turn = f64::from(b >> 8) / 16_777_216.0;
                let t = f64::from(std::f32::consts::TAU * turn as f32);
                let r = (-2.0 * u1.ln()).sqrt();
                let z = if i % 2 == 0 { r * t.cos() } else { r * t.sin() };
                let want = 0.5 + 3.0 * z;
                // A few float32 roundings of values up to 3 * 5.8 in magnitude.
                let tol = 4.0 * f64::from(f32::EPSILON) * (0.5 + 3.0 * r);
                assert!((f64::from(v) - want).abs() <= tol, "{i}: {v} vs {want}");
            }
        }
    }

    #[test]
    fn independent_of_thread_count() {
        let n = 200_000;
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("thread pool");
            pool.install(|| {
                let mut g = Generator::new(99);
                let mut a = vec![0f32; n];
                let mut b = vec![0f64; n];
                let mut c = vec![0i64; n];
                fill_normal_f32(&mut g, &mut a, 0.0, 1.0);
                fill_normal_f64(&mut g, &mut b, 0.0, 1.0);
                fill_random_ints(&mut g, &mut c, 0, 1000).expect("bound");
                (a, b, c, g)
            })
        };
        let one = run(1);
        let three = run(3);
        assert_eq!(one.0, three.0);
        assert_eq!(one.1, three.1);
        assert_eq!(one.2, three.2);
        assert_eq!(one.3, three.3);
    }

    #[test]
    fn uniform_moments() {
        let n = 1_000_000;
        let mut g = Generator::new(2024);
        let mut x = vec![0f32; n];
        fill_uniform_f32(&mut g, &mut x, 0.0, 1.0);
        assert!(x.iter().all(|&v| (0.0..1.0).contains(&v)));
        let (mean, var) = mean_var(x.iter().map(|&v| f64::from(v)));
        let nf = n as f64;
        // sd(mean) = sqrt(1/12 / n); sd(var) ~= sqrt((1/80 - 1/144) / n).
        assert!(
            (mean - 0.5).abs() < 4.0 * (1.0 / 12.0 / nf).sqrt(),
            "mean {mean}"
        );
        assert!(
            (var - 1.0 / 12.0).abs() < 4.0 * ((1.0 / 80.0 - 1.0 / 144.0) / nf).sqrt(),
            "var {var}"
        );

        let mut y = vec![0f64; n];
        fill_uniform_f64(&mut g, &mut y, -2.0, 3.0);
        assert!(y.iter().all(|&v| (-2.0..3.0).contains(&v)));
        let (mean, var) = mean_var(y.iter().copied());
        // Scaled by 5 around 0.5.
        assert!(
            (mean - 0.5).abs() < 4.0 * 5.0 * (1.0 / 12.0 / nf).sqrt(),
            "mean {mean}"
        );
        assert!(
            (var - 25.0 / 12.0).abs() < 4.0 * 25.0 * ((1.0 / 80.0 - 1.0 / 144.0) / nf).sqrt(),
            "var {var}"
        );
    }

    #[test]
    fn uniform_never_reaches_high() {
        let top = |high: f32| prev_f32(high);
        assert_eq!(scale_f32(prev_f32(1.0), 0.0, 1.0, top(1.0)), prev_f32(1.0));
        // 1 + (1 - 2^-24) * 1 rounds to 2 in f32.
        assert_eq!(
            scale_f32(1.0 - TWO_POW_M24_F32, 1.0, 2.0, top(2.0)),
            prev_f32(2.0)
        );
        let u = 1.0 - TWO_POW_M53_F64;
        assert_eq!(scale_f64(u, 1.0, 2.0, prev_f64(2.0)), prev_f64(2.0));
        assert_eq!(scale_f32(0.5, 3.0, 3.0, top(3.0)), 3.0);
        assert_eq!(prev_f32(0.0), -f32::from_bits(1));
        assert_eq!(prev_f32(-1.0), -1.0 - f32::EPSILON);
        assert_eq!(prev_f64(1.0), 1.0 - f64::EPSILON / 2.0);
        let mut g = Generator::new(5);
        let mut x = vec![0f32; 10_000];
        fill_uniform_f32(&mut g, &mut x, 1.0, 1.0 + f32::EPSILON);
        assert!(x.iter().all(|&v| v == 1.0));
    }

    #[test]
    fn normal_moments() {
        let n = 1_000_000;
        let nf = n as f64;
        let mut g = Generator::new(31337);
        let mut x = vec![0f32; n];
        fill_normal_f32(&mut g, &mut x, 0.0, 1.0);
        assert!(x.iter().all(|v| v.is_finite()));
        let (mean, var) = mean_var(x.iter().map(|&v| f64::from(v)));
        // sd(mean) = 1/sqrt(n); sd(var) ~= sqrt(2/n).
        assert!(mean.abs() < 4.0 / nf.sqrt(), "mean {mean}");
        assert!((var - 1.0).abs() < 4.0 * (2.0 / nf).sqrt(), "var {var}");

        let mut y = vec![0f64; n];
        fill_normal_f64(&mut g, &mut y, 3.0, 0.5);
        assert!(y.iter().all(|v| v.is_finite()));
        let (mean, var) = mean_var(y.iter().copied());
        assert!((mean - 3.0).abs() < 4.0 * 0.5 / nf.sqrt(), "mean {mean}");
        assert!(
            (var - 0.25).abs() < 4.0 * 0.25 * (2.0 / nf).sqrt(),
            "var {var}"
        );

        // Odd lengths consume whole pairs and stay deterministic.
        let mut a = Generator::new(1);
        let mut z = vec![0f32; 3];
        fill_normal_f32(&mut a, &mut z, 0.0, 1.0);
        assert_eq!(a.offset(), 1);
        let mut b = Generator::new(1);
        let mut w = vec![0f32; 4];
        fill_normal_f32(&mut b, &mut w, 0.0, 1.0);
        assert_eq!(&w[..3], &z[..]);
    }

    #[test]
    fn exponential_mean() {
        let n = 1_000_000;
        let mut g = Generator::new(8);
        let mut x = vec![0f64; n];
        fill_exponential_f64(&mut g, &mut x, 4.0);
        assert!(x.iter().all(|&v| v >= 0.0 && v.is_finite()));
        let (mean, var) = mean_var(x.iter().copied());
        // Exp(4): mean 1/4, variance 1/16.
        assert!(
            (mean - 0.25).abs() < 4.0 * 0.25 / (n as f64).sqrt(),
            "mean {mean}"
        );
        assert!((var - 0.0625).abs() < 0.002, "var {var}");
    }

    #[test]
    fn random_ints() {
        let mut g = Generator::new(3);
        assert!(fill_random_ints(&mut g, &mut [0i64; 4], 0, 0).is_err());
        assert_eq!(g.offset(), 0);

        let n = 600_000;
        let mut x = vec![0i64; n];
        fill_random_ints(&mut g, &mut x, -3, 6).expect("bound");
        let mut counts = [0usize; 6];
        for &v in &x {
            counts[usize::try_from(v + 3).expect("at least -3")] += 1;
        }
        // Each count ~ Binomial(n, 1/6): sd ~ 289.
        for c in counts {
            assert!((c as f64 - 100_000.0).abs() < 4.0 * 289.0, "{counts:?}");
        }

        let mut one = vec![7i64; 100];
        fill_random_ints(&mut g, &mut one, 5, 1).expect("bound");
        assert!(one.iter().all(|&v| v == 5));

        let big = 1u64 << 63;
        let before = g.offset();
        let mut y = vec![0i64; 100_001];
        fill_random_ints(&mut g, &mut y, 0, big).expect("bound");
        assert_eq!(g.offset() - before, 100_001); // one block per element
        assert!(y.iter().all(|&v| v >= 0));
        // Top bit of [0, 2^63) never set, bit 62 set about half the time.
        let high = y.iter().filter(|&&v| v >= 1 << 62).count() as f64;
        assert!((high / 100_001.0 - 0.5).abs() < 0.01);

        // All of i64 but its largest value: the draw wraps from i64::MIN.
        let mut z = vec![0i64; 1000];
        fill_random_ints(&mut g, &mut z, i64::MIN, u64::MAX).expect("bound");
        assert!(z.iter().all(|&v| v < i64::MAX));
        assert!(z.iter().any(|&v| v < 0) && z.iter().any(|&v| v > 0));
        assert_eq!(mul_high_u128(u128::MAX, u64::MAX), u64::MAX - 1);
        assert_eq!(mul_high_u128(0, u64::MAX), 0);
        assert_eq!(mul_high_u64(u64::MAX, 1 << 32), u64::from(u32::MAX));
    }

    fn randperm_vec(g: &mut Generator, n: usize) -> Vec<i64> {
        let mut perm = vec![-1; n];
        randperm(g, &mut perm);
        perm
    }

    #[test]
    fn randperm_is_a_permutation() {
        let mut g = Generator::new(11);
        for n in [0usize, 1, 2, 3, 10, 1000, 100_001] {
            let p = randperm_vec(&mut g, n);
            let mut seen = vec![false; n];
            for &v in &p {
                assert!(v >= 0 && (v as usize) < n);
                assert!(!seen[v as usize]);
                seen[v as usize] = true;
            }
            assert_eq!(p.len(), n);
        }
        let a = randperm_vec(&mut Generator::new(5), 1000);
        let b = randperm_vec(&mut Generator::new(5), 1000);
        let c = randperm_vec(&mut Generator::new(6), 1000);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, (0..1000).collect::<Vec<i64>>());

        // Every permutation of 3 appears with frequency about 1/6.
        let mut counts = std::collections::HashMap::new();
        let mut g = Generator::new(77);
        for _ in 0..60_000 {
            *counts.entry(randperm_vec(&mut g, 3)).or_insert(0usize) += 1;
        }
        assert_eq!(counts.len(), 6);
        for &c in counts.values() {
            // Binomial(60000, 1/6): sd ~ 91.
            assert!((c as f64 - 10_000.0).abs() < 4.0 * 91.3, "{counts:?}");
        }
    }

    /// The batched draw makes the swaps of the definition (swap k exchanges i = n-1-k with
    /// floor(x_k (i + 1) / 2^64)), for swap counts on and around the batch's 128.
    #[test]
    fn randperm_follows_its_definition() {
        for n in [2usize, 3, 128, 129, 130, 257, 1000] {
            let mut g = Generator::new(3);
            g.set_offset(9);
            let stream = g.clone().reserve(2 * (n - 1) as u64);
            let got = randperm_vec(&mut g, n);
            let mut want: Vec<i64> = (0..n as i64).collect();
            for k in 0..n - 1 {
                let i = n - 1 - k;
                let j = mul_high_u64(stream.u64_at(k as u64), (i + 1) as u64);
                want.swap(i, j as usize);
            }
            assert_eq!(got, want, "n = {n}");
            assert_eq!(g.offset(), 9 + (2 * (n - 1)).div_ceil(4) as u64);
        }
    }

    #[test]
    fn state_round_trip() {
        let mut g = Generator::new(0xdead_beef_cafe_f00d);
        let mut x = vec![0f32; 17];
        fill_uniform_f32(&mut g, &mut x, 0.0, 1.0);
        let state = g.get_state();
        assert_eq!(&state[..8], &0xdead_beef_cafe_f00du64.to_le_bytes());
        assert_eq!(&state[8..], &5u64.to_le_bytes());

        let mut first = vec![0f32; 33];
        fill_normal_f32(&mut g, &mut first, 0.0, 1.0);

        let mut h = Generator::new(0);
        h.set_state(&state).expect("16 bytes");
        assert_eq!(h.seed(), 0xdead_beef_cafe_f00d);
        assert_eq!(h.offset(), 5);
        let mut second = vec![0f32; 33];
        fill_normal_f32(&mut h, &mut second, 0.0, 1.0);
        assert_eq!(first, second);
        assert_eq!(g.get_state(), h.get_state());

        assert!(h.set_state(&state[..15]).is_err());
        assert!(h.set_state(&[0u8; 17]).is_err());
        assert!(h.set_state(&[]).is_err());
        // A failed set leaves the state untouched.
        assert_eq!(g.get_state(), h.get_state());
    }
}
