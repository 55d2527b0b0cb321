//! `glu(x, dim)`: `a sigmoid(b)` for the halves `a` and `b` of `x` along `dim`, one
//! fused float32 kernel each way (`cpu::glu`); float16 and bfloat16 compute in float32
//! and round once, as PyTorch's kernel does. Float64, and the backward when a graph is
//! built through it (double backward), run the same formulas in tensor ops.

use super::softmax::{dense, geometry};
use crate::autograd::{needs_grad, record, SavedTensor};
use crate::cpu::glu as cpu;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::layout::normalize_dim;
use crate::tensor::Tensor;

/// Halves shorter than this (per row of the dims before `dim`) are first laid out as
/// one long row, all the `a`s then all the `b`s: the kernels pay a call per row.
const SHORT: usize = 64;

/// PyTorch's checks, in its order; the normalised dim.
fn check(x: &Tensor, dim: i64) -> Result<usize> {
    if !x.dtype().is_floating_point() {
        return Err(super::unary::not_implemented("glu_cpu", x.dtype()));
    }
    if x.dim() == 0 {
        return Err(Error::Runtime(
            "glu does not support scalars because halving size must be even".into(),
        ));
    }
    let d = normalize_dim(dim, x.dim())?;
    let size = x.shape()[d];
    if !size.is_multiple_of(2) {
        return Err(Error::Runtime(format!(
            "Halving dimension must be even, but dimension {d} is size {size}"
        )));
    }
    Ok(d)
}

/// `(rows, m)`: `x` as rows of `2 m` values, `a` then `b`.
fn rows_of(x: &Tensor, d: usize) -> (usize, usize) {
    let (outer, n, inner) = geometry(x.shape(), d);
    (outer, n / 2 * inner)
}

/// `x` (detached, in float32) laid out for the kernels, and the half length `m` they
/// take: contiguous as it is, or with short halves as one row, all the `a`s then the
/// `b`s.
fn kernel_input(x: &Tensor, d: usize) -> Result<(Tensor, usize)> {
    let (rows, m) = rows_of(x, d);
    if m >= SHORT || rows == 1 {
        return Ok((dense::<f32>(x)?, m));
    }
    let pairs = super::shape::reshape_to(&x.detach(), &[rows, 2, m])?;
    let gathered = super::shape::transpose(&pairs, 0, 1)?;
    Ok((dense::<f32>(&gathered)?, rows * m))
}

/// The halves `a` and `sigmoid(b)` of `x` along `d`, as tensor ops.
fn halves(x: &Tensor, d: usize) -> Result<(Tensor, Tensor)> {
    let h = (x.shape()[d] / 2) as i64;
    let a = super::shape::narrow(x, d as i64, 0, h)?;
    let s = super::unary::sigmoid(&super::shape::narrow(x, d as i64, h, h)?)?;
    Ok((a, s))
}

fn forward_kernel(x: &Tensor, d: usize) -> Result<Tensor> {
    if x.dtype() == DType::F64 {
        let (a, s) = halves(&x.detach(), d)?;
        return super::binary::mul(&a, &s);
    }
    let mut shape = x.shape().to_vec();
    shape[d] /= 2;
    let out = Tensor::uninit(&shape, DType::F32, x.device())?;
    if out.numel() > 0 && Tensor::has_values(&out, &[x])? {
        let (xd, m) = kernel_input(x, d)?;
        let xs = xd
            .as_slice::<f32>()
            .ok_or_else(|| Error::Runtime("glu: expected a contiguous CPU tensor".into()))?;
        // SAFETY: `out` is a fresh contiguous buffer that nothing else references until
        // it is returned.
        let os = unsafe { out.cpu_slice_mut::<f32>()? };
        cpu::glu_forward(xs, os, m);
    }
    super::cast_view(&out, x.dtype())
}

fn backward_kernel(g: &Tensor, x: &Tensor, d: usize) -> Result<Tensor> {
    let gx = Tensor::uninit(x.shape(), DType::F32, x.device())?;
    if gx.numel() > 0 && Tensor::has_values(&gx, &[g, x])? {
        let (xd, km) = kernel_input(x, d)?;
        let gd = dense::<f32>(g)?;
        let err = || Error::Runtime("glu backward: expected contiguous CPU tensors".into());
        let xs = xd.as_slice::<f32>().ok_or_else(err)?;
        let gs = gd.as_slice::<f32>().ok_or_else(err)?;
        // SAFETY: `gx` is a fresh contiguous buffer that nothing else references until
        // it is returned.
        let gxs = unsafe { gx.cpu_slice_mut::<f32>()? };
        cpu::glu_backward(xs, gs, gxs, km);
        let (rows, m) = rows_of(x, d);
        if km != m {
            // Short halves, laid out as one row: the kernel wrote all the `a`
            // gradients, then all the `b` ones.
            let parts = super::shape::reshape_to(&gx, &[2, rows, m])?;
            let pairs = super::copy::clone_contiguous(&super::shape::transpose(&parts, 0, 1)?)?;
            return super::cast_view(&super::shape::reshape_to(&pairs, x.shape())?, x.dtype());
        }
    }
    super::cast_view(&gx, x.dtype())
}

/// The gradient of glu's input from that of its output: `g s` for `a` and
/// `g s (1 - s) a` for `b`, `s = sigmoid(b)`.
pub fn glu_backward(g: &Tensor, x: &Tensor, dim: i64) -> Result<Tensor> {
    let d = check(x, dim)?;
    let mut half = x.shape().to_vec();
    half[d] /= 2;
    if g.shape().as_slice() != half.as_slice() {
        return Err(Error::Runtime(format!(
            "glu backward: grad_output shape {} does not match output shape {}",
            crate::layout::fmt_shape(g.shape()),
            crate::layout::fmt_shape(&half)
        )));
    }
    if x.dtype() == DType::F64 || needs_grad(&[g, x]) {
        use super::binary::{mul, rsub_scalar};
        let (a, s) = halves(x, d)?;
        let ga = mul(g, &s)?;
        let gb = mul(&mul(&ga, &rsub_scalar(&s, Scalar::Int(1))?)?, &a)?;
        return super::shape::cat(&[ga, gb], d as i64);
    }
    backward_kernel(g, x, d)
}

/// `glu(input, dim)`.
pub fn glu(x: &Tensor, dim: i64) -> Result<Tensor> {
    let d = check(x, dim)?;
    let out = forward_kernel(x, d)?;
    if needs_grad(&[x]) {
        let sx = SavedTensor::input(x);
        record("GluBackward0", &[x], &out, move |ctx, g| {
            let x = sx.unpack(ctx)?;
            Ok(vec![Some(glu_backward(g, &x, d as i64)?)])
        });
    }
    Ok(out)
}
