"""``torch.linalg`` functions composed of rtorch's other linear algebra: matrix_exp,
matrix_power, multi_dot, solve_triangular, cond, tensorinv, tensorsolve, vander and
diagonal. Gradients come from autograd of the compositions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from . import _C
from ._C import Tensor
from .autograd.function import Function
from .linalg import _scalar_name, _writes_out, inv, matrix_norm, solve, svdvals


def _square(A: Tensor, name: str) -> None:
    if A.dim() < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            f"{name}: A must be batches of square matrices, but they are "
            f"{A.shape[-2]} by {A.shape[-1]} matrices"
        )


def _floating(A: Tensor, name: str) -> None:
    if not A.is_floating_point():
        raise NotImplementedError(
            f"{name}: Expected a floating point or complex tensor as input. "
            f"Got {_scalar_name(A.dtype)}"
        )


# Padé [13/13] of exp with scaling and squaring (Higham, "The scaling and squaring method
# for the matrix exponential revisited", 2005): its coefficients and the largest 1-norm
# for which it is accurate to float64's unit roundoff.
_PADE13 = (
    64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
    129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
    40840800.0, 960960.0, 16380.0, 182.0, 1.0,
)  # fmt: skip
_THETA13 = 5.371920351148152


@_writes_out
def matrix_exp(A: Tensor) -> Tensor:
    """e^A of each square matrix: A scaled by 2^-s to 1-norm at most 5.37, the [13/13]
    Padé approximant there, then squared s times (each matrix of a batch its own s)."""
    _square(A, "linalg.matrix_exp")
    _floating(A, "linalg.matrix_exp")
    n = A.shape[-1]
    if A.numel() == 0:
        return A.clone()
    norm1 = A.detach().abs().sum(-2).amax(-1)
    finite = norm1.isfinite()
    safe = _C.where(finite, norm1, _C.zeros_like(norm1))
    s = (safe / _THETA13).log2().ceil().clamp_min(0)
    s = _C.where(safe > 0, s, _C.zeros_like(s)).to(_C.int64)
    top = int(s.max()) if s.numel() else 0
    scale = (2.0 ** -s.to(A.dtype)).unsqueeze(-1).unsqueeze(-1)
    X = A * scale
    eye = _C.eye(n, dtype=A.dtype).expand_as(X)
    b = _PADE13
    X2 = X @ X
    X4 = X2 @ X2
    X6 = X4 @ X2
    U = X @ (
        X6 @ (b[13] * X6 + b[11] * X4 + b[9] * X2) + b[7] * X6 + b[5] * X4 + b[3] * X2 + b[1] * eye
    )
    V = X6 @ (b[12] * X6 + b[10] * X4 + b[8] * X2) + b[6] * X6 + b[4] * X4 + b[2] * X2 + b[0] * eye
    R = solve(V - U, V + U)
    for k in range(top):
        live = (s > k).unsqueeze(-1).unsqueeze(-1)
        R = _C.where(live, R @ R, R)
    # A matrix with a NaN or an infinity gives NaN throughout (PyTorch's answer for any
    # such matrix above 1 x 1; a 1 x 1 one is e^x itself).
    if n == 1:
        R = _C.where(finite.unsqueeze(-1).unsqueeze(-1), R, A.exp())
    else:
        R = _C.where(finite.unsqueeze(-1).unsqueeze(-1), R, _C.full_like(R, math.nan))
    return R


@_writes_out
def matrix_power(A: Tensor, n: int) -> Tensor:
    """A^n by repeated squaring; n < 0 inverts first, n = 0 gives the identity."""
    from ._special_ops import matrix_power as power

    return power(A, n)


@_writes_out
def multi_dot(tensors: Sequence[Tensor]) -> Tensor:
    """The product of the matrices, multiplied in the order of fewest scalar products; the
    first may be a vector (as a row) and the last a vector (as a column)."""
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    first_vec, last_vec = ts[0].dim() == 1, ts[-1].dim() == 1
    mats = [t.unsqueeze(0) if i == 0 and first_vec else t for i, t in enumerate(ts)]
    mats[-1] = mats[-1].unsqueeze(-1) if last_vec else mats[-1]
    for i, t in enumerate(mats):
        if t.dim() != 2:
            where = "first" if i == 0 else "last" if i == len(mats) - 1 else None
            if where:
                raise RuntimeError(
                    f"multi_dot(): the {where} tensor must be 1D or 2D but got {ts[i].dim()}D"
                )
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {ts[i].dim()}D")
    for i in range(len(mats) - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:
            raise RuntimeError(
                f"multi_dot(): tensors {i} and {i + 1} with shapes {list(ts[i].shape)} and "
                f"{list(ts[i + 1].shape)} cannot be multiplied"
            )
    dims = [mats[0].shape[0]] + [m.shape[1] for m in mats]
    result = _chain(mats, _order(dims), 0, len(mats) - 1)
    if first_vec:
        result = result.squeeze(0)
    if last_vec:
        result = result.squeeze(-1)
    return result


def _order(dims: list[int]) -> list[list[int]]:
    """The textbook dynamic program for the matrix-chain order: split[i][j] is where the
    product of matrices i..j splits."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = -1
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] < 0 or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _chain(mats: list[Tensor], split: list[list[int]], i: int, j: int) -> Tensor:
    if i == j:
        return mats[i]
    k = split[i][j]
    return _chain(mats, split, i, k) @ _chain(mats, split, k + 1, j)


class _SolveTriangularFn(Function):
    """``X = T^{-1} B`` for the triangle ``T`` of ``A`` (equal batch shapes); gradient:
    gB = T^{-T} gX, gA = -gB X^T restricted to the triangle read (without its diagonal
    when ``unitriangular``)."""

    @staticmethod
    def forward(ctx: Any, A: Tensor, B: Tensor, upper: bool, unitriangular: bool) -> Tensor:
        X = _C._linalg_solve_triangular(A, B, upper, unitriangular)
        ctx.save_for_backward(A, X)
        ctx.upper, ctx.unitriangular = upper, unitriangular
        return X

    @staticmethod
    def backward(ctx: Any, gX: Tensor) -> tuple[Tensor | None, Tensor | None, None, None]:
        A, X = ctx.saved_tensors
        upper, unit = ctx.upper, ctx.unitriangular
        gB = _SolveTriangularFn.apply(A.mT, gX, not upper, unit)
        gA = None
        if ctx.needs_input_grad[0]:
            g = -(gB @ X.mT)
            gA = g.triu(int(unit)) if upper else g.tril(-int(unit))
        return gA, gB, None, None


@_writes_out
def solve_triangular(
    A: Tensor,
    B: Tensor,
    *,
    upper: bool,
    left: bool = True,
    unitriangular: bool = False,
) -> Tensor:
    """X with A X = B (``left``) or X A = B by substitution, reading only A's ``upper`` or
    lower triangle (its diagonal taken as ones when ``unitriangular``); batch dims
    broadcast. As PyTorch, the result has A's dtype, and a zero on the diagonal gives
    inf/NaN rather than an error (no singularity check)."""
    name = "linalg.solve_triangular"
    if B.dim() < 2:
        raise RuntimeError(f"{name}: The input tensor B must have at least 2 dimensions.")
    _square(A, name)
    if A.dtype not in (_C.float32, _C.float64):
        raise NotImplementedError(
            f"\"triangular_solve_cpu\" not implemented for '{_scalar_name(A.dtype)}'"
        )
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(
            f"{name}: Incompatible shapes of A and B for the equation "
            f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {B.shape[-2]}x{B.shape[-1]})"
        )
    B = B.to(A.dtype)
    if not left:
        A, B, upper = A.mT, B.mT, not upper
    from . import broadcast_shapes

    batch = tuple(broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2])))
    k = B.shape[-1]
    X = _SolveTriangularFn.apply(
        A.expand(*batch, n, n), B.expand(*batch, n, k), bool(upper), bool(unitriangular)
    )
    return X if left else X.mT


@_writes_out
def cond(A: Tensor, p: Any = None) -> Tensor:
    """The condition number of each matrix in the ``p`` norm: the ratio of the extreme
    singular values for p in (None, 2, -2), else ||A||_p ||A^-1||_p (square A only)."""
    if A.dim() < 2:
        raise RuntimeError("linalg.cond: The input tensor A must have at least 2 dimensions.")
    if p is None or p in (2, -2):
        S = svdvals(A)
        hi, lo = S.amax(-1), S.amin(-1)
        return lo / hi if p == -2 else hi / lo
    _square(A, "linalg.cond")
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


@_writes_out
def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """The inverse of A seen as a matrix of its first ``ind`` dims by the rest, shaped
    ``A.shape[ind:] + A.shape[:ind]``."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows = math.prod(A.shape[:ind])
    cols = math.prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError(
            "Expected self to satisfy the requirement prod(self.shape[ind:]) == "
            f"prod(self.shape[:ind]), but got {cols} != {rows}"
        )
    result = inv(A.reshape(rows, cols)).reshape(*A.shape[ind:], *A.shape[:ind])
    return result


@_writes_out
def tensorsolve(A: Tensor, B: Tensor, dims: Sequence[int] | None = None) -> Tensor:
    """X with tensordot(A, X, X.dim()) = B; ``dims`` moves those dims of A to the end
    first."""
    if dims is not None:
        nd = A.dim()
        moved = [d % nd for d in dims]
        A = A.permute(*[d for d in range(nd) if d not in moved], *moved)
    rows = B.numel()
    x_shape = A.shape[B.dim() :]
    cols = math.prod(x_shape)
    if rows != cols:
        raise RuntimeError(
            "Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
            f"prod(self.shape[:other.ndim]), but got {cols} != {rows}"
        )
    result = solve(A.reshape(rows, cols), B.reshape(rows)).reshape(x_shape)
    return result


def vander(x: Tensor, *, N: int | None = None) -> Tensor:
    """Columns x^0, x^1, ..., x^(N-1) (increasing powers, as torch.linalg.vander)."""
    if x.dim() < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension")
    n = x.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    # Cumulative products keep integer dtypes exact (as PyTorch's cumprod).
    powers = x.unsqueeze(-1).expand(*x.shape, n - 1).cumprod(-1)
    return _C.cat([_C.ones_like(x).unsqueeze(-1), powers], -1)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """``torch.diagonal`` with the matrix dims last by default (a view)."""
    return A.diagonal(offset, dim1, dim2)


FUNCTIONS: dict[str, Any] = {
    "matrix_exp": matrix_exp,
    "matrix_power": matrix_power,
    "multi_dot": multi_dot,
    "solve_triangular": solve_triangular,
    "cond": cond,
    "tensorinv": tensorinv,
    "tensorsolve": tensorsolve,
    "vander": vander,
    "diagonal": diagonal,
}
