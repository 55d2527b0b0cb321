"""The no-hooks fast paths of Module calls, F.linear and zero_grad keep PyTorch's
results and semantics (values, grad_fn names, errors, hooks once registered)."""

from __future__ import annotations

import numpy as np
import pytest

import rtorch
import rtorch.nn.functional as F
from rtorch import nn


def _np(t: rtorch.Tensor) -> np.ndarray:
    return t.detach().numpy().astype(np.float64)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 3, 4), (1, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_values_and_grads(dtype, shape, bias):
    rtorch.manual_seed(0)
    lin = nn.Linear(4, 5, bias=bias).to(dtype)
    x = rtorch.randn(shape, dtype=dtype, requires_grad=True)
    y = lin(x)
    w = _np(lin.weight)
    expected = _np(x) @ w.T + (_np(lin.bias) if bias else 0.0)
    tol = 1e-5 if dtype == rtorch.float32 else 1e-12
    np.testing.assert_allclose(_np(y), expected, rtol=tol, atol=tol)
    assert tuple(y.shape) == (*shape[:-1], 5)
    g = rtorch.randn(tuple(y.shape), dtype=dtype)
    y.backward(g)
    gn = _np(g)
    np.testing.assert_allclose(_np(x.grad), gn @ w, rtol=tol, atol=tol)
    gw = gn.reshape(-1, 5).T @ _np(x).reshape(-1, 4)
    np.testing.assert_allclose(_np(lin.weight.grad), gw, rtol=tol, atol=tol)
    if bias:
        np.testing.assert_allclose(_np(lin.bias.grad), gn.reshape(-1, 5).sum(0), rtol=tol, atol=tol)


def test_linear_grad_fn_names_match_pytorch():
    lin = nn.Linear(4, 3)
    assert lin(rtorch.randn(4)).grad_fn.name() == "AddBackward0"
    nob = nn.Linear(4, 3, bias=False)
    assert nob(rtorch.randn(2, 4)).grad_fn.name() == "MmBackward0"


@pytest.mark.parametrize("shape", [(5,), (2, 5), (2, 3, 5)])
def test_linear_shape_error_names_both_shapes(shape):
    lin = nn.Linear(4, 3)
    rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    with pytest.raises(RuntimeError, match=rf"\({rows}x5 and 4x3\)"):
        lin(rtorch.randn(shape))


def test_linear_argument_errors():
    lin = nn.Linear(4, 3)
    with pytest.raises(TypeError, match="argument 'input'"):
        F.linear([1.0, 2.0, 3.0, 4.0], lin.weight, lin.bias)
    with pytest.raises(RuntimeError, match="mat1 and mat2 must have the same dtype"):
        lin(rtorch.randn(2, 4, dtype=rtorch.float64))


def test_hooks_still_run_after_fast_calls():
    lin = nn.Linear(4, 4)
    x = rtorch.randn(4)
    lin(x)  # the fast path, before any hook exists
    seen = []
    h = lin.register_forward_pre_hook(lambda m, args: seen.append("pre"))
    h2 = lin.register_forward_hook(lambda m, args, out: seen.append("post"))
    lin(x)
    assert seen == ["pre", "post"]
    h.remove()
    h2.remove()
    lin(x)
    assert seen == ["pre", "post"]


def test_module_zero_grad_fast_and_slow_paths():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared, nn.Linear(3, 2))
    model(rtorch.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model(rtorch.randn(2, 3)).sum().backward()
    model.zero_grad(set_to_none=False)
    for p in model.parameters():
        assert p.grad is not None
        assert not p.grad.any().item()


def test_module_zero_grad_respects_overridden_parameters():
    class Only(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(2, 2)
            self.b = nn.Linear(2, 2)

        def parameters(self, recurse: bool = True):
            return self.a.parameters(recurse)

    m = Only()
    (m.a(rtorch.ones(2)).sum() + m.b(rtorch.ones(2)).sum()).backward()
    m.zero_grad()
    assert m.a.weight.grad is None
    assert m.b.weight.grad is not None


def test_optimizer_zero_grad_both_modes():
    p = rtorch.tensor([1.0, 2.0], requires_grad=True)
    q = rtorch.tensor([3.0], requires_grad=True)
    opt = rtorch.optim.SGD([p, q], lr=0.1)
    (p.sum() * 2).backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad.tolist() == [0.0, 0.0] and q.grad is None
    opt.zero_grad()
    assert p.grad is None and q.grad is None
