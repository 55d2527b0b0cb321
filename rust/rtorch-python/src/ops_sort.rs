//! Bindings of sorting, order statistics and softmax: sort, argsort, topk, kthvalue,
//! median, mode, unique, softmax, log_softmax.

use crate::convert::dtype_arg;
use crate::error::IntoPyResult;
use crate::ops_reduce::ret_pair;
use crate::tensor::{wrap, PyTensor};
use pyo3::exceptions::PyNotImplementedError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rtorch_core::ops::{softmax as sm, sort as s};
use rtorch_macros::module_fn;

#[pymethods]
impl PyTensor {
    #[pyo3(signature = (dim=-1, descending=false, *, stable=false))]
    fn sort(
        &self,
        py: Python<'_>,
        dim: i64,
        descending: bool,
        stable: bool,
    ) -> PyResult<Py<PyAny>> {
        let _ = stable; // always stable
        let (v, i) = s::sort(&self.inner, dim, descending).py()?;
        ret_pair(py, "sort", v, i)
    }
    #[pyo3(signature = (dim=-1, descending=false, *, stable=false))]
    fn argsort(&self, dim: i64, descending: bool, stable: bool) -> PyResult<PyTensor> {
        let _ = stable;
        wrap(s::argsort(&self.inner, dim, descending))
    }
    #[pyo3(signature = (k, dim=-1, largest=true, sorted=true))]
    fn topk(
        &self,
        py: Python<'_>,
        k: i64,
        dim: i64,
        largest: bool,
        sorted: bool,
    ) -> PyResult<Py<PyAny>> {
        let _ = sorted; // results are always sorted
        let (v, i) = s::topk(&self.inner, k, dim, largest).py()?;
        ret_pair(py, "topk", v, i)
    }
    #[pyo3(signature = (k, dim=-1, keepdim=false))]
    fn kthvalue(&self, py: Python<'_>, k: i64, dim: i64, keepdim: bool) -> PyResult<Py<PyAny>> {
        let (v, i) = s::kthvalue(&self.inner, k, dim, keepdim).py()?;
        ret_pair(py, "kthvalue", v, i)
    }
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn median(&self, py: Python<'_>, dim: Option<i64>, keepdim: bool) -> PyResult<Py<PyAny>> {
        match dim {
            None => Ok(Py::new(py, wrap(s::median_all(&self.inner))?)?.into_any()),
            Some(d) => {
                let (v, i) = s::median_dim(&self.inner, d, keepdim).py()?;
                ret_pair(py, "median", v, i)
            }
        }
    }
    #[pyo3(signature = (dim=-1, keepdim=false))]
    fn mode(&self, py: Python<'_>, dim: i64, keepdim: bool) -> PyResult<Py<PyAny>> {
        let (v, i) = s::mode(&self.inner, dim, keepdim).py()?;
        ret_pair(py, "mode", v, i)
    }
    #[pyo3(signature = (sorted=true, return_inverse=false, return_counts=false, dim=None))]
    fn unique(
        &self,
        py: Python<'_>,
        sorted: bool,
        return_inverse: bool,
        return_counts: bool,
        dim: Option<i64>,
    ) -> PyResult<Py<PyAny>> {
        let _ = sorted; // always sorted
        if dim.is_some() {
            return Err(PyNotImplementedError::new_err(
                "unique(dim=...) is not supported yet",
            ));
        }
        let (v, inv, cnt) = s::unique(&self.inner).py()?;
        let v = Py::new(py, PyTensor::from(v))?.into_any();
        if !return_inverse && !return_counts {
            return Ok(v);
        }
        let mut items = vec![v];
        if return_inverse {
            items.push(Py::new(py, PyTensor::from(inv))?.into_any());
        }
        if return_counts {
            items.push(Py::new(py, PyTensor::from(cnt))?.into_any());
        }
        Ok(PyTuple::new(py, items)?.into_any().unbind())
    }
    #[pyo3(signature = (dim, dtype=None))]
    fn softmax(&self, dim: i64, dtype: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        wrap(sm::softmax(&self.inner, dim, dtype_arg(dtype)?))
    }
    #[pyo3(signature = (dim, dtype=None))]
    fn log_softmax(&self, dim: i64, dtype: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        wrap(sm::log_softmax(&self.inner, dim, dtype_arg(dtype)?))
    }
}

#[module_fn]
#[pyo3(signature = (input, dim=-1, descending=false, *, stable=false))]
fn sort(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    dim: i64,
    descending: bool,
    stable: bool,
) -> PyResult<Py<PyAny>> {
    input.sort(py, dim, descending, stable)
}
#[module_fn]
#[pyo3(signature = (input, dim=-1, descending=false, *, stable=false))]
fn argsort(
    input: PyRef<'_, PyTensor>,
    dim: i64,
    descending: bool,
    stable: bool,
) -> PyResult<PyTensor> {
    input.argsort(dim, descending, stable)
}
#[module_fn]
#[pyo3(signature = (input, k, dim=-1, largest=true, sorted=true))]
fn topk(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    k: i64,
    dim: i64,
    largest: bool,
    sorted: bool,
) -> PyResult<Py<PyAny>> {
    input.topk(py, k, dim, largest, sorted)
}
#[module_fn]
#[pyo3(signature = (input, k, dim=-1, keepdim=false))]
fn kthvalue(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    k: i64,
    dim: i64,
    keepdim: bool,
) -> PyResult<Py<PyAny>> {
    input.kthvalue(py, k, dim, keepdim)
}
#[module_fn]
#[pyo3(signature = (input, dim=None, keepdim=false))]
fn median(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    dim: Option<i64>,
    keepdim: bool,
) -> PyResult<Py<PyAny>> {
    input.median(py, dim, keepdim)
}
#[module_fn]
#[pyo3(signature = (input, dim=-1, keepdim=false))]
fn mode(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    dim: i64,
    keepdim: bool,
) -> PyResult<Py<PyAny>> {
    input.mode(py, dim, keepdim)
}
#[module_fn]
#[pyo3(signature = (input, sorted=true, return_inverse=false, return_counts=false, dim=None))]
fn unique(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    sorted: bool,
    return_inverse: bool,
    return_counts: bool,
    dim: Option<i64>,
) -> PyResult<Py<PyAny>> {
    input.unique(py, sorted, return_inverse, return_counts, dim)
}
#[module_fn]
#[pyo3(signature = (input, dim, dtype=None))]
fn softmax(
    input: PyRef<'_, PyTensor>,
    dim: i64,
    dtype: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    input.softmax(dim, dtype)
}
#[module_fn]
#[pyo3(signature = (input, dim, dtype=None))]
fn log_softmax(
    input: PyRef<'_, PyTensor>,
    dim: i64,
    dtype: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    input.log_softmax(dim, dtype)
}
