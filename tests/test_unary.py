"""Unary math and activations: values against numpy float64, dtypes, layouts, errors,
gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import FLOAT_DTYPES, INT_DTYPES, assert_np_close, to_np

import rtorch
from rtorch.autograd import gradcheck, gradgradcheck

_erf = np.vectorize(math.erf)
_erfc = np.vectorize(math.erfc)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


# name, numpy reference, input range (lo, hi)
FLOAT_OPS = [
    ("exp", np.exp, (-5, 5)),
    ("exp2", np.exp2, (-5, 5)),
    ("expm1", np.expm1, (-3, 3)),
    ("log", np.log, (0.1, 10)),
    ("log2", np.log2, (0.1, 10)),
    ("log10", np.log10, (0.1, 10)),
    ("log1p", np.log1p, (-0.5, 5)),
    ("sqrt", np.sqrt, (0.1, 10)),
    ("rsqrt", lambda x: 1 / np.sqrt(x), (0.1, 10)),
    ("sin", np.sin, (-4, 4)),
    ("cos", np.cos, (-4, 4)),
    ("tan", np.tan, (-1.2, 1.2)),
    ("asin", np.arcsin, (-0.9, 0.9)),
    ("acos", np.arccos, (-0.9, 0.9)),
    ("atan", np.arctan, (-4, 4)),
    ("sinh", np.sinh, (-3, 3)),
    ("cosh", np.cosh, (-3, 3)),
    ("asinh", np.arcsinh, (-3, 3)),
    ("acosh", np.arccosh, (1.1, 5)),
    ("atanh", np.arctanh, (-0.9, 0.9)),
    ("tanh", np.tanh, (-5, 5)),
    ("sigmoid", _sigmoid, (-8, 8)),
    ("erf", _erf, (-3, 3)),
    ("erfc", _erfc, (-3, 3)),
    ("reciprocal", lambda x: 1 / x, (0.2, 5)),
]

SAME_OPS = [
    ("abs", np.abs),
    ("neg", np.negative),
    ("relu", lambda x: np.maximum(x, 0)),
    ("floor", np.floor),
    ("ceil", np.ceil),
    ("trunc", np.trunc),
    ("round", np.round),
    ("sign", np.sign),
    ("square", np.square),
]


def _input(lo: float, hi: float, shape=(3, 4), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(lo, hi, size=shape)


def _check(t: rtorch.Tensor, ref: np.ndarray) -> None:
    # Half types round the input too: compare with relative slack.
    if t.dtype in (rtorch.float16, rtorch.bfloat16):
        r = 1e-2 if t.dtype == rtorch.float16 else 5e-2
        assert_np_close(t, ref, rtol=r, atol=r)
    else:
        assert_np_close(t, ref)


@pytest.mark.parametrize("name,ref,rng", FLOAT_OPS, ids=[o[0] for o in FLOAT_OPS])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_float_ops_values(name, ref, rng, dtype):
    x = rtorch.tensor(_input(*rng), dtype=dtype)
    expect = ref(to_np(x))
    out = getattr(rtorch, name)(x)
    assert out.dtype == dtype
    _check(out, expect)
    _check(getattr(x, name)(), expect)
    y = x.clone()
    r = getattr(y, name + "_")()
    assert r is y
    _check(y, expect)


@pytest.mark.parametrize("name,ref,rng", FLOAT_OPS, ids=[o[0] for o in FLOAT_OPS])
def test_float_ops_noncontiguous(name, ref, rng):
    base = rtorch.tensor(_input(*rng, shape=(4, 5)), dtype=rtorch.float32)
    xt = base.t()
    assert not xt.is_contiguous()
    _check(getattr(rtorch, name)(xt), ref(to_np(xt)))
    row = rtorch.tensor(_input(*rng, shape=(5,)), dtype=rtorch.float32)
    xe = row.expand(3, 5)
    _check(getattr(rtorch, name)(xe), ref(to_np(xe)))
    xn = base.narrow(1, 1, 3)
    _check(getattr(rtorch, name)(xn), ref(to_np(xn)))


@pytest.mark.parametrize("name", ["exp", "sqrt", "sin", "sigmoid", "log1p", "erf"])
@pytest.mark.parametrize("dtype", INT_DTYPES + [rtorch.bool], ids=str)
def test_int_inputs_give_default_float(name, dtype):
    x = (
        rtorch.tensor([0, 1, 2], dtype=dtype)
        if dtype != rtorch.bool
        else rtorch.tensor([True, False, True])
    )
    out = getattr(rtorch, name)(x)
    assert out.dtype == rtorch.float32
    ref = {n: r for (n, r, _) in FLOAT_OPS}[name]
    assert_np_close(out, ref(to_np(x).astype(np.float64)))
    with pytest.raises(
        RuntimeError, match="result type Float can't be cast to the desired output type"
    ):
        getattr(x.clone(), name + "_")()


@pytest.mark.parametrize("name,ref", SAME_OPS, ids=[o[0] for o in SAME_OPS])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + [rtorch.int8, rtorch.int32, rtorch.int64], ids=str)
def test_same_dtype_ops(name, ref, dtype):
    vals = np.array([[-2.5, -1.5, -0.5, 0.0], [0.5, 1.5, 2.5, 3.7]])
    if not dtype.is_floating_point:
        vals = np.array([[-7, -2, -1, 0], [1, 2, 5, 9]])
    x = rtorch.tensor(vals, dtype=dtype)
    out = getattr(x, name)()
    assert out.dtype == dtype
    _check(out, ref(to_np(x)))
    _check(getattr(rtorch, name)(x.t()), ref(to_np(x).T))


def test_round_half_even_and_decimals():
    x = rtorch.tensor([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999])
    assert x.round().tolist() == [0.0, 2.0, 2.0, -0.0, -2.0, 2.0]
    y = rtorch.tensor([1.25, 1.35, 125.0, -2.675])
    assert_np_close(y.round(decimals=1), np.array([1.2, 1.4, 125.0, -2.7]))
    assert_np_close(rtorch.round(y, decimals=-1), np.array([0.0, 0.0, 120.0, -0.0]))
    z = y.clone()
    z.round_(decimals=1)
    assert_np_close(z, np.array([1.2, 1.4, 125.0, -2.7]))
    with pytest.raises(NotImplementedError, match="round_cpu"):
        rtorch.tensor([1, 2]).round(decimals=1)
    assert rtorch.tensor([3, -4]).round().tolist() == [3, -4]


def test_integer_edge_cases():
    assert rtorch.tensor([-128], dtype=rtorch.int8).abs().tolist() == [-128]
    assert rtorch.tensor([2**62, -(2**62)]).abs().tolist() == [2**62, 2**62]
    assert rtorch.tensor([-3, 0, 5]).sign().tolist() == [-1, 0, 1]
    assert rtorch.tensor([True, False]).sign().tolist() == [True, False]
    assert rtorch.tensor([True, False]).square().dtype == rtorch.int64
    assert rtorch.tensor([200], dtype=rtorch.uint8).square().tolist() == [64]
    i = rtorch.tensor([-3, 0, 5])
    i.abs_()
    assert i.tolist() == [3, 0, 5]


def test_bool_errors():
    b = rtorch.tensor([True, False])
    with pytest.raises(NotImplementedError, match="abs_cpu"):
        b.abs()
    with pytest.raises(NotImplementedError, match="Boolean inputs not supported for relu"):
        b.relu()
    with pytest.raises(NotImplementedError, match="floor"):
        b.floor()
    with pytest.raises(NotImplementedError, match="frac_cpu"):
        rtorch.tensor([1, 2]).frac()


def test_frac():
    x = rtorch.tensor([-2.5, 1.25, 3.0])
    assert x.frac().tolist() == [-0.5, 0.25, 0.0]


def test_predicates():
    x = rtorch.tensor([float("nan"), float("inf"), -float("inf"), 1.0, -0.0])
    assert x.isnan().tolist() == [True, False, False, False, False]
    assert rtorch.isinf(x).tolist() == [False, True, True, False, False]
    assert x.isfinite().tolist() == [False, False, False, True, True]
    assert x.isposinf().tolist() == [False, True, False, False, False]
    assert rtorch.isneginf(x).tolist() == [False, False, True, False, False]
    i = rtorch.tensor([1, 2])
    assert i.isnan().dtype == rtorch.bool
    assert i.isfinite().tolist() == [True, True]
    assert i.isinf().tolist() == [False, False]
    h = x.half()
    assert h.isnan().tolist() == [True, False, False, False, False]


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64, rtorch.float16], ids=str)
def test_nan_to_num(dtype):
    x = rtorch.tensor([float("nan"), float("inf"), -float("inf"), 1.5], dtype=dtype)
    big = {
        rtorch.float32: 3.4028234663852886e38,
        rtorch.float64: 1.7976931348623157e308,
        rtorch.float16: 65504.0,
    }[dtype]
    assert x.nan_to_num().tolist() == [0.0, big, -big, 1.5]
    assert rtorch.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-3.0).tolist() == [1.0, 2.0, -3.0, 1.5]
    y = x.clone()
    y.nan_to_num_(nan=7.0)
    assert y.tolist()[0] == 7.0
    assert rtorch.tensor([1, 2]).nan_to_num().tolist() == [1, 2]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_nan_to_num_rounds_values_for_half_types_through_float32(dtype):
    # PyTorch converts the replacement values to float32, then to the half type: a
    # value just above a half-type tie lands on the even side (1.0), not above.
    bits = {"float16": 11, "bfloat16": 8}[dtype]
    v = 1 + 2.0**-bits + 2.0**-40
    x = rtorch.tensor(
        [float("nan"), float("inf"), -float("inf"), 2.0], dtype=getattr(rtorch, dtype)
    )
    assert x.nan_to_num(nan=v, posinf=v, neginf=-v).tolist() == [1.0, 1.0, -1.0, 2.0]


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_nan_to_num_float32_above_the_grain(layout):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((70, 600)).astype(np.float32)
    a[rng.random(a.shape) < 0.1] = np.nan
    a[rng.random(a.shape) < 0.05] = np.inf
    a[rng.random(a.shape) < 0.05] = -np.inf
    t = rtorch.tensor(a)
    if layout == "transposed":
        t, a = t.t(), a.T
    want = np.nan_to_num(a, nan=0.5, posinf=7.0, neginf=-8.0)
    np.testing.assert_array_equal(t.nan_to_num(0.5, 7.0, -8.0).numpy(), want)
    np.testing.assert_array_equal(t.nan_to_num().numpy(), np.nan_to_num(a))


def test_logical_and_bitwise_not():
    i = rtorch.tensor([-3, 0, 5])
    assert (~i).tolist() == [2, -1, -6]
    assert i.bitwise_not().tolist() == [2, -1, -6]
    b = rtorch.tensor([True, False])
    assert (~b).tolist() == [False, True]
    assert rtorch.logical_not(i).tolist() == [False, True, False]
    assert rtorch.tensor([1.5, 0.0]).logical_not().tolist() == [False, True]
    u = rtorch.tensor([0, 255], dtype=rtorch.uint8)
    assert (~u).tolist() == [255, 0]
    with pytest.raises(TypeError, match="only implemented on integer and Boolean"):
        ~rtorch.tensor([1.0])
    with pytest.raises(NotImplementedError, match="bitwise_not_cpu"):
        rtorch.bitwise_not(rtorch.tensor([1.0]))
    f = rtorch.tensor([0.0, 2.0])
    f.logical_not_()
    assert f.tolist() == [1.0, 0.0]


def test_special_values():
    x = rtorch.tensor([0.0, -1.0, float("inf"), float("nan")])
    lg = rtorch.log(x).tolist()
    assert lg[0] == -math.inf and lg[2] == math.inf
    assert math.isnan(lg[1]) and math.isnan(lg[3])
    assert rtorch.exp(rtorch.tensor([100.0, -200.0, -math.inf])).tolist() == [math.inf, 0.0, 0.0]
    assert rtorch.rsqrt(rtorch.tensor([0.0])).tolist() == [math.inf]
    assert rtorch.sigmoid(rtorch.tensor([-math.inf, math.inf])).tolist() == [0.0, 1.0]
    assert rtorch.tanh(rtorch.tensor([-math.inf, 30.0])).tolist() == [-1.0, 1.0]
    e = rtorch.erfinv(rtorch.tensor([0.5, 1.0, -1.0, 2.0]))
    assert e.tolist()[1:3] == [math.inf, -math.inf]
    assert math.isnan(e.tolist()[3])
    assert e.tolist()[0] == pytest.approx(0.4769362762044699, rel=1e-6)


def test_large_f32_vectorised_path_matches_numpy():
    rng = np.random.default_rng(3)
    a = rng.uniform(-80, 80, size=100_003)
    x = rtorch.tensor(a, dtype=rtorch.float32)
    xs = to_np(x)
    np.testing.assert_allclose(to_np(x.exp()), np.exp(xs), rtol=3e-7)
    np.testing.assert_allclose(to_np(x.tanh()), np.tanh(xs), rtol=3e-7, atol=1e-30)
    np.testing.assert_allclose(to_np(x.sigmoid()), _sigmoid(xs), rtol=5e-7, atol=1e-38)
    p = rtorch.tensor(np.abs(a) + 1e-3, dtype=rtorch.float32)
    np.testing.assert_allclose(to_np(p.log()), np.log(to_np(p)), rtol=3e-7)
    y = x.clone()
    y.exp_()
    assert rtorch.equal(y, x.exp())


def test_empty_and_zero_dim():
    e = rtorch.tensor([])
    assert rtorch.exp(e).shape == (0,)
    assert e.abs().shape == (0,)
    assert rtorch.zeros(0, 3).sigmoid().shape == (0, 3)
    s = rtorch.tensor(2.0)
    assert rtorch.exp(s).shape == ()
    assert rtorch.exp(s).item() == pytest.approx(math.exp(2.0), rel=1e-6)
    assert rtorch.tensor(-3).abs().item() == 3


# ----- activations -----


def test_activations_values():
    a = np.linspace(-4, 4, 17)
    x = rtorch.tensor(a, dtype=rtorch.float64)
    assert_np_close(rtorch.gelu(x), _gelu(a))
    assert_np_close(rtorch.gelu(x, approximate="tanh"), _gelu_tanh(a))
    assert_np_close(rtorch.silu(x), a * _sigmoid(a))
    sp = np.where(2 * a > 1, a, np.log1p(np.exp(2 * a)) / 2)
    assert_np_close(rtorch.softplus(x, beta=2, threshold=1), sp)
    assert_np_close(rtorch.softplus(x), np.log1p(np.exp(a)))
    assert_np_close(rtorch.elu(x), np.where(a > 0, a, np.expm1(a)))
    assert_np_close(rtorch.elu(x, alpha=0.5), np.where(a > 0, a, 0.5 * np.expm1(a)))
    assert_np_close(rtorch.leaky_relu(x), np.where(a > 0, a, 0.01 * a))
    assert_np_close(rtorch.leaky_relu(x, 0.2), np.where(a > 0, a, 0.2 * a))
    assert_np_close(rtorch.hardtanh(x), np.clip(a, -1, 1))
    assert_np_close(rtorch.hardtanh(x, -2.0, 3.0), np.clip(a, -2, 3))
    assert_np_close(rtorch.relu6(x * 2), np.clip(2 * a, 0, 6))
    assert_np_close(rtorch.logsigmoid(x), np.log(_sigmoid(a)))
    assert_np_close(rtorch.mish(x), a * np.tanh(np.log1p(np.exp(a))))
    assert_np_close(rtorch.relu(x), np.maximum(a, 0))
    assert_np_close(rtorch.logsigmoid(rtorch.tensor([-200.0, 200.0])), np.array([-200.0, 0.0]))


def test_gelu_tail_is_accurate():
    x = rtorch.tensor([-6.0, -4.0, -3.0])
    expect = 0.5 * np.array([-6.0, -4.0, -3.0]) * _erfc(np.array([6.0, 4.0, 3.0]) / math.sqrt(2.0))
    np.testing.assert_allclose(to_np(rtorch.gelu(x)), expect, rtol=1e-5)


def test_activations_dtypes_and_inplace():
    i = rtorch.tensor([-3, 0, 5])
    assert rtorch.hardtanh(i).tolist() == [-1, 0, 1]
    assert rtorch.relu6(i).tolist() == [0, 0, 5]
    assert rtorch.relu(i).dtype == rtorch.int64
    for f in (
        rtorch.gelu,
        rtorch.silu,
        rtorch.mish,
        rtorch.elu,
        rtorch.logsigmoid,
        rtorch.softplus,
    ):
        with pytest.raises(NotImplementedError):
            f(i)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        rtorch.gelu(rtorch.tensor([1.0]), approximate="fast")
    x = rtorch.tensor([-1.0, 2.0])
    r = rtorch.elu(x, inplace=True)
    assert x.tolist() == pytest.approx([math.expm1(-1.0), 2.0])
    assert r.tolist() == x.tolist()
    x = rtorch.tensor([-1.0, 2.0])
    rtorch.leaky_relu_(x, 0.5)
    assert x.tolist() == [-0.5, 2.0]
    x = rtorch.tensor([-3.0, 0.5, 8.0])
    rtorch.hardtanh_(x)
    assert x.tolist() == [-1.0, 0.5, 1.0]
    x = rtorch.tensor([-3.0, 0.5])
    x.relu_()
    assert x.tolist() == [0.0, 0.5]
    h = rtorch.tensor([-1.0, 0.5, 2.0], dtype=rtorch.bfloat16)
    assert rtorch.gelu(h).dtype == rtorch.bfloat16
    assert_np_close(rtorch.gelu(h), _gelu(to_np(h)), rtol=2e-2, atol=1e-2)


# ----- gradients -----

GRAD_OPS = [(n, r) for (n, _, r) in FLOAT_OPS] + [("erfinv", (-0.8, 0.8)), ("frac", (0.1, 0.9))]
SMOOTH = {
    "exp",
    "exp2",
    "expm1",
    "log",
    "log1p",
    "sqrt",
    "rsqrt",
    "sin",
    "cos",
    "tan",
    "atan",
    "tanh",
    "sigmoid",
    "erf",
    "erfc",
    "sinh",
    "cosh",
    "reciprocal",
    "erfinv",
    "asin",
    "log2",
    "log10",
}


@pytest.mark.parametrize("name,rng", GRAD_OPS, ids=[o[0] for o in GRAD_OPS])
def test_gradcheck_unary(name, rng):
    x = rtorch.tensor(_input(*rng, shape=(2, 3), seed=1), dtype=rtorch.float64, requires_grad=True)
    f = getattr(rtorch, name)
    assert gradcheck(f, (x,))
    if name in SMOOTH:
        assert gradgradcheck(f, (x,))


def _away_from_kinks(shape=(2, 3)):
    a = np.array([-1.7, -0.6, -0.2, 0.3, 0.9, 1.6]).reshape(shape)
    return rtorch.tensor(a, dtype=rtorch.float64, requires_grad=True)


@pytest.mark.parametrize(
    "f",
    [
        rtorch.abs,
        rtorch.relu,
        lambda x: rtorch.gelu(x),
        lambda x: rtorch.gelu(x, approximate="tanh"),
        rtorch.silu,
        lambda x: rtorch.softplus(x, beta=2.0, threshold=2.0),
        lambda x: rtorch.elu(x, alpha=0.7),
        lambda x: rtorch.leaky_relu(x, 0.1),
        lambda x: rtorch.hardtanh(x, -1.0, 1.0),
        lambda x: rtorch.relu6(x * 4),
        rtorch.logsigmoid,
        rtorch.mish,
        rtorch.nan_to_num,
        rtorch.square,
    ],
    ids=[
        "abs",
        "relu",
        "gelu",
        "gelu_tanh",
        "silu",
        "softplus",
        "elu",
        "leaky",
        "hardtanh",
        "relu6",
        "logsigmoid",
        "mish",
        "nan_to_num",
        "square",
    ],
)
def test_gradcheck_activations(f):
    x = _away_from_kinks()
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


def test_grad_conventions_at_kinks():
    x = rtorch.tensor([0.0, -1.0, 1.0, 6.0], requires_grad=True)
    rtorch.relu(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 1.0]
    x.grad = None
    rtorch.abs(x).sum().backward()
    assert x.grad.tolist() == [0.0, -1.0, 1.0, 1.0]
    x.grad = None
    rtorch.hardtanh(x).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 0.0, 0.0]
    x.grad = None
    rtorch.relu6(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 0.0]
    x.grad = None
    rtorch.floor(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0, 0.0]
    x.grad = None
    rtorch.leaky_relu(x, 0.1).sum().backward()
    assert x.grad.tolist() == pytest.approx([0.1, 0.1, 1.0, 1.0])


def test_saved_output_modified_in_place_raises():
    x = rtorch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    # sin saves its input, not its output: modifying the output is fine.
    z = x.sin()
    z.add_(1)
    z.sum().backward()
    assert x.grad.tolist() == pytest.approx([math.cos(1.0), math.cos(2.0)])


def test_in_place_on_non_leaf_records_grad():
    x = rtorch.tensor([0.5, 1.0], requires_grad=True)
    y = x * 1
    y.exp_()
    y.sum().backward()
    assert x.grad.tolist() == pytest.approx([math.exp(0.5), math.exp(1.0)])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.exp_()


def test_grad_fn_names():
    x = rtorch.tensor([0.5], requires_grad=True)
    assert x.exp().grad_fn.name() == "ExpBackward0"
    assert x.sigmoid().grad_fn.name() == "SigmoidBackward0"


def test_matches_torch(torch_ref):
    a = np.linspace(-3, 3, 13)
    for name in ["exp", "log1p", "sigmoid", "tanh", "erf", "atan", "expm1"]:
        src = np.abs(a) if name == "log1p" else a
        got = getattr(rtorch, name)(rtorch.tensor(src, dtype=rtorch.float32))
        exp = getattr(torch_ref, name)(torch_ref.tensor(src, dtype=torch_ref.float32))
        np.testing.assert_allclose(to_np(got), exp.double().numpy(), rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize(
    "name",
    ["erf", "erfc", "sigmoid", "exp", "tanh", "log", "sin", "cos", "expm1", "log1p"]
    + ["tan", "atan", "exp2", "log2", "log10"],
)
def test_vectorised_and_strided_float32_paths_agree_bitwise(name):
    # Contiguous float32 runs the SIMD slice kernel over the whole buffer, a transposed
    # view runs it on gathered blocks (the kernels on the FMA paths round differently
    # from the scalar form, so the scalar form must not serve strided inputs); in
    # place on a transposed view as well.
    x = rtorch.tensor(
        np.random.default_rng(3).uniform(-12, 12, size=(300, 200)), dtype=rtorch.float32
    )
    if name in ("log", "log1p", "log2", "log10"):
        x = x.abs()
    fast = getattr(rtorch, name)(x.t().contiguous()).numpy()
    strided = getattr(rtorch, name)(x.t()).numpy()
    np.testing.assert_array_equal(fast, strided)
    y = x.clone()
    getattr(y.t(), name + "_")()
    np.testing.assert_array_equal(fast, y.t().numpy())


@pytest.mark.parametrize("fn", ["gelu", "silu"])
def test_gelu_silu_float32_paths_agree_and_match_float64(fn):
    import math

    F = rtorch.nn.functional
    v = np.random.default_rng(4).uniform(-16, 12, size=(300, 200))
    x = rtorch.tensor(v, dtype=rtorch.float32)
    fast = getattr(F, fn)(x.t().contiguous()).numpy()
    np.testing.assert_array_equal(fast, getattr(F, fn)(x.t()).numpy())
    x64 = x.t().numpy().astype(np.float64)
    if fn == "gelu":
        erfc = np.vectorize(math.erfc)
        ref = 0.5 * x64 * erfc(-x64 / math.sqrt(2))
    else:
        ref = x64 / (1 + np.exp(-x64))
    # The kernels' bounds over every float32 (cpu/math.rs, cpu/gelu32.rs): gelu 1.78 ulp
    # on the FMA paths (float32 arithmetic), silu 1.08; 0.52 on the portable path
    # (float64, rounded once).
    ulp = np.maximum(np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64), 2.0**-149)
    assert np.max(np.abs(fast - ref) / ulp) <= {"gelu": 2.0, "silu": 1.1}[fn]


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_sin_cos_float32_over_the_whole_range(name):
    # The vector path reduces |x| <= 65536; larger, inf and nan go through float64's
    # own function; both within one float32 ulp of numpy's float64 value.
    rng = np.random.default_rng(5)
    v = np.concatenate(
        [rng.uniform(-10, 10, 3000), rng.uniform(6e4, 7e4, 3000), 10.0 ** rng.uniform(5, 38, 3000)]
    ).astype(np.float32)
    v = np.concatenate([v, -v, [np.inf, -np.inf, np.nan, 0.0, -0.0]]).astype(np.float32)
    x = rtorch.tensor(v)
    got = getattr(rtorch, name)(x).numpy()
    y = x.clone()
    getattr(y, name + "_")()
    np.testing.assert_array_equal(got, y.numpy())
    finite = np.isfinite(v)
    ref = getattr(np, name)(np.where(finite, v, 0).astype(np.float64))
    assert np.isnan(got[~finite]).all()
    ulp = np.maximum(
        np.spacing(np.abs(ref[finite]).astype(np.float32)).astype(np.float64), 2.0**-149
    )
    assert np.max(np.abs(got[finite] - ref[finite]) / ulp) <= 1.0
    if name == "sin":
        assert np.signbit(got[-1]) and not np.signbit(got[-2])


def _ulps_from(got: np.ndarray, ref: np.ndarray) -> float:
    """Worst error of float32 results in units of the float32 spacing at the reference."""
    ulp = np.maximum(np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64), 2.0**-149)
    return float(np.max(np.abs(got.astype(np.float64) - ref) / ulp))


@pytest.mark.parametrize(
    ("name", "ref", "lo", "hi", "bound"),
    [
        # expm1: float32 with FMA on the AVX2/AVX-512 paths (1.01 ulp over every float32),
        # rounded once from float64 on the default path (0.53); log1p is ln(1 + x)
        # corrected in float32.
        ("expm1", np.expm1, -20.0, 88.0, 1.05),
        ("expm1", np.expm1, -1e-3, 1e-3, 1.05),
        ("log1p", np.log1p, -0.9999, 1e6, 2.0),
        ("log1p", np.log1p, -1e-3, 1e-3, 2.0),
    ],
)
def test_expm1_log1p_float32_accuracy(name, ref, lo, hi, bound):
    v = np.linspace(lo, hi, 300_001).astype(np.float32)
    got = getattr(rtorch, name)(rtorch.tensor(v)).numpy()
    assert _ulps_from(got, ref(v.astype(np.float64))) <= bound


def test_expm1_log1p_special_values():
    v = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, -2.0, 1e-30], dtype=np.float32)
    e = rtorch.expm1(rtorch.tensor(v)).numpy()
    lg = rtorch.log1p(rtorch.tensor(v)).numpy()
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(e, np.expm1(v))
        np.testing.assert_array_equal(lg, np.log1p(v))
    assert np.signbit(e[1]) and np.signbit(lg[1])


@pytest.mark.parametrize(
    ("fn", "atol"),
    [
        (lambda F, x: F.softplus(x), 1e-30),
        (lambda F, x: F.softplus(x, beta=2.0, threshold=5.0), 1e-30),
        (lambda F, x: F.elu(x, alpha=0.7), 1e-30),
        (lambda F, x: F.mish(x), 1e-30),
        (lambda F, x: F.logsigmoid(x), 1e-30),
        (lambda F, x: F.leaky_relu(x, 0.2), 1e-30),
        # 1 + tanh(...) cancels for negative x: float32 loses the tail's relative
        # accuracy (PyTorch computes the same formula).
        (lambda F, x: F.gelu(x, approximate="tanh"), 1e-6),
        (lambda F, x: rtorch.rsqrt(x.abs()), 1e-30),
    ],
)
def test_float32_kinds_without_slice_kernels_agree_across_layouts(fn, atol):
    # Contiguous float32 runs the kind's body compiled for the widest vector unit,
    # strided float32 the same body on gathered blocks: the same bits, and close to
    # the float64 result.
    F = rtorch.nn.functional
    v = np.random.default_rng(5).uniform(-30, 30, size=(300, 200))
    x = rtorch.tensor(v, dtype=rtorch.float32)
    fast = fn(F, x.t().contiguous()).numpy()
    np.testing.assert_array_equal(fast, fn(F, x.t()).numpy())
    ref = fn(F, rtorch.tensor(x.t().numpy().astype(np.float64))).numpy()
    np.testing.assert_allclose(fast, ref, rtol=2e-6, atol=atol)
