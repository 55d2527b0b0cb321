//! Ops by family. Each op's file holds its checks, its dispatch to the device kernel,
//! and its backward formula (written with these same ops, so it is differentiable).

pub mod binary;
pub mod binary_kinds;
pub mod compare;
pub mod conv;
pub mod copy;
pub mod creation;
pub mod ctc;
pub mod embedding;
pub mod glu;
pub mod grad_kinds;
pub mod grid_sample;
pub mod histogram;
pub mod index;
pub mod index_kinds;
pub mod linalg;
pub mod linalg_decomp;
pub mod loss;
pub mod map;
pub mod matmul;
pub mod norm;
pub mod optim;
pub mod pad;
pub mod pointwise;
pub mod pool;
pub mod random_ops;
pub mod reduce;
pub mod reduce_kinds;
pub mod resample;
pub mod rnn;
pub mod scan;
pub mod shape;
pub mod softmax;
pub mod sort;
pub mod ternary_kinds;
pub mod unary;
pub mod unary_kinds;
pub mod weight_kinds;
pub mod window;

use crate::dtype::{DType, Operand};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// How a tensor takes part in `result_type`.
pub fn operand(t: &Tensor) -> Operand {
    if t.dim() == 0 {
        Operand::ZeroDim(t.dtype())
    } else {
        Operand::Dim(t.dtype())
    }
}

/// A broadcast view of `t` with `shape` (no autograd; for kernels).
pub fn expand_view(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if t.shape().as_slice() == shape {
        return Ok(t.clone());
    }
    Ok(t.with_layout(t.layout().expand(shape)?))
}

/// `t` converted to `dtype` (no autograd; for kernels). Returns `t` itself if the
/// dtype already matches.
pub fn cast_view(t: &Tensor, dtype: DType) -> Result<Tensor> {
    if t.dtype() == dtype {
        return Ok(t.clone());
    }
    let out = Tensor::uninit(t.shape(), dtype, t.device())?;
    crate::ops::map::copy_cast(&out, t)?;
    Ok(out)
}

/// The gradient for an input of `shape` and `dtype` from a gradient of the broadcast
/// output: sums over broadcast dims, then casts.
pub fn reduce_grad(g: &Tensor, shape: &[usize], dtype: DType) -> Result<Tensor> {
    let g = reduce::sum_to(g, shape)?;
    copy::to_dtype(&g, dtype)
}

/// PyTorch refuses in-place ops that would corrupt autograd state.
pub fn check_inplace(t: &Tensor) -> Result<()> {
    crate::autograd::view::check_inplace(t, false)
}

/// Ends an in-place op whose written values do not depend on any input (fills, random
/// draws, comparisons): bumps the version and, if `t` had history, records a node that
/// passes it a zero gradient, as PyTorch does.
pub fn finish_constant_write(t: &Tensor, name: &'static str) {
    t.storage().bump_version();
    if crate::autograd::needs_grad(&[t]) {
        crate::autograd::record_inplace(name, &[t], t, |_, g| {
            Ok(vec![Some(reduce::zeros_like(g)?)])
        });
    }
}

/// Checks that the result of an in-place op can be written into `dst`.
pub fn check_inplace_result(dst: &Tensor, result_dtype: DType, shape: &[usize]) -> Result<()> {
    if !result_dtype.can_cast_to(dst.dtype()) {
        return Err(Error::Runtime(format!(
            "result type {} can't be cast to the desired output type {}",
            result_dtype.scalar_type_name(),
            dst.dtype().scalar_type_name()
        )));
    }
    if dst.shape().as_slice() != shape {
        return Err(Error::Runtime(format!(
            "output with shape {} doesn't match the broadcast shape {}",
            crate::layout::fmt_shape(dst.shape()),
            crate::layout::fmt_shape(shape)
        )));
    }
    Ok(())
}

/// Gradient placeholder for inputs that get none.
pub fn none_grads(n: usize) -> Vec<Option<Tensor>> {
    vec![None; n]
}

/// The result of an op whose inputs live on the `meta` device: `shape` and `dtype`
/// there, recorded by `record_meta`. Raises PyTorch's error when the inputs' devices
/// differ.
pub(crate) fn meta_result(
    name: &'static str,
    inputs: &[&Tensor],
    shape: &[usize],
    dtype: DType,
) -> Result<Tensor> {
    let out = Tensor::empty(shape, dtype, crate::Device::Meta)?;
    Tensor::has_values(&out, inputs)?;
    record_meta(name, inputs, &[&out]);
    Ok(out)
}

/// When an input needs a gradient, records node `name` from `inputs` to the meta
/// tensors `outs`; its backward gives each such input a meta gradient of its own shape
/// and dtype (there are no values, so the metadata is the whole answer).
pub(crate) fn record_meta(name: &'static str, inputs: &[&Tensor], outs: &[&Tensor]) {
    if !crate::autograd::needs_grad(inputs) {
        return;
    }
    let like: Vec<_> = inputs
        .iter()
        .map(|t| (t.shape().clone(), t.dtype(), t.requires_grad()))
        .collect();
    crate::autograd::record_multi(name, inputs, outs, move |_, _| {
        like.iter()
            .map(|(s, d, r)| {
                r.then(|| Tensor::empty(s, *d, crate::Device::Meta))
                    .transpose()
            })
            .collect()
    });
}

/// Whether any of `inputs` is on the `meta` device.
pub(crate) fn any_meta(inputs: &[&Tensor]) -> bool {
    inputs.iter().any(|t| t.device() == crate::Device::Meta)
}
