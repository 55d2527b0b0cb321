"""The activations' fused backward kernels (rust/rtorch-core/src/ops/grad_kinds.rs).

An ordinary backward runs one fused kernel per activation; `create_graph=True` runs the
differentiable composition instead. Both are checked against closed-form derivatives in
float64 numpy, on sizes past the SIMD width, the 1024-element blocks and the 32768-element
parallel grain (with tails), on strided and expanded operands, in every floating dtype.
"""

import math

import numpy as np
import pytest
from conftest import to_np

import rtorch
import rtorch.nn.functional as F
from rtorch.autograd import gradgradcheck

_erfc = np.vectorize(math.erfc)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _sig(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free sigmoid


def _softplus_d(x, beta, threshold):
    return np.where(x * beta > threshold, 1.0, _sig(beta * x))


def _gelu_tanh_d(x):
    k, c = math.sqrt(2 / math.pi), 0.044715
    t = np.tanh(k * (x + c * x**3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * c * x * x)


def _mish_d(x):
    t = np.tanh(np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20)))))
    return t + x * _sig(x) * (1 - t * t)


# name -> (function, derivative in float64). sigmoid and tanh differentiate from their
# output (PyTorch's formulas; the half types' rounded output makes their gradient at
# |x| > 4 zero): their reference is the same formula on the saved output, in float64.
FROM_OUTPUT = {"sigmoid": lambda y: (1 - y) * y, "tanh": lambda y: 1 - y * y}
CASES = {
    "sigmoid": (rtorch.sigmoid, lambda x: _sig(x) * (1 - _sig(x))),
    "tanh": (rtorch.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "silu": (F.silu, lambda x: _sig(x) * (1 + x * (1 - _sig(x)))),
    "gelu": (
        F.gelu,
        lambda x: (
            0.5 * _erfc(-x / math.sqrt(2)) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        ),
    ),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"), _gelu_tanh_d),
    "softplus": (F.softplus, lambda x: _softplus_d(x, 1.0, 20.0)),
    "softplus_beta": (lambda t: F.softplus(t, 2.0, 3.0), lambda x: _softplus_d(x, 2.0, 3.0)),
    "elu": (lambda t: F.elu(t, 1.5), lambda x: np.where(x <= 0, 1.5 * np.exp(x), 1.0)),
    # selu and celu: PyTorch's elu(x, alpha, scale, input_scale) with constants.
    "selu": (
        F.selu,
        lambda x: np.where(x <= 0, _SELU_SCALE * _SELU_ALPHA * np.exp(x), _SELU_SCALE),
    ),
    "celu": (lambda t: F.celu(t, 0.7), lambda x: np.where(x <= 0, np.exp(x / 0.7), 1.0)),
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.2), lambda x: np.where(x > 0, 1.0, 0.2)),
    "hardsigmoid": (
        F.hardsigmoid,
        lambda x: np.where((x > -3) & (x < 3), float(np.float32(1) / np.float32(6)), 0.0),
    ),
    "hardswish": (
        F.hardswish,
        lambda x: np.where(x <= -3, 0.0, np.where(x < 3, x / 3 + 0.5, 1.0)),
    ),
    "logsigmoid": (F.logsigmoid, lambda x: _sig(-x)),
    "mish": (F.mish, _mish_d),
}

# Relative tolerance per dtype (float32: a few roundings of float32 transcendentals;
# the half types: one rounding of the float32 value to the storage type); the absolute
# part is relative to |g|, for derivatives that cross zero (gelu, silu, mish) and for
# PyTorch's formulas that sum O(1) terms to a small one (gelu_tanh's 1 + tanh near -1:
# a few float32 roundings of 1, ~1e-6).
TOL = {
    rtorch.float64: (1e-12, 1e-14),
    rtorch.float32: (2e-6, 1e-6),
    rtorch.float16: (2e-3, 2e-4),
    rtorch.bfloat16: (1.6e-2, 2e-3),
}


def _inputs(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * 4
    # The kinks (0, +-3) and the far tails (softplus' threshold, gelu's and mish's).
    special = np.array([0.0, -0.0, 3.0, -3.0, 1.5, 10.0, -10.0, 25.0, -25.0, 1e-3])
    x[: min(n, special.size)] = special[: min(n, special.size)]
    return x, rng.standard_normal(n)


def _grad(fn, x, g, create_graph=False):
    (gx,) = rtorch.autograd.grad(fn(x), x, g, create_graph=create_graph)
    return gx


def _deriv(name, fn, x):
    """The derivative at the values the kernel saw, in float64."""
    if name in FROM_OUTPUT:
        return FROM_OUTPUT[name](to_np(fn(x.detach()).to(rtorch.float64)))
    return CASES[name][1](to_np(x.detach().to(rtorch.float64)))


def _check(got, x, g, name, dtype):
    rtol, atol = TOL[dtype]
    # The reference at the values the kernel saw (x and g rounded to the dtype).
    gs = to_np(g.to(rtorch.float64))
    want = gs * _deriv(name, CASES[name][0], x)
    have = to_np(got.to(rtorch.float64))
    err = np.abs(have - want)
    # (float16's subnormals are 6e-8 apart: half of that on top.)
    tiny = 2.0**-25 if dtype == rtorch.float16 else 0.0
    bound = rtol * np.abs(want) + atol * np.abs(gs) + tiny
    worst = int(np.argmax(err - bound))
    assert np.all(err <= bound), (
        f"x={to_np(x.detach().to(rtorch.float64))[worst]!r} g={gs[worst]!r}: got {have[worst]!r}, want {want[worst]!r}"
    )


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64, rtorch.float16, rtorch.bfloat16])
@pytest.mark.parametrize("n", [7, 1000, 70001])
def test_fused_gradient_matches_the_closed_form(name, dtype, n):
    fn, _ = CASES[name]
    xv, gv = _inputs(n, n)
    x = rtorch.tensor(xv, dtype=dtype, requires_grad=True)
    g = rtorch.tensor(gv, dtype=dtype)
    got = _grad(fn, x, g)
    assert got.dtype == dtype and got.shape == (n,)
    _check(got, x, g, name, dtype)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
def test_fused_and_composed_gradients_agree(name, dtype):
    fn, _ = CASES[name]
    xv, gv = _inputs(40000, 5)
    x = rtorch.tensor(xv, dtype=dtype, requires_grad=True)
    g = rtorch.tensor(gv, dtype=dtype)
    fused = _grad(fn, x, g)
    composed = _grad(fn, x, g, create_graph=True)
    assert not fused.requires_grad
    _check(composed.detach(), x, g, name, dtype)
    rtol, atol = TOL[dtype]
    np.testing.assert_allclose(
        to_np(fused), to_np(composed.detach()), rtol=2 * rtol, atol=2 * atol * np.abs(gv).max()
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_fused_gradient_strided_input_and_expanded_upstream(name):
    fn, _ = CASES[name]
    xv, _ = _inputs(300 * 130, 11)
    base = rtorch.tensor(xv.reshape(130, 300), dtype=rtorch.float32)
    x = base.t().detach().requires_grad_()  # (300, 130), transposed strides
    assert not x.is_contiguous()
    y = fn(x)
    # sum().backward() hands the activation an expanded (stride-0) gradient of ones.
    y.sum().backward(retain_graph=True)
    _check(x.grad, x, rtorch.ones(x.shape), name, rtorch.float32)
    # Upstream gradient broadcast from a row.
    row = rtorch.tensor(np.linspace(-2, 2, 130), dtype=rtorch.float32)
    (gx,) = rtorch.autograd.grad(y, x, row.expand(300, 130))
    _check(gx, x, row.expand(300, 130).contiguous(), name, rtorch.float32)


@pytest.mark.parametrize("name", sorted(CASES))
def test_fused_gradient_empty_and_zero_dim(name):
    fn, _ = CASES[name]
    x = rtorch.zeros(0, 3, requires_grad=True)
    assert _grad(fn, x, rtorch.zeros(0, 3)).shape == (0, 3)
    x = rtorch.tensor(-0.7, requires_grad=True)
    got = _grad(fn, x, rtorch.tensor(2.0))
    assert got.shape == ()
    _check(got.reshape(1), x.reshape(1), rtorch.tensor([2.0]), name, rtorch.float32)


def test_gelu_gradient_at_the_extremes():
    # Phi(x) from erfc's tail: no cancellation in 1 + erf(x) for negative x (PyTorch's
    # float32 formula is off by ~3% at -6); PyTorch's value at +-inf is inf * 0 = NaN.
    x = rtorch.tensor([-6.0, -9.0, -12.0, 5.0, math.inf, -math.inf], requires_grad=True)
    (g,) = rtorch.autograd.grad(F.gelu(x).sum(), x)
    got = g.tolist()
    for v, d in zip([-6.0, -9.0, -12.0, 5.0], got[:4]):
        want = 0.5 * math.erfc(-v / math.sqrt(2)) + v * math.exp(-v * v / 2) / math.sqrt(
            2 * math.pi
        )
        assert d == pytest.approx(want, rel=1e-6)
    assert math.isnan(got[4]) and math.isnan(got[5])


@pytest.mark.parametrize(
    "name", ["sigmoid", "tanh", "silu", "gelu", "gelu_tanh", "logsigmoid", "mish"]
)
def test_double_backward_differentiates_the_composition(name):
    fn, _ = CASES[name]
    x = np.random.default_rng(3).uniform(-2.5, 2.5, (4, 5))
    t = rtorch.tensor(x, requires_grad=True)
    assert gradgradcheck(lambda a: fn(a) * a, (t,))


@pytest.mark.parametrize("inplace", [False, True])
def test_selu_and_celu_are_one_elu_node(inplace):
    # As PyTorch: selu and celu are elu with constants (one kernel, EluBackward0).
    for fn in (F.selu, lambda t, inplace: F.celu(t, 0.5, inplace)):
        x = rtorch.tensor([-2.0, -0.5, 0.0, 1.5], requires_grad=True)
        y = fn(x.clone(), inplace)
        assert y.grad_fn.name() == "EluBackward0"
