"""addmm with beta = alpha = 1 (nn.Linear's case): one GEMM onto the broadcast input."""

import numpy as np
import pytest

import rtorch

BIAS_SHAPES = [(), (1,), (5,), (1, 5), (3, 1), (3, 5)]


def _sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """The adjoint of broadcasting ``shape`` to ``g.shape``."""
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True)


@pytest.mark.parametrize("shape", BIAS_SHAPES)
@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
def test_values_gradients_and_node_name(shape, dtype):
    rng = np.random.default_rng(0)
    npd = np.float32 if dtype == rtorch.float32 else np.float64
    b = rng.standard_normal(shape).astype(npd)
    m1 = rng.standard_normal((3, 4)).astype(npd)
    m2 = rng.standard_normal((4, 5)).astype(npd)
    bt, at, ct = (rtorch.tensor(v, requires_grad=True) for v in (b, m1, m2))
    out = rtorch.addmm(bt, at, ct)
    assert out.grad_fn.name() == "AddmmBackward0"
    ref = b.astype(np.float64) + m1.astype(np.float64) @ m2.astype(np.float64)
    tol = (
        {"rtol": 1.3e-6, "atol": 1e-5}
        if dtype == rtorch.float32
        else {"rtol": 1e-12, "atol": 1e-12}
    )
    np.testing.assert_allclose(out.detach().numpy(), ref, **tol)
    g = rng.standard_normal((3, 5))
    out.backward(rtorch.tensor(g.astype(npd)))
    np.testing.assert_allclose(bt.grad.numpy(), _sum_to(g, shape), **tol)
    np.testing.assert_allclose(at.grad.numpy(), g @ m2.T.astype(np.float64), **tol)
    np.testing.assert_allclose(ct.grad.numpy(), m1.T.astype(np.float64) @ g, **tol)


def test_transposed_operands_and_input_left_unchanged():
    rng = np.random.default_rng(1)
    w = rtorch.tensor(rng.standard_normal((6, 4)))
    x = rtorch.tensor(rng.standard_normal((3, 4)))
    bias = rtorch.tensor(rng.standard_normal((3, 6)))
    before = bias.numpy().copy()
    out = rtorch.addmm(bias, x, w.t())
    np.testing.assert_allclose(out.numpy(), before + x.numpy() @ w.numpy().T, rtol=1e-12)
    np.testing.assert_array_equal(bias.numpy(), before)


def test_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(2)
    args = [
        rtorch.tensor(rng.standard_normal(s), requires_grad=True) for s in ((5,), (3, 4), (4, 5))
    ]
    assert rtorch.autograd.gradcheck(rtorch.addmm, args)
    assert rtorch.autograd.gradgradcheck(rtorch.addmm, args)


def test_large_product_uses_threads_with_identical_bits():
    rng = np.random.default_rng(3)
    b, m1, m2 = (
        rtorch.tensor(rng.standard_normal(s).astype(np.float32))
        for s in ((257,), (130, 200), (200, 257))
    )
    before = rtorch.get_num_threads()
    try:
        outs = []
        for t in (1, 2, 3):
            rtorch.set_num_threads(t)
            outs.append(rtorch.addmm(b, m1, m2).numpy())
    finally:
        rtorch.set_num_threads(before)
    assert all(np.array_equal(outs[0], o) for o in outs[1:])
    ref = b.numpy().astype(np.float64) + m1.numpy().astype(np.float64) @ m2.numpy().astype(
        np.float64
    )
    np.testing.assert_allclose(outs[0], ref, rtol=1e-5, atol=1e-4)


def test_other_scalings_and_errors_take_the_composed_path():
    x, y = rtorch.ones(2, 3), rtorch.ones(3, 4)
    np.testing.assert_allclose(
        rtorch.addmm(rtorch.ones(4), x, y, beta=2, alpha=0.5).numpy(), np.full((2, 4), 3.5)
    )
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        rtorch.addmm(rtorch.ones(4), x, rtorch.ones(2, 4))
    with pytest.raises(RuntimeError):
        rtorch.addmm(rtorch.ones(7), x, y)
