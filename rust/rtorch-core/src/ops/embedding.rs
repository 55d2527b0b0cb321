//! `F.embedding`: a row lookup with a deterministic weight-gradient kernel (rows added
//! in index order; the `padding_idx` row gets no gradient). The gradient op is linear in
//! the incoming gradient, and its own backward is again a lookup, so double backward
//! works.

use crate::autograd::{needs_grad, record, SavedTensor};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The flat indices as `usize`, each checked to lie in `0..num`.
fn checked_indices(indices: &Tensor, num: usize) -> Result<Vec<usize>> {
    if !matches!(indices.dtype(), DType::I64 | DType::I32) {
        return Err(Error::Runtime(format!(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got {} instead (while checking arguments for embedding)",
            indices.dtype().scalar_type_name()
        )));
    }
    let raw = indices.detach().to_vec::<i64>()?;
    raw.iter()
        .map(|&i| {
            if i < 0 || i as u64 >= num as u64 {
                Err(Error::Index("index out of range in self".into()))
            } else {
                Ok(i as usize)
            }
        })
        .collect()
}

/// `F.embedding(indices, weight, padding_idx)` (`padding_idx` already in `0..num`):
/// output `indices.shape + [dim]`.
pub fn embedding(weight: &Tensor, indices: &Tensor, padding_idx: Option<usize>) -> Result<Tensor> {
    if weight.dim() != 2 {
        return Err(Error::Runtime("'weight' must be 2-D".into()));
    }
    let (num, d) = (weight.shape()[0], weight.shape()[1]);
    let idx = checked_indices(indices, num)?;
    let mut shape: Vec<usize> = indices.shape().to_vec();
    shape.push(d);
    let out = lookup(weight, &idx, &shape)?;
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

/// Rows `idx` of `weight` as a fresh tensor of `shape` (no autograd).
fn lookup(weight: &Tensor, idx: &[usize], shape: &[usize]) -> Result<Tensor> {
    let d = weight.shape()[1];
    let w = super::copy::contiguous(&weight.detach())?;
    let out = Tensor::uninit(shape, weight.dtype(), weight.device())?;
    crate::dispatch_all!(weight.dtype(), T => {
        let wv: &[T] = w.as_slice::<T>().unwrap_or(&[]);
        // SAFETY: `out` is a fresh contiguous buffer of idx.len()*d elements of T that
        // nothing else references until this function returns it.
        let ov: &mut [T] = unsafe { std::slice::from_raw_parts_mut(out.data_ptr::<T>(), out.numel()) };
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
            let gv: &[$T] = gs.as_slice::<$T>().unwrap_or(&[]);
            // SAFETY: `acc` is a fresh contiguous buffer of num*d elements of this type
            // that nothing else references until this function returns.
            let y: &mut [$T] =
                unsafe { std::slice::from_raw_parts_mut(acc.data_ptr::<$T>(), acc.numel()) };
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
