"""The von Mises distribution: a normal distribution wrapped onto the circle."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from .. import _C
from .._bessel_ops import i0e, i1e
from .._C import Tensor
from .._size import Size
from . import constraints
from .distribution import _EMPTY_SHAPE, Distribution
from .utils import broadcast_all, lazy_property

__all__ = ["VonMises"]


def _log_i0(x: Tensor) -> Tensor:
    """``log(I_0(x))`` for ``x >= 0`` through the scaled Bessel function, which does not
    overflow: ``I_0(x) = i0e(x) * exp(x)``."""
    return i0e(x).log() + x


def _i1_over_i0(x: Tensor) -> Tensor:
    """``I_1(x) / I_0(x)``, the mean resultant length, as a ratio of scaled functions."""
    return i1e(x) / i0e(x)


_LARGE_CONCENTRATION = 1e5


def _normal_envelope_sample(concentration: Tensor, wanted: Tensor) -> Tensor:
    """Exact von Mises draws (angles around 0) by rejection from a normal envelope, for
    large concentrations: on [-pi, pi], 1 - cos x = 2 sin(x/2)^2 >= 2 x^2 / pi^2, so the
    density exp(-kappa (1 - cos x)) lies under exp(-2 kappa x^2 / pi^2), a normal of
    variance pi^2 / (4 kappa); a proposal inside [-pi, pi] is accepted with probability
    exp(-kappa (1 - cos x) + 2 kappa x^2 / pi^2) (about 2/pi for large kappa). Computed
    with the half-angle sine, so nothing cancels however large kappa is."""
    kappa = _C.where(wanted, concentration, _C.ones_like(concentration))
    std = math.pi / (2 * kappa.sqrt())
    x = _C.zeros_like(kappa)
    done = wanted.logical_not()
    while not bool(done.all()):
        proposal = _C.randn(tuple(kappa.shape), dtype=kappa.dtype, device=kappa.device) * std
        u = _C.rand(tuple(kappa.shape), dtype=kappa.dtype, device=kappa.device)
        half_sine = (proposal / 2).sin()
        log_ratio = kappa * (2 * proposal * proposal / math.pi**2 - 2 * half_sine * half_sine)
        accept = (proposal.abs() <= math.pi) & (u.log() <= log_ratio) & done.logical_not()
        x = _C.where(accept, proposal, x)
        done = done | accept
    return x


def _rejection_sample(loc: Tensor, concentration: Tensor, proposal_r: Tensor, shape: Any) -> Tensor:
    """Best and Fisher's (1979) wrapped-Cauchy rejection sampler, in rounds: every round
    proposes for the whole batch and keeps the first accepted value of each element."""
    # A concentration that is NaN or not positive (possible with validate_args=False)
    # would never be accepted, and an infinite one has no finite proposal: those are
    # settled up front (NaN, and exactly loc) instead of looping for ever.
    concentration = concentration.expand(shape)
    unusable = (concentration > 0).logical_not()
    infinite = concentration == math.inf
    # Best and Fisher's r - 1 is about 1 / (2 kappa), lost in float64 from kappa ~ 1e15 on
    # (no proposal is ever accepted then): large concentrations take the normal envelope.
    large = (concentration >= _LARGE_CONCENTRATION) & infinite.logical_not()
    x = _C.where(unusable, math.nan, _C.zeros(shape, dtype=loc.dtype, device=loc.device))
    if bool(large.any()):
        x = _C.where(large, _normal_envelope_sample(concentration, large), x)
    done = unusable | infinite | large
    while not bool(done.all()):
        u1, u2, u3 = _C.rand((3, *shape), dtype=loc.dtype, device=loc.device).unbind(0)
        z = (math.pi * u1).cos()
        f = (1 + proposal_r * z) / (proposal_r + z)
        c = concentration * (proposal_r - f)
        # The cheap squeeze test first; the log test decides the rest exactly.
        accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
        take = accept & done.logical_not()
        x = _C.where(take, (u3 - 0.5).sign() * f.acos(), x)
        done = done | accept
    # Angles are returned in [-pi, pi).
    return (x + math.pi + loc) % (2 * math.pi) - math.pi


class VonMises(Distribution):
    r"""A circular von Mises distribution with density
    :math:`\exp(\kappa \cos(x - \mu)) / (2 \pi I_0(\kappa))`.

    This implementation uses polar coordinates: ``loc`` and ``value`` may be any real
    number (to allow unconstrained optimization) and are read as angles modulo
    :math:`2 \pi`. Samples lie in :math:`[-\pi, \pi)`.

    Args:
        loc (Tensor): an angle in radians.
        concentration (Tensor): the concentration :math:`\kappa > 0`.
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "loc": constraints.real,
        "concentration": constraints.positive,
    }
    support = constraints.real
    has_rsample = False

    def __init__(self, loc: Any, concentration: Any, validate_args: bool | None = None) -> None:
        self.loc, self.concentration = broadcast_all(loc, concentration)
        batch_shape = self.loc.shape
        super().__init__(batch_shape, Size(), validate_args)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        log_prob = self.concentration * (value - self.loc).cos()
        return log_prob - math.log(2 * math.pi) - _log_i0(self.concentration)

    @lazy_property
    def _loc(self) -> Tensor:
        return self.loc.to(_C.float64)

    @lazy_property
    def _concentration(self) -> Tensor:
        return self.concentration.to(_C.float64)

    @lazy_property
    def _proposal_r(self) -> Tensor:
        # r = (1 + rho^2) / (2 rho) of Best and Fisher; for tiny kappa its closed form
        # is 0/0 in floating point and its expansion 1/kappa + kappa is exact enough.
        kappa = self._concentration
        tau = 1 + (1 + 4 * kappa**2).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
        proposal_r = (1 + rho**2) / (2 * rho)
        proposal_r_taylor = 1 / kappa + kappa
        return _C.where(kappa < 1e-5, proposal_r_taylor, proposal_r)

    def sample(self, sample_shape: Any = _EMPTY_SHAPE) -> Tensor:
        """Samples by Best and Fisher's rejection method ("Efficient simulation of the von
        Mises distribution", Applied Statistics 1979), always in float64: in float32 the
        acceptance test stalls for small concentrations (around 1e-4)."""
        from ..autograd import no_grad

        shape = tuple(self._extended_shape(sample_shape))
        with no_grad():
            draws = _rejection_sample(
                self._loc.detach(), self._concentration.detach(), self._proposal_r.detach(), shape
            )
            return draws.to(self.loc.dtype)

    def expand(self, batch_shape: Any, _instance: Any = None) -> VonMises:
        try:
            return super().expand(batch_shape)  # type: ignore[return-value]
        except NotImplementedError:
            validate_args = self.__dict__.get("_validate_args")
            loc = self.loc.expand(batch_shape)
            concentration = self.concentration.expand(batch_shape)
            return type(self)(loc, concentration, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        """The circular mean."""
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @lazy_property
    def variance(self) -> Tensor:  # type: ignore[override]
        """The circular variance ``1 - I_1(kappa) / I_0(kappa)``."""
        return 1 - _i1_over_i0(self.concentration)
