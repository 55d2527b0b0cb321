//! Unary math bindings: `rtorch.X(t)`, `t.X()`, `t.X_()` for every unary op, the
//! activations nn.functional uses (with their keyword arguments), `~` and `abs()`.

use crate::declare::tensor_ops;
use crate::tensor::{wrap, PyTensor};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use rtorch_core::ops::unary as u;
use rtorch_macros::module_fn;

// Ops without arguments. `in_place_and_fn`: PyTorch also has `torch.NAME_`.
tensor_ops! {
    abs() |x| u::abs(x), in_place_and_fn abs_ |x| u::abs_(x);
    absolute() |x| u::abs(x), in_place absolute_ |x| u::abs_(x);
    sign() |x| u::sign(x), in_place sign_ |x| u::sign_(x);
    exp() |x| u::exp(x), in_place_and_fn exp_ |x| u::exp_(x);
    exp2() |x| u::exp2(x), in_place_and_fn exp2_ |x| u::exp2_(x);
    expm1() |x| u::expm1(x), in_place_and_fn expm1_ |x| u::expm1_(x);
    log() |x| u::log(x), in_place_and_fn log_ |x| u::log_(x);
    log2() |x| u::log2(x), in_place_and_fn log2_ |x| u::log2_(x);
    log10() |x| u::log10(x), in_place_and_fn log10_ |x| u::log10_(x);
    log1p() |x| u::log1p(x), in_place_and_fn log1p_ |x| u::log1p_(x);
    sqrt() |x| u::sqrt(x), in_place_and_fn sqrt_ |x| u::sqrt_(x);
    rsqrt() |x| u::rsqrt(x), in_place_and_fn rsqrt_ |x| u::rsqrt_(x);
    square() |x| u::square(x), in_place_and_fn square_ |x| u::square_(x);
    sin() |x| u::sin(x), in_place_and_fn sin_ |x| u::sin_(x);
    cos() |x| u::cos(x), in_place_and_fn cos_ |x| u::cos_(x);
    tan() |x| u::tan(x), in_place_and_fn tan_ |x| u::tan_(x);
    asin() as arcsin |x| u::asin(x), in_place_and_fn asin_ as arcsin_ |x| u::asin_(x);
    acos() as arccos |x| u::acos(x), in_place_and_fn acos_ as arccos_ |x| u::acos_(x);
    atan() as arctan |x| u::atan(x), in_place_and_fn atan_ as arctan_ |x| u::atan_(x);
    sinh() |x| u::sinh(x), in_place_and_fn sinh_ |x| u::sinh_(x);
    cosh() |x| u::cosh(x), in_place_and_fn cosh_ |x| u::cosh_(x);
    asinh() as arcsinh |x| u::asinh(x), in_place_and_fn asinh_ as arcsinh_ |x| u::asinh_(x);
    acosh() as arccosh |x| u::acosh(x), in_place_and_fn acosh_ as arccosh_ |x| u::acosh_(x);
    atanh() as arctanh |x| u::atanh(x), in_place_and_fn atanh_ as arctanh_ |x| u::atanh_(x);
    tanh() |x| u::tanh(x), in_place_and_fn tanh_ |x| u::tanh_(x);
    sigmoid() |x| u::sigmoid(x), in_place_and_fn sigmoid_ |x| u::sigmoid_(x);
    relu() |x| u::relu(x), in_place_and_fn relu_ |x| u::relu_(x);
    erf() |x| u::erf(x), in_place_and_fn erf_ |x| u::erf_(x);
    erfc() |x| u::erfc(x), in_place_and_fn erfc_ |x| u::erfc_(x);
    erfinv() |x| u::erfinv(x), in_place erfinv_ |x| u::erfinv_(x);
    lgamma() |x| u::lgamma(x), in_place lgamma_ |x| u::lgamma_(x);
    digamma() |x| u::digamma(x), in_place digamma_ |x| u::digamma_(x);
    floor() |x| u::floor(x), in_place_and_fn floor_ |x| u::floor_(x);
    ceil() |x| u::ceil(x), in_place_and_fn ceil_ |x| u::ceil_(x);
    trunc() as fix |x| u::trunc(x), in_place_and_fn trunc_ as fix_ |x| u::trunc_(x);
    frac() |x| u::frac(x), in_place_and_fn frac_ |x| u::frac_(x);
    reciprocal() |x| u::reciprocal(x), in_place_and_fn reciprocal_ |x| u::reciprocal_(x);
    logical_not() |x| u::logical_not(x), in_place logical_not_ |x| u::logical_not_(x);
    bitwise_not() |x| u::bitwise_not(x), in_place bitwise_not_ |x| u::bitwise_not_(x);
    isnan() |x| u::isnan(x);
    isinf() |x| u::isinf(x);
    isfinite() |x| u::isfinite(x);
    isposinf() |x| u::isposinf(x);
    isneginf() |x| u::isneginf(x);
}

tensor_ops! {
    round(; decimals: i64 = 0) |x| u::round_decimals(x, decimals),
        in_place_and_fn round_ |x| u::round_decimals_(x, decimals);
    nan_to_num(nan: Option<f64> = None, posinf: Option<f64> = None, neginf: Option<f64> = None)
        |x| u::nan_to_num(x, nan, posinf, neginf),
        in_place_and_fn nan_to_num_ |x| u::nan_to_num_(x, nan, posinf, neginf);
}

// `Tensor.polygamma(n)`; `rtorch.polygamma(n, input)` takes the order first (below).
tensor_ops! {
    methods:
    polygamma(n: i64) |x| u::polygamma(n, x), in_place polygamma_ |x| u::polygamma_(n, x);
}

/// `rtorch.polygamma(n, input, *, out=None)`.
#[module_fn]
#[pyo3(signature = (n, input, *, out = None))]
fn polygamma(
    py: Python<'_>,
    n: i64,
    input: &Bound<'_, PyAny>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let input = crate::convert::tensor_ref(input, "input")?.inner.clone();
    let offer = crate::out::offer(out, &[&input]);
    let result = u::polygamma(n, &input);
    drop(offer);
    crate::out::finish_out(py, result, out, &[&input], "polygamma")
}

#[pymethods]
impl PyTensor {
    fn __abs__(&self) -> PyResult<PyTensor> {
        wrap(u::abs(&self.inner))
    }
    fn __invert__(&self) -> PyResult<PyTensor> {
        let d = self.inner.dtype();
        if d.is_floating_point() {
            return Err(PyTypeError::new_err(
                "~ (operator.invert) is only implemented on integer and Boolean-type tensors",
            ));
        }
        wrap(u::bitwise_not(&self.inner))
    }
}

// ----- activations (signatures of torch.nn.functional) -----

#[module_fn]
#[pyo3(signature = (input, approximate="none"))]
fn gelu(input: PyRef<'_, PyTensor>, approximate: &str) -> PyResult<PyTensor> {
    wrap(u::gelu(&input.inner, approximate))
}

#[module_fn]
#[pyo3(signature = (input, inplace=false))]
fn silu(input: PyRef<'_, PyTensor>, inplace: bool) -> PyResult<PyTensor> {
    wrap(u::silu(&input.inner, inplace))
}

/// `F.glu`: the core checks the dim and the dtype.
#[module_fn]
#[pyo3(signature = (input, dim=-1))]
fn glu(input: PyRef<'_, PyTensor>, dim: i64) -> PyResult<PyTensor> {
    wrap(rtorch_core::ops::glu::glu(&input.inner, dim))
}

#[module_fn]
#[pyo3(signature = (input, beta=1.0, threshold=20.0))]
fn softplus(input: PyRef<'_, PyTensor>, beta: f64, threshold: f64) -> PyResult<PyTensor> {
    wrap(u::softplus(&input.inner, beta, threshold))
}

/// PyTorch's `elu(input, alpha, scale, input_scale)` (selu and celu are elu with
/// constants).
#[module_fn]
#[pyo3(signature = (input, alpha=1.0, scale=1.0, input_scale=1.0, inplace=false))]
fn elu(
    input: PyRef<'_, PyTensor>,
    alpha: f64,
    scale: f64,
    input_scale: f64,
    inplace: bool,
) -> PyResult<PyTensor> {
    wrap(u::elu(&input.inner, alpha, scale, input_scale, inplace))
}

#[module_fn]
#[pyo3(signature = (input, alpha=1.0, scale=1.0, input_scale=1.0))]
fn elu_(
    input: PyRef<'_, PyTensor>,
    alpha: f64,
    scale: f64,
    input_scale: f64,
) -> PyResult<PyTensor> {
    wrap(u::elu(&input.inner, alpha, scale, input_scale, true))
}

#[module_fn]
#[pyo3(signature = (input, negative_slope=0.01, inplace=false))]
fn leaky_relu(
    input: PyRef<'_, PyTensor>,
    negative_slope: f64,
    inplace: bool,
) -> PyResult<PyTensor> {
    wrap(u::leaky_relu(&input.inner, negative_slope, inplace))
}

#[module_fn]
#[pyo3(signature = (input, negative_slope=0.01))]
fn leaky_relu_(input: PyRef<'_, PyTensor>, negative_slope: f64) -> PyResult<PyTensor> {
    wrap(u::leaky_relu(&input.inner, negative_slope, true))
}

#[module_fn]
#[pyo3(signature = (input, min_val=-1.0, max_val=1.0, inplace=false))]
fn hardtanh(
    input: PyRef<'_, PyTensor>,
    min_val: f64,
    max_val: f64,
    inplace: bool,
) -> PyResult<PyTensor> {
    wrap(u::hardtanh(&input.inner, min_val, max_val, inplace))
}

#[module_fn]
#[pyo3(signature = (input, min_val=-1.0, max_val=1.0))]
fn hardtanh_(input: PyRef<'_, PyTensor>, min_val: f64, max_val: f64) -> PyResult<PyTensor> {
    wrap(u::hardtanh(&input.inner, min_val, max_val, true))
}

#[module_fn]
#[pyo3(signature = (input, inplace=false))]
fn relu6(input: PyRef<'_, PyTensor>, inplace: bool) -> PyResult<PyTensor> {
    wrap(u::relu6(&input.inner, inplace))
}

#[module_fn]
#[pyo3(signature = (input, inplace=false))]
fn hardsigmoid(input: PyRef<'_, PyTensor>, inplace: bool) -> PyResult<PyTensor> {
    wrap(u::hardsigmoid(&input.inner, inplace))
}

#[module_fn]
#[pyo3(signature = (input, inplace=false))]
fn hardswish(input: PyRef<'_, PyTensor>, inplace: bool) -> PyResult<PyTensor> {
    wrap(u::hardswish(&input.inner, inplace))
}

#[module_fn]
fn logsigmoid(input: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
    wrap(u::logsigmoid(&input.inner))
}

#[module_fn]
#[pyo3(signature = (input, inplace=false))]
fn mish(input: PyRef<'_, PyTensor>, inplace: bool) -> PyResult<PyTensor> {
    wrap(u::mish(&input.inner, inplace))
}

/// The elementwise part of `smooth_l1_loss` (`huber=False`, `param` beta) or
/// `huber_loss` (`param` delta) of a difference, before the reduction.
#[module_fn]
#[pyo3(signature = (diff, param, huber))]
fn _smooth_l1(diff: PyRef<'_, PyTensor>, param: f64, huber: bool) -> PyResult<PyTensor> {
    wrap(u::smooth_l1(&diff.inner, param, huber))
}
