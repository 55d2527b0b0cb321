"""Fits the polynomials of rtorch's float32 erf/erfc/gelu kernels (rust/rtorch-core/src/
cpu/math.rs: ERFC_P, ERF_Q, ERFC_W_A/B) and prints them as Rust arrays.

    python scripts/fit_erf_coefficients.py

erfc(z) = t exp(P(w) - z^2) with t = 2 / (2 + z), w = W_A t - W_B in [-1, 1], for
0 <= z <= 10.5 (beyond, erfc and gelu are below half the smallest float32 subnormal); P is a
degree-14 Chebyshev least-squares fit of ln(erfc(z) / t) + z^2, converted to powers of w.
erf(x) = x Q(x^2) for |x| < 0.75, Q a degree-7 least-squares fit. The reference is
Python's math.erf/math.erfc (float64). The script also evaluates the kernels as the
Rust code does (in float64, rounded once to float32) and prints their worst ulp error.

It also fits the all-float32 erf of the FMA paths (ERF32_P, ERF32_W_A/B, ERF32_R): the same
exponent form with t = 2.5 / (2.5 + z) on [0, 4] (erf is 1 in float32 beyond), degree 9,
and erf(x) / x = C0 + x^2 R(x^2) with C0 = 2 / sqrt(pi) kept as two
float32s, R of degree 5, for |x| < 1. The coefficients are rounded to float32 one at a time, lowest
power first, refitting the higher ones after each (the rounding of the large low-order
coefficients otherwise dominates the error).

And the all-float32 gelu of the FMA paths (cpu/gelu32.rs; `fit_gelu32` says how).
"""

import math

import numpy as np
from numpy.polynomial import chebyshev, polynomial

ZMAX = 10.5


def fit():
    tlo = 2 / (2 + ZMAX)
    w_a, w_b = 2 / (1 - tlo), (1 + tlo) / (1 - tlo)
    t = np.linspace(tlo, 1.0, 40001)
    z = 2 / t - 2
    f = np.array([math.log(math.erfc(zz) / tt) + zz * zz for zz, tt in zip(z, t)])
    w = w_a * t - w_b
    p = chebyshev.cheb2poly(chebyshev.chebfit(w, f, 14))
    print("erfc exponent: largest error", np.abs(polynomial.polyval(w, p) - f).max())
    x = np.linspace(0, 0.75, 20001)[1:]
    q_ref = np.array([math.erf(v) / v for v in x])
    q = polynomial.polyfit(x * x, q_ref, 7)
    print(
        "erf(x)/x: largest relative error", np.abs(polynomial.polyval(x * x, q) / q_ref - 1).max()
    )
    return w_a, w_b, p, q


def exp_neg(y):
    """Cephes' expf polynomial in float64, as `exp_neg_f64`."""
    yc = np.clip(y, -700, 0)
    n = np.round(yc * math.log2(math.e))
    r = yc - n * math.log(2)
    p = (
        (((1.9875691e-4 * r + 1.3981999e-3) * r + 8.333452e-3) * r + 4.1665796e-2) * r
        + 1.6666665e-1
    ) * r + 5.0000001e-1
    return (p * (r * r) + r + 1.0) * np.exp2(n)


def check(w_a, w_b, p, q):
    def erfc_pos(z):
        zc = np.minimum(z, ZMAX)
        t = 2 / (2 + zc)
        return np.where(z > ZMAX, 0.0, t * exp_neg(polynomial.polyval(w_a * t - w_b, p) - zc * zc))

    x = np.concatenate([np.linspace(-11, 11, 200001), np.logspace(-40, 1, 20001)])
    x = np.concatenate([x, -x]).astype(np.float32)
    xd = x.astype(np.float64)
    erf = np.where(
        np.abs(xd) < 0.75,
        xd * polynomial.polyval(xd * xd, q),
        np.copysign(1 - erfc_pos(np.abs(xd)), xd),
    ).astype(np.float32)
    e = erfc_pos(np.abs(xd))
    erfc = np.where(xd < 0, 2 - e, e).astype(np.float32)
    for name, got, ref in [
        ("erf", erf, [math.erf(v) for v in xd]),
        ("erfc", erfc, [math.erfc(v) for v in xd]),
    ]:
        ref = np.array(ref)
        ulp = np.maximum(np.spacing(np.abs(ref.astype(np.float32))).astype(np.float64), 2.0**-149)
        print(f"{name}: worst {np.max(np.abs(got - ref) / ulp):.3f} ulp")


def fit_f32_rounded(x, f, deg, fixed=(), weight=None):
    """Least-squares polynomial in x of degree deg, coefficients rounded to float32 one at a
    time from the lowest power (after those in `fixed`), refitting the rest each time."""
    w = np.ones_like(f) if weight is None else weight
    coef = list(fixed)
    for i in range(len(coef), deg + 1):
        resid = f - polynomial.polyval(x, coef + [0.0]) if coef else f
        basis = np.stack([x ** (i + j) for j in range(deg - i + 1)], axis=1)
        c, *_ = np.linalg.lstsq(basis * w[:, None], resid * w, rcond=None)
        coef.append(float(np.float32(c[0])))
    return coef


def fit_erf32():
    c, zmax = 2.5, 4.0
    tlo = c / (c + zmax)
    w_a = float(np.float32(2 / (1 - tlo)))
    w_b = float(np.float32((1 + tlo) / (1 - tlo)))
    t = np.linspace(tlo, 1.0, 20001)
    z = c / t - c
    f = np.array([math.log(math.erfc(zz) / tt) + zz * zz for zz, tt in zip(z, t)])
    w = w_a * t - w_b
    p = fit_f32_rounded(w, f, 9)
    print("erf32 exponent: largest error", np.abs(polynomial.polyval(w, p) - f).max())
    c0 = 2 / math.sqrt(math.pi)
    c0_hi = float(np.float32(c0))
    c0_lo = float(np.float32(c0 - c0_hi))
    x = np.linspace(0, 1.0, 20001)[1:]
    q_ref = np.array([math.erf(v) / v for v in x])
    q = fit_f32_rounded(x * x, q_ref, 6, fixed=[c0_hi + c0_lo], weight=1 / q_ref)
    err = np.abs(polynomial.polyval(x * x, q) / q_ref - 1).max()
    print("erf32 erf(x)/x: largest relative error", err)
    print(f"const ERF32_W_A: f32 = {w_a!r};\nconst ERF32_W_B: f32 = {w_b!r};")
    print(f"const ERF32_C0: (f32, f32) = ({c0_hi!r}, {c0_lo!r});")
    print(rust("ERF32_P", p[::-1], "f32"))
    print(rust("ERF32_R", q[1:][::-1], "f32"))


def fit_split(x, f, deg, c0=None):
    """`fit_f32_rounded` with the constant term kept as two float32s (hi, lo), fixed first
    (c0, or the unconstrained fit's), relative weights; returns [hi, lo, c1, ..., c_deg]."""
    if c0 is None:
        c0 = polynomial.polyfit(x, f, deg, w=1 / f)[0]
    hi = float(np.float32(c0))
    lo = float(np.float32(c0 - hi))
    c = fit_f32_rounded(x, f, deg, fixed=[hi + lo], weight=1 / f)
    return [hi, lo] + c[1:]


def fit_gelu32():
    """The all-float32 gelu of the FMA paths (cpu/gelu32.rs). With a = |x| and
    T(a) = a Phi(-a) = e^(-a^2/2) Q(a), gelu(x) = x - T for x >= 0 and -T below:
    Q(a) = a Phi(-a) e^(a^2/2) as a degree-10 polynomial in a - 1.25 for 0.5 <= a < 2.5
    and in 1/a^2 for 2.5 <= a <= 15; for |x| < 0.5, gelu(x) = x/2 + x^2 K(x^2) with
    K(s) = (Phi(x) - 1/2) / x of degree 4 (its constant 1/sqrt(2 pi) as two float32s)."""

    def phi_neg(a):
        return 0.5 * math.erfc(a / math.sqrt(2))

    def q_ref(a):
        return np.array([v * phi_neg(v) * math.exp(v * v / 2) for v in a])

    x = np.linspace(0, 0.5, 4001)[1:]
    k = np.array([(0.5 - phi_neg(v)) / v for v in x])
    kc = fit_split(x * x, k, 4, c0=1 / math.sqrt(2 * math.pi))
    a = np.linspace(0.49, 2.525, 8001)
    q1 = fit_split(a - 1.25, q_ref(a), 10)
    a = np.concatenate([np.linspace(2.475, 6, 8001), np.linspace(6, 15, 2001)])
    q2 = fit_split(1 / (a * a), q_ref(a), 10)
    print(f"const K0: (f32, f32) = ({kc[0]!r}, {kc[1]!r});")
    print(rust("K", kc[2:][::-1], "f32"))
    print(rust("Q_NEAR", q1[:2] + q1[2:][::-1], "f32"))
    print(rust("Q_FAR", q2[:2] + q2[2:][::-1], "f32"))


def rust(name, values, ty="f64"):
    body = "".join(f"    {float(v)!r},\n" for v in values)
    return f"const {name}: [{ty}; {len(values)}] = [\n{body}];"


if __name__ == "__main__":
    w_a, w_b, p, q = fit()
    check(w_a, w_b, p, q)
    print(f"const ERFC_W_A: f64 = {w_a!r};\nconst ERFC_W_B: f64 = {w_b!r};")
    print(rust("ERFC_P", p))
    print(rust("ERF_Q", q))
    fit_erf32()
    fit_gelu32()
