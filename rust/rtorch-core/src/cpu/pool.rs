//! Max-pooling kernels over contiguous `(planes, H, W)` buffers: the forward writes the
//! window maxima and their flat in-plane indices in one pass; the backward scatters each
//! output gradient onto its argmax. Work is split by whole planes (one thread owns a
//! plane, so the backward's additions run in a fixed order for any thread count).
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

/// Forward over all planes: `src` is `planes*h*w`, `vals` and `idx` are `planes*oh*ow`.
/// `empty` is the value of a window that holds no input element.
pub fn max_pool2d_forward<T: Element>(
    src: &[T],
    vals: &mut [T],
    idx: &mut [i64],
    g: &PoolGeom,
    empty: T,
) {
    let hw = g.h * g.w;
    let l = g.oh * g.ow;
    if l == 0 || hw == 0 {
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
    let planes = vals.len() / l;
    let work = vals
        .len()
        .saturating_mul(g.kernel[0] * g.kernel[1])
        .max(src.len());
    let full = full_columns(&cols, g.kernel[1]);
    // Compiled for the widest vector unit: the tap loops' compares and selects vectorise
    // (float32 values with int64 indices: two lanes each at the baseline level).
    let f = |((v, i), s): ((&mut [T], &mut [i64]), &[T])| {
        super::math::at_widest_level(
            #[inline(always)]
            || fwd_plane(s, v, i, g, &rows, &cols, full.clone(), empty),
        )
    };
    if parallel(planes, work) {
        super::par_chunks_mut2(vals, idx, l, &|c, v, i| {
            f(((v, i), &src[c * hw..(c + 1) * hw]))
        });
    } else {
        vals.chunks_mut(l)
            .zip(idx.chunks_mut(l))
            .zip(src.chunks(hw))
            .for_each(f);
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

/// Backward over all planes: `gi` (`planes*hw`) is zeroed, then each output gradient
/// (`go`, `planes*l`) is added at its plane's index (`idx`, same shape as `go`).
/// Indices outside `0..hw` (windows without elements) are skipped.
pub fn max_pool2d_backward<T>(go: &[T], idx: &[i64], gi: &mut [T], l: usize, hw: usize)
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
