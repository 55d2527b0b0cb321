"""Stochastic gradient descent, optionally with (Nesterov) momentum."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._C import Tensor, _fused_sgd_
from .optimizer import (
    Optimizer,
    _check_fused,
    _to_scalar,
    _use_grad_for_differentiable,
)

__all__ = ["SGD"]


def _sgd_update(
    param: Tensor,
    grad: Tensor,
    buf: Tensor | None,
    *,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
) -> Tensor | None:
    """One SGD update of ``param`` in place; returns the (new) momentum buffer.

    The first momentum step copies the gradient into the buffer without dampening.
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    if momentum != 0:
        if buf is None:
            buf = grad.detach().clone()
        else:
            buf.mul_(momentum).add_(grad, alpha=1 - dampening)
        grad = grad.add(buf, alpha=momentum) if nesterov else buf
    param.add_(grad, alpha=-lr)
    return buf


class SGD(Optimizer):
    r"""Implements stochastic gradient descent (optionally with momentum).

    Args:
        params (iterable): iterable of parameters or named parameters to optimize,
            or dicts defining parameter groups.
        lr (float, Tensor, optional): learning rate (default: 1e-3)
        momentum (float, optional): momentum factor (default: 0)
        dampening (float, optional): dampening for momentum (default: 0)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        nesterov (bool, optional): enables Nesterov momentum (default: False)
        maximize (bool, optional): maximize the objective instead of minimizing
            (default: False)
        foreach, differentiable, fused: accepted and recorded like PyTorch's; rtorch
            runs one update path on the CPU for all of them.

    Example:
        >>> optimizer = rtorch.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> optimizer.zero_grad()
        >>> loss_fn(w).backward()
        >>> optimizer.step()
    """

    def __init__(
        self,
        params: Any,
        lr: float | Tensor = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        _check_fused(fused, foreach, differentiable)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", False)

    @_use_grad_for_differentiable
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step.

        Float32 and float64 parameters are updated by one fused Rust call per group
        (``_fused_sgd_``, PyTorch's single-tensor order); other dtypes take the
        tensor-op path (``_sgd_update``).

        Args:
            closure (Callable, optional): a closure that reevaluates the model and
                returns the loss.
        """
        return self._step_fused(closure)

    def _fused_state_keys(self, group: dict[str, Any]) -> tuple[str | None, ...]:
        # Without momentum SGD keeps no state (and, as PyTorch, never touches it).
        return ("momentum_buffer",) if group["momentum"] != 0 else ()

    def _fused_update(
        self,
        group: dict[str, Any],
        params: list[Tensor],
        grads: list[Tensor],
        *state_lists: list[Any] | None,
    ) -> None:
        bufs = state_lists[0] if state_lists else []
        # The call returns the buffers it created on a first momentum step.
        created = _fused_sgd_(params, grads, bufs, **self._group_options(group))
        if group["momentum"] != 0:
            state = self.state
            for p, buf in zip(params, created):
                if buf is not None:
                    state[p]["momentum_buffer"] = buf

    def _group_options(self, group: dict[str, Any]) -> dict[str, Any]:
        return {
            "lr": _to_scalar(group["lr"]),
            "momentum": group["momentum"],
            "dampening": group["dampening"],
            "weight_decay": group["weight_decay"],
            "nesterov": bool(group["nesterov"]),
            "maximize": bool(group["maximize"]),
        }

    def _init_state(
        self, p_state: dict[str, Any], param: Tensor, grad: Tensor, group: dict[str, Any]
    ) -> None:
        """SGD's momentum buffer is created by its first update, not beforehand."""

    def _update(
        self, param: Tensor, grad: Tensor, p_state: dict[str, Any] | None, options: Any
    ) -> None:
        if p_state is None:
            _sgd_update(param, grad, None, **options)
        else:
            p_state["momentum_buffer"] = _sgd_update(
                param, grad, p_state.get("momentum_buffer"), **options
            )
