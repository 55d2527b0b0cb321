"""rtorch.nn activations: functional forms and layers against numpy float64 references,
gradients by gradcheck and at every kink, errors, reprs, and parity with PyTorch."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import assert_np_close, to_np
from nn_parity_cases import activation_cases, run_in_torch

import rtorch
import rtorch.nn.functional as F
from rtorch import nn
from rtorch.autograd import gradcheck

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x, beta=1.0, threshold=20.0):
    return np.where(x * beta > threshold, x, np.log1p(np.exp(beta * x)) / beta)


def _erf(x):
    return np.vectorize(math.erf)(x)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# name -> (function, numpy reference)
REFERENCES = {
    "relu": (F.relu, lambda x: np.maximum(x, 0)),
    "relu6": (F.relu6, lambda x: np.minimum(np.maximum(x, 0), 6)),
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "elu": (lambda t: F.elu(t, 1.5), lambda x: np.where(x > 0, x, 1.5 * np.expm1(x))),
    "selu": (F.selu, lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x))),
    "celu": (
        lambda t: F.celu(t, 0.7),
        lambda x: np.maximum(x, 0) + np.minimum(0, 0.7 * np.expm1(x / 0.7)),
    ),
    "gelu": (F.gelu, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    "gelu_tanh": (
        lambda t: F.gelu(t, approximate="tanh"),
        lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
    ),
    "silu": (F.silu, lambda x: x * _sigmoid(x)),
    "mish": (F.mish, lambda x: x * np.tanh(np.log1p(np.exp(x)))),
    "sigmoid": (F.sigmoid, _sigmoid),
    "tanh": (F.tanh, np.tanh),
    "hardtanh": (lambda t: F.hardtanh(t, -2.0, 3.0), lambda x: np.clip(x, -2, 3)),
    "hardsigmoid": (F.hardsigmoid, lambda x: np.clip(x + 3, 0, 6) / 6),
    "hardswish": (F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    "softplus": (lambda t: F.softplus(t, 2.0, 3.0), lambda x: _softplus(x, 2.0, 3.0)),
    "softsign": (F.softsign, lambda x: x / (1 + np.abs(x))),
    "softmax": (lambda t: F.softmax(t, 1), lambda x: _softmax(x, 1)),
    "softmin": (lambda t: F.softmin(t, 0), lambda x: _softmax(-x, 0)),
    "log_softmax": (lambda t: F.log_softmax(t, -1), lambda x: np.log(_softmax(x, -1))),
    "threshold": (lambda t: F.threshold(t, 0.5, -4.0), lambda x: np.where(x > 0.5, x, -4.0)),
    "logsigmoid": (F.logsigmoid, lambda x: -np.log1p(np.exp(-x))),
    "glu": (lambda t: F.glu(t, 1), lambda x: x[:, :3] * _sigmoid(x[:, 3:])),
    "tanhshrink": (F.tanhshrink, lambda x: x - np.tanh(x)),
    "softshrink": (
        lambda t: F.softshrink(t, 0.5),
        lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0.0)),
    ),
    "hardshrink": (lambda t: F.hardshrink(t, 0.5), lambda x: np.where(np.abs(x) > 0.5, x, 0.0)),
    "prelu": (
        lambda t: F.prelu(t, rtorch.tensor([0.1, -0.2, 0.3, 0.4, 0.5, 0.6], dtype=t.dtype)),
        lambda x: np.where(x > 0, x, np.array([0.1, -0.2, 0.3, 0.4, 0.5, 0.6]) * x),
    ),
    "rrelu_eval": (F.rrelu, lambda x: np.where(x >= 0, x, x * (1 / 8 + 1 / 3) / 2)),
}


def _data(seed=0, shape=(4, 6)):
    return np.random.default_rng(seed).standard_normal(shape) * 3


@pytest.mark.parametrize("name", sorted(REFERENCES))
@pytest.mark.parametrize("dtype", [rtorch.float64, rtorch.float32])
def test_forward_matches_numpy(name, dtype):
    fn, ref = REFERENCES[name]
    x = _data()
    got = fn(rtorch.tensor(x, dtype=dtype))
    assert got.dtype == dtype
    expected = ref(x.astype(np.float32).astype(np.float64) if dtype == rtorch.float32 else x)
    # float32 transcendental compositions accumulate a few ulp more than one op.
    rtol = 1e-7 if dtype == rtorch.float64 else 1e-5
    assert_np_close(got, expected, rtol=rtol, atol=1e-6 if dtype == rtorch.float32 else 1e-7)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_forward_non_contiguous(name):
    fn, ref = REFERENCES[name]
    x = _data(1, (6, 4))
    t = rtorch.tensor(x).t()  # (4, 6), transposed strides
    assert not t.is_contiguous()
    assert_np_close(fn(t), ref(x.T))


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_gradcheck(name):
    fn, _ = REFERENCES[name]
    x = _data(2)
    # Keep finite differences away from every kink (0, +-0.5, +-3, 6, -2, 3).
    x = np.where(np.abs(x - np.round(x * 2) / 2) < 0.05, x + 0.11, x)
    t = rtorch.tensor(x, requires_grad=True)
    assert gradcheck(fn, (t,), eps=1e-6, atol=1e-5)


# Gradients exactly at the kinks, as PyTorch 2.15 defines them.
KINKS = [
    ("relu", F.relu, [0.0], [0.0]),
    ("relu6", F.relu6, [0.0, 6.0, 3.0], [0.0, 0.0, 1.0]),
    ("hardtanh", F.hardtanh, [-1.0, 1.0, 0.0], [0.0, 0.0, 1.0]),
    ("hardsigmoid", F.hardsigmoid, [-3.0, 3.0, 0.0], [0.0, 0.0, 1 / 6]),
    ("hardswish", F.hardswish, [-3.0, 3.0, 0.0], [0.0, 1.0, 0.5]),
    ("leaky_relu", lambda t: F.leaky_relu(t, 0.1), [0.0], [0.1]),
    ("elu", lambda t: F.elu(t, 2.0), [0.0], [2.0]),
    ("selu", F.selu, [0.0], [SELU_SCALE * SELU_ALPHA]),
    ("celu", lambda t: F.celu(t, 2.0), [0.0], [1.0]),
    ("threshold", lambda t: F.threshold(t, 1.0, -5.0), [1.0], [0.0]),
    ("softshrink", F.softshrink, [-0.5, 0.5], [0.0, 0.0]),
    ("hardshrink", F.hardshrink, [-0.5, 0.5], [0.0, 0.0]),
    ("prelu", lambda t: F.prelu(t, rtorch.tensor([0.25], dtype=t.dtype)), [0.0], [0.25]),
    ("rrelu_eval", F.rrelu, [0.0], [(1 / 8 + 1 / 3) / 2]),
]


@pytest.mark.parametrize("name,fn,points,grads", KINKS, ids=[k[0] for k in KINKS])
def test_gradient_at_kinks(name, fn, points, grads):
    x = rtorch.tensor(points, dtype=rtorch.float64, requires_grad=True)
    (g,) = rtorch.autograd.grad(fn(x).sum(), x)
    assert_np_close(g, grads)


def test_prelu_weight_gradient_and_errors():
    x = rtorch.tensor([[-2.0, 0.0, 3.0], [1.0, -1.0, 0.0]], dtype=rtorch.float64)
    w = rtorch.tensor([0.1, 0.2, 0.3], dtype=rtorch.float64, requires_grad=True)
    (g,) = rtorch.autograd.grad(F.prelu(x, w).sum(), w)
    assert_np_close(g, [-2.0, -1.0, 0.0])  # sum of the negative inputs per channel
    with pytest.raises(RuntimeError, match="Found parameter numbers = 2 and channel size = 3"):
        F.prelu(rtorch.ones(2, 3), rtorch.ones(2))
    with pytest.raises(RuntimeError, match="channel size = 1"):
        F.prelu(rtorch.ones(3), rtorch.ones(3))
    with pytest.raises(RuntimeError, match="scalar or 1D tensor"):
        F.prelu(rtorch.ones(2, 3), rtorch.ones(1, 3))


def test_in_place_forms_write_through():
    x = rtorch.tensor([-1.0, 0.5, 7.0])
    for fn, expected in [
        (lambda t: F.relu(t, inplace=True), [0.0, 0.5, 7.0]),
        (F.relu_, [0.0, 0.5, 7.0]),
        (lambda t: F.relu6(t, inplace=True), [0.0, 0.5, 6.0]),
        (lambda t: F.leaky_relu_(t, 0.5), [-0.5, 0.5, 7.0]),
        (lambda t: F.hardtanh_(t), [-1.0, 0.5, 1.0]),
        (lambda t: F.threshold_(t, 0.6, 9.0), [9.0, 9.0, 7.0]),
        (lambda t: F.elu_(t), [math.expm1(-1.0), 0.5, 7.0]),
        (F.selu_, [SELU_SCALE * SELU_ALPHA * math.expm1(-1.0), SELU_SCALE * 0.5, SELU_SCALE * 7]),
        (lambda t: F.celu_(t, 2.0), [2 * math.expm1(-0.5), 0.5, 7.0]),
        (lambda t: F.hardsigmoid(t, inplace=True), [1 / 3, 3.5 / 6, 1.0]),
        (lambda t: F.hardswish(t, inplace=True), [-1 / 3, 0.5 * 3.5 / 6, 7.0]),
        (
            lambda t: F.silu(t, inplace=True),
            [-_sigmoid(-1.0), 0.5 * _sigmoid(0.5), 7 * _sigmoid(7)],
        ),
        (lambda t: F.rrelu_(t), [-(1 / 8 + 1 / 3) / 2, 0.5, 7.0]),
    ]:
        t = x.clone()
        out = fn(t)
        assert_np_close(t, expected, rtol=1e-6, atol=1e-6)
        assert_np_close(out, expected, rtol=1e-6, atol=1e-6)


def test_empty_and_zero_dim():
    for name, (fn, ref) in REFERENCES.items():
        if name in ("glu", "prelu", "softmax", "softmin", "log_softmax"):
            continue
        assert fn(rtorch.zeros(0, 6)).shape == (0, 6)
        assert_np_close(fn(rtorch.tensor(0.7, dtype=rtorch.float64)), ref(np.array(0.7)))


def test_softmax_family_dims_dtype_and_implicit_dim():
    x = _data(3, (2, 3, 4))
    t = rtorch.tensor(x, dtype=rtorch.float32)
    out = F.softmax(t, dim=1, dtype=rtorch.float64)
    assert out.dtype == rtorch.float64
    assert_np_close(out, _softmax(x.astype(np.float32).astype(np.float64), 1))
    # Legacy rule: dim 0 for 0-, 1- and 3-d inputs, dim 1 otherwise, with a warning.
    for shape, dim in [((5,), 0), ((2, 3), 1), ((2, 3, 4), 0), ((2, 3, 4, 5), 1)]:
        data = _data(4, shape)
        with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
            got = F.softmax(rtorch.tensor(data))
        assert_np_close(got, _softmax(data, dim))
    with pytest.warns(UserWarning, match="Implicit dimension choice for log_softmax"):
        F.log_softmax(rtorch.ones(2, 2))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        F.softmin(rtorch.ones(2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.softmax(rtorch.ones(2, 2), dim=0)


def test_softmax_large_logits_stable():
    x = rtorch.tensor([[1000.0, 0.0, -1000.0]])
    assert_np_close(F.softmax(x, 1), [[1.0, 0.0, 0.0]])
    assert_np_close(F.log_softmax(x, 1), [[0.0, -1000.0, -2000.0]])


def test_glu_and_shrink_errors():
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is"):
        F.glu(rtorch.ones(3, 3), 1)
    with pytest.raises(RuntimeError, match="glu does not support scalars"):
        F.glu(rtorch.tensor(1.0))
    with pytest.raises(IndexError, match="Dimension out of range"):
        F.glu(rtorch.ones(2, 4), 5)
    with pytest.raises(RuntimeError, match="lambda must be in range"):
        F.softshrink(rtorch.ones(2), -1.0)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(rtorch.ones(2), 2.0, 1.0)
    with pytest.raises(RuntimeError, match="alpha cannot be 0 for CELU"):
        F.celu(rtorch.ones(2), 0.0)


def test_nan_propagates():
    x = rtorch.tensor([math.nan, 1.0])
    for fn in (F.relu, lambda t: F.threshold(t, 0.0, 5.0),
               F.hardshrink, F.softshrink, F.hardtanh, F.relu6):  # fmt: skip
        assert math.isnan(fn(x)[0].item())


def test_rrelu_training_draws_slopes_in_range():
    rtorch.manual_seed(0)
    x = -rtorch.ones(10000, dtype=rtorch.float64, requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = to_np(-y.detach())
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    assert abs(slopes.mean() - 0.2) < 0.005
    (g,) = rtorch.autograd.grad(y.sum(), x)
    assert_np_close(g, slopes)  # gradient is the drawn slope
    pos = F.rrelu(rtorch.tensor([2.0, 3.0]), training=True)
    assert_np_close(pos, [2.0, 3.0])


def test_gumbel_softmax():
    rtorch.manual_seed(0)
    logits = rtorch.tensor([[0.0, 1.0, 2.0]] * 4, requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    assert_np_close(soft.sum(-1), np.ones(4), rtol=1e-6, atol=1e-6)
    hard = F.gumbel_softmax(logits, hard=True)
    values = to_np(hard.detach())
    assert set(np.unique(values)) <= {0.0, 1.0} and (values.sum(-1) == 1).all()
    hard.sum().backward()  # straight-through: gradient of the soft sample
    assert logits.grad is not None


# ----- layers -----

REPRS = [
    (nn.Softmax(), "Softmax(dim=None)"),
    (nn.Softmax(1), "Softmax(dim=1)"),
    (nn.RReLU(), "RReLU(lower=0.125, upper=0.3333333333333333)"),
    (nn.RReLU(0.1, 0.3, True), "RReLU(lower=0.1, upper=0.3, inplace=True)"),
    (nn.Hardtanh(), "Hardtanh(min_val=-1.0, max_val=1.0)"),
    (nn.ReLU6(True), "ReLU6(inplace=True)"),
    (nn.ReLU(), "ReLU()"),
    (nn.ReLU(True), "ReLU(inplace=True)"),
    (nn.ELU(), "ELU(alpha=1.0)"),
    (nn.CELU(inplace=True), "CELU(alpha=1.0, inplace=True)"),
    (nn.SELU(True), "SELU(inplace=True)"),
    (nn.GLU(), "GLU(dim=-1)"),
    (nn.GELU("tanh"), "GELU(approximate='tanh')"),
    (nn.Hardshrink(), "Hardshrink(0.5)"),
    (nn.Softshrink(), "Softshrink(0.5)"),
    (nn.LeakyReLU(), "LeakyReLU(negative_slope=0.01)"),
    (nn.Softplus(), "Softplus(beta=1.0, threshold=20.0)"),
    (nn.Threshold(0.1, 20), "Threshold(threshold=0.1, value=20)"),
    (nn.PReLU(), "PReLU(num_parameters=1)"),
    (nn.SiLU(True), "SiLU(inplace=True)"),
    (nn.Mish(), "Mish()"),
    (nn.Hardsigmoid(True), "Hardsigmoid()"),
    (nn.Hardswish(True), "Hardswish()"),
    (nn.Softmax2d(), "Softmax2d()"),
    (nn.LogSigmoid(), "LogSigmoid()"),
    (nn.Tanhshrink(), "Tanhshrink()"),
    (nn.Softsign(), "Softsign()"),
    (nn.Sigmoid(), "Sigmoid()"),
    (nn.Tanh(), "Tanh()"),
    (nn.Softmin(1), "Softmin(dim=1)"),
    (nn.LogSoftmax(-1), "LogSoftmax(dim=-1)"),
]


@pytest.mark.parametrize("module,text", REPRS, ids=[r[1] for r in REPRS])
def test_layer_repr(module, text):
    assert repr(module) == text


LAYERS = [
    (nn.ReLU(), "relu"),
    (nn.ReLU6(), "relu6"),
    (nn.LeakyReLU(0.2), "leaky_relu"),
    (nn.ELU(1.5), "elu"),
    (nn.SELU(), "selu"),
    (nn.CELU(0.7), "celu"),
    (nn.GELU(), "gelu"),
    (nn.GELU("tanh"), "gelu_tanh"),
    (nn.SiLU(), "silu"),
    (nn.Mish(), "mish"),
    (nn.Sigmoid(), "sigmoid"),
    (nn.Tanh(), "tanh"),
    (nn.Hardtanh(-2.0, 3.0), "hardtanh"),
    (nn.Hardsigmoid(), "hardsigmoid"),
    (nn.Hardswish(), "hardswish"),
    (nn.Softplus(2.0, 3.0), "softplus"),
    (nn.Softsign(), "softsign"),
    (nn.Softmax(1), "softmax"),
    (nn.Softmin(0), "softmin"),
    (nn.LogSoftmax(-1), "log_softmax"),
    (nn.Threshold(0.5, -4.0), "threshold"),
    (nn.LogSigmoid(), "logsigmoid"),
    (nn.GLU(1), "glu"),
    (nn.Tanhshrink(), "tanhshrink"),
    (nn.Softshrink(0.5), "softshrink"),
    (nn.Hardshrink(0.5), "hardshrink"),
    (nn.RReLU().eval(), "rrelu_eval"),
]


@pytest.mark.parametrize("module,name", LAYERS, ids=[n for _, n in LAYERS])
def test_layer_forward(module, name):
    x = _data(5)
    assert_np_close(module(rtorch.tensor(x)), REFERENCES[name][1](x))


def test_inplace_layers_modify_input():
    t = rtorch.tensor([-1.0, 2.0])
    out = nn.ReLU(inplace=True)(t)
    assert_np_close(t, [0.0, 2.0])
    assert out.data_ptr() == t.data_ptr()
    t = rtorch.tensor([-1.0, 2.0])
    nn.LeakyReLU(0.5, inplace=True)(t)
    assert_np_close(t, [-0.5, 2.0])


def test_prelu_layer_parameter_and_forward():
    m = nn.PReLU(3, init=0.1)
    assert [name for name, _ in m.named_parameters()] == ["weight"]
    assert m.weight.shape == (3,) and m.weight.requires_grad
    assert_np_close(m.weight.detach(), [0.1, 0.1, 0.1], rtol=1e-6)
    x = _data(6, (2, 3, 4)).astype(np.float32)
    out = m(rtorch.tensor(x))
    assert_np_close(out, np.where(x > 0, x, np.float32(0.1) * x))
    out.sum().backward()
    assert_np_close(m.weight.grad, np.minimum(x, 0).sum(axis=(0, 2)), rtol=1e-5)
    assert list(m.state_dict()) == ["weight"]


def test_softmax2d():
    x = _data(7, (2, 3, 2, 2))
    assert_np_close(nn.Softmax2d()(rtorch.tensor(x)), _softmax(x, 1))
    assert_np_close(nn.Softmax2d()(rtorch.tensor(x[0])), _softmax(x[0], 0))
    with pytest.raises(ValueError, match="expected input to be 3D or 4D, got 2D"):
        nn.Softmax2d()(rtorch.ones(2, 2))


def test_rrelu_layer_train_and_eval():
    m = nn.RReLU(0.1, 0.3)
    x = -rtorch.ones(1000)
    train_out = to_np(m(x))
    assert len(np.unique(train_out)) > 10  # random slopes
    m.eval()
    assert_np_close(m(x), np.full(1000, -0.2), rtol=1e-6)


# ----- parity with PyTorch -----


@pytest.fixture(scope="module")
def torch_results():
    expected = run_in_torch("activation")
    if expected is None:
        pytest.skip("PyTorch is not installed")
    return expected


def test_parity_with_pytorch(torch_results):
    ours = activation_cases(rtorch)
    assert ours.keys() == torch_results.keys()
    for name, (value, grad) in torch_results.items():
        # PyTorch computes hardsigmoid's 1/6 and celu's 1/alpha in float32 even for
        # float64 inputs, a few 1e-9 away from the exact values we use.
        np.testing.assert_allclose(ours[name][0], value, rtol=1e-7, atol=1e-7, err_msg=name)
        np.testing.assert_allclose(ours[name][1], grad, rtol=1e-7, atol=1e-7, err_msg=name)


INPLACE_PAIRS = [
    ("relu", lambda t: F.relu(t, inplace=True), F.relu),
    ("relu6", lambda t: F.relu6(t, inplace=True), F.relu6),
    ("leaky_relu", lambda t: F.leaky_relu(t, 0.2, inplace=True), lambda t: F.leaky_relu(t, 0.2)),
    ("elu", lambda t: F.elu(t, inplace=True), F.elu),
    ("selu", lambda t: F.selu(t, inplace=True), F.selu),
    ("celu", lambda t: F.celu(t, 2.0, inplace=True), lambda t: F.celu(t, 2.0)),
    ("hardtanh", lambda t: F.hardtanh(t, inplace=True), F.hardtanh),
    ("hardsigmoid", lambda t: F.hardsigmoid(t, inplace=True), F.hardsigmoid),
    ("hardswish", lambda t: F.hardswish(t, inplace=True), F.hardswish),
    ("silu", lambda t: F.silu(t, inplace=True), F.silu),
    ("mish", lambda t: F.mish(t, inplace=True), F.mish),
    (
        "threshold",
        lambda t: F.threshold(t, 0.2, 2.0, inplace=True),
        lambda t: F.threshold(t, 0.2, 2.0),
    ),
    ("rrelu_eval", lambda t: F.rrelu(t, inplace=True), F.rrelu),
]


@pytest.mark.parametrize("name,inplace,plain", INPLACE_PAIRS, ids=[p[0] for p in INPLACE_PAIRS])
def test_in_place_forms_backpropagate(name, inplace, plain):
    data = [-4.0, -1.0, 0.5, 4.0]
    leaf = rtorch.tensor(data, dtype=rtorch.float64, requires_grad=True)
    inplace(leaf * 1).sum().backward()
    ref_leaf = rtorch.tensor(data, dtype=rtorch.float64, requires_grad=True)
    plain(ref_leaf).sum().backward()
    assert_np_close(leaf.grad, to_np(ref_leaf.grad))


def test_integer_inputs():
    x = rtorch.tensor([-2, 0, 3])
    for fn, kernel in [
        (F.hardshrink, "hardshrink_cpu"),
        (F.softshrink, "softshrink_check"),
        (F.hardsigmoid, "hardsigmoid_cpu"),
        (F.hardswish, "hardswish_cpu"),
        (F.celu, "elu_cpu"),
        (lambda t: F.glu(t.reshape(1, 3).repeat(1, 2)), "glu_cpu"),
    ]:
        with pytest.raises(NotImplementedError, match=f"\"{kernel}\" not implemented for 'Long'"):
            fn(x)
    out = F.threshold(x, 0.5, 5.5)  # the value is cast to the input's integer dtype
    assert out.dtype == rtorch.int64 and out.tolist() == [5, 5, 3]
    assert F.relu(x).tolist() == [0, 0, 3]


def test_second_order_gradients_of_compositions():
    from rtorch.autograd import gradgradcheck

    x = rtorch.tensor(np.random.default_rng(8).uniform(0.6, 2.6, (4, 4)), requires_grad=True)

    def composite(a):
        return (F.hardswish(a) + F.selu(a) + F.softshrink(a) + F.celu(a, 0.5) + F.softsign(a)
                + F.glu(a, 1).sum() + F.softmin(a, 1))  # fmt: skip

    assert gradgradcheck(composite, (x,))


# Derivatives at a NaN input and under an infinite upstream gradient, as PyTorch 2.15's
# backward kernels select (not multiply by a 0/1 mask): relu `y <= 0 ? 0 : g`, hardtanh
# `x <= lo || x >= hi ? 0 : g`, elu `x <= 0 ? g a e^x : g`, leaky_relu `x > 0 ? g :
# g slope`, hardswish `x <= -3 ? 0 : x < 3 ? g (x / 3 + 1/2) : g`, hardsigmoid
# `-3 < x < 3 ? g / 6 : 0`, softplus `beta x > threshold ? g : g z / (z + 1)`.
_SELECT_X = [math.nan, -4.0, 0.5, 7.0]
_SELECT_G = [1.0, math.inf, 2.0, math.inf]
_SIG_HALF = 1.0 / (1.0 + math.exp(-0.5))
SELECTS = [
    ("relu", F.relu, [1.0, 0.0, 2.0, math.inf]),
    ("relu6", F.relu6, [1.0, 0.0, 2.0, 0.0]),
    ("hardtanh", F.hardtanh, [1.0, 0.0, 2.0, 0.0]),
    ("elu", F.elu, [1.0, math.inf, 2.0, math.inf]),
    ("leaky_relu", lambda t: F.leaky_relu(t, 0.1), [0.1, math.inf, 2.0, math.inf]),
    ("hardswish", F.hardswish, [1.0, 0.0, 2.0 * (0.5 / 3 + 0.5), math.inf]),
    ("hardsigmoid", F.hardsigmoid, [0.0, 0.0, 2.0 / 6, 0.0]),
    ("softplus", F.softplus, [math.nan, math.inf, 2.0 * _SIG_HALF, math.inf]),
]


@pytest.mark.parametrize("name,fn,expected", SELECTS, ids=[s[0] for s in SELECTS])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradient_selects_at_nan_and_infinite_upstream(name, fn, expected, dtype):
    dt = getattr(rtorch, dtype)
    x = rtorch.tensor(_SELECT_X, dtype=dt, requires_grad=True)
    fn(x).backward(rtorch.tensor(_SELECT_G, dtype=dt))
    got = x.grad.tolist()
    for g, e in zip(got, expected):
        if math.isnan(e):
            assert math.isnan(g), (got, expected)
        else:
            assert g == pytest.approx(e, rel=1e-6), (got, expected)


def test_hardsigmoid_gradient_is_the_float32_sixth_in_every_dtype():
    # PyTorch's kernel multiplies by `1.0f / 6.0f`, also for float64.
    x = rtorch.zeros(1, dtype=rtorch.float64, requires_grad=True)
    F.hardsigmoid(x).backward()
    assert x.grad.item() == float(np.float32(1.0) / np.float32(6.0))


def test_second_order_gradients_through_the_selects():
    from rtorch.autograd import gradgradcheck

    x = np.random.default_rng(9).uniform(-2.6, 2.6, (5, 4))
    x = np.where(np.abs(x - np.round(x * 2) / 2) < 0.05, x + 0.11, x)
    t = rtorch.tensor(x, requires_grad=True)
    for fn in (F.relu, F.hardtanh, F.elu, F.hardswish, F.hardsigmoid, F.softplus,
               lambda a: F.leaky_relu(a, 0.2)):  # fmt: skip
        assert gradgradcheck(lambda a, fn=fn: fn(a) * a, (t,))
