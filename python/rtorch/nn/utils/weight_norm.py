"""Weight normalization by forward pre-hook (``torch.nn.utils.weight_norm``, deprecated in
PyTorch in favour of the parametrization form, but still widely used)."""

from __future__ import annotations

import warnings
from typing import Any

from ..._C import Tensor
from ..parameter import Parameter

__all__ = ["WeightNorm", "remove_weight_norm", "weight_norm"]


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:
    """The ``pow``-norm of ``v`` over every dimension but ``dim`` (keeping it as a size-1
    broadcastable shape); over everything when ``dim`` is -1."""
    if dim == -1:
        return v.norm(pow)
    d = dim % v.dim()
    others = [i for i in range(v.dim()) if i != d]
    return v.norm(pow, dim=others, keepdim=True)


class WeightNorm:
    """The forward pre-hook: recomputes ``name`` from ``name_g`` and ``name_v``."""

    name: str
    dim: int

    def __init__(self, name: str, dim: int) -> None:
        if dim is None:
            dim = -1
        self.name = name
        self.dim = dim

    def compute_weight(self, module: Any) -> Tensor:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / norm_except_dim(v, 2, self.dim))

    @staticmethod
    def apply(module: Any, name: str, dim: int) -> WeightNorm:
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two weight_norm hooks on the same parameter {name}"
                )
        if dim is None:
            dim = -1
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(norm_except_dim(weight, 2, dim).data))
        module.register_parameter(name + "_v", Parameter(weight.data))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Any) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.data))

    def __call__(self, module: Any, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module: Any, name: str = "weight", dim: int | None = 0) -> Any:
    r"""Applies weight normalization to parameter ``name`` of ``module``:
    :math:`\mathbf{w} = g \frac{\mathbf{v}}{\|\mathbf{v}\|}`, with the magnitude ``name_g``
    and direction ``name_v`` as the parameters (norm over every dim but ``dim``; the whole
    tensor when ``dim`` is None). Returns ``module``.
    """
    warnings.warn(
        "`torch.nn.utils.weight_norm` is deprecated in favor of "
        "`torch.nn.utils.parametrizations.weight_norm`.",
        FutureWarning,
        stacklevel=2,
    )
    WeightNorm.apply(module, name, -1 if dim is None else dim)
    return module


def remove_weight_norm(module: Any, name: str = "weight") -> Any:
    """Removes the weight normalization reparameterization from ``module``."""
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
