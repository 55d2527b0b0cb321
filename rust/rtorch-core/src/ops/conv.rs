//! `conv2d` as one op: a float32/float64 forward kernel and fused kernels for the input,
//! weight and bias gradients (`cpu/conv.rs`), recorded as one `ConvolutionBackward0`
//! node as in PyTorch.
//!
//! Under `create_graph=True` (grad mode on inside backward) the gradients are built
//! from differentiable ops instead (im2col/col2im and matmul), so higher-order
//! gradients keep working.
//!
//! bfloat16/float16: the forward is im2col and one batched 16-bit product, the bias
//! added to its float32 sums before the one rounding, as PyTorch's (oneDNN) convolution
//! does; the gradients are the float32 kernels' on widened operands, rounded once.
//! Output images narrower than the product kernel's 32-column panel run as one product
//! per group as wide as the batch. bfloat16 with one group and unit stride and
//! dilation takes the direct AVX512-BF16 kernels (`cpu/conv_bf16.rs`,
//! `cpu/conv_bf16_wgrad.rs`) instead, for the forward and the weight gradient where
//! the shape suits them, where the CPU has them (and no AMX). Where bfloat16 products
//! are native (AVX512-BF16 or AMX), the bfloat16 input gradient with unit stride and
//! dilation is the forward convolution of `gy` with the flipped weights (any of the
//! forward's routes), and the weight gradient outside the direct kernel one product
//! per group over the whole batch. Other dtypes take the composite path in Python.
//!
//! The Python layer (`nn.functional`) checks the arguments with PyTorch's messages and
//! applies asymmetric padding; the checks here guard the kernels.

use crate::autograd::{is_grad_enabled, needs_grad, record, SavedTensor};
use crate::cpu::conv::{self as k, ConvGeom};
use crate::cpu::gemm;
use crate::cpu::{conv_bf16, conv_bf16_wgrad};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

use super::shape::{expand, reshape, reshape_to};

use super::window::{col2im, im2col, Window2d};

/// The checked geometry of `x (n, c, h, w)` convolved with `w (o, c/groups, kh, kw)`.
fn geometry(x: &Tensor, w: &Tensor, win: &Window2d, groups: i64) -> Result<ConvGeom> {
    let (xs, ws) = (x.shape(), w.shape());
    if xs.len() != 4 || ws.len() != 4 {
        return Err(Error::Runtime(format!(
            "conv2d: expected a 4-D input and a 4-D weight, got {}-D and {}-D",
            xs.len(),
            ws.len()
        )));
    }
    if groups <= 0 {
        return Err(Error::Runtime(
            "non-positive groups is not supported".into(),
        ));
    }
    let groups = groups as usize;
    let (n, c, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
    let o = ws[0];
    if o % groups != 0 || ws[1].checked_mul(groups) != Some(c) {
        return Err(Error::Runtime(format!(
            "Given groups={groups}, weight of size {ws:?}, expected input{xs:?} to have {} channels, but got {c} channels instead",
            ws[1].saturating_mul(groups)
        )));
    }
    if [ws[2], ws[3]] != win.kernel {
        return Err(Error::Runtime(
            "conv2d: the window does not match the weight's kernel size".into(),
        ));
    }
    let plane = win.plane_for(h, wd)?;
    // Every buffer the kernels index must have a size that fits in usize.
    let cols = c
        .checked_mul(win.kernel[0])
        .and_then(|v| v.checked_mul(win.kernel[1]))
        .and_then(|v| v.checked_mul(plane.oh))
        .and_then(|v| v.checked_mul(plane.ow));
    let outs = n
        .checked_mul(o)
        .and_then(|v| v.checked_mul(plane.oh))
        .and_then(|v| v.checked_mul(plane.ow));
    if cols.is_none() || outs.is_none() {
        return Err(Error::Runtime("conv2d: sizes overflow".into()));
    }
    Ok(ConvGeom {
        n,
        c,
        o,
        groups,
        plane,
    })
}

/// `t` contiguous and detached (kernels read it as a slice).
fn data(t: &Tensor) -> Result<Tensor> {
    super::copy::contiguous(&t.detach())
}

/// Runs `body` with `T` bound to the element type of a float32 or float64 tensor.
macro_rules! with_conv_float {
    ($dt:expr, $T:ident => $body:expr) => {{
        crate::dispatch_f32_f64!($dt, $T => $body, _ => {
            return Err(Error::NotImplemented(format!(
                "conv2d kernel: \"{}\" is not supported",
                $dt.scalar_type_name()
            )))
        })
    }};
}

/// `F.conv2d` on a batched input with symmetric zero padding, for float32/float64,
/// bfloat16 and float16.
pub fn conv2d(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    win: Window2d,
    groups: i64,
) -> Result<Tensor> {
    let g = geometry(x, w, &win, groups)?;
    let dt = x.dtype();
    for t in std::iter::once(w).chain(bias) {
        if t.dtype() != dt {
            return Err(Error::Runtime(format!(
                "expected scalar type {} but found {}",
                dt.scalar_type_name(),
                t.dtype().scalar_type_name()
            )));
        }
    }
    if let Some(b) = bias {
        if b.dim() != 1 || b.numel() != g.o {
            return Err(Error::Runtime(format!(
                "Given weight of size {:?}, expected bias to be 1-dimensional with {} elements, but got bias of size {:?} instead",
                w.shape(),
                g.o,
                b.shape()
            )));
        }
    }
    let mut inputs: Vec<&Tensor> = vec![x, w];
    inputs.extend(bias);
    let half = matches!(dt, DType::BF16 | DType::F16);
    let out = if half {
        forward_half(x, w, bias, &g, &win)?
    } else {
        Tensor::uninit(&[g.n, g.o, g.plane.oh, g.plane.ow], dt, x.device())?
    };
    if !half && Tensor::has_values(&out, &inputs)? {
        let (xd, wd) = (data(x)?, data(w)?);
        let bd = bias.map(data).transpose()?;
        with_conv_float!(dt, T => {
            // SAFETY: `out` is fresh; nothing else references it until it is returned.
            let o: &mut [T] = unsafe { out.cpu_slice_mut::<T>()? };
            let b = bd.as_ref().map(|t| t.cpu_slice::<T>()).transpose()?;
            k::conv2d_forward(&g, xd.cpu_slice::<T>()?, wd.cpu_slice::<T>()?, b, o);
        });
    }
    if needs_grad(&inputs) {
        let (sx, sw) = (SavedTensor::input(x), SavedTensor::input(w));
        let want = [
            x.requires_grad(),
            w.requires_grad(),
            bias.is_some_and(|b| b.requires_grad()),
        ];
        let has_bias = bias.is_some();
        record("ConvolutionBackward0", &inputs, &out, move |ctx, gy| {
            let (x, w) = (sx.unpack(ctx)?, sw.unpack(ctx)?);
            // Only the gradients this pass uses (`autograd.grad` of the input alone
            // skips the weight gradient, as PyTorch's does).
            let want: [bool; 3] = std::array::from_fn(|i| want[i] && ctx.needs_input_grad(i));
            if super::any_meta(&[gy, &x, &w]) {
                // No values: each wanted gradient is a meta tensor of its input's shape.
                let meta = |shape: &[usize], on: bool| {
                    on.then(|| Tensor::empty(shape, gy.dtype(), crate::Device::Meta))
                        .transpose()
                };
                let mut grads = vec![meta(x.shape(), want[0])?, meta(w.shape(), want[1])?];
                if has_bias {
                    grads.push(meta(&[g.o], want[2])?);
                }
                return Ok(grads);
            }
            let (gx, gw, gb) = if is_grad_enabled() {
                backward_graph(gy, &x, &w, &g, &win, want)?
            } else if half {
                backward_half(gy, &x, &w, &g, &win, want)?
            } else {
                backward_kernels(gy, &x, &w, &g, want)?
            };
            let mut grads = vec![gx, gw];
            if has_bias {
                grads.push(gb);
            }
            Ok(grads)
        });
    }
    Ok(out)
}

/// The gradient of `conv2d(x, w)` with respect to its input (`wrt_input`) or its
/// weight, given the output gradient `gy` (`torch.nn.grad.conv2d_input` and
/// `conv2d_weight`, and the transposed convolution, which is the input gradient): the
/// backward's kernels for that gradient alone, with no forward pass and no autograd.
/// Of the operand whose gradient is computed only the shape and device are read (the
/// gradient is allocated like it).
pub fn conv2d_grad(
    x: &Tensor,
    w: &Tensor,
    gy: &Tensor,
    win: Window2d,
    groups: i64,
    wrt_input: bool,
) -> Result<Tensor> {
    let g = geometry(x, w, &win, groups)?;
    let expected = [g.n, g.o, g.plane.oh, g.plane.ow];
    if gy.shape()[..] != expected {
        return Err(Error::Runtime(format!(
            "Expected grad_output of shape {expected:?} for this convolution, but got {:?}",
            gy.shape()
        )));
    }
    if gy.dtype() != x.dtype() || w.dtype() != x.dtype() {
        return Err(Error::Runtime(
            "conv2d gradient: input, weight and grad_output differ in dtype".into(),
        ));
    }
    let want = [wrt_input, !wrt_input, false];
    let (gx, gw, _) = match x.dtype() {
        DType::BF16 | DType::F16 => backward_half(gy, x, w, &g, &win, want)?,
        _ => backward_kernels(gy, x, w, &g, want)?,
    };
    gx.or(gw)
        .ok_or_else(|| Error::Runtime("conv2d gradient: none computed".into()))
}

/// The forward of a bfloat16/float16 convolution: the weight, group by group, times
/// the input's im2col columns as one batched product, `(n, groups, o/groups, oh*ow)`,
/// the bias of each output channel added before the rounding; no autograd.
fn forward_half(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    g: &ConvGeom,
    win: &Window2d,
) -> Result<Tensor> {
    let direct = direct_bf16(g, x, w).filter(conv_bf16::suits);
    if let Some(d) = direct.filter(|_| !bias.is_some_and(|b| super::any_meta(&[b]))) {
        let out = Tensor::uninit(&[g.n, g.o, g.plane.oh, g.plane.ow], x.dtype(), x.device())?;
        let (xd, wd) = (data(x)?, data(w)?);
        let b = bias.map(|b| b.to_vec::<f32>()).transpose()?;
        // SAFETY: `out` is fresh; nothing else references it until it is returned.
        let o = unsafe { out.cpu_slice_mut::<half::bf16>()? };
        conv_bf16::forward(&d, xd.cpu_slice()?, wd.cpu_slice()?, b.as_deref(), o)?;
        return Ok(out);
    }
    let p = &g.plane;
    let (n, groups, og) = (g.n as i64, g.groups as i64, (g.o / g.groups) as i64);
    let k = (g.c / g.groups * p.kernel[0] * p.kernel[1]) as i64;
    let l = (p.oh * p.ow) as i64;
    let meta = super::any_meta(&[x, w]);
    let x = x.detach();
    let pointwise = win.kernel == [1, 1] && win.stride == [1, 1] && win.padding == [0, 0];
    // A 1x1 window's columns are the input itself.
    let cols = if pointwise { x } else { im2col(&x, *win)? };
    let cols = reshape(&cols, &[n, groups, k, l])?;
    // Per-sample products narrower than their 32-column panels (up to 1.25x the
    // columns computed) run as one wide product per group instead.
    let cols_per_sample = p.oh * p.ow;
    let thin = cols_per_sample.div_ceil(32) * 32 * 4 > cols_per_sample * 5;
    if thin && !meta && !bias.is_some_and(|b| super::any_meta(&[b])) && k > 0 {
        return forward_half_wide(&cols, w, bias, g);
    }
    let w4 = expand(
        &reshape(&w.detach(), &[1, groups, og, k])?,
        &[n, groups, og, k],
    )?;
    let out = match bias {
        // (With k = 0 the sums are zeros and the composed sum below is exact.)
        Some(b) if k > 0 && !meta && !super::any_meta(&[b]) => {
            let values = b.to_vec::<f32>()?;
            super::matmul::bmm_half_with_bias(&w4, &cols, gemm::Bias::Rows(&values))?
        }
        Some(b) => super::binary::add(
            &super::matmul::matmul(&w4, &cols)?,
            &reshape(&b.detach(), &[1, groups, og, 1])?,
        )?,
        None => super::matmul::matmul(&w4, &cols)?,
    };
    reshape_to(&out, &[g.n, g.o, p.oh, p.ow])
}

/// The forward of a 16-bit convolution with small output images: every sample's
/// columns side by side, `(groups, k, n * l)`, so that each group is one product as wide
/// as the batch. Per sample, a 4x4 image gives products 16 columns wide, half the
/// bfloat16 kernel's panel (8 samples, 512 channels, 3x3 at 2 threads: 3.2 -> 1.8 ms;
/// PyTorch 1.4); 7x7 5.9 -> 5.4, 6x6 0.62 -> 0.50; 8x8 (two full panels) went
/// 3.3 -> 3.7, so it stays per sample.
fn forward_half_wide(
    cols: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    g: &ConvGeom,
) -> Result<Tensor> {
    let s = cols.shape().to_vec();
    let (n, groups, k, l) = (s[0] as i64, s[1] as i64, s[2] as i64, s[3] as i64);
    let og = (g.o / g.groups) as i64;
    let wide = super::copy::contiguous(&super::shape::permute(cols, &[1, 2, 0, 3])?)?;
    let wide = reshape(&wide, &[groups, k, n * l])?;
    let wg = reshape(&w.detach(), &[groups, og, k])?;
    let out = match bias {
        Some(b) => {
            let values = b.to_vec::<f32>()?;
            super::matmul::bmm_half_with_bias(&wg, &wide, gemm::Bias::Rows(&values))?
        }
        None => super::matmul::matmul(&wg, &wide)?,
    };
    let out = reshape(&out, &[groups, og, n, l])?;
    let out = super::copy::contiguous(&super::shape::permute(&out, &[2, 0, 1, 3])?)?;
    reshape_to(&out, &[g.n, g.o, g.plane.oh, g.plane.ow])
}

/// The geometry of the direct bfloat16 kernel (`cpu/conv_bf16.rs`) for this
/// convolution, if it can take it: bfloat16 operands with values, one group, unit
/// stride and dilation, on a CPU with AVX512-BF16 and no AMX. (Whether it is the
/// faster route for the shape is `conv_bf16::suits` and `conv_bf16_wgrad::suits`.)
fn direct_bf16(g: &ConvGeom, x: &Tensor, w: &Tensor) -> Option<conv_bf16::Direct> {
    let p = &g.plane;
    let takes = x.dtype() == DType::BF16
        && g.groups == 1
        && p.stride == [1, 1]
        && p.dilation == [1, 1]
        && !super::any_meta(&[x, w])
        && conv_bf16::available();
    takes.then_some(conv_bf16::Direct {
        n: g.n,
        c: g.c,
        h: p.h,
        w: p.w,
        o: g.o,
        kh: p.kernel[0],
        kw: p.kernel[1],
        ph: p.padding[0],
        pw: p.padding[1],
    })
}

type Grads = (Option<Tensor>, Option<Tensor>, Option<Tensor>);

/// The gradients of a bfloat16/float16 convolution (no graph), each rounded once from
/// float32 sums, as PyTorch's oneDNN kernels do: the bfloat16 routes below where they
/// apply (direct kernels, products of native bfloat16 operands), else the float32
/// kernels on the widened operands (every product of two 16-bit values is exact in
/// float32). (The composed ops rounded each sample's weight gradient and the im2col
/// columns' gradient before summing them: about 60% of the values equal to PyTorch's,
/// against 99.9% now.)
fn backward_half(
    gy: &Tensor,
    x: &Tensor,
    w: &Tensor,
    g: &ConvGeom,
    win: &Window2d,
    want: [bool; 3],
) -> Result<Grads> {
    let dt = gy.dtype();
    // The routes through 16-bit products where they are native: float16 products and
    // bfloat16 ones without AVX512-BF16 or AMX widen their blocks to float32, slower
    // than the float32 kernels (float16, 16 x 128 x 16x16 -> 128, 3x3, weight gradient
    // 7.2 against 19.8 ms).
    let native = dt == DType::BF16 && gemm::bf16_matmul_kernel() != "float32";
    let direct_gx = if want[0] && native {
        grad_input_half(gy, w, g, win)?
    } else {
        None
    };
    let direct_gw = match direct_bf16(g, x, w).filter(conv_bf16_wgrad::suits) {
        Some(d) if want[1] => grad_weight_bf16(gy, x, w, &d)?,
        _ if want[1] && native => grad_weight_half_wide(gy, x, g, win)?,
        _ => None,
    };
    // The bias gradient is the output gradient's sum over (n, h, w), float32 sums
    // rounded once, as `sum` computes it: widening the whole output gradient for the
    // float32 kernel took 3.5x as long (16x64x32x32 bfloat16: 209 against 60 us).
    let gb = if want[2] {
        Some(super::reduce::sum(&gy.detach(), &[0, 2, 3], false, None)?)
    } else {
        None
    };
    let want = [
        want[0] && direct_gx.is_none(),
        want[1] && direct_gw.is_none(),
        false,
    ];
    if want == [false; 3] {
        return Ok((direct_gx, direct_gw, gb));
    }
    let wide = |t: &Tensor| super::copy::to_dtype(&t.detach(), DType::F32);
    // Only the shape of an operand whose counterpart gradient is not wanted is read.
    let x32 = if want[1] { wide(x)? } else { x.clone() };
    let w32 = if want[0] { wide(w)? } else { w.clone() };
    let (gx, gw, _) = backward_kernels(&wide(gy)?, &x32, &w32, g, want)?;
    let narrow = |t: Option<Tensor>| t.map(|t| super::copy::to_dtype(&t, dt)).transpose();
    Ok((direct_gx.or(narrow(gx)?), direct_gw.or(narrow(gw)?), gb))
}

/// The weight gradient of a convolution the direct bfloat16 kernel takes, by its
/// weight-gradient kernel (`cpu/conv_bf16_wgrad.rs`); None when the input holds an
/// infinity or NaN (the float32 kernels take it then).
fn grad_weight_bf16(
    gy: &Tensor,
    x: &Tensor,
    w: &Tensor,
    d: &conv_bf16::Direct,
) -> Result<Option<Tensor>> {
    let (gyd, xd) = (data(gy)?, data(x)?);
    let gw = Tensor::uninit(w.shape(), DType::BF16, gy.device())?;
    // SAFETY: `gw` is fresh; nothing else references it until it is returned.
    let out = unsafe { gw.cpu_slice_mut::<half::bf16>()? };
    let done = conv_bf16_wgrad::weight_grad(d, gyd.cpu_slice()?, xd.cpu_slice()?, out)?;
    Ok(done.then_some(gw))
}

/// The input gradient of a bfloat16 convolution with unit stride and dilation: the
/// convolution of `gy` with the weights flipped in both window axes and their channel
/// axes swapped within each group, padded by `k - 1 - p`. With fewer than 64 input
/// channels (a group) it runs on the direct kernel where that suits it (down to half
/// its grid columns outputs, `conv_bf16::suits_input_grad`), else with 16 or more
/// through the forward's routes (the direct kernel where 90% of its columns are
/// outputs, per-sample or batch-wide products). 2 threads, 3x3, against the float32
/// kernels on widened operands or the direct kernel at 50-90% of its columns: 8 x 512 x
/// 7x7 -> 512 16.3 -> 6.6 ms; 16 x 256 x 8x8 6.5 -> 3.5; 16 x 64 x 8x8 0.48 -> 0.34;
/// but 16 x 32 x 16x16 -> 32 took 0.34 against the direct kernel's 0.27, and 32 x 3 x
/// 16x16 -> 64 0.81 against 0.15. None where the float32 kernels take it: a padding as
/// large as the window (the gradient skips input rows), or a weight that is not
/// finite (the padded zeros of `gy` would multiply it, NaN where the gradient has no
/// term).
fn grad_input_half(
    gy: &Tensor,
    w: &Tensor,
    g: &ConvGeom,
    win: &Window2d,
) -> Result<Option<Tensor>> {
    let p = &g.plane;
    let unit = p.stride == [1, 1] && p.dilation == [1, 1];
    if !unit || p.padding[0] >= p.kernel[0] || p.padding[1] >= p.kernel[1] {
        return Ok(None);
    }
    // Below 16 input channels only the direct kernel may take it: without it, no flip.
    let cg = g.c / g.groups;
    if cg < 16 && !(g.groups == 1 && conv_bf16::available()) {
        return Ok(None);
    }
    let wd = data(w)?;
    let Some(flipped) = flip_weights(g, wd.cpu_slice()?)? else {
        return Ok(None);
    };
    let back_win = Window2d {
        padding: [
            p.kernel[0] - 1 - p.padding[0],
            p.kernel[1] - 1 - p.padding[1],
        ],
        ..*win
    };
    let back = geometry(gy, &flipped, &back_win, g.groups as i64)?;
    let direct =
        direct_bf16(&back, gy, &flipped).filter(|d| cg < 64 && conv_bf16::suits_input_grad(d, g));
    if let Some(d) = direct {
        let gx = Tensor::uninit(&[g.n, g.c, p.h, p.w], DType::BF16, gy.device())?;
        // SAFETY: `gx` is fresh; nothing else references it until it is returned.
        let out = unsafe { gx.cpu_slice_mut::<half::bf16>()? };
        let gyd = data(gy)?;
        conv_bf16::forward(&d, gyd.cpu_slice()?, flipped.cpu_slice()?, None, out)?;
        return Ok(Some(gx));
    }
    if cg < 16 {
        return Ok(None);
    }
    Ok(Some(forward_half(gy, &flipped, None, &back, &back_win)?))
}

/// The weights of the input gradient's convolution: `(c, o/groups, kh, kw)`, tap
/// `(a, b)` of output `o` and input `c` of each group moved to tap `(kh-1-a, kw-1-b)` of
/// output `c` and input `o`. None when a weight is not finite.
fn flip_weights(g: &ConvGeom, ws: &[half::bf16]) -> Result<Option<Tensor>> {
    // (Counted, not `all`: the loop without an early exit vectorises.)
    if ws.iter().filter(|v| !v.is_finite()).count() > 0 {
        return Ok(None);
    }
    let p = &g.plane;
    let (og, cg, taps) = (g.o / g.groups, g.c / g.groups, p.kernel[0] * p.kernel[1]);
    let out = Tensor::uninit(
        &[g.c, og, p.kernel[0], p.kernel[1]],
        DType::BF16,
        crate::Device::Cpu,
    )?;
    // SAFETY: `out` is fresh; nothing else references it until it is returned, and the
    // loops below write every element (each (c, o, tap) once).
    let dst = unsafe { out.cpu_slice_mut::<half::bf16>()? };
    // Output (gi, c, o, t) is input (gi, o, c, taps - 1 - t). Tasks take TILE output
    // rows (input channels) each and walk the outputs in tiles of TILE, so that reads
    // and writes both stay within a few kilobytes: one pass in either side's order
    // jumps by a whole row of the other every `taps` elements (2 ms for 512 x 512 3x3
    // weights, as long as a 4x4 image's whole input gradient).
    const TILE: usize = 32;
    let row = og * taps;
    crate::cpu::par_chunks_mut(dst, TILE * row, &|b, rows| {
        for o0 in (0..og).step_by(TILE) {
            for (i, out_row) in rows.chunks_exact_mut(row).enumerate() {
                let ci = b * TILE + i;
                let (gi, c) = (ci / cg, ci % cg);
                for o in o0..(o0 + TILE).min(og) {
                    let src = &ws[((gi * og + o) * cg + c) * taps..][..taps];
                    let d = &mut out_row[o * taps..][..taps];
                    d.iter_mut()
                        .zip(src.iter().rev())
                        .for_each(|(d, &v)| *d = v);
                }
            }
        }
    });
    Ok(Some(out))
}

/// Most bytes of 16-bit im2col columns [`grad_weight_half_wide`] lays out for the whole
/// batch (larger batches go to the float32 kernels, whose columns are per-thread
/// blocks).
const WIDE_COLS_BYTES: usize = 32 << 20;

/// Most terms (batch positions) a weight gradient's wide product sums: longer sums
/// run faster in the float32 kernels' batch parts, parallel over parts (2 threads,
/// 32 x 4 x 32x32 -> 16, 5x5: 32768 terms, 1.48 ms against 0.86; 32 x 3 x 32x32 -> 64,
/// 3x3: 3.5 against 1.2), shorter ones here (32 x 8 x 32x32 -> 16, 3x3 stride 2: 8192
/// terms, 0.46 against 1.01).
const WIDE_MAX_TERMS: usize = 8192;

/// The weight gradient of a bfloat16 convolution as one product per group over the
/// whole batch, `gw[g] (og, k) = gy[g] (og, n*l) @ cols[g]^T (n*l, k)`, float32 sums
/// rounded once, as the float32 kernels' sums on widened operands are. 2 threads, 3x3,
/// against those kernels: 8 x 512 x 7x7 -> 512 40.4 -> 5.6 ms; 16 x 256 x 14x14 28.0 ->
/// 11.4; 16 x 64 x 32x32 -> 128, stride 2: 9.5 -> 2.7; 16 x 64 x 8x8 -> 64 1.14 -> 0.39.
/// None where the float32 kernels are faster or the batch's columns would take more
/// than [`WIDE_COLS_BYTES`].
fn grad_weight_half_wide(
    gy: &Tensor,
    x: &Tensor,
    g: &ConvGeom,
    win: &Window2d,
) -> Result<Option<Tensor>> {
    let p = &g.plane;
    let (n, groups, og) = (g.n as i64, g.groups as i64, (g.o / g.groups) as i64);
    let k = (g.c / g.groups * p.kernel[0] * p.kernel[1]) as i64;
    let l = (p.oh * p.ow) as i64;
    let terms = g.n.checked_mul(p.oh * p.ow);
    let bytes = terms
        .and_then(|t| t.checked_mul(g.c * p.kernel[0] * p.kernel[1]))
        .and_then(|v| v.checked_mul(2));
    // With fewer than 16 output or 8 input channels a group the float32 kernels are
    // faster (16 x 4 x 16x16 -> 16, 5x5: 0.28 against 0.17 ms; 8 x 16 x 32x32 -> 16,
    // two groups: 0.42 against 0.34).
    let few = og < 16 || g.c / g.groups < 8;
    let long = terms.is_none_or(|t| t > WIDE_MAX_TERMS || t == 0);
    if few || long || bytes.is_none_or(|b| b > WIDE_COLS_BYTES) {
        return Ok(None);
    }
    let x = x.detach();
    let pointwise = win.kernel == [1, 1] && win.stride == [1, 1] && win.padding == [0, 0];
    let cols = if pointwise { x } else { im2col(&x, *win)? };
    let batch_wide = |t: &Tensor, rows: i64| -> Result<Tensor> {
        let t = reshape(t, &[n, groups, rows, l])?;
        let t = super::copy::contiguous(&super::shape::permute(&t, &[1, 2, 0, 3])?)?;
        reshape(&t, &[groups, rows, n * l])
    };
    let cols = batch_wide(&cols, k)?;
    let dy = batch_wide(&gy.detach(), og)?;
    let gw = super::matmul::matmul(&dy, &super::shape::transpose(&cols, 1, 2)?)?;
    Ok(Some(reshape_to(
        &gw,
        &[g.o, g.c / g.groups, p.kernel[0], p.kernel[1]],
    )?))
}

/// The three gradients from the backward kernels (no graph), in `gy`'s dtype (float32
/// or float64); `x` and `w` are read only for the gradient that needs them.
fn backward_kernels(
    gy: &Tensor,
    x: &Tensor,
    w: &Tensor,
    g: &ConvGeom,
    want: [bool; 3],
) -> Result<Grads> {
    let dt = gy.dtype();
    let gyd = data(gy)?;
    let xd = if want[1] { Some(data(x)?) } else { None };
    let wd = if want[0] { Some(data(w)?) } else { None };
    let fresh = |like: &Tensor, on: bool| -> Result<Option<Tensor>> {
        on.then(|| Tensor::uninit(like.shape(), dt, like.device()))
            .transpose()
    };
    let gx = fresh(x, want[0])?;
    let gw = fresh(w, want[1])?;
    let gb = if want[2] {
        Some(Tensor::uninit(&[g.o], dt, x.device())?)
    } else {
        None
    };
    with_conv_float!(dt, T => {
        let gys = gyd.cpu_slice::<T>()?;
        if let (Some(out), Some(wd)) = (&gx, &wd) {
            // SAFETY: `out` is fresh and only written here.
            let o: &mut [T] = unsafe { out.cpu_slice_mut::<T>()? };
            k::conv2d_backward_input(g, gys, wd.cpu_slice::<T>()?, o);
        }
        if let (Some(out), Some(xd)) = (&gw, &xd) {
            // SAFETY: `out` is fresh and only written here.
            let o: &mut [T] = unsafe { out.cpu_slice_mut::<T>()? };
            k::conv2d_backward_weight(g, gys, xd.cpu_slice::<T>()?, o);
        }
        if let Some(out) = &gb {
            // SAFETY: `out` is fresh and only written here.
            let o: &mut [T] = unsafe { out.cpu_slice_mut::<T>()? };
            k::conv2d_backward_bias(g, gys, o);
        }
    });
    Ok((gx, gw, gb))
}

/// The gradients built from differentiable ops, for `create_graph=True`.
fn backward_graph(
    gy: &Tensor,
    x: &Tensor,
    w: &Tensor,
    g: &ConvGeom,
    win: &Window2d,
    want: [bool; 3],
) -> Result<Grads> {
    let p = &g.plane;
    let (groups, og) = (g.groups as i64, (g.o / g.groups) as i64);
    let kk = (p.kernel[0] * p.kernel[1]) as i64;
    let k = (g.c / g.groups) as i64 * kk;
    let l = (p.oh * p.ow) as i64;
    let n = g.n as i64;
    let gy4 = super::shape::reshape(gy, &[n, groups, og, l])?;
    let w3 = super::shape::reshape(w, &[groups, og, k])?;
    let gx = if want[0] {
        // dx = col2im(W^T @ dy), group by group as one batched product.
        let wt = super::shape::transpose(&w3, 1, 2)?;
        let dcols = super::matmul::matmul(&wt, &gy4)?;
        let dcols = super::shape::reshape(&dcols, &[n, g.c as i64 * kk, l])?;
        Some(col2im(&dcols, [p.h, p.w], *win)?)
    } else {
        None
    };
    let gw = if want[1] {
        // dW = sum over the batch of dy @ cols^T.
        let cols = super::shape::reshape(&im2col(x, *win)?, &[n, groups, k, l])?;
        let colst = super::shape::transpose(&cols, 2, 3)?;
        let per = super::matmul::matmul(&gy4, &colst)?;
        let total = super::reduce::sum(&per, &[0], false, None)?;
        Some(super::shape::reshape_to(&total, w.shape())?)
    } else {
        None
    };
    let gb = if want[2] {
        Some(super::reduce::sum(gy, &[0, 2, 3], false, None)?)
    } else {
        None
    };
    Ok((gx, gw, gb))
}
