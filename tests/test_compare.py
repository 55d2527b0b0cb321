"""Comparisons, isclose/allclose/equal, logical and bitwise ops, shifts."""

from __future__ import annotations

import operator

import numpy as np
import pytest
from conftest import ALL_DTYPES, to_np
from hypothesis import given, settings
from hypothesis import strategies as st

import rtorch

CMP = [
    ("eq", operator.eq, np.equal),
    ("ne", operator.ne, np.not_equal),
    ("lt", operator.lt, np.less),
    ("le", operator.le, np.less_equal),
    ("gt", operator.gt, np.greater),
    ("ge", operator.ge, np.greater_equal),
]
ALIASES = {
    "ne": "not_equal",
    "lt": "less",
    "le": "less_equal",
    "gt": "greater",
    "ge": "greater_equal",
}


@pytest.mark.parametrize("name,op,ref", CMP, ids=[c[0] for c in CMP])
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_compare_dtypes(name, op, ref, dtype):
    a = np.array([[0, 1, 2], [3, 1, 0]])
    b = np.array([1, 1, 0])
    x = rtorch.tensor(a, dtype=dtype)
    y = rtorch.tensor(b, dtype=dtype)
    expect = ref(to_np(x), to_np(y))
    for out in (op(x, y), getattr(rtorch, name)(x, y), getattr(x, name)(y)):
        assert out.dtype == rtorch.bool
        assert to_np(out).tolist() == expect.tolist()
    if name in ALIASES:
        assert to_np(getattr(rtorch, ALIASES[name])(x, y)).tolist() == expect.tolist()
        assert to_np(getattr(x, ALIASES[name])(y)).tolist() == expect.tolist()


@pytest.mark.parametrize("name,op,ref", CMP, ids=[c[0] for c in CMP])
def test_compare_scalars_and_promotion(name, op, ref):
    i = rtorch.tensor([-3, 0, 5])
    assert to_np(op(i, 0.5)).tolist() == ref(np.array([-3, 0, 5]), 0.5).tolist()
    f = rtorch.tensor([-1.5, 0.0, 2.5])
    assert (
        to_np(op(f, i)).tolist() == ref(np.array([-1.5, 0.0, 2.5]), np.array([-3, 0, 5])).tolist()
    )
    # Reflected: number on the left.
    assert to_np(op(1, i)).tolist() == ref(1, np.array([-3, 0, 5])).tolist()
    # float32 vs float64 compare in float64.
    a = rtorch.tensor([0.1], dtype=rtorch.float32)
    b = rtorch.tensor([0.1], dtype=rtorch.float64)
    assert (
        to_np(op(a, b)).tolist() == ref(np.array([np.float32(0.1)], dtype=np.float64), 0.1).tolist()
    )


def test_compare_noncontiguous_and_broadcast():
    x = rtorch.tensor(np.arange(12.0).reshape(3, 4))
    y = rtorch.tensor(np.arange(12.0).reshape(4, 3))
    out = x.t() > y
    assert (
        to_np(out).tolist()
        == (np.arange(12.0).reshape(3, 4).T > np.arange(12.0).reshape(4, 3)).tolist()
    )
    col = rtorch.tensor([[1.0], [5.0], [9.0]])
    assert (x >= col).shape == (3, 4)
    assert (
        to_np(x >= col).tolist()
        == (np.arange(12.0).reshape(3, 4) >= np.array([[1.0], [5.0], [9.0]])).tolist()
    )
    e = rtorch.tensor([1.0, 2.0]).expand(3, 2)
    assert to_np(e == 2.0).tolist() == [[False, True]] * 3
    with pytest.raises(RuntimeError, match="must match the size"):
        _ = rtorch.tensor([1, 2]) == rtorch.tensor([1, 2, 3])


def test_compare_nan_and_empty():
    n = rtorch.tensor([float("nan"), 1.0])
    m = n
    assert (n == m).tolist() == [False, True]
    assert (n != m).tolist() == [True, False]
    assert (n < 2).tolist() == [False, True]
    assert (rtorch.tensor([]) == 1).shape == (0,)
    assert (rtorch.tensor(1.0) == rtorch.tensor(1)).shape == ()


def test_compare_in_place():
    x = rtorch.tensor([1.0, 2.0, 3.0])
    x.gt_(1.5)
    assert x.tolist() == [0.0, 1.0, 1.0]
    assert x.dtype == rtorch.float32
    y = rtorch.tensor([1, 2])
    y.eq_(rtorch.tensor([1, 0]))
    assert y.tolist() == [1, 0]


def test_eq_with_other_types_and_hash():
    t = rtorch.tensor([1.0])
    assert (t == None) is False
    assert (t == "a") is False
    d = {t: 1}
    assert d[t] == 1
    assert hash(t) == hash(t)
    s = {t, rtorch.tensor([1.0])}
    assert len(s) == 2


def test_isclose_allclose_equal():
    a = rtorch.tensor([1.0, 1.0 + 1e-6, float("nan"), float("inf"), 1.0])
    b = rtorch.tensor([1.0, 1.0, float("nan"), float("inf"), 1.1])
    assert rtorch.isclose(a, b).tolist() == [True, True, False, True, False]
    assert rtorch.isclose(a, b, equal_nan=True).tolist() == [True, True, True, True, False]
    assert a.isclose(b, rtol=0.2).tolist() == [True, True, False, True, True]
    assert rtorch.isclose(
        rtorch.tensor([float("inf")]), rtorch.tensor([-float("inf")])
    ).tolist() == [False]
    assert not rtorch.allclose(a, b)
    assert rtorch.allclose(
        a[:2] if hasattr(a, "__getitem__") else a.narrow(0, 0, 2), b.narrow(0, 0, 2)
    )
    assert rtorch.allclose(rtorch.tensor([1.0, 2.0]), rtorch.tensor([1.0, 2.0 + 1e-9]))
    assert a.allclose(b, atol=0.2, equal_nan=True)
    i = rtorch.tensor([1, 2, 3])
    assert rtorch.isclose(i, i).tolist() == [True] * 3
    with pytest.raises(RuntimeError, match="Long did not match Float"):
        rtorch.allclose(i, i.float())
    with pytest.raises(RuntimeError, match="Float did not match Double"):
        rtorch.isclose(rtorch.tensor([1.0]), rtorch.tensor([1.0], dtype=rtorch.float64))
    assert rtorch.equal(i, i.float())
    assert not rtorch.equal(i, rtorch.tensor([1, 2]))
    assert not i.equal(rtorch.tensor([1, 2, 4]))
    assert rtorch.equal(rtorch.tensor([]), rtorch.tensor([]))


LOGIC = [
    ("logical_and", np.logical_and),
    ("logical_or", np.logical_or),
    ("logical_xor", np.logical_xor),
]


@pytest.mark.parametrize("name,ref", LOGIC, ids=[x[0] for x in LOGIC])
def test_logical(name, ref):
    a = np.array([[0, 1, 2], [3, 0, 0]])
    b = np.array([1.0, 0.0, 0.5])
    x = rtorch.tensor(a)
    y = rtorch.tensor(b)
    out = getattr(rtorch, name)(x, y)
    assert out.dtype == rtorch.bool
    assert to_np(out).tolist() == ref(a, b).tolist()
    assert to_np(getattr(x, name)(y)).tolist() == ref(a, b).tolist()
    assert (
        to_np(getattr(rtorch, name)(x.t(), rtorch.tensor([1, 0]))).tolist()
        == ref(a.T, [1, 0]).tolist()
    )
    z = rtorch.tensor([1.0, 0.0, 3.0])
    getattr(z, name + "_")(rtorch.tensor([1, 1, 0]))
    assert z.dtype == rtorch.float32
    assert z.tolist() == ref([1.0, 0.0, 3.0], [1, 1, 0]).astype(float).tolist()
    with pytest.raises(TypeError):
        getattr(rtorch, name)(x, 1)


BITS = [
    ("bitwise_and", operator.and_),
    ("bitwise_or", operator.or_),
    ("bitwise_xor", operator.xor),
]


@pytest.mark.parametrize("name,op", BITS, ids=[b[0] for b in BITS])
@pytest.mark.parametrize(
    "dtype", [rtorch.uint8, rtorch.int8, rtorch.int16, rtorch.int32, rtorch.int64], ids=str
)
def test_bitwise(name, op, dtype):
    a = np.array([[5, 3, 0], [12, 7, 1]])
    b = np.array([6, 1, 9])
    x = rtorch.tensor(a, dtype=dtype)
    y = rtorch.tensor(b, dtype=dtype)
    expect = op(a, b).tolist()
    assert op(x, y).tolist() == expect
    assert getattr(rtorch, name)(x, y).tolist() == expect
    assert getattr(x, name)(y).tolist() == expect
    assert op(x, 3).tolist() == op(a, 3).tolist()
    assert op(3, x).tolist() == op(3, a).tolist()
    w = x.clone()
    getattr(w, name + "_")(y)
    assert w.tolist() == expect
    v = x.clone()
    if name == "bitwise_and":
        v &= y
    elif name == "bitwise_or":
        v |= y
    else:
        v ^= y
    assert v.tolist() == expect


def test_bitwise_bool_and_errors():
    b = rtorch.tensor([True, False, True])
    c = rtorch.tensor([True, True, False])
    assert (b & c).tolist() == [True, False, False]
    assert (b | c).tolist() == [True, True, True]
    assert (b ^ c).tolist() == [False, True, True]
    assert (b & True).dtype == rtorch.bool
    assert (b & 1).dtype == rtorch.int64
    i = rtorch.tensor([-3, 0, 5])
    assert (i & True).tolist() == [1, 0, 1]
    f = rtorch.tensor([1.0])
    with pytest.raises(
        NotImplementedError, match="\"bitwise_and_cpu\" not implemented for 'Float'"
    ):
        f & f
    with pytest.raises(NotImplementedError, match="bitwise_xor_cpu"):
        rtorch.bitwise_xor(f, f)
    with pytest.raises(NotImplementedError, match="lshift_cpu"):
        i << 1.5
    with pytest.raises(RuntimeError, match="result type"):
        b.bitwise_and_(rtorch.tensor([1, 2, 3]))


def test_shifts():
    i = rtorch.tensor([-3, 0, 5])
    assert (i << 2).tolist() == [-12, 0, 20]
    assert (i >> 1).tolist() == [-2, 0, 2]
    assert rtorch.bitwise_left_shift(i, 70).tolist() == [0, 0, 0]
    assert rtorch.bitwise_right_shift(i, 70).tolist() == [-1, 0, 0]
    assert (rtorch.tensor([-8]) >> 70).tolist() == [-1]
    u = rtorch.tensor([1, 200], dtype=rtorch.uint8)
    assert (u << 9).tolist() == [0, 0]
    assert (u << 1).tolist() == [2, 144]
    assert (u >> 7).tolist() == [0, 1]
    assert (1 << rtorch.tensor([0, 3])).tolist() == [1, 8]
    assert (64 >> rtorch.tensor([1, 3])).tolist() == [32, 8]
    assert i.bitwise_left_shift(rtorch.tensor([1, 1, 2])).tolist() == [-6, 0, 20]
    j = i.clone()
    j <<= 1
    assert j.tolist() == [-6, 0, 10]
    j >>= 1
    assert j.tolist() == [-3, 0, 5]
    assert (rtorch.tensor([1], dtype=rtorch.int32) << 31).tolist() == [-(2**31)]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(1, 3), min_size=0, max_size=3),
    st.lists(st.integers(1, 3), min_size=0, max_size=3),
    st.integers(0, 2**16),
)
def test_broadcast_property(sa, sb, seed):
    # Make the shapes broadcastable by setting mismatched dims to 1 on one side.
    sa, sb = list(sa), list(sb)
    for k in range(1, min(len(sa), len(sb)) + 1):
        if sa[-k] != sb[-k]:
            sb[-k] = 1
    rng = np.random.default_rng(seed)
    a = rng.integers(-3, 3, size=sa)
    b = rng.integers(-3, 3, size=sb)
    x, y = rtorch.tensor(a), rtorch.tensor(b)
    assert to_np(x < y).tolist() == (a < b).tolist()
    assert (x & y).tolist() == (a & b).tolist()
    assert tuple((x == y).shape) == np.broadcast(a, b).shape


def test_grad_not_recorded():
    x = rtorch.tensor([1.0, 2.0], requires_grad=True)
    assert not (x > 1).requires_grad
    assert not rtorch.isclose(x, x).requires_grad
