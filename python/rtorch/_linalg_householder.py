"""Householder-based and low-rank linear algebra: ``geqrf``, ``orgqr``/``linalg.householder_product``, ``ormqr``, LDL, ``triangular_solve``, ``svd_lowrank``/``pca_lowrank`` and the legacy norms.

Everything here is a composition of rtorch's other ops, written after LAPACK's
algorithms so that the results carry LAPACK's (and so PyTorch's) conventions:

- ``geqrf`` stores R on and above the diagonal and the Householder vectors below it,
  each reflector ``H_i = I - tau_i v_i v_i^T`` with ``v_i[i] = 1`` built as LAPACK's
  ``dlarfg`` builds it (``beta = -sign(alpha) * ||x||``, ``tau = 0`` when the column
  below the diagonal is already zero), so R's signs are LAPACK's.
- ``ldl_factor`` is the unblocked Bunch-Kaufman of LAPACK's ``sytf2`` on the lower
  triangle, with the same pivot choices (alpha = (1 + sqrt 17) / 8) and the same
  1-based pivot encoding (``k`` for a 1 x 1 block after interchanging rows/columns k
  and ``pivots[k]``, a negative pair for a 2 x 2 block). The interchanges reach only
  the trailing matrix, as LAPACK's do, so ``LD`` and ``pivots`` match PyTorch's.

``householder_product`` and ``ormqr`` apply the reflectors one at a time with
differentiable ops, so their gradients come from autograd (PyTorch differentiates both);
``geqrf`` and the LDL functions are not differentiable in PyTorch and raise the same
way on backward.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from . import _C, return_types
from ._C import Tensor
from ._linalg_compositions import solve_triangular
from .autograd.function import Function
from .autograd.grad_mode import no_grad
from .linalg import _scalar_name, _writes_out, matrix_norm, qr, svd, vector_norm


def _needs_float(A: Tensor, kernel: str) -> None:
    """PyTorch's dispatch error for a dtype its LAPACK kernel does not cover."""
    if str(A.dtype) not in ("torch.float32", "torch.float64"):
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_scalar_name(A.dtype)}'")


# The deprecated ops whose warning was given: PyTorch warns once per process.
_WARNED: set[str] = set()


def _warn_once(op: str, message: str, wrapped: bool = False) -> None:
    """``message`` as a UserWarning on ``op``'s first call only, pointing at the line that
    called ``op`` (one frame further out when ``op`` is wrapped by ``_writes_out``)."""
    if op not in _WARNED:
        _WARNED.add(op)
        warnings.warn(message, UserWarning, stacklevel=4 if wrapped else 3)


class _NotDifferentiable(Function):
    """Passes its first ``count`` tensors through; the rest are the op's inputs, which
    tie the outputs into the graph. Its backward raises PyTorch's error: the outputs of
    an op PyTorch does not differentiate keep a grad_fn there too."""

    @staticmethod
    def forward(ctx: Any, message: str, count: int, *tensors: Tensor) -> Any:
        ctx.message = message
        return tuple(t.clone() for t in tensors[:count])

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        raise NotImplementedError(ctx.message)


def _guard(message: str, tensors: tuple[Tensor, ...], inputs: Sequence[Tensor]) -> tuple:
    """``tensors`` (an op's results), their floating ones tied to the ``inputs`` that
    require grad through ``_NotDifferentiable``."""
    from . import is_grad_enabled

    live = [t for t in inputs if t.requires_grad]
    if not (is_grad_enabled() and live):
        return tensors
    floats = [t for t in tensors if t.is_floating_point()]
    out = _NotDifferentiable.apply(message, len(floats), *floats, *live)
    guarded = iter(out if isinstance(out, tuple) else (out,))
    return tuple(next(guarded) if t.is_floating_point() else t for t in tensors)


# --- geqrf -----------------------------------------------------------------------------


def _geqrf_raw(A: Tensor) -> tuple[Tensor, Tensor]:
    """LAPACK's unblocked QR (``geqr2``) on a batch, all matrices at once."""
    m, n = A.shape[-2], A.shape[-1]
    k = min(m, n)
    R = A.detach().clone()
    tau = R.new_zeros((*A.shape[:-2], k))
    for i in range(k):
        alpha = R[..., i, i]
        tail = R[..., i + 1 :, i]
        xnorm = vector_norm(tail, 2, -1) if m - i > 1 else _C.zeros_like(alpha)
        # dlarfg: a column already zero below the diagonal needs no reflection (tau = 0).
        reflect = xnorm.ne(0)
        beta = -_C.hypot(alpha, xnorm).copysign(alpha)
        beta = _C.where(reflect, beta, alpha)
        safe_beta = _C.where(reflect, beta, _C.ones_like(beta))
        t = _C.where(reflect, (beta - alpha) / safe_beta, _C.zeros_like(beta))
        scale = _C.where(reflect, 1 / (alpha - safe_beta), _C.zeros_like(beta))
        v_tail = tail * scale.unsqueeze(-1)
        if i + 1 < n:
            # H_i applied to the columns on the right, v = [1, v_tail].
            v = _C.cat([_C.ones_like(alpha).unsqueeze(-1), v_tail], -1)
            R[..., i:, i + 1 :] = _apply_left(R[..., i:, i + 1 :], v, t)
        R[..., i, i] = beta
        R[..., i + 1 :, i] = v_tail
        tau[..., i] = t
    return R, tau


@_writes_out
def geqrf(input: Tensor) -> Any:
    """``(a, tau)``: LAPACK's compact QR of ``(*, m, n)`` matrices. R lies on and above
    ``a``'s diagonal, the Householder vectors (their leading 1 implicit) below it, and
    ``Q = H_1 ... H_k`` with ``H_i = I - tau_i v_i v_i^T``, k = min(m, n). Not
    differentiable (as in PyTorch)."""
    if input.dim() < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    _needs_float(input, "geqrf_cpu")
    with no_grad():
        a, tau = _geqrf_raw(input)
    a, tau = _guard("the derivative for 'geqrf' is not implemented.", (a, tau), (input,))
    return return_types.geqrf((a, tau))


# --- householder_product / orgqr / ormqr ------------------------------------------------


def _reflector(A: Tensor, i: int) -> Tensor:
    """v_i of the reflectors stored in A's column i: zeros above row i, 1 at row i, A's
    entries below (differentiable in those entries only)."""
    m = A.shape[-2]
    below = _C.arange(m, device=A.device).gt(i).to(A.dtype)
    unit = _C.arange(m, device=A.device).eq(i).to(A.dtype)
    return A[..., :, i] * below + unit


def _check_reflectors(A: Tensor, tau: Tensor, name: str) -> None:
    if A.dim() < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    if tau.dim() != A.dim() - 1:
        raise RuntimeError(
            f"{name}: Expected tau to have one dimension less than input, but got tau.ndim "
            f"equal to {tau.dim()} and input.ndim is equal to {A.dim()}"
        )


@_writes_out
def householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """The first n columns of ``H_1 ... H_k`` for the reflectors stored below the
    diagonal of ``A`` (``(*, m, n)``, m >= n) with scalars ``tau`` (``(*, k)``, k <= n):
    ``geqrf``'s Q. Differentiable in A's strictly lower part and in tau."""
    name = "torch.linalg.householder_product"
    _check_reflectors(A, tau, name)
    m, n = A.shape[-2], A.shape[-1]
    if m < n:
        raise RuntimeError(
            f"{name}: input.shape[-2] must be greater than or equal to input.shape[-1]"
        )
    if n < tau.shape[-1]:
        raise RuntimeError(
            f"{name}: input.shape[-1] must be greater than or equal to tau.shape[-1]"
        )
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(
            f"{name}: Expected batch dimensions of tau to be equal to input.shape[:-2], but "
            f"got {list(tau.shape[:-1])}"
        )
    if tau.dtype != A.dtype:
        raise RuntimeError(
            f"{name}: tau dtype {_scalar_name(tau.dtype)} does not match input dtype "
            f"{_scalar_name(A.dtype)}"
        )
    _needs_float(A, "orgqr_cpu")
    Q = _C.eye(m, n, dtype=A.dtype, device=A.device).expand(*A.shape).clone()
    for i in reversed(range(tau.shape[-1])):
        Q = _apply_left(Q, _reflector(A, i), tau[..., i])
    return Q


def _apply_left(C: Tensor, v: Tensor, t: Tensor) -> Tensor:
    """H C = C - t v (v^T C) for batched vectors v (*, m) and scalars t (*)."""
    w = (v.unsqueeze(-1) * C).sum(-2)
    return C - (t.unsqueeze(-1) * w).unsqueeze(-2) * v.unsqueeze(-1)


def _apply_right(C: Tensor, v: Tensor, t: Tensor) -> Tensor:
    """C H = C - t (C v) v^T."""
    w = (C * v.unsqueeze(-2)).sum(-1)
    return C - (t.unsqueeze(-1) * w).unsqueeze(-1) * v.unsqueeze(-2)


@_writes_out
def orgqr(input: Tensor, tau: Tensor) -> Tensor:
    """``torch.orgqr``: alias of ``linalg.householder_product``."""
    return householder_product(input, tau)


@_writes_out
def ormqr(
    input: Tensor,
    tau: Tensor,
    other: Tensor,
    left: bool = True,
    transpose: bool = False,
) -> Tensor:
    """``op(Q) @ other`` (``other @ op(Q)`` when not ``left``), op the transpose when
    ``transpose``, for the full square Q of the reflectors stored in ``input`` and
    ``tau`` (as ``geqrf`` returns them), without forming Q. Differentiable."""
    name = "torch.ormqr"
    _check_reflectors(input, tau, name)
    if other.dim() < 2:
        raise RuntimeError(f"{name}: other must have at least 2 dimensions.")
    if other.dim() != input.dim():
        raise RuntimeError(
            f"{name}: Expected other to have the same number of dimensions as input, but got "
            f"other.ndim equal to {other.dim()} and input.ndim is equal to {input.dim()}"
        )
    mn = other.shape[-2] if left else other.shape[-1]
    k = tau.shape[-1]
    if left and input.shape[-2] != other.shape[-2]:
        raise RuntimeError(f"{name}: other.shape[-2] must be equal to input.shape[-2]")
    if not left and input.shape[-2] != other.shape[-1]:
        raise RuntimeError(f"{name}: other.shape[-1] must be equal to input.shape[-2]")
    if k > min(mn, input.shape[-1]):
        side = "other.shape[-2]" if left else "other.shape[-1]"
        raise RuntimeError(f"{name}: tau.shape[-1] must be equal to min({side}, input.shape[-1])")
    for what, t in (("tau", tau), ("other", other)):
        if tuple(t.shape[: input.dim() - 2]) != tuple(input.shape[:-2]):
            raise RuntimeError(
                f"{name}: Expected batch dimensions of {what} to be equal to input.shape[:-2], "
                f"but got {list(t.shape[: input.dim() - 2])}"
            )
        if t.dtype != input.dtype:
            raise RuntimeError(
                f"{name}: Expected input and {what} to have the same dtype, but input has dtype"
                f"{_scalar_name(input.dtype)} and {what} has dtype {_scalar_name(t.dtype)}"
            )
    _needs_float(input, "ormqr_cpu")
    # Q = H_1 ... H_k: Q C applies H_k first, Q^T C applies H_1 first; on the right,
    # C Q applies H_1 first and C Q^T applies H_k first.
    order = range(k) if left == transpose else reversed(range(k))
    C = other
    for i in order:
        v, t = _reflector(input, i), tau[..., i]
        C = _apply_left(C, v, t) if left else _apply_right(C, v, t)
    return C


# --- LDL (Bunch-Kaufman) ----------------------------------------------------------------

_BK_ALPHA = (1 + math.sqrt(17.0)) / 8


def _swap_symmetric(T: Tensor, p: int, q: int) -> None:
    """Interchanges rows and columns p and q of the symmetric matrix T in place."""
    idx = list(range(T.shape[0]))
    idx[p], idx[q] = q, p
    perm = _C.tensor(idx, device=T.device)
    T.copy_(T.index_select(0, perm).index_select(1, perm))


def _sytf2(A: Tensor) -> tuple[Tensor, list[int], int]:
    """LAPACK's ``sytf2`` with uplo = 'L' on one n x n matrix (its lower triangle): the
    packed LD, the 1-based pivots and info. T is the trailing matrix, kept full and
    symmetric so that each interchange is one symmetric permutation."""
    n = A.shape[-1]
    LD = _C.zeros_like(A)
    pivots = [0] * n
    info = 0
    T = A.tril() + A.tril(-1).mT
    k = 0
    while k < n:
        col = T[1:, 0].abs()
        absakk = abs(float(T[0, 0]))
        if col.numel():
            imax = int(col.argmax()) + 1
            colmax = float(col[imax - 1])
        else:
            imax, colmax = 0, 0.0
        if max(absakk, colmax) == 0 or math.isnan(absakk):
            # A zero (or NaN) column: recorded in info, then skipped, as LAPACK does.
            info = info or k + 1
            LD[k:, k] = T[:, 0]
            pivots[k] = k + 1
            T = T[1:, 1:]
            k += 1
            continue
        step, kp = 1, 0
        if absakk < _BK_ALPHA * colmax:
            row = T[imax].abs().clone()
            row[imax] = 0
            rowmax = float(row.max())
            if absakk >= _BK_ALPHA * colmax * (colmax / rowmax):
                kp = 0
            elif abs(float(T[imax, imax])) >= _BK_ALPHA * rowmax:
                kp = imax
            else:
                kp, step = imax, 2
        if kp != step - 1:
            _swap_symmetric(T, step - 1, kp)
        if step == 1:
            x = T[1:, 0]
            d11 = 1 / T[0, 0]
            LD[k, k] = T[0, 0]
            LD[k + 1 :, k] = x * d11
            T = T[1:, 1:] - x.unsqueeze(-1) * (d11 * x).unsqueeze(0)
            pivots[k] = k + kp + 1
        else:
            # LAPACK's formulas for the 2 x 2 pivot D = [[a, b], [b, c]]: the two new
            # columns of L are X D^-1 (wk, wkp1) and the update is X D^-1 X^T.
            a, b, c = T[0, 0], T[1, 0], T[1, 1]
            LD[k, k], LD[k + 1, k], LD[k + 1, k + 1] = a, b, c
            if k + 2 < n:
                X0, X1 = T[2:, 0], T[2:, 1]
                d11, d22 = c / b, a / b
                t = 1 / (d11 * d22 - 1)
                d21 = t / b
                wk = d21 * (d11 * X0 - X1)
                wkp1 = d21 * (d22 * X1 - X0)
                T = T[2:, 2:] - (
                    X0.unsqueeze(-1) * wk.unsqueeze(0) + X1.unsqueeze(-1) * wkp1.unsqueeze(0)
                )
                LD[k + 2 :, k] = wk
                LD[k + 2 :, k + 1] = wkp1
            pivots[k] = pivots[k + 1] = -(k + kp + 1)
        k += step
    return LD, pivots, info


def _check_ldl_input(A: Tensor, name: str) -> None:
    if A.dim() < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            f"{name}: A must be batches of square matrices, but they are "
            f"{A.shape[-2]} by {A.shape[-1]} matrices"
        )
    if not A.is_floating_point():
        raise NotImplementedError(
            f"{name}: Expected a floating point or complex tensor as input. "
            f"Got {_scalar_name(A.dtype)}"
        )
    _needs_float(A, "ldl_factor_kernel_cpu")


def _ldl(A: Tensor, name: str) -> tuple[Tensor, Tensor, Tensor]:
    _check_ldl_input(A, name)
    n = A.shape[-1]
    batch = tuple(A.shape[:-2])
    if A.is_meta:
        # Shapes only: no values to choose pivots from.
        return (
            _C.empty_like(A.detach()),
            _C.empty((*batch, n), dtype=_C.int32, device=A.device),
            _C.empty(batch, dtype=_C.int32, device=A.device),
        )
    with no_grad():
        flat = A.detach().reshape(math.prod(batch), n, n)
        parts, pivots, infos = [], [], []
        for j in range(flat.shape[0]):
            LD, piv, info = _sytf2(flat[j])
            parts.append(LD)
            pivots.append(piv)
            infos.append(info)
        LD = _C.stack(parts).reshape(*batch, n, n) if parts else _C.zeros_like(A.detach())
        piv = _C.tensor(pivots, dtype=_C.int32, device=A.device).reshape(*batch, n)
        info = _C.tensor(infos, dtype=_C.int32, device=A.device).reshape(batch)
    (LD,) = _guard("derivative for aten::linalg_ldl_factor_ex is not implemented", (LD,), (A,))
    return LD, piv, info


def _ldl_error(name: str, info: Tensor) -> None:
    """PyTorch stops on a singular D with a RuntimeError (an internal assert there)."""
    if info.is_meta:
        return  # shapes only: nothing to check
    if info.numel() and bool(info.ne(0).any()):
        code = int(info.reshape(-1)[info.reshape(-1).ne(0).int().argmax()])
        raise RuntimeError(
            f"{name}: The factorization could not be completed because the block diagonal "
            f"matrix D is exactly singular (D[{code},{code}] is zero): error code {code}."
        )


@_writes_out
def ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False) -> Any:
    """``(LD, pivots, info)``: the Bunch-Kaufman factorisation A = P L D L^T P^T of
    symmetric matrices (their lower triangle is read), packed as LAPACK's ``sytrf``
    packs it: D's 1 x 1 and 2 x 2 blocks on LD's diagonal and first subdiagonal, L's
    multipliers below, zeros above; ``pivots`` (int32) LAPACK's 1-based interchanges
    (negative pairs mark 2 x 2 blocks); info = k > 0 when D[k, k] is exactly zero.
    ``hermitian`` is the same factorisation for real matrices."""
    name = "torch.linalg.ldl_factor_ex"
    LD, pivots, info = _ldl(A, name)
    if check_errors:
        _ldl_error(name, info)
    return return_types.linalg_ldl_factor_ex((LD, pivots, info))


@_writes_out
def ldl_factor(A: Tensor, *, hermitian: bool = False) -> Any:
    """``(LD, pivots)`` as ``ldl_factor_ex``; a singular D raises RuntimeError."""
    LD, pivots, info = _ldl(A, "torch.linalg.ldl_factor_ex")
    _ldl_error("torch.linalg.ldl_factor", info)
    return return_types.linalg_ldl_factor((LD, pivots))


def _sytrs(LD: Tensor, piv: list[int], B: Tensor) -> Tensor:
    """LAPACK's ``sytrs`` (uplo = 'L') on one matrix: X with A X = B for the A that
    ``LD`` and ``piv`` factor; B (n x r) is overwritten."""
    n = LD.shape[-1]

    def swap(i: int, j: int) -> None:
        if i != j:
            B[[i, j]] = B[[j, i]]

    k = 0
    while k < n:  # L D Y = P^T B, one block column of L at a time
        if piv[k] > 0:
            swap(k, piv[k] - 1)
            if k + 1 < n:
                B[k + 1 :] -= LD[k + 1 :, k].unsqueeze(-1) * B[k]
            B[k] /= LD[k, k]
            k += 1
        else:
            swap(k + 1, -piv[k] - 1)
            if k + 2 < n:
                B[k + 2 :] -= (
                    LD[k + 2 :, k].unsqueeze(-1) * B[k]
                    + LD[k + 2 :, k + 1].unsqueeze(-1) * B[k + 1]
                )
            b = LD[k + 1, k]
            a, c = LD[k, k] / b, LD[k + 1, k + 1] / b
            denom = a * c - 1
            y0, y1 = B[k] / b, B[k + 1] / b
            B[k], B[k + 1] = (c * y0 - y1) / denom, (a * y1 - y0) / denom
            k += 2
    k = n - 1
    while k >= 0:  # L^T X = Y, then the interchanges undone in reverse
        if piv[k] > 0:
            if k + 1 < n:
                B[k] -= (LD[k + 1 :, k].unsqueeze(-1) * B[k + 1 :]).sum(0)
            swap(k, piv[k] - 1)
            k -= 1
        else:
            if k + 1 < n:
                B[k] -= (LD[k + 1 :, k].unsqueeze(-1) * B[k + 1 :]).sum(0)
                B[k - 1] -= (LD[k + 1 :, k - 1].unsqueeze(-1) * B[k + 1 :]).sum(0)
            swap(k, -piv[k] - 1)
            k -= 2
    return B


@_writes_out
def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False) -> Tensor:
    """X with A X = B for A given by ``ldl_factor``'s ``(LD, pivots)``; batch dimensions
    broadcast. Not differentiable (as in PyTorch)."""
    name = "torch.linalg.ldl_solve"
    if LD.dim() < 2:
        raise RuntimeError(f"{name}: The input tensor LD must have at least 2 dimensions.")
    if LD.shape[-1] != LD.shape[-2]:
        raise RuntimeError(
            f"{name}: A must be batches of square matrices, but they are "
            f"{LD.shape[-2]} by {LD.shape[-1]} matrices"
        )
    if B.dim() < 2:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-max(B.dim(), 1)}, "
            f"{max(B.dim(), 1) - 1}], but got -2)"
        )
    if tuple(pivots.shape) != tuple(LD.shape[:-1]):
        raise RuntimeError(
            f"{name}: Expected LD.shape[:-1] and pivots.shape to be the same, but got pivots "
            f"with shape {list(pivots.shape)} instead"
        )
    if not LD.is_floating_point():
        raise NotImplementedError(
            f"{name}: Expected a floating point or complex tensor as input. "
            f"Got {_scalar_name(LD.dtype)}"
        )
    if B.dtype != LD.dtype:
        raise RuntimeError(
            "Expected b and A to have the same dtype, but found b of type "
            f"{_scalar_name(B.dtype)} and A of type {_scalar_name(LD.dtype)} instead."
        )
    n = LD.shape[-1]
    if B.shape[-2] != n:
        raise RuntimeError(
            f"Incompatible matrix sizes for {name}: each A matrix is {n} by {n} but each b "
            f"matrix is {B.shape[-2]} by {B.shape[-1]}"
        )
    _needs_float(LD, "ldl_solve_cpu")
    from . import broadcast_shapes

    batch = tuple(broadcast_shapes(tuple(LD.shape[:-2]), tuple(B.shape[:-2])))
    r = B.shape[-1]
    if LD.is_meta or B.is_meta:
        return _C.empty((*batch, n, r), dtype=B.dtype, device=B.device)
    with no_grad():
        count = math.prod(batch)
        LDs = LD.detach().expand(*batch, n, n).reshape(count, n, n)
        pivs = pivots.expand(*batch, n).reshape(count, n).tolist()
        Bs = B.detach().expand(*batch, n, r).reshape(count, n, r).clone()
        for j in range(Bs.shape[0]):
            _sytrs(LDs[j], pivs[j], Bs[j])
        X = Bs.reshape(*batch, n, r)
    (X,) = _guard("derivative for aten::linalg_ldl_solve is not implemented", (X,), (LD, B))
    return X


# --- triangular_solve ---------------------------------------------------------------------


@_writes_out
def triangular_solve(
    b: Tensor,
    A: Tensor,
    upper: bool = True,
    transpose: bool = False,
    unitriangular: bool = False,
) -> Any:
    """``torch.triangular_solve`` (deprecated for ``linalg.solve_triangular``):
    ``(solution, cloned_coefficient)`` with ``op(A) X = b``, op the transpose when
    ``transpose``, reading A's ``upper`` or lower triangle (unit diagonal when
    ``unitriangular``); batch dimensions broadcast and the clone of A is broadcast
    too. A zero on the diagonal gives inf/NaN, not an error."""
    _warn_once(
        "triangular_solve",
        "torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangular"
        "and will be removed in a future PyTorch release.\ntorch.linalg.solve_triangular "
        "has its arguments reversed and does not return a copy of one of the inputs.\n"
        "X = torch.triangular_solve(B, A).solution\nshould be replaced with\n"
        "X = torch.linalg.solve_triangular(A, B).",
        wrapped=True,
    )
    if b.dim() < 2:
        raise RuntimeError(
            "torch.triangular_solve: Expected b to have at least 2 dimensions, but it has "
            f"{b.dim()} dimensions instead"
        )
    if A.dim() < 2:
        raise RuntimeError(
            "torch.triangular_solve: Expected A to have at least 2 dimensions, but it has "
            f"{A.dim()} dimensions instead"
        )
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            f"A must be batches of square matrices, but they are {A.shape[-2]} by "
            f"{A.shape[-1]} matrices"
        )
    n = A.shape[-1]
    if b.shape[-2] != n:
        raise RuntimeError(
            f"Incompatible matrix sizes for triangular_solve: each A matrix is {n} by {n} but "
            f"each b matrix is {b.shape[-2]} by {b.shape[-1]}"
        )
    if b.dtype != A.dtype:
        raise RuntimeError(
            "Expected b and A to have the same dtype, but found b of type "
            f"{_scalar_name(b.dtype)} and A of type {_scalar_name(A.dtype)} instead."
        )
    _needs_float(A, "triangular_solve_cpu")
    from . import broadcast_shapes

    batch = tuple(broadcast_shapes(tuple(A.shape[:-2]), tuple(b.shape[:-2])))
    Ab = A.expand(*batch, n, n)
    # linalg.solve_triangular substitutes (no singularity check, as LAPACK's trtrs here)
    # and differentiates only the triangle it reads.
    T, up = (Ab.mT, not upper) if transpose else (Ab, upper)
    X = solve_triangular(T, b.expand(*batch, n, b.shape[-1]), upper=up, unitriangular=unitriangular)
    return return_types.triangular_solve((X, Ab.clone()))


# --- randomised low-rank SVD and PCA ------------------------------------------------------


def _range_basis(A: Tensor, q: int, niter: int, M: Tensor | None) -> Tensor:
    """An orthonormal basis of (almost) the range of A - M: Gaussian sketch A R with q
    columns, sharpened by ``niter`` power iterations (Halko, Martinsson and Tropp 2011,
    algorithm 4.4, re-orthonormalised at every product)."""
    from . import randn

    n = A.shape[-1]
    R = randn(n, q, dtype=A.dtype, device=A.device)

    def times(X: Tensor) -> Tensor:
        return A @ X if M is None else A @ X - M @ X

    def times_t(X: Tensor) -> Tensor:
        return A.mT @ X if M is None else A.mT @ X - M.mT @ X

    Q = qr(times(R)).Q
    for _ in range(niter):
        Q = qr(times_t(Q)).Q
        Q = qr(times(Q)).Q
    return Q


def svd_lowrank(
    A: Tensor,
    q: int | None = 6,
    niter: int | None = 2,
    M: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """``(U, S, V)`` with A - M ~ U diag(S) V^T, of rank at most q, from a randomised
    range finder with ``niter`` power iterations (exact, up to rounding, when A - M has
    rank at most q). Works on A^T when A is wide or q < n, as PyTorch does, so the shapes
    are PyTorch's: U (*, m, k), S (*, k), V (*, n, k). Batched; differentiable through
    its QR and SVD."""
    q = 6 if q is None else q
    niter = 2 if niter is None else niter
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(A.shape)
    if m < n or n > q:
        Mt = None if M is None else M.mT
        Q = _range_basis(A.mT, q, niter, Mt)
        Bt = A @ Q if M is None else A @ Q - M @ Q
        U, S, Vh = svd(Bt, full_matrices=False)
        return U, S, Q @ Vh.mT
    Q = _range_basis(A, q, niter, M)
    B = Q.mT @ A if M is None else Q.mT @ A - Q.mT @ M
    U, S, Vh = svd(B, full_matrices=False)
    return Q @ U, S, Vh.mT


def pca_lowrank(
    A: Tensor,
    q: int | None = None,
    center: bool = True,
    niter: int = 2,
) -> tuple[Tensor, Tensor, Tensor]:
    """``(U, S, V)``: ``svd_lowrank`` of A with each column's mean removed (when
    ``center``); q defaults to min(6, m, n). V's columns are the principal directions
    and S**2 / (m - 1) the variances along them."""
    if not isinstance(A, Tensor):
        raise TypeError(f"input is expected to be a tensor, but got {type(A).__name__}")
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not (q >= 0 and q <= min(m, n)):
        raise ValueError(
            f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}"
        )
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return svd_lowrank(A, q, niter=niter, M=None)
    return svd_lowrank(A, q, niter=niter, M=A.mean(-2, keepdim=True))


# --- legacy norms -------------------------------------------------------------------------


def nuclear_norm(input: Tensor, *args: Any, keepdim: bool = False, out: Any = None) -> Tensor:
    """``torch.nuclear_norm(input, keepdim=False)`` or ``(input, dim, keepdim=False)``:
    the sum of the singular values over the last two dims (or ``dim``); deprecated in
    PyTorch for ``linalg.matrix_norm(A, 'nuc')``."""
    _warn_once(
        "nuclear_norm",
        "at::nuclear_norm is deprecated and it is just left for JIT compatibility. It will "
        "be removed in a future PyTorch release. Please use `linalg.matrix_norm(A, 'nuc', "
        "dim, keepdim)` instead",
    )
    dim: Any = (-2, -1)
    if args and isinstance(args[0], bool):
        keepdim = args[0]
    elif args:
        dim = args[0]
        if len(args) > 1:
            keepdim = bool(args[1])
    if isinstance(dim, int):
        dim = (dim,)
    dim = tuple(dim)
    if len(dim) != 2:
        raise RuntimeError(
            f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}"
        )
    return matrix_norm(input, "nuc", dim, keepdim, out=out)


def frobenius_norm(
    input: Tensor, dim: Sequence[int], keepdim: bool = False, *, out: Any = None
) -> Tensor:
    """The square root of the sum of squares over ``dim`` (at most two dims; all of
    them when ``dim`` is empty); deprecated in PyTorch for ``linalg.vector_norm``."""
    _warn_once(
        "frobenius_norm",
        "at::frobenius_norm is deprecated and it is just left for JIT compatibility. It "
        "will be removed in a future PyTorch release. Please use `linalg.vector_norm(A, "
        "2., dim, keepdim)` instead",
    )
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) > 2:
        raise RuntimeError(
            f"Expected at most 2 dimensions, but got {len(dims)} dimensions instead."
        )
    nd = max(input.dim(), 1)
    if len(dims) == 2 and dims[0] % nd == dims[1] % nd:
        raise RuntimeError(f"dim {dims[0] % nd} appears multiple times in the list of dims")
    if not input.is_floating_point():
        raise NotImplementedError(
            "norm(): input dtype should be either floating point or complex. "
            f"Got {_scalar_name(input.dtype)} instead."
        )
    return vector_norm(input, 2, list(dims) if dims else None, keepdim, out=out)


def native_norm(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """``torch.native_norm`` exists in PyTorch for sparse tensors only; on a dense tensor
    PyTorch raises NotImplementedError, and so does rtorch (which has no sparse
    tensors)."""
    many = len(args) + len(kwargs) > 1
    overload = "aten::native_norm.ScalarOpt_dim_dtype" if many else "aten::native_norm"
    device = "CUDA" if getattr(input, "is_cuda", False) else "CPU"
    raise NotImplementedError(
        f"Could not run '{overload}' with arguments from the '{device}' backend. "
        f"'{overload}' is only available for sparse tensors, which rtorch does not have."
    )


FUNCTIONS: dict[str, Any] = {
    "geqrf": geqrf,
    "orgqr": orgqr,
    "ormqr": ormqr,
    "triangular_solve": triangular_solve,
    "svd_lowrank": svd_lowrank,
    "pca_lowrank": pca_lowrank,
    "nuclear_norm": nuclear_norm,
    "frobenius_norm": frobenius_norm,
    "native_norm": native_norm,
}
METHODS: dict[str, Any] = {
    "geqrf": geqrf,
    "orgqr": orgqr,
    "ormqr": ormqr,
    "triangular_solve": triangular_solve,
}
# torch.linalg names, installed by rtorch/linalg.py.
LINALG: dict[str, Any] = {
    "householder_product": householder_product,
    "ldl_factor": ldl_factor,
    "ldl_factor_ex": ldl_factor_ex,
    "ldl_solve": ldl_solve,
}
