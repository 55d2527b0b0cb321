"""Adagrad: per-coordinate steps scaled by the root of the summed squared gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import full_like
from .._C import Tensor, _fused_adagrad_
from ._ops import add_ratio_
from .optimizer import (
    Optimizer,
    _check_fused,
    _check_lr,
    _check_non_negative,
    _increment_step,
    _to_scalar,
    _use_grad_for_differentiable,
    _zero_step,
)

__all__ = ["Adagrad"]


def _adagrad_update(
    param: Tensor,
    grad: Tensor,
    state_sum: Tensor,
    step: float,
    *,
    lr: float,
    lr_decay: float,
    weight_decay: float,
    eps: float,
    maximize: bool,
) -> None:
    """One Adagrad update in place (``step`` already counted)."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum.add_(grad.mul(grad))
    add_ratio_(param, grad, state_sum.sqrt().add(eps), -clr)


class Adagrad(Optimizer):
    r"""Implements the Adagrad algorithm.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize,
            or dicts defining parameter groups.
        lr (float, Tensor, optional): learning rate (default: 1e-2)
        lr_decay (float, optional): learning rate decay (default: 0)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        initial_accumulator_value (float, optional): initial value of the sum of
            squared gradients (default: 0)
        eps (float, optional): added to the denominator (default: 1e-10)
        foreach, differentiable, fused: accepted and recorded like PyTorch's.
        maximize (bool, optional): maximize the objective (default: False)

    Unlike the other optimizers, Adagrad creates its state when it is constructed.
    """

    def __init__(
        self,
        params: Any,
        lr: float | Tensor = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        _check_lr(lr)
        _check_non_negative(lr_decay, "lr_decay")
        _check_non_negative(weight_decay, "weight_decay")
        _check_non_negative(initial_accumulator_value, "initial_accumulator_value")
        _check_non_negative(eps, "epsilon")
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)
        _check_fused(fused, foreach, differentiable)
        # Unlike the other optimizers, the state exists from the start (PyTorch's rule).
        for group in self.param_groups:
            for p in group["params"]:
                p_state = self.state[p]
                p_state["step"] = _zero_step()
                p_state["sum"] = full_like(p, initial_accumulator_value)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._setdefault_groups(foreach=None, maximize=False, differentiable=False, fused=None)

    def share_memory(self) -> None:
        """Move the accumulators to shared memory: a no-op, rtorch shares no tensors
        between processes."""

    @_use_grad_for_differentiable
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step (``closure`` re-evaluates the loss).

        Float32 and float64 parameters are updated by one fused Rust call per group
        (``_fused_adagrad_``); other dtypes take the tensor-op path.
        """
        return self._step_fused(closure)

    def _fused_state_keys(self, group: dict[str, Any]) -> tuple[str | None, ...]:
        return ("sum", "step")

    def _fused_update(
        self,
        group: dict[str, Any],
        params: list[Tensor],
        grads: list[Tensor],
        *state_lists: list[Any] | None,
    ) -> None:
        _fused_adagrad_(
            params,
            grads,
            *state_lists,
            lr=_to_scalar(group["lr"]),
            lr_decay=group["lr_decay"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=bool(group["maximize"]),
        )

    def _group_options(self, group: dict[str, Any]) -> dict[str, Any]:
        return {
            "lr": _to_scalar(group["lr"]),
            "lr_decay": group["lr_decay"],
            "weight_decay": group["weight_decay"],
            "eps": group["eps"],
            "maximize": group["maximize"],
        }

    def _init_state(
        self, p_state: dict[str, Any], param: Tensor, grad: Tensor, group: dict[str, Any]
    ) -> None:
        # A group added after construction gets its state on first use.
        p_state["step"] = _zero_step()
        p_state["sum"] = full_like(param, group["initial_accumulator_value"])

    def _update(self, param: Tensor, grad: Tensor, p_state: dict[str, Any], options: Any) -> None:
        step = _increment_step(p_state["step"])
        _adagrad_update(param, grad, p_state["sum"], step, **options)
