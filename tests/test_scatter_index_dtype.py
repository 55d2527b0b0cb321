"""Index dtypes of the scatter/gather family: PyTorch 2.x takes an int32 or int64 index for
scatter, scatter_, scatter_add(_), gather, index_select, scatter_reduce and index_add, and
raises ``scatter(): Expected dtype int32/int64 for index`` for any other."""

import numpy as np
import pytest

import rtorch

INDEX = [[0, 1, 2, 0], [1, 0, 0, 2]]


def _np_scatter(base: np.ndarray, index: np.ndarray, src: np.ndarray) -> np.ndarray:
    # Reference for dim 0: out[index[i, j], j] = src[i, j] (later writes win; no duplicates
    # within a column in INDEX, so the order does not matter).
    out = base.copy()
    for i in range(index.shape[0]):
        for j in range(index.shape[1]):
            out[index[i, j], j] = src[i, j]
    return out


def _np_scatter_add(base: np.ndarray, index: np.ndarray, src: np.ndarray) -> np.ndarray:
    out = base.copy()
    np.add.at(out, (index, np.arange(index.shape[1])[None, :].repeat(index.shape[0], 0)), src)
    return out


@pytest.fixture
def data():
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    src = np.arange(8, dtype=np.float32).reshape(2, 4) * 10 + 1
    return base, src


@pytest.mark.parametrize("dtype", [rtorch.int32, rtorch.int64])
def test_scatter_takes_int32_and_int64_index(data, dtype):
    base, src = data
    idx = rtorch.tensor(INDEX, dtype=dtype)
    x, s = rtorch.tensor(base), rtorch.tensor(src)
    expected = _np_scatter(base, np.array(INDEX), src)
    np.testing.assert_array_equal(x.scatter(0, idx, s).numpy(), expected)
    np.testing.assert_array_equal(rtorch.scatter(x, 0, idx, s).numpy(), expected)
    y = x.clone()
    assert y.scatter_(0, idx, s) is y
    np.testing.assert_array_equal(y.numpy(), expected)
    filled = _np_scatter(base, np.array(INDEX), np.full_like(src, 7.0))
    np.testing.assert_array_equal(x.scatter(0, idx, 7.0).numpy(), filled)
    np.testing.assert_array_equal(x.clone().scatter_(0, idx, value=7.0).numpy(), filled)
    # An int32 index is not modified or converted in place.
    assert idx.dtype == dtype


def test_scatter_int32_index_non_contiguous_and_reduce_with_grad(data):
    base, src = data
    # A transposed int32 index (non-contiguous).
    idx = rtorch.tensor(np.array(INDEX).T.copy(), dtype=rtorch.int32).t()
    assert not idx.is_contiguous()
    x = rtorch.tensor(base, requires_grad=True)
    s = rtorch.tensor(src, requires_grad=True)
    with pytest.warns(UserWarning, match="deprecated"):
        out = x.scatter(0, idx, s, reduce="add")
    np.testing.assert_array_equal(out.detach().numpy(), _np_scatter_add(base, np.array(INDEX), src))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones_like(base))
    np.testing.assert_array_equal(s.grad.numpy(), np.ones_like(src))


def test_scatter_reduce_and_index_select_take_int32(data):
    base, src = data
    idx = rtorch.tensor(INDEX, dtype=rtorch.int32)
    got = rtorch.tensor(base).scatter_reduce(0, idx, rtorch.tensor(src), "sum")
    np.testing.assert_array_equal(got.numpy(), _np_scatter_add(base, np.array(INDEX), src))
    rows = rtorch.tensor([2, 0], dtype=rtorch.int32)
    np.testing.assert_array_equal(rtorch.tensor(base).index_select(0, rows).numpy(), base[[2, 0]])


@pytest.mark.parametrize("dtype", [rtorch.int16, rtorch.uint8, rtorch.float32, rtorch.bool])
def test_scatter_rejects_other_index_dtypes(data, dtype):
    base, src = data
    idx = rtorch.tensor(INDEX).to(dtype)
    x = rtorch.tensor(base)
    with pytest.raises(RuntimeError, match=r"^scatter\(\): Expected dtype int32/int64 for index$"):
        x.scatter(0, idx, rtorch.tensor(src))
    with pytest.raises(RuntimeError, match=r"int32/int64 for index"):
        x.clone().scatter_(0, idx, 1.0)


# scatter_add, scatter_add_ and gather are the core's own bindings (no Python layer).
def test_scatter_add_and_gather_take_int32(data):
    base, src = data
    idx = rtorch.tensor(INDEX, dtype=rtorch.int32)
    x, s = rtorch.tensor(base), rtorch.tensor(src)
    expected = _np_scatter_add(base, np.array(INDEX), src)
    np.testing.assert_array_equal(x.scatter_add(0, idx, s).numpy(), expected)
    np.testing.assert_array_equal(rtorch.scatter_add(x, 0, idx, s).numpy(), expected)
    np.testing.assert_array_equal(x.clone().scatter_add_(0, idx, s).numpy(), expected)
    np.testing.assert_array_equal(
        rtorch.gather(x, 0, idx).numpy(), np.take_along_axis(base, np.array(INDEX), 0)
    )


@pytest.mark.parametrize("dtype_name", ["int32", "int64", "int16", "float32"])
def test_scatter_index_dtypes_match_torch(data, dtype_name):
    torch = pytest.importorskip("torch")
    base, src = data
    results = []
    for lib in (torch, rtorch):
        idx = lib.tensor(INDEX).to(getattr(lib, dtype_name))
        x, s = lib.tensor(base), lib.tensor(src)
        try:
            results.append(x.scatter(0, idx, s).numpy())
        except RuntimeError as e:
            results.append(str(e))
    if isinstance(results[0], str):
        assert results[0] == results[1]
    else:
        np.testing.assert_array_equal(results[1], results[0])
