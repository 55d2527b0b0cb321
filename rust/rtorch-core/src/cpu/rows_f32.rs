//! Sums, maxima and minima of many short contiguous float32 rows (sum, amax and amin
//! along a last dim of at most `MAX_ROW` values).
//!
//! Each row is folded into one register (16 lanes with AVX-512, 8 with AVX2; a tail
//! enters through a masked load padded with the op's identity), then the registers of
//! 16 (8) rows are reduced together by a transposing tree: each level shuffles two
//! registers' halves against each other and combines them, so a group of rows shares
//! 15 (7) shuffle-and-combine steps instead of each row paying its own horizontal
//! reduction (per-row trees ran 8192 rows of 32 at twice PyTorch's time).
//!
//! Every row goes through the same steps wherever it sits in its group (lanes j and
//! j + 8, then j + 4, j + 2, j + 1; a short last group is padded with identity rows), so
//! a row's result does not depend on how the rows are split over threads.

/// The reduction of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowOp {
    Sum,
    /// The largest value; NaN when any is NaN.
    Max,
    /// The smallest value; NaN when any is NaN.
    Min,
}

/// Rows up to this long take the grouped kernels; a longer row's own horizontal
/// reduction is small beside its loads.
pub const MAX_ROW: usize = 256;

/// Sums of rows shorter than this keep `sum_f32`'s order (one value after another),
/// which PyTorch's sums of rows of up to 4 values, and of 8, share bit for bit (a
/// Multinomial's log_prob, sums of 3 terms that cancel, moved by 1e-4 in the lanes'
/// order); no order tried matched PyTorch's on rows of 5-7 or of 16 and more.
pub const MIN_SUM_ROW: usize = 16;

/// `out[o]` = `op` of the `o`-th block of `inner` values of `src`, for every `o`, when
/// `inner <= MAX_ROW` (and `inner >= MIN_SUM_ROW` for sums, `>= 1` otherwise) and the
/// CPU has AVX2; else `false`, and nothing written.
pub fn reduce_rows(src: &[f32], inner: usize, out: &mut [f32], op: RowOp) -> bool {
    let shortest = if op == RowOp::Sum { MIN_SUM_ROW } else { 1 };
    let fits =
        (shortest..=MAX_ROW).contains(&inner) && inner.checked_mul(out.len()) == Some(src.len());
    if !fits {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        use super::math::{has_avx2_fma, has_avx512};
        let op = op as u8;
        if has_avx512() {
            // SAFETY: the CPU has AVX-512 F (`has_avx512`); src holds out.len() rows of
            // `inner` values (checked above).
            unsafe {
                match op {
                    0 => avx512::rows::<0>(src, inner, out),
                    1 => avx512::rows::<1>(src, inner, out),
                    _ => avx512::rows::<2>(src, inner, out),
                }
            }
            return true;
        }
        if has_avx2_fma() {
            // SAFETY: the CPU has AVX2 (`has_avx2_fma`); the rows as above.
            unsafe {
                match op {
                    0 => avx2::rows::<0>(src, inner, out),
                    1 => avx2::rows::<1>(src, inner, out),
                    _ => avx2::rows::<2>(src, inner, out),
                }
            }
            return true;
        }
    }
    false
}

/// max/min along a dim of short rows: each row's value by `reduce_rows` (`op` Max or
/// Min), then its index, the first position holding it (the first NaN for a NaN), and
/// the value read back from there (a -0.0 and a 0.0 tie; the index decides). `false`,
/// nothing written, where `reduce_rows` declines.
pub fn arg_rows(src: &[f32], inner: usize, vals: &mut [f32], idx: &mut [i64], op: RowOp) -> bool {
    if op == RowOp::Sum || idx.len() != vals.len() || !reduce_rows(src, inner, vals, op) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `reduce_rows` ran, so the CPU has AVX2 and src holds vals.len() rows of
    // `inner` values; idx is as long as vals (checked above).
    unsafe {
        first_positions(src, inner, vals, idx)
    };
    true
}

/// The first position of each row of `c` values holding `vals[o]` (or a NaN, for a
/// NaN) into `idx[o]`, and its value into `vals[o]`: 8 positions per compare, up to
/// the first hit.
///
/// # Safety
/// The CPU has AVX2; `src` holds `vals.len()` rows of `c >= 1` values, each holding
/// its `vals` entry (or a NaN); `idx` is as long as `vals`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn first_positions(src: &[f32], c: usize, vals: &mut [f32], idx: &mut [i64]) {
    use std::arch::x86_64::*;
    for ((v, i), row) in vals.iter_mut().zip(idx.iter_mut()).zip(src.chunks_exact(c)) {
        let (want, nan) = (*v, v.is_nan());
        let target = _mm256_set1_ps(want);
        let mut k = 0;
        let mut found = None;
        while k + 8 <= c {
            // SAFETY: positions k..k + 8 lie in the row.
            let x = unsafe { _mm256_loadu_ps(row.as_ptr().add(k)) };
            let hit = match nan {
                true => _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x),
                false => _mm256_cmp_ps::<_CMP_EQ_OQ>(x, target),
            };
            let bits = _mm256_movemask_ps(hit);
            if bits != 0 {
                found = Some(k + bits.trailing_zeros() as usize);
                break;
            }
            k += 8;
        }
        let hit = |x: &f32| *x == want || (nan && x.is_nan());
        let tail = || row[k..].iter().position(hit).map(|p| k + p);
        // (A row holds its value, so some position matches.)
        let j = found.or_else(tail).unwrap_or(0);
        (*v, *i) = (row[j], j as i64);
    }
}

/// The op's start and padding, for lanes and rows: +0.0 for the sum (a row of -0.0
/// sums to +0.0, as PyTorch's, whose sums start at zero), -inf for max, +inf for min.
#[cfg(target_arch = "x86_64")]
fn identity(op: u8) -> f32 {
    match op {
        0 => 0.0,
        1 => f32::NEG_INFINITY,
        _ => f32::INFINITY,
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// `a op b` lane by lane; max and min take `b` where it wins or is NaN, so a NaN
    /// sticks.
    #[inline(always)]
    unsafe fn combine<const OP: u8>(a: __m512, b: __m512) -> __m512 {
        if OP == 0 {
            return _mm512_add_ps(a, b);
        }
        let wins = match OP {
            1 => _mm512_cmp_ps_mask::<_CMP_GT_OQ>(b, a),
            _ => _mm512_cmp_ps_mask::<_CMP_LT_OQ>(b, a),
        };
        let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(b, b);
        _mm512_mask_blend_ps(wins | nan, a, b)
    }

    /// `acc op v` along a row, where the NaNs are tracked apart (`nan`): max and min
    /// take `v` only where it wins, so ties keep `acc` as `combine` does; without the
    /// NaN test in the chain, half `combine`'s latency.
    #[inline(always)]
    unsafe fn fold<const OP: u8>(acc: __m512, v: __m512, nan: &mut __mmask16) -> __m512 {
        match OP {
            0 => _mm512_add_ps(acc, v),
            1 => {
                *nan |= _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
                _mm512_max_ps(v, acc)
            }
            _ => {
                *nan |= _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
                _mm512_min_ps(v, acc)
            }
        }
    }

    /// `combine` of the quarters (`Q`, a `_mm512_shuffle_f32x4` pattern) or the pairs
    /// within quarters (`P`, a `_mm512_shuffle_ps` pattern) that the selectors pick
    /// from `x` and `y`.
    #[inline(always)]
    unsafe fn quarters<const OP: u8, const LO: i32, const HI: i32>(x: __m512, y: __m512) -> __m512 {
        let lo = _mm512_shuffle_f32x4::<LO>(x, y);
        let hi = _mm512_shuffle_f32x4::<HI>(x, y);
        combine::<OP>(lo, hi)
    }

    #[inline(always)]
    unsafe fn pairs<const OP: u8, const LO: i32, const HI: i32>(x: __m512, y: __m512) -> __m512 {
        combine::<OP>(_mm512_shuffle_ps::<LO>(x, y), _mm512_shuffle_ps::<HI>(x, y))
    }

    /// The 16 rows' results, in row order, from their 16-lane registers `r`.
    #[inline(always)]
    unsafe fn transpose_reduce<const OP: u8>(r: &[__m512; 16]) -> __m512 {
        // Lanes j and j + 8: register i holds rows 2i (lanes 0-7) and 2i + 1 (8-15).
        let s: [__m512; 8] =
            std::array::from_fn(|i| unsafe { quarters::<OP, 0x44, 0xEE>(r[2 * i], r[2 * i + 1]) });
        // Lanes j and j + 4: quarter q of register i holds row 4i + q.
        let t: [__m512; 4] =
            std::array::from_fn(|i| unsafe { quarters::<OP, 0x88, 0xDD>(s[2 * i], s[2 * i + 1]) });
        // Lanes j and j + 2: quarter q of register i holds rows 8i + q and 8i + 4 + q.
        let u: [__m512; 2] =
            std::array::from_fn(|i| unsafe { pairs::<OP, 0x44, 0xEE>(t[2 * i], t[2 * i + 1]) });
        // Lanes j and j + 1: lane 4q + k holds row q + 4k.
        let v = pairs::<OP, 0x88, 0xDD>(u[0], u[1]);
        let order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        _mm512_permutexvar_ps(order, v)
    }

    /// # Safety
    /// The CPU has AVX-512 F; `src` holds `out.len()` rows of `c >= 1` values.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn rows<const OP: u8>(src: &[f32], c: usize, out: &mut [f32]) {
        let pad = _mm512_set1_ps(super::identity(OP));
        let (full, tail) = (c / 16, c % 16);
        let tail_mask: __mmask16 = (1u32 << tail).wrapping_sub(1) as u16;
        let row = |p: *const f32| {
            // SAFETY: p starts a row of c values; the loads read its full 16-value
            // blocks, then its tail under a mask (masked lanes are not read).
            unsafe {
                let (mut acc, mut nan) = (pad, 0);
                for k in 0..full {
                    acc = fold::<OP>(acc, _mm512_loadu_ps(p.add(16 * k)), &mut nan);
                }
                if tail > 0 {
                    let t = _mm512_mask_loadu_ps(pad, tail_mask, p.add(16 * full));
                    acc = fold::<OP>(acc, t, &mut nan);
                }
                _mm512_mask_mov_ps(acc, nan, _mm512_set1_ps(f32::NAN))
            }
        };
        let n = out.len();
        for g in (0..n).step_by(16) {
            let m = (n - g).min(16);
            let mut r = [pad; 16];
            for (i, ri) in r.iter_mut().enumerate().take(m) {
                *ri = row(src.as_ptr().add((g + i) * c));
            }
            let v = transpose_reduce::<OP>(&r);
            // (m lanes: the group's rows; out[g..g + m] is in bounds.)
            let keep: __mmask16 = ((1u32 << m) - 1) as u16;
            _mm512_mask_storeu_ps(out.as_mut_ptr().add(g), keep, v);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// `a op b` lane by lane, as the AVX-512 `combine`.
    #[inline(always)]
    unsafe fn combine<const OP: u8>(a: __m256, b: __m256) -> __m256 {
        if OP == 0 {
            return _mm256_add_ps(a, b);
        }
        let wins = match OP {
            1 => _mm256_cmp_ps::<_CMP_GT_OQ>(b, a),
            _ => _mm256_cmp_ps::<_CMP_LT_OQ>(b, a),
        };
        let nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(b, b);
        _mm256_blendv_ps(a, b, _mm256_or_ps(wins, nan))
    }

    /// `acc op v` along a row, NaNs tracked apart, as the AVX-512 `fold` (a NaN lane
    /// of `nan` is all ones).
    #[inline(always)]
    unsafe fn fold<const OP: u8>(acc: __m256, v: __m256, nan: &mut __m256) -> __m256 {
        match OP {
            0 => _mm256_add_ps(acc, v),
            1 => {
                *nan = _mm256_or_ps(*nan, _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v));
                _mm256_max_ps(v, acc)
            }
            _ => {
                *nan = _mm256_or_ps(*nan, _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v));
                _mm256_min_ps(v, acc)
            }
        }
    }

    /// The 8 rows' results, in row order, from their 8-lane registers `r`.
    #[inline(always)]
    unsafe fn transpose_reduce<const OP: u8>(r: &[__m256; 8]) -> __m256 {
        // Lanes j and j + 4: register i holds rows 2i (lanes 0-3) and 2i + 1 (4-7).
        let s: [__m256; 4] = std::array::from_fn(|i| unsafe {
            let (x, y) = (r[2 * i], r[2 * i + 1]);
            let lo = _mm256_permute2f128_ps::<0x20>(x, y);
            combine::<OP>(lo, _mm256_permute2f128_ps::<0x31>(x, y))
        });
        // Lanes j and j + 2: half h of register i holds rows 4i + h and 4i + 2 + h.
        let t: [__m256; 2] = std::array::from_fn(|i| unsafe {
            let (x, y) = (s[2 * i], s[2 * i + 1]);
            combine::<OP>(
                _mm256_shuffle_ps::<0x44>(x, y),
                _mm256_shuffle_ps::<0xEE>(x, y),
            )
        });
        // Lanes j and j + 1: lane 4h + k holds row h + 2k.
        let v = combine::<OP>(
            _mm256_shuffle_ps::<0x88>(t[0], t[1]),
            _mm256_shuffle_ps::<0xDD>(t[0], t[1]),
        );
        _mm256_permutevar8x32_ps(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
    }

    /// A mask of the first `k` (< 8) lanes, for maskload/maskstore.
    #[inline(always)]
    unsafe fn first_lanes(k: usize) -> __m256i {
        let idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_cmpgt_epi32(_mm256_set1_epi32(k as i32), idx)
    }

    /// # Safety
    /// The CPU has AVX2; `src` holds `out.len()` rows of `c >= 1` values.
    #[target_feature(enable = "avx2")]
    pub unsafe fn rows<const OP: u8>(src: &[f32], c: usize, out: &mut [f32]) {
        let pad = _mm256_set1_ps(super::identity(OP));
        let (full, tail) = (c / 8, c % 8);
        let tail_mask = first_lanes(tail);
        let row = |p: *const f32| {
            // SAFETY: p starts a row of c values; the loads read its full 8-value
            // blocks, then its tail under a mask (masked lanes are not read).
            unsafe {
                let (mut acc, mut nan) = (pad, _mm256_setzero_ps());
                for k in 0..full {
                    acc = fold::<OP>(acc, _mm256_loadu_ps(p.add(8 * k)), &mut nan);
                }
                if tail > 0 {
                    let t = _mm256_maskload_ps(p.add(8 * full), tail_mask);
                    let t = _mm256_blendv_ps(pad, t, _mm256_castsi256_ps(tail_mask));
                    acc = fold::<OP>(acc, t, &mut nan);
                }
                // (All-ones bits are a NaN.)
                _mm256_or_ps(acc, nan)
            }
        };
        let n = out.len();
        for g in (0..n).step_by(8) {
            let m = (n - g).min(8);
            let mut r = [pad; 8];
            for (i, ri) in r.iter_mut().enumerate().take(m) {
                *ri = row(src.as_ptr().add((g + i) * c));
            }
            let v = transpose_reduce::<OP>(&r);
            let dst = out.as_mut_ptr().add(g);
            if m == 8 {
                _mm256_storeu_ps(dst, v);
            } else {
                // (m lanes: the group's rows; out[g..g + m] is in bounds.)
                _mm256_maskstore_ps(dst, first_lanes(m), v);
            }
        }
    }
}
