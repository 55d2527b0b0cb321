//! The elementwise family's device dispatch: maps, fill and copy/cast.
//!
//! Every elementwise op in `ops/` ends here. This is the one place the family picks its
//! backend: `Backend::of` checks that the tensors share a device, the CPU gets typed
//! views of them (`cpu::elementwise`), and the meta device has no values to compute.
//! A new backend adds one arm per function here.

use super::binary_kinds::{ArithBinary, CompareBinary, FloatBinary, IntBinary};
use super::ternary_kinds::FloatTernary;
use crate::cpu::elementwise as cpu;
use crate::device::{Backend, Device};
use crate::dtype::DType::{self, BF16, F16, F32};
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
            Scalar::Float(f) => T::cast_from_f64(f),
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

// ----- binary kinds (`ops::binary_kinds`): the family's ops by name -----

/// Runs `$body` with `$T` bound to the Rust type of `$dtype`, for every dtype but the
/// half types (their arms are written out by the caller: they compute in float32).
macro_rules! dispatch_unhalved {
    ($dtype:expr, $T:ident => $body:expr) => {{
        match $dtype {
            DType::Bool => {
                type $T = bool;
                $body
            }
            DType::F32 => {
                type $T = f32;
                $body
            }
            DType::F64 => {
                type $T = f64;
                $body
            }
            d => crate::dispatch_int!(d, $T => $body, _ => unreachable!("half dtypes handled by the caller")),
        }
    }};
}

/// `out = k(a, b)` for an op defined on every dtype; `a`, `b` and `out` share `out`'s
/// dtype and shape (`out` may alias an input exactly).
pub fn arith<K: ArithBinary>(out: &Tensor, a: &Tensor, b: &Tensor, k: K) -> Result<()> {
    match Backend::of(out, &[a, b])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            let (o, x, y) = (out, a, b);
            let block = move |x: &mut [f32], y: &[f32]| arith_block(k, x, y);
            match out.dtype() {
                F32 if K::FUSED => cpu::binary_map_half::<f32>(
                    o.cpu_view_mut()?,
                    x.cpu_view()?,
                    y.cpu_view()?,
                    &block,
                ),
                F16 => cpu::binary_map_half::<f16>(
                    o.cpu_view_mut()?,
                    x.cpu_view()?,
                    y.cpu_view()?,
                    &block,
                ),
                BF16 => cpu::binary_map_half::<bf16>(
                    o.cpu_view_mut()?,
                    x.cpu_view()?,
                    y.cpu_view()?,
                    &block,
                ),
                dt => dispatch_unhalved!(dt, T => cpu::binary_map::<T, T, T>(
                    o.cpu_view_mut()?,
                    x.cpu_view()?,
                    y.cpu_view()?,
                    move |p, q| k.apply(p, q),
                )),
            }
            Ok(())
        }
    }
}

/// `k.f32_block(x, y)` compiled for the widest vector unit in use (the same
/// operations in every width, never contracted, so the bits do not depend on it).
#[inline]
fn arith_block<K: ArithBinary>(k: K, x: &mut [f32], y: &[f32]) {
    /// # Safety
    /// The CPU has AVX-512 F/BW/DQ/VL, AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
    unsafe fn avx512<K: ArithBinary>(k: K, x: &mut [f32], y: &[f32]) {
        k.f32_block(x, y)
    }
    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2<K: ArithBinary>(k: K, x: &mut [f32], y: &[f32]) {
        k.f32_block(x, y)
    }
    use crate::cpu::math::{capability, Capability};
    match capability() {
        // SAFETY: `capability()` only answers a level the CPU supports.
        #[cfg(target_arch = "x86_64")]
        Capability::Avx512 => unsafe { avx512(k, x, y) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Capability::Avx2 => unsafe { avx2(k, x, y) },
        _ => k.f32_block(x, y),
    }
}

/// `out = k(a, b)` for an op on floating dtypes (the caller rejects the others).
pub fn float<K: FloatBinary>(out: &Tensor, a: &Tensor, b: &Tensor, k: K) -> Result<()> {
    match Backend::of(out, &[a, b])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            let (o, x, y) = (out, a, b);
            match out.dtype() {
                F32 => cpu::binary_map::<f32, f32, f32>(
                    o.cpu_view_mut()?,
                    x.cpu_view()?,
                    y.cpu_view()?,
                    move |p, q| k.f32(p, q),
                ),
                DType::F64 => cpu::binary_map::<f64, f64, f64>(
                    o.cpu_view_mut()?,
                    x.cpu_view()?,
                    y.cpu_view()?,
                    move |p, q| k.f64(p, q),
                ),
                F16 => cpu::binary_map_half::<f16>(
                    o.cpu_view_mut()?,
                    x.cpu_view()?,
                    y.cpu_view()?,
                    &move |x, y| half_block(k, x, y, round_to::<f16>),
                ),
                BF16 => cpu::binary_map_half::<bf16>(
                    o.cpu_view_mut()?,
                    x.cpu_view()?,
                    y.cpu_view()?,
                    &move |x, y| half_block(k, x, y, round_to::<bf16>),
                ),
                d => return Err(super::unary::not_implemented(K::NAME, d)),
            }
            Ok(())
        }
    }
}

/// `x = k(x, y)` over float32 blocks of half-type values, compiled for the widest
/// vector unit in use (what LLVM can vectorise of the formula: division, not libm).
#[inline]
fn half_block<K: FloatBinary>(k: K, x: &mut [f32], y: &[f32], round: fn(f32) -> f32) {
    #[inline(always)]
    fn body<K: FloatBinary>(k: K, x: &mut [f32], y: &[f32], round: fn(f32) -> f32) {
        for (p, &q) in x.iter_mut().zip(y) {
            *p = k.half(*p, q, round);
        }
    }
    /// # Safety
    /// The CPU has AVX-512 F/BW/DQ/VL, AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
    unsafe fn avx512<K: FloatBinary>(k: K, x: &mut [f32], y: &[f32], round: fn(f32) -> f32) {
        body(k, x, y, round)
    }
    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2<K: FloatBinary>(k: K, x: &mut [f32], y: &[f32], round: fn(f32) -> f32) {
        body(k, x, y, round)
    }
    use crate::cpu::math::{capability, Capability};
    match capability() {
        // SAFETY: `capability()` only answers a level the CPU supports.
        #[cfg(target_arch = "x86_64")]
        Capability::Avx512 => unsafe { avx512(k, x, y, round) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Capability::Avx2 => unsafe { avx2(k, x, y, round) },
        _ => body(k, x, y, round),
    }
}

/// `v` rounded to the half type `H` (and back to float32, exactly).
fn round_to<H: cpu::Half>(v: f32) -> f32 {
    H::narrow(v).widen()
}

/// `out = k(a, b)` for an op on integer and bool dtypes. A kind that divides raises
/// PyTorch's ZeroDivisionError when any divisor is zero, before writing anything.
pub fn int<K: IntBinary>(out: &Tensor, a: &Tensor, b: &Tensor, k: K) -> Result<()> {
    match Backend::of(out, &[a, b])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            if K::DIVIDES && super::pointwise::any_zero(b) {
                return Err(crate::error::Error::Runtime("ZeroDivisionError".into()));
            }
            let (o, x, y) = (out, a, b);
            match out.dtype() {
                DType::Bool if K::BOOL => cpu::binary_map::<bool, bool, bool>(
                    o.cpu_view_mut()?,
                    x.cpu_view()?,
                    y.cpu_view()?,
                    move |p, q| k.int(p as i64, q as i64) != 0,
                ),
                d => crate::dispatch_int!(d, T => cpu::binary_map::<T, T, T>(
                    o.cpu_view_mut()?,
                    x.cpu_view()?,
                    y.cpu_view()?,
                    move |p, q| T::from_i64(k.int(p.to_i64(), q.to_i64())),
                ), _ => return Err(super::unary::not_implemented(K::NAME, d))),
            }
            Ok(())
        }
    }
}

/// `out = k(a, b)` for a predicate: `a` and `b` share a dtype, `out` is bool.
pub fn test<K: CompareBinary>(out: &Tensor, a: &Tensor, b: &Tensor, k: K) -> Result<()> {
    match Backend::of(out, &[a, b])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            let (o, x, y) = (out, a, b);
            crate::dispatch_all!(a.dtype(), T => cpu::binary_map::<T, T, bool>(
                o.cpu_view_mut()?,
                x.cpu_view()?,
                y.cpu_view()?,
                move |p, q| k.test(p, q),
            ));
            Ok(())
        }
    }
}

/// `out = k(a, s)` for a float16/bfloat16 `a` and a Python number `s` held in float32.
/// PyTorch's CPU kernels for multiplication and the divisions keep such a number at
/// float32 ("opmath") precision instead of rounding it to the tensor's type, and
/// compute the whole formula in float32 (one rounding). Other dtypes are the caller's.
pub fn half_by_number<K: FloatBinary>(out: &Tensor, a: &Tensor, s: f32, k: K) -> Result<()> {
    match Backend::of(out, &[a])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            let block = move |x: &mut [f32]| x.iter_mut().for_each(|p| *p = k.f32(*p, s));
            match out.dtype() {
                F16 => cpu::unary_map_half::<f16>(out.cpu_view_mut()?, a.cpu_view()?, &block),
                BF16 => cpu::unary_map_half::<bf16>(out.cpu_view_mut()?, a.cpu_view()?, &block),
                d => {
                    return Err(crate::error::Error::Runtime(format!(
                        "half_by_number: {d:?} is not a half type"
                    )))
                }
            }
            Ok(())
        }
    }
}

/// `out = k(a, b, c)` for a fused floating op; the inputs share `out`'s dtype and
/// shape. Half types compute in float32 and round once.
pub fn float3<K: FloatTernary>(
    out: &Tensor,
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
    k: K,
) -> Result<()> {
    match Backend::of(out, &[a, b, c])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            match out.dtype() {
                F32 => cpu::ternary_map::<f32, f32, f32, f32>(
                    out.cpu_view_mut()?,
                    a.cpu_view()?,
                    b.cpu_view()?,
                    c.cpu_view()?,
                    move |x, y, z| k.f32(x, y, z),
                ),
                DType::F64 => cpu::ternary_map::<f64, f64, f64, f64>(
                    out.cpu_view_mut()?,
                    a.cpu_view()?,
                    b.cpu_view()?,
                    c.cpu_view()?,
                    move |x, y, z| k.f64(x, y, z),
                ),
                F16 => half3::<f16, K>(out, a, b, c, k)?,
                BF16 => half3::<bf16, K>(out, a, b, c, k)?,
                d => return Err(super::unary::not_implemented(K::NAME, d)),
            }
            Ok(())
        }
    }
}

fn half3<H: cpu::Half, K: FloatTernary>(
    out: &Tensor,
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
    k: K,
) -> Result<()> {
    cpu::ternary_map::<H, H, H, H>(
        out.cpu_view_mut()?,
        a.cpu_view()?,
        b.cpu_view()?,
        c.cpu_view()?,
        move |x, y, z| H::narrow(k.f32(x.widen(), y.widen(), z.widen())),
    );
    Ok(())
}
