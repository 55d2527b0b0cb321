//! Copies and dtype conversions: `to`, `contiguous`, `clone`, `copy_`.

use super::{expand_view, reduce_grad};
use crate::autograd::{needs_grad, record, record_inplace};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// `t.to(dtype)`: returns `t` itself when nothing changes, as PyTorch does.
pub fn to_dtype(t: &Tensor, dtype: DType) -> Result<Tensor> {
    if t.dtype() == dtype {
        return Ok(t.clone());
    }
    let out = Tensor::uninit(t.shape(), dtype, t.device())?;
    crate::ops::map::copy_cast(&out, t)?;
    if needs_grad(&[t]) && dtype.is_floating_point() {
        let src = t.dtype();
        record("ToCopyBackward0", &[t], &out, move |_, g| {
            Ok(vec![Some(to_dtype(g, src)?)])
        });
    }
    Ok(out)
}

/// `t.clone()`: always a new contiguous buffer.
pub fn clone_contiguous(t: &Tensor) -> Result<Tensor> {
    let out = Tensor::uninit(t.shape(), t.dtype(), t.device())?;
    crate::ops::map::copy_cast(&out, t)?;
    if needs_grad(&[t]) {
        record("CloneBackward0", &[t], &out, |_, g| {
            Ok(vec![Some(g.clone())])
        });
    }
    Ok(out)
}

/// `t.contiguous()`: `t` itself when already contiguous.
pub fn contiguous(t: &Tensor) -> Result<Tensor> {
    if t.is_contiguous() {
        return Ok(t.clone());
    }
    clone_contiguous(t)
}

/// `dst.copy_(src)`: broadcasts `src` to `dst` and converts dtypes.
pub fn copy_(dst: &Tensor, src: &Tensor) -> Result<()> {
    super::index::check_inplace_view(dst, src.requires_grad())?;
    crate::autograd::view::check_no_partial_overlap(dst, src)?;
    let expanded = expand_view(src, dst.shape()).map_err(|_| {
        Error::Runtime(format!(
            "output with shape {} doesn't match the broadcast shape {}",
            crate::layout::fmt_shape(dst.shape()),
            crate::layout::fmt_shape(src.shape())
        ))
    })?;
    if expanded.storage().same(dst.storage()) && expanded.layout() != dst.layout() {
        // Overlapping source and destination: go through a temporary.
        let tmp = clone_contiguous(&expanded.detach())?;
        crate::ops::map::copy_cast(dst, &tmp)?;
    } else {
        crate::ops::map::copy_cast(dst, &expanded)?;
    }
    dst.storage().bump_version();
    if needs_grad(&[dst, src]) {
        let (src_shape, src_dtype) = (src.shape().clone(), src.dtype());
        record_inplace("CopyBackwards", &[dst, src], dst, move |_, g| {
            let gd = super::reduce::zeros_like(g)?;
            let gs = reduce_grad(g, &src_shape, src_dtype)?;
            Ok(vec![Some(gd), Some(gs)])
        });
    }
    Ok(())
}

/// `t.to(dtype, copy=..., memory_format=...)`: `t` itself when the dtype is unchanged
/// and no copy is asked for (whatever the format, as PyTorch); otherwise a new tensor
/// in `fmt` (by default keeping `t`'s strides when it is dense).
pub fn to_dtype_format(
    t: &Tensor,
    dtype: DType,
    fmt: super::creation::MemoryFormat,
    copy: bool,
) -> Result<Tensor> {
    if t.dtype() == dtype && !copy {
        return Ok(t.clone());
    }
    let flat = Tensor::uninit(&[t.numel()], dtype, t.device())?;
    let out = super::creation::restride_flat(&flat, t.layout(), fmt)?;
    crate::ops::map::copy_cast(&out, t)?;
    if needs_grad(&[t]) && dtype.is_floating_point() {
        let src = t.dtype();
        record("ToCopyBackward0", &[t], &out, move |_, g| {
            Ok(vec![Some(to_dtype(g, src)?)])
        });
    }
    Ok(out)
}

/// `t.clone(memory_format=...)`: a new buffer, by default with `t`'s strides when
/// it is dense (PyTorch's `preserve_format`), else contiguous.
pub fn clone_format(t: &Tensor, fmt: super::creation::MemoryFormat) -> Result<Tensor> {
    let flat = Tensor::uninit(&[t.numel()], t.dtype(), t.device())?;
    let out = super::creation::restride_flat(&flat, t.layout(), fmt)?;
    crate::ops::map::copy_cast(&out, t)?;
    if needs_grad(&[t]) {
        record("CloneBackward0", &[t], &out, |_, g| {
            Ok(vec![Some(g.clone())])
        });
    }
    Ok(out)
}
