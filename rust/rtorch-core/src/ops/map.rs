//! The elementwise family's device dispatch: maps, fill and copy/cast.
//!
//! Every elementwise op in `ops/` ends here. This is the one place the family picks its
//! backend: `Backend::of` checks that the tensors share a device, the CPU gets typed
//! views of them (`cpu::elementwise`), and the meta device has no values to compute.
//! A new backend adds one arm per function here.

use crate::cpu::elementwise as cpu;
use crate::device::{Backend, Device};
use crate::dtype::DType::{BF16, F16, F32};
use crate::dtype::Scalar;
use crate::element::Element;
use crate::error::Result;
use crate::tensor::Tensor;
use half::{bf16, f16};

/// `out[i] = f(a[i])`. `out` and `a` have the same shape; `out` may alias `a`
/// exactly (in-place ops) but must not partially overlap it.
#[inline]
pub fn unary_map<A: Element, O: Element>(
    out: &Tensor,
    a: &Tensor,
    f: impl Fn(A) -> O + Sync,
) -> Result<()> {
    match Backend::of(out, &[a])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            cpu::unary_map(out.cpu_view_mut()?, a.cpu_view()?, f);
            Ok(())
        }
    }
}

/// `out[i] = f(a[i])` for a 16-bit float type, computed in float32 blocks by `f`
/// (`cpu::elementwise::unary_map_half`).
pub fn unary_map_half<H: cpu::Half>(
    out: &Tensor,
    a: &Tensor,
    f: &(dyn Fn(&mut [f32]) + Sync),
) -> Result<()> {
    match Backend::of(out, &[a])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            cpu::unary_map_half::<H>(out.cpu_view_mut()?, a.cpu_view()?, f);
            Ok(())
        }
    }
}

/// `out[i] = f(a[i], b[i])` for a 16-bit float type, computed in float32 blocks by `f`
/// (`cpu::elementwise::binary_map_half`; `f(x, y)` leaves its results in `x`).
pub fn binary_map_half<H: cpu::Half>(
    out: &Tensor,
    a: &Tensor,
    b: &Tensor,
    f: &(dyn Fn(&mut [f32], &[f32]) + Sync),
) -> Result<()> {
    match Backend::of(out, &[a, b])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            cpu::binary_map_half::<H>(out.cpu_view_mut()?, a.cpu_view()?, b.cpu_view()?, f);
            Ok(())
        }
    }
}

/// `out[i] = f(a[i], b[i])`, same aliasing rules as `unary_map`.
#[inline]
pub fn binary_map<A: Element, B: Element, O: Element>(
    out: &Tensor,
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(A, B) -> O + Sync,
) -> Result<()> {
    match Backend::of(out, &[a, b])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            cpu::binary_map(out.cpu_view_mut()?, a.cpu_view()?, b.cpu_view()?, f);
            Ok(())
        }
    }
}

/// `out[i] = f(a[i], b[i], c[i])` (where, lerp, addcmul, clamp with tensor bounds).
#[inline]
pub fn ternary_map<A: Element, B: Element, C: Element, O: Element>(
    out: &Tensor,
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
    f: impl Fn(A, B, C) -> O + Sync,
) -> Result<()> {
    match Backend::of(out, &[a, b, c])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            let (a, b, c) = (a.cpu_view()?, b.cpu_view()?, c.cpu_view()?);
            cpu::ternary_map(out.cpu_view_mut()?, a, b, c, f);
            Ok(())
        }
    }
}

/// Fills every element of `out` (any layout) with `value` converted to its dtype.
pub fn fill(out: &Tensor, value: Scalar) -> Result<()> {
    crate::dispatch_all!(out.dtype(), T => {
        let v: T = match value {
            Scalar::Float(f) => T::from_f64(f),
            Scalar::Int(i) => T::from_i64(i),
            Scalar::Bool(b) => T::from_i64(b as i64),
        };
        fill_with(out, v)
    })
}

/// Fills every element of `out` (any layout) with `v`.
#[inline]
pub fn fill_with<T: Element>(out: &Tensor, v: T) -> Result<()> {
    match Backend::of(out, &[])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            cpu::fill(out.cpu_view_mut()?, v);
            Ok(())
        }
    }
}

/// `out[...] = src[...]` with PyTorch's dtype conversion; `src` is expanded to `out`'s
/// shape by the caller. `out` may alias `src` exactly.
#[inline]
pub fn copy_cast(out: &Tensor, src: &Tensor) -> Result<()> {
    // A meta destination takes any source (there is nothing to write); a meta source
    // has nothing to give.
    match (out.device(), src.device()) {
        (Device::Meta, _) => return Ok(()),
        (_, Device::Meta) => return Err(crate::storage::no_meta_data()),
        _ => {}
    }
    match Backend::of(out, &[src])? {
        Backend::Meta => Ok(()),
        Backend::Cpu if out.dtype() == src.dtype() => {
            crate::dispatch_all!(out.dtype(), T => {
                cpu::copy::<T>(out.cpu_view_mut()?, src.cpu_view()?);
            });
            Ok(())
        }
        Backend::Cpu
            if matches!(
                (src.dtype(), out.dtype()),
                (F16 | BF16, F32) | (F32, F16 | BF16)
            ) =>
        {
            // The casts around half-precision compute: vectorised conversions.
            match (src.dtype(), out.dtype()) {
                (F16, _) => cpu::widen_half::<f16>(out.cpu_view_mut()?, src.cpu_view()?),
                (BF16, _) => cpu::widen_half::<bf16>(out.cpu_view_mut()?, src.cpu_view()?),
                (_, F16) => cpu::narrow_half::<f16>(out.cpu_view_mut()?, src.cpu_view()?),
                _ => cpu::narrow_half::<bf16>(out.cpu_view_mut()?, src.cpu_view()?),
            }
            Ok(())
        }
        Backend::Cpu => crate::dispatch_all!(src.dtype(), A => {
            crate::dispatch_all!(out.dtype(), O => {
                cpu::unary_map::<A, O>(out.cpu_view_mut()?, src.cpu_view()?, cpu::cast::<A, O>);
                Ok(())
            })
        }),
    }
}
