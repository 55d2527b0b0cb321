"""``rtorch.autograd``: reverse-mode automatic differentiation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

from .. import _C
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)

_TensorOrTensors = Union["_C.Tensor", Sequence["_C.Tensor"]]


def backward(
    tensors: _TensorOrTensors,
    grad_tensors: _TensorOrTensors | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: _TensorOrTensors | None = None,
) -> None:
    """Accumulates gradients of ``tensors`` into the leaves of the graph."""
    if isinstance(tensors, _C.Tensor):
        tensors = [tensors]
    if isinstance(grad_tensors, _C.Tensor):
        grad_tensors = [grad_tensors]
    if isinstance(inputs, _C.Tensor):
        inputs = [inputs]
    _C._backward(list(tensors), grad_tensors, retain_graph, create_graph, inputs)


def grad(
    outputs: _TensorOrTensors,
    inputs: _TensorOrTensors,
    grad_outputs: _TensorOrTensors | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple:
    """Returns the gradients of ``outputs`` with respect to ``inputs``."""
    if is_grads_batched:
        raise NotImplementedError("is_grads_batched=True is not supported by rtorch")
    if isinstance(outputs, _C.Tensor):
        outputs = [outputs]
    if isinstance(inputs, _C.Tensor):
        inputs = [inputs]
    if isinstance(grad_outputs, _C.Tensor):
        grad_outputs = [grad_outputs]
    outputs, inputs = list(outputs), list(inputs)
    if grad_outputs is not None and len(list(grad_outputs)) != len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(list(grad_outputs))} gradients")
    return tuple(
        _C._grad(
            list(outputs),
            list(inputs),
            grad_outputs,
            retain_graph,
            create_graph,
            allow_unused,
            materialize_grads,
        )
    )


__all__ = [
    "Function",
    "FunctionCtx",
    "GradcheckError",
    "Variable",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "function",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "graph",
    "inference_mode",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "once_differentiable",
    "set_detect_anomaly",
    "set_grad_enabled",
]

from . import function, functional, graph
from .anomaly_mode import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from .function import Function, FunctionCtx, once_differentiable
from .gradcheck import GradcheckError, gradcheck, gradgradcheck


class _VariableMeta(type):
    def __instancecheck__(cls, other: object) -> bool:
        return isinstance(other, _C.Tensor)


class Variable(metaclass=_VariableMeta):
    """Legacy ``Variable(tensor, requires_grad=...)``: returns the tensor itself."""

    def __new__(
        cls, data: _C.Tensor, requires_grad: bool = False, volatile: bool = False
    ) -> _C.Tensor:  # type: ignore[misc]
        if requires_grad:
            data.requires_grad_(True)
        return data


def is_multithreading_enabled() -> bool:
    """Whether the backward pass may run on several threads (always True here)."""
    return True


class set_multithreading_enabled:
    """Context manager (and decorator) that PyTorch uses to turn multithreaded backward
    on or off; rtorch's backward needs no switch, so it only records the request."""

    def __init__(self, mode: bool) -> None:
        self.mode = mode

    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None

    def __call__(self, fn: object) -> object:
        return fn

    def clone(self) -> set_multithreading_enabled:
        return self.__class__(self.mode)


def is_view_replay_enabled() -> bool:
    """False: rtorch does not replay views in backward."""
    return False
