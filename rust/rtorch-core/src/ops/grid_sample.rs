//! `F.grid_sample` on 4-D CPU tensors (bilinear and nearest modes, zeros, border and
//! reflection padding), with the gradients for the input and the grid. Float32 and
//! float64 compute in their own type, the half types in float32. As in PyTorch, the
//! gradient is not itself differentiable.

use crate::autograd::{is_grad_enabled, needs_grad, record, SavedTensor};
use crate::cpu::grid_sample::{
    backward_grid, backward_input, forward as kernel, taps, GridFloat, Padding, Setup, Taps,
};
use crate::device::Device;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

fn setup(mode: &str, padding_mode: &str, align_corners: bool) -> Result<Setup> {
    let nearest = match mode {
        "bilinear" => false,
        "nearest" => true,
        _ => {
            return Err(Error::Value(format!(
                "grid_sample: mode '{mode}' runs in Python or is unknown (bilinear or nearest here)"
            )))
        }
    };
    let padding = match padding_mode {
        "zeros" => Padding::Zeros,
        "border" => Padding::Border,
        "reflection" => Padding::Reflection,
        _ => {
            return Err(Error::Value(format!(
                "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', \
                 or 'reflection', but got: '{padding_mode}'"
            )))
        }
    };
    Ok(Setup {
        nearest,
        padding,
        align_corners,
    })
}

fn check(x: &Tensor, grid: &Tensor) -> Result<()> {
    let (xs, gs) = (x.shape(), grid.shape());
    if x.dim() != 4 || grid.dim() != 4 || gs[3] != 2 || gs[0] != xs[0] {
        return Err(Error::Runtime(format!(
            "grid_sampler(): expected 4-D input and grid with size 2 in its last dimension and \
             the same batch size as input, but got grid with sizes {gs:?} and input with \
             sizes {xs:?}"
        )));
    }
    if x.dtype() != grid.dtype() || !x.dtype().is_floating_point() {
        return Err(Error::Runtime(format!(
            "grid_sampler(): expected input and grid to have the same floating point dtype, \
             but input has {} and grid has {}",
            x.dtype().scalar_type_name(),
            grid.dtype().scalar_type_name()
        )));
    }
    if xs[2]
        .checked_mul(xs[3])
        .is_none_or(|hw| hw >= u32::MAX as usize)
    {
        return Err(Error::Runtime(format!(
            "grid_sample: input planes of {} x {} values are too large",
            xs[2], xs[3]
        )));
    }
    if xs[2] == 0 || xs[3] == 0 {
        return Err(Error::Runtime(format!(
            "grid_sampler(): expected input to have non-empty spatial dimensions, but input \
             has sizes {xs:?} with dimension 2 being empty"
        )));
    }
    if x.device() != Device::Cpu || grid.device() != Device::Cpu {
        return Err(Error::Runtime(
            "grid_sample: the native kernel runs on CPU tensors".into(),
        ));
    }
    Ok(())
}

/// `input` `(N, C, H, W)` sampled at `grid` `(N, Ho, Wo, 2)`: `(N, C, Ho, Wo)`.
pub fn grid_sample(
    x: &Tensor,
    grid: &Tensor,
    mode: &str,
    padding_mode: &str,
    align_corners: bool,
) -> Result<Tensor> {
    let s = setup(mode, padding_mode, align_corners)?;
    check(x, grid)?;
    let wide = x.dtype() == DType::F64;
    let work = if wide { DType::F64 } else { DType::F32 };
    let (xw, gw) = (prepared(x, work)?, prepared(grid, work)?);
    let (n, c, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (ho, wo) = (grid.shape()[1], grid.shape()[2]);
    let out = Tensor::uninit(&[n, c, ho, wo], work, x.device())?;
    fn go<T: GridFloat + crate::element::Element>(
        xw: &Tensor,
        gw: &Tensor,
        out: &Tensor,
        (c, h, w): (usize, usize, usize),
        s: &Setup,
    ) -> Result<()> {
        let t = image_taps::<T>(gw, (h, w), s, false)?;
        // SAFETY: `out` is fresh and nothing else holds it yet.
        let o = unsafe { out.cpu_slice_mut::<T>()? };
        kernel(xw.cpu_slice::<T>()?, &t, c, h * w, o);
        Ok(())
    }
    if out.numel() > 0 {
        if wide {
            go::<f64>(&xw, &gw, &out, (c, h, w), &s)?;
        } else {
            go::<f32>(&xw, &gw, &out, (c, h, w), &s)?;
        }
    }
    let out = super::copy::to_dtype(&out, x.dtype())?;
    if needs_grad(&[x, grid]) {
        let (sx, sg) = (SavedTensor::input(x), SavedTensor::input(grid));
        let (want_x, want_grid) = (x.requires_grad(), grid.requires_grad());
        record("GridSampler2DBackward0", &[x, grid], &out, move |ctx, g| {
            if is_grad_enabled() {
                return Err(Error::Runtime(
                    "the derivative for 'grid_sampler_2d_backward' is not implemented".into(),
                ));
            }
            let (x, grid) = (sx.unpack(ctx)?, sg.unpack(ctx)?);
            // Only the gradients this pass uses (`autograd.grad` of the grid alone skips
            // the input's scatter: 1.49 -> 0.9-1.15 ms on 16x32x32x32).
            let want = (
                want_x && ctx.needs_input_grad(0),
                want_grid && ctx.needs_input_grad(1),
            );
            let (gx, gg) = gradients(g, &x, &grid, &s, want)?;
            Ok(vec![gx, gg])
        });
    }
    Ok(out)
}

/// `t` contiguous in the compute type.
fn prepared(t: &Tensor, work: DType) -> Result<Tensor> {
    super::copy::contiguous(&super::copy::to_dtype(&t.detach(), work)?)
}

/// Every image's taps, computed in parallel over the images.
fn image_taps<T: GridFloat + crate::element::Element>(
    grid: &Tensor,
    hw: (usize, usize),
    s: &Setup,
    derivatives: bool,
) -> Result<Vec<Taps<T>>> {
    let gv = grid.cpu_slice::<T>()?;
    let n = grid.shape()[0];
    let per = gv.len() / n.max(1);
    let one = |i: usize| taps(&gv[i * per..(i + 1) * per], hw, s, derivatives);
    Ok(if gv.len() >= crate::cpu::GRAIN / 4 && n > 1 {
        crate::cpu::par_map(n, &one)
    } else {
        (0..n).map(one).collect()
    })
}

/// The gradients for the input and the grid (those asked for) from the output's `g`.
fn gradients(
    g: &Tensor,
    x: &Tensor,
    grid: &Tensor,
    s: &Setup,
    (want_x, want_grid): (bool, bool),
) -> Result<(Option<Tensor>, Option<Tensor>)> {
    let wide = x.dtype() == DType::F64;
    let work = if wide { DType::F64 } else { DType::F32 };
    let (gw, xw, gridw) = (
        prepared(g, work)?,
        prepared(x, work)?,
        prepared(grid, work)?,
    );
    let (c, h, w) = (x.shape()[1], x.shape()[2], x.shape()[3]);
    let gx = want_x
        .then(|| Tensor::uninit(x.shape(), work, x.device()))
        .transpose()?;
    let gg = want_grid
        .then(|| Tensor::uninit(grid.shape(), work, x.device()))
        .transpose()?;
    fn go<T: GridFloat + crate::element::Element>(
        (g, x, grid): (&Tensor, &Tensor, &Tensor),
        (gx, gg): (Option<&Tensor>, Option<&Tensor>),
        (c, h, w): (usize, usize, usize),
        s: &Setup,
    ) -> Result<()> {
        let derivatives = gg.is_some() && !s.nearest;
        let t = image_taps::<T>(grid, (h, w), s, derivatives)?;
        let gv = g.cpu_slice::<T>()?;
        if let Some(gx) = gx.filter(|t| t.numel() > 0) {
            // SAFETY: `gx` is fresh and nothing else holds it yet.
            backward_input(gv, &t, c, h * w, unsafe { gx.cpu_slice_mut::<T>()? });
        }
        if let Some(gg) = gg.filter(|t| t.numel() > 0) {
            // SAFETY: `gg` is fresh and nothing else holds it yet.
            let o = unsafe { gg.cpu_slice_mut::<T>()? };
            if s.nearest {
                o.fill(T::of(0.0));
            } else {
                backward_grid(gv, x.cpu_slice::<T>()?, &t, c, h * w, o);
            }
        }
        Ok(())
    }
    let bufs = (gx.as_ref(), gg.as_ref());
    if wide {
        go::<f64>((&gw, &xw, &gridw), bufs, (c, h, w), s)?;
    } else {
        go::<f32>((&gw, &xw, &gridw), bufs, (c, h, w), s)?;
    }
    let back = |t: Option<Tensor>, dt: DType| t.map(|t| super::copy::to_dtype(&t, dt)).transpose();
    Ok((back(gx, x.dtype())?, back(gg, grid.dtype())?))
}
