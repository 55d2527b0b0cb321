"""``unique_consecutive``: one comparison of neighbours, a boolean select, a cumsum for
the inverse and a diff of the run starts for the counts (no Python loop over elements).

``unique(dim=...)``: the slices along ``dim`` sorted lexicographically (one stable argsort
per column, last column first), then the same neighbour comparison; ``unique`` without
``dim`` stays the core's."""

from __future__ import annotations

from typing import Any

from . import _C
from ._C import Tensor
from .autograd.function import Function


class _NoDerivative(Function):
    """Gives the values output of a unique op PyTorch's node, whose derivative is not
    implemented: the output requires grad, and backward through it raises PyTorch's
    NotImplementedError (rather than a silent "does not require grad")."""

    _op = ""

    @staticmethod
    def forward(ctx, input: Tensor, values: Tensor) -> Tensor:  # type: ignore[override]
        return values

    @classmethod
    def backward(cls, ctx, grad: Tensor):  # type: ignore[override]
        raise NotImplementedError(f"the derivative for '{cls._op}' is not implemented.")


class _Unique2(_NoDerivative):
    _op = "_unique2"


class _UniqueDim(_NoDerivative):
    _op = "unique_dim"


class _UniqueConsecutive(_NoDerivative):
    _op = "unique_consecutive"


# PyTorch's node names.
_Unique2._backward_name = "Unique2Backward0"
_UniqueDim._backward_name = "UniqueDimBackward0"
_UniqueConsecutive._backward_name = "UniqueConsecutiveBackward0"


def _attach(node: type[_NoDerivative], input: Tensor, result: Any) -> Any:
    """``result`` (values, or a tuple led by them) with the values behind ``node`` when
    ``input`` requires grad and grad mode is on."""
    if not (input.requires_grad and _C.is_grad_enabled()):
        return result
    if isinstance(result, tuple):
        return (node.apply(input, result[0]), *result[1:])
    return node.apply(input, result)


def _runs(keep: Tensor, n: int) -> tuple[Tensor, Tensor]:
    """Inverse (run number of each position) and run lengths from the run-start mask."""
    inverse = keep.long().cumsum(0) - 1
    starts = keep.nonzero().reshape(-1)
    ends = _C.cat([starts[1:], _C.tensor([n], dtype=_C.int64)])
    return inverse, ends - starts


def _result(
    output: Tensor, inverse: Tensor, counts: Tensor, return_inverse: bool, return_counts: bool
) -> Any:
    """The output alone, or a tuple with the inverse and/or counts asked for."""
    if not (return_inverse or return_counts):
        return output
    result = [output]
    if return_inverse:
        result.append(inverse)
    if return_counts:
        result.append(counts)
    return tuple(result)


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
    result = _result(output, inverse, counts, return_inverse, return_counts)
    return _attach(_UniqueConsecutive, input, result)


_core_unique = _C.unique


def _lexsort_rows(rows: Tensor) -> Tensor:
    """The stable permutation sorting the rows of a 2-D tensor lexicographically."""
    order = _C.arange(rows.shape[0])
    for col in range(rows.shape[1] - 1, -1, -1):
        order = order[rows[:, col][order].argsort(stable=True)]
    return order


def unique(
    input: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """The unique elements of ``input`` (or, with ``dim``, its unique slices along
    ``dim``, always in sorted order as in PyTorch); optionally, for each element (slice)
    the index of its value in the output (``return_inverse``) and how often each value
    occurs (``return_counts``)."""
    if dim is None:
        result = _core_unique(
            input.detach(),
            sorted=sorted,
            return_inverse=return_inverse,
            return_counts=return_counts,
        )
        return _attach(_Unique2, input, result)
    x = input.detach()
    nd = x.dim()
    if nd == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if not -nd <= dim < nd:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})"
        )
    moved = x.movedim(dim % nd, 0)
    n = moved.shape[0]
    if any(size == 0 for size in moved.shape[1:]):
        raise RuntimeError(
            "There are 0 sized dimensions, and they aren't selected, so unique cannot be applied"
        )
    rest = 1
    for size in moved.shape[1:]:
        rest *= size
    rows = moved.reshape(n, rest)
    order = _lexsort_rows(rows)
    ordered = rows[order]
    keep = _C.ones(n, dtype=_C.bool)
    if n > 1:
        keep[1:] = (ordered[1:] != ordered[:-1]).any(1)
    output = moved[order][keep].movedim(0, dim % nd)
    group, counts = _runs(keep, n)
    inverse = _C.empty(n, dtype=_C.int64)
    inverse[order] = group
    result = _result(output, inverse, counts, return_inverse, return_counts)
    return _attach(_UniqueDim, input, result)


def _unique_method(
    self: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    return unique(self, sorted, return_inverse, return_counts, dim)


def _unique_consecutive_method(
    self: Tensor, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
) -> Any:
    return unique_consecutive(self, return_inverse, return_counts, dim)


FUNCTIONS = {"unique": unique, "unique_consecutive": unique_consecutive}
METHODS = {"unique_consecutive": _unique_consecutive_method}
OVERRIDES = {"unique": _unique_method}
