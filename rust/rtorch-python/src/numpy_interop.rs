//! Zero-copy exchange with numpy through the array interface protocol, so the numpy
//! crate (and numpy itself) is not a build or run-time requirement.

use crate::error::IntoPyResult;
use crate::tensor::PyTensor;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use rtorch_core::layout::Layout;
use rtorch_core::storage::{CpuBuffer, Storage};
use rtorch_core::{DType, Device, Tensor};
use rtorch_macros::module_fn;

fn typestr(d: DType) -> PyResult<&'static str> {
    Ok(match d {
        DType::Bool => "|b1",
        DType::U8 => "|u1",
        DType::I8 => "|i1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::F16 => "<f2",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::BF16 => return Err(PyTypeError::new_err("Got unsupported ScalarType BFloat16")),
    })
}

fn dtype_of_typestr(s: &str) -> PyResult<DType> {
    let native = s.starts_with('<') || s.starts_with('|') || s.starts_with('=');
    if !native {
        return Err(PyValueError::new_err(
            "given numpy array has byte order different from the native byte order. Conversion between byte orders is currently not supported.",
        ));
    }
    Ok(match &s[1..] {
        "b1" => DType::Bool,
        "u1" => DType::U8,
        "i1" => DType::I8,
        "i2" => DType::I16,
        "i4" => DType::I32,
        "i8" => DType::I64,
        "f2" => DType::F16,
        "f4" => DType::F32,
        "f8" => DType::F64,
        other => {
            return Err(PyTypeError::new_err(format!(
                "can't convert np.ndarray of type {other}. The only supported types are: float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
            )))
        }
    })
}

/// Keeps a tensor alive for as long as a numpy array viewing its memory exists.
#[pyclass(module = "rtorch._C", frozen)]
pub struct ArrayOwner {
    tensor: Tensor,
}

#[pymethods]
impl ArrayOwner {
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let t = &self.tensor;
        let d = PyDict::new(py);
        let size = t.dtype().size();
        d.set_item("shape", PyTuple::new(py, t.shape().iter())?)?;
        let strides: Vec<usize> = t.strides().iter().map(|s| s * size).collect();
        d.set_item("strides", PyTuple::new(py, strides)?)?;
        d.set_item("typestr", typestr(t.dtype())?)?;
        let ptr = rtorch_core::dispatch_all!(t.dtype(), T => t.data_ptr::<T>().py()? as usize);
        d.set_item("data", (ptr, false))?;
        d.set_item("version", 3)?;
        Ok(d)
    }
}

/// `tensor.numpy()`: an array sharing the tensor's memory.
pub fn to_numpy<'py>(py: Python<'py>, t: &Tensor, force: bool) -> PyResult<Bound<'py, PyAny>> {
    if t.requires_grad() && !force {
        return Err(PyRuntimeError::new_err(
            "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.",
        ));
    }
    if t.device() != Device::Cpu {
        return Err(PyTypeError::new_err(format!(
            "can't convert {} device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory first.",
            t.device()
        )));
    }
    typestr(t.dtype())?;
    let np = py.import("numpy")?;
    let owner = Bound::new(py, ArrayOwner { tensor: t.detach() })?;
    np.call_method1("asarray", (owner,))
}

/// `from_numpy(array)`: a tensor sharing the array's memory (the array stays alive).
pub fn from_numpy(arr: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let iface = arr.getattr("__array_interface__")?;
    let iface = iface.cast::<PyDict>()?;
    let get = |k: &str| -> PyResult<Bound<'_, PyAny>> {
        iface
            .get_item(k)?
            .ok_or_else(|| PyValueError::new_err(format!("array interface lacks '{k}'")))
    };
    let dtype = dtype_of_typestr(&get("typestr")?.extract::<String>()?)?;
    let shape: Vec<usize> = get("shape")?.extract()?;
    let (ptr, _readonly): (usize, bool) = get("data")?.extract()?;
    let size = dtype.size();
    let strides: Vec<usize> = match iface.get_item("strides")? {
        Some(s) if !s.is_none() => {
            let raw: Vec<isize> = s.extract()?;
            let mut out = Vec::with_capacity(raw.len());
            for b in raw {
                if b < 0 {
                    return Err(PyValueError::new_err(
                        "At least one stride in the given numpy array is negative, and tensors with negative strides are not currently supported. (You can probably work around this by making a copy of your array  with array.copy().) ",
                    ));
                }
                if !(b as usize).is_multiple_of(size) {
                    return Err(PyValueError::new_err(
                        "given numpy array strides not a multiple of the element byte size. Copy the numpy array to reallocate the memory.",
                    ));
                }
                out.push(b as usize / size);
            }
            out
        }
        _ => rtorch_core::layout::contiguous_strides(&shape).to_vec(),
    };
    let layout = Layout {
        shape: shape.iter().copied().collect(),
        strides: strides.iter().copied().collect(),
        offset: 0,
    };
    let nbytes = layout.storage_extent() * size;
    let owner: Py<PyAny> = arr.clone().unbind();
    // SAFETY: the array interface promises `ptr` addresses the array's data, valid for
    // the extent its shape and strides reach, for as long as the array lives; we keep
    // a reference to the array in the buffer's owner.
    let buffer = unsafe { CpuBuffer::from_external(ptr as *mut u8, nbytes, Box::new(owner)) };
    let t = Tensor::from_parts(Storage::cpu(buffer), layout, dtype);
    Ok(t)
}

#[module_fn]
#[pyo3(name = "from_numpy")]
pub fn from_numpy_py(arr: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    if !crate::convert::is_ndarray(arr) {
        return Err(PyTypeError::new_err(format!(
            "expected np.ndarray (got {})",
            arr.get_type().name()?
        )));
    }
    let writeable: bool = arr.getattr("flags")?.getattr("writeable")?.extract()?;
    if !writeable {
        crate::storage::warn_numpy_not_writable(arr.py())?;
    }
    Ok(PyTensor::from(from_numpy(arr)?))
}
