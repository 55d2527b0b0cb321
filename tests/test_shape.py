"""Shape ops: cat, stack, split, chunk, unbind, flip, roll, tril/triu, diagonal, diag,
movedim, repeat, tile, unflatten, unfold, iteration."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ALL_DTYPES, to_np, with_threads

import rtorch
from rtorch.autograd import gradcheck, gradgradcheck

A = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
RNG = np.random.default_rng(0)


def T(a, **kw) -> rtorch.Tensor:
    return rtorch.tensor(np.asarray(a), **kw)


def leaf(a) -> rtorch.Tensor:
    return T(np.asarray(a, dtype=np.float64), requires_grad=True)


def check(t: rtorch.Tensor, expected) -> None:
    expected = np.asarray(expected)
    assert tuple(t.shape) == expected.shape
    np.testing.assert_array_equal(to_np(t).reshape(expected.shape), expected)


def noncontig():
    """A (3, 4) non-contiguous tensor and its numpy values."""
    base = T(np.arange(12.0).reshape(4, 3))
    return base.t(), np.arange(12.0).reshape(4, 3).T


# ----- cat / stack -----


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_cat_matches_numpy(dim):
    b = A * 2
    c = A[:, :, :2] if dim in (2, -1) else A
    check(rtorch.cat([T(A), T(b)], dim), np.concatenate([A, b], dim))
    if dim in (2, -1):
        check(rtorch.cat((T(A), T(c)), dim=dim), np.concatenate([A, c], dim))
    check(rtorch.concat([T(A), T(b)], dim), np.concatenate([A, b], dim))
    check(rtorch.concatenate([T(A), T(b)], axis=dim), np.concatenate([A, b], dim))


def test_cat_promotion_empty_and_noncontig():
    r = rtorch.cat([T(np.array([1, 2], dtype=np.int32)), T(np.array([0.5]))])
    assert r.dtype == rtorch.float64
    check(r, [1.0, 2.0, 0.5])
    r = rtorch.cat([T(np.array([True])), T(np.array([3], dtype=np.uint8))])
    assert r.dtype == rtorch.uint8
    # legacy: 1-D empty tensors are skipped whatever the other shapes
    r = rtorch.cat([rtorch.zeros(0), T(A), rtorch.zeros(0)], 1)
    check(r, A)
    assert tuple(rtorch.cat([rtorch.zeros(0), rtorch.zeros(0)]).shape) == (0,)
    x, a = noncontig()
    check(rtorch.cat([x, x], 1), np.concatenate([a, a], 1))
    check(rtorch.cat([T(np.zeros((0, 4))), x]), a)


def test_cat_errors():
    with pytest.raises(RuntimeError, match="Sizes of tensors must match except in dimension 0"):
        rtorch.cat([T(A[0]), rtorch.zeros(2, 3)])
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        rtorch.cat([T(A[0]), rtorch.zeros(3)])
    with pytest.raises(ValueError, match="non-empty list"):
        rtorch.cat([])
    with pytest.raises(RuntimeError, match="zero-dimensional"):
        rtorch.cat([T(np.array(1.0))])
    with pytest.raises(IndexError, match="Dimension out of range"):
        rtorch.cat([T(A)], 3)
    with pytest.raises(TypeError):
        rtorch.cat(T(A))


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_copy_ops_all_dtypes(dtype):
    a = np.arange(12).reshape(3, 4) % 2
    x = T(a.astype(np.float64)).to(dtype)
    ref = a.astype(bool) if dtype == rtorch.bool else a
    for r, e in [
        (rtorch.cat([x, x], 1), np.concatenate([ref, ref], 1)),
        (rtorch.stack([x, x]), np.stack([ref, ref])),
        (x.flip(0), ref[::-1]),
        (x.roll(1, 1), np.roll(ref, 1, 1)),
        (x.repeat(2, 1), np.tile(ref, (2, 1))),
        (x.tril(), np.tril(ref)),
        (x.triu(1), np.triu(ref, 1)),
        (rtorch.diag(x), np.diag(ref)),
    ]:
        assert r.dtype == dtype
        check(r, e)


def test_stack_and_hvstack():
    for dim in [0, 1, 2, 3, -1]:
        check(rtorch.stack([T(A), T(A + 1)], dim), np.stack([A, A + 1], dim))
    check(rtorch.stack([T(np.array(1.0)), T(np.array(2.0))]), [1.0, 2.0])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        rtorch.stack([T(A), T(A[0])])
    with pytest.raises(RuntimeError, match="non-empty"):
        rtorch.stack([])
    v = np.array([1.0, 2.0])
    check(rtorch.hstack([T(v), T(v)]), np.hstack([v, v]))
    check(rtorch.vstack([T(v), T(v)]), np.vstack([v, v]))
    check(rtorch.hstack([T(A[0]), T(A[0])]), np.hstack([A[0], A[0]]))


def test_cat_stack_gradcheck():
    a = leaf(RNG.standard_normal((2, 3)))
    b = leaf(RNG.standard_normal((1, 3)))
    assert gradcheck(lambda x, y: rtorch.cat([x, y, x]), (a, b))
    assert gradgradcheck(lambda x, y: rtorch.cat([x, y]) * rtorch.cat([y, x]), (a, b))
    c = leaf(RNG.standard_normal((2, 3)))
    assert gradcheck(lambda x, y: rtorch.stack([x, y], 1), (a, c))
    # mixed dtypes: gradient flows back in the input's dtype
    f = T(np.ones(2, dtype=np.float32), requires_grad=True)
    rtorch.cat([f, leaf([1.0])]).sum().backward()
    assert f.grad.dtype == rtorch.float32


# ----- split / chunk / unbind -----


def test_split_chunk_unbind_views():
    x = T(A.copy())
    parts = x.split(2, 2)
    assert [tuple(p.shape) for p in parts] == [(2, 3, 2), (2, 3, 2)]
    parts = rtorch.split(x, [1, 2], 1)
    check(parts[1], A[:, 1:])
    parts[1][0, 0, 0] = -1.0
    assert x[0, 1, 0].item() == -1.0
    ch = x.chunk(3, 2)
    assert [p.shape[2] for p in ch] == [2, 2]
    ch = rtorch.chunk(T(np.arange(5.0)), 3)
    assert [p.numel() for p in ch] == [2, 2, 1]
    u = x.unbind(1)
    assert len(u) == 3
    check(u[2], A[:, 2])
    assert u[0]._storage_id() == x._storage_id()
    u = rtorch.unbind(x)
    check(u[1], A[1])
    ts = x.tensor_split(3, 2)
    assert [p.shape[2] for p in ts] == [2, 1, 1]
    ts = rtorch.tensor_split(x, [1, 3], 2)
    assert [p.shape[2] for p in ts] == [1, 2, 1]


def test_split_errors():
    x = T(A)
    with pytest.raises(
        RuntimeError, match="split_with_sizes expects split_sizes to sum exactly to 3"
    ):
        x.split([1, 1], 1)
    with pytest.raises(RuntimeError, match="chunk expects `chunks` to be greater than 0"):
        x.chunk(0)
    with pytest.raises(IndexError):
        T(np.array(1.0)).unbind()


def test_split_unbind_gradcheck():
    x = leaf(RNG.standard_normal((3, 4)))
    assert gradcheck(lambda t: t.split([1, 3], 1), (x,))
    assert gradcheck(lambda t: t.chunk(2, 0)[1] * 2, (x,))
    assert gradcheck(lambda t: t.unbind(1), (x,))
    x.unbind(0)[2].sum().backward()
    check(x.grad, np.array([[0.0] * 4, [0.0] * 4, [1.0] * 4]))


def test_iter():
    x = T(A)
    rows = list(x)
    assert len(rows) == 2
    check(rows[1], A[1])
    assert [r.item() for r in T(np.array([3, 4]))] == [3, 4]
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(T(np.array(1.0)))
    assert list(T(np.zeros((0, 2)))) == []


# ----- flip / roll -----


def test_flip_roll_match_numpy():
    x = T(A)
    check(x.flip(0), A[::-1])
    check(x.flip(0, 2), A[::-1, :, ::-1])
    check(rtorch.flip(x, (1, -1)), np.flip(A, (1, 2)))
    check(x.flip([]), A)
    y, a = noncontig()
    check(y.flip(1), a[:, ::-1])
    check(rtorch.fliplr(y), np.fliplr(a))
    check(rtorch.flipud(y), np.flipud(a))
    check(x.roll(1), np.roll(A, 1))
    check(x.roll(-7), np.roll(A, -7))
    check(x.roll(2, 1), np.roll(A, 2, 1))
    check(rtorch.roll(x, (1, -3), (0, 2)), np.roll(A, (1, -3), (0, 2)))
    check(y.roll(5, 0), np.roll(a, 5, 0))
    check(T(np.zeros((0, 3))).roll(1, 0), np.zeros((0, 3)))
    assert x.flip(0)._storage_id() != x._storage_id()
    assert x.roll(0, 0)._storage_id() != x._storage_id()


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("inner", [1, 7, 33, 1025])
def test_flip_rows_every_dtype_and_step(dtype, inner):
    # Rows copied whole (inner dim kept), reversed (inner dim flipped, unit stride) or
    # gathered (a transposed or stepped inner dim), with row lengths around the vector
    # widths; every dtype.
    a = np.random.default_rng(inner).integers(0, 2 if dtype == rtorch.bool else 100, (3, 4, inner))
    x = rtorch.tensor(a).to(dtype)
    for dims in [(0,), (2,), (0, 2), (1, 2), (0, 1, 2)]:
        np.testing.assert_array_equal(to_np(x.flip(dims)), np.flip(a, dims))
    xt = x.transpose(1, 2)  # a strided inner dim: gathered rows
    np.testing.assert_array_equal(to_np(xt.flip((1, 2))), np.flip(a.transpose(0, 2, 1), (1, 2)))
    np.testing.assert_array_equal(to_np(x[:, ::2, ::3].flip(2)), np.flip(a[:, ::2, ::3], 2))


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_flip_runs_of_rows_over_threads(threads):
    # Above the grain size, runs of rows go to the threads; each run finds its first
    # row's position from its row number.
    a = np.random.default_rng(5).standard_normal((40, 30, 70)).astype(np.float32)
    x = rtorch.tensor(a)

    def run():
        for dims in [(0,), (2,), (1, 2), (0, 1, 2)]:
            np.testing.assert_array_equal(x.flip(dims).numpy(), np.flip(a, dims))
        np.testing.assert_array_equal(
            x.transpose(0, 2).flip(1).numpy(), np.flip(a.transpose(2, 1, 0), 1)
        )

    with_threads(threads, run)


def test_copies_of_long_rows_at_every_offset():
    """Row copies of 256 bytes and more run as vector moves (not memmove, whose `rep
    movsb` crawls when the destination is a few bytes past the source): roll and cat
    along the last dimension put rows at every offset, lengths cover the 128-byte steps
    and the overlapping last step."""
    rng = np.random.default_rng(7)
    for n in (64, 65, 97, 1021, 1024):
        a = rng.standard_normal((33, n)).astype(np.float32)
        x = rtorch.tensor(a)
        for shift in (1, 3, 17, -5):
            assert np.array_equal(x.roll(shift, 1).numpy(), np.roll(a, shift, 1))
        b = rng.standard_normal((33, 3)).astype(np.float32)
        got = rtorch.cat([rtorch.tensor(b), x, rtorch.tensor(b)], 1).numpy()
        assert np.array_equal(got, np.concatenate([b, a, b], 1))
        assert np.array_equal(x[:, 3:].contiguous().numpy(), a[:, 3:])
        assert np.array_equal(x.reshape(-1)[5:].clone().numpy(), a.reshape(-1)[5:])
    i16 = rng.integers(-1000, 1000, (9, 301)).astype(np.int16)
    assert np.array_equal(rtorch.tensor(i16).roll(7, 1).numpy(), np.roll(i16, 7, 1))


def test_permuted_copies_with_short_output_rows():
    """Copies whose output rows are short (pixel_shuffle's factor, 3 channels last) walk
    the source's contiguous dim instead: every dtype size, above and below the grain."""
    rng = np.random.default_rng(8)
    for shape, perm in [
        ((16, 8, 2, 2, 32, 32), (0, 1, 4, 2, 5, 3)),  # pixel_shuffle by 2, 1M values
        ((3, 5, 40, 17), (0, 2, 3, 1)),  # NCHW -> NHWC with 5 channels
        ((2, 3, 7, 64), (0, 2, 3, 1)),
    ]:
        a = rng.standard_normal(shape)
        for dt, npdt in [(rtorch.float32, np.float32), (rtorch.float64, np.float64),
                         (rtorch.int8, np.int8), (rtorch.int16, np.int16)]:  # fmt: skip
            x = rtorch.tensor((a * 50).astype(npdt)).to(dt)
            got = x.permute(*perm).contiguous()
            assert got.is_contiguous()
            assert np.array_equal(got.numpy(), np.ascontiguousarray(x.numpy().transpose(perm)))
    b = rng.standard_normal((4, 8, 5, 6)) > 0
    got = rtorch.tensor(b).permute(0, 2, 3, 1).contiguous().numpy()
    assert np.array_equal(got, b.transpose(0, 2, 3, 1))


def test_flip_roll_errors_and_grad():
    x = T(A)
    with pytest.raises(RuntimeError, match="appears multiple times"):
        x.flip(0, 0)
    with pytest.raises(RuntimeError, match="shifts and dimensions must align"):
        x.roll((1, 2), (0,))
    z = leaf(RNG.standard_normal((3, 4)))
    assert gradcheck(lambda t: t.flip(0, 1), (z,))
    assert gradcheck(lambda t: t.roll((1, 2), (0, 1)), (z,))
    assert gradcheck(lambda t: t.roll(3), (z,))


# ----- tril / triu / diagonal / diag -----


def test_tril_triu():
    m = RNG.standard_normal((2, 4, 5))
    x = T(m)
    for k in [-2, -1, 0, 1, 3]:
        check(x.tril(k), np.tril(m, k))
        check(rtorch.triu(x, diagonal=k), np.triu(m, k))
    y, a = noncontig()
    check(y.tril(), np.tril(a))
    z = x.clone()
    z.triu_(1)
    check(z, np.triu(m, 1))
    z = x.clone()
    z.tril_()
    check(z, np.tril(m))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        rtorch.tril(rtorch.zeros(3))
    g = leaf(m[0])
    assert gradcheck(lambda t: t.tril(-1), (g,))
    assert gradcheck(lambda t: t.triu(1), (g,))


def test_diagonal_is_view():
    m = RNG.standard_normal((3, 4, 5))
    x = T(m.copy())
    for off, d1, d2 in [(0, 0, 1), (1, 1, 2), (-1, 0, 2), (2, -1, -2), (9, 0, 1)]:
        check(x.diagonal(off, d1, d2), np.diagonal(m, off, d1, d2))
    d = x.diagonal()
    assert d._storage_id() == x._storage_id()
    d[0, 0] = 100.0
    assert x[0, 0, 0].item() == 100.0
    with pytest.raises(RuntimeError, match="diagonal dimensions cannot be identical"):
        x.diagonal(0, 1, 1)
    g = leaf(m)
    assert gradcheck(lambda t: t.diagonal(1, 1, 2), (g,))
    assert gradgradcheck(lambda t: t.diagonal(-1) * t.diagonal(-1), (g,))


def test_diag():
    v = np.array([1.0, 2.0, 3.0])
    for k in [-2, 0, 1]:
        check(rtorch.diag(T(v), k), np.diag(v, k))
    m = RNG.standard_normal((3, 4))
    for k in [-1, 0, 2]:
        check(T(m).diag(k), np.diag(m, k))
    assert T(m).diag()._storage_id() != T(m)._storage_id()
    with pytest.raises(RuntimeError, match="diag\\(\\): Supports 1D or 2D tensors. Got 3D"):
        rtorch.diag(T(A))
    assert gradcheck(lambda t: rtorch.diag(t, 1), (leaf(v),))
    assert gradcheck(lambda t: t.diag(), (leaf(m),))
    e = rtorch.diag_embed(T(np.ones((2, 3))))
    assert tuple(e.shape) == (2, 3, 3)


# ----- movedim / repeat / tile / unflatten / unfold -----


def test_movedim():
    x = T(A)
    check(x.movedim(0, 2), np.moveaxis(A, 0, 2))
    check(rtorch.movedim(x, (0, 1), (2, 0)), np.moveaxis(A, (0, 1), (2, 0)))
    check(rtorch.moveaxis(x, -1, 0), np.moveaxis(A, -1, 0))
    with pytest.raises(RuntimeError, match="movedim: Invalid source or destination dims"):
        x.movedim((0, 1), (1,))
    assert x.movedim(0, 1)._storage_id() == x._storage_id()


def test_repeat_tile():
    x = T(A[0])
    check(x.repeat(2, 3), np.tile(A[0], (2, 3)))
    check(x.repeat(2, 1, 2), np.tile(A[0], (2, 1, 2)))
    check(x.tile((2,)), np.tile(A[0], (2,)))
    check(rtorch.tile(x, (2, 1, 1)), np.tile(A[0], (2, 1, 1)))
    check(T(np.array(5.0)).repeat(3), [5.0, 5.0, 5.0])
    y, a = noncontig()
    check(y.repeat(1, 2), np.tile(a, (1, 2)))
    with pytest.raises(RuntimeError, match="Number of dimensions of repeat dims"):
        x.repeat(2)
    g = leaf(RNG.standard_normal((2, 3)))
    assert gradcheck(lambda t: t.repeat(2, 1, 2), (g,))


def test_unflatten_unfold():
    x = T(A)
    check(x.unflatten(2, (2, 2)), A.reshape(2, 3, 2, 2))
    check(rtorch.unflatten(x, 1, (-1, 1)), A.reshape(2, 3, 1, 4))
    with pytest.raises(RuntimeError, match="unflatten: Provided sizes"):
        x.unflatten(1, (3, 2))
    v = np.arange(7.0)
    u = T(v).unfold(0, 3, 2)
    check(u, np.stack([v[0:3], v[2:5], v[4:7]]))
    assert u._storage_id() is not None
    g = leaf(RNG.standard_normal((2, 7)))
    assert gradcheck(lambda t: t.unfold(1, 3, 2), (g,))
    assert gradcheck(lambda t: t.unfold(0, 1, 1), (g,))


def test_swapaxes_swapdims_functions_are_transpose_views():
    x = rtorch.arange(6.0).reshape(2, 3)
    for f in (rtorch.swapaxes, rtorch.swapdims):
        y = f(x, 0, 1)
        assert y.shape == (3, 2)
        assert y.tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
        assert y._storage_id() == x._storage_id()


def test_zero_dim_movedim_roll_unflatten_raise_or_pass_through():
    # 0-dim tensors take dims 0 and -1 in PyTorch; these used to index an empty shape.
    x = rtorch.tensor(2.0)
    assert x.movedim(0, 0).item() == 2.0 and x.movedim(-1, 0).item() == 2.0
    assert x.movedim((0,), (0,)).dim() == 0
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.movedim(1, 0)
    for dims in (0, -1, (0,)):
        with pytest.raises(IndexError, match="but tensor has no dimensions"):
            x.roll(1, dims)
    assert x.roll(3).item() == 2.0
    with pytest.raises(RuntimeError, match="Dimension specified as 0 but tensor has no dimensions"):
        x.unflatten(0, (1,))
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.unflatten(1, (1,))
