//! Scalar math the elementwise kernels need beyond `std`: vectorisable f32 `exp`,
//! `log`, `tanh` (under 2 ulp), and `sigmoid`, `silu`, `erf`, `erfc`, `gelu` (computed in
//! f64 and rounded once: under 0.6 ulp; erf and gelu on the FMA paths in f32, under 1.5
//! and 1.8 ulp: `erf_fused`, cpu/gelu32.rs), and
//! `sin`/`cos` (f64, or f32 with FMA: under 0.85 ulp),
//! branch-free so that loops over slices
//! auto-vectorise; their slice drivers with run-time AVX2/AVX-512 selection; and `erf`,
//! `erfc`, `erfinv` in f64.
//!
//! The f32 polynomials are Cephes' (`expf`, `logf`, `tanhf`); erf/erfc's are fitted by
//! scripts/fit_erf_coefficients.py. The kernels are written once, generic over how they
//! multiply-add ([`MulAdd`]), and the slice drivers compiled three times: for baseline
//! x86-64 (a multiply and an add) and inside `#[target_feature]` functions for AVX2 +
//! FMA and AVX-512 (fused: fewer instructions, one rounding), chosen at run time. The
//! scalar functions (`exp_f32`, …) are the separate form; a slice kernel on an FMA path
//! can differ from them in the last bit, within the same bounds.

// Cephes' coefficients are kept as published.
#![allow(clippy::excessive_precision)]

/// How a kernel multiplies and adds: `mad(a, b, c) = a * b + c`.
pub trait MulAdd {
    /// Whether `mad` is one fused multiply-add: kernels that need its exact products
    /// (error-free transformations) take another route without it.
    const FUSED: bool;
    fn mad(a: f32, b: f32, c: f32) -> f32;
    fn mad64(a: f64, b: f64, c: f64) -> f64;
}

/// A multiply, then an add (two roundings): the scalar functions, and the portable
/// path where the baseline instruction set has no fused multiply-add.
pub enum Separate {}

/// One fused multiply-add (one rounding). Only for code compiled with FMA, where it is
/// one instruction; without it `mul_add` is a slow library call.
pub enum Fused {}

/// The form of the portable path. aarch64 has a fused multiply-add in its baseline
/// (`fmadd`, and `fmla` on NEON vectors), so its portable loops take the fused forms:
/// the bits of the x86 FMA paths, and one instruction where the separate forms take
/// two. x86-64's baseline (SSE2) has none: there `mul_add` would be a library call.
#[cfg(target_arch = "aarch64")]
pub(crate) type Baseline = Fused;
#[cfg(not(target_arch = "aarch64"))]
pub(crate) type Baseline = Separate;

impl MulAdd for Separate {
    const FUSED: bool = false;
    #[inline(always)]
    fn mad(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
    #[inline(always)]
    fn mad64(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }
}

impl MulAdd for Fused {
    const FUSED: bool = true;
    #[inline(always)]
    fn mad(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn mad64(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
}

/// Horner's rule in f32 with `M`'s multiply-add, highest power first in `c`.
#[inline(always)]
pub(crate) fn poly<M: MulAdd, const N: usize>(c: [f32; N], x: f32) -> f32 {
    let mut acc = c[0];
    for &k in &c[1..] {
        acc = M::mad(acc, x, k);
    }
    acc
}

/// `2^n` for `n` in the normal exponent range, from its bit pattern.
#[inline(always)]
pub(crate) fn pow2i(n: i32) -> f32 {
    f32::from_bits(((n + 127) as u32) << 23)
}

/// y 2^n for the exponentials' n (up to 2^8 in magnitude) in two steps, so that each
/// factor stays a normal float near both ends of the range (a subnormal result is
/// rounded once, by the second product).
#[inline(always)]
pub(crate) fn times_pow2(y: f32, n: i32) -> f32 {
    let n1 = n >> 1;
    y * pow2i(n1) * pow2i(n - n1)
}

/// Cephes' `expf` polynomial, highest power first.
const EXP_P: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    5.000_000_1e-1,
];

/// e^x in f32, within 2 ulp over the whole range (NaN and infinities included).
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    exp_m::<Separate>(x)
}

/// `exp_f32` with `M`'s multiply-add.
#[inline(always)]
fn exp_m<M: MulAdd>(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Round-to-nearest by adding 1.5 * 2^23 (no SSE4.1 `round` needed on baseline).
    const SHIFTER: f32 = 12_582_912.0;
    let xc = x.clamp(-104.0, 88.8);
    let t = M::mad(xc, LOG2E, SHIFTER);
    let ni = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    let n = t - SHIFTER;
    let r = M::mad(-n, LN2_LO, M::mad(-n, LN2_HI, xc));
    let z = r * r;
    let p = poly::<M, 6>(EXP_P, r);
    let y = M::mad(p, z, r) + 1.0;
    let y = times_pow2(y, ni);
    if x > 88.722_84 {
        f32::INFINITY
    } else {
        y
    }
}

/// ln(x) in f32, within 2 ulp; ln(0) = -inf, ln(x<0) = NaN, subnormals handled.
#[inline(always)]
pub fn log_f32(x: f32) -> f32 {
    log_m::<Separate>(x)
}

/// `log_f32` with `M`'s multiply-add.
#[inline(always)]
fn log_m<M: MulAdd>(x: f32) -> f32 {
    let (ef, m, z, mut y) = log_reduce::<M>(x);
    y = M::mad(-2.121_944_4e-4, ef, y);
    y = M::mad(-0.5, z, y);
    let r = M::mad(0.693_359_4, ef, m + y);
    log_special(x, r)
}

/// Cephes' `logf` reduction: x = 2^e (1 + m) with 1 + m in [sqrt(1/2), sqrt(2))
/// (subnormals scaled first), and its polynomial: returns (e, m, m^2, p) with
/// ln(1 + m) = m - m^2/2 + p.
#[inline(always)]
fn log_reduce<M: MulAdd>(x: f32) -> (f32, f32, f32, f32) {
    const SQRTHF: f32 = std::f32::consts::FRAC_1_SQRT_2;
    let sub = x < f32::MIN_POSITIVE;
    let xs = if sub { x * 8_388_608.0 } else { x };
    let bits = xs.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 126 - if sub { 23 } else { 0 };
    let mut m = f32::from_bits((bits & 0x807f_ffff) | 0x3f00_0000);
    if m < SQRTHF {
        e -= 1;
        m = m + m - 1.0;
    } else {
        m -= 1.0;
    }
    let z = m * m;
    let p = poly::<M, 9>(
        [
            7.037_683_6e-2,
            -1.151_461e-1,
            1.167_699_9e-1,
            -1.242_014_1e-1,
            1.424_932_3e-1,
            -1.666_805_8e-1,
            2.000_071_4e-1,
            -2.499_999_4e-1,
            3.333_333_1e-1,
        ],
        m,
    ) * m
        * z;
    (e as f32, m, z, p)
}

/// tanh(x) in f32, within 2 ulp.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    tanh_m::<Separate>(x)
}

/// `tanh_f32` with `M`'s multiply-add.
#[inline(always)]
fn tanh_m<M: MulAdd>(x: f32) -> f32 {
    let z = x.abs();
    let s = x * x;
    let p = poly::<M, 5>(
        [
            -5.704_988_7e-3,
            2.063_908_9e-2,
            -5.373_971_6e-2,
            1.333_144_2e-1,
            -3.333_328_2e-1,
        ],
        s,
    );
    // (x^3 p is +0 for x = -0, and +0 + -0 is +0: zero keeps its sign by a select.)
    let small = if z == 0.0 { x } else { M::mad(p * s, x, x) };
    let e = exp_m::<M>(z + z);
    let big = 1.0 - 2.0 / (e + 1.0);
    let big = if x < 0.0 { -big } else { big };
    if z < 0.625 {
        small
    } else {
        big
    }
}

/// e^y for y in [-700, 0] (clamped) in f64, relative error about 2^-30: Cephes' `expf`
/// polynomial evaluated in f64, the exponential inside the f32 kernels that compute in
/// f64 and round once (sigmoid, silu, erf, erfc, gelu). Branch-free; LLVM vectorises it.
#[inline(always)]
fn exp_neg_f64<M: MulAdd>(y: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2: f64 = std::f64::consts::LN_2;
    // Round-to-nearest by adding 1.5 * 2^52, as `exp_f32` does in f32.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    let yc = y.clamp(-700.0, 0.0);
    let t = M::mad64(yc, LOG2E, SHIFTER);
    let n = t - SHIFTER;
    // n is in [-1010, 0]: 2^n is a normal f64, built from its exponent bits.
    let ni = (t.to_bits() as i64).wrapping_sub(SHIFTER.to_bits() as i64);
    let two_n = f64::from_bits(((ni + 1023) as u64) << 52);
    let r = M::mad64(-n, LN2, yc);
    // Cephes' `expf` coefficients (as f64 literals), lowest power first.
    const P: [f64; 6] = [
        5.000_000_1e-1,
        1.666_666_5e-1,
        4.166_579_6e-2,
        8.333_452e-3,
        1.398_199_9e-3,
        1.987_569_1e-4,
    ];
    let p = estrin::<M, 6>(&P, r);
    (M::mad64(p, r * r, r) + 1.0) * two_n
}

/// 1/k! for k = from, from + 1, ..., each one rounding (k! is exact in f64 up to 22!).
const fn inv_factorials<const N: usize>(from: usize) -> [f64; N] {
    let mut out = [0.0; N];
    let mut i = 0;
    while i < N {
        let mut fact = 1.0;
        let mut j = 2;
        while j <= from + i {
            fact *= j as f64;
            j += 1;
        }
        out[i] = 1.0 / fact;
        i += 1;
    }
    out
}

/// e^y in f64 within 2 ulp (the bound below is 1.5; the dense test measures it),
/// branch-free so that loops vectorise (libm's `exp` is a call per element; float64
/// `exp` tensors run through `exp_f64_slice`): y = n ln2 + r with |r| <= ln2/2 (ln2 in
/// two parts, fdlibm's: n times the first is exact, so r is within 2^-54.5 of its
/// value), e^r = 1 + (r + r^2 q(r)) with q the Taylor series from 1/2! to 1/13! (the
/// first omitted term, r^14/14!, is below 2^-57), 2^n in two steps (subnormal results
/// round once). Error: under 0.35 ulp from r, 0.6 from q and the inner sum, 0.5 from
/// the last addition. Separate multiplies and adds: the same bits on every SIMD level.
/// +inf above ln(f64::MAX), 0 below -746, NaN stays NaN.
#[inline(always)]
pub fn exp_f64(y: f64) -> f64 {
    exp_f64_with::<Separate, 12>(y)
}

/// `exp_f64` with `M`'s multiply-add and the series to 1/(N + 1)!: float32 results need
/// fewer terms (`pow_fast_f32_m`).
#[inline(always)]
fn exp_f64_with<M: MulAdd, const N: usize>(y: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_471_803_691_238_2e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    let yc = y.clamp(-746.0, 710.0);
    let t = M::mad64(yc, LOG2E, SHIFTER);
    let n = t - SHIFTER;
    let ni = (t.to_bits() as i64).wrapping_sub(SHIFTER.to_bits() as i64);
    // n LN2_HI is exact (LN2_HI has 32 significant bits), so is yc less it.
    let r = M::mad64(-n, LN2_LO, M::mad64(-n, LN2_HI, yc));
    let q = estrin::<M, N>(&const { inv_factorials::<N>(2) }, r);
    let p = 1.0 + M::mad64(r * r, q, r);
    let n1 = ni >> 1;
    let scale = |k: i64| f64::from_bits(((k + 1023) as u64) << 52);
    let v = p * scale(n1) * scale(ni - n1);
    if y > 709.782_712_893_384 {
        f64::INFINITY
    } else {
        v
    }
}

/// `out[i] = e^x[i]` for float64 by `exp_f64` at the widest SIMD level (8 lanes on
/// AVX-512): float64 `exp` called libm per element, 2.3x PyTorch's time.
pub fn exp_f64_slice(x: &[f64], out: &mut [f64]) {
    at_widest_level(
        #[inline(always)]
        || {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = exp_f64(v);
            }
        },
    )
}

/// In-place `exp_f64_slice`.
pub fn exp_f64_slice_inplace(buf: &mut [f64]) {
    at_widest_level(
        #[inline(always)]
        || {
            for v in buf.iter_mut() {
                *v = exp_f64(*v);
            }
        },
    )
}

/// e^x - 1 for an f32 within 0.51 ulp, computed in f64 and rounded once: a Taylor
/// polynomial for |x| < 0.5 (to x^12 / 12!, relative error under 1e-13), and from
/// `e = e^-|x|` beyond: `e - 1` for negative x, `(1 - e) / e` for positive x (no
/// cancellation on either side; overflow gives +inf, x = -inf gives -1).
#[inline(always)]
pub fn expm1_f32(x: f32) -> f32 {
    expm1_m::<Separate>(x)
}

/// `expm1_f32` with `M`'s multiply-add; with FMA all in float32 (`expm1_fused`).
#[inline(always)]
fn expm1_m<M: MulAdd>(x: f32) -> f32 {
    if M::FUSED {
        return expm1_fused(x);
    }
    // 1/2!, 1/3!, ..., 1/12!: e^x - 1 = x + x^2 P(x).
    const T: [f64; 11] = inv_factorials(2);
    let xd = x as f64;
    // x (1 + x P), not x + x^2 P: keeps the sign of a zero x.
    let small = xd * M::mad64(xd, horner::<M, 11>(&T, xd), 1.0);
    let e = exp_neg_f64::<M>(-xd.abs());
    let big = if xd < 0.0 { e - 1.0 } else { (1.0 - e) / e };
    let r = if xd.abs() < 0.5 { small } else { big };
    // Above ln(f32::MAX) the quotient is still finite in f64 (e is clamped at e^-700):
    // rounding to f32 gives inf, as it should. NaN fails every comparison: `big` keeps it.
    r as f32
}

/// 1/10!, 1/9!, ..., 1/2! in float32 (highest power first): e^x - 1 = x + x^2 P(x).
const EXPM1_P: [f32; 9] = [
    1.0 / 3_628_800.0,
    1.0 / 362_880.0,
    1.0 / 40_320.0,
    1.0 / 5_040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    0.5,
];

/// e^x - 1 for an f32 within 1.01 ulp (every float32 checked,
/// `every_float_sigmoid_silu_expm1`), in float32 with FMA: `x + x (x P(x))` for |x| < 1/2
/// (Taylor to x^10 / 10!: the first omitted term is below 2^-30 of the result), beyond,
/// `(e_hi - 1) + e_lo` from `exp_parts_fused` with the subtraction's error kept by
/// TwoSum (one rounding at the end). +inf above ln(f32::MAX), -1 far below, -0 stays -0.
/// Only for code compiled with FMA.
#[inline(always)]
fn expm1_fused(x: f32) -> f32 {
    let small = x.mul_add(x * poly::<Fused, 9>(EXPM1_P, x), x);
    let (hi, lo) = exp_parts_fused(x);
    let s = hi - 1.0;
    let b = s - hi;
    let err = (hi - (s - b)) + (-1.0 - b);
    let big = s + (err + lo);
    // (From 88.72284 on, e^x - 1 rounds to inf; `hi` may be inf there, and `big` NaN.)
    if x == 0.0 || x.is_nan() {
        x
    } else if x.abs() < 0.5 {
        small
    } else if x >= 88.722_84 {
        f32::INFINITY
    } else {
        big
    }
}

/// ln(1 + x) for an f32 within 2 ulp: `u = 1 + x` rounded, then
/// `ln u - ((u - 1) - x) / u`, the correction putting back what the rounding of `u`
/// lost (so tiny x gives x). x = -1 gives -inf, x < -1 NaN, +inf stays +inf.
#[inline(always)]
pub fn log1p_f32(x: f32) -> f32 {
    log1p_m::<Separate>(x)
}

/// `log1p_f32` with `M`'s multiply-add.
#[inline(always)]
fn log1p_m<M: MulAdd>(x: f32) -> f32 {
    let u = 1.0 + x;
    let lu = log_m::<M>(u);
    // (u - 1) is exact (Sterbenz) for u in [0.5, 2]; outside it the correction is far
    // below an ulp of ln u. Guard the division where u is 0 or inf.
    let c = ((u - 1.0) - x) / u;
    if u == f32::INFINITY || u == 0.0 {
        lu
    } else if x == 0.0 {
        // ln(1 + -0) is -0.
        x
    } else {
        lu - c
    }
}

/// 1 / (1 + e^-x) in f64 for an f32 argument (see `sigmoid_f32`).
#[inline(always)]
fn sigmoid_f64<M: MulAdd>(x: f32) -> f64 {
    let e = exp_neg_f64::<M>(-(x.abs()) as f64);
    let numerator = if x < 0.0 { e } else { 1.0 };
    numerator / (1.0 + e)
}

/// 1 / (1 + e^-x) for an f32, correctly rounded in all but rare cases (within 0.52 ulp).
///
/// Computed in f64 and rounded once: the f32 form `1 / (1 + exp_f32(-x))` adds the
/// rounding of `exp`, of the sum and of the quotient and reaches 2.5 ulp (x near
/// -16.6, where 1 + e^-x is a large odd integer). e^-|x| never overflows, and for
/// negative x the quotient e^x / (1 + e^x) has no cancellation. Cephes' `expf`
/// polynomial is accurate to about 2^-30 on the reduced range, so f64 arithmetic only
/// has to keep its rounding errors out of the way. LLVM vectorises this too (half as
/// many lanes in f64: about 1.4x the time of the f32 form).
#[inline(always)]
pub fn sigmoid_f32(x: f32) -> f32 {
    sigmoid_m::<Separate>(x)
}

/// `sigmoid_f32` with `M`'s multiply-add; with FMA all in float32 (`sigmoid_parts`).
#[inline(always)]
fn sigmoid_m<M: MulAdd>(x: f32) -> f32 {
    if M::FUSED {
        let (q, c) = sigmoid_parts(x);
        return q + c;
    }
    sigmoid_f64::<M>(x) as f32
}

/// e^(y + y_lo) = 2^n (1 + u), returned as (u, n), with FMA: Cephes' `expf` reduction
/// and polynomial, `y_lo` (below an ulp of y; -0.0 for none, which costs nothing) added
/// to the reduced argument. n = round(y log2 e), r = y - n ln 2 + y_lo, the first
/// difference exact (n LN2_HI has 9 significant bits). For y in [-104, 88.72] (n within
/// what `times_pow2` takes).
#[inline(always)]
pub(crate) fn exp_reduced_fused(y: f32, y_lo: f32) -> (f32, i32) {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const SHIFTER: f32 = 12_582_912.0;
    let t = y.mul_add(LOG2E, SHIFTER);
    let n = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    let nf = t - SHIFTER;
    let r = (-nf).mul_add(LN2_LO, (-nf).mul_add(LN2_HI, y)) + y_lo;
    (poly::<Fused, 6>(EXP_P, r).mul_add(r * r, r), n)
}

/// e^y for y <= 88.72 as an unevaluated sum `hi + lo` (`exp_m`'s reduction and
/// polynomial, with the rounding of its final `1 + u` kept by Fast2Sum), with FMA. Below
/// -104 the argument is clamped (e^-104 rounds to 0); a NaN becomes -104 (callers
/// select it back).
#[inline(always)]
fn exp_parts_fused(y: f32) -> (f32, f32) {
    exp_parts_of::<true>(y)
}

/// `exp_parts_fused`; without `ANY` for y > -87 only (n >= -126, so 2^n is a normal
/// float and one product by it rounds as `times_pow2`'s two do).
#[inline(always)]
fn exp_parts_of<const ANY: bool>(y: f32) -> (f32, f32) {
    let y = if ANY { y.max(-104.0) } else { y };
    let (u, ni) = exp_reduced_fused(y, -0.0);
    // |u| < 1/2: Fast2Sum's error term is exact.
    let hi = 1.0 + u;
    let lo = (1.0 - hi) + u;
    if ANY {
        (times_pow2(hi, ni), times_pow2(lo, ni))
    } else {
        let scale = pow2i(ni);
        (hi * scale, lo * scale)
    }
}

/// Where the `_near` forms of sigmoid and silu hold: |x| below this (`exp_parts_of`).
const SIGMOID_REACH: f32 = 80.0;

/// sigmoid(x) in float32 with FMA as `q + c`, q the rounded quotient and c its
/// correction (|c| below an ulp of q): within 1.02 ulp as `q + c` (every float32 checked,
/// `every_float_sigmoid_silu_expm1`), twice the lanes of the float64 form. e = e^-|x| = e_hi +
/// e_lo (`exp_parts_fused`), 1 + e = d_hi + d_lo by Fast2Sum, q = n / d_hi for n = 1 or
/// e_hi (as n times 1 / d_hi); the residual n - q d_hi is exact by FMA, so that
/// `c = (n - q d_hi + n_lo - q d_lo) / d_hi` leaves only the polynomial's error and c's
/// rounding. Only for code compiled with FMA.
#[inline(always)]
fn sigmoid_parts(x: f32) -> (f32, f32) {
    sigmoid_parts_of::<true>(x)
}

/// `sigmoid_parts`; without `ANY` for |x| < `SIGMOID_REACH` only, with the same bits.
#[inline(always)]
fn sigmoid_parts_of<const ANY: bool>(x: f32) -> (f32, f32) {
    let (e_hi, e_lo) = exp_parts_of::<ANY>(-x.abs());
    let d_hi = 1.0 + e_hi;
    let d_lo = ((1.0 - d_hi) + e_hi) + e_lo;
    let negative = x < 0.0;
    let n_hi = if negative { e_hi } else { 1.0 };
    let n_lo = if negative { e_lo } else { 0.0 };
    // One division: q = n r is within an ulp or so of n / d_hi, and the correction
    // (exact residual times r) takes the rest of its error back.
    let r = 1.0 / d_hi;
    let q = n_hi * r;
    let residual = (-q).mul_add(d_hi, n_hi) + (-q).mul_add(d_lo, n_lo);
    // (The clamp in `exp_parts_fused` dropped a NaN: it is put back here.)
    (if ANY && x.is_nan() { x } else { q }, residual * r)
}

/// sigmoid with FMA for |x| < `SIGMOID_REACH` (`by_reach`).
#[inline(always)]
fn sigmoid_near(x: f32) -> f32 {
    let (q, c) = sigmoid_parts_of::<false>(x);
    q + c
}

/// silu with FMA for |x| < `SIGMOID_REACH` (`by_reach`).
#[inline(always)]
fn silu_near(x: f32) -> f32 {
    let (q, c) = sigmoid_parts_of::<false>(x);
    x.mul_add(q, x * c)
}

/// Lanes tested together: one AVX-512 vector, two AVX2 ones.
const REACH_BLOCK: usize = 16;

/// Whether every value of a block has magnitude below `reach` (NaN has not).
#[inline(always)]
fn all_within(x: &[f32], reach: f32) -> bool {
    x.iter().fold(true, |all, v| all & (v.abs() < reach))
}

/// `out[i] = any(x[i])`, by blocks of 16: a block whose values all have magnitude below
/// `reach` takes `near`, a form of `any` that holds there with the same bits and skips
/// what only larger values or special ones need (most blocks, for data of unit scale).
#[inline(always)]
fn by_reach(
    x: &[f32],
    out: &mut [f32],
    reach: f32,
    near: impl Fn(f32) -> f32,
    any: impl Fn(f32) -> f32,
) {
    let n = x.len().min(out.len());
    let (x, out) = (&x[..n], &mut out[..n]);
    let mut xs = x.chunks_exact(REACH_BLOCK);
    let mut os = out.chunks_exact_mut(REACH_BLOCK);
    for (xb, ob) in (&mut xs).zip(&mut os) {
        if all_within(xb, reach) {
            for (o, &v) in ob.iter_mut().zip(xb) {
                *o = near(v);
            }
        } else {
            for (o, &v) in ob.iter_mut().zip(xb) {
                *o = any(v);
            }
        }
    }
    for (o, &v) in os.into_remainder().iter_mut().zip(xs.remainder()) {
        *o = any(v);
    }
}

/// In-place `by_reach`.
#[inline(always)]
fn by_reach_inplace(
    buf: &mut [f32],
    reach: f32,
    near: impl Fn(f32) -> f32,
    any: impl Fn(f32) -> f32,
) {
    let mut bs = buf.chunks_exact_mut(REACH_BLOCK);
    for b in &mut bs {
        if all_within(b, reach) {
            b.iter_mut().for_each(|v| *v = near(*v));
        } else {
            b.iter_mut().for_each(|v| *v = any(*v));
        }
    }
    bs.into_remainder().iter_mut().for_each(|v| *v = any(*v));
}

/// x sigmoid(x) for an f32, rounded once (silu). silu(-inf) is NaN (-inf * 0), as in
/// PyTorch.
#[inline(always)]
pub fn silu_f32(x: f32) -> f32 {
    silu_m::<Separate>(x)
}

/// `silu_f32` with `M`'s multiply-add; with FMA all in float32, `x q + x c` from
/// `sigmoid_parts` rounded once, within 1.09 ulp (every float32 checked,
/// `every_float_sigmoid_silu_expm1`; at +-inf, x q: inf and NaN).
#[inline(always)]
fn silu_m<M: MulAdd>(x: f32) -> f32 {
    if M::FUSED {
        let (q, c) = sigmoid_parts(x);
        let v = x.mul_add(q, x * c);
        return if x.is_infinite() { x * q } else { v };
    }
    let s = if x == f32::NEG_INFINITY {
        0.0
    } else {
        sigmoid_f64::<M>(x)
    };
    (x as f64 * s) as f32
}

/// Beyond this argument erfc, and gelu's x erfc / 2, are below half the smallest f32
/// subnormal: 0.
const ERFC_ZMAX: f64 = 10.5;
/// `erfc_pos_f64`'s variable: `t = 2 / (2 + z)` mapped from [2 / (2 + ZMAX), 1] onto
/// [-1, 1] as `W_A * t - W_B`.
const ERFC_W_A: f64 = 2.380952380952381;
const ERFC_W_B: f64 = 1.380952380952381;
/// ln(erfc(z) / t) + z^2 as a polynomial in that variable (a degree-14 Chebyshev fit in
/// float64 against `math.erfc`, converted to powers; largest error 7.2e-11;
/// scripts/fit_erf_coefficients.py).
const ERFC_P: [f64; 15] = [
    -0.563156785594992,
    0.5746099745397454,
    0.016716057839062895,
    -0.03014766900950276,
    -0.001230683532230252,
    0.003877278339840535,
    -0.00026748805183342153,
    -0.0005875947111138769,
    0.00015451681415519256,
    7.467498636657266e-05,
    -4.537799809941196e-05,
    -4.515626964687981e-06,
    8.920626595620553e-06,
    -3.5888052972015525e-07,
    -9.498125868702042e-07,
];
/// erf(x) / x as a polynomial in x^2 for |x| < 0.75 (a least-squares fit in float64
/// against `math.erf`; largest relative error 1.5e-12; the same script).
const ERF_Q: [f64; 8] = [
    1.12837916709523,
    -0.3761263889635905,
    0.11283791400765973,
    -0.026866130046631673,
    0.0052236785987728775,
    -0.000853635754375101,
    0.00011788389120302657,
    -1.176583591501932e-05,
];

/// Horner's rule in f64 with `M`'s multiply-add, highest power last in `c`.
///
/// (Estrin's scheme was tried: its `while` over levels unrolled in the development
/// profile but not under the release profile's LTO, where the kernels then ran
/// scalar, 9x slower. A fold over a fixed-size array unrolls in both.)
#[inline(always)]
fn horner<M: MulAdd, const N: usize>(c: &[f64; N], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| M::mad64(acc, x, k))
}

/// The polynomial of [`horner`] (lowest power first, N <= 16) by Estrin's scheme: pairs
/// of terms, then pairs of pairs with x^2, x^4, x^8, so the dependency chain is four
/// multiply-adds deep instead of N. The kernels that evaluate long float64 polynomials
/// (erfc, gelu) were bound by that chain's latency, not by their arithmetic: a chain
/// hundreds of cycles long keeps too few elements in flight (gelu ran at one
/// instruction per cycle). Written as fixed levels whose branches fold away for a
/// constant N (the loop form did not unroll under LTO; see [`horner`]).
#[inline(always)]
pub(crate) fn estrin<M: MulAdd, const N: usize>(c: &[f64; N], x: f64) -> f64 {
    const { assert!(N >= 1 && N <= 16) };
    // Terms 2i and 2i + 1; beyond the end, nothing (0 is never multiplied in).
    let pair = |i: usize| {
        if 2 * i + 1 < N {
            M::mad64(c[2 * i + 1], x, c[2 * i])
        } else if 2 * i < N {
            c[2 * i]
        } else {
            0.0
        }
    };
    if N <= 2 {
        return pair(0);
    }
    let x2 = x * x;
    let quad = |j: usize| {
        if 4 * j + 2 < N {
            M::mad64(pair(2 * j + 1), x2, pair(2 * j))
        } else {
            pair(2 * j)
        }
    };
    if N <= 4 {
        return quad(0);
    }
    let x4 = x2 * x2;
    let oct = |l: usize| {
        if 8 * l + 4 < N {
            M::mad64(quad(2 * l + 1), x4, quad(2 * l))
        } else {
            quad(2 * l)
        }
    };
    if N <= 8 {
        return oct(0);
    }
    M::mad64(oct(1), x4 * x4, oct(0))
}

/// erfc(z) for z >= 0 (NaN passes through) in f64, relative error under 2^-29:
/// `t e^(P(t) - z^2)` with `t = 2 / (2 + z)`, one polynomial and one exponential over
/// the whole range, branch-free.
#[inline(always)]
fn erfc_pos_f64<M: MulAdd>(z: f64) -> f64 {
    let zc = z.min(ERFC_ZMAX);
    let t = 2.0 / (2.0 + zc);
    let p = estrin::<M, 15>(&ERFC_P, M::mad64(ERFC_W_A, t, -ERFC_W_B));
    let e = t * exp_neg_f64::<M>(M::mad64(-zc, zc, p));
    // (`min` dropped a NaN: it is put back here.)
    if z.is_nan() {
        z
    } else if z > ERFC_ZMAX {
        0.0
    } else {
        e
    }
}

/// erf(x) for an f32 within 0.51 ulp (the FMA paths: `erf_fused`): an odd polynomial near 0, `1 - erfc(|x|)` with
/// the sign of x beyond.
#[inline(always)]
pub fn erf_f32(x: f32) -> f32 {
    erf_m::<Separate>(x)
}

/// `erf_f32` with `M`'s multiply-add; with FMA all in float32 (`erf_fused`).
#[inline(always)]
fn erf_m<M: MulAdd>(x: f32) -> f32 {
    if M::FUSED {
        return erf_fused(x);
    }
    let xd = x as f64;
    let z = xd.abs();
    let small = xd * estrin::<M, 8>(&ERF_Q, xd * xd);
    let big = (1.0 - erfc_pos_f64::<M>(z)).copysign(xd);
    (if z < 0.75 { small } else { big }) as f32
}

// The all-float32 erf of the FMA paths (scripts/fit_erf_coefficients.py, `fit_erf32`).
const ERF32_W_A: f32 = 3.25;
const ERF32_W_B: f32 = 2.25;
const ERF32_C0: (f32, f32) = (1.128379225730896, -5.8635382771399236e-08);
const ERF32_P: [f32; 10] = [
    5.693570983567042e-06,
    -9.83787322184071e-06,
    -6.9640256697312e-05,
    0.00016375919221900403,
    0.0007722136797383428,
    -0.0023775522131472826,
    -0.012062049470841885,
    0.037085894495248795,
    0.5274872183799744,
    -0.5509957075119019,
];
const ERF32_R: [f32; 6] = [
    8.01753849373199e-05,
    -0.0008057921077124774,
    0.00519357668235898,
    -0.02685650624334812,
    0.11283649504184723,
    -0.37612631916999817,
];

/// erf(x) for an f32 within 1.34 ulp (every float32 checked, `every_float_erf_sin_cos`),
/// in float32 with FMA (twice the lanes of the float64 form): `x (C0 + x^2 R(x^2))` for
/// |x| < 1, with C0 = 2/sqrt(pi) as two floats; beyond,
/// `1 - t e^(P(w) - z^2)` with t = 2.5 / (2.5 + z), z = |x| <= 4 (erf rounds to 1 above
/// 3.92), z^2 exact as a sum of two floats, `e^` Cephes' `expf` polynomial. erfc is at most
/// 0.16 there and enters with absolute accuracy, so the rounding of t (which moves the
/// tail by a few of its own ulps) stays below half an ulp of the result. Only for code
/// compiled with FMA (`mul_add` is a library call without it).
#[inline(always)]
fn erf_fused(x: f32) -> f32 {
    let z = x.abs().min(4.0);
    let t = 2.5 / (2.5 + z);
    let p = poly::<Fused, 10>(ERF32_P, ERF32_W_A.mul_add(t, -ERF32_W_B));
    let sq = z * z;
    let sq_lo = z.mul_add(z, -sq);
    // e^(p - z^2) = 2^n (1 + q), z^2 = sq + sq_lo exactly.
    let (q, ni) = exp_reduced_fused(p - sq, -sq_lo);
    // n >= -25 for z <= 4: 2^n is a normal float.
    let tail = t.mul_add(q, t) * pow2i(ni);
    let big = (1.0 - tail).copysign(x);
    let s = x * x;
    let c = s.mul_add(poly::<Fused, 6>(ERF32_R, s), ERF32_C0.1);
    let small = x.mul_add(ERF32_C0.0, x * c);
    if x.abs() < 1.0 {
        small
    } else if x.is_nan() {
        x
    } else {
        big
    }
}

/// erfc(x) for an f32 within 0.52 ulp (no cancellation in the tail).
#[inline(always)]
pub fn erfc_f32(x: f32) -> f32 {
    erfc_m::<Separate>(x)
}

/// `erfc_f32` with `M`'s multiply-add.
#[inline(always)]
fn erfc_m<M: MulAdd>(x: f32) -> f32 {
    let xd = x as f64;
    let e = erfc_pos_f64::<M>(xd.abs());
    (if xd < 0.0 { 2.0 - e } else { e }) as f32
}

/// gelu(x) = x Phi(x) = x erfc(-x / sqrt 2) / 2 for an f32, rounded once; no
/// cancellation for negative x (where Phi is erfc's tail).
#[inline(always)]
pub fn gelu_f32(x: f32) -> f32 {
    gelu_m::<Separate>(x)
}

/// `gelu_f32` with `M`'s multiply-add; with FMA all in float32 (`gelu32::gelu_fused`).
#[inline(always)]
fn gelu_m<M: MulAdd>(x: f32) -> f32 {
    if M::FUSED {
        return super::gelu32::gelu_fused(x);
    }
    let xd = x as f64;
    let half_tail = 0.5 * erfc_pos_f64::<M>(xd.abs() * std::f64::consts::FRAC_1_SQRT_2);
    let phi = if xd < 0.0 { half_tail } else { 1.0 - half_tail };
    (xd * phi) as f32
}

/// gelu'(x) = Phi(x) + x phi(x) for an f32, in f64 and rounded once: Phi from erfc's
/// tail for negative x (no cancellation in 1 + erf), phi(x) = e^(-x^2/2) / sqrt(2 pi)
/// with x^2 exact in f64. The backward of gelu (`ops::grad_kinds::GeluGrad`).
#[inline(always)]
pub fn gelu_grad_f32(x: f32) -> f32 {
    gelu_grad_m::<Separate>(x)
}

/// `gelu_grad_f32` with `M`'s multiply-add; with FMA all in float32
/// (`gelu32::gelu_grad_fused`).
#[inline(always)]
fn gelu_grad_m<M: MulAdd>(x: f32) -> f32 {
    const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    if M::FUSED {
        return super::gelu32::gelu_grad_fused(x);
    }
    let xd = x as f64;
    let half_tail = 0.5 * erfc_pos_f64::<M>(xd.abs() * std::f64::consts::FRAC_1_SQRT_2);
    let cdf = if xd < 0.0 { half_tail } else { 1.0 - half_tail };
    // (`exp_neg_f64` clamps its argument at -700: x phi(x) is then below 1e-260, 0 in
    // f32, but for an infinite x, where PyTorch's `x * exp(-x^2/2)` is inf * 0: NaN.)
    let pdf = INV_SQRT_2PI * exp_neg_f64::<M>(-0.5 * xd * xd);
    let xpdf = if xd.is_infinite() { f64::NAN } else { xd * pdf };
    (cdf + xpdf) as f32
}

/// Below this magnitude the f32 sine and cosine reduce their argument in f64 with three
/// parts of pi/2 (exact enough for every f32 there); above it, and for inf/NaN, they
/// call std's f64 functions (a scalar pass after the vector one).
const TRIG_FAST_LIMIT: f32 = 65536.0;

/// x = k pi/2 + r with |r| <= pi/4 (in f64), for |x| <= TRIG_FAST_LIMIT: returns (r, k).
/// The parts of pi/2 are FreeBSD's (`__rem_pio2`): k times each of the first two is
/// exact for k < 2^20, and the third leaves an error near 1e-31 k.
#[inline(always)]
fn trig_reduce(x: f32) -> (f64, i64) {
    const TWO_OVER_PI: f64 = std::f64::consts::FRAC_2_PI;
    const PIO2_1: f64 = 1.570_796_326_734_125_6;
    const PIO2_2: f64 = 6.077_100_506_303_966e-11;
    const PIO2_3: f64 = 2.022_266_248_711_166_5e-21;
    // Round-to-nearest by adding 1.5 * 2^52; the low bits of `t` are then k.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    let xd = (x.clamp(-TRIG_FAST_LIMIT, TRIG_FAST_LIMIT)) as f64;
    let t = xd * TWO_OVER_PI + SHIFTER;
    let k = t - SHIFTER;
    let ki = (t.to_bits() as i64).wrapping_sub(SHIFTER.to_bits() as i64);
    (((xd - k * PIO2_1) - k * PIO2_2) - k * PIO2_3, ki)
}

/// (sin r, cos r) for |r| <= pi/4 in f64 (Taylor series to r^11 and r^12, relative
/// error under 1e-10).
#[inline(always)]
fn sin_cos_f64<M: MulAdd>(r: f64) -> (f64, f64) {
    const SIN: [f64; 5] = [
        -1.0 / 6.0,
        1.0 / 120.0,
        -1.0 / 5040.0,
        1.0 / 362_880.0,
        -1.0 / 39_916_800.0,
    ];
    const COS: [f64; 4] = [1.0 / 24.0, -1.0 / 720.0, 1.0 / 40_320.0, -1.0 / 3_628_800.0];
    let z = r * r;
    // r (1 + z P), not r + r z P: keeps the sign of a zero r.
    let sin_r = r * M::mad64(z, horner::<M, 5>(&SIN, z), 1.0);
    let cos_r = M::mad64(z * z, horner::<M, 4>(&COS, z), M::mad64(-0.5, z, 1.0));
    (sin_r, cos_r)
}

/// sin(x + q pi/2) from the reduced argument.
#[inline(always)]
fn trig_eval<M: MulAdd>(r: f64, q: i64) -> f64 {
    let (sin_r, cos_r) = sin_cos_f64::<M>(r);
    let v = if q & 1 == 0 { sin_r } else { cos_r };
    if q & 2 == 0 {
        v
    } else {
        -v
    }
}

/// sin(x) for |x| <= TRIG_FAST_LIMIT (the vector path): rounded once from f64, or with
/// FMA in f32 (`sin_cos_fused`).
#[inline(always)]
fn sin_fast_f32<M: MulAdd>(x: f32) -> f32 {
    if M::FUSED {
        return sin_cos_fused(x, 0);
    }
    let (r, k) = trig_reduce(x);
    trig_eval::<M>(r, k) as f32
}

/// cos(x) for |x| <= TRIG_FAST_LIMIT: sin(x + pi/2).
#[inline(always)]
fn cos_fast_f32<M: MulAdd>(x: f32) -> f32 {
    if M::FUSED {
        return sin_cos_fused(x, 1);
    }
    let (r, k) = trig_reduce(x);
    trig_eval::<M>(r, k.wrapping_add(1)) as f32
}

// pi/2 as three floats, and sin r = r + r^3 S(r^2), cos r = 1 - r^2/2 + r^4 C(r^2) on
// |r| <= pi/4 (scripts/fit_trig_coefficients.py).
const PIO2_32: [f32; 3] = [
    1.5707963705062866,
    -4.371138828673793e-08,
    -1.7151245100058819e-15,
];
const SIN32_S: [f32; 4] = [
    2.82042742583144e-06,
    -0.00019851683464366943,
    0.008333375677466393,
    -0.1666666716337204,
];
const SIN32_C: [f32; 3] = [
    2.445237805659417e-05,
    -0.0013887487584725022,
    0.04166664928197861,
];

/// sin(x + quarter pi/2) for |x| <= TRIG_FAST_LIMIT in f32 with FMA, within 0.84 ulp (every
/// float32 checked, `every_float_erf_sin_cos`): `sin_cos_parts`, each sum rounded once.
/// Twice the lanes of the f64 form. Only for code compiled with FMA.
#[inline(always)]
fn sin_cos_fused(x: f32, quarter: i32) -> f32 {
    let p = sin_cos_parts(x);
    let q = p.q.wrapping_add(quarter);
    let sin = p.sin.0 + p.sin.1;
    // (-0 - -0 is +0 in the reduction: a zero keeps its sign by a select.)
    let sin = if x == 0.0 { x } else { sin };
    let cos = p.cos.0 + p.cos.1;
    let v = if q & 1 == 0 { sin } else { cos };
    if q & 2 == 0 {
        v
    } else {
        -v
    }
}

/// sin r and cos r for x = q pi/2 + r, each an unrounded sum `hi + lo` with |lo| < |hi|.
struct SinCosParts {
    q: i32,
    sin: (f32, f32),
    cos: (f32, f32),
}

/// x = k pi/2 + r + r_lo with x - k PIO2_32[0] exact (FMA; |r| < 1), k PIO2_32[1] an exact
/// product and the difference by 2Sum, so r + r_lo is exact to well below an ulp of r
/// however close x lies to a multiple of pi/2; the polynomials' leading terms are kept
/// exact (cos: 1 - r^2/2 with its rounding error). Only for code compiled with FMA.
#[inline(always)]
fn sin_cos_parts(x: f32) -> SinCosParts {
    const SHIFTER: f32 = 12_582_912.0;
    let x = x.clamp(-TRIG_FAST_LIMIT, TRIG_FAST_LIMIT);
    let kk = x.mul_add(std::f32::consts::FRAC_2_PI, SHIFTER);
    let q = (kk.to_bits() as i32).wrapping_sub(0x4B40_0000);
    let k = kk - SHIFTER;
    let r1 = (-k).mul_add(PIO2_32[0], x);
    let m = k * PIO2_32[1];
    let m_lo = k.mul_add(PIO2_32[1], -m);
    let r = r1 - m;
    let back = r - r1;
    let e = (r1 - (r - back)) + (-m - back);
    let r_lo = (-k).mul_add(PIO2_32[2], e - m_lo);
    let z = r * r;
    let sin_lo = poly::<Fused, 4>(SIN32_S, z).mul_add(z * r, r_lo);
    let z_lo = r.mul_add(r, -z);
    let h = (-0.5f32).mul_add(z, 1.0);
    // 1 - h and (1 - h) - z/2 are exact (Sterbenz): the rounding error of h.
    let h_lo = (1.0 - h) - 0.5 * z;
    let lo = (-r).mul_add(r_lo, (-0.5f32).mul_add(z_lo, h_lo));
    let cos_lo = poly::<Fused, 3>(SIN32_C, z).mul_add(z * z, lo);
    SinCosParts {
        q,
        sin: (r, sin_lo),
        cos: (h, cos_lo),
    }
}

/// sin(x) for an f32 within 0.51 ulp; the scalar form of `sin_slice` on the paths without FMA.
#[inline]
pub fn sin_f32(x: f32) -> f32 {
    if x.abs() <= TRIG_FAST_LIMIT {
        sin_fast_f32::<Separate>(x)
    } else {
        (x as f64).sin() as f32
    }
}

/// cos(x) for an f32 within 0.51 ulp; the scalar form of `cos_slice` on the paths without FMA.
#[inline]
pub fn cos_f32(x: f32) -> f32 {
    if x.abs() <= TRIG_FAST_LIMIT {
        cos_fast_f32::<Separate>(x)
    } else {
        (x as f64).cos() as f32
    }
}

/// Redoes, with std's f64 function, the elements the fast path does not cover.
fn trig_fix_up(x: &[f32], out: &mut [f32], f: fn(f64) -> f64) {
    // NaN is out of range too (no comparison holds for it).
    let fast = |v: f32| v.abs() <= TRIG_FAST_LIMIT;
    // A non-short-circuiting fold per block vectorises (`all` tests element by element:
    // it took as long as the sine itself).
    let all_fast = x
        .chunks(256)
        .all(|c| c.iter().fold(true, |ok, &v| ok & fast(v)));
    if all_fast {
        return;
    }
    for (o, &v) in out.iter_mut().zip(x) {
        if !fast(v) {
            *o = f(v as f64) as f32;
        }
    }
}

/// In-place form of a trig slice kernel: each block's inputs are kept for the fix-up.
fn trig_in_place(buf: &mut [f32], fast: fn(&mut [f32]), f: fn(f64) -> f64) {
    let mut keep = [0f32; 256];
    for block in buf.chunks_mut(keep.len()) {
        let keep = &mut keep[..block.len()];
        keep.copy_from_slice(block);
        fast(block);
        trig_fix_up(keep, block, f);
    }
}

/// `out[i] = sin(x[i])` (vectorised, within 0.85 ulp; 0.51 without FMA).
pub fn sin_slice(x: &[f32], out: &mut [f32]) {
    sin_fast_slice(x, out);
    trig_fix_up(x, out, f64::sin);
}

/// In-place `sin_slice`.
pub fn sin_slice_inplace(buf: &mut [f32]) {
    trig_in_place(buf, sin_fast_slice_inplace, f64::sin);
}

/// `out[i] = cos(x[i])` (vectorised, within 0.85 ulp; 0.51 without FMA).
pub fn cos_slice(x: &[f32], out: &mut [f32]) {
    cos_fast_slice(x, out);
    trig_fix_up(x, out, f64::cos);
}

/// In-place `cos_slice`.
pub fn cos_slice_inplace(buf: &mut [f32]) {
    trig_in_place(buf, cos_fast_slice_inplace, f64::cos);
}

/// tan(x) for |x| <= TRIG_FAST_LIMIT: tan r, or -1 / tan r for odd multiples of pi/2
/// (tan has period pi). In f64 and rounded once (within 0.51 ulp), or with FMA in f32
/// (`tan_fused`).
#[inline(always)]
fn tan_fast_f32<M: MulAdd>(x: f32) -> f32 {
    if M::FUSED {
        return tan_fused(x);
    }
    let (r, k) = trig_reduce(x);
    let (s, c) = sin_cos_f64::<M>(r);
    let t = if k & 1 == 0 { s / c } else { -c / s };
    t as f32
}

/// tan(x) in f32 with FMA from `sin_cos_parts`: each of sin r and cos r summed once with
/// its rounding error kept (Fast2Sum), and the quotient corrected by its remainder
/// (FMA) and those errors, so that only the polynomials' own error (about a third of an
/// ulp each) and the last rounding remain. One division: the quotient is num times
/// 1/den (within two ulps), which the correction, also taken times 1/den, repairs; two
/// dependent divisions bounded the loop on AVX-512.
#[inline(always)]
fn tan_fused(x: f32) -> f32 {
    let p = sin_cos_parts(x);
    let odd = p.q & 1 != 0;
    let (n, d) = if odd { (p.cos, p.sin) } else { (p.sin, p.cos) };
    let num = n.0 + n.1;
    let num_lo = (n.0 - num) + n.1;
    let den = d.0 + d.1;
    let den_lo = (d.0 - den) + d.1;
    let inv = 1.0 / den;
    let q = num * inv;
    let rem = (-q).mul_add(den, num);
    let q_lo = (-q).mul_add(den_lo, rem + num_lo) * inv;
    let t = q + q_lo;
    let t = if odd { -t } else { t };
    // (A zero x reduces to +0: its sign is kept by a select, as in `sin_cos_fused`.)
    if x == 0.0 {
        x
    } else {
        t
    }
}

/// tan(x) for an f32 within 0.51 ulp; the scalar form of `tan_slice` without FMA.
#[inline]
pub fn tan_f32(x: f32) -> f32 {
    if x.abs() <= TRIG_FAST_LIMIT {
        tan_fast_f32::<Separate>(x)
    } else {
        (x as f64).tan() as f32
    }
}

/// `out[i] = tan(x[i])` (vectorised, within 1.1 ulp; 0.51 without FMA).
pub fn tan_slice(x: &[f32], out: &mut [f32]) {
    tan_fast_slice(x, out);
    trig_fix_up(x, out, f64::tan);
}

/// In-place `tan_slice`.
pub fn tan_slice_inplace(buf: &mut [f32]) {
    trig_in_place(buf, tan_fast_slice_inplace, f64::tan);
}

/// atan(t) = t + t^3 P(t^2) on [0, 1], lowest power first (relative error 2.5e-10;
/// scripts/fit_atan_asin_exp2_coefficients.py).
const ATAN_P: [f64; 11] = [
    -0.3333333223073128,
    0.1999993310743769,
    -0.14284281819661912,
    0.11095576590337136,
    -0.08991098867266732,
    0.07277658157528062,
    -0.05488722498463821,
    0.03495671587269684,
    -0.016683025711885662,
    0.005098161091049614,
    -0.0007310124385835272,
];

/// atan(x) in f32 within 0.51 ulp: |x| > 1 folds onto pi/2 - atan(1/|x|), a polynomial
/// on [0, 1] evaluated in f64 (in f32 its rounding alone cost 0.4 ulp), the sign put
/// back last (atan is odd). The quotient 1/|x| is taken in f32 (twice the lanes of f64's
/// division) with, under FMA, its rounding error carried as a second term.
#[inline(always)]
pub fn atan_f32(x: f32) -> f32 {
    atan_m::<Separate>(x)
}

/// `atan_f32` with `M`'s multiply-add.
#[inline(always)]
fn atan_m<M: MulAdd>(x: f32) -> f32 {
    let a = x.abs();
    let big = a > 1.0;
    let t = if !M::FUSED {
        if big {
            1.0 / a as f64
        } else {
            a as f64
        }
    } else {
        // 1/a = inv + (1 - inv a)/a, with 1 - inv a exact under FMA (NaN for a = inf).
        // Both parts are chosen by selects before the one f64 sum: written as two
        // branches, LLVM evaluated the polynomial below once per branch.
        let inv = 1.0 / a;
        let hi = if big { inv } else { a };
        let lo = if big && a < f32::INFINITY {
            M::mad(-inv, a, 1.0) * inv
        } else {
            0.0
        };
        hi as f64 + lo as f64
    };
    let z = t * t;
    let at = M::mad64(t * z, estrin::<M, 11>(&ATAN_P, z), t);
    let r = if big {
        std::f64::consts::FRAC_PI_2 - at
    } else {
        at
    };
    (r as f32).copysign(x)
}

/// atan2(y, x) for f32 arguments within 0.51 ulp, computed in f64 and rounded once:
/// t = min(|x|, |y|) / max(|x|, |y|) (one f64 division, exact enough), atan t by
/// `ATAN_P`, then the octant: pi/2 - a where |y| > |x|, pi - a where x is negative
/// (-0 included), the sign of y last. IEEE's special cases: both zero gives 0 or pi,
/// both infinite pi/4 or 3pi/4 (the quotient would be NaN); NaN stays NaN.
#[inline(always)]
pub fn atan2_f32(y: f32, x: f32) -> f32 {
    atan2_f32_m::<Separate>(y, x)
}

/// `atan2_f32` with `M`'s multiply-add (the FMA levels: fewer instructions; the f64
/// sums differ in their last bits, far below the float32 result's).
#[inline(always)]
pub(crate) fn atan2_f32_m<M: MulAdd>(y: f32, x: f32) -> f32 {
    use std::f64::consts::{FRAC_PI_2, PI};
    let (ay, ax) = (y.abs() as f64, x.abs() as f64);
    let swap = ay > ax;
    let (num, den) = if swap { (ax, ay) } else { (ay, ax) };
    let both_inf = ax == f64::INFINITY && ay == f64::INFINITY;
    let t = if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if num == 0.0 {
        0.0
    } else if both_inf {
        1.0
    } else {
        num / den
    };
    let z = t * t;
    let a = M::mad64(t * z, estrin::<M, 11>(&ATAN_P, z), t);
    let a = if swap { FRAC_PI_2 - a } else { a };
    let a = if x.is_sign_negative() { PI - a } else { a };
    (a as f32).copysign(y)
}

/// log(e^x + e^y) for float32, in f64 and rounded once: m + log1p(e) with m the larger
/// argument and e = e^-|x - y| in (0, 1] (`exp_f64_with`, to 2^-42), log1p(e) as the
/// sum ln(u) plus c / u for u = 1 + e rounded and c = e - (u - 1) its rounding error,
/// with 1/u taken as 2 - u: c is below 2^-53 and that reciprocal within e^2 of 1/u, so
/// the correction is exact enough without a division. log1p(e) is within 2^-39 of its
/// value, so m + log1p(e), rounded once, is within an ulp or so unless it cancels to
/// below about 2^-14 (m near -ln 2), and off by 2^-39 absolutely there, where
/// PyTorch's float32 formula loses far more. Equal infinities give themselves; NaN
/// stays NaN.
#[inline(always)]
pub(crate) fn logaddexp_f32_m<M: MulAdd>(x: f32, y: f32) -> f32 {
    let (a, b) = (x as f64, y as f64);
    let e = exp_f64_with::<M, 9>(-(a - b).abs());
    let u = 1.0 + e;
    let c = e - (u - 1.0);
    let log1p = M::mad64(c, 2.0 - u, ln_f64_terms::<M, 7>(u));
    let r = (a.max(b) + log1p) as f32;
    if x == y && x.is_infinite() {
        x
    } else if x.is_nan() || y.is_nan() {
        f32::NAN
    } else {
        r
    }
}

/// ln(x) in f64 for a positive normal x (every positive finite f32 widened is one),
/// within a few ulp of f64, branch-free: x = 2^e m with m in [sqrt(1/2), sqrt(2)),
/// ln m = 2 atanh(s) with s = (m - 1) / (m + 1) (|s| < 0.172; m - 1 is exact) by its
/// series to s^21 (the first omitted term is below 2^-55 of the sum).
#[inline(always)]
pub(crate) fn ln_f64_positive(x: f64) -> f64 {
    ln_f64_positive_m::<Separate>(x)
}

/// [`ln_f64_positive`] with `M`'s multiply-add (the FMA paths: fewer instructions, a
/// different last bit).
#[inline(always)]
pub(crate) fn ln_f64_positive_m<M: MulAdd>(x: f64) -> f64 {
    ln_f64_terms::<M, 11>(x)
}

/// `ln_f64_positive_m` with the series' first K terms: the first omitted one is below
/// 0.0295^K / (2K + 1) of the sum (2^-39 for K = 7, enough for float32 results).
#[inline(always)]
fn ln_f64_terms<M: MulAdd, const K: usize>(x: f64) -> f64 {
    /// 1 / (2i + 1).
    const fn odd_reciprocals<const K: usize>() -> [f64; K] {
        let mut out = [0.0; K];
        let mut i = 0;
        while i < K {
            out[i] = 1.0 / (2 * i + 1) as f64;
            i += 1;
        }
        out
    }
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > std::f64::consts::SQRT_2;
    let m = if big { m * 0.5 } else { m };
    let e = if big { e + 1 } else { e };
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let ln_m = 2.0 * s * estrin::<M, K>(&const { odd_reciprocals::<K>() }, z);
    M::mad64(e as f64, std::f64::consts::LN_2, ln_m)
}

/// x^y for float32 as e^(y ln |x|) in f64, rounded once (within 0.51 ulp: the f64
/// error, under 2^-32 relative wherever the result is neither 0 nor inf, is far below
/// an f32 ulp; see `pow_fast_f32_m`), with
/// the sign for a negative base: NaN for a y that is not an integer, negative for an
/// odd one (as `powf`). Answers `(v, true)` for a nonzero finite x and a finite y,
/// overflow to inf and underflow to 0 included; declines (`false`) zeros, infinities
/// and NaN, whose special cases libm's `powf` answers. (Negative bases were declined
/// too: on data of both signs half the elements went to libm, pow 4x PyTorch's time.)
#[inline(always)]
pub fn pow_fast_f32(x: f32, y: f32) -> (f32, bool) {
    pow_fast_f32_m::<Separate>(x, y)
}

/// `pow_fast_f32` with `M`'s multiply-add, as the FMA levels run it. The logarithm
/// and the exponential stop where a float32 result no longer feels them (`ln_f64_terms`
/// to 2^-39 relative; e^r to its r^10/10! term, the next below 2^-42), so y ln x is
/// within 2^-32.5 of its value even at |y ln x| = 104 and the result within 0.51 ulp.
#[inline(always)]
pub(crate) fn pow_fast_f32_m<M: MulAdd>(x: f32, y: f32) -> (f32, bool) {
    let ax = x.abs();
    let ok = ax > 0.0 && ax < f32::INFINITY && y.is_finite();
    let xs = if ok { ax } else { 1.0 };
    let t = y as f64 * ln_f64_terms::<M, 7>(xs as f64);
    let v = exp_f64_with::<M, 9>(t) as f32;
    // y * 0.5 is exact; an integer y of 2^24 or more is even.
    let integer = y == y.trunc();
    let odd = integer && (y * 0.5) != (y * 0.5).trunc();
    let v = if x < 0.0 && odd { -v } else { v };
    let v = if x < 0.0 && !integer { f32::NAN } else { v };
    (v, ok)
}

/// fmod(x, y) for float32 by one float64 division: q = trunc(|x| / |y|), r = |x| - q |y|
/// (exact: q < 2^29 times a 24-bit |y| fits f64's 53 bits, and r, a multiple of the
/// last bit of |y| below 2|y|, fits too), corrected by one |y| where the quotient
/// rounded across an integer, then the sign of x. Returns `(r, true)`, or `false` where
/// it declines: a quotient from 2^29 up, y zero, an argument infinite or NaN (the exact
/// but slow libm `%` answers those). Branch-free: the loop vectorises.
#[inline(always)]
pub fn fmod_fast_f32(x: f32, y: f32) -> (f32, bool) {
    let (ax, ay) = (x.abs() as f64, y.abs() as f64);
    let q = (ax / ay).trunc();
    let r = ax - q * ay;
    let r = if r < 0.0 {
        r + ay
    } else if r >= ay {
        r - ay
    } else {
        r
    };
    // (Every comparison with NaN fails: NaN declines.)
    let ok = q < 536_870_912.0 && ay > 0.0 && ay < f64::INFINITY && ax < f64::INFINITY;
    ((r as f32).copysign(x), ok)
}

/// asin(t) = t + t^3 S(t^2) on [0, 1/2], lowest power first (relative error 2.5e-13;
/// scripts/fit_atan_asin_exp2_coefficients.py).
const ASIN_P: [f64; 9] = [
    0.16666666668752791,
    0.074999996583314,
    0.04464304946667974,
    0.030376667577444446,
    0.022453343473341714,
    0.016608229856261175,
    0.018082659993495134,
    -0.001626187150660902,
    0.03081009376274914,
];

/// For |x| <= 1 in f64: (asin of the folded argument, whether |x| > 1/2), where above 1/2
/// asin|x| = pi/2 - 2 asin(sqrt((1 - |x|) / 2)) (1 - |x| is exact), so the polynomial
/// only meets [0, 1/2]. NaN (and |x| > 1, through the square root) stays NaN.
#[inline(always)]
fn asin_folded(a: f32) -> (f64, bool) {
    let big = a > 0.5;
    let t = if big {
        sqrt_f32_to_f64((1.0 - a) * 0.5)
    } else {
        a as f64
    };
    let z = t * t;
    (
        Separate::mad64(t * z, estrin::<Separate, 9>(&ASIN_P, z), t),
        big,
    )
}

/// sqrt(w) for an f32 w, to about 2^-47 relative in f64: the f32 root s (correctly
/// rounded) plus one Newton correction (w - s^2) / (2 s), where w - s^2 is exact in f64
/// (s^2 has 48 bits and lies within a factor of two of w) and the correction, under
/// 2^-24 s, needs 1 / (2 s) only to f32's precision. An f64 square root costs four
/// times the f32 one and its division on AVX-512 (it bounded asin at 2 cycles an
/// element). NaN and negative w give NaN, 0 gives 0.
#[inline(always)]
fn sqrt_f32_to_f64(w: f32) -> f64 {
    let s = w.sqrt();
    let inv = 0.5 / s;
    let s64 = s as f64;
    let fix = (w as f64 - s64 * s64) * inv as f64;
    s64 + if w > 0.0 { fix } else { 0.0 }
}

/// asin(x) for an f32 within 0.51 ulp, in f64 and rounded once (`asin_folded`).
/// Branch-free and without FMA: one body vectorises at every SIMD level.
#[inline(always)]
pub fn asin_f32(x: f32) -> f32 {
    let (s, big) = asin_folded(x.abs());
    let r = if big {
        std::f64::consts::FRAC_PI_2 - 2.0 * s
    } else {
        s
    };
    (r as f32).copysign(x)
}

/// acos(x) for an f32 within 0.51 ulp, in f64 and rounded once: pi/2 - asin x up to
/// |x| = 1/2, beyond it 2 asin(sqrt((1 - |x|) / 2)) or pi minus that (no cancellation
/// near x = 1).
#[inline(always)]
pub fn acos_f32(x: f32) -> f32 {
    use std::f64::consts::{FRAC_PI_2, PI};
    let xd = x as f64;
    let (s, big) = asin_folded(x.abs());
    let r = if !big {
        FRAC_PI_2 - s.copysign(xd)
    } else if xd > 0.0 {
        2.0 * s
    } else {
        PI - 2.0 * s
    };
    r as f32
}

/// sinh(x) for an f32, in f64 from one `exp_f64` and rounded once (a loop of it
/// vectorises; libm's is a call per element): (e - 1/e)/2 with e = e^|x|, where
/// the difference's 2^-51 error is below 2^-37 of the result down to |x| = 1e-4; below
/// that, x + x^3/6 (the next term is under 1e-17 of it). Overflows to inf past 89.4 as
/// float32 must; NaN stays NaN.
#[inline(always)]
pub fn sinh_f32(x: f32) -> f32 {
    let a = x.abs() as f64;
    let e = exp_f64(a);
    let r = 0.5 * (e - 1.0 / e);
    let r = if a < 1e-4 {
        a + a * a * a * (1.0 / 6.0)
    } else {
        r
    };
    (r as f32).copysign(x)
}

/// cosh(x) for an f32, in f64 from one `exp_f64` and rounded once: (e + 1/e)/2 with
/// e = e^|x| (no cancellation). inf past 89.4; NaN stays NaN.
#[inline(always)]
pub fn cosh_f32(x: f32) -> f32 {
    let e = exp_f64(x.abs() as f64);
    (0.5 * (e + 1.0 / e)) as f32
}

/// asinh(x) for an f32 within 0.7 ulp, in f64 and rounded once (a loop of it
/// vectorises; Rust's and libm's call log1p and hypot per element): ln(a + sqrt(a^2 +
/// 1)) for a = |x|, the square exact and far from overflow in f64. Below 1e-8, a itself:
/// the logarithm of a sum that near 1 keeps only 2^-53 absolutely (0.2 ulp of the result
/// at 1e-8), and a^3/6 is below 2^-56 of a there. inf stays inf, NaN NaN, -0.0 -0.0.
#[inline(always)]
pub fn asinh_f32(x: f32) -> f32 {
    let a = x.abs() as f64;
    let r = ln_f64_terms::<Separate, 7>(a + (a * a + 1.0).sqrt());
    let r = if a < 1e-8 { a } else { r };
    // (The logarithm of inf or NaN, from its bits, is no answer.)
    let r = if a.is_finite() { r } else { a };
    (r as f32).copysign(x)
}

/// atanh(x) for an f32 within 0.51 ulp: (1/2) ln((1 + x) / (1 - x)) in f64 (1 +- x exact,
/// the quotient's rounding at most 6e-9 of the result down to |x| = 1e-8; below, atanh x
/// rounds to x), rounded once. +-1 give +-inf, |x| > 1 NaN.
#[inline(always)]
pub fn atanh_f32(x: f32) -> f32 {
    let a = x.abs() as f64;
    let m = (1.0 + a) / (1.0 - a);
    let r = 0.5 * ln_f64_terms::<Separate, 7>(if a < 1.0 { m } else { 1.0 });
    let r = if a < 1e-8 { a } else { r };
    let r = if a == 1.0 {
        f64::INFINITY
    } else if a < 1.0 {
        r
    } else {
        f64::NAN
    };
    (r as f32).copysign(x)
}

/// 2^r = 1 + r ln2 + r^2 Q(r) on |r| <= 1/2 (scripts/fit_atan_asin_exp2_coefficients.py).
const EXP2_Q: [f32; 5] = [
    0.00015247073315549642,
    0.0013386014616116881,
    0.009618734940886497,
    0.05550369620323181,
    0.24022646248340607,
];

/// ln 2 as two floats.
const LN2_32: (f32, f32) = (0.6931471824645996, -1.9046542121259336e-09);

/// 2^x in f32 within 1.1 ulp: x = n + r with n an integer and r exact, 2^r by a polynomial,
/// 2^n by exponent bits (two steps, so that 2^n stays representable at both ends).
/// Integer x give exact powers; below 2^-149 the result is 0, from 128 on +inf.
#[inline(always)]
pub fn exp2_f32(x: f32) -> f32 {
    exp2_m::<Separate>(x)
}

/// `exp2_f32` with `M`'s multiply-add.
#[inline(always)]
fn exp2_m<M: MulAdd>(x: f32) -> f32 {
    // Round-to-nearest by adding 1.5 * 2^23, as `exp_m`.
    const SHIFTER: f32 = 12_582_912.0;
    let xc = x.clamp(-151.0, 128.0);
    let t = xc + SHIFTER;
    let ni = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    // Exact: xc and n lie within 2^8, so their difference needs no more bits than xc.
    let r = xc - (t - SHIFTER);
    let small = M::mad(r * r, poly::<M, 5>(EXP2_Q, r), r * LN2_32.1);
    let y = M::mad(r, LN2_32.0, small) + 1.0;
    let y = times_pow2(y, ni);
    if x > 128.0 {
        f32::INFINITY
    } else {
        y
    }
}

/// x = 2^e (1 + m) with 1 + m in [sqrt(1/2), sqrt(2)), and ln(1 + m) = m + y (|y| < |m|);
/// returns (e, m, y). Cephes' `logf` reduction and polynomial, shared by the logarithms.
#[inline(always)]
fn log_parts<M: MulAdd>(x: f32) -> (f32, f32, f32) {
    let (ef, m, z, p) = log_reduce::<M>(x);
    (ef, m, M::mad(-0.5, z, p))
}

/// The logarithms' answers where the reduction does not apply: NaN below zero (and for
/// NaN), -inf at zero, +inf at +inf; else `r`.
#[inline(always)]
fn log_special(x: f32, r: f32) -> f32 {
    if x.is_nan() || x < 0.0 {
        f32::NAN
    } else if x == 0.0 {
        f32::NEG_INFINITY
    } else if x == f32::INFINITY {
        f32::INFINITY
    } else {
        r
    }
}

/// `e + e_lo + c (m + y)` for the parts of `log_parts` (e scaled by a constant, split in
/// a head e and a tail e_lo) and a constant `c = c_hi + c_lo` (log2 e, log10 e): the
/// product kept as a float pair (FMA) and added to e by Fast2Sum (|e| exceeds
/// |c (m + y)| < 0.63 wherever it is not 0), rounded once. Without FMA, in f64.
#[inline(always)]
fn scaled_log<M: MulAdd>(e: f32, e_lo: f32, m: f32, y: f32, c: (f32, f32)) -> f32 {
    if !M::FUSED {
        let c64 = c.0 as f64 + c.1 as f64;
        return ((e as f64 + e_lo as f64) + (m as f64 + y as f64) * c64) as f32;
    }
    let h = m * c.0;
    let h_lo = M::mad(m, c.0, -h);
    let lo = M::mad(m, c.1, M::mad(y, c.0, h_lo)) + e_lo;
    let s = e + h;
    let s_err = (e - s) + h;
    s + (s_err + lo)
}

/// log2(x) in f32 within 1.1 ulp (1.014 over every float32 on the FMA paths): e +
/// log2(1 + m) from the `logf` reduction (exact at powers of two).
#[inline(always)]
pub fn log2_f32(x: f32) -> f32 {
    log2_m::<Separate>(x)
}

/// `log2_f32` with `M`'s multiply-add.
#[inline(always)]
fn log2_m<M: MulAdd>(x: f32) -> f32 {
    const LOG2E: (f32, f32) = (std::f32::consts::LOG2_E, 1.925_963e-8);
    let (e, m, y) = log_parts::<M>(x);
    log_special(x, scaled_log::<M>(e, 0.0, m, y, LOG2E))
}

/// log10(x) in f32 within 1 ulp: e log10(2) + log10(1 + m).
#[inline(always)]
pub fn log10_f32(x: f32) -> f32 {
    log10_m::<Separate>(x)
}

/// `log10_f32` with `M`'s multiply-add.
#[inline(always)]
fn log10_m<M: MulAdd>(x: f32) -> f32 {
    const LOG10E: (f32, f32) = (std::f32::consts::LOG10_E, -1.010_305e-8);
    // log10(2) = 1233 / 4096 (11 bits: e, of at most 8, times it is exact) + the rest.
    const LOG10_2: (f32, f32) = (0.301_025_39, 4.605_039e-6);
    let (e, m, y) = log_parts::<M>(x);
    let r = scaled_log::<M>(e * LOG10_2.0, e * LOG10_2.1, m, y, LOG10E);
    log_special(x, r)
}

use super::gamma::{digamma_m, lgamma_m, trigamma_m};
use super::gelu32::{gelu_grad_near, gelu_near, REACH as GELU_REACH};

/// `out = f(x)` as a copy then `f_in_place` on blocks small enough to stay in the L1
/// cache between the two (no extra trip to memory): the out-of-place form of the less
/// used functions marked `[in_place]` in `slice_fns!`, whose loop is compiled once per
/// level instead of twice.
#[inline(always)]
fn copy_then_in_place(x: &[f32], out: &mut [f32], f_in_place: impl Fn(&mut [f32])) {
    let n = x.len().min(out.len());
    for (xc, oc) in x[..n].chunks(1024).zip(out[..n].chunks_mut(1024)) {
        oc.copy_from_slice(xc);
        f_in_place(oc);
    }
}

/// Defines each `$name(x, out)` / `$name_inplace(buf)` pair at every level (generic,
/// AVX2, AVX-512, portable) and as dispatchers on `capability()`. An entry marked
/// `[in_place]` compiles its element loop only in the in-place form, the other being
/// `copy_then_in_place` (each element costs a polynomial or more, next to which the
/// copy within L1 is noise; the extension's size is not).
macro_rules! slice_fns {
    ($($name:ident, $name_inplace:ident => $f:ident $(| $near:ident < $reach:ident)? $([$in_place:ident])?;)*) => {
        mod generic {
            use super::MulAdd;
            $(
                #[inline(always)]
                pub fn $name<M: MulAdd>(x: &[f32], out: &mut [f32]) {
                    $(if M::FUSED {
                        return super::by_reach(x, out, super::$reach, super::$near, super::$f::<M>);
                    })?
                    for (o, &v) in out.iter_mut().zip(x) {
                        *o = super::$f::<M>(v);
                    }
                }
                #[inline(always)]
                pub fn $name_inplace<M: MulAdd>(buf: &mut [f32]) {
                    $(if M::FUSED {
                        return super::by_reach_inplace(buf, super::$reach, super::$near, super::$f::<M>);
                    })?
                    for v in buf.iter_mut() {
                        *v = super::$f::<M>(*v);
                    }
                }
            )*
        }

        /// Whether each function's out-of-place form goes through its in-place one.
        #[allow(non_upper_case_globals)]
        mod only_in_place {
            $(
                pub const $name: bool = false $(|| { let _ = stringify!($in_place); true })?;
            )*
        }

        /// The scalar code compiled for AVX2 + FMA (LLVM vectorises it 8 wide).
        #[cfg(target_arch = "x86_64")]
        pub(crate) mod avx2 {
            $(
                /// # Safety
                /// The CPU must support AVX2 and FMA.
                #[target_feature(enable = "avx2,fma")]
                pub unsafe fn $name(x: &[f32], out: &mut [f32]) {
                    if super::only_in_place::$name {
                        // SAFETY: this function's own contract.
                        super::copy_then_in_place(x, out, |b| unsafe { $name_inplace(b) })
                    } else {
                        super::generic::$name::<super::Fused>(x, out)
                    }
                }
                /// # Safety
                /// The CPU must support AVX2 and FMA.
                #[target_feature(enable = "avx2,fma")]
                #[inline(never)]
                pub unsafe fn $name_inplace(buf: &mut [f32]) {
                    super::generic::$name_inplace::<super::Fused>(buf)
                }
            )*
        }

        /// The scalar code compiled for AVX-512 (LLVM vectorises it 16 wide).
        #[cfg(target_arch = "x86_64")]
        pub(crate) mod avx512 {
            $(
                /// # Safety
                /// The CPU must support AVX-512 F/BW/DQ/VL, AVX2 and FMA.
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
                pub unsafe fn $name(x: &[f32], out: &mut [f32]) {
                    if super::only_in_place::$name {
                        // SAFETY: this function's own contract.
                        super::copy_then_in_place(x, out, |b| unsafe { $name_inplace(b) })
                    } else {
                        super::generic::$name::<super::Fused>(x, out)
                    }
                }
                /// # Safety
                /// The CPU must support AVX-512 F/BW/DQ/VL, AVX2 and FMA.
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
                #[inline(never)]
                pub unsafe fn $name_inplace(buf: &mut [f32]) {
                    super::generic::$name_inplace::<super::Fused>(buf)
                }
            )*
        }

        /// The portable path, callable by name (tests compare every path with it).
        #[allow(dead_code)]
        pub(crate) mod portable {
            $(
                pub fn $name(x: &[f32], out: &mut [f32]) {
                    if super::only_in_place::$name {
                        super::copy_then_in_place(x, out, $name_inplace)
                    } else {
                        super::generic::$name::<super::Baseline>(x, out)
                    }
                }
                #[inline(never)]
                pub fn $name_inplace(buf: &mut [f32]) {
                    super::generic::$name_inplace::<super::Baseline>(buf)
                }
            )*
        }

        $(
            /// `out[i] = f(x[i])` with the widest vector unit in use (`capability()`).
            pub fn $name(x: &[f32], out: &mut [f32]) {
                match capability() {
                    // SAFETY: `capability()` only answers a level the CPU supports.
                    #[cfg(target_arch = "x86_64")]
                    Capability::Avx512 => unsafe { avx512::$name(x, out) },
                    // SAFETY: as above.
                    #[cfg(target_arch = "x86_64")]
                    Capability::Avx2 => unsafe { avx2::$name(x, out) },
                    _ => portable::$name(x, out),
                }
            }
            /// In-place form of the slice function of the same name.
            pub fn $name_inplace(buf: &mut [f32]) {
                match capability() {
                    // SAFETY: `capability()` only answers a level the CPU supports.
                    #[cfg(target_arch = "x86_64")]
                    Capability::Avx512 => unsafe { avx512::$name_inplace(buf) },
                    // SAFETY: as above.
                    #[cfg(target_arch = "x86_64")]
                    Capability::Avx2 => unsafe { avx2::$name_inplace(buf) },
                    _ => portable::$name_inplace(buf),
                }
            }
        )*
    };
}

slice_fns! {
    exp_auto_slice, exp_auto_slice_inplace => exp_m;
    log_slice, log_slice_inplace => log_m;
    tanh_slice, tanh_slice_inplace => tanh_m;
    sigmoid_slice, sigmoid_slice_inplace => sigmoid_m | sigmoid_near < SIGMOID_REACH;
    silu_slice, silu_slice_inplace => silu_m | silu_near < SIGMOID_REACH;
    erf_slice, erf_slice_inplace => erf_m;
    erfc_slice, erfc_slice_inplace => erfc_m [in_place];
    erfinv_slice, erfinv_slice_inplace => erfinv_m | erfinv_near < ERFINV_REACH [in_place];
    gelu_slice, gelu_slice_inplace => gelu_m | gelu_near < GELU_REACH;
    gelu_grad_slice, gelu_grad_slice_inplace => gelu_grad_m | gelu_grad_near < GELU_REACH;
    expm1_slice, expm1_slice_inplace => expm1_m;
    log1p_slice, log1p_slice_inplace => log1p_m;
    sin_fast_slice, sin_fast_slice_inplace => sin_fast_f32;
    cos_fast_slice, cos_fast_slice_inplace => cos_fast_f32;
    tan_fast_slice, tan_fast_slice_inplace => tan_fast_f32 [in_place];
    atan_slice, atan_slice_inplace => atan_m [in_place];
    exp2_slice, exp2_slice_inplace => exp2_m;
    log2_slice, log2_slice_inplace => log2_m;
    log10_slice, log10_slice_inplace => log10_m;
    lgamma_slice, lgamma_slice_inplace => lgamma_m [in_place];
    digamma_slice, digamma_slice_inplace => digamma_m [in_place];
    trigamma_slice, trigamma_slice_inplace => trigamma_m [in_place];
}

/// `out[i] = e^x[i]` (within 2 ulp): on the AVX-512 and AVX2 paths through the
/// register kernels of `vexp` (`scalef` and `roundscale` beat what LLVM makes of the
/// scalar code), else the portable loop.
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
pub fn exp_slice(x: &[f32], out: &mut [f32]) {
    let n = x.len().min(out.len());
    match capability() {
        // SAFETY: `capability()` only answers a level the CPU supports; both slices
        // hold n elements and do not overlap (one is borrowed mutably).
        #[cfg(target_arch = "x86_64")]
        Capability::Avx512 => unsafe { vexp::exp_run512(x.as_ptr(), out.as_mut_ptr(), n) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Capability::Avx2 => unsafe { vexp::exp_run256(x.as_ptr(), out.as_mut_ptr(), n) },
        _ => generic::exp_auto_slice::<Baseline>(x, out),
    }
}

/// In-place `exp_slice`.
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
pub fn exp_slice_inplace(buf: &mut [f32]) {
    let (p, n) = (buf.as_mut_ptr(), buf.len());
    match capability() {
        // SAFETY: `capability()` only answers a level the CPU supports; source and
        // destination are the same n elements (each register is loaded before its
        // lanes are stored).
        #[cfg(target_arch = "x86_64")]
        Capability::Avx512 => unsafe { vexp::exp_run512(p, p, n) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Capability::Avx2 => unsafe { vexp::exp_run256(p, p, n) },
        _ => generic::exp_auto_slice_inplace::<Baseline>(buf),
    }
}

/// The SIMD level the CPU kernels use, chosen once per process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Capability {
    /// Portable code only (baseline x86-64 / any architecture).
    Default = 0,
    /// AVX2 + FMA.
    Avx2 = 1,
    /// AVX-512 F, BW, DQ and VL (with AVX2 + FMA).
    Avx512 = 2,
}

impl Capability {
    /// The name `RTORCH_CPU_CAPABILITY` uses.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Default => "default",
            Capability::Avx2 => "avx2",
            Capability::Avx512 => "avx512",
        }
    }
}

/// The best level this CPU supports.
pub fn hardware_capability() -> Capability {
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        let avx512 = avx2
            && is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl");
        if avx512 {
            return Capability::Avx512;
        }
        if avx2 {
            return Capability::Avx2;
        }
    }
    Capability::Default
}

/// The level in use: the hardware's, lowered by `RTORCH_CPU_CAPABILITY=avx2|default`
/// (read once, at the first kernel call; asking for more than the CPU has, or an
/// unknown name, keeps the hardware's level).
#[inline]
pub fn capability() -> Capability {
    static CAP: std::sync::OnceLock<Capability> = std::sync::OnceLock::new();
    *CAP.get_or_init(|| {
        let hw = hardware_capability();
        let wanted = match std::env::var("RTORCH_CPU_CAPABILITY")
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "default" | "scalar" | "none" => Capability::Default,
            "avx2" => Capability::Avx2,
            _ => Capability::Avx512,
        };
        hw.min(wanted)
    })
}

/// The AVX2 (or better) path is in use.
#[inline]
pub fn has_avx2_fma() -> bool {
    capability() >= Capability::Avx2
}

/// Runs `body` compiled for the widest vector unit in use: it is inlined into a
/// `target_feature` function per level, where LLVM vectorises its loops to that width.
/// Callers mark the closure `#[inline(always)]`: a large body (an inlined `exp`) was
/// otherwise left out of line, compiled for the baseline.
/// The same operations in every width, never contracted (Rust does not fuse `a * b + c`
/// on its own), so the bits do not depend on the level.
#[inline(always)]
pub(crate) fn at_widest_level(body: impl FnOnce()) {
    at_widest_level_fma(
        #[inline(always)]
        |_| body(),
    )
}

/// `at_widest_level` for a body with a form per multiply-add: `body(true)` (take
/// [`Fused`]) on the levels with FMA, `body(false)` ([`Separate`]) on x86-64's
/// baseline, where `mul_add` is a library call ([`Baseline`]: aarch64's has FMA). The flag is a constant in each level's copy, so
/// each keeps only its form; the forms may differ in their last bits.
#[inline(always)]
pub(crate) fn at_widest_level_fma(body: impl FnOnce(bool)) {
    /// # Safety
    /// The CPU has AVX-512 F/BW/DQ/VL, AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
    unsafe fn avx512(body: impl FnOnce(bool)) {
        body(true)
    }
    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2(body: impl FnOnce(bool)) {
        body(true)
    }
    match capability() {
        // SAFETY: `capability()` only answers a level the CPU supports.
        #[cfg(target_arch = "x86_64")]
        Capability::Avx512 => unsafe { avx512(body) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Capability::Avx2 => unsafe { avx2(body) },
        _ => body(Baseline::FUSED),
    }
}

/// The AVX-512 path is in use.
#[inline]
pub fn has_avx512() -> bool {
    capability() >= Capability::Avx512
}

/// e^x on SIMD registers, the algorithm of `exp_f32` with FMA reductions.
#[cfg(target_arch = "x86_64")]
pub(crate) mod vexp {
    use std::arch::x86_64::*;

    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const P: [f32; 6] = [
        1.987_569_1e-4,
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        5.000_000_1e-1,
    ];
    /// Above this, e^x overflows f32.
    const OVER: f32 = 88.722_84;
    /// 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer
    /// (ties to even), which then sits in the sum's low mantissa bits.
    const SHIFTER: f32 = 12_582_912.0;

    /// e^x for 16 lanes: NaN stays NaN, +inf and overflow give +inf, -inf gives 0,
    /// subnormal results are rounded once (`scalef`).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
    pub fn exp512(x: __m512) -> __m512 {
        // max/min return their second operand when one is NaN, so NaN passes through.
        let xc = _mm512_min_ps(
            _mm512_set1_ps(88.8),
            _mm512_max_ps(_mm512_set1_ps(-104.0), x),
        );
        // n = x log2(e) rounded to the nearest integer, ties to even, by the rounding
        // of one multiply-add (|x log2 e| < 2^22): `exp256` computes the same n.
        let n = _mm512_sub_ps(
            _mm512_fmadd_ps(xc, _mm512_set1_ps(LOG2E), _mm512_set1_ps(SHIFTER)),
            _mm512_set1_ps(SHIFTER),
        );
        let y = _mm512_add_ps(exp512_reduced_m1(xc, n), _mm512_set1_ps(1.0));
        let y = _mm512_scalef_ps(y, n);
        let over = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(x, _mm512_set1_ps(OVER));
        _mm512_mask_blend_ps(over, y, _mm512_set1_ps(f32::INFINITY))
    }

    /// `exp512` of four vectors, with one range check for the four: when every lane is
    /// within [-87, 87], the shorter path of `exp256x4` (the same bits as `exp512`).
    /// On a Zen 4, one thread: `torch.exp` of 64K values 0.239 -> 0.212 ns per element,
    /// softmax 4096x1024 23.5 -> 24.4 GB/s.
    ///
    /// # Safety
    /// The CPU has AVX-512 F/BW/DQ/VL, AVX2 and FMA (inlined into callers compiled for
    /// them, as `exp256x4`).
    #[inline(always)]
    pub unsafe fn exp512x4(v: [__m512; 4]) -> [__m512; 4] {
        // |x| as integers, as in `exp256x4`: NaN lanes fail the check.
        let bits = |x| _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fff_ffff));
        let hi = _mm512_max_epi32(
            _mm512_max_epi32(bits(v[0]), bits(v[1])),
            _mm512_max_epi32(bits(v[2]), bits(v[3])),
        );
        if _mm512_cmpgt_epi32_mask(hi, _mm512_set1_epi32(87f32.to_bits() as i32)) != 0 {
            return v.map(|x| exp512(x));
        }
        v.map(|x| exp512_inside(x))
    }

    /// e^x for lanes all within [-87, 87], as `exp256`'s `exp256_inside`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
    fn exp512_inside(x: __m512) -> __m512 {
        let t = _mm512_fmadd_ps(x, _mm512_set1_ps(LOG2E), _mm512_set1_ps(SHIFTER));
        let n = _mm512_sub_ps(t, _mm512_set1_ps(SHIFTER));
        let em1 = exp512_reduced_m1(x, n);
        let pow = _mm512_castsi512_ps(_mm512_add_epi32(
            _mm512_slli_epi32::<23>(_mm512_castps_si512(t)),
            _mm512_set1_epi32(127 << 23),
        ));
        _mm512_fmadd_ps(pow, em1, pow)
    }

    /// e^r - 1 for x = n ln 2 + r, |r| <= ln(2)/2: a degree-5 polynomial in r by
    /// Estrin's scheme (three dependent multiply-adds instead of Horner's five).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
    fn exp512_reduced_m1(x: __m512, n: __m512) -> __m512 {
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), x);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
        let z = _mm512_mul_ps(r, r);
        let q0 = _mm512_fmadd_ps(_mm512_set1_ps(P[0]), r, _mm512_set1_ps(P[1]));
        let q1 = _mm512_fmadd_ps(_mm512_set1_ps(P[2]), r, _mm512_set1_ps(P[3]));
        let q2 = _mm512_fmadd_ps(_mm512_set1_ps(P[4]), r, _mm512_set1_ps(P[5]));
        let p = _mm512_fmadd_ps(_mm512_fmadd_ps(q0, z, q1), z, q2);
        _mm512_fmadd_ps(p, z, r)
    }

    /// `dst[i] = e^src[i]` for `i < n`, 16 lanes at a time, the tail under a mask.
    ///
    /// # Safety
    /// The CPU has AVX-512 F/BW/DQ/VL, AVX2 and FMA; `src` is valid for `n` reads and
    /// `dst` for `n` writes; they are the same pointer or do not overlap.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
    pub unsafe fn exp_run512(src: *const f32, dst: *mut f32, n: usize) {
        let mut i = 0;
        while i + 64 <= n {
            // SAFETY: lanes i..i+64 lie inside both runs; all loaded before any store.
            unsafe {
                let v = [0, 16, 32, 48].map(|k| _mm512_loadu_ps(src.add(i + k)));
                for (k, e) in exp512x4(v).into_iter().enumerate() {
                    _mm512_storeu_ps(dst.add(i + 16 * k), e);
                }
            }
            i += 64;
        }
        while i + 16 <= n {
            // SAFETY: lanes i..i+16 lie inside both runs; loaded before stored.
            unsafe { _mm512_storeu_ps(dst.add(i), exp512(_mm512_loadu_ps(src.add(i)))) };
            i += 16;
        }
        if i < n {
            let mask: __mmask16 = ((1u32 << (n - i)) - 1) as u16;
            // SAFETY: the masked lanes are i..n, inside both runs; masked-off lanes are
            // neither read nor written.
            unsafe {
                let v = _mm512_maskz_loadu_ps(mask, src.add(i));
                _mm512_mask_storeu_ps(dst.add(i), mask, exp512(v));
            }
        }
    }

    /// `dst[i] = e^src[i]` for `i < n`, 8 lanes at a time, the tail through a padded
    /// copy.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA; `src` is valid for `n` reads and `dst` for `n` writes;
    /// they are the same pointer or do not overlap.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn exp_run256(src: *const f32, dst: *mut f32, n: usize) {
        let mut i = 0;
        while i + 32 <= n {
            // SAFETY: lanes i..i+32 lie inside both runs; all loaded before any store.
            unsafe {
                let v = [0, 8, 16, 24].map(|k| _mm256_loadu_ps(src.add(i + k)));
                for (k, e) in exp256x4(v).into_iter().enumerate() {
                    _mm256_storeu_ps(dst.add(i + 8 * k), e);
                }
            }
            i += 32;
        }
        while i + 8 <= n {
            // SAFETY: lanes i..i+8 lie inside both runs; loaded before stored.
            unsafe { _mm256_storeu_ps(dst.add(i), exp256(_mm256_loadu_ps(src.add(i)))) };
            i += 8;
        }
        if i < n {
            let mut tail = [0f32; 8];
            // SAFETY: elements i..n of both runs; the copy is read whole before the
            // results are written back.
            unsafe {
                std::ptr::copy_nonoverlapping(src.add(i), tail.as_mut_ptr(), n - i);
                _mm256_storeu_ps(tail.as_mut_ptr(), exp256(_mm256_loadu_ps(tail.as_ptr())));
                std::ptr::copy_nonoverlapping(tail.as_ptr(), dst.add(i), n - i);
            }
        }
    }

    /// e^x for 8 lanes, the same values as `exp512`.
    ///
    /// When every lane is within [-87, 87] (softmax's shifted inputs nearly always are),
    /// the result and 2^n are normal floats, so [`exp256_inside`] applies.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub fn exp256(x: __m256) -> __m256 {
        let abs = _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff)));
        // NaN compares false and takes the general path.
        let inside = _mm256_cmp_ps::<_CMP_LE_OQ>(abs, _mm256_set1_ps(87.0));
        if _mm256_movemask_ps(inside) != 0xff {
            return exp256_any(x);
        }
        exp256_inside(x)
    }

    /// `exp256` of four vectors, with one range check for the four.
    ///
    /// One vector at a time, the exponential's long dependency chain (about 40 cycles)
    /// fills the out-of-order window before the next vector's independent work can
    /// start; four independent chains per step, with a third of the checks, ran the
    /// exponential pass of float32 softmax rows on a Zen 4 (one thread) at 0.30 ns per
    /// element against 0.42 (softmax 4096x1024 12.1 -> 15.6 GB/s, `torch.exp` of 64K
    /// values 0.43 -> 0.28 ns per element).
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA. (Not a `target_feature` function so that it can be
    /// inlined, as it must be for its four arrays to stay in registers: callers are
    /// compiled for AVX2 and FMA.)
    #[inline(always)]
    pub unsafe fn exp256x4(v: [__m256; 4]) -> [__m256; 4] {
        // |x| as integers: ordered as the floats for every non-NaN value, and a NaN's
        // bits lie above every finite value's (and 87's), so NaN lanes fail the check.
        let bits = |x| _mm256_and_si256(_mm256_castps_si256(x), _mm256_set1_epi32(0x7fff_ffff));
        let hi = _mm256_max_epi32(
            _mm256_max_epi32(bits(v[0]), bits(v[1])),
            _mm256_max_epi32(bits(v[2]), bits(v[3])),
        );
        let outside = _mm256_cmpgt_epi32(hi, _mm256_set1_epi32(87f32.to_bits() as i32));
        if _mm256_testz_si256(outside, outside) == 0 {
            return v.map(|x| exp256(x));
        }
        v.map(|x| exp256_inside(x))
    }

    /// e^x for lanes all within [-87, 87]: no clamping, no overflow blend, 2^n (a
    /// normal float for n in [-126, 126]) built from the bits of the rounding sum that
    /// gave n, and the scaling folded into the last multiply-add. Scaling by a power of
    /// two is exact here, so `pow * (e^r - 1) + pow` rounds once to the general path's
    /// `(e^r - 1 + 1) * 2^n`: the same bits.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn exp256_inside(x: __m256) -> __m256 {
        let t = _mm256_fmadd_ps(x, _mm256_set1_ps(LOG2E), _mm256_set1_ps(SHIFTER));
        let n = _mm256_sub_ps(t, _mm256_set1_ps(SHIFTER));
        let em1 = exp256_reduced_m1(x, n);
        // t's low bits hold n (two's complement); shifted into the exponent field and
        // biased, they are 2^n.
        let pow = _mm256_castsi256_ps(_mm256_add_epi32(
            _mm256_slli_epi32::<23>(_mm256_castps_si256(t)),
            _mm256_set1_epi32(127 << 23),
        ));
        _mm256_fmadd_ps(pow, em1, pow)
    }

    /// e^r - 1 for x = n ln 2 + r, |r| <= ln(2)/2 (`exp512`'s reduction and polynomial,
    /// Estrin's scheme).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn exp256_reduced_m1(x: __m256, n: __m256) -> __m256 {
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), x);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
        let z = _mm256_mul_ps(r, r);
        let q0 = _mm256_fmadd_ps(_mm256_set1_ps(P[0]), r, _mm256_set1_ps(P[1]));
        let q1 = _mm256_fmadd_ps(_mm256_set1_ps(P[2]), r, _mm256_set1_ps(P[3]));
        let q2 = _mm256_fmadd_ps(_mm256_set1_ps(P[4]), r, _mm256_set1_ps(P[5]));
        let p = _mm256_fmadd_ps(_mm256_fmadd_ps(q0, z, q1), z, q2);
        _mm256_fmadd_ps(p, z, r)
    }

    /// `exp256` for any input: clamped, 2^n applied in two exact steps (for subnormal
    /// results and n = 128), overflow to +inf.
    #[inline(never)]
    #[target_feature(enable = "avx2,fma")]
    fn exp256_any(x: __m256) -> __m256 {
        let xc = _mm256_min_ps(
            _mm256_set1_ps(88.8),
            _mm256_max_ps(_mm256_set1_ps(-104.0), x),
        );
        let n = _mm256_sub_ps(
            _mm256_fmadd_ps(xc, _mm256_set1_ps(LOG2E), _mm256_set1_ps(SHIFTER)),
            _mm256_set1_ps(SHIFTER),
        );
        let y = _mm256_add_ps(exp256_reduced_m1(xc, n), _mm256_set1_ps(1.0));
        // n in [-150, 128] (NaN converts to i32::MIN, harmless: y is NaN): both halves
        // are normal powers of two.
        let ni = _mm256_cvtps_epi32(n);
        let n1 = _mm256_srai_epi32::<1>(ni);
        let n2 = _mm256_sub_epi32(ni, n1);
        let bias = _mm256_set1_epi32(127);
        let p1 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(n1, bias)));
        let p2 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(n2, bias)));
        let y = _mm256_mul_ps(_mm256_mul_ps(y, p1), p2);
        let over = _mm256_cmp_ps::<_CMP_GT_OQ>(x, _mm256_set1_ps(OVER));
        _mm256_blendv_ps(y, _mm256_set1_ps(f32::INFINITY), over)
    }
}

/// erf in f64 (FreeBSD's s_erf.c, as ported by the `libm` crate).
pub fn erf(x: f64) -> f64 {
    erf_impl::erf_f64(x)
}

/// erfc in f64, accurate in the tail (no cancellation).
pub fn erfc(x: f64) -> f64 {
    erf_impl::erfc_f64(x)
}

// erfinv(a) / a as polynomials in Giles' w = -ln((1 - a)(1 + a)), mapped to [-1, 1]
// (scripts/fit_erfinv_coefficients.py): in w itself below 5, in sqrt(w) from 5 to 16.
const ERFINV_CENTRAL_A: f64 = 0.4;
const ERFINV_CENTRAL_B: f64 = 1.0;
const ERFINV_CENTRAL: [f64; 13] = [
    1.5014093511364244,
    0.6166006919776644,
    -0.026108238184895008,
    -0.019573564003925615,
    0.008525438005552192,
    -0.0004878784814169028,
    -0.0008343509374592822,
    0.0002921413150056954,
    2.1073958025838463e-05,
    -4.140675017973269e-05,
    7.778638319827951e-06,
    2.933672872581474e-06,
    -1.2094621605122933e-06,
];
const ERFINV_TAIL_A: f64 = 1.1338305413635983;
const ERFINV_TAIL_B: f64 = 3.5353221654543927;
const ERFINV_TAIL: [f64; 13] = [
    2.951328578337045,
    0.8851584862823381,
    0.00556933482537664,
    -0.0037101906460288536,
    0.0023495525865349382,
    -0.0013725637915109163,
    0.000600893127041347,
    -0.00013604233170248087,
    -3.61020654713604e-05,
    4.85644532001862e-05,
    -1.665418689446778e-05,
    -2.735198197944018e-06,
    2.676611498463784e-06,
];

/// erfinv(y) for an f32 within 0.51 ulp (every float32 checked), branch-free (one body
/// vectorises at every SIMD level), in f64: a P(w) with a = |y|, w = -ln((1 - a)(1 + a))
/// (both factors exact, their product one rounding: an absolute error of 2^-53 in w, which
/// moves P by less than 2^-55 of itself) and P one of two degree-12 fits within 3e-10
/// relative of erfinv(a) / a ([`ERFINV_CENTRAL`], [`ERFINV_TAIL`]). One logarithm, one
/// square root and two polynomials: a third of the work of a first guess refined by a
/// Newton step on erf. +-1 give +-inf, |y| > 1 and NaN give NaN.
#[inline(always)]
pub fn erfinv_f32(y: f32) -> f32 {
    erfinv_m::<Separate>(y)
}

/// [`erfinv_f32`] with `M`'s multiply-add (the FMA paths: `erfinv_slice`).
#[inline(always)]
fn erfinv_m<M: MulAdd>(y: f32) -> f32 {
    let a = (y as f64).abs();
    let inside = a < 1.0;
    let w = -ln_f64_positive_m::<M>(if inside { (1.0 - a) * (1.0 + a) } else { 1.0 });
    let t = M::mad64(w.sqrt(), ERFINV_TAIL_A, -ERFINV_TAIL_B);
    let tail = estrin::<M, 13>(&ERFINV_TAIL, t);
    let x = (if w < 5.0 {
        erfinv_central::<M>(w)
    } else {
        tail
    }) * a;
    let x = if inside {
        x
    } else if a == 1.0 {
        f64::INFINITY
    } else {
        f64::NAN
    };
    (x as f32).copysign(y)
}

/// erfinv(a) / a for w < 5.
#[inline(always)]
fn erfinv_central<M: MulAdd>(w: f64) -> f64 {
    let t = M::mad64(w, ERFINV_CENTRAL_A, -ERFINV_CENTRAL_B);
    estrin::<M, 13>(&ERFINV_CENTRAL, t)
}

/// Where `erfinv_near` holds: |y| < 0.99 has w < 3.92, inside the central polynomial's
/// range.
const ERFINV_REACH: f32 = 0.99;

/// `erfinv_m::<Fused>` for |y| < [`ERFINV_REACH`] with the same bits, without the tail's
/// square root and polynomial (`by_reach`; most values of the usual uses, truncated
/// normal sampling among them, are there).
#[inline(always)]
fn erfinv_near(y: f32) -> f32 {
    let a = (y as f64).abs();
    let w = -ln_f64_positive_m::<Fused>((1.0 - a) * (1.0 + a));
    ((erfinv_central::<Fused>(w) * a) as f32).copysign(y)
}

/// Inverse error function: a rational first guess refined by two Newton steps.
pub fn erfinv(y: f64) -> f64 {
    if y.is_nan() || !(-1.0..=1.0).contains(&y) {
        return f64::NAN;
    }
    if y == 1.0 {
        return f64::INFINITY;
    }
    if y == -1.0 {
        return f64::NEG_INFINITY;
    }
    // Giles' single-precision approximation as the start.
    let w = -((1.0 - y) * (1.0 + y)).ln();
    let mut x = if w < 5.0 {
        let w = w - 2.5;
        let mut p = 2.810_226_36e-08;
        p = 3.432_739_39e-07 + p * w;
        p = -3.523_387_7e-06 + p * w;
        p = -4.391_506_54e-06 + p * w;
        p = 0.000_218_580_87 + p * w;
        p = -0.001_253_725_03 + p * w;
        p = -0.004_177_681_64 + p * w;
        p = 0.246_640_727 + p * w;
        p = 1.501_409_41 + p * w;
        p * y
    } else {
        let w = w.sqrt() - 3.0;
        let mut p = -0.000_200_214_257;
        p = 0.000_100_950_558 + p * w;
        p = 0.001_349_343_22 + p * w;
        p = -0.003_673_428_44 + p * w;
        p = 0.005_739_507_73 + p * w;
        p = -0.007_622_461_3 + p * w;
        p = 0.009_438_870_47 + p * w;
        p = 1.001_674_06 + p * w;
        p = 2.832_976_82 + p * w;
        p * y
    };
    // Newton on erf(x) - y; d/dx erf = 2/sqrt(pi) e^{-x^2}.
    for _ in 0..2 {
        let err = erf(x) - y;
        x -= err / (std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp());
    }
    x
}

#[allow(clippy::needless_late_init, clippy::excessive_precision)]
mod erf_impl {
    //! FreeBSD /usr/src/lib/msun/src/s_erf.c, via the `libm` crate (MIT).
    //!
    //! Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
    //! Developed at SunPro, a Sun Microsystems, Inc. business.
    //! Permission to use, copy, modify, and distribute this
    //! software is freely granted, provided that this notice
    //! is preserved.

    fn get_high_word(x: f64) -> u32 {
        (x.to_bits() >> 32) as u32
    }

    fn with_set_low_word(f: f64, lo: u32) -> f64 {
        f64::from_bits((f.to_bits() & 0xffff_ffff_0000_0000) | lo as u64)
    }

    const ERX: f64 = 8.45062911510467529297e-01;
    /*
     * Coefficients for approximation to  erf on [0,0.84375]
     */
    const EFX8: f64 = 1.02703333676410069053e+00;
    const PP0: f64 = 1.28379167095512558561e-01;
    const PP1: f64 = -3.25042107247001499370e-01;
    const PP2: f64 = -2.84817495755985104766e-02;
    const PP3: f64 = -5.77027029648944159157e-03;
    const PP4: f64 = -2.37630166566501626084e-05;
    const QQ1: f64 = 3.97917223959155352819e-01;
    const QQ2: f64 = 6.50222499887672944485e-02;
    const QQ3: f64 = 5.08130628187576562776e-03;
    const QQ4: f64 = 1.32494738004321644526e-04;
    const QQ5: f64 = -3.96022827877536812320e-06;
    /*
     * Coefficients for approximation to  erf  in [0.84375,1.25]
     */
    const PA0: f64 = -2.36211856075265944077e-03;
    const PA1: f64 = 4.14856118683748331666e-01;
    const PA2: f64 = -3.72207876035701323847e-01;
    const PA3: f64 = 3.18346619901161753674e-01;
    const PA4: f64 = -1.10894694282396677476e-01;
    const PA5: f64 = 3.54783043256182359371e-02;
    const PA6: f64 = -2.16637559486879084300e-03;
    const QA1: f64 = 1.06420880400844228286e-01;
    const QA2: f64 = 5.40397917702171048937e-01;
    const QA3: f64 = 7.18286544141962662868e-02;
    const QA4: f64 = 1.26171219808761642112e-01;
    const QA5: f64 = 1.36370839120290507362e-02;
    const QA6: f64 = 1.19844998467991074170e-02;
    /*
     * Coefficients for approximation to  erfc in [1.25,1/0.35]
     */
    const RA0: f64 = -9.86494403484714822705e-03;
    const RA1: f64 = -6.93858572707181764372e-01;
    const RA2: f64 = -1.05586262253232909814e+01;
    const RA3: f64 = -6.23753324503260060396e+01;
    const RA4: f64 = -1.62396669462573470355e+02;
    const RA5: f64 = -1.84605092906711035994e+02;
    const RA6: f64 = -8.12874355063065934246e+01;
    const RA7: f64 = -9.81432934416914548592e+00;
    const SA1: f64 = 1.96512716674392571292e+01;
    const SA2: f64 = 1.37657754143519042600e+02;
    const SA3: f64 = 4.34565877475229228821e+02;
    const SA4: f64 = 6.45387271733267880336e+02;
    const SA5: f64 = 4.29008140027567833386e+02;
    const SA6: f64 = 1.08635005541779435134e+02;
    const SA7: f64 = 6.57024977031928170135e+00;
    const SA8: f64 = -6.04244152148580987438e-02;
    /*
     * Coefficients for approximation to  erfc in [1/.35,28]
     */
    const RB0: f64 = -9.86494292470009928597e-03;
    const RB1: f64 = -7.99283237680523006574e-01;
    const RB2: f64 = -1.77579549177547519889e+01;
    const RB3: f64 = -1.60636384855821916062e+02;
    const RB4: f64 = -6.37566443368389627722e+02;
    const RB5: f64 = -1.02509513161107724954e+03;
    const RB6: f64 = -4.83519191608651397019e+02;
    const SB1: f64 = 3.03380607434824582924e+01;
    const SB2: f64 = 3.25792512996573918826e+02;
    const SB3: f64 = 1.53672958608443695994e+03;
    const SB4: f64 = 3.19985821950859553908e+03;
    const SB5: f64 = 2.55305040643316442583e+03;
    const SB6: f64 = 4.74528541206955367215e+02;
    const SB7: f64 = -2.24409524465858183362e+01;

    fn erfc1(x: f64) -> f64 {
        let s: f64;
        let p: f64;
        let q: f64;

        s = x.abs() - 1.0;
        p = PA0 + s * (PA1 + s * (PA2 + s * (PA3 + s * (PA4 + s * (PA5 + s * PA6)))));
        q = 1.0 + s * (QA1 + s * (QA2 + s * (QA3 + s * (QA4 + s * (QA5 + s * QA6)))));

        1.0 - ERX - p / q
    }

    fn erfc2(ix: u32, mut x: f64) -> f64 {
        let s: f64;
        let r: f64;
        let big_s: f64;
        let z: f64;

        if ix < 0x3ff40000 {
            /* |x| < 1.25 */
            return erfc1(x);
        }

        x = x.abs();
        s = 1.0 / (x * x);
        if ix < 0x4006db6d {
            /* |x| < 1/.35 ~ 2.85714 */
            r = RA0
                + s * (RA1 + s * (RA2 + s * (RA3 + s * (RA4 + s * (RA5 + s * (RA6 + s * RA7))))));
            big_s = 1.0
                + s * (SA1
                    + s * (SA2
                        + s * (SA3 + s * (SA4 + s * (SA5 + s * (SA6 + s * (SA7 + s * SA8)))))));
        } else {
            /* |x| > 1/.35 */
            r = RB0 + s * (RB1 + s * (RB2 + s * (RB3 + s * (RB4 + s * (RB5 + s * RB6)))));
            big_s = 1.0
                + s * (SB1 + s * (SB2 + s * (SB3 + s * (SB4 + s * (SB5 + s * (SB6 + s * SB7))))));
        }
        z = with_set_low_word(x, 0);

        (-z * z - 0.5625).exp() * ((z - x) * (z + x) + r / big_s).exp() / x
    }

    /// Error function (f64)
    ///
    /// Calculates an approximation to the “error function”, which estimates
    /// the probability that an observation will fall within x standard
    /// deviations of the mean (assuming a normal distribution).
    pub fn erf_f64(x: f64) -> f64 {
        let r: f64;
        let s: f64;
        let z: f64;
        let y: f64;
        let mut ix: u32;
        let sign: usize;

        ix = get_high_word(x);
        sign = (ix >> 31) as usize;
        ix &= 0x7fffffff;
        if ix >= 0x7ff00000 {
            /* erf(nan)=nan, erf(+-inf)=+-1 */
            return 1.0 - 2.0 * (sign as f64) + 1.0 / x;
        }
        if ix < 0x3feb0000 {
            /* |x| < 0.84375 */
            if ix < 0x3e300000 {
                /* |x| < 2**-28 */
                /* avoid underflow */
                return 0.125 * (8.0 * x + EFX8 * x);
            }
            z = x * x;
            r = PP0 + z * (PP1 + z * (PP2 + z * (PP3 + z * PP4)));
            s = 1.0 + z * (QQ1 + z * (QQ2 + z * (QQ3 + z * (QQ4 + z * QQ5))));
            y = r / s;
            return x + x * y;
        }
        if ix < 0x40180000 {
            /* 0.84375 <= |x| < 6 */
            y = 1.0 - erfc2(ix, x);
        } else {
            let x1p_1022 = f64::from_bits(0x0010000000000000);
            y = 1.0 - x1p_1022;
        }

        if sign != 0 {
            -y
        } else {
            y
        }
    }

    /// Complementary error function (f64)
    ///
    /// Calculates the complementary probability.
    /// Is `1 - erf(x)`. Is computed directly, so that you can use it to avoid
    /// the loss of precision that would result from subtracting
    /// large probabilities (on large `x`) from 1.
    pub fn erfc_f64(x: f64) -> f64 {
        let r: f64;
        let s: f64;
        let z: f64;
        let y: f64;
        let mut ix: u32;
        let sign: usize;

        ix = get_high_word(x);
        sign = (ix >> 31) as usize;
        ix &= 0x7fffffff;
        if ix >= 0x7ff00000 {
            /* erfc(nan)=nan, erfc(+-inf)=0,2 */
            return 2.0 * (sign as f64) + 1.0 / x;
        }
        if ix < 0x3feb0000 {
            /* |x| < 0.84375 */
            if ix < 0x3c700000 {
                /* |x| < 2**-56 */
                return 1.0 - x;
            }
            z = x * x;
            r = PP0 + z * (PP1 + z * (PP2 + z * (PP3 + z * PP4)));
            s = 1.0 + z * (QQ1 + z * (QQ2 + z * (QQ3 + z * (QQ4 + z * QQ5))));
            y = r / s;
            if sign != 0 || ix < 0x3fd00000 {
                /* x < 1/4 */
                return 1.0 - (x + x * y);
            }
            return 0.5 - (x - 0.5 + x * y);
        }
        if ix < 0x403c0000 {
            /* 0.84375 <= |x| < 28 */
            if sign != 0 {
                return 2.0 - erfc2(ix, x);
            } else {
                return erfc2(ix, x);
            }
        }

        let x1p_1022 = f64::from_bits(0x0010000000000000);
        if sign != 0 {
            2.0 - x1p_1022
        } else {
            x1p_1022 * x1p_1022
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f32, b: f64) -> f64 {
        let b32 = b as f32;
        if a == b32 || (a.is_nan() && b.is_nan()) {
            return 0.0;
        }
        // Results below the smallest normal are measured in units of that normal: a
        // kernel may flush them to zero, as PyTorch's sigmoid does below x = -88.7.
        let ulp = (f32::from_bits(b32.abs().to_bits() + 1) - b32.abs()).max(f32::MIN_POSITIVE);
        ((a as f64 - b) / ulp as f64).abs()
    }

    fn sweep(f: impl Fn(f32) -> f32, r: impl Fn(f64) -> f64, lo: f32, hi: f32) -> f64 {
        let mut worst: f64 = 0.0;
        let n = 200_000;
        for i in 0..=n {
            let x = lo + (hi - lo) * (i as f32 / n as f32);
            let e = ulps(f(x), r(x as f64));
            worst = worst.max(e);
        }
        worst
    }

    #[test]
    fn exp_accuracy() {
        assert!(sweep(exp_f32, f64::exp, -87.0, 88.7) <= 2.0);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert_eq!(exp_f32(0.0), 1.0);
        assert!(exp_f32(f32::NAN).is_nan());
        // Subnormal results.
        let v = exp_f32(-100.0) as f64;
        assert!((v - (-100f64).exp()).abs() <= 2e-45);
    }

    #[test]
    fn log_accuracy() {
        assert!(sweep(log_f32, f64::ln, 1e-6, 10.0) <= 2.0);
        assert!(sweep(log_f32, f64::ln, 10.0, 1e30) <= 2.0);
        assert_eq!(log_f32(0.0), f32::NEG_INFINITY);
        assert!(log_f32(-1.0).is_nan());
        assert_eq!(log_f32(f32::INFINITY), f32::INFINITY);
        assert!(ulps(log_f32(1e-40), (1e-40f32 as f64).ln()) <= 2.0);
        assert_eq!(log_f32(1.0), 0.0);
    }

    #[test]
    fn tanh_sigmoid_accuracy() {
        assert!(sweep(tanh_f32, f64::tanh, -12.0, 12.0) <= 3.0);
        // Without cancellation on either side, so the reference is good to f64 precision.
        let sig = |x: f64| {
            let e = (-x.abs()).exp();
            if x < 0.0 {
                e / (1.0 + e)
            } else {
                1.0 / (1.0 + e)
            }
        };
        // Near -16.6 the f32 formula 1 / (1 + e^-x) was 2.5 ulp off; this is 0.52 at most.
        assert!(sweep(sigmoid_f32, sig, -104.0, 20.0) <= 0.6);
        assert!(sweep(sigmoid_f32, sig, -17.0, -16.0) <= 0.6);
        assert_eq!(sigmoid_f32(f32::INFINITY), 1.0);
        assert_eq!(sigmoid_f32(-200.0), 0.0);
        assert!(sigmoid_f32(f32::NAN).is_nan());
        assert_eq!(tanh_f32(f32::INFINITY), 1.0);
        assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
        assert!(tanh_f32(-0.0).is_sign_negative() && tanh_f32(0.0).is_sign_positive());
        assert_eq!(sigmoid_f32(f32::NEG_INFINITY), 0.0);
    }

    /// The portable path is the scalar functions, bit for bit (the FMA paths round
    /// differently: `every_path_dense_sweeps` bounds them).
    #[test]
    fn portable_slices_match_their_scalar_form() {
        // The portable path's form (`Baseline`): on x86-64 that of the scalar functions.
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.05).collect();
        let scalar: [fn(f32) -> f32; 8] = [
            exp_m::<Baseline>,
            log_m::<Baseline>,
            tanh_m::<Baseline>,
            sigmoid_m::<Baseline>,
            silu_m::<Baseline>,
            erf_m::<Baseline>,
            erfc_m::<Baseline>,
            gelu_m::<Baseline>,
        ];
        let slices = paths().swap_remove(0).1;
        for (f, s) in scalar.iter().zip(slices) {
            let mut out = vec![0.0; x.len()];
            s(&x, &mut out);
            for (o, v) in out.iter().zip(&x) {
                assert_eq!(o.to_bits(), f(*v).to_bits(), "{v}");
            }
        }
        let mut buf = x.clone();
        portable::tanh_slice_inplace(&mut buf);
        for (o, v) in buf.iter().zip(&x) {
            assert_eq!(o.to_bits(), tanh_m::<Baseline>(*v).to_bits());
        }
    }

    /// The register exp kernels on every length around their vector widths (masked and
    /// padded tails), in place and not, leaving the elements past the run alone.
    #[test]
    fn exp_runs_every_length_in_place_and_not() {
        #[cfg(target_arch = "x86_64")]
        {
            let hw = hardware_capability();
            type Run = unsafe fn(*const f32, *mut f32, usize);
            let mut runs: Vec<Run> = Vec::new();
            if hw >= Capability::Avx2 {
                runs.push(vexp::exp_run256);
            }
            if hw >= Capability::Avx512 {
                runs.push(vexp::exp_run512);
            }
            for run in runs {
                for n in 0..40 {
                    let x: Vec<f32> = (0..n).map(|i| (i as f32 * 2.7 - 50.0) * 1.3).collect();
                    let mut out = vec![7.0f32; n + 3];
                    let mut buf = x.clone();
                    buf.extend([7.0; 3]);
                    // SAFETY: the CPU has the run's features (checked above); `x` holds n
                    // elements, `out` and `buf` n + 3.
                    unsafe {
                        run(x.as_ptr(), out.as_mut_ptr(), n);
                        run(buf.as_ptr(), buf.as_mut_ptr(), n);
                    }
                    for i in 0..n {
                        assert!(ulps(out[i], (x[i] as f64).exp()) <= 2.0, "{n} {i}");
                        assert_eq!(out[i].to_bits(), buf[i].to_bits());
                    }
                    assert_eq!((&out[n..], &buf[n..]), (&[7.0; 3][..], &[7.0; 3][..]));
                }
            }
        }
    }

    /// Each path's kernels over dense grids where the functions change, with the
    /// scalar functions' bounds (the bit sweep covers the whole range more sparsely).
    #[test]
    fn every_path_dense_sweeps() {
        // (kernel index in KERNELS, lo, hi, worst ulp allowed)
        let ranges: [(usize, f32, f32, f64); 34] = [
            (0, -87.0, 88.7, 2.0),
            (1, 1e-6, 10.0, 2.0),
            (1, 10.0, 1e30, 2.0),
            (2, -12.0, 12.0, 3.0),
            (3, -104.0, 20.0, 1.05),
            (4, -110.0, 30.0, 1.1),
            (5, -6.0, 6.0, 1.5),
            (5, -1e-3, 1e-3, 1.5),
            (5, 0.8, 1.0, 1.5),
            (6, -6.0, 11.0, 0.6),
            (7, -15.0, 8.0, 2.0),
            (7, -3.0, 3.0, 2.0),
            (8, -1e3, 1e3, 0.85),
            (9, -7.0, 7.0, 0.85),
            (10, -20.0, 89.0, 1.05),
            (10, -1.0, 1.0, 1.05),
            (10, -1e-4, 1e-4, 1.05),
            (11, -0.999_99, 20.0, 2.0),
            (11, -1e-3, 1e-3, 2.0),
            (12, -1e3, 1e3, 1.1),
            (12, -1.6, 1.6, 1.1),
            (12, 1.5, 1.64, 1.1),
            (13, -3.0, 3.0, 0.51),
            (13, 0.9, 1.1, 0.51),
            (13, -1e6, 1e6, 0.51),
            (14, -151.0, 129.0, 1.1),
            (14, -1.0, 1.0, 1.1),
            (15, 1e-6, 10.0, 1.1),
            (15, 0.7, 1.5, 1.1),
            (16, 1e-6, 10.0, 1.0),
            (16, 0.7, 1.5, 1.0),
            (20, -1.0, 1.0, 0.51),
            (20, 0.99, 1.0, 0.51),
            (20, -1e-3, 1e-3, 0.51),
        ];
        let n = 200_000;
        for (path, fns) in paths() {
            for &(i, lo, hi, bound) in &ranges {
                let x: Vec<f32> = (0..=n)
                    .map(|j| lo + (hi - lo) * (j as f32 / n as f32))
                    .collect();
                let mut out = vec![0f32; x.len()];
                fns[i](&x, &mut out);
                let (name, r) = KERNELS[i];
                let worst = x
                    .iter()
                    .zip(&out)
                    .map(|(&v, &o)| ulps(o, r(v as f64)))
                    .fold(0.0, f64::max);
                assert!(worst <= bound, "{path} {name} [{lo}, {hi}]: {worst} ulp");
            }
        }
    }

    type SliceFn = fn(&[f32], &mut [f32]);

    /// The slice kernels of one path, in the order of `KERNELS`.
    type Path = (&'static str, [SliceFn; 21]);

    /// Each kernel's name and float64 reference (without cancellation where the kernel
    /// has none: erfc's tail, gelu for negative x).
    type Reference = (&'static str, fn(f64) -> f64);
    const KERNELS: [Reference; 21] = [
        ("exp", f64::exp),
        ("log", f64::ln),
        ("tanh", f64::tanh),
        ("sigmoid", |x| 1.0 / (1.0 + (-x).exp())),
        ("silu", |x| x / (1.0 + (-x).exp())),
        ("erf", erf),
        ("erfc", erfc),
        ("gelu", |x| {
            0.5 * x * erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
        }),
        ("sin", f64::sin),
        ("cos", f64::cos),
        ("expm1", f64::exp_m1),
        ("log1p", f64::ln_1p),
        ("tan", f64::tan),
        ("atan", f64::atan),
        ("exp2", f64::exp2),
        ("log2", f64::log2),
        ("log10", f64::log10),
        ("lgamma", crate::cpu::gamma::lgamma),
        ("digamma", crate::cpu::gamma::digamma),
        ("trigamma", crate::cpu::gamma::trigamma),
        ("erfinv", erfinv),
    ];

    #[cfg(target_arch = "x86_64")]
    macro_rules! path {
        ($name:literal, $m:ident, $exp:expr) => {
            // SAFETY (each): the caller checked that the CPU has this path's features.
            (
                $name,
                [
                    $exp,
                    |x, o| unsafe { $m::log_slice(x, o) },
                    |x, o| unsafe { $m::tanh_slice(x, o) },
                    |x, o| unsafe { $m::sigmoid_slice(x, o) },
                    |x, o| unsafe { $m::silu_slice(x, o) },
                    |x, o| unsafe { $m::erf_slice(x, o) },
                    |x, o| unsafe { $m::erfc_slice(x, o) },
                    |x, o| unsafe { $m::gelu_slice(x, o) },
                    |x, o| {
                        unsafe { $m::sin_fast_slice(x, o) };
                        trig_fix_up(x, o, f64::sin)
                    },
                    |x, o| {
                        unsafe { $m::cos_fast_slice(x, o) };
                        trig_fix_up(x, o, f64::cos)
                    },
                    |x, o| unsafe { $m::expm1_slice(x, o) },
                    |x, o| unsafe { $m::log1p_slice(x, o) },
                    |x, o| {
                        unsafe { $m::tan_fast_slice(x, o) };
                        trig_fix_up(x, o, f64::tan)
                    },
                    |x, o| unsafe { $m::atan_slice(x, o) },
                    |x, o| unsafe { $m::exp2_slice(x, o) },
                    |x, o| unsafe { $m::log2_slice(x, o) },
                    |x, o| unsafe { $m::log10_slice(x, o) },
                    |x, o| unsafe { $m::lgamma_slice(x, o) },
                    |x, o| unsafe { $m::digamma_slice(x, o) },
                    |x, o| unsafe { $m::trigamma_slice(x, o) },
                    |x, o| unsafe { $m::erfinv_slice(x, o) },
                ],
            )
        };
    }

    /// Values in blocks that take the near forms (`by_reach`) and in blocks that do
    /// not (a far value, a special one or a long tail among near ones), in a fixed
    /// shuffle, with the reaches' bounds and the floats next to them; most values in
    /// (-spread / 2, spread / 2).
    fn mixed_inputs(spread: f32) -> Vec<f32> {
        let mut state = 0x2545_f491_u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let bounds = [GELU_REACH, SIGMOID_REACH, ERFINV_REACH, 0.5];
        (0..8209)
            .map(|i| {
                let r = next();
                let u = (r >> 8) as f32 / (1 << 24) as f32;
                let sign = [1.0, -1.0][i % 2];
                match r % 101 {
                    0 => [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0][i % 4],
                    1..=3 => (u - 0.5) * 40.0,
                    4..=5 => (u - 0.5) * 400.0,
                    6 => sign * bounds[i % 4],
                    7 => sign * f32::from_bits(bounds[i % 4].to_bits() - 1),
                    _ => (u - 0.5) * spread,
                }
            })
            .collect()
    }

    /// The block kernels (`by_reach`) give, on every FMA path of this CPU, out of
    /// place and in place, the bits of the general form for every value, whichever
    /// form its block took.
    #[test]
    fn reach_blocks_give_the_general_forms_bits_on_every_path() {
        type Slice = unsafe fn(&[f32], &mut [f32]);
        type InPlace = unsafe fn(&mut [f32]);
        type Kernels = [(&'static str, Slice, InPlace, fn(f32) -> f32, f32); 5];
        #[allow(unused_mut)]
        let mut paths: Vec<(&str, Kernels)> = Vec::new();
        #[cfg(target_arch = "x86_64")]
        macro_rules! kernels {
            ($m:ident) => {
                [
                    (
                        "gelu",
                        $m::gelu_slice,
                        $m::gelu_slice_inplace,
                        gelu_m::<Fused>,
                        4.99,
                    ),
                    (
                        "gelu'",
                        $m::gelu_grad_slice,
                        $m::gelu_grad_slice_inplace,
                        gelu_grad_m::<Fused>,
                        4.99,
                    ),
                    (
                        "sigmoid",
                        $m::sigmoid_slice,
                        $m::sigmoid_slice_inplace,
                        sigmoid_m::<Fused>,
                        4.99,
                    ),
                    (
                        "silu",
                        $m::silu_slice,
                        $m::silu_slice_inplace,
                        silu_m::<Fused>,
                        4.99,
                    ),
                    (
                        "erfinv",
                        $m::erfinv_slice,
                        $m::erfinv_slice_inplace,
                        erfinv_m::<Fused>,
                        1.99,
                    ),
                ]
            };
        }
        #[cfg(target_arch = "x86_64")]
        {
            let hw = hardware_capability();
            if hw >= Capability::Avx2 {
                paths.push(("avx2", kernels!(avx2)));
            }
            if hw >= Capability::Avx512 {
                paths.push(("avx512", kernels!(avx512)));
            }
        }
        for (path, kernels) in paths {
            for (name, slice, inplace, general, spread) in kernels {
                let x = mixed_inputs(spread);
                for len in [0, 1, 15, 16, 17, 33, x.len()] {
                    let x = &x[..len];
                    let mut out = vec![0f32; len];
                    // SAFETY: the path is one this CPU supports (checked above).
                    unsafe { slice(x, &mut out) };
                    let mut buf = x.to_vec();
                    // SAFETY: as above.
                    unsafe { inplace(&mut buf) };
                    for (i, &v) in x.iter().enumerate() {
                        let want = general(v).to_bits();
                        assert_eq!(out[i].to_bits(), want, "{path} {name} x={v:e} len {len}");
                        assert_eq!(buf[i].to_bits(), want, "{path} {name} in place x={v:e}");
                    }
                }
            }
        }
    }

    /// Every path this CPU has.
    fn paths() -> Vec<Path> {
        #[allow(unused_mut)] // (only x86_64 adds paths)
        let mut v: Vec<Path> = vec![(
            "default",
            [
                portable::exp_auto_slice,
                portable::log_slice,
                portable::tanh_slice,
                portable::sigmoid_slice,
                portable::silu_slice,
                portable::erf_slice,
                portable::erfc_slice,
                portable::gelu_slice,
                |x, o| {
                    portable::sin_fast_slice(x, o);
                    trig_fix_up(x, o, f64::sin)
                },
                |x, o| {
                    portable::cos_fast_slice(x, o);
                    trig_fix_up(x, o, f64::cos)
                },
                portable::expm1_slice,
                portable::log1p_slice,
                |x, o| {
                    portable::tan_fast_slice(x, o);
                    trig_fix_up(x, o, f64::tan)
                },
                portable::atan_slice,
                portable::exp2_slice,
                portable::log2_slice,
                portable::log10_slice,
                portable::lgamma_slice,
                portable::digamma_slice,
                portable::trigamma_slice,
                portable::erfinv_slice,
            ],
        )];
        #[cfg(target_arch = "x86_64")]
        {
            let hw = hardware_capability();
            if hw >= Capability::Avx2 {
                v.push(path!("avx2", avx2, |x, o| unsafe {
                    vexp::exp_run256(x.as_ptr(), o.as_mut_ptr(), x.len().min(o.len()))
                }));
            }
            if hw >= Capability::Avx512 {
                v.push(path!("avx512", avx512, |x, o| unsafe {
                    vexp::exp_run512(x.as_ptr(), o.as_mut_ptr(), x.len().min(o.len()))
                }));
            }
        }
        v
    }

    /// Worst ulp error of `f` over every 4099th f32 bit pattern (both signs, zeros,
    /// subnormals, huge values, inf, nan) against a float64 reference.
    fn bit_sweep(f: SliceFn, r: fn(f64) -> f64) -> (f64, f32) {
        let x: Vec<f32> = (0..=u32::MAX)
            .step_by(4099)
            .map(f32::from_bits)
            .chain([
                0.0,
                -0.0,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NAN,
                88.722_84,
                -104.0,
            ])
            .collect();
        let mut out = vec![0f32; x.len()];
        f(&x, &mut out);
        let mut worst = (0.0, 0.0);
        for (&v, &o) in x.iter().zip(&out) {
            let e = ulps(o, r(v as f64));
            if e > worst.0 || (e.is_nan() && !worst.0.is_nan()) {
                worst = (e, v);
            }
        }
        worst
    }

    #[test]
    fn every_path_within_2_ulp_over_the_whole_range() {
        for (path, fns) in paths() {
            for (f, (name, r)) in fns.iter().zip(KERNELS) {
                let (e, at) = bit_sweep(*f, r);
                assert!(e <= 2.0, "{path} {name}: {e} ulp at {at:e}");
            }
        }
    }

    /// Every float32 from 0.5 to 4.5, where the FMA paths' erf switches from its odd
    /// polynomial to `1 - erfc` and erfc's rounding weighs most, on every path.
    #[test]
    fn erf_every_float_where_the_form_changes() {
        let (lo, hi) = (0.5f32.to_bits(), 4.5f32.to_bits());
        let x: Vec<f32> = (lo..=hi).map(f32::from_bits).collect();
        let want: Vec<f64> = x.iter().map(|&v| erf(v as f64)).collect();
        let mut out = vec![0f32; x.len()];
        for (path, fns) in paths() {
            fns[5](&x, &mut out);
            for ((&o, &r), &v) in out.iter().zip(&want).zip(&x) {
                assert!(ulps(o, r) <= 1.5, "{path} erf({v:e}): {} ulp", ulps(o, r));
            }
        }
    }

    /// Every float32 through erf, sin and cos on every path (about 4.3e9 inputs per
    /// function and path: minutes; run by hand with `cargo test --profile dev-opt -p
    /// rtorch-core -- --ignored every_float`). Bounds: the kernels' documented ones.
    #[test]
    #[ignore]
    fn every_float_erf_sin_cos() {
        every_float(&[(5, 1.5), (8, 0.85), (9, 0.85)]);
    }

    /// As `every_float_erf_sin_cos`, for gelu (run by hand with `-- --ignored
    /// every_float`).
    #[test]
    #[ignore]
    fn every_float_gelu() {
        every_float(&[(7, 2.0)]);
    }

    /// As `every_float_erf_sin_cos`, for sigmoid, silu and expm1 (run by hand with
    /// `-- --ignored every_float`).
    #[test]
    #[ignore]
    fn every_float_sigmoid_silu_expm1() {
        every_float(&[(3, 1.05), (4, 1.1), (10, 1.05)]);
    }

    /// As `every_float_erf_sin_cos`, for tan, atan, exp2, log2 and log10 (run by hand
    /// with `-- --ignored every_float`).
    #[test]
    #[ignore]
    fn every_float_tan_atan_exp2_logs() {
        every_float(&[(12, 1.1), (13, 0.51), (14, 1.1), (15, 1.1), (16, 1.0)]);
    }

    /// As `every_float_erf_sin_cos`, for erfinv (run by hand with `-- --ignored
    /// every_float`).
    #[test]
    #[ignore]
    fn every_float_erfinv() {
        every_float(&[(20, 0.51)]);
    }

    /// Every float32 through the kernels `checks` names (index in KERNELS, worst ulp
    /// allowed), on every path.
    fn every_float(checks: &[(usize, f64)]) {
        let mut failed = Vec::new();
        let mut x = vec![0f32; 1 << 20];
        let mut out = vec![0f32; 1 << 20];
        for (path, fns) in paths() {
            for &(i, bound) in checks {
                let (name, r) = KERNELS[i];
                let mut worst = (0.0f64, 0.0f32);
                for block in 0..(1u64 << 12) {
                    for (j, v) in x.iter_mut().enumerate() {
                        *v = f32::from_bits(((block << 20) as u32) | j as u32);
                    }
                    fns[i](&x, &mut out);
                    for (&v, &o) in x.iter().zip(&out) {
                        let e = ulps(o, r(v as f64));
                        // (A NaN error, where only one side is NaN, is the worst.)
                        if e > worst.0 || (e.is_nan() && !worst.0.is_nan()) {
                            worst = (e, v);
                        }
                    }
                }
                eprintln!("{path} {name}: worst {} ulp at {:e}", worst.0, worst.1);
                if worst.0 > bound || worst.0.is_nan() {
                    failed.push(format!("{path} {name}: {} ulp at {:e}", worst.0, worst.1));
                }
            }
        }
        assert!(failed.is_empty(), "{failed:?}");
    }

    /// atan2 over a grid of bit patterns squared (every octant, zeros, subnormals, huge
    /// values, inf, NaN) and a dense grid around the octant boundaries, against f64's
    /// atan2; IEEE's special cases bit for bit (signed zeros included).
    #[test]
    fn atan2_accuracy_and_special_values() {
        let mut v: Vec<f32> = (0..=u32::MAX)
            .step_by(2_147_483 * 3 + 1)
            .map(f32::from_bits)
            .collect();
        v.extend((-200..=200).map(|i| i as f32 * 0.013));
        let mut worst = (0.0f64, 0.0f32, 0.0f32);
        for &y in &v {
            for &x in &v {
                let e = ulps(atan2_f32(y, x), (y as f64).atan2(x as f64));
                if e > worst.0 || e.is_nan() {
                    worst = (e, y, x);
                }
            }
        }
        assert!(
            worst.0 <= 0.51,
            "atan2({:e}, {:e}): {} ulp",
            worst.1,
            worst.2,
            worst.0
        );
        let specials = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            3e-45,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        for &y in &specials {
            for &x in &specials {
                let (got, want) = (atan2_f32(y, x), ((y as f64).atan2(x as f64)) as f32);
                assert!(
                    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                    "atan2({y}, {x}) = {got}, want {want}"
                );
            }
        }
    }

    #[test]
    fn exp_f64_accuracy_and_special_values() {
        // Against std's exp (correctly rounded in practice): within 2 ulp of f64, less
        // the reference's own half ulp. Every y of a dense grid over the whole range,
        // and a finer one over [-1, 1] (results near 1, where the ulp halves below).
        let grid = (0..=2_000_000).map(|i| -745.0 + 1454.7 * (i as f64 / 2_000_000.0));
        let near = (0..=2_000_000).map(|i| -1.0 + 2.0 * (i as f64 / 2_000_000.0));
        let mut worst = (0.0f64, 0.0f64);
        for y in grid.chain(near) {
            let (got, want) = (exp_f64(y), y.exp());
            // (Subnormal results, below y = -708.4, in units of the smallest subnormal.)
            let ulp = f64::from_bits(want.to_bits() + 1) - want;
            let e = (got - want).abs() / ulp;
            if e > worst.0 {
                worst = (e, y);
            }
        }
        eprintln!("exp_f64: {} ulp at {}", worst.0, worst.1);
        assert!(worst.0 <= 1.5, "exp({}): {} ulp", worst.1, worst.0);
        let mut a = [
            0.5,
            -3.25,
            700.0,
            -740.0,
            0.0,
            f64::NAN,
            1e-20,
            -1e-20,
            709.0,
        ];
        let want: Vec<f64> = a.iter().map(|&v| exp_f64(v)).collect();
        let mut out = [0.0; 9];
        exp_f64_slice(&a, &mut out);
        exp_f64_slice_inplace(&mut a);
        for ((&o, &i), &w) in out.iter().zip(&a).zip(&want) {
            assert!(
                o.to_bits() == w.to_bits() && i.to_bits() == w.to_bits(),
                "{o} {i} {w}"
            );
        }
        assert_eq!(exp_f64(0.0), 1.0);
        assert_eq!(exp_f64(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp_f64(709.79), f64::INFINITY);
        assert_eq!(exp_f64(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_f64(-800.0), 0.0);
        assert!(exp_f64(f64::NAN).is_nan());
    }

    /// The fast fmod agrees bit for bit with libm's wherever it does not decline, over
    /// quotients near integers (x = k y + tiny), both signs, subnormals and the 2^29
    /// boundary; it declines exactly where it must.
    #[test]
    fn fmod_fast_is_exact_where_it_answers() {
        let mut v: Vec<f32> = (0..=u32::MAX)
            .step_by(1_048_573 * 7)
            .map(f32::from_bits)
            .collect();
        v.extend([0.1f32, 0.3, 1.0, 3.0, 7.5, 1e-40, 5e-45, 123_456.79, 0.7]);
        let mut n_fast = 0;
        let check = |x: f32, y: f32| {
            let (r, ok) = fmod_fast_f32(x, y);
            let want = x % y;
            if ok {
                assert_eq!(r.to_bits(), want.to_bits(), "fmod({x:e}, {y:e})");
            } else {
                let q = (x as f64 / y as f64).abs();
                assert!(
                    q >= 5e8 || q.is_nan() || y == 0.0 || !x.is_finite() || !y.is_finite(),
                    "{x:e} {y:e}"
                );
            }
            ok
        };
        for &x in &v {
            for &y in &v {
                n_fast += check(x, y) as usize;
                n_fast += check(-x, y) as usize;
            }
        }
        // Quotients that round across an integer in float64.
        for k in [1.0f32, 3.0, 10.0, 1e6, 5e8] {
            for y in [0.1f32, 0.3, 1.7, 1e-3] {
                let x = k * y;
                for d in -3i32..=3 {
                    let xd = f32::from_bits((x.to_bits() as i32 + d) as u32);
                    n_fast += check(xd, y) as usize;
                }
            }
        }
        assert!(n_fast > 100_000, "{n_fast}");
        assert!(!fmod_fast_f32(1.0, 0.0).1 && !fmod_fast_f32(f32::INFINITY, 1.0).1);
        assert!(!fmod_fast_f32(1e30, 1e-10).1 && fmod_fast_f32(1e3, 1e-5).1);
    }

    /// pow's fast form within 0.51 ulp of f64's powf (the error of f64 powf itself is
    /// far below an f32 ulp) over bases and exponents of every size, exact for exact
    /// powers; it declines exactly the special cases. Both multiply-adds: the FMA
    /// levels run the fused form.
    #[test]
    fn pow_fast_accuracy_and_declines() {
        let mut xs: Vec<f32> = (0..=0x7f7f_ffffu32)
            .step_by(999_983)
            .map(f32::from_bits)
            .collect();
        xs.extend([1.0f32, 2.0, 0.5, 3.0, 10.0, 1.000_001, 0.999_999, 1e-45]);
        let ys = [
            0.5f32, 1.5, -1.5, 2.0, 3.0, -2.0, 0.1, 7.25, 100.0, -100.0, 1e-3, 1.0, 0.0, -0.0,
            31.7, -87.1, -3.0, 5.0, 41.0,
        ];
        type Pow = fn(f32, f32) -> (f32, bool);
        let forms: [(&str, Pow); 2] = [
            ("separate", pow_fast_f32),
            ("fused", pow_fast_f32_m::<Fused>),
        ];
        for (name, pow) in forms {
            let mut worst = (0.0f64, 0.0f32, 0.0f32);
            for &x in &xs {
                // Exponents that put y ln x where the series' error weighs most: near
                // the ends of the normal and subnormal results.
                let ln = (x as f64).ln();
                let far = [-103.0f64, -87.0, -40.0, 40.0, 88.0].map(|t| (t / ln) as f32);
                let far = if ln.abs() > 1e-30 { &far[..] } else { &[] };
                for &y in ys.iter().chain(far) {
                    let (v, ok) = pow(x, y);
                    assert_eq!(ok, x > 0.0 && x.is_finite() && y.is_finite());
                    if !ok {
                        continue;
                    }
                    let e = ulps(v, (x as f64).powf(y as f64));
                    if e > worst.0 {
                        worst = (e, x, y);
                    }
                    // A negative base: the same magnitude, the sign of libm's, NaN alike.
                    let (w, ok) = pow(-x, y);
                    let want = (-x).powf(y);
                    assert!(ok, "{x} {y}");
                    if want.is_nan() {
                        assert!(w.is_nan(), "pow({}, {y}) = {w}", -x);
                    } else {
                        assert_eq!(w.abs(), v, "pow({}, {y})", -x);
                        assert_eq!(w.is_sign_negative(), want.is_sign_negative(), "{} {y}", -x);
                    }
                }
            }
            assert!(
                worst.0 <= 0.51,
                "{name}: pow({:e}, {:e}): {} ulp",
                worst.1,
                worst.2,
                worst.0
            );
        }
        assert_eq!(pow_fast_f32(2.0, 10.0).0, 1024.0);
        assert_eq!(pow_fast_f32(9.0, 0.5).0, 3.0);
        assert_eq!(pow_fast_f32(2.0, -149.0).0, f32::from_bits(1));
        assert_eq!(pow_fast_f32(2.0, 128.0).0, f32::INFINITY);
        assert_eq!(pow_fast_f32(0.5, 151.0).0, 0.0);
        assert_eq!(pow_fast_f32(-2.0, 3.0), (-8.0, true));
        assert_eq!(pow_fast_f32(-2.0, -2.0), (0.25, true));
        assert_eq!(pow_fast_f32(-3.0, 16_777_215.0).0, f32::NEG_INFINITY);
        assert_eq!(pow_fast_f32(-3.0, 16_777_216.0).0, f32::INFINITY);
        assert!(pow_fast_f32(-2.0, 0.5).0.is_nan());
        for (x, y) in [
            (0.0, 2.0),
            (-0.0, 3.0),
            (f32::NEG_INFINITY, 3.0),
            (f32::INFINITY, 1.0),
            (2.0, f32::NAN),
            (1.0, f32::INFINITY),
        ] {
            assert!(!pow_fast_f32(x, y).1, "{x} {y}");
        }
    }

    /// asinh, sinh and cosh (f64 inside, rounded once) over every 4099th bit pattern and
    /// dense grids where their forms change (1e-8 for asinh, 1e-4 for sinh), overflow
    /// past 89.4 and the special values.
    #[test]
    fn asinh_sinh_cosh_accuracy_and_special_values() {
        type Case = (&'static str, fn(f32) -> f32, fn(f64) -> f64, f64);
        let fns: [Case; 3] = [
            ("asinh", asinh_f32, f64::asinh, 0.7),
            ("sinh", sinh_f32, f64::sinh, 0.51),
            ("cosh", cosh_f32, f64::cosh, 0.51),
        ];
        let mut x: Vec<f32> = (0..=u32::MAX).step_by(4099).map(f32::from_bits).collect();
        x.extend((0..=20_000).map(|i| 1e-9 + i as f32 * 1e-12));
        x.extend((0..=20_000).map(|i| 0.99e-4 + i as f32 * 1e-10));
        x.extend((0..=20_000).map(|i| 89.0 + i as f32 * 5e-5));
        for (name, f, r, bound) in fns {
            let mut worst = (0.0f64, 0.0f32);
            for v in x.iter().flat_map(|&v| [v, -v]) {
                let (got, want) = (f(v), r(v as f64));
                if !(want as f32).is_finite() {
                    let same =
                        got.to_bits() == (want as f32).to_bits() || got.is_nan() && want.is_nan();
                    assert!(same, "{name}({v:e}) = {got}, want {want}");
                    continue;
                }
                let e = ulps(got, want);
                if e > worst.0 || e.is_nan() {
                    worst = (e, v);
                }
            }
            assert!(worst.0 <= bound, "{name}({:e}): {} ulp", worst.1, worst.0);
        }
        assert_eq!(asinh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(sinh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(cosh_f32(-0.0), 1.0);
    }

    /// asin, acos and atanh (f64 inside, rounded once) over every 4099th bit pattern,
    /// dense grids where their forms change (|x| = 1/2, 1e-8), every float32 in [1/2, 1]
    /// and the special values.
    #[test]
    fn asin_acos_atanh_accuracy_and_special_values() {
        type Case = (&'static str, fn(f32) -> f32, fn(f64) -> f64);
        let fns: [Case; 3] = [
            ("asin", asin_f32, f64::asin),
            ("acos", acos_f32, f64::acos),
            ("atanh", atanh_f32, f64::atanh),
        ];
        let mut x: Vec<f32> = (0..=u32::MAX).step_by(4099).map(f32::from_bits).collect();
        x.extend((0..=200_000).map(|i| -1.0 + i as f32 * 1e-5));
        x.extend((0..=20_000).map(|i| 0.49 + i as f32 * 1e-6));
        x.extend((0..=20_000).map(|i| 1e-9 + i as f32 * 1e-12));
        // Every float32 in [1/2, 1]: where asin and acos take the square root.
        x.extend((0.5f32.to_bits()..=1.0f32.to_bits()).map(f32::from_bits));
        for (name, f, r) in fns {
            let mut worst = (0.0f64, 0.0f32);
            for &v in &x {
                let e = ulps(f(v), r(v as f64));
                if e > worst.0 || e.is_nan() {
                    worst = (e, v);
                }
            }
            assert!(worst.0 <= 0.51, "{name}({:e}): {} ulp", worst.1, worst.0);
            assert!(
                f(f32::NAN).is_nan() && f(1.5).is_nan() && f(-1.0001).is_nan(),
                "{name}"
            );
        }
        assert_eq!(asin_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(atanh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(
            (atanh_f32(1.0), atanh_f32(-1.0)),
            (f32::INFINITY, f32::NEG_INFINITY)
        );
        assert_eq!(
            (acos_f32(1.0), asin_f32(1.0)),
            (0.0, std::f32::consts::FRAC_PI_2)
        );
        assert_eq!(acos_f32(-1.0), std::f32::consts::PI);
    }

    /// erfinv's f32 kernel against the f64 `erfinv` (two Newton steps with libm-grade
    /// erf) over every 4099th bit pattern, a dense grid over (-1, 1) and every float32
    /// in [0.9, 1) (where the tail form, the square root and the erfc residual apply).
    #[test]
    fn erfinv_f32_accuracy_and_special_values() {
        let mut y: Vec<f32> = (0..=u32::MAX).step_by(4099).map(f32::from_bits).collect();
        y.extend((0..=100_000).map(|i| -1.0 + i as f32 * 2e-5));
        y.extend((0.9f32.to_bits()..1.0f32.to_bits()).map(f32::from_bits));
        let mut worst = (0.0f64, 0.0f32);
        for &v in &y {
            if v.is_nan() || v.abs() >= 1.0 {
                continue;
            }
            let e = ulps(erfinv_f32(v), erfinv(v as f64));
            if e > worst.0 || e.is_nan() {
                worst = (e, v);
            }
        }
        assert!(worst.0 <= 0.51, "erfinv({:e}): {} ulp", worst.1, worst.0);
        assert_eq!(
            (erfinv_f32(1.0), erfinv_f32(-1.0)),
            (f32::INFINITY, f32::NEG_INFINITY)
        );
        assert!(erfinv_f32(1.5).is_nan() && erfinv_f32(f32::NAN).is_nan());
        assert_eq!(erfinv_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(
            erfinv_f32(1e-40),
            (1e-40f64 * std::f64::consts::PI.sqrt() / 2.0) as f32
        );
    }

    #[test]
    fn inv_factorials_are_one_rounding_each() {
        let f: [f64; 13] = inv_factorials(0);
        let mut fact = 1u64;
        for (k, &v) in f.iter().enumerate() {
            fact *= (k as u64).max(1);
            assert_eq!(v, 1.0 / fact as f64, "1/{k}!");
        }
        assert_eq!(inv_factorials::<2>(2), [0.5, 1.0 / 6.0]);
    }

    #[test]
    fn expm1_log1p_special_values() {
        for f in [expm1_f32, log1p_f32] {
            assert_eq!(f(-0.0).to_bits(), (-0.0f32).to_bits());
            assert_eq!(f(0.0).to_bits(), 0);
            assert_eq!(f(f32::INFINITY), f32::INFINITY);
            assert!(f(f32::NAN).is_nan());
            assert_eq!(f(1e-30), 1e-30);
        }
        assert_eq!(expm1_f32(f32::NEG_INFINITY), -1.0);
        assert_eq!(expm1_f32(89.0), f32::INFINITY);
        assert_eq!(expm1_f32(-30.0), -1.0);
        // The slice kernels of every path (float32 with FMA on AVX2/AVX-512).
        let x = [
            -0.0,
            0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            89.0,
            -30.0,
            1e-30,
        ];
        for (path, fns) in paths() {
            let mut out = [0f32; 8];
            fns[10](&x, &mut out);
            assert_eq!(out[0].to_bits(), (-0.0f32).to_bits(), "{path}");
            assert_eq!(out[1].to_bits(), 0, "{path}");
            assert_eq!(out[2], f32::INFINITY, "{path}");
            assert_eq!(out[3], -1.0, "{path}");
            assert!(out[4].is_nan(), "{path}");
            assert_eq!(
                (out[5], out[6], out[7]),
                (f32::INFINITY, -1.0, 1e-30),
                "{path}"
            );
        }
        assert_eq!(log1p_f32(-1.0), f32::NEG_INFINITY);
        assert!(log1p_f32(-2.0).is_nan());
        assert_eq!(log1p_f32(f32::MAX), (f32::MAX as f64).ln() as f32);
    }

    #[test]
    fn erf_erfc_gelu_silu_accuracy_and_special_values() {
        let gelu = KERNELS[7].1;
        // The kernels round once from float64: about half an ulp over the ranges where
        // they change (dense sweeps; the bit sweep above covers everything else).
        assert!(sweep(erf_f32, erf, -6.0, 6.0) <= 0.6);
        assert!(sweep(erf_f32, erf, -1e-3, 1e-3) <= 0.6);
        assert!(sweep(erfc_f32, erfc, -6.0, 11.0) <= 0.6);
        assert!(sweep(gelu_f32, gelu, -15.0, 8.0) <= 0.6);
        assert!(sweep(silu_f32, KERNELS[4].1, -110.0, 30.0) <= 0.6);
        assert_eq!(
            (erf_f32(f32::INFINITY), erf_f32(f32::NEG_INFINITY)),
            (1.0, -1.0)
        );
        assert_eq!(
            (erfc_f32(f32::INFINITY), erfc_f32(f32::NEG_INFINITY)),
            (0.0, 2.0)
        );
        assert_eq!((erfc_f32(10.6), erfc_f32(30.0)), (0.0, 0.0));
        assert_eq!(
            (erf_f32(0.0), erf_f32(-0.0).to_bits()),
            (0.0, (-0.0f32).to_bits())
        );
        assert_eq!(gelu_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(gelu_f32(-20.0), 0.0);
        assert!(silu_f32(f32::NEG_INFINITY).is_nan());
        for f in [erf_f32, erfc_f32, gelu_f32, silu_f32] {
            assert!(f(f32::NAN).is_nan());
        }
    }

    #[test]
    fn sin_cos_accuracy_both_sides_of_the_fast_limit_and_in_place() {
        for (lo, hi) in [(-7.0, 7.0), (-1e3, 1e3), (65000.0, 66000.0), (1e6, 1.1e6)] {
            assert!(sweep(sin_f32, f64::sin, lo, hi) <= 0.6, "sin {lo} {hi}");
            assert!(sweep(cos_f32, f64::cos, lo, hi) <= 0.6, "cos {lo} {hi}");
        }
        // f32 values near multiples of pi/2 (small results) and signed zero.
        let (half_pi, pi) = (std::f32::consts::FRAC_PI_2, std::f32::consts::PI);
        for x in [half_pi, pi, 22_074.0, 36_343.0, -0.0] {
            assert!(ulps(sin_f32(x), (x as f64).sin()) <= 0.6, "{x}");
            assert!(ulps(cos_f32(x), (x as f64).cos()) <= 0.6, "{x}");
        }
        assert_eq!(sin_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            assert!(sin_f32(v).is_nan() && cos_f32(v).is_nan());
        }
        // The slice kernels, out of place and in place (blocks of 256 plus a tail), give
        // the scalar functions' bits on a mix of fast and fixed-up elements.
        let x: Vec<f32> = (0..700)
            .map(|i| {
                if i % 7 == 0 {
                    1e6 + i as f32
                } else {
                    (i as f32 - 350.0) * 0.37
                }
            })
            .chain([f32::NAN, f32::INFINITY])
            .collect();
        let mut out = vec![0f32; x.len()];
        sin_slice(&x, &mut out);
        let mut buf = x.clone();
        cos_slice_inplace(&mut buf);
        for ((&v, &s), &c) in x.iter().zip(&out).zip(&buf) {
            // The FMA paths compute in f32 (within 0.84 ulp), the others are the scalar
            // functions; the fixed-up elements are std's on every path.
            assert!(ulps(s, (v as f64).sin()) <= 0.85, "{v}");
            assert!(ulps(c, (v as f64).cos()) <= 0.85, "{v}");
            if v.abs() > TRIG_FAST_LIMIT || v.is_nan() {
                assert_eq!(s.to_bits(), sin_f32(v).to_bits(), "{v}");
                assert_eq!(c.to_bits(), cos_f32(v).to_bits(), "{v}");
            }
        }
        for (path, fns) in paths() {
            let mut out = [1f32; 2];
            fns[8](&[-0.0, 0.0], &mut out);
            assert_eq!(out.map(f32::to_bits), [(-0.0f32).to_bits(), 0], "{path}");
        }
    }

    /// Every float in windows where x nears multiples of pi/2 at large k (252.898 is
    /// 161 pi/2 to 1e-6; a pi/2 split from f64's pi gave 22 ulp there) and below the fast
    /// limit, on every path.
    #[test]
    fn sin_cos_every_float_in_hard_windows() {
        for (lo, hi) in [
            (250.0f32, 260.0f32),
            (65000.0, TRIG_FAST_LIMIT),
            (-3.2, -3.0),
        ] {
            let (a, b) = (
                lo.to_bits().min(hi.to_bits()),
                lo.to_bits().max(hi.to_bits()),
            );
            let x: Vec<f32> = (a..=b).map(f32::from_bits).collect();
            let mut out = vec![0f32; x.len()];
            for (path, fns) in paths() {
                for (i, r) in [(8, f64::sin as fn(f64) -> f64), (9, f64::cos)] {
                    fns[i](&x, &mut out);
                    for (&v, &o) in x.iter().zip(&out) {
                        let e = ulps(o, r(v as f64));
                        assert!(e <= 0.85, "{path} {}({v:e}): {e} ulp", KERNELS[i].0);
                    }
                }
            }
        }
    }

    #[test]
    fn override_never_exceeds_the_hardware() {
        assert!(capability() <= hardware_capability());
    }

    #[test]
    fn erf_values() {
        assert!((erf(0.5) - 0.520_499_877_813_046_5).abs() < 1e-16);
        assert!((erfc(5.0) - 1.537_459_794_428_034_8e-12).abs() < 1e-26);
        for &y in &[-0.999, -0.5, 0.0, 0.3, 0.9, 0.999_999] {
            assert!((erf(erfinv(y)) - y).abs() < 1e-15);
        }
    }
}
