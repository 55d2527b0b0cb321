"""The logistic-normal distribution: a normal vector mapped onto the simplex."""

from __future__ import annotations

from typing import Any, ClassVar

from .._C import Tensor
from . import constraints
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import StickBreakingTransform

__all__ = ["LogisticNormal"]


class LogisticNormal(TransformedDistribution):
    r"""A logistic-normal distribution parameterized by ``loc`` and ``scale`` (each of
    length ``K - 1`` in the last dimension)::

        X ~ Normal(loc, scale)
        Y = StickBreakingTransform()(X) ~ LogisticNormal(loc, scale)   # on the K-simplex

    Args:
        loc (float or Tensor): mean of the base distribution
        scale (float or Tensor): standard deviation of the base distribution
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.simplex
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        base_dist = Normal(loc, scale, validate_args=validate_args)
        if not base_dist.batch_shape:
            # A scalar base is a vector of one: the 2-simplex.
            base_dist = Normal(
                base_dist.loc.expand(1), base_dist.scale.expand(1), validate_args=False
            )
        super().__init__(base_dist, StickBreakingTransform(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> LogisticNormal:
        new = self._get_checked_instance(LogisticNormal, _instance)
        return super().expand(batch_shape, _instance=new)  # type: ignore[return-value]

    @property
    def loc(self) -> Tensor:
        return self.base_dist.base_dist.loc

    @property
    def scale(self) -> Tensor:
        return self.base_dist.base_dist.scale
