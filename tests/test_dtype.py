"""dtypes, type promotion (PYTORCH_SEMANTICS "Types and promotion"), default dtype, Size.

Every expected value here was checked against PyTorch 2.x.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import rtorch

ALL = [
    rtorch.bool,
    rtorch.uint8,
    rtorch.int8,
    rtorch.int16,
    rtorch.int32,
    rtorch.int64,
    rtorch.float16,
    rtorch.bfloat16,
    rtorch.float32,
    rtorch.float64,
]


@pytest.fixture
def default_float64():
    old = rtorch.get_default_dtype()
    rtorch.set_default_dtype(rtorch.float64)
    try:
        yield
    finally:
        rtorch.set_default_dtype(old)


# ----- dtype objects -----


def test_dtype_identity_and_aliases() -> None:
    x = rtorch.zeros(2)
    assert x.dtype is rtorch.float32
    assert rtorch.float is rtorch.float32 and rtorch.double is rtorch.float64
    assert rtorch.half is rtorch.float16 and rtorch.long is rtorch.int64
    assert rtorch.int is rtorch.int32 and rtorch.short is rtorch.int16
    assert rtorch.float32 == rtorch.float and rtorch.float32 != rtorch.float64
    assert hash(rtorch.float32) == hash(rtorch.float)
    assert rtorch.tensor([1], dtype=rtorch.int8).dtype is rtorch.int8


@pytest.mark.parametrize("d", ALL, ids=repr)
def test_dtype_repr_and_pickle(d) -> None:
    name = repr(d)
    assert name.startswith("torch.") and str(d) == name
    assert pickle.loads(pickle.dumps(d)) is d


def test_dtype_properties() -> None:
    got = [
        (d.is_floating_point, d.is_signed, d.itemsize)
        for d in (
            rtorch.bool,
            rtorch.uint8,
            rtorch.int8,
            rtorch.float16,
            rtorch.bfloat16,
            rtorch.float64,
        )
    ]
    assert got == [
        (False, False, 1),
        (False, False, 1),
        (False, True, 1),
        (True, True, 2),
        (True, True, 2),
        (True, True, 8),
    ]
    assert [repr(d) for d in ALL] == [
        "torch.bool",
        "torch.uint8",
        "torch.int8",
        "torch.int16",
        "torch.int32",
        "torch.int64",
        "torch.float16",
        "torch.bfloat16",
        "torch.float32",
        "torch.float64",
    ]


# ----- inference of a tensor's dtype -----


def test_inferred_dtypes() -> None:
    assert rtorch.zeros(2).dtype is rtorch.float32
    assert rtorch.empty(2).dtype is rtorch.float32
    assert rtorch.ones(2, dtype=rtorch.int32).dtype is rtorch.int32
    assert rtorch.tensor(1.5).dtype is rtorch.float32
    assert rtorch.tensor(2).dtype is rtorch.int64
    assert rtorch.tensor(True).dtype is rtorch.bool
    assert rtorch.tensor([1, 2.0]).dtype is rtorch.float32
    assert rtorch.tensor([True, 2.0]).dtype is rtorch.float32
    assert rtorch.tensor([True, 1]).dtype is rtorch.int64
    assert rtorch.tensor([1, 2], dtype=rtorch.float).dtype is rtorch.float32


def test_numpy_scalars_keep_their_dtype() -> None:
    assert rtorch.tensor([np.float64(1.5)]).dtype is rtorch.float64
    assert rtorch.tensor([1.5]).dtype is rtorch.float32
    assert rtorch.tensor(np.arange(3.0)).dtype is rtorch.float64


def test_full_infers_from_fill_value() -> None:
    assert rtorch.full((2,), 7).dtype is rtorch.int64
    assert rtorch.full((2,), True).dtype is rtorch.bool
    assert rtorch.full((2,), 7.0).dtype is rtorch.float32


# ----- promotion -----


def test_int_division_gives_default_float() -> None:
    i = rtorch.tensor([1], dtype=rtorch.int32)
    out = i / rtorch.tensor([2], dtype=rtorch.int32)
    assert out.dtype is rtorch.float32 and out.tolist() == [0.5]
    assert (rtorch.tensor([1]) / 0).tolist() == [float("inf")]


def test_python_scalars_do_not_widen_same_category() -> None:
    i = rtorch.tensor([1, 2])
    out = i * 2.5
    assert out.dtype is rtorch.float32 and out.tolist() == [2.5, 5.0]
    assert (rtorch.tensor([1], dtype=rtorch.int32) * 2.5).dtype is rtorch.float32
    assert (rtorch.tensor([1.0], dtype=rtorch.float16) + 1.5).dtype is rtorch.float16
    assert (rtorch.tensor([1], dtype=rtorch.int8) + 1000).tolist() == [-23]
    assert (rtorch.tensor([True]) + 1).dtype is rtorch.int64
    assert (rtorch.tensor([True]) + 1.5).dtype is rtorch.float32
    assert (rtorch.tensor([True]) + True).dtype is rtorch.bool


def test_zero_dim_tensors_do_not_widen_same_category() -> None:
    f32 = rtorch.tensor([1.0])
    assert (f32 + rtorch.tensor(1.0, dtype=rtorch.float64)).dtype is rtorch.float32
    assert (f32 + rtorch.tensor([1.0], dtype=rtorch.float64)).dtype is rtorch.float64
    i32 = rtorch.tensor([1], dtype=rtorch.int32)
    assert (i32 + rtorch.tensor(1)).dtype is rtorch.int32
    assert (i32 + rtorch.tensor([1])).dtype is rtorch.int64
    f16 = rtorch.tensor([1.0], dtype=rtorch.float16)
    assert (f16 + rtorch.tensor(1.0)).dtype is rtorch.float16
    assert (rtorch.tensor(1) + f16).dtype is rtorch.float16
    # A higher category does win, even from a 0-dim tensor.
    assert (i32 + rtorch.tensor(1.0, dtype=rtorch.float64)).dtype is rtorch.float64
    # Two 0-dim tensors promote normally.
    assert (
        rtorch.tensor(1, dtype=rtorch.int32) + rtorch.tensor(1.5, dtype=rtorch.float64)
    ).dtype is rtorch.float64
    assert (rtorch.tensor(1, dtype=rtorch.int32) + rtorch.tensor(1)).dtype is rtorch.int64


def test_bool_arithmetic_and_uint8_wraparound() -> None:
    t, f = rtorch.tensor([True]), rtorch.tensor([False])
    assert (t + t).dtype is rtorch.bool
    assert (t * f).dtype is rtorch.bool
    u8 = rtorch.uint8
    assert (rtorch.tensor([1], dtype=u8) - 2).tolist() == [255]
    assert (rtorch.tensor([2], dtype=u8) * 200).tolist() == [144]
    assert (rtorch.tensor([250], dtype=u8) + 10).tolist() == [4]
    assert (
        rtorch.tensor([1], dtype=u8) + rtorch.tensor([1], dtype=rtorch.int8)
    ).dtype is rtorch.int16


def test_half_types_promote_to_float32() -> None:
    h = rtorch.tensor([1.0], dtype=rtorch.float16)
    b = rtorch.tensor([1.0], dtype=rtorch.bfloat16)
    assert (h + b).dtype is rtorch.float32


def test_integer_floor_division() -> None:
    assert (rtorch.tensor([-7]) // 2).tolist() == [-4]
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        rtorch.tensor([1]) // 0


def test_promote_types_result_type_can_cast() -> None:
    assert rtorch.promote_types(rtorch.uint8, rtorch.int8) is rtorch.int16
    assert rtorch.promote_types(rtorch.bfloat16, rtorch.float16) is rtorch.float32
    assert rtorch.promote_types(rtorch.bool, rtorch.float16) is rtorch.float16
    i32 = rtorch.tensor([1], dtype=rtorch.int32)
    assert rtorch.result_type(i32, 1.0) is rtorch.float32
    assert rtorch.result_type(i32, rtorch.tensor(1.0, dtype=rtorch.float64)) is rtorch.float64
    assert rtorch.result_type(2, 3.0) is rtorch.float32
    assert rtorch.can_cast(rtorch.float32, rtorch.int32) is False
    assert rtorch.can_cast(rtorch.int32, rtorch.float32) is True
    assert rtorch.can_cast(rtorch.int64, rtorch.bool) is False
    assert rtorch.can_cast(rtorch.bool, rtorch.uint8) is True


# PyTorch's promotion table (torch.promote_types of row and column, written out from
# PyTorch 2.15): the reference is PyTorch's, not rtorch's own promote_types.
_CODES = {
    "u1": rtorch.uint8,
    "i1": rtorch.int8,
    "i2": rtorch.int16,
    "i4": rtorch.int32,
    "i8": rtorch.int64,
    "f2": rtorch.float16,
    "bf": rtorch.bfloat16,
    "f4": rtorch.float32,
    "f8": rtorch.float64,
    "b1": rtorch.bool,
}
PYTORCH_PROMOTION = {
    #       u1 i1 i2 i4 i8 f2 bf f4 f8 b1
    "u1": "u1 i2 i2 i4 i8 f2 bf f4 f8 u1",
    "i1": "i2 i1 i2 i4 i8 f2 bf f4 f8 i1",
    "i2": "i2 i2 i2 i4 i8 f2 bf f4 f8 i2",
    "i4": "i4 i4 i4 i4 i8 f2 bf f4 f8 i4",
    "i8": "i8 i8 i8 i8 i8 f2 bf f4 f8 i8",
    "f2": "f2 f2 f2 f2 f2 f2 f4 f4 f8 f2",
    "bf": "bf bf bf bf bf f4 bf f4 f8 bf",
    "f4": "f4 f4 f4 f4 f4 f4 f4 f4 f8 f4",
    "f8": "f8 f8 f8 f8 f8 f8 f8 f8 f8 f8",
    "b1": "u1 i1 i2 i4 i8 f2 bf f4 f8 b1",
}


def test_promotion_follows_pytorchs_table() -> None:
    # promote_types, result_type and the dtype of a + b for 1-D tensors of every pair.
    columns = list(_CODES)
    for row, line in PYTORCH_PROMOTION.items():
        for col, want in zip(columns, line.split(), strict=True):
            a, b, w = _CODES[row], _CODES[col], _CODES[want]
            assert rtorch.promote_types(a, b) is w, (row, col)
            x, y = rtorch.ones(2, dtype=a), rtorch.ones(2, dtype=b)
            assert rtorch.result_type(x, y) is w, (row, col)
            assert (x + y).dtype is w, (row, col)


# ----- item -----


def test_item_python_types() -> None:
    assert type(rtorch.tensor(3).item()) is int
    assert type(rtorch.tensor([3], dtype=rtorch.uint8).item()) is int
    assert type(rtorch.tensor(True).item()) is bool
    assert type(rtorch.tensor(2.5).item()) is float
    assert rtorch.tensor(2.5, dtype=rtorch.bfloat16).item() == 2.5


# ----- default dtype -----


def test_set_default_dtype_effects(default_float64) -> None:
    assert rtorch.get_default_dtype() is rtorch.float64
    assert rtorch.tensor([1.5]).dtype is rtorch.float64
    assert rtorch.tensor(1.0).dtype is rtorch.float64
    assert rtorch.zeros(2).dtype is rtorch.float64
    assert rtorch.full((1,), 1.5).dtype is rtorch.float64
    assert (rtorch.tensor([1]) / rtorch.tensor([2])).dtype is rtorch.float64
    assert (rtorch.tensor([1]) * 2.5).dtype is rtorch.float64
    assert rtorch.tensor([1.5], dtype=rtorch.float32).dtype is rtorch.float32
    assert (rtorch.tensor([1.0], dtype=rtorch.float32) + 1.5).dtype is rtorch.float32


def test_default_dtype_float16() -> None:
    old = rtorch.get_default_dtype()
    try:
        rtorch.set_default_dtype(rtorch.float16)
        assert rtorch.tensor([1.5]).dtype is rtorch.float16
        assert (rtorch.tensor([1]) / rtorch.tensor([2])).dtype is rtorch.float16
    finally:
        rtorch.set_default_dtype(old)
    assert rtorch.get_default_dtype() is rtorch.float32


def test_set_default_dtype_rejects_integers() -> None:
    with pytest.raises(TypeError, match="only floating-point types are supported as the default"):
        rtorch.set_default_dtype(rtorch.int32)
    assert rtorch.get_default_dtype() is rtorch.float32


# ----- Size -----


def test_size_is_a_tuple() -> None:
    s = rtorch.zeros(2, 3).shape
    assert isinstance(s, tuple) and isinstance(s, rtorch.Size)
    assert s == (2, 3) and s != [2, 3]
    assert s == rtorch.Size([2, 3]) and hash(s) == hash((2, 3))
    assert repr(s) == "torch.Size([2, 3])" and str(s) == "torch.Size([2, 3])"
    assert repr(rtorch.Size()) == "torch.Size([])"
    assert repr(rtorch.tensor(1.0).shape) == "torch.Size([])"
    assert s.numel() == 6 and s[0] == 2 and len(s) == 2
    t3 = rtorch.zeros(2, 3, 4).shape
    assert t3[1:] == (3, 4) and type(t3[1:]) is rtorch.Size
    # Indexing is tuple's (a C slot on Size): ints give ints, any slice a Size, errors
    # are tuple's; a subclass keeps the rule.
    assert t3[-1] == 4 and type(t3[0]) is int and t3[::-1] == (4, 3, 2) and t3[5:] == ()
    assert type(t3[::2]) is rtorch.Size and type(t3[:0]) is rtorch.Size
    with pytest.raises(IndexError):
        t3[3]
    with pytest.raises(TypeError):
        t3["a"]

    class MySize(rtorch.Size):
        pass

    m = MySize((5, 6, 7))
    assert m[1] == 6 and m[1:] == (6, 7) and isinstance(m[1:], rtorch.Size)
    assert type(s + (4,)) is rtorch.Size and s + (4,) == (2, 3, 4)
    a, b = s
    assert (a, b) == (2, 3)
    back = pickle.loads(pickle.dumps(s))
    assert back == s and type(back) is rtorch.Size


def test_size_method() -> None:
    x = rtorch.zeros(2, 3)
    assert x.size() == (2, 3) and type(x.size()) is rtorch.Size
    assert x.size(1) == 3 and x.size(-1) == 3
    with pytest.raises(
        IndexError,
        match=r"Dimension out of range \(expected to be in range of "
        r"\[-2, 1\], but got 2\)",
    ):
        x.size(2)


def _x86_truncation(v: np.ndarray, dtype: str) -> np.ndarray:
    """PyTorch's float-to-integer cast on x86 (`cvttsd2si`): truncation to int32 (int64
    for int64), NaN and values outside that range to its minimum, then the low bits."""
    v = v.astype(np.float64)
    wide = 2.0**63 if dtype == "int64" else 2.0**31
    ok = (v > -wide - 1) & (v < wide)
    t = np.where(ok, np.trunc(np.where(ok, v, 0.0)), -wide)
    return np.array([int(x) for x in t], dtype=object)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64"])
@pytest.mark.parametrize("layout", ["flat", "strided"])
def test_float_to_integer_casts_wrap_as_on_x86(dtype: str, layout: str) -> None:
    """float32 and float64 to every integer type, special values spread over a length
    above the parallel grain (vectorised chunks and their tails) and through a strided
    view: NaN, infinities and out-of-range values to the minimum, then the low bits."""
    special = [np.nan, np.inf, -np.inf, 1e10, -1e10, 3e9, -3e9, 2.0**31, -(2.0**31), 300.0]
    special += [-1.5, 255.9, -0.7, 2.0**63, -(2.0**63), 1e20, 65535.5, -129.0, 0.0]
    rng = np.random.default_rng(0)
    n = 70_001
    base = rng.uniform(-400, 400, n)
    base[rng.integers(0, n, 400)] = rng.choice(special, 400)
    base[-len(special) :] = special
    bits = np.iinfo(getattr(np, dtype)).bits
    for fdt in ("float32", "float64"):
        v = base.astype(fdt)
        t = rtorch.tensor(v)
        if layout == "strided":
            v, t = v[::3], t[::3]
        got = t.to(getattr(rtorch, dtype)).numpy()
        want = _x86_truncation(v, dtype)
        mask = (1 << bits) - 1
        low = [(int(w) & mask) for w in want]
        signed = dtype != "uint8"
        want_bits = [(w - (1 << bits) if signed and w >= 1 << (bits - 1) else w) for w in low]
        assert got.tolist() == want_bits, (fdt, dtype, layout)
