"""``rtorch.backends.opt_einsum``: whether the ``opt_einsum`` package is importable, and
PyTorch's ``enabled`` / ``strategy`` switches with PyTorch's checks on assignment."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

__all__ = ["flags", "get_opt_einsum", "is_available", "set_flags"]

_STRATEGIES = ("auto", "greedy", "optimal")


@lru_cache
def _package() -> Any:
    try:
        import opt_einsum
    except ImportError:
        return None
    return opt_einsum


def is_available() -> bool:
    """True when the ``opt_einsum`` package can be imported."""
    return _package() is not None


def get_opt_einsum() -> Any:
    """The ``opt_einsum`` package, or None when it is not installed."""
    return _package()


_state: dict[str, Any] = {
    "enabled": is_available(),
    "strategy": "auto" if is_available() else None,
}


def _set_enabled(value: bool) -> None:
    if not is_available() and value:
        raise ValueError(
            f"opt_einsum is not available, so setting `enabled` to {value} will not reap the "
            "benefits of calculating an optimal path for einsum. torch.einsum will fall back "
            "to contracting from left to right. To enable this optimal path calculation, "
            "please install opt-einsum."
        )
    _state["enabled"] = value


def _set_strategy(value: str) -> None:
    if not is_available():
        raise ValueError(
            f"opt_einsum is not available, so setting `strategy` to {value} will not be "
            "meaningful. torch.einsum will bypass path calculation and simply contract from "
            "left to right. Please install opt_einsum or unset `strategy`."
        )
    if not _state["enabled"]:
        raise ValueError(
            f"opt_einsum is not enabled, so setting a `strategy` to {value} will not be "
            "meaningful. torch.einsum will bypass path calculation and simply contract from "
            "left to right. Please set `enabled` to `True` as well or unset `strategy`."
        )
    if value not in _STRATEGIES:
        raise ValueError(
            f"`strategy` must be one of the following: [auto, greedy, optimal] but is {value}"
        )
    _state["strategy"] = value


def set_flags(_enabled: bool | None = None, _strategy: str | None = None) -> tuple[Any, Any]:
    """Sets the given switches and returns the previous ones (for ``flags``)."""
    orig = (_state["enabled"], _state["strategy"] if is_available() else None)
    if _enabled is not None:
        _set_enabled(_enabled)
    if _strategy is not None:
        _set_strategy(_strategy)
    return orig


@contextmanager
def flags(enabled: bool | None = None, strategy: str | None = None) -> Iterator[None]:
    """Sets the switches for the ``with`` block and restores them after it."""
    orig = set_flags(enabled, strategy)
    try:
        yield
    finally:
        set_flags(*orig)


class _OptEinsumModule(types.ModuleType):
    """The module's class: ``enabled`` and ``strategy`` are checked on assignment, as
    PyTorch's module-level properties are."""

    @property
    def enabled(self) -> bool:
        return _state["enabled"]

    @enabled.setter
    def enabled(self, value: bool) -> None:
        _set_enabled(value)

    @property
    def strategy(self) -> str | None:
        return _state["strategy"]

    @strategy.setter
    def strategy(self, value: str) -> None:
        if not is_available():
            # Without the package PyTorch keeps a plain attribute here.
            _state["strategy"] = value
            return
        _set_strategy(value)


sys.modules[__name__].__class__ = _OptEinsumModule
