# ruff: noqa: N999  (PyTorch names this module studentT)
"""Student's t-distribution."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from .. import _C
from .._C import Tensor
from . import constraints
from .chi2 import Chi2
from .distribution import _EMPTY_SHAPE, Distribution
from .utils import broadcast_all

__all__ = ["StudentT"]


class StudentT(Distribution):
    r"""A Student's t-distribution with ``df`` degrees of freedom, location ``loc`` and
    scale ``scale``; sampled as ``loc + scale * X / sqrt(Z / df)`` with ``X`` standard
    normal and ``Z`` chi-squared with ``df`` degrees of freedom (so reparameterised).

    Args:
        df (float or Tensor): degrees of freedom
        loc (float or Tensor): mean of the distribution
        scale (float or Tensor): scale of the distribution
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "df": constraints.positive,
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.real
    has_rsample = True

    def __init__(
        self, df: Any, loc: Any = 0.0, scale: Any = 1.0, validate_args: bool | None = None
    ) -> None:
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        super().__init__(self.df.size(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> StudentT:
        new = self._expand_parameters(StudentT, batch_shape, ("df", "loc", "scale"), _instance)
        new._chi2 = self._chi2.expand(new.batch_shape)
        return new

    @property
    def mean(self) -> Tensor:
        # Undefined (NaN) for df <= 1.
        return _C.where(self.df <= 1, _C.full_like(self.loc, math.nan), self.loc)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        df = self.df
        finite = self.scale.pow(2) * df / _C.where(df > 2, df - 2, _C.ones_like(df))
        m = _C.where(df > 2, finite, df)
        m = _C.where((df <= 2) & (df > 1), _C.full_like(m, math.inf), m)
        return _C.where(df <= 1, _C.full_like(m, math.nan), m)

    def rsample(self, sample_shape: Any = _EMPTY_SHAPE) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        x = _C.empty(shape, dtype=self.df.dtype, device=self.df.device).normal_()
        z = self._chi2.rsample(sample_shape)
        y = x * (z / self.df).rsqrt()
        return self.loc + self.scale * y

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        df = self.df
        y = (value - self.loc) / self.scale
        log_norm = (
            self.scale.log()
            + 0.5 * df.log()
            + 0.5 * math.log(math.pi)
            + _C.lgamma(0.5 * df)
            - _C.lgamma(0.5 * (df + 1.0))
        )
        return -0.5 * (df + 1.0) * (y.pow(2) / df).log1p() - log_norm

    def entropy(self) -> Tensor:
        df = self.df
        lbeta = _C.lgamma(0.5 * df) + math.lgamma(0.5) - _C.lgamma(0.5 * (df + 1))
        return (
            self.scale.log()
            + 0.5 * (df + 1) * (_C.digamma(0.5 * (df + 1)) - _C.digamma(0.5 * df))
            + 0.5 * df.log()
            + lbeta
        )
