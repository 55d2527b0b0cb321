"""``Wishart``: the distribution of scatter matrices of Gaussian vectors."""

from __future__ import annotations

import math
import warnings
from numbers import Number
from typing import Any

from .. import _C
from .._C import Tensor
from .._composite_ops import broadcast_shapes
from .._size import Size
from . import constraints
from .chi2 import Chi2
from .distribution import _EMPTY_SHAPE
from .exp_family import ExponentialFamily
from .multivariate_normal import _precision_to_scale_tril
from .utils import lazy_property

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


def _mvdigamma(x: Tensor, p: int) -> Tensor:
    r"""The multivariate digamma :math:`\psi_p(x) = \sum_{i=0}^{p-1} \psi(x - i/2)`, the
    derivative of ``mvlgamma(x, p)``."""
    halves = _C.arange(p, dtype=x.dtype, device=x.device) / 2
    return _C.digamma(x.unsqueeze(-1) - halves.expand(*x.shape, -1)).sum(-1)


def _clamp_above_eps(x: Tensor) -> Tensor:
    # A Bartlett diagonal entry of exactly zero would make the sample singular.
    from .._dtype_info import finfo

    return x.clamp(min=finfo(x.dtype).eps)


class Wishart(ExponentialFamily):
    r"""The Wishart distribution over positive-definite matrices, parameterized by a
    symmetric positive-definite matrix :math:`\Sigma` (or its precision matrix, or its
    lower Cholesky factor) and degrees of freedom :math:`\nu > p - 1` for ``p x p``
    matrices. A draw is :math:`\sum_{k=1}^{\nu} x_k x_k^T` with :math:`x_k \sim N(0, \Sigma)`
    for an integer :math:`\nu`; samples come from the Bartlett decomposition.

    Example::

        >>> m = Wishart(torch.tensor([2.0]), covariance_matrix=torch.eye(2))
        >>> m.sample()  # Wishart distributed with mean=`df * I` and variance(x_ij)=`df` for i != j

    Args:
        df (float or Tensor): real-valued parameter larger than the (dimension of the square
            matrix) - 1
        covariance_matrix (Tensor): positive-definite covariance matrix
        precision_matrix (Tensor): positive-definite precision matrix
        scale_tril (Tensor): lower-triangular factor of the covariance, with positive diagonal

    Only one of ``covariance_matrix``, ``precision_matrix`` or ``scale_tril`` can be given.
    Samples with ``p - 1 < df < p`` are singular with positive probability; ``rsample``
    redraws singular ones up to ``max_try_correction`` times.
    """

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, df: Tensor | Number, covariance_matrix: Tensor | None = None,
                 precision_matrix: Tensor | None = None, scale_tril: Tensor | None = None,
                 validate_args: bool | None = None) -> None:  # fmt: skip
        given = [m is not None for m in (covariance_matrix, scale_tril, precision_matrix)]
        if sum(given) != 1:
            # PyTorch asserts this (an AssertionError, not a ValueError).
            raise AssertionError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                "specified."
            )
        param = next(m for m in (scale_tril, covariance_matrix, precision_matrix) if m is not None)
        if param.dim() < 2:
            # PyTorch names scale_tril whichever matrix was given.
            raise ValueError(
                "scale_tril must be at least two-dimensional, with optional leading batch "
                "dimensions"
            )
        if isinstance(df, Number):
            batch_shape = Size(param.shape[:-2])
            self.df = _C.tensor(df, dtype=param.dtype, device=param.device)
        else:
            batch_shape = Size(broadcast_shapes(param.shape[:-2], df.shape))
            self.df = df.expand(batch_shape)
        event_shape = Size(param.shape[-2:])
        p = event_shape[-1]
        # Checked whatever validate_args says: the Bartlett draw needs df > p - 1.
        if bool(self.df.le(p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        matrix_shape = (*batch_shape, -1, -1)
        if scale_tril is not None:
            self.scale_tril = param.expand(matrix_shape)
        elif covariance_matrix is not None:
            self.covariance_matrix = param.expand(matrix_shape)
        else:
            self.precision_matrix = param.expand(matrix_shape)
        if bool(self.df.lt(p).any()):
            warnings.warn(
                "Low df values detected. Singular samples are highly likely to occur for "
                "ndim - 1 < df < ndim.",
                stacklevel=2,
            )
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        self._batch_dims = [-(x + 1) for x in range(len(self._batch_shape))]

        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            from ..linalg import cholesky

            self._unbroadcasted_scale_tril = cholesky(covariance_matrix)
        else:
            assert precision_matrix is not None
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

        # Bartlett: the squared diagonal of the random factor is chi-squared with
        # df, df - 1, ..., df - p + 1 degrees of freedom (in the matrix's dtype, so an
        # integer or half df promotes as in PyTorch).
        scale_tril = self._unbroadcasted_scale_tril
        offsets = _C.arange(p, dtype=scale_tril.dtype, device=scale_tril.device)
        self._dist_chi2 = Chi2(df=self.df.unsqueeze(-1) - offsets.expand(*batch_shape, -1))

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:  # type: ignore[override]
        # df's bound depends on the matrix size, so the dict is built per instance.
        return {
            "covariance_matrix": constraints.positive_definite,
            "precision_matrix": constraints.positive_definite,
            "scale_tril": constraints.lower_cholesky,
            "df": constraints.greater_than(self._event_shape[-1] - 1),
        }

    def expand(self, batch_shape: Any, _instance: Any = None) -> Wishart:
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = Size(batch_shape)
        cov_shape = (*batch_shape, *self.event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(cov_shape)
        new.df = self.df.expand(batch_shape)
        new._batch_dims = [-(x + 1) for x in range(len(batch_shape))]
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(cov_shape))
        new._dist_chi2 = self._dist_chi2.expand(Size((*batch_shape, self.event_shape[-1])))
        super(Wishart, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self) -> tuple[int, ...]:
        return (*self._batch_shape, *self._event_shape)

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

    def _df_matrix(self, df: Tensor) -> Tensor:
        return df.view(*self._batch_shape, 1, 1)

    @property
    def mean(self) -> Tensor:
        return self._df_matrix(self.df) * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        # (df - p - 1) V where df > p + 1; PyTorch gives NaN elsewhere (df = p + 1 included).
        p = self._event_shape[-1]
        factor = self.df - p - 1
        factor = _C.where(factor > 0, factor, _C.full_like(factor, math.nan))
        return self._df_matrix(factor) * self.covariance_matrix

    @property
    def variance(self) -> Tensor:
        # Var(X_ij) = df (V_ij^2 + V_ii V_jj).
        v = self.covariance_matrix
        diag_v = v.diagonal(dim1=-2, dim2=-1)
        return self._df_matrix(self.df) * (v.pow(2) + diag_v.unsqueeze(-1) * diag_v.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape: Any = _EMPTY_SHAPE) -> Tensor:
        p = self._event_shape[-1]
        # A = diag(sqrt(chi2(df - i))) plus standard normal entries below the diagonal;
        # X = (L A)(L A)^T.
        chi = _clamp_above_eps(self._dist_chi2.rsample(sample_shape).sqrt())
        strictly_lower = _C.ones(p, p, dtype=chi.dtype, device=chi.device).tril(-1)
        noise = _C.empty((*chi.shape, p), dtype=chi.dtype, device=chi.device).normal_()
        a = _C.diag_embed(chi) + noise * strictly_lower
        chol = self._unbroadcasted_scale_tril @ a
        return chol @ chol.transpose(-2, -1)

    def rsample(self, sample_shape: Any = _EMPTY_SHAPE,
                max_try_correction: int | None = None) -> Tensor:  # fmt: skip
        r"""Reparameterized samples (differentiable in ``df`` and the scale matrix).

        A draw that is singular in floating point (possible for ``p - 1 < df < p``) is
        redrawn, at most ``max_try_correction`` times (default 10), with a warning.
        """
        if max_try_correction is None:
            max_try_correction = 10
        sample_shape = Size(sample_shape)
        sample = self._bartlett_sampling(sample_shape)
        singular = self._singular(sample)
        if bool(singular.any()):
            warnings.warn("Singular sample detected.", stacklevel=2)
            for _ in range(max_try_correction):
                redraw = self._bartlett_sampling(sample_shape)
                # Only the singular draws (whole batch entries) are replaced.
                mask = singular.reshape(*singular.shape, *((1,) * len(self._batch_shape)), 1, 1)
                sample = _C.where(mask, redraw, sample)
                singular = self._singular(sample)
                if not bool(singular.any()):
                    break
        return sample

    def _singular(self, sample: Tensor) -> Tensor:
        # One flag per draw: a batch is redrawn when any of its matrices is singular.
        singular = self.support.check(sample).logical_not()
        if self._batch_shape:
            singular = singular.amax(self._batch_dims)
        return singular

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        from .. import cholesky_solve, mvlgamma
        from ..linalg import slogdet

        nu = self.df
        p = self._event_shape[-1]
        lower = self._unbroadcasted_scale_tril
        half_log_det_v = lower.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        # tr(V^-1 X) through the Cholesky factor of V.
        trace = cholesky_solve(value, lower).diagonal(dim1=-2, dim2=-1).sum(-1)
        return (
            -nu * (p * _LOG_2 / 2 + half_log_det_v)
            - mvlgamma(nu / 2, p)
            + (nu - p - 1) / 2 * slogdet(value).logabsdet
            - trace / 2
        )

    def entropy(self) -> Tensor:
        from .. import mvlgamma

        nu = self.df
        p = self._event_shape[-1]
        half_log_det_v = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return (
            (p + 1) * (p * _LOG_2 / 2 + half_log_det_v)
            + mvlgamma(nu / 2, p)
            - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p)
            + nu * p / 2
        )

    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        p = self._event_shape[-1]
        return -self.precision_matrix / 2, (self.df - p - 1) / 2

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        from .. import mvlgamma
        from ..linalg import slogdet

        p = self._event_shape[-1]
        half_df = y + (p + 1) / 2
        return half_df * (-slogdet(-2 * x).logabsdet + _LOG_2 * p) + mvlgamma(half_df, p)
