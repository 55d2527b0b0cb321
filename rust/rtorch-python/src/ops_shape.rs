//! Bindings of views and shape ops.

use crate::convert::{int_list, shape_args};
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

fn roll_impl(
    t: &Tensor,
    shifts: &Bound<'_, PyAny>,
    dims: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    let sh = int_list(shifts)?;
    let ds = match dims {
        None => vec![],
        Some(d) if d.is_none() => vec![],
        Some(d) => int_list(d)?,
    };
    wrap(s::roll(t, &sh, &ds))
}

#[pymethods]
impl PyTensor {
    #[pyo3(signature = (*shape))]
    fn view(&self, shape: &Bound<'_, PyTuple>) -> PyResult<PyTensor> {
        if shape.len() == 1 {
            let a = shape.get_item(0)?;
            if let Ok(Some(d)) = crate::convert::dtype_arg(Some(&a)) {
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

    fn transpose(&self, dim0: i64, dim1: i64) -> PyResult<PyTensor> {
        wrap(s::transpose(&self.inner, dim0, dim1))
    }

    fn swapaxes(&self, axis0: i64, axis1: i64) -> PyResult<PyTensor> {
        wrap(s::transpose(&self.inner, axis0, axis1))
    }

    fn swapdims(&self, dim0: i64, dim1: i64) -> PyResult<PyTensor> {
        wrap(s::transpose(&self.inner, dim0, dim1))
    }

    fn t(&self) -> PyResult<PyTensor> {
        wrap(s::t(&self.inner))
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

    fn unsqueeze(&self, dim: i64) -> PyResult<PyTensor> {
        wrap(s::unsqueeze(&self.inner, dim))
    }

    #[pyo3(signature = (dim=None))]
    fn squeeze(&self, dim: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        match dim {
            None => wrap(s::squeeze(&self.inner, None)),
            Some(d) => wrap(s::squeeze(&self.inner, Some(&int_list(d)?))),
        }
    }

    #[pyo3(signature = (start_dim=0, end_dim=-1))]
    fn flatten(&self, start_dim: i64, end_dim: i64) -> PyResult<PyTensor> {
        wrap(s::flatten(&self.inner, start_dim, end_dim))
    }

    fn narrow(&self, dim: i64, start: i64, length: i64) -> PyResult<PyTensor> {
        wrap(s::narrow(&self.inner, dim, start, length))
    }

    fn select(&self, dim: i64, index: i64) -> PyResult<PyTensor> {
        wrap(s::select(&self.inner, dim, index))
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

#[module_fn]
fn transpose(input: PyRef<'_, PyTensor>, dim0: i64, dim1: i64) -> PyResult<PyTensor> {
    wrap(s::transpose(&input.inner, dim0, dim1))
}

#[module_fn]
fn swapaxes(input: PyRef<'_, PyTensor>, axis0: i64, axis1: i64) -> PyResult<PyTensor> {
    wrap(s::transpose(&input.inner, axis0, axis1))
}

#[module_fn]
fn swapdims(input: PyRef<'_, PyTensor>, dim0: i64, dim1: i64) -> PyResult<PyTensor> {
    wrap(s::transpose(&input.inner, dim0, dim1))
}

#[module_fn]
fn t(input: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
    wrap(s::t(&input.inner))
}

#[module_fn]
fn unsqueeze(input: PyRef<'_, PyTensor>, dim: i64) -> PyResult<PyTensor> {
    wrap(s::unsqueeze(&input.inner, dim))
}

#[module_fn]
#[pyo3(signature = (input, dim=None))]
fn squeeze(input: PyRef<'_, PyTensor>, dim: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
    match dim {
        None => wrap(s::squeeze(&input.inner, None)),
        Some(d) => wrap(s::squeeze(&input.inner, Some(&int_list(d)?))),
    }
}

#[module_fn]
#[pyo3(signature = (input, start_dim=0, end_dim=-1))]
fn flatten(input: PyRef<'_, PyTensor>, start_dim: i64, end_dim: i64) -> PyResult<PyTensor> {
    wrap(s::flatten(&input.inner, start_dim, end_dim))
}

#[module_fn]
fn narrow(input: PyRef<'_, PyTensor>, dim: i64, start: i64, length: i64) -> PyResult<PyTensor> {
    wrap(s::narrow(&input.inner, dim, start, length))
}

#[module_fn]
fn select(input: PyRef<'_, PyTensor>, dim: i64, index: i64) -> PyResult<PyTensor> {
    wrap(s::select(&input.inner, dim, index))
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

    #[pyo3(signature = (chunks, dim=0))]
    fn chunk(&self, py: Python<'_>, chunks: i64, dim: i64) -> PyResult<Py<PyAny>> {
        tuple_of(py, s::chunk(&self.inner, chunks, dim).py()?)
    }

    #[pyo3(signature = (dim=0))]
    fn unbind(&self, py: Python<'_>, dim: i64) -> PyResult<Py<PyAny>> {
        tuple_of(py, s::unbind(&self.inner, dim).py()?)
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

    fn fliplr(&self) -> PyResult<PyTensor> {
        fliplr_impl(&self.inner)
    }

    fn flipud(&self) -> PyResult<PyTensor> {
        flipud_impl(&self.inner)
    }

    #[pyo3(signature = (shifts, dims=None))]
    fn roll(
        &self,
        shifts: &Bound<'_, PyAny>,
        dims: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        roll_impl(&self.inner, shifts, dims)
    }

    #[pyo3(signature = (diagonal=0))]
    fn tril(&self, diagonal: i64) -> PyResult<PyTensor> {
        wrap(s::tril(&self.inner, diagonal))
    }

    #[pyo3(signature = (diagonal=0))]
    fn triu(&self, diagonal: i64) -> PyResult<PyTensor> {
        wrap(s::triu(&self.inner, diagonal))
    }

    #[pyo3(signature = (diagonal=0))]
    fn tril_(slf: Bound<'_, Self>, diagonal: i64) -> PyResult<Bound<'_, Self>> {
        let t = slf.borrow().inner.clone();
        rtorch_core::ops::index::in_place_via(&t, false, |x| s::tril(x, diagonal)).py()?;
        Ok(slf)
    }

    #[pyo3(signature = (diagonal=0))]
    fn triu_(slf: Bound<'_, Self>, diagonal: i64) -> PyResult<Bound<'_, Self>> {
        let t = slf.borrow().inner.clone();
        rtorch_core::ops::index::in_place_via(&t, false, |x| s::triu(x, diagonal)).py()?;
        Ok(slf)
    }

    #[pyo3(signature = (offset=0, dim1=0, dim2=1))]
    fn diagonal(&self, offset: i64, dim1: i64, dim2: i64) -> PyResult<PyTensor> {
        wrap(s::diagonal(&self.inner, offset, dim1, dim2))
    }

    #[pyo3(signature = (diagonal=0))]
    fn diag(&self, diagonal: i64) -> PyResult<PyTensor> {
        wrap(s::diag(&self.inner, diagonal))
    }

    #[pyo3(signature = (offset=0, dim1=-2, dim2=-1))]
    fn diag_embed(&self, offset: i64, dim1: i64, dim2: i64) -> PyResult<PyTensor> {
        diag_embed_impl(&self.inner, offset, dim1, dim2)
    }

    fn movedim(
        &self,
        source: &Bound<'_, PyAny>,
        destination: &Bound<'_, PyAny>,
    ) -> PyResult<PyTensor> {
        wrap(s::movedim(
            &self.inner,
            &int_list(source)?,
            &int_list(destination)?,
        ))
    }

    fn moveaxis(
        &self,
        source: &Bound<'_, PyAny>,
        destination: &Bound<'_, PyAny>,
    ) -> PyResult<PyTensor> {
        wrap(s::movedim(
            &self.inner,
            &int_list(source)?,
            &int_list(destination)?,
        ))
    }

    #[pyo3(signature = (*sizes))]
    fn repeat(&self, sizes: &Bound<'_, PyTuple>) -> PyResult<PyTensor> {
        wrap(s::repeat(&self.inner, &shape_args(sizes)?))
    }

    #[pyo3(signature = (*dims))]
    fn tile(&self, dims: &Bound<'_, PyTuple>) -> PyResult<PyTensor> {
        wrap(s::tile(&self.inner, &shape_args(dims)?))
    }

    fn unflatten(&self, dim: i64, sizes: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(s::unflatten(&self.inner, dim, &int_list(sizes)?))
    }

    fn unfold(&self, dimension: i64, size: i64, step: i64) -> PyResult<PyTensor> {
        wrap(s::unfold(&self.inner, dimension, size, step))
    }
}

fn fliplr_impl(t: &Tensor) -> PyResult<PyTensor> {
    if t.dim() < 2 {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(
            "Input must be >= 2-d.",
        ));
    }
    wrap(s::flip(t, &[1]))
}

fn flipud_impl(t: &Tensor) -> PyResult<PyTensor> {
    if t.dim() < 1 {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(
            "Input must be >= 1-d.",
        ));
    }
    wrap(s::flip(t, &[0]))
}

fn diag_embed_impl(t: &Tensor, offset: i64, dim1: i64, dim2: i64) -> PyResult<PyTensor> {
    let e = s::diag_embed(t, offset).py()?;
    let nd = e.dim() as i64;
    let (a, b) = (
        rtorch_core::layout::normalize_dim(dim1, nd as usize).py()? as i64,
        rtorch_core::layout::normalize_dim(dim2, nd as usize).py()? as i64,
    );
    if (a, b) == (nd - 2, nd - 1) {
        return Ok(PyTensor::from(e));
    }
    wrap(s::movedim(&e, &[nd - 2, nd - 1], &[a, b]))
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
    crate::out::finish_out(py, s::cat(&ts, dim), out, &ins, "cat")
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
    crate::out::finish_out(py, s::cat(&ts, dim), out, &ins, "concat")
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
    crate::out::finish_out(py, s::cat(&ts, axis), out, &ins, "concatenate")
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
    crate::out::finish_out(py, s::stack(&ts, dim), out, &ins, "stack")
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
#[pyo3(signature = (input, chunks, dim=0))]
fn chunk(py: Python<'_>, input: PyRef<'_, PyTensor>, chunks: i64, dim: i64) -> PyResult<Py<PyAny>> {
    tuple_of(py, s::chunk(&input.inner, chunks, dim).py()?)
}

#[module_fn]
#[pyo3(signature = (input, dim=0))]
fn unbind(py: Python<'_>, input: PyRef<'_, PyTensor>, dim: i64) -> PyResult<Py<PyAny>> {
    tuple_of(py, s::unbind(&input.inner, dim).py()?)
}

#[module_fn]
fn flip(input: PyRef<'_, PyTensor>, dims: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(s::flip(&input.inner, &int_list(dims)?))
}

#[module_fn]
fn fliplr(input: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
    fliplr_impl(&input.inner)
}

#[module_fn]
fn flipud(input: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
    flipud_impl(&input.inner)
}

#[module_fn]
#[pyo3(signature = (input, shifts, dims=None))]
fn roll(
    input: PyRef<'_, PyTensor>,
    shifts: &Bound<'_, PyAny>,
    dims: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    roll_impl(&input.inner, shifts, dims)
}

#[module_fn]
#[pyo3(signature = (input, diagonal=0))]
fn tril(input: PyRef<'_, PyTensor>, diagonal: i64) -> PyResult<PyTensor> {
    wrap(s::tril(&input.inner, diagonal))
}

#[module_fn]
#[pyo3(signature = (input, diagonal=0))]
fn triu(input: PyRef<'_, PyTensor>, diagonal: i64) -> PyResult<PyTensor> {
    wrap(s::triu(&input.inner, diagonal))
}

#[module_fn]
#[pyo3(signature = (input, offset=0, dim1=0, dim2=1))]
fn diagonal(input: PyRef<'_, PyTensor>, offset: i64, dim1: i64, dim2: i64) -> PyResult<PyTensor> {
    wrap(s::diagonal(&input.inner, offset, dim1, dim2))
}

#[module_fn]
#[pyo3(signature = (input, diagonal=0))]
fn diag(input: PyRef<'_, PyTensor>, diagonal: i64) -> PyResult<PyTensor> {
    wrap(s::diag(&input.inner, diagonal))
}

#[module_fn]
#[pyo3(signature = (input, offset=0, dim1=-2, dim2=-1))]
fn diag_embed(input: PyRef<'_, PyTensor>, offset: i64, dim1: i64, dim2: i64) -> PyResult<PyTensor> {
    diag_embed_impl(&input.inner, offset, dim1, dim2)
}

#[module_fn]
fn movedim(
    input: PyRef<'_, PyTensor>,
    source: &Bound<'_, PyAny>,
    destination: &Bound<'_, PyAny>,
) -> PyResult<PyTensor> {
    wrap(s::movedim(
        &input.inner,
        &int_list(source)?,
        &int_list(destination)?,
    ))
}

#[module_fn]
fn moveaxis(
    input: PyRef<'_, PyTensor>,
    source: &Bound<'_, PyAny>,
    destination: &Bound<'_, PyAny>,
) -> PyResult<PyTensor> {
    wrap(s::movedim(
        &input.inner,
        &int_list(source)?,
        &int_list(destination)?,
    ))
}

#[module_fn]
fn tile(input: PyRef<'_, PyTensor>, dims: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(s::tile(&input.inner, &int_list(dims)?))
}

#[module_fn]
fn unflatten(input: PyRef<'_, PyTensor>, dim: i64, sizes: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(s::unflatten(&input.inner, dim, &int_list(sizes)?))
}

#[module_fn]
fn atleast_1d(input: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
    wrap(s::atleast_1d(&input.inner))
}

#[module_fn]
fn atleast_2d(input: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
    wrap(s::atleast_2d(&input.inner))
}
