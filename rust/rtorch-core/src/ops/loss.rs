//! `cross_entropy` with class-index targets as one fused op (`cpu::loss`): input
//! (N, C) or (N, C, d1, ...), `weight`, `ignore_index`, `label_smoothing`, reduction
//! none / mean / sum with PyTorch's definitions (a weighted mean divides by the summed
//! weights of the kept targets; the smoothing term is normalised the same way).
//!
//! Backward is a fused kernel too (softmax minus the target distribution, scaled).
//! When a graph is built through the backward (double backward), the same gradient
//! is formed from differentiable ops instead.

use std::sync::Arc;

use super::softmax::{dense, geometry};
use crate::autograd::{is_grad_enabled, needs_grad, record, SavedTensor};
use crate::cpu::loss::CrossEntropy;
use crate::cpu::math::capability;
use crate::cpu::softmax::SoftmaxFloat;
use crate::dtype::DType;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// PyTorch's reduction enum values.
pub const REDUCTION_NONE: i64 = 0;
pub const REDUCTION_MEAN: i64 = 1;
pub const REDUCTION_SUM: i64 = 2;

fn checks(input: &Tensor, target: &Tensor, weight: Option<&Tensor>, reduction: i64) -> Result<()> {
    if !(REDUCTION_NONE..=REDUCTION_SUM).contains(&reduction) {
        return Err(Error::Value(format!(
            "{reduction} is not a valid value for reduction"
        )));
    }
    if !input.dtype().is_floating_point() {
        return Err(Error::NotImplemented(format!(
            "\"log_softmax_lastdim_kernel_impl\" not implemented for '{}'",
            input.dtype().scalar_type_name()
        )));
    }
    if input.dim() < 2 {
        return Err(Error::Value(format!(
            "cross_entropy: expected input of 2 or more dimensions (got {})",
            input.dim()
        )));
    }
    let shape = input.shape();
    let want: Vec<usize> = std::iter::once(shape[0])
        .chain(shape[2..].iter().copied())
        .collect();
    if target.shape().as_slice() != want.as_slice() {
        return Err(Error::Runtime(format!(
            "Expected target size {}, got {}",
            crate::layout::fmt_shape(&want),
            crate::layout::fmt_shape(target.shape())
        )));
    }
    if !matches!(target.dtype(), DType::I64 | DType::U8) {
        return Err(Error::Runtime(format!(
            "expected target dtype to be Long or Byte, but got {}",
            target.dtype().scalar_type_name()
        )));
    }
    if let Some(w) = weight {
        if w.numel() != shape[1] {
            return Err(Error::Runtime(format!(
                "weight tensor should be defined either for all {} classes or no classes but got weight tensor of shape: {}",
                shape[1],
                crate::layout::fmt_shape(w.shape())
            )));
        }
    }
    Ok(())
}

/// `cross_entropy(input, target, weight, reduction, ignore_index, label_smoothing)`
/// for class-index targets.
pub fn cross_entropy(
    input: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
    reduction: i64,
    ignore_index: i64,
    label_smoothing: f64,
) -> Result<Tensor> {
    checks(input, target, weight, reduction)?;
    if !(0.0..=1.0).contains(&label_smoothing) {
        return Err(Error::Runtime(format!(
            "label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}"
        )));
    }
    if super::any_meta(&[input, target]) {
        let shape: &[usize] = if reduction == 0 { target.shape() } else { &[] };
        let mut given = vec![input, target];
        given.extend(weight);
        return super::meta_result("NllLossBackward0", &given, shape, input.dtype());
    }
    if input.dtype() == DType::F64 {
        ce_impl::<f64>(
            input,
            target,
            weight,
            reduction,
            ignore_index,
            label_smoothing,
        )
    } else {
        ce_impl::<f32>(
            input,
            target,
            weight,
            reduction,
            ignore_index,
            label_smoothing,
        )
    }
}

/// What the backward keeps.
struct Saved<T> {
    target: Vec<i64>,
    weight: Option<Vec<T>>,
    lse: Vec<T>,
    dims: (usize, usize, usize),
    shape: Vec<usize>,
    reduction: i64,
    ignore_index: i64,
    label_smoothing: f64,
    denom: f64,
}

impl<T: SoftmaxFloat> Saved<T> {
    fn problem(&self) -> CrossEntropy<'_, T> {
        CrossEntropy {
            n: self.dims.0,
            c: self.dims.1,
            inner: self.dims.2,
            target: &self.target,
            weight: self.weight.as_deref(),
            ignore_index: self.ignore_index,
            label_smoothing: self.label_smoothing,
        }
    }

    /// Per-sample multiplier of the output gradient (`1/denom` for mean, else 1), 0
    /// for ignored samples is applied by the kernel.
    fn per_sample(&self) -> f64 {
        if self.reduction == REDUCTION_MEAN {
            1.0 / self.denom
        } else {
            1.0
        }
    }
}

fn ce_impl<T: Element + SoftmaxFloat>(
    input: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
    reduction: i64,
    ignore_index: i64,
    label_smoothing: f64,
) -> Result<Tensor> {
    let (n, c, inner) = geometry(input.shape(), 1);
    let tgt: Vec<i64> = target.to_vec::<i64>()?;
    let wv: Option<Vec<T>> = weight.map(|w| w.to_vec::<T>()).transpose()?;
    let x = dense::<T>(input)?;
    let xs: &[T] = x.cpu_slice::<T>()?;
    let problem = CrossEntropy {
        n,
        c,
        inner,
        target: &tgt,
        weight: wv.as_deref(),
        ignore_index,
        label_smoothing,
    };
    if let Some(bad) = problem.bad_target() {
        return Err(Error::Index(format!("Target {bad} is out of bounds.")));
    }
    let cap = capability();
    let f = problem.forward(cap, xs);
    let denom: f64 = f.wt.iter().sum();
    let out = match reduction {
        REDUCTION_NONE => {
            let v: Vec<T> = f.loss.iter().map(|&l| T::from_wide(l)).collect();
            Tensor::from_vec(v, target.shape())?
        }
        _ => {
            let s: f64 = f.loss.iter().sum();
            let v = if reduction == REDUCTION_MEAN {
                s / denom
            } else {
                s
            };
            Tensor::from_vec(vec![T::from_wide(v)], &[])?
        }
    };
    let out = super::cast_view(&out, input.dtype())?;
    if needs_grad(&[input]) {
        let saved = Arc::new(Saved {
            target: tgt,
            weight: wv,
            lse: f.lse,
            dims: (n, c, inner),
            shape: input.shape().to_vec(),
            reduction,
            ignore_index,
            label_smoothing,
            denom,
        });
        let si = SavedTensor::input(input);
        let name = if label_smoothing > 0.0 {
            "AddBackward0"
        } else if reduction == REDUCTION_NONE || inner == 1 {
            "NllLossBackward0"
        } else {
            "NllLoss2DBackward0"
        };
        record(name, &[input], &out, move |ctx, g| {
            let x = si.unpack(ctx)?;
            let gx = if is_grad_enabled() && (x.requires_grad() || g.requires_grad()) {
                composite_backward(&saved, &x, g)?
            } else {
                kernel_backward(&saved, &x, g)?
            };
            Ok(vec![Some(gx)])
        });
    }
    Ok(out)
}

/// The fused backward kernel.
fn kernel_backward<T: Element + SoftmaxFloat>(
    s: &Saved<T>,
    x: &Tensor,
    g: &Tensor,
) -> Result<Tensor> {
    let xd = dense::<T>(x)?;
    let xs: &[T] = xd.cpu_slice::<T>()?;
    let m = s.dims.0 * s.dims.2;
    let k = s.per_sample();
    let gi: Vec<f64> = if s.reduction == REDUCTION_NONE {
        g.to_vec::<f64>()?
    } else {
        let g0 = g.to_vec::<f64>()?.first().copied().unwrap_or(0.0);
        vec![g0 * k; m]
    };
    if gi.len() != m {
        return Err(Error::Runtime(
            "cross_entropy backward: gradient of the wrong size".into(),
        ));
    }
    let out = Tensor::uninit(&s.shape, T::DTYPE, x.device())?;
    let numel = out.numel();
    if numel > 0 {
        // SAFETY: `out` is a fresh contiguous buffer of `numel` T that nothing else
        // references until it is returned.
        let os = unsafe { out.cpu_slice_mut::<T>()? };
        s.problem().backward(capability(), xs, &s.lse, &gi, os);
    }
    super::cast_view(&out, x.dtype())
}

/// The same gradient from differentiable ops: `g * (softmax(x) * A - K)` with the
/// constants `A` (N, 1, *) and `K` (N, C, *) of the target distribution.
fn composite_backward<T: Element + SoftmaxFloat>(
    s: &Saved<T>,
    x: &Tensor,
    g: &Tensor,
) -> Result<Tensor> {
    use super::binary::{mul, sub};
    let (n, c, inner) = s.dims;
    let p = problem_constants(s);
    let mut a_shape = s.shape.clone();
    a_shape[1] = 1;
    let a = Tensor::from_vec(p.0, &a_shape)?;
    let kk = Tensor::from_vec(p.1, &s.shape)?;
    let prob = super::softmax::softmax(x, 1, None)?;
    let inner_term = sub(&mul(&prob, &a)?, &kk)?;
    let gb = if s.reduction == REDUCTION_NONE {
        let mut gs: Vec<i64> = vec![n as i64, 1];
        gs.extend(s.shape[2..].iter().map(|&d| d as i64));
        super::shape::reshape(g, &gs)?
    } else {
        g.clone()
    };
    let _ = (c, inner);
    let gx = mul(&gb, &inner_term)?;
    super::copy::to_dtype(&gx, x.dtype())
}

/// `(A, K)` of `composite_backward` as flat vectors.
fn problem_constants<T: SoftmaxFloat>(s: &Saved<T>) -> (Vec<f64>, Vec<f64>) {
    let (n, c, inner) = s.dims;
    let ls = s.label_smoothing;
    let k = s.per_sample();
    let w = |j: usize| s.weight.as_ref().map_or(1.0, |w| w[j].to_wide());
    let total_w: f64 = (0..c).map(w).sum();
    let mut a = vec![0.0; n * inner];
    let mut kk = vec![0.0; n * c * inner];
    // `i` indexes both the targets and the per-sample factors.
    #[allow(clippy::needless_range_loop)]
    for i in 0..n * inner {
        let t = s.target[i];
        if t == s.ignore_index || t < 0 || t as usize >= c {
            continue;
        }
        let t = t as usize;
        a[i] = k * ((1.0 - ls) * w(t) + ls / c as f64 * total_w);
        let (b, pos) = (i / inner, i % inner);
        for j in 0..c {
            let mut v = ls / c as f64 * w(j);
            if j == t {
                v += (1.0 - ls) * w(t);
            }
            kk[(b * c + j) * inner + pos] = k * v;
        }
    }
    (a, kk)
}
