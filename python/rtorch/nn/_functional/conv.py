"""Convolutions, as torch.nn.functional: conv1d/2d, conv_transpose1d/2d, unfold and fold.

float32/float64 convolutions run one fused Rust op (``_C._conv2d``) with its own
backward kernels. Transposed convolutions, and convolutions of other dtypes, go through
two Rust kernels, adjoint to each other (each one's backward is the other):

- ``_C._im2col`` (``F.unfold``): the sliding windows of a zero-padded input laid out as
  ``(N, C*kh*kw, L)``;
- ``_C._col2im`` (``F.fold``): the sum of such columns back into an image.

A convolution is then one batched matrix product (groups are a batch dimension of the
product, not a Python loop), a transposed convolution is a product followed by
``_col2im``. Gradients come from autograd of the composition.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import _C
from ..._C import Tensor
from ...autograd import Function
from .activation import _SCALAR_NAMES
from .padding import pad as _pad

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "fold", "unfold"]

_IntOrPair = int | Sequence[int]

# Dtypes with a fused convolution kernel (``_C._conv2d``).
_KERNEL_DTYPES = (_C.float32, _C.float64, _C.bfloat16, _C.float16)


def _tuple(value: _IntOrPair, n: int, name: str, op: str = "convolution") -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * n
    if len(value) != n:
        raise RuntimeError(
            f"expected {name} to be a single integer value or a list of {n} values to match "
            f"the {op} dimensions, but got {name}={list(value)}"
        )
    return value


def _blocks(size: int, k: int, d: int, p: int, s: int) -> int:
    """How many windows of kernel ``k`` (dilation ``d``) fit along a padded axis."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _conv2d_forward(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
) -> Tensor:
    """Convolution of a batched ``(N, C, H, W)`` input with symmetric zero ``padding``.

    float32/float64 run the fused Rust kernel (``_C._conv2d``: per-sample im2col and
    GEMM, with fused backward kernels). Other dtypes compose the ``im2col`` kernel (its
    backward is ``col2im``) with one batched matrix product per group.
    """
    if x.dtype in _KERNEL_DTYPES and weight.dtype == x.dtype:
        return _C._conv2d(x, weight, bias, stride, padding, dilation, groups)
    n, _, h, w = x.shape
    out_c, cg, kh, kw = weight.shape
    og = out_c // groups
    if kh == 1 and kw == 1 and stride == (1, 1) and padding == (0, 0):
        # 1x1: a plain matrix product over the channel dimension.
        oh, ow = h, w
        cols = x.reshape(n, groups, cg, h * w)
    else:
        oh = _blocks(h, kh, dilation[0], padding[0], stride[0])
        ow = _blocks(w, kw, dilation[1], padding[1], stride[1])
        cols = _C._im2col(x, (kh, kw), dilation, padding, stride)
        cols = cols.view(n, groups, cg * kh * kw, oh * ow)
    out = _C.matmul(weight.reshape(groups, og, cg * kh * kw), cols)
    out = out.view(n, out_c, oh, ow)
    if bias is not None:
        out = out + bias.view(1, out_c, 1, 1)
    return out


# The C++ type names PyTorch's convolution prints for an input/bias dtype mismatch.
_CPP_TYPE_NAMES = {
    _C.bool: "bool",
    _C.uint8: "unsigned char",
    _C.int8: "signed char",
    _C.int16: "short int",
    _C.int32: "int",
    _C.int64: "long int",
    _C.float16: "c10::Half",
    _C.bfloat16: "c10::BFloat16",
    _C.float32: "float",
    _C.float64: "double",
}


def _legacy_type_name(dtype: object) -> str:
    # PyTorch names the CPU tensor type: torch.FloatTensor, ..., but CPUBoolType and
    # CPUBFloat16Type for the two dtypes without a legacy tensor class in its C++ list.
    name = _SCALAR_NAMES[dtype]
    return f"CPU{name}Type" if dtype in (_C.bool, _C.bfloat16) else f"torch.{name}Tensor"


def _dtype_error(
    input: Tensor, weight: Tensor, bias: Tensor | None, nd: int, transposed: bool
) -> None:
    """PyTorch's RuntimeError when the weight's (or a convolution's bias's) dtype is not
    the input's: a half-precision input gets the one naming the tensor types."""
    if input.dtype != weight.dtype:
        if input.dtype in (_C.float16, _C.bfloat16):
            raise RuntimeError(
                f"Input type ({_legacy_type_name(input.dtype)}) and weight type "
                f"({_legacy_type_name(weight.dtype)}) should be the same or input should be a "
                "MKLDNN tensor and weight is a dense tensor"
            )
        raise RuntimeError(
            f"expected scalar type {_SCALAR_NAMES[input.dtype]} but found "
            f"{_SCALAR_NAMES[weight.dtype]}"
        )
    if bias is None or bias.dtype == input.dtype:
        return
    if not transposed:
        raise RuntimeError(
            f"Input type ({_CPP_TYPE_NAMES[input.dtype]}) and bias type "
            f"({_CPP_TYPE_NAMES[bias.dtype]}) should be the same"
        )
    if nd == 3:
        raise RuntimeError(
            f"expected scalar type {_SCALAR_NAMES[input.dtype]} but found "
            f"{_SCALAR_NAMES[bias.dtype]}"
        )
    # 1-d and 2-d transposed convolutions cast the bias to the input's dtype.


def _check_conv(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    groups: int,
    nd: int,
    name: str,
    transposed: bool = False,
) -> None:
    for arg, pos, value in (("input", 1, input), ("weight", 2, weight), ("bias", 3, bias)):
        if not isinstance(value, Tensor) and not (arg == "bias" and value is None):
            raise TypeError(
                f"{name}(): argument '{arg}' (position {pos}) must be Tensor, not "
                f"{type(value).__name__}"
            )
    _dtype_error(input, weight, bias, nd, transposed)
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got "
            f"input of size: {list(input.shape)}"
        )
    if weight.dim() != nd + 2:
        raise RuntimeError(
            f"weight should have at least three dimensions and {nd + 2} in total for {name}, "
            f"but got weight of size {list(weight.shape)}"
        )
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    batched_shape = list(input.shape) if input.dim() == nd + 2 else [1, *input.shape]
    channels = batched_shape[1]
    if transposed:
        if channels != weight.shape[0]:
            raise RuntimeError(
                f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                f"input{batched_shape} to have {weight.shape[0]} channels, but got {channels} "
                "channels instead"
            )
        out_c = weight.shape[1] * groups
    else:
        if weight.shape[0] % groups != 0:
            raise RuntimeError(
                f"Given groups={groups}, expected weight to be divisible by {groups} at "
                f"dimension 0, but got weight of size [{list(weight.shape)}] instead"
            )
        if channels != weight.shape[1] * groups:
            raise RuntimeError(
                f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
                f"input{batched_shape} to have {weight.shape[1] * groups} channels, but got "
                f"{channels} channels instead"
            )
        out_c = weight.shape[0]
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != out_c):
        raise RuntimeError(
            f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
            f"{out_c} elements, but got bias of size {list(bias.shape)} instead"
        )


def _resolve_padding(
    padding: str | _IntOrPair,
    kernel: Sequence[int],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    nd: int,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(left, right) padding per spatial dimension."""
    if isinstance(padding, str):
        if padding == "valid":
            zeros = (0,) * nd
            return zeros, zeros
        if padding != "same":
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        if any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        left = tuple(t // 2 for t in totals)
        # The odd unit of padding goes on the right/bottom, as in PyTorch.
        return left, tuple(t - lo for t, lo in zip(totals, left, strict=True))
    pads = _tuple(padding, nd, "padding")
    if any(p < 0 for p in pads):
        raise RuntimeError("negative padding is not supported")
    return pads, pads


def _conv_arguments(
    input: Tensor,
    weight: Tensor,
    stride: _IntOrPair,
    padding: str | _IntOrPair,
    dilation: _IntOrPair,
    nd: int,
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """A convolution's checked ``(stride, dilation, left padding, right padding)`` per
    spatial dimension, with PyTorch's errors for bad values and for a (dilated) kernel
    larger than the padded input."""
    stride_t = _tuple(stride, nd, "stride")
    dilation_t = _tuple(dilation, nd, "dilation")
    if any(s <= 0 for s in stride_t):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation_t):
        raise RuntimeError("dilation should be greater than zero")
    kernel = tuple(weight.shape[2:])
    left, right = _resolve_padding(padding, kernel, stride_t, dilation_t, nd)
    spatial = input.shape[-nd:]  # batched or not, the spatial dims are the last nd
    padded = [s + lo + hi for s, lo, hi in zip(spatial, left, right, strict=True)]
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation_t, strict=True)]
    if any(p < s for p, s in zip(padded, spans, strict=True)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, spans))}). Kernel size can't be greater than "
            "actual input size"
        )
    return stride_t, dilation_t, left, right


def _convnd(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: _IntOrPair,
    padding: str | _IntOrPair,
    dilation: _IntOrPair,
    groups: int,
    nd: int,
    name: str,
) -> Tensor:
    _check_conv(input, weight, bias, groups, nd, name)
    stride_t, dilation_t, left, right = _conv_arguments(
        input, weight, stride, padding, dilation, nd
    )
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    if left != right:
        # 'same' with an even total: im2col pads symmetrically, the odd unit goes on the
        # right/bottom here.
        amounts: list[int] = []
        for lo, hi in zip(reversed(left), reversed(right), strict=True):
            amounts += [0, hi - lo]
        x = _pad(x, amounts)
    if nd == 1:
        out = _conv2d_forward(
            x.unsqueeze(2),
            weight.unsqueeze(2),
            bias,
            (1, stride_t[0]),
            (0, left[0]),
            (1, dilation_t[0]),
            groups,
        ).squeeze(2)
    else:
        out = _conv2d_forward(x, weight, bias, stride_t, left, dilation_t, groups)
    return out.squeeze(0) if unbatched else out


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: _IntOrPair = 1,
    padding: str | _IntOrPair = 0,
    dilation: _IntOrPair = 1,
    groups: int = 1,
) -> Tensor:
    r"""Applies a 1D convolution over an input signal composed of several input planes.

    Args:
        input: ``(minibatch, in_channels, iW)`` or ``(in_channels, iW)``.
        weight: ``(out_channels, in_channels / groups, kW)``.
        bias: ``(out_channels)``, optional.
        stride: the stride of the kernel. Default: 1.
        padding: an int, a one-element tuple, ``'valid'`` or ``'same'``. Default: 0.
        dilation: the spacing between kernel elements. Default: 1.
        groups: split the input into groups; ``in_channels`` must divide by it. Default: 1.

    Example::

        >>> F.conv1d(torch.randn(33, 16, 30), torch.randn(20, 16, 5)).shape
        torch.Size([33, 20, 26])
    """
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: _IntOrPair = 1,
    padding: str | _IntOrPair = 0,
    dilation: _IntOrPair = 1,
    groups: int = 1,
) -> Tensor:
    r"""Applies a 2D convolution over an input image composed of several input planes.

    Args:
        input: ``(minibatch, in_channels, iH, iW)`` or ``(in_channels, iH, iW)``.
        weight: ``(out_channels, in_channels / groups, kH, kW)``.
        bias: ``(out_channels)``, optional.
        stride: an int or ``(sH, sW)``. Default: 1.
        padding: an int, ``(padH, padW)``, ``'valid'`` or ``'same'``. Default: 0.
        dilation: an int or ``(dH, dW)``. Default: 1.
        groups: split the input into groups; ``in_channels`` must divide by it. Default: 1.

    Example::

        >>> F.conv2d(torch.randn(1, 4, 5, 5), torch.randn(8, 4, 3, 3), padding=1).shape
        torch.Size([1, 8, 5, 5])
    """
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


_AXES = {1: ("width",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def _conv_transpose_arguments(
    stride: _IntOrPair,
    padding: _IntOrPair,
    output_padding: _IntOrPair,
    dilation: _IntOrPair,
    nd: int,
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """A transposed convolution's checked ``(stride, padding, output_padding, dilation)``
    per spatial dimension, with PyTorch's errors."""
    stride_t = _tuple(stride, nd, "stride")
    pad_t = _tuple(padding, nd, "padding")
    out_pad_t = _tuple(output_padding, nd, "output_padding")
    dil_t = _tuple(dilation, nd, "dilation")
    if any(s <= 0 for s in stride_t):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in pad_t):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dil_t):
        raise RuntimeError("dilation should be greater than zero")
    if any(op >= s and op >= d for op, s, d in zip(out_pad_t, stride_t, dil_t, strict=True)):
        axes = _AXES[nd]
        parts = [f"output_padding_{a}: {op}" for a, op in zip(axes, out_pad_t, strict=True)]
        parts += [f"stride_{a}: {s}" for a, s in zip(axes, stride_t, strict=True)]
        parts += [f"dilation_{a}: {d}" for a, d in zip(axes, dil_t, strict=True)]
        raise RuntimeError(
            "output padding must be smaller than either stride or dilation, but got "
            + " ".join(parts)
        )
    return stride_t, pad_t, out_pad_t, dil_t


def _col2im_transposed(
    x: Tensor,
    w: Tensor,
    groups: int,
    out_hw: tuple[int, int],
    stride_t: tuple[int, ...],
    pad_t: tuple[int, ...],
    out_pad_t: tuple[int, ...],
    dil_t: tuple[int, ...],
) -> Tensor:
    """A batched 2-D transposed convolution without bias: W^T x per group, folded onto
    the output plane by col2im."""
    n, in_c, h, wd = x.shape
    _, og, kh, kw = w.shape
    ig, out_c = in_c // groups, og * groups
    out_h, out_w = out_hw
    # Columns = W^T x per group, then scatter-add them into the (padded) output plane.
    wt = w.reshape(groups, ig, og * kh * kw).transpose(1, 2)
    cols = _C.matmul(wt, x.reshape(n, groups, ig, h * wd))
    cols = cols.reshape(n, out_c * kh * kw, h * wd)
    if out_pad_t[0] < stride_t[0] and out_pad_t[1] < stride_t[1]:
        # Exactly h x wd windows fit the padded output plane: col2im crops the padding.
        out = _C._col2im(cols, (out_h, out_w), (kh, kw), dil_t, pad_t, stride_t)
    else:
        # output_padding >= stride (allowed when below dilation): more windows would fit,
        # so fold onto the full plane, extend it with zeros and crop.
        full_h = (h - 1) * stride_t[0] + dil_t[0] * (kh - 1) + 1
        full_w = (wd - 1) * stride_t[1] + dil_t[1] * (kw - 1) + 1
        out = _C._col2im(cols, (full_h, full_w), (kh, kw), dil_t, (0, 0), stride_t)
        out = _pad(out, (0, out_pad_t[1], 0, out_pad_t[0]))
        out = out[:, :, pad_t[0] : pad_t[0] + out_h, pad_t[1] : pad_t[1] + out_w]
    return out


def _kernel_transposable(
    x: Tensor,
    w: Tensor,
    bias: Tensor | None,
    stride_t: tuple[int, ...],
    out_pad_t: tuple[int, ...],
) -> bool:
    """Whether a batched 2-D transposed convolution runs as the input gradient of the
    convolution it transposes (``_TransposedConv``): bfloat16 or float16 (whose W^T x
    and col2im rounded twice; float32 and float64 keep them, 10-15% faster with their
    backward for a 2x upsampling), on the CPU, with an output padding below the stride
    (so that the convolution of the output's shape gives back the input's)."""
    same = w.dtype == x.dtype and (bias is None or bias.dtype == x.dtype)
    fits = all(op < s for op, s in zip(out_pad_t, stride_t, strict=True))
    half = x.dtype in (_C.bfloat16, _C.float16)
    return half and same and fits and x.device.type == "cpu"


class _TransposedConv(Function):
    """A 16-bit 2-D transposed convolution as the input gradient of the convolution it
    transposes, on that convolution's backward kernels (``_C._conv2d_grad``): float32
    sums rounded once, as PyTorch's. The node is PyTorch's ``ConvolutionBackward0``."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: Tensor,
        w: Tensor,
        bias: Tensor | None,
        out_shape: tuple[int, ...],
        stride: tuple[int, ...],
        padding: tuple[int, ...],
        dilation: tuple[int, ...],
        groups: int,
    ) -> Tensor:
        ctx.save_for_backward(x, w)
        ctx.args = (stride, padding, dilation, groups)
        ctx.has_bias = bias is not None
        dtype = x.dtype
        if bias is not None and dtype in (_C.bfloat16, _C.float16):
            # The bias joins the float32 sums before the one rounding.
            x, w = x.float(), w.float()
        # Only its shape is read: one element broadcast (a fresh output-sized tensor
        # cost its page faults, 0.3 ms per 4 MB).
        placeholder = _C.empty((), dtype=x.dtype).expand(out_shape)
        out = _C._conv2d_grad(placeholder, w, x, stride, padding, dilation, groups, True)
        if bias is not None:
            out = out.add_(bias.view(1, -1, 1, 1).to(out.dtype))
        return out.to(dtype)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple:  # type: ignore[override]
        # The forward is W^T x folded by col2im; its adjoint unfolds the gradient
        # (im2col, a copy) and multiplies: one product per gradient, so 16-bit ones are
        # float32 sums rounded once. (The convolution's own kernels took 1.3x as long
        # for bfloat16: its weight gradient at stride 2 widens to float32.)
        x, w = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.args
        n, in_c, h, wd = x.shape
        _, og, kh, kw = w.shape
        ig, k, hw = in_c // groups, og * kh * kw, h * wd
        cols = _C._im2col(grad, (kh, kw), dilation, padding, stride).view(n, groups, k, hw)
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = _C.matmul(w.reshape(groups, ig, k), cols).view(n, in_c, h, wd)
        if ctx.needs_input_grad[1]:
            # Summed over the batch inside one product per group, (k, n*hw) @ (n*hw, ig):
            # the columns regroup by whole rows (a transposed layout cost 3.2 ms against
            # 1.9 for the 25 MB of a bfloat16 2x upsampling, and its product 7.5 against 4.4).
            cs = cols.permute(1, 2, 0, 3).reshape(groups, k, n * hw)
            xt = x.reshape(n, groups, ig, hw).permute(1, 0, 3, 2).reshape(groups, n * hw, ig)
            gw = _C.matmul(cs, xt).transpose(1, 2).reshape(in_c, og, kh, kw)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = grad.sum((0, 2, 3))
        return gx, gw, gb, None, None, None, None, None


_TransposedConv._backward_name = "ConvolutionBackward0"


def _conv_transposend(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: _IntOrPair,
    padding: _IntOrPair,
    output_padding: _IntOrPair,
    groups: int,
    dilation: _IntOrPair,
    nd: int,
    name: str,
) -> Tensor:
    _check_conv(input, weight, bias, groups, nd, name, transposed=True)
    stride_t, pad_t, out_pad_t, dil_t = _conv_transpose_arguments(
        stride, padding, output_padding, dilation, nd
    )
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    w = weight
    if nd == 1:
        x, w = x.unsqueeze(2), w.unsqueeze(2)
        stride_t, pad_t, out_pad_t, dil_t = (
            (1, *stride_t),
            (0, *pad_t),
            (0, *out_pad_t),
            (1, *dil_t),
        )
    _, in_c, h, wd = x.shape
    _, og, kh, kw = w.shape
    out_c = og * groups
    out_h = (h - 1) * stride_t[0] - 2 * pad_t[0] + dil_t[0] * (kh - 1) + out_pad_t[0] + 1
    out_w = (wd - 1) * stride_t[1] - 2 * pad_t[1] + dil_t[1] * (kw - 1) + out_pad_t[1] + 1
    if out_h <= 0 or out_w <= 0:
        raise RuntimeError(
            f"Given input size per channel: ({h} x {wd}). Calculated output size per channel: "
            f"({out_h} x {out_w}). Output size is too small"
        )
    ig = in_c // groups
    flipped_pads = (dil_t[0] * (kh - 1) - pad_t[0], dil_t[1] * (kw - 1) - pad_t[1])
    if stride_t == (1, 1) and not any(out_pad_t) and min(flipped_pads) >= 0:
        # At stride 1 this is the convolution by the kernel flipped in space with its
        # input and output channels swapped (per group), padded by d(k-1)-p: the
        # convolution's kernels (Winograd, direct, fused backward) instead of W^T x and
        # col2im (64 -> 64 channels, 3x3, 32x64x28x28 forward+backward: 39 -> 26 ms).
        # (The bias too when its dtype is the input's: one pass, and PyTorch's node.)
        wc = w.reshape(groups, ig, og, kh, kw).transpose(1, 2).reshape(out_c, ig, kh, kw)
        fuse_bias = bias is not None and bias.dtype == x.dtype
        fused = bias if fuse_bias else None
        out = _conv2d_forward(x, wc.flip(2, 3), fused, (1, 1), flipped_pads, dil_t, groups)
    elif _kernel_transposable(x, w, bias, stride_t, out_pad_t):
        out_shape = (x.shape[0], out_c, out_h, out_w)
        args = (out_shape, stride_t, pad_t, dil_t, groups)
        out, fuse_bias = _TransposedConv.apply(x, w, bias, *args), True
    elif x.dtype in (_C.bfloat16, _C.float16) and w.dtype == x.dtype:
        # float32 sums rounded once, the bias included, as PyTorch's (oneDNN) transposed
        # convolution (16-bit W^T x and col2im rounded the columns, then each partial sum).
        args = ((out_h, out_w), stride_t, pad_t, out_pad_t, dil_t)
        out = _col2im_transposed(x.float(), w.float(), groups, *args)
        if bias is not None:
            # (A bias of another dtype is cast to the input's first, as PyTorch's.)
            out = out + bias.view(1, out_c, 1, 1).to(x.dtype).float()
        out, fuse_bias = out.to(x.dtype), True
    else:
        fuse_bias = False
        out = _col2im_transposed(x, w, groups, (out_h, out_w), stride_t, pad_t, out_pad_t, dil_t)
    if bias is not None and not fuse_bias:
        out = out + bias.view(1, out_c, 1, 1).to(out.dtype)
    if nd == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: _IntOrPair = 1,
    padding: _IntOrPair = 0,
    output_padding: _IntOrPair = 0,
    groups: int = 1,
    dilation: _IntOrPair = 1,
) -> Tensor:
    r"""Applies a 1D transposed convolution ("deconvolution") over an input signal.

    Args:
        input: ``(minibatch, in_channels, iW)`` or ``(in_channels, iW)``.
        weight: ``(in_channels, out_channels / groups, kW)``.
        bias: ``(out_channels)``, optional.
        stride, padding, output_padding, groups, dilation: as ``ConvTranspose1d``.

    Example::

        >>> F.conv_transpose1d(torch.randn(20, 16, 50), torch.randn(16, 33, 5)).shape
        torch.Size([20, 33, 54])
    """
    return _conv_transposend(
        input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
        "conv_transpose1d",
    )  # fmt: skip


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: _IntOrPair = 1,
    padding: _IntOrPair = 0,
    output_padding: _IntOrPair = 0,
    groups: int = 1,
    dilation: _IntOrPair = 1,
) -> Tensor:
    r"""Applies a 2D transposed convolution ("deconvolution") over an input image.

    Args:
        input: ``(minibatch, in_channels, iH, iW)`` or ``(in_channels, iH, iW)``.
        weight: ``(in_channels, out_channels / groups, kH, kW)``.
        bias: ``(out_channels)``, optional.
        stride, padding, output_padding, groups, dilation: as ``ConvTranspose2d``.

    Example::

        >>> F.conv_transpose2d(torch.randn(1, 4, 5, 5), torch.randn(4, 8, 3, 3)).shape
        torch.Size([1, 8, 7, 7])
    """
    return _conv_transposend(
        input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
        "conv_transpose2d",
    )  # fmt: skip


def unfold(
    input: Tensor,
    kernel_size: _IntOrPair,
    dilation: _IntOrPair = 1,
    padding: _IntOrPair = 0,
    stride: _IntOrPair = 1,
) -> Tensor:
    r"""Extracts sliding local blocks from a batched input tensor (im2col).

    Shape:
        - Input: ``(N, C, H, W)`` or ``(C, H, W)``.
        - Output: ``(N, C * kH * kW, L)`` or ``(C * kH * kW, L)``.
    """
    if input.dim() not in (3, 4):
        raise RuntimeError(
            f"Input Error: Only 3D or 4D input Tensors are supported (got {input.dim()}D)"
        )
    kernel = _tuple(kernel_size, 2, "kernel_size", "im2col")
    dil = _tuple(dilation, 2, "dilation", "im2col")
    pads = _tuple(padding, 2, "padding", "im2col")
    strides = _tuple(stride, 2, "stride", "im2col")
    return _C._im2col(input, kernel, dil, pads, strides)


def fold(
    input: Tensor,
    output_size: _IntOrPair,
    kernel_size: _IntOrPair,
    dilation: _IntOrPair = 1,
    padding: _IntOrPair = 0,
    stride: _IntOrPair = 1,
) -> Tensor:
    r"""Combines an array of sliding local blocks into a large tensor (col2im), summing overlaps.

    Shape:
        - Input: ``(N, C * kH * kW, L)`` or ``(C * kH * kW, L)``.
        - Output: ``(N, C, output_size[0], output_size[1])`` or ``(C, ...)``.
    """
    if input.dim() not in (2, 3):
        raise RuntimeError(
            "Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported "
            f"(got {input.dim()}D)"
        )
    size = _tuple(output_size, 2, "output_size", "col2im")
    kernel = _tuple(kernel_size, 2, "kernel_size", "col2im")
    dil = _tuple(dilation, 2, "dilation", "col2im")
    pads = _tuple(padding, 2, "padding", "col2im")
    strides = _tuple(stride, 2, "stride", "col2im")
    return _C._col2im(input, size, kernel, dil, pads, strides)


# ----- conv3d (api) -----
# A 3-D convolution is a 2-D one whose input channels also run over the kernel depth:
# the kD depth slices that meet each output depth are stacked next to the channels (one
# strided slice per kernel depth, not per output position), the output depths fold into
# the batch, and one conv2d does the rest. Gradients come from autograd of this.

__all__ += ["conv3d"]


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: _IntOrPair = 1,
    padding: str | _IntOrPair = 0,
    dilation: _IntOrPair = 1,
    groups: int = 1,
) -> Tensor:
    r"""Applies a 3D convolution over an input image composed of several input planes.

    Args:
        input: ``(minibatch, in_channels, iD, iH, iW)`` or ``(in_channels, iD, iH, iW)``.
        weight: ``(out_channels, in_channels / groups, kD, kH, kW)``.
        bias: ``(out_channels)``, optional.
        stride: an int or ``(sD, sH, sW)``. Default: 1.
        padding: an int, ``(padD, padH, padW)``, ``'valid'`` or ``'same'``. Default: 0.
        dilation: an int or ``(dD, dH, dW)``. Default: 1.
        groups: split the input into groups; ``in_channels`` must divide by it. Default: 1.

    Example::

        >>> F.conv3d(torch.randn(20, 16, 50, 10, 20), torch.randn(33, 16, 3, 3, 3)).shape
        torch.Size([20, 33, 48, 8, 18])
    """
    _check_conv(input, weight, bias, groups, 3, "conv3d")
    if input.dtype in (_C.bfloat16, _C.float16) and weight.dtype == input.dtype:
        # In float32, rounded once, as PyTorch's: the forward below rounds once, but its
        # input gradient added each input's taps over depth in the 16-bit type (40% of
        # the bfloat16 gradients an ulp off; PyTorch's all correctly rounded).
        wide = (input.float(), weight.float(), None if bias is None else bias.float())
        return conv3d(*wide, stride, padding, dilation, groups).to(input.dtype)
    stride_t, dilation_t, left, right = _conv_arguments(input, weight, stride, padding, dilation, 3)
    unbatched = input.dim() == 4
    x = input.unsqueeze(0) if unbatched else input
    # Depth padding (and any asymmetric 'same' remainder) is applied here; the symmetric
    # height/width padding goes to conv2d.
    amounts = [0, right[2] - left[2], 0, right[1] - left[1], left[0], right[0]]
    if any(amounts):
        x = _pad(x, amounts)
    n, _, depth, h, w = x.shape
    out_c, cg, kd, kh, kw = weight.shape
    od = _blocks(depth, kd, dilation_t[0], 0, stride_t[0])  # depth is already padded
    last = (od - 1) * stride_t[0] + 1
    # Tap i's input slices as (N, OD, groups, C/groups, H, W) views, stacked into one
    # (N, OD, groups, kD, C/groups, H, W) tensor: the only copy, already laid out as the
    # (N*OD, groups*kD*C/groups, H, W) batch of 2-D convolutions.
    slices = [
        x[:, :, i * dilation_t[0] : i * dilation_t[0] + last : stride_t[0]]
        .permute(0, 2, 1, 3, 4)
        .reshape(n, od, groups, cg, h, w)
        for i in range(kd)
    ]
    cols = _C.stack(slices, 3).reshape(n * od, groups * kd * cg, h, w)
    w2 = weight.permute(0, 2, 1, 3, 4).reshape(out_c, kd * cg, kh, kw)
    out = _conv2d_forward(cols, w2, bias, stride_t[1:], left[1:], dilation_t[1:], groups)
    # Contiguous, as PyTorch's result (a permuted view made `.view(n, -1)` raise).
    out = out.reshape(n, od, out_c, out.shape[2], out.shape[3]).permute(0, 2, 1, 3, 4)
    out = out.contiguous()
    return out.squeeze(0) if unbatched else out


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: _IntOrPair = 1,
    padding: _IntOrPair = 0,
    output_padding: _IntOrPair = 0,
    groups: int = 1,
    dilation: _IntOrPair = 1,
) -> Tensor:
    r"""Applies a 3D transposed convolution ("deconvolution") over an input image.

    One conv_transpose2d over height and width produces every kernel depth's
    contribution at once (the kernel depth joins the output channels); ``col2im`` along
    the depth axis then adds them into the strided output depths.

    Args:
        input: ``(minibatch, in_channels, iD, iH, iW)`` or ``(in_channels, iD, iH, iW)``.
        weight: ``(in_channels, out_channels / groups, kD, kH, kW)``.
        bias: ``(out_channels)``, optional.
        stride, padding, output_padding, groups, dilation: as ``ConvTranspose3d``.

    Example::

        >>> F.conv_transpose3d(torch.randn(20, 16, 50, 10, 20), torch.randn(16, 33, 3, 3, 3)).shape
        torch.Size([20, 33, 52, 12, 22])
    """
    _check_conv(input, weight, bias, groups, 3, "conv_transpose3d", transposed=True)
    stride_t, pad_t, out_pad_t, dil_t = _conv_transpose_arguments(
        stride, padding, output_padding, dilation, 3
    )
    half = (_C.bfloat16, _C.float16)
    if input.dtype in half and weight.dtype == input.dtype:
        # float32 sums rounded once, the bias included, as PyTorch's: the 16-bit products
        # and col2im below rounded 40-45% of the outputs the other way.
        wide = (input.float(), weight.float(), None if bias is None else bias.float())
        out = conv_transpose3d(*wide, stride_t, pad_t, out_pad_t, groups, dil_t)
        return out.to(input.dtype)
    unbatched = input.dim() == 4
    x = input.unsqueeze(0) if unbatched else input
    n, in_c, depth, h, w = x.shape
    _, og, kd, kh, kw = weight.shape
    out_c = og * groups
    out_d = (depth - 1) * stride_t[0] - 2 * pad_t[0] + dil_t[0] * (kd - 1) + out_pad_t[0] + 1
    sizes = [
        (s - 1) * st - 2 * p + d * (k - 1) + op + 1
        for s, st, p, d, k, op in zip(
            (h, w), stride_t[1:], pad_t[1:], dil_t[1:], (kh, kw), out_pad_t[1:], strict=True
        )
    ]
    if out_d <= 0 or any(s <= 0 for s in sizes):
        raise RuntimeError(
            f"Given input size per channel: ({depth} x {h} x {w}). Calculated output size per "
            f"channel: ({out_d} x {sizes[0]} x {sizes[1]}). Output size is too small"
        )
    # Height/width for all kernel depths at once: (N*D, groups*kD*og, OH, OW).
    x2 = x.permute(0, 2, 1, 3, 4).reshape(n * depth, in_c, h, w)
    w2 = weight.permute(0, 2, 1, 3, 4).reshape(in_c, kd * og, kh, kw)
    y = _conv_transposend(
        x2, w2, None, stride_t[1:], pad_t[1:], out_pad_t[1:], groups, dil_t[1:], 2,
        "conv_transpose3d",
    )  # fmt: skip
    oh, ow = y.shape[2], y.shape[3]
    # Columns (N, out_c*OH*OW*kD, D) for col2im along depth (kernel index innermost).
    cols = y.reshape(n, depth, groups, kd, og, oh, ow).permute(0, 2, 4, 5, 6, 3, 1)
    cols = cols.reshape(n, out_c * oh * ow * kd, depth)
    if out_pad_t[0] < stride_t[0]:
        out = _C._col2im(cols, (out_d, 1), (kd, 1), (dil_t[0], 1), (pad_t[0], 0), (stride_t[0], 1))
    else:
        full_d = (depth - 1) * stride_t[0] + dil_t[0] * (kd - 1) + 1
        out = _C._col2im(cols, (full_d, 1), (kd, 1), (dil_t[0], 1), (0, 0), (stride_t[0], 1))
        out = _pad(out, (0, 0, 0, out_pad_t[0]))[:, :, pad_t[0] : pad_t[0] + out_d]
    # Contiguous, as PyTorch's result (a permuted view made `.view(n, -1)` raise).
    out = out.reshape(n, out_c, oh, ow, out_d).permute(0, 1, 4, 2, 3).contiguous()
    if bias is not None:
        out = out + bias.view(1, out_c, 1, 1, 1)
    return out.squeeze(0) if unbatched else out


__all__ += ["conv_transpose3d"]
