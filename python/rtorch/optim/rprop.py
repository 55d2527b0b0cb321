"""Rprop: per-coordinate step sizes adapted by the sign agreement of successive gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import full_like, tensor, where, zeros_like
from .._C import Tensor
from .optimizer import (
    Optimizer,
    _check_lr,
    _increment_step,
    _to_scalar,
    _use_grad_for_differentiable,
    _zero_step,
)

__all__ = ["Rprop"]


def _rprop_update(
    param: Tensor,
    grad: Tensor,
    prev: Tensor,
    step_size: Tensor,
    *,
    etaminus: float,
    etaplus: float,
    step_size_min: float,
    step_size_max: float,
    maximize: bool,
) -> None:
    """One Rprop update in place.

    Where the gradient kept its sign the step grows by etaplus, where it flipped the
    step shrinks by etaminus and that coordinate skips this update (its gradient is
    remembered as 0); the parameter moves by step_size against the gradient's sign.
    """
    if maximize:
        grad = -grad
    agreement = grad.mul(prev).sign()
    # The factors in the gradient's dtype (a bare Python float would become float32).
    dtype = grad.dtype
    factor = where(
        agreement > 0,
        tensor(etaplus, dtype=dtype),
        where(agreement < 0, tensor(etaminus, dtype=dtype), tensor(1.0, dtype=dtype)),
    )
    step_size.mul_(factor).clamp_(step_size_min, step_size_max)
    grad = where(agreement < 0, 0.0, grad)
    param.add_(grad.sign().mul(step_size), alpha=-1)
    prev.copy_(grad)


class Rprop(Optimizer):
    r"""Implements the resilient backpropagation algorithm.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize,
            or dicts defining parameter groups.
        lr (float, Tensor, optional): initial step size (default: 1e-2)
        etas (tuple[float, float], optional): (etaminus, etaplus), the multiplicative
            decrease and increase factors (default: (0.5, 1.2))
        step_sizes (tuple[float, float], optional): minimal and maximal step sizes
            (default: (1e-6, 50))
        capturable, foreach, differentiable: accepted and recorded like PyTorch's.
        maximize (bool, optional): maximize the objective (default: False)
    """

    def __init__(
        self,
        params: Any,
        lr: float | Tensor = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {
            "lr": lr,
            "etas": etas,
            "step_sizes": step_sizes,
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
        """Perform a single optimization step (``closure`` re-evaluates the loss)."""
        return self._step_each_param(closure)

    def _group_options(self, group: dict[str, Any]) -> dict[str, Any]:
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        return {
            "etaminus": etaminus,
            "etaplus": etaplus,
            "step_size_min": step_size_min,
            "step_size_max": step_size_max,
            "maximize": group["maximize"],
        }

    def _init_state(
        self, p_state: dict[str, Any], param: Tensor, grad: Tensor, group: dict[str, Any]
    ) -> None:
        p_state["step"] = _zero_step()
        p_state["prev"] = zeros_like(param)
        p_state["step_size"] = full_like(grad, _to_scalar(group["lr"]))

    def _update(self, param: Tensor, grad: Tensor, p_state: dict[str, Any], options: Any) -> None:
        _increment_step(p_state["step"])
        _rprop_update(param, grad, p_state["prev"], p_state["step_size"], **options)
