//! Depthwise convolutions (one input channel per group, any number of output channels
//! per group: MobileNet's 3x3 and ConvNeXt's 7x7 layers) computed plane by plane.
//!
//! The im2col route ran them as one product per group and sample, a single output row
//! by `kh * kw` rows: call and packing overhead around a few hundred multiply-adds.
//! 2 threads, 3x3, 16 samples, ms before / here / PyTorch, forward and forward +
//! backward: 960 x 7x7 5.8 / 1.2 / 0.6 and 13.6 / 2.4 / 1.8; 384 x 14x14 4.4 / 0.9 /
//! 0.9 and 8.8 / 2.3 / 2.6; 144 x 56x56 13.6 / 5.0 / 30.6 and 29.6 / 12.6 / 47.6; 96 x
//! 56x56 at stride 2 4.5 / 1.7-2.1 / 2.0 and 8.7 / 4.3-5.3 / 22.5. Then register blocks
//! across the taps (forward, unit-stride input gradient), tasks of several small planes
//! and the weight gradient in memory order: 960 x 7x7 1.2-1.4 -> 0.41-0.49 (PyTorch
//! 0.52) and 3.9-4.1 -> 1.6-2.1 (2.6); 384 x 14x14 1.0-1.5 -> 0.44-0.52 and 3.5-3.7 ->
//! 1.9-2.0; 144 x 56x56 5.2-6.8 -> 3.8-4.0 and 20-23 -> 15-18; 8 x 96 x 56x56 with 7x7
//! taps 5.2 -> 2.9-3.2 (3.7) and 17.2 -> 11.8-12.1 (117).
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

    /// The pixels of `src` (`h * w`) into their places in the phase buffer `buf` (the
    /// plane zero-padded, in phases): the same places for every plane, so a buffer
    /// zeroed once keeps its padding zero.
    fn write<T: ConvFloat>(&self, g: &ConvGeom, src: &[T], buf: &mut [T]) {
        let p = &g.plane;
        if p.stride == [1, 1] {
            // One phase: row y at padded row y + ph, column pw (no divisions by the
            // stride per row, a tenth of a 7x7 plane's forward).
            let at = p.padding[0] * self.width + p.padding[1];
            copy_plane(&mut buf[at..], self.width, src, p.w, [p.h, p.w]);
            return;
        }
        let sw = p.stride[1];
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
        let p = &g.plane;
        if p.stride == [1, 1] {
            // One phase, as in `write`.
            let at = p.padding[0] * self.width + p.padding[1];
            copy_plane(dst, p.w, &buf[at..], self.width, [p.h, p.w]);
            return;
        }
        let sw = p.stride[1];
        for (y, row) in dst.chunks_exact_mut(g.plane.w).enumerate() {
            for (x0, at) in self.row_runs(g, y) {
                let run = row[x0..].iter_mut().step_by(sw);
                run.zip(&buf[at..]).for_each(|(d, &v)| *d = v);
            }
        }
    }
}

/// Values a task's planes aim for (output planes in the forward, input planes in the
/// input gradient): small planes go several to a task, so that the scratch buffer is
/// taken and its padding zeroed once for all of them.
const TASK_OUTPUTS: usize = 4096;

/// Grid positions per register block of [`correlate`]: 64 float32 values are four
/// AVX-512 (eight AVX2) accumulators that stay in registers across the taps, four
/// independent chains of adds. (A pass over the grid per tap stored and reloaded every
/// accumulator: bound by store-to-load forwarding, 1.2 ms for 16 x 960 x 7x7.)
const BLOCK: usize = 64;

/// `out (n, o, oh, ow)` from `x (n, c, h, w)`, `w (o, 1, kh, kw)` and `bias`.
pub fn forward<T: ConvFloat>(g: &ConvGeom, x: &[T], w: &[T], bias: Option<&[T]>, out: &mut [T]) {
    let Some(grid) = Grid::new(g) else { return };
    let (hw, l, kk, og) = (grid.hw, grid.l, grid.kk, grid.og);
    let per_task = planes_per_task(l);
    super::par_chunks_mut(out, l * per_task, &|task, out| {
        with_scratch(grid.scratch(), |buf: &mut [T]| {
            let (phases, acc) = buf.split_at_mut(grid.buffer_len());
            // Every plane writes the same interior positions: the padding stays zero.
            zero(phases);
            let planes = sample_channels(task * per_task, g.o);
            for (out, (s, oc)) in out.chunks_exact_mut(l).zip(planes) {
                let ic = if og == 1 { oc } else { oc / og };
                grid.write(g, &x[(s * g.c + ic) * hw..][..hw], phases);
                let taps = &w[oc * kk..(oc + 1) * kk];
                let b = bias.map_or(T::zero(), |b| b[oc]);
                correlate_at_level(phases, &grid.offs, taps, b, acc);
                let p = &g.plane;
                copy_plane(out, p.ow, acc, grid.width, [p.oh, p.ow]);
            }
        });
    });
}

/// [`correlate`] compiled for the widest SIMD level, one copy for the forward and the
/// input gradient (the baseline level's copy is inlined where `at_widest_level` is
/// called).
#[inline(never)]
fn correlate_at_level<T: ConvFloat>(phases: &[T], offs: &[usize], taps: &[T], b: T, acc: &mut [T]) {
    at_widest_level(
        #[inline(always)]
        || correlate(phases, offs, taps, b, acc),
    );
}

/// `acc[q] = b + sum over taps t of w[t] * phases[q + off[t]]`, taps in order, for the
/// grid `acc` (a multiple of 16 long): blocks of [`BLOCK`] positions, then of 16.
#[inline(always)]
fn correlate<T: ConvFloat>(phases: &[T], offs: &[usize], taps: &[T], b: T, acc: &mut [T]) {
    let done = acc.len() - acc.len() % BLOCK;
    let mut blocks = acc.chunks_exact_mut(BLOCK);
    for (i, out) in (&mut blocks).enumerate() {
        // Four separate 16-lane arrays: LLVM keeps each in a register (one 64-lane
        // array stayed on the stack, loaded and stored at every tap).
        let q = i * BLOCK;
        let (mut r0, mut r1, mut r2, mut r3) = ([b; 16], [b; 16], [b; 16], [b; 16]);
        for (&off, &wt) in offs.iter().zip(taps) {
            let src = &phases[off + q..off + q + BLOCK];
            add_products(&mut r0, wt, &src[..16]);
            add_products(&mut r1, wt, &src[16..32]);
            add_products(&mut r2, wt, &src[32..48]);
            add_products(&mut r3, wt, &src[48..]);
        }
        for (o, r) in out.chunks_exact_mut(16).zip([r0, r1, r2, r3]) {
            o.copy_from_slice(&r);
        }
    }
    for (i, out) in blocks.into_remainder().chunks_exact_mut(16).enumerate() {
        let q = done + i * 16;
        let mut r = [b; 16];
        for (&off, &wt) in offs.iter().zip(taps) {
            add_products(&mut r, wt, &phases[off + q..off + q + 16]);
        }
        out.copy_from_slice(&r);
    }
}

/// `r[j] += wt * src[j]`: the product rounded, then added (never fused).
#[inline(always)]
fn add_products<T: ConvFloat>(r: &mut [T; 16], wt: T, src: &[T]) {
    for (r, &v) in r.iter_mut().zip(src) {
        *r = *r + wt * v;
    }
}

/// The rows of one output plane's `dy` into the grid `dst`, whose other positions (the
/// dropped columns, the rounding up to 16) are never written: zeroed once, they stay
/// zero for every plane.
fn dy_grid<T: ConvFloat>(g: &ConvGeom, grid: &Grid, dy: &[T], dst: &mut [T]) {
    let p = &g.plane;
    copy_plane(dst, grid.width, dy, p.ow, [p.oh, p.ow]);
}

/// `rows x cols` values from `src` (rows `src_stride` apart) to `dst` (rows
/// `dst_stride` apart). Out of line: the short-row copies it expands to were repeated
/// in every loop that moves a plane (30 KB of the extension).
#[inline(never)]
fn copy_plane<T: Copy>(
    dst: &mut [T],
    dst_stride: usize,
    src: &[T],
    src_stride: usize,
    [rows, cols]: [usize; 2],
) {
    for r in 0..rows {
        copy_row(
            &mut dst[r * dst_stride..][..cols],
            &src[r * src_stride..][..cols],
        );
    }
}

/// Planes per task for planes of `len` values: [`TASK_OUTPUTS`] values or one plane.
fn planes_per_task(len: usize) -> usize {
    (TASK_OUTPUTS / len.max(1)).max(1)
}

/// `(sample, channel)` of plane `first` and of the planes after it, for `channels`
/// planes a sample: counted up rather than divided out per plane.
fn sample_channels(first: usize, channels: usize) -> impl Iterator<Item = (usize, usize)> {
    let start = (first / channels.max(1), first % channels.max(1));
    std::iter::successors(Some(start), move |&(s, c)| {
        Some(if c + 1 == channels {
            (s + 1, 0)
        } else {
            (s, c + 1)
        })
    })
}

/// `gx (n, c, h, w)` from `gy (n, o, oh, ow)` and `w`; every weight finite.
pub fn backward_input<T: ConvFloat>(g: &ConvGeom, gy: &[T], w: &[T], gx: &mut [T]) {
    let Some(grid) = Grid::new(g) else { return };
    let (hw, l, kk, og) = (grid.hw, grid.l, grid.kk, grid.og);
    if g.plane.stride == [1, 1] && og == 1 {
        return backward_input_gathered(g, &grid, gy, w, gx);
    }
    let per_task = planes_per_task(hw);
    super::par_chunks_mut(gx, hw * per_task, &|task, gx| {
        with_scratch(grid.scratch(), |buf: &mut [T]| {
            let (phases, dy) = buf.split_at_mut(grid.buffer_len());
            // Every plane writes the same positions of `dy` (`dy_grid`); the adjoint
            // adds into all of `phases`.
            zero(dy);
            let planes = sample_channels(task * per_task, g.c);
            for (gx, (s, ic)) in gx.chunks_exact_mut(hw).zip(planes) {
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
            }
        });
    });
}

/// [`backward_input`] for unit stride and one output channel per input channel, as a
/// correlation: `x'[p] = sum over taps t of w[t] * dy[p - off[t]]` (`dy` zero outside
/// its grid), the forward's register blocks over `dy` at the mirrored offsets
/// `front - off[t]`. The same bits as the adjoint's pass per tap (which stored and
/// reloaded every value at every tap): both sums start from +0 and add the same
/// products in tap order; the extra products here are zeros (the weights are finite),
/// and adding a zero leaves such a sum unchanged (it is never -0).
fn backward_input_gathered<T: ConvFloat>(
    g: &ConvGeom,
    grid: &Grid,
    gy: &[T],
    w: &[T],
    gx: &mut [T],
) {
    let p = &g.plane;
    let (hw, l, kk) = (grid.hw, grid.l, grid.kk);
    // `dy` at `front` onwards in grid layout, zeros before and after it; the gathered
    // rows are the padded plane's rows ph..ph + h, from position `first`.
    let front = grid.offs.iter().copied().max().unwrap_or(0);
    let mirrored: Vec<usize> = grid.offs.iter().map(|&o| front - o).collect();
    let first = p.padding[0] * grid.width;
    let rows_len = (p.h * grid.width).next_multiple_of(16);
    let dy_len = (first + front + rows_len).max(front + grid.len);
    let per_task = planes_per_task(hw);
    super::par_chunks_mut(gx, hw * per_task, &|task, gx| {
        with_scratch(dy_len + rows_len, |buf: &mut [T]| {
            let (dy, acc) = buf.split_at_mut(dy_len);
            // Every plane writes the same positions (`dy_grid`).
            zero(dy);
            let planes = sample_channels(task * per_task, g.c);
            for (gx, (s, c)) in gx.chunks_exact_mut(hw).zip(planes) {
                dy_grid(g, grid, &gy[(s * g.o + c) * l..][..l], &mut dy[front..]);
                let taps = &w[c * kk..(c + 1) * kk];
                correlate_at_level(&dy[first..], &mirrored, taps, T::zero(), acc);
                copy_plane(gx, p.w, &acc[p.padding[1]..], grid.width, [p.h, p.w]);
            }
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
    // A task takes a run of output channels and goes sample by sample through all of
    // them, reading each sample's planes in memory order (one channel through every
    // sample jumped a whole sample between reads of a few hundred bytes). Each
    // channel's sum still runs over the samples in order.
    let per_task = planes_per_task(l.max(hw));
    super::par_chunks_mut(gw, kk * per_task, &|task, gw| {
        gw.fill(T::zero());
        with_scratch(grid.scratch(), |buf: &mut [T]| {
            let (phases, dy) = buf.split_at_mut(grid.buffer_len());
            // Each plane writes the same positions of both buffers.
            zero(phases);
            zero(dy);
            for s in 0..g.n {
                for (j, gw) in gw.chunks_exact_mut(kk).enumerate() {
                    let oc = task * per_task + j;
                    grid.write(g, &x[(s * g.c + oc / og) * hw..][..hw], phases);
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
            }
        });
    });
}
