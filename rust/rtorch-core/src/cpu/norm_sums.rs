//! The row sums of the normalization kernels over float32 values: 16 interleaved lanes
//! (element i of a row goes to lane i % 16, the tail included), each lane adding in
//! float32 over a block of `BLOCK` values and the block's lanes then added in float64,
//! the 16 float64 lanes folded as a tree at the end.
//!
//! A float32 lane adds at most 16 values before they reach float64, so the rounding
//! error stays within about 17 float32 ulps of the sum of magnitudes, for any row
//! length; PyTorch's float32 kernels keep float32 sums for the whole row. Widening
//! every value to float64 first (the previous scheme) ran the arithmetic at half the
//! lanes: a 64x128x256 layer norm's backward took 1.6x PyTorch's time, its weight
//! gradient's column sums and the row sums being most of it.
//!
//! LLVM's SLP pass turned the portable loop over an array of lanes into two-wide
//! pieces with shuffles, so the AVX2 and AVX-512 levels are written with intrinsics.
//! Every level performs the same operations on each lane in the same order (no
//! contraction into fused multiply-adds), so the sums are bitwise identical at every
//! level and for any thread count.

use super::math::capability;
#[cfg(target_arch = "x86_64")]
use super::math::Capability;

/// Lanes per row sum.
const LANES: usize = 16;

/// Values a lane's float32 partial sum covers before it is added in float64: 16 per lane.
const BLOCK: usize = LANES * 16;

/// 16 float32 lanes at one SIMD level.
///
/// # Safety
/// Implementations for a SIMD level may only be used inside functions compiled with
/// that level's target features, on a CPU that has them.
unsafe trait Wide: Copy {
    type V: Copy;
    unsafe fn splat(self, v: f32) -> Self::V;
    /// 16 float32 values from `p`.
    unsafe fn load(self, p: *const f32) -> Self::V;
    unsafe fn add(self, a: Self::V, b: Self::V) -> Self::V;
    unsafe fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    unsafe fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    unsafe fn lanes(self, v: Self::V) -> [f32; LANES];
}

#[derive(Clone, Copy)]
struct Portable;

// SAFETY: plain Rust, valid on every CPU; `load` reads the 16 values the caller vouches for.
unsafe impl Wide for Portable {
    type V = [f32; LANES];
    #[inline(always)]
    unsafe fn splat(self, v: f32) -> Self::V {
        [v; LANES]
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32) -> Self::V {
        // SAFETY: the caller vouches for 16 readable values at `p`.
        std::array::from_fn(|l| unsafe { *p.add(l) })
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
    unsafe fn lanes(self, v: Self::V) -> [f32; LANES] {
        v
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Wide, LANES};
    use std::arch::x86_64::*;

    /// Two 8-wide AVX registers.
    #[derive(Clone, Copy)]
    pub(super) struct Avx2;

    // SAFETY: used only inside functions compiled with AVX2 (see `Wide`); `load` reads
    // the 16 values the caller vouches for.
    unsafe impl Wide for Avx2 {
        type V = [__m256; 2];
        #[inline(always)]
        unsafe fn splat(self, v: f32) -> Self::V {
            // SAFETY: AVX is enabled where this runs.
            [unsafe { _mm256_set1_ps(v) }; 2]
        }
        #[inline(always)]
        unsafe fn load(self, p: *const f32) -> Self::V {
            // SAFETY: 16 readable values at `p`: 8 from p + 8k for k < 2.
            std::array::from_fn(|k| unsafe { _mm256_loadu_ps(p.add(8 * k)) })
        }
        #[inline(always)]
        unsafe fn add(self, a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: AVX is enabled where this runs.
            std::array::from_fn(|k| unsafe { _mm256_add_ps(a[k], b[k]) })
        }
        #[inline(always)]
        unsafe fn sub(self, a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: as above.
            std::array::from_fn(|k| unsafe { _mm256_sub_ps(a[k], b[k]) })
        }
        #[inline(always)]
        unsafe fn mul(self, a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: as above.
            std::array::from_fn(|k| unsafe { _mm256_mul_ps(a[k], b[k]) })
        }
        #[inline(always)]
        unsafe fn lanes(self, v: Self::V) -> [f32; LANES] {
            let mut out = [0.0; LANES];
            for (k, r) in v.iter().enumerate() {
                // SAFETY: 8 values from out + 8k, inside `out`.
                unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(8 * k), *r) };
            }
            out
        }
    }

    /// One 16-wide AVX-512 register.
    #[derive(Clone, Copy)]
    pub(super) struct Avx512;

    // SAFETY: used only inside functions compiled with AVX-512 F (see `Wide`); `load`
    // reads the 16 values the caller vouches for.
    unsafe impl Wide for Avx512 {
        type V = __m512;
        #[inline(always)]
        unsafe fn splat(self, v: f32) -> Self::V {
            // SAFETY: AVX-512 F is enabled where this runs.
            unsafe { _mm512_set1_ps(v) }
        }
        #[inline(always)]
        unsafe fn load(self, p: *const f32) -> Self::V {
            // SAFETY: 16 readable values at `p`.
            unsafe { _mm512_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn add(self, a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: AVX-512 F is enabled where this runs.
            unsafe { _mm512_add_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn sub(self, a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: as above.
            unsafe { _mm512_sub_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn mul(self, a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: as above.
            unsafe { _mm512_mul_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn lanes(self, v: Self::V) -> [f32; LANES] {
            let mut out = [0.0; LANES];
            // SAFETY: 16 values from `out`.
            unsafe { _mm512_storeu_ps(out.as_mut_ptr(), v) };
            out
        }
    }
}

/// `m` as two floats: `x - hi - lo` is `x - m` to within one float32 rounding of the
/// result (exact near the mean), so a spread small next to the mean keeps its digits.
#[inline(always)]
fn split(m: f64) -> (f32, f32) {
    let hi = m as f32;
    (hi, (m - hi as f64) as f32)
}

/// A block's float32 lanes added into the float64 lanes.
#[inline(always)]
fn widen_into(acc: &mut [f64; LANES], v: [f32; LANES]) {
    for (a, v) in acc.iter_mut().zip(v) {
        *a += v as f64;
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

/// Lane sums of `term(c)` for the groups of 16 at offsets `c = 0, 16, ..` below `full`:
/// float32 within each block of `BLOCK` values, float64 across blocks. Returns the
/// float64 lanes of up to `N` sums computed together.
#[inline(always)]
unsafe fn lane_sums<W: Wide, const N: usize>(
    w: W,
    full: usize,
    term: impl Fn(usize) -> [W::V; N],
) -> [[f64; LANES]; N] {
    let mut wide = [[0.0f64; LANES]; N];
    let mut c = 0;
    // SAFETY: `term`'s loads are the caller's (groups of 16 below `full`); `W`'s level
    // is enabled (caller's contract).
    unsafe {
        while c < full {
            let end = full.min(c + BLOCK);
            let mut acc = [w.splat(0.0); N];
            while c < end {
                let t = term(c);
                for k in 0..N {
                    acc[k] = w.add(acc[k], t[k]);
                }
                c += LANES;
            }
            for k in 0..N {
                widen_into(&mut wide[k], w.lanes(acc[k]));
            }
        }
    }
    wide
}

/// Σ x, as `n x0 + Σ (x - x0)` with `x0` the first value: the float32 sums then carry
/// the values' spread, not their magnitude, so the mean of a row far from zero (1000 +
/// noise of 1e-2) keeps the digits its deviations need.
#[inline(always)]
unsafe fn sum_at<W: Wide>(w: W, x: &[f32]) -> f64 {
    let Some(&x0) = x.first() else {
        return 0.0;
    };
    let full = x.len() - x.len() % LANES;
    // SAFETY: the loads read whole groups of 16 inside `x`.
    let [mut lanes] = unsafe {
        let shift = w.splat(x0);
        lane_sums(
            w,
            full,
            #[inline(always)]
            |c| [w.sub(w.load(x.as_ptr().add(c)), shift)],
        )
    };
    for (l, &v) in x[full..].iter().enumerate() {
        lanes[l] += (v - x0) as f64;
    }
    x0 as f64 * x.len() as f64 + fold(lanes)
}

/// Σ (x - m)², each deviation `x - m` in float32 from `m` split in two floats.
#[inline(always)]
unsafe fn sum_sq_dev_at<W: Wide>(w: W, x: &[f32], m: f64) -> f64 {
    let full = x.len() - x.len() % LANES;
    let (hi, lo) = split(m);
    // SAFETY: as in `sum_at`.
    let [mut lanes] = unsafe {
        let (hv, lv) = (w.splat(hi), w.splat(lo));
        lane_sums(
            w,
            full,
            #[inline(always)]
            |c| {
                let dev = w.sub(w.sub(w.load(x.as_ptr().add(c)), hv), lv);
                [w.mul(dev, dev)]
            },
        )
    };
    for (l, &v) in x[full..].iter().enumerate() {
        let dev = (v - hi) - lo;
        lanes[l] += (dev * dev) as f64;
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
    let (hi, lo) = split(m);
    // SAFETY: as in `sum_at`; `g` and `scale` hold d values too.
    let [mut la, mut lb] = unsafe {
        let (hv, lv) = (w.splat(hi), w.splat(lo));
        lane_sums(
            w,
            full,
            #[inline(always)]
            |c| {
                let gv = w.load(g.as_ptr().add(c));
                let gs = match scale {
                    Some(s) => w.mul(gv, w.load(s.as_ptr().add(c))),
                    None => gv,
                };
                let dev = w.sub(w.sub(w.load(x.as_ptr().add(c)), hv), lv);
                [gs, w.mul(gs, dev)]
            },
        )
    };
    for l in 0..d - full {
        let k = full + l;
        let gs = match scale {
            Some(s) => g[k] * s[k],
            None => g[k],
        };
        la[l] += gs as f64;
        lb[l] += (gs * ((x[k] - hi) - lo)) as f64;
    }
    // r applied once to the sum, not per element.
    (fold(la), fold(lb) * r)
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
    /// Σ x (16 lanes, float32 within blocks, float64 across: see the module).
    fn sum(x: &[f32]) -> f64 => sum_at
}

dispatched! {
    /// Σ (x - m)².
    fn sum_sq_dev(x: &[f32], m: f64) -> f64 => sum_sq_dev_at
}

dispatched! {
    /// (Σ g s, r Σ g s (x - m)), `s` the `scale` (length of `x`) or 1: the two row sums
    /// of a layer norm's backward (s the weight, r the inverse deviation) and of a batch
    /// norm's (no scale, r = 1).
    fn grad_sums(g: &[f32], x: &[f32], scale: Option<&[f32]>, m: f64, r: f64) -> (f64, f64) => grad_sums_at
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

    /// The float32-within-blocks error bound: 17 roundings of at most half a float32 ulp
    /// (16 additions in a lane's block and the product or deviation itself) of the sum of
    /// the terms' magnitudes, and float64 rounding beyond.
    fn within_bound(got: f64, exact: f64, magnitude: f64) -> bool {
        (got - exact).abs() <= 17.0 * f32::EPSILON as f64 / 2.0 * magnitude + 1e-12
    }

    /// Every level against the portable one (bitwise) and against plain float64 loops
    /// (within the float32 bound), on lengths with and without a tail, below one group,
    /// empty, and over several blocks.
    #[test]
    fn every_level_matches_portable_and_f64() {
        for n in [0usize, 1, 5, 15, 16, 17, 33, 256, 257, 1000, 4099] {
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
            let exact_sum = |t: &dyn Fn(usize) -> f64| -> (f64, f64) {
                ((0..n).map(t).sum(), (0..n).map(|k| t(k).abs()).sum())
            };
            let (sx, _) = exact_sum(&|k| f(x[k]));
            // The sum is taken around the first value.
            let (_, mx) = exact_sum(&|k| f(x[k]) - f(x[0]));
            let (sq, mq) = exact_sum(&|k| (f(x[k]) - m) * (f(x[k]) - m));
            let (sa, ma) = exact_sum(&|k| f(g[k]) * f(s[k]));
            let (sb, mb) = exact_sum(&|k| f(g[k]) * f(s[k]) * (f(x[k]) - m) * r);
            assert!(within_bound(got.0, sx, mx), "n {n}: {} vs {sx}", got.0);
            assert!(within_bound(got.1, sq, mq), "n {n}: {} vs {sq}", got.1);
            assert!(within_bound(got.2 .0, sa, ma), "n {n}");
            assert!(within_bound(got.2 .1, sb, mb), "n {n}");
        }
    }

    /// A spread small next to the mean keeps its digits: the sum is taken around the
    /// first value, the deviations from the mean split in two floats (not from the mean
    /// rounded to float32).
    #[test]
    fn a_large_mean_and_its_deviations_keep_their_digits() {
        let x: Vec<f32> = (0..1000).map(|i| 1000.0 + (i % 7) as f32 * 1e-3).collect();
        let exact_sum = x.iter().map(|&v| v as f64).sum::<f64>();
        let m = sum(&x) / 1000.0;
        // The mean to within a millionth of the spread (7e-3).
        assert!((m - exact_sum / 1000.0).abs() <= 1e-8, "{m}");
        let exact: f64 = x.iter().map(|&v| (v as f64 - m) * (v as f64 - m)).sum();
        let got = sum_sq_dev(&x, m);
        assert!((got - exact).abs() <= 1e-5 * exact, "{got} vs {exact}");
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
