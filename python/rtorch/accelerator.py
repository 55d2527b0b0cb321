"""``rtorch.accelerator``: the device-agnostic accelerator API, on a machine without one."""

from __future__ import annotations

from typing import Any

from .cuda import _no_device


def is_available() -> bool:
    """False: rtorch has no accelerator on this machine."""
    return False


def current_accelerator(check_available: bool = False) -> None:
    """None: no accelerator backend is present (as in a CPU-only PyTorch)."""
    return


def device_count() -> int:
    return 0


def current_device_index() -> int:
    return _no_device()


def set_device_index(device: Any) -> None:
    _no_device()


def synchronize(device: Any = None) -> None:
    _no_device()


set_device_idx = set_device_index
current_device_idx = current_device_index
