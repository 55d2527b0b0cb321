"""Bessel functions of the first and second kind (J0, J1, Y0, Y1) and the modified ones of
the second kind (K0, K1, and e^x K0, e^x K1) for ``rtorch.special``, in float64 whatever
the input's dtype, then rounded to it.

Each range has its own method, chosen per element:

- J and Y: the ascending series for |x| <= 8 (terms at most ~100, so two digits lost at
  worst); for 8 < |x| <= 25 Miller's backward recurrence (J_k for k <= 70, normalised by
  J0 + 2 sum J_2k = 1) and the Neumann series of Y0 and its derivative for Y1; beyond,
  Hankel's asymptotic expansion with 20 terms (error below 1e-17 from |x| = 25).
- K: the ascending series for x <= 2; for 2 < x <= 50 the trapezoidal rule on
  e^x K_v(x) = int_0^inf exp(-2x sinh^2(t/2)) cosh(vt) dt, which converges like
  exp(x - pi^2/h) (step h = 0.1); beyond, the asymptotic expansion.

Not differentiable, as in PyTorch.
"""

from __future__ import annotations

import math
from typing import Any

from . import _C
from ._C import Tensor

_EULER = 0.5772156649015329
_TWO_OVER_PI = 2.0 / math.pi
_SERIES_TERMS = 40
_ASYMPTOTIC_TERMS = 20
_MILLER_START = 70


def _float64(input: Tensor) -> tuple[Tensor, Any]:
    x = input.detach()
    dtype = x.dtype if x.is_floating_point() else _C.get_default_dtype()
    return x.to(_C.float64), dtype


def _where(mask: Tensor, a: Tensor, b: Tensor) -> Tensor:
    return _C.where(mask, a, b)


def _clamped(x: Tensor, mask: Tensor, fill: float) -> Tensor:
    """x where ``mask`` holds, else ``fill`` (a harmless argument for the other ranges)."""
    return _C.where(mask, x, _C.full_like(x, fill))


# ----- J and Y: series, Miller, asymptotics -----


def _series_j(x: Tensor, order: int) -> Tensor:
    """sum_k (-1)^k (x/2)^(2k + order) / (k! (k + order)!)."""
    q = x * x * -0.25
    term = (x * 0.5) if order == 1 else _C.ones_like(x)
    total = term
    for k in range(1, _SERIES_TERMS):
        term = term * q / (k * (k + order))
        total = total + term
    return total


def _series_y(x: Tensor, j0: Tensor, j1: Tensor, order: int) -> Tensor:
    """Y0 or Y1 from their ascending series (x > 0), given J0 and J1 at x."""
    log_half = (x * 0.5).log()
    q = x * x * -0.25
    if order == 0:
        # Y0 = (2/pi) [(ln(x/2) + gamma) J0 - sum_k>=1 H_k (-x^2/4)^k / (k!)^2].
        term = _C.ones_like(x)
        acc = _C.zeros_like(x)
        harmonic = 0.0
        for k in range(1, _SERIES_TERMS):
            harmonic += 1.0 / k
            term = term * q / (k * k)
            acc = acc + term * harmonic
        return _TWO_OVER_PI * ((log_half + _EULER) * j0 - acc)
    # Y1 = (2/pi) ln(x/2) J1 - 2/(pi x)
    #      - (1/pi) sum_k>=0 (psi(k+1) + psi(k+2)) (-1)^k (x/2)^(2k+1) / (k! (k+1)!).
    term = x * 0.5
    psi_sum = -2 * _EULER + 1.0  # psi(1) + psi(2)
    acc = term * psi_sum
    for k in range(1, _SERIES_TERMS):
        term = term * q / (k * (k + 1))
        psi_sum += 1.0 / k + 1.0 / (k + 1)
        acc = acc + term * psi_sum
    return _TWO_OVER_PI * log_half * j1 - _TWO_OVER_PI / x - acc / math.pi


def _miller(x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """J0, J1 and the Neumann sums of Y0 and Y1 at x (8 < x <= 25) by backward recurrence
    from J_70 (a tiny seed; the growth to J0 stays far below the float64 range). The
    sums: S0 = sum_k>=1 (-1)^k J_2k / k and S1 = sum_k>=1 (-1)^k (J_2k-1 - J_2k+1) / k,
    the latter gathered per odd order as it streams past."""
    inv = 2.0 / x
    nxt = _C.zeros_like(x)  # J_{m+1}
    cur = _C.full_like(x, 1e-250)  # J_m, from m = _MILLER_START down
    norm = _C.zeros_like(x)  # sum of J_m over even m >= 2
    s0 = _C.zeros_like(x)
    s1 = _C.zeros_like(x)
    j1 = cur
    for k in range(_MILLER_START, 0, -1):
        nxt, cur = cur, k * inv * cur - nxt
        m = k - 1  # cur is J_m
        if m == 1:
            j1 = cur
        if m >= 2 and m % 2 == 0:
            half = m // 2
            norm = norm + cur
            s0 = s0 + cur * ((-1.0) ** half / half)
        if m % 2 == 1:
            up = (m + 1) // 2  # J_m is J_{2k-1} for k = up
            coef = (-1.0) ** up / up
            if m >= 3:
                down = (m - 1) // 2  # and J_{2k+1} for k = down
                coef -= (-1.0) ** down / down
            s1 = s1 + cur * coef
    scale = 1.0 / (cur + 2 * norm)
    return cur * scale, j1 * scale, s0 * scale, s1 * scale


def _split_series(inv: Tensor, coefs: list[float]) -> tuple[Tensor, Tensor]:
    """The two halves of an oscillating function's asymptotic expansion in w = ``inv``:
    P = 1 + sum over even k of (-1)^(k/2) c_k w^k and Q = sum over odd k of
    (-1)^((k-1)/2) c_k w^k, with ``coefs`` = c_1, c_2, ... (Hankel's for J and Y, the
    u_k of Ai)."""
    p, q = _C.ones_like(inv), _C.zeros_like(inv)
    power = _C.ones_like(inv)
    for k, c in enumerate(coefs, start=1):
        power = power * inv
        term = power * (c if (k // 2) % 2 == 0 else -c)
        if k % 2 == 0:
            p = p + term
        else:
            q = q + term
    return p, q


def _asymptotic_pq(x: Tensor, order: int) -> tuple[Tensor, Tensor]:
    """Hankel's P and Q of order 0 or 1, a_k = prod_{j<=k} (4 v^2 - (2j - 1)^2) / (k! 8^k)
    in 1/x."""
    mu = 4.0 * order * order
    coefs, a = [], 1.0
    for k in range(1, 2 * _ASYMPTOTIC_TERMS):
        a *= (mu - (2 * k - 1) ** 2) / (k * 8.0)
        coefs.append(a)
    return _split_series(1.0 / x, coefs)


def _asymptotic_jy(x: Tensor, order: int) -> tuple[Tensor, Tensor]:
    """J and Y of order 0 or 1 for large x > 0: sqrt(2/(pi x)) (P cos chi - Q sin chi) and
    (P sin chi + Q cos chi), chi = x - (2 order + 1) pi / 4, by sums of sin x and cos x
    (no rounding of chi)."""
    p, q = _asymptotic_pq(x, order)
    s, c = x.sin(), x.cos()
    r = math.sqrt(0.5)
    if order == 0:
        cos_chi, sin_chi = (c + s) * r, (s - c) * r
    else:
        cos_chi, sin_chi = (s - c) * r, -(s + c) * r
    amp = (_TWO_OVER_PI / x).sqrt()
    return amp * (p * cos_chi - q * sin_chi), amp * (p * sin_chi + q * cos_chi)


def _jy(x: Tensor, order: int, want_y: bool) -> Tensor:
    """J_order or Y_order at x (float64), all ranges and special values."""
    a = x.abs()
    small = a <= 8.0
    mid = (a > 8.0) & (a <= 25.0)
    large = a > 25.0
    xs = _clamped(a, small & (a > 0), 1.0)
    xm = _clamped(a, mid, 10.0)
    xl = _clamped(a, large & a.isfinite(), 30.0)
    j0s, j1s = _series_j(xs, 0), _series_j(xs, 1)
    j0m, j1m, s0, s1 = _miller(xm)
    jl, yl = _asymptotic_jy(xl, order)
    if not want_y:
        js = _where(small, _series_j(_clamped(a, small, 1.0), order), j0m if order == 0 else j1m)
        out = _where(large, jl, js)
        if order == 1:
            out = _where(x.signbit(), -out, out)  # J1 is odd (and J1(-0) is -0)
        # PyTorch gives NaN at the infinities (its sin and cos of them), not the limit 0.
        return _where(a.isinf() | x.isnan(), _C.full_like(x, math.nan), out)
    ys = _series_y(xs, j0s, j1s, order)
    log_term = (xm * 0.5).log() + _EULER
    if order == 0:
        ym = _TWO_OVER_PI * (log_term * j0m - 2.0 * s0)
    else:
        ym = -_TWO_OVER_PI * (j0m / xm - log_term * j1m) + _TWO_OVER_PI * s1
    out = _where(small, ys, _where(mid, ym, yl))
    out = _where(x == 0, _C.full_like(x, -math.inf), out)
    # NaN at +inf too, as PyTorch (not the limit 0).
    return _where((x < 0) | x.isnan() | x.isinf(), _C.full_like(x, math.nan), out)


# ----- K: series, trapezoidal rule, asymptotics -----


def _series_k(x: Tensor, order: int) -> Tensor:
    """K0 or K1 from the ascending series (0 < x <= 2)."""
    log_half = (x * 0.5).log()
    q = x * x * 0.25
    if order == 0:
        # K0 = -(ln(x/2) + gamma) I0 + sum_k>=1 H_k (x^2/4)^k / (k!)^2.
        term = _C.ones_like(x)
        i0 = term
        acc = _C.zeros_like(x)
        harmonic = 0.0
        for k in range(1, 30):
            harmonic += 1.0 / k
            term = term * q / (k * k)
            i0 = i0 + term
            acc = acc + term * harmonic
        return acc - (log_half + _EULER) * i0
    # K1 = 1/x + ln(x/2) I1 - (x/4) sum_k>=0 (psi(k+1) + psi(k+2)) (x^2/4)^k / (k! (k+1)!).
    term = _C.ones_like(x)
    psi_sum = -2 * _EULER + 1.0
    i1 = term
    acc = term * psi_sum
    for k in range(1, 30):
        term = term * q / (k * (k + 1))
        psi_sum += 1.0 / k + 1.0 / (k + 1)
        i1 = i1 + term
        acc = acc + term * psi_sum
    return 1.0 / x + log_half * i1 * (x * 0.5) - x * 0.25 * acc


def _trapezoid_scaled_k(x: Tensor, order: float) -> Tensor:
    """e^x K_order(x) = int_0^inf exp(-2x sinh^2(t/2)) cosh(order t) dt for 1.8 < x <= 50,
    by the trapezoidal rule with step 0.1 up to where the integrand is below 1e-16."""
    h = 0.1
    total = _C.full_like(x, 0.5)
    t = h
    # exp(-2x sinh^2(t/2)) < e^-37.8 for every x > 1.8 once sinh^2(t/2) > 10.5.
    while math.sinh(t / 2) ** 2 <= 10.5:
        weight = math.cosh(order * t)
        total = total + (x * (-2.0 * math.sinh(t / 2) ** 2)).exp() * weight
        t += h
    return total * h


def _asymptotic_scaled_k(x: Tensor, order: float) -> Tensor:
    """e^x K_order(x) ~ sqrt(pi / 2x) sum_k a_k / x^k (x > 50)."""
    mu = 4.0 * order * order
    inv = 1.0 / x
    total = _C.ones_like(x)
    coef = 1.0
    power = _C.ones_like(x)
    for k in range(1, _ASYMPTOTIC_TERMS):
        coef *= (mu - (2 * k - 1) ** 2) / (k * 8.0)
        power = power * inv
        total = total + power * coef
    return (math.pi * 0.5 * inv).sqrt() * total


def _k(x: Tensor, order: int, scaled: bool) -> Tensor:
    small = x <= 2.0
    mid = (x > 2.0) & (x <= 50.0)
    xs = _clamped(x, small & (x > 0), 1.0)
    xm = _clamped(x, mid, 10.0)
    xl = _clamped(x, ~small & ~mid & x.isfinite(), 60.0)
    ks = _series_k(xs, order)
    if scaled:
        ks = ks * xs.exp()
        km = _trapezoid_scaled_k(xm, order)
        kl = _asymptotic_scaled_k(xl, order)
    else:
        km = _trapezoid_scaled_k(xm, order) * (-xm).exp()
        kl = _asymptotic_scaled_k(xl, order) * (-xl).exp()
    out = _where(small, ks, _where(mid, km, kl))
    out = _where(x == 0, _C.full_like(x, math.inf), out)
    out = _where(x == math.inf, _C.zeros_like(x), out)
    return _where((x < 0) | x.isnan(), _C.full_like(x, math.nan), out)


# ----- Airy Ai -----

_AI0 = 0.3550280538878172  # Ai(0)
_AIP0 = 0.2588194037928068  # -Ai'(0)
_AIRY_TERMS = 12


def _airy_series(x: Tensor) -> Tensor:
    """Ai(x) = Ai(0) f(x) + Ai'(0) g(x) from the Maclaurin series (-7 <= x <= 2; at -7
    the terms reach ~1e5, so about 1e-11 is lost)."""
    cube = x * x * x
    f_term, g_term = _C.ones_like(x), x
    f, g = f_term, g_term
    for k in range(1, 60):
        f_term = f_term * cube / ((3 * k - 1) * (3 * k))
        g_term = g_term * cube / ((3 * k) * (3 * k + 1))
        f, g = f + f_term, g + g_term
    return _AI0 * f - _AIP0 * g


def _airy_positive(x: Tensor) -> Tensor:
    """Ai(x) = sqrt(x/3) K_1/3(zeta) / pi, zeta = 2/3 x^(3/2), for x > 2 (zeta > 1.88):
    e^zeta K_1/3(zeta) by the trapezoidal rule up to zeta = 50, asymptotically beyond."""
    zeta = x.sqrt() * x * (2.0 / 3.0)
    near = zeta <= 50.0
    scaled = _where(
        near,
        _trapezoid_scaled_k(_clamped(zeta, near, 10.0), 1.0 / 3.0),
        _asymptotic_scaled_k(_clamped(zeta, ~near & zeta.isfinite(), 60.0), 1.0 / 3.0),
    )
    return (x / 3.0).sqrt() / math.pi * (-zeta).exp() * scaled


def _airy_negative(x: Tensor) -> Tensor:
    """Ai(-z) ~ (cos(zeta - pi/4) P + sin(zeta - pi/4) Q) / (sqrt(pi) z^(1/4)) for z > 7
    (zeta > 12.3), 12 terms each (the series is asymptotic: its smallest term, near
    k = 2 zeta, is below 2e-11 here)."""
    z = -x
    zeta = z.sqrt() * z * (2.0 / 3.0)
    coefs, u = [], 1.0
    for k in range(1, 2 * _AIRY_TERMS):
        u *= (6 * k - 5) * (6 * k - 3) * (6 * k - 1) / ((2 * k - 1) * 216.0 * k)
        coefs.append(u)
    p, q = _split_series(1.0 / zeta, coefs)
    s, c = zeta.sin(), zeta.cos()
    r = math.sqrt(0.5)
    amp = 1.0 / (math.sqrt(math.pi) * z.sqrt().sqrt())
    return amp * ((c + s) * r * p + (s - c) * r * q)


def _airy_ai(x: Tensor) -> Tensor:
    series = (x >= -7.0) & (x <= 2.0)
    positive = x > 2.0
    negative = x < -7.0
    out = _where(
        series,
        _airy_series(_clamped(x, series, 0.0)),
        _where(
            positive,
            _airy_positive(_clamped(x, positive & x.isfinite(), 3.0)),
            _airy_negative(_clamped(x, negative & x.isfinite(), -8.0)),
        ),
    )
    # PyTorch's NaN at both infinities (its Ai(inf) too, not the limit 0).
    return _where(x.isnan() | x.isinf(), _C.full_like(x, math.nan), out)


def _function(name: str, compute: Any):
    def f(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        x, dtype = _float64(input)
        result = compute(x).to(dtype)
        return out.copy_(result) if out is not None else result

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``torch.special.{name}`` (not differentiable, as in PyTorch)."
    return f


FUNCTIONS = {
    "bessel_j0": _function("bessel_j0", lambda x: _jy(x, 0, False)),
    "bessel_j1": _function("bessel_j1", lambda x: _jy(x, 1, False)),
    "bessel_y0": _function("bessel_y0", lambda x: _jy(x, 0, True)),
    "bessel_y1": _function("bessel_y1", lambda x: _jy(x, 1, True)),
    "modified_bessel_k0": _function("modified_bessel_k0", lambda x: _k(x, 0, False)),
    "modified_bessel_k1": _function("modified_bessel_k1", lambda x: _k(x, 1, False)),
    "scaled_modified_bessel_k0": _function("scaled_modified_bessel_k0", lambda x: _k(x, 0, True)),
    "scaled_modified_bessel_k1": _function("scaled_modified_bessel_k1", lambda x: _k(x, 1, True)),
    "airy_ai": _function("airy_ai", _airy_ai),
}
