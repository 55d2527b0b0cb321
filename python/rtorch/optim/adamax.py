"""Adamax: Adam with the infinity norm in place of the squared-gradient average."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import maximum, zeros_like
from .._C import Tensor, _fused_adamax_
from ._ops import add_ratio_, lerp_
from .optimizer import (
    Optimizer,
    _check_betas,
    _check_lr,
    _check_non_negative,
    _increment_step,
    _to_scalar,
    _use_grad_for_differentiable,
    _zero_step,
)

__all__ = ["Adamax"]


def _adamax_update(
    param: Tensor,
    grad: Tensor,
    exp_avg: Tensor,
    exp_inf: Tensor,
    step: float,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    """One Adamax update in place: exp_inf = max(beta2 * exp_inf, |grad| + eps)."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    lerp_(exp_avg, grad, 1 - beta1)
    exp_inf.copy_(maximum(exp_inf.mul(beta2), grad.abs().add(eps)))
    add_ratio_(param, exp_avg, exp_inf, -lr / (1 - beta1**step))


class Adamax(Optimizer):
    r"""Implements the Adamax algorithm (a variant of Adam based on the infinity norm).

    Args:
        params (iterable): iterable of parameters or named parameters to optimize,
            or dicts defining parameter groups.
        lr (float, Tensor, optional): learning rate (default: 2e-3)
        betas (tuple[float, float], optional): coefficients of the running averages
            (default: (0.9, 0.999))
        eps (float, optional): added to |grad| (default: 1e-8)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        foreach, differentiable, capturable: accepted and recorded like PyTorch's.
        maximize (bool, optional): maximize the objective (default: False)
    """

    def __init__(
        self,
        params: Any,
        lr: float | Tensor = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check_lr(lr)
        _check_non_negative(eps, "epsilon")
        _check_betas(betas)
        _check_non_negative(weight_decay, "weight_decay")
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
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
        (``_fused_adamax_``); other dtypes take the tensor-op path.
        """
        return self._step_fused(closure)

    def _fused_state_keys(self, group: dict[str, Any]) -> tuple[str | None, ...]:
        return ("exp_avg", "exp_inf", "step")

    def _fused_update(
        self,
        group: dict[str, Any],
        params: list[Tensor],
        grads: list[Tensor],
        *state_lists: list[Any] | None,
    ) -> None:
        beta1, beta2 = group["betas"]
        _fused_adamax_(
            params,
            grads,
            *state_lists,
            lr=_to_scalar(group["lr"]),
            beta1=beta1,
            beta2=beta2,
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            maximize=bool(group["maximize"]),
        )

    def _group_options(self, group: dict[str, Any]) -> dict[str, Any]:
        beta1, beta2 = group["betas"]
        return {
            "lr": _to_scalar(group["lr"]),
            "beta1": beta1,
            "beta2": beta2,
            "eps": group["eps"],
            "weight_decay": group["weight_decay"],
            "maximize": group["maximize"],
        }

    def _init_state(
        self, p_state: dict[str, Any], param: Tensor, grad: Tensor, group: dict[str, Any]
    ) -> None:
        p_state["step"] = _zero_step()
        p_state["exp_avg"] = zeros_like(param)
        p_state["exp_inf"] = zeros_like(param)

    def _update(self, param: Tensor, grad: Tensor, p_state: dict[str, Any], options: Any) -> None:
        step = _increment_step(p_state["step"])
        _adamax_update(param, grad, p_state["exp_avg"], p_state["exp_inf"], step, **options)
