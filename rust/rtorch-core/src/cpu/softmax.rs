//! Softmax-family kernels: softmax / log_softmax forward and backward, row
//! log-sum-exp, over the last dim (contiguous rows) or a middle dim (rows of stride
//! `inner`, no transposing copy).
//!
//! Each kernel is written once, generic over a small vector-unit trait (`Simd`), and
//! instantiated three times: AVX-512 (16 f32 lanes), AVX2 + FMA (8 lanes) and portable
//! scalar code; `math::capability()` picks one per process. A row is one fused pass
//! for the max, one for exp and its sum (written out for softmax), one to scale.
//!
//! Parallelism: rows (or column strips) are split across the pool only above
//! `GRAIN` elements; every output element is computed by exactly one task in a fixed
//! order, so results do not depend on the thread count.

use super::math::Capability;
use super::reduce_simd::{Carry, SUM_BLOCK};
use super::{chunk_of, SendPtr, GRAIN};

/// The element types the kernels compute in.
pub trait Float:
    Copy
    + Send
    + Sync
    + Default
    + PartialOrd
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + 'static
{
    const NEG_INF: Self;
    const ZERO: Self;
    const ONE: Self;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    /// `ln` of each value of a group of rows' sums (`log_rows`).
    #[inline(always)]
    fn ln_group(v: &mut [Self; GROUP]) {
        v.iter_mut().for_each(|v| *v = v.ln());
    }
    fn from_wide(v: f64) -> Self;
    fn to_wide(self) -> f64;
}

impl Float for f32 {
    const NEG_INF: f32 = f32::NEG_INFINITY;
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    #[inline(always)]
    fn exp(self) -> f32 {
        super::math::exp_f32(self)
    }
    #[inline(always)]
    fn ln(self) -> f32 {
        f32::ln(self)
    }
    /// Vectorised (`math::log_f32`, within 2 ulp, the same bits at every level): a call
    /// to libm's `logf` per row was a third of log_softmax's time on rows of 16.
    #[inline(always)]
    fn ln_group(v: &mut [f32; GROUP]) {
        v.iter_mut().for_each(|v| *v = super::math::log_f32(*v));
    }
    #[inline(always)]
    fn from_wide(v: f64) -> f32 {
        v as f32
    }
    #[inline(always)]
    fn to_wide(self) -> f64 {
        self as f64
    }
}

impl Float for f64 {
    const NEG_INF: f64 = f64::NEG_INFINITY;
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    #[inline(always)]
    fn exp(self) -> f64 {
        f64::exp(self)
    }
    #[inline(always)]
    fn ln(self) -> f64 {
        f64::ln(self)
    }
    #[inline(always)]
    fn from_wide(v: f64) -> f64 {
        v
    }
    #[inline(always)]
    fn to_wide(self) -> f64 {
        self
    }
}

/// A vector unit holding `LANES` values of `E`.
///
/// # Safety
/// Implementations use instructions of one SIMD level; their methods may only run
/// inside a function compiled for (and on a CPU with) that level. Pointers passed to
/// `load`/`store` must be valid for `LANES` elements, to the `_part` forms for `len`.
pub(crate) unsafe trait Simd: Copy {
    type E: Float;
    type V: Copy;
    const LANES: usize;
    unsafe fn splat(self, x: Self::E) -> Self::V;
    unsafe fn load(self, p: *const Self::E) -> Self::V;
    unsafe fn store(self, p: *mut Self::E, v: Self::V);
    /// Loads `len < LANES` values; the other lanes hold `fill`.
    unsafe fn load_part(self, p: *const Self::E, len: usize, fill: Self::E) -> Self::V;
    /// Stores the first `len < LANES` lanes.
    unsafe fn store_part(self, p: *mut Self::E, len: usize, v: Self::V);
    unsafe fn add(self, a: Self::V, b: Self::V) -> Self::V;
    unsafe fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    unsafe fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    unsafe fn max(self, a: Self::V, b: Self::V) -> Self::V;
    unsafe fn exp(self, a: Self::V) -> Self::V;
    /// `exp` of four vectors: the loops over rows take four independent exponentials
    /// per step, whose long dependency chains the core then overlaps.
    #[inline(always)]
    unsafe fn exp4(self, v: [Self::V; 4]) -> [Self::V; 4] {
        // SAFETY: as `exp`.
        v.map(|a| unsafe { self.exp(a) })
    }
    unsafe fn hsum(self, a: Self::V) -> Self::E;
    unsafe fn hmax(self, a: Self::V) -> Self::E;
    /// Asks for the cache line holding `p` ahead of use: no access is made and no fault
    /// raised, whatever the address.
    #[inline(always)]
    unsafe fn prefetch(self, _p: *const Self::E) {}
}

/// Plain scalar code (one lane).
#[derive(Clone, Copy)]
pub(crate) struct Scalar<E>(std::marker::PhantomData<E>);

impl<E> Scalar<E> {
    pub(crate) fn new() -> Self {
        Scalar(std::marker::PhantomData)
    }
}

// SAFETY: scalar code runs on every CPU; pointers are used within the stated bounds.
unsafe impl<E: Float> Simd for Scalar<E> {
    type E = E;
    type V = E;
    const LANES: usize = 1;
    #[inline(always)]
    unsafe fn splat(self, x: E) -> E {
        x
    }
    #[inline(always)]
    unsafe fn load(self, p: *const E) -> E {
        // SAFETY: the caller guarantees one readable element.
        unsafe { *p }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut E, v: E) {
        // SAFETY: the caller guarantees one writable element.
        unsafe { *p = v }
    }
    #[inline(always)]
    unsafe fn load_part(self, _p: *const E, _len: usize, fill: E) -> E {
        fill
    }
    #[inline(always)]
    unsafe fn store_part(self, _p: *mut E, _len: usize, _v: E) {}
    #[inline(always)]
    unsafe fn add(self, a: E, b: E) -> E {
        a + b
    }
    #[inline(always)]
    unsafe fn sub(self, a: E, b: E) -> E {
        a - b
    }
    #[inline(always)]
    unsafe fn mul(self, a: E, b: E) -> E {
        a * b
    }
    #[inline(always)]
    unsafe fn max(self, a: E, b: E) -> E {
        // NaN in `b` is skipped; it still reaches the output through exp and the sum.
        if b > a {
            b
        } else {
            a
        }
    }
    #[inline(always)]
    unsafe fn exp(self, a: E) -> E {
        a.exp()
    }
    #[inline(always)]
    unsafe fn hsum(self, a: E) -> E {
        a
    }
    #[inline(always)]
    unsafe fn hmax(self, a: E) -> E {
        a
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Simd;
    use crate::cpu::math::vexp;
    use std::arch::x86_64::*;

    /// AVX-512 F (+DQ/BW/VL), 16 f32 lanes.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx512;

    // SAFETY: only used inside functions compiled with the AVX-512 features, which
    // run only when `capability()` reports them; pointer bounds are the caller's.
    unsafe impl Simd for Avx512 {
        type E = f32;
        type V = __m512;
        const LANES: usize = 16;
        #[inline(always)]
        unsafe fn splat(self, x: f32) -> __m512 {
            unsafe { _mm512_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(self, p: *const f32) -> __m512 {
            unsafe { _mm512_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32, v: __m512) {
            unsafe { _mm512_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn load_part(self, p: *const f32, len: usize, fill: f32) -> __m512 {
            let m = ((1u32 << len) - 1) as __mmask16;
            // SAFETY: masked-off lanes are not read.
            unsafe { _mm512_mask_loadu_ps(_mm512_set1_ps(fill), m, p) }
        }
        #[inline(always)]
        unsafe fn store_part(self, p: *mut f32, len: usize, v: __m512) {
            let m = ((1u32 << len) - 1) as __mmask16;
            // SAFETY: masked-off lanes are not written.
            unsafe { _mm512_mask_storeu_ps(p, m, v) }
        }
        #[inline(always)]
        unsafe fn add(self, a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_add_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn sub(self, a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_sub_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn mul(self, a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_mul_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn max(self, a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_max_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn exp(self, a: __m512) -> __m512 {
            unsafe { vexp::exp512(a) }
        }
        #[inline(always)]
        unsafe fn exp4(self, v: [__m512; 4]) -> [__m512; 4] {
            unsafe { vexp::exp512x4(v) }
        }
        #[inline(always)]
        unsafe fn hsum(self, a: __m512) -> f32 {
            unsafe {
                let lo = _mm512_castps512_ps256(a);
                let hi = _mm512_extractf32x8_ps::<1>(a);
                hsum256(_mm256_add_ps(lo, hi))
            }
        }
        #[inline(always)]
        unsafe fn hmax(self, a: __m512) -> f32 {
            unsafe {
                let lo = _mm512_castps512_ps256(a);
                let hi = _mm512_extractf32x8_ps::<1>(a);
                hmax256(_mm256_max_ps(lo, hi))
            }
        }
        #[inline(always)]
        unsafe fn prefetch(self, p: *const f32) {
            // SAFETY: a prefetch reads nothing architecturally and never faults.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
        }
    }

    #[inline(always)]
    unsafe fn hsum256(v: __m256) -> f32 {
        unsafe {
            let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_movehdup_ps(s));
            _mm_cvtss_f32(s)
        }
    }

    #[inline(always)]
    unsafe fn hmax256(v: __m256) -> f32 {
        unsafe {
            let s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
            let s = _mm_max_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_max_ss(s, _mm_movehdup_ps(s));
            _mm_cvtss_f32(s)
        }
    }

    /// AVX2 + FMA, 8 f32 lanes.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2;

    // SAFETY: only used inside functions compiled with AVX2 + FMA, which run only when
    // `capability()` reports them; pointer bounds are the caller's.
    unsafe impl Simd for Avx2 {
        type E = f32;
        type V = __m256;
        const LANES: usize = 8;
        #[inline(always)]
        unsafe fn splat(self, x: f32) -> __m256 {
            unsafe { _mm256_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(self, p: *const f32) -> __m256 {
            unsafe { _mm256_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32, v: __m256) {
            unsafe { _mm256_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn load_part(self, p: *const f32, len: usize, fill: f32) -> __m256 {
            let mut buf = [fill; 8];
            // SAFETY: `len < 8` readable elements at p; buf has room for them.
            unsafe {
                std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), len);
                _mm256_loadu_ps(buf.as_ptr())
            }
        }
        #[inline(always)]
        unsafe fn store_part(self, p: *mut f32, len: usize, v: __m256) {
            let mut buf = [0f32; 8];
            // SAFETY: `len < 8` writable elements at p.
            unsafe {
                _mm256_storeu_ps(buf.as_mut_ptr(), v);
                std::ptr::copy_nonoverlapping(buf.as_ptr(), p, len);
            }
        }
        #[inline(always)]
        unsafe fn add(self, a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_add_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn sub(self, a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_sub_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn mul(self, a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_mul_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn max(self, a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_max_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn exp(self, a: __m256) -> __m256 {
            unsafe { vexp::exp256(a) }
        }
        #[inline(always)]
        unsafe fn exp4(self, v: [__m256; 4]) -> [__m256; 4] {
            unsafe { vexp::exp256x4(v) }
        }
        #[inline(always)]
        unsafe fn hsum(self, a: __m256) -> f32 {
            unsafe { hsum256(a) }
        }
        #[inline(always)]
        unsafe fn hmax(self, a: __m256) -> f32 {
            unsafe { hmax256(a) }
        }
        #[inline(always)]
        unsafe fn prefetch(self, p: *const f32) {
            // SAFETY: a prefetch reads nothing architecturally and never faults.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
        }
    }
}

// ----- generic row pieces (inlined into each instantiation) -----

/// Loads lanes `[i, i + len)` of `p`, `len <= LANES`.
#[inline(always)]
unsafe fn ld<S: Simd>(s: S, p: *const S::E, len: usize, fill: S::E) -> S::V {
    // SAFETY: the caller guarantees `len` readable elements at p.
    unsafe {
        if len == S::LANES {
            s.load(p)
        } else {
            s.load_part(p, len, fill)
        }
    }
}

/// Stores the first `len <= LANES` lanes of `v` at `p`.
#[inline(always)]
unsafe fn st<S: Simd>(s: S, p: *mut S::E, len: usize, v: S::V) {
    // SAFETY: the caller guarantees `len` writable elements at p.
    unsafe {
        if len == S::LANES {
            s.store(p, v)
        } else {
            s.store_part(p, len, v)
        }
    }
}

/// Max of `n` values at `x` (-inf when empty).
#[inline(always)]
pub(crate) unsafe fn row_max<S: Simd>(s: S, x: *const S::E, n: usize) -> S::E {
    let l = S::LANES;
    // SAFETY: every load stays inside [x, x + n).
    unsafe {
        let ninf = s.splat(S::E::NEG_INF);
        let (mut a0, mut a1, mut a2, mut a3) = (ninf, ninf, ninf, ninf);
        let mut i = 0;
        while i + 4 * l <= n {
            a0 = s.max(a0, s.load(x.add(i)));
            a1 = s.max(a1, s.load(x.add(i + l)));
            a2 = s.max(a2, s.load(x.add(i + 2 * l)));
            a3 = s.max(a3, s.load(x.add(i + 3 * l)));
            i += 4 * l;
        }
        while i < n {
            let len = l.min(n - i);
            a0 = s.max(a0, ld(s, x.add(i), len, S::E::NEG_INF));
            i += len;
        }
        s.hmax(s.max(s.max(a0, a1), s.max(a2, a3)))
    }
}

/// Sum of `exp(x - m)` over one block of `n <= SUM_BLOCK` values, written to `o`
/// when `STORE`.
#[inline(always)]
unsafe fn exp_sum_block<S: Simd, const STORE: bool>(
    s: S,
    x: *const S::E,
    o: *mut S::E,
    n: usize,
    m: S::E,
    pf: *const S::E,
) -> S::E {
    let l = S::LANES;
    // SAFETY: loads and stores stay inside [0, n) of x and o.
    unsafe {
        let mv = s.splat(m);
        let zero = s.splat(S::E::ZERO);
        let mut acc = [zero; 4];
        let mut i = 0;
        // Floats per cache line, for the prefetches of the next row (`pf`, when not
        // null): its first pass would otherwise wait on memory after this row's
        // exponentials, which keep the core busy while the lines arrive.
        let line = 64 / std::mem::size_of::<S::E>();
        while i + 4 * l <= n {
            if !pf.is_null() {
                let mut k = 0;
                while k < 4 * l {
                    s.prefetch(pf.wrapping_add(i + k));
                    k += line;
                }
            }
            let v = [0, 1, 2, 3].map(|k| s.sub(s.load(x.add(i + k * l)), mv));
            let e = s.exp4(v);
            for (k, (a, e)) in acc.iter_mut().zip(e).enumerate() {
                if STORE {
                    s.store(o.add(i + k * l), e);
                }
                *a = s.add(*a, e);
            }
            i += 4 * l;
        }
        while i < n {
            let len = l.min(n - i);
            // Padding lanes hold -inf: exp(-inf - m) = 0 adds nothing.
            let e = s.exp(s.sub(ld(s, x.add(i), len, S::E::NEG_INF), mv));
            if STORE {
                st(s, o.add(i), len, e);
            }
            acc[0] = s.add(acc[0], e);
            i += len;
        }
        s.hsum(s.add(s.add(acc[0], acc[1]), s.add(acc[2], acc[3])))
    }
}

/// Sum of `exp(x - m)` over a row (pairwise over blocks), written to `o` when `STORE`.
#[inline(always)]
unsafe fn exp_sum<S: Simd, const STORE: bool>(
    s: S,
    x: &[S::E],
    o: *mut S::E,
    m: S::E,
    pf: *const S::E,
) -> S::E {
    // Blocks summed as `cascade` does, here: a closure would lose the instantiation's
    // target features (logsumexp over rows of 8192 took 2.3x PyTorch's time).
    let mut carry = Carry::default();
    let mut off = 0;
    while off < x.len() {
        let len = SUM_BLOCK.min(x.len() - off);
        let pf = if pf.is_null() {
            pf
        } else {
            pf.wrapping_add(off)
        };
        // SAFETY: [off, off + len) lies inside x and o (x's length).
        carry.push(unsafe {
            exp_sum_block::<S, STORE>(s, x.as_ptr().add(off), o.add(off), len, m, pf)
        });
        off += len;
    }
    carry.total()
}

/// Sum of `a[i] * b[i]` (or of `a[i]` when `b` is None) over one block.
#[inline(always)]
unsafe fn dot_block<S: Simd>(s: S, a: *const S::E, b: Option<*const S::E>, n: usize) -> S::E {
    let l = S::LANES;
    // SAFETY: loads stay inside [0, n) of a and b.
    unsafe {
        let zero = s.splat(S::E::ZERO);
        let (mut a0, mut a1) = (zero, zero);
        let mut i = 0;
        while i + 2 * l <= n {
            let (mut v0, mut v1) = (s.load(a.add(i)), s.load(a.add(i + l)));
            if let Some(b) = b {
                v0 = s.mul(v0, s.load(b.add(i)));
                v1 = s.mul(v1, s.load(b.add(i + l)));
            }
            a0 = s.add(a0, v0);
            a1 = s.add(a1, v1);
            i += 2 * l;
        }
        while i < n {
            let len = l.min(n - i);
            let mut v = ld(s, a.add(i), len, S::E::ZERO);
            if let Some(b) = b {
                v = s.mul(v, ld(s, b.add(i), len, S::E::ZERO));
            }
            a0 = s.add(a0, v);
            i += len;
        }
        s.hsum(s.add(a0, a1))
    }
}

/// Pairwise sum of `a * b` (or of `a`) over a row.
#[inline(always)]
unsafe fn dot<S: Simd>(s: S, a: &[S::E], b: Option<&[S::E]>) -> S::E {
    // Blocks summed here, as in `exp_sum`.
    let mut carry = Carry::default();
    let mut off = 0;
    while off < a.len() {
        let len = SUM_BLOCK.min(a.len() - off);
        let bp = b.map(|b| b.as_ptr().wrapping_add(off));
        // SAFETY: [off, off + len) lies inside a and b (of a's length).
        carry.push(unsafe { dot_block(s, a.as_ptr().add(off), bp, len) });
        off += len;
    }
    carry.total()
}

/// Rows per group of `log_rows`, and the longest row it takes.
const GROUP: usize = 16;
const GROUP_ROW: usize = 256;

/// log_softmax of short rows (at most `GROUP_ROW`) in groups of `GROUP`: each row's
/// maximum and sum of exponentials, then the logarithms of the group's sums at once,
/// then the rows' outputs (`softmax_row`'s arithmetic, but for that vector logarithm).
#[inline(always)]
unsafe fn log_rows<S: Simd>(s: S, x: &[S::E], o: &mut [S::E], n: usize) {
    let step = GROUP * n;
    for (xg, og) in x.chunks(step).zip(o.chunks_mut(step)) {
        let rows = (xg.len() / n).min(og.len() / n);
        let mut ms = [S::E::ZERO; GROUP];
        let mut ls = [S::E::ONE; GROUP];
        for r in 0..rows {
            let xr = &xg[r * n..(r + 1) * n];
            // SAFETY: the pieces read only inside the row (nothing is stored).
            unsafe {
                ms[r] = row_max(s, xr.as_ptr(), n);
                ls[r] = exp_sum::<S, false>(s, xr, og.as_mut_ptr(), ms[r], std::ptr::null());
            }
        }
        S::E::ln_group(&mut ls);
        for r in 0..rows {
            let (xr, or) = (&xg[r * n..(r + 1) * n], &mut og[r * n..(r + 1) * n]);
            // SAFETY: inside the row.
            unsafe { log_out(s, xr, or, ms[r], ls[r]) };
        }
    }
}

/// `o = x - m - ls` over one row (log_softmax's output).
#[inline(always)]
unsafe fn log_out<S: Simd>(s: S, x: &[S::E], o: &mut [S::E], m: S::E, ls: S::E) {
    let n = x.len().min(o.len());
    let (xp, op, l) = (x.as_ptr(), o.as_mut_ptr(), S::LANES);
    let (mv, lv) = (s.splat(m), s.splat(ls));
    let mut i = 0;
    while i < n {
        let len = l.min(n - i);
        // SAFETY: [i, i + len) lies inside both rows.
        unsafe {
            let v = s.sub(s.sub(ld(s, xp.add(i), len, S::E::ZERO), mv), lv);
            st(s, op.add(i), len, v);
        }
        i += len;
    }
}

/// One row of softmax (`LOG = false`) or log_softmax; `next` (or null) is the row that
/// comes after it, prefetched meanwhile.
#[inline(always)]
unsafe fn softmax_row<S: Simd, const LOG: bool>(
    s: S,
    x: &[S::E],
    o: &mut [S::E],
    next: *const S::E,
) {
    let n = x.len().min(o.len());
    let (x, o) = (&x[..n], &mut o[..n]);
    let l = S::LANES;
    // SAFETY: all accesses stay inside [0, n) of x and o.
    unsafe {
        let m = row_max(s, x.as_ptr(), n);
        let op = o.as_mut_ptr();
        if LOG {
            let ls = exp_sum::<S, false>(s, x, op, m, next).ln();
            log_out(s, x, o, m, ls);
        } else {
            let inv = s.splat(S::E::ONE / exp_sum::<S, true>(s, x, op, m, next));
            let mut i = 0;
            while i < n {
                let len = l.min(n - i);
                st(
                    s,
                    op.add(i),
                    len,
                    s.mul(ld(s, op.add(i), len, S::E::ZERO), inv),
                );
                i += len;
            }
        }
    }
}

/// One row of softmax's backward (`gx = y (g - sum(g y))`) or log_softmax's
/// (`gx = g - exp(y) sum(g)`).
#[inline(always)]
unsafe fn backward_row<S: Simd, const LOG: bool>(s: S, g: &[S::E], y: &[S::E], gx: &mut [S::E]) {
    let n = g.len().min(y.len()).min(gx.len());
    let (g, y) = (&g[..n], &y[..n]);
    let l = S::LANES;
    // SAFETY: all accesses stay inside [0, n) of g, y and gx.
    unsafe {
        let (gp, yp, op) = (g.as_ptr(), y.as_ptr(), gx.as_mut_ptr());
        let z = S::E::ZERO;
        let mut i = 0;
        if LOG {
            let sv = s.splat(dot(s, g, None));
            while i < n {
                let len = l.min(n - i);
                let e = s.exp(ld(s, yp.add(i), len, z));
                let v = s.sub(ld(s, gp.add(i), len, z), s.mul(e, sv));
                st(s, op.add(i), len, v);
                i += len;
            }
        } else {
            let sv = s.splat(dot(s, g, Some(y)));
            while i < n {
                let len = l.min(n - i);
                let yv = ld(s, yp.add(i), len, z);
                let v = s.mul(yv, s.sub(ld(s, gp.add(i), len, z), sv));
                st(s, op.add(i), len, v);
                i += len;
            }
        }
    }
}

/// `o = exp(x - m) * a` over one row.
#[inline(always)]
unsafe fn exp_scale_row<S: Simd>(s: S, x: &[S::E], o: &mut [S::E], m: S::E, a: S::E) {
    let n = x.len().min(o.len());
    let l = S::LANES;
    // SAFETY: accesses stay inside [0, n) of x and o.
    unsafe {
        let (mv, av) = (s.splat(m), s.splat(a));
        let (xp, op) = (x.as_ptr(), o.as_mut_ptr());
        let mut i = 0;
        while i < n {
            let len = l.min(n - i);
            let e = s.exp(s.sub(ld(s, xp.add(i), len, S::E::ZERO), mv));
            st(s, op.add(i), len, s.mul(e, av));
            i += len;
        }
    }
}

/// Columns a middle-dim task handles at once (per-column max and sum live here).
const COLS: usize = 64;

/// Softmax over `n` rows of stride `inner` for the `w <= COLS` columns at `x`/`o`.
#[inline(always)]
unsafe fn softmax_cols<S: Simd, const LOG: bool>(
    s: S,
    x: *const S::E,
    o: *mut S::E,
    n: usize,
    inner: usize,
    w: usize,
) {
    let l = S::LANES;
    let mut mb = [S::E::NEG_INF; COLS];
    let mut sb = [S::E::ZERO; COLS];
    let z = S::E::ZERO;
    // SAFETY: element (k, j) is at k * inner + j with k < n, j < w <= inner: inside
    // the block the caller handed over; mb/sb hold COLS >= w values.
    unsafe {
        let (mp, sp) = (mb.as_mut_ptr(), sb.as_mut_ptr());
        for k in 0..n {
            let r = x.add(k * inner);
            let mut j = 0;
            while j < w {
                let len = l.min(w - j);
                let v = s.max(ld(s, mp.add(j), len, z), ld(s, r.add(j), len, z));
                st(s, mp.add(j), len, v);
                j += len;
            }
        }
        for k in 0..n {
            let (r, ro) = (x.add(k * inner), o.add(k * inner));
            let mut j = 0;
            while j < w {
                let len = l.min(w - j);
                let e = s.exp(s.sub(ld(s, r.add(j), len, z), ld(s, mp.add(j), len, z)));
                if !LOG {
                    st(s, ro.add(j), len, e);
                }
                st(s, sp.add(j), len, s.add(ld(s, sp.add(j), len, z), e));
                j += len;
            }
        }
        for v in sb[..w].iter_mut() {
            *v = if LOG { v.ln() } else { S::E::ONE / *v };
        }
        let sp = sb.as_ptr();
        for k in 0..n {
            let (r, ro) = (x.add(k * inner), o.add(k * inner));
            let mut j = 0;
            while j < w {
                let len = l.min(w - j);
                let sv = ld(s, sp.add(j), len, z);
                let v = if LOG {
                    let d = s.sub(ld(s, r.add(j), len, z), ld(s, mb.as_ptr().add(j), len, z));
                    s.sub(d, sv)
                } else {
                    s.mul(ld(s, ro.add(j), len, z), sv)
                };
                st(s, ro.add(j), len, v);
                j += len;
            }
        }
    }
}

/// Backward over `n` rows of stride `inner` for `w <= COLS` columns.
#[inline(always)]
unsafe fn backward_cols<S: Simd, const LOG: bool>(
    s: S,
    g: *const S::E,
    y: *const S::E,
    o: *mut S::E,
    n: usize,
    inner: usize,
    w: usize,
) {
    let l = S::LANES;
    let mut sb = [S::E::ZERO; COLS];
    let z = S::E::ZERO;
    // SAFETY: as in `softmax_cols`.
    unsafe {
        let sp = sb.as_mut_ptr();
        for k in 0..n {
            let (gr, yr) = (g.add(k * inner), y.add(k * inner));
            let mut j = 0;
            while j < w {
                let len = l.min(w - j);
                let mut v = ld(s, gr.add(j), len, z);
                if !LOG {
                    v = s.mul(v, ld(s, yr.add(j), len, z));
                }
                st(s, sp.add(j), len, s.add(ld(s, sp.add(j), len, z), v));
                j += len;
            }
        }
        for k in 0..n {
            let (gr, yr, or) = (g.add(k * inner), y.add(k * inner), o.add(k * inner));
            let mut j = 0;
            while j < w {
                let len = l.min(w - j);
                let (gv, yv, sv) = (
                    ld(s, gr.add(j), len, z),
                    ld(s, yr.add(j), len, z),
                    ld(s, sp.add(j), len, z),
                );
                let v = if LOG {
                    s.sub(gv, s.mul(s.exp(yv), sv))
                } else {
                    s.mul(yv, s.sub(gv, sv))
                };
                st(s, or.add(j), len, v);
                j += len;
            }
        }
    }
}

/// `out[j] = ln(sum_k exp(x[k, j]))` for `w <= COLS` columns (max-shifted).
#[inline(always)]
unsafe fn lse_cols<S: Simd>(
    s: S,
    x: *const S::E,
    out: *mut S::E,
    n: usize,
    inner: usize,
    w: usize,
) {
    let l = S::LANES;
    let mut mb = [S::E::NEG_INF; COLS];
    let mut sb = [S::E::ZERO; COLS];
    let z = S::E::ZERO;
    // SAFETY: as in `softmax_cols`; `out` holds w values.
    unsafe {
        let (mp, sp) = (mb.as_mut_ptr(), sb.as_mut_ptr());
        for k in 0..n {
            let r = x.add(k * inner);
            let mut j = 0;
            while j < w {
                let len = l.min(w - j);
                let v = s.max(ld(s, mp.add(j), len, z), ld(s, r.add(j), len, z));
                st(s, mp.add(j), len, v);
                j += len;
            }
        }
        for v in mb[..w].iter_mut() {
            // An all -inf column gives -inf (not NaN), as logsumexp does.
            if *v == S::E::NEG_INF {
                *v = S::E::ZERO;
            }
        }
        let mp = mb.as_ptr();
        for k in 0..n {
            let r = x.add(k * inner);
            let mut j = 0;
            while j < w {
                let len = l.min(w - j);
                let e = s.exp(s.sub(ld(s, r.add(j), len, z), ld(s, mp.add(j), len, z)));
                st(s, sp.add(j), len, s.add(ld(s, sp.add(j), len, z), e));
                j += len;
            }
        }
        for j in 0..w {
            *out.add(j) = mb[j] + sb[j].ln();
        }
    }
}

/// ln(sum(exp(x))) of one contiguous row; an all -inf row gives -inf.
#[inline(always)]
unsafe fn lse_row<S: Simd>(s: S, x: &[S::E]) -> S::E {
    // SAFETY: the pieces read only inside x.
    unsafe {
        let mut m = row_max(s, x.as_ptr(), x.len());
        if m == S::E::NEG_INF {
            m = S::E::ZERO;
        }
        m + exp_sum::<S, false>(s, x, std::ptr::null_mut(), m, std::ptr::null()).ln()
    }
}

// ----- instantiations -----

macro_rules! instantiate {
    ($m:ident, $E:ty, $S:expr, $($feat:tt)*) => {
        mod $m {
            #[allow(unused_imports)]
            use super::*;
            $($feat)*
            pub(crate) unsafe fn rows<const LOG: bool>(x: &[$E], o: &mut [$E], n: usize) {
                if LOG && (1..=GROUP_ROW).contains(&n) {
                    // SAFETY: the row functions stay inside their rows.
                    return unsafe { log_rows($S, x, o, n) };
                }
                let rows = x.chunks_exact(n).zip(o.chunks_exact_mut(n));
                let last = x.len() / n.max(1);
                for (r, (xi, oi)) in rows.enumerate() {
                    let next = if r + 1 < last { x[(r + 1) * n..].as_ptr() } else { std::ptr::null() };
                    // SAFETY: the row functions stay inside their rows (`next` is only
                    // prefetched).
                    unsafe { softmax_row::<_, LOG>($S, xi, oi, next) }
                }
            }
            $($feat)*
            pub(crate) unsafe fn bwd_rows<const LOG: bool>(
                g: &[$E],
                y: &[$E],
                gx: &mut [$E],
                n: usize,
            ) {
                let it = g.chunks_exact(n).zip(y.chunks_exact(n)).zip(gx.chunks_exact_mut(n));
                for ((gi, yi), oi) in it {
                    // SAFETY: the row functions stay inside their rows.
                    unsafe { backward_row::<_, LOG>($S, gi, yi, oi) }
                }
            }
            $($feat)*
            pub(crate) unsafe fn cols<const LOG: bool>(
                x: *const $E,
                o: *mut $E,
                n: usize,
                inner: usize,
                w: usize,
            ) {
                // SAFETY: forwarded contract of `softmax_cols`.
                unsafe { softmax_cols::<_, LOG>($S, x, o, n, inner, w) }
            }
            $($feat)*
            pub(crate) unsafe fn bwd_cols<const LOG: bool>(
                g: *const $E,
                y: *const $E,
                o: *mut $E,
                n: usize,
                inner: usize,
                w: usize,
            ) {
                // SAFETY: forwarded contract of `backward_cols`.
                unsafe { backward_cols::<_, LOG>($S, g, y, o, n, inner, w) }
            }
            $($feat)*
            pub(crate) unsafe fn lse_rows(x: &[$E], out: &mut [$E], n: usize) {
                for (xi, oi) in x.chunks_exact(n).zip(out.iter_mut()) {
                    // SAFETY: reads stay inside the row.
                    *oi = unsafe { lse_row($S, xi) };
                }
            }
            $($feat)*
            pub(crate) unsafe fn exp_scale_rows(
                x: &[$E],
                shifts: &[$E],
                scales: &[$E],
                o: &mut [$E],
                n: usize,
            ) {
                let rows = x.chunks_exact(n).zip(o.chunks_exact_mut(n));
                for ((xi, oi), (&m, &a)) in rows.zip(shifts.iter().zip(scales)) {
                    // SAFETY: reads and writes stay inside the row.
                    unsafe { exp_scale_row($S, xi, oi, m, a) }
                }
            }
            $($feat)*
            pub(crate) unsafe fn lse_cols_(
                x: *const $E,
                out: *mut $E,
                n: usize,
                inner: usize,
                w: usize,
            ) {
                // SAFETY: forwarded contract of `lse_cols`.
                unsafe { lse_cols($S, x, out, n, inner, w) }
            }
        }
    };
}

instantiate!(portable_f32, f32, Scalar::<f32>::new(),);
instantiate!(portable_f64, f64, Scalar::<f64>::new(),);
#[cfg(target_arch = "x86_64")]
instantiate!(avx2_f32, f32, x86::Avx2, #[target_feature(enable = "avx2,fma")]);
#[cfg(target_arch = "x86_64")]
instantiate!(
    avx512_f32,
    f32,
    x86::Avx512,
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
);

/// Per-element-type choice of the instantiation for a capability.
pub trait SoftmaxFloat: Float {
    /// Rows of length n: softmax (`log = false`) or log_softmax.
    #[doc(hidden)]
    fn rows_fn(cap: Capability, log: bool) -> unsafe fn(&[Self], &mut [Self], usize);
    #[doc(hidden)]
    fn bwd_rows_fn(cap: Capability, log: bool) -> unsafe fn(&[Self], &[Self], &mut [Self], usize);
    #[doc(hidden)]
    #[allow(clippy::type_complexity)]
    fn cols_fn(
        cap: Capability,
        log: bool,
    ) -> unsafe fn(*const Self, *mut Self, usize, usize, usize);
    #[doc(hidden)]
    #[allow(clippy::type_complexity)]
    fn bwd_cols_fn(
        cap: Capability,
        log: bool,
    ) -> unsafe fn(*const Self, *const Self, *mut Self, usize, usize, usize);
    #[doc(hidden)]
    fn lse_rows_fn(cap: Capability) -> unsafe fn(&[Self], &mut [Self], usize);
    #[doc(hidden)]
    #[allow(clippy::type_complexity)]
    fn lse_cols_fn(cap: Capability) -> unsafe fn(*const Self, *mut Self, usize, usize, usize);
    #[doc(hidden)]
    #[allow(clippy::type_complexity)]
    fn exp_scale_rows_fn(
        cap: Capability,
    ) -> unsafe fn(&[Self], &[Self], &[Self], &mut [Self], usize);
}

macro_rules! pick {
    ($cap:expr, $f:ident $(::<$c:tt>)?) => {
        match $cap {
            #[cfg(target_arch = "x86_64")]
            Capability::Avx512 => avx512_f32::$f$(::<$c>)?,
            #[cfg(target_arch = "x86_64")]
            Capability::Avx2 => avx2_f32::$f$(::<$c>)?,
            _ => portable_f32::$f$(::<$c>)?,
        }
    };
}

impl SoftmaxFloat for f32 {
    fn rows_fn(cap: Capability, log: bool) -> unsafe fn(&[f32], &mut [f32], usize) {
        if log {
            pick!(cap, rows::<true>)
        } else {
            pick!(cap, rows::<false>)
        }
    }
    fn bwd_rows_fn(cap: Capability, log: bool) -> unsafe fn(&[f32], &[f32], &mut [f32], usize) {
        if log {
            pick!(cap, bwd_rows::<true>)
        } else {
            pick!(cap, bwd_rows::<false>)
        }
    }
    fn cols_fn(cap: Capability, log: bool) -> unsafe fn(*const f32, *mut f32, usize, usize, usize) {
        if log {
            pick!(cap, cols::<true>)
        } else {
            pick!(cap, cols::<false>)
        }
    }
    fn bwd_cols_fn(
        cap: Capability,
        log: bool,
    ) -> unsafe fn(*const f32, *const f32, *mut f32, usize, usize, usize) {
        if log {
            pick!(cap, bwd_cols::<true>)
        } else {
            pick!(cap, bwd_cols::<false>)
        }
    }
    fn lse_rows_fn(cap: Capability) -> unsafe fn(&[f32], &mut [f32], usize) {
        pick!(cap, lse_rows)
    }
    fn lse_cols_fn(cap: Capability) -> unsafe fn(*const f32, *mut f32, usize, usize, usize) {
        pick!(cap, lse_cols_)
    }
    fn exp_scale_rows_fn(cap: Capability) -> unsafe fn(&[f32], &[f32], &[f32], &mut [f32], usize) {
        pick!(cap, exp_scale_rows)
    }
}

impl SoftmaxFloat for f64 {
    fn rows_fn(_: Capability, log: bool) -> unsafe fn(&[f64], &mut [f64], usize) {
        if log {
            portable_f64::rows::<true>
        } else {
            portable_f64::rows::<false>
        }
    }
    fn bwd_rows_fn(_: Capability, log: bool) -> unsafe fn(&[f64], &[f64], &mut [f64], usize) {
        if log {
            portable_f64::bwd_rows::<true>
        } else {
            portable_f64::bwd_rows::<false>
        }
    }
    fn cols_fn(_: Capability, log: bool) -> unsafe fn(*const f64, *mut f64, usize, usize, usize) {
        if log {
            portable_f64::cols::<true>
        } else {
            portable_f64::cols::<false>
        }
    }
    fn bwd_cols_fn(
        _: Capability,
        log: bool,
    ) -> unsafe fn(*const f64, *const f64, *mut f64, usize, usize, usize) {
        if log {
            portable_f64::bwd_cols::<true>
        } else {
            portable_f64::bwd_cols::<false>
        }
    }
    fn lse_rows_fn(_: Capability) -> unsafe fn(&[f64], &mut [f64], usize) {
        portable_f64::lse_rows
    }
    fn lse_cols_fn(_: Capability) -> unsafe fn(*const f64, *mut f64, usize, usize, usize) {
        portable_f64::lse_cols_
    }
    fn exp_scale_rows_fn(_: Capability) -> unsafe fn(&[f64], &[f64], &[f64], &mut [f64], usize) {
        portable_f64::exp_scale_rows
    }
}

// ----- drivers -----

/// Rows per parallel task so that a task holds about GRAIN elements.
fn rows_per_task(n: usize) -> usize {
    (GRAIN / n.max(1)).max(1)
}

/// Softmax (or log_softmax) of contiguous rows of length `n`: `x` and `o` hold
/// `rows * n` values. `cap` is normally `capability()`.
pub fn softmax_lastdim<E: SoftmaxFloat>(
    cap: Capability,
    x: &[E],
    o: &mut [E],
    n: usize,
    log: bool,
) {
    if n == 0 || x.is_empty() {
        return;
    }
    let f = E::rows_fn(cap, log);
    let len = x.len().min(o.len()) / n * n;
    let (x, o) = (&x[..len], &mut o[..len]);
    if len >= GRAIN && len > n {
        let step = rows_per_task(n) * n;
        super::par_chunks_mut(o, step, &|c, oc| {
            // SAFETY: `f` is the instantiation for `cap`, a level the CPU has.
            unsafe { f(chunk_of(x, c, step), oc, n) }
        });
    } else {
        // SAFETY: as above.
        unsafe { f(x, o, n) }
    }
}

/// The backward of `softmax_lastdim` given the output `y` and its gradient `g`.
pub fn softmax_backward_lastdim<E: SoftmaxFloat>(
    cap: Capability,
    g: &[E],
    y: &[E],
    gx: &mut [E],
    n: usize,
    log: bool,
) {
    if n == 0 || g.is_empty() {
        return;
    }
    let f = E::bwd_rows_fn(cap, log);
    let len = g.len().min(y.len()).min(gx.len()) / n * n;
    let (g, y, gx) = (&g[..len], &y[..len], &mut gx[..len]);
    if len >= GRAIN && len > n {
        let step = rows_per_task(n) * n;
        super::par_chunks_mut(gx, step, &|c, oc| {
            // SAFETY: `f` is the instantiation for `cap`, a level the CPU has.
            unsafe { f(chunk_of(g, c, step), chunk_of(y, c, step), oc, n) }
        });
    } else {
        // SAFETY: as above.
        unsafe { f(g, y, gx, n) }
    }
}

/// The (outer block, column strip) tasks of a middle-dim kernel, in a fixed order.
fn strips(outer: usize, inner: usize) -> Vec<(usize, usize, usize)> {
    let mut v = Vec::with_capacity(outer * inner.div_ceil(COLS));
    for b in 0..outer {
        let mut j = 0;
        while j < inner {
            let w = COLS.min(inner - j);
            v.push((b, j, w));
            j += w;
        }
    }
    v
}

/// Runs `f(block, col, width)` over every strip, in parallel above GRAIN elements.
fn run_strips(outer: usize, n: usize, inner: usize, f: impl Fn(usize, usize, usize) + Sync) {
    let tasks = strips(outer, inner);
    if outer * n * inner >= GRAIN && tasks.len() > 1 {
        let per = (GRAIN / (n * COLS).max(1)).max(1);
        super::par_for(tasks.len().div_ceil(per), &|c| {
            chunk_of(&tasks, c, per)
                .iter()
                .for_each(|&(b, j, w)| f(b, j, w))
        });
    } else {
        tasks.iter().for_each(|&(b, j, w)| f(b, j, w));
    }
}

/// Softmax along the middle axis of a contiguous `[outer, n, inner]` array.
pub fn softmax_middle<E: SoftmaxFloat>(
    cap: Capability,
    x: &[E],
    o: &mut [E],
    (outer, n, inner): (usize, usize, usize),
    log: bool,
) {
    let total = outer * n * inner;
    if total == 0 || x.len() < total || o.len() < total {
        return;
    }
    let f = E::cols_fn(cap, log);
    let (xp, op) = (SendPtr(x.as_ptr() as *mut E), SendPtr(o.as_mut_ptr()));
    run_strips(outer, n, inner, |b, j, w| {
        let off = b * n * inner + j;
        // SAFETY: strip (b, j, w) reads x and writes o only at b*n*inner + k*inner + j'
        // (k < n, j <= j' < j + w <= inner): inside the arrays, and no two strips
        // share an element; `f` matches `cap`.
        unsafe { f(xp.get().add(off), op.get().add(off), n, inner, w) }
    });
}

/// The backward of `softmax_middle`.
pub fn softmax_backward_middle<E: SoftmaxFloat>(
    cap: Capability,
    g: &[E],
    y: &[E],
    gx: &mut [E],
    (outer, n, inner): (usize, usize, usize),
    log: bool,
) {
    let total = outer * n * inner;
    if total == 0 || g.len() < total || y.len() < total || gx.len() < total {
        return;
    }
    let f = E::bwd_cols_fn(cap, log);
    let gp = SendPtr(g.as_ptr() as *mut E);
    let yp = SendPtr(y.as_ptr() as *mut E);
    let op = SendPtr(gx.as_mut_ptr());
    run_strips(outer, n, inner, |b, j, w| {
        let off = b * n * inner + j;
        // SAFETY: as in `softmax_middle`.
        unsafe {
            f(
                gp.get().add(off),
                yp.get().add(off),
                op.get().add(off),
                n,
                inner,
                w,
            )
        }
    });
}

/// `out[b, j] = ln(sum_k exp(x[b, k, j]))` of a contiguous `[outer, n, inner]` array
/// (`out` holds `outer * inner` values).
pub fn logsumexp<E: SoftmaxFloat>(
    cap: Capability,
    x: &[E],
    out: &mut [E],
    (outer, n, inner): (usize, usize, usize),
) {
    let total = outer * n * inner;
    if outer * inner == 0 || x.len() < total || out.len() < outer * inner {
        return;
    }
    if n == 0 {
        out.iter_mut().for_each(|v| *v = E::NEG_INF);
        return;
    }
    if inner == 1 {
        let f = E::lse_rows_fn(cap);
        let x = &x[..total];
        let out = &mut out[..outer];
        if total >= GRAIN && outer > 1 {
            let per = rows_per_task(n);
            super::par_chunks_mut(out, per, &|c, oc| {
                // SAFETY: `f` matches `cap`.
                unsafe { f(chunk_of(x, c, per * n), oc, n) }
            });
        } else {
            // SAFETY: `f` matches `cap`.
            unsafe { f(x, out, n) }
        }
        return;
    }
    let f = E::lse_cols_fn(cap);
    let (xp, op) = (SendPtr(x.as_ptr() as *mut E), SendPtr(out.as_mut_ptr()));
    run_strips(outer, n, inner, |b, j, w| {
        // SAFETY: strip (b, j, w) reads inside block b and writes out[b*inner + j..+w],
        // disjoint between strips; `f` matches `cap`.
        unsafe {
            f(
                xp.get().add(b * n * inner + j),
                op.get().add(b * inner + j),
                n,
                inner,
                w,
            )
        }
    });
}

/// `o[r, :] = exp(x[r, :] - shifts[r]) * scales[r]` for contiguous rows of length `n`.
pub fn exp_scale_rows<E: SoftmaxFloat>(
    cap: Capability,
    x: &[E],
    shifts: &[E],
    scales: &[E],
    o: &mut [E],
    n: usize,
) {
    if n == 0 || x.is_empty() {
        return;
    }
    let f = E::exp_scale_rows_fn(cap);
    let rows = (x.len().min(o.len()) / n)
        .min(shifts.len())
        .min(scales.len());
    let (x, o) = (&x[..rows * n], &mut o[..rows * n]);
    let (shifts, scales) = (&shifts[..rows], &scales[..rows]);
    if rows * n >= GRAIN && rows > 1 {
        let per = rows_per_task(n);
        super::par_chunks_mut(o, per * n, &|c, oc| {
            let (sc, ac) = (chunk_of(shifts, c, per), chunk_of(scales, c, per));
            // SAFETY: `f` matches `cap`.
            unsafe { f(chunk_of(x, c, per * n), sc, ac, oc, n) }
        });
    } else {
        // SAFETY: `f` matches `cap`.
        unsafe { f(x, shifts, scales, o, n) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::math::hardware_capability;

    fn caps() -> Vec<Capability> {
        let hw = hardware_capability();
        [Capability::Default, Capability::Avx2, Capability::Avx512]
            .into_iter()
            .filter(|&c| c <= hw)
            .collect()
    }

    fn data(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919 + 13) % 1009) as f32 * 0.01 - 5.0)
            .collect()
    }

    fn reference(x: &[f32], n: usize, log: bool) -> Vec<f64> {
        let mut out = Vec::new();
        for r in x.chunks(n) {
            let m = r.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
            let s: f64 = r.iter().map(|&v| (v as f64 - m).exp()).sum();
            for &v in r {
                out.push(if log {
                    v as f64 - m - s.ln()
                } else {
                    (v as f64 - m).exp() / s
                });
            }
        }
        out
    }

    #[test]
    fn rows_match_f64_on_every_path() {
        for cap in caps() {
            for n in [1, 7, 15, 16, 17, 31, 33, 1000, 1025, 5000] {
                let x = data(n * 3);
                for log in [false, true] {
                    let mut o = vec![0f32; x.len()];
                    softmax_lastdim(cap, &x, &mut o, n, log);
                    let r = reference(&x, n, log);
                    for (a, b) in o.iter().zip(&r) {
                        assert!(
                            (*a as f64 - b).abs() <= 1e-5 + 2e-6 * b.abs(),
                            "{cap:?} n={n} log={log}: {a} vs {b}"
                        );
                    }
                    let mut oc = vec![0f32; x.len()];
                    softmax_middle(cap, &x, &mut oc, (1, 3, n), log);
                    // Middle-dim over a [1, 3, n] array = softmax of each column of 3.
                    let mut xt = vec![0f32; x.len()];
                    for k in 0..3 {
                        for j in 0..n {
                            xt[j * 3 + k] = x[k * n + j];
                        }
                    }
                    let rt = reference(&xt, 3, log);
                    for k in 0..3 {
                        for j in 0..n {
                            let (a, b) = (oc[k * n + j] as f64, rt[j * 3 + k]);
                            assert!((a - b).abs() <= 1e-5 + 2e-6 * b.abs(), "{cap:?} cols");
                        }
                    }
                }
                let mut lse = vec![0f32; 3];
                logsumexp(cap, &x, &mut lse, (3, n, 1));
                for (r, l) in x.chunks(n).zip(&lse) {
                    let m = r.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
                    let e = m + r.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
                    assert!((*l as f64 - e).abs() <= 1e-5 + 2e-6 * e.abs());
                }
            }
        }
    }

    #[test]
    fn special_rows() {
        for cap in caps() {
            let x = [f32::NEG_INFINITY, 0.0, 1.0, f32::NEG_INFINITY];
            let mut o = [0f32; 4];
            softmax_lastdim(cap, &x, &mut o, 4, false);
            assert_eq!(o[0], 0.0);
            let x = [f32::NEG_INFINITY; 17];
            let mut o = [0f32; 17];
            softmax_lastdim(cap, &x, &mut o, 17, false);
            assert!(o.iter().all(|v| v.is_nan()));
            let mut x = data(33);
            x[20] = f32::NAN;
            let mut o = [0f32; 33];
            softmax_lastdim(cap, &x, &mut o, 33, true);
            assert!(o.iter().all(|v| v.is_nan()), "{cap:?}");
            let mut l = [0f32];
            logsumexp(cap, &[f32::NEG_INFINITY; 9], &mut l, (1, 9, 1));
            assert_eq!(l[0], f32::NEG_INFINITY);
        }
    }
}
