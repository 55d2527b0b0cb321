//! Average pooling over contiguous `(volumes, D, H, W)` buffers (a 2-D pool has depth
//! 1), forward and backward, float32 and float64.
//!
//! A window's sum is separable: the sums of each output row's window rows across the
//! width, then along that row's windows, then of the planes along each depth window. A
//! window of `kd x kh x kw` elements costs `kh + kw + kd` additions per output instead
//! of their product, and the row and plane passes add whole rows and planes
//! (vectorised). The backward runs the adjoints of the original order (rows' windows,
//! then rows, then planes) in reverse: each output gradient divided by its window's
//! divisor, spread over the depth taps, then the rows, then the columns.
//!
//! Each volume is one task (its sums run in a fixed order), so results do not depend
//! on the thread count.

use super::math::at_widest_level;
use crate::element::num_like::FloatOps;
use std::ops::Range;

/// One pooling axis: input length, output length and window (no dilation).
#[derive(Clone, Copy, Debug)]
pub struct AvgAxis {
    pub size: usize,
    pub out: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

/// What a window's sum is divided by.
#[derive(Clone, Copy, Debug)]
pub enum Divisor {
    /// The window's size, counting its padding (`count_include_pad`) or not.
    Window { include_pad: bool },
    /// `divisor_override`.
    Fixed(i64),
}

/// One output position's window along an axis: the in-bounds input range and the
/// divisor factor (the window clipped to the padded input, or to the input).
#[derive(Clone, Debug)]
struct Win {
    taps: Range<usize>,
    factor: usize,
}

/// PyTorch's windows along one axis: `start = o s - p`, `end = min(start + k, size +
/// p)`, counted before (`include_pad`) or after clipping to the input.
fn windows(a: &AvgAxis, include_pad: bool) -> Vec<Win> {
    (0..a.out)
        .map(|o| {
            let start = (o * a.stride) as isize - a.padding as isize;
            let end = (start + a.kernel as isize).min((a.size + a.padding) as isize);
            let first = start.max(0) as usize;
            let last = (end.max(0) as usize).min(a.size).max(first);
            let factor = if include_pad {
                (end - start).max(0) as usize
            } else {
                last - first
            };
            Win {
                taps: first..last,
                factor,
            }
        })
        .collect()
}

/// The outputs whose windows are whole (`kernel` taps in bounds): a range, since the
/// windows move right monotonically.
fn whole(wins: &[Win], kernel: usize) -> Range<usize> {
    let start = wins
        .iter()
        .position(|w| w.taps.len() == kernel)
        .unwrap_or(wins.len());
    let len = wins[start..]
        .iter()
        .take_while(|w| w.taps.len() == kernel)
        .count();
    start..start + len
}

/// The three axes' windows, depth first, and each output's divisor.
struct Plan<T> {
    axes: [AvgAxis; 3],
    wins: [Vec<Win>; 3],
    /// The row outputs whose windows are whole.
    whole: Range<usize>,
    /// Each output's divisor, `od*oh*ow` values.
    divisor: Vec<T>,
}

impl<T: FloatOps> Plan<T> {
    fn new(axes: [AvgAxis; 3], divisor: Divisor) -> Plan<T> {
        let include_pad = matches!(divisor, Divisor::Window { include_pad: true });
        let wins = axes.map(|a| windows(&a, include_pad));
        let whole = whole(&wins[2], axes[2].kernel);
        let mut div = Vec::with_capacity(axes[0].out * axes[1].out * axes[2].out);
        for wd in &wins[0] {
            for wh in &wins[1] {
                for ww in &wins[2] {
                    div.push(T::from_f64(match divisor {
                        Divisor::Fixed(v) => v as f64,
                        // Each factor is at most its axis's padded size, so the product
                        // is exact in f64 for any tensor that fits in memory.
                        Divisor::Window { .. } => (wd.factor * wh.factor * ww.factor) as f64,
                    }));
                }
            }
        }
        Plan {
            axes,
            wins,
            whole,
            divisor: div,
        }
    }

    fn plane(&self) -> usize {
        self.axes[1].size * self.axes[2].size
    }
    fn out_plane(&self) -> usize {
        self.axes[1].out * self.axes[2].out
    }
    /// A 2-D pool: one input plane, one output plane, nothing summed over depth.
    fn flat(&self) -> bool {
        self.axes[0].size == 1 && self.axes[0].out == 1 && self.wins[0][0].taps == (0..1)
    }
}

/// `dst[o]` = the sum of `src` over row window `o`; whole windows tap by tap across
/// the row (independent additions that vectorise, with the stride known at compile
/// time for 1 and 2).
#[inline(always)]
fn row_sums<T: FloatOps>(src: &[T], dst: &mut [T], p: &Plan<T>) {
    let (wins, whole) = (&p.wins[2], p.whole.clone());
    let zero = T::from_f64(0.0);
    for o in (0..whole.start).chain(whole.end..dst.len()) {
        dst[o] = src[wins[o].taps.clone()]
            .iter()
            .fold(zero, |acc, &v| acc + v);
    }
    if whole.is_empty() {
        return;
    }
    let (x0, k, s) = (
        wins[whole.start].taps.start,
        p.axes[2].kernel,
        p.axes[2].stride,
    );
    let d = &mut dst[whole];
    match s {
        1 => whole_row_sums::<T, 1>(src, d, x0, k, s),
        2 => whole_row_sums::<T, 2>(src, d, x0, k, s),
        _ => whole_row_sums::<T, 0>(src, d, x0, k, s),
    }
}

/// Row sums over whole windows starting at `x0` and `S` apart (`s` when `S` is 0).
/// Every sum starts from zero, as PyTorch's (a window of -0.0 sums to 0.0).
#[inline(always)]
fn whole_row_sums<T: FloatOps, const S: usize>(
    src: &[T],
    dst: &mut [T],
    x0: usize,
    k: usize,
    s: usize,
) {
    let s = if S == 0 { s } else { S };
    let span = (dst.len() - 1) * s + k;
    let src = &src[x0..x0 + span];
    dst.fill(T::from_f64(0.0));
    for t in 0..k {
        for (j, v) in dst.iter_mut().enumerate() {
            *v = *v + src[j * s + t];
        }
    }
}

/// `acc += src`, elementwise.
#[inline(always)]
fn add_to<T: FloatOps>(acc: &mut [T], src: &[T]) {
    acc.iter_mut().zip(src).for_each(|(a, &v)| *a = *a + v);
}

/// Sets `dst` to the sum of the rows of `src` (each `len` long) in `taps` (zero for
/// none: the argument checks leave no window empty, but nothing here relies on it).
#[inline(always)]
fn sum_rows<T: FloatOps>(src: &[T], len: usize, taps: Range<usize>, dst: &mut [T]) {
    let mut rows = taps.map(|r| &src[r * len..(r + 1) * len]);
    match rows.next() {
        Some(first) => dst.copy_from_slice(first),
        None => dst.fill(T::from_f64(0.0)),
    }
    rows.for_each(|r| add_to(dst, r));
}

/// One input plane's window sums (`plane` is `oh*ow`): each output row's window rows
/// added across the whole width (contiguous, vectorised) into `col` (`w`), then that
/// row's windows. (Row windows first cost a strided pass over every input row: 4x4
/// windows at stride 4 ran at 0.6-0.7x PyTorch's speed.)
#[inline(always)]
fn plane_sums<T: FloatOps>(p: &Plan<T>, slice: &[T], plane: &mut [T], col: &mut [T]) {
    let aw = p.axes[2];
    for (oy, dst) in plane.chunks_exact_mut(aw.out).enumerate() {
        sum_rows(slice, aw.size, p.wins[1][oy].taps.clone(), col);
        row_sums(col, dst, p);
    }
}

/// One volume's forward: `src` is `d*h*w`, `out` `od*oh*ow`; `col` (`w`) and `planes`
/// (`d*oh*ow`, unused by a 2-D pool, whose planes are the output) are scratch.
#[inline(always)]
fn forward_volume<T: FloatOps>(
    p: &Plan<T>,
    src: &[T],
    out: &mut [T],
    col: &mut [T],
    planes: &mut [T],
) {
    let (hw, ol, flat) = (p.plane(), p.out_plane(), p.flat());
    let sums: &mut [T] = if flat { &mut *out } else { &mut *planes };
    for (z, plane) in sums.chunks_exact_mut(ol).enumerate() {
        plane_sums(p, &src[z * hw..(z + 1) * hw], plane, col);
    }
    if !flat {
        for (od, dst) in out.chunks_exact_mut(ol).enumerate() {
            sum_rows(planes, ol, p.wins[0][od].taps.clone(), dst);
        }
    }
    out.iter_mut()
        .zip(&p.divisor)
        .for_each(|(v, &q)| *v = *v / q);
}

/// One volume's backward: `go` is `od*oh*ow`, `gi` `d*h*w`; `scaled` (`od*oh*ow`),
/// `planes` (`d*oh*ow`) and `rows` (`h*ow`) are scratch.
#[inline(always)]
fn backward_volume<T: FloatOps>(
    p: &Plan<T>,
    go: &[T],
    gi: &mut [T],
    scaled: &mut [T],
    planes: &mut [T],
    rows: &mut [T],
) {
    let aw = p.axes[2];
    let (hw, ol) = (p.plane(), p.out_plane());
    let zero = T::from_f64(0.0);
    scaled
        .iter_mut()
        .zip(go.iter().zip(&p.divisor))
        .for_each(|(s, (&g, &q))| *s = g / q);
    planes.fill(zero);
    for (od, g) in scaled.chunks_exact(ol).enumerate() {
        for z in p.wins[0][od].taps.clone() {
            add_to(&mut planes[z * ol..(z + 1) * ol], g);
        }
    }
    for (z, plane) in planes.chunks_exact(ol).enumerate() {
        rows.fill(zero);
        for (oy, g) in plane.chunks_exact(aw.out).enumerate() {
            for y in p.wins[1][oy].taps.clone() {
                add_to(&mut rows[y * aw.out..(y + 1) * aw.out], g);
            }
        }
        let slice = &mut gi[z * hw..(z + 1) * hw];
        for (dst, g) in slice
            .chunks_exact_mut(aw.size)
            .zip(rows.chunks_exact(aw.out))
        {
            dst.fill(zero);
            for (w, &v) in p.wins[2].iter().zip(g) {
                dst[w.taps.clone()].iter_mut().for_each(|d| *d = *d + v);
            }
        }
    }
}

/// One volume's forward with its scratch, compiled for the widest vector unit. Never
/// inlined: one body serves the parallel and the serial loop.
#[inline(never)]
fn forward_one<T: FloatOps>(p: &Plan<T>, src: &[T], out: &mut [T]) {
    let zero = T::from_f64(0.0);
    let mut col = vec![zero; p.axes[2].size];
    let planes_len = if p.flat() {
        0
    } else {
        p.axes[0].size * p.out_plane()
    };
    let mut planes = vec![zero; planes_len];
    at_widest_level(
        #[inline(always)]
        || forward_volume(p, src, out, &mut col, &mut planes),
    )
}

/// One volume's backward, as [`forward_one`] but at the baseline level: its scatter
/// gains little from wider vectors (3-5% here), and the extension has no room for two
/// more copies.
#[inline(never)]
fn backward_one<T: FloatOps>(p: &Plan<T>, go: &[T], gi: &mut [T]) {
    let zero = T::from_f64(0.0);
    let mut scaled = vec![zero; go.len()];
    let mut planes = vec![zero; p.axes[0].size * p.out_plane()];
    let mut rows = vec![zero; p.axes[1].size * p.axes[2].out];
    backward_volume(p, go, gi, &mut scaled, &mut planes, &mut rows)
}

/// `run(c, chunk)` for every `len`-sized chunk of `out` (one volume each), in parallel
/// when there are several and `work` element visits in all reach the grain size.
fn for_volumes<T: Send>(
    out: &mut [T],
    len: usize,
    work: usize,
    run: &(impl Fn(usize, &mut [T]) + Sync),
) {
    let volumes = out.len() / len;
    if volumes > 1 && work >= super::GRAIN && super::get_num_threads() > 1 {
        super::par_chunks_mut(out, len, run);
    } else {
        out.chunks_mut(len).enumerate().for_each(|(c, o)| run(c, o));
    }
}

/// The forward over all volumes (`src` is `volumes*d*h*w`, `dst` `volumes*od*oh*ow`),
/// or with `backward` its adjoint (`src` the output gradient, `dst` the input
/// gradient); `axes` are depth, height, width.
pub fn avg_pool<T: FloatOps>(
    src: &[T],
    dst: &mut [T],
    axes: [AvgAxis; 3],
    divisor: Divisor,
    backward: bool,
) {
    let p = Plan::<T>::new(axes, divisor);
    let (vol, out_vol) = (axes[0].size * p.plane(), axes[0].out * p.out_plane());
    if vol == 0 || out_vol == 0 {
        return;
    }
    let (src_len, dst_len) = if backward {
        (out_vol, vol)
    } else {
        (vol, out_vol)
    };
    let work = src.len().max(dst.len());
    for_volumes(dst, dst_len, work, &|c, d| {
        let s = &src[c * src_len..(c + 1) * src_len];
        if backward {
            backward_one(&p, s, d)
        } else {
            forward_one(&p, s, d)
        }
    });
}
