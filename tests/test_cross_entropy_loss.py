"""The fused cross-entropy kernel (class-index targets): forward and backward against
numpy float64 closed forms for (N, C) and (N, C, d1, d2) with weight, ignore_index and
label smoothing under every reduction; rows above the parallel threshold; float16;
gradcheck and double backward in float64; thread-count invariance; PyTorch parity."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_np_close, with_threads

import rtorch
from rtorch.autograd import gradcheck, gradgradcheck

F = rtorch.nn.functional
RNG = np.random.default_rng(5)


def _t(a, dtype=rtorch.float64):
    return rtorch.from_numpy(np.ascontiguousarray(a)).to(dtype)


def reference(x, t, w=None, ignore=-100, ls=0.0, reduction="mean"):
    """Loss and input gradient (for a unit output gradient) in float64, class dim 1."""
    x = np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])  # (samples, C)
    shape_t = t.shape
    t = t.reshape(-1)
    c = x.shape[1]
    w = np.ones(c) if w is None else w
    m = x.max(1, keepdims=True)
    logp = x - m - np.log(np.exp(x - m).sum(1, keepdims=True))
    keep = t != ignore
    ts = np.where(keep, t, 0)
    wt = w[ts] * keep
    nll = -logp[np.arange(len(t)), ts] * wt
    smooth = -(logp * w).sum(1) * keep
    loss = (1 - ls) * nll + ls / c * smooth
    onehot = np.eye(c)[ts]
    p = np.exp(logp)
    grad = (1 - ls) * wt[:, None] * (p - onehot) + ls / c * keep[:, None] * (p * w.sum() - w)
    if reduction == "mean":
        out, grad = loss.sum() / wt.sum(), grad / wt.sum()
    elif reduction == "sum":
        out = loss.sum()
    else:
        out = loss.reshape(shape_t)  # per-sample gradient 1: grad as is
    return out, grad


def _grad_to_layout(g, shape):
    """(samples, C) back to (N, C, *)."""
    n, c, rest = shape[0], shape[1], shape[2:]
    return np.moveaxis(g.reshape((n, *rest, c)), -1, 1)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("shape", [(7, 33), (3, 5, 4, 2)])
@pytest.mark.parametrize("weighted,ls", [(False, 0.0), (True, 0.0), (True, 0.3), (False, 0.1)])
def test_forward_backward_closed_form(reduction, shape, weighted, ls):
    x = RNG.standard_normal(shape) * 3
    tshape = (shape[0], *shape[2:])
    t = RNG.integers(0, shape[1], tshape)
    t.reshape(-1)[::4] = 2  # ignore_index=2 appears, and is a valid class too
    w = RNG.uniform(0.5, 2.0, shape[1]) if weighted else None
    xt = _t(x).requires_grad_(True)
    got = F.cross_entropy(
        xt,
        rtorch.tensor(t),
        weight=None if w is None else _t(w),
        ignore_index=2,
        label_smoothing=ls,
        reduction=reduction,
    )
    want, gwant = reference(x, t, w, 2, ls, reduction)
    assert_np_close(got, want)
    got.sum().backward()
    assert_np_close(xt.grad, _grad_to_layout(gwant, shape))


def test_float32_rows_above_parallel_threshold_and_thread_invariance():
    x = RNG.standard_normal((96, 1000)).astype(np.float32) * 4
    t = RNG.integers(0, 1000, 96)
    xt = _t(x, rtorch.float32).requires_grad_(True)
    before = rtorch.get_num_threads()
    out = []
    try:
        for n in (1, 2):
            rtorch.set_num_threads(n)
            xt.grad = None
            loss = F.cross_entropy(xt, rtorch.tensor(t), label_smoothing=0.05)
            loss.backward()
            out.append((loss.item(), xt.grad.numpy().copy()))
    finally:
        rtorch.set_num_threads(before)
    assert out[0][0] == out[1][0]
    np.testing.assert_array_equal(out[0][1], out[1][1])
    want, gwant = reference(x.astype(np.float64), t, ls=0.05)
    np.testing.assert_allclose(out[0][0], want, 1.3e-6, 1e-5)
    np.testing.assert_allclose(out[0][1], gwant, 1e-5, 1e-7)


def test_float32_segmentation_maps_above_parallel_threshold_and_thread_invariance():
    """(N, C, H, W) logits: the backward's softmax runs along the class axis in strips of
    positions, then scales each position; 4 x 21 x 24 x 25 crosses the grain."""
    shape = (4, 21, 24, 25)
    x = RNG.standard_normal(shape).astype(np.float32) * 4
    t = RNG.integers(0, 21, (4, 24, 25))
    t.reshape(-1)[::7] = -100
    xt = _t(x, rtorch.float32).requires_grad_(True)

    def run():
        xt.grad = None
        loss = F.cross_entropy(xt, rtorch.tensor(t), label_smoothing=0.1)
        loss.backward()
        return loss.item(), xt.grad.numpy().copy()

    one, two = with_threads(1, run), with_threads(2, run)
    assert one[0] == two[0]
    np.testing.assert_array_equal(one[1], two[1])
    want, gwant = reference(x.astype(np.float64), t, ls=0.1)
    np.testing.assert_allclose(one[0], want, 1.3e-6, 1e-5)
    np.testing.assert_allclose(one[1], _grad_to_layout(gwant, shape), 1e-5, 1e-8)


def test_float16_input():
    x = RNG.standard_normal((4, 9))
    xt = _t(x, rtorch.float16).requires_grad_(True)
    loss = F.cross_entropy(xt, rtorch.tensor([0, 3, 8, 1]))
    assert loss.dtype == rtorch.float16
    want, _ = reference(xt.detach().double().numpy(), np.array([0, 3, 8, 1]))
    assert abs(loss.item() - want) < 2e-3 * max(1.0, abs(want))
    loss.backward()
    assert xt.grad.dtype == rtorch.float16


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_gradcheck_and_double_backward(reduction):
    x = _t(RNG.standard_normal((4, 5))).requires_grad_(True)
    w = _t(RNG.uniform(0.5, 2.0, 5))
    t = rtorch.tensor([0, 4, -100, 2])

    def f(a):
        return F.cross_entropy(a, t, weight=w, label_smoothing=0.2, reduction=reduction)

    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))
    x3 = _t(RNG.standard_normal((2, 3, 2))).requires_grad_(True)
    t3 = rtorch.tensor([[0, 2], [1, 1]])

    def f3(a):
        return F.cross_entropy(a, t3, reduction=reduction)

    assert gradcheck(f3, (x3,))
    assert gradgradcheck(f3, (x3,))


def test_uint8_targets_and_errors():
    x = _t(RNG.standard_normal((3, 5)))
    a = F.cross_entropy(x, rtorch.tensor([1, 4, 0], dtype=rtorch.uint8))
    b = F.cross_entropy(x, rtorch.tensor([1, 4, 0]))
    assert a.item() == b.item()
    with pytest.raises(IndexError, match=r"^Target 5 is out of bounds\.$"):
        F.cross_entropy(x, rtorch.tensor([1, 5, 0]), label_smoothing=0.1)
    with pytest.raises(RuntimeError, match="Expected target size"):
        F.cross_entropy(_t(RNG.standard_normal((3, 5, 2))), rtorch.tensor([1, 2, 0]))


def test_parity_with_pytorch(torch_ref):
    torch = torch_ref
    x = RNG.standard_normal((6, 7, 3)).astype(np.float32)
    t = RNG.integers(0, 7, (6, 3))
    w = RNG.uniform(0.5, 2.0, 7).astype(np.float32)
    for reduction in ["none", "mean", "sum"]:
        kw = {"ignore_index": 3, "label_smoothing": 0.15, "reduction": reduction}
        xr = rtorch.from_numpy(x.copy()).requires_grad_(True)
        lr = F.cross_entropy(xr, rtorch.from_numpy(t), weight=rtorch.from_numpy(w), **kw)
        lr.sum().backward()
        xp = torch.from_numpy(x.copy()).requires_grad_(True)
        lp = torch.nn.functional.cross_entropy(
            xp, torch.from_numpy(t), weight=torch.from_numpy(w), **kw
        )
        lp.sum().backward()
        np.testing.assert_allclose(lr.detach().numpy(), lp.detach().numpy(), 2e-6, 1e-5)
        np.testing.assert_allclose(xr.grad.numpy(), xp.grad.numpy(), 2e-6, 1e-6)
