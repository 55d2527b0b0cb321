"""``LinearCrossEntropyOptions``: the knobs of PyTorch's chunked linear + cross-entropy.

rtorch always evaluates the reference composition (``linear`` then ``cross_entropy``);
the options are accepted, stored and shown, and do not change the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["LinearCrossEntropyOptions"]


@dataclass
class LinearCrossEntropyOptions:
    """Options for :func:`rtorch.nn.functional.linear_cross_entropy` (see module docstring)."""

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: Literal["accurate", "compact", "auto"] = "auto"
    acc_dtype: Any = None
