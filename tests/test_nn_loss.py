"""rtorch.nn losses: functional forms and layers against numpy float64 references, every
reduction, gradients by gradcheck, PyTorch's error classes and messages, and parity with
PyTorch where it is installed."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from conftest import assert_np_close, to_np
from nn_parity_cases import loss_cases, run_in_torch

import rtorch
import rtorch.nn.functional as F
from rtorch import nn
from rtorch.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)
REDUCTIONS = ["none", "sum", "mean"]


def _t(a, dtype=rtorch.float64, requires_grad=False):
    return rtorch.tensor(np.asarray(a), dtype=dtype, requires_grad=requires_grad)


def _log_softmax(x, axis=1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _reduce(loss, reduction):
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


def _log_sigmoid(x):
    return -np.logaddexp(0, -x)


# ----- cross-entropy and NLL -----


def ce_reference(x, t, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    """Cross-entropy by its definition: x (N, C, *), t (N, *) class indices."""
    n_classes = x.shape[1]
    logp = _log_softmax(x, 1)
    w = np.ones(n_classes) if weight is None else weight
    keep = t != ignore_index
    safe = np.where(keep, t, 0)
    picked = np.take_along_axis(logp, safe[:, None], 1)[:, 0]
    w_t = w[safe] * keep
    nll = -picked * w_t
    class_w = w.reshape((1, n_classes) + (1,) * (x.ndim - 2))
    uniform = -(logp * class_w).sum(1) * keep
    loss = (1 - label_smoothing) * nll + label_smoothing / n_classes * uniform
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / w_t.sum()


CE_X = RNG.standard_normal((6, 5)) * 2
CE_T = np.array([0, 4, 2, -100, 3, 2])
CE_W = np.array([0.5, 1.0, 2.0, 0.3, 1.2])


@pytest.mark.parametrize(
    "weighted,ignore_index,label_smoothing,reduction",
    list(itertools.product([False, True], [-100, 2], [0.0, 0.25], REDUCTIONS)),
)
def test_cross_entropy_class_indices(weighted, ignore_index, label_smoothing, reduction):
    weight = CE_W if weighted else None
    targets = CE_T if ignore_index == -100 else np.where(CE_T == -100, 1, CE_T)
    got = F.cross_entropy(
        _t(CE_X),
        rtorch.tensor(targets),
        weight=None if weight is None else _t(weight),
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
    )
    expected = ce_reference(CE_X, targets, weight, ignore_index, label_smoothing, reduction)
    assert_np_close(got, expected)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_k_dimensional(reduction):
    x = RNG.standard_normal((2, 4, 3, 2))
    t = RNG.integers(0, 4, (2, 3, 2))
    t[0, 0, 0] = -100
    w = np.array([1.0, 0.5, 2.0, 1.5])
    got = F.cross_entropy(_t(x), rtorch.tensor(t), weight=_t(w), reduction=reduction,
                          label_smoothing=0.1)  # fmt: skip
    assert_np_close(got, ce_reference(x, t, w, -100, 0.1, reduction))
    if reduction == "none":
        assert got.shape == (2, 3, 2)


def test_cross_entropy_unbatched_and_float32():
    x = RNG.standard_normal(5)
    got = F.cross_entropy(_t(x), rtorch.tensor(3), reduction="none")
    assert got.shape == ()
    assert_np_close(got, -_log_softmax(x[None])[0, 3])
    x32 = CE_X.astype(np.float32)
    t = np.array([0, 4, 2, 1, 3, 2])
    got = F.cross_entropy(rtorch.tensor(x32), rtorch.tensor(t))
    assert got.dtype == rtorch.float32
    assert_np_close(got, ce_reference(x32.astype(np.float64), t))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probabilities(reduction):
    p = RNG.uniform(0, 1, (6, 5))
    p /= p.sum(1, keepdims=True)
    ls = 0.2
    target = p * (1 - ls) + ls / 5
    terms = -(_log_softmax(CE_X) * target * CE_W)
    expected = {"none": terms.sum(1), "sum": terms.sum(), "mean": terms.sum() / 6}[reduction]
    got = F.cross_entropy(_t(CE_X), _t(p), weight=_t(CE_W), label_smoothing=ls,
                          reduction=reduction)  # fmt: skip
    assert_np_close(got, expected)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probabilities_unbatched(reduction):
    # A (C,) input with (C,) probabilities is one sample; 'none' gives a 0-dim loss.
    x, p, w = np.array([0.5, -1.0, 2.0]), np.array([0.2, 0.3, 0.5]), np.array([1.0, 2.0, 3.0])
    got = F.cross_entropy(_t(x), _t(p), weight=_t(w), reduction=reduction)
    assert got.shape == ()
    assert_np_close(got, -(_log_softmax(x[None])[0] * p * w).sum())


def test_cross_entropy_stable_for_huge_logits():
    x = rtorch.tensor([[1000.0, 0.0, -1000.0], [0.0, 0.0, 1e4]])
    got = F.cross_entropy(x, rtorch.tensor([1, 0]), reduction="none")
    assert_np_close(got, [1000.0, 1e4])


def test_cross_entropy_gradcheck():
    t = rtorch.tensor([0, 4, 2, -100, 3, 2])
    w = _t(CE_W)
    for kwargs in [{}, {"weight": w, "label_smoothing": 0.3}, {"reduction": "sum"}]:
        x = _t(CE_X, requires_grad=True)
        assert gradcheck(lambda a, kw=kwargs: F.cross_entropy(a, t, **kw), (x,))
    probs = _t(np.full((6, 5), 0.2))
    x = _t(CE_X, requires_grad=True)
    assert gradcheck(lambda a: F.cross_entropy(a, probs, weight=w), (x,))
    x3 = _t(RNG.standard_normal((2, 3, 2)), requires_grad=True)
    assert gradcheck(lambda a: F.cross_entropy(a, rtorch.tensor([[0, 2], [1, 1]])), (x3,))


def test_cross_entropy_gradient_closed_form():
    # d/dx mean CE = (softmax(x) - onehot(t)) / N
    t = np.array([0, 4, 2, 1, 3, 2])
    x = _t(CE_X, requires_grad=True)
    F.cross_entropy(x, rtorch.tensor(t)).backward()
    expected = (np.exp(_log_softmax(CE_X)) - np.eye(5)[t]) / 6
    assert_np_close(x.grad, expected)


def test_cross_entropy_non_contiguous_input():
    xt = _t(CE_X.T.copy()).t()  # (6, 5) with transposed strides
    assert not xt.is_contiguous()
    t = np.array([0, 4, 2, 1, 3, 2])
    assert_np_close(F.cross_entropy(xt, rtorch.tensor(t)), ce_reference(CE_X, t))


def test_all_ignored_and_empty_give_nan_for_mean():
    x = _t(CE_X[:3])
    ignored = rtorch.tensor([-100, -100, -100])
    assert math.isnan(F.cross_entropy(x, ignored).item())
    assert F.cross_entropy(x, ignored, reduction="sum").item() == 0.0
    assert math.isnan(
        F.cross_entropy(rtorch.zeros(0, 5), rtorch.zeros(0, dtype=rtorch.int64)).item()
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    logp = _log_softmax(CE_X)
    got = F.nll_loss(_t(logp), rtorch.tensor(CE_T), weight=_t(CE_W), reduction=reduction)
    assert_np_close(got, ce_reference(CE_X, CE_T, CE_W, reduction=reduction))
    # uint8 targets are accepted, as PyTorch
    t8 = np.array([0, 4, 2, 1, 3, 2])
    got8 = F.nll_loss(_t(logp), rtorch.tensor(t8, dtype=rtorch.uint8), reduction=reduction)
    assert_np_close(got8, ce_reference(CE_X, t8, reduction=reduction))


def test_classification_errors():
    x = rtorch.randn(3, 5)
    with pytest.raises(
        RuntimeError, match="expected target dtype to be Long or Byte, but got Float"
    ):
        F.cross_entropy(x, rtorch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(
        RuntimeError, match="expected target dtype to be Long or Byte, but got Float"
    ):
        F.nll_loss(x, rtorch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Int"):
        F.cross_entropy(x, rtorch.tensor([1, 2, 3], dtype=rtorch.int32))
    with pytest.raises(IndexError, match=r"^Target 10 is out of bounds\.$"):
        F.cross_entropy(x, rtorch.tensor([1, 10, 3]))
    with pytest.raises(IndexError, match=r"^Target -1 is out of bounds\.$"):
        F.cross_entropy(x, rtorch.tensor([1, -1, 3]))
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        F.cross_entropy(x, rtorch.tensor([1, 7, -100]), weight=rtorch.ones(5))
    # an out-of-range value equal to ignore_index is fine
    F.cross_entropy(x, rtorch.tensor([1, 10, 3]), ignore_index=10)
    with pytest.raises(
        ValueError, match=r"Expected input batch_size \(3\) to match target batch_size \(2\)\."
    ):
        F.cross_entropy(x, rtorch.tensor([1, 2]))
    with pytest.raises(RuntimeError, match=r"Expected target size \[2, 4\], got \[2, 3\]"):
        F.cross_entropy(rtorch.randn(2, 5, 4), rtorch.zeros(2, 3, dtype=rtorch.int64))
    with pytest.raises(
        RuntimeError,
        match="Expected floating point type for target with class probabilities, got Long",
    ):
        F.cross_entropy(x, rtorch.ones(3, 5, dtype=rtorch.int64))
    with pytest.raises(ValueError, match=r"Expected 1 or more dimensions \(got 0\)"):
        F.nll_loss(rtorch.tensor(1.0), rtorch.tensor(0))
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0. Got: 1.5"):
        F.cross_entropy(x, rtorch.tensor([1, 2, 3]), label_smoothing=1.5)
    with pytest.raises(
        RuntimeError, match=r"for all 5 classes or no classes but got weight tensor of shape: \[2\]"
    ):
        F.cross_entropy(x, rtorch.tensor([1, 2, 3]), weight=rtorch.ones(2))
    with pytest.raises(RuntimeError, match="multi-target not supported"):
        F.cross_entropy(x, rtorch.rand(3, 4))
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        F.cross_entropy(x, rtorch.tensor([1, 2, 3]), reduction="avg")


def test_legacy_size_average_and_reduce():
    x, y = _t([1.0, 2.0]), _t([0.0, 0.0])
    with pytest.warns(UserWarning, match="please use reduction='sum' instead"):
        assert F.mse_loss(x, y, size_average=False).item() == 5.0
    with pytest.warns(UserWarning, match="please use reduction='none' instead"):
        assert F.l1_loss(x, y, reduce=False).shape == (2,)
    with pytest.warns(UserWarning, match="please use reduction='mean' instead"):
        m = nn.CrossEntropyLoss(size_average=True)
    assert m.reduction == "mean"
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert nn.NLLLoss(size_average=False).reduction == "sum"


# ----- regression losses -----


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(reduction):
    x, y = RNG.standard_normal((4, 5)) * 2, RNG.standard_normal((4, 5))
    d = x - y
    ad = np.abs(d)
    cases = [
        (F.mse_loss, {}, d**2),
        (F.l1_loss, {}, ad),
        (F.smooth_l1_loss, {"beta": 0.7}, np.where(ad < 0.7, 0.5 * d**2 / 0.7, ad - 0.35)),
        (F.smooth_l1_loss, {"beta": 0.0}, ad),
        (F.huber_loss, {"delta": 1.3}, np.where(ad < 1.3, 0.5 * d**2, 1.3 * (ad - 0.65))),
    ]
    for fn, kwargs, expected in cases:
        got = fn(_t(x), _t(y), reduction=reduction, **kwargs)
        assert_np_close(got, _reduce(expected, reduction))
        xg = _t(x, requires_grad=True)
        assert gradcheck(lambda a, fn=fn, kw=kwargs: fn(a, _t(y), reduction=reduction, **kw), (xg,))


@pytest.mark.parametrize("huber", [False, True])
def test_smooth_l1_and_huber_kernels(huber):
    """One elementwise kernel for each and one for its gradient: float32 against the
    float64 closed forms on 100003 values (vector blocks, a tail, the parallel split),
    the points at +-beta exactly, the target's gradient, a non-contiguous input, and
    the double backward (the composed gradient)."""
    p = 1.3 if huber else 0.7
    x = (RNG.standard_normal(100003) * 2).astype(np.float32)
    y = RNG.standard_normal(100003).astype(np.float32)
    x[:4] = y[:4] + np.float32(p) * np.array([1, -1, 0.5, 0], np.float32)
    d = x.astype(np.float64) - y
    ad = np.abs(d)
    if huber:
        want = np.where(ad < p, 0.5 * d**2, p * (ad - 0.5 * p))
        slope = np.clip(d, -p, p)
    else:
        want = np.where(ad < p, 0.5 * d**2 / p, ad - 0.5 * p)
        slope = np.clip(d / p, -1, 1)
    xt = rtorch.tensor(x, requires_grad=True)
    yt = rtorch.tensor(y, requires_grad=True)
    fn = (
        (lambda a, b: F.huber_loss(a, b, delta=p, reduction="none"))
        if huber
        else (lambda a, b: F.smooth_l1_loss(a, b, beta=p, reduction="none"))
    )
    out = fn(xt, yt)
    np.testing.assert_allclose(to_np(out), want, rtol=1.3e-6, atol=1e-5)
    g = RNG.standard_normal(100003).astype(np.float32)
    out.backward(rtorch.tensor(g))
    np.testing.assert_allclose(to_np(xt.grad), g * slope, rtol=1.3e-6, atol=1e-5)
    np.testing.assert_allclose(to_np(yt.grad), -g * slope, rtol=1.3e-6, atol=1e-5)
    strided = rtorch.tensor(np.stack([x, y], 1))[:, 0]
    assert not strided.is_contiguous()
    assert np.array_equal(to_np(fn(strided, yt.detach())), to_np(out.detach()))
    a = _t(RNG.standard_normal((3, 4)), requires_grad=True)
    b = _t(RNG.standard_normal((3, 4)))
    assert gradgradcheck(lambda t: fn(t, b), (a,))


def test_regression_weight_argument():
    x, y, w = (RNG.uniform(0.1, 1, (3, 4)) for _ in range(3))
    assert_np_close(F.mse_loss(_t(x), _t(y), weight=_t(w)), ((x - y) ** 2 * w).sum() / w.sum())
    assert_np_close(
        F.l1_loss(_t(x), _t(y), weight=_t(w), reduction="sum"), (np.abs(x - y) * w).sum()
    )
    huber = np.where(np.abs(x - y) < 1, 0.5 * (x - y) ** 2, np.abs(x - y) - 0.5)
    assert_np_close(F.huber_loss(_t(x), _t(y), weight=_t(w)), (huber * w).mean())
    with pytest.raises(ValueError, match="Weights and input must have the same size."):
        F.mse_loss(_t(x), _t(y), weight=_t(w[0]))


def test_regression_broadcast_warning_and_error():
    with pytest.warns(
        UserWarning, match=r"Using a target size \(torch.Size\(\[5\]\)\) that is different"
    ):
        F.mse_loss(rtorch.randn(3, 5), rtorch.randn(5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="must match the size"):
            F.mse_loss(rtorch.randn(3, 5), rtorch.randn(4))
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        F.mse_loss(rtorch.randn(2), rtorch.randn(2), reduction="avg")


def test_l1_gradient_zero_where_equal():
    x = _t([1.0, 2.0, 3.0], requires_grad=True)
    F.l1_loss(x, _t([1.0, 0.0, 5.0]), reduction="sum").backward()
    assert_np_close(x.grad, [0.0, 1.0, -1.0])


# ----- binary classification -----


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction):
    p, y, w = RNG.uniform(0.02, 0.98, (4, 3)), RNG.uniform(0, 1, (4, 3)), RNG.uniform(0.5, 2, 3)
    expected = -(y * np.log(p) + (1 - y) * np.log(1 - p)) * w
    got = F.binary_cross_entropy(_t(p), _t(y), weight=_t(w), reduction=reduction)
    assert_np_close(got, _reduce(expected, reduction))
    pg = _t(p, requires_grad=True)
    assert gradcheck(lambda a: F.binary_cross_entropy(a, _t(y), reduction=reduction), (pg,))


def test_binary_cross_entropy_saturation():
    p = _t([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    y = _t([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(p, y, reduction="none")
    assert_np_close(loss, [100.0, 100.0, 0.0, 0.0])
    loss.sum().backward()
    # PyTorch's backward: (p - y) / max(p (1 - p), 1e-12), not the clamped logs' zero slope.
    assert_np_close(p.grad, [-1e12, 1e12, 0.0, 0.0])
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(_t([1.5]), _t([1.0]))
    with pytest.raises(
        ValueError,
        match=r"Using a target size \(torch.Size\(\[4\]\)\) that is different to the input size \(torch.Size\(\[3\]\)\) is deprecated",
    ):
        F.binary_cross_entropy(rtorch.rand(3), rtorch.rand(4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(reduction):
    x, y = RNG.standard_normal((4, 3)) * 3, RNG.uniform(0, 1, (4, 3))
    w, pw = RNG.uniform(0.5, 2, 3), np.array([1.0, 3.0, 0.5])
    expected = -(pw * y * _log_sigmoid(x) + (1 - y) * _log_sigmoid(-x)) * w
    got = F.binary_cross_entropy_with_logits(
        _t(x), _t(y), weight=_t(w), pos_weight=_t(pw), reduction=reduction
    )
    assert_np_close(got, _reduce(expected, reduction))
    xg = _t(x, requires_grad=True)
    assert gradcheck(
        lambda a: F.binary_cross_entropy_with_logits(a, _t(y), pos_weight=_t(pw)), (xg,)
    )


def test_binary_cross_entropy_with_logits_stable_and_errors():
    got = F.binary_cross_entropy_with_logits(
        rtorch.tensor([1000.0, -1000.0, 1000.0]), rtorch.tensor([1.0, 0.0, 0.0]), reduction="none"
    )
    assert_np_close(got, [0.0, 0.0, 1000.0])
    with pytest.raises(
        ValueError,
        match=r"Target size \(torch.Size\(\[4\]\)\) must be the same as input size \(torch.Size\(\[3\]\)\)",
    ):
        F.binary_cross_entropy_with_logits(rtorch.rand(3), rtorch.rand(4))


# ----- distribution losses -----


def test_kl_div():
    x = _log_softmax(RNG.standard_normal((4, 3)))
    q = np.array([[0.0, 0.5, 0.5], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.1, 0.1, 0.8]])
    pointwise = np.where(q > 0, q * (np.log(np.where(q > 0, q, 1)) - x), 0.0)
    assert_np_close(F.kl_div(_t(x), _t(q), reduction="batchmean"), pointwise.sum() / 4)
    assert_np_close(F.kl_div(_t(x), _t(q), reduction="sum"), pointwise.sum())
    assert_np_close(F.kl_div(_t(x), _t(q), reduction="none"), pointwise)
    with pytest.warns(UserWarning, match="reduction: 'mean' divides the total loss"):
        assert_np_close(F.kl_div(_t(x), _t(q)), pointwise.mean())
    lq = _log_softmax(RNG.standard_normal((4, 3)))
    assert_np_close(
        F.kl_div(_t(x), _t(lq), reduction="batchmean", log_target=True),
        (np.exp(lq) * (lq - x)).sum() / 4,
    )
    xg = _t(x, requires_grad=True)
    assert gradcheck(lambda a: F.kl_div(a, _t(q), reduction="batchmean"), (xg,))
    with pytest.raises(ValueError, match="bad is not a valid value for reduction"):
        F.kl_div(_t(x), _t(q), reduction="bad")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_poisson_nll_loss(reduction):
    x, y = RNG.standard_normal((3, 4)), RNG.uniform(0, 4, (3, 4))
    y[0, 0] = 0.5
    stirling = np.where(y > 1, y * np.log(y) - y + 0.5 * np.log(2 * np.pi * y), 0.0)
    got = F.poisson_nll_loss(_t(x), _t(y), full=True, reduction=reduction)
    assert_np_close(got, _reduce(np.exp(x) - y * x + stirling, reduction))
    rate = np.abs(x) + 0.1
    got = F.poisson_nll_loss(_t(rate), _t(y), log_input=False, reduction=reduction)
    assert_np_close(got, _reduce(rate - y * np.log(rate + 1e-8), reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_loss(reduction):
    x, y = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    var = RNG.uniform(0.5, 2, (3, 1))
    expected = 0.5 * (np.log(var) + (x - y) ** 2 / var) + 0.5 * np.log(2 * np.pi)
    got = F.gaussian_nll_loss(_t(x), _t(y), _t(var[:, 0]), full=True, reduction=reduction)
    assert_np_close(got, _reduce(expected, reduction))  # homoscedastic: var one dim short
    got = F.gaussian_nll_loss(_t(x), _t(y), 0.5, reduction=reduction)
    assert_np_close(got, _reduce(0.5 * (np.log(0.5) + (x - y) ** 2 / 0.5), reduction))
    vg = _t(var, requires_grad=True)
    assert gradcheck(lambda v: F.gaussian_nll_loss(_t(x), _t(y), v), (vg,))


def test_gaussian_nll_loss_errors_and_clamp():
    x = rtorch.randn(3, 5)
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(x, x, rtorch.ones(3, 2))
    with pytest.raises(ValueError, match="var has negative entry/entries"):
        F.gaussian_nll_loss(x, x, -rtorch.ones(3, 5))
    var = _t([0.0, 1.0], requires_grad=True)
    loss = F.gaussian_nll_loss(_t([1.0, 1.0]), _t([0.0, 0.0]), var, eps=0.5, reduction="sum")
    assert_np_close(loss, 0.5 * (np.log(0.5) + 2.0) + 0.5)
    loss.backward()  # the clamp has no gradient of its own: d/dvar at the clamped value
    assert_np_close(var.grad, [0.5 * (1 / 0.5 - 1 / 0.25), 0.0])


# ----- margin and embedding losses -----


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_losses(reduction):
    a, b = RNG.standard_normal(6), RNG.standard_normal(6)
    y = np.array([1.0, -1, 1, -1, 1, 1])
    got = F.margin_ranking_loss(_t(a), _t(b), _t(y), margin=0.3, reduction=reduction)
    assert_np_close(got, _reduce(np.maximum(0, -y * (a - b) + 0.3), reduction))
    got = F.hinge_embedding_loss(_t(a), _t(y), margin=0.5, reduction=reduction)
    assert_np_close(got, _reduce(np.where(y == 1, a, np.maximum(0, 0.5 - a)), reduction))
    got = F.soft_margin_loss(_t(a), _t(y), reduction=reduction)
    assert_np_close(got, _reduce(np.log1p(np.exp(-y * a)), reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_embedding_losses(reduction):
    x1, x2, x3 = (RNG.standard_normal((4, 3)) for _ in range(3))
    y = np.array([1.0, -1, -1, 1])
    cos = (x1 * x2).sum(1) / np.sqrt(((x1**2).sum(1) + 1e-12) * ((x2**2).sum(1) + 1e-12))
    expected = np.where(y == 1, 1 - cos, np.maximum(0, cos - 0.1))
    got = F.cosine_embedding_loss(_t(x1), _t(x2), _t(y), margin=0.1, reduction=reduction)
    assert_np_close(got, _reduce(expected, reduction))

    def dist(u, v, p=2):
        return (np.abs(u - v + 1e-6) ** p).sum(-1) ** (1 / p)

    d_neg = np.minimum(dist(x1, x3), dist(x2, x3))
    expected = np.maximum(0, dist(x1, x2) - d_neg + 2.0)
    got = F.triplet_margin_loss(_t(x1), _t(x2), _t(x3), margin=2.0, swap=True, reduction=reduction)
    assert_np_close(got, _reduce(expected, reduction))
    expected = np.maximum(0, dist(x1, x2, 1) - dist(x1, x3, 1) + 1.0)
    got = F.triplet_margin_loss(_t(x1), _t(x2), _t(x3), p=1, reduction=reduction)
    assert_np_close(got, _reduce(expected, reduction))
    got = F.triplet_margin_with_distance_loss(
        _t(x1), _t(x2), _t(x3), distance_function=lambda u, v: (u - v).abs().sum(-1),
        reduction=reduction,
    )  # fmt: skip
    l1 = np.abs(x1 - x2).sum(-1) - np.abs(x1 - x3).sum(-1) + 1.0
    assert_np_close(got, _reduce(np.maximum(0, l1), reduction))


def test_embedding_loss_errors():
    with pytest.raises(RuntimeError, match="expected to have the same number of dimensions"):
        F.triplet_margin_loss(rtorch.randn(3, 4), rtorch.randn(3, 4), rtorch.randn(3))
    with pytest.raises(RuntimeError, match="must match the size"):
        F.cosine_embedding_loss(rtorch.randn(3, 4), rtorch.randn(3, 4), rtorch.ones(2))
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        nn.TripletMarginLoss(margin=0.0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_and_multi_margin(reduction):
    x = RNG.standard_normal((4, 5))
    y = (RNG.uniform(0, 1, (4, 5)) > 0.5).astype(float)
    w = RNG.uniform(0.5, 2, 5)
    per = -(y * _log_sigmoid(x) + (1 - y) * _log_sigmoid(-x)) * w
    got = F.multilabel_soft_margin_loss(_t(x), _t(y), weight=_t(w), reduction=reduction)
    assert_np_close(got, _reduce(per.mean(1), reduction))
    t = np.array([0, 3, 4, 1])
    z = np.maximum(0, 0.5 - x[np.arange(4), t][:, None] + x) ** 2 * w[t][:, None]
    z[np.arange(4), t] = 0
    got = F.multi_margin_loss(_t(x), rtorch.tensor(t), p=2, margin=0.5, weight=_t(w),
                              reduction=reduction)  # fmt: skip
    assert_np_close(got, _reduce(z.sum(1) / 5, reduction))


# ----- CTC -----


def ctc_reference(log_probs, target, blank=0):
    """-log p(target | input) by the forward recursion, one sequence, in numpy float64."""
    ext = [blank]
    for label in target:
        ext += [label, blank]
    steps, width = log_probs.shape[0], len(ext)
    alpha = np.full(width, -np.inf)
    alpha[0] = log_probs[0, ext[0]]
    if width > 1:
        alpha[1] = log_probs[0, ext[1]]
    for t in range(1, steps):
        new = np.full(width, -np.inf)
        for s in range(width):
            terms = [alpha[s]]
            if s >= 1:
                terms.append(alpha[s - 1])
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                terms.append(alpha[s - 2])
            new[s] = np.logaddexp.reduce(terms) + log_probs[t, ext[s]]
        alpha = new
    ends = [alpha[-1]] + ([alpha[-2]] if width > 1 else [])
    return -np.logaddexp.reduce(ends)


CTC_LP = _log_softmax(RNG.standard_normal((7, 3, 4)), 2)
CTC_TARGETS = [[1, 2, 2], [3, 1], []]
CTC_IN_LENS = [7, 5, 6]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ctc_loss_matches_forward_recursion(reduction):
    per = np.array(
        [
            ctc_reference(CTC_LP[:n, i], tg)
            for i, (n, tg) in enumerate(zip(CTC_IN_LENS, CTC_TARGETS))
        ]
    )
    lens = np.array([len(tg) for tg in CTC_TARGETS])
    expected = {"none": per, "sum": per.sum(), "mean": (per / np.maximum(lens, 1)).mean()}
    padded = rtorch.tensor([[1, 2, 2], [3, 1, 0], [0, 0, 0]])
    got = F.ctc_loss(_t(CTC_LP), padded, rtorch.tensor(CTC_IN_LENS), rtorch.tensor(lens),
                     reduction=reduction)  # fmt: skip
    assert_np_close(got, expected[reduction])
    concatenated = rtorch.tensor([1, 2, 2, 3, 1])
    got = F.ctc_loss(_t(CTC_LP), concatenated, CTC_IN_LENS, lens.tolist(), reduction=reduction)
    assert_np_close(got, expected[reduction])


def test_ctc_loss_gradcheck_blank_and_layer():
    # PyTorch's gradient of log_probs folds in the log_softmax that made them: checked
    # through one (the logits' gradient is then the true one).
    lp = _t(CTC_LP[:5, :2], requires_grad=True)
    targets = rtorch.tensor([[1, 1], [2, 3]])
    assert gradcheck(
        lambda a: F.ctc_loss(a.log_softmax(2), targets, [5, 4], [2, 2], reduction="sum"),
        (lp,),
        atol=1e-5,
    )
    got = nn.CTCLoss(blank=3, reduction="none")(
        _t(CTC_LP), rtorch.tensor([[1, 2, 2], [0, 1, 0], [1, 1, 1]]), CTC_IN_LENS, [3, 2, 1]
    )
    expected = [ctc_reference(CTC_LP[:7, 0], [1, 2, 2], 3), ctc_reference(CTC_LP[:5, 1], [0, 1], 3),
                ctc_reference(CTC_LP[:6, 2], [1], 3)]  # fmt: skip
    assert_np_close(got, expected)


def test_ctc_loss_impossible_alignment():
    # "1 1 1" needs at least 5 frames (blanks between repeats); 4 cannot explain it.
    lp = _t(CTC_LP[:4, :1], requires_grad=True)
    loss = F.ctc_loss(lp, rtorch.tensor([[1, 1, 1]]), [4], [3], reduction="none")
    assert math.isinf(loss.item())
    lp = _t(CTC_LP[:4, :1], requires_grad=True)
    loss = F.ctc_loss(lp, rtorch.tensor([[1, 1, 1]]), [4], [3], zero_infinity=True)
    assert loss.item() == 0.0
    loss.backward()
    assert np.all(to_np(lp.grad) == 0)
    with pytest.raises(
        RuntimeError, match="Expected tensor to have size at least 3 at dimension 1"
    ):
        F.ctc_loss(_t(CTC_LP[:, :2]), rtorch.tensor([[1, 2], [1, 1]]), [7, 7], [2, 3])


# ----- layers -----


def test_loss_layers_store_options_and_weights():
    w = rtorch.tensor([1.0, 2.0, 3.0])
    ce = nn.CrossEntropyLoss(weight=w, ignore_index=1, label_smoothing=0.1, reduction="sum")
    assert list(ce.state_dict()) == ["weight"]
    assert ce.ignore_index == 1 and ce.label_smoothing == 0.1 and ce.reduction == "sum"
    assert repr(ce) == "CrossEntropyLoss()"
    x, t = rtorch.randn(4, 3), rtorch.tensor([0, 1, 2, 2])
    expected = F.cross_entropy(x, t, weight=w, ignore_index=1, label_smoothing=0.1, reduction="sum")
    assert ce(x, t).item() == expected.item()
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    pw = rtorch.ones(3)
    assert list(nn.BCEWithLogitsLoss(pos_weight=pw).state_dict()) == ["pos_weight"]
    assert nn.MSELoss().reduction == "mean"
    assert nn.KLDivLoss(reduction="batchmean", log_target=True).log_target
    assert nn.HuberLoss(delta=2.0).delta == 2.0
    assert nn.SmoothL1Loss(beta=0.5).beta == 0.5


LAYER_CASES = [
    (nn.L1Loss(), F.l1_loss, 2),
    (nn.MSELoss(reduction="sum"), lambda a, b: F.mse_loss(a, b, reduction="sum"), 2),
    (nn.SmoothL1Loss(beta=0.5), lambda a, b: F.smooth_l1_loss(a, b, beta=0.5), 2),
    (nn.HuberLoss(delta=0.5), lambda a, b: F.huber_loss(a, b, delta=0.5), 2),
    (nn.SoftMarginLoss(), F.soft_margin_loss, 2),
    (nn.BCEWithLogitsLoss(), F.binary_cross_entropy_with_logits, 2),
    (nn.MultiLabelSoftMarginLoss(), F.multilabel_soft_margin_loss, 2),
    (nn.PoissonNLLLoss(), F.poisson_nll_loss, 2),
    (nn.KLDivLoss(reduction="batchmean"), lambda a, b: F.kl_div(a, b, reduction="batchmean"), 2),
    (nn.GaussianNLLLoss(), F.gaussian_nll_loss, 3),
    (nn.MarginRankingLoss(0.2), lambda a, b, c: F.margin_ranking_loss(a, b, c, 0.2), 3),
    (nn.CosineEmbeddingLoss(0.1), lambda a, b, c: F.cosine_embedding_loss(a, b, c[:, 0], 0.1), 3),
    (nn.TripletMarginLoss(), F.triplet_margin_loss, 3),
    (nn.TripletMarginWithDistanceLoss(), F.triplet_margin_with_distance_loss, 3),
    (nn.HingeEmbeddingLoss(), F.hinge_embedding_loss, 2),
]


@pytest.mark.parametrize(
    "layer,fn,nargs", LAYER_CASES, ids=[type(c[0]).__name__ for c in LAYER_CASES]
)
def test_layer_forward_matches_functional(layer, fn, nargs):
    args = [_t(RNG.uniform(0.1, 1, (3, 4))) for _ in range(nargs)]
    if isinstance(layer, nn.CosineEmbeddingLoss):
        assert_np_close(
            layer(args[0], args[1], _t([1.0, -1.0, 1.0])),
            to_np(fn(*args[:2], _t([[1.0], [-1.0], [1.0]]))),
        )
        return
    assert_np_close(layer(*args), to_np(fn(*args)))


def test_classification_layers():
    x = _t(CE_X, requires_grad=True)
    t = rtorch.tensor([0, 4, 2, 1, 3, 2])
    nn.CrossEntropyLoss()(x, t).backward()
    assert x.grad.shape == (6, 5)
    assert_np_close(nn.NLLLoss(weight=_t(CE_W))(_t(_log_softmax(CE_X)), t),
                    ce_reference(CE_X, t.numpy(), CE_W))  # fmt: skip
    p = rtorch.tensor([0.2, 0.9])
    assert_np_close(nn.BCELoss(weight=_t([2.0, 1.0]))(p.double(), _t([0.0, 1.0])),
                    (-2 * np.log(0.8) - np.log(0.9)) / 2)  # fmt: skip
    got = nn.MultiMarginLoss()(_t(CE_X), t)
    assert_np_close(got, to_np(F.multi_margin_loss(_t(CE_X), t)))
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        nn.MultiMarginLoss(p=3)


# ----- parity with PyTorch -----


@pytest.fixture(scope="module")
def torch_results():
    expected = run_in_torch("loss")
    if expected is None:
        pytest.skip("PyTorch is not installed")
    return expected


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")
def test_parity_with_pytorch(torch_results):
    ours = loss_cases(rtorch)
    assert ours.keys() == torch_results.keys()
    for name, (value, grad) in torch_results.items():
        np.testing.assert_allclose(ours[name][0], value, rtol=1e-7, atol=1e-7, err_msg=name)
        np.testing.assert_allclose(ours[name][1], grad, rtol=1e-7, atol=1e-7, err_msg=name)


def test_dtype_errors():
    with pytest.raises(NotImplementedError, match="\"mse_cpu\" not implemented for 'Long'"):
        F.mse_loss(rtorch.tensor([1, 2]), rtorch.tensor([1, 2]))
    with pytest.raises(NotImplementedError, match="\"huber_cpu\" not implemented for 'Long'"):
        F.huber_loss(rtorch.tensor([1, 2]), rtorch.tensor([1, 2]))
    with pytest.raises(NotImplementedError, match="\"smooth_l1_cpu\" not implemented for 'Long'"):
        F.smooth_l1_loss(rtorch.tensor([1, 2]), rtorch.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="Found dtype Double but expected Float"):
        F.binary_cross_entropy(rtorch.tensor([0.5]), _t([1.0]))
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        F.nll_loss(rtorch.randn(1, 2), rtorch.tensor([0]), weight=_t([1.0, 2.0]))


def test_second_order_gradients():
    # Meta-learning (MAML) and gradient penalties differentiate through the loss's gradient.
    from rtorch.autograd import gradgradcheck

    x = _t(RNG.standard_normal((4, 5)), requires_grad=True)
    t = rtorch.tensor([0, 4, -100, 2])
    assert gradgradcheck(lambda a: F.cross_entropy(a, t, label_smoothing=0.1), (x,))
    y = _t(RNG.uniform(0, 1, (4, 5)))
    pw = _t(np.full(5, 2.0))
    assert gradgradcheck(lambda a: F.binary_cross_entropy_with_logits(a, y, pos_weight=pw), (x,))
    # As PyTorch's, CTC's backward is not differentiable again.
    lp = _t(RNG.standard_normal((5, 2, 3)), requires_grad=True)
    targets = rtorch.tensor([[1, 2], [1, 1]])
    loss = F.ctc_loss(lp.log_softmax(2), targets, [5, 4], [2, 2])
    with pytest.raises(RuntimeError, match="derivative for '_ctc_loss_backward' is not impl"):
        rtorch.autograd.grad(loss, lp, create_graph=True)
