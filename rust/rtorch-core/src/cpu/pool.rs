//! Max-pooling kernels over contiguous `(planes, H, W)` or `(volumes, D, H, W)`
//! buffers: the forward writes the window maxima and their flat in-plane (in-volume)
//! indices in one pass; the backward scatters each output gradient onto its argmax.
//! Work is split by whole planes or volumes (one thread owns one, so the backward's
//! additions run in a fixed order for any thread count).
//!
//! The in-bounds part of every window row and column is computed once per call (no
//! divisions in the inner loops).

use crate::element::Element;

/// Geometry of one pooling call: input plane `h x w`, output plane `oh x ow`, and the
/// window (kernel, stride, padding, dilation) per axis.
#[derive(Clone, Copy, Debug)]
pub struct PoolGeom {
    pub h: usize,
    pub w: usize,
    pub oh: usize,
    pub ow: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
}

/// For each output position along one axis: the first in-bounds input coordinate of its
/// window and how many window taps (spaced `dil`) are in bounds.
fn axis_taps(
    out: usize,
    size: usize,
    k: usize,
    s: usize,
    p: usize,
    dil: usize,
) -> Vec<(usize, usize)> {
    (0..out)
        .map(|o| {
            let start = (o * s) as isize - p as isize;
            let mut first = None;
            let mut count = 0;
            for t in 0..k {
                let c = start + (t * dil) as isize;
                if c >= 0 && (c as usize) < size {
                    if first.is_none() {
                        first = Some(c as usize);
                    }
                    count += 1;
                }
            }
            (first.unwrap_or(0), count)
        })
        .collect()
}

/// The maximum of one window and its flat index. Rule (as PyTorch's CPU kernel): a
/// later element replaces the best when it is greater or NaN, so the first maximum wins
/// among equals and the last NaN wins; a window of only -inf picks its first element.
/// A window wholly in padding (possible only with dilation) gets index -1 and `empty`.
#[inline]
fn window_max<T: Element>(
    src: &[T],
    g: &PoolGeom,
    (y0, ny): (usize, usize),
    (x0, nx): (usize, usize),
    empty: T,
) -> (T, i64) {
    let [dh, dw] = g.dilation;
    if ny == 0 || nx == 0 {
        return (empty, -1);
    }
    let mut best_i = y0 * g.w + x0;
    let mut best = src[best_i];
    for i in 0..ny {
        let base = (y0 + i * dh) * g.w + x0;
        for j in 0..nx {
            let f = base + j * dw;
            let v = src[f];
            // `v != v` is the NaN test (never true for integers).
            #[allow(clippy::eq_op)]
            if v > best || v != v {
                best = v;
                best_i = f;
            }
        }
    }
    (best, best_i as i64)
}

/// One plane of the forward (`src` is `h*w`, `vals`/`idx` are `oh*ow`), with the rule
/// of [`window_max`]. Where every window of an output row is whole (`full` holds the
/// output columns whose windows are), the row is computed tap by tap across its
/// outputs instead of window by window: the same comparisons in the same order for
/// each output, but independent from one output to the next, so they overlap instead
/// of waiting on each other (2x2 pooling spent most of its time in that chain).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn fwd_plane<T: Element>(
    src: &[T],
    vals: &mut [T],
    idx: &mut [i64],
    g: &PoolGeom,
    rows: &[(usize, usize)],
    cols: &[(usize, usize)],
    full: std::ops::Range<usize>,
    empty: T,
) {
    let [dh, dw] = g.dilation;
    let [kh, kw] = g.kernel;
    for oy in 0..g.oh {
        let (y0, ny) = rows[oy];
        let vrow = &mut vals[oy * g.ow..(oy + 1) * g.ow];
        let irow = &mut idx[oy * g.ow..(oy + 1) * g.ow];
        let tapwise = if ny == kh { full.clone() } else { 0..0 };
        for ox in (0..tapwise.start).chain(tapwise.end..g.ow) {
            (vrow[ox], irow[ox]) = window_max(src, g, rows[oy], cols[ox], empty);
        }
        if tapwise.is_empty() {
            continue;
        }
        // Whole windows start `stride` apart: output column `tapwise.start + k` reads
        // from `x0 + k * sw` on (unit-stride loads for stride 1, not a lookup per
        // output).
        let (x0, sw) = (cols[tapwise.start].0, g.stride[1]);
        let (vt, it) = (&mut vrow[tapwise.clone()], &mut irow[tapwise.clone()]);
        for (k, (v, ix)) in vt.iter_mut().zip(it.iter_mut()).enumerate() {
            let f = y0 * g.w + x0 + k * sw;
            *v = src[f];
            *ix = f as i64;
        }
        for i in 0..kh {
            for j in 0..kw {
                let base = (y0 + i * dh) * g.w + j * dw + x0;
                match sw {
                    1 => tap_row::<T, 1>(src, base, sw, vt, it),
                    2 => tap_row::<T, 2>(src, base, sw, vt, it),
                    _ => tap_row::<T, 0>(src, base, sw, vt, it),
                }
            }
        }
    }
}

/// One tap of a row of whole windows: output k compares `src[base + k s]` with its best
/// so far (`vt[k]`, index `it[k]`), `s` the stride `S`, or `sw` when `S` is 0. A stride
/// known at compile time (1, and 2: 2x2 pooling) lets LLVM vectorise the strided loads
/// with shuffles; at a run-time stride the loop stayed scalar and branchy.
#[inline(always)]
fn tap_row<T: Element, const S: usize>(
    src: &[T],
    base: usize,
    sw: usize,
    vt: &mut [T],
    it: &mut [i64],
) {
    let s = if S == 0 { sw } else { S };
    let n = vt.len().min(it.len());
    if n == 0 {
        return;
    }
    // The row's last tap, base + (n - 1) s, lies in the plane (its window is whole):
    // checked once here, not per tap.
    assert!(base + (n - 1) * s < src.len());
    for (k, (best, ix)) in vt.iter_mut().zip(it.iter_mut()).enumerate() {
        // SAFETY: k < n, so base + k s <= base + (n - 1) s, in bounds (asserted above).
        let v = unsafe { *src.get_unchecked(base + k * s) };
        // Selects, not branches: the comparison is a coin flip on real data, and
        // unconditional writes let the loop vectorise.
        #[allow(clippy::eq_op)]
        let take = (v > *best) | (v != v);
        *best = if take { v } else { *best };
        *ix = if take { (base + k * s) as i64 } else { *ix };
    }
}

/// The output columns whose windows lie wholly inside the plane (a range, since
/// windows move right monotonically).
fn full_columns(cols: &[(usize, usize)], kw: usize) -> std::ops::Range<usize> {
    let start = cols.iter().position(|c| c.1 == kw).unwrap_or(cols.len());
    let len = cols[start..].iter().take_while(|c| c.1 == kw).count();
    start..start + len
}

/// Whether a call of `planes` planes doing `work` element visits goes parallel.
fn parallel(planes: usize, work: usize) -> bool {
    planes > 1 && work >= super::GRAIN && super::get_num_threads() > 1
}

/// The depth axis of 3-D max pooling: input depth `d`, output depth `od` and the
/// window along it. 2-D pooling is [`Depth::FLAT`].
#[derive(Clone, Copy, Debug)]
pub struct Depth {
    pub d: usize,
    pub od: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
}

impl Depth {
    /// One input slice, one output slice, a one-tap window.
    pub const FLAT: Depth = Depth {
        d: 1,
        od: 1,
        kernel: 1,
        stride: 1,
        padding: 0,
        dilation: 1,
    };
}

/// Forward over all volumes: `src` is `volumes*d*h*w`, `vals` and `idx` are
/// `volumes*od*oh*ow`, each index flat in its `d*h*w` volume. `empty` is the value of
/// a window that holds no input element.
///
/// A 3-D window's maximum is the maximum over its depth taps of each slice's 2-D
/// window maximum: every needed slice is pooled in-plane once (overlapping depth
/// windows share it), then the slices are combined with the rule of [`window_max`],
/// which keeps PyTorch's order (depth, then rows, then columns): the first slice wins
/// ties, a later NaN replaces.
pub fn max_pool_forward<T: Element>(
    src: &[T],
    vals: &mut [T],
    idx: &mut [i64],
    g: &PoolGeom,
    depth: &Depth,
    empty: T,
) {
    let hw = g.h * g.w;
    let l = g.oh * g.ow;
    let (vol, out_vol) = (depth.d * hw, depth.od * l);
    if l == 0 || vol == 0 || out_vol == 0 {
        return;
    }
    let rows = axis_taps(
        g.oh,
        g.h,
        g.kernel[0],
        g.stride[0],
        g.padding[0],
        g.dilation[0],
    );
    let cols = axis_taps(
        g.ow,
        g.w,
        g.kernel[1],
        g.stride[1],
        g.padding[1],
        g.dilation[1],
    );
    let slices = axis_taps(
        depth.od,
        depth.d,
        depth.kernel,
        depth.stride,
        depth.padding,
        depth.dilation,
    );
    let flat = depth.d == 1 && depth.od == 1 && slices[0] == (0, 1);
    let volumes = vals.len() / out_vol;
    let work = vals
        .len()
        .saturating_mul(g.kernel[0] * g.kernel[1] * depth.kernel)
        .max(src.len());
    let full = full_columns(&cols, g.kernel[1]);
    let needed = needed_slices(depth, &slices);
    let plan = VolumePlan {
        g,
        depth,
        hw,
        l,
        rows: &rows,
        cols: &cols,
        full,
        slices: &slices,
        needed: &needed,
        flat,
        empty,
    };
    let f = |v: &mut [T], i: &mut [i64], s: &[T]| pool_volume(&plan, s, v, i);
    if parallel(volumes, work) {
        super::par_chunks_mut2(vals, idx, out_vol, &|c, v, i| {
            f(v, i, &src[c * vol..(c + 1) * vol])
        });
    } else {
        for ((v, i), s) in vals
            .chunks_mut(out_vol)
            .zip(idx.chunks_mut(out_vol))
            .zip(src.chunks(vol))
        {
            f(v, i, s)
        }
    }
}

/// What [`pool_volume`] needs of one call.
struct VolumePlan<'a, T> {
    g: &'a PoolGeom,
    depth: &'a Depth,
    hw: usize,
    l: usize,
    rows: &'a [(usize, usize)],
    cols: &'a [(usize, usize)],
    full: std::ops::Range<usize>,
    slices: &'a [(usize, usize)],
    needed: &'a [bool],
    flat: bool,
    empty: T,
}

/// One volume of [`max_pool_forward`]. Never inlined: its one body serves the parallel
/// and the serial loop (inlined into both, every dtype's three SIMD copies doubled).
#[inline(never)]
fn pool_volume<T: Element>(p: &VolumePlan<T>, src: &[T], vals: &mut [T], idx: &mut [i64]) {
    let (l, hw, d) = (p.l, p.hw, p.depth.d);
    // Compiled for the widest vector unit: the tap loops' compares and selects vectorise
    // (float32 values with int64 indices: two lanes each at the baseline level).
    super::math::at_widest_level(
        #[inline(always)]
        || {
            // A flat depth pools its one slice straight into the output; a real one
            // into per-slice buffers, combined below.
            let mut buffers = (!p.flat).then(|| (vec![p.empty; d * l], vec![-1; d * l]));
            let (sv, si) = match &mut buffers {
                Some((sv, si)) => (&mut sv[..], &mut si[..]),
                None => (&mut *vals, &mut *idx),
            };
            for z in (0..d).filter(|&z| p.needed[z]) {
                fwd_plane(
                    &src[z * hw..(z + 1) * hw],
                    &mut sv[z * l..(z + 1) * l],
                    &mut si[z * l..(z + 1) * l],
                    p.g,
                    p.rows,
                    p.cols,
                    p.full.clone(),
                    p.empty,
                );
            }
            if let Some((sv, si)) = &buffers {
                combine_depth(sv, si, vals, idx, hw, l, p.depth, p.slices, p.empty);
            }
        },
    )
}

/// The depth taps of the output slice whose first tap and count are `window`.
fn depth_taps(depth: &Depth, (z0, nz): (usize, usize)) -> impl Iterator<Item = usize> + '_ {
    (0..nz).map(move |t| z0 + t * depth.dilation)
}

/// Which input slices some depth window reads (`slices`: each output slice's first
/// tap and count).
fn needed_slices(depth: &Depth, slices: &[(usize, usize)]) -> Vec<bool> {
    let mut needed = vec![false; depth.d];
    for &w in slices {
        depth_taps(depth, w).for_each(|z| needed[z] = true);
    }
    needed
}

/// The output slices of one volume from its slices' in-plane maxima `sv` and in-plane
/// indices `si` (`d*l` each), with the rule of [`window_max`] along each depth window.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn combine_depth<T: Element>(
    sv: &[T],
    si: &[i64],
    vals: &mut [T],
    idx: &mut [i64],
    hw: usize,
    l: usize,
    depth: &Depth,
    slices: &[(usize, usize)],
    empty: T,
) {
    let outs = vals.chunks_exact_mut(l).zip(idx.chunks_exact_mut(l));
    for ((v, i), &window) in outs.zip(slices) {
        v.fill(empty);
        i.fill(-1);
        for (t, z) in depth_taps(depth, window).enumerate() {
            let (zv, zi) = (&sv[z * l..(z + 1) * l], &si[z * l..(z + 1) * l]);
            let offset = (z * hw) as i64;
            for (((best, ix), &cv), &ci) in v.iter_mut().zip(i.iter_mut()).zip(zv).zip(zi) {
                // The first tap takes its slice as is; an in-plane window without
                // elements (index -1) is so in every slice and keeps -1.
                #[allow(clippy::eq_op)]
                let take = (t == 0) | (cv > *best) | (cv != cv);
                *best = if take { cv } else { *best };
                *ix = if take && ci >= 0 { ci + offset } else { *ix };
            }
        }
    }
}

/// PyTorch's adaptive pooling bins along one axis: output `o` covers inputs
/// `floor(o size / out)..ceil((o + 1) size / out)`, as `(first, count)`.
fn adaptive_bins(out: usize, size: usize) -> Vec<(usize, usize)> {
    let (n, m) = (size as u128, out as u128);
    (0..m)
        .map(|o| {
            let start = (o * n / m) as usize;
            let end = ((o + 1) * n).div_ceil(m) as usize;
            (start, end - start)
        })
        .collect()
}

/// Adaptive max pooling over all planes (`src` is `planes*h*w`, `vals` and `idx`
/// `planes*oh*ow` with `g.oh`, `g.ow` the output size; the window fields of `g` are
/// unused but for a unit dilation): each output the maximum of its bins with the rule
/// of [`window_max`], and its flat index.
pub fn adaptive_max_pool2d_forward<T: Element>(
    src: &[T],
    vals: &mut [T],
    idx: &mut [i64],
    g: &PoolGeom,
) {
    let (hw, l) = (g.h * g.w, g.oh * g.ow);
    if l == 0 || hw == 0 {
        return;
    }
    let rows = adaptive_bins(g.oh, g.h);
    let cols = adaptive_bins(g.ow, g.w);
    let g = PoolGeom {
        dilation: [1, 1],
        ..*g
    };
    let plane = |((v, i), s): ((&mut [T], &mut [i64]), &[T])| {
        for (oy, (vr, ir)) in v
            .chunks_exact_mut(g.ow)
            .zip(i.chunks_exact_mut(g.ow))
            .enumerate()
        {
            for (ox, (vo, io)) in vr.iter_mut().zip(ir.iter_mut()).enumerate() {
                (*vo, *io) = window_max(s, &g, rows[oy], cols[ox], T::zero());
            }
        }
    };
    let planes = vals.len() / l;
    if parallel(planes, src.len().max(vals.len())) {
        super::par_chunks_mut2(vals, idx, l, &|c, v, i| {
            plane(((v, i), &src[c * hw..(c + 1) * hw]))
        });
    } else {
        vals.chunks_mut(l)
            .zip(idx.chunks_mut(l))
            .zip(src.chunks(hw))
            .for_each(plane);
    }
}

/// Backward over all planes (or volumes): `gi` (`planes*hw`) is zeroed, then each
/// output gradient (`go`, `planes*l`) is added at its plane's index (`idx`, same shape
/// as `go`). Indices outside `0..hw` (windows without elements) are skipped.
pub fn max_pool_backward<T>(go: &[T], idx: &[i64], gi: &mut [T], l: usize, hw: usize)
where
    T: Element + std::ops::Add<Output = T>,
{
    if hw == 0 {
        return;
    }
    let plane = |((d, g), i): ((&mut [T], &[T]), &[i64])| {
        d.fill(T::zero());
        for (&gv, &k) in g.iter().zip(i) {
            if k >= 0 && (k as usize) < hw {
                let k = k as usize;
                d[k] = d[k] + gv;
            }
        }
    };
    if l == 0 {
        gi.fill(T::zero());
        return;
    }
    let planes = gi.len() / hw;
    if parallel(planes, gi.len().max(go.len())) {
        super::par_chunks_mut(gi, hw, &|c, d| {
            plane(((d, &go[c * l..(c + 1) * l]), &idx[c * l..(c + 1) * l]))
        });
    } else {
        gi.chunks_mut(hw)
            .zip(go.chunks(l))
            .zip(idx.chunks(l))
            .for_each(plane);
    }
}
