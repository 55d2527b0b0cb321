//! Elementwise loops: `out[i] = f(a[i], …)` over tensors of one shape (callers expand
//! inputs to the output's shape first). Contiguous operands take a flat loop the
//! compiler vectorises; others take the merged strided walk of `strided::Plan`.

use super::strided::Plan;
use super::{SendPtr, GRAIN};
use crate::device::Device;
use crate::dtype::Scalar;
use crate::element::Element;
use crate::error::Result;
use crate::tensor::Tensor;
use rayon::prelude::*;

/// Splits `0..n` into GRAIN-sized chunks, in parallel when worth it.
#[inline]
pub fn par_chunks(n: usize, f: impl Fn(usize, usize) + Sync) {
    if n < GRAIN {
        f(0, n);
    } else {
        let chunks = n.div_ceil(GRAIN);
        super::install(|| {
            (0..chunks)
                .into_par_iter()
                .for_each(|c| f(c * GRAIN, ((c + 1) * GRAIN).min(n)))
        });
    }
}

/// `out[i] = f(a[i])`. `out` and `a` have the same shape; `out` may alias `a`
/// exactly (in-place ops) but must not partially overlap it.
pub fn unary_map<A: Element, O: Element>(
    out: &Tensor,
    a: &Tensor,
    f: impl Fn(A) -> O + Sync,
) -> Result<()> {
    if !Tensor::has_values(out, &[a])? {
        return Ok(());
    }
    let po = SendPtr(out.data_ptr::<O>()?);
    let pa = SendPtr(a.data_ptr::<A>()?);
    if out.is_contiguous() && a.is_contiguous() {
        if out.numel() == 0 {
            return Ok(());
        }
        par_chunks(out.numel(), |s, e| {
            let len = e - s;
            // SAFETY: s..e lies inside both contiguous buffers; the slices are made
            // disjoint, or (exact alias) only the output slice exists and each element
            // is read before it is written.
            unsafe {
                let (po, pa) = (po.get().add(s), pa.get().add(s));
                let o = std::slice::from_raw_parts_mut(po, len);
                if std::ptr::eq(po as *const u8, pa as *const u8) {
                    for v in o.iter_mut() {
                        *v = f(std::ptr::read(v as *mut O as *const A));
                    }
                } else {
                    let x = std::slice::from_raw_parts(pa, len);
                    for (v, &xa) in o.iter_mut().zip(x) {
                        *v = f(xa);
                    }
                }
            }
        });
        return Ok(());
    }
    let plan = Plan::new(out.shape(), [out.strides(), a.strides()]);
    let len = plan.inner_len();
    let [so, sa] = plan.inner_strides();
    plan.par_for_rows(|[oo, oa]| {
        let (po, pa) = (po.get(), pa.get());
        for i in 0..len {
            // SAFETY: offsets come from the layouts, which stay inside their storage.
            unsafe { *po.add(oo + i * so) = f(*pa.add(oa + i * sa)) };
        }
    });
    Ok(())
}

/// `out[i] = f(a[i], b[i])`, same aliasing rules as `unary_map`.
pub fn binary_map<A: Element, B: Element, O: Element>(
    out: &Tensor,
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(A, B) -> O + Sync,
) -> Result<()> {
    if !Tensor::has_values(out, &[a, b])? {
        return Ok(());
    }
    let po = SendPtr(out.data_ptr::<O>()?);
    let pa = SendPtr(a.data_ptr::<A>()?);
    let pb = SendPtr(b.data_ptr::<B>()?);
    let n = out.numel();
    if out.is_contiguous() && a.is_contiguous() && b.is_contiguous() {
        if n == 0 {
            return Ok(());
        }
        par_chunks(n, |s, e| {
            let len = e - s;
            // SAFETY: s..e lies inside all three contiguous buffers. Slices handed to
            // the loop never alias a mutable one: an output that aliases an input
            // exactly is read through the output slice before being written.
            unsafe {
                let (po, pa, pb) = (po.get().add(s), pa.get().add(s), pb.get().add(s));
                let o = std::slice::from_raw_parts_mut(po, len);
                let alias_a = std::ptr::eq(po as *const u8, pa as *const u8);
                let alias_b = std::ptr::eq(po as *const u8, pb as *const u8);
                if !alias_a && !alias_b {
                    let x = std::slice::from_raw_parts(pa, len);
                    let y = std::slice::from_raw_parts(pb, len);
                    for ((v, &xa), &yb) in o.iter_mut().zip(x).zip(y) {
                        *v = f(xa, yb);
                    }
                } else if alias_a && !alias_b {
                    let y = std::slice::from_raw_parts(pb, len);
                    for (v, &yb) in o.iter_mut().zip(y) {
                        *v = f(std::ptr::read(v as *mut O as *const A), yb);
                    }
                } else {
                    for i in 0..len {
                        *po.add(i) = f(*pa.add(i), *pb.add(i));
                    }
                }
            }
        });
        return Ok(());
    }
    let plan = Plan::new(out.shape(), [out.strides(), a.strides(), b.strides()]);
    let len = plan.inner_len();
    let [so, sa, sb] = plan.inner_strides();
    plan.par_for_rows(|[oo, oa, ob]| {
        let (po, pa, pb) = (po.get(), pa.get(), pb.get());
        if so == 1 && sa == 1 && sb == 1 {
            for i in 0..len {
                // SAFETY: as above, with unit inner strides.
                unsafe { *po.add(oo + i) = f(*pa.add(oa + i), *pb.add(ob + i)) };
            }
        } else if so == 1 && sa == 1 && sb == 0 {
            // SAFETY: ob is a valid element offset; broadcasting reads it repeatedly.
            let bv = unsafe { *pb.add(ob) };
            for i in 0..len {
                // SAFETY: as above.
                unsafe { *po.add(oo + i) = f(*pa.add(oa + i), bv) };
            }
        } else {
            for i in 0..len {
                // SAFETY: offsets come from the layouts.
                unsafe { *po.add(oo + i * so) = f(*pa.add(oa + i * sa), *pb.add(ob + i * sb)) };
            }
        }
    });
    Ok(())
}

/// `out[i] = f(a[i], b[i], c[i])` (where, lerp, addcmul, clamp with tensor bounds).
pub fn ternary_map<A: Element, B: Element, C: Element, O: Element>(
    out: &Tensor,
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
    f: impl Fn(A, B, C) -> O + Sync,
) -> Result<()> {
    if !Tensor::has_values(out, &[a, b, c])? {
        return Ok(());
    }
    let po = SendPtr(out.data_ptr::<O>()?);
    let pa = SendPtr(a.data_ptr::<A>()?);
    let pb = SendPtr(b.data_ptr::<B>()?);
    let pc = SendPtr(c.data_ptr::<C>()?);
    let plan = Plan::new(
        out.shape(),
        [out.strides(), a.strides(), b.strides(), c.strides()],
    );
    let len = plan.inner_len();
    let [so, sa, sb, sc] = plan.inner_strides();
    plan.par_for_rows(|[oo, oa, ob, oc]| {
        let (po, pa, pb, pc) = (po.get(), pa.get(), pb.get(), pc.get());
        for i in 0..len {
            // SAFETY: offsets come from the layouts.
            unsafe {
                *po.add(oo + i * so) = f(
                    *pa.add(oa + i * sa),
                    *pb.add(ob + i * sb),
                    *pc.add(oc + i * sc),
                )
            };
        }
    });
    Ok(())
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

pub fn fill_with<T: Element>(out: &Tensor, v: T) -> Result<()> {
    if !Tensor::has_values(out, &[])? {
        return Ok(());
    }
    let po = SendPtr(out.data_ptr::<T>()?);
    if out.is_contiguous() {
        par_chunks(out.numel(), |s, e| {
            let po = po.get();
            for i in s..e {
                // SAFETY: i < numel, contiguous layout.
                unsafe { *po.add(i) = v };
            }
        });
        return Ok(());
    }
    let plan = Plan::new(out.shape(), [out.strides()]);
    let len = plan.inner_len();
    let [so] = plan.inner_strides();
    plan.par_for_rows(|[oo]| {
        let po = po.get();
        for i in 0..len {
            // SAFETY: offsets come from the layout.
            unsafe { *po.add(oo + i * so) = v };
        }
    });
    Ok(())
}

/// Converts one element between dtypes with PyTorch's casting rules.
#[inline(always)]
pub fn cast<A: Element, O: Element>(v: A) -> O {
    use crate::dtype::DType;
    if A::DTYPE.is_floating_point() || O::DTYPE == DType::Bool || O::DTYPE.is_floating_point() {
        O::from_f64(v.to_f64())
    } else {
        O::from_i64(v.to_i64())
    }
}

/// `out[...] = src[...]` with dtype conversion; `src` is expanded to `out`'s shape by
/// the caller. Same-dtype contiguous copies are a memcpy.
pub fn copy_cast(out: &Tensor, src: &Tensor) -> Result<()> {
    // A meta destination takes any source (there is nothing to write); a meta source
    // has nothing to give.
    match (out.device(), src.device()) {
        (Device::Meta, _) => return Ok(()),
        (_, Device::Meta) => return Err(crate::storage::no_meta_data()),
        _ => {}
    }
    if !Tensor::has_values(out, &[src])? {
        return Ok(());
    }
    if out.dtype() == src.dtype() && out.is_contiguous() && src.is_contiguous() {
        crate::dispatch_all!(out.dtype(), T => {
            let (po, ps) = (SendPtr(out.data_ptr::<T>()?), SendPtr(src.data_ptr::<T>()?));
            par_chunks(out.numel(), |s, e| {
                // SAFETY: both ranges lie inside their contiguous buffers; copy (not
                // copy_nonoverlapping) tolerates an exact alias.
                unsafe { std::ptr::copy(ps.get().add(s), po.get().add(s), e - s) };
            });
        });
        return Ok(());
    }
    crate::dispatch_all!(src.dtype(), A => {
        crate::dispatch_all!(out.dtype(), O => {
            unary_map::<A, O>(out, src, cast::<A, O>)
        })
    })
}
