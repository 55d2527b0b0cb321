//! Comparison and logic bindings: `==`, `<`, ... (rich comparison), `&`, `|`, `^`,
//! `<<`, `>>` with reflected and in-place forms, and the named functions/methods.

use crate::convert::{rhs_arg, scalar_arg, tensor_arg};
use crate::declare::{operator, tensor_ops};
use crate::error::IntoPyResult;
use crate::tensor::{wrap, PyTensor};
use pyo3::prelude::*;
use pyo3::types::PyBool;
use rtorch_core::ops::compare::{self as c, Bit, Cmp, Logic};
use rtorch_macros::module_fn;

/// Reflected bitwise operator: a number on the left.
macro_rules! roperator {
    ($py:expr, $self:expr, $other:expr, $op:expr) => {{
        match scalar_arg($other) {
            Some(s) => {
                Ok(Py::new($py, wrap(c::bitwise_scalar_lhs(s, &$self.inner, $op))?)?.into_any())
            }
            None => Ok($py.NotImplemented()),
        }
    }};
}

tensor_ops! {
    eq(other: &Bound<'_, PyAny>) |x| c::compare(x, &rhs_arg(other)?, Cmp::Eq),
        in_place eq_ |x| c::compare_(x, &rhs_arg(other)?, Cmp::Eq);
    ne(other: &Bound<'_, PyAny>) as not_equal |x| c::compare(x, &rhs_arg(other)?, Cmp::Ne),
        in_place ne_ as not_equal_ |x| c::compare_(x, &rhs_arg(other)?, Cmp::Ne);
    lt(other: &Bound<'_, PyAny>) as less |x| c::compare(x, &rhs_arg(other)?, Cmp::Lt),
        in_place lt_ as less_ |x| c::compare_(x, &rhs_arg(other)?, Cmp::Lt);
    le(other: &Bound<'_, PyAny>) as less_equal |x| c::compare(x, &rhs_arg(other)?, Cmp::Le),
        in_place le_ as less_equal_ |x| c::compare_(x, &rhs_arg(other)?, Cmp::Le);
    gt(other: &Bound<'_, PyAny>) as greater |x| c::compare(x, &rhs_arg(other)?, Cmp::Gt),
        in_place gt_ as greater_ |x| c::compare_(x, &rhs_arg(other)?, Cmp::Gt);
    ge(other: &Bound<'_, PyAny>) as greater_equal |x| c::compare(x, &rhs_arg(other)?, Cmp::Ge),
        in_place ge_ as greater_equal_ |x| c::compare_(x, &rhs_arg(other)?, Cmp::Ge);
    logical_and(other: &Bound<'_, PyAny>) |x| c::logical(x, &tensor_arg(other, "other")?, Logic::And),
        in_place logical_and_ |x| c::logical_(x, &tensor_arg(other, "other")?, Logic::And);
    logical_or(other: &Bound<'_, PyAny>) |x| c::logical(x, &tensor_arg(other, "other")?, Logic::Or),
        in_place logical_or_ |x| c::logical_(x, &tensor_arg(other, "other")?, Logic::Or);
    logical_xor(other: &Bound<'_, PyAny>) |x| c::logical(x, &tensor_arg(other, "other")?, Logic::Xor),
        in_place logical_xor_ |x| c::logical_(x, &tensor_arg(other, "other")?, Logic::Xor);
}

macro_rules! bitwise_methods {
    ($($name:ident, $name_:ident => $op:expr;)*) => {
        #[pymethods]
        impl PyTensor {
            $(
                fn $name(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
                    wrap(c::bitwise(&self.inner, &rhs_arg(other)?, $op))
                }
                fn $name_<'py>(slf: Bound<'py, Self>, other: &Bound<'_, PyAny>) -> PyResult<Bound<'py, Self>> {
                    c::bitwise_(&slf.borrow().inner, &rhs_arg(other)?, $op).py()?;
                    Ok(slf)
                }
            )*
        }
        mod bit_funcs {
            use super::*;
            $(
                #[module_fn]
                pub fn $name(input: &Bound<'_, PyAny>, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
                    match scalar_arg(input) {
                        Some(s) => wrap(c::bitwise_scalar_lhs(s, &tensor_arg(other, "other")?, $op)),
                        None => wrap(c::bitwise(&tensor_arg(input, "input")?, &rhs_arg(other)?, $op)),
                    }
                }
            )*
        }
    };
}

bitwise_methods! {
    bitwise_and, bitwise_and_ => Bit::And;
    bitwise_or, bitwise_or_ => Bit::Or;
    bitwise_xor, bitwise_xor_ => Bit::Xor;
    bitwise_left_shift, bitwise_left_shift_ => Bit::Shl;
    bitwise_right_shift, bitwise_right_shift_ => Bit::Shr;
}

fn cmp_op(py: Python<'_>, t: &PyTensor, other: &Bound<'_, PyAny>, op: Cmp) -> PyResult<Py<PyAny>> {
    operator!(py, other, |r| c::compare(&t.inner, r, op))
}

#[pymethods]
impl PyTensor {
    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        cmp_op(py, self, other, Cmp::Eq)
    }
    fn __ne__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        cmp_op(py, self, other, Cmp::Ne)
    }
    fn __lt__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        cmp_op(py, self, other, Cmp::Lt)
    }
    fn __le__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        cmp_op(py, self, other, Cmp::Le)
    }
    fn __gt__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        cmp_op(py, self, other, Cmp::Gt)
    }
    fn __ge__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        cmp_op(py, self, other, Cmp::Ge)
    }

    fn __and__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| c::bitwise(&self.inner, r, Bit::And))
    }
    fn __or__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| c::bitwise(&self.inner, r, Bit::Or))
    }
    fn __xor__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| c::bitwise(&self.inner, r, Bit::Xor))
    }
    fn __lshift__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| c::bitwise(&self.inner, r, Bit::Shl))
    }
    fn __rshift__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| c::bitwise(&self.inner, r, Bit::Shr))
    }
    fn __rand__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| c::bitwise(&self.inner, r, Bit::And))
    }
    fn __ror__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| c::bitwise(&self.inner, r, Bit::Or))
    }
    fn __rxor__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| c::bitwise(&self.inner, r, Bit::Xor))
    }
    fn __rlshift__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        roperator!(py, self, other, Bit::Shl)
    }
    fn __rrshift__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        roperator!(py, self, other, Bit::Shr)
    }
    fn __iand__(&self, other: &Bound<'_, PyAny>) -> PyResult<()> {
        c::bitwise_(&self.inner, &rhs_arg(other)?, Bit::And).py()
    }
    fn __ior__(&self, other: &Bound<'_, PyAny>) -> PyResult<()> {
        c::bitwise_(&self.inner, &rhs_arg(other)?, Bit::Or).py()
    }
    fn __ixor__(&self, other: &Bound<'_, PyAny>) -> PyResult<()> {
        c::bitwise_(&self.inner, &rhs_arg(other)?, Bit::Xor).py()
    }
    fn __ilshift__(&self, other: &Bound<'_, PyAny>) -> PyResult<()> {
        c::bitwise_(&self.inner, &rhs_arg(other)?, Bit::Shl).py()
    }
    fn __irshift__(&self, other: &Bound<'_, PyAny>) -> PyResult<()> {
        c::bitwise_(&self.inner, &rhs_arg(other)?, Bit::Shr).py()
    }
}

tensor_ops! {
    no_out:
    isclose(other: PyRef<'_, PyTensor>, rtol: f64 = 1e-05, atol: f64 = 1e-08, equal_nan: bool = false)
        |x| c::isclose(x, &other.inner, rtol, atol, equal_nan);
}

tensor_ops! {
    objects(py):
    allclose(other: PyRef<'_, PyTensor>, rtol: f64 = 1e-05, atol: f64 = 1e-08, equal_nan: bool = false)
        |x| Ok(PyBool::new(py, c::allclose(x, &other.inner, rtol, atol, equal_nan).py()?).to_owned().into_any().unbind());
    equal(other: PyRef<'_, PyTensor>)
        |x| Ok(PyBool::new(py, c::equal(x, &other.inner).py()?).to_owned().into_any().unbind());
}
