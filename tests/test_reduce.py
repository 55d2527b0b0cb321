"""Reductions: sum, mean, prod, max/min, amax/amin, argmax/argmin, var/std, norm,
logsumexp, any/all, count_nonzero — values against numpy float64, dtypes, layouts,
empty and 0-dim inputs, errors and gradients."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from conftest import (
    ALL_DTYPES,
    FLOAT_DTYPES,
    INT_DTYPES,
    assert_np_close,
    run_script,
    same_bits_at_every_simd_level,
    to_np,
    with_threads,
)

import rtorch
from rtorch.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def data(
    shape: tuple[int, ...], dtype: rtorch.dtype = rtorch.float32
) -> tuple[rtorch.Tensor, np.ndarray]:
    """A tensor of `dtype` and its exact values as a numpy array."""
    if dtype == rtorch.bool:
        a = RNG.integers(0, 2, shape).astype(bool)
    elif dtype == rtorch.uint8:
        a = RNG.integers(0, 5, shape).astype(np.int64)
    elif dtype in INT_DTYPES:
        a = RNG.integers(-5, 6, shape).astype(np.int64)
    else:
        a = RNG.standard_normal(shape)
    t = rtorch.tensor(a.tolist() if a.ndim else a.item(), dtype=dtype)
    return t, to_np(t)


def dbl(shape: tuple[int, ...]) -> rtorch.Tensor:
    return rtorch.tensor(
        RNG.standard_normal(shape).tolist(), dtype=rtorch.float64, requires_grad=True
    )


# ----- sum / mean / prod -----


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_sum_dtypes(dtype):
    t, a = data((3, 4), dtype)
    exp_dtype = dtype if dtype in FLOAT_DTYPES else rtorch.int64
    for dim in (None, 0, 1, -1, (0, 1)):
        r = t.sum() if dim is None else t.sum(dim)
        assert r.dtype == exp_dtype
        # The dtype's own tolerances: the sum is exact in float64 here, and a half
        # type's result is rounded once (accumulated in float32).
        assert_np_close(r, a.sum(axis=dim).astype(np.float64))


def test_sum_accuracy_float32():
    x = rtorch.full((1 << 20,), 0.1)
    assert abs(x.sum().item() - 104857.6) < 0.05


def test_sum_outer_path_and_layouts():
    t, a = data((70, 300))
    assert_np_close(t.sum(0), a.sum(0))
    assert_np_close(t.sum(0, keepdim=True), a.sum(0, keepdims=True))
    t3, a3 = data((4, 5, 6))
    assert_np_close(t3.sum((0, 1)), a3.sum((0, 1)))
    assert_np_close(t3.sum(1), a3.sum(1))
    assert_np_close(t3.sum((0, 2)), a3.sum((0, 2)))
    assert_np_close(t.t().sum(0), a.T.sum(0))
    assert_np_close(t.t().sum(1), a.T.sum(1))
    e = t.narrow(1, 0, 1).expand(70, 5)
    assert_np_close(e.sum(1), a[:, :1].repeat(5, 1).sum(1))
    big, ab = data((4096, 64))
    assert_np_close(big.sum(0), ab.sum(0))


def test_sum_dtype_kwarg_and_method_function():
    t, a = data((2, 3), rtorch.int32)
    assert rtorch.sum(t, 1, dtype=rtorch.float64).dtype == rtorch.float64
    assert_np_close(rtorch.sum(t, dim=1, keepdim=True), a.sum(1, keepdims=True))


def test_sum_empty_and_scalar():
    assert rtorch.zeros(0).sum().item() == 0
    assert rtorch.zeros(0, 3).sum(0).tolist() == [0.0, 0.0, 0.0]
    s = rtorch.tensor(5.0)
    assert s.sum(0).item() == 5.0 and s.sum(-1).shape == ()
    assert s.sum(0, keepdim=True).shape == ()
    with pytest.raises(IndexError, match="Dimension out of range"):
        s.sum(1)
    with pytest.raises(RuntimeError, match="appears multiple times"):
        rtorch.ones(2, 3).sum((0, 0))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_mean(dtype):
    t, a = data((3, 5), dtype)
    assert_np_close(t.mean(), a.mean())
    assert_np_close(t.mean(1, keepdim=True), a.mean(1, keepdims=True))
    assert_np_close(rtorch.mean(t, (0, 1)), a.mean())
    assert t.mean().dtype == dtype


def test_mean_errors_and_empty():
    with pytest.raises(
        NotImplementedError,
        match="mean\\(\\): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: Long",
    ):
        rtorch.tensor([1, 2]).mean()
    assert rtorch.tensor([1, 2]).mean(dtype=rtorch.float64).item() == 1.5
    assert math.isnan(rtorch.zeros(0).mean().item())


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_prod(dtype):
    t, a = data((2, 3), dtype)
    r = t.prod()
    assert r.dtype == (dtype if dtype in FLOAT_DTYPES else rtorch.int64)
    assert_np_close(r, np.prod(a.astype(np.float64)))
    assert_np_close(t.prod(1), np.prod(a.astype(np.float64), 1))
    assert rtorch.zeros(0).prod().item() == 1


# ----- max / min / amax / amin / argmax / argmin -----


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_max_min_values(dtype):
    t, a = data((3, 4), dtype)
    assert_np_close(t.max(), a.max())
    assert_np_close(rtorch.min(t), a.min())
    v, i = t.max(1)
    assert_np_close(v, a.max(1))
    assert i.dtype == rtorch.int64
    assert i.tolist() == a.argmax(1).tolist()
    r = rtorch.min(t, 0, keepdim=True)
    assert r.values.shape == (1, 4) and r.indices.tolist() == [a.argmin(0).tolist()]
    assert_np_close(t.amax((0, 1)), a.max())
    assert_np_close(t.amin(1, keepdim=True), a.min(1, keepdims=True))
    if dtype == rtorch.bool:
        # PyTorch defines max/min on bool but not argmax/argmin.
        with pytest.raises(NotImplementedError, match="does not support bool input"):
            t.argmax()
        return
    assert t.argmax().item() == a.argmax()
    assert t.argmin(1).tolist() == a.argmin(1).tolist()


def test_max_named_tuple_and_noncontig():
    t, a = data((4, 3))
    r = t.t().max(dim=1)
    assert type(r).__name__ == "max" and r[0] is not None
    assert r.indices.tolist() == a.T.argmax(1).tolist()
    assert "torch.return_types.max(" in repr(r)
    assert t.t().argmax(0).tolist() == a.T.argmax(0).tolist()


def test_ties_and_nan():
    x = rtorch.tensor([1.0, 3.0, 3.0, 0.0])
    assert x.argmax().item() == 1 and x.max(0).indices.item() == 1
    y = rtorch.tensor([1.0, float("nan"), 5.0, float("nan")])
    assert y.argmax().item() == 1 and y.argmin().item() == 1
    assert math.isnan(y.max().item()) and math.isnan(y.amin().item())
    assert y.argmax(keepdim=True).shape == (1,)
    assert rtorch.tensor([[1, 2], [3, 4]]).argmax(keepdim=True).tolist() == [[3]]


def test_max_binary_form():
    a = rtorch.tensor([1.0, 5.0, 2.0])
    b = rtorch.tensor([3.0, 0.0, 2.0])
    assert rtorch.max(a, b).tolist() == [3.0, 5.0, 2.0]
    assert a.min(b).tolist() == [1.0, 0.0, 2.0]


def test_max_empty_and_scalar_errors():
    e = rtorch.zeros(0, 3)
    with pytest.raises(
        RuntimeError,
        match="max\\(\\): Expected reduction dim to be specified for input.numel\\(\\) == 0",
    ):
        e.max()
    with pytest.raises(RuntimeError, match="amin\\(\\): Expected reduction dim"):
        e.amin()
    with pytest.raises(
        IndexError, match="max\\(\\): Expected reduction dim 0 to have non-zero size"
    ):
        e.max(0)
    with pytest.raises(IndexError, match="argmax\\(\\): Expected reduction dim to be specified"):
        e.argmax()
    assert e.max(1).values.shape == (0,)
    s = rtorch.tensor(4.0)
    assert s.max(0).values.item() == 4.0 and s.max(0).indices.item() == 0
    assert s.argmax(-1).item() == 0


# ----- var / std -----


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
def test_var_std(dtype):
    t, a = data((4, 5), dtype)
    assert_np_close(t.var(), a.var(ddof=1))
    assert_np_close(t.std(0), a.std(0, ddof=1))
    assert_np_close(t.var(1, unbiased=False, keepdim=True), a.var(1, keepdims=True))
    assert_np_close(t.std(1, correction=2), a.std(1, ddof=2))
    assert_np_close(rtorch.var(t, (0, 1), correction=0), a.var())
    assert_np_close(t.var(False), a.var())
    assert_np_close(t.t().var(0), a.T.var(0, ddof=1))
    v, m = rtorch.var_mean(t, 1)
    assert_np_close(v, a.var(1, ddof=1))
    assert_np_close(m, a.mean(1))
    s, m = rtorch.std_mean(t)
    assert_np_close(s, a.std(ddof=1))


_NO_DOF = "degrees of freedom is <= 0. Correction should be strictly less than the reduction factor"


def test_var_edge_cases():
    with pytest.warns(UserWarning, match=r"^var\(\): " + _NO_DOF):
        assert math.isnan(rtorch.ones(1).var().item())
    assert rtorch.ones(1).std(unbiased=False).item() == 0.0
    with pytest.raises(NotImplementedError, match="std and var only support floating point"):
        rtorch.tensor([1, 2]).var()
    with pytest.raises(RuntimeError, match="Cannot pass both correction and unbiased"):
        rtorch.ones(3).var(0, True, correction=1)


def test_var_std_warn_without_degrees_of_freedom():
    # PyTorch's reduction factor is input numel / output numel (1 for an empty output).
    cases = [
        (lambda: rtorch.ones(3, 1).std(1), "std"),
        (lambda: rtorch.var(rtorch.ones(2, 3), (0, 1), correction=6), "var"),
        (lambda: rtorch.ones(3, 0).var(0), "var"),
        (lambda: rtorch.var_mean(rtorch.ones(2, 3), 0, correction=2), "var_mean"),
        (lambda: rtorch.std_mean(rtorch.ones(0)), "std_mean"),
    ]
    for call, name in cases:
        with pytest.warns(UserWarning, match=rf"^{name}\(\): {_NO_DOF}"):
            call()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Degrees of freedom left (0.5 and 1): no warning.
        assert rtorch.ones(4).var(correction=3.5).item() == 0.0
        assert rtorch.var_mean(rtorch.ones(2, 3), 1, correction=2)[0].tolist() == [0.0, 0.0]
        # An "error" filter makes the warning raise, as in PyTorch.
        with pytest.raises(UserWarning, match=_NO_DOF):
            rtorch.ones(1).var()


# ----- norm / logsumexp -----


@pytest.mark.parametrize("p", [2, "fro", 1, 3, 0.5, 0, float("inf"), float("-inf")])
def test_norm(p):
    t, a = data((3, 4), rtorch.float64)
    pn = 2 if p == "fro" else p

    def ref(x, axis=None, keepdims=False):
        if pn == 0:
            return (x != 0).sum(axis=axis, keepdims=keepdims).astype(float)
        if pn == float("inf"):
            return np.abs(x).max(axis=axis, keepdims=keepdims)
        if pn == float("-inf"):
            return np.abs(x).min(axis=axis, keepdims=keepdims)
        return (np.abs(x) ** pn).sum(axis=axis, keepdims=keepdims) ** (1 / pn)

    assert_np_close(t.norm(p), ref(a))
    assert_np_close(rtorch.norm(t, p, 1, keepdim=True), ref(a, 1, True))
    assert_np_close(t.t().norm(p, dim=0), ref(a.T, 0))


def test_norm_defaults_and_errors():
    t, a = data((3, 4))
    assert_np_close(t.norm(), np.sqrt((a**2).sum()))
    assert t.norm(dtype=rtorch.float64).dtype == rtorch.float64
    with pytest.raises(NotImplementedError, match="linalg.vector_norm: Expected a floating point"):
        rtorch.tensor([1, 2]).norm()
    assert rtorch.zeros(0).norm().item() == 0.0


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64, rtorch.int64])
def test_logsumexp(dtype):
    t, a = data((3, 4), dtype)
    ref = np.log(np.exp(a.astype(np.float64)).sum(1))
    r = t.logsumexp(1)
    assert r.dtype == (dtype if dtype != rtorch.int64 else rtorch.float32)
    assert_np_close(r, ref)
    big = rtorch.tensor([1000.0, 1000.0])
    assert abs(big.logsumexp(0).item() - (1000 + math.log(2))) < 1e-3
    assert rtorch.tensor([-float("inf")] * 2).logsumexp(0).item() == -float("inf")
    assert_np_close(
        rtorch.logsumexp(t, (0, 1), keepdim=True),
        np.log(np.exp(a.astype(np.float64)).sum(keepdims=True)),
    )


@pytest.mark.parametrize("dtype", [rtorch.float64, rtorch.float32])
@pytest.mark.parametrize("n", [1, 7, 8, 9, 17, 1000])
def test_float64_lane_reductions_on_long_lanes(n, dtype):
    # prod, var/std, norm and logsumexp fold a lane in 8 interleaved partial results:
    # full chunks of 8, tails, and lanes shorter than one chunk, along either dim.
    # float32 lanes are widened block by block, and the float64 result rounded once.
    a = RNG.uniform(0.5, 1.5, (3, n)) * RNG.choice([-1.0, 1.0], (3, n))
    if dtype == rtorch.float32:
        a = a.astype(np.float32).astype(np.float64)
    # (float32's 2-norm sums its squares in float32 lanes: a few roundings, not one.)
    rtol = 1e-12 if dtype == rtorch.float64 else 2.0**-21
    t = rtorch.tensor(a).to(dtype)
    for got, want in [
        (t.prod(1), np.prod(a, 1)),
        (t.t().prod(0), np.prod(a, 1)),
        (t.var(1), a.var(1, ddof=1) if n > 1 else np.full(3, np.nan)),
        (t.std(1, correction=0), a.std(1)),
        (t.norm(dim=1), np.sqrt((a**2).sum(1))),
        (t.norm(p=1, dim=1), np.abs(a).sum(1)),
        (t.norm(p=3, dim=1), (np.abs(a) ** 3).sum(1) ** (1 / 3)),
        (t.logsumexp(1), np.log(np.exp(a).sum(1))),
    ]:
        assert got.dtype == dtype
        np.testing.assert_allclose(got.double().numpy(), want, rtol=rtol, atol=0)
    # a NaN anywhere in the lane reaches the result
    b = a.copy()
    b[1, n - 1] = np.nan
    tb = rtorch.tensor(b).to(dtype)
    for got in (tb.prod(1), tb.var(1, correction=0), tb.norm(dim=1), tb.logsumexp(1)):
        assert np.isnan(got.numpy()[1]) and not np.isnan(got.numpy()[[0, 2]]).any()


# ----- any / all / count_nonzero -----


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_any_all(dtype):
    t, a = data((3, 4), dtype)
    out = rtorch.uint8 if dtype == rtorch.uint8 else rtorch.bool
    assert t.any().dtype == out
    assert bool(t.any().item()) == bool(a.any())
    assert [bool(v) for v in t.all(1).tolist()] == a.all(1).tolist()
    assert [bool(v) for v in rtorch.any(t, 0, keepdim=True).tolist()[0]] == a.any(0).tolist()
    assert t.count_nonzero().item() == np.count_nonzero(a)
    assert t.count_nonzero((0, 1)).item() == np.count_nonzero(a)
    assert rtorch.count_nonzero(t, 0).tolist() == np.count_nonzero(a, 0).tolist()


def test_any_all_empty():
    assert rtorch.zeros(0).all().item() is True
    assert rtorch.zeros(0).any().item() is False


# ----- gradients -----


def test_grad_sum_mean_prod():
    x = dbl((3, 4))
    assert gradcheck(lambda t: t.sum((0, 1)), (x,))
    assert gradcheck(lambda t: t.mean(1, keepdim=True), (x,))
    assert gradcheck(lambda t: t.prod(1), (x,))
    assert gradcheck(lambda t: t.prod(), (x,))
    z = rtorch.tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 1.0]], dtype=rtorch.float64, requires_grad=True)
    assert gradcheck(lambda t: t.prod(1), (z,))
    z.prod().backward()
    assert z.grad.tolist() == [[0.0] * 3, [0.0] * 3]
    z2 = rtorch.tensor([2.0, 0.0, 3.0], dtype=rtorch.float64, requires_grad=True)
    z2.prod().backward()
    assert z2.grad.tolist() == [0.0, 6.0, 0.0]


def test_grad_max_min():
    x = dbl((3, 4))
    assert gradcheck(lambda t: t.max(1).values, (x,))
    assert gradcheck(lambda t: t.min(0, keepdim=True)[0], (x,))
    assert gradcheck(lambda t: t.amax((0, 1)), (x,))
    assert gradcheck(lambda t: t.max(), (x,))
    y = rtorch.tensor([1.0, 3.0, 3.0], requires_grad=True)
    y.max().backward()
    assert y.grad.tolist() == [0.0, 0.5, 0.5]
    w = rtorch.tensor([[1.0, 3.0, 3.0]], requires_grad=True)
    w.amax(1).sum().backward()
    assert w.grad.tolist() == [[0.0, 0.5, 0.5]]
    v = rtorch.tensor([1.0, 3.0, 3.0], requires_grad=True)
    v.max(0).values.backward()
    assert v.grad.tolist() == [0.0, 1.0, 0.0]
    a, b = dbl((3,)), dbl((3,))
    assert gradcheck(lambda p, q: rtorch.max(p, q), (a, b))


def test_grad_var_std_norm_logsumexp():
    x = dbl((3, 4))
    assert gradcheck(lambda t: t.var(1), (x,))
    assert gradcheck(lambda t: t.std(0, correction=0), (x,))
    assert gradgradcheck(lambda t: t.var(1), (x,))
    assert gradcheck(lambda t: t.norm(), (x,))
    assert gradcheck(lambda t: t.norm(3, 1), (x,))
    assert gradcheck(lambda t: t.norm(1, 1), (x,))
    assert gradcheck(lambda t: t.norm(float("inf"), 1), (x,))
    assert gradcheck(lambda t: t.logsumexp(1), (x,))
    assert gradgradcheck(lambda t: t.logsumexp((0, 1)), (x,))
    z = rtorch.zeros(3, dtype=rtorch.float64, requires_grad=True)
    z.norm().backward()
    assert z.grad.tolist() == [0.0, 0.0, 0.0]


def test_nansum_nanmean():
    x = rtorch.tensor(
        [[1.0, float("nan"), 3.0], [float("nan"), float("nan"), 2.0]], dtype=rtorch.float64
    )
    a = to_np(x)
    assert_np_close(x.nansum(), np.nansum(a))
    assert_np_close(rtorch.nansum(x, 1), np.nansum(a, 1))
    assert_np_close(x.nanmean(0), np.array([1.0, np.nan, 2.5]))
    assert_np_close(rtorch.nanmean(x, 1, keepdim=True), np.nanmean(a, 1, keepdims=True))
    assert rtorch.tensor([1, 2]).nansum().dtype == rtorch.int64
    with pytest.raises(
        NotImplementedError, match="nanmean\\(\\): expected input to have floating point"
    ):
        rtorch.tensor([1, 2]).nanmean()
    # PyTorch refuses an integer input even with a floating dtype, and an integer dtype.
    with pytest.raises(NotImplementedError, match="expected input to have floating point"):
        rtorch.nanmean(rtorch.tensor([1, 2]), dtype=rtorch.float64)
    with pytest.raises(RuntimeError, match="Optional dtype must be either a floating point"):
        rtorch.nanmean(rtorch.tensor([1.0, 2.0]), dtype=rtorch.int64)
    y = rtorch.tensor([1.0, float("nan"), 2.0], dtype=rtorch.float64, requires_grad=True)
    y.nansum().backward()
    assert y.grad.tolist() == [1.0, 0.0, 1.0]
    z = dbl((2, 3))
    assert gradcheck(lambda t: t.nanmean(1), (z,))


@pytest.mark.parametrize("n", [65_537, 200_001, 1_000_003])
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16", "float16"])
def test_whole_tensor_sums_are_bitwise_the_same_for_any_thread_count(n, dtype) -> None:
    # Past the parallel chunk size and not a multiple of it: the partition of the
    # sum must not follow the thread count (it did: float32 sums moved in the last bits).
    rng = np.random.default_rng(n)
    base = rng.standard_normal(n) * (1 if dtype == "float16" else 1e3) + rng.random(n)
    x = rtorch.tensor(base).to(getattr(rtorch, dtype))
    exact = x.double().numpy().sum()
    before = rtorch.get_num_threads()
    try:
        got = set()
        for threads in (1, 2, 3, 4):
            rtorch.set_num_threads(threads)
            got.add((x.sum().item(), x.mean().item(), x.nansum().item()))
    finally:
        rtorch.set_num_threads(before)
    assert len(got) == 1
    if dtype == "float32":
        ((s, _, _),) = got
        assert abs(s - exact) <= 1e-5 * np.abs(x.double().numpy()).sum()


# amax/amin kernels: a lane-parallel scan (64 lanes, halving tree, tail), whole
# tensors split into 65,536-element chunks over threads, and leading-dim reductions
# folded four rows at a time into column tiles without a transposing copy.
EXTREME_CASES = [
    ((1,), None),
    ((31,), None),
    ((33,), None),
    ((63,), None),
    ((65,), None),
    ((64 * 3 + 17,), None),
    ((65_536 * 3 + 5,), None),
    ((1000, 37), 1),
    ((64, 1024), 1),
    ((4099, 300), 0),
    ((5, 7, 600), (0, 1)),
    ((3, 9, 5000), 1),
    ((2, 1, 3), 1),
    ((70, 3, 33), (1, 2)),
]


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("threads", [1, 2])
def test_amax_amin_against_numpy_on_every_kernel_path(dtype, threads) -> None:
    def check() -> None:
        for shape, dims in EXTREME_CASES:
            x, a = data(shape, dtype)
            views = [(x, a)] + ([(x.mT, a.swapaxes(-1, -2))] if x.dim() >= 2 else [])
            for t, ref in views:
                for fn, np_fn in ((rtorch.amax, np.max), (rtorch.amin, np.min)):
                    got = fn(t) if dims is None else fn(t, dims)
                    want = np_fn(ref) if dims is None else np_fn(ref, axis=dims)
                    assert got.dtype == dtype
                    np.testing.assert_array_equal(to_np(got), want, err_msg=f"{shape} {dims}")

    with_threads(threads, check)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("threads", [1, 2])
def test_amax_amin_propagate_nan_from_any_position(dtype, threads) -> None:
    def check() -> None:
        n = 65_536 * 2 + 45
        for pos in (0, 1, 31, 32, 63, 64, 100, 65_535, 65_536, n - 45, n - 1):
            x = rtorch.zeros(n, dtype=dtype)
            x[pos] = float("nan")
            for fn in (rtorch.amax, rtorch.amin, rtorch.max, rtorch.min):
                assert fn(x).isnan().item(), (pos, fn)
        # Over a leading dim (the column-tile path) and over the last dim (the row scan).
        x = rtorch.arange(600 * 40, dtype=dtype).reshape(600, 40)
        x[0, 3] = x[301, 7] = x[599, 39] = float("nan")
        for d, where in ((0, [3, 7, 39]), (1, [0, 301, 599])):
            for fn in (rtorch.amax, rtorch.amin):
                assert fn(x, d).isnan().nonzero().flatten().tolist() == where, (d, fn)

    with_threads(threads, check)


_OUTER_EXTREMES = """
import numpy as np, rtorch
rng = np.random.default_rng(2)
# amax/amin over a leading dim: groups of 64 columns kept in registers down blocks of
# 32 rows, the last columns through the first lanes of a group; a NaN in a group and in
# the tail.
for dt in ("float32", "float64", "bfloat16", "int64", "int32", "int8"):
    for r, c in ((1, 70), (33, 64), (100, 200), (4099, 300), (37, 1030)):
        x = rtorch.tensor(rng.standard_normal((r, c)) * 50).to(getattr(rtorch, dt))
        if x.is_floating_point():
            x[r // 2, 5] = x[r - 1, c - 1] = float("nan")
        ref = x.double().numpy()
        for t in (1, 2):
            rtorch.set_num_threads(t)
            for fn, np_fn in ((rtorch.amax, np.max), (rtorch.amin, np.min)):
                got = fn(x, 0).double().numpy()
                assert np.array_equal(got, np_fn(ref, 0), equal_nan=True), (dt, r, c, t)
print("ok")
"""


@pytest.mark.parametrize("level", ["widest", "avx2", "default"])
def test_amax_amin_over_a_leading_dim_at_every_level(level) -> None:
    env = {} if level == "widest" else {"RTORCH_CPU_CAPABILITY": level}
    assert run_script(_OUTER_EXTREMES, **env) == ["ok"]


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64], ids=str)
@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 5), (300, 1001)], ids=str)
def test_whole_sum_of_a_contiguous_tensor_matches_the_general_path(dtype, shape):
    # `x.sum()` of a contiguous float tensor takes a shortcut to the reduction kernel;
    # a non-contiguous view of the same values goes the general way (copied to logical
    # order first). Same values in the same order: the same bits, and within 1e-5 of
    # numpy's float64 sum.
    rng = np.random.default_rng(len(shape))
    a = rng.standard_normal(shape)
    x = rtorch.tensor(a, dtype=dtype)
    fast = x.sum()
    if x.dim() == 2:
        view = x.t().contiguous().t()
    elif x.dim() == 1:
        view = rtorch.tensor(np.repeat(a, 2), dtype=dtype)[::2]
    else:
        view = x
    assert x.numel() <= 1 or not view.is_contiguous()
    general = view.sum()
    assert fast.dtype == dtype and fast.shape == ()
    assert fast.item() == general.item()
    assert abs(fast.item() - a.astype(np.float64).sum()) <= 1e-5 * max(1.0, np.abs(a).sum())
    kept = x.sum(dim=tuple(range(x.dim())), keepdim=True) if x.dim() else x.sum()
    assert kept.shape == (1,) * x.dim() and kept.flatten()[0].item() == fast.item()
    # With a gradient wanted the op is recorded as always.
    w = x.detach().requires_grad_()
    w.sum().backward()
    assert w.grad.shape == x.shape and bool((w.grad == 1).all())


@pytest.mark.parametrize("rows", [5, 16, 17, 33, 1000, 1023])
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_leading_dim_sums_are_bitwise_the_same_for_any_thread_count(rows, dtype) -> None:
    """Sums over a leading dim (the outer path: blocks of 16 rows, their sums combined
    pairwise as they come, column tiles shared out among threads): the same bits for
    1 to 4 threads, within float32's pairwise bound of numpy's float64, for row counts
    on and off the block size, over a middle dim too (`[A, R, C]`)."""
    rng = np.random.default_rng(rows)
    x = rng.standard_normal((rows, 1100))
    y = rng.standard_normal((3, rows, 700))
    dt = getattr(rtorch, dtype)
    xt, yt = rtorch.tensor(x).to(dt), rtorch.tensor(y).to(dt)
    xs, ys = to_np(xt), to_np(yt)  # the rounded inputs

    def sums() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return to_np(xt.sum(0)), to_np(yt.sum(1)), to_np(xt.mean(0))

    first = with_threads(1, sums)
    for threads in (2, 3, 4):
        for a, b in zip(first, with_threads(threads, sums)):
            np.testing.assert_array_equal(a, b)
    tol = {"float32": 1e-5, "float64": 1e-12, "bfloat16": 1e-2}[dtype]
    scale = np.sqrt(rows)  # the sums' magnitude: absolute error relative to it
    np.testing.assert_allclose(first[0], xs.sum(0), rtol=tol, atol=tol * scale)
    np.testing.assert_allclose(first[1], ys.sum(1), rtol=tol, atol=tol * scale)
    np.testing.assert_allclose(first[2], xs.mean(0), rtol=tol, atol=tol * scale / rows)


@pytest.mark.parametrize(
    "shape,dim",
    [((3, 100003), 1), ((3, 100003), 0), ((100, 3), 1), ((2, 5, 7), 1), ((4, 1), 1), ((1, 4), 0)],
)
def test_float32_logsumexp_over_one_dim_of_a_contiguous_tensor(shape, dim):
    """float32 over one dim of a contiguous tensor runs the softmax family's kernel: long
    rows (many summation blocks, tails), short rows, a short leading or middle dim read
    in place; float32 sums as PyTorch's, against float64 numpy; the same values (within
    rounding) as the block reduction a transposed copy takes; the gradient is softmax."""
    a = RNG.standard_normal(shape).astype(np.float32) * 3
    t = rtorch.tensor(a, requires_grad=True)
    got = t.logsumexp(dim)
    a64 = a.astype(np.float64)
    m = a64.max(dim, keepdims=True)
    want = (m + np.log(np.exp(a64 - m).sum(dim, keepdims=True))).squeeze(dim)
    assert got.dtype == rtorch.float32
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=2e-6, atol=1e-6)
    assert tuple(t.logsumexp(dim, keepdim=True).shape) == tuple(np.expand_dims(want, dim).shape)
    strided = rtorch.tensor(np.ascontiguousarray(np.swapaxes(a, 0, -1))).transpose(0, -1)
    assert not strided.is_contiguous() or 1 in shape
    np.testing.assert_allclose(
        strided.logsumexp(dim).numpy(), got.detach().numpy(), rtol=2e-6, atol=1e-6
    )
    got.sum().backward()
    soft = np.exp(a64 - np.expand_dims(want, dim))
    np.testing.assert_allclose(t.grad.numpy(), soft, rtol=1e-5, atol=1e-6)


def test_float32_logsumexp_infinities_nan_and_empty():
    """PyTorch's results where the maximum is infinite (the block reduction takes those
    rows), a NaN, an all -inf row, an empty dim (-inf) and an empty output."""
    inf, nan = float("inf"), float("nan")
    rows = [[inf, 1.0], [inf, inf], [inf, -inf], [-inf, -inf], [-inf, 1.0], [nan, 1.0]]
    for x in (rtorch.tensor(rows), rtorch.tensor(rows).t().contiguous().t()):
        got = x.logsumexp(1).tolist()
        assert got[:5] == [inf, inf, inf, -inf, 1.0]
        assert math.isnan(got[5])
    cols = rtorch.tensor(rows).t().contiguous()
    assert cols.logsumexp(0).tolist()[:5] == [inf, inf, inf, -inf, 1.0]
    assert rtorch.zeros(3, 0).logsumexp(1).tolist() == [-inf] * 3
    assert tuple(rtorch.zeros(0, 4).logsumexp(1).shape) == (0,)


@pytest.mark.parametrize("c", [5, 24, 32, 256])
def test_float32_row_results_do_not_depend_on_the_rows_around_them(c) -> None:
    # Short float32 rows are reduced in groups of 16 (8 with AVX2), in parts of about
    # 8192 values per task above 32768 (the 2-norm and the product: row after row in
    # one loop, in parts alike): a row's sum, amax, amin, norm and product must be the same
    # bits whether it starts a group, sits inside one, or is computed alone, and for
    # any thread count.
    rng = np.random.default_rng(c)
    a = rng.standard_normal((40_000 // c + 37, c)).astype(np.float32)
    x = rtorch.tensor(a)
    reductions = (
        lambda t: t.sum(1).numpy(),
        lambda t: t.amax(1).numpy(),
        lambda t: t.amin(1).numpy(),
        lambda t: np.stack([r.numpy() for r in t.max(1)]),
        lambda t: t.norm(dim=1).numpy(),
        lambda t: t.prod(1, dtype=rtorch.float64).numpy(),
    )
    for fn in reductions:
        whole = with_threads(1, functools.partial(fn, x))
        assert np.array_equal(with_threads(2, functools.partial(fn, x)), whole)
        assert np.array_equal(with_threads(3, functools.partial(fn, x)), whole)
        for start in (1, 5, 300):
            assert np.array_equal(fn(x[start:]), whole[..., start:]), start
        assert np.array_equal(fn(x[7:20]), whole[..., 7:20])
    ref = a.astype(np.float64)
    np.testing.assert_array_equal(x.amax(1).numpy(), ref.max(1))
    assert (np.abs(x.sum(1).numpy() - ref.sum(1)) <= 1e-6 * np.abs(ref).sum(1)).all()


@pytest.mark.parametrize("c", [2, 3, 4, 8, 15])
def test_float32_sums_of_rows_under_16_add_in_order(c) -> None:
    # PyTorch sums rows of up to 4 values, and of 8, one value after another; rtorch
    # keeps that order below 16 (the grouped row kernels add in lanes from 16 on), so
    # such sums agree bit for bit (cancelling sums, such as a Multinomial's log_prob).
    rng = np.random.default_rng(c)
    a = (rng.standard_normal((70, c)) * 1000).astype(np.float32)
    in_order = np.add.accumulate(a, axis=1, dtype=np.float32)[:, -1]
    np.testing.assert_array_equal(rtorch.tensor(a).sum(1).numpy(), in_order)


_LEVEL_BITS = """
import hashlib
import numpy as np
import rtorch
rng = np.random.default_rng(5)
h = hashlib.sha256()
for c in (1, 3, 15, 16, 17, 33, 100, 257, 1000):
    a = (rng.standard_normal((40_000 // c + 3, c)) * 1.2).astype(np.float32)
    x = rtorch.tensor(a)
    for r in (x.norm(dim=1), x.prod(1), x.prod(1, dtype=rtorch.float64),
              rtorch.linalg.vector_norm(x, dim=1, dtype=rtorch.float64)):
        h.update(r.numpy().tobytes())
print(h.hexdigest())
"""


def test_float32_row_norms_and_products_have_the_same_bits_at_every_level() -> None:
    # The 2-norm and the product of float32 rows fold float64 lanes in a fixed order:
    # the AVX-512 and AVX2 row loops (masked or padded tails, the lanes combined in
    # registers) give the bits of the portable one-row-at-a-time kernel.
    assert same_bits_at_every_simd_level(_LEVEL_BITS)
