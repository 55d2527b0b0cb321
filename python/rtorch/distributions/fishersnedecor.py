"""The Fisher-Snedecor (F) distribution."""

from __future__ import annotations

import math
from numbers import Number
from typing import Any, ClassVar

from .. import _C
from .._C import Tensor
from .._size import Size
from . import constraints
from .distribution import _EMPTY_SHAPE, Distribution
from .gamma import Gamma
from .utils import broadcast_all

__all__ = ["FisherSnedecor"]


class FisherSnedecor(Distribution):
    r"""A Fisher-Snedecor distribution with ``df1`` and ``df2`` degrees of freedom: the
    ratio of two independent chi-squared variables, each divided by its degrees of
    freedom (sampled as a ratio of Gamma(df/2, df/2) draws, so reparameterised).

    Args:
        df1 (float or Tensor): degrees of freedom parameter 1
        df2 (float or Tensor): degrees of freedom parameter 2
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "df1": constraints.positive,
        "df2": constraints.positive,
    }
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1: Any, df2: Any, validate_args: bool | None = None) -> None:
        self.df1, self.df2 = broadcast_all(df1, df2)
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2)
        if isinstance(df1, Number) and isinstance(df2, Number):
            batch_shape = Size()
        else:
            batch_shape = self.df1.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> FisherSnedecor:
        new = self._expand_parameters(FisherSnedecor, batch_shape, ("df1", "df2"), _instance)
        new._gamma1 = self._gamma1.expand(new.batch_shape)
        new._gamma2 = self._gamma2.expand(new.batch_shape)
        return new

    @property
    def mean(self) -> Tensor:
        df2 = _C.where(self.df2 <= 2, _C.full_like(self.df2, math.nan), self.df2)
        return df2 / (df2 - 2)

    @property
    def mode(self) -> Tensor:
        mode = (self.df1 - 2) / self.df1 * self.df2 / (self.df2 + 2)
        return _C.where(self.df1 <= 2, _C.full_like(mode, math.nan), mode)

    @property
    def variance(self) -> Tensor:
        df2 = _C.where(self.df2 <= 4, _C.full_like(self.df2, math.nan), self.df2)
        return 2 * df2.pow(2) * (self.df1 + df2 - 2) / (self.df1 * (df2 - 2).pow(2) * (df2 - 4))

    def rsample(self, sample_shape: Any = _EMPTY_SHAPE) -> Tensor:
        from .._dtype_info import finfo

        shape = tuple(self._extended_shape(sample_shape))
        # Numerator Gamma(df1/2, rate=df1) over Gamma(df2/2, rate=df2): each is a
        # chi-squared over twice its degrees of freedom, and the factors of two cancel.
        x1 = self._gamma1.rsample(sample_shape).view(shape)
        x2 = self._gamma2.rsample(sample_shape).view(shape)
        tiny = finfo(x2.dtype).tiny
        x2 = _keep_grad_clamp(x2, tiny)
        return _keep_grad_clamp(x1 / x2, tiny)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        ct1 = self.df1 * 0.5
        ct2 = self.df2 * 0.5
        ct3 = self.df1 / self.df2
        t1 = _C.lgamma(ct1 + ct2) - _C.lgamma(ct1) - _C.lgamma(ct2)
        t2 = ct1 * ct3.log() + (ct1 - 1) * value.log()
        t3 = (ct1 + ct2) * (ct3 * value).log1p()
        return t1 + t2 - t3


def _keep_grad_clamp(value: Tensor, tiny: float) -> Tensor:
    """``value`` raised to at least ``tiny``, passing the gradient through unchanged."""
    small = value < tiny
    if not bool(small.any()):
        return value
    clamped = _C.where(small, _C.full_like(value, tiny), value)
    return value + (clamped - value).detach() if value.requires_grad else clamped
