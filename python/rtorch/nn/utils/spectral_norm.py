"""Spectral normalization by forward pre-hook (``torch.nn.utils.spectral_norm``)."""

from __future__ import annotations

from typing import Any

import rtorch

from ..._C import Tensor
from .. import functional as F
from ..parameter import Parameter

__all__ = ["SpectralNorm", "remove_spectral_norm", "spectral_norm"]


class SpectralNorm:
    """The forward pre-hook: divides ``name_orig`` by its largest singular value, estimated
    by power iteration on the ``name_u``/``name_v`` buffers (iterated in training mode)."""

    _version: int = 1

    def __init__(
        self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        self.name = name
        self.dim = dim
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but got "
                f"n_power_iterations={n_power_iterations}"
            )
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        weight_mat = weight
        if self.dim != 0:
            perm = [self.dim, *(d for d in range(weight_mat.dim()) if d != self.dim)]
            weight_mat = weight_mat.permute(*perm)
        height = weight_mat.size(0)
        return weight_mat.reshape(height, -1)

    def compute_weight(self, module: Any, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with rtorch.no_grad():
                for _ in range(self.n_power_iterations):
                    # The buffers are updated in place (power iteration state).
                    v.copy_(F.normalize(rtorch.mv(weight_mat.t(), u), dim=0, eps=self.eps))
                    u.copy_(F.normalize(rtorch.mv(weight_mat, v), dim=0, eps=self.eps))
                u = u.clone()
                v = v.clone()
        sigma = rtorch.dot(u, rtorch.mv(weight_mat, v))
        return weight / sigma

    def remove(self, module: Any) -> None:
        with rtorch.no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module: Any, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(
        module: Any, name: str, n_power_iterations: int, dim: int, eps: float
    ) -> SpectralNorm:
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two spectral_norm hooks on the same parameter {name}"
                )
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        with rtorch.no_grad():
            weight_mat = fn.reshape_weight_to_matrix(weight)
            h, w = weight_mat.size()
            u = F.normalize(rtorch.empty(h, dtype=weight.dtype).normal_(0, 1), dim=0, eps=fn.eps)
            v = F.normalize(rtorch.empty(w, dtype=weight.dtype).normal_(0, 1), dim=0, eps=fn.eps)
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        # A plain attribute (not a parameter) holding the normalized weight.
        setattr(module, fn.name, weight.data)
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(
    module: Any,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Any:
    r"""Applies spectral normalization to parameter ``name`` of ``module``:
    :math:`\mathbf{W}_{SN} = \mathbf{W} / \sigma(\mathbf{W})`, with :math:`\sigma`
    estimated by ``n_power_iterations`` power-iteration steps per training forward.
    ``dim`` defaults to 1 for transposed convolutions, else 0. Returns ``module``.
    """
    if dim is None:
        dim = _output_channel_dim(module)
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def _output_channel_dim(module: Any) -> int:
    """The dimension of a weight's output channels, spectral norm's default ``dim``: 1
    for the transposed convolutions (weights ``(in, out, *kernel)``), else 0."""
    from ..modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d

    return 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0


def remove_spectral_norm(module: Any, name: str = "weight") -> Any:
    """Removes the spectral normalization reparameterization from ``module``."""
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")
