"""``torch.nn.utils.parametrizations``: ``weight_norm`` as a parametrization."""

from __future__ import annotations

from typing import Any

from ..._C import Tensor
from ..modules.module import Module
from . import parametrize
from .weight_norm import norm_except_dim

__all__ = ["weight_norm"]


class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        if dim is None:
            dim = -1
        self.dim = dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / norm_except_dim(weight_v, 2, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        weight_g = norm_except_dim(weight, 2, self.dim)
        weight_v = weight
        return weight_g, weight_v


def weight_norm(module: Any, name: str = "weight", dim: int | None = 0) -> Any:
    r"""Applies weight normalization to parameter ``name`` of ``module`` as a
    parametrization: the magnitude and direction are
    ``module.parametrizations.<name>.original0`` (g) and ``original1`` (v), and
    ``module.<name>`` is recomputed as :math:`g \, v / \|v\|` on access. Returns ``module``.
    """
    _weight_norm = _WeightNorm(dim)
    parametrize.register_parametrization(module, name, _weight_norm, unsafe=True)
    return module
