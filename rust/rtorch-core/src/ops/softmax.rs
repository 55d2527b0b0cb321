//! softmax / log_softmax along one dim, numerically stable (max subtracted), with
//! backward formulas written in differentiable ops (double backward works).

use super::scan::lane_apply;
use crate::autograd::{needs_grad, record, SavedTensor};
use crate::dtype::DType;
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

macro_rules! max_of {
    ($x:expr, $t:ty) => {{
        let m = $x.iter().fold(<$t>::NEG_INFINITY, |a, &b| {
            if a.is_nan() || b.is_nan() {
                <$t>::NAN
            } else {
                a.max(b)
            }
        });
        if m.is_infinite() {
            0.0
        } else {
            m
        }
    }};
}

macro_rules! softmax_kernel {
    ($src:expr, $d:expr, $t:ty) => {
        lane_apply::<$t>($src, $d, $src.dtype(), |x, o| {
            let m = max_of!(x, $t);
            let mut s = 0.0;
            for (v, r) in x.iter().zip(o.iter_mut()) {
                *r = (v - m).exp();
                s += *r;
            }
            let inv = 1.0 / s;
            for r in o.iter_mut() {
                *r *= inv;
            }
        })
    };
}

macro_rules! log_softmax_kernel {
    ($src:expr, $d:expr, $t:ty) => {
        lane_apply::<$t>($src, $d, $src.dtype(), |x, o| {
            let m = max_of!(x, $t);
            let ls = x.iter().map(|v| (v - m).exp()).sum::<$t>().ln();
            for (v, r) in x.iter().zip(o.iter_mut()) {
                *r = (v - m) - ls;
            }
        })
    };
}

/// `softmax(dim, dtype)`.
pub fn softmax(t: &Tensor, dim: i64, dtype: Option<DType>) -> Result<Tensor> {
    let (src, d) = prepare(t, dim, dtype)?;
    let out = if src.dtype() == DType::F64 {
        softmax_kernel!(&src, d, f64)?
    } else {
        softmax_kernel!(&src, d, f32)?
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
        log_softmax_kernel!(&src, d, f64)?
    } else {
        log_softmax_kernel!(&src, d, f32)?
    };
    if needs_grad(&[&src]) {
        let so = SavedTensor::output(&out, 0);
        record("LogSoftmaxBackward0", &[&src], &out, move |ctx, g| {
            use super::binary::{mul, sub};
            let y = so.unpack(ctx)?;
            let s = super::reduce::sum(g, &[d as i64], true, None)?;
            let p = super::reduce::exp_d(&y)?;
            Ok(vec![Some(sub(g, &mul(&p, &s)?)?)])
        });
    }
    Ok(out)
}
