"""nn.utils: weight_norm / spectral_norm hooks, conv/linear + batch-norm fusion,
stateless.functional_call and skip_init, against numpy float64 closed forms."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import rtorch
from rtorch import nn
from rtorch.autograd import gradcheck


def test_weight_norm() -> None:
    rtorch.manual_seed(0)
    m = nn.Linear(3, 2).double()
    w0 = m.weight.detach().numpy().copy()
    with pytest.warns(FutureWarning, match="`torch.nn.utils.weight_norm` is deprecated"):
        nn.utils.weight_norm(m)
    assert list(m.state_dict()) == ["bias", "weight_g", "weight_v"]
    np.testing.assert_allclose(m.weight_g.detach().numpy(), np.linalg.norm(w0, axis=1, keepdims=True),
                               rtol=1e-14)  # fmt: skip
    x = rtorch.randn(4, 3, dtype=rtorch.float64)
    np.testing.assert_allclose(m(x).detach().numpy(), x.numpy() @ w0.T + m.bias.detach().numpy(),
                               rtol=1e-12)  # fmt: skip
    # The weight follows g and v on every forward.
    with rtorch.no_grad():
        m.weight_g.mul_(2.0)
    np.testing.assert_allclose(m(x).detach().numpy(), x.numpy() @ (2 * w0).T + m.bias.detach().numpy(),
                               rtol=1e-12)  # fmt: skip
    m(x).sum().backward()
    assert m.weight_g.grad is not None and m.weight_v.grad is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = nn.utils.weight_norm(nn.Conv2d(2, 3, 3), dim=None)
        assert c.weight_g.shape == ()
        c1 = nn.utils.weight_norm(nn.Conv2d(2, 3, 3), dim=1)
        assert c1.weight_g.shape == (1, 2, 1, 1)
    nn.utils.remove_weight_norm(m)
    assert list(m.state_dict()) == ["bias", "weight"] and isinstance(m.weight, nn.Parameter)
    np.testing.assert_allclose(m.weight.detach().numpy(), 2 * w0, rtol=1e-12)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found in Linear"):
        nn.utils.remove_weight_norm(m)

    g = rtorch.tensor([[1.5], [0.5]], dtype=rtorch.float64, requires_grad=True)
    v = rtorch.randn(2, 3, dtype=rtorch.float64, requires_grad=True)
    assert gradcheck(lambda a, b: b * (a / b.norm(2, dim=1, keepdim=True)), (g, v))


def test_spectral_norm_converges_to_the_top_singular_value() -> None:
    rtorch.manual_seed(1)
    lin = nn.Linear(5, 4).double()
    w = lin.weight.detach().numpy().copy()
    nn.utils.spectral_norm(lin, n_power_iterations=30)
    assert list(lin.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    x = rtorch.randn(3, 5, dtype=rtorch.float64)
    y = lin(x)
    sigma = np.linalg.svd(w, compute_uv=False)[0]
    np.testing.assert_allclose(lin.weight.detach().numpy(), w / sigma, rtol=1e-8)
    np.testing.assert_allclose(y.detach().numpy(), x.numpy() @ (w / sigma).T + lin.bias.detach().numpy(),
                               rtol=1e-8)  # fmt: skip
    y.sum().backward()
    assert lin.weight_orig.grad is not None
    u_before = lin.weight_u.clone()
    lin.eval()
    lin(x)
    assert rtorch.equal(lin.weight_u, u_before)  # no power iteration in eval mode
    nn.utils.remove_spectral_norm(lin)
    assert list(lin.state_dict()) == ["bias", "weight"]
    ct = nn.utils.spectral_norm(nn.ConvTranspose2d(2, 3, 2))
    assert ct.weight_u.shape == (3,)  # dim=1 for transposed convolutions


def test_fusion() -> None:
    rtorch.manual_seed(2)
    conv = nn.Conv2d(3, 4, 3).double().eval()
    bn = nn.BatchNorm2d(4).double()
    bn.train()
    bn(conv(rtorch.randn(8, 3, 6, 6, dtype=rtorch.float64)))  # non-trivial running stats
    bn.eval()
    with rtorch.no_grad():
        bn.weight.copy_(rtorch.tensor([0.5, 1.5, 2.0, -1.0]))
        bn.bias.copy_(rtorch.tensor([0.1, 0.2, 0.3, 0.4]))
    fused = nn.utils.fuse_conv_bn_eval(conv, bn)
    x = rtorch.randn(2, 3, 5, 5, dtype=rtorch.float64)
    np.testing.assert_allclose(fused(x).detach().numpy(), bn(conv(x)).detach().numpy(), rtol=1e-10,
                               atol=1e-12)  # fmt: skip
    lin = nn.Linear(3, 4).double().eval()
    fused_lin = nn.utils.fuse_linear_bn_eval(lin, bn.__class__(4).double().eval())
    xl = rtorch.randn(5, 3, dtype=rtorch.float64)
    np.testing.assert_allclose(fused_lin(xl).detach().numpy(), lin(xl).detach().numpy(), rtol=1e-5)
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        nn.utils.fuse_conv_bn_eval(conv.train(), bn)


def test_stateless_and_skip_init() -> None:
    m = nn.Linear(2, 1)
    with pytest.warns(FutureWarning, match="Please use torch.func.functional_call"):
        out = nn.utils.stateless.functional_call(
            m, {"weight": rtorch.ones(1, 2), "bias": rtorch.zeros(1)}, (rtorch.ones(1, 2),)
        )
    assert out.tolist() == [[2.0]]
    s = nn.utils.skip_init(nn.Linear, 4, 3)
    assert isinstance(s, nn.Linear) and s.weight.shape == (3, 4)
    with pytest.raises(RuntimeError, match="Module must support a 'device' arg"):
        nn.utils.skip_init(nn.ReLU)


# ----- parametrize -----


class _Symmetric(nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).transpose(0, 1)

    def right_inverse(self, a):
        return a.triu()


def test_register_parametrization() -> None:
    from rtorch.nn.utils import parametrize

    lin = nn.Linear(3, 3).double()
    parametrize.register_parametrization(lin, "weight", _Symmetric())
    assert type(lin).__name__ == "ParametrizedLinear" and parametrize.is_parametrized(lin)
    assert parametrize.is_parametrized(lin, "weight") and not parametrize.is_parametrized(
        lin, "bias"
    )
    assert list(lin.state_dict()) == ["bias", "parametrizations.weight.original"]
    w = lin.weight
    np.testing.assert_array_equal(w.detach().numpy(), w.detach().numpy().T)
    x = rtorch.randn(2, 3, dtype=rtorch.float64)
    lin(x).sum().backward()
    orig = lin.parametrizations.weight.original
    assert orig.grad is not None and np.allclose(np.tril(orig.grad.numpy(), -1), 0)
    target = rtorch.tensor(
        [[1.0, 2.0, 3.0], [2.0, 4.0, 5.0], [3.0, 5.0, 6.0]], dtype=rtorch.float64
    )
    lin.weight = target  # goes through right_inverse
    assert rtorch.equal(lin.weight, target)
    assert parametrize.type_before_parametrizations(lin) is nn.Linear
    parametrize.remove_parametrizations(lin, "weight")
    assert type(lin) is nn.Linear and list(lin.state_dict()) == ["bias", "weight"]
    assert rtorch.equal(lin.weight, target) and isinstance(lin.weight, nn.Parameter)
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        parametrize.remove_parametrizations(lin, "weight")
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized"):
        parametrize.register_parametrization(lin, "nope", _Symmetric())


def test_parametrizations_weight_norm() -> None:
    import copy

    from rtorch.nn.utils.parametrizations import weight_norm

    rtorch.manual_seed(3)
    lin = nn.Linear(4, 3).double()
    w0 = lin.weight.detach().numpy().copy()
    weight_norm(lin)
    assert list(lin.state_dict()) == [
        "bias", "parametrizations.weight.original0", "parametrizations.weight.original1"
    ]  # fmt: skip
    g = lin.parametrizations.weight.original0
    assert g.shape == (3, 1)
    np.testing.assert_allclose(
        g.detach().numpy(), np.linalg.norm(w0, axis=1, keepdims=True), rtol=1e-14
    )
    np.testing.assert_allclose(lin.weight.detach().numpy(), w0, rtol=1e-12)
    opt = rtorch.optim.SGD(lin.parameters(), lr=0.1)
    lin(rtorch.randn(5, 4, dtype=rtorch.float64)).pow(2).sum().backward()
    opt.step()
    v = lin.parametrizations.weight.original1.detach().numpy()
    gn = lin.parametrizations.weight.original0.detach().numpy()
    np.testing.assert_allclose(lin.weight.detach().numpy(), v * gn / np.linalg.norm(v, axis=1, keepdims=True),
                               rtol=1e-12)  # fmt: skip
    clone = copy.deepcopy(lin)
    assert type(clone).__name__ == "ParametrizedLinear" and rtorch.equal(clone.weight, lin.weight)
    fresh = weight_norm(nn.Linear(4, 3).double())
    fresh.load_state_dict(lin.state_dict())
    assert rtorch.equal(fresh.weight, lin.weight)


# ----- AdaptiveLogSoftmaxWithLoss -----


def test_adaptive_log_softmax_matches_its_definition() -> None:
    rtorch.manual_seed(6)
    m = nn.AdaptiveLogSoftmaxWithLoss(16, 30, [5, 12, 20], div_value=2.0, head_bias=True).double()
    assert [tuple(v.shape) for v in m.state_dict().values()] == [
        (8, 16), (8,), (8, 16), (7, 8), (4, 16), (8, 4), (2, 16), (10, 2)
    ]  # fmt: skip
    x = rtorch.randn(9, 16, dtype=rtorch.float64)
    t = rtorch.tensor([0, 4, 5, 11, 12, 19, 20, 29, 3])
    out = m(x, t)
    # Reference: head log-softmax over [shortlist, clusters]; a rare class adds its
    # cluster's log-softmax.
    xn = x.numpy()

    def log_softmax(z):
        z = z - z.max(1, keepdims=True)
        return z - np.log(np.exp(z).sum(1, keepdims=True))

    head = log_softmax(xn @ m.head.weight.detach().numpy().T + m.head.bias.detach().numpy())
    full = [head[:, :5]]
    for i, (i2h, h2o) in enumerate(m.tail):
        cl = log_softmax(xn @ i2h.weight.detach().numpy().T @ h2o.weight.detach().numpy().T)
        full.append(cl + head[:, 5 + i : 6 + i])
    full = np.concatenate(full, 1)
    want = full[np.arange(9), t.numpy()]
    np.testing.assert_allclose(out.output.detach().numpy(), want, rtol=1e-12)
    assert out.loss.item() == pytest.approx(-want.mean(), rel=1e-12)
    np.testing.assert_allclose(m.log_prob(x).detach().numpy(), full, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(m.predict(x).numpy(), full.argmax(1))
    out.loss.backward()
    assert m.tail[2][1].weight.grad is not None
    single = m(x[0], t[0])
    assert single.output.dim() == 0
    with pytest.raises(RuntimeError, match="Target values should be in \\[0, 29\\]"):
        m(x[:1], rtorch.tensor([30]))
    with pytest.raises(ValueError, match="cutoffs should be a sequence of unique, positive"):
        nn.AdaptiveLogSoftmaxWithLoss(16, 30, [12, 5])


def test_linear_cross_entropy_is_linear_then_cross_entropy() -> None:
    import rtorch.nn.functional as F

    rtorch.manual_seed(7)
    x = rtorch.randn(5, 4, dtype=rtorch.float64, requires_grad=True)
    w = rtorch.randn(3, 2, 4, dtype=rtorch.float64, requires_grad=True)
    b = rtorch.randn(3, 2, dtype=rtorch.float64)
    t = rtorch.randint(0, 3, (5, 2))
    got = F.linear_cross_entropy(x, w, t, linear_bias=b, label_smoothing=0.1)
    logits = (x @ w.reshape(6, 4).t() + b.reshape(6)).reshape(5, 3, 2)
    want = F.cross_entropy(logits, t, label_smoothing=0.1)
    assert got.item() == pytest.approx(want.item(), rel=1e-14)
    assert gradcheck(lambda a, k: F.linear_cross_entropy(a, k, t, ignore_index=1), (x, w))
    m = nn.LinearCrossEntropyLoss(4, 3, out_features=(2,), bias=True).double()
    assert list(m.state_dict()) == ["linear.weight", "linear.bias"]
    assert m.linear.weight.shape == (6, 4)
    assert repr(m).startswith(
        "LinearCrossEntropyLoss(\n  in_features=4, num_classes=3, out_features=(2,), bias=True, "
        "reduction=mean, ignore_index=None, label_smoothing=0.0, options=None"
    )
    m(x, t).backward()
    assert m.linear.weight.grad.shape == (6, 4)
    opts = nn.LinearCrossEntropyOptions(batch_chunk_size=2)
    assert nn.LinearCrossEntropyLoss(4, 3, options=opts).options.batch_chunk_size == 2
    with pytest.raises(RuntimeError, match="expected label_smoothing to be in range \\[0, 1\\]"):
        nn.LinearCrossEntropyLoss(4, 3, label_smoothing=2.0)


def test_convert_conv_weight_memory_format() -> None:
    m = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Sequential(nn.ConvTranspose2d(3, 2, 2)))
    w = m[0].weight
    before = w.detach().clone()
    x = rtorch.randn(1, 2, 5, 5)
    y0 = m(x)
    assert nn.utils.convert_conv2d_weight_memory_format(m, rtorch.channels_last) is m
    assert m[0].weight is w and m[0].weight.stride() == (18, 1, 6, 2)
    assert m[2][0].weight.stride() == (8, 1, 4, 2)
    assert rtorch.equal(m[0].weight, before)
    np.testing.assert_allclose(m(x).detach().numpy(), y0.detach().numpy(), rtol=1e-6, atol=1e-6)
    c3 = nn.Conv3d(2, 2, 2)
    nn.utils.convert_conv3d_weight_memory_format(c3, rtorch.channels_last_3d)
    assert c3.weight.stride() == (16, 1, 8, 4, 2)
