//! The row sums of the normalization kernels: float32 values widened and summed in
//! float64 over 16 interleaved lanes (element i of a row goes to lane i % 16, the tail
//! included), the lanes folded as a tree.
//!
//! LLVM's SLP pass turned the portable loop over an array of lanes into two-wide
//! pieces with shuffles (a 64x128x256 layer norm ran at a third of PyTorch's speed), so
//! the AVX2 and AVX-512 levels are written with intrinsics. Every level performs the
//! same float64 operations on each lane in the same order (no contraction), so the sums
//! are bitwise identical at every level and for any thread count.

use super::math::{capability, Capability};

/// Lanes per row sum.
const LANES: usize = 16;

/// 16 float64 lanes at one SIMD level.
///
/// # Safety
/// Implementations for a SIMD level may only be used inside functions compiled with
/// that level's target features, on a CPU that has them.
unsafe trait Wide: Copy {
    type V: Copy;
    unsafe fn splat(self, v: f64) -> Self::V;
    /// 16 float32 values from `p`, widened.
    unsafe fn load(self, p: *const f32) -> Self::V;
    unsafe fn add(self, a: Self::V, b: Self::V) -> Self::V;
    unsafe fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    unsafe fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    unsafe fn lanes(self, v: Self::V) -> [f64; LANES];
}

#[derive(Clone, Copy)]
struct Portable;

// SAFETY: plain Rust, valid on every CPU; `load` reads the 16 values the caller vouches for.
unsafe impl Wide for Portable {
    type V = [f64; LANES];
    #[inline(always)]
    unsafe fn splat(self, v: f64) -> Self::V {
        [v; LANES]
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32) -> Self::V {
        // SAFETY: the caller vouches for 16 readable values at `p`.
        std::array::from_fn(|l| unsafe { *p.add(l) } as f64)
    }
    #[inline(always)]
    unsafe fn add(self, a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|l| a[l] + b[l])
    }
    #[inline(always)]
    unsafe fn sub(self, a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|l| a[l] - b[l])
    }
    #[inline(always)]
    unsafe fn mul(self, a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|l| a[l] * b[l])
    }
    #[inline(always)]
    unsafe fn lanes(self, v: Self::V) -> [f64; LANES] {
        v
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Wide, LANES};
    use std::arch::x86_64::*;

    /// Four 4-wide AVX registers.
    #[derive(Clone, Copy)]
    pub(super) struct Avx2;

    // SAFETY: used only inside functions compiled with AVX2 (see `Wide`); `load` reads
    // the 16 values the caller vouches for.
    unsafe impl Wide for Avx2 {
        type V = [__m256d; 4];
        #[inline(always)]
        unsafe fn splat(self, v: f64) -> Self::V {
            // SAFETY: AVX is enabled where this runs.
            [unsafe { _mm256_set1_pd(v) }; 4]
        }
        #[inline(always)]
        unsafe fn load(self, p: *const f32) -> Self::V {
            // SAFETY: 16 readable values at `p`: 4 from p + 4k for k < 4.
            std::array::from_fn(|k| unsafe { _mm256_cvtps_pd(_mm_loadu_ps(p.add(4 * k))) })
        }
        #[inline(always)]
        unsafe fn add(self, a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: AVX is enabled where this runs.
            std::array::from_fn(|k| unsafe { _mm256_add_pd(a[k], b[k]) })
        }
        #[inline(always)]
        unsafe fn sub(self, a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: as above.
            std::array::from_fn(|k| unsafe { _mm256_sub_pd(a[k], b[k]) })
        }
        #[inline(always)]
        unsafe fn mul(self, a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: as above.
            std::array::from_fn(|k| unsafe { _mm256_mul_pd(a[k], b[k]) })
        }
        #[inline(always)]
        unsafe fn lanes(self, v: Self::V) -> [f64; LANES] {
            let mut out = [0.0; LANES];
            for (k, r) in v.iter().enumerate() {
                // SAFETY: 4 values from out + 4k, inside `out`.
                unsafe { _mm256_storeu_pd(out.as_mut_ptr().add(4 * k), *r) };
            }
            out
        }
    }

    /// Two 8-wide AVX-512 registers.
    #[derive(Clone, Copy)]
    pub(super) struct Avx512;

    // SAFETY: used only inside functions compiled with AVX-512 F (see `Wide`); `load`
    // reads the 16 values the caller vouches for.
    unsafe impl Wide for Avx512 {
        type V = [__m512d; 2];
        #[inline(always)]
        unsafe fn splat(self, v: f64) -> Self::V {
            // SAFETY: AVX-512 F is enabled where this runs.
            [unsafe { _mm512_set1_pd(v) }; 2]
        }
        #[inline(always)]
        unsafe fn load(self, p: *const f32) -> Self::V {
            // SAFETY: 16 readable values at `p`: 8 from p + 8k for k < 2.
            std::array::from_fn(|k| unsafe { _mm512_cvtps_pd(_mm256_loadu_ps(p.add(8 * k))) })
        }
        #[inline(always)]
        unsafe fn add(self, a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: AVX-512 F is enabled where this runs.
            std::array::from_fn(|k| unsafe { _mm512_add_pd(a[k], b[k]) })
        }
        #[inline(always)]
        unsafe fn sub(self, a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: as above.
            std::array::from_fn(|k| unsafe { _mm512_sub_pd(a[k], b[k]) })
        }
        #[inline(always)]
        unsafe fn mul(self, a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: as above.
            std::array::from_fn(|k| unsafe { _mm512_mul_pd(a[k], b[k]) })
        }
        #[inline(always)]
        unsafe fn lanes(self, v: Self::V) -> [f64; LANES] {
            let mut out = [0.0; LANES];
            for (k, r) in v.iter().enumerate() {
                // SAFETY: 8 values from out + 8k, inside `out`.
                unsafe { _mm512_storeu_pd(out.as_mut_ptr().add(8 * k), *r) };
            }
            out
        }
    }
}

/// The lanes added as a tree: lane l with l + 8, then + 4, + 2, + 1.
#[inline(always)]
fn fold(mut v: [f64; LANES]) -> f64 {
    let mut width = LANES / 2;
    while width > 0 {
        for l in 0..width {
            v[l] += v[l + width];
        }
        width /= 2;
    }
    v[0]
}

/// Σ x.
#[inline(always)]
unsafe fn sum_at<W: Wide>(w: W, x: &[f32]) -> f64 {
    let full = x.len() - x.len() % LANES;
    // SAFETY: the loads read whole groups of 16 inside `x`; `W`'s level is enabled
    // (caller's contract).
    let mut lanes = unsafe {
        let mut acc = w.splat(0.0);
        for c in (0..full).step_by(LANES) {
            acc = w.add(acc, w.load(x.as_ptr().add(c)));
        }
        w.lanes(acc)
    };
    for (l, &v) in x[full..].iter().enumerate() {
        lanes[l] += v as f64;
    }
    fold(lanes)
}

/// Σ (x - m)².
#[inline(always)]
unsafe fn sum_sq_dev_at<W: Wide>(w: W, x: &[f32], m: f64) -> f64 {
    let full = x.len() - x.len() % LANES;
    // SAFETY: as in `sum_at`.
    let mut lanes = unsafe {
        let (mut acc, mv) = (w.splat(0.0), w.splat(m));
        for c in (0..full).step_by(LANES) {
            let dev = w.sub(w.load(x.as_ptr().add(c)), mv);
            acc = w.add(acc, w.mul(dev, dev));
        }
        w.lanes(acc)
    };
    for (l, &v) in x[full..].iter().enumerate() {
        let dev = v as f64 - m;
        lanes[l] += dev * dev;
    }
    fold(lanes)
}

/// (Σ g s, r Σ g s (x - m)) with s the weight (or 1).
#[inline(always)]
unsafe fn grad_sums_at<W: Wide>(
    w: W,
    g: &[f32],
    x: &[f32],
    scale: Option<&[f32]>,
    m: f64,
    r: f64,
) -> (f64, f64) {
    let d = x.len();
    let (g, scale) = (&g[..d], scale.map(|s| &s[..d]));
    let full = d - d % LANES;
    // SAFETY: as in `sum_at`; `g` and `scale` hold d values too.
    let (mut la, mut lb) = unsafe {
        let (mut a, mut b) = (w.splat(0.0), w.splat(0.0));
        let mv = w.splat(m);
        for c in (0..full).step_by(LANES) {
            let gv = w.load(g.as_ptr().add(c));
            let gs = match scale {
                Some(s) => w.mul(gv, w.load(s.as_ptr().add(c))),
                None => gv,
            };
            a = w.add(a, gs);
            b = w.add(b, w.mul(gs, w.sub(w.load(x.as_ptr().add(c)), mv)));
        }
        (w.lanes(a), w.lanes(b))
    };
    for l in 0..d - full {
        let k = full + l;
        let gs = match scale {
            Some(s) => g[k] as f64 * s[k] as f64,
            None => g[k] as f64,
        };
        la[l] += gs;
        lb[l] += gs * (x[k] as f64 - m);
    }
    // r applied once to the sum, not per element.
    (fold(la), fold(lb) * r)
}

/// Over a block of rows of length `d` (row r's `(mean, rstd)` in `stats[r]`), per
/// column k: `gw[k] = Σ_r g (x - mean) rstd` and `gb[k] = Σ_r g`, rows in order from 0.
/// The columns' sums stay in registers across the rows (32 columns at a time: four
/// chains of adds per row, enough to cover their latency).
#[inline(always)]
unsafe fn column_grad_sums_at<W: Wide>(
    w: W,
    g: &[f32],
    x: &[f32],
    stats: &[(f64, f64)],
    gw: &mut [f64],
    gb: &mut [f64],
) {
    let d = gw.len().min(gb.len());
    assert!(g.len() >= stats.len() * d && x.len() >= stats.len() * d);
    let mut c = 0;
    // Columns c..c + 16 * N of every row.
    macro_rules! columns {
        ($n:literal) => {
            // SAFETY: rows r < stats.len() hold d values each, and c + 16 N <= d; `W`'s
            // level is enabled (caller's contract).
            unsafe {
                let (mut aw, mut ab) = ([w.splat(0.0); $n], [w.splat(0.0); $n]);
                for (r, &(m, rs)) in stats.iter().enumerate() {
                    let (mv, rv) = (w.splat(m), w.splat(rs));
                    for j in 0..$n {
                        let off = r * d + c + j * LANES;
                        let gv = w.load(g.as_ptr().add(off));
                        let xh = w.mul(w.sub(w.load(x.as_ptr().add(off)), mv), rv);
                        aw[j] = w.add(aw[j], w.mul(gv, xh));
                        ab[j] = w.add(ab[j], gv);
                    }
                }
                for j in 0..$n {
                    let at = c + j * LANES;
                    gw[at..at + LANES].copy_from_slice(&w.lanes(aw[j]));
                    gb[at..at + LANES].copy_from_slice(&w.lanes(ab[j]));
                }
            }
        };
    }
    while c + 2 * LANES <= d {
        columns!(2);
        c += 2 * LANES;
    }
    if c + LANES <= d {
        columns!(1);
        c += LANES;
    }
    for k in c..d {
        let (mut sw, mut sb) = (0.0, 0.0);
        for (r, &(m, rs)) in stats.iter().enumerate() {
            let gv = g[r * d + k] as f64;
            sw += gv * ((x[r * d + k] as f64 - m) * rs);
            sb += gv;
        }
        gw[k] = sw;
        gb[k] = sb;
    }
}

/// Defines `$name` dispatching on `capability()` to `$body` instantiated per level.
macro_rules! dispatched {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty => $body:ident) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
            unsafe fn avx512($($arg: $ty),*) -> $ret {
                // SAFETY: AVX-512 is enabled in this function.
                unsafe { $body(x86::Avx512, $($arg),*) }
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2($($arg: $ty),*) -> $ret {
                // SAFETY: AVX2 is enabled in this function.
                unsafe { $body(x86::Avx2, $($arg),*) }
            }
            match capability() {
                // SAFETY: `capability()` only answers a level the CPU supports.
                #[cfg(target_arch = "x86_64")]
                Capability::Avx512 => unsafe { avx512($($arg),*) },
                // SAFETY: as above.
                #[cfg(target_arch = "x86_64")]
                Capability::Avx2 => unsafe { avx2($($arg),*) },
                // SAFETY: the portable level runs anywhere.
                _ => unsafe { $body(Portable, $($arg),*) },
            }
        }
    };
}

dispatched! {
    /// Σ x in float64 (16 lanes, see the module).
    fn sum(x: &[f32]) -> f64 => sum_at
}

dispatched! {
    /// Σ (x - m)² in float64.
    fn sum_sq_dev(x: &[f32], m: f64) -> f64 => sum_sq_dev_at
}

dispatched! {
    /// (Σ g s, r Σ g s (x - m)) in float64, `s` the `scale` (length of `x`) or 1: the two
    /// row sums of a layer norm's backward (s the weight, r the inverse deviation) and
    /// of a batch norm's (no scale, r = 1).
    fn grad_sums(g: &[f32], x: &[f32], scale: Option<&[f32]>, m: f64, r: f64) -> (f64, f64) => grad_sums_at
}

dispatched! {
    /// Per column k of a block of rows (row r's `(mean, rstd)` in `stats[r]`, `d =
    /// gw.len()`): `gw[k] = Σ_r g (x - mean) rstd`, `gb[k] = Σ_r g`, in float64, rows in
    /// order: a layer norm's weight and bias gradients over the block.
    fn column_grad_sums(g: &[f32], x: &[f32], stats: &[(f64, f64)], gw: &mut [f64], gb: &mut [f64]) -> () => column_grad_sums_at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let h = (i as u32 ^ seed).wrapping_mul(2_654_435_761) >> 8;
                (h as f32 / (1 << 24) as f32 - 0.3) * 7.0
            })
            .collect()
    }

    /// Every level against the portable one (bitwise) and against a plain float64 loop
    /// (closely), on lengths with and without a tail, below one group and empty.
    #[test]
    fn every_level_matches_portable_and_f64() {
        for n in [0usize, 1, 5, 15, 16, 17, 33, 256, 1000] {
            let (x, g, s) = (data(n, 1), data(n, 2), data(n, 3));
            let (m, r) = (0.37, 1.9);
            // SAFETY: the portable level runs anywhere.
            let want = unsafe {
                (
                    sum_at(Portable, &x),
                    sum_sq_dev_at(Portable, &x, m),
                    grad_sums_at(Portable, &g, &x, Some(&s), m, r),
                    grad_sums_at(Portable, &g, &x, None, m, 1.0),
                )
            };
            let got = (
                sum(&x),
                sum_sq_dev(&x, m),
                grad_sums(&g, &x, Some(&s), m, r),
                grad_sums(&g, &x, None, m, 1.0),
            );
            assert_eq!(format!("{want:?}"), format!("{got:?}"), "n {n}");
            let f = |v: f32| v as f64;
            let plain_sum: f64 = x.iter().map(|&v| f(v)).sum();
            let plain_sq: f64 = x.iter().map(|&v| (f(v) - m) * (f(v) - m)).sum();
            let plain_a: f64 = g.iter().zip(&s).map(|(&a, &b)| f(a) * f(b)).sum();
            let plain_b: f64 = (0..n)
                .map(|k| f(g[k]) * f(s[k]) * ((f(x[k]) - m) * r))
                .sum();
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
            assert!(close(got.0, plain_sum), "n {n}");
            assert!(close(got.1, plain_sq), "n {n}");
            assert!(
                close(got.2 .0, plain_a) && close(got.2 .1, plain_b),
                "n {n}"
            );
        }
    }

    /// Column sums over a block of rows at the machine's level against a plain
    /// float64 loop in the same order (bitwise): widths with 32-, 16-column and scalar
    /// parts, one row and several.
    #[test]
    fn column_sums_match_a_plain_loop() {
        for (rows, d) in [(1usize, 7usize), (3, 16), (16, 50), (5, 256), (2, 40)] {
            let (g, x) = (data(rows * d, 7), data(rows * d, 8));
            let stats: Vec<(f64, f64)> = (0..rows)
                .map(|r| (0.1 * r as f64, 1.5 + r as f64))
                .collect();
            let (mut gw, mut gb) = (vec![f64::NAN; d], vec![f64::NAN; d]);
            column_grad_sums(&g, &x, &stats, &mut gw, &mut gb);
            for k in 0..d {
                let (mut sw, mut sb) = (0.0f64, 0.0f64);
                for (r, &(m, rs)) in stats.iter().enumerate() {
                    let gv = g[r * d + k] as f64;
                    sw += gv * ((x[r * d + k] as f64 - m) * rs);
                    sb += gv;
                }
                assert_eq!(
                    (gw[k].to_bits(), gb[k].to_bits()),
                    (sw.to_bits(), sb.to_bits()),
                    "{rows}x{d} column {k}"
                );
            }
        }
    }

    /// The AVX2 level where AVX-512 is in use too (its functions are only reached through
    /// `capability()` otherwise).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_level_matches_portable() {
        if !crate::cpu::math::has_avx2_fma() {
            return;
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn run(x: &[f32], g: &[f32], s: &[f32]) -> (f64, f64, (f64, f64)) {
            // SAFETY: AVX2 is enabled in this function.
            unsafe {
                (
                    sum_at(x86::Avx2, x),
                    sum_sq_dev_at(x86::Avx2, x, 0.5),
                    grad_sums_at(x86::Avx2, g, x, Some(s), 0.5, 2.0),
                )
            }
        }
        for n in [3usize, 16, 37, 300] {
            let (x, g, s) = (data(n, 4), data(n, 5), data(n, 6));
            // SAFETY: AVX2 and FMA were detected; the portable level runs anywhere.
            let (got, want) = unsafe {
                (
                    run(&x, &g, &s),
                    (
                        sum_at(Portable, &x),
                        sum_sq_dev_at(Portable, &x, 0.5),
                        grad_sums_at(Portable, &g, &x, Some(&s), 0.5, 2.0),
                    ),
                )
            };
            assert_eq!(format!("{want:?}"), format!("{got:?}"), "n {n}");
        }
    }
}
