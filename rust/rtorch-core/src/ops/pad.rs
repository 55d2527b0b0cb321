//! `F.pad`'s reflect, replicate and circular modes on CPU tensors (constant padding is a
//! fill and a copy, in Python). The forward moves elements, so it runs on every dtype
//! by element size; the gradient is the transposed gather, a sum over the outputs that
//! read each input, and its own gradient is the padding again, so gradients of any
//! order work.

use std::sync::Arc;

use crate::autograd::{needs_grad, record};
use crate::cpu::pad::{pad_backward, pad_forward, AxisMap, Maps, PadMode};
use crate::device::Device;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A padding: the axis maps and the shapes on both sides.
struct Plan {
    maps: Maps,
    in_shape: Vec<usize>,
    out_shape: Vec<usize>,
    /// PyTorch's grad_fn names of the padding and of its gradient.
    names: (&'static str, &'static str),
}

fn mode_of(mode: &str) -> Result<PadMode> {
    match mode {
        "reflect" => Ok(PadMode::Reflect),
        "replicate" => Ok(PadMode::Replicate),
        "circular" => Ok(PadMode::Circular),
        _ => Err(Error::NotImplemented(format!(
            "Unrecognised padding mode {mode}"
        ))),
    }
}

/// The grad_fn names: PyTorch's reflection and replication kernels, and the
/// `CopySlices` its composite circular padding ends in.
fn names(mode: PadMode, n: usize) -> (&'static str, &'static str) {
    const REFLECT: [(&str, &str); 3] = [
        (
            "ReflectionPad1DBackward0",
            "ReflectionPad1DBackwardBackward0",
        ),
        (
            "ReflectionPad2DBackward0",
            "ReflectionPad2DBackwardBackward0",
        ),
        (
            "ReflectionPad3DBackward0",
            "ReflectionPad3DBackwardBackward0",
        ),
    ];
    const REPLICATE: [(&str, &str); 3] = [
        (
            "ReplicationPad1DBackward0",
            "ReplicationPad1DBackwardBackward0",
        ),
        (
            "ReplicationPad2DBackward0",
            "ReplicationPad2DBackwardBackward0",
        ),
        (
            "ReplicationPad3DBackward0",
            "ReplicationPad3DBackwardBackward0",
        ),
    ];
    match mode {
        PadMode::Reflect => REFLECT[n - 1],
        PadMode::Replicate => REPLICATE[n - 1],
        PadMode::Circular => ("CopySlices", "CopySlices"),
    }
}

/// `x` padded by `pad` (`(left, right)` pairs from the last dim; negative amounts crop)
/// in `mode`: the last 1, 2 or 3 dims of a tensor with one or two leading dims.
pub fn pad(x: &Tensor, pad: &[i64], mode: &str) -> Result<Tensor> {
    let mode = mode_of(mode)?;
    let n = pad.len() / 2;
    let nd = x.dim();
    if !matches!(pad.len(), 2 | 4 | 6) || (nd != n + 1 && nd != n + 2) {
        return Err(Error::NotImplemented(format!(
            "Padding size {} is not supported for {nd}D input tensor (non-constant padding \
             takes 2, 4 or 6 values for the last 1, 2 or 3 dims of a tensor with one or two \
             more dims)",
            pad.len()
        )));
    }
    if x.dtype() == DType::Bool && mode != PadMode::Circular {
        let kernel = if mode == PadMode::Reflect {
            "reflection"
        } else {
            "replication"
        };
        return Err(Error::NotImplemented(format!(
            "\"{kernel}_pad{n}d\" not implemented for 'Bool'"
        )));
    }
    if x.device() != Device::Cpu {
        return Err(Error::Runtime(format!(
            "pad: the native {mode:?} padding runs on CPU tensors, got one on {}",
            x.device().type_name()
        )));
    }
    let mut axes = [AxisMap::unit(), AxisMap::unit(), AxisMap::unit()];
    let mut out_shape = x.shape().to_vec();
    for i in 0..n {
        let dim = nd - 1 - i;
        let (left, right, size) = (pad[2 * i], pad[2 * i + 1], x.shape()[dim]);
        let map = AxisMap::new(size, left, right, mode).ok_or_else(|| {
            Error::Runtime(format!(
                "pad: padding ({left}, {right}) in {mode:?} mode does not fit dimension {dim} \
                 of size {size} of input {:?}",
                x.shape()
            ))
        })?;
        out_shape[dim] = map.n_out();
        axes[2 - i] = map;
    }
    let plan = Arc::new(Plan {
        maps: axes,
        in_shape: x.shape().to_vec(),
        out_shape,
        names: names(mode, n),
    });
    apply(x, &plan, false)
}

/// The padding of `x` (`adjoint` false) or its gradient (true), recording the other
/// direction as the backward.
fn apply(x: &Tensor, plan: &Arc<Plan>, adjoint: bool) -> Result<Tensor> {
    let out = if adjoint {
        gradient(x, plan)?
    } else {
        forward(x, plan)?
    };
    if needs_grad(&[x]) {
        let p = Arc::clone(plan);
        let name = if adjoint { plan.names.1 } else { plan.names.0 };
        record(name, &[x], &out, move |_, g| {
            Ok(vec![Some(apply(g, &p, !adjoint)?)])
        });
    }
    Ok(out)
}

fn forward(x: &Tensor, plan: &Plan) -> Result<Tensor> {
    let xs = super::copy::contiguous(&x.detach())?;
    let out = Tensor::uninit(&plan.out_shape, x.dtype(), x.device())?;
    if out.numel() == 0 {
        return Ok(out);
    }
    crate::dispatch_bits!(x.dtype(), T => {
        let src: &[T] = xs.cpu_bits_slice::<T>()?;
        // SAFETY: `out` is fresh and nothing else holds it yet.
        let dst: &mut [T] = unsafe { out.cpu_bits_slice_mut::<T>()? };
        // The kernel moves bytes, whole elements of T's size copied from `src` (one
        // copy of its code for every dtype).
        // SAFETY: T is a primitive integer (`dispatch_bits!`): no padding, every byte
        // initialised, and u8 has no alignment; the views cover exactly the slices.
        let (src, dst) = unsafe {
            (
                std::slice::from_raw_parts(src.as_ptr().cast::<u8>(), std::mem::size_of_val(src)),
                std::slice::from_raw_parts_mut(dst.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(dst)),
            )
        };
        pad_forward(src, dst, std::mem::size_of::<T>(), &plan.maps);
    });
    Ok(out)
}

/// The input gradient for the output gradient `g`, in float32 for the half types.
fn gradient(g: &Tensor, plan: &Plan) -> Result<Tensor> {
    let dt = g.dtype();
    let work = match dt {
        DType::F32 | DType::F64 => dt,
        DType::F16 | DType::BF16 => DType::F32,
        _ => {
            return Err(Error::Runtime(format!(
                "pad: no gradient for {} tensors",
                dt.scalar_type_name()
            )))
        }
    };
    let gs = super::copy::contiguous(&super::copy::to_dtype(&g.detach(), work)?)?;
    let out = Tensor::uninit(&plan.in_shape, work, g.device())?;
    if out.numel() > 0 {
        crate::dispatch_f32_f64!(work, T => {
            // SAFETY: `out` is fresh and nothing else holds it yet.
            let o = unsafe { out.cpu_slice_mut::<T>()? };
            pad_backward(gs.cpu_slice::<T>()?, o, &plan.maps);
        }, _ => return Err(Error::Runtime("pad: gradient in float32 or float64 only".into())));
    }
    super::copy::to_dtype(&out, dt)
}
