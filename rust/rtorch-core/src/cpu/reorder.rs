//! Copies that reorder elements (flip) and masks of matrix triangles (tril/triu).

use super::view::View;
use crate::element::Element;

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
