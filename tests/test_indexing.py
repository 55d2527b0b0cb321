"""Tensor indexing: __getitem__ / __setitem__ against numpy, views, autograd, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import ALL_DTYPES, to_np
from hypothesis import given, settings
from hypothesis import strategies as st

import rtorch
from rtorch.autograd import gradcheck, gradgradcheck

A = np.arange(60, dtype=np.float64).reshape(3, 4, 5)


def T(a, **kw) -> rtorch.Tensor:
    return rtorch.tensor(np.asarray(a), **kw)


def check(t: rtorch.Tensor, expected) -> None:
    expected = np.asarray(expected)
    assert tuple(t.shape) == expected.shape
    np.testing.assert_array_equal(to_np(t).reshape(expected.shape), expected)


BASIC_KEYS = [
    0,
    -1,
    2,
    (1, 2),
    (1, 2, 3),
    (-1, -2, -3),
    slice(None),
    slice(1, None),
    slice(None, 2),
    slice(-2, None),
    slice(-10, 10),
    slice(5, 1),
    slice(0, 3, 2),
    (slice(None), 1),
    (slice(None), slice(1, 3), slice(None, None, 2)),
    (Ellipsis, 2),
    (0, Ellipsis),
    (Ellipsis,),
    (None,),
    (None, 0, None),
    (slice(None), None, 1),
    (Ellipsis, None),
    (),
]

ADVANCED_KEYS = [
    [0, 2],
    np.array([[0, 1], [2, 0]]),  # (a list of lists is a tuple: see the test below)
    [-1, 0, 0],
    ([0, 2], [1, 3]),
    (slice(None), [0, 3]),
    (slice(None), [0, 3], [1, 4]),
    ([0, 2], slice(None), [1, 4]),
    ([0, 2], 1, [1, 4]),
    (0, [1, 2], [3, 4]),
    (Ellipsis, [0, 4]),
    ([[0], [2]], [1, 3]),
    (slice(1, 3), [[0, 1], [2, 3]]),
    (None, [0, 1]),
    ([0, 1], None, [1, 2]),
    (True,),
    (False,),
    (0, True),
    ([],),
]


@pytest.mark.parametrize("key", BASIC_KEYS, ids=repr)
def test_basic_getitem_matches_numpy(key):
    x = T(A)
    check(x[key], A[key])


@pytest.mark.parametrize("key", ADVANCED_KEYS, ids=repr)
def test_advanced_getitem_matches_numpy(key):
    x = T(A)
    check(x[key], A[key])


def test_bool_masks():
    x = T(A)
    m = A > 25
    check(x[T(m)], A[m])
    check(x[m], A[m])
    m2 = A[0] > 7
    check(x[1, T(m2)], A[1, m2])
    check(x[:, T(m2)], A[:, m2])
    m1 = np.array([True, False, True])
    check(x[T(m1)], A[m1])
    check(x[[True, False, True]], A[[True, False, True]])
    check(x[T(m1), 1:3], A[m1, 1:3])
    check(x[T(np.array(True))], A[True])


def test_zero_dim_int_tensor_acts_like_int():
    x = T(A)
    r = x[T(np.array(2))]
    check(r, A[2])
    # like an int, it is a view
    r[0, 0] = -1.0
    assert x[2, 0, 0].item() == -1.0


def test_basic_indexing_returns_views():
    x = T(A.copy())
    for key, setter in [
        (1, lambda v: v.__setitem__((0, 0), 100.0)),
        ((slice(None), 2), lambda v: v.__setitem__((0, 0), 101.0)),
        ((Ellipsis, slice(1, 5, 2)), lambda v: v.__setitem__((0, 0, 0), 102.0)),
        ((None, 0), lambda v: v.__setitem__((0, 0, 0), 103.0)),
    ]:
        v = x[key]
        assert v._storage_id() == x._storage_id()
        setter(v)
    assert x[1, 0, 0].item() == 100.0
    assert x[0, 2, 0].item() == 101.0
    assert x[0, 0, 1].item() == 102.0
    assert x[0, 0, 0].item() == 103.0
    # full-slice returns a new object that shares storage
    y = x[:]
    assert y is not x and y._storage_id() == x._storage_id()


def test_advanced_indexing_copies():
    x = T(A.copy())
    r = x[[0, 1]]
    r[0, 0, 0] = -5.0
    assert x[0, 0, 0].item() == 0.0


def test_getitem_noncontiguous():
    base = T(A)
    x = base.transpose(0, 2)  # (5, 4, 3)
    a = A.transpose(2, 1, 0)
    assert not x.is_contiguous()
    for key in [1, (slice(None), 2), ([0, 4], 1), (slice(1, None, 2), [3, 0], [2, 1]), (a > 30,)]:
        check(x[key], a[key])
    e = T(np.array([1.0, 2.0, 3.0])).expand(4, 3)
    check(e[[0, 3], 1:], np.broadcast_to([1.0, 2.0, 3.0], (4, 3))[[0, 3], 1:])


def test_empty_and_zero_dim():
    z = T(np.zeros((0, 3)))
    check(z[:, 1], np.zeros((0,)))
    check(z[[]], np.zeros((0, 3)))
    s = T(np.array(5.0))
    check(s[None], np.array([5.0]))
    check(s[...], np.array(5.0))
    with pytest.raises(IndexError, match="invalid index of a 0-dim tensor"):
        s[0]
    e = T(A)[1:1]
    assert tuple(e.shape) == (0, 4, 5)


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_getitem_setitem_all_dtypes(dtype):
    a = (np.arange(12).reshape(3, 4) % 3).astype(np.float64)
    x = T(a).to(dtype)
    ref = a.astype(bool) if dtype == rtorch.bool else a
    check(x[1], ref[1])
    check(x[[2, 0], 1:3], ref[[2, 0], 1:3])
    x[0] = 1
    x[[1, 2], [0, 3]] = 0
    ref = ref.copy()
    ref[0] = 1
    ref[[1, 2], [0, 3]] = 0
    check(x, ref)
    assert x.dtype == dtype


def test_errors():
    x = T(A)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        x[5]
    with pytest.raises(IndexError, match="index -4 is out of bounds for dimension 0 with size 3"):
        x[-4]
    with pytest.raises(IndexError, match="index 7 is out of bounds for dimension 1 with size 4"):
        x[0, 7]
    with pytest.raises(IndexError, match="out of bounds"):
        x[[0, 3]]
    with pytest.raises(IndexError, match="out of bounds"):
        x[:, T(np.array([-5]))]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        x[::0]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 3"):
        x[0, 0, 0, 0]
    with pytest.raises(IndexError, match="valid indices"):
        x[1.5]
    with pytest.raises(IndexError, match="The shape of the mask"):
        x[T(np.array([True, False]))]
    with pytest.raises(IndexError, match="shape mismatch"):
        x[[0, 1], [0, 1, 2]]
    with pytest.raises(IndexError, match="must be long, int, byte or bool"):
        x[T(np.array([0.0]))]
    with pytest.raises(RuntimeError, match="shape mismatch"):
        y = x.clone()
        y[[0, 1]] = T(np.zeros(3))
    with pytest.raises(RuntimeError):
        y = x.clone()
        y[0] = T(np.zeros(3))


SET_KEYS = [
    0,
    (slice(None), 1),
    (Ellipsis, slice(0, 5, 2)),
    (1, slice(1, 3), 4),
    [0, 0, 2],
    ([0, 2], [1, 3]),
    (slice(None), [1, 1, 3], [0, 4, 4]),
    ([0, 2], slice(None), [1, 4]),
    (None, 1),
    (True,),
]


@pytest.mark.parametrize("key", SET_KEYS, ids=repr)
def test_setitem_scalar_and_tensor(key):
    x = T(A.copy())
    a = A.copy()
    x[key] = -1.5
    a[key] = -1.5
    check(x, a)
    shape = a[key].shape
    vals = np.random.default_rng(0).standard_normal(shape[-1:] if shape else ())
    x[key] = T(vals)
    a[key] = vals
    check(x, a)


def test_setitem_bool_mask_and_dtype_conversion():
    x = T(A.copy())
    a = A.copy()
    m = a > 40
    x[T(m)] = 0
    a[m] = 0
    check(x, a)
    i = T(np.zeros((2, 2), dtype=np.int64))
    i[0] = 2.7  # float value into an int tensor truncates
    i[1] = T(np.array([True, False]))
    check(i, np.array([[2, 2], [1, 0]]))
    f = T(np.zeros(3))
    f[1:] = [4, 5]
    check(f, np.array([0.0, 4.0, 5.0]))


def test_setitem_repeated_index_writes_once():
    x = T(np.zeros(4))
    x[[0, 0, 2]] += 1
    check(x, np.array([1.0, 0.0, 1.0, 0.0]))


def test_setitem_value_broadcasts_and_aliasing():
    x = T(A.copy())
    a = A.copy()
    x[:, :, 0] = T(np.array([[1.0], [2.0], [3.0]]))
    a[:, :, 0] = np.array([[1.0], [2.0], [3.0]])
    check(x, a)
    # overlapping source and destination
    y = T(np.arange(6.0))
    with pytest.raises(RuntimeError, match="refer to a single memory location"):
        y[1:] = y[:-1]  # PyTorch 2.15 raises on a partly overlapping source
    y[1:] = y[:-1].clone()
    check(y, np.array([0.0, 0.0, 1.0, 2.0, 3.0, 4.0]))
    z = T(np.arange(6.0))
    z[[1, 2, 3, 4, 5]] = z[[0, 1, 2, 3, 4]]
    check(z, np.array([0.0, 0.0, 1.0, 2.0, 3.0, 4.0]))
    # a leading size-1 dim of the value may be dropped
    w = T(np.zeros((2, 3)))
    w[0] = T(np.ones((1, 3)))
    check(w, np.array([[1.0, 1, 1], [0, 0, 0]]))


def test_setitem_through_noncontiguous_view():
    base = T(np.zeros((3, 4)))
    t = base.t()
    t[1] = T(np.array([1.0, 2.0, 3.0]))
    t[[0, 3], 2] = 9.0
    expected = np.zeros((3, 4))
    expected[:, 1] = [1, 2, 3]
    expected[2, [0, 3]] = 9
    check(base, expected)


def test_setitem_bumps_version():
    x = T(np.zeros(3))
    v = x._version
    x[0] = 1.0
    assert x._version > v


# ----- autograd -----


def leaf(a):
    return T(np.asarray(a, dtype=np.float64), requires_grad=True)


@pytest.mark.parametrize(
    "key",
    [
        1,
        (slice(None), 2),
        (Ellipsis, slice(1, 4, 2)),
        [0, 0, 2],
        ([0, 2], slice(None), [1, 1]),
        (None, 0, [3, 3]),
    ],
    ids=repr,
)
def test_getitem_gradcheck(key):
    x = leaf(np.random.default_rng(1).standard_normal((3, 4, 5)))
    assert gradcheck(lambda t: t[key], (x,))
    assert gradgradcheck(lambda t: t[key] * t[key], (x,))


def test_getitem_repeated_indices_accumulate():
    x = leaf([1.0, 2.0, 3.0])
    x[[0, 0, 2, 0]].sum().backward()
    check(x.grad, np.array([3.0, 0.0, 1.0]))


def test_getitem_bool_mask_grad():
    x = leaf(np.arange(6.0).reshape(2, 3))
    m = T(np.array([[True, False, True], [False, True, False]]))
    (x[m] * 2).sum().backward()
    check(x.grad, np.array([[2.0, 0, 2], [0, 2, 0]]))


def test_setitem_on_nonleaf_gradients():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2
    y[0] = 5
    y.sum().backward()
    check(x.grad, np.array([0.0, 2.0, 2.0]))
    assert y.grad_fn is not None


def test_setitem_value_requires_grad():
    w = leaf([1.0, 2.0])
    buf = T(np.zeros((3, 2)))
    buf[1] = w * 3
    buf[[0, 2], [1, 1]] = w
    (buf * T(np.arange(6.0).reshape(3, 2))).sum().backward()
    # d/dw0: 3 * 2 + 1 (buf[0,1]) ; d/dw1: 3 * 3 + 5 (buf[2,1])
    check(w.grad, np.array([3 * 2 + 1.0, 3 * 3 + 5.0]))


def test_setitem_gradcheck():
    def f(x, v):
        y = x * 1.5
        y[:, [0, 2]] = v
        y[1] = 0.0
        return y

    x = leaf(np.random.default_rng(2).standard_normal((3, 4)))
    v = leaf(np.random.default_rng(3).standard_normal((3, 2)))
    assert gradcheck(f, (x, v))
    assert gradgradcheck(f, (x, v))


def test_setitem_leaf_requires_grad_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0] = 1.0
    with rtorch.no_grad():
        x[0] = 7.0
    assert x[0].item() == 7.0


def test_setitem_view_of_grad_tensor_rebases_the_base():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = x * 2
    v = y[0]
    v[1] = 0.0
    assert y.grad_fn.name() == "CopySlices"
    y.sum().backward()
    check(x.grad, np.array([[2.0, 0.0], [2.0, 2.0]]))


def test_saved_tensor_modified_by_setitem_raises():
    x = leaf([1.0, 2.0])
    y = x * 1
    z = y * y
    y[0] = 3.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


# ----- property tests against numpy -----


@st.composite
def index_keys(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    items = []
    dim = 0
    used_ellipsis = False
    while dim < len(shape) and draw(st.booleans()):
        kind = draw(st.sampled_from(["int", "slice", "none", "list", "ellipsis", "mask"]))
        n = shape[dim]
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
            dim += 1
        elif kind == "slice":
            start = draw(st.none() | st.integers(-n - 1, n + 1))
            stop = draw(st.none() | st.integers(-n - 1, n + 1))
            step = draw(st.none() | st.integers(1, 3))
            items.append(slice(start, stop, step))
            dim += 1
        elif kind == "none":
            items.append(None)
        elif kind == "list":
            items.append(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=3)))
            dim += 1
        elif kind == "mask":
            items.append(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))))
            dim += 1
        elif not used_ellipsis:
            items.append(Ellipsis)
            used_ellipsis = True
            dim = len(shape)
    return shape, tuple(items)


def torch_like(a: np.ndarray, key: tuple):
    """numpy indexing with PyTorch's rule that integers are applied first (as selects),
    so they do not count as advanced indices when placing the advanced dims."""
    first = tuple(
        k if isinstance(k, int) or k is None or k is Ellipsis else slice(None) for k in key
    )
    second = tuple(slice(None) if k is None else k for k in key if not isinstance(k, int))
    return a[first][second]


@settings(max_examples=150, deadline=None)
@given(index_keys())
def test_random_getitem_matches_numpy(case):
    shape, key = case
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    try:
        expected = torch_like(a, key)
    except IndexError:
        with pytest.raises(IndexError):
            T(a)[key]
        return
    check(T(a)[key], expected)


@settings(max_examples=100, deadline=None)
@given(index_keys())
def test_random_setitem_matches_numpy(case):
    shape, key = case
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    try:
        sel = torch_like(a, key)
    except IndexError:
        return
    if any(isinstance(k, int) for k in key) and any(isinstance(k, (list, np.ndarray)) for k in key):
        return
    if len({len(k) if isinstance(k, list) else 0 for k in key if isinstance(k, list)}) > 1:
        return
    x = T(a)
    vals = -np.arange(sel.size, dtype=np.float64).reshape(sel.shape) - 1
    # numpy writes duplicates in order (last wins), as does rtorch
    a2 = a.copy()
    a2[key] = vals
    x[key] = T(vals)
    check(x, a2)


def test_int_with_advanced_index_placement():
    # PyTorch applies integers first (as selects), so x[0, :, [0, 1]] keeps the slice
    # dim in front, unlike numpy.
    x = T(A)
    check(x[0, :, [0, 1]], A[0][:, [0, 1]])
    check(x[[0, 1], :, 0], A[:, :, 0][[0, 1], :])
    check(x[:, 0, [0, 1]], A[:, 0][:, [0, 1]])


def test_parity_with_torch(torch_ref):
    a = np.arange(120.0).reshape(2, 3, 4, 5)
    keys = [
        (0, slice(None), [0, 1]),
        ([0, 1], slice(None), 0, slice(None)),
        (slice(None), [0, 1], slice(None), 0),
        (Ellipsis, [1, 0], None),
        (None, [[0], [1]], slice(1, 3), [2, 0]),
    ]
    for key in keys:
        tk = tuple(torch_ref.tensor(k) if isinstance(k, list) else k for k in key)
        rk = tuple(T(np.array(k)) if isinstance(k, list) else k for k in key)
        expected = torch_ref.tensor(a)[tk].numpy()
        check(T(a)[rk], expected)


def test_grad_value_into_view_of_plain_tensor_gives_the_base_history():
    w = leaf([1.0, 2.0])
    buf = T(np.zeros((3, 2)))
    row = buf[1]
    row[:] = w * 3
    assert buf.requires_grad and buf.grad_fn.name() == "CopySlices"
    buf[2] = w  # and into the base itself
    (buf * T(np.arange(6.0).reshape(3, 2))).sum().backward()
    check(w.grad, np.array([2.0 * 3 + 4.0, 3.0 * 3 + 5.0]))


def test_gather_rows_dense_and_strided_rows_match_numpy():
    # Trailing dims dense in source and result: each selected row is one block copy;
    # a transposed or stepped source keeps the element-by-element walk. Above the
    # parallel grain size, with repeated indices.
    v = np.random.default_rng(7).standard_normal((300, 6, 40))
    x = rtorch.tensor(v)
    idx = np.random.default_rng(8).integers(0, 300, 500)
    i = rtorch.tensor(idx)
    np.testing.assert_array_equal(x[i].numpy(), v[idx])
    np.testing.assert_array_equal(x.index_select(0, i).numpy(), v[idx])
    np.testing.assert_array_equal(x[:, :, ::2][i].numpy(), v[:, :, ::2][idx])
    t = x.permute(2, 1, 0)  # (40, 6, 300): rows not dense
    j = rtorch.tensor(idx % 40)
    np.testing.assert_array_equal(t[j].numpy(), v.transpose(2, 1, 0)[idx % 40])
    np.testing.assert_array_equal(x[:, 2][i[:10]].numpy(), v[:, 2][idx[:10]])


def test_list_of_sequences_is_a_tuple_of_indices_as_pytorch() -> None:
    # PyTorch (and NumPy before 1.23) read a short list holding a sequence, tensor,
    # slice, ... or None as a tuple, with a deprecation warning; other lists and ranges
    # are one index tensor.
    x = rtorch.arange(60.0).reshape(3, 4, 5)
    with pytest.warns(UserWarning, match="non-tuple sequence for multidimensional indexing"):
        got = x[[[0, 1], [2, 2]]]
    assert got.tolist() == x[[0, 1], [2, 2]].tolist() and got.shape == (2, 5)
    with pytest.warns(UserWarning):
        assert x[[0, slice(None)]].shape == (4, 5)
    with pytest.warns(UserWarning):
        assert x[[None, 1]].shape == (1, 4, 5)
    with pytest.warns(UserWarning):
        assert x[[[0] * 40]].shape == (40, 4, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x[[0, 1]].shape == (2, 4, 5)
        assert x[range(2)].tolist() == x[[0, 1]].tolist()
        assert x[[0] * 40].shape == (40, 4, 5)
    y = rtorch.zeros(3, 4)
    with pytest.warns(UserWarning):
        y[[[0, 2], [1, 3]]] = 5.0
    assert y.sum().item() == 10.0 and y[0, 1].item() == 5.0 and y[2, 3].item() == 5.0
