"""LU with partial pivoting (python/rtorch/_linalg_lu.py over faer). References: a
textbook partial-pivoting elimination in numpy float64 written out below (the same pivot
rule as LAPACK's getrf: the largest magnitude, the first of ties), numpy's solve, and
central differences for the gradients."""

from __future__ import annotations

import numpy as np
import pytest

import rtorch

LA = rtorch.linalg
F64 = rtorch.float64


def _getrf(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Packed LU and 1-based interchanges of one m x n matrix, by row operations."""
    a = a.astype(np.float64).copy()
    m, n = a.shape
    piv = []
    for i in range(min(m, n)):
        p = i + int(np.argmax(np.abs(a[i:, i])))
        piv.append(p + 1)
        a[[i, p]] = a[[p, i]]
        if a[i, i] != 0:
            a[i + 1 :, i] /= a[i, i]
            a[i + 1 :, i + 1 :] -= np.outer(a[i + 1 :, i], a[i, i + 1 :])
    return a, np.array(piv, dtype=np.int32)


@pytest.mark.parametrize("shape", [(5, 5), (7, 4), (3, 6), (2, 3, 4, 4), (1, 1)])
@pytest.mark.parametrize("dtype", [rtorch.float64, rtorch.float32])
def test_factor_matches_elimination_and_reconstructs(shape, dtype) -> None:
    rng = np.random.default_rng(sum(shape))
    a = rng.standard_normal(shape)
    A = rtorch.tensor(a, dtype=dtype)
    LU, piv, info = LA.lu_factor_ex(A)
    assert piv.dtype == rtorch.int32 and LU.dtype == dtype
    assert piv.shape == (*shape[:-2], min(shape[-2:]))
    assert info.shape == shape[:-2] and not bool(info.any())
    flat = a.reshape(-1, *shape[-2:])
    tol = 1e-12 if dtype == F64 else 1e-5
    for got_lu, got_piv, m in zip(
        LU.reshape(-1, *shape[-2:]), piv.reshape(-1, piv.shape[-1]), flat
    ):
        want_lu, want_piv = _getrf(m.astype(np.float32 if dtype == rtorch.float32 else np.float64))
        assert got_piv.tolist() == want_piv.tolist()
        np.testing.assert_allclose(got_lu.to(F64).numpy(), want_lu, atol=tol * 10, rtol=tol)
    P, L, U = LA.lu(A)
    np.testing.assert_allclose((P @ L @ U).to(F64).numpy(), a, atol=tol * 10)
    outs = (rtorch.empty(0, dtype=dtype), rtorch.empty(0, dtype=rtorch.int32))
    LA.lu_factor(A, out=outs)
    assert outs[0].tolist() == LU.tolist() and outs[1].tolist() == piv.tolist()
    P2, L2, U2 = rtorch.lu_unpack(LU, piv)
    assert P2.tolist() == P.tolist() and L2.tolist() == L.tolist() and U2.tolist() == U.tolist()


def test_singular_matrices_errors_and_legacy_names() -> None:
    A = rtorch.tensor([[1.0, 2.0], [2.0, 4.0]])
    LU, piv, info = LA.lu_factor_ex(A)
    assert LU.tolist() == [[2.0, 4.0], [0.5, 0.0]] and piv.tolist() == [2, 2] and info.item() == 2
    with pytest.raises(RuntimeError, match=r"U\[2,2\] is zero"):
        LA.lu_factor(A)
    with pytest.raises(RuntimeError, match=r"\(Batch element 1\): U\[2,2\] is zero"):
        LA.lu_factor(rtorch.stack([rtorch.eye(2), A]))
    with pytest.raises(RuntimeError, match="without pivoting is not implemented on the CPU"):
        LA.lu_factor(A, pivot=False)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        LA.lu_factor(rtorch.ones(3))
    with pytest.raises(NotImplementedError, match="Got Long"):
        LA.lu_factor(rtorch.ones(2, 2, dtype=rtorch.int64))
    # torch.lu never raises for a singular matrix; get_infos adds info.
    with pytest.warns(UserWarning, match="torch.lu is deprecated"):
        out = rtorch.lu(A, get_infos=True)
    assert len(out) == 3 and out[2].item() == 2
    with pytest.warns(UserWarning):
        assert len(A.lu()) == 2
    P, L, U = rtorch.lu_unpack(LU, piv, unpack_data=False)
    assert P.shape == (2, 2) and L.numel() == 0 and U.numel() == 0


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_lu_solve_every_side(left, adjoint) -> None:
    rng = np.random.default_rng(7)
    a = rng.standard_normal((3, 5, 5))
    b = rng.standard_normal((3, 5, 2)) if left else rng.standard_normal((3, 2, 5))
    LU, piv = LA.lu_factor(rtorch.tensor(a, dtype=F64))
    got = LA.lu_solve(LU, piv, rtorch.tensor(b, dtype=F64), left=left, adjoint=adjoint).numpy()
    op = a.transpose(0, 2, 1) if adjoint else a
    if left:
        want = np.linalg.solve(op, b)
    else:
        want = np.linalg.solve(op.transpose(0, 2, 1), b.transpose(0, 2, 1)).transpose(0, 2, 1)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    with pytest.warns(UserWarning, match="lu_solve is deprecated"):
        old = rtorch.lu_solve(
            rtorch.tensor(b if left else b.transpose(0, 2, 1), dtype=F64), LU, piv
        )
    assert old.shape == (3, 5, 2)


def _numeric_grad(f, a: np.ndarray, g: np.ndarray, h: float = 1e-6) -> np.ndarray:
    out = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        ap, am = a.copy(), a.copy()
        ap[idx] += h
        am[idx] -= h
        out[idx] = ((f(ap) - f(am)) * g).sum() / (2 * h)
    return out


def test_gradients_of_factor_lu_and_solve() -> None:
    rng = np.random.default_rng(9)
    a = rng.standard_normal((4, 4)) + np.diag([3.0, -3.0, 3.0, 3.0])
    g = rng.standard_normal((4, 4))
    A = rtorch.tensor(a, dtype=F64, requires_grad=True)
    LU, piv = LA.lu_factor(A)
    assert LU.grad_fn.name() == "LinalgLuFactorExBackward0"
    (LU * rtorch.tensor(g, dtype=F64)).sum().backward()

    def packed(x: np.ndarray) -> np.ndarray:
        return LA.lu_factor(rtorch.tensor(x, dtype=F64))[0].numpy()

    np.testing.assert_allclose(A.grad.numpy(), _numeric_grad(packed, a, g), rtol=1e-6, atol=1e-8)
    # lu's L and U, and lu_solve in both arguments, through the compositions.
    A.grad = None
    _, L, U = LA.lu(A)
    (L.sum() + (U * U).sum()).backward()

    def lu_terms(x: np.ndarray) -> np.ndarray:
        _, l, u = LA.lu(rtorch.tensor(x, dtype=F64))
        return np.array(l.sum().item() + (u * u).sum().item())

    np.testing.assert_allclose(
        A.grad.numpy(), _numeric_grad(lu_terms, a, np.array(1.0)), rtol=1e-6, atol=1e-8
    )
    b = rng.standard_normal((4, 2))
    B = rtorch.tensor(b, dtype=F64, requires_grad=True)
    A.grad = None
    LU, piv = LA.lu_factor(A)
    LA.lu_solve(LU, piv, B).sum().backward()
    want_b = np.linalg.solve(a.T, np.ones((4, 2)))
    np.testing.assert_allclose(B.grad.numpy(), want_b, rtol=1e-10)
    want_a = -want_b @ np.linalg.solve(a, b).T
    np.testing.assert_allclose(A.grad.numpy(), want_a, rtol=1e-8, atol=1e-10)


def test_matches_pytorch(torch_ref) -> None:
    rng = np.random.default_rng(11)
    for shape in ((6, 6), (2, 5, 3), (4, 7)):
        a = rng.standard_normal(shape)
        got = LA.lu_factor_ex(rtorch.tensor(a, dtype=F64))
        want = torch_ref.linalg.lu_factor_ex(torch_ref.tensor(a))
        assert got.pivots.tolist() == want.pivots.tolist()
        np.testing.assert_allclose(got.LU.numpy(), want.LU.numpy(), rtol=1e-10, atol=1e-12)
