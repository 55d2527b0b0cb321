//! Python -> Rust argument conversion shared by all bindings.

use crate::dtype::{PyDType, PyDevice};
use crate::error::IntoPyResult;
use crate::tensor::PyTensor;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PySequence, PyTuple};
use rtorch_core::ops::binary::Rhs;
use rtorch_core::{DType, Device, Scalar, Tensor};
use rtorch_macros::module_fn;
use std::sync::atomic::{AtomicBool, Ordering};

/// A dtype argument: an `rtorch.dtype`, or Python's `float`, `int`, `bool` types.
pub fn dtype_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<DType>> {
    let Some(obj) = obj else { return Ok(None) };
    if obj.is_none() {
        return Ok(None);
    }
    if let Ok(d) = obj.cast::<PyDType>() {
        return Ok(Some(d.get().dtype));
    }
    let py = obj.py();
    if obj.is(py.get_type::<PyFloat>()) {
        return Ok(Some(DType::F64));
    }
    if obj.is(py.get_type::<PyBool>()) {
        return Ok(Some(DType::Bool));
    }
    if obj.is(py.get_type::<PyInt>()) {
        return Ok(Some(DType::I64));
    }
    if let Ok(s) = obj.extract::<String>() {
        return DType::from_name(&s).py().map(Some);
    }
    Err(PyTypeError::new_err(format!(
        "dtype must be rtorch.dtype, not {}",
        obj.get_type().name()?
    )))
}

/// Whether factory functions without a `device=` create on `meta`
/// (`set_default_device("meta")`, `with rtorch.device("meta"):`) instead of the CPU.
static DEFAULT_META: AtomicBool = AtomicBool::new(false);

/// The device factory functions create on when none is given.
pub fn default_device() -> Device {
    if DEFAULT_META.load(Ordering::Relaxed) {
        Device::Meta
    } else {
        Device::Cpu
    }
}

/// Sets the default device to `meta` (true) or the CPU (false).
#[module_fn]
pub fn _set_default_device_meta(meta: bool) {
    DEFAULT_META.store(meta, Ordering::Relaxed);
}

/// A device argument: `rtorch.device`, a string, or a CUDA ordinal; None is the
/// default device.
pub fn device_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Device> {
    let Some(obj) = obj else {
        return Ok(default_device());
    };
    if obj.is_none() {
        return Ok(default_device());
    }
    if let Ok(d) = obj.cast::<PyDevice>() {
        return Ok(d.get().device);
    }
    if let Ok(i) = obj.extract::<usize>() {
        return Ok(Device::Cuda(i));
    }
    let s: String = obj
        .extract()
        .map_err(|_| PyTypeError::new_err("device must be a rtorch.device, a string or an int"))?;
    Device::parse(&s).py()
}

/// A Python number (bool checked before int, as bool is an int subclass); also numpy
/// scalars and one-element tensors are not numbers here.
pub fn scalar_arg(obj: &Bound<'_, PyAny>) -> Option<Scalar> {
    if obj.is_instance_of::<PyBool>() {
        return obj.extract::<bool>().ok().map(Scalar::Bool);
    }
    if obj.is_instance_of::<PyInt>() {
        return obj.extract::<i64>().ok().map(Scalar::Int);
    }
    if obj.is_instance_of::<PyFloat>() {
        return obj.extract::<f64>().ok().map(Scalar::Float);
    }
    numpy_scalar(obj)
}

/// numpy scalars (`np.float32(1.5)`, `np.int64(3)`) by duck typing, so numpy stays
/// optional.
fn numpy_scalar(obj: &Bound<'_, PyAny>) -> Option<Scalar> {
    let ty = obj.get_type();
    let module = ty.module().ok()?;
    if module.to_str().ok()? != "numpy" {
        return None;
    }
    let kind: String = obj
        .getattr("dtype")
        .ok()?
        .getattr("kind")
        .ok()?
        .extract()
        .ok()?;
    let item = obj.call_method0("item").ok()?;
    match kind.as_str() {
        "b" => item.extract::<bool>().ok().map(Scalar::Bool),
        "i" | "u" => item.extract::<i64>().ok().map(Scalar::Int),
        "f" => item.extract::<f64>().ok().map(Scalar::Float),
        _ => None,
    }
}

/// The dtype a numpy scalar carries (numpy scalars keep their dtype in `tensor()`).
pub fn numpy_scalar_dtype(obj: &Bound<'_, PyAny>) -> Option<DType> {
    let ty = obj.get_type();
    if ty.module().ok()?.to_str().ok()? != "numpy"
        || obj.hasattr("shape").ok()? && obj.getattr("ndim").ok()?.extract::<usize>().ok()? > 0
    {
        return None;
    }
    let name: String = obj
        .getattr("dtype")
        .ok()?
        .getattr("name")
        .ok()?
        .extract()
        .ok()?;
    DType::from_name(&name).ok()
}

/// A tensor or a Python number as the other operand of a binary op.
pub fn rhs_arg(obj: &Bound<'_, PyAny>) -> PyResult<Rhs> {
    if let Ok(t) = obj.cast::<PyTensor>() {
        return Ok(Rhs::Tensor(t.borrow().inner.clone()));
    }
    if let Some(s) = scalar_arg(obj) {
        return Ok(Rhs::Scalar(s));
    }
    Err(PyTypeError::new_err(format!(
        "unsupported operand type: expected a Tensor or a number, got {}",
        obj.get_type().name()?
    )))
}

/// Calls `f` with `obj` as the right operand of a binary operator; None when `obj` is
/// neither a tensor nor a number (operators then return NotImplemented so Python can
/// try the reflected method). A tensor is lent without touching its reference count:
/// an increment and a decrement are two atomic read-modify-writes, measurable on
/// `a + b` with a few elements.
pub fn with_rhs<R>(obj: &Bound<'_, PyAny>, f: impl FnOnce(&Rhs) -> R) -> Option<R> {
    if let Ok(t) = obj.cast::<PyTensor>() {
        let t = t.borrow();
        // SAFETY: a bitwise copy of the handle that is never dropped (ManuallyDrop), so
        // it takes no count and gives none back. The count it relies on is `t.inner`'s,
        // and `t` stays borrowed (nothing can replace or free its tensor) until after
        // `f` returns; `f` gets only `&Rhs`, so it may clone the tensor (taking a count
        // of its own) but can neither move the copy out nor drop it.
        let rhs = std::mem::ManuallyDrop::new(Rhs::Tensor(unsafe { std::ptr::read(&t.inner) }));
        return Some(f(&rhs));
    }
    scalar_arg(obj).map(|s| f(&Rhs::Scalar(s)))
}

pub fn tensor_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Tensor> {
    Ok(tensor_ref(obj, what)?.inner.clone())
}

/// `tensor_arg` without the clone: a borrow of the Python tensor.
pub fn tensor_ref<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<PyRef<'py, PyTensor>> {
    match obj.cast::<PyTensor>() {
        Ok(t) => Ok(t.borrow()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "{what} must be Tensor, not {}",
            obj.get_type().name()?
        ))),
    }
}

/// A shape given as varargs (`zeros(2, 3)`) or as one sequence (`zeros((2, 3))`).
pub fn shape_args(args: &Bound<'_, PyTuple>) -> PyResult<Vec<i64>> {
    if args.len() == 1 {
        let first = args.get_item(0)?;
        if !first.is_instance_of::<PyInt>() {
            return int_list(&first);
        }
    }
    int_list(args.as_any())
}

/// A list of ints from any sequence (tuple, list, rtorch.Size, 1-D int tensor).
pub fn int_list(obj: &Bound<'_, PyAny>) -> PyResult<Vec<i64>> {
    // Tuples and lists (shapes as written, `*shape` varargs) first: reading them
    // directly costs no failed extraction.
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t.iter().map(|item| int_item(&item)).collect();
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l.iter().map(|item| int_item(&item)).collect();
    }
    if let Ok(i) = obj.extract::<i64>() {
        if !obj.is_instance_of::<PyFloat>() {
            return Ok(vec![i]);
        }
    }
    if let Ok(t) = obj.cast::<PyTensor>() {
        let t = &t.borrow().inner;
        if t.dtype().is_floating_point() {
            return Err(PyTypeError::new_err(
                "expected a sequence of integers, got a float tensor",
            ));
        }
        return t.to_vec::<i64>().py();
    }
    let seq = obj.cast::<PySequence>().map_err(|_| {
        PyTypeError::new_err(format!(
            "expected a sequence of integers, got {}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let mut out = Vec::with_capacity(seq.len()?);
    for item in seq.try_iter()? {
        out.push(int_item(&item?)?);
    }
    Ok(out)
}

/// One element of a sequence of ints (a float is refused, not truncated).
fn int_item(item: &Bound<'_, PyAny>) -> PyResult<i64> {
    if item.is_instance_of::<PyFloat>() {
        return Err(PyTypeError::new_err(
            "expected a sequence of integers, but got a float",
        ));
    }
    item.extract::<i64>()
        .map_err(|_| PyTypeError::new_err("expected a sequence of integers"))
}

/// Non-negative sizes for creation functions.
pub fn size_arg(args: &Bound<'_, PyTuple>) -> PyResult<Vec<usize>> {
    shape_args(args)?
        .into_iter()
        .map(|d| {
            usize::try_from(d).map_err(|_| {
                pyo3::exceptions::PyRuntimeError::new_err(format!(
                    "Trying to create tensor with negative dimension {d}"
                ))
            })
        })
        .collect()
}

/// Dims for reductions: an int, a sequence of ints, or None (all dims).
pub fn dims_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<i64>>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => int_list(o).map(Some),
    }
}

/// Values read from nested Python data for `tensor()`.
struct Nested {
    shape: Vec<usize>,
    values: Vec<Scalar>,
    /// Highest category seen, and the dtype of numpy scalars / tensors inside.
    inferred: Option<DType>,
}

/// Builds a tensor from nested lists/tuples of numbers, numpy arrays or tensors.
pub fn tensor_from_data(obj: &Bound<'_, PyAny>, dtype: Option<DType>) -> PyResult<Tensor> {
    if let Ok(t) = obj.cast::<PyTensor>() {
        let t = t.borrow().inner.detach();
        let t = rtorch_core::ops::copy::clone_contiguous(&t).py()?;
        return match dtype {
            Some(d) => rtorch_core::ops::copy::to_dtype(&t, d).py(),
            None => Ok(t),
        };
    }
    if crate::numpy_interop::is_ndarray(obj) {
        let t = crate::numpy_interop::from_numpy(obj)?;
        let t = rtorch_core::ops::copy::clone_contiguous(&t).py()?;
        return match dtype {
            Some(d) => rtorch_core::ops::copy::to_dtype(&t, d).py(),
            None => Ok(t),
        };
    }
    let mut n = Nested {
        shape: Vec::new(),
        values: Vec::new(),
        inferred: None,
    };
    walk(obj, 0, &mut n)?;
    let dt = dtype
        .or(n.inferred)
        .unwrap_or_else(rtorch_core::get_default_dtype);
    build(&n.values, &n.shape, dt)
}

fn note(n: &mut Nested, d: DType) {
    n.inferred = Some(match n.inferred {
        None => d,
        Some(prev) => rtorch_core::dtype::promote_types(prev, d),
    });
}

/// Strings are sequences of strings: walking them would never end.
fn reject_text(obj: &Bound<'_, PyAny>) -> PyResult<()> {
    if obj.is_instance_of::<pyo3::types::PyString>() || obj.is_instance_of::<pyo3::types::PyBytes>()
    {
        return Err(PyTypeError::new_err(format!(
            "new(): invalid data type '{}'",
            obj.get_type().name()?
        )));
    }
    Ok(())
}

fn walk(obj: &Bound<'_, PyAny>, depth: usize, n: &mut Nested) -> PyResult<()> {
    reject_text(obj)?;
    if let Some(s) = scalar_arg(obj) {
        if depth != n.shape.len() {
            return Err(PyValueError::new_err(format!(
                "expected sequence of length {} at dim {depth} (got a number)",
                n.shape.get(depth).copied().unwrap_or(0)
            )));
        }
        let d = numpy_scalar_dtype(obj).unwrap_or_else(|| s.default_dtype());
        note(n, d);
        n.values.push(s);
        return Ok(());
    }
    if let Ok(t) = obj.cast::<PyTensor>() {
        let t = &t.borrow().inner;
        if t.dim() == 0 {
            note(n, t.dtype());
            n.values.push(t.item().py()?);
            return Ok(());
        }
        let list = crate::tensor::to_pylist(obj.py(), t)?;
        return walk(list.bind(obj.py()), depth, n);
    }
    if crate::numpy_interop::is_ndarray(obj) {
        let list = obj.call_method0("tolist")?;
        let name: String = obj.getattr("dtype")?.getattr("name")?.extract()?;
        if let Ok(d) = DType::from_name(&name) {
            note(n, d);
        }
        return walk(&list, depth, n);
    }
    let items: Vec<Bound<'_, PyAny>> = if let Ok(l) = obj.cast::<PyList>() {
        l.iter().collect()
    } else if let Ok(t) = obj.cast::<PyTuple>() {
        t.iter().collect()
    } else if let Ok(seq) = obj.cast::<PySequence>() {
        seq.try_iter()?.collect::<PyResult<_>>()?
    } else if obj.is_instance_of::<pyo3::types::PyInt>() {
        // An int past int64 (`scalar_arg` read every other one).
        return Err(PyValueError::new_err("Overflow when unpacking long long"));
    } else {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "Could not infer dtype of {}",
            obj.get_type().name()?
        )));
    };
    if depth == n.shape.len() {
        if !n.values.is_empty() {
            return Err(PyValueError::new_err(format!(
                "expected a number at dim {depth} but got a sequence"
            )));
        }
        n.shape.push(items.len());
    } else if n.shape[depth] != items.len() {
        return Err(PyValueError::new_err(format!(
            "expected sequence of length {} at dim {depth} (got {})",
            n.shape[depth],
            items.len()
        )));
    }
    for item in &items {
        walk(item, depth + 1, n)?;
    }
    Ok(())
}

fn build(values: &[Scalar], shape: &[usize], dtype: DType) -> PyResult<Tensor> {
    if !dtype.is_floating_point() {
        for &s in values {
            dtype.check_number(s, dtype.name()).py()?;
        }
    }
    rtorch_core::dispatch_all!(dtype, T => {
        use rtorch_core::element::Element;
        let v: Vec<T> = values
            .iter()
            .map(|s| match *s {
                Scalar::Float(f) => T::cast_from_f64(f),
                // PyTorch reads a Python int stored into a floating tensor as a double
                // (rounding a huge one twice on the way to float32).
                Scalar::Int(i) if T::DTYPE.is_floating_point() => T::cast_from_f64(i as f64),
                Scalar::Int(i) => T::from_i64(i),
                Scalar::Bool(b) => T::from_i64(b as i64),
            })
            .collect();
        Tensor::from_vec(v, shape).py()
    })
}

/// A `memory_format` argument (an `rtorch.memory_format`; None means
/// `preserve_format`).
pub fn memory_format_arg(
    obj: Option<&Bound<'_, PyAny>>,
) -> PyResult<rtorch_core::ops::creation::MemoryFormat> {
    use rtorch_core::ops::creation::MemoryFormat as F;
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(F::Preserve);
    };
    let name = obj
        .getattr("_name")
        .ok()
        .and_then(|n| n.extract::<String>().ok());
    match name.as_deref() {
        Some("preserve_format") => Ok(F::Preserve),
        Some("contiguous_format") => Ok(F::Contiguous),
        Some("channels_last") => Ok(F::ChannelsLast),
        Some("channels_last_3d") => Ok(F::ChannelsLast3d),
        _ => Err(PyTypeError::new_err(format!(
            "memory_format must be torch.memory_format, not {}",
            obj.get_type().name()?
        ))),
    }
}

/// An optional argument that tells "not passed" from an explicit `None`, where
/// PyTorch's overloads differ on it: `torch.sum(x, out=o)` is a TypeError while
/// `torch.sum(x, None, out=o)` is not, and `prod(dim=None)` is a TypeError.
pub enum Given<'py> {
    Missing,
    Value(Bound<'py, PyAny>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Given<'py> {
    type Error = PyErr;
    fn extract(obj: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(Given::Value(obj.to_owned()))
    }
}

impl<'py> Given<'py> {
    /// The value, with `None` for both a missing argument and an explicit `None`.
    pub fn as_option(&self) -> Option<&Bound<'py, PyAny>> {
        match self {
            Given::Value(v) if !v.is_none() => Some(v),
            _ => None,
        }
    }
    pub fn is_missing(&self) -> bool {
        matches!(self, Given::Missing)
    }
    pub fn is_explicit_none(&self) -> bool {
        matches!(self, Given::Value(v) if v.is_none())
    }
}
