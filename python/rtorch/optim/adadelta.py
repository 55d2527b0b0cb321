"""Adadelta: steps scaled by the ratio of running RMS of updates and of gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import zeros_like
from .._C import Tensor, _fused_adadelta_
from ._ops import ema_square_
from .optimizer import (
    Optimizer,
    _check_lr,
    _check_non_negative,
    _increment_step,
    _to_scalar,
    _use_grad_for_differentiable,
    _zero_step,
)

__all__ = ["Adadelta"]


def _adadelta_update(
    param: Tensor,
    grad: Tensor,
    square_avg: Tensor,
    acc_delta: Tensor,
    *,
    lr: float,
    rho: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    """One Adadelta update in place; eps sits inside both square roots."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    ema_square_(square_avg, grad, rho)
    std = square_avg.add(eps).sqrt_()
    delta = acc_delta.add(eps).sqrt_().mul(std.reciprocal_()).mul(grad)
    ema_square_(acc_delta, delta, rho)
    param.add_(delta, alpha=-lr)


class Adadelta(Optimizer):
    r"""Implements the Adadelta algorithm.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize,
            or dicts defining parameter groups.
        lr (float, Tensor, optional): coefficient that scales delta before it is applied
            to the parameters (default: 1.0)
        rho (float, optional): coefficient of the running averages (default: 0.9)
        eps (float, optional): added inside the square roots (default: 1e-6)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        foreach, capturable, differentiable: accepted and recorded like PyTorch's.
        maximize (bool, optional): maximize the objective (default: False)
    """

    def __init__(
        self,
        params: Any,
        lr: float | Tensor = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_non_negative(eps, "epsilon")
        _check_non_negative(weight_decay, "weight_decay")
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "capturable": capturable,
            "foreach": foreach,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._setdefault_groups(
            foreach=None, maximize=False, differentiable=False, capturable=False
        )

    @_use_grad_for_differentiable
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step (``closure`` re-evaluates the loss).

        Float32 and float64 parameters are updated by one fused Rust call per group
        (``_fused_adadelta_``); other dtypes take the tensor-op path.
        """
        return self._step_fused(closure)

    def _fused_state_keys(self, group: dict[str, Any]) -> tuple[str | None, ...]:
        return ("square_avg", "acc_delta", "step")

    def _fused_update(
        self,
        group: dict[str, Any],
        params: list[Tensor],
        grads: list[Tensor],
        *state_lists: list[Any] | None,
    ) -> None:
        _fused_adadelta_(
            params,
            grads,
            *state_lists,
            lr=_to_scalar(group["lr"]),
            rho=group["rho"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            maximize=bool(group["maximize"]),
        )

    def _group_options(self, group: dict[str, Any]) -> dict[str, Any]:
        return {
            "lr": _to_scalar(group["lr"]),
            "rho": group["rho"],
            "eps": group["eps"],
            "weight_decay": group["weight_decay"],
            "maximize": group["maximize"],
        }

    def _init_state(
        self, p_state: dict[str, Any], param: Tensor, grad: Tensor, group: dict[str, Any]
    ) -> None:
        p_state["step"] = _zero_step()
        p_state["square_avg"] = zeros_like(param)
        p_state["acc_delta"] = zeros_like(param)

    def _update(self, param: Tensor, grad: Tensor, p_state: dict[str, Any], options: Any) -> None:
        _increment_step(p_state["step"])
        _adadelta_update(param, grad, p_state["square_avg"], p_state["acc_delta"], **options)
