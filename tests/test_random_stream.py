"""The default CPU generator's stream, value by value: PyTorch's MT19937 with PyTorch's
seeding and per-op consumption.

The reference is numpy's MT19937 with legacy (Knuth) seeding, which is the same
twister PyTorch seeds with `manual_seed`; every op's transform of the raw words is
written out below in numpy/`math`/`fractions`, independent of rtorch. After each op the
tests also check the generator stands where the reference says (`_assert_in_step`), so
an op that consumes a wrong number of words fails even when its own values match.

The last part compares rtorch with real PyTorch bit for bit (`torch_ref`, skipped
where torch is not installed): same seed, same call, same values.
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import numpy as np
import pytest
from conftest import to_np, with_threads

import rtorch

F32 = np.float32
MASK53 = np.uint64((1 << 53) - 1)


class MT:
    """The raw stream of `manual_seed(seed)`: MT19937 seeded with the low 32 bits."""

    def __init__(self, seed: int) -> None:
        self.bg = np.random.MT19937(0)
        self.bg._legacy_seeding(seed & 0xFFFFFFFF)

    def u32(self, n: int) -> np.ndarray:
        return self.bg.random_raw(n).astype(np.uint64)

    def u64(self, n: int) -> np.ndarray:
        """`n` 64-bit draws: two words each, the first is the high half."""
        r = self.u32(2 * n)
        return (r[0::2] << np.uint64(32)) | r[1::2]

    def unit_f32(self, n: int) -> np.ndarray:
        """Uniform floats in [0, 1) from the low 24 bits of one word each."""
        return ((self.u32(n) & np.uint64(0xFFFFFF)).astype(np.float64) * 2.0**-24).astype(F32)

    def unit_f64(self, n: int) -> np.ndarray:
        """Uniform doubles in [0, 1) from the low 53 bits of one 64-bit draw each."""
        return (self.u64(n) & MASK53).astype(np.float64) * 2.0**-53


def fma32(a, b, c) -> np.ndarray:
    """float32 fused multiply-add (one rounding), elementwise. a*b of two float32 is
    exact in float64; the float64 sum is rounded to odd (its exact error from TwoSum),
    which makes the final rounding to float32 the correctly rounded one."""
    a, b, c = (np.asarray(v, F32).astype(np.float64) for v in np.broadcast_arrays(a, b, c))
    p = a * b
    s = p + c
    bb = s - p
    err = (p - (s - bb)) + (c - bb)
    inexact_even = (err != 0) & (s.view(np.int64) & 1 == 0)
    s = np.where(inexact_even, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)
    return s.astype(F32)


def fma64(a: float, b: float, c: float) -> float:
    """float64 fused multiply-add, exact in rationals then rounded once."""
    return float(Fraction(a) * Fraction(b) + Fraction(c))


def bf16(x) -> np.ndarray:
    """float32 rounded to bfloat16 (nearest, ties to even), as float32 values."""
    b = np.asarray(x, F32).view(np.uint32).astype(np.uint64)
    b = (b + np.uint64(0x7FFF) + ((b >> np.uint64(16)) & np.uint64(1))) >> np.uint64(16)
    return (b << np.uint64(16)).astype(np.uint32).view(F32)


def log_ps(x: np.ndarray) -> np.ndarray:
    """Cephes single-precision log with fused multiply-adds, as PyTorch's vectorised
    normal kernel evaluates it."""
    x = np.asarray(x, F32)
    bits = x.view(np.uint32)
    e = ((bits >> np.uint32(23)).astype(np.int32) - 127).astype(F32) + F32(1)
    x = ((bits & np.uint32(0x807FFFFF)) | np.uint32(0x3F000000)).view(F32)
    below = x < F32(0.707106781186547524)
    tmp = np.where(below, x, F32(0))
    x = x - F32(1)
    e = e - np.where(below, F32(1), F32(0))
    x = x + tmp
    z = x * x
    coeffs = (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
              1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
              3.3333331174e-1)  # fmt: skip
    y = np.full_like(x, F32(coeffs[0]))
    for c in coeffs[1:]:
        y = fma32(y, x, F32(c))
    y = y * x
    y = fma32(y, z, e * F32(-2.12194440e-4))
    y = y - z * F32(0.5)
    x = x + y
    return fma32(e, F32(0.693359375), x)


def sincos_ps(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cephes single-precision sin and cos with fused multiply-adds."""
    x = np.asarray(x, F32)
    sign_sin = x < 0
    x = np.abs(x)
    j = (x * F32(1.27323954473516)).astype(np.int32)
    j = (j + 1) & ~1
    y = j.astype(F32)
    swap = (j & 4) != 0
    use_sin_poly = (j & 2) == 0
    for dp in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8):
        x = fma32(y, F32(dp), x)
    sign_cos = ((~(j - 2)) & 4) != 0
    sign_sin = sign_sin ^ swap
    z = x * x
    yc = np.full_like(x, F32(2.443315711809948e-5))
    for c in (-1.388731625493765e-3, 4.166664568298827e-2):
        yc = fma32(yc, z, F32(c))
    yc = fma32(yc * z, z, -(z * F32(0.5))) + F32(1)
    ys = np.full_like(x, F32(-1.9515295891e-4))
    for c in (8.3321608736e-3, -1.6666654611e-1):
        ys = fma32(ys, z, F32(c))
    ys = fma32(ys * z, x, x)
    s = np.where(use_sin_poly, ys, yc)
    c = np.where(use_sin_poly, yc, ys)
    return np.where(sign_sin, -s, s), np.where(sign_cos, -c, c)


def uniform32(mt: MT, n: int, lo: float, hi: float, dtype=F32) -> np.ndarray:
    """uniform_(lo, hi) of a float32/float16 tensor (bfloat16: dtype=bf16)."""
    lo32, hi32 = F32(lo), F32(hi)
    v = fma32(mt.unit_f32(n), hi32 - lo32, lo32)
    v = bf16(v) if dtype is bf16 else v.astype(dtype)
    return np.where(v == hi32, F32(lo) if dtype is bf16 else dtype(lo), v)


def uniform64(mt: MT, n: int, lo: float, hi: float) -> np.ndarray:
    v = np.array([fma64(float(u), hi - lo, lo) for u in mt.unit_f64(n)])
    return np.where(v == hi, lo, v)


def _box_muller32(d: np.ndarray, mean: float, std: float) -> np.ndarray:
    """The vectorised kernel's transform of blocks of 16 uniforms (float32)."""
    d = d.reshape(-1, 16)
    rad = np.sqrt(F32(-2) * log_ps(F32(1) - d[:, :8]))
    s, c = sincos_ps(F32(2.0 * math.pi) * d[:, 8:])
    m, sd = F32(mean), F32(std)
    return np.concatenate([fma32(rad * c, sd, m), fma32(rad * s, sd, m)], axis=1).reshape(-1)


def normal32(mt: MT, n: int, mean: float, std: float, half: bool = False) -> np.ndarray:
    """normal_ of a contiguous float32 (or, half=True, float16/bfloat16) tensor with
    n >= 16, as float32 values before the cast to the dtype."""
    whole = n // 16 * 16
    d = mt.unit_f32(whole if half else n)
    out = np.empty(n, F32)
    out[:whole] = _box_muller32(d[:whole], mean, std)
    if n % 16:  # 16 more draws, written over the last 16 elements
        out[n - 16 :] = _box_muller32(mt.unit_f32(16), mean, std)
    return out


def _box_muller64(d: np.ndarray, mean: float, std: float) -> np.ndarray:
    out = np.empty(16)
    for j in range(8):
        rad = math.sqrt(-2.0 * math.log(1.0 - d[j]))
        theta = 2.0 * math.pi * d[j + 8]
        out[j] = fma64(rad * math.cos(theta), std, mean)
        out[j + 8] = fma64(rad * math.sin(theta), std, mean)
    return out


def normal64(mt: MT, n: int, mean: float, std: float) -> np.ndarray:
    """normal_ of a contiguous float64 tensor with n >= 16."""
    d = mt.unit_f64(n)
    out = np.empty(n)
    for i in range(0, n - 15, 16):
        out[i : i + 16] = _box_muller64(d[i : i + 16], mean, std)
    if n % 16:
        out[n - 16 :] = _box_muller64(mt.unit_f64(16), mean, std)
    return out


class ScalarNormal:
    """normal_distribution<double>: one value per call, the pair's second value kept."""

    def __init__(self, mt: MT) -> None:
        self.mt = mt
        self.cache: float | None = None

    def __call__(self, mean: float, std: float) -> float:
        if self.cache is not None:
            z, self.cache = self.cache, None
            return fma64(z, std, mean)
        u1, u2 = self.mt.unit_f64(2)
        r = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        self.cache = r * math.sin(theta)
        return fma64(r * math.cos(theta), std, mean)

    def take(self, n: int, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
        return np.array([self(mean, std) for _ in range(n)])


def exponential(mt: MT, n: int, lambd: float) -> np.ndarray:
    return np.array([(-1.0 / lambd) * math.log1p(-u) for u in mt.unit_f64(n)])


def _assert_in_step(mt: MT, gen: rtorch.Generator | None = None) -> None:
    """rtorch's generator stands where the reference does: its next four 32-bit draws
    (randint below 2**28 takes one word each) are the reference's next four."""
    got = rtorch.randint(0, 2**27, (4,), generator=gen).tolist()
    assert got == (mt.u32(4) % np.uint64(2**27)).astype(np.int64).tolist()


def _np(t: rtorch.Tensor) -> np.ndarray:
    """Values with their precision: float32/float16 keep their numpy dtype (so equality
    is exact at that precision), bfloat16 comes back as float32."""
    if t.dtype == rtorch.bfloat16:
        return t.float().numpy()
    return t.numpy()


# --------------------------------------------------------------------------- the reference


def test_reference_stream_is_mt19937_with_legacy_seeding():
    # Known words of seed 3, and PyTorch's randperm(5) after manual_seed(3).
    assert MT(3).u32(4).tolist() == [2365658986, 303761048, 3041471737, 3607553667]
    assert MT(3).u64(1).tolist() == [(2365658986 << 32) | 303761048]
    rtorch.manual_seed(3)
    assert rtorch.randperm(5).tolist() == [1, 0, 3, 4, 2]


def _round_to_f32(q: Fraction) -> np.float32:
    """A rational rounded once to float32: to double rounded to odd (nudged off an even
    last bit when inexact), then to float32."""
    d = float(q)
    if Fraction(d) != q and struct.unpack("<q", struct.pack("<d", d))[0] & 1 == 0:
        d = math.nextafter(d, math.inf if q > Fraction(d) else -math.inf)
    return F32(d)


def test_reference_helpers_are_exact():
    # The test's own fma32 against rationals, bf16 rounding against its definition.
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(2000).astype(F32) * F32(s) for s in (3, 5e-3, 1))
    want = [_round_to_f32(Fraction(float(x)) * float(y) + float(z)) for x, y, z in zip(a, b, c)]
    np.testing.assert_array_equal(fma32(a, b, c), np.array(want, F32))
    assert bf16(F32(1 + 2**-8)) == 1 and bf16(F32(1 + 3 * 2**-8)) == F32(1 + 2**-6)
    x = rng.random(1000).astype(F32) + F32(1e-3)
    np.testing.assert_allclose(log_ps(x), np.log(x.astype(np.float64)), rtol=4e-7, atol=1e-7)
    s, c = sincos_ps(x * F32(6.2))
    np.testing.assert_allclose(s, np.sin(x.astype(np.float64) * 6.2), atol=5e-7)
    np.testing.assert_allclose(c, np.cos(x.astype(np.float64) * 6.2), atol=5e-7)


# --------------------------------------------------------------------------- uniform


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 1.0), (-2.5, 7.25), (1e8, 1e8 + 16)])
def test_uniform_float32(lo, hi):
    # 1e8 .. 1e8+16: the float32 spacing there is 8, so many draws round to `to`,
    # which becomes `from`.
    mt = MT(5)
    rtorch.manual_seed(5)
    got = rtorch.rand(1000) if (lo, hi) == (0.0, 1.0) else rtorch.empty(1000).uniform_(lo, hi)
    want = uniform32(mt, 1000, lo, hi)
    np.testing.assert_array_equal(_np(got), want)
    assert (want == F32(hi)).sum() == 0
    _assert_in_step(mt)


def test_uniform_float32_rounding_to_the_upper_bound_gives_the_lower():
    rtorch.manual_seed(8)
    v = _np(rtorch.empty(2000).uniform_(1e8, 1e8 + 16))
    np.testing.assert_array_equal(v, uniform32(MT(8), 2000, 1e8, 1e8 + 16))
    assert set(v.tolist()) == {1e8, 1e8 + 8}  # 1e8+16 replaced by 1e8


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 1.0), (-0.3, 0.7), (2**53, 2**53 + 16)])
def test_uniform_float64(lo, hi):
    mt = MT(6)
    rtorch.manual_seed(6)
    got = rtorch.empty(300, dtype=rtorch.float64).uniform_(lo, hi)
    want = uniform64(mt, 300, float(lo), float(hi))
    np.testing.assert_array_equal(_np(got), want)
    _assert_in_step(mt)
    rtorch.manual_seed(6)
    np.testing.assert_array_equal(
        _np(rtorch.rand(300, dtype=rtorch.float64)), uniform64(MT(6), 300, 0.0, 1.0)
    )


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 1.0), (-0.3, 0.7), (2048.0, 2056.0)])
def test_uniform_float16(lo, hi):
    # Near 2048 the float16 spacing is 2: values that round to 2056 become 2048.
    mt = MT(7)
    rtorch.manual_seed(7)
    got = rtorch.empty(1000, dtype=rtorch.float16).uniform_(lo, hi)
    want = uniform32(mt, 1000, lo, hi, np.float16)
    np.testing.assert_array_equal(_np(got), want)
    _assert_in_step(mt)


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 1.0), (-2.0, 3.0), (256.0, 264.0)])
def test_uniform_bfloat16(lo, hi):
    mt = MT(7)
    rtorch.manual_seed(7)
    got = rtorch.empty(1000, dtype=rtorch.bfloat16).uniform_(lo, hi)
    np.testing.assert_array_equal(_np(got), uniform32(mt, 1000, lo, hi, bf16))
    _assert_in_step(mt)


def test_uniform_visits_a_non_contiguous_tensor_in_memory_order():
    for make in (
        lambda: rtorch.empty(4, 6).t(),
        lambda: rtorch.empty(3, 4, 5).permute(2, 0, 1),
    ):
        mt = MT(9)
        rtorch.manual_seed(9)
        view = make()
        assert not view.is_contiguous()
        view.uniform_(-1.0, 2.0)
        base = view.permute(*np.argsort([-s for s in view.stride()]).tolist())
        assert base.is_contiguous()
        np.testing.assert_array_equal(_np(base).reshape(-1), uniform32(mt, view.numel(), -1, 2))
        _assert_in_step(mt)
    mt = MT(9)
    rtorch.manual_seed(9)
    strided = rtorch.zeros(20)[::2].uniform_()
    np.testing.assert_array_equal(_np(strided), uniform32(mt, 10, 0, 1))
    _assert_in_step(mt)


# --------------------------------------------------------------------------- normal


@pytest.mark.parametrize("n", [16, 17, 33, 100_003])
@pytest.mark.parametrize(("mean", "std"), [(0.0, 1.0), (0.5, 2.3)])
def test_normal_float32_vectorised(n, mean, std):
    # 100_003 is past the parallel chunk (32768), with a tail block.
    mt = MT(11)
    rtorch.manual_seed(11)
    if (mean, std) == (0.0, 1.0):
        got = rtorch.randn(n)
    else:
        got = rtorch.empty(n).normal_(mean, std)
    np.testing.assert_array_equal(_np(got), normal32(mt, n, mean, std))
    _assert_in_step(mt)


@pytest.mark.parametrize(("mean", "std"), [(0.0, 1.0), (-1.5, 0.25)])
def test_normal_float32_small_uses_the_cached_pair(mean, std):
    # Fewer than 16 elements: one double normal at a time, the pair's second value kept
    # in the generator; randn(5) then randn(5) continues from it.
    mt = MT(12)
    ref = ScalarNormal(mt)
    rtorch.manual_seed(12)
    first = rtorch.empty(5).normal_(mean, std)
    second = rtorch.empty(5).normal_(mean, std)
    np.testing.assert_array_equal(_np(first), ref.take(5, mean, std).astype(F32))
    np.testing.assert_array_equal(_np(second), ref.take(5, mean, std).astype(F32))
    assert ref.cache is None  # ten values: five whole pairs
    _assert_in_step(mt)


def test_normal_cache_survives_other_ops_and_manual_seed_clears_it():
    mt = MT(3)
    ref = ScalarNormal(mt)
    rtorch.manual_seed(3)
    a = _np(rtorch.randn(5))
    b = _np(rtorch.randn(16))  # vectorised: leaves the cache alone
    c = _np(rtorch.rand(4))
    d = _np(rtorch.randn(1))  # the value cached by randn(5)
    np.testing.assert_array_equal(a, ref.take(5).astype(F32))
    np.testing.assert_array_equal(b, normal32(mt, 16, 0.0, 1.0))
    np.testing.assert_array_equal(c, uniform32(mt, 4, 0, 1))
    np.testing.assert_array_equal(d, ref.take(1).astype(F32))
    _assert_in_step(mt)
    rtorch.manual_seed(3)
    rtorch.randn(1)
    rtorch.manual_seed(3)
    np.testing.assert_array_equal(_np(rtorch.randn(3)), ScalarNormal(MT(3)).take(3).astype(F32))


def test_normal_non_contiguous_is_scalar_in_memory_order():
    mt = MT(4)
    ref = ScalarNormal(mt)
    rtorch.manual_seed(4)
    view = rtorch.empty(6, 5).t().normal_(0.5, 3.0)
    np.testing.assert_array_equal(_np(view.t()).reshape(-1), ref.take(30, 0.5, 3.0).astype(F32))
    view64 = rtorch.empty(40, dtype=rtorch.float64)[::2].normal_(-1.0, 0.5)
    np.testing.assert_array_equal(_np(view64), ref.take(20, -1.0, 0.5))
    _assert_in_step(mt)


@pytest.mark.parametrize("n", [5, 17, 1003])
def test_normal_float64(n):
    mt = MT(13)
    rtorch.manual_seed(13)
    got = _np(rtorch.empty(n, dtype=rtorch.float64).normal_(0.5, 2.3))
    want = ScalarNormal(mt).take(n, 0.5, 2.3) if n < 16 else normal64(mt, n, 0.5, 2.3)
    np.testing.assert_array_equal(got, want)
    _assert_in_step(mt)


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16])
@pytest.mark.parametrize("n", [7, 40])
def test_normal_half(dtype, n):
    # 40: two whole blocks draw 32 words (not 40), then the tail block 16 more.
    mt = MT(14)
    rtorch.manual_seed(14)
    got = _np(rtorch.empty(n, dtype=dtype).normal_(0.5, 2.3))
    if n < 16:
        want = ScalarNormal(mt).take(n, 0.5, 2.3).astype(F32)
    else:
        want = normal32(mt, n, 0.5, 2.3, half=True)
    want = bf16(want) if dtype == rtorch.bfloat16 else want.astype(np.float16)
    np.testing.assert_array_equal(got, want)
    _assert_in_step(mt)


def test_normal_same_with_16_threads_and_1():
    def draw() -> np.ndarray:
        rtorch.manual_seed(21)
        return _np(rtorch.randn(100_003))

    one = with_threads(1, draw)
    sixteen = with_threads(16, draw)
    np.testing.assert_array_equal(one, sixteen)
    np.testing.assert_array_equal(sixteen, normal32(MT(21), 100_003, 0.0, 1.0))


def test_explicit_generator_follows_its_own_stream():
    g = rtorch.Generator().manual_seed(31)
    rtorch.manual_seed(32)
    mt, mt_default = MT(31), MT(32)
    np.testing.assert_array_equal(_np(rtorch.randn(40, generator=g)), normal32(mt, 40, 0, 1))
    np.testing.assert_array_equal(_np(rtorch.rand(7, generator=g)), uniform32(mt, 7, 0, 1))
    _assert_in_step(mt, g)
    _assert_in_step(mt_default)


# --------------------------------------------------------------------------- discrete


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64, rtorch.int32])
@pytest.mark.parametrize("p", [0.3, 0.5, 0.0, 1.0, 1e-300, 1.0 - 2.0**-53])
def test_bernoulli_scalar_probability(dtype, p):
    # One 64-bit draw per element, unit_f64 < p, for any dtype and layout.
    mt = MT(15)
    want = (mt.unit_f64(500) < p).astype(np.int64)
    rtorch.manual_seed(15)
    np.testing.assert_array_equal(to_np(rtorch.empty(500, dtype=dtype).bernoulli_(p)), want)
    strided = rtorch.empty(1000, dtype=dtype)[::2].bernoulli_(p)
    np.testing.assert_array_equal(to_np(strided), (mt.unit_f64(500) < p).astype(np.int64))
    _assert_in_step(mt)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
def test_bernoulli_tensor_probabilities(dtype):
    # float64 probabilities: a 64-bit draw each, compared in double; float32: one word
    # each, its 24-bit uniform compared with p in float32.
    probs = np.random.default_rng(1).random(600)
    probs[:4] = [0.0, 1.0, 0.5, 2.0**-24]
    mt = MT(16)
    rtorch.manual_seed(16)
    got = rtorch.bernoulli(rtorch.tensor(probs, dtype=dtype))
    assert got.dtype == dtype
    if dtype == rtorch.float64:
        want = mt.unit_f64(600) < probs
    else:
        want = mt.unit_f32(600) < probs.astype(F32)
    np.testing.assert_array_equal(to_np(got), want.astype(np.float64))
    _assert_in_step(mt)


@pytest.mark.parametrize("p", [0.3, 0.5])
def test_dropout_mask_and_scale(p):
    x = np.random.default_rng(2).standard_normal((7, 30)).astype(F32)
    mt = MT(17)
    rtorch.manual_seed(17)
    got = rtorch.nn.functional.dropout(rtorch.tensor(x), p)
    keep = (mt.unit_f64(x.size) < 1 - p).reshape(x.shape)
    np.testing.assert_array_equal(_np(got), x * (keep.astype(F32) / F32(1 - p)))
    _assert_in_step(mt)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64, rtorch.float16])
@pytest.mark.parametrize("lambd", [1.0, 2.5])
def test_exponential(dtype, lambd):
    np_dtype = {rtorch.float32: F32, rtorch.float64: np.float64, rtorch.float16: np.float16}
    mt = MT(18)
    rtorch.manual_seed(18)
    got = _np(rtorch.empty(300, dtype=dtype).exponential_(lambd))
    np.testing.assert_array_equal(got, exponential(mt, 300, lambd).astype(np_dtype[dtype]))
    _assert_in_step(mt)


@pytest.mark.parametrize(
    ("low", "high"),
    [(0, 10), (-7, 93), (0, 2**28 - 1), (5, 2**28 + 4), (0, 2**28), (-3, 2**40), (0, 2**62)],
)
def test_randint(low, high):
    # Ranges below 2**28 take one word each (modulo), wider ranges a 64-bit draw.
    mt = MT(19)
    rtorch.manual_seed(19)
    got = rtorch.randint(low, high, (300,)).tolist()
    if high - low < 2**28:
        want = [int(u) % (high - low) + low for u in mt.u32(300)]
    else:
        want = [int(u) % (high - low) + low for u in mt.u64(300)]
    assert got == want
    _assert_in_step(mt)


_RANDOM_MODULUS = {
    rtorch.int32: 2**31, rtorch.int16: 2**15, rtorch.int8: 128, rtorch.uint8: 256,
    rtorch.bool: 2, rtorch.float32: 2**24 + 1, rtorch.float16: 2049, rtorch.bfloat16: 257,
}  # fmt: skip


@pytest.mark.parametrize(
    "dtype", [rtorch.int64, rtorch.float64, *_RANDOM_MODULUS], ids=lambda d: str(d)
)
def test_random_without_bounds(dtype):
    mt = MT(20)
    rtorch.manual_seed(20)
    got = [int(v) for v in rtorch.empty(300, dtype=dtype).random_().tolist()]
    if dtype == rtorch.int64:
        want = [int(u) % 2**63 for u in mt.u64(300)]
    elif dtype == rtorch.float64:
        want = [int(u) % (2**53 + 1) for u in mt.u64(300)]
    else:
        want = [int(u) % _RANDOM_MODULUS[dtype] for u in mt.u32(300)]
    assert got == want
    _assert_in_step(mt)


def test_random_from_without_to():
    mt = MT(22)
    rtorch.manual_seed(22)
    got = rtorch.empty(100, dtype=rtorch.int64).random_(5, None).tolist()
    assert got == [int(u) % (2**63 - 5) + 5 for u in mt.u64(100)]
    got = rtorch.empty(100, dtype=rtorch.int32).random_(5, None).tolist()
    assert got == [int(u) % (2**31 - 5) + 5 for u in mt.u64(100)]
    got = rtorch.empty(100, dtype=rtorch.int16).random_(5, None).tolist()
    assert got == [int(u) % (2**15 - 5) + 5 for u in mt.u32(100)]
    # The whole int64 range: each draw taken as a signed 64-bit value.
    got = rtorch.empty(100, dtype=rtorch.int64).random_(-(2**63), None).tolist()
    assert got == mt.u64(100).view(np.int64).tolist()
    _assert_in_step(mt)


@pytest.mark.parametrize("n", [1, 2, 5, 129, 1000])
def test_randperm(n):
    mt = MT(23)
    perm = list(range(n))
    for i, u in enumerate(mt.u32(max(n - 1, 0))):
        z = int(u) % (n - i)
        perm[i], perm[i + z] = perm[i + z], perm[i]
    rtorch.manual_seed(23)
    assert rtorch.randperm(n).tolist() == perm
    _assert_in_step(mt)


@pytest.mark.parametrize("np_dtype", [F32, np.float64])
@pytest.mark.parametrize("k", [1, 5, 12])
def test_multinomial_without_replacement(np_dtype, k):
    # q ~ Exp(1) per element in the input dtype; the k largest p/q, largest first.
    # k = 1 takes this branch with or without replacement.
    probs = np.random.default_rng(3).random((3, 12)).astype(np_dtype) + np_dtype(0.01)
    for replacement in (False, True) if k == 1 else (False,):
        mt = MT(24)
        q = exponential(mt, probs.size, 1.0).astype(np_dtype).reshape(probs.shape)
        want = np.argsort(-(probs / q), axis=1, kind="stable")[:, :k]
        rtorch.manual_seed(24)
        got = rtorch.multinomial(rtorch.tensor(probs), k, replacement)
        assert got.tolist() == want.tolist()
        _assert_in_step(mt)


@pytest.mark.parametrize("np_dtype", [F32, np.float64])
def test_multinomial_with_replacement(np_dtype):
    # Per row: cumulative sum in the input's precision over its total, last entry 1;
    # per sample a 64-bit uniform, the first position whose cumulative value >= it.
    probs = np.random.default_rng(4).random((3, 9)).astype(np_dtype)
    probs[1, 3] = 0
    mt = MT(25)
    want = []
    for row in probs:
        cum = np.cumsum(row, dtype=np_dtype)
        cum = (cum / cum[-1]).astype(np_dtype)
        cum[-1] = 1
        want.append(np.searchsorted(cum.astype(np.float64), mt.unit_f64(40), side="left"))
    rtorch.manual_seed(25)
    got = rtorch.multinomial(rtorch.tensor(probs), 40, replacement=True)
    assert got.tolist() == np.array(want).tolist()
    assert 3 not in got[1].tolist()
    _assert_in_step(mt)
    rtorch.manual_seed(25)
    one_row = rtorch.multinomial(rtorch.tensor(probs[0]), 40, replacement=True)
    assert one_row.tolist() == want[0].tolist()


def test_only_the_low_32_bits_of_the_seed_seed_the_twister():
    rtorch.manual_seed(7 + 2**32)
    assert rtorch.initial_seed() == 7 + 2**32
    a = _np(rtorch.rand(50))
    rtorch.manual_seed(7)
    np.testing.assert_array_equal(a, _np(rtorch.rand(50)))
    np.testing.assert_array_equal(a, uniform32(MT(7), 50, 0, 1))


# --------------------------------------------------------------------------- state layout


def _fields(state: rtorch.Tensor) -> dict:
    raw = bytes(state.tolist())
    seed, left, seeded, nxt = struct.unpack_from("<QiiQ", raw, 0)
    normal_x, normal_y, normal_rho = struct.unpack_from("<ddd", raw, 5016)
    (valid,) = struct.unpack_from("<i", raw, 5040)
    (float_y,) = struct.unpack_from("<f", raw, 5048)
    return {
        "seed": seed, "left": left, "seeded": seeded, "next": nxt,
        "words": np.frombuffer(raw[24:5016], "<u8"), "normal_x": normal_x,
        "normal_y": normal_y, "normal_rho": normal_rho, "valid": valid,
        "float_y": float_y, "float_valid": raw[5052], "pad": raw[5044:5048] + raw[5053:5056],
    }  # fmt: skip


def _twisted_key(mt: MT) -> np.ndarray:
    mt.u32(1)  # the first draw twists all 624 words
    return mt.bg.state["state"]["key"].astype(np.uint64)


def test_state_layout_after_seeding_and_draws():
    rtorch.manual_seed(3)
    f = _fields(rtorch.get_rng_state())
    assert (f["seed"], f["left"], f["seeded"], f["next"]) == (3, 1, 1, 0)
    np.testing.assert_array_equal(f["words"], MT(3).bg.state["state"]["key"])
    assert (f["valid"], f["normal_y"], f["float_valid"], f["pad"]) == (0, 0.0, 0, bytes(7))
    # randn(3): two normal pairs (8 words), the second pair's sine cached.
    rtorch.randn(3)
    f = _fields(rtorch.get_rng_state())
    ref = ScalarNormal(MT(3))
    ref.take(3)
    assert (f["seed"], f["left"], f["seeded"], f["next"]) == (3, 617, 1, 8)
    np.testing.assert_array_equal(f["words"], _twisted_key(MT(3)))
    assert (f["valid"], f["normal_y"]) == (1, ref.cache)
    assert (f["normal_x"], f["normal_rho"], f["float_y"], f["float_valid"]) == (0, 0, 0, 0)
    # 700 words: a second twist.
    rtorch.manual_seed(2**40 + 3)
    rtorch.rand(700)
    f = _fields(rtorch.get_rng_state())
    assert (f["seed"], f["left"], f["next"], f["valid"]) == (2**40 + 3, 549, 76, 0)
    mt = MT(3)
    mt.u32(700)
    np.testing.assert_array_equal(f["words"], mt.bg.state["state"]["key"])


def _state_bytes(mt: MT, seed: int, cached: float | None = None) -> rtorch.Tensor:
    """A CPUGeneratorImplState standing where numpy's `mt` stands."""
    st = mt.bg.state["state"]
    pos = int(st["pos"])
    left, nxt = (1, 0) if pos == 624 else (625 - pos, pos)
    raw = struct.pack("<QiiQ", seed, left, 1, nxt) + st["key"].astype("<u8").tobytes()
    raw += struct.pack("<dddi4xf?3x", 0.0, cached or 0.0, 0.0, cached is not None, 0.0, False)
    assert len(raw) == 5056
    return rtorch.tensor(list(raw), dtype=rtorch.uint8)


def test_set_state_built_from_the_reference():
    for skip in (0, 5, 623, 624, 1000):
        mt = MT(41)
        mt.u32(skip)
        rtorch.set_rng_state(_state_bytes(mt, 41))
        np.testing.assert_array_equal(_np(rtorch.rand(20)), uniform32(mt, 20, 0, 1))
        _assert_in_step(mt)
    # A cached normal in the state is the next scalar normal, then the stream goes on.
    mt = MT(42)
    mt.u32(10)
    rtorch.set_rng_state(_state_bytes(mt, 42, cached=-1.25))
    assert rtorch.randn(1).item() == -1.25
    ref = ScalarNormal(mt)
    assert rtorch.empty(1, dtype=rtorch.float64).normal_(3.0, 2.0).item() == ref(3.0, 2.0)
    assert rtorch.randn(1, dtype=rtorch.float64).item() == ref(0.0, 1.0)
    _assert_in_step(mt)


# --------------------------------------------------------------------------- PyTorch parity


def _values(x) -> list:
    """(dtype, shape, values) of every tensor in `x` (tensors, nested lists/tuples,
    numbers), for exact comparison across the two libraries."""
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _values(item)]
    if hasattr(x, "dtype") and hasattr(x, "shape"):
        x = x.detach()
        name = str(x.dtype)
        if "bfloat16" in name:
            x = x.float()
        return [(name, tuple(x.shape), np.asarray(x.tolist()))]
    return [("number", (), np.asarray(x))]


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        x[0] == y[0] and x[1] == y[1] and np.array_equal(x[2], y[2], equal_nan=True)
        for x, y in zip(a, b)
    )


def _describe(want: list, got: list) -> str:
    """Where two `_values` lists differ: per tensor, dtype/shape or the first differing
    positions with torch's and rtorch's values."""
    if len(want) != len(got):
        return f"{len(want)} tensors from torch, {len(got)} from rtorch"
    lines = []
    for k, (w, g) in enumerate(zip(want, got)):
        if w[:2] != g[:2]:
            lines.append(f"#{k}: torch {w[:2]} rtorch {g[:2]}")
        elif not np.array_equal(w[2], g[2], equal_nan=True):
            where = np.argwhere(w[2] != g[2])[:4]
            pairs = [
                (tuple(i.tolist()), w[2][tuple(i)].item(), g[2][tuple(i)].item()) for i in where
            ]
            lines.append(f"#{k} {w[:2]}: (index, torch, rtorch) {pairs}")
    return "; ".join(lines)


def _params(module) -> list:
    return list(module.parameters())


PARITY_CASES = {
    "rand": lambda t: t.rand(3, 5),
    "rand_f64": lambda t: t.rand(40, dtype=t.float64),
    "rand_f16": lambda t: t.rand(40, dtype=t.float16),
    "rand_bf16": lambda t: t.rand(40, dtype=t.bfloat16),
    "rand_like": lambda t: t.rand_like(t.zeros(2, 9, dtype=t.float64)),
    "uniform_": lambda t: t.empty(4, 6).t().uniform_(-3.0, 0.5),
    "randn_5_then_5": lambda t: (t.randn(5), t.randn(5)),
    "randn_16": lambda t: t.randn(16),
    "randn_17": lambda t: t.randn(17),
    "randn_1000": lambda t: t.randn(10, 100),
    "randn_40000": lambda t: t.randn(40_000),
    "randn_f64_7": lambda t: t.randn(7, dtype=t.float64),
    "randn_f64_37": lambda t: t.randn(37, dtype=t.float64),
    "randn_f16_50": lambda t: t.randn(50, dtype=t.float16),
    "randn_bf16_50": lambda t: t.randn(50, dtype=t.bfloat16),
    "randn_like": lambda t: t.randn_like(t.zeros(3, 7)),
    "normal_": lambda t: t.empty(3, 11).normal_(2.0, 0.5),
    "normal_noncontig": lambda t: t.empty(5, 8).t().normal_(-1.0, 3.0),
    "normal_tensor_mean": lambda t: t.normal(t.arange(20.0), 2.0),
    "normal_tensor_std": lambda t: t.normal(1.0, t.arange(1.0, 21.0)),
    "normal_both": lambda t: t.normal(t.arange(20.0), t.arange(1.0, 21.0)),
    "normal_size": lambda t: t.normal(2.0, 3.0, size=(40,)),
    "randint": lambda t: t.randint(-4, 1000, (2, 50)),
    "randint_2_28": lambda t: t.randint(0, 2**28, (20,)),
    "randint_2_40": lambda t: t.randint(0, 2**40, (20,)),
    "randint_f32": lambda t: t.randint(0, 50, (20,), dtype=t.float32),
    "randint_like": lambda t: t.randint_like(t.zeros(30, dtype=t.int32), 3, 17),
    "randperm_50": lambda t: t.randperm(50),
    "randperm_f32": lambda t: t.randperm(20, dtype=t.float32),
    "bernoulli_f32": lambda t: t.bernoulli(t.linspace(0, 1, 33)),
    "bernoulli_f64": lambda t: t.bernoulli(t.linspace(0, 1, 33, dtype=t.float64)),
    "bernoulli_p": lambda t: t.bernoulli(t.zeros(20), 0.3),
    "bernoulli_int": lambda t: t.zeros(40, dtype=t.int64).bernoulli_(0.6),
    "dropout": lambda t: t.nn.functional.dropout(t.arange(60.0).reshape(6, 10), 0.4),
    "dropout_module": lambda t: t.nn.Dropout(0.25)(t.ones(3, 20)),
    "dropout2d": lambda t: t.nn.functional.dropout2d(t.ones(2, 6, 3, 3), 0.5),
    "alpha_dropout": lambda t: t.nn.functional.alpha_dropout(t.arange(30.0), 0.3, True),
    "exponential_": lambda t: t.empty(50).exponential_(1.5),
    "exponential_f64": lambda t: t.empty(50, dtype=t.float64).exponential_(0.5),
    "cauchy_": lambda t: t.empty(50).cauchy_(0.5, 2.0),
    "log_normal_": lambda t: t.empty(50).log_normal_(0.5, 0.7),
    "geometric_": lambda t: t.empty(50).geometric_(0.3),
    "random_5_none": lambda t: t.empty(10, dtype=t.int64).random_(5, None),
    "random_min_none": lambda t: t.empty(10, dtype=t.int64).random_(-(2**63), None),
    "random_2_9": lambda t: t.empty(10, dtype=t.int8).random_(2, 9),
    "multinomial": lambda t: t.multinomial(t.tensor([[1.0, 2, 3, 4], [4, 3, 0.5, 1]]), 3),
    "multinomial_1": lambda t: t.multinomial(t.tensor([1.0, 2, 3, 4]), 1, True),
    "multinomial_repl": lambda t: t.multinomial(t.tensor([[1.0, 2, 3, 4], [4, 3, 0, 1]]), 30, True),
    "multinomial_f64": lambda t: t.multinomial(t.arange(1.0, 9.0, dtype=t.float64), 20, True),
    "Linear": lambda t: _params(t.nn.Linear(7, 5)),
    "Conv2d": lambda t: _params(t.nn.Conv2d(3, 4, 3)),
    "LSTM": lambda t: _params(t.nn.LSTM(6, 5, num_layers=2)),
    "Embedding": lambda t: _params(t.nn.Embedding(10, 4)),
    "xavier_uniform_": lambda t: t.nn.init.xavier_uniform_(t.empty(4, 6)),
    "kaiming_normal_": lambda t: t.nn.init.kaiming_normal_(t.empty(4, 6)),
    "trunc_normal_": lambda t: t.nn.init.trunc_normal_(t.empty(40)),
    "rrelu_training": lambda t: t.nn.functional.rrelu(-t.arange(1.0, 41.0), training=True),
    # Four equal scores: weights 1/4, kept ones 1/2, integer values: every sum is exact,
    # so the output shows the mask alone, whatever the order of the products.
    "sdpa_dropout": lambda t: t.nn.functional.scaled_dot_product_attention(
        t.ones(1, 2, 4, 4), t.ones(1, 2, 4, 4), t.arange(32.0).reshape(1, 2, 4, 4), dropout_p=0.5
    ),
    "DataLoader_shuffle": lambda t: list(
        t.utils.data.DataLoader(list(range(20)), batch_size=6, shuffle=True)
    ),
    "RandomSampler": lambda t: list(t.utils.data.RandomSampler(range(15))),
    "RandomSampler_replacement": lambda t: list(
        t.utils.data.RandomSampler(range(15), replacement=True, num_samples=8)
    ),
    "random_split": lambda t: [
        list(s.indices) for s in t.utils.data.random_split(range(10), [3, 7])
    ],
    "get_rng_state": lambda t: (t.rand(5), t.randn(3), t.randint(0, 9, (7,)), t.get_rng_state()),
    "generator": lambda t: t.randn(20, generator=t.Generator().manual_seed(5)),
    "then_randint": lambda t: (t.randn(21), t.randint(0, 2**31, (6,))),
}
for _dtype in ("int64", "int32", "int16", "int8", "uint8", "bool",
               "float64", "float32", "float16", "bfloat16"):  # fmt: skip
    PARITY_CASES[f"random_{_dtype}"] = lambda t, d=_dtype: t.empty(
        12, dtype=getattr(t, d)
    ).random_()


@pytest.mark.parametrize("seed", [11, 2**40 + 5])
@pytest.mark.parametrize("name", list(PARITY_CASES))
def test_matches_pytorch(torch_ref, name, seed):
    # Each library runs the same call after manual_seed(seed); then both draw a few more
    # words, so a call that consumed a different number of them fails too.
    results = []
    for lib in (torch_ref, rtorch):
        lib.manual_seed(seed)
        out = PARITY_CASES[name](lib)
        results.append(_values(out) + _values(lib.randint(0, 2**20, (4,))))
    assert _same(results[0], results[1]), f"{name}: {_describe(results[0], results[1])}"


@pytest.mark.parametrize("seed", [11, 2**40 + 5])
def test_attention_dropout_draws_as_pytorch(torch_ref, seed):
    # The same initial weights and dropout masks go through float32 products whose
    # rounding differs (PyTorch's BLAS against rtorch's GEMM, a few ulp on these 4-term
    # sums): equal within float32 rounding, where a different mask would move outputs by
    # their own size, and the stream left at the same place.
    results = []
    for lib in (torch_ref, rtorch):
        lib.manual_seed(seed)
        x = lib.ones(3, 1, 4)
        out = lib.nn.MultiheadAttention(4, 2, dropout=0.5)(x, x, x)[0]
        results.append((out.detach().numpy().copy(), lib.randint(0, 2**20, (4,)).tolist()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-5, atol=1e-6)
    assert results[0][1] == results[1][1]


@pytest.mark.parametrize("seed", [11, 2**40 + 5])
def test_orthogonal_init_draws_as_pytorch(torch_ref, seed):
    # The same normal draws go through QR factorisations that differ in their rounding
    # (LAPACK's against rtorch's): equal within float32 rounding of a 4x6 QR, and the
    # stream left at the same place.
    results = []
    for lib in (torch_ref, rtorch):
        lib.manual_seed(seed)
        w = lib.nn.init.orthogonal_(lib.empty(4, 6)).numpy().copy()
        results.append((w, lib.randint(0, 2**20, (4,)).tolist()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=0, atol=2e-6)
    assert results[0][1] == results[1][1]


def test_state_from_pytorch_continues_its_stream(torch_ref):
    torch = torch_ref
    torch.manual_seed(123)
    torch.rand(700)
    torch.randn(3)  # a cached normal in the state
    state = torch.get_rng_state()
    rtorch.set_rng_state(rtorch.tensor(state.tolist(), dtype=rtorch.uint8))
    assert rtorch.get_rng_state().tolist() == state.tolist()
    assert rtorch.initial_seed() == 123
    for draw in (
        lambda t: t.randn(1),
        lambda t: t.randn(40),
        lambda t: t.rand(9, dtype=t.float64),
        lambda t: t.randperm(12),
    ):
        assert _same(_values(draw(torch)), _values(draw(rtorch)))
    # and back: rtorch's state drives torch
    rtorch.manual_seed(77)
    rtorch.randn(5)
    torch.set_rng_state(torch.tensor(rtorch.get_rng_state().tolist(), dtype=torch.uint8))
    assert _same(_values(torch.randn(5)), _values(rtorch.randn(5)))


def _bad_states(lib) -> dict:
    lib.manual_seed(3)
    lib.randn(3)
    s = lib.get_rng_state()

    def patched(lo: int, raw: bytes):
        z = s.clone()
        z[lo : lo + len(raw)] = lib.tensor(list(raw), dtype=lib.uint8)
        return z

    return {
        "legacy_5048": s[:5048].clone(),
        "short": s[:100].clone(),
        "long": lib.zeros(5057, dtype=lib.uint8),
        "left_0": patched(8, struct.pack("<i", 0)),
        "left_625": patched(8, struct.pack("<i", 625)),
        "next_625": patched(16, struct.pack("<Q", 625)),
        "seeded_0": patched(12, struct.pack("<i", 0)),
        "float": s.float(),
        "int8": s.to(lib.int8),
        "non_contiguous": lib.zeros(2 * 5056, dtype=lib.uint8)[::2],
    }


@pytest.mark.parametrize(
    "case",
    ["legacy_5048", "short", "long", "left_0", "left_625", "next_625", "seeded_0", "float",
     "int8", "non_contiguous"],
)  # fmt: skip
def test_set_rng_state_errors_match_pytorch(torch_ref, case):
    outcomes = []
    for lib in (torch_ref, rtorch):
        bad = _bad_states(lib)[case]
        for setter in (lib.set_rng_state, lib.Generator().set_state):
            try:
                setter(bad)
                outcomes.append("accepted")
            except Exception as e:  # noqa: BLE001 - the class and message are compared
                outcomes.append(f"{type(e).__name__}: {e}")
    assert outcomes[2:] == outcomes[:2], f"torch {outcomes[:2]} != rtorch {outcomes[2:]}"
