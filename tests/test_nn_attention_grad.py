"""rtorch.nn.attention (SDPBackend, sdpa_kernel), rtorch.nn.grad (convolution gradients),
nn.CrossMapLRN2d and rtorch.optim.swa_utils: against autograd, float64 finite
differences, numpy references and PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import assert_np_close, run_script, to_np

import rtorch
import rtorch.nn.functional as F
from rtorch import nn
from rtorch.autograd import gradcheck
from rtorch.nn.attention import SDPBackend, sdpa_kernel

RNG = np.random.default_rng(99)


def rt(a, requires_grad: bool = False) -> rtorch.Tensor:
    return rtorch.tensor(np.asarray(a), dtype=rtorch.float64, requires_grad=requires_grad)


def rnd(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


# --- nn.attention ----------------------------------------------------------------------

ALL_FLAGGED = [
    SDPBackend.CUDNN_ATTENTION,
    SDPBackend.FLASH_ATTENTION,
    SDPBackend.EFFICIENT_ATTENTION,
    SDPBackend.MATH,
    SDPBackend.OVERRIDEABLE,
]


def enabled() -> list[SDPBackend]:
    from rtorch.nn.attention import _cur_sdpa_kernel_backends

    return _cur_sdpa_kernel_backends()


def test_sdp_backend_enum():
    assert [(b.name, int(b)) for b in SDPBackend] == [
        ("ERROR", -1),
        ("MATH", 0),
        ("FLASH_ATTENTION", 1),
        ("EFFICIENT_ATTENTION", 2),
        ("CUDNN_ATTENTION", 3),
        ("OVERRIDEABLE", 4),
    ]
    assert str(SDPBackend.MATH) == "SDPBackend.MATH"
    assert repr(SDPBackend.FLASH_ATTENTION) == "<SDPBackend.FLASH_ATTENTION: 1>"


def test_attention_module_is_reachable():
    assert rtorch.nn.attention.sdpa_kernel is sdpa_kernel
    assert "sdpa_kernel" in rtorch.nn.attention.__all__
    assert rtorch.nn.attention.WARN_FOR_UNFUSED_KERNELS is False
    out = run_script("import rtorch; print(rtorch.nn.attention.SDPBackend.MATH.name)")
    assert out == ["MATH"]


def test_sdpa_kernel_selects_and_restores():
    assert enabled() == ALL_FLAGGED
    with sdpa_kernel(SDPBackend.MATH) as ctx:
        assert ctx == {}
        assert enabled() == [SDPBackend.MATH]
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.MATH, SDPBackend.MATH]):
            assert enabled() == [SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]
        assert enabled() == [SDPBackend.MATH]
    assert enabled() == ALL_FLAGGED
    with pytest.raises(ZeroDivisionError), sdpa_kernel([SDPBackend.CUDNN_ATTENTION]):
        assert enabled() == [SDPBackend.CUDNN_ATTENTION]
        _ = 1 / 0
    assert enabled() == ALL_FLAGGED
    with sdpa_kernel([]):
        assert enabled() == []
    assert enabled() == ALL_FLAGGED


def test_sdpa_kernel_priority_order():
    from rtorch.nn.attention import _cur_sdpa_kernel_backends, _get_priority_order

    default = _get_priority_order()
    assert default == [1, 2, 0, 3, 4]
    with sdpa_kernel([SDPBackend.MATH, SDPBackend.CUDNN_ATTENTION], set_priority=True):
        assert _get_priority_order() == [0, 3, 1, 2, 4]
        assert _cur_sdpa_kernel_backends(with_priority=True) == [
            SDPBackend.MATH,
            SDPBackend.CUDNN_ATTENTION,
        ]
    assert _get_priority_order() == default
    with sdpa_kernel([SDPBackend.MATH, SDPBackend.CUDNN_ATTENTION]):
        assert _get_priority_order() == default  # no set_priority: order untouched


@pytest.mark.parametrize("bad", ["math", 0, (SDPBackend.MATH,), {SDPBackend.MATH}])
def test_sdpa_kernel_validates_backends(bad):
    match = "Backend must be an instance of SDPBackend"
    with pytest.raises(AssertionError, match=match), sdpa_kernel(bad):
        pass
    assert enabled() == ALL_FLAGGED


def test_cpu_backend_choice_and_unchanged_numbers():
    from rtorch.nn.attention import _cpu_backend

    assert _cpu_backend() == SDPBackend.FLASH_ATTENTION  # flash first by default
    with sdpa_kernel([SDPBackend.MATH, SDPBackend.FLASH_ATTENTION], set_priority=True):
        assert _cpu_backend() == SDPBackend.MATH
    with sdpa_kernel(SDPBackend.MATH):
        assert _cpu_backend() == SDPBackend.MATH
    efficient = sdpa_kernel(SDPBackend.EFFICIENT_ATTENTION)
    with efficient, pytest.raises(RuntimeError, match="No viable backend"):
        _cpu_backend()
    q, k, v = (rt(rnd(1, 2, 3, 4)) for _ in range(3))
    outside = F.scaled_dot_product_attention(q, k, v)
    with sdpa_kernel(SDPBackend.MATH):
        inside = F.scaled_dot_product_attention(q, k, v)
    scores = to_np(q) @ to_np(k).swapaxes(-1, -2) / 2.0
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    assert_np_close(inside, weights @ to_np(v))
    assert_np_close(inside, to_np(outside))


def test_sdpa_kernel_parity(torch_ref):
    torch = torch_ref
    from torch.nn.attention import SDPBackend as TB
    from torch.nn.attention import sdpa_kernel as t_kernel

    from rtorch.nn.attention import _get_priority_order

    def torch_state():
        c = torch.backends.cuda
        flags = [c.cudnn_sdp_enabled(), c.flash_sdp_enabled(), c.mem_efficient_sdp_enabled(),
                 c.math_sdp_enabled(), torch._C._get_overrideable_sdp_enabled()]  # fmt: skip
        return [
            b.name for b, on in zip(ALL_FLAGGED, flags) if on
        ], torch._C._get_sdp_priority_order()

    def our_state():
        return [b.name for b in enabled()], _get_priority_order()

    assert torch_state() == our_state()
    for names, prio in (
        (["MATH"], False),
        (["CUDNN_ATTENTION", "MATH", "FLASH_ATTENTION"], True),
        (["EFFICIENT_ATTENTION", "EFFICIENT_ATTENTION"], False),
    ):
        theirs = t_kernel([getattr(TB, n) for n in names], set_priority=prio)
        ours = sdpa_kernel([getattr(SDPBackend, n) for n in names], set_priority=prio)
        with theirs, ours:
            assert torch_state() == our_state()
        assert torch_state() == our_state()
    with pytest.raises(AssertionError), t_kernel("math"):
        pass


# --- nn.grad ---------------------------------------------------------------------------

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _case(dims: int, groups: int):
    x = rt(rnd(2, 4, *([6] * dims)), requires_grad=True)
    w = rt(rnd(6, 4 // groups, *([3] * dims)), requires_grad=True)
    kwargs = {"stride": 2, "padding": 1, "dilation": 1 if dims == 3 else 2, "groups": groups}
    return x, w, kwargs


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("groups", [1, 2])
def test_conv_grads_equal_autograd(dims, groups):
    x, w, kwargs = _case(dims, groups)
    out = CONV[dims](x, w, None, **kwargs)
    g = rt(rnd(*out.shape))
    out.backward(g)
    grad_in = getattr(nn.grad, f"conv{dims}d_input")(x.shape, w.detach(), g, **kwargs)
    grad_w = getattr(nn.grad, f"conv{dims}d_weight")(x.detach(), w.shape, g, **kwargs)
    assert_np_close(grad_in, to_np(x.grad))
    assert_np_close(grad_w, to_np(w.grad))
    assert not grad_in.requires_grad and not grad_w.requires_grad


def _np_conv2d_grads(x, w, gy, stride, padding, dilation):
    """float64 numpy gradients of a one-group 2-D convolution: the weight's as a sum of
    products over strided windows of the padded input, the input's by scattering each
    tap's products back to the positions they read."""
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = gy.shape[2:]
    gw = np.zeros(w.shape)
    gxp = np.zeros(xp.shape)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dilation, i * dilation + stride * (oh - 1) + 1, stride)
            cols = slice(j * dilation, j * dilation + stride * (ow - 1) + 1, stride)
            gw[:, :, i, j] = np.einsum("noyx,ncyx->oc", gy, xp[:, :, rows, cols])
            gxp[:, :, rows, cols] += np.einsum("noyx,oc->ncyx", gy, w[:, :, i, j])
    h, wd = x.shape[2:]
    return gxp[:, :, padding : padding + h, padding : padding + wd], gw


# Each 2-D route of the kernels: direct (unit stride, <= 64 channels), im2col + GEMM
# (stride 2, dilation; more than 64 channels), Winograd (3x3, unit stride), pointwise.
ROUTES = [
    ((2, 16, 12, 12), (16, 16, 5, 5), 1, 2, 1),
    ((2, 8, 11, 11), (12, 8, 3, 3), 2, 1, 1),
    ((2, 8, 13, 13), (8, 8, 3, 3), 1, 2, 2),
    ((2, 80, 9, 9), (72, 80, 3, 3), 1, 1, 1),
    ((3, 32, 10, 10), (32, 32, 3, 3), 1, 1, 1),
    ((2, 8, 7, 7), (16, 8, 1, 1), 1, 0, 1),
]


@pytest.mark.parametrize("xs, ws, stride, padding, dilation", ROUTES)
def test_conv2d_grads_match_numpy_on_every_route(xs, ws, stride, padding, dilation):
    x, w = RNG.standard_normal(xs), RNG.standard_normal(ws)
    out = CONV[2](rt(x), rt(w), None, stride, padding, dilation)
    gy = RNG.standard_normal(tuple(out.shape))
    ref_in, ref_w = _np_conv2d_grads(x, w, gy, stride, padding, dilation)
    for dtype, tol in ((rtorch.float64, 1e-10), (rtorch.float32, 1e-4)):
        xt, wt, gt = (rtorch.tensor(a, dtype=dtype) for a in (x, w, gy))
        got_in = nn.grad.conv2d_input(xs, wt, gt, stride, padding, dilation)
        got_w = nn.grad.conv2d_weight(xt, ws, gt, stride, padding, dilation)
        assert got_in.dtype == got_w.dtype == dtype
        assert_np_close(got_in, ref_in, rtol=tol, atol=tol)
        assert_np_close(got_w, ref_w, rtol=tol, atol=tol)


@pytest.mark.parametrize("xs, ws, stride, padding, dilation", ROUTES)
@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.bfloat16])
def test_conv2d_grads_are_the_backward_bits(xs, ws, stride, padding, dilation, dtype):
    # The transposed convolution and the weight-gradient pass are the kernels the
    # convolution's backward runs: the same bits as backward() (float32 and bfloat16).
    x = rtorch.randn(*xs).to(dtype).requires_grad_()
    w = rtorch.randn(*ws).to(dtype).requires_grad_()
    out = F.conv2d(x, w, None, stride, padding, dilation)
    gy = rtorch.randn(*out.shape).to(dtype)
    out.backward(gy)
    got_in = nn.grad.conv2d_input(xs, w.detach(), gy, stride, padding, dilation)
    got_w = nn.grad.conv2d_weight(x.detach(), ws, gy, stride, padding, dilation)
    assert rtorch.equal(got_in, x.grad)
    assert rtorch.equal(got_w, w.grad)


def test_conv1d_grads_and_fallbacks():
    # conv1d runs as a 2-D convolution of height 1; string padding, a wanted graph and
    # the meta device take the autograd route. All agree with backward().
    x = rtorch.randn(3, 4, 17, dtype=rtorch.float64, requires_grad=True)
    w = rtorch.randn(6, 2, 3, dtype=rtorch.float64, requires_grad=True)
    out = F.conv1d(x, w, None, 2, 1, 2, 2)
    gy = rtorch.randn(*out.shape, dtype=rtorch.float64)
    out.backward(gy)
    assert rtorch.equal(nn.grad.conv1d_weight(x.detach(), w.shape, gy, 2, 1, 2, 2), w.grad)
    assert rtorch.equal(nn.grad.conv1d_input(x.shape, w.detach(), gy, 2, 1, 2, 2), x.grad)
    x2 = rtorch.randn(2, 4, 9, 9, dtype=rtorch.float64)
    w2 = rtorch.randn(6, 4, 3, 3, dtype=rtorch.float64, requires_grad=True)
    same = F.conv2d(x2, w2, None, 1, "same")
    gs = rtorch.randn(*same.shape, dtype=rtorch.float64)
    (by_graph,) = rtorch.autograd.grad(same, w2, gs)
    assert_np_close(nn.grad.conv2d_weight(x2, w2.shape, gs, 1, "same"), to_np(by_graph))
    meta = nn.grad.conv2d_weight(x2.to("meta"), w2.shape, gs.to("meta"), 1, 1)
    assert meta.device.type == "meta" and tuple(meta.shape) == tuple(w2.shape)
    with pytest.raises(RuntimeError, match="Expected grad_output of shape"):
        nn.grad.conv2d_weight(x2, w2.shape, gs[..., :-1], 1, 1)
    with pytest.raises(RuntimeError, match="Expected grad_output of shape"):
        nn.grad.conv2d_input(x2.shape, w2.detach(), gs[..., :-1], 1, 1)


def test_conv2d_grads_against_finite_differences():
    x0, w0 = rnd(1, 2, 4, 4), rnd(3, 2, 2, 2)
    kwargs = {"stride": 2, "padding": 1}
    g = rnd(*CONV[2](rt(x0), rt(w0), None, **kwargs).shape)

    def loss(x, w):
        return float((to_np(CONV[2](rt(x), rt(w), None, **kwargs)) * g).sum())

    def numeric(arr, other, wrt_input):
        grad = np.zeros_like(arr)
        h = 1e-6
        for i in np.ndindex(arr.shape):
            up, down = arr.copy(), arr.copy()
            up[i] += h
            down[i] -= h
            pair = (up, other) if wrt_input else (other, up)
            pair_down = (down, other) if wrt_input else (other, down)
            grad[i] = (loss(*pair) - loss(*pair_down)) / (2 * h)
        return grad

    got_in = nn.grad.conv2d_input(list(x0.shape), rt(w0), rt(g), **kwargs)
    assert_np_close(got_in, numeric(x0, w0, True), rtol=1e-6, atol=1e-8)
    got_w = nn.grad.conv2d_weight(rt(x0), list(w0.shape), rt(g), **kwargs)
    assert_np_close(got_w, numeric(w0, x0, False), rtol=1e-6, atol=1e-8)


def test_conv_grads_are_differentiable():
    w = rt(rnd(3, 2, 2, 2), requires_grad=True)
    x = rt(rnd(1, 2, 4, 4), requires_grad=True)
    g = rt(rnd(1, 3, 3, 3), requires_grad=True)
    assert gradcheck(lambda a, b: nn.grad.conv2d_input([1, 2, 4, 4], a, b), (w, g))
    assert gradcheck(lambda a, b: nn.grad.conv2d_weight(a, [3, 2, 2, 2], b), (x, g))
    g1 = rt(rnd(2, 3, 4), requires_grad=True)
    w1 = rt(rnd(3, 2, 2), requires_grad=True)
    assert gradcheck(lambda a, b: nn.grad.conv1d_input((2, 2, 5), a, b), (w1, g1))


def test_conv_grad_errors_and_aliases():
    w, g = rtorch.randn(4, 2, 3, 3), rtorch.randn(2, 4, 3, 3)
    with pytest.raises(RuntimeError):
        nn.grad.conv2d_input([2, 2, 8, 8], w, g, stride=2, padding=1)
    with pytest.raises(RuntimeError):
        nn.grad.conv2d_input([5, 5], w, g)
    with pytest.raises(TypeError):
        nn.grad.conv2d_input(5, w, g)
    assert F.grad is nn.grad
    assert nn.grad.conv2d_input(rtorch.Size([2, 2, 5, 5]), w, g, 2, 1).shape == (2, 2, 5, 5)


def test_conv_grads_parity(torch_ref):
    torch = torch_ref
    for dims in (1, 2, 3):
        for groups in (1, 2):
            x, w, kwargs = _case(dims, groups)
            g = rt(rnd(*CONV[dims](x, w, None, **kwargs).shape))
            tx, tw, tg = (torch.tensor(to_np(t.detach())) for t in (x, w, g))
            ours = getattr(nn.grad, f"conv{dims}d_input")(list(x.shape), w.detach(), g, **kwargs)
            theirs = getattr(torch.nn.grad, f"conv{dims}d_input")(list(x.shape), tw, tg, **kwargs)
            np.testing.assert_allclose(to_np(ours), theirs.numpy(), rtol=1e-10, atol=1e-10)
            ours = getattr(nn.grad, f"conv{dims}d_weight")(x.detach(), list(w.shape), g, **kwargs)
            theirs = getattr(torch.nn.grad, f"conv{dims}d_weight")(tx, list(w.shape), tg, **kwargs)
            np.testing.assert_allclose(to_np(ours), theirs.numpy(), rtol=1e-10, atol=1e-10)


# --- CrossMapLRN2d ---------------------------------------------------------------------


def _cross_map_reference(x, size, alpha, beta, k):
    c = x.shape[1]
    reach = (size - 1) // 2 + 1
    sq = x**2
    out = np.empty_like(x)
    for ch in range(c):
        lo, hi = max(0, ch - reach + 1), min(c - 1, ch + reach - 1)
        s = sq[:, lo : hi + 1].sum(1)
        if ch >= reach:  # PyTorch's running window never drops channel 0
            s = s + sq[:, 0]
        out[:, ch] = x[:, ch] * (k + alpha / size * s) ** -beta
    return out


@pytest.mark.parametrize("channels", [1, 3, 7])
@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_cross_map_lrn2d_against_numpy(channels, size):
    x = rnd(2, channels, 3, 2)
    layer = nn.CrossMapLRN2d(size, alpha=0.3, beta=0.6, k=1.5)
    assert_np_close(layer(rt(x)), _cross_map_reference(x, size, 0.3, 0.6, 1.5))


def test_cross_map_lrn2d_module_grad_and_errors():
    layer = nn.CrossMapLRN2d(3)
    assert repr(layer) == "CrossMapLRN2d(3, alpha=0.0001, beta=0.75, k=1)"
    assert list(layer.state_dict()) == []
    x = rt(rnd(2, 5, 2, 2), requires_grad=True)
    assert gradcheck(nn.CrossMapLRN2d(3, alpha=0.3, beta=0.6, k=1.5), (x,))
    with pytest.raises(ValueError, match="Expected input to be 4D, got 3D"):
        layer(rtorch.randn(2, 3, 4))
    out = layer(rtorch.randn(2, 4, 3, 3))
    assert out.dtype == rtorch.float32 and out.shape == (2, 4, 3, 3)


def test_cross_map_lrn2d_parity(torch_ref):
    torch = torch_ref
    for channels in (1, 2, 6):
        x = rnd(2, channels, 3, 3)
        for size in (1, 2, 3, 4, 9):
            ours = nn.CrossMapLRN2d(size, 0.2, 0.7, 2.0)(rt(x))
            theirs = torch.nn.CrossMapLRN2d(size, 0.2, 0.7, 2.0)(torch.tensor(x))
            np.testing.assert_allclose(to_np(ours), theirs.numpy(), rtol=1e-12, atol=1e-12)


# --- optim.swa_utils -------------------------------------------------------------------


def test_swa_utils_reachable_as_attribute():
    out = run_script(
        "import rtorch; print(hasattr(rtorch.optim, 'swa_utils'), "
        "'swa_utils' in dir(rtorch.optim), rtorch.optim.swa_utils.SWALR.__name__)"
    )
    assert out == ["True", "True", "SWALR"]
    from rtorch.optim import swa_utils

    assert sorted(swa_utils.__all__) == sorted(
        ["AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
         "get_ema_avg_fn", "get_swa_avg_fn"]
    )  # fmt: skip
    for name in swa_utils.__all__:
        assert callable(getattr(swa_utils, name))


def test_swa_avg_functions_closed_form():
    from rtorch.optim import swa_utils

    values = [rnd(3) for _ in range(4)]
    avg = rt(values[0])
    for n, v in enumerate(values[1:], start=1):
        avg = swa_utils.get_swa_avg_fn()(avg, rt(v), rtorch.tensor(n))
    assert_np_close(avg, np.mean(values, 0))
    ema = rt(values[0])
    expected = values[0]
    for v in values[1:]:
        ema = swa_utils.get_ema_avg_fn(0.9)(ema, rt(v), 0)
        expected = 0.9 * expected + 0.1 * v
    assert_np_close(ema, expected)
    lists = [rt(values[0])]
    swa_utils.get_ema_multi_avg_fn(0.5)(lists, [rt(values[1])], 1)
    assert_np_close(lists[0], 0.5 * values[0] + 0.5 * values[1])
    with pytest.raises(ValueError, match="Invalid decay value"):
        swa_utils.get_ema_avg_fn(1.5)


def _models(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.Linear(4, 2))


def _run_swa(lib, use_buffers, avg):
    from importlib import import_module

    swa = import_module(f"{lib.__name__}.optim.swa_utils")
    model = _models(lib).double()
    with lib.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(lib.tensor(np.linspace(-1, 1, p.numel()).reshape(tuple(p.shape)) / (i + 1)))
    kwargs = {"avg_fn": swa.get_ema_avg_fn(0.8)} if avg == "ema" else {}
    if avg == "ema_multi":
        kwargs = {"multi_avg_fn": swa.get_ema_multi_avg_fn(0.7)}
    averaged = swa.AveragedModel(model, use_buffers=use_buffers, **kwargs)
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    sched = swa.SWALR(opt, swa_lr=0.05, anneal_epochs=3, anneal_strategy="linear")
    lrs = []
    data = [lib.tensor(np.linspace(-1, 1, 15).reshape(5, 3) + 0.1 * k) for k in range(4)]
    for x in data:
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
        averaged.update_parameters(model)
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    swa.update_bn(data, averaged)
    state = {k: v.detach().double() for k, v in averaged.state_dict().items()}
    return state, lrs


@pytest.mark.parametrize("use_buffers", [False, True])
@pytest.mark.parametrize("avg", ["swa", "ema", "ema_multi"])
def test_averaged_model_swalr_update_bn_parity(torch_ref, use_buffers, avg):
    torch = torch_ref
    ours, our_lrs = _run_swa(rtorch, use_buffers, avg)
    theirs, their_lrs = _run_swa(torch, use_buffers, avg)
    np.testing.assert_allclose(our_lrs, their_lrs, rtol=1e-12)
    assert list(ours) == list(theirs)
    for key in theirs:
        np.testing.assert_allclose(to_np(ours[key]), theirs[key].numpy(), rtol=1e-9, atol=1e-9)


def test_averaged_model_integer_buffers():
    """use_buffers=True averages num_batches_tracked too: with the default running mean
    it is truncated back to the first value (1 + (n - 1) / (k + 1) < 2), with an EMA
    multi_avg_fn (called per dtype group) it is the truncated EMA."""
    from rtorch.optim import swa_utils

    bn = nn.BatchNorm1d(2)
    swa = swa_utils.AveragedModel(bn, use_buffers=True)
    ema = swa_utils.AveragedModel(bn, use_buffers=True,
                                  multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.7))  # fmt: skip
    expected_ema = None
    for step in range(1, 5):
        bn(rtorch.randn(5, 2))
        swa.update_parameters(bn)
        ema.update_parameters(bn)
        expected_ema = step if expected_ema is None else int(expected_ema * 0.7 + step * 0.3)
        assert int(swa.module.num_batches_tracked) == 1
        assert int(ema.module.num_batches_tracked) == expected_ema
    assert int(swa.n_averaged) == 4
    ints = [rtorch.tensor(1)]
    with pytest.raises(RuntimeError, match="Integer division with addcdiv"):
        swa_utils.get_swa_multi_avg_fn()(ints, [rtorch.tensor(3)], rtorch.tensor(1))


def test_swa_multi_avg_fn_integer_parity(torch_ref):
    torch = torch_ref
    from torch.optim import swa_utils as t_swa

    with pytest.raises(RuntimeError, match="Integer division with addcdiv"):
        t_swa.get_swa_multi_avg_fn()([torch.tensor(1)], [torch.tensor(3)], torch.tensor(1))


# --- nn.attention.bias -----------------------------------------------------------------


@pytest.mark.parametrize("q_len,kv_len", [(3, 5), (4, 4), (5, 3)])
def test_causal_bias_masks(q_len, kv_len):
    from rtorch.nn.attention.bias import (
        CausalBias,
        CausalVariant,
        causal_lower_right,
        causal_upper_left,
    )

    upper = causal_upper_left(q_len, kv_len)
    if q_len > kv_len:
        with pytest.warns(UserWarning, match="will produce NaNs"):
            lower = causal_lower_right(q_len, kv_len)
    else:
        lower = causal_lower_right(q_len, kv_len)
    i, j = np.indices((q_len, kv_len))
    assert to_np(upper._materialize()).tolist() == (j <= i).tolist()
    assert to_np(lower._materialize()).tolist() == (j <= i + kv_len - q_len).tolist()
    assert isinstance(upper, CausalBias) and isinstance(upper, rtorch.Tensor)
    assert upper.variant == CausalVariant.UPPER_LEFT and lower.variant == CausalVariant.LOWER_RIGHT
    assert (upper.seq_len_q, upper.seq_len_kv) == (q_len, kv_len)
    assert type(lower._materialize()) is rtorch.Tensor
    q, k, v = rt(rnd(1, 2, q_len, 4)), rt(rnd(1, 2, kv_len, 4)), rt(rnd(1, 2, kv_len, 4))
    if q_len <= kv_len:  # (rows with no allowed key give NaN, as in PyTorch)
        with_bias = F.scaled_dot_product_attention(q, k, v, attn_mask=lower)
        with_mask = F.scaled_dot_product_attention(q, k, v, attn_mask=lower._materialize())
        assert_np_close(with_bias, to_np(with_mask))
    if q_len == kv_len:
        causal = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        assert_np_close(F.scaled_dot_product_attention(q, k, v, attn_mask=upper), to_np(causal))
    with pytest.raises(AssertionError, match="only supports 2D"):
        causal_upper_left(2, 3, 4)


def test_causal_bias_parity(torch_ref):
    torch = torch_ref
    from torch.nn.attention import bias as t_bias

    from rtorch.nn.attention import bias

    for name in ("causal_upper_left", "causal_lower_right"):
        for size in ((3, 5), (4, 4), (5, 3)):
            with warnings.catch_warnings(record=True) as ours_warned:
                warnings.simplefilter("always")
                ours = getattr(bias, name)(*size)._materialize()
            with warnings.catch_warnings(record=True) as theirs_warned:
                warnings.simplefilter("always")
                theirs = getattr(t_bias, name)(*size)._materialize()
            assert [str(w.message) for w in ours_warned] == [str(w.message) for w in theirs_warned]
            assert to_np(ours).tolist() == theirs.tolist()
    q, k = rt(rnd(1, 2, 3, 4)), rt(rnd(1, 2, 5, 4))
    ours = F.scaled_dot_product_attention(q, k, k, attn_mask=bias.causal_lower_right(3, 5))
    tq, tk = torch.tensor(to_np(q)), torch.tensor(to_np(k))
    theirs = torch.nn.functional.scaled_dot_product_attention(
        tq, tk, tk, attn_mask=t_bias.causal_lower_right(3, 5)
    )
    np.testing.assert_allclose(to_np(ours), theirs.numpy(), rtol=1e-10, atol=1e-10)
    assert [int(v) for v in bias.CausalVariant] == [int(v) for v in t_bias.CausalVariant]
