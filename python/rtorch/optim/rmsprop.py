"""RMSprop, optionally centered and with momentum."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import zeros_like
from .._C import Tensor, _fused_rmsprop_
from ._ops import add_ratio_, ema_square_, lerp_
from .optimizer import (
    Optimizer,
    _check_lr,
    _check_non_negative,
    _increment_step,
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
        _check_lr(lr)
        _check_non_negative(eps, "epsilon")
        _check_non_negative(momentum, "momentum")
        _check_non_negative(weight_decay, "weight_decay")
        _check_non_negative(alpha, "alpha")
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
        self._setdefault_groups(
            momentum=0,
            centered=False,
            foreach=None,
            maximize=False,
            differentiable=False,
            capturable=False,
        )

    @_use_grad_for_differentiable
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step (``closure`` re-evaluates the loss).

        Float32 and float64 parameters are updated by one fused Rust call per group
        (``_fused_rmsprop_``); other dtypes take the tensor-op path.
        """
        return self._step_fused(closure)

    def _fused_state_keys(self, group: dict[str, Any]) -> tuple[str | None, ...]:
        return (
            "square_avg",
            "grad_avg" if group["centered"] else None,
            "momentum_buffer" if group["momentum"] > 0 else None,
            "step",
        )

    def _fused_update(
        self,
        group: dict[str, Any],
        params: list[Tensor],
        grads: list[Tensor],
        *state_lists: list[Any] | None,
    ) -> None:
        _fused_rmsprop_(
            params,
            grads,
            *state_lists,
            lr=_to_scalar(group["lr"]),
            alpha=group["alpha"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            momentum=group["momentum"],
            maximize=bool(group["maximize"]),
        )

    def _group_options(self, group: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        return group["centered"], {
            "lr": _to_scalar(group["lr"]),
            "alpha": group["alpha"],
            "eps": group["eps"],
            "weight_decay": group["weight_decay"],
            "momentum": group["momentum"],
            "maximize": group["maximize"],
        }

    def _init_state(
        self, p_state: dict[str, Any], param: Tensor, grad: Tensor, group: dict[str, Any]
    ) -> None:
        p_state["step"] = _zero_step()
        p_state["square_avg"] = zeros_like(param)
        if group["momentum"] > 0:
            p_state["momentum_buffer"] = zeros_like(param)
        if group["centered"]:
            p_state["grad_avg"] = zeros_like(param)

    def _update(self, param: Tensor, grad: Tensor, p_state: dict[str, Any], options: Any) -> None:
        centered, kwargs = options
        _increment_step(p_state["step"])
        _rmsprop_update(
            param,
            grad,
            p_state["square_avg"],
            p_state["grad_avg"] if centered else None,
            p_state["momentum_buffer"] if kwargs["momentum"] > 0 else None,
            **kwargs,
        )
