"""More of PyTorch's top-level math, composed from core ops: ``angle``, ``frexp``,
``renorm``, ``kaiser_window``, ``gradient``, ``cumulative_trapezoid``, ``histogram``,
``index_reduce``, ``put``, ``asarray``, ``split_with_sizes`` and a few in-place forms."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from . import _C
from ._C import Tensor
from ._dtype_info import scalar_name
from ._scatter_reduce_ops import scatter_reduce
from ._special_ops import searchsorted


def _floating(x: Tensor) -> Tensor:
    return x if x.is_floating_point() else x.to(_C.get_default_dtype())


def angle(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The argument of each element: π for negative reals, 0 otherwise (NaN stays NaN)."""
    x = _floating(input)
    result = _C.where(x < 0, _C.full_like(x, math.pi), _C.zeros_like(x))
    result = _C.where(x.isnan(), x, result)
    return out.copy_(result) if out is not None else result


def frexp(input: Tensor, *, out: Any = None) -> Any:
    """Splits ``input`` into mantissas in [0.5, 1) (by magnitude) and int32 exponents with
    ``input = mantissa * 2**exponent``; zeros, infinities and NaN keep exponent 0."""
    from .return_types import frexp as _result

    if not input.is_floating_point():
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    x = input.detach().double()
    finite = x.isfinite() & (x != 0)
    safe = _C.where(finite, x.abs(), _C.ones_like(x))
    e = safe.log2().floor() + 1
    # Scale by 2**-e in two halves so that neither factor overflows for subnormals.
    half = (e / 2).floor()
    m = x * (-half).exp2() * (half - e).exp2()
    # log2 may round across a power of two: settle the mantissa into [0.5, 1).
    high = m.abs() >= 1
    m, e = _C.where(high, m / 2, m), _C.where(high, e + 1, e)
    low = finite & (m.abs() < 0.5)
    m, e = _C.where(low, m * 2, m), _C.where(low, e - 1, e)
    mantissa = _C.where(finite, m, x).to(input.dtype)
    exponent = _C.where(finite, e, _C.zeros_like(e)).to(_C.int32)
    if out is not None:
        out[0].copy_(mantissa)
        out[1].copy_(exponent)
    return _result((mantissa, exponent))


_MANTISSA_BITS = {_C.float64: 53, _C.float32: 24, _C.float16: 11, _C.bfloat16: 8}


def nextafter(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The next representable value after ``input`` towards ``other``, elementwise."""
    from ._composite_ops import broadcast_tensors
    from ._dtype_info import finfo

    dtype = _C.result_type(input, other)
    if not dtype.is_floating_point:
        raise RuntimeError(f"\"nextafter_cpu\" not implemented for '{scalar_name(dtype)}'")
    x, y = broadcast_tensors(input.detach().to(dtype), other.detach().to(dtype))
    info = finfo(dtype)
    bits = _MANTISSA_BITS[dtype]
    x64, y64 = x.double(), y.double()
    _, e = frexp(_C.where(x64 == 0, _C.ones_like(x64), x64))
    e = e.double()
    # The gap above |x| is 2^(e - bits); just below a power of two (moving towards
    # zero from one) it is half that; never below the smallest subnormal.
    up_gap = (e - bits).exp2()
    towards_zero = (y64.abs() < x64.abs()) | ((y64 * x64) < 0)
    power_of_two = x64.abs() == (e - 1).exp2()
    gap = _C.where(towards_zero & power_of_two, up_gap / 2, up_gap)
    gap = gap.clamp(min=info.smallest_normal * info.eps)
    step = _C.where(y64 > x64, gap, -gap).to(dtype)
    result = x + step
    tiny = _C.full_like(x, info.smallest_normal * info.eps)
    result = _C.where(x == 0, _C.where(y > 0, tiny, -tiny), result)
    big = _C.full_like(x, info.max)
    result = _C.where(x.isinf() & (y.abs() < x.abs()), _C.where(x > 0, big, -big), result)
    result = _C.where(x == y, y, result)
    result = _C.where(x.isnan() | y.isnan(), _C.full_like(x, math.nan), result)
    return out.copy_(result) if out is not None else result


def _poisson_small(rate: Tensor) -> Tensor:
    """Inversion by sequential search, all elements at once (rates below 10)."""
    u = _C.rand(tuple(rate.shape), dtype=_C.float64)
    p = (-rate).exp()
    cdf = p.clone()
    k = _C.zeros_like(rate)
    step = 0
    while True:
        more = u > cdf
        if step % 8 == 0 and not bool(more.any()):
            return k
        step += 1
        k = _C.where(more, k + 1, k)
        p = p * rate / _C.where(more, k, _C.ones_like(k))
        cdf = _C.where(more, cdf + p, cdf)


def _poisson_large(rate: Tensor) -> Tensor:
    """Hormann's transformed rejection with squeeze (PTRS) for rates of at least 10,
    in rounds over the elements not yet accepted."""
    from ._C import lgamma

    slam = rate.sqrt()
    loglam = rate.log()
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)
    result = _C.zeros_like(rate)
    pending = _C.ones(tuple(rate.shape), dtype=_C.bool)
    while bool(pending.any()):
        u = _C.rand(tuple(rate.shape), dtype=_C.float64) - 0.5
        v = _C.rand(tuple(rate.shape), dtype=_C.float64)
        us = 0.5 - u.abs()
        k = ((2 * a / us + b) * u + rate + 0.43).floor()
        quick = (us >= 0.07) & (v <= vr)
        rejected = (k < 0) | ((us < 0.013) & (v > us))
        log_lhs = v.log() + invalpha.log() - (a / (us * us) + b).log()
        k_safe = k.clamp(min=0)
        log_rhs = -rate + k_safe * loglam - lgamma(k_safe + 1)
        accept = pending & (quick | (~rejected & (log_lhs <= log_rhs)))
        result = _C.where(accept, k, result)
        pending = pending & ~accept
    return result


def poisson(input: Tensor, generator: Any = None) -> Tensor:
    """Samples from Poisson distributions with the rates in ``input`` (same shape and
    dtype; no gradient flows to the rates, whose gradient is zero in PyTorch)."""
    if not input.is_floating_point():
        raise NotImplementedError(
            f"\"poisson_cpu\" not implemented for '{scalar_name(input.dtype)}'"
        )
    rate = input.detach().double()
    if not bool((rate >= 0).all()):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    small = rate < 10
    infinite = rate.isinf()
    out = _poisson_small(_C.where(small, rate, _C.zeros_like(rate)))
    if not bool(small.all()):
        large_rate = _C.where(small | infinite, _C.full_like(rate, 10.0), rate)
        out = _C.where(small, out, _poisson_large(large_rate))
    out = _C.where(infinite, rate, out)
    result = out.to(input.dtype)
    if input.requires_grad:
        # PyTorch records PoissonBackward0, whose gradient is zero.
        result = result + input * 0
    return result


def renorm(
    input: Tensor, p: float, dim: int, maxnorm: float, *, out: Tensor | None = None
) -> Tensor:
    """Each slice ``input.select(dim, i)`` whose ``p``-norm exceeds ``maxnorm`` is scaled
    down to norm ``maxnorm``."""
    if input.dim() < 2:
        raise RuntimeError(
            f"renorm: input needs at least 2 dimensions, got {input.dim()} dimensions"
        )
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = dim % input.dim()
    others = [i for i in range(input.dim()) if i != d]
    # 16-bit floats: the norms and scales in float32 (PyTorch's accumulate type), each
    # scale rounded to the input's type for the product, as PyTorch; rounding the norm to
    # the half type first moved a third of the results by an ulp.
    wide = input.float() if input.dtype in (_C.float16, _C.bfloat16) else input
    norm = wide.norm(p, dim=others, keepdim=True)
    scale = _C.where(norm > maxnorm, maxnorm / (norm + 1e-7), _C.ones_like(norm))
    result = input * scale.to(input.dtype)
    return out.copy_(result) if out is not None else result


def kaiser_window(
    window_length: int,
    periodic: bool = True,
    beta: float = 12.0,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The Kaiser window ``I0(beta sqrt(1 - (2n/N - 1)^2)) / I0(beta)``."""
    from ._bessel_ops import i0

    dtype = dtype if dtype is not None else _C.get_default_dtype()
    if not dtype.is_floating_point:
        raise RuntimeError(
            "kaiser_window expects floating point dtypes, got: "
            f"TensorOptions(dtype={str(dtype).replace('torch.', '')})"
        )
    if window_length < 0:
        raise RuntimeError(
            f"kaiser_window requires non-negative window_length, got window_length={window_length}"
        )
    if window_length == 0:
        return _C.empty(0, dtype=dtype).requires_grad_(requires_grad)
    if window_length == 1:
        return _C.ones(1, dtype=dtype).requires_grad_(requires_grad)
    n_total = window_length + 1 if periodic else window_length
    n = _C.arange(n_total, dtype=_C.float64)
    half = (n_total - 1) / 2
    ratio = (n - half) / half
    arg = beta * (1 - ratio * ratio).clamp(min=0).sqrt()
    w = i0(arg) / i0(_C.tensor(float(beta), dtype=_C.float64))
    return w[:window_length].to(dtype).requires_grad_(requires_grad)


def _axis_gradient(f: Tensor, dim: int, h: Any, edge_order: int) -> Tensor:
    """Central differences along ``dim`` (spacing a number or a coordinate tensor)."""
    n = f.shape[dim]

    def sl(a: int, b: int | None) -> Tensor:
        return f.narrow(dim, a, (b if b is not None else n) - a)

    if not isinstance(h, Tensor):
        h = float(h)
        interior = (sl(2, None) - sl(0, n - 2)) / (2 * h)
        if edge_order == 1:
            first = (sl(1, 2) - sl(0, 1)) / h
            last = (sl(n - 1, None) - sl(n - 2, n - 1)) / h
        else:
            first = (-1.5 * sl(0, 1) + 2 * sl(1, 2) - 0.5 * sl(2, 3)) / h
            last = (0.5 * sl(n - 3, n - 2) - 2 * sl(n - 2, n - 1) + 1.5 * sl(n - 1, None)) / h
        return _C.cat([first, interior, last], dim)
    x = h if h.is_floating_point() else h.to(f.dtype)  # PyTorch keeps the coordinates' dtype
    shape = [1] * f.dim()
    shape[dim] = -1
    dx = x[1:] - x[:-1]
    hl, hr = dx[:-1].reshape(shape), dx[1:].reshape(shape)
    a = -hr / (hl * (hl + hr))
    b = (hr - hl) / (hl * hr)
    c = hl / (hr * (hl + hr))
    interior = a * sl(0, n - 2) + b * sl(1, n - 1) + c * sl(2, None)
    if edge_order == 1:
        first = (sl(1, 2) - sl(0, 1)) / dx[0]
        last = (sl(n - 1, None) - sl(n - 2, n - 1)) / dx[-1]
    else:
        h1, h2 = dx[0], dx[1]
        first = (
            -(2 * h1 + h2) / (h1 * (h1 + h2)) * sl(0, 1)
            + (h1 + h2) / (h1 * h2) * sl(1, 2)
            - h1 / (h2 * (h1 + h2)) * sl(2, 3)
        )
        h1, h2 = dx[-2], dx[-1]
        last = (
            h2 / (h1 * (h1 + h2)) * sl(n - 3, n - 2)
            - (h1 + h2) / (h1 * h2) * sl(n - 2, n - 1)
            + (2 * h2 + h1) / (h2 * (h1 + h2)) * sl(n - 1, None)
        )
    return _C.cat([first, interior, last], dim)


def gradient(
    input: Tensor, *, spacing: Any = 1, dim: int | Sequence[int] | None = None, edge_order: int = 1
) -> tuple[Tensor, ...]:
    """Estimates the gradient of a function sampled at ``input`` with second-order central
    differences inside and first- or second-order (``edge_order``) one-sided differences
    at the boundaries; one tensor per dimension in ``dim`` (default: all)."""
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = (
        list(range(input.dim())) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    )
    dims = [d % input.dim() for d in dims]
    if isinstance(spacing, (list, tuple)):
        if len(spacing) != len(dims):
            raise RuntimeError(
                "torch.gradient expected spacing to be unspecified, a scalar or it's spacing and "
                f"dim arguments to have the same length, but got a spacing argument of length "
                f"{len(spacing)} and a dim argument of length {len(dims)}."
            )
        spacings = list(spacing)
    else:
        spacings = [spacing] * len(dims)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError(
                "torch.gradient expected each dimension size to be at least edge_order+1"
            )
    f = _floating(input)
    return tuple(_axis_gradient(f, d, h, edge_order) for d, h in zip(dims, spacings))


def cumulative_trapezoid(
    y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1
) -> Tensor:
    """Cumulative trapezoidal rule along ``dim`` (sample spacing ``dx`` or coordinates ``x``)."""
    y = _floating(y)
    n = y.shape[dim]
    if n == 0:
        return y.narrow(dim, 0, 0)
    avg = (y.narrow(dim, 1, n - 1) + y.narrow(dim, 0, n - 1)) / 2
    if x is not None:
        widths = x.narrow(-1 if x.dim() == 1 else dim, 1, n - 1) - x.narrow(
            -1 if x.dim() == 1 else dim, 0, n - 1
        )
        if x.dim() == 1:
            shape = [1] * y.dim()
            shape[dim] = n - 1
            widths = widths.reshape(shape)
        avg = avg * widths
    elif dx is not None:
        avg = avg * dx
    return avg.cumsum(dim)


def histogram(
    input: Tensor,
    bins: int | Tensor,
    *,
    range: tuple[float, float] | None = None,
    weight: Tensor | None = None,
    density: bool = False,
    out: Any = None,
) -> Any:
    """Histogram of ``input``: ``bins`` equal bins over ``range`` (default: the data's
    min and max) or the given bin edges; the last bin includes its right edge. Returns
    ``(hist, bin_edges)`` (PyTorch computes it as a one-dimensional ``histogramdd``)."""
    from .return_types import histogram as _result

    w = weight.reshape(-1) if weight is not None and weight.shape == input.shape else weight
    hist, (edges,) = histogramdd(
        input.reshape(-1, 1), [bins], range=range, weight=w, density=density
    )
    if out is not None:
        out[0].copy_(hist)
        out[1].copy_(edges)
    return _result((hist, edges))


_C_TYPE_NAMES = {_C.float64: "double", _C.float32: "float", _C.float16: "c10::Half",
                 _C.bfloat16: "c10::BFloat16"}  # fmt: skip


def _cpp_number(v: float) -> str:
    """A double as C++'s default stream prints it (PyTorch's messages)."""
    return f"{v:g}"


def _uniform_bin_edges(column: Tensor, bins: int, bounds: Any, dim: int) -> Tensor:
    """``bins`` equal bins over ``bounds`` (default: the column's min and max; a bin of
    width one around a single value)."""
    if bins <= 0:
        raise RuntimeError(
            f"torch.histogram(): bins must be > 0, but got {bins} for dimension {dim}"
        )
    if bounds is not None:
        lo, hi = float(bounds[0]), float(bounds[1])
    elif column.numel():
        lo, hi = float(column.min()), float(column.max())
    else:
        lo, hi = 0.0, 1.0
    if lo > hi:
        raise RuntimeError(
            f"torch.histogramdd: min should not exceed max, but got min {_cpp_number(lo)} max "
            f"{_cpp_number(hi)} for dimension {dim}"
        )
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(
            f"torch.histogramdd: dimension {dim}'s range [{_cpp_number(lo)}, "
            f"{_cpp_number(hi)}] is not finite"
        )
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return _C.linspace(lo, hi, bins + 1, dtype=column.dtype)


def histogramdd(
    input: Tensor,
    bins: int | Sequence[int] | Sequence[Tensor],
    *,
    range: Sequence[float] | None = None,
    weight: Tensor | None = None,
    density: bool = False,
    out: Any = None,
) -> Any:
    """Histogram of the points in the rows of ``input`` (its last dim holds the D
    coordinates): per dimension ``bins`` equal bins over ``range`` (D pairs, flattened;
    default the data's min and max) or the given edges; each last bin includes its right
    edge, points outside every bin are dropped. Returns ``(hist, bin_edges)``, ``hist`` of
    shape (bins_0, ..., bins_{D-1}) and one edge tensor per dimension."""
    from .return_types import histogramdd as _result

    if input.dtype not in (_C.float32, _C.float64):
        raise NotImplementedError(
            f"\"histogramdd\" not implemented for '{scalar_name(input.dtype)}'"
        )
    if input.dim() < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions")
    D = input.shape[-1]
    points = input.detach().reshape(-1, D)
    spec = [bins] * D if isinstance(bins, int) else list(bins)
    if len(spec) != D:
        raise RuntimeError(
            "histogramdd: The size of bins must be equal to the innermost dimension of the input."
        )
    if any(isinstance(b, Tensor) for b in spec) and not all(isinstance(b, Tensor) for b in spec):
        raise TypeError("histogramdd(): argument 'bins' must be an int, a tuple of ints or a "
                        "tuple of Tensors")  # fmt: skip
    if range is not None and len(range) != 2 * D:
        raise RuntimeError(
            f"torch.histogramdd: for a {D}-dimensional histogram range should have {2 * D} "
            f"elements, but got {len(range)}"
        )
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape[:-1]):
            raise RuntimeError(
                "torch.histogramdd: if weight tensor is provided it should have the same shape "
                "as the input tensor excluding its innermost dimension, but got input with shape "
                f"{list(input.shape)} and weight with shape {list(weight.shape)}"
            )
        if weight.dtype != input.dtype:
            raise RuntimeError(
                "torch.histogramdd: if weight tensor is provided, input tensor and weight tensor "
                f"should have the same dtype, but got input({_C_TYPE_NAMES[input.dtype]}), and "
                f"weight({_C_TYPE_NAMES.get(weight.dtype, weight.dtype)})"
            )
    edges = []
    for d, b in enumerate(spec):
        if isinstance(b, Tensor):
            if b.dtype != input.dtype:
                raise RuntimeError(
                    "torch.histogramdd: input tensor and bins tensors should have the same "
                    f"dtype, but got input with dtype {_C_TYPE_NAMES[input.dtype]} and bins for "
                    f"dimension {d} with dtype {_C_TYPE_NAMES.get(b.dtype, b.dtype)}"
                )
            edges.append(b.detach())
        else:
            bounds = None if range is None else range[2 * d : 2 * d + 2]
            edges.append(_uniform_bin_edges(points[:, d], int(b), bounds, d))
    counts = [e.numel() - 1 for e in edges]
    flat = _C.zeros(points.shape[0], dtype=_C.int64)
    inside = _C.ones(points.shape[0], dtype=_C.bool)
    for d, (e, n) in enumerate(zip(edges, counts)):
        col = points[:, d]
        idx = searchsorted(e, col, right=True) - 1
        # The last bin is closed on the right.
        idx = _C.where(col == e[-1], _C.full_like(idx, n - 1), idx)
        inside = inside & (idx >= 0) & (idx < n)
        flat = flat * max(n, 1) + idx.clamp(0, max(n - 1, 0))
    w = (
        weight.detach().reshape(-1)
        if weight is not None
        else _C.ones(points.shape[0], dtype=input.dtype)
    )
    w = _C.where(inside, w, _C.zeros_like(w))
    total = math.prod(counts)
    hist = _C.zeros(total, dtype=input.dtype).index_add(0, flat, w).reshape(counts)
    if density:
        volume = _C.ones((), dtype=input.dtype)
        for e in edges:
            volume = volume.unsqueeze(-1) * (e[1:] - e[:-1])
        hist = hist / (hist.sum() * volume)
    if out is not None:
        out[0].copy_(hist)
        for o, e in zip(out[1], edges):
            o.copy_(e)
    return _result((hist, tuple(edges)))


def index_reduce(
    input: Tensor,
    dim: int,
    index: Tensor,
    source: Tensor,
    reduce: str,
    *,
    include_self: bool = True,
    out: Tensor | None = None,
) -> Tensor:
    """Reduces the slices of ``source`` into ``input`` at the positions ``index`` gives along
    ``dim`` (``reduce``: prod, mean, amax or amin), with gradients as scatter_reduce."""
    warnings.warn(
        "index_reduce() is in beta and the API may change at any time.", UserWarning, stacklevel=2
    )
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(
            f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}."
        )
    if index.dim() > 1:
        raise IndexError("index_reduce_(): Index is supposed to be a vector")
    d = dim % max(source.dim(), 1)
    shape = [1] * source.dim()
    if source.dim():
        shape[d] = -1
        expanded = index.reshape(shape).expand(source.shape)
    else:
        expanded = index.reshape(())
    result = scatter_reduce(input, d, expanded, source, reduce, include_self=include_self)
    return out.copy_(result) if out is not None else result


def _index_reduce_(
    self: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *, include_self: bool = True
) -> Tensor:
    return self.copy_(index_reduce(self, dim, index, source, reduce, include_self=include_self))


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``source``'s values written (or added, ``accumulate``) at
    the flat positions ``index`` (of ``input`` viewed as 1-D; negative indices wrap)."""
    n = input.numel()
    flat_index = index.reshape(-1)
    if flat_index.numel():
        lo, hi = int(flat_index.min()), int(flat_index.max())
        bad = hi if hi >= n else lo if lo < -n else None
        if bad is not None:
            raise IndexError(
                f"out of range: tried to access index {bad} on a tensor of {n} elements."
            )
    flat_index = _C.where(flat_index < 0, flat_index + n, flat_index)
    flat = input.reshape(-1)
    out = flat.index_put((flat_index,), source.reshape(-1), accumulate)
    return out.reshape(input.shape)


def _put_(self: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    return self.copy_(put(self, index, source, accumulate))


def asarray(
    obj: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    copy: bool | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """``obj`` as a tensor, sharing memory with a tensor or NumPy array when possible
    (``copy=False`` forbids copying, ``copy=True`` always copies)."""
    import numpy as np

    if isinstance(obj, Tensor):
        result = obj
        if dtype is not None and dtype != obj.dtype:
            if copy is False:
                raise ValueError("can't alias tensor with a different dtype without copying")
            result = obj.to(dtype)
        elif copy:
            result = obj.clone()
    elif isinstance(obj, np.ndarray) and copy is not True:
        result = _C.from_numpy(obj)
        if dtype is not None and dtype != result.dtype:
            if copy is False:
                raise ValueError("can't alias NumPy array with a different dtype without copying")
            result = result.to(dtype)
    else:
        result = _C.tensor(obj, dtype=dtype) if dtype is not None else _C.tensor(obj)
    if requires_grad:
        result = result.requires_grad_(True)
    return result


def split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    """Splits ``input`` along ``dim`` into pieces of the given sizes (they must sum to it)."""
    total = sum(split_sizes)
    if total != input.shape[dim]:
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {input.shape[dim]} (input "
            f"tensor's size at dimension {dim}), but got split_sizes={list(split_sizes)}"
        )
    return tuple(input.split(list(split_sizes), dim))


def _method(fn: Any) -> Any:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        return fn(self, *args, **kwargs)

    method.__name__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


FUNCTIONS: dict[str, Any] = {
    "angle": angle,
    "frexp": frexp,
    "nextafter": nextafter,
    "poisson": poisson,
    "renorm": renorm,
    "kaiser_window": kaiser_window,
    "gradient": gradient,
    "cumulative_trapezoid": cumulative_trapezoid,
    "histogram": histogram,
    "histogramdd": histogramdd,
    "index_reduce": index_reduce,
    "put": put,
    "asarray": asarray,
    "split_with_sizes": split_with_sizes,
    "unsafe_split": lambda input, split_size, dim=0: tuple(input.split(split_size, dim)),
    "unsafe_chunk": lambda input, chunks, dim=0: tuple(input.chunk(chunks, dim)),
    "unsafe_split_with_sizes": split_with_sizes,
    "gcd_": lambda input, other: input.gcd_(other),
    "lcm_": lambda input, other: input.lcm_(other),
    "ldexp_": lambda input, other: input.ldexp_(other),
}


def _dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    from .nn import functional as F

    return F.dropout(input, p, train, inplace=True)


FUNCTIONS["dropout_"] = _dropout_

METHODS: dict[str, Any] = {
    "angle": _method(angle),
    "frexp": _method(frexp),
    "nextafter": _method(nextafter),
    "nextafter_": lambda self, other: self.copy_(nextafter(self, other)),
    "renorm": _method(renorm),
    "renorm_": lambda self, p, dim, maxnorm: self.copy_(renorm(self, p, dim, maxnorm)),
    "histogram": _method(histogram),
    "index_reduce": _method(index_reduce),
    "index_reduce_": _index_reduce_,
    "put": _method(put),
    "put_": _put_,
    "split_with_sizes": _method(split_with_sizes),
    "unsafe_split": FUNCTIONS["unsafe_split"],
    "unsafe_chunk": FUNCTIONS["unsafe_chunk"],
    "unsafe_split_with_sizes": _method(split_with_sizes),
}
