//! Reductions over dims. The kernel moves reduced dims last and reduces contiguous
//! blocks; float sums are pairwise (8 lanes, then halving) so float32 sums of millions
//! of elements stay accurate and vectorise.

use crate::autograd::{needs_grad, record};
use crate::cpu::SendPtr;
use crate::dtype::{DType, Scalar};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::layout::{normalize_dim, Dims};
use crate::tensor::Tensor;
use rayon::prelude::*;

pub fn zeros_like(t: &Tensor) -> Result<Tensor> {
    Tensor::zeros(t.shape(), t.dtype())
}

/// Normalised, deduplicated reduce dims; empty `dims` means all dims.
pub fn reduce_dims(t: &Tensor, dims: &[i64]) -> Result<Vec<usize>> {
    let n = t.dim();
    if dims.is_empty() {
        return Ok((0..n).collect());
    }
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
    out.sort_unstable();
    Ok(out)
}

/// Output shape of a reduction.
pub fn reduced_shape(shape: &[usize], dims: &[usize], keepdim: bool) -> Dims {
    let mut out = Dims::new();
    for (i, &s) in shape.iter().enumerate() {
        if dims.contains(&i) {
            if keepdim {
                out.push(1);
            }
        } else {
            out.push(s);
        }
    }
    out
}

/// `t` with kept dims first and reduced dims last, made contiguous: each output
/// element then owns a contiguous block of `inner` values.
pub fn blocks_for(t: &Tensor, dims: &[usize]) -> Result<(Tensor, usize, usize)> {
    let n = t.dim();
    let mut perm: Vec<usize> = (0..n).filter(|d| !dims.contains(d)).collect();
    perm.extend(dims.iter().copied());
    let inner: usize = dims.iter().map(|&d| t.shape()[d]).product();
    let outer: usize = perm[..n - dims.len()]
        .iter()
        .map(|&d| t.shape()[d])
        .product();
    let permuted = t.with_layout(t.layout().permute(&perm));
    let c = if permuted.is_contiguous() {
        permuted
    } else {
        let c = Tensor::uninit(permuted.shape(), t.dtype(), t.device())?;
        crate::cpu::elementwise::copy_cast(&c, &permuted);
        c
    };
    Ok((c, outer, inner))
}

/// Pairwise sum of `x` mapped through `f` into an accumulator type.
#[inline]
pub fn pairwise_sum<T: Copy, A>(x: &[T], f: &impl Fn(T) -> A) -> A
where
    A: Copy + std::ops::Add<Output = A> + Default,
{
    const BLOCK: usize = 128;
    if x.len() <= BLOCK {
        let mut lanes = [A::default(); 8];
        let chunks = x.chunks_exact(8);
        let rest = chunks.remainder();
        for c in chunks {
            for k in 0..8 {
                lanes[k] = lanes[k] + f(c[k]);
            }
        }
        let mut s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
            + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
        for &v in rest {
            s = s + f(v);
        }
        return s;
    }
    let half = (x.len() / 2).next_multiple_of(8);
    pairwise_sum(&x[..half], f) + pairwise_sum(&x[half..], f)
}

/// Reduces each contiguous block of `inner` input values to one output value.
fn reduce_blocks<T: Element, O: Element>(
    input: &Tensor,
    out: &Tensor,
    outer: usize,
    inner: usize,
    f: impl Fn(&[T]) -> O + Sync,
) {
    let src: &[T] = input.as_slice::<T>().unwrap_or(&[]);
    let po = SendPtr(out.data_ptr::<O>());
    let run = |o: usize| {
        let v = f(&src[o * inner..(o + 1) * inner]);
        // SAFETY: o < outer = out.numel(); out is fresh and contiguous.
        unsafe { *po.get().add(o) = v };
    };
    if outer * inner >= crate::cpu::GRAIN && outer > 1 {
        crate::cpu::install(|| (0..outer).into_par_iter().for_each(run));
    } else {
        (0..outer).for_each(run);
    }
}

/// Sum of a slice, split across threads when large (for whole-tensor sums).
fn big_sum<T: Copy + Sync, A>(x: &[T], f: &(impl Fn(T) -> A + Sync)) -> A
where
    A: Copy + std::ops::Add<Output = A> + Default + Send,
{
    const CHUNK: usize = 1 << 16;
    if x.len() <= CHUNK {
        return pairwise_sum(x, f);
    }
    let parts: Vec<A> =
        crate::cpu::install(|| x.par_chunks(CHUNK).map(|c| pairwise_sum(c, f)).collect());
    pairwise_sum(&parts, &|v| v)
}

/// The dtype `sum` returns: integers and bool widen to int64.
pub fn sum_dtype(t: DType) -> DType {
    if t.is_floating_point() {
        t
    } else {
        DType::I64
    }
}

/// `sum(dims, keepdim, dtype)`.
pub fn sum(t: &Tensor, dims: &[i64], keepdim: bool, dtype: Option<DType>) -> Result<Tensor> {
    let src = match dtype {
        Some(d) => super::copy::to_dtype(t, d)?,
        None => t.clone(),
    };
    let out_dtype = dtype.unwrap_or_else(|| sum_dtype(t.dtype()));
    let rdims = reduce_dims(&src, dims)?;
    let out_shape = reduced_shape(src.shape(), &rdims, keepdim);
    let (blocks, outer, inner) = blocks_for(&src.detach(), &rdims)?;
    let out = Tensor::uninit(&out_shape, out_dtype, t.device())?;
    sum_kernel(&blocks, &out, outer, inner)?;
    if needs_grad(&[&src]) {
        let in_shape = src.shape().clone();
        let keep_shape = reduced_shape(&in_shape, &rdims, true);
        record("SumBackward1", &[&src], &out, move |_, g| {
            let g = super::shape::reshape_to(g, &keep_shape)?;
            Ok(vec![Some(super::shape::expand_to(&g, &in_shape)?)])
        });
    }
    Ok(out)
}

fn sum_kernel(blocks: &Tensor, out: &Tensor, outer: usize, inner: usize) -> Result<()> {
    let dt = blocks.dtype();
    match dt {
        DType::F32 => reduce_out::<f32, f32>(blocks, out, outer, inner, |v| v),
        DType::F64 => reduce_out::<f64, f64>(blocks, out, outer, inner, |v| v),
        DType::F16 => reduce_out::<half::f16, f32>(blocks, out, outer, inner, |v| v.to_f32()),
        DType::BF16 => reduce_out::<half::bf16, f32>(blocks, out, outer, inner, |v| v.to_f32()),
        _ => {
            crate::dispatch_all!(dt, T => {
                let po = out.dtype();
                crate::dispatch_all!(po, O => {
                    reduce_blocks::<T, O>(blocks, out, outer, inner, |x| {
                        let s = x.iter().fold(0i64, |acc, &v| acc.wrapping_add(v.to_i64()));
                        O::from_i64(s)
                    })
                })
            });
            Ok(())
        }
    }
}

/// Float reduction: accumulate in `A`, write any output dtype.
fn reduce_out<T, A>(
    blocks: &Tensor,
    out: &Tensor,
    outer: usize,
    inner: usize,
    to_acc: impl Fn(T) -> A + Sync,
) -> Result<()>
where
    T: Element,
    A: Copy + std::ops::Add<Output = A> + Default + Send + Sync + Into<f64>,
{
    if outer == 1 {
        let x: &[T] = blocks.as_slice::<T>().unwrap_or(&[]);
        let s: f64 = big_sum(x, &to_acc).into();
        crate::cpu::elementwise::fill(out, Scalar::Float(s));
        return Ok(());
    }
    crate::dispatch_float!(out.dtype(), O => {
        reduce_blocks::<T, O>(blocks, out, outer, inner, |x| O::from_f64(pairwise_sum(x, &to_acc).into()));
        Ok(())
    }, _ => Err(Error::Runtime(format!("sum: cannot write into {}", out.dtype().name()))))
}

/// Sums `g` down to `shape` (the adjoint of broadcasting).
pub fn sum_to(g: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if g.shape().as_slice() == shape {
        return Ok(g.clone());
    }
    let lead = g.dim() - shape.len().min(g.dim());
    let mut dims: Vec<i64> = (0..lead as i64).collect();
    for (i, &s) in shape.iter().enumerate() {
        if s == 1 && g.shape()[lead + i] != 1 {
            dims.push((lead + i) as i64);
        }
    }
    let r = if dims.is_empty() {
        g.clone()
    } else {
        sum(g, &dims, true, None)?
    };
    super::shape::reshape_to(&r, shape)
}
