"""KL(p || q) pairs of the gamma family (Gamma, Beta, Dirichlet), the discrete families
(Binomial, Geometric) and ``ExponentialFamily`` (the Bregman divergence), with their
cross pairs against Exponential, Normal, Uniform, Laplace and Poisson.

Cross pairs are ``-H(p) - E_p[log q(x)]`` with the expectations in closed form; pairs
where ``p`` puts mass outside ``q``'s support are infinite. (Pairs with Gumbel, Pareto
and ContinuousBernoulli live with those families.)
"""

from __future__ import annotations

import math

from .. import _C
from .._C import Tensor
from .beta import Beta
from .binomial import Binomial
from .dirichlet import Dirichlet
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .gamma import Gamma
from .geometric import Geometric
from .kl import _infinite_like, register_kl
from .laplace import Laplace
from .normal import Normal
from .poisson import Poisson
from .uniform import Uniform
from .utils import _sum_rightmost, euler_constant

_EULER_GAMMA = euler_constant


def _log_beta(a: Tensor, b: Tensor) -> Tensor:
    return _C.lgamma(a) + _C.lgamma(b) - _C.lgamma(a + b)


# ------------------------------------------------------------------ same family


@register_kl(ExponentialFamily, ExponentialFamily)
def _kl_expfamily_expfamily(p: ExponentialFamily, q: ExponentialFamily) -> Tensor:
    """The Bregman divergence of the log normalizer between the natural parameters."""
    from ..autograd import grad

    if type(p) is not type(q):
        raise NotImplementedError(
            # PyTorch's message, with the run of spaces of its line continuation.
            "The cross KL-divergence between different exponential families cannot"
            + " " * 29
            + "be computed using Bregman divergences"
        )
    p_nparams = [t.detach().requires_grad_() for t in p._natural_params]
    q_nparams = q._natural_params
    lg_normal = p._log_normalizer(*p_nparams)
    gradients = grad(lg_normal.sum(), p_nparams, create_graph=True)
    result = q._log_normalizer(*q_nparams) - lg_normal
    for pnp, qnp, g in zip(p_nparams, q_nparams, gradients):
        result = result - _sum_rightmost((qnp - pnp) * g, len(q.event_shape))
    return result


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p: Gamma, q: Gamma) -> Tensor:
    pc, pr, qc, qr = p.concentration, p.rate, q.concentration, q.rate
    t1 = qc * (pr / qr).log()
    t2 = _C.lgamma(qc) - _C.lgamma(pc)
    t3 = (pc - qc) * _C.digamma(pc)
    t4 = (qr - pr) * (pc / pr)
    return t1 + t2 + t3 + t4


@register_kl(Beta, Beta)
def _kl_beta_beta(p: Beta, q: Beta) -> Tensor:
    a1, b1 = p.concentration1, p.concentration0
    a2, b2 = q.concentration1, q.concentration0
    total1 = a1 + b1
    return (
        _log_beta(a2, b2)
        - _log_beta(a1, b1)
        + (a1 - a2) * _C.digamma(a1)
        + (b1 - b2) * _C.digamma(b1)
        + (a2 - a1 + b2 - b1) * _C.digamma(total1)
    )


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p: Dirichlet, q: Dirichlet) -> Tensor:
    pc, qc = p.concentration, q.concentration
    sum_p, sum_q = pc.sum(-1), qc.sum(-1)
    t1 = _C.lgamma(sum_p) - _C.lgamma(sum_q)
    t2 = (_C.lgamma(pc) - _C.lgamma(qc)).sum(-1)
    t3 = pc - qc
    t4 = _C.digamma(pc) - _C.digamma(sum_p).unsqueeze(-1)
    return t1 - t2 + (t3 * t4).sum(-1)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p: Binomial, q: Binomial) -> Tensor:
    # Only q's support containing p's is finite; a larger q.total_count has a closed
    # form of no simple kind, and PyTorch refuses it too.
    if bool((p.total_count < q.total_count).any()):
        raise NotImplementedError(
            "KL between Binomials where q.total_count > p.total_count is not implemented"
        )
    kl = p.total_count * (p.probs * (p.logits - q.logits) + (-p.probs).log1p() - (-q.probs).log1p())
    return _C.where(p.total_count > q.total_count, _infinite_like(kl), kl)


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p: Geometric, q: Geometric) -> Tensor:
    # -H(p) - E[k] log(1 - q) - log q, with E[k] = 1/p - 1.
    return -p.entropy() - (-q.probs).log1p() / p.probs - q.logits


# ------------------------------------------------------------------ cross pairs


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p: Beta, q: Exponential) -> Tensor:
    mean = p.concentration1 / (p.concentration1 + p.concentration0)
    return -p.entropy() - q.rate.log() + q.rate * mean


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p: Beta, q: Gamma) -> Tensor:
    a, b = p.concentration1, p.concentration0
    mean_log = _C.digamma(a) - _C.digamma(a + b)
    expected_log_q = (
        q.concentration * q.rate.log()
        - _C.lgamma(q.concentration)
        + (q.concentration - 1) * mean_log
        - q.rate * a / (a + b)
    )
    return -p.entropy() - expected_log_q


@register_kl(Beta, Normal)
def _kl_beta_normal(p: Beta, q: Normal) -> Tensor:
    a, b = p.concentration1, p.concentration0
    total = a + b
    mean = a / total
    var = a * b / (total.pow(2) * (total + 1))
    second_moment = var + (mean - q.loc).pow(2)
    var_q = q.scale.pow(2)
    expected_log_q = -q.scale.log() - 0.5 * math.log(2 * math.pi) - second_moment / (2 * var_q)
    return -p.entropy() - expected_log_q


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p: Beta, q: Uniform) -> Tensor:
    result = -p.entropy() + (q.high - q.low).log()
    outside = (q.low > 0) | (q.high < 1)
    return _C.where(outside, _infinite_like(result), result)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p: Exponential, q: Gamma) -> Tensor:
    # E_p[x] = 1/lambda, E_p[log x] = -gamma_E - log(lambda).
    ratio = q.rate / p.rate
    c = q.concentration
    return -c * ratio.log() + ratio + _C.lgamma(c) + c * _EULER_GAMMA - (1 + _EULER_GAMMA)


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p: Gamma, q: Exponential) -> Tensor:
    return -p.entropy() - q.rate.log() + q.rate * p.concentration / p.rate


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p: Gamma, q: Normal) -> Tensor:
    mean = p.concentration / p.rate
    var = p.concentration / p.rate.pow(2)
    second_moment = var + (mean - q.loc).pow(2)
    expected_log_q = (
        -q.scale.log() - 0.5 * math.log(2 * math.pi) - second_moment / (2 * q.scale.pow(2))
    )
    return -p.entropy() - expected_log_q


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p: Uniform, q: Beta) -> Tensor:
    from .._special_ops import xlogy

    lo, hi = p.low, p.high
    width = hi - lo
    a, b = q.concentration1, q.concentration0
    # E[log x] and E[log(1 - x)] over U(lo, hi) from the antiderivative x log x - x.
    mean_log = (xlogy(hi, hi) - hi - xlogy(lo, lo) + lo) / width
    mean_log1m = (xlogy(1 - lo, 1 - lo) - (1 - lo) - xlogy(1 - hi, 1 - hi) + (1 - hi)) / width
    expected_log_q = (a - 1) * mean_log + (b - 1) * mean_log1m - _log_beta(a, b)
    result = -width.log() - expected_log_q
    outside = (lo < 0) | (hi > 1)
    return _C.where(outside, _infinite_like(result), result)


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p: Uniform, q: Gamma) -> Tensor:
    from .._special_ops import xlogy

    lo, hi = p.low, p.high
    width = hi - lo
    c, r = q.concentration, q.rate
    mean_log = (xlogy(hi, hi) - hi - xlogy(lo, lo) + lo) / width
    expected_log_q = c * r.log() - _C.lgamma(c) + (c - 1) * mean_log - r * (lo + hi) / 2
    result = -width.log() - expected_log_q
    return _C.where(lo < 0, _infinite_like(result), result)


def _register_infinite(pairs: list[tuple[type, type, str]]) -> None:
    """Pairs where p has mass where q has none: KL is +inf, shaped as p's parameter."""
    for type_p, type_q, param in pairs:

        def _kl_infinity(p: object, q: object, _param: str = param) -> Tensor:
            return _infinite_like(getattr(p, _param))

        register_kl(type_p, type_q)(_kl_infinity)


_register_infinite(
    [
        (Exponential, Beta, "rate"),
        (Gamma, Beta, "concentration"),
        (Gamma, Uniform, "concentration"),
        (Laplace, Beta, "loc"),
        (Laplace, Gamma, "loc"),
        (Normal, Beta, "loc"),
        (Normal, Gamma, "loc"),
        (Poisson, Binomial, "rate"),
    ]
)
