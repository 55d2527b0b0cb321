"""Fits the two polynomials of rtorch's float32 erfinv kernel (rust/rtorch-core/src/cpu/
math.rs: ERFINV_CENTRAL, ERFINV_TAIL and their W_ / S_ constants) and prints them as Rust
arrays.

    python scripts/fit_erfinv_coefficients.py

With a = |y| and w = -ln((1 - a)(1 + a)) (Giles' variable, which turns erfinv's
singularity at 1 into slow growth), erfinv(a) / a is a smooth function of w: the kernel
evaluates it as a polynomial in w for w < 5 and in s = sqrt(w) for 5 <= w <= 16 (the
largest float32 below 1 gives w = 15.94). Each is a degree-12 Chebyshev least-squares fit
on its interval, converted to powers of the interval's variable mapped to [-1, 1]; both
stay within 1e-10 relative of erfinv(a) / a, far below float32's 6e-8 half ulp, so the
kernel's result is erfinv's correctly rounded value or one of its neighbours within a
hundredth of an ulp of the midpoint.

No erfinv is needed for the reference: points are taken in x = erfinv(a), and
a = erf(x), 1 - a = erfc(x) come from Python's math module (float64, accurate in the tail).
"""

import math

import numpy as np
from numpy.polynomial import chebyshev, polynomial

W_SPLIT = 5.0
W_MAX = 16.0
DEGREE = 12


def samples() -> tuple[np.ndarray, np.ndarray]:
    """(w, erfinv(a) / a) on a grid in x dense enough for both intervals."""
    x = np.concatenate([np.linspace(1e-6, 1.0, 40001), np.linspace(1.0, 4.05, 80001)[1:]])
    w = np.array([-math.log(math.erfc(v) * (2.0 - math.erfc(v))) for v in x])
    f = np.array([v / math.erf(v) for v in x])
    return w, f


def fit_on(v: np.ndarray, f: np.ndarray, lo: float, hi: float) -> tuple[float, float, np.ndarray]:
    """Coefficients of f as a polynomial in t = A v - B in [-1, 1] (lowest power first)."""
    a, b = 2.0 / (hi - lo), (hi + lo) / (hi - lo)
    t = a * v - b
    p = chebyshev.cheb2poly(chebyshev.chebfit(t, f, DEGREE))
    err = np.abs(polynomial.polyval(t, p) / f - 1).max()
    print(f"  on [{lo:.4g}, {hi:.4g}]: largest relative error {err:.3g}")
    return a, b, p


def rust(name: str, a: float, b: float, p: np.ndarray) -> None:
    print(f"const {name}_A: f64 = {a!r};")
    print(f"const {name}_B: f64 = {b!r};")
    print(f"const {name}: [f64; {len(p)}] = [")
    for c in p:
        print(f"    {float(c)!r},")
    print("];")


def main() -> None:
    w, f = samples()
    central = w < W_SPLIT + 0.01
    tail = (w > W_SPLIT - 0.01) & (w <= W_MAX)
    print("erfinv(a) / a:")
    fc = fit_on(w[central], f[central], 0.0, W_SPLIT)
    ft = fit_on(np.sqrt(w[tail]), f[tail], math.sqrt(W_SPLIT), math.sqrt(W_MAX))
    rust("ERFINV_CENTRAL", *fc)
    rust("ERFINV_TAIL", *ft)


if __name__ == "__main__":
    main()
