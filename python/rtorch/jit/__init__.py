"""``rtorch.jit``: the TorchScript entry points that model code calls.

rtorch has no TorchScript compiler; every op already runs in Rust. ``script`` and
``trace`` return the function or module unchanged (same results and gradients),
``is_scripting``/``is_tracing`` are False, and the decorators that only mark code for the
compiler (``ignore``, ``unused``, ``export``, ``interface``) return it as is. Saving a
scripted module (``jit.save``) is not supported.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Final, TypeVar

__all__ = [
    "Attribute",
    "Final",
    "annotate",
    "export",
    "fork",
    "freeze",
    "ignore",
    "interface",
    "is_scripting",
    "is_tracing",
    "load",
    "optimize_for_inference",
    "save",
    "script",
    "script_if_tracing",
    "script_method",
    "trace",
    "trace_module",
    "unused",
    "wait",
]

_T = TypeVar("_T")


def script(obj: Any, optimize: Any = None, _frames_up: int = 0, _rcb: Any = None,
           example_inputs: Any = None) -> Any:  # fmt: skip
    """Returns ``obj`` (a function or module) unchanged: it already runs natively."""
    warnings.warn(
        "`torch.jit.script` is deprecated. Please switch to `torch.compile` or `torch.export`.",
        FutureWarning,
        stacklevel=2,
    )
    return obj


def trace(func: Any, example_inputs: Any = None, *args: Any, **kwargs: Any) -> Any:
    """Returns ``func`` (a function or module) unchanged: it already runs natively."""
    warnings.warn(
        "`torch.jit.trace` is deprecated. Please switch to `torch.compile` or `torch.export`.",
        FutureWarning,
        stacklevel=2,
    )
    return func


def trace_module(mod: Any, inputs: Any = None, *args: Any, **kwargs: Any) -> Any:
    """Returns ``mod`` unchanged."""
    return mod


def script_if_tracing(fn: _T) -> _T:
    """Returns ``fn`` unchanged."""
    return fn


def is_scripting() -> bool:
    """False: rtorch code never runs under the TorchScript compiler."""
    return False


def is_tracing() -> bool:
    """False: rtorch code never runs under the TorchScript tracer."""
    return False


def ignore(drop: Any = False, **kwargs: Any) -> Any:
    """Marks a function for the compiler to leave alone; here it returns it unchanged
    (usable as ``@ignore`` and ``@ignore(drop=True)``)."""
    if callable(drop):
        return drop

    def decorator(fn: Callable) -> Callable:
        return fn

    return decorator


def unused(fn: _T) -> _T:
    """Marks a method for the compiler to skip; returns it unchanged."""
    return fn


def export(fn: _T) -> _T:
    """Marks a method for the compiler to compile; returns it unchanged."""
    return fn


def interface(obj: _T) -> _T:
    """Marks a class as a TorchScript interface; returns it unchanged."""
    return obj


def annotate(the_type: Any, the_value: _T) -> _T:
    """Returns ``the_value`` (the type is a hint for the compiler)."""
    return the_value


class Attribute:
    """``jit.Attribute(value, type)``: outside the compiler, just the value."""

    def __new__(cls, value: Any, type: Any = None) -> Any:
        return value


class _Future:
    def __init__(self, value: Any) -> None:
        self._value = value

    def wait(self) -> Any:
        return self._value

    def value(self) -> Any:
        return self._value

    def done(self) -> bool:
        return True


def fork(func: Callable, *args: Any, **kwargs: Any) -> _Future:
    """Runs ``func`` now and returns a completed future holding its result."""
    return _Future(func(*args, **kwargs))


def wait(future: _Future) -> Any:
    """The result of a :func:`fork` future."""
    return future.wait()


def freeze(mod: Any, preserved_attrs: Any = None, optimize_numerics: bool = True) -> Any:
    """Returns ``mod`` unchanged."""
    return mod


def optimize_for_inference(mod: Any, other_methods: Any = None) -> Any:
    """Returns ``mod`` unchanged."""
    return mod


def save(m: Any, f: Any, _extra_files: Any = None) -> None:
    """Not supported: rtorch has no TorchScript archive format; use ``torch.save``."""
    raise NotImplementedError(
        "rtorch.jit.save is not supported (rtorch has no TorchScript); use rtorch.save "
        "with the module's state_dict"
    )


def load(f: Any, map_location: Any = None, _extra_files: Any = None) -> Any:
    """Not supported: rtorch cannot read TorchScript archives."""
    raise NotImplementedError("rtorch.jit.load is not supported (rtorch has no TorchScript)")


def script_method(fn: _T) -> _T:
    """Marks a ``ScriptModule`` method for compilation; returns it unchanged."""
    return fn


def __getattr__(name: str) -> Any:
    # ScriptModule is nn.Module here (subclasses of it are ordinary modules); imported on
    # first use so that `import rtorch.jit` does not load rtorch.nn.
    if name in ("ScriptModule", "RecursiveScriptModule", "TopLevelTracedModule"):
        from ..nn import Module

        return Module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
