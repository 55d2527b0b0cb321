//! Sliding-window kernels over one 2-D plane: `im2col` (the windows of a zero-padded
//! plane laid out as columns) and its adjoint `col2im` (columns summed back into the
//! plane). They copy whole output rows, with the in-bounds range of every kernel offset
//! computed once per kernel call ([`Taps`]) instead of per element or per plane. Used by
//! `F.unfold`/`F.fold` and the convolutions.

use crate::dtype::DType;
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
#[derive(Clone, Copy, Debug)]
struct Ranges {
    ylo: usize,
    yhi: usize,
    lo: usize,
    hi: usize,
    start: usize,
    row_off: isize,
}

/// `dst = src` without a call into `memcpy`: two fixed-size chunk copies (a few vector
/// moves each), the second overlapping the first instead of a tail loop. For the 5-30
/// element rows of small images a `memcpy` call, or a copy loop (which LLVM turns back
/// into one), costs more than the copy itself.
#[inline(always)]
pub(super) fn copy_row<T: Copy>(dst: &mut [T], src: &[T]) {
    let n = dst.len();
    let src = &src[..n];
    macro_rules! overlapping {
        ($c:literal) => {{
            dst[..$c].copy_from_slice(&src[..$c]);
            dst[n - $c..].copy_from_slice(&src[n - $c..]);
        }};
    }
    match n {
        0 => {}
        1 => dst[0] = src[0],
        2..=3 => overlapping!(2),
        4..=7 => overlapping!(4),
        8..=15 => overlapping!(8),
        16..=31 => overlapping!(16),
        _ => dst.copy_from_slice(src),
    }
}

/// `dst = 0` from `zeros` (built once per call), for the few padding elements at a
/// row's ends; as [`copy_row`], no call into `memset`.
#[inline(always)]
fn zero_row<T: Element>(dst: &mut [T], zeros: &[T; 16]) {
    let n = dst.len();
    if n == 0 {
    } else if n <= 16 {
        copy_row(dst, &zeros[..n]);
    } else {
        dst.fill(T::zero());
    }
}

/// The in-bounds ranges of every kernel offset of one plane geometry, computed once
/// per kernel call; `im2col`/`col2im` then run over many planes with no division.
pub struct Taps {
    plane: Plane,
    ranges: Vec<Ranges>,
    /// For planes of at most [`GATHER_PIXELS`] pixels: `col2im`'s sum per pixel.
    gather: Option<Gather>,
    /// For planes of under 256 pixels: `im2col`'s source pixel of every column entry.
    sources: Option<Sources>,
}

/// The source pixel of every column entry of a plane of under 256 pixels, offset by
/// offset (`kh*kw` rows of `oh*ow`), `h*w` for padding. `im2col` then fills a row with
/// one indexed load per entry from the plane plus a trailing zero: on a 7x7 plane, the
/// row form's copies of 6 or 7 values and their padding, each sized and placed
/// separately, took a sixth of 8 x 512 x 7x7 -> 512's forward. The indices are bytes
/// into a 256-entry array, so the loads need no bounds checks.
struct Sources(Vec<u8>);

/// Column entries a [`Sources`] table holds at most (bytes).
const SOURCES_MAX: usize = 1 << 16;

impl Sources {
    fn new(p: &Plane, ranges: &[Ranges]) -> Option<Sources> {
        let pixels = p.h.checked_mul(p.w)?;
        let l = p.cols_len();
        let zero = u8::try_from(pixels).ok()?;
        if l == 0 || ranges.len().checked_mul(l)? > SOURCES_MAX {
            return None;
        }
        let mut table = vec![zero; ranges.len() * l];
        for (r, row) in ranges.iter().zip(table.chunks_exact_mut(l)) {
            for oy in r.ylo..r.yhi {
                let y = p.input_row(oy, r);
                for (k, ox) in (r.lo..r.hi).enumerate() {
                    // In bounds: y < h and the column < w, so the pixel is below `zero`.
                    row[oy * p.ow + ox] = (y * p.w + r.start + k * p.stride[1]) as u8;
                }
            }
        }
        Some(Sources(table))
    }
}

/// Planes up to this many pixels run `col2im` as a gather ([`Gather`]).
const GATHER_PIXELS: usize = 64;

/// The column entries each pixel of a small plane sums in `col2im`: pixel `q`'s are
/// `entries[starts[q]..starts[q + 1]]`, each a (kernel offset, output position) pair,
/// in increasing kernel offset (the order in which the row form adds them, so both
/// give the same bits).
///
/// The row form adds each kernel offset's rows into the plane in turn, so on a plane
/// of a few cache lines every add reads values the previous offset's adds stored just
/// before, at other offsets and widths, which the CPU cannot forward from its store
/// queue: a 16 x 512 x 4x4 input gradient spent a quarter of its time on one such
/// load. The gather keeps each pixel's sum in a register and stores it once.
struct Gather {
    starts: Vec<u32>,
    entries: Vec<(u32, u32)>,
}

impl Gather {
    fn new(p: &Plane, ranges: &[Ranges]) -> Option<Gather> {
        let pixels = p.h.checked_mul(p.w)?;
        if pixels > GATHER_PIXELS {
            return None;
        }
        let mut lists = vec![Vec::new(); pixels];
        for (t, r) in ranges.iter().enumerate() {
            for oy in r.ylo..r.yhi {
                let y = p.input_row(oy, r);
                for (k, ox) in (r.lo..r.hi).enumerate() {
                    let x = r.start + k * p.stride[1];
                    let entry = (u32::try_from(t).ok()?, u32::try_from(oy * p.ow + ox).ok()?);
                    lists[y * p.w + x].push(entry);
                }
            }
        }
        let mut starts = vec![0u32];
        let mut entries = Vec::new();
        for list in lists {
            entries.extend(list);
            starts.push(u32::try_from(entries.len()).ok()?);
        }
        Some(Gather { starts, entries })
    }
}

impl Taps {
    pub fn new(plane: Plane) -> Taps {
        let [kh, kw] = plane.kernel;
        let ranges: Vec<Ranges> = (0..kh)
            .flat_map(|i| (0..kw).map(move |j| (i, j)))
            .map(|(i, j)| plane.offset_ranges(i, j))
            .collect();
        let gather = Gather::new(&plane, &ranges);
        let sources = Sources::new(&plane, &ranges);
        Taps {
            plane,
            ranges,
            gather,
            sources,
        }
    }

    /// One plane: `src` is `h*w`; kernel offset `t` of the columns is the `oh*ow` row
    /// starting at `dst[t * ld]` (`ld >= oh*ow`; every element of those rows written,
    /// nothing between them touched).
    pub fn im2col<T: Element>(&self, src: &[T], dst: &mut [T], ld: usize) {
        let p = &self.plane;
        // (float32 only: a copy of this loop in every element type's kernel would cost
        // the extension's size more than the other types' unfolds gain.)
        if let (Some(Sources(table)), true) = (&self.sources, T::DTYPE == DType::F32) {
            let (hw, l) = (p.h * p.w, p.cols_len());
            let mut plane = [T::zero(); 256];
            plane[..hw].copy_from_slice(&src[..hw]);
            for (t, pixels) in table.chunks_exact(l).enumerate() {
                for (o, &q) in dst[t * ld..t * ld + l].iter_mut().zip(pixels) {
                    *o = plane[usize::from(q)];
                }
            }
            return;
        }
        let [sh, sw] = p.stride;
        let (l, ow, w) = (p.cols_len(), p.ow, p.w);
        let zeros = [T::zero(); 16];
        for (t, r) in self.ranges.iter().enumerate() {
            let rows = &mut dst[t * ld..t * ld + l];
            zero_row(&mut rows[..r.ylo * ow], &zeros);
            zero_row(&mut rows[r.yhi * ow..], &zeros);
            if r.ylo == r.yhi {
                continue;
            }
            let y0 = p.input_row(r.ylo, r);
            let rows = &mut rows[r.ylo * ow..r.yhi * ow];
            if sw == 1 && r.lo == 0 && r.hi == ow {
                // The hot case (no padding in this row direction, unit stride): whole
                // output rows are runs of the input row.
                for (k, out) in rows.chunks_exact_mut(ow).enumerate() {
                    let s0 = (y0 + k * sh) * w + r.start;
                    copy_row(out, &src[s0..s0 + ow]);
                }
                continue;
            }
            let n = r.hi - r.lo;
            for (k, out) in rows.chunks_exact_mut(ow).enumerate() {
                zero_row(&mut out[..r.lo], &zeros);
                zero_row(&mut out[r.hi..], &zeros);
                let src_row = &src[(y0 + k * sh) * w + r.start..(y0 + k * sh + 1) * w];
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

    /// The adjoint of [`Taps::im2col`] for one plane: zeroes `dst` (`h*w`), then adds
    /// every column entry (kernel offset `t` is the row at `src[t * ld]`) into the
    /// pixel it was taken from.
    ///
    /// Planes of up to [`GATHER_PIXELS`] pixels sum each pixel's entries at once
    /// ([`Gather`]).
    pub fn col2im<T: Element + std::ops::Add<Output = T>>(
        &self,
        src: &[T],
        ld: usize,
        dst: &mut [T],
    ) {
        if let Some(g) = &self.gather {
            for (o, span) in dst.iter_mut().zip(g.starts.windows(2)) {
                let mut sum = T::zero();
                for &(t, pos) in &g.entries[span[0] as usize..span[1] as usize] {
                    sum = sum + src[t as usize * ld + pos as usize];
                }
                *o = sum;
            }
            return;
        }
        let p = &self.plane;
        let sw = p.stride[1];
        let (l, ow) = (p.cols_len(), p.ow);
        dst.fill(T::zero());
        for (t, r) in self.ranges.iter().enumerate() {
            let rows = &src[t * ld..t * ld + l];
            let n = r.hi - r.lo;
            for oy in r.ylo..r.yhi {
                let cols = &rows[oy * ow + r.lo..oy * ow + r.hi];
                let y = p.input_row(oy, r);
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
