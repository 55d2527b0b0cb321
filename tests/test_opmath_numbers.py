"""PyTorch's rounding where a half tensor meets a Python number, in the fused
addcmul/addcdiv/lerp kernels, and in conversions to bfloat16 and from int64.

Each rule was measured against PyTorch 2.15 on 20,000 random values (the other
candidate formula differing in hundreds to thousands of them); the references here are
the same formulas written in numpy float32/float64, or exact rational arithmetic.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import rtorch

HALF = [rtorch.float16, rtorch.bfloat16]
N = 40_003  # above the elementwise parallel grain, not a multiple of a vector width


def bf16_round(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 by round-to-nearest-even on the bits, as float32."""
    b = np.asarray(x, np.float32).view(np.uint32).astype(np.int64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) >> 16 << 16
    return b.astype(np.uint32).view(np.float32)


def rounded(x: np.ndarray, dtype) -> np.ndarray:
    """float32 values rounded once to `dtype`, as float32."""
    x = np.asarray(x, np.float32)
    return x.astype(np.float16).astype(np.float32) if dtype == rtorch.float16 else bf16_round(x)


def values(dtype, seed, scale=10.0, n=N):
    rng = np.random.default_rng(seed)
    return rtorch.tensor(rng.standard_normal(n) * scale, dtype=dtype)


def f32(t):
    return t.float().numpy()


def same(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    ok = (got == want) | (np.isnan(got) & np.isnan(want))
    bad = np.flatnonzero(~ok)
    assert bad.size == 0, (
        f"{bad.size} differ, first at {bad[:4]}: {got[bad[:4]]} vs {want[bad[:4]]}"
    )


@pytest.mark.parametrize("dtype", HALF, ids=str)
@pytest.mark.parametrize("layout", ["contiguous", "strided"])
def test_half_times_a_number_keeps_the_number_in_float32(dtype, layout):
    x = values(dtype, 1)
    if layout == "strided":
        x = x[::3]
    a = f32(x)
    with np.errstate(all="ignore"):
        for got, want in [
            (x * 0.1, a * np.float32(0.1)),
            (0.1 * x, a * np.float32(0.1)),
            (x.clone().mul_(0.1), a * np.float32(0.1)),
            (x / 3.3, a / np.float32(3.3)),
            (x.clone().div_(3.3), a / np.float32(3.3)),
            (x // 0.7, np.floor_divide(a, np.float32(0.7))),
            (rtorch.div(x, 0.7, rounding_mode="trunc"), np.trunc(a / np.float32(0.7))),
        ]:
            assert got.dtype == dtype
            same(f32(got), rounded(want, dtype))


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_half_plus_a_number_rounds_the_number_first(dtype):
    x = values(dtype, 2)
    a = f32(x)
    c = rounded(np.float32(0.1), dtype)
    same(f32(x + 0.1), rounded(a + c, dtype))
    same(f32(x - 0.1), rounded(a - c, dtype))
    same(f32(0.1 - x), rounded(c - a, dtype))
    seven = rounded(np.float32(0.7), dtype)
    with np.errstate(all="ignore"):
        fm = np.fmod(a, seven)
    same(f32(rtorch.fmod(x, 0.7)), rounded(fm, dtype))
    # alpha of add/sub is rounded to the tensor's type too.
    y = values(dtype, 3)
    b = f32(y)
    same(f32(rtorch.add(x, y, alpha=0.1)), rounded(a + c * b, dtype))
    same(f32(rtorch.sub(x, y, alpha=0.1)), rounded(a - c * b, dtype))


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_gradient_of_a_product_by_a_number(dtype):
    x = values(dtype, 4).requires_grad_(True)
    g = values(dtype, 5)
    (x * 0.1).backward(g)
    same(f32(x.grad), rounded(f32(g) * np.float32(0.1), dtype))
    x.grad = None
    (x / 3.3).backward(g)
    same(f32(x.grad), rounded(f32(g) / np.float32(3.3), dtype))


def fma32(a, b, c):
    """float32 fused multiply-add: the float32 product is exact in float64, so the
    float64 sum rounded to float32 is the fused result (but for a double rounding on
    an exact float32 midpoint, which these inputs do not hit)."""
    return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(np.float32)


def lerp32(s, e, w):
    small = np.abs(w) < 0.5
    coeff = np.where(small, w, w - np.float32(1))
    return fma32(coeff, e - s, np.where(small, s, e))


@pytest.mark.parametrize("dtype", [rtorch.float32] + HALF, ids=str)
def test_fused_addcmul_addcdiv_lerp(dtype):
    s, e, w = values(dtype, 6), values(dtype, 7), values(dtype, 8, 1.0)
    t1, t2 = values(dtype, 9, 1.0), values(dtype, 10, 1.0)
    S, E, W, T1, T2 = (f32(t) for t in (s, e, w, t1, t2))

    def fix(v):
        return v if dtype == rtorch.float32 else rounded(v, dtype)

    v = np.float32(0.1)
    same(f32(rtorch.addcmul(s, t1, t2, value=0.1)), fix(fma32(v * T1, T2, S)))
    same(f32(rtorch.addcmul(s, t1, t2)), fix(fma32(T1, T2, S)))
    same(f32(s.clone().addcmul_(t1, t2, value=0.1)), fix(fma32(v * T1, T2, S)))
    same(f32(rtorch.addcdiv(s, t1, t2, value=0.1)), fix(S + v * T1 / T2))
    same(f32(rtorch.lerp(s, e, w)), fix(lerp32(S, E, W)))
    for wt in (0.3, 0.7):
        wv = np.full_like(S, np.float32(wt))
        same(f32(rtorch.lerp(s, e, wt)), fix(lerp32(S, E, wv)))
        same(f32(s.clone().lerp_(e, wt)), fix(lerp32(S, E, wv)))


def test_fused_float64_against_exact_arithmetic():
    n = 1500
    s, e, w = (
        values(rtorch.float64, 11, n=n),
        values(rtorch.float64, 12, n=n),
        values(rtorch.float64, 13, 1.0, n=n),
    )
    t1, t2 = values(rtorch.float64, 14, 1.0, n=n), values(rtorch.float64, 15, 1.0, n=n)
    S, E, W, T1, T2 = (t.tolist() for t in (s, e, w, t1, t2))

    def fma(a, b, c):
        return float(Fraction(a) * Fraction(b) + Fraction(c))  # one correct rounding

    got = rtorch.addcmul(s, t1, t2, value=0.1).tolist()
    assert got == [fma(0.1 * a, b, c) for a, b, c in zip(T1, T2, S)]
    got = rtorch.lerp(s, e, w).tolist()
    assert got == [
        fma(x if abs(x) < 0.5 else x - 1.0, b - a, a if abs(x) < 0.5 else b)
        for a, b, x in zip(S, E, W)
    ]


def test_fused_ops_broadcast_grad_and_names():
    gradcheck = rtorch.autograd.gradcheck
    rng = np.random.default_rng(16)
    s = rtorch.tensor(rng.standard_normal((3, 1)), requires_grad=True)
    t1 = rtorch.tensor(rng.standard_normal((1, 4)), requires_grad=True)
    t2 = rtorch.tensor(rng.standard_normal((3, 4)) + 3.0, requires_grad=True)
    assert gradcheck(lambda a, b, c: rtorch.addcmul(a, b, c, value=0.7), (s, t1, t2))
    assert gradcheck(lambda a, b, c: rtorch.addcdiv(a, b, c, value=0.7), (s, t1, t2))
    e = rtorch.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert gradcheck(lambda a, b, c: rtorch.lerp(a, b, c), (s, e, t2 / 4))
    assert gradcheck(lambda a, b: rtorch.lerp(a, b, 0.3), (s, e))
    assert rtorch.addcmul(s, t1, t2).grad_fn.name() == "AddcmulBackward0"
    assert rtorch.addcdiv(s, t1, t2).grad_fn.name() == "AddcdivBackward0"
    assert rtorch.lerp(s, e, 0.3).grad_fn.name() == "LerpBackward0"
    assert rtorch.lerp(s, e, t2).grad_fn.name() == "LerpBackward1"
    # Integers: the exact ring operations, wrapping.
    i = rtorch.tensor([2**62, 5], dtype=rtorch.int64)
    assert rtorch.addcmul(i, i, rtorch.tensor([4, 2]), value=3).tolist() == [
        (2**62 + 3 * 2**62 * 4 + 2**63) % 2**64 - 2**63,
        5 + 3 * 5 * 2,
    ]


def test_bfloat16_from_float64_rounds_through_float32():
    # Just under a bfloat16 midpoint whose lower neighbour is odd: one rounding gives
    # 1.0078125, float64 -> float32 -> bfloat16 gives 1.015625 (PyTorch's value).
    v = 1.01171875 - 2.0**-40
    assert rtorch.tensor([v], dtype=rtorch.float64).to(rtorch.bfloat16).item() == 1.015625
    assert rtorch.tensor([v], dtype=rtorch.bfloat16).item() == 1.015625
    assert rtorch.full((1,), v, dtype=rtorch.bfloat16).item() == 1.015625
    x = np.random.default_rng(17).standard_normal(200_000) * 10
    same(rtorch.from_numpy(x).to(rtorch.bfloat16).float().numpy(), bf16_round(x.astype(np.float32)))


def test_int64_to_float32_rounds_once_but_python_ints_go_through_double():
    big = 2**60 + 2**36 + 1  # just above a float32 midpoint
    t = rtorch.tensor([big, -big], dtype=rtorch.int64)
    assert t.to(rtorch.float32).tolist() == [2**60 + 2**37, -(2**60 + 2**37)]
    assert t.to(rtorch.bfloat16).tolist() == [2**60, -(2**60)]
    # A Python int stored into a float tensor is read as a double first (PyTorch).
    assert rtorch.tensor([big], dtype=rtorch.float32).tolist() == [2**60]


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_half_times_a_one_element_tensor_takes_its_value_in_float32(dtype):
    # A 0-dim (or one-element, broadcast) tensor of any float dtype is the kernel's
    # scalar operand: PyTorch reads its value in float32, not rounded to `dtype`.
    x = values(dtype, 18)
    a = f32(x)
    for s in [
        rtorch.tensor(0.1, dtype=rtorch.float32),  # 0-dim: does not promote
        rtorch.tensor(0.1, dtype=rtorch.float64),
        rtorch.tensor(3.3, dtype=rtorch.float16),
        rtorch.tensor([3.3], dtype=dtype),  # one element, broadcast
    ]:
        v = np.float32(s.double().item())
        same(f32(x * s), rounded(a * v, dtype))
        same(f32(x / s), rounded(a / v, dtype))
    # A one-element tensor that grows the result is an ordinary operand.
    big = rtorch.tensor([[0.1]], dtype=dtype)
    assert (x[:3] * big).shape == (1, 3)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64], ids=str)
@pytest.mark.parametrize("layout", ["contiguous", "strided"])
def test_add_with_alpha_is_one_fused_multiply_add(dtype, layout):
    # PyTorch computes x + alpha * y as fma(y, alpha, x); the unfused form differs in
    # the last bit of about 1 in 5 float32 results. Reference: the exact value rounded
    # once (float32 operands: their product is exact in float64; float64: fractions).
    n = N if dtype == rtorch.float32 else 1500
    x, y = values(dtype, 19, n=n), values(dtype, 20, n=n)
    if layout == "strided":
        x, y = x[:-1:2], y[1::2]
    for alpha, fn in [
        (0.3, lambda: rtorch.add(x, y, alpha=0.3)),
        (-0.1, lambda: rtorch.sub(x, y, alpha=0.1)),
        (0.7, lambda: x.clone().add_(y, alpha=0.7)),
    ]:
        got = fn().tolist()
        if dtype == rtorch.float32:
            a32 = np.float32(alpha)
            want = (
                y.numpy().astype(np.float64) * np.float64(a32) + x.numpy().astype(np.float64)
            ).astype(np.float32)
            same(got, want)
        else:
            want = [
                float(Fraction(alpha) * Fraction(b) + Fraction(a))
                for a, b in zip(x.tolist(), y.tolist())
            ]
            assert got == want
