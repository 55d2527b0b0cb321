"""``torch.nn.utils.init``: ``skip_init``."""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["skip_init"]


def skip_init(module_cls: type, *args: Any, **kwargs: Any) -> Any:
    """An instance of ``module_cls`` whose parameter values are unspecified (PyTorch skips
    their initialization; here they are initialized as usual, which is one such value)."""
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    return module_cls(*args, **kwargs)
