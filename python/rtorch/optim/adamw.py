"""AdamW: Adam with decoupled weight decay (the parameter is decayed directly)."""

from __future__ import annotations

from typing import Any

from .._C import Tensor
from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""Implements AdamW: each step first scales the parameter by ``1 - lr * weight_decay``.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize,
            or dicts defining parameter groups.
        lr (float, Tensor, optional): learning rate (default: 1e-3)
        betas (tuple[float, float], optional): coefficients of the running averages of
            the gradient and its square (default: (0.9, 0.999))
        eps (float, optional): added to the denominator (default: 1e-8)
        weight_decay (float, optional): weight decay coefficient (default: 1e-2)
        amsgrad (bool, optional): use the AMSGrad variant (default: False)
        maximize (bool, optional): maximize the objective (default: False)
        foreach, capturable, differentiable, fused: accepted and recorded like PyTorch's.
    """

    def __init__(
        self,
        params: Any,
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A checkpoint loaded into AdamW always decays decoupled, whatever it says.
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
