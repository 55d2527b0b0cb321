//! softmax / log_softmax along one dim, numerically stable (max subtracted), with
//! backward formulas written in differentiable ops (double backward works).

use super::scan::lane_apply;
use crate::autograd::{needs_grad, record, SavedTensor};
use crate::dtype::DType;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::layout::normalize_dim;
use crate::tensor::Tensor;

fn prepare(t: &Tensor, dim: i64, dtype: Option<DType>) -> Result<(Tensor, usize)> {
    let d = normalize_dim(dim, t.dim())?;
    let src = match dtype {
        Some(dt) => super::copy::to_dtype(t, dt)?,
        None => t.clone(),
    };
    if !src.dtype().is_floating_point() {
        let last = t.dim() == 0 || d == t.dim() - 1;
        let kernel = if last {
            "softmax_lastdim_kernel_impl"
        } else {
            "softmax_kernel_impl"
        };
        return Err(Error::NotImplemented(format!(
            "\"{kernel}\" not implemented for '{}'",
            src.dtype().scalar_type_name()
        )));
    }
    Ok((src, d))
}

/// The shift that keeps `exp` in range: the row's max. NaNs are skipped here and
/// still propagate through `exp` and the sum; a row holding +inf (or only -inf) gives
/// NaN everywhere, as in PyTorch.
fn row_shift<T: Float>(x: &[T]) -> T {
    x.iter()
        .fold(T::NEG_INFINITY, |a, &b| if b > a { b } else { a })
}

/// The float types softmax computes in, with their fastest `exp` over a slice.
trait Float:
    Element
    + Default
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
{
    const NEG_INFINITY: Self;
    fn exp_inplace(x: &mut [Self]);
    fn sum(x: &[Self]) -> Self;
    fn ln(self) -> Self;
}

impl Float for f32 {
    const NEG_INFINITY: f32 = f32::NEG_INFINITY;
    fn exp_inplace(x: &mut [f32]) {
        crate::cpu::math::exp_slice_inplace(x)
    }
    fn sum(x: &[f32]) -> f32 {
        crate::cpu::reduce_simd::sum_f32(x)
    }
    fn ln(self) -> f32 {
        f32::ln(self)
    }
}

impl Float for f64 {
    const NEG_INFINITY: f64 = f64::NEG_INFINITY;
    fn exp_inplace(x: &mut [f64]) {
        x.iter_mut().for_each(|v| *v = v.exp());
    }
    fn sum(x: &[f64]) -> f64 {
        crate::cpu::reduce_simd::sum_f64(x)
    }
    fn ln(self) -> f64 {
        f64::ln(self)
    }
}

/// One softmax row: `o = exp(x - m) / sum`.
fn softmax_row<T: Float>(x: &[T], o: &mut [T]) {
    let m = row_shift(x);
    for (r, &v) in o.iter_mut().zip(x) {
        *r = v - m;
    }
    T::exp_inplace(o);
    let inv = T::from_f64(1.0) / T::sum(o);
    o.iter_mut().for_each(|r| *r = *r * inv);
}

/// One log_softmax row: `o = (x - m) - ln(sum(exp(x - m)))`, with `o` as scratch.
fn log_softmax_row<T: Float>(x: &[T], o: &mut [T]) {
    let m = row_shift(x);
    for (r, &v) in o.iter_mut().zip(x) {
        *r = v - m;
    }
    T::exp_inplace(o);
    let ls = T::sum(o).ln();
    for (r, &v) in o.iter_mut().zip(x) {
        *r = (v - m) - ls;
    }
}

/// `softmax(dim, dtype)`.
pub fn softmax(t: &Tensor, dim: i64, dtype: Option<DType>) -> Result<Tensor> {
    let (src, d) = prepare(t, dim, dtype)?;
    let out = if src.dtype() == DType::F64 {
        lane_apply::<f64>(&src, d, DType::F64, softmax_row)?
    } else {
        lane_apply::<f32>(&src, d, src.dtype(), softmax_row)?
    };
    if needs_grad(&[&src]) {
        let so = SavedTensor::output(&out, 0);
        record("SoftmaxBackward0", &[&src], &out, move |ctx, g| {
            use super::binary::{mul, sub};
            let y = so.unpack(ctx)?;
            let gy = mul(g, &y)?;
            let s = super::reduce::sum(&gy, &[d as i64], true, None)?;
            Ok(vec![Some(sub(&gy, &mul(&y, &s)?)?)])
        });
    }
    Ok(out)
}

/// `log_softmax(dim, dtype)`.
pub fn log_softmax(t: &Tensor, dim: i64, dtype: Option<DType>) -> Result<Tensor> {
    let (src, d) = prepare(t, dim, dtype)?;
    let out = if src.dtype() == DType::F64 {
        lane_apply::<f64>(&src, d, DType::F64, log_softmax_row)?
    } else {
        lane_apply::<f32>(&src, d, src.dtype(), log_softmax_row)?
    };
    if needs_grad(&[&src]) {
        let so = SavedTensor::output(&out, 0);
        record("LogSoftmaxBackward0", &[&src], &out, move |ctx, g| {
            use super::binary::{mul, sub};
            let y = so.unpack(ctx)?;
            let s = super::reduce::sum(g, &[d as i64], true, None)?;
            let p = super::unary::exp(&y)?;
            Ok(vec![Some(sub(g, &mul(&p, &s)?)?)])
        });
    }
    Ok(out)
}
