//! Views and shape ops. Views share storage with their input; backward maps the
//! gradient back to the input's shape.

use crate::autograd::{needs_grad, record, record_multi};
use crate::error::{Error, Result};
use crate::layout::{fmt_shape, infer_size, normalize_dim, Dims, Layout};
use crate::tensor::Tensor;

/// Makes `layout` a view of `t` and records `name` with `backward` if needed.
fn make_view<F>(t: &Tensor, layout: Layout, name: &'static str, backward: F) -> Tensor
where
    F: FnMut(&crate::autograd::BackwardCtx, &Tensor) -> Result<Vec<Option<Tensor>>>
        + Send
        + 'static,
{
    let out = t.make_view(layout);
    if needs_grad(&[t]) {
        record(name, &[t], &out, backward);
    }
    out
}

/// `view(dtype)`: the same bytes read as `dtype`, without copy or autograd history (as
/// in PyTorch, the result does not require grad). When the element sizes differ, the
/// last dim must be contiguous and its size, the offset and the other strides scale by
/// the ratio. Viewing other bytes as bool is refused: a byte other than 0 or 1 is not
/// a bool.
pub fn view_dtype(t: &Tensor, dtype: crate::DType) -> Result<Tensor> {
    let (from, to) = (t.dtype(), dtype);
    if to == crate::DType::Bool && from != crate::DType::Bool {
        return Err(Error::NotImplemented(format!(
            "view(torch.bool) of a {} tensor: rtorch cannot read arbitrary bytes as bool",
            from.scalar_type_name()
        )));
    }
    let (a, b) = (from.size(), to.size());
    if a == b {
        return Ok(Tensor::from_parts(
            t.storage().clone(),
            t.layout().clone(),
            to,
        ));
    }
    let what = format!(
        "to view {} as {} (different element sizes)",
        from.scalar_type_name(),
        to.scalar_type_name()
    );
    let nd = t.dim();
    if nd == 0 {
        return Err(Error::Runtime(format!("self.dim() cannot be 0 {what}")));
    }
    let (shape, strides) = (t.shape(), t.strides());
    if strides[nd - 1] != 1 {
        return Err(Error::Runtime(format!(
            "self.stride(-1) must be 1 {what}, but got {}",
            strides[nd - 1]
        )));
    }
    let mut layout = t.layout().clone();
    if b > a {
        let r = b / a;
        let must_divide = |v: usize, name: String| -> Result<usize> {
            if !v.is_multiple_of(r) {
                return Err(Error::Runtime(format!(
                    "{name} must be divisible by {r} {what}, but got {v}"
                )));
            }
            Ok(v / r)
        };
        layout.shape[nd - 1] = must_divide(shape[nd - 1], "self.size(-1)".into())?;
        layout.offset = must_divide(t.offset(), "self.storage_offset()".into())?;
        for i in 0..nd - 1 {
            layout.strides[i] = must_divide(strides[i], format!("self.stride({i})"))?;
        }
    } else {
        // Sizes in elements of the smaller type cannot overflow: the bytes exist.
        let r = a / b;
        layout.shape[nd - 1] = shape[nd - 1] * r;
        layout.offset = t.offset() * r;
        for i in 0..nd - 1 {
            layout.strides[i] = strides[i] * r;
        }
    }
    Ok(Tensor::from_parts(t.storage().clone(), layout, to))
}

/// `view(shape)`: no copy; RuntimeError when the layout does not allow it.
pub fn view(t: &Tensor, shape: &[i64]) -> Result<Tensor> {
    let new_shape = infer_size(shape, t.numel())?;
    let layout = t.layout().view(&new_shape).ok_or_else(|| {
        Error::Runtime(
            "view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.".into(),
        )
    })?;
    let in_shape = t.shape().clone();
    Ok(make_view(t, layout, "ViewBackward0", move |_, g| {
        Ok(vec![Some(reshape_to(g, &in_shape)?)])
    }))
}

/// `reshape(shape)`: a view when possible, else a contiguous copy.
pub fn reshape(t: &Tensor, shape: &[i64]) -> Result<Tensor> {
    let new_shape = infer_size(shape, t.numel())?;
    if t.layout().view(&new_shape).is_some() {
        let s: Vec<i64> = new_shape.iter().map(|&d| d as i64).collect();
        return view(t, &s);
    }
    let c = super::copy::clone_contiguous(t)?;
    let s: Vec<i64> = new_shape.iter().map(|&d| d as i64).collect();
    view(&c, &s)
}

/// Reshape to a known shape (internal helper for backward formulas).
pub fn reshape_to(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if t.shape().as_slice() == shape {
        return Ok(t.clone());
    }
    let s: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
    reshape(t, &s)
}

/// `expand(shape)`: -1 keeps a dim; new leading dims are allowed.
pub fn expand(t: &Tensor, shape: &[i64]) -> Result<Tensor> {
    let lead = shape.len() as isize - t.dim() as isize;
    let mut target = Dims::new();
    for (i, &d) in shape.iter().enumerate() {
        if d == -1 {
            let j = i as isize - lead;
            if j < 0 {
                return Err(Error::Runtime(format!(
                    "The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension {i}"
                )));
            }
            target.push(t.shape()[j as usize]);
        } else if d < 0 {
            return Err(Error::Runtime(format!("invalid shape dimension {d}")));
        } else {
            target.push(d as usize);
        }
    }
    // A view's element count must exist, even though expanding allocates nothing.
    if !target.contains(&0)
        && target
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .is_none()
    {
        return Err(Error::Runtime(
            "numel: integer multiplication overflow".into(),
        ));
    }
    expand_to(t, &target)
}

pub fn expand_to(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let layout = t.layout().expand(shape)?;
    let in_shape = t.shape().clone();
    Ok(make_view(t, layout, "ExpandBackward0", move |_, g| {
        Ok(vec![Some(super::reduce::sum_to(g, &in_shape)?)])
    }))
}

pub fn permute(t: &Tensor, dims: &[i64]) -> Result<Tensor> {
    let n = t.dim();
    if dims.len() != n {
        return Err(Error::Runtime(format!(
            "permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = {n} is not equal to len(dims) = {}",
            dims.len()
        )));
    }
    let mut seen = vec![false; n];
    let mut perm = Vec::with_capacity(n);
    for &d in dims {
        let d = normalize_dim(d, n)?;
        if seen[d] {
            return Err(Error::Runtime(
                "permute(): duplicate dims are not allowed.".into(),
            ));
        }
        seen[d] = true;
        perm.push(d);
    }
    let mut inverse = vec![0i64; n];
    for (i, &p) in perm.iter().enumerate() {
        inverse[p] = i as i64;
    }
    let layout = t.layout().permute(&perm);
    Ok(make_view(t, layout, "PermuteBackward0", move |_, g| {
        Ok(vec![Some(permute(g, &inverse)?)])
    }))
}

pub fn transpose(t: &Tensor, d0: i64, d1: i64) -> Result<Tensor> {
    let n = t.dim();
    let (a, b) = (normalize_dim(d0, n)?, normalize_dim(d1, n)?);
    let layout = t.layout().transpose(a, b);
    Ok(make_view(t, layout, "TransposeBackward0", move |_, g| {
        Ok(vec![Some(transpose(g, a as i64, b as i64)?)])
    }))
}

/// `t()`: transpose of a matrix; 0-D and 1-D tensors are returned as they are.
pub fn t(x: &Tensor) -> Result<Tensor> {
    match x.dim() {
        0..=2 => {
            let layout = x.layout().transpose(0, x.dim().saturating_sub(1));
            Ok(make_view(x, layout, "TBackward0", |_, g| {
                Ok(vec![Some(t(g)?)])
            }))
        }
        n => Err(Error::Runtime(format!(
            "t() expects a tensor with <= 2 dimensions, but self is {n}D"
        ))),
    }
}

pub fn unsqueeze(t: &Tensor, dim: i64) -> Result<Tensor> {
    let d = normalize_dim(dim, t.dim() + 1)?;
    let layout = t.layout().unsqueeze(d);
    let in_shape = t.shape().clone();
    Ok(make_view(t, layout, "UnsqueezeBackward0", move |_, g| {
        Ok(vec![Some(reshape_to(g, &in_shape)?)])
    }))
}

/// `squeeze(dims)`: `None` squeezes every size-1 dim.
pub fn squeeze(t: &Tensor, dims: Option<&[i64]>) -> Result<Tensor> {
    let n = t.dim();
    let mut drop = vec![false; n];
    match dims {
        None => {
            for (i, &s) in t.shape().iter().enumerate() {
                drop[i] = s == 1;
            }
        }
        Some(ds) => {
            for &d in ds {
                let d = normalize_dim(d, n)?;
                if n > 0 && t.shape()[d] == 1 {
                    drop[d] = true;
                }
            }
        }
    }
    let l = t.layout();
    let layout = Layout {
        shape: (0..n).filter(|&i| !drop[i]).map(|i| l.shape[i]).collect(),
        strides: (0..n).filter(|&i| !drop[i]).map(|i| l.strides[i]).collect(),
        offset: l.offset,
    };
    let in_shape = t.shape().clone();
    Ok(make_view(t, layout, "SqueezeBackward0", move |_, g| {
        Ok(vec![Some(reshape_to(g, &in_shape)?)])
    }))
}

pub fn flatten(t: &Tensor, start: i64, end: i64) -> Result<Tensor> {
    if t.dim() == 0 {
        return reshape(t, &[1]);
    }
    let n = t.dim();
    let (s, e) = (normalize_dim(start, n)?, normalize_dim(end, n)?);
    if s > e {
        return Err(Error::Runtime(
            "flatten() has invalid args: start_dim cannot come after end_dim".into(),
        ));
    }
    if s == e {
        return Ok(t.clone());
    }
    let mut shape: Vec<i64> = t.shape()[..s].iter().map(|&d| d as i64).collect();
    shape.push(t.shape()[s..=e].iter().product::<usize>() as i64);
    shape.extend(t.shape()[e + 1..].iter().map(|&d| d as i64));
    reshape(t, &shape)
}

/// `t[start:end:step]` along `dim`; bounds are clamped like Python slices. A step
/// must be positive (ValueError otherwise, as PyTorch).
pub fn slice(
    t: &Tensor,
    dim: i64,
    start: Option<i64>,
    end: Option<i64>,
    step: i64,
) -> Result<Tensor> {
    if step <= 0 {
        return Err(Error::Value("step must be greater than zero".into()));
    }
    let d = normalize_dim(dim, t.dim())?;
    if t.dim() == 0 {
        return Err(Error::Index(
            "slice() cannot be applied to a 0-dim tensor.".into(),
        ));
    }
    let size = t.shape()[d] as i64;
    let clamp = |v: i64| -> usize {
        let v = if v < 0 { v + size } else { v };
        v.clamp(0, size) as usize
    };
    let s = clamp(start.unwrap_or(0));
    let e = clamp(end.unwrap_or(size)).max(s);
    let layout = t.layout().slice(d, s, e, step as usize);
    let in_shape = t.shape().clone();
    let step = step as usize;
    Ok(make_view(t, layout, "SliceBackward0", move |_, g| {
        Ok(vec![Some(slice_backward(g, &in_shape, d, s, step)?)])
    }))
}

pub fn narrow(t: &Tensor, dim: i64, start: i64, length: i64) -> Result<Tensor> {
    if t.dim() == 0 {
        return Err(Error::Runtime(
            "narrow() cannot be applied to a 0-dim tensor.".into(),
        ));
    }
    let d = normalize_dim(dim, t.dim())?;
    let size = t.shape()[d] as i64;
    if start < -size || start > size {
        return Err(Error::Index(format!(
            "start out of range (expected to be in range of [{}, {size}], but got {start})",
            -size
        )));
    }
    if length < 0 {
        return Err(Error::Runtime(
            "narrow(): length must be non-negative.".into(),
        ));
    }
    let start = if start < 0 { start + size } else { start };
    // start <= size and length >= 0: the sum cannot overflow unless length is huge.
    if start.checked_add(length).is_none_or(|end| end > size) {
        return Err(Error::Runtime(format!(
            "start ({start}) + length ({length}) exceeds dimension size ({size})."
        )));
    }
    slice(t, d as i64, Some(start), Some(start + length), 1)
}

/// `t[index]` along `dim` (drops the dim).
pub fn select(t: &Tensor, dim: i64, index: i64) -> Result<Tensor> {
    if t.dim() == 0 {
        return Err(Error::Index(
            "select() cannot be applied to a 0-dim tensor.".into(),
        ));
    }
    let d = normalize_dim(dim, t.dim())?;
    let size = t.shape()[d] as i64;
    if index < -size || index >= size {
        return Err(Error::Index(format!(
            "index {index} is out of bounds for dimension {d} with size {size}"
        )));
    }
    let i = if index < 0 { index + size } else { index } as usize;
    let layout = t.layout().select(d, i);
    let in_shape = t.shape().clone();
    Ok(make_view(t, layout, "SelectBackward0", move |_, g| {
        let g = unsqueeze(g, d as i64)?;
        Ok(vec![Some(slice_backward(&g, &in_shape, d, i, 1)?)])
    }))
}

/// Embeds `g` into zeros of `shape` at `start::step` along `dim` (the adjoint of
/// `slice`); differentiable, its own backward is the slice again.
pub fn slice_backward(
    g: &Tensor,
    shape: &[usize],
    dim: usize,
    start: usize,
    step: usize,
) -> Result<Tensor> {
    let out = Tensor::empty(shape, g.dtype(), g.device())?;
    let len = g.shape().get(dim).copied().unwrap_or(1);
    // An empty slice covers nothing (its end is its start, not start + 1).
    let end = if len == 0 {
        start
    } else {
        start + (len - 1) * step + 1
    };
    let region = out.with_layout(out.layout().slice(dim, start, end.min(shape[dim]), step));
    if region.shape() != g.shape() {
        return Err(Error::Runtime(format!(
            "slice_backward: gradient of shape {} does not fit {}",
            fmt_shape(g.shape()),
            fmt_shape(region.shape())
        )));
    }
    crate::ops::map::copy_cast(&region, g)?;
    if needs_grad(&[g]) {
        record("SliceBackwardBackward0", &[g], &out, move |_, gg| {
            Ok(vec![Some(slice(
                gg,
                dim as i64,
                Some(start as i64),
                Some(end as i64),
                step as i64,
            )?)])
        });
    }
    Ok(out)
}

// ----- further shape ops -----

/// A new view object of `t` with the same layout (`t[...]`, `t.view_as(t)`).
pub fn alias(t: &Tensor) -> Result<Tensor> {
    let in_shape = t.shape().clone();
    Ok(make_view(
        t,
        t.layout().clone(),
        "AliasBackward0",
        move |_, g| Ok(vec![Some(reshape_to(g, &in_shape)?)]),
    ))
}

/// `as_strided(size, stride, storage_offset)`: any layout over `t`'s storage (the
/// offset defaults to `t`'s own). The layout must stay inside the storage.
pub fn as_strided(
    t: &Tensor,
    size: &[usize],
    stride: &[usize],
    storage_offset: Option<usize>,
) -> Result<Tensor> {
    if size.len() != stride.len() {
        return Err(Error::Runtime(
            "mismatch in length of strides and shape".into(),
        ));
    }
    let offset = storage_offset.unwrap_or(t.offset());
    let itemsize = t.dtype().size();
    let required = crate::layout::checked_extent(size, stride, offset)
        .and_then(|e| e.checked_mul(itemsize))
        .ok_or_else(|| crate::layout::extent_overflow(size, Some(stride)))?;
    let available = t.storage().nbytes();
    if required > available {
        return Err(Error::Runtime(format!(
            "setStorage: sizes {}, strides {}, storage offset {offset}, and itemsize {itemsize} requiring a storage size of {required} are out of bounds for storage of size {available}",
            fmt_shape(size),
            fmt_shape(stride)
        )));
    }
    let out_layout = Layout {
        shape: size.into(),
        strides: stride.into(),
        offset,
    };
    let in_layout = t.layout().clone();
    Ok(make_view(
        t,
        out_layout.clone(),
        "AsStridedBackward0",
        move |_, g| Ok(vec![Some(as_strided_backward(g, &in_layout, &out_layout)?)]),
    ))
}

/// The gradient of `as_strided` for its input: scatter-add the output's gradient into
/// the storage positions the output reads (overlapping elements sum), then read the
/// input's positions. Storage the input does not reach gets no gradient.
fn as_strided_backward(g: &Tensor, input: &Layout, output: &Layout) -> Result<Tensor> {
    use crate::autograd::view::for_each_offset;
    use crate::ops::binary::Rhs;
    use crate::ops::index::{index, index_put};
    let lo = input.offset.min(output.offset);
    let hi = input.storage_extent().max(output.storage_extent()).max(lo);
    let positions = |l: &Layout| -> Result<Tensor> {
        let mut v = Vec::with_capacity(l.numel());
        for_each_offset(l, |o| v.push((o - lo) as i64));
        Tensor::from_vec(v, &l.shape)
    };
    let storage = Tensor::empty(&[hi - lo], g.dtype(), g.device())?;
    let storage = index_put(
        &storage,
        &[Some(positions(output)?)],
        &Rhs::Tensor(g.clone()),
        true,
    )?;
    index(&storage, &[Some(positions(input)?)])
}

/// `cat(tensors, dim)`: dtype promotion across inputs; 1-D empty tensors are skipped.
pub fn cat(tensors: &[Tensor], dim: i64) -> Result<Tensor> {
    if tensors.is_empty() {
        return Err(Error::Value(
            "torch.cat(): expected a non-empty list of Tensors".into(),
        ));
    }
    let dtype = tensors
        .iter()
        .map(|t| t.dtype())
        .reduce(crate::dtype::promote_types)
        .unwrap_or(crate::get_default_dtype());
    let skip = |t: &Tensor| t.dim() == 1 && t.shape()[0] == 0;
    let Some(first) = tensors.iter().find(|t| !skip(t)) else {
        return Tensor::zeros(&[0], dtype);
    };
    if first.dim() == 0 {
        return Err(Error::Runtime(
            "zero-dimensional tensor (at position 0) cannot be concatenated".into(),
        ));
    }
    let d = normalize_dim(dim, first.dim())?;
    let mut total = 0usize;
    for (i, t) in tensors.iter().enumerate() {
        if skip(t) {
            continue;
        }
        if t.dim() == 0 {
            return Err(Error::Runtime(format!(
                "zero-dimensional tensor (at position {i}) cannot be concatenated"
            )));
        }
        if t.dim() != first.dim() {
            return Err(Error::Runtime(format!(
                "Tensors must have same number of dimensions: got {} and {}",
                first.dim(),
                t.dim()
            )));
        }
        for k in 0..t.dim() {
            if k != d && t.shape()[k] != first.shape()[k] {
                return Err(Error::Runtime(format!(
                    "Sizes of tensors must match except in dimension {d}. Expected size {} but got size {} for tensor number {i} in the list.",
                    first.shape()[k],
                    t.shape()[k]
                )));
            }
        }
        total += t.shape()[d];
    }
    let mut shape = first.shape().clone();
    shape[d] = total;
    let out = Tensor::uninit(&shape, dtype, first.device())?;
    let mut off = 0usize;
    let mut spans = Vec::with_capacity(tensors.len());
    for t in tensors {
        if skip(t) {
            spans.push(None);
            continue;
        }
        let len = t.shape()[d];
        let region = out.with_layout(out.layout().narrow(d, off, len));
        crate::ops::map::copy_cast(&region, t)?;
        spans.push(Some((off, len, t.dtype())));
        off += len;
    }
    let refs: Vec<&Tensor> = tensors.iter().collect();
    if needs_grad(&refs) {
        record("CatBackward0", &refs, &out, move |_, g| {
            spans
                .iter()
                .map(|s| match s {
                    None => Ok(None),
                    Some((o, l, dt)) => {
                        let piece = narrow(g, d as i64, *o as i64, *l as i64)?;
                        Ok(Some(super::copy::to_dtype(&piece, *dt)?))
                    }
                })
                .collect()
        });
    }
    Ok(out)
}

/// `stack(tensors, dim)`: all of one shape, joined along a new dim.
pub fn stack(tensors: &[Tensor], dim: i64) -> Result<Tensor> {
    let Some(first) = tensors.first() else {
        return Err(Error::Runtime(
            "stack expects a non-empty TensorList".into(),
        ));
    };
    for (i, t) in tensors.iter().enumerate() {
        if t.shape() != first.shape() {
            return Err(Error::Runtime(format!(
                "stack expects each tensor to be equal size, but got {} at entry 0 and {} at entry {i}",
                fmt_shape(first.shape()),
                fmt_shape(t.shape())
            )));
        }
    }
    let d = normalize_dim(dim, first.dim() + 1)?;
    let parts: Vec<Tensor> = tensors
        .iter()
        .map(|t| unsqueeze(t, d as i64))
        .collect::<Result<_>>()?;
    cat(&parts, d as i64)
}

fn atleast(t: &Tensor, n: usize) -> Result<Tensor> {
    match (t.dim(), n) {
        (0, 1) => reshape(t, &[1]),
        (0, 2) => reshape(t, &[1, 1]),
        (1, 2) => unsqueeze(t, 0),
        _ => Ok(t.clone()),
    }
}

pub fn atleast_1d(t: &Tensor) -> Result<Tensor> {
    atleast(t, 1)
}

pub fn atleast_2d(t: &Tensor) -> Result<Tensor> {
    atleast(t, 2)
}

/// `hstack`: along dim 0 for 1-D inputs, else dim 1.
pub fn hstack(tensors: &[Tensor]) -> Result<Tensor> {
    let ts: Vec<Tensor> = tensors.iter().map(atleast_1d).collect::<Result<_>>()?;
    let dim = if ts.first().is_some_and(|t| t.dim() == 1) {
        0
    } else {
        1
    };
    cat(&ts, dim)
}

/// `vstack`: 1-D inputs become rows.
pub fn vstack(tensors: &[Tensor]) -> Result<Tensor> {
    let ts: Vec<Tensor> = tensors.iter().map(atleast_2d).collect::<Result<_>>()?;
    cat(&ts, 0)
}

/// `split(t, size, dim)`: views of `size` along `dim` (the last may be smaller).
pub fn split(t: &Tensor, size: i64, dim: i64) -> Result<Vec<Tensor>> {
    if t.dim() == 0 {
        return Err(Error::Runtime(
            "split expects at least a 1-dimensional tensor".into(),
        ));
    }
    let d = normalize_dim(dim, t.dim())?;
    let n = t.shape()[d] as i64;
    if size < 0 || (size == 0 && n != 0) {
        return Err(Error::Runtime(format!(
            "split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
        )));
    }
    if n == 0 {
        return Ok(vec![narrow(t, d as i64, 0, 0)?]);
    }
    let mut sizes = Vec::new();
    let mut s = 0;
    while s < n {
        let len = size.min(n - s);
        sizes.push(len as usize);
        s += len;
    }
    Ok(split_views(t, d, sizes, false, "SplitBackward0"))
}

/// `t` cut along `d` into consecutive views of `sizes`, recorded as one node named
/// `name` whose backward joins the views' gradients with one `cat` (zeros for a view
/// without one). A `SliceBackward0` per view gave each view its own zero-filled
/// gradient of `t`'s size, all of them then summed: the backward of glu's halves (2
/// zero fills, 2 copies and a sum of the input's size) took 2.4x the forward, and a
/// q/k/v projection's `chunk(3)` made three. With `unbind`, every size is 1 and each
/// view drops the dim (`select`); the gradients are joined by `stack`.
fn split_views(
    t: &Tensor,
    d: usize,
    sizes: Vec<usize>,
    unbind: bool,
    name: &'static str,
) -> Vec<Tensor> {
    let mut start = 0;
    let mut views = Vec::with_capacity(sizes.len());
    for &len in &sizes {
        views.push(t.make_view(if unbind {
            t.layout().select(d, start)
        } else {
            t.layout().slice(d, start, start + len, 1)
        }));
        start += len;
    }
    if needs_grad(&[t]) && !views.is_empty() {
        let (shape, dtype, device) = (t.shape().to_vec(), t.dtype(), t.device());
        let outs: Vec<&Tensor> = views.iter().collect();
        record_multi(name, &[t], &outs, move |_, grads| {
            let mut parts = Vec::with_capacity(grads.len());
            for (g, &len) in grads.iter().zip(&sizes) {
                parts.push(match g {
                    Some(g) => g.clone(),
                    None => {
                        let mut piece = shape.clone();
                        if unbind {
                            piece.remove(d);
                        } else {
                            piece[d] = len;
                        }
                        Tensor::empty(&piece, dtype, device)?
                    }
                });
            }
            let joined = if unbind {
                stack(&parts, d as i64)?
            } else {
                cat(&parts, d as i64)?
            };
            Ok(vec![Some(joined)])
        });
    }
    views
}

/// `split(t, [sizes], dim)`.
pub fn split_with_sizes(t: &Tensor, sizes: &[i64], dim: i64) -> Result<Vec<Tensor>> {
    if t.dim() == 0 {
        return Err(Error::Runtime(
            "split expects at least a 1-dimensional tensor".into(),
        ));
    }
    let d = normalize_dim(dim, t.dim())?;
    let n = t.shape()[d] as i64;
    if sizes.iter().any(|&s| s < 0) || sizes.iter().sum::<i64>() != n {
        let parts: Vec<String> = sizes.iter().map(|s| s.to_string()).collect();
        return Err(Error::Runtime(format!(
            "split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at dimension {d}), but got split_sizes=[{}]",
            parts.join(", ")
        )));
    }
    let sizes = sizes.iter().map(|&len| len as usize).collect();
    Ok(split_views(t, d, sizes, false, "SplitWithSizesBackward0"))
}

/// `chunk(t, chunks, dim)`.
pub fn chunk(t: &Tensor, chunks: i64, dim: i64) -> Result<Vec<Tensor>> {
    if chunks <= 0 {
        return Err(Error::Runtime(format!(
            "chunk expects `chunks` to be greater than 0, got: {chunks}"
        )));
    }
    if t.dim() == 0 {
        return Err(Error::Runtime(
            "chunk expects at least a 1-dimensional tensor".into(),
        ));
    }
    let d = normalize_dim(dim, t.dim())?;
    let n = t.shape()[d] as i64;
    let size = ((n + chunks - 1) / chunks).max(if n == 0 { 0 } else { 1 });
    if n == 0 {
        let mut out = pieces(chunks)?;
        for _ in 0..chunks {
            out.push(narrow(t, d as i64, 0, 0)?);
        }
        return Ok(out);
    }
    split(t, size, dim)
}

/// A vector for `n` result tensors, or PyTorch's error when that many cannot exist.
fn pieces(n: i64) -> Result<Vec<Tensor>> {
    let mut out = Vec::new();
    out.try_reserve_exact(n as usize)
        .map_err(|_| Error::Runtime("cannot create std::vector larger than max_size()".into()))?;
    Ok(out)
}

fn tensor_split_needs_1d(t: &Tensor) -> Result<()> {
    if t.dim() == 0 {
        return Err(Error::Runtime(
            "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims"
                .into(),
        ));
    }
    Ok(())
}

/// `tensor_split(t, sections, dim)`: `sections` pieces, the first `n % sections` one
/// longer.
pub fn tensor_split_sections(t: &Tensor, sections: i64, dim: i64) -> Result<Vec<Tensor>> {
    tensor_split_needs_1d(t)?;
    if sections <= 0 {
        return Err(Error::Runtime(format!(
            "number of sections must be larger than 0, got {sections}"
        )));
    }
    let d = normalize_dim(dim, t.dim())?;
    let n = t.shape()[d] as i64;
    let (q, r) = (n / sections, n % sections);
    let mut out = pieces(sections)?;
    let mut s = 0;
    for i in 0..sections {
        let len = q + if i < r { 1 } else { 0 };
        out.push(narrow(t, d as i64, s, len)?);
        s += len;
    }
    Ok(out)
}

/// `tensor_split(t, indices, dim)`: cuts before each index (clamped).
pub fn tensor_split_indices(t: &Tensor, indices: &[i64], dim: i64) -> Result<Vec<Tensor>> {
    tensor_split_needs_1d(t)?;
    let d = normalize_dim(dim, t.dim())?;
    let n = t.shape()[d] as i64;
    let clamp = |v: i64| -> i64 { (if v < 0 { v + n } else { v }).clamp(0, n) };
    let mut out = Vec::new();
    let mut s = 0;
    for &i in indices.iter().chain(std::iter::once(&n)) {
        let e = clamp(i).max(s);
        out.push(narrow(t, d as i64, s, e - s)?);
        s = e;
    }
    Ok(out)
}

/// `unbind(t, dim)`: views with `dim` removed, recorded as one `UnbindBackward0` node (as
/// PyTorch): the input's gradient is one `stack`, where a `SelectBackward0` per view made
/// a zero-filled input-sized gradient for each (ctc_loss's loop over time steps).
pub fn unbind(t: &Tensor, dim: i64) -> Result<Vec<Tensor>> {
    if t.dim() == 0 {
        return Err(Error::Index(
            "Dimension specified as 0 but tensor has no dimensions".into(),
        ));
    }
    let d = normalize_dim(dim, t.dim())?;
    let sizes = vec![1; t.shape()[d]];
    Ok(split_views(t, d, sizes, true, "UnbindBackward0"))
}

/// Validated, deduplicated dims for flip-like ops.
fn dim_list(dims: &[i64], n: usize) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(dims.len());
    for &d in dims {
        let d = normalize_dim(d, n)?;
        if out.contains(&d) {
            return Err(Error::Runtime(format!(
                "dim {d} appears multiple times in the list of dims"
            )));
        }
        out.push(d);
    }
    Ok(out)
}

/// Copies `src` into the fresh contiguous `out`, reading dims in `flip` backwards.
fn flip_kernel<T: crate::element::Element>(
    src: &Tensor,
    out: &Tensor,
    flip: &[usize],
) -> Result<()> {
    if out.numel() == 0 || !Tensor::has_values(out, &[src])? {
        return Ok(());
    }
    // SAFETY: `out` is the op's fresh output; nothing else holds it yet. The kernel
    // only moves elements (their bits, see `dispatch_bits!`).
    let o = unsafe { out.cpu_bits_slice_mut::<T>()? };
    crate::cpu::reorder::flip(src.cpu_bits_view::<T>()?, o, flip);
    Ok(())
}

/// `flip(t, dims)`: a copy with the elements of `dims` reversed.
pub fn flip(t: &Tensor, dims: &[i64]) -> Result<Tensor> {
    let ds = dim_list(dims, t.dim())?;
    let out = Tensor::uninit(t.shape(), t.dtype(), t.device())?;
    if t.dim() == 0 {
        crate::ops::map::copy_cast(&out, t)?;
    } else {
        crate::dispatch_bits!(t.dtype(), T => flip_kernel::<T>(t, &out, &ds))?;
    }
    if needs_grad(&[t]) {
        let dims = dims.to_vec();
        record("FlipBackward0", &[t], &out, move |_, g| {
            Ok(vec![Some(flip(g, &dims)?)])
        });
    }
    Ok(out)
}

/// `roll(t, shifts, dims)`; with no dims the flattened tensor is rolled.
pub fn roll(t: &Tensor, shifts: &[i64], dims: &[i64]) -> Result<Tensor> {
    if dims.is_empty() {
        if shifts.len() != 1 {
            return Err(Error::Runtime(format!(
                "shifts and dimensions must align. shifts: {}, dims:0",
                shifts.len()
            )));
        }
        let flat = reshape(t, &[-1])?;
        let r = roll(&flat, shifts, &[0])?;
        return reshape_to(&r, t.shape());
    }
    if shifts.len() != dims.len() {
        return Err(Error::Runtime(format!(
            "shifts and dimensions must align. shifts: {}, dims:{}",
            shifts.len(),
            dims.len()
        )));
    }
    let mut cur = t.clone();
    for (&s, &d) in shifts.iter().zip(dims) {
        // IndexError for a 0-dim tensor, whose dims 0 and -1 normalize but have no size.
        let n = t.size(d)? as i64;
        let dd = normalize_dim(d, t.dim())?;
        if n == 0 {
            continue;
        }
        let s = s.rem_euclid(n);
        if s == 0 {
            continue;
        }
        let a = narrow(&cur, dd as i64, n - s, s)?;
        let b = narrow(&cur, dd as i64, 0, n - s)?;
        cur = cat(&[a, b], dd as i64)?;
    }
    if cur.same(t) {
        return super::copy::clone_contiguous(t);
    }
    Ok(cur)
}

fn tri_kernel<T: crate::element::Element>(out: &Tensor, k: i64, lower: bool) -> Result<()> {
    if !Tensor::has_values(out, &[])? {
        return Ok(());
    }
    let nd = out.dim();
    let (r, c) = (out.shape()[nd - 2], out.shape()[nd - 1]);
    // SAFETY: `out` is the op's fresh contiguous clone; nothing else holds it yet. The
    // kernel writes zero bits, every dtype's zero (see `dispatch_bits!`).
    let m = unsafe { out.cpu_bits_slice_mut::<T>()? };
    crate::cpu::reorder::zero_triangle(m, r, c, k, lower);
    Ok(())
}

fn tri(t: &Tensor, k: i64, lower: bool) -> Result<Tensor> {
    let name = if lower { "tril" } else { "triu" };
    if t.dim() < 2 {
        return Err(Error::Runtime(format!(
            "{name}: input tensor must have at least 2 dimensions"
        )));
    }
    let out = super::copy::clone_contiguous(&t.detach())?;
    if out.numel() > 0 {
        crate::dispatch_bits!(t.dtype(), T => tri_kernel::<T>(&out, k, lower))?;
    }
    if needs_grad(&[t]) {
        record(
            if lower {
                "TrilBackward0"
            } else {
                "TriuBackward0"
            },
            &[t],
            &out,
            move |_, g| Ok(vec![Some(tri(g, k, lower)?)]),
        );
    }
    Ok(out)
}

pub fn tril(t: &Tensor, diagonal: i64) -> Result<Tensor> {
    tri(t, diagonal, true)
}

pub fn triu(t: &Tensor, diagonal: i64) -> Result<Tensor> {
    tri(t, diagonal, false)
}

/// `diagonal(t, offset, dim1, dim2)`: a view, the diagonal appended as the last dim.
pub fn diagonal(t: &Tensor, offset: i64, dim1: i64, dim2: i64) -> Result<Tensor> {
    let n = t.dim();
    let (a, b) = (normalize_dim(dim1, n)?, normalize_dim(dim2, n)?);
    if a == b {
        return Err(Error::Runtime(format!(
            "diagonal dimensions cannot be identical {dim1}, {dim2}"
        )));
    }
    let layout = t.layout().diagonal(offset, a, b);
    let in_shape = t.shape().clone();
    Ok(make_view(t, layout, "DiagonalBackward0", move |_, g| {
        Ok(vec![Some(diagonal_backward(g, &in_shape, offset, a, b)?)])
    }))
}

/// Embeds `g` as the diagonal (`offset`, `d1`, `d2`) of zeros of `shape`; the adjoint
/// of `diagonal`, differentiable.
pub fn diagonal_backward(
    g: &Tensor,
    shape: &[usize],
    offset: i64,
    d1: usize,
    d2: usize,
) -> Result<Tensor> {
    let out = Tensor::empty(shape, g.dtype(), g.device())?;
    let region = out.with_layout(out.layout().diagonal(offset, d1, d2));
    if region.shape() != g.shape() {
        return Err(Error::Runtime(format!(
            "diagonal_backward: gradient of shape {} does not fit {}",
            fmt_shape(g.shape()),
            fmt_shape(region.shape())
        )));
    }
    crate::ops::map::copy_cast(&region, g)?;
    if needs_grad(&[g]) {
        record("DiagonalBackwardBackward0", &[g], &out, move |_, gg| {
            Ok(vec![Some(diagonal(gg, offset, d1 as i64, d2 as i64)?)])
        });
    }
    Ok(out)
}

/// `diag(t, diagonal)`: 1-D -> square matrix, 2-D -> the diagonal (a copy).
pub fn diag(t: &Tensor, k: i64) -> Result<Tensor> {
    match t.dim() {
        1 => {
            let n = t.shape()[0] + k.unsigned_abs() as usize;
            diagonal_backward(t, &[n, n], k, 0, 1)
        }
        2 => super::copy::clone_contiguous(&diagonal(t, k, 0, 1)?),
        d => Err(Error::Runtime(format!(
            "diag(): Supports 1D or 2D tensors. Got {d}D"
        ))),
    }
}

/// `diag_embed(t, offset, dim1, dim2)` for the default last two dims.
pub fn diag_embed(t: &Tensor, offset: i64) -> Result<Tensor> {
    let n = t.shape().last().copied().unwrap_or(1) + offset.unsigned_abs() as usize;
    let mut shape: Dims = t.shape()[..t.dim().saturating_sub(1)].into();
    shape.push(n);
    shape.push(n);
    let nd = shape.len();
    diagonal_backward(t, &shape, offset, nd - 2, nd - 1)
}

/// `movedim(source, destination)`.
pub fn movedim(t: &Tensor, src: &[i64], dst: &[i64]) -> Result<Tensor> {
    let n = t.dim();
    if src.len() != dst.len() {
        let f = |v: &[i64]| {
            let p: Vec<String> = v.iter().map(|x| x.to_string()).collect();
            format!("[{}]", p.join(", "))
        };
        return Err(Error::Runtime(format!(
            "movedim: Invalid source or destination dims: source ({} dims) should contain the same number of dims as destination ({} dims)",
            f(src),
            f(dst)
        )));
    }
    let s = dim_list(src, n)?;
    let d = dim_list(dst, n)?;
    if n == 0 {
        // A 0-dim tensor takes dims 0 and -1 (checked above) and has nothing to move.
        return permute(t, &[]);
    }
    let mut perm: Vec<i64> = vec![-1; n];
    for (&si, &di) in s.iter().zip(&d) {
        perm[di] = si as i64;
    }
    let mut rest = (0..n).filter(|i| !s.contains(i));
    for p in perm.iter_mut() {
        if *p == -1 {
            *p = rest.next().unwrap_or(0) as i64;
        }
    }
    permute(t, &perm)
}

/// `repeat(sizes)`: tiles the tensor (a copy).
pub fn repeat(t: &Tensor, reps: &[i64]) -> Result<Tensor> {
    if reps.len() < t.dim() {
        return Err(Error::Runtime(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor".into(),
        ));
    }
    if let Some(r) = reps.iter().find(|&&r| r < 0) {
        return Err(Error::Runtime(format!(
            "Trying to create tensor with negative dimension {r}: {:?}",
            reps
        )));
    }
    let lead = reps.len() - t.dim();
    let mut padded: Vec<i64> = vec![1; lead];
    padded.extend(t.shape().iter().map(|&d| d as i64));
    // [s0, s1, ...] -> [1, s0, 1, s1, ...] -> expand to [r0, s0, r1, s1] -> reshape.
    let x = reshape(t, &padded)?;
    let mut inter = Vec::new();
    let mut target = Vec::new();
    let mut fin = Vec::new();
    for (i, &s) in padded.iter().enumerate() {
        inter.push(1);
        inter.push(s);
        target.push(reps[i]);
        target.push(s);
        fin.push(reps[i] * s);
    }
    let x = reshape(&x, &inter)?;
    let x = expand(&x, &target)?;
    let x = super::copy::clone_contiguous(&x)?;
    reshape(&x, &fin)
}

/// `tile(dims)`: like repeat, missing leading reps count as 1.
pub fn tile(t: &Tensor, reps: &[i64]) -> Result<Tensor> {
    let mut r: Vec<i64> = vec![1; t.dim().saturating_sub(reps.len())];
    r.extend_from_slice(reps);
    repeat(t, &r)
}

/// `unflatten(dim, sizes)` (one size may be -1).
pub fn unflatten(t: &Tensor, dim: i64, sizes: &[i64]) -> Result<Tensor> {
    let d = normalize_dim(dim, t.dim())?;
    if t.dim() == 0 {
        // Dims 0 and -1 normalize for a 0-dim tensor, which has nothing to unflatten
        // (PyTorch's RuntimeError).
        return Err(Error::Runtime(format!(
            "unflatten got an unexpected error:\nDimension specified as {dim} but tensor has no dimensions"
        )));
    }
    let n = t.shape()[d];
    let known: i64 = sizes.iter().filter(|&&s| s != -1).product();
    let infer = sizes.iter().filter(|&&s| s == -1).count();
    let ok = if infer == 0 {
        known == n as i64
    } else {
        infer == 1 && known != 0 && (n as i64) % known == 0
    };
    if !ok || sizes.is_empty() {
        let p: Vec<String> = sizes.iter().map(|x| x.to_string()).collect();
        return Err(Error::Runtime(format!(
            "unflatten: Provided sizes [{}] don't multiply up to the size of dim {dim} ({n}) in the input tensor",
            p.join(", ")
        )));
    }
    let mut shape: Vec<i64> = t.shape()[..d].iter().map(|&x| x as i64).collect();
    shape.extend_from_slice(sizes);
    shape.extend(t.shape()[d + 1..].iter().map(|&x| x as i64));
    if t.layout().view(&infer_size(&shape, t.numel())?).is_some() {
        view(t, &shape)
    } else {
        reshape(t, &shape)
    }
}

/// `unfold(dim, size, step)`: a view with windows of `size` along `dim` as a new last
/// dim.
pub fn unfold(t: &Tensor, dim: i64, size: i64, step: i64) -> Result<Tensor> {
    let nd = t.dim();
    let d = normalize_dim(dim, nd)?;
    let n = if nd == 0 { 1 } else { t.shape()[d] } as i64;
    if size > n || size < 0 {
        return Err(Error::Runtime(format!(
            "maximum size for tensor at dimension {d} is {n} but size is {size}"
        )));
    }
    if step <= 0 {
        return Err(Error::Runtime(format!("step is {step} but must be > 0")));
    }
    let mut l = t.layout().clone();
    let st = if nd == 0 { 1 } else { l.strides[d] };
    if nd > 0 {
        l.shape[d] = ((n - size) / step + 1) as usize;
        l.strides[d] = st * step as usize;
    }
    l.shape.push(size as usize);
    l.strides.push(st);
    let (in_shape, count) = (t.shape().clone(), ((n - size) / step + 1) as usize);
    Ok(make_view(t, l, "UnfoldBackward0", move |_, g| {
        // Sum each window back: g[..., w, ..., k] -> input position w * step + k.
        let mut idx = Vec::with_capacity(count * size as usize);
        for w in 0..count as i64 {
            for k in 0..size {
                idx.push(w * step + k);
            }
        }
        let idx_t = Tensor::from_vec(idx, &[count, size as usize])?;
        let gd = if in_shape.is_empty() { 0 } else { d };
        let mut base_shape = in_shape.clone();
        if base_shape.is_empty() {
            base_shape.push(1);
        }
        // Move the window dim next to the unfolded dim: [..., count, size, ...].
        let g2 = movedim(g, &[-1], &[(gd + 1) as i64])?;
        let z = Tensor::empty(&base_shape, g.dtype(), g.device())?;
        let mut indices: Vec<Option<Tensor>> = vec![None; gd];
        indices.push(Some(idx_t));
        let r = super::index::index_put(&z, &indices, &super::binary::Rhs::Tensor(g2), true)?;
        Ok(vec![Some(reshape_to(&r, &in_shape)?)])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;

    fn ar(n: usize, shape: &[usize]) -> Tensor {
        Tensor::from_vec((0..n).map(|v| v as f64).collect::<Vec<_>>(), shape).unwrap()
    }

    #[test]
    fn cat_promotes_and_skips_empty() {
        let a = Tensor::from_vec(vec![1i32, 2], &[2]).unwrap();
        let b = ar(1, &[1]);
        let e = Tensor::zeros(&[0], DType::F32).unwrap();
        let r = cat(&[a, e, b], 0).unwrap();
        assert_eq!(r.dtype(), DType::F64);
        assert_eq!(r.to_f64_vec().unwrap(), vec![1.0, 2.0, 0.0]);
        let err = cat(&[ar(6, &[2, 3]), ar(4, &[2, 2])], 0).unwrap_err();
        assert!(err
            .to_string()
            .contains("Sizes of tensors must match except in dimension 0"));
    }

    #[test]
    fn flip_roll_tril() {
        let t = ar(6, &[2, 3]);
        assert_eq!(
            flip(&t, &[1]).unwrap().to_f64_vec().unwrap(),
            vec![2.0, 1.0, 0.0, 5.0, 4.0, 3.0]
        );
        assert_eq!(
            roll(&t, &[1], &[]).unwrap().to_f64_vec().unwrap(),
            vec![5.0, 0.0, 1.0, 2.0, 3.0, 4.0]
        );
        assert_eq!(
            tril(&t, 0).unwrap().to_f64_vec().unwrap(),
            vec![0.0, 0.0, 0.0, 3.0, 4.0, 0.0]
        );
        let d = diagonal(&ar(9, &[3, 3]), 1, 0, 1).unwrap();
        assert_eq!(d.to_f64_vec().unwrap(), vec![1.0, 5.0]);
        let r = repeat(&ar(2, &[2]), &[2, 2]).unwrap();
        assert_eq!(&r.shape()[..], &[2, 4]);
        assert_eq!(
            r.to_f64_vec().unwrap(),
            vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
        );
    }
}
