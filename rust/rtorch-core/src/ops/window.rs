//! Sliding-window ops over 2-D planes: `im2col` / `col2im` (PyTorch's `F.unfold` /
//! `F.fold`). Max pooling is `ops::pool`.
//!
//! `im2col` and `col2im` are adjoint linear maps, so each one's backward is the other
//! applied to the gradient (written through the ops, so double backward works).
//! Kernels work one `(n, c)` plane at a time (planes run in parallel above the grain
//! size); within a plane they copy whole output rows, computing the in-bounds range of
//! each row once instead of testing every element.

use crate::autograd::{needs_grad, record};
use crate::cpu::window::{Plane, Taps};
use crate::dtype::DType;
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
/// (`f` is a trait object: one copy of this loop per element type, not per caller.)
fn for_planes<S: Sync, D: Send>(
    src: &[S],
    src_len: usize,
    dst: &mut [D],
    dst_len: usize,
    f: &(dyn Fn(&[S], &mut [D]) + Sync),
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
pub(super) fn contiguous_data(t: &Tensor) -> Result<Tensor> {
    super::copy::contiguous(&t.detach())
}

pub(super) fn not_floating(name: &str, dtype: DType) -> Error {
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
            for_planes(x, h * w, y, kk * l, &|s, d| taps.im2col(s, d, l));
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
                for_planes(x, kk * l, y, hw, &|s, d| taps.col2im(s, l, d));
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
