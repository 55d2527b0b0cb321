//! Indexing: `t[key]` / `t[key] = v` (basic and advanced), and the index ops
//! (index_select, gather, scatter, index_add, masked_*, where, nonzero, take, index_put).
//!
//! Advanced indexing is one kernel pair: `index` (gather rows by computed offsets) and
//! `index_put` (scatter rows, optionally accumulating). Most other ops are written on
//! top of them, so their backward formulas come for free and stay differentiable.

use super::binary::Rhs;
use super::index_kinds as kinds;
use super::map::copy_cast;
use super::{expand_view, reduce_grad};
use crate::autograd::{is_grad_enabled, needs_grad, record};
use crate::dtype::{result_type, DType, Scalar};
use crate::error::{Error, Result};
use crate::layout::{broadcast_shapes, fmt_shape, normalize_dim, Dims};
use crate::tensor::Tensor;

// ----- helpers -----

/// An index tensor as int64 (int32 and other integer dtypes are converted).
fn long_index(idx: &Tensor, what: &str) -> Result<Tensor> {
    match idx.dtype() {
        DType::I64 => Ok(idx.clone()),
        DType::I32 | DType::I16 | DType::I8 | DType::U8 => {
            super::cast_view(&idx.detach(), DType::I64)
        }
        d => Err(Error::Runtime(format!(
            "{what}: Expected dtype int32/int64 for index, but got {}",
            d.name()
        ))),
    }
}

fn zeros_of(shape: &[usize], dtype: DType, device: crate::Device) -> Result<Tensor> {
    Tensor::empty(shape, dtype, device)
}

/// Detached contiguous copy of `t` in `dtype` (for kernels).
fn contiguous_as(t: &Tensor, dtype: DType) -> Result<Tensor> {
    if t.dtype() == dtype && t.is_contiguous() {
        return Ok(t.detach());
    }
    let out = Tensor::uninit(t.shape(), dtype, t.device())?;
    copy_cast(&out, t)?;
    Ok(out)
}

/// Shared driver of in-place index ops: out-of-place result, written back into `t`.
/// With autograd, `t` (and its base, for a view) takes the result's history.
pub fn write_back(t: &Tensor, result: &Tensor) -> Result<()> {
    if result.shape() != t.shape() {
        return Err(Error::Runtime(format!(
            "output with shape {} doesn't match the broadcast shape {}",
            fmt_shape(t.shape()),
            fmt_shape(result.shape())
        )));
    }
    copy_cast(t, result)?;
    t.storage().bump_version();
    crate::autograd::view::commit_inplace(t, crate::autograd::gradient_edge(result));
    Ok(())
}

/// Checks before an in-place op on `t` that may record autograd history;
/// `others_need_grad`: a value written into `t` requires grad.
pub fn check_inplace_view(t: &Tensor, others_need_grad: bool) -> Result<()> {
    crate::autograd::view::check_inplace(t, others_need_grad)
}

/// Runs an out-of-place op and writes it back into `t` (the in-place `_` forms).
pub fn in_place_via(
    t: &Tensor,
    others_need_grad: bool,
    f: impl FnOnce(&Tensor) -> Result<Tensor>,
) -> Result<()> {
    check_inplace_view(t, others_need_grad)?;
    let src = if is_grad_enabled() && (t.requires_grad() || others_need_grad) {
        t.clone()
    } else {
        t.detach()
    };
    let result = f(&src)?;
    write_back(t, &result)
}

// ----- advanced indexing core -----

/// The geometry of an advanced index: which dims are indexed, the broadcast index
/// shape, the result shape and the element offset of every index position.
pub(super) struct AdvPlan {
    /// Result shape.
    pub(super) out_shape: Dims,
    /// Broadcast shape of the index tensors.
    bshape: Dims,
    /// Source element offset (relative to the tensor's offset) per index position.
    pub(super) offsets: Vec<usize>,
    /// Shape and strides (in the source) of the non-indexed dims, in result order.
    pub(super) rest_shape: Dims,
    pub(super) rest_strides: Dims,
    /// Where the index dims sit in the result (0 when moved to the front).
    b_pos: usize,
}

impl AdvPlan {
    fn new(t: &Tensor, indices: &[Option<Tensor>]) -> Result<AdvPlan> {
        if indices.len() > t.dim() {
            return Err(Error::Index(format!(
                "too many indices for tensor of dimension {}",
                t.dim()
            )));
        }
        let mut adv: Vec<(usize, Tensor)> = Vec::new();
        for (d, i) in indices.iter().enumerate() {
            if let Some(i) = i {
                adv.push((d, long_index(i, "index")?));
            }
        }
        if adv.is_empty() {
            return Err(Error::Runtime("index: no advanced index given".into()));
        }
        let mut bshape = Dims::new();
        for (_, i) in &adv {
            bshape = broadcast_shapes(&bshape, i.shape()).map_err(|_| {
                let shapes: Vec<String> = adv.iter().map(|(_, i)| fmt_shape(i.shape())).collect();
                Error::Index(format!(
                    "shape mismatch: indexing tensors could not be broadcast together with shapes {}",
                    shapes.join(", ")
                ))
            })?;
        }
        // Index values on meta are unknown: no offsets, and no bounds to check.
        let meta = t.device() == crate::Device::Meta
            || adv.iter().any(|(_, i)| i.device() == crate::Device::Meta);
        let nb: usize = if meta { 0 } else { bshape.iter().product() };
        let mut offsets = vec![0usize; nb];
        for (d, i) in adv.iter().filter(|_| !meta) {
            let size = t.shape()[*d] as i64;
            let stride = t.strides()[*d];
            let e = expand_view(i, &bshape)?;
            let e = contiguous_as(&e, DType::I64)?;
            let vals = e.cpu_slice::<i64>()?;
            for (o, &v) in offsets.iter_mut().zip(vals) {
                if v < -size || v >= size {
                    return Err(Error::Index(format!(
                        "index {v} is out of bounds for dimension {d} with size {size}"
                    )));
                }
                let v = if v < 0 { v + size } else { v } as usize;
                *o += v * stride;
            }
        }
        let dims: Vec<usize> = adv.iter().map(|(d, _)| *d).collect();
        let adjacent = dims.windows(2).all(|w| w[1] == w[0] + 1);
        let b_pos = if adjacent { dims[0] } else { 0 };
        let mut rest_shape = Dims::new();
        let mut rest_strides = Dims::new();
        for d in 0..t.dim() {
            if !dims.contains(&d) {
                rest_shape.push(t.shape()[d]);
                rest_strides.push(t.strides()[d]);
            }
        }
        let mut out_shape: Dims = rest_shape.clone();
        for (k, &b) in bshape.iter().enumerate() {
            out_shape.insert(b_pos + k, b);
        }
        Ok(AdvPlan {
            out_shape,
            bshape,
            offsets,
            rest_shape,
            rest_strides,
            b_pos,
        })
    }

    /// Strides of a contiguous result for the rest dims, and the stride of one step of
    /// the flattened index dims.
    pub(super) fn result_strides(&self) -> (Dims, usize) {
        let strides = crate::layout::contiguous_strides(&self.out_shape);
        let nb = self.bshape.len();
        let mut rest = Dims::new();
        for (d, &s) in strides.iter().enumerate() {
            if d < self.b_pos || d >= self.b_pos + nb {
                rest.push(s);
            }
        }
        let inner: usize = self.out_shape[self.b_pos + nb..].iter().product();
        (rest, inner)
    }
}

/// Index tensors of an op on CPU data must hold values (as in PyTorch, CPU index
/// tensors may serve data on any device, not the other way round).
fn cpu_indices(indices: &[Option<Tensor>]) -> Result<()> {
    match indices
        .iter()
        .flatten()
        .find(|i| i.device() != crate::Device::Cpu)
    {
        Some(i) => Err(crate::tensor::devices_differ(
            crate::Device::Cpu,
            i.device(),
        )),
        None => Ok(()),
    }
}

/// `t[indices]` with one optional index tensor per leading dim (ATen's `index`).
/// Boolean index tensors must already be converted (see `getitem`).
pub fn index(t: &Tensor, indices: &[Option<Tensor>]) -> Result<Tensor> {
    let out = match indices {
        [Some(i), rest @ ..]
            if rest.iter().all(Option::is_none)
                && matches!(i.dtype(), DType::I64 | DType::I32)
                && t.dim() > 0
                && t.is_contiguous()
                && on_cpu(&[t, i]) =>
        {
            index_rows(t, i)?
        }
        _ => {
            let plan = AdvPlan::new(t, indices)?;
            let out = Tensor::uninit(&plan.out_shape, t.dtype(), t.device())?;
            if out.numel() > 0 {
                if t.device() == crate::Device::Cpu {
                    cpu_indices(indices)?;
                }
                kinds::run(&kinds::Index { plan: &plan }, t.dtype(), &out, &[t])?;
            }
            out
        }
    };
    if needs_grad(&[t]) {
        let (shape, idx) = (t.shape().clone(), indices.to_vec());
        record("IndexBackward0", &[t], &out, move |_, g| {
            Ok(vec![Some(gather_grad(&shape, &idx, g)?)])
        });
    }
    Ok(out)
}

fn on_cpu(ts: &[&Tensor]) -> bool {
    ts.iter().all(|t| t.device() == crate::Device::Cpu)
}

/// `t[i]` (or `t[i, :, ...]`) for one index tensor on the first dim of a contiguous CPU
/// tensor: whole rows by the rows kernel (`embedding::lookup`) instead of the general
/// plan's offset per row (85 -> 48 us for 16384 rows of 32 floats). Negative indices
/// count from the end.
fn index_rows(t: &Tensor, i: &Tensor) -> Result<Tensor> {
    let size = t.shape()[0];
    let vals = contiguous_as(i, DType::I64)?;
    let v = vals.cpu_slice::<i64>()?;
    let n = size as i64;
    // A check without an exit per element (it vectorises); the culprit only on failure.
    if !v.iter().fold(true, |ok, &x| ok & (-n..n).contains(&x)) {
        let bad = v
            .iter()
            .find(|&&x| !(-n..n).contains(&x))
            .copied()
            .unwrap_or(0);
        return Err(Error::Index(format!(
            "index {bad} is out of bounds for dimension 0 with size {size}"
        )));
    }
    let rows: Vec<usize> = v
        .iter()
        .map(|&x| (if x < 0 { x + n } else { x }) as usize)
        .collect();
    let mut shape = i.shape().to_vec();
    shape.extend_from_slice(&t.shape()[1..]);
    let row: usize = t.shape()[1..].iter().product();
    super::embedding::lookup(t, row, &rows, &shape)
}

/// The gradient of a gather by `indices` for an input of `shape`: `g` summed into zeros
/// at the positions the gather read.
fn gather_grad(shape: &[usize], indices: &[Option<Tensor>], g: &Tensor) -> Result<Tensor> {
    let z = zeros_of(shape, g.dtype(), g.device())?;
    index_put(&z, indices, &Rhs::Tensor(g.clone()), true)
}

/// Writes `values` (broadcast to the indexing result, converted to `dst`'s dtype) into
/// `dst` in place, without autograd.
fn index_put_kernel(
    dst: &Tensor,
    indices: &[Option<Tensor>],
    values: &Rhs,
    accumulate: bool,
) -> Result<()> {
    let plan = AdvPlan::new(dst, indices)?;
    let vals = match values {
        Rhs::Scalar(s) => Tensor::scalar(*s, dst.dtype())?,
        Rhs::Tensor(v) => v.detach(),
    };
    let expanded = expand_view(&vals, &plan.out_shape).map_err(|_| {
        Error::Runtime(format!(
            "shape mismatch: value tensor of shape {} cannot be broadcast to indexing result of shape {}",
            fmt_shape(vals.shape()),
            fmt_shape(&plan.out_shape)
        ))
    })?;
    let vals = if vals.storage().same(dst.storage()) {
        let c = Tensor::uninit(&plan.out_shape, dst.dtype(), dst.device())?;
        copy_cast(&c, &expanded)?;
        c
    } else {
        contiguous_as(&expanded, dst.dtype())?
    };
    if vals.numel() > 0 {
        if dst.device() == crate::Device::Cpu {
            cpu_indices(indices)?;
        }
        let k = kinds::IndexPut {
            plan: &plan,
            accumulate,
        };
        kinds::run(&k, dst.dtype(), dst, &[&vals])?;
    }
    Ok(())
}

/// Out-of-place `index_put` (differentiable in `t` and `values`).
pub fn index_put(
    t: &Tensor,
    indices: &[Option<Tensor>],
    values: &Rhs,
    accumulate: bool,
) -> Result<Tensor> {
    if let Rhs::Tensor(v) = values {
        if v.dtype() != t.dtype() {
            return Err(Error::Runtime(format!(
                "Index put requires the source and destination dtypes match, got {} for the destination and {} for the source.",
                t.dtype().scalar_type_name(),
                v.dtype().scalar_type_name()
            )));
        }
    }
    let out = super::copy::clone_contiguous(&t.detach())?;
    index_put_kernel(&out, indices, values, accumulate)?;
    let vt = match values {
        Rhs::Tensor(v) => Some(v.clone()),
        Rhs::Scalar(_) => None,
    };
    let inputs: Vec<&Tensor> = std::iter::once(t).chain(vt.as_ref()).collect();
    if needs_grad(&inputs) {
        let idx = indices.to_vec();
        let vinfo = vt.as_ref().map(|v| (v.shape().clone(), v.dtype()));
        record("IndexPutBackward0", &inputs, &out, move |_, g| {
            let gt = if accumulate {
                g.clone()
            } else {
                index_put(g, &idx, &Rhs::Scalar(Scalar::Int(0)), false)?
            };
            let mut grads = vec![Some(gt)];
            if let Some((shape, dtype)) = &vinfo {
                grads.push(Some(reduce_grad(&index(g, &idx)?, shape, *dtype)?));
            }
            Ok(grads)
        });
    }
    Ok(out)
}

/// `t.index_put_(indices, values, accumulate)`.
pub fn index_put_(
    t: &Tensor,
    indices: &[Option<Tensor>],
    values: &Rhs,
    accumulate: bool,
) -> Result<()> {
    let v_grad = matches!(values, Rhs::Tensor(v) if v.requires_grad());
    check_inplace_view(t, v_grad)?;
    if let Rhs::Tensor(v) = values {
        crate::autograd::view::check_no_partial_overlap(t, v)?;
    }
    if is_grad_enabled() && (t.requires_grad() || v_grad) {
        let r = index_put(t, indices, values, accumulate)?;
        return write_back(t, &r);
    }
    if let Rhs::Tensor(v) = values {
        if v.dtype() != t.dtype() {
            return Err(Error::Runtime(format!(
                "Index put requires the source and destination dtypes match, got {} for the destination and {} for the source.",
                t.dtype().scalar_type_name(),
                v.dtype().scalar_type_name()
            )));
        }
    }
    index_put_kernel(t, indices, values, accumulate)?;
    t.storage().bump_version();
    Ok(())
}

// ----- t[key] -----

/// One item of a Python indexing key.
#[derive(Clone, Debug)]
pub enum IndexItem {
    Int(i64),
    Slice {
        start: Option<i64>,
        stop: Option<i64>,
        step: i64,
    },
    None,
    Ellipsis,
    Bool(bool),
    Tensor(Tensor),
}

/// Applies the basic part of `key` (views) and collects the advanced indices, one
/// entry per dim of the returned view.
fn apply_key(t: &Tensor, key: &[IndexItem]) -> Result<(Tensor, Vec<Option<Tensor>>)> {
    use super::shape::{select, slice, unsqueeze};
    let mut consumed = 0usize;
    let mut ellipses = 0;
    for it in key {
        match it {
            IndexItem::Int(_) | IndexItem::Slice { .. } => consumed += 1,
            IndexItem::Tensor(i) => {
                consumed += if i.dtype() == DType::Bool || i.dtype() == DType::U8 {
                    i.dim()
                } else {
                    1
                }
            }
            IndexItem::Ellipsis => ellipses += 1,
            _ => {}
        }
    }
    if ellipses > 1 {
        return Err(Error::Index(
            "an index can only have a single ellipsis ('...')".into(),
        ));
    }
    if consumed > t.dim() {
        return Err(Error::Index(format!(
            "too many indices for tensor of dimension {}",
            t.dim()
        )));
    }
    let mut v = t.clone();
    let mut adv: Vec<Option<Tensor>> = Vec::new();
    let mut d = 0usize; // current dim in v
    let mut orig = 0usize; // dim in t (for messages)
    for it in key {
        match it {
            IndexItem::Int(i) => {
                let size = v.shape()[d] as i64;
                if *i < -size || *i >= size {
                    return Err(Error::Index(format!(
                        "index {i} is out of bounds for dimension {orig} with size {size}"
                    )));
                }
                v = select(&v, d as i64, *i)?;
                orig += 1;
            }
            IndexItem::Slice { start, stop, step } => {
                v = slice(&v, d as i64, *start, *stop, *step)?;
                adv.push(None);
                d += 1;
                orig += 1;
            }
            IndexItem::None => {
                v = unsqueeze(&v, d as i64)?;
                adv.push(None);
                d += 1;
            }
            IndexItem::Ellipsis => {
                let n = t.dim() - consumed;
                for _ in 0..n {
                    adv.push(None);
                }
                d += n;
                orig += n;
            }
            IndexItem::Bool(b) => {
                v = unsqueeze(&v, d as i64)?;
                let i = if *b {
                    Tensor::from_vec(vec![0i64], &[1])?
                } else {
                    Tensor::from_vec(Vec::<i64>::new(), &[0])?
                };
                adv.push(Some(i));
                d += 1;
            }
            IndexItem::Tensor(i) => {
                let is_mask = i.dtype() == DType::Bool || i.dtype() == DType::U8;
                if i.dtype().is_floating_point() {
                    return Err(Error::Index(
                        "tensors used as indices must be long, int, byte or bool tensors".into(),
                    ));
                }
                if is_mask && i.dim() == 0 {
                    let b = i.item()?.to_bool();
                    v = unsqueeze(&v, d as i64)?;
                    let i = if b {
                        Tensor::from_vec(vec![0i64], &[1])?
                    } else {
                        Tensor::from_vec(Vec::<i64>::new(), &[0])?
                    };
                    adv.push(Some(i));
                    d += 1;
                } else if is_mask {
                    let k = i.dim();
                    for j in 0..k {
                        if i.shape()[j] != v.shape()[d + j] {
                            return Err(Error::Index(format!(
                                "The shape of the mask {} at index {j} does not match the shape of the indexed tensor {} at index {}",
                                fmt_shape(i.shape()),
                                fmt_shape(v.shape()),
                                d + j
                            )));
                        }
                    }
                    let nz = nonzero(i)?;
                    for j in 0..k {
                        let col = nz.with_layout(nz.layout().select(1, j));
                        adv.push(Some(col));
                    }
                    d += k;
                    orig += k;
                } else if i.dim() == 0 {
                    let idx = i.item()?.to_i64();
                    let size = v.shape()[d] as i64;
                    if idx < -size || idx >= size {
                        return Err(Error::Index(format!(
                            "index {idx} is out of bounds for dimension {orig} with size {size}"
                        )));
                    }
                    v = select(&v, d as i64, idx)?;
                    orig += 1;
                } else {
                    adv.push(Some(i.clone()));
                    d += 1;
                    orig += 1;
                }
            }
        }
    }
    while adv.len() < v.dim() {
        adv.push(None);
    }
    Ok((v, adv))
}

/// `t[key]`: basic items give a view; any index tensor makes it a copy.
pub fn getitem(t: &Tensor, key: &[IndexItem]) -> Result<Tensor> {
    // Fast paths: one int or one slice.
    if key.len() == 1 {
        match &key[0] {
            IndexItem::Int(i) => {
                if t.dim() == 0 {
                    return Err(Error::Index(
                        "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a number".into(),
                    ));
                }
                return super::shape::select(t, 0, *i);
            }
            IndexItem::Slice { start, stop, step } if t.dim() > 0 => {
                return super::shape::slice(t, 0, *start, *stop, *step);
            }
            _ => {}
        }
    }
    let (v, adv) = apply_key(t, key)?;
    if adv.iter().any(|a| a.is_some()) {
        return index(&v, &adv);
    }
    if v.same(t) {
        // `t[...]` or `t[()]`: a new view object, as PyTorch returns.
        return super::shape::alias(t);
    }
    Ok(v)
}

/// Writes `value` into the selection of `dst` (no autograd).
fn setitem_kernel(dst: &Tensor, key: &[IndexItem], value: &Rhs) -> Result<()> {
    let (v, adv) = apply_key(&dst.detach(), key)?;
    if let Rhs::Tensor(src) = value {
        // PyTorch's copy_/index_put_ rules: no write into a self-overlapping region
        // from a tensor (a number fills it), no partial overlap with the value.
        if adv.iter().all(|a| a.is_none()) {
            crate::autograd::view::check_no_internal_overlap(&v)?;
        }
        crate::autograd::view::check_no_partial_overlap(&v, src)?;
    }
    if adv.iter().any(|a| a.is_some()) {
        let value = match value {
            Rhs::Tensor(t) if t.dtype() != dst.dtype() => {
                Rhs::Tensor(super::cast_view(&t.detach(), dst.dtype())?)
            }
            other => other.clone(),
        };
        return index_put_kernel(&v, &adv, &value, false);
    }
    match value {
        Rhs::Scalar(s) => crate::ops::map::fill(&v, *s)?,
        Rhs::Tensor(src) => {
            // Leading size-1 dims of the value may be dropped, as PyTorch allows.
            let mut src = src.detach();
            while src.dim() > v.dim() && src.shape()[0] == 1 {
                src = src.with_layout(src.layout().squeeze_dim(0));
            }
            let expanded = expand_view(&src, v.shape()).map_err(|_| {
                Error::Runtime(format!(
                    "shape mismatch: value tensor of shape {} cannot be broadcast to indexing result of shape {}",
                    fmt_shape(src.shape()),
                    fmt_shape(v.shape())
                ))
            })?;
            if expanded.storage().same(v.storage()) {
                let tmp = Tensor::uninit(v.shape(), expanded.dtype(), v.device())?;
                copy_cast(&tmp, &expanded)?;
                copy_cast(&v, &tmp)?;
            } else {
                copy_cast(&v, &expanded)?;
            }
        }
    }
    Ok(())
}

/// Out-of-place `t[key] = value` (differentiable in `t` and a tensor `value`).
pub fn setitem_out_of_place(t: &Tensor, key: &[IndexItem], value: &Rhs) -> Result<Tensor> {
    let out = super::copy::clone_contiguous(&t.detach())?;
    setitem_kernel(&out, key, value)?;
    let vt = match value {
        Rhs::Tensor(v) => Some(v.clone()),
        Rhs::Scalar(_) => None,
    };
    let inputs: Vec<&Tensor> = std::iter::once(t).chain(vt.as_ref()).collect();
    if needs_grad(&inputs) {
        let key = key.to_vec();
        let vinfo = vt.as_ref().map(|v| (v.shape().clone(), v.dtype()));
        record("CopySlices", &inputs, &out, move |_, g| {
            let gt = setitem_out_of_place(g, &key, &Rhs::Scalar(Scalar::Int(0)))?;
            let mut grads = vec![Some(gt)];
            if let Some((shape, dtype)) = &vinfo {
                let sel = getitem(g, &key)?;
                let mut sel = sel;
                // The value may have had extra leading size-1 dims.
                while sel.dim() < shape.len() {
                    sel = super::shape::unsqueeze(&sel, 0)?;
                }
                grads.push(Some(reduce_grad(&sel, shape, *dtype)?));
            }
            Ok(grads)
        });
    }
    Ok(out)
}

/// `t[key] = value`.
pub fn setitem(t: &Tensor, key: &[IndexItem], value: &Rhs) -> Result<()> {
    let v_grad = matches!(value, Rhs::Tensor(v) if v.requires_grad());
    crate::autograd::view::check_inplace_autograd(t, v_grad)?;
    if is_grad_enabled() && (t.requires_grad() || v_grad) {
        let value = match value {
            Rhs::Tensor(v) if v.dtype() != t.dtype() => {
                Rhs::Tensor(super::copy::to_dtype(v, t.dtype())?)
            }
            other => other.clone(),
        };
        let r = setitem_out_of_place(t, key, &value)?;
        return write_back(t, &r);
    }
    setitem_kernel(t, key, value)?;
    t.storage().bump_version();
    Ok(())
}

// ----- index ops -----

fn check_1d_index(index: &Tensor, what: &str) -> Result<Tensor> {
    if index.dim() > 1 {
        return Err(Error::Index(format!(
            "{what}(): Index is supposed to be a vector"
        )));
    }
    let idx = match index.dtype() {
        DType::I64 | DType::I32 => long_index(index, what)?,
        _ => {
            return Err(Error::Index(format!(
                "{what}(): Expected dtype int32 or int64 for index"
            )))
        }
    };
    if idx.dim() == 0 {
        return Ok(idx.with_layout(idx.layout().unsqueeze(0)));
    }
    Ok(idx)
}

fn dim_indices(dim: usize, idx: Tensor) -> Vec<Option<Tensor>> {
    let mut v: Vec<Option<Tensor>> = vec![None; dim];
    v.push(Some(idx));
    v
}

fn check_range(
    idx: &Tensor,
    size: usize,
    allow_negative: bool,
    msg: impl Fn(i64) -> Error,
) -> Result<()> {
    if idx.device() == crate::Device::Meta {
        return Ok(()); // no values to check
    }
    let vals = idx.to_vec::<i64>()?;
    let n = size as i64;
    let lo = if allow_negative { -n } else { 0 };
    for v in vals {
        if v < lo || v >= n {
            return Err(msg(v));
        }
    }
    Ok(())
}

/// `index_select(t, dim, index)`.
pub fn index_select(t: &Tensor, dim: i64, index: &Tensor) -> Result<Tensor> {
    let idx = check_1d_index(index, "index_select")?;
    if t.dim() == 0 {
        check_range(&idx, 1, false, |_| {
            Error::Index("index out of range in self".into())
        })?;
        let r = super::shape::reshape(t, &[1])?;
        let out = self::index(&r, &[Some(idx)])?;
        return super::shape::reshape(&out, &[]);
    }
    let d = normalize_dim(dim, t.dim())?;
    let shape = t.shape();
    let cpu = |x: &Tensor| x.device() == crate::Device::Cpu;
    let out = if shape[..d].iter().all(|&s| s == 1) && cpu(t) && cpu(&idx) {
        // Whole rows of a leading dim: the rows kernel (a few rows per task, fixed-size
        // copies), without the advanced-indexing plan's offsets per row.
        let rows = super::embedding::checked_indices(&idx, shape[d])?;
        let mut out_shape = shape.to_vec();
        out_shape[d] = rows.len();
        let row: usize = shape[d + 1..].iter().product();
        super::embedding::lookup(t, row, &rows, &out_shape)?
    } else {
        check_range(&idx, shape[d], false, |_| {
            Error::Index("index out of range in self".into())
        })?;
        self::index(&t.detach(), &dim_indices(d, idx.clone()))?
    };
    if needs_grad(&[t]) {
        let in_shape = shape.clone();
        record("IndexSelectBackward0", &[t], &out, move |_, g| {
            let at = dim_indices(d, idx.clone());
            Ok(vec![Some(gather_grad(&in_shape, &at, g)?)])
        });
    }
    Ok(out)
}

/// `take(t, index)`: `t.flatten()[index]`, shaped like `index`.
pub fn take(t: &Tensor, index: &Tensor) -> Result<Tensor> {
    let idx = long_index(index, "take")?;
    let n = t.numel();
    check_range(&idx, n, true, |v| {
        Error::Index(format!(
            "out of range: tried to access index {v} on a tensor of {n} elements."
        ))
    })?;
    let flat = super::shape::reshape(t, &[-1])?;
    self::index(&flat, &[Some(idx)])
}

fn check_index_add_like(
    t: &Tensor,
    dim: i64,
    index: &Tensor,
    source: &Tensor,
    what: &str,
) -> Result<(usize, Tensor)> {
    let idx = check_1d_index(index, what)?;
    let d = normalize_dim(dim, t.dim())?;
    if source.dtype() != t.dtype() {
        let (st, ss) = (
            t.dtype().scalar_type_name(),
            source.dtype().scalar_type_name(),
        );
        return Err(Error::Runtime(if what == "index_copy" {
            format!("index_copy_(): self and source expected to have the same dtype, but got (self) {st} and (source) {ss}")
        } else {
            format!("{what}_(): self ({st}) and source ({ss}) must have the same scalar type")
        }));
    }
    let n = idx.numel();
    let src_size = if source.dim() == 0 {
        1
    } else {
        source.shape()[normalize_dim(dim, source.dim())?]
    };
    if n != src_size {
        return Err(Error::Runtime(format!(
            "{what}_(): Number of indices ({n}) should be equal to source.size(dim): ({src_size}), for dim: {d}"
        )));
    }
    let size = if t.dim() == 0 { 1 } else { t.shape()[d] };
    check_range(&idx, size, false, |v| {
        if what == "index_copy" {
            Error::Index(format!(
                "{what}_(): index {v} is out of bounds for dimension {d} with size {size}"
            ))
        } else {
            Error::Runtime(format!(
                "index {v} is out of bounds for dimension {d} with size {size}"
            ))
        }
    })?;
    Ok((d, idx))
}

/// The checked index and the source scaled by `alpha` in `t`'s dtype: what `index_add`
/// and `index_add_` put with `accumulate`.
fn index_add_operands(
    t: &Tensor,
    dim: i64,
    index: &Tensor,
    source: &Tensor,
    alpha: Scalar,
) -> Result<(Vec<Option<Tensor>>, Tensor)> {
    let (d, idx) = check_index_add_like(t, dim, index, source, "index_add")?;
    let src = if alpha.to_f64() == 1.0 {
        source.clone()
    } else {
        super::binary::mul_scalar(source, alpha)?
    };
    // (An integer source times a floating alpha came back floating: cast to t's dtype.)
    Ok((dim_indices(d, idx), super::copy::to_dtype(&src, t.dtype())?))
}

/// `index_add(t, dim, index, source, alpha)`.
pub fn index_add(
    t: &Tensor,
    dim: i64,
    index: &Tensor,
    source: &Tensor,
    alpha: Scalar,
) -> Result<Tensor> {
    if t.dim() == 0 {
        let r = super::shape::reshape(t, &[1])?;
        let out = index_add(&r, dim, index, source, alpha)?;
        return super::shape::reshape(&out, &[]);
    }
    let (indices, src) = index_add_operands(t, dim, index, source, alpha)?;
    index_put(t, &indices, &Rhs::Tensor(src), true)
}

/// `t.index_add_(dim, index, source, alpha)`: sums straight into `t` (no copy of `t`
/// and back) unless autograd records it.
pub fn index_add_(
    t: &Tensor,
    dim: i64,
    index: &Tensor,
    source: &Tensor,
    alpha: Scalar,
) -> Result<()> {
    crate::autograd::view::check_no_overlap(t, index)?;
    crate::autograd::view::check_no_overlap(t, source)?;
    if t.dim() == 0 || (is_grad_enabled() && (t.requires_grad() || source.requires_grad())) {
        return in_place_via(t, source.requires_grad(), |y| {
            index_add(y, dim, index, source, alpha)
        });
    }
    check_inplace_view(t, false)?;
    let (indices, src) = index_add_operands(t, dim, index, source, alpha)?;
    index_put_(t, &indices, &Rhs::Tensor(src), true)
}

/// `index_copy(t, dim, index, source)`.
pub fn index_copy(t: &Tensor, dim: i64, index: &Tensor, source: &Tensor) -> Result<Tensor> {
    let (d, idx) = check_index_add_like(t, dim, index, source, "index_copy")?;
    index_put(t, &dim_indices(d, idx), &Rhs::Tensor(source.clone()), false)
}

/// `index_fill(t, dim, index, value)` with a number or a 0-dim tensor.
pub fn index_fill(t: &Tensor, dim: i64, index: &Tensor, value: &Rhs) -> Result<Tensor> {
    let idx = check_1d_index(index, "index_fill")?;
    let d = normalize_dim(dim, t.dim())?;
    let size = if t.dim() == 0 { 1 } else { t.shape()[d] };
    check_range(&idx, size, true, |v| {
        Error::Index(format!(
            "index {v} is out of bounds for dimension {d} with size {size}"
        ))
    })?;
    let value = match value {
        Rhs::Tensor(v) => {
            if v.dim() != 0 {
                return Err(Error::Runtime(format!(
                    "index_fill_ only supports a 0-dimensional value tensor, but got tensor with {} dimension(s).",
                    v.dim()
                )));
            }
            Rhs::Tensor(super::copy::to_dtype(v, t.dtype())?)
        }
        s => s.clone(),
    };
    if t.dim() == 0 {
        let r = super::shape::reshape(t, &[1])?;
        let out = index_put(&r, &[Some(idx)], &value, false)?;
        return super::shape::reshape(&out, &[]);
    }
    index_put(t, &dim_indices(d, idx), &value, false)
}

// ----- gather / scatter -----

fn check_gather_like(t: &Tensor, dim: i64, index: &Tensor, what: &str) -> Result<(usize, Tensor)> {
    // PyTorch takes int32 indices here (and names every scatter variant "scatter").
    let index = match index.dtype() {
        DType::I64 => index.clone(),
        DType::I32 => super::copy::to_dtype(index, DType::I64)?,
        _ => {
            let what = if what.starts_with("scatter") {
                "scatter"
            } else {
                what
            };
            return Err(Error::Runtime(format!(
                "{what}(): Expected dtype int32/int64 for index"
            )));
        }
    };
    let index = &index;
    let td = t.dim().max(1);
    let id = index.dim().max(1);
    if td != id && index.numel() > 0 {
        return Err(Error::Runtime(
            "Index tensor must have the same number of dimensions as input tensor".into(),
        ));
    }
    let d = normalize_dim(dim, t.dim())?;
    Ok((d, index.clone()))
}

/// Views of 0-dim tensors as 1-element 1-D ones (gather/scatter treat them alike).
fn as_1d(t: &Tensor) -> Tensor {
    if t.dim() == 0 {
        t.with_layout(t.layout().unsqueeze(0))
    } else {
        t.clone()
    }
}

/// `gather(t, dim, index)`.
pub fn gather(t: &Tensor, dim: i64, index: &Tensor) -> Result<Tensor> {
    let (d, idx) = check_gather_like(t, dim, index, "gather")?;
    let (t1, i1) = (as_1d(&t.detach()), as_1d(&idx));
    if i1.numel() > 0 {
        for k in 0..t1.dim() {
            if k != d && i1.shape()[k] > t1.shape()[k] {
                return Err(Error::Runtime(format!(
                    "Size does not match at dimension {k} expected index {} to be no larger than self {} apart from dimension {d}",
                    fmt_shape(i1.shape()),
                    fmt_shape(t1.shape())
                )));
            }
        }
    }
    let out = Tensor::uninit(index.shape(), t.dtype(), t.device())?;
    let o1 = as_1d(&out);
    kinds::run(&kinds::Gather { dim: d }, t.dtype(), &o1, &[&t1, &i1])?;
    if needs_grad(&[t]) {
        let (shape, idx) = (t.shape().clone(), idx.clone());
        record("GatherBackward0", &[t], &out, move |_, g| {
            let z = zeros_of(&shape, g.dtype(), g.device())?;
            if needs_grad(&[g]) {
                return Ok(vec![Some(scatter_add(&z, d as i64, &idx, g)?)]);
            }
            // Nothing records this: add straight into the fresh zeros (`scatter_add`
            // would copy them first).
            scatter_add_into(&z, d as i64, &idx, g)?;
            Ok(vec![Some(z)])
        });
    }
    Ok(out)
}

pub use super::index_kinds::ScatterReduce;

fn scatter_impl(
    t: &Tensor,
    dim: i64,
    index: &Tensor,
    src: &Rhs,
    reduce: ScatterReduce,
    name: &str,
) -> Result<(Tensor, usize)> {
    let out = super::copy::clone_contiguous(&t.detach())?;
    let d = scatter_into(&out, dim, index, src, reduce, name)?;
    Ok((out, d))
}

/// `scatter` into `out` itself (which holds the values to scatter into); returns the
/// normalized dim.
fn scatter_into(
    out: &Tensor,
    dim: i64,
    index: &Tensor,
    src: &Rhs,
    reduce: ScatterReduce,
    name: &str,
) -> Result<usize> {
    let (d, idx) = check_gather_like(out, dim, index, name)?;
    let (o1, i1) = (as_1d(out), as_1d(&idx));
    let src_k = match src {
        Rhs::Tensor(s) => {
            if s.dtype() != out.dtype() {
                return Err(Error::Runtime(format!(
                    "{name}(): Expected self.dtype to be equal to src.dtype"
                )));
            }
            let s1 = as_1d(&s.detach());
            if i1.numel() > 0 {
                if s1.dim() != i1.dim() {
                    return Err(Error::Runtime(
                        "Index tensor must have the same number of dimensions as src tensor".into(),
                    ));
                }
                for k in 0..i1.dim() {
                    if i1.shape()[k] > s1.shape()[k] || (k != d && i1.shape()[k] > o1.shape()[k]) {
                        return Err(Error::Runtime(format!(
                            "Expected index {} to be no larger than self {} apart from dimension {d} and to be no larger size than src {}",
                            fmt_shape(i1.shape()),
                            fmt_shape(o1.shape()),
                            fmt_shape(s1.shape())
                        )));
                    }
                }
            }
            Rhs::Tensor(s1)
        }
        s => s.clone(),
    };
    let mut operands = vec![&i1];
    if let Rhs::Tensor(s) = &src_k {
        operands.push(s);
    }
    kinds::run(
        &kinds::Scatter::new(d, &src_k, reduce),
        out.dtype(),
        &o1,
        &operands,
    )?;
    Ok(d)
}

/// `scatter(t, dim, index, src)` (src a tensor or a number; optional reduce).
pub fn scatter(
    t: &Tensor,
    dim: i64,
    index: &Tensor,
    src: &Rhs,
    reduce: ScatterReduce,
) -> Result<Tensor> {
    let (out, d) = scatter_impl(t, dim, index, src, reduce, "scatter")?;
    let st = match src {
        Rhs::Tensor(s) => Some(s.clone()),
        Rhs::Scalar(_) => None,
    };
    let inputs: Vec<&Tensor> = std::iter::once(t).chain(st.as_ref()).collect();
    if needs_grad(&inputs) {
        if reduce != ScatterReduce::None {
            return Err(Error::NotImplemented(
                "scatter with reduce= does not support autograd in rtorch".into(),
            ));
        }
        let idx = index.clone();
        let has_src = st.is_some();
        record("ScatterBackward0", &inputs, &out, move |_, g| {
            let gt = scatter(
                g,
                d as i64,
                &idx,
                &Rhs::Scalar(Scalar::Int(0)),
                ScatterReduce::None,
            )?;
            let mut v = vec![Some(gt)];
            if has_src {
                v.push(Some(gather(g, d as i64, &idx)?));
            }
            Ok(v)
        });
    }
    Ok(out)
}

/// `scatter_reduce`'s amax (`largest`) or amin forward: a copy of `t` where each position
/// that `index` names keeps the largest (smallest) of itself and the values of `src`
/// scattered there, a NaN winning. Not recorded: the caller's autograd Function knows
/// the gradient (shared among the tied maxima).
pub fn scatter_extreme(
    t: &Tensor,
    dim: i64,
    index: &Tensor,
    src: &Tensor,
    largest: bool,
) -> Result<Tensor> {
    let reduce = if largest {
        ScatterReduce::Max
    } else {
        ScatterReduce::Min
    };
    let src = Rhs::Tensor(src.clone());
    Ok(scatter_impl(t, dim, index, &src, reduce, "scatter_reduce")?.0)
}

/// `scatter_add(t, dim, index, src)`.
pub fn scatter_add(t: &Tensor, dim: i64, index: &Tensor, src: &Tensor) -> Result<Tensor> {
    let out = super::copy::clone_contiguous(&t.detach())?;
    let d = scatter_add_into(&out, dim, index, src)?;
    if needs_grad(&[t, src]) {
        let idx = index.clone();
        record("ScatterAddBackward0", &[t, src], &out, move |_, g| {
            Ok(vec![Some(g.clone()), Some(gather(g, d as i64, &idx)?)])
        });
    }
    Ok(out)
}

/// `t.scatter_add_(dim, index, src)`: adds straight into `t` (no copy of it and back)
/// unless autograd records it or `src` or `index` share `t`'s memory.
pub fn scatter_add_(t: &Tensor, dim: i64, index: &Tensor, src: &Tensor) -> Result<()> {
    crate::autograd::view::check_no_overlap(t, index)?;
    crate::autograd::view::check_no_overlap(t, src)?;
    // (What still shares memory with `t` is not dense: read from a copy of `t`.)
    let shares = |x: &Tensor| x.device() == t.device() && x.storage().same(t.storage());
    if (is_grad_enabled() && (t.requires_grad() || src.requires_grad()))
        || shares(src)
        || shares(index)
    {
        return in_place_via(t, src.requires_grad(), |y| scatter_add(y, dim, index, src));
    }
    check_inplace_view(t, false)?;
    scatter_add_into(t, dim, index, src)?;
    t.storage().bump_version();
    Ok(())
}

/// `scatter_add` into `out` itself; returns the normalized dim.
fn scatter_add_into(out: &Tensor, dim: i64, index: &Tensor, src: &Tensor) -> Result<usize> {
    let src = Rhs::Tensor(src.clone());
    scatter_into(out, dim, index, &src, ScatterReduce::Add, "scatter_add")
}

// ----- masks and where -----

fn check_bool_cond(c: &Tensor, what: &str) -> Result<()> {
    if c.dtype() != DType::Bool {
        return Err(Error::Runtime(format!(
            "{what} expected condition to be a boolean tensor, but got a tensor with dtype {}",
            c.dtype().scalar_type_name()
        )));
    }
    Ok(())
}

/// `where(cond, x, y)` with PyTorch's type promotion (numbers allowed for x and y).
pub fn where_(cond: &Tensor, x: &Rhs, y: &Rhs) -> Result<Tensor> {
    check_bool_cond(cond, "where")?;
    let dtype = result_type(&[x.operand(), y.operand()]);
    let xt = x.to_tensor(dtype)?;
    let yt = y.to_tensor(dtype)?;
    let shape = broadcast_shapes(&broadcast_shapes(cond.shape(), xt.shape())?, yt.shape())?;
    let c = expand_view(cond, &shape)?;
    let xk = expand_view(&super::cast_view(&xt.detach(), dtype)?, &shape)?;
    let yk = expand_view(&super::cast_view(&yt.detach(), dtype)?, &shape)?;
    let out = Tensor::uninit_for(&shape, dtype, cond.device(), &[cond, &xt, &yt])?;
    super::map::select(&out, &c, &xk, &yk)?;
    if needs_grad(&[&xt, &yt]) {
        let cond = cond.clone();
        let (sx, dx, rx) = (xt.shape().clone(), xt.dtype(), xt.requires_grad());
        let (sy, dy, ry) = (yt.shape().clone(), yt.dtype(), yt.requires_grad());
        record("WhereBackward0", &[&xt, &yt], &out, move |_, g| {
            let zero = Rhs::Scalar(Scalar::Int(0));
            let gx = if rx {
                Some(reduce_grad(
                    &where_(&cond, &Rhs::Tensor(g.clone()), &zero)?,
                    &sx,
                    dx,
                )?)
            } else {
                None
            };
            let gy = if ry {
                Some(reduce_grad(
                    &where_(&cond, &zero, &Rhs::Tensor(g.clone()))?,
                    &sy,
                    dy,
                )?)
            } else {
                None
            };
            Ok(vec![gx, gy])
        });
    }
    Ok(out)
}

/// `masked_fill(t, mask, value)`: value a number or a 0-dim tensor.
pub fn masked_fill(t: &Tensor, mask: &Tensor, value: &Rhs) -> Result<Tensor> {
    if mask.dtype() != DType::Bool {
        return Err(Error::Runtime(format!(
            "masked_fill_ only supports boolean masks, but got mask with dtype {}",
            mask.dtype().name()
        )));
    }
    let v = match value {
        Rhs::Tensor(v) => {
            if v.dim() != 0 {
                return Err(Error::Runtime(format!(
                    "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with {} dimension(s).",
                    v.dim()
                )));
            }
            Rhs::Tensor(super::copy::to_dtype(v, t.dtype())?)
        }
        Rhs::Scalar(s) => {
            t.dtype().check_number(*s, t.dtype().fill_type_name())?;
            Rhs::Tensor(Tensor::scalar(*s, t.dtype())?)
        }
    };
    let out = where_(mask, &v, &Rhs::Tensor(t.clone()))?;
    if out.dtype() != t.dtype() {
        return super::copy::to_dtype(&out, t.dtype());
    }
    Ok(out)
}

/// `nonzero(t)`: int64 `[n, ndim]` of the indices of non-zero elements.
pub fn nonzero(t: &Tensor) -> Result<Tensor> {
    if t.device() == crate::Device::Meta {
        // The output's size is the data's (PyTorch has no meta kernel either).
        return Err(crate::storage::no_meta_kernel());
    }
    let c = contiguous_as(t, t.dtype())?;
    let count = super::reduce::count_nonzero(&c, &[])?.item()?.to_f64() as usize;
    let out = Tensor::empty(&[count, t.dim()], DType::I64, t.device())?;
    kinds::run(&kinds::Nonzero, t.dtype(), &out, &[&c])?;
    Ok(out)
}

/// `nonzero(t, as_tuple=True)`: one index tensor per dim.
pub fn nonzero_tuple(t: &Tensor) -> Result<Vec<Tensor>> {
    let t1 = as_1d(t);
    let nz = nonzero(&t1)?;
    Ok((0..t1.dim())
        .map(|j| {
            let c = nz.with_layout(nz.layout().select(1, j));
            super::copy::clone_contiguous(&c).unwrap_or(c)
        })
        .collect())
}

/// `masked_select(t, mask)`: the elements where `mask` (broadcast) is true, as 1-D.
pub fn masked_select(t: &Tensor, mask: &Tensor) -> Result<Tensor> {
    if mask.dtype() != DType::Bool {
        return Err(Error::Runtime(format!(
            "masked_select: expected BoolTensor for mask, but got {}",
            mask.dtype().legacy_name()
        )));
    }
    let shape = broadcast_shapes(t.shape(), mask.shape())?;
    let te = super::shape::expand_to(t, &shape)?;
    let me = expand_view(mask, &shape)?;
    if shape.is_empty() {
        let te = super::shape::reshape(&te, &[1])?;
        let me = super::shape::reshape(&me, &[1])?;
        let idx: Vec<Option<Tensor>> = nonzero_tuple(&me)?.into_iter().map(Some).collect();
        return index(&te, &idx);
    }
    let idx: Vec<Option<Tensor>> = nonzero_tuple(&me)?.into_iter().map(Some).collect();
    index(&te, &idx)
}

/// `masked_scatter(t, mask, source)`: true positions (row-major) take consecutive
/// elements of `source`.
pub fn masked_scatter(t: &Tensor, mask: &Tensor, source: &Tensor) -> Result<Tensor> {
    if mask.dtype() != DType::Bool {
        return Err(Error::Runtime(format!(
            "masked_scatter_ only supports boolean masks, but got mask with dtype {}",
            mask.dtype().name()
        )));
    }
    if source.dtype() != t.dtype() {
        return Err(Error::Runtime(format!(
            "masked_scatter: expected self and source to have same dtypes but got {} and {}",
            t.dtype().scalar_type_name(),
            source.dtype().scalar_type_name()
        )));
    }
    let shape = broadcast_shapes(t.shape(), mask.shape())?;
    if t.device() == crate::Device::Meta {
        // Which elements change depends on the mask's values; the result's shape and
        // dtype do not.
        crate::device::Backend::of(t, &[mask, source])?;
        return Tensor::empty(&shape, t.dtype(), t.device());
    }
    let te = if t.shape().as_slice() == shape.as_slice() {
        t.clone()
    } else {
        super::copy::clone_contiguous(&super::shape::expand_to(t, &shape)?)?
    };
    let me = expand_view(mask, &shape)?;
    let te1 = if shape.is_empty() {
        super::shape::reshape(&te, &[1])?
    } else {
        te.clone()
    };
    let me1 = as_1d(&me);
    let idx: Vec<Option<Tensor>> = nonzero_tuple(&me1)?.into_iter().map(Some).collect();
    let n = idx
        .first()
        .and_then(|i| i.as_ref())
        .map_or(0, |i| i.numel());
    if source.numel() < n {
        return Err(Error::Runtime(
            "Number of elements of source < number of ones in mask".into(),
        ));
    }
    let flat = super::shape::reshape(source, &[-1])?;
    let vals = super::shape::narrow(&flat, 0, 0, n as i64)?;
    let out = index_put(&te1, &idx, &Rhs::Tensor(vals), false)?;
    if shape.is_empty() {
        return super::shape::reshape(&out, &[]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ar(n: usize, shape: &[usize]) -> Tensor {
        Tensor::from_vec((0..n).map(|v| v as f64).collect::<Vec<_>>(), shape).unwrap()
    }

    #[test]
    fn advanced_adjacent_and_separated() {
        let t = ar(24, &[2, 3, 4]);
        let i = Tensor::from_vec(vec![0i64, 2], &[2]).unwrap();
        let r = index(&t, &[None, Some(i.clone())]).unwrap();
        assert_eq!(&r.shape()[..], &[2, 2, 4]);
        assert_eq!(r.to_f64_vec().unwrap()[4], 8.0);
        let j = Tensor::from_vec(vec![1i64, 3], &[2]).unwrap();
        let k = Tensor::from_vec(vec![0i64, 1], &[2]).unwrap();
        let r = index(&t, &[Some(k), None, Some(j)]).unwrap();
        assert_eq!(&r.shape()[..], &[2, 3]);
        // t[0, :, 1] = 1, 5, 9 ; t[1, :, 3] = 15, 19, 23
        assert_eq!(
            r.to_f64_vec().unwrap(),
            vec![1.0, 5.0, 9.0, 15.0, 19.0, 23.0]
        );
    }

    #[test]
    fn gather_scatter_roundtrip() {
        let t = ar(6, &[2, 3]);
        let i = Tensor::from_vec(vec![2i64, 0, 1, 1], &[2, 2]).unwrap();
        let g = gather(&t, 1, &i).unwrap();
        assert_eq!(g.to_f64_vec().unwrap(), vec![2.0, 0.0, 4.0, 4.0]);
        let z = Tensor::zeros(&[2, 3], DType::F64).unwrap();
        let s = scatter_add(&z, 1, &i, &g).unwrap();
        assert_eq!(s.to_f64_vec().unwrap(), vec![0.0, 0.0, 2.0, 0.0, 8.0, 0.0]);
    }
}
