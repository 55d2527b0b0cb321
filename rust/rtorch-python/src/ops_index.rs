//! Bindings of the index ops: index_select, gather, scatter, index_add, masked_*,
//! where, nonzero, take, index_put (methods, in-place forms and module functions).

use crate::convert::{rhs_arg, scalar_arg, tensor_arg};
use crate::declare::tensor_ops;
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

tensor_ops! {
    index_select(dim: i64, index: PyRef<'_, PyTensor>) |x| ix::index_select(x, dim, &index.inner);
    gather(dim: i64, index: PyRef<'_, PyTensor>; sparse_grad: bool = false)
        |x| { let _ = sparse_grad; ix::gather(x, dim, &index.inner) };
    scatter(dim: i64, index: PyRef<'_, PyTensor>, src: Option<&Bound<'_, PyAny>> = None;
            value: Option<&Bound<'_, PyAny>> = None, reduce: Option<&str> = None)
        |x| ix::scatter(x, dim, &index.inner, &scatter_src(src, value)?, reduce_arg(reduce)?),
        in_place scatter_ |x| {
            let (s, r) = (scatter_src(src, value)?, reduce_arg(reduce)?);
            ix::in_place_via(x, rhs_needs_grad(&s), |y| ix::scatter(y, dim, &index.inner, &s, r))
        };
    scatter_add(dim: i64, index: PyRef<'_, PyTensor>, src: PyRef<'_, PyTensor>)
        |x| ix::scatter_add(x, dim, &index.inner, &src.inner),
        in_place scatter_add_ |x| ix::scatter_add_(x, dim, &index.inner, &src.inner);
    index_add(dim: i64, index: PyRef<'_, PyTensor>, source: PyRef<'_, PyTensor>;
              alpha: Option<&Bound<'_, PyAny>> = None)
        |x| ix::index_add(x, dim, &index.inner, &source.inner, alpha_arg(alpha)?),
        in_place index_add_ |x| ix::index_add_(x, dim, &index.inner, &source.inner, alpha_arg(alpha)?);
    index_copy(dim: i64, index: PyRef<'_, PyTensor>, source: PyRef<'_, PyTensor>)
        |x| ix::index_copy(x, dim, &index.inner, &source.inner),
        in_place index_copy_ |x| ix::in_place_via(x, source.inner.requires_grad(), |y| {
            ix::index_copy(y, dim, &index.inner, &source.inner)
        });
    masked_select(mask: PyRef<'_, PyTensor>) |x| ix::masked_select(x, &mask.inner);
    take(index: PyRef<'_, PyTensor>) |x| ix::take(x, &index.inner);
}

tensor_ops! {
    objects(py):
    nonzero(; as_tuple: bool = false) |x| nonzero_impl(py, x, as_tuple);
}

// PyTorch's module functions of these take no `out=`.
tensor_ops! {
    no_out:
    argwhere() |x| ix::nonzero(x);
    index_fill(dim: i64, index: PyRef<'_, PyTensor>, value: &Bound<'_, PyAny>)
        |x| ix::index_fill(x, dim, &index.inner, &rhs_arg(value)?),
        in_place index_fill_ |x| {
            let v = rhs_arg(value)?;
            ix::in_place_via(x, rhs_needs_grad(&v), |y| ix::index_fill(y, dim, &index.inner, &v))
        };
    masked_fill(mask: PyRef<'_, PyTensor>, value: &Bound<'_, PyAny>)
        |x| ix::masked_fill(x, &mask.inner, &rhs_arg(value)?),
        in_place masked_fill_ |x| {
            let v = rhs_arg(value)?;
            ix::in_place_via(x, rhs_needs_grad(&v), |y| ix::masked_fill(y, &mask.inner, &v))
        };
    masked_scatter(mask: PyRef<'_, PyTensor>, source: PyRef<'_, PyTensor>)
        |x| ix::masked_scatter(x, &mask.inner, &source.inner),
        in_place masked_scatter_ |x| ix::in_place_via(x, source.inner.requires_grad(), |y| {
            ix::masked_scatter(y, &mask.inner, &source.inner)
        });
    index_put(indices: &Bound<'_, PyAny>, values: PyRef<'_, PyTensor>, accumulate: bool = false)
        |x| ix::index_put(x, &index_tuple(indices)?, &Rhs::Tensor(values.inner.clone()), accumulate),
        in_place_and_fn index_put_ |x| {
            ix::index_put_(x, &index_tuple(indices)?, &Rhs::Tensor(values.inner.clone()), accumulate)
        };
}

#[pymethods]
impl PyTensor {
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
}

/// `scatter_reduce(..., "amax" | "amin")`'s forward without autograd (rtorch's
/// `_scatter_reduce_ops` records the gradient).
#[module_fn]
fn _scatter_extreme(
    input: PyRef<'_, PyTensor>,
    dim: i64,
    index: PyRef<'_, PyTensor>,
    src: PyRef<'_, PyTensor>,
    largest: bool,
) -> PyResult<PyTensor> {
    wrap(ix::scatter_extreme(
        &input.inner,
        dim,
        &index.inner,
        &src.inner,
        largest,
    ))
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
