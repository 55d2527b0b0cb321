"""Adam (and, with decoupled weight decay, AdamW)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import maximum, zeros_like
from .._C import Tensor, _fused_adam_
from ._ops import add_ratio_, ema_square_, lerp_
from .optimizer import (
    Optimizer,
    _check_betas,
    _check_fused,
    _check_lr,
    _check_non_negative,
    _increment_step,
    _to_scalar,
    _use_grad_for_differentiable,
    _zero_step,
)

__all__ = ["Adam"]


def _adam_update(
    param: Tensor,
    grad: Tensor,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    max_exp_avg_sq: Tensor | None,
    step: float,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
    decoupled_weight_decay: bool,
) -> None:
    """One Adam update of ``param`` and its moments, in place (``step`` already counted).

    The arithmetic is PyTorch's single-tensor path: the denominator is
    sqrt(v) / sqrt(1 - beta2**t) + eps, eps outside the root.
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param.mul_(1 - lr * weight_decay)
        else:
            grad = grad.add(param, alpha=weight_decay)
    lerp_(exp_avg, grad, 1 - beta1)
    ema_square_(exp_avg_sq, grad, beta2)
    bias_correction1 = 1 - beta1**step
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    if max_exp_avg_sq is not None:
        max_exp_avg_sq.copy_(maximum(max_exp_avg_sq, exp_avg_sq))
        second = max_exp_avg_sq
    else:
        second = exp_avg_sq
    denom = second.sqrt().mul(1 / bias_correction2_sqrt).add(eps)
    add_ratio_(param, exp_avg, denom, -(lr / bias_correction1))


def _check_adam_args(lr: Any, betas: Any, eps: float, weight_decay: float) -> tuple:
    """PyTorch's argument checks for Adam and AdamW; returns the betas as numbers."""
    _check_lr(lr)
    _check_non_negative(eps, "epsilon")
    _check_betas(betas)
    _check_non_negative(weight_decay, "weight_decay")
    if not (
        (isinstance(betas[0], float) and isinstance(betas[1], float))
        or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))
    ):
        raise ValueError("betas must be either both floats or both Tensors")  # noqa: TRY004
    for i, beta in enumerate(betas):
        if isinstance(beta, Tensor) and beta.numel() != 1:
            raise ValueError(f"Tensor betas[{i}] must be 1-element")
    return (_to_scalar(betas[0]), _to_scalar(betas[1]))


class Adam(Optimizer):
    r"""Implements the Adam algorithm.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize,
            or dicts defining parameter groups.
        lr (float, Tensor, optional): learning rate (default: 1e-3)
        betas (tuple[float, float], optional): coefficients of the running averages of
            the gradient and its square (default: (0.9, 0.999))
        eps (float, optional): added to the denominator, outside the square root
            (default: 1e-8)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        amsgrad (bool, optional): use the AMSGrad variant (default: False)
        maximize (bool, optional): maximize the objective (default: False)
        decoupled_weight_decay (bool, optional): decay the parameter directly, as
            AdamW does (default: False)
        foreach, capturable, differentiable, fused: accepted and recorded like
            PyTorch's; rtorch runs one update path on the CPU for all of them.

    Example:
        >>> optimizer = rtorch.optim.Adam([w], lr=1e-3)
        >>> optimizer.zero_grad()
        >>> loss_fn(w).backward()
        >>> optimizer.step()
    """

    def __init__(
        self,
        params: Any,
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        betas = _check_adam_args(lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)
        _check_fused(fused, foreach, differentiable)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._setdefault_groups(
            amsgrad=False,
            maximize=False,
            foreach=None,
            capturable=False,
            differentiable=False,
            decoupled_weight_decay=False,
            fused=None,
        )

    @_use_grad_for_differentiable
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step (``closure`` re-evaluates the loss).

        Float32 and float64 parameters are updated by one fused Rust call per group
        (``_fused_adam_``, PyTorch's single-tensor arithmetic); other dtypes take the
        tensor-op path (``_adam_update``).
        """
        return self._step_fused(closure)

    def _fused_state_keys(self, group: dict[str, Any]) -> tuple[str | None, ...]:
        return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq" if group["amsgrad"] else None, "step")

    def _fused_update(
        self,
        group: dict[str, Any],
        params: list[Tensor],
        grads: list[Tensor],
        *state_lists: list[Any] | None,
    ) -> None:
        beta1, beta2 = group["betas"]
        _fused_adam_(
            params,
            grads,
            *state_lists,
            lr=_to_scalar(group["lr"]),
            beta1=_to_scalar(beta1),
            beta2=_to_scalar(beta2),
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            maximize=bool(group["maximize"]),
            decoupled_weight_decay=bool(group["decoupled_weight_decay"]),
        )

    def _group_options(self, group: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        beta1, beta2 = group["betas"]
        return group["amsgrad"], {
            "lr": _to_scalar(group["lr"]),
            "beta1": _to_scalar(beta1),
            "beta2": _to_scalar(beta2),
            "eps": group["eps"],
            "weight_decay": group["weight_decay"],
            "maximize": group["maximize"],
            "decoupled_weight_decay": group["decoupled_weight_decay"],
        }

    def _init_state(
        self, p_state: dict[str, Any], param: Tensor, grad: Tensor, group: dict[str, Any]
    ) -> None:
        p_state["step"] = _zero_step()
        p_state["exp_avg"] = zeros_like(param)
        p_state["exp_avg_sq"] = zeros_like(param)
        if group["amsgrad"]:
            p_state["max_exp_avg_sq"] = zeros_like(param)

    def _update(self, param: Tensor, grad: Tensor, p_state: dict[str, Any], options: Any) -> None:
        amsgrad, kwargs = options
        _adam_update(
            param,
            grad,
            p_state["exp_avg"],
            p_state["exp_avg_sq"],
            p_state["max_exp_avg_sq"] if amsgrad else None,
            _increment_step(p_state["step"]),
            **kwargs,
        )
