"""torch.linalg functions composed of rtorch's other linear algebra
(python/rtorch/_linalg_compositions.py). References: numpy float64 (matrix_power,
multi_dot, solve, cond, tensorinv, tensorsolve, vander), closed forms and numpy's
eigendecomposition for matrix_exp, central differences for its gradient."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rtorch

LA = rtorch.linalg
F64 = rtorch.float64


def _t(a) -> rtorch.Tensor:
    return rtorch.tensor(np.asarray(a), dtype=F64)


def test_matrix_exp_closed_forms_and_symmetric_eigendecomposition() -> None:
    rng = np.random.default_rng(0)
    # A rotation generator: e^{tJ} is the rotation by t (scaling and squaring at t = 1000).
    for t in (0.3, 7.0, 1000.0):
        got = LA.matrix_exp(_t([[0.0, -t], [t, 0.0]])).numpy()
        want = [[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]]
        np.testing.assert_allclose(got, want, atol=1e-13 * max(1.0, t))
    # Nilpotent: e^N = I + N + N^2/2.
    N = np.triu(rng.standard_normal((4, 4)), 1)
    np.testing.assert_allclose(
        LA.matrix_exp(_t(N)).numpy(), np.eye(4) + N + N @ N / 2 + N @ N @ N / 6, atol=1e-14
    )
    # Batched symmetric matrices of very different norms (each its own scaling).
    mats = []
    for scale in (1e-3, 1.0, 4.0, 30.0):
        S = rng.standard_normal((5, 5))
        mats.append((S + S.T) * scale / 4)
    batch = np.stack(mats)
    got = LA.matrix_exp(_t(batch)).numpy()
    for g, S in zip(got, batch):
        w, V = np.linalg.eigh(S)
        want = (V * np.exp(w)) @ V.T
        np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    # float32, the method and Tensor spellings, empty and 1x1.
    got32 = rtorch.tensor(batch[:2], dtype=rtorch.float32).matrix_exp()
    assert got32.dtype == rtorch.float32
    np.testing.assert_allclose(got32.numpy(), rtorch.matrix_exp(_t(batch[:2])).numpy(), rtol=2e-5)
    assert LA.matrix_exp(rtorch.empty(0, 0)).shape == (0, 0)
    out = rtorch.empty(0, dtype=F64)
    assert LA.matrix_exp(_t(batch), out=out) is out
    np.testing.assert_allclose(out.numpy(), got, rtol=1e-15)
    one = LA.matrix_exp(rtorch.tensor([[[math.inf]], [[math.nan]], [[2.0]]])).flatten().tolist()
    assert one[0] == math.inf and math.isnan(one[1]) and one[2] == pytest.approx(math.exp(2))


def test_matrix_exp_errors_and_gradient() -> None:
    with pytest.raises(RuntimeError, match="square matrices, but they are 2 by 3"):
        LA.matrix_exp(rtorch.ones(2, 3))
    with pytest.raises(NotImplementedError, match="Got Long"):
        LA.matrix_exp(rtorch.ones(3, 3, dtype=rtorch.int64))
    rng = np.random.default_rng(1)
    A0 = rng.standard_normal((3, 3)) * 2
    G = rng.standard_normal((3, 3))
    A = _t(A0).requires_grad_()
    (LA.matrix_exp(A) * _t(G)).sum().backward()
    num = np.zeros_like(A0)
    h = 1e-6
    for idx in np.ndindex(3, 3):
        ap, am = A0.copy(), A0.copy()
        ap[idx] += h
        am[idx] -= h
        up = (LA.matrix_exp(_t(ap)).numpy() * G).sum()
        dn = (LA.matrix_exp(_t(am)).numpy() * G).sum()
        num[idx] = (up - dn) / (2 * h)
    np.testing.assert_allclose(A.grad.numpy(), num, rtol=1e-6, atol=1e-7)


def test_matrix_power_multi_dot_vander_diagonal() -> None:
    rng = np.random.default_rng(2)
    M = rng.standard_normal((4, 4))
    for n in (0, 1, 3, -2):
        np.testing.assert_allclose(
            LA.matrix_power(_t(M), n).numpy(), np.linalg.matrix_power(M, n), rtol=1e-10
        )
    mats = [rng.standard_normal(s) for s in ((7,), (7, 30), (30, 2), (2, 50), (50,))]
    got = LA.multi_dot([_t(m) for m in mats])
    assert got.dim() == 0
    assert got.item() == pytest.approx(np.linalg.multi_dot(mats), rel=1e-12)
    got = LA.multi_dot([_t(m) for m in mats[1:4]])
    np.testing.assert_allclose(got.numpy(), np.linalg.multi_dot(mats[1:4]), rtol=1e-12)
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        LA.multi_dot([rtorch.ones(2, 3), rtorch.ones(2, 3)])
    with pytest.raises(RuntimeError, match="at least 2 tensors"):
        LA.multi_dot([rtorch.ones(2, 3)])
    x = rtorch.tensor([1, 2, 3])
    assert LA.vander(x).tolist() == np.vander([1, 2, 3], increasing=True).tolist()
    assert LA.vander(x, N=4).dtype == rtorch.int64
    assert LA.vander(_t([0.5, -2.0]), N=3).tolist() == [[1.0, 0.5, 0.25], [1.0, -2.0, 4.0]]
    for n in (0, 1):
        with pytest.raises(RuntimeError, match="N must be greater than 1"):
            LA.vander(x, N=n)
    A = rtorch.arange(24.0).reshape(2, 3, 4)
    assert LA.diagonal(A).tolist() == [[0.0, 5.0, 10.0], [12.0, 17.0, 22.0]]
    # Elements (0, j, 1) and (1, j, 2): the diagonal of dims 0 and 2 shifted by one.
    got = LA.diagonal(A, offset=1, dim1=0, dim2=2).tolist()
    assert got == [[1.0, 14.0], [5.0, 18.0], [9.0, 22.0]]


def test_solve_triangular_reads_one_triangle() -> None:
    rng = np.random.default_rng(3)
    A = rng.standard_normal((2, 4, 4)) + 4 * np.eye(4)
    B = rng.standard_normal((2, 4, 3))
    for upper in (True, False):
        T = np.triu(A) if upper else np.tril(A)
        got = LA.solve_triangular(_t(A), _t(B), upper=upper)
        np.testing.assert_allclose(got.numpy(), np.linalg.solve(T, B), rtol=1e-10)
        U = T.copy()
        for m in U:
            np.fill_diagonal(m, 1.0)
        got = LA.solve_triangular(_t(A), _t(B), upper=upper, unitriangular=True)
        np.testing.assert_allclose(got.numpy(), np.linalg.solve(U, B), rtol=1e-10)
    Bt = rng.standard_normal((2, 3, 4))
    got = LA.solve_triangular(_t(A), _t(Bt), upper=True, left=False)
    want = np.linalg.solve(np.triu(A).transpose(0, 2, 1), Bt.transpose(0, 2, 1)).transpose(0, 2, 1)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)


def test_solve_triangular_substitution_sizes_dtypes_and_broadcast() -> None:
    rng = np.random.default_rng(31)
    # Sizes past faer's recursive blocking (and a tail), several right-hand sides,
    # float32 against float64 numpy; the other triangle holds garbage that must not be read.
    for n, k in ((1, 1), (7, 3), (65, 5), (130, 17)):
        A = rng.standard_normal((n, n)) + n * np.eye(n)
        A += 1e3 * (np.triu(np.ones((n, n)), 1))
        B = rng.standard_normal((n, k))
        want = np.linalg.solve(np.tril(A), B)
        got = LA.solve_triangular(_t(A), _t(B), upper=False)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
        got32 = LA.solve_triangular(_t(A).float(), _t(B).float(), upper=False)
        assert got32.dtype == rtorch.float32
        np.testing.assert_allclose(got32.numpy(), want, rtol=1e-4, atol=1e-5)
    # Batch dims broadcast (5, 1) with (4,); a non-contiguous (transposed) B.
    A = rng.standard_normal((5, 1, 3, 3)) + 3 * np.eye(3)
    B = rng.standard_normal((4, 2, 3))
    got = LA.solve_triangular(_t(A), _t(B).mT, upper=True)
    want = np.linalg.solve(np.triu(A), B.transpose(0, 2, 1))
    assert tuple(got.shape) == (5, 4, 3, 2)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)
    # Empty matrices and an empty batch.
    assert tuple(LA.solve_triangular(rtorch.zeros(0, 0), rtorch.ones(0, 3), upper=True).shape) == (
        0,
        3,
    )
    assert tuple(
        LA.solve_triangular(rtorch.zeros(0, 2, 2), rtorch.ones(2, 3), upper=True).shape
    ) == (
        0,
        2,
        3,
    )


def test_solve_triangular_singular_dtype_and_errors() -> None:
    # No singularity check, as PyTorch: a zero pivot divides by zero.
    got = LA.solve_triangular(rtorch.zeros(2, 2), rtorch.ones(2, 1), upper=True).tolist()
    assert math.isnan(got[0][0]) and got[1][0] == math.inf
    # unitriangular ignores the diagonal (here zeros).
    got = LA.solve_triangular(
        rtorch.tensor([[0.0, 1.0], [0.0, 2.0]]), rtorch.ones(2, 1), upper=True, unitriangular=True
    )
    assert got.tolist() == [[0.0], [1.0]]
    # The result takes A's dtype (B is converted), as PyTorch.
    A, B = rtorch.eye(3), rtorch.ones(3, 2, dtype=F64)
    assert LA.solve_triangular(A, B, upper=True).dtype == rtorch.float32
    assert LA.solve_triangular(A.double(), B.float(), upper=True).dtype == F64
    assert LA.solve_triangular(A, B.int(), upper=False).tolist() == [[1.0, 1.0]] * 3
    with pytest.raises(RuntimeError, match="B must have at least 2 dimensions"):
        LA.solve_triangular(A, rtorch.ones(3), upper=True)
    with pytest.raises(RuntimeError, match=r"equation AX = B \(3x3 and 4x2\)"):
        LA.solve_triangular(A, rtorch.ones(4, 2), upper=True)
    with pytest.raises(RuntimeError, match=r"equation XA = B \(3x3 and 2x4\)"):
        LA.solve_triangular(A, rtorch.ones(2, 4), upper=True, left=False)
    with pytest.raises(RuntimeError, match="3 by 4 matrices"):
        LA.solve_triangular(rtorch.ones(3, 4), rtorch.ones(3, 2), upper=True)
    with pytest.raises(NotImplementedError, match="not implemented for 'Int'"):
        LA.solve_triangular(A.int(), B, upper=True)
    with pytest.raises(NotImplementedError, match="not implemented for 'Half'"):
        LA.solve_triangular(A.half(), B.half(), upper=True)
    with pytest.raises(TypeError):
        LA.solve_triangular(A, B)


def _substitution(T: np.ndarray, B: np.ndarray, upper: bool) -> np.ndarray:
    """Plain row substitution in float64 (zeros multiplied too, as BLAS does)."""
    X = B.astype(float).copy()
    n = T.shape[0]
    order = range(n - 1, -1, -1) if upper else range(n)
    done: list[int] = []
    with np.errstate(all="ignore"):
        for i in order:
            for j in done:
                X[i] -= T[i, j] * X[j]
            X[i] /= T[i, i]
            done.append(i)
    return X


def test_solve_triangular_zero_pivots_and_infinities_as_substitution() -> None:
    # Singular or non-finite triangles give plain substitution's inf/-inf/NaN pattern
    # (PyTorch's), not the NaNs a blocked inverse of the diagonal blocks makes.
    rng = np.random.default_rng(34)
    for trial in range(200):
        n, k, upper = int(rng.integers(2, 7)), int(rng.integers(1, 3)), bool(trial % 2)
        A = rng.integers(-2, 3, (n, n)).astype(float)
        A[np.diag_indices(n)] *= rng.random(n) > 0.4
        if trial % 5 == 0:
            A[rng.integers(n), rng.integers(n)] = np.inf
        B = rng.integers(-2, 3, (n, k)).astype(float)
        T = np.triu(A) if upper else np.tril(A)
        want = _substitution(T, B, upper)
        got = LA.solve_triangular(_t(A), _t(B), upper=upper).numpy()
        np.testing.assert_array_equal(got, want)
    assert LA.solve_triangular(
        _t([[1.0, 0.0], [2.0, 0.0]]), _t([[1.0], [1.0]]), upper=False
    ).tolist() == [
        [1.0],
        [-math.inf],
    ]


def test_solve_triangular_gradients() -> None:
    from rtorch.autograd import gradcheck, gradgradcheck

    rng = np.random.default_rng(32)
    A = _t(rng.standard_normal((2, 4, 4)) + 4 * np.eye(4)).requires_grad_()
    B = _t(rng.standard_normal((4, 3))).requires_grad_()
    Bt = _t(rng.standard_normal((3, 4))).requires_grad_()
    for upper in (True, False):
        for unit in (True, False):
            assert gradcheck(
                lambda a, b, u=upper, t=unit: LA.solve_triangular(a, b, upper=u, unitriangular=t),
                (A, B),
            )
            assert gradcheck(
                lambda a, b, u=upper, t=unit: LA.solve_triangular(
                    a, b, upper=u, left=False, unitriangular=t
                ),
                (A, Bt),
            )
    assert gradgradcheck(lambda a, b: LA.solve_triangular(a, b, upper=True), (A, B))
    # The gradient lives on the triangle read: zero elsewhere (and on the diagonal when
    # unitriangular).
    LA.solve_triangular(A, B, upper=True, unitriangular=True).sum().backward()
    g = A.grad.numpy()
    assert np.all(np.tril(g[0]) == 0) and np.any(np.triu(g[0], 1) != 0)


def test_solve_triangular_matches_torch(torch_ref) -> None:
    torch = torch_ref
    rng = np.random.default_rng(33)
    A = rng.standard_normal((3, 6, 6)) + 2 * np.eye(6)
    B = rng.standard_normal((3, 6, 4))
    for upper in (True, False):
        for left in (True, False):
            Bx = B if left else B.transpose(0, 2, 1)
            got = LA.solve_triangular(_t(A), _t(Bx), upper=upper, left=left).numpy()
            want = torch.linalg.solve_triangular(
                torch.tensor(A), torch.tensor(Bx), upper=upper, left=left
            ).numpy()
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


def test_cond_tensorinv_tensorsolve() -> None:
    rng = np.random.default_rng(4)
    A = rng.standard_normal((3, 5, 5))
    for p in (None, 2, -2, 1, -1, math.inf, -math.inf, "fro", "nuc"):
        want = np.linalg.cond(A, p)
        np.testing.assert_allclose(LA.cond(_t(A), p).numpy(), want, rtol=1e-9)
    wide = rng.standard_normal((3, 5))
    assert LA.cond(_t(wide)).item() == pytest.approx(np.linalg.cond(wide), rel=1e-10)
    T = rng.standard_normal((4, 6, 8, 3))
    np.testing.assert_allclose(
        LA.tensorinv(_t(T), ind=2).numpy(), np.linalg.tensorinv(T, ind=2), rtol=1e-9, atol=1e-12
    )
    with pytest.raises(RuntimeError, match="prod"):
        LA.tensorinv(rtorch.ones(2, 3), ind=1)
    S = rng.standard_normal((6, 4, 2, 3, 4))
    Bv = rng.standard_normal((6, 4))
    np.testing.assert_allclose(
        LA.tensorsolve(_t(S), _t(Bv)).numpy(), np.linalg.tensorsolve(S, Bv), rtol=1e-9, atol=1e-12
    )
    S2 = rng.standard_normal((6, 2, 3))
    B2 = rng.standard_normal((2, 3))
    np.testing.assert_allclose(
        LA.tensorsolve(_t(S2), _t(B2), dims=(0,)).numpy(),
        np.linalg.tensorsolve(S2, B2, axes=(0,)),
        rtol=1e-9,
        atol=1e-12,
    )
