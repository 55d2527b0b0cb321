"""``rtorch.special``: PyTorch's ``torch.special`` namespace.

Most names are the top-level functions under their SciPy-style names; the Bessel
functions live in ``rtorch._bessel_ops`` and the rest below are composed from core ops.
"""

from __future__ import annotations

import math
from typing import Any

from . import _C, _bessel_jyk, _orthogonal_polynomials, _special_ops
from ._bessel_ops import i0, i0e, i1, i1e
from ._C import Tensor
from ._incomplete_gamma import igamma as gammainc
from ._incomplete_gamma import igammac as gammaincc
from .autograd.function import Function

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
gammaln = _unary("gammaln", _C.lgamma)
digamma = _unary("digamma", _C.digamma)
psi = _unary("psi", _C.digamma)
sinc = _unary("sinc", _special_ops.sinc)
round = _unary("round", _C.round)


def polygamma(n: int, input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The ``n``-th derivative of the digamma function."""
    return _C.polygamma(n, input, out=out)


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
    from ._composite_ops import broadcast_tensors
    from ._special_ops import _XLogY

    x, y = broadcast_tensors(input.to(dtype), other.to(dtype))
    return _out(_XLogY.apply(x, y, True), out)


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


def _ndtri64(p: Tensor) -> Tensor:
    """The x with Φ(x) = p, in float64. sqrt(2) erfinv(2t - 1) for the smaller tail t of
    p and 1 - p loses the tails (2t - 1 rounds to -1 below t ~ 1e-17, and to -1 in
    float32 below 3e-8: ndtri(1e-8) was -inf, not -5.61), so it only starts Newton's
    method on log Φ(x) = log t, which log_ndtr keeps accurate to t ~ 1e-300."""
    t = _C.where(p < 0.5, p, 1 - p)  # 1 - p is exact for p >= 0.5
    x = (t * 2 - 1).erfinv() * math.sqrt(2.0)
    log_t = t.log()
    # Where erfinv gave -inf: the leading term of the tail's asymptotics.
    x = _C.where(x.isfinite(), x, -(log_t * -2).sqrt())
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    for _ in range(6):
        log_phi = log_ndtr(x)
        # d/dx log Φ(x) = φ(x) / Φ(x).
        slope = (-0.5 * x * x - half_log_2pi - log_phi).exp()
        x = x - (log_phi - log_t) / slope
    x = _C.where(p < 0.5, x, -x)
    x = _C.where(p == 0.5, _C.zeros_like(x), x)
    x = _C.where(p == 0, _C.full_like(x, -math.inf), x)
    x = _C.where(p == 1, _C.full_like(x, math.inf), x)
    return _C.where((p < 0) | (p > 1) | p.isnan(), _C.full_like(x, math.nan), x)


class _Ndtri(Function):
    @staticmethod
    def forward(ctx: Any, p: Tensor) -> Tensor:
        x = _ndtri64(p.double()).to(p.dtype)
        ctx.save_for_backward(x)
        return x

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        # dx/dp = 1 / φ(x) = sqrt(2π) e^(x²/2), as PyTorch's formula.
        (x,) = ctx.saved_tensors
        return grad * (x * x * 0.5).exp() * math.sqrt(2 * math.pi)


_Ndtri._backward_name = "SpecialNdtriBackward0"


def ndtri(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`ndtr` (-inf at 0, inf at 1, NaN outside [0, 1])."""
    return _out(_Ndtri.apply(_floating(input)), out)


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


# ----- Hurwitz zeta -----


def _bernoulli_over_factorial(count: int) -> list[float]:
    """B_{2j} / (2j)! for j = 1..count, from exact Bernoulli numbers (Akiyama–Tanigawa)."""
    from fractions import Fraction

    size = 2 * count + 1
    row = [Fraction(0)] * (size + 1)
    bernoulli = []
    for m in range(size + 1):
        row[m] = Fraction(1, m + 1)
        for j in range(m, 0, -1):
            row[j - 1] = j * (row[j - 1] - row[j])
        bernoulli.append(row[0])
    return [float(bernoulli[2 * j] / math.factorial(2 * j)) for j in range(1, count + 1)]


_ZETA_DIRECT_TERMS = 12
_ZETA_COEFS = _bernoulli_over_factorial(12)


def _zeta64(x: Tensor, q: Tensor) -> Tensor:
    """ζ(x, q) = Σ_k (k + q)^-x in float64: 12 terms summed directly, the rest by the
    Euler–Maclaurin formula with 12 Bernoulli corrections."""
    total = _C.zeros_like(x)
    for k in range(_ZETA_DIRECT_TERMS):
        total = total + (q + k).pow(-x)
    a = q + _ZETA_DIRECT_TERMS
    total = total + a.pow(1 - x) / (x - 1) + 0.5 * a.pow(-x)
    rising = x.clone()  # x (x+1) … (x + 2j - 2)
    power = a.pow(-x - 1)  # a^(-x - 2j + 1)
    inv_a2 = 1 / (a * a)
    for j, coef in enumerate(_ZETA_COEFS, start=1):
        total = total + coef * rising * power
        rising = rising * (x + 2 * j - 1) * (x + 2 * j)
        power = power * inv_a2
    return total


class _Zeta(Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, q: Tensor, dtype: Any) -> Tensor:
        ctx.save_for_backward(x, q)
        return _zeta_values(x.double(), q.double()).to(dtype)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple:
        x, q = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        x64, q64 = x.double(), q.double()
        dq = (-x64 * _zeta_values(x64 + 1, q64)).to(grad.dtype)
        return None, grad * dq, None


_Zeta._backward_name = "SpecialZetaBackward0"


def _zeta_values(x: Tensor, q: Tensor) -> Tensor:
    pole = (x == 1) | ((q <= 0) & (q == q.floor()))
    domain = (x < 1) | ((q < 0) & (x != x.floor()))
    safe_x = _C.where(pole | domain, _C.full_like(x, 2.0), x)
    safe_q = _C.where(pole | domain, _C.ones_like(q), q)
    values = _zeta64(safe_x, safe_q)
    values = _C.where(pole, _C.full_like(values, math.inf), values)
    return _C.where(domain & ~pole | x.isnan() | q.isnan(), _C.full_like(values, math.nan), values)


def zeta(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    r"""The Hurwitz zeta function :math:`\zeta(x, q) = \sum_{k=0}^\infty (k + q)^{-x}`
    (``input`` is :math:`x`, ``other`` is :math:`q`; the Riemann zeta at ``q = 1``)."""
    from ._composite_ops import broadcast_tensors

    x = input if isinstance(input, Tensor) else _C.tensor(float(input))
    q = (
        other
        if isinstance(other, Tensor)
        else _C.tensor(float(other), dtype=x.dtype if x.is_floating_point() else None)
    )
    dtype = _C.result_type(x, q)
    if not dtype.is_floating_point:
        dtype = _C.get_default_dtype()
    x, q = broadcast_tensors(x.to(dtype), q.to(dtype))
    result = _Zeta.apply(x, q, dtype)
    return _out(result, out)


def _no_grad_unary(name: str, fn: Any):
    def f(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        return _out(fn(input.detach()), out)

    f.__name__ = name
    f.__qualname__ = name
    f.__doc__ = f"``torch.special.{name}`` (not differentiable, as in PyTorch)."
    return f


def _spherical_j0(x: Tensor) -> Tensor:
    x = _floating(x)
    safe = _C.where(x == 0, _C.ones_like(x), x)
    small = x.abs() < 1e-4
    series = 1 - x * x / 6  # the next term is x^4/120 < 1e-18
    out = _C.where(small, series, safe.sin() / safe)
    # sin(±inf) is NaN; the limit (and PyTorch's answer) is 0.
    return _C.where(x.isinf(), _C.zeros_like(x), out)


modified_bessel_i0 = _no_grad_unary("modified_bessel_i0", i0)
modified_bessel_i1 = _no_grad_unary("modified_bessel_i1", i1)
spherical_bessel_j0 = _no_grad_unary("spherical_bessel_j0", _spherical_j0)
__all__ += ["modified_bessel_i0", "modified_bessel_i1", "spherical_bessel_j0", "zeta"]

globals().update(_orthogonal_polynomials.FUNCTIONS)
__all__ += list(_orthogonal_polynomials.FUNCTIONS)
globals().update(_bessel_jyk.FUNCTIONS)
__all__ += list(_bessel_jyk.FUNCTIONS)
