"""Process-wide entry points that PyTorch programs call around the math: ``compile``,
default tensor type/device, the ``strided`` layout, ``OutOfMemoryError``, pinned memory
and the in-place shape methods (``unsqueeze_``, ``t_``, ``resize_``, …) built on ``set_``.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from typing import Any

from . import _C
from ._C import Tensor
from ._dtype_info import scalar_name

_NO_DRIVER = (
    "Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU and "
    "installed a driver from http://www.nvidia.com/Download/index.aspx"
)


# ----- torch.compile -----


def compile(
    model: Callable | None = None,
    *,
    fullgraph: bool = False,
    dynamic: bool | None = None,
    backend: str | Callable = "inductor",
    mode: str | None = None,
    options: dict | None = None,
    name: str | None = None,
    disable: bool = False,
    **kwargs: Any,
) -> Any:
    """``torch.compile``: rtorch runs every op eagerly in Rust, so compiling returns the
    function or module unchanged (same results, same autograd). Usable as
    ``compile(model)``, ``@compile`` or ``@compile(mode=...)``."""
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified")
    if model is None:
        return functools.partial(
            compile,
            fullgraph=fullgraph,
            dynamic=dynamic,
            backend=backend,
            mode=mode,
            options=options,
            name=name,
            disable=disable,
            **kwargs,
        )
    if not callable(model):
        raise AssertionError(  # noqa: TRY004 - PyTorch raises AssertionError here
            f"A callable function is expected, but {type(model)} is provided."
        )
    return model


def _assert(condition: Any, message: str) -> None:
    """``torch._assert``: ``assert condition, message`` in a form tracing keeps (rtorch
    runs eagerly: a plain assertion, ``AssertionError`` with ``message`` when false)."""
    assert condition, message


# ----- defaults -----


class layout:
    """A tensor memory layout (``torch.layout``); rtorch tensors are all ``torch.strided``."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self) -> str:
        return self._name


strided = layout("strided")


def _tensor_layout(self: Tensor) -> layout:
    return strided


def set_default_tensor_type(t: Any) -> None:
    """Sets the default floating dtype from a legacy tensor type (``torch.DoubleTensor``) or
    its name (``"torch.DoubleTensor"``); CUDA types raise as on a machine without a GPU."""
    from . import _legacy_tensor_types as legacy

    warnings.warn(
        "torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
        "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
        UserWarning,
        stacklevel=2,
    )
    if isinstance(t, str):
        key = t.rsplit(".", 1)[-1]
        if t.startswith("torch.cuda."):
            raise RuntimeError(_NO_DRIVER)
        types = legacy.CPU_TYPES
        if key not in types:
            raise TypeError(f"invalid type: '{t}'")
        t = types[key]
    dtype = getattr(t, "dtype", None)
    if dtype is None:
        raise TypeError(f"invalid type: '{t}'")
    if getattr(t, "is_cuda", False):
        raise RuntimeError(_NO_DRIVER)
    if not dtype.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _C.set_default_dtype(dtype)


def set_default_device(device: Any) -> None:
    """Sets the device factory functions create on when given none: the CPU (also for
    ``None``) or ``"meta"``; an accelerator raises as PyTorch does without a GPU."""
    global _default_device
    dev = _C.device("cpu" if device is None else device)
    if dev.type not in ("cpu", "meta"):
        raise RuntimeError(_NO_DRIVER)
    _C._set_default_device_meta(dev.type == "meta")
    _default_device = dev


_default_device = _C.device("cpu")

# Devices that `with rtorch.device(...)` blocks replaced, innermost last.
_device_contexts: list[Any] = []


def get_default_device() -> Any:
    """The device factory functions create on when given none."""
    return _default_device


def _device_enter(self: Any) -> Any:
    """``with rtorch.device("meta"):`` makes it the default device inside the block."""
    _device_contexts.append(_default_device)
    set_default_device(self)
    return self


def _device_exit(self: Any, *exc: Any) -> None:
    set_default_device(_device_contexts.pop())


_C.device.__enter__ = _device_enter
_C.device.__exit__ = _device_exit


class OutOfMemoryError(RuntimeError):
    """``torch.OutOfMemoryError`` (also ``torch.cuda.OutOfMemoryError``)."""


class AcceleratorError(RuntimeError):
    """``torch.AcceleratorError``: an error reported by an accelerator."""


# ----- pinned memory -----


def _is_pinned(self: Tensor, device: Any = None) -> bool:
    return False


def _pin_memory(self: Tensor, device: Any = None) -> Tensor:
    raise RuntimeError(_NO_DRIVER)


# ----- in-place shape changes (views rebound with set_) -----


def _rebind(self: Tensor, view: Tensor) -> Tensor:
    """``self`` becomes ``view`` (a view of its own storage) in place."""
    return self.set_(view.untyped_storage(), view.storage_offset(), view.shape, view.stride())


def _squeeze_(self: Tensor, dim: Any = None) -> Tensor:
    return _rebind(self, self.squeeze() if dim is None else self.squeeze(dim))


def _unsqueeze_(self: Tensor, dim: int) -> Tensor:
    return _rebind(self, self.unsqueeze(dim))


def _t_(self: Tensor) -> Tensor:
    return _rebind(self, self.t())


def _transpose_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    return _rebind(self, self.transpose(dim0, dim1))


def _as_strided_(self: Tensor, size: Any, stride: Any, storage_offset: int | None = None) -> Tensor:
    return _rebind(self, self.as_strided(size, stride, storage_offset))


def _shape_arg(size: tuple) -> tuple[int, ...]:
    if len(size) == 1 and not isinstance(size[0], int):
        return tuple(int(s) for s in size[0])
    return tuple(int(s) for s in size)


def _resize_(self: Tensor, *size: Any, memory_format: Any = None) -> Tensor:
    """Resizes in place: the first elements (in the contiguous order) keep their values;
    growing reallocates, so the new trailing elements are uninitialized."""
    shape = _shape_arg(size)
    if any(s < 0 for s in shape):
        raise RuntimeError(
            f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}"
        )
    numel = 1
    for s in shape:
        numel *= s
    have = self.untyped_storage().nbytes() // max(self.element_size(), 1) - self.storage_offset()
    if self.is_contiguous() and numel <= have:
        contiguous = self
        offset = self.storage_offset()
    else:
        contiguous = _C.empty(max(numel, self.numel()), dtype=self.dtype)
        keep = min(numel, self.numel())
        if keep:
            contiguous[:keep] = self.reshape(-1)[:keep]
        offset = 0
    strides = []
    acc = 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= max(s, 1)
    strides.reverse()
    return self.set_(contiguous.untyped_storage(), offset, shape, tuple(strides))


def _resize_as_(self: Tensor, other: Tensor, memory_format: Any = None) -> Tensor:
    return _resize_(self, tuple(other.shape))


def _fill_diagonal_(self: Tensor, fill_value: Any, wrap: bool = False) -> Tensor:
    """Fills the main diagonal (all indices equal) in place; a tall matrix with
    ``wrap=True`` restarts the diagonal every ``columns + 1`` rows."""
    nd = self.dim()
    if nd < 2:
        raise RuntimeError("dimensions must larger than 1")
    if nd > 2 and any(s != self.shape[0] for s in self.shape):
        raise RuntimeError("all dimensions of input must be of equal length")
    n = min(self.shape)
    if nd == 2 and wrap and self.shape[0] > self.shape[1] + 1:
        rows = _C.arange(self.shape[0])
        period = self.shape[1] + 1
        rows = rows[(rows % period) < self.shape[1]]
        cols = rows % period
        self[rows, cols] = fill_value
        return self
    idx = _C.arange(n)
    self[(idx,) * nd] = fill_value
    return self


def _new(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """Legacy ``Tensor.new``: a tensor of this dtype from a size or from data."""
    dtype = kwargs.pop("dtype", self.dtype)
    if not args:
        return _C.empty(0, dtype=dtype)
    if len(args) == 1 and isinstance(args[0], Tensor):
        if args[0].dtype != dtype:
            raise TypeError(f"expected {self.type()} (got {args[0].type()})")
        return args[0]
    if len(args) == 1 and not isinstance(args[0], int) and not _is_size(args[0]):
        return _C.tensor(args[0], dtype=dtype)
    return _C.empty(_shape_arg(args), dtype=dtype)


def _is_size(obj: Any) -> bool:
    from ._size import Size

    return isinstance(obj, Size)


def _float_power_(self: Tensor, exponent: Any) -> Tensor:
    if self.dtype != _C.float64:
        raise RuntimeError(
            f"the base given to float_power_ has dtype {_scalar_name(self.dtype)} but the "
            "operation's result requires dtype Double"
        )
    return self.copy_(_C.float_power(self, exponent))


_scalar_name = scalar_name


# ----- random in-place fills composed from uniform_ -----


def _uniform_float64(self: Tensor, generator: Any) -> Tensor:
    """One float64 U(0, 1) draw per element of ``self`` (PyTorch's
    ``uniform_real_distribution<double>``, in memory order for a contiguous ``self``)."""
    return _C.empty(tuple(self.shape), dtype=_C.float64).uniform_(generator=generator)


# C++'s names of the integer types, as PyTorch's continuous-distribution errors print them.
_CPP_INT_NAMES = {_C.int64: "long int", _C.int32: "int", _C.int16: "short int",
                  _C.int8: "signed char", _C.uint8: "unsigned char", _C.bool: "bool"}  # fmt: skip


def _cauchy_(self: Tensor, median: float = 0, sigma: float = 1, *, generator: Any = None) -> Tensor:
    if not self.is_floating_point():
        raise RuntimeError(
            "Cauchy distribution is a continuous probability distribution. dtype must be a "
            f"floating point but you specified {_CPP_INT_NAMES[self.dtype]}"
        )
    if not sigma > 0.0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    # median + sigma * tan(pi * (u - 1/2)) in float64, as PyTorch (which fuses the last
    # multiply-add: with median or sigma other than 0 and 1 a value may differ by an ulp).
    u = _uniform_float64(self, generator)
    t = ((u - 0.5) * math.pi).tan()
    return self.copy_(t if (median, sigma) == (0, 1) else median + sigma * t)


def _log_normal_(self: Tensor, mean: float = 1, std: float = 2, *, generator: Any = None) -> Tensor:
    if not self.is_floating_point() and self.numel() != 0:
        raise NotImplementedError(
            f"\"log_normal_cpu\" not implemented for '{_scalar_name(self.dtype)}'"
        )
    if not std > 0.0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    # exp of PyTorch's one-at-a-time float64 normal draws: normal_ on a strided float64
    # view takes that path (a contiguous fill of 16 or more would draw by blocks).
    n = self.numel()
    draw = _C.empty((n, 2), dtype=_C.float64)[:, 0].normal_(mean, std, generator=generator)
    return self.copy_(draw.exp().reshape(tuple(self.shape)))


def _geometric_(self: Tensor, p: float, *, generator: Any = None) -> Tensor:
    """Number of Bernoulli(p) trials up to the first success (1, 2, …), by inversion:
    ``ceil(ln(u) / ln(1 - p))`` with a float64 uniform per element, as PyTorch."""
    if self.dtype == _C.bool and self.numel() != 0:
        raise NotImplementedError("\"geometric_cpu\" not implemented for 'Bool'")
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    u = _uniform_float64(self, generator)
    if not self.is_floating_point():
        # u = 0 gives an infinite count, which no integer holds.
        u = u.clamp(min=1e-300)
    return self.copy_((u.log() / math.log1p(-p)).ceil())


def _hardshrink(self: Tensor, lambd: float = 0.5) -> Tensor:
    from .nn import functional as F

    return F.hardshrink(self, lambd)


def _prelu(self: Tensor, weight: Tensor) -> Tensor:
    from .nn import functional as F

    return F.prelu(self, weight)


def _dim_order(self: Tensor, *, ambiguity_check: Any = False) -> tuple[int, ...]:
    """The dims from outermost to innermost in memory (by decreasing stride)."""
    strides = self.stride()
    return tuple(sorted(range(self.dim()), key=lambda d: (-strides[d], d)))


def _new_empty_strided(
    self: Tensor, size: Any, stride: Any, *, dtype: Any = None, device: Any = None,
    requires_grad: bool = False, **_kw: Any,
) -> Tensor:  # fmt: skip
    out = _C.empty_strided(
        tuple(size), tuple(stride), dtype=dtype or self.dtype, device=device or self.device
    )
    return out.requires_grad_(requires_grad)


def _is_set_to(self: Tensor, tensor: Tensor) -> bool:
    """True if both tensors view the same storage with the same offset, sizes and strides."""
    return (
        self.untyped_storage().data_ptr() == tensor.untyped_storage().data_ptr()
        and self.storage_offset() == tensor.storage_offset()
        and tuple(self.shape) == tuple(tensor.shape)
        and tuple(self.stride()) == tuple(tensor.stride())
    )


def chain_matmul(*matrices: Tensor, out: Tensor | None = None) -> Tensor:
    """Deprecated: the product of the matrices, left to right."""
    warnings.warn(
        "torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
        "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than "
        "multiple parameters.",
        UserWarning,
        stacklevel=2,
    )
    if len(matrices) == 1:
        result = matrices[0].clone()
    else:
        result = matrices[0]
        for m in matrices[1:]:
            result = result @ m
    return out.copy_(result) if out is not None else result


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """The indices of the nonzero elements, cut or padded with ``fill_value`` to ``size`` rows."""
    idx = _C.nonzero(input)
    if idx.shape[0] >= size:
        return idx[:size]
    pad = _C.full((size - idx.shape[0], idx.shape[1]), fill_value, dtype=idx.dtype)
    return _C.cat([idx, pad], 0)


def empty_permuted(size: Any, physical_layout: Any, *, dtype: Any = None, **kwargs: Any) -> Tensor:
    """An uninitialized tensor of ``size`` whose memory order follows ``physical_layout``
    (outermost dim first)."""
    size = tuple(size)
    layout_dims = tuple(physical_layout)
    if sorted(layout_dims) != list(range(len(size))):
        raise RuntimeError(
            f"Number of dimensions in size does not match the length of the physical_layout; "
            f"i.e. len(size) = {len(size)} is not equal to len(physical_layout) = {len(layout_dims)}"
        )
    physical = _C.empty(tuple(size[d] for d in layout_dims), dtype=dtype)
    inverse = [layout_dims.index(d) for d in range(len(size))]
    result = physical.permute(inverse)
    if kwargs.get("requires_grad"):
        result.requires_grad_(True)
    return result


def set_flush_denormal(mode: bool) -> bool:
    """Whether flushing denormals is supported (True on x86 with SSE3); rtorch's kernels
    keep IEEE semantics, so the setting is accepted and has no effect."""
    return True


def is_storage(obj: Any) -> bool:
    """True if ``obj`` is a storage object."""
    return isinstance(obj, _C.UntypedStorage)


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """``torch.set_anomaly_enabled``: see ``autograd.set_detect_anomaly``."""
    from .autograd import set_detect_anomaly

    set_detect_anomaly(enabled, check_nan)


def constant_pad_nd(input: Tensor, pad: Any, value: float = 0) -> Tensor:
    """``input`` padded with ``value`` (``pad`` as in ``F.pad``, last dimension first)."""
    from .nn import functional as F

    return F.pad(input, list(pad), value=value)


def _inplace_functional(name: str) -> Any:
    def fn(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        from .nn import functional as F

        return input.copy_(getattr(F, name)(input, *args, **kwargs))

    fn.__name__ = name + "_"
    fn.__doc__ = f"In-place ``{name}``: ``input.copy_(F.{name}(input, ...))``."
    return fn


def _vmap(*args: Any, **kwargs: Any) -> Any:
    from .func import vmap

    return vmap(*args, **kwargs)


def _rrelu_(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False
) -> Tensor:
    from .nn import functional as F

    return input.copy_(F.rrelu(input, lower, upper, training))


# ----- matrix-adjoint views and kind flags (rtorch tensors are real, dense, strided) -----


def _h(self: Tensor) -> Tensor:
    if self.dim() == 0:
        warnings.warn(
            "Tensor.H is deprecated on 0-D tensors. Consider using x.conj().",
            UserWarning,
            stacklevel=2,
        )
        return self
    if self.dim() != 2:
        hint = " For batches of matrices, consider using tensor.mH" if self.dim() > 2 else ""
        raise RuntimeError(
            "tensor.H is only supported on matrices (2-D tensors). Got "
            f"{self.dim()}-D tensor.{hint}"
        )
    return self.transpose(0, 1)


def _mh(self: Tensor) -> Tensor:
    if self.dim() < 2:
        raise RuntimeError(
            "tensor.mH is only supported on matrices or batches of matrices. Got "
            f"{self.dim()}-D tensor."
        )
    return self.transpose(-2, -1)


def _imag(self: Tensor) -> Tensor:
    raise TypeError("imag is not implemented for tensors with non-complex dtypes.")


FUNCTIONS: dict[str, Any] = {
    "compile": compile,
    "_assert": _assert,
    "layout": layout,
    "strided": strided,
    "set_default_tensor_type": set_default_tensor_type,
    "set_default_device": set_default_device,
    "get_default_device": get_default_device,
    "OutOfMemoryError": OutOfMemoryError,
    "AcceleratorError": AcceleratorError,
    "chain_matmul": chain_matmul,
    "nonzero_static": nonzero_static,
    "empty_permuted": empty_permuted,
    "set_flush_denormal": set_flush_denormal,
    "is_storage": is_storage,
    "set_anomaly_enabled": set_anomaly_enabled,
    "constant_pad_nd": constant_pad_nd,
    "alpha_dropout_": _inplace_functional("alpha_dropout"),
    "feature_alpha_dropout_": _inplace_functional("feature_alpha_dropout"),
    "rrelu_": _rrelu_,
    "vmap": _vmap,
    # Constants PyTorch exports at top level.
    "pi": math.pi,
    "e": math.e,
    "inf": math.inf,
    "nan": math.nan,
    "newaxis": None,
}

METHODS: dict[str, Any] = {
    "is_pinned": _is_pinned,
    "pin_memory": _pin_memory,
    "squeeze_": _squeeze_,
    "unsqueeze_": _unsqueeze_,
    "t_": _t_,
    "transpose_": _transpose_,
    "as_strided_": _as_strided_,
    "resize_": _resize_,
    "resize_as_": _resize_as_,
    "fill_diagonal_": _fill_diagonal_,
    "new": _new,
    "float_power_": _float_power_,
    "layout": property(_tensor_layout),
    "cauchy_": _cauchy_,
    "log_normal_": _log_normal_,
    "geometric_": _geometric_,
    "hardshrink": _hardshrink,
    "prelu": _prelu,
    "dim_order": _dim_order,
    "new_empty_strided": _new_empty_strided,
    "is_set_to": _is_set_to,
    "H": property(_h),
    "mH": property(_mh),
    "real": property(lambda self: self),
    "imag": property(_imag),
    "is_meta": property(lambda self: self.device.type == "meta"),
    "is_quantized": property(lambda self: False),
    "is_sparse": property(lambda self: False),
    "is_mkldnn": property(lambda self: False),
    "is_nested": property(lambda self: False),
    "nonzero_static": lambda self, *, size, fill_value=-1: nonzero_static(
        self, size=size, fill_value=fill_value
    ),
}
