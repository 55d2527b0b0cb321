//! Fused batch norm and layer norm (forward: statistics, normalization and affine in
//! Rust kernels; backward: one reduction pass and one elementwise pass).
//!
//! The backward kernels serve ordinary `backward()`. Under `create_graph=True` (grad
//! mode on inside backward) the same gradient is built from differentiable core ops
//! instead, so higher-order gradients keep working.
//!
//! The Python layer (`nn.functional`) checks the arguments with PyTorch's messages; the
//! checks here guard the kernels.

use crate::autograd::{is_grad_enabled, needs_grad, record, SavedTensor};
use crate::cpu::norm as k;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

use super::binary::{add_scaled, mul, sub, Rhs};
use super::reduce::{mean, sum};

/// The dtype the kernels compute in: f64 for f64, f32 for the rest (half types are
/// widened on the way in and narrowed on the way out).
fn compute_dtype(dt: DType) -> DType {
    if dt == DType::F64 {
        DType::F64
    } else {
        DType::F32
    }
}

/// `t` contiguous, detached, in `dt`.
fn prepared(t: &Tensor, dt: DType) -> Result<Tensor> {
    super::cast_view(&super::copy::contiguous(&t.detach())?, dt)
}

fn f64s(t: Option<&Tensor>) -> Result<Option<Vec<f64>>> {
    t.map(|t| t.detach().to_vec::<f64>()).transpose()
}

fn not_floating(t: &Tensor) -> Error {
    Error::Runtime(format!(
        "expected a floating point input, got {}",
        t.dtype().scalar_type_name()
    ))
}

/// A fresh tensor of `shape`/`dt` filled from f64 values.
fn from_f64(v: &[f64], shape: &[usize], dt: DType) -> Result<Tensor> {
    super::copy::to_dtype(&Tensor::from_vec(v.to_vec(), shape)?, dt)
}

fn add_scalar(t: &Tensor, s: f64) -> Result<Tensor> {
    add_scaled(t, &Rhs::Scalar(Scalar::Float(s)), Scalar::Int(1))
}

/// Runs `body` with the compute type's kernels on `(xs, out)` slices.
macro_rules! with_float {
    ($dt:expr, $T:ident => $body:expr) => {{
        if $dt == DType::F64 {
            type $T = f64;
            $body
        } else {
            type $T = f32;
            $body
        }
    }};
}

/// `(n, c, s)` of an `(N, C, *)` input.
fn ncs(x: &Tensor) -> Result<(usize, usize, usize)> {
    let sh = x.shape();
    if sh.len() < 2 {
        return Err(Error::Value(format!(
            "Expected 2D or higher input (got {}D input)",
            sh.len()
        )));
    }
    Ok((sh[0], sh[1], sh[2..].iter().product()))
}

/// Updates a running statistic in place: `r = (1 - m) * r + m * v`.
fn update_running(r: &Tensor, v: &[f64], m: f64) -> Result<()> {
    let old = r.detach().to_vec::<f64>()?;
    if old.len() != v.len() {
        return Err(Error::Runtime(format!(
            "running statistic should contain {} elements not {}",
            v.len(),
            old.len()
        )));
    }
    let new: Vec<f64> = old
        .iter()
        .zip(v)
        .map(|(&o, &s)| (1.0 - m) * o + m * s)
        .collect();
    let t = from_f64(&new, r.shape(), r.dtype())?;
    let _g = crate::autograd::GradModeGuard::new(false);
    super::copy::copy_(r, &t)
}

/// `F.batch_norm`. In training the batch statistics normalise (biased variance) and the
/// running statistics, when given, are updated in place with `momentum` (the running
/// variance with the unbiased batch variance); otherwise the running statistics
/// normalise.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm(
    x: &Tensor,
    running_mean: Option<&Tensor>,
    running_var: Option<&Tensor>,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    training: bool,
    momentum: f64,
    eps: f64,
) -> Result<Tensor> {
    if !x.dtype().is_floating_point() {
        return Err(not_floating(x));
    }
    let (n, c, s) = ncs(x)?;
    let count = n * s;
    let given: Vec<&Tensor> = std::iter::once(x).chain(weight).chain(bias).collect();
    if super::any_meta(&given) {
        // Running statistics on meta have no values to update.
        return super::meta_result("NativeBatchNormBackward0", &given, x.shape(), x.dtype());
    }
    let dt = compute_dtype(x.dtype());
    let xs = prepared(x, dt)?;
    let w = f64s(weight)?;
    let b = f64s(bias)?;
    for v in [&w, &b].into_iter().flatten() {
        if v.len() != c {
            return Err(Error::Runtime(format!(
                "weight and bias should contain {c} elements not {}",
                v.len()
            )));
        }
    }
    // (center, rstd) per channel.
    let stats: Vec<(f64, f64)> = if training {
        if count <= 1 {
            return Err(Error::Value(format!(
                "Expected more than 1 value per channel when training, got input size {}",
                crate::layout::fmt_shape(x.shape())
            )));
        }
        let mv = with_float!(dt, T => {
            let xv: &[T] = xs.cpu_slice::<T>()?;
            k::batch_norm_stats(xv, n, c, s)
        });
        if let Some(rm) = running_mean {
            let m: Vec<f64> = mv.iter().map(|p| p.0).collect();
            update_running(rm, &m, momentum)?;
        }
        if let Some(rv) = running_var {
            let f = count as f64 / (count - 1) as f64;
            let v: Vec<f64> = mv.iter().map(|p| p.1 * f).collect();
            update_running(rv, &v, momentum)?;
        }
        mv.iter()
            .map(|&(m, v)| (m, 1.0 / (v + eps).sqrt()))
            .collect()
    } else {
        let (Some(rm), Some(rv)) = (running_mean, running_var) else {
            return Err(Error::Runtime(
                "running_mean and running_var must be defined in evaluation mode".into(),
            ));
        };
        let m = rm.detach().to_vec::<f64>()?;
        let v = rv.detach().to_vec::<f64>()?;
        if m.len() != c || v.len() != c {
            return Err(Error::Runtime(format!(
                "running_mean should contain {c} elements not {}",
                m.len().min(v.len())
            )));
        }
        m.iter()
            .zip(&v)
            .map(|(&m, &v)| (m, 1.0 / (v + eps).sqrt()))
            .collect()
    };
    let ab: Vec<(f64, f64)> = (0..c)
        .map(|ch| {
            let (m, r) = stats[ch];
            let a = r * w.as_ref().map_or(1.0, |w| w[ch]);
            (a, b.as_ref().map_or(0.0, |b| b[ch]) - m * a)
        })
        .collect();
    let out = Tensor::uninit(x.shape(), dt, x.device())?;
    with_float!(dt, T => {
        let xv: &[T] = xs.cpu_slice::<T>()?;
        // SAFETY: `out` is fresh, contiguous, of T, and only written here.
        let ov: &mut [T] = unsafe { out.cpu_slice_mut()? };
        k::channel_affine(xv, ov, c, s, &ab);
    });
    let out = super::cast_view(&out, x.dtype())?;
    let mut inputs: Vec<&Tensor> = vec![x];
    inputs.extend(weight);
    inputs.extend(bias);
    if needs_grad(&inputs) {
        let sx = SavedTensor::input(x);
        let sw = weight.map(SavedTensor::input);
        let (has_w, has_b) = (weight.is_some(), bias.is_some());
        let (x_req, w_req, b_req) = (
            x.requires_grad(),
            weight.is_some_and(|t| t.requires_grad()),
            bias.is_some_and(|t| t.requires_grad()),
        );
        let (wshape, wdt) =
            weight.map_or((vec![c], x.dtype()), |t| (t.shape().to_vec(), t.dtype()));
        let (bshape, bdt) = bias.map_or((vec![c], x.dtype()), |t| (t.shape().to_vec(), t.dtype()));
        record("NativeBatchNormBackward0", &inputs, &out, move |ctx, g| {
            let x = sx.unpack(ctx)?;
            let wt = sw.as_ref().map(|s| s.unpack(ctx)).transpose()?;
            let (gx, gw, gb) = if is_grad_enabled() {
                bn_backward_graph(g, &x, wt.as_ref(), &stats, training, eps)?
            } else {
                let dt = compute_dtype(x.dtype());
                let xs = prepared(&x, dt)?;
                let gs = prepared(g, dt)?;
                let red = with_float!(dt, T => {
                    let center: Vec<f64> = stats.iter().map(|p| p.0).collect();
                    k::batch_norm_backward_reduce(
                        gs.cpu_slice::<T>()?,
                        xs.cpu_slice::<T>()?,
                        n, c, s, &center,
                    )
                });
                let wv = wt
                    .as_ref()
                    .map(|t| t.detach().to_vec::<f64>())
                    .transpose()?;
                let gx = if x_req {
                    let m = count as f64;
                    let abc: Vec<(f64, f64, f64)> = (0..c)
                        .map(|ch| {
                            let (mu, r) = stats[ch];
                            let a = r * wv.as_ref().map_or(1.0, |w| w[ch]);
                            if training {
                                let (sg, sgx) = red[ch];
                                let kk = r * r * sgx / m;
                                (a, -a * kk, a * (kk * mu - sg / m))
                            } else {
                                (a, 0.0, 0.0)
                            }
                        })
                        .collect();
                    let o = Tensor::uninit(x.shape(), dt, x.device())?;
                    with_float!(dt, T => {
                        // SAFETY: `o` is fresh, contiguous, of T, and only written here.
                        let ov: &mut [T] = unsafe { o.cpu_slice_mut()? };
                        k::channel_fma2(
                            gs.cpu_slice::<T>()?,
                            xs.cpu_slice::<T>()?,
                            ov, c, s, &abc,
                        );
                    });
                    Some(super::cast_view(&o, x.dtype())?)
                } else {
                    None
                };
                let gw = if w_req {
                    let v: Vec<f64> = (0..c).map(|ch| red[ch].1 * stats[ch].1).collect();
                    Some(from_f64(&v, &wshape, wdt)?)
                } else {
                    None
                };
                let gb = if b_req {
                    let v: Vec<f64> = red.iter().map(|p| p.0).collect();
                    Some(from_f64(&v, &bshape, bdt)?)
                } else {
                    None
                };
                (gx, gw, gb)
            };
            let mut grads = vec![gx];
            if has_w {
                grads.push(gw);
            }
            if has_b {
                grads.push(gb);
            }
            Ok(grads)
        });
    }
    Ok(out)
}

/// Batch-norm gradients from differentiable ops (for `create_graph=True`).
fn bn_backward_graph(
    g: &Tensor,
    x: &Tensor,
    w: Option<&Tensor>,
    stats: &[(f64, f64)],
    training: bool,
    eps: f64,
) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
    let nd = x.dim();
    let c = x.shape()[1];
    let mut shape = vec![1i64; nd];
    shape[1] = c as i64;
    let dims: Vec<i64> = std::iter::once(0).chain(2..nd as i64).collect();
    let view = |t: &Tensor| super::shape::reshape(t, &shape);
    let gwv = match w {
        Some(w) => mul(g, &view(w)?)?,
        None => g.clone(),
    };
    let (gx, xhat) = if training {
        let mu = mean(x, &dims, true, None)?;
        let xc = sub(x, &mu)?;
        let var = mean(&mul(&xc, &xc)?, &dims, true, None)?;
        let rstd = super::unary::rsqrt(&add_scalar(&var, eps)?)?;
        let xhat = mul(&xc, &rstd)?;
        let t1 = mean(&gwv, &dims, true, None)?;
        let t2 = mul(&xhat, &mean(&mul(&gwv, &xhat)?, &dims, true, None)?)?;
        (mul(&rstd, &sub(&sub(&gwv, &t1)?, &t2)?)?, xhat)
    } else {
        let cm: Vec<f64> = stats.iter().map(|p| p.0).collect();
        let cr: Vec<f64> = stats.iter().map(|p| p.1).collect();
        let mu = view(&from_f64(&cm, &[c], x.dtype())?)?;
        let rstd = view(&from_f64(&cr, &[c], x.dtype())?)?;
        (mul(&gwv, &rstd)?, mul(&sub(x, &mu)?, &rstd)?)
    };
    let gw = match w {
        Some(w) => Some(super::shape::reshape_to(
            &sum(&mul(g, &xhat)?, &dims, false, None)?,
            w.shape(),
        )?),
        None => None,
    };
    let gb = Some(sum(g, &dims, false, None)?);
    Ok((Some(gx), gw, gb))
}

/// `F.layer_norm` over the last `k` dims of `x` (`weight`/`bias` of that shape).
pub fn layer_norm(
    x: &Tensor,
    k_dims: usize,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<Tensor> {
    if !x.dtype().is_floating_point() {
        return Err(not_floating(x));
    }
    let nd = x.dim();
    if k_dims == 0 || k_dims > nd {
        return Err(Error::Runtime("layer_norm: bad normalized_shape".into()));
    }
    let d: usize = x.shape()[nd - k_dims..].iter().product();
    for t in [weight, bias].into_iter().flatten() {
        if t.numel() != d {
            return Err(Error::Runtime(format!(
                "layer_norm: weight/bias should contain {d} elements not {}",
                t.numel()
            )));
        }
    }
    let given: Vec<&Tensor> = std::iter::once(x).chain(weight).chain(bias).collect();
    if super::any_meta(&given) {
        return super::meta_result("NativeLayerNormBackward0", &given, x.shape(), x.dtype());
    }
    let dt = compute_dtype(x.dtype());
    let xs = prepared(x, dt)?;
    let ws = weight.map(|t| prepared(t, dt)).transpose()?;
    let bs = bias.map(|t| prepared(t, dt)).transpose()?;
    let out = Tensor::uninit(x.shape(), dt, x.device())?;
    let stats = with_float!(dt, T => {
        // SAFETY: `out` is fresh, contiguous, of T, and only written here.
        let ov: &mut [T] = unsafe { out.cpu_slice_mut()? };
        k::layer_norm_forward(
            xs.cpu_slice::<T>()?,
            ov,
            d,
            ws.as_ref().and_then(|t| t.as_slice::<T>()),
            bs.as_ref().and_then(|t| t.as_slice::<T>()),
            eps,
        )
    });
    let out = super::cast_view(&out, x.dtype())?;
    let mut inputs: Vec<&Tensor> = vec![x];
    inputs.extend(weight);
    inputs.extend(bias);
    if needs_grad(&inputs) {
        let sx = SavedTensor::input(x);
        let sw = weight.map(SavedTensor::input);
        let (has_w, has_b) = (weight.is_some(), bias.is_some());
        let (x_req, w_req, b_req) = (
            x.requires_grad(),
            weight.is_some_and(|t| t.requires_grad()),
            bias.is_some_and(|t| t.requires_grad()),
        );
        let wmeta = weight.map(|t| (t.shape().to_vec(), t.dtype()));
        let bmeta = bias.map(|t| (t.shape().to_vec(), t.dtype()));
        record("NativeLayerNormBackward0", &inputs, &out, move |ctx, g| {
            let x = sx.unpack(ctx)?;
            let wt = sw.as_ref().map(|s| s.unpack(ctx)).transpose()?;
            let (gx, gw, gb) = if is_grad_enabled() {
                ln_backward_graph(g, &x, wt.as_ref(), k_dims, eps)?
            } else {
                let dt = compute_dtype(x.dtype());
                let xs = prepared(&x, dt)?;
                let gs = prepared(g, dt)?;
                let ws = wt.as_ref().map(|t| prepared(t, dt)).transpose()?;
                let o = Tensor::uninit(x.shape(), dt, x.device())?;
                let want_wb = w_req || b_req;
                let (gw, gb) = with_float!(dt, T => {
                    // SAFETY: `o` is fresh, contiguous, of T, and only written here.
                    let ov: &mut [T] = unsafe { o.cpu_slice_mut()? };
                    k::layer_norm_backward(
                        gs.cpu_slice::<T>()?,
                        xs.cpu_slice::<T>()?,
                        &stats,
                        ws.as_ref().and_then(|t| t.as_slice::<T>()),
                        ov,
                        d,
                        want_wb,
                    )
                });
                let gx = if x_req {
                    Some(super::cast_view(&o, x.dtype())?)
                } else {
                    None
                };
                let gw = match (&wmeta, w_req) {
                    (Some((sh, wd)), true) => Some(from_f64(&gw, sh, *wd)?),
                    _ => None,
                };
                let gb = match (&bmeta, b_req) {
                    (Some((sh, bd)), true) => Some(from_f64(&gb, sh, *bd)?),
                    _ => None,
                };
                (gx, gw, gb)
            };
            let mut grads = vec![gx];
            if has_w {
                grads.push(gw);
            }
            if has_b {
                grads.push(gb);
            }
            Ok(grads)
        });
    }
    Ok(out)
}

/// Layer-norm gradients from differentiable ops (for `create_graph=True`).
fn ln_backward_graph(
    g: &Tensor,
    x: &Tensor,
    w: Option<&Tensor>,
    k_dims: usize,
    eps: f64,
) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
    let nd = x.dim() as i64;
    let dims: Vec<i64> = (nd - k_dims as i64..nd).collect();
    let lead: Vec<i64> = (0..nd - k_dims as i64).collect();
    let mu = mean(x, &dims, true, None)?;
    let xc = sub(x, &mu)?;
    let var = mean(&mul(&xc, &xc)?, &dims, true, None)?;
    let rstd = super::unary::rsqrt(&add_scalar(&var, eps)?)?;
    let xhat = mul(&xc, &rstd)?;
    let gwv = match w {
        Some(w) => mul(g, w)?,
        None => g.clone(),
    };
    let t1 = mean(&gwv, &dims, true, None)?;
    let t2 = mul(&xhat, &mean(&mul(&gwv, &xhat)?, &dims, true, None)?)?;
    let gx = mul(&rstd, &sub(&sub(&gwv, &t1)?, &t2)?)?;
    // Sum over the leading dims (none when the input is one normalized block).
    let lead_sum = |t: &Tensor| -> Result<Tensor> {
        if lead.is_empty() {
            Ok(t.clone())
        } else {
            sum(t, &lead, false, None)
        }
    };
    let gw = match w {
        Some(w) => Some(super::shape::reshape_to(
            &lead_sum(&mul(g, &xhat)?)?,
            w.shape(),
        )?),
        None => None,
    };
    let gb = Some(lead_sum(g)?);
    Ok((Some(gx), gw, gb))
}

/// `F.group_norm` on a float32/float64 input `(N, C, *)` in `num_groups` groups of
/// channels, with the optional per-channel `weight` and `bias`; PyTorch's checks.
pub fn group_norm(
    x: &Tensor,
    num_groups: i64,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<Tensor> {
    if !x.dtype().is_floating_point() {
        return Err(not_floating(x));
    }
    let sh = x.shape();
    if sh.len() < 2 {
        return Err(Error::Runtime(format!(
            "Expected at least 2 dimensions for input tensor but received {}",
            sh.len()
        )));
    }
    let c = sh[1];
    let shape_str = crate::layout::fmt_shape(sh);
    let c_i =
        i64::try_from(c).map_err(|_| Error::Runtime("group_norm: too many channels".into()))?;
    if num_groups == 0 || c_i % num_groups != 0 {
        return Err(Error::Runtime(format!(
            "Expected number of channels in input to be divisible by num_groups, but got input of shape {shape_str} and num_groups={num_groups}"
        )));
    }
    let given = [(weight, "weight"), (bias, "bias")]
        .into_iter()
        .filter_map(|(t, name)| t.map(|t| (t, name)));
    for (t, name) in given {
        if t.dim() != 1 || t.numel() != c {
            return Err(Error::Runtime(format!(
                "Expected {name} to be a vector of size equal to the number of channels in input, but got {name} of shape {} and input of shape {shape_str}",
                crate::layout::fmt_shape(t.shape())
            )));
        }
    }
    if num_groups <= 0 {
        return Err(Error::Runtime(format!(
            "Expected num groups to be greater than 0, got {num_groups}"
        )));
    }
    if c == 0 {
        return Err(Error::Runtime(
            "Expected number of channels to be greater than 0, got 0".into(),
        ));
    }
    let hw: usize = sh[2..].iter().product();
    if hw == 0 {
        return Err(Error::Runtime(
            "Expected HxW to be greater than 0, got 0".into(),
        ));
    }
    let groups = usize::try_from(num_groups)
        .map_err(|_| Error::Runtime(format!("group_norm: bad num_groups {num_groups}")))?;
    let given: Vec<&Tensor> = std::iter::once(x).chain(weight).chain(bias).collect();
    if super::any_meta(&given) {
        return super::meta_result("NativeGroupNormBackward0", &given, x.shape(), x.dtype());
    }
    let dt = compute_dtype(x.dtype());
    let xs = prepared(x, dt)?;
    let w = f64s(weight)?;
    let b = f64s(bias)?;
    let out = Tensor::uninit(x.shape(), dt, x.device())?;
    let stats = with_float!(dt, T => {
        let xv: &[T] = xs.cpu_slice::<T>()?;
        // SAFETY: `out` is fresh, contiguous, of T, and only written here.
        let ov: &mut [T] = unsafe { out.cpu_slice_mut()? };
        k::group_norm_forward(xv, ov, c, groups, hw, w.as_deref(), b.as_deref(), eps)
    });
    let out = super::cast_view(&out, x.dtype())?;
    let mut inputs: Vec<&Tensor> = vec![x];
    inputs.extend(weight);
    inputs.extend(bias);
    if needs_grad(&inputs) {
        let sx = SavedTensor::input(x);
        let sw = weight.map(SavedTensor::input);
        let (has_w, has_b) = (weight.is_some(), bias.is_some());
        let (x_req, w_req, b_req) = (
            x.requires_grad(),
            weight.is_some_and(|t| t.requires_grad()),
            bias.is_some_and(|t| t.requires_grad()),
        );
        let wmeta = weight.map(|t| (t.shape().to_vec(), t.dtype()));
        let bmeta = bias.map(|t| (t.shape().to_vec(), t.dtype()));
        record("NativeGroupNormBackward0", &inputs, &out, move |ctx, g| {
            let x = sx.unpack(ctx)?;
            let wt = sw.as_ref().map(|s| s.unpack(ctx)).transpose()?;
            let (gx, gw, gb) = if is_grad_enabled() {
                gn_backward_graph(g, &x, wt.as_ref(), groups, eps)?
            } else {
                let dt = compute_dtype(x.dtype());
                let xs = prepared(&x, dt)?;
                let gs = prepared(g, dt)?;
                let wv = f64s(wt.as_ref())?;
                let o = if x_req {
                    Some(Tensor::uninit(x.shape(), dt, x.device())?)
                } else {
                    None
                };
                let (gw, gb) = with_float!(dt, T => {
                    // SAFETY: `o` is fresh, contiguous, of T, and only written here.
                    let ov: Option<&mut [T]> = o.as_ref().map(|o| unsafe { o.cpu_slice_mut() }).transpose()?;
                    k::group_norm_backward(
                        gs.cpu_slice::<T>()?,
                        xs.cpu_slice::<T>()?,
                        &stats,
                        wv.as_deref(),
                        ov,
                        c,
                        groups,
                        hw,
                    )
                });
                let gx = o.map(|o| super::cast_view(&o, x.dtype())).transpose()?;
                let gw = match (&wmeta, w_req) {
                    (Some((sh, wd)), true) => Some(from_f64(&gw, sh, *wd)?),
                    _ => None,
                };
                let gb = match (&bmeta, b_req) {
                    (Some((sh, bd)), true) => Some(from_f64(&gb, sh, *bd)?),
                    _ => None,
                };
                (gx, gw, gb)
            };
            let mut grads = vec![gx];
            if has_w {
                grads.push(gw);
            }
            if has_b {
                grads.push(gb);
            }
            Ok(grads)
        });
    }
    Ok(out)
}

/// Group-norm gradients from differentiable ops (for `create_graph=True`).
fn gn_backward_graph(
    g: &Tensor,
    x: &Tensor,
    w: Option<&Tensor>,
    groups: usize,
    eps: f64,
) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
    let sh: Vec<i64> = x.shape().iter().map(|&v| v as i64).collect();
    let nd = sh.len();
    let (n, gi) = (sh[0], groups as i64);
    let d = sh[1] / gi.max(1) * sh[2..].iter().product::<i64>();
    let grouped = [n, gi, d];
    let mut cshape = vec![1i64; nd];
    cshape[1] = sh[1];
    let gwv = match w {
        Some(w) => mul(g, &super::shape::reshape(w, &cshape)?)?,
        None => g.clone(),
    };
    let xr = super::shape::reshape(x, &grouped)?;
    let gr = super::shape::reshape(&gwv, &grouped)?;
    let mu = mean(&xr, &[2], true, None)?;
    let xc = sub(&xr, &mu)?;
    let var = mean(&mul(&xc, &xc)?, &[2], true, None)?;
    let rstd = super::unary::rsqrt(&add_scalar(&var, eps)?)?;
    let xhat = mul(&xc, &rstd)?;
    let t1 = mean(&gr, &[2], true, None)?;
    let t2 = mul(&xhat, &mean(&mul(&gr, &xhat)?, &[2], true, None)?)?;
    let gx = super::shape::reshape(&mul(&rstd, &sub(&sub(&gr, &t1)?, &t2)?)?, &sh)?;
    let xhat = super::shape::reshape(&xhat, &sh)?;
    let dims: Vec<i64> = std::iter::once(0).chain(2..nd as i64).collect();
    let gw = match w {
        Some(w) => Some(super::shape::reshape_to(
            &sum(&mul(g, &xhat)?, &dims, false, None)?,
            w.shape(),
        )?),
        None => None,
    };
    let gb = Some(sum(g, &dims, false, None)?);
    Ok((Some(gx), gw, gb))
}
