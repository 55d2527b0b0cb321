//! The fused three-input floating ops as named kinds (see `ops::binary_kinds` for the
//! design): lerp, addcmul, addcdiv. PyTorch computes each in one kernel, in float32
//! for float32 and the half types (rounding once) and in float64 for float64, with
//! fused multiply-adds where its vectorised kernels use them; these formulas follow it
//! so the results agree bit for bit.

use crate::element::Element;

/// A floating op of three same-dtype inputs.
pub trait FloatTernary: Copy + Send + Sync + 'static {
    /// The kernel's name, for a backend that compiles one kernel per op.
    const NAME: &'static str;
    fn f32(self, x: f32, y: f32, z: f32) -> f32;
    fn f64(self, x: f64, y: f64, z: f64) -> f64;
}

/// Declares kinds whose formula is written once over `F` (f32 or f64).
macro_rules! ternary_kinds {
    ($(
        $(#[$m:meta])*
        $name:ident $kname:literal { $($field:ident : $fty:ty),* } |$x:ident, $y:ident, $z:ident| $body:expr;
    )*) => {$(
        $(#[$m])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name { $(pub $field: $fty),* }

        impl FloatTernary for $name {
            const NAME: &'static str = $kname;
            #[inline(always)]
            #[allow(unused_variables)]
            fn f32(self, $x: f32, $y: f32, $z: f32) -> f32 {
                #[allow(dead_code)]
                type F = f32;
                let $name { $($field),* } = self;
                $body
            }
            #[inline(always)]
            #[allow(unused_variables)]
            fn f64(self, $x: f64, $y: f64, $z: f64) -> f64 {
                #[allow(dead_code)]
                type F = f64;
                let $name { $($field),* } = self;
                $body
            }
        }
    )*};
}

ternary_kinds! {
    /// `start + weight (end - start)` from the nearer end: one fused multiply-add of
    /// `(end - start)` by `weight` (from `start`) or `weight - 1` (from `end`).
    Lerp "lerp" {} |start, end, weight| {
        let small = weight.abs() < 0.5;
        let coeff = if small { weight } else { weight - 1.0 };
        let base = if small { start } else { end };
        coeff.mul_add(end - start, base)
    };
    /// `input + value t1 t2` as `fma(value t1, t2, input)`.
    Addcmul "addcmul" { value: f64 } |input, t1, t2| ((value as F) * t1).mul_add(t2, input);
    /// `input + (value t1) / t2`.
    Addcdiv "addcdiv" { value: f64 } |input, t1, t2| input + (value as F) * t1 / t2;
}

/// A three-input op on every dtype by one formula generic over the element type.
pub trait ElementTernary: Copy + Send + Sync + 'static {
    /// The kernel's name, for a backend that compiles one kernel per op.
    const NAME: &'static str;
    fn apply<T: Element>(self, x: T, y: T, z: T) -> T;
}

/// `clamp(x, lo, hi)` with tensor bounds: NaN in the input or a bound propagates;
/// otherwise max with `lo`, then min with `hi` (so `hi` wins when `lo > hi`).
#[derive(Clone, Copy, Debug)]
pub struct Clamp;

impl ElementTernary for Clamp {
    const NAME: &'static str = "clamp";
    #[inline(always)]
    #[allow(clippy::eq_op)]
    fn apply<T: Element>(self, v: T, l: T, h: T) -> T {
        if v != v {
            v
        } else if l != l {
            l
        } else if h != h {
            h
        } else {
            let r = if v < l { l } else { v };
            if r > h {
                h
            } else {
                r
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_against_exact_arithmetic() {
        // float32 inputs: their products are exact in float64, so one float64 rounding
        // and one float32 rounding stand in for a single fused rounding here.
        let (s, e, w) = (1.25f32, -3.5f32, 0.3f32);
        let exact = (w as f64) * ((e - s) as f64) + s as f64;
        assert_eq!(Lerp {}.f32(s, e, w), exact as f32);
        let w = 0.9f32;
        assert_eq!(
            Lerp {}.f32(s, e, w),
            ((w as f64 - 1.0) * ((e - s) as f64) + e as f64) as f32
        );
        assert_eq!(Lerp {}.f64(2.0, 4.0, 1.0), 4.0);
        let (i, a, b) = (0.5f32, 3.0f32, -0.25f32);
        assert_eq!(Addcmul { value: 2.0 }.f32(i, a, b), -1.0);
        assert_eq!(Addcdiv { value: 2.0 }.f64(0.5, 3.0, -0.25), -23.5);
    }
}
