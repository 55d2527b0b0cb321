//! The binary elementwise ops as named kinds: one type per op, carrying its kernel name,
//! its parameters (fields) and its value formula per dtype family.
//!
//! The ops in `ops::binary`, `ops::compare` and `ops::pointwise` decide dtypes, shapes
//! and autograd, then hand a kind to `ops::map`, the family's one dispatch point: the
//! CPU monomorphises the formula per dtype over typed views, the meta device computes
//! nothing, and a GPU backend compiles the kernel called `NAME` for the dtype (the
//! kind's fields are its parameters). Four families, by the dtypes they are defined on:
//!
//! - [`ArithBinary`]: every dtype, one generic formula (add, sub, mul, maximum, ...).
//! - [`FloatBinary`]: floating dtypes; float32 and the half types compute in float32
//!   and round once, float64 in float64 (atan2, true division, ...).
//! - [`IntBinary`]: integer and bool dtypes, computed in i64 and wrapped to the width,
//!   as PyTorch's integer kernels wrap (floor division, bitwise ops, shifts, ...).
//! - [`CompareBinary`]: every dtype in, bool out (comparisons, logical ops, isclose).
//!
//! Ops that are defined for integers and floats with different formulas (floor
//! division, remainder, pow) implement both `FloatBinary` and `IntBinary`.

// x != x is the NaN test in formulas generic over every dtype.
#![allow(clippy::eq_op)]

use crate::cpu::elementwise::RowAffine;
use crate::cpu::math::MulAdd;
use crate::dtype::Scalar;
use crate::element::num_like::FloatOps;
use crate::element::{Arith, Element};

/// An op defined on every dtype by one formula over `T: Arith`.
pub trait ArithBinary: Copy + Send + Sync + 'static {
    /// The kernel's name, for a backend that compiles one kernel per op.
    const NAME: &'static str;
    /// Whether the formula has a fused multiply-add: float32 then runs through the
    /// block kernel compiled with FMA (`f32::mul_add` elsewhere is a libm call).
    const FUSED: bool = false;
    /// Whether float16/bfloat16 operands that run flat take one pass with `f32`
    /// inlined (`cpu::half_flat`) rather than the float32 blocks: the common kinds (each
    /// is a copy of the loop per type and SIMD level in the extension). Not the kinds
    /// with alpha, whose per-element conversion of it keeps that loop scalar.
    const ONE_PASS: bool = false;
    /// Whether `apply(x, y)` is `apply(y, x)` bit for bit (add, mul): the map may then
    /// swap the operands (`ops::map::arith`).
    const COMMUTES: bool = false;
    /// The op as `x * s + t` against one value per row, where it is that exactly
    /// (`cpu::RowAffine`): float32 rows against a column then need no block of it.
    const AFFINE: Option<RowAffine> = None;
    fn apply<T: Arith>(self, x: T, y: T) -> T;
    /// The op on float32: how float16 and bfloat16 compute (one rounding at the end).
    /// Kinds override it with a form LLVM vectorises better (selects for branches, the
    /// same values), or with alpha rounded as the op rounds it (the scaled kinds).
    #[inline(always)]
    fn f32(self, x: f32, y: f32) -> f32 {
        self.apply(x, y)
    }
    /// `x = op(x, y)` over float32 blocks (plain `for` loops: `ops::map` compiles this
    /// for AVX2/AVX-512, and a `for_each` closure would stay out of line without those
    /// features).
    #[inline]
    fn f32_block(self, x: &mut [f32], y: &[f32]) {
        for (a, &b) in x.iter_mut().zip(y) {
            *a = self.f32(*a, b);
        }
    }
    /// `o = op(x, y)` over float32 blocks, as `f32_block` out of place.
    #[inline]
    fn f32_apart(self, o: &mut [f32], x: &[f32], y: &[f32]) {
        for ((v, &a), &b) in o.iter_mut().zip(x).zip(y) {
            *v = self.f32(a, b);
        }
    }
}

/// A float32 block kernel of a [`FloatBinary`] kind: `x[i] = f(x[i], y[i])`.
pub type F32Block<K> = fn(K, &mut [f32], &[f32]);

/// An op on floating dtypes.
pub trait FloatBinary: Copy + Send + Sync + 'static {
    const NAME: &'static str;
    fn f32(self, x: f32, y: f32) -> f32;
    fn f64(self, x: f64, y: f64) -> f64;
    /// The value for float16/bfloat16 inputs widened to float32; `round` rounds a
    /// float32 to the storage type, for ops whose PyTorch kernel rounds an
    /// intermediate result to it. Most compute in float32 and round once.
    #[inline(always)]
    fn half(self, x: f32, y: f32, _round: fn(f32) -> f32) -> f32 {
        self.f32(x, y)
    }
    /// Whether `f32_fast` may decline elements (then the half types compute with the
    /// float32 form too: `half` is not used).
    const DECLINES: bool = false;
    /// Whether float16/bfloat16 operands that run flat take one pass with `half`
    /// inlined (`cpu::half_flat`) rather than the float32 blocks: for cheap formulas
    /// that are common on those types (each such kind is a copy of the loop per type
    /// and SIMD level in the extension). Not with `DECLINES` or an `f32_block`.
    const ONE_PASS: bool = false;
    /// The float32 form the vector loops run, with the multiply-add `M` of the SIMD
    /// level they are compiled for (`at_widest_level_fma`): `(value, true)`, or, for a
    /// kind with `DECLINES`, `(_, false)` where the exact `f32` must redo the element.
    #[inline(always)]
    fn f32_fast<M: MulAdd>(self, x: f32, y: f32) -> (f32, bool) {
        (self.f32(x, y), true)
    }
    /// A float32 block form, `x[i] = f(x[i], y[i])`, for kinds whose formula calls a
    /// transcendental with a vectorised slice kernel (`cpu::math`) faster than the scalar
    /// code the loop would inline; `None`: that loop, at the widest SIMD level.
    fn f32_block(self) -> Option<F32Block<Self>> {
        None
    }
}

/// An op on integer dtypes (and bool where `BOOL`), computed in i64 and wrapped to the
/// dtype's width (bool: nonzero is true).
pub trait IntBinary: Copy + Send + Sync + 'static {
    const NAME: &'static str;
    fn int(self, x: i64, y: i64) -> i64;
    /// Whether `y == 0` is an error (integer division): PyTorch raises
    /// ZeroDivisionError before computing anything.
    const DIVIDES: bool = false;
    /// Whether the op is defined on bool (PyTorch has only the bitwise ops there).
    const BOOL: bool = false;
}

/// A predicate on two values of any dtype: the result is bool.
pub trait CompareBinary: Copy + Send + Sync + 'static {
    const NAME: &'static str;
    fn test<T: Element>(self, x: T, y: T) -> bool;
}

/// `s` converted to `T` as PyTorch converts a Python number for a tensor of `T`.
#[inline(always)]
pub(crate) fn scalar_as<T: Element>(s: Scalar) -> T {
    match s {
        Scalar::Bool(b) => T::from_i64(b as i64),
        Scalar::Int(i) => T::from_i64(i),
        Scalar::Float(f) => T::cast_from_f64(f),
    }
}

// ----- every dtype -----

/// Declares the arithmetic kinds `Name "kernel" method commutes;` (`x.method(y)`).
macro_rules! arith_kinds {
    ($($name:ident $kname:literal $method:ident $commutes:literal;)*) => {$(
        #[derive(Clone, Copy, Debug)]
        pub struct $name;
        impl ArithBinary for $name {
            const NAME: &'static str = $kname;
            const ONE_PASS: bool = true;
            const COMMUTES: bool = $commutes;
            const AFFINE: Option<RowAffine> = Some(RowAffine::$name);
            #[inline(always)]
            fn apply<T: Arith>(self, x: T, y: T) -> T {
                x.$method(y)
            }
        }
    )*};
}

arith_kinds! {
    Add "add" add true;
    Sub "sub" sub false;
    Mul "mul" mul true;
}

/// Declares `x + c * y` kinds, `c` being `alpha` or `-alpha`: `Name "kernel" sign;`.
/// One fused multiply-add, as PyTorch computes them (`vec::fmadd(y, alpha, x)`): the
/// unfused form differs in the last bit of 18% of float32 results.
macro_rules! scaled_kinds {
    ($($(#[$m:meta])* $name:ident $kname:literal $neg:literal;)*) => {$(
        $(#[$m])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name {
            pub alpha: Scalar,
        }
        impl ArithBinary for $name {
            const NAME: &'static str = $kname;
            const FUSED: bool = true;
            #[inline(always)]
            fn apply<T: Arith>(self, x: T, y: T) -> T {
                let alpha: T = scalar_as(self.alpha);
                // Negation is exact for floats and wraps to the same residue for ints.
                let c = if $neg { T::zero().sub(alpha) } else { alpha };
                y.mul_add(c, x)
            }
            #[inline(always)]
            fn f32(self, x: f32, y: f32) -> f32 {
                // The op rounds alpha to a half type first (`ops::binary::alpha_in`).
                let alpha = self.alpha.to_f64() as f32;
                let c = if $neg { -alpha } else { alpha };
                y.mul_add(c, x)
            }
        }
    )*};
}

scaled_kinds! {
    /// `x + alpha * y`.
    AddScaled "add_alpha" false;
    /// `x - alpha * y`.
    SubScaled "sub_alpha" true;
}

/// 1 where `x == y`, else 0, in the operands' dtype: the tie masks of derivatives
/// (max/min/amax spread the gradient over the elements equal to the result). With
/// `nan_equal` a NaN matches a NaN (the result of a reduction over a NaN).
#[derive(Clone, Copy, Debug)]
pub struct EqMask {
    pub nan_equal: bool,
}
impl ArithBinary for EqMask {
    const NAME: &'static str = "eq_mask";
    #[inline(always)]
    fn apply<T: Arith>(self, x: T, y: T) -> T {
        if x == y || (self.nan_equal && x != x && y != y) {
            T::one()
        } else {
            T::zero()
        }
    }
}

/// `maximum`: NaN if either is NaN.
#[derive(Clone, Copy, Debug)]
pub struct Maximum;
impl ArithBinary for Maximum {
    const NAME: &'static str = "maximum";
    const ONE_PASS: bool = true;
    #[inline(always)]
    fn apply<T: Arith>(self, x: T, y: T) -> T {
        if x != x || (y == y && x >= y) {
            x
        } else {
            y
        }
    }
    #[inline(always)]
    fn f32(self, x: f32, y: f32) -> f32 {
        // Selects without short-circuits, so the loop vectorises without branches that
        // random data would mispredict.
        let r = if y > x { y } else { x };
        let r = if y != y { y } else { r };
        if x != x {
            x
        } else {
            r
        }
    }
}

/// `minimum`: NaN if either is NaN.
#[derive(Clone, Copy, Debug)]
pub struct Minimum;
impl ArithBinary for Minimum {
    const NAME: &'static str = "minimum";
    const ONE_PASS: bool = true;
    #[inline(always)]
    fn apply<T: Arith>(self, x: T, y: T) -> T {
        if x != x || (y == y && x <= y) {
            x
        } else {
            y
        }
    }
    #[inline(always)]
    fn f32(self, x: f32, y: f32) -> f32 {
        let r = if y < x { y } else { x };
        let r = if y != y { y } else { r };
        if x != x {
            x
        } else {
            r
        }
    }
}

/// `fmax`: a NaN loses to a number.
#[derive(Clone, Copy, Debug)]
pub struct Fmax;
impl ArithBinary for Fmax {
    const NAME: &'static str = "fmax";
    #[inline(always)]
    fn apply<T: Arith>(self, x: T, y: T) -> T {
        if y != y || x >= y {
            x
        } else {
            y
        }
    }
}

/// `fmin`: a NaN loses to a number.
#[derive(Clone, Copy, Debug)]
pub struct Fmin;
impl ArithBinary for Fmin {
    const NAME: &'static str = "fmin";
    #[inline(always)]
    fn apply<T: Arith>(self, x: T, y: T) -> T {
        if y != y || x <= y {
            x
        } else {
            y
        }
    }
}

// ----- floating -----

/// Declares float formulas written once over `F` (f32 or f64); `one_pass` sets
/// `FloatBinary::ONE_PASS`.
macro_rules! float_formula {
    ($name:ident $kname:literal |$x:ident, $y:ident| $body:expr) => {
        float_formula!(@ $name $kname false |$x, $y| $body);
    };
    ($name:ident $kname:literal one_pass |$x:ident, $y:ident| $body:expr) => {
        float_formula!(@ $name $kname true |$x, $y| $body);
    };
    (@ $name:ident $kname:literal $one:literal |$x:ident, $y:ident| $body:expr) => {
        impl FloatBinary for $name {
            const NAME: &'static str = $kname;
            const ONE_PASS: bool = $one;
            #[inline(always)]
            fn f32(self, $x: f32, $y: f32) -> f32 {
                #[allow(dead_code)]
                type F = f32;
                $body
            }
            #[inline(always)]
            fn f64(self, $x: f64, $y: f64) -> f64 {
                #[allow(dead_code)]
                type F = f64;
                $body
            }
        }
    };
}

/// True division (one correctly rounded quotient).
#[derive(Clone, Copy, Debug)]
pub struct Div;
float_formula!(Div "div_true" one_pass |x, y| x / y);

// Multiplication is also a floating kind, for the float32 kernels of half types times
// a number (`ops::map::half_by_number`).
float_formula!(Mul "mul" |x, y| x * y);

/// atan2(y, x): float32 by a branch-free kernel that vectorises (`math::atan2_f32`,
/// rounded once from float64), float64 by libm.
#[derive(Clone, Copy, Debug)]
pub struct Atan2;
impl FloatBinary for Atan2 {
    const NAME: &'static str = "atan2";
    #[inline(always)]
    fn f32(self, y: f32, x: f32) -> f32 {
        crate::cpu::math::atan2_f32(y, x)
    }
    #[inline(always)]
    fn f64(self, y: f64, x: f64) -> f64 {
        y.atan2(x)
    }
    #[inline(always)]
    fn f32_fast<M: MulAdd>(self, y: f32, x: f32) -> (f32, bool) {
        (crate::cpu::math::atan2_f32_m::<M>(y, x), true)
    }
}

/// log(e^x + e^y) as `max + log1p(e^-|x - y|)`, equal infinities giving themselves
/// (PyTorch's formula): float32 in float64, rounded once, by a loop that vectorises
/// (`math::logaddexp_f32_m`); float64 by libm (`pointwise::logaddexp` composes float64
/// from vectorised kernels instead).
#[derive(Clone, Copy, Debug)]
pub struct LogAddExp;
impl FloatBinary for LogAddExp {
    const NAME: &'static str = "logaddexp";
    #[inline(always)]
    fn f32(self, x: f32, y: f32) -> f32 {
        crate::cpu::math::logaddexp_f32_m::<crate::cpu::math::Separate>(x, y)
    }
    #[inline(always)]
    fn f64(self, x: f64, y: f64) -> f64 {
        if x == y && x.is_infinite() {
            x
        } else {
            // (`max` drops a NaN; the difference keeps it.)
            x.max(y) + (-(x - y).abs()).exp().ln_1p()
        }
    }
    #[inline(always)]
    fn f32_fast<M: MulAdd>(self, x: f32, y: f32) -> (f32, bool) {
        (crate::cpu::math::logaddexp_f32_m::<M>(x, y), true)
    }
}

/// |x| with the sign bit of y (exact in every width).
#[derive(Clone, Copy, Debug)]
pub struct Copysign;
float_formula!(Copysign "copysign" one_pass |x, y| x.copysign(y));

/// hypot(x, y): float32 as sqrt(x^2 + y^2) in float64, rounded once (the squares are
/// exact and neither overflows nor underflows there: glibc's `hypotf`, but a loop that
/// vectorises instead of a call per element); float64 by libm.
#[derive(Clone, Copy, Debug)]
pub struct Hypot;
impl FloatBinary for Hypot {
    const NAME: &'static str = "hypot";
    #[inline(always)]
    fn f32(self, x: f32, y: f32) -> f32 {
        let (a, b) = (x as f64, y as f64);
        let r = (a * a + b * b).sqrt() as f32;
        // IEEE: an infinite side makes +inf even beside a NaN.
        if x.is_infinite() || y.is_infinite() {
            f32::INFINITY
        } else {
            r
        }
    }
    #[inline(always)]
    fn f64(self, x: f64, y: f64) -> f64 {
        x.hypot(y)
    }
}

/// `a // b` as Python defines it for floats (PyTorch's `div_floor_floating`): the
/// quotient of `a - fmod(a, b)`, which is exact, rounded to the nearest integer, so
/// `1.0 // 0.1` is 9 (not `floor(1.0 / 0.1)` = 10); IEEE results for `b == 0`.
#[derive(Clone, Copy, Debug)]
pub struct DivFloor;
float_formula!(DivFloor "div_floor" |a, b| {
    if b == 0.0 {
        return a / b;
    }
    let m = a % b;
    let mut div = (a - m) / b;
    if m != 0.0 && ((b < 0.0) != (m < 0.0)) {
        div -= 1.0;
    }
    if div == 0.0 {
        return (0.0 as F).copysign(a / b);
    }
    let fl = div.floor();
    if div - fl > 0.5 {
        fl + 1.0
    } else {
        fl
    }
});

/// `trunc(a / b)`. For float16/bfloat16 PyTorch rounds the quotient to the storage
/// type before truncating (its kernel divides in the half type), so this does too.
#[derive(Clone, Copy, Debug)]
pub struct DivTrunc;
impl FloatBinary for DivTrunc {
    const NAME: &'static str = "div_trunc";
    #[inline(always)]
    fn f32(self, x: f32, y: f32) -> f32 {
        (x / y).trunc()
    }
    #[inline(always)]
    fn f64(self, x: f64, y: f64) -> f64 {
        (x / y).trunc()
    }
    #[inline(always)]
    fn half(self, x: f32, y: f32, round: fn(f32) -> f32) -> f32 {
        round(x / y).trunc()
    }
}

/// C's `fmod`: the result has the dividend's sign (exact in every width).
#[derive(Clone, Copy, Debug)]
pub struct Fmod;
impl FloatBinary for Fmod {
    const NAME: &'static str = "fmod";
    #[inline(always)]
    fn f32(self, x: f32, y: f32) -> f32 {
        x % y
    }
    #[inline(always)]
    fn f64(self, x: f64, y: f64) -> f64 {
        x % y
    }
    // libm's exact `%` is a loop per element: one float64 division answers nearly all.
    const DECLINES: bool = true;
    #[inline(always)]
    fn f32_fast<M: MulAdd>(self, x: f32, y: f32) -> (f32, bool) {
        crate::cpu::math::fmod_fast_f32(x, y)
    }
}

/// Python's `%`: the result has the divisor's sign.
#[derive(Clone, Copy, Debug)]
pub struct Remainder;
impl Remainder {
    /// The remainder from fmod's `r`: moved into the divisor's sign.
    #[inline(always)]
    fn from_fmod<F: FloatOps>(r: F, y: F) -> F {
        let zero = F::from_f64(0.0);
        if r != zero && ((r < zero) != (y < zero)) {
            r + y
        } else {
            r
        }
    }
}
impl FloatBinary for Remainder {
    const NAME: &'static str = "remainder";
    #[inline(always)]
    fn f32(self, x: f32, y: f32) -> f32 {
        Self::from_fmod(x % y, y)
    }
    #[inline(always)]
    fn f64(self, x: f64, y: f64) -> f64 {
        Self::from_fmod(x % y, y)
    }
    const DECLINES: bool = true;
    #[inline(always)]
    fn f32_fast<M: MulAdd>(self, x: f32, y: f32) -> (f32, bool) {
        let (r, ok) = crate::cpu::math::fmod_fast_f32(x, y);
        (Self::from_fmod(r, y), ok)
    }
}

/// `lerp(start, end, weight)` for a number `weight` (kept in float32 for float32 and
/// the half types, as PyTorch's kernel keeps it); the formula of
/// `ternary_kinds::Lerp`.
#[derive(Clone, Copy, Debug)]
pub struct LerpScalar {
    pub weight: f64,
}
impl FloatBinary for LerpScalar {
    const NAME: &'static str = "lerp_scalar";
    #[inline(always)]
    fn f32(self, start: f32, end: f32) -> f32 {
        use super::ternary_kinds::{FloatTernary, Lerp};
        Lerp {}.f32(start, end, self.weight as f32)
    }
    #[inline(always)]
    fn f64(self, start: f64, end: f64) -> f64 {
        use super::ternary_kinds::{FloatTernary, Lerp};
        Lerp {}.f64(start, end, self.weight)
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Pow;
impl FloatBinary for Pow {
    const NAME: &'static str = "pow";
    #[inline(always)]
    fn f32(self, x: f32, y: f32) -> f32 {
        x.powf(y)
    }
    #[inline(always)]
    fn f64(self, x: f64, y: f64) -> f64 {
        x.powf(y)
    }
    // libm's powf is a call per element: e^(y ln x) in float64 answers positive bases.
    const DECLINES: bool = true;
    #[inline(always)]
    fn f32_fast<M: MulAdd>(self, x: f32, y: f32) -> (f32, bool) {
        crate::cpu::math::pow_fast_f32_m::<M>(x, y)
    }
}

// ----- integer and bool -----

impl IntBinary for DivFloor {
    const NAME: &'static str = "div_floor";
    const DIVIDES: bool = true;
    #[inline(always)]
    fn int(self, x: i64, y: i64) -> i64 {
        // Wrapping: i64::MIN / -1 is i64::MIN, as in PyTorch.
        let q = x.wrapping_div(y);
        if x.wrapping_rem(y) != 0 && ((x < 0) != (y < 0)) {
            q.wrapping_sub(1)
        } else {
            q
        }
    }
}

impl IntBinary for DivTrunc {
    const NAME: &'static str = "div_trunc";
    const DIVIDES: bool = true;
    #[inline(always)]
    fn int(self, x: i64, y: i64) -> i64 {
        x.wrapping_div(y)
    }
}

impl IntBinary for Fmod {
    const NAME: &'static str = "fmod";
    const DIVIDES: bool = true;
    #[inline(always)]
    fn int(self, x: i64, y: i64) -> i64 {
        x.wrapping_rem(y)
    }
}

impl IntBinary for Remainder {
    const NAME: &'static str = "remainder";
    const DIVIDES: bool = true;
    #[inline(always)]
    fn int(self, x: i64, y: i64) -> i64 {
        let r = x.wrapping_rem(y);
        if r != 0 && ((r < 0) != (y < 0)) {
            r.wrapping_add(y)
        } else {
            r
        }
    }
}

impl IntBinary for Pow {
    const NAME: &'static str = "pow";
    /// Wrapping powers; PyTorch's rules for negative exponents (only 1 and -1 have
    /// nonzero results).
    #[inline]
    fn int(self, base: i64, exp: i64) -> i64 {
        if exp < 0 {
            return match base {
                1 => 1,
                -1 if exp & 1 == 0 => 1,
                -1 => -1,
                _ => 0,
            };
        }
        let (mut b, mut e, mut r) = (base, exp as u64, 1i64);
        while e > 0 {
            if e & 1 == 1 {
                r = r.wrapping_mul(b);
            }
            b = b.wrapping_mul(b);
            e >>= 1;
        }
        r
    }
}

/// Declares the bitwise kinds `Name "kernel" op;` (defined on bool too).
macro_rules! bitwise_kinds {
    ($($name:ident $kname:literal $op:tt;)*) => {$(
        #[derive(Clone, Copy, Debug)]
        pub struct $name;
        impl IntBinary for $name {
            const NAME: &'static str = $kname;
            const BOOL: bool = true;
            #[inline(always)]
            fn int(self, x: i64, y: i64) -> i64 {
                x $op y
            }
        }
    )*};
}

bitwise_kinds! {
    BitAnd "bitwise_and" &;
    BitOr "bitwise_or" |;
    BitXor "bitwise_xor" ^;
}

/// `x << s` in a `bits`-wide type: shifting by the width or more, or by
/// a negative amount, gives 0, as PyTorch's kernel does.
#[derive(Clone, Copy, Debug)]
pub struct Shl {
    pub bits: u32,
}
impl IntBinary for Shl {
    const NAME: &'static str = "lshift";
    #[inline(always)]
    fn int(self, x: i64, s: i64) -> i64 {
        if s < 0 || s >= self.bits as i64 {
            0
        } else {
            x.wrapping_shl(s as u32)
        }
    }
}

/// `x >> s` in a `bits`-wide type: out-of-range shifts give the sign
/// fill (0 or -1).
#[derive(Clone, Copy, Debug)]
pub struct Shr {
    pub bits: u32,
    pub signed: bool,
}
impl IntBinary for Shr {
    const NAME: &'static str = "rshift";
    #[inline(always)]
    fn int(self, x: i64, s: i64) -> i64 {
        let max = if self.signed {
            self.bits as i64 - 1
        } else {
            self.bits as i64
        };
        if s < 0 || s >= max {
            if self.signed && x < 0 {
                -1
            } else {
                0
            }
        } else {
            x >> s
        }
    }
}

// ----- predicates -----

/// Declares comparisons: `Name "kernel" op;`.
macro_rules! comparisons {
    ($($name:ident $kname:literal $op:tt;)*) => {$(
        #[derive(Clone, Copy, Debug)]
        pub struct $name;
        impl CompareBinary for $name {
            const NAME: &'static str = $kname;
            #[inline(always)]
            fn test<T: Element>(self, x: T, y: T) -> bool {
                x $op y
            }
        }
    )*};
}

comparisons! {
    Eq "eq" ==;
    Ne "ne" !=;
    Lt "lt" <;
    Le "le" <=;
    Gt "gt" >;
    Ge "ge" >=;
}

/// Declares logical ops on truth values (nonzero is true): `Name "kernel" op;`.
macro_rules! logicals {
    ($($name:ident $kname:literal $op:tt;)*) => {$(
        #[derive(Clone, Copy, Debug)]
        pub struct $name;
        impl CompareBinary for $name {
            const NAME: &'static str = $kname;
            #[inline(always)]
            fn test<T: Element>(self, x: T, y: T) -> bool {
                (x != T::zero()) $op (y != T::zero())
            }
        }
    )*};
}

logicals! {
    LogicalAnd "logical_and" &;
    LogicalOr "logical_or" |;
    LogicalXor "logical_xor" ^;
}

/// `|x - y| <= atol + rtol |y|`; equal values (infinities too) are close, NaNs only
/// to each other and only with `equal_nan`.
#[derive(Clone, Copy, Debug)]
pub struct IsClose {
    pub rtol: f64,
    pub atol: f64,
    pub equal_nan: bool,
}
impl CompareBinary for IsClose {
    const NAME: &'static str = "isclose";
    #[inline(always)]
    fn test<T: Element>(self, x: T, y: T) -> bool {
        if x == y {
            return true;
        }
        let (x, y) = (x.to_f64(), y.to_f64());
        if x.is_nan() || y.is_nan() {
            return self.equal_nan && x.is_nan() && y.is_nan();
        }
        if x.is_infinite() || y.is_infinite() {
            return false;
        }
        (x - y).abs() <= self.atol + self.rtol * y.abs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_floor_division_is_pythons() {
        // Python: 1.0 // 0.1 == 9.0, -1.0 // 0.1 == -10.0, 7.5 // -2 == -4.0.
        assert_eq!(DivFloor.f64(1.0, 0.1), 9.0);
        assert_eq!(DivFloor.f64(-1.0, 0.1), -10.0);
        assert_eq!(DivFloor.f64(7.5, -2.0), -4.0);
        assert_eq!(DivFloor.f32(1.0, 0.1), 9.0);
        assert!(DivFloor.f64(f64::INFINITY, 2.0).is_nan());
        assert_eq!(DivFloor.f64(1.0, 0.0), f64::INFINITY);
        let z = DivFloor.f64(-0.0, 3.0);
        assert!(z == 0.0 && z.is_sign_negative());
        assert!(DivFloor.f64(0.0, -3.0).is_sign_negative());
    }

    #[test]
    fn integer_kinds_wrap_and_follow_pythons_signs() {
        assert_eq!(IntBinary::int(DivFloor, -7, 2), -4);
        assert_eq!(IntBinary::int(DivTrunc, -7, 2), -3);
        assert_eq!(IntBinary::int(DivFloor, i64::MIN, -1), i64::MIN);
        assert_eq!(IntBinary::int(Remainder, -7, 3), 2);
        assert_eq!(IntBinary::int(Fmod, -7, 3), -1);
        assert_eq!(IntBinary::int(Pow, 3, 4), 81);
        assert_eq!(IntBinary::int(Pow, -1, -3), -1);
        assert_eq!(IntBinary::int(Pow, 2, -1), 0);
        assert_eq!(Shl { bits: 8 }.int(1, 8), 0);
        assert_eq!(
            Shr {
                bits: 8,
                signed: true
            }
            .int(-128, 9),
            -1
        );
        assert_eq!(
            Shr {
                bits: 8,
                signed: false
            }
            .int(200, 8),
            0
        );
        assert_eq!(Shl { bits: 8 }.int(1, 7), 128);
    }

    #[test]
    fn extrema_propagate_or_skip_nan() {
        let n = f32::NAN;
        assert!(Maximum.apply(n, 1.0f32).is_nan() && Maximum.apply(1.0f32, n).is_nan());
        assert_eq!(Fmax.apply(n, 1.0f32), 1.0);
        assert_eq!(Fmin.apply(2.0f32, n), 2.0);
        let (mut x, y) = (vec![n, 1.0, 3.0, 2.0], vec![0.0, n, 1.0, 5.0]);
        Maximum.f32_block(&mut x, &y);
        assert!(x[0].is_nan() && x[1].is_nan() && x[2] == 3.0 && x[3] == 5.0);
        assert_eq!(Minimum.apply(4i32, -2), -2);
    }

    #[test]
    fn predicates() {
        assert!(Lt.test(1i8, 2) && !Ge.test(1.0f32, 2.0));
        assert!(LogicalXor.test(0.5f64, 0.0) && !LogicalAnd.test(3u8, 0));
        let c = IsClose {
            rtol: 1e-5,
            atol: 1e-8,
            equal_nan: false,
        };
        assert!(c.test(1.0f64, 1.0 + 1e-6) && !c.test(f64::NAN, f64::NAN));
        assert!(c.test(f64::INFINITY, f64::INFINITY));
    }
}
