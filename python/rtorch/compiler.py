"""``rtorch.compiler``: the queries and markers of ``torch.compiler`` for code written
to run under ``torch.compile``. rtorch runs every op eagerly (``torch.compile`` returns
its argument), so nothing is ever being compiled or exported, and the markers that
steer a compiler return what they are given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "allow_in_graph",
    "assume_constant_result",
    "cudagraph_mark_step_begin",
    "disable",
    "is_compiling",
    "is_dynamo_compiling",
    "is_exporting",
    "list_backends",
    "reset",
]


def is_compiling() -> bool:
    """Whether the caller runs inside a compiled graph: never in rtorch."""
    return False


def is_dynamo_compiling() -> bool:
    """Whether the caller is being traced by TorchDynamo: never in rtorch."""
    return False


def is_exporting() -> bool:
    """Whether the caller is being exported (``torch.export``): never in rtorch."""
    return False


def disable(fn: Callable | None = None, recursive: bool = True, *, reason: Any = None) -> Any:
    """Keeps ``fn`` out of compilation: it already runs eagerly, so ``fn`` itself (or, as
    ``@disable()``, a decorator returning its argument)."""
    if fn is None:
        return lambda f: f
    return fn


def allow_in_graph(fn: Callable) -> Callable:
    """Marks ``fn`` to be put into a compiled graph as is: returns ``fn``."""
    return fn


def assume_constant_result(fn: Callable) -> Callable:
    """Marks ``fn``'s result as constant for a compiler: returns ``fn``."""
    return fn


def reset() -> None:
    """Clears a compiler's caches: rtorch keeps none."""


def cudagraph_mark_step_begin() -> None:
    """Marks the start of an iteration for CUDA graph trees: no graphs in rtorch."""


def list_backends(exclude_tags: tuple[str, ...] | None = ("debug", "experimental")) -> list[str]:
    """The registered ``torch.compile`` backends: rtorch has none (``compile`` returns
    its argument whatever the backend)."""
    return []
