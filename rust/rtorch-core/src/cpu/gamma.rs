//! The gamma family in float64: log|Γ(x)|, ψ(x) (digamma) and ψ⁽ⁿ⁾(x) (polygamma,
//! through the Hurwitz zeta function). float32 and the half types compute here and
//! round once, so they are as good as float64 allows.
//!
//! Special values follow PyTorch's CPU kernels: lgamma is +inf at 0, the negative
//! integers and ±inf; ψ(±0) = ∓inf (the limit from each side) and ψ is NaN at the
//! negative integers and -inf; ψ⁽ⁿ⁾ is infinite at 0 and the negative integers.

use super::math::{estrin, ln_f64_positive, ln_f64_positive_m, MulAdd, Separate};

/// log|Γ(x)|: libm's port of the FreeBSD/Sun `lgamma_r`, the algorithm glibc's
/// `lgamma` (which PyTorch's CPU kernel calls) also descends from.
pub fn lgamma(x: f64) -> f64 {
    libm::lgamma_r(x).0
}

/// log|Γ(x)| for float32, rounded once from float64 arithmetic that vectorises (no
/// branches, no libm): the kernel of `lgamma` on float32 and the 16-bit types. For
/// y = x >= 1/2 (y = 1 - x below, by the reflection ln|Γ(x)| = ln π - ln|sin πx| -
/// ln Γ(1 - x)), y is shifted to z >= 8 by ln Γ(y) = ln Γ(z) - ln(y (y+1) … (z-1)), and
/// ln Γ(z) is Stirling's series to its 1/z^13 term (the next is below 1e-16 of the
/// value at z = 8). `M`: the level's multiply-add (the FMA levels' float64 sums differ
/// in their last bits, far below the float32 result's).
#[inline(always)]
pub(crate) fn lgamma_m<M: MulAdd>(x: f32) -> f32 {
    use std::f64::consts::PI;
    let xd = x as f64;
    let (reflect, y) = positive_argument(xd, 0.5);
    let (mut z, mut p) = (y, 1.0);
    for _ in 0..8 {
        let small = z < 8.0;
        p = if small { p * z } else { p };
        z = if small { z + 1.0 } else { z };
    }
    const STIRLING: [f64; 7] = [
        1.0 / 12.0,
        -1.0 / 360.0,
        1.0 / 1260.0,
        -1.0 / 1680.0,
        1.0 / 1188.0,
        -691.0 / 360360.0,
        1.0 / 156.0,
    ];
    let inv = 1.0 / z;
    let series = inv * estrin::<M, 7>(&STIRLING, inv * inv);
    const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;
    let ln_z = ln_f64_positive_m::<M>(z);
    let positive = (z - 0.5) * ln_z - z + HALF_LN_2PI + series - ln_f64_positive_m::<M>(p);
    let (_, sin, pole) = sin_pi_fraction::<M>(xd);
    let reflected = PI.ln() - ln_f64_positive_m::<M>(sin.abs()) - positive;
    let v = if reflect { reflected } else { positive };
    // Within 0.2 of the zeros at 1 and 2 the shifted sum cancels (values near 8.5 for a
    // result near 0): there, the Taylor series at 2 (exactly 0 at 1 and 2), and at 1
    // ln Γ(1 + e) = ln Γ(2 + e) - ln(1 + e) with ln(1 + e) = 2 atanh(e / (2 + e)).
    let (e1, e2) = (xd - 1.0, xd - 2.0); // exact
    let near2 = e2.abs() <= 0.2;
    let e = if near2 { e2 } else { e1 };
    const AT_TWO: [f64; 15] = lgamma_taylor_at_two();
    let at_two = e * estrin::<M, 15>(&AT_TWO, e);
    let s = e / (2.0 + e);
    const ATANH: [f64; 8] = atanh_series();
    let ln1p = 2.0 * s * estrin::<M, 8>(&ATANH, s * s);
    let v = if near2 {
        at_two
    } else if e1.abs() <= 0.2 {
        at_two - ln1p
    } else {
        v
    };
    let v = if reflect && pole { f64::INFINITY } else { v };
    let v = if xd.is_finite() { v } else { xd.abs() }; // inf for ±inf, NaN for NaN
    v as f32
}

/// z = y + k >= `to` for y >= 1/2 (`to` - 1 steps at most, all taken with selects), and
/// Σ_{j<k} 1/(y + j) (or of their squares, `SQUARED`) as one fraction num/den: one
/// division for the caller instead of one a step.
#[inline(always)]
fn shift_up<const SQUARED: bool>(y: f64, to: f64) -> (f64, f64, f64) {
    let (mut z, mut num, mut den) = (y, 0.0, 1.0);
    for _ in 0..to as usize {
        // num/den + 1/t = (num t + den) / (den t), t = z or z².
        let small = z < to;
        let t = if SQUARED { z * z } else { z };
        num = if small { num * t + den } else { num };
        den = if small { den * t } else { den };
        z = if small { z + 1.0 } else { z };
    }
    (z, num, den)
}

/// The argument of the positive-side formulas: y = 1 - x where x is below `below`
/// (`reflect`; exact for any float32), else x. A y the formulas cannot take (zero, inf,
/// NaN) is swapped for 1.0; the callers select those inputs' answers at the end.
#[inline(always)]
fn positive_argument(xd: f64, below: f64) -> (bool, f64) {
    let reflect = xd < below;
    let y = if reflect { 1.0 - xd } else { xd };
    let usable = y > 0.0 && y < f64::INFINITY;
    (reflect, if usable { y } else { 1.0 })
}

/// (r, sin πr, pole) for r = x - round(x) in [-1/2, 1/2] (sin πx = ± sin πr), by the
/// Taylor series (the first omitted term is below 1e-17). At the integers (`pole`) the
/// sine is returned as 1.0, so that nothing divides by zero; callers select the
/// answer there.
#[inline(always)]
fn sin_pi_fraction<M: MulAdd>(xd: f64) -> (f64, f64, bool) {
    let r = xd - xd.round();
    let pole = r == 0.0;
    const SIN_PI: [f64; 11] = sin_pi_coefficients();
    let sin = r * estrin::<M, 11>(&SIN_PI, r * r);
    (r, if pole { 1.0 } else { sin }, pole)
}

/// ψ(x) for float32, rounded once from float64 arithmetic that vectorises: the kernel
/// of `digamma` on float32 and the 16-bit types. y = x (y = 1 - x below zero, by the
/// reflection ψ(x) = ψ(1 - x) - π cos πr / sin πr, r = x - round(x)) is shifted to
/// z >= 10 with the sum Σ 1/(y + k) kept as one fraction (one division instead of ten),
/// then ψ(z) = ln z - 1/(2z) - Σ B_2k / (2k z^2k). `M` is unused (same bits everywhere).
#[inline(always)]
#[allow(clippy::extra_unused_type_parameters)]
pub(crate) fn digamma_m<M: MulAdd>(x: f32) -> f32 {
    use std::f64::consts::PI;
    let xd = x as f64;
    let (reflect, y) = positive_argument(xd, 0.0);
    let (z, num, den) = shift_up::<false>(y, 10.0);
    let inv = 1.0 / z;
    let z2 = inv * inv;
    let positive = ln_f64_positive(z)
        - 0.5 * inv
        - z2 * estrin::<Separate, 7>(&DIGAMMA_SERIES, z2)
        - num / den;
    let (r, sin, pole) = sin_pi_fraction::<Separate>(xd);
    const COS_PI: [f64; 12] = cos_pi_coefficients();
    let cos = estrin::<Separate, 12>(&COS_PI, r * r);
    let reflected = positive - PI * cos / sin;
    let v = if reflect { reflected } else { positive };
    let v = if reflect && pole { f64::NAN } else { v }; // the poles, and -inf
                                                        // ±0: the limit from the zero's side; +inf: +inf; NaN: NaN.
    let v = if xd == 0.0 {
        f64::INFINITY.copysign(-xd)
    } else {
        v
    };
    let v = if xd == f64::INFINITY || xd.is_nan() {
        xd
    } else {
        v
    };
    v as f32
}

/// ψ'(x) for float32, rounded once from float64 arithmetic that vectorises: the kernel
/// of `polygamma(1, ·)` on float32 and the 16-bit types. As [`trigamma`]: the
/// reflection ψ'(x) = π² / sin² πr - ψ'(1 - x) below 1/2, the shift to z >= 12 (its
/// twelve terms 1/(y + k)² kept as one fraction), the asymptotic series.
#[inline(always)]
#[allow(clippy::extra_unused_type_parameters)]
pub(crate) fn trigamma_m<M: MulAdd>(x: f32) -> f32 {
    use std::f64::consts::PI;
    let xd = x as f64;
    let (reflect, y) = positive_argument(xd, 0.5);
    let (z, num, den) = shift_up::<true>(y, 12.0);
    let inv = 1.0 / z;
    let series = estrin::<Separate, 7>(&TRIGAMMA_SERIES, inv * inv);
    let positive = num / den + inv * (1.0 + inv * (0.5 + inv * series));
    let (_, sin, pole) = sin_pi_fraction::<Separate>(xd);
    let reflected = PI * PI / (sin * sin) - positive;
    let v = if reflect { reflected } else { positive };
    let v = if reflect && pole { f64::INFINITY } else { v };
    // +inf: 0; -inf and NaN: NaN.
    let v = if xd == f64::INFINITY { 0.0 } else { v };
    let v = if xd == f64::NEG_INFINITY || xd.is_nan() {
        f64::NAN
    } else {
        v
    };
    v as f32
}

/// (-1)^k π^2k / (2k)!, k = 0..11: cos πr = Σ c_k r^2k (|r| <= 1/2: 1e-18 left).
const fn cos_pi_coefficients() -> [f64; 12] {
    let mut c = [0.0; 12];
    let mut term = 1.0;
    let mut k = 0;
    while k < 12 {
        c[k] = term;
        let (a, b) = ((2 * k + 1) as f64, (2 * k + 2) as f64);
        term = -term * std::f64::consts::PI * std::f64::consts::PI / (a * b);
        k += 1;
    }
    c
}

/// (-1)^(k+1) (ζ(k+1) - 1) / (k+1) for k = 0..14, except 1 - γ first: ln Γ(2 + e) =
/// e Σ c_k e^k (for |e| <= 0.2 the first omitted term is below 1e-16 of the value).
const fn lgamma_taylor_at_two() -> [f64; 15] {
    const EULER: f64 = 0.577_215_664_901_532_9;
    let mut c = [0.0; 15];
    c[0] = 1.0 - EULER;
    let mut k = 1;
    while k < 15 {
        let sign = if k % 2 == 1 { 1.0 } else { -1.0 };
        c[k] = sign * zeta_minus_one(k as u32 + 1) / (k + 1) as f64;
        k += 1;
    }
    c
}

/// ζ(s) - 1 = Σ_{n>=2} n^-s for an integer s >= 2, at compile time: the terms up to
/// n = 1000 (smallest first), then the Euler-Maclaurin tail from 1001 (its next term is
/// below 1e-30).
const fn zeta_minus_one(s: u32) -> f64 {
    const fn inv_pow(n: f64, s: u32) -> f64 {
        let mut p = 1.0;
        let mut i = 0;
        while i < s {
            p *= n;
            i += 1;
        }
        1.0 / p
    }
    let a = 1001.0;
    let sf = s as f64;
    // ∫_a^∞ + a^-s/2 + s a^(-s-1)/12 - s(s+1)(s+2) a^(-s-3)/720.
    let mut sum =
        inv_pow(a, s - 1) / (sf - 1.0) + 0.5 * inv_pow(a, s) + sf * inv_pow(a, s + 1) / 12.0
            - sf * (sf + 1.0) * (sf + 2.0) * inv_pow(a, s + 3) / 720.0;
    let mut n = 1000;
    while n >= 2 {
        sum += inv_pow(n as f64, s);
        n -= 1;
    }
    sum
}

/// 1 / (2k + 1), k = 0..7: atanh(s) = s Σ c_k s^2k (|s| <= 0.112 here: 1e-17 left).
const fn atanh_series() -> [f64; 8] {
    let mut c = [0.0; 8];
    let mut k = 0;
    while k < 8 {
        c[k] = 1.0 / (2 * k + 1) as f64;
        k += 1;
    }
    c
}

/// (-1)^k π^(2k+1) / (2k+1)!, k = 0..10: sin πr = r Σ c_k r^2k.
const fn sin_pi_coefficients() -> [f64; 11] {
    let mut c = [0.0; 11];
    let mut term = std::f64::consts::PI;
    let mut k = 0;
    while k < 11 {
        c[k] = term;
        let (a, b) = ((2 * k + 2) as f64, (2 * k + 3) as f64);
        term = -term * std::f64::consts::PI * std::f64::consts::PI / (a * b);
        k += 1;
    }
    c
}

/// B_2k / 2k, k = 1..7 (Bernoulli numbers): ψ(z) = ln z - 1/(2z) - Σ c_k / z^2k.
const DIGAMMA_SERIES: [f64; 7] = [
    1.0 / 12.0,
    -1.0 / 120.0,
    1.0 / 252.0,
    -1.0 / 240.0,
    1.0 / 132.0,
    -691.0 / 32760.0,
    1.0 / 12.0,
];

/// B_2k, k = 1..7: ψ'(z) = 1/z + 1/(2z²) + Σ c_k / z^(2k+1).
const TRIGAMMA_SERIES: [f64; 7] = [
    1.0 / 6.0,
    -1.0 / 30.0,
    1.0 / 42.0,
    -1.0 / 30.0,
    5.0 / 66.0,
    -691.0 / 2730.0,
    7.0 / 6.0,
];

/// ψ(10), for the recurrence landing on 10 exactly.
const PSI_10: f64 = 2.251_752_589_066_721;

/// ψ(x) = Γ'(x)/Γ(x).
pub fn digamma(x: f64) -> f64 {
    if x == 0.0 {
        // The limit from the side of the zero's sign: -inf at +0, +inf at -0.
        return f64::INFINITY.copysign(-x);
    }
    if x < 0.0 {
        if x == x.trunc() {
            return f64::NAN; // the poles, and -inf
        }
        // Reflection, ψ(x) = ψ(1 - x) - π cot(πx), with the tangent of the fractional
        // part: π x itself would lose the digits that matter near the poles.
        let r = x - x.trunc();
        return digamma(1.0 - x) - std::f64::consts::PI / (std::f64::consts::PI * r).tan();
    }
    // ψ(x) = ψ(x + 1) - 1/x: up to x >= 10, where the asymptotic series converges to
    // double precision with seven terms.
    let (mut x, mut acc) = (x, 0.0);
    while x < 10.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    if x == 10.0 {
        return acc + PSI_10;
    }
    acc + x.ln() - 0.5 / x - digamma_series(x)
}

/// Σ B_2k / (2k x^2k), k = 1..7 (the B_2k are Bernoulli numbers); zero where its first
/// term is below the rounding of ln x.
fn digamma_series(x: f64) -> f64 {
    if x >= 1e17 {
        return 0.0;
    }
    let z = 1.0 / (x * x);
    z * DIGAMMA_SERIES.iter().rev().fold(0.0, |acc, &c| acc * z + c)
}

/// ψ⁽ⁿ⁾(x) = (-1)^(n+1) n! ζ(n + 1, x) for n >= 2; `n = 0` is [`digamma`], `n = 1`
/// [`trigamma`].
pub fn polygamma(n: u64, x: f64) -> f64 {
    match n {
        0 => return digamma(x),
        1 => return trigamma(x),
        _ => {}
    }
    let s = n as f64 + 1.0;
    let sign = if n % 2 == 1 { 1.0 } else { -1.0 };
    // n! as exp(ln Γ(n + 1)): inf past 170!, as PyTorch computes it.
    sign * lgamma(s).exp() * hurwitz_zeta(s, x)
}

/// ψ'(x), digamma's derivative (the gradient of digamma): its own recurrence and
/// series, a fifth of the time of the general ζ(2, x) path.
pub fn trigamma(x: f64) -> f64 {
    use std::f64::consts::PI;
    if x.is_nan() || x == f64::NEG_INFINITY {
        return f64::NAN;
    }
    if x <= 0.0 && x == x.floor() {
        return f64::INFINITY; // the poles
    }
    if x < 0.5 {
        // Reflection, ψ'(x) = π² / sin²(πx) - ψ'(1 - x), with the sine of the
        // fractional part (π x itself loses the digits near the poles); the result is
        // at least π² - ψ'(1) > 8: no cancellation.
        let s = (PI * (x - x.trunc())).sin();
        return PI * PI / (s * s) - trigamma(1.0 - x);
    }
    // ψ'(x) = ψ'(x + 1) + 1/x² up to x >= 12, then the asymptotic series
    // 1/x + 1/(2x²) + Σ B_2k / x^(2k+1), k = 1..7 (the next term is below 1e-16 ψ'(x)).
    let (mut x, mut acc) = (x, 0.0);
    while x < 12.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let inv = 1.0 / x;
    let z = inv * inv;
    let series = TRIGAMMA_SERIES
        .iter()
        .rev()
        .fold(0.0, |acc, &b| acc * z + b);
    acc + inv * (1.0 + inv * (0.5 + inv * series))
}

/// (2j)! / B_2j for j = 1..12 (the B_2j are Bernoulli numbers, as exact fractions).
const EM_DENOMS: [f64; 12] = [
    2.0 * 6.0,
    24.0 * -30.0,
    720.0 * 42.0,
    40320.0 * -30.0,
    3628800.0 * 66.0 / 5.0,
    479001600.0 * 2730.0 / -691.0,
    87178291200.0 * 6.0 / 7.0,
    20922789888000.0 * 510.0 / -3617.0,
    6402373705728000.0 * 798.0 / 43867.0,
    2432902008176640000.0 * 330.0 / -174611.0,
    1124000727777607680000.0 * 138.0 / 854513.0,
    620448401733239439360000.0 * 2730.0 / -236364091.0,
];

/// ζ(s, q) = Σ_{k>=0} (q + k)^-s for an integer s >= 2 (the orders polygamma asks for);
/// infinite at the poles q = 0, -1, -2, …
pub fn hurwitz_zeta(s: f64, q: f64) -> f64 {
    if q.is_nan() || q == f64::NEG_INFINITY {
        return f64::NAN; // (-inf: as digamma there)
    }
    if q <= 0.0 && q == q.floor() {
        return f64::INFINITY;
    }
    if q < 0.0 {
        // The m terms q, q + 1, …, q + m - 1 below zero, then ζ(s, f) with f = q + m in
        // (0, 1). Up to 64 of them are summed as they are (q + k keeps the digits of a q
        // near zero); past that, with s an integer, (q + k)^-s = (-1)^s (j - f)^-s for
        // j = m - k, and Σ_{j=1..m} (j - f)^-s = ζ(s, 1 - f) - ζ(s, m + 1 - f): bounded
        // work however negative q is. (There f = q + m is exact: m/2 <= |q| <= 2m.)
        let m = -q.floor();
        let f = q + m;
        let negative_part = if m <= 64.0 {
            (0..m as u32).map(|k| inv_pow(q + k as f64, s)).sum::<f64>()
        } else {
            let d = hurwitz_zeta_positive(s, 1.0 - f) - hurwitz_zeta_positive(s, m + 1.0 - f);
            if s % 2.0 == 1.0 {
                -d
            } else {
                d
            }
        };
        return negative_part + hurwitz_zeta_positive(s, f);
    }
    hurwitz_zeta_positive(s, q)
}

/// a^-s for an integer s >= 1: by repeated squaring below 2^31 (a few roundings, and a
/// tenth of `powf`'s time), by `powf` above.
fn inv_pow(a: f64, s: f64) -> f64 {
    if s < 2_147_483_648.0 {
        1.0 / a.powi(s as i32)
    } else {
        a.powf(-s)
    }
}

/// ζ(s, q) for q > 0: the first terms summed up to q + N >= 10 (and N >= 9), then the
/// Euler-Maclaurin tail ∫ + half the next term + Σ B_2j/(2j)! s(s+1)…(s+2j-2) a^(1-s-2j).
fn hurwitz_zeta_positive(s: f64, q: f64) -> f64 {
    let mut sum = inv_pow(q, s);
    let mut a = q;
    let mut k = 0;
    let mut term = sum;
    while k < 9 || a <= 9.0 {
        k += 1;
        a += 1.0;
        term = inv_pow(a, s);
        sum += term;
        // The remaining terms cannot reach the last bit (large s, or a term of 0).
        if term.abs() < f64::EPSILON / 2.0 * sum.abs() {
            return sum;
        }
    }
    // `term` is a^-s, already in the sum: the tail starts with a^(1-s)/(s-1) - a^-s/2
    // (the integral from its own power: a^-s may underflow where a^(1-s) does not).
    sum += inv_pow(a, s - 1.0) / (s - 1.0) - 0.5 * term;
    let (mut rising, mut power, mut k) = (1.0, term, 0.0);
    for denom in EM_DENOMS {
        rising *= s + k; // s (s+1) … (s+2j-2)
        power /= a; // a^(-s-2j+1)
        let t = rising * power / denom;
        sum += t;
        if (t / sum).abs() < f64::EPSILON / 2.0 {
            break;
        }
        k += 1.0;
        rising *= s + k;
        power /= a;
        k += 1.0;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within `rel` of `want`, relatively.
    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs()
    }

    #[test]
    fn lgamma_at_known_points() {
        assert_eq!(lgamma(1.0), 0.0);
        assert_eq!(lgamma(2.0), 0.0);
        assert!(close(lgamma(0.5), 0.5 * std::f64::consts::PI.ln(), 1e-15));
        // ln 10! = ln 3628800.
        assert!(close(lgamma(11.0), 3_628_800f64.ln(), 1e-15));
        for x in [0.0, -0.0, -1.0, -2.0, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(lgamma(x), f64::INFINITY, "{x}");
        }
        // |Γ(-0.5)| = 2 sqrt(π).
        assert!(close(
            lgamma(-0.5),
            (2.0 * std::f64::consts::PI.sqrt()).ln(),
            1e-15
        ));
    }

    /// A float32 kernel's worst error in float32 ulps against its float64 function, over
    /// every `step`-th float32 bit pattern (both signs), and where it is; NaN, infinities
    /// and overflow must match exactly.
    fn f32_kernel_worst(step: usize, kernel: fn(f32) -> f32, exact: fn(f64) -> f64) -> (f64, f32) {
        let mut worst = (0.0, 0.0);
        for bits in (0..=u32::MAX).step_by(step) {
            let x = f32::from_bits(bits);
            let (got, want) = (kernel(x), exact(x as f64));
            let w32 = want as f32;
            if !w32.is_finite() || !got.is_finite() {
                let same = got.to_bits() == w32.to_bits() || (got.is_nan() && w32.is_nan());
                assert!(same, "{x}: {got} vs {w32}");
                continue;
            }
            // The ulp of the float32 result (the smallest subnormal's at zero).
            let ulp = (f32::from_bits(w32.abs().to_bits() + 1) - w32.abs()) as f64;
            let err = (got as f64 - want).abs() / ulp;
            if err > worst.0 {
                worst = (err, x);
            }
        }
        worst
    }

    /// Every float32 within 4096 of `center`, within one ulp of the float64 function.
    fn f32_kernel_near(center: f32, kernel: fn(f32) -> f32, exact: fn(f64) -> f64) {
        let c = center.to_bits();
        for bits in c - 4096..c + 4096 {
            let x = f32::from_bits(bits);
            let (got, want) = (kernel(x) as f64, exact(x as f64));
            let w = (want as f32).abs();
            let ulp = (f32::from_bits(w.to_bits() + 1) - w) as f64;
            assert!((got - want).abs() <= ulp, "{x}: {got} vs {want}");
        }
    }

    #[test]
    fn lgamma_f32_kernel_within_one_ulp_sampled() {
        // Both multiply-adds (the FMA levels run the fused form).
        for kernel in [lgamma_m::<Separate>, lgamma_m::<super::super::math::Fused>] {
            // Every 997th float32 (4.3M of them, all exponents, both signs).
            let (err, x) = f32_kernel_worst(997, kernel, lgamma);
            assert!(err < 1.0, "{err} ulp at {x}");
            // Around the zeros of lgamma at 1 and 2, every float32.
            f32_kernel_near(1.0, kernel, lgamma);
            f32_kernel_near(2.0, kernel, lgamma);
            assert_eq!(kernel(1.0), 0.0);
            assert_eq!(kernel(2.0), 0.0);
        }
    }

    #[test]
    fn digamma_f32_kernel_within_one_ulp_sampled() {
        let (err, x) = f32_kernel_worst(997, digamma_m::<Separate>, digamma);
        assert!(err < 1.0, "{err} ulp at {x}");
        // Around the positive zero of ψ at 1.4616…, every float32.
        f32_kernel_near(1.461_632_1, digamma_m::<Separate>, digamma);
    }

    #[test]
    fn trigamma_f32_kernel_within_one_ulp_sampled() {
        let (err, x) = f32_kernel_worst(997, trigamma_m::<Separate>, trigamma);
        assert!(err < 1.0, "{err} ulp at {x}");
    }

    #[test]
    #[ignore = "every float32, about fifteen minutes"]
    fn every_float_lgamma_digamma_trigamma_f32() {
        for (name, kernel, exact) in [
            (
                "lgamma",
                lgamma_m::<Separate> as fn(f32) -> f32,
                lgamma as fn(f64) -> f64,
            ),
            ("digamma", digamma_m::<Separate>, digamma),
            ("trigamma", trigamma_m::<Separate>, trigamma),
        ] {
            let (err, x) = f32_kernel_worst(1, kernel, exact);
            println!("{name} float32: worst {err} ulp at {x}");
            assert!(err < 1.0, "{name}: {err} ulp at {x}");
        }
    }

    #[test]
    fn digamma_closed_forms() {
        const EULER: f64 = 0.577_215_664_901_532_9;
        assert!(close(digamma(1.0), -EULER, 1e-15));
        // ψ(1/2) = -γ - 2 ln 2; ψ(n) = -γ + H_(n-1).
        assert!(close(digamma(0.5), -EULER - 2.0 * 2f64.ln(), 1e-15));
        let h: f64 = (1..20).map(|k| 1.0 / k as f64).sum();
        assert!(close(digamma(20.0), -EULER + h, 1e-15));
        assert!(close(digamma(10.0), PSI_10, 0.0));
        // Through the reflection; by the recurrence, ψ(-1/2) = ψ(1/2) + 2. (1e-14: π/2
        // rounds, so cot(-π/2) comes out as 6e-17, not 0, next to a value of 0.036.)
        assert!(close(digamma(-0.5), -EULER - 2.0 * 2f64.ln() + 2.0, 1e-14));
        assert_eq!(digamma(0.0), f64::NEG_INFINITY);
        assert_eq!(digamma(-0.0), f64::INFINITY);
        assert!(digamma(-3.0).is_nan() && digamma(f64::NEG_INFINITY).is_nan());
        assert_eq!(digamma(f64::INFINITY), f64::INFINITY);
        // Past 1e17 the series is dropped: ln x - 1/(2x).
        assert!(close(digamma(1e20), 1e20f64.ln(), 1e-16));
    }

    #[test]
    fn trigamma_agrees_with_the_zeta_path() {
        // Two algorithms: the recurrence and series of `trigamma`, and ζ(2, x).
        let mut x = -29.95;
        while x < 60.0 {
            let z = hurwitz_zeta(2.0, x);
            assert!(close(trigamma(x), z, 1e-13), "{x}: {} vs {z}", trigamma(x));
            x += 0.173;
        }
        for x in [1e-150, 1e-8, 1e8, 1e300] {
            let (t, z) = (trigamma(x), hurwitz_zeta(2.0, x));
            assert!(close(t, z, 1e-14), "{x}: {t} vs {z}");
        }
        assert_eq!(trigamma(f64::INFINITY), 0.0);
        assert!(trigamma(f64::NEG_INFINITY).is_nan() && trigamma(f64::NAN).is_nan());
        assert_eq!(trigamma(-4.0), f64::INFINITY);
    }

    #[test]
    fn polygamma_closed_forms() {
        use std::f64::consts::PI;
        const ZETA3: f64 = 1.202_056_903_159_594_3;
        assert!(close(polygamma(1, 1.0), PI * PI / 6.0, 1e-15));
        assert!(close(polygamma(1, 0.5), PI * PI / 2.0, 1e-15));
        assert!(close(polygamma(2, 1.0), -2.0 * ZETA3, 1e-15));
        assert!(close(polygamma(3, 1.0), PI.powi(4) / 15.0, 1e-15));
        // Below zero, by the recurrence ψ'(x) = ψ'(x + 1) + 1/x², from ψ'(1/2).
        let want = PI * PI / 2.0 + 1.0 / 0.25 + 1.0 / 2.25;
        assert!(close(polygamma(1, -1.5), want, 1e-14));
        // Far below zero (the identity path, m > 64) against the direct sums: ψ'(x) for
        // x = f - m is ψ'(f) + Σ_{j=1..m} 1/(f - j)².
        let (f, m) = (0.25, 200u32);
        let direct = polygamma(1, f) + (1..=m).map(|j| (f - j as f64).powi(-2)).sum::<f64>();
        assert!(close(polygamma(1, f - m as f64), direct, 1e-14));
        let direct3 = polygamma(3, f) + 6.0 * (1..=m).map(|j| (f - j as f64).powi(-4)).sum::<f64>();
        assert!(close(polygamma(3, f - m as f64), direct3, 1e-14));
        assert_eq!(polygamma(1, 0.0), f64::INFINITY);
        assert_eq!(polygamma(2, -3.0), f64::NEG_INFINITY);
        assert!(!polygamma(1 << 62, 3.0).is_finite());
        assert!(polygamma(1, -1e300).is_infinite()); // an integer: a pole
                                                     // Just below zero the pole's term dominates: ψ''(x) = -2 ζ(3, x) ≈ -2/x³, and
                                                     // x + 1 rounds (f = x + 1 would lose x's digits).
        let x: f64 = -1.2097161462869036e-10;
        let want = -2.0 * (x.powi(-3) + polygamma(2, 1.0 + x) / -2.0);
        assert!(close(polygamma(2, x), want, 1e-14));
    }
}
