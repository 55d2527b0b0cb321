//! Inner loops of float reductions (sum, max, min) over contiguous slices.
//!
//! LLVM does not vectorise float reductions on its own (it may not reassociate the
//! adds), and its SLP pass turns an array of 32 scalar accumulators into two-wide
//! shuffles. So the AVX2 paths are written with intrinsics: four 8-wide accumulators
//! per pass, chosen at run time. The portable fallbacks keep the same summation order
//! shape (independent lanes, then a tree), so results differ only by rounding.

/// Values summed by one block before block sums are combined pairwise.
pub const SUM_BLOCK: usize = 1024;

/// Pairwise (cascade) sum: `block` sums chunks of at most `SUM_BLOCK` values, and the
/// block sums are combined as a binary tree (`Carry`), so rounding error grows with
/// log(n) while the work stays one pass.
#[inline(always)]
pub fn cascade<T, A>(x: &[T], mut block: impl FnMut(&[T]) -> A) -> A
where
    A: Copy + std::ops::Add<Output = A> + Default,
{
    if x.len() <= SUM_BLOCK {
        return block(x);
    }
    let mut carry = Carry::default();
    for chunk in x.chunks(SUM_BLOCK) {
        carry.push(block(chunk));
    }
    carry.total()
}

/// The block sums of a cascade, combined as a binary tree through a carry stack: for
/// kernels that sum their blocks in their own body (a closure passed to `cascade` is
/// compiled without the caller's target features, its intrinsics then out-of-line calls).
pub struct Carry<A> {
    /// `stack[i]` holds the sum of 2^level[i] blocks; equal levels merge like a carry.
    stack: [A; 64],
    level: [u32; 64],
    top: usize,
}

impl<A: Copy + Default> Default for Carry<A> {
    #[inline(always)]
    fn default() -> Self {
        Carry {
            stack: [A::default(); 64],
            level: [0; 64],
            top: 0,
        }
    }
}

impl<A: Copy + std::ops::Add<Output = A> + Default> Carry<A> {
    /// Adds the next block's sum.
    #[inline(always)]
    pub fn push(&mut self, mut s: A) {
        let mut l = 0;
        while self.top > 0 && self.level[self.top - 1] == l {
            self.top -= 1;
            s = self.stack[self.top] + s;
            l += 1;
        }
        // (64 levels hold 2^64 blocks: more than any slice has.)
        self.stack[self.top] = s;
        self.level[self.top] = l;
        self.top += 1;
    }

    /// The sum of every block pushed (the default value for none).
    #[inline(always)]
    pub fn total(&self) -> A {
        let mut s = A::default();
        if let Some((last, rest)) = self.stack[..self.top].split_last() {
            s = *last;
            for &v in rest.iter().rev() {
                s = v + s;
            }
        }
        s
    }
}

/// Portable block sum: 32 independent lanes (as the AVX2 path's four 8-wide
/// accumulators), folded as a tree. (With 16, each lane's chain of adds was twice as
/// long: 2^20 values of 0.1 summed to 0.061 off, against 0.03 on the AVX2 path.)
#[inline(always)]
pub fn block_sum<T: Copy, A>(x: &[T], f: &impl Fn(T) -> A) -> A
where
    A: Copy + std::ops::Add<Output = A> + Default,
{
    const L: usize = 32;
    let mut lanes = [A::default(); L];
    let chunks = x.chunks_exact(L);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..L {
            lanes[k] = lanes[k] + f(c[k]);
        }
    }
    let mut w = L;
    while w > 1 {
        w /= 2;
        for k in 0..w {
            lanes[k] = lanes[k] + lanes[k + w];
        }
    }
    let mut s = lanes[0];
    for &v in rest {
        s = s + f(v);
    }
    s
}

/// Sum of f32 values (pairwise), vectorised with AVX-512 or AVX2 (`capability()`).
pub fn sum_f32(x: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if super::math::has_avx512() {
        // SAFETY: AVX-512 was detected at run time (and not overridden lower).
        return cascade(x, |c| unsafe { avx512::sum_f32(c) });
    }
    #[cfg(target_arch = "x86_64")]
    if super::math::has_avx2_fma() {
        // SAFETY: AVX2 was detected at run time.
        return cascade(x, |c| unsafe { avx2::sum_f32(c) });
    }
    // SAFETY: NEON is in aarch64's baseline: every aarch64 CPU has it.
    #[cfg(target_arch = "aarch64")]
    return cascade(x, |c| unsafe { neon::sum_f32(c) });
    #[cfg(not(target_arch = "aarch64"))]
    cascade(x, |c| block_sum(c, &|v| v))
}

/// Sum of f64 values (pairwise), vectorised with AVX-512 or AVX2 (`capability()`).
pub fn sum_f64(x: &[f64]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if super::math::has_avx512() {
        // SAFETY: AVX-512 was detected at run time (and not overridden lower).
        return cascade(x, |c| unsafe { avx512::sum_f64(c) });
    }
    #[cfg(target_arch = "x86_64")]
    if super::math::has_avx2_fma() {
        // SAFETY: AVX2 was detected at run time.
        return cascade(x, |c| unsafe { avx2::sum_f64(c) });
    }
    // SAFETY: as in `sum_f32`.
    #[cfg(target_arch = "aarch64")]
    return cascade(x, |c| unsafe { neon::sum_f64(c) });
    #[cfg(not(target_arch = "aarch64"))]
    cascade(x, |c| block_sum(c, &|v| v))
}

/// Block sum (at most `SUM_BLOCK` values) of float16 values in float32. On AVX-512 the
/// values are widened in registers: the same additions in the same order as widening
/// into a buffer and `sum_f32`'s block kernel (the result is the same), without the
/// buffer's store and reload.
pub fn sum_f16_block(x: &[half::f16]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if super::math::has_avx512() {
        // SAFETY: AVX-512 was detected at run time (and not overridden lower).
        return unsafe { avx512::sum_f16(x) };
    }
    sum_widened(x)
}

/// `sum_f16_block` for bfloat16.
pub fn sum_bf16_block(x: &[half::bf16]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if super::math::has_avx512() {
        // SAFETY: AVX-512 was detected at run time (and not overridden lower).
        return unsafe { avx512::sum_bf16(x) };
    }
    sum_widened(x)
}

/// A half block widened into a buffer, then summed by `sum_f32`'s block kernel.
fn sum_widened<H: super::elementwise::Half>(x: &[H]) -> f32 {
    let mut buf = [0f32; SUM_BLOCK];
    let b = &mut buf[..x.len().min(SUM_BLOCK)];
    H::widen_slice(&x[..b.len()], b);
    // One block (at most SUM_BLOCK values): exactly one call of the block kernel.
    sum_f32(b)
}

/// The largest (or smallest, `want_max = false`) value of a non-empty f32 slice and
/// the index of its first occurrence; the first NaN wins if there is one (PyTorch's
/// max/min(dim) rules).
pub fn arg_extreme_f32(x: &[f32], want_max: bool) -> (f32, usize) {
    #[cfg(target_arch = "x86_64")]
    if super::math::has_avx2_fma() {
        // SAFETY: AVX2 was detected at run time.
        return unsafe { avx2::arg_extreme_f32(x, want_max) };
    }
    arg_extreme_portable(x, want_max)
}

/// The portable path is the generic scan every dtype uses.
fn arg_extreme_portable(x: &[f32], want_max: bool) -> (f32, usize) {
    super::reduce::arg_extreme(x, want_max)
}

/// How [`fold_f32`] folds a widened value `v` into its lane `a`.
pub const SUM_SQUARES: u8 = 0;
/// `a * v`.
pub const PRODUCT: u8 = 1;
/// `a + v`.
pub const SUM: u8 = 2;

/// `acc[i % 16] = op(acc[i % 16], x[i] as f64)` for every i, in order, `op` one of
/// [`SUM_SQUARES`] (`a + v * v`, the 2-norm's `lanes_fold`), [`PRODUCT`] and [`SUM`]:
/// float32 values folded in float64 over 16 interleaved lanes, with the widening in
/// registers. The same operations on each lane at every level (no contraction), so the
/// same bits; LLVM turned the portable loop into 2-wide pieces (8 conversions, 8
/// products and 8 adds per 16 values instead of 2 each).
pub fn fold_f32<const OP: u8>(acc: &mut [f64; 16], x: &[f32]) {
    let full = x.len() - x.len() % 16;
    #[cfg(target_arch = "x86_64")]
    if super::math::has_avx512() {
        // SAFETY: AVX-512 was detected at run time (and not overridden lower).
        unsafe { avx512::fold_f32::<OP>(acc, &x[..full]) };
    } else if super::math::has_avx2_fma() {
        // SAFETY: AVX2 was detected at run time.
        unsafe { avx2::fold_f32::<OP>(acc, &x[..full]) };
    } else {
        fold_portable::<OP>(acc, &x[..full]);
    }
    #[cfg(not(target_arch = "x86_64"))]
    fold_portable::<OP>(acc, &x[..full]);
    fold_portable::<OP>(acc, &x[full..]);
}

/// One lane's step of [`fold_f32`].
#[inline(always)]
fn fold_op<const OP: u8>(a: f64, v: f64) -> f64 {
    match OP {
        SUM_SQUARES => a + v * v,
        PRODUCT => a * v,
        _ => a + v,
    }
}

fn fold_portable<const OP: u8>(acc: &mut [f64; 16], x: &[f32]) {
    for (i, &v) in x.iter().enumerate() {
        acc[i % 16] = fold_op::<OP>(acc[i % 16], v as f64);
    }
}

/// The value a lane of [`fold_f32`] starts from, and that leaves a lane unchanged when
/// folded into it (a lane of sums is never -0.0: it starts at +0.0).
#[cfg(target_arch = "x86_64")]
fn fold_identity<const OP: u8>() -> f64 {
    if OP == PRODUCT {
        1.0
    } else {
        0.0
    }
}

/// `out[o]` = the 16 lanes of [`fold_f32`] over block `o` of `inner` values (from
/// [`fold_identity`]), folded onto each other by halves (`+`, or `*` for [`PRODUCT`]):
/// the lanes and order of the one-block kernels (`Prod` and `VectorNorm` in
/// `ops::reduce_kinds`), so the same bits, for many short blocks in one loop. A call,
/// a store of the lanes and a scalar tree per block took `norm(dim=1)` of 16384x16 to
/// 5x PyTorch's time. False, having written nothing, without AVX2.
pub fn fold_f32_rows<const OP: u8>(src: &[f32], inner: usize, out: &mut [f64]) -> bool {
    if src.len() != inner.saturating_mul(out.len()) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if super::math::has_avx512() {
            // SAFETY: AVX-512 was detected at run time (and not overridden lower); the
            // blocks' lengths were checked above.
            unsafe { avx512::fold_rows::<OP>(src, inner, out) };
            return true;
        }
        if super::math::has_avx2_fma() {
            // SAFETY: AVX2 was detected at run time; the lengths as above.
            unsafe { avx2::fold_rows::<OP>(src, inner, out) };
            return true;
        }
    }
    false
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// `fold_f32` over whole groups of 16 values, four 4-wide accumulators.
    ///
    /// # Safety
    /// The CPU must support AVX2; `x.len()` is a multiple of 16.
    #[target_feature(enable = "avx2")]
    pub unsafe fn fold_f32<const OP: u8>(acc: &mut [f64; 16], x: &[f32]) {
        let pa = acc.as_mut_ptr();
        // SAFETY: `acc` holds 16 values: 4 from pa + 4k for k < 4.
        let mut a: [__m256d; 4] =
            std::array::from_fn(|k| unsafe { _mm256_loadu_pd(pa.add(4 * k)) });
        for c in x.chunks_exact(16) {
            let p = c.as_ptr();
            for (k, a) in a.iter_mut().enumerate() {
                // SAFETY: `c` holds 16 values, so the 4 from p + 4k are in bounds.
                let v = _mm256_cvtps_pd(unsafe { _mm_loadu_ps(p.add(4 * k)) });
                *a = match OP {
                    super::SUM_SQUARES => _mm256_add_pd(*a, _mm256_mul_pd(v, v)),
                    super::PRODUCT => _mm256_mul_pd(*a, v),
                    _ => _mm256_add_pd(*a, v),
                };
            }
        }
        for (k, v) in a.iter().enumerate() {
            // SAFETY: as the loads above.
            unsafe { _mm256_storeu_pd(pa.add(4 * k), *v) };
        }
    }

    /// `super::fold_f32_rows` at AVX2: a block's 16 lanes in four 4-wide registers, its
    /// tail through a copy padded with the fold's identity.
    ///
    /// # Safety
    /// The CPU must support AVX2; `src.len() == inner * out.len()`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn fold_rows<const OP: u8>(src: &[f32], inner: usize, out: &mut [f64]) {
        let init = super::fold_identity::<OP>();
        let step = |a: __m256d, v: __m256d| match OP {
            super::SUM_SQUARES => _mm256_add_pd(a, _mm256_mul_pd(v, v)),
            super::PRODUCT => _mm256_mul_pd(a, v),
            _ => _mm256_add_pd(a, v),
        };
        let fold = |a: &mut [__m256d; 4], p: *const f32| {
            for (k, a) in a.iter_mut().enumerate() {
                // SAFETY: the caller's `p` holds 16 values, so the 4 from p + 4k too.
                *a = step(*a, _mm256_cvtps_pd(unsafe { _mm_loadu_ps(p.add(4 * k)) }));
            }
        };
        let comb = |a: __m256d, b: __m256d| match OP {
            super::PRODUCT => _mm256_mul_pd(a, b),
            _ => _mm256_add_pd(a, b),
        };
        for (o, v) in out.iter_mut().enumerate() {
            let row = &src[o * inner..(o + 1) * inner];
            let mut a = [_mm256_set1_pd(init); 4];
            let chunks = row.chunks_exact(16);
            let rest = chunks.remainder();
            for c in chunks {
                fold(&mut a, c.as_ptr());
            }
            if !rest.is_empty() {
                let mut pad = [init as f32; 16];
                pad[..rest.len()].copy_from_slice(rest);
                fold(&mut a, pad.as_ptr());
            }
            // Lanes i and i + 8, then i and i + 4, i + 2, i + 1: `combine_lanes`.
            let c = comb(comb(a[0], a[2]), comb(a[1], a[3]));
            let d = comb2::<OP>(_mm256_castpd256_pd128(c), _mm256_extractf128_pd::<1>(c));
            *v = _mm_cvtsd_f64(comb2::<OP>(d, _mm_unpackhi_pd(d, d)));
        }
    }

    /// The lanes of `a` and `b` folded pairwise as `fold_rows` combines them.
    #[inline(always)]
    pub(super) fn comb2<const OP: u8>(a: __m128d, b: __m128d) -> __m128d {
        // SAFETY: SSE2, part of x86-64.
        unsafe {
            match OP {
                super::PRODUCT => _mm_mul_pd(a, b),
                _ => _mm_add_pd(a, b),
            }
        }
    }

    /// Adds the 8 lanes of `v` as a tree.
    #[target_feature(enable = "avx2")]
    fn hsum_ps(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    /// Adds the 4 lanes of `v` as a tree.
    #[target_feature(enable = "avx2")]
    fn hsum_pd(v: __m256d) -> f64 {
        let s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
        let s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
        _mm_cvtsd_f64(s)
    }

    /// Block sum with four 8-wide accumulators (32 lanes).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn sum_f32(x: &[f32]) -> f32 {
        let mut acc = [_mm256_setzero_ps(); 4];
        let chunks = x.chunks_exact(32);
        let rest = chunks.remainder();
        for c in chunks {
            let p = c.as_ptr();
            for (k, a) in acc.iter_mut().enumerate() {
                // SAFETY: `c` holds 32 values, so 8 values from p + 8k are in bounds;
                // loadu has no alignment requirement.
                *a = _mm256_add_ps(*a, unsafe { _mm256_loadu_ps(p.add(8 * k)) });
            }
        }
        let v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut s = hsum_ps(v);
        for &r in rest {
            s += r;
        }
        s
    }

    /// Block sum with four 4-wide accumulators (16 lanes).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn sum_f64(x: &[f64]) -> f64 {
        let mut acc = [_mm256_setzero_pd(); 4];
        let chunks = x.chunks_exact(16);
        let rest = chunks.remainder();
        for c in chunks {
            let p = c.as_ptr();
            for (k, a) in acc.iter_mut().enumerate() {
                // SAFETY: `c` holds 16 values, so 4 values from p + 4k are in bounds.
                *a = _mm256_add_pd(*a, unsafe { _mm256_loadu_pd(p.add(4 * k)) });
            }
        }
        let v = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
        let mut s = hsum_pd(v);
        for &r in rest {
            s += r;
        }
        s
    }

    /// Max or min with its first index: one pass for the value (four 8-wide
    /// accumulators, NaNs noted on the side), one compare pass for the index.
    ///
    /// # Safety
    /// The CPU must support AVX2; `x` must not be empty.
    #[target_feature(enable = "avx2")]
    pub unsafe fn arg_extreme_f32(x: &[f32], want_max: bool) -> (f32, usize) {
        let pick = |a: __m256, b: __m256| {
            if want_max {
                _mm256_max_ps(a, b)
            } else {
                _mm256_min_ps(a, b)
            }
        };
        let mut acc = [_mm256_set1_ps(x[0]); 4];
        let mut nan = _mm256_setzero_ps();
        let chunks = x.chunks_exact(32);
        let rest = chunks.remainder();
        for c in chunks {
            let p = c.as_ptr();
            for (k, a) in acc.iter_mut().enumerate() {
                // SAFETY: `c` holds 32 values, so 8 values from p + 8k are in bounds.
                let v = unsafe { _mm256_loadu_ps(p.add(8 * k)) };
                nan = _mm256_or_ps(nan, _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v));
                *a = pick(*a, v);
            }
        }
        if _mm256_movemask_ps(nan) != 0 || rest.iter().any(|v| v.is_nan()) {
            let i = x.iter().position(|v| v.is_nan()).unwrap_or(0);
            return (x[i], i);
        }
        let v = pick(pick(acc[0], acc[1]), pick(acc[2], acc[3]));
        let mut lanes = [0f32; 8];
        // SAFETY: `lanes` has room for 8 f32.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), v) };
        let mut m = lanes[0];
        for &r in lanes[1..].iter().chain(rest) {
            if (want_max && r > m) || (!want_max && r < m) {
                m = r;
            }
        }
        let target = _mm256_set1_ps(m);
        let blocks = x.chunks_exact(8);
        let tail = blocks.remainder();
        for (b, c) in blocks.enumerate() {
            // SAFETY: `c` holds 8 values.
            let v = unsafe { _mm256_loadu_ps(c.as_ptr()) };
            let hit = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(v, target));
            if hit != 0 {
                return (m, 8 * b + hit.trailing_zeros() as usize);
            }
        }
        let base = x.len() - tail.len();
        (m, base + tail.iter().position(|&v| v == m).unwrap_or(0))
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// `super::fold_f32_rows` at AVX-512: a block's 16 lanes in two 8-wide registers, its
    /// tail through a masked load of the fold's identity.
    ///
    /// # Safety
    /// The CPU must support AVX-512 F/DQ; `src.len() == inner * out.len()`.
    #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")]
    pub unsafe fn fold_rows<const OP: u8>(src: &[f32], inner: usize, out: &mut [f64]) {
        let init = super::fold_identity::<OP>();
        let step = |a: __m512d, v: __m512d| match OP {
            super::SUM_SQUARES => _mm512_add_pd(a, _mm512_mul_pd(v, v)),
            super::PRODUCT => _mm512_mul_pd(a, v),
            _ => _mm512_add_pd(a, v),
        };
        let fold = |lo: &mut __m512d, hi: &mut __m512d, x: __m512| {
            *lo = step(*lo, _mm512_cvtps_pd(_mm512_castps512_ps256(x)));
            *hi = step(*hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps::<1>(x)));
        };
        let fill = _mm512_set1_ps(init as f32);
        // (At most 15 lanes: the shift does not overflow.)
        let mask = ((1u32 << (inner % 16)) - 1) as __mmask16;
        for (o, v) in out.iter_mut().enumerate() {
            let row = &src[o * inner..(o + 1) * inner];
            let (mut lo, mut hi) = (_mm512_set1_pd(init), _mm512_set1_pd(init));
            let chunks = row.chunks_exact(16);
            let rest = chunks.remainder();
            for c in chunks {
                // SAFETY: `c` holds 16 values.
                fold(&mut lo, &mut hi, unsafe { _mm512_loadu_ps(c.as_ptr()) });
            }
            if !rest.is_empty() {
                // SAFETY: the mask's lanes are `rest`'s values; the others are not read.
                let x = unsafe { _mm512_mask_loadu_ps(fill, mask, rest.as_ptr()) };
                fold(&mut lo, &mut hi, x);
            }
            // Lanes i and i + 8, then i and i + 4, i + 2, i + 1: `combine_lanes`.
            let c = match OP {
                super::PRODUCT => _mm512_mul_pd(lo, hi),
                _ => _mm512_add_pd(lo, hi),
            };
            let (c0, c1) = (_mm512_castpd512_pd256(c), _mm512_extractf64x4_pd::<1>(c));
            let c = match OP {
                super::PRODUCT => _mm256_mul_pd(c0, c1),
                _ => _mm256_add_pd(c0, c1),
            };
            let comb2 = super::avx2::comb2::<OP>;
            let d = comb2(_mm256_castpd256_pd128(c), _mm256_extractf128_pd::<1>(c));
            *v = _mm_cvtsd_f64(comb2(d, _mm_unpackhi_pd(d, d)));
        }
    }

    /// `fold_f32` over whole groups of 16 values, two 8-wide accumulators.
    ///
    /// # Safety
    /// The CPU must support AVX-512 F; `x.len()` is a multiple of 16.
    #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")]
    pub unsafe fn fold_f32<const OP: u8>(acc: &mut [f64; 16], x: &[f32]) {
        let pa = acc.as_mut_ptr();
        // SAFETY: `acc` holds 16 values: 8 from pa and 8 from pa + 8.
        let (mut lo, mut hi) = unsafe { (_mm512_loadu_pd(pa), _mm512_loadu_pd(pa.add(8))) };
        for c in x.chunks_exact(16) {
            let p = c.as_ptr();
            // SAFETY: `c` holds 16 values: 8 from p and 8 from p + 8.
            let (u, v) = unsafe {
                (
                    _mm512_cvtps_pd(_mm256_loadu_ps(p)),
                    _mm512_cvtps_pd(_mm256_loadu_ps(p.add(8))),
                )
            };
            let step = |a: __m512d, v: __m512d| match OP {
                super::SUM_SQUARES => _mm512_add_pd(a, _mm512_mul_pd(v, v)),
                super::PRODUCT => _mm512_mul_pd(a, v),
                _ => _mm512_add_pd(a, v),
            };
            lo = step(lo, u);
            hi = step(hi, v);
        }
        // SAFETY: as the loads above.
        unsafe {
            _mm512_storeu_pd(pa, lo);
            _mm512_storeu_pd(pa.add(8), hi);
        }
    }

    /// Block sum with four 16-wide accumulators (64 lanes), folded as a tree, of the
    /// values `load` reads 16 at a time (widened to float32 exactly) and `widen` one by
    /// one in the tail: float32 itself, or float16/bfloat16 widened in registers (the
    /// same additions in the same order as widening into a buffer first).
    ///
    /// # Safety
    /// The CPU must support AVX-512 F/DQ; `load(p)` reads the 16 values from `p`.
    #[inline(always)]
    unsafe fn sum_loads<T: Copy>(
        x: &[T],
        load: impl Fn(*const T) -> __m512,
        widen: impl Fn(T) -> f32,
    ) -> f32 {
        let mut acc = [_mm512_setzero_ps(); 4];
        let chunks = x.chunks_exact(64);
        let rest = chunks.remainder();
        for c in chunks {
            let p = c.as_ptr();
            for (k, a) in acc.iter_mut().enumerate() {
                // `c` holds 64 values, so the 16 from p + 16k are in bounds.
                *a = _mm512_add_ps(*a, load(p.wrapping_add(16 * k)));
            }
        }
        let v = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
        let h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps::<1>(v));
        let s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        let mut s = _mm_cvtss_f32(s);
        for &r in rest {
            s += widen(r);
        }
        s
    }

    /// # Safety
    /// The CPU must support AVX-512 F/DQ.
    #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")]
    pub unsafe fn sum_f32(x: &[f32]) -> f32 {
        // SAFETY: `sum_loads` passes pointers to 16 values in bounds.
        unsafe { sum_loads(x, |p| _mm512_loadu_ps(p), |v| v) }
    }

    /// # Safety
    /// The CPU must support AVX-512 F/DQ.
    #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")]
    pub unsafe fn sum_f16(x: &[half::f16]) -> f32 {
        // SAFETY: `sum_loads` passes pointers to 16 values (32 bytes) in bounds.
        unsafe {
            sum_loads(
                x,
                |p| _mm512_cvtph_ps(_mm256_loadu_si256(p as *const __m256i)),
                |v| v.to_f32(),
            )
        }
    }

    /// # Safety
    /// The CPU must support AVX-512 F/DQ.
    #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")]
    pub unsafe fn sum_bf16(x: &[half::bf16]) -> f32 {
        // bfloat16 is the top half of a float32: zero-extend each to 32 bits and shift.
        // SAFETY: as above.
        unsafe {
            sum_loads(
                x,
                |p| {
                    let h = _mm256_loadu_si256(p as *const __m256i);
                    _mm512_castsi512_ps(_mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(h)))
                },
                |v| v.to_f32(),
            )
        }
    }

    /// Block sum with four 8-wide accumulators (32 lanes).
    ///
    /// # Safety
    /// The CPU must support AVX-512 F/DQ.
    #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")]
    pub unsafe fn sum_f64(x: &[f64]) -> f64 {
        let mut acc = [_mm512_setzero_pd(); 4];
        let chunks = x.chunks_exact(32);
        let rest = chunks.remainder();
        for c in chunks {
            let p = c.as_ptr();
            for (k, a) in acc.iter_mut().enumerate() {
                // SAFETY: `c` holds 32 values, so 8 values from p + 8k are in bounds.
                *a = _mm512_add_pd(*a, unsafe { _mm512_loadu_pd(p.add(8 * k)) });
            }
        }
        let v = _mm512_add_pd(_mm512_add_pd(acc[0], acc[1]), _mm512_add_pd(acc[2], acc[3]));
        let h = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd::<1>(v));
        let s = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd::<1>(h));
        let s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
        let mut s = _mm_cvtsd_f64(s);
        for &r in rest {
            s += r;
        }
        s
    }
}

/// NEON block sums (NEON is in aarch64's baseline): [`block_sum`]'s 32 lanes in 4-wide
/// (float32) or 2-wide (float64) registers, added in the same order and folded by the
/// same tree, so they give its bits. LLVM made 2-wide float32 pieces of the portable
/// loop there: half of NEON's width.
#[cfg(target_arch = "aarch64")]
mod neon {
    use std::arch::aarch64::*;

    /// `block_sum` of float32 values: lane k is lane k % 4 of register k / 4.
    #[target_feature(enable = "neon")]
    pub fn sum_f32(x: &[f32]) -> f32 {
        let chunks = x.chunks_exact(32);
        let rest = chunks.remainder();
        let mut acc = [vdupq_n_f32(0.0); 8];
        for c in chunks {
            for (r, a) in acc.iter_mut().enumerate() {
                // SAFETY: `c` holds 32 values, so the 4 from 4r are in bounds.
                *a = vaddq_f32(*a, unsafe { vld1q_f32(c.as_ptr().add(4 * r)) });
            }
        }
        // The tree: lanes k += k + w for w = 16, 8, 4 (whole registers), then 2 and 1.
        for w in [4, 2, 1] {
            for r in 0..w {
                acc[r] = vaddq_f32(acc[r], acc[r + w]);
            }
        }
        let pair = vadd_f32(vget_low_f32(acc[0]), vget_high_f32(acc[0]));
        let mut s = vget_lane_f32::<0>(pair) + vget_lane_f32::<1>(pair);
        for &v in rest {
            s += v;
        }
        s
    }

    /// `block_sum` of float64 values: lane k is lane k % 2 of register k / 2.
    #[target_feature(enable = "neon")]
    pub fn sum_f64(x: &[f64]) -> f64 {
        let chunks = x.chunks_exact(32);
        let rest = chunks.remainder();
        let mut acc = [vdupq_n_f64(0.0); 16];
        for c in chunks {
            for (r, a) in acc.iter_mut().enumerate() {
                // SAFETY: `c` holds 32 values, so the 2 from 2r are in bounds.
                *a = vaddq_f64(*a, unsafe { vld1q_f64(c.as_ptr().add(2 * r)) });
            }
        }
        // The tree: lanes k += k + w for w = 16, 8, 4, 2 (whole registers), then 1.
        for w in [8, 4, 2, 1] {
            for r in 0..w {
                acc[r] = vaddq_f64(acc[r], acc[r + w]);
            }
        }
        let mut s = vgetq_lane_f64::<0>(acc[0]) + vgetq_lane_f64::<1>(acc[0]);
        for &v in rest {
            s += v;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The NEON block sums give the portable `block_sum`'s bits: every length around
    /// the 32-value step up to a whole block, values of mixed magnitudes (whose sums
    /// round differently in another order), and the non-finite ones.
    #[cfg(target_arch = "aarch64")]
    #[test]
    fn neon_block_sums_equal_the_portable_block_sum() {
        for n in (0..=70).chain([95, 96, 97, 500, 1023, 1024]) {
            let x: Vec<f32> = (0..n)
                .map(|i| ((i * 7919) % 1000) as f32 * 0.37 - 150.0 + (i % 7) as f32 * 1e-3)
                .map(|v| if n % 5 == 0 { v * 1e20 } else { v })
                .collect();
            let portable = block_sum(&x, &|v| v);
            // SAFETY (each call): every aarch64 CPU has NEON.
            let got = unsafe { neon::sum_f32(&x) };
            assert_eq!(got.to_bits(), portable.to_bits(), "f32 n={n}");
            let xd: Vec<f64> = x.iter().map(|&v| v as f64 * 1.000_000_1).collect();
            let portable = block_sum(&xd, &|v| v);
            let got = unsafe { neon::sum_f64(&xd) };
            assert_eq!(got.to_bits(), portable.to_bits(), "f64 n={n}");
        }
        let mut x = vec![1.0f32; 40];
        x[33] = f32::INFINITY;
        assert_eq!(unsafe { neon::sum_f32(&x) }, f32::INFINITY);
        x[3] = f32::NAN;
        assert!(unsafe { neon::sum_f32(&x) }.is_nan());
    }

    fn data(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919) % 1000) as f32 * 0.001 - 0.3)
            .collect()
    }

    /// The vector folds of squares (this CPU's level) give the portable loop's lanes bit
    /// for bit: lengths around the 16-value group, a starting `acc` carried through,
    /// magnitudes whose squares need float64 (1e30, 1e-30) and the non-finite values.
    #[test]
    fn folded_lanes_equal_the_portable_loop() {
        check_fold::<SUM_SQUARES>();
        check_fold::<PRODUCT>();
        check_fold::<SUM>();
    }

    fn check_fold<const OP: u8>() {
        for n in [0, 1, 15, 16, 17, 31, 32, 33, 1000, 1025] {
            let mut x: Vec<f32> = (0..n)
                .map(|i| ((i * 7919) % 1000) as f32 * 0.37 - 150.0)
                .collect();
            for (i, v) in [1e30, 1e-30, f32::INFINITY, f32::NAN]
                .into_iter()
                .enumerate()
            {
                if let Some(slot) = x.get_mut(3 * i + 1) {
                    *slot = v;
                }
            }
            let start: [f64; 16] = std::array::from_fn(|k| k as f64 * 0.25);
            let (mut got, mut want) = (start, start);
            fold_f32::<OP>(&mut got, &x);
            // The reference: each lane's values in order, one operation at a time.
            for (i, &v) in x.iter().enumerate() {
                let (a, v) = (want[i % 16], v as f64);
                want[i % 16] = match OP {
                    SUM_SQUARES => a + v * v,
                    PRODUCT => a * v,
                    _ => a + v,
                };
            }
            let bits = |a: [f64; 16]| a.map(f64::to_bits);
            assert_eq!(bits(got), bits(want), "op {OP} n {n}");
        }
    }

    /// The register-widening half sums equal widening into a buffer and summing it (the
    /// same additions in the same order), on every length around the 64-value step and
    /// with values that round differently in float32 (large and tiny magnitudes, and
    /// the non-finite ones); the exact sum checks the buffer path itself.
    #[test]
    fn half_block_sums_equal_the_widened_sum() {
        for n in [0, 1, 15, 16, 63, 64, 65, 127, 128, 200, 1000, 1023, 1024] {
            let x: Vec<f32> = (0..n)
                .map(|i| ((i * 7919) % 1000) as f32 * 0.37 - 150.0 + (i % 7) as f32 * 1e-3)
                .collect();
            let h: Vec<half::f16> = x.iter().map(|&v| half::f16::from_f32(v)).collect();
            let b: Vec<half::bf16> = x.iter().map(|&v| half::bf16::from_f32(v)).collect();
            let widened_f16: Vec<f32> = h.iter().map(|v| v.to_f32()).collect();
            let widened_bf16: Vec<f32> = b.iter().map(|v| v.to_f32()).collect();
            assert_eq!(
                sum_f16_block(&h).to_bits(),
                sum_f32(&widened_f16).to_bits(),
                "{n}"
            );
            assert_eq!(
                sum_bf16_block(&b).to_bits(),
                sum_f32(&widened_bf16).to_bits(),
                "{n}"
            );
            assert_eq!(
                sum_widened(&h).to_bits(),
                sum_f32(&widened_f16).to_bits(),
                "{n}"
            );
            let exact: f64 = widened_f16.iter().map(|&v| v as f64).sum();
            let tol = 1e-6 * widened_f16.iter().map(|&v| v.abs() as f64).sum::<f64>();
            assert!(
                (sum_f16_block(&h) as f64 - exact).abs() <= tol.max(1e-6),
                "{n}"
            );
        }
        let special = [
            half::f16::INFINITY,
            half::f16::from_f32(1.0),
            half::f16::NAN,
        ];
        assert!(sum_f16_block(&special).is_nan());
        assert_eq!(sum_f16_block(&special[..2]), f32::INFINITY);
        let special = [half::bf16::NEG_INFINITY, half::bf16::from_f32(1.0)];
        assert_eq!(sum_bf16_block(&special), f32::NEG_INFINITY);
    }

    #[test]
    fn sums_match_f64_on_every_block_shape() {
        for n in [
            0,
            1,
            15,
            16,
            17,
            31,
            33,
            1023,
            1024,
            1025,
            5000,
            70_000,
            1 << 20,
        ] {
            let x = data(n);
            let exact: f64 = x.iter().map(|&v| v as f64).sum();
            let tol = 1e-6 * x.iter().map(|&v| v.abs() as f64).sum::<f64>() + 1e-6;
            assert!((sum_f32(&x) as f64 - exact).abs() <= tol, "n={n}");
            let xd: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            assert!((sum_f64(&xd) - exact).abs() <= 1e-9 * tol.max(1.0), "n={n}");
            let portable = cascade(&x, |c| block_sum(c, &|v| v));
            assert!((portable as f64 - exact).abs() <= tol, "n={n}");
            #[cfg(target_arch = "x86_64")]
            if super::super::math::hardware_capability() >= super::super::math::Capability::Avx512 {
                // SAFETY: AVX-512 is present.
                let v = cascade(&x, |c| unsafe { avx512::sum_f32(c) });
                assert!((v as f64 - exact).abs() <= tol, "avx512 n={n}");
                // SAFETY: as above.
                let v = cascade(&xd, |c| unsafe { avx512::sum_f64(c) });
                assert!((v - exact).abs() <= 1e-9 * tol.max(1.0), "avx512 n={n}");
            }
        }
    }

    #[test]
    fn arg_extremes_match_a_plain_scan() {
        for n in [1, 7, 8, 32, 33, 100, 4099] {
            let x = data(n);
            for want_max in [true, false] {
                assert_eq!(
                    arg_extreme_f32(&x, want_max),
                    arg_extreme_portable(&x, want_max),
                    "n={n}"
                );
            }
        }
        assert_eq!(
            arg_extreme_f32(&[-0.5, f32::INFINITY, 2.0], true),
            (f32::INFINITY, 1)
        );
        assert_eq!(
            arg_extreme_f32(&[0.5, f32::NEG_INFINITY], false),
            (f32::NEG_INFINITY, 1)
        );
        let mut x = data(100);
        x[70] = f32::NAN;
        x[90] = f32::NAN;
        let (v, i) = arg_extreme_f32(&x, true);
        assert!(v.is_nan() && i == 70);
        x[70] = 0.0;
        let (v, i) = arg_extreme_f32(&x[..95], false);
        assert!(v.is_nan() && i == 90);
    }
}
