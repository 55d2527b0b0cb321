"""Flattening parameters into one vector and back, as
``torch.nn.utils.convert_parameters``."""

from __future__ import annotations

from collections.abc import Iterable

import rtorch

from ..._C import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_param_device(param: Tensor, old_param_device: object) -> object:
    device = param.device
    if old_param_device is None:
        return device
    if device != old_param_device:
        raise TypeError(
            "Found two parameters on different devices, this is currently not supported."
        )
    return old_param_device


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    r"""Flattens an iterable of parameters into a single vector (a new tensor).

    Args:
        parameters (Iterable[Tensor]): an iterable of tensors, e.g. a model's parameters.

    Returns:
        The parameters concatenated into one 1-D tensor.
    """
    device = None
    vec = []
    for param in parameters:
        device = _check_param_device(param, device)
        vec.append(param.view(-1))
    return rtorch.cat(vec)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    r"""Sets the parameters' data to consecutive slices of ``vec``.

    Each parameter becomes a view of ``vec`` (as in PyTorch, which assigns ``.data``).

    Args:
        vec (Tensor): a single vector holding all the parameters' values.
        parameters (Iterable[Tensor]): an iterable of tensors, e.g. a model's parameters.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    device = None
    pointer = 0
    for param in parameters:
        device = _check_param_device(param, device)
        num_param = param.numel()
        param.data = vec[pointer : pointer + num_param].view_as(param).detach()
        pointer += num_param
