//! Normalization kernels (batch norm per channel of `(N, C, S)`, layer norm per row of
//! `(R, D)`), forward and backward, over contiguous slices.
//!
//! Statistics come from a two-pass mean / centered sum of squares, float32 values summed
//! in float32 over short blocks and in float64 across them (`norm_sums`). Work is
//! split into units whose boundaries do not depend on the thread count (one channel, or
//! a fixed block of rows), and partial sums are combined in unit order, so results are
//! bitwise identical for any number of threads.

use super::batch_norm_columns as columns;
use super::chunk_of;
use super::math::at_widest_level;

/// The float element types the norm kernels run on.
pub trait NormFloat: Copy + Send + Sync + 'static {
    fn f(self) -> f64;
    fn from(v: f64) -> Self;
    /// `y[i] = x[i] * a + b` (in the type's own arithmetic for f32, as PyTorch folds).
    fn axpb(x: &[Self], y: &mut [Self], a: f64, b: f64);
    /// `y[k] = x[k] * a[k] + b[k]` (coefficients per element), in the type's arithmetic.
    fn axpb_row(x: &[Self], y: &mut [Self], a: &[Self], b: &[Self]);
    /// `y[i] = (x[i] - m) * a + b`, centered first (no cancellation when the spread
    /// is small next to the mean), in the type's own arithmetic.
    fn center_affine(x: &[Self], y: &mut [Self], m: f64, a: f64, b: f64);
    /// Σ x in f64.
    fn row_sum(x: &[Self]) -> f64;
    /// Σ (x - m)² in f64.
    fn row_sum_sq_dev(x: &[Self], m: f64) -> f64;
    /// `y = (x - mean) * rstd * w + b` over a row (`w`, `b` as long as `x`, or absent).
    fn normalize_row(
        x: &[Self],
        y: &mut [Self],
        mean: f64,
        rstd: f64,
        w: Option<&[Self]>,
        b: Option<&[Self]>,
    );
    /// A layer norm's input gradient over a row: `gx = rstd (g w - ma - xhat mb)`, with
    /// `xhat = (x - mean) rstd` and `(ma, mb)` the row means of `g w` and `g w xhat`;
    /// with `sums = (aw, ab)`, the row's share of the weight and bias gradients added
    /// into per-column sums kept in the type itself: `aw += g xhat`, `ab += g`.
    fn grad_row(
        g: &[Self],
        x: &[Self],
        w: Option<&[Self]>,
        stats: (f64, f64),
        means: (f64, f64),
        gx: &mut [Self],
        sums: Option<(&mut [Self], &mut [Self])>,
    );
    /// `(Σ g s, r Σ g s (x - m))` in f64, `s` the `scale` (as long as `x`) or 1.
    fn row_grad_sums(g: &[Self], x: &[Self], scale: Option<&[Self]>, m: f64, r: f64) -> (f64, f64);
}

impl NormFloat for f64 {
    #[inline(always)]
    fn f(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from(v: f64) -> Self {
        v
    }
    fn axpb_row(x: &[f64], y: &mut [f64], a: &[f64], b: &[f64]) {
        at_widest_level(
            #[inline(always)]
            || {
                for (((o, &v), &ak), &bk) in y.iter_mut().zip(x).zip(a).zip(b) {
                    *o = v * ak + bk;
                }
            },
        )
    }
    fn axpb(x: &[f64], y: &mut [f64], a: f64, b: f64) {
        for (o, &v) in y.iter_mut().zip(x) {
            *o = v * a + b;
        }
    }
    fn center_affine(x: &[f64], y: &mut [f64], m: f64, a: f64, b: f64) {
        for (o, &v) in y.iter_mut().zip(x) {
            *o = (v - m) * a + b;
        }
    }
    #[inline(always)]
    fn normalize_row(
        x: &[f64],
        y: &mut [f64],
        mean: f64,
        rstd: f64,
        w: Option<&[f64]>,
        b: Option<&[f64]>,
    ) {
        affine_row(x, y, |v| v - mean, rstd, w, b);
    }
    #[inline(always)]
    fn grad_row(
        g: &[f64],
        x: &[f64],
        w: Option<&[f64]>,
        (mean, rstd): (f64, f64),
        (ma, mb): (f64, f64),
        gx: &mut [f64],
        sums: Option<(&mut [f64], &mut [f64])>,
    ) {
        input_grad_row(g, x, w, |v| v - mean, (rstd, ma, mb), gx, sums);
    }
    fn row_sum(x: &[f64]) -> f64 {
        sum(x)
    }
    fn row_sum_sq_dev(x: &[f64], m: f64) -> f64 {
        sum_sq_dev(x, m)
    }
    fn row_grad_sums(g: &[f64], x: &[f64], scale: Option<&[f64]>, m: f64, r: f64) -> (f64, f64) {
        grad_sums(g, x, scale, m, r)
    }
}

impl NormFloat for f32 {
    #[inline(always)]
    fn f(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn from(v: f64) -> Self {
        v as f32
    }
    fn axpb_row(x: &[f32], y: &mut [f32], a: &[f32], b: &[f32]) {
        at_widest_level(
            #[inline(always)]
            || {
                for (((o, &v), &ak), &bk) in y.iter_mut().zip(x).zip(a).zip(b) {
                    *o = v * ak + bk;
                }
            },
        )
    }
    fn axpb(x: &[f32], y: &mut [f32], a: f64, b: f64) {
        let (a, b) = (a as f32, b as f32);
        for (o, &v) in y.iter_mut().zip(x) {
            *o = v * a + b;
        }
    }
    fn center_affine(x: &[f32], y: &mut [f32], m: f64, a: f64, b: f64) {
        let (m, a, b) = (m as f32, a as f32, b as f32);
        for (o, &v) in y.iter_mut().zip(x) {
            *o = (v - m) * a + b;
        }
    }
    /// In float32, centered on the mean split into two floats (`x - hi` is exact near
    /// the mean, so a spread small next to the mean keeps its digits; a folded `x *
    /// rstd - mean * rstd` cancels), then scaled and shifted: a few roundings, like
    /// PyTorch's float32 kernel, at twice the lanes of float64 arithmetic (which made
    /// the affine pass the larger part of a 256-wide layer norm).
    #[inline(always)]
    fn normalize_row(
        x: &[f32],
        y: &mut [f32],
        mean: f64,
        rstd: f64,
        w: Option<&[f32]>,
        b: Option<&[f32]>,
    ) {
        let hi = mean as f32;
        let lo = (mean - hi as f64) as f32;
        affine_row(x, y, |v| (v - hi) - lo, rstd as f32, w, b);
    }
    /// In float32 (as `normalize_row`, the mean split in two floats).
    #[inline(always)]
    fn grad_row(
        g: &[f32],
        x: &[f32],
        w: Option<&[f32]>,
        (mean, rstd): (f64, f64),
        (ma, mb): (f64, f64),
        gx: &mut [f32],
        sums: Option<(&mut [f32], &mut [f32])>,
    ) {
        let hi = mean as f32;
        let lo = (mean - hi as f64) as f32;
        let f = |v: f64| v as f32;
        input_grad_row(
            g,
            x,
            w,
            |v| (v - hi) - lo,
            (f(rstd), f(ma), f(mb)),
            gx,
            sums,
        );
    }
    fn row_sum(x: &[f32]) -> f64 {
        super::norm_sums::sum(x)
    }
    fn row_sum_sq_dev(x: &[f32], m: f64) -> f64 {
        super::norm_sums::sum_sq_dev(x, m)
    }
    fn row_grad_sums(g: &[f32], x: &[f32], scale: Option<&[f32]>, m: f64, r: f64) -> (f64, f64) {
        super::norm_sums::grad_sums(g, x, scale, m, r)
    }
}

/// `y = center(x) * r * w + b` over a row in `T`'s arithmetic, one loop per case (an
/// `Option` tested per element kept the loop scalar).
#[inline(always)]
fn affine_row<T>(
    x: &[T],
    y: &mut [T],
    center: impl Fn(T) -> T,
    r: T,
    w: Option<&[T]>,
    b: Option<&[T]>,
) where
    T: Copy + std::ops::Mul<Output = T> + std::ops::Add<Output = T>,
{
    let d = x.len();
    match (w, b) {
        (None, None) => {
            for (o, &v) in y.iter_mut().zip(x) {
                *o = center(v) * r;
            }
        }
        (Some(w), Some(b)) => {
            for (((o, &v), &wk), &bk) in y.iter_mut().zip(x).zip(&w[..d]).zip(&b[..d]) {
                *o = center(v) * r * wk + bk;
            }
        }
        (Some(w), None) => {
            for ((o, &v), &wk) in y.iter_mut().zip(x).zip(&w[..d]) {
                *o = center(v) * r * wk;
            }
        }
        (None, Some(b)) => {
            for ((o, &v), &bk) in y.iter_mut().zip(x).zip(&b[..d]) {
                *o = center(v) * r + bk;
            }
        }
    }
}

/// A layer norm's input gradient over a row in `T`'s arithmetic: `gx = r ((g w - ma) -
/// xhat mb)` with `xhat = center(x) r`, and with `sums = (aw, ab)` also `aw += g xhat`,
/// `ab += g` (one pass over the row for all three; one loop per case, as an `Option`
/// tested per element kept the loop scalar).
#[inline(always)]
fn input_grad_row<T>(
    g: &[T],
    x: &[T],
    w: Option<&[T]>,
    center: impl Fn(T) -> T,
    (r, ma, mb): (T, T, T),
    gx: &mut [T],
    sums: Option<(&mut [T], &mut [T])>,
) where
    T: Copy + std::ops::Mul<Output = T> + std::ops::Sub<Output = T> + std::ops::Add<Output = T>,
{
    let d = x.len();
    let (g, gx) = (&g[..d], &mut gx[..d]);
    match (w, sums) {
        (Some(w), None) => {
            for (((o, &gv), &xv), &wk) in gx.iter_mut().zip(g).zip(x).zip(&w[..d]) {
                *o = r * ((gv * wk - ma) - center(xv) * r * mb);
            }
        }
        (None, None) => {
            for ((o, &gv), &xv) in gx.iter_mut().zip(g).zip(x) {
                *o = r * ((gv - ma) - center(xv) * r * mb);
            }
        }
        (Some(w), Some((aw, ab))) => {
            let (w, aw, ab) = (&w[..d], &mut aw[..d], &mut ab[..d]);
            for k in 0..d {
                let (gv, xh) = (g[k], center(x[k]) * r);
                gx[k] = r * ((gv * w[k] - ma) - xh * mb);
                aw[k] = aw[k] + gv * xh;
                ab[k] = ab[k] + gv;
            }
        }
        (None, Some((aw, ab))) => {
            let (aw, ab) = (&mut aw[..d], &mut ab[..d]);
            for k in 0..d {
                let (gv, xh) = (g[k], center(x[k]) * r);
                gx[k] = r * ((gv - ma) - xh * mb);
                aw[k] = aw[k] + gv * xh;
                ab[k] = ab[k] + gv;
            }
        }
    }
}

/// Sum of float64 values with 8 independent accumulators (the float32 rows go through
/// `norm_sums`).
#[inline(always)]
fn sum(x: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for k in 0..8 {
            acc[k] += c[k];
        }
    }
    let mut s = 0.0;
    for &v in chunks.remainder() {
        s += v;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + s
}

/// `sum((x - m)^2)` of float64 values.
#[inline(always)]
fn sum_sq_dev(x: &[f64], m: f64) -> f64 {
    let mut acc = [0.0f64; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for k in 0..8 {
            let d = c[k] - m;
            acc[k] += d * d;
        }
    }
    let mut s = 0.0;
    for &v in chunks.remainder() {
        let d = v - m;
        s += d * d;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + s
}

/// `(Σ g s, r Σ g s (x - m))` of float64 values, 4 accumulators each.
#[inline(always)]
fn grad_sums(g: &[f64], x: &[f64], scale: Option<&[f64]>, m: f64, r: f64) -> (f64, f64) {
    let d = x.len().min(g.len());
    let s = |k: usize| scale.map_or(g[k], |s| g[k] * s[k]);
    let (mut a, mut b) = ([0.0f64; 4], [0.0f64; 4]);
    let full = d - d % 4;
    for c in (0..full).step_by(4) {
        for l in 0..4 {
            let gs = s(c + l);
            a[l] += gs;
            b[l] += gs * (x[c + l] - m);
        }
    }
    let (mut ta, mut tb) = (0.0, 0.0);
    for (k, &xv) in x.iter().enumerate().take(d).skip(full) {
        let gs = s(k);
        ta += gs;
        tb += gs * (xv - m);
    }
    (
        (a[0] + a[2]) + (a[1] + a[3]) + ta,
        ((b[0] + b[2]) + (b[1] + b[3]) + tb) * r,
    )
}

fn parallel(units: usize, work: usize) -> bool {
    units > 1 && work >= super::GRAIN && super::get_num_threads() > 1
}

/// Runs `f(unit)` for `0..units` and collects the results in order (parallel above the
/// grain size; each unit is computed by one thread, so results do not depend on it).
fn map_units<R: Send>(units: usize, work: usize, f: impl Fn(usize) -> R + Sync) -> Vec<R> {
    if parallel(units, work) {
        super::par_map(units, &f)
    } else {
        (0..units).map(f).collect()
    }
}

/// Per-channel `(mean, biased variance)` of `x` laid out `(n, c, s)`.
pub fn batch_norm_stats<T: NormFloat>(x: &[T], n: usize, c: usize, s: usize) -> Vec<(f64, f64)> {
    if s < columns::COLUMNS_BELOW {
        return columns::stats(x, n, c, s);
    }
    let count = (n * s) as f64;
    map_units(c, x.len(), |ch| {
        let planes = (0..n).map(|i| &x[(i * c + ch) * s..(i * c + ch + 1) * s]);
        let mean = planes.clone().map(T::row_sum).sum::<f64>() / count;
        let var = planes.map(|p| T::row_sum_sq_dev(p, mean)).sum::<f64>() / count;
        (mean, var)
    })
}

/// `y = x * a[ch] + b[ch]` per channel of `(n, c, s)` (parallel over planes).
pub fn channel_affine<T: NormFloat>(x: &[T], y: &mut [T], c: usize, s: usize, ab: &[(f64, f64)]) {
    if s == 0 || c == 0 {
        return;
    }
    if s < columns::COLUMNS_BELOW {
        return columns::affine(x, y, c, s, ab);
    }
    let planes = y.len() / s;
    let f = |(p, (yo, xi)): (usize, (&mut [T], &[T]))| {
        let (a, b) = ab[p % c];
        T::axpb(xi, yo, a, b);
    };
    if parallel(planes, y.len()) {
        super::par_chunks_mut(y, s, &|p, yo| f((p, (yo, chunk_of(x, p, s)))));
    } else {
        y.chunks_mut(s).zip(x.chunks(s)).enumerate().for_each(f);
    }
}

/// Per-channel `(sum(g), sum(g * (x - center[ch])))` over `(n, c, s)`.
pub fn batch_norm_backward_reduce<T: NormFloat>(
    g: &[T],
    x: &[T],
    n: usize,
    c: usize,
    s: usize,
    center: &[f64],
) -> Vec<(f64, f64)> {
    if s < columns::COLUMNS_BELOW {
        return columns::backward_reduce(g, x, n, c, s, center);
    }
    map_units(c, x.len(), |ch| {
        let m = center[ch];
        (0..n).fold((0.0, 0.0), |(a, b), i| {
            let r = (i * c + ch) * s..(i * c + ch + 1) * s;
            let (da, db) = T::row_grad_sums(&g[r.clone()], &x[r], None, m, 1.0);
            (a + da, b + db)
        })
    })
}

/// `gx = g * A[ch] + x * B[ch] + C[ch]` per channel of `(n, c, s)`.
pub fn channel_fma2<T: NormFloat>(
    g: &[T],
    x: &[T],
    gx: &mut [T],
    c: usize,
    s: usize,
    abc: &[(f64, f64, f64)],
) {
    if s == 0 || c == 0 {
        return;
    }
    if s < columns::COLUMNS_BELOW {
        return columns::fma2(g, x, gx, c, s, abc);
    }
    let planes = gx.len() / s;
    #[allow(clippy::type_complexity)]
    let f = |(p, ((o, gi), xi)): (usize, ((&mut [T], &[T]), &[T]))| {
        let (a, b, cc) = abc[p % c];
        for ((o, &gv), &xv) in o.iter_mut().zip(gi).zip(xi) {
            *o = T::from(gv.f() * a + xv.f() * b + cc);
        }
    };
    if parallel(planes, gx.len()) {
        super::par_chunks_mut(gx, s, &|p, o| {
            f((p, ((o, chunk_of(g, p, s)), chunk_of(x, p, s))))
        });
    } else {
        gx.chunks_mut(s)
            .zip(g.chunks(s))
            .zip(x.chunks(s))
            .enumerate()
            .for_each(f);
    }
}

/// Rows per unit of the layer-norm kernels (fixed, so that partial sums of the weight
/// gradients do not depend on the thread count).
const ROW_BLOCK: usize = 16;

/// Layer norm forward over rows of length `d`: writes `y` and returns `(mean, rstd)` per
/// row. `w` / `b` (length `d`) are optional.
///
/// The row statistics come from `NormFloat`'s float64 sums (SIMD for float32); each block
/// of rows runs compiled for the widest vector unit (`at_widest_level`) so that LLVM
/// vectorises the affine pass, a plain element loop: the same operations at every
/// level, and the same bits.
pub fn layer_norm_forward<T: NormFloat>(
    x: &[T],
    y: &mut [T],
    d: usize,
    w: Option<&[T]>,
    b: Option<&[T]>,
    eps: f64,
) -> Vec<(f64, f64)> {
    if d == 0 {
        return vec![(0.0, f64::INFINITY); 0];
    }
    let rows = x.len() / d;
    #[inline(always)]
    fn row<T: NormFloat>(
        xi: &[T],
        yo: &mut [T],
        w: Option<&[T]>,
        b: Option<&[T]>,
        eps: f64,
    ) -> (f64, f64) {
        let d = xi.len();
        let mean = T::row_sum(xi) / d as f64;
        let var = T::row_sum_sq_dev(xi, mean) / d as f64;
        let rstd = 1.0 / (var + eps).sqrt();
        T::normalize_row(xi, yo, mean, rstd, w, b);
        (mean, rstd)
    }
    let blk = ROW_BLOCK * d;
    let mut stats = vec![(0.0, 0.0); rows];
    let per_block = |i: usize, yo: &mut [T], st: &mut [(f64, f64)]| {
        let xi = chunk_of(x, i, blk);
        at_widest_level(
            #[inline(always)]
            || {
                for ((yr, xr), s) in yo.chunks_mut(d).zip(xi.chunks(d)).zip(st.iter_mut()) {
                    *s = row(xr, yr, w, b, eps);
                }
            },
        );
    };
    // One buffer for the statistics, a block's share written by its task (a vector per
    // block cost about as much in malloc as the block's normalisation).
    if parallel(rows.div_ceil(ROW_BLOCK), x.len()) {
        super::par_chunks_mut2_by((y, blk), (&mut stats, ROW_BLOCK), &per_block);
    } else {
        for (i, (yo, st)) in y
            .chunks_mut(blk)
            .zip(stats.chunks_mut(ROW_BLOCK))
            .enumerate()
        {
            per_block(i, yo, st);
        }
    }
    stats
}

/// Layer norm backward over rows of length `d` with the forward's `(mean, rstd)`:
/// writes `gx` and returns the weight and bias gradients `(sum_rows g * xhat, sum_rows g)`
/// (f64, length `d`).
///
/// Per row: the two row sums in float64 (`NormFloat::row_grad_sums`), then `gx`, then
/// the row's share of the weight and bias gradients added into column sums in `T` that
/// cover the block's 16 rows; the blocks' sums are added in float64, in block order.
/// Each block runs compiled for the widest vector unit, with the same operations at
/// every level. Rows are visited once, in memory order: column sums taken over the
/// block after its rows (a pass back over 16 rows) kept the hardware prefetcher from
/// running ahead of the next block, and the backward took 1.6x PyTorch's time.
pub fn layer_norm_backward<T: NormFloat>(
    g: &[T],
    x: &[T],
    stats: &[(f64, f64)],
    w: Option<&[T]>,
    gx: &mut [T],
    d: usize,
    want_wb: bool,
) -> (Vec<f64>, Vec<f64>) {
    if d == 0 {
        return (vec![], vec![]);
    }
    let blk = ROW_BLOCK * d;
    let rows = x.len() / d;
    let blocks = rows.div_ceil(ROW_BLOCK);
    // Each block's column sums `(aw, ab)`, side by side in one buffer.
    let mut parts = vec![T::from(0.0); if want_wb { blocks * 2 * d } else { 0 }];
    let per_block = |bi: usize, go: &mut [T], part: &mut [T]| {
        let (gr, xr) = (chunk_of(g, bi, blk), chunk_of(x, bi, blk));
        let (aw, ab) = part.split_at_mut(part.len() / 2);
        at_widest_level(
            #[inline(always)]
            || {
                for (ri, ((o, gi), xi)) in go
                    .chunks_mut(d)
                    .zip(gr.chunks(d))
                    .zip(xr.chunks(d))
                    .enumerate()
                {
                    let row_stats = stats[bi * ROW_BLOCK + ri];
                    let (mean, rstd) = row_stats;
                    let (sa, sb) = T::row_grad_sums(gi, xi, w, mean, rstd);
                    // gx = rstd (g w - mean(g w) - xhat mean(g w xhat))
                    let (ma, mb) = (sa / d as f64, sb / d as f64);
                    let sums = want_wb.then_some((&mut aw[..], &mut ab[..]));
                    T::grad_row(gi, xi, w, row_stats, (ma, mb), o, sums);
                }
            },
        );
    };
    match (parallel(blocks, x.len()), want_wb) {
        (true, true) => super::par_chunks_mut2_by((gx, blk), (&mut parts, 2 * d), &per_block),
        (true, false) => super::par_chunks_mut(gx, blk, &|bi, go| per_block(bi, go, &mut [])),
        (false, _) => {
            let mut part_chunks = parts.chunks_mut(2 * d);
            for (bi, go) in gx.chunks_mut(blk).enumerate() {
                per_block(bi, go, part_chunks.next().unwrap_or_default());
            }
        }
    }
    if !want_wb {
        return (vec![], vec![]);
    }
    let mut gw = vec![0.0f64; d];
    let mut gb = vec![0.0f64; d];
    // Compiled for the widest vector unit: a part per 16 rows makes this loop a tenth
    // of a 64x128x256 backward at the baseline level.
    at_widest_level(
        #[inline(always)]
        || {
            for part in parts.chunks(2 * d) {
                let (pw, pb) = part.split_at(d);
                for (((w, b), &a), &c) in gw.iter_mut().zip(gb.iter_mut()).zip(pw).zip(pb) {
                    *w += a.f();
                    *b += c.f();
                }
            }
        },
    );
    (gw, gb)
}

/// Group norm forward over `x` laid out `(n, c, hw)` in `groups` groups of `c / groups`
/// consecutive channels: each `(sample, group)` row of `d = c / groups * hw` elements
/// is normalised by its own mean and biased variance, then channel `ch` is scaled by
/// `w[ch]` and shifted by `b[ch]` (`(x - mean) * a + b` per channel plane).
/// Writes `y` and returns `(mean, rstd)` per row (`n * groups` of them). Rows are
/// independent, so the result does not depend on the thread count.
#[allow(clippy::too_many_arguments)]
pub fn group_norm_forward<T: NormFloat>(
    x: &[T],
    y: &mut [T],
    c: usize,
    groups: usize,
    hw: usize,
    w: Option<&[f64]>,
    b: Option<&[f64]>,
    eps: f64,
) -> Vec<(f64, f64)> {
    if groups == 0 || hw == 0 || c == 0 || x.len() != y.len() || !c.is_multiple_of(groups) {
        return Vec::new();
    }
    let cpg = c / groups;
    let d = cpg * hw;
    if d == 0 {
        return Vec::new();
    }
    let rows = x.len() / d;
    let row = |(r, (yo, xi)): (usize, (&mut [T], &[T]))| -> (f64, f64) {
        let mean = T::row_sum(xi) / d as f64;
        let var = T::row_sum_sq_dev(xi, mean) / d as f64;
        let rstd = 1.0 / (var + eps).sqrt();
        let g0 = (r % groups) * cpg;
        for (k, (yp, xp)) in yo.chunks_mut(hw).zip(xi.chunks(hw)).enumerate() {
            let ch = g0 + k;
            let a = rstd * w.map_or(1.0, |w| w.get(ch).copied().unwrap_or(1.0));
            let beta = b.map_or(0.0, |b| b.get(ch).copied().unwrap_or(0.0));
            // Centered first: a folded `x * a + (beta - mean * a)` cancels badly in
            // float32 when the group's spread is small next to its mean.
            T::center_affine(xp, yp, mean, a, beta);
        }
        (mean, rstd)
    };
    if parallel(rows, x.len()) {
        super::par_chunks_map(y, d, &|r, yo| row((r, (yo, chunk_of(x, r, d)))))
    } else {
        y.chunks_mut(d)
            .zip(x.chunks(d))
            .enumerate()
            .map(row)
            .collect()
    }
}

/// Group norm backward with the forward's `(mean, rstd)` per row: writes `gx` (when
/// given) and returns the weight and bias gradients per channel
/// `(sum_n rstd * sum_hw g * (x - mean), sum_n sum_hw g)` (f64, length `c`), summed
/// over samples in order, so independent of the thread count.
#[allow(clippy::too_many_arguments)]
pub fn group_norm_backward<T: NormFloat>(
    g: &[T],
    x: &[T],
    stats: &[(f64, f64)],
    w: Option<&[f64]>,
    gx: Option<&mut [T]>,
    c: usize,
    groups: usize,
    hw: usize,
) -> (Vec<f64>, Vec<f64>) {
    let (mut gw, mut gb) = (vec![0.0f64; c], vec![0.0f64; c]);
    if groups == 0 || hw == 0 || c == 0 || g.len() != x.len() || !c.is_multiple_of(groups) {
        return (gw, gb);
    }
    let cpg = c / groups;
    let d = cpg * hw;
    if d == 0 {
        return (gw, gb);
    }
    let rows = x.len() / d;
    if stats.len() != rows || gx.as_ref().is_some_and(|o| o.len() != x.len()) {
        return (gw, gb);
    }
    // Per row: (sum g, sum g * (x - mean)) for each of its channels.
    let sums = |r: usize| -> Vec<(f64, f64)> {
        let (mean, _) = stats[r];
        let (gr, xr) = (&g[r * d..(r + 1) * d], &x[r * d..(r + 1) * d]);
        gr.chunks(hw)
            .zip(xr.chunks(hw))
            .map(|(gp, xp)| T::row_grad_sums(gp, xp, None, mean, 1.0))
            .collect()
    };
    let weight = |ch: usize| w.map_or(1.0, |w| w.get(ch).copied().unwrap_or(1.0));
    let parts: Vec<Vec<(f64, f64)>> = match gx {
        None => map_units(rows, x.len(), sums),
        Some(gx) => {
            let write = |(r, o): (usize, &mut [T])| -> Vec<(f64, f64)> {
                let s = sums(r);
                let (mean, rstd) = stats[r];
                let g0 = (r % groups) * cpg;
                // M1 = mean over the row of w * g, M2 = mean of w * g * xhat.
                let (mut swg, mut swgx) = (0.0f64, 0.0f64);
                for (k, &(sg, sgx)) in s.iter().enumerate() {
                    let wc = weight(g0 + k);
                    swg += wc * sg;
                    swgx += wc * sgx;
                }
                let m1 = swg / d as f64;
                let m2 = swgx * rstd / d as f64;
                let bcoef = -rstd * rstd * m2;
                let ccoef = rstd * rstd * m2 * mean - rstd * m1;
                let (gr, xr) = (&g[r * d..(r + 1) * d], &x[r * d..(r + 1) * d]);
                for (k, ((op, gp), xp)) in o
                    .chunks_mut(hw)
                    .zip(gr.chunks(hw))
                    .zip(xr.chunks(hw))
                    .enumerate()
                {
                    let a = rstd * weight(g0 + k);
                    for ((ov, &gv), &xv) in op.iter_mut().zip(gp).zip(xp) {
                        *ov = T::from(gv.f() * a + xv.f() * bcoef + ccoef);
                    }
                }
                s
            };
            if parallel(rows, x.len()) {
                super::par_chunks_map(gx, d, &|r, o| write((r, o)))
            } else {
                gx.chunks_mut(d).enumerate().map(write).collect()
            }
        }
    };
    for (r, s) in parts.iter().enumerate() {
        let (_, rstd) = stats[r];
        let g0 = (r % groups) * cpg;
        for (k, &(sg, sgx)) in s.iter().enumerate() {
            if let (Some(a), Some(b)) = (gw.get_mut(g0 + k), gb.get_mut(g0 + k)) {
                *a += rstd * sgx;
                *b += sg;
            }
        }
    }
    (gw, gb)
}
