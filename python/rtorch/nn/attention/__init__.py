"""``rtorch.nn.attention``: choosing the backend of ``scaled_dot_product_attention``, as
``torch.nn.attention``.

PyTorch keeps one global flag per backend (math, flash, memory-efficient, cuDNN,
overrideable) and a priority order; :func:`sdpa_kernel` sets them for the duration of a
``with`` block and restores them after. rtorch keeps the same flags and order here, with
PyTorch's argument checks. On rtorch's CPU every backend PyTorch can use on a CPU (math
and the CPU flash kernel) is the same math path, so the choice changes which backends
are reported as enabled (:func:`_cur_sdpa_kernel_backends`), not the numbers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from enum import IntEnum

__all__ = ["WARN_FOR_UNFUSED_KERNELS", "SDPBackend", "sdpa_kernel"]

# PyTorch's switch for warnings about why a fused kernel was not used; rtorch has no fused
# attention kernel to explain, so it only exists for programs that set it.
WARN_FOR_UNFUSED_KERNELS = False


class SDPBackend(IntEnum):
    """The backends of ``scaled_dot_product_attention``, with PyTorch's values."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    def __str__(self) -> str:
        # PyTorch's enum prints as `SDPBackend.MATH` (an IntEnum would print `0`).
        return f"{type(self).__name__}.{self.name}"


# The flag name of each backend that has one (SDPBackend.ERROR has none), in PyTorch's
# order: the order `_cur_sdpa_kernel_backends` lists them in.
_backend_names = {
    "cudnn": "CUDNN_ATTENTION",
    "flash": "FLASH_ATTENTION",
    "mem_efficient": "EFFICIENT_ATTENTION",
    "math": "MATH",
    "overrideable": "OVERRIDEABLE",
}

# Process-wide, as PyTorch's flags (not thread-local). Every backend starts enabled, in
# PyTorch's default priority: flash, memory-efficient, math, cuDNN, overrideable.
_enabled: dict[SDPBackend, bool] = {SDPBackend[v]: True for v in _backend_names.values()}
_DEFAULT_PRIORITY = (
    SDPBackend.FLASH_ATTENTION,
    SDPBackend.EFFICIENT_ATTENTION,
    SDPBackend.MATH,
    SDPBackend.CUDNN_ATTENTION,
    SDPBackend.OVERRIDEABLE,
)
_priority: list[int] = [int(b) for b in _DEFAULT_PRIORITY]
_uses_priority = False


def _get_priority_order() -> list[int]:
    """The backends' priority order, as ints (``torch._C._get_sdp_priority_order``)."""
    return list(_priority)


def _set_priority_order(order: Iterable[int]) -> None:
    global _priority
    _priority = [int(b) for b in order]


def _is_enabled(backend: SDPBackend) -> bool:
    return _enabled.get(backend, False)


def _cur_sdpa_kernel_backends(with_priority: bool = False) -> list[SDPBackend]:
    """The enabled backends, in flag order or, with ``with_priority``, by priority."""
    backends = [SDPBackend[v] for v in _backend_names.values() if _enabled[SDPBackend[v]]]
    if with_priority:
        backends.sort(key=lambda b: _priority.index(int(b)))
    return backends


def _sdpa_kernel(backends: Iterable[SDPBackend], set_priority: bool = False) -> None:
    """Enables exactly ``backends``; with ``set_priority`` their order becomes the front of
    the priority order, the other backends keeping their relative order after them."""
    chosen = list(backends)
    for value in _backend_names.values():
        backend = SDPBackend[value]
        _enabled[backend] = backend in chosen
    if set_priority:
        order = [int(b) for b in chosen]
        order += [b for b in _priority if b not in order]
        _set_priority_order(order)


def _cpu_backend() -> SDPBackend:
    """The backend a CPU ``scaled_dot_product_attention`` call would run under the current
    flags: the first of flash (PyTorch's CPU flash kernel) and math by priority; PyTorch's
    RuntimeError when both are disabled."""
    for value in _priority:
        backend = SDPBackend(value)
        if backend in (SDPBackend.FLASH_ATTENTION, SDPBackend.MATH) and _is_enabled(backend):
            return backend
    raise RuntimeError(
        "No viable backend for scaled_dot_product_attention was found. This is likely due "
        "to turning off both the math kernel and the fused kernels."
    )


@contextlib.contextmanager
def sdpa_kernel(
    backends: list[SDPBackend] | SDPBackend, set_priority: bool = False
) -> Iterator[dict]:
    """Context manager to select which backends ``scaled_dot_product_attention`` may use.

    Args:
        backends: a backend or a list of backends to enable; every other one is disabled
            inside the block.
        set_priority: whether the list's order is their priority order.

    Example::

        >>> from rtorch.nn.attention import SDPBackend, sdpa_kernel
        >>> with sdpa_kernel(SDPBackend.MATH):
        ...     out = F.scaled_dot_product_attention(q, k, v)

    On leaving the block the previous flags (and, with ``set_priority``, the previous
    order) come back.
    """
    global _uses_priority
    if not isinstance(backends, (list, SDPBackend)):
        # PyTorch raises AssertionError here (an assert turned explicit).
        raise AssertionError(  # noqa: TRY004
            "Backend must be an instance of SDPBackend or a list of SDPBackend instances, "
            f"got {type(backends).__name__}"
        )
    if isinstance(backends, SDPBackend):
        backends = [backends]
    backends = list(dict.fromkeys(backends))
    previous = _cur_sdpa_kernel_backends(with_priority=set_priority)
    previous_uses_priority = _uses_priority
    _uses_priority = set_priority or _uses_priority
    try:
        _sdpa_kernel(backends, set_priority)
        yield {}
    finally:
        _uses_priority = previous_uses_priority
        _sdpa_kernel(previous, set_priority)


@contextlib.contextmanager
def _sdpa_kernel_variadic(*backends: SDPBackend) -> Iterator[None]:
    """``sdpa_kernel`` taking the backends as separate arguments."""
    with sdpa_kernel(list(backends)):
        yield
