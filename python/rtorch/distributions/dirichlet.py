"""The Dirichlet distribution."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import _C
from .._C import Tensor
from .._special_ops import xlogy
from ..autograd.function import Function
from . import constraints
from .exp_family import ExponentialFamily

__all__ = ["Dirichlet"]


class _Dirichlet(Function):
    """A Dirichlet draw, differentiable in the concentration by the implicit
    reparameterisation gradient: ``dx_j/dalpha_i = g_i (delta_ij - x_j)`` with
    ``g = torch._dirichlet_grad(x, alpha, alpha.sum(-1))``."""

    @staticmethod
    def forward(ctx: Any, concentration: Tensor) -> Tensor:
        from .._dtype_info import finfo
        from .._gamma_sampling import _sample_dirichlet

        x = _sample_dirichlet(concentration.detach())
        # PyTorch's draws stay inside (0, 1): at least the smallest normal and at most the
        # largest number below 1. A component rounded up to exactly 1 (tiny concentrations
        # elsewhere) would have an infinite density and a NaN implicit gradient.
        info = finfo(x.dtype)
        x = x.clamp(min=info.tiny, max=1 - info.eps / 2)
        ctx.save_for_backward(x, concentration)
        return x

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> Tensor:
        from .._gamma_sampling import _dirichlet_grad

        x, concentration = ctx.saved_tensors
        total = concentration.sum(-1, keepdim=True).expand_as(concentration)
        grad = _dirichlet_grad(x, concentration.detach(), total.detach())
        return grad * (grad_output - (x * grad_output).sum(-1, keepdim=True))


_Dirichlet._backward_name = "_DirichletBackward"


class Dirichlet(ExponentialFamily):
    r"""A Dirichlet distribution over the probability simplex, parameterized by
    ``concentration`` (its last dimension is the event dimension).

    Example::

        >>> m = Dirichlet(torch.tensor([0.5, 0.5]))
        >>> m.sample()  # Dirichlet distributed with concentration [0.5, 0.5]
        tensor([ 0.1046,  0.8954])

    Args:
        concentration (Tensor): concentration parameter of the distribution
            (often referred to as alpha)
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "concentration": constraints.independent(constraints.positive, 1)
    }
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Tensor, validate_args: bool | None = None) -> None:
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        batch_shape, event_shape = concentration.shape[:-1], concentration.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Dirichlet:
        return self._expand_parameters(Dirichlet, batch_shape, ("concentration",), _instance)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        return _Dirichlet.apply(self.concentration.expand(shape))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return xlogy(c - 1.0, value).sum(-1) + _C.lgamma(c.sum(-1)) - _C.lgamma(c).sum(-1)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        from ..nn.functional import one_hot

        cm1 = (self.concentration - 1).clamp(min=0.0)
        mode = cm1 / cm1.sum(-1, keepdim=True)
        # With every concentration below one the density peaks at the vertices; PyTorch
        # picks the argmax of the 0/0 ratios above, i.e. the first vertex.
        all_below = (self.concentration < 1).all(dim=-1, keepdim=True)
        vertex = one_hot(mode.argmax(dim=-1), cm1.shape[-1]).to(mode.dtype)
        return _C.where(all_below, vertex, mode)

    @property
    def variance(self) -> Tensor:
        c = self.concentration
        con0 = c.sum(-1, keepdim=True)
        return c * (con0 - c) / (con0.pow(2) * (con0 + 1))

    def entropy(self) -> Tensor:
        c = self.concentration
        k = c.size(-1)
        a0 = c.sum(-1)
        return (
            _C.lgamma(c).sum(-1)
            - _C.lgamma(a0)
            - (k - a0) * _C.digamma(a0)
            - ((c - 1.0) * _C.digamma(c)).sum(-1)
        )

    @property
    def _natural_params(self) -> tuple[Tensor]:
        return (self.concentration,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        return _C.lgamma(x).sum(-1) - _C.lgamma(x.sum(-1))
