"""cumsum, cumprod, cummax, cummin: values against numpy, dtypes (int -> int64,
dtype=), layouts, empty/0-dim inputs, errors and gradients (zeros in cumprod)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, assert_np_close, to_np, with_threads

import rtorch
from rtorch.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(2)


def data(
    shape: tuple[int, ...], dtype: rtorch.dtype = rtorch.float32
) -> tuple[rtorch.Tensor, np.ndarray]:
    if dtype == rtorch.bool:
        a = RNG.integers(0, 2, shape).astype(bool)
    elif dtype == rtorch.uint8:
        a = RNG.integers(0, 4, shape)
    elif dtype in INT_DTYPES:
        a = RNG.integers(-3, 4, shape)
    else:
        a = RNG.uniform(0.5, 1.5, shape)
    t = rtorch.tensor(a.tolist(), dtype=dtype)
    return t, to_np(t)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_cumsum_cumprod_dtypes(dtype):
    t, a = data((3, 4), dtype)
    exp = dtype if dtype in FLOAT_DTYPES else rtorch.int64
    tol = {"rtol": 2e-2, "atol": 2e-2} if dtype in (rtorch.float16, rtorch.bfloat16) else {}
    for dim in (0, 1, -1):
        c = t.cumsum(dim)
        assert c.dtype == exp
        assert_np_close(c, np.cumsum(a.astype(np.float64), dim), **tol)
        p = rtorch.cumprod(t, dim)
        assert p.dtype == exp
        assert_np_close(p, np.cumprod(a.astype(np.float64), dim), **tol)


def test_dtype_kwarg_layouts_edge():
    t, a = data((3, 4))
    assert t.cumsum(1, dtype=rtorch.float64).dtype == rtorch.float64
    assert rtorch.cumsum(rtorch.tensor([1.0, 2.5]), 0, dtype=rtorch.int32).tolist() == [1, 3]
    assert_np_close(t.t().cumsum(1), np.cumsum(a.T, 1))
    assert_np_close(t.t().cumprod(0), np.cumprod(a.T, 0))
    e = t.narrow(0, 0, 1).expand(2, 4)
    assert_np_close(e.cumsum(0), np.cumsum(np.repeat(a[:1], 2, 0), 0))
    assert rtorch.zeros(0, 2).cumsum(0).shape == (0, 2)
    s = rtorch.tensor(3.0)
    assert s.cumsum(0).item() == 3.0 and s.cumprod(-1).shape == ()
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.cumsum(2)
    with pytest.raises(TypeError):
        t.cumsum()


def test_cummax_cummin():
    x = rtorch.tensor([[1.0, 3.0, 2.0, 3.0, 0.0], [5.0, 4.0, 6.0, 1.0, 7.0]])
    r = x.cummax(1)
    assert r.values.tolist() == [[1, 3, 3, 3, 3], [5, 5, 6, 6, 7]]
    assert r.indices.tolist() == [[0, 1, 1, 3, 3], [0, 0, 2, 2, 4]]
    m = rtorch.cummin(x, 0)
    a = to_np(x)
    assert_np_close(m.values, np.minimum.accumulate(a, 0))
    assert type(r).__name__ == "cummax"
    i = rtorch.tensor([3, 1, 2]).cummin(0)
    assert i.values.tolist() == [3, 1, 1] and i.values.dtype == rtorch.int64


def _running_extreme(a: np.ndarray, largest: bool) -> tuple[np.ndarray, np.ndarray]:
    """Reference cummax/cummin along the last axis: a later equal value takes over,
    the first NaN stays."""
    vals, idx = np.empty_like(a), np.empty(a.shape, dtype=np.int64)
    for row in np.ndindex(a.shape[:-1]):
        best, at = a[row][0], 0
        for i, v in enumerate(a[row]):
            beats = np.isnan(v) or (v >= best if largest else v <= best)
            if beats and not np.isnan(best):
                best, at = v, i
            vals[row + (i,)], idx[row + (i,)] = best, at
    return vals, idx


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("largest", [True, False])
def test_cummax_cummin_ties_nan_and_parallel_rows(dtype: rtorch.dtype, largest: bool) -> None:
    # 200 rows of 200: above the grain, so rows run on several threads; few distinct
    # values, so ties are everywhere; NaNs in the float rows.
    x, a = data((200, 200), dtype)
    if dtype.is_floating_point:
        x = x.clone()
        x[::7, 50::61] = float("nan")
        a = to_np(x)
    want_v, want_i = _running_extreme(a.astype(np.float64), largest)
    name = "cummax" if largest else "cummin"
    for dim, src in ((1, x), (0, x.t().contiguous())):
        run = getattr(src, name)
        for threads in (1, 2):
            r = with_threads(threads, lambda run=run, dim=dim: run(dim))
            v, i = (r.values, r.indices) if dim == 1 else (r.values.t(), r.indices.t())
            np.testing.assert_array_equal(to_np(v).astype(np.float64), want_v)
            np.testing.assert_array_equal(i.numpy(), want_i)


@pytest.mark.parametrize("shape, dim", [((0,), 0), ((3, 0), 1), ((0, 4), 0), ((0, 4), 1)])
def test_cummax_cummin_empty(shape: tuple[int, ...], dim: int) -> None:
    x = rtorch.empty(shape)
    for r in (x.cummax(dim), rtorch.cummin(x, dim)):
        assert r.values.shape == shape and r.indices.shape == shape
        assert r.indices.dtype == rtorch.int64


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64, rtorch.bfloat16])
@pytest.mark.parametrize("dim", [0, 1, 2])
def test_cumsum_backward_is_reverse_cumsum(dtype: rtorch.dtype, dim: int) -> None:
    # The gradient is the reverse running sum of the incoming gradient (given here as a
    # transposed, non-contiguous tensor), accumulated as the forward scan accumulates.
    x = rtorch.randn(40, 30, 50).to(dtype).requires_grad_(True)
    g = rtorch.randn(50, 30, 40).to(dtype).permute(2, 1, 0)
    x.cumsum(dim).backward(g)
    want = np.flip(np.cumsum(np.flip(to_np(g), dim), dim), dim)
    tol = 2e-2 if dtype == rtorch.bfloat16 else 1e-5
    np.testing.assert_allclose(to_np(x.grad), want, rtol=tol, atol=tol * 10)


def test_grads():
    x = rtorch.tensor(
        RNG.uniform(0.5, 1.5, (3, 4)).tolist(), dtype=rtorch.float64, requires_grad=True
    )
    assert gradcheck(lambda t: t.cumsum(1), (x,))
    assert gradcheck(lambda t: t.cumsum(0), (x,))
    assert gradgradcheck(lambda t: t.cumsum(1) * t, (x,))
    assert gradcheck(lambda t: t.cumprod(1), (x,))
    assert gradcheck(lambda t: t.cumprod(0), (x,))
    z = rtorch.tensor(
        [[2.0, 0.0, 3.0, 0.5], [0.0, 1.5, 0.0, 2.0]], dtype=rtorch.float64, requires_grad=True
    )
    assert gradcheck(lambda t: t.cumprod(1), (z,))
    assert gradcheck(lambda t: t.cummax(1).values, (x,))
    w = rtorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w.cumsum(0).sum().backward()
    assert w.grad.tolist() == [3.0, 2.0, 1.0]


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
@pytest.mark.parametrize(
    ("shape", "dim"),
    [
        ((1024, 1024), 1),  # rows: one running sum per row, parallel over rows
        ((16384, 16), 1),  # short rows, parts of 512 rows per task
        ((5001, 13), 1),  # parts of 630 rows, the last one short; 2 rows after groups of 4
        ((64, 4096), 1),  # long rows: parts of 4 rows (one group of four chains)
        ((3, 6), 1),  # fewer rows than a group
        ((1024, 1024), 0),  # down the dim with a row of sums, column chunks of 512
        ((32, 64, 600), 1),  # a middle dim, a partial column chunk
        ((3, 5, 7), 2),
        ((3, 5, 7), 0),
        ((0, 4), 1),
        ((4, 0), 0),
    ],
)
def test_cumsum_direct_float_path_matches_float64_sums(dtype, shape, dim):
    # Contiguous float32/float64 is summed straight into its dtype in float64: the same
    # bits as summing in float64 (dtype=float64) and rounding once, for any threads.
    v = np.random.default_rng(9).standard_normal(shape)
    x = rtorch.tensor(v, dtype=dtype)
    got = rtorch.cumsum(x, dim)
    assert got.dtype == dtype and got.shape == x.shape
    via64 = rtorch.cumsum(x, dim, dtype=rtorch.float64).to(dtype)
    np.testing.assert_array_equal(got.numpy(), via64.numpy())
    ref = np.cumsum(x.numpy().astype(np.float64), axis=dim)
    np.testing.assert_array_equal(got.numpy(), ref.astype(got.numpy().dtype))
    one = with_threads(1, lambda: rtorch.cumsum(x, dim).numpy())
    np.testing.assert_array_equal(one, got.numpy())


def round_to_bf16(a: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 (to nearest even) -> float32, in numpy (no NaNs here)."""
    bits = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    kept = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return kept.astype(np.uint32).view(np.float32)


def in_half(a: np.ndarray, dtype: rtorch.dtype) -> np.ndarray:
    """float32 values rounded to `dtype` (float16/bfloat16), as float32."""
    if dtype == rtorch.float16:
        return a.astype(np.float16).astype(np.float32)
    return round_to_bf16(a)


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16])
@pytest.mark.parametrize(
    ("shape", "dim", "layout"),
    [
        ((600, 700), 1, "contiguous"),  # the direct kernel, rows in parallel
        ((700, 600), 0, "contiguous"),  # down the dim, column chunks of 512 and a tail
        ((3, 5, 7), 1, "contiguous"),
        ((700, 600), 1, "transposed"),  # the lane path
        ((0, 4), 1, "contiguous"),
    ],
)
def test_half_scans_accumulate_in_float32_as_pytorch(dtype, shape, dim, layout):
    # PyTorch's CPU scans keep a 16-bit float's running value in float32 (acc_type),
    # rounding each output: the reference is numpy's sequential float32 accumulation.
    rng = np.random.default_rng(4)
    v = rng.standard_normal(shape) * np.exp(rng.uniform(-12, 4, shape))
    x = rtorch.tensor(v, dtype=dtype)
    if layout == "transposed":
        x = x.t()
    xs = x.float().numpy()
    got = rtorch.cumsum(x, dim)
    assert got.dtype == dtype and got.shape == x.shape
    ref = in_half(np.cumsum(xs, axis=dim, dtype=np.float32), dtype)
    np.testing.assert_array_equal(got.float().numpy(), ref)
    if xs.size > 1000:
        # The data tells the two accumulations apart (else the test could not fail).
        via64 = in_half(np.cumsum(xs.astype(np.float64), axis=dim).astype(np.float32), dtype)
        assert (via64 != ref).any()
    one = with_threads(1, lambda: rtorch.cumsum(x, dim).float().numpy())
    np.testing.assert_array_equal(one, got.float().numpy())
    # cumprod and cumsum's backward (a reversed cumsum) accumulate the same way.
    p = 1 + 0.01 * np.tanh(v)
    xp = rtorch.tensor(p, dtype=dtype)
    ps = xp.float().numpy()
    np.testing.assert_array_equal(
        xp.cumprod(-1).float().numpy(), in_half(np.cumprod(ps, -1, dtype=np.float32), dtype)
    )
    g = rtorch.tensor(v, dtype=dtype)
    w = rtorch.zeros(shape, dtype=dtype, requires_grad=True)
    w.cumsum(-1).backward(g)
    gs = g.float().numpy()
    rev = np.flip(np.cumsum(np.flip(gs, -1), -1, dtype=np.float32), -1)
    np.testing.assert_array_equal(w.grad.float().numpy(), in_half(rev, dtype))


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
@pytest.mark.parametrize(
    ("shape", "dim"), [((600, 700), 1), ((700, 600), 0), ((4, 70, 600), 1), ((4099, 9), 1)]
)
def test_cumprod_direct_float_path_matches_float64_products(dtype, shape, dim):
    # Contiguous float32/float64 runs its product in float64, rounding each output.
    v = 1 + 0.02 * np.random.default_rng(5).standard_normal(shape)
    x = rtorch.tensor(v, dtype=dtype)
    got = rtorch.cumprod(x, dim)
    assert got.dtype == dtype
    ref = np.cumprod(x.numpy().astype(np.float64), axis=dim)
    np.testing.assert_array_equal(got.numpy(), ref.astype(got.numpy().dtype))
    one = with_threads(1, lambda: rtorch.cumprod(x, dim).numpy())
    np.testing.assert_array_equal(one, got.numpy())


@pytest.mark.parametrize("dtype", [rtorch.int64, rtorch.int32, rtorch.uint8, rtorch.bool])
@pytest.mark.parametrize(("shape", "dim"), [((600, 700), 1), ((700, 600), 0), ((3, 5, 7), 1)])
def test_integer_scans_run_in_int64_and_wrap(dtype, shape, dim):
    # Integers (bool included) scan in int64 (the direct kernel after a widening cast),
    # wrapping on overflow as PyTorch's int64 does; numpy's int64 accumulation wraps too.
    rng = np.random.default_rng(6)
    if dtype == rtorch.int64:
        v = rng.integers(-(2**62), 2**62, shape)  # sums overflow within a few steps
    elif dtype == rtorch.bool:
        v = rng.integers(0, 2, shape).astype(bool)
    else:
        v = rng.integers(0, 100, shape)
    x = rtorch.tensor(v, dtype=dtype)
    a = x.numpy().astype(np.int64)
    with np.errstate(over="ignore"):
        want_sum = np.cumsum(a, axis=dim, dtype=np.int64)
        want_prod = np.cumprod(a, axis=dim, dtype=np.int64)
    s = x.cumsum(dim)
    assert s.dtype == rtorch.int64
    np.testing.assert_array_equal(s.numpy(), want_sum)
    np.testing.assert_array_equal(x.cumprod(dim).numpy(), want_prod)
    if x.dim() == 2:  # a transposed input takes the lane path
        with np.errstate(over="ignore"):
            want_t = np.cumsum(a.T, axis=0, dtype=np.int64)
        np.testing.assert_array_equal(x.t().cumsum(0).numpy(), want_t)
    one = with_threads(1, lambda: x.cumsum(dim).numpy())
    np.testing.assert_array_equal(one, want_sum)
