//! Comparison and logic bindings: `==`, `<`, ... (rich comparison), `&`, `|`, `^`,
//! `<<`, `>>` with reflected and in-place forms, and the named functions/methods.

use crate::convert::{rhs_arg, rhs_opt, scalar_arg, tensor_arg};
use crate::error::IntoPyResult;
use crate::tensor::{wrap, PyTensor};
use pyo3::prelude::*;
use rtorch_core::ops::compare::{self as c, Bit, Cmp, Logic};

/// `NotImplemented` for operands that are neither tensors nor numbers.
macro_rules! operator {
    ($py:expr, $other:expr, |$r:ident| $body:expr) => {{
        match rhs_opt($other) {
            Some($r) => Ok(Py::new($py, wrap($body)?)?.into_any()),
            None => Ok($py.NotImplemented()),
        }
    }};
}

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

macro_rules! compare_methods {
    ($($name:ident, $name_:ident $(, $alias:ident, $alias_:ident)? => $op:expr;)*) => {
        #[pymethods]
        impl PyTensor {
            $(
                fn $name(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
                    wrap(c::compare(&self.inner, &rhs_arg(other)?, $op))
                }
                $(
                fn $alias(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
                    wrap(c::compare(&self.inner, &rhs_arg(other)?, $op))
                }
                fn $alias_<'py>(slf: Bound<'py, Self>, other: &Bound<'_, PyAny>) -> PyResult<Bound<'py, Self>> {
                    c::compare_(&slf.borrow().inner, &rhs_arg(other)?, $op).py()?;
                    Ok(slf)
                }
                )?
                fn $name_<'py>(slf: Bound<'py, Self>, other: &Bound<'_, PyAny>) -> PyResult<Bound<'py, Self>> {
                    c::compare_(&slf.borrow().inner, &rhs_arg(other)?, $op).py()?;
                    Ok(slf)
                }
            )*
        }
        mod cmp_funcs {
            use super::*;
            $(
                #[pyfunction]
                pub fn $name(input: &Bound<'_, PyAny>, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
                    wrap(c::compare(&tensor_arg(input, "input")?, &rhs_arg(other)?, $op))
                }
                $(
                #[pyfunction]
                pub fn $alias(input: &Bound<'_, PyAny>, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
                    wrap(c::compare(&tensor_arg(input, "input")?, &rhs_arg(other)?, $op))
                }
                )?
            )*
        }
        fn register_cmp(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $(
                m.add_function(wrap_pyfunction!(cmp_funcs::$name, m)?)?;
                $( m.add_function(wrap_pyfunction!(cmp_funcs::$alias, m)?)?; )?
            )*
            Ok(())
        }
    };
}

compare_methods! {
    eq, eq_ => Cmp::Eq;
    ne, ne_, not_equal, not_equal_ => Cmp::Ne;
    lt, lt_, less, less_ => Cmp::Lt;
    le, le_, less_equal, less_equal_ => Cmp::Le;
    gt, gt_, greater, greater_ => Cmp::Gt;
    ge, ge_, greater_equal, greater_equal_ => Cmp::Ge;
}

macro_rules! logical_methods {
    ($($name:ident, $name_:ident => $op:expr;)*) => {
        #[pymethods]
        impl PyTensor {
            $(
                fn $name(&self, other: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
                    wrap(c::logical(&self.inner, &other.inner, $op))
                }
                fn $name_<'py>(slf: Bound<'py, Self>, other: PyRef<'_, PyTensor>) -> PyResult<Bound<'py, Self>> {
                    c::logical_(&slf.borrow().inner, &other.inner, $op).py()?;
                    Ok(slf)
                }
            )*
        }
        mod logic_funcs {
            use super::*;
            $(
                #[pyfunction]
                pub fn $name(input: PyRef<'_, PyTensor>, other: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
                    wrap(c::logical(&input.inner, &other.inner, $op))
                }
            )*
        }
        fn register_logic(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $( m.add_function(wrap_pyfunction!(logic_funcs::$name, m)?)?; )*
            Ok(())
        }
    };
}

logical_methods! {
    logical_and, logical_and_ => Logic::And;
    logical_or, logical_or_ => Logic::Or;
    logical_xor, logical_xor_ => Logic::Xor;
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
                #[pyfunction]
                pub fn $name(input: &Bound<'_, PyAny>, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
                    match scalar_arg(input) {
                        Some(s) => wrap(c::bitwise_scalar_lhs(s, &tensor_arg(other, "other")?, $op)),
                        None => wrap(c::bitwise(&tensor_arg(input, "input")?, &rhs_arg(other)?, $op)),
                    }
                }
            )*
        }
        fn register_bit(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $( m.add_function(wrap_pyfunction!(bit_funcs::$name, m)?)?; )*
            Ok(())
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
    operator!(py, other, |r| c::compare(&t.inner, &r, op))
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
        operator!(py, other, |r| c::bitwise(&self.inner, &r, Bit::And))
    }
    fn __or__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| c::bitwise(&self.inner, &r, Bit::Or))
    }
    fn __xor__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| c::bitwise(&self.inner, &r, Bit::Xor))
    }
    fn __lshift__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| c::bitwise(&self.inner, &r, Bit::Shl))
    }
    fn __rshift__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| c::bitwise(&self.inner, &r, Bit::Shr))
    }
    fn __rand__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| c::bitwise(&self.inner, &r, Bit::And))
    }
    fn __ror__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| c::bitwise(&self.inner, &r, Bit::Or))
    }
    fn __rxor__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        operator!(py, other, |r| c::bitwise(&self.inner, &r, Bit::Xor))
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

    #[pyo3(signature = (other, rtol=1e-05, atol=1e-08, equal_nan=false))]
    fn isclose(
        &self,
        other: PyRef<'_, PyTensor>,
        rtol: f64,
        atol: f64,
        equal_nan: bool,
    ) -> PyResult<PyTensor> {
        wrap(c::isclose(&self.inner, &other.inner, rtol, atol, equal_nan))
    }
    #[pyo3(signature = (other, rtol=1e-05, atol=1e-08, equal_nan=false))]
    fn allclose(
        &self,
        other: PyRef<'_, PyTensor>,
        rtol: f64,
        atol: f64,
        equal_nan: bool,
    ) -> PyResult<bool> {
        c::allclose(&self.inner, &other.inner, rtol, atol, equal_nan).py()
    }
    fn equal(&self, other: PyRef<'_, PyTensor>) -> PyResult<bool> {
        c::equal(&self.inner, &other.inner).py()
    }
}

#[pyfunction]
#[pyo3(signature = (input, other, rtol=1e-05, atol=1e-08, equal_nan=false))]
fn isclose(
    input: PyRef<'_, PyTensor>,
    other: PyRef<'_, PyTensor>,
    rtol: f64,
    atol: f64,
    equal_nan: bool,
) -> PyResult<PyTensor> {
    wrap(c::isclose(
        &input.inner,
        &other.inner,
        rtol,
        atol,
        equal_nan,
    ))
}

#[pyfunction]
#[pyo3(signature = (input, other, rtol=1e-05, atol=1e-08, equal_nan=false))]
fn allclose(
    input: PyRef<'_, PyTensor>,
    other: PyRef<'_, PyTensor>,
    rtol: f64,
    atol: f64,
    equal_nan: bool,
) -> PyResult<bool> {
    c::allclose(&input.inner, &other.inner, rtol, atol, equal_nan).py()
}

#[pyfunction]
fn equal(input: PyRef<'_, PyTensor>, other: PyRef<'_, PyTensor>) -> PyResult<bool> {
    c::equal(&input.inner, &other.inner).py()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    register_cmp(m)?;
    register_logic(m)?;
    register_bit(m)?;
    m.add_function(wrap_pyfunction!(isclose, m)?)?;
    m.add_function(wrap_pyfunction!(allclose, m)?)?;
    m.add_function(wrap_pyfunction!(equal, m)?)?;
    Ok(())
}
