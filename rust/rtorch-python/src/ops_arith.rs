//! Arithmetic bindings: operators, methods, in-place methods and module functions for
//! add, sub, mul, div. Numbers on the left (`2 - t`) go through the reflected methods.

use crate::convert::{rhs_arg, rhs_opt, scalar_arg};
use crate::error::IntoPyResult;
use crate::out::finish_out;
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

/// Returns NotImplemented for unsupported operand types, so Python tries the other side.
macro_rules! operator {
    ($py:expr, $other:expr, |$r:ident| $body:expr) => {{
        match rhs_opt($other) {
            Some($r) => Ok(Py::new($py, wrap($body)?)?.into_any()),
            None => Ok($py.NotImplemented()),
        }
    }};
}

#[pymethods]
impl PyTensor {
    fn __add__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| b::add_scaled(
            &self.inner,
            &r,
            Scalar::Int(1)
        ))
    }
    fn __radd__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| b::add_scaled(
            &self.inner,
            &r,
            Scalar::Int(1)
        ))
    }
    fn __sub__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| b::sub_scaled(
            &self.inner,
            &r,
            Scalar::Int(1)
        ))
    }
    fn __rsub__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match scalar_arg(other) {
            Some(s) => Ok(Py::new(py, wrap(b::rsub_scalar(&self.inner, s))?)?.into_any()),
            None => Ok(py.NotImplemented()),
        }
    }
    fn __mul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| b::mul_rhs(&self.inner, &r))
    }
    fn __rmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| b::mul_rhs(&self.inner, &r))
    }
    fn __truediv__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| b::div_rhs(
            &self.inner,
            &r,
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
            &r,
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

    #[pyo3(signature = (other, *, alpha=None))]
    fn add(
        &self,
        other: &Bound<'_, PyAny>,
        alpha: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        wrap(b::add_scaled(
            &self.inner,
            &rhs_arg(other)?,
            alpha_arg(alpha)?,
        ))
    }
    #[pyo3(signature = (other, *, alpha=None))]
    fn add_<'py>(
        slf: Bound<'py, Self>,
        other: &Bound<'_, PyAny>,
        alpha: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, Self>> {
        b::add_scaled_in_place(&slf.borrow().inner, &rhs_arg(other)?, alpha_arg(alpha)?).py()?;
        Ok(slf)
    }
    #[pyo3(signature = (other, *, alpha=None))]
    fn sub(
        &self,
        other: &Bound<'_, PyAny>,
        alpha: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        wrap(b::sub_scaled(
            &self.inner,
            &rhs_arg(other)?,
            alpha_arg(alpha)?,
        ))
    }
    #[pyo3(signature = (other, *, alpha=None))]
    fn sub_<'py>(
        slf: Bound<'py, Self>,
        other: &Bound<'_, PyAny>,
        alpha: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, Self>> {
        b::sub_scaled_in_place(&slf.borrow().inner, &rhs_arg(other)?, alpha_arg(alpha)?).py()?;
        Ok(slf)
    }
    #[pyo3(signature = (other, *, alpha=None))]
    fn subtract(
        &self,
        other: &Bound<'_, PyAny>,
        alpha: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        self.sub(other, alpha)
    }
    fn mul(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(b::mul_rhs(&self.inner, &rhs_arg(other)?))
    }
    fn multiply(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        self.mul(other)
    }
    fn mul_<'py>(slf: Bound<'py, Self>, other: &Bound<'_, PyAny>) -> PyResult<Bound<'py, Self>> {
        b::mul_in_place(&slf.borrow().inner, &rhs_arg(other)?).py()?;
        Ok(slf)
    }
    #[pyo3(signature = (other, *, rounding_mode=None))]
    fn div(&self, other: &Bound<'_, PyAny>, rounding_mode: Option<&str>) -> PyResult<PyTensor> {
        wrap(b::div_rhs(
            &self.inner,
            &rhs_arg(other)?,
            rounding_arg(rounding_mode)?,
        ))
    }
    #[pyo3(signature = (other, *, rounding_mode=None))]
    fn divide(&self, other: &Bound<'_, PyAny>, rounding_mode: Option<&str>) -> PyResult<PyTensor> {
        self.div(other, rounding_mode)
    }
    #[pyo3(signature = (other, *, rounding_mode=None))]
    fn true_divide(
        &self,
        other: &Bound<'_, PyAny>,
        rounding_mode: Option<&str>,
    ) -> PyResult<PyTensor> {
        self.div(other, rounding_mode)
    }
    #[pyo3(signature = (other, *, rounding_mode=None))]
    fn div_<'py>(
        slf: Bound<'py, Self>,
        other: &Bound<'_, PyAny>,
        rounding_mode: Option<&str>,
    ) -> PyResult<Bound<'py, Self>> {
        b::div_in_place(
            &slf.borrow().inner,
            &rhs_arg(other)?,
            rounding_arg(rounding_mode)?,
        )
        .py()?;
        Ok(slf)
    }
    fn floor_divide(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(b::div_rhs(
            &self.inner,
            &rhs_arg(other)?,
            RoundingMode::Floor,
        ))
    }
    fn neg(&self) -> PyResult<PyTensor> {
        wrap(b::neg(&self.inner))
    }
    fn negative(&self) -> PyResult<PyTensor> {
        wrap(b::neg(&self.inner))
    }
    fn neg_(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        b::mul_in_place(&slf.borrow().inner, &Rhs::Scalar(Scalar::Int(-1))).py()?;
        Ok(slf)
    }
}

/// The first operand of a module-level binary function: a tensor, or a number
/// (`torch.add(2, t)` is not allowed by PyTorch, but `torch.mul(t, 2)` is).
fn first(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    crate::convert::tensor_arg(obj, "input")
}

/// The tensors an op reads (for `out=`'s overlap check).
fn ins<'a>(a: &'a Tensor, r: &'a Rhs) -> Vec<&'a Tensor> {
    match r {
        Rhs::Tensor(t) => vec![a, t],
        Rhs::Scalar(_) => vec![a],
    }
}

#[pyfunction]
#[pyo3(signature = (input, other, *, alpha=None, out=None))]
fn add(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    other: &Bound<'_, PyAny>,
    alpha: Option<&Bound<'_, PyAny>>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let (a, r) = (first(input)?, rhs_arg(other)?);
    let res = b::add_scaled(&a, &r, alpha_arg(alpha)?);
    finish_out(py, res, out, &ins(&a, &r), "add")
}

#[pyfunction]
#[pyo3(signature = (input, other, *, alpha=None, out=None))]
fn sub(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    other: &Bound<'_, PyAny>,
    alpha: Option<&Bound<'_, PyAny>>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let (a, r) = (first(input)?, rhs_arg(other)?);
    let res = b::sub_scaled(&a, &r, alpha_arg(alpha)?);
    finish_out(py, res, out, &ins(&a, &r), "sub")
}

#[pyfunction]
#[pyo3(signature = (input, other, *, out=None))]
fn mul(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    other: &Bound<'_, PyAny>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let (a, r) = (first(input)?, rhs_arg(other)?);
    let res = b::mul_rhs(&a, &r);
    finish_out(py, res, out, &ins(&a, &r), "mul")
}

#[pyfunction]
#[pyo3(signature = (input, other, *, rounding_mode=None, out=None))]
fn div(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    other: &Bound<'_, PyAny>,
    rounding_mode: Option<&str>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let (a, r) = (first(input)?, rhs_arg(other)?);
    let res = b::div_rhs(&a, &r, rounding_arg(rounding_mode)?);
    finish_out(py, res, out, &ins(&a, &r), "div")
}

#[pyfunction]
#[pyo3(signature = (input, other, *, out=None))]
fn floor_divide(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    other: &Bound<'_, PyAny>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let (a, r) = (first(input)?, rhs_arg(other)?);
    let res = b::div_rhs(&a, &r, RoundingMode::Floor);
    finish_out(py, res, out, &ins(&a, &r), "floor_divide")
}

#[pyfunction]
#[pyo3(signature = (input, *, out=None))]
fn neg(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let a = first(input)?;
    finish_out(py, b::neg(&a), out, &[&a], "neg")
}

#[pyfunction]
#[pyo3(signature = (input, *, out=None))]
fn negative(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    neg(py, input, out)
}

#[pyfunction]
#[pyo3(signature = (input, other, *, alpha=None, out=None))]
fn subtract(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    other: &Bound<'_, PyAny>,
    alpha: Option<&Bound<'_, PyAny>>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    sub(py, input, other, alpha, out)
}

#[pyfunction]
#[pyo3(signature = (input, other, *, out=None))]
fn multiply(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    other: &Bound<'_, PyAny>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    mul(py, input, other, out)
}

#[pyfunction]
#[pyo3(signature = (input, other, *, rounding_mode=None, out=None))]
fn divide(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    other: &Bound<'_, PyAny>,
    rounding_mode: Option<&str>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    div(py, input, other, rounding_mode, out)
}

#[pyfunction]
#[pyo3(signature = (input, other, *, out=None))]
fn true_divide(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    other: &Bound<'_, PyAny>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    div(py, input, other, None, out)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(negative, m)?)?;
    m.add_function(wrap_pyfunction!(subtract, m)?)?;
    m.add_function(wrap_pyfunction!(multiply, m)?)?;
    m.add_function(wrap_pyfunction!(divide, m)?)?;
    m.add_function(wrap_pyfunction!(true_divide, m)?)?;
    m.add_function(wrap_pyfunction!(add, m)?)?;
    m.add_function(wrap_pyfunction!(sub, m)?)?;
    m.add_function(wrap_pyfunction!(mul, m)?)?;
    m.add_function(wrap_pyfunction!(div, m)?)?;
    m.add_function(wrap_pyfunction!(floor_divide, m)?)?;
    m.add_function(wrap_pyfunction!(neg, m)?)?;
    Ok(())
}
