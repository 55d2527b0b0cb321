//! Random numbers: the `Generator` class, seeding, random tensors, in-place random
//! fills (`uniform_`, `normal_`, …), `fill_` / `zero_`, and the thread-count settings.

use crate::convert::{dtype_arg, scalar_arg, size_arg, tensor_arg};
use crate::creation::{check_device, finish, like_target, on_device};
use crate::error::IntoPyResult;
use crate::tensor::{wrap, PyTensor};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rtorch_core::ops::random_ops::{self as r, GenHandle, Param};
use rtorch_core::random::Generator;
use rtorch_core::{DType, Device, Scalar, Tensor};
use rtorch_macros::module_fn;

/// `rtorch.Generator(device='cpu')`.
#[pyclass(name = "Generator", module = "rtorch")]
pub struct PyGenerator {
    pub inner: GenHandle,
}

/// Python ints of any sign become 64-bit seeds modulo 2^64, as in PyTorch.
fn seed_arg(seed: &Bound<'_, PyAny>) -> PyResult<u64> {
    let v: i128 = seed
        .extract()
        .map_err(|_| PyTypeError::new_err("manual_seed expected an int"))?;
    if !(-(1i128 << 63)..(1i128 << 64)).contains(&v) {
        return Err(PyRuntimeError::new_err(format!(
            "Overflow when unpacking long long, seed {v} is out of range"
        )));
    }
    Ok(v as u64)
}

fn state_tensor(g: &Generator) -> PyResult<PyTensor> {
    let state = g.get_state();
    let n = state.len();
    wrap(Tensor::from_vec(state, &[n]))
}

fn set_state_from(g: &GenHandle, state: &Bound<'_, PyAny>) -> PyResult<()> {
    let t = tensor_arg(state, "new_state")?;
    if t.dtype() != DType::U8 {
        return Err(PyTypeError::new_err("RNG state must be a torch.ByteTensor"));
    }
    if !t.is_contiguous() {
        return Err(PyRuntimeError::new_err("RNG state must be contiguous"));
    }
    let bytes: Vec<u8> = t.to_vec::<u8>().py()?;
    g.lock().set_state(&bytes).map_err(PyRuntimeError::new_err)
}

#[pymethods]
impl PyGenerator {
    #[new]
    #[pyo3(signature = (device=None))]
    fn new(device: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        check_device(device)?;
        Ok(PyGenerator {
            inner: r::new_generator(r::DEFAULT_SEED),
        })
    }
    fn manual_seed<'py>(
        slf: Bound<'py, Self>,
        seed: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, Self>> {
        let s = seed_arg(seed)?;
        slf.borrow().inner.lock().set_seed(s);
        Ok(slf)
    }
    fn seed(&self) -> u64 {
        let s = r::nondeterministic_seed();
        self.inner.lock().set_seed(s);
        s
    }
    fn initial_seed(&self) -> u64 {
        self.inner.lock().seed()
    }
    fn get_state(&self) -> PyResult<PyTensor> {
        state_tensor(&self.inner.lock())
    }
    fn set_state<'py>(
        slf: Bound<'py, Self>,
        new_state: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, Self>> {
        set_state_from(&slf.borrow().inner, new_state)?;
        Ok(slf)
    }
    #[getter]
    fn device(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let m = py.import("rtorch")?;
        Ok(m.getattr("device")?.call1(("cpu",))?.unbind())
    }
    fn __repr__(&self) -> String {
        "<rtorch._C.Generator object>".into()
    }
}

fn gen_arg(g: Option<PyRef<'_, PyGenerator>>) -> Option<GenHandle> {
    g.map(|g| g.inner.clone())
}

#[module_fn]
fn manual_seed(py: Python<'_>, seed: &Bound<'_, PyAny>) -> PyResult<Py<PyGenerator>> {
    r::manual_seed(seed_arg(seed)?);
    Py::new(
        py,
        PyGenerator {
            inner: r::default_generator(),
        },
    )
}

#[module_fn]
fn seed() -> u64 {
    let s = r::nondeterministic_seed();
    r::manual_seed(s);
    s
}

#[module_fn]
fn initial_seed() -> u64 {
    r::default_generator().lock().seed()
}

#[module_fn]
fn get_rng_state() -> PyResult<PyTensor> {
    state_tensor(&r::default_generator().lock())
}

#[module_fn]
fn set_rng_state(new_state: &Bound<'_, PyAny>) -> PyResult<()> {
    set_state_from(&r::default_generator(), new_state)
}

#[module_fn]
fn set_num_threads(n: i64) -> PyResult<()> {
    if n <= 0 {
        return Err(PyRuntimeError::new_err(
            "set_num_threads expects a positive integer",
        ));
    }
    rtorch_core::cpu::set_num_threads(n as usize);
    Ok(())
}

#[module_fn]
fn get_num_threads() -> usize {
    rtorch_core::cpu::get_num_threads()
}

fn float_dtype(dtype: Option<&Bound<'_, PyAny>>) -> PyResult<DType> {
    Ok(dtype_arg(dtype)?.unwrap_or_else(rtorch_core::get_default_dtype))
}

type Maker = fn(&[usize], DType, Option<&GenHandle>) -> rtorch_core::Result<Tensor>;

#[allow(clippy::too_many_arguments)]
fn make(
    size: &Bound<'_, PyTuple>,
    size_kw: Option<&Bound<'_, PyAny>>,
    generator: Option<PyRef<'_, PyGenerator>>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    f: Maker,
) -> PyResult<PyTensor> {
    let dev = check_device(device)?;
    let shape = match size_kw {
        Some(s) if size.is_empty() => size_arg(&PyTuple::new(s.py(), [s])?)?,
        _ => size_arg(size)?,
    };
    let g = gen_arg(generator);
    let dt = float_dtype(dtype)?;
    finish(
        drawn(&shape, dev, |sh| f(sh, dt, g.as_ref()))?,
        requires_grad,
    )
}

#[module_fn]
#[pyo3(signature = (*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=false, pin_memory=false))]
#[allow(clippy::too_many_arguments)]
fn rand(
    py: Python<'_>,
    size: &Bound<'_, PyTuple>,
    generator: Option<PyRef<'_, PyGenerator>>,
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
    let made = make(size, None, generator, dtype, device, requires_grad, r::rand);
    crate::out::finish_factory(py, made, out, "rand")
}

#[module_fn]
#[pyo3(signature = (*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=false, pin_memory=false))]
#[allow(clippy::too_many_arguments)]
fn randn(
    py: Python<'_>,
    size: &Bound<'_, PyTuple>,
    generator: Option<PyRef<'_, PyGenerator>>,
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
    let made = make(
        size,
        None,
        generator,
        dtype,
        device,
        requires_grad,
        r::randn,
    );
    crate::out::finish_factory(py, made, out, "randn")
}

/// A random factory's result of `shape` on `device`. On `meta` nothing is drawn (the
/// generator stays where it was, as in PyTorch); `draw` still runs for an empty shape
/// so that its argument checks raise as they do on the CPU.
fn drawn(
    shape: &[usize],
    device: Device,
    draw: impl Fn(&[usize]) -> rtorch_core::Result<Tensor>,
) -> PyResult<Tensor> {
    if device == Device::Meta {
        let probe = draw(&[0]).py()?;
        return Tensor::empty(shape, probe.dtype(), Device::Meta).py();
    }
    draw(shape).py()
}

#[module_fn]
#[pyo3(signature = (input, *, generator=None, dtype=None, layout=None, device=None, requires_grad=false, memory_format=None))]
#[allow(clippy::too_many_arguments)]
fn rand_like(
    input: PyRef<'_, PyTensor>,
    generator: Option<PyRef<'_, PyGenerator>>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    memory_format: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    let _ = layout;
    let (dt, dev) = like_target(&input.inner, dtype, device)?;
    let g = gen_arg(generator);
    let fmt = crate::convert::memory_format_arg(memory_format)?;
    // Values in storage order, as PyTorch fills the strided result.
    let flat = drawn(&[input.inner.numel()], dev, |sh| {
        r::rand(sh, dt, g.as_ref())
    })?;
    let t = rtorch_core::ops::creation::restride_flat(&flat, input.inner.layout(), fmt).py()?;
    finish(t, requires_grad)
}

#[module_fn]
#[pyo3(signature = (input, *, generator=None, dtype=None, layout=None, device=None, requires_grad=false, memory_format=None))]
#[allow(clippy::too_many_arguments)]
fn randn_like(
    input: PyRef<'_, PyTensor>,
    generator: Option<PyRef<'_, PyGenerator>>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    memory_format: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    let _ = layout;
    let (dt, dev) = like_target(&input.inner, dtype, device)?;
    let g = gen_arg(generator);
    let fmt = crate::convert::memory_format_arg(memory_format)?;
    // Values in storage order, as PyTorch fills the strided result.
    let flat = drawn(&[input.inner.numel()], dev, |sh| {
        r::randn(sh, dt, g.as_ref())
    })?;
    let t = rtorch_core::ops::creation::restride_flat(&flat, input.inner.layout(), fmt).py()?;
    finish(t, requires_grad)
}

fn int_arg(o: &Bound<'_, PyAny>, what: &str) -> PyResult<i64> {
    if let Ok(t) = o.cast::<PyTensor>() {
        return Ok(t.borrow().inner.item().py()?.to_i64());
    }
    match scalar_arg(o) {
        Some(Scalar::Float(f)) => Ok(f as i64),
        Some(s) => Ok(s.to_i64()),
        None => Err(PyTypeError::new_err(format!("{what} must be an int"))),
    }
}

/// `randint(high, size)` / `randint(low, high, size)`.
#[module_fn]
#[pyo3(signature = (*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=false, pin_memory=false, low=None, high=None))]
#[allow(clippy::too_many_arguments)]
fn randint(
    py: Python<'_>,
    args: &Bound<'_, PyTuple>,
    size: Option<&Bound<'_, PyAny>>,
    generator: Option<PyRef<'_, PyGenerator>>,
    out: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    pin_memory: bool,
    low: Option<&Bound<'_, PyAny>>,
    high: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let dtype = crate::out::factory_dtype(dtype, out)?;
    let dtype = dtype.as_ref();
    let _ = (layout, pin_memory);
    let dev = check_device(device)?;
    let mut pos: Vec<Bound<'_, PyAny>> = args.iter().collect();
    if let Some(l) = low {
        pos.insert(0, l.clone());
    }
    if let Some(h) = high {
        pos.push(h.clone());
    }
    if let Some(s) = size {
        pos.push(s.clone());
    }
    let (lo, hi, sz) = match pos.len() {
        2 => (0, int_arg(&pos[0], "high")?, &pos[1]),
        3 => (int_arg(&pos[0], "low")?, int_arg(&pos[1], "high")?, &pos[2]),
        _ => {
            return Err(PyTypeError::new_err(
                "randint() received an invalid combination of arguments - expected (int high, tuple of ints size) or (int low, int high, tuple of ints size)",
            ))
        }
    };
    let shape = size_arg(&PyTuple::new(sz.py(), [sz])?)?;
    let dt = dtype_arg(dtype)?.unwrap_or(DType::I64);
    let g = gen_arg(generator);
    let made = finish(
        drawn(&shape, dev, |sh| r::randint(lo, hi, sh, dt, g.as_ref()))?,
        requires_grad,
    );
    crate::out::finish_factory(py, made, out, "randint")
}

#[module_fn]
#[pyo3(signature = (input, *args, generator=None, dtype=None, layout=None, device=None, requires_grad=false, memory_format=None, low=None, high=None))]
#[allow(clippy::too_many_arguments)]
fn randint_like(
    input: PyRef<'_, PyTensor>,
    args: &Bound<'_, PyTuple>,
    generator: Option<PyRef<'_, PyGenerator>>,
    dtype: Option<&Bound<'_, PyAny>>,
    layout: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    memory_format: Option<&Bound<'_, PyAny>>,
    low: Option<&Bound<'_, PyAny>>,
    high: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    let _ = (layout, memory_format);
    let mut pos: Vec<Bound<'_, PyAny>> = args.iter().collect();
    if let Some(l) = low {
        pos.insert(0, l.clone());
    }
    if let Some(h) = high {
        pos.push(h.clone());
    }
    let (lo, hi) = match pos.len() {
        1 => (0, int_arg(&pos[0], "high")?),
        2 => (int_arg(&pos[0], "low")?, int_arg(&pos[1], "high")?),
        _ => {
            return Err(PyTypeError::new_err(
                "randint_like() expects high or (low, high)",
            ))
        }
    };
    let g = gen_arg(generator);
    let (dt, dev) = like_target(&input.inner, dtype, device)?;
    finish(
        drawn(input.inner.shape(), dev, |sh| {
            r::randint(lo, hi, sh, dt, g.as_ref())
        })?,
        requires_grad,
    )
}

#[module_fn]
#[pyo3(signature = (n, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=false, pin_memory=false))]
#[allow(clippy::too_many_arguments)]
fn randperm(
    py: Python<'_>,
    n: i64,
    generator: Option<PyRef<'_, PyGenerator>>,
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
    let dt = dtype_arg(dtype)?.unwrap_or(DType::I64);
    let g = gen_arg(generator);
    let len = usize::try_from(n).unwrap_or(0);
    let t = drawn(&[len], dev, |sh| {
        let n = if sh[0] == 0 { n.min(0) } else { n };
        r::randperm(n, dt, g.as_ref())
    })?;
    let made = finish(t, requires_grad);
    crate::out::finish_factory(py, made, out, "randperm")
}

fn param_arg(o: &Bound<'_, PyAny>, what: &str) -> PyResult<Param> {
    if let Ok(t) = o.cast::<PyTensor>() {
        return Ok(Param::Tensor(t.borrow().inner.clone()));
    }
    match scalar_arg(o) {
        Some(s) => Ok(Param::Float(s.to_f64())),
        None => Err(PyTypeError::new_err(format!(
            "normal(): argument '{what}' must be Tensor or float"
        ))),
    }
}

#[module_fn]
#[pyo3(signature = (mean, std=None, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=false, pin_memory=false))]
#[allow(clippy::too_many_arguments)]
fn normal(
    py: Python<'_>,
    mean: &Bound<'_, PyAny>,
    std: Option<&Bound<'_, PyAny>>,
    size: Option<&Bound<'_, PyAny>>,
    generator: Option<PyRef<'_, PyGenerator>>,
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
    let m = param_arg(mean, "mean")?;
    let s = match std {
        Some(s) => param_arg(s, "std")?,
        None => Param::Float(1.0),
    };
    let shape = match size {
        Some(sz) => Some(size_arg(&PyTuple::new(sz.py(), [sz])?)?),
        None => None,
    };
    let g = gen_arg(generator);
    let t = r::normal(&m, &s, shape.as_deref(), dtype_arg(dtype)?, g.as_ref()).py()?;
    let made = finish(on_device(t, dev)?, requires_grad);
    crate::out::finish_factory(py, made, out, "normal")
}

fn prob_arg(p: Option<&Bound<'_, PyAny>>) -> PyResult<Option<f64>> {
    match p {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => scalar_arg(o)
            .map(|s| Some(s.to_f64()))
            .ok_or_else(|| PyTypeError::new_err("p must be a float")),
    }
}

#[module_fn]
#[pyo3(signature = (input, p=None, *, generator=None, out=None))]
fn bernoulli(
    input: PyRef<'_, PyTensor>,
    p: Option<&Bound<'_, PyAny>>,
    generator: Option<PyRef<'_, PyGenerator>>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let g = gen_arg(generator);
    let result = r::bernoulli(&input.inner, prob_arg(p)?, g.as_ref());
    crate::out::finish_out(input.py(), result, out, &[&input.inner], "bernoulli")
}

#[module_fn]
#[pyo3(signature = (input, num_samples, replacement=false, *, generator=None, out=None))]
fn multinomial(
    input: PyRef<'_, PyTensor>,
    num_samples: i64,
    replacement: bool,
    generator: Option<PyRef<'_, PyGenerator>>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let g = gen_arg(generator);
    let result = r::multinomial(&input.inner, num_samples, replacement, g.as_ref());
    crate::out::finish_out(input.py(), result, out, &[&input.inner], "multinomial")
}

fn f64_arg(o: Option<&Bound<'_, PyAny>>, default: f64, what: &str) -> PyResult<f64> {
    match o {
        None => Ok(default),
        Some(v) => {
            if let Ok(t) = v.cast::<PyTensor>() {
                return Ok(t.borrow().inner.item().py()?.to_f64());
            }
            scalar_arg(v)
                .map(|s| s.to_f64())
                .ok_or_else(|| PyTypeError::new_err(format!("{what} must be a number")))
        }
    }
}

#[pymethods]
impl PyTensor {
    #[pyo3(signature = (from_=None, to=None, *, generator=None))]
    fn uniform_<'py>(
        slf: Bound<'py, Self>,
        from_: Option<&Bound<'_, PyAny>>,
        to: Option<&Bound<'_, PyAny>>,
        generator: Option<PyRef<'_, PyGenerator>>,
    ) -> PyResult<Bound<'py, Self>> {
        let (a, b) = (f64_arg(from_, 0.0, "from")?, f64_arg(to, 1.0, "to")?);
        let g = gen_arg(generator);
        r::uniform_(&slf.borrow().inner, a, b, g.as_ref()).py()?;
        Ok(slf)
    }
    #[pyo3(signature = (mean=None, std=None, *, generator=None))]
    fn normal_<'py>(
        slf: Bound<'py, Self>,
        mean: Option<&Bound<'_, PyAny>>,
        std: Option<&Bound<'_, PyAny>>,
        generator: Option<PyRef<'_, PyGenerator>>,
    ) -> PyResult<Bound<'py, Self>> {
        let (m, s) = (f64_arg(mean, 0.0, "mean")?, f64_arg(std, 1.0, "std")?);
        let g = gen_arg(generator);
        r::normal_(&slf.borrow().inner, m, s, g.as_ref()).py()?;
        Ok(slf)
    }
    #[pyo3(signature = (lambd=None, *, generator=None))]
    fn exponential_<'py>(
        slf: Bound<'py, Self>,
        lambd: Option<&Bound<'_, PyAny>>,
        generator: Option<PyRef<'_, PyGenerator>>,
    ) -> PyResult<Bound<'py, Self>> {
        let l = f64_arg(lambd, 1.0, "lambd")?;
        let g = gen_arg(generator);
        r::exponential_(&slf.borrow().inner, l, g.as_ref()).py()?;
        Ok(slf)
    }
    #[pyo3(signature = (p=None, *, generator=None))]
    fn bernoulli_<'py>(
        slf: Bound<'py, Self>,
        p: Option<&Bound<'_, PyAny>>,
        generator: Option<PyRef<'_, PyGenerator>>,
    ) -> PyResult<Bound<'py, Self>> {
        let g = gen_arg(generator);
        let t = slf.borrow().inner.clone();
        match p {
            Some(pt) if pt.cast::<PyTensor>().is_ok() => {
                let pt = tensor_arg(pt, "p")?;
                r::bernoulli_tensor_(&t, &pt, g.as_ref()).py()?
            }
            _ => r::bernoulli_scalar_(&t, prob_arg(p)?.unwrap_or(0.5), g.as_ref()).py()?,
        }
        Ok(slf)
    }
    #[pyo3(signature = (p=None, *, generator=None))]
    fn bernoulli(
        &self,
        p: Option<&Bound<'_, PyAny>>,
        generator: Option<PyRef<'_, PyGenerator>>,
    ) -> PyResult<PyTensor> {
        let g = gen_arg(generator);
        wrap(r::bernoulli(&self.inner, prob_arg(p)?, g.as_ref()))
    }
    #[pyo3(signature = (num_samples, replacement=false, *, generator=None))]
    fn multinomial(
        &self,
        num_samples: i64,
        replacement: bool,
        generator: Option<PyRef<'_, PyGenerator>>,
    ) -> PyResult<PyTensor> {
        let g = gen_arg(generator);
        wrap(r::multinomial(
            &self.inner,
            num_samples,
            replacement,
            g.as_ref(),
        ))
    }
    /// `random_()`, `random_(to)`, `random_(from, to)`.
    #[pyo3(signature = (*args, generator=None, to=None))]
    fn random_<'py>(
        slf: Bound<'py, Self>,
        args: &Bound<'_, PyTuple>,
        generator: Option<PyRef<'_, PyGenerator>>,
        to: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, Self>> {
        let g = gen_arg(generator);
        // random_(), random_(to), random_(from, to) with `to` None for the dtype's top.
        let mut bounds = Vec::with_capacity(2);
        for a in args.iter() {
            bounds.push(if a.is_none() {
                None
            } else {
                Some(int_arg(&a, "from")?)
            });
        }
        let to = match to {
            Some(t) if !t.is_none() => Some(Some(int_arg(t, "to")?)),
            Some(_) => Some(None),
            None => None,
        };
        let (from, upto) = match (bounds.as_slice(), to) {
            ([], None) => (None, None),
            ([], Some(t)) => (Some(0), t),
            ([Some(t)], None) => (Some(0), Some(*t)),
            ([Some(f)], Some(t)) => (Some(*f), t),
            ([Some(f), None], None) => (Some(*f), None),
            ([Some(f), Some(t)], None) => (Some(*f), Some(*t)),
            _ => return Err(PyTypeError::new_err("random_() received an invalid combination of arguments - expected one of: (*, torch.Generator generator = None), (int from, int to, *, torch.Generator generator = None), (int to, *, torch.Generator generator = None)")),
        };
        r::random_(&slf.borrow().inner, from, upto, g.as_ref()).py()?;
        Ok(slf)
    }
    fn fill_<'py>(slf: Bound<'py, Self>, value: &Bound<'_, PyAny>) -> PyResult<Bound<'py, Self>> {
        let t = slf.borrow().inner.clone();
        if let Ok(v) = value.cast::<PyTensor>() {
            let v = v.borrow().inner.clone();
            r::fill_tensor_(&t, &v).py()?;
        } else {
            let s = scalar_arg(value).ok_or_else(|| {
                PyTypeError::new_err("fill_() received an invalid combination of arguments")
            })?;
            t.dtype().check_number(s, t.dtype().fill_type_name()).py()?;
            r::fill_(&t, s).py()?;
        }
        Ok(slf)
    }
    fn zero_<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, Self>> {
        r::zero_(&slf.borrow().inner).py()?;
        Ok(slf)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyGenerator>()?;
    m.add(
        "default_generator",
        Py::new(
            m.py(),
            PyGenerator {
                inner: r::default_generator(),
            },
        )?,
    )?;
    Ok(())
}
