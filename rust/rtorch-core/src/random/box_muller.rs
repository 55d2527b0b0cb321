//! Box–Muller on blocks of 16 uniforms, computed as PyTorch's CPU `normal_` computes them,
//! so that a seed gives PyTorch's normal values bit for bit.
//!
//! A block holds u1 in lanes 0..8 and u2 in lanes 8..16; lane `j` becomes
//! `r cos t` and lane `j + 8` becomes `r sin t`, with `r = sqrt(-2 ln(1 - u1))` and
//! `t = 2 pi u2`, each scaled as `fma(z, std, mean)`.
//!
//! For float32 PyTorch evaluates ln, sin and cos with the Cephes single-precision
//! polynomials (its AVX2 `log256_ps` / `sincos256_ps`), built by a compiler that fuses each
//! product feeding a sum into one FMA. [`cephes_log`] and [`cephes_sincos`] are those
//! polynomials with the same operation order and the same fused steps (`mul_add` where
//! the product is fused); a fused step rounded separately moves about one value in a
//! hundred by an ulp. Float64 uses the C library's `log`, `sin` and `cos`, as PyTorch does.

// The constants as Cephes publishes them (more digits than an f32 holds; each rounds to
// the f32 PyTorch's tables hold).
#![allow(clippy::excessive_precision)]

// Cephes' single-precision logarithm: ln(1 + x) ≈ x - x²/2 + x³ P(x) on [sqrt(1/2) - 1,
// sqrt(2) - 1], and the exponent's ln 2 split into Q2 (exact in few bits) and Q1.
const SQRT_HALF: f32 = std::f32::consts::FRAC_1_SQRT_2;
const LOG_P: [f32; 9] = [
    7.0376836292E-2,
    -1.1514610310E-1,
    1.1676998740E-1,
    -1.2420140846E-1,
    1.4249322787E-1,
    -1.6668057665E-1,
    2.0000714765E-1,
    -2.4999993993E-1,
    3.3333331174E-1,
];
const LOG_Q1: f32 = -2.12194440e-4;
const LOG_Q2: f32 = 0.693359375;

// Cephes' single-precision sine and cosine: reduction by multiples of pi/4 (pi/4 split in
// three parts, DP1 + DP2 + DP3), then a polynomial on [-pi/4, pi/4].
const FOUR_OVER_PI: f32 = 1.27323954473516;
const DP: [f32; 3] = [
    -0.78515625,
    -2.4187564849853515625e-4,
    -3.77489497744594108e-8,
];
const COS_P: [f32; 3] = [
    2.443315711809948E-005,
    -1.388731625493765E-003,
    4.166664568298827E-002,
];
const SIN_P: [f32; 3] = [-1.9515295891E-4, 8.3321608736E-3, -1.6666654611E-1];

/// ln(x) for a positive normal `x` (the uniforms' 1 - u lie in [2^-24, 1]).
#[inline(always)]
fn cephes_log(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) as i32 - 127) as f32 + 1.0;
    // The mantissa in [0.5, 1); below sqrt(1/2) it is doubled and the exponent lowered.
    let m0 = f32::from_bits((bits & !0x7f80_0000) | 0x3f00_0000);
    let low = m0 < SQRT_HALF;
    e -= if low { 1.0 } else { 0.0 };
    let m = (m0 - 1.0) + if low { m0 } else { 0.0 };
    let z = m * m;
    let mut y = LOG_P[0];
    for &c in &LOG_P[1..] {
        y = y.mul_add(m, c);
    }
    y *= m;
    y = y.mul_add(z, e * LOG_Q1);
    y -= z * 0.5;
    e.mul_add(LOG_Q2, m + y)
}

/// (sin x, cos x) for a finite `x` of moderate size (here t in [0, 2 pi)).
#[inline(always)]
fn cephes_sincos(x: f32) -> (f32, f32) {
    let ax = x.abs();
    // The octant, rounded up to even: j = 0, 2, 4, ... (truncation as cvttps2dq).
    let j = (((ax * FOUR_OVER_PI) as i32) + 1) & !1;
    let y = j as f32;
    let r = y.mul_add(DP[2], y.mul_add(DP[1], y.mul_add(DP[0], ax)));
    let sin_negative = x.is_sign_negative() ^ (j & 4 != 0);
    let cos_negative = (!(j - 2)) & 4 != 0;
    let z = r * r;
    let mut c = COS_P[0].mul_add(z, COS_P[1]).mul_add(z, COS_P[2]) * z;
    c = c.mul_add(z, -(z * 0.5)) + 1.0;
    let s = (SIN_P[0].mul_add(z, SIN_P[1]).mul_add(z, SIN_P[2]) * z).mul_add(r, r);
    // Octants 0 and 4 take the polynomials as they are, 2 and 6 swapped. The selection
    // in the original is a masked sum with +0.0, which turns a -0.0 into +0.0.
    let (sin, cos) = if j & 2 == 0 { (s, c) } else { (c, s) };
    let (sin, cos) = (sin + 0.0, cos + 0.0);
    (
        if sin_negative { -sin } else { sin },
        if cos_negative { -cos } else { cos },
    )
}

/// One block of 16 float32 uniforms in [0, 1) replaced by normal values.
#[inline(always)]
pub fn normal16_f32(block: &mut [f32], mean: f32, std: f32) {
    let two_pi = (2.0 * std::f64::consts::PI) as f32;
    let (first, second) = block.split_at_mut(8);
    for (a, b) in first.iter_mut().zip(second.iter_mut()) {
        let radius = (-2.0 * cephes_log(1.0 - *a)).sqrt();
        let (sin, cos) = cephes_sincos(two_pi * *b);
        *a = (radius * cos).mul_add(std, mean);
        *b = (radius * sin).mul_add(std, mean);
    }
}

/// One block of 16 float64 uniforms in [0, 1) replaced by normal values.
#[inline(always)]
pub fn normal16_f64(block: &mut [f64], mean: f64, std: f64) {
    let (first, second) = block.split_at_mut(8);
    for (a, b) in first.iter_mut().zip(second.iter_mut()) {
        let radius = (-2.0 * (1.0 - *a).ln()).sqrt();
        let theta = std::f64::consts::TAU * *b;
        *a = (radius * theta.cos()).mul_add(std, mean);
        *b = (radius * theta.sin()).mul_add(std, mean);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cephes_log_is_within_two_ulp_of_ln() {
        let mut worst = 0f64;
        for k in 1..=(1 << 16) {
            let x = k as f32 / (1 << 16) as f32;
            let want = (x as f64).ln();
            let got = cephes_log(x) as f64;
            let ulp = f32::EPSILON as f64 * want.abs().max(f32::MIN_POSITIVE as f64);
            worst = worst.max((got - want).abs() / ulp);
        }
        assert!(worst <= 2.0, "{worst} ulp");
        assert_eq!(cephes_log(1.0), 0.0);
    }

    #[test]
    fn cephes_sincos_is_close_on_zero_to_two_pi() {
        for k in 0..4096 {
            let x = k as f32 * (std::f32::consts::TAU / 4096.0);
            let (s, c) = cephes_sincos(x);
            assert!((s as f64 - (x as f64).sin()).abs() < 2e-7, "sin {x}");
            assert!((c as f64 - (x as f64).cos()).abs() < 2e-7, "cos {x}");
        }
        assert_eq!(cephes_sincos(0.0).0.to_bits(), 0);
    }
}
