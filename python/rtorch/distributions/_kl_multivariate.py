r"""KL divergences between the Gaussian families on :math:`\mathbb{R}^n`:
``MultivariateNormal`` and ``LowRankMultivariateNormal`` in each of the four pairings.

For Gaussians ``p = N(mu_p, S_p)`` and ``q = N(mu_q, S_q)`` of dimension ``n``::

    KL(p || q) = 1/2 [log det S_q - log det S_p + tr(S_q^-1 S_p)
                      + (mu_q - mu_p)^T S_q^-1 (mu_q - mu_p) - n]

Each pairing evaluates the log-determinants, the trace and the Mahalanobis term from the
factors the distributions already hold (Cholesky factors, or the capacitance factor with
the Woodbury identity for the low-rank form), never from an explicit inverse.
"""

from __future__ import annotations

from .._C import Tensor
from .._composite_ops import broadcast_shapes
from .kl import register_kl
from .lowrank_multivariate_normal import (
    LowRankMultivariateNormal,
    _batch_lowrank_logdet,
    _batch_lowrank_mahalanobis,
)
from .multivariate_normal import MultivariateNormal, _batch_mahalanobis

__all__: list[str] = []


def _batch_trace_XXT(bmat: Tensor) -> Tensor:
    """``trace(X @ X.T)`` for a batch of matrices: the sum of their squared entries."""
    return bmat.pow(2).sum((-2, -1))


def _half_log_det_tril(scale_tril: Tensor) -> Tensor:
    # log det(L L^T) / 2.
    return scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)


def _lowrank_log_det(d: LowRankMultivariateNormal) -> Tensor:
    return _batch_lowrank_logdet(
        d._unbroadcasted_cov_factor, d._unbroadcasted_cov_diag, d._capacitance_tril
    )


def _lowrank_mahalanobis(q: LowRankMultivariateNormal, diff: Tensor) -> Tensor:
    return _batch_lowrank_mahalanobis(
        q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag, diff, q._capacitance_tril
    )


def _woodbury_factor(q: LowRankMultivariateNormal) -> Tensor:
    r"""``A = L_C^{-1} W^T D^{-1}``, so that :math:`S_q^{-1} = D^{-1} - A^T A`."""
    from ..linalg import solve_triangular

    wt_dinv = q._unbroadcasted_cov_factor.transpose(-2, -1) / q._unbroadcasted_cov_diag.unsqueeze(
        -2
    )
    return solve_triangular(q._capacitance_tril, wt_dinv, upper=False)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_multivariatenormal_multivariatenormal(p: MultivariateNormal,
                                              q: MultivariateNormal) -> Tensor:  # fmt: skip
    from ..linalg import solve_triangular

    if p.event_shape != q.event_shape:
        raise ValueError(
            "KL-divergence between two Multivariate Normals with different event shapes "
            "cannot be computed"
        )
    half_term1 = _half_log_det_tril(q._unbroadcasted_scale_tril) - _half_log_det_tril(
        p._unbroadcasted_scale_tril
    )
    batch = broadcast_shapes(
        q._unbroadcasted_scale_tril.shape[:-2], p._unbroadcasted_scale_tril.shape[:-2]
    )
    n = p.event_shape[0]
    q_tril = q._unbroadcasted_scale_tril.expand(*batch, n, n)
    p_tril = p._unbroadcasted_scale_tril.expand(*batch, n, n)
    # tr(S_q^-1 S_p) = ||L_q^-1 L_p||_F^2.
    term2 = _batch_trace_XXT(solve_triangular(q_tril, p_tril, upper=False))
    term3 = _batch_mahalanobis(q._unbroadcasted_scale_tril, q.loc - p.loc)
    return half_term1 + 0.5 * (term2 + term3 - n)


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrankmultivariatenormal_lowrankmultivariatenormal(
    p: LowRankMultivariateNormal, q: LowRankMultivariateNormal
) -> Tensor:
    if p.event_shape != q.event_shape:
        raise ValueError(
            "KL-divergence between two Low Rank Multivariate Normals with different event "
            "shapes cannot be computed"
        )
    term1 = _lowrank_log_det(q) - _lowrank_log_det(p)
    term3 = _lowrank_mahalanobis(q, q.loc - p.loc)
    # tr(S_q^-1 S_p) with S_q^-1 = Dq^-1 - A^T A and S_p = Wp Wp^T + Dp.
    A = _woodbury_factor(q)
    p_w, p_d = p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag
    q_d = q._unbroadcasted_cov_diag
    term21 = (p_d / q_d).sum(-1)
    term22 = _batch_trace_XXT(p_w * q_d.rsqrt().unsqueeze(-1))
    term23 = _batch_trace_XXT(A * p_d.sqrt().unsqueeze(-2))
    term24 = _batch_trace_XXT(A @ p_w)
    term2 = term21 + term22 - term23 - term24
    return 0.5 * (term1 + term2 + term3 - p.event_shape[0])


@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_multivariatenormal_lowrankmultivariatenormal(
    p: MultivariateNormal, q: LowRankMultivariateNormal
) -> Tensor:
    if p.event_shape != q.event_shape:
        raise ValueError(
            "KL-divergence between two (Low Rank) Multivariate Normals with different event "
            "shapes cannot be computed"
        )
    term1 = _lowrank_log_det(q) - 2 * _half_log_det_tril(p._unbroadcasted_scale_tril)
    term3 = _lowrank_mahalanobis(q, q.loc - p.loc)
    # tr(S_q^-1 L_p L_p^T) = ||Dq^-1/2 L_p||_F^2 - ||A L_p||_F^2.
    A = _woodbury_factor(q)
    batch = broadcast_shapes(
        q._unbroadcasted_cov_factor.shape[:-2], p._unbroadcasted_scale_tril.shape[:-2]
    )
    n = p.event_shape[0]
    p_tril = p._unbroadcasted_scale_tril.expand(*batch, n, n)
    term21 = _batch_trace_XXT(p_tril * q._unbroadcasted_cov_diag.rsqrt().unsqueeze(-1))
    term23 = _batch_trace_XXT(A @ p_tril)
    return 0.5 * (term1 + term21 - term23 + term3 - n)


@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrankmultivariatenormal_multivariatenormal(
    p: LowRankMultivariateNormal, q: MultivariateNormal
) -> Tensor:
    from .. import _C
    from ..linalg import solve_triangular

    if p.event_shape != q.event_shape:
        raise ValueError(
            "KL-divergence between two (Low Rank) Multivariate Normals with different event "
            "shapes cannot be computed"
        )
    term1 = 2 * _half_log_det_tril(q._unbroadcasted_scale_tril) - _lowrank_log_det(p)
    term3 = _batch_mahalanobis(q._unbroadcasted_scale_tril, q.loc - p.loc)
    # tr(S_q^-1 (Wp Wp^T + Dp)) = ||L_q^-1 Wp||_F^2 + ||L_q^-1 Dp^1/2||_F^2. (PyTorch leaves
    # the diagonal's own batch dimensions out of this shape and fails where it has more.)
    batch = broadcast_shapes(
        q._unbroadcasted_scale_tril.shape[:-2],
        p._unbroadcasted_cov_factor.shape[:-2],
        p._unbroadcasted_cov_diag.shape[:-1],
    )
    n = p.event_shape[0]
    q_tril = q._unbroadcasted_scale_tril.expand(*batch, n, n)
    p_w = p._unbroadcasted_cov_factor.expand(*batch, n, p.cov_factor.size(-1))
    p_d_sqrt = _C.diag_embed(p._unbroadcasted_cov_diag.sqrt()).expand(*batch, n, n)
    term21 = _batch_trace_XXT(solve_triangular(q_tril, p_w, upper=False))
    term22 = _batch_trace_XXT(solve_triangular(q_tril, p_d_sqrt, upper=False))
    return 0.5 * (term1 + term21 + term22 + term3 - n)
