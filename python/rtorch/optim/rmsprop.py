"""RMSprop, optionally centered and with momentum."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import zeros_like
from .._C import Tensor
from ._ops import add_ratio_, ema_square_, lerp_
from .optimizer import (
    Optimizer,
    _increment_step,
    _run_closure,
    _step_as_tensor,
    _to_scalar,
    _use_grad_for_differentiable,
    _zero_step,
)

__all__ = ["RMSprop"]


def _rmsprop_update(
    param: Tensor,
    grad: Tensor,
    square_avg: Tensor,
    grad_avg: Tensor | None,
    momentum_buffer: Tensor | None,
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    maximize: bool,
) -> None:
    """One RMSprop update in place; centered when ``grad_avg`` is given.

    eps is added outside the square root, after subtracting the squared mean
    gradient in the centered variant.
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    ema_square_(square_avg, grad, alpha)
    if grad_avg is not None:
        lerp_(grad_avg, grad, 1 - alpha)
        avg = square_avg.sub(grad_avg.mul(grad_avg)).sqrt_().add(eps)
    else:
        avg = square_avg.sqrt().add(eps)
    if momentum_buffer is not None:
        momentum_buffer.mul_(momentum)
        add_ratio_(momentum_buffer, grad, avg, 1.0)
        param.add_(momentum_buffer, alpha=-lr)
    else:
        add_ratio_(param, grad, avg, -lr)


class RMSprop(Optimizer):
    r"""Implements the RMSprop algorithm.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize,
            or dicts defining parameter groups.
        lr (float, Tensor, optional): learning rate (default: 1e-2)
        alpha (float, optional): smoothing constant of the squared-gradient average
            (default: 0.99)
        eps (float, optional): added to the denominator (default: 1e-8)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        momentum (float, optional): momentum factor (default: 0)
        centered (bool, optional): normalize by the estimated variance of the gradient
            (default: False)
        capturable, foreach, differentiable: accepted and recorded like PyTorch's.
        maximize (bool, optional): maximize the objective (default: False)
    """

    def __init__(
        self,
        params: Any,
        lr: float | Tensor = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("momentum", 0)
            group.setdefault("centered", False)
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("capturable", False)
            for p in group["params"]:
                _step_as_tensor(self.state.get(p, {}))

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
            momentum = group["momentum"]
            centered = group["centered"]
            kwargs = {
                "lr": _to_scalar(group["lr"]),
                "alpha": group["alpha"],
                "eps": group["eps"],
                "weight_decay": group["weight_decay"],
                "momentum": momentum,
                "maximize": group["maximize"],
            }
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                p_state = state[p]
                if len(p_state) == 0:
                    p_state["step"] = _zero_step()
                    p_state["square_avg"] = zeros_like(p)
                    if momentum > 0:
                        p_state["momentum_buffer"] = zeros_like(p)
                    if centered:
                        p_state["grad_avg"] = zeros_like(p)
                _increment_step(p_state["step"])
                _rmsprop_update(
                    p,
                    grad,
                    p_state["square_avg"],
                    p_state["grad_avg"] if centered else None,
                    p_state["momentum_buffer"] if momentum > 0 else None,
                    **kwargs,
                )
        return loss
