"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import ones, zeros_like
from .._C import Tensor, _fused_nadam_
from ._ops import ema_square_, lerp_
from .optimizer import (
    Optimizer,
    _check_betas,
    _check_lr,
    _check_non_negative,
    _increment_step,
    _scalar_dtype,
    _to_scalar,
    _use_grad_for_differentiable,
    _zero_step,
)

__all__ = ["NAdam"]


def _nadam_update(
    param: Tensor,
    grad: Tensor,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    mu_product: Tensor,
    step: float,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    momentum_decay: float,
    decoupled_weight_decay: bool,
    maximize: bool,
) -> None:
    """One NAdam update in place; ``mu_product`` (a 0-dim tensor) is advanced too.

    mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay)); the product of the mu's
    is kept in the tensor's own precision, as PyTorch keeps it.
    """
    if maximize:
        grad = -grad
    bias_correction2 = 1 - beta2**step
    if weight_decay != 0:
        if decoupled_weight_decay:
            param.mul_(1 - lr * weight_decay)
        else:
            grad = grad.add(param, alpha=weight_decay)
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
    mu_product.mul_(mu)
    mu_product_value = mu_product.item()
    lerp_(exp_avg, grad, 1 - beta1)
    ema_square_(exp_avg_sq, grad, beta2)
    inv_denom = exp_avg_sq.mul(1 / bias_correction2).sqrt_().add(eps).reciprocal()
    param.add_(grad.mul(inv_denom), alpha=-lr * (1.0 - mu) / (1.0 - mu_product_value))
    param.add_(exp_avg.mul(inv_denom), alpha=(-lr * mu_next) / (1.0 - mu_product_value * mu_next))


class NAdam(Optimizer):
    r"""Implements the NAdam algorithm.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize,
            or dicts defining parameter groups.
        lr (float, Tensor, optional): learning rate (default: 2e-3)
        betas (tuple[float, float], optional): coefficients of the running averages
            (default: (0.9, 0.999))
        eps (float, optional): added to the denominator (default: 1e-8)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        momentum_decay (float, optional): momentum decay psi (default: 4e-3)
        decoupled_weight_decay (bool, optional): decay the parameter directly, as AdamW
            does (NAdamW) (default: False)
        foreach, capturable, differentiable: accepted and recorded like PyTorch's.
        maximize (bool, optional): maximize the objective (default: False)
    """

    def __init__(
        self,
        params: Any,
        lr: float | Tensor = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        _check_non_negative(eps, "epsilon")
        _check_betas(betas)
        _check_non_negative(weight_decay, "weight_decay")
        _check_non_negative(momentum_decay, "momentum_decay")
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._setdefault_groups(
            maximize=False,
            foreach=None,
            capturable=False,
            differentiable=False,
            decoupled_weight_decay=False,
        )
        # Older checkpoints stored mu_product as a number; PyTorch 2.x keeps a tensor.
        for group in self.param_groups:
            for p in group["params"]:
                p_state = self.state.get(p, {})
                if p_state and not isinstance(p_state.get("mu_product"), Tensor):
                    value = float(p_state.get("mu_product", 1.0))
                    p_state["mu_product"] = ones((), dtype=_scalar_dtype()).mul_(value)

    @_use_grad_for_differentiable
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step (``closure`` re-evaluates the loss).

        Float32 and float64 parameters are updated by one fused Rust call per group
        (``_fused_nadam_``); other dtypes take the tensor-op path.
        """
        return self._step_fused(closure)

    def _fused_state_keys(self, group: dict[str, Any]) -> tuple[str | None, ...]:
        return ("exp_avg", "exp_avg_sq", "mu_product", "step")

    def _fused_update(
        self,
        group: dict[str, Any],
        params: list[Tensor],
        grads: list[Tensor],
        *state_lists: list[Any] | None,
    ) -> None:
        beta1, beta2 = group["betas"]
        _fused_nadam_(
            params,
            grads,
            *state_lists,
            lr=_to_scalar(group["lr"]),
            beta1=beta1,
            beta2=beta2,
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            momentum_decay=group["momentum_decay"],
            decoupled_weight_decay=bool(group["decoupled_weight_decay"]),
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
            "momentum_decay": group["momentum_decay"],
            "decoupled_weight_decay": group["decoupled_weight_decay"],
            "maximize": group["maximize"],
        }

    def _init_state(
        self, p_state: dict[str, Any], param: Tensor, grad: Tensor, group: dict[str, Any]
    ) -> None:
        p_state["step"] = _zero_step()
        p_state["mu_product"] = ones((), dtype=_scalar_dtype())
        p_state["exp_avg"] = zeros_like(param)
        p_state["exp_avg_sq"] = zeros_like(param)

    def _update(self, param: Tensor, grad: Tensor, p_state: dict[str, Any], options: Any) -> None:
        step = _increment_step(p_state["step"])
        _nadam_update(
            param,
            grad,
            p_state["exp_avg"],
            p_state["exp_avg_sq"],
            p_state["mu_product"],
            step,
            **options,
        )
