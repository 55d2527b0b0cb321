"""Adafactor: Adam-like steps with a factored (row x column) second-moment estimate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import finfo, zeros, zeros_like
from .._C import Tensor
from ..linalg import vector_norm
from .optimizer import (
    Optimizer,
    _increment_step,
    _to_scalar,
    _use_grad_for_differentiable,
    _zero_step,
)

__all__ = ["Adafactor"]


def _adafactor_update(
    param: Tensor,
    grad: Tensor,
    row_var: Tensor | None,
    col_var: Tensor | None,
    variance: Tensor | None,
    step: float,
    *,
    lr: float,
    beta2_decay: float,
    eps1: float,
    eps2: float,
    d: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    """One Adafactor update in place (``step`` already counted).

    Matrices (and batches of them) keep the mean squared gradient per row and per
    column; their outer product over the row mean estimates the second moment. The
    relative step size is min(lr, 1/sqrt(t)) times the parameter's RMS (at least eps2),
    and the update's RMS is clipped to d.
    """
    if maximize:
        grad = -grad
    one_minus_beta2_t = step**beta2_decay
    rho_t = min(lr, 1 / (step**0.5))
    alpha = max(eps2, param.norm(2).item() / (param.numel() ** 0.5)) * rho_t
    if weight_decay != 0:
        param.mul_(1 - lr * weight_decay)
    if grad.dim() > 1:
        row_mean = vector_norm(grad, dim=-1, keepdim=True).square_().div_(grad.size(-1))
        row_var.lerp_(row_mean, one_minus_beta2_t)
        col_mean = vector_norm(grad, dim=-2, keepdim=True).square_().div_(grad.size(-2))
        col_var.lerp_(col_mean, one_minus_beta2_t)
        var_estimate = row_var @ col_var
        var_estimate.div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=eps1))
    else:
        variance.lerp_(grad * grad, one_minus_beta2_t)
        var_estimate = variance.clone()
    update = var_estimate.clamp_(min=eps1 * eps1).rsqrt_().mul_(grad)
    denom = max(1.0, update.norm(2).item() / ((update.numel() ** 0.5) * d))
    param.add_(update, alpha=-alpha / denom)


class Adafactor(Optimizer):
    r"""Implements the Adafactor algorithm.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize,
            or dicts defining parameter groups.
        lr (float, Tensor, optional): the maximal relative step size (default: 1e-2)
        beta2_decay (float, optional): decay rate of the second moment: beta2 at step t
            is 1 - t**beta2_decay (default: -0.8)
        eps (tuple[float, float], optional): epsilon1 added to the second moment
            (default: None, the dtype's machine epsilon) and epsilon2, the smallest
            relative step (default: 1e-3)
        d (float, optional): clipping threshold on the update's RMS (default: 1.0)
        weight_decay (float, optional): decoupled weight decay (default: 0.0)
        foreach: accepted and recorded like PyTorch's.
        maximize (bool, optional): maximize the objective (default: False)
    """

    def __init__(
        self,
        params: Any,
        lr: float | Tensor = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {
            "lr": lr,
            "beta2_decay": beta2_decay,
            "eps": eps,
            "d": d,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._setdefault_groups(foreach=None)

    @_use_grad_for_differentiable
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step (``closure`` re-evaluates the loss)."""
        return self._step_each_param(closure)

    def _group_options(self, group: dict[str, Any]) -> dict[str, Any]:
        eps1, eps2 = group["eps"]
        return {
            "lr": _to_scalar(group["lr"]),
            "beta2_decay": group["beta2_decay"],
            "eps1": eps1,
            "eps2": eps2,
            "d": group["d"],
            "weight_decay": group["weight_decay"],
            "maximize": group["maximize"],
        }

    def _init_state(
        self, p_state: dict[str, Any], param: Tensor, grad: Tensor, group: dict[str, Any]
    ) -> None:
        p_state["step"] = _zero_step()
        if grad.dim() > 1:
            # Row and column statistics, reduced along the last two dims.
            shape = list(grad.shape)
            p_state["row_var"] = zeros(shape[:-1] + [1], dtype=grad.dtype)
            p_state["col_var"] = zeros(shape[:-2] + [1, shape[-1]], dtype=grad.dtype)
        else:
            p_state["variance"] = zeros_like(grad)

    def _update(self, param: Tensor, grad: Tensor, p_state: dict[str, Any], options: Any) -> None:
        if options["eps1"] is None:
            # As PyTorch: the first parameter's dtype fixes it for the group (this step).
            options["eps1"] = finfo(param.dtype).eps
        step = _increment_step(p_state["step"])
        _adafactor_update(
            param,
            grad,
            p_state.get("row_var"),
            p_state.get("col_var"),
            p_state.get("variance"),
            step,
            **options,
        )
