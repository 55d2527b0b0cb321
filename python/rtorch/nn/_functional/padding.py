"""Padding: ``pad`` with constant, reflect, replicate and circular modes, as torch.nn.functional.

Constant padding writes the input into a filled output (one allocation, one copy; autograd
slices the gradient back out). The other modes run in ``_C._pad`` on CPU tensors (each
output row gathered from its source row, the gradient summed back per input row); on
other devices they concatenate views of the input's borders.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from ... import _C
from ..._C import Tensor

__all__ = ["pad"]

_NON_CONSTANT_HELP = (
    "Supported combinations for non-constant padding:\n"
    "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
    "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
    "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
)


def _constant_pad(input: Tensor, pad: Sequence[int], value: float) -> Tensor:
    ndim = input.dim()
    x = input
    # Negative padding crops first; the positive part is then written into a filled output.
    for i in range(len(pad) // 2):
        dim = ndim - 1 - i
        left, right = pad[2 * i], pad[2 * i + 1]
        if left < 0 or right < 0:
            start = -left if left < 0 else 0
            length = x.shape[dim] - start - (-right if right < 0 else 0)
            if length < 0:
                raise RuntimeError("narrow(): length must be non-negative.")
            x = x.narrow(dim, start, length)
    shape = list(x.shape)
    grow = False
    for i in range(len(pad) // 2):
        dim = ndim - 1 - i
        extra = max(pad[2 * i], 0) + max(pad[2 * i + 1], 0)
        if extra:
            shape[dim] += extra
            grow = True
    if not grow:
        return x if x is not input else input.clone()
    if not input.is_floating_point() and input.dtype != _C.bool:
        value = int(value)
    out = _C.full(shape, value, dtype=input.dtype, device=input.device)
    inner = out
    for i in range(len(pad) // 2):
        dim = ndim - 1 - i
        left = max(pad[2 * i], 0)
        inner = inner.narrow(dim, left, x.shape[dim])
    inner.copy_(x)
    return out


@lru_cache(maxsize=256)
def _gather_index(mode: str, size: int, left: int, right: int) -> Tensor:
    idx = _C.arange(-left, size + right)
    if mode == "reflect":
        last = size - 1
        idx = last - (last - idx.abs()).abs()
    elif mode == "replicate":
        idx = idx.clamp(0, size - 1)
    else:  # circular: crops first, then wraps around the kept values
        cropped = max(-left, 0)
        kept = size - cropped - max(-right, 0)
        idx = (idx - cropped).remainder(kept) + cropped
    return idx


def _check_non_constant(input: Tensor, pad: Sequence[int], mode: str) -> None:
    n = len(pad) // 2
    ndim = input.dim()
    if len(pad) not in (2, 4, 6) or ndim not in (n + 1, n + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {ndim}D input tensor.\n"
            + _NON_CONSTANT_HELP
        )
    padded_dims = input.shape[ndim - n :]
    batch_dims = input.shape[1 : ndim - n] if ndim == n + 2 else ()
    if any(s == 0 for s in padded_dims) or any(s == 0 for s in batch_dims):
        raise RuntimeError(
            f"Expected {n + 1}D or {n + 2}D (batch mode) tensor with possibly 0 batch size and "
            f"other non-zero dimensions for input, but got: {list(input.shape)}"
        )
    for i in range(n):
        dim = ndim - 1 - i
        left, right = pad[2 * i], pad[2 * i + 1]
        size = input.shape[dim]
        if mode == "reflect" and (left >= size or right >= size):
            raise RuntimeError(
                f"Argument #4: Padding size should be less than the corresponding input "
                f"dimension, but got: padding ({left}, {right}) at dimension {dim} of input "
                f"{list(input.shape)}"
            )
        # Circular padding crops first and wraps around the values kept.
        kept = size - max(-left, 0) - max(-right, 0)
        if mode == "circular" and (left > kept or right > kept) and size + left + right > 0:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if size + left + right <= 0:
            axis = "WHD"[i]
            raise RuntimeError(
                f"input ({axis}: {size}) is too small. Calculated output {axis}: "
                f"{size + left + right}"
            )


def pad(
    input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None
) -> Tensor:
    r"""Pads a tensor.

    ``pad`` lists (left, right) amounts starting from the last dimension and moving forward:
    ``(pad_left, pad_right, pad_top, pad_bottom, ...)``. Negative amounts crop.

    Args:
        input: the N-dimensional tensor to pad.
        pad: an even-length sequence of ints, at most ``2 * input.dim()`` long.
        mode: ``'constant'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
            The non-constant modes pad the last 1, 2 or 3 dimensions of a tensor with
            one or two leading (batch, channel) dimensions.
        value: fill value for ``'constant'`` padding. Default: 0.

    Example::

        >>> x = torch.arange(4.0).view(1, 1, 4)
        >>> F.pad(x, (2, 1), mode="reflect")
        tensor([[[2., 1., 0., 1., 2., 3., 2.]]])
    """
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 != 0:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input dimension "
            f"but got padding length {len(pad)} and input of dimension {input.dim()}"
        )
    if mode == "constant":
        return _constant_pad(input, pad, 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    _check_non_constant(input, pad, mode)
    if input.device.type == "cpu":
        return _C._pad(input, list(pad), mode)
    out = input
    ndim = input.dim()
    for i in range(len(pad) // 2):
        left, right = pad[2 * i], pad[2 * i + 1]
        if left == 0 and right == 0:
            continue
        dim = ndim - 1 - i
        if left < 0 or right < 0:
            out = out.index_select(dim, _gather_index(mode, out.shape[dim], left, right))
            continue
        # The input as the middle, copied by rows, and the borders as views of it (a
        # gather of every element along the last dim was 10x PyTorch's time).
        parts = [_border(out, dim, left, mode, True)] if left else []
        parts.append(out)
        if right:
            parts.append(_border(out, dim, right, mode, False))
        out = _C.cat(parts, dim)
    return out


def _border(x: Tensor, dim: int, n: int, mode: str, left: bool) -> Tensor:
    """The ``n`` padded entries on one side of ``dim``, as a view of ``x`` (``n`` within
    the bounds ``_check_non_constant`` enforces)."""
    size = x.shape[dim]
    if mode == "reflect":
        return x.narrow(dim, 1 if left else size - 1 - n, n).flip(dim)
    if mode == "replicate":
        shape = list(x.shape)
        shape[dim] = n
        return x.narrow(dim, 0 if left else size - 1, 1).expand(shape)
    return x.narrow(dim, size - n if left else 0, n)  # circular
