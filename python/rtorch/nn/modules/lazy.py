"""``LazyModuleMixin``: modules whose parameter shapes come from their first input."""

from __future__ import annotations

from typing import Any

import rtorch

from ..parameter import is_lazy

__all__ = ["LazyModuleMixin"]


class LazyModuleMixin:
    r"""A mixin for modules that lazily initialize parameters ("lazy modules").

    A lazy module holds :class:`~rtorch.nn.UninitializedParameter` objects until its first
    ``forward``: a forward pre-hook calls ``initialize_parameters(*input)``, which infers
    the shapes from the input and materializes them; the module then becomes its
    ``cls_to_become`` (``LazyLinear`` becomes ``Linear``). Loading a state dict into a
    lazy module materializes the parameters with the checkpoint's shapes first.
    """

    cls_to_become: type | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)  # type: ignore[attr-defined]
        self._initialize_hook = self.register_forward_pre_hook(  # type: ignore[attr-defined]
            self._infer_parameters, with_kwargs=True
        )

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        # Uninitialized entries are saved as themselves (they have no data to detach).
        for name, param in self._parameters.items():  # type: ignore[attr-defined]
            if param is not None:
                if not (is_lazy(param) or keep_vars):
                    param = param.detach()
                destination[prefix + name] = param
        for name, buf in self._buffers.items():  # type: ignore[attr-defined]
            if buf is not None and name not in self._non_persistent_buffers_set:  # type: ignore[attr-defined]
                if not (is_lazy(buf) or keep_vars):
                    buf = buf.detach()
                destination[prefix + name] = buf

    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        # Module._apply replaces buffers by fn(buffer); an uninitialized buffer must stay
        # one (with the converted dtype) until the first forward materializes it.
        lazy = {k: b for k, b in self._buffers.items() if b is not None and is_lazy(b)}  # type: ignore[attr-defined]
        result = super()._apply(fn, recurse)  # type: ignore[misc]
        for key, buf in lazy.items():
            converted = self._buffers[key]  # type: ignore[attr-defined]
            if converted is not buf:
                buf.data = converted
                self._buffers[key] = buf  # type: ignore[attr-defined]
        return result

    def _lazy_load_hook(
        self,
        state_dict: dict,
        prefix: str,
        local_metadata: dict,
        strict: bool,
        missing_keys: list,
        unexpected_keys: list,
        error_msgs: list,
    ) -> None:
        """Materializes uninitialized entries with the shapes of the checkpoint's."""
        entries = [*self._parameters.items(), *self._buffers.items()]  # type: ignore[attr-defined]
        for name, value in entries:
            key = prefix + name
            if value is not None and key in state_dict and is_lazy(value):
                incoming = state_dict[key]
                if not is_lazy(incoming):
                    with rtorch.no_grad():
                        value.materialize(incoming.shape)

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        """Infers and materializes the parameters from the first input."""
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {self.__class__.__name__}"
        )

    def has_uninitialized_params(self) -> bool:
        """True while some parameter or buffer is uninitialized."""
        entries = [*self._parameters.values(), *self._buffers.values()]  # type: ignore[attr-defined]
        return any(is_lazy(v) for v in entries)

    def _infer_parameters(self, module: Any, args: tuple, kwargs: dict | None = None) -> None:
        kwargs = kwargs or {}
        module.initialize_parameters(*args, **kwargs)
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")  # type: ignore[attr-defined]
        module._initialize_hook.remove()
        module._load_hook.remove()
        delattr(module, "_initialize_hook")
        delattr(module, "_load_hook")
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _replicate_for_data_parallel(self) -> Any:
        raise RuntimeError(
            "Modules with uninitialized parameters can't be used with `DataParallel`. Run a "
            "dummy forward pass to correctly initialize the modules"
        )
