"""`Tensor.to` overloads, `memory_format`, and stride-preserving `*_like` / `clone`
(PyTorch 2.15's results, checked case by case)."""

from __future__ import annotations

import pickle

import pytest

import rtorch


def t_() -> rtorch.Tensor:
    return rtorch.arange(6.0).reshape(2, 3).t()


def test_to_positional_non_blocking_and_copy() -> None:
    x = t_()
    y = x.to("cpu", rtorch.float64, False)
    assert y.dtype == rtorch.float64 and y.stride() == (1, 3)
    assert y.tolist() == x.tolist()
    z = x.to("cpu", rtorch.float32, False, True)
    assert z is not x and z.data_ptr() != x.data_ptr() and z.stride() == (1, 3)
    assert x.to("cpu", None, False, False) is x
    assert x.to(None, rtorch.float64).dtype == rtorch.float64
    assert x.to(rtorch.device("cpu"), rtorch.float64).dtype == rtorch.float64


def test_to_dtype_forms() -> None:
    x = t_()
    assert x.to(rtorch.float64).stride() == (1, 3)
    c = x.to(rtorch.float32, False, True)
    assert c is not x and c.stride() == (1, 3)
    assert x.to(rtorch.float32) is x
    assert x.to(dtype=rtorch.float64).dtype == rtorch.float64
    assert x.to(rtorch.float32, copy=True) is not x


def test_to_tensor_form() -> None:
    x = t_()
    y = x.to(rtorch.zeros(1, dtype=rtorch.int32))
    assert y.dtype == rtorch.int32 and y.stride() == (1, 3)
    assert x.to(rtorch.zeros(1), False, True) is not x


def test_to_memory_format_keyword() -> None:
    x = t_()
    y = x.to(rtorch.float64, memory_format=rtorch.contiguous_format)
    assert y.stride() == (2, 1) and y.is_contiguous()
    # Same dtype and no copy: the tensor itself, whatever the format (as PyTorch).
    assert x.to(rtorch.float32, memory_format=rtorch.contiguous_format) is x
    c = x.to(rtorch.float32, copy=True, memory_format=rtorch.contiguous_format)
    assert c.stride() == (2, 1)
    p = rtorch.zeros(2, 3, 4, 5).permute(0, 2, 3, 1)
    assert p.to(rtorch.float64).stride() == (60, 5, 1, 20)
    assert p.to(rtorch.float64, memory_format=rtorch.channels_last).stride() == (60, 1, 12, 4)


def test_to_bad_arguments() -> None:
    x = t_()
    with pytest.raises(TypeError):
        x.to(rtorch.float64, "cpu")
    with pytest.raises(TypeError):
        x.to("cpu", "cpu")
    with pytest.raises(TypeError):
        x.to("cpu", rtorch.float64, False, True, 3)


def test_not_dense_inputs_give_contiguous_results() -> None:
    e = rtorch.zeros(4).expand(3, 4)
    assert e.to(rtorch.float64).stride() == (4, 1)
    s = rtorch.zeros(4, 6)[:, ::2]
    assert s.to(rtorch.float64).stride() == (3, 1)
    assert rtorch.zeros_like(e).stride() == (4, 1)
    assert rtorch.zeros_like(s).stride() == (3, 1)


LIKE = [
    ("zeros_like", lambda x, **k: rtorch.zeros_like(x, **k), 0.0),
    ("ones_like", lambda x, **k: rtorch.ones_like(x, **k), 1.0),
    ("empty_like", lambda x, **k: rtorch.empty_like(x, **k), None),
    ("full_like", lambda x, **k: rtorch.full_like(x, 7, **k), 7.0),
    ("rand_like", lambda x, **k: rtorch.rand_like(x, **k), None),
    ("randn_like", lambda x, **k: rtorch.randn_like(x, **k), None),
]


@pytest.mark.parametrize("name,f,value", LIKE)
def test_like_preserves_dense_strides(name, f, value) -> None:
    x = t_()
    y = f(x)
    assert y.shape == x.shape and y.stride() == (1, 3), name
    p = rtorch.zeros(2, 3, 4, 5).permute(0, 2, 3, 1)
    assert f(p).stride() == (60, 5, 1, 20)
    c = f(x, memory_format=rtorch.contiguous_format)
    assert c.stride() == (2, 1)
    assert f(p, memory_format=rtorch.channels_last).stride() == (60, 1, 12, 4)
    if value is not None:
        assert y.tolist() == [[value] * 2] * 3
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        f(x, memory_format=rtorch.channels_last)


def test_rand_like_fills_in_storage_order() -> None:
    rtorch.manual_seed(0)
    a = rtorch.rand(6)
    rtorch.manual_seed(0)
    b = rtorch.rand_like(t_())
    assert b.stride() == (1, 3)
    # Storage order of b (the transpose of its row-major order) is a's order.
    assert b.t().reshape(-1).tolist() == a.tolist()


def test_clone_and_contiguous_formats() -> None:
    x = t_()
    assert x.clone().stride() == (1, 3)
    assert rtorch.clone(x).stride() == (1, 3)
    assert x.clone(memory_format=rtorch.contiguous_format).stride() == (2, 1)
    e = rtorch.zeros(4).expand(3, 4)
    assert e.clone().stride() == (4, 1)
    p = rtorch.zeros(2, 3, 4, 5)
    cl = p.contiguous(memory_format=rtorch.channels_last)
    assert cl.stride() == (60, 1, 15, 3)
    assert cl.contiguous(memory_format=rtorch.channels_last) is cl
    assert cl.contiguous().stride() == (60, 20, 5, 1)
    with pytest.raises(RuntimeError, match="preserve memory format is unsupported"):
        x.contiguous(memory_format=rtorch.preserve_format)
    xc = rtorch.ones(2, 2, requires_grad=True)
    xc.t().clone().sum().backward()
    assert xc.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_memory_format_objects() -> None:
    assert repr(rtorch.contiguous_format) == "torch.contiguous_format"
    assert repr(rtorch.channels_last) == "torch.channels_last"
    assert isinstance(rtorch.preserve_format, rtorch.memory_format)
    assert pickle.loads(pickle.dumps(rtorch.channels_last)) is rtorch.channels_last


def test_to_with_only_a_memory_format_restrides_as_pytorch():
    x = rtorch.randn(2, 3, 4, 5, requires_grad=True)
    cl = rtorch.channels_last
    y = x.to(memory_format=cl)
    assert y.stride() == (60, 1, 15, 3) and y.grad_fn.name() == "ToCopyBackward0"
    assert rtorch.equal(y, x)
    assert x.to(rtorch.float32, memory_format=cl).stride() == (60, 1, 15, 3)
    assert x.to("cpu", memory_format=cl).stride() == (60, 1, 15, 3)
    # Already in the format (or preserve_format): the tensor itself, as PyTorch.
    assert y.to(memory_format=cl) is y and y.to(memory_format=rtorch.preserve_format) is y
    assert x.to(memory_format=rtorch.contiguous_format) is x
    assert y.to(memory_format=rtorch.contiguous_format).stride() == (60, 20, 5, 1)
    assert rtorch.randn(1, 2, 3, 4, 5).to(memory_format=rtorch.channels_last_3d).stride() == (
        120, 1, 40, 10, 2,
    )  # fmt: skip
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        rtorch.randn(2, 3, 4).to(memory_format=cl)
    (y * rtorch.arange(120.0).reshape(2, 3, 4, 5)).sum().backward()
    assert x.grad.tolist() == rtorch.arange(120.0).reshape(2, 3, 4, 5).tolist()


def test_module_to_memory_format_applies_to_4d_and_5d_tensors():
    m = rtorch.nn.Conv2d(3, 4, 3)
    w = m.weight
    assert m.to(memory_format=rtorch.channels_last) is m
    assert m.weight is w and m.weight.stride() == (27, 1, 9, 3) and m.bias.stride() == (1,)
