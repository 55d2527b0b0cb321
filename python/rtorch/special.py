"""``rtorch.special``: PyTorch's ``torch.special`` namespace.

Most names are the top-level functions under their SciPy-style names; the Bessel
functions live in ``rtorch._bessel_ops`` and the rest below are composed from core ops.
"""

from __future__ import annotations

import math
from typing import Any

from . import _C, _special_ops
from ._bessel_ops import i0, i0e, i1, i1e
from ._C import Tensor
from ._incomplete_gamma import igamma as gammainc
from ._incomplete_gamma import igammac as gammaincc

__all__ = [
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammainc",
    "gammaincc",
    "gammaln",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "log1p",
    "log_ndtr",
    "log_softmax",
    "logit",
    "logsumexp",
    "multigammaln",
    "ndtr",
    "ndtri",
    "polygamma",
    "psi",
    "round",
    "sinc",
    "softmax",
    "xlog1py",
    "xlogy",
]

_SQRT1_2 = 1.0 / math.sqrt(2.0)


def _out(result: Tensor, out: Tensor | None) -> Tensor:
    return out.copy_(result) if out is not None else result


def _floating(x: Tensor) -> Tensor:
    return x if x.is_floating_point() else x.to(_C.get_default_dtype())


def _unary(name: str, fn: Any):
    def f(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        return _out(fn(input), out)

    f.__name__ = name
    f.__qualname__ = name
    f.__doc__ = f"``torch.special.{name}``: see ``torch.{getattr(fn, '__name__', name)}``."
    return f


erf = _unary("erf", _C.erf)
erfc = _unary("erfc", _C.erfc)
erfinv = _unary("erfinv", _C.erfinv)
exp2 = _unary("exp2", _C.exp2)
expm1 = _unary("expm1", _C.expm1)
log1p = _unary("log1p", _C.log1p)
expit = _unary("expit", _C.sigmoid)
gammaln = _unary("gammaln", _special_ops.lgamma)
digamma = _unary("digamma", _special_ops.digamma)
psi = _unary("psi", _special_ops.digamma)
sinc = _unary("sinc", _special_ops.sinc)
round = _unary("round", _C.round)


def polygamma(n: int, input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The ``n``-th derivative of the digamma function."""
    return _out(_special_ops.polygamma(n, input), out)


def multigammaln(input: Tensor, p: int, *, out: Tensor | None = None) -> Tensor:
    """The multivariate log-gamma function of dimension ``p``."""
    return _out(_special_ops.mvlgamma(input, p), out)


def logit(input: Tensor, eps: float | None = None, *, out: Tensor | None = None) -> Tensor:
    """log(p / (1 - p)), with ``input`` clamped to [eps, 1 - eps] when ``eps`` is given."""
    return _out(_special_ops.logit(input, eps), out)


def xlogy(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """``input * log(other)``, 0 where ``input`` is 0 (unless ``other`` is NaN)."""
    return _out(_special_ops.xlogy(input, other), out)


def xlog1py(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """``input * log1p(other)``, 0 where ``input`` is 0 (unless ``other`` is NaN)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("xlog1py(): expected at least one Tensor argument")
    if not isinstance(input, Tensor):
        input = _C.full_like(other, input, dtype=_C.result_type(other, input))
    if not isinstance(other, Tensor):
        other = _C.full_like(input, other, dtype=_C.result_type(input, other))
    dtype = _C.result_type(input, other)
    if not dtype.is_floating_point:
        dtype = _C.get_default_dtype()
    x, y = input.to(dtype), other.to(dtype)
    zero = (x == 0) & ~y.isnan()
    result = _C.where(zero, _C.zeros_like(x * y), x * _C.where(zero, _C.zeros_like(y), y).log1p())
    return _out(result, out)


def entr(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elementwise entropy: ``-x log x`` for x > 0, 0 at 0, -inf for x < 0."""
    x = _floating(input)
    pos = x > 0
    safe = _C.where(pos, x, _C.ones_like(x))
    result = _C.where(pos, -safe * safe.log(), _C.zeros_like(x))
    result = _C.where(x < 0, _C.full_like(x, -math.inf), result)
    return _out(_C.where(x.isnan(), x, result), out)


def ndtr(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The standard normal CDF, ``(1 + erf(x / sqrt(2))) / 2``."""
    x = _floating(input)
    return _out((-x * _SQRT1_2).erfc() * 0.5, out)


def ndtri(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`ndtr` (-inf at 0, inf at 1, NaN outside [0, 1])."""
    p = _floating(input)
    return _out((p * 2 - 1).erfinv() * math.sqrt(2.0), out)


def log_ndtr(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """log of :func:`ndtr`, accurate far into the left tail (float64 internally)."""
    x = _floating(input)
    dtype = x.dtype
    x = x.double()
    # erfc is accurate down to about x = -37; beyond it, the asymptotic series of
    # log Φ(x) = log φ(x) - log(-x) + log(1 - 1/x² + 3/x⁴ - …).
    far = x < -30
    xn = _C.where(far, _C.full_like(x, -1.0), x)
    xf = _C.where(far, x, _C.full_like(x, -31.0))
    right = xn > 0
    xr = _C.where(right, xn, _C.zeros_like(xn))
    xl = _C.where(right, _C.zeros_like(xn), xn)
    # Right of 0, log1p(-Φ(-x)) keeps the tiny deficit that log(Φ(x)) would round away.
    near = _C.where(
        right,
        ((xr * _SQRT1_2).erfc() * -0.5).log1p(),
        ((-xl * _SQRT1_2).erfc() * 0.5).log(),
    )
    inv2 = 1.0 / (xf * xf)
    series = _C.ones_like(xf)
    term = _C.ones_like(xf)
    for k in range(1, 8):
        term = term * inv2 * (-(2 * k - 1))
        series = series + term
    tail = -0.5 * xf * xf - 0.5 * math.log(2 * math.pi) - (-xf).log() + series.log()
    return _out(_C.where(far, tail, near).to(dtype), out)


def erfcx(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The scaled complementary error function ``exp(x²) erfc(x)`` (float64 internally)."""
    x = _floating(input)
    dtype = x.dtype
    x = x.double()
    far = x > 25
    xn = _C.where(far, _C.zeros_like(x), x)
    xf = _C.where(far, x, _C.full_like(x, 26.0))
    near = (xn * xn).exp() * xn.erfc()
    inv = 1.0 / (2 * xf * xf)
    series = _C.ones_like(xf)
    term = _C.ones_like(xf)
    for k in range(1, 10):
        term = term * inv * (-(2 * k - 1))
        series = series + term
    tail = series / (xf * math.sqrt(math.pi))
    return _out(_C.where(far, tail, near).to(dtype), out)


def softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """``softmax`` along ``dim`` (computed in ``dtype`` when given)."""
    return _C.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """``log_softmax`` along ``dim`` (computed in ``dtype`` when given)."""
    return _C.log_softmax(input, dim, dtype=dtype)


def logsumexp(
    input: Tensor, dim: Any, keepdim: bool = False, *, out: Tensor | None = None
) -> Tensor:
    """log of the sum of exponentials along ``dim``, computed stably."""
    return _out(_C.logsumexp(input, dim, keepdim), out)
