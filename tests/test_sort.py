"""sort, argsort, topk, kthvalue, median, mode, unique: values and indices against
numpy, NaN ordering, stability, layouts, empty/0-dim inputs, errors, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, assert_np_close, to_np

import rtorch
from rtorch.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(1)


def data(
    shape: tuple[int, ...], dtype: rtorch.dtype = rtorch.float32
) -> tuple[rtorch.Tensor, np.ndarray]:
    if dtype == rtorch.bool:
        a = RNG.integers(0, 2, shape).astype(bool)
    elif dtype == rtorch.uint8:
        a = RNG.integers(0, 50, shape)
    elif dtype in INT_DTYPES:
        a = RNG.integers(-50, 50, shape)
    else:
        a = RNG.permutation(np.prod(shape)).reshape(shape) / 7.0 - 2.0  # distinct values
    t = rtorch.tensor(a.tolist(), dtype=dtype)
    return t, to_np(t)


def dbl(shape: tuple[int, ...]) -> rtorch.Tensor:
    a = (
        RNG.permutation(int(np.prod(shape))).reshape(shape) * 0.37
        + RNG.standard_normal(shape) * 0.01
    )
    return rtorch.tensor(a.tolist(), dtype=rtorch.float64, requires_grad=True)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_sort_dtypes(dtype):
    t, a = data((3, 5), dtype)
    r = t.sort()
    assert r.values.dtype == dtype and r.indices.dtype == rtorch.int64
    assert_np_close(r.values, np.sort(a, axis=-1, kind="stable"))
    assert r.indices.tolist() == np.argsort(a, axis=-1, kind="stable").tolist()
    v, i = rtorch.sort(t, 0, descending=True)
    ref = np.flip(np.sort(a, 0), 0)
    assert_np_close(v, ref)
    assert (np.take_along_axis(a, np.array(i.tolist()), 0) == ref).all()
    assert t.argsort(1).tolist() == np.argsort(a, 1, kind="stable").tolist()


def test_sort_stable_nan_noncontig():
    x = rtorch.tensor([2.0, 1.0, 2.0, float("nan"), 1.0])
    r = x.sort(stable=True)
    assert math.isnan(r.values.tolist()[4])
    assert r.indices.tolist() == [1, 4, 0, 2, 3]
    d = x.sort(descending=True)
    assert d.indices.tolist()[0] == 3
    t, a = data((4, 3))
    assert t.t().sort(1).indices.tolist() == np.argsort(a.T, 1).tolist()
    assert rtorch.argsort(t.t(), 0, descending=True).tolist() == np.argsort(-a.T, 0).tolist()
    e = t.narrow(0, 0, 1).expand(3, 3)
    assert e.sort(1).indices.tolist() == [np.argsort(a[0]).tolist()] * 3


def test_sort_empty_scalar():
    r = rtorch.zeros(0, 3).sort(0)
    assert r.values.shape == (0, 3)
    s = rtorch.tensor(5.0).sort()
    assert s.values.item() == 5.0 and s.indices.item() == 0 and s.values.shape == ()
    with pytest.raises(IndexError, match="Dimension out of range"):
        rtorch.ones(3).sort(1)


@pytest.mark.parametrize(
    "dtype", [rtorch.float32, rtorch.float64, rtorch.int32, rtorch.int64, rtorch.uint8]
)
def test_topk(dtype):
    t, a = data((3, 6), dtype)
    r = t.topk(3)
    ref = -np.sort(-a, 1)[:, :3]
    assert_np_close(r.values, ref)
    assert (np.take_along_axis(a, np.array(r.indices.tolist()), 1) == ref).all()
    s = rtorch.topk(t, 2, dim=0, largest=False)
    assert_np_close(s.values, np.sort(a, 0)[:2])
    assert type(r).__name__ == "topk"
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        t.topk(7)
    nan = rtorch.tensor([2.0, 1.0, float("nan"), 0.0]).topk(2)
    assert nan.indices.tolist() == [2, 0]


def test_kthvalue_median_mode():
    t, a = data((3, 5), rtorch.float64)
    k = t.kthvalue(2, 1)
    assert_np_close(k.values, np.sort(a, 1)[:, 1])
    assert (
        np.take_along_axis(a, np.array(k.indices.tolist())[:, None], 1)[:, 0] == np.sort(a, 1)[:, 1]
    ).all()
    kk = rtorch.kthvalue(t, 1, 0, keepdim=True)
    assert kk.values.shape == (1, 5)
    with pytest.raises(
        RuntimeError, match="kthvalue\\(\\): selected number k out of range for dimension 1"
    ):
        t.kthvalue(6, 1)
    even = rtorch.tensor([4.0, 1.0, 3.0, 2.0])
    assert even.median().item() == 2.0
    m = t.median(1)
    assert_np_close(m.values, np.sort(a, 1)[:, 2])
    assert t.t().median(0).values.tolist() == m.values.tolist()
    assert rtorch.median(t, 0, keepdim=True).values.shape == (1, 5)
    assert math.isnan(rtorch.tensor([1.0, float("nan"), 0.0]).median().item())
    assert math.isnan(rtorch.zeros(0).median().item())
    mo = rtorch.tensor([[1, 1, 2, 2, 3], [5, 4, 4, 5, 5]]).mode(1)
    assert mo.values.tolist() == [1, 5] and mo.indices.tolist() == [1, 4]
    assert rtorch.mode(rtorch.tensor(3.0)).values.item() == 3.0
    i = rtorch.tensor([7, 3, 9, 1])
    assert i.median().item() == 3 and i.median().dtype == rtorch.int64


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.int64, rtorch.bool, rtorch.uint8])
def test_unique(dtype):
    t, a = data((4, 5), dtype)
    t = rtorch.tensor((a.astype(np.int64) % 3).tolist(), dtype=dtype)
    a = to_np(t)
    vals, inv, cnt = rtorch.unique(t, return_inverse=True, return_counts=True)
    rv, ri, rc = np.unique(a, return_inverse=True, return_counts=True)
    assert_np_close(vals, rv)
    assert np.array(inv.tolist()).reshape(-1).tolist() == ri.reshape(-1).tolist()
    assert inv.shape == (4, 5)
    assert cnt.tolist() == rc.tolist()
    assert_np_close(t.unique(), rv)
    _v, c = t.unique(return_counts=True)
    assert c.tolist() == rc.tolist()
    assert rtorch.zeros(0).unique().shape == (0,)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.int64, rtorch.bool, rtorch.uint8])
@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_unique_dim_matches_numpy(dtype, dim):
    # Values in 0..2 so that slices repeat; numpy's unique(axis=) sorts slices
    # lexicographically as PyTorch does.
    a = np.random.default_rng(dim + 7).integers(0, 2, size=(6, 3, 4)).astype(np.int64)
    a[3] = a[1]
    a[:, 2] = a[:, 0]
    a[..., 3] = a[..., 1]
    t = rtorch.tensor(a.tolist(), dtype=dtype)
    got, inv, cnt = rtorch.unique(t, return_inverse=True, return_counts=True, dim=dim)
    rv, ri, rc = np.unique(to_np(t), return_inverse=True, return_counts=True, axis=dim)
    np.testing.assert_array_equal(to_np(got), rv)
    assert inv.dtype == rtorch.int64 and inv.tolist() == ri.reshape(-1).tolist()
    assert cnt.tolist() == rc.tolist()
    np.testing.assert_array_equal(to_np(t.unique(dim=dim)), rv)
    np.testing.assert_array_equal(to_np(t.unique(sorted=False, dim=dim)), rv)


def test_unique_dim_edge_cases():
    # NaN slices never equal each other (both kept), as in PyTorch.
    nan = float("nan")
    x = rtorch.tensor([[1.0, nan], [1.0, nan], [0.0, 2.0]])
    np.testing.assert_array_equal(
        rtorch.unique(x, dim=0).numpy(), [[0.0, 2.0], [1.0, nan], [1.0, nan]]
    )
    out, inv, cnt = rtorch.unique(
        rtorch.zeros(0, 3), return_inverse=True, return_counts=True, dim=0
    )
    assert out.shape == (0, 3) and inv.shape == (0,) and cnt.shape == (0,)
    with pytest.raises(RuntimeError, match="0 sized dimensions"):
        rtorch.unique(rtorch.zeros(2, 0), dim=0)
    with pytest.raises(IndexError, match="no dimensions"):
        rtorch.unique(rtorch.tensor(3.0), dim=0)
    with pytest.raises(IndexError, match=r"expected to be in range of \[-2, 1\], but got 2"):
        rtorch.unique(rtorch.ones(2, 2), dim=2)


def test_unique_dim_matches_torch():
    torch = pytest.importorskip("torch")
    a = [[[1, 0], [1, 1]], [[1, 0], [1, 1]], [[0, 5], [1, 1]]]
    for dim in (0, 1, 2):
        want = torch.unique(torch.tensor(a), return_inverse=True, return_counts=True, dim=dim)
        got = rtorch.unique(rtorch.tensor(a), return_inverse=True, return_counts=True, dim=dim)
        for g, w in zip(got, want, strict=True):
            assert g.tolist() == w.tolist()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_sort_half_types(dtype):
    t = rtorch.tensor([0.5, -1.0, 2.0], dtype=dtype)
    assert t.sort().values.tolist() == [-1.0, 0.5, 2.0]


def test_grads():
    x = dbl((3, 4))
    assert gradcheck(lambda t: t.sort(1).values, (x,))
    assert gradcheck(lambda t: t.sort(0, descending=True)[0], (x,))
    assert gradcheck(lambda t: t.topk(2, 1).values, (x,))
    assert gradcheck(lambda t: t.kthvalue(2, 0).values, (x,))
    assert gradcheck(lambda t: t.kthvalue(2, 0, keepdim=True).values, (x,))
    assert gradcheck(lambda t: t.median(1).values, (x,))
    assert gradcheck(lambda t: t.median(), (x,))
    assert gradcheck(lambda t: t.mode(1).values, (x,))
    y = rtorch.tensor([3.0, 1.0, 2.0], requires_grad=True)
    (y.sort().values * rtorch.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert y.grad.tolist() == [100.0, 1.0, 10.0]


def test_indices_do_not_require_grad_and_double_backward():
    x = dbl((3, 4))
    r = x.sort(1)
    assert r.values.requires_grad and not r.indices.requires_grad
    assert not x.max(1).indices.requires_grad
    assert gradgradcheck(lambda t: t.sort(1).values * t, (x,))
    assert gradgradcheck(lambda t: t.max(1).values * t.sum(1), (x,))


def _isnan(v: object) -> bool:
    return isinstance(v, float) and math.isnan(v)


def ref_order(vals: list, descending: bool) -> list[int]:
    """Stable order of Python numbers with NaN above every number (PyTorch's rule)."""

    def key(i: int) -> tuple:
        v = vals[i]
        nan = _isnan(v)
        if descending:
            return (not nan, 0 if nan else -v)
        return (nan, 0 if nan else v)

    return sorted(range(len(vals)), key=key)


SPECIAL = [
    float("nan"),
    -0.0,
    0.0,
    float("inf"),
    -float("inf"),
    1.0,
    -1.0,
    5e-324,
    -5e-324,
    1e-40,
    -1e-40,
    3.0e38,
    -3.0e38,
    float("nan"),
    0.0,
    -0.0,
    1.0,
]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("descending", [False, True])
def test_sort_orders_special_values_stably(dtype, descending):
    # Every dtype's values ordered through one key: signed zeros equal, NaNs above all
    # (each NaN ties with the others), infinities, subnormals, integer extremes; ties
    # in index order. Long lanes with many ties take topk's selection paths (k up to
    # 32: the one-pass buffer; larger k below a quarter of the lane: select + sort).
    if dtype.is_floating_point:
        base = SPECIAL
    elif dtype == rtorch.bool:
        base = [True, False, False, True]
    else:
        info = rtorch.iinfo(dtype)
        base = [info.min, info.max, 0, -1 if info.min < 0 else 1, info.min, 7, info.max, 0]
    t = rtorch.tensor(base, dtype=dtype)
    vals = t.tolist()  # the values as stored (rounded to the dtype)
    r = t.sort(descending=descending, stable=True)
    assert r.indices.tolist() == ref_order(vals, descending)
    long = rtorch.tensor([base[(i * 7) % len(base)] for i in range(1000)], dtype=dtype)
    lvals = long.tolist()
    want = ref_order(lvals, descending)
    assert long.sort(descending=descending).indices.tolist() == want
    for k in (1, 5, 32, 33, 200):
        # (PyTorch leaves the tied indices topk picks unspecified; ours are the
        # stable sort's first k.)
        assert long.topk(k, largest=descending).indices.tolist() == want[:k]
    if dtype == rtorch.bool or descending:
        return
    # kthvalue and median select one position of the ascending order (no full sort);
    # a lane with a NaN has the first NaN as its median.
    for k in (1, 37, 500, 1000):
        got = long.kthvalue(k)
        assert got.indices.item() == want[k - 1]
    nans = sum(1 for v in lvals if _isnan(v))
    mid = want[len(lvals) - nans] if nans else want[(len(lvals) - 1) // 2]
    assert long.median(0).indices.item() == mid
    no_nan = rtorch.tensor([v for v in lvals if not _isnan(v)][:999], dtype=dtype)
    nvals = no_nan.tolist()
    assert no_nan.median(0).indices.item() == ref_order(nvals, False)[(len(nvals) - 1) // 2]


@pytest.mark.parametrize(
    "dtype",
    ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8"],
)
def test_unique_without_inverse_on_large_inputs(dtype):
    """`unique` without the inverse (the key sort: bytes every key shares skipped) on
    inputs above its small-size cut, every dtype: numpy's values and counts, the same as
    the path with the inverse; int64's extremes; each NaN its own value; of 0.0 and
    -0.0 the first seen."""
    rng = np.random.default_rng(8)
    dt = getattr(rtorch, dtype)
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        a = rng.integers(max(info.min, -300), min(info.max, 300), 5000, endpoint=True)
        a[:2] = [info.min, info.max]
        t = rtorch.tensor(a).to(dt)
    else:
        a = rng.integers(-200, 200, 5000) / 4.0
        t = rtorch.tensor(a).to(dt)
    ref = to_np(t)
    vals, counts = rtorch.unique(t, return_counts=True)
    rv, rc = np.unique(ref, return_counts=True)
    np.testing.assert_array_equal(to_np(vals), rv)
    np.testing.assert_array_equal(counts.numpy(), rc)
    np.testing.assert_array_equal(to_np(rtorch.unique(t)), rv)
    v2, _inv, c2 = rtorch.unique(t, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(to_np(v2), rv)
    np.testing.assert_array_equal(c2.numpy(), rc)
    if dtype.startswith(("int", "uint")):
        return
    # NaNs (either sign) last, each its own value; -0.0 seen before 0.0 stands for both.
    b = np.concatenate([[-0.0, 0.0], a, [np.nan, -np.nan, np.nan], a[:3000] * 0])
    v, c = rtorch.unique(rtorch.tensor(b).to(dt), return_counts=True)
    got = to_np(v)
    assert np.isnan(got[-3:]).all() and c.numpy()[-3:].tolist() == [1, 1, 1]
    zero = int(np.flatnonzero(got == 0.0)[0])
    assert np.signbit(got[zero])
    np.testing.assert_array_equal(got[:-3], np.unique(to_np(rtorch.tensor(b[:-3003]).to(dt))))
    assert c.numpy()[zero] == int((b == 0).sum())
    v = rtorch.unique(rtorch.tensor(np.concatenate([[0.0, -0.0], a])).to(dt))
    assert not np.signbit(to_np(v)[to_np(v) == 0.0][0])
