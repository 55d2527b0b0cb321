//! Arithmetic bindings: operators, methods, in-place methods and module functions for
//! add, sub, mul, div. Numbers on the left (`2 - t`) go through the reflected methods.

use crate::convert::{rhs_arg, scalar_arg};
use crate::declare::{operator, tensor_ops};
use crate::error::IntoPyResult;
use crate::tensor::{wrap, PyTensor};
use pyo3::prelude::*;
use rtorch_core::ops::binary::{self as b, Rhs, RoundingMode};
use rtorch_core::{Scalar, Tensor};

/// The number on the left of a reflected op as a 0-dim tensor of its natural dtype.
fn scalar_lhs(s: Scalar) -> PyResult<Tensor> {
    Tensor::scalar(s, s.default_dtype()).py()
}

fn alpha_arg(alpha: Option<&Bound<'_, PyAny>>) -> PyResult<Scalar> {
    match alpha {
        None => Ok(Scalar::Int(1)),
        Some(a) => scalar_arg(a)
            .ok_or_else(|| pyo3::exceptions::PyTypeError::new_err("alpha must be a number")),
    }
}

pub fn rounding_arg(mode: Option<&str>) -> PyResult<RoundingMode> {
    match mode {
        None => Ok(RoundingMode::True),
        Some("trunc") => Ok(RoundingMode::Trunc),
        Some("floor") => Ok(RoundingMode::Floor),
        Some(m) => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{m}'"
        ))),
    }
}

#[pymethods]
impl PyTensor {
    fn __add__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| b::add_scaled(&self.inner, r, Scalar::Int(1)))
    }
    fn __radd__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| b::add_scaled(&self.inner, r, Scalar::Int(1)))
    }
    fn __sub__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| b::sub_scaled(&self.inner, r, Scalar::Int(1)))
    }
    fn __rsub__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match scalar_arg(other) {
            Some(s) => Ok(Py::new(py, wrap(b::rsub_scalar(&self.inner, s))?)?.into_any()),
            None => Ok(py.NotImplemented()),
        }
    }
    fn __mul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| b::mul_rhs(&self.inner, r))
    }
    fn __rmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| b::mul_rhs(&self.inner, r))
    }
    fn __truediv__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| b::div_rhs(
            &self.inner,
            r,
            RoundingMode::True
        ))
    }
    fn __rtruediv__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match scalar_arg(other) {
            Some(s) => Ok(Py::new(py, wrap(b::rdiv_scalar(&self.inner, s))?)?.into_any()),
            None => Ok(py.NotImplemented()),
        }
    }
    fn __floordiv__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| b::div_rhs(
            &self.inner,
            r,
            RoundingMode::Floor
        ))
    }
    fn __rfloordiv__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match scalar_arg(other) {
            Some(s) => Ok(Py::new(
                py,
                wrap(b::div_rhs(
                    &scalar_lhs(s)?,
                    &Rhs::Tensor(self.inner.clone()),
                    RoundingMode::Floor,
                ))?,
            )?
            .into_any()),
            None => Ok(py.NotImplemented()),
        }
    }
    fn __neg__(&self) -> PyResult<PyTensor> {
        wrap(b::neg(&self.inner))
    }
    fn __pos__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __iadd__(&self, other: &Bound<'_, PyAny>) -> PyResult<()> {
        let r = rhs_arg(other)?;
        b::add_scaled_in_place(&self.inner, &r, Scalar::Int(1)).py()?;
        Ok(())
    }
    fn __isub__(&self, other: &Bound<'_, PyAny>) -> PyResult<()> {
        let r = rhs_arg(other)?;
        b::sub_scaled_in_place(&self.inner, &r, Scalar::Int(1)).py()?;
        Ok(())
    }
    fn __imul__(&self, other: &Bound<'_, PyAny>) -> PyResult<()> {
        let r = rhs_arg(other)?;
        b::mul_in_place(&self.inner, &r).py()?;
        Ok(())
    }
    fn __itruediv__(&self, other: &Bound<'_, PyAny>) -> PyResult<()> {
        let r = rhs_arg(other)?;
        b::div_in_place(&self.inner, &r, RoundingMode::True).py()?;
        Ok(())
    }
    fn __ifloordiv__(&self, other: &Bound<'_, PyAny>) -> PyResult<()> {
        let r = rhs_arg(other)?;
        b::div_in_place(&self.inner, &r, RoundingMode::Floor).py()?;
        Ok(())
    }
}

tensor_ops! {
    add(other: &Bound<'_, PyAny>; alpha: Option<&Bound<'_, PyAny>> = None)
        |x| b::add_scaled(x, &rhs_arg(other)?, alpha_arg(alpha)?),
        in_place add_ |x| b::add_scaled_in_place(x, &rhs_arg(other)?, alpha_arg(alpha)?);
    sub(other: &Bound<'_, PyAny>; alpha: Option<&Bound<'_, PyAny>> = None) as subtract
        |x| b::sub_scaled(x, &rhs_arg(other)?, alpha_arg(alpha)?),
        in_place sub_ as subtract_ |x| b::sub_scaled_in_place(x, &rhs_arg(other)?, alpha_arg(alpha)?);
    mul(other: &Bound<'_, PyAny>) as multiply |x| b::mul_rhs(x, &rhs_arg(other)?),
        in_place mul_ as multiply_ |x| b::mul_in_place(x, &rhs_arg(other)?);
    div(other: &Bound<'_, PyAny>; rounding_mode: Option<&str> = None) as divide
        |x| b::div_rhs(x, &rhs_arg(other)?, rounding_arg(rounding_mode)?),
        in_place div_ as divide_ |x| b::div_in_place(x, &rhs_arg(other)?, rounding_arg(rounding_mode)?);
    true_divide(other: &Bound<'_, PyAny>) |x| b::div_rhs(x, &rhs_arg(other)?, RoundingMode::True),
        in_place true_divide_ |x| b::div_in_place(x, &rhs_arg(other)?, RoundingMode::True);
    floor_divide(other: &Bound<'_, PyAny>) |x| b::div_rhs(x, &rhs_arg(other)?, RoundingMode::Floor),
        in_place floor_divide_ |x| b::div_in_place(x, &rhs_arg(other)?, RoundingMode::Floor);
    neg() as negative |x| b::neg(x),
        in_place_and_fn neg_ as negative_ |x| b::mul_in_place(x, &Rhs::Scalar(Scalar::Int(-1)));
}
