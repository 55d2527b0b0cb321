//! The floating unary ops as named kinds: one type per op, carrying its name and its
//! scalar function (and, where the CPU has one, a vectorised float32 slice kernel).
//!
//! `ops::unary` defines each op (dtype rule, autograd) once over its kind; a backend
//! runs the kind: the CPU maps `f32`/`f64` over typed views, the meta device skips the
//! values, and a GPU backend compiles the kernel called `NAME` (its parameters are the
//! kind's fields). Half types compute in float32 and round once, as PyTorch's CPU
//! kernels do.

use super::unary::FMath;
use crate::cpu::math;
use crate::element::Element;

/// A vectorised float32 slice kernel: `(out-of-place (input, out), in place (data))`.
pub type F32Slices = (fn(&[f32], &mut [f32]), fn(&mut [f32]));
pub type F64Slices = (fn(&[f64], &mut [f64]), fn(&mut [f64]));

/// A floating unary op. `F` in a body is the type computed in: f32 (float32, float16,
/// bfloat16) or f64 (float64).
pub trait FloatUnary: Copy + Send + Sync + 'static {
    /// The kernel's name, for a backend that compiles one kernel per op.
    const NAME: &'static str;
    fn f32(self, x: f32) -> f32;
    fn f64(self, x: f64) -> f64;
    /// A vectorised slice kernel for contiguous float32 (`out`, then in place).
    fn f32_slices(self) -> Option<F32Slices> {
        None
    }
    /// The same for float64 (where the scalar form calls libm per element).
    fn f64_slices(self) -> Option<F64Slices> {
        None
    }
    /// A float32 block form in place, for kinds with parameters whose formula calls a
    /// transcendental with a faster slice kernel than the inlined scalar code (elu's
    /// expm1); `None`: the scalar body at the widest SIMD level.
    fn f32_block(self) -> Option<fn(Self, &mut [f32])> {
        None
    }
}

/// Declares kinds: `Name "kernel_name" { fields } [slices(f, f_inplace)] |x| body;`.
macro_rules! kinds {
    ($(
        $(#[$m:meta])*
        $name:ident $kname:literal { $($field:ident : $fty:ty),* }
        $(slices($s:path, $si:path))?
        $(slices64($s64:path, $si64:path))?
        $(block($b:path))?
        |$x:ident| $body:expr;
    )*) => {$(
        $(#[$m])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name { $(pub $field: $fty),* }

        impl FloatUnary for $name {
            const NAME: &'static str = $kname;
            #[inline(always)]
            #[allow(unused_variables)]
            fn f32(self, $x: f32) -> f32 {
                #[allow(dead_code)]
                type F = f32;
                let $name { $($field),* } = self;
                $body
            }
            #[inline(always)]
            #[allow(unused_variables)]
            fn f64(self, $x: f64) -> f64 {
                #[allow(dead_code)]
                type F = f64;
                let $name { $($field),* } = self;
                $body
            }
            $(
                fn f32_slices(self) -> Option<F32Slices> {
                    Some(($s, $si))
                }
            )?
            $(
                fn f64_slices(self) -> Option<F64Slices> {
                    Some(($s64, $si64))
                }
            )?
            $(
                fn f32_block(self) -> Option<fn(Self, &mut [f32])> {
                    Some($b)
                }
            )?
        }
    )*};
}

pub(crate) const GELU_S2: f64 = std::f64::consts::FRAC_1_SQRT_2;
pub(crate) const GELU_K: f64 = 0.797_884_560_802_865_4; // sqrt(2/pi)
pub(crate) const GELU_C: f64 = 0.044_715;

kinds! {
    /// e^x.
    Exp "exp" {} slices(math::exp_slice, math::exp_slice_inplace)
        slices64(math::exp_f64_slice, math::exp_f64_slice_inplace) |x| x.exp_();
    Exp2 "exp2" {} slices(math::exp2_slice, math::exp2_slice_inplace) |x| x.exp2();
    Expm1 "expm1" {} slices(math::expm1_slice, math::expm1_slice_inplace) |x| x.expm1_();
    /// ln x.
    Log "log" {} slices(math::log_slice, math::log_slice_inplace) |x| x.ln_();
    Log2 "log2" {} slices(math::log2_slice, math::log2_slice_inplace) |x| x.log2();
    Log10 "log10" {} slices(math::log10_slice, math::log10_slice_inplace) |x| x.log10();
    Log1p "log1p" {} slices(math::log1p_slice, math::log1p_slice_inplace) |x| x.log1p_();
    Sqrt "sqrt" {} |x| x.sqrt();
    Rsqrt "rsqrt" {} |x| 1.0 / x.sqrt();
    Sin "sin" {} slices(math::sin_slice, math::sin_slice_inplace) |x| x.sin_();
    Cos "cos" {} slices(math::cos_slice, math::cos_slice_inplace) |x| x.cos_();
    Tan "tan" {} slices(math::tan_slice, math::tan_slice_inplace) |x| x.tan();
    Asin "asin" {} |x| x.asin_();
    Acos "acos" {} |x| x.acos_();
    Atan "atan" {} slices(math::atan_slice, math::atan_slice_inplace) |x| x.atan();
    Sinh "sinh" {} |x| x.sinh_();
    Cosh "cosh" {} |x| x.cosh_();
    Asinh "asinh" {} |x| x.asinh_();
    /// ln(x + sqrt(x^2 - 1)); past 2^28 the square root's -1 is below the type's
    /// precision and the sum overflows near the maximum (float32 3.4e38 gave inf, not
    /// 89.4), so ln x + ln 2.
    Acosh "acosh" {} |x| {
        if x > 268_435_456.0 {
            x.ln_() + std::f64::consts::LN_2 as F
        } else {
            x.acosh()
        }
    };
    Atanh "atanh" {} |x| x.atanh_();
    Tanh "tanh" {} slices(math::tanh_slice, math::tanh_slice_inplace) |x| x.tanh_();
    /// 1 / (1 + e^-x).
    Sigmoid "sigmoid" {} slices(math::sigmoid_slice, math::sigmoid_slice_inplace) |x| x.sigmoid_();
    Erf "erf" {} slices(math::erf_slice, math::erf_slice_inplace) |x| x.erf_();
    Erfc "erfc" {} slices(math::erfc_slice, math::erfc_slice_inplace) |x| x.erfc_();
    Erfinv "erfinv" {} slices(math::erfinv_slice, math::erfinv_slice_inplace) |x| x.erfinv_();
    /// log|Γ(x)|.
    Lgamma "lgamma" {} slices(math::lgamma_slice, math::lgamma_slice_inplace) |x| x.lgamma_();
    /// ψ(x) = Γ'(x)/Γ(x).
    Digamma "digamma" {} slices(math::digamma_slice, math::digamma_slice_inplace) |x| x.digamma_();
    /// ψ'(x) (`polygamma(1, x)`).
    Trigamma "trigamma" {} slices(math::trigamma_slice, math::trigamma_slice_inplace) |x| x.trigamma_();
    /// ψ⁽ⁿ⁾(x).
    Polygamma "polygamma" { n: u64 } |x| x.polygamma_(n);
    Reciprocal "reciprocal" {} |x| 1.0 / x;
    /// x * x: `x ** 2` (PyTorch multiplies for the small integer exponents).
    Square "square" {} |x| x * x;
    /// x * x * x: `x ** 3`.
    Cube "cube" {} |x| x * x * x;
    /// 1 / (x * x): `x ** -2`.
    InvSquare "inv_square" {} |x| 1.0 / (x * x);
    /// x - trunc(x).
    Frac "frac" {} |x| x - x.trunc();
    /// Round half to even at `10^-decimals` (`neg`: decimals < 0, `p = 10^|decimals|`).
    RoundDecimals "round_decimals" { p: f64, neg: bool } |x| {
        let tp = p as F;
        if neg {
            (x / tp).round_ties_even() * tp
        } else {
            (x * tp).round_ties_even() / tp
        }
    };
    /// x Phi(x), exact.
    Gelu "gelu" {} slices(math::gelu_slice, math::gelu_slice_inplace) |x| x.gelu_();
    /// The tanh approximation of gelu.
    GeluTanh "gelu_tanh" {} |x| {
        let inner = (GELU_K as F) * (x + (GELU_C as F) * x * x * x);
        0.5 * x * (1.0 + inner.tanh_())
    };
    /// x sigmoid(x).
    Silu "silu" {} slices(math::silu_slice, math::silu_slice_inplace) |x| x.silu_();
    /// log(1 + e^(beta x)) / beta; linear above `threshold`.
    Softplus "softplus" { beta: f64, threshold: f64 } block(softplus_block) |x| {
        let bx = x * (beta as F);
        if bx > threshold as F {
            x
        } else {
            bx.exp_().log1p_() / (beta as F)
        }
    };
    /// PyTorch's `x > 0 ? x scale : expm1(x input_scale) (alpha scale)`, the coefficient
    /// product in the computing type.
    Elu "elu" { alpha: f64, scale: f64, input_scale: f64 } block(elu_block) |x| {
        if x > 0.0 {
            x * (scale as F)
        } else {
            (x * (input_scale as F)).expm1_() * ((alpha as F) * (scale as F))
        }
    };
    /// relu6(x + 3) / 6.
    Hardsigmoid "hardsigmoid" {} |x| (x + 3.0).clamp(0.0, 6.0) / 6.0;
    /// x relu6(x + 3) / 6, multiplied then divided as PyTorch's kernel does.
    Hardswish "hardswish" {} |x| x * (x + 3.0).clamp(0.0, 6.0) / 6.0;
    LeakyRelu "leaky_relu" { slope: f64 } |x| if x > 0.0 { x } else { x * (slope as F) };
    /// smooth_l1_loss (`huber` false, `p` beta) or huber_loss (`p` delta) of a
    /// difference, before the reduction: PyTorch's `z < beta ? 0.5 z z / beta : z - 0.5
    /// beta` and `z < delta ? 0.5 z z : delta (z - 0.5 delta)`, z = |x|. (One kind for
    /// both: each kind is compiled for every float type and layout.)
    SmoothL1 "smooth_l1" { p: f64, huber: bool } |x| {
        let (z, b) = (x.abs(), p as F);
        match (z < b, huber) {
            (true, false) => 0.5 * z * z / b,
            (false, false) => z - 0.5 * b,
            (true, true) => 0.5 * z * z,
            (false, true) => b * (z - 0.5 * b),
        }
    };
    /// min(x, 0) - log1p(e^-|x|), stable for both signs.
    LogSigmoid "log_sigmoid" {} block(log_sigmoid_block) |x| {
        let m = if x < 0.0 { x } else { 0.0 };
        m - (-x.abs()).exp_().log1p_()
    };
    /// x tanh(softplus(x)).
    Mish "mish" {} |x| {
        let sp = if x > 20.0 { x } else { x.exp_().log1p_() };
        x * sp.tanh_()
    };
}

/// `x[i] = combine(x[i], t[i])` over a float32 block, with `t` from `prepare(x)` through
/// the slice kernels `fs` in turn (the vectorised transcendentals; float32 with FMA on the
/// AVX2/AVX-512 paths), `combine` at the widest level, its results through `t` (a select
/// keeping x, written straight into x, can become a conditional store and a scalar loop).
#[inline(always)]
fn by_blocks(
    b: &mut [f32],
    prepare: impl Fn(f32) -> f32,
    fs: &[fn(&mut [f32])],
    combine: impl Fn(f32, f32) -> f32 + Copy,
) {
    let mut t = [0f32; 1024];
    for xs in b.chunks_mut(t.len()) {
        let t = &mut t[..xs.len()];
        for (tv, &x) in t.iter_mut().zip(xs.iter()) {
            *tv = prepare(x);
        }
        for f in fs {
            f(t);
        }
        let (xr, tr) = (&*xs, &mut *t);
        crate::ops::map::at_widest_level(
            #[inline(always)]
            move || {
                for (tv, &x) in tr.iter_mut().zip(xr) {
                    *tv = combine(x, *tv);
                }
            },
        );
        xs.copy_from_slice(t);
    }
}

/// elu: expm1 of `input_scale x`, then the select.
fn elu_block(k: Elu, b: &mut [f32]) {
    let (scale, ip) = (k.scale as f32, k.input_scale as f32);
    let negcoef = k.alpha as f32 * scale;
    by_blocks(
        b,
        move |x| x * ip,
        &[math::expm1_slice_inplace],
        move |x, e| {
            if x > 0.0 {
                x * scale
            } else {
                e * negcoef
            }
        },
    );
}

/// softplus: log1p(e^(beta x)) / beta, x itself above the threshold.
fn softplus_block(k: Softplus, b: &mut [f32]) {
    let (beta, threshold) = (k.beta as f32, k.threshold as f32);
    let fs: [fn(&mut [f32]); 2] = [math::exp_slice_inplace, math::log1p_slice_inplace];
    by_blocks(
        b,
        move |x| x * beta,
        &fs,
        move |x, l| {
            if x * beta > threshold {
                x
            } else {
                l / beta
            }
        },
    );
}

/// logsigmoid: min(x, 0) - log1p(e^-|x|).
fn log_sigmoid_block(_: LogSigmoid, b: &mut [f32]) {
    let fs: [fn(&mut [f32]); 2] = [math::exp_slice_inplace, math::log1p_slice_inplace];
    by_blocks(
        b,
        |x| -x.abs(),
        &fs,
        |x, l| {
            let m = if x < 0.0 { x } else { 0.0 };
            m - l
        },
    );
}

/// A unary op on integer and floating dtypes with one formula per family: integers
/// through i64 (wrapped back to the width), floats through f64 (float32 and the half
/// types round once). Bool is not defined.
pub trait IntFloatUnary: Copy + Send + Sync + 'static {
    /// The kernel's name, for a backend that compiles one kernel per op.
    const NAME: &'static str;
    fn int(self, x: i64) -> i64;
    fn float(self, x: f64) -> f64;
}

/// Declares kinds: `Name "kernel_name" |i| int_body, |x| float_body;`.
macro_rules! int_float_kinds {
    ($($(#[$m:meta])* $name:ident $kname:literal |$i:ident| $ibody:expr, |$x:ident| $fbody:expr;)*) => {$(
        $(#[$m])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name;

        impl IntFloatUnary for $name {
            const NAME: &'static str = $kname;
            #[inline(always)]
            fn int(self, $i: i64) -> i64 {
                $ibody
            }
            #[inline(always)]
            fn float(self, $x: f64) -> f64 {
                $fbody
            }
        }
    )*};
}

int_float_kinds! {
    /// |x|; the most negative integer wraps to itself, as in PyTorch.
    Abs "abs_cpu" |i| i.wrapping_abs(), |x| x.abs();
    Floor "floor_vml_cpu" |i| i, |x| x.floor();
    Ceil "ceil_vml_cpu" |i| i, |x| x.ceil();
    Trunc "trunc_vml_cpu" |i| i, |x| x.trunc();
    /// Round half to even.
    Round "round_cpu" |i| i, |x| x.round_ties_even();
    /// `(0 < x) - (x < 0)` as PyTorch computes it: NaN and -0.0 give 0.
    Sign "sign" |i| i.signum(), |x| ((0.0 < x) as i8 - (x < 0.0) as i8) as f64;
}

/// A test of a value (as f64, exact for every dtype but the widest integers, whose
/// tests here only compare with small constants): the predicates with a bool result
/// (`isnan`, ...) and the piecewise-constant masks of derivative formulas.
pub trait ValueTest: Copy + Send + Sync + 'static {
    /// The kernel's name, for a backend that compiles one kernel per op.
    const NAME: &'static str;
    fn test(self, x: f64) -> bool;
}

/// Declares tests: `Name "kernel_name" { fields } |x| body;`.
macro_rules! test_kinds {
    ($($(#[$m:meta])* $name:ident $kname:literal { $($field:ident : $fty:ty),* } |$x:ident| $body:expr;)*) => {$(
        $(#[$m])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name { $(pub $field: $fty),* }

        impl ValueTest for $name {
            const NAME: &'static str = $kname;
            #[inline(always)]
            // `!(x <= v)` is the point: true for NaN, as PyTorch's backward kernels.
            #[allow(clippy::neg_cmp_op_on_partial_ord)]
            fn test(self, $x: f64) -> bool {
                let $name { $($field),* } = self;
                $body
            }
        }
    )*};
}

test_kinds! {
    IsNan "isnan" {} |x| x.is_nan();
    IsInf "isinf" {} |x| x.is_infinite();
    IsFinite "isfinite" {} |x| x.is_finite();
    IsPosInf "isposinf" {} |x| x == f64::INFINITY;
    IsNegInf "isneginf" {} |x| x == f64::NEG_INFINITY;
    IsZero "eq_zero" {} |x| x == 0.0;
    IsNonZero "ne_zero" {} |x| x != 0.0;
    NotNan "not_isnan" {} |x| !x.is_nan();
    /// x > v (false for NaN).
    Above "gt_scalar" { v: f64 } |x| x > v;
    /// x <= v (false for NaN).
    AtMost "le_scalar" { v: f64 } |x| x <= v;
    /// x < v (false for NaN).
    Below "lt_scalar" { v: f64 } |x| x < v;
    /// lo < x < hi (false for NaN).
    Inside "inside" { lo: f64, hi: f64 } |x| x > lo && x < hi;
    /// not x <= v (true for NaN): where relu's derivative passes the gradient.
    NotAtMost "not_le_scalar" { v: f64 } |x| !(x <= v);
    /// not (x <= lo or x >= hi) (true for NaN): where hardtanh's derivative passes it.
    NotOutside "not_outside" { lo: f64, hi: f64 } |x| !(x <= lo || x >= hi);
    /// beta x > threshold: where softplus is linear.
    ScaledAbove "scaled_gt" { beta: f64, threshold: f64 } |x| x * beta > threshold;
}

/// How an [`ElementUnary`] runs on float16/bfloat16.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HalfPath {
    /// `apply` on the half type itself.
    Native,
    /// `half_bits` on the bits (selects against zero: integer lanes vectorise).
    Bits,
    /// `apply::<f32>` on float32 blocks of the widened values, then narrowed: for
    /// selects among values exact in the half type (vectorised conversions).
    Float32,
}

/// A unary op on every dtype by one formula generic over the element type (selects
/// and comparisons: no arithmetic that would need a dtype family).
pub trait ElementUnary: Copy + Send + Sync + 'static {
    /// The kernel's name, for a backend that compiles one kernel per op.
    const NAME: &'static str;
    fn apply<T: Element>(self, x: T) -> T;
    const HALF: HalfPath = HalfPath::Native;
    /// The op on the bits of a 16-bit float whose +infinity is `inf`.
    #[inline(always)]
    fn half_bits(self, bits: u16, _inf: u16) -> u16 {
        bits
    }
}

/// max(x, 0) as PyTorch's `clamp_min(x, 0)`: NaN and -0.0 pass through, -inf gives 0.
#[derive(Clone, Copy, Debug)]
pub struct Relu;

impl ElementUnary for Relu {
    const NAME: &'static str = "relu";
    #[inline(always)]
    fn apply<T: Element>(self, x: T) -> T {
        if x < T::zero() {
            T::zero()
        } else {
            x
        }
    }
    const HALF: HalfPath = HalfPath::Bits;
    /// A negative number below -0.0 (up to -inf; NaNs lie above `inf`) becomes +0.
    #[inline(always)]
    fn half_bits(self, b: u16, inf: u16) -> u16 {
        let mag = b & 0x7fff;
        if b & 0x8000 != 0 && mag != 0 && mag <= inf {
            0
        } else {
            b
        }
    }
}

/// -x with the sign bit flipped (NaNs' too, as PyTorch's `neg`); routed here for the
/// 16-bit floats, whose generic path multiplied by a broadcast -1 element by element
/// (17x PyTorch's time).
#[derive(Clone, Copy, Debug)]
pub struct NegBits;

impl ElementUnary for NegBits {
    const NAME: &'static str = "neg";
    #[inline(always)]
    fn apply<T: Element>(self, x: T) -> T {
        T::cast_from_f64(-x.to_f64())
    }
    const HALF: HalfPath = HalfPath::Bits;
    #[inline(always)]
    fn half_bits(self, b: u16, _inf: u16) -> u16 {
        b ^ 0x8000
    }
}

/// |x| with the sign bit cleared (a NaN stays a NaN); routed here for the 16-bit floats
/// (their float64 round trip took 3.7x PyTorch's time).
#[derive(Clone, Copy, Debug)]
pub struct AbsBits;

impl ElementUnary for AbsBits {
    const NAME: &'static str = "abs";
    #[inline(always)]
    fn apply<T: Element>(self, x: T) -> T {
        T::cast_from_f64(x.to_f64().abs())
    }
    const HALF: HalfPath = HalfPath::Bits;
    #[inline(always)]
    fn half_bits(self, b: u16, _inf: u16) -> u16 {
        b & 0x7fff
    }
}

/// `hardtanh`: `lo` below `lo`, `hi` above `hi` (compared in f64; NaN passes).
#[derive(Clone, Copy, Debug)]
pub struct Hardtanh {
    pub lo: f64,
    pub hi: f64,
}

impl ElementUnary for Hardtanh {
    const NAME: &'static str = "hardtanh";
    #[inline(always)]
    fn apply<T: Element>(self, x: T) -> T {
        let f = x.to_f64();
        if f < self.lo {
            T::cast_from_f64(self.lo)
        } else if f > self.hi {
            T::cast_from_f64(self.hi)
        } else {
            x
        }
    }
}

/// `nan_to_num`: NaN, +inf and -inf replaced (floating dtypes; others pass).
#[derive(Clone, Copy, Debug)]
pub struct NanToNum {
    pub nan: f64,
    pub posinf: f64,
    pub neginf: f64,
}

impl ElementUnary for NanToNum {
    const NAME: &'static str = "nan_to_num";
    // (The callers give half tensors replacement values exact in the half type, so the
    // float32 blocks narrow them exactly.)
    const HALF: HalfPath = HalfPath::Float32;
    #[inline(always)]
    #[allow(clippy::eq_op)]
    fn apply<T: Element>(self, x: T) -> T {
        if !T::DTYPE.is_floating_point() {
            return x;
        }
        // Compared in the element type (the infinities convert exactly), every value
        // converted up front (loop invariants) and chosen by selects: a loop LLVM
        // vectorises, where branches around conversions did not.
        let (inf, ninf) = (
            T::cast_from_f64(f64::INFINITY),
            T::cast_from_f64(f64::NEG_INFINITY),
        );
        let (nan, posinf, neginf) = (
            T::cast_from_f64(self.nan),
            T::cast_from_f64(self.posinf),
            T::cast_from_f64(self.neginf),
        );
        let r = if x == inf { posinf } else { x };
        let r = if x == ninf { neginf } else { r };
        if x != x {
            nan
        } else {
            r
        }
    }
}

/// `clamp` by number bounds already exact in the dtype (`lo`/`hi` as floats for
/// floating dtypes, `lo_int`/`hi_int` for the others): two compares and selects, which
/// vectorise; NaN fails both and passes through.
#[derive(Clone, Copy, Debug)]
pub struct ClampNumbers {
    pub lo: f64,
    pub hi: f64,
    pub lo_int: i64,
    pub hi_int: i64,
}

impl ElementUnary for ClampNumbers {
    const NAME: &'static str = "clamp_scalar";
    const HALF: HalfPath = HalfPath::Float32;
    #[inline(always)]
    fn apply<T: Element>(self, x: T) -> T {
        let (l, h) = if T::DTYPE.is_floating_point() {
            (T::cast_from_f64(self.lo), T::cast_from_f64(self.hi))
        } else {
            (T::from_i64(self.lo_int), T::from_i64(self.hi_int))
        };
        let r = if x < l { l } else { x };
        if r > h {
            h
        } else {
            r
        }
    }
}

/// `~x` on integers (two's complement, through i64 and wrapped back) and logical not
/// on bool.
#[derive(Clone, Copy, Debug)]
pub struct BitwiseNot;

impl ElementUnary for BitwiseNot {
    const NAME: &'static str = "bitwise_not";
    #[inline(always)]
    fn apply<T: Element>(self, x: T) -> T {
        if matches!(T::DTYPE, crate::dtype::DType::Bool) {
            T::from_i64((x.to_i64() == 0) as i64)
        } else {
            T::from_i64(!x.to_i64())
        }
    }
}

/// The identity (bool `sign`, copies without a cast).
#[derive(Clone, Copy, Debug)]
pub struct Identity;

impl ElementUnary for Identity {
    const NAME: &'static str = "identity";
    #[inline(always)]
    fn apply<T: Element>(self, x: T) -> T {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_compute_their_closed_forms_in_both_widths() {
        let x = 0.75f64;
        assert!((Exp {}.f64(x) - x.exp()).abs() < 1e-15);
        assert!((Exp {}.f32(x as f32) - x.exp() as f32).abs() < 1e-6);
        assert_eq!(Exp::NAME, "exp");
        assert!(Exp {}.f32_slices().is_some() && Asin {}.f32_slices().is_none());
        let l = LeakyRelu { slope: 0.1 };
        assert_eq!((l.f64(-2.0), l.f64(3.0)), (-0.2, 3.0));
        let s = Softplus {
            beta: 2.0,
            threshold: 20.0,
        };
        assert!((s.f64(0.5) - (1.0f64.exp()).ln_1p() / 2.0).abs() < 1e-15);
        assert_eq!(s.f64(30.0), 30.0);
        let r = RoundDecimals {
            p: 100.0,
            neg: false,
        };
        assert_eq!(r.f64(1.005_f64 * 1.0 + 0.0001), 1.01);
        assert!((LogSigmoid {}.f64(-3.0) - (1.0 / (1.0 + 3.0f64.exp())).ln()).abs() < 1e-14);
    }
}
