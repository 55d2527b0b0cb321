"""``rtorch.linalg``: norms, matrix products and the decompositions (solve, inv, det,
slogdet, cholesky, qr, eigh, svd, lstsq, pinv, matrix_rank) under their
``torch.linalg`` names, plus the legacy top-level forms (``torch.inverse``,
``torch.det``, ``torch.svd``, ...).

The decompositions run in Rust (``_C._linalg_*``, on faer). Their gradients are
``autograd.Function``s defined here, whose backward formulas (PyTorch's) are written
with differentiable rtorch ops, so double backward works. ARCHITECTURE.md asks for
backward formulas next to the op in Rust; keeping them in Python was a time-boxed,
accepted deviation (the formulas are short compositions of existing ops, and Python
made them quick to write and check with gradcheck). Moving them to
``rust/rtorch-core/src/ops/linalg_decomp.rs`` is future work.

Sign conventions of Q/R, eigenvectors and singular vectors are faer's, which may
differ from LAPACK's (and so from PyTorch's): only the invariants match.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Union

from . import _C, return_types
from ._C import Tensor
from ._dtype_info import scalar_name
from .autograd.function import Function

__all__ = [
    "LinAlgError",
    "cholesky",
    "cholesky_ex",
    "cross",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "inv_ex",
    "lstsq",
    "matmul",
    "matrix_norm",
    "matrix_rank",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_ex",
    "svd",
    "svdvals",
    "vecdot",
    "vector_norm",
]

Dim = Union[int, Sequence[int], None]
Ord = Union[int, float, str, None]


def _into(out: Tensor, result: Tensor, name: str) -> None:
    """`result` written into `out` (PyTorch's rules for linalg outs: no autograd, the
    same dtype, resized when its shape differs)."""
    from . import is_grad_enabled

    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if is_grad_enabled() and (result.requires_grad or out.requires_grad):
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad."
        )
    if out.dtype != result.dtype:
        raise RuntimeError(
            f"{name}: Expected out tensor to have dtype {result.dtype}, but got {out.dtype} instead"
        )
    if out.shape != result.shape:
        out.resize_(result.shape)
    out.copy_(result)


def _writes_out(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` with PyTorch's `out=`: the result (each part of a tuple result, into the
    matching tensor of an `out` tuple) written into `out`, which is returned."""
    name = f"linalg.{fn.__name__}"

    def f(*args: Any, out: Any = None, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        if out is None:
            return result
        if isinstance(result, tuple):
            if not isinstance(out, (tuple, list)) or len(out) != len(result):
                raise TypeError(f"{name}(): argument 'out' must be tuple of {len(result)} Tensors")
            for o, r in zip(out, result):
                _into(o, r, name)
            return type(result)(tuple(out)) if type(result) is not tuple else tuple(out)
        _into(out, result, name)
        return out

    f.__name__, f.__qualname__, f.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    f.__wrapped__ = fn  # type: ignore[attr-defined]
    return f


@_writes_out
def vector_norm(
    x: Tensor,
    ord: float = 2,
    dim: Dim = None,
    keepdim: bool = False,
    *,
    dtype: object | None = None,
    out: Tensor | None = None,
) -> Tensor:
    """The ``ord``-norm of ``x`` over ``dim`` (all elements when ``dim`` is None)."""
    if isinstance(ord, str):
        raise RuntimeError(  # noqa: TRY004 - PyTorch raises RuntimeError here
            f"linalg.vector_norm: ord must be a number, got '{ord}'"
        )
    return _C._linalg_vector_norm(x, ord, dim, keepdim, dtype)


@_writes_out
def matrix_norm(
    A: Tensor,
    ord: float | str = "fro",
    dim: Sequence[int] = (-2, -1),
    keepdim: bool = False,
    *,
    dtype: object | None = None,
    out: Tensor | None = None,
) -> Tensor:
    """Matrix norm of ``A`` over the two dims ``dim``: 'fro', 'nuc', 1, -1, 2, -2,
    inf, -inf. 'nuc' and ±2 come from the singular values (and their gradient from
    the SVD's)."""
    if ord in ("nuc", 2, -2) and not isinstance(ord, bool):
        return _spectral_norm(A, ord, dim, keepdim, dtype)
    return _C._linalg_matrix_norm(A, ord, list(dim), keepdim, dtype)


@_writes_out
def norm(
    A: Tensor,
    ord: Ord = None,
    dim: Dim = None,
    keepdim: bool = False,
    *,
    dtype: object | None = None,
    out: Tensor | None = None,
) -> Tensor:
    """``torch.linalg.norm``: a vector norm or a matrix norm depending on ``ord`` and
    ``dim``, with PyTorch's rules."""
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None:
        dim = tuple(dim)
        if len(dim) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
        if len(dim) != 1:
            raise RuntimeError(
                f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}"
            )
        if isinstance(ord, str):
            raise RuntimeError(
                f"linalg.norm: If dim is specified, it mut be of length 1 or 2. Got {list(dim)}"
            )
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.dim() == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if A.dim() == 1 and not isinstance(ord, str):
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    raise RuntimeError(
        "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
        f"Got {A.dim()}D."
    )


def cross(input: Tensor, other: Tensor, *, dim: int = -1, out: Tensor | None = None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (which must have size 3); inputs of
    the same number of dimensions broadcast."""
    from ._special_ops import cross as _cross

    if input.dim() != other.dim():
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    result = _cross(input, other, dim)
    if out is not None:
        out.resize_(result.shape).copy_(result)
        return out
    return result


@_writes_out
def matmul(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Alias of ``rtorch.matmul``."""
    return _C.matmul(input, other)


@_writes_out
def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out: Tensor | None = None) -> Tensor:
    """Dot products of ``x`` and ``y`` along ``dim`` (broadcasting)."""
    return (x * y).sum(dim)


# ---------------------------------------------------------------------------------
# Decompositions
# ---------------------------------------------------------------------------------


class LinAlgError(RuntimeError):
    """Raised when a matrix is singular (solve, inv), not positive-definite
    (cholesky), or a decomposition does not converge; ``torch.linalg.LinAlgError``."""


# PyTorch's class is torch._C._LinAlgError; code may catch it under that name too.
_C._LinAlgError = LinAlgError

_scalar_name = scalar_name


def _check_matrix(A: Tensor, name: str, square: bool = False) -> None:
    """PyTorch's checks (and messages) for a ``(*, m, n)`` float32/float64 input."""
    if A.dim() < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if not A.is_floating_point():
        raise NotImplementedError(
            f"{name}: Expected a floating point or complex tensor as input. "
            f"Got {_scalar_name(A.dtype)}"
        )
    if str(A.dtype) not in ("torch.float32", "torch.float64"):
        raise NotImplementedError(
            f"{name}: Low precision dtypes not supported. Got {_scalar_name(A.dtype)}"
        )
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            f"{name}: A must be batches of square matrices, but they are "
            f"{A.shape[-2]} by {A.shape[-1]} matrices"
        )


def _raise_on_info(info: Tensor, batched: bool, message: Callable[[int], str]) -> None:
    """Raises ``LinAlgError`` for the first matrix whose ``info`` is not zero."""
    # A meta input has no values, hence no failure to report.
    if info.numel() == 0 or info.is_meta or not bool(info.ne(0).any()):
        return
    for i, code in enumerate(info.reshape(-1).tolist()):
        if code != 0:
            prefix = f"(Batch element {i}): " if batched else ""
            raise LinAlgError(message(code).replace("{batch}", prefix))


def _eye_like(A: Tensor, n: int) -> Tensor:
    from . import eye

    return eye(n, dtype=A.dtype, device=A.device)


def _zeros(shape: Sequence[int], dtype: object, like: Tensor) -> Tensor:
    """Zeros of ``shape`` and ``dtype`` on ``like``'s device."""
    from . import zeros

    return zeros(tuple(shape), dtype=dtype, device=like.device)


def _right_solve(R: Tensor, B: Tensor) -> Tensor:
    """``X`` with ``X R^T = B`` (differentiable)."""
    return _solve_raw(R, B.mT).mT


# --- solve / inv ---------------------------------------------------------------------


class _SolveFn(Function):
    """``X = A^{-1} B`` for equal batch shapes; gradient: gB = A^{-T} gX, gA = -gB X^T."""

    @staticmethod
    def forward(ctx: Any, A: Tensor, B: Tensor) -> tuple[Tensor, Tensor]:
        X, info = _C._linalg_solve_ex(A, B, "linalg.solve")
        ctx.save_for_backward(A, X)
        ctx.mark_non_differentiable(info)
        return X, info

    @staticmethod
    def backward(ctx: Any, gX: Tensor, _ginfo: Any) -> tuple[Tensor | None, Tensor | None]:
        A, X = ctx.saved_tensors
        gB = _solve_raw(A.mT, gX)
        gA = -(gB @ X.mT) if ctx.needs_input_grad[0] else None
        return gA, gB


def _solve_raw(A: Tensor, B: Tensor) -> Tensor:
    return _SolveFn.apply(A, B)[0]


def _solve_impl(A: Tensor, B: Tensor, left: bool) -> tuple[Tensor, Tensor]:
    name = "linalg.solve"
    _check_matrix(A, name, square=True)
    if B.dtype != A.dtype:
        if not B.is_floating_point():
            _check_matrix(B, name)
        raise RuntimeError(
            f"{name}: Expected A and B to have the same dtype, but found A of type "
            f"{_scalar_name(A.dtype)} and B of type {_scalar_name(B.dtype)} instead"
        )
    n = A.shape[-1]
    vector = B.dim() == 1 or (B.dim() == A.dim() - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if not left:
        A = A.mT
        if not vector:
            B = B.mT
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.dim() < 2 or Bm.shape[-2] != n:
        rows, cols = (Bm.shape[-2], Bm.shape[-1]) if Bm.dim() >= 2 else (Bm.numel(), 1)
        if not left and not vector:
            rows, cols = cols, rows
        raise RuntimeError(
            f"{name}: Incompatible shapes of A and B for the equation "
            f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {rows}x{cols})"
        )
    from . import broadcast_shapes

    batch = tuple(broadcast_shapes(tuple(A.shape[:-2]), tuple(Bm.shape[:-2])))
    X, info = _SolveFn.apply(A.expand(*batch, n, n), Bm.expand(*batch, n, Bm.shape[-1]))
    if vector:
        X = X.squeeze(-1)
    elif not left:
        X = X.mT
    return X, info


def _singular_solve_message(code: int) -> str:
    return "torch.linalg.solve: {batch}The solver failed because the input matrix is singular."


@_writes_out
def solve(A: Tensor, B: Tensor, *, left: bool = True, out: Tensor | None = None) -> Tensor:
    """The solution ``X`` of ``A X = B`` (``X A = B`` when ``left`` is False), batched
    and broadcast; raises ``LinAlgError`` when ``A`` is singular."""
    X, info = _solve_impl(A, B, left)
    _raise_on_info(info, A.dim() > 2, _singular_solve_message)
    return X


@_writes_out
def solve_ex(
    A: Tensor,
    B: Tensor,
    *,
    left: bool = True,
    check_errors: bool = False,
    out: tuple[Tensor, Tensor] | None = None,
) -> Any:
    """``solve`` returning ``(result, info)``; info > 0 marks a singular matrix."""
    X, info = _solve_impl(A, B, left)
    if check_errors:
        _raise_on_info(info, A.dim() > 2, _singular_solve_message)
    return return_types.linalg_solve_ex((X, info))


class _InvFn(Function):
    """``A^{-1}``; gradient: gA = -X^T gX X^T."""

    @staticmethod
    def forward(ctx: Any, A: Tensor) -> tuple[Tensor, Tensor]:
        X, info = _C._linalg_inv_ex(A, "linalg.inv")
        ctx.save_for_backward(X)
        ctx.mark_non_differentiable(info)
        return X, info

    @staticmethod
    def backward(ctx: Any, gX: Tensor, _ginfo: Any) -> Tensor:
        (X,) = ctx.saved_tensors
        Xt = X.mT
        return -(Xt @ gX @ Xt)


def _inv_raw(A: Tensor) -> Tensor:
    return _InvFn.apply(A)[0]


def _inv_message(code: int) -> str:
    return (
        f"linalg.inv: {{batch}}The diagonal element {code} is zero, the inversion could "
        "not be completed because the input matrix is singular."
    )


@_writes_out
def inv_ex(A: Tensor, *, check_errors: bool = False, out: Any = None) -> Any:
    """``(inverse, info)`` of square matrices; info > 0 marks a singular matrix."""
    _check_matrix(A, "linalg.inv", square=True)
    X, info = _InvFn.apply(A)
    if check_errors:
        _raise_on_info(info, A.dim() > 2, _inv_message)
    return return_types.linalg_inv_ex((X, info))


@_writes_out
def inv(A: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The inverse of square matrices; raises ``LinAlgError`` when one is singular."""
    _check_matrix(A, "linalg.inv", square=True)
    X, info = _InvFn.apply(A)
    _raise_on_info(info, A.dim() > 2, _inv_message)
    return X


# --- det / slogdet ---------------------------------------------------------------------


class _DetFn(Function):
    """``det(A)``; gradient: g * cofactor(A) (det A^{-T}, or from the SVD when A is
    singular)."""

    @staticmethod
    def forward(ctx: Any, A: Tensor) -> Tensor:
        d, _sign, _logabs = _C._linalg_det(A, "linalg.det")
        ctx.save_for_backward(A, d)
        return d

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        A, d = ctx.saved_tensors
        if A.shape[-1] == 0:
            return A * 0
        # A meta input has no values: its gradient has the shape of the invertible case.
        if d.is_meta or not bool(d.eq(0).any()):
            return (g * d).unsqueeze(-1).unsqueeze(-1) * _inv_raw(A).mT
        # cofactor(A) = det(U) det(Vh) U diag(prod_{j != i} s_j) Vh, defined for
        # singular A too.
        from . import where

        U, S, Vh, _ = _SVDFn.apply(A, False)
        n = S.shape[-1]
        eye = _eye_like(A, n).bool()
        others = where(eye, S.new_ones(()), S.unsqueeze(-2).expand(*S.shape[:-1], n, n))
        prods = others.prod(-1)
        with _no_grad():
            du = _DetFn.apply(U.detach()) * _DetFn.apply(Vh.detach())
        cof = (U * prods.unsqueeze(-2)) @ Vh
        return (g * du).unsqueeze(-1).unsqueeze(-1) * cof


def _no_grad() -> Any:
    from .autograd import no_grad

    return no_grad()


@_writes_out
def det(A: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The determinant of square matrices (batched)."""
    _check_matrix(A, "linalg.det", square=True)
    return _DetFn.apply(A)


class _SlogdetFn(Function):
    """``(sign, log|det A|)``; gradient of the log: g A^{-T} (sign has none)."""

    @staticmethod
    def forward(ctx: Any, A: Tensor) -> tuple[Tensor, Tensor]:
        _d, sign, logabs = _C._linalg_det(A, "linalg.slogdet")
        ctx.save_for_backward(A)
        ctx.mark_non_differentiable(sign)
        return sign, logabs

    @staticmethod
    def backward(ctx: Any, _gsign: Any, glog: Tensor) -> Tensor:
        (A,) = ctx.saved_tensors
        if A.shape[-1] == 0:
            return A * 0
        return glog.unsqueeze(-1).unsqueeze(-1) * _inv_raw(A).mT


@_writes_out
def slogdet(A: Tensor, *, out: Any = None) -> Any:
    """``(sign, logabsdet)`` of square matrices: det = sign * exp(logabsdet)."""
    _check_matrix(A, "linalg.slogdet", square=True)
    return return_types.linalg_slogdet(_SlogdetFn.apply(A))


def _legacy_slogdet(A: Tensor) -> Any:
    """``torch.slogdet``."""
    return return_types.slogdet(tuple(slogdet(A)))


def _logdet(A: Tensor) -> Tensor:
    """``torch.logdet``: log(det A); nan for a negative determinant, -inf for zero."""
    from . import where

    _check_matrix(A, "logdet", square=True)
    sign, logabs = _SlogdetFn.apply(A)
    return where(sign.lt(0), logabs.new_full((), float("nan")), logabs)


# --- cholesky --------------------------------------------------------------------------


class _CholeskyFn(Function):
    """``L`` with ``A = L L^T`` (or ``U = L^T``); gradient (PyTorch's):
    gA = L^{-T} Phi(L^T gL) L^{-1}, Phi symmetrising the lower triangle."""

    @staticmethod
    def forward(ctx: Any, A: Tensor, upper: bool) -> tuple[Tensor, Tensor]:
        L, info = _C._linalg_cholesky_ex(A, upper, "linalg.cholesky")
        ctx.upper = upper
        ctx.save_for_backward(L)
        ctx.mark_non_differentiable(info)
        return L, info

    @staticmethod
    def backward(ctx: Any, gL: Tensor, _ginfo: Any) -> tuple[Tensor, None]:
        (L,) = ctx.saved_tensors
        if ctx.upper:
            L, gL = L.mT, gL.mT
        phi = (L.mT @ gL).tril()
        phi = 0.5 * (phi + phi.tril(-1).mT)
        Linv = _inv_raw(L)
        return Linv.mT @ phi @ Linv, None


def _cholesky_message(code: int) -> str:
    return (
        "linalg.cholesky: {batch}The factorization could not be completed because the "
        f"input is not positive-definite (the leading minor of order {code} is not "
        "positive-definite)."
    )


@_writes_out
def cholesky_ex(
    A: Tensor, *, upper: bool = False, check_errors: bool = False, out: Any = None
) -> Any:
    """``(L, info)``: the Cholesky factor and, per matrix, the order of the first
    leading minor that is not positive-definite (0: success). A failed factor is
    zeros here (LAPACK leaves a partial factor)."""
    _check_matrix(A, "linalg.cholesky", square=True)
    L, info = _CholeskyFn.apply(A, bool(upper))
    if check_errors:
        _raise_on_info(info, A.dim() > 2, _cholesky_message)
    return return_types.linalg_cholesky_ex((L, info))


@_writes_out
def cholesky(A: Tensor, *, upper: bool = False, out: Tensor | None = None) -> Tensor:
    """The Cholesky factor ``L`` (``A = L L^T``, read from the lower triangle), or
    ``U`` (``A = U^T U``, from the upper triangle) when ``upper``; raises
    ``LinAlgError`` when a matrix is not positive-definite."""
    _check_matrix(A, "linalg.cholesky", square=True)
    L, info = _CholeskyFn.apply(A, bool(upper))
    _raise_on_info(info, A.dim() > 2, _cholesky_message)
    return L


@_writes_out
def _legacy_cholesky(A: Tensor, upper: bool = False, *, out: Tensor | None = None) -> Tensor:
    """``torch.cholesky`` (deprecated in PyTorch in favour of ``linalg.cholesky``)."""
    return cholesky(A, upper=upper)


@_writes_out
def _cholesky_solve(B: Tensor, L: Tensor, upper: bool = False, *, out: Any = None) -> Tensor:
    """``torch.cholesky_solve``: ``X`` with ``(L L^T) X = B`` given the factor ``L``
    (or ``U`` with ``U^T U`` when ``upper``): two triangular solves, batch dims broadcast;
    a zero on L's diagonal gives inf/NaN, as PyTorch."""
    from ._linalg_compositions import solve_triangular

    if B.dim() < 2:
        raise RuntimeError(
            f"b should have at least 2 dimensions, but has {B.dim()} dimensions instead"
        )
    _check_matrix(L, "cholesky_solve", square=True)
    if B.dtype != L.dtype:
        raise RuntimeError(
            f"Expected b and A to have the same dtype, but found b of type "
            f"{_scalar_name(B.dtype)} and A of type {_scalar_name(L.dtype)} instead."
        )
    if B.shape[-2] != L.shape[-1]:
        raise RuntimeError(
            f"Incompatible matrix sizes for cholesky_solve: each A matrix is {L.shape[-1]} "
            f"by {L.shape[-1]} but each b matrix is {B.shape[-2]} by {B.shape[-1]}"
        )
    if upper:
        L = L.mT
    return solve_triangular(L.mT, solve_triangular(L, B, upper=False), upper=True)


# --- qr --------------------------------------------------------------------------------


def _copyltu(M: Tensor) -> Tensor:
    """The symmetric matrix with ``M``'s lower triangle."""
    return M.tril() + M.tril(-1).mT


def _qr_grad_tall(Q: Tensor, R: Tensor, gQ: Tensor, gR: Tensor) -> Tensor:
    """gA of A = QR with square R: [gQ + Q copyltu(M)] R^{-T}, M = R gR^T - gQ^T Q."""
    M = R @ gR.mT - gQ.mT @ Q
    return _right_solve(R, gQ + Q @ _copyltu(M))


class _QRFn(Function):
    @staticmethod
    def forward(ctx: Any, A: Tensor, mode: str) -> tuple[Tensor, Tensor]:
        Q, R = _C._linalg_qr(A, mode)
        ctx.mode = mode
        ctx.save_for_backward(Q, R)
        return Q, R

    @staticmethod
    def backward(ctx: Any, gQ: Tensor, gR: Tensor) -> tuple[Tensor, None]:
        Q, R = ctx.saved_tensors
        if ctx.mode == "r":
            raise RuntimeError(
                "The derivative of linalg.qr depends on Q, which is not computed when "
                "mode='r'. Please use linalg.qr(A, mode='reduced') if you are going to "
                "differentiate through linalg.qr."
            )
        m, n = Q.shape[-2], R.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError(
                "The QR decomposition is not differentiable when mode='complete' and nrows > ncols."
            )
        if m >= n:
            return _qr_grad_tall(Q, R, gQ, gR), None
        # Wide: A = [X | Y], R = [U | V] with X = QU and Y = QV.
        from . import cat

        U, V = R.narrow(-1, 0, m), R.narrow(-1, m, n - m)
        gU, gV = gR.narrow(-1, 0, m), gR.narrow(-1, m, n - m)
        gX = _qr_grad_tall(Q, U, gQ + Q @ (V @ gV.mT), gU)
        return cat([gX, Q @ gV], -1), None


@_writes_out
def qr(A: Tensor, mode: str = "reduced", *, out: Any = None) -> Any:
    """``(Q, R)`` with ``A = QR``: mode 'reduced' (Q ``m x k``), 'complete' (Q
    ``m x m``) or 'r' (Q empty). Signs of the columns of Q and rows of R may differ
    from LAPACK's."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' "
            "(default), 'r', or 'complete'"
        )
    _check_matrix(A, "linalg.qr")
    return return_types.linalg_qr(_QRFn.apply(A, mode))


@_writes_out
def _legacy_qr(A: Tensor, some: bool = True, *, out: Any = None) -> Any:
    """``torch.qr(A, some)``."""
    return return_types.qr(tuple(qr(A, "reduced" if some else "complete")))


# --- eigh ------------------------------------------------------------------------------


def _uplo(UPLO: str) -> bool:
    if UPLO not in ("L", "U", "l", "u"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO in ("U", "u")


class _EighFn(Function):
    """Eigenvalues ``w`` (ascending) and eigenvectors ``V`` of symmetric matrices;
    gradient: V (diag(gw) + skew(V^T gV) / E) V^T, E_ij = w_j - w_i."""

    @staticmethod
    def forward(ctx: Any, A: Tensor, upper: bool) -> tuple[Tensor, Tensor, Tensor]:
        w, V, info = _C._linalg_eigh(A, upper, True, "linalg.eigh")
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(w, V)
        ctx.mark_non_differentiable(info)
        return w, V, info

    @staticmethod
    def backward(
        ctx: Any, gw: Tensor | None, gV: Tensor | None, _ginfo: Any
    ) -> tuple[Tensor | None, None]:
        w, V = ctx.saved_tensors
        if gw is None and gV is None:
            return None, None
        if gV is None:
            inner = gw.diag_embed()
        else:
            VtgV = V.mT @ gV
            skew = 0.5 * (VtgV - VtgV.mT)
            E = w.unsqueeze(-2) - w.unsqueeze(-1) + _eye_like(w, w.shape[-1])
            inner = skew / E
            if gw is not None:
                inner = inner + gw.diag_embed()
        return V @ inner @ V.mT, None


def _eigh_message(code: int) -> str:
    return (
        "linalg.eigh: {batch}The algorithm failed to converge because the input matrix "
        f"is ill-conditioned or has too many repeated eigenvalues (error code: {code})."
    )


@_writes_out
def eigh(A: Tensor, UPLO: str = "L", *, out: Any = None) -> Any:
    """``(eigenvalues, eigenvectors)`` of symmetric matrices, read from the lower
    (``UPLO='L'``) or upper triangle; eigenvalues ascending. The sign of each
    eigenvector may differ from LAPACK's."""
    upper = _uplo(UPLO)
    _eigh_checks(A)
    w, V, info = _EighFn.apply(A, upper)
    _raise_on_info(info, A.dim() > 2, _eigh_message)
    return return_types.linalg_eigh((w, V))


def _eigh_checks(A: Tensor) -> None:
    if A.dim() >= 2 and not A.is_floating_point():
        raise NotImplementedError(
            f"\"linalg_eigh_cpu\" not implemented for '{_scalar_name(A.dtype)}'"
        )
    _check_matrix(A, "linalg.eigh", square=True)


def _wants_grad(A: Tensor) -> bool:
    return A.requires_grad and _C.is_grad_enabled()


@_writes_out
def eigvalsh(A: Tensor, UPLO: str = "L", *, out: Tensor | None = None) -> Tensor:
    """The eigenvalues (ascending) of symmetric matrices."""
    upper = _uplo(UPLO)
    _eigh_checks(A)
    if _wants_grad(A):
        w, _V, info = _EighFn.apply(A, upper)
    else:
        w, _V, info = _C._linalg_eigh(A, upper, False, "linalg.eigh")
    _raise_on_info(info, A.dim() > 2, _eigh_message)
    return w


# --- svd -------------------------------------------------------------------------------


class _SVDFn(Function):
    """``U, S, Vh`` with ``A = U diag(S) Vh``; gradient: PyTorch's svd_backward (real
    case: no gauge check is needed, the signs of singular vector pairs cancel)."""

    @staticmethod
    def forward(ctx: Any, A: Tensor, full: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        U, S, Vh, info = _C._linalg_svd(A, full, True, "linalg.svd")
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(U, S, Vh)
        ctx.mark_non_differentiable(info)
        return U, S, Vh, info

    @staticmethod
    def backward(
        ctx: Any, gU: Tensor | None, gS: Tensor | None, gVh: Tensor | None, _ginfo: Any
    ) -> tuple[Tensor | None, None]:
        U, S, Vh = ctx.saved_tensors
        m, n = U.shape[-2], Vh.shape[-1]
        k = S.shape[-1]
        # With full_matrices the extra columns of U / rows of Vh are arbitrary: their
        # gradient is dropped, as PyTorch does.
        if U.shape[-1] != k:
            U = U.narrow(-1, 0, k)
            gU = gU.narrow(-1, 0, k) if gU is not None else None
        if Vh.shape[-2] != k:
            Vh = Vh.narrow(-2, 0, k)
            gVh = gVh.narrow(-2, 0, k) if gVh is not None else None
        if gU is None and gVh is None:
            if gS is None:
                return None, None
            return U @ (gS.unsqueeze(-1) * Vh), None
        V = Vh.mT
        gV = gVh.mT if gVh is not None else None
        S2 = S * S
        E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + _eye_like(S, k)
        UhgU = None if gU is None else U.mT @ gU
        VhgV = None if gV is None else V.mT @ gV
        if UhgU is not None:
            UhgU = UhgU - UhgU.mT
        if VhgV is not None:
            VhgV = VhgV - VhgV.mT
        if UhgU is not None and VhgV is not None:
            gA = (UhgU * S.unsqueeze(-2) + S.unsqueeze(-1) * VhgV) / E
        elif UhgU is not None:
            gA = UhgU * (S.unsqueeze(-2) / E)
        else:
            gA = S.unsqueeze(-1) * (VhgV / E)
        if gS is not None:
            gA = gA + gS.diag_embed()
        if m > n and gU is not None:
            gA = U @ gA
            gUSinv = gU / S.unsqueeze(-2)
            gA = gA + gUSinv - U @ (U.mT @ gUSinv)
            gA = gA @ Vh
        elif m < n and gV is not None:
            gA = gA @ Vh
            SinvgVh = gV.mT / S.unsqueeze(-1)
            gA = gA + SinvgVh - (SinvgVh @ V) @ Vh
            gA = U @ gA
        else:
            gA = U @ gA @ Vh
        return gA, None


def _svd_message(code: int) -> str:
    if code < 0:
        return (
            "linalg.svd: The algorithm failed to converge because the input matrix "
            "contained non-finite values."
        )
    return (
        "linalg.svd: {batch}The algorithm failed to converge because the input matrix "
        f"is ill-conditioned or has too many repeated singular values (error code: {code})."
    )


def _check_svd(S: Tensor, info: Tensor, batched: bool) -> None:
    # The kernel answers NaNs for a matrix with a non-finite entry, where PyTorch
    # raises; a NaN singular value cannot come from a finite matrix.
    if S.numel() and not S.is_meta and bool(S.isnan().any()):
        raise LinAlgError(_svd_message(-1))
    _raise_on_info(info, batched, _svd_message)


def _check_svd_input(A: Tensor) -> None:
    if A.dim() >= 2 and str(A.dtype) in ("torch.float16", "torch.bfloat16"):
        raise NotImplementedError(
            f"\"linalg_svd_cpu\" not implemented for '{_scalar_name(A.dtype)}'"
        )
    _check_matrix(A, "linalg.svd")


@_writes_out
def svd(
    A: Tensor, full_matrices: bool = True, *, driver: str | None = None, out: Any = None
) -> Any:
    """``(U, S, Vh)`` with ``A = U diag(S) Vh``, S descending. ``full_matrices``
    gives square U and Vh. Signs of singular vector pairs may differ from LAPACK's."""
    _check_svd_input(A)
    U, S, Vh, info = _SVDFn.apply(A, bool(full_matrices))
    _check_svd(S, info, A.dim() > 2)
    return return_types.linalg_svd((U, S, Vh))


@_writes_out
def svdvals(A: Tensor, *, driver: str | None = None, out: Tensor | None = None) -> Tensor:
    """The singular values of ``A``, descending."""
    _check_svd_input(A)
    if _wants_grad(A):
        _U, S, _Vh, info = _SVDFn.apply(A, False)
    else:
        _U, S, _Vh, info = _C._linalg_svd(A, False, False, "linalg.svd")
    _check_svd(S, info, A.dim() > 2)
    return S


@_writes_out
def _legacy_svd(A: Tensor, some: bool = True, compute_uv: bool = True, *, out: Any = None) -> Any:
    """``torch.svd``: ``(U, S, V)`` (V, not Vh); without ``compute_uv``, U and V are
    zeros of the full shapes."""
    if not compute_uv:
        S = svdvals(A)
        m, n = A.shape[-2], A.shape[-1]
        batch = tuple(A.shape[:-2])
        U = _zeros((*batch, m, m), A.dtype, A)
        V = _zeros((*batch, n, n), A.dtype, A)
        return return_types.svd((U, S, V))
    U, S, Vh = svd(A, full_matrices=not some)
    return return_types.svd((U, S, Vh.mT))


# --- pinv / matrix_rank / lstsq / spectral norms --------------------------------------


def _tol(value: float | Tensor | None, like: Tensor) -> Tensor | None:
    """A tolerance as a tensor that broadcasts against singular values ``(*, k)``."""
    if value is None:
        return None
    if isinstance(value, Tensor):
        return value.to(like.dtype).unsqueeze(-1)
    return like.new_full((), float(value))


def _threshold(
    S: Tensor,
    atol: float | Tensor | None,
    rtol: float | Tensor | None,
    m: int,
    n: int,
    dtype: Any = None,
) -> Tensor:
    """max(atol, rtol * max(S)) with PyTorch's defaults: rtol = eps * max(m, n) (eps of
    ``dtype``, the input's, which S may be wider than) unless only a positive atol is
    given (then rtol = 0)."""
    from . import finfo, maximum, where

    at = _tol(atol, S)
    rt = _tol(rtol, S)
    default = S.new_full((), finfo(dtype or S.dtype).eps * max(m, n))
    if rt is None:
        rt = default if at is None else where(at.gt(0), S.new_zeros(()), default)
    if at is None:
        at = S.new_zeros(())
    smax = S.amax(-1, keepdim=True)
    return maximum(at, rt * smax)


def _pinv_forward(A: Tensor, atol: Any, rtol: Any, hermitian: bool) -> Tensor:
    from . import float32, float64, where

    m, n = A.shape[-2], A.shape[-1]
    if min(m, n) == 0:
        return _zeros((*A.shape[:-2], n, m), A.dtype, A)
    # A float32 input is decomposed in float64 and the result rounded once: faer's
    # float32 SVD leaves an exactly zero singular value at about eps * max(S) (1.2e-7
    # for ones(3, 2)), where LAPACK often lands on 0, and torch.pinverse's default
    # rcond of 1e-15 would invert that noise into values of 1e7.
    W = A.to(float64) if A.dtype == float32 else A
    if hermitian:
        w, V, info = _C._linalg_eigh(W, False, True, "linalg.pinv")
        _raise_on_info(info, A.dim() > 2, _eigh_message)
        keep = w.abs().gt(_threshold(w.abs(), atol, rtol, m, n, A.dtype))
        winv = where(keep, 1 / w, w.new_zeros(()))
        P = (V * winv.unsqueeze(-2)) @ V.mT
    else:
        U, S, Vh, info = _C._linalg_svd(W, False, True, "linalg.pinv")
        _check_svd(S, info, A.dim() > 2)
        keep = S.gt(_threshold(S, atol, rtol, m, n, A.dtype))
        Sinv = where(keep, 1 / S, S.new_zeros(()))
        P = (Vh.mT * Sinv.unsqueeze(-2)) @ U.mT
    return P.to(A.dtype)


class _PinvFn(Function):
    """The pseudo-inverse; gradient: the Golub-Pereyra formula PyTorch uses, in terms
    of A and its pseudo-inverse only (no division by singular value gaps)."""

    @staticmethod
    def forward(ctx: Any, A: Tensor, atol: Any, rtol: Any, hermitian: bool) -> Tensor:
        P = _pinv_forward(A, atol, rtol, hermitian)
        ctx.save_for_backward(A, P)
        return P

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor, None, None, None]:
        A, P = ctx.saved_tensors
        m, n = A.shape[-2], A.shape[-1]
        Ph, gh = P.mT, g.mT
        if m <= n:
            K = gh @ P
            KPh = K @ Ph
            gA = -(P @ K).mT + KPh - (A @ P) @ KPh + (Ph @ P) @ (gh - K @ A)
        else:
            K = P @ gh
            PhK = Ph @ K
            gA = -(K @ P).mT + (gh - A @ K) @ P @ Ph + PhK - (PhK @ P) @ A
        return gA, None, None, None


def _check_pinv_input(A: Tensor) -> None:
    if A.dim() < 2 or str(A.dtype) not in ("torch.float32", "torch.float64"):
        raise RuntimeError(
            f"linalg.pinv({_scalar_name(A.dtype)}{{{list(A.shape)}}}): expected a tensor "
            "with 2 or more dimensions of float, double, cfloat or cdouble types"
        )


@_writes_out
def pinv(
    A: Tensor,
    *,
    atol: float | Tensor | None = None,
    rtol: float | Tensor | None = None,
    hermitian: bool = False,
    out: Tensor | None = None,
) -> Tensor:
    """The Moore-Penrose pseudo-inverse; singular values at or below
    max(atol, rtol * largest) count as zero. ``hermitian`` uses the symmetric
    eigendecomposition (lower triangle)."""
    _check_pinv_input(A)
    return _PinvFn.apply(A, atol, rtol, bool(hermitian))


def _pinverse(A: Tensor, rcond: float = 1e-15) -> Tensor:
    """``torch.pinverse(A, rcond)``: ``linalg.pinv`` with rtol = rcond."""
    return pinv(A, rtol=rcond)


@_writes_out
def matrix_rank(
    A: Tensor,
    tol: float | Tensor | None = None,
    hermitian: bool = False,
    *,
    atol: float | Tensor | None = None,
    rtol: float | Tensor | None = None,
    out: Tensor | None = None,
) -> Tensor:
    """The number of singular values (eigenvalue magnitudes when ``hermitian``) above
    max(atol, rtol * largest), as int64. The legacy ``tol`` is an absolute tolerance."""
    if A.dim() < 2 or str(A.dtype) not in ("torch.float32", "torch.float64"):
        if A.dim() < 2:
            raise RuntimeError(
                "torch.linalg.matrix_rank: The input tensor input must have at least 2 dimensions."
            )
        raise RuntimeError("This function doesn't handle types other than float and double")
    if tol is not None:
        atol, rtol = tol, 0.0
    m, n = A.shape[-2], A.shape[-1]
    A = A.detach()
    if min(m, n) == 0:
        from . import int64, zeros

        return zeros(tuple(A.shape[:-2]), dtype=int64, device=A.device)
    S = eigvalsh(A).abs() if hermitian else svdvals(A)
    return S.gt(_threshold(S, atol, rtol, m, n)).sum(-1)


_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def _lstsq_qr(A: Tensor, B: Tensor, rtol: float | None) -> Tensor | None:
    """The least-squares solution through a QR factorisation (of A when it is tall, of
    A^T when wide: the minimum-norm solution), or None unless every matrix is certified
    to have full rank by the singular-value rule of ``pinv``: smallest > rtol * largest
    follows from ||R||_F ||R^-1||_F < 1 / rtol, both norms bounding the extreme
    singular values of R, which are A's. A QR and a triangular inverse cost a fifth of
    the SVD that ``pinv`` needs (lstsq of 256x256: 22 -> 4 ms)."""
    m, n = A.shape[-2], A.shape[-1]
    k = min(m, n)
    if k == 0 or A.is_meta:
        return None
    tall = m >= n
    grad = _wants_grad(A) or _wants_grad(B)
    if grad:
        Q, R = _QRFn.apply(A if tall else A.mT, "reduced")
    else:
        Q, R = _C._linalg_qr(A if tall else A.mT, "reduced")
    Rd = R.detach()
    Rinv = _C._linalg_solve_triangular(Rd, _eye_like(Rd, k).expand(Rd.shape), True, False)
    eps = 2.0**-23 if A.dtype == _C.float32 else 2.0**-52
    tol = rtol if rtol is not None else eps * max(m, n)
    squares = Rd.square().sum((-2, -1)) * Rinv.square().sum((-2, -1))
    if not bool(squares.mul(tol * tol).lt(1).all()):
        return None
    if not grad:
        if tall:
            return _C._linalg_solve_triangular(R, Q.mT @ B, True, False)
        return Q @ _C._linalg_solve_triangular(R.mT, B, False, False)
    from ._linalg_compositions import solve_triangular

    if tall:
        return solve_triangular(R, Q.mT @ B, upper=True)
    return Q @ solve_triangular(R.mT, B, upper=False)


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None) -> Any:
    """Least-squares solution of ``A X = B``: the named tuple ``(solution, residuals,
    rank, singular_values)`` as PyTorch's CPU drivers fill it (default 'gelsy': rank
    only). The solution is the minimum-norm one, ``pinv(A, rtol=rcond) @ B`` (rcond
    defaults to eps * max(m, n)); rank comes from the singular values rather than
    LAPACK's pivoted QR. Matrices certified full rank solve through QR instead
    (``_lstsq_qr``)."""
    if driver is None:
        driver = "gelsy"
    if driver not in _LSTSQ_DRIVERS:
        raise RuntimeError(
            "torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)"
        )
    for X in (A, B):
        if str(X.dtype) not in ("torch.float32", "torch.float64"):
            raise RuntimeError("This function doesn't handle types other than float and double")
    if A.dim() < 2:
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if B.dtype != A.dtype:
        raise RuntimeError(
            "torch.linalg.lstsq: Expected input and other to have the same dtype, but got "
            f"input's dtype {_scalar_name(A.dtype)} and other's dtype {_scalar_name(B.dtype)}"
        )
    vector = B.dim() == A.dim() - 1
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.dim() < 2 or Bm.shape[-2] != A.shape[-2]:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    m, n = A.shape[-2], A.shape[-1]
    batch: tuple[int, ...] = ()
    if A.dim() > 2 or Bm.dim() > 2:
        from . import broadcast_shapes

        batch = tuple(broadcast_shapes(tuple(A.shape[:-2]), tuple(Bm.shape[:-2])))
        A = A.expand(*batch, m, n)
        Bm = Bm.expand(*batch, m, Bm.shape[-1])
    rtol = rcond if rcond is not None and rcond > 0 else None
    X = _lstsq_qr(A, Bm, rtol)
    full_rank = X is not None
    if X is None:
        X = pinv(A, rtol=rtol) @ Bm
    empty = A.new_zeros((0,))
    rank = _zeros((0,), _C.int64, A)
    S = empty
    if driver == "gelsy" and full_rank:
        rank = A.new_full(batch, min(m, n), dtype=_C.int64)
    elif driver != "gels":
        if min(m, n) == 0:
            S_all = A.new_zeros((*batch, 0))
            rank = _zeros(batch, _C.int64, A)
        else:
            S_all = svdvals(A.detach())
            rank = S_all.gt(_threshold(S_all, None, rtol, m, n)).sum(-1)
        if driver in ("gelsd", "gelss"):
            S = S_all
    residuals = empty
    if driver != "gelsy" and m > n and (driver == "gels" or bool(rank.eq(n).all())):
        residuals = (A @ X - Bm).pow(2).sum(-2)
        if vector:
            residuals = residuals.squeeze(-1)
    if vector:
        X = X.squeeze(-1)
    return return_types.linalg_lstsq((X, residuals, rank, S))


def _spectral_norm(
    A: Tensor, ord: float | str, dim: Sequence[int], keepdim: bool, dtype: object | None
) -> Tensor:
    """matrix_norm for ord 'nuc', 2, -2: sum, max or min of the singular values."""
    name = "linalg.matrix_norm"
    if A.dim() < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if not A.is_floating_point():
        raise NotImplementedError(
            f"{name}: Expected a floating point or complex tensor as input. "
            f"Got {_scalar_name(A.dtype)}"
        )
    if dtype is not None:
        A = A.to(dtype)
    dim = list(dim)
    if len(dim) != 2:
        raise RuntimeError(f"{name}: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    nd = A.dim()
    d0, d1 = (d + nd if d < 0 else d for d in dim)
    if not (0 <= d0 < nd and 0 <= d1 < nd):
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got "
            f"{dim[0] if not 0 <= d0 < nd else dim[1]})"
        )
    if d0 == d1:
        raise RuntimeError(f"{name}: dims must be different. Got ({dim[0]}, {dim[1]})")
    X = A.movedim((d0, d1), (-2, -1))
    if min(X.shape[-2], X.shape[-1]) == 0:
        r = _zeros(tuple(X.shape[:-2]), X.dtype, X)
    else:
        S = svdvals(X)
        if ord == "nuc":
            r = S.sum(-1)
        elif ord == 2:
            r = S.amax(-1)
        else:
            r = S.amin(-1)
    if keepdim:
        for d in sorted((d0, d1)):
            r = r.unsqueeze(d)
    return r


# Top-level PyTorch names (``torch.inverse`` ...) and Tensor methods, installed by
# ``rtorch/__init__.py``.
TOP_LEVEL: dict[str, Callable[..., Any]] = {
    "inverse": inv,
    "det": det,
    "logdet": _logdet,
    "slogdet": _legacy_slogdet,
    "cholesky": _legacy_cholesky,
    "cholesky_solve": _cholesky_solve,
    "cholesky_inverse": None,  # filled below
    "qr": _legacy_qr,
    "svd": _legacy_svd,
    "pinverse": _pinverse,
}


@_writes_out
def _cholesky_inverse(L: Tensor, upper: bool = False, *, out: Any = None) -> Tensor:
    """``torch.cholesky_inverse``: the inverse of ``L L^T`` (``U^T U`` when ``upper``)."""
    Linv = inv(L)
    return Linv @ Linv.mT if upper else Linv.mT @ Linv


TOP_LEVEL["cholesky_inverse"] = _cholesky_inverse

from ._linalg_compositions import FUNCTIONS as _COMPOSITIONS

globals().update(_COMPOSITIONS)
__all__.extend(sorted(_COMPOSITIONS))
TOP_LEVEL["matrix_exp"] = _COMPOSITIONS["matrix_exp"]

from ._linalg_lu import LINALG as _LU
from ._linalg_lu import legacy_lu, legacy_lu_solve, lu_unpack

globals().update(_LU)
__all__.extend(sorted(_LU))
# torch.lu and Tensor.lu, torch.lu_solve(b, LU, pivots) and b.lu_solve(LU, pivots).
TOP_LEVEL["lu"] = legacy_lu
TOP_LEVEL["lu_solve"] = legacy_lu_solve

from ._linalg_householder import LINALG as _HOUSEHOLDER

# householder_product, ldl_factor, ldl_factor_ex, ldl_solve.
globals().update(_HOUSEHOLDER)
__all__.extend(sorted(_HOUSEHOLDER))

METHODS: dict[str, Callable[..., Any]] = dict(TOP_LEVEL)
TOP_LEVEL["lu_unpack"] = lu_unpack  # a function only, as in PyTorch
