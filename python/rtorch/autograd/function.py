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
        for t in tensors:
            if t is not None and not isinstance(t, _C.Tensor):
                raise TypeError(
                    "save_for_backward can only save variables, but argument "
                    f"{tensors.index(t)} is of type {type(t).__name__}"
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
        ctx = BackwardCFunction()
        is_tensor = [isinstance(a, _C.Tensor) for a in args]
        grad_on = _C.is_grad_enabled()
        needs = tuple(bool(t and grad_on and a.requires_grad) for a, t in zip(args, is_tensor))
        ctx.needs_input_grad = needs
        custom_setup = "setup_context" in _own_attrs(cls)
        with no_grad():
            if custom_setup:
                output = cls.forward(*args)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args)
        if not (grad_on and any(needs)):
            return output

        single = not isinstance(output, tuple)
        outs = (output,) if single else tuple(output)
        inputs = [a for a, t in zip(args, is_tensor) if t]
        dirty = getattr(ctx, "dirty_tensors", ())
        for d in dirty:
            if d.is_leaf and d.requires_grad:
                raise RuntimeError(
                    "a leaf Variable that requires grad has been used in an in-place operation."
                )
        for d in dirty:
            if not any(o is d for o in outs):
                raise RuntimeError(
                    "Some elements marked as dirty during the forward method were not "
                    "returned as output. The inputs that are modified inplace must all be "
                    "outputs of the Function."
                )
            _C._bump_version(d)
        non_diff = getattr(ctx, "non_differentiable", ())

        # An input returned unchanged (and not dirty) becomes a new tensor sharing its
        # storage, so that it can carry this node's history.
        new_outs = []
        for o in outs:
            if isinstance(o, _C.Tensor) and any(o is a for a in inputs) and not any(
                o is d for d in dirty
            ):
                o = o.detach()
            new_outs.append(o)
        tensor_outs = [o for o in new_outs if isinstance(o, _C.Tensor)]
        differentiable = [not any(o is n for n in non_diff) for o in tensor_outs]
        to_save = getattr(ctx, "to_save", ())
        # Only the pattern of Nones is kept here: the tensors live in the node's saved
        # state (outputs saved there without a strong link back to the node).
        ctx._saved_layout = tuple(t is None for t in to_save)
        materialize = getattr(ctx, "materialize_grads", True)
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
                    if r is not None and not isinstance(r, _C.Tensor):
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

        node, saved = _C._record_function(
            name,
            inputs,
            tensor_outs,
            differentiable,
            run_backward,
            [t for t in to_save if t is not None],
            materialize,
        )
        ctx._saved = saved
        ctx.__dict__.pop("to_save", None)
        del node
        return new_outs[0] if single else tuple(new_outs)


def _own_attrs(cls: type) -> set:
    names: set = set()
    for k in cls.__mro__:
        if k is Function:
            break
        names.update(k.__dict__)
    return names


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
