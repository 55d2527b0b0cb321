"""nn.utils: clip_grad_norm_, clip_grad_value_, get_total_norm, parameters_to_vector,
vector_to_parameters. References are numpy float64 norms of the concatenated gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rtorch
from rtorch import nn
from rtorch.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    get_total_norm,
    parameters_to_vector,
    vector_to_parameters,
)


def np_of(t):
    return np.array(t.detach().tolist(), dtype=np.float64)


def params_with_grads(seed=0, dtype=rtorch.float32):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    params = []
    for s in shapes:
        p = nn.Parameter(rtorch.tensor(rng.normal(size=s), dtype=dtype))
        p.grad = rtorch.tensor(rng.normal(size=s) * 3, dtype=dtype)
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_scales_by_total_norm(norm_type):
    params = params_with_grads()
    flat = np.concatenate([np_of(p.grad).ravel() for p in params])
    ref_total = np.linalg.norm(flat, ord=norm_type)
    before = [np_of(p.grad) for p in params]
    max_norm = 0.5
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert isinstance(total, rtorch.Tensor) and total.dim() == 0
    np.testing.assert_allclose(total.item(), ref_total, rtol=1e-5)
    coef = max_norm / (ref_total + 1e-6)
    for p, g in zip(params, before):
        np.testing.assert_allclose(np_of(p.grad), g * coef, rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_no_change_below_max():
    params = params_with_grads(dtype=rtorch.float64)
    before = [np_of(p.grad) for p in params]
    total = clip_grad_norm_(iter(params), max_norm=1e6)  # a generator is accepted
    for p, g in zip(params, before):
        np.testing.assert_array_equal(np_of(p.grad), g)
    flat = np.concatenate([g.ravel() for g in before])
    np.testing.assert_allclose(total.item(), np.linalg.norm(flat), rtol=1e-12)


def test_clip_grad_norm_single_tensor_and_none_grads():
    p = nn.Parameter(rtorch.tensor([3.0, 4.0]))
    p.grad = rtorch.tensor([3.0, 4.0])
    q = nn.Parameter(rtorch.tensor([1.0]))  # no grad: skipped
    total = clip_grad_norm_([p, q], 1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(np_of(p.grad), [3.0 / 5.000001, 4.0 / 5.000001], rtol=1e-6)
    assert q.grad is None
    p.grad = rtorch.tensor([3.0, 4.0])
    assert clip_grad_norm_(p, 100.0, norm_type=1).item() == 7.0
    assert clip_grad_norm_([], 1.0).item() == 0.0


def test_clip_grad_norm_mixed_dtypes_promotes_total():
    p = nn.Parameter(rtorch.tensor([3.0, 4.0]))
    q = nn.Parameter(rtorch.tensor([12.0], dtype=rtorch.float64))
    p.grad = rtorch.tensor([3.0, 4.0])
    q.grad = rtorch.tensor([12.0], dtype=rtorch.float64)
    total = clip_grad_norm_([p, q], 1.0)
    assert total.dtype == rtorch.float64 and total.item() == 13.0  # as PyTorch
    assert p.grad.dtype == rtorch.float32 and q.grad.dtype == rtorch.float64


def test_clip_grad_norm_nonfinite():
    p = nn.Parameter(rtorch.tensor([1.0, 2.0]))
    p.grad = rtorch.tensor([float("inf"), 1.0])
    with pytest.raises(
        RuntimeError,
        match=r"The total norm of order 2.0 for gradients from `parameters` is non-finite, so "
        r"it cannot be clipped. To disable this error and scale the gradients by the "
        r"non-finite norm anyway, set `error_if_nonfinite=False`",
    ):
        clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    p.grad = rtorch.tensor([float("nan"), 1.0])
    total = clip_grad_norm_(p, 1.0)  # scales by nan, as PyTorch
    assert math.isnan(total.item()) and all(math.isnan(v) for v in p.grad.tolist())


def test_get_total_norm():
    ts = [rtorch.tensor([1.0, -2.0]), rtorch.tensor([[2.0]])]
    assert get_total_norm(ts).item() == pytest.approx(3.0)
    assert get_total_norm(ts, norm_type="inf").item() == 2.0
    assert get_total_norm(rtorch.tensor([-5.0])).item() == 5.0


def test_clip_grad_norm_backward_integration():
    # gradients from a real backward pass, clipped, equal the reference
    w = nn.Parameter(rtorch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    x = rtorch.tensor([[1.0, 1.0], [2.0, -1.0]])
    (x @ w).pow(2).sum().backward()
    g = np_of(w.grad)
    total = clip_grad_norm_([w], 1.0)
    np.testing.assert_allclose(total.item(), np.linalg.norm(g), rtol=1e-6)
    np.testing.assert_allclose(np_of(w.grad), g / (np.linalg.norm(g) + 1e-6), rtol=1e-5)


def test_clip_grad_value():
    params = params_with_grads()
    before = [np_of(p.grad) for p in params]
    assert clip_grad_value_(params, 0.7) is None
    for p, g in zip(params, before):
        np.testing.assert_array_equal(np_of(p.grad), np.clip(g, -0.7, 0.7).astype(np.float32))
    single = nn.Parameter(rtorch.tensor([5.0, -5.0]))
    single.grad = rtorch.tensor([5.0, -5.0])
    clip_grad_value_(single, 1)
    assert single.grad.tolist() == [1.0, -1.0]


def test_parameters_to_vector_and_back():
    params = params_with_grads()
    vec = parameters_to_vector(params)
    ref = np.concatenate([np_of(p).ravel() for p in params])
    np.testing.assert_array_equal(np_of(vec), ref)
    assert vec.grad_fn is not None  # differentiable, as PyTorch's cat of views
    new = rtorch.arange(vec.numel(), dtype=rtorch.float32)
    w0 = params[0]
    vector_to_parameters(new, params)
    assert params[0] is w0 and isinstance(w0, nn.Parameter) and w0.requires_grad
    assert params[0].shape == (3, 4)
    np.testing.assert_array_equal(np_of(parameters_to_vector(params)), np.arange(vec.numel()))
    np.testing.assert_array_equal(np_of(params[1]), [12, 13, 14, 15])
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
        vector_to_parameters([1.0], params)


def test_module_parameters_round_trip():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Parameter(rtorch.zeros(2, 3))
            self.b = nn.Parameter(rtorch.zeros(4))

    m = Two()
    vector_to_parameters(rtorch.arange(10, dtype=rtorch.float32), m.parameters())
    assert m.b.tolist() == [6.0, 7.0, 8.0, 9.0]
    assert parameters_to_vector(m.parameters()).tolist() == list(map(float, range(10)))
