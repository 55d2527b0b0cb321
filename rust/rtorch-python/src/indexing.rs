//! `Tensor.__getitem__` / `__setitem__`: the key is parsed here into core
//! `IndexItem`s (no Python-level loops over elements); the semantics live in
//! `rtorch_core::ops::index::{getitem, setitem}`.

use crate::convert::{scalar_arg, tensor_from_data};
use crate::error::IntoPyResult;
use crate::tensor::{wrap, PyTensor};
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyEllipsis, PyFloat, PyInt, PyList, PyNone, PySlice, PyTuple};
use rtorch_core::ops::binary::Rhs;
use rtorch_core::ops::index::{self as ix, IndexItem};
use rtorch_core::{DType, Tensor};

fn invalid(obj: &Bound<'_, PyAny>) -> PyErr {
    let name = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    PyIndexError::new_err(format!(
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices (got {name})"
    ))
}

/// A slice bound: None, an int, or anything with `__index__`.
fn bound(obj: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    if obj.is_none() {
        return Ok(None);
    }
    if let Ok(i) = obj.extract::<i64>() {
        return Ok(Some(i));
    }
    Ok(Some(obj.call_method0("__index__")?.extract::<i64>()?))
}

/// An index tensor from a list or numpy array (empty lists give int64).
fn seq_index(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let t = tensor_from_data(obj, None)?;
    if t.numel() == 0 && t.dtype().is_floating_point() {
        return rtorch_core::ops::copy::to_dtype(&t, DType::I64).py();
    }
    if t.dtype().is_floating_point() {
        return Err(PyIndexError::new_err(
            "tensors used as indices must be long, int, byte or bool tensors",
        ));
    }
    Ok(t)
}

fn item(obj: &Bound<'_, PyAny>) -> PyResult<IndexItem> {
    if obj.is_instance_of::<PyBool>() {
        return Ok(IndexItem::Bool(obj.extract::<bool>()?));
    }
    if obj.is_instance_of::<PyInt>() {
        return Ok(IndexItem::Int(obj.extract::<i64>()?));
    }
    if let Ok(t) = obj.cast::<PyTensor>() {
        return Ok(IndexItem::Tensor(t.borrow().inner.clone()));
    }
    if let Ok(sl) = obj.cast::<PySlice>() {
        let step = bound(&sl.getattr("step")?)?.unwrap_or(1);
        if step == 0 {
            return Err(PyValueError::new_err("slice step cannot be zero"));
        }
        return Ok(IndexItem::Slice {
            start: bound(&sl.getattr("start")?)?,
            stop: bound(&sl.getattr("stop")?)?,
            step,
        });
    }
    if obj.is_instance_of::<PyNone>() {
        return Ok(IndexItem::None);
    }
    if obj.is_instance_of::<PyEllipsis>() {
        return Ok(IndexItem::Ellipsis);
    }
    if obj.is_instance_of::<PyFloat>() {
        return Err(invalid(obj));
    }
    if obj.is_instance_of::<PyList>()
        || obj.is_instance_of::<PyTuple>()
        || obj.is_instance_of::<pyo3::types::PyRange>()
        || crate::numpy_interop::is_ndarray(obj)
    {
        return Ok(IndexItem::Tensor(seq_index(obj)?));
    }
    // numpy scalars and other objects with __index__.
    if let Some(s) = scalar_arg(obj) {
        return match s {
            rtorch_core::Scalar::Bool(b) => Ok(IndexItem::Bool(b)),
            rtorch_core::Scalar::Int(i) => Ok(IndexItem::Int(i)),
            rtorch_core::Scalar::Float(_) => Err(invalid(obj)),
        };
    }
    if obj.hasattr("__index__")? {
        return Ok(IndexItem::Int(obj.call_method0("__index__")?.extract()?));
    }
    Err(invalid(obj))
}

/// Whether a list key is read as a tuple of indices, as PyTorch (and old NumPy) does:
/// a list shorter than 32 holding a tensor, a sequence, a slice, `...` or `None`
/// (`x[[[0, 1], [2, 2]]]` is `x[[0, 1], [2, 2]]`; `x[[0, 1]]` stays one index).
fn list_as_tuple(list: &Bound<'_, PyList>) -> bool {
    list.len() < 32
        && list.iter().any(|o| {
            o.is_instance_of::<PyTensor>()
                || o.is_instance_of::<PyList>()
                || o.is_instance_of::<PyTuple>()
                || o.is_instance_of::<PySlice>()
                || o.is_instance_of::<PyEllipsis>()
                || o.is_none()
                || crate::numpy_interop::is_ndarray(&o)
        })
}

/// The whole key: a tuple is several items (so is a list that `list_as_tuple`
/// accepts); anything else is one.
pub fn parse_key(key: &Bound<'_, PyAny>) -> PyResult<Vec<IndexItem>> {
    if let Ok(t) = key.cast::<PyTuple>() {
        return t.iter().map(|k| item(&k)).collect();
    }
    if let Ok(l) = key.cast::<PyList>() {
        if list_as_tuple(l) {
            let py = key.py();
            PyErr::warn(
                py,
                &py.get_type::<pyo3::exceptions::PyUserWarning>(),
                c"Using a non-tuple sequence for multidimensional indexing is deprecated and will be changed in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this will be interpreted as tensor index, x[torch.tensor(seq)], which will result either in an error or a different result",
                1,
            )?;
            return l.iter().map(|k| item(&k)).collect();
        }
    }
    Ok(vec![item(key)?])
}

/// The assigned value: a tensor, a number, or data convertible to `dtype`.
fn value_arg(obj: &Bound<'_, PyAny>, dtype: DType) -> PyResult<Rhs> {
    if let Ok(t) = obj.cast::<PyTensor>() {
        return Ok(Rhs::Tensor(t.borrow().inner.clone()));
    }
    if let Some(s) = scalar_arg(obj) {
        return Ok(Rhs::Scalar(s));
    }
    Ok(Rhs::Tensor(tensor_from_data(obj, Some(dtype))?))
}

#[pymethods]
impl PyTensor {
    fn __getitem__(&self, key: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        // Fast paths: x[i] and x[a:b] without building a key vector.
        if key.is_exact_instance_of::<PyInt>() {
            let i: i64 = key.extract()?;
            return wrap(ix::getitem(&self.inner, &[IndexItem::Int(i)]));
        }
        let items = parse_key(key)?;
        wrap(ix::getitem(&self.inner, &items))
    }

    fn __setitem__(&self, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let items = parse_key(key)?;
        let v = value_arg(value, self.inner.dtype())?;
        ix::setitem(&self.inner, &items, &v).py()
    }
}
