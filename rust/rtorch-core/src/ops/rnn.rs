//! Fused recurrent layers: one op runs one layer of an LSTM, GRU or Elman RNN (one or
//! both directions) over a whole sequence, with one autograd node whose backward is a
//! backward-through-time kernel (`cpu::rnn`).
//!
//! The input projection `x W_ih^T + b` of every step is computed by the caller (one
//! matmul per layer and direction, differentiated by ordinary autograd) and passed in as
//! `x_proj`; this op adds the recurrent part. Double backward is not supported (as with
//! PyTorch's cuDNN path): running this node's backward with `create_graph=True` raises.

use crate::autograd::{is_grad_enabled, needs_grad, record_multi, SavedTensor};
use crate::cpu::rnn::{self as kernel, Cell, RnnFloat};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::layout::fmt_shape;
use crate::tensor::Tensor;

/// One direction's inputs.
pub struct Direction {
    /// (total, G*H): the input projection of every step, biases included (for GRU only
    /// `b_ih`; its `b_hh` is passed apart because of the n gate).
    pub x_proj: Tensor,
    /// (batch, H).
    pub h0: Tensor,
    /// (batch, H), LSTM only.
    pub c0: Option<Tensor>,
    /// (G*H, H).
    pub w_hh: Tensor,
    /// (G*H), GRU only.
    pub b_hh: Option<Tensor>,
    /// Visit the steps from last to first.
    pub reverse: bool,
}

impl Direction {
    fn inputs(&self) -> Vec<&Tensor> {
        let mut v = vec![&self.x_proj, &self.h0];
        v.extend(self.c0.as_ref());
        v.push(&self.w_hh);
        v.extend(self.b_hh.as_ref());
        v
    }
}

/// The cell named as `torch.nn.RNNBase.mode` spells it.
pub fn cell_from_mode(mode: &str) -> Result<Cell> {
    Ok(match mode {
        "LSTM" => Cell::Lstm,
        "GRU" => Cell::Gru,
        "RNN_TANH" => Cell::RnnTanh,
        "RNN_RELU" => Cell::RnnRelu,
        _ => return Err(Error::Runtime(format!("Unrecognized RNN mode: {mode}"))),
    })
}

fn node_name(cell: Cell) -> &'static str {
    match cell {
        Cell::Lstm => "FusedLstmLayerBackward0",
        Cell::Gru => "FusedGruLayerBackward0",
        Cell::RnnTanh => "FusedRnnTanhLayerBackward0",
        Cell::RnnRelu => "FusedRnnReluLayerBackward0",
    }
}

fn expect_shape(what: &str, t: &Tensor, shape: &[usize]) -> Result<()> {
    if t.shape().as_slice() != shape {
        return Err(Error::Runtime(format!(
            "rnn layer: expected {what} of shape {}, got {}",
            fmt_shape(shape),
            fmt_shape(t.shape())
        )));
    }
    Ok(())
}

/// Sizes shared by every direction, after the checks.
struct Sizes {
    dtype: DType,
    batch: usize,
    hidden: usize,
    total: usize,
}

fn check(cell: Cell, batch_sizes: &[usize], dirs: &[Direction]) -> Result<Sizes> {
    let first = dirs
        .first()
        .ok_or_else(|| Error::Runtime("rnn layer: no direction given".into()))?;
    let dtype = first.x_proj.dtype();
    if !matches!(dtype, DType::F32 | DType::F64) {
        return Err(Error::Runtime(format!(
            "rnn layer: expected float32 or float64, got {}",
            dtype.scalar_type_name()
        )));
    }
    if first.h0.dim() != 2 {
        return Err(Error::Runtime(format!(
            "rnn layer: expected a 2-D initial state, got shape {}",
            fmt_shape(first.h0.shape())
        )));
    }
    let (batch, hidden) = (first.h0.shape()[0], first.h0.shape()[1]);
    let gates = cell
        .gates()
        .checked_mul(hidden)
        .ok_or_else(|| Error::Runtime("rnn layer: hidden size too large".into()))?;
    let mut total = 0usize;
    for (t, &b) in batch_sizes.iter().enumerate() {
        if b > batch || (t > 0 && b > batch_sizes[t - 1]) {
            return Err(Error::Runtime(format!(
                "rnn layer: batch sizes must not increase and not exceed the batch ({batch}), \
                 got {batch_sizes:?}"
            )));
        }
        total += b;
    }
    for d in dirs {
        for t in d.inputs() {
            if t.dtype() != dtype {
                return Err(Error::Runtime(format!(
                    "rnn layer: expected all tensors to be {}, got {}",
                    dtype.scalar_type_name(),
                    t.dtype().scalar_type_name()
                )));
            }
        }
        expect_shape("x_proj", &d.x_proj, &[total, gates])?;
        expect_shape("h0", &d.h0, &[batch, hidden])?;
        expect_shape("w_hh", &d.w_hh, &[gates, hidden])?;
        match (&d.c0, cell) {
            (Some(c), Cell::Lstm) => expect_shape("c0", c, &[batch, hidden])?,
            (None, Cell::Lstm) => return Err(Error::Runtime("rnn layer: LSTM needs c0".into())),
            (Some(_), _) => return Err(Error::Runtime("rnn layer: c0 is for LSTM only".into())),
            (None, _) => {}
        }
        match (&d.b_hh, cell) {
            (Some(b), Cell::Gru) => expect_shape("b_hh", b, &[gates])?,
            (Some(_), _) => {
                return Err(Error::Runtime(
                    "rnn layer: b_hh is passed apart for GRU only (fold it into x_proj)".into(),
                ))
            }
            (None, _) => {}
        }
    }
    Ok(Sizes {
        dtype,
        batch,
        hidden,
        total,
    })
}

/// `(row offset, rows)` of each step in visiting order.
fn steps(batch_sizes: &[usize], reverse: bool) -> Vec<(usize, usize)> {
    let mut off = 0;
    let mut v: Vec<(usize, usize)> = batch_sizes
        .iter()
        .map(|&b| {
            let s = (off, b);
            off += b;
            s
        })
        .collect();
    if reverse {
        v.reverse();
    }
    v
}

/// A contiguous, detached view or copy of `t` (kernel input).
fn dense(t: &Tensor) -> Result<Tensor> {
    super::copy::contiguous(&t.detach())
}

/// A fresh contiguous copy of `t` (a kernel buffer updated in place).
fn fresh_copy(t: &Tensor) -> Result<Tensor> {
    let out = Tensor::uninit(t.shape(), t.dtype(), t.device())?;
    crate::ops::map::copy_cast(&out, t)?;
    Ok(out)
}

fn read<T: RnnFloat>(t: &Tensor) -> Result<&[T]> {
    t.as_slice::<T>()
        .ok_or_else(|| Error::Runtime("rnn layer: internal error: non-contiguous buffer".into()))
}

/// The elements of a fresh contiguous tensor of element type `T`, for writing.
///
/// # Safety
/// `t` must be contiguous, of dtype `T`, on the CPU, and no other reference to its
/// elements may be alive while the returned slice is.
#[allow(clippy::mut_from_ref)] // storage is a shared buffer (interior mutability); see Safety
unsafe fn write<T: RnnFloat>(t: &Tensor) -> Result<&mut [T]> {
    // SAFETY: the caller's contract is `cpu_slice_mut`'s.
    unsafe { t.cpu_slice_mut::<T>() }
}

/// Threads of each direction's products: the pool's for a lone direction; one each when
/// the two directions of a bidirectional layer run side by side (`run_jobs`). The
/// products split only their output among threads, so the bits are the same either way.
fn product_threads(directions: usize) -> usize {
    if directions == 1 {
        crate::cpu::get_num_threads()
    } else {
        1
    }
}

/// Runs `jobs` (one per direction), the two directions of a bidirectional layer on two
/// threads when the pool has them.
fn run_jobs<J: FnOnce() + Send>(jobs: Vec<J>) {
    if jobs.len() == 2 && crate::cpu::get_num_threads() > 1 {
        let mut it = jobs.into_iter();
        if let (Some(a), Some(b)) = (it.next(), it.next()) {
            crate::cpu::install(|| rayon::join(a, b));
        }
    } else if crate::cpu::get_num_threads() > 1 {
        // (In the pool: a lone direction's products use it, `product_threads`.)
        crate::cpu::install(|| jobs.into_iter().for_each(|j| j()));
    } else {
        jobs.into_iter().for_each(|j| j());
    }
}

/// The buffers one direction's forward saves for its backward.
struct SavedBufs {
    gates: Tensor,
    h_prev: Tensor,
    extra: Tensor,
}

/// Runs one layer (each direction in `dirs`) over the sequence whose per-step batch
/// sizes are `batch_sizes` (all equal for a padded batch). Returns, per direction,
/// `out (total, H)`, `h_n (batch, H)` and for LSTM `c_n (batch, H)`, in that order.
pub fn rnn_layer(cell: Cell, batch_sizes: &[usize], dirs: &[Direction]) -> Result<Vec<Tensor>> {
    let sz = check(cell, batch_sizes, dirs)?;
    let (hs, total) = (sz.hidden, sz.total);
    let g = cell.gates() * hs;
    let all_inputs: Vec<&Tensor> = dirs.iter().flat_map(|d| d.inputs()).collect();
    if super::any_meta(&all_inputs) {
        return meta_layer(cell, &sz, dirs.len(), &all_inputs);
    }
    let training = needs_grad(&all_inputs);
    let dev = first_device(dirs);
    let numel = |rows: usize, cols: usize| -> Result<usize> {
        rows.checked_mul(cols)
            .ok_or_else(|| Error::Runtime("rnn layer: sizes too large".into()))
    };
    numel(total, g * 2 + hs * 4)?;

    // Inputs (contiguous, detached) and output buffers per direction.
    struct Prepared {
        xp: Tensor,
        w: Tensor,
        b: Option<Tensor>,
        h: Tensor,
        c: Option<Tensor>,
        out: Tensor,
        saved: Option<SavedBufs>,
        steps: Vec<(usize, usize)>,
    }
    let mut prepared = Vec::with_capacity(dirs.len());
    for d in dirs {
        let saved = if training {
            Some(SavedBufs {
                gates: Tensor::uninit(&[total, g], sz.dtype, dev)?,
                h_prev: Tensor::uninit(&[total, hs], sz.dtype, dev)?,
                extra: Tensor::uninit(&[total, cell.extra() * hs], sz.dtype, dev)?,
            })
        } else {
            None
        };
        prepared.push(Prepared {
            xp: dense(&d.x_proj)?,
            w: dense(&d.w_hh)?,
            b: d.b_hh.as_ref().map(dense).transpose()?,
            h: fresh_copy(&d.h0.detach())?,
            c: d.c0.as_ref().map(|c| fresh_copy(&c.detach())).transpose()?,
            out: Tensor::uninit(&[total, hs], sz.dtype, dev)?,
            saved,
            steps: steps(batch_sizes, d.reverse),
        });
    }

    fn forward_all<T: RnnFloat>(cell: Cell, hs: usize, prepared: &[Prepared]) -> Result<()> {
        let threads = product_threads(prepared.len());
        let mut jobs = Vec::with_capacity(prepared.len());
        for p in prepared {
            let xp = read::<T>(&p.xp)?;
            let w = read::<T>(&p.w)?;
            let b = p.b.as_ref().map(read::<T>).transpose()?;
            // SAFETY: `h`, `c`, `out` and the saved buffers are fresh contiguous tensors
            // of dtype T made by `rnn_layer` above, each referenced only here.
            let (h, c, out, saved) = unsafe {
                (
                    write::<T>(&p.h)?,
                    p.c.as_ref().map(|c| write::<T>(c)).transpose()?,
                    write::<T>(&p.out)?,
                    p.saved
                        .as_ref()
                        .map(|s| -> Result<_> {
                            Ok(kernel::Saved {
                                gates: write::<T>(&s.gates)?,
                                h_prev: write::<T>(&s.h_prev)?,
                                extra: write::<T>(&s.extra)?,
                            })
                        })
                        .transpose()?,
                )
            };
            let steps = &p.steps;
            jobs.push(move || {
                let inp = kernel::Inputs {
                    cell,
                    hidden: hs,
                    steps,
                    x_proj: xp,
                    w_hh: w,
                    b_hh: b,
                };
                kernel::forward(&inp, h, c, out, saved, threads);
            });
        }
        run_jobs(jobs);
        Ok(())
    }
    match sz.dtype {
        DType::F64 => forward_all::<f64>(cell, hs, &prepared)?,
        _ => forward_all::<f32>(cell, hs, &prepared)?,
    }

    let mut outs = Vec::with_capacity(dirs.len() * 3);
    for p in &prepared {
        outs.push(p.out.clone());
        outs.push(p.h.clone());
        outs.extend(p.c.clone());
    }
    if training {
        let per_dir = if cell == Cell::Lstm { 3 } else { 2 };
        struct Back {
            saved: SavedBufs,
            w: SavedTensor,
            has_bias: bool,
            steps: Vec<(usize, usize)>,
        }
        let mut backs = Vec::with_capacity(dirs.len());
        for (p, d) in prepared.into_iter().zip(dirs) {
            let saved = p
                .saved
                .ok_or_else(|| Error::Runtime("rnn layer: internal error: no saved".into()))?;
            backs.push(Back {
                saved,
                w: SavedTensor::input(&d.w_hh),
                has_bias: d.b_hh.is_some(),
                steps: p.steps,
            });
        }
        let (batch, dtype) = (sz.batch, sz.dtype);
        let out_refs: Vec<&Tensor> = outs.iter().collect();
        let name = node_name(cell);
        record_multi(name, &all_inputs, &out_refs, move |ctx, grads| {
            if is_grad_enabled() {
                return Err(Error::Runtime(format!(
                    "{name}: double backward (create_graph=True) through the fused \
                     recurrent layer is not supported"
                )));
            }
            // Kernel buffers per direction: d_out, dh, dc, d_x_proj, d_w, d_b.
            struct BackBufs {
                d_out: Option<Tensor>,
                dh: Tensor,
                dc: Option<Tensor>,
                d_xp: Tensor,
                d_w: Tensor,
                d_b: Option<Tensor>,
                w: Tensor,
            }
            let mut bufs = Vec::with_capacity(backs.len());
            for (k, b) in backs.iter().enumerate() {
                let gi = |i: usize| grads.get(k * per_dir + i).cloned().flatten();
                let state = |gr: Option<Tensor>| -> Result<Tensor> {
                    match gr {
                        Some(t) => fresh_copy(&t.detach()),
                        None => Tensor::zeros(&[batch, hs], dtype),
                    }
                };
                bufs.push(BackBufs {
                    d_out: gi(0)
                        .map(|t| super::copy::contiguous(&super::cast_view(&t.detach(), dtype)?))
                        .transpose()?,
                    dh: state(gi(1))?,
                    dc: if cell == Cell::Lstm {
                        Some(state(gi(2))?)
                    } else {
                        None
                    },
                    d_xp: Tensor::uninit(&[total, g], dtype, dev)?,
                    d_w: Tensor::uninit(&[g, hs], dtype, dev)?,
                    d_b: if b.has_bias {
                        Some(Tensor::uninit(&[g], dtype, dev)?)
                    } else {
                        None
                    },
                    w: dense(&b.w.unpack(ctx)?)?,
                });
            }
            fn backward_all<T: RnnFloat>(
                cell: Cell,
                hs: usize,
                backs: &[Back],
                bufs: &[BackBufs],
            ) -> Result<()> {
                let threads = product_threads(backs.len());
                let mut jobs = Vec::with_capacity(backs.len());
                for (b, x) in backs.iter().zip(bufs) {
                    let w = read::<T>(&x.w)?;
                    let d_out = x.d_out.as_ref().map(read::<T>).transpose()?;
                    let (gates, h_prev, extra) = (
                        read::<T>(&b.saved.gates)?,
                        read::<T>(&b.saved.h_prev)?,
                        read::<T>(&b.saved.extra)?,
                    );
                    // SAFETY: every buffer written here is a fresh contiguous tensor of
                    // dtype T made by this backward call, referenced only here.
                    let (dh, dc, d_xp, d_w, d_b) = unsafe {
                        (
                            write::<T>(&x.dh)?,
                            x.dc.as_ref().map(|t| write::<T>(t)).transpose()?,
                            write::<T>(&x.d_xp)?,
                            write::<T>(&x.d_w)?,
                            x.d_b.as_ref().map(|t| write::<T>(t)).transpose()?,
                        )
                    };
                    let steps = &b.steps;
                    jobs.push(move || {
                        let inp = kernel::Inputs {
                            cell,
                            hidden: hs,
                            steps,
                            x_proj: &[],
                            w_hh: w,
                            b_hh: None,
                        };
                        let saved = kernel::SavedRef {
                            gates,
                            h_prev,
                            extra,
                        };
                        let grads = kernel::Grads {
                            d_x_proj: d_xp,
                            d_w_hh: d_w,
                            d_b_hh: d_b,
                        };
                        kernel::backward(&inp, &saved, d_out, dh, dc, grads, threads);
                    });
                }
                run_jobs(jobs);
                Ok(())
            }
            match dtype {
                DType::F64 => backward_all::<f64>(cell, hs, &backs, &bufs)?,
                _ => backward_all::<f32>(cell, hs, &backs, &bufs)?,
            }
            let mut result = Vec::new();
            for x in bufs {
                result.push(Some(x.d_xp));
                result.push(Some(x.dh));
                if let Some(dc) = x.dc {
                    result.push(Some(dc));
                }
                result.push(Some(x.d_w));
                if let Some(db) = x.d_b {
                    result.push(Some(db));
                }
            }
            Ok(result)
        });
    }
    Ok(outs)
}

/// `rnn_layer` on the meta device: the outputs' shapes, and a node that hands each
/// input needing a gradient a meta gradient of its own shape.
fn meta_layer(cell: Cell, sz: &Sizes, dirs: usize, inputs: &[&Tensor]) -> Result<Vec<Tensor>> {
    let meta = |rows: usize| Tensor::empty(&[rows, sz.hidden], sz.dtype, crate::Device::Meta);
    let mut outs = Vec::with_capacity(dirs * 3);
    for _ in 0..dirs {
        outs.push(meta(sz.total)?);
        outs.push(meta(sz.batch)?);
        if cell == Cell::Lstm {
            outs.push(meta(sz.batch)?);
        }
    }
    Tensor::has_values(&outs[0], inputs)?;
    let out_refs: Vec<&Tensor> = outs.iter().collect();
    super::record_meta(node_name(cell), inputs, &out_refs);
    Ok(outs)
}

fn first_device(dirs: &[Direction]) -> crate::device::Device {
    dirs.first()
        .map(|d| d.x_proj.device())
        .unwrap_or(crate::device::Device::Cpu)
}
