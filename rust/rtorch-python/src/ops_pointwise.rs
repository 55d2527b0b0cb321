//! Pointwise binary/ternary bindings: pow (`**`), remainder (`%`), fmod, atan2,
//! maximum/minimum, fmax/fmin, hypot, lerp, addcmul/addcdiv, clamp/clip, float_power.

use crate::convert::{rhs_arg, rhs_opt, scalar_arg, tensor_arg};
use crate::error::IntoPyResult;
use crate::tensor::{wrap, PyTensor};
use pyo3::prelude::*;
use rtorch_core::ops::binary::Rhs;
use rtorch_core::ops::pointwise as p;
use rtorch_core::{Scalar, Tensor};

macro_rules! operator {
    ($py:expr, $other:expr, |$r:ident| $body:expr) => {{
        match rhs_opt($other) {
            Some($r) => Ok(Py::new($py, wrap($body)?)?.into_any()),
            None => Ok($py.NotImplemented()),
        }
    }};
}

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

fn weight_arg(w: &Bound<'_, PyAny>) -> PyResult<Rhs> {
    rhs_arg(w)
}

/// Binary ops whose `other` may be a tensor or a number.
macro_rules! binary_rhs {
    ($($name:ident, $name_:ident => $f:path, $fi:path;)*) => {
        #[pymethods]
        impl PyTensor {
            $(
                fn $name(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
                    wrap($f(&self.inner, &rhs_arg(other)?))
                }
                fn $name_<'py>(slf: Bound<'py, Self>, other: &Bound<'_, PyAny>) -> PyResult<Bound<'py, Self>> {
                    $fi(&slf.borrow().inner, &rhs_arg(other)?).py()?;
                    Ok(slf)
                }
            )*
        }
        mod rhs_funcs {
            use super::*;
            $(
                #[pyfunction]
                #[pyo3(signature = (input, other, *, out=None))]
                pub fn $name(
                    py: Python<'_>,
                    input: &Bound<'_, PyAny>,
                    other: &Bound<'_, PyAny>,
                    out: Option<&Bound<'_, PyAny>>,
                ) -> PyResult<Py<PyAny>> {
                    let (a, r) = (tensor_arg(input, "input")?, rhs_arg(other)?);
                    let ins: Vec<&Tensor> = match &r {
                        Rhs::Tensor(t) => vec![&a, t],
                        Rhs::Scalar(_) => vec![&a],
                    };
                    crate::out::finish_out(py, $f(&a, &r), out, &ins, stringify!($name))
                }
            )*
        }
        fn register_rhs(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $( m.add_function(wrap_pyfunction!(rhs_funcs::$name, m)?)?; )*
            Ok(())
        }
    };
}

fn atan2_(a: &Tensor, b: &Rhs) -> rtorch_core::Result<()> {
    rtorch_core::ops::binary::in_place_with(a, b, p::atan2)
}
fn hypot_(a: &Tensor, b: &Rhs) -> rtorch_core::Result<()> {
    rtorch_core::ops::binary::in_place_with(a, b, p::hypot)
}

binary_rhs! {
    fmod, fmod_ => p::fmod, p::fmod_;
    atan2, atan2_ => p::atan2, atan2_;
    arctan2, arctan2_ => p::atan2, atan2_;
    hypot, hypot_ => p::hypot, hypot_;
}

/// Binary ops whose `other` must be a tensor.
macro_rules! binary_tensor {
    ($($name:ident => $f:path;)*) => {
        #[pymethods]
        impl PyTensor {
            $(
                fn $name(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
                    wrap($f(&self.inner, &tensor_arg(other, "other")?))
                }
            )*
        }
        mod tensor_funcs {
            use super::*;
            $(
                #[pyfunction]
                #[pyo3(signature = (input, other, *, out=None))]
                pub fn $name(
                    py: Python<'_>,
                    input: &Bound<'_, PyAny>,
                    other: &Bound<'_, PyAny>,
                    out: Option<&Bound<'_, PyAny>>,
                ) -> PyResult<Py<PyAny>> {
                    let (a, b) = (tensor_arg(input, "input")?, tensor_arg(other, "other")?);
                    crate::out::finish_out(py, $f(&a, &b), out, &[&a, &b], stringify!($name))
                }
            )*
        }
        fn register_tensor(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $( m.add_function(wrap_pyfunction!(tensor_funcs::$name, m)?)?; )*
            Ok(())
        }
    };
}

binary_tensor! {
    maximum => p::maximum;
    minimum => p::minimum;
    fmax => p::fmax;
    fmin => p::fmin;
}

fn scalar_lhs_pow(s: Scalar, t: &Tensor) -> rtorch_core::Result<Tensor> {
    p::rpow_scalar(s, t)
}

#[pymethods]
impl PyTensor {
    fn __pow__(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        modulo: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let _ = modulo;
        operator!(py, other, |r| p::pow_rhs(&self.inner, &r))
    }
    fn __rpow__(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        modulo: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let _ = modulo;
        match scalar_arg(other) {
            Some(s) => Ok(Py::new(py, wrap(scalar_lhs_pow(s, &self.inner))?)?.into_any()),
            None => Ok(py.NotImplemented()),
        }
    }
    fn __ipow__(&self, other: &Bound<'_, PyAny>, _modulo: &Bound<'_, PyAny>) -> PyResult<()> {
        p::pow_rhs_(&self.inner, &rhs_arg(other)?).py()
    }
    fn __mod__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| p::remainder(&self.inner, &r))
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

    fn pow(&self, exponent: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(p::pow_rhs(&self.inner, &rhs_arg(exponent)?))
    }
    fn pow_<'py>(slf: Bound<'py, Self>, exponent: &Bound<'_, PyAny>) -> PyResult<Bound<'py, Self>> {
        p::pow_rhs_(&slf.borrow().inner, &rhs_arg(exponent)?).py()?;
        Ok(slf)
    }
    fn float_power(&self, exponent: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(p::float_power(&self.inner, &rhs_arg(exponent)?))
    }
    fn remainder(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(p::remainder(&self.inner, &rhs_arg(other)?))
    }
    fn remainder_<'py>(
        slf: Bound<'py, Self>,
        other: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, Self>> {
        p::remainder_(&slf.borrow().inner, &rhs_arg(other)?).py()?;
        Ok(slf)
    }
    fn lerp(&self, end: PyRef<'_, PyTensor>, weight: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(p::lerp(&self.inner, &end.inner, &weight_arg(weight)?))
    }
    fn lerp_<'py>(
        slf: Bound<'py, Self>,
        end: PyRef<'_, PyTensor>,
        weight: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, Self>> {
        p::lerp_(&slf.borrow().inner, &end.inner, &weight_arg(weight)?).py()?;
        Ok(slf)
    }
    #[pyo3(signature = (tensor1, tensor2, *, value=None))]
    fn addcmul(
        &self,
        tensor1: PyRef<'_, PyTensor>,
        tensor2: PyRef<'_, PyTensor>,
        value: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        wrap(p::addcmul(
            &self.inner,
            &tensor1.inner,
            &tensor2.inner,
            value_arg(value)?,
        ))
    }
    #[pyo3(signature = (tensor1, tensor2, *, value=None))]
    fn addcmul_<'py>(
        slf: Bound<'py, Self>,
        tensor1: PyRef<'_, PyTensor>,
        tensor2: PyRef<'_, PyTensor>,
        value: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, Self>> {
        p::addcmul_(
            &slf.borrow().inner,
            &tensor1.inner,
            &tensor2.inner,
            value_arg(value)?,
        )
        .py()?;
        Ok(slf)
    }
    #[pyo3(signature = (tensor1, tensor2, *, value=None))]
    fn addcdiv(
        &self,
        tensor1: PyRef<'_, PyTensor>,
        tensor2: PyRef<'_, PyTensor>,
        value: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        wrap(p::addcdiv(
            &self.inner,
            &tensor1.inner,
            &tensor2.inner,
            value_arg(value)?,
        ))
    }
    #[pyo3(signature = (tensor1, tensor2, *, value=None))]
    fn addcdiv_<'py>(
        slf: Bound<'py, Self>,
        tensor1: PyRef<'_, PyTensor>,
        tensor2: PyRef<'_, PyTensor>,
        value: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, Self>> {
        p::addcdiv_(
            &slf.borrow().inner,
            &tensor1.inner,
            &tensor2.inner,
            value_arg(value)?,
        )
        .py()?;
        Ok(slf)
    }
    #[pyo3(signature = (min=None, max=None))]
    fn clamp(
        &self,
        min: Option<&Bound<'_, PyAny>>,
        max: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        let (lo, hi) = (bound_arg(min)?, bound_arg(max)?);
        wrap(p::clamp(&self.inner, lo.as_ref(), hi.as_ref()))
    }
    #[pyo3(signature = (min=None, max=None))]
    fn clip(
        &self,
        min: Option<&Bound<'_, PyAny>>,
        max: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        self.clamp(min, max)
    }
    #[pyo3(signature = (min=None, max=None))]
    fn clamp_<'py>(
        slf: Bound<'py, Self>,
        min: Option<&Bound<'_, PyAny>>,
        max: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, Self>> {
        let (lo, hi) = (bound_arg(min)?, bound_arg(max)?);
        p::clamp_(&slf.borrow().inner, lo.as_ref(), hi.as_ref()).py()?;
        Ok(slf)
    }
    #[pyo3(signature = (min=None, max=None))]
    fn clip_<'py>(
        slf: Bound<'py, Self>,
        min: Option<&Bound<'_, PyAny>>,
        max: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, Self>> {
        let (lo, hi) = (bound_arg(min)?, bound_arg(max)?);
        p::clamp_(&slf.borrow().inner, lo.as_ref(), hi.as_ref()).py()?;
        Ok(slf)
    }
    fn clamp_min(&self, min: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(p::clamp_min(&self.inner, &rhs_arg(min)?))
    }
    fn clamp_max(&self, max: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(p::clamp_max(&self.inner, &rhs_arg(max)?))
    }
}

/// `torch.pow(input, exponent)`: `input` may be a number (then `exponent` is a tensor).
#[pyfunction]
#[pyo3(signature = (input, exponent, *, out=None))]
fn pow(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    exponent: &Bound<'_, PyAny>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    if let Some(s) = scalar_arg(input) {
        let e = tensor_arg(exponent, "exponent")?;
        return crate::out::finish_out(py, p::rpow_scalar(s, &e), out, &[&e], "pow");
    }
    let (a, r) = (tensor_arg(input, "input")?, rhs_arg(exponent)?);
    let ins: Vec<&Tensor> = match &r {
        Rhs::Tensor(t) => vec![&a, t],
        Rhs::Scalar(_) => vec![&a],
    };
    crate::out::finish_out(py, p::pow_rhs(&a, &r), out, &ins, "pow")
}

#[pyfunction]
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
#[pyfunction]
fn remainder(input: &Bound<'_, PyAny>, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    if let Some(s) = scalar_arg(input) {
        return wrap(p::rremainder_scalar(s, &tensor_arg(other, "other")?));
    }
    wrap(p::remainder(&tensor_arg(input, "input")?, &rhs_arg(other)?))
}

#[pyfunction]
fn lerp(
    input: PyRef<'_, PyTensor>,
    end: PyRef<'_, PyTensor>,
    weight: &Bound<'_, PyAny>,
) -> PyResult<PyTensor> {
    wrap(p::lerp(&input.inner, &end.inner, &weight_arg(weight)?))
}

#[pyfunction]
#[pyo3(signature = (input, tensor1, tensor2, *, value=None))]
fn addcmul(
    input: PyRef<'_, PyTensor>,
    tensor1: PyRef<'_, PyTensor>,
    tensor2: PyRef<'_, PyTensor>,
    value: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    wrap(p::addcmul(
        &input.inner,
        &tensor1.inner,
        &tensor2.inner,
        value_arg(value)?,
    ))
}

#[pyfunction]
#[pyo3(signature = (input, tensor1, tensor2, *, value=None))]
fn addcdiv(
    input: PyRef<'_, PyTensor>,
    tensor1: PyRef<'_, PyTensor>,
    tensor2: PyRef<'_, PyTensor>,
    value: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    wrap(p::addcdiv(
        &input.inner,
        &tensor1.inner,
        &tensor2.inner,
        value_arg(value)?,
    ))
}

#[pyfunction]
#[pyo3(signature = (input, min=None, max=None, *, out=None))]
fn clamp(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    min: Option<&Bound<'_, PyAny>>,
    max: Option<&Bound<'_, PyAny>>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let (lo, hi) = (bound_arg(min)?, bound_arg(max)?);
    let mut ins = vec![&input.inner];
    for b in lo.iter().chain(hi.iter()) {
        if let Rhs::Tensor(t) = b {
            ins.push(t);
        }
    }
    let res = p::clamp(&input.inner, lo.as_ref(), hi.as_ref());
    crate::out::finish_out(py, res, out, &ins, "clamp")
}

#[pyfunction]
#[pyo3(signature = (input, min=None, max=None, *, out=None))]
fn clip(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    min: Option<&Bound<'_, PyAny>>,
    max: Option<&Bound<'_, PyAny>>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    clamp(py, input, min, max, out)
}

#[pyfunction]
#[pyo3(signature = (input, min=None, max=None))]
fn clamp_<'py>(
    input: Bound<'py, PyTensor>,
    min: Option<&Bound<'_, PyAny>>,
    max: Option<&Bound<'_, PyAny>>,
) -> PyResult<Bound<'py, PyTensor>> {
    let (lo, hi) = (bound_arg(min)?, bound_arg(max)?);
    p::clamp_(&input.borrow().inner, lo.as_ref(), hi.as_ref()).py()?;
    Ok(input)
}

#[pyfunction]
fn clamp_min(input: PyRef<'_, PyTensor>, min: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(p::clamp_min(&input.inner, &rhs_arg(min)?))
}

#[pyfunction]
fn clamp_max(input: PyRef<'_, PyTensor>, max: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(p::clamp_max(&input.inner, &rhs_arg(max)?))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    register_rhs(m)?;
    register_tensor(m)?;
    m.add_function(wrap_pyfunction!(pow, m)?)?;
    m.add_function(wrap_pyfunction!(float_power, m)?)?;
    m.add_function(wrap_pyfunction!(remainder, m)?)?;
    m.add_function(wrap_pyfunction!(lerp, m)?)?;
    m.add_function(wrap_pyfunction!(addcmul, m)?)?;
    m.add_function(wrap_pyfunction!(addcdiv, m)?)?;
    m.add_function(wrap_pyfunction!(clamp, m)?)?;
    m.add_function(wrap_pyfunction!(clip, m)?)?;
    m.add_function(wrap_pyfunction!(clamp_, m)?)?;
    m.add_function(wrap_pyfunction!(clamp_min, m)?)?;
    m.add_function(wrap_pyfunction!(clamp_max, m)?)?;
    Ok(())
}
