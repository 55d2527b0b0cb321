//! Fused optimizer updates: one pass over a parameter, its gradient and its state.
//!
//! Every update is elementwise: element `i` of the parameter and of each state buffer
//! depends only on element `i` of the gradient and of those same buffers. A kernel is
//! a per-element rule (`Rule::apply`) over `W` written slices (the parameter first,
//! then the state buffers) and one read slice (the gradient); `run` drives it over the
//! slices, split into `GRAIN`-sized chunks in parallel for large parameters. Because
//! no element depends on another, the results are bitwise identical for any thread
//! count and any chunking.
//!
//! The arithmetic of each rule is PyTorch's single-tensor CPU implementation, one
//! tensor op after another, each rounded to the parameter's dtype (f32 or f64), with
//! every Python-float hyperparameter rounded to that dtype first, as PyTorch's scalar
//! arguments are. Where PyTorch's vectorised kernels fuse a multiply and an add (`add`
//! with `alpha`, `addcmul`, `lerp`) the rule does too (`OptFloat::mul_add`), so results
//! are PyTorch's bit for bit on AVX2/AVX-512 machines; the loops are compiled for
//! AVX2+FMA (one instruction); x86-64 without it calls the rule per element, where
//! `mul_add` is libm's fma: the same bits, slower.

use super::GRAIN;

/// The float types the fused updates run on.
pub trait OptFloat:
    Copy
    + Send
    + Sync
    + PartialOrd
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
{
    /// A hyperparameter rounded to this type (C's `static_cast`, round to nearest).
    fn of(v: f64) -> Self;
    fn sqrt(self) -> Self;
    fn abs(self) -> Self;
    fn is_nan(self) -> bool;
    /// `self * a + b` rounded once: PyTorch's vectorised `add(alpha)`, `addcmul` and
    /// `lerp` (an FMA instruction in the AVX2+FMA build of the loops).
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// `-self` when `neg` (the sign bit flipped, as negation does), else `self`:
    /// branch-free, so a loop-invariant `neg` costs one xor per element instead of a
    /// second copy of the loop.
    fn neg_if(self, neg: bool) -> Self;
}

impl OptFloat for f32 {
    #[inline(always)]
    fn of(v: f64) -> f32 {
        v as f32
    }
    #[inline(always)]
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn abs(self) -> f32 {
        f32::abs(self)
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
    #[inline(always)]
    fn mul_add(self, a: f32, b: f32) -> f32 {
        f32::mul_add(self, a, b)
    }
    #[inline(always)]
    fn neg_if(self, neg: bool) -> f32 {
        f32::from_bits(self.to_bits() ^ ((neg as u32) << 31))
    }
}

impl OptFloat for f64 {
    #[inline(always)]
    fn of(v: f64) -> f64 {
        v
    }
    #[inline(always)]
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn abs(self) -> f64 {
        f64::abs(self)
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
    #[inline(always)]
    fn mul_add(self, a: f64, b: f64) -> f64 {
        f64::mul_add(self, a, b)
    }
    #[inline(always)]
    fn neg_if(self, neg: bool) -> f64 {
        f64::from_bits(self.to_bits() ^ ((neg as u64) << 63))
    }
}

/// `torch.maximum`: NaN in either operand gives NaN.
#[inline(always)]
fn maximum<T: OptFloat>(a: T, b: T) -> T {
    if a.is_nan() {
        a
    } else if b.is_nan() || b > a {
        b
    } else {
        a
    }
}

/// `self.lerp_(end, weight)` as PyTorch's vectorised kernel computes it for a scalar
/// weight: `fma(weight, end - self, self)`, or from the end with `weight - 1` (exact:
/// the weight is at least 0.5 there).
#[inline(always)]
fn lerp<T: OptFloat>(a: T, b: T, weight: T, one_minus_weight: T, small: bool) -> T {
    let diff = b - a;
    if small {
        weight.mul_add(diff, a)
    } else {
        (-one_minus_weight).mul_add(diff, b)
    }
}

/// `g = g + wd * p` (``grad.add(param, alpha=wd)``) when `L2`.
#[inline(always)]
fn prep_grad<T: OptFloat, const L2: bool>(g: T, p: T, wd: T) -> T {
    if L2 {
        p.mul_add(wd, g)
    } else {
        g
    }
}

/// A per-element update over `W` written values (the parameter first) and a gradient.
pub trait Rule<T, const W: usize>: Sync {
    fn apply(&self, g: T, x: &mut [T; W]);
}

#[inline(always)]
fn run_serial<T: OptFloat, const W: usize, R: Rule<T, W>>(
    g: &[T],
    w: [&mut [T]; W],
    rule: &R,
    maximize: bool,
) {
    let n = g.len();
    // Re-slicing to `n` lets the compiler drop the bounds checks below.
    let w = w.map(|s| {
        let len = s.len().min(n);
        &mut s[..len]
    });
    if w.iter().any(|s| s.len() != n) {
        return;
    }
    for (i, &gi) in g.iter().enumerate() {
        let mut x: [T; W] = std::array::from_fn(|k| w[k][i]);
        rule.apply(gi.neg_if(maximize), &mut x);
        for k in 0..W {
            w[k][i] = x[k];
        }
    }
}

#[cfg(target_arch = "x86_64")]
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn run_serial_avx2<T: OptFloat, const W: usize, R: Rule<T, W>>(
    g: &[T],
    w: [&mut [T]; W],
    rule: &R,
    maximize: bool,
) {
    run_serial(g, w, rule, maximize)
}

/// x86-64 without AVX2+FMA (or with the vector path turned off): the rule one element
/// at a time through a call, so that each rule's loop exists once per process in the
/// AVX2 build, not twice (the inlined baseline copies were 128 KB of the extension).
/// The same operations in the same order: `mul_add` is libm's fma here, so the bits
/// are the AVX2 loop's.
#[cfg(target_arch = "x86_64")]
#[inline(never)]
fn run_serial_by_call<T: OptFloat, const W: usize>(
    g: &[T],
    w: [&mut [T]; W],
    apply: &dyn Fn(T, &mut [T; W]),
    maximize: bool,
) {
    let n = g.len();
    if w.iter().any(|s| s.len() != n) {
        return;
    }
    for (i, &gi) in g.iter().enumerate() {
        let mut x: [T; W] = std::array::from_fn(|k| w[k][i]);
        apply(gi.neg_if(maximize), &mut x);
        for k in 0..W {
            w[k][i] = x[k];
        }
    }
}

fn run_chunk<T: OptFloat, const W: usize, R: Rule<T, W>>(
    g: &[T],
    w: [&mut [T]; W],
    rule: &R,
    maximize: bool,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if super::math::has_avx2_fma() {
            // SAFETY: the features were detected at run time.
            unsafe { run_serial_avx2(g, w, rule, maximize) };
        } else {
            run_serial_by_call(g, w, &|gi, x| rule.apply(gi, x), maximize);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    run_serial(g, w, rule, maximize)
}

/// Applies `rule` to every element: `w` are the written slices (each as long as `g`;
/// a shorter one makes this a no-op). `maximize` negates each gradient element first
/// (PyTorch's `maximize`, the first step of every rule), so that the rules need no
/// copy per direction. Parallel in `GRAIN`-sized chunks above `GRAIN` elements; the
/// results do not depend on the chunking.
pub fn run<T: OptFloat, const W: usize, R: Rule<T, W>>(
    g: &[T],
    w: [&mut [T]; W],
    rule: &R,
    maximize: bool,
) {
    let n = g.len();
    if w.iter().any(|s| s.len() != n) {
        return;
    }
    if n < GRAIN {
        run_chunk(g, w, rule, maximize);
        return;
    }
    let mut iters = w.map(|s| s.chunks_mut(GRAIN));
    let mut tasks: Vec<(&[T], [&mut [T]; W])> = g
        .chunks(GRAIN)
        .map(|gc| {
            (
                gc,
                std::array::from_fn(|k| iters[k].next().unwrap_or_default()),
            )
        })
        .collect();
    super::par_each_mut(&mut tasks, &|_, (gc, wc)| {
        run_chunk(gc, wc.each_mut().map(|c| &mut **c), rule, maximize)
    });
}

// ----------------------------------------------------------------- SGD

/// SGD's scalars, already rounded to `T`.
#[derive(Clone, Copy)]
pub struct SgdScalars<T> {
    pub neg_lr: T,
    pub momentum: T,
    pub one_minus_dampening: T,
    pub weight_decay: T,
}

/// SGD without momentum: `w = [param]`.
///
/// PyTorch: `g = -g` (maximize, done by `run`); `g = g.add(p, alpha=wd)`; `p.add_(g, alpha=-lr)`.
pub struct SgdPlain<T, const L2: bool>(pub SgdScalars<T>);

impl<T: OptFloat, const L2: bool> Rule<T, 1> for SgdPlain<T, L2> {
    #[inline(always)]
    fn apply(&self, g: T, x: &mut [T; 1]) {
        let s = &self.0;
        let g = prep_grad::<T, L2>(g, x[0], s.weight_decay);
        x[0] = g.mul_add(s.neg_lr, x[0]);
    }
}

/// SGD with momentum: `w = [param, momentum_buffer]`.
///
/// PyTorch: the gradient as above; on the first step the buffer is a copy of it,
/// later `buf.mul_(momentum).add_(g, alpha=1 - dampening)`; the step direction is
/// `g.add(buf, alpha=momentum)` (Nesterov) or `buf`; then `p.add_(d, alpha=-lr)`.
pub struct SgdMomentum<T, const L2: bool, const FIRST: bool, const NESTEROV: bool>(
    pub SgdScalars<T>,
);

impl<T: OptFloat, const L2: bool, const FIRST: bool, const NESTEROV: bool> Rule<T, 2>
    for SgdMomentum<T, L2, FIRST, NESTEROV>
{
    #[inline(always)]
    fn apply(&self, g: T, x: &mut [T; 2]) {
        let s = &self.0;
        let g = prep_grad::<T, L2>(g, x[0], s.weight_decay);
        let buf = if FIRST {
            g
        } else {
            g.mul_add(s.one_minus_dampening, x[1] * s.momentum)
        };
        let d = if NESTEROV {
            buf.mul_add(s.momentum, g)
        } else {
            buf
        };
        x[0] = d.mul_add(s.neg_lr, x[0]);
        x[1] = buf;
    }
}

// ----------------------------------------------------------------- Adam / AdamW

/// Adam's scalars, already rounded to `T` (bias corrections from the step count).
#[derive(Clone, Copy)]
pub struct AdamScalars<T> {
    /// `1 - beta1` and `beta1` (lerp's weight and one minus it), and whether the
    /// weight is below 0.5 (lerp's branch).
    pub w1: T,
    pub one_minus_w1: T,
    pub w1_small: bool,
    pub beta2: T,
    pub one_minus_beta2: T,
    pub weight_decay: T,
    /// `1 - lr * weight_decay` (decoupled weight decay).
    pub decay: T,
    /// `sqrt(1 - beta2^t)`.
    pub bias_correction2_sqrt: T,
    pub eps: T,
    /// `-lr / (1 - beta1^t)`.
    pub neg_step_size: T,
}

/// Weight decay modes of Adam.
pub const WD_NONE: u8 = 0;
pub const WD_L2: u8 = 1;
pub const WD_DECOUPLED: u8 = 2;

/// Adam: `w = [param, exp_avg, exp_avg_sq]`, or with AMSGrad `[…, max_exp_avg_sq]`.
///
/// PyTorch, in order: `g = -g` (maximize, done by `run`); decoupled: `p.mul_(1 - lr*wd)`, L2:
/// `g = g.add(p, alpha=wd)`; `m.lerp_(g, 1 - beta1)`;
/// `v.mul_(beta2).addcmul_(g, g, value=1 - beta2)`; AMSGrad: `vmax = maximum(vmax, v)`;
/// `denom = (v.sqrt() / sqrt(1 - beta2^t)).add_(eps)`;
/// `p.addcdiv_(m, denom, value=-lr / (1 - beta1^t))`.
pub struct Adam<T, const WD: u8>(pub AdamScalars<T>);

impl<T: OptFloat, const WD: u8> Adam<T, WD> {
    /// The shared part; returns the new parameter given the second moment to use.
    #[inline(always)]
    fn moments(&self, g: T, p: T, m: &mut T, v: &mut T) -> (T, T) {
        let s = &self.0;
        let (g, p) = match WD {
            WD_L2 => (p.mul_add(s.weight_decay, g), p),
            WD_DECOUPLED => (g, p * s.decay),
            _ => (g, p),
        };
        *m = lerp(*m, g, s.w1, s.one_minus_w1, s.w1_small);
        *v = (s.one_minus_beta2 * g).mul_add(g, *v * s.beta2);
        (g, p)
    }

    #[inline(always)]
    fn step(&self, p: T, m: T, second: T) -> T {
        let s = &self.0;
        let denom = second.sqrt() / s.bias_correction2_sqrt + s.eps;
        p + s.neg_step_size * m / denom
    }
}

impl<T: OptFloat, const WD: u8> Rule<T, 3> for Adam<T, WD> {
    #[inline(always)]
    fn apply(&self, g: T, x: &mut [T; 3]) {
        let (mut m, mut v) = (x[1], x[2]);
        let (_, p) = self.moments(g, x[0], &mut m, &mut v);
        x[0] = self.step(p, m, v);
        x[1] = m;
        x[2] = v;
    }
}

impl<T: OptFloat, const WD: u8> Rule<T, 4> for Adam<T, WD> {
    #[inline(always)]
    fn apply(&self, g: T, x: &mut [T; 4]) {
        let (mut m, mut v) = (x[1], x[2]);
        let (_, p) = self.moments(g, x[0], &mut m, &mut v);
        let vmax = maximum(x[3], v);
        x[0] = self.step(p, m, vmax);
        x[1] = m;
        x[2] = v;
        x[3] = vmax;
    }
}

// ----------------------------------------------------------------- RMSprop

/// RMSprop's scalars, already rounded to `T`.
#[derive(Clone, Copy)]
pub struct RmspropScalars<T> {
    pub alpha: T,
    pub one_minus_alpha: T,
    /// lerp weight `1 - alpha` and one minus it, for the centered average.
    pub w: T,
    pub one_minus_w: T,
    pub w_small: bool,
    pub eps: T,
    pub weight_decay: T,
    pub momentum: T,
    pub neg_lr: T,
}

/// RMSprop: `w = [param, square_avg]`, then `grad_avg` if `CENTERED`, then
/// `momentum_buffer` if `MOMENTUM` (so `W` is 2, 3 or 4).
///
/// PyTorch, in order: `g = -g` (maximize, done by `run`); `g = g.add(p, alpha=wd)`;
/// `sq.mul_(alpha).addcmul_(g, g, value=1 - alpha)`; centered:
/// `ga.lerp_(g, 1 - alpha)`, `avg = sq.addcmul(ga, ga, value=-1).sqrt_()`, else
/// `avg = sq.sqrt()`; `avg.add_(eps)`; momentum: `buf.mul_(momentum).addcdiv_(g, avg)`,
/// `p.add_(buf, alpha=-lr)`, else `p.addcdiv_(g, avg, value=-lr)`.
pub struct Rmsprop<T, const L2: bool, const CENTERED: bool, const MOMENTUM: bool>(
    pub RmspropScalars<T>,
);

impl<T: OptFloat, const L2: bool, const CENTERED: bool, const MOMENTUM: bool>
    Rmsprop<T, L2, CENTERED, MOMENTUM>
{
    #[inline(always)]
    fn update<const W: usize>(&self, g: T, x: &mut [T; W]) {
        let s = &self.0;
        let g = prep_grad::<T, L2>(g, x[0], s.weight_decay);
        let sq = (s.one_minus_alpha * g).mul_add(g, x[1] * s.alpha);
        x[1] = sq;
        let avg = if CENTERED {
            let ga = lerp(x[2], g, s.w, s.one_minus_w, s.w_small);
            x[2] = ga;
            (-ga).mul_add(ga, sq).sqrt()
        } else {
            sq.sqrt()
        };
        let avg = avg + s.eps;
        if MOMENTUM {
            let k = if CENTERED { 3 } else { 2 };
            let buf = x[k] * s.momentum + T::of(1.0) * g / avg;
            x[k] = buf;
            x[0] = buf.mul_add(s.neg_lr, x[0]);
        } else {
            x[0] = x[0] + s.neg_lr * g / avg;
        }
    }
}

macro_rules! rmsprop_rule {
    ($w:literal) => {
        impl<T: OptFloat, const L2: bool, const CENTERED: bool, const MOMENTUM: bool> Rule<T, $w>
            for Rmsprop<T, L2, CENTERED, MOMENTUM>
        {
            #[inline(always)]
            fn apply(&self, g: T, x: &mut [T; $w]) {
                self.update(g, x)
            }
        }
    };
}
rmsprop_rule!(2);
rmsprop_rule!(3);
rmsprop_rule!(4);

// ----------------------------------------------------------------- Adagrad

/// Adagrad's scalars, already rounded to `T`.
#[derive(Clone, Copy)]
pub struct AdagradScalars<T> {
    pub weight_decay: T,
    pub eps: T,
    /// `-lr / (1 + (t - 1) * lr_decay)`.
    pub neg_clr: T,
}

/// Adagrad: `w = [param, sum]`.
///
/// PyTorch, in order: `g = -g` (maximize, done by `run`); `g = g.add(p, alpha=wd)`;
/// `sum.addcmul_(g, g, value=1)`; `std = sum.sqrt().add_(eps)`;
/// `p.addcdiv_(g, std, value=-clr)`.
pub struct Adagrad<T, const L2: bool>(pub AdagradScalars<T>);

impl<T: OptFloat, const L2: bool> Rule<T, 2> for Adagrad<T, L2> {
    #[inline(always)]
    fn apply(&self, g: T, x: &mut [T; 2]) {
        let s = &self.0;
        let g = prep_grad::<T, L2>(g, x[0], s.weight_decay);
        let sum = g.mul_add(g, x[1]);
        x[1] = sum;
        let std = sum.sqrt() + s.eps;
        x[0] = x[0] + s.neg_clr * g / std;
    }
}

// ----------------------------------------------------------------- Adadelta

/// Adadelta's scalars, already rounded to `T`.
#[derive(Clone, Copy)]
pub struct AdadeltaScalars<T> {
    pub rho: T,
    pub one_minus_rho: T,
    pub eps: T,
    pub weight_decay: T,
    pub neg_lr: T,
}

/// Adadelta: `w = [param, square_avg, acc_delta]`.
///
/// PyTorch, in order: `g = -g` (maximize, done by `run`); `g = g.add(p, alpha=wd)`;
/// `sq.mul_(rho).addcmul_(g, g, value=1 - rho)`; `std = sq.add(eps).sqrt_()`;
/// `delta = acc.add(eps).sqrt_().div_(std).mul_(g)`;
/// `acc.mul_(rho).addcmul_(delta, delta, value=1 - rho)`; `p.add_(delta, alpha=-lr)`.
pub struct Adadelta<T, const L2: bool>(pub AdadeltaScalars<T>);

impl<T: OptFloat, const L2: bool> Rule<T, 3> for Adadelta<T, L2> {
    #[inline(always)]
    fn apply(&self, g: T, x: &mut [T; 3]) {
        let s = &self.0;
        let g = prep_grad::<T, L2>(g, x[0], s.weight_decay);
        let sq = (s.one_minus_rho * g).mul_add(g, x[1] * s.rho);
        let std = (sq + s.eps).sqrt();
        let delta = (x[2] + s.eps).sqrt() / std * g;
        x[2] = (s.one_minus_rho * delta).mul_add(delta, x[2] * s.rho);
        x[1] = sq;
        x[0] = delta.mul_add(s.neg_lr, x[0]);
    }
}

// ----------------------------------------------------------------- Adamax

/// Adamax's scalars, already rounded to `T`.
#[derive(Clone, Copy)]
pub struct AdamaxScalars<T> {
    /// lerp weight `1 - beta1`, one minus it, and lerp's branch.
    pub w1: T,
    pub one_minus_w1: T,
    pub w1_small: bool,
    pub beta2: T,
    pub eps: T,
    pub weight_decay: T,
    /// `-lr / (1 - beta1^t)`.
    pub neg_clr: T,
}

/// Adamax: `w = [param, exp_avg, exp_inf]`.
///
/// PyTorch, in order: `g = -g` (maximize, done by `run`); `g = g.add(p, alpha=wd)`;
/// `m.lerp_(g, 1 - beta1)`; `exp_inf = maximum(exp_inf.mul_(beta2), g.abs().add_(eps))`;
/// `p.addcdiv_(m, exp_inf, value=-lr / (1 - beta1^t))`.
pub struct Adamax<T, const L2: bool>(pub AdamaxScalars<T>);

impl<T: OptFloat, const L2: bool> Rule<T, 3> for Adamax<T, L2> {
    #[inline(always)]
    fn apply(&self, g: T, x: &mut [T; 3]) {
        let s = &self.0;
        let g = prep_grad::<T, L2>(g, x[0], s.weight_decay);
        let m = lerp(x[1], g, s.w1, s.one_minus_w1, s.w1_small);
        let inf = maximum(x[2] * s.beta2, g.abs() + s.eps);
        x[0] = x[0] + s.neg_clr * m / inf;
        x[1] = m;
        x[2] = inf;
    }
}

// ----------------------------------------------------------------- NAdam

/// NAdam's scalars, already rounded to `T`.
#[derive(Clone, Copy)]
pub struct NadamScalars<T> {
    pub w1: T,
    pub one_minus_w1: T,
    pub w1_small: bool,
    pub beta2: T,
    pub one_minus_beta2: T,
    pub weight_decay: T,
    /// `1 - lr * weight_decay` (decoupled weight decay).
    pub decay: T,
    /// `1 - beta2^t`.
    pub bias_correction2: T,
    pub eps: T,
    /// `-lr * (1 - mu_t) / (1 - prod mu)`, the gradient's coefficient.
    pub grad_coef: T,
    /// `-lr * mu_{t+1} / (1 - prod mu * mu_{t+1})`, the average's coefficient.
    pub avg_coef: T,
}

/// NAdam: `w = [param, exp_avg, exp_avg_sq]`.
///
/// PyTorch, in order: `g = -g` (maximize, done by `run`); decoupled: `p.mul_(1 - lr*wd)`, L2:
/// `g = g.add(p, alpha=wd)`; `m.lerp_(g, 1 - beta1)`;
/// `v.mul_(beta2).addcmul_(g, g, value=1 - beta2)`;
/// `denom = v.div(1 - beta2^t).sqrt().add_(eps)`;
/// `p.addcdiv_(g, denom, value=grad_coef)`; `p.addcdiv_(m, denom, value=avg_coef)`.
pub struct Nadam<T, const WD: u8>(pub NadamScalars<T>);

impl<T: OptFloat, const WD: u8> Rule<T, 3> for Nadam<T, WD> {
    #[inline(always)]
    fn apply(&self, g: T, x: &mut [T; 3]) {
        let s = &self.0;
        let (g, p) = match WD {
            WD_L2 => (x[0].mul_add(s.weight_decay, g), x[0]),
            WD_DECOUPLED => (g, x[0] * s.decay),
            _ => (g, x[0]),
        };
        let m = lerp(x[1], g, s.w1, s.one_minus_w1, s.w1_small);
        let v = (s.one_minus_beta2 * g).mul_add(g, x[2] * s.beta2);
        let denom = (v / s.bias_correction2).sqrt() + s.eps;
        let p = p + s.grad_coef * g / denom;
        x[0] = p + s.avg_coef * m / denom;
        x[1] = m;
        x[2] = v;
    }
}

// ----------------------------------------------------------------- RAdam

/// RAdam's scalars, already rounded to `T`.
#[derive(Clone, Copy)]
pub struct RadamScalars<T> {
    pub w1: T,
    pub one_minus_w1: T,
    pub w1_small: bool,
    pub beta2: T,
    pub one_minus_beta2: T,
    pub weight_decay: T,
    /// `1 - lr * weight_decay` (decoupled weight decay).
    pub decay: T,
    /// `1 - beta1^t`.
    pub bias_correction1: T,
    pub lr: T,
    pub eps: T,
    /// `sqrt(1 - beta2^t)`.
    pub bias_correction2_sqrt: T,
    /// The variance rectification term (used when `RECT`).
    pub rect: T,
}

/// RAdam: `w = [param, exp_avg, exp_avg_sq]`; `RECT` when `rho_t > 5`.
///
/// PyTorch, in order: the gradient and weight decay as Adam's; `m.lerp_(g, 1 - beta1)`;
/// `v.mul_(beta2).addcmul_(g, g, value=1 - beta2)`; `bc = m / (1 - beta1^t)`;
/// rectified: `p.add_(bc * lr * (sqrt(1 - beta2^t) / v.sqrt().add_(eps)) * rect,
/// alpha=-1)` (the scalar over a tensor is `reciprocal() * scalar`), else
/// `p.add_(bc * lr, alpha=-1)`.
pub struct Radam<T, const WD: u8, const RECT: bool>(pub RadamScalars<T>);

impl<T: OptFloat, const WD: u8, const RECT: bool> Rule<T, 3> for Radam<T, WD, RECT> {
    #[inline(always)]
    fn apply(&self, g: T, x: &mut [T; 3]) {
        let s = &self.0;
        let (g, p) = match WD {
            WD_L2 => (x[0].mul_add(s.weight_decay, g), x[0]),
            WD_DECOUPLED => (g, x[0] * s.decay),
            _ => (g, x[0]),
        };
        let m = lerp(x[1], g, s.w1, s.one_minus_w1, s.w1_small);
        let v = (s.one_minus_beta2 * g).mul_add(g, x[2] * s.beta2);
        let d = m / s.bias_correction1 * s.lr;
        let d = if RECT {
            let adaptive = T::of(1.0) / (v.sqrt() + s.eps) * s.bias_correction2_sqrt;
            d * adaptive * s.rect
        } else {
            d
        };
        x[0] = p + T::of(-1.0) * d;
        x[1] = m;
        x[2] = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_matches_serial_bitwise() {
        let n = 3 * GRAIN + 17;
        let g: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 1000) as f32 / 333.0 - 1.5)
            .collect();
        let p0: Vec<f32> = (0..n)
            .map(|i| ((i * 104_729) % 997) as f32 / 500.0 - 1.0)
            .collect();
        let s = AdamScalars {
            w1: 0.1f32,
            one_minus_w1: 0.9,
            w1_small: true,
            beta2: 0.999,
            one_minus_beta2: 0.001,
            weight_decay: 0.0,
            decay: 1.0,
            bias_correction2_sqrt: 0.05,
            eps: 1e-8,
            neg_step_size: -0.01,
        };
        let rule = Adam::<f32, WD_NONE>(s);
        let (mut p1, mut m1, mut v1) = (p0.clone(), vec![0.0f32; n], vec![0.0f32; n]);
        run(&g, [&mut p1, &mut m1, &mut v1], &rule, false);
        let (mut p2, mut m2, mut v2) = (p0.clone(), vec![0.0f32; n], vec![0.0f32; n]);
        run_serial(&g, [&mut p2, &mut m2, &mut v2], &rule, false);
        assert_eq!(p1, p2);
        assert_eq!(m1, m2);
        assert_eq!(v1, v2);
        // `maximize` is the update on the negated gradient, bit for bit: signed zeros
        // and a NaN included.
        let mut g = g;
        g[5] = -0.0;
        g[6] = 0.0;
        g[GRAIN + 1] = f32::NAN;
        let neg: Vec<f32> = g.iter().map(|&x| -x).collect();
        let (mut p3, mut m3, mut v3) = (p0.clone(), vec![0.0f32; n], vec![0.0f32; n]);
        run(&g, [&mut p3, &mut m3, &mut v3], &rule, true);
        let (mut p4, mut m4, mut v4) = (p0.clone(), vec![0.0f32; n], vec![0.0f32; n]);
        run(&neg, [&mut p4, &mut m4, &mut v4], &rule, false);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&p3), bits(&p4));
        assert_eq!(bits(&m3), bits(&m4));
        assert_eq!(bits(&v3), bits(&v4));
    }
}
