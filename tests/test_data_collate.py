"""default_collate / default_convert against PyTorch's documented results (written by hand)."""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np
import pytest

import rtorch
from rtorch.utils.data import default_collate, default_convert

Point = namedtuple("Point", "x y")


def test_tensors_are_stacked():
    a = rtorch.tensor([[1.0, 2.0], [3.0, 4.0]])
    out = default_collate([a, a.t()])  # non-contiguous input
    assert out.shape == (2, 2, 2) and out.dtype == rtorch.float32
    assert out.tolist() == [[[1.0, 2.0], [3.0, 4.0]], [[1.0, 3.0], [2.0, 4.0]]]
    scalars = default_collate(
        [rtorch.tensor(1, dtype=rtorch.int16), rtorch.tensor(2, dtype=rtorch.int16)]
    )
    assert scalars.dtype == rtorch.int16 and scalars.tolist() == [1, 2]


def test_tensor_size_mismatch_is_stacks_error():
    with pytest.raises(
        RuntimeError,
        match=r"stack expects each tensor to be equal size, but got \[2\] at entry 0 and \[3\] at entry 1",
    ):
        default_collate([rtorch.ones(2), rtorch.ones(3)])


def test_numbers():
    f = default_collate([1.5, 2.0])
    assert f.dtype == rtorch.float64 and f.tolist() == [1.5, 2.0]
    i = default_collate([1, 2, 3])
    assert i.dtype == rtorch.int64 and i.tolist() == [1, 2, 3]
    b = default_collate([True, False])
    assert b.dtype == rtorch.bool and b.tolist() == [True, False]


def test_numpy_arrays_and_scalars_keep_dtype():
    out = default_collate([np.array([1, 2], dtype=np.int32), np.array([3, 4], dtype=np.int32)])
    assert out.dtype == rtorch.int32 and out.tolist() == [[1, 2], [3, 4]]
    u8 = default_collate([np.zeros((2, 2), np.uint8), np.ones((2, 2), np.uint8)])
    assert u8.shape == (2, 2, 2) and u8.dtype == rtorch.uint8
    s = default_collate([np.float32(1.5), np.float32(2.0)])
    assert s.dtype == rtorch.float32 and s.tolist() == [1.5, 2.0]
    assert default_collate([np.int16(1)]).dtype == rtorch.int16
    assert default_collate([np.float64(1.0)]).dtype == rtorch.float64


def test_strings_stay_as_given():
    assert default_collate(["a", "b"]) == ["a", "b"]
    assert default_collate([b"a", b"b"]) == [b"a", b"b"]


def test_dicts_preserve_type_and_keys():
    out = default_collate([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}])
    assert list(out) == ["a", "b"] and out["a"].tolist() == [1, 2] and out["b"] == ["x", "y"]
    od = default_collate([OrderedDict(z=1.0, a=2.0)] * 2)
    assert type(od) is OrderedDict and list(od) == ["z", "a"]
    assert od["a"].dtype == rtorch.float64


def test_tuples_are_transposed_into_lists():
    out = default_collate([(1, "a", {"k": 2.0}), (3, "b", {"k": 4.0})])
    assert isinstance(out, list) and len(out) == 3
    assert out[0].tolist() == [1, 3]
    assert out[1] == ("a", "b")  # the transposed field, as zip gives it
    assert out[2]["k"].tolist() == [2.0, 4.0]
    lists = default_collate([[1, 2], [3, 4]])
    assert [t.tolist() for t in lists] == [[1, 3], [2, 4]]


def test_namedtuples_are_preserved():
    out = default_collate([Point(1.0, rtorch.zeros(2)), Point(2.0, rtorch.ones(2))])
    assert type(out) is Point
    assert out.x.tolist() == [1.0, 2.0] and out.y.shape == (2, 2)


def test_nested():
    batch = [{"img": rtorch.zeros(1, 2), "meta": {"id": i, "tags": [i, i + 1]}} for i in range(3)]
    out = default_collate(batch)
    assert out["img"].shape == (3, 1, 2)
    assert out["meta"]["id"].tolist() == [0, 1, 2]
    assert [t.tolist() for t in out["meta"]["tags"]] == [[0, 1, 2], [1, 2, 3]]


def test_errors():
    msg = (
        "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found"
    )
    with pytest.raises(TypeError, match=msg + " <class 'object'>"):
        default_collate([object()])
    with pytest.raises(TypeError, match=msg + " <U1"):
        default_collate([np.array(["a"])])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])


def test_default_convert():
    out = default_convert((np.array([1.0]), 2, "a"))
    assert isinstance(out, list) and out[1] == 2 and out[2] == "a"
    assert out[0].dtype == rtorch.float64 and out[0].tolist() == [1.0]
    s = default_convert(np.float64(2.0))
    assert isinstance(s, rtorch.Tensor) and s.dim() == 0 and s.dtype == rtorch.float64
    p = default_convert(Point(np.int32(1), 2.5))
    assert type(p) is Point and p.x.dtype == rtorch.int32 and p.y == 2.5
    d = default_convert({"a": np.zeros(2, np.float32)})
    assert d["a"].dtype == rtorch.float32
    strings = np.array(["x"])
    assert default_convert(strings) is strings
    t = rtorch.ones(2)
    assert default_convert(t) is t
