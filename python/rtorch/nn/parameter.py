"""(to be written: Parameter, Buffer)"""

from __future__ import annotations

from .._C import Tensor


class Parameter(Tensor):
    """Placeholder; being written."""


class Buffer(Tensor):
    """Placeholder; being written."""
