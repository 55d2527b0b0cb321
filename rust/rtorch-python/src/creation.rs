//! Tensor creation functions: `tensor`, `zeros`, `ones`, `full`, `empty` and `*_like`.

use crate::convert::{device_arg, dtype_arg, scalar_arg, size_arg, tensor_from_data};
use crate::error::IntoPyResult;
use crate::tensor::{wrap, PyTensor};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rtorch_core::{DType, Device, Scalar, Tensor};
use rtorch_macros::module_fn;

/// Applies the common `requires_grad=` keyword.
pub fn finish(t: Tensor, requires_grad: bool) -> PyResult<PyTensor> {
    if requires_grad && !t.dtype().is_floating_point() {
        // PyTorch words the factory-function error differently from requires_grad_().
        return Err(pyo3::exceptions::PyRuntimeError::new_err(
            "Only Tensors of floating point and complex dtype can require gradients",
        ));
    }
    if requires_grad {
        t.set_requires_grad(true).py()?;
    }
    Ok(PyTensor::from(t))
}

/// The device a factory function creates on: the CPU or `meta` (CUDA needs a build
/// with it).
pub fn check_device(device: Option<&Bound<'_, PyAny>>) -> PyResult<Device> {
    let d = device_arg(device)?;
    if !matches!(d, Device::Cpu | Device::Meta) {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "Cannot create a tensor on {d}: rtorch was built without CUDA support"
        )));
    }
    Ok(d)
}

/// A factory's CPU result placed on `device`: on `meta`, a tensor of its shape and
/// dtype without data.
pub fn on_device(t: Tensor, device: Device) -> PyResult<Tensor> {
    if device == Device::Meta && t.device() != Device::Meta {
        return Tensor::empty(t.shape(), t.dtype(), Device::Meta).py();
    }
    Ok(t)
}

/// A freshly filled contiguous tensor (every element the same value) laid out in
/// `memory_format`: `empty(..., memory_format=torch.channels_last)` has NHWC strides, as
/// in PyTorch (the format used to be ignored).
fn in_format(t: Tensor, memory_format: Option<&Bound<'_, PyAny>>) -> PyResult<Tensor> {
    use rtorch_core::ops::creation::{restride_flat, MemoryFormat};
    let given = memory_format.is_some_and(|m| !m.is_none());
    match crate::convert::memory_format_arg(memory_format)? {
        MemoryFormat::Preserve if given => Err(pyo3::exceptions::PyRuntimeError::new_err(
            "unsupported memory format Preserve",
        )),
        MemoryFormat::Preserve | MemoryFormat::Contiguous => Ok(t),
        fmt => restride_flat(&t, t.layout(), fmt).py(),
    }
}

/// `shape` filled with `v` on `device` (no values at all on `meta`).
fn filled(shape: &[usize], v: Scalar, dt: DType, device: Device) -> PyResult<Tensor> {
    match device {
        Device::Meta => Tensor::empty(shape, dt, device),
        _ => Tensor::full(shape, v, dt),
    }
    .py()
}

#[module_fn]
#[pyo3(signature = (data, *, dtype=None, device=None, requires_grad=false, pin_memory=false))]
fn tensor(
    data: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    pin_memory: bool,
) -> PyResult<PyTensor> {
    let _ = pin_memory;
    let dev = check_device(device)?;
    let t = tensor_from_data(data, dtype_arg(dtype)?)?;
    finish(on_device(t, dev)?, requires_grad)
}

#[module_fn]
#[pyo3(signature = (*size, out=None, dtype=None, layout=None, device=None, requires_grad=false, pin_memory=false, memory_format=None))]
#[allow(clippy::too_many_arguments)]
fn zeros(
    py: Python<'_>,
    size: &Bound<'_, PyTuple>,
    out: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    pin_memory: bool,
    memory_format: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let dtype = crate::out::factory_dtype(dtype, out)?;
    let dtype = dtype.as_ref();
    let _ = (layout, pin_memory);
    let dev = check_device(device)?;
    let dt = dtype_arg(dtype)?.unwrap_or_else(rtorch_core::get_default_dtype);
    let t = in_format(
        filled(&size_arg(size)?, Scalar::Int(0), dt, dev)?,
        memory_format,
    )?;
    let made = finish(t, requires_grad);
    crate::out::finish_factory(py, made, out, "zeros")
}

#[module_fn]
#[pyo3(signature = (*size, out=None, dtype=None, layout=None, device=None, requires_grad=false, pin_memory=false, memory_format=None))]
#[allow(clippy::too_many_arguments)]
fn empty(
    py: Python<'_>,
    size: &Bound<'_, PyTuple>,
    out: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    pin_memory: bool,
    memory_format: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    zeros(
        py,
        size,
        out,
        dtype,
        layout,
        device,
        requires_grad,
        pin_memory,
        memory_format,
    )
}

#[module_fn]
#[pyo3(signature = (*size, out=None, dtype=None, layout=None, device=None, requires_grad=false, pin_memory=false, memory_format=None))]
#[allow(clippy::too_many_arguments)]
fn ones(
    py: Python<'_>,
    size: &Bound<'_, PyTuple>,
    out: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    pin_memory: bool,
    memory_format: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let dtype = crate::out::factory_dtype(dtype, out)?;
    let dtype = dtype.as_ref();
    let _ = (layout, pin_memory);
    let dev = check_device(device)?;
    let dt = dtype_arg(dtype)?.unwrap_or_else(rtorch_core::get_default_dtype);
    let t = in_format(
        filled(&size_arg(size)?, Scalar::Int(1), dt, dev)?,
        memory_format,
    )?;
    let made = finish(t, requires_grad);
    crate::out::finish_factory(py, made, out, "ones")
}

fn scalar_fill(v: &Bound<'_, PyAny>) -> PyResult<Scalar> {
    if let Ok(t) = v.cast::<PyTensor>() {
        return t.borrow().inner.item().py();
    }
    scalar_arg(v).ok_or_else(|| PyTypeError::new_err("fill_value must be a number"))
}

#[module_fn]
#[pyo3(signature = (size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=false, pin_memory=false))]
#[allow(clippy::too_many_arguments)]
fn full(
    py: Python<'_>,
    size: &Bound<'_, PyAny>,
    fill_value: &Bound<'_, PyAny>,
    out: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    pin_memory: bool,
) -> PyResult<Py<PyAny>> {
    let dtype = crate::out::factory_dtype(dtype, out)?;
    let dtype = dtype.as_ref();
    let _ = (layout, pin_memory);
    let dev = check_device(device)?;
    let v = scalar_fill(fill_value)?;
    let dt = dtype_arg(dtype)?.unwrap_or_else(|| v.default_dtype());
    dt.check_number(v, dt.fill_type_name()).py()?;
    let shape = size_arg(&PyTuple::new(size.py(), [size])?)?;
    let made = finish(filled(&shape, v, dt, dev)?, requires_grad);
    crate::out::finish_factory(py, made, out, "full")
}

/// dtype and device of a `*_like` call (the input's unless given).
pub fn like_target(
    input: &Tensor,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
) -> PyResult<(DType, Device)> {
    let dev = if device.is_some_and(|d| !d.is_none()) {
        check_device(device)?
    } else {
        input.device()
    };
    Ok((dtype_arg(dtype)?.unwrap_or(input.dtype()), dev))
}

/// A `*_like` result: `input`'s shape filled with `v`, with `input`'s strides when
/// it is dense (`preserve_format`, the default) or the asked format's.
fn like_filled(
    input: &Tensor,
    v: Scalar,
    (dt, dev): (DType, Device),
    memory_format: Option<&Bound<'_, PyAny>>,
) -> PyResult<Tensor> {
    let fmt = crate::convert::memory_format_arg(memory_format)?;
    let flat = filled(&[input.numel()], v, dt, dev)?;
    rtorch_core::ops::creation::restride_flat(&flat, input.layout(), fmt).py()
}

#[module_fn]
#[pyo3(signature = (input, *, dtype=None, layout=None, device=None, requires_grad=false, memory_format=None))]
fn zeros_like(
    input: PyRef<'_, PyTensor>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    memory_format: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    let _ = layout;
    let target = like_target(&input.inner, dtype, device)?;
    finish(
        like_filled(&input.inner, Scalar::Int(0), target, memory_format)?,
        requires_grad,
    )
}

#[module_fn]
#[pyo3(signature = (input, *, dtype=None, layout=None, device=None, requires_grad=false, memory_format=None))]
fn empty_like(
    input: PyRef<'_, PyTensor>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    memory_format: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    zeros_like(input, dtype, layout, device, requires_grad, memory_format)
}

#[module_fn]
#[pyo3(signature = (input, *, dtype=None, layout=None, device=None, requires_grad=false, memory_format=None))]
fn ones_like(
    input: PyRef<'_, PyTensor>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    memory_format: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    let _ = layout;
    let target = like_target(&input.inner, dtype, device)?;
    finish(
        like_filled(&input.inner, Scalar::Int(1), target, memory_format)?,
        requires_grad,
    )
}

#[module_fn]
#[pyo3(signature = (input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=false, memory_format=None))]
#[allow(clippy::too_many_arguments)]
fn full_like(
    input: PyRef<'_, PyTensor>,
    fill_value: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    memory_format: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    let _ = layout;
    let target = like_target(&input.inner, dtype, device)?;
    let v = fill_value_arg(fill_value)?;
    target.0.check_number(v, target.0.fill_type_name()).py()?;
    finish(
        like_filled(&input.inner, v, target, memory_format)?,
        requires_grad,
    )
}

fn fill_value_arg(v: &Bound<'_, PyAny>) -> PyResult<Scalar> {
    scalar_fill(v)
}

#[module_fn]
#[pyo3(signature = (data, dtype=None, device=None))]
fn as_tensor(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let dev = check_device(device)?;
    let dt = dtype_arg(dtype)?;
    if dev == Device::Meta {
        let t = match data.cast::<PyTensor>() {
            Ok(t) => t.borrow().inner.clone(),
            Err(_) => tensor_from_data(data, dt)?,
        };
        let t = Tensor::empty(t.shape(), dt.unwrap_or(t.dtype()), Device::Meta).py()?;
        return Ok(Py::new(py, PyTensor::from(t))?.into_any());
    }
    if let Ok(t) = data.cast::<PyTensor>() {
        let inner = t.borrow().inner.clone();
        return match dt {
            Some(d) if d != inner.dtype() => {
                Ok(Py::new(py, wrap(rtorch_core::ops::copy::to_dtype(&inner, d))?)?.into_any())
            }
            _ => Ok(data.clone().unbind()),
        };
    }
    if crate::numpy_interop::is_ndarray(data) {
        let t = crate::numpy_interop::from_numpy(data)?;
        let t = match dt {
            Some(d) if d != t.dtype() => rtorch_core::ops::copy::to_dtype(&t, d).py()?,
            _ => t,
        };
        return Ok(Py::new(py, PyTensor::from(t))?.into_any());
    }
    Ok(Py::new(py, PyTensor::from(tensor_from_data(data, dt)?))?.into_any())
}

#[module_fn]
fn get_default_dtype(py: Python<'_>) -> Py<crate::dtype::PyDType> {
    crate::dtype::dtype_object(py, rtorch_core::get_default_dtype())
}

#[module_fn]
fn set_default_dtype(d: &Bound<'_, PyAny>) -> PyResult<()> {
    let dt = dtype_arg(Some(d))?.ok_or_else(|| PyTypeError::new_err("dtype must not be None"))?;
    rtorch_core::set_default_dtype(dt).py()
}

#[module_fn]
fn promote_types(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
) -> PyResult<Py<crate::dtype::PyDType>> {
    let a = dtype_arg(Some(a))?.ok_or_else(|| PyTypeError::new_err("expected dtype"))?;
    let b = dtype_arg(Some(b))?.ok_or_else(|| PyTypeError::new_err("expected dtype"))?;
    Ok(crate::dtype::dtype_object(
        py,
        rtorch_core::dtype::promote_types(a, b),
    ))
}

#[module_fn]
fn result_type(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
) -> PyResult<Py<crate::dtype::PyDType>> {
    let op = |x: &Bound<'_, PyAny>| -> PyResult<rtorch_core::dtype::Operand> {
        match crate::convert::rhs_arg(x)? {
            rtorch_core::ops::binary::Rhs::Tensor(t) => Ok(rtorch_core::ops::operand(&t)),
            rtorch_core::ops::binary::Rhs::Scalar(s) => Ok(rtorch_core::dtype::Operand::Scalar(s)),
        }
    };
    let r = rtorch_core::dtype::result_type(&[op(a)?, op(b)?]);
    Ok(crate::dtype::dtype_object(py, r))
}

#[module_fn]
fn can_cast(from_: &Bound<'_, PyAny>, to: &Bound<'_, PyAny>) -> PyResult<bool> {
    let a = dtype_arg(Some(from_))?.ok_or_else(|| PyTypeError::new_err("expected dtype"))?;
    let b = dtype_arg(Some(to))?.ok_or_else(|| PyTypeError::new_err("expected dtype"))?;
    Ok(a.can_cast_to(b))
}

/// A number argument of a creation function (Python number or one-element tensor).
fn number_arg(v: &Bound<'_, PyAny>, what: &str) -> PyResult<Scalar> {
    scalar_fill(v).map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be a number, not {}",
            v.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })
}

/// `arange(end)`, `arange(start, end, step=1)`.
#[module_fn]
#[pyo3(signature = (*args, start=None, end=None, step=None, out=None, dtype=None, layout=None, device=None, requires_grad=false, pin_memory=false))]
#[allow(clippy::too_many_arguments)]
fn arange(
    py: Python<'_>,
    args: &Bound<'_, PyTuple>,
    start: Option<&Bound<'_, PyAny>>,
    end: Option<&Bound<'_, PyAny>>,
    step: Option<&Bound<'_, PyAny>>,
    out: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    pin_memory: bool,
) -> PyResult<Py<PyAny>> {
    let dtype = crate::out::factory_dtype(dtype, out)?;
    let dtype = dtype.as_ref();
    let _ = (layout, pin_memory);
    let dev = check_device(device)?;
    let mut pos: Vec<Scalar> = Vec::new();
    for a in args.iter() {
        pos.push(number_arg(&a, "arange()")?);
    }
    let kw = |o: Option<&Bound<'_, PyAny>>| -> PyResult<Option<Scalar>> {
        o.map(|v| number_arg(v, "arange()")).transpose()
    };
    let (ks, ke, kst) = (kw(start)?, kw(end)?, kw(step)?);
    let (s, e, st) = match (pos.len(), ks, ke) {
        (0, s, Some(e)) => (s.unwrap_or(Scalar::Int(0)), e, kst),
        (1, None, None) => (Scalar::Int(0), pos[0], kst),
        (1, Some(_), None) | (1, None, Some(_)) => {
            let (s, e) = match ks {
                Some(s) => (s, pos[0]),
                None => (pos[0], ke.unwrap_or(Scalar::Int(0))),
            };
            (s, e, kst)
        }
        (2, None, None) => (pos[0], pos[1], kst),
        (3, None, None) if kst.is_none() => (pos[0], pos[1], Some(pos[2])),
        _ => {
            return Err(PyTypeError::new_err(
                "arange() received an invalid combination of arguments",
            ))
        }
    };
    let st = st.unwrap_or(Scalar::Int(1));
    let t = rtorch_core::ops::creation::arange(s, e, st, dtype_arg(dtype)?).py()?;
    let made = finish(on_device(t, dev)?, requires_grad);
    crate::out::finish_factory(py, made, out, "arange")
}

/// `range(start=0, end, step=1)` (deprecated; `end` inclusive).
#[module_fn]
#[pyo3(signature = (start, end=None, step=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=false))]
#[allow(clippy::too_many_arguments)]
fn range(
    py: Python<'_>,
    start: &Bound<'_, PyAny>,
    end: Option<&Bound<'_, PyAny>>,
    step: Option<&Bound<'_, PyAny>>,
    out: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyAny>> {
    let dtype = crate::out::factory_dtype(dtype, out)?;
    let dtype = dtype.as_ref();
    let _ = layout;
    let dev = check_device(device)?;
    let warnings = py.import("warnings")?;
    warnings.call_method1(
        "warn",
        (
            "torch.range is deprecated and will be removed in a future release because its behavior is inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in [start, end).",
            py.get_type::<pyo3::exceptions::PyUserWarning>(),
        ),
    )?;
    let (s, e) = match end {
        Some(e) => (number_arg(start, "range()")?, number_arg(e, "range()")?),
        None => (Scalar::Int(0), number_arg(start, "range()")?),
    };
    let st = match step {
        Some(v) => number_arg(v, "range()")?,
        None => Scalar::Int(1),
    };
    let t = rtorch_core::ops::creation::range(s, e, st, dtype_arg(dtype)?).py()?;
    let made = finish(on_device(t, dev)?, requires_grad);
    crate::out::finish_factory(py, made, out, "range")
}

#[module_fn]
#[pyo3(signature = (start, end, steps, *, out=None, dtype=None, layout=None, device=None, requires_grad=false))]
#[allow(clippy::too_many_arguments)]
fn linspace(
    py: Python<'_>,
    start: &Bound<'_, PyAny>,
    end: &Bound<'_, PyAny>,
    steps: i64,
    out: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyAny>> {
    let dtype = crate::out::factory_dtype(dtype, out)?;
    let dtype = dtype.as_ref();
    let _ = layout;
    let dev = check_device(device)?;
    let (s, e) = (
        number_arg(start, "linspace()")?,
        number_arg(end, "linspace()")?,
    );
    let t = rtorch_core::ops::creation::linspace(s.to_f64(), e.to_f64(), steps, dtype_arg(dtype)?)
        .py()?;
    let made = finish(on_device(t, dev)?, requires_grad);
    crate::out::finish_factory(py, made, out, "linspace")
}

#[module_fn]
#[pyo3(signature = (start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=false))]
#[allow(clippy::too_many_arguments)]
fn logspace(
    py: Python<'_>,
    start: &Bound<'_, PyAny>,
    end: &Bound<'_, PyAny>,
    steps: i64,
    base: f64,
    out: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyAny>> {
    let dtype = crate::out::factory_dtype(dtype, out)?;
    let dtype = dtype.as_ref();
    let _ = layout;
    let dev = check_device(device)?;
    let (s, e) = (
        number_arg(start, "logspace()")?,
        number_arg(end, "logspace()")?,
    );
    let t = rtorch_core::ops::creation::logspace(
        s.to_f64(),
        e.to_f64(),
        steps,
        base,
        dtype_arg(dtype)?,
    )
    .py()?;
    let made = finish(on_device(t, dev)?, requires_grad);
    crate::out::finish_factory(py, made, out, "logspace")
}

#[module_fn]
#[pyo3(signature = (n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=false, pin_memory=false))]
#[allow(clippy::too_many_arguments)]
fn eye(
    py: Python<'_>,
    n: i64,
    m: Option<i64>,
    out: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    pin_memory: bool,
) -> PyResult<Py<PyAny>> {
    let dtype = crate::out::factory_dtype(dtype, out)?;
    let dtype = dtype.as_ref();
    let _ = (layout, pin_memory);
    let dev = check_device(device)?;
    let dt = dtype_arg(dtype)?.unwrap_or_else(rtorch_core::get_default_dtype);
    let made = finish(
        on_device(rtorch_core::ops::creation::eye_checked(n, m, dt).py()?, dev)?,
        requires_grad,
    );
    crate::out::finish_factory(py, made, out, "eye")
}

#[module_fn]
#[pyo3(signature = (size, stride, *, dtype=None, layout=None, device=None, requires_grad=false, pin_memory=false))]
#[allow(clippy::too_many_arguments)]
fn empty_strided(
    size: &Bound<'_, PyAny>,
    stride: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    pin_memory: bool,
) -> PyResult<PyTensor> {
    let _ = (layout, pin_memory);
    let dev = check_device(device)?;
    let shape = size_arg(&PyTuple::new(size.py(), [size])?)?;
    let strides = size_arg(&PyTuple::new(stride.py(), [stride])?)?;
    let dt = dtype_arg(dtype)?.unwrap_or_else(rtorch_core::get_default_dtype);
    finish(
        rtorch_core::ops::creation::empty_strided(&shape, &strides, dt, dev).py()?,
        requires_grad,
    )
}
