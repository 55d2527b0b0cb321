"""The ``Optimizer`` base class: parameter groups, per-parameter state, state_dict.

The layout of everything an optimizer exposes (``param_groups``, ``state``,
``state_dict()``) is PyTorch's, so optimizer checkpoints move between the two
libraries in both directions.
"""

from __future__ import annotations

import functools
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from itertools import chain
from typing import Any

from .. import float32, float64, get_default_dtype, tensor, zeros
from .._C import Tensor
from ..autograd.grad_mode import enable_grad, no_grad
from ..utils.hooks import RemovableHandle

__all__ = ["Optimizer", "required"]

_global_optimizer_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
_global_optimizer_post_hooks: OrderedDict[int, Callable] = OrderedDict()


class _RequiredParameter:
    """Singleton marking a hyperparameter that every param group must give."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj: object) -> str:
    """PyTorch's ``torch.typename``: ``torch.FloatTensor`` for tensors, else the type."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__ or ""
        qualname = obj.__class__.__qualname__
    if module in ("", "builtins"):
        return qualname
    return f"{module}.{qualname}"


def _to_scalar(value: Any) -> Any:
    """A one-element tensor hyperparameter (lr as a Tensor) as a Python number."""
    if isinstance(value, Tensor):
        return value.item()
    return value


def _scalar_dtype() -> Any:
    """PyTorch keeps step counters in float64 when that is the default dtype, else float32."""
    return float64 if get_default_dtype() == float64 else float32


def _zero_step() -> Tensor:
    """A fresh per-parameter step counter: a 0-dim float tensor, as PyTorch keeps it."""
    return zeros((), dtype=_scalar_dtype())


def _increment_step(step_t: Tensor) -> float:
    """Advance a step counter in place and return the new count as a Python float."""
    step_t.add_(1.0)
    return step_t.item()


def _step_as_tensor(state: dict[str, Any]) -> None:
    """Older checkpoints stored ``step`` as a number; PyTorch 2.x loads it as a tensor."""
    if state and "step" in state and not isinstance(state["step"], Tensor):
        state["step"] = tensor(float(state["step"]), dtype=_scalar_dtype())


# Parameter dtypes the fused Rust updates (``rtorch._C._fused_*_``) handle; others
# (float16, bfloat16, complex) take the tensor-op path of each optimizer.
_FUSED_DTYPES = (float32, float64)


def _check_lr(lr: Any) -> None:
    """PyTorch's checks on a learning rate: a tensor lr holds one element, none is negative."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_non_negative(value: Any, name: str) -> None:
    """Raise PyTorch's ``Invalid <name> value`` error for a negative (or NaN) option."""
    if not 0.0 <= value:
        raise ValueError(f"Invalid {name} value: {value}")


def _check_betas(betas: Any) -> None:
    """Each of the two betas lies in [0, 1)."""
    for i in range(2):
        if not 0.0 <= betas[i] < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")


def _check_fused(fused: bool | None, foreach: bool | None, differentiable: bool) -> None:
    """The option combinations PyTorch refuses for ``fused=True``."""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def _copy_value(value: Any) -> Any:
    """Deep copy of a param group's contents; tensors are cloned.

    ``copy.deepcopy`` cannot copy rtorch tensors, and a group may hold one (a tensor lr).
    """
    if isinstance(value, Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return type(value)((k, _copy_value(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_value(v) for v in value)
    return value


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """Register a pre hook called before every optimizer's ``step``."""
    handle = RemovableHandle(_global_optimizer_pre_hooks)
    _global_optimizer_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """Register a post hook called after every optimizer's ``step``."""
    handle = RemovableHandle(_global_optimizer_post_hooks)
    _global_optimizer_post_hooks[handle.id] = hook
    return handle


def _hooked_step(step: Callable) -> Callable:
    """Wrap a subclass's ``step``: run step hooks and note that step was called.

    The note (``_opt_called``) lets learning-rate schedulers warn when their
    ``step()`` runs before the optimizer's, as PyTorch's do.
    """

    @functools.wraps(step)
    def wrapper(self: Optimizer, *args: Any, **kwargs: Any) -> Any:
        self._opt_called = True
        if not (
            self._optimizer_step_pre_hooks
            or self._optimizer_step_post_hooks
            or _global_optimizer_pre_hooks
            or _global_optimizer_post_hooks
        ):
            return step(self, *args, **kwargs)
        for pre_hook in chain(
            _global_optimizer_pre_hooks.values(), self._optimizer_step_pre_hooks.values()
        ):
            result = pre_hook(self, args, kwargs)
            if result is not None:
                if isinstance(result, tuple) and len(result) == 2:
                    args, kwargs = result
                else:
                    raise RuntimeError(
                        f"{step} must return None or a tuple of (new_args, new_kwargs), "
                        f"but got {result}."
                    )
        out = step(self, *args, **kwargs)
        for post_hook in chain(
            self._optimizer_step_post_hooks.values(), _global_optimizer_post_hooks.values()
        ):
            post_hook(self, args, kwargs)
        return out

    wrapper._hooked = True  # type: ignore[attr-defined]
    return wrapper


def _use_grad_for_differentiable(step: Callable) -> Callable:
    """Run an optimizer's ``step`` with gradient recording off.

    PyTorch records the update itself when a group has ``differentiable=True``; rtorch
    does not support that mode yet and says so rather than silently not recording.
    """

    @functools.wraps(step)
    def wrapper(self: Optimizer, *args: Any, **kwargs: Any) -> Any:
        if self.defaults.get("differentiable", False):
            raise NotImplementedError(
                f"{type(self).__name__}: differentiable=True is not supported in rtorch yet"
            )
        with no_grad():
            return step(self, *args, **kwargs)

    return wrapper


def _run_closure(closure: Callable[[], Any] | None) -> Any:
    """Evaluate a step's closure (if any) with gradient recording on."""
    if closure is None:
        return None
    with enable_grad():
        return closure()


class Optimizer:
    r"""Base class for all optimizers.

    Args:
        params (iterable): an iterable of Tensors, of ``(name, Tensor)`` pairs, or of
            dicts (parameter groups) specifying which tensors to optimize.
        defaults (dict): default values of the optimization options, used by every
            parameter group that does not specify them.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_hooked", False):
            cls.step = _hooked_step(step)

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_state_dict_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_state_dict_post_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: OrderedDict[int, Callable] = OrderedDict()

        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be "
                "an iterable of Tensors or dicts, but got " + _typename(params)
            )
        if isinstance(params, set):
            import warnings

            warnings.warn(
                "optimizer parameters need to be organized in ordered collections, but "
                "the ordering of tensors in sets will change between runs. Please use a "
                "list instead. This will be an error in a future release.",
                FutureWarning,
                stacklevel=2,
            )

        self.state: defaultdict[Any, Any] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []

        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    # ------------------------------------------------------------------ pickling / repr

    def __getstate__(self) -> dict[str, Any]:
        return {
            "defaults": self.defaults,
            "state": self.state,
            "param_groups": self.param_groups,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in (
            "_optimizer_step_pre_hooks",
            "_optimizer_step_post_hooks",
            "_optimizer_state_dict_pre_hooks",
            "_optimizer_state_dict_post_hooks",
            "_optimizer_load_state_dict_pre_hooks",
            "_optimizer_load_state_dict_post_hooks",
        ):
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())
        self.defaults.setdefault("differentiable", False)

    def _setdefault_groups(self, **defaults: Any) -> None:
        """For ``__setstate__``: options an older checkpoint lacks get these defaults,
        and its step counters become tensors."""
        for group in self.param_groups:
            for key, value in defaults.items():
                group.setdefault(key, value)
            for p in group["params"]:
                _step_as_tensor(self.state.get(p, {}))

    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    # ------------------------------------------------------------------ hooks

    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Register ``hook(optimizer, args, kwargs)`` to run before ``step``.

        The hook may return ``(new_args, new_kwargs)`` to replace step's arguments.
        """
        handle = RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """Register ``hook(optimizer, args, kwargs)`` to run after ``step``."""
        handle = RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

    def register_state_dict_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """Register ``hook(optimizer)`` to run before ``state_dict`` builds its result."""
        return self._register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """Register ``hook(optimizer, state_dict)``; a non-None result replaces the dict."""
        return self._register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """Register ``hook(optimizer, state_dict)``; a non-None result is loaded instead."""
        return self._register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """Register ``hook(optimizer)`` to run after ``load_state_dict``."""
        return self._register(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    @staticmethod
    def _register(hooks: OrderedDict, hook: Callable, prepend: bool) -> RemovableHandle:
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    # ------------------------------------------------------------------ state_dict

    def state_dict(self) -> dict[str, Any]:
        r"""Return the optimizer's state as a dict.

        ``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``:
        parameters are replaced by their position, counted across groups in order.
        The state tensors are the live ones (not copies), as in PyTorch.
        """
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)

        index_of: dict[int, int] = {}
        start = 0
        packed_groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index_of.setdefault(id(p), i)
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            start += len(packed["params"])
            packed_groups.append(packed)

        packed_state = {
            (index_of[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()
        }
        state_dict = {"state": packed_state, "param_groups": packed_groups}

        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    @staticmethod
    def _cast_state_value(param: Tensor, value: Any, key: Any, group: dict[str, Any]) -> Any:
        """Copy one state entry for ``param``: tensors move to the param's dtype/device.

        ``step`` keeps its own dtype (a float32 count), unless the group is fused or
        capturable, where PyTorch keeps it as float32 on the param's device.
        """
        if isinstance(value, Tensor):
            if key == "step":
                if group.get("capturable", False) or group.get("fused", False):
                    return value.to(dtype=float32, device=param.device)
                return value
            if param.is_floating_point():
                return value.to(dtype=param.dtype, device=param.device)
            return value.to(device=param.device)
        if isinstance(value, dict):
            return {k: Optimizer._cast_state_value(param, v, k, group) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(Optimizer._cast_state_value(param, v, None, group) for v in value)
        return value

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        r"""Load an optimizer state (as returned by :meth:`state_dict`).

        Args:
            state_dict (dict): optimizer state. The saved parameter indices are matched
                to this optimizer's parameters in order, group by group.
        """
        state_dict = state_dict.copy()
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result

        groups = self.param_groups
        saved_groups = _copy_value(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group "
                "that doesn't match the size of optimizer's group"
            )

        id_map = {}
        group_of = {}
        for group, saved in zip(groups, saved_groups):
            for saved_id, p in zip(saved["params"], group["params"]):
                id_map[saved_id] = p
                group_of[saved_id] = saved

        state: defaultdict[Any, Any] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = self._cast_state_value(param, v, None, group_of[k])
            else:
                state[k] = v

        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            new_groups.append(saved)
        self.__setstate__({"state": state, "param_groups": new_groups})

        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)

    # ------------------------------------------------------------------ grads and steps

    def zero_grad(self, set_to_none: bool = True) -> None:
        r"""Reset the gradients of all optimized tensors.

        Args:
            set_to_none (bool): set the grads to None instead of zeroing them
                (default: ``True``). A None grad makes optimizers skip the parameter.
        """
        if set_to_none:
            # Fast path: dropping a grad needs no grad-mode switch.
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.grad = None
            return
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    grad = p.grad
                    if grad is None:
                        continue
                    if set_to_none:
                        p.grad = None
                    else:
                        if grad.grad_fn is not None:
                            grad.detach_()
                        else:
                            grad.requires_grad_(False)
                        grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        r"""Perform a single optimization step (to be overridden by every optimizer).

        Args:
            closure (Callable): a closure that re-evaluates the model and returns the
                loss. Optional for most optimizers.
        """
        raise NotImplementedError

    def _step_each_param(self, closure: Callable[[], Any] | None) -> Any:
        """The step of an optimizer whose update is per parameter.

        For each group, its options are read once (``_group_options``); each parameter
        with a grad gets its state on first use (``_init_state``) and is updated
        (``_update``). Parameters without a grad are skipped and get no state.
        """
        loss = _run_closure(closure)
        state = self.state
        for group in self.param_groups:
            options = self._group_options(group)
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                p_state = state[p]
                if len(p_state) == 0:
                    self._init_state(p_state, p, grad, group)
                self._update(p, grad, p_state, options)
        return loss

    def _step_fused(self, closure: Callable[[], Any] | None) -> Any:
        """The step of an optimizer with a fused Rust update (``rtorch._C._fused_*_``).

        For each group, ``_fused_state_keys(group)`` names the state entries the fused
        call takes, one list per key (None for an entry the group's options leave out;
        no keys: the state is not touched). Each parameter with a grad gets its state
        on first use (``_init_state``); float32/float64 parameters are gathered with
        their grads and state into those lists and updated by one
        ``_fused_update(group, params, grads, *lists)`` call per group, other dtypes
        (float16, bfloat16, complex) one by one by ``_update``. Parameters without a
        grad are skipped and get no state.
        """
        loss = _run_closure(closure)
        state = self.state
        for group in self.param_groups:
            keys = self._fused_state_keys(group)
            lists: list[list[Any] | None] = [None if k is None else [] for k in keys]
            pairs = [(lst, k) for lst, k in zip(lists, keys) if lst is not None]
            params: list[Tensor] = []
            grads: list[Tensor] = []
            options = None
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                p_state = None
                if keys:
                    p_state = state[p]
                    if len(p_state) == 0:
                        self._init_state(p_state, p, grad, group)
                if p.dtype in _FUSED_DTYPES:
                    params.append(p)
                    grads.append(grad)
                    for lst, k in pairs:
                        lst.append(p_state.get(k))  # type: ignore[union-attr]
                else:
                    if options is None:
                        options = self._group_options(group)
                    self._update(p, grad, p_state, options)  # type: ignore[arg-type]
            if params:
                self._fused_update(group, params, grads, *lists)
        return loss

    def _fused_state_keys(self, group: dict[str, Any]) -> tuple[str | None, ...]:
        """The state entries ``_fused_update`` takes for ``group``, in its order."""
        raise NotImplementedError

    def _fused_update(
        self,
        group: dict[str, Any],
        params: list[Tensor],
        grads: list[Tensor],
        *state_lists: list[Any] | None,
    ) -> None:
        """One fused ``_C`` call updating ``params`` and their state in place."""
        raise NotImplementedError

    def _group_options(self, group: dict[str, Any]) -> Any:
        """What ``_update`` needs from ``group`` (its options as Python numbers)."""
        raise NotImplementedError

    def _init_state(
        self, p_state: dict[str, Any], param: Tensor, grad: Tensor, group: dict[str, Any]
    ) -> None:
        """Fill the empty state of ``param`` before its first update."""
        raise NotImplementedError

    def _update(self, param: Tensor, grad: Tensor, p_state: dict[str, Any], options: Any) -> None:
        """Update ``param`` and its state in place (``options`` from ``_group_options``)."""
        raise NotImplementedError

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        r"""Add a param group to the optimizer's ``param_groups``.

        Args:
            param_group (dict): the tensors to optimize (under ``'params'``) and any
                group-specific optimization options.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")

        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but "
                "the ordering of tensors in sets will change between runs. "
                "Please use a list instead."
            )
        else:
            params = list(params)

        tensors = []
        names = []
        for param in params:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError(
                    "all optimizer params should be with/without names. "
                    "Some param names are missing"
                )
            param_group["param_names"] = names

        for param in tensors:
            if not isinstance(param, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, "
                    "but one of the params is " + _typename(param)
                )
            if not self.defaults.get("differentiable", None) and not (
                param.is_leaf or param.retains_grad
            ):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required "
                    f"optimization parameter {name}"
                )
            param_group.setdefault(name, default)

        ids = {id(p) for p in tensors}
        if len(ids) != len(tensors):
            import warnings

            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; "
                "in future, this will cause an error; "
                "see github.com/pytorch/pytorch/issues/40967 for more information",
                stacklevel=3,
            )

        for group in self.param_groups:
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {which} to the optimizer"
                )
            if any(id(p) in ids for p in group["params"]):
                raise ValueError("some parameters appear in more than one parameter group")

        self.param_groups.append(param_group)
