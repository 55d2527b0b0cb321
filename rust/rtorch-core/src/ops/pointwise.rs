//! Pointwise binary and ternary math: pow, atan2, maximum/minimum, fmax/fmin, fmod,
//! remainder, hypot, lerp, addcmul/addcdiv, clamp. Each op broadcasts, promotes by
//! `result_type`, runs one kernel, and records a backward written with ops.

// Kernels are generic over every dtype, bool included.
#![allow(clippy::bool_comparison)]

use super::binary::{
    add, add_scaled, broadcast_operands, div, in_place_with, mul, mul_scalar, neg, sub, written,
    Rhs,
};
use super::binary_kinds::{self as kinds, FloatBinary};
use super::map;
use super::ternary_kinds as tk;
use super::unary::{self, not_implemented};
use super::unary_kinds::ClampNumbers;
use super::weight_kinds::{
    ClampBoth, ClampInside, ClampOneBound, ClampPart, Extreme as Ext, ExtremeShare, PowZeroBase,
    Weight2, Weight3,
};
use super::{cast_view, expand_view, operand, reduce_grad};
use crate::autograd::{needs_grad, record, SavedTensor};
use crate::dtype::{result_type, DType, Scalar};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::layout::broadcast_shapes;
use crate::tensor::Tensor;
use std::borrow::Cow;

/// A constant of `dtype` with the broadcast shape of `a` and `b` from a weight kind of
/// their values (f64): the piecewise-constant factors of derivatives.
fn mask2<K: Weight2>(a: &Tensor, b: &Tensor, dtype: DType, k: K) -> Result<Tensor> {
    let (a, b) = (a.detach(), b.detach());
    let (a2, b2, shape) = broadcast_operands(&a, &b, DType::F64)?;
    let out = Tensor::uninit_for(
        &shape,
        DType::F64,
        Tensor::result_device(&[&a, &b]),
        &[&a, &b],
    )?;
    map::weight2(&out, &a2, &b2, k)?;
    cast_view(&out, dtype)
}

fn zeros_of(t: &Tensor) -> Result<Tensor> {
    super::reduce::zeros_like(t)
}

// ----- pow -----

fn pow_kernel(out: &Tensor, a: &Tensor, b: &Tensor) -> Result<()> {
    match out.dtype() {
        d if d.is_floating_point() => map::float(out, a, b, kinds::Pow),
        DType::Bool => Err(not_implemented("pow", DType::Bool)),
        _ => map::int(out, a, b, kinds::Pow),
    }
}

/// `a ** b` for two tensors, computed in `dtype`.
fn pow_tt(a: &Tensor, b: &Tensor, dtype: DType) -> Result<Tensor> {
    let (a2, b2, shape) = broadcast_operands(a, b, dtype)?;
    let out = Tensor::uninit_for(&shape, dtype, Tensor::result_device(&[a, b]), &[a, b])?;
    pow_kernel(&out, &a2, &b2)?;
    if needs_grad(&[a, b]) {
        let (sa, da, sb, db) = (a.shape().clone(), a.dtype(), b.shape().clone(), b.dtype());
        let (ra, rb) = (a.requires_grad(), b.requires_grad());
        let saved_a = SavedTensor::input(a);
        let saved_b = SavedTensor::input(b);
        let saved_out = rb.then(|| SavedTensor::output(&out, 0));
        record("PowBackward1", &[a, b], &out, move |ctx, g| {
            let a = saved_a.unpack(ctx)?;
            let b = saved_b.unpack(ctx)?;
            let ga = if ra {
                // b * a^(b-1), zero where b == 0 (selected, not multiplied by a mask:
                // 0 * 0^-1 there is NaN).
                let bm1 = add_scaled(&b, &Rhs::Scalar(Scalar::Int(-1)), Scalar::Int(1))?;
                let d = mul(&b, &pow(&a, &bm1)?)?;
                let zero_exp = super::compare::eq(&b.detach(), &Rhs::Scalar(Scalar::Int(0)))?;
                let d = super::index::masked_fill(&d, &zero_exp, &Rhs::Scalar(Scalar::Int(0)))?;
                Some(reduce_grad(&mul(g, &d)?, &sa, da)?)
            } else {
                None
            };
            let gb = match &saved_out {
                Some(o) => {
                    // out * log(a), zero where a == 0 and b >= 0 (log(1) = 0 there).
                    let o = o.unpack(ctx)?;
                    let fix = mask2(&a, &b, a.dtype(), PowZeroBase)?;
                    let d = mul(&o, &unary::log(&add(&a, &fix)?)?)?;
                    Some(reduce_grad(&mul(g, &d)?, &sb, db)?)
                }
                None => None,
            };
            Ok(vec![ga, gb])
        });
    }
    Ok(out)
}

/// `pow(a, b)` for tensors (broadcasting).
pub fn pow(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let dtype = result_type(&[operand(a), operand(b)]);
    pow_tt(a, b, dtype)
}

fn check_int_pow(dtype: DType, e: Scalar) -> Result<()> {
    if !dtype.is_floating_point() && matches!(e, Scalar::Int(i) if i < 0) {
        return Err(Error::Runtime(
            "Integers to negative integer powers are not allowed.".into(),
        ));
    }
    Ok(())
}

/// `a ** e` for a Python number `e`.
pub fn pow_scalar(a: &Tensor, e: Scalar) -> Result<Tensor> {
    let dtype = result_type(&[operand(a), Rhs::Scalar(e).operand()]);
    check_int_pow(dtype, e)?;
    let x = cast_view(a, dtype)?;
    let out = Tensor::uninit_for(a.shape(), dtype, a.device(), &[a])?;
    let ef = e.to_f64();
    pow_const_kernel(&out, &x, e)?;
    if needs_grad(&[a]) {
        let saved = SavedTensor::input(a);
        let (sa, da) = (a.shape().clone(), a.dtype());
        record("PowBackward0", &[a], &out, move |ctx, g| {
            if ef == 0.0 {
                return Ok(vec![Some(reduce_grad(&zeros_of(g)?, &sa, da)?)]);
            }
            let a = saved.unpack(ctx)?;
            let d = mul_scalar(&pow_scalar(&a, sub_one(e))?, e)?;
            Ok(vec![Some(reduce_grad(&mul(g, &d)?, &sa, da)?)])
        });
    }
    Ok(out)
}

/// `out = x ** e` for a number `e`, `x` already in `out`'s dtype. Every dtype takes
/// PyTorch's cases for the exponents 0 (a fill) and 1 (a copy); floating types also
/// its special cases for the exponents 2, 3, 0.5, -0.5, -1, -2 (products,
/// square roots and quotients, which round differently from `pow`), so results match
/// its kernel bit for bit.
fn pow_const_kernel(out: &Tensor, x: &Tensor, e: Scalar) -> Result<()> {
    use super::unary_kinds as u;
    let dtype = out.dtype();
    if dtype == DType::Bool {
        // x ** True is x; x ** False is 1.
        return if e.to_bool() {
            map::copy_cast(out, x)
        } else {
            map::fill(out, Scalar::Bool(true))
        };
    }
    let ef = e.to_f64();
    // PyTorch's own first cases, for every dtype: x ** 0 is 1 (NaN too), x ** 1 is x.
    match ef {
        0.0 => return map::fill(out, Scalar::Int(1)),
        1.0 => return map::copy_cast(out, x),
        _ => {}
    }
    if dtype.is_floating_point() {
        match ef {
            2.0 => return unary::run_float(out, x, u::Square {}),
            3.0 => return unary::run_float(out, x, u::Cube {}),
            0.5 => return unary::run_float(out, x, u::Sqrt {}),
            -0.5 => return unary::run_float(out, x, u::Rsqrt {}),
            -1.0 => return unary::run_float(out, x, u::Reciprocal {}),
            -2.0 => return unary::run_float(out, x, u::InvSquare {}),
            _ => {}
        }
    }
    // The exponent as a CPU scalar of `dtype` broadcast over `x` (a float32 tensor
    // takes a float32 exponent, as PyTorch's kernel does; every backend accepts a CPU
    // scalar operand).
    let exponent = expand_view(&Tensor::scalar(e, dtype)?, x.shape())?;
    pow_kernel(out, x, &exponent)
}

fn sub_one(e: Scalar) -> Scalar {
    match e {
        Scalar::Int(i) => Scalar::Int(i - 1),
        other => Scalar::Float(other.to_f64() - 1.0),
    }
}

/// `s ** t` for a Python number `s` (`__rpow__`, `torch.pow(2, t)`).
pub fn rpow_scalar(s: Scalar, t: &Tensor) -> Result<Tensor> {
    let dtype = result_type(&[Rhs::Scalar(s).operand(), operand(t)]);
    let base = Tensor::scalar(s, dtype)?;
    pow_tt(&base, t, dtype)
}

/// `pow(a, b)` with `b` a tensor or a number.
pub fn pow_rhs(a: &Tensor, b: &Rhs) -> Result<Tensor> {
    match b {
        Rhs::Tensor(t) => pow(a, t),
        Rhs::Scalar(s) => pow_scalar(a, *s),
    }
}

pub fn pow_scalar_(a: &Tensor, e: Scalar) -> Result<()> {
    let dtype = result_type(&[operand(a), Rhs::Scalar(e).operand()]);
    check_int_pow(dtype, e)?;
    in_place_with(a, &Rhs::Scalar(e), |x, _| pow_scalar(x, e))
}

pub fn pow_rhs_(a: &Tensor, b: &Rhs) -> Result<()> {
    match b {
        Rhs::Scalar(s) => pow_scalar_(a, *s),
        Rhs::Tensor(_) => in_place_with(a, b, pow_rhs),
    }
}

/// `float_power`: pow computed and returned in float64. A number exponent takes
/// `pow_scalar`'s special cases (x ** 2 a product, not a libm call per element), as
/// PyTorch's, and its `PowBackward0`.
pub fn float_power(a: &Tensor, b: &Rhs) -> Result<Tensor> {
    let a64 = super::copy::to_dtype(a, DType::F64)?;
    match b {
        Rhs::Tensor(t) => pow(&a64, &super::copy::to_dtype(t, DType::F64)?),
        Rhs::Scalar(s) => pow_scalar(&a64, Scalar::Float(s.to_f64())),
    }
}

// ----- generic float binary op -----

/// `out = f(a, b)` on floats (ints promote to the default float dtype), recording a
/// backward that gets `(g, a, b, out)` and returns the two unreduced gradients.
#[allow(clippy::too_many_arguments)]
fn float_binary<K, B>(
    a: &Tensor,
    b: &Rhs,
    name: &'static str,
    kname: &str,
    int_to_float: bool,
    kind: K,
    grad: B,
) -> Result<Tensor>
where
    K: FloatBinary,
    B: Fn(&Tensor, &Tensor, &Tensor, &Tensor) -> Result<(Tensor, Tensor)> + Send + Sync + 'static,
{
    let kernel = |o: &Tensor, x: &Tensor, y: &Tensor| map::float(o, x, y, kind);
    float_binary_with(a, b, name, kname, int_to_float, kernel, grad)
}

/// `float_binary` with the values written by `kernel(out, a, b)` (operands broadcast to
/// `out`'s shape and dtype, no graph).
fn float_binary_with<B>(
    a: &Tensor,
    b: &Rhs,
    name: &'static str,
    kname: &str,
    int_to_float: bool,
    kernel: impl FnOnce(&Tensor, &Tensor, &Tensor) -> Result<()>,
    grad: B,
) -> Result<Tensor>
where
    B: Fn(&Tensor, &Tensor, &Tensor, &Tensor) -> Result<(Tensor, Tensor)> + Send + Sync + 'static,
{
    let mut dtype = result_type(&[operand(a), b.operand()]);
    if !dtype.is_floating_point() {
        if !int_to_float {
            return Err(not_implemented(kname, dtype));
        }
        dtype = crate::get_default_dtype();
    }
    let bt = b.to_tensor(dtype)?;
    let (a2, b2, shape) = broadcast_operands(a, &bt, dtype)?;
    let out = Tensor::uninit_for(&shape, dtype, Tensor::result_device(&[a, &bt]), &[a, &bt])?;
    kernel(&out, &a2, &b2)?;
    if needs_grad(&[a, &bt]) {
        let (sa, da, sb, db) = (a.shape().clone(), a.dtype(), bt.shape().clone(), bt.dtype());
        let (ra, rb) = (a.requires_grad(), bt.requires_grad());
        let saved_a = SavedTensor::input(a);
        let saved_b = SavedTensor::input(&bt);
        let saved_o = SavedTensor::output(&out, 0);
        record(name, &[a, &bt], &out, move |ctx, g| {
            let (ga, gb) = grad(
                g,
                &saved_a.unpack(ctx)?,
                &saved_b.unpack(ctx)?,
                &saved_o.unpack(ctx)?,
            )?;
            Ok(vec![
                if ra {
                    Some(reduce_grad(&ga, &sa, da)?)
                } else {
                    None
                },
                if rb {
                    Some(reduce_grad(&gb, &sb, db)?)
                } else {
                    None
                },
            ])
        });
    }
    Ok(out)
}

/// `atan2(a, b)`: angle of (b, a).
pub fn atan2(a: &Tensor, b: &Rhs) -> Result<Tensor> {
    float_binary(
        a,
        b,
        "Atan2Backward0",
        "atan2_cpu",
        true,
        kinds::Atan2,
        |g, a, b, _| {
            let r = add(&mul(a, a)?, &mul(b, b)?)?;
            Ok((mul(g, &div(b, &r)?)?, mul(g, &neg(&div(a, &r)?)?)?))
        },
    )
}

/// `copysign(a, b)`: |a| with the sign bit of b (-0.0 is negative); integers give the
/// default float dtype. The gradient is PyTorch's: `grad * result / a` (0 where a is
/// 0) for a, zeros for b.
pub fn copysign(a: &Tensor, b: &Rhs) -> Result<Tensor> {
    let name = match b {
        Rhs::Tensor(_) => "CopysignBackward0",
        Rhs::Scalar(_) => "CopysignBackward1",
    };
    float_binary(
        a,
        b,
        name,
        "copysign",
        true,
        kinds::Copysign,
        |g, a, b, o| {
            let at_zero = crate::ops::compare::eq(a, &Rhs::Scalar(Scalar::Int(0)))?;
            let ratio = crate::ops::index::masked_fill(
                &div(o, a)?,
                &at_zero,
                &Rhs::Scalar(Scalar::Float(0.0)),
            )?;
            Ok((mul(g, &ratio)?, crate::ops::reduce::zeros_like(b)?))
        },
    )
}

/// `hypot(a, b) = sqrt(a^2 + b^2)`.
pub fn hypot(a: &Tensor, b: &Rhs) -> Result<Tensor> {
    float_binary(
        a,
        b,
        "HypotBackward0",
        "hypot_cpu",
        false,
        kinds::Hypot,
        |g, a, b, o| Ok((mul(g, &div(a, o)?)?, mul(g, &div(b, o)?)?)),
    )
}

/// `logaddexp(a, b)` = log(e^a + e^b) on floating dtypes (PyTorch has no integer kernel);
/// the gradients are the two softmax weights, `g sigmoid(a - b)` and `g sigmoid(b - a)`
/// (PyTorch's `g / (1 + e^(b - a))`, without its overflow).
pub fn logaddexp(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let kernel = |o: &Tensor, x: &Tensor, y: &Tensor| {
        if o.dtype() == DType::F64 {
            map::copy_cast(o, &logaddexp_f64_composed(x, y)?)
        } else {
            map::float(o, x, y, kinds::LogAddExp)
        }
    };
    float_binary_with(
        a,
        &Rhs::Tensor(b.clone()),
        "LogaddexpBackward0",
        "logaddexp_cpu",
        false,
        kernel,
        |g, a, b, _| {
            let w = unary::sigmoid(&sub(a, b)?)?;
            let w_other = unary::sigmoid(&sub(b, a)?)?;
            Ok((mul(g, &w)?, mul(g, &w_other)?))
        },
    )
}

/// float64 `logaddexp` (no graph) from vectorised kernels (`exp_f64`'s slices): a loop
/// over libm's exp and log1p per element took half as long again. Equal arguments give
/// `x + ln 2`, which is also the answer for equal infinities (where the difference
/// is NaN).
fn logaddexp_f64_composed(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let (x, y) = (x.detach(), y.detach());
    let d = unary::abs(&sub(&x, &y)?)?;
    let r = add(&maximum(&x, &y)?, &unary::log1p(&unary::exp(&neg(&d)?)?)?)?;
    let ln2 = Tensor::scalar(Scalar::Float(std::f64::consts::LN_2), DType::F64)?;
    let same = super::compare::eq(&x, &Rhs::Tensor(y.clone()))?;
    super::index::where_(&same, &Rhs::Tensor(add(&x, &ln2)?), &Rhs::Tensor(r))
}

/// `g * w` for a gradient weight `w` (0, 1/2 or 1), with exact zeros where `w` is zero
/// whatever `g` holds there: PyTorch masks (a NaN or infinite upstream gradient at a
/// clamped or beaten position does not leak through as NaN = inf * 0).
fn weighted_grad(g: &Tensor, w: &Tensor) -> Result<Tensor> {
    let zero = Rhs::Scalar(Scalar::Float(0.0));
    let kept = super::compare::ne(w, &zero)?;
    super::index::where_(&kept, &Rhs::Tensor(mul(g, w)?), &zero)
}

// ----- maximum / minimum / fmax / fmin -----

fn extremum(a: &Tensor, b: &Tensor, which: Ext) -> Result<Tensor> {
    let dtype = result_type(&[operand(a), operand(b)]);
    let (a2, b2, shape) = broadcast_operands(a, b, dtype)?;
    let out = Tensor::uninit_for(&shape, dtype, Tensor::result_device(&[a, b]), &[a, b])?;
    // Half types compute through float32 blocks: exact, each result is one of the
    // inputs.
    match which {
        Ext::Max => map::arith(&out, &a2, &b2, kinds::Maximum),
        Ext::Min => map::arith(&out, &a2, &b2, kinds::Minimum),
        Ext::FMax => map::arith(&out, &a2, &b2, kinds::Fmax),
        Ext::FMin => map::arith(&out, &a2, &b2, kinds::Fmin),
    }?;
    if needs_grad(&[a, b]) {
        let (sa, da, sb, db) = (a.shape().clone(), a.dtype(), b.shape().clone(), b.dtype());
        let (ra, rb) = (a.requires_grad(), b.requires_grad());
        let saved_a = SavedTensor::input(a);
        let saved_b = SavedTensor::input(b);
        let name = match which {
            Ext::Max => "MaximumBackward0",
            Ext::Min => "MinimumBackward0",
            Ext::FMax => "FmaxBackward0",
            Ext::FMin => "FminBackward0",
        };
        record(name, &[a, b], &out, move |ctx, g| {
            let (x, y) = (saved_a.unpack(ctx)?, saved_b.unpack(ctx)?);
            let gd = g.dtype();
            // Weights of a's share: ties split evenly for maximum/minimum.
            let wa = mask2(&x, &y, gd, ExtremeShare { which, first: true })?;
            let wb = mask2(
                &x,
                &y,
                gd,
                ExtremeShare {
                    which,
                    first: false,
                },
            )?;
            Ok(vec![
                if ra {
                    Some(reduce_grad(&weighted_grad(g, &wa)?, &sa, da)?)
                } else {
                    None
                },
                if rb {
                    Some(reduce_grad(&weighted_grad(g, &wb)?, &sb, db)?)
                } else {
                    None
                },
            ])
        });
    }
    Ok(out)
}

pub fn maximum(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    extremum(a, b, Ext::Max)
}
pub fn minimum(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    extremum(a, b, Ext::Min)
}
pub fn fmax(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    extremum(a, b, Ext::FMax)
}
pub fn fmin(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    extremum(a, b, Ext::FMin)
}

// ----- fmod / remainder -----

/// True when any element of `b` (any layout) is zero; no allocation.
pub fn any_zero(b: &Tensor) -> bool {
    crate::dispatch_int!(b.dtype(), T => {
        any_zero_of::<T>(b)
    }, _ => false)
}

fn any_zero_of<T: Element>(b: &Tensor) -> bool {
    // A tensor without values (meta) has no zero to find.
    b.cpu_view::<T>()
        .is_ok_and(|v| crate::cpu::reduce::any_of(v, |x| x == T::zero()))
}

fn mod_op(a: &Tensor, b: &Rhs, python_sign: bool) -> Result<Tensor> {
    let dtype = result_type(&[operand(a), b.operand()]);
    let bt = b.to_tensor(dtype)?;
    let (a2, b2, shape) = broadcast_operands(a, &bt, dtype)?;
    let out = Tensor::uninit_for(&shape, dtype, Tensor::result_device(&[a, &bt]), &[a, &bt])?;
    if dtype == DType::Bool {
        return Err(not_implemented(
            if python_sign {
                "remainder_cpu"
            } else {
                "fmod_cpu"
            },
            dtype,
        ));
    }
    match (python_sign, dtype.is_floating_point()) {
        (true, true) => map::float(&out, &a2, &b2, kinds::Remainder),
        (true, false) => map::int(&out, &a2, &b2, kinds::Remainder),
        (false, true) => map::float(&out, &a2, &b2, kinds::Fmod),
        (false, false) => map::int(&out, &a2, &b2, kinds::Fmod),
    }?;
    if needs_grad(&[a, &bt]) {
        let (sa, da, sb, db) = (a.shape().clone(), a.dtype(), bt.shape().clone(), bt.dtype());
        let (ra, rb) = (a.requires_grad(), bt.requires_grad());
        let saved_a = rb.then(|| SavedTensor::input(a));
        let saved_b = rb.then(|| SavedTensor::input(&bt));
        let name = if python_sign {
            "RemainderBackward0"
        } else {
            "FmodBackward0"
        };
        record(name, &[a, &bt], &out, move |ctx, g| {
            let ga = if ra {
                Some(reduce_grad(g, &sa, da)?)
            } else {
                None
            };
            let gb = match (&saved_a, &saved_b) {
                (Some(x), Some(y)) => {
                    let (x, y) = (x.unpack(ctx)?, y.unpack(ctx)?);
                    let mode = if python_sign {
                        super::binary::RoundingMode::Floor
                    } else {
                        super::binary::RoundingMode::Trunc
                    };
                    let q = super::binary::div_rhs(&x.detach(), &Rhs::Tensor(y.detach()), mode)?;
                    Some(reduce_grad(&neg(&mul(g, &q)?)?, &sb, db)?)
                }
                _ => None,
            };
            Ok(vec![ga, gb])
        });
    }
    Ok(out)
}

/// `fmod`: C's sign rule (result has the dividend's sign).
pub fn fmod(a: &Tensor, b: &Rhs) -> Result<Tensor> {
    mod_op(a, b, false)
}

/// `remainder` / `%`: Python's sign rule (result has the divisor's sign).
pub fn remainder(a: &Tensor, b: &Rhs) -> Result<Tensor> {
    mod_op(a, b, true)
}

/// `s % t` for a Python number `s`.
pub fn rremainder_scalar(s: Scalar, t: &Tensor) -> Result<Tensor> {
    let dtype = result_type(&[Rhs::Scalar(s).operand(), operand(t)]);
    remainder(&Tensor::scalar(s, dtype)?, &Rhs::Tensor(t.clone()))
}

pub fn fmod_(a: &Tensor, b: &Rhs) -> Result<()> {
    in_place_with(a, b, fmod)
}

pub fn remainder_(a: &Tensor, b: &Rhs) -> Result<()> {
    in_place_with(a, b, remainder)
}

// ----- lerp -----

fn check_same_dtype(a: &Tensor, b: &Tensor, what: &str) -> Result<()> {
    if a.dtype() != b.dtype() {
        return Err(Error::Runtime(format!(
            "expected dtype {} for `{what}` but got dtype {}",
            a.dtype().cpp_type_name(),
            b.dtype().cpp_type_name()
        )));
    }
    Ok(())
}

/// `lerp(start, end, weight) = start + weight * (end - start)`.
pub fn lerp(start: &Tensor, end: &Tensor, weight: &Rhs) -> Result<Tensor> {
    check_same_dtype(start, end, "end")?;
    if let Rhs::Tensor(w) = weight {
        check_same_dtype(start, w, "weight")?;
    }
    let dtype = start.dtype();
    if !dtype.is_floating_point() {
        return Err(not_implemented(
            if matches!(weight, Rhs::Scalar(_)) {
                "lerp_kernel_scalar"
            } else {
                "lerp_kernel_tensor"
            },
            dtype,
        ));
    }
    let w = match weight {
        Rhs::Scalar(w) => return lerp_number(start, end, w.to_f64(), dtype),
        Rhs::Tensor(w) => w,
    };
    let shape = broadcast_shapes(&broadcast_shapes(start.shape(), end.shape())?, w.shape())?;
    let (s2, e2, w2) = (
        expand_view(start, &shape)?,
        expand_view(end, &shape)?,
        expand_view(w, &shape)?,
    );
    let out = Tensor::uninit(&shape, dtype, start.device())?;
    map::float3(&out, &s2, &e2, &w2, tk::Lerp {})?;
    if needs_grad(&[start, end, w]) {
        let shapes = [
            start.shape().clone(),
            end.shape().clone(),
            w.shape().clone(),
        ];
        let req = [
            start.requires_grad(),
            end.requires_grad(),
            w.requires_grad(),
        ];
        let (ss, se, sw) = (
            SavedTensor::input(start),
            SavedTensor::input(end),
            SavedTensor::input(w),
        );
        record("LerpBackward1", &[start, end, w], &out, move |ctx, g| {
            let (s, e, w) = (ss.unpack(ctx)?, se.unpack(ctx)?, sw.unpack(ctx)?);
            let gs = if req[0] {
                let one_minus =
                    add_scaled(&neg(&w)?, &Rhs::Scalar(Scalar::Int(1)), Scalar::Int(1))?;
                Some(reduce_grad(&mul(g, &one_minus)?, &shapes[0], dtype)?)
            } else {
                None
            };
            let ge = if req[1] {
                Some(reduce_grad(&mul(g, &w)?, &shapes[1], dtype)?)
            } else {
                None
            };
            let gw = if req[2] {
                Some(reduce_grad(&mul(g, &sub(&e, &s)?)?, &shapes[2], dtype)?)
            } else {
                None
            };
            Ok(vec![gs, ge, gw])
        });
    }
    Ok(out)
}

/// `lerp` by a number: the weight is not rounded to the tensors' type (PyTorch's
/// kernel keeps it in float32 or float64), and the backward is LerpBackward0.
fn lerp_number(start: &Tensor, end: &Tensor, weight: f64, dtype: DType) -> Result<Tensor> {
    let (s2, e2, shape) = broadcast_operands(start, end, dtype)?;
    let out = Tensor::uninit_for(
        &shape,
        dtype,
        Tensor::result_device(&[start, end]),
        &[start, end],
    )?;
    map::float(&out, &s2, &e2, kinds::LerpScalar { weight })?;
    if needs_grad(&[start, end]) {
        let (ss, se) = (start.shape().clone(), end.shape().clone());
        let (rs, re) = (start.requires_grad(), end.requires_grad());
        record("LerpBackward0", &[start, end], &out, move |_, g| {
            let gs = match rs {
                true => Some(reduce_grad(
                    &mul_scalar(g, Scalar::Float(1.0 - weight))?,
                    &ss,
                    dtype,
                )?),
                false => None,
            };
            let ge = match re {
                true => Some(reduce_grad(
                    &mul_scalar(g, Scalar::Float(weight))?,
                    &se,
                    dtype,
                )?),
                false => None,
            };
            Ok(vec![gs, ge])
        });
    }
    Ok(out)
}

pub fn lerp_(start: &Tensor, end: &Tensor, weight: &Rhs) -> Result<()> {
    if let Rhs::Tensor(w) = weight {
        crate::autograd::view::check_no_partial_overlap(start, w)?;
    }
    match weight {
        Rhs::Scalar(w) => {
            if let Some([e, _]) = direct_partners(start, [end, end])? {
                let k = kinds::LerpScalar { weight: w.to_f64() };
                return written(start, map::float(start, start, &e, k));
            }
        }
        Rhs::Tensor(w) => {
            if let Some([e, w]) = direct_partners(start, [end, w])? {
                return written(start, map::float3(start, start, &e, &w, tk::Lerp {}));
            }
        }
    }
    in_place_with(start, &Rhs::Tensor(end.clone()), |s, e| match e {
        Rhs::Tensor(e) => lerp(s, e, weight),
        Rhs::Scalar(_) => Err(Error::Runtime("lerp: end must be a tensor".into())),
    })
}

// ----- addcmul / addcdiv -----

fn value_for(dtype: DType, value: Scalar) -> Scalar {
    if dtype.is_floating_point() {
        value
    } else {
        Scalar::Int(value.to_i64())
    }
}

/// `input + value * t1 * t2`: one fused kernel for floats (PyTorch's rounding), the
/// exact ring operations for integers (wrapping, so composing them is the same).
pub fn addcmul(input: &Tensor, t1: &Tensor, t2: &Tensor, value: Scalar) -> Result<Tensor> {
    let dtype = result_type(&[operand(input), operand(t1), operand(t2)]);
    if !dtype.is_floating_point() {
        let prod = mul(t1, t2)?;
        return add_scaled(input, &Rhs::Tensor(prod), value_for(dtype, value));
    }
    let k = tk::Addcmul {
        value: value.to_f64(),
    };
    fused3(
        "AddcmulBackward0",
        [input, t1, t2],
        dtype,
        k,
        move |g, t1, t2| {
            // PyTorch's formulas, in its order: grad * (t2 * value), grad * (t1 * value).
            Ok((
                mul(g, &mul_scalar(t2, value)?)?,
                mul(g, &mul_scalar(t1, value)?)?,
            ))
        },
    )
}

/// `input + value * t1 / t2` (floats only, as PyTorch).
pub fn addcdiv(input: &Tensor, t1: &Tensor, t2: &Tensor, value: Scalar) -> Result<Tensor> {
    if !t1.dtype().is_floating_point() && !t2.dtype().is_floating_point() {
        return Err(Error::Runtime(
            "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future addcdiv behavior is just the latter implementation: (input + value * tensor1 / tensor2), for all dtypes.".into(),
        ));
    }
    let dtype = result_type(&[operand(input), operand(t1), operand(t2)]);
    let k = tk::Addcdiv {
        value: value.to_f64(),
    };
    fused3(
        "AddcdivBackward0",
        [input, t1, t2],
        dtype,
        k,
        move |g, t1, t2| {
            // PyTorch's formulas, in its order: grad * (value / t2) (a true division of
            // the number, in t2's dtype), -grad * (value * t1 / (t2 * t2)).
            let g1 = mul(g, &div(&Tensor::scalar(value, t2.dtype())?, t2)?)?;
            let g2 = mul(&neg(g)?, &div(&mul_scalar(t1, value)?, &mul(t2, t2)?)?)?;
            Ok((g1, g2))
        },
    )
}

/// A fused floating op of `[input, t1, t2]` (broadcast, in `dtype`) with its backward:
/// the input's gradient is the output's; `grads(g, t1, t2)` gives the other two.
fn fused3<K, G>(
    name: &'static str,
    ts: [&Tensor; 3],
    dtype: DType,
    k: K,
    grads: G,
) -> Result<Tensor>
where
    K: tk::FloatTernary,
    G: Fn(&Tensor, &Tensor, &Tensor) -> Result<(Tensor, Tensor)> + Send + Sync + 'static,
{
    let [input, t1, t2] = ts;
    let shape = broadcast_shapes(&broadcast_shapes(input.shape(), t1.shape())?, t2.shape())?;
    let view = |t: &Tensor| expand_view(&cast_view(t, dtype)?, &shape);
    let (x, y, z) = (view(input)?, view(t1)?, view(t2)?);
    let out = Tensor::uninit_for(&shape, dtype, Tensor::result_device(&ts), &ts)?;
    map::float3(&out, &x, &y, &z, k)?;
    if needs_grad(&ts) {
        let shapes = ts.map(|t| t.shape().clone());
        let dtypes = ts.map(|t| t.dtype());
        let req = ts.map(|t| t.requires_grad());
        let (s1, s2) = (SavedTensor::input(t1), SavedTensor::input(t2));
        record(name, &ts, &out, move |ctx, g| {
            let gi = match req[0] {
                true => Some(reduce_grad(g, &shapes[0], dtypes[0])?),
                false => None,
            };
            let (g1, g2) = if req[1] || req[2] {
                grads(g, &s1.unpack(ctx)?, &s2.unpack(ctx)?)?
            } else {
                return Ok(vec![gi, None, None]);
            };
            Ok(vec![
                gi,
                req[1]
                    .then(|| reduce_grad(&g1, &shapes[1], dtypes[1]))
                    .transpose()?,
                req[2]
                    .then(|| reduce_grad(&g2, &shapes[2], dtypes[2]))
                    .transpose()?,
            ])
        });
    }
    Ok(out)
}

/// `input`'s partners expanded to its shape where a fused in-place op may write straight
/// into it with the out-of-place op's kernel (the same bits), as `mul_` does
/// (`binary::direct_operand`): float32 or float64 `input` not overlapping itself, no
/// autograd, partners of its dtype and device on other storage that broadcast to its
/// shape. None sends the op through `in_place_with`'s temporary, its checks and errors
/// (the temporary cost `exp_avg_sq.addcmul_(g, g)` on 1M float32 2.5x PyTorch's time).
fn direct_partners(input: &Tensor, partners: [&Tensor; 2]) -> Result<Option<[Tensor; 2]>> {
    let fits = matches!(input.dtype(), DType::F32 | DType::F64)
        && !needs_grad(&[partners[0], partners[1]])
        && super::binary::direct_target(input)?
        && partners.iter().all(|t| {
            t.dtype() == input.dtype()
                && t.device() == input.device()
                && !t.storage().same(input.storage())
                && broadcast_shapes(input.shape(), t.shape()).is_ok_and(|s| s == *input.shape())
        });
    if !fits {
        return Ok(None);
    }
    Ok(Some([
        expand_view(partners[0], input.shape())?,
        expand_view(partners[1], input.shape())?,
    ]))
}

pub fn addcmul_(input: &Tensor, t1: &Tensor, t2: &Tensor, value: Scalar) -> Result<()> {
    crate::autograd::view::check_no_partial_overlap(input, t1)?;
    if let Some([y, z]) = direct_partners(input, [t1, t2])? {
        let k = tk::Addcmul {
            value: value.to_f64(),
        };
        return written(input, map::float3(input, input, &y, &z, k));
    }
    let t1c = t1.clone();
    in_place_with(input, &Rhs::Tensor(t2.clone()), move |x, t2| match t2 {
        Rhs::Tensor(t2) => addcmul(x, &t1c, t2, value),
        Rhs::Scalar(_) => Err(Error::Runtime("addcmul: expected a tensor".into())),
    })
}

pub fn addcdiv_(input: &Tensor, t1: &Tensor, t2: &Tensor, value: Scalar) -> Result<()> {
    crate::autograd::view::check_no_partial_overlap(input, t1)?;
    if let Some([y, z]) = direct_partners(input, [t1, t2])? {
        let k = tk::Addcdiv {
            value: value.to_f64(),
        };
        return written(input, map::float3(input, input, &y, &z, k));
    }
    let t1c = t1.clone();
    in_place_with(input, &Rhs::Tensor(t2.clone()), move |x, t2| match t2 {
        Rhs::Tensor(t2) => addcdiv(x, &t1c, t2, value),
        Rhs::Scalar(_) => Err(Error::Runtime("addcdiv: expected a tensor".into())),
    })
}

// ----- clamp -----

/// `clamp(a, min, max)`: either bound may be None (not both); tensors or numbers.
/// Gradients follow PyTorch 2.15 (see `clamp_backward`): number bounds give zero
/// gradient exactly at the bounds; tensor bounds split a tie evenly.
pub fn clamp(a: &Tensor, min: Option<&Rhs>, max: Option<&Rhs>) -> Result<Tensor> {
    clamp_impl(a, min, max, ClampName::Clamp)
}

/// `clamp_min(a, min)` (grad_fn `ClampMinBackward0/1`).
pub fn clamp_min(a: &Tensor, min: &Rhs) -> Result<Tensor> {
    clamp_impl(a, Some(min), None, ClampName::Min)
}

/// `clamp_max(a, max)` (grad_fn `ClampMaxBackward0/1`).
pub fn clamp_max(a: &Tensor, max: &Rhs) -> Result<Tensor> {
    clamp_impl(a, None, Some(max), ClampName::Max)
}

#[derive(Clone, Copy)]
enum ClampName {
    Clamp,
    Min,
    Max,
}

/// A 0/1/0.5 constant of `dtype` and `shape` from a weight kind of (x, lo, hi) as f64.
fn mask3<K: Weight3>(
    x: &Tensor,
    l: &Tensor,
    h: &Tensor,
    shape: &[usize],
    dtype: DType,
    k: K,
) -> Result<Tensor> {
    let v = |t: &Tensor| expand_view(&cast_view(&t.detach(), DType::F64)?, shape);
    let (x2, l2, h2) = (v(x)?, v(l)?, v(h)?);
    let out = Tensor::uninit(shape, DType::F64, x.device())?;
    map::weight3(&out, &x2, &l2, &h2, k)?;
    cast_view(&out, dtype)
}

/// `out = clamp(x, l, h)` for number bounds already in `out`'s dtype (the usual case):
/// two compares and selects per element, which LLVM vectorises; a NaN element fails
/// both compares and passes through. A NaN bound makes every element NaN, as in
/// PyTorch. Half types clamp their float32 widening in blocks (the bounds are half
/// values, so the result is exact).
fn clamp_by_numbers(out: &Tensor, x: &Tensor, lv: Scalar, hv: Scalar) -> Result<()> {
    let dtype = out.dtype();
    let (lf, hf) = (lv.to_f64(), hv.to_f64());
    if dtype.is_floating_point() && (lf.is_nan() || hf.is_nan()) {
        return map::fill(out, Scalar::Float(f64::NAN));
    }
    let int = |s: Scalar| match s {
        Scalar::Bool(b) => b as i64,
        Scalar::Int(i) => i,
        Scalar::Float(f) => f as i64,
    };
    let k = ClampNumbers {
        lo: lf,
        hi: hf,
        lo_int: int(lv),
        hi_int: int(hv),
    };
    map::element(out, x, k)
}

fn clamp_impl(a: &Tensor, min: Option<&Rhs>, max: Option<&Rhs>, kind: ClampName) -> Result<Tensor> {
    if min.is_none() && max.is_none() {
        return Err(Error::Runtime(
            "torch.clamp: At least one of 'min' or 'max' must not be None".into(),
        ));
    }
    let mut ops = vec![operand(a)];
    ops.extend(min.map(|m| m.operand()));
    ops.extend(max.map(|m| m.operand()));
    let dtype = result_type(&ops);
    if a.dtype() == DType::Bool && dtype == DType::Bool {
        return Err(not_implemented("clamp_cpu", dtype));
    }
    let (min, max) = (int_bound(min, dtype, true)?, int_bound(max, dtype, false)?);
    let (min, max) = (min.as_ref(), max.as_ref());
    let lo = min
        .map(|m| m.to_tensor(dtype).map(Cow::into_owned))
        .transpose()?;
    let hi = max
        .map(|m| m.to_tensor(dtype).map(Cow::into_owned))
        .transpose()?;
    let mut shape = a.shape().clone();
    for t in lo.iter().chain(hi.iter()) {
        shape = broadcast_shapes(&shape, t.shape())?;
    }
    let x = expand_view(&cast_view(a, dtype)?, &shape)?;
    let out = Tensor::uninit_for(&shape, dtype, a.device(), &[a])?;
    // Missing bounds become +-inf (or the integer range) of the compute type.
    let bound = |t: &Option<Tensor>, inf: f64| -> Result<Tensor> {
        match t {
            Some(t) => cast_view(t, dtype),
            None => {
                let v = if dtype.is_floating_point() {
                    Scalar::Float(inf)
                } else if inf > 0.0 {
                    Scalar::Int(i64::MAX)
                } else {
                    Scalar::Int(i64::MIN)
                };
                let s = Tensor::scalar(v, DType::F64)?;
                let s = if dtype.is_floating_point() {
                    cast_view(&s, dtype)?
                } else {
                    // Saturate to the dtype's range rather than wrapping.
                    let t = Tensor::scalar(
                        Scalar::Int(if inf > 0.0 {
                            int_max(dtype)
                        } else {
                            int_min(dtype)
                        }),
                        DType::I64,
                    )?;
                    cast_view(&t, dtype)?
                };
                Ok(s)
            }
        }
    };
    let (l1, h1) = (bound(&lo, f64::NEG_INFINITY)?, bound(&hi, f64::INFINITY)?);
    let on_cpu = |t: &Tensor| t.device() == crate::device::Device::Cpu;
    if l1.numel() == 1 && h1.numel() == 1 && on_cpu(&out) && on_cpu(&l1) && on_cpu(&h1) {
        // Number bounds (the usual case): a unary map with the bounds in registers,
        // which runs flat and vectorised on contiguous input.
        let (lv, hv) = (l1.item()?, h1.item()?);
        clamp_by_numbers(&out, &x, lv, hv)?;
    } else {
        let (l2, h2) = (expand_view(&l1, &shape)?, expand_view(&h1, &shape)?);
        map::element3(&out, &x, &l2, &h2, super::ternary_kinds::Clamp)?;
    }
    let inputs: Vec<Tensor> = std::iter::once(a.clone())
        .chain(lo.iter().cloned())
        .chain(hi.iter().cloned())
        .collect();
    let refs: Vec<&Tensor> = inputs.iter().collect();
    if needs_grad(&refs) {
        let (has_lo, has_hi) = (lo.is_some(), hi.is_some());
        let shapes: Vec<_> = inputs
            .iter()
            .map(|t| (t.shape().clone(), t.dtype(), t.requires_grad()))
            .collect();
        let saved: Vec<SavedTensor> = inputs.iter().map(SavedTensor::input).collect();
        let all_scalar = min.is_none_or(|m| matches!(m, Rhs::Scalar(_)))
            && max.is_none_or(|m| matches!(m, Rhs::Scalar(_)));
        let name = match (kind, all_scalar) {
            (ClampName::Clamp, true) => "ClampBackward1",
            (ClampName::Clamp, false) => "ClampBackward0",
            (ClampName::Min, true) => "ClampMinBackward0",
            (ClampName::Min, false) => "ClampMinBackward1",
            (ClampName::Max, true) => "ClampMaxBackward0",
            (ClampName::Max, false) => "ClampMaxBackward1",
        };
        let out_shape = shape.clone();
        record(name, &refs, &out, move |ctx, g| {
            let vals: Vec<Tensor> = saved.iter().map(|s| s.unpack(ctx)).collect::<Result<_>>()?;
            let x = &vals[0];
            let gd = g.dtype();
            let nan = Tensor::scalar(Scalar::Float(f64::NAN), DType::F64)?;
            let l = if has_lo { vals[1].clone() } else { nan.clone() };
            let h = if has_hi {
                vals[if has_lo { 2 } else { 1 }].clone()
            } else {
                nan
            };
            let (gx, gl, gh) =
                clamp_grad_masks(x, &l, &h, has_lo, has_hi, all_scalar, &out_shape, gd)?;
            let mut grads = Vec::new();
            let mut push = |m: Option<Tensor>, i: usize| -> Result<()> {
                let (s, d, r) = &shapes[i];
                grads.push(match (m, *r) {
                    (Some(m), true) => Some(reduce_grad(&weighted_grad(g, &m)?, s, *d)?),
                    _ => None,
                });
                Ok(())
            };
            push(Some(gx), 0)?;
            if has_lo {
                push(gl, 1)?;
            }
            if has_hi {
                push(gh, shapes.len() - 1)?;
            }
            Ok(grads)
        });
    }
    Ok(out)
}

/// The gradient factors of clamp for (x, lo, hi), as PyTorch 2.15 defines them.
/// - Number bounds: x gets the gradient only strictly inside, `lo < x < hi` (a NaN
///   bound or a NaN x gets none).
/// - One tensor bound: `maximum`/`minimum`'s rule: a tie splits evenly, a NaN on
///   either side passes the gradient to both.
/// - Two bounds, one a tensor: x gets it where `!(x < lo) && !(x > hi)`, lo where
///   `x < lo <= hi`, hi where `x > hi >= lo` or everywhere when `lo > hi`; a tie of
///   x with exactly one usable bound splits evenly.
#[allow(clippy::too_many_arguments, clippy::neg_cmp_op_on_partial_ord)]
fn clamp_grad_masks(
    x: &Tensor,
    l: &Tensor,
    h: &Tensor,
    has_lo: bool,
    has_hi: bool,
    all_scalar: bool,
    shape: &[usize],
    gd: DType,
) -> Result<(Tensor, Option<Tensor>, Option<Tensor>)> {
    if all_scalar {
        let gx = mask3(x, l, h, shape, gd, ClampInside { has_lo, has_hi })?;
        return Ok((gx, None, None));
    }
    let one = |upper, input| ClampOneBound { upper, input };
    let both = |part| ClampBoth { part };
    match (has_lo, has_hi) {
        (true, false) => {
            let gx = mask3(x, l, h, shape, gd, one(false, true))?;
            let gl = mask3(x, l, h, shape, gd, one(false, false))?;
            Ok((gx, Some(gl), None))
        }
        (false, true) => {
            let gx = mask3(x, l, h, shape, gd, one(true, true))?;
            let gh = mask3(x, l, h, shape, gd, one(true, false))?;
            Ok((gx, None, Some(gh)))
        }
        _ => {
            let gx = mask3(x, l, h, shape, gd, both(ClampPart::Input))?;
            let gl = mask3(x, l, h, shape, gd, both(ClampPart::Lo))?;
            let gh = mask3(x, l, h, shape, gd, both(ClampPart::Hi))?;
            Ok((gx, Some(gl), Some(gh)))
        }
    }
}

/// A number bound of an integer clamp as PyTorch takes it: one beyond the dtype's range
/// on the side that cannot bind is the range's end (uint8 `clamp(min=-2)` changes
/// nothing); one beyond it on the other side is an error (`clamp(min=300)`).
fn int_bound(b: Option<&Rhs>, dtype: DType, is_min: bool) -> Result<Option<Rhs>> {
    let v = match b {
        Some(Rhs::Scalar(Scalar::Int(v))) if !dtype.is_floating_point() && dtype != DType::Bool => {
            *v
        }
        other => return Ok(other.cloned()),
    };
    let (lo, hi) = (int_min(dtype), int_max(dtype));
    if (is_min && v > hi) || (!is_min && v < lo) {
        return Err(Error::Runtime(format!(
            "Clamp {} value {v} is outside the representable range of {}",
            if is_min { "min" } else { "max" },
            dtype.scalar_type_name()
        )));
    }
    Ok(Some(Rhs::Scalar(Scalar::Int(v.clamp(lo, hi)))))
}

fn int_max(d: DType) -> i64 {
    match d {
        DType::U8 => u8::MAX as i64,
        DType::I8 => i8::MAX as i64,
        DType::I16 => i16::MAX as i64,
        DType::I32 => i32::MAX as i64,
        DType::Bool => 1,
        _ => i64::MAX,
    }
}

pub(crate) fn int_min(d: DType) -> i64 {
    match d {
        DType::U8 | DType::Bool => 0,
        DType::I8 => i8::MIN as i64,
        DType::I16 => i16::MIN as i64,
        DType::I32 => i32::MIN as i64,
        _ => i64::MIN,
    }
}

pub fn clamp_(a: &Tensor, min: Option<&Rhs>, max: Option<&Rhs>) -> Result<()> {
    let (mn, mx) = (min.cloned(), max.cloned());
    let rhs = Rhs::Scalar(Scalar::Int(0));
    for b in min.iter().chain(max.iter()) {
        if let Rhs::Tensor(t) = b {
            crate::autograd::view::check_no_partial_overlap(a, t)?;
        }
    }
    let mut ops = vec![operand(a)];
    ops.extend(min.map(|m| m.operand()));
    ops.extend(max.map(|m| m.operand()));
    let dtype = result_type(&ops);
    super::check_inplace_result(a, dtype, a.shape())?;
    let numbers = |b: Option<&Rhs>| b.is_none_or(|b| matches!(b, Rhs::Scalar(_)));
    if dtype == a.dtype()
        && numbers(min)
        && numbers(max)
        && (min.is_some() || max.is_some())
        && a.dtype() != DType::Bool
        && super::binary::direct_target(a)?
    {
        // No graph to record and nothing to promote: clamp straight into `a`.
        let (lv, hv) = (
            clamp_number(min, dtype, true)?,
            clamp_number(max, dtype, false)?,
        );
        clamp_by_numbers(a, a, lv, hv)?;
        a.storage().bump_version();
        return Ok(());
    }
    in_place_with(a, &rhs, move |x, _| clamp(x, mn.as_ref(), mx.as_ref()))
}

/// A number bound of a clamp as the kernel takes it, in `dtype`: the value rounded to
/// the dtype (integer bounds past its range as `int_bound` rules), a missing bound the
/// dtype's end (±inf for floats).
fn clamp_number(b: Option<&Rhs>, dtype: DType, is_min: bool) -> Result<Scalar> {
    match int_bound(b, dtype, is_min)? {
        Some(b) => b.to_tensor(dtype)?.item(),
        None if dtype.is_floating_point() => Ok(Scalar::Float(if is_min {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        })),
        None => Ok(Scalar::Int(if is_min {
            int_min(dtype)
        } else {
            int_max(dtype)
        })),
    }
}
