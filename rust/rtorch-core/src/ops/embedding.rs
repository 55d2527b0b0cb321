//! `F.embedding`: a row lookup with a deterministic weight-gradient kernel (rows added
//! in index order; the `padding_idx` row gets no gradient). The gradient op is linear in
//! the incoming gradient, and its own backward is again a lookup, so double backward
//! works.

use crate::autograd::{needs_grad, record, SavedTensor};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The flat indices as `usize`, each checked to lie in `0..num`.
fn check_index_dtype(indices: &Tensor) -> Result<()> {
    if !matches!(indices.dtype(), DType::I64 | DType::I32) {
        return Err(Error::Runtime(format!(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got {} instead (while checking arguments for embedding)",
            indices.dtype().scalar_type_name()
        )));
    }
    Ok(())
}

/// The values of an int32/int64 index tensor, each checked to lie in `0..num`.
pub(super) fn checked_indices(indices: &Tensor, num: usize) -> Result<Vec<usize>> {
    check_index_dtype(indices)?;
    let raw = indices.detach().to_vec::<i64>()?;
    // A check without an exit per element, and a conversion in place: both vectorise
    // (the fused map-and-collect ran at a third of the row copies' speed).
    let n = num as u64;
    if !raw.iter().fold(true, |ok, &i| ok & ((i as u64) < n)) {
        return Err(Error::Index("index out of range in self".into()));
    }
    Ok(raw.into_iter().map(|i| i as usize).collect())
}

/// `F.embedding(indices, weight, padding_idx)` (`padding_idx` already in `0..num`):
/// output `indices.shape + [dim]`.
pub fn embedding(weight: &Tensor, indices: &Tensor, padding_idx: Option<usize>) -> Result<Tensor> {
    if weight.dim() != 2 {
        return Err(Error::Runtime("'weight' must be 2-D".into()));
    }
    let (num, d) = (weight.shape()[0], weight.shape()[1]);
    let mut shape: Vec<usize> = indices.shape().to_vec();
    shape.push(d);
    if super::any_meta(&[weight, indices]) {
        // Index values are unknown on meta, so only their dtype is checked.
        check_index_dtype(indices)?;
        let w_meta = super::meta_result("EmbeddingBackward0", &[weight], &shape, weight.dtype())?;
        Tensor::has_values(&w_meta, &[indices])?;
        return Ok(w_meta);
    }
    let idx = checked_indices(indices, num)?;
    let out = lookup(weight, d, &idx, &shape)?;
    if needs_grad(&[weight]) {
        let saved = SavedTensor::input(indices);
        record("EmbeddingBackward0", &[weight], &out, move |ctx, g| {
            // The saved indices guard against in-place changes; the checked copy is used.
            saved.unpack(ctx)?;
            Ok(vec![Some(embedding_backward(g, &idx, num, padding_idx)?)])
        });
    }
    Ok(out)
}

/// Rows `idx` of `weight` (rows of `d` elements in row-major order) as a fresh tensor
/// of `shape` (no autograd); also `index_select` over a leading dimension.
pub(super) fn lookup(weight: &Tensor, d: usize, idx: &[usize], shape: &[usize]) -> Result<Tensor> {
    let w = super::copy::contiguous(&weight.detach())?;
    let out = Tensor::uninit(shape, weight.dtype(), weight.device())?;
    // Moves only: one kernel per element size (see `dispatch_bits!`).
    crate::dispatch_bits!(weight.dtype(), T => {
        let wv: &[T] = w.cpu_bits_slice::<T>()?;
        // SAFETY: `out` is a fresh contiguous buffer of idx.len()*d elements that
        // nothing else references until this function returns it.
        let ov: &mut [T] = unsafe { out.cpu_bits_slice_mut::<T>()? };
        crate::cpu::embedding::lookup(wv, d, idx, ov);
    });
    Ok(out)
}

/// The weight gradient of `embedding`: `(num, dim)` with `g`'s rows added at their
/// indices, the `padding_idx` row left zero. Half types accumulate in f32.
pub fn embedding_backward(
    g: &Tensor,
    idx: &[usize],
    num: usize,
    padding_idx: Option<usize>,
) -> Result<Tensor> {
    let d = g.shape().last().copied().unwrap_or(0);
    if g.numel() != idx.len().saturating_mul(d) {
        return Err(Error::Runtime(
            "embedding_backward: gradient and indices do not match".into(),
        ));
    }
    let compute = if g.dtype() == DType::F64 {
        DType::F64
    } else {
        DType::F32
    };
    let gs = super::cast_view(&super::copy::contiguous(&g.detach())?, compute)?;
    let acc = Tensor::uninit(&[num, d], compute, g.device())?;
    macro_rules! run {
        ($T:ty) => {{
            let gv: &[$T] = gs.cpu_slice::<$T>()?;
            // SAFETY: `acc` is a fresh contiguous buffer of num*d elements of this type
            // that nothing else references until this function returns.
            let y: &mut [$T] = unsafe { acc.cpu_slice_mut::<$T>()? };
            crate::cpu::embedding::accumulate_rows(gv, idx, d, padding_idx, y);
        }};
    }
    if compute == DType::F64 {
        run!(f64)
    } else {
        run!(f32)
    }
    let out = super::cast_view(&acc, g.dtype())?;
    if needs_grad(&[g]) {
        let idx = idx.to_vec();
        let gshape = g.shape().to_vec();
        record("EmbeddingBackwardBackward0", &[g], &out, move |_, gg| {
            // Adjoint: each gradient row reads its index's row (zero for padding).
            let lead = &gshape[..gshape.len().saturating_sub(1)];
            let it = Tensor::from_vec(idx.iter().map(|&i| i as i64).collect(), lead)?;
            let picked = embedding(gg, &it, None)?;
            let picked = match padding_idx {
                Some(p) => {
                    let mask: Vec<f64> = idx.iter().map(|&i| f64::from(u8::from(i != p))).collect();
                    let mut ms = gshape.clone();
                    if let Some(last) = ms.last_mut() {
                        *last = 1;
                    }
                    let m = super::copy::to_dtype(&Tensor::from_vec(mask, &ms)?, gg.dtype())?;
                    super::binary::mul(&picked, &m)?
                }
                None => picked,
            };
            Ok(vec![Some(picked)])
        });
    }
    Ok(out)
}

/// PyTorch's CPU message for an index or offset outside its range in embedding_bag.
const BAG_INDEX_MSG: &str = "Expected i < index_size to be true, but got false.  (Could this error message be improved?  If so, please report an enhancement request to PyTorch.)";

/// The bag boundaries of a 1-D `input` of `n` entries split by `offsets` (PyTorch's
/// checks and messages): `bounds[b]..bounds[b + 1]` is bag `b`.
fn bag_bounds(offsets: &Tensor, n: usize, include_last_offset: bool) -> Result<Vec<usize>> {
    if offsets.dim() != 1 {
        return Err(Error::Value("offsets has to be a 1D Tensor".into()));
    }
    if !matches!(offsets.dtype(), DType::I64 | DType::I32) {
        return Err(Error::Runtime(format!(
            "Expected tensor for argument #1 'offsets' to have one of the following scalar types: Long, Int; but got torch.{} instead (while checking arguments for embedding_bag)",
            offsets.dtype().legacy_name()
        )));
    }
    let raw = offsets.detach().to_vec::<i64>()?;
    if include_last_offset && raw.is_empty() {
        return Err(Error::Runtime(
            "include_last_offset: number of offset should be at least 1".into(),
        ));
    }
    if let Some(&first) = raw.first() {
        if first != 0 {
            return Err(Error::Runtime(format!(
                "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from position 0. However, got {first}"
            )));
        }
    }
    if let Some(&last) = raw.last() {
        if last < 0 || last as u64 > n as u64 {
            return Err(Error::Runtime(format!(
                "offsets[-1] can not be greater than input's length {n} but got offsets[-1] of {last}"
            )));
        }
    }
    let mut bounds: Vec<usize> = Vec::with_capacity(raw.len() + 1);
    for &o in &raw {
        // Non-decreasing and within the input (the last was checked above).
        let prev = bounds.last().copied().unwrap_or(0);
        if o < 0 || o as u64 > n as u64 || (o as u64) < prev as u64 {
            return Err(Error::Runtime(BAG_INDEX_MSG.into()));
        }
        bounds.push(o as usize);
    }
    if !include_last_offset {
        bounds.push(n);
    }
    Ok(bounds)
}

/// `F.embedding_bag` on a float32/float64 `weight` `(num, dim)`: `indices` 1-D with
/// `offsets`, or 2-D `(bags, length)` without; `mode` 0 sum, 1 mean, 2 max;
/// `per_sample_weights` (sum only) of `indices`' shape; entries equal to `padding_idx`
/// (already in `0..num`) are left out. Returns `(bags, dim)`; an empty bag gives zeros.
pub fn embedding_bag(
    weight: &Tensor,
    indices: &Tensor,
    offsets: Option<&Tensor>,
    mode: i64,
    per_sample_weights: Option<&Tensor>,
    include_last_offset: bool,
    padding_idx: Option<usize>,
) -> Result<Tensor> {
    use crate::cpu::embedding as k;
    if weight.dim() != 2 {
        return Err(Error::Runtime("'weight' must be 2-D".into()));
    }
    if !matches!(weight.dtype(), DType::F32 | DType::F64) {
        return Err(Error::Runtime(format!(
            "embedding_bag: the kernel runs on float32 and float64 weights, got {}",
            weight.dtype().scalar_type_name()
        )));
    }
    let mode = match mode {
        0 => k::BAG_SUM,
        1 => k::BAG_MEAN,
        2 => k::BAG_MAX,
        _ => {
            return Err(Error::Value(
                "mode has to be one of sum, mean or max".into(),
            ))
        }
    };
    let (num, d) = (weight.shape()[0], weight.shape()[1]);
    if !matches!(indices.dtype(), DType::I64 | DType::I32) {
        return Err(Error::Runtime(format!(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got torch.{} instead (while checking arguments for embedding_bag)",
            indices.dtype().legacy_name()
        )));
    }
    let n = indices.numel();
    let bounds = match (indices.dim(), offsets) {
        (1, Some(off)) => bag_bounds(off, n, include_last_offset)?,
        (2, None) => {
            let (b, l) = (indices.shape()[0], indices.shape()[1]);
            if l == 0 {
                // PyTorch builds the offsets with arange(0, n, length).
                return Err(Error::Runtime("step must be nonzero".into()));
            }
            (0..=b).map(|i| i * l).collect()
        }
        (1, None) => {
            return Err(Error::Value(
                "offsets has to be a 1D Tensor but got None".into(),
            ))
        }
        (2, Some(_)) => {
            return Err(Error::Value(
                "if input is 2D, then offsets has to be None, as input is treated is a mini-batch of fixed length sequences.".into(),
            ))
        }
        (nd, _) => {
            return Err(Error::Value(format!(
                "input has to be 1D or 2D Tensor, but got Tensor of dimension {nd}"
            )))
        }
    };
    let raw = indices.detach().to_vec::<i64>()?;
    let idx: Vec<usize> = raw
        .iter()
        .map(|&i| {
            if i < 0 || i as u64 >= num as u64 {
                Err(Error::Runtime(BAG_INDEX_MSG.into()))
            } else {
                Ok(i as usize)
            }
        })
        .collect::<Result<_>>()?;
    if let Some(p) = per_sample_weights {
        if mode != k::BAG_SUM {
            return Err(Error::NotImplemented(
                "embedding_bag: per_sample_weights was not None. per_sample_weights is only supported for mode='sum'. Please open a feature request on GitHub.".into(),
            ));
        }
        if p.shape() != indices.shape() {
            return Err(Error::Value(format!(
                "embedding_bag: If per_sample_weights ({}) is not None, then it must have the same shape as the input ({})",
                crate::layout::fmt_shape(p.shape()),
                crate::layout::fmt_shape(indices.shape())
            )));
        }
        if p.dtype() != weight.dtype() {
            return Err(Error::Runtime(format!(
                "Expected tensor for argument #1 'weight' to have the same type as tensor for argument #1 'per_sample_weights'; but type torch.{} does not equal torch.{} (while checking arguments for embedding_bag)",
                weight.dtype().legacy_name(),
                p.dtype().legacy_name()
            )));
        }
    }
    if let Some(p) = padding_idx {
        if p >= num {
            return Err(Error::Runtime(format!(
                "padding_idx must be within the number of embeddings, got {p}"
            )));
        }
    }
    let nb = bounds.len().saturating_sub(1);
    let out_numel = nb
        .checked_mul(d)
        .ok_or_else(|| Error::Runtime("embedding_bag: output too large".into()))?;
    let ws = super::copy::contiguous(&weight.detach())?;
    let ps = per_sample_weights
        .map(|p| super::copy::contiguous(&p.detach()))
        .transpose()?;
    let out = Tensor::uninit(&[nb, d], weight.dtype(), weight.device())?;
    let mut arg = vec![0usize; if mode == k::BAG_MAX { out_numel } else { 0 }];
    macro_rules! bags {
        ($T:ty) => {
            k::Bags::<$T> {
                w: ws.cpu_slice::<$T>()?,
                d,
                idx: &idx,
                bounds: &bounds,
                psw: match &ps {
                    Some(p) => Some(p.cpu_slice::<$T>()?),
                    None => None,
                },
                pad: padding_idx,
                mode,
            }
        };
    }
    if weight.dtype() == DType::F64 {
        // SAFETY: `out` is fresh, contiguous, of f64 with nb*d elements, only written here.
        let ov: &mut [f64] = unsafe { out.cpu_slice_mut::<f64>()? };
        bags!(f64).forward(ov, &mut arg);
    } else {
        // SAFETY: as above, for f32.
        let ov: &mut [f32] = unsafe { out.cpu_slice_mut::<f32>()? };
        bags!(f32).forward(ov, &mut arg);
    }
    let mut inputs: Vec<&Tensor> = vec![weight];
    inputs.extend(per_sample_weights);
    if needs_grad(&inputs) {
        let saved_idx = SavedTensor::input(indices);
        let saved_w = SavedTensor::input(weight);
        let saved_p = per_sample_weights.map(SavedTensor::input);
        let w_req = weight.requires_grad();
        let p_req = per_sample_weights.is_some_and(|p| p.requires_grad());
        let has_p = per_sample_weights.is_some();
        let (wdt, pshape) = (weight.dtype(), indices.shape().to_vec());
        record("EmbeddingBagBackward0", &inputs, &out, move |ctx, g| {
            saved_idx.unpack(ctx)?;
            if crate::autograd::is_grad_enabled() {
                return Err(Error::Runtime(
                    "embedding_bag: double backward (create_graph=True) is not supported by rtorch's embedding_bag kernel".into(),
                ));
            }
            let w = super::copy::contiguous(&saved_w.unpack(ctx)?.detach())?;
            let p = saved_p
                .as_ref()
                .map(|s| {
                    s.unpack(ctx)
                        .and_then(|t| super::copy::contiguous(&t.detach()))
                })
                .transpose()?;
            let gs = super::copy::contiguous(&super::copy::to_dtype(&g.detach(), wdt)?)?;
            let gw = if w_req {
                Some(Tensor::uninit(&[num, d], wdt, w.device())?)
            } else {
                None
            };
            let gp = if p_req {
                Some(Tensor::uninit(&pshape, wdt, w.device())?)
            } else {
                None
            };
            macro_rules! back {
                ($T:ty) => {{
                    let b = k::Bags::<$T> {
                        w: w.cpu_slice::<$T>()?,
                        d,
                        idx: &idx,
                        bounds: &bounds,
                        psw: match &p {
                            Some(p) => Some(p.cpu_slice::<$T>()?),
                            None => None,
                        },
                        pad: padding_idx,
                        mode,
                    };
                    let gv = gs.cpu_slice::<$T>()?;
                    if let Some(gw) = &gw {
                        // SAFETY: `gw` is fresh, contiguous, of this type, num*d elements,
                        // written only here.
                        let o = unsafe { gw.cpu_slice_mut::<$T>()? };
                        b.backward_weight(gv, &arg, o);
                    }
                    if let Some(gp) = &gp {
                        // SAFETY: as above, for the fresh per-sample-weight gradient.
                        let o = unsafe { gp.cpu_slice_mut::<$T>()? };
                        b.backward_psw(gv, o);
                    }
                }};
            }
            if wdt == DType::F64 {
                back!(f64)
            } else {
                back!(f32)
            }
            let mut grads = vec![gw];
            if has_p {
                grads.push(gp);
            }
            Ok(grads)
        });
    }
    Ok(out)
}
