"""``rtorch.autograd.graph``: the graph node type and graph helpers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable, Self

from .. import _C

Node = _C.Node

__all__ = ["Node", "increment_version", "register_multi_grad_hook"]


def increment_version(tensor: Any) -> None:
    """Marks ``tensor`` (or each tensor of a sequence) as modified in place."""
    if isinstance(tensor, _C.Tensor):
        tensor = (tensor,)
    for t in tensor:
        _C._bump_version(t)


class _MultiHandle:
    def __init__(self, handles: list) -> None:
        self.handles = handles

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *a: object) -> None:
        self.remove()


def register_multi_grad_hook(
    tensors: Sequence[Any], fn: Callable[[Sequence[Any]], None], *, mode: str = "all"
) -> _MultiHandle:
    """Calls ``fn(grads)`` once the gradients of all ``tensors`` (mode "all") or of
    the first one (mode "any") have been computed in a backward pass.

    Simplified: "all" calls ``fn`` after each tensor has received its gradient in the
    current pass, with None for tensors that got none so far.
    """
    if mode not in ("all", "any"):
        raise ValueError(f"Expects mode to be one of ('all', 'any') but got {mode}")
    tensors = list(tensors)
    state: dict = {"grads": [None] * len(tensors), "count": 0, "fired": False}
    expected = sum(1 for t in tensors if t.requires_grad)

    def make(i: int) -> Callable:
        def hook(g: Any) -> None:
            if mode == "any":
                fn(g)
                return
            state["grads"][i] = g
            state["count"] += 1
            if state["count"] == expected:
                grads = state["grads"]
                state["grads"], state["count"] = [None] * len(tensors), 0
                fn(grads)

        return hook

    return _MultiHandle(
        [t.register_hook(make(i)) for i, t in enumerate(tensors) if t.requires_grad]
    )
