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
    // The plain walk reads one cache line per element along an output row and finds
    // it again for the next rows, unless the row's lines crowd into a few cache sets:
    // when the strided step is a multiple of 1 KiB (power-of-two shapes) they evict
    // each other. Only then do tiles pay (measured: 1024 x 1024 float32 2.8 -> 1.2 ms,
    // 2000 x 700 1.0 -> 1.6 ms).
    let step_bytes = ss[a] * std::mem::size_of::<T>();
    if a == b || !step_bytes.is_multiple_of(TILED_STEP) || shape[a] < TILE || shape[b] < TILE {
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

/// Copies `src` into the contiguous `out` in row-major order, reading the dims in
/// `flip` backwards.
pub fn flip<T: Element>(src: View<'_, T>, out: &mut [T], flip: &[usize]) {
    let shape = src.shape();
    let nd = shape.len();
    let mut base = 0isize;
    let mut strides: Vec<isize> = src.strides().iter().map(|&s| s as isize).collect();
    for &d in flip {
        base += (shape[d] as isize - 1) * strides[d];
        strides[d] = -strides[d];
    }
    let ps = src.ptr();
    let mut idx = vec![0usize; nd];
    let mut off = base;
    for o in out.iter_mut() {
        // SAFETY: `off` walks the flipped layout, every position of which is a valid
        // element of src (it starts at the last element of each flipped dim).
        *o = unsafe { *ps.offset(off) };
        let mut d = nd;
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            off += strides[d];
            if idx[d] < shape[d] {
                break;
            }
            off -= strides[d] * shape[d] as isize;
            idx[d] = 0;
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
            for (j, v) in row.iter_mut().enumerate() {
                let d = j as i64 - i as i64;
                if (lower && d > k) || (!lower && d < k) {
                    *v = T::zero();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;

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
        // Taken (and correct, tails included): float32 steps of 4 KiB, 2 KiB, 1 KiB.
        assert!(transposed::<f32>(&[1024, 1024], &[1, 0]).is_some());
        assert!(transposed::<f32>(&[100, 512], &[1, 0]).is_some());
        assert!(transposed::<f32>(&[3, 100, 256], &[0, 2, 1]).is_some());
        assert!(transposed::<f32>(&[2, 33, 1024], &[0, 2, 1]).is_some());
        assert!(transposed::<u8>(&[40, 1024], &[1, 0]).is_some());
        // Declined: other steps, equal unit dims, a plane side under one tile.
        assert!(transposed::<f32>(&[256, 1000], &[1, 0]).is_none());
        assert!(transposed::<u8>(&[100, 512], &[1, 0]).is_none());
        assert!(transposed::<f32>(&[16, 128, 8, 32], &[0, 2, 1, 3]).is_none());
        assert!(transposed::<f32>(&[31, 1024], &[1, 0]).is_none());
        assert!(transposed::<f32>(&[1024, 31], &[1, 0]).is_none());
    }
}
