//! The `rtorch.Tensor` class: construction, attributes, conversion to Python data.
//! Ops live in the `ops_*` files as further `#[pymethods]` blocks.

use crate::convert::{device_arg, dtype_arg, memory_format_arg, size_arg, tensor_from_data};
use crate::dtype::{dtype_object, PyDType, PyDevice};
use crate::error::IntoPyResult;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyTuple, PyType};
use rtorch_core::ops::copy;
use rtorch_core::{DType, Device, Scalar, Tensor};
use rtorch_macros::module_fn;

#[pyclass(name = "Tensor", module = "rtorch", subclass, dict, weakref)]
pub struct PyTensor {
    pub inner: Tensor,
}

impl From<Tensor> for PyTensor {
    fn from(inner: Tensor) -> PyTensor {
        PyTensor { inner }
    }
}

/// Whether `to(memory_format=fmt)` returns `t` itself: PyTorch aliases when `fmt` is
/// preserve_format or the format `t`'s strides suggest (channels-last strides of a 4-d
/// or 5-d tensor that is not contiguous, else contiguous_format, even for a transposed
/// matrix).
fn in_format(t: &Tensor, fmt: rtorch_core::ops::creation::MemoryFormat) -> PyResult<bool> {
    use rtorch_core::ops::creation::{format_strides, MemoryFormat};
    let has = |f: MemoryFormat| -> bool {
        format_strides(t.layout(), f).is_ok_and(|want| t.layout().strides == want)
    };
    let suggested = if t.is_contiguous() {
        MemoryFormat::Contiguous
    } else if t.dim() == 4 && has(MemoryFormat::ChannelsLast) {
        MemoryFormat::ChannelsLast
    } else if t.dim() == 5 && has(MemoryFormat::ChannelsLast3d) {
        MemoryFormat::ChannelsLast3d
    } else {
        MemoryFormat::Contiguous
    };
    if !matches!(fmt, MemoryFormat::Preserve | MemoryFormat::Contiguous) {
        // The error for a wrong rank, as PyTorch.
        format_strides(t.layout(), fmt).py()?;
    }
    Ok(fmt == MemoryFormat::Preserve || fmt == suggested)
}

/// Wraps a core result as a Python tensor.
pub fn wrap(t: rtorch_core::Result<Tensor>) -> PyResult<PyTensor> {
    t.py().map(PyTensor::from)
}

static SIZE_TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `rtorch.Size(shape)` (a tuple subclass defined in Python).
pub fn size_object<'py>(py: Python<'py>, shape: &[usize]) -> PyResult<Bound<'py, PyAny>> {
    let ty = SIZE_TYPE.get_or_try_init(py, || -> PyResult<Py<PyType>> {
        Ok(py
            .import("rtorch._size")?
            .getattr("Size")?
            .cast_into::<PyType>()?
            .unbind())
    })?;
    let tp = ty.bind(py).as_type_ptr();
    // What `Size(tuple)` does (CPython's tuple_subtype_new: allocate the subtype with n
    // empty slots, fill them), without building the argument tuple and a second tuple
    // to copy from: a third of `x.shape`'s time.
    // SAFETY: `tp` is the Size type, a tuple subclass, so its tp_alloc makes a tuple
    // object of `n` NULL slots; each slot is filled exactly once with a new reference
    // (a NULL slot, left if PyLong_FromSize_t fails, is allowed in a tuple being
    // released). We hold the GIL.
    unsafe {
        use pyo3::ffi;
        let alloc = (*tp).tp_alloc.unwrap_or(ffi::PyType_GenericAlloc);
        let n = ffi::Py_ssize_t::try_from(shape.len())
            .map_err(|_| PyRuntimeError::new_err("too many dims"))?;
        let obj = Bound::from_owned_ptr_or_err(py, alloc(tp, n))?;
        for (i, &d) in shape.iter().enumerate() {
            let v = ffi::PyLong_FromSize_t(d);
            if v.is_null() {
                return Err(PyErr::fetch(py));
            }
            ffi::PyTuple_SET_ITEM(obj.as_ptr(), i as ffi::Py_ssize_t, v);
        }
        Ok(obj)
    }
}

/// `Size.__getitem__` as a C slot: tuple's own subscript, then a slice's result made a
/// Size again (PyTorch's `shape[1:]` is a Size). As a Python method it made every
/// `x.shape[0]` a Python call (207 ns, PyTorch 86).
unsafe extern "C" fn size_subscript(
    obj: *mut pyo3::ffi::PyObject,
    key: *mut pyo3::ffi::PyObject,
) -> *mut pyo3::ffi::PyObject {
    use pyo3::ffi;
    // SAFETY: CPython calls this slot with the GIL held and live `obj` (a Size, a tuple
    // subclass) and `key`. Tuple's mapping slots are static and always filled; the
    // result of each call is either NULL with an exception set, which is passed on, or
    // a new reference, released once here or handed to the caller.
    unsafe {
        let Some(tuple_subscript) = (*ffi::PyTuple_Type.tp_as_mapping).mp_subscript else {
            // (Never so in CPython; a NULL return must come with an exception.)
            ffi::PyErr_SetString(ffi::PyExc_SystemError, c"tuple has no subscript".as_ptr());
            return std::ptr::null_mut();
        };
        let r = tuple_subscript(obj, key);
        if r.is_null() || ffi::PySlice_Check(key) == 0 {
            return r;
        }
        let size = ffi::PyObject_CallOneArg(ffi::Py_TYPE(obj).cast(), r);
        ffi::Py_DECREF(r);
        size
    }
}

/// Installs [`size_subscript`] on `rtorch.Size` (called once, by `rtorch._size`).
#[module_fn]
fn _install_size_subscript(cls: &Bound<'_, PyType>) -> PyResult<()> {
    use pyo3::ffi;
    let tp = cls.as_type_ptr();
    // SAFETY: `tp` is a live type object; only a heap type subclassing tuple is changed,
    // and a heap type's mapping slots live in its own (writable) PyHeapTypeObject.
    // PyType_Modified drops the lookup caches that may hold the old slot.
    unsafe {
        let heap = ffi::PyType_HasFeature(tp, ffi::Py_TPFLAGS_HEAPTYPE) != 0;
        let tuple = ffi::PyType_IsSubtype(tp, &raw mut ffi::PyTuple_Type) != 0;
        let mapping = (*tp).tp_as_mapping;
        if !heap || !tuple || mapping.is_null() {
            return Err(PyTypeError::new_err("expected a Python subclass of tuple"));
        }
        (*mapping).mp_subscript = Some(size_subscript);
        ffi::PyType_Modified(tp);
    }
    Ok(())
}

fn scalar_to_py(py: Python<'_>, s: Scalar) -> PyResult<Py<PyAny>> {
    Ok(match s {
        Scalar::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Scalar::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
        Scalar::Float(f) => f.into_pyobject(py)?.into_any().unbind(),
    })
}

/// Nested Python lists of the tensor's values (`tolist`).
pub fn to_pylist(py: Python<'_>, t: &Tensor) -> PyResult<Py<PyAny>> {
    let values = t.to_f64_vec().py()?;
    let dtype = t.dtype();
    let make = |v: f64| -> PyResult<Py<PyAny>> {
        let s = match dtype {
            DType::Bool => Scalar::Bool(v != 0.0),
            d if d.is_floating_point() => Scalar::Float(v),
            _ => Scalar::Int(v as i64),
        };
        scalar_to_py(py, s)
    };
    if t.dim() == 0 {
        return make(values[0]);
    }
    // Integers above 2^53 would lose precision through f64: read them exactly.
    let ints: Option<Vec<i64>> = if dtype == DType::I64 {
        Some(t.to_vec::<i64>().py()?)
    } else {
        None
    };
    fn build(
        py: Python<'_>,
        shape: &[usize],
        pos: &mut usize,
        leaf: &dyn Fn(usize) -> PyResult<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        // Items first, then one list of exactly that length (appending grew it step by
        // step).
        let mut items = Vec::with_capacity(shape[0]);
        for _ in 0..shape[0] {
            items.push(match shape.len() {
                1 => {
                    *pos += 1;
                    leaf(*pos - 1)?
                }
                _ => build(py, &shape[1..], pos, leaf)?,
            });
        }
        Ok(PyList::new(py, items)?.into_any().unbind())
    }
    let leaf = |i: usize| -> PyResult<Py<PyAny>> {
        match &ints {
            Some(v) => Ok(v[i].into_pyobject(py)?.into_any().unbind()),
            None => make(values[i]),
        }
    };
    let mut pos = 0;
    build(py, t.shape(), &mut pos, &leaf)
}

impl PyTensor {
    /// The value of a one-element tensor for `float()`/`int()` (ValueError otherwise).
    fn one_element(&self) -> PyResult<Scalar> {
        if self.inner.numel() != 1 {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "only one element tensors can be converted to Python scalars",
            ));
        }
        self.inner.item().py()
    }
}

/// `size(dim)`/`stride(dim)` of a 0-dim tensor: PyTorch's IndexError.
fn no_dims_check(t: &Tensor, dim: Option<i64>) -> PyResult<()> {
    match dim {
        Some(d) if t.dim() == 0 => Err(pyo3::exceptions::PyIndexError::new_err(format!(
            "Dimension specified as {d} but tensor has no dimensions"
        ))),
        _ => Ok(()),
    }
}

/// `t.float()` and friends return `t` itself when the dtype already matches.
fn cast_or_self(slf: Bound<'_, PyTensor>, dtype: DType) -> PyResult<Py<PyAny>> {
    let this = slf.borrow().inner.clone();
    if this.dtype() == dtype {
        return Ok(slf.into_any().unbind());
    }
    Ok(Py::new(slf.py(), wrap(copy::to_dtype(&this, dtype))?)?.into_any())
}

/// `torch.FloatTensor`-style names accepted by `Tensor.type()`.
fn legacy_dtype(name: &str) -> Option<DType> {
    let short = name.strip_prefix("torch.").unwrap_or(name);
    DType::ALL.into_iter().find(|d| d.legacy_name() == short)
}

#[pymethods]
impl PyTensor {
    /// `Tensor(data)` or `Tensor(*sizes)`: float32 (the default dtype), like
    /// `torch.Tensor`.
    #[new]
    #[pyo3(signature = (*args, device=None))]
    fn py_new(args: &Bound<'_, PyTuple>, device: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        let _ = device_arg(device)?;
        let dtype = rtorch_core::get_default_dtype();
        if args.is_empty() {
            return wrap(Tensor::zeros(&[0], dtype));
        }
        let first = args.get_item(0)?;
        if args.len() == 1 && !first.is_instance_of::<pyo3::types::PyInt>() {
            return Ok(PyTensor::from(tensor_from_data(&first, Some(dtype))?));
        }
        let shape = size_arg(args)?;
        wrap(Tensor::zeros(&shape, dtype))
    }

    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        size_object(py, self.inner.shape())
    }

    #[getter]
    fn dtype(&self, py: Python<'_>) -> Py<PyDType> {
        dtype_object(py, self.inner.dtype())
    }

    #[getter]
    fn device(&self) -> PyDevice {
        PyDevice::from(self.inner.device())
    }

    #[getter]
    fn is_cuda(&self) -> bool {
        matches!(self.inner.device(), Device::Cuda(_))
    }

    #[getter]
    fn is_cpu(&self) -> bool {
        self.inner.device() == Device::Cpu
    }

    #[getter]
    fn ndim(&self) -> usize {
        self.inner.dim()
    }

    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn ndimension(&self) -> usize {
        self.inner.dim()
    }

    #[pyo3(signature = (dim=None))]
    fn size<'py>(&self, py: Python<'py>, dim: Option<i64>) -> PyResult<Bound<'py, PyAny>> {
        no_dims_check(&self.inner, dim)?;
        match dim {
            None => size_object(py, self.inner.shape()),
            Some(d) => Ok(self.inner.size(d).py()?.into_pyobject(py)?.into_any()),
        }
    }

    #[pyo3(signature = (dim=None))]
    fn stride<'py>(&self, py: Python<'py>, dim: Option<i64>) -> PyResult<Bound<'py, PyAny>> {
        no_dims_check(&self.inner, dim)?;
        match dim {
            None => Ok(PyTuple::new(py, self.inner.strides().iter())?.into_any()),
            Some(d) => {
                let d = self.inner.layout().dim(d).py()?;
                Ok(self.inner.strides()[d].into_pyobject(py)?.into_any())
            }
        }
    }

    fn storage_offset(&self) -> usize {
        self.inner.offset()
    }

    fn numel(&self) -> usize {
        self.inner.numel()
    }

    fn nelement(&self) -> usize {
        self.inner.numel()
    }

    fn element_size(&self) -> usize {
        self.inner.dtype().size()
    }

    #[getter]
    fn itemsize(&self) -> usize {
        self.inner.dtype().size()
    }

    #[getter]
    fn nbytes(&self) -> usize {
        self.inner.dtype().size() * self.inner.numel()
    }

    #[pyo3(signature = (memory_format=None))]
    fn is_contiguous(&self, memory_format: Option<&Bound<'_, PyAny>>) -> bool {
        let _ = memory_format;
        self.inner.is_contiguous()
    }

    fn is_floating_point(&self) -> bool {
        self.inner.dtype().is_floating_point()
    }

    fn is_complex(&self) -> bool {
        false
    }

    /// The address of the first element; 0 for a tensor without data (meta), as in
    /// PyTorch.
    fn data_ptr(&self) -> usize {
        rtorch_core::dispatch_all!(self.inner.dtype(), T => {
            self.inner.data_ptr::<T>().map_or(0, |p| p as usize)
        })
    }

    /// Identity of the underlying storage (for sharing checks and serialization).
    fn _storage_id(&self) -> usize {
        self.inner.storage().id()
    }

    fn _storage_nbytes(&self) -> usize {
        self.inner.storage().nbytes()
    }

    /// The storage's version counter (bumped by every in-place write), a property as
    /// in PyTorch.
    #[getter]
    fn _version(&self) -> u64 {
        self.inner.storage().version()
    }

    fn item(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        scalar_to_py(py, self.inner.item().py()?)
    }

    fn tolist(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_pylist(py, &self.inner)
    }

    #[pyo3(signature = (*, force=false))]
    fn numpy<'py>(&self, py: Python<'py>, force: bool) -> PyResult<Bound<'py, PyAny>> {
        crate::numpy_interop::to_numpy(py, &self.inner, force)
    }

    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__<'py>(
        &self,
        py: Python<'py>,
        dtype: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = copy;
        let arr = crate::numpy_interop::to_numpy(py, &self.inner, false)?;
        match dtype {
            Some(d) if !d.is_none() => arr.call_method1("astype", (d,)),
            _ => Ok(arr),
        }
    }

    fn __len__(&self) -> PyResult<usize> {
        if self.inner.dim() == 0 {
            return Err(PyTypeError::new_err("len() of a 0-d tensor"));
        }
        Ok(self.inner.shape()[0])
    }

    fn __bool__(&self) -> PyResult<bool> {
        if self.inner.numel() != 1 {
            return Err(PyRuntimeError::new_err(format!(
                "Boolean value of Tensor with {} is ambiguous",
                if self.inner.numel() == 0 {
                    "no values"
                } else {
                    "more than one value"
                }
            )));
        }
        Ok(self.inner.item().py()?.to_bool())
    }

    fn __float__(&self) -> PyResult<f64> {
        Ok(self.one_element()?.to_f64())
    }

    fn __int__(&self) -> PyResult<i64> {
        Ok(self.one_element()?.to_i64())
    }

    fn __index__(&self) -> PyResult<i64> {
        if self.inner.dtype().is_floating_point() || self.inner.numel() != 1 {
            return Err(PyTypeError::new_err(
                "only integer tensors of a single element can be converted to an index",
            ));
        }
        Ok(self.inner.item().py()?.to_i64())
    }

    fn __hash__(slf: &Bound<'_, Self>) -> isize {
        slf.as_ptr() as isize
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        py.import("rtorch._tensor_str")?
            .getattr("tensor_repr")?
            .call1((slf,))?
            .extract()
    }

    fn __format__(slf: &Bound<'_, Self>, spec: &str) -> PyResult<String> {
        let this = slf.borrow();
        if this.inner.dim() == 0 {
            let v = this.item(slf.py())?;
            return v
                .bind(slf.py())
                .call_method1("__format__", (spec,))?
                .extract();
        }
        Self::__repr__(slf)
    }

    // ----- autograd attributes -----

    #[getter]
    fn requires_grad(&self) -> bool {
        self.inner.requires_grad()
    }

    #[setter(requires_grad)]
    fn set_requires_grad_attr(&self, value: bool) -> PyResult<()> {
        if value && !self.inner.dtype().is_floating_point() {
            return Err(PyRuntimeError::new_err(
                "only Tensors of floating point and complex dtype can require gradients",
            ));
        }
        self.inner.set_requires_grad(value).py()
    }

    #[pyo3(signature = (requires_grad=true))]
    fn requires_grad_(slf: Bound<'_, Self>, requires_grad: bool) -> PyResult<Bound<'_, Self>> {
        slf.borrow().inner.set_requires_grad(requires_grad).py()?;
        Ok(slf)
    }

    #[getter]
    fn is_leaf(&self) -> bool {
        self.inner.is_leaf()
    }

    #[getter]
    fn grad(&self, py: Python<'_>) -> PyResult<Option<PyTensor>> {
        let g = self.inner.grad();
        if g.is_none() && !self.inner.is_leaf() && !self.inner.with_meta(|m| m.retains_grad) {
            let warnings = py.import("warnings")?;
            warnings.call_method1(
                "warn",
                ("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be populated during autograd.backward(). If you indeed want the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor.",),
            )?;
        }
        Ok(g.map(PyTensor::from))
    }

    #[setter(grad)]
    fn set_grad_attr(&self, value: Option<PyRef<'_, PyTensor>>) -> PyResult<()> {
        self.inner.set_grad(value.map(|v| v.inner.clone())).py()
    }

    #[getter]
    fn data(&self) -> PyTensor {
        PyTensor::from(self.inner.detach())
    }

    #[setter(data)]
    fn set_data(&mut self, value: PyRef<'_, PyTensor>) -> PyResult<()> {
        // Keep this tensor's autograd identity (requires_grad, grad, hooks); take the
        // other's storage, layout and dtype.
        let new = value.inner.detach();
        let meta = self.inner.take_meta();
        new.put_meta(meta);
        self.inner = new;
        Ok(())
    }

    /// `t.as_subclass(cls)`: a `cls` instance aliasing this tensor and attached to its
    /// graph (AliasBackward0), as PyTorch. The instance comes from `Tensor.__new__(cls)`,
    /// so a subclass's own `__new__` (which may want arguments) is not called.
    fn as_subclass<'py>(&self, cls: &Bound<'py, PyType>) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let base = py.get_type::<PyTensor>();
        if !cls.is_subclass(&base)? {
            return Err(PyTypeError::new_err(
                "Creating a Tensor subclass from a class that does not inherit from Tensor is \
                 not possible. Make sure your class inherits from Tensor.",
            ));
        }
        let alias = rtorch_core::ops::shape::alias(&self.inner).py()?;
        let obj = base.call_method1("__new__", (cls,))?;
        obj.cast::<PyTensor>()?.borrow_mut().inner = alias;
        Ok(obj)
    }

    fn detach(&self) -> PyTensor {
        PyTensor::from(self.inner.detach())
    }

    fn detach_(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.borrow().inner.detach_in_place().py()?;
        Ok(slf)
    }

    /// The tensor this one is a view of, or None.
    #[getter]
    fn _base(&self) -> Option<PyTensor> {
        self.inner.view_base().cloned().map(PyTensor::from)
    }

    fn _is_view(&self) -> bool {
        self.inner.view_info().is_some()
    }

    #[getter]
    fn _cdata(&self) -> usize {
        self.inner.id()
    }

    // ----- conversions -----

    #[pyo3(signature = (*, memory_format=None))]
    fn clone(&self, memory_format: Option<&Bound<'_, PyAny>>) -> PyResult<PyTensor> {
        let fmt = memory_format_arg(memory_format)?;
        wrap(copy::clone_format(&self.inner, fmt))
    }

    #[pyo3(signature = (memory_format=None))]
    fn contiguous(
        slf: Bound<'_, Self>,
        memory_format: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        use rtorch_core::ops::creation::{format_strides, MemoryFormat};
        // Unlike the other ops, `contiguous()` defaults to contiguous_format.
        let given = memory_format.filter(|m| !m.is_none());
        if given.is_none() {
            let this = slf.borrow();
            if this.inner.is_contiguous() {
                return Ok(slf.clone().into_any().unbind());
            }
            return Ok(Py::new(slf.py(), wrap(copy::contiguous(&this.inner))?)?.into_any());
        }
        let fmt = match memory_format_arg(given)? {
            MemoryFormat::Preserve => {
                return Err(PyRuntimeError::new_err(
                    "preserve memory format is unsupported by the contiguous operator",
                ))
            }
            f => f,
        };
        let this = slf.borrow();
        let done = match fmt {
            MemoryFormat::Contiguous => this.inner.is_contiguous(),
            f => {
                let want = format_strides(this.inner.layout(), f).py()?;
                this.inner.layout().strides == want
            }
        };
        if done {
            return Ok(slf.clone().into_any().unbind());
        }
        let out = copy::clone_format(&this.inner, fmt);
        Ok(Py::new(slf.py(), wrap(out)?)?.into_any())
    }

    /// PyTorch's three forms: `to(dtype, non_blocking=False, copy=False)`,
    /// `to(device=None, dtype=None, non_blocking=False, copy=False)` and
    /// `to(other, non_blocking=False, copy=False)`; `memory_format` is keyword-only.
    #[pyo3(signature = (*args, dtype=None, device=None, non_blocking=None, copy=None, memory_format=None))]
    #[allow(clippy::too_many_arguments)]
    fn to(
        slf: Bound<'_, Self>,
        args: &Bound<'_, PyTuple>,
        dtype: Option<&Bound<'_, PyAny>>,
        device: Option<&Bound<'_, PyAny>>,
        non_blocking: Option<bool>,
        copy: Option<bool>,
        memory_format: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let fmt = memory_format_arg(memory_format)?;
        let mut target_dtype = dtype_arg(dtype)?;
        let mut target_device = match device {
            Some(d) if !d.is_none() => Some(device_arg(Some(d))?),
            _ => None,
        };
        let n = args.len();
        if n > 4 {
            return Err(PyTypeError::new_err(format!(
                "to() takes from 0 to 4 positional arguments but {n} were given"
            )));
        }
        let invalid = || -> PyResult<PyErr> {
            let got: Vec<String> = args
                .iter()
                .map(|a| Ok(a.get_type().name()?.to_string()))
                .collect::<PyResult<_>>()?;
            Ok(PyTypeError::new_err(format!(
                "to() received an invalid combination of arguments - got ({}), but expected one of:\n * (torch.device device = None, torch.dtype dtype = None, bool non_blocking = False, bool copy = False, *, torch.memory_format memory_format = None)\n * (torch.dtype dtype, bool non_blocking = False, bool copy = False, *, torch.memory_format memory_format = None)\n * (Tensor tensor, bool non_blocking = False, bool copy = False, *, torch.memory_format memory_format = None)",
                got.join(", ")
            )))
        };
        // Index of the first positional `non_blocking`.
        let mut flags_at = n;
        if n > 0 {
            let a0 = args.get_item(0)?;
            if let Ok(t) = a0.cast::<PyTensor>() {
                target_dtype = Some(t.borrow().inner.dtype());
                target_device = Some(t.borrow().inner.device());
                flags_at = 1;
            } else if let Ok(d) = a0.cast::<PyDType>() {
                target_dtype = Some(d.get().dtype);
                flags_at = 1;
            } else if a0.is_none()
                || a0.cast::<PyDevice>().is_ok()
                || a0.is_instance_of::<pyo3::types::PyString>()
                || (a0.is_instance_of::<pyo3::types::PyInt>()
                    && !a0.is_instance_of::<pyo3::types::PyBool>())
            {
                if !a0.is_none() {
                    target_device = Some(device_arg(Some(&a0))?);
                }
                flags_at = 1;
                if n > 1 {
                    let a1 = args.get_item(1)?;
                    if let Ok(d) = a1.cast::<PyDType>() {
                        target_dtype = Some(d.get().dtype);
                    } else if !a1.is_none() {
                        return Err(invalid()?);
                    }
                    flags_at = 2;
                }
            } else {
                return Err(invalid()?);
            }
        }
        let rest: Vec<Bound<'_, PyAny>> = args.iter().skip(flags_at).collect();
        if rest.len() > 2
            || rest
                .iter()
                .any(|a| !a.is_instance_of::<pyo3::types::PyBool>())
        {
            return Err(invalid()?);
        }
        let copy = match rest.get(1) {
            Some(c) => c.extract::<bool>()?,
            None => copy.unwrap_or(false),
        };
        let _ = non_blocking;
        let this = &slf.borrow().inner;
        if let Some(dev) = target_device {
            if dev != this.device() {
                let d = target_dtype.unwrap_or(this.dtype());
                let moved = to_device(this, dev, d).py()?;
                let out = match fmt {
                    rtorch_core::ops::creation::MemoryFormat::Preserve => Ok(moved),
                    f => copy::clone_format(&moved, f),
                };
                return Ok(Py::new(slf.py(), wrap(out)?)?.into_any());
            }
        }
        let d = target_dtype.unwrap_or(this.dtype());
        if d == this.dtype() && !copy {
            if in_format(this, fmt)? {
                return Ok(slf.clone().into_any().unbind());
            }
            // PyTorch records ToCopyBackward0 for a format change too.
            let out = copy::to_dtype_format(this, d, fmt, true);
            return Ok(Py::new(slf.py(), wrap(out)?)?.into_any());
        }
        let out = copy::to_dtype_format(this, d, fmt, copy);
        Ok(Py::new(slf.py(), wrap(out)?)?.into_any())
    }

    #[pyo3(signature = (dtype=None, non_blocking=false))]
    fn r#type(
        &self,
        py: Python<'_>,
        dtype: Option<&Bound<'_, PyAny>>,
        non_blocking: bool,
    ) -> PyResult<Py<PyAny>> {
        let _ = non_blocking;
        let legacy = dtype
            .and_then(|d| d.extract::<String>().ok())
            .and_then(|name| legacy_dtype(&name));
        let dtype = match legacy {
            Some(d) => Some(d),
            None => dtype_arg(dtype)?,
        };
        match dtype {
            None => Ok(format!("torch.{}", self.inner.dtype().legacy_name())
                .into_pyobject(py)?
                .into_any()
                .unbind()),
            Some(d) => Ok(Py::new(py, wrap(copy::to_dtype(&self.inner, d))?)?.into_any()),
        }
    }

    fn float(slf: Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        cast_or_self(slf, DType::F32)
    }
    fn double(slf: Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        cast_or_self(slf, DType::F64)
    }
    fn half(slf: Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        cast_or_self(slf, DType::F16)
    }
    fn bfloat16(slf: Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        cast_or_self(slf, DType::BF16)
    }
    fn long(slf: Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        cast_or_self(slf, DType::I64)
    }
    fn int(slf: Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        cast_or_self(slf, DType::I32)
    }
    fn short(slf: Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        cast_or_self(slf, DType::I16)
    }
    fn char(slf: Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        cast_or_self(slf, DType::I8)
    }
    fn byte(slf: Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        cast_or_self(slf, DType::U8)
    }
    fn bool(slf: Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        cast_or_self(slf, DType::Bool)
    }

    fn cpu(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        if slf.borrow().inner.device() == Device::Meta {
            return Err(rtorch_core::storage::no_meta_data()).py();
        }
        Ok(slf)
    }

    #[pyo3(signature = (device=None, non_blocking=false))]
    fn cuda(&self, device: Option<&Bound<'_, PyAny>>, non_blocking: bool) -> PyResult<PyTensor> {
        let _ = (device, non_blocking);
        Err(PyRuntimeError::new_err(
            "Torch not compiled with CUDA enabled (rtorch's CUDA backend is not available in this build)",
        ))
    }

    fn copy_<'py>(slf: Bound<'py, Self>, src: PyRef<'_, PyTensor>) -> PyResult<Bound<'py, Self>> {
        copy::copy_(&slf.borrow().inner, &src.inner).py()?;
        Ok(slf)
    }
}

/// `t` moved to another device with dtype `dtype`: onto `meta` it keeps only its
/// shape and dtype; out of `meta` there are no values to move.
fn to_device(t: &Tensor, device: Device, dtype: rtorch_core::DType) -> rtorch_core::Result<Tensor> {
    match (t.device(), device) {
        (_, Device::Meta) => Tensor::empty(t.shape(), dtype, Device::Meta),
        (Device::Meta, _) => Err(rtorch_core::storage::no_meta_data()),
        _ => Err(rtorch_core::Error::Runtime(format!(
            "Cannot move a tensor to {device}: rtorch was built without CUDA support"
        ))),
    }
}
