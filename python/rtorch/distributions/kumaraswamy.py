"""The Kumaraswamy distribution on the unit interval."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from .. import _C
from .._C import Tensor
from .._size import Size
from . import constraints
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, PowerTransform
from .uniform import Uniform
from .utils import broadcast_all, euler_constant

__all__ = ["Kumaraswamy"]

_EULER_GAMMA = euler_constant


def _moments(a: Tensor, b: Tensor, n: int) -> Tensor:
    """The n-th raw moment ``b B(1 + n/a, b)``, through log-gammas."""
    arg1 = 1 + n / a
    log_value = _C.lgamma(arg1) + _C.lgamma(b) - _C.lgamma(arg1 + b)
    return b * log_value.exp()


class Kumaraswamy(TransformedDistribution):
    r"""A Kumaraswamy distribution, with cdf ``1 - (1 - x^a)^b`` on ``[0, 1]``::

        U ~ Uniform(0, 1)
        Y = (1 - U ** (1 / b)) ** (1 / a) ~ Kumaraswamy(a, b)

    Args:
        concentration1 (float or Tensor): 1st concentration parameter (alpha, ``a``)
        concentration0 (float or Tensor): 2nd concentration parameter (beta, ``b``)
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1: Any, concentration0: Any,
                 validate_args: bool | None = None) -> None:  # fmt: skip
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        base_dist = Uniform(
            _C.full_like(self.concentration0, 0),
            _C.full_like(self.concentration0, 1),
            validate_args=validate_args,
        )
        transforms = [
            PowerTransform(exponent=self.concentration0.reciprocal()),
            AffineTransform(loc=1.0, scale=-1.0),
            PowerTransform(exponent=self.concentration1.reciprocal()),
        ]
        super().__init__(base_dist, transforms, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Kumaraswamy:
        new = self._get_checked_instance(Kumaraswamy, _instance)
        shape = tuple(Size(batch_shape))
        new.concentration1 = self.concentration1.expand(shape)
        new.concentration0 = self.concentration0.expand(shape)
        return super().expand(batch_shape, _instance=new)  # type: ignore[return-value]

    @property
    def mean(self) -> Tensor:
        return _moments(self.concentration1, self.concentration0, 1)

    @property
    def mode(self) -> Tensor:
        # ((a - 1) / (a b - 1)) ** (1 / a), in log space; NaN where a < 1 or b < 1 (the
        # density is unbounded at an end point there).
        a, b = self.concentration1, self.concentration0
        log_mode = a.reciprocal() * ((a - 1).log() - (a * b - 1).log())
        return _C.where((a < 1) | (b < 1), math.nan, log_mode).exp()

    @property
    def variance(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        return _moments(a, b, 2) - self.mean.pow(2)

    def entropy(self) -> Tensor:
        t1 = 1 - self.concentration1.reciprocal()
        t0 = 1 - self.concentration0.reciprocal()
        h0 = _C.digamma(self.concentration0 + 1) + _EULER_GAMMA
        return t0 + t1 * h0 - self.concentration1.log() - self.concentration0.log()
