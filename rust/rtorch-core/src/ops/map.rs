//! The elementwise family's device dispatch: maps, fill and copy/cast.
//!
//! Every elementwise op in `ops/` ends here. This is the one place the family picks its
//! backend: `Backend::of` checks that the tensors share a device, the CPU gets typed
//! views of them (`cpu::elementwise`), and the meta device has no values to compute.
//! A new backend adds one arm per function here.

use super::binary_kinds::{ArithBinary, CompareBinary, FloatBinary, IntBinary};
use super::ternary_kinds::{ElementTernary, FloatTernary};
use super::unary_kinds::{ElementUnary, FloatUnary, HalfPath, IntFloatUnary, ValueTest};
use super::weight_kinds::{Weight2, Weight3};
use crate::cpu::elementwise as cpu;
use crate::cpu::elementwise::runs_flat;
use crate::cpu::half_flat;
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
fn unary_map<A: Element, O: Element>(
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
fn unary_map_half<H: cpu::Half>(
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
            // Moves only: one copy kernel per element size.
            crate::dispatch_bits!(out.dtype(), T => {
                cpu::copy::<T>(out.cpu_bits_view_mut()?, src.cpu_bits_view()?);
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
        // float32 on either side (image bytes, masks and labels to float, float64
        // parameters): one direct loop per pair.
        Backend::Cpu if src.dtype() == F32 => crate::dispatch_all!(out.dtype(), O => {
            cpu::cast_map::<f32, O>(out.cpu_view_mut()?, src.cpu_view()?);
            Ok(())
        }),
        Backend::Cpu if out.dtype() == F32 => crate::dispatch_all!(src.dtype(), A => {
            cpu::cast_map::<A, f32>(out.cpu_view_mut()?, src.cpu_view()?);
            Ok(())
        }),
        Backend::Cpu => cast_staged(out, src),
    }
}

/// `copy_cast` for the other dtype pairs, through `cpu::cast_staged` (one loader and
/// one storer per dtype rather than a loop per pair); strided operands go through
/// contiguous copies of their own dtype.
fn cast_staged(out: &Tensor, src: &Tensor) -> Result<()> {
    let n = out.numel();
    if n == 0 {
        return Ok(());
    }
    let src_c = if src.is_contiguous() {
        src.clone()
    } else {
        let c = Tensor::uninit(src.shape(), src.dtype(), src.device())?;
        copy_cast(&c, src)?;
        c
    };
    let dst_c = if out.is_contiguous() {
        out.clone()
    } else {
        Tensor::uninit(out.shape(), out.dtype(), out.device())?
    };
    let via_f64 = src.dtype().is_floating_point() || out.dtype() == DType::Bool;
    let (load, sp) = crate::dispatch_all!(src_c.dtype(), A => {
        (cpu::load_wide::<A> as cpu::LoadWide, src_c.data_ptr::<A>()?.cast::<u8>().cast_const())
    });
    let (store, dp) = crate::dispatch_all!(dst_c.dtype(), O => {
        (cpu::store_wide::<O> as cpu::StoreWide, dst_c.data_ptr::<O>()?.cast::<u8>())
    });
    // SAFETY: the loader and storer match the two tensors' dtypes; both are contiguous
    // CPU tensors of `n` elements; `dst_c` is `out` (which the caller lets this op
    // write and which aliases `src` exactly or not at all) or a fresh tensor.
    unsafe { cpu::cast_staged(n, load, sp, store, dp, via_f64) };
    if !dst_c.same(out) {
        copy_cast(out, &dst_c)?;
    }
    Ok(())
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
            // A commuting op with the operand broadcast along the rows first (`g * x`,
            // `g` a sum's expanded gradient) swaps them: the generic map's rows against
            // a value on the right have a loop of their own (`g * x` 35 -> 27 us on
            // 2048x256).
            let (a, b) = match K::COMMUTES && along_last(a) && !along_last(b) {
                true => (b, a),
                false => (a, b),
            };
            let block = move |x: &mut [f32], y: &[f32]| {
                at_widest_level(
                    #[inline(always)]
                    || k.f32_block(x, y),
                )
            };
            // Short float32 rows against a row or a column: in groups of rows for the
            // common kinds, in blocks compiled for the widest vector unit (the fused
            // kinds' blocks, `binary_map_half`, group them too).
            let apart = move |o: &mut [f32], x: &[f32], y: &[f32]| {
                at_widest_level(
                    #[inline(always)]
                    || k.f32_apart(o, x, y),
                )
            };
            let kernels = cpu::BlockKernels {
                in_place: &block,
                apart: (!K::FUSED).then_some(&apart as _),
                affine: K::AFFINE,
                by_value: None,
            };
            if out.dtype() == F32
                && (K::FUSED || K::ONE_PASS)
                && short_rows_f32(out, a, b, &kernels)?
            {
                return Ok(());
            }
            let flats = flat_short_rows(out, a, b)?;
            let (o, x, y) = match &flats {
                Some((p, q)) => (out, p, q),
                None => (out, a, b),
            };
            match out.dtype() {
                F32 if K::FUSED => cpu::binary_map_half::<f32>(
                    o.cpu_view_mut()?,
                    x.cpu_view()?,
                    y.cpu_view()?,
                    &block,
                ),
                // One pass over flat operands for the kinds that ask for it.
                F16 | BF16
                    if K::ONE_PASS
                        && half_one_pass(
                            o,
                            x,
                            y,
                            #[inline(always)]
                            move |p, q| k.f32(p, q),
                            #[inline(always)]
                            move |p, q| k.f32(p, q),
                        )? => {}
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

/// `out = k(a, s)` for a number `s` converted to `out`'s dtype as a 0-dim tensor of it
/// would be (`a` and `out` share a dtype and shape): the binary op against a Python
/// number without making and broadcasting that tensor. float32, float64 and the integer
/// types; a kind with a fused multiply-add or another dtype is the caller's error.
pub fn arith_number<K: ArithBinary>(out: &Tensor, a: &Tensor, s: Scalar, k: K) -> Result<()> {
    let dt = out.dtype();
    if K::FUSED || matches!(dt, DType::Bool | F16 | BF16) {
        return Err(crate::error::Error::Runtime(format!(
            "internal: arith_number({}) on {dt:?}",
            K::NAME
        )));
    }
    match Backend::of(out, &[a])? {
        Backend::Meta => Ok(()),
        Backend::Cpu if dt == F32 => {
            // (The baseline's 4-lane loop ran `x.mul_(0.9)` on 16M floats 15% slower
            // than PyTorch's.)
            let y: f32 = super::binary_kinds::scalar_as(s);
            f32_widest_map(out, a, move |x| k.apply(x, y))
        }
        Backend::Cpu => {
            dispatch_unhalved!(dt, T => {
                let y: T = super::binary_kinds::scalar_as(s);
                cpu::unary_map::<T, T>(out.cpu_view_mut()?, a.cpu_view()?, move |x| k.apply(x, y))
            });
            Ok(())
        }
    }
}

/// `out = f(a)` on float32 CPU tensors, compiled for the widest vector unit (as
/// `float`); no contraction, so the same bits at every level. Flat layouts map straight
/// from `a` into `out` (staging each block in `out` first cost `x * 2` on 1M floats 45%
/// more than a plain copy); others in blocks.
fn f32_widest_map(out: &Tensor, a: &Tensor, f: impl Fn(f32) -> f32 + Copy + Sync) -> Result<()> {
    let block = move |x: &mut [f32]| {
        at_widest_level(
            #[inline(always)]
            || {
                for p in x.iter_mut() {
                    *p = f(*p);
                }
            },
        )
    };
    let map = move |x: &[f32], o: &mut [f32]| {
        at_widest_level(
            #[inline(always)]
            || {
                for (p, &v) in o.iter_mut().zip(x) {
                    *p = f(v);
                }
            },
        )
    };
    if !f32_slices(out, a, &map, &block) {
        cpu::unary_map_half::<f32>(out.cpu_view_mut()?, a.cpu_view()?, &block);
    }
    Ok(())
}

/// `out = k(a, s)` for float32/float64 `a` and `out` and a number `s` converted to their
/// dtype, as `arith_number` (true division by a Python number).
pub fn float_number<K: FloatBinary>(out: &Tensor, a: &Tensor, s: Scalar, k: K) -> Result<()> {
    match Backend::of(out, &[a])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            match out.dtype() {
                F32 => {
                    let y: f32 = super::binary_kinds::scalar_as(s);
                    f32_widest_map(out, a, move |x| k.f32(x, y))?;
                }
                DType::F64 => {
                    let y: f64 = super::binary_kinds::scalar_as(s);
                    cpu::unary_map::<f64, f64>(out.cpu_view_mut()?, a.cpu_view()?, move |x| {
                        k.f64(x, y)
                    })
                }
                d => {
                    return Err(crate::error::Error::Runtime(format!(
                        "internal: float_number({}) on {d:?}",
                        K::NAME
                    )))
                }
            }
            Ok(())
        }
    }
}

pub(crate) use crate::cpu::math::at_widest_level;
use crate::cpu::math::{at_widest_level_fma, Fused, MulAdd, Separate};

/// `out = k(a, b)` for an op on floating dtypes (the caller rejects the others).
pub fn float<K: FloatBinary>(out: &Tensor, a: &Tensor, b: &Tensor, k: K) -> Result<()> {
    match Backend::of(out, &[a, b])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            let (o, x, y) = (out, a, b);
            match out.dtype() {
                // In blocks, so that the formula is compiled for the widest vector unit
                // (a generic map's loop is not: `mul_add` there was a call to libm's
                // `fmaf` per element, lerp 7x PyTorch's time). Operands broadcast along
                // the rows too (`m / m.sum(1, keepdim=True)`, `img.div_(std[:, None,
                // None])`): the rows then run in the output against a block of the one
                // value (`direct_row`; the generic map's division in place took 6x
                // PyTorch's time on 2048x256, this 1.2x).
                F32 => {
                    let block = move |x: &mut [f32], y: &[f32]| {
                        if K::DECLINES {
                            return fast_block(k, x, y);
                        }
                        if let Some(block) = k.f32_block() {
                            return block(k, x, y);
                        }
                        // (A kind that never declines: the count is optimised away.)
                        at_widest_level_fma(
                            #[inline(always)]
                            |fused| {
                                if fused {
                                    fast_pass::<K, Fused>(k, x, y);
                                } else {
                                    fast_pass::<K, Separate>(k, x, y);
                                }
                            },
                        )
                    };
                    // Short rows against a row or a column, for the common kinds
                    // (division): in groups of rows, out of place in one pass (the
                    // groups' copy and then division in place took `x / col` on
                    // 16384x16 to 2x PyTorch's time).
                    let apart = move |o: &mut [f32], x: &[f32], y: &[f32]| {
                        at_widest_level(
                            #[inline(always)]
                            || {
                                for ((v, &p), &q) in o.iter_mut().zip(x).zip(y) {
                                    *v = k.f32(p, q);
                                }
                            },
                        )
                    };
                    // Against a column, rows of a multiple of 16 (or one row of any
                    // length): each row's value in a register, 16 lanes at a time.
                    let by_value = move |o: &mut [f32], x: &[f32], vals: &[f32]| {
                        // A single row's last partial piece (rows longer than half a
                        // block come one at a time: `cpu::short_rows_f32`).
                        if let [v] = vals {
                            let done = o.len() / 16 * 16;
                            for (p, &q) in o[done..].iter_mut().zip(&x[done..]) {
                                *p = k.f32(q, *v);
                            }
                        }
                        let per = o.len() / 16 / vals.len().max(1);
                        if per == 0 {
                            return;
                        }
                        at_widest_level(
                            #[inline(always)]
                            || {
                                // One loop over the pieces of 16, the row's value
                                // changing every `per` pieces.
                                let (mut row, mut left) = (0, per);
                                let pieces = o.chunks_exact_mut(16).zip(x.chunks_exact(16));
                                for (p, q) in pieces {
                                    let (Ok(p), Ok(q), Some(&v)) = (
                                        <&mut [f32; 16]>::try_from(p),
                                        <&[f32; 16]>::try_from(q),
                                        vals.get(row),
                                    ) else {
                                        return;
                                    };
                                    // (Through a local array: the lanes then are one
                                    // vector, with no aliasing to rule out.)
                                    let q = *q;
                                    *p = std::array::from_fn(|j| k.f32(q[j], v));
                                    left -= 1;
                                    if left == 0 {
                                        (row, left) = (row + 1, per);
                                    }
                                }
                            },
                        )
                    };
                    let kernels = cpu::BlockKernels {
                        in_place: &block,
                        apart: Some(&apart),
                        affine: None,
                        by_value: Some(&by_value),
                    };
                    if !(K::ONE_PASS && short_rows_f32(o, x, y, &kernels)?) {
                        cpu::binary_map_half::<f32>(
                            o.cpu_view_mut()?,
                            x.cpu_view()?,
                            y.cpu_view()?,
                            &block,
                        )
                    }
                }
                DType::F64 => cpu::binary_map::<f64, f64, f64>(
                    o.cpu_view_mut()?,
                    x.cpu_view()?,
                    y.cpu_view()?,
                    move |p, q| k.f64(p, q),
                ),
                // One pass over flat operands for the kinds that ask for it.
                F16 | BF16
                    if K::ONE_PASS
                        && half_one_pass(
                            o,
                            x,
                            y,
                            #[inline(always)]
                            move |p, q| k.half(p, q, round_to::<f16>),
                            #[inline(always)]
                            move |p, q| k.half(p, q, round_to::<bf16>),
                        )? => {}
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

/// `out = op(a, b)` for float32 through `cpu::binary_short_rows_f32`'s groups of rows
/// when it applies: true if it ran. Operands that run flat are not asked (the views
/// cost small ops 25%).
fn short_rows_f32(out: &Tensor, a: &Tensor, b: &Tensor, k: &cpu::BlockKernels) -> Result<bool> {
    if out.dim() < 2 || runs_flat(&[out.layout(), a.layout(), b.layout()]) {
        return Ok(false);
    }
    let (o, x, y) = (out.cpu_view_mut()?, a.cpu_view()?, b.cpu_view()?);
    Ok(cpu::binary_short_rows_f32(o, x, y, k))
}

/// Whether `t` is broadcast along its last dim (stride 0 over more than one element).
fn along_last(t: &Tensor) -> bool {
    t.strides().last() == Some(&0) && t.shape().last().is_some_and(|&n| n > 1)
}

/// Contiguous copies of an arithmetic op's operands when its contiguous output has rows of
/// 5 to 32 elements and an operand is not contiguous (`x * col` or `x + row` on
/// 16384x16): the op then runs flat. The row walk paid a call per row, 9x PyTorch's
/// time there; the copies fill or repeat a task's rows in one loop (`cpu::copy`).
/// (Shorter rows are walked across, `Plan::long_rows`; longer ones amortise their
/// call.) Out of line: one copy for every kind.
#[inline(never)]
fn flat_short_rows(out: &Tensor, a: &Tensor, b: &Tensor) -> Result<Option<(Tensor, Tensor)>> {
    let last = out.shape().last().copied().unwrap_or(0);
    let applies = out.dim() >= 2
        && (5..=32).contains(&last)
        && out.numel() >= crate::cpu::GRAIN / 8
        && out.is_contiguous()
        && !(a.is_contiguous() && b.is_contiguous());
    if !applies {
        return Ok(None);
    }
    let flat = |t: &Tensor| -> Result<Tensor> {
        if t.is_contiguous() {
            return Ok(t.clone());
        }
        let c = Tensor::uninit(t.shape(), t.dtype(), t.device())?;
        copy_cast(&c, t)?;
        Ok(c)
    };
    Ok(Some((flat(a)?, flat(b)?)))
}

/// The one-pass loops of `cpu::half_flat` for a float16 or bfloat16 `out` (`op_f16`,
/// `op_bf16`: the op's float32 form for each type); false where they do not apply
/// (the caller's float32 blocks then).
fn half_one_pass(
    out: &Tensor,
    a: &Tensor,
    b: &Tensor,
    op_f16: impl Fn(f32, f32) -> f32 + Copy + Send + Sync,
    op_bf16: impl Fn(f32, f32) -> f32 + Copy + Send + Sync,
) -> Result<bool> {
    let (o, x, y) = (out, a, b);
    Ok(match out.dtype() {
        F16 => half_flat::binary_f16(o.cpu_view_mut()?, x.cpu_view()?, y.cpu_view()?, op_f16),
        BF16 => half_flat::binary_bf16(o.cpu_view_mut()?, x.cpu_view()?, y.cpu_view()?, op_bf16),
        _ => false,
    })
}

/// `x = k(x, y)` over float32 blocks of half-type values, compiled for the widest
/// vector unit in use (what LLVM can vectorise of the formula: division, not libm).
#[inline]
fn half_block<K: FloatBinary>(k: K, x: &mut [f32], y: &[f32], round: fn(f32) -> f32) {
    if K::DECLINES {
        return fast_block(k, x, y);
    }
    #[inline(always)]
    fn body<K: FloatBinary>(k: K, x: &mut [f32], y: &[f32], round: fn(f32) -> f32) {
        for (p, &q) in x.iter_mut().zip(y) {
            *p = k.half(*p, q, round);
        }
    }
    at_widest_level(
        #[inline(always)]
        || body(k, x, y, round),
    )
}

/// `x = k(x, y)` over float32 blocks for a kind whose fast form may decline elements
/// (`FloatBinary::f32_fast`): the fast form over each run of 256 (compiled for the widest
/// vector unit), then the exact form for the elements it declined, from a copy of the
/// run's inputs.
fn fast_block<K: FloatBinary>(k: K, x: &mut [f32], y: &[f32]) {
    let mut keep = [0f32; 256];
    for (xs, ys) in x.chunks_mut(keep.len()).zip(y.chunks(keep.len())) {
        let keep = &mut keep[..xs.len()];
        keep.copy_from_slice(xs);
        let mut declined = 0;
        at_widest_level_fma(
            #[inline(always)]
            |fused| {
                declined = if fused {
                    fast_pass::<K, Fused>(k, xs, ys)
                } else {
                    fast_pass::<K, Separate>(k, xs, ys)
                }
            },
        );
        if declined > 0 {
            for ((p, &x0), &q) in xs.iter_mut().zip(keep.iter()).zip(ys) {
                if !k.f32_fast::<Separate>(x0, q).1 {
                    *p = k.f32(x0, q);
                }
            }
        }
    }
}

/// `x = k.f32_fast(x, y)` with `M`'s multiply-add: the count of declined elements.
#[inline(always)]
fn fast_pass<K: FloatBinary, M: MulAdd>(k: K, x: &mut [f32], y: &[f32]) -> u32 {
    // A count in a local: a flag written through a captured reference kept the loop
    // scalar.
    let mut n = 0u32;
    for (p, &q) in x.iter_mut().zip(y) {
        let (v, ok) = k.f32_fast::<M>(*p, q);
        *p = v;
        n += u32::from(!ok);
    }
    n
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
            let block = move |x: &mut [f32]| {
                at_widest_level(
                    #[inline(always)]
                    || {
                        for p in x.iter_mut() {
                            *p = k.f32(*p, s);
                        }
                    },
                )
            };
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
            // float32 and the half types in float32 blocks compiled for the widest
            // vector unit (as `float`: addcmul's `mul_add` was a libm call per element).
            let block = move |x: &mut [f32], y: &[f32], z: &[f32]| {
                at_widest_level(
                    #[inline(always)]
                    || {
                        for ((p, &q), &r) in x.iter_mut().zip(y).zip(z) {
                            *p = k.f32(*p, q, r);
                        }
                    },
                )
            };
            match out.dtype() {
                F32 => block3::<f32>(out, a, b, c, &block)?,
                DType::F64 => cpu::ternary_map::<f64, f64, f64, f64>(
                    out.cpu_view_mut()?,
                    a.cpu_view()?,
                    b.cpu_view()?,
                    c.cpu_view()?,
                    move |x, y, z| k.f64(x, y, z),
                ),
                F16 => block3::<f16>(out, a, b, c, &block)?,
                BF16 => block3::<bf16>(out, a, b, c, &block)?,
                d => return Err(super::unary::not_implemented(K::NAME, d)),
            }
            Ok(())
        }
    }
}

fn block3<H: cpu::Half>(
    out: &Tensor,
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
    block: &cpu::Block3,
) -> Result<()> {
    cpu::ternary_map_half::<H>(
        out.cpu_view_mut()?,
        a.cpu_view()?,
        b.cpu_view()?,
        c.cpu_view()?,
        block,
    );
    Ok(())
}

// ----- unary kinds on every dtype (`ops::unary_kinds`), selects and derivative weights -----

/// `out = k(a)` for an op with an integer and a floating formula (`out` and `a` share
/// a dtype; bool raises the kind's NotImplementedError). Floating dtypes run the
/// formula as a floating unary kind (float32 and the half types through f64, rounding
/// once: these ops' results are exact there).
pub fn int_float<K: IntFloatUnary>(out: &Tensor, a: &Tensor, k: K) -> Result<()> {
    let dt = out.dtype();
    if dt == DType::Bool {
        return Err(super::unary::not_implemented(K::NAME, dt));
    }
    if dt.is_floating_point() {
        return float_unary(out, a, FloatOf(k));
    }
    match Backend::of(out, &[a])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            crate::dispatch_int!(dt, T => cpu::unary_map::<T, T>(
                out.cpu_view_mut()?,
                a.cpu_view()?,
                move |v| T::from_i64(k.int(v.to_i64())),
            ), _ => return Err(super::unary::not_implemented(K::NAME, dt)));
            Ok(())
        }
    }
}

/// An [`ElementUnary`] on the floating types as a floating unary kind.
#[derive(Clone, Copy)]
struct ElementAsFloat<K>(K);

impl<K: ElementUnary> FloatUnary for ElementAsFloat<K> {
    const NAME: &'static str = K::NAME;
    #[inline(always)]
    fn f32(self, x: f32) -> f32 {
        self.0.apply(x)
    }
    #[inline(always)]
    fn f64(self, x: f64) -> f64 {
        self.0.apply(x)
    }
}

/// The floating formula of an [`IntFloatUnary`] as a floating unary kind.
#[derive(Clone, Copy)]
struct FloatOf<K>(K);

impl<K: IntFloatUnary> FloatUnary for FloatOf<K> {
    const NAME: &'static str = K::NAME;
    #[inline(always)]
    fn f32(self, x: f32) -> f32 {
        self.0.float(x as f64) as f32
    }
    #[inline(always)]
    fn f64(self, x: f64) -> f64 {
        self.0.float(x)
    }
}

/// `out = k(a)` for an op on every dtype (`out` and `a` share a dtype).
pub fn element<K: ElementUnary>(out: &Tensor, a: &Tensor, k: K) -> Result<()> {
    if out.dtype() == F32 {
        // float32 through the floating unary path: its loops are compiled for the
        // CPU's widest vector unit (the generic map's are not).
        return float_unary(out, a, ElementAsFloat(k));
    }
    match Backend::of(out, &[a])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            let block = move |b: &mut [f32]| {
                at_widest_level(
                    #[inline(always)]
                    || {
                        for v in b.iter_mut() {
                            *v = k.apply(*v);
                        }
                    },
                )
            };
            let (o, x) = (out, a);
            match (out.dtype(), K::HALF) {
                (F16, HalfPath::Bits) => {
                    cpu::unary_map::<f16, f16>(o.cpu_view_mut()?, x.cpu_view()?, move |v| {
                        f16::from_bits(k.half_bits(v.to_bits(), f16::INFINITY.to_bits()))
                    })
                }
                (BF16, HalfPath::Bits) => {
                    cpu::unary_map::<bf16, bf16>(o.cpu_view_mut()?, x.cpu_view()?, move |v| {
                        bf16::from_bits(k.half_bits(v.to_bits(), bf16::INFINITY.to_bits()))
                    })
                }
                (F16, HalfPath::Float32) => {
                    cpu::unary_map_half::<f16>(o.cpu_view_mut()?, x.cpu_view()?, &block)
                }
                (BF16, HalfPath::Float32) => {
                    cpu::unary_map_half::<bf16>(o.cpu_view_mut()?, x.cpu_view()?, &block)
                }
                (dt, _) => crate::dispatch_all!(dt, T => cpu::unary_map::<T, T>(
                    o.cpu_view_mut()?,
                    x.cpu_view()?,
                    move |v| k.apply(v),
                )),
            }
            Ok(())
        }
    }
}

/// `out = k(a)`: a bool `out` from a test of any dtype's values.
pub fn value_test<K: ValueTest>(out: &Tensor, a: &Tensor, k: K) -> Result<()> {
    match Backend::of(out, &[a])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            let o = out.cpu_view_mut()?;
            crate::dispatch_all!(a.dtype(), T => cpu::unary_map::<T, bool>(
                o,
                a.cpu_view()?,
                move |v| k.test(Element::to_f64(v)),
            ));
            Ok(())
        }
    }
}

/// `out = k(a) ? 1 : 0` in `a`'s floating dtype (`out` shares it): the 0/1 factors of
/// derivative formulas.
pub fn value_mask<K: ValueTest>(out: &Tensor, a: &Tensor, k: K) -> Result<()> {
    match Backend::of(out, &[a])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            crate::dispatch_float!(a.dtype(), T => cpu::unary_map::<T, T>(
                out.cpu_view_mut()?,
                a.cpu_view()?,
                move |v| if k.test(Element::to_f64(v)) { T::one() } else { T::zero() },
            ), _ => return Err(crate::error::Error::Runtime(format!(
                "internal: a {} mask of a {:?} tensor",
                K::NAME,
                a.dtype()
            ))));
            Ok(())
        }
    }
}

/// `out = k(x) ? g : 0` (one dtype, one shape): a derivative that passes the gradient
/// where a test of the saved value holds, selected, not multiplied (an infinite `g`
/// outside gives 0, not NaN), as PyTorch's `threshold_backward`.
pub fn keep_where<K: ValueTest>(out: &Tensor, g: &Tensor, x: &Tensor, k: K) -> Result<()> {
    match Backend::of(out, &[g, x])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            crate::dispatch_all!(out.dtype(), T => cpu::binary_map::<T, T, T>(
                out.cpu_view_mut()?,
                g.cpu_view()?,
                x.cpu_view()?,
                move |g, x| if k.test(Element::to_f64(x)) { g } else { T::zero() },
            ));
            Ok(())
        }
    }
}

/// `out = cond ? x : y` (the kernel `where`): `x`, `y` and `out` share a dtype, `cond`
/// is bool, all of `out`'s shape.
pub fn select(out: &Tensor, cond: &Tensor, x: &Tensor, y: &Tensor) -> Result<()> {
    match Backend::of(out, &[cond, x, y])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            // Moves only: one kernel per element size.
            crate::dispatch_bits!(out.dtype(), T => cpu::ternary_map::<bool, T, T, T>(
                out.cpu_bits_view_mut()?,
                cond.cpu_view::<bool>()?,
                x.cpu_bits_view()?,
                y.cpu_bits_view()?,
                |c, a, b| if c { a } else { b },
            ));
            Ok(())
        }
    }
}

/// `out = k(a, b)` in float64 (`out`, `a`, `b` float64 of one shape): a derivative's
/// piecewise-constant weights.
pub fn weight2<K: Weight2>(out: &Tensor, a: &Tensor, b: &Tensor, k: K) -> Result<()> {
    match Backend::of(out, &[a, b])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            let (o, x, y) = (out.cpu_view_mut()?, a.cpu_view()?, b.cpu_view()?);
            cpu::binary_map::<f64, f64, f64>(o, x, y, move |x, y| k.weight(x, y));
            Ok(())
        }
    }
}

/// `out = k(x, lo, hi)` in float64, as `weight2`.
pub fn weight3<K: Weight3>(out: &Tensor, x: &Tensor, lo: &Tensor, hi: &Tensor, k: K) -> Result<()> {
    match Backend::of(out, &[x, lo, hi])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            let o = out.cpu_view_mut()?;
            let (x, l, h) = (x.cpu_view()?, lo.cpu_view()?, hi.cpu_view()?);
            cpu::ternary_map::<f64, f64, f64, f64>(o, x, l, h, move |x, l, h| k.weight(x, l, h));
            Ok(())
        }
    }
}

// ----- floating unary kinds (`ops::unary_kinds::FloatUnary`) -----

/// `out = k(a)` for a floating unary kind (`out` and `a` of one floating dtype and
/// shape): float32 through the kind's vectorised slice kernel when it has one and the
/// layout allows, the half types through float32 (one rounding).
pub fn float_unary<K: FloatUnary>(out: &Tensor, a: &Tensor, k: K) -> Result<()> {
    match out.dtype() {
        F32 => {
            let done = match (k.f32_slices(), k.f32_block()) {
                (Some((f, fi)), _) => f32_slices(out, a, &f, &fi),
                (None, Some(block)) => f32_slices(
                    out,
                    a,
                    &|x, o| {
                        o.copy_from_slice(x);
                        block(k, o)
                    },
                    &|b| block(k, b),
                ),
                (None, None) => f32_slices(out, a, &|x, o| f32_body(k, x, o), &|b| f32_block(k, b)),
            };
            if done {
                return Ok(());
            }
            // Strided float32 through the same kernels on gathered blocks: the slice
            // kernels may round differently from the scalar form (fused multiply-adds),
            // and a value's result must not depend on layout.
            unary_map_half::<f32>(out, a, &|b| f32_block(k, b))
        }
        DType::F64 => {
            // The kind's float64 slice kernel where it has one and the layout allows
            // (the same values element by element, whatever the layout: `exp_f64`'s
            // separate multiplies and adds).
            if let Some((f, fi)) = k.f64_slices() {
                if runs_flat(&[out.layout(), a.layout()])
                    && matches!(Backend::of(out, &[a]), Ok(Backend::Cpu))
                {
                    let (o, x) = (out.cpu_view_mut::<f64>()?, a.cpu_view::<f64>()?);
                    crate::cpu::elementwise::slice_map(o, x, &f, &fi);
                    return Ok(());
                }
                return unary_map::<f64, f64>(out, a, move |x| {
                    let mut v = [x];
                    fi(&mut v);
                    v[0]
                });
            }
            unary_map::<f64, f64>(out, a, move |x| k.f64(x))
        }
        F16 => unary_map_half::<f16>(out, a, &|b| f32_block(k, b)),
        BF16 => unary_map_half::<bf16>(out, a, &|b| f32_block(k, b)),
        d => Err(super::unary::not_implemented(K::NAME, d)),
    }
}

/// Contiguous (or same-permutation dense) f32 through slice functions (out of place,
/// in place). Returns false when the layout, dtype or device does not fit (the
/// blocked path then runs, or skips a meta tensor).
fn f32_slices(
    out: &Tensor,
    a: &Tensor,
    f: &(dyn Fn(&[f32], &mut [f32]) + Sync),
    fi: &(dyn Fn(&mut [f32]) + Sync),
) -> bool {
    if out.dtype() != DType::F32 || !runs_flat(&[out.layout(), a.layout()]) {
        return false;
    }
    if !matches!(Backend::of(out, &[a]), Ok(Backend::Cpu)) {
        return false;
    }
    match (out.cpu_view_mut::<f32>(), a.cpu_view::<f32>()) {
        (Ok(o), Ok(x)) => {
            crate::cpu::elementwise::slice_map(o, x, f, fi);
            true
        }
        _ => false,
    }
}

/// `k` over a float32 block in place: its vectorised kernel when it has one, else its
/// scalar body compiled for the widest vector unit in use (what LLVM can vectorise of
/// it: softplus, elu, mish, ...; libm calls stay scalar). The same operations in
/// every width, so the bits do not depend on the path.
#[inline]
fn f32_block<K: FloatUnary>(k: K, b: &mut [f32]) {
    match (k.f32_slices(), k.f32_block()) {
        (Some((_, in_place)), _) => in_place(b),
        (None, Some(block)) => block(k, b),
        (None, None) => at_widest_level(
            #[inline(always)]
            || body(k, b),
        ),
    }
}

// (Plain `for` loops: a `for_each` closure was left out of line, compiled without the
// caller's target features.)
#[inline(always)]
fn body<K: FloatUnary>(k: K, b: &mut [f32]) {
    for v in b.iter_mut() {
        *v = k.f32(*v);
    }
}

/// `out = k(x)` for a kind without a slice kernel, on the widest vector unit in use
/// (the out-of-place form of `f32_block`).
fn f32_body<K: FloatUnary>(k: K, x: &[f32], out: &mut [f32]) {
    #[inline(always)]
    fn map<K: FloatUnary>(k: K, x: &[f32], out: &mut [f32]) {
        for (o, v) in out.iter_mut().zip(x) {
            *o = k.f32(*v);
        }
    }
    at_widest_level(
        #[inline(always)]
        || map(k, x, out),
    )
}

/// `out = k(a, b, c)` for an op on every dtype; the inputs share `out`'s dtype and
/// shape.
pub fn element3<K: ElementTernary>(
    out: &Tensor,
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
    k: K,
) -> Result<()> {
    match Backend::of(out, &[a, b, c])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            crate::dispatch_all!(out.dtype(), T => cpu::ternary_map::<T, T, T, T>(
                out.cpu_view_mut()?,
                a.cpu_view()?,
                b.cpu_view()?,
                c.cpu_view()?,
                move |x, y, z| k.apply(x, y, z),
            ));
            Ok(())
        }
    }
}
