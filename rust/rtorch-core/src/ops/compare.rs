//! Comparisons and logic: eq/ne/lt/le/gt/ge, isclose/allclose/equal, logical_* and
//! bitwise_* ops, shifts. Results of comparisons and logical ops are bool and carry no
//! gradient.

// Kernels are generic over every dtype, bool included.
#![allow(clippy::bool_comparison)]

use super::binary::{broadcast_operands, in_place_with, Rhs};
use super::binary_kinds as kinds;
use super::unary::not_implemented;
use super::{check_inplace, operand};
use crate::dtype::{result_type, DType};
use crate::error::{Error, Result};
use crate::ops::map;
use crate::tensor::Tensor;

/// Which comparison.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    /// The grad_fn name of the in-place form on a tensor with history.
    fn node_name(self) -> &'static str {
        match self {
            Cmp::Eq => "EqBackward0",
            Cmp::Ne => "NeBackward0",
            Cmp::Lt => "LtBackward0",
            Cmp::Le => "LeBackward0",
            Cmp::Gt => "GtBackward0",
            Cmp::Ge => "GeBackward0",
        }
    }
}

/// `a <op> b` with promotion to the common dtype; bool result.
pub fn compare(a: &Tensor, b: &Rhs, op: Cmp) -> Result<Tensor> {
    let dtype = result_type(&[operand(a), b.operand()]);
    let bt = b.to_tensor(dtype)?;
    let (a2, b2, shape) = broadcast_operands(a, &bt, dtype)?;
    let out = Tensor::uninit_for(
        &shape,
        DType::Bool,
        Tensor::result_device(&[a, &bt]),
        &[a, &bt],
    )?;
    match op {
        Cmp::Eq => map::test(&out, &a2, &b2, kinds::Eq),
        Cmp::Ne => map::test(&out, &a2, &b2, kinds::Ne),
        Cmp::Lt => map::test(&out, &a2, &b2, kinds::Lt),
        Cmp::Le => map::test(&out, &a2, &b2, kinds::Le),
        Cmp::Gt => map::test(&out, &a2, &b2, kinds::Gt),
        Cmp::Ge => map::test(&out, &a2, &b2, kinds::Ge),
    }?;
    Ok(out)
}

/// In-place comparison: writes 0/1 in `a`'s dtype.
pub fn compare_(a: &Tensor, b: &Rhs, op: Cmp) -> Result<()> {
    check_inplace(a)?;
    let r = compare(a, b, op)?;
    if r.shape() != a.shape() {
        return Err(Error::Runtime(format!(
            "output with shape {} doesn't match the broadcast shape {}",
            crate::layout::fmt_shape(a.shape()),
            crate::layout::fmt_shape(r.shape())
        )));
    }
    crate::ops::map::copy_cast(a, &r)?;
    super::finish_constant_write(a, op.node_name());
    Ok(())
}

pub fn eq(a: &Tensor, b: &Rhs) -> Result<Tensor> {
    compare(a, b, Cmp::Eq)
}
pub fn ne(a: &Tensor, b: &Rhs) -> Result<Tensor> {
    compare(a, b, Cmp::Ne)
}
pub fn lt(a: &Tensor, b: &Rhs) -> Result<Tensor> {
    compare(a, b, Cmp::Lt)
}
pub fn le(a: &Tensor, b: &Rhs) -> Result<Tensor> {
    compare(a, b, Cmp::Le)
}
pub fn gt(a: &Tensor, b: &Rhs) -> Result<Tensor> {
    compare(a, b, Cmp::Gt)
}
pub fn ge(a: &Tensor, b: &Rhs) -> Result<Tensor> {
    compare(a, b, Cmp::Ge)
}

/// `isclose`: `|a - b| <= atol + rtol |b|`, exact equality (infinities) counts, NaNs
/// equal only with `equal_nan`. Both tensors must have the same dtype.
pub fn isclose(a: &Tensor, b: &Tensor, rtol: f64, atol: f64, equal_nan: bool) -> Result<Tensor> {
    if a.dtype() != b.dtype() {
        return Err(Error::Runtime(format!(
            "{} did not match {}",
            a.dtype().scalar_type_name(),
            b.dtype().scalar_type_name()
        )));
    }
    if rtol < 0.0 {
        return Err(Error::Runtime(format!(
            "rtol must be greater than or equal to zero, but got {rtol}"
        )));
    }
    if atol < 0.0 {
        return Err(Error::Runtime(format!(
            "atol must be greater than or equal to zero, but got {atol}"
        )));
    }
    let dtype = a.dtype();
    let (a2, b2, shape) = broadcast_operands(a, b, dtype)?;
    let out = Tensor::uninit_for(&shape, DType::Bool, Tensor::result_device(&[a, b]), &[a, b])?;
    let close = kinds::IsClose {
        rtol,
        atol,
        equal_nan,
    };
    map::test(&out, &a2, &b2, close)?;
    Ok(out)
}

/// `allclose`: every element `isclose`.
pub fn allclose(a: &Tensor, b: &Tensor, rtol: f64, atol: f64, equal_nan: bool) -> Result<bool> {
    let c = isclose(a, b, rtol, atol, equal_nan)?;
    all_true(&c)
}

/// Whether every element of the bool tensor `c` is true: `c.all().item()`, so a meta
/// tensor raises PyTorch's item() error.
fn all_true(c: &Tensor) -> Result<bool> {
    let all = super::reduce::any_all(c, &[], false, false)?;
    Ok(all.item()?.to_f64() != 0.0)
}

/// `equal`: same shape and same values (after promotion).
pub fn equal(a: &Tensor, b: &Tensor) -> Result<bool> {
    if a.device() == crate::Device::Meta || b.device() == crate::Device::Meta {
        return Err(Error::NotImplemented(
            "aten::equal: attempted to run this operator with Meta tensors, but there was no fake impl or Meta kernel registered.".into(),
        ));
    }
    if a.shape() != b.shape() {
        return Ok(false);
    }
    let c = compare(a, &Rhs::Tensor(b.clone()), Cmp::Eq)?;
    all_true(&c)
}

/// Which logical op.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Logic {
    And,
    Or,
    Xor,
}

impl Logic {
    /// The grad_fn name of the in-place form on a tensor with history.
    fn node_name(self) -> &'static str {
        match self {
            Logic::And => "LogicalAndBackward0",
            Logic::Or => "LogicalOrBackward0",
            Logic::Xor => "LogicalXorBackward0",
        }
    }
}

/// `logical_and/or/xor`: inputs as truth values, bool result. Each input is converted
/// to bool on its own: converting to a common dtype first could round a tiny value to
/// zero.
pub fn logical(a: &Tensor, b: &Tensor, op: Logic) -> Result<Tensor> {
    let (a2, b2, shape) = broadcast_operands(a, b, DType::Bool)?;
    let out = Tensor::uninit_for(&shape, DType::Bool, Tensor::result_device(&[a, b]), &[a, b])?;
    match op {
        Logic::And => map::test(&out, &a2, &b2, kinds::LogicalAnd),
        Logic::Or => map::test(&out, &a2, &b2, kinds::LogicalOr),
        Logic::Xor => map::test(&out, &a2, &b2, kinds::LogicalXor),
    }?;
    Ok(out)
}

/// In-place logical op: 0/1 written in `a`'s dtype.
pub fn logical_(a: &Tensor, b: &Tensor, op: Logic) -> Result<()> {
    check_inplace(a)?;
    let r = logical(a, b, op)?;
    if r.shape() != a.shape() {
        return Err(Error::Runtime(format!(
            "output with shape {} doesn't match the broadcast shape {}",
            crate::layout::fmt_shape(a.shape()),
            crate::layout::fmt_shape(r.shape())
        )));
    }
    crate::ops::map::copy_cast(a, &r)?;
    super::finish_constant_write(a, op.node_name());
    Ok(())
}

/// Which bitwise op.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Bit {
    And,
    Or,
    Xor,
    Shl,
    Shr,
}

impl Bit {
    fn kernel_name(self) -> &'static str {
        match self {
            Bit::And => "bitwise_and_cpu",
            Bit::Or => "bitwise_or_cpu",
            Bit::Xor => "bitwise_xor_cpu",
            Bit::Shl => "lshift_cpu",
            Bit::Shr => "rshift_cpu",
        }
    }
}

/// Bitwise op on integer and bool tensors (floats raise NotImplementedError).
pub fn bitwise(a: &Tensor, b: &Rhs, op: Bit) -> Result<Tensor> {
    let dtype = result_type(&[operand(a), b.operand()]);
    if dtype.is_floating_point() {
        return Err(not_implemented(op.kernel_name(), dtype));
    }
    let bt = b.to_tensor(dtype)?;
    let (a2, b2, shape) = broadcast_operands(a, &bt, dtype)?;
    let out = Tensor::uninit_for(&shape, dtype, Tensor::result_device(&[a, &bt]), &[a, &bt])?;
    bitwise_kernel(&out, &a2, &b2, op)?;
    Ok(out)
}

fn bitwise_kernel(out: &Tensor, a: &Tensor, b: &Tensor, op: Bit) -> Result<()> {
    let dtype = out.dtype();
    let bits = (dtype.size() * 8) as u32;
    match op {
        Bit::And => map::int(out, a, b, kinds::BitAnd),
        Bit::Or => map::int(out, a, b, kinds::BitOr),
        Bit::Xor => map::int(out, a, b, kinds::BitXor),
        // Shifts are not defined on bool: PyTorch's error names its CPU kernel.
        _ if dtype == DType::Bool => Err(not_implemented(op.kernel_name(), dtype)),
        Bit::Shl => map::int(out, a, b, kinds::Shl { bits }),
        Bit::Shr => map::int(
            out,
            a,
            b,
            kinds::Shr {
                bits,
                signed: dtype.is_signed(),
            },
        ),
    }
}

pub fn bitwise_(a: &Tensor, b: &Rhs, op: Bit) -> Result<()> {
    let dtype = result_type(&[operand(a), b.operand()]);
    if dtype.is_floating_point() {
        return Err(not_implemented(op.kernel_name(), dtype));
    }
    if let Some(rhs) = super::binary::direct_operand(a, b)? {
        // Straight into `a` with the out-of-place kernel (the same bits), no temporary.
        let bt = match rhs {
            Rhs::Scalar(s) => super::expand_view(&Tensor::scalar(s, a.dtype())?, a.shape())?,
            Rhs::Tensor(t) => t,
        };
        return super::binary::written(a, bitwise_kernel(a, a, &bt, op));
    }
    in_place_with(a, b, |x, y| bitwise(x, y, op))
}

/// `n << t` / `n & t` with a Python number on the left.
pub fn bitwise_scalar_lhs(s: crate::dtype::Scalar, t: &Tensor, op: Bit) -> Result<Tensor> {
    let dtype = result_type(&[Rhs::Scalar(s).operand(), operand(t)]);
    if dtype.is_floating_point() {
        return Err(not_implemented(op.kernel_name(), dtype));
    }
    bitwise(&Tensor::scalar(s, dtype)?, &Rhs::Tensor(t.clone()), op)
}
