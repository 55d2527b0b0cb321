"""Padding and packing of variable-length sequences, as ``torch.nn.utils.rnn``.

A ``PackedSequence`` stores the steps of a batch of sequences time-major: the rows of
step 0 for every sequence, then step 1 for the sequences still running, and so on, with
``batch_sizes[t]`` rows at step t. Sequences are ordered by decreasing length, so the
rows at step t are always the first ``batch_sizes[t]`` sequences; that makes packing a
boolean-mask selection of the padded (T, B, *) tensor and unpacking its inverse.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import rtorch
from rtorch import Tensor

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


class PackedSequence(NamedTuple):
    """Holds the data and the per-step batch sizes of a packed batch of sequences.

    Build one with :func:`pack_padded_sequence` or :func:`pack_sequence`, not directly.

    Attributes:
        data (Tensor): the packed steps, shape ``(sum(batch_sizes), *)``.
        batch_sizes (Tensor): int64 on the CPU, the number of sequences at each step.
        sorted_indices (Tensor, optional): the order the sequences were packed in.
        unsorted_indices (Tensor, optional): the inverse of ``sorted_indices``.
    """

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return self._replace(data=data)

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def double(self) -> PackedSequence:
        return self.to(dtype=rtorch.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=rtorch.float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=rtorch.float16)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The permutation that undoes ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    inverse = rtorch.empty_like(permutation)
    inverse[permutation] = rtorch.arange(permutation.numel(), dtype=permutation.dtype)
    return inverse


def _lengths_list(lengths: Tensor | Sequence[int]) -> list[int]:
    if isinstance(lengths, Tensor):
        if lengths.dim() != 1:
            raise RuntimeError(f"lengths should be a 1D tensor, but got {lengths.dim()}D")
        return [int(v) for v in lengths.tolist()]
    return [int(v) for v in lengths]


def _step_mask(lengths: list[int], steps: int) -> Tensor:
    """(steps, batch) bool: True where sequence b is still running at step t."""
    return rtorch.arange(steps).unsqueeze(1) < rtorch.tensor(lengths).unsqueeze(0)


def _batch_sizes(lengths: list[int]) -> Tensor:
    """Number of sequences longer than t, for each step t (lengths sorted decreasingly)."""
    steps = lengths[0] if lengths else 0
    return _step_mask(lengths, steps).sum(1).to(rtorch.int64)


def pack_padded_sequence(
    input: Tensor,
    lengths: Tensor | Sequence[int],
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """Packs a padded batch of variable-length sequences.

    Args:
        input: padded batch of shape ``(T, B, *)``, or ``(B, T, *)`` if ``batch_first``.
        lengths: the length of each sequence (a list or a 1-D CPU int64 tensor).
        batch_first: whether ``input`` has the batch first.
        enforce_sorted: if True, ``lengths`` must be sorted decreasingly; if False, the
            sequences are sorted here and the order is kept in the result.

    Example::

        >>> x = torch.tensor([[1, 2, 3], [4, 5, 0]]).t()
        >>> pack_padded_sequence(x, [3, 2]).batch_sizes
        tensor([2, 2, 1])
    """
    lens = _lengths_list(lengths)
    if batch_first:
        input = input.transpose(0, 1)
    if len(lens) != input.shape[1]:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {len(lens)} "
            f"(batch_size={input.shape[1]})"
        )
    if enforce_sorted:
        if any(a < b for a, b in zip(lens, lens[1:])):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` "
                "is True. You can pass `enforce_sorted=False` to pack_padded_sequence "
                "and/or pack_sequence to sidestep this requirement if you do not need "
                "ONNX exportability."
            )
        sorted_indices = None
    else:
        order = sorted(range(len(lens)), key=lambda i: -lens[i])
        sorted_indices = rtorch.tensor(order, dtype=rtorch.int64)
        lens = [lens[i] for i in order]
        input = input.index_select(1, sorted_indices)
    if lens and lens[-1] <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in "
            "'lengths' that is <= 0"
        )
    if lens and lens[0] > input.shape[0]:
        raise RuntimeError(
            f"Expected sequence length to be larger than or equal to {lens[0]}, but got "
            f"{input.shape[0]}"
        )
    steps = lens[0] if lens else 0
    data = input[:steps][_step_mask(lens, steps)]
    return PackedSequence(
        data, _batch_sizes(lens), sorted_indices, invert_permutation(sorted_indices)
    )


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Pads a packed batch back to ``(T, B, *)`` (or ``(B, T, *)``); the inverse of packing.

    Returns:
        The padded tensor and the int64 lengths of the sequences, in the original order.
    """
    batch_sizes = [int(b) for b in sequence.batch_sizes.tolist()]
    steps = len(batch_sizes)
    batch = batch_sizes[0] if batch_sizes else 0
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence "
                f"in input, but got total_length={total_length} and max sequence "
                f"length being {steps}"
            )
        steps = total_length
    lens = [sum(1 for b in batch_sizes if b > i) for i in range(batch)]
    data = sequence.data
    padded = data.new_full((steps, batch) + tuple(data.shape[1:]), padding_value)
    padded = padded.index_put((_step_mask(lens, steps),), data)
    lengths = rtorch.tensor(lens, dtype=rtorch.int64)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, lengths


def pad_sequence(
    sequences: Tensor | Iterable[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stacks tensors of shape ``(L_i, *)`` into ``(L_max, B, *)``, padding the short ones.

    Args:
        sequences: the sequences (their trailing dims must match).
        batch_first: return ``(B, L_max, *)`` instead.
        padding_value: the value of the padding elements.
        padding_side: ``"right"`` (default) or ``"left"``.
    """
    if padding_side not in ("left", "right"):
        raise ValueError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    seqs = list(sequences.unbind(0)) if isinstance(sequences, Tensor) else list(sequences)
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in seqs)
    trailing = tuple(seqs[0].shape[1:])
    padded = []
    for s in seqs:
        fill = s.new_full((longest - s.shape[0],) + trailing, padding_value)
        padded.append(rtorch.cat([s, fill] if padding_side == "right" else [fill, s], 0))
    return rtorch.stack(padded, 0 if batch_first else 1)


def unpad_sequence(
    padded_sequences: Tensor, lengths: Tensor, batch_first: bool = False
) -> list[Tensor]:
    """Splits a padded batch back into its sequences (views of ``padded_sequences``)."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:n] for seq, n in zip(padded_sequences, _lengths_list(lengths))]


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Packs a list of variable-length tensors (shape ``(L_i, *)``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences of a packed batch, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
