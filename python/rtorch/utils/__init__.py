"""rtorch.utils: data loading, hooks and checkpoint helpers, as torch.utils.

``import rtorch`` makes ``rtorch.utils.data`` reachable as an attribute (as in PyTorch);
the submodules load on first use.
"""

from __future__ import annotations

import importlib

_SUBMODULES = frozenset(
    {"_pytree", "benchmark", "checkpoint", "data", "dlpack", "hooks", "model_zoo"}
)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
