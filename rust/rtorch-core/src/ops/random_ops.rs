//! Random tensors and in-place random fills on the Philox generator, plus `fill_` and
//! `zero_`.
//!
//! Every draw goes through a [`GenHandle`]: the process-wide default generator unless
//! the caller passes its own. Fills are computed from element indices only (see
//! `crate::random`), so results are identical for any thread count.

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

/// Contiguous values drawn by `fill32` / `fill64` (by the dtype's precision) written into
/// `t` with conversion; `t` may have any layout.
fn write_draw(
    t: &Tensor,
    gen: Option<&GenHandle>,
    fill32: impl FnOnce(&mut Generator, &mut [f32]),
    fill64: impl FnOnce(&mut Generator, &mut [f64]),
) -> Result<()> {
    if !has_values(t) {
        return Ok(());
    }
    // A contiguous float32/float64 tensor is drawn into directly (the same values: the
    // draw depends on the element index only), without a staging copy.
    if t.is_contiguous() {
        match t.dtype() {
            DType::F32 => {
                // SAFETY: `t` is the in-place op's own output; nothing else touches its
                // storage while this op runs.
                let out = unsafe { t.cpu_slice_mut::<f32>()? };
                with_gen(gen, |g| fill32(g, out));
                return Ok(());
            }
            DType::F64 => {
                // SAFETY: as above.
                let out = unsafe { t.cpu_slice_mut::<f64>()? };
                with_gen(gen, |g| fill64(g, out));
                return Ok(());
            }
            _ => {}
        }
    }
    // Otherwise drawn into a fresh tensor of the draw's precision and converted.
    let wide = t.dtype() == DType::F64;
    let src_dtype = if wide { DType::F64 } else { DType::F32 };
    let src = Tensor::uninit(t.shape(), src_dtype, crate::device::Device::Cpu)?;
    // SAFETY (both): `src` is this function's fresh tensor; nothing else holds it.
    if wide {
        let out = unsafe { src.cpu_slice_mut::<f64>()? };
        with_gen(gen, |g| fill64(g, out));
    } else {
        let out = unsafe { src.cpu_slice_mut::<f32>()? };
        with_gen(gen, |g| fill32(g, out));
    }
    crate::ops::map::copy_cast(t, &src)?;
    Ok(())
}

// ----- in-place fills -----

/// False for a tensor without values (meta): in-place draws into it draw nothing and
/// leave the generator where it was, as PyTorch's meta kernels do.
fn has_values(t: &Tensor) -> bool {
    t.device() != crate::device::Device::Meta
}

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
    write_draw(
        t,
        gen,
        |g, v| random::fill_uniform_f32(g, v, from as f32, to as f32),
        |g, v| random::fill_uniform_f64(g, v, from, to),
    )?;
    finish_constant_write(t, "UniformBackward0");
    Ok(())
}

fn check_std(std: f64) -> Result<()> {
    if std.is_nan() || std < 0.0 {
        return Err(Error::Runtime(format!(
            "normal expects std >= 0.0, but found std {std}"
        )));
    }
    Ok(())
}

/// `normal_(mean, std)`.
pub fn normal_(t: &Tensor, mean: f64, std: f64, gen: Option<&GenHandle>) -> Result<()> {
    check_inplace(t)?;
    if !t.dtype().is_floating_point() {
        return Err(not_implemented("normal_kernel_cpu", t.dtype()));
    }
    check_std(std)?;
    write_draw(
        t,
        gen,
        |g, v| random::fill_normal_f32(g, v, mean as f32, std as f32),
        |g, v| random::fill_normal_f64(g, v, mean, std),
    )?;
    finish_constant_write(t, "NormalBackward0");
    Ok(())
}

/// `exponential_(lambd)`.
pub fn exponential_(t: &Tensor, lambd: f64, gen: Option<&GenHandle>) -> Result<()> {
    check_inplace(t)?;
    if !t.dtype().is_floating_point() {
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
        with_gen(gen, |g| random::fill_exponential_f64(g, &mut v, lambd));
        let src = Tensor::from_vec(v, t.shape())?;
        crate::ops::map::copy_cast(t, &src)?;
    }
    finish_constant_write(t, "ExponentialBackward0");
    Ok(())
}

/// Uniform probabilities in [0, 1) as f64, one per element of `shape`.
fn unit_draws(n: usize, gen: Option<&GenHandle>) -> Vec<f64> {
    let mut v = vec![0f64; n];
    with_gen(gen, |g| random::fill_uniform_f64(g, &mut v, 0.0, 1.0));
    v
}

/// `bernoulli_(p)` with a float probability.
pub fn bernoulli_scalar_(t: &Tensor, p: f64, gen: Option<&GenHandle>) -> Result<()> {
    check_inplace(t)?;
    if !(0.0..=1.0).contains(&p) {
        return Err(Error::Runtime(format!(
            "bernoulli_ expects p to be in [0, 1], but got p={p}"
        )));
    }
    // Float tensors (dropout's masks) take the other fills' route: contiguous float32 /
    // float64 ones are written in place, in one pass.
    if t.dtype().is_floating_point() {
        write_draw(
            t,
            gen,
            |g, v| random::fill_bernoulli(g, v, p, 1.0, 0.0),
            |g, v| random::fill_bernoulli(g, v, p, 1.0, 0.0),
        )?;
    } else if has_values(t) {
        let u = unit_draws(t.numel(), gen);
        let v: Vec<u8> = u.into_iter().map(|x| (x < p) as u8).collect();
        crate::ops::map::copy_cast(t, &Tensor::from_vec(v, t.shape())?)?;
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

/// `bernoulli_(p)` with a tensor of probabilities broadcast to `t`.
pub fn bernoulli_tensor_(t: &Tensor, p: &Tensor, gen: Option<&GenHandle>) -> Result<()> {
    check_inplace(t)?;
    let pe = super::expand_view(p, t.shape())?;
    if !Tensor::has_values(t, &[&pe])? {
        finish_constant_write(t, "BernoulliBackward1");
        return Ok(());
    }
    let probs = pe.to_f64_vec()?;
    check_probs(&probs)?;
    let u = unit_draws(t.numel(), gen);
    let v: Vec<u8> = u.iter().zip(&probs).map(|(&x, &p)| (x < p) as u8).collect();
    crate::ops::map::copy_cast(t, &Tensor::from_vec(v, t.shape())?)?;
    finish_constant_write(t, "BernoulliBackward1");
    Ok(())
}

/// The largest integer `random_()` produces for `dtype`, plus one.
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

/// `random_(from, to)`: integers in [from, to); `to=None` means the dtype's maximum
/// (inclusive), as PyTorch's `random_()` / `random_(from, None)`.
pub fn random_(t: &Tensor, from: i64, to: Option<i64>, gen: Option<&GenHandle>) -> Result<()> {
    check_inplace(t)?;
    let to: i128 = match to {
        Some(to) => to as i128,
        None => random_default_to(t.dtype()),
    };
    if (from as i128) >= to {
        return Err(Error::Runtime(format!(
            "random_ expects 'from' to be less than 'to', but got from={from} >= to={to}"
        )));
    }
    let bound = (to - from as i128) as u64;
    fill_ints(t, from, bound, gen)?;
    finish_constant_write(t, "RandomBackward0");
    Ok(())
}

fn fill_ints(t: &Tensor, low: i64, bound: u64, gen: Option<&GenHandle>) -> Result<()> {
    if !has_values(t) {
        return Ok(());
    }
    // Drawn straight into a contiguous int64 tensor (randint's default), else into a
    // fresh one and converted: no staging vectors (their page faults took longer than
    // the draw).
    let draw = |out: &mut [i64]| {
        with_gen(gen, |g| random::fill_random_ints(g, out, low, bound)).map_err(Error::Runtime)
    };
    if t.is_contiguous() && t.dtype() == DType::I64 {
        // SAFETY: `t` is the in-place op's own output; nothing else touches its storage
        // while this op runs.
        return draw(unsafe { t.cpu_slice_mut::<i64>()? });
    }
    let src = Tensor::uninit(t.shape(), DType::I64, crate::device::Device::Cpu)?;
    // SAFETY: `src` is this function's fresh tensor; nothing else holds it.
    draw(unsafe { src.cpu_slice_mut::<i64>()? })?;
    crate::ops::map::copy_cast(t, &src)
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
    if !dtype.is_floating_point() {
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
    let t = Tensor::uninit(shape, dtype, crate::device::Device::Cpu)?;
    fill_ints(&t, low, (high as i128 - low as i128) as u64, gen)?;
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
    if p.is_none() && !input.dtype().is_floating_point() {
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
    if w.iter().any(|&x| !x.is_finite() || x < 0.0) {
        return Err(Error::Runtime(
            "probability tensor contains either `inf`, `nan` or element < 0".into(),
        ));
    }
    let u = unit_draws(rows * ns, gen);
    let mut out = Vec::with_capacity(rows * ns);
    for r in 0..rows {
        let mut row: Vec<f64> = w[r * cats..(r + 1) * cats].to_vec();
        let total: f64 = row.iter().sum();
        if total <= 0.0 {
            return Err(Error::Runtime(
                "invalid multinomial distribution (sum of probabilities <= 0)".into(),
            ));
        }
        let mut remaining = total;
        for s in 0..ns {
            let target = u[r * ns + s] * remaining;
            let mut acc = 0.0;
            let mut pick = None;
            let mut last_nonzero = 0;
            for (i, &x) in row.iter().enumerate() {
                if x > 0.0 {
                    last_nonzero = i;
                    acc += x;
                    if target < acc {
                        pick = Some(i);
                        break;
                    }
                }
            }
            let i = pick.unwrap_or(last_nonzero);
            out.push(i as i64);
            if !replacement {
                remaining -= row[i];
                row[i] = 0.0;
                if remaining <= 0.0 {
                    remaining = row.iter().sum();
                }
            }
        }
    }
    let shape: Vec<usize> = if input.dim() == 1 {
        vec![ns]
    } else {
        vec![rows, ns]
    };
    Tensor::from_vec(out, &shape)
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
