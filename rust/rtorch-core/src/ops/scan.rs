//! Scans along one dim: cumsum, cumprod, cummax, cummin, logcumsumexp. Each lane (the
//! dim moved last, contiguous) is scanned in the type PyTorch's CPU kernels accumulate
//! in: f64 for float32/float64, f32 for the 16-bit floats, i64 for integers.

use super::reduce::{lanes, unlanes};
use crate::autograd::{needs_grad, record, SavedTensor};
use crate::cpu::scan::ScanElement;
use crate::dtype::DType;
use crate::element::Element;
use crate::error::Result;
use crate::layout::normalize_dim;
use crate::tensor::Tensor;

/// `f(lane_in, lane_out)` for every lane of `t` along `dim`, computed in `T`; the
/// result has `t`'s shape and `out_dtype`. `f` must write every element of `lane_out`
/// (it starts uninitialised).
pub(crate) fn lane_apply<T: Element>(
    t: &Tensor,
    dim: usize,
    out_dtype: DType,
    f: impl Fn(&[T], &mut [T]) + Sync,
) -> Result<Tensor> {
    let nd = t.dim();
    let src = super::cast_view(&t.detach(), T::DTYPE)?;
    let (l, outer, n) = lanes(&src, dim)?;
    let out = Tensor::uninit(l.shape(), T::DTYPE, l.device())?;
    if n > 0 && Tensor::has_values(&out, &[&l])? {
        let x: &[T] = l.cpu_slice::<T>()?;
        // SAFETY: `out` is this op's fresh output; nothing else holds it yet.
        let res: &mut [T] = unsafe { out.cpu_slice_mut::<T>()? };
        if outer * n >= crate::cpu::GRAIN && outer > 1 {
            crate::cpu::par_chunks_mut(res, n, &|c, o| f(&x[c * n..(c + 1) * n], o));
        } else {
            res.chunks_mut(n)
                .zip(x.chunks(n))
                .for_each(|(o, i)| f(i, o));
        }
    }
    let out = unlanes(out, dim, nd)?;
    super::cast_view(&out, out_dtype)
}

fn scan_dtype(t: &Tensor, dtype: Option<DType>) -> DType {
    dtype.unwrap_or_else(|| super::reduce::sum_dtype(t.dtype()))
}

/// `cumsum(dim, dtype)`.
pub fn cumsum(t: &Tensor, dim: i64, dtype: Option<DType>) -> Result<Tensor> {
    let d = normalize_dim(dim, t.dim())?;
    let (src, out_dtype) = scan_source(t, dtype)?;
    let out = if let Some(out) = scan_direct::<false>(&src, d)? {
        out
    } else if is_half(out_dtype) {
        lane_apply::<f32>(&src, d, out_dtype, running::<f32>)?
    } else if out_dtype.is_floating_point() {
        lane_apply::<f64>(&src, d, out_dtype, running::<f64>)?
    } else {
        lane_apply::<i64>(&src, d, out_dtype, |x, o| {
            let mut acc = 0i64;
            for (v, r) in x.iter().zip(o.iter_mut()) {
                acc = acc.wrapping_add(*v);
                *r = acc;
            }
        })?
    };
    if needs_grad(&[&src]) {
        record("CumsumBackward0", &[&src], &out, move |_, g| {
            Ok(vec![Some(cumsum_rev(g, d)?)])
        });
    }
    Ok(out)
}

/// float16 or bfloat16: scanned in float32 (PyTorch's `acc_type` on the CPU).
fn is_half(dtype: DType) -> bool {
    matches!(dtype, DType::F16 | DType::BF16)
}

/// The running sum of `x` into `o`.
fn running<A: Copy + Default + std::ops::AddAssign>(x: &[A], o: &mut [A]) {
    let mut acc = A::default();
    for (v, r) in x.iter().zip(o.iter_mut()) {
        acc += *v;
        *r = acc;
    }
}

/// The tensor a scan reads and its result's dtype: `dtype` when given (the input cast
/// to it first, as PyTorch), else the input's own, integers and bool widened to int64
/// (a cast that changes no running value, and lets the direct kernel take them).
fn scan_source(t: &Tensor, dtype: Option<DType>) -> Result<(Tensor, DType)> {
    let out_dtype = scan_dtype(t, dtype);
    let src = if t.dtype() == out_dtype {
        t.clone()
    } else {
        super::copy::to_dtype(t, out_dtype)?
    };
    Ok((src, out_dtype))
}

/// A running sum (`PRODUCT`: product) of a contiguous tensor straight into its own
/// dtype, in the type the lane path accumulates in (the same bits), without casting
/// copies or moving the dim last: along the last dim each row is a running value; along
/// another dim a row of them runs down the dim, a vector operation per step. None
/// (nothing computed) for other layouts, dtypes and devices.
fn scan_direct<const PRODUCT: bool>(src: &Tensor, d: usize) -> Result<Option<Tensor>> {
    match src.dtype() {
        DType::F32 => scan_direct_typed::<f32, PRODUCT>(src, d),
        DType::F64 => scan_direct_typed::<f64, PRODUCT>(src, d),
        // (Products of the 16-bit floats take the lane path: rare, and 7 KB less.)
        DType::F16 if !PRODUCT => scan_direct_typed::<half::f16, PRODUCT>(src, d),
        DType::BF16 if !PRODUCT => scan_direct_typed::<half::bf16, PRODUCT>(src, d),
        DType::I64 => scan_direct_typed::<i64, PRODUCT>(src, d),
        _ => Ok(None),
    }
}

fn scan_direct_typed<T: ScanElement, const PRODUCT: bool>(
    src: &Tensor,
    d: usize,
) -> Result<Option<Tensor>> {
    if src.dim() == 0 || !src.is_contiguous() || src.device() != crate::device::Device::Cpu {
        return Ok(None);
    }
    let shape = src.shape();
    let n = shape[d];
    let inner: usize = shape[d + 1..].iter().product();
    let outer: usize = shape[..d].iter().product();
    let out = Tensor::uninit(shape, T::DTYPE, src.device())?;
    if out.numel() == 0 {
        return Ok(Some(out));
    }
    let detached = src.detach();
    let x: &[T] = detached.cpu_slice::<T>()?;
    // SAFETY: `out` is this op's fresh output; nothing else holds it yet.
    let o: &mut [T] = unsafe { out.cpu_slice_mut::<T>()? };
    crate::cpu::scan::scan::<T, PRODUCT>(x, o, outer, n, inner)?;
    Ok(Some(out))
}

/// Reverse cumulative sum (`flip(cumsum(flip(g)))`), the adjoint of cumsum: computed
/// so, the flipped copy being contiguous takes cumsum's direct kernel (accumulating as
/// the lane path did: 1000x1000 float32 along dim 1, 2.0 -> 1.1 ms).
pub(crate) fn cumsum_rev(g: &Tensor, d: usize) -> Result<Tensor> {
    use super::shape::flip;
    let dims = [d as i64];
    let out = flip(&cumsum(&flip(&g.detach(), &dims)?, d as i64, None)?, &dims)?;
    if needs_grad(&[g]) {
        record("CumsumRevBackward0", &[g], &out, move |_, gg| {
            Ok(vec![Some(cumsum(gg, d as i64, None)?)])
        });
    }
    Ok(out)
}

/// `cumprod(dim, dtype)`.
pub fn cumprod(t: &Tensor, dim: i64, dtype: Option<DType>) -> Result<Tensor> {
    let d = normalize_dim(dim, t.dim())?;
    let (src, out_dtype) = scan_source(t, dtype)?;
    let out = if let Some(out) = scan_direct::<true>(&src, d)? {
        out
    } else if is_half(out_dtype) {
        lane_apply::<f32>(&src, d, out_dtype, running_product::<f32>)?
    } else if out_dtype.is_floating_point() {
        lane_apply::<f64>(&src, d, out_dtype, running_product::<f64>)?
    } else {
        lane_apply::<i64>(&src, d, out_dtype, |x, o| {
            let mut acc = 1i64;
            for (v, r) in x.iter().zip(o.iter_mut()) {
                acc = acc.wrapping_mul(*v);
                *r = acc;
            }
        })?
    };
    if needs_grad(&[&src]) {
        let sx = SavedTensor::input(&src);
        let so = SavedTensor::output(&out, 0);
        record("CumprodBackward0", &[&src], &out, move |ctx, g| {
            let x = sx.unpack(ctx)?;
            if !x.to_f64_vec()?.contains(&0.0) {
                let o = so.unpack(ctx)?;
                let r = cumsum_rev(&super::binary::mul(g, &o)?, d)?;
                return Ok(vec![Some(super::binary::div(&r, &x)?)]);
            }
            Ok(vec![Some(cumprod_grad_zeros(&x, g, d)?)])
        });
    }
    Ok(out)
}

/// The running product of `x` into `o`.
fn running_product<A: Copy + std::ops::MulAssign + From<f32>>(x: &[A], o: &mut [A]) {
    let mut acc = A::from(1.0);
    for (v, r) in x.iter().zip(o.iter_mut()) {
        acc *= *v;
        *r = acc;
    }
}

/// grad_i = sum_{k >= i} g_k * prod_{j <= k, j != i} x_j (handles zeros; O(n^2)).
fn cumprod_grad_zeros(x: &Tensor, g: &Tensor, d: usize) -> Result<Tensor> {
    let nd = x.dim();
    let (xl, outer, n) = lanes(&super::cast_view(&x.detach(), DType::F64)?, d)?;
    let (gl, _, _) = lanes(&super::cast_view(&g.detach(), DType::F64)?, d)?;
    let xv = xl.to_vec::<f64>()?;
    let gv = gl.to_vec::<f64>()?;
    let mut res = vec![0.0; outer * n];
    for o in 0..outer {
        let xs = &xv[o * n..(o + 1) * n];
        let gs = &gv[o * n..(o + 1) * n];
        for i in 0..n {
            let mut prefix: f64 = xs[..i].iter().product();
            let mut s = 0.0;
            for k in i..n {
                if k > i {
                    prefix *= xs[k];
                }
                s += gs[k] * prefix;
            }
            res[o * n + i] = s;
        }
    }
    let out = Tensor::from_vec(res, xl.shape())?;
    super::cast_view(&unlanes(out, d, nd)?, x.dtype())
}

/// `logcumsumexp(dim)`: `log(cumsum(exp(x)))` as a running log-add-exp, in f64 for
/// float32/float64 and f32 for the 16-bit floats (PyTorch's CPU `acc_type`). Shifting
/// the lane by its maximum and summing exponentials instead would underflow every early
/// element that a later one dwarfs: x = [-200, 0] gave [-inf, 0], not [-200, 0].
pub fn logcumsumexp(t: &Tensor, dim: i64) -> Result<Tensor> {
    if !t.dtype().is_floating_point() {
        return Err(super::unary::not_implemented(
            "logcumsumexp_out_cpu",
            t.dtype(),
        ));
    }
    let d = normalize_dim(dim, t.dim())?;
    let out = if is_half(t.dtype()) {
        lane_apply::<f32>(t, d, t.dtype(), running_log_add_exp::<f32>)?
    } else {
        lane_apply::<f64>(t, d, t.dtype(), running_log_add_exp::<f64>)?
    };
    if needs_grad(&[t]) {
        let sx = SavedTensor::input(t);
        let so = SavedTensor::output(&out, 0);
        record("LogcumsumexpBackward0", &[t], &out, move |ctx, g| {
            let (x, o) = (sx.unpack(ctx)?, so.unpack(ctx)?);
            Ok(vec![Some(logcumsumexp_backward(&x, &o, g, d)?)])
        });
    }
    Ok(out)
}

/// The accumulator types of `logcumsumexp`.
trait LogAddExp: Copy + PartialOrd {
    const NEG_INF: Self;
    /// `log(e^self + e^other)`; NaN propagates, and equal infinities stay themselves
    /// (`inf - inf` would make them NaN).
    fn log_add_exp(self, other: Self) -> Self;
}

macro_rules! log_add_exp_impl {
    ($($t:ty),*) => {$(
        impl LogAddExp for $t {
            const NEG_INF: Self = <$t>::NEG_INFINITY;
            #[inline]
            fn log_add_exp(self, other: Self) -> Self {
                let (lo, hi) = if self < other { (self, other) } else { (other, self) };
                if lo == hi && lo.is_infinite() {
                    return lo;
                }
                // A NaN fails the comparison above and reaches here: NaN out.
                hi + (lo - hi).exp().ln_1p()
            }
        }
    )*};
}
log_add_exp_impl!(f32, f64);

fn running_log_add_exp<A: LogAddExp>(x: &[A], o: &mut [A]) {
    let mut acc = A::NEG_INF;
    for (v, r) in x.iter().zip(o.iter_mut()) {
        acc = acc.log_add_exp(*v);
        *r = acc;
    }
}

/// `grad_j = sum_{i >= j} g_i e^(x_j - out_i)`, computed in log space as PyTorch does
/// (the positive and the negative part of `g` each through a reversed logcumsumexp), so
/// that nothing overflows; composed of differentiable ops, so it has its own gradient.
fn logcumsumexp_backward(x: &Tensor, out: &Tensor, g: &Tensor, d: usize) -> Result<Tensor> {
    use super::binary::{add, sub, Rhs};
    use crate::dtype::Scalar;
    let log_g = sub(&super::unary::log(&super::unary::abs(g)?)?, out)?;
    let neg_inf = Rhs::Scalar(Scalar::Float(f64::NEG_INFINITY));
    let zero = Rhs::Scalar(Scalar::Float(0.0));
    let dims = [d as i64];
    let part = |cmp: super::compare::Cmp| -> Result<Tensor> {
        let keep = super::compare::compare(g, &zero, cmp)?;
        let masked = super::index::where_(&keep, &Rhs::Tensor(log_g.clone()), &neg_inf)?;
        let flipped = super::shape::flip(&masked, &dims)?;
        let rev = super::shape::flip(&logcumsumexp(&flipped, d as i64)?, &dims)?;
        super::unary::exp(&add(&rev, x)?)
    };
    sub(
        &part(super::compare::Cmp::Gt)?,
        &part(super::compare::Cmp::Lt)?,
    )
}

/// The running maximum (`MAX`, else minimum) of the lane `x` into `vs` and the index
/// where it was attained into `is`: a later equal value takes over (PyTorch's `>=`), and
/// the first NaN stays for the rest of the lane.
fn running_extreme<T: Element, const MAX: bool>(x: &[T], vs: &mut [T], is: &mut [i64]) {
    let Some(&first) = x.first() else { return };
    let (mut best, mut at) = (first, 0i64);
    for (i, ((&v, vo), io)) in x.iter().zip(vs.iter_mut()).zip(is.iter_mut()).enumerate() {
        let beats = if MAX { !v.less(best) } else { !v.greater(best) };
        // (`!less` is true for a NaN `v`; a NaN `best` is kept.)
        if beats && !best.is_nan_value() {
            (best, at) = (v, i as i64);
        }
        *vo = best;
        *io = at;
    }
}

/// `cummax`/`cummin`: running extreme and the index where it was attained.
pub fn cummax_cummin(t: &Tensor, dim: i64, want_max: bool) -> Result<(Tensor, Tensor)> {
    let d = normalize_dim(dim, t.dim())?;
    let nd = t.dim();
    let (l, outer, n) = lanes(t, d)?;
    let vals = Tensor::uninit(l.shape(), t.dtype(), t.device())?;
    // (An empty lane has nothing to scan: also what the chunking below needs.)
    if n == 0 || !Tensor::has_values(&vals, &[&l])? {
        let it = Tensor::empty(l.shape(), DType::I64, t.device())?;
        return Ok((unlanes(vals, d, nd)?, unlanes(it, d, nd)?));
    }
    let it = Tensor::uninit(l.shape(), DType::I64, t.device())?;
    crate::dispatch_all!(t.dtype(), T => {
        let x: &[T] = l.cpu_slice::<T>()?;
        // SAFETY: `vals` and `it` are this op's fresh outputs; nothing else holds them.
        let (vs, is) = unsafe { (vals.cpu_slice_mut::<T>()?, it.cpu_slice_mut::<i64>()?) };
        let lane = if want_max { running_extreme::<T, true> } else { running_extreme::<T, false> };
        if outer * n >= crate::cpu::GRAIN && outer > 1 {
            crate::cpu::par_chunks_mut2(vs, is, n, &|c, v, i| lane(&x[c * n..(c + 1) * n], v, i));
        } else {
            for (c, (v, i)) in vs.chunks_mut(n).zip(is.chunks_mut(n)).enumerate() {
                lane(&x[c * n..(c + 1) * n], v, i);
            }
        }
    });
    let vals = unlanes(vals, d, nd)?;
    let it = unlanes(it, d, nd)?;
    if needs_grad(&[t]) {
        let name = if want_max {
            "CummaxBackward0"
        } else {
            "CumminBackward0"
        };
        super::reduce::record_select(name, t, &vals, &it, d, true);
    }
    Ok((vals, it))
}
