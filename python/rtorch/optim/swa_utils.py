"""Stochastic weight averaging and exponential moving averages of a model's weights
(``torch.optim.swa_utils``): ``AveragedModel``, ``SWALR`` and ``update_bn``."""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any

from .. import is_floating_point, long, tensor
from .._C import Tensor
from ..autograd.grad_mode import no_grad
from ..nn.modules.batchnorm import _BatchNorm
from ..nn.modules.module import Module
from ._ops import lerp_
from .lr_scheduler import LRScheduler, _format_param
from .optimizer import Optimizer

__all__ = [
    "SWALR",
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """In-place EMA over lists of tensors: ``ema = decay * ema + (1 - decay) * current``."""
    _check_decay(decay)

    def ema_update(ema_params: list[Tensor], current_params: list[Tensor], _: Any) -> None:
        with no_grad():
            for p_ema, p_model in zip(ema_params, current_params):
                if is_floating_point(p_ema):
                    lerp_(p_ema, p_model, 1 - decay)
                else:
                    p_ema.copy_(p_ema * decay + p_model * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """In-place running mean over lists of tensors of one dtype (``num_averaged`` models
    so far): floating tensors by ``lerp``; integer ones as PyTorch's ``addcdiv`` /
    ``add(alpha=...)`` do, which refuse them (RuntimeError)."""

    def swa_update(
        averaged_params: list[Tensor], current_params: list[Tensor], num_averaged: Any
    ) -> None:
        if not averaged_params:
            return
        with no_grad():
            if is_floating_point(averaged_params[0]):
                weight = 1.0 / (float(num_averaged) + 1)
                for p_avg, p_model in zip(averaged_params, current_params):
                    lerp_(p_avg, p_model, weight)
            elif isinstance(num_averaged, Tensor):
                raise RuntimeError(
                    "Integer division with addcdiv is no longer supported, and in a future  "
                    "release addcdiv will perform a true division of tensor1 and tensor2."
                )
            else:
                for p_avg, p_model in zip(averaged_params, current_params):
                    p_avg.add_(p_model - p_avg, alpha=1.0 / (num_averaged + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """EMA of one tensor: returns ``decay * ema + (1 - decay) * current``."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable:
    """Running mean of one tensor: ``avg + (current - avg) / (num_averaged + 1)``."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


def _group_by_device_and_dtype(
    averaged: list[Tensor], current: list[Tensor]
) -> list[tuple[list[Tensor], list[Tensor]]]:
    groups: dict[tuple[str, Any], tuple[list[Tensor], list[Tensor]]] = {}
    for p_avg, p_model in zip(averaged, current):
        group = groups.setdefault((str(p_avg.device), p_avg.dtype), ([], []))
        group[0].append(p_avg)
        group[1].append(p_model)
    return list(groups.values())


class AveragedModel(Module):
    r"""A copy of ``model`` whose parameters are an average (SWA) or an exponential
    moving average (EMA) of ``model``'s over the calls to :meth:`update_parameters`.

    Args:
        model (Module): the model to average.
        device (device, optional): where to keep the averaged copy (default: None).
        avg_fn (function, optional): ``avg_fn(averaged, current, num_averaged)``
            returning the new average of one tensor (default: running mean).
        multi_avg_fn (function, optional): the same, in place over lists of tensors.
        use_buffers (bool): average the buffers too instead of copying them
            (default: False).
    """

    def __init__(
        self,
        model: Module,
        device: Any = None,
        avg_fn: Callable | None = None,
        multi_avg_fn: Callable | None = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=long, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters into the average (the first call copies)."""
        if self.use_buffers:
            own = itertools.chain(self.module.parameters(), self.module.buffers())
            theirs = itertools.chain(model.parameters(), model.buffers())
        else:
            own, theirs = self.parameters(), model.parameters()
        averaged, current = [], []
        first = int(self.n_averaged.item()) == 0
        with no_grad():
            for p_avg, p_model in zip(own, theirs):
                p_model = p_model.detach().to(p_avg.device)
                averaged.append(p_avg.detach())
                current.append(p_model)
                if first:
                    p_avg.detach().copy_(p_model)
            if not first:
                if self.multi_avg_fn is not None:
                    # As PyTorch: one call per (device, dtype) group, so the function sees
                    # tensors of one kind (e.g. a float group and an int64 buffer group).
                    for group_avg, group_cur in _group_by_device_and_dtype(averaged, current):
                        self.multi_avg_fn(group_avg, group_cur, self.n_averaged)
                else:
                    # PyTorch's CPU path: the per-tensor running mean when no function is
                    # given (integer buffers then keep their truncated average).
                    avg_fn = self.avg_fn or get_swa_avg_fn()
                    for p_avg, p_model in zip(averaged, current):
                        p_avg.copy_(avg_fn(p_avg, p_model, self.n_averaged))
            if not self.use_buffers:
                # Buffers (e.g. BatchNorm statistics) are copied, not averaged.
                for b_swa, b_model in zip(self.module.buffers(), model.buffers()):
                    b_swa.detach().copy_(b_model.detach().to(b_swa.device))
            self.n_averaged += 1


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    r"""Recompute the BatchNorm running statistics of ``model`` with one pass over
    ``loader`` (a cumulative average over all batches).

    Args:
        loader (iterable): batches (the first element of a list/tuple batch is the input).
        model (Module): the model whose BatchNorm statistics to update.
        device (device, optional): where to move each input (default: None).
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    r"""Anneals each group's lr to a fixed ``swa_lr`` over ``anneal_epochs`` epochs and
    keeps it there (for stochastic weight averaging).

    Args:
        optimizer (Optimizer): wrapped optimizer.
        swa_lr (float or list): the SWA learning rate per group.
        anneal_epochs (int): epochs of the anneal (default: 10).
        anneal_strategy (str): 'cos' or 'linear' (default: 'cos').
        last_epoch (int): the index of the last epoch (default: -1).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr: float | list[float],
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for group_swa_lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = group_swa_lr
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        """The lr the anneal started from, given the current lr at anneal fraction alpha."""
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[Any]:
        if not self._get_lr_called_within_step:
            warnings.warn(
                "To get the last learning rate computed by the scheduler, "
                "please use `get_last_lr()`.",
                UserWarning,
                stacklevel=2,
            )
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [
            self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
            for group in self.optimizer.param_groups
        ]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [
            group["swa_lr"] * alpha + lr * (1 - alpha)
            for group, lr in zip(self.optimizer.param_groups, prev_lrs)
        ]

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def state_dict(self) -> dict[str, Any]:
        return {
            key: value
            for key, value in self.__dict__.items()
            if key not in ("optimizer", "anneal_func")
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
