//! gelu (erf form) in float32 with FMA, within 2 ulp over every float32: the kernel of
//! the FMA paths (the portable path computes in float64, `math::gelu_m`).
//!
//! With a = |x| and T(a) = a Phi(-a), gelu(x) = x Phi(x) is `x - T` for x >= 0 and `-T`
//! below. T carries no cancellation: T = e^(-a^2/2) Q(a), where Q(a) = a Phi(-a) e^(a^2/2)
//! is smooth and bounded (it rises from 0 to 1/sqrt(2 pi)) and is a polynomial
//! in `a - 1.25` on [1/2, 5/2) and in `1/a^2` on [5/2, 15]; each lane picks its piece's
//! coefficients (one blend per coefficient), so one polynomial is evaluated. a^2 is exact
//! as a sum of two floats, so e^(-a^2/2) keeps its accuracy where a^2 is large. For x >= 0
//! the subtraction loses nothing (T <= x/2). Near 0 (|x| < 1/2) the form
//! `x/2 + x^2 K(x^2)`, K(s) = (Phi(x) - 1/2)/x, is used instead (there `x - T` would
//! double T's error). Coefficients: `scripts/fit_erf_coefficients.py` (`fit_gelu32`).
//!
//! A float32 form is what makes gelu cheap: the float64 form runs 8 lanes to a
//! vector and was bound by the multiply units (about 6 cycles per value on Zen 4).

use super::math::{exp_reduced_fused, poly, pow2i, times_pow2, Fused};

/// 1/sqrt(2 pi) as two float32s (K's constant term) and K's other coefficients,
/// highest power first.
const K0: (f32, f32) = (0.398_942_3, -1.133_517e-8);
const K: [f32; 4] = [
    1.090_143_56e-4,
    -0.001_185_747_1,
    0.009_973_396,
    -0.066_490_375,
];
/// Q on [1/2, 5/2) in `a - 1.25` and on [5/2, 15] in `1/a^2`: the constant term as two
/// float32s, then the others highest power first.
const Q_NEAR: [f32; 12] = [
    0.288_450_4,
    1.082_147_35e-8,
    -5.242_657e-6,
    3.309_116_4e-5,
    -1.200_973_86e-4,
    3.877_418_3e-4,
    -0.001_221_710_1,
    0.003_626_165_2,
    -0.009_901_678,
    0.024_411_14,
    -0.052_588_41,
    0.092_645_46,
];
const Q_FAR: [f32; 12] = [
    0.398_942_26,
    6.908_06e-9,
    11_049.96,
    -23_381.582,
    16_244.814,
    -5_995.824_7,
    1_425.122_2,
    -249.802_41,
    37.556_038,
    -5.888_126_4,
    1.195_624_4,
    -0.398_935_53,
];
/// The pieces' bounds and the near piece's centre (`a - CENTRE` is exact for
/// a >= 0.625; below, its rounding moves Q by under 0.1 ulp).
const SMALL: f32 = 0.5;
const FAR: f32 = 2.5;
const CENTRE: f32 = 1.25;
/// Beyond this a, T is below half the smallest subnormal (gelu(-a) rounds to -0).
const A_MAX: f32 = 15.0;

/// Q(a) (as its constant term `c0` and the rest, `low`) and e^(-a^2/2) = 2^n (1 + u), for
/// 1/2 <= a <= A_MAX with w = 1/a^2 (T(a) = `t_of`).
struct Tail {
    c0: f32,
    low: f32,
    u: f32,
    n: i32,
}

#[inline(always)]
fn tail<const ANY: bool>(a: f32, w: f32) -> Tail {
    let far = ANY && a >= FAR;
    let v = if far { w } else { a - CENTRE };
    let c: [f32; 12] = std::array::from_fn(|i| if far { Q_FAR[i] } else { Q_NEAR[i] });
    let high: [f32; 10] = std::array::from_fn(|i| c[i + 2]);
    let low = v.mul_add(poly::<Fused, 10>(high, v), c[1]);
    // e^(-a^2/2) = 2^n (1 + u), -a^2/2 exactly the sum of two floats.
    let sq = a * a;
    let sq_lo = a.mul_add(a, -sq);
    let (u, n) = exp_reduced_fused(-0.5 * sq, -0.5 * sq_lo);
    Tail {
        c0: c[0],
        low,
        u,
        n,
    }
}

/// T(a) = a Phi(-a) = 2^n Q (1 + u), as 2^n (c0 + (Q u + low)): one rounding of the sum.
#[inline(always)]
fn t_of<const ANY: bool>(p: &Tail) -> f32 {
    scale::<ANY>(p.c0 + (p.c0 + p.low).mul_add(p.u, p.low), p.n)
}

/// y 2^n for `Tail`'s n; without `ANY` (a < 5/2, so -5 <= n <= 0 and y 2^n is normal)
/// in one product, exact as `times_pow2`'s two.
#[inline(always)]
fn scale<const ANY: bool>(y: f32, n: i32) -> f32 {
    if ANY {
        times_pow2(y, n)
    } else {
        y * pow2i(n)
    }
}

/// x (K0 + x^2 K(x^2)) = Phi(x) - 1/2 for |x| < 1/2, K's constant term as two floats.
#[inline(always)]
fn phi_minus_half(x: f32) -> f32 {
    let s = x * x;
    let k_lo = s.mul_add(poly::<Fused, 4>(K, s), K0.1);
    x.mul_add(K0.0, x * k_lo)
}

/// gelu(x) = x Phi(x) for an f32 (FMA code only: `mul_add` is one instruction there).
/// NaN and -inf give NaN (PyTorch's `x (1 + erf(x / sqrt 2)) / 2` is `-inf * 0` there);
/// +inf gives +inf.
#[inline(always)]
pub(crate) fn gelu_fused(x: f32) -> f32 {
    gelu_of::<true>(x)
}

/// `gelu_fused` for |x| < 5/2 only (`by_reach`): no far piece, no special values.
#[inline(always)]
pub(crate) fn gelu_near(x: f32) -> f32 {
    gelu_of::<false>(x)
}

/// gelu(x); without `ANY`, for |x| < 5/2 only, where each step gives the bits the
/// general form gives (a lane there never takes the far piece or a special case).
#[inline(always)]
fn gelu_of<const ANY: bool>(x: f32) -> f32 {
    let near_zero = phi_minus_half(x).mul_add(x, 0.5 * x);
    let a = if ANY { x.abs().min(A_MAX) } else { x.abs() };
    let w = if ANY { 1.0 / (a * a) } else { 0.0 };
    let t = t_of::<ANY>(&tail::<ANY>(a, w));
    let tail = if ANY && x.abs() > A_MAX { 0.0 } else { t };
    let g = if x >= 0.0 { x - tail } else { -tail };
    if ANY && (x.is_nan() || x == f32::NEG_INFINITY) {
        x * 0.0
    } else if x.abs() < SMALL {
        near_zero
    } else {
        g
    }
}

/// gelu'(x) = Phi(x) + x phi(x) for an f32 (FMA code only): with m = Phi(-a) - a phi(a),
/// `1 - m` for x >= 0 and `m` below; Phi(-a) is T(a) / a (`1/2 - |Phi(x) - 1/2|` near
/// 0). Within 4 ulp away from the derivative's zero at x = -0.7518; near it, where m is
/// a difference of two values near 0.23, within 2^-24 absolutely (PyTorch's float32
/// `1 + erf` less a product has more). NaN and +-inf give NaN (PyTorch's `x phi(x)` is
/// `inf * 0` there).
#[inline(always)]
pub(crate) fn gelu_grad_fused(x: f32) -> f32 {
    gelu_grad_of::<true>(x)
}

/// `gelu_grad_fused` for |x| < 5/2 only (`by_reach`).
#[inline(always)]
pub(crate) fn gelu_grad_near(x: f32) -> f32 {
    gelu_grad_of::<false>(x)
}

/// gelu'(x); without `ANY`, for |x| < 5/2 only (as `gelu_of`).
#[inline(always)]
fn gelu_grad_of<const ANY: bool>(x: f32) -> f32 {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    let a = if ANY { x.abs().min(A_MAX) } else { x.abs() };
    let ra = 1.0 / a;
    let p = tail::<ANY>(a, ra * ra);
    let phi_neg = if a < SMALL {
        0.5 - phi_minus_half(a)
    } else {
        t_of::<ANY>(&p) * ra
    };
    // a phi(a) = 2^n a (1 + u) / sqrt(2 pi).
    let ac = a * INV_SQRT_2PI;
    let m = phi_neg - scale::<ANY>(ac.mul_add(p.u, ac), p.n);
    let d = if x >= 0.0 { 1.0 - m } else { m };
    if ANY && !x.is_finite() {
        x * 0.0
    } else {
        d
    }
}

/// Where the `_near` forms hold: |x| below this (the far piece starts here).
pub(crate) const REACH: f32 = FAR;

#[cfg(test)]
mod tests {
    use super::*;

    fn phi(x: f64) -> f64 {
        0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
    }

    fn gelu_ref(x: f64) -> f64 {
        x * phi(x)
    }

    fn gelu_grad_ref(x: f64) -> f64 {
        phi(x) + x * (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
    }

    /// |got - want| in units of want's float32 ulp (the smallest normal's below it),
    /// less `abs` (an allowed absolute error) first.
    fn ulps(got: f32, want: f64, abs: f64) -> f64 {
        let w = want as f32;
        let ulp = (f32::from_bits(w.abs().to_bits() + 1) - w.abs()).max(f32::MIN_POSITIVE);
        (((got as f64) - want).abs() - abs).max(0.0) / ulp as f64
    }

    /// Every 97th float32 bit pattern and a dense grid over [-16, 16].
    fn inputs() -> impl Iterator<Item = f32> {
        let bits = (0..=u32::MAX).step_by(97).map(f32::from_bits);
        let grid = (0..=640_000).map(|i| -16.0 + i as f32 * 5e-5);
        bits.chain(grid).filter(|x| x.is_finite())
    }

    fn worst(f: fn(f32) -> f32, r: fn(f64) -> f64, abs: f64) -> (f64, f32) {
        inputs().fold((0.0, 0.0), |w, x| {
            let e = ulps(f(x), r(x as f64), abs);
            if e > w.0 || e.is_nan() {
                (e, x)
            } else {
                w
            }
        })
    }

    #[test]
    fn gelu_within_2_ulp() {
        let (e, at) = worst(gelu_fused, gelu_ref, 0.0);
        eprintln!("gelu: {e} ulp at {at:e}");
        assert!(e <= 2.0, "gelu: {e} ulp at {at:e}");
    }

    /// gelu' within 2^-24 plus 0.6 ulp everywhere (its zero at x = -0.7518 is a
    /// difference of two values near 0.23, each ~1.5e-8 off; PyTorch's float32 formula,
    /// `1 + erf` less a product, has more), and within a few ulp in relative terms
    /// away from that zero (the tails, where the value is far below 2^-24, included).
    #[test]
    fn gelu_grad_accuracy() {
        let mut rel = (0.0f64, 0.0f32);
        let mut abs = (0.0f64, 0.0f32);
        for x in inputs() {
            let (got, want) = (gelu_grad_fused(x), gelu_grad_ref(x as f64));
            let worse = |w: &mut (f64, f32), e: f64| {
                if e > w.0 || e.is_nan() {
                    *w = (e, x);
                }
            };
            worse(&mut abs, ulps(got, want, 2f64.powi(-24)));
            if !(-1.5..=-0.25).contains(&x) {
                worse(&mut rel, ulps(got, want, 0.0));
            }
        }
        eprintln!("gelu': {rel:?} ulp outside [-1.5, -0.25], {abs:?} ulp beyond 2^-24");
        assert!(rel.0 <= 4.0 && abs.0 <= 0.6, "{rel:?} {abs:?}");
    }

    #[test]
    fn gelu_and_its_gradient_special_values() {
        assert!(gelu_fused(f32::NAN).is_nan() && gelu_fused(f32::NEG_INFINITY).is_nan());
        assert_eq!(gelu_fused(f32::INFINITY), f32::INFINITY);
        assert_eq!(gelu_fused(1e30), 1e30);
        assert_eq!(gelu_fused(-20.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(gelu_fused(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(gelu_fused(0.0).to_bits(), 0);
        for x in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            assert!(gelu_grad_fused(x).is_nan(), "{x}");
        }
        assert_eq!((gelu_grad_fused(0.0), gelu_grad_fused(-0.0)), (0.5, 0.5));
        assert_eq!((gelu_grad_fused(20.0), gelu_grad_fused(-20.0)), (1.0, 0.0));
    }
}
