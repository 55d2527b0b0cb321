"""Adagrad: per-coordinate steps scaled by the root of the summed squared gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import full_like
from .._C import Tensor
from ._ops import add_ratio_
from .optimizer import (
    Optimizer,
    _increment_step,
    _run_closure,
    _step_as_tensor,
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
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}"
            )
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
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
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        for group in self.param_groups:
            for p in group["params"]:
                p_state = self.state[p]
                p_state["step"] = _zero_step()
                p_state["sum"] = full_like(p, initial_accumulator_value)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("fused", None)
            for p in group["params"]:
                _step_as_tensor(self.state.get(p, {}))

    def share_memory(self) -> None:
        """Move the accumulators to shared memory: a no-op, rtorch shares no tensors
        between processes."""

    @_use_grad_for_differentiable
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step.

        Args:
            closure (Callable, optional): a closure that reevaluates the model and
                returns the loss.
        """
        loss = _run_closure(closure)
        state = self.state
        for group in self.param_groups:
            kwargs = {
                "lr": _to_scalar(group["lr"]),
                "lr_decay": group["lr_decay"],
                "weight_decay": group["weight_decay"],
                "eps": group["eps"],
                "maximize": group["maximize"],
            }
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                p_state = state[p]
                if len(p_state) == 0:
                    # A group added after construction gets its state on first use.
                    p_state["step"] = _zero_step()
                    p_state["sum"] = full_like(p, group["initial_accumulator_value"])
                step = _increment_step(p_state["step"])
                _adagrad_update(p, grad, p_state["sum"], step, **kwargs)
        return loss
