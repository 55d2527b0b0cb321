"""KL divergences that PyTorch registers for Cauchy and ContinuousBernoulli, with each
other and with the other scalar families (Exponential, Normal, Uniform, Laplace, Beta,
Gamma; the pairs with Gumbel and Pareto are in _kl_transformed.py).

Imported by ``distributions/__init__.py`` for the side effect of registering the pairs.
"""

from __future__ import annotations

import math

from .. import _C
from .._C import Tensor
from .beta import Beta
from .cauchy import Cauchy
from .continuous_bernoulli import ContinuousBernoulli
from .exponential import Exponential
from .gamma import Gamma
from .kl import _infinite_like, register_kl
from .laplace import Laplace
from .normal import Normal
from .uniform import Uniform

__all__: list[str] = []


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p: Cauchy, q: Cauchy) -> Tensor:
    # Chyzak and Nielsen (2019), https://arxiv.org/abs/1905.10965:
    # log(((s_p + s_q)^2 + (l_p - l_q)^2) / (4 s_p s_q)).
    t1 = ((p.scale + q.scale).pow(2) + (p.loc - q.loc).pow(2)).log()
    t2 = (4 * p.scale * q.scale).log()
    return t1 - t2


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_continuous_bernoulli_continuous_bernoulli(
    p: ContinuousBernoulli, q: ContinuousBernoulli
) -> Tensor:
    t1 = p.mean * (p.logits - q.logits)
    t2 = p._cont_bern_log_norm() + (-p.probs).log1p()
    t3 = -q._cont_bern_log_norm() - (-q.probs).log1p()
    return t1 + t2 + t3


@register_kl(ContinuousBernoulli, Exponential)
def _kl_continuous_bernoulli_exponential(p: ContinuousBernoulli, q: Exponential) -> Tensor:
    return -p.entropy() - q.rate.log() + q.rate * p.mean


@register_kl(ContinuousBernoulli, Normal)
def _kl_continuous_bernoulli_normal(p: ContinuousBernoulli, q: Normal) -> Tensor:
    t1 = -p.entropy()
    t2 = 0.5 * (math.log(2.0 * math.pi) + (q.loc / q.scale).square()) + q.scale.log()
    t3 = (p.variance + p.mean.square() - 2.0 * q.loc * p.mean) / (2.0 * q.scale.square())
    return t1 + t2 + t3


@register_kl(ContinuousBernoulli, Uniform)
def _kl_continuous_bernoulli_uniform(p: ContinuousBernoulli, q: Uniform) -> Tensor:
    result = -p.entropy() + (q.high - q.low).log()
    # As PyTorch: infinite unless q's support strictly contains [0, 1]. (At q = U(0, 1)
    # the divergence is finite, -entropy(p); PyTorch answers inf there, and so do we.)
    outside = (q.low >= p.support.lower_bound) | (q.high <= p.support.upper_bound)
    return _C.where(outside, _infinite_like(result), result)


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_continuous_bernoulli(p: Uniform, q: ContinuousBernoulli) -> Tensor:
    result = -p.entropy() - p.mean * q.logits - (-q.probs).log1p() - q._cont_bern_log_norm()
    # As PyTorch: infinite unless p's support lies strictly inside (0, 1).
    outside = (p.high >= q.support.upper_bound) | (p.low <= q.support.lower_bound)
    return _C.where(outside, _infinite_like(result), result)


# Families with unbounded support against one on [0, 1].
@register_kl(Exponential, ContinuousBernoulli)
def _kl_exponential_continuous_bernoulli(p: Exponential, q: ContinuousBernoulli) -> Tensor:
    return _infinite_like(p.rate)


@register_kl(Laplace, ContinuousBernoulli)
def _kl_laplace_continuous_bernoulli(p: Laplace, q: ContinuousBernoulli) -> Tensor:
    return _infinite_like(p.loc)


@register_kl(Normal, ContinuousBernoulli)
def _kl_normal_continuous_bernoulli(p: Normal, q: ContinuousBernoulli) -> Tensor:
    return _infinite_like(p.loc)


@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_continuous_bernoulli(p: Beta, q: ContinuousBernoulli) -> Tensor:
    return -p.entropy() - p.mean * q.logits - (-q.probs).log1p() - q._cont_bern_log_norm()


@register_kl(Gamma, ContinuousBernoulli)
def _kl_gamma_continuous_bernoulli(p: Gamma, q: ContinuousBernoulli) -> Tensor:
    return _infinite_like(p.concentration)
