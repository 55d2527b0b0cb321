//! Binary ops on float16 and bfloat16 in one pass over flat operands: each element is
//! widened, computed in float32 and rounded once inside one loop with the op inlined.
//! The blocked walk (`elementwise::binary_map_half`) widens both operands into float32
//! blocks, maps them and rounds back, storing every value three times; these loops
//! store it once (bfloat16 `x + y` on 1M elements: 138 -> 90 us at two threads).
//!
//! The caller passes the op's float32 form; the values are those of the blocked walk
//! (the same float32 op on the same widened values, rounded once to nearest even).
//! bfloat16's conversions are a shift and a rounding that the compiler vectorises;
//! float16's are the F16C instructions, 16 or 8 lanes at a time, with the op applied
//! lane by lane to the widened registers. Only the AVX2 and AVX-512 levels have these
//! loops (each is a copy of the op per level: the extension's size); the portable
//! level keeps the blocked walk. A right operand broadcast as one row of the last dim
//! (`m + bias`) runs the same loops row by row.

// Elsewhere than x86_64 both entry points answer false: the helpers go unused.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code, unused_imports))]

use super::elementwise::{par_chunks, runs_flat};
#[cfg(target_arch = "x86_64")]
use super::half_convert::f16c;
use super::math::{capability, Capability};
use super::view::{View, ViewMut};
use super::SendPtr;
use crate::element::Element;
use half::{bf16, f16};
use std::ops::Range;

/// The three base pointers and the element count when the operands run flat (one
/// gap-free run each, in the same order) and `out` is each input or shares no byte with
/// it: then element i is read before it is written, by its own iteration alone.
fn flat_operands<H: Element>(
    out: &ViewMut<'_, H>,
    a: &View<'_, H>,
    b: &View<'_, H>,
) -> Option<([SendPtr<H>; 3], usize)> {
    if !runs_flat(&[out.layout(), a.layout(), b.layout()]) {
        return None;
    }
    let n = out.numel();
    let (po, pa, pb) = (out.ptr(), a.ptr(), b.ptr());
    // (The tensors exist, so n elements' bytes fit in the address space.)
    let bytes = n * std::mem::size_of::<H>();
    let apart = |p: *const H| {
        let (p, q) = (p as usize, po as usize);
        p == q || p.saturating_add(bytes) <= q || q.saturating_add(bytes) <= p
    };
    if !(apart(pa) && apart(pb)) {
        return None;
    }
    Some((
        [SendPtr(po), SendPtr(pa as *mut H), SendPtr(pb as *mut H)],
        n,
    ))
}

/// Rows shorter than this keep the blocked walk when `b` is a broadcast row: a pass per
/// row would cost more than it saves.
const MIN_ROW: usize = 64;

/// The base pointers, the row count and the row length when `out` and `a` are
/// contiguous and `b` is one contiguous row along the last dim broadcast over the
/// others (`m + bias`), `out` being `a` or apart from it and from `b`'s row.
fn row_operands<H: Element>(
    out: &ViewMut<'_, H>,
    a: &View<'_, H>,
    b: &View<'_, H>,
) -> Option<([SendPtr<H>; 3], usize, usize)> {
    let (shape, bs) = (b.shape(), b.strides());
    let len = *shape.last()?;
    let row_broadcast = bs.last() == Some(&1)
        && shape
            .iter()
            .zip(bs)
            .rev()
            .skip(1)
            .all(|(&n, &st)| st == 0 || n == 1);
    if len < MIN_ROW || !row_broadcast || !out.is_contiguous() || !a.is_contiguous() {
        return None;
    }
    let n = out.numel();
    let (po, pa, pb) = (out.ptr(), a.ptr(), b.ptr());
    let size = std::mem::size_of::<H>();
    let apart = |p: usize, p_bytes: usize| {
        let (q, q_bytes) = (po as usize, n * size);
        p.saturating_add(p_bytes) <= q || q.saturating_add(q_bytes) <= p
    };
    let a_ok = std::ptr::eq(pa, po) || apart(pa as usize, n * size);
    if !(a_ok && apart(pb as usize, len * size)) {
        return None;
    }
    let ptrs = [SendPtr(po), SendPtr(pa as *mut H), SendPtr(pb as *mut H)];
    Some((ptrs, n / len, len))
}

/// `out[i] = round(f(widen(a[i]), widen(b[i])))` for bfloat16 in one pass, when the
/// operands run flat and `out` is each input or apart from it, on the AVX2 and AVX-512
/// levels; returns false, having done nothing, otherwise (the caller's blocked walk).
pub fn binary_bf16(
    out: ViewMut<'_, bf16>,
    a: View<'_, bf16>,
    b: View<'_, bf16>,
    f: impl Fn(f32, f32) -> f32 + Copy + Send + Sync,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    return pass(
        out,
        a,
        b,
        f,
        x86::bf16_pass_avx512,
        x86::bf16_pass_avx2,
        true,
    );
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (out, a, b, f);
        false
    }
}

/// `binary_bf16` for float16, on CPUs with F16C at the AVX2 or AVX-512 level.
pub fn binary_f16(
    out: ViewMut<'_, f16>,
    a: View<'_, f16>,
    b: View<'_, f16>,
    f: impl Fn(f32, f32) -> f32 + Copy + Send + Sync,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    return pass(
        out,
        a,
        b,
        f,
        x86::f16_pass_avx512,
        x86::f16_pass_avx2,
        f16c(),
    );
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (out, a, b, f);
        false
    }
}

/// A pass at one SIMD level: `o[i] = round(f(a[i], b[i]))` over a range (`x86`).
#[cfg(target_arch = "x86_64")]
type Pass<H, F> = unsafe fn(*mut H, *const H, *const H, Range<usize>, F);

/// Runs `avx512` or `avx2` (by the level in use, when `usable`) over the flat operands
/// in parallel chunks; false, having done nothing, where neither applies.
#[cfg(target_arch = "x86_64")]
fn pass<H: Element, F: Fn(f32, f32) -> f32 + Copy + Send + Sync>(
    out: ViewMut<'_, H>,
    a: View<'_, H>,
    b: View<'_, H>,
    f: F,
    avx512: Pass<H, F>,
    avx2: Pass<H, F>,
    usable: bool,
) -> bool {
    let run = match capability() {
        Capability::Avx512 if usable => avx512,
        Capability::Avx2 if usable => avx2,
        _ => return false,
    };
    let Some(([po, pa, pb], n)) = flat_operands(&out, &a, &b) else {
        return by_rows(out, a, b, f, run);
    };
    par_chunks(n, move |s, e| {
        // SAFETY: the level (and F16C for float16, `usable`) was checked above; flat
        // runs put each operand's n elements at its pointer and s..e lies in 0..n;
        // `out` is an input or apart from them (`flat_operands`), so element i is read
        // before its write; each chunk of `out` is written by one thread.
        unsafe {
            run(
                po.get(),
                pa.get().cast_const(),
                pb.get().cast_const(),
                s..e,
                f,
            )
        }
    });
    true
}

/// `pass` for a `b` broadcast as one row (`row_operands`): the level's loop over each
/// row's part of a chunk, `b`'s row at the same offsets each time.
#[cfg(target_arch = "x86_64")]
fn by_rows<H: Element, F: Fn(f32, f32) -> f32 + Copy + Send + Sync>(
    out: ViewMut<'_, H>,
    a: View<'_, H>,
    b: View<'_, H>,
    f: F,
    run: Pass<H, F>,
) -> bool {
    let Some(([po, pa, pb], rows, len)) = row_operands(&out, &a, &b) else {
        return false;
    };
    par_chunks(rows * len, move |s, e| {
        for r in s / len..e.div_ceil(len) {
            let base = r * len;
            let part = s.max(base) - base..e.min(base + len) - base;
            // SAFETY: as in `pass`: the level was checked by the caller; rows r of
            // `out` and `a` are their `base..base + len` elements (contiguous, r <
            // rows), `b`'s row is `len` elements at its pointer, apart from `out`
            // (`row_operands`); `part` lies in 0..len and is this chunk's alone.
            unsafe {
                run(
                    po.get().add(base),
                    pa.get().cast_const().add(base),
                    pb.get().cast_const(),
                    part,
                    f,
                )
            }
        }
    });
    true
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use crate::cpu::half_convert::{narrow_bf16, widen_bf16};
    use half::{bf16, f16};
    use std::arch::x86_64::*;
    use std::ops::Range;

    /// Defines a float16 pass at one SIMD level: `o[i] = round(f(a[i], b[i]))` over
    /// `range`, `$lanes` at a time (F16C's widening to `$ps`, the op lane by lane on the
    /// widened values, one rounding back), then the tail with the `half` crate's
    /// conversions (the same roundings).
    macro_rules! f16_pass {
        ($(#[$doc:meta])* $name:ident, $features:literal, $lanes:literal,
         $load_ph:ident, $store_ph:ident, $widen:ident, $narrow:ident,
         $load_ps:ident, $store_ps:ident) => {
            $(#[$doc])*
            #[target_feature(enable = $features)]
            pub unsafe fn $name(
                o: *mut f16,
                a: *const f16,
                b: *const f16,
                range: Range<usize>,
                f: impl Fn(f32, f32) -> f32,
            ) {
                let mut i = range.start;
                while i + $lanes <= range.end {
                    // SAFETY: i + lanes <= range.end elements of each pointer (the
                    // contract); unaligned loads and stores; both inputs are read
                    // before `o` is written.
                    unsafe {
                        let (mut x, mut y) = ([0f32; $lanes], [0f32; $lanes]);
                        $store_ps(x.as_mut_ptr(), $widen($load_ph(a.add(i).cast())));
                        $store_ps(y.as_mut_ptr(), $widen($load_ph(b.add(i).cast())));
                        for (x, y) in x.iter_mut().zip(y) {
                            *x = f(*x, y);
                        }
                        let r = $narrow::<_MM_FROUND_TO_NEAREST_INT>($load_ps(x.as_ptr()));
                        $store_ph(o.add(i).cast(), r);
                    }
                    i += $lanes;
                }
                // SAFETY: as above, element by element.
                unsafe { tail(o, a, b, i..range.end, f) }
            }
        };
    }

    f16_pass!(
        /// The float16 pass 16 lanes at a time.
        ///
        /// # Safety
        /// The CPU has AVX-512 F/BW/DQ/VL, AVX2, FMA and F16C; the pointers hold the
        /// range's elements; `o` is `a`, `b` or apart from each, and nothing else
        /// touches `o[range]` meanwhile.
        f16_pass_avx512, "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c", 16,
        _mm256_loadu_si256, _mm256_storeu_si256, _mm512_cvtph_ps, _mm512_cvtps_ph,
        _mm512_loadu_ps, _mm512_storeu_ps
    );
    f16_pass!(
        /// The float16 pass 8 lanes at a time.
        ///
        /// # Safety
        /// The CPU has AVX2, FMA and F16C; the rest as `f16_pass_avx512`.
        f16_pass_avx2, "avx2,fma,f16c", 8,
        _mm_loadu_si128, _mm_storeu_si128, _mm256_cvtph_ps, _mm256_cvtps_ph,
        _mm256_loadu_ps, _mm256_storeu_ps
    );

    /// `o[i] = round(f(a[i], b[i]))` over `range` for bfloat16: a plain loop the compiler
    /// vectorises at this level (the conversions are shifts and a rounding select).
    ///
    /// # Safety
    /// The CPU has AVX-512 F/BW/DQ/VL, AVX2 and FMA; the rest as `f16_pass_avx512`.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
    pub unsafe fn bf16_pass_avx512(
        o: *mut bf16,
        a: *const bf16,
        b: *const bf16,
        range: Range<usize>,
        f: impl Fn(f32, f32) -> f32,
    ) {
        // SAFETY: the caller's contract.
        unsafe { bf16_loop(o, a, b, range, f) }
    }

    /// `bf16_pass_avx512` at the AVX2 level.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA; the rest as `f16_pass_avx512`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn bf16_pass_avx2(
        o: *mut bf16,
        a: *const bf16,
        b: *const bf16,
        range: Range<usize>,
        f: impl Fn(f32, f32) -> f32,
    ) {
        // SAFETY: the caller's contract.
        unsafe { bf16_loop(o, a, b, range, f) }
    }

    /// # Safety
    /// As `f16_pass_avx512`'s pointers and range.
    #[inline(always)]
    unsafe fn bf16_loop(
        o: *mut bf16,
        a: *const bf16,
        b: *const bf16,
        range: Range<usize>,
        f: impl Fn(f32, f32) -> f32,
    ) {
        for i in range {
            // SAFETY: i lies in the range the contract covers; element i of the
            // inputs is read before element i of `o` is written.
            unsafe {
                let v = f(widen_bf16(*a.add(i)), widen_bf16(*b.add(i)));
                *o.add(i) = narrow_bf16(v);
            }
        }
    }

    /// The last elements one at a time.
    ///
    /// # Safety
    /// As `f16_pass_avx512`'s pointers and range.
    #[inline(always)]
    unsafe fn tail(
        o: *mut f16,
        a: *const f16,
        b: *const f16,
        range: Range<usize>,
        f: impl Fn(f32, f32) -> f32,
    ) {
        for i in range {
            // SAFETY: i lies in the range the contract covers.
            unsafe {
                *o.add(i) = f16::from_f32(f((*a.add(i)).to_f32(), (*b.add(i)).to_f32()));
            }
        }
    }
}
