"""Order statistics composed from ``sort`` and ``gather``: ``quantile``, ``nanquantile``
and ``nanmedian``; and the whole-tensor ``median``'s gradient. Gradients flow through the
sort and gather as in PyTorch."""

from __future__ import annotations

from typing import Any

from . import _C
from ._C import Tensor
from .autograd.function import Function
from .return_types import nanmedian as _nanmedian_result

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(
    name: str,
    input: Tensor,
    q: Tensor | float,
    dim: int | None,
    keepdim: bool,
    interpolation: str,
    ignore_nan: bool,
    out: Tensor | None,
) -> Tensor:
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(
            f"{name}() interpolation must be one of linear, lower, higher, midpoint or "
            f"nearest, but got {interpolation}"
        )
    scalar_q = not isinstance(q, Tensor)
    if scalar_q:
        qv = float(q)
        if not 0 <= qv <= 1:
            raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {q}")
    if input.numel() == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    if not scalar_q and q.dim() > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    if input.dtype not in (_C.float32, _C.float64):
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if scalar_q:
        qt = _C.tensor([qv], dtype=input.dtype)
    else:
        if q.dtype != input.dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        if not bool(((q >= 0) & (q <= 1)).all()):
            raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
        qt = q.detach().reshape(-1)
    nd = input.dim()
    if dim is None:
        x = input.reshape(-1)
    else:
        x = input.reshape(1) if nd == 0 else input
        x = x.movedim(dim, -1)  # raises PyTorch's IndexError for a bad dim
    values = None if ignore_nan else _selected_quantiles(x, qt, interpolation)
    if values is None:
        values = _sorted_quantiles(x, qt, interpolation, ignore_nan)
    # values: (*batch, Q). PyTorch puts the q dimension first.
    values = values.movedim(-1, 0)
    if keepdim:
        if dim is None:
            values = values.reshape(values.shape[0], *([1] * nd))
        elif nd:
            values = values.unsqueeze(1 + (dim % nd))
    if scalar_q or q.dim() == 0:
        values = values.squeeze(0)
    if out is not None:
        return out.copy_(values)
    return values


# Order statistics up to which quantiles select them one by one (`kthvalue`, linear
# time) rather than sort the slices: 1M float32 took 5 ms per selection, 60 to sort.
_MOST_SELECTIONS = 4


def _selected_quantiles(x: Tensor, qt: Tensor, interpolation: str) -> Tensor | None:
    """The quantiles `qt` of the slices along the last dim, `(*batch, Q)`, by selecting
    the order statistics they need, the same values (and gradients, through the selected
    elements) as `_sorted_quantiles`; None where they need more than `_MOST_SELECTIONS`.
    Not for nanquantile: its ranks differ from slice to slice."""
    n = x.shape[-1]
    ranks = qt * (n - 1)  # in the input's dtype, as the sorted form computes them
    if interpolation == "lower":
        ends = (ranks.floor(),)
    elif interpolation == "higher":
        ends = (ranks.ceil(),)
    elif interpolation == "nearest":
        ends = (ranks.round(),)
    else:
        ends = (ranks.floor(), ranks.ceil())
    positions = [[int(r) for r in end.tolist()] for end in ends]
    needed = sorted({r for pos in positions for r in pos})
    if len(needed) > _MOST_SELECTIONS:
        return None
    stat = {r: x.kthvalue(r + 1, -1, keepdim=True).values for r in needed}
    picked = [_C.cat([stat[r] for r in pos], -1) for pos in positions]
    if len(picked) == 1:
        values = picked[0]
    else:
        weights = _C.full_like(ranks, 0.5) if interpolation == "midpoint" else ranks - ends[0]
        values = picked[0].lerp(picked[1], weights)
    # A slice with NaN gives its largest element (NaN), as the sorted form's last rank.
    has_nan = x.detach().isnan().any(-1, keepdim=True)
    if bool(has_nan.any()):
        values = _C.where(has_nan, x.kthvalue(n, -1, keepdim=True).values, values)
    return values


def _sorted_quantiles(x: Tensor, qt: Tensor, interpolation: str, ignore_nan: bool) -> Tensor:
    """The quantiles `qt` of the slices along the last dim, `(*batch, Q)`, read off the
    sorted slices (NaN last)."""
    sorted_x = x.sort(dim=-1).values
    n = sorted_x.shape[-1]
    nan = sorted_x.detach().isnan()
    if ignore_nan:
        last = (~nan).sum(-1, keepdim=True).to(x.dtype) - 1
        all_nan = last < 0
        last = last.clamp(min=0)
        ranks = qt * last
        ranks = ranks.masked_fill(all_nan, 0)
    else:
        last = _C.full((*sorted_x.shape[:-1], 1), n - 1, dtype=x.dtype)
        ranks = qt * last
        ranks = ranks.masked_fill(nan.any(-1, keepdim=True), n - 1)
    if interpolation == "lower":
        values = sorted_x.gather(-1, ranks.floor().long())
    elif interpolation == "higher":
        values = sorted_x.gather(-1, ranks.ceil().long())
    elif interpolation == "nearest":
        values = sorted_x.gather(-1, ranks.round().long())
    else:
        below = ranks.floor().long()
        above = ranks.ceil().long()
        lo = sorted_x.gather(-1, below)
        hi = sorted_x.gather(-1, above)
        if interpolation == "midpoint":
            weights = _C.full_like(ranks, 0.5)
        else:
            weights = ranks - below.to(x.dtype)
        values = lo.lerp(hi, weights)
    return values


def quantile(
    input: Tensor,
    q: Tensor | float,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
    out: Tensor | None = None,
) -> Tensor:
    """The ``q``-th quantiles of ``input`` along ``dim`` (all elements when ``dim`` is
    None), ``interpolation`` one of ``linear``, ``lower``, ``higher``, ``midpoint``,
    ``nearest``; a 1-D ``q`` adds a leading dimension. NaN in a slice gives NaN."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False, out)


def nanquantile(
    input: Tensor,
    q: Tensor | float,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
    out: Tensor | None = None,
) -> Tensor:
    """:func:`quantile` ignoring NaN values (NaN only where a slice is all NaN)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True, out)


def nanmedian(
    input: Tensor, dim: int | None = None, keepdim: bool = False, *, out: Any = None
) -> Any:
    """The median of the non-NaN values (the lower of the two middle ones for an even
    count). Without ``dim``: a 0-d tensor; with ``dim``: ``(values, indices)``."""
    if dim is None:
        flat = input.reshape(-1)
        if flat.numel() == 0:
            return _C.full((), float("nan"), dtype=input.dtype)
        with _no_grad():
            sorted_x = flat.sort().values
            if input.is_floating_point():
                count = (~sorted_x.isnan()).sum()
            else:
                count = _C.tensor(flat.numel())
            k = ((count - 1).clamp(min=0) // 2).reshape(1)
            value = sorted_x.gather(0, k).reshape(())
        if not (input.requires_grad and _C.is_grad_enabled()):
            return value
        return _NanmedianGradient.apply(input, value)
    nd = input.dim()
    x = input.reshape(1) if nd == 0 else input
    d = dim % max(nd, 1) if -max(nd, 1) <= dim < max(nd, 1) else dim
    x = x.movedim(d, -1)  # raises PyTorch's IndexError for a bad dim
    if x.shape[-1] == 0 and x.numel() == 0 and any(s for s in x.shape[:-1]):
        raise IndexError(f"median(): Expected reduction dim {dim} to have non-zero size.")
    with _no_grad():
        order = x.sort(dim=-1, stable=True).indices
        if input.is_floating_point():
            count = (~x.isnan()).sum(-1, keepdim=True)
        else:
            count = _C.full((*x.shape[:-1], 1), x.shape[-1], dtype=_C.int64)
        k = (count - 1).clamp(min=0) // 2
        indices = order.gather(-1, k)
    values = x.gather(-1, indices)
    values, indices = values.squeeze(-1), indices.squeeze(-1)
    if nd == 0:
        values, indices = values.reshape(()), indices.reshape(())
    elif keepdim:
        # movedim put the reduced dim last and kept the others in order.
        values, indices = values.unsqueeze(d), indices.unsqueeze(d)
    if out is not None:
        out[0].copy_(values)
        out[1].copy_(indices)
    return _nanmedian_result((values, indices))


class _EvenGradient(Function):
    """The whole-tensor median ``value`` of ``input``, whose gradient PyTorch shares evenly
    among the elements equal to it (among the NaNs when it is NaN). A custom node rather
    than arithmetic on ``input``: inf - inf would turn the gradient into NaN."""

    @staticmethod
    def forward(ctx, input: Tensor, value: Tensor) -> Tensor:  # type: ignore[override]
        ties = (input == value) | (input.isnan() & value.isnan())
        ctx.share = ties.to(input.dtype) / ties.sum()
        return value.clone()

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        return grad * ctx.share, None


class _NanmedianGradient(_EvenGradient):
    """:class:`_EvenGradient` under nanmedian's node name."""


# PyTorch's node names.
_EvenGradient._backward_name = "MedianBackward0"
_NanmedianGradient._backward_name = "NanmedianBackward0"

_core_median = _C.median


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """The median (the lower of the two middle values for an even count; NaN if any value
    is NaN). Without ``dim``: a 0-d tensor whose gradient is shared evenly among tied
    elements, as in PyTorch; with ``dim``: ``(values, indices)``, the gradient going to
    the element at ``indices``."""
    if dim is None and not keepdim and input.requires_grad and _C.is_grad_enabled():
        return _EvenGradient.apply(input, _core_median(input))
    return _core_median(input, dim, keepdim)


def _no_grad() -> Any:
    from .autograd import no_grad

    return no_grad()


FUNCTIONS = {
    "quantile": quantile,
    "nanquantile": nanquantile,
    "nanmedian": nanmedian,
    "median": median,
}
METHODS = dict(FUNCTIONS)
# Replace the core's Tensor methods of the same name.
OVERRIDES = {"median": median}
