//! Bindings of the sliding-window kernels behind rtorch.nn.functional: `_im2col`
//! (F.unfold), `_col2im` (F.fold), `_max_pool` and `_avg_pool` (2-D and
//! 3-D) and `_adaptive_max_pool2d`. Arguments are already expanded to one per axis by the
//! Python layer; the core checks them.

use crate::error::IntoPyResult;
use crate::tensor::{wrap, PyTensor};
use pyo3::prelude::*;
use rtorch_core::ops::pool;
use rtorch_core::ops::window::{self as win, Window2d};
use rtorch_macros::module_fn;

fn pair(v: (i64, i64)) -> [i64; 2] {
    [v.0, v.1]
}

/// Output sizes are counts: a negative one gets PyTorch's message, not a wrap-around.
fn size_pair(v: (i64, i64)) -> PyResult<[usize; 2]> {
    if v.0 <= 0 || v.1 <= 0 {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "output_size should be greater than zero, but got output_height: {} output_width: {}",
            v.0, v.1
        )));
    }
    Ok([v.0 as usize, v.1 as usize])
}

#[module_fn]
#[pyo3(signature = (input, kernel_size, dilation, padding, stride))]
fn _im2col(
    input: PyRef<'_, PyTensor>,
    kernel_size: (i64, i64),
    dilation: (i64, i64),
    padding: (i64, i64),
    stride: (i64, i64),
) -> PyResult<PyTensor> {
    let w = Window2d::new(
        pair(kernel_size),
        pair(dilation),
        pair(padding),
        pair(stride),
    )
    .py()?;
    wrap(win::im2col(&input.inner, w))
}

#[module_fn]
#[pyo3(signature = (input, output_size, kernel_size, dilation, padding, stride))]
fn _col2im(
    input: PyRef<'_, PyTensor>,
    output_size: (i64, i64),
    kernel_size: (i64, i64),
    dilation: (i64, i64),
    padding: (i64, i64),
    stride: (i64, i64),
) -> PyResult<PyTensor> {
    let w = Window2d::new(
        pair(kernel_size),
        pair(dilation),
        pair(padding),
        pair(stride),
    )
    .py()?;
    wrap(win::col2im(&input.inner, size_pair(output_size)?, w))
}

/// `F.max_pool2d` / `F.max_pool3d` with indices: two or three values per argument.
#[module_fn]
#[pyo3(signature = (input, kernel_size, stride, padding, dilation, ceil_mode))]
fn _max_pool(
    input: PyRef<'_, PyTensor>,
    kernel_size: Vec<i64>,
    stride: Vec<i64>,
    padding: Vec<i64>,
    dilation: Vec<i64>,
    ceil_mode: bool,
) -> PyResult<(PyTensor, PyTensor)> {
    let (v, i) = pool::max_pool(
        &input.inner,
        &kernel_size,
        &stride,
        &padding,
        &dilation,
        ceil_mode,
    )
    .py()?;
    Ok((PyTensor::from(v), PyTensor::from(i)))
}

/// `F.avg_pool2d` / `F.avg_pool3d` on a floating input: two or three values per
/// argument.
#[module_fn]
#[pyo3(signature = (input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override))]
fn _avg_pool(
    input: PyRef<'_, PyTensor>,
    kernel_size: Vec<i64>,
    stride: Vec<i64>,
    padding: Vec<i64>,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Option<i64>,
) -> PyResult<PyTensor> {
    wrap(pool::avg_pool(
        &input.inner,
        &kernel_size,
        &stride,
        &padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    ))
}

#[module_fn]
#[pyo3(signature = (input, output_size))]
fn _adaptive_max_pool2d(
    input: PyRef<'_, PyTensor>,
    output_size: (usize, usize),
) -> PyResult<(PyTensor, PyTensor)> {
    let (v, i) = pool::adaptive_max_pool2d(&input.inner, output_size.0, output_size.1).py()?;
    Ok((PyTensor::from(v), PyTensor::from(i)))
}

#[module_fn]
#[pyo3(signature = (input, running_mean, running_var, weight, bias, training, momentum, eps))]
#[allow(clippy::too_many_arguments)]
fn _batch_norm(
    input: PyRef<'_, PyTensor>,
    running_mean: Option<PyRef<'_, PyTensor>>,
    running_var: Option<PyRef<'_, PyTensor>>,
    weight: Option<PyRef<'_, PyTensor>>,
    bias: Option<PyRef<'_, PyTensor>>,
    training: bool,
    momentum: f64,
    eps: f64,
) -> PyResult<PyTensor> {
    wrap(rtorch_core::ops::norm::batch_norm(
        &input.inner,
        running_mean.as_ref().map(|t| &t.inner),
        running_var.as_ref().map(|t| &t.inner),
        weight.as_ref().map(|t| &t.inner),
        bias.as_ref().map(|t| &t.inner),
        training,
        momentum,
        eps,
    ))
}

#[module_fn]
#[pyo3(signature = (input, ndims, weight, bias, eps))]
fn _layer_norm(
    input: PyRef<'_, PyTensor>,
    ndims: usize,
    weight: Option<PyRef<'_, PyTensor>>,
    bias: Option<PyRef<'_, PyTensor>>,
    eps: f64,
) -> PyResult<PyTensor> {
    wrap(rtorch_core::ops::norm::layer_norm(
        &input.inner,
        ndims,
        weight.as_ref().map(|t| &t.inner),
        bias.as_ref().map(|t| &t.inner),
        eps,
    ))
}

#[module_fn]
#[pyo3(signature = (input, num_groups, weight, bias, eps))]
fn _group_norm(
    input: PyRef<'_, PyTensor>,
    num_groups: i64,
    weight: Option<PyRef<'_, PyTensor>>,
    bias: Option<PyRef<'_, PyTensor>>,
    eps: f64,
) -> PyResult<PyTensor> {
    wrap(rtorch_core::ops::norm::group_norm(
        &input.inner,
        num_groups,
        weight.as_ref().map(|t| &t.inner),
        bias.as_ref().map(|t| &t.inner),
        eps,
    ))
}

#[module_fn]
#[pyo3(signature = (weight, indices, padding_idx))]
fn _embedding(
    weight: PyRef<'_, PyTensor>,
    indices: PyRef<'_, PyTensor>,
    padding_idx: Option<usize>,
) -> PyResult<PyTensor> {
    wrap(rtorch_core::ops::embedding::embedding(
        &weight.inner,
        &indices.inner,
        padding_idx,
    ))
}

#[module_fn]
#[pyo3(signature = (weight, indices, offsets, mode, per_sample_weights, include_last_offset, padding_idx))]
#[allow(clippy::too_many_arguments)]
fn _embedding_bag(
    weight: PyRef<'_, PyTensor>,
    indices: PyRef<'_, PyTensor>,
    offsets: Option<PyRef<'_, PyTensor>>,
    mode: i64,
    per_sample_weights: Option<PyRef<'_, PyTensor>>,
    include_last_offset: bool,
    padding_idx: Option<usize>,
) -> PyResult<PyTensor> {
    wrap(rtorch_core::ops::embedding::embedding_bag(
        &weight.inner,
        &indices.inner,
        offsets.as_ref().map(|t| &t.inner),
        mode,
        per_sample_weights.as_ref().map(|t| &t.inner),
        include_last_offset,
        padding_idx,
    ))
}

#[module_fn]
#[pyo3(signature = (input, grid, mode, padding_mode, align_corners))]
fn _grid_sample(
    input: PyRef<'_, PyTensor>,
    grid: PyRef<'_, PyTensor>,
    mode: &str,
    padding_mode: &str,
    align_corners: bool,
) -> PyResult<PyTensor> {
    wrap(rtorch_core::ops::grid_sample::grid_sample(
        &input.inner,
        &grid.inner,
        mode,
        padding_mode,
        align_corners,
    ))
}

#[module_fn]
#[pyo3(signature = (input, pad, mode))]
fn _pad(input: PyRef<'_, PyTensor>, pad: Vec<i64>, mode: &str) -> PyResult<PyTensor> {
    wrap(rtorch_core::ops::pad::pad(&input.inner, &pad, mode))
}

#[module_fn]
#[pyo3(signature = (input, sizes, scales, align_corners, mode))]
fn _interpolate(
    input: PyRef<'_, PyTensor>,
    sizes: Vec<usize>,
    scales: Vec<Option<f64>>,
    align_corners: bool,
    mode: &str,
) -> PyResult<PyTensor> {
    wrap(rtorch_core::ops::resample::interpolate(
        &input.inner,
        &sizes,
        &scales,
        align_corners,
        mode,
    ))
}
