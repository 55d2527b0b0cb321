//! softmax / log_softmax along one dim, numerically stable (max subtracted): one
//! fused SIMD kernel per row (`cpu::softmax`), the middle-dim case without a
//! transposing copy. Backward is its own fused kernel; when a graph is built through
//! the backward (double backward) the same formula runs in differentiable ops.

use crate::autograd::{needs_grad, record, SavedTensor};
use crate::cpu::math::capability;
use crate::cpu::softmax::{self as cpu, SoftmaxFloat};
use crate::dtype::DType;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::layout::normalize_dim;
use crate::tensor::Tensor;

/// The input in the dtype asked for and the normalised dim. Integer and bool inputs are
/// PyTorch's NotImplementedError, naming its kernel, unless they are empty: PyTorch
/// returns those before dispatching on the dtype (the caller returns an empty copy).
fn prepare(t: &Tensor, dim: i64, dtype: Option<DType>, log: bool) -> Result<(Tensor, usize)> {
    let d = normalize_dim(dim, t.dim())?;
    let src = match dtype {
        Some(dt) => super::copy::to_dtype(t, dt)?,
        None => t.clone(),
    };
    if !src.dtype().is_floating_point() && src.numel() > 0 {
        let last = t.dim() == 0 || d == t.dim() - 1;
        let kernel = match (log, last) {
            (false, true) => "softmax_lastdim_kernel_impl",
            (false, false) => "softmax_kernel_impl",
            (true, true) => "log_softmax_lastdim_kernel_impl",
            (true, false) => "log_softmax_kernel_impl",
        };
        return Err(Error::NotImplemented(format!(
            "\"{kernel}\" not implemented for '{}'",
            src.dtype().scalar_type_name()
        )));
    }
    Ok((src, d))
}

/// `t` as a contiguous buffer of `T`, detached (for kernels).
pub(crate) fn dense<T: Element>(t: &Tensor) -> Result<Tensor> {
    let c = super::cast_view(&t.detach(), T::DTYPE)?;
    if c.is_contiguous() {
        Ok(c)
    } else {
        super::copy::clone_contiguous(&c)
    }
}

/// `(outer, n, inner)`: the sizes before, at and after dim `d` (a 0-dim tensor is one
/// row of one).
pub(crate) fn geometry(shape: &[usize], d: usize) -> (usize, usize, usize) {
    if shape.is_empty() {
        return (1, 1, 1);
    }
    let outer = shape[..d].iter().product();
    let inner = shape[d + 1..].iter().product();
    (outer, shape[d], inner)
}

/// Softmax or log_softmax of `src` along `d`, computed in `T` (f16/bf16 in f32).
fn forward_kernel<T: Element + SoftmaxFloat>(src: &Tensor, d: usize, log: bool) -> Result<Tensor> {
    let x = dense::<T>(src)?;
    let out = Tensor::uninit(src.shape(), T::DTYPE, src.device())?;
    let numel = out.numel();
    if numel > 0 && Tensor::has_values(&out, &[&x])? {
        let xs = x
            .as_slice::<T>()
            .ok_or_else(|| Error::Runtime("softmax: expected a contiguous CPU tensor".into()))?;
        // SAFETY: `out` is a fresh contiguous buffer of `numel` T that nothing else
        // references until it is returned.
        let os = unsafe { out.cpu_slice_mut::<T>()? };
        let (outer, n, inner) = geometry(src.shape(), d);
        let cap = capability();
        if inner == 1 {
            cpu::softmax_lastdim(cap, xs, os, n, log);
        } else {
            cpu::softmax_middle(cap, xs, os, (outer, n, inner), log);
        }
    }
    super::cast_view(&out, src.dtype())
}

fn forward(src: &Tensor, d: usize, log: bool) -> Result<Tensor> {
    if src.dtype() == DType::F64 {
        forward_kernel::<f64>(src, d, log)
    } else {
        forward_kernel::<f32>(src, d, log)
    }
}

fn backward_kernel<T: Element + SoftmaxFloat>(
    g: &Tensor,
    y: &Tensor,
    d: usize,
    log: bool,
) -> Result<Tensor> {
    let gd = dense::<T>(g)?;
    let yd = dense::<T>(y)?;
    let out = Tensor::uninit(y.shape(), T::DTYPE, y.device())?;
    let numel = out.numel();
    if numel > 0 && Tensor::has_values(&out, &[&gd, &yd])? {
        let err = || Error::Runtime("softmax backward: expected contiguous CPU tensors".into());
        let gs = gd.as_slice::<T>().ok_or_else(err)?;
        let ys = yd.as_slice::<T>().ok_or_else(err)?;
        // SAFETY: `out` is a fresh contiguous buffer of `numel` T that nothing else
        // references until it is returned.
        let os = unsafe { out.cpu_slice_mut::<T>()? };
        let (outer, n, inner) = geometry(y.shape(), d);
        let cap = capability();
        if inner == 1 {
            cpu::softmax_backward_lastdim(cap, gs, ys, os, n, log);
        } else {
            cpu::softmax_backward_middle(cap, gs, ys, os, (outer, n, inner), log);
        }
    }
    super::cast_view(&out, y.dtype())
}

/// The input gradient of softmax (`log = false`: `y (g - sum(g y))`) or log_softmax
/// (`g - exp(y) sum(g)`) from the output `y` and its gradient `g`. One fused kernel,
/// unless a graph is being built through it (double backward): then the same formula
/// in differentiable ops.
pub fn softmax_backward_data(g: &Tensor, y: &Tensor, dim: i64, log: bool) -> Result<Tensor> {
    let d = normalize_dim(dim, y.dim())?;
    if g.shape() != y.shape() {
        return Err(Error::Runtime(format!(
            "softmax backward: grad_output shape {} does not match output shape {}",
            crate::layout::fmt_shape(g.shape()),
            crate::layout::fmt_shape(y.shape())
        )));
    }
    if needs_grad(&[g, y]) {
        use super::binary::{mul, sub};
        let dd = [d as i64];
        return if log {
            let s = super::reduce::sum(g, &dd, true, None)?;
            let p = super::unary::exp(y)?;
            sub(g, &mul(&p, &s)?)
        } else {
            let gy = mul(g, y)?;
            let s = super::reduce::sum(&gy, &dd, true, None)?;
            sub(&gy, &mul(y, &s)?)
        };
    }
    if y.dtype() == DType::F64 {
        backward_kernel::<f64>(g, y, d, log)
    } else {
        backward_kernel::<f32>(g, y, d, log)
    }
}

/// `softmax(dim, dtype)`.
pub fn softmax(t: &Tensor, dim: i64, dtype: Option<DType>) -> Result<Tensor> {
    let (src, d) = prepare(t, dim, dtype, false)?;
    if !src.dtype().is_floating_point() {
        return super::copy::clone_contiguous(&src.detach());
    }
    let out = forward(&src, d, false)?;
    if needs_grad(&[&src]) {
        let so = SavedTensor::output(&out, 0);
        record("SoftmaxBackward0", &[&src], &out, move |ctx, g| {
            let y = so.unpack(ctx)?;
            Ok(vec![Some(softmax_backward_data(g, &y, d as i64, false)?)])
        });
    }
    Ok(out)
}

/// `log_softmax(dim, dtype)`.
pub fn log_softmax(t: &Tensor, dim: i64, dtype: Option<DType>) -> Result<Tensor> {
    let (src, d) = prepare(t, dim, dtype, true)?;
    if !src.dtype().is_floating_point() {
        return super::copy::clone_contiguous(&src.detach());
    }
    let out = forward(&src, d, true)?;
    if needs_grad(&[&src]) {
        let so = SavedTensor::output(&out, 0);
        record("LogSoftmaxBackward0", &[&src], &out, move |ctx, g| {
            let y = so.unpack(ctx)?;
            Ok(vec![Some(softmax_backward_data(g, &y, d as i64, true)?)])
        });
    }
    Ok(out)
}
