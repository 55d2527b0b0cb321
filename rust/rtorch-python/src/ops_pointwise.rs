//! Pointwise binary/ternary bindings: pow (`**`), remainder (`%`), fmod, atan2, copysign,
//! maximum/minimum, fmax/fmin, hypot, logaddexp, lerp, addcmul/addcdiv, clamp/clip, float_power.

use crate::convert::{rhs_arg, scalar_arg, tensor_arg};
use crate::declare::{operator, tensor_ops};
use crate::error::IntoPyResult;
use crate::tensor::{wrap, PyTensor};
use pyo3::prelude::*;
use rtorch_core::ops::binary::Rhs;
use rtorch_core::ops::pointwise as p;
use rtorch_core::{Scalar, Tensor};
use rtorch_macros::module_fn;

fn value_arg(v: Option<&Bound<'_, PyAny>>) -> PyResult<Scalar> {
    match v {
        None => Ok(Scalar::Int(1)),
        Some(v) => scalar_arg(v)
            .ok_or_else(|| pyo3::exceptions::PyTypeError::new_err("value must be a number")),
    }
}

fn bound_arg(v: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Rhs>> {
    match v {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => rhs_arg(v).map(Some),
    }
}

fn atan2_(a: &Tensor, b: &Rhs) -> rtorch_core::Result<()> {
    rtorch_core::ops::binary::in_place_with(a, b, p::atan2)
}
fn copysign_(a: &Tensor, b: &Rhs) -> rtorch_core::Result<()> {
    rtorch_core::ops::binary::in_place_with(a, b, p::copysign)
}
fn hypot_(a: &Tensor, b: &Rhs) -> rtorch_core::Result<()> {
    rtorch_core::ops::binary::in_place_with(a, b, p::hypot)
}

fn clamp_bounds(
    min: Option<&Bound<'_, PyAny>>,
    max: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Option<Rhs>, Option<Rhs>)> {
    Ok((bound_arg(min)?, bound_arg(max)?))
}

tensor_ops! {
    fmod(other: &Bound<'_, PyAny>) |x| p::fmod(x, &rhs_arg(other)?),
        in_place fmod_ |x| p::fmod_(x, &rhs_arg(other)?);
    atan2(other: &Bound<'_, PyAny>) as arctan2 |x| p::atan2(x, &rhs_arg(other)?),
        in_place atan2_ as arctan2_ |x| atan2_(x, &rhs_arg(other)?);
    hypot(other: &Bound<'_, PyAny>) |x| p::hypot(x, &rhs_arg(other)?),
        in_place hypot_ |x| hypot_(x, &rhs_arg(other)?);
    logaddexp(other: &Bound<'_, PyAny>) |x| p::logaddexp(x, &tensor_arg(other, "other")?);
    copysign(other: &Bound<'_, PyAny>) |x| p::copysign(x, &rhs_arg(other)?),
        in_place copysign_ |x| copysign_(x, &rhs_arg(other)?);
    maximum(other: &Bound<'_, PyAny>) |x| p::maximum(x, &tensor_arg(other, "other")?);
    minimum(other: &Bound<'_, PyAny>) |x| p::minimum(x, &tensor_arg(other, "other")?);
    fmax(other: &Bound<'_, PyAny>) |x| p::fmax(x, &tensor_arg(other, "other")?);
    fmin(other: &Bound<'_, PyAny>) |x| p::fmin(x, &tensor_arg(other, "other")?);
    lerp(end: PyRef<'_, PyTensor>, weight: &Bound<'_, PyAny>)
        |x| p::lerp(x, &end.inner, &rhs_arg(weight)?),
        in_place lerp_ |x| p::lerp_(x, &end.inner, &rhs_arg(weight)?);
    addcmul(tensor1: PyRef<'_, PyTensor>, tensor2: PyRef<'_, PyTensor>; value: Option<&Bound<'_, PyAny>> = None)
        |x| p::addcmul(x, &tensor1.inner, &tensor2.inner, value_arg(value)?),
        in_place addcmul_ |x| p::addcmul_(x, &tensor1.inner, &tensor2.inner, value_arg(value)?);
    addcdiv(tensor1: PyRef<'_, PyTensor>, tensor2: PyRef<'_, PyTensor>; value: Option<&Bound<'_, PyAny>> = None)
        |x| p::addcdiv(x, &tensor1.inner, &tensor2.inner, value_arg(value)?),
        in_place addcdiv_ |x| p::addcdiv_(x, &tensor1.inner, &tensor2.inner, value_arg(value)?);
    clamp(min: Option<&Bound<'_, PyAny>> = None, max: Option<&Bound<'_, PyAny>> = None) as clip
        |x| { let (lo, hi) = clamp_bounds(min, max)?; p::clamp(x, lo.as_ref(), hi.as_ref()) },
        in_place_and_fn clamp_ as clip_
        |x| { let (lo, hi) = clamp_bounds(min, max)?; p::clamp_(x, lo.as_ref(), hi.as_ref()) };
    clamp_min(min: &Bound<'_, PyAny>) |x| p::clamp_min(x, &rhs_arg(min)?),
        in_place_and_fn clamp_min_ |x| p::clamp_(x, Some(&rhs_arg(min)?), None);
    clamp_max(max: &Bound<'_, PyAny>) |x| p::clamp_max(x, &rhs_arg(max)?),
        in_place_and_fn clamp_max_ |x| p::clamp_(x, None, Some(&rhs_arg(max)?));
}

// The module functions of these take a number first too (`rtorch.pow(2, t)`), below.
tensor_ops! {
    methods:
    pow(exponent: &Bound<'_, PyAny>) |x| p::pow_rhs(x, &rhs_arg(exponent)?),
        in_place pow_ |x| p::pow_rhs_(x, &rhs_arg(exponent)?);
    remainder(other: &Bound<'_, PyAny>) |x| p::remainder(x, &rhs_arg(other)?),
        in_place remainder_ |x| p::remainder_(x, &rhs_arg(other)?);
    float_power(exponent: &Bound<'_, PyAny>) |x| p::float_power(x, &rhs_arg(exponent)?);
}

#[pymethods]
impl PyTensor {
    fn __pow__(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        modulo: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        // Three-argument pow has no tensor form: NotImplemented, so Python raises
        // PyTorch's TypeError (it used to return the power, ignoring the modulus).
        if modulo.is_some_and(|m| !m.is_none()) {
            return Ok(py.NotImplemented());
        }
        operator!(py, other, |r| p::pow_rhs(&self.inner, r))
    }
    fn __rpow__(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        modulo: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        if modulo.is_some_and(|m| !m.is_none()) {
            return Ok(py.NotImplemented());
        }
        match scalar_arg(other) {
            Some(s) => Ok(Py::new(py, wrap(p::rpow_scalar(s, &self.inner))?)?.into_any()),
            None => Ok(py.NotImplemented()),
        }
    }
    fn __ipow__(&self, other: &Bound<'_, PyAny>, _modulo: &Bound<'_, PyAny>) -> PyResult<()> {
        p::pow_rhs_(&self.inner, &rhs_arg(other)?).py()
    }
    fn __mod__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| p::remainder(&self.inner, r))
    }
    fn __rmod__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match scalar_arg(other) {
            Some(s) => Ok(Py::new(py, wrap(p::rremainder_scalar(s, &self.inner))?)?.into_any()),
            None => Ok(py.NotImplemented()),
        }
    }
    fn __imod__(&self, other: &Bound<'_, PyAny>) -> PyResult<()> {
        p::remainder_(&self.inner, &rhs_arg(other)?).py()
    }
}

/// `torch.pow(input, exponent)`: `input` may be a number (then `exponent` is a tensor).
#[module_fn]
#[pyo3(signature = (input, exponent, *, out=None))]
fn pow(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    exponent: &Bound<'_, PyAny>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    if let Some(s) = scalar_arg(input) {
        let e = tensor_arg(exponent, "exponent")?;
        let offer = crate::out::offer(out, &[&e]);
        let result = p::rpow_scalar(s, &e);
        drop(offer);
        return crate::out::finish_out(py, result, out, &[&e], "pow");
    }
    let (a, r) = (tensor_arg(input, "input")?, rhs_arg(exponent)?);
    let ins: Vec<&Tensor> = match &r {
        Rhs::Tensor(t) => vec![&a, t],
        Rhs::Scalar(_) => vec![&a],
    };
    let offer = crate::out::offer(out, &ins);
    let result = p::pow_rhs(&a, &r);
    drop(offer);
    crate::out::finish_out(py, result, out, &ins, "pow")
}

#[module_fn]
fn float_power(input: &Bound<'_, PyAny>, exponent: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    if let Some(s) = scalar_arg(input) {
        let t = tensor_arg(exponent, "exponent")?;
        let base = Tensor::scalar(s, rtorch_core::DType::F64).py()?;
        let e = rtorch_core::ops::copy::to_dtype(&t, rtorch_core::DType::F64).py()?;
        return wrap(p::pow(&base, &e));
    }
    wrap(p::float_power(
        &tensor_arg(input, "input")?,
        &rhs_arg(exponent)?,
    ))
}

/// `torch.remainder(input, other)`: `input` may be a number.
#[module_fn]
fn remainder(input: &Bound<'_, PyAny>, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    if let Some(s) = scalar_arg(input) {
        return wrap(p::rremainder_scalar(s, &tensor_arg(other, "other")?));
    }
    wrap(p::remainder(&tensor_arg(input, "input")?, &rhs_arg(other)?))
}
