//! The `Element` trait ties a Rust type to its `DType`, and the `dispatch_*` macros turn
//! a runtime dtype into a monomorphised kernel call.

use crate::cpu::half_convert::{narrow_bf16, narrow_f16, widen_bf16, widen_f16};
use crate::dtype::DType;
use half::{bf16, f16};

/// A type that can live in a tensor's storage.
pub trait Element: Copy + Send + Sync + PartialOrd + PartialEq + std::fmt::Debug + 'static {
    const DTYPE: DType;
    fn to_f64(self) -> f64;
    /// Converts with C-style casting (floats to ints truncate toward zero, as PyTorch).
    /// Not called `from_f64`: `half`'s types have an inherent `from_f64` that a call
    /// on a concrete type would pick instead, and bfloat16's differs (see impl_half).
    fn cast_from_f64(v: f64) -> Self;
    fn to_i64(self) -> i64;
    fn from_i64(v: i64) -> Self;
    fn zero() -> Self;
    fn one() -> Self;
    /// An integer (or bool) that orders as the value does, -0 and +0 equal; meaningless
    /// for a NaN. Reductions of many values compare these: integer comparisons
    /// vectorise where float and 16-bit float ones do not.
    type Key: Ord + Copy;
    fn order_key(self) -> Self::Key;
    /// `self > other` as `PartialOrd` answers it (false with a NaN on either side).
    #[inline(always)]
    fn greater(self, other: Self) -> bool {
        self > other
    }
    /// `self < other` as `PartialOrd` answers it.
    #[inline(always)]
    fn less(self, other: Self) -> bool {
        other.greater(self)
    }
    /// Whether the value is a NaN.
    #[inline(always)]
    fn is_nan_value(self) -> bool {
        #[allow(clippy::eq_op)]
        let nan = self != self;
        nan
    }
}

/// A float truncated to int32 as x86's `cvttsd2si` does, which is what PyTorch's
/// `static_cast` compiles to: NaN and values outside int32 give `i32::MIN`.
#[inline(always)]
fn x86_trunc_i32(v: f64) -> i32 {
    if v > -2147483649.0 && v < 2147483648.0 {
        // SAFETY: v is not NaN and its truncation lies in i32's range (checked above).
        // (`as` would saturate, a per-lane fix-up that kept LLVM's loop scalar.)
        unsafe { v.to_int_unchecked::<i32>() }
    } else {
        i32::MIN
    }
}

/// As `x86_trunc_i32`, for int64: NaN and values outside int64 give `i64::MIN`.
#[inline(always)]
fn x86_trunc_i64(v: f64) -> i64 {
    if (-9223372036854775808.0..9223372036854775808.0).contains(&v) {
        // SAFETY: v is not NaN and its truncation lies in i64's range (checked above).
        unsafe { v.to_int_unchecked::<i64>() }
    } else {
        i64::MIN
    }
}

macro_rules! impl_int {
    ($($t:ty => $d:ident, $via:ident),*) => {$(
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            #[inline(always)] fn to_f64(self) -> f64 { self as f64 }
            #[inline(always)] fn cast_from_f64(v: f64) -> Self {
                // PyTorch's float-to-integer cast on x86: truncation to int32 (int64 for
                // int64), NaN and out-of-range values to the minimum, then the low bits
                // (300.0 -> uint8 44, 1e10 -> int16 0), never Rust's saturation.
                $via(v) as $t
            }
            #[inline(always)] fn to_i64(self) -> i64 { self as i64 }
            #[inline(always)] fn from_i64(v: i64) -> Self { v as $t }
            #[inline(always)] fn zero() -> Self { 0 }
            #[inline(always)] fn one() -> Self { 1 }
            type Key = $t;
            #[inline(always)] fn order_key(self) -> $t { self }
        }
    )*};
}
impl_int!(
    u8 => U8, x86_trunc_i32,
    i8 => I8, x86_trunc_i32,
    i16 => I16, x86_trunc_i32,
    i32 => I32, x86_trunc_i32,
    i64 => I64, x86_trunc_i64
);

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as u8 as f64
    }
    #[inline(always)]
    fn cast_from_f64(v: f64) -> Self {
        v != 0.0
    }
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self as i64
    }
    #[inline(always)]
    fn from_i64(v: i64) -> Self {
        v != 0
    }
    #[inline(always)]
    fn zero() -> Self {
        false
    }
    #[inline(always)]
    fn one() -> Self {
        true
    }
    type Key = bool;
    #[inline(always)]
    fn order_key(self) -> bool {
        self
    }
}

macro_rules! impl_float {
    ($($t:ty => $d:ident, $key:ty, $magnitude:expr),*) => {$(
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            #[inline(always)] fn to_f64(self) -> f64 { self as f64 }
            #[inline(always)] fn cast_from_f64(v: f64) -> Self { v as $t }
            #[inline(always)] fn to_i64(self) -> i64 { self as i64 }
            #[inline(always)] fn from_i64(v: i64) -> Self { v as $t }
            #[inline(always)] fn zero() -> Self { 0.0 }
            #[inline(always)] fn one() -> Self { 1.0 }
            type Key = $key;
            /// The magnitude's bits, negated for a set sign bit.
            #[inline(always)]
            fn order_key(self) -> $key {
                let bits = self.to_bits() as $key;
                let magnitude = bits & $magnitude;
                if bits < 0 { -magnitude } else { magnitude }
            }
        }
    )*};
}
impl_float!(f32 => F32, i32, 0x7fff_ffff, f64 => F64, i64, 0x7fff_ffff_ffff_ffff);

/// A 16-bit float's bits as an integer that orders as its value: the magnitude, negated
/// for a set sign bit (so -0 and +0 are equal). Meaningless for a NaN.
#[inline(always)]
fn half_order_key(bits: u16) -> i16 {
    let magnitude = (bits & 0x7fff) as i16;
    if bits & 0x8000 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

// The 16-bit floats compare through their bits: `half`'s comparisons convert each
// operand (in software without F16C), which kept the amax/amin loops scalar on the AVX2
// path (14x the AVX-512 path's time over a leading dim). They convert through
// `half_convert`'s branch-free functions, not `half`'s, which check for F16C on each
// call (float16) or branch on NaN (bfloat16) and so keep every loop over them scalar:
// the same values, NaN payloads aside.
macro_rules! impl_half {
    ($($t:ty => $d:ident, $widen:path, $narrow:path, $inf_bits:expr);*) => {$(
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            #[inline(always)] fn to_f64(self) -> f64 { f64::from($widen(self)) }
            #[inline(always)] fn cast_from_f64(v: f64) -> Self { $narrow(v as f32) }
            #[inline(always)] fn to_i64(self) -> i64 { $widen(self) as i64 }
            #[inline(always)] fn from_i64(v: i64) -> Self { $narrow(v as f32) }
            #[inline(always)] fn zero() -> Self { <$t>::ZERO }
            #[inline(always)] fn one() -> Self { <$t>::ONE }
            type Key = i16;
            #[inline(always)] fn order_key(self) -> i16 { half_order_key(self.to_bits()) }
            #[inline(always)]
            fn greater(self, other: Self) -> bool {
                let (a, b) = (self.to_bits(), other.to_bits());
                (half_order_key(a) > half_order_key(b))
                    & !self.is_nan_value()
                    & !other.is_nan_value()
            }
            #[inline(always)]
            fn is_nan_value(self) -> bool {
                self.to_bits() & 0x7fff > $inf_bits
            }
        }
    )*};
}
// PyTorch's Half and BFloat16 are built from a float: a double rounds to float first
// (twice rounded, which differs from one rounding in about 1 value in 30,000; PyTorch
// 2.15 turns 1 + 2^-11 + 2^-40 into float16 1.0, not 1 + 2^-10).
impl_half!(
    f16 => F16, widen_f16, narrow_f16, 0x7c00;
    bf16 => BF16, widen_bf16, narrow_bf16, 0x7f80
);

/// Floating types with the arithmetic the math kernels need. Half types compute in
/// `f32` (`Acc`) and round once at the end, as PyTorch's CPU kernels do.
pub trait Float: Element {
    type Acc: num_like::FloatOps;
    fn to_acc(self) -> Self::Acc;
    fn from_acc(v: Self::Acc) -> Self;
}

impl Float for f32 {
    type Acc = f32;
    #[inline(always)]
    fn to_acc(self) -> f32 {
        self
    }
    #[inline(always)]
    fn from_acc(v: f32) -> Self {
        v
    }
}
impl Float for f64 {
    type Acc = f64;
    #[inline(always)]
    fn to_acc(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_acc(v: f64) -> Self {
        v
    }
}
impl Float for f16 {
    type Acc = f32;
    #[inline(always)]
    fn to_acc(self) -> f32 {
        widen_f16(self)
    }
    #[inline(always)]
    fn from_acc(v: f32) -> Self {
        narrow_f16(v)
    }
}
impl Float for bf16 {
    type Acc = f32;
    #[inline(always)]
    fn to_acc(self) -> f32 {
        widen_bf16(self)
    }
    #[inline(always)]
    fn from_acc(v: f32) -> Self {
        narrow_bf16(v)
    }
}

pub mod num_like {
    /// The operations of `f32` and `f64` that generic float kernels use.
    pub trait FloatOps:
        Copy
        + Send
        + Sync
        + PartialOrd
        + std::ops::Add<Output = Self>
        + std::ops::Sub<Output = Self>
        + std::ops::Mul<Output = Self>
        + std::ops::Div<Output = Self>
        + std::ops::Neg<Output = Self>
        + 'static
    {
        fn from_f64(v: f64) -> Self;
        fn to_f64(self) -> f64;
    }
    impl FloatOps for f32 {
        #[inline(always)]
        fn from_f64(v: f64) -> Self {
            v as f32
        }
        #[inline(always)]
        fn to_f64(self) -> f64 {
            self as f64
        }
    }
    impl FloatOps for f64 {
        #[inline(always)]
        fn from_f64(v: f64) -> Self {
            v
        }
        #[inline(always)]
        fn to_f64(self) -> f64 {
            self
        }
    }
}

/// Runs `$body` with `$T` bound to the Rust type of `$dtype`, for every dtype.
#[macro_export]
macro_rules! dispatch_all {
    ($dtype:expr, $T:ident => $body:expr) => {{
        use $crate::dtype::DType as __D;
        match $dtype {
            __D::Bool => {
                type $T = bool;
                $body
            }
            __D::U8 => {
                type $T = u8;
                $body
            }
            __D::I8 => {
                type $T = i8;
                $body
            }
            __D::I16 => {
                type $T = i16;
                $body
            }
            __D::I32 => {
                type $T = i32;
                $body
            }
            __D::I64 => {
                type $T = i64;
                $body
            }
            __D::F16 => {
                type $T = half::f16;
                $body
            }
            __D::BF16 => {
                type $T = half::bf16;
                $body
            }
            __D::F32 => {
                type $T = f32;
                $body
            }
            __D::F64 => {
                type $T = f64;
                $body
            }
        }
    }};
}

/// Runs `$body` with `$T` bound to the integer type of `$dtype`'s size (u8, i16, i32 or
/// i64; see [`DType::bits`](crate::dtype::DType::bits)), for kernels that only move
/// elements: one instance per size instead of one per dtype. Their views come from
/// `Tensor::cpu_bits_view(_mut)`.
#[macro_export]
macro_rules! dispatch_bits {
    ($dtype:expr, $T:ident => $body:expr) => {{
        match $dtype.size() {
            1 => {
                type $T = u8;
                $body
            }
            2 => {
                type $T = i16;
                $body
            }
            4 => {
                type $T = i32;
                $body
            }
            _ => {
                type $T = i64;
                $body
            }
        }
    }};
}

/// Like `dispatch_all!` but for floating dtypes only; `$other` runs for the rest.
#[macro_export]
macro_rules! dispatch_float {
    ($dtype:expr, $T:ident => $body:expr, _ => $other:expr) => {{
        use $crate::dtype::DType as __D;
        match $dtype {
            __D::F16 => {
                type $T = half::f16;
                $body
            }
            __D::BF16 => {
                type $T = half::bf16;
                $body
            }
            __D::F32 => {
                type $T = f32;
                $body
            }
            __D::F64 => {
                type $T = f64;
                $body
            }
            _ => $other,
        }
    }};
}

/// float32 and float64 only (kernels without half-precision forms); `$other` runs for
/// the rest.
#[macro_export]
macro_rules! dispatch_f32_f64 {
    ($dtype:expr, $T:ident => $body:expr, _ => $other:expr) => {{
        use $crate::dtype::DType as __D;
        match $dtype {
            __D::F32 => {
                type $T = f32;
                $body
            }
            __D::F64 => {
                type $T = f64;
                $body
            }
            _ => $other,
        }
    }};
}

/// Integral dtypes (bool excluded); `$other` runs for the rest.
#[macro_export]
macro_rules! dispatch_int {
    ($dtype:expr, $T:ident => $body:expr, _ => $other:expr) => {{
        use $crate::dtype::DType as __D;
        match $dtype {
            __D::U8 => {
                type $T = u8;
                $body
            }
            __D::I8 => {
                type $T = i8;
                $body
            }
            __D::I16 => {
                type $T = i16;
                $body
            }
            __D::I32 => {
                type $T = i32;
                $body
            }
            __D::I64 => {
                type $T = i64;
                $body
            }
            _ => $other,
        }
    }};
}

/// Arithmetic with PyTorch's per-dtype semantics: integers wrap, bool add is `or`,
/// half types compute in f32.
pub trait Arith: Element {
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// `self * a + b`; one rounding for float32 and float64 (a fused multiply-add, as
    /// PyTorch's vectorised kernels compute `x + alpha * y`).
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        self.mul(a).add(b)
    }
}

macro_rules! arith_int {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline(always)] fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            #[inline(always)] fn sub(self, o: Self) -> Self { self.wrapping_sub(o) }
            #[inline(always)] fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
        }
    )*};
}
arith_int!(u8, i8, i16, i32, i64);

macro_rules! arith_float {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline(always)] fn add(self, o: Self) -> Self { self + o }
            #[inline(always)] fn sub(self, o: Self) -> Self { self - o }
            #[inline(always)] fn mul(self, o: Self) -> Self { self * o }
            #[inline(always)] fn mul_add(self, a: Self, b: Self) -> Self { <$t>::mul_add(self, a, b) }
        }
    )*};
}
arith_float!(f32, f64);

macro_rules! arith_half {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline(always)] fn add(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() + o.to_f32()) }
            #[inline(always)] fn sub(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() - o.to_f32()) }
            #[inline(always)] fn mul(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() * o.to_f32()) }
        }
    )*};
}
arith_half!(f16, bf16);

impl Arith for bool {
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self | o
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self ^ o
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self & o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    #[test]
    fn half_types_widen_as_half_does() {
        for bits in 0..=u16::MAX {
            let (h, b) = (f16::from_bits(bits), bf16::from_bits(bits));
            assert!(same(Element::to_f64(h), f16::to_f64_const(h)), "{h:?}");
            assert!(same(Element::to_f64(b), bf16::to_f64_const(b)), "{b:?}");
            assert!(same(f64::from(h.to_acc()), f16::to_f64_const(h)), "{h:?}");
            assert!(same(f64::from(b.to_acc()), bf16::to_f64_const(b)), "{b:?}");
            if h.is_finite() {
                assert_eq!(Element::to_i64(h), f16::to_f64_const(h) as i64);
            }
            if b.is_finite() {
                assert_eq!(Element::to_i64(b), bf16::to_f64_const(b) as i64);
            }
        }
    }

    #[test]
    fn half_types_round_a_double_through_float_as_pytorch() {
        // 1 + 2^-11 is float16's tie between 1 and 1 + 2^-10 (bfloat16's is 1 + 2^-8):
        // a double just above it rounds to float32 first, onto the tie, then to even.
        let f16_tie = 1.0 + 2f64.powi(-11);
        let bf16_tie = 1.0 + 2f64.powi(-8);
        assert_eq!(f16::cast_from_f64(f16_tie + 2f64.powi(-40)), f16::ONE);
        assert_eq!(bf16::cast_from_f64(bf16_tie + 2f64.powi(-40)), bf16::ONE);
        // Above float32's rounding step the direct rounding wins again.
        let up = f16::cast_from_f64(f16_tie + 2f64.powi(-20));
        assert_eq!(up.to_f64_const(), 1.0 + 2f64.powi(-10));
        for v in [
            0.0,
            -0.0,
            1e-8,
            -6.1e-5,
            65504.0,
            65519.0,
            65520.0,
            1e300,
            f64::NAN,
        ] {
            let want = f16::from_f32_const(v as f32);
            assert_eq!(f16::cast_from_f64(v).to_bits(), want.to_bits(), "{v:e}");
            assert_eq!(f16::from_acc(v as f32).to_bits(), want.to_bits(), "{v:e}");
            assert_eq!(
                f16::from_i64(v as i64).to_bits(),
                f16::from_f32_const(v as i64 as f32).to_bits()
            );
        }
    }

    /// `order_key` orders non-NaN values as their float64 values do, -0 equal to +0.
    fn check<T: Element>(values: &[T]) {
        let mut v: Vec<(f64, T::Key)> = values
            .iter()
            .filter(|x| !x.is_nan_value())
            .map(|&x| (x.to_f64(), x.order_key()))
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        for w in v.windows(2) {
            let ((a, ka), (b, kb)) = (w[0], w[1]);
            assert_eq!(a == b, ka == kb, "{a} {b}");
            assert!(a > b || ka <= kb, "{a} {b}");
            assert!(a == b || ka < kb, "{a} {b}");
        }
    }

    #[test]
    fn keys_order_as_values() {
        let bits: Vec<u16> = (0..=u16::MAX).collect();
        check(&bits.iter().map(|&b| f16::from_bits(b)).collect::<Vec<_>>());
        check(&bits.iter().map(|&b| bf16::from_bits(b)).collect::<Vec<_>>());
        let mut state = 1u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            state
        };
        let mut f = vec![
            0.0f32,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MIN_POSITIVE,
        ];
        f.extend((0..4096).map(|_| f32::from_bits((next() >> 32) as u32)));
        check(&f);
        let mut d = vec![
            0.0f64,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            5e-324,
            -5e-324,
        ];
        d.extend((0..4096).map(|_| f64::from_bits(next())));
        check(&d);
    }
}
