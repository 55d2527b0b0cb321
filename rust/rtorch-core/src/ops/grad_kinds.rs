//! The activations' backward formulas as fused kinds: `g * f'(v)` in one pass over the
//! upstream gradient `g` and the saved value `v` (the input x, or the output y where the
//! derivative is written in it), with PyTorch's backward kernels' formulas, operation
//! order and selects.
//!
//! `ops::unary` composes each derivative from differentiable ops, three to eight
//! passes and temporaries over the tensor; where no graph is recorded (an ordinary
//! `backward()`) it runs the kind here instead (`fused_grad`), and keeps the
//! composition for `create_graph=True`, where double backward differentiates it.
//! Float32 and the half types compute in float32 (rounding once to the half type, as
//! PyTorch's kernels do), float64 in float64.

use super::binary_kinds::FloatBinary;
use super::unary::FMath;

/// Declares kinds: `Name "kernel_name" { fields } |g, v| body;` (`F` in a body is the
/// type computed in).
macro_rules! grad_kinds {
    ($(
        $(#[$m:meta])*
        $name:ident $kname:literal { $($field:ident : $fty:ty),* } $(block($b:path))?
        |$g:ident, $v:ident| $body:expr;
    )*) => {$(
        $(#[$m])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name { $(pub $field: $fty),* }

        impl FloatBinary for $name {
            const NAME: &'static str = $kname;
            #[inline(always)]
            #[allow(unused_variables)]
            fn f32(self, $g: f32, $v: f32) -> f32 {
                #[allow(dead_code)]
                type F = f32;
                let $name { $($field),* } = self;
                $body
            }
            #[inline(always)]
            #[allow(unused_variables)]
            fn f64(self, $g: f64, $v: f64) -> f64 {
                #[allow(dead_code)]
                type F = f64;
                let $name { $($field),* } = self;
                $body
            }
            $(
                fn f32_block(self) -> Option<super::binary_kinds::F32Block<Self>> {
                    Some($b)
                }
            )?
        }
    )*};
}

grad_kinds! {
    /// sigmoid, from its output: `g (1 - y) y`.
    SigmoidGrad "sigmoid_backward" {} |g, y| g * (1.0 - y) * y;
    /// tanh, from its output: `g (1 - y^2)`.
    TanhGrad "tanh_backward" {} |g, y| g * (1.0 - y * y);
    /// silu: `g s (1 + x (1 - s))`, s = sigmoid(x).
    SiluGrad "silu_backward" {} block(silu_block) |g, x| {
        let s = x.sigmoid_();
        g * s * (1.0 + x * (1.0 - s))
    };
    /// gelu (erf form): `g (Phi(x) + x phi(x))`, the bracket rounded once
    /// (`FMath::gelu_grad_`: no cancellation in Phi for negative x; in float32 the
    /// slice kernel, all in float32 on the FMA paths).
    GeluGrad "gelu_backward" {} block(gelu_block) |g, x| g * x.gelu_grad_();
    /// gelu's tanh approximation, PyTorch's formula: `g (1/2 (1 + t) + x/2 (1 - t^2)
    /// k (1 + 3 c x^2))`, t = tanh(k (x + c x^3)).
    GeluTanhGrad "gelu_tanh_backward" {} |g, x| {
        let k = super::unary_kinds::GELU_K as F;
        let c = super::unary_kinds::GELU_C as F;
        let x2 = x * x;
        let t = (k * (x + c * (x2 * x))).tanh_();
        let left = 0.5 * (1.0 + t);
        let right = 0.5 * x * (1.0 - t * t) * (k * (1.0 + 3.0 * c * x2));
        g * (left + right)
    };
    /// smooth_l1 (`huber` false, `p` beta): PyTorch's `x <= -beta ? -g : x >= beta ? g :
    /// x g / beta`; huber (`p` delta): `x <= -delta ? -delta g : x >= delta ? delta g : x
    /// g`.
    SmoothL1Grad "smooth_l1_backward" { p: f64, huber: bool } |g, x| {
        let b = p as F;
        let outer = if huber { b * g } else { g };
        if x <= -b {
            -outer
        } else if x >= b {
            outer
        } else if huber {
            x * g
        } else {
            x * g / b
        }
    };
    /// softplus: `beta x > threshold ? g : g z / (z + 1)`, z = e^(beta x). (Both arms
    /// are computed, then one selected: with the exponential inside a branch LLVM kept
    /// the loop scalar; so in the kinds below.)
    SoftplusGrad "softplus_backward" { beta: f64, threshold: f64 } block(softplus_block) |g, x| {
        let bx = x * (beta as F);
        let z = bx.exp_();
        let curved = g * z / (z + 1.0);
        if bx > threshold as F {
            g
        } else {
            curved
        }
    };
    /// elu (and selu, celu): `x <= 0 ? g input_scale (alpha scale) e^(input_scale x) :
    /// g scale` (a NaN x takes the second arm).
    EluGrad "elu_backward" { alpha: f64, scale: f64, input_scale: f64 } block(elu_block) |g, x| {
        let ip = input_scale as F;
        let curved = g * ip * ((alpha as F) * (scale as F)) * (x * ip).exp_();
        let linear = g * (scale as F);
        if x <= 0.0 {
            curved
        } else {
            linear
        }
    };
    /// leaky_relu: `x > 0 ? g : g slope`.
    LeakyReluGrad "leaky_relu_backward" { slope: f64 } |g, x| {
        if x > 0.0 {
            g
        } else {
            g * (slope as F)
        }
    };
    /// hardsigmoid: `-3 < x < 3 ? g / 6 : 0`, the sixth a float32 multiplier in every
    /// dtype (as PyTorch's kernel).
    HardsigmoidGrad "hardsigmoid_backward" {} |g, x| {
        if x > -3.0 && x < 3.0 {
            g * ((1.0f32 / 6.0) as F)
        } else {
            0.0
        }
    };
    /// hardswish: `x <= -3 ? 0 : x < 3 ? g (x / 3 + 1/2) : g` (a NaN x passes g).
    HardswishGrad "hardswish_backward" {} |g, x| {
        if x <= -3.0 {
            0.0
        } else if x < 3.0 {
            g * (x / 3.0 + 0.5)
        } else {
            g
        }
    };
    /// logsigmoid: `g sigmoid(-x)`.
    LogSigmoidGrad "log_sigmoid_backward" {} block(log_sigmoid_block) |g, x| g * (-x).sigmoid_();
    /// mish: `g (t + x sigmoid(x) (1 - t^2))`, t = tanh(softplus(x)) (softplus linear
    /// above 20, as the forward).
    MishGrad "mish_backward" {} |g, x| {
        let curve = x.exp_().log1p_();
        let sp = if x > 20.0 { x } else { curve };
        let t = sp.tanh_();
        g * (t + x * x.sigmoid_() * (1.0 - t * t))
    };
}

// The block forms: the transcendental over a block by its slice kernel (`cpu::math`:
// AVX-512/AVX2 register code), then the rest of the formula in a loop at the widest
// level. Inside a two-operand loop LLVM compiled the exponential 8 wide without FMA
// (elu's backward at 2.6x PyTorch's time); the slice kernels run 16 wide.

/// Elements per block: the stack buffer of the transcendental's values.
const BLOCK: usize = 1024;

/// `g[i] = combine(g[i], x[i], t[i])` with `t = f(prepare(x))` by a slice kernel, block by
/// block.
#[inline(always)]
fn by_blocks(
    g: &mut [f32],
    x: &[f32],
    prepare: impl Fn(f32) -> f32,
    f: fn(&mut [f32]),
    combine: impl Fn(f32, f32, f32) -> f32 + Copy,
) {
    let mut t = [0f32; BLOCK];
    for (gs, xs) in g.chunks_mut(BLOCK).zip(x.chunks(BLOCK)) {
        let t = &mut t[..xs.len()];
        for (tv, &xv) in t.iter_mut().zip(xs) {
            *tv = prepare(xv);
        }
        f(t);
        // The results go to `t`, then to `g`: written straight into `g`, a formula that
        // keeps g in one arm of a select became a conditional store and a scalar loop.
        // (`move`: the formula's parameters by value; read through the captured
        // reference, they were reloaded per element and the loop stayed scalar.)
        let (gr, tr) = (&*gs, &mut *t);
        crate::ops::map::at_widest_level(
            #[inline(always)]
            move || {
                for ((tv, &gv), &xv) in tr.iter_mut().zip(gr).zip(xs) {
                    *tv = combine(gv, xv, *tv);
                }
            },
        );
        gs.copy_from_slice(t);
    }
}

/// sigmoid(x) from z = e^-|x| (the exp slice kernel): `(x < 0 ? z : 1) / (1 + z)`, no
/// overflow and no cancellation; within ~2.5 ulp, as PyTorch's backward kernels compute
/// it (the forward's 1-ulp sigmoid costs three times as much).
#[inline(always)]
fn sigmoid_from(x: f32, z: f32) -> f32 {
    let n = if x < 0.0 { z } else { 1.0 };
    n / (1.0 + z)
}

fn silu_block(_: SiluGrad, g: &mut [f32], x: &[f32]) {
    use crate::cpu::math::exp_slice_inplace;
    by_blocks(
        g,
        x,
        |v| -v.abs(),
        exp_slice_inplace,
        move |g, x, z| {
            let s = sigmoid_from(x, z);
            g * s * (1.0 + x * (1.0 - s))
        },
    );
}

/// gelu: g gelu'(x), the derivative by its slice kernel.
fn gelu_block(_: GeluGrad, g: &mut [f32], x: &[f32]) {
    use crate::cpu::math::gelu_grad_slice_inplace;
    by_blocks(g, x, |v| v, gelu_grad_slice_inplace, move |g, _, d| g * d);
}

/// logsigmoid: g sigmoid(-x).
fn log_sigmoid_block(_: LogSigmoidGrad, g: &mut [f32], x: &[f32]) {
    use crate::cpu::math::exp_slice_inplace;
    by_blocks(
        g,
        x,
        |v| -v.abs(),
        exp_slice_inplace,
        move |g, x, z| g * sigmoid_from(-x, z),
    );
}

fn elu_block(k: EluGrad, g: &mut [f32], x: &[f32]) {
    let (ip, scale) = (k.input_scale as f32, k.scale as f32);
    let negcoef = k.alpha as f32 * scale;
    by_blocks(
        g,
        x,
        move |v| v * ip,
        crate::cpu::math::exp_slice_inplace,
        move |g, x, e| {
            let curved = g * ip * negcoef * e;
            let linear = g * scale;
            if x <= 0.0 {
                curved
            } else {
                linear
            }
        },
    );
}

fn softplus_block(k: SoftplusGrad, g: &mut [f32], x: &[f32]) {
    let (beta, threshold) = (k.beta as f32, k.threshold as f32);
    by_blocks(
        g,
        x,
        move |v| v * beta,
        crate::cpu::math::exp_slice_inplace,
        move |g, x, z| {
            let curved = g * z / (z + 1.0);
            if x * beta > threshold {
                g
            } else {
                curved
            }
        },
    );
}
