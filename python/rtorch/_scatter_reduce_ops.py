"""``scatter_reduce`` (sum, prod, mean, amax, amin; ``include_self``) with its backward,
and the gradient of ``scatter(..., reduce=...)``, composed from core scatter/gather ops.

The forward runs core ops without recording; the backward is PyTorch's formula for
each reduction, written with differentiable ops. amax/amin run the core's scatter
with a max (min) combine.
"""

from __future__ import annotations

import warnings
from typing import Any

from . import _C
from ._C import Tensor
from ._dtype_info import iinfo
from .autograd.function import Function

_REDUCES = {
    "sum": "sum",
    "prod": "prod",
    "mean": "mean",
    "amax": "amax",
    "amin": "amin",
    # Legacy spellings PyTorch still accepts.
    "max": "amax",
    "min": "amin",
}


def _check(self: Tensor, index: Tensor, src: Tensor, reduce: str) -> tuple[Tensor, str]:
    mode = _REDUCES.get(reduce)
    if mode is None:
        raise RuntimeError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    if index.dtype not in (_C.int64, _C.int32):
        raise RuntimeError("scatter(): Expected dtype int32/int64 for index")
    if not isinstance(src, Tensor):
        raise TypeError(
            f"scatter_reduce(): argument 'src' (position 3) must be Tensor, not {type(src).__name__}"
        )
    if self.dtype != src.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    return index.long(), mode


def _touched(self: Tensor, dim: int, index: Tensor) -> Tensor:
    """Boolean mask of the positions of ``self`` that receive at least one source value."""
    return _C.zeros(self.shape, dtype=_C.uint8).scatter(dim, index, 1).bool()


def _used_src(src: Tensor, index: Tensor) -> Tensor:
    """The part of ``src`` that scatter reads: its leading ``index.shape`` block."""
    if tuple(src.shape) == tuple(index.shape):
        return src
    return src[tuple(slice(0, n) for n in index.shape)]


def _count(self: Tensor, dim: int, index: Tensor, include_self: bool) -> Tensor:
    """Number of values reduced into each position (self counts once when included)."""
    base = _C.ones_like(self) if include_self else _C.zeros_like(self)
    return base.scatter_add(dim, index, _C.ones(index.shape, dtype=self.dtype))


def _identity(dtype: Any, largest: bool) -> Any:
    """The value that loses every amax (amin) comparison in ``dtype``."""
    if dtype == _C.bool:
        return not largest
    if dtype.is_floating_point:
        return -float("inf") if largest else float("inf")
    info = iinfo(dtype)
    return info.min if largest else info.max


def _extreme(
    self: Tensor, dim: int, index: Tensor, src: Tensor, include_self: bool, largest: bool
) -> Tensor:
    """amax/amin: one pass of the core's scatter keeping the larger (smaller) value."""
    if not include_self:
        # The touched positions start from the value every source element beats.
        self = self.masked_fill(_touched(self, dim, index), _identity(self.dtype, largest))
    return _C._scatter_extreme(self, dim, index, src, largest)


def _forward(
    self: Tensor, dim: int, index: Tensor, src: Tensor, mode: str, include_self: bool
) -> Tensor:
    if mode in ("sum", "mean"):
        base = self if include_self else self.masked_fill(_touched(self, dim, index), 0)
        total = base.scatter_add(dim, index, _used_src(src, index))
        if mode == "sum":
            return total
        count = _count(self, dim, index, include_self)
        count = count.masked_fill(count == 0, 1)
        if self.is_floating_point():
            return total / count
        return total.div(count, rounding_mode="floor")
    if mode == "prod":
        base = self if include_self else self.masked_fill(_touched(self, dim, index), 1)
        return base.scatter(dim, index, _used_src(src, index), reduce="multiply")
    return _extreme(self, dim, index, src, include_self, mode == "amax")


def _pad_to(grad: Tensor, shape: tuple) -> Tensor:
    """``grad`` (of index's shape) zero-padded at the end of each dim to ``shape``."""
    if tuple(grad.shape) == tuple(shape):
        return grad
    from .nn import functional as F

    pads: list[int] = []
    for have, want in zip(reversed(grad.shape), reversed(shape)):
        pads += [0, want - have]
    return F.pad(grad, pads)


class _ScatterReduce(Function):
    @staticmethod
    def forward(
        ctx: Any,
        self: Tensor,
        dim: int,
        index: Tensor,
        src: Tensor,
        mode: str,
        include_self: bool,
    ) -> Tensor:
        result = _forward(self, dim, index, src, mode, include_self)
        ctx.dim, ctx.mode, ctx.include_self = dim, mode, include_self
        ctx.src_shape = tuple(src.shape)
        ctx.save_for_backward(self, index, src, result)
        return result

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple:
        self, index, src, result = ctx.saved_tensors
        dim, mode, include_self = ctx.dim, ctx.mode, ctx.include_self
        src = _used_src(src, index)
        if mode == "sum":
            grad_self = grad
            grad_src = grad.gather(dim, index)
        elif mode == "mean":
            count = _count(self, dim, index, include_self)
            count = count.masked_fill(count == 0, 1)
            grad_self = grad / count
            grad_src = grad_self.gather(dim, index)
        elif mode == "prod":
            # Exclusive products: a zero in self or a single zero in a group must still
            # get the product of the other factors, so divide by the zero-free values.
            self_zero = self == 0
            masked_self = self.masked_fill(self_zero, 1)
            masked_self_result = _forward(masked_self, dim, index, src, "prod", include_self)
            grad_self = grad * masked_self_result / masked_self
            src_zero = src == 0
            zeros_per_target = _C.zeros_like(self).scatter_add(dim, index, src_zero.to(self.dtype))
            single_zero = src_zero & (zeros_per_target.gather(dim, index) == 1)
            masked_src_result = _forward(
                self, dim, index, src.masked_fill(single_zero, 1), "prod", include_self
            )
            grad_src = _C.where(
                single_zero,
                (grad * masked_src_result).gather(dim, index),
                (grad * result).gather(dim, index) / src.masked_fill(src_zero, 1),
            )
        else:
            # amax/amin: the gradient is shared evenly by every value equal to the result.
            value = result.gather(dim, index)
            self_is = (self == result).to(self.dtype)
            src_is = (src == value).to(self.dtype)
            share = grad / self_is.scatter_add(dim, index, src_is)
            grad_self = self_is * share
            grad_src = src_is * share.gather(dim, index)
        if not include_self:
            grad_self = grad_self.masked_fill(_touched(self, dim, index), 0)
        return grad_self, None, None, _pad_to(grad_src, ctx.src_shape), None, None


_ScatterReduce._backward_name = "ScatterReduceBackward0"  # PyTorch's node name


def scatter_reduce(
    input: Tensor,
    dim: int,
    index: Tensor,
    src: Tensor,
    reduce: str,
    *,
    include_self: bool = True,
    out: Tensor | None = None,
) -> Tensor:
    """Reduces all values of ``src`` into ``input`` at the positions ``index`` names along
    ``dim``, with ``reduce`` one of ``"sum"``, ``"prod"``, ``"mean"``, ``"amax"``,
    ``"amin"``; ``include_self=False`` leaves ``input``'s values at the scattered-to
    positions out of the reduction (``torch.scatter_reduce``)."""
    index, mode = _check(input, index, src, reduce)
    dim = dim + input.dim() if dim < 0 else dim
    if input.requires_grad or src.requires_grad:
        result = _ScatterReduce.apply(input, dim, index, src, mode, include_self)
    else:
        result = _forward(input, dim, index, src, mode, include_self)
    if out is not None:
        return out.copy_(result)
    return result


def _scatter_reduce_(
    self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True
) -> Tensor:
    return self.copy_(scatter_reduce(self, dim, index, src, reduce, include_self=include_self))


# ----- scatter(..., reduce=...) with a gradient -----

_core_scatter = Tensor.scatter
_core_scatter_ = Tensor.scatter_
_LEGACY = {"add": "sum", "multiply": "prod"}


def _int64_index(index: Any) -> Any:
    """PyTorch's scatter takes an int32 or int64 index; the core takes int64."""
    if isinstance(index, Tensor) and index.dtype != _C.int64:
        if index.dtype != _C.int32:
            raise RuntimeError("scatter(): Expected dtype int32/int64 for index")
        return index.long()
    return index


def _needs_grad(self: Tensor, src: Any) -> bool:
    return _C.is_grad_enabled() and (
        self.requires_grad or (isinstance(src, Tensor) and src.requires_grad)
    )


def _scatter_with_reduce(
    self: Tensor, dim: int, index: Tensor, src: Any, value: Any, reduce: str
) -> Tensor:
    source = src if src is not None else value
    if reduce not in _LEGACY:
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
    if isinstance(source, Tensor):
        warnings.warn(
            "The reduce argument of torch.scatter with Tensor src is deprecated and will be "
            "removed in a future PyTorch release. Use torch.scatter_reduce instead for more "
            "reduction options.",
            UserWarning,
            stacklevel=3,
        )
    else:
        source = _C.full(index.shape, source, dtype=self.dtype)
    return scatter_reduce(self, dim, index, source, _LEGACY[reduce])


def scatter(
    input: Tensor,
    dim: int,
    index: Tensor,
    src: Any = None,
    *,
    value: Any = None,
    reduce: str | None = None,
) -> Tensor:
    """``torch.scatter``; with ``reduce="add"``/``"multiply"`` and inputs that need a
    gradient it goes through :func:`scatter_reduce`, so the result is differentiable."""
    index = _int64_index(index)
    if reduce is not None and _needs_grad(input, src):
        return _scatter_with_reduce(input, dim, index, src, value, reduce)
    return _core_scatter(input, dim, index, src, value=value, reduce=reduce)


def _scatter_(
    self: Tensor,
    dim: int,
    index: Tensor,
    src: Any = None,
    *,
    value: Any = None,
    reduce: str | None = None,
) -> Tensor:
    index = _int64_index(index)
    if reduce is not None and _needs_grad(self, src):
        return self.copy_(_scatter_with_reduce(self, dim, index, src, value, reduce))
    return _core_scatter_(self, dim, index, src, value=value, reduce=reduce)


FUNCTIONS = {"scatter_reduce": scatter_reduce, "scatter": scatter}
METHODS = {"scatter_reduce": scatter_reduce, "scatter_reduce_": _scatter_reduce_}
# These replace the core's methods (the core raises when reduce= needs a gradient).
OVERRIDES = {"scatter": scatter, "scatter_": _scatter_}
