//! `F.grid_sample` on 4-D inputs: bilinear and nearest sampling of `(N, C, H, W)` at the
//! `(N, Ho, Wo, 2)` grid's locations, and the gradients for the input and the grid.
//!
//! Each output location's taps (up to four input positions, their weights, and the
//! weights' derivatives in x and y) are computed once per image and shared by its
//! channels. The coordinate formulas are PyTorch's vectorised CPU kernel's: unnormalise
//! as `(g + 1) * size / 2 - 1/2` (or `(g + 1) * (size - 1) / 2` with align_corners),
//! then clip or reflect for the border and reflection paddings, each step's derivative
//! kept for the grid's gradient. A tap outside the input reads nothing (zero), so
//! infinities and NaNs elsewhere in the input stay out of the output.
//!
//! Every output element, input-gradient plane and grid-gradient image is computed by one
//! task in a fixed order, so results do not depend on the thread count.

use super::GRAIN;
use crate::element::num_like::FloatOps;

/// The float types the kernels compute in: `FloatOps` with what sampling needs.
pub trait GridFloat: FloatOps + Default + std::ops::Rem<Output = Self> {
    fn floor(self) -> Self;
    fn abs(self) -> Self;
    fn round_even(self) -> Self;
    /// The value as an index when it is a whole number in `0..=last` (false for NaN).
    fn index_within(self, last: usize) -> Option<usize>;
    #[inline(always)]
    fn of(v: f64) -> Self {
        Self::from_f64(v)
    }
}

macro_rules! grid_float {
    ($t:ty) => {
        impl GridFloat for $t {
            #[inline(always)]
            fn floor(self) -> Self {
                <$t>::floor(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn round_even(self) -> Self {
                <$t>::round_ties_even(self)
            }
            #[inline(always)]
            fn index_within(self, last: usize) -> Option<usize> {
                (self >= 0.0 && self <= last as $t).then_some(self as usize)
            }
        }
    };
}
grid_float!(f32);
grid_float!(f64);

/// How locations outside the input are treated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Padding {
    Zeros,
    Border,
    Reflection,
}

/// The sampling setup shared by every image.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    pub nearest: bool,
    pub padding: Padding,
    pub align_corners: bool,
}

/// No input position: the tap reads zero.
const NONE: u32 = u32::MAX;

/// An output location's taps: input offsets within a plane (`NONE` for none) and their
/// weights; for the grid's gradient also the weights' derivatives in the source x and y
/// and the source coordinates' derivatives in the grid's values (kept apart: the forward
/// reads only the first two, once per channel).
#[derive(Clone, Debug, Default)]
pub struct Taps<T> {
    /// One tap of weight 1 per location (`at[0]`): nearest sampling.
    nearest: bool,
    at: Vec<[u32; 4]>,
    w: Vec<[T; 4]>,
    d: Vec<Derivatives<T>>,
}

/// A location's weight derivatives in the source x and y (per tap), and the source
/// coordinates' derivatives in the grid's x and y.
type Derivatives<T> = ([T; 4], [T; 4], (T, T));

impl<T> Taps<T> {
    fn len(&self) -> usize {
        self.at.len()
    }
}

/// `coord` clipped to `[0, size - 1]`, with the derivative (0 at and past the ends, as
/// PyTorch's `clip_coordinates_set_grad`).
fn clip<T: GridFloat>(coord: T, size: usize) -> (T, T) {
    let (zero, hi) = (T::of(0.0), T::of(size as f64 - 1.0));
    if coord <= zero {
        (zero, zero)
    } else if coord >= hi {
        (hi, zero)
    } else if coord > zero {
        (coord, T::of(1.0))
    } else {
        // NaN: stays NaN (no tap will read it).
        (coord, zero)
    }
}

/// `coord` reflected into `[twice_low / 2, twice_high / 2]`, with the derivative's sign
/// (PyTorch's `reflect_coordinates_set_grad`).
fn reflect<T: GridFloat>(coord: T, twice_low: f64, twice_high: f64) -> (T, T) {
    if twice_low == twice_high {
        return (T::of(0.0), T::of(0.0));
    }
    let low = T::of(twice_low / 2.0);
    let span = T::of((twice_high - twice_low) / 2.0);
    let (mut sign, mut c) = (T::of(1.0), coord - low);
    if c < T::of(0.0) {
        sign = -sign;
        c = -c;
    }
    let extra = c % span;
    let flips = (c / span).floor();
    if flips % T::of(2.0) == T::of(0.0) {
        (extra + low, sign)
    } else {
        (span - extra + low, -sign)
    }
}

/// The source coordinate of grid value `g` along an axis of `size`, and its derivative.
fn source<T: GridFloat>(g: T, size: usize, s: &Setup) -> (T, T) {
    let half = if s.align_corners {
        T::of((size as f64 - 1.0) / 2.0)
    } else {
        T::of(size as f64 / 2.0)
    };
    let mut c = (g + T::of(1.0)) * half;
    if !s.align_corners {
        c = c - T::of(0.5);
    }
    let (c, d) = match s.padding {
        Padding::Zeros => (c, T::of(1.0)),
        Padding::Border => clip(c, size),
        Padding::Reflection => {
            let (r, dr) = if s.align_corners {
                reflect(c, 0.0, 2.0 * (size as f64 - 1.0))
            } else {
                reflect(c, -1.0, 2.0 * size as f64 - 1.0)
            };
            let (cl, dc) = clip(r, size);
            (cl, dr * dc)
        }
    };
    (c, d * half)
}

/// The taps of the locations of one image's grid (`grid` holds x, y pairs) into a
/// plane of `h x w` (`h * w < u32::MAX`, checked by the caller), with the derivatives
/// when `derivatives`.
pub fn taps<T: GridFloat>(
    grid: &[T],
    (h, w): (usize, usize),
    s: &Setup,
    derivatives: bool,
) -> Taps<T> {
    let zero = T::of(0.0);
    let n = grid.len() / 2;
    let mut t = Taps {
        nearest: s.nearest,
        at: Vec::with_capacity(n),
        w: Vec::with_capacity(n),
        d: Vec::with_capacity(if derivatives { n } else { 0 }),
    };
    let at = |cx: T, cy: T| match (cx.index_within(w - 1), cy.index_within(h - 1)) {
        (Some(i), Some(j)) => (j * w + i) as u32,
        _ => NONE,
    };
    for xy in grid.chunks_exact(2) {
        let ((x, mx), (y, my)) = (source(xy[0], w, s), source(xy[1], h, s));
        if s.nearest {
            t.at.push([at(x.round_even(), y.round_even()), NONE, NONE, NONE]);
            t.w.push([T::of(1.0), zero, zero, zero]);
            if derivatives {
                t.d.push(([zero; 4], [zero; 4], (mx, my)));
            }
            continue;
        }
        let (x0, y0) = (x.floor(), y.floor());
        let (x1, y1) = (x0 + T::of(1.0), y0 + T::of(1.0));
        let (ex0, ex1, ey0, ey1) = (x1 - x, x - x0, y1 - y, y - y0);
        t.at.push([at(x0, y0), at(x1, y0), at(x0, y1), at(x1, y1)]);
        t.w.push([ex0 * ey0, ex1 * ey0, ex0 * ey1, ex1 * ey1]);
        if derivatives {
            t.d.push(([-ey0, ey0, -ey1, ey1], [-ex0, -ex1, ex0, ex1], (mx, my)));
        }
    }
    t
}

/// Runs `body(plane, out_plane)` over `out` cut in planes of `len`, in parallel above
/// `GRAIN` values.
fn over_planes<T: Send>(out: &mut [T], len: usize, body: &(impl Fn(usize, &mut [T]) + Sync)) {
    if len == 0 {
        return;
    }
    if out.len() < GRAIN {
        out.chunks_mut(len)
            .enumerate()
            .for_each(|(i, o)| body(i, o));
    } else {
        super::par_chunks_mut(out, len, body);
    }
}

/// The value at a tap's position `at` of `plane` (zero for none).
#[inline(always)]
fn read<T: GridFloat>(plane: &[T], at: u32) -> T {
    if at == NONE {
        T::of(0.0)
    } else {
        plane[at as usize]
    }
}

/// `out[n, c, p] = Σ_k w_k x[n, c, at_k]` with `taps[n]` of image n; `x` holds planes of
/// `hw` values, `c` per image.
pub fn forward<T: GridFloat>(x: &[T], taps: &[Taps<T>], c: usize, hw: usize, out: &mut [T]) {
    let p = taps.first().map_or(0, Taps::len);
    over_planes(out, p, &|plane, o| {
        let (t, xs) = (&taps[plane / c.max(1)], &x[plane * hw..(plane + 1) * hw]);
        if t.nearest {
            // The value itself (-0.0 stays -0.0), as PyTorch copies it.
            for (v, at) in o.iter_mut().zip(&t.at) {
                *v = read(xs, at[0]);
            }
            return;
        }
        // Every tap summed in PyTorch's order, a missing one as +0.0 (which turns a
        // -0.0 sum into +0.0, as there); the branches are taken alike except along
        // the input's edges.
        for ((v, at), w) in o.iter_mut().zip(&t.at).zip(&t.w) {
            let mut acc = read(xs, at[0]) * w[0];
            for k in 1..4 {
                acc = acc
                    + if at[k] == NONE {
                        T::of(0.0)
                    } else {
                        xs[at[k] as usize] * w[k]
                    };
            }
            *v = acc;
        }
    });
}

/// The input's gradient: `gx[n, c, at_k] += w_k g[n, c, p]` over the locations p in order.
pub fn backward_input<T: GridFloat>(g: &[T], taps: &[Taps<T>], c: usize, hw: usize, gx: &mut [T]) {
    let p = taps.first().map_or(0, Taps::len);
    over_planes(gx, hw, &|plane, o| {
        o.fill(T::of(0.0));
        let (t, gs) = (&taps[plane / c.max(1)], &g[plane * p..(plane + 1) * p]);
        for ((&gv, at), w) in gs.iter().zip(&t.at).zip(&t.w) {
            for k in 0..4 {
                if at[k] != NONE {
                    let i = at[k] as usize;
                    o[i] = o[i] + w[k] * gv;
                }
            }
        }
    });
}

/// The grid's gradient, `(N, p, 2)`: per location, `Σ_c g Σ_k x[at_k] (dx_k, dy_k)`
/// times the coordinates' derivatives (zero for nearest sampling, as PyTorch).
pub fn backward_grid<T: GridFloat>(
    g: &[T],
    x: &[T],
    taps: &[Taps<T>],
    c: usize,
    hw: usize,
    gg: &mut [T],
) {
    let p = taps.first().map_or(0, Taps::len);
    // Per image, every location's sums over the channels in channel order.
    let image = |n: usize, o: &mut [T]| {
        let t = &taps[n];
        o.fill(T::of(0.0));
        for ch in 0..c {
            let plane = n * c + ch;
            let (xs, gs) = (
                &x[plane * hw..(plane + 1) * hw],
                &g[plane * p..(plane + 1) * p],
            );
            for (((pair, &gv), at), (dx, dy, _)) in
                o.chunks_exact_mut(2).zip(gs).zip(&t.at).zip(&t.d)
            {
                let (mut sx, mut sy) = (T::of(0.0), T::of(0.0));
                for k in 0..4 {
                    let v = read(xs, at[k]);
                    sx = sx + v * dx[k];
                    sy = sy + v * dy[k];
                }
                pair[0] = pair[0] + gv * sx;
                pair[1] = pair[1] + gv * sy;
            }
        }
        for (pair, (_, _, mult)) in o.chunks_exact_mut(2).zip(&t.d) {
            pair[0] = pair[0] * mult.0;
            pair[1] = pair[1] * mult.1;
        }
    };
    over_planes(gg, 2 * p, &image);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bilinear sampling by the textbook formula in f64, zeros outside.
    fn bilinear(x: &[f64], (h, w): (usize, usize), sx: f64, sy: f64) -> f64 {
        let (x0, y0) = (sx.floor(), sy.floor());
        let mut acc = 0.0;
        for (cx, cy) in [
            (x0, y0),
            (x0 + 1.0, y0),
            (x0, y0 + 1.0),
            (x0 + 1.0, y0 + 1.0),
        ] {
            if cx >= 0.0 && cy >= 0.0 && cx < w as f64 && cy < h as f64 {
                let wt = (1.0 - (sx - cx).abs()) * (1.0 - (sy - cy).abs());
                acc += wt * x[cy as usize * w + cx as usize];
            }
        }
        acc
    }

    #[test]
    fn forward_and_gradients_match_references() {
        let (h, w, c) = (5usize, 7usize, 2usize);
        let x: Vec<f64> = (0..c * h * w)
            .map(|i| ((i * 37 % 23) as f64) - 11.0)
            .collect();
        let grid: Vec<f64> = (0..2 * 6)
            .map(|i| ((i * 53 % 29) as f64) / 11.0 - 1.3)
            .collect();
        for align_corners in [false, true] {
            let s = Setup {
                nearest: false,
                padding: Padding::Zeros,
                align_corners,
            };
            let t = vec![taps(&grid, (h, w), &s, true)];
            let mut out = vec![0.0; c * 6];
            forward(&x, &t, c, h * w, &mut out);
            let src = |g: f64, size: usize| {
                if align_corners {
                    (g + 1.0) / 2.0 * (size as f64 - 1.0)
                } else {
                    ((g + 1.0) * size as f64 - 1.0) / 2.0
                }
            };
            for ch in 0..c {
                for q in 0..6 {
                    let (sx, sy) = (src(grid[2 * q], w), src(grid[2 * q + 1], h));
                    let want = bilinear(&x[ch * h * w..(ch + 1) * h * w], (h, w), sx, sy);
                    assert!(
                        (out[ch * 6 + q] - want).abs() < 1e-12,
                        "{align_corners} {ch} {q}"
                    );
                }
            }
            // The gradients against central differences of the f64 forward.
            let g: Vec<f64> = (0..c * 6).map(|i| (i % 5) as f64 - 2.0).collect();
            let loss = |x: &[f64], grid: &[f64]| -> f64 {
                let mut o = vec![0.0; c * 6];
                forward(x, &[taps(grid, (h, w), &s, false)], c, h * w, &mut o);
                o.iter().zip(&g).map(|(a, b)| a * b).sum()
            };
            let mut gx = vec![f64::NAN; x.len()];
            backward_input(&g, &t, c, h * w, &mut gx);
            let mut gg = vec![f64::NAN; grid.len()];
            backward_grid(&g, &x, &t, c, h * w, &mut gg);
            let eps = 1e-6;
            for i in 0..x.len() {
                let (mut a, mut b) = (x.clone(), x.clone());
                a[i] += eps;
                b[i] -= eps;
                let fd = (loss(&a, &grid) - loss(&b, &grid)) / (2.0 * eps);
                assert!((gx[i] - fd).abs() < 1e-6, "input {i}: {} vs {fd}", gx[i]);
            }
            for i in 0..grid.len() {
                let (mut a, mut b) = (grid.clone(), grid.clone());
                a[i] += eps;
                b[i] -= eps;
                let fd = (loss(&x, &a) - loss(&x, &b)) / (2.0 * eps);
                assert!((gg[i] - fd).abs() < 1e-5, "grid {i}: {} vs {fd}", gg[i]);
            }
        }
    }

    #[test]
    fn non_finite_locations_and_inputs_stay_out() {
        let s = Setup {
            nearest: false,
            padding: Padding::Reflection,
            align_corners: false,
        };
        for padding in [Padding::Zeros, Padding::Border, Padding::Reflection] {
            let s = Setup { padding, ..s };
            let grid = [f64::NAN, 0.0, f64::INFINITY, 0.5, -1e300, 1e300];
            let t = vec![taps(&grid, (2, 3), &s, false)];
            let mut out = vec![0.0; 3];
            forward(&[1.0; 6], &t, 1, 6, &mut out);
            assert!(out.iter().all(|v| v.is_finite() || v.is_nan()));
        }
        // An infinite input value next to, not under, the taps stays out.
        let s = Setup {
            padding: Padding::Zeros,
            ..s
        };
        let t = vec![taps(&[-1.0, -1.0], (2, 2), &s, false)];
        let mut out = vec![0.0; 1];
        forward(
            &[1.0, f64::INFINITY, f64::INFINITY, f64::INFINITY],
            &t,
            1,
            4,
            &mut out,
        );
        assert_eq!(out[0], 0.25);
    }
}
