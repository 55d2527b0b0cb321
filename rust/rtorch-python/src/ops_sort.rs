//! Bindings of sorting, order statistics and softmax: sort, argsort, topk, kthvalue,
//! median, mode, unique, softmax, log_softmax.

use crate::convert::dtype_arg;
use crate::declare::tensor_ops;
use crate::error::IntoPyResult;
use crate::ops_reduce::ret_pair;
use crate::tensor::{wrap, PyTensor};
use pyo3::exceptions::PyNotImplementedError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rtorch_core::ops::{softmax as sm, sort as s};
use rtorch_core::Tensor;
use rtorch_macros::module_fn;

/// `unique`'s result: the values, then the inverse and counts when asked for.
fn unique_result(
    py: Python<'_>,
    x: &Tensor,
    return_inverse: bool,
    return_counts: bool,
    dim: Option<i64>,
) -> PyResult<Py<PyAny>> {
    if dim.is_some() {
        return Err(PyNotImplementedError::new_err(
            "unique(dim=...) is not supported yet",
        ));
    }
    if !return_inverse {
        // (Without the inverse, no positions: a faster sort.)
        let (v, cnt) = s::unique_counts(x).py()?;
        let v = Py::new(py, PyTensor::from(v))?.into_any();
        if !return_counts {
            return Ok(v);
        }
        let c = Py::new(py, PyTensor::from(cnt))?.into_any();
        return Ok(PyTuple::new(py, [v, c])?.into_any().unbind());
    }
    let (v, inv, cnt) = s::unique(x).py()?;
    let v = Py::new(py, PyTensor::from(v))?.into_any();
    let mut items = vec![v];
    if return_inverse {
        items.push(Py::new(py, PyTensor::from(inv))?.into_any());
    }
    if return_counts {
        items.push(Py::new(py, PyTensor::from(cnt))?.into_any());
    }
    Ok(PyTuple::new(py, items)?.into_any().unbind())
}

// Sorting is always stable and `topk` always sorted, so `stable`/`sorted` change nothing.
tensor_ops! {
    objects(py):
    sort(dim: i64 = (-1), descending: bool = false; stable: bool = false) |x| {
        let _ = stable;
        let (v, i) = s::sort(x, dim, descending).py()?;
        ret_pair(py, "sort", v, i)
    };
    topk(k: i64, dim: i64 = (-1), largest: bool = true, sorted: bool = true) |x| {
        let _ = sorted;
        let (v, i) = s::topk(x, k, dim, largest).py()?;
        ret_pair(py, "topk", v, i)
    };
    kthvalue(k: i64, dim: i64 = (-1), keepdim: bool = false) |x| {
        let (v, i) = s::kthvalue(x, k, dim, keepdim).py()?;
        ret_pair(py, "kthvalue", v, i)
    };
    median(dim: Option<i64> = None, keepdim: bool = false) |x| match dim {
        None => Ok(Py::new(py, wrap(s::median_all(x))?)?.into_any()),
        Some(d) => {
            let (v, i) = s::median_dim(x, d, keepdim).py()?;
            ret_pair(py, "median", v, i)
        }
    };
    mode(dim: i64 = (-1), keepdim: bool = false) |x| {
        let (v, i) = s::mode(x, dim, keepdim).py()?;
        ret_pair(py, "mode", v, i)
    };
    unique(sorted: bool = true, return_inverse: bool = false, return_counts: bool = false,
           dim: Option<i64> = None) |x| {
        let _ = sorted;
        unique_result(py, x, return_inverse, return_counts, dim)
    };
}

tensor_ops! {
    no_out:
    argsort(dim: i64 = (-1), descending: bool = false; stable: bool = false)
        |x| { let _ = stable; s::argsort(x, dim, descending) };
    softmax(dim: i64, dtype: Option<&Bound<'_, PyAny>> = None)
        |x| sm::softmax(x, dim, dtype_arg(dtype)?);
    log_softmax(dim: i64, dtype: Option<&Bound<'_, PyAny>> = None)
        |x| sm::log_softmax(x, dim, dtype_arg(dtype)?);
}

/// `searchsorted`'s search: the Python layer checks the arguments and promotes both
/// operands to one dtype.
#[module_fn]
#[pyo3(signature = (sorted_sequence, values, right))]
fn _searchsorted(
    sorted_sequence: PyRef<'_, PyTensor>,
    values: PyRef<'_, PyTensor>,
    right: bool,
) -> PyResult<PyTensor> {
    wrap(s::searchsorted(
        &sorted_sequence.inner,
        &values.inner,
        right,
    ))
}
