"""Modified Bessel functions of the first kind, orders 0 and 1, plain and exponentially
scaled (``i0``, ``special.i0e``, ``special.i1``, ``special.i1e``).

Float64 throughout: the power series (all terms positive, so no cancellation) for
|x| <= 20 and the large-argument asymptotic series beyond, each at a fixed number of
terms that reaches double precision on its range. Gradients come from the composition;
each branch is fed only the arguments it is valid for, so no inf/NaN leaks into the
other branch's gradient.
"""

from __future__ import annotations

import math

from . import _C
from ._C import Tensor

_SWITCH = 20.0
_SERIES_TERMS = 44
_ASYMPTOTIC_TERMS = 34


def _float64(x: Tensor) -> tuple[Tensor, object]:
    dtype = x.dtype if x.is_floating_point() else _C.get_default_dtype()
    return x.double(), dtype


def _series(y: Tensor, order: int) -> Tensor:
    """Σ_k y^k / (k! (k+order)!) * order!  with y = x²/4 (order 0 or 1)."""
    term = _C.ones_like(y)
    total = term
    for k in range(1, _SERIES_TERMS):
        term = term * y / (k * (k + order))
        total = total + term
    return total


def _asymptotic(a: Tensor, order: int) -> Tensor:
    """Σ_k (-1)^k Π_{j<=k} (4ν² - (2j-1)²) / (k! (8a)^k): I_ν(a) e^{-a} sqrt(2πa)."""
    mu = 4.0 * order * order
    inv = 1.0 / (8.0 * a)
    term = _C.ones_like(a)
    total = term
    for k in range(1, _ASYMPTOTIC_TERMS):
        term = term * inv * (-(mu - (2 * k - 1) ** 2) / k)
        total = total + term
    return total


def _scaled(x: Tensor, order: int) -> Tensor:
    """e^{-|x|} I_order(x) in float64."""
    a = x.abs()
    small = a <= _SWITCH
    xs = _C.where(small, x, _C.zeros_like(x))
    series = _series(xs * xs * 0.25, order) * (-xs.abs()).exp()
    if order == 1:
        series = series * xs * 0.5
    # NaN is not <= the switch, so it takes this branch and propagates.
    al = _C.where(small, _C.full_like(a, _SWITCH + 1), a)
    large = _asymptotic(al, order) / (2 * math.pi * al).sqrt()
    if order == 1:
        large = large * x.sign()
    return _C.where(small, series, large)


def _unscaled(x: Tensor, order: int) -> Tensor:
    """I_order(x) in float64 (inf beyond about |x| = 713)."""
    a = x.abs()
    small = a <= _SWITCH
    xs = _C.where(small, x, _C.zeros_like(x))
    series = _series(xs * xs * 0.25, order)
    if order == 1:
        series = series * xs * 0.5
    al = _C.where(small, _C.full_like(a, _SWITCH + 1), a)
    large = _asymptotic(al, order) * (al.exp() / (2 * math.pi * al).sqrt())
    if order == 1:
        large = large * x.sign()
    return _C.where(small, series, large)


def i0(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Modified Bessel function of the first kind of order 0, :math:`I_0(x)`."""
    x, dtype = _float64(input)
    result = _unscaled(x, 0).to(dtype)
    return out.copy_(result) if out is not None else result


def i0e(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Exponentially scaled :math:`I_0`: :math:`e^{-|x|} I_0(x)`."""
    x, dtype = _float64(input)
    result = _scaled(x, 0).to(dtype)
    return out.copy_(result) if out is not None else result


def i1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Modified Bessel function of the first kind of order 1, :math:`I_1(x)`."""
    x, dtype = _float64(input)
    result = _unscaled(x, 1).to(dtype)
    return out.copy_(result) if out is not None else result


def i1e(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Exponentially scaled :math:`I_1`: :math:`e^{-|x|} I_1(x)`."""
    x, dtype = _float64(input)
    result = _scaled(x, 1).to(dtype)
    return out.copy_(result) if out is not None else result


def _i0_(self: Tensor) -> Tensor:
    return self.copy_(i0(self))


FUNCTIONS = {"i0": i0, "i0_": _i0_}
METHODS = {"i0": i0, "i0_": _i0_}
