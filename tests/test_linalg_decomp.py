"""rtorch.linalg decompositions (solve, inv, det, slogdet, cholesky, qr, eigh, svd,
lstsq, pinv, matrix_rank, spectral matrix norms), their gradients, errors and the
legacy top-level forms.

References are numpy.linalg in float64 and closed forms. Factors that are unique only
up to signs (Q/R, eigenvectors, singular vectors) are checked through invariants:
faer's sign conventions may differ from LAPACK's.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import to_np

import rtorch
from rtorch.autograd import gradcheck, gradgradcheck

F32, F64 = rtorch.float32, rtorch.float64
RNG = np.random.default_rng(7)

# float32 results come out of O(n) (O(n^2) for the 70x70 cases) float32 operations
# and are compared with float64 numpy, so the error grows like n * eps * cond(A):
# well above assert_close's 1.3e-6. float64 keeps assert_close's tolerances, scaled
# only for reconstructions (sums of n products).
TOL = {F32: {"rtol": 2e-4, "atol": 2e-4}, F64: {"rtol": 1e-7, "atol": 1e-7}}
SIZES = [0, 1, 2, 5, 70]  # 70 > 64: faer's blocked code paths


def close(t: rtorch.Tensor, ref, dtype=None, scale: float = 1.0) -> None:
    tol = TOL[dtype or t.dtype]
    got = to_np(t)
    ref = np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape, f"shape {got.shape} != {ref.shape}"
    np.testing.assert_allclose(got, ref, rtol=tol["rtol"] * scale, atol=tol["atol"] * scale)


def T(a: np.ndarray, dtype=F64, transposed: bool = False, requires_grad: bool = False):
    """A tensor with the values of ``a``; with ``transposed``, a non-contiguous view
    (the transpose of a contiguous tensor holding ``a``'s transpose)."""
    if transposed:
        t = rtorch.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2)), dtype=dtype).mT
        assert not t.is_contiguous() or min(a.shape[-2:]) <= 1
    else:
        t = rtorch.tensor(np.ascontiguousarray(a), dtype=dtype)
    return t.requires_grad_(requires_grad) if requires_grad else t


def well_conditioned(batch: tuple, n: int) -> np.ndarray:
    return RNG.standard_normal((*batch, n, n)) / max(n, 1) ** 0.5 + 2 * np.eye(n)


def spd(batch: tuple, n: int) -> np.ndarray:
    x = RNG.standard_normal((*batch, n, n))
    return x @ np.swapaxes(x, -1, -2) / max(n, 1) + np.eye(n)


def sym(batch: tuple, n: int) -> np.ndarray:
    x = RNG.standard_normal((*batch, n, n))
    return (x + np.swapaxes(x, -1, -2)) / 2


# (batch shape, transposed input) for every size and dtype: a single contiguous
# matrix, and a batch of non-contiguous ones.
LAYOUTS = [((), False), ((2, 3), True)]
CASES = [(n, dt, b, tr) for n in SIZES for dt in (F32, F64) for (b, tr) in LAYOUTS]
IDS = [f"n{n}-{str(dt)[6:]}-{'b' if b else 's'}{'T' if tr else ''}" for n, dt, b, tr in CASES]


def eye_np(batch, n):
    return np.broadcast_to(np.eye(n), (*batch, n, n))


# --- solve / inv / det -------------------------------------------------------------------


@pytest.mark.parametrize("n,dtype,batch,tr", CASES, ids=IDS)
def test_solve_inv_det(n, dtype, batch, tr):
    a = well_conditioned(batch, n)
    b = RNG.standard_normal((*batch, n, 3))
    A = T(a, dtype, tr)
    X = rtorch.linalg.solve(A, T(b, dtype))
    assert X.dtype == dtype
    close(X, np.linalg.solve(a, b) if n else b)
    Ainv = rtorch.linalg.inv(A)
    close(Ainv, np.linalg.inv(a) if n else a)
    inv_ex = rtorch.linalg.inv_ex(A)
    assert inv_ex.info.dtype == rtorch.int32 and inv_ex.info.shape == batch
    assert not bool(inv_ex.info.ne(0).any())
    d = rtorch.linalg.det(A)
    assert d.shape == batch and d.dtype == dtype
    close(d, np.linalg.det(a) if n else np.ones(batch), scale=10)
    sign, logabs = rtorch.linalg.slogdet(A)
    rs, rl = np.linalg.slogdet(a) if n else (np.ones(batch), np.zeros(batch))
    close(sign, rs)
    close(logabs, rl, scale=10)


def test_solve_broadcast_vector_left():
    a = well_conditioned((2, 1), 4)
    b = RNG.standard_normal((3, 4, 2))
    X = rtorch.linalg.solve(T(a), T(b))
    assert X.shape == (2, 3, 4, 2)
    # (Both broadcast to matrices first: numpy 1 read a b one dimension short as vectors.)
    close(X, np.linalg.solve(np.broadcast_to(a, (2, 3, 4, 4)), np.broadcast_to(b, (2, 3, 4, 2))))
    v = RNG.standard_normal(4)
    close(rtorch.linalg.solve(T(a), T(v)), np.linalg.solve(a, v[:, None])[..., 0])
    # A batch of vectors: B of shape A.shape[:-1].
    a2 = well_conditioned((5,), 4)
    v2 = RNG.standard_normal((5, 4))
    close(rtorch.linalg.solve(T(a2), T(v2)), np.linalg.solve(a2, v2[..., None])[..., 0])
    # X A = B
    bl = RNG.standard_normal((3, 4))
    a1 = well_conditioned((), 4)
    close(rtorch.linalg.solve(T(a1), T(bl), left=False), bl @ np.linalg.inv(a1))
    res = rtorch.linalg.solve_ex(T(a1), T(bl.T))
    close(res.result, np.linalg.solve(a1, bl.T))
    assert res.info.item() == 0


def test_det_closed_forms():
    close(rtorch.det(T(np.array([[1.0, 2.0], [3.0, 4.0]]))), -2.0)
    assert rtorch.linalg.det(T(np.array([[1.0, 2.0], [2.0, 4.0]]))).item() == 0.0
    s, la = rtorch.linalg.slogdet(T(np.array([[1.0, 2.0], [2.0, 4.0]])))
    assert s.item() == 0.0 and la.item() == -float("inf")
    s, la = rtorch.slogdet(T(-np.eye(3)))
    assert (s.item(), la.item()) == (-1.0, 0.0)
    assert type(rtorch.slogdet(T(np.eye(2)))).__name__ == "slogdet"
    assert np.isnan(rtorch.logdet(T(-np.eye(3))).item())
    assert rtorch.logdet(T(np.array([[1.0, 2.0], [2.0, 4.0]]))).item() == -float("inf")
    close(rtorch.logdet(T(np.diag([2.0, 3.0]))), np.log(6.0))
    close(T(np.diag([2.0, 3.0])).det(), 6.0)
    close(rtorch.inverse(T(np.diag([2.0, 4.0]))), np.diag([0.5, 0.25]))
    close(T(np.diag([2.0, 4.0])).inverse(), np.diag([0.5, 0.25]))


def test_empty_batches_and_zero_size():
    assert rtorch.linalg.inv(rtorch.zeros(2, 3, 0, 0)).shape == (2, 3, 0, 0)
    assert rtorch.linalg.det(rtorch.zeros(0, 0)).item() == 1.0
    assert rtorch.linalg.det(rtorch.zeros(0, 4, 4)).shape == (0,)
    s, la = rtorch.linalg.slogdet(rtorch.zeros(2, 0, 0))
    assert s.tolist() == [1.0, 1.0] and la.tolist() == [0.0, 0.0]
    assert rtorch.linalg.solve(rtorch.zeros(0, 3, 3), rtorch.zeros(0, 3, 2)).shape == (0, 3, 2)
    assert rtorch.linalg.cholesky(rtorch.zeros(0, 0)).shape == (0, 0)
    w, v = rtorch.linalg.eigh(rtorch.zeros(0, 0))
    assert w.shape == (0,) and v.shape == (0, 0)
    U, S, Vh = rtorch.linalg.svd(rtorch.zeros(2, 0))
    assert U.tolist() == [[1.0, 0.0], [0.0, 1.0]] and S.shape == (0,) and Vh.shape == (0, 0)
    Q, R = rtorch.linalg.qr(rtorch.zeros(0, 3))
    assert Q.shape == (0, 0) and R.shape == (0, 3)
    Q, R = rtorch.linalg.qr(rtorch.zeros(3, 0), mode="complete")
    assert Q.tolist() == np.eye(3).tolist() and R.shape == (3, 0)
    assert rtorch.linalg.pinv(rtorch.zeros(0, 3)).shape == (3, 0)
    assert rtorch.linalg.matrix_rank(rtorch.zeros(0, 3)).item() == 0
    assert rtorch.linalg.svdvals(rtorch.zeros(3, 0)).shape == (0,)
    assert rtorch.linalg.matrix_norm(rtorch.zeros(0, 3), "nuc").item() == 0.0
    assert rtorch.linalg.matrix_norm(rtorch.zeros(0, 3), 2).item() == 0.0
    r = rtorch.linalg.lstsq(rtorch.zeros(0, 3), rtorch.zeros(0, 2))
    assert r.solution.tolist() == np.zeros((3, 2)).tolist() and r.rank.item() == 0


# --- errors ------------------------------------------------------------------------------


SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])
NOT_PD = np.array([[1.0, 2.0], [2.0, 1.0]])


def test_singular_errors():
    assert issubclass(rtorch.linalg.LinAlgError, RuntimeError)
    msg = (
        "linalg.inv: The diagonal element 2 is zero, the inversion could not be completed "
        "because the input matrix is singular."
    )
    with pytest.raises(rtorch.linalg.LinAlgError) as e:
        rtorch.linalg.inv(T(SINGULAR))
    assert str(e.value) == msg
    with pytest.raises(RuntimeError) as e:
        rtorch.linalg.inv(T(np.stack([np.eye(2), SINGULAR])))
    assert str(e.value) == msg.replace("linalg.inv: ", "linalg.inv: (Batch element 1): ")
    assert rtorch.linalg.inv_ex(T(SINGULAR)).info.item() == 2
    with pytest.raises(rtorch.linalg.LinAlgError) as e:
        rtorch.linalg.inv_ex(T(SINGULAR), check_errors=True)
    with pytest.raises(rtorch.linalg.LinAlgError) as e:
        rtorch.linalg.solve(T(SINGULAR), T(np.ones(2)))
    assert str(e.value) == (
        "torch.linalg.solve: The solver failed because the input matrix is singular."
    )
    with pytest.raises(rtorch.linalg.LinAlgError) as e:
        rtorch.linalg.solve(T(np.stack([np.eye(2), SINGULAR])), T(np.ones((2, 2))))
    assert "(Batch element 1): The solver failed" in str(e.value)


def test_cholesky_errors():
    with pytest.raises(rtorch.linalg.LinAlgError) as e:
        rtorch.linalg.cholesky(T(NOT_PD))
    assert str(e.value) == (
        "linalg.cholesky: The factorization could not be completed because the input is "
        "not positive-definite (the leading minor of order 2 is not positive-definite)."
    )
    with pytest.raises(rtorch.linalg.LinAlgError, match=r"\(Batch element 1\).*order 1 "):
        rtorch.linalg.cholesky(T(np.stack([np.eye(2), -np.eye(2)])))
    L, info = rtorch.linalg.cholesky_ex(T(NOT_PD))
    assert info.item() == 2 and info.dtype == rtorch.int32 and L.shape == (2, 2)


# Functions of square float matrices, with the name their errors give.
SQUARE_FLOAT_FNS = [
    (rtorch.linalg.inv, "linalg.inv"),
    (rtorch.linalg.det, "linalg.det"),
    (rtorch.linalg.slogdet, "linalg.slogdet"),
    (rtorch.linalg.cholesky, "linalg.cholesky"),
    (lambda a: rtorch.linalg.solve(a, a), "linalg.solve"),
]


@pytest.mark.parametrize(
    "fn,name",
    SQUARE_FLOAT_FNS
    + [
        (rtorch.linalg.eigh, "linalg.eigh"),
        (rtorch.linalg.eigvalsh, "linalg.eigh"),
        (rtorch.logdet, "logdet"),
    ],
)
def test_non_square_errors(fn, name):
    with pytest.raises(RuntimeError) as e:
        fn(rtorch.ones(2, 3))
    assert str(e.value) == (
        f"{name}: A must be batches of square matrices, but they are 2 by 3 matrices"
    )


@pytest.mark.parametrize(
    "fn,name",
    SQUARE_FLOAT_FNS
    + [
        (rtorch.linalg.svd, "linalg.svd"),
        (rtorch.linalg.svdvals, "linalg.svd"),
        (rtorch.linalg.qr, "linalg.qr"),
    ],
)
def test_integer_dtype_errors(fn, name):
    with pytest.raises(NotImplementedError) as e:
        fn(rtorch.ones(2, 2, dtype=rtorch.int64))
    assert str(e.value) == (
        f"{name}: Expected a floating point or complex tensor as input. Got Long"
    )


def test_other_argument_errors():
    with pytest.raises(NotImplementedError, match='"linalg_eigh_cpu" not implemented for'):
        rtorch.linalg.eigh(rtorch.ones(2, 2, dtype=rtorch.int64))
    with pytest.raises(RuntimeError, match="must have at least 2 dimensions"):
        rtorch.linalg.inv(rtorch.ones(3))
    with pytest.raises(
        RuntimeError,
        match="Incompatible shapes of A and B for the equation AX = B \\(2x2 and 3x1\\)",
    ):
        rtorch.linalg.solve(rtorch.eye(2), rtorch.ones(3))
    with pytest.raises(RuntimeError, match="Expected A and B to have the same dtype"):
        rtorch.linalg.solve(rtorch.eye(2), rtorch.eye(2, dtype=F64))
    with pytest.raises(RuntimeError, match="qr received unrecognized mode 'bad'"):
        rtorch.linalg.qr(rtorch.eye(2), mode="bad")
    with pytest.raises(RuntimeError, match="Expected UPLO argument to be 'L' or 'U', but got X"):
        rtorch.linalg.eigh(rtorch.eye(2), UPLO="X")
    with pytest.raises(RuntimeError, match="input.size\\(-2\\) should match other.size\\(-2\\)"):
        rtorch.linalg.lstsq(rtorch.ones(3, 2), rtorch.ones(4, 1))
    with pytest.raises(RuntimeError, match="parameter `driver` should be one of"):
        rtorch.linalg.lstsq(rtorch.ones(3, 2), rtorch.ones(3, 1), driver="foo")
    with pytest.raises(RuntimeError, match="expected a tensor with 2 or more dimensions of float"):
        rtorch.linalg.pinv(rtorch.ones(2, 2, dtype=rtorch.int64))
    with pytest.raises(NotImplementedError, match="Low precision dtypes not supported. Got Half"):
        rtorch.linalg.inv(rtorch.eye(2, dtype=rtorch.float16))
    with pytest.raises(NotImplementedError, match="\"linalg_svd_cpu\" not implemented for 'Half'"):
        rtorch.linalg.svd(rtorch.eye(2, dtype=rtorch.float16))
    with pytest.raises(rtorch.linalg.LinAlgError, match="non-finite values"):
        rtorch.linalg.svd(T(np.array([[np.nan, 1.0], [1.0, 1.0]])))


# --- cholesky ----------------------------------------------------------------------------


@pytest.mark.parametrize("n,dtype,batch,tr", CASES, ids=IDS)
def test_cholesky(n, dtype, batch, tr):
    a = spd(batch, n)
    L = rtorch.linalg.cholesky(T(a, dtype, tr))
    close(L, np.linalg.cholesky(a) if n else a)
    # upper=True reads the upper triangle only: garbage below the diagonal is ignored.
    garbage = a + np.tril(np.full((n, n), 100.0), -1)
    U = rtorch.linalg.cholesky(T(garbage, dtype, tr), upper=True)
    close(U, np.swapaxes(np.linalg.cholesky(a), -1, -2) if n else a)
    # and the default reads the lower one.
    close(
        rtorch.linalg.cholesky(T(a + np.triu(np.full((n, n), 100.0), 1), dtype)),
        np.linalg.cholesky(a) if n else a,
    )


def test_cholesky_solve_and_inverse():
    a = spd((), 4)
    b = RNG.standard_normal((4, 2))
    L = rtorch.linalg.cholesky(T(a))
    close(rtorch.cholesky_solve(T(b), L), np.linalg.solve(a, b))
    close(rtorch.cholesky_solve(T(b), L.mT, upper=True), np.linalg.solve(a, b))
    # PyTorch's checks, and no singularity check (a zero factor gives NaN, not an error).
    with pytest.raises(RuntimeError, match="each A matrix is 4 by 4 but each b matrix is 5 by 2"):
        rtorch.cholesky_solve(rtorch.ones(5, 2, dtype=rtorch.float64), L)
    with pytest.raises(RuntimeError, match="b should have at least 2 dimensions"):
        rtorch.cholesky_solve(rtorch.ones(4, dtype=rtorch.float64), L)
    with pytest.raises(RuntimeError, match="found b of type Float and A of type Double"):
        rtorch.cholesky_solve(rtorch.ones(4, 2), L)
    assert rtorch.cholesky_solve(rtorch.ones(2, 2), rtorch.zeros(2, 2)).isnan().all()
    close(rtorch.cholesky_inverse(L), np.linalg.inv(a))
    close(rtorch.cholesky(T(a)), np.linalg.cholesky(a))


# --- qr ----------------------------------------------------------------------------------


QR_SHAPES = [(0, 0), (1, 1), (2, 2), (5, 5), (70, 70), (5, 3), (3, 5), (80, 66), (66, 80)]


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("m,n", QR_SHAPES)
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr_invariants(m, n, dtype, mode):
    batch = (2, 3) if m < 10 else ()
    a = RNG.standard_normal((*batch, m, n))
    Q, R = rtorch.linalg.qr(T(a, dtype, transposed=bool(batch)), mode=mode)
    k = min(m, n)
    qc, rr = (m, m) if mode == "complete" else (k, k)
    assert R.shape == (*batch, rr, n) and R.dtype == dtype
    r = to_np(R)
    assert np.array_equal(r, np.triu(r))
    # R is unique up to the signs of its rows: |R| matches numpy's.
    r_np = np.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")[1]
    close(R.abs(), np.abs(r_np), scale=10)
    if mode == "r":
        assert Q.shape == (0,)
        return
    assert Q.shape == (*batch, m, qc)
    q = to_np(Q)
    close(Q.mT @ Q, eye_np(batch, qc), dtype=dtype, scale=10)
    close(Q @ R, a, dtype=dtype, scale=10)
    assert q.dtype == np.float64


def test_legacy_qr():
    a = RNG.standard_normal((4, 3))
    Q, R = rtorch.qr(T(a), some=False)
    assert Q.shape == (4, 4) and R.shape == (4, 3)
    close(Q @ R, a)


# --- eigh --------------------------------------------------------------------------------


@pytest.mark.parametrize("n,dtype,batch,tr", CASES, ids=IDS)
def test_eigh(n, dtype, batch, tr):
    a = sym(batch, n)
    w, V = rtorch.linalg.eigh(T(a, dtype, tr))
    assert w.shape == (*batch, n) and V.shape == (*batch, n, n)
    close(w, np.linalg.eigvalsh(a) if n else np.zeros((*batch, 0)), scale=10)
    wn = to_np(w)
    assert np.all(np.diff(wn, axis=-1) >= 0)  # ascending, as PyTorch
    close(V.mT @ V, eye_np(batch, n), dtype=dtype, scale=10)
    close(T(a, dtype) @ V, to_np(V) * wn[..., None, :], dtype=dtype, scale=10)
    close(rtorch.linalg.eigvalsh(T(a, dtype, tr)), wn)
    # UPLO='U' reads the upper triangle only.
    garbage = a + np.tril(np.full((n, n), 50.0), -1)
    close(rtorch.linalg.eigvalsh(T(garbage, dtype), UPLO="U"), wn, scale=10)
    garbage = a + np.triu(np.full((n, n), 50.0), 1)
    close(rtorch.linalg.eigh(T(garbage, dtype), UPLO="L").eigenvalues, wn, scale=10)


# --- svd ---------------------------------------------------------------------------------


SVD_SHAPES = QR_SHAPES + [(2, 0), (0, 2), (1, 4)]


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("m,n", SVD_SHAPES)
@pytest.mark.parametrize("full", [True, False])
def test_svd_invariants(m, n, dtype, full):
    batch = (2, 3) if m < 10 else ()
    a = RNG.standard_normal((*batch, m, n))
    U, S, Vh = rtorch.linalg.svd(T(a, dtype, transposed=bool(batch)), full_matrices=full)
    k = min(m, n)
    uc, vr = (m, n) if full else (k, k)
    assert U.shape == (*batch, m, uc) and S.shape == (*batch, k) and Vh.shape == (*batch, vr, n)
    s_np = np.linalg.svd(a, compute_uv=False) if k else np.zeros((*batch, 0))
    close(S, s_np, scale=10)
    close(U.mT @ U, eye_np(batch, uc), dtype=dtype, scale=10)
    close(Vh @ Vh.mT, eye_np(batch, vr), dtype=dtype, scale=10)
    Uk, Vhk = U.narrow(-1, 0, k), Vh.narrow(-2, 0, k)
    close((Uk * S.unsqueeze(-2)) @ Vhk, a, dtype=dtype, scale=10)
    close(rtorch.linalg.svdvals(T(a, dtype, transposed=bool(batch))), s_np, scale=10)


def test_float32_eigh_and_svd_round_a_float64_solution():
    """float32 eigh and svd run in float64 and round once (ops/linalg_decomp.rs): their
    values sit within one float32 ulp of the float64 solution of the same (float32)
    matrix, which a float32 iteration misses by n * eps * |A| on the small values."""
    a32 = RNG.standard_normal((80, 80)).astype(np.float32)
    s32 = (a32 + a32.T).astype(np.float32)
    w = to_np(rtorch.linalg.eigvalsh(rtorch.from_numpy(s32)))
    w_ref = np.linalg.eigvalsh(s32.astype(np.float64))
    ulp = np.spacing(np.abs(w_ref).astype(np.float32)).astype(np.float64)
    assert np.all(np.abs(w - w_ref) <= ulp), np.max(np.abs(w - w_ref) / ulp)
    sv = to_np(rtorch.linalg.svdvals(rtorch.from_numpy(a32[:, :50])))
    sv_ref = np.linalg.svd(a32[:, :50].astype(np.float64), compute_uv=False)
    ulp = np.spacing(sv_ref.astype(np.float32)).astype(np.float64)
    assert np.all(np.abs(sv - sv_ref) <= ulp), np.max(np.abs(sv - sv_ref) / ulp)


def test_legacy_svd():
    a = RNG.standard_normal((4, 3))
    U, S, V = rtorch.svd(T(a))
    assert U.shape == (4, 3) and V.shape == (3, 3)
    close((U * S) @ V.mT, a)
    U, S, V = rtorch.svd(T(a), some=False)
    assert U.shape == (4, 4) and V.shape == (3, 3)
    U, S, V = T(a).svd(compute_uv=False)
    assert U.shape == (4, 4) and V.shape == (3, 3) and not bool(U.ne(0).any())
    close(S, np.linalg.svd(a, compute_uv=False))


# --- pinv / lstsq / matrix_rank / matrix_norm -----------------------------------------


def rank_deficient(m: int, n: int, r: int) -> np.ndarray:
    return RNG.standard_normal((m, r)) @ RNG.standard_normal((r, n))


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (70, 66)])
def test_pinv_matrix_rank(shape, dtype):
    a = RNG.standard_normal(shape)
    close(rtorch.linalg.pinv(T(a, dtype)), np.linalg.pinv(a), scale=10)
    assert rtorch.linalg.matrix_rank(T(a, dtype)).item() == min(shape)
    d = rank_deficient(*shape, 2)
    close(rtorch.linalg.pinv(T(d, dtype)), np.linalg.pinv(d), scale=50)
    r = rtorch.linalg.matrix_rank(T(d, dtype))
    assert r.item() == 2 and r.dtype == rtorch.int64
    s = sym((), 4)
    close(rtorch.linalg.pinv(T(s, dtype), hermitian=True), np.linalg.pinv(s), scale=10)
    assert rtorch.linalg.matrix_rank(T(s, dtype), hermitian=True).item() == 4


def test_pinv_tolerances_and_batches():
    a = np.diag([1.0, 1e-3, 1e-9])
    close(rtorch.linalg.pinv(T(a)), np.diag([1.0, 1e3, 1e9]), scale=1e3)
    close(rtorch.linalg.pinv(T(a), rtol=1e-5), np.diag([1.0, 1e3, 0.0]))
    close(rtorch.linalg.pinv(T(a), atol=1e-2), np.diag([1.0, 0.0, 0.0]))
    close(rtorch.pinverse(T(a), rcond=1e-5), np.diag([1.0, 1e3, 0.0]))
    assert rtorch.linalg.matrix_rank(T(a), atol=1e-2).item() == 1
    assert rtorch.linalg.matrix_rank(T(a), tol=1e-6).item() == 2
    b = RNG.standard_normal((2, 3, 4, 5))
    close(rtorch.linalg.pinv(T(b, transposed=True)), np.linalg.pinv(b))
    assert rtorch.linalg.matrix_rank(rtorch.ones(2, 3, 3)).tolist() == [1, 1]


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("m,n", [(3, 2), (2, 3), (4, 4), (1, 5)])
def test_pinverse_default_rcond_of_an_exactly_rank_one_matrix(m, n, dtype):
    # pinv(ones(m, n)) = ones(n, m) / (m n). With rcond = 1e-15 a zero singular value
    # that the SVD leaves at rounding noise must not be inverted (it was: 4.8e6 for
    # float32 ones(3, 2)).
    want = np.ones((n, m)) / (m * n)
    close(rtorch.pinverse(rtorch.ones(m, n, dtype=dtype)), want, scale=10)
    close(rtorch.linalg.pinv(rtorch.ones(m, n, dtype=dtype), rtol=1e-15), want, scale=10)
    if m == n:
        p = rtorch.linalg.pinv(rtorch.ones(m, n, dtype=dtype), rtol=1e-15, hermitian=True)
        close(p, want, scale=10)
        assert p.dtype == dtype


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("m,n", [(5, 3), (3, 5), (4, 4), (70, 20)])
def test_lstsq(m, n, dtype):
    a = RNG.standard_normal((m, n))
    b = RNG.standard_normal((m, 2))
    ref, res_np, rank_np, sv_np = np.linalg.lstsq(a, b, rcond=None)
    r = rtorch.linalg.lstsq(T(a, dtype), T(b, dtype))
    assert type(r).__name__ == "linalg_lstsq"
    close(r.solution, ref, scale=10)
    assert r.rank.item() == rank_np and r.rank.dtype == rtorch.int64
    assert r.residuals.shape == (0,) and r.singular_values.shape == (0,)  # gelsy
    g = rtorch.linalg.lstsq(T(a, dtype), T(b, dtype), driver="gelsd")
    close(g.singular_values, sv_np, scale=10)
    if m > n:
        close(g.residuals, res_np, scale=10)
    else:
        assert g.residuals.shape == (0,)
    v = rtorch.linalg.lstsq(T(a, dtype), T(b[:, 0], dtype)).solution
    close(v, ref[:, 0], scale=10)


def test_lstsq_rank_deficient_and_batched():
    d = rank_deficient(6, 4, 2)
    b = RNG.standard_normal((6, 3))
    r = rtorch.linalg.lstsq(T(d), T(b))
    close(r.solution, np.linalg.lstsq(d, b, rcond=None)[0], scale=100)
    assert r.rank.item() == 2
    a = RNG.standard_normal((2, 5, 3))
    bb = RNG.standard_normal((2, 5, 2))
    r = rtorch.linalg.lstsq(T(a, transposed=True), T(bb))
    close(r.solution, np.stack([np.linalg.lstsq(a[i], bb[i], rcond=None)[0] for i in range(2)]))
    assert r.rank.tolist() == [3, 3]
    assert rtorch.linalg.lstsq(T(a), T(bb), driver="gels").rank.shape == (0,)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_lstsq_rank_decision_at_rcond(dtype):
    # Full-rank matrices solve through QR once ||R||_F ||R^-1||_F * rcond < 1 certifies
    # that no singular value falls at or below rcond * largest; diag(1, 1e-3) is
    # certified for rcond 1e-4 (bound 0.1) and not for 1e-2, where the singular-value
    # rule drops the small one (rank 1, its component of the solution zero).
    a = np.array([[1.0, 0.0], [0.0, 1e-3], [0.0, 0.0]])
    b = np.array([[1.0], [1.0], [1.0]])
    kept = rtorch.linalg.lstsq(T(a, dtype), T(b, dtype), rcond=1e-4)
    assert kept.rank.item() == 2
    close(kept.solution, [[1.0], [1000.0]], scale=100)
    for driver in ("gelsy", "gelsd"):
        dropped = rtorch.linalg.lstsq(T(a, dtype), T(b, dtype), rcond=1e-2, driver=driver)
        assert dropped.rank.item() == 1
        close(dropped.solution, [[1.0], [0.0]])
    # A wide matrix (minimum-norm solution through the QR of A^T), batched, with one
    # rank-deficient matrix in the batch: the whole batch takes the SVD path.
    w = RNG.standard_normal((2, 3, 7))
    w[1] = rank_deficient(3, 7, 2)
    bw = RNG.standard_normal((2, 3, 2))
    r = rtorch.linalg.lstsq(T(w, dtype), T(bw, dtype))
    want = np.stack([np.linalg.lstsq(w[i], bw[i], rcond=None)[0] for i in range(2)])
    close(r.solution, want, scale=100)
    assert r.rank.tolist() == [3, 2]
    full = rtorch.linalg.lstsq(T(w[:1], dtype, transposed=True), T(bw[:1], dtype))
    close(full.solution, want[:1], scale=10)
    assert full.rank.tolist() == [3] and full.rank.dtype == rtorch.int64
    # Exactly singular (a zero column): R^-1 is infinite, never certified.
    z = RNG.standard_normal((5, 3))
    z[:, 1] = 0
    r = rtorch.linalg.lstsq(T(z, dtype), T(b.repeat(5, 0)[:5], dtype))
    assert r.rank.item() == 2
    close(r.solution, np.linalg.lstsq(z, b.repeat(5, 0)[:5], rcond=None)[0], scale=10)


@pytest.mark.parametrize("ord", ["nuc", 2, -2])
def test_matrix_norm_spectral(ord):
    a = RNG.standard_normal((2, 3, 4))
    got = rtorch.linalg.matrix_norm(T(a), ord)
    close(got, np.stack([np.linalg.norm(m, ord) for m in a]))
    kd = rtorch.linalg.matrix_norm(T(a), ord, dim=(0, 2), keepdim=True)
    assert kd.shape == (1, 3, 1)
    close(kd[0, :, 0], np.stack([np.linalg.norm(a[:, j, :], ord) for j in range(3)]))
    close(rtorch.linalg.norm(T(a[0]), ord), np.linalg.norm(a[0], ord))
    f = rtorch.linalg.matrix_norm(T(a, F32), ord)
    assert f.dtype == F32
    close(f, np.stack([np.linalg.norm(m, ord) for m in a]))
    with pytest.raises(NotImplementedError, match="Got Long"):
        rtorch.linalg.matrix_norm(rtorch.ones(3, 3, dtype=rtorch.int64), ord)


# --- gradients ---------------------------------------------------------------------------


def G(a: np.ndarray) -> rtorch.Tensor:
    return T(a, F64, requires_grad=True)


def test_grad_solve_inv_det():
    a = well_conditioned((2,), 3)
    b = RNG.standard_normal((2, 3, 2))
    assert gradcheck(lambda x, y: rtorch.linalg.solve(x, y), (G(a), G(b)))
    assert gradcheck(
        lambda x, y: rtorch.linalg.solve(x, y, left=False), (G(a), G(b.swapaxes(-1, -2)))
    )
    # broadcast: the gradient of A sums over B's batch
    assert gradcheck(lambda x, y: rtorch.linalg.solve(x, y), (G(a[0]), G(b)))
    assert gradcheck(rtorch.linalg.inv, (G(a),))
    assert gradcheck(rtorch.linalg.det, (G(a),))
    assert gradcheck(lambda x: rtorch.linalg.slogdet(x).logabsdet, (G(a),))
    assert gradcheck(rtorch.logdet, (G(spd((), 3)),))
    assert gradgradcheck(rtorch.linalg.inv, (G(a[0]),))
    assert gradgradcheck(rtorch.linalg.det, (G(a[0]),))


def test_grad_det_singular_closed_form():
    # d det / dA is the cofactor matrix, also at a singular A: [[d, -c], [-b, a]].
    x = G(SINGULAR)
    rtorch.linalg.det(x).backward()
    close(x.grad, np.array([[4.0, -2.0], [-2.0, 1.0]]))
    x = G(np.zeros((3, 3)))
    rtorch.linalg.det(x).backward()
    close(x.grad, np.zeros((3, 3)))


def test_grad_cholesky():
    a = RNG.standard_normal((2, 3, 3))
    sym_pd = lambda x: x @ x.mT + rtorch.eye(3, dtype=F64)
    assert gradcheck(lambda x: rtorch.linalg.cholesky(sym_pd(x)), (G(a),))
    assert gradcheck(lambda x: rtorch.linalg.cholesky(sym_pd(x), upper=True), (G(a),))
    assert gradgradcheck(lambda x: rtorch.linalg.cholesky(sym_pd(x)), (G(a[0]),))
    b = RNG.standard_normal((3, 2))
    assert gradcheck(
        lambda x, y: rtorch.cholesky_solve(y, rtorch.linalg.cholesky(sym_pd(x))), (G(a[0]), G(b))
    )


@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (2, 4, 2), (3, 5)])
def test_grad_qr(shape):
    a = RNG.standard_normal(shape)
    assert gradcheck(lambda x: rtorch.linalg.qr(x), (G(a),))
    assert gradcheck(lambda x: rtorch.linalg.qr(x).R, (G(a),))
    assert gradcheck(lambda x: rtorch.linalg.qr(x).Q, (G(a),))
    if shape[-2] <= shape[-1]:
        assert gradcheck(lambda x: rtorch.linalg.qr(x, mode="complete"), (G(a),))


def test_grad_qr_refused_as_pytorch():
    x = G(RNG.standard_normal((4, 3)))
    with pytest.raises(
        RuntimeError, match="not differentiable when mode='complete' and nrows > ncols"
    ):
        rtorch.linalg.qr(x, mode="complete").Q.sum().backward()
    with pytest.raises(RuntimeError, match="which is not computed when mode='r'"):
        rtorch.linalg.qr(x, mode="r").R.sum().backward()


def test_grad_eigh():
    a = sym((2,), 4)
    sym_of = lambda x: x + x.mT
    # Eigenvectors are defined up to sign: check functions invariant to it.
    assert gradcheck(lambda x: rtorch.linalg.eigh(sym_of(x)).eigenvalues, (G(a),))
    assert gradcheck(lambda x: rtorch.linalg.eigh(sym_of(x)).eigenvectors ** 2, (G(a),))
    assert gradcheck(lambda x: rtorch.linalg.eigvalsh(sym_of(x), UPLO="U"), (G(a),))
    assert gradgradcheck(lambda x: rtorch.linalg.eigvalsh(sym_of(x)), (G(a[0]),))
    # eigvalsh at a repeated eigenvalue is fine (no eigenvector term).
    x = G(np.eye(3))
    rtorch.linalg.eigvalsh(x).sum().backward()
    close(x.grad, np.eye(3))


@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5), (2, 4, 3)])
@pytest.mark.parametrize("full", [False, True])
def test_grad_svd(shape, full):
    a = RNG.standard_normal(shape)

    def invariant(x):
        # U[:, j] and Vh[j, :] flip sign together: U diag(f(S)) Vh, S and U*U do not
        # depend on the choice.
        U, S, Vh = rtorch.linalg.svd(x, full_matrices=full)
        k = S.shape[-1]
        U, Vh = U.narrow(-1, 0, k), Vh.narrow(-2, 0, k)
        return (U * S.exp().unsqueeze(-2)) @ Vh, S, U * U, Vh * Vh

    assert gradcheck(invariant, (G(a),))
    assert gradcheck(rtorch.linalg.svdvals, (G(a),))


def test_grad_pinv_lstsq_norms():
    for shape in [(4, 3), (3, 4), (3, 3)]:
        a = RNG.standard_normal(shape)
        assert gradcheck(rtorch.linalg.pinv, (G(a),))
    s = sym((), 3)
    assert gradcheck(lambda x: rtorch.linalg.pinv(x + x.mT, hermitian=True), (G(s),))
    a = RNG.standard_normal((5, 3))
    b = RNG.standard_normal((5, 2))
    assert gradcheck(lambda x, y: rtorch.linalg.lstsq(x, y).solution, (G(a), G(b)))
    # Through the QR of A^T (wide), and A alone or B alone requiring grad.
    assert gradcheck(lambda x, y: rtorch.linalg.lstsq(x, y).solution, (G(a.T), G(b[:3])))
    assert gradcheck(lambda x: rtorch.linalg.lstsq(x, T(b)).solution, (G(a),))
    assert gradcheck(lambda y: rtorch.linalg.lstsq(T(a.T), y).solution, (G(b[:3]),))
    for ord in ["nuc", 2, -2]:
        assert gradcheck(lambda x, o=ord: rtorch.linalg.matrix_norm(x, o), (G(a),))
    assert gradgradcheck(rtorch.linalg.pinv, (G(a),))


def test_legacy_svd_grad():
    a = RNG.standard_normal((4, 3))

    def f(x):
        U, S, V = rtorch.svd(x)
        return (U * S) @ V.mT

    assert gradcheck(f, (G(a),))


# --- parity with PyTorch (skipped where it is not installed) --------------------------


def test_parity_with_pytorch(torch_ref):
    a = well_conditioned((2,), 4)
    for name in ["inv", "det"]:
        ours = getattr(rtorch.linalg, name)(T(a))
        ref = getattr(torch_ref.linalg, name)(torch_ref.tensor(a))
        close(ours, ref.numpy())
    s = spd((), 4)
    close(rtorch.linalg.cholesky(T(s)), torch_ref.linalg.cholesky(torch_ref.tensor(s)).numpy())
    close(rtorch.linalg.eigvalsh(T(s)), torch_ref.linalg.eigvalsh(torch_ref.tensor(s)).numpy())
    for fn in ("inv", "cholesky"):
        bad = SINGULAR if fn == "inv" else NOT_PD
        with pytest.raises(torch_ref.linalg.LinAlgError) as ref_err:
            getattr(torch_ref.linalg, fn)(torch_ref.tensor(bad))
        with pytest.raises(rtorch.linalg.LinAlgError) as our_err:
            getattr(rtorch.linalg, fn)(T(bad))
        assert str(our_err.value) == str(ref_err.value)
