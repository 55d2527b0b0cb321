"""Fits the polynomials of rtorch's float32 atan, asin/acos and exp2 kernels
(rust/rtorch-core/src/cpu/math.rs: ATAN_P, ASIN_P, EXP2_Q) and prints them as Rust arrays.

    python scripts/fit_atan_asin_exp2_coefficients.py

atan(t) = t + t^3 P(t^2) on 0 < t <= 1 (the kernel folds |x| > 1 onto 1/|x|), P of
degree 10; 2^r = 1 + r ln2 + r^2 Q(r) on |r| <= 1/2 (the kernel splits off the integer
part), Q of degree 4; asin(t) = t + t^3 S(t^2) on 0 < t <= 1/2 (the kernels fold the rest
onto it), S of degree 8. Least-squares fits weighted to the relative error of the result;
atan's and asin's polynomials are evaluated in float64, exp2's in float32 (its coefficients rounded
to float32 one at a time: fit_erf_coefficients.fit_f32_rounded).
Near zero the quotients cancel in float64, so the series stands in there.
"""

import math

import numpy as np
from fit_erf_coefficients import fit_f32_rounded, rust
from numpy.polynomial import polynomial


def fit_atan():
    t = np.linspace(1e-6, 1.0, 40001)
    z = t * t
    series = sum((-1) ** k * z ** (k - 1) / (2 * k + 1) for k in range(1, 8))
    p_ref = np.where(t < 1e-2, series, (np.arctan(t) - t) / t**3)
    w = t**3 / np.arctan(t)
    p = polynomial.polyfit(z, p_ref, 10, w=w)
    err = np.abs((polynomial.polyval(z, p) - p_ref) * t**3 / np.arctan(t)).max()
    print("atan: largest relative error", err)
    return p


def fit_asin():
    t = np.linspace(1e-6, 0.5, 40001)
    z = t * t
    taylor = [1 / 6, 3 / 40, 15 / 336, 105 / 3456, 945 / 42240, 10395 / 599040]
    series = sum(c * z**k for k, c in enumerate(taylor))
    s_ref = np.where(t < 1e-2, series, (np.arcsin(t) - t) / t**3)
    w = t**3 / np.arcsin(t)
    s = polynomial.polyfit(z, s_ref, 8, w=w)
    print("asin: largest relative error", np.abs((polynomial.polyval(z, s) - s_ref) * w).max())
    return s


def fit_exp2():
    r = np.linspace(-0.5, 0.5, 40001)
    r = r[np.abs(r) > 1e-7]
    ln2 = math.log(2)
    series = sum(ln2**k * r ** (k - 2) / math.factorial(k) for k in range(2, 10))
    q_ref = np.where(np.abs(r) < 1e-2, series, (np.exp2(r) - 1 - r * ln2) / r**2)
    q = fit_f32_rounded(r, q_ref, 4, weight=r**2 / np.exp2(r))
    err = np.abs((polynomial.polyval(r, q) - q_ref) * r**2 / np.exp2(r)).max()
    print("exp2: largest relative error", err)
    return q


if __name__ == "__main__":
    p = fit_atan()
    q = fit_exp2()
    a = fit_asin()
    ln2_hi = float(np.float32(math.log(2)))
    print(f"const LN2_32: (f32, f32) = ({ln2_hi!r}, {float(np.float32(math.log(2) - ln2_hi))!r});")
    print(rust("ATAN_P", p))
    print(rust("EXP2_Q", q[::-1], "f32"))
    print(rust("ASIN_P", a))
