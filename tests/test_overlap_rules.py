"""PyTorch's memory-overlap rules for writes (checked case by case against 2.15).

- A write from a tensor into a tensor where several elements share one location (a
  zero stride, as `expand` makes) raises "more than one element ..."; writing a number
  (fill_, zero_, `t[...] = 1`) is allowed.
- A write whose input shares only part of the written-to tensor's memory raises
  "some elements of the input tensor ...", decided (as PyTorch) only when both are
  non-overlapping and dense; the very same tensor or range (same strides) is allowed.
"""

from __future__ import annotations

import pytest

import rtorch

SELF = "more than one element of the written-to tensor refers to a single memory location"
PARTIAL = (
    "some elements of the input tensor and the written-to tensor refer to a single memory location"
)


def expanded() -> rtorch.Tensor:
    return rtorch.zeros(4).expand(3, 4)


def test_setitem_tensor_into_expanded_raises() -> None:
    e = expanded()
    with pytest.raises(RuntimeError, match=SELF):
        e[...] = rtorch.ones(3, 4)
    with pytest.raises(RuntimeError, match=SELF):
        e[:, 1:] = rtorch.ones(3, 3)


def test_setitem_number_into_expanded_is_allowed() -> None:
    e = expanded()
    e[:, 0] = 1
    assert e.tolist() == [[1.0, 0.0, 0.0, 0.0]] * 3
    e[:] = 2
    assert e.tolist() == [[2.0] * 4] * 3
    e.zero_()
    assert e.tolist() == [[0.0] * 4] * 3


def test_setitem_row_of_expanded_is_a_plain_view() -> None:
    e = expanded()
    e[0] = rtorch.arange(4.0)
    assert e.tolist() == [[0.0, 1.0, 2.0, 3.0]] * 3


def test_copy_into_expanded_raises() -> None:
    with pytest.raises(RuntimeError, match=SELF):
        expanded().copy_(rtorch.ones(3, 4))


@pytest.mark.parametrize(
    "op",
    [
        lambda a: a[1:].add_(a[:-1]),
        lambda a: a[1:].mul_(a[:-1]),
        lambda a: a[1:].copy_(a[:-1]),
        lambda a: a[1:].clamp_(min=a[:-1]),
        lambda a: a[1:].addcmul_(a[:-1], rtorch.ones(4)),
        lambda a: a[1:].lerp_(rtorch.ones(4), a[:-1]),
        lambda a: a.index_put_((rtorch.tensor([1, 2, 3, 4]),), a[:-1]),
    ],
)
def test_partial_overlap_raises(op) -> None:
    a = rtorch.arange(5.0)
    with pytest.raises(RuntimeError, match=PARTIAL):
        op(a)
    assert a.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_partial_overlap_setitem_raises() -> None:
    a = rtorch.arange(5.0)
    with pytest.raises(RuntimeError, match=PARTIAL):
        a[1:] = a[:-1]
    b = rtorch.arange(12.0).reshape(3, 4)
    with pytest.raises(RuntimeError, match=PARTIAL):
        b[1:] = b[:2]


def test_same_range_other_strides_is_partial() -> None:
    a = rtorch.arange(4.0).reshape(2, 2)
    with pytest.raises(RuntimeError, match=PARTIAL):
        a.add_(a.t())
    with pytest.raises(RuntimeError, match=PARTIAL):
        a.copy_(a.t())


def test_row_of_self_is_partial() -> None:
    a = rtorch.ones(3, 4)
    with pytest.raises(RuntimeError, match=PARTIAL):
        a.add_(a[0])


def test_full_overlap_is_allowed() -> None:
    a = rtorch.arange(4.0)
    a.add_(a)
    assert a.tolist() == [0.0, 2.0, 4.0, 6.0]
    a.mul_(a[:])
    assert a.tolist() == [0.0, 4.0, 16.0, 36.0]
    a.copy_(a)
    assert a.tolist() == [0.0, 4.0, 16.0, 36.0]


def test_not_dense_overlaps_are_not_checked() -> None:
    # PyTorch only decides overlap for dense tensors; strided ones are left alone.
    a = rtorch.arange(6.0)
    a[::2].add_(a[1::2])
    assert a.tolist() == [1.0, 1.0, 5.0, 3.0, 9.0, 5.0]
    b = rtorch.arange(8.0).reshape(2, 4)
    b[:, ::2].mul_(b[:, 1::2])
    assert b.tolist() == [[0.0, 1.0, 6.0, 3.0], [20.0, 5.0, 42.0, 7.0]]


def test_a_result_of_an_op_never_overlaps() -> None:
    a = rtorch.arange(5.0)
    a[1:].copy_(a[:-1].exp())
    assert a[1:].tolist() == pytest.approx([1.0, 2.718281828, 7.389056099, 20.08553692], rel=1e-6)
