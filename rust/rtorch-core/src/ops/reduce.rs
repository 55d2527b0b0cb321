//! Reductions over dims. The kernel moves reduced dims last and reduces contiguous
//! blocks; float sums are pairwise (8 lanes, then halving) so float32 sums of millions
//! of elements stay accurate and vectorise.

use super::binary_kinds::EqMask;
use super::reduce_kinds::{
    AnyAll, ArgExtreme, ArgExtremeF32, BlockArgReduce, BlockReduce, CountNonzero, Extreme,
    LogSumExp, Prod, ProdInt, Sum, SumHalf, SumInt, SumInto, Variance, VectorNorm,
};
use super::unary_kinds::{IsZero, NanToNum, NotNan};
use crate::autograd::{needs_grad, record};
use crate::cpu::reduce::{big_sum, big_sum_by};
use crate::cpu::reduce_simd as simd;
use crate::device::{Backend, Device};
use crate::dtype::{DType, Scalar};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::layout::{normalize_dim, Dims};
use crate::tensor::Tensor;

pub fn zeros_like(t: &Tensor) -> Result<Tensor> {
    Tensor::empty(t.shape(), t.dtype(), t.device())
}

/// Normalised, deduplicated reduce dims; empty `dims` means all dims.
pub fn reduce_dims(t: &Tensor, dims: &[i64]) -> Result<Vec<usize>> {
    let n = t.dim();
    if dims.is_empty() {
        return Ok((0..n).collect());
    }
    let mut out = Vec::with_capacity(dims.len());
    if n == 0 {
        for &d in dims {
            normalize_dim(d, 0)?;
        }
        return Ok(out);
    }
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
        crate::ops::map::copy_cast(&c, &permuted)?;
        c
    };
    Ok((c, outer, inner))
}

/// Reduces each contiguous block of `inner` input values to one output value by the
/// kind `k` (`blocks` from `blocks_for`, `out` this op's fresh contiguous output): the
/// block reductions' one dispatch on the device.
fn reduce_blocks<T: Element, O: Element, K: BlockReduce<T, O>>(
    blocks: &Tensor,
    out: &Tensor,
    inner: usize,
    k: K,
) -> Result<()> {
    match Backend::of(out, &[blocks])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            let src = blocks.cpu_slice::<T>()?;
            // SAFETY: `out` is the op's fresh output; nothing else holds it yet.
            let dst = unsafe { out.cpu_slice_mut::<O>()? };
            use crate::cpu::reduce::{reduce_blocks, reduce_parts};
            match K::ROWS {
                true => reduce_parts(src, dst, inner, |s, d| k.cpu_rows(s, inner, d)),
                false => reduce_blocks(src, dst, inner, |b| k.cpu(b)),
            }
            Ok(())
        }
    }
}

/// Reduces each block of `inner` values to one value and its index by the kind `k`
/// (`vals` and `idx` this op's fresh contiguous outputs): the arg reductions' one
/// dispatch on the device.
fn arg_reduce_blocks<T: Element, K: BlockArgReduce<T>>(
    blocks: &Tensor,
    vals: &Tensor,
    idx: &Tensor,
    inner: usize,
    k: K,
) -> Result<()> {
    match Backend::of(vals, &[blocks, idx])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            let src = blocks.cpu_slice::<T>()?;
            // SAFETY: `vals` and `idx` are the op's fresh outputs; nothing else holds them.
            let (dv, di) = unsafe { (vals.cpu_slice_mut::<T>()?, idx.cpu_slice_mut::<i64>()?) };
            use crate::cpu::reduce::{arg_reduce_blocks, arg_reduce_parts};
            match K::ROWS {
                true => arg_reduce_parts(src, dv, di, inner, |s, v, i| k.cpu_rows(s, inner, v, i)),
                false => arg_reduce_blocks(src, dv, di, inner, |b| k.cpu(b)),
            }
            Ok(())
        }
    }
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
    let out = Tensor::uninit(&out_shape, out_dtype, t.device())?;
    let fast = match outer_split(&src, &rdims) {
        _ if whole_sum(&src, &rdims, &out)? => true,
        Some((a, r, c)) if out_dtype == src.dtype() => outer_sum(&src, &out, a, r, c)?,
        _ => false,
    };
    if !fast {
        let (blocks, outer, inner) = blocks_for(&src.detach(), &rdims)?;
        sum_kernel(&blocks, &out, outer, inner)?;
    }
    if needs_grad(&[&src]) {
        let in_shape = src.shape().clone();
        let keep_shape = reduced_shape(&in_shape, &rdims, true);
        // PyTorch names the whole-tensor sum SumBackward0 and sum(dim) SumBackward1.
        let name = if dims.is_empty() {
            "SumBackward0"
        } else {
            "SumBackward1"
        };
        record(name, &[&src], &out, move |_, g| {
            if g.numel() == 1 && !crate::autograd::is_grad_enabled() {
                // The common loss.sum() case: broadcast the one value with a single
                // zero-stride view (no intermediate reshape, no graph to record).
                let layout = crate::layout::Layout {
                    shape: in_shape.clone(),
                    strides: smallvec::smallvec![0; in_shape.len()],
                    offset: g.offset(),
                };
                return Ok(vec![Some(g.make_view(layout))]);
            }
            let g = super::shape::reshape_to(g, &keep_shape)?;
            Ok(vec![Some(super::shape::expand_to(&g, &in_shape)?)])
        });
    }
    Ok(out)
}

/// The sum of every element of a contiguous float32/float64 CPU tensor of that dtype
/// (`loss.sum()`, `x.sum()`): `sum_kernel`'s one-block case on the tensor itself,
/// without `blocks_for`'s views. False, doing nothing, for anything else.
fn whole_sum(src: &Tensor, rdims: &[usize], out: &Tensor) -> Result<bool> {
    let whole = rdims.len() == src.dim() && src.is_contiguous() && src.device() == Device::Cpu;
    if !whole || out.dtype() != src.dtype() {
        return Ok(false);
    }
    sum_one_block(src, out)
}

/// `out` filled with the sum of the contiguous float32/float64 `x` (one block: every
/// element reduces to one value). False, doing nothing, for other dtypes.
fn sum_one_block(x: &Tensor, out: &Tensor) -> Result<bool> {
    let s = match x.dtype() {
        DType::F32 => big_sum_by(x.cpu_slice::<f32>()?, &simd::sum_f32) as f64,
        DType::F64 => big_sum_by(x.cpu_slice::<f64>()?, &simd::sum_f64),
        _ => return Ok(false),
    };
    crate::ops::map::fill(out, Scalar::Float(s))?;
    Ok(true)
}

/// The 2-norm of every element of a contiguous float32 CPU tensor, squares summed in
/// float64 over fixed chunks in parallel (`big_sum_by`: the same bits for any thread
/// count) and the root rounded once; `None` for anything else. One pass where the
/// composed `sum(|x|^2)^(1/2)` made three over temporaries (twice PyTorch's time).
pub fn norm2_whole_f32(x: &Tensor) -> Result<Option<f32>> {
    if x.dtype() != DType::F32 || !x.is_contiguous() || x.device() != Device::Cpu {
        return Ok(None);
    }
    let s = big_sum_by(x.cpu_slice::<f32>()?, &super::reduce_kinds::sum_squares_f32);
    Ok(Some(s.sqrt() as f32))
}

fn sum_kernel(blocks: &Tensor, out: &Tensor, outer: usize, inner: usize) -> Result<()> {
    if !Tensor::has_values(out, &[blocks])? {
        return Ok(());
    }
    let dt = blocks.dtype();
    match dt {
        DType::F32 | DType::F64 if outer == 1 => sum_one_block(blocks, out).map(|_| ()),
        DType::F32 if out.dtype() == DType::F32 => {
            reduce_blocks::<f32, f32, _>(blocks, out, inner, Sum)
        }
        DType::F64 if out.dtype() == DType::F64 => {
            reduce_blocks::<f64, f64, _>(blocks, out, inner, Sum)
        }
        DType::F32 => reduce_out::<f32>(blocks, out, outer, inner),
        DType::F64 => reduce_out::<f64>(blocks, out, outer, inner),
        DType::F16 => half_sum::<half::f16>(blocks, out, outer, inner),
        DType::BF16 => half_sum::<half::bf16>(blocks, out, outer, inner),
        _ => {
            crate::dispatch_all!(dt, T => {
                let po = out.dtype();
                crate::dispatch_all!(po, O => reduce_blocks::<T, O, _>(blocks, out, inner, SumInt))
            })
        }
    }
}

/// Float reduction: accumulate in `A`, write any output dtype.
/// Sums of float16/bfloat16 blocks, accumulated in float32 (`cpu::reduce::sum_half`).
fn half_sum<H: crate::cpu::elementwise::Half>(
    blocks: &Tensor,
    out: &Tensor,
    outer: usize,
    inner: usize,
) -> Result<()> {
    use crate::cpu::reduce::sum_half;
    if outer == 1 {
        let x: &[H] = blocks.cpu_slice::<H>()?;
        let s = crate::cpu::reduce::big_sum_by(x, &sum_half::<H>);
        return crate::ops::map::fill(out, Scalar::Float(s as f64));
    }
    crate::dispatch_float!(out.dtype(), O => {
        reduce_blocks::<H, O, _>(blocks, out, inner, SumHalf)
    }, _ => Err(Error::Runtime(format!("sum: cannot write into {}", out.dtype().name()))))
}

fn reduce_out<T>(blocks: &Tensor, out: &Tensor, outer: usize, inner: usize) -> Result<()>
where
    T: Element + Copy + std::ops::Add<Output = T> + Default + Send + Sync + Into<f64>,
{
    if outer == 1 {
        let x: &[T] = blocks.cpu_slice::<T>()?;
        let s: f64 = big_sum(x, &|v| v).into();
        crate::ops::map::fill(out, Scalar::Float(s))?;
        return Ok(());
    }
    crate::dispatch_float!(out.dtype(), O => {
        reduce_blocks::<T, O, _>(blocks, out, inner, SumInto)
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

// ---------------------------------------------------------------------------
// Outer reductions: `t` contiguous, viewed as [A, R, C], reducing R without a
// transposing copy (`cpu::reduce::outer_sum`).

/// `(A, R, C)` when the reduced dims are one run followed by kept dims of size > 1
/// (floating dtypes: the sums of the others widen).
fn outer_split(t: &Tensor, rdims: &[usize]) -> Option<(usize, usize, usize)> {
    if !t.dtype().is_floating_point() {
        return None;
    }
    outer_split_any(t, rdims)
}

/// `outer_split` for any dtype.
fn outer_split_any(t: &Tensor, rdims: &[usize]) -> Option<(usize, usize, usize)> {
    if !t.is_contiguous() || rdims.is_empty() {
        return None;
    }
    let (lo, hi) = (rdims[0], *rdims.last()?);
    if hi - lo + 1 != rdims.len() || hi + 1 >= t.dim() {
        return None;
    }
    let s = t.shape();
    let a: usize = s[..lo].iter().product();
    let r: usize = s[lo..=hi].iter().product();
    let c: usize = s[hi + 1..].iter().product();
    (c >= 2 && r >= 1).then_some((a, r, c))
}

/// Sums contiguous `t`, viewed as `[a, r, c]`, over `r` into `out` (`[a, c]`).
fn outer_sum_typed<T: Element, A>(
    t: &Tensor,
    out: &Tensor,
    a: usize,
    r: usize,
    c: usize,
    f: impl Fn(T) -> A + Sync,
    back: impl Fn(A) -> T + Sync,
) -> Result<()>
where
    A: Copy + std::ops::Add<Output = A> + Default + Send + Sync,
{
    match Backend::of(out, &[t])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            let src = t.cpu_slice::<T>()?;
            // SAFETY: `out` is the op's fresh output; nothing else holds it yet.
            let dst = unsafe { out.cpu_slice_mut::<T>()? };
            crate::cpu::reduce::outer_sum(src, dst, (a, r, c), f, back);
            Ok(())
        }
    }
}

/// amax/amin of contiguous `t`, viewed as `[a, r, c]`, over `r` into `out` (`[a, c]`).
fn outer_extreme<T: Element>(
    t: &Tensor,
    out: &Tensor,
    arc: (usize, usize, usize),
    want_max: bool,
) -> Result<()> {
    match Backend::of(out, &[t])? {
        Backend::Meta => Ok(()),
        Backend::Cpu => {
            let src = t.cpu_slice::<T>()?;
            // SAFETY: `out` is the op's fresh output; nothing else holds it yet.
            let dst = unsafe { out.cpu_slice_mut::<T>()? };
            crate::cpu::reduce::outer_extreme(src, dst, arc, want_max);
            Ok(())
        }
    }
}

fn outer_sum(t: &Tensor, out: &Tensor, a: usize, r: usize, c: usize) -> Result<bool> {
    let t = t.detach();
    match t.dtype() {
        DType::F32 => outer_sum_typed::<f32, f32>(&t, out, a, r, c, |v| v, |v| v),
        DType::F64 => outer_sum_typed::<f64, f64>(&t, out, a, r, c, |v| v, |v| v),
        DType::F16 => outer_sum_typed::<half::f16, f32>(
            &t,
            out,
            a,
            r,
            c,
            crate::cpu::half_convert::widen_f16,
            crate::cpu::half_convert::narrow_f16,
        ),
        DType::BF16 => outer_sum_typed::<half::bf16, f32>(
            &t,
            out,
            a,
            r,
            c,
            crate::cpu::half_convert::widen_bf16,
            crate::cpu::half_convert::narrow_bf16,
        ),
        _ => return Ok(false),
    }?;
    Ok(true)
}

// ---------------------------------------------------------------------------
// Shared helpers for the reduction / sort / scan / softmax families.

/// Product of the reduced dims' sizes.
pub(crate) fn reduced_count(shape: &[usize], rdims: &[usize]) -> usize {
    rdims.iter().map(|&d| shape[d]).product()
}

/// Reduces every block by `k` in float64; the output cast to `out_dtype`.
pub(crate) fn reduce_f64(
    t: &Tensor,
    rdims: &[usize],
    keepdim: bool,
    out_dtype: DType,
    k: impl BlockReduce<f64, f64>,
) -> Result<Tensor> {
    reduce_f64_reading(t, rdims, keepdim, out_dtype, k, Widened(k))
}

/// `reduce_f64` with `k32` for float32 blocks up to [`KEEP_WIDENED`] values: `Widened(k)`
/// (each block copied into a float64 buffer), or a kind that widens the values as it
/// reads them (`VectorNorm`'s 1- and 2-norms and `Prod`, with the same results).
fn reduce_f64_reading(
    t: &Tensor,
    rdims: &[usize],
    keepdim: bool,
    out_dtype: DType,
    k: impl BlockReduce<f64, f64>,
    k32: impl BlockReduce<f32, f64>,
) -> Result<Tensor> {
    let shape = reduced_shape(t.shape(), rdims, keepdim);
    let out = Tensor::uninit(&shape, DType::F64, t.device())?;
    let inner = reduced_count(t.shape(), rdims);
    if t.dtype() == DType::F32 && inner <= KEEP_WIDENED {
        // Widened a block at a time: a float64 copy of the whole input cost more than
        // the reduction (prod(1) of 1000x1000 took 2.3x PyTorch's time). Long blocks
        // (a whole-tensor reduction is one block) keep the parallel cast.
        let (blocks, _, inner) = blocks_for(&t.detach(), rdims)?;
        reduce_blocks::<f32, f64, _>(&blocks, &out, inner, k32)?;
    } else {
        let src = super::cast_view(&t.detach(), DType::F64)?;
        let (blocks, _, inner) = blocks_for(&src, rdims)?;
        reduce_blocks::<f64, f64, _>(&blocks, &out, inner, k)?;
    }
    super::cast_view(&out, out_dtype)
}

/// A float64 reduction of float32 blocks, each block widened into this thread's
/// buffer first (the same values the whole-input cast gave, so the same results).
#[derive(Clone, Copy)]
struct Widened<K>(K);

thread_local! {
    /// The widened block, kept between blocks and calls (at most [`KEEP_WIDENED`]
    /// values: `reduce_f64` sends no longer block).
    static WIDENED: std::cell::Cell<Vec<f64>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The longest block widened on its own (and the buffer kept between blocks).
const KEEP_WIDENED: usize = 1 << 16;

impl<K: BlockReduce<f64, f64>> BlockReduce<f32, f64> for Widened<K> {
    const NAME: &'static str = K::NAME;
    fn cpu(self, block: &[f32]) -> f64 {
        let mut buf = WIDENED.with(|c| c.take());
        buf.clear();
        buf.reserve(block.len());
        // (Exact conversions, vectorised to the widest unit.)
        super::map::at_widest_level(
            #[inline(always)]
            || buf.extend(block.iter().map(|&v| v as f64)),
        );
        let r = self.0.cpu(&buf);
        WIDENED.with(|c| c.set(buf));
        r
    }
}

/// Lanes along `dim`: `t` with `dim` moved last, contiguous, as (tensor, outer, n).
/// 0-dim inputs count as one lane of one element.
pub(crate) fn lanes(t: &Tensor, dim: usize) -> Result<(Tensor, usize, usize)> {
    let t = t.detach();
    if t.dim() == 0 {
        let c = super::copy::clone_contiguous(&t)?;
        return Ok((c, 1, 1));
    }
    blocks_for(&t, &[dim])
}

/// Puts the last dim of `out` (shaped `in_shape` without `dim`, plus a lane dim) back
/// at `dim`, contiguous. For 0-dim inputs (`in_ndim == 0`) the single lane is dropped.
pub(crate) fn unlanes(out: Tensor, dim: usize, in_ndim: usize) -> Result<Tensor> {
    if in_ndim == 0 {
        return super::shape::reshape_to(&out, &[]);
    }
    let n = out.dim();
    if dim == n - 1 {
        return Ok(out);
    }
    let perm: Vec<usize> = (0..n)
        .map(|k| match k.cmp(&dim) {
            std::cmp::Ordering::Less => k,
            std::cmp::Ordering::Equal => n - 1,
            std::cmp::Ordering::Greater => k - 1,
        })
        .collect();
    let v = out.with_layout(out.layout().permute(&perm));
    let c = Tensor::uninit(v.shape(), v.dtype(), v.device())?;
    crate::ops::map::copy_cast(&c, &v)?;
    Ok(c)
}

/// Shape of the lane tensor for `in_shape` with lanes of length `m` along `dim`.
pub(crate) fn lane_shape(in_shape: &[usize], dim: usize, m: usize) -> Dims {
    let mut s: Dims = in_shape
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != dim)
        .map(|(_, &v)| v)
        .collect();
    s.push(m);
    s
}

/// `1.0` where `a == b` (NaN equals NaN), else `0.0`, in `a`'s float dtype; `b` is
/// broadcast to `a`. No autograd.
pub(crate) fn eq_mask(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let a = a.detach();
    if !a.dtype().is_floating_point() {
        return Err(Error::Runtime("eq_mask: float tensors expected".into()));
    }
    let b = super::expand_view(&super::cast_view(&b.detach(), a.dtype())?, a.shape())?;
    let out = Tensor::uninit(a.shape(), a.dtype(), a.device())?;
    crate::ops::map::arith(&out, &a, &b, EqMask { nan_equal: true })?;
    Ok(out)
}

/// Float tensor of `x` (kept if already float, else the default dtype).
pub(crate) fn to_float(x: &Tensor) -> Result<Tensor> {
    if x.dtype().is_floating_point() {
        Ok(x.clone())
    } else {
        super::copy::to_dtype(x, crate::get_default_dtype())
    }
}

/// Zeros of `shape` with `g` added at `idx` along `dim` (`scatter_add`), differentiable
/// in `g`. A 0-dim `shape` takes its one value from a one-element `g`.
pub(crate) fn scatter_grad(
    g: &Tensor,
    dim: usize,
    idx: &Tensor,
    shape: &[usize],
) -> Result<Tensor> {
    if shape.is_empty() {
        return super::shape::reshape_to(g, &[]);
    }
    let zeros = Tensor::empty(shape, g.dtype(), g.device())?;
    super::index::scatter_add(&zeros, dim as i64, idx, g)
}

/// `g` (reduced shape, maybe without kept dims) reshaped to the keepdim shape.
pub(crate) fn keep_grad(g: &Tensor, in_shape: &[usize], rdims: &[usize]) -> Result<Tensor> {
    super::shape::reshape_to(g, &reduced_shape(in_shape, rdims, true))
}

/// Gradient of a value-selecting op along `dim`: `g` scattered back to `idx`.
pub(crate) fn select_backward(
    g: &Tensor,
    idx: &Tensor,
    dim: usize,
    keepdim: bool,
    in_shape: &[usize],
) -> Result<Tensor> {
    let (g, idx) = if keepdim || in_shape.is_empty() {
        (g.clone(), idx.clone())
    } else {
        (
            super::shape::unsqueeze(g, dim as i64)?,
            super::shape::unsqueeze(idx, dim as i64)?,
        )
    };
    scatter_grad(&g, dim, &idx, in_shape)
}

fn empty_check(name: &str, t: &Tensor, rdims: &[usize], all: bool) -> Result<()> {
    if t.numel() == 0 {
        if all {
            return Err(Error::Runtime(format!("{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.")));
        }
        for &d in rdims {
            if t.shape()[d] == 0 {
                return Err(Error::Index(format!(
                    "{name}(): Expected reduction dim {d} to have non-zero size."
                )));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// mean, prod

pub fn mean(t: &Tensor, dims: &[i64], keepdim: bool, dtype: Option<DType>) -> Result<Tensor> {
    let dt = dtype.unwrap_or(t.dtype());
    if !dt.is_floating_point() {
        let what = if dtype.is_some() { "Optional" } else { "Input" };
        return Err(Error::NotImplemented(format!(
            "mean(): could not infer output dtype. {what} dtype must be either a floating point or complex dtype. Got: {}",
            dt.scalar_type_name()
        )));
    }
    let rdims = reduce_dims(t, dims)?;
    let n = reduced_count(t.shape(), &rdims);
    let out = {
        let _no_grad = crate::autograd::GradModeGuard::new(false);
        // A 16-bit float mean is PyTorch's float32 sum divided in float32, rounded
        // once: a sum rounded to float16 first overflowed (the mean of 200,000 squares
        // near 9 was inf) and rounded twice.
        let half = matches!(dt, DType::F16 | DType::BF16);
        let sum_dtype = if half { Some(DType::F32) } else { dtype };
        let s = sum(t, dims, keepdim, sum_dtype)?;
        let m = super::binary::div_rhs(
            &s,
            &super::binary::Rhs::Scalar(Scalar::Float(n as f64)),
            super::binary::RoundingMode::True,
        )?;
        if half {
            super::copy::to_dtype(&m, dt)?
        } else {
            m
        }
    };
    if needs_grad(&[t]) {
        let (in_shape, in_dtype) = (t.shape().clone(), t.dtype());
        let keep_shape = reduced_shape(&in_shape, &rdims, true);
        let name = if dims.is_empty() {
            "MeanBackward0"
        } else {
            "MeanBackward1"
        };
        record(name, &[t], &out, move |_, g| {
            let g = super::shape::reshape_to(g, &keep_shape)?;
            let g = super::binary::div_rhs(
                &super::shape::expand_to(&g, &in_shape)?,
                &super::binary::Rhs::Scalar(Scalar::Float(n as f64)),
                super::binary::RoundingMode::True,
            )?;
            Ok(vec![Some(super::copy::to_dtype(&g, in_dtype)?)])
        });
    }
    Ok(out)
}

pub fn prod(t: &Tensor, dim: Option<i64>, keepdim: bool, dtype: Option<DType>) -> Result<Tensor> {
    let src = match dtype {
        Some(d) => super::copy::to_dtype(t, d)?,
        None => t.clone(),
    };
    let out_dtype = dtype.unwrap_or_else(|| sum_dtype(t.dtype()));
    let dims: Vec<i64> = dim.into_iter().collect();
    let rdims = reduce_dims(&src, &dims)?;
    let out = if out_dtype.is_floating_point() {
        reduce_f64_reading(&src, &rdims, keepdim, out_dtype, Prod, Prod)?
    } else {
        let s64 = super::cast_view(&src.detach(), DType::I64)?;
        let (blocks, _, inner) = blocks_for(&s64, &rdims)?;
        let out = Tensor::uninit(
            &reduced_shape(src.shape(), &rdims, keepdim),
            DType::I64,
            t.device(),
        )?;
        reduce_blocks::<i64, i64, _>(&blocks, &out, inner, ProdInt)?;
        super::cast_view(&out, out_dtype)?
    };
    if needs_grad(&[&src]) {
        let sx = crate::autograd::SavedTensor::input(&src);
        let so = crate::autograd::SavedTensor::output(&out, 0);
        let in_shape = src.shape().clone();
        record("ProdBackward0", &[&src], &out, move |ctx, g| {
            let x = sx.unpack(ctx)?;
            let g = keep_grad(g, &in_shape, &rdims)?;
            let has_zero = x.to_f64_vec()?.contains(&0.0);
            if !has_zero {
                let o = keep_grad(&so.unpack(ctx)?, &in_shape, &rdims)?;
                let r = super::binary::div(&super::binary::mul(&g, &o)?, &x)?;
                return Ok(vec![Some(r)]);
            }
            // Products of all other elements of each block (prefix * suffix).
            let others = reduce_others(&x, &rdims)?;
            Ok(vec![Some(super::binary::mul(&g, &others)?)])
        });
    }
    Ok(out)
}

/// For each element, the product of the other elements of its reduced block.
fn reduce_others(x: &Tensor, rdims: &[usize]) -> Result<Tensor> {
    let x64 = super::cast_view(&x.detach(), DType::F64)?;
    let n = x.dim();
    let mut perm: Vec<usize> = (0..n).filter(|d| !rdims.contains(d)).collect();
    perm.extend(rdims.iter().copied());
    let (blocks, outer, inner) = blocks_for(&x64, rdims)?;
    let src = blocks.to_vec::<f64>()?;
    let mut res = vec![0.0f64; src.len()];
    for o in 0..outer {
        let b = &src[o * inner..(o + 1) * inner];
        let r = &mut res[o * inner..(o + 1) * inner];
        let mut acc = 1.0;
        for i in 0..inner {
            r[i] = acc;
            acc *= b[i];
        }
        acc = 1.0;
        for i in (0..inner).rev() {
            r[i] *= acc;
            acc *= b[i];
        }
    }
    let pshape: Vec<usize> = perm.iter().map(|&d| x.shape()[d]).collect();
    let t = Tensor::from_vec(res, &pshape)?;
    let mut inv = vec![0usize; n];
    for (k, &p) in perm.iter().enumerate() {
        inv[p] = k;
    }
    let v = t.with_layout(t.layout().permute(&inv));
    super::cast_view(&super::copy::clone_contiguous(&v)?, x.dtype())
}

// ---------------------------------------------------------------------------
// max / min / amax / amin / argmax / argmin

/// `amax`/`amin` over `dims` (all when empty); ties split the gradient evenly.
pub fn amax_amin(
    t: &Tensor,
    dims: &[i64],
    keepdim: bool,
    want_max: bool,
    name: &str,
) -> Result<Tensor> {
    let rdims = reduce_dims(t, dims)?;
    empty_check(name, t, &rdims, dims.is_empty() && t.numel() == 0)?;
    let shape = reduced_shape(t.shape(), &rdims, keepdim);
    let out = Tensor::uninit(&shape, t.dtype(), t.device())?;
    if let Some(arc) = outer_split_any(t, &rdims) {
        crate::dispatch_all!(t.dtype(), T => outer_extreme::<T>(&t.detach(), &out, arc, want_max))?;
    } else {
        let (blocks, _, inner) = blocks_for(&t.detach(), &rdims)?;
        crate::dispatch_all!(t.dtype(), T => reduce_blocks::<T, T, _>(&blocks, &out, inner, Extreme { want_max }))?;
    }
    if needs_grad(&[t]) {
        let sx = crate::autograd::SavedTensor::input(t);
        let so = crate::autograd::SavedTensor::output(&out, 0);
        let in_shape = t.shape().clone();
        // Full-tensor max()/min() are their own ops in PyTorch, with these names.
        let name: &'static str = match (want_max, name) {
            (true, "max") => "MaxBackward1",
            (false, "min") => "MinBackward1",
            (true, _) => "AmaxBackward0",
            (false, _) => "AminBackward0",
        };
        record(name, &[t], &out, move |ctx, g| {
            let x = sx.unpack(ctx)?;
            let o = keep_grad(&so.unpack(ctx)?.detach(), &in_shape, &rdims)?;
            let mask = eq_mask(&x, &o)?;
            let rd: Vec<i64> = rdims.iter().map(|&d| d as i64).collect();
            let count = if rd.is_empty() && !in_shape.is_empty() {
                mask.clone()
            } else {
                sum(&mask, &rd, true, None)?
            };
            let g = keep_grad(g, &in_shape, &rdims)?;
            let r = super::binary::mul(&super::binary::div(&g, &count)?, &mask)?;
            Ok(vec![Some(r)])
        });
    }
    Ok(out)
}

/// `max(dim)`/`min(dim)`: (values, indices); gradient goes to the selected index.
pub fn max_min_dim(
    t: &Tensor,
    dim: i64,
    keepdim: bool,
    want_max: bool,
) -> Result<(Tensor, Tensor)> {
    let name = if want_max { "max" } else { "min" };
    let d = normalize_dim(dim, t.dim())?;
    let rd: Vec<usize> = if t.dim() == 0 { vec![] } else { vec![d] };
    empty_check(name, t, &rd, false)?;
    let shape = reduced_shape(t.shape(), &rd, keepdim);
    let (blocks, _, inner) = blocks_for(&t.detach(), &rd)?;
    let vals = Tensor::uninit(&shape, t.dtype(), t.device())?;
    let idx = Tensor::uninit(&shape, DType::I64, t.device())?;
    if t.dtype() == DType::F32 {
        arg_reduce_blocks::<f32, _>(&blocks, &vals, &idx, inner, ArgExtremeF32 { want_max })?;
    } else {
        crate::dispatch_all!(t.dtype(), T => {
            arg_reduce_blocks::<T, _>(&blocks, &vals, &idx, inner, ArgExtreme { want_max })
        })?;
    }
    if needs_grad(&[t]) {
        record_select(
            if want_max {
                "MaxBackward0"
            } else {
                "MinBackward0"
            },
            t,
            &vals,
            &idx,
            d,
            keepdim,
        );
    }
    Ok((vals, idx))
}

/// Records the backward of an op returning (values, indices) selected along `dim`.
pub(crate) fn record_select(
    name: &'static str,
    t: &Tensor,
    vals: &Tensor,
    idx: &Tensor,
    dim: usize,
    keepdim: bool,
) {
    let in_shape = t.shape().clone();
    let idx_c = idx.detach();
    // Only the values are differentiable; the indices stay plain integer tensors.
    record(name, &[t], vals, move |_, g| {
        Ok(vec![Some(select_backward(
            g, &idx_c, dim, keepdim, &in_shape,
        )?)])
    });
}

/// `argmax`/`argmin`; `dim=None` flattens (keepdim then keeps every dim as 1).
pub fn argmax_argmin(
    t: &Tensor,
    dim: Option<i64>,
    keepdim: bool,
    want_max: bool,
) -> Result<Tensor> {
    let name = if want_max { "argmax" } else { "argmin" };
    if t.dtype() == DType::Bool {
        return Err(Error::NotImplemented(format!(
            "{name}(): does not support bool input"
        )));
    }
    match dim {
        None => {
            if t.numel() == 0 {
                return Err(Error::Index(format!(
                    "{name}(): Expected reduction dim to be specified for input.numel() == 0."
                )));
            }
            let flat = super::shape::reshape_to(&t.detach(), &[t.numel()])?;
            let (_, i) = max_min_dim(&flat, 0, false, want_max)?;
            if keepdim {
                let ones: Vec<usize> = vec![1; t.dim()];
                super::shape::reshape_to(&i, &ones)
            } else {
                Ok(i)
            }
        }
        Some(d) => {
            let dd = normalize_dim(d, t.dim())?;
            if t.dim() > 0 && t.shape()[dd] == 0 {
                return Err(Error::Index(format!(
                    "{name}(): Expected reduction dim {dd} to have non-zero size."
                )));
            }
            Ok(max_min_dim(&t.detach(), d, keepdim, want_max)?.1)
        }
    }
}

// ---------------------------------------------------------------------------
// var / std

fn check_var_dtype(t: &Tensor) -> Result<()> {
    if !t.dtype().is_floating_point() {
        return Err(Error::NotImplemented(
            "std and var only support floating point and complex dtypes".into(),
        ));
    }
    Ok(())
}

/// `var(dims, correction, keepdim)`.
pub fn var(t: &Tensor, dims: &[i64], correction: f64, keepdim: bool) -> Result<Tensor> {
    check_var_dtype(t)?;
    let rdims = reduce_dims(t, dims)?;
    let kind = Variance {
        correction,
        sqrt: false,
    };
    let out = reduce_f64(t, &rdims, keepdim, t.dtype(), kind)?;
    if needs_grad(&[t]) {
        let sx = crate::autograd::SavedTensor::input(t);
        let in_shape = t.shape().clone();
        record("VarBackward0", &[t], &out, move |ctx, g| {
            let x = sx.unpack(ctx)?;
            let n = reduced_count(&in_shape, &rdims) as f64;
            let rd: Vec<i64> = rdims.iter().map(|&d| d as i64).collect();
            let m = mean(&x, &rd, true, None)?;
            let diff = super::binary::sub(&x, &m)?;
            let g = keep_grad(g, &in_shape, &rdims)?;
            let sc =
                super::binary::mul_scalar(&diff, Scalar::Float(2.0 / (n - correction).max(0.0)))?;
            Ok(vec![Some(super::binary::mul(&sc, &g)?)])
        });
    }
    Ok(out)
}

/// `std(dims, correction, keepdim)`.
pub fn std(t: &Tensor, dims: &[i64], correction: f64, keepdim: bool) -> Result<Tensor> {
    check_var_dtype(t)?;
    let rdims = reduce_dims(t, dims)?;
    let kind = Variance {
        correction,
        sqrt: true,
    };
    let out = reduce_f64(t, &rdims, keepdim, t.dtype(), kind)?;
    if needs_grad(&[t]) {
        let sx = crate::autograd::SavedTensor::input(t);
        let so = crate::autograd::SavedTensor::output(&out, 0);
        let in_shape = t.shape().clone();
        record("StdBackward0", &[t], &out, move |ctx, g| {
            let x = sx.unpack(ctx)?;
            let n = reduced_count(&in_shape, &rdims) as f64;
            let rd: Vec<i64> = rdims.iter().map(|&d| d as i64).collect();
            let m = mean(&x, &rd, true, None)?;
            let diff = super::binary::sub(&x, &m)?;
            let s = keep_grad(&so.unpack(ctx)?, &in_shape, &rdims)?;
            let g = keep_grad(g, &in_shape, &rdims)?;
            let q = super::binary::div(
                &g,
                &super::binary::mul_scalar(&s, Scalar::Float((n - correction).max(0.0)))?,
            )?;
            // Zero where the deviation is 0 (constant data), as PyTorch's masked_fill.
            let zero_std =
                super::compare::eq(&s.detach(), &super::binary::Rhs::Scalar(Scalar::Int(0)))?;
            let q = super::index::masked_fill(
                &q,
                &zero_std,
                &super::binary::Rhs::Scalar(Scalar::Int(0)),
            )?;
            Ok(vec![Some(super::binary::mul(&diff, &q)?)])
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// norm, logsumexp

/// Vector norm of order `p` over `dims` (all when empty).
pub fn norm(
    t: &Tensor,
    p: f64,
    dims: &[i64],
    keepdim: bool,
    dtype: Option<DType>,
) -> Result<Tensor> {
    let src = match dtype {
        Some(d) => super::copy::to_dtype(t, d)?,
        None => t.clone(),
    };
    if !src.dtype().is_floating_point() {
        return Err(Error::NotImplemented(format!(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. Got {}",
            src.dtype().scalar_type_name()
        )));
    }
    let rdims = reduce_dims(&src, dims)?;
    if p.is_infinite() || p < 0.0 {
        let all = dims.is_empty();
        if src.numel() == 0 {
            if all {
                return Err(Error::Runtime(format!("linalg.vector_norm cannot compute the {p} norm on an empty tensor because the operation does not have an identity")));
            }
            empty_check("linalg.vector_norm", &src, &rdims, false)?;
        }
    }
    let k = VectorNorm { p };
    let out = if k.reads_f32() {
        reduce_f64_reading(&src, &rdims, keepdim, src.dtype(), k, k)?
    } else {
        reduce_f64(&src, &rdims, keepdim, src.dtype(), k)?
    };
    if needs_grad(&[&src]) {
        let sx = crate::autograd::SavedTensor::input(&src);
        let so = crate::autograd::SavedTensor::output(&out, 0);
        let in_shape = src.shape().clone();
        record("LinalgVectorNormBackward0", &[&src], &out, move |ctx, g| {
            let x = sx.unpack(ctx)?;
            let o = keep_grad(&so.unpack(ctx)?, &in_shape, &rdims)?;
            let g = keep_grad(g, &in_shape, &rdims)?;
            use super::binary::{div, mul};
            let r = if p == 0.0 {
                mul(&zeros_like(&x)?, &g)?
            } else if p.is_infinite() {
                let ax = super::unary::abs(&x)?;
                let mask = eq_mask(&ax, &o.detach())?;
                let rd: Vec<i64> = rdims.iter().map(|&d| d as i64).collect();
                let count = if rd.is_empty() && !in_shape.is_empty() {
                    mask.clone()
                } else {
                    sum(&mask, &rd, true, None)?
                };
                let w = div(&mul(&mask, &super::unary::sign(&x.detach())?)?, &count)?;
                mul(&w, &g)?
            } else {
                // Zero norms give zero gradient: divide by 1 there instead.
                let zero = super::unary::mask(&o, IsZero {})?;
                if p == 1.0 {
                    mul(&super::unary::sign(&x.detach())?, &g)?
                } else if p == 2.0 {
                    let safe = super::binary::add(&o, &zero)?;
                    mul(&div(&x, &safe)?, &g)?
                } else {
                    let safe = super::binary::add(
                        &super::pointwise::pow_scalar(&o, Scalar::Float(p - 1.0))?,
                        &zero,
                    )?;
                    let num = mul(
                        &super::unary::sign(&x.detach())?,
                        &super::pointwise::pow_scalar(
                            &super::unary::abs(&x)?,
                            Scalar::Float(p - 1.0),
                        )?,
                    )?;
                    mul(&div(&num, &safe)?, &g)?
                }
            };
            Ok(vec![Some(r)])
        });
    }
    Ok(out)
}

/// `logsumexp(dims, keepdim)`, computed stably (max subtracted).
pub fn logsumexp(t: &Tensor, dims: &[i64], keepdim: bool) -> Result<Tensor> {
    let src = to_float(t)?;
    let rdims = reduce_dims(&src, dims)?;
    let out = match row_logsumexp(&src, &rdims, keepdim)? {
        Some(out) => out,
        None => reduce_f64(&src, &rdims, keepdim, src.dtype(), LogSumExp)?,
    };
    if needs_grad(&[&src]) {
        let sx = crate::autograd::SavedTensor::input(&src);
        let so = crate::autograd::SavedTensor::output(&out, 0);
        let in_shape = src.shape().clone();
        record("LogsumexpBackward0", &[&src], &out, move |ctx, g| {
            let x = sx.unpack(ctx)?;
            let o = keep_grad(&so.unpack(ctx)?, &in_shape, &rdims)?;
            let g = keep_grad(g, &in_shape, &rdims)?;
            let e = super::unary::exp(&super::binary::sub(&x, &o)?)?;
            Ok(vec![Some(super::binary::mul(&e, &g)?)])
        });
    }
    Ok(out)
}

/// `logsumexp` over one dim of a contiguous float32 CPU tensor, through the softmax
/// family's kernel (rows, or strips of columns read in place), which sums the
/// exponentials in float32 as PyTorch does: the block reduction paid some 40 ns per
/// result on short dims (`logsumexp(0)` of 3x100000 took 12x PyTorch's time). None where
/// this does not apply, or where a result is NaN: an infinite maximum, which the block
/// reduction treats as PyTorch does (a NaN input gives NaN there too).
fn row_logsumexp(src: &Tensor, rdims: &[usize], keepdim: bool) -> Result<Option<Tensor>> {
    let &[d] = rdims else { return Ok(None) };
    if src.dtype() != DType::F32 || !src.is_contiguous() || src.device() != Device::Cpu {
        return Ok(None);
    }
    let shape = src.shape();
    let out = Tensor::uninit(
        &reduced_shape(shape, rdims, keepdim),
        DType::F32,
        src.device(),
    )?;
    let dims = (
        shape[..d].iter().product(),
        shape[d],
        shape[d + 1..].iter().product(),
    );
    let x = src.cpu_slice::<f32>()?;
    // SAFETY: `out` is fresh and nothing else holds it yet.
    let o = unsafe { out.cpu_slice_mut::<f32>()? };
    crate::cpu::softmax::logsumexp(crate::cpu::math::capability(), x, o, dims);
    Ok(o.iter().all(|v| !v.is_nan()).then_some(out))
}

// ---------------------------------------------------------------------------
// any / all / count_nonzero

/// `any`/`all` over `dims`; bool result (uint8 input keeps uint8).
pub fn any_all(t: &Tensor, dims: &[i64], keepdim: bool, want_any: bool) -> Result<Tensor> {
    let rdims = reduce_dims(t, dims)?;
    let out_dtype = if t.dtype() == DType::U8 {
        DType::U8
    } else {
        DType::Bool
    };
    let shape = reduced_shape(t.shape(), &rdims, keepdim);
    let (blocks, _, inner) = blocks_for(&t.detach(), &rdims)?;
    let out = Tensor::uninit(&shape, DType::Bool, t.device())?;
    crate::dispatch_all!(t.dtype(), T => reduce_blocks::<T, bool, _>(&blocks, &out, inner, AnyAll { want_any }))?;
    super::cast_view(&out, out_dtype)
}

pub fn count_nonzero(t: &Tensor, dims: &[i64]) -> Result<Tensor> {
    let rdims = reduce_dims(t, dims)?;
    let shape = reduced_shape(t.shape(), &rdims, false);
    let (blocks, _, inner) = blocks_for(&t.detach(), &rdims)?;
    let out = Tensor::uninit(&shape, DType::I64, t.device())?;
    crate::dispatch_all!(t.dtype(), T => reduce_blocks::<T, i64, _>(&blocks, &out, inner, CountNonzero))?;
    Ok(out)
}

// ---------------------------------------------------------------------------
// nansum / nanmean

/// `x` with NaN replaced by 0; the gradient is masked the same way.
fn nan_to_zero_d(x: &Tensor) -> Result<Tensor> {
    let xd = x.detach();
    let out = Tensor::uninit(xd.shape(), xd.dtype(), xd.device())?;
    let zero_nan = NanToNum {
        nan: 0.0,
        posinf: f64::INFINITY,
        neginf: f64::NEG_INFINITY,
    };
    crate::ops::map::element(&out, &xd, zero_nan)?;
    if needs_grad(&[x]) {
        let mask = super::unary::mask(x, NotNan {})?;
        record("NanToNumBackward0", &[x], &out, move |_, g| {
            Ok(vec![Some(super::binary::mul(g, &mask)?)])
        });
    }
    Ok(out)
}

/// `nansum(dims, keepdim, dtype)`: NaNs count as zero.
pub fn nansum(t: &Tensor, dims: &[i64], keepdim: bool, dtype: Option<DType>) -> Result<Tensor> {
    if !t.dtype().is_floating_point() {
        return sum(t, dims, keepdim, dtype);
    }
    sum(&nan_to_zero_d(t)?, dims, keepdim, dtype)
}

/// `nanmean(dims, keepdim, dtype)`: the mean of the non-NaN values.
pub fn nanmean(t: &Tensor, dims: &[i64], keepdim: bool, dtype: Option<DType>) -> Result<Tensor> {
    // PyTorch asks for a floating input whatever `dtype` says.
    if !t.dtype().is_floating_point() {
        return Err(Error::NotImplemented(format!(
            "nanmean(): expected input to have floating point or complex dtype but got {}",
            t.dtype().scalar_type_name()
        )));
    }
    if let Some(d) = dtype.filter(|d| !d.is_floating_point()) {
        return Err(Error::Runtime(format!(
            "nanmean(): could not infer output dtype. Optional dtype must be either a floating point or complex dtype. Got: {}",
            d.scalar_type_name()
        )));
    }
    let s = nansum(t, dims, keepdim, dtype)?;
    let valid = super::unary::mask(t, NotNan {})?;
    let n = sum(&valid, dims, keepdim, dtype)?;
    super::binary::div(&s, &n)
}
