"""``rtorch.backends.mkldnn``: rtorch is not built with oneDNN (MKL-DNN). The flags
PyTorch programs set are kept so that setting and reading them works; they change
nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from .mkl import _refuse_verbose

__all__ = [
    "VERBOSE_OFF",
    "VERBOSE_ON",
    "VERBOSE_ON_CREATION",
    "flags",
    "is_acl_available",
    "is_available",
    "set_flags",
    "verbose",
]

VERBOSE_OFF = 0
VERBOSE_ON = 1
VERBOSE_ON_CREATION = 2

# PyTorch's defaults for a build with oneDNN.
enabled = True
deterministic = False
allow_tf32 = True
fp32_precision = "none"


def is_available() -> bool:
    """False: this build has no oneDNN."""
    return False


def is_acl_available() -> bool:
    """False: no Arm Compute Library either."""
    return False


class verbose:
    """PyTorch's oneDNN verbose scope; ``VERBOSE_OFF`` is accepted, turning verbose on
    raises as PyTorch does when oneDNN refuses it."""

    def __init__(self, level: int) -> None:
        self.level = level

    def __enter__(self) -> verbose | None:
        _refuse_verbose(self.level, "MKLDNN")
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool:
        return False


def set_flags(
    _enabled: bool | None = None,
    _deterministic: bool | None = None,
    _allow_tf32: bool | None = None,
    _fp32_precision: str | None = "none",
) -> tuple[bool, bool, bool, str]:
    """Sets the given flags and returns the previous ones (for ``flags``)."""
    global enabled, deterministic, allow_tf32, fp32_precision
    orig = (enabled, deterministic, allow_tf32, fp32_precision)
    if _enabled is not None:
        enabled = _enabled
    if _deterministic is not None:
        deterministic = _deterministic
    if _allow_tf32 is not None:
        allow_tf32 = _allow_tf32
    if _fp32_precision is not None:
        fp32_precision = _fp32_precision
    return orig


@contextmanager
def flags(
    enabled: bool = False,
    deterministic: bool = False,
    allow_tf32: bool = True,
    fp32_precision: str = "none",
) -> Iterator[None]:
    """Sets the flags for the ``with`` block and restores them after it."""
    orig = set_flags(enabled, deterministic, allow_tf32, fp32_precision)
    try:
        yield
    finally:
        set_flags(*orig)
