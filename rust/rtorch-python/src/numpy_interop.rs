//! Zero-copy exchange with numpy through rust-numpy (the `numpy` crate): it reads an
//! array's dtype, shape, strides, data pointer and flags from numpy's own structs and
//! makes arrays over a tensor's memory with the tensor's owner as their base object.
//!
//! numpy stays optional: nothing here runs until a numpy array or `Tensor.numpy()` is
//! met, and `is_ndarray` asks numpy's C API only once numpy has been imported.

use crate::error::IntoPyResult;
use crate::tensor::PyTensor;
use numpy::ndarray::{ArrayView, IxDyn, ShapeBuilder};
use numpy::{Element, PyArrayDescrMethods, PyArrayDyn, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PyTuple};
use rtorch_core::layout::Layout;
use rtorch_core::storage::{CpuBuffer, Storage};
use rtorch_core::{DType, Device, Tensor};
use rtorch_macros::module_fn;

/// Set once numpy's core module has been imported.
static READY: PyOnceLock<()> = PyOnceLock::new();

/// Imports numpy and its core module (where rust-numpy finds numpy's C API) once;
/// false when they cannot be imported. rust-numpy panics where numpy is missing, so
/// every use of its API waits for this.
fn numpy_ready(py: Python<'_>) -> bool {
    if READY.get(py).is_some() {
        return true;
    }
    let ready = py.import("numpy").is_ok()
        && (py.import("numpy._core.multiarray").is_ok()
            || py.import("numpy.core.multiarray").is_ok());
    if ready {
        let _ = READY.set(py, ());
    }
    ready
}

/// Whether the program has imported numpy (without importing it: before that, no
/// object can be a numpy array).
fn numpy_imported(py: Python<'_>) -> bool {
    if READY.get(py).is_some() {
        return true;
    }
    let in_modules = py
        .import("sys")
        .and_then(|sys| sys.getattr("modules"))
        .and_then(|m| m.get_item("numpy"))
        .is_ok_and(|m| m.is_instance_of::<pyo3::types::PyModule>());
    in_modules && numpy_ready(py)
}

/// Whether `obj` is a numpy array (or an instance of a subclass: `np.memmap`, …).
pub fn is_ndarray(obj: &Bound<'_, PyAny>) -> bool {
    // The common arguments first, so they never look numpy up.
    if obj.is_instance_of::<PyFloat>()
        || obj.is_instance_of::<PyInt>()
        || obj.is_instance_of::<PyBool>()
        || obj.is_instance_of::<PyList>()
        || obj.is_instance_of::<PyTuple>()
        || obj.is_instance_of::<PyTensor>()
    {
        return false;
    }
    numpy_imported(obj.py()) && obj.is_instance_of::<PyUntypedArray>()
}

/// The tensor dtype of a numpy dtype, with PyTorch's errors for the others.
fn dtype_of(descr: &Bound<'_, numpy::PyArrayDescr>) -> PyResult<DType> {
    if descr.is_native_byteorder() == Some(false) {
        return Err(PyValueError::new_err(
            "given numpy array has byte order different from the native byte order. Conversion between byte orders is currently not supported.",
        ));
    }
    let dtype = match (descr.kind(), descr.itemsize()) {
        (b'b', 1) => Some(DType::Bool),
        (b'u', 1) => Some(DType::U8),
        (b'i', 1) => Some(DType::I8),
        (b'i', 2) => Some(DType::I16),
        (b'i', 4) => Some(DType::I32),
        (b'i', 8) => Some(DType::I64),
        (b'f', 2) => Some(DType::F16),
        (b'f', 4) => Some(DType::F32),
        (b'f', 8) => Some(DType::F64),
        _ => None,
    };
    dtype.ok_or_else(|| {
        let name = descr
            .typeobj()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into());
        PyTypeError::new_err(format!(
            "can't convert np.ndarray of type numpy.{name}. The only supported types are: float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
        ))
    })
}

/// Keeps a tensor alive for as long as a numpy array viewing its memory exists (the
/// array's base object).
#[pyclass(module = "rtorch._C", frozen)]
pub struct ArrayOwner {
    /// Never read: holding it keeps the storage alive.
    _tensor: Tensor,
}

/// An array of element type `T` over `t`'s memory, owned by `owner`.
///
/// # Safety
/// `t` is a CPU tensor of element type `T`; `owner` keeps its storage alive.
unsafe fn borrow_tensor<'py, T: Element + rtorch_core::element::Element>(
    t: &Tensor,
    owner: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let ptr = t.data_ptr::<T>().py()?;
    let shape = IxDyn(t.shape());
    let strides = IxDyn(t.strides());
    // SAFETY: the tensor's layout addresses elements of its storage from `ptr`; an
    // `ArrayView` may alias (stride 0), and the array only reads the layout from it.
    let view = unsafe { ArrayView::from_shape_ptr(shape.strides(strides), ptr as *const T) };
    // SAFETY: `owner` holds the tensor, whose storage never reallocates.
    Ok(unsafe { PyArrayDyn::<T>::borrow_from_array(&view, owner) }.into_any())
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
    if t.dtype() == DType::BF16 {
        return Err(PyTypeError::new_err("Got unsupported ScalarType BFloat16"));
    }
    if !numpy_ready(py) {
        return Err(PyRuntimeError::new_err("Numpy is not available"));
    }
    let owner = Bound::new(
        py,
        ArrayOwner {
            _tensor: t.detach(),
        },
    )?
    .into_any();
    // SAFETY (each arm): the dtype names the element type; `owner` holds the tensor.
    unsafe {
        match t.dtype() {
            DType::Bool => borrow_tensor::<bool>(t, owner),
            DType::U8 => borrow_tensor::<u8>(t, owner),
            DType::I8 => borrow_tensor::<i8>(t, owner),
            DType::I16 => borrow_tensor::<i16>(t, owner),
            DType::I32 => borrow_tensor::<i32>(t, owner),
            DType::I64 => borrow_tensor::<i64>(t, owner),
            DType::F16 => borrow_tensor::<half::f16>(t, owner),
            DType::F32 => borrow_tensor::<f32>(t, owner),
            DType::F64 => borrow_tensor::<f64>(t, owner),
            DType::BF16 => Err(PyTypeError::new_err("Got unsupported ScalarType BFloat16")),
        }
    }
}

/// `from_numpy(array)`: a tensor sharing the array's memory (the array stays alive).
/// The caller has checked `is_ndarray(arr)`.
pub fn from_numpy(arr: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let arr = arr.cast::<PyUntypedArray>()?;
    let dtype = dtype_of(&arr.dtype())?;
    let size = dtype.size();
    let mut strides = Vec::with_capacity(arr.ndim());
    for &b in arr.strides() {
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
        strides.push(b as usize / size);
    }
    let layout = Layout {
        shape: arr.shape().iter().copied().collect(),
        strides: strides.into_iter().collect(),
        offset: 0,
    };
    let nbytes = layout.storage_extent() * size;
    // SAFETY: `as_array_ptr` is the live array object this bound reference holds.
    let ptr = unsafe { (*arr.as_array_ptr()).fields.data } as *mut u8;
    let owner: Py<PyAny> = arr.clone().into_any().unbind();
    // SAFETY: numpy's array struct addresses the array's data, valid for the extent its
    // shape and strides reach, for as long as the array lives; the buffer's owner keeps
    // a reference to the array.
    let buffer = unsafe { CpuBuffer::from_external(ptr, nbytes, Box::new(owner)) };
    Ok(Tensor::from_parts(Storage::cpu(buffer), layout, dtype))
}

/// Whether numpy marks the array read-only.
fn is_writeable(arr: &Bound<'_, PyAny>) -> PyResult<bool> {
    let arr = arr.cast::<PyUntypedArray>()?;
    // SAFETY: as in `from_numpy`.
    let flags = unsafe { (*arr.as_array_ptr()).fields.flags };
    Ok(flags & numpy::npyffi::NPY_ARRAY_WRITEABLE != 0)
}

#[module_fn]
#[pyo3(name = "from_numpy")]
pub fn from_numpy_py(arr: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    if !is_ndarray(arr) {
        return Err(PyTypeError::new_err(format!(
            "expected np.ndarray (got {})",
            arr.get_type().name()?
        )));
    }
    if !is_writeable(arr)? {
        crate::storage::warn_numpy_not_writable(arr.py())?;
    }
    Ok(PyTensor::from(from_numpy(arr)?))
}
