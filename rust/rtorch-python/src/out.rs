//! The `out=` keyword of module functions, with PyTorch's rules: the result must be
//! castable to `out`'s dtype, a wrongly shaped `out` is resized (with a UserWarning
//! unless it was empty), no autograd, and no self-overlapping or partly overlapping
//! `out`. Returns `out` itself.

use crate::error::IntoPyResult;
use crate::tensor::{wrap, PyTensor};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use rtorch_core::layout::fmt_shape;
use rtorch_core::Tensor;

/// Offers `out`'s memory to the op about to run (`rtorch_core::tensor::OutTarget`), for
/// as long as the returned guard lives, when the op may write its result straight into
/// it: `out` is a contiguous tensor at offset 0 that shares no storage with what the op
/// reads, nothing needs autograd, and the in-place checks `finish_out` would make pass.
/// Otherwise the op computes into a new tensor that `finish_out` copies.
pub fn offer(
    out: Option<&Bound<'_, PyAny>>,
    inputs: &[&Tensor],
) -> Option<rtorch_core::tensor::OutTarget> {
    let out = out?.cast::<PyTensor>().ok()?;
    let o = out.try_borrow().ok()?.inner.clone();
    let usable = o.is_contiguous()
        && o.offset() == 0
        && !(rtorch_core::autograd::is_grad_enabled()
            && (o.requires_grad() || inputs.iter().any(|t| t.requires_grad())))
        && inputs.iter().all(|t| !t.storage().same(o.storage()))
        && rtorch_core::autograd::view::check_inplace(&o, false).is_ok();
    usable.then(|| rtorch_core::tensor::OutTarget::offer(&o))
}

/// `out` itself when it is the op's input (`reads[0]`, the same tensor object) and
/// nothing needs autograd: the op's in-place form then does what `out=` asks (PyTorch
/// defines an in-place op as writing the op's result into the tensor, under the dtype
/// and shape rules of an `out=` that is also an input).
pub fn input_in_place(out: Option<&Bound<'_, PyAny>>, reads: &[&Tensor]) -> Option<Py<PyAny>> {
    let out = out?;
    let o = out.cast::<PyTensor>().ok()?;
    let same = o.try_borrow().ok()?.inner.same(reads.first()?);
    let grad = rtorch_core::autograd::is_grad_enabled() && reads.iter().any(|t| t.requires_grad());
    (same && !grad).then(|| out.clone().unbind())
}

/// `result` as a new tensor, or written into `out` when one is given.
pub fn finish_out(
    py: Python<'_>,
    result: rtorch_core::Result<Tensor>,
    out: Option<&Bound<'_, PyAny>>,
    inputs: &[&Tensor],
    name: &str,
) -> PyResult<Py<PyAny>> {
    finish_out_with(py, result, out, inputs, name, true)
}

/// `finish_out`; `warn_resize`: whether resizing a non-empty `out` warns (factory
/// functions resize it silently).
fn finish_out_with(
    py: Python<'_>,
    result: rtorch_core::Result<Tensor>,
    out: Option<&Bound<'_, PyAny>>,
    inputs: &[&Tensor],
    name: &str,
    warn_resize: bool,
) -> PyResult<Py<PyAny>> {
    let Some(out) = out.filter(|o| !o.is_none()) else {
        return Ok(Py::new(py, wrap(result)?)?.into_any());
    };
    let out_t = out.cast::<PyTensor>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name}(): argument 'out' must be Tensor, not {}",
            out.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let o = out_t.borrow().inner.clone();
    if rtorch_core::autograd::is_grad_enabled()
        && (o.requires_grad() || inputs.iter().any(|t| t.requires_grad()))
    {
        return Err(PyRuntimeError::new_err(format!(
            "{name}(): functions with out=... arguments don't support automatic differentiation, but one of the arguments requires grad."
        )));
    }
    let r = {
        let _no_grad = rtorch_core::autograd::GradModeGuard::new(false);
        result.py()?
    };
    if !r.dtype().can_cast_to(o.dtype()) {
        return Err(PyRuntimeError::new_err(format!(
            "result type {} can't be cast to the desired output type {}",
            r.dtype().scalar_type_name(),
            o.dtype().scalar_type_name()
        )));
    }
    let o = if o.shape() != r.shape() {
        // An output that is also an input cannot be resized under the op (PyTorch's
        // TensorIterator marks it read-write and refuses, as the in-place form does).
        if inputs.iter().any(|t| t.same(&o)) {
            return Err(PyRuntimeError::new_err(format!(
                "output with shape {} doesn't match the broadcast shape {}",
                fmt_shape(o.shape()),
                fmt_shape(r.shape())
            )));
        }
        if warn_resize && o.numel() != 0 {
            let msg = format!(
                "An output with one or more elements was resized since it had shape {}, which does not match the required output shape {}. This behavior is deprecated, and in a future PyTorch release outputs will not be resized unless they have zero elements. You can explicitly reuse an out tensor t by resizing it, inplace, to zero elements with t.resize_(0).",
                fmt_shape(o.shape()),
                fmt_shape(r.shape())
            );
            py.import("warnings")?.call_method1(
                "warn",
                (msg, py.get_type::<pyo3::exceptions::PyUserWarning>()),
            )?;
        }
        rtorch_core::autograd::view::check_inplace(&o, false).py()?;
        let new = Tensor::empty(r.shape(), o.dtype(), o.device()).py()?;
        new.put_meta(o.take_meta());
        out_t.borrow_mut().inner = new.clone();
        new
    } else {
        o
    };
    if r.storage().same(o.storage()) && r.layout() == o.layout() && r.dtype() == o.dtype() {
        // The op wrote its result into `out`'s memory (`offer`).
        o.storage().bump_version();
        return Ok(out.clone().unbind());
    }
    // The result in `out`'s memory, laid out otherwise: copied from a temporary.
    let r = if r.storage().same(o.storage()) {
        rtorch_core::ops::copy::clone_contiguous(&r).py()?
    } else {
        r
    };
    rtorch_core::autograd::view::check_no_internal_overlap(&o).py()?;
    for t in inputs {
        rtorch_core::autograd::view::check_no_partial_overlap(&o, t).py()?;
    }
    {
        let _no_grad = rtorch_core::autograd::GradModeGuard::new(false);
        rtorch_core::ops::copy::copy_(&o, &r).py()?;
    }
    Ok(out.clone().unbind())
}

/// The dtype argument of a factory function called with `out=`: `dtype` when given,
/// else `out`'s dtype (PyTorch fills `out` in its own dtype: `zeros(2, out=long)`).
pub fn factory_dtype<'py>(
    dtype: Option<&Bound<'py, PyAny>>,
    out: Option<&Bound<'py, PyAny>>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if let Some(d) = dtype.filter(|d| !d.is_none()) {
        return Ok(Some(d.clone()));
    }
    match out.filter(|o| !o.is_none()) {
        Some(o) if o.cast::<PyTensor>().is_ok() => Ok(Some(o.getattr("dtype")?)),
        _ => Ok(None),
    }
}

/// A factory function's tensor, or, with `out=`, its values written into `out` under
/// `finish_out`'s rules (resized as needed, without a warning) and `out` returned; a
/// `dtype` other than `out`'s is an error, as in PyTorch.
pub fn finish_factory(
    py: Python<'_>,
    made: PyResult<PyTensor>,
    out: Option<&Bound<'_, PyAny>>,
    name: &str,
) -> PyResult<Py<PyAny>> {
    let t = made?;
    match out.filter(|o| !o.is_none()) {
        None => Ok(Py::new(py, t)?.into_any()),
        Some(o) => {
            if let Ok(o) = o.cast::<PyTensor>() {
                let want = o.borrow().inner.dtype();
                if t.inner.dtype() != want {
                    return Err(PyRuntimeError::new_err(format!(
                        "dtype {} does not match dtype of out parameter ({})",
                        t.inner.dtype().scalar_type_name(),
                        want.scalar_type_name()
                    )));
                }
            }
            finish_out_with(py, Ok(t.inner.clone()), out, &[], name, false)
        }
    }
}
