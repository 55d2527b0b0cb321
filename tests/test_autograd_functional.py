"""``rtorch.autograd.functional``: values against analytic results."""

from __future__ import annotations

import numpy as np
import pytest

import rtorch
from rtorch.autograd import functional as F


def t64(values, requires_grad=False):
    return rtorch.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def np_of(t):
    return np.array(t.detach().tolist(), dtype=np.float64)


XV = np.array([0.5, -1.0, 2.0])


def cube_sum(x):
    return (x * x * x).sum()


def test_jacobian_single_input_output():
    x = t64(XV)
    j = F.jacobian(lambda x: x * x * 2, x)
    assert tuple(j.shape) == (3, 3)
    np.testing.assert_allclose(np_of(j), np.diag(4 * XV))
    assert not j.requires_grad


def test_jacobian_tuples_and_shapes():
    a = t64([[1.0, 2.0], [3.0, 4.0]])
    b = t64([0.5, 2.0])
    (ja, jb), (ka, kb) = F.jacobian(lambda a, b: (a * b, (a / b).sum()), (a, b))
    assert tuple(ja.shape) == (2, 2, 2, 2) and tuple(jb.shape) == (2, 2, 2)
    assert tuple(ka.shape) == (2, 2) and tuple(kb.shape) == (2,)
    an, bn = np_of(a), np_of(b)
    expected_ja = np.zeros((2, 2, 2, 2))
    for i in range(2):
        for k in range(2):
            expected_ja[i, k, i, k] = bn[k]
    np.testing.assert_allclose(np_of(ja), expected_ja)
    np.testing.assert_allclose(np_of(ka), 1 / np.broadcast_to(bn, (2, 2)))
    np.testing.assert_allclose(np_of(kb), -an.sum(0) / bn**2)


def test_jacobian_of_unrelated_output_is_zero():
    x = t64([1.0, 2.0])
    j = F.jacobian(lambda x: t64([3.0]), x)
    np.testing.assert_allclose(np_of(j), np.zeros((1, 2)))


def test_jacobian_create_graph_is_differentiable():
    x = t64([1.0, 2.0], requires_grad=True)
    j = F.jacobian(lambda x: x * x, x, create_graph=True)
    assert j.requires_grad
    (g,) = rtorch.autograd.grad(j.sum(), [x])
    np.testing.assert_allclose(np_of(g), [2.0, 2.0])


def test_hessian_of_cube_sum():
    h = F.hessian(cube_sum, t64(XV))
    np.testing.assert_allclose(np_of(h), np.diag(6 * XV))


def test_hessian_tuple_inputs():
    x, y = t64([1.0, 2.0]), t64([3.0])

    def f(x, y):
        return (x * x * y).sum()

    (hxx, hxy), (hyx, hyy) = F.hessian(f, (x, y))
    np.testing.assert_allclose(np_of(hxx), np.diag([6.0, 6.0]))
    np.testing.assert_allclose(np_of(hxy), [[2.0], [4.0]])
    np.testing.assert_allclose(np_of(hyx), [[2.0, 4.0]])
    np.testing.assert_allclose(np_of(hyy), [[0.0]])


def test_vjp_and_jvp():
    x = t64(XV)
    v = t64([1.0, 2.0, 3.0])
    out, g = F.vjp(lambda x: x * x, x, v)
    np.testing.assert_allclose(np_of(out), XV**2)
    np.testing.assert_allclose(np_of(g), 2 * XV * np.array([1.0, 2.0, 3.0]))
    out, jv = F.jvp(lambda x: x * x * x, x, v)
    np.testing.assert_allclose(np_of(jv), 3 * XV**2 * np.array([1.0, 2.0, 3.0]))
    out, g = F.vjp(cube_sum, x)
    np.testing.assert_allclose(np_of(g), 3 * XV**2)
    with pytest.raises(RuntimeError, match="The vector v can only be None"):
        F.vjp(lambda x: x * 2, x)


def test_jvp_multiple_inputs():
    a, b = t64([1.0, 2.0]), t64([3.0, 4.0])
    va, vb = t64([1.0, 0.0]), t64([0.0, 1.0])
    _out, jv = F.jvp(lambda a, b: a * b, (a, b), (va, vb))
    np.testing.assert_allclose(np_of(jv), [3.0, 2.0])


def test_hvp_vhp():
    x = t64(XV)
    v = t64([1.0, -1.0, 0.5])
    val, hv = F.hvp(cube_sum, x, v)
    np.testing.assert_allclose(np_of(val), (XV**3).sum())
    np.testing.assert_allclose(np_of(hv), 6 * XV * np.array([1.0, -1.0, 0.5]))
    _, vh = F.vhp(cube_sum, x, v)
    np.testing.assert_allclose(np_of(vh), np_of(hv))
    with pytest.raises(RuntimeError, match="should return a single Tensor with a single element"):
        F.hvp(lambda x: x * x, x, v)


def test_v_shape_checked():
    x = t64(XV)
    with pytest.raises(RuntimeError, match="Entry 0 in v has invalid size"):
        F.vjp(lambda x: x * 2, x, t64([1.0]))


def test_inputs_must_be_tensors():
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        F.jacobian(lambda x: x, [1.0])


def test_torch_parity_hessian(torch_ref):
    h = F.hessian(lambda x: (x * x * x).sum() * (x.sum()), t64(XV))
    th = torch_ref.autograd.functional.hessian(
        lambda x: (x * x * x).sum() * (x.sum()), torch_ref.tensor(XV)
    )
    np.testing.assert_allclose(np_of(h), th.numpy(), rtol=1e-12)
