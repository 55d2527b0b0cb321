//! Fused optimizer updates over lists of parameters (`_fused_sgd_`, `_fused_adam_`,
//! `_fused_rmsprop_`, `_fused_adagrad_`, `_fused_adadelta_`, `_fused_adamax_`, `_fused_nadam_`,
//! `_fused_radam_`).
//!
//! Each op takes a list of parameters, their gradients and their state tensors (one
//! list per state), checks every entry before writing anything, then updates each
//! parameter and its state in one pass (`cpu::optim`). The ops never record autograd
//! history (an optimizer step runs under `no_grad`); they bump the version counter of
//! every tensor they write, as in-place ops do, including the step counters they
//! increment. Parameters must be float32 or float64 on the CPU; the optimizers keep
//! other dtypes on their tensor-op path.
//!
//! Layouts: contiguous tensors are updated where they lie. A non-contiguous tensor is
//! updated through a contiguous copy that is written back; a gradient that shares
//! memory with a written tensor is read from a copy taken before any write.

use crate::cpu::optim::{self as k, OptFloat, Rule};
use crate::device::Device;
use crate::dtype::DType;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::layout::fmt_shape;
use crate::tensor::Tensor;

fn err(msg: String) -> Error {
    Error::Runtime(msg)
}

/// The storage index range `[start, end)` a tensor's elements lie in.
fn extent(t: &Tensor) -> (usize, usize) {
    (t.offset(), t.layout().storage_extent())
}

/// Whether two tensors may share an element.
fn overlaps(a: &Tensor, b: &Tensor) -> bool {
    if !a.storage().same(b.storage()) || a.numel() == 0 || b.numel() == 0 {
        return false;
    }
    let (a0, a1) = extent(a);
    let (b0, b1) = extent(b);
    a0 < b1 && b0 < a1
}

/// Checks one list against the parameters: same length, and each tensor with its
/// parameter's shape, dtype and device.
fn check_like(op: &str, what: &str, list: &[Tensor], params: &[Tensor]) -> Result<()> {
    if list.len() != params.len() {
        return Err(err(format!(
            "{op}: expected {what} to hold {} tensors (one per parameter), got {}",
            params.len(),
            list.len()
        )));
    }
    for (i, (t, p)) in list.iter().zip(params).enumerate() {
        if t.shape() != p.shape() {
            return Err(err(format!(
                "{op}: {what}[{i}] has shape {}, but params[{i}] has shape {}",
                fmt_shape(t.shape()),
                fmt_shape(p.shape())
            )));
        }
        if t.dtype() != p.dtype() {
            return Err(err(format!(
                "{op}: {what}[{i}] has dtype {}, but params[{i}] has dtype {}",
                t.dtype().name(),
                p.dtype().name()
            )));
        }
        if t.device() != p.device() {
            return Err(err(format!(
                "{op}: {what}[{i}] is on {}, but params[{i}] is on {}",
                t.device(),
                p.device()
            )));
        }
    }
    Ok(())
}

/// All the checks of one fused op, done before anything is written.
///
/// `written` are the state lists the update writes (the parameters are written too).
fn check_all(
    op: &str,
    params: &[Tensor],
    grads: &[Tensor],
    written: &[(&str, &[Tensor])],
    steps: Option<&[Tensor]>,
) -> Result<()> {
    for (i, p) in params.iter().enumerate() {
        if !matches!(p.dtype(), DType::F32 | DType::F64) {
            return Err(err(format!(
                "{op}: params[{i}] has dtype {}, but the fused update supports only float32 and float64",
                p.dtype().name()
            )));
        }
        if !matches!(p.device(), Device::Cpu | Device::Meta) {
            return Err(err(format!(
                "{op}: params[{i}] is on {}, but the fused update runs on the CPU only",
                p.device()
            )));
        }
    }
    check_like(op, "grads", grads, params)?;
    for (what, list) in written {
        check_like(op, what, list, params)?;
    }
    for (i, p) in params.iter().enumerate() {
        let mut w: Vec<(&str, &Tensor)> = vec![("params", p)];
        w.extend(written.iter().map(|(what, list)| (*what, &list[i])));
        for (a, (wa, ta)) in w.iter().enumerate() {
            crate::autograd::view::check_no_internal_overlap(ta)?;
            for (wb, tb) in &w[a + 1..] {
                if overlaps(ta, tb) {
                    return Err(err(format!(
                        "{op}: {wa}[{i}] and {wb}[{i}] share memory; each must be its own tensor"
                    )));
                }
            }
        }
    }
    if let Some(steps) = steps {
        check_scalars(op, "state_steps", steps, params.len())?;
    }
    Ok(())
}

/// Checks a list of per-parameter scalar state (step counters, NAdam's `mu_product`):
/// one per parameter, each a one-element float32 or float64 CPU tensor.
fn check_scalars(op: &str, what: &str, list: &[Tensor], n: usize) -> Result<()> {
    if list.len() != n {
        return Err(err(format!(
            "{op}: expected {what} to hold {n} tensors (one per parameter), got {}",
            list.len()
        )));
    }
    for (i, s) in list.iter().enumerate() {
        if s.numel() != 1
            || !matches!(s.dtype(), DType::F32 | DType::F64)
            || s.device() != Device::Cpu
        {
            return Err(err(format!(
                "{op}: {what}[{i}] must be a one-element float32 or float64 CPU tensor, got shape {} dtype {} on {}",
                fmt_shape(s.shape()),
                s.dtype().name(),
                s.device()
            )));
        }
    }
    Ok(())
}

/// `step_t += 1` in the counter's own dtype; returns the new count (PyTorch's
/// `step_t += 1; step = step_t.item()`).
fn increment_step(step: &Tensor) -> Result<f64> {
    update_scalar(step, |v| v + 1.0, |v| v + 1.0)
}

/// Replaces the one value of a one-element float32/float64 CPU tensor (checked by
/// `check_scalars`) by `f32_op` / `f64_op` of it, computed in the tensor's dtype;
/// bumps its version and returns the new value.
fn update_scalar(
    t: &Tensor,
    f32_op: impl Fn(f32) -> f32,
    f64_op: impl Fn(f64) -> f64,
) -> Result<f64> {
    let v = match t.dtype() {
        DType::F64 => {
            // SAFETY: checked to be a one-element CPU tensor of dtype f64; no other
            // reference to its element is alive.
            let p = unsafe { t.cpu_slice_mut::<f64>()? };
            p[0] = f64_op(p[0]);
            p[0]
        }
        _ => {
            // SAFETY: as above, for the float32 case.
            let p = unsafe { t.cpu_slice_mut::<f32>()? };
            p[0] = f32_op(p[0]);
            f64::from(p[0])
        }
    };
    t.storage().bump_version();
    Ok(v)
}

/// A contiguous copy of `t` with no autograd history.
fn contiguous_copy(t: &Tensor) -> Result<Tensor> {
    let out = Tensor::uninit(t.shape(), t.dtype(), t.device())?;
    crate::ops::map::copy_cast(&out, t)?;
    Ok(out)
}

/// Whether `t` can be handed to the kernel as a slice where it lies.
fn direct<T: Element>(t: &Tensor) -> bool {
    t.is_contiguous()
        && t.cpu_view::<T>()
            .is_ok_and(|v| (v.ptr() as usize).is_multiple_of(std::mem::align_of::<T>()))
}

/// Runs `rule` over one parameter's tensors: `written[0]` is the parameter, the rest
/// its state; all were checked to share the parameter's shape and dtype `T`, to be on
/// the CPU and not to overlap one another.
///
/// Only the kernel call is generic over the rule; the preparation and the write-back
/// around it (`operands`, `write_back`) are compiled once per dtype instead of once per
/// (optimizer, flags) instantiation.
fn update_one<T: OptFloat + Element, const W: usize, R: Rule<T, W>>(
    written: [&Tensor; W],
    grad: &Tensor,
    rule: &R,
    maximize: bool,
) -> Result<()> {
    if let Some((g_t, w_t)) = operands::<T>(&written, grad)? {
        // `g_t` is contiguous and aligned and shares no memory with the written
        // tensors (else it is a fresh copy).
        let g: &[T] = g_t.cpu_slice::<T>()?;
        let mut ws: Vec<&mut [T]> = Vec::with_capacity(W);
        for t in &w_t {
            // SAFETY: each w_t[i] is contiguous and aligned; the written tensors were
            // checked not to overlap one another (copies are fresh buffers), so these
            // mutable slices are disjoint, and none aliases `g`. No other reference to
            // their memory is used until the slices are dropped at the end of `run`.
            ws.push(unsafe { t.cpu_slice_mut::<T>()? });
        }
        let w: [&mut [T]; W] = ws
            .try_into()
            .map_err(|_| Error::Runtime("internal error: optimizer state count".into()))?;
        k::run(g, w, rule, maximize);
        write_back(&written, &w_t)?;
    }
    for t in written {
        t.storage().bump_version();
    }
    Ok(())
}

/// The gradient and the written tensors as the kernel takes them: contiguous, aligned
/// and, for the gradient, sharing no memory with the written ones (copies where the
/// originals are not). None when there is nothing to compute (no elements, or a meta
/// parameter, whose checks above still ran).
#[allow(clippy::type_complexity)]
fn operands<T: Element>(
    written: &[&Tensor],
    grad: &Tensor,
) -> Result<Option<(Tensor, Vec<Tensor>)>> {
    if grad.numel() == 0 || grad.device() == Device::Meta {
        return Ok(None);
    }
    let g_t = if direct::<T>(grad) && !written.iter().any(|t| overlaps(t, grad)) {
        grad.clone()
    } else {
        contiguous_copy(grad)?
    };
    let mut w_t: Vec<Tensor> = Vec::with_capacity(written.len());
    for t in written {
        w_t.push(if direct::<T>(t) {
            (*t).clone()
        } else {
            contiguous_copy(t)?
        });
    }
    Ok(Some((g_t, w_t)))
}

/// Copies the kernel's results back into the written tensors it got copies of.
fn write_back(written: &[&Tensor], w_t: &[Tensor]) -> Result<()> {
    for (orig, tmp) in written.iter().zip(w_t) {
        if !orig.same(tmp) {
            crate::ops::map::copy_cast(orig, tmp)?;
        }
    }
    Ok(())
}

// ----------------------------------------------------------------- SGD

/// SGD's hyperparameters (Python floats).
#[derive(Clone, Copy, Debug)]
pub struct SgdOptions {
    pub lr: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
    pub maximize: bool,
}

/// One SGD step over `params`. `momentum_buffers[i]` is None before the first
/// momentum step; the result holds, for each parameter, the buffer created on this
/// step (a copy of the gradient, as PyTorch's first step makes) or None.
pub fn sgd_(
    params: &[Tensor],
    grads: &[Tensor],
    momentum_buffers: &[Option<Tensor>],
    o: &SgdOptions,
) -> Result<Vec<Option<Tensor>>> {
    const OP: &str = "_fused_sgd_";
    let use_momentum = o.momentum != 0.0;
    if use_momentum && momentum_buffers.len() != params.len() {
        return Err(err(format!(
            "{OP}: expected momentum_buffer_list to hold {} entries (one per parameter), got {}",
            params.len(),
            momentum_buffers.len()
        )));
    }
    // Existing buffers are checked like state; missing ones are created below.
    let existing: Vec<Tensor> = if use_momentum {
        params
            .iter()
            .zip(momentum_buffers)
            .map(|(p, b)| b.clone().unwrap_or_else(|| p.clone()))
            .collect()
    } else {
        Vec::new()
    };
    check_all(OP, params, grads, &[], None)?;
    if use_momentum {
        check_like(OP, "momentum_buffer_list", &existing, params)?;
        for (i, (p, b)) in params.iter().zip(momentum_buffers).enumerate() {
            if let Some(b) = b {
                crate::autograd::view::check_no_internal_overlap(b)?;
                if overlaps(p, b) {
                    return Err(err(format!(
                        "{OP}: params[{i}] and momentum_buffer_list[{i}] share memory; each must be its own tensor"
                    )));
                }
            }
        }
    }
    let mut created = vec![None; params.len()];
    for (i, (p, g)) in params.iter().zip(grads).enumerate() {
        crate::dispatch_f32_f64!(p.dtype(), T => {
            sgd_one::<T>(p, g, if use_momentum { Some(&momentum_buffers[i]) } else { None }, o, &mut created[i])?
        }, _ => return Err(err(format!("{OP}: unsupported dtype"))));
    }
    Ok(created)
}

trait FusedFloat: OptFloat + Element {}
impl FusedFloat for f32 {}
impl FusedFloat for f64 {}

fn sgd_one<T: FusedFloat>(
    p: &Tensor,
    g: &Tensor,
    buf: Option<&Option<Tensor>>,
    o: &SgdOptions,
    created: &mut Option<Tensor>,
) -> Result<()> {
    let s = k::SgdScalars {
        neg_lr: T::of(-o.lr),
        momentum: T::of(o.momentum),
        one_minus_dampening: T::of(1.0 - o.dampening),
        weight_decay: T::of(o.weight_decay),
    };
    let l2 = o.weight_decay != 0.0;
    // `by_flags!(written, Rule; extra const flags)`: picks the L2 flag.
    macro_rules! go {
        ($w:expr, $rule:ident; $($c:literal),*) => {
            update_one::<T, _, _>($w, g, &k::$rule::<T, $($c),*>(s), o.maximize)
        };
    }
    macro_rules! by_flags {
        ($w:expr, $rule:ident; $($c:literal),*) => {
            match l2 {
                false => go!($w, $rule; false $(, $c)*),
                true => go!($w, $rule; true $(, $c)*),
            }
        };
    }
    match buf {
        None => by_flags!([p], SgdPlain;),
        Some(Some(b)) => {
            if o.nesterov {
                by_flags!([p, b], SgdMomentum; false, true)
            } else {
                by_flags!([p, b], SgdMomentum; false, false)
            }
        }
        Some(None) => {
            // PyTorch keeps `torch.clone(grad)`: the buffer gets the parameter's shape.
            // Zero-filled (`empty`), so the kernel never reads uninitialised memory.
            let b = Tensor::empty(p.shape(), p.dtype(), p.device())?;
            if o.nesterov {
                by_flags!([p, &b], SgdMomentum; true, true)?
            } else {
                by_flags!([p, &b], SgdMomentum; true, false)?
            }
            *created = Some(b);
            Ok(())
        }
    }
}

// ----------------------------------------------------------------- Adam / AdamW

/// Adam's hyperparameters (Python floats).
#[derive(Clone, Copy, Debug)]
pub struct AdamOptions {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub maximize: bool,
    /// AdamW: decay the parameter by `1 - lr * weight_decay` instead of adding
    /// `weight_decay * param` to the gradient.
    pub decoupled_weight_decay: bool,
}

/// One Adam/AdamW step over `params` (AMSGrad when `max_exp_avg_sqs` is given).
/// Each step counter is incremented first; the bias corrections use the new count.
pub fn adam_(
    params: &[Tensor],
    grads: &[Tensor],
    exp_avgs: &[Tensor],
    exp_avg_sqs: &[Tensor],
    max_exp_avg_sqs: Option<&[Tensor]>,
    state_steps: &[Tensor],
    o: &AdamOptions,
) -> Result<()> {
    const OP: &str = "_fused_adam_";
    let mut written: Vec<(&str, &[Tensor])> =
        vec![("exp_avgs", exp_avgs), ("exp_avg_sqs", exp_avg_sqs)];
    if let Some(m) = max_exp_avg_sqs {
        written.push(("max_exp_avg_sqs", m));
    }
    check_all(OP, params, grads, &written, Some(state_steps))?;
    for (i, p) in params.iter().enumerate() {
        let step = increment_step(&state_steps[i])?;
        crate::dispatch_f32_f64!(p.dtype(), T => {
            adam_one::<T>(
                p,
                &grads[i],
                &exp_avgs[i],
                &exp_avg_sqs[i],
                max_exp_avg_sqs.map(|m| &m[i]),
                step,
                o,
            )?
        }, _ => return Err(err(format!("{OP}: unsupported dtype"))));
    }
    Ok(())
}

fn adam_one<T: FusedFloat>(
    p: &Tensor,
    g: &Tensor,
    m: &Tensor,
    v: &Tensor,
    vmax: Option<&Tensor>,
    step: f64,
    o: &AdamOptions,
) -> Result<()> {
    // Python float arithmetic, as PyTorch's step does it.
    let bias_correction1 = 1.0 - o.beta1.powf(step);
    let bias_correction2 = 1.0 - o.beta2.powf(step);
    let step_size = o.lr / bias_correction1;
    let bias_correction2_sqrt = bias_correction2.powf(0.5);
    let w1 = T::of(1.0 - o.beta1);
    let s = k::AdamScalars {
        w1,
        one_minus_w1: T::of(1.0) - w1,
        w1_small: w1 < T::of(0.5) && w1 > T::of(-0.5),
        beta2: T::of(o.beta2),
        one_minus_beta2: T::of(1.0 - o.beta2),
        weight_decay: T::of(o.weight_decay),
        decay: T::of(1.0 - o.lr * o.weight_decay),
        bias_correction2_sqrt: T::of(bias_correction2_sqrt),
        eps: T::of(o.eps),
        neg_step_size: T::of(-step_size),
    };
    let wd = match (o.weight_decay != 0.0, o.decoupled_weight_decay) {
        (false, _) => k::WD_NONE,
        (true, false) => k::WD_L2,
        (true, true) => k::WD_DECOUPLED,
    };
    macro_rules! go {
        ($w:expr) => {
            match wd {
                k::WD_NONE => {
                    update_one::<T, _, _>($w, g, &k::Adam::<T, { k::WD_NONE }>(s), o.maximize)
                }
                k::WD_L2 => {
                    update_one::<T, _, _>($w, g, &k::Adam::<T, { k::WD_L2 }>(s), o.maximize)
                }
                _ => {
                    update_one::<T, _, _>($w, g, &k::Adam::<T, { k::WD_DECOUPLED }>(s), o.maximize)
                }
            }
        };
    }
    match vmax {
        Some(vm) => go!([p, m, v, vm]),
        None => go!([p, m, v]),
    }
}

// ----------------------------------------------------------------- RMSprop

/// RMSprop's hyperparameters (Python floats).
#[derive(Clone, Copy, Debug)]
pub struct RmspropOptions {
    pub lr: f64,
    pub alpha: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    pub maximize: bool,
}

/// One RMSprop step over `params`: centered when `grad_avgs` is given, with momentum
/// when `momentum_buffers` is given (then `momentum > 0`). Step counters are
/// incremented (RMSprop's update does not read them).
pub fn rmsprop_(
    params: &[Tensor],
    grads: &[Tensor],
    square_avgs: &[Tensor],
    grad_avgs: Option<&[Tensor]>,
    momentum_buffers: Option<&[Tensor]>,
    state_steps: &[Tensor],
    o: &RmspropOptions,
) -> Result<()> {
    const OP: &str = "_fused_rmsprop_";
    let mut written: Vec<(&str, &[Tensor])> = vec![("square_avgs", square_avgs)];
    if let Some(ga) = grad_avgs {
        written.push(("grad_avgs", ga));
    }
    if let Some(b) = momentum_buffers {
        written.push(("momentum_buffer_list", b));
    }
    check_all(OP, params, grads, &written, Some(state_steps))?;
    for (i, p) in params.iter().enumerate() {
        increment_step(&state_steps[i])?;
        crate::dispatch_f32_f64!(p.dtype(), T => {
            rmsprop_one::<T>(
                p,
                &grads[i],
                &square_avgs[i],
                grad_avgs.map(|t| &t[i]),
                momentum_buffers.map(|t| &t[i]),
                o,
            )?
        }, _ => return Err(err(format!("{OP}: unsupported dtype"))));
    }
    Ok(())
}

fn rmsprop_one<T: FusedFloat>(
    p: &Tensor,
    g: &Tensor,
    sq: &Tensor,
    ga: Option<&Tensor>,
    buf: Option<&Tensor>,
    o: &RmspropOptions,
) -> Result<()> {
    let w = T::of(1.0 - o.alpha);
    let s = k::RmspropScalars {
        alpha: T::of(o.alpha),
        one_minus_alpha: T::of(1.0 - o.alpha),
        w,
        one_minus_w: T::of(1.0) - w,
        w_small: w < T::of(0.5) && w > T::of(-0.5),
        eps: T::of(o.eps),
        weight_decay: T::of(o.weight_decay),
        momentum: T::of(o.momentum),
        neg_lr: T::of(-o.lr),
    };
    let l2 = o.weight_decay != 0.0;
    macro_rules! go {
        ($w:expr, $c:literal, $m:literal) => {
            match l2 {
                false => {
                    update_one::<T, _, _>($w, g, &k::Rmsprop::<T, false, $c, $m>(s), o.maximize)
                }
                true => update_one::<T, _, _>($w, g, &k::Rmsprop::<T, true, $c, $m>(s), o.maximize),
            }
        };
    }
    match (ga, buf) {
        (None, None) => go!([p, sq], false, false),
        (Some(ga), None) => go!([p, sq, ga], true, false),
        (None, Some(b)) => go!([p, sq, b], false, true),
        (Some(ga), Some(b)) => go!([p, sq, ga, b], true, true),
    }
}

// ----------------------------------------------------------------- Adagrad

/// Adagrad's hyperparameters (Python floats).
#[derive(Clone, Copy, Debug)]
pub struct AdagradOptions {
    pub lr: f64,
    pub lr_decay: f64,
    pub weight_decay: f64,
    pub eps: f64,
    pub maximize: bool,
}

/// One Adagrad step over `params` (dense gradients).
pub fn adagrad_(
    params: &[Tensor],
    grads: &[Tensor],
    state_sums: &[Tensor],
    state_steps: &[Tensor],
    o: &AdagradOptions,
) -> Result<()> {
    const OP: &str = "_fused_adagrad_";
    check_all(
        OP,
        params,
        grads,
        &[("state_sums", state_sums)],
        Some(state_steps),
    )?;
    for (i, p) in params.iter().enumerate() {
        let step = increment_step(&state_steps[i])?;
        let clr = o.lr / (1.0 + (step - 1.0) * o.lr_decay);
        crate::dispatch_f32_f64!(p.dtype(), T => {
            let s = k::AdagradScalars {
                weight_decay: T::of(o.weight_decay),
                eps: T::of(o.eps),
                neg_clr: T::of(-clr),
            };
            let (g, sum) = (&grads[i], &state_sums[i]);
            match o.weight_decay != 0.0 {
                false => update_one::<T, 2, _>([p, sum], g, &k::Adagrad::<T, false>(s), o.maximize),
                true => update_one::<T, 2, _>([p, sum], g, &k::Adagrad::<T, true>(s), o.maximize),
            }?
        }, _ => return Err(err(format!("{OP}: unsupported dtype"))));
    }
    Ok(())
}

/// The lerp scalars `(1 - beta1, beta1, small)` of `m.lerp_(g, 1 - beta1)` in `T`.
fn lerp_weight<T: FusedFloat>(beta1: f64) -> (T, T, bool) {
    let w1 = T::of(1.0 - beta1);
    (w1, T::of(1.0) - w1, w1 < T::of(0.5) && w1 > T::of(-0.5))
}

/// The weight-decay mode of the Adam family.
fn wd_mode(weight_decay: f64, decoupled: bool) -> u8 {
    match (weight_decay != 0.0, decoupled) {
        (false, _) => k::WD_NONE,
        (true, false) => k::WD_L2,
        (true, true) => k::WD_DECOUPLED,
    }
}

/// `$go!(L2)` with the flag picked at run time.
macro_rules! by_l2 {
    ($l2:expr, $go:ident) => {
        match $l2 {
            false => $go!(false),
            true => $go!(true),
        }
    };
}

/// `$go!(WD)` with the weight-decay mode picked at run time.
macro_rules! by_wd {
    ($wd:expr, $go:ident) => {
        match $wd {
            k::WD_NONE => $go!({ k::WD_NONE }),
            k::WD_L2 => $go!({ k::WD_L2 }),
            _ => $go!({ k::WD_DECOUPLED }),
        }
    };
}

// ----------------------------------------------------------------- Adadelta

/// Adadelta's hyperparameters (Python floats).
#[derive(Clone, Copy, Debug)]
pub struct AdadeltaOptions {
    pub lr: f64,
    pub rho: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

/// One Adadelta step over `params`. Step counters are incremented (the update does
/// not read them).
pub fn adadelta_(
    params: &[Tensor],
    grads: &[Tensor],
    square_avgs: &[Tensor],
    acc_deltas: &[Tensor],
    state_steps: &[Tensor],
    o: &AdadeltaOptions,
) -> Result<()> {
    const OP: &str = "_fused_adadelta_";
    check_all(
        OP,
        params,
        grads,
        &[("square_avgs", square_avgs), ("acc_deltas", acc_deltas)],
        Some(state_steps),
    )?;
    for (i, p) in params.iter().enumerate() {
        increment_step(&state_steps[i])?;
        crate::dispatch_f32_f64!(p.dtype(), T => {
            let s = k::AdadeltaScalars {
                rho: T::of(o.rho),
                one_minus_rho: T::of(1.0 - o.rho),
                eps: T::of(o.eps),
                weight_decay: T::of(o.weight_decay),
                neg_lr: T::of(-o.lr),
            };
            let w = [p, &square_avgs[i], &acc_deltas[i]];
            macro_rules! go {
                ($l:literal) => {
                    update_one::<T, 3, _>(w, &grads[i], &k::Adadelta::<T, $l>(s), o.maximize)
                };
            }
            by_l2!(o.weight_decay != 0.0, go)?
        }, _ => return Err(err(format!("{OP}: unsupported dtype"))));
    }
    Ok(())
}

// ----------------------------------------------------------------- Adamax

/// Adamax's hyperparameters (Python floats).
#[derive(Clone, Copy, Debug)]
pub struct AdamaxOptions {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

/// One Adamax step over `params`; the bias correction uses the incremented count.
pub fn adamax_(
    params: &[Tensor],
    grads: &[Tensor],
    exp_avgs: &[Tensor],
    exp_infs: &[Tensor],
    state_steps: &[Tensor],
    o: &AdamaxOptions,
) -> Result<()> {
    const OP: &str = "_fused_adamax_";
    check_all(
        OP,
        params,
        grads,
        &[("exp_avgs", exp_avgs), ("exp_infs", exp_infs)],
        Some(state_steps),
    )?;
    for (i, p) in params.iter().enumerate() {
        let step = increment_step(&state_steps[i])?;
        let clr = o.lr / (1.0 - o.beta1.powf(step));
        crate::dispatch_f32_f64!(p.dtype(), T => {
            let (w1, one_minus_w1, w1_small) = lerp_weight::<T>(o.beta1);
            let s = k::AdamaxScalars {
                w1,
                one_minus_w1,
                w1_small,
                beta2: T::of(o.beta2),
                eps: T::of(o.eps),
                weight_decay: T::of(o.weight_decay),
                neg_clr: T::of(-clr),
            };
            let w = [p, &exp_avgs[i], &exp_infs[i]];
            macro_rules! go {
                ($l:literal) => {
                    update_one::<T, 3, _>(w, &grads[i], &k::Adamax::<T, $l>(s), o.maximize)
                };
            }
            by_l2!(o.weight_decay != 0.0, go)?
        }, _ => return Err(err(format!("{OP}: unsupported dtype"))));
    }
    Ok(())
}

// ----------------------------------------------------------------- NAdam

/// NAdam's hyperparameters (Python floats).
#[derive(Clone, Copy, Debug)]
pub struct NadamOptions {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum_decay: f64,
    pub decoupled_weight_decay: bool,
    pub maximize: bool,
}

/// One NAdam step over `params`. Each step counter is incremented and each
/// `mu_product` (a one-element tensor) multiplied by this step's momentum `mu_t`, in
/// its own dtype, as PyTorch's `mu_product *= mu` does.
pub fn nadam_(
    params: &[Tensor],
    grads: &[Tensor],
    exp_avgs: &[Tensor],
    exp_avg_sqs: &[Tensor],
    mu_products: &[Tensor],
    state_steps: &[Tensor],
    o: &NadamOptions,
) -> Result<()> {
    const OP: &str = "_fused_nadam_";
    check_all(
        OP,
        params,
        grads,
        &[("exp_avgs", exp_avgs), ("exp_avg_sqs", exp_avg_sqs)],
        Some(state_steps),
    )?;
    check_scalars(OP, "mu_products", mu_products, params.len())?;
    for (i, (mp, st)) in mu_products.iter().zip(state_steps).enumerate() {
        if overlaps(mp, st) || overlaps(mp, &params[i]) {
            return Err(err(format!(
                "{OP}: mu_products[{i}] shares memory with state_steps[{i}] or params[{i}]; each must be its own tensor"
            )));
        }
    }
    let wd = wd_mode(o.weight_decay, o.decoupled_weight_decay);
    for (i, p) in params.iter().enumerate() {
        let step = increment_step(&state_steps[i])?;
        // Python float arithmetic, as PyTorch's step does it.
        let bias_correction2 = 1.0 - o.beta2.powf(step);
        let mu = o.beta1 * (1.0 - 0.5 * 0.96f64.powf(step * o.momentum_decay));
        let mu_next = o.beta1 * (1.0 - 0.5 * 0.96f64.powf((step + 1.0) * o.momentum_decay));
        let mu_f32 = mu as f32;
        let mu_product = update_scalar(&mu_products[i], |v| v * mu_f32, |v| v * mu)?;
        let mu_product_next = mu_product * mu_next;
        let grad_coef = -o.lr * (1.0 - mu) / (1.0 - mu_product);
        let avg_coef = (-o.lr * mu_next) / (1.0 - mu_product_next);
        crate::dispatch_f32_f64!(p.dtype(), T => {
            let (w1, one_minus_w1, w1_small) = lerp_weight::<T>(o.beta1);
            let s = k::NadamScalars {
                w1,
                one_minus_w1,
                w1_small,
                beta2: T::of(o.beta2),
                one_minus_beta2: T::of(1.0 - o.beta2),
                weight_decay: T::of(o.weight_decay),
                decay: T::of(1.0 - o.lr * o.weight_decay),
                bias_correction2: T::of(bias_correction2),
                eps: T::of(o.eps),
                grad_coef: T::of(grad_coef),
                avg_coef: T::of(avg_coef),
            };
            let w = [p, &exp_avgs[i], &exp_avg_sqs[i]];
            macro_rules! go {
                ($wd:block) => {
                    update_one::<T, 3, _>(w, &grads[i], &k::Nadam::<T, $wd>(s), o.maximize)
                };
            }
            by_wd!(wd, go)?
        }, _ => return Err(err(format!("{OP}: unsupported dtype"))));
    }
    Ok(())
}

// ----------------------------------------------------------------- RAdam

/// RAdam's hyperparameters (Python floats).
#[derive(Clone, Copy, Debug)]
pub struct RadamOptions {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub decoupled_weight_decay: bool,
    pub maximize: bool,
}

/// One RAdam step over `params`: rectified while the approximated SMA length
/// `rho_t` exceeds 5, a bias-corrected momentum step before that.
pub fn radam_(
    params: &[Tensor],
    grads: &[Tensor],
    exp_avgs: &[Tensor],
    exp_avg_sqs: &[Tensor],
    state_steps: &[Tensor],
    o: &RadamOptions,
) -> Result<()> {
    const OP: &str = "_fused_radam_";
    check_all(
        OP,
        params,
        grads,
        &[("exp_avgs", exp_avgs), ("exp_avg_sqs", exp_avg_sqs)],
        Some(state_steps),
    )?;
    let wd = wd_mode(o.weight_decay, o.decoupled_weight_decay);
    for (i, p) in params.iter().enumerate() {
        let step = increment_step(&state_steps[i])?;
        // Python float arithmetic, as PyTorch's step does it.
        let bias_correction1 = 1.0 - o.beta1.powf(step);
        let bias_correction2 = 1.0 - o.beta2.powf(step);
        let rho_inf = 2.0 / (1.0 - o.beta2) - 1.0;
        let rho_t = rho_inf - 2.0 * step * o.beta2.powf(step) / bias_correction2;
        let rectified = rho_t > 5.0;
        let rect = if rectified {
            ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                .powf(0.5)
        } else {
            1.0
        };
        crate::dispatch_f32_f64!(p.dtype(), T => {
            let (w1, one_minus_w1, w1_small) = lerp_weight::<T>(o.beta1);
            let s = k::RadamScalars {
                w1,
                one_minus_w1,
                w1_small,
                beta2: T::of(o.beta2),
                one_minus_beta2: T::of(1.0 - o.beta2),
                weight_decay: T::of(o.weight_decay),
                decay: T::of(1.0 - o.lr * o.weight_decay),
                bias_correction1: T::of(bias_correction1),
                lr: T::of(o.lr),
                eps: T::of(o.eps),
                bias_correction2_sqrt: T::of(bias_correction2.powf(0.5)),
                rect: T::of(rect),
            };
            let w = [p, &exp_avgs[i], &exp_avg_sqs[i]];
            macro_rules! go {
                ($wd:block) => {
                    if rectified {
                        update_one::<T, 3, _>(w, &grads[i], &k::Radam::<T, $wd, true>(s), o.maximize)
                    } else {
                        update_one::<T, 3, _>(w, &grads[i], &k::Radam::<T, $wd, false>(s), o.maximize)
                    }
                };
            }
            by_wd!(wd, go)?
        }, _ => return Err(err(format!("{OP}: unsupported dtype"))));
    }
    Ok(())
}
