"""``torch.memory_format``: how a new tensor lays out its dimensions in memory."""

from __future__ import annotations


class memory_format:
    """One of ``contiguous_format``, ``preserve_format``, ``channels_last`` and
    ``channels_last_3d`` (compared by identity, as PyTorch's)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self) -> str:
        return self._name


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
