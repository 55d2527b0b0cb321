//! Binding of the fused 2-D convolution behind `F.conv2d` (and conv1d, which is a
//! conv2d of height 1): `_conv2d`. The Python layer checks the arguments with
//! PyTorch's messages and pads asymmetric 'same' padding itself.

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
    // A weight that is not 4-D gets the core's shape error, not a kernel-size one.
    let kernel = match &weight.inner.shape()[..] {
        [_, _, kh, kw] => [*kh, *kw].map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
        _ => [1, 1],
    };
    let win = Window2d::new(
        kernel,
        [dilation.0, dilation.1],
        [padding.0, padding.1],
        [stride.0, stride.1],
    )
    .py()?;
    wrap(conv::conv2d(
        &input.inner,
        &weight.inner,
        bias.as_ref().map(|b| &b.inner),
        win,
        groups,
    ))
}
