"""Full module backward hooks (``register_full_backward_hook`` / ``..._pre_hook``).

The module's tensor inputs and outputs that require grad are passed through an identity
autograd Function. The node on the outputs sees ``grad_output`` first (running the
backward pre-hooks, which may replace it); the node on the inputs then sees
``grad_input`` and runs the backward hooks with both.
"""

from __future__ import annotations

import warnings
from typing import Any

import rtorch

from ...autograd.function import Function


class BackwardHookFunction(Function):
    """Identity on its tensor arguments; a place to hang autograd node hooks."""

    @staticmethod
    def forward(ctx: Any, *args: Any) -> tuple:
        return args

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        return grads


def _pack_with_none(indices: list[int], values: Any, size: int) -> tuple:
    res: list[Any] = [None] * size
    for idx, val in zip(indices, values):
        res[idx] = val
    return tuple(res)


class BackwardHook:
    """Per-call state linking the output-side and input-side nodes of one module call."""

    def __init__(self, module: Any, user_hooks: list, user_pre_hooks: list) -> None:
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs: tuple | None = None
        self.n_outputs = -1
        self.output_tensors_index: list[int] | None = None
        self.n_inputs = -1
        self.input_tensors_index: list[int] | None = None
        self.constant_inputs: list[tuple[int, Any]] = []

    def _wrap(self, args: tuple) -> tuple[tuple, list[int] | None, Any]:
        """Routes the grad-requiring tensors of ``args`` through the identity Function."""
        idx = [i for i, a in enumerate(args) if isinstance(a, rtorch.Tensor) and a.requires_grad]
        if not idx or not rtorch.is_grad_enabled():
            return args, None, None
        new = BackwardHookFunction.apply(*(args[i] for i in idx))
        grad_fn = new[0].grad_fn
        out = list(args)
        for i, t in zip(idx, new):
            out[i] = t
        return tuple(out), idx, grad_fn

    def setup_input_hook(self, args: tuple) -> tuple:
        res, idx, grad_fn = self._wrap(args)
        self.n_inputs = len(args)
        self.input_tensors_index = idx
        if grad_fn is not None:
            # Tensor inputs that need no grad report zeros (PyTorch routes them through
            # its hook Function too, which materialises their gradients).
            self.constant_inputs = [
                (i, a)
                for i, a in enumerate(args)
                if isinstance(a, rtorch.Tensor) and not a.requires_grad
            ]
            grad_fn.register_hook(self._input_hook)
        return res

    def _input_hook(self, grad_input: tuple, _grad_output: tuple) -> tuple | None:
        if self.grad_outputs is None:
            # The gradient reached the inputs without passing through the outputs
            # (e.g. a double backward): nothing to report.
            return None
        assert self.input_tensors_index is not None
        packed = list(_pack_with_none(self.input_tensors_index, grad_input, self.n_inputs))
        for i, a in self.constant_inputs:
            packed[i] = rtorch.zeros_like(a)
        res = tuple(packed)
        for hook in self.user_hooks:
            out = hook(self.module, res, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(res):
                raise RuntimeError(
                    "Backward hook returned an invalid number of grad_input, got "
                    f"{len(out)}, but expected {len(res)}"
                )
            res = out
        self.grad_outputs = None
        return tuple(res[i] for i in self.input_tensors_index)

    def setup_output_hook(self, result: Any) -> Any:
        is_tuple = isinstance(result, tuple)
        args = result if is_tuple else (result,)
        res, idx, grad_fn = self._wrap(args)
        self.n_outputs = len(args)
        self.output_tensors_index = idx
        if grad_fn is not None:
            grad_fn.register_prehook(self._output_hook)
        return res if is_tuple else res[0]

    def _output_hook(self, grad_output: tuple) -> tuple | None:
        assert self.output_tensors_index is not None
        self.grad_outputs = _pack_with_none(self.output_tensors_index, grad_output, self.n_outputs)
        expected = len(self.grad_outputs)
        for hook in self.user_pre_hooks:
            new = hook(self.module, self.grad_outputs)
            if new is None:
                continue
            if len(new) != expected:
                raise RuntimeError(
                    "Backward pre hook returned an invalid number of grad_output, got "
                    f"{len(new)}, but expected {expected}"
                )
            self.grad_outputs = tuple(new)
        local = self.grad_outputs
        if self.input_tensors_index is None:
            # No input requires grad: the input-side node never runs, so call hooks now.
            if self.user_hooks:
                warnings.warn(
                    "Full backward hook is firing when gradients are computed with respect "
                    "to module outputs since no inputs require gradients. See "
                    "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                    "#torch.nn.Module.register_full_backward_hook for more details.",
                    stacklevel=2,
                )
            grad_inputs = _pack_with_none([], [], self.n_inputs)
            for hook in self.user_hooks:
                res = hook(self.module, grad_inputs, self.grad_outputs)
                if res is not None and not (
                    isinstance(res, tuple) and all(el is None for el in res)
                ):
                    raise RuntimeError(
                        "Backward hook for Modules where no input requires gradient should "
                        "always return None or None for all gradients."
                    )
            self.grad_outputs = None
        return tuple(local[i] for i in self.output_tensors_index)
