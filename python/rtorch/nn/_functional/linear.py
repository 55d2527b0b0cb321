"""Affine maps: ``linear`` and ``bilinear``, as torch.nn.functional."""

from __future__ import annotations

from ... import _C
from ..._C import Tensor

__all__ = ["bilinear", "linear"]

_addmm = _C.addmm
_matmul = _C.matmul
_mm = _C.mm
_mv = _C.mv


def _shape_error(input: Tensor, weight: Tensor, has_bias: bool) -> RuntimeError:
    # PyTorch names the GEMM it dispatched to: addmm with a bias, mm without.
    rows = 1
    for d in input.shape[:-1]:
        rows *= d
    op = "addmm" if has_bias else "mm"
    return RuntimeError(
        f"{op}: mat1 and mat2 shapes cannot be multiplied "
        f"({rows}x{input.shape[-1]} and {weight.shape[1]}x{weight.shape[0]})"
    )


_DTYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16"}


def _dtype_name(dtype: object) -> str:
    short = str(dtype).replace("torch.", "")
    return _DTYPE_NAMES.get(short, short.capitalize())


def _argument_error(input: object, weight: object, bias: object) -> Exception | None:
    """PyTorch's TypeError/RuntimeError for arguments of the wrong type or dtype, if any."""
    for name, pos, value in (("input", 1, input), ("weight", 2, weight)):
        if not isinstance(value, Tensor):
            return TypeError(
                f"linear(): argument '{name}' (position {pos}) must be Tensor, not "
                f"{type(value).__name__}"
            )
    if bias is not None and not isinstance(bias, Tensor):
        return TypeError(
            f"linear(): argument 'bias' (position 3) must be Tensor, not {type(bias).__name__}"
        )
    if input.dtype != weight.dtype:  # type: ignore[union-attr]
        return RuntimeError(
            f"mat1 and mat2 must have the same dtype, but got {_dtype_name(input.dtype)} and "  # type: ignore[union-attr]
            f"{_dtype_name(weight.dtype)}"  # type: ignore[union-attr]
        )
    return None


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r"""Applies an affine transformation: :math:`y = xA^T + b`.

    Args:
        input: ``(*, in_features)``.
        weight: ``(out_features, in_features)`` or ``(in_features)``.
        bias: ``(out_features)`` or ``()``, optional.

    Shape:
        - Output: ``(*, out_features)`` (or ``(*)`` for a 1-D weight).
    """
    try:
        if weight.dim() == 2:
            nd = input.dim()
            if nd == 2:
                # The hot path of every MLP: one fused GEMM with the bias as its beta
                # term. Shapes are checked by the GEMM; the message is fixed up below.
                if bias is None:
                    return _mm(input, weight.t())
                return _addmm(bias, input, weight.t())
            if nd == 1:
                # PyTorch: matmul(input, weight.t()) + bias (an AddBackward0 result);
                # the matrix-vector product needs no transposed view.
                out = _mv(weight, input)
                return out if bias is None else out + bias
        return _linear_nd(input, weight, bias)
    except (AttributeError, TypeError, RuntimeError) as err:
        # Argument types, dtypes and shapes are checked only on failure: the hot path
        # pays nothing.
        better = _argument_error(input, weight, bias) or _shape_mismatch(input, weight, bias)
        if better is not None:
            raise better from None
        raise err from None


def _shape_mismatch(input: Tensor, weight: Tensor, bias: Tensor | None) -> Exception | None:
    """PyTorch's message for an input whose last size is not ``in_features``."""
    if weight.dim() == 2 and input.dim() >= 1 and input.shape[-1] != weight.shape[1]:
        return _shape_error(input, weight, bias is not None)
    return None


def _linear_nd(input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    if input.dim() == 0:
        raise RuntimeError(
            f"both arguments to linear need to be at least 1D, but they are 0D and {weight.dim()}D"
        )
    if weight.dim() == 2 and input.shape[-1] != weight.shape[1]:
        raise _shape_error(input, weight, bias is not None)
    if weight.dim() == 2 and input.dim() > 2:
        # Fold the batch dimensions into one so the product is a single GEMM.
        lead = input.shape[:-1]
        flat = input.reshape(-1, input.shape[-1])
        out = _C.mm(flat, weight.t()) if bias is None else _addmm(bias, flat, weight.t())
        return out.reshape(*lead, weight.shape[0])
    out = _matmul(input, weight.t() if weight.dim() == 2 else weight)
    if bias is not None:
        out = out + bias
    return out


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r"""Applies a bilinear transformation: :math:`y = x_1^T A x_2 + b`.

    Args:
        input1: ``(*, in1_features)``.
        input2: ``(*, in2_features)``, the same leading dimensions as ``input1``.
        weight: ``(out_features, in1_features, in2_features)``.
        bias: ``(out_features)``, optional.

    Shape:
        - Output: ``(*, out_features)``.
    """
    if weight.dim() != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-dimensional, but got {weight.dim()}D")
    out_f, in1, in2 = weight.shape
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(
            "bilinear(): input batch dimensions do not match: got "
            f"{list(input1.shape[:-1])} and {list(input2.shape[:-1])}"
        )
    if input1.shape[-1] != in1:
        raise RuntimeError(
            f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} "
            f"but expected {in1}"
        )
    if input2.shape[-1] != in2:
        raise RuntimeError(
            f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} "
            f"but expected {in2}"
        )
    lead = input1.shape[:-1]
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, in2)
    # x1 @ W viewed as (in1, out*in2), then contract in2 against x2: two whole-tensor steps.
    mixed = _C.mm(x1, weight.permute(1, 0, 2).reshape(in1, out_f * in2))
    out = (mixed.reshape(-1, out_f, in2) * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(*lead, out_f)
