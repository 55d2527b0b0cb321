//! Random tensors and in-place random fills on PyTorch's generator, plus `fill_` and
//! `zero_`.
//!
//! Every draw goes through a [`GenHandle`]: the process-wide default generator unless
//! the caller passes its own. Each fill draws as PyTorch's CPU kernel for it does (see
//! `crate::random`), visiting a tensor's elements in memory order (TensorIterator's
//! order for an output), so a seed gives PyTorch's values.

use super::binary::{add_scaled, mul, Rhs};
use super::{check_inplace, finish_constant_write, reduce::zeros_like};
use crate::autograd::{needs_grad, record, record_inplace, GradModeGuard};
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::layout::broadcast_shapes;
use crate::random::{self, Generator};
use crate::tensor::Tensor;
use parking_lot::Mutex;
use std::sync::{Arc, OnceLock};

/// A shareable generator (Python's `torch.Generator` object wraps one).
pub type GenHandle = Arc<Mutex<Generator>>;

/// PyTorch's default seed.
pub const DEFAULT_SEED: u64 = 67280421310721;

static DEFAULT: OnceLock<GenHandle> = OnceLock::new();

/// The process-wide default generator (`torch.default_generator`).
pub fn default_generator() -> GenHandle {
    DEFAULT
        .get_or_init(|| Arc::new(Mutex::new(Generator::new(DEFAULT_SEED))))
        .clone()
}

/// A new generator handle for `seed`.
pub fn new_generator(seed: u64) -> GenHandle {
    Arc::new(Mutex::new(Generator::new(seed)))
}

/// `manual_seed(seed)` on the default generator.
pub fn manual_seed(seed: u64) {
    default_generator().lock().set_seed(seed);
}

/// A non-deterministic 64-bit seed (time and address entropy mixed by splitmix64).
pub fn nondeterministic_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let local = 0u8;
    let mut z = nanos ^ (&local as *const u8 as u64).rotate_left(32);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn with_gen<R>(gen: Option<&GenHandle>, f: impl FnOnce(&mut Generator) -> R) -> R {
    match gen {
        Some(g) => f(&mut g.lock()),
        None => f(&mut default_generator().lock()),
    }
}

fn not_implemented(kernel: &str, dtype: DType) -> Error {
    Error::NotImplemented(format!(
        "\"{kernel}\" not implemented for '{}'",
        dtype.scalar_type_name()
    ))
}

/// False for a tensor without values (meta): in-place draws into it draw nothing and
/// leave the generator where it was, as PyTorch's meta kernels do.
fn has_values(t: &Tensor) -> bool {
    t.device() != crate::device::Device::Meta
}

/// The order of `t`'s dimensions by decreasing stride (ties keep their order): a
/// row-major walk of `t` permuted so visits its elements in memory order, the order in
/// which PyTorch's serial kernels write an output. `None` for a contiguous `t`.
fn memory_order(t: &Tensor) -> Option<Vec<i64>> {
    if t.is_contiguous() {
        return None;
    }
    let strides = t.strides();
    // Insertion sort, stable: a tensor has a handful of dimensions.
    let mut dims: Vec<i64> = Vec::with_capacity(t.dim());
    for d in 0..t.dim() {
        let at = dims
            .iter()
            .position(|&e| strides[e as usize] < strides[d])
            .unwrap_or(dims.len());
        dims.insert(at, d as i64);
    }
    Some(dims)
}

/// `t` permuted by `order` (as is for `None`).
fn permuted(t: &Tensor, order: Option<&[i64]>) -> Result<Tensor> {
    match order {
        None => Ok(t.clone()),
        Some(dims) => {
            let _guard = GradModeGuard::new(false);
            super::shape::permute(t, dims)
        }
    }
}

/// `values` (one per element, in memory order) written into `t` with conversion.
fn write_in_memory_order<T: crate::element::Element>(t: &Tensor, values: Vec<T>) -> Result<()> {
    let n = values.len();
    write_flat_in_memory_order(t, &Tensor::from_vec(values, &[n])?)
}

/// The non-generic part of [`write_in_memory_order`] (one copy for every element type).
fn write_flat_in_memory_order(t: &Tensor, flat: &Tensor) -> Result<()> {
    let dst = permuted(t, memory_order(t).as_deref())?;
    let src = super::shape::reshape_to(flat, dst.shape())?;
    crate::ops::map::copy_cast(&dst, &src)
}

/// Values computed in float64 written into `t` in memory order. A 16-bit float `t` gets
/// them rounded to float32 first, as PyTorch's conversion from double does.
fn write_f64(t: &Tensor, values: Vec<f64>) -> Result<()> {
    if matches!(t.dtype(), DType::F16 | DType::BF16) {
        let narrowed: Vec<f32> = values.into_iter().map(|v| v as f32).collect();
        return write_in_memory_order(t, narrowed);
    }
    write_in_memory_order(t, values)
}

/// `v` rounded to `dtype` (a float dtype) and back to f32.
fn round_to(dtype: DType, v: f32) -> f32 {
    match dtype {
        DType::F16 => half::f16::from_f32(v).to_f32(),
        DType::BF16 => half::bf16::from_f32(v).to_f32(),
        _ => v,
    }
}

// ----- in-place fills -----

/// `uniform_(from, to)`.
pub fn uniform_(t: &Tensor, from: f64, to: f64, gen: Option<&GenHandle>) -> Result<()> {
    check_inplace(t)?;
    if !t.dtype().is_floating_point() {
        return Err(not_implemented("check_uniform_bounds", t.dtype()));
    }
    if from > to {
        return Err(Error::Runtime(format!(
            "uniform_ expects to return a [from, to) range, but found from={from} > to={to}"
        )));
    }
    if has_values(t) {
        match t.dtype() {
            DType::F64 => {
                let mut v = contiguous_or_staged_f64(t);
                with_gen(gen, |g| random::fill_uniform_f64(g, v.slice(), from, to));
                v.finish(t)?;
            }
            dtype => {
                let mut v = contiguous_or_staged_f32(t);
                with_gen(gen, |g| {
                    random::fill_uniform_f32(g, v.slice(), from as f32, to as f32)
                });
                if matches!(dtype, DType::F16 | DType::BF16) {
                    // Rounded to the dtype, a value equal to `to` becomes `from`.
                    let (lo, hi) = (round_to(dtype, from as f32), round_to(dtype, to as f32));
                    for x in v.slice() {
                        let r = round_to(dtype, *x);
                        *x = if r == hi { lo } else { r };
                    }
                }
                v.finish(t)?;
            }
        }
    }
    finish_constant_write(t, "UniformBackward0");
    Ok(())
}

/// Float values drawn straight into a contiguous tensor of the drawing precision, or
/// into a buffer written afterwards in memory order.
enum Staged<'a, T> {
    Direct(&'a mut [T]),
    Buffer(Vec<T>),
}

impl<T> Staged<'_, T> {
    fn slice(&mut self) -> &mut [T] {
        match self {
            Staged::Direct(s) => s,
            Staged::Buffer(v) => v,
        }
    }
}

impl Staged<'_, f32> {
    fn finish(self, t: &Tensor) -> Result<()> {
        match self {
            Staged::Direct(_) => Ok(()),
            Staged::Buffer(v) => write_in_memory_order(t, v),
        }
    }
}

impl Staged<'_, f64> {
    fn finish(self, t: &Tensor) -> Result<()> {
        match self {
            Staged::Direct(_) => Ok(()),
            Staged::Buffer(v) => write_f64(t, v),
        }
    }
}

fn contiguous_or_staged_f32(t: &Tensor) -> Staged<'_, f32> {
    if t.is_contiguous() && t.dtype() == DType::F32 {
        // SAFETY: `t` is the in-place op's own output; nothing else touches its storage
        // while this op runs.
        if let Ok(s) = unsafe { t.cpu_slice_mut::<f32>() } {
            return Staged::Direct(s);
        }
    }
    Staged::Buffer(vec![0f32; t.numel()])
}

fn contiguous_or_staged_f64(t: &Tensor) -> Staged<'_, f64> {
    if t.is_contiguous() && t.dtype() == DType::F64 {
        // SAFETY: as in `contiguous_or_staged_f32`.
        if let Ok(s) = unsafe { t.cpu_slice_mut::<f64>() } {
            return Staged::Direct(s);
        }
    }
    Staged::Buffer(vec![0f64; t.numel()])
}

fn check_std(std: f64) -> Result<()> {
    if std.is_nan() || std < 0.0 {
        return Err(Error::Runtime(format!(
            "normal expects std >= 0.0, but found std {std}"
        )));
    }
    Ok(())
}

/// `normal_(mean, std)`: PyTorch's block fill for contiguous tensors of 16 or more
/// elements, its one-at-a-time draws otherwise.
pub fn normal_(t: &Tensor, mean: f64, std: f64, gen: Option<&GenHandle>) -> Result<()> {
    check_inplace(t)?;
    // Without elements PyTorch never reaches the kernel's dtype check.
    if !t.dtype().is_floating_point() && t.numel() != 0 {
        return Err(not_implemented("normal_kernel_cpu", t.dtype()));
    }
    check_std(std)?;
    if has_values(t) {
        let blocks = t.numel() >= 16 && t.is_contiguous();
        match t.dtype() {
            DType::F32 if blocks => {
                let mut v = contiguous_or_staged_f32(t);
                with_gen(gen, |g| {
                    random::fill_normal_f32(g, v.slice(), mean as f32, std as f32)
                });
                v.finish(t)?;
            }
            DType::F64 if blocks => {
                let mut v = contiguous_or_staged_f64(t);
                with_gen(gen, |g| random::fill_normal_f64(g, v.slice(), mean, std));
                v.finish(t)?;
            }
            DType::F16 | DType::BF16 if blocks => {
                let mut v = vec![0f32; t.numel()];
                with_gen(gen, |g| {
                    random::fill_normal_f32_by_blocks(g, &mut v, mean as f32, std as f32)
                });
                write_in_memory_order(t, v)?;
            }
            _ => {
                let mut v = vec![0f64; t.numel()];
                with_gen(gen, |g| random::fill_normal_serial(g, &mut v, mean, std));
                write_f64(t, v)?;
            }
        }
    }
    finish_constant_write(t, "NormalBackward0");
    Ok(())
}

/// `exponential_(lambd)`.
pub fn exponential_(t: &Tensor, lambd: f64, gen: Option<&GenHandle>) -> Result<()> {
    check_inplace(t)?;
    if !t.dtype().is_floating_point() && t.numel() != 0 {
        return Err(Error::Runtime(format!(
            "Exponential distribution is a continuous probability distribution. dtype must be a \
             floating point but you specified {}",
            t.dtype().scalar_type_name()
        )));
    }
    if lambd.is_nan() || lambd <= 0.0 {
        return Err(Error::Runtime(format!(
            "exponential_ expects lambda > 0.0, but found lambda={lambd}"
        )));
    }
    if has_values(t) {
        let mut v = vec![0f64; t.numel()];
        with_gen(gen, |g| random::fill_exponential(g, &mut v, lambd));
        write_f64(t, v)?;
    }
    finish_constant_write(t, "ExponentialBackward0");
    Ok(())
}

/// `bernoulli_(p)` with a float probability: one 53-bit uniform per element.
pub fn bernoulli_scalar_(t: &Tensor, p: f64, gen: Option<&GenHandle>) -> Result<()> {
    check_inplace(t)?;
    if !(0.0..=1.0).contains(&p) {
        return Err(Error::Runtime(format!(
            "bernoulli_ expects p to be in [0, 1], but got p={p}"
        )));
    }
    if has_values(t) {
        // Contiguous float32 tensors (dropout's masks) are written in place.
        match t.dtype() {
            DType::F32 if t.is_contiguous() => {
                // SAFETY: `t` is the in-place op's own output; nothing else touches its
                // storage while this op runs.
                let out = unsafe { t.cpu_slice_mut::<f32>()? };
                with_gen(gen, |g| random::fill_bernoulli(g, out, p));
            }
            _ => {
                let mut v = vec![0f32; t.numel()];
                with_gen(gen, |g| random::fill_bernoulli(g, &mut v, p));
                write_in_memory_order(t, v)?;
            }
        }
    }
    finish_constant_write(t, "BernoulliBackward0");
    Ok(())
}

fn check_probs(p: &[f64]) -> Result<()> {
    if p.iter().any(|&x| !(0.0..=1.0).contains(&x)) {
        return Err(Error::Runtime(
            "Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error message be improved?  If so, please report an enhancement request to PyTorch.)".into(),
        ));
    }
    Ok(())
}

/// `bernoulli_(p)` with a tensor of probabilities broadcast to `t`: a 53-bit uniform per
/// element for float64 probabilities, a 24-bit one compared in float32 otherwise.
pub fn bernoulli_tensor_(t: &Tensor, p: &Tensor, gen: Option<&GenHandle>) -> Result<()> {
    check_inplace(t)?;
    let pe = super::expand_view(p, t.shape())?;
    if !Tensor::has_values(t, &[&pe])? {
        finish_constant_write(t, "BernoulliBackward1");
        return Ok(());
    }
    // The probabilities in the order `t` is written in.
    let order = memory_order(t);
    let dst = permuted(t, order.as_deref())?;
    let pe = permuted(&pe, order.as_deref())?;
    let probs = pe.to_f64_vec()?;
    check_probs(&probs)?;
    let mut v = vec![0u8; t.numel()];
    let narrow = p.dtype() != DType::F64;
    with_gen(gen, |g| {
        random::fill_bernoulli_probs(g, &mut v, &probs, narrow)
    });
    crate::ops::map::copy_cast(&dst, &Tensor::from_vec(v, dst.shape())?)?;
    finish_constant_write(t, "BernoulliBackward1");
    Ok(())
}

/// `random_()`'s exclusive upper bound for `dtype` (its largest integer plus one).
fn random_default_to(dtype: DType) -> i128 {
    match dtype {
        DType::F32 => (1 << 24) + 1,
        DType::F64 => (1 << 53) + 1,
        DType::F16 => (1 << 11) + 1,
        DType::BF16 => (1 << 8) + 1,
        DType::Bool => 2,
        DType::U8 => 256,
        DType::I8 => 128,
        DType::I16 => 1 << 15,
        DType::I32 => 1 << 31,
        DType::I64 => 1 << 63,
    }
}

/// PyTorch's check that an integer dtype holds `from` and `to - 1` (a draw outside it
/// would wrap).
fn check_int_bounds(dtype: DType, from: i64, to: i128) -> Result<()> {
    let (min, max): (i128, i128) = match dtype {
        DType::Bool => (0, 1),
        DType::U8 => (0, 255),
        DType::I8 => (-128, 127),
        DType::I16 => (-(1 << 15), (1 << 15) - 1),
        DType::I32 => (-(1 << 31), (1 << 31) - 1),
        _ => return Ok(()),
    };
    for (value, name) in [(i128::from(from), "from"), (to - 1, "to - 1")] {
        if !(min..=max).contains(&value) {
            return Err(Error::Runtime(format!(
                "{name} is out of bounds for {}",
                dtype.cpp_type_name()
            )));
        }
    }
    Ok(())
}

/// `random_()` with no bounds: `draw % random_default_to(dtype)`, the draw one u64 for
/// int64 and float64 and one u32 otherwise; `random_(from, to)` and `random_(from)` (to
/// the dtype's largest integer, inclusive) draw as [`random::fill_ints_in_range`], except
/// the full 64-bit range (`from` = -2^63, no `to`), which takes each u64 as is.
pub fn random_(
    t: &Tensor,
    from: Option<i64>,
    to: Option<i64>,
    gen: Option<&GenHandle>,
) -> Result<()> {
    check_inplace(t)?;
    let dtype = t.dtype();
    let modulus = random_default_to(dtype);
    let low = from.unwrap_or(0);
    let high: i128 = to.map_or(modulus, i128::from);
    if i128::from(low) >= high {
        return Err(Error::Runtime(format!(
            "random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )));
    }
    if to.is_some() {
        check_int_bounds(dtype, low, high)?;
    }
    if has_values(t) {
        let mut v = vec![0i64; t.numel()];
        with_gen(gen, |g| match (from, to) {
            (None, None) => {
                let wide = matches!(dtype, DType::I64 | DType::F64);
                let m = modulus as u64;
                random::fill_ints(g, &mut v, wide, Some(m), 0)
            }
            _ => match u64::try_from(high - i128::from(low)) {
                Ok(range) => random::fill_ints_in_range(g, &mut v, low, range),
                // [-2^63, 2^63): every u64 is a value.
                Err(_) => random::fill_ints(g, &mut v, true, None, 0),
            },
        });
        write_in_memory_order(t, v)?;
    }
    finish_constant_write(t, "RandomBackward0");
    Ok(())
}

/// `fill_(value)`.
pub fn fill_(t: &Tensor, value: Scalar) -> Result<()> {
    // Fills may write a self-overlapping tensor: every write stores the same value
    // (PyTorch allows it too).
    crate::autograd::view::check_inplace_autograd(t, false)?;
    crate::ops::map::fill(t, value)?;
    finish_constant_write(t, "FillBackward0");
    Ok(())
}

/// `fill_(value)` with a 0-dim tensor; gradient flows to the value.
pub fn fill_tensor_(t: &Tensor, value: &Tensor) -> Result<()> {
    if value.dim() != 0 {
        return Err(Error::Runtime(format!(
            "fill_ only supports 0-dimension value tensor but got tensor with {} dimensions.",
            value.dim()
        )));
    }
    crate::autograd::view::check_inplace_autograd(t, value.requires_grad())?;
    crate::ops::map::fill(t, value.item()?)?;
    t.storage().bump_version();
    if needs_grad(&[t, value]) {
        let vdtype = value.dtype();
        record_inplace("FillBackward1", &[t, value], t, move |_, g| {
            let gv = super::reduce::sum(g, &[], false, None)?;
            Ok(vec![
                Some(zeros_like(g)?),
                Some(super::copy::to_dtype(&gv, vdtype)?),
            ])
        });
    }
    Ok(())
}

/// `zero_()`.
pub fn zero_(t: &Tensor) -> Result<()> {
    crate::autograd::view::check_inplace_autograd(t, false)?;
    crate::ops::map::fill(t, Scalar::Int(0))?;
    finish_constant_write(t, "ZeroBackward0");
    Ok(())
}

// ----- new random tensors -----

/// `rand(shape)`: uniform in [0, 1).
pub fn rand(shape: &[usize], dtype: DType, gen: Option<&GenHandle>) -> Result<Tensor> {
    if !dtype.is_floating_point() {
        return Err(not_implemented("check_uniform_bounds", dtype));
    }
    let t = Tensor::uninit(shape, dtype, crate::device::Device::Cpu)?;
    uniform_(&t, 0.0, 1.0, gen)?;
    Ok(t)
}

/// `randn(shape)`: standard normal.
pub fn randn(shape: &[usize], dtype: DType, gen: Option<&GenHandle>) -> Result<Tensor> {
    if !dtype.is_floating_point() && !shape.contains(&0) {
        return Err(not_implemented("normal_kernel_cpu", dtype));
    }
    let t = Tensor::uninit(shape, dtype, crate::device::Device::Cpu)?;
    normal_(&t, 0.0, 1.0, gen)?;
    Ok(t)
}

/// `randint(low, high, shape)`.
pub fn randint(
    low: i64,
    high: i64,
    shape: &[usize],
    dtype: DType,
    gen: Option<&GenHandle>,
) -> Result<Tensor> {
    if low >= high {
        return Err(Error::Runtime(format!(
            "random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )));
    }
    check_int_bounds(dtype, low, i128::from(high))?;
    let range = (i128::from(high) - i128::from(low)) as u64;
    let draw = |out: &mut [i64]| {
        with_gen(gen, |g| random::fill_ints_in_range(g, out, low, range));
    };
    if dtype == DType::I64 {
        // Drawn straight into the result (randint's default dtype).
        let t = Tensor::uninit(shape, DType::I64, crate::device::Device::Cpu)?;
        // SAFETY: `t` is this op's fresh output; nothing else holds it yet.
        draw(unsafe { t.cpu_slice_mut::<i64>()? });
        return Ok(t);
    }
    let t = Tensor::uninit(shape, dtype, crate::device::Device::Cpu)?;
    let mut v = vec![0i64; t.numel()];
    draw(&mut v);
    write_in_memory_order(&t, v)?;
    Ok(t)
}

/// `randperm(n)`.
pub fn randperm(n: i64, dtype: DType, gen: Option<&GenHandle>) -> Result<Tensor> {
    let n = usize::try_from(n)
        .map_err(|_| Error::Runtime(format!("n must be non-negative, got{n}")))?;
    // The permutation is made in the result (a size that cannot exist is a
    // RuntimeError from the allocation).
    let t = Tensor::uninit(&[n], DType::I64, crate::Device::Cpu)?;
    // SAFETY: `t` is this op's fresh output; nothing else holds it yet.
    let perm = unsafe { t.cpu_slice_mut::<i64>()? };
    with_gen(gen, |g| random::randperm(g, perm));
    super::cast_view(&t, dtype)
}

/// `bernoulli(input)` (probabilities in `input`) or `bernoulli(input, p)`.
pub fn bernoulli(input: &Tensor, p: Option<f64>, gen: Option<&GenHandle>) -> Result<Tensor> {
    if p.is_none() && !input.dtype().is_floating_point() && input.numel() != 0 {
        // Probabilities come from the input's values, which must be floating.
        return Err(not_implemented("bernoulli_tensor_cpu_p_", input.dtype()));
    }
    let out = Tensor::zeros(input.shape(), input.dtype())?;
    let _guard = GradModeGuard::new(false);
    match p {
        Some(p) => bernoulli_scalar_(&out, p, gen)?,
        None => bernoulli_tensor_(&out, &input.detach(), gen)?,
    }
    Ok(out)
}

/// A mean or std argument of `normal`: a tensor or a number.
pub enum Param {
    Tensor(Tensor),
    Float(f64),
}

/// `normal(mean, std, size)` in all its overloads. Tensor arguments get a zero gradient,
/// as in PyTorch.
pub fn normal(
    mean: &Param,
    std: &Param,
    size: Option<&[usize]>,
    dtype: Option<DType>,
    gen: Option<&GenHandle>,
) -> Result<Tensor> {
    let (shape, dt) = match (mean, std) {
        (Param::Tensor(m), Param::Tensor(s)) => (
            broadcast_shapes(m.shape(), s.shape())?,
            crate::dtype::promote_types(m.dtype(), s.dtype()),
        ),
        (Param::Tensor(t), Param::Float(_)) | (Param::Float(_), Param::Tensor(t)) => {
            (t.shape().clone(), t.dtype())
        }
        (Param::Float(_), Param::Float(_)) => {
            let size = size
                .ok_or_else(|| Error::Type("normal() missing required argument 'size'".into()))?;
            (size.into(), dtype.unwrap_or_else(crate::get_default_dtype))
        }
    };
    if let Param::Float(s) = std {
        check_std(*s)?;
    }
    if let Param::Tensor(s) = std {
        if s.to_f64_vec()?.iter().any(|&v| v < 0.0) {
            return Err(Error::Runtime(
                "normal expects all elements of std >= 0.0".into(),
            ));
        }
    }
    let out = {
        let _guard = GradModeGuard::new(false);
        let z = Tensor::uninit(&shape, dt, crate::device::Device::Cpu)?;
        if let (Param::Float(m), Param::Float(s)) = (mean, std) {
            normal_(&z, *m, *s, gen)?;
            z
        } else {
            normal_(&z, 0.0, 1.0, gen)?;
            let z = match std {
                Param::Tensor(s) => mul(&z, &s.detach())?,
                Param::Float(s) => super::binary::mul_scalar(&z, Scalar::Float(*s))?,
            };
            let m = match mean {
                Param::Tensor(m) => Rhs::Tensor(m.detach()),
                Param::Float(m) => Rhs::Scalar(Scalar::Float(*m)),
            };
            add_scaled(&z, &m, Scalar::Int(1))?
        }
    };
    let out = if out.shape() != &shape {
        super::shape::expand_to(&out, &shape)?
    } else {
        out
    };
    let inputs: Vec<Tensor> = [mean, std]
        .iter()
        .filter_map(|p| match p {
            Param::Tensor(t) => Some(t.clone()),
            Param::Float(_) => None,
        })
        .collect();
    let refs: Vec<&Tensor> = inputs.iter().collect();
    if needs_grad(&refs) {
        let shapes: Vec<(crate::layout::Dims, DType)> = inputs
            .iter()
            .map(|t| (t.shape().clone(), t.dtype()))
            .collect();
        record("NormalBackward3", &refs, &out, move |_, _g| {
            shapes
                .iter()
                .map(|(s, d)| Tensor::zeros(s, *d).map(Some))
                .collect()
        });
    }
    Ok(out)
}

/// `multinomial(input, num_samples, replacement)`: indices drawn from each row's
/// (unnormalised) weights.
pub fn multinomial(
    input: &Tensor,
    num_samples: i64,
    replacement: bool,
    gen: Option<&GenHandle>,
) -> Result<Tensor> {
    if input.dim() == 0 || input.dim() > 2 {
        return Err(Error::Runtime(format!(
            "prob_dist must be 1 or 2 dim, but got {}",
            input.dim()
        )));
    }
    if !input.dtype().is_floating_point() {
        return Err(Error::Runtime(format!(
            "multinomial only supports floating-point dtypes for input, got: {}",
            input.dtype().scalar_type_name()
        )));
    }
    if num_samples <= 0 {
        return Err(Error::Runtime("cannot sample n_sample <= 0 samples".into()));
    }
    let ns = num_samples as usize;
    let cats = input.shape()[input.dim() - 1];
    if !replacement && ns > cats {
        return Err(Error::Runtime(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement".into(),
        ));
    }
    let rows = if input.dim() == 1 {
        1
    } else {
        input.shape()[0]
    };
    let w = input.to_f64_vec()?;
    let shape: Vec<usize> = if input.dim() == 1 {
        vec![ns]
    } else {
        vec![rows, ns]
    };
    if cats == 0 && rows > 0 {
        // Rows without categories: PyTorch's checks fail on them (the first on the
        // maximum of the empty rows, the second on their sums).
        return Err(Error::Runtime(if !replacement || ns == 1 {
            "aminmax(): cannot compute aminmax over an empty dimension as the operation has \
             no identity."
                .into()
        } else {
            "invalid multinomial distribution (sum of probabilities <= 0)".into()
        }));
    }
    if rows == 0 {
        return Tensor::zeros(&shape, DType::I64);
    }
    if !replacement || ns == 1 {
        return multinomial_by_exponentials(&w, input, cats, ns, gen);
    }
    // float32 and the 16-bit dtypes accumulate in float32.
    let narrow = input.dtype() != DType::F64;
    let out = multinomial_with_replacement(&w, narrow, cats, ns, gen)?;
    Tensor::from_vec(out, &shape)
}

/// PyTorch's sampling without replacement (and of one sample): `q ~ Exp(1)` per element
/// in the input's dtype, then the index of the largest `p / q` of each row (argmax), or
/// of the `ns` largest, largest first (topk): a Gumbel top-k.
fn multinomial_by_exponentials(
    w: &[f64],
    input: &Tensor,
    cats: usize,
    ns: usize,
    gen: Option<&GenHandle>,
) -> Result<Tensor> {
    if w.iter()
        .any(|&x| x.is_nan() || x == f64::INFINITY || x < 0.0)
    {
        return Err(Error::Runtime(
            "probability tensor contains either `inf`, `nan` or element < 0".into(),
        ));
    }
    if w.chunks(cats.max(1))
        .any(|row| row.iter().sum::<f64>() == 0.0)
    {
        return Err(Error::Runtime(
            "invalid multinomial distribution (sum of probabilities <= 0)".into(),
        ));
    }
    let q = Tensor::uninit(input.shape(), input.dtype(), crate::device::Device::Cpu)?;
    exponential_(&q, 1.0, gen)?;
    let _guard = GradModeGuard::new(false);
    let ratio = super::binary::div(&input.detach(), &q)?;
    if ns == 1 {
        super::reduce::argmax_argmin(&ratio, Some(-1), true, true)
    } else {
        Ok(super::sort::topk(&ratio, ns as i64, -1, true)?.1)
    }
}

/// PyTorch's sampling with replacement: each row's running sum, divided by its total
/// (the last entry set to 1), and per sample a 53-bit uniform located by binary search
/// (the first entry not below it). The sums and quotients are kept in float32 when
/// `narrow` (float32 and 16-bit inputs), else float64: computed in float64 and rounded
/// to float32 after each operation, which gives float32's own results (float64 holds
/// more than twice float32's precision, so the second rounding never differs).
fn multinomial_with_replacement(
    w: &[f64],
    narrow: bool,
    cats: usize,
    ns: usize,
    gen: Option<&GenHandle>,
) -> Result<Vec<i64>> {
    let keep = |x: f64| if narrow { f64::from(x as f32) } else { x };
    let mut out = Vec::with_capacity(w.len() / cats.max(1) * ns);
    let mut cum = vec![0f64; cats];
    with_gen(gen, |g| {
        for row in w.chunks(cats) {
            let mut sum = 0f64;
            for (c, &x) in cum.iter_mut().zip(row) {
                if x < 0.0 {
                    return Err(Error::Runtime(
                        "invalid multinomial distribution (encountering probability entry < 0)"
                            .into(),
                    ));
                }
                if !x.is_finite() {
                    return Err(Error::Runtime(
                        "invalid multinomial distribution (encountering probability entry = \
                         infinity or NaN)"
                            .into(),
                    ));
                }
                sum = keep(sum + keep(x));
                *c = sum;
            }
            if sum.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
                return Err(Error::Runtime(
                    "invalid multinomial distribution (sum of probabilities <= 0)".into(),
                ));
            }
            for c in cum.iter_mut() {
                *c = keep(*c / sum);
            }
            if let Some(last) = cum.last_mut() {
                *last = 1.0;
            }
            for _ in 0..ns {
                let u = random::unit_f64(g.next_u64());
                out.push(cum.partition_point(|&c| c < u) as i64);
            }
        }
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_generators_repeat() {
        let g1 = new_generator(42);
        let g2 = new_generator(42);
        let a = rand(&[100], DType::F32, Some(&g1)).unwrap();
        let b = rand(&[100], DType::F32, Some(&g2)).unwrap();
        assert_eq!(a.to_f64_vec().unwrap(), b.to_f64_vec().unwrap());
        let p = randperm(50, DType::I64, Some(&g1)).unwrap();
        let mut v = p.to_f64_vec().unwrap();
        v.sort_by(|x, y| x.partial_cmp(y).unwrap());
        assert_eq!(v, (0..50).map(|i| i as f64).collect::<Vec<_>>());
    }
}
