//! Unary math bindings: `rtorch.X(t)`, `t.X()`, `t.X_()` for every unary op, the
//! activations nn.functional uses (with their keyword arguments), `~` and `abs()`.

use crate::error::IntoPyResult;
use crate::tensor::{wrap, PyTensor};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use rtorch_core::ops::unary as u;
use rtorch_core::Tensor;

/// Method, in-place method and module function for ops with no arguments.
macro_rules! simple_unary {
    ($($name:ident, $name_:ident => $f:path, $fi:path;)*) => {
        #[pymethods]
        impl PyTensor {
            $(
                fn $name(&self) -> PyResult<PyTensor> {
                    wrap($f(&self.inner))
                }
                fn $name_(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
                    $fi(&slf.borrow().inner).py()?;
                    Ok(slf)
                }
            )*
        }

        mod simple_funcs {
            use super::*;
            $(
                #[pyfunction]
                #[pyo3(signature = (input, *, out=None))]
                pub fn $name(
                    py: Python<'_>,
                    input: PyRef<'_, PyTensor>,
                    out: Option<&Bound<'_, PyAny>>,
                ) -> PyResult<Py<PyAny>> {
                    crate::out::finish_out(
                        py,
                        $f(&input.inner),
                        out,
                        &[&input.inner],
                        stringify!($name),
                    )
                }
                #[pyfunction]
                pub fn $name_(input: Bound<'_, PyTensor>) -> PyResult<Bound<'_, PyTensor>> {
                    $fi(&input.borrow().inner).py()?;
                    Ok(input)
                }
            )*
        }

        fn register_simple(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $(
                m.add_function(wrap_pyfunction!(simple_funcs::$name, m)?)?;
                m.add_function(wrap_pyfunction!(simple_funcs::$name_, m)?)?;
            )*
            Ok(())
        }
    };
}

simple_unary! {
    abs, abs_ => u::abs, u::abs_;
    absolute, absolute_ => u::abs, u::abs_;
    sign, sign_ => u::sign, u::sign_;
    exp, exp_ => u::exp, u::exp_;
    exp2, exp2_ => u::exp2, u::exp2_;
    expm1, expm1_ => u::expm1, u::expm1_;
    log, log_ => u::log, u::log_;
    log2, log2_ => u::log2, u::log2_;
    log10, log10_ => u::log10, u::log10_;
    log1p, log1p_ => u::log1p, u::log1p_;
    sqrt, sqrt_ => u::sqrt, u::sqrt_;
    rsqrt, rsqrt_ => u::rsqrt, u::rsqrt_;
    square, square_ => u::square, u::square_;
    sin, sin_ => u::sin, u::sin_;
    cos, cos_ => u::cos, u::cos_;
    tan, tan_ => u::tan, u::tan_;
    asin, asin_ => u::asin, u::asin_;
    arcsin, arcsin_ => u::asin, u::asin_;
    acos, acos_ => u::acos, u::acos_;
    arccos, arccos_ => u::acos, u::acos_;
    atan, atan_ => u::atan, u::atan_;
    arctan, arctan_ => u::atan, u::atan_;
    sinh, sinh_ => u::sinh, u::sinh_;
    cosh, cosh_ => u::cosh, u::cosh_;
    asinh, asinh_ => u::asinh, u::asinh_;
    arcsinh, arcsinh_ => u::asinh, u::asinh_;
    acosh, acosh_ => u::acosh, u::acosh_;
    arccosh, arccosh_ => u::acosh, u::acosh_;
    atanh, atanh_ => u::atanh, u::atanh_;
    arctanh, arctanh_ => u::atanh, u::atanh_;
    tanh, tanh_ => u::tanh, u::tanh_;
    sigmoid, sigmoid_ => u::sigmoid, u::sigmoid_;
    relu, relu_ => u::relu, u::relu_;
    erf, erf_ => u::erf, u::erf_;
    erfc, erfc_ => u::erfc, u::erfc_;
    erfinv, erfinv_ => u::erfinv, u::erfinv_;
    floor, floor_ => u::floor, u::floor_;
    ceil, ceil_ => u::ceil, u::ceil_;
    trunc, trunc_ => u::trunc, u::trunc_;
    fix, fix_ => u::trunc, u::trunc_;
    frac, frac_ => u::frac, u::frac_;
    reciprocal, reciprocal_ => u::reciprocal, u::reciprocal_;
    logical_not, logical_not_ => u::logical_not, u::logical_not_;
    bitwise_not, bitwise_not_ => u::bitwise_not, u::bitwise_not_;
}

/// Bool-valued predicates: method and module function, no in-place form.
macro_rules! predicates {
    ($($name:ident => $f:path;)*) => {
        #[pymethods]
        impl PyTensor {
            $(
                fn $name(&self) -> PyResult<PyTensor> {
                    wrap($f(&self.inner))
                }
            )*
        }
        mod pred_funcs {
            use super::*;
            $(
                #[pyfunction]
                #[pyo3(signature = (input, *, out=None))]
                pub fn $name(
                    py: Python<'_>,
                    input: PyRef<'_, PyTensor>,
                    out: Option<&Bound<'_, PyAny>>,
                ) -> PyResult<Py<PyAny>> {
                    crate::out::finish_out(
                        py,
                        $f(&input.inner),
                        out,
                        &[&input.inner],
                        stringify!($name),
                    )
                }
            )*
        }
        fn register_predicates(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $( m.add_function(wrap_pyfunction!(pred_funcs::$name, m)?)?; )*
            Ok(())
        }
    };
}

predicates! {
    isnan => u::isnan;
    isinf => u::isinf;
    isfinite => u::isfinite;
    isposinf => u::isposinf;
    isneginf => u::isneginf;
}

fn round_impl(t: &Tensor, decimals: i64) -> rtorch_core::Result<Tensor> {
    u::round_decimals(t, decimals)
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
    #[pyo3(signature = (*, decimals=0))]
    fn round(&self, decimals: i64) -> PyResult<PyTensor> {
        wrap(round_impl(&self.inner, decimals))
    }
    #[pyo3(signature = (*, decimals=0))]
    fn round_(slf: Bound<'_, Self>, decimals: i64) -> PyResult<Bound<'_, Self>> {
        u::round_decimals_(&slf.borrow().inner, decimals).py()?;
        Ok(slf)
    }
    #[pyo3(signature = (nan=None, posinf=None, neginf=None))]
    fn nan_to_num(
        &self,
        nan: Option<f64>,
        posinf: Option<f64>,
        neginf: Option<f64>,
    ) -> PyResult<PyTensor> {
        wrap(u::nan_to_num(&self.inner, nan, posinf, neginf))
    }
    #[pyo3(signature = (nan=None, posinf=None, neginf=None))]
    fn nan_to_num_(
        slf: Bound<'_, Self>,
        nan: Option<f64>,
        posinf: Option<f64>,
        neginf: Option<f64>,
    ) -> PyResult<Bound<'_, Self>> {
        u::nan_to_num_(&slf.borrow().inner, nan, posinf, neginf).py()?;
        Ok(slf)
    }
}

#[pyfunction]
#[pyo3(signature = (input, *, decimals=0))]
fn round(input: PyRef<'_, PyTensor>, decimals: i64) -> PyResult<PyTensor> {
    wrap(round_impl(&input.inner, decimals))
}

#[pyfunction]
#[pyo3(signature = (input, *, decimals=0))]
fn round_(input: Bound<'_, PyTensor>, decimals: i64) -> PyResult<Bound<'_, PyTensor>> {
    u::round_decimals_(&input.borrow().inner, decimals).py()?;
    Ok(input)
}

#[pyfunction]
#[pyo3(signature = (input, nan=None, posinf=None, neginf=None))]
fn nan_to_num(
    input: PyRef<'_, PyTensor>,
    nan: Option<f64>,
    posinf: Option<f64>,
    neginf: Option<f64>,
) -> PyResult<PyTensor> {
    wrap(u::nan_to_num(&input.inner, nan, posinf, neginf))
}

// ----- activations (signatures of torch.nn.functional) -----

#[pyfunction]
#[pyo3(signature = (input, approximate="none"))]
fn gelu(input: PyRef<'_, PyTensor>, approximate: &str) -> PyResult<PyTensor> {
    wrap(u::gelu(&input.inner, approximate))
}

#[pyfunction]
#[pyo3(signature = (input, inplace=false))]
fn silu(input: PyRef<'_, PyTensor>, inplace: bool) -> PyResult<PyTensor> {
    wrap(u::silu(&input.inner, inplace))
}

#[pyfunction]
#[pyo3(signature = (input, beta=1.0, threshold=20.0))]
fn softplus(input: PyRef<'_, PyTensor>, beta: f64, threshold: f64) -> PyResult<PyTensor> {
    wrap(u::softplus(&input.inner, beta, threshold))
}

#[pyfunction]
#[pyo3(signature = (input, alpha=1.0, inplace=false))]
fn elu(input: PyRef<'_, PyTensor>, alpha: f64, inplace: bool) -> PyResult<PyTensor> {
    wrap(u::elu(&input.inner, alpha, inplace))
}

#[pyfunction]
#[pyo3(signature = (input, alpha=1.0))]
fn elu_(input: PyRef<'_, PyTensor>, alpha: f64) -> PyResult<PyTensor> {
    wrap(u::elu(&input.inner, alpha, true))
}

#[pyfunction]
#[pyo3(signature = (input, negative_slope=0.01, inplace=false))]
fn leaky_relu(
    input: PyRef<'_, PyTensor>,
    negative_slope: f64,
    inplace: bool,
) -> PyResult<PyTensor> {
    wrap(u::leaky_relu(&input.inner, negative_slope, inplace))
}

#[pyfunction]
#[pyo3(signature = (input, negative_slope=0.01))]
fn leaky_relu_(input: PyRef<'_, PyTensor>, negative_slope: f64) -> PyResult<PyTensor> {
    wrap(u::leaky_relu(&input.inner, negative_slope, true))
}

#[pyfunction]
#[pyo3(signature = (input, min_val=-1.0, max_val=1.0, inplace=false))]
fn hardtanh(
    input: PyRef<'_, PyTensor>,
    min_val: f64,
    max_val: f64,
    inplace: bool,
) -> PyResult<PyTensor> {
    wrap(u::hardtanh(&input.inner, min_val, max_val, inplace))
}

#[pyfunction]
#[pyo3(signature = (input, min_val=-1.0, max_val=1.0))]
fn hardtanh_(input: PyRef<'_, PyTensor>, min_val: f64, max_val: f64) -> PyResult<PyTensor> {
    wrap(u::hardtanh(&input.inner, min_val, max_val, true))
}

#[pyfunction]
#[pyo3(signature = (input, inplace=false))]
fn relu6(input: PyRef<'_, PyTensor>, inplace: bool) -> PyResult<PyTensor> {
    wrap(u::relu6(&input.inner, inplace))
}

#[pyfunction]
fn logsigmoid(input: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
    wrap(u::logsigmoid(&input.inner))
}

#[pyfunction]
#[pyo3(signature = (input, inplace=false))]
fn mish(input: PyRef<'_, PyTensor>, inplace: bool) -> PyResult<PyTensor> {
    wrap(u::mish(&input.inner, inplace))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    register_simple(m)?;
    register_predicates(m)?;
    m.add_function(wrap_pyfunction!(round, m)?)?;
    m.add_function(wrap_pyfunction!(round_, m)?)?;
    m.add_function(wrap_pyfunction!(nan_to_num, m)?)?;
    m.add_function(wrap_pyfunction!(gelu, m)?)?;
    m.add_function(wrap_pyfunction!(silu, m)?)?;
    m.add_function(wrap_pyfunction!(softplus, m)?)?;
    m.add_function(wrap_pyfunction!(elu, m)?)?;
    m.add_function(wrap_pyfunction!(elu_, m)?)?;
    m.add_function(wrap_pyfunction!(leaky_relu, m)?)?;
    m.add_function(wrap_pyfunction!(leaky_relu_, m)?)?;
    m.add_function(wrap_pyfunction!(hardtanh, m)?)?;
    m.add_function(wrap_pyfunction!(hardtanh_, m)?)?;
    m.add_function(wrap_pyfunction!(relu6, m)?)?;
    m.add_function(wrap_pyfunction!(logsigmoid, m)?)?;
    m.add_function(wrap_pyfunction!(mish, m)?)?;
    Ok(())
}
