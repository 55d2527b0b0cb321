"""Copies between layouts (`contiguous`, `clone`, `copy_`) on each of the copy kernel's
paths: the tiled transposing copy (a strided step that is a multiple of 1 KiB), the
per-row memmove (unit-stride rows, permuted outer dims) and the plain strided walk,
against numpy, above and below the parallel grain, with tails that are not whole tiles.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ALL_DTYPES, with_threads

import rtorch

DTYPES = [
    (rtorch.float32, np.float32),
    (rtorch.float64, np.float64),
    (rtorch.int64, np.int64),
    (rtorch.int8, np.int8),
    (rtorch.float16, np.float16),
    (rtorch.bool, np.bool_),
]


def _values(shape, np_dtype):
    v = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    if np_dtype == np.bool_:
        return (v % 3) == 0
    return (v % 251).astype(np_dtype)


@pytest.mark.parametrize(("dtype", "np_dtype"), DTYPES)
@pytest.mark.parametrize(
    ("shape", "perm"),
    [
        ((1024, 1024), (1, 0)),  # tiled for every dtype (step 1024 elements)
        ((100, 512), (1, 0)),  # tiled for 2+ byte types (step 512 elements), 4-row tails
        ((3, 100, 256), (0, 2, 1)),  # an outer dim; tiled for 4+ byte types
        ((2, 33, 1024), (0, 2, 1)),  # tiled, one-column tail (33 = 32 + 1)
        ((256, 1000), (1, 0)),  # the plain walk (step 1000 elements)
        ((4096, 40), (1, 0)),
        ((16, 128, 8, 32), (0, 2, 1, 3)),  # attention's head transpose: row memmove
        ((5, 7, 3), (2, 1, 0)),
    ],
)
def test_permuted_copies_match_numpy(dtype, np_dtype, shape, perm):
    v = _values(shape, np_dtype)
    x = rtorch.tensor(v, dtype=dtype)
    expected = np.ascontiguousarray(v.transpose(perm))
    got = x.permute(*perm).contiguous()
    assert got.is_contiguous()
    np.testing.assert_array_equal(got.numpy(), expected)
    # copy_ into a fresh contiguous tensor and clone: the same kernel.
    dst = rtorch.empty(expected.shape, dtype=dtype)
    dst.copy_(x.permute(*perm))
    np.testing.assert_array_equal(dst.numpy(), expected)


def test_transposing_copy_into_a_strided_destination():
    # The destination's unit-stride dim differs from the source's: tiles write through
    # the destination's own strides (here a column slice of a wider buffer).
    v = _values((1024, 512), np.float32)
    buf = rtorch.zeros(512, 1030)
    dst = buf[:, 3:1027]
    dst.copy_(rtorch.tensor(v).t())
    np.testing.assert_array_equal(buf[:, 3:1027].numpy(), v.T)
    assert not buf[:, :3].numpy().any() and not buf[:, 1027:].numpy().any()


@pytest.mark.parametrize("shape", [(1024, 1024), (3, 512, 256), (16, 128, 8, 32)])
def test_copies_are_the_same_for_any_thread_count(shape):
    x = rtorch.randn(*shape)
    perm = tuple(reversed(range(len(shape)))) if len(shape) < 4 else (0, 2, 1, 3)
    one = with_threads(1, lambda: x.permute(*perm).contiguous().numpy())
    two = with_threads(2, lambda: x.permute(*perm).contiguous().numpy())
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, np.ascontiguousarray(x.numpy().transpose(perm)))


def test_copy_into_a_self_overlapping_destination_is_refused():
    with pytest.raises(RuntimeError, match="more than one element"):
        rtorch.zeros(1024).expand(1024, 1024).copy_(rtorch.randn(1024, 1024).t())


BITS = {rtorch.uint8: 8, rtorch.int8: 8, rtorch.int16: 16, rtorch.int32: 32, rtorch.int64: 64}


def _cast_ref(v, dst: rtorch.dtype):
    """PyTorch's conversion of one Python value (exactly representable in every float
    type used here) to `dst`: truth for bool, truncation then wrap-around for integers."""
    if dst == rtorch.bool:
        return v != 0
    if dst.is_floating_point:
        return float(v)
    bits = BITS[dst]
    i = int(v) % (1 << bits)
    if dst != rtorch.uint8 and i >= 1 << (bits - 1):
        i -= 1 << bits
    return i


def _cast_values(src: rtorch.dtype, dst: rtorch.dtype) -> list:
    if src == rtorch.bool:
        return [True, False, False, True]
    if src == rtorch.uint8:
        return [0, 1, 2, 100, 127, 200, 255]
    if not src.is_floating_point:
        return [-3, -1, 0, 1, 2, 100, 127]
    if dst == rtorch.uint8:  # negative floats to uint8 are undefined in PyTorch
        return [0.0, 0.5, 1.0, 2.75, 100.0, 127.0]
    return [-3.0, -1.5, -0.0, 0.0, 0.5, 2.75, 100.0, 127.0]


@pytest.mark.parametrize("src", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("dst", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("n", [7, 3 * 32768 + 300])  # one block; above the grain, tails
def test_every_dtype_pair_converts_like_pytorch(src, dst, n):
    """`.to(dtype)` and `copy_` between every pair of dtypes, contiguous and strided
    (the pairs without float32 go through the staged cast, float32 ones a direct loop,
    half <-> float32 the vectorised conversions)."""
    base = _cast_values(src, dst)
    vals = [base[i % len(base)] for i in range(n)]
    want = [_cast_ref(v, dst) for v in vals]
    t = rtorch.tensor(vals, dtype=src)
    assert t.to(dst).tolist() == want
    # Strided source and destination (every other element of a wider tensor).
    wide = rtorch.zeros(2 * n, dtype=src)
    wide[::2] = t
    out = rtorch.zeros(2 * n, dtype=dst)
    out[::2].copy_(wide[::2])
    assert out[::2].tolist() == want
    assert out[1::2].tolist() == [_cast_ref(0, dst)] * n
