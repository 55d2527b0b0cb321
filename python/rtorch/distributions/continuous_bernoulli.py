"""The continuous Bernoulli distribution (Loaiza-Ganem and Cunningham, NeurIPS 2019)."""

from __future__ import annotations

import math
from numbers import Number
from typing import Any, ClassVar

from .. import _C
from .._C import Tensor
from .._size import Size
from . import constraints
from .distribution import _EMPTY_SHAPE
from .exp_family import ExponentialFamily
from .utils import broadcast_all, clamp_probs, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(ExponentialFamily):
    r"""A continuous Bernoulli distribution on [0, 1], parameterized by ``probs`` or
    ``logits`` (but not both): the density is proportional to
    :math:`\lambda^x (1 - \lambda)^{1 - x}`.

    Unlike the Bernoulli, ``probs`` is not a probability and ``logits`` not log-odds;
    the names follow the Bernoulli. Near ``probs = 0.5`` the closed forms are 0/0, so
    inside ``lims`` they are replaced by their Taylor expansions around 0.5.

    Args:
        probs (Number, Tensor): (0, 1) valued parameters
        logits (Number, Tensor): real valued parameters whose sigmoid matches ``probs``
        lims (tuple of float): the interval of ``probs`` where the Taylor expansions are
            used. Default: ``(0.499, 0.501)``
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "probs": constraints.unit_interval,
        "logits": constraints.real,
    }
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(
        self,
        probs: Any = None,
        logits: Any = None,
        lims: tuple[float, float] = (0.499, 0.501),
        validate_args: bool | None = None,
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            is_scalar = isinstance(probs, Number)
            (self.probs,) = broadcast_all(probs)
            # probs is clamped away from 0 and 1 below, after which the generic check
            # would always pass: PyTorch checks it here, whenever validate_args is given
            # explicitly (True or False).
            if validate_args is not None and not bool(
                self.arg_constraints["probs"].check(self.probs).all()
            ):
                raise ValueError("The parameter probs has invalid values")
            self.probs = clamp_probs(self.probs)
        else:
            is_scalar = isinstance(logits, Number)
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        batch_shape = Size() if is_scalar else self._param.size()
        self._lims = lims
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> ContinuousBernoulli:
        new = self._expand_parameters(
            ContinuousBernoulli, batch_shape, ("probs", "logits"), _instance
        )
        new._lims = self._lims
        return new

    def _new(self, *args: Any, **kwargs: Any) -> Tensor:
        return self._param.new(*args, **kwargs)

    def _outside_unstable_region(self) -> Tensor:
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self) -> Tensor:
        # probs inside the unstable region are moved to its edge, so that the closed
        # forms (evaluated everywhere, then discarded there by `where`) stay finite and
        # so do their gradients.
        return _C.where(
            self._outside_unstable_region(),
            self.probs,
            _C.full_like(self.probs, self._lims[0]),
        )

    def _cont_bern_log_norm(self) -> Tensor:
        """The log of the normalizing constant C(p) = 2 atanh(1 - 2p) / (1 - 2p)."""
        cut_probs = self._cut_probs()
        below_half = cut_probs <= 0.5
        # log|1 - 2p|, with each branch fed a value at which it is finite.
        cut_below = _C.where(below_half, cut_probs, _C.zeros_like(cut_probs))
        cut_above = _C.where(cut_probs >= 0.5, cut_probs, _C.ones_like(cut_probs))
        log_abs_one_minus_two_p = _C.where(
            below_half, (-2.0 * cut_below).log1p(), (2.0 * cut_above - 1.0).log()
        )
        log_norm = ((-cut_probs).log1p() - cut_probs.log()).abs().log() - log_abs_one_minus_two_p
        x = (self.probs - 0.5).pow(2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return _C.where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self) -> Tensor:
        cut_probs = self._cut_probs()
        mus = cut_probs / (2.0 * cut_probs - 1.0) + 1.0 / ((-cut_probs).log1p() - cut_probs.log())
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x.pow(2)) * x
        return _C.where(self._outside_unstable_region(), mus, taylor)

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    @property
    def variance(self) -> Tensor:
        cut_probs = self._cut_probs()
        variances = cut_probs * (cut_probs - 1.0) / (1.0 - 2.0 * cut_probs).pow(2) + 1.0 / (
            (-cut_probs).log1p() - cut_probs.log()
        ).pow(2)
        x = (self.probs - 0.5).pow(2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return _C.where(self._outside_unstable_region(), variances, taylor)

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    @property
    def param_shape(self) -> Size:
        return self._param.size()

    def sample(self, sample_shape: Any = _EMPTY_SHAPE) -> Tensor:
        from ..autograd import no_grad

        shape = tuple(self._extended_shape(sample_shape))
        u = _C.rand(shape, dtype=self.probs.dtype, device=self.probs.device)
        with no_grad():
            return self.icdf(u)

    def rsample(self, sample_shape: Any = _EMPTY_SHAPE) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        u = _C.rand(shape, dtype=self.probs.dtype, device=self.probs.device)
        return self.icdf(u)

    def log_prob(self, value: Tensor) -> Tensor:
        from ..nn.functional import binary_cross_entropy_with_logits

        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return (
            -binary_cross_entropy_with_logits(logits, value, reduction="none")
            + self._cont_bern_log_norm()
        )

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        cut_probs = self._cut_probs()
        cdfs = (cut_probs.pow(value) * (1.0 - cut_probs).pow(1.0 - value) + cut_probs - 1.0) / (
            2.0 * cut_probs - 1.0
        )
        # Inside the unstable region the distribution is uniform to first order.
        unbounded = _C.where(self._outside_unstable_region(), cdfs, value)
        return _C.where(
            value <= 0.0,
            _C.zeros_like(value),
            _C.where(value >= 1.0, _C.ones_like(value), unbounded),
        )

    def icdf(self, value: Tensor) -> Tensor:
        cut_probs = self._cut_probs()
        closed_form = (
            (-cut_probs + value * (2.0 * cut_probs - 1.0)).log1p() - (-cut_probs).log1p()
        ) / (cut_probs.log() - (-cut_probs).log1p())
        return _C.where(self._outside_unstable_region(), closed_form, value)

    def entropy(self) -> Tensor:
        log_probs0 = (-self.probs).log1p()
        log_probs1 = self.probs.log()
        return self.mean * (log_probs0 - log_probs1) - self._cont_bern_log_norm() - log_probs0

    @property
    def _natural_params(self) -> tuple[Tensor]:
        return (self.logits,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        """The log normalizer as a function of the natural parameter ``x`` (the logits)."""
        outside = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        cut_x = _C.where(outside, x, _C.full_like(x, self._lims[0] - 0.5))
        log_norm = cut_x.expm1().abs().log() - cut_x.abs().log()
        taylor = 0.5 * x + x.pow(2) / 24.0 - x.pow(4) / 2880.0
        return _C.where(outside, log_norm, taylor)
