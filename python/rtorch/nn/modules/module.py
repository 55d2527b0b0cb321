"""``Module``: the base class of every layer, as ``torch.nn.Module``.

Parameters, buffers and submodules live in three ordered dicts (``_parameters``,
``_buffers``, ``_modules``) filled by attribute assignment, as in PyTorch. Each of them is
a ``_Registry`` that also mirrors its entries into the instance ``__dict__``: reading
``self.weight`` is then a plain instance-dict hit instead of a failed lookup followed by
``__getattr__`` (about 20x cheaper, and ``forward`` reads its parameters on every call).
The mirrors never leave the process: ``__getstate__`` strips them, so pickles hold
PyTorch's layout. ``__call__`` goes straight to ``forward`` unless a hook is registered.
"""

from __future__ import annotations

import functools
import itertools
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any, Callable, NamedTuple

import rtorch

from ..._C import Tensor
from ...utils.hooks import RemovableHandle
from ..parameter import Parameter
from ._backward_hook import BackwardHook

# Only Module reaches rtorch.nn (as in torch.nn); the global-hook functions are imported
# from rtorch.nn.modules.module, where PyTorch keeps them.
__all__ = ["Module"]

_EXTRA_STATE_KEY_SUFFIX = "_extra_state"

# Global hooks (``nn.modules.module.register_module_forward_*``), run for every module.
_global_forward_pre_hooks: OrderedDict = OrderedDict()
_global_forward_hooks: OrderedDict = OrderedDict()
_global_forward_hooks_always_called: OrderedDict = OrderedDict()

_global_backward_pre_hooks: OrderedDict = OrderedDict()
_global_backward_hooks: OrderedDict = OrderedDict()

# Set (never cleared) once any module hook is registered: until then __call__ skips the
# per-module hook-dict checks altogether.
_any_hook_registered = False


def _note_hook_registered() -> None:
    global _any_hook_registered
    _any_hook_registered = True


class _IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (
            f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, "
            f"unexpected_keys={self.unexpected_keys!r})"
        )

    __str__ = __repr__


def _typename(obj: Any) -> str:
    """``torch.typename``: ``torch.FloatTensor`` for tensors, the qualified class otherwise."""
    if isinstance(obj, Tensor):
        return obj.type()
    cls = type(obj)
    module = cls.__module__
    if module in ("builtins", "__builtin__", None):
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def _addindent(s: str, num_spaces: int) -> str:
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    return first + "\n" + "\n".join(" " * num_spaces + line for line in lines)


def _add_hook(
    hooks: dict, hook: Callable, *, prepend: bool = False, extra_dict: Any = None
) -> RemovableHandle:
    """Stores ``hook`` in ``hooks`` under a new handle's id (first if ``prepend``)."""
    handle = RemovableHandle(hooks, extra_dict=extra_dict)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """Registers a forward pre-hook common to all modules: ``hook(module, args)``."""
    handle = _add_hook(_global_forward_pre_hooks, hook)
    _note_hook_registered()
    return handle


def register_module_forward_hook(hook: Callable, *, always_call: bool = False) -> RemovableHandle:
    """Registers a forward hook common to all modules: ``hook(module, args, output)``."""
    handle = _add_hook(_global_forward_hooks, hook, extra_dict=_global_forward_hooks_always_called)
    _note_hook_registered()
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


def register_module_full_backward_pre_hook(hook: Callable) -> RemovableHandle:
    """Registers a backward pre-hook common to all modules: ``hook(module, grad_output)``,
    run before each module's own (see :meth:`Module.register_full_backward_pre_hook`)."""
    handle = _add_hook(_global_backward_pre_hooks, hook)
    _note_hook_registered()
    return handle


def register_module_full_backward_hook(hook: Callable) -> RemovableHandle:
    """Registers a backward hook common to all modules: ``hook(module, grad_input,
    grad_output)``, run before each module's own (see
    :meth:`Module.register_full_backward_hook`)."""
    handle = _add_hook(_global_backward_hooks, hook)
    _note_hook_registered()
    return handle


def _check_new_name(module: Module, kind: str, name: Any, registry: dict) -> None:
    """PyTorch's checks, in its order and words, of a new buffer or parameter name."""
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {_typename(name)}")
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain "."')
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if hasattr(module, name) and name not in registry:
        raise KeyError(f"attribute '{name}' already exists")


def _attribute_at(root: Module, target: str) -> tuple[Module, str, Any]:
    """For get_parameter/get_buffer: the submodule owning the dotted path ``target``, the
    attribute's name and its value."""
    module_path, _, name = target.rpartition(".")
    mod = root.get_submodule(module_path)
    if not hasattr(mod, name):
        raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
    return mod, name, getattr(mod, name)


def _forward_unimplemented(self: Module, *input: Any) -> None:
    raise NotImplementedError(
        f'Module [{type(self).__name__}] is missing the required "forward" function'
    )


_REGISTRY_NAMES = ("_parameters", "_buffers", "_modules")


class _Registry(dict):
    """A module's name -> parameter/buffer/submodule dict that mirrors every entry into
    the owning module's ``__dict__`` (see the module docstring).

    Reads stay plain ``dict`` reads; only writes pass through Python. The owner is held
    weakly so that a module and its registries form no reference cycle.
    """

    __slots__ = ("_owner",)

    def __init__(self, owner: Module, items: Any = ()) -> None:
        super().__init__()
        self._owner = weakref.ref(owner)
        for k, v in dict(items).items():
            self[k] = v

    def _mirror(self) -> dict | None:
        owner = self._owner()
        return None if owner is None else owner.__dict__

    def __setitem__(self, key: str, value: Any) -> None:
        dict.__setitem__(self, key, value)
        d = self._mirror()
        if d is not None:
            d[key] = value

    def _unmirror(self, key: str, value: Any) -> None:
        d = self._mirror()
        if d is not None and key in d and d[key] is value:
            del d[key]

    def __delitem__(self, key: str) -> None:
        value = dict.__getitem__(self, key)
        dict.__delitem__(self, key)
        self._unmirror(key, value)

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            value = dict.pop(self, key)
            self._unmirror(key, value)
            return value
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[str, Any]:
        key, value = dict.popitem(self)
        self._unmirror(key, value)
        return key, value

    def clear(self) -> None:
        for key in list(self):
            del self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        for k, v in dict(*args, **kwargs).items():
            self[k] = v

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def __ior__(self, other: Any) -> _Registry:  # noqa: PYI034
        self.update(other)
        return self

    def copy(self) -> dict:
        return dict(self)

    def __reduce__(self) -> tuple:
        # Pickled (and deep-copied) as a plain dict; Module.__setstate__ re-wraps it.
        return (dict, (dict(self),))


def _install_registry(module: Module, name: str, items: Any) -> None:
    """Sets ``module.<name>`` (one of ``_REGISTRY_NAMES``) to a registry of ``items``,
    dropping the mirrors of the registry it replaces."""
    d = module.__dict__
    old = d.get(name)
    if isinstance(old, dict):
        for k, v in old.items():
            if k in d and d[k] is v:
                del d[k]
    d[name] = _Registry(module, items if items is not None else ())


class Module:
    r"""Base class for all neural network modules.

    Your models should subclass this class; modules can contain other modules, assigned as
    regular attributes, which are then registered (their parameters show up in
    :meth:`parameters`, converted by :meth:`to`, etc.)::

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.w = nn.Parameter(torch.randn(3, 3))

            def forward(self, x):
                return x @ self.w
    """

    dump_patches: bool = False
    _version: int = 1
    training: bool
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Tensor | None]
    _modules: dict[str, Module | None]
    call_super_init: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if self.call_super_init is False and bool(kwargs):
            raise TypeError(
                f"{type(self).__name__}.__init__() got an unexpected keyword argument "
                f"'{next(iter(kwargs))}'"
            )
        if self.call_super_init is False and bool(args):
            raise TypeError(
                f"{type(self).__name__}.__init__() takes 1 positional argument but "
                f"{len(args) + 1} were given"
            )
        if "_parameters" in self.__dict__:
            # __init__ run a second time: forget the old registrations and their mirrors.
            for reg_name in _REGISTRY_NAMES:
                _install_registry(self, reg_name, None)
        # One dict update instead of a dozen __setattr__ calls (which would be intercepted).
        self.__dict__.update(
            training=True,
            _parameters=_Registry(self),
            _buffers=_Registry(self),
            _non_persistent_buffers_set=set(),
            _backward_pre_hooks=OrderedDict(),
            _backward_hooks=OrderedDict(),
            _is_full_backward_hook=None,
            _forward_hooks=OrderedDict(),
            _forward_hooks_with_kwargs=OrderedDict(),
            _forward_hooks_always_called=OrderedDict(),
            _forward_pre_hooks=OrderedDict(),
            _forward_pre_hooks_with_kwargs=OrderedDict(),
            _state_dict_hooks=OrderedDict(),
            _state_dict_pre_hooks=OrderedDict(),
            _load_state_dict_pre_hooks=OrderedDict(),
            _load_state_dict_post_hooks=OrderedDict(),
            _modules=_Registry(self),
        )
        if self.call_super_init:
            super().__init__(*args, **kwargs)

    forward: Callable[..., Any] = _forward_unimplemented

    # ----------------------------------------------------------------- registration

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        r"""Adds a buffer: state that is not a parameter (e.g. BatchNorm's ``running_mean``).

        Args:
            name (str): name of the buffer; accessible as an attribute under this name.
            tensor (Tensor or None): the buffer. ``None`` registers a placeholder that is
                left out of :meth:`state_dict` and ignored by :meth:`to`.
            persistent (bool): whether the buffer is part of the :attr:`state_dict`.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_new_name(self, "buffer", name, self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                "(torch Tensor or None required)"
            )
        # (A Buffer's own ``persistent`` counts on attribute assignment only, as PyTorch.)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        r"""Adds a parameter to the module, accessible as an attribute under ``name``.

        Args:
            name (str): name of the parameter.
            param (Parameter or None): the parameter. ``None`` registers a placeholder
                ignored by :meth:`parameters` and :meth:`state_dict`.
        """
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_new_name(self, "parameter", name, self._parameters)
        if param is None:
            self._parameters[name] = None
        elif not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                "(torch.nn.Parameter or None required)"
            )
        elif param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters "
                f"must be created explicitly. To express '{name}' as a function of another "
                "Tensor, compute the value in the forward() method."
            )
        else:
            self._parameters[name] = param

    def add_module(self, name: str, module: Module | None) -> None:
        r"""Adds a child module, accessible as an attribute under ``name``."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {_typename(name)}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        self._modules[name] = module

    def register_module(self, name: str, module: Module | None) -> None:
        r"""Alias for :func:`add_module`."""
        self.add_module(name, module)

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path ``target`` (``""`` is the module itself)."""
        if target == "":
            return self
        mod: Module = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(mod._get_name() + " has no attribute `" + item + "`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError("`" + item + "` is not an nn.Module")  # noqa: TRY004
        return mod

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Replaces (or, unless ``strict``, adds) the submodule at the dotted path ``target``."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        parent_path, _, name = target.rpartition(".")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")  # noqa: TRY004
        parent = self.get_submodule(parent_path)
        if strict and not hasattr(parent, name):
            raise AttributeError(parent._get_name() + " has no attribute `" + name + "`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError("`" + name + "` is not an nn.Module")
        setattr(parent, name, module)

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path ``target``."""
        _, param_name, param = _attribute_at(self, target)
        if not isinstance(param, Parameter):
            raise AttributeError("`" + param_name + "` is not an nn.Parameter")  # noqa: TRY004
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path ``target``."""
        mod, buffer_name, buffer = _attribute_at(self, target)
        if buffer_name not in mod._buffers:
            raise AttributeError("`" + buffer_name + "` is not a buffer")
        return buffer

    def get_extra_state(self) -> Any:
        """Extra state for :meth:`state_dict`; override together with :meth:`set_extra_state`."""
        raise RuntimeError(
            "Reached a code path in Module.get_extra_state() that should never be called. "
            "Please file an issue at https://github.com/pytorch/pytorch/issues/new?template"
            "=bug-report.yml to report this bug."
        )

    def set_extra_state(self, state: Any) -> None:
        """Restores what :meth:`get_extra_state` returned."""
        raise RuntimeError(
            "Reached a code path in Module.set_extra_state() that should never be called. "
            "Please file an issue at https://github.com/pytorch/pytorch/issues/new?template"
            "=bug-report.yml to report this bug."
        )

    # ----------------------------------------------------------------- conversion

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> Module:
        """Applies ``fn`` to every parameter (in place, keeping the Parameter objects),
        gradient and buffer; children first."""
        if recurse:
            for module in self.children():
                module._apply(fn)
        for key, param in self._parameters.items():
            if param is None:
                continue
            with rtorch.no_grad():
                param_applied = fn(param)
            # Rebinding .data keeps the Parameter object (and optimizers' references).
            if param_applied is not param:
                param.data = param_applied
            grad = param.grad
            if grad is not None:
                with rtorch.no_grad():
                    grad_applied = fn(grad)
                if grad_applied is not grad:
                    # rtorch returns a fresh wrapper per .grad read, so `grad.data = ...`
                    # would not stick: assign the converted gradient instead.
                    param.grad = None
                    param.grad = grad_applied.requires_grad_(grad.requires_grad)
        for key, buf in self._buffers.items():
            if buf is not None:
                self._buffers[key] = fn(buf)
        return self

    def apply(self, fn: Callable[[Module], None]) -> Module:
        r"""Applies ``fn`` to every submodule (children first) and then to ``self``.

        Typical use is initialising parameters (see :mod:`rtorch.nn.init`).
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def cuda(self, device: Any = None) -> Module:
        """Moves all parameters and buffers to the GPU."""
        return self._apply(lambda t: t.cuda(device))

    def ipu(self, device: Any = None) -> Module:
        raise RuntimeError("rtorch has no IPU backend")

    def xpu(self, device: Any = None) -> Module:
        raise RuntimeError("rtorch has no XPU backend")

    def mtia(self, device: Any = None) -> Module:
        raise RuntimeError("rtorch has no MTIA backend")

    def cpu(self) -> Module:
        """Moves all parameters and buffers to the CPU."""
        return self._apply(lambda t: t.cpu())

    def type(self, dst_type: Any) -> Module:
        """Casts all parameters and buffers to ``dst_type``."""
        return self._apply(lambda t: t.type(dst_type))

    def float(self) -> Module:
        """Casts all floating point parameters and buffers to ``float``."""
        return self._apply(lambda t: t.float() if t.is_floating_point() else t)

    def double(self) -> Module:
        """Casts all floating point parameters and buffers to ``double``."""
        return self._apply(lambda t: t.double() if t.is_floating_point() else t)

    def half(self) -> Module:
        """Casts all floating point parameters and buffers to ``half``."""
        return self._apply(lambda t: t.half() if t.is_floating_point() else t)

    def bfloat16(self) -> Module:
        """Casts all floating point parameters and buffers to ``bfloat16``."""
        return self._apply(lambda t: t.bfloat16() if t.is_floating_point() else t)

    def to_empty(self, *, device: Any, recurse: bool = True) -> Module:
        """Moves parameters and buffers to ``device`` without copying their values: the
        new tensors are uninitialised (zero-filled here). The way to materialise a
        model built on the ``meta`` device, before loading or initialising weights.

        Args:
            device: where the parameters and buffers go.
            recurse: whether to move those of submodules too.

        Example::

            >>> with rtorch.device("meta"):
            ...     net = nn.Linear(4096, 4096)
            >>> net.to_empty(device="cpu").reset_parameters()
        """
        dev = rtorch.device(device)
        return self._apply(lambda t: rtorch.empty_like(t, device=dev), recurse=recurse)

    def to(self, *args: Any, **kwargs: Any) -> Module:
        r"""Moves and/or casts the parameters and buffers.

        Called as ``to(device=None, dtype=None, non_blocking=False)``, ``to(dtype)``,
        ``to(tensor)`` or ``to(memory_format=...)``. Only floating point parameters and
        buffers are cast to ``dtype``; integral ones keep theirs. Modifies the module in
        place (the Parameter objects stay the same) and returns it.
        """
        memory_format = kwargs.pop("memory_format", None)
        device, dtype, non_blocking = _parse_to(args, kwargs)
        if dtype is not None and not dtype.is_floating_point:
            raise TypeError(
                "nn.Module.to only accepts floating point or complex dtypes, but got desired "
                f"dtype={dtype}"
            )

        def convert(t: Tensor) -> Tensor:
            # As PyTorch: a memory format applies to the 4-d and 5-d tensors only.
            fmt = {"memory_format": memory_format} if memory_format and t.dim() in (4, 5) else {}
            if t.is_floating_point():
                return t.to(device, dtype, non_blocking=non_blocking, **fmt)
            return t.to(device, non_blocking=non_blocking, **fmt)

        return self._apply(convert)

    def share_memory(self) -> Module:
        """Moves the tensors' storage to shared memory (``Tensor.share_memory_``)."""

        def share(t: Tensor) -> Tensor:
            method = getattr(t, "share_memory_", None)
            if method is None:
                raise NotImplementedError(
                    "Module.share_memory: rtorch tensors do not support share_memory_() yet"
                )
            return method()

        return self._apply(share)

    # ----------------------------------------------------------------- hooks

    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        r"""Registers ``hook(module, args) -> None or new args`` to run before ``forward``.

        With ``with_kwargs=True`` the hook is ``hook(module, args, kwargs) -> None or
        (new_args, new_kwargs)``. ``prepend=True`` runs it before the hooks already there.
        """
        handle = _add_hook(
            self._forward_pre_hooks,
            hook,
            prepend=prepend,
            extra_dict=self._forward_pre_hooks_with_kwargs,
        )
        _note_hook_registered()
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(
        self,
        hook: Callable,
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        r"""Registers ``hook(module, args, output) -> None or new output`` after ``forward``.

        With ``with_kwargs=True`` the hook is ``hook(module, args, kwargs, output)``.
        ``always_call=True`` runs it even when ``forward`` raised.
        """
        handle = _add_hook(
            self._forward_hooks,
            hook,
            prepend=prepend,
            extra_dict=[self._forward_hooks_with_kwargs, self._forward_hooks_always_called],
        )
        _note_hook_registered()
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        return handle

    def register_full_backward_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        r"""Registers ``hook(module, grad_output) -> None or new grad_output``.

        It runs when the gradients with respect to the module's outputs are computed; the
        returned tuple replaces ``grad_output`` for the rest of the backward pass.
        """
        handle = _add_hook(self._backward_pre_hooks, hook, prepend=prepend)
        _note_hook_registered()
        return handle

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        r"""Registers ``hook(module, grad_input, grad_output) -> None or new grad_input``.

        It runs once the gradients with respect to the module's tensor inputs are known
        (``grad_input`` holds ``None`` for inputs that need no gradient). The returned tuple
        replaces ``grad_input``. Modifying inputs or outputs in place is not allowed.
        """
        if self._is_full_backward_hook is False:
            raise RuntimeError(
                "Cannot use both regular backward hooks and full backward hooks on a single "
                "Module. Please use only one of them."
            )
        self._is_full_backward_hook = True
        handle = _add_hook(self._backward_hooks, hook, prepend=prepend)
        _note_hook_registered()
        return handle

    def register_backward_hook(self, hook: Callable) -> RemovableHandle:
        """Deprecated non-full backward hook; rtorch runs it as a full backward hook."""
        if self._is_full_backward_hook is True:
            raise RuntimeError(
                "Cannot use both regular backward hooks and full backward hooks on a single "
                "Module. Please use only one of them."
            )
        self._is_full_backward_hook = False
        handle = _add_hook(self._backward_hooks, hook)
        _note_hook_registered()
        return handle

    def register_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Registers ``hook(module, prefix, keep_vars)`` run before :meth:`state_dict`."""
        return _add_hook(self._state_dict_pre_hooks, hook)

    def register_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """Registers ``hook(module, state_dict, prefix, local_metadata) -> None`` run after
        :meth:`state_dict` filled this module's entries; it may edit them in place."""
        try:
            hook._from_public_api = True
        except AttributeError:
            # Bound methods take no attributes; a partial does.
            hook = functools.partial(hook)
            hook._from_public_api = True
        return _add_hook(self._state_dict_hooks, hook)

    def _register_state_dict_hook(self, hook: Callable) -> RemovableHandle:
        """The older private form: the hook may return a replacement state dict."""
        return _add_hook(self._state_dict_hooks, hook)

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Registers ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` run before loading this module's entries."""
        return _add_hook(self._load_state_dict_pre_hooks, functools.partial(hook, self))

    def _register_load_state_dict_pre_hook(
        self, hook: Callable, with_module: bool = False
    ) -> RemovableHandle:
        if with_module:
            hook = functools.partial(hook, self)
        return _add_hook(self._load_state_dict_pre_hooks, hook)

    def register_load_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """Registers ``hook(module, incompatible_keys)`` run after :meth:`load_state_dict`;
        it may edit the key lists in place."""
        return _add_hook(self._load_state_dict_post_hooks, hook)

    # ----------------------------------------------------------------- calling

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Fast path: while no hook was ever registered in the process, one global test.
        if _any_hook_registered and (
            self._forward_pre_hooks
            or self._forward_hooks
            or self._backward_hooks
            or self._backward_pre_hooks
            or _global_forward_pre_hooks
            or _global_forward_hooks
            or _global_backward_hooks
            or _global_backward_pre_hooks
        ):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    # PyTorch's names for the same entry point; some code calls them directly.
    _call_impl = __call__
    _wrapped_call_impl = __call__

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        called_always: set[int] = set()
        result = None
        try:
            for hook_id, hook in tuple(
                itertools.chain(_global_forward_pre_hooks.items(), self._forward_pre_hooks.items())
            ):
                if hook_id in self._forward_pre_hooks_with_kwargs:
                    res = hook(self, args, kwargs)
                    if res is not None:
                        if isinstance(res, tuple) and len(res) == 2:
                            args, kwargs = res
                        else:
                            raise RuntimeError(
                                "forward pre-hook must return None or a tuple of "
                                f"(new_args, new_kwargs), but got {res}."
                            )
                else:
                    res = hook(self, args)
                    if res is not None:
                        args = res if isinstance(res, tuple) else (res,)
            bw_hook = None
            if (
                self._backward_hooks
                or self._backward_pre_hooks
                or _global_backward_hooks
                or _global_backward_pre_hooks
            ):
                # Global hooks run first, as PyTorch's _get_backward_hooks orders them.
                bw_hook = BackwardHook(
                    self,
                    [*_global_backward_hooks.values(), *self._backward_hooks.values()],
                    [*_global_backward_pre_hooks.values(), *self._backward_pre_hooks.values()],
                )
                args = bw_hook.setup_input_hook(args)
            result = self.forward(*args, **kwargs)
            for hook_id, hook in tuple(
                itertools.chain(_global_forward_hooks.items(), self._forward_hooks.items())
            ):
                if (
                    hook_id in self._forward_hooks_always_called
                    or hook_id in _global_forward_hooks_always_called
                ):
                    called_always.add(hook_id)
                if hook_id in self._forward_hooks_with_kwargs:
                    res = hook(self, args, kwargs, result)
                else:
                    res = hook(self, args, result)
                if res is not None:
                    result = res
            if bw_hook is not None:
                if not isinstance(result, (Tensor, tuple)):
                    warnings.warn(
                        "For backward hooks to be called, module output should be a Tensor "
                        f"or a tuple of Tensors but received {type(result)}",
                        stacklevel=2,
                    )
                result = bw_hook.setup_output_hook(result)
            return result
        except Exception:
            # always_call hooks still run; their own errors must not mask this one.
            for hook_id, hook in tuple(
                itertools.chain(_global_forward_hooks.items(), self._forward_hooks.items())
            ):
                always = (
                    hook_id in self._forward_hooks_always_called
                    or hook_id in _global_forward_hooks_always_called
                )
                if always and hook_id not in called_always:
                    try:
                        if hook_id in self._forward_hooks_with_kwargs:
                            hook(self, args, kwargs, result)
                        else:
                            hook(self, args, result)
                    except Exception as e:  # noqa: BLE001
                        warnings.warn(
                            "forward hook with ``always_call=True`` raised an exception that "
                            f"was silenced as another error was raised in forward: {e}",
                            stacklevel=2,
                        )
            raise

    # ----------------------------------------------------------------- attributes

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        if "_parameters" in d:
            params = d["_parameters"]
            if name in params:
                return params[name]
        if "_buffers" in d:
            buffers = d["_buffers"]
            if name in buffers:
                return buffers[name]
        if "_modules" in d:
            modules = d["_modules"]
            if name in modules:
                return modules[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            _remove_from(name, d, d["_buffers"], d["_modules"], d["_non_persistent_buffers_set"])
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as parameter '{name}' "
                    "(torch.nn.Parameter or None expected)"
                )
            self.register_parameter(name, value)
        else:
            modules = d.get("_modules")
            if isinstance(value, Module):
                if modules is None:
                    raise AttributeError("cannot assign module before Module.__init__() call")
                _remove_from(
                    name, d, d["_parameters"], d["_buffers"], d["_non_persistent_buffers_set"]
                )
                modules[name] = value
            elif modules is not None and name in modules:
                if value is not None:
                    raise TypeError(
                        f"cannot assign '{_typename(value)}' as child module '{name}' "
                        "(torch.nn.Module or None expected)"
                    )
                modules[name] = value
            else:
                buffers = d.get("_buffers")
                # The Buffer marker, tested without Buffer's Python-level __instancecheck__
                # (this branch runs for every plain attribute assignment).
                is_buffer = isinstance(value, Tensor) and getattr(value, "_is_buffer", False)
                if is_buffer or (buffers is not None and name in buffers):
                    if value is not None and not isinstance(value, Tensor):
                        raise TypeError(
                            f"cannot assign '{_typename(value)}' as buffer '{name}' "
                            "(torch.nn.Buffer, torch.Tensor or None expected)"
                        )
                    if is_buffer:
                        persistent = value.persistent
                    else:
                        persistent = name not in d["_non_persistent_buffers_set"]
                    if buffers is None:
                        raise AttributeError("cannot assign buffer before Module.__init__() call")
                    _remove_from(name, d, d["_parameters"], d["_modules"])
                    self.register_buffer(name, value, persistent)
                elif name in _REGISTRY_NAMES and params is not None:
                    # Replacing a whole registry (e.g. ``self._modules = OrderedDict(...)``).
                    _install_registry(self, name, value)
                else:
                    object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        if name in d["_parameters"]:
            del d["_parameters"][name]
        elif name in d["_buffers"]:
            del d["_buffers"][name]
            d["_non_persistent_buffers_set"].discard(name)
        elif name in d["_modules"]:
            del d["_modules"][name]
        else:
            object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        module_attrs = dir(self.__class__)
        registered = set(self._parameters) | set(self._modules) | set(self._buffers)
        attrs = [k for k in self.__dict__ if k not in registered]
        keys = (
            module_attrs
            + attrs
            + list(self._parameters.keys())
            + list(self._modules.keys())
            + list(self._buffers.keys())
        )
        # Names like "0" (Sequential children) are not valid attribute names.
        return sorted(key for key in keys if not key[0].isdigit())

    def __getstate__(self) -> dict:
        # PyTorch's layout: plain dicts, and registered names only inside them.
        state = self.__dict__.copy()
        for reg_name in _REGISTRY_NAMES:
            reg = state.get(reg_name)
            if isinstance(reg, dict):
                for k, v in reg.items():
                    if k in state and state[k] is v:
                        del state[k]
                state[reg_name] = dict(reg)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        for reg_name in _REGISTRY_NAMES:
            _install_registry(self, reg_name, self.__dict__.get(reg_name))
        # Pickles from older versions may lack the newer hook dicts.
        for name in (
            "_forward_pre_hooks",
            "_forward_pre_hooks_with_kwargs",
            "_forward_hooks",
            "_forward_hooks_with_kwargs",
            "_forward_hooks_always_called",
            "_state_dict_hooks",
            "_state_dict_pre_hooks",
            "_load_state_dict_pre_hooks",
            "_load_state_dict_post_hooks",
            "_backward_pre_hooks",
            "_backward_hooks",
        ):
            if name not in self.__dict__:
                self.__dict__[name] = OrderedDict()
        if "_non_persistent_buffers_set" not in self.__dict__:
            self.__dict__["_non_persistent_buffers_set"] = set()
        if "_is_full_backward_hook" not in self.__dict__:
            self.__dict__["_is_full_backward_hook"] = None
        d = self.__dict__
        if (
            d["_forward_pre_hooks"]
            or d["_forward_hooks"]
            or d["_backward_pre_hooks"]
            or d["_backward_hooks"]
        ):
            _note_hook_registered()

    # ----------------------------------------------------------------- state dict

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        """Writes this module's own parameters and persistent buffers into ``destination``."""
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        non_persistent = self._non_persistent_buffers_set
        for name, buf in self._buffers.items():
            if buf is not None and name not in non_persistent:
                destination[prefix + name] = buf if keep_vars else buf.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            destination[prefix + _EXTRA_STATE_KEY_SUFFIX] = self.get_extra_state()

    def state_dict(
        self,
        *args: Any,
        destination: dict | None = None,
        prefix: str = "",
        keep_vars: bool = False,
    ) -> dict[str, Any]:
        r"""A dictionary of the module's state: parameters and persistent buffers.

        Keys are dotted names (``"layer.0.weight"``): the module's own parameters, then
        its own buffers, then each child's entries, in registration order. Values are
        detached tensors sharing storage with the module (``keep_vars=True`` returns the
        Parameters themselves). The result is an ``OrderedDict`` with a ``_metadata``
        attribute holding each module's ``version``.
        """
        if args:
            # Positional form (destination, prefix, keep_vars), deprecated in PyTorch.
            if destination is None and len(args) > 0:
                destination = args[0]
            if len(args) > 1 and prefix == "":
                prefix = args[1]
            if len(args) > 2 and keep_vars is False:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        local_metadata = {"version": self._version}
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(
                    destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars
                )
        for hook in self._state_dict_hooks.values():
            hook_result = hook(self, destination, prefix, local_metadata)
            if not getattr(hook, "_from_public_api", False):
                if hook_result is not None:
                    destination = hook_result
            elif hook_result is not None:
                raise RuntimeError("state_dict post-hook must return None")
        return destination

    def _load_from_state_dict(
        self,
        state_dict: Mapping[str, Any],
        prefix: str,
        local_metadata: dict,
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        """Copies this module's own entries from ``state_dict`` (keys under ``prefix``),
        recording missing/unexpected keys and errors instead of raising."""
        for hook in self._load_state_dict_pre_hooks.values():
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                 error_msgs)  # fmt: skip
        non_persistent = self._non_persistent_buffers_set
        local_state = {k: v for k, v in self._parameters.items() if v is not None}
        for k, v in self._buffers.items():
            if v is not None and k not in non_persistent:
                local_state[k] = v
        assign = local_metadata.get("assign_to_params_buffers", False)

        for name, param in local_state.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            input_param = state_dict[key]
            if not isinstance(input_param, Tensor):
                error_msgs.append(
                    f'While copying the parameter named "{key}", expected torch.Tensor or '
                    f"Tensor-like object from checkpoint but received {type(input_param)}"
                )
                continue
            # Checkpoints of PyTorch 0.3 stored scalars as 1-element vectors.
            if param.dim() == 0 and input_param.dim() == 1:
                input_param = input_param[0]
            if input_param.shape != param.shape:
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape {input_param.shape} "
                    f"from checkpoint, the shape in current model is {param.shape}."
                )
                continue
            try:
                with rtorch.no_grad():
                    if assign:
                        if isinstance(param, Parameter):
                            if not isinstance(input_param, Parameter):
                                input_param = Parameter(
                                    input_param, requires_grad=param.requires_grad
                                )
                            else:
                                input_param.requires_grad_(param.requires_grad)
                        setattr(self, name, input_param)
                    else:
                        param.copy_(input_param)
            except Exception as ex:  # noqa: BLE001
                error_msgs.append(
                    f'While copying the parameter named "{key}", whose dimensions in the model '
                    f"are {param.size()} and whose dimensions in the checkpoint are "
                    f"{input_param.size()}, an exception occurred : {ex.args}."
                )

        extra_state_key = prefix + _EXTRA_STATE_KEY_SUFFIX
        if type(self).set_extra_state is not Module.set_extra_state:
            if extra_state_key in state_dict:
                self.set_extra_state(state_dict[extra_state_key])
            elif strict:
                missing_keys.append(extra_state_key)
        elif strict and extra_state_key in state_dict:
            unexpected_keys.append(extra_state_key)

        if strict:
            for key in state_dict:
                if key.startswith(prefix) and key != extra_state_key:
                    input_name = key[len(prefix) :].split(".", 1)
                    if len(input_name) > 1:
                        if input_name[0] not in self._modules:
                            unexpected_keys.append(key)
                    elif input_name[0] not in local_state:
                        unexpected_keys.append(key)

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> _IncompatibleKeys:
        r"""Copies parameters and buffers from ``state_dict`` into this module and its
        descendants.

        Args:
            state_dict (dict): a dict containing parameters and persistent buffers.
            strict (bool, optional): whether the keys of ``state_dict`` must match the keys
                returned by this module's :meth:`state_dict`. Default: ``True``
            assign (bool, optional): when ``True``, the module's tensors are replaced by the
                state dict's (kept as Parameters where the module had Parameters) instead of
                being copied into. Default: ``False``

        Returns:
            ``NamedTuple`` with ``missing_keys`` and ``unexpected_keys`` fields.

        Raises:
            RuntimeError: listing the missing and unexpected keys (when ``strict``) and
                every shape mismatch.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing_keys: list[str] = []
        unexpected_keys: list[str] = []
        error_msgs: list[str] = []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)
        if metadata is not None:
            state_dict._metadata = metadata

        _load_recursive(
            self, state_dict, "", metadata, assign, missing_keys, unexpected_keys, error_msgs
        )

        if strict:
            if unexpected_keys:
                error_msgs.insert(
                    0,
                    "Unexpected key(s) in state_dict: {}. ".format(
                        ", ".join(f'"{k}"' for k in unexpected_keys)
                    ),
                )
            if missing_keys:
                error_msgs.insert(
                    0,
                    "Missing key(s) in state_dict: {}. ".format(
                        ", ".join(f'"{k}"' for k in missing_keys)
                    ),
                )
        if error_msgs:
            raise RuntimeError(
                "Error(s) in loading state_dict for {}:\n\t{}".format(
                    self.__class__.__name__, "\n\t".join(error_msgs)
                )
            )
        return _IncompatibleKeys(missing_keys, unexpected_keys)

    # ----------------------------------------------------------------- iteration

    def _named_members(
        self,
        get_members_fn: Callable[[Module], Any],
        prefix: str = "",
        recurse: bool = True,
        remove_duplicate: bool = True,
    ) -> Iterator[tuple[str, Any]]:
        # Identity-based memo: tensors compare elementwise, so they never go in a set.
        memo: set[int] = set()
        if not recurse:
            modules: Any = [(prefix, self)]
        elif type(self).named_modules is Module.named_modules:
            modules = self._walk_modules(prefix, remove_duplicate)
        else:
            modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
        for module_prefix, module in modules:
            for k, v in get_members_fn(module):
                if v is None or id(v) in memo:
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield (module_prefix + ("." if module_prefix else "") + k, v)

    def _walk_modules(self, prefix: str, remove_duplicate: bool) -> list[tuple[str, Module]]:
        """``named_modules`` as a list, built with an explicit stack (no generator per
        level of nesting): the same pre-order and de-duplication."""
        out = []
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            pfx, mod = stack.pop()
            if remove_duplicate:
                if id(mod) in seen:
                    continue
                seen.add(id(mod))
            out.append((pfx, mod))
            children = mod._modules
            if children:
                sep = pfx + "." if pfx else ""
                stack.extend(
                    (sep + name, child)
                    for name, child in reversed(children.items())
                    if child is not None
                )
        return out

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        r"""An iterator over module parameters (each shared parameter once).

        Args:
            recurse (bool): if True, includes the parameters of all submodules; otherwise
                only this module's own.
        """
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        r"""An iterator over ``(name, parameter)`` pairs, in registration order.

        Args:
            prefix (str): prefix prepended to every name.
            recurse (bool): include submodules' parameters.
            remove_duplicate (bool): yield a shared parameter only once.
        """
        return self._named_members(
            lambda module: module._parameters.items(),
            prefix=prefix,
            recurse=recurse,
            remove_duplicate=remove_duplicate,
        )

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """An iterator over module buffers."""
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """An iterator over ``(name, buffer)`` pairs, in registration order."""
        return self._named_members(
            lambda module: module._buffers.items(),
            prefix=prefix,
            recurse=recurse,
            remove_duplicate=remove_duplicate,
        )

    def children(self) -> Iterator[Module]:
        """An iterator over the immediate children (each module once)."""
        for _, module in self.named_children():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """An iterator over ``(name, child)`` pairs of the immediate children."""
        memo: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def modules(self) -> Iterator[Module]:
        """An iterator over all modules in the tree, ``self`` first (each once)."""
        for _, module in self.named_modules():
            yield module

    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        r"""An iterator over all modules in the tree as ``(dotted name, module)`` pairs.

        Args:
            memo: modules already yielded (used by the recursion).
            prefix: prefix added to the names.
            remove_duplicate: yield a module registered several times only once.
        """
        if memo is None:
            memo = set()
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            submodule_prefix = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, submodule_prefix, remove_duplicate)

    # ----------------------------------------------------------------- modes & grads

    def train(self, mode: bool = True) -> Module:
        r"""Sets training mode (``mode=True``) or evaluation mode, recursively; returns self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")  # noqa: TRY004
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        r"""Sets evaluation mode (``self.train(False)``); returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        r"""Sets ``requires_grad`` of every parameter; returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        r"""Resets the gradients of all parameters: to ``None`` (default) or to zero."""
        cls = type(self)
        if (
            set_to_none
            and cls.parameters is Module.parameters
            and cls.named_parameters is Module.named_parameters
            and cls.named_modules is Module.named_modules
        ):
            # Fast path: walk the registries directly (a shared parameter is visited
            # more than once, which is harmless for setting its grad to None).
            for _, module in self._walk_modules("", True):
                for p in module._parameters.values():
                    if p is not None and p.grad is not None:
                        p.grad = None
            return
        for p in self.parameters():
            grad = p.grad
            if grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                if grad.grad_fn is not None:
                    grad = grad.detach()
                    p.grad = grad
                else:
                    grad.requires_grad_(False)
                grad.zero_()

    # ----------------------------------------------------------------- printing

    def _get_name(self) -> str:
        return self.__class__.__name__

    def extra_repr(self) -> str:
        r"""The module-specific part of ``repr`` (override in layers, e.g.
        ``in_features=4, out_features=2, bias=True``)."""
        return ""

    def __repr__(self) -> str:
        extra_lines: list[str] = []
        extra_repr = self.extra_repr()
        if extra_repr:
            extra_lines = extra_repr.split("\n")
        child_lines = []
        for key, module in self._modules.items():
            mod_str = _addindent(repr(module), 2)
            child_lines.append("(" + key + "): " + mod_str)
        lines = extra_lines + child_lines
        main_str = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main_str += extra_lines[0]
            else:
                main_str += "\n  " + "\n  ".join(lines) + "\n"
        main_str += ")"
        return main_str

    def _replicate_for_data_parallel(self) -> Module:
        replica = self.__new__(type(self))
        replica.__dict__ = self.__getstate__()
        _install_registry(replica, "_parameters", {})
        _install_registry(replica, "_buffers", self._buffers)
        _install_registry(replica, "_modules", self._modules)
        return replica


def _load_recursive(
    module: Module,
    local_state_dict: Mapping,
    prefix: str,
    metadata: Any,
    assign: bool,
    missing_keys: list[str],
    unexpected_keys: list[str],
    error_msgs: list[str],
) -> None:
    """``load_state_dict``'s walk: each module loads its own keys, then its children's."""
    local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
    if assign:
        local_metadata["assign_to_params_buffers"] = assign
    module._load_from_state_dict(
        local_state_dict, prefix, local_metadata, True, missing_keys, unexpected_keys, error_msgs
    )
    for name, child in module._modules.items():
        if child is not None:
            child_prefix = prefix + name + "."
            child_state_dict = {
                k: v for k, v in local_state_dict.items() if k.startswith(child_prefix)
            }
            _load_recursive(
                child,
                child_state_dict,
                child_prefix,
                metadata,
                assign,
                missing_keys,
                unexpected_keys,
                error_msgs,
            )
    incompatible_keys = _IncompatibleKeys(missing_keys, unexpected_keys)
    for hook in module._load_state_dict_post_hooks.values():
        if hook(module, incompatible_keys) is not None:
            raise RuntimeError(
                "Hooks registered with ``register_load_state_dict_post_hook`` are not"
                "expected to return new values, if incompatible_keys need to be "
                "modified,it should be done inplace."
            )


def _parse_to(args: tuple, kwargs: dict) -> tuple[Any, Any, bool]:
    """Splits ``Module.to``'s arguments into ``(device, dtype, non_blocking)``."""
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    non_blocking = bool(kwargs.pop("non_blocking", False))
    kwargs.pop("memory_format", None)
    kwargs.pop("copy", None)
    if kwargs:
        raise TypeError(f"to() received an invalid combination of arguments: {sorted(kwargs)}")
    rest = list(args)
    if rest and isinstance(rest[0], Tensor):
        t = rest.pop(0)
        device, dtype = t.device, t.dtype
    elif rest and isinstance(rest[0], rtorch.dtype):
        dtype = rest.pop(0)
    elif rest and (
        isinstance(rest[0], (str, int, rtorch.device)) and not isinstance(rest[0], bool)
    ):
        device = rest.pop(0)
        if rest and isinstance(rest[0], rtorch.dtype):
            dtype = rest.pop(0)
    if rest and isinstance(rest[0], bool):
        non_blocking = rest.pop(0)
    if rest:
        raise TypeError(
            "to() received an invalid combination of arguments - got "
            f"({', '.join(type(a).__name__ for a in args)})"
        )
    if device is not None:
        device = rtorch.device(device)
    return device, dtype, non_blocking


def _remove_from(name: str, *dicts_or_sets: Any) -> None:
    for d in dicts_or_sets:
        if name in d:
            if isinstance(d, dict):
                del d[name]
            else:
                d.discard(name)
