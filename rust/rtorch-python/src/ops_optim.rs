//! Bindings of the fused optimizer updates (`rtorch._C._fused_sgd_`, `_fused_adam_`,
//! `_fused_rmsprop_`, `_fused_adagrad_`, `_fused_adadelta_`, `_fused_adamax_`,
//! `_fused_nadam_`, `_fused_radam_`), called by `rtorch.optim` with one list per
//! tensor role. The core checks everything and does the math.

use crate::error::IntoPyResult;
use crate::tensor::PyTensor;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyList;
use rtorch_core::ops::optim as o;
use rtorch_core::Tensor;
use rtorch_macros::module_fn;

/// A Python list of tensors as core tensors.
fn tensors(list: &Bound<'_, PyList>, what: &str) -> PyResult<Vec<Tensor>> {
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        match item.cast::<PyTensor>() {
            Ok(t) => out.push(t.borrow().inner.clone()),
            Err(_) => {
                return Err(PyTypeError::new_err(format!(
                    "{what}[{i}] must be a Tensor, not {}",
                    item.get_type().name()?
                )))
            }
        }
    }
    Ok(out)
}

/// A Python list whose entries are tensors or None.
fn optional_tensors(list: &Bound<'_, PyList>, what: &str) -> PyResult<Vec<Option<Tensor>>> {
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        if item.is_none() {
            out.push(None);
            continue;
        }
        match item.cast::<PyTensor>() {
            Ok(t) => out.push(Some(t.borrow().inner.clone())),
            Err(_) => {
                return Err(PyTypeError::new_err(format!(
                    "{what}[{i}] must be a Tensor or None, not {}",
                    item.get_type().name()?
                )))
            }
        }
    }
    Ok(out)
}

fn maybe(list: Option<&Bound<'_, PyList>>, what: &str) -> PyResult<Option<Vec<Tensor>>> {
    list.map(|l| tensors(l, what)).transpose()
}

/// SGD over lists; returns, per parameter, the momentum buffer this step created (or
/// None), for the caller to store in the optimizer's state.
#[module_fn]
#[pyo3(signature = (params, grads, momentum_buffer_list, *, lr, momentum, dampening, weight_decay, nesterov, maximize))]
#[allow(clippy::too_many_arguments)]
fn _fused_sgd_(
    py: Python<'_>,
    params: &Bound<'_, PyList>,
    grads: &Bound<'_, PyList>,
    momentum_buffer_list: &Bound<'_, PyList>,
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
    maximize: bool,
) -> PyResult<Py<PyList>> {
    let created = o::sgd_(
        &tensors(params, "params")?,
        &tensors(grads, "grads")?,
        &optional_tensors(momentum_buffer_list, "momentum_buffer_list")?,
        &o::SgdOptions {
            lr,
            momentum,
            dampening,
            weight_decay,
            nesterov,
            maximize,
        },
    )
    .py()?;
    let items: Vec<Option<PyTensor>> = created.into_iter().map(|b| b.map(PyTensor::from)).collect();
    Ok(PyList::new(py, items)?.unbind())
}

/// Adam / AdamW over lists (AMSGrad when `max_exp_avg_sqs` is a list).
#[module_fn]
#[pyo3(signature = (params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, *, lr, beta1, beta2, eps, weight_decay, maximize, decoupled_weight_decay))]
#[allow(clippy::too_many_arguments)]
fn _fused_adam_(
    params: &Bound<'_, PyList>,
    grads: &Bound<'_, PyList>,
    exp_avgs: &Bound<'_, PyList>,
    exp_avg_sqs: &Bound<'_, PyList>,
    max_exp_avg_sqs: Option<&Bound<'_, PyList>>,
    state_steps: &Bound<'_, PyList>,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    maximize: bool,
    decoupled_weight_decay: bool,
) -> PyResult<()> {
    let max = maybe(max_exp_avg_sqs, "max_exp_avg_sqs")?;
    o::adam_(
        &tensors(params, "params")?,
        &tensors(grads, "grads")?,
        &tensors(exp_avgs, "exp_avgs")?,
        &tensors(exp_avg_sqs, "exp_avg_sqs")?,
        max.as_deref(),
        &tensors(state_steps, "state_steps")?,
        &o::AdamOptions {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
            maximize,
            decoupled_weight_decay,
        },
    )
    .py()
}

/// RMSprop over lists (centered when `grad_avgs` is a list, momentum when
/// `momentum_buffer_list` is).
#[module_fn]
#[pyo3(signature = (params, grads, square_avgs, grad_avgs, momentum_buffer_list, state_steps, *, lr, alpha, eps, weight_decay, momentum, maximize))]
#[allow(clippy::too_many_arguments)]
fn _fused_rmsprop_(
    params: &Bound<'_, PyList>,
    grads: &Bound<'_, PyList>,
    square_avgs: &Bound<'_, PyList>,
    grad_avgs: Option<&Bound<'_, PyList>>,
    momentum_buffer_list: Option<&Bound<'_, PyList>>,
    state_steps: &Bound<'_, PyList>,
    lr: f64,
    alpha: f64,
    eps: f64,
    weight_decay: f64,
    momentum: f64,
    maximize: bool,
) -> PyResult<()> {
    let ga = maybe(grad_avgs, "grad_avgs")?;
    let bufs = maybe(momentum_buffer_list, "momentum_buffer_list")?;
    o::rmsprop_(
        &tensors(params, "params")?,
        &tensors(grads, "grads")?,
        &tensors(square_avgs, "square_avgs")?,
        ga.as_deref(),
        bufs.as_deref(),
        &tensors(state_steps, "state_steps")?,
        &o::RmspropOptions {
            lr,
            alpha,
            eps,
            weight_decay,
            momentum,
            maximize,
        },
    )
    .py()
}

/// Adagrad over lists (dense gradients).
#[module_fn]
#[pyo3(signature = (params, grads, state_sums, state_steps, *, lr, lr_decay, weight_decay, eps, maximize))]
#[allow(clippy::too_many_arguments)]
fn _fused_adagrad_(
    params: &Bound<'_, PyList>,
    grads: &Bound<'_, PyList>,
    state_sums: &Bound<'_, PyList>,
    state_steps: &Bound<'_, PyList>,
    lr: f64,
    lr_decay: f64,
    weight_decay: f64,
    eps: f64,
    maximize: bool,
) -> PyResult<()> {
    o::adagrad_(
        &tensors(params, "params")?,
        &tensors(grads, "grads")?,
        &tensors(state_sums, "state_sums")?,
        &tensors(state_steps, "state_steps")?,
        &o::AdagradOptions {
            lr,
            lr_decay,
            weight_decay,
            eps,
            maximize,
        },
    )
    .py()
}

/// Adadelta over lists.
#[module_fn]
#[pyo3(signature = (params, grads, square_avgs, acc_deltas, state_steps, *, lr, rho, eps, weight_decay, maximize))]
#[allow(clippy::too_many_arguments)]
fn _fused_adadelta_(
    params: &Bound<'_, PyList>,
    grads: &Bound<'_, PyList>,
    square_avgs: &Bound<'_, PyList>,
    acc_deltas: &Bound<'_, PyList>,
    state_steps: &Bound<'_, PyList>,
    lr: f64,
    rho: f64,
    eps: f64,
    weight_decay: f64,
    maximize: bool,
) -> PyResult<()> {
    o::adadelta_(
        &tensors(params, "params")?,
        &tensors(grads, "grads")?,
        &tensors(square_avgs, "square_avgs")?,
        &tensors(acc_deltas, "acc_deltas")?,
        &tensors(state_steps, "state_steps")?,
        &o::AdadeltaOptions {
            lr,
            rho,
            eps,
            weight_decay,
            maximize,
        },
    )
    .py()
}

/// Adamax over lists.
#[module_fn]
#[pyo3(signature = (params, grads, exp_avgs, exp_infs, state_steps, *, lr, beta1, beta2, eps, weight_decay, maximize))]
#[allow(clippy::too_many_arguments)]
fn _fused_adamax_(
    params: &Bound<'_, PyList>,
    grads: &Bound<'_, PyList>,
    exp_avgs: &Bound<'_, PyList>,
    exp_infs: &Bound<'_, PyList>,
    state_steps: &Bound<'_, PyList>,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    maximize: bool,
) -> PyResult<()> {
    o::adamax_(
        &tensors(params, "params")?,
        &tensors(grads, "grads")?,
        &tensors(exp_avgs, "exp_avgs")?,
        &tensors(exp_infs, "exp_infs")?,
        &tensors(state_steps, "state_steps")?,
        &o::AdamaxOptions {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
            maximize,
        },
    )
    .py()
}

/// NAdam over lists (`mu_products`: one-element tensors, advanced in place).
#[module_fn]
#[pyo3(signature = (params, grads, exp_avgs, exp_avg_sqs, mu_products, state_steps, *, lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize))]
#[allow(clippy::too_many_arguments)]
fn _fused_nadam_(
    params: &Bound<'_, PyList>,
    grads: &Bound<'_, PyList>,
    exp_avgs: &Bound<'_, PyList>,
    exp_avg_sqs: &Bound<'_, PyList>,
    mu_products: &Bound<'_, PyList>,
    state_steps: &Bound<'_, PyList>,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    momentum_decay: f64,
    decoupled_weight_decay: bool,
    maximize: bool,
) -> PyResult<()> {
    o::nadam_(
        &tensors(params, "params")?,
        &tensors(grads, "grads")?,
        &tensors(exp_avgs, "exp_avgs")?,
        &tensors(exp_avg_sqs, "exp_avg_sqs")?,
        &tensors(mu_products, "mu_products")?,
        &tensors(state_steps, "state_steps")?,
        &o::NadamOptions {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
            momentum_decay,
            decoupled_weight_decay,
            maximize,
        },
    )
    .py()
}

/// RAdam over lists.
#[module_fn]
#[pyo3(signature = (params, grads, exp_avgs, exp_avg_sqs, state_steps, *, lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize))]
#[allow(clippy::too_many_arguments)]
fn _fused_radam_(
    params: &Bound<'_, PyList>,
    grads: &Bound<'_, PyList>,
    exp_avgs: &Bound<'_, PyList>,
    exp_avg_sqs: &Bound<'_, PyList>,
    state_steps: &Bound<'_, PyList>,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    decoupled_weight_decay: bool,
    maximize: bool,
) -> PyResult<()> {
    o::radam_(
        &tensors(params, "params")?,
        &tensors(grads, "grads")?,
        &tensors(exp_avgs, "exp_avgs")?,
        &tensors(exp_avg_sqs, "exp_avg_sqs")?,
        &tensors(state_steps, "state_steps")?,
        &o::RadamOptions {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
            decoupled_weight_decay,
            maximize,
        },
    )
    .py()
}
