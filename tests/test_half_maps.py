"""Floating unary ops and add/sub/mul/div on float16/bfloat16: computed in float32
blocks and rounded once (`unary_map_half`, `binary_map_half`). Every layout the walk special-cases: contiguous with tails around
the 256-element block and above the parallel grain size, transposed, stepped, expanded
and in place. Reference: numpy in float64 on the same half inputs, rounded to the half
type; rtorch may differ from it by at most one unit in the last place (its float32
kernel is within 2 float32 ulp, which can move a result across a half rounding
boundary, never further)."""

import numpy as np
import pytest

import rtorch

OPS = {
    # with a vectorised float32 kernel
    "exp": (np.exp, (-8, 8)),
    "log": (np.log, (0.01, 50)),
    "tanh": (np.tanh, (-4, 4)),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), (-10, 10)),
    # scalar float32 kernels
    "sin": (np.sin, (-6, 6)),
    "sqrt": (np.sqrt, (0, 100)),
    "expm1": (np.expm1, (-2, 2)),
}


def bf16_round(x: np.ndarray) -> np.ndarray:
    """float64 -> bfloat16 (round to nearest even), returned as float64."""
    b = x.astype(np.float32).view(np.uint32).astype(np.int64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) >> 16 << 16
    return b.astype(np.uint32).view(np.float32).astype(np.float64)


def half_round(x: np.ndarray, dtype) -> np.ndarray:
    if dtype == rtorch.float16:
        return x.astype(np.float16).astype(np.float64)
    return bf16_round(x)


def ulp(x: np.ndarray, dtype) -> np.ndarray:
    mant = 10 if dtype == rtorch.float16 else 7
    tiny = 2.0**-24 if dtype == rtorch.float16 else 2.0**-133
    e = np.floor(np.log2(np.maximum(np.abs(x), tiny)))
    return np.maximum(2.0 ** (e - mant), tiny)


def check(got: rtorch.Tensor, x64: np.ndarray, name: str, dtype) -> None:
    fn = OPS[name][0]
    want = half_round(fn(x64), dtype)
    g = got.to(rtorch.float64).numpy()
    assert got.dtype == dtype
    err = np.abs(g - want)
    assert np.all(err <= ulp(want, dtype)), (name, float(err.max()))


def make(n, dtype, rng_range, seed=0):
    lo, hi = rng_range
    vals = np.random.default_rng(seed).uniform(lo, hi, size=n)
    t = rtorch.tensor(vals).to(dtype)
    return t, t.to(rtorch.float64).numpy()


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16], ids=str)
@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("n", [0, 1, 255, 256, 257, 1000, 40_000])
def test_contiguous_and_in_place(name, dtype, n):
    t, x = make(n, dtype, OPS[name][1])
    check(getattr(rtorch, name)(t), x, name, dtype)
    y = t.clone()
    assert getattr(y, name + "_")() is y
    check(y, x, name, dtype)


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16], ids=str)
@pytest.mark.parametrize("name", sorted(OPS))
def test_strided_layouts(name, dtype):
    t, _ = make(300 * 140, dtype, OPS[name][1], seed=1)
    m = t.view(300, 140)
    for view in (m.t(), m[:, ::3], m[::2, 5:], m[7].expand(260, 140)):
        x = view.to(rtorch.float64).numpy()
        check(getattr(rtorch, name)(view), x, name, dtype)
    # In place on a transposed (dense, permuted) and a stepped view.
    for view in (m.clone().t(), m.clone()[:, ::2]):
        x = view.to(rtorch.float64).numpy()
        getattr(view, name + "_")()
        check(view, x, name, dtype)


def test_special_values_round_once():
    h = rtorch.tensor([float("inf"), -float("inf"), float("nan"), 0.0, -0.0, 11.1])
    for dtype in (rtorch.float16, rtorch.bfloat16):
        e = rtorch.exp(h.to(dtype)).to(rtorch.float64).numpy()
        assert e[0] == np.inf and e[1] == 0 and np.isnan(e[2]) and e[3] == e[4] == 1
    # e^11.1 ~ 66171 overflows float16 (max 65504) but not bfloat16.
    assert rtorch.exp(rtorch.tensor([11.1], dtype=rtorch.float16)).item() == float("inf")
    assert rtorch.exp(rtorch.tensor([11.1], dtype=rtorch.bfloat16)).item() > 65504


BINARY = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
}
# Products and quotients of two half values are rounded once either way: exact.
EXACT = {"mul", "div"}


def check_binary(got, x64, y64, name, dtype, alpha=1):
    g = got.to(rtorch.float64).numpy()
    assert got.dtype == dtype
    if alpha != 1:
        # PyTorch's add kernel rounds alpha to the half type, then computes
        # x + alpha * y in float32 and rounds once (measured against PyTorch 2.15:
        # 0 of 20,000 differ from this, 1,924 from an unrounded alpha).
        a32 = np.float32(half_round(np.array(alpha), dtype))
        x32, y32 = x64.astype(np.float32), y64.astype(np.float32)
        want = half_round(BINARY[name](x32, a32 * y32).astype(np.float64), dtype)
        np.testing.assert_array_equal(g, want)
        return
    want = half_round(BINARY[name](x64, y64), dtype)
    if name in EXACT:
        np.testing.assert_array_equal(g, want)
        return
    assert np.all(np.abs(g - want) <= ulp(want, dtype)), name


def pair(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rtorch.tensor(rng.uniform(-4, 4, size=shape)).to(dtype)
    y = rtorch.tensor(rng.uniform(0.25, 4, size=shape) * rng.choice([-1, 1], size=shape))
    return x, y.to(dtype)


def f64(t):
    return t.to(rtorch.float64).numpy()


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16], ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("n", [0, 1, 255, 257, 40_000])
def test_binary_contiguous_and_in_place(name, dtype, n):
    x, y = pair((n,), dtype, n)
    check_binary(getattr(rtorch, name)(x, y), f64(x), f64(y), name, dtype)
    z = x.clone()
    getattr(z, name + "_")(y)
    check_binary(z, f64(x), f64(y), name, dtype)
    if name in ("add", "sub"):
        check_binary(getattr(rtorch, name)(x, y, alpha=0.3), f64(x), f64(y), name, dtype, 0.3)


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16], ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_strided_and_broadcast(name, dtype):
    x, y = pair((300, 140), dtype, 3)
    for a, b in [
        (x.t(), y.t()),  # both transposed: dense permutation, flat walk
        (x.t(), y.reshape(140, 300)),  # one transposed
        (x[:, ::3], y[:, 1::3]),  # stepped
        (x, y[5]),  # a broadcast row
        (x[:, :1], y),  # a broadcast column
        (x, y[7, 9]),  # a 0-dim tensor
    ]:
        check_binary(getattr(rtorch, name)(a, b), f64(a), f64(b), name, dtype)
    out = rtorch.empty(0, dtype=dtype)
    getattr(rtorch, name)(x[:, ::2], y[:, ::2], out=out)
    check_binary(out, f64(x[:, ::2]), f64(y[:, ::2]), name, dtype)


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16], ids=str)
def test_casts_to_and_from_float32_all_layouts(dtype):
    # Every half value widens exactly; float32 values round to nearest even once.
    bits = np.arange(65536, dtype=np.uint32)
    with np.errstate(invalid="ignore"):  # signalling NaN patterns
        if dtype == rtorch.float16:
            every = bits.astype(np.uint16).view(np.float16).astype(np.float64)
        else:
            every = (bits << 16).view(np.float32).astype(np.float64)
    h = rtorch.tensor(every).to(dtype)  # exact: each value is a half value
    w = h.to(rtorch.float32).numpy().astype(np.float64)
    np.testing.assert_array_equal(np.isnan(w), np.isnan(every))
    fin = ~np.isnan(every)
    np.testing.assert_array_equal(w[fin], every[fin])
    v = np.random.default_rng(9).standard_normal(40_000) * 10.0 ** np.random.default_rng(
        10
    ).uniform(-6, 4, 40_000)
    x = rtorch.tensor(v, dtype=rtorch.float32)
    want = half_round(x.numpy().astype(np.float64), dtype)
    for view in (x, x.view(200, 200).t(), x[::3]):
        got = view.to(dtype).to(rtorch.float64).numpy()
        ref = want if view is x else half_round(view.numpy().astype(np.float64), dtype)
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16], ids=str)
@pytest.mark.parametrize("name", ["relu", "abs", "neg", "floor", "round", "sign"])
def test_exact_unary_ops_on_half_types(name, dtype):
    v = np.random.default_rng(11).uniform(-50, 50, 40_001)
    x = rtorch.tensor(v).to(dtype)
    x64 = x.to(rtorch.float64).numpy()
    ref = {
        "relu": np.maximum(x64, 0),
        "abs": np.abs(x64),
        "neg": -x64,
        "floor": np.floor(x64),
        "round": np.round(x64),
        "sign": np.sign(x64),
    }[name]
    fn = getattr(rtorch, name)
    for view, r in ((x, ref), (x[1:].view(200, 200).t(), ref[1:].reshape(200, 200).T)):
        got = fn(view)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got.to(rtorch.float64).numpy(), half_round(r, dtype))


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16], ids=str)
def test_neg_and_abs_of_half_special_values(dtype):
    # The sign bit alone changes: zeros, infinities, subnormals and NaN (its sign, as
    # PyTorch's neg), in place too.
    v = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-7, -3.5])
    x = rtorch.tensor(v).to(dtype)
    for got, want in ((-x, -v), (x.neg(), -v), (x.abs(), np.abs(v))):
        g = got.to(rtorch.float64).numpy()
        np.testing.assert_array_equal(np.signbit(g), np.signbit(half_round(want, dtype)))
        np.testing.assert_array_equal(g, half_round(want, dtype))
    # In place (a multiplication by -1: a NaN keeps its sign there).
    y = x.clone()
    y.neg_()
    got = y.to(rtorch.float64).numpy()
    np.testing.assert_array_equal(got, x.neg().to(rtorch.float64).numpy())
    finite = ~np.isnan(v)
    np.testing.assert_array_equal(np.signbit(got[finite]), np.signbit(-v[finite]))


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16], ids=str)
@pytest.mark.parametrize("n", [1, 1000, 1025, 70_000, 300_001])
def test_half_sums_accumulate_in_float32(dtype, n):
    # Blocks of 1024 widened and summed pairwise in float32, chunks of 65,536 per
    # thread: within float32's pairwise error of the float64 sum, then rounded once to
    # the half type; the same bits for any thread count.
    from conftest import with_threads

    x = rtorch.tensor(np.random.default_rng(n).uniform(-1, 1.1, n)).to(dtype)  # fits float16
    x64 = x.to(rtorch.float64).numpy()
    one, two = (with_threads(k, lambda: x.sum().to(rtorch.float64).item()) for k in (1, 2))
    assert one == two
    exact = x64.sum()
    # The float32 sum is within 1e-6 of sum|x|; rounding it to the half type adds one ulp.
    tol = 1e-6 * np.abs(x64).sum() + ulp(np.array([exact]), dtype)[0]
    assert abs(two - exact) <= tol
    # Over a dim (one block per output element), every layout.
    m = x[: (n // 7) * 7].view(7, n // 7)
    for t, d in ((m, 1), (m.t(), 0)):
        got = t.sum(d).to(rtorch.float64).numpy()
        ref = t.to(rtorch.float64).numpy().sum(d)
        bound = 1e-6 * np.abs(t.to(rtorch.float64).numpy()).sum(d) + ulp(ref, dtype)
        assert np.all(np.abs(got - ref) <= bound)


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16])
@pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin"])
def test_half_extrema_match_float32(dtype, name):
    # Computed in float32 blocks: exact (each result is one of its inputs), NaN rules
    # (maximum/minimum propagate NaN, fmax/fmin prefer the number) and signed zeros as
    # in float32, broadcast and strided operands, above the parallel grain.
    rng = np.random.default_rng(2)
    a = rng.standard_normal((300, 257)).astype(np.float32)
    b = rng.standard_normal((300, 257)).astype(np.float32)
    a[0, :6] = [np.nan, 1.0, np.nan, 0.0, -0.0, np.inf]
    b[0, :6] = [2.0, np.nan, np.nan, -0.0, 0.0, -np.inf]
    x = rtorch.tensor(a).to(dtype)
    y = rtorch.tensor(b).to(dtype)
    f = getattr(rtorch, name)
    for xx, yy in [(x, y), (x.t().contiguous().t(), y), (x, y[:1])]:
        got = f(xx, yy)
        assert got.dtype == dtype
        ref = f(xx.float(), yy.float()).to(dtype)
        np.testing.assert_array_equal(got.float().numpy(), ref.float().numpy())
        np.testing.assert_array_equal(
            np.signbit(got.float().numpy()), np.signbit(ref.float().numpy())
        )


def bf16_exact(x: np.ndarray) -> np.ndarray:
    """float32 values rounded to bfloat16 as the kernels do (nearest even; a NaN stays
    a quiet NaN with its sign and top payload bits), as float32."""
    b = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    r = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint32)
    r = np.where(np.isnan(x), (b >> 16).astype(np.uint32) | 0x40, r)
    return (r << 16).astype(np.uint32).view(np.float32)


FLAT_OPS = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "fmax": np.fmax,
    "fmin": np.fmin,
    "div": np.divide,
    "copysign": np.copysign,
}


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16], ids=str)
@pytest.mark.parametrize("name", sorted(FLAT_OPS))
@pytest.mark.parametrize("n", [1, 17, 2 * 32768 + 33])
def test_half_flat_one_pass_is_float32_rounded_once(name, dtype, n):
    # 16-bit operands that run flat take one pass (conversions and the op inlined; fmax
    # and fmin keep the float32 blocks): bit for bit numpy's float32 op on the same
    # values, rounded once (float16: where the result is not NaN; NaN where it is).
    # Ties, the largest finite values (their sum overflows), infinities, NaN, signed
    # zeros and subnormals; lengths with a tail and above the parallel grain; the result
    # into a fresh tensor, into x, into y, and on both operands transposed.
    rng = np.random.default_rng(n)
    big = 65504.0 if dtype == rtorch.float16 else 3.3895e38
    tiny = 2.0**-20 if dtype == rtorch.float16 else 1e-40
    special = np.array(
        [1.0, 1 + 2**-8, big, -big, np.inf, -np.inf, np.nan, 0.0, -0.0, tiny], dtype=np.float32
    )
    xs = np.concatenate([special, rng.normal(size=n).astype(np.float32) * 8])[-n:]
    ys = np.concatenate([special[::-1], rng.normal(size=n).astype(np.float32)])[-n:]
    x = rtorch.from_numpy(xs).to(dtype)
    y = rtorch.from_numpy(ys).to(dtype)
    x32, y32 = x.float().numpy(), y.float().numpy()
    with np.errstate(all="ignore"):
        exact = FLAT_OPS[name](x32, y32)
        want = bf16_exact(exact) if dtype == rtorch.bfloat16 else exact.astype(np.float16)
    want = want.astype(np.float32)
    op = getattr(rtorch, name)

    def same(got):
        g = got.float().numpy()
        assert got.dtype == dtype
        if dtype == rtorch.float16:
            # (numpy's float16 NaN keeps other payload bits than F16C's.)
            np.testing.assert_array_equal(np.isnan(g), np.isnan(want))
            g, w = np.nan_to_num(g, nan=7.0), np.nan_to_num(want, nan=7.0)
            np.testing.assert_array_equal(g.view(np.uint32), w.view(np.uint32))
        else:
            np.testing.assert_array_equal(g.view(np.uint32), want.view(np.uint32))

    same(op(x, y))
    into_x, into_y = x.clone(), y.clone()
    same(op(into_x, y, out=into_x))
    same(op(x, into_y, out=into_y))
    if n % 17 == 0:
        m = n // 17
        same(op(x.view(m, 17).t(), y.view(m, 17).t()).t().reshape(-1))


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16], ids=str)
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "maximum", "copysign"])
@pytest.mark.parametrize("shape", [(3, 17), (5, 64), (7, 1000), (70, 1001)])
def test_half_row_broadcast_is_float32_rounded_once(name, dtype, shape):
    # A right operand broadcast as one row of the last dim (`m + bias`) runs the
    # one-pass loops row by row (rows of 64 and more; shorter ones the blocked walk):
    # bit for bit numpy's float32 op rounded once, into a fresh tensor and in place,
    # for rows whose chunks start and end inside a row (70 x 1001 is above the grain).
    rng = np.random.default_rng(shape[1])
    xs = (rng.normal(size=shape) * 8).astype(np.float32)
    rs = rng.normal(size=shape[1]).astype(np.float32)
    rs[:3] = [0.0, -0.0, np.inf]
    x = rtorch.from_numpy(xs).to(dtype)
    row = rtorch.from_numpy(rs).to(dtype)
    x32, r32 = x.float().numpy(), row.float().numpy()
    with np.errstate(all="ignore"):
        exact = FLAT_OPS[name](x32, r32[None, :])
        want = bf16_exact(exact) if dtype == rtorch.bfloat16 else exact.astype(np.float16)
    want = want.astype(np.float32)
    op = getattr(rtorch, name)
    for got in [op(x, row), op(x, row.expand(shape)), op(x.clone(), row, out=None)]:
        assert got.dtype == dtype and tuple(got.shape) == shape
        g = got.float().numpy()
        np.testing.assert_array_equal(np.isnan(g), np.isnan(want))
        g, w = np.nan_to_num(g, nan=7.0), np.nan_to_num(want, nan=7.0)
        np.testing.assert_array_equal(g.view(np.uint32), w.view(np.uint32))
    inplace = x.clone()
    op(inplace, row, out=inplace)
    g = np.nan_to_num(inplace.float().numpy(), nan=7.0)
    np.testing.assert_array_equal(g.view(np.uint32), np.nan_to_num(want, nan=7.0).view(np.uint32))


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16])
def test_doubles_round_to_half_types_through_float32(dtype):
    # PyTorch builds Half and BFloat16 from a float: a Python float (a double) rounds to
    # float32 first, then to the half type, so a value just past a half-type tie lands
    # on the tie and rounds to even (the values PyTorch 2.15 gives). Creation, the
    # float64 cast (short and long enough for the blocked path) and add's alpha alike.
    vals = [
        1 + 2**-11 + 2**-40,  # float16's tie after 1
        -(1 + 2**-11 + 2**-40),
        65519.999999,  # float32 65520: float16's overflow tie -> inf
        65519.99,
        2**-25 + 2**-60,  # half float16's smallest subnormal: the tie to 0
        3 * 2**-26 + 2**-50,
        1 + 2**-8 + 2**-40,  # bfloat16's tie after 1
        1e-40,
    ]
    want = {
        rtorch.float16: [1.0, -1.0, np.inf, 65504.0, 0.0, 2**-24, 1.00390625, 0.0],
        rtorch.bfloat16: [
            1.0,
            -1.0,
            65536.0,
            65536.0,
            2**-25,
            3 * 2**-26,
            1.0,
            9.183549615799121e-41,
        ],
    }[dtype]
    assert rtorch.tensor(vals, dtype=dtype).tolist() == want
    assert rtorch.tensor(vals, dtype=rtorch.float64).to(dtype).tolist() == want
    long = rtorch.tensor(vals * 300, dtype=rtorch.float64).to(dtype)
    assert long.tolist()[-len(vals) :] == want
    assert rtorch.full((2,), vals[0], dtype=dtype).tolist() == [want[0]] * 2
    # alpha rounds to 1.0: 1 + 1.0 * b, not 1 + (1 + ulp) * b.
    b = 1024.0 if dtype == rtorch.float16 else 128.0
    alpha = vals[0] if dtype == rtorch.float16 else vals[6]
    got = rtorch.ones(3, dtype=dtype).add(rtorch.full((3,), b, dtype=dtype), alpha=alpha)
    assert got.tolist() == [b + 1] * 3


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_half_mean_divides_the_float32_sum(dtype, dim):
    # PyTorch: cast to float32, sum, divide, round once. A sum rounded to float16 first
    # overflowed here (200,000 squares near 9 sum to 1.8e6) and rounded twice.
    a = np.random.default_rng(8).standard_normal((40000, 5)) * 3
    x = rtorch.tensor(a * a, dtype=dtype)
    got = x.mean() if dim is None else x.mean(dim)
    assert got.dtype == dtype
    ref = x.double().numpy().mean(axis=dim)
    g = got.double().numpy()
    ulp = 2.0 ** (np.floor(np.log2(np.abs(ref))) - (10 if dtype == rtorch.float16 else 7))
    assert np.isfinite(g).all() and (np.abs(g - ref) <= ulp).all(), (g, ref)
    w = x.clone().requires_grad_()
    w.mean().backward()
    assert w.grad.dtype == dtype
    assert w.grad[0, 0].item() == pytest.approx(1 / x.numel(), rel=2**-7)
