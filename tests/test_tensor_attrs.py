"""Tensor attributes and conversions: shape/stride/numel/..., item, tolist, Python number
conversions, .to() forms, .type(), detach and .data. Checked against PyTorch 2.x."""

from __future__ import annotations

import operator

import pytest

import rtorch


def test_shape_size_stride() -> None:
    x = rtorch.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.size() == (2, 3, 4)
    assert x.stride() == (12, 4, 1) and x.stride(1) == 4 and x.stride(-1) == 1
    assert x.dim() == 3 and x.ndim == 3 and x.ndimension() == 3
    assert x.numel() == 24 and x.nelement() == 24 and rtorch.numel(x) == 24
    assert x.element_size() == 4 and x.itemsize == 4 and x.nbytes == 96
    assert x.is_contiguous() and len(x) == 2 and x.storage_offset() == 0
    with pytest.raises(
        IndexError,
        match=r"Dimension out of range \(expected to be in range of "
        r"\[-3, 2\], but got 3\)",
    ):
        x.stride(3)


def test_views_strides() -> None:
    y = rtorch.zeros(2, 3)
    assert y.t().stride() == (1, 3) and not y.t().is_contiguous()
    assert y.t().contiguous().stride() == (2, 1) and y.t().contiguous().is_contiguous()
    assert y.contiguous() is y
    n = y.narrow(1, 1, 2)
    assert n.stride() == (3, 1) and n.storage_offset() == 1 and not n.is_contiguous()
    e = rtorch.zeros(3).expand(2, 3)
    assert e.stride() == (0, 1) and e.shape == (2, 3)


def test_element_sizes() -> None:
    dts = [
        rtorch.bool,
        rtorch.uint8,
        rtorch.int16,
        rtorch.int32,
        rtorch.int64,
        rtorch.float16,
        rtorch.bfloat16,
        rtorch.float64,
    ]
    assert [rtorch.zeros(1, dtype=d).element_size() for d in dts] == [1, 1, 2, 4, 8, 2, 2, 8]


def test_zero_dim() -> None:
    s = rtorch.tensor(1.0)
    assert s.shape == () and s.stride() == () and s.dim() == 0 and s.numel() == 1
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(s)


def test_item() -> None:
    assert rtorch.tensor([[2.5]]).item() == 2.5
    assert type(rtorch.tensor(3).item()) is int
    assert type(rtorch.tensor(True).item()) is bool
    assert type(rtorch.tensor(3.0).item()) is float
    assert type(rtorch.tensor(3, dtype=rtorch.int8).item()) is int
    assert rtorch.tensor(2**62).item() == 2**62
    with pytest.raises(
        RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"
    ):
        rtorch.zeros(2).item()
    with pytest.raises(
        RuntimeError, match="a Tensor with 0 elements cannot be converted to Scalar"
    ):
        rtorch.zeros(0).item()


def test_tolist() -> None:
    assert rtorch.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert rtorch.tensor([[1, 2], [3, 4]]).t().tolist() == [[1, 3], [2, 4]]
    assert rtorch.tensor(2.5).tolist() == 2.5
    assert rtorch.tensor([True]).tolist() == [True]
    assert rtorch.zeros(0, 2).tolist() == []
    assert rtorch.zeros(2, 0).tolist() == [[], []]
    assert rtorch.tensor([2**53 + 1]).tolist() == [2**53 + 1]
    assert rtorch.tensor([0.1], dtype=rtorch.bfloat16).tolist() == [0.10009765625]


def test_python_number_conversions() -> None:
    assert bool(rtorch.tensor([0.0])) is False
    assert bool(rtorch.tensor(1)) is True and bool(rtorch.tensor([True])) is True
    assert float(rtorch.tensor(2)) == 2.0 and float(rtorch.tensor([2.5])) == 2.5
    assert int(rtorch.tensor(2.7)) == 2 and int(rtorch.tensor([-2.7])) == -2
    assert int(rtorch.tensor(True)) == 1
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with no values is ambiguous"):
        bool(rtorch.zeros(0))
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one"):
        bool(rtorch.zeros(2))


def test_index_conversion() -> None:
    assert operator.index(rtorch.tensor(3)) == 3
    assert [10, 20, 30][rtorch.tensor(1)] == 20
    assert list(range(5))[rtorch.tensor(1) : rtorch.tensor(3)] == [1, 2]
    msg = "only integer tensors of a single element can be converted to an index"
    with pytest.raises(TypeError, match=msg):
        operator.index(rtorch.tensor(3.0))
    with pytest.raises(TypeError, match=msg):
        operator.index(rtorch.tensor([1, 2]))


def test_to_forms() -> None:
    x = rtorch.tensor([1.7])
    assert x.to(rtorch.int32).tolist() == [1]
    assert x.to(dtype=rtorch.float64).dtype is rtorch.float64
    assert rtorch.tensor([1]).to("cpu").dtype is rtorch.int64
    assert rtorch.tensor([1]).to("cpu", rtorch.float16).dtype is rtorch.float16
    assert x.to(rtorch.tensor([1], dtype=rtorch.int8)).dtype is rtorch.int8
    assert rtorch.tensor([1]).to(device="cpu", dtype=rtorch.bool).tolist() == [True]
    assert x.to(rtorch.float32) is x and x.to("cpu") is x
    assert x.to(rtorch.float32, copy=True) is not x
    assert x.to(rtorch.device("cpu")) is x
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
        x.to("xyz")
    with pytest.raises(RuntimeError):
        x.to("cuda")


def test_type_method() -> None:
    names = {
        rtorch.float32: "torch.FloatTensor",
        rtorch.int64: "torch.LongTensor",
        rtorch.float16: "torch.HalfTensor",
        rtorch.bfloat16: "torch.BFloat16Tensor",
        rtorch.bool: "torch.BoolTensor",
        rtorch.uint8: "torch.ByteTensor",
        rtorch.int8: "torch.CharTensor",
        rtorch.int16: "torch.ShortTensor",
        rtorch.int32: "torch.IntTensor",
        rtorch.float64: "torch.DoubleTensor",
    }
    for d, name in names.items():
        assert rtorch.zeros(1, dtype=d).type() == name
    assert rtorch.tensor([1.5]).type(rtorch.int32).tolist() == [1]
    assert rtorch.tensor([1.5]).type(rtorch.float64).dtype is rtorch.float64


def test_conversion_methods() -> None:
    x = rtorch.tensor([1.5, -2.5])
    methods = [
        "float",
        "double",
        "half",
        "bfloat16",
        "long",
        "int",
        "short",
        "char",
        "byte",
        "bool",
    ]
    assert [getattr(x, m)().dtype for m in methods] == [
        rtorch.float32,
        rtorch.float64,
        rtorch.float16,
        rtorch.bfloat16,
        rtorch.int64,
        rtorch.int32,
        rtorch.int16,
        rtorch.int8,
        rtorch.uint8,
        rtorch.bool,
    ]
    assert x.long().tolist() == [1, -2]
    assert rtorch.tensor([1.5, -2.5, 0.0]).bool().tolist() == [True, True, False]
    assert rtorch.tensor([300]).byte().tolist() == [44]


def test_detach_shares_storage() -> None:
    a = rtorch.tensor([1.0, 2.0], requires_grad=True)
    d = a.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    d.add_(1)
    assert a.tolist() == [2.0, 3.0]
    assert d.data_ptr() == a.data_ptr()


def test_data_getter_and_setter() -> None:
    a = rtorch.tensor([1.0, 2.0], requires_grad=True)
    d = a.data
    assert not d.requires_grad
    d.add_(1)
    assert a.tolist() == [2.0, 3.0] and a.grad_fn is None
    ident = id(a)
    a.data = rtorch.tensor([5.0, 6.0, 7.0])
    assert id(a) == ident and a.is_leaf and a.requires_grad
    assert a.tolist() == [5.0, 6.0, 7.0] and a.shape == (3,)


def test_autograd_attributes() -> None:
    leaf = rtorch.tensor([1.0], requires_grad=True)
    assert leaf.is_leaf and (leaf * 2).is_leaf is False and rtorch.tensor([1.0]).is_leaf
    assert leaf.grad is None
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf"):
        (leaf * 2).requires_grad = False
    with pytest.raises(RuntimeError, match="floating point"):
        rtorch.tensor([1]).requires_grad_()


def test_device_and_predicates() -> None:
    x = rtorch.zeros(1)
    assert repr(x.device) == "device(type='cpu')" and str(x.device) == "cpu"
    assert x.device == rtorch.device("cpu") and x.device.type == "cpu"
    assert x.is_cpu and not x.is_cuda
    assert x.is_floating_point() and not rtorch.zeros(1, dtype=rtorch.int32).is_floating_point()
    assert rtorch.is_floating_point(x) and rtorch.is_tensor(x) and not rtorch.is_tensor([1])


def test_clone_is_a_copy() -> None:
    a = rtorch.tensor([1.0])
    a.clone().add_(1)
    assert a.tolist() == [1.0]
