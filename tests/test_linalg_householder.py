"""Householder QR pieces (geqrf, householder_product/orgqr, ormqr), Bunch-Kaufman LDL,
triangular_solve, randomised low-rank SVD/PCA and the legacy norms
(python/rtorch/_linalg_householder.py). References: reflectors multiplied out in numpy
float64 from LAPACK's definition H = I - tau v v^T, the product P1 L1 P2 L2 ... D ...
that LAPACK documents for sytrf's output, numpy's solve/svd/norm, central differences
(gradcheck), and PyTorch where the result is uniquely defined."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import rtorch
from rtorch.autograd import gradcheck

LA = rtorch.linalg
F64 = rtorch.float64
RNG = np.random.default_rng(1234)


def _t(a: np.ndarray, dtype=F64, grad: bool = False) -> rtorch.Tensor:
    return rtorch.tensor(np.ascontiguousarray(a), dtype=dtype, requires_grad=grad)


def _np(t: rtorch.Tensor) -> np.ndarray:
    return t.detach().numpy().astype(np.float64)


def _reflectors_q(a: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """The full m x m Q = H_1 ... H_k of the reflectors stored below a's diagonal."""
    m = a.shape[0]
    Q = np.eye(m)
    for i in range(tau.shape[0]):
        v = np.zeros(m)
        v[i] = 1.0
        v[i + 1 :] = a[i + 1 :, i]
        Q = Q @ (np.eye(m) - tau[i] * np.outer(v, v))
    return Q


# --- geqrf ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (1, 3), (3, 1), (2, 3, 4, 2)])
def test_geqrf_reproduces_a_with_orthonormal_q(shape):
    A = RNG.standard_normal(shape)
    a, tau = rtorch.geqrf(_t(A))
    m, n = shape[-2:]
    k = min(m, n)
    assert tuple(a.shape) == shape and tuple(tau.shape) == (*shape[:-2], k)
    a2, t2 = _np(a).reshape(-1, m, n), _np(tau).reshape(-1, k)
    for j, Aj in enumerate(A.reshape(-1, m, n)):
        Q = _reflectors_q(a2[j], t2[j])
        np.testing.assert_allclose(Q.T @ Q, np.eye(m), atol=1e-12)
        np.testing.assert_allclose(Q @ np.triu(a2[j]), Aj, atol=1e-12)
        # R is unique up to the signs of its rows: |R| agrees with numpy's QR.
        R_ref = np.linalg.qr(Aj, mode="complete")[1]
        np.testing.assert_allclose(np.abs(np.triu(a2[j])), np.abs(R_ref), atol=1e-12)


def test_geqrf_follows_lapack_dlarfg_signs():
    # A column with a positive head reflects to a negative diagonal (beta = -sign(alpha)
    # ||x||) and tau = (beta - alpha) / beta; a column already zero below the diagonal
    # is left alone (tau = 0).
    A = np.array([[3.0, 1.0], [4.0, 2.0]])
    a, tau = rtorch.geqrf(_t(A))
    assert _np(a)[0, 0] == pytest.approx(-5.0)
    assert _np(tau)[0] == pytest.approx((-5.0 - 3.0) / -5.0)
    assert _np(a)[1, 0] == pytest.approx(4.0 / (3.0 + 5.0))
    a, tau = rtorch.geqrf(_t(np.array([[2.0, 1.0], [0.0, 3.0]])))
    np.testing.assert_array_equal(_np(tau), [0.0, 0.0])
    np.testing.assert_array_equal(_np(a), [[2.0, 1.0], [0.0, 3.0]])


def test_geqrf_float32_empty_and_method():
    A = RNG.standard_normal((6, 4))
    a, tau = _t(A, rtorch.float32).geqrf()
    assert a.dtype == rtorch.float32 and tau.dtype == rtorch.float32
    Q = _reflectors_q(_np(a), _np(tau))
    np.testing.assert_allclose(Q @ np.triu(_np(a)), A, atol=1e-5)
    a, tau = rtorch.geqrf(rtorch.zeros(2, 0, 5))
    assert tuple(a.shape) == (2, 0, 5) and tuple(tau.shape) == (2, 0)
    a, tau = rtorch.geqrf(rtorch.zeros(0, 3, 3))
    assert tuple(a.shape) == (0, 3, 3) and tuple(tau.shape) == (0, 3)


def test_geqrf_errors_and_no_derivative():
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        rtorch.geqrf(rtorch.zeros(3))
    with pytest.raises(NotImplementedError, match="geqrf_cpu"):
        rtorch.geqrf(rtorch.ones(3, 3, dtype=rtorch.int64))
    x = _t(RNG.standard_normal((3, 2)), grad=True)
    a, _tau = rtorch.geqrf(x)
    assert a.requires_grad
    with pytest.raises(NotImplementedError, match="derivative for 'geqrf'"):
        a.sum().backward()


def test_geqrf_matches_pytorch(torch_ref):
    torch = torch_ref
    for shape in [(5, 3), (3, 5), (2, 4, 4)]:
        A = RNG.standard_normal(shape)
        a, tau = rtorch.geqrf(_t(A))
        ra, rtau = torch.geqrf(torch.tensor(A))
        np.testing.assert_allclose(_np(a), ra.numpy(), atol=1e-12)
        np.testing.assert_allclose(_np(tau), rtau.numpy(), atol=1e-12)


# --- householder_product / orgqr ----------------------------------------------------------


@pytest.mark.parametrize("m,n,k", [(5, 3, 3), (5, 3, 2), (4, 4, 4), (3, 2, 0)])
def test_householder_product_against_reflector_product(m, n, k):
    a = RNG.standard_normal((m, n))
    tau = RNG.standard_normal(k)
    Q = LA.householder_product(_t(a), _t(tau))
    np.testing.assert_allclose(_np(Q), _reflectors_q(a, tau)[:, :n], atol=1e-12)
    np.testing.assert_allclose(_np(rtorch.orgqr(_t(a), _t(tau))), _np(Q), atol=0)
    np.testing.assert_allclose(_np(_t(a).orgqr(_t(tau))), _np(Q), atol=0)


def test_householder_product_of_geqrf_is_qr_q_batched():
    A = RNG.standard_normal((2, 3, 6, 4))
    a, tau = rtorch.geqrf(_t(A))
    Q = LA.householder_product(a, tau)
    Qn = _np(Q)
    np.testing.assert_allclose(
        np.swapaxes(Qn, -1, -2) @ Qn, np.broadcast_to(np.eye(4), (2, 3, 4, 4)), atol=1e-12
    )
    np.testing.assert_allclose(Qn @ np.triu(_np(a)[..., :4, :]), A, atol=1e-12)
    assert tuple(LA.householder_product(rtorch.zeros(0, 5, 3), rtorch.zeros(0, 3)).shape) == (
        0,
        5,
        3,
    )
    assert tuple(LA.householder_product(rtorch.zeros(5, 0), rtorch.zeros(0)).shape) == (5, 0)


def test_householder_product_gradcheck():
    a = _t(RNG.standard_normal((5, 3)), grad=True)
    tau = _t(RNG.standard_normal(3) * 0.5, grad=True)
    assert gradcheck(LA.householder_product, (a, tau))
    ab = _t(RNG.standard_normal((2, 4, 2)), grad=True)
    tb = _t(RNG.standard_normal((2, 2)), grad=True)
    assert gradcheck(LA.householder_product, (ab, tb))


def test_householder_product_errors():
    f = LA.householder_product
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        f(rtorch.zeros(3), rtorch.zeros(3))
    with pytest.raises(RuntimeError, match=r"input.shape\[-2\] must be greater"):
        f(rtorch.zeros(3, 5), rtorch.zeros(3))
    with pytest.raises(RuntimeError, match=r"input.shape\[-1\] must be greater"):
        f(rtorch.zeros(5, 3), rtorch.zeros(4))
    with pytest.raises(RuntimeError, match="one dimension less"):
        f(rtorch.zeros(5, 3), rtorch.zeros(2, 3))
    with pytest.raises(RuntimeError, match="batch dimensions of tau"):
        f(rtorch.zeros(2, 5, 3), rtorch.zeros(3, 3))
    with pytest.raises(RuntimeError, match="tau dtype Double does not match input dtype Float"):
        f(rtorch.zeros(5, 3), rtorch.zeros(3, dtype=F64))
    with pytest.raises(NotImplementedError, match="orgqr_cpu"):
        f(rtorch.zeros(5, 3, dtype=rtorch.int64), rtorch.zeros(3, dtype=rtorch.int64))


def test_householder_product_matches_pytorch_with_gradients(torch_ref):
    torch = torch_ref
    a = RNG.standard_normal((5, 3))
    tau = RNG.standard_normal(3)
    g = RNG.standard_normal((5, 3))
    ra, rt = _t(a, grad=True), _t(tau, grad=True)
    (LA.householder_product(ra, rt) * _t(g)).sum().backward()
    ta = torch.tensor(a, requires_grad=True)
    tt = torch.tensor(tau, requires_grad=True)
    Q = torch.linalg.householder_product(ta, tt)
    (Q * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(
        _np(LA.householder_product(_t(a), _t(tau))), Q.detach().numpy(), atol=1e-12
    )
    np.testing.assert_allclose(_np(ra.grad), ta.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(_np(rt.grad), tt.grad.numpy(), atol=1e-10)


# --- ormqr ----------------------------------------------------------------------------------


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("transpose", [False, True])
def test_ormqr_against_explicit_q(left, transpose):
    a = RNG.standard_normal((5, 3))
    tau = RNG.standard_normal(3)
    Q = _reflectors_q(a, tau)
    opQ = Q.T if transpose else Q
    C = RNG.standard_normal((5, 2) if left else (2, 5))
    expected = opQ @ C if left else C @ opQ
    got = rtorch.ormqr(_t(a), _t(tau), _t(C), left, transpose)
    np.testing.assert_allclose(_np(got), expected, atol=1e-12)
    got = _t(a).ormqr(_t(tau), _t(C), left=left, transpose=transpose)
    np.testing.assert_allclose(_np(got), expected, atol=1e-12)


def test_ormqr_batched_float32_and_gradcheck():
    a = RNG.standard_normal((2, 4, 4))
    tau = RNG.standard_normal((2, 3))
    C = RNG.standard_normal((2, 4, 3))
    got = rtorch.ormqr(_t(a, rtorch.float32), _t(tau, rtorch.float32), _t(C, rtorch.float32))
    for j in range(2):
        np.testing.assert_allclose(_np(got)[j], _reflectors_q(a[j], tau[j]) @ C[j], atol=1e-5)
    args = (_t(a[0, :, :3], grad=True), _t(tau[0], grad=True), _t(C[0], grad=True))
    assert gradcheck(lambda x, t, c: rtorch.ormqr(x, t, c, True, True), args)
    empty = rtorch.ormqr(rtorch.zeros(5, 0), rtorch.zeros(0), rtorch.ones(5, 2))
    np.testing.assert_array_equal(_np(empty), np.ones((5, 2)))
    assert tuple(empty.shape) == (5, 2)


def test_ormqr_errors():
    A, tau, C = rtorch.zeros(5, 3), rtorch.zeros(3), rtorch.zeros(5, 2)
    with pytest.raises(RuntimeError, match="other must have at least 2 dimensions"):
        rtorch.ormqr(A, tau, rtorch.zeros(5))
    with pytest.raises(RuntimeError, match=r"other.shape\[-2\] must be equal to input.shape\[-2\]"):
        rtorch.ormqr(A, tau, rtorch.zeros(4, 2))
    with pytest.raises(RuntimeError, match=r"other.shape\[-1\] must be equal to input.shape\[-2\]"):
        rtorch.ormqr(A, tau, C, left=False)
    with pytest.raises(RuntimeError, match=r"tau.shape\[-1\] must be equal to min"):
        rtorch.ormqr(A, rtorch.zeros(4), C)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        rtorch.ormqr(rtorch.zeros(2, 5, 3), rtorch.zeros(2, 3), C)
    with pytest.raises(RuntimeError, match="same dtype"):
        rtorch.ormqr(A, tau, C.double())
    with pytest.raises(NotImplementedError, match="ormqr_cpu"):
        rtorch.ormqr(A.long(), tau.long(), C.long())


def test_ormqr_matches_pytorch_with_gradients(torch_ref):
    torch = torch_ref
    a, tau = RNG.standard_normal((4, 3)), RNG.standard_normal(3)
    C = RNG.standard_normal((2, 4))
    ins = [_t(a, grad=True), _t(tau, grad=True), _t(C, grad=True)]
    tins = [torch.tensor(x, requires_grad=True) for x in (a, tau, C)]
    out = rtorch.ormqr(*ins, left=False, transpose=True)
    ref = torch.ormqr(*tins, left=False, transpose=True)
    np.testing.assert_allclose(_np(out), ref.detach().numpy(), atol=1e-12)
    out.pow(2).sum().backward()
    ref.pow(2).sum().backward()
    for x, tx in zip(ins, tins):
        np.testing.assert_allclose(_np(x.grad), tx.grad.numpy(), atol=1e-10)


# --- LDL --------------------------------------------------------------------------------------


def _ldl_reconstruct(LD: np.ndarray, piv: np.ndarray) -> np.ndarray:
    """A = M D M^T with M = P(1) L(1) P(2) L(2) ..., as LAPACK documents sytrf (uplo L)."""
    n = LD.shape[0]
    M, D = np.eye(n), np.zeros((n, n))
    k = 0
    while k < n:
        s = 1 if piv[k] > 0 else 2
        kp = abs(int(piv[k])) - 1
        P = np.eye(n)
        P[[k + s - 1, kp]] = P[[kp, k + s - 1]]
        Lk = np.eye(n)
        Lk[k + s :, k : k + s] = LD[k + s :, k : k + s]
        M = M @ P @ Lk
        block = np.tril(LD[k : k + s, k : k + s])
        D[k : k + s, k : k + s] = block + np.tril(block, -1).T
        if s == 2:
            assert piv[k + 1] == piv[k]
        k += s
    return M @ D @ M.T


def _symmetric(n: int, batch: tuple[int, ...] = ()) -> np.ndarray:
    X = RNG.standard_normal((*batch, n, n))
    return X + np.swapaxes(X, -1, -2)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_ldl_factor_reconstructs_and_solves(n):
    A = _symmetric(n)
    LD, piv = LA.ldl_factor(_t(A))
    assert piv.dtype == rtorch.int32
    LDn, pn = _np(LD), piv.numpy()
    np.testing.assert_array_equal(np.triu(LDn, 1), 0)
    np.testing.assert_allclose(_ldl_reconstruct(LDn, pn), A, atol=1e-11)
    B = RNG.standard_normal((n, 3))
    X = LA.ldl_solve(LD, piv, _t(B))
    np.testing.assert_allclose(_np(X), np.linalg.solve(A, B), atol=1e-10)


def test_ldl_pivoting_cases():
    # A zero diagonal forces a 2 x 2 block; a large off-diagonal entry forces an
    # interchange of a 1 x 1 pivot.
    A = np.array([[0.0, 1, 2], [1, 0, 3], [2, 3, 0]])
    LD, piv = LA.ldl_factor(_t(A))
    assert piv.tolist() == [-3, -3, 3]
    np.testing.assert_allclose(_ldl_reconstruct(_np(LD), piv.numpy()), A, atol=1e-14)
    A = np.array([[1.0, 2, 3, 4], [2, 0.1, 5, 6], [3, 5, -2, 1], [4, 6, 1, 0.5]])
    LD, piv = LA.ldl_factor(_t(A))
    assert piv.tolist() == [-4, -4, 3, 4]
    np.testing.assert_allclose(_ldl_reconstruct(_np(LD), piv.numpy()), A, atol=1e-13)
    A = np.array([[1.0, 10.0], [10.0, 50.0]])
    LD, piv = LA.ldl_factor(_t(A))
    assert piv.tolist() == [2, 2]
    np.testing.assert_allclose(_ldl_reconstruct(_np(LD), piv.numpy()), A, atol=1e-13)


def test_ldl_reads_lower_triangle_batched_and_broadcast_solve():
    A = _symmetric(4, (2, 3))
    garbage = A + np.triu(RNG.standard_normal((4, 4)), 1)
    LD, piv = LA.ldl_factor(_t(garbage))
    assert tuple(LD.shape) == (2, 3, 4, 4) and tuple(piv.shape) == (2, 3, 4)
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(
                _ldl_reconstruct(_np(LD)[i, j], piv.numpy()[i, j]), A[i, j], atol=1e-11
            )
    B = RNG.standard_normal((4, 2))
    X = LA.ldl_solve(LD, piv, _t(B))
    assert tuple(X.shape) == (2, 3, 4, 2)
    np.testing.assert_allclose(_np(X), np.linalg.solve(A, B), atol=1e-10)
    # Float32 and a float64 solve of the same factors.
    LD32, piv32 = LA.ldl_factor(_t(A[0, 0], rtorch.float32))
    X32 = LA.ldl_solve(LD32, piv32, _t(B, rtorch.float32))
    np.testing.assert_allclose(_np(X32), np.linalg.solve(A[0, 0], B), rtol=1e-4, atol=1e-4)


def test_ldl_info_empty_and_errors():
    Z = np.diag([1.0, 0.0, 2.0])
    LD, piv, info = LA.ldl_factor_ex(_t(Z))
    assert int(info) == 2 and piv.tolist() == [1, 2, 3]
    np.testing.assert_array_equal(_np(LD), Z)
    # All ones: the first 1 x 1 step (|a11| = 1 >= alpha * 1) leaves a zero trailing
    # matrix, whose first column is recorded in info; LD keeps the ones of column 1.
    LD, piv, info = LA.ldl_factor_ex(rtorch.ones(4, 4, dtype=F64))
    assert int(info) == 2 and piv.tolist() == [1, 2, 3, 4]
    expected = np.zeros((4, 4))
    expected[:, 0] = 1.0
    np.testing.assert_array_equal(_np(LD), expected)
    _, _, info = LA.ldl_factor_ex(rtorch.zeros(2, 3, 3))
    assert info.tolist() == [1, 1] and info.dtype == rtorch.int32
    with pytest.raises(RuntimeError):
        LA.ldl_factor(rtorch.zeros(3, 3))
    with pytest.raises(RuntimeError):
        LA.ldl_factor_ex(rtorch.zeros(3, 3), check_errors=True)
    LD, piv = LA.ldl_factor(rtorch.zeros(2, 0, 0))
    assert tuple(LD.shape) == (2, 0, 0) and tuple(piv.shape) == (2, 0)
    assert tuple(
        LA.ldl_solve(
            rtorch.zeros(0, 0), rtorch.zeros(0, dtype=rtorch.int32), rtorch.zeros(0, 2)
        ).shape
    ) == (0, 2)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        LA.ldl_factor(rtorch.zeros(3))
    with pytest.raises(RuntimeError, match="square matrices"):
        LA.ldl_factor(rtorch.zeros(4, 3))
    with pytest.raises(NotImplementedError, match="Got Long"):
        LA.ldl_factor(rtorch.ones(3, 3, dtype=rtorch.int64))
    LD, piv = LA.ldl_factor(_t(_symmetric(4)))
    with pytest.raises(RuntimeError, match="Incompatible matrix sizes"):
        LA.ldl_solve(LD, piv, rtorch.zeros(3, 2, dtype=F64))
    with pytest.raises(RuntimeError, match="same dtype"):
        LA.ldl_solve(LD, piv, rtorch.zeros(4, 2))
    with pytest.raises(RuntimeError, match="pivots with shape"):
        LA.ldl_solve(LD, piv[:3], rtorch.zeros(4, 2, dtype=F64))
    with pytest.raises(IndexError):
        LA.ldl_solve(LD, piv, rtorch.zeros(4, dtype=F64))


def test_ldl_is_not_differentiable():
    A = _t(_symmetric(3), grad=True)
    LD, piv = LA.ldl_factor(A)
    with pytest.raises(NotImplementedError, match="ldl_factor"):
        LD.sum().backward()
    B = _t(RNG.standard_normal((3, 1)), grad=True)
    X = LA.ldl_solve(LD.detach(), piv, B)
    with pytest.raises(NotImplementedError, match="ldl_solve"):
        X.sum().backward()


@pytest.mark.parametrize("n", [3, 6, 70])
def test_ldl_matches_pytorch(torch_ref, n):
    # n = 70 is above LAPACK's block size (64): its blocked sytrf makes the same choices.
    torch = torch_ref
    A = _symmetric(n, (2,))
    A[0, 0, 0] = 0.0
    LD, piv = LA.ldl_factor(_t(A))
    rLD, rpiv = torch.linalg.ldl_factor(torch.tensor(A))
    np.testing.assert_array_equal(piv.numpy(), rpiv.numpy())
    np.testing.assert_allclose(_np(LD), rLD.numpy(), atol=1e-9)
    B = RNG.standard_normal((n, 2))
    np.testing.assert_allclose(
        _np(LA.ldl_solve(LD, piv, _t(B))),
        torch.linalg.ldl_solve(rLD, rpiv, torch.tensor(B)).numpy(),
        atol=1e-9,
    )


# --- triangular_solve ---------------------------------------------------------------------------


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("unit", [False, True])
def test_triangular_solve_against_numpy(upper, transpose, unit):
    A = RNG.standard_normal((4, 4)) + 4 * np.eye(4)
    b = RNG.standard_normal((4, 3))
    T = np.triu(A) if upper else np.tril(A)
    if unit:
        np.fill_diagonal(T, 1.0)
    op = T.T if transpose else T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, Ac = rtorch.triangular_solve(_t(b), _t(A), upper, transpose, unit)
    np.testing.assert_allclose(_np(X), np.linalg.solve(op, b), atol=1e-12)
    np.testing.assert_array_equal(_np(Ac), A)


def test_triangular_solve_broadcast_clone_method_and_gradcheck():
    A = RNG.standard_normal((3, 3, 3)) + 3 * np.eye(3)
    b = RNG.standard_normal((2, 1, 3, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        At = _t(A)
        res = _t(b).triangular_solve(At, upper=False)
        assert res.solution is res[0] and res.cloned_coefficient is res[1]
        assert tuple(res.solution.shape) == (2, 3, 3, 2)
        assert tuple(res.cloned_coefficient.shape) == (2, 3, 3, 3)
        np.testing.assert_allclose(_np(res.solution), np.linalg.solve(np.tril(A), b), atol=1e-12)
        assert res.cloned_coefficient.data_ptr() != At.data_ptr()
        a = _t(A[0], grad=True)
        bb = _t(b[0, 0], grad=True)
        for up, tr, un in [(True, False, False), (False, True, False), (True, True, True)]:

            def f(x, y, up=up, tr=tr, un=un):
                return rtorch.triangular_solve(y, x, up, tr, un)[0]

            assert gradcheck(f, (a, bb))


def test_triangular_solve_zero_diagonal_gives_inf_not_error():
    A = np.triu(RNG.standard_normal((3, 3))) + np.diag([2.0, 0.0, 3.0])
    A[1, 1] = 0.0
    b = np.abs(RNG.standard_normal((3, 2))) + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = rtorch.triangular_solve(_t(b), _t(A)).solution
    Xn = _np(X)
    np.testing.assert_allclose(Xn[2], b[2] / A[2, 2], rtol=1e-12)
    assert np.isinf(Xn[1]).all() and not np.isfinite(Xn[0]).any()


def test_triangular_solve_warns_once_and_errors():
    import rtorch._linalg_householder as mod

    mod._WARNED.discard("triangular_solve")
    A, b = rtorch.eye(3), rtorch.ones(3, 2)
    with pytest.warns(UserWarning, match="deprecated"):
        rtorch.triangular_solve(b, A)
    with pytest.raises(RuntimeError, match="Expected b to have at least 2 dimensions"):
        rtorch.triangular_solve(rtorch.ones(3), A)
    with pytest.raises(RuntimeError, match="square matrices"):
        rtorch.triangular_solve(b, rtorch.ones(3, 4))
    with pytest.raises(RuntimeError, match="Incompatible matrix sizes"):
        rtorch.triangular_solve(rtorch.ones(4, 2), A)
    with pytest.raises(RuntimeError, match="same dtype"):
        rtorch.triangular_solve(b.double(), A)
    with pytest.raises(NotImplementedError, match="triangular_solve_cpu"):
        rtorch.triangular_solve(b.int(), A.int())
    empty = rtorch.triangular_solve(rtorch.ones(0, 2), rtorch.ones(0, 0)).solution
    assert tuple(empty.shape) == (0, 2)


def test_triangular_solve_matches_pytorch(torch_ref):
    torch = torch_ref
    A = RNG.standard_normal((2, 4, 4)) + 3 * np.eye(4)
    b = RNG.standard_normal((2, 4, 3))
    g = RNG.standard_normal((2, 4, 3))
    ra, rb = _t(A, grad=True), _t(b, grad=True)
    ta, tb = torch.tensor(A, requires_grad=True), torch.tensor(b, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = rtorch.triangular_solve(rb, ra, False, True, True).solution
        Xt = torch.triangular_solve(tb, ta, False, True, True).solution
    np.testing.assert_allclose(_np(X), Xt.detach().numpy(), atol=1e-12)
    (X * _t(g)).sum().backward()
    (Xt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(_np(ra.grad), ta.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(_np(rb.grad), tb.grad.numpy(), atol=1e-10)


# --- svd_lowrank / pca_lowrank -------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,rank,q", [((8, 6), 3, 4), ((6, 9), 2, 6), ((10, 5), 4, 6), ((7, 5), 3, 3)]
)
def test_svd_lowrank_recovers_exactly_low_rank(shape, rank, q):
    rtorch.manual_seed(0)
    m, n = shape
    A = RNG.standard_normal((m, rank)) @ RNG.standard_normal((rank, n))
    U, S, V = rtorch.svd_lowrank(_t(A), q=q)
    k = min(q, m, n)
    assert tuple(U.shape) == (m, k) and tuple(S.shape) == (k,) and tuple(V.shape) == (n, k)
    ref = np.linalg.svd(A, compute_uv=False)
    np.testing.assert_allclose(_np(S)[:rank], ref[:rank], rtol=1e-10)
    np.testing.assert_allclose(_np(S)[rank:], 0, atol=1e-10)
    np.testing.assert_allclose(_np(U) @ np.diag(_np(S)) @ _np(V).T, A, atol=1e-10)
    np.testing.assert_allclose(_np(U).T @ _np(U), np.eye(k), atol=1e-10)


def test_svd_lowrank_batched_with_m_and_errors():
    rtorch.manual_seed(1)
    A = RNG.standard_normal((3, 7, 2)) @ RNG.standard_normal((3, 2, 5))
    M = RNG.standard_normal((1, 5))
    U, S, V = rtorch.svd_lowrank(_t(A + M), q=3, M=_t(M))
    assert tuple(U.shape) == (3, 7, 3) and tuple(V.shape) == (3, 5, 3)
    ref = np.linalg.svd(A, compute_uv=False)
    np.testing.assert_allclose(_np(S)[:, :2], ref[:, :2], rtol=1e-10)
    with pytest.raises(ValueError):
        rtorch.svd_lowrank(rtorch.zeros(5))


def test_pca_lowrank_matches_svd_of_centered_data():
    rtorch.manual_seed(2)
    X = RNG.standard_normal((20, 3)) @ RNG.standard_normal((3, 6)) + RNG.standard_normal(6)
    U, S, V = rtorch.pca_lowrank(_t(X), q=4)
    ref = np.linalg.svd(X - X.mean(0), compute_uv=False)
    np.testing.assert_allclose(_np(S)[:3], ref[:3], rtol=1e-10)
    np.testing.assert_allclose(_np(S)[3], 0, atol=1e-10)
    U, S, V = rtorch.pca_lowrank(_t(X), center=False)
    assert tuple(S.shape) == (6,)
    np.testing.assert_allclose(_np(S)[:4], np.linalg.svd(X, compute_uv=False)[:4], rtol=1e-10)
    U, S, V = rtorch.pca_lowrank(rtorch.randn(3, 7, 5))
    assert tuple(U.shape) == (3, 7, 5) and tuple(V.shape) == (3, 5, 5)
    with pytest.raises(ValueError, match="not greater than min"):
        rtorch.pca_lowrank(rtorch.randn(7, 5), 9)
    with pytest.raises(ValueError, match="non-negative"):
        rtorch.pca_lowrank(rtorch.randn(7, 5), -1)


def test_svd_lowrank_is_differentiable():
    rtorch.manual_seed(3)
    A = _t(RNG.standard_normal((6, 2)) @ RNG.standard_normal((2, 4)), grad=True)
    _, S, _ = rtorch.svd_lowrank(A, q=2)
    S.sum().backward()
    # d(sum of singular values)/dA = U V^T for the nonzero ones: compare with numpy.
    u, _s, vt = np.linalg.svd(_np(A), full_matrices=False)
    np.testing.assert_allclose(_np(A.grad), u[:, :2] @ vt[:2], atol=1e-8)


def test_svd_lowrank_shapes_match_pytorch(torch_ref):
    torch = torch_ref
    for shape, q in [((7, 5), 6), ((7, 5), 3), ((5, 7), 3), ((2, 7, 5), 8)]:
        A = RNG.standard_normal(shape)
        ours = rtorch.svd_lowrank(_t(A), q=q)
        ref = torch.svd_lowrank(torch.tensor(A), q=q)
        assert [tuple(x.shape) for x in ours] == [tuple(x.shape) for x in ref]
        if q >= min(shape[-2:]):
            # The sketch spans the whole range: S is exact, whatever the random matrix.
            np.testing.assert_allclose(_np(ours[1]), ref[1].numpy(), rtol=1e-10)


# --- legacy norms -------------------------------------------------------------------------------


def test_nuclear_and_frobenius_norms():
    X = RNG.standard_normal((3, 4, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = rtorch.nuclear_norm(_t(X))
        np.testing.assert_allclose(_np(got), np.linalg.norm(X, "nuc", axis=(-2, -1)), rtol=1e-12)
        got = rtorch.nuclear_norm(_t(X), (0, 2), True)
        ref = np.linalg.norm(np.moveaxis(X, 1, 0), "nuc", axis=(-2, -1))
        np.testing.assert_allclose(_np(got).reshape(-1), ref, rtol=1e-12)
        assert tuple(got.shape) == (1, 4, 1)
        assert tuple(rtorch.nuclear_norm(_t(X), True).shape) == (3, 1, 1)
        assert float(rtorch.nuclear_norm(rtorch.zeros(0, 3))) == 0.0
        with pytest.raises(RuntimeError, match="at least 2 dimensions"):
            rtorch.nuclear_norm(rtorch.zeros(3))
        with pytest.raises(NotImplementedError):
            rtorch.nuclear_norm(rtorch.ones(3, 3, dtype=rtorch.int32))
    import rtorch._linalg_householder as mod

    mod._WARNED.discard("frobenius_norm")
    with pytest.warns(UserWarning, match="frobenius_norm is deprecated"):
        got = rtorch.frobenius_norm(_t(X), (0, 1))
    np.testing.assert_allclose(_np(got), np.sqrt((X**2).sum((0, 1))), rtol=1e-12)
    np.testing.assert_allclose(
        _np(rtorch.frobenius_norm(_t(X), [])), np.sqrt((X**2).sum()), rtol=1e-12
    )
    assert tuple(rtorch.frobenius_norm(_t(X), (1,), True).shape) == (3, 1, 5)
    with pytest.raises(RuntimeError, match="at most 2 dimensions"):
        rtorch.frobenius_norm(_t(X), (0, 1, 2))
    with pytest.raises(RuntimeError, match="appears multiple times"):
        rtorch.frobenius_norm(_t(X), (0, 0))
    with pytest.raises(NotImplementedError, match="floating point"):
        rtorch.frobenius_norm(rtorch.ones(3, dtype=rtorch.int32), (0,))
    x = _t(RNG.standard_normal((3, 4)), grad=True)
    assert gradcheck(lambda a: rtorch.frobenius_norm(a, (0, 1)), (x,))
    with pytest.raises(NotImplementedError, match="native_norm"):
        rtorch.native_norm(_t(X))
    with pytest.raises(NotImplementedError, match="native_norm"):
        rtorch.native_norm(_t(X), 2, (1,), False, None)


def test_norms_match_pytorch(torch_ref):
    torch = torch_ref
    X = RNG.standard_normal((3, 4, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(
            _np(rtorch.nuclear_norm(_t(X), (0, 2))),
            torch.nuclear_norm(torch.tensor(X), (0, 2)).numpy(),
            rtol=1e-12,
        )
    np.testing.assert_allclose(
        _np(rtorch.frobenius_norm(_t(X), (2, 0), True)),
        torch.frobenius_norm(torch.tensor(X), (2, 0), True).numpy(),
        rtol=1e-12,
    )
    with pytest.raises(NotImplementedError):
        torch.native_norm(torch.tensor(X))


def test_meta_tensors_give_shapes():
    def m(*shape):
        return rtorch.empty(*shape, device="meta")

    a, tau = rtorch.geqrf(m(2, 5, 3))
    assert a.is_meta and tuple(tau.shape) == (2, 3)
    assert tuple(LA.householder_product(m(5, 3), m(3)).shape) == (5, 3)
    assert tuple(rtorch.ormqr(m(5, 3), m(3), m(5, 2)).shape) == (5, 2)
    LD, piv, info = LA.ldl_factor_ex(m(2, 4, 4))
    assert LD.is_meta and tuple(piv.shape) == (2, 4) and tuple(info.shape) == (2,)
    assert piv.dtype == rtorch.int32
    X = LA.ldl_solve(m(4, 4), rtorch.empty(4, dtype=rtorch.int32, device="meta"), m(3, 4, 2))
    assert X.is_meta and tuple(X.shape) == (3, 4, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, Ac = rtorch.triangular_solve(m(4, 2), m(4, 4))
    assert X.is_meta and tuple(Ac.shape) == (4, 4)


def test_ldl_factor_on_meta_tensors_gives_shapes() -> None:
    A = rtorch.empty(2, 3, 3, device="meta")
    LD, piv = rtorch.linalg.ldl_factor(A)
    assert (LD.shape, piv.shape, LD.is_meta, piv.dtype) == ((2, 3, 3), (2, 3), True, rtorch.int32)
    LD, piv, info = rtorch.linalg.ldl_factor_ex(A, check_errors=True)
    assert info.shape == (2,) and info.is_meta
