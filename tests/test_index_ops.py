"""Index ops: index_select, gather, scatter(_add), index_add/fill/copy, masked_*,
take, where, nonzero/argwhere, index_put."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ALL_DTYPES, to_np, with_threads

import rtorch
from rtorch.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)
M = np.arange(12, dtype=np.float64).reshape(3, 4)


def T(a, **kw) -> rtorch.Tensor:
    return rtorch.tensor(np.asarray(a), **kw)


def I(a) -> rtorch.Tensor:
    return T(np.asarray(a, dtype=np.int64))


def leaf(a) -> rtorch.Tensor:
    return T(np.asarray(a, dtype=np.float64), requires_grad=True)


def check(t: rtorch.Tensor, expected) -> None:
    expected = np.asarray(expected)
    assert tuple(t.shape) == expected.shape
    np.testing.assert_array_equal(to_np(t).reshape(expected.shape), expected)


def noncontig():
    base = T(np.arange(12.0).reshape(4, 3))
    return base.t(), np.arange(12.0).reshape(4, 3).T


# ----- index_select / take -----


def test_index_select():
    x = T(M)
    check(x.index_select(0, I([2, 0, 2])), M[[2, 0, 2]])
    check(rtorch.index_select(x, 1, I([3, 0])), M[:, [3, 0]])
    check(x.index_select(1, T(np.array([1], dtype=np.int32))), M[:, [1]])
    check(x.index_select(0, I([])), M[[]])
    check(x.index_select(0, I(1)), M[[1]])
    y, a = noncontig()
    check(y.index_select(1, I([3, 0])), a[:, [3, 0]])
    with pytest.raises(IndexError, match="index out of range in self"):
        x.index_select(0, I([3]))
    with pytest.raises(IndexError, match="Index is supposed to be a vector"):
        x.index_select(0, I([[0]]))
    with pytest.raises(IndexError, match="Expected dtype int32 or int64"):
        x.index_select(0, T(np.array([0.0])))
    g = leaf(RNG.standard_normal((3, 4)))
    assert gradcheck(lambda t: t.index_select(0, I([0, 2, 0])), (g,))
    assert gradgradcheck(
        lambda t: t.index_select(1, I([1, 1])) * t.index_select(1, I([0, 3])), (g,)
    )


def test_take():
    x = T(M)
    check(x.take(I([0, 11, 5])), M.reshape(-1)[[0, 11, 5]])
    check(rtorch.take(x, I([[1, -1]])), M.reshape(-1)[[[1, -1]]])
    y, a = noncontig()
    check(y.take(I([1, 4])), a.reshape(-1)[[1, 4]])
    with pytest.raises(
        IndexError, match="out of range: tried to access index 100 on a tensor of 12 elements"
    ):
        x.take(I([100]))
    assert gradcheck(lambda t: t.take(I([0, 0, 5])), (leaf(M),))


# ----- gather / scatter -----


def np_gather(a, dim, idx):
    return np.take_along_axis(a, idx, dim)


def test_gather():
    x = T(M)
    idx = np.array([[0, 2], [1, 1], [3, 0]])
    check(x.gather(1, I(idx)), np_gather(M, 1, idx))
    idx0 = np.array([[2, 0, 1, 1]])
    check(rtorch.gather(x, 0, I(idx0)), np_gather(M, 0, idx0))
    y, a = noncontig()
    check(y.gather(1, I(idx)), np_gather(a, 1, idx))
    # the index may be smaller than the input in other dims
    check(x.gather(1, I([[1], [2]])), [[1.0], [6.0]])
    with pytest.raises(RuntimeError, match="index 4 is out of bounds for dimension 1 with size 4"):
        x.gather(1, I([[4]]))
    with pytest.raises(RuntimeError, match=r"gather\(\): Expected dtype int32/int64 for index"):
        x.gather(1, T(np.array([[0.0]])))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        x.gather(0, I([0]))
    g = leaf(RNG.standard_normal((3, 4)))
    assert gradcheck(lambda t: t.gather(1, I([[0, 0], [3, 1], [2, 2]])), (g,))
    assert gradgradcheck(
        lambda t: t.gather(0, I([[0, 1, 2, 0]])) * t.gather(0, I([[2, 1, 0, 0]])), (g,)
    )


def np_scatter(a, dim, idx, src, add=False):
    out = a.copy()
    for pos in np.ndindex(*idx.shape):
        tgt = list(pos)
        tgt[dim] = idx[pos]
        v = src[pos] if isinstance(src, np.ndarray) else src
        if add:
            out[tuple(tgt)] += v
        else:
            out[tuple(tgt)] = v
    return out


def test_scatter_and_scatter_add():
    x = T(M)
    idx = np.array([[0, 2], [3, 3], [1, 0]])
    src = -np.arange(6.0).reshape(3, 2) - 1
    check(x.scatter(1, I(idx), T(src)), np_scatter(M, 1, idx, src))
    check(x.scatter(1, I(idx), 7.5), np_scatter(M, 1, idx, 7.5))
    check(rtorch.scatter(x, 1, I(idx), value=2.0), np_scatter(M, 1, idx, 2.0))
    check(x.scatter_add(1, I(idx), T(src)), np_scatter(M, 1, idx, src, add=True))
    check(
        rtorch.scatter_add(x, 0, I([[0, 0, 0, 0]]), T(np.ones((1, 4)))),
        M + np.array([[1.0] * 4, [0] * 4, [0] * 4]),
    )
    check(x.scatter(1, I(idx), T(src), reduce="add"), np_scatter(M, 1, idx, src, add=True))
    mul = x.scatter(1, I([[1], [1], [1]]), 2.0, reduce="multiply")
    check(mul, M * np.array([[1, 2, 1, 1]] * 3))
    y = x.clone()
    y.scatter_(1, I(idx), T(src))
    check(y, np_scatter(M, 1, idx, src))
    y = x.clone()
    y.scatter_add_(1, I(idx), T(src))
    check(y, np_scatter(M, 1, idx, src, add=True))
    with pytest.raises(RuntimeError, match="out of bounds"):
        x.scatter(1, I([[5]]), 1.0)
    with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply"):
        x.scatter(1, I(idx), 1.0, reduce="max")
    a = leaf(RNG.standard_normal((3, 4)))
    s = leaf(RNG.standard_normal((3, 2)))
    uniq = I([[0, 2], [3, 1], [1, 0]])
    assert gradcheck(lambda t, v: t.scatter(1, uniq, v), (a, s))
    assert gradcheck(lambda t, v: t.scatter_add(1, I(idx), v), (a, s))
    assert gradgradcheck(lambda t, v: t.scatter_add(1, I(idx), v * v), (a, s))


# ----- index_add / index_fill / index_copy -----


def test_index_add_fill_copy():
    x = T(M)
    src = np.ones((2, 4))
    e = M.copy()
    np.add.at(e, [0, 0], src)
    check(x.index_add(0, I([0, 0]), T(src)), e)
    e = M.copy()
    np.add.at(e, (slice(None), [1, 3]), 2 * np.ones((3, 2)))
    check(rtorch.index_add(x, 1, I([1, 3]), T(np.ones((3, 2))), alpha=2), e)
    y = x.clone()
    y.index_add_(0, I([2]), T(np.full((1, 4), 5.0)))
    check(y, M + np.array([[0.0] * 4, [0] * 4, [5] * 4]))
    e = M.copy()
    e[:, [0, 2]] = -1
    check(x.index_fill(1, I([0, 2]), -1), e)
    check(x.index_fill(1, I([0, 2]), T(np.array(-1.0))), e)
    y = x.clone()
    y.index_fill_(1, I([0, 2]), -1)
    check(y, e)
    e = M.copy()
    e[[2, 0]] = np.zeros((2, 4))
    check(x.index_copy(0, I([2, 0]), T(np.zeros((2, 4)))), e)
    y = x.clone()
    y.index_copy_(0, I([2, 0]), T(np.zeros((2, 4))))
    check(y, e)
    with pytest.raises(
        RuntimeError,
        match=r"index_add_\(\): Number of indices \(1\) should be equal to source.size\(dim\): \(2\)",
    ):
        x.index_add(0, I([0]), T(np.ones((2, 4))))
    with pytest.raises(
        RuntimeError, match="index_fill_ only supports a 0-dimensional value tensor"
    ):
        x.index_fill(0, I([0]), T(np.array([1.0, 2.0])))
    a = leaf(RNG.standard_normal((3, 4)))
    s = leaf(RNG.standard_normal((2, 4)))
    assert gradcheck(lambda t, v: t.index_add(0, I([1, 1]), v, alpha=3), (a, s))
    assert gradcheck(lambda t: t.index_fill(1, I([0, 3]), 2.0), (a,))
    assert gradcheck(lambda t, v: t.index_copy(0, I([2, 0]), v), (a, s))


# ----- masked ops -----


def test_masked_fill():
    x = T(M)
    m = M % 3 == 0
    check(x.masked_fill(T(m), -1.0), np.where(m, -1.0, M))
    check(rtorch.masked_fill(x, T(m[0]), 5), np.where(m[0], 5.0, M))  # broadcast mask
    check(x.masked_fill(T(m), T(np.array(2.0))), np.where(m, 2.0, M))
    y = x.clone()
    y.masked_fill_(T(m), 0.0)
    check(y, np.where(m, 0.0, M))
    i = T(np.arange(4)).masked_fill(T(np.array([True, False, True, False])), 9)
    assert i.dtype == rtorch.int64
    check(i, [9, 1, 9, 3])
    with pytest.raises(RuntimeError, match="only supports a 0-dimensional value tensor"):
        x.masked_fill(T(m), T(np.array([1.0, 2.0])))
    with pytest.raises(RuntimeError, match="only supports boolean masks"):
        x.masked_fill(T(M), 1.0)
    with pytest.raises(RuntimeError, match="must match"):
        x.masked_fill(T(np.array([True, False])), 1.0)
    a = leaf(RNG.standard_normal((3, 4)))
    v = leaf(np.array(0.5))
    assert gradcheck(lambda t, s: t.masked_fill(T(m), s), (a, v))


def test_masked_select_scatter():
    x = T(M)
    m = M > 4.5
    check(x.masked_select(T(m)), M[m])
    check(
        rtorch.masked_select(x, T(m[1])), np.broadcast_to(M, (3, 4))[np.broadcast_to(m[1], (3, 4))]
    )
    y, a = noncontig()
    check(y.masked_select(T(a > 5)), a[a > 5])
    src = -np.arange(12.0) - 1
    e = M.copy()
    e[m] = src[: m.sum()]
    check(x.masked_scatter(T(m), T(src)), e)
    z = x.clone()
    z.masked_scatter_(T(m), T(src))
    check(z, e)
    with pytest.raises(RuntimeError, match="Number of elements of source < number of ones in mask"):
        x.masked_scatter(T(m), T(np.ones(2)))
    a = leaf(RNG.standard_normal((3, 4)))
    s = leaf(RNG.standard_normal(12))
    assert gradcheck(lambda t: t.masked_select(T(m)), (a,))
    assert gradcheck(lambda t, v: t.masked_scatter(T(m), v), (a, s))


# ----- where / nonzero -----


def test_where():
    c = M > 5
    o = -M
    check(rtorch.where(T(c), T(M), T(o)), np.where(c, M, o))
    r = rtorch.where(T(c), T(M), 0)
    assert r.dtype == rtorch.float64
    check(r, np.where(c, M, 0))
    r = rtorch.where(T(c), 1, 0)
    assert r.dtype == rtorch.int64
    r = rtorch.where(T(c), 1.0, 0)
    assert r.dtype == rtorch.float32
    f32 = T(M.astype(np.float32))
    r = rtorch.where(T(c), f32, T(o))
    assert r.dtype == rtorch.float64
    r = rtorch.where(T(c), f32, T(np.array(1.0)))
    assert r.dtype == rtorch.float32
    check(T(M).where(T(c), T(o[0])), np.where(c, M, o[0]))
    y, a = noncontig()
    check(rtorch.where(T(a > 4), y, 0.0), np.where(a > 4, a, 0.0))
    with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor"):
        rtorch.where(T(M), T(M), T(M))
    nz = rtorch.where(T(c))
    assert isinstance(nz, tuple) and len(nz) == 2
    for got, exp in zip(nz, np.nonzero(c)):
        check(got, exp)
    a = leaf(RNG.standard_normal((3, 4)))
    b = leaf(RNG.standard_normal((1, 4)))
    assert gradcheck(lambda p, q: rtorch.where(T(c), p, q), (a, b))
    assert gradgradcheck(lambda p, q: rtorch.where(T(c), p * q, q), (a, b))


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_nonzero_and_copy_ops_all_dtypes(dtype):
    a = np.array([[0, 1, 0], [2, 0, 3]], dtype=np.float64)
    x = T(a).to(dtype)
    nz = x.nonzero()
    assert nz.dtype == rtorch.int64
    check(nz, np.argwhere(a))
    check(rtorch.argwhere(x), np.argwhere(a))
    for got, exp in zip(rtorch.nonzero(x, as_tuple=True), np.nonzero(a)):
        check(got, exp)
    ref = a.astype(bool) if dtype == rtorch.bool else a
    check(x.index_select(1, I([2, 0])), ref[:, [2, 0]])
    check(x.gather(1, I([[2], [0]])), np.take_along_axis(ref, np.array([[2], [0]]), 1))
    check(x.masked_select(T(a > 0)), ref[a > 0])
    check(x.take(I([5, 0])), ref.reshape(-1)[[5, 0]])
    check(rtorch.where(T(a > 0), x, x.flip(1)), np.where(a > 0, ref, ref[:, ::-1]))
    check(rtorch.nn.functional.embedding(I([1, 0, 1]), x), ref[[1, 0, 1]])
    s = x.scatter(1, I([[0], [1]]), x.index_select(1, I([2])))
    e = ref.copy()
    e[0, 0] = ref[0, 2]
    e[1, 1] = ref[1, 2]
    check(s, e)
    y = x.clone()
    y.index_put_((I([0, 1]), I([0, 0])), T(np.array([1, 1], dtype=np.float64)).to(dtype))
    e = ref.copy()
    e[[0, 1], [0, 0]] = 1
    check(y, e)


def test_nonzero_edge_cases():
    check(T(np.zeros((0, 3))).nonzero(), np.zeros((0, 2)))
    check(T(np.array(5.0)).nonzero(), np.zeros((1, 0)))
    check(T(np.array([np.nan, 0.0])).nonzero(), [[0]])
    # The elements' bits decide (one loop per element size): -0.0 alone is zero for the
    # floating dtypes, while the integer with only the sign bit set is not.
    for dtype in (rtorch.float16, rtorch.bfloat16, rtorch.float32, rtorch.float64):
        x = T(np.array([-0.0, 0.0, np.nan, -np.inf, -1.0, 0.0, 1e-45, -0.0])).to(dtype)
        want = [[2], [3], [4]] + ([[6]] if x[6].item() != 0 else [])
        check(x.nonzero(), want)
    for dtype, low in ((rtorch.int8, -128), (rtorch.int16, -(2**15)), (rtorch.int32, -(2**31))):
        check(rtorch.tensor([0, low, 0, 1], dtype=dtype).nonzero(), [[1], [3]])
    check(rtorch.tensor([0, -(2**63), 0], dtype=rtorch.int64).nonzero(), [[1]])
    check(rtorch.tensor([128, 0], dtype=rtorch.uint8).nonzero(), [[0]])


@pytest.mark.parametrize(
    "shape", [(70_001,), (300, 257), (40, 30, 61), (7, 6, 5, 300), (5, 6, 7, 8, 30), (3, 0, 4)]
)
@pytest.mark.parametrize("dtype", [rtorch.bool, rtorch.float32, rtorch.int64], ids=str)
@pytest.mark.parametrize("threads", [1, 2])
def test_nonzero_chunks_above_the_grain(shape, dtype, threads):
    """Chunks of 32768 elements counted and written from their offsets (rows split
    across chunks), every rank's write loop; NaN counts as non-zero, -0.0 does not."""
    a = RNG.standard_normal(shape)
    a[a < 0.3] = 0.0
    if dtype == rtorch.float32 and a.size:
        flat = a.reshape(-1)
        flat[:: max(1, flat.size // 50)] = np.nan
        flat[1 :: max(1, flat.size // 50)] = -0.0
    x = T(a).to(dtype)
    ref = a.astype(bool) if dtype == rtorch.bool else a
    if dtype == rtorch.int64:
        ref = a.astype(np.int64)
    before = rtorch.get_num_threads()
    rtorch.set_num_threads(threads)
    try:
        check(x.nonzero(), np.argwhere(ref))
        for got, exp in zip(rtorch.nonzero(x, as_tuple=True), np.nonzero(ref)):
            check(got, exp)
    finally:
        rtorch.set_num_threads(before)


# ----- index_put -----


def test_index_put():
    x = T(np.zeros(5))
    x.index_put_((I([0, 0, 3]),), T(np.array([1.0, 2.0, 3.0])), accumulate=True)
    check(x, [3.0, 0, 0, 3.0, 0])
    y = T(np.zeros((2, 3)))
    r = rtorch.index_put(y, (I([1]), I([2])), T(np.array(4.0)))
    check(r, [[0, 0, 0], [0, 0, 4.0]])
    check(y, np.zeros((2, 3)))
    z = T(np.zeros((2, 3)))
    z.index_put_((T(np.array([True, False])),), T(np.array(1.0)))
    check(z, [[1.0, 1, 1], [0, 0, 0]])
    with pytest.raises(
        RuntimeError, match="Index put requires the source and destination dtypes match"
    ):
        z.index_put_((I([0]),), T(np.array([1], dtype=np.int64)))
    a = leaf(RNG.standard_normal((3, 4)))
    v = leaf(RNG.standard_normal(2))
    assert gradcheck(lambda t, s: t.index_put((I([0, 0]), I([1, 1])), s, accumulate=True), (a, v))
    assert gradcheck(lambda t, s: t.index_put((I([0, 2]), I([1, 3])), s), (a, v))
    with pytest.raises(RuntimeError, match="leaf Variable"):
        a.index_put_((I([0]),), T(np.array(1.0, dtype=np.float64)))


def test_negative_index_rules():
    x = T(M)
    with pytest.raises(IndexError, match="index out of range in self"):
        x.index_select(0, I([-1]))
    with pytest.raises(RuntimeError, match="index -1 is out of bounds for dimension 1 with size 4"):
        x.gather(1, I([[-1]]))
    with pytest.raises(RuntimeError, match="index -1 is out of bounds for dimension 1 with size 4"):
        x.scatter(1, I([[-1]]), 5.0)
    with pytest.raises(RuntimeError, match="index -1 is out of bounds for dimension 0 with size 3"):
        x.index_add(0, I([-1]), T(np.ones((1, 4))))
    with pytest.raises(IndexError, match=r"index_copy_\(\): index -1 is out of bounds"):
        x.index_copy(0, I([-1]), T(np.ones((1, 4))))
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x.index_fill(0, I([3]), 5.0)
    e = M.copy()
    e[-1] = 5.0
    check(x.index_fill(0, I([-1]), 5.0), e)
    check(x.take(I([-1])), [11.0])


def test_in_place_index_ops_on_nonleaf_grad():
    a = leaf(RNG.standard_normal((3, 4)))
    y = a * 2
    y.index_fill_(1, I([0]), 0.0)
    y.masked_fill_(T(M > 10), 0.0)
    y.sum().backward()
    e = np.full((3, 4), 2.0)
    e[:, 0] = 0
    e[M > 10] = 0
    check(a.grad, e)


@pytest.mark.parametrize(
    "dtype", [rtorch.uint8, rtorch.bfloat16, rtorch.int32, rtorch.float32, rtorch.float64]
)
@pytest.mark.parametrize(
    ("shape", "dim", "n_idx"),
    [
        # Whole rows of a leading dim, every fixed row width (2..64 elements), others.
        ((50, 2), 0, 33),
        ((40, 4), 0, 17),
        ((30, 8), 0, 9),
        ((20, 16), 0, 40),
        ((9, 32), 0, 5),
        ((9, 64), 0, 13),
        ((11, 3), 0, 7),
        ((7, 100), 0, 20),
        ((1, 6, 5, 3), 1, 9),  # leading dims of size 1 before the indexed one
        ((2000, 32), 0, 5000),  # above the grain: blocks of rows over threads, a tail
        ((300, 100), 0, 3001),
        ((5,), 0, 6),  # rows of one element
    ],
)
def test_index_select_whole_rows(shape, dim, n_idx, dtype):
    rng = np.random.default_rng(12)
    v = rng.integers(0, 200, shape)
    idx = rng.integers(0, shape[dim], n_idx)
    x = rtorch.tensor(v).to(dtype)
    expected = np.take(v, idx, axis=dim)
    for index in (rtorch.tensor(idx), rtorch.tensor(idx.astype(np.int32))):
        got = x.index_select(dim, index)
        assert got.dtype == dtype
        np.testing.assert_array_equal(to_np(got), expected)
    one = with_threads(1, lambda: x.index_select(dim, rtorch.tensor(idx)))
    np.testing.assert_array_equal(to_np(one), expected)


@pytest.mark.parametrize("dtype", [rtorch.uint8, rtorch.float16, rtorch.float32, rtorch.int64])
def test_getitem_one_index_tensor_takes_whole_rows(dtype):
    rng = np.random.default_rng(13)
    v = rng.integers(0, 100, (300, 5, 32))
    x = rtorch.tensor(v).to(dtype)
    idx = rng.integers(-300, 300, (40, 7))  # negative indices count from the end
    want = v[idx]
    for index in (rtorch.tensor(idx), rtorch.tensor(idx.astype(np.int32))):
        np.testing.assert_array_equal(to_np(x[index]), want)
        np.testing.assert_array_equal(to_np(x[index, :]), want)
    np.testing.assert_array_equal(to_np(x[:, 1][rtorch.tensor(idx)]), v[:, 1][idx])  # strided
    big = rtorch.tensor(rng.integers(0, 9, (5000,)))  # rows of one element, above the grain
    ib = rng.integers(0, 5000, 40000)
    np.testing.assert_array_equal(big[rtorch.tensor(ib)].numpy(), big.numpy()[ib])
    assert tuple(x[rtorch.tensor([], dtype=rtorch.int64)].shape) == (0, 5, 32)
    for bad in (300, -301):
        with pytest.raises(IndexError, match=f"index {bad} is out of bounds for dimension 0 "
                                             "with size 300"):  # fmt: skip
            x[rtorch.tensor([0, bad])]
    w = leaf(RNG.standard_normal((6, 3)))
    y = w[I([5, -1, 0])]
    assert y.grad_fn.name() == "IndexBackward0"
    g = RNG.standard_normal((3, 3))
    y.backward(T(g))
    want_g = np.zeros((6, 3))
    np.add.at(want_g, [5, 5, 0], g)
    np.testing.assert_allclose(w.grad.numpy(), want_g, rtol=1e-15)


def test_index_select_whole_rows_grad_and_errors():
    x = leaf(RNG.standard_normal((6, 4)))
    y = x.index_select(0, I([5, 0, 5, 2]))
    assert y.grad_fn.name() == "IndexSelectBackward0"
    g = RNG.standard_normal((4, 4))
    y.backward(T(g))
    want = np.zeros((6, 4))
    np.add.at(want, [5, 0, 5, 2], g)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-15)
    assert gradgradcheck(lambda t: t.index_select(0, I([1, 1, 3])), (x,))
    # The strided path records the same node.
    assert x.t().index_select(1, I([0])).grad_fn.name() == "IndexSelectBackward0"
    for bad in ([6], [-1], [0, 7]):
        with pytest.raises(IndexError, match="index out of range in self"):
            x.index_select(0, I(bad))
    assert tuple(x.index_select(0, I([])).shape) == (0, 4)
    assert tuple(rtorch.zeros(0, 3).index_select(0, I([])).shape) == (0, 3)


@pytest.mark.parametrize(
    ("shape", "dim", "n_idx"),
    [
        ((1024, 1024), 1, 512),  # innermost indexed dim: each row across all indices
        ((1024, 1024), 0, 512),  # leading dim: one block copy per row
        ((64, 256, 32), 1, 300),  # middle dim: dense runs of 32 after it
        ((64, 256, 32), 2, 20),  # last dim of 3-D
        ((7, 5, 3), 1, 4),  # below the parallel grain
        ((3, 1), 1, 6),  # one-element runs
    ],
)
def test_index_select_gather_paths_match_numpy(shape, dim, n_idx):
    rng = np.random.default_rng(11)
    v = rng.standard_normal(shape)
    idx = rng.integers(0, shape[dim], n_idx)  # repeats included
    x = rtorch.tensor(v, dtype=rtorch.float32)
    expected = np.take(v.astype(np.float32), idx, axis=dim)
    got = rtorch.index_select(x, dim, rtorch.tensor(idx))
    np.testing.assert_array_equal(got.numpy(), expected)
    # A strided (transposed) source takes the element walk: the same values.
    xt = rtorch.tensor(np.ascontiguousarray(np.swapaxes(v, 0, -1)), dtype=rtorch.float32)
    got_t = rtorch.index_select(xt.transpose(0, -1), dim, rtorch.tensor(idx))
    np.testing.assert_array_equal(got_t.numpy(), expected)
    # Advanced indexing over the last dim goes through the same kernel.
    if dim == len(shape) - 1:
        np.testing.assert_array_equal(x[..., rtorch.tensor(idx)].numpy(), expected)


@pytest.mark.parametrize(
    ("shape", "dim", "n_idx"),
    [
        ((64, 256, 32), 1, 300),  # middle dim: dense runs of 32, shared out among threads
        ((512, 300), 1, 200),  # innermost indexed dim: one-element runs
        ((600, 100), 0, 900),  # leading dim: whole rows
        ((50, 999), 0, 70),  # long rows cut in pieces between threads, misaligned rows
        ((7, 5, 3), 1, 4),  # below the parallel grain
    ],
)
def test_index_add_and_index_put_scatter_paths_match_numpy(shape, dim, n_idx):
    """`index_add` (the backward of `index_select`) and `index_put` with repeated indices
    against numpy, on the run and element paths, above and below the parallel grain, with
    1 and 2 threads giving the same bits; a non-contiguous destination (written in place
    on one thread) too."""
    rng = np.random.default_rng(12)
    base = rng.standard_normal(shape).astype(np.float32)
    idx = rng.integers(0, shape[dim], n_idx)  # repeats included
    src_shape = list(shape)
    src_shape[dim] = n_idx
    src = rng.standard_normal(src_shape).astype(np.float32)
    expected = base.astype(np.float64)
    moved = np.moveaxis(expected, dim, 0)
    np.add.at(moved, idx, np.moveaxis(src.astype(np.float64), dim, 0))
    x, s, i = rtorch.tensor(base), rtorch.tensor(src), rtorch.tensor(idx)

    def add() -> np.ndarray:
        return rtorch.index_add(x, dim, i, s).numpy()

    one, two = with_threads(1, add), with_threads(2, add)
    np.testing.assert_array_equal(one, two)
    # float32 sums of a few terms in index order against float64.
    np.testing.assert_allclose(two, expected, rtol=1e-5, atol=1e-5)

    # In place into a contiguous destination (summed straight into it), same bits.
    def add_() -> np.ndarray:
        y = x.clone()
        y.index_add_(dim, i, s)
        return y.numpy()

    np.testing.assert_array_equal(with_threads(2, add_), one)
    np.testing.assert_array_equal(with_threads(1, add_), one)
    # Without accumulation the last write of a repeated index wins.
    last = base.copy()
    np.moveaxis(last, dim, 0)[idx] = np.moveaxis(src, dim, 0)
    ix = [slice(None)] * len(shape)
    ix[dim] = i

    def put() -> np.ndarray:
        y = x.clone()
        y[tuple(ix)] = s
        return y.numpy()

    np.testing.assert_array_equal(with_threads(2, put), last)
    np.testing.assert_array_equal(with_threads(1, put), last)
    # In place into a transposed (non-contiguous) destination.
    xt = rtorch.tensor(np.ascontiguousarray(np.swapaxes(base, 0, -1))).transpose(0, -1)
    assert not xt.is_contiguous() or len(shape) == 1
    xt.index_add_(dim, i, s)
    np.testing.assert_allclose(xt.numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float64", "int64", "int32", "bfloat16"])
@pytest.mark.parametrize("dim", [0, 1])
def test_index_add_in_place_every_dtype(dtype, dim):
    """`index_add_` without autograd sums straight into the tensor: integer and float
    types, whole rows cut between threads (dim 0) and one-element runs (dim 1), against
    numpy's `add.at`, with alpha."""
    rng = np.random.default_rng(3)
    # Small integers: every partial sum (below 256 in magnitude) is exact in every
    # dtype, bfloat16 included, so any summation order gives the same values.
    base = rng.integers(-8, 9, (60, 700))
    idx = rng.integers(0, base.shape[dim], 90)
    src_shape = [60, 700]
    src_shape[dim] = 90
    src = rng.integers(-8, 9, src_shape)
    expected = base.copy()
    np.add.at(np.moveaxis(expected, dim, 0), idx, 3 * np.moveaxis(src, dim, 0))
    dt = getattr(rtorch, dtype)
    for threads in (1, 2):

        def run() -> np.ndarray:
            y = rtorch.tensor(base).to(dt)
            y.index_add_(dim, rtorch.tensor(idx), rtorch.tensor(src).to(dt), alpha=3)
            return y.to(rtorch.float64).numpy()

        assert np.abs(expected).max() < 256
        np.testing.assert_array_equal(with_threads(threads, run), expected)


def test_index_add_in_place_with_autograd_keeps_the_graph():
    """With a leaf that needs grad behind a view, `index_add_` still records the op (the
    copy-and-write-back route): the gradient reaches the source."""
    src = rtorch.ones(2, 3, requires_grad=True)
    y = rtorch.zeros(4, 3)
    y.index_add_(0, rtorch.tensor([1, 1]), src * 2)
    assert y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(src.grad.numpy(), np.full((2, 3), 2.0))
    np.testing.assert_array_equal(y.detach().numpy()[1], np.full(3, 4.0))


OVERLAP = "some elements of the input tensor and the written-to tensor refer to a single memory"


def test_in_place_index_add_and_scatter_add_refuse_overlapping_sources():
    """PyTorch's `assert_no_overlap` for the in-place forms: a dense source sharing the
    tensor's memory (itself, a part, a transpose) is an error; a non-dense one is read
    as it was before the write."""
    y = rtorch.arange(16.0).view(4, 4)
    for source in (y, y[:2], y.t()):
        n = source.shape[0]
        with pytest.raises(RuntimeError, match=OVERLAP):
            y.index_add_(0, rtorch.tensor(list(range(n))), source)
    with pytest.raises(RuntimeError, match=OVERLAP):
        y.scatter_add_(1, rtorch.tensor([[0, 1, 0, 1]] * 4), y)
    np.testing.assert_array_equal(y.numpy(), np.arange(16.0).reshape(4, 4))  # untouched
    y.scatter_add_(1, rtorch.tensor([[0, 1]] * 4), y[:, :2])
    np.testing.assert_array_equal(y.numpy()[0], [0.0, 2.0, 2.0, 3.0])
    np.testing.assert_array_equal(y.numpy()[3], [24.0, 26.0, 14.0, 15.0])


def test_scatter_add_in_place_matches_out_of_place():
    """`scatter_add_` sums straight into the tensor (contiguous or not) with the values
    and bits of the out-of-place form, on 1 and 2 threads, above the parallel grain."""
    rng = np.random.default_rng(5)
    base = rng.standard_normal((200, 300)).astype(np.float32)
    index = rng.integers(0, 300, (200, 250))
    src = rng.standard_normal((200, 250)).astype(np.float32)
    x, i, s = rtorch.tensor(base), rtorch.tensor(index), rtorch.tensor(src)
    want = x.scatter_add(1, i, s).numpy()
    for threads in (1, 2):

        def run() -> tuple[np.ndarray, np.ndarray]:
            y = x.clone()
            y.scatter_add_(1, i, s)
            z = rtorch.tensor(np.ascontiguousarray(base.T)).t()  # non-contiguous
            z.scatter_add_(1, i, s)
            return y.numpy(), z.numpy()

        got, got_t = with_threads(threads, run)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got_t, want)


def test_index_add_and_index_copy_refuse_another_dtype():
    """A source of another dtype is PyTorch's error (it was converted silently), in
    place and out of place; a number alpha with an integer source still works."""
    x, i = rtorch.zeros(3, 3), rtorch.tensor([1])
    s64 = rtorch.ones(1, 3, dtype=rtorch.float64)
    for call in (lambda: rtorch.index_add(x, 0, i, s64), lambda: x.index_add_(0, i, s64)):
        with pytest.raises(
            RuntimeError,
            match=r"index_add_\(\): self \(Float\) and source \(Double\) must have the same scalar type",
        ):
            call()
    for call in (lambda: rtorch.index_copy(x, 0, i, s64), lambda: x.index_copy_(0, i, s64)):
        with pytest.raises(
            RuntimeError,
            match=r"index_copy_\(\): self and source expected to have the same dtype, but got \(self\) Float and \(source\) Double",
        ):
            call()
    with pytest.raises(RuntimeError, match=r"self \(Long\) and source \(Float\)"):
        rtorch.zeros(3, 3, dtype=rtorch.int64).index_add_(0, i, rtorch.ones(1, 3))
    y = rtorch.zeros(3, 3, dtype=rtorch.int64)
    y.index_add_(0, i, rtorch.ones(1, 3, dtype=rtorch.int64), alpha=2)
    assert y.tolist() == [[0, 0, 0], [2, 2, 2], [0, 0, 0]]
