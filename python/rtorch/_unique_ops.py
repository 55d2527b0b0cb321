"""``unique_consecutive``: one comparison of neighbours, a boolean select, a cumsum for
the inverse and a diff of the run starts for the counts (no Python loop over elements)."""

from __future__ import annotations

from typing import Any

from . import _C
from ._C import Tensor


def _runs(keep: Tensor, n: int) -> tuple[Tensor, Tensor]:
    """Inverse (run number of each position) and run lengths from the run-start mask."""
    inverse = keep.long().cumsum(0) - 1
    starts = keep.nonzero().reshape(-1)
    ends = _C.cat([starts[1:], _C.tensor([n], dtype=_C.int64)])
    return inverse, ends - starts


def unique_consecutive(
    input: Tensor,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """Eliminates all but the first element (or slice along ``dim``) of every run of
    consecutive equal ones; optionally also returns, for each input element, the index
    of its run in the output (``return_inverse``) and the length of each run
    (``return_counts``)."""
    x = input.detach()
    if dim is None:
        flat = x.reshape(-1)
        n = flat.numel()
        keep = _C.ones(n, dtype=_C.bool)
        if n > 1:
            keep[1:] = flat[1:] != flat[:-1]
        output = flat[keep]
        inverse, counts = _runs(keep, n)
        inverse = inverse.reshape(x.shape)
    else:
        moved = (x.reshape(1) if x.dim() == 0 else x).movedim(dim, 0)
        n = moved.shape[0]
        rest = 1
        for size in moved.shape[1:]:
            rest *= size
        rows = moved.reshape(n, rest)
        keep = _C.ones(n, dtype=_C.bool)
        if n > 1 and rows.shape[1] > 0:
            keep[1:] = (rows[1:] != rows[:-1]).any(1)
        elif n > 1:
            keep[1:] = False
        output = moved[keep].movedim(0, dim)
        inverse, counts = _runs(keep, n)
    if not (return_inverse or return_counts):
        return output
    result = [output]
    if return_inverse:
        result.append(inverse)
    if return_counts:
        result.append(counts)
    return tuple(result)


def _unique_consecutive_method(
    self: Tensor, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
) -> Any:
    return unique_consecutive(self, return_inverse, return_counts, dim)


FUNCTIONS = {"unique_consecutive": unique_consecutive}
METHODS = {"unique_consecutive": _unique_consecutive_method}
