"""3-D pooling, as torch.nn.functional: max_pool3d, avg_pool3d, adaptive_avg_pool3d and
adaptive_max_pool3d.

max_pool3d and floating-point avg_pool3d are one Rust pass each (``_C._max_pool`` and
``_C._avg_pool``, shared with the 2-D pools). Integer average pooling reduces strided views
of the padded input (``Tensor.unfold`` on the three spatial dimensions). Adaptive average
pooling multiplies by per-axis bin-averaging matrices (the bins are boxes, so averaging is
separable).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import _C
from ..._C import Tensor
from .padding import pad as _pad
from .pooling import (
    _adaptive_avg_2d,
    _adaptive_avg_matrix,
    _adaptive_max_index,
    _adaptive_size,
    _avg_divisor,
    _bins,
    _check_adaptive,
    _max_unpool,
    _out_size,
    _unpool_size,
)

__all__ = [
    "adaptive_avg_pool3d",
    "adaptive_max_pool3d",
    "adaptive_max_pool3d_with_indices",
    "avg_pool3d",
    "max_pool3d",
    "max_pool3d_with_indices",
]

_IntOrTriple = int | Sequence[int]
_Triple = tuple[int, int, int]


def _triple(
    value: _IntOrTriple | None, name: str, op: str, default: _Triple | None = None
) -> _Triple:
    if value is None or (not isinstance(value, int) and len(value) == 0):
        assert default is not None
        return default
    if isinstance(value, int):
        return (value, value, value)
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return (value[0],) * 3
    if len(value) != 3:
        spell = "must either be a single int, or a tuple of three ints"
        if op == "avg_pool3d":
            spell = "must be a single int, or a tuple of three ints"
        raise RuntimeError(f"{op}: {name} {spell}")
    return value  # type: ignore[return-value]


def _batched(input: Tensor, name: str) -> tuple[Tensor, bool]:
    if input.dim() not in (4, 5) or any(s == 0 for s in input.shape[-4:]):
        if input.dim() in (4, 5) and name == "max_pool3d":
            raise RuntimeError(
                "max_pool3d_with_indices_out_cpu_template(): Expected input to have non-zero "
                f"size for non-batch dimensions, but input has sizes {list(input.shape)} with "
                f"dimension {input.dim() - 4 + [s == 0 for s in input.shape[-4:]].index(True)}"
                " being empty"
            )
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    if input.dim() == 4:
        return input.unsqueeze(0), True
    return input, False


def _plan(
    x: Tensor,
    kernel: _Triple,
    stride: _Triple,
    padding: _Triple,
    dilation: _Triple,
    ceil_mode: bool,
    avg: bool,
) -> _Triple:
    if any(s <= 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    if any(k <= 0 for k in kernel):
        raise RuntimeError(
            "kernel size should be greater than zero, but got "
            f"kT: {kernel[0]} kH: {kernel[1]} kW: {kernel[2]}"
        )
    if any(d <= 0 for d in dilation):
        raise RuntimeError(
            "dilation should be greater than zero, but got "
            f"dilationT: {dilation[0]} dilationH: {dilation[1]} dilationW: {dilation[2]}"
        )
    for k, p, d in zip(kernel, padding, dilation, strict=True):
        if p < 0 or 2 * p > d * (k - 1) + 1:
            raise RuntimeError(
                "pad should be at most half of effective kernel size, but got "
                f"pad={p}, kernel_size={k} and dilation={d}"
            )
    c, sizes = x.shape[1], tuple(x.shape[2:])
    if avg and any(s + 2 * p < k for s, p, k in zip(sizes, padding, kernel, strict=True)):
        raise RuntimeError(
            f"input image (T: {sizes[0]} H: {sizes[1]} W: {sizes[2]}) smaller than kernel size "
            f"(kT: {kernel[0]} kH: {kernel[1]} kW: {kernel[2]})"
        )
    out = tuple(
        _out_size(s, k, st, p, d, ceil_mode)
        for s, k, st, p, d in zip(sizes, kernel, stride, padding, dilation, strict=True)
    )
    if any(o <= 0 for o in out):
        raise RuntimeError(
            f"Given input size: ({c}x{sizes[0]}x{sizes[1]}x{sizes[2]}). Calculated output size: "
            f"({c}x{max(out[0], 0)}x{max(out[1], 0)}x{max(out[2], 0)}). Output size is too small"
        )
    return out  # type: ignore[return-value]


def _windows(
    x: Tensor,
    kernel: _Triple,
    stride: _Triple,
    padding: _Triple,
    dilation: _Triple,
    out: _Triple,
    fill: float,
) -> Tensor:
    """The windows as an ``(N, C, OD, OH, OW, kd, kh, kw)`` view of the padded input."""
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    # Right padding so that exactly ``out`` windows fit (ceil mode may need more than the
    # padding, floor mode less: a negative amount crops).
    right = [
        (o - 1) * s + span - size - p
        for o, s, span, size, p in zip(out, stride, spans, x.shape[2:], padding, strict=True)
    ]
    if any(padding) or any(right):
        amounts: list[int] = []
        for p, r in zip(reversed(padding), reversed(right), strict=True):
            amounts += [p, r]
        x = _pad(x, amounts, value=fill)
    view = x
    for axis in range(3):
        view = view.unfold(2 + axis, spans[axis], stride[axis])
    if dilation != (1, 1, 1):
        view = view[..., :: dilation[0], :: dilation[1], :: dilation[2]]
    return view


def max_pool3d_with_indices(
    input: Tensor,
    kernel_size: _IntOrTriple,
    stride: _IntOrTriple | None = None,
    padding: _IntOrTriple = 0,
    dilation: _IntOrTriple = 1,
    ceil_mode: bool = False,
    return_indices: bool = True,
) -> tuple[Tensor, Tensor]:
    """``max_pool3d`` that also returns the flat index of each maximum in its input volume."""
    x, unbatched = _batched(input, "max_pool3d")
    kernel = _triple(kernel_size, "kernel_size", "max_pool3d")
    stride_t = _triple(stride, "stride", "max_pool3d", kernel)
    padding_t = _triple(padding, "padding", "max_pool3d")
    dilation_t = _triple(dilation, "dilation", "max_pool3d")
    _plan(x, kernel, stride_t, padding_t, dilation_t, ceil_mode, False)  # PyTorch's messages
    # One Rust pass: each slice's in-plane window maxima, combined along the depth
    # window in PyTorch's order (the first maximum wins, a later NaN replaces).
    values, indices = _C._max_pool(x, kernel, stride_t, padding_t, dilation_t, ceil_mode)
    if unbatched:
        return values.squeeze(0), indices.squeeze(0)
    return values, indices


def max_pool3d(
    input: Tensor,
    kernel_size: _IntOrTriple,
    stride: _IntOrTriple | None = None,
    padding: _IntOrTriple = 0,
    dilation: _IntOrTriple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""Applies a 3D max pooling over an input signal composed of several input planes.

    Args:
        input: ``(N, C, D, H, W)`` or ``(C, D, H, W)``.
        kernel_size: size of the pooling window (an int or ``(kD, kH, kW)``).
        stride: stride of the window. Default: ``kernel_size``.
        padding: implicit negative-infinity padding on both sides, at most half the kernel.
        dilation: spacing between window elements.
        ceil_mode: use ceil instead of floor for the output shape.
        return_indices: also return the flat index (into each input volume) of every maximum.
    """
    values, indices = max_pool3d_with_indices(
        input, kernel_size, stride, padding, dilation, ceil_mode
    )
    return (values, indices) if return_indices else values


def avg_pool3d(
    input: Tensor,
    kernel_size: _IntOrTriple,
    stride: _IntOrTriple | None = None,
    padding: _IntOrTriple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    r"""Applies 3D average pooling over an input ``(N, C, D, H, W)`` or ``(C, D, H, W)``.

    Args:
        kernel_size, stride (default ``kernel_size``), padding (zeros), ceil_mode: as
            :func:`max_pool3d`.
        count_include_pad: count the zero padding in the divisor. Default: True.
        divisor_override: if given, divide every window sum by it instead.
    """
    x, unbatched = _batched(input, "avg_pool3d")
    kernel = _triple(kernel_size, "kernel_size", "avg_pool3d")
    stride_t = _triple(stride, "stride", "avg_pool3d", kernel)
    padding_t = _triple(padding, "padding", "avg_pool3d")
    out = _plan(x, kernel, stride_t, padding_t, (1, 1, 1), ceil_mode, True)
    if x.is_floating_point():
        # One Rust pass of separable window sums (rows, columns, slices), divided once.
        result = _C._avg_pool(
            x, kernel, stride_t, padding_t, ceil_mode, count_include_pad, divisor_override
        )
        return result.squeeze(0) if unbatched else result
    view = _windows(x, kernel, stride_t, padding_t, (1, 1, 1), out, 0.0)
    n, c = x.shape[0], x.shape[1]
    sums = view.reshape(n, c, *out, kernel[0] * kernel[1] * kernel[2]).sum(-1)
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
        # Integer windows divide as C integers do (toward zero), as in PyTorch.
        result = sums.div(divisor_override, rounding_mode="trunc")
    else:
        sizes = x.shape[2:]
        dd, dh, dw = (
            _avg_divisor(size, o, k, s, p, count_include_pad)
            for size, o, k, s, p in zip(sizes, out, kernel, stride_t, padding_t, strict=True)
        )
        divisor = dd.view(-1, 1, 1) * dh.view(1, -1, 1) * dw.view(1, 1, -1)
        result = sums.div(divisor, rounding_mode="trunc")
    return result.squeeze(0) if unbatched else result


def _check_adaptive3d(input: Tensor, name: str) -> None:
    if input.dim() not in (4, 5):
        # PyTorch's adaptive_avg_pool3d message alone has no colon after "got".
        raise RuntimeError(f"{name}(): Expected 4D or 5D tensor, but got {list(input.shape)}")
    _check_adaptive(input, 3, name)


def adaptive_avg_pool3d(input: Tensor, output_size: _IntOrTriple) -> Tensor:
    r"""Applies 3D adaptive average pooling: output ``(N, C, *output_size)`` from any input.

    ``output_size`` entries may be ``None`` to keep the input's size.
    """
    _check_adaptive3d(input, "adaptive_avg_pool3d")
    od, oh, ow = _adaptive_size(output_size, 3, "adaptive_avg_pool3d", input.shape)
    d, h, w = input.shape[-3:]
    lead = input.shape[:-3]
    if od == 0 or oh == 0 or ow == 0:
        return (input.sum((-3, -2, -1), keepdim=True) * 0).expand(*lead, od, oh, ow)
    x = input
    if od != d:
        flat = x.reshape(*lead, d, h * w)
        x = _C.matmul(_adaptive_avg_matrix(d, od, x.dtype), flat).reshape(*lead, od, h, w)
    return _adaptive_avg_2d(x, oh, ow)


def adaptive_max_pool3d_with_indices(
    input: Tensor, output_size: _IntOrTriple, return_indices: bool = True
) -> tuple[Tensor, Tensor]:
    """``adaptive_max_pool3d`` returning (values, flat indices into each input volume)."""
    _check_adaptive(input, 3, "adaptive_max_pool3d")
    outs = _adaptive_size(output_size, 3, "adaptive_max_pool3d", input.shape)
    sizes = tuple(input.shape[-3:])
    lead = input.shape[:-3]
    nd = input.dim()
    if any(o == 0 for o in outs):
        values = (input.sum((-3, -2, -1), keepdim=True) * 0).expand(*lead, *outs)
        return values, _C.zeros(*lead, *outs, dtype=_C.int64, device=input.device)
    # Every bin padded to the widest one by repeating its last element (harmless for max;
    # the repeat comes later, so it never wins a tie over the original).
    win = input
    widths = []
    for axis, (size, o) in enumerate(zip(sizes, outs, strict=True)):
        idx, width = _adaptive_max_index(size, o)
        win = win.index_select(nd - 3 + axis, idx)
        widths.append(width)
    od, oh, ow = outs
    kd, kh, kw = widths
    nl = len(lead)
    order = [*range(nl), *(nl + i for i in (0, 2, 4, 1, 3, 5))]
    win = win.reshape(*lead, od, kd, oh, kh, ow, kw).permute(order)
    values, arg = win.reshape(*lead, od, oh, ow, kd * kh * kw).max(-1)
    offsets = (arg // (kh * kw), (arg // kw) % kh, arg % kw)
    coords = []
    for axis, (off, o) in enumerate(zip(offsets, outs, strict=True)):
        start, _ = _bins(sizes[axis], o)
        shape = [1, 1, 1]
        shape[axis] = o
        coords.append(start.reshape(shape) + off)
    indices = (coords[0] * sizes[1] + coords[1]) * sizes[2] + coords[2]
    return values, indices


def adaptive_max_pool3d(
    input: Tensor, output_size: _IntOrTriple, return_indices: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    r"""Applies 3D adaptive max pooling over an input ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""
    values, indices = adaptive_max_pool3d_with_indices(input, output_size)
    return (values, indices) if return_indices else values


def max_unpool3d(
    input: Tensor,
    indices: Tensor,
    kernel_size: _IntOrTriple,
    stride: _IntOrTriple | None = None,
    padding: _IntOrTriple = 0,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    r"""Partial inverse of :func:`max_pool3d`: puts each value back at its flat index in
    the output volume, zeros elsewhere.

    Shape:
        - Input and indices: ``(N, C, D_in, H_in, W_in)`` or ``(C, D_in, H_in, W_in)``.
        - Output: ``D_out = (D_in - 1) * stride - 2 * padding + kernel_size`` (likewise
          ``H_out``, ``W_out``) unless ``output_size`` says otherwise.
    """
    kernel = _triple(kernel_size, "kernel_size", "max_unpool3d")
    stride_t = _triple(stride, "stride", "max_unpool3d", kernel)
    padding_t = _triple(padding, "padding", "max_unpool3d")
    sizes = _unpool_size(input, kernel, stride_t, padding_t, output_size)
    return _max_unpool(input, indices, sizes)


def lp_pool3d(
    input: Tensor,
    norm_type: float,
    kernel_size: _IntOrTriple,
    stride: _IntOrTriple | None = None,
    ceil_mode: bool = False,
) -> Tensor:
    r"""Applies 3D power-average pooling: :math:`(\sum x^p)^{1/p}` over each window."""
    kd, kh, kw = _triple(kernel_size, "kernel_size", "avg_pool3d")
    out = avg_pool3d(input.pow(norm_type), (kd, kh, kw), stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(kd * kh * kw).pow(1.0 / norm_type)


__all__ += ["lp_pool3d", "max_unpool3d"]


# ----- fractional max pooling (2-D and 3-D) -----


def _fractional_starts(sample: Tensor, size: int, out: int, pool: int) -> Tensor:
    """The window starts along one axis for each plane's sample u in [0, 1):
    ``int((i + u) * alpha) - int(u * alpha)``, the last window flush with the end."""
    u = sample.double().unsqueeze(-1)
    lead = tuple(sample.shape)
    if out == 0:
        return _C.zeros((*lead, 0), dtype=_C.int64, device=sample.device)
    last = _C.full((*lead, 1), size - pool, dtype=_C.int64, device=sample.device)
    if out == 1:
        return last
    alpha = (size - pool) / (out - 1)
    i = _C.arange(out - 1, dtype=_C.float64)
    starts = ((i + u) * alpha).floor() - (u * alpha).floor()
    return _C.cat([starts.long(), last], -1)


def _fractional_max_pool(
    name: str,
    input: Tensor,
    kernel_size: Any,
    output_size: Any,
    output_ratio: Any,
    return_indices: bool,
    _random_samples: Tensor | None,
    nd: int,
) -> Any:
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    kernel = (kernel_size,) * nd if isinstance(kernel_size, int) else tuple(kernel_size)
    sizes = tuple(input.shape[-nd:])
    if output_size is None:
        ratio = (
            (output_ratio,) * nd
            if not isinstance(output_ratio, (tuple, list))
            else tuple(output_ratio)
        )
        output_size = [int(s * r) for s, r in zip(sizes, ratio, strict=True)]
    outs = (output_size,) * nd if isinstance(output_size, int) else tuple(output_size)
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    n, c = x.shape[0], x.shape[1]
    axes = ("time", "height", "width")[3 - nd :]
    for axis, s, k, o in zip(axes, sizes, kernel, outs, strict=True):
        if o + k - 1 > s:
            raise RuntimeError(f"{name}(): pool {axis} {k} too large relative to input {axis} {s}")
    if _random_samples is None:
        _random_samples = _C.rand(n, c, nd, dtype=x.dtype)
    # PyTorch's sample order: width first in 2-D, time/height/width in 3-D.
    sample_index = (1, 0) if nd == 2 else (0, 1, 2)
    flat_index = None
    stride = 1
    for axis in reversed(range(nd)):
        starts = _fractional_starts(
            _random_samples[:, :, sample_index[axis]], sizes[axis], outs[axis], kernel[axis]
        )  # (N, C, O)
        coords = starts.unsqueeze(-1) + _C.arange(kernel[axis])  # (N, C, O, k)
        # Place (O, k) of this axis at positions (axis, nd + axis) of (N, C, O..., k...).
        shape = [n, c] + [1] * (2 * nd)
        shape[2 + axis] = outs[axis]
        shape[2 + nd + axis] = kernel[axis]
        term = coords.reshape(shape) * stride
        flat_index = term if flat_index is None else flat_index + term
        stride *= sizes[axis]
    assert flat_index is not None
    window = 1
    for k in kernel:
        window *= k
    full = (n, c, *outs, *kernel)
    idx = flat_index.expand(full).reshape(n, c, -1)
    values = x.reshape(n, c, -1).gather(2, idx).reshape(n, c, *outs, window)
    best, arg = values.max(-1)
    indices = idx.reshape(n, c, *outs, window).gather(-1, arg.unsqueeze(-1)).squeeze(-1)
    if unbatched:
        best, indices = best.squeeze(0), indices.squeeze(0)
    return (best, indices) if return_indices else best


def fractional_max_pool2d(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> Any:
    r"""Applies 2D fractional max pooling (Graham, 2014): windows of ``kernel_size`` at
    pseudo-random, monotonically increasing positions (one random sample per plane) that
    produce ``output_size`` (or ``output_ratio`` times the input size)."""
    return _fractional_max_pool("fractional_max_pool2d", input, kernel_size, output_size,
                                output_ratio, return_indices, _random_samples, 2)  # fmt: skip


def fractional_max_pool3d(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> Any:
    r"""Applies 3D fractional max pooling (see :func:`fractional_max_pool2d`)."""
    return _fractional_max_pool("fractional_max_pool3d", input, kernel_size, output_size,
                                output_ratio, return_indices, _random_samples, 3)  # fmt: skip


def fractional_max_pool2d_with_indices(*args: Any, **kwargs: Any) -> Any:
    """``fractional_max_pool2d`` returning (values, indices)."""
    kwargs["return_indices"] = True
    return fractional_max_pool2d(*args, **kwargs)


def fractional_max_pool3d_with_indices(*args: Any, **kwargs: Any) -> Any:
    """``fractional_max_pool3d`` returning (values, indices)."""
    kwargs["return_indices"] = True
    return fractional_max_pool3d(*args, **kwargs)


__all__ += [
    "fractional_max_pool2d",
    "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices",
]
