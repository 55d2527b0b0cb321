"""Pooling, as torch.nn.functional: max/avg/adaptive/lp pooling in 1 and 2 dimensions.

Windows are strided views of the (padded) input (``Tensor.unfold``); a pool is then one
reduction over the window dimensions, and autograd of that reduction is the backward.
1-D pooling is 2-D pooling over a height-1 plane.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from ... import _C
from ..._C import Tensor
from .padding import pad as _pad

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_with_indices",
    "avg_pool1d",
    "avg_pool2d",
    "lp_pool1d",
    "lp_pool2d",
    "max_pool1d",
    "max_pool1d_with_indices",
    "max_pool2d",
    "max_pool2d_with_indices",
    "max_unpool1d",
    "max_unpool2d",
]

_IntOrPair = int | Sequence[int]


def _pair(value: _IntOrPair | None, default: tuple[int, int] | None = None) -> tuple[int, int]:
    if value is None or (not isinstance(value, int) and len(value) == 0):
        assert default is not None
        return default
    if isinstance(value, int):
        return (value, value)
    value = tuple(int(v) for v in value)
    return (value[0], value[0]) if len(value) == 1 else (value[0], value[1])


def _single(value: _IntOrPair | None, default: int | None = None) -> int:
    if value is None or (not isinstance(value, int) and len(value) == 0):
        assert default is not None
        return default
    return value if isinstance(value, int) else int(value[0])


def _out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    # PyTorch's rule: the last window must start inside the input or the left padding.
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _as_batched(input: Tensor, dims: int, name: str) -> tuple[Tensor, bool]:
    """(input with a batch dimension, whether one was added); checks empty non-batch dims."""
    if input.dim() not in (dims + 1, dims + 2):
        raise RuntimeError(
            f"{name}Expected {dims + 1}D or {dims + 2}D (batch mode) tensor with optional 0 dim "
            f"batch size for input, but got:{list(input.shape)}"
        )
    if any(s == 0 for s in input.shape[-dims - 1 :]):
        raise RuntimeError(
            f"{name}Expected {dims + 1}D or {dims + 2}D (batch mode) tensor with optional 0 dim "
            f"batch size for input, but got:{list(input.shape)}"
        )
    if input.dim() == dims + 1:
        return input.unsqueeze(0), True
    return input, False


def _window_plan(
    x: Tensor,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    ceil_mode: bool,
) -> tuple[int, int]:
    if stride[0] <= 0 or stride[1] <= 0:
        raise RuntimeError("stride should not be zero")
    if kernel[0] <= 0 or kernel[1] <= 0:
        raise RuntimeError(
            f"kernel size should be greater than zero, but got kH: {kernel[0]} kW: {kernel[1]}"
        )
    if dilation[0] <= 0 or dilation[1] <= 0:
        raise RuntimeError(
            "dilation should be greater than zero, but got "
            f"dilationH: {dilation[0]} dilationW: {dilation[1]}"
        )
    for k, p, d in zip(kernel, padding, dilation, strict=True):
        if p < 0 or 2 * p > d * (k - 1) + 1:
            raise RuntimeError(
                "pad should be at most half of effective kernel size, but got "
                f"pad={p}, kernel_size={k} and dilation={d}"
            )
    c, h, w = x.shape[1], x.shape[2], x.shape[3]
    oh = _out_size(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    ow = _out_size(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    if oh <= 0 or ow <= 0:
        raise RuntimeError(
            f"Given input size: ({c}x{h}x{w}). Calculated output size: "
            f"({c}x{max(oh, 0)}x{max(ow, 0)}). Output size is too small"
        )
    return oh, ow


def _windows(
    x: Tensor,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    out_hw: tuple[int, int],
    fill: float,
) -> Tensor:
    """The pooling windows as a ``(N, C, OH, OW, kh, kw)`` strided view of the padded input."""
    h, w = x.shape[2], x.shape[3]
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    # Right/bottom padding so exactly out windows fit (ceil_mode may need more than padding,
    # floor mode may need less: a negative amount crops).
    right_h = (out_hw[0] - 1) * stride[0] + spans[0] - h - padding[0]
    right_w = (out_hw[1] - 1) * stride[1] + spans[1] - w - padding[1]
    if padding != (0, 0) or right_h or right_w:
        x = _pad(x, (padding[1], right_w, padding[0], right_h), value=fill)
    view = x.unfold(2, spans[0], stride[0]).unfold(3, spans[1], stride[1])
    if dilation != (1, 1):
        view = view[:, :, :, :, :: dilation[0], :: dilation[1]]
    return view


def _max_pool2d_core(
    input: Tensor,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    ceil_mode: bool,
    with_indices: bool,
) -> tuple[Tensor, Tensor | None]:
    # One Rust pass finds each window's maximum and its flat in-plane index (PyTorch's
    # rule: a later element wins if it is greater or NaN); the gradient goes to the argmax.
    values, idx = _C._max_pool(input, kernel, stride, padding, dilation, ceil_mode)
    return values, (idx if with_indices else None)


def max_pool2d_with_indices(
    input: Tensor,
    kernel_size: _IntOrPair,
    stride: _IntOrPair | None = None,
    padding: _IntOrPair = 0,
    dilation: _IntOrPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = True,
) -> tuple[Tensor, Tensor]:
    """``max_pool2d`` that also returns the flat index of each maximum in its input plane."""
    x, unbatched = _as_batched(input, 2, "")
    kernel = _pair(kernel_size)
    values, indices = _max_pool2d_core(
        x, kernel, _pair(stride, kernel), _pair(padding), _pair(dilation), ceil_mode, True
    )
    assert indices is not None
    if unbatched:
        return values.squeeze(0), indices.squeeze(0)
    return values, indices


def max_pool2d(
    input: Tensor,
    kernel_size: _IntOrPair,
    stride: _IntOrPair | None = None,
    padding: _IntOrPair = 0,
    dilation: _IntOrPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""Applies a 2D max pooling over an input signal composed of several input planes.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size: size of the pooling window.
        stride: stride of the window. Default: ``kernel_size``.
        padding: implicit negative-infinity padding on both sides, at most half the kernel.
        dilation: spacing between window elements.
        ceil_mode: use ceil instead of floor for the output shape.
        return_indices: also return the flat index (into each input plane) of every maximum.
    """
    if return_indices:
        return max_pool2d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)
    x, unbatched = _as_batched(input, 2, "")
    kernel = _pair(kernel_size)
    values, _ = _max_pool2d_core(
        x, kernel, _pair(stride, kernel), _pair(padding), _pair(dilation), ceil_mode, False
    )
    return values.squeeze(0) if unbatched else values


def max_pool1d_with_indices(
    input: Tensor,
    kernel_size: _IntOrPair,
    stride: _IntOrPair | None = None,
    padding: _IntOrPair = 0,
    dilation: _IntOrPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = True,
) -> tuple[Tensor, Tensor]:
    """``max_pool1d`` that also returns the index of each maximum."""
    x, unbatched = _as_batched(input, 1, "max_pool1d: ")
    k = _single(kernel_size)
    values, indices = _max_pool2d_core(
        x.unsqueeze(2),
        (1, k),
        (1, _single(stride, k)),
        (0, _single(padding)),
        (1, _single(dilation)),
        ceil_mode,
        True,
    )
    assert indices is not None
    values, indices = values.squeeze(2), indices.squeeze(2)
    if unbatched:
        return values.squeeze(0), indices.squeeze(0)
    return values, indices


def max_pool1d(
    input: Tensor,
    kernel_size: _IntOrPair,
    stride: _IntOrPair | None = None,
    padding: _IntOrPair = 0,
    dilation: _IntOrPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""Applies a 1D max pooling over an input signal ``(N, C, L)`` or ``(C, L)``.

    Arguments as :func:`max_pool2d`, with single ints.
    """
    if return_indices:
        return max_pool1d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)
    x, unbatched = _as_batched(input, 1, "max_pool1d: ")
    k = _single(kernel_size)
    values, _ = _max_pool2d_core(
        x.unsqueeze(2),
        (1, k),
        (1, _single(stride, k)),
        (0, _single(padding)),
        (1, _single(dilation)),
        ceil_mode,
        False,
    )
    values = values.squeeze(2)
    return values.squeeze(0) if unbatched else values


@lru_cache(maxsize=128)
def _avg_divisor(size: int, out: int, k: int, s: int, p: int, count_include_pad: bool) -> Tensor:
    # Per output position along one axis: how many entries the divisor counts.
    start = _C.arange(out) * s - p
    end = (start + k).clamp_max(size + p)
    if count_include_pad:
        return end - start
    return end.clamp_max(size) - start.clamp_min(0)


def _avg_pool2d_core(
    x: Tensor,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> Tensor:
    oh, ow = _window_plan(x, kernel, stride, padding, (1, 1), ceil_mode)
    if x.dtype.is_floating_point:
        # One Rust pass of separable window sums (rows, then columns), divided once.
        return _C._avg_pool(
            x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
        )
    view = _windows(x, kernel, stride, padding, (1, 1), (oh, ow), 0.0)
    # Summing kernel-major contiguous blocks is much faster than reducing strided windows.
    n, c = x.shape[0], x.shape[1]
    sums = view.permute(4, 5, 0, 1, 2, 3).reshape(kernel[0] * kernel[1], n, c, oh, ow).sum(0)
    # Integer windows divide as C integers do (toward zero), as in PyTorch.
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
        return sums.div(divisor_override, rounding_mode="trunc")
    h, w = x.shape[2], x.shape[3]
    dh = _avg_divisor(h, oh, kernel[0], stride[0], padding[0], count_include_pad)
    dw = _avg_divisor(w, ow, kernel[1], stride[1], padding[1], count_include_pad)
    divisor = (dh.view(oh, 1) * dw.view(1, ow)).to(sums.device)
    return sums.div(divisor, rounding_mode="trunc")


def avg_pool2d(
    input: Tensor,
    kernel_size: _IntOrPair,
    stride: _IntOrPair | None = None,
    padding: _IntOrPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    r"""Applies 2D average pooling over an input ``(N, C, H, W)`` or ``(C, H, W)``.

    Args:
        kernel_size, stride (default ``kernel_size``), padding (zeros), ceil_mode: as
            :func:`max_pool2d`.
        count_include_pad: count the zero padding in the divisor. Default: True.
        divisor_override: if given, divide every window sum by it instead.
    """
    x, unbatched = _as_batched(input, 2, "")
    kernel = _pair(kernel_size)
    out = _avg_pool2d_core(
        x,
        kernel,
        _pair(stride, kernel),
        _pair(padding),
        ceil_mode,
        count_include_pad,
        divisor_override,
    )
    return out.squeeze(0) if unbatched else out


def avg_pool1d(
    input: Tensor,
    kernel_size: _IntOrPair,
    stride: _IntOrPair | None = None,
    padding: _IntOrPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    r"""Applies 1D average pooling over an input ``(N, C, L)`` or ``(C, L)``."""
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for "
            "argument #1 'self' (while checking arguments for avg_pool1d)"
        )
    x, unbatched = _as_batched(input, 1, "")
    k = _single(kernel_size)
    out = _avg_pool2d_core(
        x.unsqueeze(2),
        (1, k),
        (1, _single(stride, k)),
        (0, _single(padding)),
        ceil_mode,
        count_include_pad,
        None,
    ).squeeze(2)
    return out.squeeze(0) if unbatched else out


def lp_pool2d(
    input: Tensor,
    norm_type: float,
    kernel_size: _IntOrPair,
    stride: _IntOrPair | None = None,
    ceil_mode: bool = False,
) -> Tensor:
    r"""Applies 2D power-average pooling: :math:`(\sum x^p)^{1/p}` over each window."""
    kh, kw = _pair(kernel_size)
    out = avg_pool2d(input.pow(norm_type), (kh, kw), stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(kh * kw).pow(1.0 / norm_type)


def lp_pool1d(
    input: Tensor,
    norm_type: float,
    kernel_size: int,
    stride: _IntOrPair | None = None,
    ceil_mode: bool = False,
) -> Tensor:
    r"""Applies 1D power-average pooling: :math:`(\sum x^p)^{1/p}` over each window."""
    out = avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(kernel_size).pow(1.0 / norm_type)


def _bins(size: int, out: int) -> tuple[Tensor, Tensor]:
    # Bin i spans floor(i*size/out) ... ceil((i+1)*size/out), as PyTorch.
    i = _C.arange(out)
    start = (i * size).div(out, rounding_mode="floor")
    end = ((i + 1) * size + out - 1).div(out, rounding_mode="floor")
    return start, end


@lru_cache(maxsize=128)
def _adaptive_avg_matrix(size: int, out: int, dtype: object) -> Tensor:
    start, end = _bins(size, out)
    j = _C.arange(size).view(1, size)
    inside = (j >= start.view(out, 1)) & (j < end.view(out, 1))
    return inside.to(dtype) / (end - start).view(out, 1).to(dtype)


def _adaptive_avg_2d(x: Tensor, oh: int, ow: int) -> Tensor:
    h, w = x.shape[-2], x.shape[-1]
    if oh == 0 or ow == 0:
        return _empty_pool(x, oh, ow)
    if oh == 1 and ow == 1:
        return x.mean((-2, -1), keepdim=True)
    if h % oh == 0 and w % ow == 0:
        if x.dtype in (_C.float32, _C.float64) and x.dim() in (3, 4):
            # Equal bins are average pooling's windows: its separable kernel (28x28 to
            # 7x7, 32x64 planes: 1.34 -> 0.4 ms, PyTorch 0.82) instead of a strided mean.
            return avg_pool2d(x, (h // oh, w // ow))
        # Equal bins: a reshape and one mean.
        lead = x.shape[:-2]
        return x.reshape(*lead, oh, h // oh, ow, w // ow).mean((-3, -1))
    if x.dtype in (_C.float16, _C.bfloat16):
        # Both products in float64, rounded once, as PyTorch's kernel sums each bin in
        # float32 and divides: in the half type the 1/count weights and the intermediate
        # product rounded too (an ulp off in most outputs), and in float32 the weights'
        # rounding still moved 0.3% of them.
        return _adaptive_avg_2d(x.double(), oh, ow).to(x.dtype)
    # Unequal bins: average by multiplying with the (out, in) bin-averaging matrices.
    out = x
    if oh != h:
        out = _C.matmul(_adaptive_avg_matrix(h, oh, x.dtype), out)
    if ow != w:
        out = _C.matmul(out, _adaptive_avg_matrix(w, ow, x.dtype).t())
    return out


def _adaptive_size(output_size: _IntOrPair | None, n: int, name: str, shape) -> tuple[int, ...]:
    if isinstance(output_size, int):
        sizes: tuple = (output_size,) * n
    else:
        sizes = tuple(output_size)
        if len(sizes) != n:
            raise RuntimeError(f"{name}: output_size must be {n}")
    out = tuple(shape[-n + i] if s is None else int(s) for i, s in enumerate(sizes))
    if any(s < 0 for s in out):
        raise RuntimeError(
            f"{name}: elements of output_size must be greater than or equal to 0 but received "
            "{" + ", ".join(map(str, out)) + "}"
        )
    return out


def _empty_pool(x: Tensor, oh: int, ow: int) -> Tensor:
    """A differentiable (..., oh, ow) result of an empty output_size."""
    lead = x.shape[:-2]
    return (x.sum((-2, -1), keepdim=True) * 0).expand(*lead, oh, ow)


def _check_adaptive(input: Tensor, dims: int, name: str) -> None:
    if input.dim() not in (dims + 1, dims + 2):
        raise RuntimeError(
            f"{name}(): Expected {dims + 1}D or {dims + 2}D tensor, but got: {list(input.shape)}"
        )
    for d in range(1, input.dim()):
        if input.shape[d] == 0:
            raise RuntimeError(
                f"{name}(): Expected input to have non-zero size for non-batch dimensions, "
                f"but input has sizes {list(input.shape)} with dimension {d} being empty"
            )


def adaptive_avg_pool2d(input: Tensor, output_size: _IntOrPair) -> Tensor:
    r"""Applies 2D adaptive average pooling: output ``(N, C, *output_size)`` from any input size.

    ``output_size`` entries may be ``None`` to keep the input's size.
    """
    _check_adaptive(input, 2, "adaptive_avg_pool2d")
    oh, ow = _adaptive_size(output_size, 2, "adaptive_avg_pool2d", input.shape)
    return _adaptive_avg_2d(input, oh, ow)


def adaptive_avg_pool1d(input: Tensor, output_size: _IntOrPair) -> Tensor:
    r"""Applies 1D adaptive average pooling over an input ``(N, C, L)`` or ``(C, L)``."""
    _check_adaptive(input, 1, "adaptive_avg_pool1d")
    (ol,) = _adaptive_size(output_size, 1, "adaptive_avg_pool1d", input.shape)
    return _adaptive_avg_2d(input.unsqueeze(-2), 1, ol).squeeze(-2)


@lru_cache(maxsize=128)
def _adaptive_max_index(size: int, out: int) -> tuple[Tensor, int]:
    # Every bin padded to the widest one by repeating its last element (harmless for max,
    # and a repeat never wins a tie over the earlier original). The 3-d pooling's windows.
    start, end = _bins(size, out)
    width = int((end - start).max().item())
    idx = start.view(out, 1) + _C.arange(width).view(1, width)
    idx = _C.minimum(idx, (end - 1).view(out, 1))
    return idx.reshape(-1), width


def _adaptive_max_2d(x: Tensor, oh: int, ow: int) -> tuple[Tensor, Tensor]:
    if oh == 0 or ow == 0:
        idx = _C.zeros(*x.shape[:-2], oh, ow, dtype=_C.int64, device=x.device)
        return _empty_pool(x, oh, ow), idx
    return _C._adaptive_max_pool2d(x, (oh, ow))


def adaptive_max_pool2d_with_indices(
    input: Tensor, output_size: _IntOrPair, return_indices: bool = True
) -> tuple[Tensor, Tensor]:
    """``adaptive_max_pool2d`` returning (values, flat indices into each input plane)."""
    _check_adaptive(input, 2, "adaptive_max_pool2d")
    oh, ow = _adaptive_size(output_size, 2, "adaptive_max_pool2d", input.shape)
    return _adaptive_max_2d(input, oh, ow)


def adaptive_max_pool2d(
    input: Tensor, output_size: _IntOrPair, return_indices: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    r"""Applies 2D adaptive max pooling over an input ``(N, C, H, W)`` or ``(C, H, W)``."""
    values, indices = adaptive_max_pool2d_with_indices(input, output_size)
    return (values, indices) if return_indices else values


def adaptive_max_pool1d_with_indices(
    input: Tensor, output_size: _IntOrPair, return_indices: bool = True
) -> tuple[Tensor, Tensor]:
    """``adaptive_max_pool1d`` returning (values, indices)."""
    _check_adaptive(input, 1, "adaptive_max_pool1d")
    (ol,) = _adaptive_size(output_size, 1, "adaptive_max_pool1d", input.shape)
    values, indices = _adaptive_max_2d(input.unsqueeze(-2), 1, ol)
    return values.squeeze(-2), indices.squeeze(-2)


def adaptive_max_pool1d(
    input: Tensor, output_size: _IntOrPair, return_indices: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    r"""Applies 1D adaptive max pooling over an input ``(N, C, L)`` or ``(C, L)``."""
    values, indices = adaptive_max_pool1d_with_indices(input, output_size)
    return (values, indices) if return_indices else values


def _unpool_size(
    input: Tensor,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    output_size: Sequence[int] | None,
) -> list[int]:
    n = len(kernel)
    spatial = input.shape[-n:]
    default = [(spatial[d] - 1) * stride[d] - 2 * padding[d] + kernel[d] for d in range(n)]
    if output_size is None:
        return default
    sizes = output_size
    if len(sizes) == n + 2 or (len(sizes) == n + 1 and input.dim() == n + 1):
        sizes = sizes[-n:]
    if len(sizes) != n:
        raise ValueError(
            f"output_size should be a sequence containing {n} or {n + 2} elements, but it has a "
            f"length of '{len(sizes)}'"
        )
    for d in range(n):
        lo, hi = default[d] - stride[d], default[d] + stride[d]
        if not lo < sizes[d] < hi:
            raise ValueError(
                f'invalid output_size "{sizes}" (dim {d} must be between {lo} and {hi})'
            )
    return [int(v) for v in sizes]


def _max_unpool(input: Tensor, indices: Tensor, sizes: list[int]) -> Tensor:
    lead = list(input.shape[: input.dim() - len(sizes)])
    plane = 1
    for v in sizes:
        plane *= v
    src = input.reshape(*lead, -1)
    idx = indices.reshape(*lead, -1)
    invalid = (idx >= plane) | (idx < 0)
    if idx.numel() and bool(invalid.any()):
        # PyTorch names the first invalid index in scan order.
        bad = int(idx.reshape(-1)[invalid.reshape(-1).nonzero()[0, 0]].item())
        raise RuntimeError(
            f"Found an invalid max index: {bad} (output volumes are of size "
            f"{'x'.join(map(str, sizes))})"
        )
    out = _C.zeros(*lead, plane, dtype=input.dtype, device=input.device)
    return out.scatter(-1, idx, src).view(*lead, *sizes)


def max_unpool2d(
    input: Tensor,
    indices: Tensor,
    kernel_size: _IntOrPair,
    stride: _IntOrPair | None = None,
    padding: _IntOrPair = 0,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    r"""Partial inverse of :func:`max_pool2d`: puts each value back at its index, zeros
    elsewhere.

    Shape:
        - Input and indices: ``(N, C, H_in, W_in)`` or ``(C, H_in, W_in)``.
        - Output: ``(N, C, H_out, W_out)``, ``H_out = (H_in - 1) * stride - 2 * padding +
          kernel_size`` unless ``output_size`` says otherwise.
    """
    kernel = _pair(kernel_size)
    sizes = _unpool_size(input, kernel, _pair(stride, kernel), _pair(padding), output_size)
    return _max_unpool(input, indices, sizes)


def max_unpool1d(
    input: Tensor,
    indices: Tensor,
    kernel_size: _IntOrPair,
    stride: _IntOrPair | None = None,
    padding: _IntOrPair = 0,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    r"""Partial inverse of :func:`max_pool1d`: ``(N, C, L_in)`` to ``(N, C, L_out)``."""
    k = _single(kernel_size)
    sizes = _unpool_size(input, (k,), (_single(stride, k),), (_single(padding),), output_size)
    return _max_unpool(input, indices, sizes)
