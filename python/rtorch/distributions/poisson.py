"""The Poisson distribution."""

from __future__ import annotations

from numbers import Number
from typing import Any, ClassVar

from .._C import Tensor
from .._size import Size
from . import constraints
from .distribution import _EMPTY_SHAPE
from .exp_family import ExponentialFamily
from .utils import broadcast_all

__all__ = ["Poisson"]


class Poisson(ExponentialFamily):
    r"""A Poisson distribution parameterized by ``rate``:
    :math:`P(k) = \text{rate}^k e^{-\text{rate}} / k!`.

    Args:
        rate (Number, Tensor): the rate parameter
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        batch_shape = Size() if isinstance(rate, Number) else self.rate.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Poisson:
        return self._expand_parameters(Poisson, batch_shape, ("rate",), _instance)

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape: Any = _EMPTY_SHAPE) -> Tensor:
        from .._math_extras import poisson

        shape = self._extended_shape(sample_shape)
        return poisson(self.rate.detach().expand(tuple(shape)).contiguous())

    def log_prob(self, value: Tensor) -> Tensor:
        from .._C import lgamma
        from .._special_ops import xlogy

        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return xlogy(value, rate) - rate - lgamma(value + 1)

    # No _mean_carrier_measure: E[-log k!] has no closed form, so ``entropy`` raises
    # NotImplementedError as in PyTorch; the natural parameters still serve the Bregman KL.
    @property
    def _natural_params(self) -> tuple[Tensor]:
        # theta = log(rate) for t(k) = k.
        return (self.rate.log(),)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        return x.exp()
