"""``autocast``: the mixed-precision context manager's API.

rtorch has no automatic casting: ``autocast(..., enabled=False)`` (and CUDA autocast,
which PyTorch disables with a warning on a machine without a GPU) is a no-op, while an
enabled CPU autocast raises ``NotImplementedError`` rather than silently computing in
float32.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, Self

from .. import _C

__all__ = ["autocast", "custom_bwd", "custom_fwd", "is_autocast_available"]

_DEFAULT_DTYPES = {"cpu": _C.bfloat16, "cuda": _C.float16}


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast exists for ``device_type`` in PyTorch (``cpu`` and ``cuda``)."""
    return device_type in _DEFAULT_DTYPES


class autocast:
    r"""Context manager / decorator for mixed-precision regions (see the module docstring
    for what rtorch supports).

    Args:
        device_type: ``"cpu"`` or ``"cuda"``
        dtype: the low-precision dtype. Default: bfloat16 on CPU, float16 on CUDA
        enabled: whether casting is enabled in the region. Default: ``True``
        cache_enabled: whether the weight cast cache is enabled. Default: ``None``
    """

    def __init__(
        self,
        device_type: str,
        dtype: Any = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        if not isinstance(device_type, str):
            raise ValueError(  # noqa: TRY004 - PyTorch raises ValueError
                f"Expected `device_type` of type `str`, got: `{type(device_type)}`"
            )
        self.device = device_type
        self.fast_dtype = (
            dtype if dtype is not None else _DEFAULT_DTYPES.get(device_type, _C.float16)
        )
        self._enabled = enabled
        if enabled and device_type == "cuda":
            warnings.warn(
                "CUDA is not available or torch_xla is imported. Disabling autocast.",
                UserWarning,
                stacklevel=2,
            )
            self._enabled = False

    def __enter__(self) -> Self:
        if self._enabled:
            raise NotImplementedError(
                f"autocast(device_type={self.device!r}, enabled=True) is not supported by "
                "rtorch: there is no automatic mixed precision; compute in float32 or convert "
                "the model and inputs explicitly (.bfloat16(), .half())"
            )
        return self

    def __exit__(self, *args: object) -> None:
        return None

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def decorate_autocast(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return decorate_autocast


def custom_fwd(fwd: Callable | None = None, *, device_type: str, cast_inputs: Any = None) -> Any:
    """Decorator for a custom Function's ``forward`` under autocast; returns it unchanged
    (there is no autocast state to manage)."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    return fwd


def custom_bwd(bwd: Callable | None = None, *, device_type: str) -> Any:
    """Decorator for a custom Function's ``backward`` under autocast; returns it unchanged."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """False: rtorch never runs with autocast enabled."""
    return False


def get_autocast_dtype(device_type: str) -> Any:
    """The dtype autocast would use on ``device_type`` (PyTorch's defaults)."""
    return _DEFAULT_DTYPES.get(device_type, _C.float16)


def set_autocast_enabled(*args: Any) -> None:
    """Enabling autocast is not supported; disabling is a no-op."""
    enabled = args[-1] if args else False
    if enabled:
        raise NotImplementedError("autocast is not supported by rtorch")
