"""``ExponentialFamily``: the base class of distributions in the exponential family."""

from __future__ import annotations

from typing import Any

from .._C import Tensor
from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    r"""Distributions whose density has the form

    .. math::

        p_F(x; \theta) = \exp(\langle t(x), \theta\rangle - F(\theta) + k(x))

    with natural parameters :math:`\theta`, sufficient statistic :math:`t(x)`, log
    normalizer :math:`F(\theta)` and carrier measure :math:`k(x)`.

    Subclasses provide ``_natural_params``, ``_log_normalizer`` and
    ``_mean_carrier_measure``; the entropy then follows as a Bregman divergence of the
    log normalizer, differentiated by autograd (and so is itself differentiable).
    """

    @property
    def _natural_params(self) -> tuple[Tensor, ...]:
        """The natural parameters :math:`\\theta`, a tuple of tensors."""
        raise NotImplementedError

    def _log_normalizer(self, *natural_params: Tensor) -> Tensor:
        """The log normalizer :math:`F(\\theta)` at the given natural parameters."""
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self) -> Any:
        """The expected carrier measure :math:`E[k(x)]`, needed for the entropy."""
        raise NotImplementedError

    def entropy(self) -> Tensor:
        r"""The entropy :math:`F(\theta) - \langle\theta, \nabla F(\theta)\rangle - E[k(x)]`."""
        from ..autograd import grad

        result = -self._mean_carrier_measure
        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        lg_normal = self._log_normalizer(*nparams)
        gradients = grad(lg_normal.sum(), nparams, create_graph=True)
        result = result + lg_normal
        for param, g in zip(nparams, gradients):
            result = result - (param * g).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result
