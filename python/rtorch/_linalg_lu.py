"""LU factorisation with partial pivoting: ``linalg.lu_factor`` / ``lu_factor_ex`` /
``lu`` / ``lu_solve`` and the older ``torch.lu`` / ``lu_unpack`` / ``lu_solve``.

The factorisation is faer's (``_C._linalg_lu_factor_ex``: L and U packed in one matrix
and LAPACK's 1-based row interchanges). Unpacking and solving are compositions of
differentiable ops; the factorisation's own gradient is PyTorch's formula for square
matrices."""

from __future__ import annotations

import warnings
from typing import Any

from . import _C, return_types
from ._C import Tensor
from ._linalg_compositions import solve_triangular
from .autograd.function import Function
from .linalg import _writes_out


def _check(A: Tensor, name: str) -> None:
    if A.dim() < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")


class _LuFactor(Function):
    @staticmethod
    def forward(ctx: Any, A: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        LU, pivots, info = _C._linalg_lu_factor_ex(A, "torch.linalg.lu_factor_ex")
        ctx.save_for_backward(LU, pivots)
        ctx.mark_non_differentiable(pivots, info)
        return LU, pivots, info

    @staticmethod
    def backward(ctx: Any, gLU: Tensor, _gp: Any, _gi: Any) -> Tensor:
        # A = P L U. With gL, gU the lower and upper parts of gLU (PyTorch's
        # linalg_lu_backward, square case):
        # gA = P L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T.
        LU, pivots = ctx.saved_tensors
        m, n = LU.shape[-2], LU.shape[-1]
        if m != n:
            raise NotImplementedError(
                "the derivative of linalg.lu_factor is implemented for square matrices only"
            )
        P, L, U = _unpack(LU, pivots)
        phi = (L.mT @ gLU.tril(-1)).tril(-1) + (gLU.triu() @ U.mT).triu()
        X = solve_triangular(U.mT, phi, upper=False, left=False)
        X = solve_triangular(L.mT, X, upper=True, unitriangular=True)
        return P @ X


_LuFactor._backward_name = "LinalgLuFactorExBackward0"


@_writes_out
def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False) -> Any:
    """``(LU, pivots, info)``: A = P L U with L unit lower triangular (below LU's
    diagonal), U upper triangular (on and above it), P given as LAPACK's 1-based row
    interchanges (int32); info > 0 marks the first zero on U's diagonal."""
    _check(A, "torch.linalg.lu_factor_ex")
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    LU, pivots, info = _LuFactor.apply(A)
    if check_errors:
        _raise_zero_pivot(info, A.dim() > 2, "torch.linalg.lu_factor_ex")
    return return_types.linalg_lu_factor_ex((LU, pivots, info))


def _raise_zero_pivot(info: Tensor, batched: bool, name: str) -> None:
    if info.numel() == 0 or info.is_meta or not bool(info.ne(0).any()):
        return
    for i, code in enumerate(info.reshape(-1).tolist()):
        if code > 0:
            prefix = f"(Batch element {i}): " if batched else ""
            raise RuntimeError(
                f"{name}: {prefix}U[{code},{code}] is zero and using it on lu_solve would "
                "result in a division by zero. If you still want to perform the "
                "factorization, consider calling linalg.lu(A, pivot) or "
                "linalg.lu_factor_ex(A, pivot)"
            )


@_writes_out
def lu_factor(A: Tensor, *, pivot: bool = True) -> Any:
    """``(LU, pivots)`` as ``lu_factor_ex``; a zero on U's diagonal raises."""
    _check(A, "torch.linalg.lu_factor")
    LU, pivots, info = lu_factor_ex(A, pivot=pivot)
    _raise_zero_pivot(info, A.dim() > 2, "torch.linalg.lu_factor")
    return return_types.linalg_lu_factor((LU, pivots))


def _permutation(pivots: Tensor, m: int, dtype: Any) -> Tensor:
    """P (m x m, batched like ``pivots``) with A = P L U: the interchanges applied in order
    to 0..m-1 give ``perm``, row i of L U being row perm[i] of A, so P[perm[i], i] = 1."""
    batch = tuple(pivots.shape[:-1])
    flat = pivots.reshape(-1, pivots.shape[-1]).to(_C.int64) - 1
    rows = flat.shape[0]
    perm = _C.arange(m).expand(rows, m).clone()
    for i in range(flat.shape[-1]):
        j = flat[:, i : i + 1]
        here = perm[:, i : i + 1].clone()
        perm[:, i : i + 1] = perm.gather(1, j)
        perm.scatter_(1, j, here)
    from .nn.functional import one_hot

    P = one_hot(perm, m).to(dtype).mT
    return P.reshape(*batch, m, m)


def _unpack(LU: Tensor, pivots: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    m, n = LU.shape[-2], LU.shape[-1]
    k = min(m, n)
    eye = _C.eye(m, k, dtype=LU.dtype)
    L = LU[..., :, :k].tril(-1) + eye
    U = LU[..., :k, :].triu()
    return _permutation(pivots, m, LU.dtype), L, U


@_writes_out
def lu_unpack(
    LU_data: Tensor,
    LU_pivots: Tensor,
    unpack_data: bool = True,
    unpack_pivots: bool = True,
) -> Any:
    """``(P, L, U)`` from ``lu_factor``'s packed result (empty tensors for the parts not
    asked for)."""
    P, L, U = _unpack(LU_data, LU_pivots)
    empty = _C.empty(0, dtype=LU_data.dtype)
    if not unpack_data:
        L, U = empty, empty
    if not unpack_pivots:
        P = empty
    return return_types.lu_unpack((P, L, U))


@_writes_out
def lu(A: Tensor, *, pivot: bool = True) -> Any:
    """``(P, L, U)`` with A = P L U (L unit lower trapezoidal, U upper trapezoidal)."""
    _check(A, "torch.linalg.lu")
    LU, pivots, _ = lu_factor_ex(A, pivot=pivot)
    P, L, U = _unpack(LU, pivots)
    return return_types.linalg_lu((P, L, U))


@_writes_out
def lu_solve(
    LU: Tensor,
    pivots: Tensor,
    B: Tensor,
    *,
    left: bool = True,
    adjoint: bool = False,
) -> Tensor:
    """X with A X = B (A^T X = B with ``adjoint``; X A = B, X A^T = B without ``left``)
    for A = P L U given by ``lu_factor``."""
    if LU.shape[-1] != LU.shape[-2]:
        raise RuntimeError(
            "linalg.lu_solve: A must be batches of square matrices, but they are "
            f"{LU.shape[-2]} by {LU.shape[-1]} matrices"
        )
    P, L, U = _unpack(LU, pivots)
    if not left:
        # X A = B  <=>  A^T X^T = B^T (and X A^T = B  <=>  A X^T = B^T).
        return lu_solve(LU, pivots, B.mT, adjoint=not adjoint).mT
    if not adjoint:
        Y = solve_triangular(L, P.mT @ B, upper=False, unitriangular=True)
        X = solve_triangular(U, Y, upper=True)
    else:
        # A^T = U^T L^T P^T: X = P L^-T U^-T B.
        Y = solve_triangular(U.mT, B, upper=False)
        X = P @ solve_triangular(L.mT, Y, upper=True, unitriangular=True)
    return X


@_writes_out
def legacy_lu(A: Tensor, pivot: bool = True, get_infos: bool = False) -> Any:
    """``torch.lu`` (deprecated in PyTorch for ``linalg.lu_factor``): ``(LU, pivots)``,
    with ``info`` when ``get_infos``; a singular matrix is no error here."""
    warnings.warn(
        "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex "
        "and will be removed in a future PyTorch release.\nLU, pivots = torch.lu(A, "
        "compute_pivots)\nshould be replaced with\nLU, pivots = torch.linalg.lu_factor(A, "
        "compute_pivots)\nand\nLU, pivots, info = torch.lu(A, compute_pivots, get_infos=True)"
        "\nshould be replaced with\nLU, pivots, info = torch.linalg.lu_factor_ex(A, "
        "compute_pivots)",
        UserWarning,
        stacklevel=2,
    )
    LU, pivots, info = lu_factor_ex(A, pivot=pivot)
    result = (LU, pivots, info) if get_infos else (LU, pivots)
    return result


@_writes_out
def legacy_lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
    """``torch.lu_solve(b, LU_data, LU_pivots)`` (arguments in the old order)."""
    warnings.warn(
        "torch.lu_solve is deprecated in favor of torch.linalg.lu_solve and will be removed "
        "in a future PyTorch release. Note that torch.linalg.lu_solve has its arguments "
        "reversed.",
        UserWarning,
        stacklevel=2,
    )
    return lu_solve(LU_data, LU_pivots, b)


LINALG = {
    "lu_factor": lu_factor,
    "lu_factor_ex": lu_factor_ex,
    "lu": lu,
    "lu_solve": lu_solve,
}
TOP_LEVEL = {"lu": legacy_lu, "lu_unpack": lu_unpack, "lu_solve": legacy_lu_solve}
