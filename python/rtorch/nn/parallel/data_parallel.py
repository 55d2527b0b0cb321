"""``DataParallel`` as on a machine without GPUs: the wrapped module runs as is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..modules.module import Module

__all__ = ["DataParallel", "data_parallel"]


class DataParallel(Module):
    r"""Implements data parallelism at the module level.

    PyTorch splits each input across the visible GPUs and runs a replica on each; with no
    GPU (as always in rtorch) it runs ``module`` itself, which is what this does. The
    wrapped module is the ``module`` attribute, so state dict keys gain a ``module.``
    prefix, as in PyTorch.

    Args:
        module: module to be parallelized
        device_ids: CUDA devices (must be empty or None here)
        output_device: device location of output (ignored without GPUs)
        dim: the dimension inputs are scattered along. Default: 0

    Example::

        >>> net = nn.DataParallel(model)
        >>> output = net(input_var)
    """

    def __init__(
        self,
        module: Module,
        device_ids: Sequence[Any] | None = None,
        output_device: Any = None,
        dim: int = 0,
    ) -> None:
        super().__init__()
        self.module = module
        self.device_ids: list[Any] = []
        self.dim = dim
        self.output_device = None
        self.src_device_obj = None
        if device_ids:
            from ..._runtime_api import _NO_DRIVER

            raise RuntimeError(_NO_DRIVER)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)


def data_parallel(
    module: Module,
    inputs: Any,
    device_ids: Sequence[Any] | None = None,
    output_device: Any = None,
    dim: int = 0,
    module_kwargs: Any = None,
) -> Any:
    """The functional form of :class:`DataParallel`: ``module(*inputs, **module_kwargs)``."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    return module(*inputs, **(module_kwargs or {}))
