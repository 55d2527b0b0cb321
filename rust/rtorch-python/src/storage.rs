//! Storage-level API: `rtorch.UntypedStorage`, `Tensor.untyped_storage()`,
//! `as_strided`, `set_`, `share_memory_`, and `rtorch.frombuffer` (a tensor over any
//! buffer-protocol object, without copying).

use crate::convert::{dtype_arg, int_list};
use crate::creation::finish;
use crate::dtype::PyDevice;
use crate::error::IntoPyResult;
use crate::tensor::{wrap, PyTensor};
use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyRuntimeError, PyUserWarning, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use rtorch_core::layout::{contiguous_strides, Layout};
use rtorch_core::ops::shape as s;
use rtorch_core::storage::{CpuBuffer, Storage};
use rtorch_core::Tensor;
use rtorch_macros::module_fn;
use std::ffi::{c_int, CStr};
use std::sync::atomic::{AtomicBool, Ordering};

/// `rtorch.UntypedStorage`: the bytes under a tensor and all its views.
#[pyclass(name = "UntypedStorage", module = "rtorch", frozen)]
pub struct PyUntypedStorage {
    pub storage: Storage,
}

#[pymethods]
impl PyUntypedStorage {
    fn nbytes(&self) -> usize {
        self.storage.nbytes()
    }

    fn size(&self) -> usize {
        self.storage.nbytes()
    }

    fn __len__(&self) -> usize {
        self.storage.nbytes()
    }

    fn element_size(&self) -> usize {
        1
    }

    fn data_ptr(&self) -> PyResult<usize> {
        Ok(self.storage.cpu_ptr().py()? as usize)
    }

    #[getter]
    fn device(&self) -> PyDevice {
        PyDevice::from(self.storage.device())
    }

    /// Identity of the storage: equal for all tensors sharing it (as `Tensor._storage_id`).
    #[getter]
    fn _cdata(&self) -> usize {
        self.storage.id()
    }

    fn _storage_id(&self) -> usize {
        self.storage.id()
    }

    fn is_shared(&self) -> bool {
        self.storage.is_shared()
    }

    fn share_memory_(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().storage.share_memory().py()?;
        Ok(slf)
    }

    /// The file descriptor of a shared storage's memory file (None when not shared).
    /// It stays owned by the storage: `os.dup` it (or pass it with `multiprocessing`'s
    /// fd passing) to keep it past the storage's lifetime; the receiver maps it with
    /// `mmap.mmap(fd, nbytes)` and builds a tensor with `rtorch.frombuffer`.
    fn _shared_fd(&self) -> Option<i32> {
        self.storage.shared_fd()
    }

    fn __repr__(&self) -> String {
        format!(
            "rtorch.UntypedStorage(nbytes={}, device={})",
            self.storage.nbytes(),
            self.storage.device()
        )
    }

    /// The buffer protocol: the whole storage as writable unsigned bytes (`bytes(s)`,
    /// `memoryview(s)`), zero-copy; the view keeps the storage alive.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let storage = &slf.get().storage;
        let ptr = storage.cpu_ptr().py()?;
        let len = storage.nbytes() as ffi::Py_ssize_t;
        // SAFETY: `view` is the caller's buffer struct; PyBuffer_FillInfo stores a new
        // reference to `slf` in it, which keeps the storage (and so `ptr`) alive until
        // the buffer is released.
        let rc =
            unsafe { ffi::PyBuffer_FillInfo(view, slf.as_ptr(), ptr as *mut _, len, 0, flags) };
        if rc != 0 {
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }
}

/// Warns once per process, as PyTorch's TORCH_WARN_ONCE.
fn warn_once(py: Python<'_>, flag: &AtomicBool, msg: &CStr) -> PyResult<()> {
    if flag.swap(true, Ordering::Relaxed) {
        return Ok(());
    }
    PyErr::warn(py, &py.get_type::<PyUserWarning>(), msg, 1)
}

static NUMPY_NOT_WRITABLE: AtomicBool = AtomicBool::new(false);
static BUFFER_NOT_WRITABLE: AtomicBool = AtomicBool::new(false);

/// `from_numpy` of a read-only array: PyTorch's warning (once per process).
pub fn warn_numpy_not_writable(py: Python<'_>) -> PyResult<()> {
    warn_once(
        py,
        &NUMPY_NOT_WRITABLE,
        c"The given NumPy array is not writable, and PyTorch does not support non-writable tensors. This means writing to this tensor will result in undefined behavior. You may want to copy the array to protect its data or make it writable before converting it to a tensor. This type of warning will be suppressed for the rest of this program.",
    )
}

/// `rtorch.frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False)`.
#[module_fn]
#[pyo3(signature = (buffer, *, dtype, count=-1, offset=0, requires_grad=false))]
fn frombuffer(
    py: Python<'_>,
    buffer: &Bound<'_, PyAny>,
    dtype: &Bound<'_, PyAny>,
    count: i64,
    offset: i64,
    requires_grad: bool,
) -> PyResult<PyTensor> {
    let dtype = dtype_arg(Some(dtype))?.unwrap_or_else(rtorch_core::get_default_dtype);
    let Ok(view) = PyUntypedBuffer::get(buffer) else {
        return Err(PyValueError::new_err(
            "object does not implement Python buffer protocol.",
        ));
    };
    if !view.is_c_contiguous() {
        return Err(PyValueError::new_err(
            "frombuffer: the buffer must be C-contiguous",
        ));
    }
    let len = view.len_bytes() as i64;
    let itemsize = dtype.size() as i64;
    if len == 0 || count == 0 {
        return Err(PyValueError::new_err(format!(
            "both buffer length ({len}) and count ({count}) must not be 0"
        )));
    }
    if offset < 0 || offset >= len {
        return Err(PyValueError::new_err(format!(
            "offset ({offset} bytes) must be non-negative and no greater than buffer length ({len} bytes) minus 1"
        )));
    }
    let count = if count < 0 {
        if (len - offset) % itemsize != 0 {
            return Err(PyValueError::new_err(format!(
                "buffer length ({} bytes) after offset ({offset} bytes) must be a multiple of element size ({itemsize})",
                len - offset
            )));
        }
        (len - offset) / itemsize
    } else {
        let wanted = count.checked_mul(itemsize).filter(|&w| w <= len - offset);
        if wanted.is_none() {
            return Err(PyValueError::new_err(format!(
                "requested buffer length ({count} * {itemsize} bytes) after offset ({offset} bytes) must not be greater than actual buffer length ({len} bytes)"
            )));
        }
        count
    };
    if view.readonly() {
        warn_once(
            py,
            &BUFFER_NOT_WRITABLE,
            c"The given buffer is not writable, and PyTorch does not support non-writable tensors. This means you can write to the underlying (supposedly non-writable) buffer using the tensor. You may want to copy the buffer to protect its data or make it writable before converting it to a tensor. This type of warning will be suppressed for the rest of this program.",
        )?;
    }
    let n = count as usize;
    let ptr = (view.buf_ptr() as *mut u8).wrapping_add(offset as usize);
    if !(ptr as usize).is_multiple_of(dtype.size()) {
        // The kernels read whole elements through typed pointers, which must be
        // aligned: a misaligned view is copied instead of shared.
        let t = Tensor::empty(&[n], dtype, rtorch_core::Device::Cpu).py()?;
        // SAFETY: `n * itemsize` bytes from `ptr` lie inside the buffer (checked
        // above); `t` is a fresh buffer of exactly that many bytes.
        unsafe {
            let dst = t.storage().cpu_ptr().py()?;
            std::ptr::copy_nonoverlapping(ptr, dst, n * dtype.size());
        }
        return finish(t, requires_grad);
    }
    // SAFETY: the exported buffer stays valid (and the object alive) until `view` is
    // released, which happens when the storage's owner drops it.
    let buffer = unsafe { CpuBuffer::from_external(ptr, n * dtype.size(), Box::new(view)) };
    let t = Tensor::from_parts(Storage::cpu(buffer), Layout::contiguous(&[n]), dtype);
    finish(t, requires_grad)
}

/// Sizes/strides/offsets given as Python ints: PyTorch's errors for negative values.
fn as_strided_args(
    size: &Bound<'_, PyAny>,
    stride: &Bound<'_, PyAny>,
    storage_offset: Option<i64>,
) -> PyResult<(Vec<usize>, Vec<usize>, Option<usize>)> {
    let size = int_list(size)?;
    let stride = int_list(stride)?;
    if let Some(o) = storage_offset.filter(|&o| o < 0) {
        return Err(PyRuntimeError::new_err(format!(
            "Tensor: invalid storage offset {o}"
        )));
    }
    if stride.iter().any(|&s| s < 0) {
        return Err(PyRuntimeError::new_err(format!(
            "as_strided: Negative strides are not supported at the moment, got strides: {stride:?}"
        )));
    }
    if size.iter().any(|&d| d < 0) {
        return Err(PyRuntimeError::new_err(format!(
            "Storage size calculation overflowed with sizes={size:?} and strides={stride:?}"
        )));
    }
    Ok((
        size.iter().map(|&d| d as usize).collect(),
        stride.iter().map(|&d| d as usize).collect(),
        storage_offset.map(|o| o as usize),
    ))
}

#[module_fn]
#[pyo3(name = "as_strided", signature = (input, size, stride, storage_offset=None))]
fn as_strided_fn(
    input: PyRef<'_, PyTensor>,
    size: &Bound<'_, PyAny>,
    stride: &Bound<'_, PyAny>,
    storage_offset: Option<i64>,
) -> PyResult<PyTensor> {
    let (size, stride, off) = as_strided_args(size, stride, storage_offset)?;
    wrap(s::as_strided(&input.inner, &size, &stride, off))
}

#[pymethods]
impl PyTensor {
    #[pyo3(name = "as_strided", signature = (size, stride, storage_offset=None))]
    fn as_strided_method(
        &self,
        size: &Bound<'_, PyAny>,
        stride: &Bound<'_, PyAny>,
        storage_offset: Option<i64>,
    ) -> PyResult<PyTensor> {
        let (size, stride, off) = as_strided_args(size, stride, storage_offset)?;
        wrap(s::as_strided(&self.inner, &size, &stride, off))
    }

    fn untyped_storage(&self) -> PyUntypedStorage {
        PyUntypedStorage {
            storage: self.inner.storage().clone(),
        }
    }

    fn is_shared(&self) -> bool {
        self.inner.storage().is_shared()
    }

    /// Moves the storage into shared memory in place (every view sees it).
    fn share_memory_(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.borrow().inner.storage().share_memory().py()?;
        Ok(slf)
    }

    /// `set_(source)`: this tensor takes `source`'s storage, offset, shape and strides
    /// (a Tensor), or views an UntypedStorage (`set_(storage, offset, size, stride)`).
    /// Without arguments: an empty tensor.
    #[pyo3(signature = (source=None, storage_offset=0, size=None, stride=None))]
    fn set_<'py>(
        slf: Bound<'py, Self>,
        source: Option<&Bound<'py, PyAny>>,
        storage_offset: i64,
        size: Option<&Bound<'py, PyAny>>,
        stride: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, Self>> {
        let this = slf.borrow().inner.clone();
        let dtype = this.dtype();
        let (storage, layout, others_need_grad) = match source {
            None => {
                let empty = Tensor::empty(&[0], dtype, this.device()).py()?;
                (empty.storage().clone(), empty.layout().clone(), false)
            }
            Some(src) => {
                if let Ok(t) = src.cast::<PyTensor>() {
                    let t = t.borrow().inner.clone();
                    if t.dtype() != dtype {
                        return Err(PyRuntimeError::new_err(format!(
                            "Could not set tensor of type {} to a tensor of type {}",
                            t.dtype().cpp_type_name(),
                            dtype.cpp_type_name()
                        )));
                    }
                    (t.storage().clone(), t.layout().clone(), t.requires_grad())
                } else {
                    let st = src.cast::<PyUntypedStorage>()?.get().storage.clone();
                    let itemsize = dtype.size();
                    let shape: Vec<usize> = match size {
                        Some(sz) => int_list(sz)?
                            .into_iter()
                            .map(|d| d.max(0) as usize)
                            .collect(),
                        None => vec![st.nbytes() / itemsize],
                    };
                    let strides: Vec<usize> = match stride {
                        Some(sd) => int_list(sd)?
                            .into_iter()
                            .map(|d| d.max(0) as usize)
                            .collect(),
                        None => contiguous_strides(&shape).to_vec(),
                    };
                    let off = usize::try_from(storage_offset).map_err(|_| {
                        PyRuntimeError::new_err(format!(
                            "Tensor: invalid storage offset {storage_offset}"
                        ))
                    })?;
                    // Reuse as_strided's checks against the storage size.
                    let probe = Tensor::from_parts(st.clone(), Layout::contiguous(&[0]), dtype);
                    let view = s::as_strided(&probe, &shape, &strides, Some(off)).py()?;
                    (st, view.layout().clone(), false)
                }
            }
        };
        rtorch_core::autograd::view::check_inplace(&this, others_need_grad).py()?;
        let new = Tensor::from_parts(storage, layout, dtype);
        new.put_meta(this.take_meta());
        slf.borrow_mut().inner = new;
        Ok(slf)
    }
}

/// Bytes of freed CPU buffers kept for reuse (see `block_cache.rs`).
#[module_fn]
fn _cpu_block_cache_bytes() -> usize {
    rtorch_core::block_cache::cached_bytes()
}

/// Returns the cached CPU buffers to the allocator; the bytes they held.
#[module_fn]
fn _empty_cpu_block_cache() -> usize {
    rtorch_core::storage::empty_cpu_block_cache()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyUntypedStorage>()?;
    Ok(())
}
