"""``rtorch.utils.checkpoint``: activation checkpointing's API.

``checkpoint(fn, *args)`` returns ``fn(*args)`` with the same values and the same
gradients as PyTorch's. rtorch keeps the forward's saved tensors instead of recomputing
them in the backward, so it does not reduce peak memory (not implemented yet).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["CheckpointError", "checkpoint", "checkpoint_sequential"]


class CheckpointError(RuntimeError):
    """Raised when a checkpointed region misbehaves (PyTorch's class, for ``except``)."""


def _warn_reentrant(use_reentrant: bool | None) -> bool:
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
            "In a future release, calling checkpoint without use_reentrant will raise an "
            "exception. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.",
            UserWarning,
            stacklevel=3,
        )
        return True
    return use_reentrant


def checkpoint(
    function: Callable,
    *args: Any,
    use_reentrant: bool | None = None,
    preserve_rng_state: bool = True,
    context_fn: Callable | None = None,
    determinism_check: str = "default",
    debug: bool = False,
    early_stop: bool = True,
    **kwargs: Any,
) -> Any:
    """Runs ``function(*args, **kwargs)`` as part of the graph (see the module docstring
    for the memory caveat). Keyword arguments other than the options need
    ``use_reentrant=False``, as in PyTorch."""
    reentrant = _warn_reentrant(use_reentrant)
    if reentrant:
        if context_fn is not None:
            raise ValueError(
                "Passing `context_fn` or `debug` is only supported when use_reentrant=False."
            )
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if determinism_check not in ("default", "none"):
        raise ValueError(
            f"determinism_check should be one of ['default', 'none'], but got {determinism_check}"
        )
    if context_fn is not None:
        forward_context, _ = context_fn()
        with forward_context:
            return function(*args, **kwargs)
    return function(*args, **kwargs)


def checkpoint_sequential(
    functions: Any, segments: int, input: Any, use_reentrant: bool | None = None, **kwargs: Any
) -> Any:
    """Runs a ``Sequential`` (or a list of modules) on ``input`` in ``segments`` chunks,
    each through :func:`checkpoint`."""
    _warn_reentrant(use_reentrant)
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())
    del preserve
    for fn in functions:
        input = fn(input)
    return input
