"""finfo/iinfo, legacy tensor types, Tensor.new_*, the composite ops, and the no-GPU
answers of rtorch.cuda / backends / accelerator. Expected values are PyTorch 2.15's."""

import numpy as np
import pytest

import rtorch as torch
from rtorch.autograd import gradcheck


def test_finfo_matches_numpy_and_pytorch_repr():
    for dt, np_dt in [
        (torch.float16, np.float16),
        (torch.float32, np.float32),
        (torch.float64, np.float64),
    ]:
        fi, ref = torch.finfo(dt), np.finfo(np_dt)
        assert fi.eps == float(ref.eps) and fi.max == float(ref.max)
        assert fi.min == float(ref.min) and fi.tiny == float(ref.tiny)
        # numpy stores resolution in the dtype itself (float16's 0.001 is 0.0010004)
        assert fi.bits == ref.bits and fi.resolution == pytest.approx(float(ref.resolution), 1e-3)
    bf = torch.finfo(torch.bfloat16)
    assert (bf.eps, bf.tiny, bf.max) == (2.0**-7, 2.0**-126, 3.3895313892515355e38)
    assert repr(torch.finfo()) == (
        "finfo(resolution=1e-06, min=-3.40282e+38, max=3.40282e+38, eps=1.19209e-07, "
        "smallest_normal=1.17549e-38, tiny=1.17549e-38, dtype=float32)"
    )
    assert torch.finfo(torch.float16).dtype == "float16"


def test_iinfo():
    for dt, np_dt in [
        (torch.uint8, np.uint8),
        (torch.int8, np.int8),
        (torch.int16, np.int16),
        (torch.int32, np.int32),
        (torch.int64, np.int64),
    ]:
        ii, ref = torch.iinfo(dt), np.iinfo(np_dt)
        assert (ii.min, ii.max, ii.bits) == (int(ref.min), int(ref.max), ref.bits)
    assert repr(torch.iinfo(torch.int8)) == "iinfo(min=-128, max=127, dtype=int8)"


@pytest.mark.parametrize(
    "call, exc, msg",
    [
        (lambda: torch.iinfo(torch.float32), TypeError, "requires an integer input type"),
        (lambda: torch.iinfo(torch.bool), TypeError, "torch.bool is not supported"),
        (lambda: torch.finfo(torch.int32), TypeError, "requires a floating point input type"),
    ],
)
def test_info_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


def test_legacy_tensor_types():
    x = torch.FloatTensor([1, 2])
    assert x.dtype == torch.float32 and x.tolist() == [1.0, 2.0]
    assert torch.LongTensor([1]).dtype == torch.int64
    assert torch.FloatTensor(2, 3).shape == (2, 3)
    assert torch.DoubleTensor(torch.Size([4])).shape == (4,)
    assert torch.FloatTensor().shape == (0,)
    assert isinstance(torch.zeros(2), torch.FloatTensor)
    assert not isinstance(torch.zeros(2, dtype=torch.long), torch.FloatTensor)
    assert isinstance(torch.zeros(2, dtype=torch.bool), torch.BoolTensor)
    assert not isinstance(torch.zeros(2), torch.cuda.FloatTensor)
    with pytest.raises(TypeError, match="invalid data type 'str'"):
        torch.FloatTensor("a")
    with pytest.raises(TypeError, match="type must be tuple of ints"):
        torch.FloatTensor(2, 3.0)
    with pytest.raises(TypeError):
        torch.FloatTensor(torch.ones(2, dtype=torch.long))


def test_new_factories_take_dtype_and_device_from_self():
    base = torch.ones(2, dtype=torch.float64)
    z = base.new_zeros(2, 3)
    assert z.dtype == torch.float64 and z.shape == (2, 3) and z.sum().item() == 0
    assert base.new_ones((3,)).tolist() == [1.0, 1.0, 1.0]
    assert base.new_empty(0).shape == (0,)
    assert base.new_zeros(3, dtype=torch.int32).dtype == torch.int32
    f = torch.zeros(2, dtype=torch.long).new_full((2,), 1.5)
    assert f.dtype == torch.int64 and f.tolist() == [1, 1]
    t = base.new_tensor([1, 2], requires_grad=True)
    assert t.dtype == torch.float64 and t.requires_grad and t.is_leaf
    with pytest.warns(UserWarning, match="sourceTensor.detach"):
        c = base.new_tensor(base)
    c.add_(1)
    assert base.tolist() == [1.0, 1.0]  # a copy, not a view


def test_broadcast_shapes_and_to():
    assert torch.broadcast_shapes((2, 1), (3,)) == (2, 3)
    assert torch.broadcast_shapes(5, (1, 1)) == (1, 5)
    assert torch.broadcast_shapes() == ()
    with pytest.raises(RuntimeError, match="Attempting to broadcast a dimension of length 3"):
        torch.broadcast_shapes((2, 1), (3, 4))
    v = torch.broadcast_to(torch.arange(3), (2, 3))
    assert v.tolist() == [[0, 1, 2], [0, 1, 2]] and v.stride() == (0, 1)


def test_take_along_dim_matches_numpy():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 5))
    idx = rng.integers(0, 5, size=(4, 3))
    out = torch.take_along_dim(torch.from_numpy(a), torch.from_numpy(idx), 1)
    np.testing.assert_array_equal(out.numpy(), np.take_along_axis(a, idx, 1))
    # broadcasting of the non-indexed dims, and dim=None over the flattened input
    idx2 = rng.integers(0, 4, size=(1, 2))
    out2 = torch.tensor(a).t().take_along_dim(torch.from_numpy(idx2), 1)
    np.testing.assert_array_equal(out2.numpy(), np.take_along_axis(a.T, idx2, 1))
    flat = torch.take_along_dim(torch.from_numpy(a), torch.tensor([0, 7, 19]))
    np.testing.assert_array_equal(flat.numpy(), a.reshape(-1)[[0, 7, 19]])


def test_copysign_values_dtypes_and_grad():
    a = torch.tensor([1.0, -2.0, 3.0, 0.0])
    b = torch.tensor([-1.0, 2.0, -0.0, -5.0])
    np.testing.assert_array_equal(torch.copysign(a, b).numpy(), np.copysign(a.numpy(), b.numpy()))
    assert torch.copysign(torch.tensor([1, 2]), -1).tolist() == [-1.0, -2.0]
    assert torch.copysign(torch.tensor([1, 2]), -1).dtype == torch.float32
    assert torch.copysign(a.half(), 2.0).dtype == torch.float16
    x = torch.tensor([1.5, -2.0, 0.7], dtype=torch.float64, requires_grad=True)
    s = torch.tensor([-1.0, -3.0, 2.0], dtype=torch.float64)
    assert gradcheck(lambda t: torch.copysign(t, s), (x,))
    y = a.clone()
    y.copysign_(-1.0)
    assert y.tolist() == [-1.0, -2.0, -3.0, -0.0]


def test_copysign_gradient_as_pytorch():
    # d/dx copysign(x, s) = result / x, 0 where x is 0; `other` gets zeros (not None).
    x = torch.tensor([1.5, -2.0, 0.0, -0.0], requires_grad=True)
    s = torch.tensor([[-1.0, -3.0, 2.0, -0.0]], requires_grad=True)
    out = torch.copysign(x, s.expand(2, 4))
    assert out.grad_fn.name() == "CopysignBackward0"
    assert torch.copysign(x, 2.0).grad_fn.name() == "CopysignBackward1"
    out.backward(torch.ones(2, 4) * 3)
    assert x.grad.tolist() == [-6.0, 6.0, 0.0, 0.0]
    assert s.grad.tolist() == [[0.0, 0.0, 0.0, 0.0]]
    # float16 and bfloat16 exactly (the sign bit moved, nothing rounded)
    v = torch.tensor([65504.0, -1e-7, 3.0, -0.0])
    for dtype in (torch.float16, torch.bfloat16):
        got = torch.copysign(v.to(dtype), torch.tensor([-1.0, 1.0, -0.0, 1.0]).to(dtype))
        want = np.copysign(v.to(dtype).float().numpy(), [-1.0, 1.0, -0.0, 1.0])
        np.testing.assert_array_equal(got.float().numpy(), want)
        assert np.signbit(got.float().numpy()).tolist() == [True, False, True, False]


def test_inner_and_trace():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4))
    np.testing.assert_allclose(
        torch.inner(torch.from_numpy(a), torch.from_numpy(b)).numpy(), np.inner(a, b), rtol=1e-12
    )
    assert torch.inner(torch.tensor(2.0), torch.ones(3)).tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match="the last dimension must match"):
        torch.inner(torch.ones(2, 3), torch.ones(4, 2))
    m = rng.standard_normal((3, 5))
    assert torch.trace(torch.from_numpy(m)).item() == pytest.approx(np.trace(m), rel=1e-12)
    assert torch.trace(torch.ones(2, 2, dtype=torch.int32)).dtype == torch.int64
    with pytest.raises(RuntimeError, match="expected a matrix, but got tensor with dim 3"):
        torch.trace(torch.ones(2, 3, 4))
    x = torch.tensor(m, requires_grad=True)
    assert gradcheck(lambda t: torch.inner(t, t), (x,))


def test_repeat_interleave_matches_numpy():
    a = np.arange(6).reshape(2, 3)
    t = torch.from_numpy(a)
    np.testing.assert_array_equal(t.repeat_interleave(2).numpy(), np.repeat(a, 2))
    np.testing.assert_array_equal(
        torch.repeat_interleave(t, 3, dim=1).numpy(), np.repeat(a, 3, axis=1)
    )
    reps = np.array([0, 2, 1])
    np.testing.assert_array_equal(
        t.repeat_interleave(torch.from_numpy(reps), dim=1).numpy(), np.repeat(a, reps, axis=1)
    )
    assert torch.repeat_interleave(torch.tensor([3, 0, 2])).tolist() == [0, 0, 0, 2, 2]
    assert torch.repeat_interleave(torch.tensor(5), 2).tolist() == [5, 5]
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda v: v.repeat_interleave(torch.tensor([2, 3])), (x,))
    with pytest.raises(RuntimeError, match="repeats can not be negative"):
        torch.repeat_interleave(torch.tensor([1, 2]), torch.tensor([1, -2]))
    with pytest.raises(RuntimeError, match=r"repeats.size\(0\) = 3 and input.size\(0\) = 2"):
        torch.repeat_interleave(torch.tensor([1, 2]), torch.tensor([1, 2, 3]))


def test_no_gpu_answers():
    assert torch.cuda.is_available() is False and torch.cuda.device_count() == 0
    assert torch.cuda.manual_seed(1) is None and torch.cuda.empty_cache() is None
    with pytest.raises(RuntimeError, match="Found no NVIDIA driver"):
        torch.cuda.synchronize()
    from rtorch.backends import cudnn

    assert cudnn.is_available() is False
    cudnn.benchmark = True  # settable, as scripts do
    assert torch.backends.cudnn.benchmark is True
    cudnn.benchmark = False
    assert torch.backends.mps.is_available() is False
    assert torch.accelerator.is_available() is False
    assert torch.accelerator.current_accelerator() is None
    assert torch.accelerator.device_count() == 0
    assert torch.get_default_device() == torch.device("cpu")


def test_submodules_are_reachable_as_attributes_after_import_rtorch():
    code = (
        "import rtorch as torch\n"
        "assert torch.utils.data.DataLoader.__name__ == 'DataLoader'\n"
        "assert torch.nn.functional.relu is not None and torch.optim.SGD is not None\n"
        "assert torch.utils.model_zoo.load_url is not None\n"
    )
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", code], check=True)


def test_meshgrid_broadcast_tensors_clone_get_device_type_legacy():
    a, b = np.arange(2), np.arange(3)
    for indexing in ("ij", "xy"):
        ours = torch.meshgrid(torch.from_numpy(a), torch.from_numpy(b), indexing=indexing)
        ref = np.meshgrid(a, b, indexing=indexing)
        for o, r in zip(ours, ref):
            np.testing.assert_array_equal(o.numpy(), r)
    with pytest.warns(UserWarning, match="indexing argument"):
        torch.meshgrid(torch.arange(2), torch.arange(2))
    shapes = [t.shape for t in torch.broadcast_tensors(torch.ones(2, 1), torch.ones(3))]
    assert shapes == [(2, 3), (2, 3)]
    x = torch.ones(2, requires_grad=True)
    c = torch.clone(x)
    assert c.grad_fn is not None and c.tolist() == [1.0, 1.0]
    assert torch.zeros(1).get_device() == -1
    assert torch.zeros(2).type(torch.DoubleTensor).dtype == torch.float64
    assert repr(torch.iinfo(torch.int32)) == "iinfo(min=-2.14748e+09, max=2.14748e+09, dtype=int32)"


def test_import_rtorch_does_not_import_numpy():
    # numpy's import is about half of `import rtorch`'s time; it loads on first use
    # (Tensor.numpy, from_numpy, gradcheck, the vision readers) instead.
    import subprocess
    import sys

    code = "import sys, rtorch; rtorch.ones(2) + 1; print('numpy' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"
