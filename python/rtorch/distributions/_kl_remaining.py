"""The KL(p || q) pairs PyTorch registers among Bernoulli, Poisson, Exponential, Laplace,
Normal and Uniform that no other module covers.

Finite pairs are ``-H(p) - E_p[log q(x)]`` with the expectation in closed form; pairs
where ``p`` puts mass where ``q`` has none are +inf, shaped like ``p``'s parameter as in
PyTorch.
"""

from __future__ import annotations

import math

from .. import _C
from .._C import Tensor
from .bernoulli import Bernoulli
from .exponential import Exponential
from .kl import _infinite_like, register_kl
from .laplace import Laplace
from .normal import Normal
from .poisson import Poisson
from .uniform import Uniform

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _normal_cross_term(second_moment_about_loc: Tensor, q: Normal) -> Tensor:
    """``-E_p[log q(x)]`` for a normal ``q``, given ``E_p[(x - q.loc)^2]``."""
    return q.scale.log() + _HALF_LOG_2PI + second_moment_about_loc / (2 * q.scale.pow(2))


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p: Bernoulli, q: Poisson) -> Tensor:
    from .._special_ops import xlogy

    probs = p.probs
    # sum over k in {0, 1}: P(k) log P(k) - P(k) log(rate^k e^-rate / k!); xlogy gives
    # 0 log 0 = 0, so p = 0 costs exactly rate (and 0 against rate 0).
    neg_entropy = xlogy(probs, probs) + xlogy(1 - probs, 1 - probs)
    return neg_entropy - xlogy(probs, q.rate) + q.rate


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p: Exponential, q: Normal) -> Tensor:
    # E[(x - mu)^2] = 2 / rate^2 - 2 mu / rate + mu^2 for x ~ Exponential(rate).
    mean = p.rate.reciprocal()
    second = 2 * mean.pow(2) - 2 * q.loc * mean + q.loc.pow(2)
    return p.rate.log() - 1 + _normal_cross_term(second, q)


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p: Laplace, q: Normal) -> Tensor:
    # H(Laplace) = 1 + log(2 b); E[(x - mu)^2] = 2 b^2 + (loc - mu)^2.
    second = 2 * p.scale.pow(2) + (p.loc - q.loc).pow(2)
    return -1 - (2 * p.scale).log() + _normal_cross_term(second, q)


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p: Normal, q: Laplace) -> Tensor:
    # E|x - m| for x ~ N(mu, s^2) is s sqrt(2/pi) exp(-d^2 / 2s^2) + d erf(d / (s sqrt 2)),
    # d = mu - m (the mean of a folded normal).
    d = p.loc - q.loc
    z = d / p.scale
    mean_abs = (
        p.scale * math.sqrt(2 / math.pi) * (-0.5 * z.pow(2)).exp() + d * (z / math.sqrt(2)).erf()
    )
    neg_entropy = -0.5 - _HALF_LOG_2PI - p.scale.log()
    return neg_entropy + (2 * q.scale).log() + mean_abs / q.scale


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p: Uniform, q: Exponential) -> Tensor:
    # -log(high - low) - log(rate) + rate E[x]; infinite where the box reaches below 0.
    # The mask broadcasts with the result (PyTorch's indexing fails when q broadcasts p).
    result = q.rate * (p.high + p.low) / 2 - (q.rate * (p.high - p.low)).log()
    return _C.where(p.low < 0, _infinite_like(result), result)


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p: Uniform, q: Normal) -> Tensor:
    # E[(x - mu)^2] = (high - low)^2 / 12 + (midpoint - mu)^2.
    width = p.high - p.low
    second = width.pow(2) / 12 + ((p.high + p.low) / 2 - q.loc).pow(2)
    return -width.log() + _normal_cross_term(second, q)


def _register_infinite(pairs: list[tuple[type, type, str]]) -> None:
    """Pairs where p has mass outside q's support: +inf, shaped as p's parameter."""
    for type_p, type_q, param in pairs:

        def _kl_infinity(p: object, q: object, _param: str = param) -> Tensor:
            return _infinite_like(getattr(p, _param))

        _kl_infinity.__name__ = f"_kl_{type_p.__name__.lower()}_{type_q.__name__.lower()}"
        register_kl(type_p, type_q)(_kl_infinity)


_register_infinite(
    [
        (Exponential, Uniform, "rate"),
        (Laplace, Exponential, "loc"),
        (Laplace, Uniform, "loc"),
        (Normal, Exponential, "loc"),
        (Normal, Uniform, "loc"),
        (Poisson, Bernoulli, "rate"),
    ]
)
