"""rtorch.linalg norms (vector_norm, matrix_norm, norm) and Tensor.norm / rtorch.norm."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FLOAT_DTYPES, assert_np_close

import rtorch
from rtorch.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(1)
INF = float("inf")


def T(a: np.ndarray, dtype=rtorch.float64, requires_grad: bool = False) -> rtorch.Tensor:
    return rtorch.tensor(np.ascontiguousarray(a), dtype=dtype, requires_grad=requires_grad)


def np_vnorm(a, ord, axis=None, keepdims=False):
    a = np.abs(a)
    if ord == INF:
        return a.max(axis=axis, keepdims=keepdims)
    if ord == -INF:
        return a.min(axis=axis, keepdims=keepdims)
    if ord == 0:
        return (a != 0).sum(axis=axis, keepdims=keepdims).astype(np.float64)
    return (a**ord).sum(axis=axis, keepdims=keepdims) ** (1.0 / ord)


@pytest.mark.parametrize("ord", [2, 1, 3, 0.5, 0, INF, -INF])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), ((0, 2), True), (-1, True)])
def test_vector_norm(ord, dim, keepdim):
    a = RNG.standard_normal((3, 4, 5))
    got = rtorch.linalg.vector_norm(T(a), ord, dim, keepdim)
    axis = tuple(dim) if isinstance(dim, tuple) else dim
    assert_np_close(got, np_vnorm(a, ord, axis, keepdim))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_vector_norm_dtypes(dtype):
    a = RNG.standard_normal((4, 6))
    x = T(a, dtype)
    got = rtorch.linalg.vector_norm(x)
    assert got.dtype == dtype and got.shape == ()
    tol = {rtorch.float16: 2e-3, rtorch.bfloat16: 2e-2}.get(dtype, 1e-5)
    ref = np_vnorm(np.asarray(x.double().tolist()), 2)
    assert_np_close(got, ref, rtol=tol, atol=tol)
    d = rtorch.linalg.vector_norm(T(a, rtorch.float32), dtype=rtorch.float64)
    assert d.dtype == rtorch.float64


def test_vector_norm_noncontiguous_and_empty():
    a = RNG.standard_normal((5, 4))
    assert_np_close(rtorch.linalg.vector_norm(T(a).t(), 2, 0), np_vnorm(a.T, 2, 0))
    assert_np_close(
        rtorch.linalg.vector_norm(T(a).narrow(1, 1, 2), 1, 1), np_vnorm(a[:, 1:3], 1, 1)
    )
    assert rtorch.linalg.vector_norm(rtorch.zeros(0, 3)).item() == 0.0
    assert rtorch.linalg.vector_norm(rtorch.tensor(-3.0)).item() == 3.0
    with pytest.raises(RuntimeError, match="cannot compute the inf norm on an empty tensor"):
        rtorch.linalg.vector_norm(rtorch.zeros(0), INF)


def test_vector_norm_errors():
    with pytest.raises(
        NotImplementedError,
        match="linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long",
    ):
        rtorch.linalg.vector_norm(rtorch.ones(3, dtype=rtorch.int64))


@pytest.mark.parametrize("ord", ["fro", 1, -1, INF, -INF])
def test_matrix_norm(ord):
    a = RNG.standard_normal((2, 3, 4))
    got = rtorch.linalg.matrix_norm(T(a), ord)
    ref = np.stack([np.linalg.norm(m, ord) for m in a])
    assert_np_close(got, ref)
    kd = rtorch.linalg.matrix_norm(T(a), ord, keepdim=True)
    assert kd.shape == (2, 1, 1)
    other = rtorch.linalg.matrix_norm(T(a), ord, dim=(0, 2))
    ref2 = np.stack([np.linalg.norm(a[:, j, :], ord) for j in range(3)])
    assert_np_close(other, ref2)


def test_matrix_norm_errors():
    with pytest.raises(RuntimeError, match="The input tensor A must have at least 2 dimensions"):
        rtorch.linalg.matrix_norm(rtorch.ones(3))
    with pytest.raises(RuntimeError, match="Order 3 not supported"):
        rtorch.linalg.matrix_norm(rtorch.ones(3, 3), ord=3)
    with pytest.raises(RuntimeError, match="Order 3 not supported"):
        rtorch.linalg.matrix_norm(rtorch.ones(3, 3), ord=3.0)


def test_linalg_norm_dispatch():
    a = RNG.standard_normal((3, 4))
    assert_np_close(rtorch.linalg.norm(T(a)), np.linalg.norm(a))
    assert_np_close(rtorch.linalg.norm(T(a), 1), np.linalg.norm(a, 1))
    assert_np_close(rtorch.linalg.norm(T(a), INF), np.linalg.norm(a, INF))
    assert_np_close(rtorch.linalg.norm(T(a), dim=1), np.linalg.norm(a, axis=1))
    assert_np_close(rtorch.linalg.norm(T(a), 3, dim=0), np.linalg.norm(a, 3, axis=0))
    assert_np_close(rtorch.linalg.norm(T(a), "fro", dim=(0, 1)), np.linalg.norm(a, "fro"))
    v = RNG.standard_normal(5)
    assert_np_close(rtorch.linalg.norm(T(v), 1), np.linalg.norm(v, 1))
    with pytest.raises(
        RuntimeError,
        match="If dim is not specified but ord is, the input must be 1D or 2D. Got 3D.",
    ):
        rtorch.linalg.norm(rtorch.ones(3, 3, 3), ord=2)


def test_legacy_norm():
    a = RNG.standard_normal((3, 4))
    assert_np_close(T(a).norm(), np.linalg.norm(a))
    assert_np_close(rtorch.norm(T(a)), np.linalg.norm(a))
    assert_np_close(T(a).norm(1), np.abs(a).sum())
    assert_np_close(T(a).norm(2, dim=1), np.linalg.norm(a, axis=1))
    assert_np_close(
        rtorch.norm(T(a), p="fro", dim=(0, 1), keepdim=True), np.linalg.norm(a).reshape(1, 1)
    )
    assert_np_close(T(a).norm(INF, 0), np.abs(a).max(0))


@pytest.mark.parametrize("ord", [2, 1, 3, 0.5, INF, -INF])
def test_vector_norm_gradcheck(ord):
    x = T(RNG.standard_normal((3, 4)), requires_grad=True)
    assert gradcheck(lambda t: rtorch.linalg.vector_norm(t, ord, 1), (x,))
    assert gradcheck(lambda t: rtorch.linalg.vector_norm(t, ord), (x,))


def test_norm_gradgradcheck_and_zero():
    x = T(RNG.standard_normal((3, 4)), requires_grad=True)
    assert gradgradcheck(lambda t: rtorch.linalg.vector_norm(t, 2, 1), (x,))
    assert gradgradcheck(lambda t: rtorch.linalg.vector_norm(t, 3), (x,))
    # the gradient of the 2-norm at zero is zero, not nan
    z = rtorch.zeros(3, dtype=rtorch.float64, requires_grad=True)
    rtorch.linalg.vector_norm(z).backward()
    assert z.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("ord", ["fro", 1, -INF])
def test_matrix_norm_gradcheck(ord):
    x = T(RNG.standard_normal((2, 3, 3)), requires_grad=True)
    assert gradcheck(lambda t: rtorch.linalg.matrix_norm(t, ord), (x,))


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16])
@pytest.mark.parametrize("ord", [2, 3, 1.5, 1])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_half_vector_norms_accumulate_in_float32(dtype, ord, dim):
    # PyTorch sums a 16-bit float's |x|^p in float32 and rounds the norm once: no
    # intermediate rounds to the half type (float16's sum of squares of 100,000 normal
    # values, about 9e5, would overflow it). Within one half ulp of numpy in float64.
    # (1-norms of 100,000 values this size would overflow float16 itself.)
    a = np.random.default_rng(3).standard_normal((20000, 5)) * (0.3 if ord == 1 else 3)
    x = rtorch.tensor(a, dtype=dtype)
    xs = x.double().numpy()
    ref = np.linalg.norm(xs.ravel() if dim is None else xs, ord=ord, axis=dim)
    got = rtorch.linalg.vector_norm(x, ord, dim)
    assert got.dtype == dtype
    g = got.double().numpy()
    assert np.isfinite(g).all()
    ulp = 2.0 ** (np.floor(np.log2(np.abs(ref))) - (10 if dtype == rtorch.float16 else 7))
    assert (np.abs(g - ref) <= ulp).all(), (g, ref)
    if ord == 2 and dim is None:
        assert x.norm().item() == got.item()
        w = x.clone().requires_grad_()
        rtorch.linalg.vector_norm(w).backward()
        assert w.grad.dtype == dtype and np.isfinite(w.grad.double().numpy()).all()
