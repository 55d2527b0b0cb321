"""``rtorch.autograd.Function``: user-defined differentiable operations.

``forward`` runs under ``no_grad``; ``_C._record_function`` then makes a graph node
whose backward calls back into ``backward`` (written with rtorch ops, so it is
itself differentiable under ``create_graph=True``).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from .. import _C
from .grad_mode import no_grad

__all__ = ["Function", "FunctionCtx", "InplaceFunction", "NestedIOFunction", "once_differentiable"]


class FunctionCtx:
    """The ``ctx`` object: stores what backward needs; any attribute may be set."""

    def save_for_backward(self, *tensors: _C.Tensor | None) -> None:
        """Saves tensors (or None) for backward; they are version-checked on use."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, _C.Tensor):
                raise TypeError(
                    f"save_for_backward can only save variables, but argument {i} is of "
                    f"type {type(t).__name__}"
                )
        self.to_save = tensors

    def save_for_forward(self, *tensors: _C.Tensor | None) -> None:
        """Kept for API compatibility (forward-mode AD is not supported)."""
        self.saved_for_forward = tensors

    def mark_dirty(self, *args: _C.Tensor) -> None:
        """Declares inputs that ``forward`` modified in place."""
        self.dirty_tensors = args

    def mark_non_differentiable(self, *args: _C.Tensor) -> None:
        """Declares outputs that get no gradient (e.g. indices)."""
        self.non_differentiable = args

    def set_materialize_grads(self, value: bool) -> None:
        """Whether None output gradients reach ``backward`` as zeros (default True)."""
        self.materialize_grads = bool(value)

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward``, checked for in-place changes."""
        saved = self.__dict__.get("_saved")
        if saved is None:
            return tuple(self.__dict__.get("to_save", ()))
        values = iter(saved.unpack())
        return tuple(None if is_none else next(values) for is_none in self._saved_layout)

    @property
    def saved_variables(self) -> tuple:
        return self.saved_tensors


class BackwardCFunction(FunctionCtx):
    """The ctx class of every Function (PyTorch's name)."""


class FunctionMeta(type):
    """Gives each Function subclass its ``<Name>Backward`` node name."""

    def __init__(cls, name: str, bases: tuple, attrs: dict) -> None:
        cls._backward_name = f"{name}Backward"
        # forward(*args) + setup_context(ctx, inputs, output) instead of forward(ctx, ...)
        cls._custom_setup = "setup_context" in attrs or any(
            getattr(b, "_custom_setup", False) for b in bases
        )
        super().__init__(name, bases, attrs)


class Function(metaclass=FunctionMeta):
    """Base class of user-defined autograd operations.

    Subclasses define static ``forward(ctx, *args)`` (or ``forward(*args)`` plus
    ``setup_context(ctx, inputs, output)``) and ``backward(ctx, *grad_outputs)``,
    and are called through ``apply``.
    """

    generate_vmap_rule = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Instances only exist for legacy code; the static methods do the work.
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. "
            "Please use new-style autograd function with static forward method. "
            "(Example: https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)"
        )

    @staticmethod
    def forward(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> Any:
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD."
        )

    vjp = backward

    @staticmethod
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it "
            "with forward mode AD."
        )

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Runs ``forward`` and records a graph node for ``backward``."""
        if kwargs:
            raise TypeError(f"{cls.__name__}.apply() does not accept keyword arguments")
        tensor_type = _C.Tensor
        ctx = BackwardCFunction()
        is_tensor = [isinstance(a, tensor_type) for a in args]
        grad_on = _C.is_grad_enabled()
        if grad_on:
            needs = tuple(t and a.requires_grad for a, t in zip(args, is_tensor))
        else:
            needs = (False,) * len(args)
        ctx.needs_input_grad = needs
        _C._set_grad_enabled(False)
        try:
            if cls._custom_setup:
                output = cls.forward(*args)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args)
        finally:
            _C._set_grad_enabled(grad_on)
        if not (grad_on and True in needs):
            return output

        single = not isinstance(output, tuple)
        outs = (output,) if single else output
        inputs = [a for a, t in zip(args, is_tensor) if t]
        attrs = ctx.__dict__
        dirty = attrs.get("dirty_tensors", ())
        dirty_ids = {id(d) for d in dirty}
        if dirty:
            out_ids = {id(o) for o in outs}
            for d in dirty:
                if d.is_leaf and d.requires_grad:
                    raise RuntimeError(
                        "a leaf Variable that requires grad has been used in an in-place operation."
                    )
                if id(d) not in out_ids:
                    raise RuntimeError(
                        "Some elements marked as dirty during the forward method were not "
                        "returned as output. The inputs that are modified inplace must all "
                        "be outputs of the Function."
                    )
                _C._bump_version(d)
        non_diff_ids = {id(n) for n in attrs.get("non_differentiable", ())}

        # An input returned unchanged (and not dirty) becomes a new tensor sharing its
        # storage, so that it can carry this node's history.
        input_ids = {id(a) for a in inputs}
        new_outs = []
        tensor_outs = []
        differentiable = []
        for o in outs:
            if isinstance(o, tensor_type):
                if id(o) in input_ids and id(o) not in dirty_ids:
                    o = o.detach()
                tensor_outs.append(o)
                differentiable.append(id(o) not in non_diff_ids)
            new_outs.append(o)
        to_save = attrs.pop("to_save", ())
        # Only the pattern of Nones is kept here: the tensors live in the node's saved
        # state (outputs saved there without a strong link back to the node).
        ctx._saved_layout = tuple(t is None for t in to_save)
        name = cls._backward_name
        n_args = len(args)
        backward = cls.backward

        def run_backward(*grads: Any) -> list:
            result = backward(ctx, *grads)
            if not isinstance(result, tuple):
                result = (result,)
            if len(result) != n_args:
                if len(result) > n_args and all(r is None for r in result[n_args:]):
                    result = result[:n_args]
                else:
                    raise RuntimeError(
                        f"function {name} returned an incorrect number of gradients "
                        f"(expected {n_args}, got {len(result)})"
                    )
            grads_in = []
            for i, (r, t) in enumerate(zip(result, is_tensor)):
                if t:
                    if r is not None and not isinstance(r, tensor_type):
                        raise TypeError(
                            f"expected Tensor or None as gradient {i} of {name}, "
                            f"but got {type(r).__name__}"
                        )
                    grads_in.append(r)
                elif r is not None:
                    raise RuntimeError(
                        f"function {name} returned a gradient different than None at "
                        f"position {i + 1}, but the corresponding forward input was not a "
                        "Variable"
                    )
            return grads_in

        _, ctx._saved = _C._record_function(
            name,
            inputs,
            tensor_outs,
            differentiable,
            run_backward,
            [t for t in to_save if t is not None],
            attrs.get("materialize_grads", True),
        )
        return new_outs[0] if single else tuple(new_outs)


Function._custom_setup = False


class InplaceFunction(Function):
    """A Function with an ``inplace`` flag (legacy API)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class NestedIOFunction(Function):
    """Legacy API placeholder."""


def once_differentiable(fn: Callable) -> Callable:
    """Marks a backward as not differentiable: it runs under ``no_grad``."""

    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any) -> Any:
        with no_grad():
            return fn(ctx, *args)

    return wrapper
