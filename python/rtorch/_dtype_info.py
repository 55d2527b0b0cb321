"""``rtorch.finfo`` and ``rtorch.iinfo``: numeric limits of the floating and integer dtypes."""

from __future__ import annotations

import math

from . import _C

# (bits, eps, max, smallest normal) of each floating dtype, from its IEEE-style layout:
# eps = 2**-mantissa_bits, max = (2 - eps) * 2**max_exponent, tiny = 2**min_exponent.
_FLOAT_LIMITS = {
    "float16": (16, 2.0**-10, (2 - 2.0**-10) * 2.0**15, 2.0**-14),
    "bfloat16": (16, 2.0**-7, (2 - 2.0**-7) * 2.0**127, 2.0**-126),
    "float32": (32, 2.0**-23, (2 - 2.0**-23) * 2.0**127, 2.0**-126),
    "float64": (64, 2.0**-52, (2 - 2.0**-52) * 2.0**1023, 2.0**-1022),
}

_INT_BITS = {"uint8": 8, "int8": 8, "int16": 16, "int32": 32, "int64": 64}


# PyTorch's C++ names of the dtypes, which its error messages print ("... not implemented
# for 'Long'", "expected scalar type Float but found Double").
SCALAR_NAMES = {
    _C.bool: "Bool",
    _C.uint8: "Byte",
    _C.int8: "Char",
    _C.int16: "Short",
    _C.int32: "Int",
    _C.int64: "Long",
    _C.float16: "Half",
    _C.bfloat16: "BFloat16",
    _C.float32: "Float",
    _C.float64: "Double",
}


def scalar_name(dtype: _C.dtype) -> str:
    """PyTorch's C++ name of ``dtype`` (``Long``, ``Float`` …)."""
    return SCALAR_NAMES.get(dtype, str(dtype))


def _dtype_name(dtype: _C.dtype) -> str:
    return repr(dtype).split(".", 1)[1]


class finfo:
    """Machine limits of a floating dtype, as ``torch.finfo``.

    Attributes: ``bits``, ``eps``, ``max``, ``min``, ``tiny`` (= ``smallest_normal``),
    ``resolution`` (10 ** -decimal digits of precision) and ``dtype`` (its name).
    """

    def __init__(self, type: _C.dtype | None = None) -> None:
        if type is None:
            type = _C.get_default_dtype()
        name = _dtype_name(type)
        if name not in _FLOAT_LIMITS:
            raise TypeError(
                "torch.finfo() requires a floating point input type. "
                "Use torch.iinfo to handle 'torch.finfo'"
            )
        self.bits, self.eps, self.max, self.tiny = _FLOAT_LIMITS[name]
        self.min = -self.max
        self.smallest_normal = self.tiny
        self.resolution = 10.0 ** -math.floor(-math.log10(self.eps))
        self.dtype = name

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
            f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
            f"tiny={self.tiny:g}, dtype={self.dtype})"
        )


class iinfo:
    """Machine limits of an integer dtype, as ``torch.iinfo``: ``bits``, ``min``, ``max``."""

    def __init__(self, type: _C.dtype) -> None:
        name = _dtype_name(type)
        if name == "bool":
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if name not in _INT_BITS:
            raise TypeError(
                "torch.iinfo() requires an integer input type. "
                "Use torch.finfo to handle 'torch.iinfo'"
            )
        self.bits = _INT_BITS[name]
        if name == "uint8":
            self.min, self.max = 0, 255
        else:
            self.min, self.max = -(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1
        self.dtype = name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
