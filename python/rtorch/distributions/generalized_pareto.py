"""The generalized Pareto distribution."""

from __future__ import annotations

import math
from numbers import Number
from typing import Any, ClassVar

from .. import _C
from .._C import Tensor
from .._size import Size
from . import constraints
from .distribution import _EMPTY_SHAPE, Distribution
from .utils import broadcast_all

__all__ = ["GeneralizedPareto"]

# PyTorch treats a concentration as zero where isclose(c, 0) holds: |c| <= atol = 1e-8.
_ZERO_CONCENTRATION_ATOL = 1e-8


class GeneralizedPareto(Distribution):
    r"""A generalized Pareto distribution parameterized by ``loc``, ``scale`` and
    ``concentration`` :math:`\xi`: the survival function is
    :math:`(1 + \xi z)^{-1/\xi}` with :math:`z = (x - loc) / scale` (:math:`e^{-z}` at
    :math:`\xi = 0`).

    Special cases: Exponential (``loc = 0``, ``concentration = 0``), Pareto
    (``concentration > 0``, ``loc = scale / concentration``) and Uniform
    (``concentration = -1``). The support is ``[loc, inf)`` for
    ``concentration >= 0`` and ``[loc, loc - scale / concentration]`` below zero.

    Args:
        loc (float or Tensor): location parameter of the distribution
        scale (float or Tensor): scale parameter of the distribution
        concentration (float or Tensor): concentration (shape) parameter
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "concentration": constraints.real,
    }
    has_rsample = True

    def __init__(
        self, loc: Any, scale: Any, concentration: Any, validate_args: bool | None = None
    ) -> None:
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        if all(isinstance(v, Number) for v in (loc, scale, concentration)):
            batch_shape = Size()
        else:
            batch_shape = self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> GeneralizedPareto:
        return self._expand_parameters(
            GeneralizedPareto, batch_shape, ("loc", "scale", "concentration"), _instance
        )

    def _zero_and_safe_concentration(self) -> tuple[Tensor, Tensor]:
        # Where the concentration is (numerically) zero the xi != 0 formulas divide by
        # zero; they are fed 1 there and their result discarded, so that neither the
        # value nor its gradient picks up NaN.
        c = self.concentration
        eq_zero = c.abs() <= _ZERO_CONCENTRATION_ATOL
        return eq_zero, _C.where(eq_zero, _C.ones_like(c), c)

    def _z(self, x: Tensor) -> Tensor:
        return (x - self.loc) / self.scale

    def rsample(self, sample_shape: Any = _EMPTY_SHAPE) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        u = _C.rand(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.icdf(u)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._zero_and_safe_concentration()
        y = 1 / safe_conc + _C.ones_like(z)
        # At xi = -1 (uniform) y is 0 and y * log1p(-z) would be 0 * -inf at the top edge.
        nonzero_term = _C.where(y == 0, y, y * (safe_conc * z).log1p())
        return -self.scale.log() - _C.where(eq_zero, z, nonzero_term)

    def log_survival_function(self, value: Tensor) -> Tensor:
        """The log of the survival function ``1 - cdf`` evaluated at ``value``."""
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._zero_and_safe_concentration()
        nonzero_term = -(safe_conc * z).log1p() / safe_conc
        return _C.where(eq_zero, -z, nonzero_term)

    def log_cdf(self, value: Tensor) -> Tensor:
        """The log of the cumulative distribution function evaluated at ``value``."""
        return (-self.log_survival_function(value).exp()).log1p()

    def cdf(self, value: Tensor) -> Tensor:
        return self.log_cdf(value).exp()

    def icdf(self, value: Tensor) -> Tensor:
        eq_zero, safe_conc = self._zero_and_safe_concentration()
        log_survival = (-value).log1p()
        nonzero = self.loc + self.scale / safe_conc * (-safe_conc * log_survival).expm1()
        zero = self.loc - self.scale * log_survival
        return _C.where(eq_zero, zero, nonzero)

    @property
    def mean(self) -> Tensor:
        # Finite only for concentration < 1.
        # (Python scalars in `where`, so that integer parameters promote to float.)
        c = self.concentration
        valid = c < 1
        safe_conc = _C.where(valid, c, 0.5)
        return _C.where(valid, self.loc + self.scale / (1 - safe_conc), math.nan)

    @property
    def variance(self) -> Tensor:
        # Finite only for concentration < 1/2.
        c = self.concentration
        valid = c < 0.5
        safe_conc = _C.where(valid, c, 0.25)
        result = self.scale.pow(2) / ((1 - safe_conc).pow(2) * (1 - 2 * safe_conc))
        return _C.where(valid, result, math.nan)

    @property
    def mode(self) -> Tensor:
        return self.loc

    def entropy(self) -> Tensor:
        result = self.scale.log() + self.concentration + 1
        return result.expand(tuple(self._batch_shape))

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> constraints.Constraint:
        lower = self.loc
        upper = _C.where(
            self.concentration < 0,
            lower - self.scale / self.concentration,
            _C.full_like(lower, math.inf),
        )
        return constraints.interval(lower, upper)
