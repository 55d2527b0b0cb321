"""The skeleton's basic promises: construction, arithmetic, views, autograd."""

import numpy as np
import pytest

import rtorch


def test_tensor_from_list_infers_dtype():
    assert rtorch.tensor([1.0, 2.0]).dtype == rtorch.float32
    assert rtorch.tensor([1, 2]).dtype == rtorch.int64
    assert rtorch.tensor([True, False]).dtype == rtorch.bool
    assert rtorch.tensor([True, 1]).dtype == rtorch.int64
    assert rtorch.tensor(np.arange(3.0)).dtype == rtorch.float64
    assert rtorch.tensor([np.float64(1.5)]).dtype == rtorch.float64


def test_broadcast_add_and_backward():
    a = rtorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = rtorch.tensor([[1.0], [2.0]], requires_grad=True)
    out = (a * b + 1).sum()
    out.backward()
    assert out.item() == pytest.approx(1 * 6 + 2 * 6 + 6)
    assert a.grad.tolist() == [3.0, 3.0, 3.0]
    assert b.grad.tolist() == [[6.0], [6.0]]


def test_views_share_storage():
    x = rtorch.zeros(2, 3)
    v = x.view(6)
    v += 1
    assert x.tolist() == [[1.0] * 3] * 2
    with pytest.raises(RuntimeError):
        x.t().view(6)


def test_numpy_shares_memory():
    x = rtorch.zeros(3)
    x.numpy()[1] = 5
    assert x.tolist() == [0.0, 5.0, 0.0]
    a = np.arange(4.0)
    t = rtorch.from_numpy(a)
    a[0] = 9
    assert t[0].item() == 9.0 if hasattr(rtorch.Tensor, "__getitem__") else t.tolist()[0] == 9.0


def test_promotion_rules():
    i = rtorch.tensor([1, 2], dtype=rtorch.int32)
    assert (i / i).dtype == rtorch.float32
    assert (i * 2.5).dtype == rtorch.float32
    assert (i + rtorch.tensor(1)).dtype == rtorch.int32
    f = rtorch.tensor([1.0])
    assert (f + rtorch.tensor(1.0, dtype=rtorch.float64)).dtype == rtorch.float32
    assert (f + rtorch.tensor([1.0], dtype=rtorch.float64)).dtype == rtorch.float64
    u = rtorch.tensor([250], dtype=rtorch.uint8)
    assert (u + 10).tolist() == [4]


def test_second_backward_raises():
    x = rtorch.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_inplace_on_leaf_raises():
    x = rtorch.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x.add_(1)


def test_gradcheck_mul_div():
    a = rtorch.tensor([[0.5, 1.5], [2.0, -1.0]], dtype=rtorch.float64, requires_grad=True)
    b = rtorch.tensor([1.5, -0.7], dtype=rtorch.float64, requires_grad=True)
    assert rtorch.autograd.gradcheck(lambda x, y: x * y / (y * y + 1), (a, b))
    assert rtorch.autograd.gradgradcheck(lambda x, y: x * y * x, (a, b))
