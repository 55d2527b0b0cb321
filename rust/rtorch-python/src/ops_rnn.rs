//! Binding of the fused recurrent layer behind rtorch.nn.RNN/LSTM/GRU: `_rnn_layer`.

use crate::error::IntoPyResult;
use crate::tensor::PyTensor;
use pyo3::prelude::*;
use rtorch_core::ops::rnn::{self, Direction};
use rtorch_macros::module_fn;

/// One direction: `(x_proj, h0, c0 or None, w_hh, b_hh or None, reverse)`.
type DirArgs<'py> = (
    PyRef<'py, PyTensor>,
    PyRef<'py, PyTensor>,
    Option<PyRef<'py, PyTensor>>,
    PyRef<'py, PyTensor>,
    Option<PyRef<'py, PyTensor>>,
    bool,
);

/// Runs one layer (one or two directions) of the cell `mode` ("LSTM", "GRU",
/// "RNN_TANH", "RNN_RELU") over a sequence with per-step batch sizes `batch_sizes`.
/// Returns per direction `out, h_n` (and `c_n` for LSTM), flat.
#[module_fn]
#[pyo3(signature = (mode, batch_sizes, directions))]
fn _rnn_layer(
    mode: &str,
    batch_sizes: Vec<usize>,
    directions: Vec<DirArgs<'_>>,
) -> PyResult<Vec<PyTensor>> {
    let cell = rnn::cell_from_mode(mode).py()?;
    let dirs: Vec<Direction> = directions
        .iter()
        .map(|(x, h, c, w, b, reverse)| Direction {
            x_proj: x.inner.clone(),
            h0: h.inner.clone(),
            c0: c.as_ref().map(|t| t.inner.clone()),
            w_hh: w.inner.clone(),
            b_hh: b.as_ref().map(|t| t.inner.clone()),
            reverse: *reverse,
        })
        .collect();
    let outs = rnn::rnn_layer(cell, &batch_sizes, &dirs).py()?;
    Ok(outs.into_iter().map(PyTensor::from).collect())
}
