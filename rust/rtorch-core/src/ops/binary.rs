//! Broadcasting binary arithmetic: add, sub, mul, div (+ in-place forms).
//!
//! Every op: result dtype by `result_type`, operands converted to the compute dtype
//! and expanded to the broadcast shape, then one named kind (`ops::binary_kinds`) run
//! by the family's dispatch (`ops::map`). Backward reduces
//! the output gradient back over broadcast dims and casts to each input's dtype.

use super::binary_kinds::{self as kinds, ArithBinary};
use super::{check_inplace_result, expand_view, operand, reduce_grad};
use crate::autograd::{needs_grad, record, SavedTensor};
use crate::dtype::{result_type, DType, Operand, Scalar};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::layout::{broadcast_shapes, Dims};
use crate::ops::map;
use crate::tensor::Tensor;
use std::borrow::Cow;

/// The right-hand side of a binary op: a tensor or a Python number.
#[derive(Clone, Debug)]
pub enum Rhs {
    Tensor(Tensor),
    Scalar(Scalar),
}

impl From<&Tensor> for Rhs {
    fn from(t: &Tensor) -> Rhs {
        Rhs::Tensor(t.clone())
    }
}
impl From<Scalar> for Rhs {
    fn from(s: Scalar) -> Rhs {
        Rhs::Scalar(s)
    }
}

impl Rhs {
    pub fn operand(&self) -> Operand {
        match self {
            Rhs::Tensor(t) => operand(t),
            Rhs::Scalar(s) => Operand::Scalar(*s),
        }
    }

    /// As a tensor of `dtype` (a scalar becomes a 0-dim tensor; a tensor is borrowed).
    pub fn to_tensor(&self, dtype: DType) -> Result<Cow<'_, Tensor>> {
        match self {
            Rhs::Tensor(t) => Ok(Cow::Borrowed(t)),
            Rhs::Scalar(s) => Ok(Cow::Owned(Tensor::scalar(*s, dtype)?)),
        }
    }
}

pub use crate::element::Arith;

/// Operands converted to `dtype` and expanded to their broadcast shape. An operand that
/// already has both is borrowed, not cloned: the common case of every binary op, where
/// two reference-count round trips per operand are measurable on a 4-element add.
pub fn broadcast_operands<'a>(
    a: &'a Tensor,
    b: &'a Tensor,
    dtype: DType,
) -> Result<(Cow<'a, Tensor>, Cow<'a, Tensor>, Dims)> {
    // Equal shapes (the common case, and the whole cost of a small op's shape work)
    // broadcast to themselves.
    let shape = if a.shape() == b.shape() {
        Dims::from_slice(a.shape())
    } else {
        broadcast_shapes(a.shape(), b.shape())?
    };
    let a2 = operand_as(a, dtype, &shape)?;
    let b2 = operand_as(b, dtype, &shape)?;
    Ok((a2, b2, shape))
}

/// `t` in `dtype`, expanded to `shape`; borrowed when it is already both.
fn operand_as<'a>(t: &'a Tensor, dtype: DType, shape: &[usize]) -> Result<Cow<'a, Tensor>> {
    if t.dtype() == dtype && t.shape().as_slice() == shape {
        return Ok(Cow::Borrowed(t));
    }
    Ok(Cow::Owned(expand_view(
        &super::cast_view(t, dtype)?,
        shape,
    )?))
}

/// `out = k(a, b)` in dtype `dtype` (operands broadcast and converted), without
/// autograd.
fn arith_kernel<K: ArithBinary>(a: &Tensor, b: &Tensor, k: K, dtype: DType) -> Result<Tensor> {
    let (a2, b2, shape) = broadcast_operands(a, b, dtype)?;
    let out = Tensor::uninit_for(&shape, dtype, Tensor::result_device(&[a, b]), &[a, b])?;
    map::arith(&out, &a2, &b2, k)?;
    Ok(out)
}

/// `a (k) b` for the commonest call of all: two tensors of one dtype, shape and device,
/// neither needing a gradient. The result is what the general path gives (the dtype
/// promotes to itself, nothing broadcasts), without its promotion, broadcasting and
/// conversion steps, which on a few elements cost as much as the rest of the op. None
/// when this path does not apply.
fn same_operands<K: ArithBinary>(a: &Tensor, b: &Rhs, k: K) -> Result<Option<Tensor>> {
    let Rhs::Tensor(b) = b else {
        return Ok(None);
    };
    let same = a.dtype() == b.dtype()
        && a.device() == b.device()
        && a.shape().len() == b.shape().len()
        && a.shape().iter().zip(b.shape()).all(|(x, y)| x == y);
    if !same || needs_grad(&[a, b]) {
        return Ok(None);
    }
    let out = Tensor::uninit_for(a.shape(), a.dtype(), a.device(), &[a, b])?;
    map::arith(&out, a, b, k)?;
    Ok(Some(out))
}

/// `a (k) s` when `b` is a number `s` and the op keeps `a`'s dtype, float32, float64 or
/// an integer type: one pass with the number in a register, where the general path makes
/// a 0-dim tensor of it and broadcasts that (the same values: the number is converted
/// as that tensor would be). The half types keep their own rules (`half_number`); None
/// when this path does not apply.
fn by_number<K: ArithBinary>(a: &Tensor, b: &Rhs, dtype: DType, k: K) -> Result<Option<Tensor>> {
    let Rhs::Scalar(s) = b else {
        return Ok(None);
    };
    let kept = matches!(
        dtype,
        DType::F32 | DType::F64 | DType::U8 | DType::I8 | DType::I16 | DType::I32 | DType::I64
    );
    if dtype != a.dtype() || !kept {
        return Ok(None);
    }
    let out = Tensor::uninit_for(a.shape(), dtype, a.device(), &[a])?;
    map::arith_number(&out, a, *s, k)?;
    Ok(Some(out))
}

/// `a + alpha * b` (or `a - alpha * b`) without autograd; the plain kind when alpha is
/// 1.
fn add_kernel(
    a: &Tensor,
    b: &Tensor,
    alpha: Scalar,
    subtract: bool,
    dtype: DType,
) -> Result<Tensor> {
    let alpha = alpha_in(alpha, dtype);
    match (subtract, alpha.to_f64() == 1.0) {
        (false, true) => arith_kernel(a, b, kinds::Add, dtype),
        (false, false) => arith_kernel(a, b, kinds::AddScaled { alpha }, dtype),
        (true, true) => arith_kernel(a, b, kinds::Sub, dtype),
        (true, false) => arith_kernel(a, b, kinds::SubScaled { alpha }, dtype),
    }
}

/// `alpha` as PyTorch's add kernel uses it: rounded to a float16/bfloat16 tensor's
/// type (unlike a number multiplying one, which stays in float32), then widened.
/// (`Element::cast_from_f64` rounds through float32, as PyTorch's constructors do.)
fn alpha_in(alpha: Scalar, dtype: DType) -> Scalar {
    match (dtype, alpha) {
        (_, Scalar::Bool(_)) => alpha,
        (DType::F16, _) => Scalar::Float(half::f16::cast_from_f64(alpha.to_f64()).to_f64()),
        (DType::BF16, _) => Scalar::Float(half::bf16::cast_from_f64(alpha.to_f64()).to_f64()),
        _ => alpha,
    }
}

fn check_alpha(dtype: DType, alpha: Scalar) -> Result<()> {
    if !dtype.is_floating_point() && matches!(alpha, Scalar::Float(_)) {
        return Err(Error::Runtime(
            "For integral input tensors, argument alpha must not be a floating point number."
                .into(),
        ));
    }
    Ok(())
}

/// PyTorch's `sub_check`: no subtraction with a bool operand (a Python bool counts),
/// whatever the result dtype.
fn check_bool_sub(a_bool: bool, b_bool: bool) -> Result<()> {
    if a_bool && b_bool {
        return Err(Error::NotImplemented(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or `logical_xor()` operator instead.".into(),
        ));
    }
    if a_bool || b_bool {
        return Err(Error::NotImplemented(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.".into(),
        ));
    }
    Ok(())
}

impl Rhs {
    /// Whether the operand is a bool tensor or a Python bool.
    fn is_bool(&self) -> bool {
        match self {
            Rhs::Tensor(t) => t.dtype() == DType::Bool,
            Rhs::Scalar(s) => matches!(s, Scalar::Bool(_)),
        }
    }
}

/// `a + alpha * b`.
pub fn add_scaled(a: &Tensor, b: &Rhs, alpha: Scalar) -> Result<Tensor> {
    if let Scalar::Int(1) = alpha {
        if let Some(out) = same_operands(a, b, kinds::Add)? {
            return Ok(out);
        }
    }
    let dtype = result_type(&[operand(a), b.operand()]);
    check_alpha(dtype, alpha)?;
    let mut fast = match alpha_in(alpha, dtype).to_f64() == 1.0 {
        true => by_number(a, b, dtype, kinds::Add)?,
        false => None,
    };
    // (A number needs no gradient: without one for `a` there is no node to record.)
    if let Some(out) = fast.take_if(|_| !needs_grad(&[a])) {
        return Ok(out);
    }
    let bt = b.to_tensor(dtype)?;
    let out = match fast {
        Some(out) => out,
        None => add_kernel(a, &bt, alpha, false, dtype)?,
    };
    if needs_grad(&[a, &bt]) {
        record_add_sub("AddBackward0", a, &bt, alpha.to_f64(), &out);
    }
    Ok(out)
}

pub fn add(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    add_scaled(a, &Rhs::Tensor(b.clone()), Scalar::Int(1))
}

/// `a - alpha * b`.
pub fn sub_scaled(a: &Tensor, b: &Rhs, alpha: Scalar) -> Result<Tensor> {
    // (Bool - bool is an error, raised below.)
    if let (Scalar::Int(1), false) = (alpha, a.dtype() == DType::Bool) {
        if let Some(out) = same_operands(a, b, kinds::Sub)? {
            return Ok(out);
        }
    }
    let dtype = result_type(&[operand(a), b.operand()]);
    check_bool_sub(a.dtype() == DType::Bool, b.is_bool())?;
    check_alpha(dtype, alpha)?;
    let mut fast = match alpha_in(alpha, dtype).to_f64() == 1.0 {
        true => by_number(a, b, dtype, kinds::Sub)?,
        false => None,
    };
    // (A number needs no gradient: without one for `a` there is no node to record.)
    if let Some(out) = fast.take_if(|_| !needs_grad(&[a])) {
        return Ok(out);
    }
    let bt = b.to_tensor(dtype)?;
    let out = match fast {
        Some(out) => out,
        None => add_kernel(a, &bt, alpha, true, dtype)?,
    };
    if needs_grad(&[a, &bt]) {
        record_add_sub("SubBackward0", a, &bt, -alpha.to_f64(), &out);
    }
    Ok(out)
}

pub fn sub(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    sub_scaled(a, &Rhs::Tensor(b.clone()), Scalar::Int(1))
}

fn record_add_sub(name: &'static str, a: &Tensor, b: &Tensor, b_scale: f64, out: &Tensor) {
    let (sa, da) = (a.shape().clone(), a.dtype());
    let (sb, db) = (b.shape().clone(), b.dtype());
    let (ra, rb) = (a.requires_grad(), b.requires_grad());
    record(name, &[a, b], out, move |_, g| {
        let ga = if ra {
            Some(reduce_grad(g, &sa, da)?)
        } else {
            None
        };
        let gb = if rb {
            let gs = if b_scale == 1.0 {
                g.clone()
            } else {
                mul_scalar(g, Scalar::Float(b_scale))?
            };
            Some(reduce_grad(&gs, &sb, db)?)
        } else {
            None
        };
        Ok(vec![ga, gb])
    });
}

pub fn mul_rhs(a: &Tensor, b: &Rhs) -> Result<Tensor> {
    if let Some(out) = same_operands(a, b, kinds::Mul)? {
        return Ok(out);
    }
    let dtype = result_type(&[operand(a), b.operand()]);
    let mut fast = by_number(a, b, dtype, kinds::Mul)?;
    if let Some(out) = fast.take_if(|_| !needs_grad(&[a])) {
        return Ok(out);
    }
    let bt = b.to_tensor(dtype)?;
    let number = half_number(a, b, dtype)?;
    let out = match (fast, number) {
        (Some(out), _) => out,
        (None, Some(s)) => half_by_number(a, s, kinds::Mul, dtype)?,
        (None, None) => arith_kernel(a, &bt, kinds::Mul, dtype)?,
    };
    if needs_grad(&[a, &bt]) {
        let (sa, da, sb, db) = (a.shape().clone(), a.dtype(), bt.shape().clone(), bt.dtype());
        let (ra, rb) = (a.requires_grad(), bt.requires_grad());
        // Each input's gradient needs the other input (a number stays a number, at
        // the precision the forward used).
        let saved_a = rb.then(|| SavedTensor::input(a));
        let b_number = match b {
            Rhs::Scalar(s) => Some(*s),
            Rhs::Tensor(_) => None,
        };
        let saved_b = (ra && b_number.is_none()).then(|| SavedTensor::input(&bt));
        record("MulBackward0", &[a, &bt], &out, move |ctx, g| {
            let ga = match (&saved_b, b_number) {
                (_, Some(s)) if ra => Some(reduce_grad(&mul_scalar(g, s)?, &sa, da)?),
                (Some(b), _) => Some(reduce_grad(&mul(g, &b.unpack(ctx)?)?, &sa, da)?),
                _ => None,
            };
            let gb = match &saved_a {
                Some(a) => Some(reduce_grad(&mul(g, &a.unpack(ctx)?)?, &sb, db)?),
                None => None,
            };
            Ok(vec![ga, gb])
        });
    }
    Ok(out)
}

/// The right operand of a float16/bfloat16 product or quotient as one float32 value,
/// when it is one: a Python number, or a CPU tensor of one element that broadcasts to
/// `a`'s shape (PyTorch's kernels take such an operand's value in float32 rather than
/// rounded to the half type; see `map::half_by_number`). Add, sub, remainder and pow
/// round it.
fn half_number(a: &Tensor, b: &Rhs, dtype: DType) -> Result<Option<f32>> {
    if !matches!(dtype, DType::F16 | DType::BF16) {
        return Ok(None);
    }
    match b {
        Rhs::Scalar(s) => Ok(Some(s.to_f64() as f32)),
        Rhs::Tensor(t)
            if t.numel() == 1
                && t.device() == crate::Device::Cpu
                && broadcast_shapes(a.shape(), t.shape())? == *a.shape() =>
        {
            Ok(Some(t.item()?.to_f64() as f32))
        }
        Rhs::Tensor(_) => Ok(None),
    }
}

/// `k(a, s)` for a half-type result `dtype` and a number `s` in float32.
fn half_by_number<K: kinds::FloatBinary>(a: &Tensor, s: f32, k: K, dtype: DType) -> Result<Tensor> {
    let x = super::cast_view(a, dtype)?;
    let out = Tensor::uninit_for(a.shape(), dtype, a.device(), &[a])?;
    map::half_by_number(&out, &x, s, k)?;
    Ok(out)
}

pub fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    mul_rhs(a, &Rhs::Tensor(b.clone()))
}

pub fn mul_scalar(a: &Tensor, s: Scalar) -> Result<Tensor> {
    mul_rhs(a, &Rhs::Scalar(s))
}

/// How `div` rounds: true division, or rounding toward zero / down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundingMode {
    True,
    Trunc,
    Floor,
}

/// `a / b` (true division: integers give the default float dtype).
pub fn div_rhs(a: &Tensor, b: &Rhs, mode: RoundingMode) -> Result<Tensor> {
    let mut dtype = result_type(&[operand(a), b.operand()]);
    if mode == RoundingMode::True && !dtype.is_floating_point() {
        dtype = crate::get_default_dtype();
    }
    if let (Rhs::Scalar(s), RoundingMode::True) = (b, mode) {
        // A float32/float64 tensor over a number: one pass, the number in a register
        // (converted to the dtype as a 0-dim tensor of it would be).
        if dtype == a.dtype() && matches!(dtype, DType::F32 | DType::F64) && !needs_grad(&[a]) {
            let out = Tensor::uninit_for(a.shape(), dtype, a.device(), &[a])?;
            map::float_number(&out, a, *s, kinds::Div)?;
            return Ok(out);
        }
    }
    let bt = b.to_tensor(dtype)?;
    let number = half_number(a, b, dtype)?;
    let out = match (number, mode) {
        (Some(s), RoundingMode::True) => half_by_number(a, s, kinds::Div, dtype)?,
        (Some(s), RoundingMode::Trunc) => half_by_number(a, s, kinds::DivTrunc, dtype)?,
        (Some(s), RoundingMode::Floor) => half_by_number(a, s, kinds::DivFloor, dtype)?,
        (None, _) => {
            let (a2, b2, shape) = broadcast_operands(a, &bt, dtype)?;
            let out =
                Tensor::uninit_for(&shape, dtype, Tensor::result_device(&[a, &bt]), &[a, &bt])?;
            div_into(&out, &a2, &b2, mode)?;
            out
        }
    };
    if needs_grad(&[a, &bt]) {
        if mode != RoundingMode::True {
            // Rounded division is piecewise constant: zero gradient, as in PyTorch.
            let (sa, da, sb, db) = (a.shape().clone(), a.dtype(), bt.shape().clone(), bt.dtype());
            record("DivBackward1", &[a, &bt], &out, move |_, g| {
                Ok(vec![
                    Some(reduce_grad(&super::reduce::zeros_like(g)?, &sa, da)?),
                    Some(reduce_grad(&super::reduce::zeros_like(g)?, &sb, db)?),
                ])
            });
        } else {
            let (sa, da, sb, db) = (a.shape().clone(), a.dtype(), bt.shape().clone(), bt.dtype());
            let (ra, rb) = (a.requires_grad(), bt.requires_grad());
            let saved_a = rb.then(|| SavedTensor::input(a));
            let saved_b = SavedTensor::input(&bt);
            // A number divides the gradient as it divided the input.
            let b_number = match b {
                Rhs::Scalar(s) => Some(*s),
                Rhs::Tensor(_) => None,
            };
            record("DivBackward0", &[a, &bt], &out, move |ctx, g| {
                let b = saved_b.unpack(ctx)?;
                let ga = match b_number {
                    _ if !ra => None,
                    Some(s) => Some(reduce_grad(
                        &div_rhs(g, &Rhs::Scalar(s), RoundingMode::True)?,
                        &sa,
                        da,
                    )?),
                    None => Some(reduce_grad(&div(g, &b)?, &sa, da)?),
                };
                let gb = match &saved_a {
                    // d(a/b)/db = -a / b^2
                    Some(a) => {
                        let a = a.unpack(ctx)?;
                        let t = div(&mul(g, &a)?, &mul(&b, &b)?)?;
                        Some(reduce_grad(&neg(&t)?, &sb, db)?)
                    }
                    None => None,
                };
                Ok(vec![ga, gb])
            });
        }
    }
    Ok(out)
}

pub fn div(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    div_rhs(a, &Rhs::Tensor(b.clone()), RoundingMode::True)
}

/// `s - t` for a Python number `s` (`__rsub__`), recorded as PyTorch's RsubBackward1.
pub fn rsub_scalar(t: &Tensor, s: Scalar) -> Result<Tensor> {
    check_bool_sub(matches!(s, Scalar::Bool(_)), t.dtype() == DType::Bool)?;
    // The number in the result's dtype (a float64 tensor keeps all of a Python float).
    let dtype = result_type(&[operand(t), Rhs::Scalar(s).operand()]);
    let lhs = Tensor::scalar(s, dtype)?;
    let out = {
        let _no_grad = crate::autograd::GradModeGuard::new(false);
        sub_scaled(&lhs, &Rhs::Tensor(t.clone()), Scalar::Int(1))?
    };
    if needs_grad(&[t]) {
        let (shape, dtype) = (t.shape().clone(), t.dtype());
        record("RsubBackward1", &[t], &out, move |_, g| {
            Ok(vec![Some(reduce_grad(&neg(g)?, &shape, dtype)?)])
        });
    }
    Ok(out)
}

/// `s / t` for a Python number `s` (`__rtruediv__`): PyTorch computes it as
/// `t.reciprocal() * s`, and so do we (same values, same graph).
pub fn rdiv_scalar(t: &Tensor, s: Scalar) -> Result<Tensor> {
    mul_scalar(&super::unary::reciprocal(t)?, s)
}

pub fn neg(a: &Tensor) -> Result<Tensor> {
    if a.dtype() == DType::Bool {
        return Err(Error::NotImplemented(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.".into(),
        ));
    }
    let out = if matches!(a.dtype(), DType::F16 | DType::BF16) {
        let out = Tensor::uninit_for(a.shape(), a.dtype(), a.device(), &[a])?;
        super::map::element(&out, a, super::unary_kinds::NegBits)?;
        out
    } else {
        neg_by_multiplying(a)?
    };
    if needs_grad(&[a]) {
        record("NegBackward0", &[a], &out, |_, g| Ok(vec![Some(neg(g)?)]));
    }
    Ok(out)
}

/// `a * -1` (every dtype but the 16-bit floats), no autograd.
fn neg_by_multiplying(a: &Tensor) -> Result<Tensor> {
    let minus_one = Rhs::Scalar(Scalar::Int(-1));
    Ok(match by_number(a, &minus_one, a.dtype(), kinds::Mul)? {
        Some(out) => out,
        None => arith_kernel(
            a,
            &Tensor::scalar(Scalar::Int(-1), a.dtype())?,
            kinds::Mul,
            a.dtype(),
        )?,
    })
}

fn div_into(out: &Tensor, a: &Tensor, b: &Tensor, mode: RoundingMode) -> Result<()> {
    let dtype = out.dtype();
    match mode {
        RoundingMode::True => map::float(out, a, b, kinds::Div),
        RoundingMode::Trunc if dtype.is_floating_point() => map::float(out, a, b, kinds::DivTrunc),
        RoundingMode::Floor if dtype.is_floating_point() => map::float(out, a, b, kinds::DivFloor),
        _ if dtype == DType::Bool => Err(super::unary::not_implemented(
            if mode == RoundingMode::Trunc {
                "div_trunc_cpu"
            } else {
                "div_floor_cpu"
            },
            dtype,
        )),
        RoundingMode::Trunc => map::int(out, a, b, kinds::DivTrunc),
        RoundingMode::Floor => map::int(out, a, b, kinds::DivFloor),
    }
}

// ----- in-place forms -----

/// Shared driver of in-place binary ops: checks, computes into `a` and records.
pub fn in_place_with(
    a: &Tensor,
    b: &Rhs,
    compute: impl FnOnce(&Tensor, &Rhs) -> Result<Tensor>,
) -> Result<()> {
    let b_needs = matches!(b, Rhs::Tensor(t) if t.requires_grad());
    super::index::check_inplace_view(a, b_needs)?;
    if let Rhs::Tensor(t) = b {
        crate::autograd::view::check_no_partial_overlap(a, t)?;
    }
    let dtype = result_type(&[operand(a), b.operand()]);
    let bshape = match b {
        Rhs::Tensor(t) => broadcast_shapes(a.shape(), t.shape())?,
        Rhs::Scalar(_) => a.shape().clone(),
    };
    check_inplace_result(a, dtype, &bshape)?;
    // Out of place into a temporary, then copied back: keeps aliasing and autograd
    // simple (the temporary's graph becomes `a`'s new history).
    let src = if crate::autograd::is_grad_enabled() && (a.requires_grad() || b_needs) {
        // The op may save its input for backward; keep the value from before the write.
        super::copy::clone_contiguous(a)?
    } else {
        a.clone()
    };
    let result = compute(&src, b)?;
    if result.shape() != a.shape() {
        // The op broadcast `a` to a larger shape (e.g. a tensor bound of clamp_).
        return Err(Error::Runtime(format!(
            "output with shape {} doesn't match the broadcast shape {}",
            crate::layout::fmt_shape(a.shape()),
            crate::layout::fmt_shape(result.shape())
        )));
    }
    crate::ops::map::copy_cast(a, &result)?;
    a.storage().bump_version();
    crate::autograd::view::commit_inplace(a, crate::autograd::gradient_edge(&result));
    Ok(())
}

pub fn add_in_place(a: &Tensor, b: &Tensor) -> Result<()> {
    add_scaled_in_place(a, &Rhs::Tensor(b.clone()), Scalar::Int(1))
}

pub fn add_scaled_in_place(a: &Tensor, b: &Rhs, alpha: Scalar) -> Result<()> {
    // (A self-overlapping `a` is refused by `direct_target` or `in_place_with`.)
    if add_sub_direct(a, b, alpha, false)? {
        return Ok(());
    }
    in_place_with(a, b, |x, y| add_scaled(x, y, alpha))
}

pub fn sub_scaled_in_place(a: &Tensor, b: &Rhs, alpha: Scalar) -> Result<()> {
    check_bool_sub(a.dtype() == DType::Bool, b.is_bool())?;
    if add_sub_direct(a, b, alpha, true)? {
        return Ok(());
    }
    in_place_with(a, b, |x, y| sub_scaled(x, y, alpha))
}

/// `a += alpha * b` (or `-=`) written straight into `a` with the kernel the out-of-place
/// op runs (the same bits), where nothing needs `a`'s old value: a tensor `b` of `a`'s
/// dtype (the 16-bit types too) on other storage and no autograd, or a number with
/// alpha 1 where `direct_operand` allows. Returns whether it wrote.
fn add_sub_direct(a: &Tensor, b: &Rhs, alpha: Scalar, subtract: bool) -> Result<bool> {
    let unit = |dtype| alpha_in(alpha, dtype).to_f64() == 1.0;
    match b {
        Rhs::Tensor(bt) => {
            let fits = bt.dtype() == a.dtype()
                && a.dtype() != DType::Bool
                && !needs_grad(&[bt])
                && !bt.storage().same(a.storage())
                && direct_target(a)?;
            if !fits {
                return Ok(false);
            }
            let shape = broadcast_shapes(a.shape(), bt.shape())?;
            check_inplace_result(a, a.dtype(), &shape)?;
            check_alpha(a.dtype(), alpha)?;
            let bx = expand_view(bt, a.shape())?;
            let scaled = alpha_in(alpha, a.dtype());
            let kernel = match (subtract, unit(a.dtype())) {
                (false, true) => map::arith(a, a, &bx, kinds::Add),
                (false, false) => map::arith(a, a, &bx, kinds::AddScaled { alpha: scaled }),
                (true, true) => map::arith(a, a, &bx, kinds::Sub),
                (true, false) => map::arith(a, a, &bx, kinds::SubScaled { alpha: scaled }),
            };
            written(a, kernel).map(|()| true)
        }
        Rhs::Scalar(_) => {
            let Some(Rhs::Scalar(s)) = direct_operand(a, b)? else {
                return Ok(false);
            };
            if !unit(a.dtype()) {
                return Ok(false);
            }
            check_alpha(a.dtype(), alpha)?;
            let kernel = match subtract {
                false => map::arith_number(a, a, s, kinds::Add),
                true => map::arith_number(a, a, s, kinds::Sub),
            };
            written(a, kernel).map(|()| true)
        }
    }
}

pub fn mul_in_place(a: &Tensor, b: &Rhs) -> Result<()> {
    if let Some(rhs) = direct_operand(a, b)? {
        let kernel = match &rhs {
            Rhs::Scalar(s) => map::arith_number(a, a, *s, kinds::Mul),
            Rhs::Tensor(t) => map::arith(a, a, t, kinds::Mul),
        };
        return written(a, kernel);
    }
    in_place_with(a, b, mul_rhs)
}

/// Ends an in-place op written straight into `t`: the kernel's result, then the
/// version bump.
pub(crate) fn written(t: &Tensor, kernel: Result<()>) -> Result<()> {
    kernel?;
    t.storage().bump_version();
    Ok(())
}

/// Whether an in-place op may write straight into `a`, as far as `a` goes: no gradient
/// for it, and the checks `in_place_with` makes passed (their errors raised here: a
/// view made under no_grad of a tensor that requires grad, a tensor overlapping
/// itself).
pub(crate) fn direct_target(a: &Tensor) -> Result<bool> {
    if needs_grad(&[a]) {
        return Ok(false);
    }
    crate::autograd::view::check_inplace(a, false)?;
    Ok(true)
}

/// `b` ready for an in-place op to write straight into `a` with the kernel the
/// out-of-place op runs (the same bits), or None where `in_place_with`'s temporary is
/// needed: autograd involved, `a` overlapping itself, a result dtype other than `a`'s
/// or one the number kernels do not take (bool, the 16-bit types: their numbers stay
/// in float32), or a tensor `b` of another dtype or device, on `a`'s storage, or not
/// broadcasting to `a`'s shape (expanded to it here). The temporary and its copy back
/// cost `x.mul_(0.9)` on 1M float32 3.5x PyTorch's time.
pub(crate) fn direct_operand(a: &Tensor, b: &Rhs) -> Result<Option<Rhs>> {
    let dtype = result_type(&[operand(a), b.operand()]);
    let kept = matches!(
        dtype,
        DType::F32 | DType::F64 | DType::U8 | DType::I8 | DType::I16 | DType::I32 | DType::I64
    );
    if dtype != a.dtype() || !kept || !direct_target(a)? {
        return Ok(None);
    }
    match b {
        Rhs::Scalar(s) => Ok(Some(Rhs::Scalar(*s))),
        Rhs::Tensor(t) => {
            let fits = t.dtype() == dtype
                && t.device() == a.device()
                && !needs_grad(&[t])
                && !t.storage().same(a.storage())
                && broadcast_shapes(a.shape(), t.shape()).is_ok_and(|s| s == *a.shape());
            if !fits {
                return Ok(None);
            }
            Ok(Some(Rhs::Tensor(expand_view(t, a.shape())?)))
        }
    }
}

pub fn div_in_place(a: &Tensor, b: &Rhs, mode: RoundingMode) -> Result<()> {
    if mode == RoundingMode::True {
        // True division of integers gives the default float dtype, which an integer
        // tensor cannot hold: PyTorch's error, before anything is written.
        let dtype = result_type(&[operand(a), b.operand()]);
        if !dtype.is_floating_point() {
            check_inplace_result(a, crate::get_default_dtype(), a.shape())?;
        }
    }
    let float = matches!(a.dtype(), DType::F32 | DType::F64);
    if mode == RoundingMode::True && float {
        if let Some(rhs) = direct_operand(a, b)? {
            let kernel = match &rhs {
                Rhs::Scalar(s) => map::float_number(a, a, *s, kinds::Div),
                Rhs::Tensor(t) => map::float(a, a, t, kinds::Div),
            };
            return written(a, kernel);
        }
    }
    in_place_with(a, b, |x, y| div_rhs(x, y, mode))
}
