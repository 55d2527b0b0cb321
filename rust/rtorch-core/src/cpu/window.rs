//! Sliding-window kernels over one 2-D plane: `im2col` (the windows of a zero-padded
//! plane laid out as columns) and its adjoint `col2im` (columns summed back into the
//! plane). They copy whole output rows, computing the in-bounds range of each row once
//! instead of testing every element. Used by `F.unfold`/`F.fold` and the convolutions.

use crate::element::Element;

/// The indices `k` in `0..count` with `0 <= k * step + off < limit`, as a range `lo..hi`.
/// Computed once per row so that inner loops are plain (strided) copies.
#[inline]
pub fn valid_range(count: usize, step: usize, off: isize, limit: usize) -> (usize, usize) {
    let step_i = step as isize;
    let lo = if off >= 0 {
        0
    } else {
        ((-off) + step_i - 1) / step_i
    };
    let room = limit as isize - off; // k * step < room
    let hi = if room <= 0 {
        0
    } else {
        ((room + step_i - 1) / step_i) as usize
    };
    let hi = hi.min(count);
    let lo = (lo as usize).min(hi);
    (lo, hi)
}

/// Geometry of one plane's im2col: input `h x w`, output `kh*kw` rows of `oh*ow`.
#[derive(Clone, Copy, Debug)]
pub struct Plane {
    pub h: usize,
    pub w: usize,
    pub oh: usize,
    pub ow: usize,
    pub kernel: [usize; 2],
    pub dilation: [usize; 2],
    pub padding: [usize; 2],
    pub stride: [usize; 2],
}

impl Plane {
    pub fn cols_len(&self) -> usize {
        self.oh * self.ow
    }

    /// For kernel offset `(i, j)`: the output rows `ylo..yhi` whose input row lies in
    /// the plane, the output columns `lo..hi` whose input column does, and the input
    /// column of output column `lo`. Computed once per offset, so the row loops below
    /// do no division.
    #[inline]
    fn offset_ranges(&self, i: usize, j: usize) -> Ranges {
        let [sh, sw] = self.stride;
        let [dh, dw] = self.dilation;
        let [ph, pw] = self.padding;
        let row_off = (i * dh) as isize - ph as isize;
        let (ylo, yhi) = valid_range(self.oh, sh, row_off, self.h);
        let col_off = (j * dw) as isize - pw as isize;
        let (lo, hi) = valid_range(self.ow, sw, col_off, self.w);
        // An empty range has no start inside the row; 0 keeps the slicing in bounds.
        let start = if lo < hi {
            (lo as isize * sw as isize + col_off) as usize
        } else {
            0
        };
        Ranges {
            ylo,
            yhi,
            lo,
            hi,
            start,
            row_off,
        }
    }

    /// The input row of output row `oy` in `ylo..yhi`.
    #[inline(always)]
    fn input_row(&self, oy: usize, r: &Ranges) -> usize {
        (oy as isize * self.stride[0] as isize + r.row_off) as usize
    }
}

/// The in-bounds part of one kernel offset (see [`Plane::offset_ranges`]).
struct Ranges {
    ylo: usize,
    yhi: usize,
    lo: usize,
    hi: usize,
    start: usize,
    row_off: isize,
}

/// `dst = src` for rows of a few elements: an inline loop, because a `memcpy` call
/// costs more than the copy itself for the 5-30 element rows of small images.
#[inline(always)]
fn copy_row<T: Copy>(dst: &mut [T], src: &[T]) {
    if dst.len() >= 64 {
        dst.copy_from_slice(src);
    } else {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s;
        }
    }
}

/// One plane: `src` is `h*w`, `dst` is `kh*kw` rows of `oh*ow` (every element written).
pub fn im2col_plane<T: Element>(src: &[T], dst: &mut [T], p: &Plane) {
    let [kh, kw] = p.kernel;
    let sw = p.stride[1];
    let (l, ow) = (p.cols_len(), p.ow);
    for i in 0..kh {
        for j in 0..kw {
            let r = p.offset_ranges(i, j);
            let rows = &mut dst[(i * kw + j) * l..(i * kw + j + 1) * l];
            rows[..r.ylo * ow].fill(T::zero());
            rows[r.yhi * ow..].fill(T::zero());
            let n = r.hi - r.lo;
            for oy in r.ylo..r.yhi {
                let out = &mut rows[oy * ow..(oy + 1) * ow];
                out[..r.lo].fill(T::zero());
                out[r.hi..].fill(T::zero());
                let y = p.input_row(oy, &r);
                let src_row = &src[y * p.w + r.start..(y + 1) * p.w];
                if sw == 1 {
                    copy_row(&mut out[r.lo..r.hi], &src_row[..n]);
                } else {
                    for (o, &v) in out[r.lo..r.hi].iter_mut().zip(src_row.iter().step_by(sw)) {
                        *o = v;
                    }
                }
            }
        }
    }
}

/// One plane of the adjoint: zeroes `dst` (`h*w`), then adds every column entry of `src`
/// (`kh*kw` rows of `oh*ow`) into the pixel it was taken from.
pub fn col2im_plane<T: Element + std::ops::Add<Output = T>>(src: &[T], dst: &mut [T], p: &Plane) {
    let [kh, kw] = p.kernel;
    let sw = p.stride[1];
    let (l, ow) = (p.cols_len(), p.ow);
    dst.fill(T::zero());
    for i in 0..kh {
        for j in 0..kw {
            let r = p.offset_ranges(i, j);
            let rows = &src[(i * kw + j) * l..(i * kw + j + 1) * l];
            let n = r.hi - r.lo;
            for oy in r.ylo..r.yhi {
                let cols = &rows[oy * ow + r.lo..oy * ow + r.hi];
                let y = p.input_row(oy, &r);
                let dst_row = &mut dst[y * p.w + r.start..(y + 1) * p.w];
                if sw == 1 {
                    for (o, &v) in dst_row[..n].iter_mut().zip(cols) {
                        *o = *o + v;
                    }
                } else {
                    for (o, &v) in dst_row.iter_mut().step_by(sw).zip(cols) {
                        *o = *o + v;
                    }
                }
            }
        }
    }
}
