//! Fused recurrent layers (LSTM, GRU, Elman RNN with tanh or ReLU): one direction of
//! one layer over a whole sequence, forward and backward-through-time.
//!
//! Layout (all row-major, contiguous): the sequence is flat and time-major, `total`
//! rows; `steps` lists `(row offset, rows)` in the order the direction visits them, and
//! at each step the rows belong to the first `rows` sequences of the batch (a packed
//! sequence's batch sizes never grow along time, so the active sequences are always a
//! prefix). `x_proj` (total, G*H) is the input projection of every step with its bias
//! (for LSTM and RNN both biases) already added; `w_hh` is (G*H, H); the state `h`
//! (and `c`) is (batch, H) and is updated in place, so rows not active at a step keep
//! their state and the buffers hold the final states at the end.
//!
//! Per step: one GEMM `h[..rows] @ w_hh^T`, then one fused pass for the gate
//! nonlinearities and the state update. Backward walks the steps in reverse: one fused
//! pass for the gate gradients and one GEMM `dgates @ w_hh` for the state gradient;
//! the weight gradient is a single GEMM over all steps at the end. Every loop is serial
//! and in a fixed order, so results do not depend on the thread count.

use crate::element::Element;
use std::ops::{Add, Mul, Neg, Sub};

/// The kind of recurrent cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    Lstm,
    Gru,
    RnnTanh,
    RnnRelu,
}

impl Cell {
    /// Gates per hidden unit: rows of `w_hh` per hidden unit.
    pub fn gates(self) -> usize {
        match self {
            Cell::Lstm => 4,
            Cell::Gru => 3,
            Cell::RnnTanh | Cell::RnnRelu => 1,
        }
    }

    /// Extra per-row values saved for backward, in units of H: LSTM keeps the previous
    /// cell state and tanh of the new one, GRU keeps `(h W_hn^T + b_hn)`.
    pub fn extra(self) -> usize {
        match self {
            Cell::Lstm => 2,
            Cell::Gru => 1,
            Cell::RnnTanh | Cell::RnnRelu => 0,
        }
    }
}

/// The float types the kernels run in, with their slice nonlinearities and GEMM.
pub trait RnnFloat:
    Element + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Neg<Output = Self>
{
    fn sigmoid_inplace(x: &mut [Self]);
    fn tanh_inplace(x: &mut [Self]);
    fn tanh_into(x: &[Self], out: &mut [Self]);
}

impl RnnFloat for f32 {
    fn sigmoid_inplace(x: &mut [f32]) {
        super::math::sigmoid_slice_inplace(x)
    }
    fn tanh_inplace(x: &mut [f32]) {
        super::math::tanh_slice_inplace(x)
    }
    fn tanh_into(x: &[f32], out: &mut [f32]) {
        super::math::tanh_slice(x, out)
    }
}

impl RnnFloat for f64 {
    fn sigmoid_inplace(x: &mut [f64]) {
        x.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp()));
    }
    fn tanh_inplace(x: &mut [f64]) {
        x.iter_mut().for_each(|v| *v = v.tanh());
    }
    fn tanh_into(x: &[f64], out: &mut [f64]) {
        for (o, v) in out.iter_mut().zip(x) {
            *o = v.tanh();
        }
    }
}

/// A row-major matrix operand of a GEMM: pointer, rows stride, columns stride.
#[derive(Clone, Copy)]
struct Mat<T> {
    ptr: *const T,
    rs: usize,
    cs: usize,
}

impl<T> Mat<T> {
    /// `s` as a (rows, cols) row-major matrix.
    fn rows(s: &[T], cols: usize) -> Mat<T> {
        Mat {
            ptr: s.as_ptr(),
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose of `s` seen as a (rows, cols) row-major matrix.
    fn transposed(s: &[T], cols: usize) -> Mat<T> {
        Mat {
            ptr: s.as_ptr(),
            rs: 1,
            cs: cols,
        }
    }
}

/// `dst (m, n) (+)= a (m, k) @ b (k, n)`; `dst` is row-major with `n` columns. With
/// `accumulate` the product is added to `dst`, else it replaces it. `threads` split the
/// output only (`cpu::gemm::product`), so the bits do not depend on them.
///
/// The caller guarantees `a` covers `m x k` elements and `b` covers `k x n` elements
/// under their strides, inside live slices.
fn mat_mul<T: RnnFloat>(
    dst: &mut [T],
    accumulate: bool,
    a: Mat<T>,
    b: Mat<T>,
    (m, k, n): (usize, usize, usize),
    threads: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    debug_assert!(dst.len() >= m * n);
    if k == 0 {
        if !accumulate {
            dst[..m * n].iter_mut().for_each(|v| *v = T::zero());
        }
        return;
    }
    // SAFETY: `dst` holds at least m*n elements (checked by every caller's slicing,
    // asserted above in debug builds) and is exclusively borrowed; the operands' extents
    // are guaranteed by the caller (see the doc comment) and are only read. T is f32 or
    // f64, both supported by the gemm crate.
    unsafe {
        super::gemm::product::<T>(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            n,
            1,
            accumulate,
            a.ptr,
            a.rs,
            a.cs,
            b.ptr,
            b.rs,
            b.cs,
            threads.max(1),
        )
    }
}

/// Buffers the forward pass fills for backward (each `total` rows): the gate
/// activations (G*H per row; for RNN the output), the state before the step (H per row)
/// and the cell's extra values ([`Cell::extra`] * H per row).
pub struct Saved<'a, T> {
    pub gates: &'a mut [T],
    pub h_prev: &'a mut [T],
    pub extra: &'a mut [T],
}

/// The saved buffers as backward reads them.
pub struct SavedRef<'a, T> {
    pub gates: &'a [T],
    pub h_prev: &'a [T],
    pub extra: &'a [T],
}

/// The read-only inputs of one direction (backward does not read `x_proj` or `b_hh`).
pub struct Inputs<'a, T> {
    pub cell: Cell,
    pub hidden: usize,
    pub steps: &'a [(usize, usize)],
    pub x_proj: &'a [T],
    pub w_hh: &'a [T],
    /// The recurrent bias, GRU only (the others fold it into `x_proj`).
    pub b_hh: Option<&'a [T]>,
}

/// Runs one direction over all steps. `h` (and `c` for LSTM) hold the initial state on
/// entry and the final state on return; `out` (total, H) receives each step's output.
/// Each step's product runs on `threads` threads.
/// Slices must have the sizes the module documentation gives (checked by the op).
pub fn forward<T: RnnFloat>(
    inp: &Inputs<'_, T>,
    h: &mut [T],
    mut c: Option<&mut [T]>,
    out: &mut [T],
    mut saved: Option<Saved<'_, T>>,
    threads: usize,
) {
    let hs = inp.hidden;
    let g = inp.cell.gates() * hs;
    let max_rows = inp.steps.iter().map(|s| s.1).max().unwrap_or(0);
    // Scratch for a step's gates when nothing is saved, and for GRU's h @ W_hh^T.
    let mut scratch_gates = if saved.is_none() {
        vec![T::zero(); max_rows * g]
    } else {
        Vec::new()
    };
    let mut hp = if inp.cell == Cell::Gru {
        vec![T::zero(); max_rows * g]
    } else {
        Vec::new()
    };
    let mut tc_scratch = vec![T::zero(); hs];
    // W_hh^T row-major, made once: every step's `h @ W_hh^T` then reads a row-major B,
    // which the crate packs at full speed (a transposed B with k = H costs it 2x:
    // 32x256 @ 256x1024 on one thread, 378 against 169 us).
    let mut w_rows = vec![T::zero(); hs * g];
    super::reorder::transpose(inp.w_hh, hs, hs, g, &mut w_rows, g);
    let w_t = Mat::rows(&w_rows, g);
    for &(off, rows) in inp.steps {
        if rows == 0 {
            continue;
        }
        let (gates, h_prev, extra) = match saved.as_mut() {
            Some(s) => (
                &mut s.gates[off * g..(off + rows) * g],
                Some(&mut s.h_prev[off * hs..(off + rows) * hs]),
                Some(
                    &mut s.extra[off * hs * inp.cell.extra()..(off + rows) * hs * inp.cell.extra()],
                ),
            ),
            None => (&mut scratch_gates[..rows * g], None, None),
        };
        if let Some(hprev) = h_prev {
            hprev.copy_from_slice(&h[..rows * hs]);
        }
        let xp = &inp.x_proj[off * g..(off + rows) * g];
        let hin = Mat::rows(&h[..rows * hs], hs);
        match inp.cell {
            Cell::Lstm => {
                gates.copy_from_slice(xp);
                mat_mul(gates, true, hin, w_t, (rows, hs, g), threads);
                let c = c.as_deref_mut().unwrap_or(&mut []);
                lstm_rows(gates, c, h, out, off, rows, hs, extra, &mut tc_scratch);
            }
            Cell::Gru => {
                let hp = &mut hp[..rows * g];
                match inp.b_hh {
                    Some(b) => hp.chunks_exact_mut(g).for_each(|r| r.copy_from_slice(b)),
                    None => hp.iter_mut().for_each(|v| *v = T::zero()),
                }
                mat_mul(hp, true, hin, w_t, (rows, hs, g), threads);
                gru_rows(gates, xp, hp, h, out, off, rows, hs, extra);
            }
            Cell::RnnTanh | Cell::RnnRelu => {
                gates.copy_from_slice(xp);
                mat_mul(gates, true, hin, w_t, (rows, hs, g), threads);
                if inp.cell == Cell::RnnTanh {
                    T::tanh_inplace(gates);
                } else {
                    gates.iter_mut().for_each(|v| {
                        // NaN stays NaN, as PyTorch's relu.
                        if *v < T::zero() {
                            *v = T::zero()
                        }
                    });
                }
                h[..rows * hs].copy_from_slice(gates);
                out[off * hs..(off + rows) * hs].copy_from_slice(gates);
            }
        }
    }
}

/// LSTM nonlinearities and state update for one step's rows; `gates` holds the
/// pre-activations (i, f, g, o) on entry and the activations on return.
#[allow(clippy::too_many_arguments)]
fn lstm_rows<T: RnnFloat>(
    gates: &mut [T],
    c: &mut [T],
    h: &mut [T],
    out: &mut [T],
    off: usize,
    rows: usize,
    hs: usize,
    mut extra: Option<&mut [T]>,
    tc_scratch: &mut [T],
) {
    for r in 0..rows {
        let gr = &mut gates[r * 4 * hs..(r + 1) * 4 * hs];
        T::sigmoid_inplace(&mut gr[..2 * hs]);
        T::tanh_inplace(&mut gr[2 * hs..3 * hs]);
        T::sigmoid_inplace(&mut gr[3 * hs..]);
        let (ifg, o) = gr.split_at(3 * hs);
        let (i, fg) = ifg.split_at(hs);
        let (f, gg) = fg.split_at(hs);
        let cr = &mut c[r * hs..(r + 1) * hs];
        let (cprev_save, tc) = match extra.as_deref_mut() {
            Some(e) => {
                let (cp, tc) = e[r * 2 * hs..(r + 1) * 2 * hs].split_at_mut(hs);
                (Some(cp), tc)
            }
            None => (None, &mut tc_scratch[..]),
        };
        if let Some(cp) = cprev_save {
            cp.copy_from_slice(cr);
        }
        for j in 0..hs {
            cr[j] = f[j] * cr[j] + i[j] * gg[j];
        }
        T::tanh_into(cr, tc);
        let hr = &mut h[r * hs..(r + 1) * hs];
        for j in 0..hs {
            hr[j] = o[j] * tc[j];
        }
        out[(off + r) * hs..(off + r + 1) * hs].copy_from_slice(hr);
    }
}

/// GRU gates and state update for one step's rows. `hp` holds `h W_hh^T + b_hh`;
/// `gates` receives the activations (r, z, n) and `extra` the `hp` of the n gate.
#[allow(clippy::too_many_arguments)]
fn gru_rows<T: RnnFloat>(
    gates: &mut [T],
    xp: &[T],
    hp: &[T],
    h: &mut [T],
    out: &mut [T],
    off: usize,
    rows: usize,
    hs: usize,
    mut extra: Option<&mut [T]>,
) {
    let g = 3 * hs;
    for r in 0..rows {
        let gr = &mut gates[r * g..(r + 1) * g];
        let xr = &xp[r * g..(r + 1) * g];
        let hr_p = &hp[r * g..(r + 1) * g];
        for j in 0..2 * hs {
            gr[j] = xr[j] + hr_p[j];
        }
        T::sigmoid_inplace(&mut gr[..2 * hs]);
        let (rz, n) = gr.split_at_mut(2 * hs);
        for j in 0..hs {
            n[j] = xr[2 * hs + j] + rz[j] * hr_p[2 * hs + j];
        }
        T::tanh_inplace(n);
        let z = &rz[hs..];
        let hrow = &mut h[r * hs..(r + 1) * hs];
        for j in 0..hs {
            hrow[j] = n[j] + z[j] * (hrow[j] - n[j]);
        }
        out[(off + r) * hs..(off + r + 1) * hs].copy_from_slice(hrow);
        if let Some(e) = extra.as_deref_mut() {
            e[r * hs..(r + 1) * hs].copy_from_slice(&hr_p[2 * hs..]);
        }
    }
}

/// Gradients of one direction.
pub struct Grads<'a, T> {
    /// (total, G*H): the gradient of `x_proj`.
    pub d_x_proj: &'a mut [T],
    /// (G*H, H).
    pub d_w_hh: &'a mut [T],
    /// (G*H), GRU with a bias only.
    pub d_b_hh: Option<&'a mut [T]>,
}

/// Backward through time. `dh` (and `dc`) hold the gradients of the final states on
/// entry (zeros where none) and the gradients of the initial states on return;
/// `d_out` is the gradient of the outputs, if any. The products run on `threads` threads.
#[allow(clippy::too_many_arguments)]
pub fn backward<T: RnnFloat>(
    inp: &Inputs<'_, T>,
    saved: &SavedRef<'_, T>,
    d_out: Option<&[T]>,
    dh: &mut [T],
    mut dc: Option<&mut [T]>,
    grads: Grads<'_, T>,
    threads: usize,
) {
    let hs = inp.hidden;
    let g = inp.cell.gates() * hs;
    let total = saved.h_prev.len() / hs.max(1);
    // GRU needs the gradient of `h W_hh^T + b_hh` apart from that of `x_proj`.
    let mut dhp_all = if inp.cell == Cell::Gru {
        vec![T::zero(); total * g]
    } else {
        Vec::new()
    };
    let w = Mat::rows(inp.w_hh, hs);
    let one = T::one();
    for &(off, rows) in inp.steps.iter().rev() {
        if rows == 0 {
            continue;
        }
        let dhr = &mut dh[..rows * hs];
        if let Some(go) = d_out {
            for (d, &o) in dhr.iter_mut().zip(&go[off * hs..(off + rows) * hs]) {
                *d = *d + o;
            }
        }
        let acts = &saved.gates[off * g..(off + rows) * g];
        let dg = &mut grads.d_x_proj[off * g..(off + rows) * g];
        match inp.cell {
            Cell::Lstm => {
                let dc = dc.as_deref_mut().unwrap_or(&mut []);
                let ex = &saved.extra[off * 2 * hs..(off + rows) * 2 * hs];
                for r in 0..rows {
                    let a = &acts[r * g..(r + 1) * g];
                    let (i, f, gg, o) =
                        (&a[..hs], &a[hs..2 * hs], &a[2 * hs..3 * hs], &a[3 * hs..]);
                    let (cp, tc) = ex[r * 2 * hs..(r + 1) * 2 * hs].split_at(hs);
                    let d = &mut dg[r * g..(r + 1) * g];
                    let dhrow = &dhr[r * hs..(r + 1) * hs];
                    let dcrow = &mut dc[r * hs..(r + 1) * hs];
                    for j in 0..hs {
                        let dct = dcrow[j] + dhrow[j] * o[j] * (one - tc[j] * tc[j]);
                        d[j] = dct * gg[j] * i[j] * (one - i[j]);
                        d[hs + j] = dct * cp[j] * f[j] * (one - f[j]);
                        d[2 * hs + j] = dct * i[j] * (one - gg[j] * gg[j]);
                        d[3 * hs + j] = dhrow[j] * tc[j] * o[j] * (one - o[j]);
                        dcrow[j] = dct * f[j];
                    }
                }
                mat_mul(dhr, false, Mat::rows(dg, g), w, (rows, g, hs), threads);
            }
            Cell::Gru => {
                let hprev = &saved.h_prev[off * hs..(off + rows) * hs];
                let hpn = &saved.extra[off * hs..(off + rows) * hs];
                let dhp = &mut dhp_all[off * g..(off + rows) * g];
                for r in 0..rows {
                    let a = &acts[r * g..(r + 1) * g];
                    let (rg, z, n) = (&a[..hs], &a[hs..2 * hs], &a[2 * hs..]);
                    let d = &mut dg[r * g..(r + 1) * g];
                    let dp = &mut dhp[r * g..(r + 1) * g];
                    let hp = &hprev[r * hs..(r + 1) * hs];
                    let hn = &hpn[r * hs..(r + 1) * hs];
                    let dhrow = &mut dhr[r * hs..(r + 1) * hs];
                    for j in 0..hs {
                        let dho = dhrow[j];
                        let dzn = dho * (one - z[j]) * (one - n[j] * n[j]);
                        let dzz = dho * (hp[j] - n[j]) * z[j] * (one - z[j]);
                        let dzr = dzn * hn[j] * rg[j] * (one - rg[j]);
                        d[j] = dzr;
                        d[hs + j] = dzz;
                        d[2 * hs + j] = dzn;
                        dp[j] = dzr;
                        dp[hs + j] = dzz;
                        dp[2 * hs + j] = dzn * rg[j];
                        dhrow[j] = dho * z[j];
                    }
                }
                mat_mul(dhr, true, Mat::rows(dhp, g), w, (rows, g, hs), threads);
            }
            Cell::RnnTanh | Cell::RnnRelu => {
                let tanh = inp.cell == Cell::RnnTanh;
                for ((d, &y), &dho) in dg.iter_mut().zip(acts).zip(dhr.iter()) {
                    *d = if tanh {
                        dho * (one - y * y)
                    } else if y > T::zero() {
                        dho
                    } else {
                        T::zero()
                    };
                }
                mat_mul(dhr, false, Mat::rows(dg, g), w, (rows, g, hs), threads);
            }
        }
    }
    // d_w_hh = d_gates^T @ h_prev over every step at once.
    let dpre: &[T] = if inp.cell == Cell::Gru {
        &dhp_all[..]
    } else {
        &*grads.d_x_proj
    };
    mat_mul(
        grads.d_w_hh,
        false,
        Mat::transposed(dpre, g),
        Mat::rows(saved.h_prev, hs),
        (g, total, hs),
        threads,
    );
    if let Some(db) = grads.d_b_hh {
        db.iter_mut().for_each(|v| *v = T::zero());
        for row in dpre.chunks_exact(g) {
            for (b, &v) in db.iter_mut().zip(row) {
                *b = *b + v;
            }
        }
    }
}
