//! Bindings of reductions.

use crate::convert::{dims_arg, dtype_arg};
use crate::tensor::{wrap, PyTensor};
use pyo3::prelude::*;
use rtorch_core::ops::reduce as r;

#[pymethods]
impl PyTensor {
    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn sum(
        &self,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        let dims = dims_arg(dim)?.unwrap_or_default();
        wrap(r::sum(&self.inner, &dims, keepdim, dtype_arg(dtype)?))
    }
}

#[pyfunction]
#[pyo3(signature = (input, dim=None, keepdim=false, *, dtype=None))]
fn sum(
    input: PyRef<'_, PyTensor>,
    dim: Option<&Bound<'_, PyAny>>,
    keepdim: bool,
    dtype: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    input.sum(dim, keepdim, dtype)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sum, m)?)?;
    Ok(())
}
