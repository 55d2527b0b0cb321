//! Bindings of the index ops: index_select, gather, scatter, index_add, masked_*,
//! where, nonzero, take, index_put (methods, in-place forms and module functions).

use crate::convert::{rhs_arg, scalar_arg, tensor_arg};
use crate::error::IntoPyResult;
use crate::tensor::{wrap, PyTensor};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PySequence, PyTuple};
use rtorch_core::ops::binary::Rhs;
use rtorch_core::ops::index::{self as ix, ScatterReduce};
use rtorch_core::{Scalar, Tensor};
use rtorch_macros::module_fn;

fn rhs_needs_grad(r: &Rhs) -> bool {
    matches!(r, Rhs::Tensor(t) if t.requires_grad())
}

fn reduce_arg(reduce: Option<&str>) -> PyResult<ScatterReduce> {
    match reduce {
        None => Ok(ScatterReduce::None),
        Some("add") => Ok(ScatterReduce::Add),
        Some("multiply") => Ok(ScatterReduce::Multiply),
        Some(r) => Err(PyRuntimeError::new_err(format!(
            "reduce argument must be either add or multiply, got {r}"
        ))),
    }
}

/// scatter's source: `src` (tensor or number) or `value=`.
fn scatter_src(src: Option<&Bound<'_, PyAny>>, value: Option<&Bound<'_, PyAny>>) -> PyResult<Rhs> {
    match (src, value) {
        (Some(s), _) if !s.is_none() => rhs_arg(s),
        (_, Some(v)) if !v.is_none() => rhs_arg(v),
        _ => Err(PyTypeError::new_err(
            "scatter() missing required argument 'src' or 'value'",
        )),
    }
}

fn alpha_arg(alpha: Option<&Bound<'_, PyAny>>) -> PyResult<Scalar> {
    match alpha {
        None => Ok(Scalar::Int(1)),
        Some(a) => scalar_arg(a).ok_or_else(|| PyTypeError::new_err("alpha must be a number")),
    }
}

/// A tuple/list of index tensors (None allowed) for index_put.
fn index_tuple(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Option<Tensor>>> {
    let seq = obj
        .cast::<PySequence>()
        .map_err(|_| PyTypeError::new_err("index_put(): indices must be a tuple of Tensors"))?;
    let mut out = Vec::new();
    for item in seq.try_iter()? {
        let item = item?;
        if item.is_none() {
            out.push(None);
            continue;
        }
        let t = tensor_arg(&item, "index_put(): indices")?;
        if t.dtype() == rtorch_core::DType::Bool {
            for c in ix::nonzero_tuple(&t).py()? {
                out.push(Some(c));
            }
        } else {
            out.push(Some(t));
        }
    }
    Ok(out)
}

fn tuple_of(py: Python<'_>, ts: Vec<Tensor>) -> PyResult<Py<PyAny>> {
    let items: Vec<PyTensor> = ts.into_iter().map(PyTensor::from).collect();
    Ok(PyTuple::new(py, items)?.into_any().unbind())
}

fn nonzero_impl(py: Python<'_>, t: &Tensor, as_tuple: bool) -> PyResult<Py<PyAny>> {
    if as_tuple {
        tuple_of(py, ix::nonzero_tuple(t).py()?)
    } else {
        Ok(Py::new(py, wrap(ix::nonzero(t))?)?.into_any())
    }
}

#[pymethods]
impl PyTensor {
    fn index_select(&self, dim: i64, index: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
        wrap(ix::index_select(&self.inner, dim, &index.inner))
    }

    #[pyo3(signature = (dim, index, *, sparse_grad=false))]
    fn gather(
        &self,
        dim: i64,
        index: PyRef<'_, PyTensor>,
        sparse_grad: bool,
    ) -> PyResult<PyTensor> {
        let _ = sparse_grad;
        wrap(ix::gather(&self.inner, dim, &index.inner))
    }

    #[pyo3(signature = (dim, index, src=None, *, value=None, reduce=None))]
    fn scatter(
        &self,
        dim: i64,
        index: PyRef<'_, PyTensor>,
        src: Option<&Bound<'_, PyAny>>,
        value: Option<&Bound<'_, PyAny>>,
        reduce: Option<&str>,
    ) -> PyResult<PyTensor> {
        let s = scatter_src(src, value)?;
        wrap(ix::scatter(
            &self.inner,
            dim,
            &index.inner,
            &s,
            reduce_arg(reduce)?,
        ))
    }

    #[pyo3(signature = (dim, index, src=None, *, value=None, reduce=None))]
    fn scatter_<'py>(
        slf: Bound<'py, Self>,
        dim: i64,
        index: PyRef<'_, PyTensor>,
        src: Option<&Bound<'_, PyAny>>,
        value: Option<&Bound<'_, PyAny>>,
        reduce: Option<&str>,
    ) -> PyResult<Bound<'py, Self>> {
        let s = scatter_src(src, value)?;
        let r = reduce_arg(reduce)?;
        let t = slf.borrow().inner.clone();
        ix::in_place_via(&t, rhs_needs_grad(&s), |x| {
            ix::scatter(x, dim, &index.inner, &s, r)
        })
        .py()?;
        Ok(slf)
    }

    fn scatter_add(
        &self,
        dim: i64,
        index: PyRef<'_, PyTensor>,
        src: PyRef<'_, PyTensor>,
    ) -> PyResult<PyTensor> {
        wrap(ix::scatter_add(&self.inner, dim, &index.inner, &src.inner))
    }

    fn scatter_add_<'py>(
        slf: Bound<'py, Self>,
        dim: i64,
        index: PyRef<'_, PyTensor>,
        src: PyRef<'_, PyTensor>,
    ) -> PyResult<Bound<'py, Self>> {
        let t = slf.borrow().inner.clone();
        ix::in_place_via(&t, src.inner.requires_grad(), |x| {
            ix::scatter_add(x, dim, &index.inner, &src.inner)
        })
        .py()?;
        Ok(slf)
    }

    #[pyo3(signature = (dim, index, source, *, alpha=None))]
    fn index_add(
        &self,
        dim: i64,
        index: PyRef<'_, PyTensor>,
        source: PyRef<'_, PyTensor>,
        alpha: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        wrap(ix::index_add(
            &self.inner,
            dim,
            &index.inner,
            &source.inner,
            alpha_arg(alpha)?,
        ))
    }

    #[pyo3(signature = (dim, index, source, *, alpha=None))]
    fn index_add_<'py>(
        slf: Bound<'py, Self>,
        dim: i64,
        index: PyRef<'_, PyTensor>,
        source: PyRef<'_, PyTensor>,
        alpha: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, Self>> {
        let a = alpha_arg(alpha)?;
        let t = slf.borrow().inner.clone();
        ix::in_place_via(&t, source.inner.requires_grad(), |x| {
            ix::index_add(x, dim, &index.inner, &source.inner, a)
        })
        .py()?;
        Ok(slf)
    }

    fn index_copy(
        &self,
        dim: i64,
        index: PyRef<'_, PyTensor>,
        source: PyRef<'_, PyTensor>,
    ) -> PyResult<PyTensor> {
        wrap(ix::index_copy(
            &self.inner,
            dim,
            &index.inner,
            &source.inner,
        ))
    }

    fn index_copy_<'py>(
        slf: Bound<'py, Self>,
        dim: i64,
        index: PyRef<'_, PyTensor>,
        source: PyRef<'_, PyTensor>,
    ) -> PyResult<Bound<'py, Self>> {
        let t = slf.borrow().inner.clone();
        ix::in_place_via(&t, source.inner.requires_grad(), |x| {
            ix::index_copy(x, dim, &index.inner, &source.inner)
        })
        .py()?;
        Ok(slf)
    }

    fn index_fill(
        &self,
        dim: i64,
        index: PyRef<'_, PyTensor>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<PyTensor> {
        wrap(ix::index_fill(
            &self.inner,
            dim,
            &index.inner,
            &rhs_arg(value)?,
        ))
    }

    fn index_fill_<'py>(
        slf: Bound<'py, Self>,
        dim: i64,
        index: PyRef<'_, PyTensor>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, Self>> {
        let v = rhs_arg(value)?;
        let t = slf.borrow().inner.clone();
        ix::in_place_via(&t, rhs_needs_grad(&v), |x| {
            ix::index_fill(x, dim, &index.inner, &v)
        })
        .py()?;
        Ok(slf)
    }

    fn masked_fill(
        &self,
        mask: PyRef<'_, PyTensor>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<PyTensor> {
        wrap(ix::masked_fill(&self.inner, &mask.inner, &rhs_arg(value)?))
    }

    fn masked_fill_<'py>(
        slf: Bound<'py, Self>,
        mask: PyRef<'_, PyTensor>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, Self>> {
        let v = rhs_arg(value)?;
        let t = slf.borrow().inner.clone();
        ix::in_place_via(&t, rhs_needs_grad(&v), |x| {
            ix::masked_fill(x, &mask.inner, &v)
        })
        .py()?;
        Ok(slf)
    }

    fn masked_select(&self, mask: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
        wrap(ix::masked_select(&self.inner, &mask.inner))
    }

    fn masked_scatter(
        &self,
        mask: PyRef<'_, PyTensor>,
        source: PyRef<'_, PyTensor>,
    ) -> PyResult<PyTensor> {
        wrap(ix::masked_scatter(&self.inner, &mask.inner, &source.inner))
    }

    fn masked_scatter_<'py>(
        slf: Bound<'py, Self>,
        mask: PyRef<'_, PyTensor>,
        source: PyRef<'_, PyTensor>,
    ) -> PyResult<Bound<'py, Self>> {
        let t = slf.borrow().inner.clone();
        ix::in_place_via(&t, source.inner.requires_grad(), |x| {
            ix::masked_scatter(x, &mask.inner, &source.inner)
        })
        .py()?;
        Ok(slf)
    }

    fn take(&self, index: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
        wrap(ix::take(&self.inner, &index.inner))
    }

    /// `x.where(condition, y)` == `where(condition, x, y)`.
    #[pyo3(name = "where")]
    fn where_method(
        &self,
        condition: PyRef<'_, PyTensor>,
        other: &Bound<'_, PyAny>,
    ) -> PyResult<PyTensor> {
        wrap(ix::where_(
            &condition.inner,
            &Rhs::Tensor(self.inner.clone()),
            &rhs_arg(other)?,
        ))
    }

    #[pyo3(signature = (*, as_tuple=false))]
    fn nonzero(&self, py: Python<'_>, as_tuple: bool) -> PyResult<Py<PyAny>> {
        nonzero_impl(py, &self.inner, as_tuple)
    }

    fn argwhere(&self) -> PyResult<PyTensor> {
        wrap(ix::nonzero(&self.inner))
    }

    #[pyo3(signature = (indices, values, accumulate=false))]
    fn index_put_<'py>(
        slf: Bound<'py, Self>,
        indices: &Bound<'_, PyAny>,
        values: PyRef<'_, PyTensor>,
        accumulate: bool,
    ) -> PyResult<Bound<'py, Self>> {
        let idx = index_tuple(indices)?;
        let t = slf.borrow().inner.clone();
        ix::index_put_(&t, &idx, &Rhs::Tensor(values.inner.clone()), accumulate).py()?;
        Ok(slf)
    }

    #[pyo3(signature = (indices, values, accumulate=false))]
    fn index_put(
        &self,
        indices: &Bound<'_, PyAny>,
        values: PyRef<'_, PyTensor>,
        accumulate: bool,
    ) -> PyResult<PyTensor> {
        let idx = index_tuple(indices)?;
        wrap(ix::index_put(
            &self.inner,
            &idx,
            &Rhs::Tensor(values.inner.clone()),
            accumulate,
        ))
    }
}

#[module_fn]
fn index_select(
    input: PyRef<'_, PyTensor>,
    dim: i64,
    index: PyRef<'_, PyTensor>,
) -> PyResult<PyTensor> {
    input.index_select(dim, index)
}

#[module_fn]
#[pyo3(signature = (input, dim, index, *, sparse_grad=false))]
fn gather(
    input: PyRef<'_, PyTensor>,
    dim: i64,
    index: PyRef<'_, PyTensor>,
    sparse_grad: bool,
) -> PyResult<PyTensor> {
    input.gather(dim, index, sparse_grad)
}

#[module_fn]
#[pyo3(signature = (input, dim, index, src=None, *, value=None, reduce=None))]
fn scatter(
    input: PyRef<'_, PyTensor>,
    dim: i64,
    index: PyRef<'_, PyTensor>,
    src: Option<&Bound<'_, PyAny>>,
    value: Option<&Bound<'_, PyAny>>,
    reduce: Option<&str>,
) -> PyResult<PyTensor> {
    input.scatter(dim, index, src, value, reduce)
}

#[module_fn]
fn scatter_add(
    input: PyRef<'_, PyTensor>,
    dim: i64,
    index: PyRef<'_, PyTensor>,
    src: PyRef<'_, PyTensor>,
) -> PyResult<PyTensor> {
    input.scatter_add(dim, index, src)
}

#[module_fn]
#[pyo3(signature = (input, dim, index, source, *, alpha=None))]
fn index_add(
    input: PyRef<'_, PyTensor>,
    dim: i64,
    index: PyRef<'_, PyTensor>,
    source: PyRef<'_, PyTensor>,
    alpha: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    input.index_add(dim, index, source, alpha)
}

#[module_fn]
fn index_copy(
    input: PyRef<'_, PyTensor>,
    dim: i64,
    index: PyRef<'_, PyTensor>,
    source: PyRef<'_, PyTensor>,
) -> PyResult<PyTensor> {
    input.index_copy(dim, index, source)
}

#[module_fn]
fn index_fill(
    input: PyRef<'_, PyTensor>,
    dim: i64,
    index: PyRef<'_, PyTensor>,
    value: &Bound<'_, PyAny>,
) -> PyResult<PyTensor> {
    input.index_fill(dim, index, value)
}

#[module_fn]
fn masked_fill(
    input: PyRef<'_, PyTensor>,
    mask: PyRef<'_, PyTensor>,
    value: &Bound<'_, PyAny>,
) -> PyResult<PyTensor> {
    input.masked_fill(mask, value)
}

#[module_fn]
fn masked_select(input: PyRef<'_, PyTensor>, mask: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
    input.masked_select(mask)
}

#[module_fn]
fn masked_scatter(
    input: PyRef<'_, PyTensor>,
    mask: PyRef<'_, PyTensor>,
    source: PyRef<'_, PyTensor>,
) -> PyResult<PyTensor> {
    input.masked_scatter(mask, source)
}

#[module_fn]
fn take(input: PyRef<'_, PyTensor>, index: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
    input.take(index)
}

/// `where(condition, input, other)`, or `where(condition)` == `nonzero(as_tuple=True)`.
#[module_fn]
#[pyo3(name = "where", signature = (condition, input=None, other=None))]
fn where_fn(
    py: Python<'_>,
    condition: PyRef<'_, PyTensor>,
    input: Option<&Bound<'_, PyAny>>,
    other: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    match (input, other) {
        (None, None) => nonzero_impl(py, &condition.inner, true),
        (Some(x), Some(y)) => {
            let r = ix::where_(&condition.inner, &rhs_arg(x)?, &rhs_arg(y)?);
            Ok(Py::new(py, wrap(r)?)?.into_any())
        }
        _ => Err(PyTypeError::new_err(
            "where() expects either 1 argument (condition) or 3 arguments (condition, input, other)",
        )),
    }
}

#[module_fn]
#[pyo3(signature = (input, *, as_tuple=false))]
fn nonzero(py: Python<'_>, input: PyRef<'_, PyTensor>, as_tuple: bool) -> PyResult<Py<PyAny>> {
    nonzero_impl(py, &input.inner, as_tuple)
}

#[module_fn]
fn argwhere(input: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
    wrap(ix::nonzero(&input.inner))
}

#[module_fn]
#[pyo3(signature = (input, indices, values, accumulate=false))]
fn index_put(
    input: PyRef<'_, PyTensor>,
    indices: &Bound<'_, PyAny>,
    values: PyRef<'_, PyTensor>,
    accumulate: bool,
) -> PyResult<PyTensor> {
    input.index_put(indices, values, accumulate)
}
