//! `ctc_loss`'s per-element losses and their backward node (`cpu::ctc`). The Python
//! layer checks the arguments in PyTorch's words, pads concatenated targets and applies
//! the reduction; this checks everything the kernel indexes by.

use crate::autograd::{is_grad_enabled, needs_grad, record, SavedTensor};
use crate::cpu::ctc::Ctc;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The lengths as sizes, each at most `bound`.
fn lengths(values: &[i64], batch: usize, bound: usize, what: &str) -> Result<Vec<usize>> {
    if values.len() != batch {
        return Err(Error::Runtime(format!(
            "{what} must be of size batch_size, got {}",
            values.len()
        )));
    }
    values
        .iter()
        .map(|&v| match usize::try_from(v) {
            Ok(v) if v <= bound => Ok(v),
            _ => Err(Error::Runtime(format!(
                "Expected {what} to have value at most {bound} and at least 0, but got value {v}"
            ))),
        })
        .collect()
}

/// `t` detached, contiguous, in float64 (what the kernels read).
fn wide(t: &Tensor) -> Result<Tensor> {
    super::copy::contiguous(&super::copy::to_dtype(&t.detach(), DType::F64)?)
}

/// The negative log-likelihood of each target given `log_probs` (T, N, C), in its
/// dtype: `targets` padded (N, S) int64, lengths one per batch element.
pub fn ctc_loss(
    log_probs: &Tensor,
    targets: &Tensor,
    input_lengths: &[i64],
    target_lengths: &[i64],
    blank: i64,
    zero_infinity: bool,
) -> Result<Tensor> {
    let &[steps, batch, classes] = log_probs.shape().as_slice() else {
        return Err(Error::Runtime(format!(
            "ctc_loss: expected log_probs to be 3D, got {}D",
            log_probs.dim()
        )));
    };
    if !log_probs.dtype().is_floating_point() {
        return Err(super::unary::not_implemented(
            "ctc_loss_cpu",
            log_probs.dtype(),
        ));
    }
    let max_target = match targets.shape().as_slice() {
        &[n, s] if n == batch && targets.dtype() == DType::I64 => s,
        _ => {
            return Err(Error::Runtime(format!(
                "ctc_loss: expected int64 targets of shape ({batch}, S), got {} {}",
                targets.dtype().name(),
                crate::layout::fmt_shape(targets.shape())
            )))
        }
    };
    let in_lens = lengths(input_lengths, batch, steps, "input_lengths")?;
    let tgt_lens = lengths(target_lengths, batch, max_target, "target_lengths")?;
    let blank = match usize::try_from(blank) {
        Ok(b) if b < classes => b,
        _ => return Err(Error::Runtime("blank must be in label range".into())),
    };
    let tg = super::copy::contiguous(&targets.detach())?;
    let labels = tg.cpu_slice::<i64>()?;
    for (row, &len) in labels.chunks(max_target.max(1)).zip(&tgt_lens) {
        if let Some(&v) = row[..len]
            .iter()
            .find(|&&v| v < 0 || v as u64 >= classes as u64)
        {
            return Err(Error::Index(format!(
                "ctc_loss: target {v} is out of bounds for {classes} classes"
            )));
        }
    }
    let lp = wide(log_probs)?;
    let ctc = Ctc {
        log_probs: lp.cpu_slice::<f64>()?,
        dims: (steps, batch, classes),
        targets: labels,
        max_target,
        input_lengths: &in_lens,
        target_lengths: &tgt_lens,
        blank,
    };
    let nll = Tensor::uninit(&[batch], DType::F64, log_probs.device())?;
    let alpha = Tensor::uninit(&[batch, steps, ctc.width()], DType::F64, log_probs.device())?;
    // SAFETY: both are fresh contiguous buffers that nothing else references yet.
    unsafe { ctc.forward(nll.cpu_slice_mut::<f64>()?, alpha.cpu_slice_mut::<f64>()?) };
    let loss = if zero_infinity {
        // An impossible target's infinite loss reads 0 (the backward still sees inf).
        let values = nll.cpu_slice::<f64>()?.iter();
        let finite = values.map(|&v| if v == f64::INFINITY { 0.0 } else { v });
        Tensor::from_vec(finite.collect(), &[batch])?
    } else {
        nll.clone()
    };
    let out = super::copy::to_dtype(&loss, log_probs.dtype())?;
    if needs_grad(&[log_probs]) {
        let saved = SavedTensor::input(log_probs);
        record("CtcLossBackward0", &[log_probs], &out, move |ctx, g| {
            if is_grad_enabled() {
                return Err(Error::Runtime(
                    "the derivative for '_ctc_loss_backward' is not implemented".into(),
                ));
            }
            let x = saved.unpack(ctx)?;
            let (lp, g) = (wide(&x)?, wide(g)?);
            let ctc = Ctc {
                log_probs: lp.cpu_slice::<f64>()?,
                dims: (steps, batch, classes),
                targets: tg.cpu_slice::<i64>()?,
                max_target,
                input_lengths: &in_lens,
                target_lengths: &tgt_lens,
                blank,
            };
            let grad = Tensor::uninit(&[batch, steps, classes], DType::F64, x.device())?;
            let sums = (g.cpu_slice::<f64>()?, nll.cpu_slice::<f64>()?);
            // SAFETY: `grad` is a fresh contiguous buffer that nothing else references.
            let gs = unsafe { grad.cpu_slice_mut::<f64>()? };
            ctc.backward(
                (sums.0, sums.1, alpha.cpu_slice::<f64>()?),
                zero_infinity,
                gs,
            );
            let grad = super::shape::transpose(&grad, 0, 1)?;
            Ok(vec![Some(super::copy::to_dtype(&grad, x.dtype())?)])
        });
    }
    Ok(out)
}
