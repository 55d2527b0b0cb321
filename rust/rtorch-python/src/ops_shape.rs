//! Bindings of views and shape ops.

use crate::convert::{int_list, shape_args};
use crate::declare::tensor_ops;
use crate::error::IntoPyResult;
use crate::tensor::{wrap, PyTensor};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PySequence, PyTuple};
use rtorch_core::ops::shape as s;
use rtorch_core::Tensor;
use rtorch_macros::module_fn;

/// A sequence of tensors (list or tuple) as core tensors.
pub fn tensor_list(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<Tensor>> {
    if obj.cast::<PyTensor>().is_ok() {
        return Err(PyTypeError::new_err(format!(
            "{what}(): argument 'tensors' must be tuple of Tensors, not Tensor"
        )));
    }
    let seq = obj.cast::<PySequence>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what}(): argument 'tensors' must be tuple of Tensors, not {}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let mut out = Vec::new();
    for (i, item) in seq.try_iter()?.enumerate() {
        let item = item?;
        match item.cast::<PyTensor>() {
            Ok(t) => out.push(t.borrow().inner.clone()),
            Err(_) => {
                return Err(PyTypeError::new_err(format!(
                    "expected Tensor as element {i} in argument 0, but got {}",
                    item.get_type().name()?
                )))
            }
        }
    }
    Ok(out)
}

fn tuple_of(py: Python<'_>, ts: Vec<Tensor>) -> PyResult<Py<PyAny>> {
    let items: Vec<PyTensor> = ts.into_iter().map(PyTensor::from).collect();
    Ok(PyTuple::new(py, items)?.into_any().unbind())
}

/// Dims given as varargs (`flip(0, 1)`) or one sequence (`flip((0, 1))`).
fn dims_varargs(args: &Bound<'_, PyTuple>) -> PyResult<Vec<i64>> {
    shape_args(args)
}

fn split_impl(
    py: Python<'_>,
    t: &Tensor,
    split: &Bound<'_, PyAny>,
    dim: i64,
) -> PyResult<Py<PyAny>> {
    let parts = if let Ok(n) = split.extract::<i64>() {
        if split.is_instance_of::<pyo3::types::PyInt>() || split.cast::<PyTensor>().is_ok() {
            s::split(t, n, dim).py()?
        } else {
            s::split_with_sizes(t, &int_list(split)?, dim).py()?
        }
    } else {
        s::split_with_sizes(t, &int_list(split)?, dim).py()?
    };
    tuple_of(py, parts)
}

fn tensor_split_impl(
    py: Python<'_>,
    t: &Tensor,
    ios: &Bound<'_, PyAny>,
    dim: i64,
) -> PyResult<Py<PyAny>> {
    let single = ios.is_instance_of::<pyo3::types::PyInt>()
        || ios
            .cast::<PyTensor>()
            .map(|x| x.borrow().inner.dim() == 0)
            .unwrap_or(false);
    let parts = if single {
        s::tensor_split_sections(t, ios.extract::<i64>()?, dim).py()?
    } else {
        s::tensor_split_indices(t, &int_list(ios)?, dim).py()?
    };
    tuple_of(py, parts)
}

#[pymethods]
impl PyTensor {
    #[pyo3(signature = (*shape))]
    fn view(&self, shape: &Bound<'_, PyTuple>) -> PyResult<PyTensor> {
        if shape.len() == 1 {
            let a = shape.get_item(0)?;
            // (An int is a size; only then is the dtype form tried.)
            let dtype = match a.is_instance_of::<pyo3::types::PyInt>() {
                true => None,
                false => crate::convert::dtype_arg(Some(&a)).ok().flatten(),
            };
            if let Some(d) = dtype {
                return wrap(s::view_dtype(&self.inner, d));
            }
        }
        wrap(s::view(&self.inner, &shape_args(shape)?))
    }

    fn view_as(&self, other: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
        let shape: Vec<i64> = other.inner.shape().iter().map(|&d| d as i64).collect();
        wrap(s::view(&self.inner, &shape))
    }

    #[pyo3(signature = (*shape))]
    fn reshape(&self, shape: &Bound<'_, PyTuple>) -> PyResult<PyTensor> {
        wrap(s::reshape(&self.inner, &shape_args(shape)?))
    }

    fn reshape_as(&self, other: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
        wrap(s::reshape_to(&self.inner, other.inner.shape()))
    }

    #[pyo3(signature = (*sizes))]
    fn expand(&self, sizes: &Bound<'_, PyTuple>) -> PyResult<PyTensor> {
        wrap(s::expand(&self.inner, &shape_args(sizes)?))
    }

    fn expand_as(&self, other: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
        wrap(s::expand_to(&self.inner, other.inner.shape()))
    }

    #[pyo3(signature = (*dims))]
    fn permute(&self, dims: &Bound<'_, PyTuple>) -> PyResult<PyTensor> {
        wrap(s::permute(&self.inner, &shape_args(dims)?))
    }

    #[getter(T)]
    fn big_t(&self) -> PyResult<PyTensor> {
        let n = self.inner.dim() as i64;
        let dims: Vec<i64> = (0..n).rev().collect();
        wrap(s::permute(&self.inner, &dims))
    }

    #[getter(mT)]
    fn m_t(&self) -> PyResult<PyTensor> {
        if self.inner.dim() < 2 {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.",
            ));
        }
        wrap(s::transpose(&self.inner, -2, -1))
    }
}

#[module_fn]
#[pyo3(signature = (input, shape))]
fn reshape(input: PyRef<'_, PyTensor>, shape: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(s::reshape(&input.inner, &int_list(shape)?))
}

#[module_fn]
fn permute(input: PyRef<'_, PyTensor>, dims: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(s::permute(&input.inner, &int_list(dims)?))
}

#[pymethods]
impl PyTensor {
    #[pyo3(signature = (split_size, dim=0))]
    fn split(
        &self,
        py: Python<'_>,
        split_size: &Bound<'_, PyAny>,
        dim: i64,
    ) -> PyResult<Py<PyAny>> {
        split_impl(py, &self.inner, split_size, dim)
    }

    #[pyo3(signature = (split_sizes, dim=0))]
    fn split_with_sizes(
        &self,
        py: Python<'_>,
        split_sizes: &Bound<'_, PyAny>,
        dim: i64,
    ) -> PyResult<Py<PyAny>> {
        let parts = s::split_with_sizes(&self.inner, &int_list(split_sizes)?, dim).py()?;
        tuple_of(py, parts)
    }

    #[pyo3(signature = (indices_or_sections, dim=0))]
    fn tensor_split(
        &self,
        py: Python<'_>,
        indices_or_sections: &Bound<'_, PyAny>,
        dim: i64,
    ) -> PyResult<Py<PyAny>> {
        tensor_split_impl(py, &self.inner, indices_or_sections, dim)
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if self.inner.dim() == 0 {
            return Err(PyTypeError::new_err("iteration over a 0-d tensor"));
        }
        let parts: Vec<PyTensor> = s::unbind(&self.inner, 0)
            .py()?
            .into_iter()
            .map(PyTensor::from)
            .collect();
        Ok(PyList::new(py, parts)?.try_iter()?.into_any().unbind())
    }

    #[pyo3(signature = (*dims))]
    fn flip(&self, dims: &Bound<'_, PyTuple>) -> PyResult<PyTensor> {
        wrap(s::flip(&self.inner, &dims_varargs(dims)?))
    }

    #[pyo3(signature = (*sizes))]
    fn repeat(&self, sizes: &Bound<'_, PyTuple>) -> PyResult<PyTensor> {
        wrap(s::repeat(&self.inner, &shape_args(sizes)?))
    }

    #[pyo3(signature = (*dims))]
    fn tile(&self, dims: &Bound<'_, PyTuple>) -> PyResult<PyTensor> {
        wrap(s::tile(&self.inner, &shape_args(dims)?))
    }

    fn unfold(&self, dimension: i64, size: i64, step: i64) -> PyResult<PyTensor> {
        wrap(s::unfold(&self.inner, dimension, size, step))
    }
}

fn fliplr_impl(t: &Tensor) -> rtorch_core::Result<Tensor> {
    if t.dim() < 2 {
        return Err(rtorch_core::Error::Runtime("Input must be >= 2-d.".into()));
    }
    s::flip(t, &[1])
}

fn flipud_impl(t: &Tensor) -> rtorch_core::Result<Tensor> {
    if t.dim() < 1 {
        return Err(rtorch_core::Error::Runtime("Input must be >= 1-d.".into()));
    }
    s::flip(t, &[0])
}

fn diag_embed_impl(t: &Tensor, offset: i64, dim1: i64, dim2: i64) -> rtorch_core::Result<Tensor> {
    let e = s::diag_embed(t, offset)?;
    let nd = e.dim() as i64;
    let a = rtorch_core::layout::normalize_dim(dim1, nd as usize)? as i64;
    let b = rtorch_core::layout::normalize_dim(dim2, nd as usize)? as i64;
    if (a, b) == (nd - 2, nd - 1) {
        return Ok(e);
    }
    s::movedim(&e, &[nd - 2, nd - 1], &[a, b])
}

fn squeeze_dims(dim: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<i64>>> {
    dim.map(int_list).transpose()
}

fn tril_(t: &Tensor, diagonal: i64) -> rtorch_core::Result<()> {
    rtorch_core::ops::index::in_place_via(t, false, |x| s::tril(x, diagonal))
}

fn triu_(t: &Tensor, diagonal: i64) -> rtorch_core::Result<()> {
    rtorch_core::ops::index::in_place_via(t, false, |x| s::triu(x, diagonal))
}

// Views and shape ops: PyTorch's module functions of these take no `out=`.
tensor_ops! {
    no_out:
    transpose(dim0: i64, dim1: i64) |x| s::transpose(x, dim0, dim1);
    swapaxes(axis0: i64, axis1: i64) |x| s::transpose(x, axis0, axis1);
    swapdims(dim0: i64, dim1: i64) |x| s::transpose(x, dim0, dim1);
    t() |x| s::t(x);
    unsqueeze(dim: i64) |x| s::unsqueeze(x, dim);
    squeeze(dim: Option<&Bound<'_, PyAny>> = None) |x| s::squeeze(x, squeeze_dims(dim)?.as_deref());
    flatten(start_dim: i64 = 0, end_dim: i64 = (-1)) |x| s::flatten(x, start_dim, end_dim);
    narrow(dim: i64, start: i64, length: i64) |x| s::narrow(x, dim, start, length);
    select(dim: i64, index: i64) |x| s::select(x, dim, index);
    fliplr() |x| fliplr_impl(x);
    flipud() |x| flipud_impl(x);
    roll(shifts: &Bound<'_, PyAny>, dims: Option<&Bound<'_, PyAny>> = None)
        |x| s::roll(x, &int_list(shifts)?, &squeeze_dims(dims.filter(|d| !d.is_none()))?.unwrap_or_default());
    diagonal(offset: i64 = 0, dim1: i64 = 0, dim2: i64 = 1) |x| s::diagonal(x, offset, dim1, dim2);
    diag_embed(offset: i64 = 0, dim1: i64 = (-2), dim2: i64 = (-1))
        |x| diag_embed_impl(x, offset, dim1, dim2);
    movedim(source: &Bound<'_, PyAny>, destination: &Bound<'_, PyAny>) as moveaxis
        |x| s::movedim(x, &int_list(source)?, &int_list(destination)?);
    unflatten(dim: i64, sizes: &Bound<'_, PyAny>) |x| s::unflatten(x, dim, &int_list(sizes)?);
}

tensor_ops! {
    objects(py):
    chunk(chunks: i64, dim: i64 = 0) |x| tuple_of(py, s::chunk(x, chunks, dim).py()?);
    unbind(dim: i64 = 0) |x| tuple_of(py, s::unbind(x, dim).py()?);
}

tensor_ops! {
    tril(diagonal: i64 = 0) |x| s::tril(x, diagonal), in_place tril_ |x| tril_(x, diagonal);
    triu(diagonal: i64 = 0) |x| s::triu(x, diagonal), in_place triu_ |x| triu_(x, diagonal);
    diag(diagonal: i64 = 0) |x| s::diag(x, diagonal);
}

#[module_fn]
#[pyo3(signature = (tensors, dim=0, *, out=None))]
fn cat(
    py: Python<'_>,
    tensors: &Bound<'_, PyAny>,
    dim: i64,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let ts = tensor_list(tensors, "cat")?;
    let ins: Vec<&Tensor> = ts.iter().collect();
    let offer = crate::out::offer(out, &ins);
    let result = s::cat(&ts, dim);
    drop(offer);
    crate::out::finish_out(py, result, out, &ins, "cat")
}

#[module_fn]
#[pyo3(signature = (tensors, dim=0, *, out=None))]
fn concat(
    py: Python<'_>,
    tensors: &Bound<'_, PyAny>,
    dim: i64,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let ts = tensor_list(tensors, "concat")?;
    let ins: Vec<&Tensor> = ts.iter().collect();
    let offer = crate::out::offer(out, &ins);
    let result = s::cat(&ts, dim);
    drop(offer);
    crate::out::finish_out(py, result, out, &ins, "concat")
}

#[module_fn]
#[pyo3(signature = (tensors, axis=0, *, out=None))]
fn concatenate(
    py: Python<'_>,
    tensors: &Bound<'_, PyAny>,
    axis: i64,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let ts = tensor_list(tensors, "concatenate")?;
    let ins: Vec<&Tensor> = ts.iter().collect();
    let offer = crate::out::offer(out, &ins);
    let result = s::cat(&ts, axis);
    drop(offer);
    crate::out::finish_out(py, result, out, &ins, "concatenate")
}

#[module_fn]
#[pyo3(signature = (tensors, dim=0, *, out=None))]
fn stack(
    py: Python<'_>,
    tensors: &Bound<'_, PyAny>,
    dim: i64,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let ts = tensor_list(tensors, "stack")?;
    let ins: Vec<&Tensor> = ts.iter().collect();
    let offer = crate::out::offer(out, &ins);
    let result = s::stack(&ts, dim);
    drop(offer);
    crate::out::finish_out(py, result, out, &ins, "stack")
}

#[module_fn]
fn hstack(tensors: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(s::hstack(&tensor_list(tensors, "hstack")?))
}

#[module_fn]
fn vstack(tensors: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(s::vstack(&tensor_list(tensors, "vstack")?))
}

#[module_fn]
#[pyo3(signature = (tensor, split_size_or_sections, dim=0))]
fn split(
    py: Python<'_>,
    tensor: PyRef<'_, PyTensor>,
    split_size_or_sections: &Bound<'_, PyAny>,
    dim: i64,
) -> PyResult<Py<PyAny>> {
    split_impl(py, &tensor.inner, split_size_or_sections, dim)
}

#[module_fn]
#[pyo3(signature = (input, indices_or_sections, dim=0))]
fn tensor_split(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    indices_or_sections: &Bound<'_, PyAny>,
    dim: i64,
) -> PyResult<Py<PyAny>> {
    tensor_split_impl(py, &input.inner, indices_or_sections, dim)
}

#[module_fn]
fn flip(input: PyRef<'_, PyTensor>, dims: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(s::flip(&input.inner, &int_list(dims)?))
}

#[module_fn]
fn tile(input: PyRef<'_, PyTensor>, dims: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(s::tile(&input.inner, &int_list(dims)?))
}

#[module_fn]
fn atleast_1d(input: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
    wrap(s::atleast_1d(&input.inner))
}

#[module_fn]
fn atleast_2d(input: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
    wrap(s::atleast_2d(&input.inner))
}
