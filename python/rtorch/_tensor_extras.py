"""Tensor methods and flags a PyTorch program can reach that the core does not provide: ``apply_``/``map_``/``map2_``, ``as_strided_scatter``, the ``is_<device>`` flags …"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

from . import _C
from ._C import Tensor

# --- apply_ / map_ / map2_ ------------------------------------------------------------------

_INT_RANGES = {
    "torch.int8": (-(2**7), 2**7 - 1),
    "torch.int16": (-(2**15), 2**15 - 1),
    "torch.int32": (-(2**31), 2**31 - 1),
    "torch.int64": (-(2**63), 2**63 - 1),
    # c10's overflow check lets an unsigned type take -max..max (negatives wrap around).
    "torch.uint8": (-255, 255),
}


def _converter(dtype: Any) -> Callable[[Any], Any]:
    """The Python value a callable's result becomes in a tensor of ``dtype``, with
    PyTorch's errors: a non-number is a TypeError, an integer out of range a
    RuntimeError, unsigned negatives wrap around."""
    name = str(dtype)

    def real(r: Any) -> Any:
        if isinstance(r, (str, bytes)) or not (
            hasattr(type(r), "__float__") or hasattr(type(r), "__index__")
        ):
            raise TypeError(f"must be real number, not {type(r).__name__}")
        return r

    def to_int(r: Any) -> int:
        # Floats truncate (inf/NaN cannot); anything else must be an integer index.
        if isinstance(r, float):
            if not math.isfinite(r):
                raise RuntimeError(
                    f"value cannot be converted to type {name.removeprefix('torch.')} "
                    "without overflow"
                )
            return int(r)
        return operator.index(r)

    if name == "torch.bool":
        return lambda r: r != 0 if isinstance(r, float) else bool(operator.index(r))
    if name in _INT_RANGES:
        lo, hi = _INT_RANGES[name]
        short = name.removeprefix("torch.")

        def integer(r: Any) -> int:
            v = to_int(r)
            if not -(2**63) <= v < 2**63:
                raise ValueError("Overflow when unpacking long long")
            if not lo <= v <= hi:
                raise RuntimeError(f"value cannot be converted to type {short} without overflow")
            return v % 256 if short == "uint8" else v

        return integer
    return lambda r: r if type(r) is float else float(real(r))


def _check_cpu_and_grad(self: Tensor, name: str) -> None:
    if self.requires_grad:
        raise RuntimeError(
            f"Can't call {name}() on Variable that requires grad. Use var.detach().{name}() "
            "instead."
        )
    if not self.is_cpu and not self.is_meta:
        raise TypeError(f"{name} is only implemented on CPU tensors")


def _memory_positions(t: Tensor) -> list[int]:
    """Each element's position in memory, in the tensor's logical (row-major) order."""
    positions = [t.storage_offset()]
    for size, stride in zip(t.shape, t.stride()):
        positions = [p + i * stride for p in positions for i in range(size)]
    return positions


def _may_overlap(t: Tensor) -> bool:
    """False when no two elements of ``t`` can share memory: each dim's stride, taken
    in increasing order, clears the span of the dims below it."""
    span = 0
    for stride, size in sorted((st, sz) for st, sz in zip(t.stride(), t.shape) if sz > 1):
        if stride <= span:
            return True
        span += (size - 1) * stride
    return False


def _elementwise(self: Tensor, others: Sequence[Tensor], fn: Callable[..., Any]) -> Tensor:
    """Calls ``fn`` on each element of ``self`` (and the matching ones of ``others``) in
    logical order and writes the results back. Elements that share memory (an expanded
    tensor) see each other's writes, as PyTorch's element loop does."""
    from . import tensor

    convert = _converter(self.dtype)
    values = self.reshape(-1).tolist()
    extra = [o.reshape(-1).tolist() for o in others]
    if not _may_overlap(self):
        if extra:
            results = [convert(fn(*args)) for args in zip(values, *extra)]
        else:
            results = [convert(fn(v)) for v in values]
        if results:
            self.copy_(tensor(results, dtype=self.dtype).reshape(self.shape))
        return self
    positions = _memory_positions(self)
    memory: dict[int, Any] = {}
    for i, p in enumerate(positions):
        current = memory.get(p, values[i])
        memory[p] = convert(fn(current, *(e[i] for e in extra)))
    # Write through a view in which no two elements share memory: the expanded
    # (stride 0) dims narrowed to their first index, which carries the final value.
    target = self
    for d, (size, stride) in enumerate(zip(self.shape, self.stride())):
        if stride == 0 and size > 1:
            target = target.narrow(d, 0, 1)
    final = [memory[p] for p in _memory_positions(target)]
    if final:
        target.copy_(tensor(final, dtype=self.dtype).reshape(target.shape))
    return self


def apply_(self: Tensor, callable: Callable[[Any], Any]) -> Tensor:
    """Replaces each element x by ``callable(x)`` (a Python float, int or bool in, the
    tensor's dtype out). CPU only; refused on tensors that require grad."""
    _check_cpu_and_grad(self, "apply_")
    if self.is_meta:
        return self
    return _elementwise(self, (), callable)


def _legacy_type(t: Tensor) -> str:
    return t.type()


def _check_operand(self: Tensor, other: Any, name: str, arg: str, position: int) -> Tensor:
    if not isinstance(other, Tensor):
        raise TypeError(
            f"{name}(): argument '{arg}' (position {position}) must be Tensor, not "
            f"{type(other).__name__}"
        )
    if other.requires_grad:
        raise RuntimeError(
            f"Can't call {name}() on Variable that requires grad. Use var.detach().{name}() "
            "instead."
        )
    if other.dtype != self.dtype:
        what = f"'{arg}'" if name == "map_" else f"argument '{arg}'"
        raise TypeError(
            f"{name}: expected {_legacy_type(self)} for {what} (got {_legacy_type(other)})"
        )
    return other.expand(*self.shape)


def map_(self: Tensor, tensor: Tensor, callable: Callable[[Any, Any], Any]) -> Tensor:
    """Replaces each element x of self by ``callable(x, y)``, y the matching element of
    ``tensor`` broadcast to self's shape (same dtype required). CPU only."""
    _check_cpu_and_grad(self, "map_")
    other = _check_operand(self, tensor, "map_", "other", 1)
    if self.is_meta:
        return self
    return _elementwise(self, (other,), callable)


def map2_(self: Tensor, x: Tensor, y: Tensor, callable: Callable[[Any, Any, Any], Any]) -> Tensor:
    """Replaces each element s of self by ``callable(s, a, b)`` with a, b the matching
    elements of ``x`` and ``y`` broadcast to self's shape. CPU only."""
    _check_cpu_and_grad(self, "map2_")
    a = _check_operand(self, x, "map2_", "x", 1)
    b = _check_operand(self, y, "map2_", "y", 2)
    if self.is_meta:
        return self
    return _elementwise(self, (a, b), callable)


# --- as_strided_scatter ---------------------------------------------------------------------


def _dense_strides(t: Tensor) -> tuple[int, ...]:
    """The strides ``t.clone()`` keeps: t's own when its elements fill their memory
    without gaps or overlap, row-major ones otherwise (PyTorch's preserve_format)."""
    dims = sorted((d for d in range(t.dim()) if t.shape[d] != 1), key=lambda d: (t.stride(d), -d))
    expected = 1
    for d in dims:
        if t.stride(d) != expected:
            break
        expected *= t.shape[d]
    else:
        return tuple(t.stride())
    strides, acc = [], 1
    for size in reversed(t.shape):
        strides.append(acc)
        acc *= max(size, 1)
    return tuple(reversed(strides))


def _linear_index(shape: Sequence[int], strides: Sequence[int], offset: int) -> Tensor:
    """int64 tensor of ``shape`` holding offset + sum(index * stride)."""
    index = _C.full(tuple(shape), offset, dtype=_C.int64)
    for d, (size, stride) in enumerate(zip(shape, strides)):
        view = [1] * len(shape)
        view[d] = size
        index = index + _C.arange(size, dtype=_C.int64).reshape(view) * stride
    return index


def as_strided_scatter(
    input: Tensor,
    src: Tensor,
    size: Sequence[int],
    stride: Sequence[int],
    storage_offset: int | None = None,
) -> Tensor:
    """A copy of ``input`` with ``src`` written into ``copy.as_strided(size, stride,
    storage_offset)``; positions are counted in the memory of input's clone, as
    PyTorch's. Differentiable in both (the overwritten elements pass no gradient to
    ``input``)."""
    size, stride = [int(s) for s in size], [int(s) for s in stride]
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError(
            f"as_strided: Negative strides are not supported at the moment, got strides: {stride}"
        )
    if tuple(src.shape) != tuple(size):
        raise RuntimeError(
            "expected src to have a size equal to the slice of self. src size = "
            f"{list(src.shape)}, slice size = {size}"
        )
    base_offset = input.storage_offset()
    offset = base_offset if storage_offset is None else int(storage_offset)
    numel = input.numel()
    if all(s > 0 for s in size):
        extent = offset - base_offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
        if extent > numel or offset < base_offset:
            item = input.element_size()
            raise RuntimeError(
                f"setStorage: sizes {size}, strides {stride}, storage offset {offset}, and "
                f"itemsize {item} requiring a storage size of {(extent + base_offset) * item} "
                f"are out of bounds for storage of size {(numel + base_offset) * item}"
            )
    else:
        return input.clone()
    targets = _linear_index(size, stride, offset - base_offset).reshape(-1)
    if _C.unique(targets).numel() != targets.numel():
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to "
            "a single memory location. Please clone() the tensor before performing the "
            "operation."
        )
    # Where each element of input lives in its clone's memory, and the inverse map.
    # The index arithmetic runs on the CPU (it is metadata); the gathers on input's device.
    where = _linear_index(input.shape, _dense_strides(input), 0).reshape(-1)
    where, order = where.to(input.device), where.argsort().to(input.device)
    targets = targets.to(input.device)
    memory = input.reshape(-1).index_select(0, order)
    memory = memory.scatter(0, targets, src.reshape(-1).to(input.dtype))
    return memory.index_select(0, where).reshape(input.shape)


# --- subclasses ----------------------------------------------------------------------------


def _make_subclass(cls: type, data: Tensor, require_grad: bool = False, **_: Any) -> Tensor:
    """``Tensor._make_subclass(cls, data, require_grad=False)``: a ``cls`` instance sharing
    ``data``'s storage (and version counter), detached from its graph; what
    ``nn.Parameter`` is built with. ``cls.__new__`` is not called."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError(
            "Creating a Tensor subclass from a class that does not inherit from Tensor is not "
            "possible. Make sure your class inherits from Tensor."
        )
    out = Tensor.__new__(cls)
    # Assigning .data rebinds the fresh instance to data's storage, layout and dtype.
    out.data = data
    if require_grad:
        out.requires_grad_(True)
    return out


# --- flags -----------------------------------------------------------------------------------


def _false(self: Tensor) -> bool:
    return False


def _output_nr(self: Tensor) -> int:
    """Which output of its grad_fn this tensor is (0 for leaves)."""
    return self._output_nr


FUNCTIONS: dict[str, Any] = {"as_strided_scatter": as_strided_scatter}
METHODS: dict[str, Any] = {
    "apply_": apply_,
    "map_": map_,
    "map2_": map2_,
    "as_strided_scatter": as_strided_scatter,
    "output_nr": property(_output_nr),
    "_make_subclass": staticmethod(_make_subclass),
}
# PyTorch's backend flags (properties): none of these backends exists in rtorch.
for _flag in ("is_xpu", "is_mps", "is_ipu", "is_mtia", "is_maia", "is_vulkan", "is_xla"):
    METHODS[_flag] = property(_false, doc=f"``{_flag}``: always False in rtorch.")
METHODS["is_sparse_csr"] = property(
    _false, doc="``is_sparse_csr``: False (rtorch has no sparse tensors)."
)
del _flag
