"""``MultivariateNormal``: the Gaussian on :math:`\\mathbb{R}^n`, held as a Cholesky factor."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from .. import _C
from .._C import Tensor
from .._composite_ops import broadcast_shapes
from .._size import Size
from . import constraints
from .distribution import _EMPTY_SHAPE, Distribution
from .utils import lazy_property

__all__ = ["MultivariateNormal"]


def _standard_normal(shape: Any, like: Tensor) -> Tensor:
    """Standard normal draws of ``shape`` with the dtype and device of ``like``."""
    return _C.empty(tuple(shape), dtype=like.dtype, device=like.device).normal_()


def _batch_mv(bmat: Tensor, bvec: Tensor) -> Tensor:
    """Matrix-vector products ``bmat @ bvec`` with both batch shapes broadcast."""
    return (bmat @ bvec.unsqueeze(-1)).squeeze(-1)


def _batch_mahalanobis(bL: Tensor, bx: Tensor) -> Tensor:
    r"""The squared Mahalanobis distance :math:`x^T (L L^T)^{-1} x` for a batch of lower
    Cholesky factors ``bL`` (..., n, n) and vectors ``bx`` (..., n), batch shapes broadcast.

    Batch dimensions that only ``bx`` has (typically the sample shape) are moved into the
    columns of one triangular solve per factor, so ``bL`` is never copied once per sample.
    """
    from ..linalg import solve_triangular

    n = bx.size(-1)
    l_batch = tuple(bL.shape[:-2])
    full = tuple(broadcast_shapes(l_batch, tuple(bx.shape[:-1])))
    inner = full[len(full) - len(l_batch) :]
    outer = full[: len(full) - len(l_batch)]
    n_outer, n_inner = math.prod(outer), math.prod(inner)
    # (outer, inner, n) -> (inner, n, outer): one right-hand side per outer index.
    x = bx.expand(*full, n).reshape(n_outer, n_inner, n).permute(1, 2, 0)
    lower = bL.expand(*inner, n, n).reshape(n_inner, n, n)
    y = solve_triangular(lower, x, upper=False)
    m = y.pow(2).sum(-2)  # (inner, outer)
    return m.transpose(0, 1).reshape(full)


def _precision_to_scale_tril(precision: Tensor) -> Tensor:
    """The lower Cholesky factor of ``precision``'s inverse without forming the inverse.

    With ``J`` the exchange matrix, ``J P J = Lf Lf^T`` makes ``P = U U^T`` for the upper
    triangular ``U = J Lf J``, so the covariance ``P^{-1} = U^{-T} U^{-1}`` has the lower
    factor ``U^{-T}``: one Cholesky factorisation and one triangular solve.
    """
    from ..linalg import cholesky, solve_triangular

    lf = cholesky(precision.flip(-2, -1))
    u_t = lf.flip(-2, -1).transpose(-2, -1)
    eye = _C.eye(precision.size(-1), dtype=precision.dtype, device=precision.device)
    return solve_triangular(u_t, eye, upper=False)


class MultivariateNormal(Distribution):
    r"""A multivariate normal (Gaussian) distribution parameterized by a mean vector and
    exactly one of a positive-definite covariance matrix :math:`\Sigma`, a positive-definite
    precision matrix :math:`\Sigma^{-1}` or a lower-triangular matrix :math:`L` with positive
    diagonal such that :math:`\Sigma = L L^T`.

    Example::

        >>> m = MultivariateNormal(torch.zeros(2), torch.eye(2))
        >>> m.sample()  # normally distributed with mean=`[0,0]` and covariance_matrix=`I`

    Args:
        loc (Tensor): mean of the distribution, shape ``(..., n)``
        covariance_matrix (Tensor): positive-definite covariance matrix ``(..., n, n)``
        precision_matrix (Tensor): positive-definite precision matrix ``(..., n, n)``
        scale_tril (Tensor): lower-triangular factor of the covariance, with positive
            diagonal ``(..., n, n)``

    ``scale_tril`` is the cheapest to give; a covariance or precision matrix is factorised
    once (with ``rtorch.linalg.cholesky``) when the distribution is built.
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc: Tensor, covariance_matrix: Tensor | None = None,
                 precision_matrix: Tensor | None = None, scale_tril: Tensor | None = None,
                 validate_args: bool | None = None) -> None:  # fmt: skip
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        if sum(given) != 1:
            raise ValueError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                "specified."
            )
        if scale_tril is not None:
            if scale_tril.dim() < 2:
                raise ValueError(
                    "scale_tril matrix must be at least two-dimensional, with optional "
                    "leading batch dimensions"
                )
            batch_shape = Size(broadcast_shapes(scale_tril.shape[:-2], loc.shape[:-1]))
            self.scale_tril = scale_tril.expand(*batch_shape, -1, -1)
        elif covariance_matrix is not None:
            if covariance_matrix.dim() < 2:
                raise ValueError(
                    "covariance_matrix must be at least two-dimensional, with optional "
                    "leading batch dimensions"
                )
            batch_shape = Size(broadcast_shapes(covariance_matrix.shape[:-2], loc.shape[:-1]))
            self.covariance_matrix = covariance_matrix.expand(*batch_shape, -1, -1)
        else:
            assert precision_matrix is not None
            if precision_matrix.dim() < 2:
                raise ValueError(
                    "precision_matrix must be at least two-dimensional, with optional "
                    "leading batch dimensions"
                )
            batch_shape = Size(broadcast_shapes(precision_matrix.shape[:-2], loc.shape[:-1]))
            self.precision_matrix = precision_matrix.expand(*batch_shape, -1, -1)
        self.loc = loc.expand(*batch_shape, -1)
        event_shape = self.loc.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

        # The factor is kept at the parameter's own batch shape: log_prob and the KL terms
        # broadcast it, and no copy is made per batch element.
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            from ..linalg import cholesky

            self._unbroadcasted_scale_tril = cholesky(covariance_matrix)
        else:
            assert precision_matrix is not None
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    def expand(self, batch_shape: Any, _instance: Any = None) -> MultivariateNormal:
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = Size(batch_shape)
        loc_shape = (*batch_shape, *self.event_shape)
        cov_shape = (*batch_shape, *self.event_shape, *self.event_shape)
        new.loc = self.loc.expand(loc_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        # Only the parameterisations already computed are carried (the rest stay lazy).
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(cov_shape))
        super(MultivariateNormal, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self) -> tuple[int, ...]:
        return (*self._batch_shape, *self._event_shape, *self._event_shape)

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        lower = self._unbroadcasted_scale_tril
        return (lower @ lower.transpose(-2, -1)).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        from .. import cholesky_inverse

        return cholesky_inverse(self._unbroadcasted_scale_tril).expand(self._matrix_shape())

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        # The diagonal of L L^T: squared row norms of L.
        return (
            self._unbroadcasted_scale_tril.pow(2)
            .sum(-1)
            .expand(*self._batch_shape, *self._event_shape)
        )

    def rsample(self, sample_shape: Any = _EMPTY_SHAPE) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = _standard_normal(shape, self.loc)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def _half_log_det(self) -> Tensor:
        # log |Sigma|^(1/2) = sum of the logs of L's diagonal.
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        m = _batch_mahalanobis(self._unbroadcasted_scale_tril, diff)
        n = self._event_shape[0]
        return -0.5 * (n * math.log(2 * math.pi) + m) - self._half_log_det()

    def entropy(self) -> Tensor:
        n = self._event_shape[0]
        h = 0.5 * n * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        if len(self._batch_shape) == 0:
            return h
        return h.expand(self._batch_shape)
