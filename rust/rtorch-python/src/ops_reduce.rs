//! Bindings of reductions: sum, mean, prod, max/min (+ dim / binary forms), amax,
//! amin, aminmax, argmax, argmin, var, std, var_mean, std_mean, logsumexp, any,
//! all, count_nonzero, and the scans cumsum, cumprod, cummax, cummin.

use crate::convert::{dims_arg, dtype_arg, Given};
use crate::declare::tensor_ops;
use crate::error::IntoPyResult;
use crate::tensor::{wrap, PyTensor};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyTuple};
use rtorch_core::ops::{reduce as r, scan};
use rtorch_core::{DType, Tensor};
use rtorch_macros::module_fn;

/// A `rtorch.return_types.<name>` named tuple of two tensors.
pub(crate) fn ret_pair(py: Python<'_>, name: &str, a: Tensor, b: Tensor) -> PyResult<Py<PyAny>> {
    let cls = py.import("rtorch.return_types")?.getattr(name)?;
    let tup = PyTuple::new(
        py,
        [
            Py::new(py, PyTensor::from(a))?,
            Py::new(py, PyTensor::from(b))?,
        ],
    )?;
    Ok(cls.call1((tup,))?.unbind())
}

fn tensor_obj(py: Python<'_>, t: rtorch_core::Result<Tensor>) -> PyResult<Py<PyAny>> {
    Ok(Py::new(py, wrap(t)?)?.into_any())
}

fn dims_or_all(dim: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<i64>> {
    Ok(dims_arg(dim)?.unwrap_or_default())
}

fn one_dim(dim: Option<&Bound<'_, PyAny>>) -> PyResult<Option<i64>> {
    match dim {
        None => Ok(None),
        Some(d) if d.is_none() => Ok(None),
        Some(d) => d.extract::<i64>().map(Some).map_err(|_| {
            PyTypeError::new_err(format!(
                "dim must be an int, not {}",
                d.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        }),
    }
}

/// `max()`, `max(dim, keepdim)` or `max(other)`.
fn max_min(
    py: Python<'_>,
    t: &Tensor,
    dim: Option<&Bound<'_, PyAny>>,
    keepdim: bool,
    want_max: bool,
) -> PyResult<Py<PyAny>> {
    let name = if want_max { "max" } else { "min" };
    if let Some(d) = dim {
        if let Ok(other) = d.cast::<PyTensor>() {
            let o = other.borrow().inner.clone();
            let m = if want_max {
                rtorch_core::ops::pointwise::maximum(t, &o)
            } else {
                rtorch_core::ops::pointwise::minimum(t, &o)
            };
            return tensor_obj(py, m);
        }
    }
    match one_dim(dim)? {
        None => tensor_obj(py, r::amax_amin(t, &[], false, want_max, name)),
        Some(d) => {
            let (v, i) = r::max_min_dim(t, d, keepdim, want_max).py()?;
            ret_pair(py, name, v, i)
        }
    }
}

/// `(dims, correction)` from PyTorch's var/std overloads: `var(unbiased)`,
/// `var(dim, unbiased, keepdim)`, `var(dim, *, correction, keepdim)`.
fn var_args(
    dim: Option<&Bound<'_, PyAny>>,
    unbiased: Option<bool>,
    correction: Option<f64>,
) -> PyResult<(Vec<i64>, f64)> {
    let (dims, unb) = match dim {
        Some(d) if d.is_instance_of::<PyBool>() => (Vec::new(), Some(d.extract::<bool>()?)),
        _ => (dims_or_all(dim)?, unbiased),
    };
    if unb.is_some() && correction.is_some() {
        return Err(PyRuntimeError::new_err(
            "Cannot pass both correction and unbiased arguments",
        ));
    }
    let c = correction.unwrap_or(if unb.unwrap_or(true) { 1.0 } else { 0.0 });
    Ok((dims, c))
}

/// PyTorch's UserWarning when a variance has no degrees of freedom left (the reduction
/// factor, input numel over output numel, at most the correction): the result is NaN
/// (or inf), which is easy to miss in a training log. A filter that turns warnings into
/// errors makes it raise, as in PyTorch.
fn warn_if_no_dof(input: &Tensor, result: &Tensor, correction: f64, name: &str) -> PyResult<()> {
    let factor = input.numel() as f64 / result.numel().max(1) as f64;
    if factor - correction > 0.0 {
        return Ok(());
    }
    Python::attach(|py| {
        let msg = format!(
            "{name}(): degrees of freedom is <= 0. Correction should be strictly less than \
             the reduction factor (input numel divided by output numel)."
        );
        PyErr::warn(
            py,
            &py.get_type::<pyo3::exceptions::PyUserWarning>(),
            &std::ffi::CString::new(msg)?,
            1,
        )
    })
}

#[pymethods]
impl PyTensor {
    #[pyo3(signature = (dim=Given::Missing, keepdim=false, *, dtype=None))]
    fn sum(
        &self,
        dim: Given<'_>,
        keepdim: bool,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        wrap(r::sum(
            &self.inner,
            &dims_or_all(dim.as_option())?,
            keepdim,
            dtype_arg(dtype)?,
        ))
    }
    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn mean(
        &self,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        wrap(r::mean(
            &self.inner,
            &dims_or_all(dim)?,
            keepdim,
            dtype_arg(dtype)?,
        ))
    }
    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn nansum(
        &self,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        wrap(r::nansum(
            &self.inner,
            &dims_or_all(dim)?,
            keepdim,
            dtype_arg(dtype)?,
        ))
    }
    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn nanmean(
        &self,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        wrap(r::nanmean(
            &self.inner,
            &dims_or_all(dim)?,
            keepdim,
            dtype_arg(dtype)?,
        ))
    }
    /// `dim` is an int or not given: PyTorch has no `prod(dim=None)`.
    #[pyo3(signature = (dim=Given::Missing, keepdim=false, *, dtype=None))]
    fn prod(
        &self,
        dim: Given<'_>,
        keepdim: bool,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        if dim.is_explicit_none() {
            return Err(PyTypeError::new_err(
                "prod(): argument 'dim' must be int, not NoneType",
            ));
        }
        wrap(r::prod(
            &self.inner,
            one_dim(dim.as_option())?,
            keepdim,
            dtype_arg(dtype)?,
        ))
    }
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn amax(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: bool) -> PyResult<PyTensor> {
        wrap(r::amax_amin(
            &self.inner,
            &dims_or_all(dim)?,
            keepdim,
            true,
            "amax",
        ))
    }
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn amin(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: bool) -> PyResult<PyTensor> {
        wrap(r::amax_amin(
            &self.inner,
            &dims_or_all(dim)?,
            keepdim,
            false,
            "amin",
        ))
    }
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn argmax(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: bool) -> PyResult<PyTensor> {
        wrap(r::argmax_argmin(&self.inner, one_dim(dim)?, keepdim, true))
    }
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn argmin(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: bool) -> PyResult<PyTensor> {
        wrap(r::argmax_argmin(&self.inner, one_dim(dim)?, keepdim, false))
    }
    #[pyo3(signature = (dim=None, unbiased=None, keepdim=false, *, correction=None))]
    fn var(
        &self,
        dim: Option<&Bound<'_, PyAny>>,
        unbiased: Option<bool>,
        keepdim: bool,
        correction: Option<f64>,
    ) -> PyResult<PyTensor> {
        let (dims, c) = var_args(dim, unbiased, correction)?;
        let v = r::var(&self.inner, &dims, c, keepdim).py()?;
        warn_if_no_dof(&self.inner, &v, c, "var")?;
        Ok(PyTensor::from(v))
    }
    #[pyo3(signature = (dim=None, unbiased=None, keepdim=false, *, correction=None))]
    fn std(
        &self,
        dim: Option<&Bound<'_, PyAny>>,
        unbiased: Option<bool>,
        keepdim: bool,
        correction: Option<f64>,
    ) -> PyResult<PyTensor> {
        let (dims, c) = var_args(dim, unbiased, correction)?;
        let s = r::std(&self.inner, &dims, c, keepdim).py()?;
        warn_if_no_dof(&self.inner, &s, c, "std")?;
        Ok(PyTensor::from(s))
    }
    /// `dim` is required, as in PyTorch (None too is a TypeError there).
    #[pyo3(signature = (dim, keepdim=false))]
    fn logsumexp(&self, dim: &Bound<'_, PyAny>, keepdim: bool) -> PyResult<PyTensor> {
        if dim.is_none() {
            return Err(PyTypeError::new_err(
                "logsumexp(): argument 'dim' must be tuple of ints, not NoneType",
            ));
        }
        wrap(r::logsumexp(&self.inner, &dims_or_all(Some(dim))?, keepdim))
    }
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn any(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: bool) -> PyResult<PyTensor> {
        wrap(r::any_all(&self.inner, &dims_or_all(dim)?, keepdim, true))
    }
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn all(&self, dim: Option<&Bound<'_, PyAny>>, keepdim: bool) -> PyResult<PyTensor> {
        wrap(r::any_all(&self.inner, &dims_or_all(dim)?, keepdim, false))
    }
    #[pyo3(signature = (dim=None))]
    fn count_nonzero(&self, dim: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        wrap(r::count_nonzero(&self.inner, &dims_or_all(dim)?))
    }
    #[pyo3(signature = (dim, *, dtype=None))]
    fn cumsum(&self, dim: i64, dtype: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        wrap(scan::cumsum(&self.inner, dim, dtype_arg(dtype)?))
    }
    #[pyo3(signature = (dim, *, dtype=None))]
    fn cumprod(&self, dim: i64, dtype: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        wrap(scan::cumprod(&self.inner, dim, dtype_arg(dtype)?))
    }
}

/// A module function that forwards to the Tensor method of the same name.
macro_rules! forward {
    ($name:ident, ($($arg:ident : $ty:ty = $def:expr),*) $(; *, $($kw:ident : $kty:ty = $kdef:expr),*)?) => {
        #[module_fn]
        #[pyo3(signature = (input $(, $arg = $def)* $(, *, $($kw = $kdef),*)?))]
        #[allow(clippy::too_many_arguments)]
        fn $name(input: PyRef<'_, PyTensor> $(, $arg: $ty)* $($(, $kw: $kty)*)?) -> PyResult<PyTensor> {
            input.$name($($arg,)* $($($kw,)*)?)
        }
    };
}

/// How an op's `out=` dtype enters the computation; PyTorch's rule differs by op.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OutRule {
    /// Without `dtype=`, out's dtype is the dtype the op computes in (ATen's
    /// `get_dtype_from_result`); with it, out must have that dtype. sum, prod, cumsum…
    Compute,
    /// As `Compute` for a floating input and out; otherwise as without `out` (mean).
    ComputeFloat,
    /// Out must have the input's dtype (amax, amin).
    Input,
    /// Out must be int64 (argmax, argmin).
    Long,
    /// Out must be bool or uint8 (any, all).
    Bool,
    /// Out must be floating; the op computes in it (var, std, logsumexp).
    Float,
}

/// The dtype to compute in for `out=`, or PyTorch's error for an `out` of the wrong
/// dtype. `None`: compute as without `out`.
fn out_compute_dtype(
    rule: OutRule,
    name: &str,
    input: &Tensor,
    dtype: Option<DType>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<DType>> {
    let Some(o) = out.and_then(|o| o.cast::<PyTensor>().ok()) else {
        return Ok(dtype);
    };
    let od = o.borrow().inner.dtype();
    let err = |m: String| Err(PyRuntimeError::new_err(m));
    match rule {
        OutRule::Compute | OutRule::ComputeFloat => match dtype {
            Some(d) if d != od => err(format!(
                "Expected out tensor to have dtype {}, but got {} instead",
                d.cpp_type_name(),
                od.cpp_type_name()
            )),
            Some(d) => Ok(Some(d)),
            None if rule == OutRule::ComputeFloat
                && !(input.dtype().is_floating_point() && od.is_floating_point()) =>
            {
                Ok(None)
            }
            None => Ok(Some(od)),
        },
        OutRule::Input if od != input.dtype() => err(format!(
            "Expected the dtype for input and out to match, but got {} for input's dtype and {} for out's dtype.",
            input.dtype().scalar_type_name(),
            od.scalar_type_name()
        )),
        OutRule::Long if od != DType::I64 => err(format!(
            "Expected out tensor to have dtype long int, but got {} instead",
            od.cpp_type_name()
        )),
        OutRule::Bool if od != DType::Bool && od != DType::U8 => err(format!(
            "{name} only supports bool tensor for result, got: {}",
            od.scalar_type_name()
        )),
        OutRule::Float if !od.is_floating_point() => err(format!(
            "{name}(): Expected floating point type for result tensor, but got: {}",
            od.scalar_type_name()
        )),
        OutRule::Float if input.dtype().is_floating_point() => Ok(Some(od)),
        _ => Ok(None),
    }
}

/// A module function that forwards to the Tensor method of the same name, with
/// PyTorch's `out=` keyword (`out::finish_out`) under the op's `OutRule`.
macro_rules! forward_out {
    // Ops with a `dtype=` keyword compute in the dtype the rule picks.
    // `requires $req`: PyTorch's overload with `out=` has no default for that argument.
    ($name:ident, $rule:ident, ($($arg:ident : $ty:ty $(= $def:expr)?),*); *, dtype $(; requires $req:ident)?) => {
        #[module_fn]
        #[pyo3(signature = (input $(, $arg $(= $def)?)*, *, dtype = None, out = None))]
        fn $name(
            py: Python<'_>,
            input: PyRef<'_, PyTensor>
            $(, $arg: $ty)*,
            dtype: Option<&Bound<'_, PyAny>>,
            out: Option<&Bound<'_, PyAny>>,
        ) -> PyResult<Py<PyAny>> {
            let name = stringify!($name);
            $(
                if out.is_some() && $req.is_missing() {
                    return Err(PyTypeError::new_err(format!(
                        "{name}() received an invalid combination of arguments - got (Tensor, out=Tensor), but expected one with '{}' given",
                        stringify!($req)
                    )));
                }
            )?
            let dt = out_compute_dtype(OutRule::$rule, name, &input.inner, dtype_arg(dtype)?, out)?;
            let dt = dt.map(|d| crate::dtype::dtype_object(py, d).into_bound(py).into_any());
            let offer = crate::out::offer(out, &[&input.inner]);
            let r = input.$name($($arg,)* dt.as_ref());
            drop(offer);
            crate::out::finish_out(py, Ok(r?.inner), out, &[&input.inner], name)
        }
    };
    // The others compute in out's dtype by converting the input first (`Float`), or
    // only check it.
    ($name:ident, $rule:ident, ($($arg:ident : $ty:ty $(= $def:expr)?),*) $(; *, $($kw:ident : $kty:ty = $kdef:expr),*)?) => {
        #[module_fn]
        #[pyo3(signature = (input $(, $arg $(= $def)?)*, * $($(, $kw = $kdef)*)?, out = None))]
        #[allow(clippy::too_many_arguments)]
        fn $name(
            py: Python<'_>,
            input: PyRef<'_, PyTensor>
            $(, $arg: $ty)* $($(, $kw: $kty)*)?,
            out: Option<&Bound<'_, PyAny>>,
        ) -> PyResult<Py<PyAny>> {
            let name = stringify!($name);
            let offer = crate::out::offer(out, &[&input.inner]);
            let r = match out_compute_dtype(OutRule::$rule, name, &input.inner, None, out)? {
                Some(d) if d != input.inner.dtype() => {
                    let x = wrap(rtorch_core::ops::copy::to_dtype(&input.inner, d))?;
                    x.$name($($arg,)* $($($kw,)*)?)?
                }
                _ => input.$name($($arg,)* $($($kw,)*)?)?,
            };
            drop(offer);
            crate::out::finish_out(py, Ok(r.inner), out, &[&input.inner], name)
        }
    };
}

forward_out!(sum, Compute, (dim: Given<'_> = Given::Missing, keepdim: bool = false); *, dtype; requires dim);
forward_out!(mean, ComputeFloat, (dim: Option<&Bound<'_, PyAny>> = None, keepdim: bool = false); *, dtype);
forward_out!(nansum, Compute, (dim: Option<&Bound<'_, PyAny>> = None, keepdim: bool = false); *, dtype);
forward_out!(nanmean, ComputeFloat, (dim: Option<&Bound<'_, PyAny>> = None, keepdim: bool = false); *, dtype);
forward_out!(prod, Compute, (dim: Given<'_> = Given::Missing, keepdim: bool = false); *, dtype; requires dim);
forward_out!(amax, Input, (dim: Option<&Bound<'_, PyAny>> = None, keepdim: bool = false));
forward_out!(amin, Input, (dim: Option<&Bound<'_, PyAny>> = None, keepdim: bool = false));
forward_out!(argmax, Long, (dim: Option<&Bound<'_, PyAny>> = None, keepdim: bool = false));
forward_out!(argmin, Long, (dim: Option<&Bound<'_, PyAny>> = None, keepdim: bool = false));
forward_out!(var, Float, (dim: Option<&Bound<'_, PyAny>> = None, unbiased: Option<bool> = None, keepdim: bool = false); *, correction: Option<f64> = None);
#[module_fn]
#[pyo3(name = "std", signature = (input, dim=None, unbiased=None, keepdim=false, *, correction=None, out=None))]
fn std_fn(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    dim: Option<&Bound<'_, PyAny>>,
    unbiased: Option<bool>,
    keepdim: bool,
    correction: Option<f64>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let r = match out_compute_dtype(OutRule::Float, "std", &input.inner, None, out)? {
        Some(d) if d != input.inner.dtype() => {
            let x = wrap(rtorch_core::ops::copy::to_dtype(&input.inner, d))?;
            x.std(dim, unbiased, keepdim, correction)?
        }
        _ => input.std(dim, unbiased, keepdim, correction)?,
    };
    crate::out::finish_out(py, Ok(r.inner), out, &[&input.inner], "std")
}
forward_out!(logsumexp, Float, (dim: &Bound<'_, PyAny>, keepdim: bool = false));
forward_out!(any, Bool, (dim: Option<&Bound<'_, PyAny>> = None, keepdim: bool = false));
forward_out!(all, Bool, (dim: Option<&Bound<'_, PyAny>> = None, keepdim: bool = false));
forward!(count_nonzero, (dim: Option<&Bound<'_, PyAny>> = None));
forward_out!(cumsum, Compute, (dim: i64); *, dtype);
forward_out!(cumprod, Compute, (dim: i64); *, dtype);

// `max(dim)`/`min(dim)` give (values, indices), `max(other)` a tensor, `max()` a 0-dim one.
tensor_ops! {
    objects(py):
    max(dim: Option<&Bound<'_, PyAny>> = None, keepdim: bool = false) |x| max_min(py, x, dim, keepdim, true);
    min(dim: Option<&Bound<'_, PyAny>> = None, keepdim: bool = false) |x| max_min(py, x, dim, keepdim, false);
    aminmax(; dim: Option<i64> = None, keepdim: bool = false) |x| {
        let dims: Vec<i64> = dim.into_iter().collect();
        let lo = r::amax_amin(x, &dims, keepdim, false, "aminmax").py()?;
        let hi = r::amax_amin(x, &dims, keepdim, true, "aminmax").py()?;
        ret_pair(py, "aminmax", lo, hi)
    };
    cummax(dim: i64) |x| {
        let (v, i) = scan::cummax_cummin(x, dim, true).py()?;
        ret_pair(py, "cummax", v, i)
    };
    cummin(dim: i64) |x| {
        let (v, i) = scan::cummax_cummin(x, dim, false).py()?;
        ret_pair(py, "cummin", v, i)
    };
}

/// `(var, mean)` / `(std, mean)` as plain tuples, as PyTorch returns them.
fn stat_mean(
    input: &Tensor,
    dim: Option<&Bound<'_, PyAny>>,
    unbiased: Option<bool>,
    keepdim: bool,
    correction: Option<f64>,
    is_std: bool,
) -> PyResult<(PyTensor, PyTensor)> {
    let (dims, c) = var_args(dim, unbiased, correction)?;
    let s = if is_std {
        r::std(input, &dims, c, keepdim)
    } else {
        r::var(input, &dims, c, keepdim)
    }
    .py()?;
    warn_if_no_dof(input, &s, c, if is_std { "std_mean" } else { "var_mean" })?;
    Ok((
        PyTensor::from(s),
        wrap(r::mean(input, &dims, keepdim, None))?,
    ))
}
#[module_fn]
#[pyo3(signature = (input, dim=None, unbiased=None, keepdim=false, *, correction=None))]
fn var_mean(
    input: PyRef<'_, PyTensor>,
    dim: Option<&Bound<'_, PyAny>>,
    unbiased: Option<bool>,
    keepdim: bool,
    correction: Option<f64>,
) -> PyResult<(PyTensor, PyTensor)> {
    stat_mean(&input.inner, dim, unbiased, keepdim, correction, false)
}
#[module_fn]
#[pyo3(signature = (input, dim=None, unbiased=None, keepdim=false, *, correction=None))]
fn std_mean(
    input: PyRef<'_, PyTensor>,
    dim: Option<&Bound<'_, PyAny>>,
    unbiased: Option<bool>,
    keepdim: bool,
    correction: Option<f64>,
) -> PyResult<(PyTensor, PyTensor)> {
    stat_mean(&input.inner, dim, unbiased, keepdim, correction, true)
}

/// `torch.bincount` without weights: int64 counts of each value of a 1-d integer tensor
/// (the Python layer checks the arguments and handles weights).
#[module_fn]
#[pyo3(signature = (input, minlength))]
fn _bincount(input: PyRef<'_, PyTensor>, minlength: usize) -> PyResult<PyTensor> {
    wrap(rtorch_core::ops::histogram::bincount(
        &input.inner,
        minlength,
    ))
}

/// `torch.histc`'s counts for float32 / float64 (the Python layer checks the arguments
/// and settles the range).
#[module_fn]
fn _histc(input: PyRef<'_, PyTensor>, bins: usize, min: f64, max: f64) -> PyResult<PyTensor> {
    wrap(rtorch_core::ops::histogram::histc(
        &input.inner,
        bins,
        min,
        max,
    ))
}

/// `logcumsumexp(input, dim)` without the out= and method spellings, which the Python
/// layer adds.
#[module_fn]
#[pyo3(signature = (input, dim))]
fn _logcumsumexp(input: PyRef<'_, PyTensor>, dim: i64) -> PyResult<PyTensor> {
    wrap(scan::logcumsumexp(&input.inner, dim))
}
