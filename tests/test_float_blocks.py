"""Floating binary, tensor-by-number and ternary ops (atan2, copysign, fmod, hypot, lerp,
pow, addcmul, addcdiv) on float32, float16 and bfloat16: computed in float32 blocks
whose loops are compiled for the widest vector unit in use (``binary_map_half``,
``unary_map_half`` and ``ternary_map_half`` on float32 as well). Every layout the walk
special-cases: contiguous with tails around the 1024-element block and above the
parallel grain size, transposed, stepped, expanded and in place; the same bits at every
SIMD level and thread count. Reference: numpy in float64 on the same inputs."""

import numpy as np
import pytest
from conftest import run_script

import rtorch

DTYPES = [rtorch.float32, rtorch.float16, rtorch.bfloat16]
# Relative size of one rounding to each dtype.
UNIT = {rtorch.float32: 2.0**-24, rtorch.float16: 2.0**-11, rtorch.bfloat16: 2.0**-8}
SIZES = [0, 1, 1023, 1024, 1025, 40_000]


def f64(t: rtorch.Tensor) -> np.ndarray:
    return t.to(rtorch.float64).numpy()


def inputs(n: int, dtype, seed: int = 0) -> list[rtorch.Tensor]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-4, 4, n)
    y = rng.uniform(0.5, 3, n) * rng.choice([-1.0, 1.0], n)
    z = rng.uniform(0.5, 2, n)
    return [rtorch.tensor(v).to(dtype) for v in (x, y, z)]


# name -> (rtorch call, float64 reference, magnitude that bounds the float32 error)
OPS = {
    "atan2": (lambda x, y, z: rtorch.atan2(x, y), lambda x, y, z: np.arctan2(x, y), None),
    "copysign": (lambda x, y, z: rtorch.copysign(x, y), lambda x, y, z: np.copysign(x, y), None),
    "fmod": (lambda x, y, z: rtorch.fmod(x, y), lambda x, y, z: np.fmod(x, y), None),
    "hypot": (lambda x, y, z: rtorch.hypot(x, y), lambda x, y, z: np.hypot(x, y), None),
    "lerp_number": (
        lambda x, y, z: rtorch.lerp(x, y, 0.3),
        lambda x, y, z: x + 0.3 * (y - x),
        lambda x, y, z: np.abs(x) + np.abs(y),
    ),
    "pow_number": (lambda x, y, z: z**1.5, lambda x, y, z: z**1.5, None),
    "fmod_number": (lambda x, y, z: rtorch.fmod(x, 0.75), lambda x, y, z: np.fmod(x, 0.75), None),
    "addcmul": (
        lambda x, y, z: rtorch.addcmul(x, y, z, value=0.5),
        lambda x, y, z: x + 0.5 * y * z,
        lambda x, y, z: np.abs(x) + np.abs(0.5 * y * z),
    ),
    "addcdiv": (
        lambda x, y, z: rtorch.addcdiv(x, y, z, value=0.5),
        lambda x, y, z: x + 0.5 * y / z,
        lambda x, y, z: np.abs(x) + np.abs(0.5 * y / z),
    ),
    "lerp_tensor": (
        lambda x, y, z: rtorch.lerp(x, y, z - 1),
        lambda x, y, z: x + (z - 1) * (y - x),
        lambda x, y, z: np.abs(x) + np.abs(y),
    ),
}
IN_PLACE = {
    "lerp_number": lambda x, y, z: x.lerp_(y, 0.3),
    "addcmul": lambda x, y, z: x.addcmul_(y, z, value=0.5),
    "addcdiv": lambda x, y, z: x.addcdiv_(y, z, value=0.5),
    "atan2": lambda x, y, z: x.atan2_(y),
}


def check(got: rtorch.Tensor, args64: list[np.ndarray], name: str, dtype) -> None:
    _, ref, mag = OPS[name]
    want = ref(*args64)
    # float32: a few roundings of the formula (on the magnitude of its terms where they
    # can cancel); the 16-bit types: one rounding of that result to their type.
    m = np.abs(want) if mag is None else mag(*args64)
    bound = 4 * 2.0**-24 * m + UNIT[dtype] * np.abs(want) + 1e-30
    if dtype == rtorch.float16:
        bound += 2.0**-25  # float16 subnormals
    assert got.dtype == dtype
    err = np.abs(f64(got) - want)
    assert np.all(err <= bound), (name, dtype, float(np.max(err - bound)))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("n", SIZES)
def test_contiguous_and_in_place(name, dtype, n):
    args = inputs(n, dtype)
    args64 = [f64(a) for a in args]
    check(OPS[name][0](*args), args64, name, dtype)
    if name in IN_PLACE:
        x = args[0].clone()
        out = IN_PLACE[name](x, *args[1:])
        assert out is x
        check(x, args64, name, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", sorted(OPS))
def test_strided_and_broadcast_layouts(name, dtype):
    call = OPS[name][0]
    x, y, z = (t.reshape(60, 50) for t in inputs(3000, dtype, seed=1))
    # transposed and stepped views
    views = [x.t(), y.t(), z.t()]
    check(call(*views), [f64(v) for v in views], name, dtype)
    views = [x[::2, 1::3], y[1::2, ::3], z[::2, ::3]]
    check(call(*views), [f64(v) for v in views], name, dtype)
    # one operand expanded along each dimension, one row of 50
    views = [x, y[:1].expand(60, 50), z[:, :1].expand(60, 50)]
    check(call(*views), [f64(v) for v in views], name, dtype)
    if name in IN_PLACE:
        # in place into a transposed view
        base = x.clone()
        target = base.t()
        want = [f64(target), f64(y.t()), f64(z.t())]
        IN_PLACE[name](target, y.t(), z.t())
        check(target, want, name, dtype)


@pytest.mark.parametrize("name", sorted(OPS))
def test_float32_direct_and_buffered_walks_give_the_same_bits(name):
    # Flat float32 computes straight in the output (one copy per block); strided float32
    # gathers every operand into blocks. One value, one result, whatever the layout:
    # sizes with a tail past the block, above the parallel grain, and transposed-dense.
    call = OPS[name][0]
    for n in (1025, 40_003):
        args = inputs(n, rtorch.float32, seed=2)
        flat = call(*args)
        stepped = [rtorch.stack([a, a], dim=1)[:, 0] for a in args]
        assert stepped[0].stride() == (2,)
        assert rtorch.equal(call(*stepped), flat), (name, n)
    x, y, z = (t.reshape(200, 200) for t in inputs(40_000, rtorch.float32, seed=3))
    got = call(x.t(), y.t(), z.t())
    assert rtorch.equal(got, call(x, y, z).t()), name


BINARY_ROWS = {
    "div": lambda x, y: x / y,
    "atan2": rtorch.atan2,
    "copysign": rtorch.copysign,
    "fmod": rtorch.fmod,
    "hypot": rtorch.hypot,
}


_LONG_ROWS_BY_A_COLUMN = """
import numpy as np, rtorch
rng = np.random.default_rng(5)
# Rows longer than half a block against a column: one pass with the row's value in a
# register, a row at a time, 16 lanes at a time and then the row's last partial piece
# (above the parallel grain from 40 x 1001 on).
for rows, cols in ((3, 528), (40, 1024), (50, 2048), (2, 4096), (5, 1000), (40, 1001), (4, 527)):
    a = rng.standard_normal((rows, cols)).astype(np.float32)
    col = rng.standard_normal((rows, 1)).astype(np.float32)
    col[0] = -0.0
    x, c = rtorch.tensor(a), rtorch.tensor(col)
    for n in (1, 2):
        rtorch.set_num_threads(n)
        assert np.array_equal((x / c).numpy(), a / col, equal_nan=True), (rows, cols, n)
        got = rtorch.copysign(x, c).numpy()
        assert np.array_equal(got, np.copysign(a, col)), (rows, cols, n)
print("ok")
"""


@pytest.mark.parametrize("level", ["widest", "avx2", "default"])
def test_long_rows_against_a_column_are_numpys_at_every_level(level):
    """`x / col` and `copysign(x, col)` on float32 rows of 527 to 4096: exactly numpy's
    (IEEE division, a zero divisor's sign included), on one thread and two, at each SIMD
    level."""
    env = {} if level == "widest" else {"RTORCH_CPU_CAPABILITY": level}
    assert run_script(_LONG_ROWS_BY_A_COLUMN, **env) == ["ok"]


@pytest.mark.parametrize("cols", [7, 1024, 2500])
@pytest.mark.parametrize("name", sorted(BINARY_ROWS))
def test_float32_rows_computed_in_the_output_give_the_same_bits(name, cols):
    """Strided float32 walks whose rows are unit-stride in the output and the first input
    compute each row in the output, the second input read in place or (broadcast) from
    a filled block: rows shorter than, equal to and longer than the 1024-element block.
    The same bits as the contiguous (flat) computation; division exactly numpy's."""
    call = BINARY_ROWS[name]
    x, y, _ = inputs(40 * (cols + 3), rtorch.float32, seed=4)
    x, y = x.reshape(40, cols + 3), y.reshape(40, cols + 3)
    col = y[:, 1:2]  # a column broadcast along each row (stride 0)
    want = call(x[:, :cols].contiguous(), col.expand(40, cols).contiguous())
    assert rtorch.equal(call(x[:, :cols], col), want)
    if name == "div":
        assert np.array_equal(want.numpy(), x[:, :cols].numpy() / col.numpy())
        # in place into rows of a wider tensor, by a column and by a row slice
        base = x.clone()
        base[:, 2:].div_(col)
        assert rtorch.equal(base[:, 2:], call(x[:, 2:].contiguous(), col.expand(40, cols + 1)))
        assert rtorch.equal(base[:, :2], x[:, :2])
    # both inputs sliced: unit-stride rows that are not one flat run
    want = call(x[:, 3:].contiguous(), y[:, :cols].contiguous())
    assert rtorch.equal(call(x[:, 3:], y[:, :cols]), want)
    # a row broadcast down the columns of a transposed target: not unit-stride, buffered
    assert rtorch.equal(call(x.t()[:cols], col.t()), call(x.t()[:cols].contiguous(), col.t()))


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16], ids=str)
def test_half_broadcast_operand_fills_its_block(dtype):
    x, y, _ = (t.reshape(30, 100) for t in inputs(3000, dtype, seed=5))
    col = y[:, :1]
    got = x / col
    want = (x.to(rtorch.float32) / col.to(rtorch.float32)).to(dtype)
    assert rtorch.equal(got, want)


def test_thread_count_does_not_change_bits():
    args = inputs(300_001, rtorch.float32, seed=2)
    before = rtorch.get_num_threads()
    try:
        results = []
        for threads in (1, 2, 3):
            rtorch.set_num_threads(threads)
            results.append([OPS[name][0](*args) for name in sorted(OPS)])
    finally:
        rtorch.set_num_threads(before)
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            assert rtorch.equal(a, b)


# Unary ops whose float32 formula is compiled per level (no slice kernel of their own);
# their values are tested with the activations and math functions.
UNARY_LEVELS = [
    lambda x: rtorch.nn.functional.gelu(x, approximate="tanh"),
    lambda x: rtorch.nn.functional.hardsigmoid(x),
    lambda x: x.frac(),
    lambda x: (x / 5).asin(),
    lambda x: (x / 5).acos(),
    lambda x: (x / 5).atanh(),
    lambda x: (x / 5).erfinv(),
    lambda x: x.abs().sqrt(),
    lambda x: x.reciprocal(),
    lambda x: x * 2.5,
    lambda x: x.relu(),
    # float64 row reductions compiled per level
    lambda x: x.reshape(50, 100).norm(dim=1),
    lambda x: x.reshape(50, 100).std(dim=1),
]

# Unary ops computed by blocks through a slice kernel with an FMA form (expm1, exp, log1p:
# float32 with fused multiply-adds on AVX2 and AVX-512, float64 on the baseline): the
# same bits on the two FMA levels (the same operations 8 or 16 wide).
FMA_LEVELS = [
    lambda x: rtorch.nn.functional.softplus(x),
    lambda x: rtorch.nn.functional.elu(x),
    lambda x: rtorch.nn.functional.selu(x),
    lambda x: rtorch.nn.functional.logsigmoid(x),
]

_LEVEL_SCRIPT = """
import hashlib, os, sys
sys.path.insert(0, sys.argv[1])
import rtorch
from test_float_blocks import DTYPES, FMA_LEVELS, OPS, UNARY_LEVELS, inputs
fma_only = os.environ.get("RTORCH_TEST_DIGEST") == "fma"
h = hashlib.sha256()
for dtype in DTYPES:
    args = inputs(5000, dtype, seed=3)
    if fma_only:
        results = [f(args[0]) for f in FMA_LEVELS]
    else:
        results = [OPS[name][0](*args) for name in sorted(OPS)]
        results += [f(args[0]) for f in UNARY_LEVELS]
    for r in results:
        h.update(r.to(rtorch.float64).numpy().tobytes())
print(h.hexdigest())
"""


def _digest(which: str = "all", **env: str) -> list[str]:
    return run_script(_LEVEL_SCRIPT, RTORCH_TEST_DIGEST=which, **env)


def test_every_simd_level_gives_the_same_bits():
    """The loops compiled for AVX-512, AVX2 and the baseline give the same bits: no
    contraction into fused multiply-adds (the formulas' own `mul_add` is exact at every
    level)."""
    best = _digest()
    assert _digest(RTORCH_CPU_CAPABILITY="avx2") == best
    assert _digest(RTORCH_CPU_CAPABILITY="default") == best


def test_fma_levels_give_the_same_bits():
    if rtorch._C._cpu_capability()[1] == "default":
        pytest.skip("no FMA level on this CPU")
    assert _digest("fma", RTORCH_CPU_CAPABILITY="avx2") == _digest("fma")


def test_fmod_and_remainder_exact_where_the_fast_form_declines():
    """fmod's float64-quotient form answers quotients below 2^29 and declines the rest
    (huge quotients, zero divisors, infinities, NaN) to the exact loop, within the same
    block: every value as numpy's (exact) fmod and remainder."""
    x = np.array([1e30, 5.5, -7.25, np.inf, 3.0, 1e-3, -0.0, 2.0**40, np.nan, -1e38], np.float32)
    y = np.array([1e-10, 2.0, 0.5, 1.0, 0.0, np.inf, 1.0, 3.0, 1.0, -3e-7], np.float32)
    x, y = np.tile(x, 300), np.tile(y, 300)
    for dtype in (rtorch.float32, rtorch.float16):
        a, b = rtorch.from_numpy(x).to(dtype), rtorch.from_numpy(y).to(dtype)
        # numpy in float32 on the values as stored, the result rounded to the dtype.
        a32, b32 = a.float().numpy(), b.float().numpy()
        with np.errstate(all="ignore"):
            wf, wr = np.fmod(a32, b32), np.remainder(a32, b32)
        got = rtorch.fmod(a, b)
        np.testing.assert_array_equal(got.float().numpy(), rtorch.from_numpy(wf).to(dtype).float())
        assert np.array_equal(np.signbit(got.float().numpy()), np.signbit(wf))
        got = rtorch.remainder(a, b)
        np.testing.assert_array_equal(got.float().numpy(), rtorch.from_numpy(wr).to(dtype).float())


def test_pow_special_cases_in_the_same_block_as_the_fast_form():
    """pow's float64 form answers nonzero finite bases (a negative one: the sign by the
    exponent's parity, NaN for one that is not an integer); zeros, infinities and NaN
    go to libm within the same block: those exactly as numpy's powf, the rest within
    one rounding of float64's pow."""
    x = np.array([0.0, -0.0, -2.0, -2.0, np.inf, -np.inf, np.nan, 1.0, 2.5, 1e-40, 7.0, 0.3])
    y = np.array([2.0, -1.0, 3.0, 0.5, -1.0, 3.0, 0.0, np.nan, 1.7, 0.5, 0.0, -41.5])
    x = np.concatenate([x, [-1.5, -1.5, -0.7, -3.0, -3.0, -1e-30, -2.0]])
    y = np.concatenate([y, [4.0, -3.0, 2.5, 16777215.0, 16777216.0, -2.0, -149.0]])
    x, y = np.tile(x, 200).astype(np.float32), np.tile(y, 200).astype(np.float32)
    got = rtorch.pow(rtorch.from_numpy(x), rtorch.from_numpy(y)).numpy()
    with np.errstate(all="ignore"):
        want32 = np.power(x, y)
        want64 = np.power(x.astype(np.float64), y.astype(np.float64))
    special = ~((x != 0) & np.isfinite(x) & np.isfinite(y))
    np.testing.assert_array_equal(got[special], want32[special])
    ok = ~special
    np.testing.assert_array_equal(np.isnan(got[ok]), np.isnan(want64[ok]))
    ok &= ~np.isnan(want64)
    np.testing.assert_array_equal(np.signbit(got[ok]), np.signbit(want64[ok]))
    with np.errstate(over="ignore", invalid="ignore"):
        bound = 2.0**-24 * np.abs(want64[ok]) + 1e-45
        err = np.abs(got[ok].astype(np.float64) - want64[ok])
        # (Beyond float32's range the rounded value is inf: compared as such.)
        rounded = want64[ok].astype(np.float32)
    assert np.all((err <= bound) | (got[ok] == rounded))
