"""The regularized incomplete gamma functions ``igamma`` (P) and ``igammac`` (Q), also
``special.gammainc``/``gammaincc``.

Float64 throughout: the power series for ``x < a + 1`` and the continued fraction
(modified Lentz) beyond, iterated over the whole tensor until every element has
converged (checked every few rounds; the loop runs over iterations, never elements).
The gradient with respect to ``x`` is the closed form ``±exp(-x) x^(a-1) / Γ(a)``; with
respect to ``a`` PyTorch has none and neither does this (it raises in backward).
"""

from __future__ import annotations

import math
from typing import Any

from . import _C
from ._C import Tensor, lgamma
from ._dtype_info import scalar_name
from .autograd.function import Function

_EPS = 2.0**-53
_TINY = 1e-300
_CHECK_EVERY = 16
_MAX_ITERS = 100_000


def _log_prefactor(a: Tensor, x: Tensor) -> Tensor:
    """log(x^a e^-x / Γ(a))."""
    return a * x.log() - x - lgamma(a)


def _series_p(a: Tensor, x: Tensor) -> Tensor:
    """P(a, x) = x^a e^-x / Γ(a+1) · Σ_n x^n / ((a+1)…(a+n))."""
    return (_log_prefactor(a, x) - (a).log()).exp() * _series_sum(a, x)


def _series_sum(a: Tensor, x: Tensor) -> Tensor:
    """Σ_n x^n / ((a+1)…(a+n)) for positive a and x (the sum alone: a caller that must
    not underflow applies the prefactor in log space)."""
    term = _C.ones_like(x)
    total = _C.ones_like(x)
    ap = a.clone()
    for i in range(_MAX_ITERS):
        ap = ap + 1
        term = term * x / ap
        total = total + term
        if i % _CHECK_EVERY == 0 and not bool((term.abs() > _EPS * total.abs()).any()):
            break
    return total


def _continued_fraction_q(a: Tensor, x: Tensor) -> Tensor:
    """Q(a, x) = x^a e^-x / Γ(a) · 1/(x+1-a- 1·(1-a)/(x+3-a- …))."""
    return _log_prefactor(a, x).exp() * _continued_fraction(a, x)


def _continued_fraction(a: Tensor, x: Tensor) -> Tensor:
    """1/(x+1-a- 1·(1-a)/(x+3-a- …)) by modified Lentz, for x >= a + 1 where it converges
    fast (the fraction alone, as ``_series_sum``)."""
    b = x + 1 - a
    c = _C.full_like(x, 1 / _TINY)
    d = 1 / b
    h = d.clone()
    for i in range(1, _MAX_ITERS):
        an = -i * (i - a)
        b = b + 2
        d = an * d + b
        d = _C.where(d.abs() < _TINY, _C.full_like(d, _TINY), d)
        c = b + an / c
        c = _C.where(c.abs() < _TINY, _C.full_like(c, _TINY), c)
        d = 1 / d
        delta = d * c
        h = h * delta
        if i % _CHECK_EVERY == 0 and not bool(((delta - 1).abs() > 4 * _EPS).any()):
            break
    return h


def _regularized(a: Tensor, x: Tensor, upper: bool) -> Tensor:
    """P(a, x) (or Q with ``upper``) in float64 with PyTorch's special values."""
    use_series = x < a + 1
    # Feed each method only the arguments it handles (placeholders elsewhere).
    regular = (a > 0) & (x > 0) & a.isfinite() & x.isfinite()
    one = _C.ones_like(x)
    a_s = _C.where(regular & use_series, a, one)
    x_s = _C.where(regular & use_series, x, one * 0.5)
    a_c = _C.where(regular & ~use_series, a, one)
    x_c = _C.where(regular & ~use_series, x, one * 3.0)
    p_series = _series_p(a_s, x_s)
    q_cf = _continued_fraction_q(a_c, x_c)
    p = _C.where(use_series, p_series, 1 - q_cf)
    q = _C.where(use_series, 1 - p_series, q_cf)
    nan = _C.full_like(x, math.nan)
    out = _C.where(regular, q if upper else p, nan)
    # The rest as PyTorch's calc_igamma/calc_igammac, first rule first (so applied here
    # last): a or x negative -> NaN; a = 0 -> P = 1 for x > 0, else NaN; x = 0 -> P = 0
    # (even for a NaN a); a = inf -> P = 0, NaN if x is inf too; x = inf -> P = 1. Any
    # other NaN argument stays NaN.
    p_of = (lambda v: 1 - v) if upper else (lambda v: v)
    out = _C.where(x.isinf(), p_of(one), out)
    out = _C.where(a.isinf(), _C.where(x.isinf(), nan, p_of(one * 0)), out)
    out = _C.where(x == 0, p_of(one * 0), out)
    out = _C.where(a == 0, _C.where(x > 0, p_of(one), nan), out)
    return _C.where((a < 0) | (x < 0), nan, out)


class _IncompleteGamma(Function):
    @staticmethod
    def forward(ctx: Any, a: Tensor, x: Tensor, upper: bool, dtype: Any) -> Tensor:
        ctx.upper = upper
        ctx.save_for_backward(a, x)
        a64, x64 = a.double(), x.double()
        return _regularized(a64, x64, upper).to(dtype)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple:
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            name = "igammac" if ctx.upper else "igamma"
            raise NotImplementedError(f"the derivative for '{name}: input' is not implemented.")
        a64, x64 = a.double(), x.double()
        density = (_log_prefactor(a64, x64) - x64.log()).exp().to(grad.dtype)
        grad_x = grad * (-density if ctx.upper else density)
        return None, _sum_to(grad_x, x.shape), None, None


_IncompleteGamma._backward_name = "IgammaBackward0"


def _sum_to(t: Tensor, shape: Any) -> Tensor:
    if tuple(t.shape) == tuple(shape):
        return t
    return t.sum_to_size(*shape) if shape else t.sum()


def _prepare(name: str, input: Tensor, other: Tensor) -> tuple[Tensor, Tensor, Any]:
    from ._composite_ops import broadcast_tensors

    dtype = _C.result_type(input, other)
    if not dtype.is_floating_point:
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{scalar_name(dtype)}'")
    a, x = broadcast_tensors(input.to(dtype), other.to(dtype))
    return a, x, dtype


def igamma(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    r"""The regularized lower incomplete gamma function
    :math:`P(a, x) = \frac{1}{\Gamma(a)} \int_0^x t^{a-1} e^{-t} dt` (``input`` is ``a``)."""
    a, x, dtype = _prepare("igamma", input, other)
    result = _IncompleteGamma.apply(a, x, False, dtype)
    return out.copy_(result) if out is not None else result


def igammac(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    r"""The regularized upper incomplete gamma function :math:`Q(a, x) = 1 - P(a, x)`."""
    a, x, dtype = _prepare("igammac", input, other)
    result = _IncompleteGamma.apply(a, x, True, dtype)
    return out.copy_(result) if out is not None else result


FUNCTIONS = {"igamma": igamma, "igammac": igammac}
METHODS = {
    "igamma": igamma,
    "igammac": igammac,
    "igamma_": lambda self, other: self.copy_(igamma(self, other)),
    "igammac_": lambda self, other: self.copy_(igammac(self, other)),
}
