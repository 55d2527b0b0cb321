//! `F.interpolate`'s linear, bilinear, trilinear and bicubic modes. They are separable:
//! each spatial axis in turn, from the last (the order in which PyTorch's kernels
//! combine the taps), is resampled by a sparse matrix whose taps and weights follow
//! PyTorch's coordinate formulas in its compute type (float32 but for float64 inputs).
//! The backward of an axis is the same resampling with the transposed matrix, and that
//! op's backward is the forward again, so gradients of any order work.

use std::sync::Arc;

use crate::autograd::{needs_grad, record};
use crate::cpu::resample::{resample as kernel, ResampleFloat, Taps};
use crate::dtype::DType;
use crate::element::num_like::FloatOps;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// What PyTorch calls each mode: the grad_fn names of its output and of its backward's
/// output, and the kernel its error for a non-float input names.
struct Mode {
    spatial: usize,
    cubic: bool,
    node: &'static str,
    backward_node: &'static str,
    kernel: &'static str,
}

fn mode_of(mode: &str) -> Result<Mode> {
    let (spatial, cubic, node, backward_node, kernel) = match mode {
        "linear" => (
            1,
            false,
            "UpsampleLinear1DBackward0",
            "UpsampleLinear1DBackwardBackward0",
            "compute_indices_weights_linear",
        ),
        "bilinear" => (
            2,
            false,
            "UpsampleBilinear2DBackward0",
            "UpsampleBilinear2DBackwardBackward0",
            "upsample_bilinear2d_channels_last",
        ),
        "trilinear" => (
            3,
            false,
            "UpsampleTrilinear3DBackward0",
            "UpsampleTrilinear3DBackwardBackward0",
            "compute_indices_weights_linear",
        ),
        "bicubic" => (
            2,
            true,
            "UpsampleBicubic2DBackward0",
            "UpsampleBicubic2DBackwardBackward0",
            "compute_indices_weights_cubic",
        ),
        _ => {
            return Err(Error::Value(format!(
                "interpolate: unknown mode '{mode}' (linear, bilinear, trilinear or bicubic)"
            )))
        }
    };
    Ok(Mode {
        spatial,
        cubic,
        node,
        backward_node,
        kernel,
    })
}

/// `x` `(N, C, *spatial)` resampled to `sizes`, one entry per spatial axis, as
/// `F.interpolate(x, size or scale_factor, mode, align_corners)` once Python has worked
/// out the sizes and the scales the coordinates use (`None`: input over output size).
/// float16 and bfloat16 are resampled in float32 and rounded once. uint8 images
/// (bilinear, bicubic: the integer modes PyTorch has) are rounded (halves up) and
/// saturated after each axis, as PyTorch's uint8 kernel and Pillow do; PyTorch's
/// fixed-point weights can round a value the other way.
pub fn interpolate(
    x: &Tensor,
    sizes: &[usize],
    scales: &[Option<f64>],
    align_corners: bool,
    mode: &str,
) -> Result<Tensor> {
    if let Some(exact) = nearest_mode(mode) {
        return nearest(x, sizes, scales, exact);
    }
    let m = mode_of(mode)?;
    if x.dim() != m.spatial + 2 || sizes.len() != m.spatial || scales.len() != m.spatial {
        return Err(Error::NotImplemented(format!(
            "Got {}D input, but {mode} mode needs {}D input and {} output sizes",
            x.dim(),
            m.spatial + 2,
            m.spatial
        )));
    }
    let image = x.dtype() == DType::U8 && m.spatial == 2;
    if !x.dtype().is_floating_point() && !image {
        return Err(Error::NotImplemented(format!(
            "\"{}\" not implemented for '{}'",
            m.kernel,
            x.dtype().scalar_type_name()
        )));
    }
    check_sizes(x, sizes)?;
    if super::any_meta(&[x]) {
        let shape: Vec<usize> = x.shape()[..2].iter().chain(sizes).copied().collect();
        return super::meta_result(m.node, &[x], &shape, x.dtype());
    }
    let wide = x.dtype() == DType::F64;
    let m = Arc::new(m);
    let mut out = super::copy::to_dtype(x, if wide { DType::F64 } else { DType::F32 })?;
    for axis in (0..sizes.len()).rev() {
        let dim = axis + 2;
        let n_in = out.shape()[dim];
        let forward = axis_taps(
            n_in,
            sizes[axis],
            scales[axis],
            align_corners,
            m.cubic,
            wide,
        )?;
        let adjoint = needs_grad(&[&out]).then(|| forward.transposed(n_in));
        let plan = Arc::new(Plan {
            forward,
            adjoint,
            mode: Arc::clone(&m),
        });
        out = apply(&out, dim, &plan, false)?;
        if image {
            out = round_to_bytes(&out)?;
        }
    }
    super::copy::to_dtype(&out, x.dtype())
}

/// `Some(exact)` for the nearest modes.
fn nearest_mode(mode: &str) -> Option<bool> {
    match mode {
        "nearest" => Some(false),
        "nearest-exact" => Some(true),
        _ => None,
    }
}

/// Every spatial size, in and out, above zero.
fn check_sizes(x: &Tensor, sizes: &[usize]) -> Result<()> {
    let spatial_in = &x.shape()[2..];
    if spatial_in.contains(&0) || sizes.contains(&0) {
        return Err(Error::Runtime(format!(
            "Input and output sizes should be greater than 0, but got input {spatial_in:?} output {sizes:?}"
        )));
    }
    Ok(())
}

/// The nearest modes: each axis an `index_select` of PyTorch's `nearest_idx` (or
/// `nearest_neighbor_exact_compute_source_index`, `exact`), any dtype.
fn nearest(x: &Tensor, sizes: &[usize], scales: &[Option<f64>], exact: bool) -> Result<Tensor> {
    let spatial = x.dim().saturating_sub(2);
    if !(1..=3).contains(&spatial) || sizes.len() != spatial || scales.len() != spatial {
        return Err(Error::NotImplemented(format!(
            "Got {}D input, but the nearest modes need 3D to 5D input with one output size per spatial dimension",
            x.dim()
        )));
    }
    check_sizes(x, sizes)?;
    let mut out = x.clone();
    for (axis, (&n_out, &scale)) in sizes.iter().zip(scales).enumerate() {
        let n_in = x.shape()[axis + 2];
        let index = Tensor::from_vec(nearest_index(n_in, n_out, scale, exact)?, &[n_out])?;
        out = super::index::index_select(&out, (axis + 2) as i64, &index)?;
    }
    Ok(out)
}

/// Source positions of one axis for the nearest modes, in float32 as PyTorch's.
fn nearest_index(n_in: usize, n_out: usize, scale: Option<f64>, exact: bool) -> Result<Vec<i64>> {
    let last = n_in as i64 - 1;
    let mut index = reserved(n_out)?;
    if !exact && n_out == n_in {
        index.extend(0..n_out as i64);
    } else if !exact && Some(n_out) == n_in.checked_mul(2) {
        index.extend((0..n_out as i64).map(|o| o >> 1));
    } else {
        let s = match scale {
            Some(s) if s > 0.0 => (1.0 / s) as f32,
            _ => n_in as f32 / n_out as f32,
        };
        let offset = if exact { 0.5f32 } else { 0.0 };
        index.extend((0..n_out).map(|o| (((o as f32 + offset) * s).floor() as i64).min(last)));
    }
    Ok(index)
}

/// An empty Vec with room for `n` values, or an error where the memory cannot be had
/// (a plain `Vec::with_capacity` aborts the process): the output sizes are the user's.
fn reserved<T>(n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        Error::Runtime(format!(
            "interpolate: cannot allocate the coordinates of an output size of {n}"
        ))
    })?;
    Ok(v)
}

/// One axis's resampling matrix in both directions.
struct Plan {
    forward: Taps<f64>,
    /// Built when the forward records its backward.
    adjoint: Option<Taps<f64>>,
    mode: Arc<Mode>,
}

/// `x` resampled along `dim` by the plan's forward matrix, or by its adjoint (the
/// input gradient), recording the other direction as the backward.
fn apply(x: &Tensor, dim: usize, plan: &Arc<Plan>, adjoint: bool) -> Result<Tensor> {
    let taps = match (adjoint, &plan.adjoint) {
        (false, _) => &plan.forward,
        (true, Some(t)) => t,
        (true, None) => return Err(Error::Runtime("interpolate: no backward prepared".into())),
    };
    let out = run(x, dim, taps)?;
    if needs_grad(&[x]) && plan.adjoint.is_some() {
        let plan = Arc::clone(plan);
        let name = if adjoint {
            plan.mode.backward_node
        } else {
            plan.mode.node
        };
        record(name, &[x], &out, move |_, g| {
            Ok(vec![Some(apply(g, dim, &plan, !adjoint)?)])
        });
    }
    Ok(out)
}

/// The kernel on a float32 or float64 `x` (no autograd).
fn run(x: &Tensor, dim: usize, taps: &Taps<f64>) -> Result<Tensor> {
    let xs = super::copy::contiguous(&x.detach())?;
    let n_in = x.shape()[dim];
    let mut shape = x.shape().to_vec();
    shape[dim] = taps.n_out();
    let outer: usize = shape[..dim].iter().product();
    let inner: usize = shape[dim + 1..].iter().product();
    let out = Tensor::uninit(&shape, x.dtype(), x.device())?;
    fn go<T: ResampleFloat>(
        xs: &Tensor,
        out: &Tensor,
        (outer, n_in, inner): (usize, usize, usize),
        taps: &Taps<T>,
    ) -> Result<()> {
        let xv: &[T] = xs.cpu_slice::<T>()?;
        // SAFETY: `out` is a fresh contiguous buffer that nothing else references until
        // `run` returns it.
        let ov: &mut [T] = unsafe { out.cpu_slice_mut::<T>()? };
        kernel(xv, outer, n_in, inner, taps, ov);
        Ok(())
    }
    let dims = (outer, n_in, inner);
    if x.dtype() == DType::F64 {
        go::<f64>(&xs, &out, dims, taps)?;
    } else {
        go::<f32>(&xs, &out, dims, &taps.map(|w| w as f32))?;
    }
    Ok(out)
}

/// A float32 pass of a uint8 image rounded (halves up, as fixed-point sums) and
/// saturated to 0..=255, still in float32.
fn round_to_bytes(x: &Tensor) -> Result<Tensor> {
    let out = Tensor::uninit(x.shape(), DType::F32, x.device())?;
    let xv: &[f32] = x.cpu_slice::<f32>()?;
    // SAFETY: `out` is a fresh contiguous buffer that nothing else references until
    // this function returns it.
    let ov: &mut [f32] = unsafe { out.cpu_slice_mut::<f32>()? };
    for (o, &v) in ov.iter_mut().zip(xv) {
        *o = (v + 0.5).floor().clamp(0.0, 255.0);
    }
    Ok(out)
}

/// One axis's taps: PyTorch's `area_pixel_compute_source_index` and
/// `guard_index_and_lambda`, computed in float64 (`wide`) or float32.
fn axis_taps(
    n_in: usize,
    n_out: usize,
    scale: Option<f64>,
    align_corners: bool,
    cubic: bool,
    wide: bool,
) -> Result<Taps<f64>> {
    if wide {
        taps_in::<f64>(n_in, n_out, scale, align_corners, cubic)
    } else {
        taps_in::<f32>(n_in, n_out, scale, align_corners, cubic)
    }
}

fn taps_in<C: FloatOps>(
    n_in: usize,
    n_out: usize,
    scale: Option<f64>,
    align_corners: bool,
    cubic: bool,
) -> Result<Taps<f64>> {
    let c = |v: f64| C::from_f64(v);
    let (zero, one, half) = (c(0.0), c(1.0), c(0.5));
    let s = match (align_corners, scale) {
        (true, _) if n_out > 1 => c((n_in - 1) as f64) / c((n_out - 1) as f64),
        (true, _) => zero,
        (false, Some(s)) if s > 0.0 => c(1.0 / s),
        (false, _) => c(n_in as f64) / c(n_out as f64),
    };
    let last = n_in - 1;
    let clamp_index = |i: i64| i.clamp(0, last as i64) as usize;
    let k = if cubic { 4 } else { 2 };
    let entries = n_out.saturating_mul(k);
    let mut src = reserved(entries)?;
    let mut weight = reserved(entries)?;
    for o in 0..n_out {
        let d = c(o as f64);
        let real = if align_corners {
            s * d
        } else {
            let r = s * (d + half) - half;
            // Linear modes clamp negative source coordinates to 0; cubic keeps them.
            if !cubic && r < zero {
                zero
            } else {
                r
            }
        };
        // The float-to-int cast saturates (a NaN coordinate gives 0).
        let i0 = (real.to_f64().floor() as i64).min(last as i64);
        let t = real - c(i0 as f64);
        let t = if t < zero {
            zero
        } else if t > one {
            one
        } else {
            t
        };
        if cubic {
            src.extend((-1..3).map(|j| clamp_index(i0.saturating_add(j))));
            weight.extend(cubic_weights(t).map(|w| w.to_f64()));
        } else {
            let lo = clamp_index(i0);
            src.extend([lo, (lo + 1).min(last)]);
            weight.extend([(one - t).to_f64(), t.to_f64()]);
        }
    }
    Ok(Taps::fixed(n_out, k, src, weight))
}

/// PyTorch's `get_cubic_upsample_coefficients` (Keys' cubic, A = -0.75) for the
/// fraction `t` of the source coordinate past its floor.
fn cubic_weights<C: FloatOps>(t: C) -> [C; 4] {
    let c = |v: f64| C::from_f64(v);
    let a = c(-0.75);
    let one = c(1.0);
    let near = |x: C| ((a + c(2.0)) * x - (a + c(3.0))) * x * x + one;
    let far = |x: C| ((a * x - c(5.0) * a) * x + c(8.0) * a) * x - c(4.0) * a;
    let u = one - t;
    [far(t + one), near(t), near(u), far(u + one)]
}
