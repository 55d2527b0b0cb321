"""rtorch.func: grad / grad_and_value / vjp / jacrev / hessian against closed forms,
nesting, per-sample gradients through vmap, functional_call, and torch parity."""

from __future__ import annotations

import numpy as np
import pytest

import rtorch
from rtorch import nn
from rtorch.func import functional_call, grad, grad_and_value, hessian, jacrev, vjp, vmap


def _t(x) -> rtorch.Tensor:
    return rtorch.tensor(x, dtype=rtorch.float64)


def test_grad_closed_forms_and_nesting() -> None:
    x = _t([1.0, 2.0, -0.5])
    g = grad(lambda v: (v**3).sum())(x)
    assert g.tolist() == pytest.approx((3 * x**2).tolist()) and not g.requires_grad
    assert grad(grad(lambda v: v**3))(_t(2.0)).item() == pytest.approx(12.0)
    assert grad(grad(grad(lambda v: v.sin())))(_t(0.3)).item() == pytest.approx(-np.cos(0.3))
    gx, gy = grad(lambda a, b: (a * b).sum(), argnums=(0, 1))(_t([1.0, 2.0]), _t([3.0, 4.0]))
    assert gx.tolist() == [3.0, 4.0] and gy.tolist() == [1.0, 2.0]
    g, aux = grad(lambda v: ((v**2).sum(), v * 10), has_aux=True)(_t([1.0, 2.0]))
    assert g.tolist() == [2.0, 4.0] and aux.tolist() == [10.0, 20.0] and not aux.requires_grad
    g, value = grad_and_value(lambda v: (v**2).sum())(_t([1.0, 2.0]))
    assert value.item() == 5.0 and g.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="Expected f\\(\\*args\\) to return a scalar Tensor"):
        grad(lambda v: v * 2)(_t([1.0, 2.0]))


def test_vjp_jacrev_hessian() -> None:
    x = _t([1.0, 2.0])
    out, fn = vjp(lambda v: v**2, x)
    assert out.tolist() == [1.0, 4.0] and fn(_t([1.0, 1.0]))[0].tolist() == [2.0, 4.0]
    jac = jacrev(lambda v: v**2)(x)
    assert jac.tolist() == [[2.0, 0.0], [0.0, 4.0]]
    m = _t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(jacrev(lambda v: m @ v)(_t([1.0, 1.0, 1.0])).numpy(), m.numpy())
    assert hessian(lambda v: (v**3).sum())(x).tolist() == [[6.0, 0.0], [0.0, 12.0]]


def test_vmap_and_per_sample_gradients() -> None:
    rtorch.manual_seed(0)
    w = rtorch.randn(3, dtype=rtorch.float64)
    xs = rtorch.randn(5, 3, dtype=rtorch.float64)
    per_sample = vmap(grad(lambda w_, x: (w_ * x).sum() ** 2), in_dims=(None, 0))(w, xs)
    want = 2 * (xs * w).sum(1, keepdim=True) * xs
    np.testing.assert_allclose(per_sample.numpy(), want.numpy(), rtol=1e-12)
    assert (
        vmap(lambda a, b: a @ b, in_dims=(0, None))(rtorch.ones(3, 2), rtorch.ones(2)).tolist()
        == [2.0] * 3
    )
    s, d = vmap(lambda v: (v.sum(), v * 2), out_dims=(0, 1))(rtorch.ones(3, 2))
    assert s.shape == (3,) and d.shape == (2, 3)
    assert vmap(lambda v: v * 2, in_dims=1)(rtorch.ones(2, 4)).shape == (4, 2)
    with pytest.raises(ValueError, match="same size in the mapped dimension"):
        vmap(lambda a, b: a + b)(rtorch.ones(2), rtorch.ones(3))


def test_functional_call() -> None:
    m = nn.Linear(2, 1)
    before = m.weight.detach().clone()
    params = {"weight": rtorch.ones(1, 2), "bias": rtorch.zeros(1)}
    out = functional_call(m, params, (rtorch.ones(3, 2),))
    assert out.tolist() == [[2.0]] * 3 and rtorch.equal(m.weight, before)
    assert isinstance(m.weight, nn.Parameter)
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    names = dict(net.named_parameters())
    new = {k: v.detach() * 0 for k, v in names.items()}
    y = functional_call(net.eval(), new, rtorch.ones(4, 2))
    assert y.abs().max().item() == 0.0
    with pytest.raises(RuntimeError, match="Missing key\\(s\\)"):
        functional_call(m, {"weight": rtorch.ones(1, 2)}, (rtorch.ones(1, 2),), strict=True)
    # Gradients flow to the substituted tensors.
    w = rtorch.ones(1, 2, requires_grad=True)
    functional_call(m, {"weight": w}, (rtorch.ones(3, 2),)).sum().backward()
    assert w.grad.tolist() == [[3.0, 3.0]]


def test_parity_with_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w, xs = rng.standard_normal(3), rng.standard_normal((4, 3))

    def loss_r(w_, x):
        return ((w_ * x).sum().tanh()) ** 2

    def loss_t(w_, x):
        return ((w_ * x).sum().tanh()) ** 2

    mine = vmap(grad(loss_r), in_dims=(None, 0))(_t(w), _t(xs))
    theirs = torch.func.vmap(torch.func.grad(loss_t), in_dims=(None, 0))(
        torch.tensor(w), torch.tensor(xs)
    )
    np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12)
    h1 = hessian(lambda v: (v.sin() * v).sum())(_t(w))
    h2 = torch.func.hessian(lambda v: (v.sin() * v).sum())(torch.tensor(w))
    np.testing.assert_allclose(h1.numpy(), h2.numpy(), rtol=1e-12, atol=1e-15)


def test_jvp_and_jacfwd() -> None:
    from rtorch.func import jacfwd, jvp

    x, y = _t([0.3, 1.2, -0.7]), _t([1.0, 2.0, 3.0])
    tx, ty = _t([1.0, 0.5, -1.0]), _t([0.2, 0.0, 1.0])
    (out, _total), (j_out, j_total) = jvp(
        lambda a, b: (a.sin() * b, (a * b).sum()), (x, y), (tx, ty)
    )
    np.testing.assert_allclose(j_out.numpy(), (x.cos() * y * tx + x.sin() * ty).numpy(), rtol=1e-14)
    assert j_total.item() == pytest.approx((tx * y + x * ty).sum().item(), rel=1e-14)
    assert not j_out.requires_grad and out.tolist() == (x.sin() * y).tolist()
    assert jacfwd(lambda v: v**2)(_t([1.0, 2.0])).tolist() == [[2.0, 0.0], [0.0, 4.0]]
    with pytest.raises(RuntimeError, match="Expected primals and tangents to be tuples"):
        jvp(lambda v: v, x, tx)
