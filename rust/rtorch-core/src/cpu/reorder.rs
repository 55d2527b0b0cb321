//! Copies that reorder elements (flip, transposing copies) and masks of matrix
//! triangles (tril/triu).

use super::view::{View, ViewMut};
use super::{par_for, SendPtr, GRAIN};
use crate::element::Element;

/// Tile edge of the transposing copy: a 32 x 32 tile of 4-byte elements is 4 KiB.
const TILE: usize = 32;

/// Source steps (bytes) that are multiples of this make the plain walk thrash.
const TILED_STEP: usize = 1024;

/// `out = src` (same shape) when the two walk their unit-stride dims in different
/// places, as `x.t().contiguous()` does: copied in TILE x TILE tiles, so that the
/// strided side reuses each cache line it touches for a whole tile instead of loading
/// one line per element. Returns false, copying nothing, for other layouts (or planes
/// too small to tile). `out` must not overlap `src`.
pub fn copy_transposing<T: Element>(out: &ViewMut<'_, T>, src: &View<'_, T>) -> bool {
    let shape = out.shape();
    let (os, ss) = (out.strides(), src.strides());
    let unit = |st: &[usize]| (0..shape.len()).rev().find(|&d| st[d] == 1 && shape[d] > 1);
    let (Some(a), Some(b)) = (unit(os), unit(ss)) else {
        return false;
    };
    if a == b {
        return false;
    }
    // 2-, 4- and 8-byte elements with AVX2: 8 x 8 (4 x 4 for 8 bytes) blocks
    // transposed in registers, whatever the step (1 thread, float32: 256 x 256 121 ->
    // 15 us, 1024 x 1024 1.34 -> 0.53 ms).
    let edge = block_edge(std::mem::size_of::<T>());
    let blocks = edge.is_some() && super::math::has_avx2_fma();
    // Otherwise element by element: the plain walk reads one cache line per element
    // along an output row and finds it again for the next rows, unless the row's lines
    // crowd into a few cache sets: when the strided step is a multiple of 1 KiB
    // (power-of-two shapes) they evict each other. Only then do tiles pay (measured:
    // 1024 x 1024 float32 2.8 -> 1.2 ms, 2000 x 700 1.0 -> 1.6 ms).
    let step_bytes = ss[a] * std::mem::size_of::<T>();
    let (min_side, tiled) = match (blocks, edge) {
        (true, Some(edge)) => (edge, true),
        _ => (TILE, step_bytes.is_multiple_of(TILED_STEP)),
    };
    if !tiled || shape[a] < min_side || shape[b] < min_side {
        return false;
    }
    // Tiles of the (b, a) plane: rows i along b (unit stride in src), columns j along
    // a (unit stride in out); every other dim is an outer index.
    let outer: Vec<usize> = (0..shape.len()).filter(|&d| d != a && d != b).collect();
    let (na, nb) = (shape[a], shape[b]);
    let row_tiles = nb.div_ceil(TILE);
    let planes = out.numel() / (na * nb);
    let (po, ps) = (SendPtr(out.ptr()), SendPtr(src.ptr() as *mut T));
    let (osb, ssa) = (os[b], ss[a]);
    let task = |t: usize| {
        let (mut rest, rt) = (t / row_tiles, t % row_tiles);
        let (mut oo, mut so) = (0usize, 0usize);
        for &d in outer.iter().rev() {
            let i = rest % shape[d];
            rest /= shape[d];
            oo += i * os[d];
            so += i * ss[d];
        }
        let (i0, i1) = (rt * TILE, (rt * TILE + TILE).min(nb));
        if blocks {
            let (o, s) = (po.get().wrapping_add(oo), ps.get().wrapping_add(so));
            // SAFETY: as below, element by element; T has the size each arm names and
            // moves as bits; AVX2 is in use (`blocks`).
            unsafe {
                match std::mem::size_of::<T>() {
                    2 => blocked_tile_16(o.cast(), osb, s.cast(), ssa, (i0, i1), na),
                    4 => blocked_tile(o.cast(), osb, s.cast(), ssa, (i0, i1), na),
                    _ => blocked_tile_64(o.cast(), osb, s.cast(), ssa, (i0, i1), na),
                }
            };
            return;
        }
        for j0 in (0..na).step_by(TILE) {
            let j1 = (j0 + TILE).min(na);
            for i in i0..i1 {
                for j in j0..j1 {
                    // SAFETY: (outer index, i, j) is an index of the shared shape, so
                    // both offsets lie inside their views; each task writes its own
                    // rows i of its own plane, and `out` does not overlap `src`.
                    unsafe { *po.get().add(oo + i * osb + j) = *ps.get().add(so + i + j * ssa) };
                }
            }
        }
    };
    let tasks = planes * row_tiles;
    if out.numel() < GRAIN {
        (0..tasks).for_each(task);
    } else {
        par_for(tasks, &task);
    }
    true
}

/// `out[i * osb + j] = src[i + j * ssa]` for `i < rows` and `j < cols`: a transposing
/// copy (4- and 8-byte elements in 8 x 8 and 4 x 4 register blocks where AVX2 is in use).
///
/// # Panics
/// If either slice is too short for the offsets named above.
pub fn transpose<T: Element>(
    src: &[T],
    ssa: usize,
    rows: usize,
    cols: usize,
    out: &mut [T],
    osb: usize,
) {
    if rows == 0 || cols == 0 {
        return;
    }
    assert!(
        (rows - 1) + (cols - 1) * ssa < src.len(),
        "transpose: source too short"
    );
    assert!(
        (rows - 1) * osb + cols - 1 < out.len(),
        "transpose: output too short"
    );
    let (o, s) = (out.as_mut_ptr(), src.as_ptr());
    // SAFETY (both arms): AVX2 is in use; every offset is inside its slice (checked
    // above), `out`, borrowed mutably, cannot overlap `src`, and T has the size the arm
    // names and moves as bits.
    match std::mem::size_of::<T>() {
        4 if super::math::has_avx2_fma() => unsafe {
            blocked_tile(o.cast(), osb, s.cast(), ssa, (0, rows), cols)
        },
        8 if super::math::has_avx2_fma() => unsafe {
            blocked_tile_64(o.cast(), osb, s.cast(), ssa, (0, rows), cols)
        },
        _ => {
            for i in 0..rows {
                for j in 0..cols {
                    out[i * osb + j] = src[i + j * ssa];
                }
            }
        }
    }
}

/// The edge of the register-transposed blocks for elements of `bytes` bytes, if they
/// have them.
fn block_edge(bytes: usize) -> Option<usize> {
    match bytes {
        2 | 4 => Some(8),
        8 => Some(4),
        _ => None,
    }
}

/// `blocked_tile_*`: rows `i0..i1` of one plane of a transposing copy, `out[i * osb +
/// j] = src[i + j * ssa]` for every `j < na`, in `$edge` x `$edge` register blocks
/// (`$block`) where they fit and one by one at the edges.
///
/// # Safety
/// AVX2 is present (it is the level in use); every offset named above is inside its
/// buffer, and the rows written do not overlap `src` or other threads' rows.
macro_rules! blocked_tiles {
    ($($name:ident: $t:ty, $edge:literal, $block:ident;)*) => {$(
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        unsafe fn $name(
            out: *mut $t,
            osb: usize,
            src: *const $t,
            ssa: usize,
            (i0, i1): (usize, usize),
            na: usize,
        ) {
            let one = |i: usize, j: usize| {
                // SAFETY: (i, j) is in the plane (the caller's contract).
                unsafe { *out.add(i * osb + j) = *src.add(i + j * ssa) }
            };
            let (ie, je) = (i0 + (i1 - i0) / $edge * $edge, na / $edge * $edge);
            // Along j outside: each source row's stretch i0..ie is read whole, once,
            // and the destination's (at most TILE) rows stay in cache while j moves
            // along them.
            for j in (0..je).step_by($edge) {
                for i in (i0..ie).step_by($edge) {
                    // SAFETY: rows j..j+edge of src hold columns i..i+edge, and rows
                    // i..i+edge of out columns j..j+edge (the caller's contract).
                    unsafe { $block(src.add(i + j * ssa), ssa, out.add(i * osb + j), osb) };
                }
            }
            for i in i0..ie {
                (je..na).for_each(|j| one(i, j));
            }
            for i in ie..i1 {
                (0..na).for_each(|j| one(i, j));
            }
        }

        #[cfg(not(target_arch = "x86_64"))]
        unsafe fn $name(
            _out: *mut $t,
            _osb: usize,
            _src: *const $t,
            _ssa: usize,
            _rows: (usize, usize),
            _na: usize,
        ) {
            unreachable!("has_avx2_fma() is false off x86_64")
        }
    )*};
}
blocked_tiles! {
    blocked_tile_16: u16, 8, transpose_8x8_16;
    blocked_tile: f32, 8, transpose_8x8;
    blocked_tile_64: f64, 4, transpose_4x4_64;
}

/// One 8 x 8 block of 2-byte elements (`transpose_8x8`'s contract): 16-, 32- then
/// 64-bit unpacks interleave rows, then pairs, then quads into columns.
///
/// # Safety
/// AVX2 is present; both blocks lie inside their buffers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn transpose_8x8_16(s: *const u16, ss: usize, d: *mut u16, ds: usize) {
    use std::arch::x86_64::*;
    // SAFETY: eight 16-byte unaligned loads and stores inside the blocks.
    unsafe {
        let r: [__m128i; 8] =
            std::array::from_fn(|k| _mm_loadu_si128(s.add(k * ss) as *const __m128i));
        let a: [__m128i; 8] = std::array::from_fn(|k| {
            let (x, y) = (r[k / 2 * 2], r[k / 2 * 2 + 1]);
            if k % 2 == 0 {
                _mm_unpacklo_epi16(x, y)
            } else {
                _mm_unpackhi_epi16(x, y)
            }
        });
        // a[2p] holds columns 0-3 of rows 2p, 2p+1 interleaved, a[2p+1] columns 4-7.
        let b: [__m128i; 8] = std::array::from_fn(|k| {
            let (g, h) = (k / 4 * 4, k % 4 / 2);
            let (x, y) = (a[g + h], a[g + h + 2]);
            if k % 2 == 0 {
                _mm_unpacklo_epi32(x, y)
            } else {
                _mm_unpackhi_epi32(x, y)
            }
        });
        // b[4q + c] holds columns 2c, 2c+1 of rows 4q..4q+4.
        for c in 0..8 {
            let (x, y) = (b[c / 2], b[4 + c / 2]);
            let v = if c % 2 == 0 {
                _mm_unpacklo_epi64(x, y)
            } else {
                _mm_unpackhi_epi64(x, y)
            };
            _mm_storeu_si128(d.add(c * ds) as *mut __m128i, v);
        }
    }
}

/// One 4 x 4 block of 8-byte elements (`transpose_8x8`'s contract): unpacks pair the
/// rows, 128-bit permutes join the halves.
///
/// # Safety
/// AVX2 is present; both blocks lie inside their buffers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn transpose_4x4_64(s: *const f64, ss: usize, d: *mut f64, ds: usize) {
    use std::arch::x86_64::*;
    // SAFETY: four 32-byte unaligned loads and stores inside the blocks.
    unsafe {
        let r: [__m256d; 4] = std::array::from_fn(|k| _mm256_loadu_pd(s.add(k * ss)));
        let t0 = _mm256_unpacklo_pd(r[0], r[1]);
        let t1 = _mm256_unpackhi_pd(r[0], r[1]);
        let t2 = _mm256_unpacklo_pd(r[2], r[3]);
        let t3 = _mm256_unpackhi_pd(r[2], r[3]);
        let cols = [
            _mm256_permute2f128_pd::<0x20>(t0, t2),
            _mm256_permute2f128_pd::<0x20>(t1, t3),
            _mm256_permute2f128_pd::<0x31>(t0, t2),
            _mm256_permute2f128_pd::<0x31>(t1, t3),
        ];
        for (k, v) in cols.iter().enumerate() {
            _mm256_storeu_pd(d.add(k * ds), *v);
        }
    }
}

/// One 8 x 8 block: eight rows of eight 4-byte elements at `s` (row stride `ss`) written
/// as eight rows at `d` (row stride `ds`), transposed (see [`transpose_regs`]). Bits
/// move unchanged (any 4-byte type).
///
/// # Safety
/// AVX2 is present; both blocks lie inside their buffers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn transpose_8x8(s: *const f32, ss: usize, d: *mut f32, ds: usize) {
    use std::arch::x86_64::*;
    // SAFETY: eight 32-byte unaligned loads and stores inside the blocks.
    unsafe {
        let r: [__m256; 8] = std::array::from_fn(|k| _mm256_loadu_ps(s.add(k * ss)));
        for (k, v) in transpose_regs(r).iter().enumerate() {
            _mm256_storeu_ps(d.add(k * ds), *v);
        }
    }
}

/// Eight rows of eight floats, transposed: element `j` of row `i` becomes element `i`
/// of row `j`. Unpacks interleave pairs of rows, shuffles gather four-row groups,
/// 128-bit permutes join the halves.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) fn transpose_regs(r: [std::arch::x86_64::__m256; 8]) -> [std::arch::x86_64::__m256; 8] {
    use std::arch::x86_64::*;
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}

/// Copies `src` into the contiguous `out` in row-major order, reading the dims in
/// `flip` backwards. Row by row: a unit-stride row is one copy (reversed when its dim
/// is flipped, which LLVM vectorises with a lane reversal); an odometer over the outer
/// dims finds each row's start. (Element by element through the odometer it took 10x
/// PyTorch's time.) Runs of rows go to the threads above the grain size.
pub fn flip<T: Element>(src: View<'_, T>, out: &mut [T], flip: &[usize]) {
    let shape = src.shape();
    let inner = shape.last().copied().unwrap_or(1);
    if out.is_empty() || inner == 0 {
        return;
    }
    let mut base = 0isize;
    let mut strides: Vec<isize> = src.strides().iter().map(|&s| s as isize).collect();
    for &d in flip {
        base += (shape[d] as isize - 1) * strides[d];
        strides[d] = -strides[d];
    }
    let walk = FlipWalk {
        src: SendPtr(src.ptr() as *mut T),
        shape,
        strides: &strides,
        base,
        inner,
    };
    let rows_per_task = GRAIN.div_ceil(inner);
    if out.len() <= GRAIN {
        walk.rows(0, out);
    } else {
        super::par_chunks_mut(out, rows_per_task * inner, &|c, chunk| {
            walk.rows(c * rows_per_task, chunk)
        });
    }
}

/// The flipped layout of [`flip`]: element offsets from `base` with the flipped dims'
/// strides negated.
struct FlipWalk<'a, T> {
    src: SendPtr<T>,
    shape: &'a [usize],
    strides: &'a [isize],
    base: isize,
    inner: usize,
}

impl<T: Element> FlipWalk<'_, T> {
    /// Writes rows `first..` (as many as `out` holds) of the flipped copy into `out`.
    fn rows(&self, first: usize, out: &mut [T]) {
        let (shape, strides, inner) = (self.shape, self.strides, self.inner);
        let outer = shape.len().saturating_sub(1);
        // The outer index of row `first` (row-major over the outer dims).
        let mut idx = vec![0usize; outer];
        let mut off = self.base;
        let mut rest = first;
        for d in (0..outer).rev() {
            idx[d] = rest % shape[d];
            rest /= shape[d];
            off += idx[d] as isize * strides[d];
        }
        let step = strides.last().copied().unwrap_or(1);
        let ps = self.src.get() as *const T;
        for row in out.chunks_exact_mut(inner) {
            // SAFETY: `off` is the flipped layout's position of this row's first
            // element; the row's `inner` elements lie `step` apart from it inside src
            // (a flipped row starts at its last element, so a step of -1 covers
            // off-inner+1..=off).
            unsafe {
                let first = ps.offset(off);
                match step {
                    1 => row.copy_from_slice(std::slice::from_raw_parts(first, inner)),
                    -1 => {
                        let run = std::slice::from_raw_parts(first.sub(inner - 1), inner);
                        for (o, v) in row.iter_mut().zip(run.iter().rev()) {
                            *o = *v;
                        }
                    }
                    _ => {
                        for (j, o) in row.iter_mut().enumerate() {
                            *o = *first.offset(j as isize * step);
                        }
                    }
                }
            }
            crate::layout::step_row_major(&mut idx, &shape[..outer], &strides[..outer], &mut off);
        }
    }
}

/// Zeroes, in each contiguous `r x c` matrix of `m`, the elements above diagonal `k`
/// (`lower`: tril) or below it (triu).
pub fn zero_triangle<T: Element>(m: &mut [T], r: usize, c: usize, k: i64, lower: bool) {
    if r * c == 0 {
        return;
    }
    for mat in m.chunks_mut(r * c) {
        for (i, row) in mat.chunks_mut(c).enumerate() {
            // Row i keeps columns j with j - i <= k (lower) or >= k (upper); the bound
            // i + k clamped to the row, in i128 so that no k overflows.
            let edge = (i as i128 + k as i128).clamp(-1, c as i128);
            let zeros = if lower {
                let first = (edge + 1).min(c as i128) as usize;
                &mut row[first..]
            } else {
                &mut row[..edge.max(0) as usize]
            };
            zeros.fill(T::zero());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;

    #[test]
    fn zero_triangle_matches_an_element_by_element_test() {
        let (r, c) = (5, 7);
        let ks = [i64::MIN, -9, -7, -3, -1, 0, 1, 2, 6, 7, 9, i64::MAX];
        for lower in [true, false] {
            for k in ks {
                let mut m: Vec<f32> = (0..2 * r * c).map(|v| v as f32 + 1.0).collect();
                zero_triangle(&mut m, r, c, k, lower);
                for (at, v) in m.iter().enumerate() {
                    let (i, j) = ((at % (r * c)) / c, at % c);
                    let d = j as i128 - i as i128;
                    let zero = if lower { d > k as i128 } else { d < k as i128 };
                    let want = if zero { 0.0 } else { at as f32 + 1.0 };
                    assert_eq!(*v, want, "lower {lower} k {k} at {at}");
                }
            }
        }
    }

    /// `src.permute(perm)` copied into a contiguous buffer by `copy_transposing`, if it
    /// takes the layouts (the result checked against an index-by-index copy).
    fn transposed<T: Element>(shape: &[usize], perm: &[usize]) -> Option<Vec<T>> {
        let src_layout = Layout::contiguous(shape).permute(perm);
        let data: Vec<T> = (0..src_layout.numel())
            .map(|i| T::cast_from_f64((i % 251) as f64))
            .collect();
        let out_layout = Layout::contiguous(&src_layout.shape);
        let mut out = vec![T::zero(); data.len()];
        // SAFETY: both layouts address their own buffers of numel elements.
        let taken = unsafe {
            copy_transposing(
                &ViewMut::new(out.as_mut_ptr(), &out_layout),
                &View::new(data.as_ptr(), &src_layout),
            )
        };
        if !taken {
            return None;
        }
        // The reference: walk the output's indices in order.
        let sh = &src_layout.shape;
        let mut idx = vec![0usize; sh.len()];
        for o in &out {
            let off: usize = idx
                .iter()
                .zip(&src_layout.strides)
                .map(|(i, s)| i * s)
                .sum();
            assert_eq!(o.to_f64(), data[off].to_f64());
            for d in (0..sh.len()).rev() {
                idx[d] += 1;
                if idx[d] < sh[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        Some(out)
    }

    #[test]
    fn tiles_only_where_the_strided_step_is_a_multiple_of_1_kib() {
        // Taken (and correct, tails included): steps of 4 KiB, 2 KiB, 1 KiB.
        assert!(transposed::<f32>(&[1024, 1024], &[1, 0]).is_some());
        assert!(transposed::<f32>(&[100, 512], &[1, 0]).is_some());
        assert!(transposed::<f32>(&[3, 100, 256], &[0, 2, 1]).is_some());
        assert!(transposed::<f32>(&[2, 33, 1024], &[0, 2, 1]).is_some());
        assert!(transposed::<u8>(&[40, 1024], &[1, 0]).is_some());
        assert!(transposed::<f64>(&[64, 512], &[1, 0]).is_some());
        // Declined: other steps, equal unit dims, a plane side under one tile (2-, 4-
        // and 8-byte elements go through register blocks instead where AVX2 is in use).
        let blocks = crate::cpu::math::has_avx2_fma();
        assert_eq!(transposed::<f32>(&[256, 1000], &[1, 0]).is_some(), blocks);
        assert_eq!(transposed::<f32>(&[31, 1024], &[1, 0]).is_some(), blocks);
        assert_eq!(transposed::<i32>(&[1024, 31], &[1, 0]).is_some(), blocks);
        assert!(transposed::<u8>(&[100, 512], &[1, 0]).is_none());
        assert_eq!(transposed::<f64>(&[100, 500], &[1, 0]).is_some(), blocks);
        assert_eq!(
            transposed::<half::bf16>(&[100, 500], &[1, 0]).is_some(),
            blocks
        );
        assert!(transposed::<f32>(&[16, 128, 8, 32], &[0, 2, 1, 3]).is_none());
        assert!(transposed::<f32>(&[7, 1024], &[1, 0]).is_none());
    }

    #[test]
    fn blocks_cover_tails_and_outer_dims() {
        // Checked element by element against the source inside `transposed`: sides
        // that are and are not multiples of 8 and of the 32-row task, outer dims.
        for (shape, perm) in [
            (&[8usize, 8][..], &[1usize, 0][..]),
            (&[9, 17], &[1, 0]),
            (&[33, 65], &[1, 0]),
            (&[100, 37], &[1, 0]),
            (&[3, 40, 12], &[0, 2, 1]),
            (&[12, 5, 40], &[2, 1, 0]),
            (&[2, 3, 19, 70], &[1, 0, 3, 2]),
        ] {
            let taken = transposed::<f32>(shape, perm).is_some();
            assert_eq!(
                taken,
                crate::cpu::math::has_avx2_fma(),
                "{shape:?} {perm:?}"
            );
            transposed::<i32>(shape, perm);
            // 2-byte elements in 8 x 8 blocks, 8-byte ones in 4 x 4 (distinct values
            // up to 251, so a misplaced element shows).
            assert_eq!(transposed::<i16>(shape, perm).is_some(), taken);
            assert_eq!(transposed::<half::f16>(shape, perm).is_some(), taken);
            assert_eq!(transposed::<i64>(shape, perm).is_some(), taken);
            assert_eq!(transposed::<f64>(shape, perm).is_some(), taken);
        }
        // 8-byte blocks of 4: sides between 4 and 8.
        for shape in [[5usize, 7], [4, 4], [6, 13]] {
            let taken = transposed::<i64>(&shape, &[1, 0]).is_some();
            assert_eq!(taken, crate::cpu::math::has_avx2_fma(), "{shape:?}");
        }
    }
}
