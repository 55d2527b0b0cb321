"""``LowRankMultivariateNormal``: a Gaussian whose covariance is low rank plus diagonal."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from .. import _C
from .._C import Tensor
from .._composite_ops import broadcast_tensors
from .._size import Size
from . import constraints
from .distribution import _EMPTY_SHAPE, Distribution
from .multivariate_normal import _batch_mahalanobis, _batch_mv, _standard_normal
from .utils import lazy_property

__all__ = ["LowRankMultivariateNormal"]


def _batch_capacitance_tril(W: Tensor, D: Tensor) -> Tensor:
    r"""The lower Cholesky factor of the capacitance matrix :math:`C = I + W^T D^{-1} W`
    (``W`` of shape (..., n, m), ``D`` the diagonal (..., n)); an m x m factorisation
    stands in for the n x n one of the full covariance."""
    from ..linalg import cholesky

    m = W.size(-1)
    wt_dinv = W.transpose(-2, -1) / D.unsqueeze(-2)
    capacitance = wt_dinv @ W + _C.eye(m, dtype=W.dtype, device=W.device)
    return cholesky(capacitance)


def _batch_lowrank_logdet(W: Tensor, D: Tensor, capacitance_tril: Tensor) -> Tensor:
    r"""``log det(W W^T + D)`` by the matrix determinant lemma:
    :math:`\log\det C + \log\det D`."""
    return 2 * capacitance_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1) + D.log().sum(-1)


def _batch_lowrank_mahalanobis(W: Tensor, D: Tensor, x: Tensor,
                               capacitance_tril: Tensor) -> Tensor:  # fmt: skip
    r"""``x^T (W W^T + D)^{-1} x`` by the Woodbury identity:
    :math:`x^T D^{-1} x - (W^T D^{-1} x)^T C^{-1} (W^T D^{-1} x)`."""
    wt_dinv = W.transpose(-2, -1) / D.unsqueeze(-2)
    wt_dinv_x = _batch_mv(wt_dinv, x)
    term1 = (x.pow(2) / D).sum(-1)
    term2 = _batch_mahalanobis(capacitance_tril, wt_dinv_x)
    return term1 - term2


class LowRankMultivariateNormal(Distribution):
    r"""A multivariate normal whose covariance matrix has the low-rank form
    ``covariance_matrix = cov_factor @ cov_factor.T + cov_diag.diag_embed()``.

    Example::

        >>> m = LowRankMultivariateNormal(torch.zeros(2), torch.tensor([[1.], [0.]]),
        ...                               torch.ones(2))
        >>> m.sample()  # normal with mean=`[0,0]`, cov_factor=`[[1],[0]]`, cov_diag=`[1,1]`

    Args:
        loc (Tensor): mean of the distribution, shape ``batch_shape + event_shape``
        cov_factor (Tensor): the low-rank factor of the covariance, shape
            ``batch_shape + event_shape + (rank,)``
        cov_diag (Tensor): the diagonal part of the covariance, shape
            ``batch_shape + event_shape``

    The determinant and inverse of the covariance are computed through the capacitance
    matrix ``I + cov_factor.T @ inv(cov_diag) @ cov_factor`` (determinant lemma and Woodbury
    identity), so the cost is linear in the event size when the rank is small.
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "loc": constraints.real_vector,
        "cov_factor": constraints.independent(constraints.real, 2),
        "cov_diag": constraints.independent(constraints.positive, 1),
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc: Tensor, cov_factor: Tensor, cov_diag: Tensor,
                 validate_args: bool | None = None) -> None:  # fmt: skip
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        event_shape = loc.shape[-1:]
        if cov_factor.dim() < 2:
            raise ValueError(
                "cov_factor must be at least two-dimensional, with optional leading batch "
                "dimensions"
            )
        if tuple(cov_factor.shape[-2:-1]) != tuple(event_shape):
            raise ValueError(
                f"cov_factor must be a batch of matrices with shape {event_shape[0]} x m"
            )
        if tuple(cov_diag.shape[-1:]) != tuple(event_shape):
            raise ValueError(f"cov_diag must be a batch of vectors with shape {event_shape}")

        # loc and cov_diag as (..., n, 1) columns broadcast against cov_factor (..., n, m).
        loc_ = loc.unsqueeze(-1)
        cov_diag_ = cov_diag.unsqueeze(-1)
        try:
            loc_, self.cov_factor, cov_diag_ = broadcast_tensors(loc_, cov_factor, cov_diag_)
        except RuntimeError as e:
            raise ValueError(
                f"Incompatible batch shapes: loc {loc.shape}, cov_factor {cov_factor.shape}, "
                f"cov_diag {cov_diag.shape}"
            ) from e
        self.loc = loc_[..., 0]
        self.cov_diag = cov_diag_[..., 0]
        batch_shape = self.loc.shape[:-1]

        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        self._capacitance_tril = _batch_capacitance_tril(cov_factor, cov_diag)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> LowRankMultivariateNormal:
        new = self._get_checked_instance(LowRankMultivariateNormal, _instance)
        batch_shape = Size(batch_shape)
        loc_shape = (*batch_shape, *self.event_shape)
        new.loc = self.loc.expand(loc_shape)
        new.cov_diag = self.cov_diag.expand(loc_shape)
        new.cov_factor = self.cov_factor.expand(*loc_shape, self.cov_factor.size(-1))
        new._unbroadcasted_cov_factor = self._unbroadcasted_cov_factor
        new._unbroadcasted_cov_diag = self._unbroadcasted_cov_diag
        new._capacitance_tril = self._capacitance_tril
        super(LowRankMultivariateNormal, new).__init__(
            batch_shape, self.event_shape, validate_args=False
        )
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self) -> tuple[int, ...]:
        return (*self._batch_shape, *self._event_shape, *self._event_shape)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @lazy_property
    def variance(self) -> Tensor:
        return (
            self._unbroadcasted_cov_factor.pow(2).sum(-1) + self._unbroadcasted_cov_diag
        ).expand(*self._batch_shape, *self._event_shape)

    @lazy_property
    def scale_tril(self) -> Tensor:
        from ..linalg import cholesky

        # Sigma = D^(1/2) (I + D^(-1/2) W W^T D^(-1/2)) D^(1/2): the inner matrix has unit
        # scale whatever D is, so its factorisation is well conditioned.
        n = self._event_shape[0]
        diag_sqrt = self._unbroadcasted_cov_diag.sqrt().unsqueeze(-1)
        dinvsqrt_w = self._unbroadcasted_cov_factor / diag_sqrt
        inner = dinvsqrt_w @ dinvsqrt_w.transpose(-2, -1)
        inner = inner + _C.eye(n, dtype=inner.dtype, device=inner.device)
        return (diag_sqrt * cholesky(inner)).expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        W = self._unbroadcasted_cov_factor
        covariance = W @ W.transpose(-2, -1) + _C.diag_embed(self._unbroadcasted_cov_diag)
        return covariance.expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        from ..linalg import solve_triangular

        # Woodbury: D^-1 - D^-1 W C^-1 W^T D^-1 = D^-1 - A^T A with A = L_C^-1 W^T D^-1.
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        wt_dinv = W.transpose(-2, -1) / D.unsqueeze(-2)
        A = solve_triangular(self._capacitance_tril, wt_dinv, upper=False)
        precision = _C.diag_embed(D.reciprocal()) - A.transpose(-2, -1) @ A
        return precision.expand(self._matrix_shape())

    def rsample(self, sample_shape: Any = _EMPTY_SHAPE) -> Tensor:
        shape = self._extended_shape(sample_shape)
        w_shape = (*shape[:-1], self.cov_factor.size(-1))
        eps_w = _standard_normal(w_shape, self.loc)
        eps_d = _standard_normal(shape, self.loc)
        return (
            self.loc
            + _batch_mv(self._unbroadcasted_cov_factor, eps_w)
            + self._unbroadcasted_cov_diag.sqrt() * eps_d
        )

    def _log_det(self) -> Tensor:
        return _batch_lowrank_logdet(
            self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag, self._capacitance_tril
        )

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        m = _batch_lowrank_mahalanobis(
            self._unbroadcasted_cov_factor,
            self._unbroadcasted_cov_diag,
            diff,
            self._capacitance_tril,
        )
        n = self._event_shape[0]
        return -0.5 * (n * math.log(2 * math.pi) + self._log_det() + m)

    def entropy(self) -> Tensor:
        n = self._event_shape[0]
        h = 0.5 * (n * (1.0 + math.log(2 * math.pi)) + self._log_det())
        if len(self._batch_shape) == 0:
            return h
        return h.expand(self._batch_shape)
