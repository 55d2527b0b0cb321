"""Entry points programs call around the math: compile, jit, checkpoint, DataParallel,
default tensor type/device, layouts, pinned memory, in-place shape methods, fill_diagonal_
and legacy Tensor.new, with PyTorch 2.15's results and messages."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import rtorch
from rtorch import nn
from rtorch.utils import checkpoint as cp

NO_DRIVER = "Found no NVIDIA driver on your system"


def test_compile_returns_the_callable() -> None:
    m = nn.Linear(2, 2)
    assert rtorch.compile(m) is m
    assert rtorch.compile(m, mode="max-autotune") is m

    @rtorch.compile
    def f(x):
        return x * 2

    @rtorch.compile(fullgraph=True)
    def g(x):
        return x + 1

    assert f(rtorch.tensor([1.0])).tolist() == [2.0] and g(rtorch.tensor([1.0])).tolist() == [2.0]
    with pytest.raises(AssertionError, match="A callable function is expected"):
        rtorch.compile(5)
    with pytest.raises(RuntimeError, match="Either mode or options can be specified"):
        rtorch.compile(m, mode="default", options={})


def test_compiler_queries_and_markers() -> None:
    # Nothing is compiled in rtorch: the queries say so, the markers return their input.
    compiler = rtorch.compiler
    assert not compiler.is_compiling() and not compiler.is_dynamo_compiling()
    assert not compiler.is_exporting()

    def f(x):
        return x + 1

    assert compiler.disable(f) is f and compiler.disable()(f) is f
    assert compiler.disable(f, recursive=False, reason="eager") is f
    assert compiler.allow_in_graph(f) is f and compiler.assume_constant_result(f) is f
    assert compiler.reset() is None and compiler.cudagraph_mark_step_begin() is None
    assert compiler.list_backends() == []


def test_assert_raises_with_the_message() -> None:
    rtorch._assert(True, "unused")
    rtorch._assert(rtorch.tensor(True), "unused")
    with pytest.raises(AssertionError, match="^the shape is wrong$"):
        rtorch._assert(rtorch.tensor(3) == 4, "the shape is wrong")
    with pytest.raises(AssertionError, match="^zero$"):
        rtorch._assert(0, "zero")


def test_jit_passthrough() -> None:
    m = nn.Linear(2, 2)
    with pytest.warns(FutureWarning, match="`torch.jit.script` is deprecated"):
        assert rtorch.jit.script(m) is m
    with pytest.warns(FutureWarning, match="`torch.jit.trace` is deprecated"):
        assert rtorch.jit.trace(m, rtorch.randn(1, 2)) is m
    assert rtorch.jit.is_scripting() is False and rtorch.jit.is_tracing() is False

    @rtorch.jit.ignore
    def h(x):
        return x

    @rtorch.jit.unused
    def u(x):
        return x

    assert h(3) == 3 and u(4) == 4 and rtorch.jit.annotate(int, 5) == 5
    assert rtorch.jit.wait(rtorch.jit.fork(lambda a: a + 1, 1)) == 2

    class Old(rtorch.jit.ScriptModule):
        def forward(self, x):
            return x + 1

    assert Old()(rtorch.tensor(1.0)).item() == 2.0
    with pytest.raises(NotImplementedError):
        rtorch.jit.save(m, "x.pt")


def test_checkpoint_same_values_and_gradients() -> None:
    x = rtorch.randn(4, dtype=rtorch.float64, requires_grad=True)
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        y = cp.checkpoint(lambda a: a.sin() * a, x)
    y.sum().backward()
    want = (x.detach().sin() + x.detach() * x.detach().cos()).numpy()
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)
    z = cp.checkpoint(lambda a, b=1: a * b, x, b=3, use_reentrant=False)
    assert np.allclose(z.detach().numpy(), 3 * x.detach().numpy())
    with pytest.raises(ValueError, match="Unexpected keyword arguments: b"):
        cp.checkpoint(lambda a, b=1: a * b, x, b=3, use_reentrant=True)
    seq = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))
    inp = rtorch.randn(4, 3)
    out = cp.checkpoint_sequential(seq, 2, inp, use_reentrant=False)
    assert rtorch.equal(out, seq(inp))


def test_data_parallel_runs_the_module() -> None:
    inner = nn.Linear(2, 3)
    m = nn.DataParallel(inner)
    assert m.module is inner and m.device_ids == []
    assert list(m.state_dict()) == ["module.weight", "module.bias"]
    x = rtorch.randn(4, 2)
    assert rtorch.equal(m(x), inner(x))
    assert repr(m).startswith("DataParallel(\n  (module): Linear(")
    with pytest.raises(RuntimeError, match=NO_DRIVER):
        nn.DataParallel(inner, device_ids=[0])


def test_default_tensor_type_and_device() -> None:
    try:
        with pytest.warns(UserWarning, match="set_default_tensor_type\\(\\) is deprecated"):
            rtorch.set_default_tensor_type(rtorch.DoubleTensor)
        assert rtorch.tensor([1.0]).dtype == rtorch.float64
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rtorch.set_default_tensor_type("torch.FloatTensor")
            assert rtorch.tensor([1.0]).dtype == rtorch.float32
            with pytest.raises(TypeError, match="only floating-point types are supported"):
                rtorch.set_default_tensor_type(rtorch.LongTensor)
            with pytest.raises(RuntimeError, match=NO_DRIVER):
                rtorch.set_default_tensor_type("torch.cuda.FloatTensor")
    finally:
        rtorch.set_default_dtype(rtorch.float32)
    rtorch.set_default_device("cpu")
    rtorch.set_default_device(None)
    with pytest.raises(RuntimeError, match=NO_DRIVER):
        rtorch.set_default_device("cuda")


def test_layout_pinning_and_errors() -> None:
    t = rtorch.zeros(2)
    assert repr(rtorch.strided) == "torch.strided" and t.layout is rtorch.strided
    assert isinstance(rtorch.strided, rtorch.layout)
    assert t.is_pinned() is False
    with pytest.raises(RuntimeError, match=NO_DRIVER):
        t.pin_memory()
    assert issubclass(rtorch.OutOfMemoryError, RuntimeError)


def test_inplace_shape_methods() -> None:
    base = rtorch.arange(6.0)
    v = base.view(2, 3)
    assert v.unsqueeze_(0) is v and v.shape == (1, 2, 3)
    assert v.squeeze_(0).shape == (2, 3) and v.squeeze_().shape == (2, 3)
    v.t_()
    assert v.tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    v.transpose_(0, 1)
    assert v.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    v[0, 0] = 9.0  # still a view of base
    assert base[0].item() == 9.0
    s = rtorch.arange(6.0)
    s.as_strided_((2, 2), (1, 2), 1)
    assert s.tolist() == [[1.0, 3.0], [2.0, 4.0]]


def test_resize() -> None:
    r = rtorch.arange(6.0)
    assert r.resize_(2, 2).tolist() == [[0.0, 1.0], [2.0, 3.0]]
    g = rtorch.arange(6.0).resize_(3, 3)
    assert g.shape == (3, 3) and g.reshape(-1)[:6].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    t = rtorch.arange(4.0).view(2, 2).t()
    assert t.resize_(4).tolist() == [0.0, 2.0, 1.0, 3.0]  # the elements in row-major order
    assert rtorch.zeros(3).resize_as_(rtorch.zeros(1, 3)).shape == (1, 3)
    assert rtorch.zeros(3).resize_((0,)).shape == (0,)


def test_fill_diagonal() -> None:
    assert rtorch.zeros(3, 4).fill_diagonal_(5).tolist() == (np.eye(3, 4) * 5).tolist()
    wrapped = rtorch.zeros(7, 3).fill_diagonal_(5, wrap=True).numpy()
    want = np.zeros((7, 3))
    want[[0, 1, 2, 4, 5, 6], [0, 1, 2, 0, 1, 2]] = 5
    np.testing.assert_array_equal(wrapped, want)
    np.testing.assert_array_equal(rtorch.zeros(7, 3).fill_diagonal_(5).numpy(), np.eye(7, 3) * 5)
    cube = rtorch.zeros(2, 2, 2).fill_diagonal_(5).numpy()
    assert cube[0, 0, 0] == 5 and cube[1, 1, 1] == 5 and cube.sum() == 10
    with pytest.raises(RuntimeError, match="all dimensions of input must be of equal length"):
        rtorch.zeros(2, 3, 4).fill_diagonal_(1)
    with pytest.raises(RuntimeError, match="dimensions must larger than 1"):
        rtorch.zeros(2).fill_diagonal_(1)


def test_legacy_new_and_inplace_math() -> None:
    t = rtorch.tensor([1.0])
    assert t.new(2, 3).shape == (2, 3) and t.new(2, 3).dtype == rtorch.float32
    assert t.new([1, 2]).tolist() == [1.0, 2.0] and t.new().shape == (0,)
    with pytest.raises(TypeError):
        t.new(rtorch.tensor([1, 2]))
    a = rtorch.tensor([7.0, -7.0])
    assert a.floor_divide_(2).tolist() == [3.0, -4.0]
    d = rtorch.tensor([2.0], dtype=rtorch.float64)
    assert d.float_power_(3).tolist() == [8.0]
    with pytest.raises(RuntimeError, match="operation's result requires dtype Double"):
        rtorch.tensor([2.0]).float_power_(2)
    m = rtorch.ones(2)
    m.addmv_(rtorch.eye(2), rtorch.tensor([1.0, 2.0]), beta=2)
    assert m.tolist() == [3.0, 4.0]
    o = rtorch.zeros(2, 2)
    o.addr_(rtorch.tensor([1.0, 2.0]), rtorch.tensor([3.0, 4.0]))
    assert o.tolist() == [[3.0, 4.0], [6.0, 8.0]]
    b = rtorch.zeros(2, 2)
    b.addbmm_(rtorch.ones(3, 2, 1), rtorch.ones(3, 1, 2))
    assert b.tolist() == [[3.0, 3.0], [3.0, 3.0]]


# ----- amp -----


def _model_and_opt():
    rtorch.manual_seed(0)
    m = nn.Linear(3, 1).double()
    return m, rtorch.optim.SGD(m.parameters(), lr=0.1)


def test_grad_scaler_matches_unscaled_training() -> None:
    m, opt = _model_and_opt()
    ref, ref_opt = _model_and_opt()
    scaler = rtorch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=2)
    x = rtorch.randn(4, 3, dtype=rtorch.float64)
    for step in range(3):
        opt.zero_grad()
        loss = m(x).pow(2).mean()
        scaled = scaler.scale(loss)
        assert scaled.item() == pytest.approx(loss.item() * scaler.get_scale())
        scaled.backward()
        scaler.step(opt)
        scaler.update()
        ref_opt.zero_grad()
        ref(x).pow(2).mean().backward()
        ref_opt.step()
        np.testing.assert_allclose(m.weight.detach().numpy(), ref.weight.detach().numpy(),
                                   rtol=1e-12)  # fmt: skip
    # Three clean steps with growth_interval=2: one growth.
    assert scaler.get_scale() == 2048.0
    assert scaler.state_dict() == {
        "scale": 2048.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2,
        "_growth_tracker": 1,
    }  # fmt: skip


def test_grad_scaler_skips_non_finite_steps() -> None:
    m, opt = _model_and_opt()
    scaler = rtorch.amp.GradScaler("cpu")
    before = m.weight.detach().clone()
    scaler.scale(m(rtorch.ones(1, 3, dtype=rtorch.float64)).sum()).backward()
    m.weight.grad = rtorch.full_like(m.weight, float("inf"))
    assert scaler.step(opt) is None
    scaler.update()
    assert rtorch.equal(m.weight, before) and scaler.get_scale() == 32768.0
    scaler.scale(m(rtorch.ones(1, 3, dtype=rtorch.float64)).sum()).backward()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step\\(\\)"):
        scaler.unscale_(opt)
    scaler.update()
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        scaler.step(opt, closure=lambda: 0)
    other = rtorch.amp.GradScaler("cpu")
    other.load_state_dict(scaler.state_dict())
    assert other.get_scale() == scaler.get_scale()
    scaled = scaler.scale([rtorch.ones(1), (rtorch.ones(1),)])
    assert isinstance(scaled, list) and isinstance(scaled[1], tuple)


def test_grad_scaler_disabled_and_cuda() -> None:
    m, _opt = _model_and_opt()
    off = rtorch.amp.GradScaler("cpu", enabled=False)
    loss = m(rtorch.ones(1, 3, dtype=rtorch.float64)).sum()
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    with pytest.warns(UserWarning, match="GradScaler is enabled, but CUDA is not available"):
        assert not rtorch.amp.GradScaler().is_enabled()
    with pytest.warns(FutureWarning, match="torch.cuda.amp.GradScaler\\(args...\\)` is deprecated"):
        rtorch.cuda.amp.GradScaler(enabled=False)


def test_autocast() -> None:
    with rtorch.autocast("cpu", enabled=False):
        assert rtorch.is_autocast_enabled() is False
    with pytest.warns(UserWarning, match="CUDA is not available or torch_xla is imported"):
        cuda_region = rtorch.autocast("cuda")
    with cuda_region:
        pass
    cpu_region = rtorch.autocast("cpu", dtype=rtorch.bfloat16)
    with pytest.raises(NotImplementedError, match="no automatic mixed precision"):
        cpu_region.__enter__()

    @rtorch.autocast("cpu", enabled=False)
    def f(x):
        return x + 1

    assert f(1) == 2
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        rtorch.autocast(device_type=3)
    assert rtorch.get_autocast_dtype("cpu") == rtorch.bfloat16
    assert rtorch.get_autocast_dtype("cuda") == rtorch.float16
    assert issubclass(rtorch.cuda.OutOfMemoryError, RuntimeError)


# ----- small tensor methods and top-level helpers -----


def test_random_fills_have_the_right_distribution() -> None:
    rtorch.manual_seed(0)
    g = rtorch.ones(40000, dtype=rtorch.float64).geometric_(0.25)
    assert float(g.min()) >= 1.0 and bool((g == g.floor()).all())
    assert abs(g.mean().item() - 4.0) < 0.1  # mean 1/p, sd sqrt(1-p)/p / sqrt(n) ~ 0.017
    assert abs((g == 1).double().mean().item() - 0.25) < 0.01
    c = rtorch.empty(40000, dtype=rtorch.float64).cauchy_(median=2.0, sigma=3.0)
    q = np.quantile(c.numpy(), [0.25, 0.5, 0.75])
    np.testing.assert_allclose(q, [-1.0, 2.0, 5.0], atol=0.15)  # quartiles median -+ sigma
    ln = rtorch.empty(40000, dtype=rtorch.float64).log_normal_(0.5, 0.25).log()
    assert abs(ln.mean().item() - 0.5) < 0.01 and abs(ln.std().item() - 0.25) < 0.01
    assert rtorch.ones(3, dtype=rtorch.int64).geometric_(0.5).dtype == rtorch.int64
    with pytest.raises(
        RuntimeError, match="geometric_ expects p to be in \\(0, 1\\), but got p=1.5"
    ):
        rtorch.ones(3).geometric_(1.5)
    with pytest.raises(RuntimeError, match="cauchy_ expects sigma > 0.0, but found sigma=-1"):
        rtorch.ones(3).cauchy_(sigma=-1)
    with pytest.raises(RuntimeError, match="log_normal_ expects std > 0.0, but found std=-1"):
        rtorch.ones(3).log_normal_(std=-1)


def test_small_helpers() -> None:
    assert rtorch.nonzero_static(rtorch.tensor([0, 1, 0, 2]), size=3).tolist() == [[1], [3], [-1]]
    assert rtorch.tensor([0, 1, 0, 2]).nonzero_static(size=1, fill_value=-5).tolist() == [[1]]
    e = rtorch.empty_permuted((2, 3, 4), (0, 2, 1))
    assert e.shape == (2, 3, 4) and e.stride() == (12, 1, 3)
    assert rtorch.ones(2, 3).dim_order() == (0, 1) and rtorch.ones(2, 3).t().dim_order() == (1, 0)
    assert rtorch.ones(2).new_empty_strided((2, 3), (3, 1)).stride() == (3, 1)
    x = rtorch.ones(2)
    assert x.is_set_to(x) and not rtorch.ones(3).is_set_to(rtorch.ones(3))
    assert rtorch.tensor([-1.0, 0.3, 2.0]).hardshrink(0.5).tolist() == [-1.0, 0.0, 2.0]
    assert rtorch.tensor([-1.0, 2.0]).prelu(rtorch.tensor([0.25])).tolist() == [-0.25, 2.0]
    with pytest.warns(UserWarning, match="torch.chain_matmul is deprecated"):
        cm = rtorch.chain_matmul(rtorch.ones(2, 3), rtorch.ones(3, 4), rtorch.ones(4, 1))
    assert cm.tolist() == [[12.0], [12.0]]
    assert rtorch.set_flush_denormal(True) is True
    assert rtorch.is_storage(rtorch.ones(1).untyped_storage()) and not rtorch.is_storage(x)


def test_constants_aliases_and_random_module() -> None:
    import math

    assert rtorch.pi == math.pi and rtorch.e == math.e and rtorch.inf == math.inf
    assert math.isnan(rtorch.nan) and rtorch.newaxis is None
    assert rtorch.zeros(2)[rtorch.newaxis].shape == (1, 2)
    assert rtorch.GradScaler is rtorch.amp.GradScaler
    assert rtorch.vmap(lambda v: v * 2)(rtorch.ones(3, 2)).shape == (3, 2)
    assert rtorch.constant_pad_nd(rtorch.ones(2), (1, 1), 5.0).tolist() == [5.0, 1.0, 1.0, 5.0]
    assert (
        rtorch.get_autocast_cpu_dtype() == rtorch.bfloat16 and not rtorch.is_autocast_cpu_enabled()
    )
    x = rtorch.ones(4)
    assert rtorch.alpha_dropout_(x, 0.5, False) is x and x.tolist() == [1.0] * 4
    rtorch.random.manual_seed(0)
    first = rtorch.rand(3)
    rtorch.random.manual_seed(0)
    with rtorch.random.fork_rng():
        rtorch.rand(7)
    assert rtorch.equal(rtorch.rand(3), first)  # the fork restored the state
    state = rtorch.random.get_rng_state()
    a = rtorch.rand(2)
    rtorch.random.set_rng_state(state)
    assert rtorch.equal(rtorch.rand(2), a)


def test_tensor_storage_is_a_typed_view() -> None:
    t = rtorch.arange(6.0)
    with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
        s = t.storage()
    assert isinstance(s, rtorch.TypedStorage)
    assert s.size() == len(s) == 6 and s.dtype == rtorch.float32 and s.element_size() == 4
    assert s.nbytes() == 24 and s.data_ptr() == t.data_ptr()
    assert s.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0] and s[2] == 2.0
    s[0] = 9.0  # shares memory with the tensor
    assert t[0].item() == 9.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        view = t[2:4]
        assert view.storage().size() == 6 and view.storage().data_ptr() == t.data_ptr()
        s.fill_(1.0)
    assert t.tolist() == [1.0] * 6
    assert repr(s).endswith(
        "[torch.storage.TypedStorage(dtype=torch.float32, device=cpu) of size 6]"
    )
    assert t.storage_type().__name__ == "FloatStorage"
    assert rtorch.zeros(2, dtype=rtorch.int64).storage_type().__name__ == "LongStorage"


def test_adjoint_views_and_kind_flags() -> None:
    x = rtorch.arange(6.0).reshape(2, 3)
    assert x.H.tolist() == x.t().tolist() and x.mH.shape == (3, 2)
    assert rtorch.ones(2, 3, 4).mH.shape == (2, 4, 3)
    assert x.real is x and not x.is_meta and not x.is_sparse and not x.is_quantized
    assert not x.is_mkldnn and not x.is_nested
    with pytest.raises(RuntimeError, match="For batches of matrices, consider using tensor.mH"):
        _ = rtorch.ones(2, 3, 4).H
    with pytest.raises(RuntimeError, match="tensor.mH is only supported on matrices or batches"):
        _ = rtorch.ones(3).mH
    with pytest.raises(TypeError, match="imag is not implemented for tensors with non-complex"):
        _ = x.imag
    with pytest.warns(UserWarning, match="Tensor.H is deprecated on 0-D tensors"):
        assert rtorch.tensor(1.0).H.item() == 1.0


def test_cuda_stubs_autograd_switches_and_container() -> None:
    with pytest.raises(RuntimeError, match=NO_DRIVER):
        rtorch.cuda.get_rng_state()
    with pytest.raises(RuntimeError, match=NO_DRIVER):
        rtorch.cuda.mem_get_info()
    assert rtorch.cuda.get_rng_state_all() == [] and dict(rtorch.cuda.memory_stats()) == {}
    assert rtorch.cuda.max_memory_reserved() == 0 and not rtorch.cuda.is_tf32_supported()
    assert rtorch.cuda.memory_snapshot() == []
    assert rtorch.autograd.is_multithreading_enabled()
    with rtorch.autograd.set_multithreading_enabled(False):
        x = rtorch.ones(2, requires_grad=True)
        (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    with pytest.warns(FutureWarning, match="`nn.Container` is deprecated"):
        c = nn.Container(a=nn.Linear(1, 1))
    assert list(dict(c.named_children())) == ["a"]
