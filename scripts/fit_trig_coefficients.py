"""Fits the float32 sine/cosine polynomials of the FMA paths (rust/rtorch-core/src/cpu/
math.rs: SIN32_S, SIN32_C, PIO2_32) and prints them as Rust arrays.

    python scripts/fit_trig_coefficients.py

On |r| <= pi/4 + 0.001: sin r = r + r^3 S(r^2) (S of degree 3) and cos r = 1 - r^2/2 +
r^4 C(r^2) (C of degree 2), least-squares fits weighted to relative error, coefficients
rounded to float32 one at a time (fit_erf_coefficients.fit_f32_rounded). pi/2 is split
into three float32s from its decimal expansion (exact rational arithmetic).
"""

import math
from fractions import Fraction

import numpy as np
from fit_erf_coefficients import fit_f32_rounded, rust
from numpy.polynomial import polynomial

PI_OVER_2 = Fraction("1.5707963267948966192313216916397514420985846996875529104874722961")


def pio2_parts():
    parts, rest = [], PI_OVER_2
    for _ in range(3):
        p = float(np.float32(float(rest)))
        parts.append(p)
        rest -= Fraction(p)
    print("pi/2 - parts:", float(rest))
    return parts


def fit():
    r = np.linspace(1e-6, math.pi / 4 + 1e-3, 20001)
    z = r * r
    # Below 0.01 the quotients cancel in float64: use the series there.
    s = np.where(r < 1e-2, -1 / 6 + z / 120 - z**2 / 5040 + z**3 / 362880, (np.sin(r) - r) / r**3)
    c = np.where(r < 1e-2, 1 / 24 - z / 720 + z**2 / 40320, (np.cos(r) - 1 + z / 2) / z**2)
    sp = fit_f32_rounded(z, s, 3, weight=r**3 / np.sin(r))
    cp = fit_f32_rounded(z, c, 2, weight=z**2 / np.cos(r))
    print(
        "sin: largest relative error",
        np.abs((polynomial.polyval(z, sp) - s) * r**3 / np.sin(r)).max(),
    )
    print(
        "cos: largest relative error",
        np.abs((polynomial.polyval(z, cp) - c) * z**2 / np.cos(r)).max(),
    )
    return sp, cp


if __name__ == "__main__":
    parts = pio2_parts()
    sp, cp = fit()
    print(rust("PIO2_32", parts, "f32"))
    print(rust("SIN32_S", sp[::-1], "f32"))
    print(rust("SIN32_C", cp[::-1], "f32"))
