"""LBFGS: the two-loop recursion against a float64 numpy implementation, the
strong-Wolfe line search on problems with known minimisers, and its errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import to_np

import rtorch
from rtorch import optim

RNG = np.random.RandomState(3)
# A well-conditioned convex quadratic plus a quartic term: f(x) = 1/2 x'Ax - b'x + c sum x^4.
M = RNG.randn(6, 6)
A = M @ M.T / 6 + np.eye(6)
B = RNG.randn(6)
X0 = RNG.randn(6)


def f_and_grad(x, quartic=0.05):
    f = 0.5 * x @ A @ x - B @ x + quartic * np.sum(x**4)
    g = A @ x - B + 4 * quartic * x**3
    return f, g


def lbfgs_reference(x, steps, lr, max_iter, history_size, tol_grad=1e-7, tol_change=1e-9):
    """L-BFGS without line search as documented for torch.optim.LBFGS: the first
    iteration steps min(1, 1/|g|_1) * lr along -g, later ones lr along the two-loop
    direction; curvature pairs with y's <= 1e-10 are skipped."""
    x = x.copy()
    max_eval = max_iter * 5 // 4
    st = {"n_iter": 0}
    for _ in range(steps):
        loss, g = f_and_grad(x)
        evals = 1
        if np.abs(g).max() <= tol_grad:
            continue
        for n in range(1, max_iter + 1):
            st["n_iter"] += 1
            if st["n_iter"] == 1:
                d = -g
                st.update(dirs=[], stps=[], ro=[], H=1.0)
            else:
                y = g - st["prev_g"]
                s = st["d"] * st["t"]
                ys = y @ s
                if ys > 1e-10:
                    if len(st["dirs"]) == history_size:
                        for key in ("dirs", "stps", "ro"):
                            st[key].pop(0)
                    st["dirs"].append(y)
                    st["stps"].append(s)
                    st["ro"].append(1.0 / ys)
                    st["H"] = ys / (y @ y)
                q = -g
                al = [0.0] * len(st["dirs"])
                for i in reversed(range(len(st["dirs"]))):
                    al[i] = (st["stps"][i] @ q) * st["ro"][i]
                    q = q - al[i] * st["dirs"][i]
                r = q * st["H"]
                for i in range(len(st["dirs"])):
                    be = (st["dirs"][i] @ r) * st["ro"][i]
                    r = r + st["stps"][i] * (al[i] - be)
                d = r
            st["prev_g"] = g
            prev_loss = loss
            t = min(1.0, 1.0 / np.abs(g).sum()) * lr if st["n_iter"] == 1 else lr
            st["d"], st["t"] = d, t
            if g @ d > -tol_change:
                break
            x = x + t * d
            opt_cond = False
            if n != max_iter:
                loss, g = f_and_grad(x)
                evals += 1
                opt_cond = np.abs(g).max() <= tol_grad
            if n == max_iter or evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                break
    return x


def make_closure(opt, w, calls=None, quartic=0.05):
    def closure():
        if calls is not None:
            calls.append(rtorch.is_grad_enabled())
        opt.zero_grad()
        f, g = f_and_grad(to_np(w), quartic)
        w.grad = rtorch.tensor(g, dtype=w.dtype)
        return rtorch.tensor(f, dtype=w.dtype)

    return closure


@pytest.mark.parametrize("history_size,max_iter,lr", [(100, 20, 1.0), (3, 7, 0.5), (2, 4, 1.0)])
def test_lbfgs_matches_reference(history_size, max_iter, lr):
    w = rtorch.tensor(X0, dtype=rtorch.float64, requires_grad=True)
    opt = optim.LBFGS([w], lr=lr, max_iter=max_iter, history_size=history_size)
    closure = make_closure(opt, w)
    for _ in range(3):
        opt.step(closure)
    expected = lbfgs_reference(X0, 3, lr, max_iter, history_size)
    np.testing.assert_allclose(to_np(w), expected, rtol=1e-9, atol=1e-11)


def test_lbfgs_closure_runs_with_grad_enabled_and_returns_first_loss():
    w = rtorch.tensor(X0, dtype=rtorch.float64, requires_grad=True)
    opt = optim.LBFGS([w], max_iter=5)
    calls = []
    loss = opt.step(make_closure(opt, w, calls))
    assert calls and all(calls)
    assert float(loss) == pytest.approx(f_and_grad(X0)[0], rel=1e-12)


def test_lbfgs_real_autograd_closure():
    target = rtorch.tensor([1.0, -2.0, 3.0], dtype=rtorch.float64)
    w = rtorch.zeros(3, dtype=rtorch.float64, requires_grad=True)
    opt = optim.LBFGS([w], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = ((w - target) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(to_np(w), [1.0, -2.0, 3.0], atol=1e-6)


@pytest.mark.parametrize("quartic", [0.0, 0.05])
def test_strong_wolfe_reaches_minimiser(quartic):
    w = rtorch.tensor(X0, dtype=rtorch.float64, requires_grad=True)
    opt = optim.LBFGS(
        [w],
        max_iter=50,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-10,
        tolerance_change=1e-15,
    )
    closure = make_closure(opt, w, quartic=quartic)
    losses = [float(opt.step(closure)) for _ in range(3)]
    assert losses[0] >= losses[-1]
    _, g = f_and_grad(to_np(w), quartic)
    assert np.abs(g).max() < 1e-6
    if quartic == 0.0:
        np.testing.assert_allclose(to_np(w), np.linalg.solve(A, B), rtol=1e-6, atol=1e-8)


def test_strong_wolfe_on_rosenbrock():
    w = rtorch.tensor([-1.5, 2.0], dtype=rtorch.float64, requires_grad=True)
    opt = optim.LBFGS([w], max_iter=100, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        x, y = w[0], w[1]
        loss = (1 - x) ** 2 + 100 * (y - x * x) ** 2
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    np.testing.assert_allclose(to_np(w), [1.0, 1.0], atol=1e-5)


def test_lbfgs_maximize():
    w = rtorch.tensor([0.5, -0.5], dtype=rtorch.float64, requires_grad=True)
    opt = optim.LBFGS([w], maximize=True, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = -((w - 2.0) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(to_np(w), [2.0, 2.0], atol=1e-6)


def test_lbfgs_errors():
    a = rtorch.zeros(2, requires_grad=True)
    b = rtorch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
        optim.LBFGS([{"params": [a]}, {"params": [b]}])
    opt = optim.LBFGS([a], line_search_fn="wolfe")

    def closure():
        opt.zero_grad()
        loss = ((a - 1.0) ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)
    with pytest.raises(TypeError):
        optim.LBFGS([b]).step()
