"""The gamma distribution."""

from __future__ import annotations

from numbers import Number
from typing import Any, ClassVar

from .. import _C
from .._C import Tensor
from .._size import Size
from .._special_ops import xlogy
from . import constraints
from .distribution import _EMPTY_SHAPE
from .exp_family import ExponentialFamily
from .utils import broadcast_all

__all__ = ["Gamma"]


def _clamp_tiny_keep_grad(value: Tensor) -> Tensor:
    """``value`` raised to at least its dtype's smallest normal, with the gradient of the
    unclamped value (PyTorch clamps a detached alias in place)."""
    from .._dtype_info import finfo

    tiny = finfo(value.dtype).tiny
    small = value <= tiny
    if not bool(small.any()):
        return value
    clamped = _C.where(small, _C.full_like(value, tiny), value)
    if not value.requires_grad:
        return clamped
    return value + (clamped - value).detach()


class Gamma(ExponentialFamily):
    r"""A gamma distribution with shape ``concentration`` and ``rate`` (inverse scale):
    :math:`p(x) = \frac{r^c}{\Gamma(c)} x^{c-1} e^{-r x}`.

    Example::

        >>> m = Gamma(torch.tensor([1.0]), torch.tensor([1.0]))
        >>> m.sample()  # Gamma distributed with concentration=1 and rate=1
        tensor([ 0.1046])

    Args:
        concentration (float or Tensor): shape parameter of the distribution
            (often referred to as alpha)
        rate (float or Tensor): rate parameter of the distribution
            (often referred to as beta), rate = 1 / scale
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "concentration": constraints.positive,
        "rate": constraints.positive,
    }
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration: Any, rate: Any, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        if isinstance(concentration, Number) and isinstance(rate, Number):
            batch_shape = Size()
        else:
            batch_shape = self.concentration.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Gamma:
        return self._expand_parameters(Gamma, batch_shape, ("concentration", "rate"), _instance)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape: Any = _EMPTY_SHAPE, generator: Any = None) -> Tensor:
        """Reparameterised draws (implicit gradient in the concentration), from
        ``generator`` when given (as PyTorch's, which alone of the families takes one)."""
        from .._gamma_sampling import _standard_gamma

        shape = tuple(self._extended_shape(sample_shape))
        draws = _standard_gamma(self.concentration.expand(shape), generator=generator)
        return _clamp_tiny_keep_grad(draws / self.rate.expand(shape))

    def sample(self, sample_shape: Any = _EMPTY_SHAPE, *, generator: Any = None) -> Tensor:
        from ..autograd import no_grad

        with no_grad():
            return self.rsample(sample_shape, generator=generator)

    def log_prob(self, value: Any) -> Tensor:
        value = _C.as_tensor(value, dtype=self.rate.dtype, device=self.rate.device)
        if self._validate_args:
            self._validate_sample(value)
        return (
            xlogy(self.concentration, self.rate)
            + xlogy(self.concentration - 1, value)
            - self.rate * value
            - _C.lgamma(self.concentration)
        )

    def entropy(self) -> Tensor:
        c = self.concentration
        return c - self.rate.log() + _C.lgamma(c) + (1.0 - c) * _C.digamma(c)

    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        return _C.lgamma(x + 1) + (x + 1) * (-y.reciprocal()).log()

    def cdf(self, value: Tensor) -> Tensor:
        from .._incomplete_gamma import igamma

        if self._validate_args:
            self._validate_sample(value)
        return igamma(self.concentration, self.rate * value)
