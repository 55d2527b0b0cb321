"""Anomaly detection: forward tracebacks on graph nodes and NaN checks in backward."""

from __future__ import annotations

import warnings
from typing import Any

from .. import _C

__all__ = [
    "detect_anomaly",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "set_detect_anomaly",
]


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on (process-wide, as in PyTorch)."""
    return _C.is_anomaly_enabled()


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly mode checks backward results for NaN."""
    return _C.is_anomaly_check_nan_enabled()


class detect_anomaly:
    """Context manager / decorator that enables anomaly detection inside its block.

    Nodes created inside record the traceback of their forward call; a backward
    that fails (or returns NaN, with ``check_nan``) reports that traceback.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.prev = _C.is_anomaly_enabled()
        self.check_nan = check_nan
        self.prev_check_nan = _C.is_anomaly_check_nan_enabled()
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and "
            "should only be enabled for debugging.",
            stacklevel=2,
        )

    def __enter__(self) -> None:
        _C._set_detect_anomaly(True, self.check_nan)

    def __exit__(self, *args: object) -> None:
        _C._set_detect_anomaly(self.prev, self.prev_check_nan)

    def __call__(self, fn: Any) -> Any:
        import functools

        @functools.wraps(fn)
        def wrapper(*a: Any, **k: Any) -> Any:
            with self.__class__(self.check_nan):
                return fn(*a, **k)

        return wrapper


class set_detect_anomaly:
    """Turns anomaly detection on or off; as a function or a context manager."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = _C.is_anomaly_enabled()
        self.prev_check_nan = _C.is_anomaly_check_nan_enabled()
        _C._set_detect_anomaly(bool(mode), bool(check_nan))

    def __enter__(self) -> None:
        pass

    def __exit__(self, *args: object) -> None:
        _C._set_detect_anomaly(self.prev, self.prev_check_nan)
