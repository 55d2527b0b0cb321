"""ASGD: SGD with a decaying step size and a running (Polyak) average of the iterates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import ones, tensor, zeros_like
from .._C import Tensor
from .optimizer import (
    Optimizer,
    _check_lr,
    _check_non_negative,
    _increment_step,
    _scalar_dtype,
    _to_scalar,
    _use_grad_for_differentiable,
    _zero_step,
)

__all__ = ["ASGD"]


def _asgd_update(
    param: Tensor,
    grad: Tensor,
    ax: Tensor,
    eta: Tensor,
    mu: Tensor,
    step: float,
    *,
    lr: float,
    lambd: float,
    alpha: float,
    t0: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    """One ASGD update in place; ``eta`` and ``mu`` (0-dim tensors) are advanced too.

    The step size is eta_t = lr / (1 + lambd * lr * t) ** alpha; averaging starts at
    step t0 (mu_t = 1 / max(1, t - t0)).
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    eta_value = eta.item()
    param.mul_(1 - lambd * eta_value)
    param.add_(grad, alpha=-eta_value)
    mu_value = mu.item()
    if mu_value != 1:
        ax.add_(param.sub(ax).mul(mu_value))
    else:
        ax.copy_(param)
    eta.fill_(lr / ((1 + lambd * lr * step) ** alpha))
    mu.fill_(1 / max(1, step - t0))


class ASGD(Optimizer):
    r"""Implements averaged stochastic gradient descent.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize,
            or dicts defining parameter groups.
        lr (float, Tensor, optional): learning rate (default: 1e-2)
        lambd (float, optional): decay term (default: 1e-4)
        alpha (float, optional): power for the eta update (default: 0.75)
        t0 (float, optional): point at which to start averaging (default: 1e6)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        foreach, differentiable, capturable: accepted and recorded like PyTorch's.
        maximize (bool, optional): maximize the objective (default: False)
    """

    def __init__(
        self,
        params: Any,
        lr: float | Tensor = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check_lr(lr)
        _check_non_negative(lambd, "lambd")
        _check_non_negative(alpha, "alpha")
        _check_non_negative(weight_decay, "weight_decay")
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
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
        # Older checkpoints stored eta and mu as numbers; PyTorch 2.x keeps tensors.
        for group in self.param_groups:
            for p in group["params"]:
                p_state = self.state.get(p, {})
                for key in ("eta", "mu"):
                    if p_state and not isinstance(p_state.get(key), Tensor):
                        p_state[key] = tensor(float(p_state[key]), dtype=_scalar_dtype())

    @_use_grad_for_differentiable
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step (``closure`` re-evaluates the loss)."""
        return self._step_each_param(closure)

    def _group_options(self, group: dict[str, Any]) -> dict[str, Any]:
        return {
            "lr": _to_scalar(group["lr"]),
            "lambd": group["lambd"],
            "alpha": group["alpha"],
            "t0": group["t0"],
            "weight_decay": group["weight_decay"],
            "maximize": group["maximize"],
        }

    def _init_state(
        self, p_state: dict[str, Any], param: Tensor, grad: Tensor, group: dict[str, Any]
    ) -> None:
        p_state["step"] = _zero_step()
        p_state["eta"] = tensor(_to_scalar(group["lr"]), dtype=_scalar_dtype())
        p_state["mu"] = ones((), dtype=_scalar_dtype())
        p_state["ax"] = zeros_like(param)

    def _update(self, param: Tensor, grad: Tensor, p_state: dict[str, Any], options: Any) -> None:
        step = _increment_step(p_state["step"])
        _asgd_update(param, grad, p_state["ax"], p_state["eta"], p_state["mu"], step, **options)
