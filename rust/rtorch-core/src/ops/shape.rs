//! Views and shape ops. Views share storage with their input; backward maps the
//! gradient back to the input's shape.

use crate::autograd::{needs_grad, record};
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
    let out = t.with_layout(layout);
    if needs_grad(&[t]) {
        record(name, &[t], &out, backward);
        out.with_meta(|m| m.is_view = true);
    }
    out
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
        0 | 1 => Ok(x.clone()),
        2 => transpose(x, 0, 1),
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
    let d = normalize_dim(dim, t.dim())?;
    let size = t.shape()[d] as i64;
    let start = if start < 0 { start + size } else { start };
    if start < 0 || length < 0 || start + length > size {
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
    let out = Tensor::zeros(shape, g.dtype())?;
    let len = g.shape().get(dim).copied().unwrap_or(1);
    let end = start + len.saturating_sub(1) * step + 1;
    let region = out.with_layout(out.layout().slice(dim, start, end.min(shape[dim]), step));
    if region.shape() != g.shape() {
        return Err(Error::Runtime(format!(
            "slice_backward: gradient of shape {} does not fit {}",
            fmt_shape(g.shape()),
            fmt_shape(region.shape())
        )));
    }
    crate::cpu::elementwise::copy_cast(&region, g);
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
