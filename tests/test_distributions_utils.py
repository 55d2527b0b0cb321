"""Tests of ``rtorch.distributions.utils``: the tril helpers against numpy's tril indices,
the probability helpers against closed forms, and PyTorch parity of every public name."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rtorch
from rtorch.distributions import utils

F64 = rtorch.float64


def _np(t: rtorch.Tensor) -> np.ndarray:
    return np.array(t.tolist()).reshape(tuple(t.shape))


def _tril_reference(vec: np.ndarray, n: int, diag: int) -> np.ndarray:
    rows, cols = np.tril_indices(n, k=diag)  # row-major order
    out = np.zeros(vec.shape[:-1] + (n, n))
    out[..., rows, cols] = vec
    return out


@pytest.mark.parametrize(
    "n, diag", [(1, 0), (3, 0), (4, -1), (4, -2), (3, 1), (3, 2), (5, -4), (2, -1)]
)
def test_vec_to_tril_matrix_and_back(n, diag):
    count = len(np.tril_indices(n, k=diag)[0])
    rng = np.random.default_rng(n * 10 + diag)
    vec = rng.standard_normal((2, 3, count))
    mat = utils.vec_to_tril_matrix(rtorch.tensor(vec.tolist(), dtype=F64), diag)
    assert tuple(mat.shape) == (2, 3, n, n)
    np.testing.assert_array_equal(_np(mat), _tril_reference(vec, n, diag))
    back = utils.tril_matrix_to_vec(mat, diag)
    np.testing.assert_array_equal(_np(back), vec)


def test_tril_matrix_to_vec_reads_only_the_triangle():
    mat = np.arange(16.0).reshape(4, 4)
    got = utils.tril_matrix_to_vec(rtorch.tensor(mat.tolist(), dtype=F64), -1)
    rows, cols = np.tril_indices(4, k=-1)
    np.testing.assert_array_equal(_np(got), mat[rows, cols])


def test_tril_dtypes_and_empty():
    ints = utils.vec_to_tril_matrix(rtorch.arange(6))
    assert ints.dtype == rtorch.int64
    assert ints.tolist() == [[0, 0, 0], [1, 2, 0], [3, 4, 5]]
    f32 = utils.vec_to_tril_matrix(rtorch.ones(3))
    assert f32.dtype == rtorch.float32 and tuple(f32.shape) == (2, 2)
    assert tuple(utils.vec_to_tril_matrix(rtorch.zeros(2, 0)).shape) == (2, 0, 0)
    assert utils.vec_to_tril_matrix(rtorch.zeros(0), -1).tolist() == [[0.0]]


@pytest.mark.parametrize("m", [2, 4, 5, 7])
def test_vec_to_tril_matrix_bad_length(m):
    with pytest.raises(ValueError, match=f"The size of last dimension is {m} which cannot"):
        utils.vec_to_tril_matrix(rtorch.zeros(m))


@pytest.mark.parametrize("diag", [3, -4])
def test_tril_matrix_to_vec_bad_diag(diag):
    with pytest.raises(ValueError, match=rf"diag \({diag}\) provided is outside \[-3, 2\]"):
        utils.tril_matrix_to_vec(rtorch.zeros(3, 3), diag)


def test_tril_gradients():
    vec = rtorch.tensor([0.3, -1.2, 0.5, 2.0, 0.1, -0.7], dtype=F64, requires_grad=True)
    assert rtorch.autograd.gradcheck(lambda v: utils.vec_to_tril_matrix(v), (vec,))
    mat = rtorch.tensor(np.arange(9.0).reshape(3, 3).tolist(), dtype=F64, requires_grad=True)
    assert rtorch.autograd.gradcheck(lambda m: utils.tril_matrix_to_vec(m, -1), (mat,))


def test_euler_constant():
    # gamma = H_n - log n - 1/(2n) + 1/(12 n^2) - 1/(120 n^4) + O(n^-6); log n's rounding
    # (about 1e-15 absolute) dominates the error.
    n = 1000
    h = math.fsum(1.0 / k for k in range(1, n + 1))
    assert utils.euler_constant == pytest.approx(
        h - math.log(n) - 1 / (2 * n) + 1 / (12 * n * n) - 1 / (120 * n**4), abs=3e-15
    )


def test_probability_helpers():
    p = rtorch.tensor([0.0, 0.2, 1.0], dtype=F64)
    eps = np.finfo(np.float64).eps
    np.testing.assert_array_equal(_np(utils.clamp_probs(p)), [eps, 0.2, 1 - eps])
    logits = _np(utils.probs_to_logits(p, is_binary=True))
    assert logits[1] == pytest.approx(math.log(0.2 / 0.8), rel=1e-14)
    assert _np(utils.logits_to_probs(rtorch.tensor([0.0, math.log(3.0)], dtype=F64))).tolist() == (
        pytest.approx([0.25, 0.75], rel=1e-14)
    )
    assert utils.logits_to_probs(rtorch.tensor(math.log(3.0)), is_binary=True).item() == (
        pytest.approx(0.75, rel=1e-6)
    )
    _, b = utils.broadcast_all(rtorch.zeros(2, 1, dtype=F64), 3.0)
    assert tuple(b.shape) == (2, 1) and b.dtype == F64
    with pytest.raises(ValueError, match="Input arguments must all be instances"):
        utils.broadcast_all(rtorch.zeros(1), "x")


def test_public_names_parity(torch_ref):
    torch = torch_ref
    tu = torch.distributions.utils
    assert set(tu.__all__) <= set(utils.__all__)
    for name in [*tu.__all__, "euler_constant"]:
        ours, theirs = getattr(utils, name), getattr(tu, name)
        assert type(ours).__name__ == type(theirs).__name__ or (callable(ours) and callable(theirs))
    assert utils.euler_constant == tu.euler_constant


@pytest.mark.parametrize("n, diag", [(3, 0), (4, -1), (3, 1), (1, 0)])
def test_tril_parity(torch_ref, n, diag):
    torch = torch_ref
    count = len(np.tril_indices(n, k=diag)[0])
    vec = np.random.default_rng(0).standard_normal((2, count))
    ours = utils.vec_to_tril_matrix(rtorch.tensor(vec.tolist(), dtype=F64), diag)
    theirs = torch.distributions.utils.vec_to_tril_matrix(torch.tensor(vec), diag)
    np.testing.assert_array_equal(_np(ours), theirs.numpy())
    back = torch.distributions.utils.tril_matrix_to_vec(theirs, diag)
    np.testing.assert_array_equal(_np(utils.tril_matrix_to_vec(ours, diag)), back.numpy())


def test_probability_helpers_parity(torch_ref):
    torch = torch_ref
    tu = torch.distributions.utils
    vals = [0.0, 1e-20, 0.3, 1.0]
    for binary in (False, True):
        ours = utils.probs_to_logits(rtorch.tensor(vals, dtype=F64), is_binary=binary)
        theirs = tu.probs_to_logits(torch.tensor(vals, dtype=torch.float64), is_binary=binary)
        np.testing.assert_allclose(_np(ours), theirs.numpy(), rtol=1e-15)
        ours = utils.logits_to_probs(rtorch.tensor(vals, dtype=F64), is_binary=binary)
        theirs = tu.logits_to_probs(torch.tensor(vals, dtype=torch.float64), is_binary=binary)
        np.testing.assert_allclose(_np(ours), theirs.numpy(), rtol=1e-15)
    np.testing.assert_array_equal(
        _np(utils.clamp_probs(rtorch.tensor([0.0, 1.0]))),
        tu.clamp_probs(torch.tensor([0.0, 1.0])).numpy(),
    )


def test_xlogy_keeps_the_gradient_at_zero():
    """rtorch.xlogy (which Gamma and Dirichlet's log_prob use): x log y with d/dx = log y
    also at x == 0 (the densities' (c - 1) log x at c = 1), masked to 0 where x == 0 and
    y <= 0, d/dy = x / y, as PyTorch's derivative formulas."""
    x = rtorch.tensor([0.0, 0.0, 0.0, 2.0, 0.0], dtype=F64, requires_grad=True)
    y = rtorch.tensor([2.0, 0.0, -1.0, 3.0, math.inf], dtype=F64, requires_grad=True)
    out = rtorch.xlogy(x, y)
    assert out.tolist() == [0.0, 0.0, 0.0, 2 * math.log(3.0), 0.0]
    gx, gy = rtorch.autograd.grad(out.sum(), [x, y])
    assert gx.tolist() == [math.log(2.0), 0.0, 0.0, math.log(3.0), math.inf]
    assert [str(v) for v in gy.tolist()] == ["0.0", "nan", "-0.0", str(2 / 3), "0.0"]
    nan = rtorch.xlogy(rtorch.tensor([0.0], dtype=F64), rtorch.tensor([math.nan], dtype=F64))
    assert math.isnan(nan.item())
    # xlog1py: the same with log1p, masked where y <= -1.
    x1 = rtorch.tensor([0.0, 0.0, 1.0], dtype=F64, requires_grad=True)
    y1 = rtorch.tensor([2.0, -1.0, 3.0], dtype=F64, requires_grad=True)
    g1x, g1y = rtorch.autograd.grad(rtorch.special.xlog1py(x1, y1).sum(), [x1, y1])
    assert g1x.tolist() == pytest.approx([math.log1p(2.0), 0.0, math.log1p(3.0)], rel=1e-15)
    assert [str(v) for v in g1y.tolist()] == ["0.0", "nan", "0.25"]
    a = rtorch.tensor([0.5, 2.0], dtype=F64, requires_grad=True)
    b = rtorch.tensor([3.0, 0.25], dtype=F64, requires_grad=True)
    assert rtorch.autograd.gradcheck(rtorch.xlogy, (a, b))
    assert rtorch.autograd.gradgradcheck(rtorch.special.xlog1py, (a, b))


def test_gamma_and_dirichlet_gradients_at_unit_concentration():
    """d/dc log_prob at c = 1 against central differences of the closed-form density."""
    from rtorch.distributions import Dirichlet, Gamma

    x, rate = 0.7, 1.3

    def gamma_lp(c):
        return c * math.log(rate) + (c - 1) * math.log(x) - rate * x - math.lgamma(c)

    c = rtorch.tensor(1.0, dtype=F64, requires_grad=True)
    (g,) = rtorch.autograd.grad(
        Gamma(c, rtorch.tensor(rate, dtype=F64)).log_prob(rtorch.tensor(x, dtype=F64)), [c]
    )
    h = 1e-6
    assert g.item() == pytest.approx((gamma_lp(1 + h) - gamma_lp(1 - h)) / (2 * h), rel=1e-8)
    v = [0.2, 0.3, 0.5]
    conc = rtorch.tensor([1.0, 2.0, 1.0], dtype=F64, requires_grad=True)
    (g,) = rtorch.autograd.grad(Dirichlet(conc).log_prob(rtorch.tensor(v, dtype=F64)), [conc])

    def dir_lp(a):
        return (
            math.lgamma(sum(a))
            - sum(math.lgamma(ai) for ai in a)
            + sum((ai - 1) * math.log(vi) for ai, vi in zip(a, v))
        )

    for i in range(3):
        up = [1.0, 2.0, 1.0]
        dn = [1.0, 2.0, 1.0]
        up[i] += h
        dn[i] -= h
        assert g[i].item() == pytest.approx((dir_lp(up) - dir_lp(dn)) / (2 * h), rel=1e-7)
