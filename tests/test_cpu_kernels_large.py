"""The CPU kernels behind the device layer (index, reduce, reorder, scan, sort, creation)
on sizes above the parallel grain (32768 elements), on non-contiguous inputs and on
every dtype family, against numpy in float64 (or exact integer references)."""

from __future__ import annotations

import numpy as np
import pytest

import rtorch

GRAIN = 32768
RNG = np.random.default_rng(7)


def t(a: np.ndarray) -> rtorch.Tensor:
    return rtorch.from_numpy(np.ascontiguousarray(a))


@pytest.mark.parametrize("transposed", [False, True])
def test_advanced_indexing_gathers_rows_in_parallel(transposed: bool) -> None:
    x = RNG.standard_normal((400, 300))
    xt = t(x.T.copy()).t() if transposed else t(x)
    idx = RNG.integers(0, 400, 200)
    got = xt[t(idx)]
    assert got.numel() > GRAIN
    np.testing.assert_array_equal(got.numpy(), x[idx])
    cols = RNG.integers(0, 300, 150)
    np.testing.assert_array_equal(xt[:, t(cols)].numpy(), x[:, cols])
    np.testing.assert_array_equal(xt[t(idx[:150]), t(cols)].numpy(), x[idx[:150], cols])


def test_index_put_accumulates_repeated_rows() -> None:
    idx = RNG.integers(0, 50, 400)
    vals = RNG.standard_normal((400, 120))
    ref = np.zeros((50, 120))
    np.add.at(ref, idx, vals)
    got = rtorch.zeros(50, 120, dtype=rtorch.float64)
    got.index_put_((t(idx),), t(vals), accumulate=True)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-12, atol=1e-12)
    # Without accumulate a repeated index keeps the last write, as PyTorch's CPU kernel.
    last = rtorch.zeros(50, 120, dtype=rtorch.float64)
    last.index_put_((t(idx),), t(vals))
    want = np.zeros((50, 120))
    for i, r in zip(idx, vals):
        want[i] = r
    np.testing.assert_array_equal(last.numpy(), want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_gather_and_scatter_add_large(dtype) -> None:
    x = (RNG.standard_normal((300, 200)) * 10).astype(dtype)
    index = RNG.integers(0, 200, (300, 150))
    got = rtorch.gather(t(x), 1, t(index))
    np.testing.assert_array_equal(got.numpy(), np.take_along_axis(x, index, 1))
    src = (RNG.standard_normal((300, 150)) * 10).astype(dtype)
    ref = np.zeros((300, 200), dtype=np.float64)
    np.add.at(ref, (np.arange(300)[:, None], index), src.astype(np.float64))
    out = rtorch.zeros(300, 200, dtype=got.dtype).scatter_add(1, t(index), t(src))
    tol = 1e-4 if dtype == np.float32 else 0
    np.testing.assert_allclose(out.numpy().astype(np.float64), ref, rtol=tol, atol=tol)
    with pytest.raises(RuntimeError, match="index 200 is out of bounds for dimension 1"):
        rtorch.gather(t(x), 1, t(np.full((2, 2), 200)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_max_argmax_over_rows_in_parallel(dtype) -> None:
    x = (RNG.standard_normal((300, 200)) * 100).astype(dtype)
    x[5, 17] = x[5, 3] = x[5].max() + 1  # a tie: the first index wins
    v, i = rtorch.max(t(x), dim=1)
    np.testing.assert_array_equal(v.numpy(), x.max(1))
    np.testing.assert_array_equal(i.numpy(), x.argmax(1))
    assert i[5].item() == 3
    np.testing.assert_array_equal(rtorch.amin(t(x), 1).numpy(), x.min(1))
    np.testing.assert_array_equal(rtorch.argmin(t(x).t(), 0).numpy(), x.argmin(1))
    if x.dtype.kind == "f":
        xn = x.copy()
        xn[7, 50] = np.nan
        vn, ii = rtorch.max(t(xn), dim=1)
        assert np.isnan(vn[7].item()) and ii[7].item() == 50


def test_sums_over_leading_dims_in_parallel_tiles() -> None:
    x = RNG.standard_normal((3, 64, 1000))
    got = rtorch.sum(t(x), dim=1)
    np.testing.assert_allclose(got.numpy(), x.sum(1), rtol=1e-12, atol=1e-12)
    x32 = x.astype(np.float32)
    # float32 sums of 192 values of size ~1: absolute error ~192 * 2**-24, and results
    # near zero make a relative bound meaningless, hence the absolute one.
    ref32 = x32.astype(np.float64).sum((0, 1))
    np.testing.assert_allclose(rtorch.sum(t(x32), dim=(0, 1)).numpy(), ref32, rtol=1e-6, atol=2e-5)
    big = RNG.standard_normal(200_000)
    np.testing.assert_allclose(rtorch.tensor(big).sum().item(), big.sum(), rtol=1e-12)
    assert not rtorch.tensor(np.ones(GRAIN * 2)).eq(0).any().item()


def test_flip_and_triangles_large_and_strided() -> None:
    x = RNG.standard_normal((4, 90, 120))
    xt = t(x.transpose(0, 2, 1).copy()).transpose(1, 2)
    np.testing.assert_array_equal(rtorch.flip(xt, (0, 2)).numpy(), x[::-1, :, ::-1])
    np.testing.assert_array_equal(rtorch.tril(xt, -3).numpy(), np.tril(x, -3))
    np.testing.assert_array_equal(rtorch.triu(xt, 5).numpy(), np.triu(x, 5))


def test_creation_fills() -> None:
    np.testing.assert_array_equal(rtorch.arange(0, 70000, 3).numpy(), np.arange(0, 70000, 3))
    np.testing.assert_allclose(
        rtorch.linspace(-2, 5, 50001, dtype=rtorch.float64).numpy(),
        np.linspace(-2, 5, 50001),
        rtol=0,
        atol=1e-14,
    )
    np.testing.assert_array_equal(rtorch.eye(300, 200).numpy(), np.eye(300, 200))
    assert rtorch.eye(0, 5).shape == (0, 5) and rtorch.eye(3, 0).shape == (3, 0)


def test_sort_and_cummax_lanes_in_parallel() -> None:
    x = RNG.standard_normal((300, 200))
    v, i = rtorch.sort(t(x), dim=1, descending=True)
    np.testing.assert_array_equal(v.numpy(), -np.sort(-x, 1))
    np.testing.assert_array_equal(np.take_along_axis(x, i.numpy(), 1), v.numpy())
    cv, ci = rtorch.cummax(t(x), dim=1)
    np.testing.assert_array_equal(cv.numpy(), np.maximum.accumulate(x, 1))
    np.testing.assert_array_equal(np.take_along_axis(x, ci.numpy(), 1), cv.numpy())


@pytest.mark.parametrize("dim", [0, 1, 2])
def test_gather_and_scatter_share_lines_among_threads(dim: int) -> None:
    """gather/scatter above the grain walk index's lines along `dim` on several threads
    (one outer position and a piece of the inner ones per task; one-element inner runs
    for the last dim), with an index smaller than the tensor in the other dims: numpy's
    values, the same bits on 1 and 2 threads, repeated indices summed in index order."""
    from conftest import with_threads

    shape, ishape = (6, 300, 40), [5, 250, 30]
    x = RNG.standard_normal(shape).astype(np.float32)
    index = RNG.integers(0, shape[dim], ishape)  # repeats along dim
    src = RNG.standard_normal(ishape).astype(np.float32)
    assert index.size > GRAIN
    # gather: x restricted to index's extent in the dims other than `dim`.
    part = x[tuple(slice(None) if k == dim else slice(0, ishape[k]) for k in range(3))]
    want = np.take_along_axis(part, index, dim)
    ref = np.zeros(shape)
    coords = list(np.indices(ishape))
    coords[dim] = index
    np.add.at(ref, tuple(coords), src.astype(np.float64))

    def run() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g = rtorch.gather(t(x), dim, t(index)).numpy()
        s = rtorch.zeros(shape).scatter_add(dim, t(index), t(src)).numpy()
        v = rtorch.zeros(shape).scatter(dim, t(index), 2.5).numpy()
        return g, s, v

    one, two = with_threads(1, run), with_threads(2, run)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(two[0], want)
    np.testing.assert_allclose(two[1], ref, rtol=1e-5, atol=1e-5)
    hit = np.zeros(shape, dtype=bool)
    hit[tuple(coords)] = True
    np.testing.assert_array_equal(two[2], np.where(hit, 2.5, 0.0))
    # A bad value far into the index: the error, not a partial result.
    bad = index.copy()
    bad[4, 200, 20] = shape[dim]
    for threads in (1, 2):
        with pytest.raises(
            RuntimeError, match=f"index {shape[dim]} is out of bounds for dimension {dim}"
        ):
            with_threads(threads, lambda: rtorch.gather(t(x), dim, t(bad)))
        with pytest.raises(RuntimeError, match="out of bounds"):
            with_threads(threads, lambda: rtorch.zeros(shape).scatter_add_(dim, t(bad), t(src)))
