//! Depthwise convolutions (one input channel per group, any number of output channels
//! per group: MobileNet's 3x3 and ConvNeXt's 7x7 layers) computed plane by plane.
//!
//! The im2col route ran them as one product per group and sample, a single output row
//! by `kh * kw` rows: call and packing overhead around a few hundred multiply-adds.
//! 2 threads, 3x3, 16 samples, ms before / here / PyTorch, forward and forward +
//! backward: 960 x 7x7 5.8 / 1.2 / 0.6 and 13.6 / 2.4 / 1.8; 384 x 14x14 4.4 / 0.9 /
//! 0.9 and 8.8 / 2.3 / 2.6; 144 x 56x56 13.6 / 5.0 / 30.6 and 29.6 / 12.6 / 47.6; 96 x
//! 56x56 at stride 2 4.5 / 1.7-2.1 / 2.0 and 8.7 / 4.3-5.3 / 22.5.
//!
//! Each input plane is zero-padded into `sh * sw` phase planes (padded row `Y`, column
//! `X` goes to phase `(Y % sh, X % sw)` at `(Y / sh, X / sw)`), all `width` wide. Output
//! `(oy, ox)` is grid position `q = oy * width + ox`, and kernel tap `(i, j)` reads the
//! phase of `(i * dh, j * dw)` at `q` plus a fixed offset: every tap is one contiguous
//! multiply-add over the grid, which vectorises, and every tap's pass reads and writes
//! the same aligned positions (a shifted range per tap would reload values the previous
//! tap just stored, which the store queue cannot forward on small planes). The grid
//! columns past `ow` are computed and dropped.
//!
//! - forward: `out[q] = bias + sum over taps of w[t] * x[q + off[t]]`, taps in order.
//! - input gradient: the adjoint, `x'[q + off[t]] += w[t] * dy[q]` over a zero-filled
//!   phase buffer (`dy` zero at the dropped columns), then the unpadded pixels read
//!   back. The weights must be finite (an infinite weight times those zeros would be
//!   NaN); the caller checks.
//! - weight gradient: `dw[t] = sum over samples of dot(dy, x from off[t])`, samples in
//!   order; the input must be finite for the same reason.
//!
//! Each output element is one sum in a fixed order (products rounded, then added:
//! never fused, on every SIMD level), and work is split over planes (the weight
//! gradient over channels, each summing its samples in order), so the results do not
//! depend on the thread count or the SIMD level.

use super::conv::{with_scratch, ConvFloat, ConvGeom};
use super::math::at_widest_level;
use super::window::copy_row;

/// Most elements of one plane's phase buffer: larger planes (or absurd paddings) stay
/// with the other kernels.
const MAX_PHASES: usize = 1 << 22;

/// Whether a convolution runs here: several groups of one input channel each.
pub fn applies(g: &ConvGeom) -> bool {
    let p = &g.plane;
    let planes = p.h.min(p.w).min(p.oh).min(p.ow);
    g.groups > 1 && g.c == g.groups && g.o > 0 && planes > 0 && Grid::new(g).is_some()
}

/// `dst = 0` in 16-element copies: these buffers are a few hundred elements, where a
/// `memset` call (like a `memcpy` per short row) costs more than the writes.
fn zero<T: ConvFloat>(dst: &mut [T]) {
    let zeros = [T::zero(); 16];
    for c in dst.chunks_mut(16) {
        copy_row(c, &zeros);
    }
}

/// One plane's phase layout and the grid's tap offsets.
struct Grid {
    /// Phase planes: rows of `width`, then slack for the last tap's reads.
    phase_len: usize,
    phases: usize,
    width: usize,
    /// Grid positions computed: `oh` rows of `width`, rounded up to a multiple of 16
    /// (whole vectors at every level: a scalar tail of up to 15 per tap cost about as
    /// much as the vectors on 7x7 planes). The buffer has room for the last tap's
    /// reads past the phases; `dy` is zero past the grid.
    len: usize,
    /// Per tap: phase index * phase_len + row offset * width + column offset.
    offs: Vec<usize>,
    /// Input and output plane sizes, taps, output channels per input channel.
    hw: usize,
    l: usize,
    kk: usize,
    og: usize,
}

impl Grid {
    fn new(g: &ConvGeom) -> Option<Grid> {
        let p = &g.plane;
        let [sh, sw] = p.stride;
        let [dh, dw] = p.dilation;
        let [kh, kw] = p.kernel;
        if sh == 0 || sw == 0 {
            return None;
        }
        let hp = p.h.checked_add(p.padding[0].checked_mul(2)?)?;
        let wp = p.w.checked_add(p.padding[1].checked_mul(2)?)?;
        let (rows, width) = (hp.div_ceil(sh), wp.div_ceil(sw));
        let slack = kw.checked_sub(1)?.checked_mul(dw)? / sw;
        let phase_len = rows.checked_mul(width)?.checked_add(slack)?;
        let phases = sh.checked_mul(sw)?;
        if phase_len.checked_mul(phases)? > MAX_PHASES {
            return None;
        }
        let len = p.oh.checked_mul(width)?.checked_next_multiple_of(16)?;
        let mut offs = Vec::with_capacity(kh.checked_mul(kw)?);
        for i in 0..kh {
            for j in 0..kw {
                let (y, x) = (i.checked_mul(dh)?, j.checked_mul(dw)?);
                let phase = (y % sh) * sw + x % sw;
                offs.push(phase * phase_len + (y / sh) * width + x / sw);
            }
        }
        Some(Grid {
            phase_len,
            phases,
            width,
            len,
            offs,
            hw: p.h.checked_mul(p.w)?,
            l: p.oh.checked_mul(p.ow)?,
            kk: kh * kw,
            og: g.o / g.c,
        })
    }

    fn buffer_len(&self) -> usize {
        self.phases * self.phase_len + 15
    }

    /// A plane's scratch: the phase buffer, then a grid.
    fn scratch(&self) -> usize {
        self.buffer_len() + self.len
    }

    /// Where row `y` of the unpadded plane goes: for each of its first `sw` pixels
    /// `x0`, the buffer index of `x0`; pixels `x0 + k * sw` follow it at `+ k`.
    fn row_runs(&self, g: &ConvGeom, y: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let p = &g.plane;
        let ([sh, sw], [ph, pw]) = (p.stride, p.padding);
        let yy = y + ph;
        let base = (yy % sh) * sw * self.phase_len + (yy / sh) * self.width;
        (0..sw.min(p.w)).map(move |x0| {
            let xx = x0 + pw;
            (x0, base + (xx % sw) * self.phase_len + xx / sw)
        })
    }

    /// `buf` = the plane `src` (`h * w`) zero-padded, in phases.
    fn fill<T: ConvFloat>(&self, g: &ConvGeom, src: &[T], buf: &mut [T]) {
        let sw = g.plane.stride[1];
        zero(buf);
        for (y, row) in src.chunks_exact(g.plane.w).enumerate() {
            for (x0, at) in self.row_runs(g, y) {
                if sw == 1 {
                    copy_row(&mut buf[at..at + row.len()], row);
                    continue;
                }
                let run = row[x0..].iter().step_by(sw);
                buf[at..].iter_mut().zip(run).for_each(|(d, &v)| *d = v);
            }
        }
    }

    /// `dst` (`h * w`) = the unpadded pixels of the phase buffer `buf`.
    fn read<T: ConvFloat>(&self, g: &ConvGeom, buf: &[T], dst: &mut [T]) {
        let sw = g.plane.stride[1];
        for (y, row) in dst.chunks_exact_mut(g.plane.w).enumerate() {
            for (x0, at) in self.row_runs(g, y) {
                let run = row[x0..].iter_mut().step_by(sw);
                run.zip(&buf[at..]).for_each(|(d, &v)| *d = v);
            }
        }
    }
}

/// `out (n, o, oh, ow)` from `x (n, c, h, w)`, `w (o, 1, kh, kw)` and `bias`.
pub fn forward<T: ConvFloat>(g: &ConvGeom, x: &[T], w: &[T], bias: Option<&[T]>, out: &mut [T]) {
    let Some(grid) = Grid::new(g) else { return };
    let (hw, l, kk, og) = (grid.hw, grid.l, grid.kk, grid.og);
    super::par_chunks_mut(out, l, &|plane, out| {
        let (s, oc) = (plane / g.o, plane % g.o);
        let src = &x[(s * g.c + oc / og) * hw..][..hw];
        let taps = &w[oc * kk..(oc + 1) * kk];
        let b = bias.map_or(T::zero(), |b| b[oc]);
        with_scratch(grid.scratch(), |buf: &mut [T]| {
            let (phases, acc) = buf.split_at_mut(grid.buffer_len());
            grid.fill(g, src, phases);
            at_widest_level(
                #[inline(always)]
                || {
                    acc.fill(b);
                    for (&off, &wt) in grid.offs.iter().zip(taps) {
                        for (a, &v) in acc.iter_mut().zip(&phases[off..off + grid.len]) {
                            *a = *a + wt * v;
                        }
                    }
                },
            );
            for (row, acc_row) in out.chunks_exact_mut(g.plane.ow).zip(acc.chunks(grid.width)) {
                copy_row(row, acc_row);
            }
        });
    });
}

/// `dy` of one output plane in grid layout (zero at the dropped columns).
fn dy_grid<T: ConvFloat>(g: &ConvGeom, grid: &Grid, dy: &[T], dst: &mut [T]) {
    let ow = g.plane.ow;
    zero(dst);
    for (row, d) in dy.chunks_exact(ow).zip(dst.chunks_mut(grid.width)) {
        copy_row(&mut d[..ow], row);
    }
}

/// `gx (n, c, h, w)` from `gy (n, o, oh, ow)` and `w`; every weight finite.
pub fn backward_input<T: ConvFloat>(g: &ConvGeom, gy: &[T], w: &[T], gx: &mut [T]) {
    let Some(grid) = Grid::new(g) else { return };
    let (hw, l, kk, og) = (grid.hw, grid.l, grid.kk, grid.og);
    super::par_chunks_mut(gx, hw, &|plane, gx| {
        let (s, ic) = (plane / g.c, plane % g.c);
        with_scratch(grid.scratch(), |buf: &mut [T]| {
            let (phases, dy) = buf.split_at_mut(grid.buffer_len());
            zero(phases);
            for oc in ic * og..(ic + 1) * og {
                dy_grid(g, &grid, &gy[(s * g.o + oc) * l..][..l], dy);
                let taps = &w[oc * kk..(oc + 1) * kk];
                at_widest_level(
                    #[inline(always)]
                    || {
                        for (&off, &wt) in grid.offs.iter().zip(taps) {
                            let dst = &mut phases[off..off + grid.len];
                            for (d, &v) in dst.iter_mut().zip(&*dy) {
                                *d = *d + wt * v;
                            }
                        }
                    },
                );
            }
            grid.read(g, phases, gx);
        });
    });
}

/// `sum a[i] * b[i]` in 16 lanes, then the lanes added in a fixed tree.
#[inline(always)]
fn dot<T: ConvFloat>(a: &[T], b: &[T]) -> T {
    let mut lanes = [T::zero(); 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for ((l, &u), &v) in lanes.iter_mut().zip(x).zip(y) {
            *l = *l + u * v;
        }
    }
    for ((l, &u), &v) in lanes.iter_mut().zip(ra).zip(rb) {
        *l = *l + u * v;
    }
    let mut width = 16;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            lanes[i] = lanes[i] + lanes[i + width];
        }
    }
    lanes[0]
}

/// `gw (o, 1, kh, kw)` from `gy` and `x`; every input value finite.
pub fn backward_weight<T: ConvFloat>(g: &ConvGeom, gy: &[T], x: &[T], gw: &mut [T]) {
    let Some(grid) = Grid::new(g) else { return };
    let (hw, l, kk, og) = (grid.hw, grid.l, grid.kk, grid.og);
    super::par_chunks_mut(gw, kk, &|oc, gw| {
        gw.fill(T::zero());
        with_scratch(grid.scratch(), |buf: &mut [T]| {
            let (phases, dy) = buf.split_at_mut(grid.buffer_len());
            for s in 0..g.n {
                grid.fill(g, &x[(s * g.c + oc / og) * hw..][..hw], phases);
                dy_grid(g, &grid, &gy[(s * g.o + oc) * l..][..l], dy);
                at_widest_level(
                    #[inline(always)]
                    || {
                        for (d, &off) in gw.iter_mut().zip(&grid.offs) {
                            *d = *d + dot(dy, &phases[off..off + grid.len]);
                        }
                    },
                );
            }
        });
    });
}
