"""Special functions and other PyTorch functions written as compositions of core ops.

Their gradients come from the composition. (The gamma family itself, lgamma, digamma
and polygamma, is in the core: ``cpu/gamma.rs``.) Everything is
vectorised: the only Python loops run over a fixed number of series terms or over
dimensions, never over elements.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from . import _C
from ._C import Tensor
from ._dtype_info import scalar_name
from .autograd.function import Function


def _float_input(x: Tensor | float) -> Tensor:
    """``x`` as a floating tensor (integers and bools promote to the default dtype)."""
    if not isinstance(x, Tensor):
        return _C.tensor(float(x))
    return x if x.is_floating_point() else x.to(_C.get_default_dtype())


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma of dimension ``p`` (``torch.mvlgamma``)."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = _float_input(input)
    if bool((x <= (p - 1) / 2).any()):
        raise RuntimeError("All elements must be greater than (p-1)/2")
    # All p terms at once, as PyTorch does: a p too large to allocate raises
    # ("not enough memory") instead of looping p times.
    halves = _C.arange(p, dtype=x.dtype) / 2
    return _C.lgamma(x.unsqueeze(-1) - halves).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)


# ----- logistic and log-space helpers -----


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """log(x / (1 - x)), with ``x`` clamped to [eps, 1 - eps] when ``eps`` is given."""
    x = _float_input(input)
    if eps is not None:
        x = x.clamp(eps, 1 - eps)
    return (x / (-x + 1)).log()


def xlogy(input: Tensor | float, other: Tensor | float) -> Tensor:
    """x * log(y), 0 where x == 0 (unless y is nan) (``torch.xlogy``)."""
    if not isinstance(input, Tensor):
        input = _C.tensor(input, dtype=other.dtype if other.is_floating_point() else None)
    if not isinstance(other, Tensor):
        other = _C.tensor(other, dtype=input.dtype if input.is_floating_point() else None)
    x, y = _float_input(input), _float_input(other)
    dtype = _C.result_type(x, y)
    from ._composite_ops import broadcast_tensors

    x, y = broadcast_tensors(x.to(dtype), y.to(dtype))
    return _XLogY.apply(x, y, False)


class _XLogY(Function):
    """``x * log(y)`` (``x * log1p(y)`` when ``log1p``), 0 where x == 0 unless y is NaN,
    with PyTorch's gradients: dx = xlogy(g, y), zero where x == 0 and y <= 0 (-1), and
    dy = g x / y (/ (1 + y)). Composed with ``where``, x == 0 got no gradient at all."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, y: Tensor, log1p: bool) -> Tensor:
        prod = x * (y.log1p() if log1p else y.log())
        ctx.save_for_backward(x, y)
        ctx.log1p = log1p
        return _C.where((x == 0) & ~y.isnan(), _C.zeros_like(prod), prod)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        x, y = ctx.saved_tensors
        log1p = ctx.log1p
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = _XLogY.apply(g, y, log1p)
            cut = (x == 0) & (y <= (-1 if log1p else 0))
            gx = _C.where(cut, _C.zeros_like(gx), gx)
        if ctx.needs_input_grad[1]:
            gy = g * x / ((1 + y) if log1p else y)
        return gx, gy, None


def sinc(input: Tensor) -> Tensor:
    """sin(πx)/(πx), 1 at 0 (``torch.sinc``)."""
    x = _float_input(input)
    dtype = x.dtype
    # Half types compute in float32 and round once (PyTorch's opmath): π x rounded to
    # bfloat16 first would leave sinc(1) at 3e-4 instead of ~0.
    if dtype in (_C.float16, _C.bfloat16):
        x = x.float()
    px = math.pi * x
    safe = _C.where(x == 0, _C.ones_like(px), px)
    return _C.where(x == 0, _C.ones_like(px), safe.sin() / safe).to(dtype)


def logaddexp2(input: Tensor, other: Tensor) -> Tensor:
    """log₂(2ˣ + 2ʸ) without overflow."""
    ln2 = math.log(2)
    return _C.logaddexp(input * ln2, other * ln2) / ln2


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """log(cumsum(exp(x))) along ``dim``, a running log-add-exp (one Rust scan)."""
    return _C._logcumsumexp(input, dim)


def deg2rad(input: Tensor) -> Tensor:
    return _float_input(input) * (math.pi / 180)


def rad2deg(input: Tensor) -> Tensor:
    return _float_input(input) * (180 / math.pi)


def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """0 for x < 0, ``values`` at 0, 1 for x > 0."""
    if input.dtype != values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes")
    zero = _C.zeros_like(input)
    out = _C.where(input > 0, _C.ones_like(input), zero)
    return _C.where(input == 0, values.expand_as(out) if values.dim() else values + zero, out)


def signbit(input: Tensor) -> Tensor:
    """True where the sign bit is set (so -0.0 too)."""
    if input.is_floating_point():
        return (input < 0) | ((input == 0) & ((1.0 / input) < 0))
    return input < 0


def sgn(input: Tensor) -> Tensor:
    return input.sign()


def positive(input: Tensor) -> Tensor:
    if input.dtype == _C.bool:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def ravel(input: Tensor) -> Tensor:
    return input.reshape(-1)


def rsub(input: Tensor, other: Tensor | float, *, alpha: float = 1) -> Tensor:
    """other - alpha * input."""
    if isinstance(other, Tensor):
        return _C.sub(other, input, alpha=alpha)
    if alpha == 1 and not isinstance(alpha, bool):
        # `other - input` with the number in a register (no tensor of it is filled).
        return input.__rsub__(other)
    # (The number filled in the result's dtype: int64 input and 1.5 give float32.)
    full = _C.full_like(input, other, dtype=_C.result_type(input, other))
    return _C.sub(full, input, alpha=alpha)


def scalar_tensor(
    s: float, *, dtype: Any = None, device: Any = None, requires_grad: bool = False, **_kw: Any
) -> Tensor:
    return _C.tensor(
        float(s) if dtype is None else s,
        dtype=dtype or _C.get_default_dtype(),
        device=device,
        requires_grad=requires_grad,
    )


# ----- linear algebra and shapes -----


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product (``torch.kron``)."""
    nd = max(input.dim(), other.dim())
    a = input.reshape((1,) * (nd - input.dim()) + tuple(input.shape))
    b = other.reshape((1,) * (nd - other.dim()) + tuple(other.shape))
    ia = [d for i in range(nd) for d in (a.shape[i], 1)]
    ib = [d for i in range(nd) for d in (1, b.shape[i])]
    out = a.reshape(ia) * b.reshape(ib)
    return out.reshape([a.shape[i] * b.shape[i] for i in range(nd)])


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotation by 90° k times in the plane ``dims`` (``torch.rot90``)."""
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.dim() < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.dim()}")
    d0, d1 = dims[0] % input.dim(), dims[1] % input.dim()
    if d0 == d1:
        raise RuntimeError(
            f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}"
        )
    k %= 4
    if k == 1:
        return input.flip(d1).transpose(d0, d1)
    if k == 2:
        return input.flip(d0, d1)
    if k == 3:
        return input.flip(d0).transpose(d0, d1)
    return input.clone()


def tensordot(a: Tensor, b: Tensor, dims: Any = 2, out: Tensor | None = None) -> Tensor:
    """Contracts ``dims`` of ``a`` with ``dims`` of ``b`` (``torch.tensordot``)."""
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da = list(range(a.dim() - dims, a.dim()))
        db = list(range(dims))
    elif isinstance(dims, Tensor):
        return tensordot(a, b, dims.tolist(), out=out)
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
    da = [d % a.dim() for d in da]
    db = [d % b.dim() for d in db]
    fa = [d for d in range(a.dim()) if d not in da]
    fb = [d for d in range(b.dim()) if d not in db]
    k = math.prod(a.shape[d] for d in da)
    am = a.permute(fa + da).reshape(math.prod(a.shape[d] for d in fa), k)
    bm = b.permute(db + fb).reshape(k, math.prod(b.shape[d] for d in fb))
    res = (am @ bm).reshape([a.shape[d] for d in fa] + [b.shape[d] for d in fb])
    if out is not None:
        return out.copy_(res)
    return res


def diff(
    input: Tensor,
    n: int = 1,
    dim: int = -1,
    prepend: Tensor | None = None,
    append: Tensor | None = None,
) -> Tensor:
    """The n-th forward difference along ``dim`` (``torch.diff``)."""
    if input.dim() == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    parts = [t for t in (prepend, input, append) if t is not None]
    x = _C.cat(parts, dim) if len(parts) > 1 else input
    for _ in range(n):
        size = x.shape[dim]
        a, b = x.narrow(dim, 1, max(size - 1, 0)), x.narrow(dim, 0, max(size - 1, 0))
        x = a.logical_xor(b) if x.dtype == _C.bool else a - b
    return x


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The 3-vector cross product along ``dim`` (the first size-3 dim by default)."""
    from ._composite_ops import broadcast_shapes

    shape = broadcast_shapes(input.shape, other.shape)
    a, b = input.expand(shape), other.expand(shape)
    if dim is None:
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    if shape[dim] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[dim]} and {b.shape[dim]}"
        )
    a0, a1, a2 = a.unbind(dim)
    b0, b1, b2 = b.unbind(dim)
    return _C.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], dim)


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``input.narrow(dim, start, length)`` copied into a new contiguous tensor."""
    return input.narrow(dim, start, length).contiguous().clone()


_CDIST_MODES = {
    None: 0,
    "use_mm_for_euclid_dist_if_necessary": 0,
    "use_mm_for_euclid_dist": 1,
    "donot_use_mm_for_euclid_dist": 2,
}


def _euclidean_dist(x1: Tensor, x2: Tensor) -> Tensor:
    """Euclidean distances by one matrix product, as PyTorch's ``_euclidean_dist``:
    ``[-2 x1, |x1|^2, 1] @ [x2, 1, |x2|^2]^T``, clamped at 0 (rounding can make a
    square slightly negative), then the square root. The square root is taken of 1
    where the square is 0, so that its gradient there is 0 as PyTorch's (not 0 * inf)."""
    n1 = (x1 * x1).sum(-1, keepdim=True)
    n2 = (x2 * x2).sum(-1, keepdim=True)
    a = _C.cat([x1 * -2, n1, _C.ones_like(n1)], -1)
    b = _C.cat([x2, _C.ones_like(n2), n2], -1)
    sq = (a @ b.transpose(-1, -2)).clamp_min(0)
    positive = sq > 0
    return _C.where(positive, _C.where(positive, sq, 1.0).sqrt(), 0.0)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str | None = None) -> Tensor:
    """Pairwise p-norm distances between the rows of ``x1`` and ``x2``."""
    if x1.dim() < 2 or x2.dim() < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.dim()}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(
            f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}"
        )
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    mode = _CDIST_MODES[compute_mode]
    if p == 2 and (mode == 1 or (mode == 0 and (x1.shape[-2] > 25 or x2.shape[-2] > 25))):
        return _euclidean_dist(x1, x2)
    d = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    if p == 0:
        return (d != 0).sum(-1).to(d.dtype)
    if math.isinf(p):
        return d.abs().amax(-1)
    # The norm's gradient is 0 at a zero distance (sqrt of a sum would give NaN there).
    return d.norm(p=p, dim=-1)


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The p-norm of ``input - other``."""
    return _C.norm(input - other, p)


def cov(
    input: Tensor,
    *,
    correction: int = 1,
    fweights: Tensor | None = None,
    aweights: Tensor | None = None,
) -> Tensor:
    """Covariance of the variables (rows) over the observations (columns)."""
    if input.dim() > 2:
        raise RuntimeError(
            f"cov(): expected input to have two or fewer dimensions but got an input with {input.dim()} dimensions"
        )
    x = input if input.dim() == 2 else input.reshape(1, -1)
    x = x if x.is_floating_point() else x.to(_C.get_default_dtype())
    n = x.shape[1]
    w = None
    if fweights is not None:
        w = fweights.to(x.dtype)
    if aweights is not None:
        w = aweights.to(x.dtype) if w is None else w * aweights.to(x.dtype)
    if w is None:
        avg = x.mean(1, keepdim=True)
        wsum = float(n)
        norm = wsum - correction
        xc = x - avg
        c = xc @ xc.t()
    else:
        wsum_t = w.sum()
        avg = (x * w).sum(1, keepdim=True) / wsum_t
        if aweights is None or correction == 0:
            norm = wsum_t - correction
        else:
            norm = wsum_t - correction * (w * aweights.to(x.dtype)).sum() / wsum_t
        xc = x - avg
        c = (xc * w) @ xc.t()
    c = c / norm
    return c.squeeze() if input.dim() < 2 else c


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows."""
    c = cov(input)
    if c.dim() == 0:
        return c / c
    d = c.diagonal().sqrt()
    c = c / d.unsqueeze(1) / d.unsqueeze(0)
    return c.clamp(-1, 1)


def matrix_power(input: Tensor, n: int) -> Tensor:
    """``input`` multiplied by itself ``n`` times (inverse for negative n)."""
    if input.dim() < 2 or input.shape[-1] != input.shape[-2]:
        raise RuntimeError(
            "linalg.matrix_power: A must be batches of square matrices, but they are "
            f"{input.shape[-2]} by {input.shape[-1]} matrices"
        )
    if n < 0:
        from . import linalg

        return matrix_power(linalg.inv(input), -n)
    eye = _C.eye(input.shape[-1], dtype=input.dtype).expand(input.shape)
    result, base = None, input
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return eye.clone() if result is None else result


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (0-d, 1-d or 2-d) placed along a diagonal."""
    mats = []
    for t in tensors:
        if t.dim() > 2:
            raise RuntimeError(
                f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {len(mats)} has {t.dim()} dimensions"
            )
        mats.append(t.reshape(1, -1) if t.dim() < 2 else t)
    if not mats:
        return _C.zeros(1, 0)
    dtype = mats[0].dtype
    for m in mats[1:]:
        dtype = _C.promote_types(dtype, m.dtype)
    cols = sum(m.shape[1] for m in mats)
    c = 0
    rows_out = []
    for m in mats:
        h, w = m.shape
        left = _C.zeros(h, c, dtype=dtype)
        right = _C.zeros(h, cols - c - w, dtype=dtype)
        rows_out.append(_C.cat([left, m.to(dtype), right], 1))
        c += w
    return _C.cat(rows_out, 0)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """All combinations of one element from each 1-d tensor."""
    if len(tensors) == 1:
        return tensors[0]
    from ._composite_ops import meshgrid

    grids = meshgrid(*tensors, indexing="ij")
    return _C.stack([g.reshape(-1) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """Length-``r`` combinations of the elements of a 1-d tensor."""
    if input.dim() != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return _C.empty(0, dtype=input.dtype)
    gen = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = list(gen(range(input.shape[0]), r))
    if not idx:
        return _C.empty(0, r, dtype=input.dtype)
    return input[_C.tensor(idx, dtype=_C.int64)]


def _tri_indices(row: int, col: int, offset: int, lower: bool, dtype: Any) -> Tensor:
    r = _C.arange(row).unsqueeze(1)
    c = _C.arange(col).unsqueeze(0)
    mask = (c - r <= offset) if lower else (c - r >= offset)
    rr, cc = r.expand(row, col)[mask], c.expand(row, col)[mask]
    return _C.stack([rr, cc]).to(dtype)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, **_kw: Any) -> Tensor:
    return _tri_indices(row, col, offset, True, dtype or _C.int64)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, **_kw: Any) -> Tensor:
    return _tri_indices(row, col, offset, False, dtype or _C.int64)


def searchsorted(
    sorted_sequence: Tensor,
    input: Tensor | float,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
    sorter: Tensor | None = None,
) -> Tensor:
    """Insertion points of ``input`` into the innermost dim of ``sorted_sequence``."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(
                f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}"
            )
        if right and side == "left":
            raise RuntimeError(
                "torch.searchsorted(): side and right can't be set to opposites, got side of left while right was True"
            )
        right = side == "right"
    seq = sorted_sequence
    if sorter is not None:
        seq = seq.gather(-1, sorter)
    values = input if isinstance(input, Tensor) else _C.tensor(input)
    if seq.dim() > 1 and tuple(seq.shape[:-1]) != tuple(values.shape[:-1]):
        raise RuntimeError(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions "
            "of boundaries tensor and input value tensor must match"
        )
    # Compared in the promoted dtype (an int64 sequence searched for 2.5 compares floats).
    dtype = _C.result_type(seq, values)
    out = _C._searchsorted(seq.detach().to(dtype), values.detach().to(dtype), right)
    return out.to(_C.int32) if out_int32 else out


def bucketize(
    input: Tensor | float, boundaries: Tensor, *, out_int32: bool = False, right: bool = False
) -> Tensor:
    """Bucket index of each value for 1-d ``boundaries`` (``torch.bucketize``)."""
    if boundaries.dim() != 1:
        raise RuntimeError(
            f"boundaries tensor must be 1 dimension, but got dim({boundaries.dim()})"
        )
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Counts of each value of a non-negative 1-d integer tensor."""
    if input.dim() != 1:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if input.is_floating_point() or input.dtype == _C.bool:
        raise RuntimeError(
            f"\"bincount_cpu\" not implemented for '{str(input.dtype).split('.')[1].capitalize()}'"
        )
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is None:
        return _C._bincount(input, minlength)
    if input.numel() and bool((input < 0).any()):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    n = max(int(input.max().item()) + 1 if input.numel() else 0, minlength)
    idx = input.to(_C.int64)
    wd = weights.dtype if weights.is_floating_point() else _C.float64
    if weights.dtype == _C.float32:
        wd = _C.float32
    else:
        wd = _C.float64
    return _C.zeros(n, dtype=wd).index_add(0, idx, weights.to(wd))


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Histogram with ``bins`` equal bins over [min, max] (the data range when equal)."""
    if not input.is_floating_point():
        raise RuntimeError(f"\"histogram_cpu\" not implemented for '{scalar_name(input.dtype)}'")
    if bins <= 0:
        raise RuntimeError("torch.histc(): bins must be > 0")
    lo, hi = float(min), float(max)
    x = input.reshape(-1).detach()
    if lo == hi and x.numel():
        lo, hi = float(x.min().item()), float(x.max().item())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError("torch.histc(): max must be larger than min")
    if x.dtype in (_C.float32, _C.float64) and x.device.type == "cpu":
        return _C._histc(x, bins, lo, hi)
    keep = (x >= lo) & (x <= hi)
    x = x[keep]
    idx = ((x - lo) * (bins / (hi - lo))).to(_C.int64).clamp(0, bins - 1)
    return _C.zeros(bins, dtype=input.dtype).index_add(0, idx, _C.ones_like(x))


def trapezoid(
    y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1
) -> Tensor:
    """Trapezoid-rule integral of ``y`` along ``dim``."""
    n = y.shape[dim]
    if n == 0:
        return y.sum(dim) * 0
    if x is not None:
        left, right = y.narrow(dim, 0, n - 1), y.narrow(dim, 1, n - 1)
        d = diff(x, dim=dim if x.dim() > 1 else -1)
        if x.dim() == 1 and y.dim() > 1:
            shape = [1] * y.dim()
            shape[dim] = n - 1
            d = d.reshape(shape)
        return ((left + right) * d).sum(dim) / 2
    # PyTorch's formula for a constant spacing (the same bits, and NaN where an
    # infinite end cancels, as there).
    ends = y.select(dim, 0) + y.select(dim, -1)
    return (y.sum(dim) - ends * 0.5) * (1.0 if dx is None else dx)


def trapz(y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    return trapezoid(y, x, dx=dx, dim=dim)


def msort(input: Tensor) -> Tensor:
    return input.sort(0).values


def _split_dims(name: str, dim: int, min_dim: int):
    def f(input: Tensor, indices_or_sections: Any) -> tuple:
        if input.dim() < min_dim:
            raise RuntimeError(
                f"torch.{name} requires a tensor with at least {min_dim} dimension, but got a tensor with {input.dim()} dimensions!"
            )
        d = dim if input.dim() > 1 or name != "hsplit" else 0
        if isinstance(indices_or_sections, int) and input.shape[d] % indices_or_sections != 0:
            raise RuntimeError(
                f"torch.{name} attempted to split along dimension {d}, but the size of the dimension "
                f"{input.shape[d]} is not divisible by the split_size {indices_or_sections}!"
            )
        return _C.tensor_split(input, indices_or_sections, d)

    f.__name__ = name
    return f


hsplit = _split_dims("hsplit", 1, 1)
vsplit = _split_dims("vsplit", 0, 2)
dsplit = _split_dims("dsplit", 2, 3)


def atleast_3d(*tensors: Any) -> Any:
    def one(t: Tensor) -> Tensor:
        if t.dim() == 0:
            return t.reshape(1, 1, 1)
        if t.dim() == 1:
            return t.reshape(1, -1, 1)
        if t.dim() == 2:
            return t.unsqueeze(-1)
        return t

    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(one(t) for t in tensors[0])
    return one(tensors[0]) if len(tensors) == 1 else tuple(one(t) for t in tensors)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    return _C.cat(list(atleast_3d(list(tensors))), 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    cols = [t.reshape(-1, 1) if t.dim() <= 1 else t for t in tensors]
    return _C.cat(cols, 1)


def row_stack(tensors: Sequence[Tensor]) -> Tensor:
    return _C.vstack(tensors)


# ----- predicates and complex-number no-ops on real tensors -----


def is_nonzero(input: Tensor) -> bool:
    if input.numel() == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if input.numel() > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item())


def is_same_size(input: Tensor, other: Tensor) -> bool:
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input: Tensor) -> bool:
    return input.dtype not in (_C.uint8, _C.bool)


def is_complex(input: Tensor) -> bool:
    return False


def is_conj(input: Tensor) -> bool:
    return False


def is_neg(input: Tensor) -> bool:
    return False


def isreal(input: Tensor) -> Tensor:
    return _C.ones_like(input, dtype=_C.bool)


def _identity(input: Tensor) -> Tensor:
    return input


def _inplace(fn):
    """The in-place form of an out-of-place composite: computes, then copies back."""

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return self.copy_(fn(self, *args, **kwargs))

    method.__name__ = fn.__name__ + "_"
    return method


def _type_as(self: Tensor, other: Tensor) -> Tensor:
    return self.to(other.dtype)


def _sum_to_size(self: Tensor, *size: Any) -> Tensor:
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else tuple(size)
    lead = self.dim() - len(shape)
    dims = list(range(lead)) + [
        lead + i for i, s in enumerate(shape) if s == 1 and self.shape[lead + i] != 1
    ]
    out = self.sum(dims, keepdim=True) if dims else self
    return out.reshape(shape)


def _method_alias(name: str):
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return getattr(self, name)(*args, **kwargs)

    method.__name__ = name
    return method


FUNCTIONS = {
    "mvlgamma": mvlgamma,
    "logit": logit,
    "xlogy": xlogy,
    "sinc": sinc,
    "logaddexp2": logaddexp2,
    "logcumsumexp": logcumsumexp,
    "deg2rad": deg2rad,
    "rad2deg": rad2deg,
    "heaviside": heaviside,
    "signbit": signbit,
    "sgn": sgn,
    "positive": positive,
    "ravel": ravel,
    "rsub": rsub,
    "scalar_tensor": scalar_tensor,
    "kron": kron,
    "rot90": rot90,
    "tensordot": tensordot,
    "diff": diff,
    "cross": cross,
    "narrow_copy": narrow_copy,
    "cdist": cdist,
    "dist": dist,
    "cov": cov,
    "corrcoef": corrcoef,
    "matrix_power": matrix_power,
    "block_diag": block_diag,
    "cartesian_prod": cartesian_prod,
    "combinations": combinations,
    "tril_indices": tril_indices,
    "triu_indices": triu_indices,
    "searchsorted": searchsorted,
    "bucketize": bucketize,
    "bincount": bincount,
    "histc": histc,
    "trapezoid": trapezoid,
    "trapz": trapz,
    "msort": msort,
    "hsplit": hsplit,
    "vsplit": vsplit,
    "dsplit": dsplit,
    "atleast_3d": atleast_3d,
    "dstack": dstack,
    "column_stack": column_stack,
    "row_stack": row_stack,
    "is_nonzero": is_nonzero,
    "is_same_size": is_same_size,
    "is_signed": is_signed,
    "is_complex": is_complex,
    "is_conj": is_conj,
    "is_neg": is_neg,
    "isreal": isreal,
    "conj": _identity,
    "conj_physical": _identity,
    "resolve_conj": _identity,
    "resolve_neg": _identity,
    "real": _identity,
}

_METHOD_FUNCS = [
    "mvlgamma",
    "logit",
    "xlogy",
    "sinc",
    "logaddexp2",
    "logcumsumexp",
    "deg2rad",
    "rad2deg",
    "heaviside",
    "signbit",
    "sgn",
    "positive",
    "ravel",
    "kron",
    "rot90",
    "diff",
    "cross",
    "narrow_copy",
    "dist",
    "cov",
    "corrcoef",
    "matrix_power",
    "bincount",
    "histc",
    "msort",
    "hsplit",
    "vsplit",
    "dsplit",
    "is_nonzero",
    "is_same_size",
    "is_signed",
    "is_conj",
    "is_neg",
    "isreal",
    "conj",
    "conj_physical",
    "resolve_conj",
    "resolve_neg",
]
METHODS: dict[str, Any] = {name: FUNCTIONS[name] for name in _METHOD_FUNCS}
for _name in [
    "logit",
    "xlogy",
    "sinc",
    "deg2rad",
    "rad2deg",
    "heaviside",
    "sgn",
]:
    METHODS[_name + "_"] = _inplace(FUNCTIONS[_name])
METHODS["mvlgamma_"] = lambda self, p: self.copy_(mvlgamma(self, p))
METHODS["type_as"] = _type_as
METHODS["sum_to_size"] = _sum_to_size
for _alias, _target in {
    "swapaxes_": "transpose_",
    "swapdims_": "transpose_",
}.items():
    METHODS[_alias] = _method_alias(_target)
METHODS["cumsum_"] = lambda self, dim, *, dtype=None: self.copy_(self.cumsum(dim, dtype=dtype))
METHODS["cumprod_"] = lambda self, dim, *, dtype=None: self.copy_(self.cumprod(dim, dtype=dtype))
FUNCTIONS["xlogy_"] = METHODS["xlogy_"]
FUNCTIONS["logit_"] = METHODS["logit_"]
FUNCTIONS["sinc_"] = METHODS["sinc_"]
FUNCTIONS["deg2rad_"] = METHODS["deg2rad_"]
FUNCTIONS["rad2deg_"] = METHODS["rad2deg_"]
FUNCTIONS["fill_"] = lambda input, value: input.fill_(value)
FUNCTIONS["zero_"] = lambda input: input.zero_()
del _name, _alias, _target


# ----- more top-level names PyTorch has -----


def _functional() -> Any:
    from .nn import functional

    return functional


def _forward(name: str):
    """``torch.<name>``: the same function as ``torch.nn.functional.<name>``."""

    def f(*args: Any, **kwargs: Any) -> Any:
        return getattr(_functional(), name)(*args, **kwargs)

    f.__name__ = name
    f.__doc__ = f"``torch.{name}``: see ``torch.nn.functional.{name}``."
    return f


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return _functional().dropout(input, p, train)


def batch_norm(
    input: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool = True,
) -> Tensor:
    """``torch.batch_norm`` (weight and bias come before the running statistics)."""
    return _functional().batch_norm(
        input, running_mean, running_var, weight, bias, training, momentum, eps
    )


def embedding(
    weight: Tensor, indices: Tensor, padding_idx: int = -1, *_a: Any, **_k: Any
) -> Tensor:
    """``torch.embedding(weight, indices)`` (the weight first, unlike F.embedding)."""
    return _functional().embedding(indices, weight, None if padding_idx < 0 else padding_idx)


def _require_integer(kernel: str, input: Tensor, other: Tensor) -> None:
    """PyTorch's refusal of floating (or bool) operands, naming the promoted dtype."""
    dtype = _C.result_type(input, other)
    if dtype.is_floating_point or dtype == _C.bool:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{scalar_name(dtype)}'")


def gcd(input: Tensor, other: Tensor) -> Tensor:
    """Greatest common divisor (non-negative), elementwise (integers)."""
    _require_integer("gcd_cpu", input, other)
    from ._composite_ops import broadcast_tensors

    a, b = broadcast_tensors(input.abs(), other.abs())
    a, b = a.clone(), b.clone()
    while bool((b != 0).any()):
        nz = b != 0
        r = _C.where(nz, a % _C.where(nz, b, _C.ones_like(b)), _C.zeros_like(a))
        a = _C.where(nz, b, a)
        b = r
    return a


def lcm(input: Tensor, other: Tensor) -> Tensor:
    """Least common multiple (non-negative), elementwise (integers)."""
    _require_integer("lcm_cpu", input, other)
    g = gcd(input, other)
    safe = _C.where(g == 0, _C.ones_like(g), g)
    return _C.where(g == 0, _C.zeros_like(g), (input // safe * other).abs())


def isin(
    elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False
) -> Tensor:
    """Whether each element of ``elements`` is in ``test_elements``."""
    e = elements if isinstance(elements, Tensor) else _C.tensor(elements)
    t = test_elements if isinstance(test_elements, Tensor) else _C.tensor(test_elements)
    hit = (e.reshape(-1, 1) == t.reshape(1, -1)).any(1).reshape(e.shape)
    return ~hit if invert else hit


def unravel_index(indices: Tensor, shape: Any) -> tuple:
    """The coordinates of flat ``indices`` in an array of ``shape``."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    idx = indices if isinstance(indices, Tensor) else _C.tensor(indices)
    if idx.is_floating_point() or idx.dtype == _C.bool:
        raise TypeError("expected 'indices' to be integer dtype, but got " + str(idx.dtype))
    n = math.prod(shape)
    if idx.numel() and (bool((idx < -n).any()) or bool((idx >= n).any())):
        raise RuntimeError("index out of bounds")
    idx = _C.where(idx < 0, idx + n, idx)
    out = []
    for size in reversed(shape):
        out.append(idx % size)
        idx = idx // size
    return tuple(reversed(out))


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    return _C.diag(input.reshape(-1), offset)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """Columns are powers of ``x`` (decreasing unless ``increasing``)."""
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    powers = _C.arange(n)
    if not increasing:
        powers = powers.flip(0)
    base = x if x.is_floating_point() else x.to(_C.int64)
    return (
        base.unsqueeze(1).pow(powers.unsqueeze(0).to(base.dtype))
        if n
        else _C.empty(x.shape[0], 0, dtype=base.dtype)
    )


def ldexp(input: Tensor, other: Tensor) -> Tensor:
    """input · 2^other."""
    return input * _C.pow(2.0, other).to(_C.promote_types(_float_input(input).dtype, _C.float32))


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    out = input.clone()
    out.select(dim, index).copy_(src)
    return out


def slice_scatter(
    input: Tensor,
    src: Tensor,
    dim: int = 0,
    start: int | None = None,
    end: int | None = None,
    step: int = 1,
) -> Tensor:
    out = input.clone()
    key = [slice(None)] * input.dim()
    key[dim] = slice(start, end, step)
    out[tuple(key)] = src
    return out


def diagonal_scatter(
    input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1
) -> Tensor:
    out = input.clone()
    out.diagonal(offset, dim1, dim2).copy_(src)
    return out


def _window(name: str, coefs: list[float]):
    def f(window_length: int, periodic: bool = True, *, dtype: Any = None, **_kw: Any) -> Tensor:
        dt = dtype or _C.get_default_dtype()
        if window_length == 0:
            return _C.empty(0, dtype=dt)
        if window_length == 1:
            return _C.ones(1, dtype=dt)
        n = window_length + 1 if periodic else window_length
        k = _C.arange(window_length, dtype=_C.float64) * (2 * math.pi / (n - 1))
        w = _C.zeros_like(k) + coefs[0]
        for j, c in enumerate(coefs[1:], start=1):
            w = w + (k * j).cos() * c
        return w.to(dt)

    f.__name__ = name
    return f


hann_window = _window("hann_window", [0.5, -0.5])
hamming_window = _window("hamming_window", [0.54, -0.46])
blackman_window = _window("blackman_window", [0.42, -0.5, 0.08])


def bartlett_window(
    window_length: int, periodic: bool = True, *, dtype: Any = None, **_kw: Any
) -> Tensor:
    dt = dtype or _C.get_default_dtype()
    if window_length <= 1:
        return _C.ones(window_length, dtype=dt)
    n = window_length + 1 if periodic else window_length
    k = _C.arange(window_length, dtype=_C.float64) * (2.0 / (n - 1))
    return _C.where(k <= 1, k, -k + 2).to(dt)


def typename(obj: Any) -> str:
    if isinstance(obj, Tensor):
        return obj.type()
    module = type(obj).__module__
    return (
        type(obj).__qualname__
        if module in ("builtins", None)
        else f"{module}.{type(obj).__qualname__}"
    )


def fill(input: Tensor, value: Any) -> Tensor:
    return input.clone().fill_(value)


_STATE: dict[str, Any] = {
    "deterministic": False,
    "warn_only": False,
    "interop_threads": 1,
    "matmul_precision": "highest",
    "warn_always": False,
}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Recorded only: every rtorch kernel is already deterministic."""
    _STATE["deterministic"], _STATE["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _STATE["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _STATE["warn_only"]


def set_num_interop_threads(n: int) -> None:
    _STATE["interop_threads"] = int(n)


def get_num_interop_threads() -> int:
    return _STATE["interop_threads"]


def set_float32_matmul_precision(precision: str) -> None:
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid precision: {precision}")
    _STATE["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    return _STATE["matmul_precision"]


def set_warn_always(b: bool) -> None:
    _STATE["warn_always"] = bool(b)


def is_warn_always_enabled() -> bool:
    return _STATE["warn_always"]


def is_inference(input: Tensor) -> bool:
    return False


FUNCTIONS.update(
    {
        name: _forward(name)
        for name in [
            "selu",
            "celu",
            "threshold",
            "hardshrink",
            "alpha_dropout",
            "feature_alpha_dropout",
            "conv1d",
            "conv2d",
            "conv_transpose1d",
            "conv_transpose2d",
            "conv3d",
            "conv_transpose3d",
            "max_pool1d",
            "max_pool2d",
            "max_pool3d",
            "max_pool1d_with_indices",
            "avg_pool1d",
            "adaptive_avg_pool1d",
            "adaptive_max_pool1d",
            "cosine_similarity",
            "pairwise_distance",
            "pdist",
            "pixel_shuffle",
            "pixel_unshuffle",
            "prelu",
            "rrelu",
            "bilinear",
            "layer_norm",
            "group_norm",
            "rms_norm",
            "channel_shuffle",
        ]
    }
)
FUNCTIONS["selu_"] = lambda input: input.copy_(FUNCTIONS["selu"](input))
FUNCTIONS["celu_"] = lambda input, alpha=1.0: input.copy_(FUNCTIONS["celu"](input, alpha))
FUNCTIONS["threshold_"] = lambda input, threshold, value: input.copy_(
    FUNCTIONS["threshold"](input, threshold, value)
)
FUNCTIONS.update(
    {
        "dropout": dropout,
        "batch_norm": batch_norm,
        "embedding": embedding,
        "gcd": gcd,
        "lcm": lcm,
        "isin": isin,
        "unravel_index": unravel_index,
        "diagflat": diagflat,
        "vander": vander,
        "ldexp": ldexp,
        "select_scatter": select_scatter,
        "slice_scatter": slice_scatter,
        "diagonal_scatter": diagonal_scatter,
        "hann_window": hann_window,
        "hamming_window": hamming_window,
        "blackman_window": blackman_window,
        "bartlett_window": bartlett_window,
        "typename": typename,
        "fill": fill,
        "use_deterministic_algorithms": use_deterministic_algorithms,
        "are_deterministic_algorithms_enabled": are_deterministic_algorithms_enabled,
        "is_deterministic_algorithms_warn_only_enabled": is_deterministic_algorithms_warn_only_enabled,
        "set_num_interop_threads": set_num_interop_threads,
        "get_num_interop_threads": get_num_interop_threads,
        "set_float32_matmul_precision": set_float32_matmul_precision,
        "get_float32_matmul_precision": get_float32_matmul_precision,
        "set_warn_always": set_warn_always,
        "is_warn_always_enabled": is_warn_always_enabled,
        "is_inference": is_inference,
        "detach": lambda input: input.detach(),
        "detach_": lambda input: input.detach_(),
    }
)
for _name in [
    "gcd",
    "lcm",
    "diagflat",
    "ldexp",
    "select_scatter",
    "slice_scatter",
    "diagonal_scatter",
]:
    METHODS[_name] = FUNCTIONS[_name]
for _name in ["gcd", "lcm", "ldexp"]:
    METHODS[_name + "_"] = _inplace(FUNCTIONS[_name])
METHODS["is_inference"] = is_inference
del _name
