//! Bindings of views and shape ops.

use crate::convert::{int_list, shape_args};
use crate::tensor::{wrap, PyTensor};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rtorch_core::ops::shape as s;

#[pymethods]
impl PyTensor {
    #[pyo3(signature = (*shape))]
    fn view(&self, shape: &Bound<'_, PyTuple>) -> PyResult<PyTensor> {
        if shape.len() == 1 {
            let a = shape.get_item(0)?;
            if let Ok(d) = crate::convert::dtype_arg(Some(&a)) {
                if let Some(d) = d {
                    if d != self.inner.dtype() {
                        return Err(pyo3::exceptions::PyRuntimeError::new_err(
                            "view(dtype) with a different element type is not supported by rtorch",
                        ));
                    }
                    return Ok(PyTensor::from(self.inner.clone()));
                }
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

#[pyfunction]
#[pyo3(signature = (input, shape))]
fn reshape(input: PyRef<'_, PyTensor>, shape: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(s::reshape(&input.inner, &int_list(shape)?))
}

#[pyfunction]
fn permute(input: PyRef<'_, PyTensor>, dims: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    wrap(s::permute(&input.inner, &int_list(dims)?))
}

#[pyfunction]
fn transpose(input: PyRef<'_, PyTensor>, dim0: i64, dim1: i64) -> PyResult<PyTensor> {
    wrap(s::transpose(&input.inner, dim0, dim1))
}

#[pyfunction]
fn t(input: PyRef<'_, PyTensor>) -> PyResult<PyTensor> {
    wrap(s::t(&input.inner))
}

#[pyfunction]
fn unsqueeze(input: PyRef<'_, PyTensor>, dim: i64) -> PyResult<PyTensor> {
    wrap(s::unsqueeze(&input.inner, dim))
}

#[pyfunction]
#[pyo3(signature = (input, dim=None))]
fn squeeze(input: PyRef<'_, PyTensor>, dim: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
    match dim {
        None => wrap(s::squeeze(&input.inner, None)),
        Some(d) => wrap(s::squeeze(&input.inner, Some(&int_list(d)?))),
    }
}

#[pyfunction]
#[pyo3(signature = (input, start_dim=0, end_dim=-1))]
fn flatten(input: PyRef<'_, PyTensor>, start_dim: i64, end_dim: i64) -> PyResult<PyTensor> {
    wrap(s::flatten(&input.inner, start_dim, end_dim))
}

#[pyfunction]
fn narrow(input: PyRef<'_, PyTensor>, dim: i64, start: i64, length: i64) -> PyResult<PyTensor> {
    wrap(s::narrow(&input.inner, dim, start, length))
}

#[pyfunction]
fn select(input: PyRef<'_, PyTensor>, dim: i64, index: i64) -> PyResult<PyTensor> {
    wrap(s::select(&input.inner, dim, index))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(reshape, m)?)?;
    m.add_function(wrap_pyfunction!(permute, m)?)?;
    m.add_function(wrap_pyfunction!(transpose, m)?)?;
    m.add_function(wrap_pyfunction!(t, m)?)?;
    m.add_function(wrap_pyfunction!(unsqueeze, m)?)?;
    m.add_function(wrap_pyfunction!(squeeze, m)?)?;
    m.add_function(wrap_pyfunction!(flatten, m)?)?;
    m.add_function(wrap_pyfunction!(narrow, m)?)?;
    m.add_function(wrap_pyfunction!(select, m)?)?;
    Ok(())
}
