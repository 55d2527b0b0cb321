//! Sliding-window ops over 2-D planes: `im2col` / `col2im` (PyTorch's `F.unfold` /
//! `F.fold`) and the argmax of each max-pooling window.
//!
//! `im2col` and `col2im` are adjoint linear maps, so each one's backward is the other
//! applied to the gradient (written through the ops, so double backward works).
//! Kernels work one `(n, c)` plane at a time (planes run in parallel above the grain
//! size); within a plane they copy whole output rows, computing the in-bounds range of
//! each row once instead of testing every element.

use crate::autograd::{needs_grad, record, SavedTensor};
use crate::cpu::window::{Plane, Taps};
use crate::dtype::DType;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::layout::fmt_shape;
use crate::tensor::Tensor;

/// Validated window parameters (height, width).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window2d {
    pub kernel: [usize; 2],
    pub dilation: [usize; 2],
    pub padding: [usize; 2],
    pub stride: [usize; 2],
}

impl Window2d {
    /// Checks the arguments of im2col/col2im with PyTorch's messages.
    pub fn new(
        kernel: [i64; 2],
        dilation: [i64; 2],
        padding: [i64; 2],
        stride: [i64; 2],
    ) -> Result<Window2d> {
        if kernel[0] <= 0 || kernel[1] <= 0 {
            return Err(Error::Runtime(format!(
                "kernel size should be greater than zero, but got kernel_height: {} kernel_width: {}",
                kernel[0], kernel[1]
            )));
        }
        if dilation[0] <= 0 || dilation[1] <= 0 {
            return Err(Error::Runtime(format!(
                "dilation should be greater than zero, but got dilation_height: {} dilation_width: {}",
                dilation[0], dilation[1]
            )));
        }
        if padding[0] < 0 || padding[1] < 0 {
            return Err(Error::Runtime(format!(
                "padding should be non-negative, but got pad_height: {} pad_width: {}",
                padding[0], padding[1]
            )));
        }
        if stride[0] <= 0 || stride[1] <= 0 {
            return Err(Error::Runtime(format!(
                "stride should be greater than zero, but got stride_height: {} stride_width: {}",
                stride[0], stride[1]
            )));
        }
        let u = |v: [i64; 2]| [v[0] as usize, v[1] as usize];
        Ok(Window2d {
            kernel: u(kernel),
            dilation: u(dilation),
            padding: u(padding),
            stride: u(stride),
        })
    }

    /// The extent one window covers along axis `a`: `dilation * (kernel - 1) + 1`.
    fn span(&self, a: usize) -> Option<usize> {
        self.dilation[a]
            .checked_mul(self.kernel[a] - 1)
            .and_then(|s| s.checked_add(1))
    }

    /// Number of windows along axis `a` of a plane of `size` (floor mode), or None when
    /// no window fits (or the sizes overflow).
    fn blocks(&self, a: usize, size: usize) -> Option<usize> {
        let padded = self.padding[a].checked_mul(2)?.checked_add(size)?;
        let span = self.span(a)?;
        if padded < span {
            return None;
        }
        Some((padded - span) / self.stride[a] + 1)
    }

    /// The kernels' geometry for an `h x w` plane with `oh x ow` windows.
    fn plane(&self, h: usize, w: usize, oh: usize, ow: usize) -> Plane {
        Plane {
            h,
            w,
            oh,
            ow,
            kernel: self.kernel,
            dilation: self.dilation,
            padding: self.padding,
            stride: self.stride,
        }
    }

    /// The geometry for an `h x w` plane, or PyTorch's error when no window fits.
    pub(crate) fn plane_for(&self, h: usize, w: usize) -> Result<Plane> {
        match (self.blocks(0, h), self.blocks(1, w)) {
            (Some(oh), Some(ow)) => Ok(self.plane(h, w, oh, ow)),
            _ => Err(Error::Runtime(format!(
                "Calculated padded input size per channel: ({} x {}). Kernel size: ({} x {}). Kernel size can't be greater than actual input size",
                h.saturating_add(self.padding[0].saturating_mul(2)),
                w.saturating_add(self.padding[1].saturating_mul(2)),
                self.span(0).unwrap_or(usize::MAX),
                self.span(1).unwrap_or(usize::MAX),
            ))),
        }
    }

    fn kk(&self) -> Option<usize> {
        self.kernel[0].checked_mul(self.kernel[1])
    }

    fn tuple(v: [usize; 2]) -> String {
        format!("({}, {})", v[0], v[1])
    }
}

fn overflow() -> Error {
    Error::Runtime("im2col: sizes overflow".into())
}

/// Runs `f(src_plane, dst_plane)` over matching chunks, in parallel when the work is
/// above the grain size. Chunk lengths are non-zero (callers reject empty planes).
fn for_planes<S: Sync, D: Send>(
    src: &[S],
    src_len: usize,
    dst: &mut [D],
    dst_len: usize,
    f: impl Fn(&[S], &mut [D]) + Sync,
) {
    let planes = dst.len() / dst_len;
    if planes > 1 && dst.len().max(src.len()) >= crate::cpu::GRAIN {
        crate::cpu::par_chunks_mut(dst, dst_len, &|c, d| {
            f(&src[c * src_len..(c + 1) * src_len], d)
        });
    } else {
        dst.chunks_mut(dst_len)
            .zip(src.chunks(src_len))
            .for_each(|(d, s)| f(s, d));
    }
}

/// `t` as a contiguous tensor without autograd (kernels read it as a slice).
fn contiguous_data(t: &Tensor) -> Result<Tensor> {
    super::copy::contiguous(&t.detach())
}

fn not_floating(name: &str, dtype: DType) -> Error {
    Error::NotImplemented(format!(
        "\"{name}\" not implemented for '{}'",
        dtype.scalar_type_name()
    ))
}

/// `(batch, channels, h, w)` of a 3-D or 4-D plane stack, checking PyTorch's rules.
fn planes_of(t: &Tensor) -> Result<(Option<usize>, usize, usize, usize)> {
    let s = t.shape();
    let bad = || {
        Error::Runtime(format!(
            "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got: {}",
            fmt_shape(s)
        ))
    };
    let (n, rest) = match s.len() {
        3 => (None, &s[..]),
        4 => (Some(s[0]), &s[1..]),
        _ => return Err(bad()),
    };
    if rest.contains(&0) {
        return Err(bad());
    }
    Ok((n, rest[0], rest[1], rest[2]))
}

/// `F.unfold(input, kernel_size, dilation, padding, stride)`: `(N, C, H, W)` (or
/// `(C, H, W)`) to `(N, C*kh*kw, L)` (or `(C*kh*kw, L)`), `L = OH * OW`.
pub fn im2col(t: &Tensor, win: Window2d) -> Result<Tensor> {
    let (n, c, h, w) = planes_of(t)?;
    if !t.dtype().is_floating_point() {
        return Err(not_floating("im2col_out_cpu", t.dtype()));
    }
    let (oh, ow) = match (win.blocks(0, h), win.blocks(1, w)) {
        (Some(a), Some(b)) => (a, b),
        _ => {
            // Wide integers: the arguments may be near usize::MAX here.
            let sb = |a: usize, size: usize| -> i128 {
                let padded = size as i128 + 2 * win.padding[a] as i128;
                let span = win.dilation[a] as i128 * (win.kernel[a] as i128 - 1) + 1;
                (padded - span).div_euclid(win.stride[a] as i128) + 1
            };
            return Err(Error::Runtime(format!(
                "Given input with spatial size ({h}, {w}), kernel_size={}, dilation={}, padding={}, calculated shape of the array of sliding blocks as ({}, {}), but its components must be at least one.",
                Window2d::tuple(win.kernel),
                Window2d::tuple(win.dilation),
                Window2d::tuple(win.padding),
                sb(0, h),
                sb(1, w)
            )));
        }
    };
    let kk = win.kk().ok_or_else(overflow)?;
    let rows = c.checked_mul(kk).ok_or_else(overflow)?;
    let l = oh.checked_mul(ow).ok_or_else(overflow)?;
    let shape: Vec<usize> = match n {
        Some(n) => vec![n, rows, l],
        None => vec![rows, l],
    };
    let out = Tensor::uninit(&shape, t.dtype(), t.device())?;
    let plane = win.plane(h, w, oh, ow);
    if out.numel() > 0 && Tensor::has_values(&out, &[t])? {
        let src = contiguous_data(t)?;
        crate::dispatch_float!(t.dtype(), T => {
            let x: &[T] = src.cpu_slice::<T>()?;
            // SAFETY: `out` is a fresh contiguous buffer of out.numel() elements of T
            // that nothing else references until this function returns it.
            let y: &mut [T] =
                unsafe { out.cpu_slice_mut::<T>()? };
            let taps = Taps::new(plane);
            for_planes(x, h * w, y, kk * l, |s, d| taps.im2col(s, d, l));
        }, _ => return Err(not_floating("im2col_out_cpu", t.dtype())));
    }
    if needs_grad(&[t]) {
        record("Im2ColBackward0", &[t], &out, move |_, g| {
            Ok(vec![Some(col2im(g, [h, w], win)?)])
        });
    }
    Ok(out)
}

/// `F.fold(input, output_size, kernel_size, dilation, padding, stride)`: sums
/// `(N, C*kh*kw, L)` (or `(C*kh*kw, L)`) columns into `(N, C, H, W)` (or `(C, H, W)`).
pub fn col2im(t: &Tensor, output_size: [usize; 2], win: Window2d) -> Result<Tensor> {
    let s = t.shape();
    let (n, rows, l) = match s.len() {
        2 => (None, s[0], s[1]),
        3 => (Some(s[0]), s[1], s[2]),
        _ => (None, 0, 0),
    };
    if !(2..=3).contains(&s.len()) || rows == 0 || l == 0 {
        return Err(Error::Runtime(format!(
            "Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero dimensions for input, but got: {}",
            fmt_shape(s)
        )));
    }
    if !t.dtype().is_floating_point() {
        return Err(not_floating("col2im_out_cpu", t.dtype()));
    }
    let [h, w] = output_size;
    if h == 0 || w == 0 {
        return Err(Error::Runtime(format!(
            "output_size should be greater than zero, but got output_height: {h} output_width: {w}"
        )));
    }
    let kk = win.kk().ok_or_else(overflow)?;
    if rows % kk != 0 {
        return Err(Error::Runtime(format!(
            "Expected size of input's dimension 1 to be divisible by the product of kernel_size, but got input.size(1)={rows} and kernel_size={}",
            Window2d::tuple(win.kernel)
        )));
    }
    let (oh, ow) = match (win.blocks(0, h), win.blocks(1, w)) {
        (Some(a), Some(b)) => (a, b),
        _ => {
            return Err(Error::Runtime(format!(
                "Given output_size={}, kernel_size={}, dilation={}, padding={}, stride={}, calculated shape of the array of sliding blocks is non-positive",
                Window2d::tuple(output_size),
                Window2d::tuple(win.kernel),
                Window2d::tuple(win.dilation),
                Window2d::tuple(win.padding),
                Window2d::tuple(win.stride)
            )))
        }
    };
    if oh.checked_mul(ow) != Some(l) {
        return Err(Error::Runtime(format!(
            "Given output_size={}, kernel_size={}, dilation={}, padding={}, stride={}, expected size of input's dimension 2 to match the calculated number of sliding blocks {oh} * {ow} = {}, but got input.size(2)={l}.",
            Window2d::tuple(output_size),
            Window2d::tuple(win.kernel),
            Window2d::tuple(win.dilation),
            Window2d::tuple(win.padding),
            Window2d::tuple(win.stride),
            oh.saturating_mul(ow)
        )));
    }
    let c = rows / kk;
    let hw = h.checked_mul(w).ok_or_else(overflow)?;
    let shape: Vec<usize> = match n {
        Some(n) => vec![n, c, h, w],
        None => vec![c, h, w],
    };
    let plane = win.plane(h, w, oh, ow);
    // Sums accumulate in f32 for the half types (one rounding at the end).
    let compute = match t.dtype() {
        DType::F64 => DType::F64,
        _ => DType::F32,
    };
    let acc = Tensor::uninit(&shape, compute, t.device())?;
    if acc.numel() > 0 && Tensor::has_values(&acc, &[t])? {
        let src = super::cast_view(&contiguous_data(t)?, compute)?;
        macro_rules! run {
            ($T:ty) => {{
                let x: &[$T] = src.cpu_slice::<$T>()?;
                // SAFETY: `acc` is a fresh contiguous buffer of acc.numel() elements of
                // this type that nothing else references until this function returns.
                let y: &mut [$T] = unsafe { acc.cpu_slice_mut::<$T>()? };
                let taps = Taps::new(plane);
                for_planes(x, kk * l, y, hw, |s, d| taps.col2im(s, l, d));
            }};
        }
        if compute == DType::F64 {
            run!(f64)
        } else {
            run!(f32)
        }
    }
    let out = super::cast_view(&acc, t.dtype())?;
    if needs_grad(&[t]) {
        record("Col2ImBackward0", &[t], &out, move |_, g| {
            Ok(vec![Some(im2col(g, win)?)])
        });
    }
    Ok(out)
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

/// Checks max-pooling arguments with PyTorch's messages; returns `(oh, ow)`.
// The arguments mirror max_pool2d's signature one to one; grouping them would only move
// the same list into a struct literal at the single call site.
#[allow(clippy::too_many_arguments)]
fn pool_plan(
    c: usize,
    h: usize,
    w: usize,
    kernel: [i64; 2],
    stride: [i64; 2],
    padding: [i64; 2],
    dilation: [i64; 2],
    ceil_mode: bool,
) -> Result<(Window2d, usize, usize)> {
    if stride[0] <= 0 || stride[1] <= 0 {
        return Err(Error::Runtime("stride should not be zero".into()));
    }
    if kernel[0] <= 0 || kernel[1] <= 0 {
        return Err(Error::Runtime(format!(
            "kernel size should be greater than zero, but got kH: {} kW: {}",
            kernel[0], kernel[1]
        )));
    }
    if dilation[0] <= 0 || dilation[1] <= 0 {
        return Err(Error::Runtime(format!(
            "dilation should be greater than zero, but got dilationH: {} dilationW: {}",
            dilation[0], dilation[1]
        )));
    }
    for a in 0..2 {
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
    }
    let win = Window2d::new(kernel, dilation, padding, stride)?;
    let oh = pool_out(
        h,
        win.kernel[0],
        win.stride[0],
        win.padding[0],
        win.dilation[0],
        ceil_mode,
    )
    .ok_or_else(overflow)?;
    let ow = pool_out(
        w,
        win.kernel[1],
        win.stride[1],
        win.padding[1],
        win.dilation[1],
        ceil_mode,
    )
    .ok_or_else(overflow)?;
    if oh <= 0 || ow <= 0 {
        return Err(Error::Runtime(format!(
            "Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{}x{}). Output size is too small",
            oh.max(0),
            ow.max(0)
        )));
    }
    Ok((win, oh as usize, ow as usize))
}

/// Flat indices (into each `H*W` plane, int64) of the maximum of every max-pooling
/// window of a `(N, C, H, W)` or `(C, H, W)` input; shape `(N, C, OH, OW)` / `(C, OH, OW)`.
/// No autograd (the indices of `max_pool2d`).
pub fn max_pool2d_indices(
    t: &Tensor,
    kernel: [i64; 2],
    stride: [i64; 2],
    padding: [i64; 2],
    dilation: [i64; 2],
    ceil_mode: bool,
) -> Result<Tensor> {
    Ok(max_pool2d(&t.detach(), kernel, stride, padding, dilation, ceil_mode)?.1)
}

/// The pooling geometry the CPU kernels take.
fn geom(h: usize, w: usize, oh: usize, ow: usize, win: &Window2d) -> crate::cpu::pool::PoolGeom {
    crate::cpu::pool::PoolGeom {
        h,
        w,
        oh,
        ow,
        kernel: win.kernel,
        stride: win.stride,
        padding: win.padding,
        dilation: win.dilation,
    }
}

/// `F.max_pool2d_with_indices` on a `(N, C, H, W)` or `(C, H, W)` input: the window
/// maxima and the flat index (into each `H*W` plane, int64) of each, in one pass.
/// The gradient goes to the argmax only (`max_pool2d_backward`, itself differentiable).
pub fn max_pool2d(
    t: &Tensor,
    kernel: [i64; 2],
    stride: [i64; 2],
    padding: [i64; 2],
    dilation: [i64; 2],
    ceil_mode: bool,
) -> Result<(Tensor, Tensor)> {
    let (n, c, h, w) = planes_of(t)?;
    if t.dtype() == DType::Bool {
        return Err(Error::NotImplemented(
            "\"max_pool2d\" not implemented for 'Bool'".into(),
        ));
    }
    let (win, oh, ow) = pool_plan(c, h, w, kernel, stride, padding, dilation, ceil_mode)?;
    oh.checked_mul(ow).ok_or_else(overflow)?;
    let shape: Vec<usize> = match n {
        Some(n) => vec![n, c, oh, ow],
        None => vec![c, oh, ow],
    };
    let vals = Tensor::uninit(&shape, t.dtype(), t.device())?;
    let idx = Tensor::uninit(&shape, DType::I64, t.device())?;
    if vals.numel() > 0 && Tensor::has_values(&vals, &[t])? {
        let src = contiguous_data(t)?;
        let g = geom(h, w, oh, ow, &win);
        // SAFETY: `idx` is a fresh contiguous int64 buffer of idx.numel() elements that
        // nothing else references until this function returns it.
        let ii: &mut [i64] = unsafe { idx.cpu_slice_mut::<i64>()? };
        crate::dispatch_all!(t.dtype(), T => {
            let x: &[T] = src.cpu_slice::<T>()?;
            // SAFETY: `vals` is a fresh contiguous buffer of vals.numel() elements of T,
            // distinct from `idx`, referenced by nothing else until returned.
            let vv: &mut [T] =
                unsafe { vals.cpu_slice_mut::<T>()? };
            crate::cpu::pool::max_pool2d_forward(x, vv, ii, &g, T::cast_from_f64(f64::NEG_INFINITY));
        });
    }
    if needs_grad(&[t]) {
        let saved = SavedTensor::input(&idx);
        record(
            "MaxPool2DWithIndicesBackward0",
            &[t],
            &vals,
            move |ctx, g| {
                let idx = saved.unpack(ctx)?;
                Ok(vec![Some(max_pool2d_backward(g, &idx, [h, w])?)])
            },
        );
    }
    Ok((vals, idx))
}

/// `F.adaptive_max_pool2d(t, (oh, ow), return_indices=True)` on a `(N, C, H, W)` or
/// `(C, H, W)` input (`oh`, `ow` above zero: the caller's checks): the maximum of each
/// of PyTorch's bins and its flat index into the plane; the gradient goes to the
/// argmax (`max_pool2d_backward`).
pub fn adaptive_max_pool2d(t: &Tensor, oh: usize, ow: usize) -> Result<(Tensor, Tensor)> {
    let (n, c, h, w) = planes_of(t)?;
    if !t.dtype().is_floating_point() {
        return Err(not_floating("adaptive_max_pool2d", t.dtype()));
    }
    if oh == 0 || ow == 0 {
        return Err(Error::Runtime(format!(
            "adaptive_max_pool2d: expected an output size above zero, got ({oh}, {ow})"
        )));
    }
    oh.checked_mul(ow).ok_or_else(overflow)?;
    let shape: Vec<usize> = match n {
        Some(n) => vec![n, c, oh, ow],
        None => vec![c, oh, ow],
    };
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
        let g = crate::cpu::pool::PoolGeom {
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
        fn run<T: crate::element::Element>(
            src: &Tensor,
            vals: &Tensor,
            ii: &mut [i64],
            g: &crate::cpu::pool::PoolGeom,
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
            Ok(vec![Some(max_pool2d_backward(g, &idx, [h, w])?)])
        });
    }
    Ok((vals, idx))
}

/// The gradient of `max_pool2d` with respect to its input: each entry of `grad`
/// (`(N, C, OH, OW)` or `(C, OH, OW)`) added at its plane's flat index from `indices`
/// into a zero `(…, H, W)` tensor. Linear in `grad`; its own backward gathers.
pub fn max_pool2d_backward(grad: &Tensor, indices: &Tensor, hw: [usize; 2]) -> Result<Tensor> {
    let s = grad.shape().clone();
    if indices.shape() != &s || !(3..=4).contains(&s.len()) {
        return Err(Error::Runtime(format!(
            "max_pool2d_backward: expected grad and indices of one 3-D or 4-D shape, got {} and {}",
            fmt_shape(&s),
            fmt_shape(indices.shape())
        )));
    }
    if indices.dtype() != DType::I64 {
        return Err(Error::Runtime(
            "max_pool2d_backward: indices must be int64".into(),
        ));
    }
    if !grad.dtype().is_floating_point() {
        return Err(not_floating(
            "max_pool2d_with_indices_backward",
            grad.dtype(),
        ));
    }
    let [h, w] = hw;
    let lead = &s[..s.len() - 2];
    let l = s[s.len() - 2] * s[s.len() - 1];
    let plane = h.checked_mul(w).ok_or_else(overflow)?;
    let mut shape: Vec<usize> = lead.to_vec();
    shape.extend([h, w]);
    if super::any_meta(&[grad, indices]) {
        return super::meta_result(
            "MaxPool2DWithIndicesBackwardBackward0",
            &[grad, indices],
            &shape,
            grad.dtype(),
        );
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
                crate::cpu::pool::max_pool2d_backward(gv, iv, y, l, plane);
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
        record(
            "MaxPool2DWithIndicesBackwardBackward0",
            &[grad],
            &out,
            move |ctx, gg| {
                let idx = saved.unpack(ctx)?;
                let mut flat: Vec<i64> = lead_dims(&gshape);
                flat.push(-1);
                let src = super::shape::reshape(gg, &flat)?;
                let ii = super::shape::reshape(&idx, &flat)?;
                let picked = super::index::gather(&src, -1, &ii)?;
                let back: Vec<i64> = gshape.iter().map(|&v| v as i64).collect();
                Ok(vec![Some(super::shape::reshape(&picked, &back)?)])
            },
        );
    }
    Ok(out)
}

fn lead_dims(s: &[usize]) -> Vec<i64> {
    s[..s.len() - 2].iter().map(|&v| v as i64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Naive im2col: one element at a time with explicit bounds tests.
    fn naive_im2col(x: &[f64], c: usize, h: usize, w: usize, win: Window2d) -> Vec<f64> {
        let oh = win.blocks(0, h).unwrap();
        let ow = win.blocks(1, w).unwrap();
        let [kh, kw] = win.kernel;
        let mut out = vec![0.0; c * kh * kw * oh * ow];
        for ch in 0..c {
            for i in 0..kh {
                for j in 0..kw {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let y = (oy * win.stride[0] + i * win.dilation[0]) as isize
                                - win.padding[0] as isize;
                            let xx = (ox * win.stride[1] + j * win.dilation[1]) as isize
                                - win.padding[1] as isize;
                            let r = (ch * kh + i) * kw + j;
                            if y >= 0 && (y as usize) < h && xx >= 0 && (xx as usize) < w {
                                out[r * oh * ow + oy * ow + ox] =
                                    x[ch * h * w + y as usize * w + xx as usize];
                            }
                        }
                    }
                }
            }
        }
        out
    }

    fn wins() -> Vec<Window2d> {
        let mut v = vec![];
        for k in [[1, 1], [2, 3], [3, 3]] {
            for d in [[1, 1], [2, 1]] {
                for p in [[0, 0], [1, 2]] {
                    for s in [[1, 1], [2, 3]] {
                        v.push(Window2d::new(k, d, p, s).unwrap());
                    }
                }
            }
        }
        v
    }

    #[test]
    fn im2col_matches_naive_and_col2im_is_adjoint() {
        let (c, h, w) = (3, 7, 9);
        let x: Vec<f64> = (0..c * h * w).map(|i| (i as f64 * 0.37).sin()).collect();
        let t = Tensor::from_vec(x.clone(), &[1, c, h, w]).unwrap();
        for win in wins() {
            let got = im2col(&t, win).unwrap().to_vec::<f64>().unwrap();
            let want = naive_im2col(&x, c, h, w, win);
            assert_eq!(got, want, "{win:?}");
            // <im2col(x), y> == <x, col2im(y)> for any y.
            let cols: Vec<f64> = (0..want.len()).map(|i| (i as f64 * 0.11).cos()).collect();
            let shape = [
                1,
                want.len() / (win.blocks(0, h).unwrap() * win.blocks(1, w).unwrap()),
            ];
            let l = want.len() / shape[1];
            let ct = Tensor::from_vec(cols.clone(), &[1, shape[1], l]).unwrap();
            let back = col2im(&ct, [h, w], win).unwrap().to_vec::<f64>().unwrap();
            let lhs: f64 = want.iter().zip(&cols).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.iter().zip(&back).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-9, "{win:?}: {lhs} vs {rhs}");
        }
    }

    #[test]
    fn max_pool_indices_match_naive() {
        let (h, w) = (6, 7);
        let mut x: Vec<f32> = (0..h * w).map(|i| ((i * 7) % 5) as f32).collect();
        x[10] = f32::NAN;
        let t = Tensor::from_vec(x.clone(), &[1, h, w]).unwrap();
        for ceil in [false, true] {
            for (k, s, p, d) in [
                ([2, 2], [2, 2], [0, 0], [1, 1]),
                ([3, 2], [2, 1], [1, 1], [1, 2]),
                ([3, 3], [3, 3], [1, 0], [1, 1]),
            ] {
                let idx = max_pool2d_indices(&t, k, s, p, d, ceil).unwrap();
                let got = idx.to_vec::<i64>().unwrap();
                let oh = idx.shape()[1];
                let ow = idx.shape()[2];
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut best: Option<(f32, usize)> = None;
                        for i in 0..k[0] as usize {
                            for j in 0..k[1] as usize {
                                let y = (oy * s[0] as usize + i * d[0] as usize) as isize
                                    - p[0] as isize;
                                let xx = (ox * s[1] as usize + j * d[1] as usize) as isize
                                    - p[1] as isize;
                                if y < 0 || y >= h as isize || xx < 0 || xx >= w as isize {
                                    continue;
                                }
                                let f = y as usize * w + xx as usize;
                                let v = x[f];
                                match best {
                                    None => best = Some((v, f)),
                                    Some((b, _)) if v > b || v.is_nan() => best = Some((v, f)),
                                    _ => {}
                                }
                            }
                        }
                        assert_eq!(got[oy * ow + ox], best.unwrap().1 as i64);
                    }
                }
            }
        }
    }

    #[test]
    fn bad_shapes_error() {
        let t = Tensor::zeros(&[1, 2, 3], DType::F32).unwrap();
        let win = Window2d::new([4, 4], [1, 1], [0, 0], [1, 1]).unwrap();
        assert!(im2col(&t, win).is_err());
        assert!(Window2d::new([0, 1], [1, 1], [0, 0], [1, 1]).is_err());
        let cols = Tensor::zeros(&[5, 4], DType::F32).unwrap();
        let win = Window2d::new([2, 2], [1, 1], [0, 0], [1, 1]).unwrap();
        assert!(col2im(&cols, [3, 3], win).is_err());
    }
}
