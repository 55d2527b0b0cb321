"""Gradient clipping, as ``torch.nn.utils.clip_grad``."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Union

import rtorch

from ..._C import Tensor

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
]

_tensor_or_tensors = Union[Tensor, Iterable[Tensor]]


def _as_list(tensors: _tensor_or_tensors) -> list[Tensor]:
    if isinstance(tensors, Tensor):
        return [tensors]
    return list(tensors)


def get_total_norm(
    tensors: _tensor_or_tensors,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    r"""The norm of all ``tensors`` together, as if concatenated into one vector.

    Args:
        tensors: a tensor or an iterable of tensors (typically gradients).
        norm_type (float): order of the norm; ``inf`` for the infinity norm.
        error_if_nonfinite (bool): raise if the total norm is ``nan`` or ``inf``.
        foreach: accepted for compatibility (rtorch has a single implementation).

    Returns:
        Total norm of the tensors (a 0-dim tensor).
    """
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if len(tensors) == 0:
        return rtorch.tensor(0.0)
    norms = [rtorch.linalg.vector_norm(t, norm_type) for t in tensors]
    total_norm = rtorch.linalg.vector_norm(rtorch.stack(norms), norm_type)
    if error_if_nonfinite and bool(total_norm.isnan() | total_norm.isinf()):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return total_norm


def clip_grads_with_norm_(
    parameters: _tensor_or_tensors,
    max_norm: float,
    total_norm: Tensor,
    foreach: bool | None = None,
) -> None:
    r"""Scales the gradients of ``parameters`` by ``max_norm / (total_norm + 1e-6)`` when
    that factor is below 1 (gradients are modified in place)."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    clip_coef = float(max_norm) / (total_norm + 1e-6)
    # Multiplying by the clamped coefficient (rather than branching on it) avoids reading
    # the norm back to Python, as PyTorch does.
    clip_coef_clamped = rtorch.clamp(clip_coef, max=1.0)
    with rtorch.no_grad():
        for g in grads:
            g.mul_(clip_coef_clamped.to(g.dtype))


def clip_grad_norm_(
    parameters: _tensor_or_tensors,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    r"""Clips the gradient norm of an iterable of parameters.

    The norm is computed over all gradients together, as if they were concatenated into
    a single vector. Gradients are modified in place.

    Args:
        parameters: a tensor or an iterable of tensors whose gradients will be normalised.
        max_norm (float): max norm of the gradients.
        norm_type (float): type of the used p-norm; ``inf`` for the infinity norm.
        error_if_nonfinite (bool): if True, an error is thrown if the total norm of the
            gradients is ``nan``, ``inf`` or ``-inf``. Default: False
        foreach: accepted for compatibility.

    Returns:
        Total norm of the parameter gradients (viewed as a single vector).
    """
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(
    parameters: _tensor_or_tensors,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    r"""Deprecated alias of :func:`clip_grad_norm_`."""
    warnings.warn(
        "`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
        "`torch.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(
    parameters: _tensor_or_tensors, clip_value: float, foreach: bool | None = None
) -> None:
    r"""Clips the gradients of ``parameters`` to ``[-clip_value, clip_value]`` in place.

    Args:
        parameters: a tensor or an iterable of tensors whose gradients will be clipped.
        clip_value (float): maximum allowed absolute value of the gradients.
        foreach: accepted for compatibility.
    """
    clip_value = float(clip_value)
    with rtorch.no_grad():
        for p in _as_list(parameters):
            g = p.grad
            if g is not None:
                g.clamp_(min=-clip_value, max=clip_value)
