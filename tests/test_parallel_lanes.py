"""Lane and plane kernels above the parallel grain size (32768 elements, more than one
lane): sort family, scans, im2col/col2im, embedding lookup, max pooling. Each is checked
against numpy in float64 and for bitwise equality between one and two threads."""

import numpy as np
import pytest
from conftest import with_threads

import rtorch
import rtorch.nn.functional as F

RNG = np.random.default_rng(12)
X = RNG.standard_normal((37, 1001))  # 37 lanes x 1001: 37,037 elements
XI = RNG.integers(-5, 5, size=(37, 1001))


def same_for_thread_counts(fn):
    one, two = with_threads(1, fn), with_threads(2, fn)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
    return two


def test_sort_and_topk():
    x = rtorch.tensor(X)
    v, i = same_for_thread_counts(lambda: [t.numpy() for t in rtorch.sort(x, dim=1)])
    order = np.argsort(X, axis=1, kind="stable")
    np.testing.assert_array_equal(i, order)
    np.testing.assert_array_equal(v, np.take_along_axis(X, order, 1))
    v, i = same_for_thread_counts(lambda: [t.numpy() for t in rtorch.topk(x, 5, dim=1)])
    want = np.sort(X, axis=1)[:, ::-1][:, :5]
    np.testing.assert_array_equal(v, want)
    np.testing.assert_array_equal(np.take_along_axis(X, i, 1), want)


def test_kthvalue_median_mode():
    x = rtorch.tensor(X)
    v, i = same_for_thread_counts(lambda: [t.numpy() for t in rtorch.kthvalue(x, 7, dim=1)])
    np.testing.assert_array_equal(v, np.sort(X, axis=1)[:, 6])
    np.testing.assert_array_equal(X[np.arange(37), i], v)
    v, i = same_for_thread_counts(lambda: [t.numpy() for t in x.median(dim=1)])
    np.testing.assert_array_equal(v, np.sort(X, axis=1)[:, 500])
    np.testing.assert_array_equal(X[np.arange(37), i], v)
    xi = rtorch.tensor(XI)
    v, _ = same_for_thread_counts(lambda: [t.numpy() for t in xi.mode(dim=1)])
    counts = np.stack([(XI == k).sum(1) for k in range(-5, 5)], 1)
    # The smallest of the most frequent values.
    np.testing.assert_array_equal(v, np.argmax(counts, 1) - 5)


def test_cumsum_and_cumprod():
    x = rtorch.tensor(X)
    (c,) = same_for_thread_counts(lambda: [rtorch.cumsum(x, 1).numpy()])
    np.testing.assert_allclose(c, np.cumsum(X, 1), rtol=1e-12, atol=1e-12)
    small = rtorch.tensor(1 + X / 100)
    (p,) = same_for_thread_counts(lambda: [rtorch.cumprod(small, 1).numpy()])
    np.testing.assert_allclose(p, np.cumprod(1 + X / 100, 1), rtol=1e-10)


def test_unfold_and_fold_planes():
    img = RNG.standard_normal((4, 3, 40, 40))
    x = rtorch.tensor(img)
    (cols,) = same_for_thread_counts(lambda: [F.unfold(x, 3, padding=1).numpy()])
    pad = np.pad(img, ((0, 0), (0, 0), (1, 1), (1, 1)))
    want = np.stack(
        [pad[:, :, i : i + 40, j : j + 40] for i in range(3) for j in range(3)], 2
    ).reshape(4, 27, 1600)
    np.testing.assert_array_equal(cols, want)
    (back,) = same_for_thread_counts(
        lambda: [F.fold(rtorch.tensor(want), (40, 40), 3, padding=1).numpy()]
    )
    # fold adds every tap back: interior pixels are counted 9 times.
    np.testing.assert_allclose(back[:, :, 1:-1, 1:-1], 9 * img[:, :, 1:-1, 1:-1], rtol=1e-12)


def test_embedding_lookup():
    w = RNG.standard_normal((50, 64))
    idx = RNG.integers(0, 50, size=(700,))
    (e,) = same_for_thread_counts(
        lambda: [F.embedding(rtorch.tensor(idx), rtorch.tensor(w)).numpy()]
    )
    np.testing.assert_array_equal(e, w[idx])


def test_max_pool2d_forward_and_backward():
    img = RNG.standard_normal((4, 8, 34, 34))
    want = img.reshape(4, 8, 17, 2, 17, 2).max(axis=(3, 5))

    def run():
        x = rtorch.tensor(img, requires_grad=True)
        y = F.max_pool2d(x, 2)
        y.sum().backward()
        return [y.detach().numpy(), x.grad.numpy()]

    y, g = same_for_thread_counts(run)
    np.testing.assert_array_equal(y, want)
    # The gradient is 1 exactly at each window's maximum.
    assert g.sum() == want.size
    np.testing.assert_array_equal(np.sort(img[g == 1]), np.sort(want.ravel()))


@pytest.mark.parametrize("mode", ["max", "sum"])
def test_embedding_bag_bags(mode):
    w = RNG.standard_normal((30, 64))
    idx = RNG.integers(0, 30, size=(2400,))
    offsets = np.arange(0, 2400, 4)
    (e,) = same_for_thread_counts(
        lambda: [
            F.embedding_bag(
                rtorch.tensor(idx), rtorch.tensor(w), rtorch.tensor(offsets), mode=mode
            ).numpy()
        ]
    )
    bags = w[idx].reshape(600, 4, 64)
    want = bags.max(1) if mode == "max" else bags.sum(1)
    np.testing.assert_allclose(e, want, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64"])
@pytest.mark.parametrize("k", [1, 7, 20, 32, 40, 99])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_and_kthvalue_with_ties_and_nans_match_a_stable_sort(largest, k, dtype):
    # Rows of 400: k below 400/16 takes the one pass with a threshold (blocks of 16
    # passed over when none enters; with six distinct values many do), a k up to 400/4
    # the selection of pairs; ties resolve by index (as the stable sort does), -0.0 ties
    # with 0.0, and NaN counts as the largest value.
    v = RNG.integers(0, 6, size=(50, 400)).astype(np.float64)
    if dtype != "int64":
        v[RNG.random(v.shape) < 0.05] = np.nan
        v[(v == 0) & (RNG.random(v.shape) < 0.5)] = -0.0
    v = v.astype(getattr(np, dtype))
    x = rtorch.tensor(v)
    if largest:
        # Stable descending: NaN first, then larger values, ties in index order.
        position = np.arange(400)[None].repeat(50, 0)
        nan_first = np.where(np.isnan(v), 0, 1)
        order = np.lexsort((position, -np.nan_to_num(v.astype(np.float64)), nan_first), axis=1)
    else:
        # Stable ascending with NaN last.
        keys = np.where(np.isnan(v), np.inf, v.astype(np.float64))
        order = np.argsort(keys, axis=1, kind="stable")
    vals, idx = rtorch.topk(x, k, dim=1, largest=largest)
    np.testing.assert_array_equal(idx.numpy(), order[:, :k])
    np.testing.assert_array_equal(vals.numpy(), np.take_along_axis(v, order[:, :k], 1))
    if not largest:
        kv, ki = rtorch.kthvalue(x, k + 2, dim=1)
        np.testing.assert_array_equal(ki.numpy(), order[:, k + 1])
        np.testing.assert_array_equal(
            kv.numpy(), np.take_along_axis(v, order[:, k + 1 : k + 2], 1)[:, 0]
        )


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int8", "bool", "float16"])
def test_three_operand_maps_on_every_layout(dtype):
    # `where` and clamp with tensor bounds above the grain size: contiguous (the flat
    # loop), a broadcast scalar branch in either slot (the stride-0 row loops), a
    # transposed operand (the generic walk) and clamp_ in place (output = input).
    np_dtype = np.dtype(dtype).type
    x = (X * 10).astype(np_dtype)
    y = (-X * 3).astype(np_dtype)
    cond = X > 0.3
    tx, ty, tc = rtorch.tensor(x), rtorch.tensor(y), rtorch.tensor(cond)
    scalar = np.array(2, dtype=np_dtype)
    ts = rtorch.tensor(scalar)
    cases = [
        (lambda: rtorch.where(tc, tx, ty), np.where(cond, x, y)),
        (lambda: rtorch.where(tc, tx, ts), np.where(cond, x, scalar)),
        (lambda: rtorch.where(tc, ts, ty), np.where(cond, scalar, y)),
        (lambda: rtorch.where(tc.t().contiguous().t(), tx, ty), np.where(cond, x, y)),
    ]
    if dtype != "bool":
        lo, hi = np.minimum(x, y), np.maximum(x, y) // 2
        tlo, thi = rtorch.tensor(lo), rtorch.tensor(hi)
        want = np.minimum(np.maximum(x, lo), hi)
        cases.append((lambda: rtorch.clamp(tx, tlo, thi), want))

        def in_place():
            t = tx.clone()
            t.clamp_(tlo, thi)
            return t

        cases.append((in_place, want))
    for make, want in cases:
        (got,) = same_for_thread_counts(lambda make=make: [make().numpy()])
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("distinct", [50_000, 6])
@pytest.mark.parametrize("k", [1, 16, 33, 100, 1000, 25_000])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_of_a_long_lane_matches_a_stable_sort(largest, k, distinct):
    # One lane of 100_003 (keys made 256 at a time, the last chunk short) by the one
    # pass with a threshold: each value twice (the threshold falls fast, most blocks
    # are passed over) or six values (ties everywhere: candidates cut back often, for
    # k up to 32 kept sorted, above by selections), and a few NaNs; k up to just below
    # n/4.
    n = 100_003
    v = RNG.permutation(n).astype(np.float64) % distinct
    v[RNG.random(n) < 0.001] = np.nan
    position = np.arange(n)
    if largest:
        order = np.lexsort((position, -np.nan_to_num(v), np.where(np.isnan(v), 0, 1)))
    else:
        order = np.argsort(np.where(np.isnan(v), np.inf, v), kind="stable")
    vals, idx = rtorch.topk(rtorch.tensor(v.astype(np.float32)), k, largest=largest)
    np.testing.assert_array_equal(idx.numpy(), order[:k])
    np.testing.assert_array_equal(vals.numpy(), v[order[:k]].astype(np.float32))
