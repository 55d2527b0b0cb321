"""Higher-order gradients through the real ops (matmul, tanh, sigmoid, softmax, pow):
create_graph=True must give correct second and third derivatives."""

import numpy as np

import rtorch


def t64(a, requires_grad=True):
    return rtorch.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def test_third_derivative_of_cube():
    x = t64([0.5, -1.5, 2.0])
    (g1,) = rtorch.autograd.grad((x**3).sum(), x, create_graph=True)
    (g2,) = rtorch.autograd.grad(g1.sum(), x, create_graph=True)
    (g3,) = rtorch.autograd.grad(g2.sum(), x)
    xs = np.array([0.5, -1.5, 2.0])
    np.testing.assert_allclose(g1.tolist(), 3 * xs**2, rtol=1e-12)
    np.testing.assert_allclose(g2.tolist(), 6 * xs, rtol=1e-12)
    np.testing.assert_allclose(g3.tolist(), [6.0, 6.0, 6.0], rtol=1e-12)


def test_second_derivatives_of_tanh_and_sigmoid():
    xs = np.array([-1.2, 0.0, 0.7])
    x = t64(xs)
    (g,) = rtorch.autograd.grad(x.tanh().sum(), x, create_graph=True)
    (h,) = rtorch.autograd.grad(g.sum(), x)
    th = np.tanh(xs)
    np.testing.assert_allclose(h.tolist(), -2 * th * (1 - th**2), rtol=1e-10, atol=1e-12)
    x = t64(xs)
    (g,) = rtorch.autograd.grad(x.sigmoid().sum(), x, create_graph=True)
    (h,) = rtorch.autograd.grad(g.sum(), x)
    s = 1 / (1 + np.exp(-xs))
    np.testing.assert_allclose(h.tolist(), s * (1 - s) * (1 - 2 * s), rtol=1e-10, atol=1e-12)


def test_softmax_and_matmul_gradgradcheck():
    rng = np.random.default_rng(0)
    a = t64(rng.standard_normal((3, 4)))
    b = t64(rng.standard_normal((4, 2)))
    assert rtorch.autograd.gradgradcheck(lambda p, q: (p @ q).softmax(dim=1), (a, b))


def _mlp_loss(params, x, y):
    w1, b1, w2, b2 = params
    h = (x @ w1 + b1).tanh()
    out = h @ w2 + b2
    return ((out - y) ** 2).mean()


def test_mlp_hessian_vector_product_matches_finite_differences():
    rng = np.random.default_rng(1)
    shapes = [(5, 4), (4,), (4, 3), (3,)]
    base = [rng.standard_normal(s) * 0.5 for s in shapes]
    vec = [rng.standard_normal(s) for s in shapes]
    x = t64(rng.standard_normal((6, 5)), requires_grad=False)
    y = t64(rng.standard_normal((6, 3)), requires_grad=False)

    params = [t64(p) for p in base]
    grads = rtorch.autograd.grad(_mlp_loss(params, x, y), params, create_graph=True)
    dot = sum((g * t64(v, requires_grad=False)).sum() for g, v in zip(grads, vec))
    hvp = rtorch.autograd.grad(dot, params)

    def grad_at(eps):
        ps = [t64(p + eps * v) for p, v in zip(base, vec)]
        gs = rtorch.autograd.grad(_mlp_loss(ps, x, y), ps)
        return [np.array(g.tolist()) for g in gs]

    eps = 1e-5
    plus, minus = grad_at(eps), grad_at(-eps)
    for h, gp, gm in zip(hvp, plus, minus):
        np.testing.assert_allclose(
            np.array(h.tolist()), (gp - gm) / (2 * eps), rtol=1e-5, atol=1e-7
        )
