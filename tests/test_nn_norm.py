"""nn normalization: batch/instance/layer/group/local-response norm and normalize."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
from conftest import assert_np_close, to_np
from nn_layers_parity import compare, rtorch_results, torch_results

import rtorch
import rtorch.nn.functional as F
from rtorch import nn
from rtorch.autograd import gradcheck

RNG = np.random.RandomState(2)


def t64(shape, requires_grad=False):
    return rtorch.tensor(RNG.randn(*shape), dtype=rtorch.float64, requires_grad=requires_grad)


def np_norm(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)  # biased, as PyTorch normalises with
    return (x - mean) / np.sqrt(var + eps)


def test_batch_norm_training_normalises_and_updates_running_stats():
    x = t64((4, 3, 5, 2))
    w, b = t64((3,)), t64((3,))
    rm, rv = t64((3,)), t64((3,)).abs()
    rm0, rv0 = to_np(rm), to_np(rv)
    out = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.2, eps=1e-3)
    xn = to_np(x)
    ref = np_norm(xn, (0, 2, 3), 1e-3) * to_np(w).reshape(1, 3, 1, 1) + to_np(b).reshape(1, 3, 1, 1)
    assert_np_close(out, ref)
    n = 4 * 5 * 2
    assert_np_close(rm, 0.8 * rm0 + 0.2 * xn.mean(axis=(0, 2, 3)))
    # running_var takes the unbiased batch variance.
    assert_np_close(rv, 0.8 * rv0 + 0.2 * xn.var(axis=(0, 2, 3)) * n / (n - 1))


def test_batch_norm_eval_uses_running_stats():
    x, w, b = t64((5, 3)), t64((3,)), t64((3,))
    rm, rv = t64((3,)), t64((3,)).abs()
    out = F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-5)
    ref = (to_np(x) - to_np(rm)) / np.sqrt(to_np(rv) + 1e-5) * to_np(w) + to_np(b)
    assert_np_close(out, ref)
    noaff = F.batch_norm(x, rm, rv)
    assert_np_close(noaff, (to_np(x) - to_np(rm)) / np.sqrt(to_np(rv) + 1e-5))


def test_norm_gradchecks():
    x = t64((4, 3, 2), True)
    w, b = t64((3,), True), t64((3,), True)
    assert gradcheck(lambda a, c, d: F.batch_norm(a, None, None, c, d, True), (x, w, b))
    rm, rv = t64((3,)), t64((3,)).abs() + 0.5
    assert gradcheck(lambda a, c, d: F.batch_norm(a, rm, rv, c, d, False), (x, w, b))
    assert gradcheck(lambda a, c, d: F.instance_norm(a, weight=c, bias=d), (x, w, b))
    lw, lb = t64((3, 2), True), t64((3, 2), True)
    assert gradcheck(lambda a, c, d: F.layer_norm(a, (3, 2), c, d), (x, lw, lb))
    gw, gb = t64((4,), True), t64((4,), True)
    assert gradcheck(lambda a, c, d: F.group_norm(a, 2, c, d), (t64((2, 4, 3), True), gw, gb))
    assert gradcheck(lambda a: F.local_response_norm(a, 3), (t64((2, 5, 3), True),))
    assert gradcheck(lambda a: F.normalize(a, dim=-1), (t64((3, 4), True),))


def test_layer_group_instance_norm_match_numpy():
    x = t64((4, 3, 5))
    w, b = t64((3, 5)), t64((3, 5))
    assert_np_close(
        F.layer_norm(x, (3, 5), w, b), np_norm(to_np(x), (1, 2), 1e-5) * to_np(w) + to_np(b)
    )
    assert_np_close(F.layer_norm(x, (5,), eps=1e-3), np_norm(to_np(x), (2,), 1e-3))
    g = t64((4, 6, 5, 2))
    gw, gb = t64((6,)), t64((6,))
    ref = np_norm(to_np(g).reshape(4, 3, -1), (2,), 1e-5).reshape(4, 6, 5, 2)
    ref = ref * to_np(gw).reshape(1, 6, 1, 1) + to_np(gb).reshape(1, 6, 1, 1)
    assert_np_close(F.group_norm(g, 3, gw, gb), ref)
    assert_np_close(F.instance_norm(g), np_norm(to_np(g), (2, 3), 1e-5))
    # Non-contiguous input.
    xt = t64((5, 3, 4)).permute(2, 1, 0)
    assert_np_close(F.layer_norm(xt, (5,)), np_norm(to_np(xt), (2,), 1e-5))


def test_instance_norm_running_stats_average_over_batch():
    x = t64((3, 2, 5))
    rm, rv = rtorch.zeros(2, dtype=rtorch.float64), rtorch.ones(2, dtype=rtorch.float64)
    F.instance_norm(x, rm, rv, use_input_stats=True, momentum=0.2)
    xn = to_np(x)
    assert_np_close(rm, 0.2 * xn.mean(axis=2).mean(axis=0))
    assert_np_close(rv, 0.8 + 0.2 * xn.var(axis=2, ddof=1).mean(axis=0))
    out = F.instance_norm(x, rm, rv, use_input_stats=False)
    assert_np_close(out, (xn - to_np(rm)[:, None]) / np.sqrt(to_np(rv)[:, None] + 1e-5))


def test_normalize_and_local_response_norm():
    x = t64((4, 3, 5))
    n = np.sqrt((to_np(x) ** 2).sum(axis=1, keepdims=True))
    assert_np_close(F.normalize(x), to_np(x) / n)
    n1 = np.abs(to_np(x)).sum(axis=-1, keepdims=True)
    assert_np_close(F.normalize(x, p=1.0, dim=-1), to_np(x) / n1)
    assert_np_close(F.normalize(rtorch.zeros(2, 3, dtype=rtorch.float64)), np.zeros((2, 3)))
    a = t64((2, 6, 3, 4))
    sq = np.pad(to_np(a) ** 2, ((0, 0), (2, 1), (0, 0), (0, 0)))
    div = np.stack([sq[:, c : c + 4].mean(axis=1) for c in range(6)], axis=1)
    ref = to_np(a) / (2.0 + 0.1 * div) ** 0.5
    assert_np_close(F.local_response_norm(a, 4, alpha=0.1, beta=0.5, k=2.0), ref)


def test_batchnorm_module_train_eval_and_buffers():
    m = nn.BatchNorm2d(3)
    assert [(k, tuple(v.shape), v.dtype) for k, v in m.state_dict().items()] == [
        ("weight", (3,), rtorch.float32),
        ("bias", (3,), rtorch.float32),
        ("running_mean", (3,), rtorch.float32),
        ("running_var", (3,), rtorch.float32),
        ("num_batches_tracked", (), rtorch.int64),
    ]
    np.testing.assert_array_equal(to_np(m.weight), np.ones(3))
    np.testing.assert_array_equal(to_np(m.bias), np.zeros(3))
    x = rtorch.tensor(RNG.randn(4, 3, 2, 2) * 3 + 1, dtype=rtorch.float32)
    y = m(x)
    assert int(m.num_batches_tracked) == 1
    assert_np_close(y, np_norm(to_np(x), (0, 2, 3), 1e-5), rtol=1e-5, atol=1e-5)
    assert_np_close(m.running_mean, 0.1 * to_np(x).mean(axis=(0, 2, 3)), rtol=1e-5, atol=1e-6)
    m.eval()
    y_eval = m(x)
    ref = (to_np(x) - to_np(m.running_mean).reshape(1, 3, 1, 1)) / np.sqrt(
        to_np(m.running_var).reshape(1, 3, 1, 1) + 1e-5
    )
    assert_np_close(y_eval, ref, rtol=1e-5, atol=1e-5)
    assert int(m.num_batches_tracked) == 1
    assert (
        repr(m)
        == "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    )


def test_batchnorm_momentum_none_is_cumulative_average():
    m = nn.BatchNorm1d(2, momentum=None, dtype=rtorch.float64)
    xs = [t64((5, 2)) for _ in range(3)]
    for x in xs:
        m(x)
    mean = np.mean([to_np(x).mean(axis=0) for x in xs], axis=0)
    assert_np_close(m.running_mean, mean)
    assert int(m.num_batches_tracked) == 3


def test_batchnorm_without_running_stats_and_affine():
    m = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(m.state_dict()) == [] and m.running_mean is None
    m.eval()  # no running stats: batch statistics in eval too
    x = t64((6, 3, 4))
    assert_np_close(m(x), np_norm(to_np(x), (0, 2), 1e-5))
    assert (
        repr(m)
        == "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False)"
    )


def test_batchnorm_loads_checkpoint_without_num_batches_tracked():
    m = nn.BatchNorm1d(2)
    sd = OrderedDict((k, v) for k, v in m.state_dict().items() if k != "num_batches_tracked")
    sd._metadata = OrderedDict({"": {"version": 1}})
    result = m.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []


def test_norm_module_errors():
    with pytest.raises(ValueError, match=r"^expected 2D or 3D input \(got 4D input\)$"):
        nn.BatchNorm1d(3)(rtorch.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"^expected 4D input \(got 3D input\)$"):
        nn.BatchNorm2d(3)(rtorch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(rtorch.randn(1, 3))
    with pytest.raises(
        RuntimeError,
        match=r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\], but got input of size\[2, 3\]",
    ):
        nn.LayerNorm(4)(rtorch.randn(2, 3))
    with pytest.raises(
        RuntimeError, match="Expected number of channels in input to be divisible by num_groups"
    ):
        F.group_norm(rtorch.randn(2, 3, 4), 2)
    with pytest.raises(ValueError, match="expected input's size at dim=1 to match num_features"):
        nn.InstanceNorm1d(3, affine=True)(rtorch.randn(2, 4, 5))
    with pytest.raises(ValueError, match="num_channels must be divisible by num_groups"):
        nn.GroupNorm(2, 3)


def test_other_norm_modules():
    ln = nn.LayerNorm((2, 3), bias=False)
    assert list(ln.state_dict()) == ["weight"]
    assert repr(ln) == "LayerNorm((2, 3), eps=1e-05, elementwise_affine=True, bias=False)"
    assert (
        repr(nn.LayerNorm(10)) == "LayerNorm((10,), eps=1e-05, elementwise_affine=True, bias=True)"
    )
    gn = nn.GroupNorm(2, 4)
    assert repr(gn) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"
    x = t64((2, 4, 3))
    assert_np_close(
        gn.double()(x), np_norm(to_np(x).reshape(2, 2, -1), (2,), 1e-5).reshape(2, 4, 3)
    )
    inorm = nn.InstanceNorm2d(3)
    assert (
        repr(inorm)
        == "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False)"
    )
    u = t64((3, 4, 5))  # unbatched
    assert_np_close(inorm(u), np_norm(to_np(u), (1, 2), 1e-5))
    tr = nn.InstanceNorm1d(2, track_running_stats=True)
    assert list(tr.state_dict()) == ["running_mean", "running_var", "num_batches_tracked"]
    assert repr(nn.LocalResponseNorm(2)) == "LocalResponseNorm(2, alpha=0.0001, beta=0.75, k=1.0)"


def test_rms_norm_and_3d_norms():
    x = t64((4, 3, 5))
    w = t64((5,))
    xn = to_np(x)
    ref = xn / np.sqrt((xn**2).mean(axis=-1, keepdims=True) + 1e-6) * to_np(w)
    assert_np_close(F.rms_norm(x, (5,), w, eps=1e-6), ref)
    # eps defaults to the dtype's machine epsilon.
    ref_eps = xn / np.sqrt((xn**2).mean(axis=(1, 2), keepdims=True) + np.finfo(np.float64).eps)
    assert_np_close(F.rms_norm(x, (3, 5)), ref_eps)
    assert gradcheck(lambda a, c: F.rms_norm(a, (5,), c), (t64((3, 5), True), t64((5,), True)))
    m = nn.RMSNorm([3, 5])
    assert repr(m) == "RMSNorm((3, 5), eps=None, elementwise_affine=True)"
    assert list(m.state_dict()) == ["weight"]
    np.testing.assert_array_equal(to_np(m.weight), np.ones((3, 5)))
    with pytest.raises(
        RuntimeError, match=r"expected input with shape \[\*4\], but got input of size\[2, 3\]"
    ):
        F.rms_norm(rtorch.randn(2, 3), (4,))
    with pytest.raises(NotImplementedError, match="\"rms_norm\" not implemented for 'Long'"):
        F.rms_norm(rtorch.ones(2, 4, dtype=rtorch.int64), (4,))
    b3 = nn.BatchNorm3d(3).double()
    v = t64((2, 3, 2, 3, 2))
    assert_np_close(b3(v), np_norm(to_np(v), (0, 2, 3, 4), 1e-5))
    with pytest.raises(ValueError, match=r"expected 5D input \(got 3D input\)"):
        b3(t64((2, 3, 4)))
    assert_np_close(nn.InstanceNorm3d(3)(v), np_norm(to_np(v), (2, 3, 4), 1e-5))


PARITY = r"""
def mk(torch, np, shape, seed, rg=True):
    t = torch.from_numpy(np.random.RandomState(seed).randn(*shape))
    return t.requires_grad_() if rg else t

def bn(training, xs=(4, 3, 5, 2)):
    def f(torch, F, nn, np):
        x = mk(torch, np, xs, 0); w = mk(torch, np, (3,), 1); b = mk(torch, np, (3,), 2)
        rm = mk(torch, np, (3,), 4, False); rv = mk(torch, np, (3,), 5, False).abs()
        y = F.batch_norm(x, rm, rv, w, b, training, 0.3)
        (y * mk(torch, np, tuple(y.shape), 3, False)).sum().backward()
        return [y, rm, rv, x.grad, w.grad, b.grad]
    return f

def gen(fn, xs, *a, wshape=None, **kw):
    def f(torch, F, nn, np):
        x = mk(torch, np, xs, 0)
        extra = []
        if wshape is not None:
            w = mk(torch, np, wshape, 1); b = mk(torch, np, wshape, 2); extra = [w, b]
            kw2 = dict(kw, weight=w, bias=b)
        else:
            kw2 = kw
        y = getattr(F, fn)(x, *a, **kw2)
        (y * mk(torch, np, tuple(y.shape), 3, False)).sum().backward()
        return [y, x.grad] + [e.grad for e in extra]
    return f

def module_steps(torch, F, nn, np):
    m = nn.BatchNorm2d(3, momentum=None).double()
    outs = []
    for s in range(3):
        outs.append(m(mk(torch, np, (2, 3, 2, 2), s, False)))
    m.eval()
    outs.append(m(mk(torch, np, (2, 3, 2, 2), 9, False)))
    return outs + [m.running_mean, m.running_var, m.num_batches_tracked]

CASES = {
    "bn_train": bn(True), "bn_eval": bn(False), "bn_3d": bn(True, (4, 3, 6)),
    "ln": gen("layer_norm", (4, 3, 5), (3, 5), wshape=(3, 5)),
    "gn": gen("group_norm", (4, 6, 5, 2), 3, wshape=(6,)),
    "in": gen("instance_norm", (2, 3, 4, 5)),
    "lrn": gen("local_response_norm", (2, 6, 3, 4), 4, alpha=0.1, beta=0.5, k=2.0),
    "normalize": gen("normalize", (4, 3, 5), p=3.0),
    "module": module_steps,
    "rms": gen("rms_norm", (4, 3, 5), (3, 5), wshape=None),
    "e1": lambda torch, F, nn, np: F.batch_norm(torch.randn(4, 3), torch.zeros(2), torch.ones(2)),
    "e2": lambda torch, F, nn, np: F.layer_norm(torch.randn(2, 3), (3,), torch.ones(4)),
    "e3": lambda torch, F, nn, np: F.instance_norm(torch.randn(1, 3, 1)),
}
"""


def test_parity_with_pytorch():
    theirs = torch_results(PARITY)
    if theirs is None:
        pytest.skip("PyTorch is not installed")
    assert compare(rtorch_results(PARITY), theirs) == []
