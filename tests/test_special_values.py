"""Special values (±inf, ±0.0, NaN) through ops where a run against PyTorch 2.15 found
rtorch differing, every dtype and every path.

- relu is PyTorch's `clamp_min(x, 0)`: NaN and -0.0 pass through and -inf gives 0
  (rtorch gave NaN for -inf and +0.0 for -0.0).
- clamp with number bounds: one vectorised select per bound; a NaN input passes through
  and a NaN bound makes every element NaN.
- tanh(-0.0) is -0.0; lgamma(±inf) is inf and lgamma(1) = lgamma(2) = 0 exactly; sinc of half types is
  computed in float32.

References are numpy float64 formulas written out here, or exact values. (PyTorch's
maximum/minimum of 0.0 and -0.0 differed too, but PyTorch itself answers by position:
its scalar loop keeps the first operand, its vector loop the second.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import rtorch

# numpy 2 renamed trapz to trapezoid (the test extra allows numpy 1.22).
_trapezoid = getattr(np, "trapezoid", None) or np.trapz

FLOATS = [rtorch.float32, rtorch.float64, rtorch.float16, rtorch.bfloat16]
INTS = [rtorch.uint8, rtorch.int8, rtorch.int16, rtorch.int32, rtorch.int64]
SPECIAL = [-math.inf, -3.5, -1.0, -0.0, 0.0, 0.25, 2.0, math.inf, math.nan]
# Above the parallel grain and long enough for every vector loop, with a tail.
BIG = 3 * 65536 + 7


def _bits(values: np.ndarray) -> list:
    """Values with the sign of zero and NaN made comparable."""
    return [("nan" if math.isnan(v) else (v, math.copysign(1.0, v))) for v in values.tolist()]


def _relu_ref(x: np.ndarray) -> np.ndarray:
    return np.where(x < 0, 0.0, x)


def _clamp_ref(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    r = np.where(x < lo, lo, x)
    return np.where(r > hi, hi, r)


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_relu_special_values(dtype) -> None:
    x = rtorch.tensor(SPECIAL, dtype=dtype)
    want = _relu_ref(np.array(SPECIAL))
    assert _bits(rtorch.relu(x).double().numpy()) == _bits(want)
    assert _bits(rtorch.nn.functional.relu(x).double().numpy()) == _bits(want)
    y = x.clone()
    y.relu_()
    assert _bits(y.double().numpy()) == _bits(want)


@pytest.mark.parametrize("dtype", FLOATS + INTS, ids=str)
def test_relu_large_and_strided(dtype) -> None:
    rng = np.random.default_rng(0)
    lo = 0 if dtype is rtorch.uint8 else -50
    base = rng.integers(lo, 50, size=(2, BIG)).astype(np.float64)
    x = rtorch.tensor(base).to(dtype)
    for view, ref in [(x, base), (x[:, ::3], base[:, ::3]), (x.t(), base.T)]:
        got = rtorch.relu(view)
        assert got.dtype is dtype
        np.testing.assert_array_equal(got.double().numpy(), _relu_ref(ref))


def test_relu_gradient_at_special_values() -> None:
    x = rtorch.tensor([-math.inf, -1.0, -0.0, 0.0, 2.0], requires_grad=True)
    rtorch.relu(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0, 0.0, 1.0]


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_clamp_numbers_special_values(dtype) -> None:
    x = rtorch.tensor(SPECIAL, dtype=dtype)
    xs = np.array(SPECIAL)
    for lo, hi in [(-1.0, 1.0), (0.0, math.inf), (-math.inf, -1.0), (0.5, 0.25)]:
        want = _clamp_ref(xs, lo, hi)
        assert _bits(x.clamp(lo, hi).double().numpy()) == _bits(want), (lo, hi)
    assert _bits(x.clamp(min=0.25).double().numpy()) == _bits(_clamp_ref(xs, 0.25, math.inf))
    assert _bits(x.clamp(max=0.25).double().numpy()) == _bits(_clamp_ref(xs, -math.inf, 0.25))
    for lo, hi in [(math.nan, 1.0), (-1.0, math.nan)]:
        assert all(math.isnan(v) for v in x.clamp(lo, hi).double().tolist())
    y = x.clone()
    y.clamp_(-1.0, 1.0)
    assert _bits(y.double().numpy()) == _bits(_clamp_ref(xs, -1.0, 1.0))


@pytest.mark.parametrize("dtype", FLOATS + INTS, ids=str)
def test_clamp_numbers_large_and_strided(dtype) -> None:
    rng = np.random.default_rng(1)
    base = rng.integers(0, 100, size=(2, BIG)).astype(np.float64)
    x = rtorch.tensor(base).to(dtype)
    lo, hi = 20, 70
    for view, ref in [(x, base), (x[:, 1::2], base[:, 1::2]), (x.t(), base.T)]:
        got = view.clamp(lo, hi)
        assert got.dtype is dtype
        np.testing.assert_array_equal(got.double().numpy(), _clamp_ref(ref, lo, hi))
    # A float bound on an integer tensor promotes, as PyTorch's result_type does.
    if dtype in INTS:
        assert x.clamp(0.5, 2.5).dtype is rtorch.float32


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_tanh_keeps_the_sign_of_zero(dtype) -> None:
    x = rtorch.tensor([-0.0, 0.0] * 20, dtype=dtype)
    got = [math.copysign(1.0, v) for v in rtorch.tanh(x).double().tolist()]
    assert got == [-1.0, 1.0] * 20
    shrink = rtorch.nn.functional.tanhshrink(x).double().tolist()
    assert all(v == 0.0 and math.copysign(1.0, v) == 1.0 for v in shrink)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64], ids=str)
def test_lgamma_exact_points_and_infinities(dtype) -> None:
    x = rtorch.tensor([1.0, 2.0, math.inf, -math.inf, 0.0, -3.0, 0.5], dtype=dtype)
    got = rtorch.lgamma(x).tolist()
    assert got[:6] == [0.0, 0.0, math.inf, math.inf, math.inf, math.inf]
    assert got[6] == pytest.approx(math.lgamma(0.5), rel=1e-6)


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16], ids=str)
def test_sinc_of_half_types_computes_in_float32(dtype) -> None:
    xs = [-20.0, -3.5, -1.0, 0.0, 0.25, 1.0, 3.0]
    x = rtorch.tensor(xs, dtype=dtype)
    exact = [1.0 if v == 0 else math.sin(math.pi * v) / (math.pi * v) for v in x.double().tolist()]
    tol = 2.0**-8 if dtype is rtorch.float16 else 2.0**-7
    for got, want in zip(rtorch.sinc(x).double().tolist(), exact):
        assert abs(got - want) <= tol * max(abs(want), 1e-6) + 1e-7


@pytest.mark.parametrize("dtype", FLOATS + INTS, ids=str)
def test_clamp_in_place_writes_through_views(dtype) -> None:
    rng = np.random.default_rng(2)
    base = rng.integers(0, 100, size=(3, BIG)).astype(np.float64)
    x = rtorch.tensor(base).to(dtype)
    view = x[:, 1::2]
    view.clamp_(20, 70)
    want = base.copy()
    want[:, 1::2] = _clamp_ref(base[:, 1::2], 20, 70)
    np.testing.assert_array_equal(x.double().numpy(), want)
    y = rtorch.tensor(base[0]).to(dtype)
    y.clamp_(max=30)
    np.testing.assert_array_equal(y.double().numpy(), _clamp_ref(base[0], -math.inf, 30))


def test_clamp_in_place_rules() -> None:
    u = rtorch.tensor([0, 5, 250], dtype=rtorch.uint8)
    u.clamp_(min=-2)  # a bound past the dtype's range on the side that cannot bind
    assert u.tolist() == [0, 5, 250]
    with pytest.raises(RuntimeError):
        u.clamp_(min=300)
    i = rtorch.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        i.clamp_(0.5, 2.5)
    e = rtorch.zeros(3).expand(2, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        e.clamp_(0, 1)
    # A tensor saved for backward, then clamped in place: backward must refuse.
    w = rtorch.tensor([0.5, 2.0], requires_grad=True)
    h = w * 1.0
    out = h * h  # saves h
    with rtorch.no_grad():
        h.clamp_(0.0, 1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
    assert h.tolist() == [0.5, 1.0]


def test_logaddexp_is_max_plus_log1p() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(0, 5, 1000), rng.normal(0, 5, 1000)
    got = rtorch.logaddexp(rtorch.tensor(a), rtorch.tensor(b)).numpy()
    # A few ulps: max + log1p(exp(-d)) rounds three times (PyTorch: 1.2e-15 here too).
    np.testing.assert_allclose(got, np.logaddexp(a, b), rtol=4e-15, atol=0)
    x = rtorch.tensor([0.0, -math.inf, math.inf, -math.inf, math.nan, 1000.0])
    y = rtorch.tensor([1.0, -math.inf, math.inf, 2.0, 1.0, 1000.0])
    got = rtorch.logaddexp(x, y).tolist()
    assert got[0] == pytest.approx(math.log1p(math.exp(-1.0)) + 1.0, rel=1e-7)
    assert got[1:4] == [-math.inf, math.inf, 2.0]
    assert math.isnan(got[4]) and got[5] == pytest.approx(1000.0 + math.log(2.0), rel=1e-7)


def test_logaddexp_kernel_grads_and_dtypes() -> None:
    # The gradients are the softmax weights of the pair (PyTorch's g / (1 + e^(b - a))),
    # checked against finite differences; the float32 kernel against float64 numpy; no
    # integer kernel (PyTorch's NotImplementedError); half types round the float32 value.
    rng = np.random.default_rng(7)
    a = rtorch.tensor(rng.normal(0, 3, (3, 5)), requires_grad=True)
    b = rtorch.tensor(rng.normal(0, 3, (5,)), requires_grad=True)
    assert rtorch.autograd.gradcheck(rtorch.logaddexp, (a, b))
    out = rtorch.logaddexp(a, b)
    assert out.grad_fn.name() == "LogaddexpBackward0"
    out.sum().backward()
    an, bn = a.detach().numpy(), b.detach().numpy()
    np.testing.assert_allclose(a.grad.numpy(), 1 / (1 + np.exp(bn - an)), rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), (1 / (1 + np.exp(an - bn))).sum(0), rtol=1e-12)
    x = rng.normal(0, 10, 1000).astype(np.float32)
    y = rng.normal(0, 10, 1000).astype(np.float32)
    got = rtorch.logaddexp(rtorch.from_numpy(x), rtorch.from_numpy(y)).numpy()
    np.testing.assert_allclose(got, np.logaddexp(x.astype(np.float64), y), rtol=1.2e-7)
    h = rtorch.logaddexp(rtorch.from_numpy(x).half(), rtorch.from_numpy(y).half())
    assert h.dtype == rtorch.float16
    want = np.logaddexp(x.astype(np.float16).astype(np.float64), y.astype(np.float16))
    np.testing.assert_array_equal(h.float().numpy(), want.astype(np.float16).astype(np.float32))
    # float64 is composed from vectorised kernels: the same special values.
    x = rtorch.tensor([np.inf, -np.inf, np.nan, np.inf, 1000.0, -3.0], dtype=rtorch.float64)
    y = rtorch.tensor([np.inf, -np.inf, 1.0, -np.inf, 1000.0, 2.0], dtype=rtorch.float64)
    got = rtorch.logaddexp(x, y).numpy()
    want = [np.inf, -np.inf, np.nan, np.inf, 1000.0 + math.log(2.0), np.logaddexp(-3.0, 2.0)]
    np.testing.assert_allclose(got, want, rtol=1e-15)
    with pytest.raises(NotImplementedError, match="logaddexp_cpu"):
        rtorch.logaddexp(rtorch.tensor([1]), rtorch.tensor([2]))
    assert rtorch.logaddexp(rtorch.tensor([1]), rtorch.tensor([2.0])).dtype == rtorch.float32


def test_trapezoid_uses_pytorch_formula() -> None:
    rng = np.random.default_rng(5)
    y = rng.normal(size=(4, 9))
    got = rtorch.trapezoid(rtorch.tensor(y), dx=0.5).numpy()
    np.testing.assert_allclose(got, _trapezoid(y, dx=0.5, axis=-1), rtol=1e-13)
    # sum(y) - (y0 + yn) / 2: an infinite end cancels to NaN, as in PyTorch.
    t = rtorch.tensor([[-math.inf, -math.inf, -math.inf], [1.0, 2.0, 3.0]])
    got = rtorch.trapezoid(t).tolist()
    assert math.isnan(got[0]) and got[1] == 4.0
    assert rtorch.trapezoid(rtorch.tensor([5.0])).item() == 0.0


@pytest.mark.parametrize(
    "op",
    [
        lambda x: x.kthvalue(1, dim=1),
        lambda x: x.max(dim=1),
        lambda x: x.argmin(dim=1),
        lambda x: x.amax(dim=1),
    ],
)
def test_empty_reduction_dim_is_an_index_error(op) -> None:
    with pytest.raises(IndexError, match="Expected reduction dim 1 to have non-zero size"):
        op(rtorch.zeros(3, 0))


def test_gradients_at_points_where_a_formula_divides_by_zero() -> None:
    # Each reference is the limit PyTorch 2.15 defines (0 where the formula is 0 * inf).
    x = rtorch.tensor([0.0, 2.0], dtype=rtorch.float64, requires_grad=True)
    (x.abs() ** x).sum().backward()  # d/dx |x|^x = |x|^x (log|x| + 1) for x > 0
    assert x.grad.tolist() == [0.0, pytest.approx(4.0 * (math.log(2.0) + 1.0), rel=1e-12)]
    c = rtorch.full((4,), 3.0, dtype=rtorch.float64, requires_grad=True)
    c.std().backward()
    assert c.grad.tolist() == [0.0] * 4
    rows = rtorch.tensor([[1.0, 2.0], [4.0, 6.0]], dtype=rtorch.float64, requires_grad=True)
    rtorch.cdist(rows, rows).sum().backward()
    # d/dr0 of 2|r0 - r1| is 2 (r0 - r1)/5; the zero distances add nothing.
    np.testing.assert_allclose(rows.grad.numpy(), [[-1.2, -1.6], [1.2, 1.6]], rtol=1e-12, atol=0)


def test_lgamma_gradient_at_one_and_two_is_digamma() -> None:
    x = rtorch.tensor([1.0, 2.0], dtype=rtorch.float64, requires_grad=True)
    y = rtorch.lgamma(x)
    assert y.tolist() == [0.0, 0.0]
    y.sum().backward()
    euler = 0.5772156649015329
    np.testing.assert_allclose(x.grad.numpy(), [-euler, 1.0 - euler], rtol=1e-10)


INT_LIMITS = {
    rtorch.uint8: (-255, 255, "uint8", "uint8_t"),
    rtorch.int8: (-128, 127, "int8", "int8_t"),
    rtorch.int16: (-(2**15), 2**15 - 1, "int16", "int16_t"),
    rtorch.int32: (-(2**31), 2**31 - 1, "int32", "int"),
    rtorch.int64: (-(2**63), 2**63 - 1, "int64", "int64_t"),
}


@pytest.mark.parametrize("dtype", list(INT_LIMITS), ids=str)
def test_numbers_that_do_not_fit_an_integer_dtype_raise(dtype) -> None:
    # PyTorch's checked conversion: never a silently wrapped or saturated value (uint8
    # also takes -255..-1, which wrap). tensor() names the dtype, full/fill_ the C type.
    lo, hi, name, cname = INT_LIMITS[dtype]
    for v in [lo, hi, 1.5, -1]:
        want = int(v) % 256 if dtype is rtorch.uint8 else int(v)
        assert rtorch.full((1,), v, dtype=dtype).item() == want
    bad = [math.nan, math.inf, 1e30] + ([hi + 1, lo - 1] if dtype is not rtorch.int64 else [])
    if dtype is rtorch.uint8:
        bad.append(-0.5)  # integers -255..-1 wrap, negative floats do not
    elif dtype is not rtorch.int64:  # (lo - 0.75 rounds to lo as a double there)
        bad.append(lo - 0.75)
    for v in bad:
        with pytest.raises(RuntimeError, match=f"cannot be converted to type {name} without"):
            rtorch.tensor([1, v], dtype=dtype)
        with pytest.raises(RuntimeError, match=f"cannot be converted to type {cname} without"):
            rtorch.full((2,), v, dtype=dtype)
        with pytest.raises(RuntimeError, match=f"cannot be converted to type {cname} without"):
            rtorch.zeros(2, dtype=dtype).fill_(v)
        with pytest.raises(RuntimeError, match=f"cannot be converted to type {cname} without"):
            rtorch.zeros(2, dtype=dtype).masked_fill(rtorch.tensor([True, False]), v)
        with pytest.raises(RuntimeError, match=f"cannot be converted to type {cname} without"):
            rtorch.full_like(rtorch.zeros(2, dtype=dtype), v)
    # Arithmetic with such a number promotes or wraps as before; it is not a conversion.
    assert (rtorch.zeros(1, dtype=dtype) + 1e30).dtype is rtorch.float32


def test_python_values_no_dtype_can_hold() -> None:
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        rtorch.tensor([2**63])
    with pytest.raises(RuntimeError, match="Could not infer dtype of NoneType"):
        rtorch.tensor([1, None])
    with pytest.raises(RuntimeError, match="Could not infer dtype of object"):
        rtorch.tensor(object())
    assert rtorch.tensor([2**63 - 1]).item() == 2**63 - 1
    assert rtorch.tensor([-1], dtype=rtorch.uint8).item() == 255


def _x86_cast(v: float, dtype) -> int:
    """C's float-to-integer cast as x86 computes it (and PyTorch shows): truncate to
    int32 (int64 for int64), NaN and out-of-range values become the minimum, then the
    low bits of the narrower type."""
    wide = 64 if dtype is rtorch.int64 else 32
    lo, hi = -(2 ** (wide - 1)), 2 ** (wide - 1)
    i = math.trunc(v) if (not math.isnan(v) and lo - 1 < v < hi) else lo
    i = max(i, lo)
    bits = {rtorch.uint8: 8, rtorch.int8: 8, rtorch.int16: 16, rtorch.int32: 32}.get(dtype, 64)
    i &= (1 << bits) - 1
    signed = dtype is not rtorch.uint8
    return i - (1 << bits) if signed and i >= 1 << (bits - 1) else i


@pytest.mark.parametrize("src", [rtorch.float32, rtorch.float64, rtorch.bfloat16])
@pytest.mark.parametrize("dst", list(INT_LIMITS), ids=str)
def test_out_of_range_float_to_int_casts_as_pytorch_on_x86(src, dst) -> None:
    vals = [0.7, -0.7, 127.9, 255.5, -129.0, 32768.0, 70000.5, 2.5e9, -2.5e9, 1e19]
    vals += [-1e19, 1e30, math.inf, -math.inf, math.nan]
    x = rtorch.tensor(vals, dtype=rtorch.float64).to(src)
    exact = x.double().tolist()
    want = [_x86_cast(v, dst) for v in exact]
    assert x.to(dst).tolist() == want
    big = x.repeat(BIG // len(vals) + 1)  # the parallel, vectorised path
    assert big.to(dst)[: len(vals)].tolist() == want
    assert big.to(dst)[-len(vals) :].tolist() == [
        want[(len(big) - len(vals) + i) % len(vals)] for i in range(len(vals))
    ]


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
def test_acosh_of_huge_values_is_ln_2x(dtype) -> None:
    # ln(x + sqrt(x^2 - 1)) overflowed for float32 3.4e38 (inf; acosh is 89.4).
    top = float(np.finfo(np.float32 if dtype == rtorch.float32 else np.float64).max)
    xs = [2.0**28 * 1.5, 1e30, top, math.inf, 2.0**28 - 1]
    got = rtorch.acosh(rtorch.tensor(xs, dtype=dtype)).tolist()
    want = [math.log(x) + math.log(2) if x != math.inf else math.inf for x in xs[:4]]
    want.append(math.acosh(xs[4]))
    rel = 1e-6 if dtype == rtorch.float32 else 1e-14
    assert got[:3] == pytest.approx(want[:3], rel=rel) and got[3] == math.inf
    assert got[4] == pytest.approx(want[4], rel=rel)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
def test_ndtri_keeps_the_tails(dtype) -> None:
    # sqrt(2) erfinv(2p - 1) gave -inf once 2p - 1 rounded to -1 (float32 below 3e-8).
    ps = [1e-300, 1e-100, 1e-30, 1e-17, 1e-10, 1e-8, 1e-3, 0.02, 0.3, 0.7, 0.9, 1 - 1e-10]
    if dtype == rtorch.float32:
        ps = [p for p in ps if p > 1e-38 and p < 1 - 1e-7]
    got = rtorch.special.ndtri(rtorch.tensor(ps, dtype=dtype)).to(rtorch.float64).tolist()
    # Reference: Φ(x) through math.erfc (accurate in the left tail) maps each back to p.
    for p, x in zip(ps, got):
        t, tail_x = (p, x) if p < 0.5 else (1 - p, -x)
        assert 0.5 * math.erfc(-tail_x / math.sqrt(2)) == pytest.approx(
            t, rel=2e-6 if dtype == rtorch.float32 else 1e-12
        )
    edges = rtorch.tensor([0.0, 0.5, 1.0, -1e-30, 1.5, math.nan], dtype=dtype)
    e = rtorch.special.ndtri(edges).tolist()
    assert e[:3] == [-math.inf, 0.0, math.inf] and all(math.isnan(v) for v in e[3:])


def test_spherical_bessel_j0_of_infinities_is_zero() -> None:
    got = rtorch.special.spherical_bessel_j0(rtorch.tensor([math.inf, -math.inf, 0.0]))
    assert got.tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("upper", [False, True])
def test_incomplete_gamma_special_values_in_pytorch_order(upper) -> None:
    # PyTorch's rules, first match wins: a or x < 0 -> NaN; a = 0 -> P = 1 for x > 0
    # else NaN; x = 0 -> P = 0 (even for a NaN); a = inf -> P = 0, NaN for x = inf;
    # x = inf -> P = 1; other NaN arguments give NaN.
    inf, nan = math.inf, math.nan
    cases = [
        (-1.0, 1.0, nan), (1.0, -1.0, nan), (0.0, 2.0, 1.0), (0.0, 0.0, nan), (0.0, nan, nan),
        (nan, 0.0, 0.0), (2.0, 0.0, 0.0), (inf, inf, nan), (inf, 3.0, 0.0), (inf, nan, 0.0),
        (3.0, inf, 1.0), (nan, inf, 1.0), (nan, 2.0, nan), (2.0, nan, nan),
    ]  # fmt: skip
    a = rtorch.tensor([c[0] for c in cases], dtype=rtorch.float64)
    x = rtorch.tensor([c[1] for c in cases], dtype=rtorch.float64)
    got = (rtorch.igammac if upper else rtorch.igamma)(a, x).tolist()
    for (ca, cx, p), g in zip(cases, got):
        want = p if (math.isnan(p) or not upper) else 1 - p
        assert (math.isnan(g) and math.isnan(want)) or g == want, (ca, cx, g, want)
