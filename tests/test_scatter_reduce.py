"""scatter_reduce (sum/prod/mean/amax/amin, include_self) and its backward, and the
gradient of scatter(reduce=...). References: a numpy float64 loop over the index, and
gradcheck for the formulas."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import rtorch
from rtorch.autograd import gradcheck

REDUCES = ["sum", "prod", "mean", "amax", "amin"]
NP_REDUCE = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "amax": np.max, "amin": np.min}


def _reference(
    self: np.ndarray, dim: int, index: np.ndarray, src: np.ndarray, reduce: str, include_self: bool
) -> np.ndarray:
    groups: dict[tuple, list] = {}
    for pos in itertools.product(*(range(n) for n in index.shape)):
        target = list(pos)
        target[dim] = index[pos]
        groups.setdefault(tuple(target), []).append(src[pos])
    out = self.copy()
    for target, vals in groups.items():
        if include_self:
            vals = [self[target], *vals]
        r = NP_REDUCE[reduce](np.array(vals))
        if np.issubdtype(self.dtype, np.integer) and reduce == "mean":
            r = np.floor_divide(np.sum(vals), len(vals))
        out[target] = r
    return out


def _case(seed: int, shape=(4, 5), src_shape=(6, 5), dim=0):
    rng = np.random.default_rng(seed)
    self = rng.standard_normal(shape)
    src = rng.standard_normal(src_shape)
    idx_shape = list(src_shape)
    index = rng.integers(0, shape[dim], size=idx_shape)
    return self, index, src


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_forward_matches_numpy(reduce: str, include_self: bool, dim: int) -> None:
    shape = (4, 5)
    self, index, src = _case(1, shape=shape, src_shape=(6, 5) if dim == 0 else (4, 7), dim=dim)
    got = rtorch.tensor(self).scatter_reduce(
        dim, rtorch.tensor(index), rtorch.tensor(src), reduce, include_self=include_self
    )
    want = _reference(self, dim % 2, index, src, reduce, include_self)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)


def test_index_smaller_than_src_and_3d() -> None:
    rng = np.random.default_rng(2)
    self = rng.standard_normal((3, 4, 2))
    src = rng.standard_normal((5, 6, 3))
    index = rng.integers(0, 4, size=(2, 3, 2))
    used = src[:2, :3, :2]
    for reduce in REDUCES:
        got = rtorch.scatter_reduce(
            rtorch.tensor(self), 1, rtorch.tensor(index), rtorch.tensor(src), reduce
        )
        np.testing.assert_allclose(
            got.numpy(), _reference(self, 1, index, used, reduce, True), rtol=1e-12
        )


def test_integer_and_float32() -> None:
    i = rtorch.tensor([0, 1, 0, 1, 2, 1])
    s = rtorch.tensor([1, 2, 3, 4, 5, 6])
    x = rtorch.tensor([1, 2, 3, 4])
    assert x.scatter_reduce(0, i, s, "mean").tolist() == [1, 3, 4, 4]
    assert x.scatter_reduce(0, i, s, "mean", include_self=False).tolist() == [2, 4, 5, 4]
    assert rtorch.tensor([-3, 2]).scatter_reduce(
        0, rtorch.tensor([0, 0]), rtorch.tensor([-4, 0]), "mean"
    ).tolist() == [-3, 2]
    assert x.scatter_reduce(0, i, s, "amax").tolist() == [3, 6, 5, 4]
    assert x.scatter_reduce(0, i.int(), s, "prod").tolist() == [3, 96, 15, 4]
    f = rtorch.tensor([1.0, 2, 3, 4]).scatter_reduce(0, i, s.float(), "sum")
    assert f.dtype == rtorch.float32 and f.tolist() == [5.0, 14.0, 8.0, 4.0]
    # The legacy names max/min are amax/amin.
    assert x.scatter_reduce(0, i, s, "max").tolist() == [3, 6, 5, 4]
    assert x.scatter_reduce(0, i, s, "min").tolist() == [1, 2, 3, 4]


def test_inplace_and_empty_index() -> None:
    x = rtorch.tensor([1.0, 2, 3])
    r = x.scatter_reduce_(0, rtorch.tensor([2, 2]), rtorch.tensor([5.0, 7]), "amax")
    assert r is x and x.tolist() == [1.0, 2.0, 7.0]
    e = rtorch.tensor([1.0, 2]).scatter_reduce(
        0, rtorch.tensor([], dtype=rtorch.int64), rtorch.tensor([]), "amin"
    )
    assert e.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("include_self", [True, False])
def test_extremes_large_noncontiguous_against_numpy(largest: bool, include_self: bool) -> None:
    # Rows long enough for the scatter kernel's parallel walk (lines along dim on
    # several threads), transposed operands, and a second, flat case with heavy collisions.
    rng = np.random.default_rng(5)
    self = rng.standard_normal((600, 300))
    src = rng.standard_normal((900, 300))
    index = rng.integers(0, 600, size=(900, 300))
    ufunc = np.maximum if largest else np.minimum
    fill = -np.inf if largest else np.inf
    reduce = "amax" if largest else "amin"
    for dim in (0, 1):
        s, i, x = (self, index, src) if dim == 0 else (self.T, index.T, src.T)
        st, it, xt = (rtorch.tensor(a) for a in (self, index, src))
        if dim == 1:
            st, it, xt = st.t(), it.t(), xt.t()
        got = st.scatter_reduce(dim, it, xt, reduce, include_self=include_self)
        want = s.copy()
        acc = np.full_like(s, fill)
        if dim == 0:
            cols = np.broadcast_to(np.arange(i.shape[1]), i.shape)
            ufunc.at(acc, (i, cols), x)
        else:
            rows = np.broadcast_to(np.arange(i.shape[0])[:, None], i.shape)
            ufunc.at(acc, (rows, i), x)
        touched = acc != fill
        want[touched] = ufunc(s, acc)[touched] if include_self else acc[touched]
        np.testing.assert_array_equal(got.numpy(), want)


def test_extremes_propagate_nan_and_keep_integer_limits() -> None:
    nan = float("nan")
    x = rtorch.tensor([1.0, nan, 3.0, 4.0])
    s = rtorch.tensor([nan, 5.0, 2.0, 9.0])
    i = rtorch.tensor([0, 1, 2, 2])
    for reduce in ("amax", "amin"):
        for include_self in (True, False):
            got = x.scatter_reduce(0, i, s, reduce, include_self=include_self).tolist()
            want = _reference(
                x.numpy().astype(np.float64),
                0,
                i.numpy(),
                s.numpy().astype(np.float64),
                reduce,
                include_self,
            )
            np.testing.assert_array_equal(np.array(got), want)
    big = np.iinfo(np.int64)
    xi = rtorch.tensor([0, 0, 7])
    si = rtorch.tensor([big.min, big.max, big.min, big.max])
    ii = rtorch.tensor([0, 0, 1, 1])
    assert xi.scatter_reduce(0, ii, si, "amax", include_self=False).tolist() == [
        big.max,
        big.max,
        7,
    ]
    assert xi.scatter_reduce(0, ii, si, "amin", include_self=False).tolist() == [
        big.min,
        big.min,
        7,
    ]
    b = rtorch.tensor([False, True, False])
    sb = rtorch.tensor([True, False, False])
    ib = rtorch.tensor([0, 1, 2])
    assert b.scatter_reduce(0, ib, sb, "amax").tolist() == [True, True, False]
    assert b.scatter_reduce(0, ib, sb, "amin").tolist() == [False, False, False]
    assert b.scatter_reduce(0, ib, sb, "amin", include_self=False).tolist() == [True, False, False]
    h = rtorch.tensor([1.0, 2.0], dtype=rtorch.bfloat16)
    hs = rtorch.tensor([3.0, -1.0, 0.5], dtype=rtorch.bfloat16)
    assert h.scatter_reduce(0, rtorch.tensor([0, 0, 1]), hs, "amin").tolist() == [-1.0, 0.5]


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
def test_gradcheck(reduce: str, include_self: bool) -> None:
    self, index, src = _case(3, shape=(3, 4), src_shape=(5, 4))
    idx = rtorch.tensor(index)
    a = rtorch.tensor(self, requires_grad=True)
    b = rtorch.tensor(src, requires_grad=True)
    assert gradcheck(
        lambda x, y: x.scatter_reduce(0, idx, y, reduce, include_self=include_self), (a, b)
    )


def test_prod_gradient_with_zeros() -> None:
    # d/dx of a product with one zero factor is the product of the others.
    x = rtorch.tensor([0.0, 2, 3, 4], requires_grad=True)
    s = rtorch.tensor([0.0, 5, 3], requires_grad=True)
    y = x.scatter_reduce(0, rtorch.tensor([0, 1, 0]), s, "prod")
    y.sum().backward()
    assert y.tolist() == [0.0, 10.0, 3.0, 4.0]
    assert x.grad.tolist() == [0.0, 5.0, 1.0, 1.0]
    assert s.grad.tolist() == [0.0, 2.0, 0.0]
    x = rtorch.tensor([2.0, 1], requires_grad=True)
    s = rtorch.tensor([0.0, 5, 3], requires_grad=True)
    x.scatter_reduce(0, rtorch.tensor([0, 1, 0]), s, "prod").sum().backward()
    assert x.grad.tolist() == [0.0, 5.0] and s.grad.tolist() == [6.0, 1.0, 0.0]


def test_amax_gradient_is_shared_by_ties() -> None:
    x = rtorch.tensor([5.0, 2, 3, 4], requires_grad=True)
    s = rtorch.tensor([5.0, 5, 3], requires_grad=True)
    y = x.scatter_reduce(0, rtorch.tensor([0, 0, 1]), s, "amax")
    y.backward(rtorch.tensor([3.0, 1, 1, 1]))
    assert x.grad.tolist() == [1.0, 0.0, 1.0, 1.0] and s.grad.tolist() == [1.0, 1.0, 1.0]
    assert y.grad_fn.name() == "ScatterReduceBackward0"


def test_src_larger_than_index_gets_zero_gradient_outside() -> None:
    s = rtorch.tensor([1.0, 5, 3, 7], requires_grad=True)
    rtorch.zeros(4).scatter_reduce(0, rtorch.tensor([0, 1, 0]), s, "sum").sum().backward()
    assert s.grad.tolist() == [1.0, 1.0, 1.0, 0.0]


def test_scatter_with_reduce_is_differentiable() -> None:
    x = rtorch.tensor([5.0, 2, 3, 4], requires_grad=True)
    s = rtorch.tensor([1.0, 5, 3], requires_grad=True)
    i = rtorch.tensor([0, 1, 0])
    with pytest.warns(UserWarning, match="reduce argument of torch.scatter"):
        y = x.scatter(0, i, s, reduce="add")
    y.sum().backward()
    assert y.tolist() == [9.0, 7.0, 3.0, 4.0]
    assert x.grad.tolist() == [1.0] * 4 and s.grad.tolist() == [1.0] * 3
    a = rtorch.tensor([2.0, 3.0], dtype=rtorch.float64, requires_grad=True)
    b = rtorch.tensor([4.0, 5.0, 6.0], dtype=rtorch.float64, requires_grad=True)
    j = rtorch.tensor([0, 1, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert gradcheck(lambda p, q: rtorch.scatter(p, 0, j, q, reduce="multiply"), (a, b))
        y = rtorch.scatter(a, 0, j, 2.0, reduce="multiply")
    assert y.tolist() == [8.0, 6.0]
    # Without a gradient the core op runs as before.
    assert rtorch.ones(3).scatter(0, rtorch.tensor([0, 0]), 2.5, reduce="add").tolist() == [
        6.0,
        1.0,
        1.0,
    ]
    z = rtorch.zeros(3)
    z.scatter_(0, rtorch.tensor([1]), rtorch.tensor([4.0]))
    assert z.tolist() == [0.0, 4.0, 0.0]


@pytest.mark.parametrize(
    ("call", "err", "msg"),
    [
        (
            lambda x, i, s: x.scatter_reduce(0, i, s, "foo"),
            RuntimeError,
            "reduce argument must be either sum, prod, mean, amax or amin, got foo",
        ),
        (
            lambda x, i, s: x.scatter_reduce(0, i.float(), s, "sum"),
            RuntimeError,
            "scatter(): Expected dtype int32/int64 for index",
        ),
        (
            lambda x, i, s: x.scatter_reduce(0, i, s.double(), "sum"),
            RuntimeError,
            "scatter(): Expected self.dtype to be equal to src.dtype",
        ),
        (
            lambda x, i, s: x.scatter_reduce(0, rtorch.tensor([0, 1, 0, 1, 1]), s, "amax"),
            RuntimeError,
            (
                "Expected index [5] to be no larger than self [4] apart from dimension 0 and to be "
                "no larger size than src [3]"
            ),
        ),
        (
            lambda x, i, s: x.scatter_reduce(0, rtorch.tensor([9]), s, "amin"),
            RuntimeError,
            "index 9 is out of bounds for dimension 0 with size 4",
        ),
        (
            lambda x, i, s: x.scatter_reduce(1, i, s, "sum"),
            IndexError,
            "Dimension out of range (expected to be in range of [-1, 0], but got 1)",
        ),
    ],
)
def test_errors(call, err: type, msg: str) -> None:
    x = rtorch.tensor([1.0, 2, 3, 4])
    with pytest.raises(err) as info:
        call(x, rtorch.tensor([0, 1, 0]), rtorch.tensor([1.0, 2, 3]))
    assert str(info.value) == msg


def test_parity_with_torch() -> None:
    torch = pytest.importorskip("torch")
    self, index, src = _case(4, shape=(3, 4), src_shape=(5, 4))
    for reduce in REDUCES:
        for include_self in (True, False):
            tx = torch.tensor(self, requires_grad=True)
            ts = torch.tensor(src, requires_grad=True)
            ty = tx.scatter_reduce(0, torch.tensor(index), ts, reduce, include_self=include_self)
            ty.backward(torch.ones_like(ty) * torch.arange(12.0).reshape(3, 4))
            rx = rtorch.tensor(self, requires_grad=True)
            rs = rtorch.tensor(src, requires_grad=True)
            ry = rx.scatter_reduce(0, rtorch.tensor(index), rs, reduce, include_self=include_self)
            ry.backward(rtorch.arange(12.0).reshape(3, 4).double())
            np.testing.assert_allclose(ry.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
            np.testing.assert_allclose(rx.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
            np.testing.assert_allclose(rs.grad.numpy(), ts.grad.numpy(), rtol=1e-12)
