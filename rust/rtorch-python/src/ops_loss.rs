//! Bindings of the fused loss kernels (`_cross_entropy`, `_ctc_loss`) and of the SIMD
//! level query (`_cpu_capability`). The Python layer checks shapes and words errors; the
//! core repeats the checks that guard memory.

use crate::tensor::{wrap, PyTensor};
use pyo3::prelude::*;
use rtorch_core::cpu::math;
use rtorch_core::ops::loss;
use rtorch_macros::module_fn;

/// Cross-entropy with class-index targets; `reduction` is 0 none, 1 mean, 2 sum.
#[module_fn]
#[pyo3(signature = (input, target, weight, reduction, ignore_index, label_smoothing))]
fn _cross_entropy(
    input: PyRef<'_, PyTensor>,
    target: PyRef<'_, PyTensor>,
    weight: Option<PyRef<'_, PyTensor>>,
    reduction: i64,
    ignore_index: i64,
    label_smoothing: f64,
) -> PyResult<PyTensor> {
    wrap(loss::cross_entropy(
        &input.inner,
        &target.inner,
        weight.as_ref().map(|w| &w.inner),
        reduction,
        ignore_index,
        label_smoothing,
    ))
}

/// CTC's per-element negative log-likelihoods: targets padded (N, S) int64.
#[module_fn]
#[pyo3(signature = (log_probs, targets, input_lengths, target_lengths, blank, zero_infinity))]
fn _ctc_loss(
    log_probs: PyRef<'_, PyTensor>,
    targets: PyRef<'_, PyTensor>,
    input_lengths: Vec<i64>,
    target_lengths: Vec<i64>,
    blank: i64,
    zero_infinity: bool,
) -> PyResult<PyTensor> {
    wrap(rtorch_core::ops::ctc::ctc_loss(
        &log_probs.inner,
        &targets.inner,
        &input_lengths,
        &target_lengths,
        blank,
        zero_infinity,
    ))
}

/// `(in use, hardware)` SIMD levels: "avx512", "avx2" or "default".
#[module_fn]
fn _cpu_capability() -> (&'static str, &'static str) {
    (
        math::capability().name(),
        math::hardware_capability().name(),
    )
}
