//! Bindings of the fused 2-D convolution behind `F.conv2d` (and conv1d, which is a
//! conv2d of height 1), `_conv2d`, and of its input or weight gradient alone,
//! `_conv2d_grad` (`nn.grad`, 16-bit transposed convolutions). The Python layer checks
//! the arguments with PyTorch's messages and pads asymmetric 'same' padding itself.

use crate::error::IntoPyResult;
use crate::tensor::{wrap, PyTensor};
use pyo3::prelude::*;
use rtorch_core::ops::conv;
use rtorch_core::ops::window::Window2d;
use rtorch_macros::module_fn;

#[module_fn]
#[pyo3(signature = (input, weight, bias, stride, padding, dilation, groups))]
fn _conv2d(
    input: PyRef<'_, PyTensor>,
    weight: PyRef<'_, PyTensor>,
    bias: Option<PyRef<'_, PyTensor>>,
    stride: (i64, i64),
    padding: (i64, i64),
    dilation: (i64, i64),
    groups: i64,
) -> PyResult<PyTensor> {
    let win = window(&weight, stride, padding, dilation)?;
    wrap(conv::conv2d(
        &input.inner,
        &weight.inner,
        bias.as_ref().map(|b| &b.inner),
        win,
        groups,
    ))
}

/// The gradient of `_conv2d(input, weight, ...)` with respect to `input`
/// (`wrt_input`; only its shape is read) or `weight` (only its shape is read) given the
/// output's gradient, without a forward pass or a graph (`nn.grad`, and the transposed
/// convolution).
#[module_fn]
#[pyo3(signature = (input, weight, grad_output, stride, padding, dilation, groups, wrt_input))]
#[allow(clippy::too_many_arguments)]
fn _conv2d_grad(
    input: PyRef<'_, PyTensor>,
    weight: PyRef<'_, PyTensor>,
    grad_output: PyRef<'_, PyTensor>,
    stride: (i64, i64),
    padding: (i64, i64),
    dilation: (i64, i64),
    groups: i64,
    wrt_input: bool,
) -> PyResult<PyTensor> {
    let win = window(&weight, stride, padding, dilation)?;
    let (x, w, gy) = (&input.inner, &weight.inner, &grad_output.inner);
    wrap(conv::conv2d_grad(x, w, gy, win, groups, wrt_input))
}

/// The window of a convolution by `weight`.
fn window(
    weight: &PyTensor,
    stride: (i64, i64),
    padding: (i64, i64),
    dilation: (i64, i64),
) -> PyResult<Window2d> {
    // A weight that is not 4-D gets the core's shape error, not a kernel-size one.
    let kernel = match &weight.inner.shape()[..] {
        [_, _, kh, kw] => [*kh, *kw].map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
        _ => [1, 1],
    };
    Window2d::new(
        kernel,
        [dilation.0, dilation.1],
        [padding.0, padding.1],
        [stride.0, stride.1],
    )
    .py()
}
