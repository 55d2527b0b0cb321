//! Pooling over two or three spatial axes: max pooling (`F.max_pool2d` /
//! `F.max_pool3d` with their indices, `F.adaptive_max_pool2d`) and the backward they
//! share (each output gradient added at its window's argmax), and average pooling
//! (`F.avg_pool2d` / `F.avg_pool3d`).
//!
//! A 2-D pool is a 3-D one of depth 1: the CPU kernels take the in-plane geometry
//! (`cpu::pool::PoolGeom`) and the depth axis (`cpu::pool::Depth`) apart, and a flat
//! depth runs the plain 2-D kernel.

use super::window::{contiguous_data, not_floating};
use crate::autograd::{needs_grad, record, SavedTensor};
use crate::cpu::avg_pool::{AvgAxis, Divisor};
use crate::cpu::pool::{Depth, PoolGeom};
use crate::dtype::DType;
use crate::element::num_like::FloatOps;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::layout::fmt_shape;
use crate::tensor::Tensor;

fn overflow() -> Error {
    Error::Runtime("max_pool: sizes overflow".into())
}

/// The channels and the `dims` spatial sizes of a `(N, C, *spatial)` or `(C, *spatial)`
/// input, checking PyTorch's rules (a zero batch is allowed, nothing else empty).
fn volumes_of(t: &Tensor, dims: usize) -> Result<(usize, Vec<usize>)> {
    let s = t.shape();
    let batch = s.len() == dims + 2;
    if !(batch || s.len() == dims + 1) || s[usize::from(batch)..].contains(&0) {
        return Err(Error::Runtime(format!(
            "Expected {}D or {}D (batch mode) tensor with optional 0 dim batch size for input, but got: {}",
            dims + 1,
            dims + 2,
            fmt_shape(s)
        )));
    }
    let rest = &s[usize::from(batch)..];
    Ok((rest[0], rest[1..].to_vec()))
}

/// Output length of a pooling axis with PyTorch's rule (ceil mode drops a last window
/// that would start in the right padding).
fn pool_out(size: usize, k: usize, s: usize, p: usize, d: usize, ceil: bool) -> Option<i64> {
    let size = size as i64;
    let (k, s, p, d) = (k as i64, s as i64, p as i64, d as i64);
    let span = size
        .checked_add(p.checked_mul(2)?)?
        .checked_sub(d.checked_mul(k - 1)?.checked_add(1)?)?;
    let num = if ceil { span.checked_add(s - 1)? } else { span };
    let mut out = num.div_euclid(s) + 1;
    if ceil && (out - 1) * s >= size + p {
        out -= 1;
    }
    Some(out)
}

/// One validated pooling axis: input length, output length and window.
#[derive(Clone, Copy)]
struct Axis {
    size: usize,
    out: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
}

impl Axis {
    /// The depth axis of a 2-D pool.
    const FLAT: Axis = Axis {
        size: 1,
        out: 1,
        kernel: 1,
        stride: 1,
        padding: 0,
        dilation: 1,
    };
}

/// The arguments of one axis each, `kT: 2 kH: 3 kW: 3` in PyTorch's messages.
fn spell(prefix: &str, v: &[i64]) -> String {
    let names: &[&str] = if v.len() == 3 {
        &["T", "H", "W"]
    } else {
        &["H", "W"]
    };
    let parts: Vec<String> = names
        .iter()
        .zip(v)
        .map(|(n, x)| format!("{prefix}{n}: {x}"))
        .collect();
    parts.join(" ")
}

/// Checks max-pooling arguments (two or three axes, one entry each) with PyTorch's
/// messages; returns the axes as depth, height, width (a 2-D pool's depth is
/// [`Axis::FLAT`]).
fn pool_plan(
    c: usize,
    sizes: &[usize],
    kernel: &[i64],
    stride: &[i64],
    padding: &[i64],
    dilation: &[i64],
    ceil_mode: bool,
) -> Result<[Axis; 3]> {
    let dims = sizes.len();
    if [kernel, stride, padding, dilation]
        .iter()
        .any(|v| v.len() != dims)
    {
        return Err(Error::Runtime(format!(
            "max_pool{dims}d: expected kernel_size, stride, padding and dilation of {dims} values each"
        )));
    }
    if stride.iter().any(|&s| s <= 0) {
        return Err(Error::Runtime("stride should not be zero".into()));
    }
    if kernel.iter().any(|&k| k <= 0) {
        return Err(Error::Runtime(format!(
            "kernel size should be greater than zero, but got {}",
            spell("k", kernel)
        )));
    }
    if dilation.iter().any(|&d| d <= 0) {
        return Err(Error::Runtime(format!(
            "dilation should be greater than zero, but got {}",
            spell("dilation", dilation)
        )));
    }
    let mut axes = [Axis::FLAT; 3];
    for a in 0..dims {
        let span = dilation[a]
            .checked_mul(kernel[a] - 1)
            .and_then(|v| v.checked_add(1))
            .ok_or_else(overflow)?;
        if padding[a] < 0 || padding[a].saturating_mul(2) > span {
            return Err(Error::Runtime(format!(
                "pad should be at most half of effective kernel size, but got pad={}, kernel_size={} and dilation={}",
                padding[a], kernel[a], dilation[a]
            )));
        }
        let (k, s, p, d) = (
            kernel[a] as usize,
            stride[a] as usize,
            padding[a] as usize,
            dilation[a] as usize,
        );
        let out = pool_out(sizes[a], k, s, p, d, ceil_mode).ok_or_else(overflow)?;
        axes[3 - dims + a] = Axis {
            size: sizes[a],
            out: out.max(0) as usize,
            kernel: k,
            stride: s,
            padding: p,
            dilation: d,
        };
    }
    let outs = &axes[3 - dims..];
    if outs.iter().any(|a| a.out == 0) {
        let show = |v: Vec<usize>| {
            let v: Vec<String> = std::iter::once(c).chain(v).map(|x| x.to_string()).collect();
            v.join("x")
        };
        return Err(Error::Runtime(format!(
            "Given input size: ({}). Calculated output size: ({}). Output size is too small",
            show(sizes.to_vec()),
            show(outs.iter().map(|a| a.out).collect())
        )));
    }
    Ok(axes)
}

/// The output shape: `t`'s leading dims, then the last `dims` axes' output lengths
/// (their product checked against overflow).
fn out_shape(t: &Tensor, axes: &[Axis; 3], dims: usize) -> Result<Vec<usize>> {
    let mut shape = t.shape()[..t.shape().len() - dims].to_vec();
    shape.extend(axes[3 - dims..].iter().map(|a| a.out));
    shape
        .iter()
        .try_fold(1usize, |n, &s| n.checked_mul(s))
        .ok_or_else(overflow)?;
    Ok(shape)
}

/// The CPU kernels' geometry: in-plane axes and the depth axis.
fn geometry(axes: &[Axis; 3]) -> (PoolGeom, Depth) {
    let [d, h, w] = axes;
    let g = PoolGeom {
        h: h.size,
        w: w.size,
        oh: h.out,
        ow: w.out,
        kernel: [h.kernel, w.kernel],
        stride: [h.stride, w.stride],
        padding: [h.padding, w.padding],
        dilation: [h.dilation, w.dilation],
    };
    let depth = Depth {
        d: d.size,
        od: d.out,
        kernel: d.kernel,
        stride: d.stride,
        padding: d.padding,
        dilation: d.dilation,
    };
    (g, depth)
}

/// `F.max_pool2d_with_indices` / `F.max_pool3d_with_indices` on a `(N, C, *spatial)`
/// or `(C, *spatial)` input, with two or three spatial axes (one entry of `kernel`,
/// `stride`, `padding`, `dilation` each): the window maxima and the flat index (into
/// each input plane or volume, int64) of each, in one pass. The gradient goes to the
/// argmax only (`max_pool_backward`, itself differentiable).
pub fn max_pool(
    t: &Tensor,
    kernel: &[i64],
    stride: &[i64],
    padding: &[i64],
    dilation: &[i64],
    ceil_mode: bool,
) -> Result<(Tensor, Tensor)> {
    let dims = kernel.len();
    if !(2..=3).contains(&dims) {
        return Err(Error::Runtime(format!(
            "max_pool: expected 2 or 3 spatial dimensions, got {dims}"
        )));
    }
    let (c, sizes) = volumes_of(t, dims)?;
    if t.dtype() == DType::Bool {
        return Err(Error::NotImplemented(format!(
            "\"max_pool{dims}d\" not implemented for 'Bool'"
        )));
    }
    let axes = pool_plan(c, &sizes, kernel, stride, padding, dilation, ceil_mode)?;
    let shape = out_shape(t, &axes, dims)?;
    // Three kernels for ten dtypes (each is three SIMD copies of a sizable body): halves
    // pool in float32 and narrower integers in int64, exactly (a maximum converts back
    // unchanged); a window without elements holds the input type's lowest value, as in
    // PyTorch.
    let compute = match t.dtype() {
        DType::F16 | DType::BF16 => DType::F32,
        DType::U8 | DType::I8 | DType::I16 | DType::I32 => DType::I64,
        other => other,
    };
    let vals = Tensor::uninit(&shape, compute, t.device())?;
    let idx = Tensor::uninit(&shape, DType::I64, t.device())?;
    if vals.numel() > 0 && Tensor::has_values(&vals, &[t])? {
        let src = super::cast_view(&contiguous_data(t)?, compute)?;
        let (g, depth) = geometry(&axes);
        let lowest = super::pointwise::int_min(t.dtype());
        fn run<T: Element>(
            src: &Tensor,
            vals: &Tensor,
            idx: &Tensor,
            (g, depth): (&PoolGeom, &Depth),
            empty: T,
        ) -> Result<()> {
            let x: &[T] = src.cpu_slice::<T>()?;
            // SAFETY: `vals` and `idx` are fresh contiguous buffers of their numel()
            // elements of T and int64, distinct, referenced by nothing else until
            // returned.
            let (vv, ii) = unsafe { (vals.cpu_slice_mut::<T>()?, idx.cpu_slice_mut::<i64>()?) };
            crate::cpu::pool::max_pool_forward(x, vv, ii, g, depth, empty);
            Ok(())
        }
        let at = (&g, &depth);
        match compute {
            DType::F32 => run(&src, &vals, &idx, at, f32::NEG_INFINITY)?,
            DType::F64 => run(&src, &vals, &idx, at, f64::NEG_INFINITY)?,
            DType::I64 => run(&src, &vals, &idx, at, lowest)?,
            other => {
                return Err(Error::Runtime(format!(
                    "max_pool: unexpected dtype {other:?}"
                )))
            }
        }
    }
    let vals = super::cast_view(&vals, t.dtype())?;
    if needs_grad(&[t]) {
        let saved = SavedTensor::input(&idx);
        let name = if dims == 3 {
            "MaxPool3DWithIndicesBackward0"
        } else {
            "MaxPool2DWithIndicesBackward0"
        };
        record(name, &[t], &vals, move |ctx, g| {
            let idx = saved.unpack(ctx)?;
            Ok(vec![Some(max_pool_backward(g, &idx, &sizes)?)])
        });
    }
    Ok((vals, idx))
}

/// `F.adaptive_max_pool2d(t, (oh, ow), return_indices=True)` on a `(N, C, H, W)` or
/// `(C, H, W)` input (`oh`, `ow` above zero: the caller's checks): the maximum of each
/// of PyTorch's bins and its flat index into the plane; the gradient goes to the
/// argmax (`max_pool_backward`).
pub fn adaptive_max_pool2d(t: &Tensor, oh: usize, ow: usize) -> Result<(Tensor, Tensor)> {
    let (_, sizes) = volumes_of(t, 2)?;
    let (h, w) = (sizes[0], sizes[1]);
    if !t.dtype().is_floating_point() {
        return Err(not_floating("adaptive_max_pool2d", t.dtype()));
    }
    if oh == 0 || ow == 0 {
        return Err(Error::Runtime(format!(
            "adaptive_max_pool2d: expected an output size above zero, got ({oh}, {ow})"
        )));
    }
    oh.checked_mul(ow).ok_or_else(overflow)?;
    let mut shape = t.shape()[..t.shape().len() - 2].to_vec();
    shape.extend([oh, ow]);
    // float16 and bfloat16 in float32 (a maximum converts back exactly).
    let compute = if t.dtype() == DType::F64 {
        DType::F64
    } else {
        DType::F32
    };
    let vals = Tensor::uninit(&shape, compute, t.device())?;
    let idx = Tensor::uninit(&shape, DType::I64, t.device())?;
    if vals.numel() > 0 && Tensor::has_values(&vals, &[t])? {
        let src = super::cast_view(&contiguous_data(t)?, compute)?;
        let g = PoolGeom {
            h,
            w,
            oh,
            ow,
            kernel: [1, 1],
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
        };
        // SAFETY: `idx` is a fresh contiguous int64 buffer of idx.numel() elements that
        // nothing else references until this function returns it.
        let ii: &mut [i64] = unsafe { idx.cpu_slice_mut::<i64>()? };
        fn run<T: Element>(
            src: &Tensor,
            vals: &Tensor,
            ii: &mut [i64],
            g: &PoolGeom,
        ) -> Result<()> {
            let x: &[T] = src.cpu_slice::<T>()?;
            // SAFETY: `vals` is a fresh contiguous buffer of vals.numel() elements of T,
            // distinct from `idx`, referenced by nothing else until returned.
            let vv: &mut [T] = unsafe { vals.cpu_slice_mut::<T>()? };
            crate::cpu::pool::adaptive_max_pool2d_forward(x, vv, ii, g);
            Ok(())
        }
        if compute == DType::F64 {
            run::<f64>(&src, &vals, ii, &g)?;
        } else {
            run::<f32>(&src, &vals, ii, &g)?;
        }
    }
    let vals = super::cast_view(&vals, t.dtype())?;
    if needs_grad(&[t]) {
        let saved = SavedTensor::input(&idx);
        record("AdaptiveMaxPool2DBackward0", &[t], &vals, move |ctx, g| {
            let idx = saved.unpack(ctx)?;
            Ok(vec![Some(max_pool_backward(g, &idx, &[h, w])?)])
        });
    }
    Ok((vals, idx))
}

/// The gradient of max pooling with respect to its input: each entry of `grad`
/// (`(N, C, *out)` or `(C, *out)`, two or three spatial axes as `sizes`) added at its
/// flat index from `indices` into a zero `(…, *sizes)` tensor. Linear in `grad`; its
/// own backward gathers.
pub fn max_pool_backward(grad: &Tensor, indices: &Tensor, sizes: &[usize]) -> Result<Tensor> {
    let s = grad.shape().clone();
    let dims = sizes.len();
    if indices.shape() != &s
        || !(2..=3).contains(&dims)
        || !(dims + 1..=dims + 2).contains(&s.len())
    {
        return Err(Error::Runtime(format!(
            "max_pool_backward: expected grad and indices of one {}-D or {}-D shape, got {} and {}",
            dims + 1,
            dims + 2,
            fmt_shape(&s),
            fmt_shape(indices.shape())
        )));
    }
    if indices.dtype() != DType::I64 {
        return Err(Error::Runtime(
            "max_pool_backward: indices must be int64".into(),
        ));
    }
    let name = if dims == 3 {
        "max_pool3d_with_indices_backward"
    } else {
        "max_pool2d_with_indices_backward"
    };
    if !grad.dtype().is_floating_point() {
        return Err(not_floating(name, grad.dtype()));
    }
    let lead = &s[..s.len() - dims];
    let l: usize = s[s.len() - dims..].iter().product();
    let plane = sizes
        .iter()
        .try_fold(1usize, |n, &v| n.checked_mul(v))
        .ok_or_else(overflow)?;
    let mut shape: Vec<usize> = lead.to_vec();
    shape.extend(sizes);
    let backward_name = if dims == 3 {
        "MaxPool3DWithIndicesBackwardBackward0"
    } else {
        "MaxPool2DWithIndicesBackwardBackward0"
    };
    if super::any_meta(&[grad, indices]) {
        return super::meta_result(backward_name, &[grad, indices], &shape, grad.dtype());
    }
    // Half types accumulate in f32 (one rounding at the end).
    let compute = match grad.dtype() {
        DType::F64 => DType::F64,
        _ => DType::F32,
    };
    let acc = Tensor::uninit(&shape, compute, grad.device())?;
    if acc.numel() > 0 {
        let go = super::cast_view(&contiguous_data(grad)?, compute)?;
        let ix = contiguous_data(indices)?;
        let iv: &[i64] = ix.cpu_slice::<i64>()?;
        macro_rules! run {
            ($T:ty) => {{
                let gv: &[$T] = go.cpu_slice::<$T>()?;
                // SAFETY: `acc` is a fresh contiguous buffer of acc.numel() elements of
                // this type that nothing else references until this function returns.
                let y: &mut [$T] = unsafe { acc.cpu_slice_mut::<$T>()? };
                crate::cpu::pool::max_pool_backward(gv, iv, y, l, plane);
            }};
        }
        if compute == DType::F64 {
            run!(f64)
        } else {
            run!(f32)
        }
    }
    let out = super::cast_view(&acc, grad.dtype())?;
    if needs_grad(&[grad]) {
        let saved = SavedTensor::input(indices);
        let gshape = s.clone();
        let lead: Vec<i64> = lead.iter().map(|&v| v as i64).collect();
        record(backward_name, &[grad], &out, move |ctx, gg| {
            let idx = saved.unpack(ctx)?;
            let mut flat = lead.clone();
            flat.push(-1);
            let src = super::shape::reshape(gg, &flat)?;
            let ii = super::shape::reshape(&idx, &flat)?;
            let picked = super::index::gather(&src, -1, &ii)?;
            let back: Vec<i64> = gshape.iter().map(|&v| v as i64).collect();
            Ok(vec![Some(super::shape::reshape(&picked, &back)?)])
        });
    }
    Ok(out)
}

/// Average-pooling arguments: the window per axis (depth first) and the divisor rule.
#[derive(Clone, Copy)]
struct AvgPlan {
    axes: [AvgAxis; 3],
    divisor: Divisor,
    dims: usize,
}

/// `F.avg_pool2d` / `F.avg_pool3d` on a floating `(N, C, *spatial)` or `(C, *spatial)`
/// input with two or three spatial axes: each window's sum (zero padding) divided by
/// its size with or without the padding (`count_include_pad`), or by
/// `divisor_override`. Halves compute in float32, rounded once.
pub fn avg_pool(
    t: &Tensor,
    kernel: &[i64],
    stride: &[i64],
    padding: &[i64],
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Option<i64>,
) -> Result<Tensor> {
    let dims = kernel.len();
    if !(2..=3).contains(&dims) {
        return Err(Error::Runtime(format!(
            "avg_pool: expected 2 or 3 spatial dimensions, got {dims}"
        )));
    }
    let (c, sizes) = volumes_of(t, dims)?;
    if !t.dtype().is_floating_point() {
        return Err(not_floating(&format!("avg_pool{dims}d"), t.dtype()));
    }
    let divisor = match divisor_override {
        Some(0) => return Err(Error::Runtime("divisor must be not zero".into())),
        Some(v) => Divisor::Fixed(v),
        None => Divisor::Window {
            include_pad: count_include_pad,
        },
    };
    let ones = vec![1; dims];
    let axes = pool_plan(c, &sizes, kernel, stride, padding, &ones, ceil_mode)?;
    let plan = AvgPlan {
        axes: axes.map(|a| AvgAxis {
            size: a.size,
            out: a.out,
            kernel: a.kernel,
            stride: a.stride,
            padding: a.padding,
        }),
        divisor,
        dims,
    };
    let shape = out_shape(t, &axes, dims)?;
    let out = avg_pool_run(t, &shape, plan, false)?;
    if needs_grad(&[t]) {
        let name = if dims == 3 {
            "AvgPool3DBackward0"
        } else {
            "AvgPool2DBackward0"
        };
        let in_shape = t.shape().clone();
        record(name, &[t], &out, move |_, g| {
            Ok(vec![Some(avg_pool_backward(g, &in_shape, plan)?)])
        });
    }
    Ok(out)
}

/// The gradient of `avg_pool` with respect to its input (of shape `in_shape`): each
/// output gradient divided by its divisor and spread over its window. Linear in
/// `grad`; its own backward is the pool itself.
fn avg_pool_backward(grad: &Tensor, in_shape: &[usize], plan: AvgPlan) -> Result<Tensor> {
    let out = avg_pool_run(grad, in_shape, plan, true)?;
    if needs_grad(&[grad]) {
        let name = if plan.dims == 3 {
            "AvgPool3DBackwardBackward0"
        } else {
            "AvgPool2DBackwardBackward0"
        };
        let out_shape = grad.shape().clone();
        record(name, &[grad], &out, move |_, gg| {
            Ok(vec![Some(avg_pool_run(gg, &out_shape, plan, false)?)])
        });
    }
    Ok(out)
}

/// The average-pooling kernel (`backward`: its adjoint) from `src` into a fresh
/// tensor of `shape`, without autograd; halves in float32.
fn avg_pool_run(src: &Tensor, shape: &[usize], plan: AvgPlan, backward: bool) -> Result<Tensor> {
    if super::any_meta(&[src]) {
        return super::meta_result("avg_pool", &[src], shape, src.dtype());
    }
    let compute = if src.dtype() == DType::F64 {
        DType::F64
    } else {
        DType::F32
    };
    let out = Tensor::uninit(shape, compute, src.device())?;
    if out.numel() > 0 {
        let x = super::cast_view(&contiguous_data(src)?, compute)?;
        fn run<T: Element + FloatOps>(
            x: &Tensor,
            out: &Tensor,
            plan: AvgPlan,
            backward: bool,
        ) -> Result<()> {
            let xs: &[T] = x.cpu_slice::<T>()?;
            // SAFETY: `out` is a fresh contiguous buffer of out.numel() elements of T
            // that nothing else references until returned.
            let ys: &mut [T] = unsafe { out.cpu_slice_mut::<T>()? };
            crate::cpu::avg_pool::avg_pool(xs, ys, plan.axes, plan.divisor, backward);
            Ok(())
        }
        if compute == DType::F64 {
            run::<f64>(&x, &out, plan, backward)?;
        } else {
            run::<f32>(&x, &out, plan, backward)?;
        }
    }
    super::cast_view(&out, src.dtype())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// First maximum in (depth, row, column) order, a later NaN replacing: PyTorch's
    /// CPU rule, over the in-bounds taps of one window.
    #[allow(clippy::too_many_arguments)]
    fn naive_argmax(
        x: &[f32],
        sizes: [usize; 3],
        out: [usize; 3],
        k: [usize; 3],
        s: [usize; 3],
        p: [usize; 3],
        d: [usize; 3],
    ) -> Vec<i64> {
        let mut got = vec![];
        for oz in 0..out[0] {
            for oy in 0..out[1] {
                for ox in 0..out[2] {
                    let mut best: Option<(f32, usize)> = None;
                    for a in 0..k[0] {
                        for b in 0..k[1] {
                            for e in 0..k[2] {
                                let pos = [(oz, a), (oy, b), (ox, e)];
                                let c: Vec<isize> = (0..3)
                                    .map(|i| {
                                        (pos[i].0 * s[i] + pos[i].1 * d[i]) as isize - p[i] as isize
                                    })
                                    .collect();
                                if (0..3).any(|i| c[i] < 0 || c[i] >= sizes[i] as isize) {
                                    continue;
                                }
                                let f = (c[0] as usize * sizes[1] + c[1] as usize) * sizes[2]
                                    + c[2] as usize;
                                let v = x[f];
                                match best {
                                    None => best = Some((v, f)),
                                    Some((b, _)) if v > b || v.is_nan() => best = Some((v, f)),
                                    _ => {}
                                }
                            }
                        }
                    }
                    got.push(best.map_or(-1, |b| b.1 as i64));
                }
            }
        }
        got
    }

    #[test]
    fn max_pool_indices_match_naive() {
        let sizes = [4, 6, 7];
        let n: usize = sizes.iter().product();
        // Few distinct values (ties everywhere) and two NaNs.
        let mut x: Vec<f32> = (0..n).map(|i| ((i * 7) % 5) as f32).collect();
        x[10] = f32::NAN;
        x[100] = f32::NAN;
        let t3 = Tensor::from_vec(x.clone(), &[1, 4, 6, 7]).unwrap();
        let t2 = Tensor::from_vec(x[..42].to_vec(), &[1, 6, 7]).unwrap();
        for ceil in [false, true] {
            for (k, s, p, d) in [
                ([2, 2, 2], [2, 2, 2], [0, 0, 0], [1, 1, 1]),
                ([3, 3, 2], [1, 2, 1], [1, 1, 1], [1, 1, 2]),
                ([2, 3, 3], [3, 3, 3], [1, 1, 0], [2, 1, 1]),
                ([1, 2, 2], [1, 1, 1], [0, 1, 0], [1, 1, 1]),
            ] {
                let (v, idx) = max_pool(&t3, &k, &s, &p, &d, ceil).unwrap();
                let u = |a: [i64; 3]| a.map(|v| v as usize);
                let out = [idx.shape()[1], idx.shape()[2], idx.shape()[3]];
                let want = naive_argmax(&x, sizes, out, u(k), u(s), u(p), u(d));
                assert_eq!(
                    idx.to_vec::<i64>().unwrap(),
                    want,
                    "{k:?} {s:?} {p:?} {d:?}"
                );
                let vals = v.to_vec::<f32>().unwrap();
                for (got, &i) in vals.iter().zip(&want) {
                    assert_eq!(got.to_bits(), x[i as usize].to_bits());
                }
                // The same window in-plane only.
                let idx2 = max_pool(&t2, &k[1..], &s[1..], &p[1..], &d[1..], ceil)
                    .unwrap()
                    .1;
                let out2 = [1, idx2.shape()[1], idx2.shape()[2]];
                let k2 = [1, k[1] as usize, k[2] as usize];
                let s2 = [1, s[1] as usize, s[2] as usize];
                let p2 = [0, p[1] as usize, p[2] as usize];
                let d2 = [1, d[1] as usize, d[2] as usize];
                let want2 = naive_argmax(&x[..42], [1, 6, 7], out2, k2, s2, p2, d2);
                assert_eq!(idx2.to_vec::<i64>().unwrap(), want2);
            }
        }
    }

    #[test]
    fn bad_arguments_error() {
        let t = Tensor::zeros(&[1, 2, 3, 3], DType::F32).unwrap();
        assert!(max_pool(&t, &[2, 2, 2], &[2, 2], &[0, 0, 0], &[1, 1, 1], false).is_err());
        assert!(max_pool(&t, &[4, 4], &[1, 1], &[0, 0], &[1, 1], false).is_err());
        assert!(max_pool(&t, &[2], &[1], &[0], &[1], false).is_err());
        assert!(max_pool(&t, &[3, 2, 2], &[1, 1, 1], &[0, 0, 0], &[1, 1, 1], false).is_err());
        let big = i64::MAX;
        assert!(max_pool(&t, &[big, 2], &[1, 1], &[0, 0], &[big, 1], false).is_err());
    }
}
