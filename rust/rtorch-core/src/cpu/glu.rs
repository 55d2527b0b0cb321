//! GLU in float32, `a sigmoid(b)` for the halves `a` and `b` of each row, and its
//! backward, one pass each. (The composite of chunk, sigmoid and mul made two passes and
//! a temporary forward, and four passes, three temporaries and a concatenation
//! backward.)
//!
//! The kernels take rows of `2 m` values, `a` then `b`. The sigmoid of a block of `b`
//! goes to a buffer that stays in L1 for the products. Each row costs a sigmoid call
//! per block, so the caller lays short rows out as one long one first (`ops::glu`).

use super::math::sigmoid_slice;
use super::{chunk_of, par_chunks_mut, par_chunks_mut2, GRAIN};

/// Values whose sigmoid is computed at once.
const BLOCK: usize = 1024;

/// Room for the sigmoid of a block; one per task (zeroing one per row cost as much as
/// the row's products).
type Scratch = [f32; BLOCK];

/// `out = a sigmoid(b)` over equal-length pieces of one row.
fn forward_piece(a: &[f32], b: &[f32], out: &mut [f32], s: &mut Scratch) {
    for ((a, b), o) in a
        .chunks(BLOCK)
        .zip(b.chunks(BLOCK))
        .zip(out.chunks_mut(BLOCK))
    {
        let s = &mut s[..b.len()];
        sigmoid_slice(b, s);
        for ((o, &a), &s) in o.iter_mut().zip(a).zip(&*s) {
            *o = a * s;
        }
    }
}

/// The gradients of `a` and `b` from that of the output, `g`, over pieces of one row:
/// `ga = g s`, `gb = g s (1 - s) a` with `s = sigmoid(b)`.
fn backward_piece(
    (a, b, g): (&[f32], &[f32], &[f32]),
    ga: &mut [f32],
    gb: &mut [f32],
    s: &mut Scratch,
) {
    let pieces = a.chunks(BLOCK).zip(b.chunks(BLOCK)).zip(g.chunks(BLOCK));
    for (((a, b), g), (ga, gb)) in pieces.zip(ga.chunks_mut(BLOCK).zip(gb.chunks_mut(BLOCK))) {
        let s = &mut s[..b.len()];
        sigmoid_slice(b, s);
        let inputs = a.iter().zip(g).zip(&*s);
        for ((ga, gb), ((&a, &g), &s)) in ga.iter_mut().zip(gb.iter_mut()).zip(inputs) {
            let gs = g * s;
            *ga = gs;
            *gb = gs * (1.0 - s) * a;
        }
    }
}

/// Rows per parallel task, so that a task holds about `GRAIN` outputs.
fn rows_per_task(m: usize) -> usize {
    (GRAIN / m.max(1)).max(1)
}

/// `out` (rows of `m`) = `a sigmoid(b)` for `x` in rows of `2 m` (`a`, then `b`).
/// Parallel over rows, or over pieces of the only row.
pub fn glu_forward(x: &[f32], out: &mut [f32], m: usize) {
    if m == 0 {
        return;
    }
    let rows = (x.len() / 2 / m).min(out.len() / m);
    let (x, out) = (&x[..rows * 2 * m], &mut out[..rows * m]);
    let rows_of = |x: &[f32], out: &mut [f32]| {
        let mut s = [0.0; BLOCK];
        for (xr, or) in x.chunks_exact(2 * m).zip(out.chunks_exact_mut(m)) {
            forward_piece(&xr[..m], &xr[m..], or, &mut s);
        }
    };
    if out.len() < GRAIN {
        rows_of(x, out);
    } else if rows == 1 {
        let (a, b) = x.split_at(m);
        par_chunks_mut(out, GRAIN, &|c, oc| {
            let mut s = [0.0; BLOCK];
            forward_piece(chunk_of(a, c, GRAIN), chunk_of(b, c, GRAIN), oc, &mut s)
        });
    } else {
        let per = rows_per_task(m);
        par_chunks_mut(out, per * m, &|c, oc| {
            rows_of(chunk_of(x, c, per * 2 * m), oc)
        });
    }
}

/// The gradient of `x` (rows of `2 m`: that of `a`, then that of `b`) from that of the
/// output, `g` (rows of `m`). Parallel as the forward.
pub fn glu_backward(x: &[f32], g: &[f32], gx: &mut [f32], m: usize) {
    if m == 0 {
        return;
    }
    let rows = (x.len() / 2 / m).min(g.len() / m).min(gx.len() / 2 / m);
    let (x, g, gx) = (&x[..rows * 2 * m], &g[..rows * m], &mut gx[..rows * 2 * m]);
    let rows_of = |x: &[f32], g: &[f32], gx: &mut [f32]| {
        let mut s = [0.0; BLOCK];
        let xs = x.chunks_exact(2 * m).zip(g.chunks_exact(m));
        for ((xr, gr), gxr) in xs.zip(gx.chunks_exact_mut(2 * m)) {
            let (ga, gb) = gxr.split_at_mut(m);
            backward_piece((&xr[..m], &xr[m..], gr), ga, gb, &mut s);
        }
    };
    if g.len() < GRAIN {
        rows_of(x, g, gx);
    } else if rows == 1 {
        let (a, b) = x.split_at(m);
        let (ga, gb) = gx.split_at_mut(m);
        par_chunks_mut2(ga, gb, GRAIN, &|c, gac, gbc| {
            let piece = |v| chunk_of(v, c, GRAIN);
            let mut s = [0.0; BLOCK];
            backward_piece((piece(a), piece(b), piece(g)), gac, gbc, &mut s)
        });
    } else {
        let per = rows_per_task(m);
        par_chunks_mut(gx, per * 2 * m, &|c, gxc| {
            rows_of(chunk_of(x, c, per * 2 * m), chunk_of(g, c, per * m), gxc)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The float64 reference: a sigmoid(b) and its gradients, row by row, with the scale
    /// of each value's rounding errors: `gb`'s `1 - s` is exact to an ulp of `s`, so its
    /// error is relative to `g a`, not to `gb`.
    fn reference(x: &[f64], g: &[f64], m: usize) -> (Vec<f64>, Vec<(f64, f64)>) {
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let (mut out, mut gx) = (vec![], vec![]);
        for (xr, gr) in x.chunks(2 * m).zip(g.chunks(m)) {
            let (a, b) = xr.split_at(m);
            out.extend(a.iter().zip(b).map(|(&a, &b)| a * sig(b)));
            gx.extend(gr.iter().zip(b).map(|(&g, &b)| (g * sig(b), 0.0)));
            let gb = a.iter().zip(b).zip(gr);
            gx.extend(gb.map(|((&a, &b), &g)| (g * a * sig(b) * (1.0 - sig(b)), g * a)));
        }
        (out, gx)
    }

    /// Every driver path (one row, many rows, below and above the grain; blocks with
    /// tails) against the float64 reference.
    #[test]
    fn glu_matches_reference() {
        for (rows, m) in [(3, 5), (2, 1500), (1, 70_001), (40, 1031), (70, 1)] {
            let n = rows * m;
            let x32: Vec<f32> = (0..2 * n)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
                .collect();
            let g32: Vec<f32> = (0..n).map(|i| ((i * 11 % 13) as f32 - 6.0) / 3.0).collect();
            let x: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
            let g: Vec<f64> = g32.iter().map(|&v| v as f64).collect();
            let (want, want_gx) = reference(&x, &g, m);
            let want_all = || {
                want.iter()
                    .map(|&w| (w, 0.0))
                    .chain(want_gx.iter().copied())
            };

            let (mut out, mut gx) = (vec![0f32; n], vec![0f32; 2 * n]);
            glu_forward(&x32, &mut out, m);
            glu_backward(&x32, &g32, &mut gx, m);
            let eps = f32::EPSILON as f64;
            for (got, (want, scale)) in out.iter().chain(&gx).zip(want_all()) {
                let tol = 4.0 * eps * want.abs() + 2.0 * eps * scale.abs();
                assert!(
                    (*got as f64 - want).abs() <= tol,
                    "{rows}x{m}: {got} vs {want}"
                );
            }
        }
    }
}
