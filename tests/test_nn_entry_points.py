"""The ``torch.*`` entry points of nn functions (rtorch._nn_entry_points): each against the
nn.functional result it must equal, the tuple extras (saved statistics, masks, bag
bookkeeping) against numpy in float64, error paths, and parity with PyTorch."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import assert_np_close, to_np

import rtorch
import rtorch.nn.functional as F
from rtorch import nn
from rtorch.autograd import gradcheck

RNG = np.random.default_rng(1234)


def rnd(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def rt(a, dtype=rtorch.float64, requires_grad: bool = False) -> rtorch.Tensor:
    return rtorch.tensor(np.asarray(a), dtype=dtype, requires_grad=requires_grad)


def to_torch(torch, t):
    """An rtorch tensor (or None, or a list of them) as a PyTorch one, same dtype."""
    if t is None:
        return None
    if isinstance(t, (list, tuple)):
        return [to_torch(torch, x) for x in t]
    name = str(t.dtype).rsplit(".", 1)[-1]
    return torch.tensor(to_np(t), dtype=getattr(torch, name))


def assert_same(torch, ours, theirs, rtol=1e-10, atol=1e-10) -> None:
    """rtorch result(s) equal PyTorch's: structure, shapes, dtypes and values."""
    if not isinstance(ours, (tuple, list)):
        ours, theirs = (ours,), (theirs,)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        if b is None:
            assert a is None
            continue
        assert str(a.dtype).rsplit(".", 1)[-1] == str(b.dtype).rsplit(".", 1)[-1]
        assert tuple(a.shape) == tuple(b.shape)
        expected = b.detach().double().numpy() if b.is_floating_point() else b.numpy()
        np.testing.assert_allclose(to_np(a.detach()), expected, rtol=rtol, atol=atol)


# --- losses ----------------------------------------------------------------------------

REDUCTIONS = [(0, "none"), (1, "mean"), (2, "sum")]


def _loss_cases():
    lp = np.log(np.abs(rnd(4, 5)) + 0.1)
    pos = np.abs(rnd(4, 5))
    x1, x2, x3 = rnd(4, 5), rnd(4, 5), rnd(4, 5)
    sign4 = np.sign(rnd(4)) + (np.sign(rnd(4)) == 0)
    sign45 = np.where(rnd(4, 5) > 0, 1.0, -1.0)
    return [
        ("kl_div", (lp, pos), {}, lambda a, r: F.kl_div(*a, reduction="sum") / a[0].numel()
         if r == "mean" else F.kl_div(*a, reduction=r)),
        ("cosine_embedding_loss", (x1, x2, sign4), {"margin": 0.1},
         lambda a, r: F.cosine_embedding_loss(*a, margin=0.1, reduction=r)),
        ("hinge_embedding_loss", (x1, sign45), {"margin": 0.5},
         lambda a, r: F.hinge_embedding_loss(*a, margin=0.5, reduction=r)),
        ("margin_ranking_loss", (x1, x2, sign45), {"margin": 0.2},
         lambda a, r: F.margin_ranking_loss(*a, margin=0.2, reduction=r)),
        ("triplet_margin_loss", (x1, x2, x3), {"margin": 1.0, "p": 2.0, "eps": 1e-6,
                                               "swap": True},
         lambda a, r: F.triplet_margin_loss(*a, swap=True, reduction=r)),
        ("binary_cross_entropy_with_logits", (x1, pos / 4), {},
         lambda a, r: F.binary_cross_entropy_with_logits(*a, reduction=r)),
    ]  # fmt: skip


@pytest.mark.parametrize("code,name", REDUCTIONS)
def test_losses_equal_functional_with_int_reduction(code, name):
    for fn_name, arrays, kwargs, reference in _loss_cases():
        args = [rt(a) for a in arrays]
        got = getattr(rtorch, fn_name)(*args, **kwargs, reduction=code)
        assert_np_close(got, to_np(reference(args, name)))


def test_kl_div_against_closed_form():
    lp = np.log(np.abs(rnd(3, 4)) + 0.1)
    y = np.abs(rnd(3, 4))
    y[0, 0] = 0.0  # 0 log 0 = 0
    pointwise = np.where(y > 0, y * (np.log(np.where(y > 0, y, 1)) - lp), 0.0)
    assert_np_close(rtorch.kl_div(rt(lp), rt(y), 0), pointwise)
    assert_np_close(rtorch.kl_div(rt(lp), rt(y)), pointwise.mean())
    assert_np_close(rtorch.kl_div(rt(lp), rt(y), 2), pointwise.sum())
    lt = np.log(np.abs(rnd(3, 4)) + 0.1)
    assert_np_close(rtorch.kl_div(rt(lp), rt(lt), 0, log_target=True), np.exp(lt) * (lt - lp))


def test_kl_div_mean_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rtorch.kl_div(rt(rnd(2, 3)), rt(np.abs(rnd(2, 3))), 1)


def test_loss_reduction_codes_and_errors():
    x, y = rt(rnd(3)), rt(np.abs(rnd(3)))
    # Every int other than 1 and 2 is "none" in ATen.
    assert rtorch.kl_div(x, y, 7).shape == (3,)
    with pytest.raises(TypeError, match="must be int, not str"):
        rtorch.kl_div(x, y, "mean")
    with pytest.raises(TypeError):
        rtorch.poisson_nll_loss(x, y)  # every argument is required


def test_poisson_nll_loss_closed_form():
    x, y = rnd(6), np.abs(rnd(6)) * 3
    full = (
        np.exp(x)
        - y * x
        + np.where(
            y > 1,
            y * np.log(np.where(y > 0, y, 1)) - y + 0.5 * np.log(2 * np.pi * np.maximum(y, 1)),
            0,
        )
    )
    assert_np_close(rtorch.poisson_nll_loss(rt(x), rt(y), True, True, 1e-8, 0), full)
    rate = np.abs(x)
    assert_np_close(
        rtorch.poisson_nll_loss(rt(rate), rt(y), False, False, 1e-8, 2),
        (rate - y * np.log(rate + 1e-8)).sum(),
    )


def test_bce_with_logits_weight_and_pos_weight_order():
    x, y, w, pw = rnd(4, 3), np.abs(rnd(4, 3)) / 3, np.abs(rnd(4, 3)), np.abs(rnd(3))
    got = rtorch.binary_cross_entropy_with_logits(rt(x), rt(y), rt(w), rt(pw), 0)
    log_sig = -np.logaddexp(0, -x)
    log_one_minus = -np.logaddexp(0, x)
    expected = -w * (pw * y * log_sig + (1 - y) * log_one_minus)
    assert_np_close(got, expected)


def test_ctc_loss_int_reduction_equals_functional():
    lp = rtorch.tensor(rnd(6, 2, 4)).log_softmax(2)
    targets = rtorch.tensor([[1, 2, 1], [3, 1, 0]])
    for code, name in REDUCTIONS:
        got = rtorch.ctc_loss(lp, targets, [6, 5], [3, 2], 0, code, False)
        ref = F.ctc_loss(lp, targets, [6, 5], [3, 2], 0, name, False)
        assert_np_close(got, to_np(ref))
        got_t = rtorch.ctc_loss(lp, targets, rtorch.tensor([6, 5]), rtorch.tensor([3, 2]), 0, code)
        assert_np_close(got_t, to_np(ref))


def test_loss_gradients_float64():
    x = rt(rnd(3, 4), requires_grad=True)
    y = rt(np.abs(rnd(3, 4)))
    assert gradcheck(lambda a: rtorch.kl_div(a, y, 1), (x,))
    t = rt(np.where(rnd(3, 4) > 0, 1.0, -1.0))
    assert gradcheck(lambda a: rtorch.hinge_embedding_loss(a, t, 0.7, 2), (x,))
    z = rt(rnd(3, 4), requires_grad=True)
    target = rt(np.sign(rnd(3)) + 0.0)
    assert gradcheck(lambda a, b: rtorch.cosine_embedding_loss(a, b, target, 0.1, 1), (x, z))


def test_losses_parity(torch_ref):
    torch = torch_ref
    for fn_name, arrays, kwargs, _ in _loss_cases():
        for code, _name in REDUCTIONS:
            args = [rt(a) for a in arrays]
            ours = getattr(rtorch, fn_name)(*args, **kwargs, reduction=code)
            theirs = getattr(torch, fn_name)(*to_torch(torch, args), **kwargs, reduction=code)
            assert_same(torch, ours, theirs)
    x, y = rt(rnd(5)), rt(np.abs(rnd(5)) * 2)
    for log_input, full in ((True, True), (False, False), (True, False)):
        a = x if log_input else x.abs()
        for code in (0, 1, 2):
            ours = rtorch.poisson_nll_loss(a, y, log_input, full, 1e-8, code)
            theirs = torch.poisson_nll_loss(*to_torch(torch, [a, y]), log_input, full, 1e-8, code)
            assert_same(torch, ours, theirs)
    x, y, w, pw = (rt(a) for a in (rnd(4, 3), np.abs(rnd(4, 3)) / 3, np.abs(rnd(4, 3)),
                                    np.abs(rnd(3))))  # fmt: skip
    for code in (0, 1, 2):
        ours = rtorch.binary_cross_entropy_with_logits(x, y, w, pw, code)
        theirs = torch.binary_cross_entropy_with_logits(*to_torch(torch, [x, y, w, pw]), code)
        assert_same(torch, ours, theirs)
    lp = rtorch.tensor(rnd(6, 2, 4)).log_softmax(2)
    targets = rtorch.tensor([[1, 2, 1], [3, 1, 0]])
    for code in (0, 1, 2):
        ours = rtorch.ctc_loss(lp, targets, [6, 5], [3, 2], 0, code, False)
        theirs = torch.ctc_loss(*to_torch(torch, [lp, targets]), [6, 5], [3, 2], 0, code, False)
        assert_same(torch, ours, theirs)
    with pytest.raises(TypeError):
        torch.kl_div(*to_torch(torch, [x, y]), "mean")


# --- embedding_bag ---------------------------------------------------------------------


def _bag_reference(weight, indices, offsets, mode, include_last_offset, pad):
    """numpy: output, offset2bag, bag_size, max_indices by explicit loops."""
    n = len(indices)
    starts = list(offsets[:-1] if include_last_offset else offsets)
    ends = [*starts[1:], n] if not include_last_offset else list(offsets[1:])
    if include_last_offset:
        ends[-1] = n
    out = np.zeros((len(starts), weight.shape[1]))
    offset2bag = np.zeros(n, dtype=np.int64)
    bag_size = np.zeros(len(starts), dtype=np.int64)
    max_idx = np.zeros((len(starts), weight.shape[1]), dtype=np.int64)
    for b, (s, e) in enumerate(zip(starts, ends)):
        offset2bag[s:e] = b
        rows = [i for i in indices[s:e] if i != pad]
        bag_size[b] = len(rows)
        if not rows:
            continue
        vals = weight[rows]
        if mode == 0:
            out[b] = vals.sum(0)
        elif mode == 1:
            out[b] = vals.mean(0)
        else:
            out[b] = vals.max(0)
            max_idx[b] = np.array(rows)[vals.argmax(0)]
    return out, offset2bag, bag_size, max_idx


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("include_last_offset", [False, True])
@pytest.mark.parametrize("pad", [None, 2])
def test_embedding_bag_tuple_against_numpy(mode, include_last_offset, pad):
    weight = rnd(10, 3)
    indices = np.array([1, 2, 4, 5, 4, 3, 2, 9, 2])
    offsets = np.array([0, 4, 4, 6] + ([9] if include_last_offset else []))
    w, idx, off = rt(weight), rtorch.tensor(indices), rtorch.tensor(offsets)
    out, offset2bag, bag_size, max_indices = rtorch.embedding_bag(
        w, idx, off, False, mode, False, None, include_last_offset, pad
    )
    ref = _bag_reference(weight, indices, offsets, mode, include_last_offset, pad)
    assert_np_close(out, ref[0])
    expected_out = F.embedding_bag(
        idx, w, off, mode=("sum", "mean", "max")[mode], include_last_offset=include_last_offset,
        padding_idx=pad,
    )  # fmt: skip
    assert_np_close(out, to_np(expected_out))
    bags = len(offsets) - (1 if include_last_offset else 0)
    if mode == 0:
        # PyTorch's sum kernel: offset2bag only for float64 or with padding_idx; the
        # others are zeros, one per offset.
        assert to_np(offset2bag).tolist() == ref[1].tolist()
        assert to_np(bag_size).tolist() == [0] * len(offsets)
        assert to_np(max_indices).tolist() == [0] * len(offsets)
    else:
        assert to_np(offset2bag).tolist() == ref[1].tolist()
        assert to_np(bag_size).tolist() == ref[2].tolist()
        if mode == 1:
            assert to_np(max_indices).tolist() == ref[2].tolist()
        else:
            assert max_indices.shape == (bags, 3)
            assert to_np(max_indices).tolist() == ref[3].tolist()
    for t in (offset2bag, bag_size, max_indices):
        assert t.dtype == rtorch.int64


def test_embedding_bag_sum_fast_path_offset2bag_is_empty_in_float32():
    w = rtorch.randn(10, 3)
    r = rtorch.embedding_bag(w, rtorch.tensor([1, 2, 3]), rtorch.tensor([0, 1]), False, 0)
    assert r[1].shape == (0,)
    r = rtorch.embedding_bag(w, rtorch.tensor([1, 2, 3]), rtorch.tensor([0, 1]), False, 0,
                             False, None, False, 2)  # fmt: skip
    assert to_np(r[1]).tolist() == [0, 1, 1]


def test_embedding_bag_int32_indices_and_errors():
    w = rt(rnd(6, 2))
    r = rtorch.embedding_bag(
        w, rtorch.tensor([1, 5, 0], dtype=rtorch.int32), rtorch.tensor([0, 2], dtype=rtorch.int32),
        False, 2,
    )  # fmt: skip
    assert all(t.dtype == rtorch.int32 for t in r[1:])
    idx, off = rtorch.tensor([1, 2]), rtorch.tensor([0])
    with pytest.raises(RuntimeError, match="`mode` must be sum, mean, or max"):
        rtorch.embedding_bag(w, idx, off, False, 3)
    with pytest.raises(RuntimeError, match="per_sample_weights only supported"):
        rtorch.embedding_bag(w, idx, off, False, 1, False, rtorch.ones(2, dtype=rtorch.float64))


def test_embedding_bag_gradient_and_per_sample_weights():
    w = rt(rnd(6, 2), requires_grad=True)
    idx, off = rtorch.tensor([1, 5, 0, 1]), rtorch.tensor([0, 2])
    psw = rt(rnd(4), requires_grad=True)
    assert gradcheck(
        lambda a, b: rtorch.embedding_bag(a, idx, off, False, 0, False, b)[0], (w, psw)
    )
    out = rtorch.embedding_bag(w, idx, off, False, 1)
    assert out[0].requires_grad and not out[3].requires_grad


def test_embedding_bag_parity(torch_ref):
    torch = torch_ref
    indices = rtorch.tensor([1, 2, 4, 5, 4, 3, 2, 9, 2])
    for dtype in (rtorch.float32, rtorch.float64):
        w = rt(rnd(10, 3), dtype)
        for mode in (0, 1, 2):
            for ilo in (False, True):
                off = rtorch.tensor([0, 4, 4, 6] + ([9] if ilo else []))
                for pad in (None, 2):
                    ours = rtorch.embedding_bag(w, indices, off, False, mode, False, None, ilo, pad)
                    theirs = torch.embedding_bag(
                        *to_torch(torch, [w, indices, off]), False, mode, False, None, ilo, pad
                    )
                    assert_same(torch, ours, theirs, rtol=1e-6, atol=1e-6)


def test_embedding_renorm_against_numpy_and_parity(torch_ref):
    torch = torch_ref
    base = rnd(8, 3) * 3
    w = rt(base)
    idx = rtorch.tensor([1, 1, 3, 7])
    assert rtorch.embedding_renorm_(w, idx, 1.5, 2.0) is w
    expected = base.copy()
    for i in (1, 3, 7):
        norm = np.linalg.norm(base[i])
        if norm > 1.5:
            expected[i] = base[i] * 1.5 / (norm + 1e-7)
    assert_np_close(w, expected)
    tw = torch.tensor(base)
    torch.embedding_renorm_(tw, torch.tensor([1, 1, 3, 7]), 1.5, 2.0)
    assert_same(torch, w, tw)
    with pytest.raises(RuntimeError, match="'indices'"):
        rtorch.embedding_renorm_(w, idx.double(), 1.0, 2.0)


# --- normalization ---------------------------------------------------------------------


def test_instance_norm_entry_point():
    x, w, b = rnd(2, 3, 5), rnd(3), rnd(3)
    got = rtorch.instance_norm(rt(x), rt(w), rt(b), None, None, True, 0.1, 1e-5, False)
    mean = x.mean(2, keepdims=True)
    var = x.var(2, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * w[:, None] + b[:, None]
    assert_np_close(got, expected)
    rm, rv = rtorch.zeros(3, dtype=rtorch.float64), rtorch.ones(3, dtype=rtorch.float64)
    rtorch.instance_norm(rt(x), None, None, rm, rv, True, 0.1, 1e-5, False)
    assert_np_close(rm, 0.1 * mean[..., 0].mean(0))


def _layer_norm_reference(x, k, eps):
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = x.mean(axes, keepdims=True)
    rstd = 1 / np.sqrt(x.var(axes, keepdims=True) + eps)
    return (x - mean) * rstd, mean, rstd


@pytest.mark.parametrize("shape,k", [((4, 3, 5), 1), ((4, 3, 5), 2), ((2, 0, 4), 1), ((6,), 1)])
def test_native_layer_norm_statistics(shape, k):
    x = rnd(*shape)
    w, b = rnd(*shape[len(shape) - k :]), rnd(*shape[len(shape) - k :])
    out, mean, rstd = rtorch.native_layer_norm(rt(x), list(shape[len(shape) - k :]), rt(w),
                                               rt(b), 1e-5)  # fmt: skip
    norm, ref_mean, ref_rstd = _layer_norm_reference(x, k, 1e-5)
    assert_np_close(out, norm * w + b)
    assert_np_close(mean, ref_mean)
    assert_np_close(rstd, ref_rstd)
    assert_np_close(
        out, to_np(F.layer_norm(rt(x), list(shape[len(shape) - k :]), rt(w), rt(b), 1e-5))
    )


def test_native_layer_norm_dtypes_grad_and_errors():
    x32 = rtorch.randn(3, 4)
    assert [t.dtype for t in rtorch.native_layer_norm(x32, [4], None, None, 1e-5)] == [
        rtorch.float32
    ] * 3
    xb = rtorch.randn(3, 4).bfloat16()
    assert all(t.dtype == rtorch.bfloat16 for t in rtorch.native_layer_norm(xb, [4], None, None,
                                                                              1e-5))  # fmt: skip
    x = rt(rnd(3, 4), requires_grad=True)
    w, b = rt(rnd(4), requires_grad=True), rt(rnd(4), requires_grad=True)
    out = rtorch.native_layer_norm(x, [4], w, b, 1e-5)
    assert out[0].requires_grad and not out[1].requires_grad and not out[2].requires_grad
    assert gradcheck(lambda a, c, d: rtorch.native_layer_norm(a, [4], c, d, 1e-5)[0], (x, w, b))
    with pytest.raises(RuntimeError, match="normalized_shape"):
        rtorch.native_layer_norm(rtorch.randn(2, 6), [5], None, None, 1e-5)


def test_native_group_norm_statistics_and_grad():
    x, w, b = rnd(2, 6, 4, 4), rnd(6), rnd(6)
    out, mean, rstd = rtorch.native_group_norm(rt(x), rt(w), rt(b), 2, 6, 16, 3, 1e-5)
    grouped = x.reshape(2, 3, -1)
    ref_mean = grouped.mean(2)
    ref_rstd = 1 / np.sqrt(grouped.var(2) + 1e-5)
    assert_np_close(mean, ref_mean)
    assert_np_close(rstd, ref_rstd)
    norm = ((grouped - ref_mean[..., None]) * ref_rstd[..., None]).reshape(x.shape)
    assert_np_close(out, norm * w[:, None, None] + b[:, None, None])
    assert_np_close(out, to_np(F.group_norm(rt(x), 3, rt(w), rt(b), 1e-5)))
    xg = rt(rnd(2, 4, 3), requires_grad=True)
    r = rtorch.native_group_norm(xg, None, None, 2, 4, 3, 2, 1e-5)
    assert r[1].requires_grad and r[2].requires_grad  # as PyTorch's
    assert gradcheck(lambda a: rtorch.native_group_norm(a, None, None, 2, 4, 3, 2, 1e-5)[0], (xg,))
    empty = rtorch.native_group_norm(rtorch.zeros(0, 6, 4), None, None, 0, 6, 4, 3, 1e-5)
    assert [tuple(t.shape) for t in empty] == [(0, 6, 4), (0, 3), (0, 3)]


def test_native_group_norm_errors():
    x = rtorch.randn(2, 6, 4, 4)
    with pytest.raises(RuntimeError, match=r"X.numel\(\) == N \* C \* HxW"):
        rtorch.native_group_norm(x, None, None, 2, 6, 15, 3, 1e-5)
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        rtorch.native_group_norm(x, None, None, 2, 6, 16, 4, 1e-5)


def test_native_batch_norm_training_and_eval():
    x, w, b = rnd(4, 3, 5), rnd(3), rnd(3)
    rm0, rv0 = rnd(3), np.abs(rnd(3)) + 0.5
    rm, rv = rt(rm0), rt(rv0)
    out, save_mean, save_invstd = rtorch.native_batch_norm(rt(x), rt(w), rt(b), rm, rv, True,
                                                           0.2, 1e-5)  # fmt: skip
    mean = x.mean((0, 2))
    var = x.var((0, 2))
    assert_np_close(save_mean, mean)
    assert_np_close(save_invstd, 1 / np.sqrt(var + 1e-5))
    assert_np_close(out, (x - mean[:, None]) / np.sqrt(var[:, None] + 1e-5) * w[:, None]
                    + b[:, None])  # fmt: skip
    assert_np_close(rm, 0.8 * rm0 + 0.2 * mean)
    assert_np_close(rv, 0.8 * rv0 + 0.2 * x.var((0, 2), ddof=1))
    out, m, s = rtorch.native_batch_norm(rt(x), None, None, rm, rv, False, 0.2, 1e-5)
    assert m.shape == (0,) and s.shape == (0,)
    assert_np_close(out, (x - to_np(rm)[:, None]) / np.sqrt(to_np(rv)[:, None] + 1e-5))
    # One value per channel is allowed here (F.batch_norm refuses it in training).
    one = rtorch.native_batch_norm(rtorch.randn(1, 3), None, None, None, None, True, 0.1, 1e-5)
    assert one[0].shape == (1, 3)
    with pytest.raises(ValueError, match="running_mean must be defined in evaluation mode"):
        rtorch.native_batch_norm(rt(x), None, None, None, None, False, 0.1, 1e-5)


def test_batch_norm_update_stats():
    x = rnd(4, 3, 5)
    rm0, rv0 = rnd(3), np.abs(rnd(3))
    rm, rv = rt(rm0), rt(rv0)
    mean, var = rtorch.batch_norm_update_stats(rt(x), rm, rv, 0.3)
    assert_np_close(mean, x.mean((0, 2)))
    assert_np_close(var, x.var((0, 2)))  # biased
    assert_np_close(rm, 0.7 * rm0 + 0.3 * x.mean((0, 2)))
    assert_np_close(rv, 0.7 * rv0 + 0.3 * x.var((0, 2), ddof=1))
    mean, var = rtorch.batch_norm_update_stats(rt(x), None, None, 0.3)
    assert_np_close(var, x.var((0, 2)))


def test_normalization_parity(torch_ref):
    torch = torch_ref
    x, w, b = rt(rnd(4, 3, 5)), rt(rnd(3, 5)), rt(rnd(3, 5))
    for dtype in (rtorch.float64, rtorch.float32):
        xs = x.to(dtype)
        for shape, wb in (([5], (None, None)), ([3, 5], (w.to(dtype), b.to(dtype)))):
            ours = rtorch.native_layer_norm(xs, shape, *wb, 1e-5)
            theirs = torch.native_layer_norm(to_torch(torch, xs), shape, *to_torch(torch, wb),
                                             1e-5)  # fmt: skip
            assert_same(torch, ours, theirs, 1e-5, 1e-5)
    xg, wg, bg = rt(rnd(2, 6, 4, 4)), rt(rnd(6)), rt(rnd(6))
    ours = rtorch.native_group_norm(xg, wg, bg, 2, 6, 16, 3, 1e-5)
    theirs = torch.native_group_norm(*to_torch(torch, [xg, wg, bg]), 2, 6, 16, 3, 1e-5)
    assert_same(torch, ours, theirs)
    wc, bc = rt(rnd(3)), rt(rnd(3))
    stats_r = [rt(rnd(3)), rt(np.abs(rnd(3)))]
    stats_t = to_torch(torch, stats_r)
    for training in (True, False):
        ours = rtorch.native_batch_norm(x, wc, bc, *stats_r, training, 0.1, 1e-5)
        theirs = torch.native_batch_norm(*to_torch(torch, [x, wc, bc]), *stats_t, training, 0.1,
                                         1e-5)  # fmt: skip
        assert_same(torch, ours, theirs)
        assert_same(torch, stats_r, stats_t)
    # One value per channel in training: normalized to zero, the running variance NaN.
    one = rt(rnd(1, 3))
    stats_r1 = [rt(rnd(3)), rt(np.abs(rnd(3)))]
    stats_t1 = to_torch(torch, stats_r1)
    ours = rtorch.native_batch_norm(one, wc, bc, *stats_r1, True, 0.1, 1e-5)
    theirs = torch.native_batch_norm(*to_torch(torch, [one, wc, bc]), *stats_t1, True, 0.1, 1e-5)
    assert_same(torch, ours, theirs)
    assert_same(torch, stats_r1[0], stats_t1[0])
    assert np.isnan(to_np(stats_r1[1])).all() and torch.isnan(stats_t1[1]).all()
    ours = rtorch.batch_norm_update_stats(x, *stats_r, 0.25)
    theirs = torch.batch_norm_update_stats(to_torch(torch, x), *stats_t, 0.25)
    assert_same(torch, ours, theirs)
    assert_same(torch, stats_r, stats_t)
    ours = rtorch.instance_norm(x, wc, bc, None, None, True, 0.1, 1e-5, False)
    theirs = torch.instance_norm(*to_torch(torch, [x, wc, bc]), None, None, True, 0.1, 1e-5,
                                 False)  # fmt: skip
    assert_same(torch, ours, theirs)


# --- the synchronized batch norm primitives --------------------------------------------


def test_sync_batch_norm_forward_pipeline_equals_batch_norm():
    """Two workers with 3 and 5 samples: per-worker stats, gathered with counts, then the
    element-wise normalization equals batch norm over the whole batch, running stats
    included."""
    x = rnd(8, 3, 4)
    w, b = rnd(3), rnd(3)
    parts = [rt(x[:3]), rt(x[3:])]
    stats = [rtorch.batch_norm_stats(p, 1e-5) for p in parts]
    means = rtorch.stack([s[0] for s in stats])
    invstds = rtorch.stack([s[1] for s in stats])
    assert_np_close(stats[0][0], x[:3].mean((0, 2)))
    assert_np_close(stats[1][1], 1 / np.sqrt(x[3:].var((0, 2)) + 1e-5))
    rm, rv = rtorch.zeros(3, dtype=rtorch.float64), rtorch.ones(3, dtype=rtorch.float64)
    counts = rtorch.tensor([3.0 * 4, 5.0 * 4], dtype=rtorch.float64)
    mean, invstd = rtorch.batch_norm_gather_stats_with_counts(
        parts[0], means, invstds, rm, rv, 0.1, 1e-5, counts
    )
    assert_np_close(mean, x.mean((0, 2)))
    assert_np_close(invstd, 1 / np.sqrt(x.var((0, 2)) + 1e-5))
    assert_np_close(rm, 0.1 * x.mean((0, 2)))
    assert_np_close(rv, 0.9 + 0.1 * x.var((0, 2), ddof=1))
    out = rtorch.cat([rtorch.batch_norm_elemt(p, rt(w), rt(b), mean, invstd, 1e-5) for p in parts])
    expected = F.batch_norm(rt(x), None, None, rt(w), rt(b), True, 0.1, 1e-5)
    assert_np_close(out, to_np(expected))
    # Equal counts through the int form.
    halves = [rt(x[:4]), rt(x[4:])]
    st = [rtorch.batch_norm_stats(p, 1e-5) for p in halves]
    m2, i2 = rtorch.batch_norm_gather_stats(
        halves[0], rtorch.stack([s[0] for s in st]), rtorch.stack([s[1] for s in st]), None,
        None, 0.1, 1e-5, 16,
    )  # fmt: skip
    assert_np_close(m2, x.mean((0, 2)))
    assert_np_close(i2, 1 / np.sqrt(x.var((0, 2)) + 1e-5))


def test_sync_batch_norm_backward_equals_autograd():
    x = rnd(6, 3, 4)
    w, b = rnd(3), rnd(3)
    dy = rnd(6, 3, 4)
    xt = rt(x, requires_grad=True)
    wt, bt = rt(w, requires_grad=True), rt(b, requires_grad=True)
    F.batch_norm(xt, None, None, wt, bt, True, 0.1, 1e-5).backward(rt(dy))
    mean, invstd = rtorch.batch_norm_stats(rt(x), 1e-5)
    sum_dy, sum_dy_xmu, grad_w, grad_b = rtorch.batch_norm_backward_reduce(
        rt(dy), rt(x), mean, invstd, rt(w), True, True, True
    )
    assert_np_close(sum_dy, dy.sum((0, 2)))
    assert_np_close(sum_dy_xmu, (dy * (x - x.mean((0, 2))[:, None])).sum((0, 2)))
    assert_np_close(grad_w, to_np(wt.grad))
    assert_np_close(grad_b, to_np(bt.grad))
    # Two workers: each reduces its part, the sums are all-reduced, then elementwise.
    parts = [slice(0, 2), slice(2, 6)]
    reduced = [
        rtorch.batch_norm_backward_reduce(rt(dy[s]), rt(x[s]), mean, invstd, rt(w), True,
                                          False, False)
        for s in parts
    ]  # fmt: skip
    assert reduced[0][2] is None and reduced[0][3] is None
    total_dy = reduced[0][0] + reduced[1][0]
    total_xmu = reduced[0][1] + reduced[1][1]
    count = rtorch.tensor([2 * 4, 4 * 4], dtype=rtorch.int32)
    grads = [
        rtorch.batch_norm_backward_elemt(rt(dy[s]), rt(x[s]), mean, invstd, rt(w), total_dy,
                                         total_xmu, count)
        for s in parts
    ]  # fmt: skip
    assert_np_close(rtorch.cat(grads), to_np(xt.grad))
    none = rtorch.batch_norm_backward_reduce(rt(dy), rt(x), mean, invstd, rt(w), False, True,
                                             False)  # fmt: skip
    assert none[0] is None and none[1] is None and none[3] is None
    assert_np_close(none[2], to_np(wt.grad))


# --- dropout ---------------------------------------------------------------------------


def test_native_dropout_mask_statistics_and_scaling():
    rtorch.manual_seed(0)
    n = 40000
    x = rtorch.randn(n)
    p = 0.3
    out, mask = rtorch.native_dropout(x, p, True)
    assert mask.dtype == rtorch.bool and mask.shape == (n,)
    kept = float(mask.double().mean())
    # Binomial proportion: 5 standard errors.
    assert abs(kept - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)
    expected = np.where(to_np(mask), to_np(x) / (1 - p), 0.0)
    assert_np_close(out, expected, rtol=1e-6, atol=1e-6)
    out, mask = rtorch.native_dropout(x, p, None)  # None means training
    assert not bool(mask.all())
    out, mask = rtorch.native_dropout(x, p, False)
    assert bool(mask.all()) and out is not x
    assert_np_close(out, to_np(x))
    out, mask = rtorch.native_dropout(x, 1.0, True)
    assert not bool(mask.any()) and float(out.abs().sum()) == 0.0
    out, mask = rtorch.native_dropout(x, 0.0, True)
    assert bool(mask.all())
    assert_np_close(out, to_np(x))


def test_native_dropout_errors_and_grad():
    with pytest.raises(RuntimeError):
        rtorch.native_dropout(rtorch.tensor([1, 2, 3]), 0.5, True)
    ints = rtorch.tensor([1, 2, 3])
    out, mask = rtorch.native_dropout(ints, 0.5, False)
    assert out.dtype == rtorch.int64 and bool(mask.all())
    x = rtorch.randn(50, requires_grad=True)
    out, mask = rtorch.native_dropout(x, 0.5, True)
    out.sum().backward()
    assert_np_close(x.grad, to_np(mask).astype(float) * 2.0)


@pytest.mark.parametrize("shape", [(6, 5, 4), (300, 4, 3, 2), (400, 7)])
def test_feature_dropout_zeroes_whole_feature_maps(shape):
    rtorch.manual_seed(1)
    x = rtorch.ones(shape)
    out = rtorch.feature_dropout(x, 0.4, True)
    maps = to_np(out).reshape(shape[0], shape[1], -1)
    # Each (n, c) map is all zeros or all 1 / (1 - p).
    per_map = maps[..., 0]
    assert np.all(maps == per_map[..., None])
    assert set(np.unique(per_map)).issubset({0.0, np.float32(1 / 0.6)})
    if maps.shape[0] * maps.shape[1] >= 1000:
        frac = (per_map == 0).mean()
        assert abs(frac - 0.4) < 5 * math.sqrt(0.24 / per_map.size)
    assert rtorch.feature_dropout(x, 0.4, False) is x


def test_feature_dropout_inplace_and_errors():
    x = rtorch.ones(20, 3, 2)
    assert rtorch.feature_dropout_(x, 0.5, True) is x
    assert set(np.unique(to_np(x))).issubset({0.0, 2.0})
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        rtorch.feature_dropout(rtorch.ones(3), 0.5, True)
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        rtorch.feature_dropout(rtorch.ones(3, 4), 1.5, True)


def test_dropout_parity_of_deterministic_cases(torch_ref):
    torch = torch_ref
    x = rt(rnd(3, 4))
    for p, train in ((0.5, False), (0.0, True), (1.0, True)):
        ours = rtorch.native_dropout(x, p, train)
        theirs = torch.native_dropout(to_torch(torch, x), p, train)
        assert_same(torch, ours, theirs)
    assert_same(torch, rtorch.feature_dropout(x, 0.3, False),
                torch.feature_dropout(to_torch(torch, x), 0.3, False))  # fmt: skip
    with pytest.raises(RuntimeError):
        torch.feature_dropout(torch.ones(3), 0.5, True)


# --- channel shuffle, convolution, conv_tbc --------------------------------------------


def test_native_channel_shuffle():
    x = rnd(2, 6, 3)
    got = rtorch.native_channel_shuffle(rt(x), 3)
    expected = x.reshape(2, 3, 2, 3).transpose(0, 2, 1, 3).reshape(2, 6, 3)
    assert_np_close(got, expected)
    assert_np_close(got, to_np(F.channel_shuffle(rt(x), 3)))
    with pytest.raises(RuntimeError, match="> 2 dims"):
        rtorch.native_channel_shuffle(rtorch.randn(2, 6), 3)
    with pytest.raises(RuntimeError, match="divisible by groups"):
        rtorch.native_channel_shuffle(rtorch.randn(2, 6, 3), 4)


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("transposed", [False, True])
def test_convolution_equals_functional(dims, transposed):
    x = rt(rnd(2, 4, *([5] * dims)))
    if transposed:
        w, b = rt(rnd(4, 3, *([3] * dims))), rt(rnd(6))
        got = rtorch.convolution(x, w, b, [2] * dims, [1] * dims, [1] * dims, True, [1] * dims, 2)
        fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[dims - 1]
        expected = fn(x, w, b, 2, 1, 1, 2, 1)
    else:
        w, b = rt(rnd(6, 2, *([3] * dims))), rt(rnd(6))
        got = rtorch.convolution(x, w, b, [2] * dims, [1] * dims, [1] * dims, False, [0] * dims, 2)
        fn = (F.conv1d, F.conv2d, F.conv3d)[dims - 1]
        expected = fn(x, w, b, 2, 1, 1, 2)
    assert_np_close(got, to_np(expected))


def test_convolution_1d_against_numpy_and_errors():
    x, w, b = rnd(1, 2, 6), rnd(3, 2, 2), rnd(3)
    got = rtorch.convolution(rt(x), rt(w), rt(b), [1], [0], [2], False, [0], 1)
    expected = np.zeros((1, 3, 4))
    for o in range(3):
        for t in range(4):
            expected[0, o, t] = b[o] + sum(
                w[o, c, k] * x[0, c, t + 2 * k] for c in range(2) for k in range(2)
            )
    assert_np_close(got, expected)
    with pytest.raises(RuntimeError, match="3-dimensional input for 3-dimensional weight"):
        rtorch.convolution(rt(rnd(2, 6)), rt(w), None, [1], [0], [1], False, [0], 1)


def _conv_tbc_reference(x, w, b, pad):
    t, batch, _ = x.shape
    k = w.shape[0]
    xp = np.zeros((t + 2 * pad, batch, x.shape[2]))
    xp[pad : pad + t] = x
    out_t = t + 2 * pad - k + 1
    out = np.zeros((out_t, batch, w.shape[2])) + b
    for i in range(out_t):
        for j in range(k):
            out[i] += xp[i + j] @ w[j]
    return out


@pytest.mark.parametrize("pad", [0, 1, 2])
def test_conv_tbc_against_numpy(pad):
    x, w, b = rnd(7, 2, 3), rnd(3, 3, 5), rnd(5)
    assert_np_close(rtorch.conv_tbc(rt(x), rt(w), rt(b), pad), _conv_tbc_reference(x, w, b, pad))


def test_conv_tbc_grad_and_errors():
    x = rt(rnd(5, 2, 3), requires_grad=True)
    w, b = rt(rnd(2, 3, 4), requires_grad=True), rt(rnd(4), requires_grad=True)
    assert gradcheck(lambda a, c, d: rtorch.conv_tbc(a, c, d, 1), (x, w, b))
    with pytest.raises(RuntimeError, match="Input must have 3 dims"):
        rtorch.conv_tbc(rtorch.randn(5, 3), rtorch.randn(2, 3, 4), rtorch.randn(4))
    with pytest.raises(RuntimeError, match="input channels"):
        rtorch.conv_tbc(rtorch.randn(5, 2, 3), rtorch.randn(2, 2, 4), rtorch.randn(4))
    with pytest.raises(RuntimeError, match="Bias size"):
        rtorch.conv_tbc(rtorch.randn(5, 2, 3), rtorch.randn(2, 3, 4), rtorch.randn(3))


def test_conv_parity(torch_ref):
    torch = torch_ref
    for dims in (1, 2, 3):
        x = rt(rnd(2, 4, *([5] * dims)))
        for transposed in (False, True):
            w = rt(rnd(4, 3, *([3] * dims))) if transposed else rt(rnd(6, 2, *([3] * dims)))
            b = rt(rnd(6))
            args = ([2] * dims, [1] * dims, [1] * dims, transposed, [1 if transposed else 0] * dims,
                    2)  # fmt: skip
            assert_same(torch, rtorch.convolution(x, w, b, *args),
                        torch.convolution(*to_torch(torch, [x, w, b]), *args))  # fmt: skip
    x, w, b = rt(rnd(7, 2, 3)), rt(rnd(3, 3, 5)), rt(rnd(5))
    for pad in (0, 1, 2, -1):
        assert_same(torch, rtorch.conv_tbc(x, w, b, pad),
                    torch.conv_tbc(*to_torch(torch, [x, w, b]), pad))  # fmt: skip
    xg = rt(rnd(2, 6, 3, 2))
    assert_same(torch, rtorch.native_channel_shuffle(xg, 2),
                torch.native_channel_shuffle(to_torch(torch, xg), 2))  # fmt: skip


# --- grids, norm_except_dim ------------------------------------------------------------


def test_grid_sampler_modes_equal_functional():
    x, grid = rt(rnd(2, 3, 4, 5)), rt(rnd(2, 3, 4, 2))
    for m, mode in enumerate(("bilinear", "nearest", "bicubic")):
        for p, padding in enumerate(("zeros", "border", "reflection")):
            for align in (False, True):
                expected = F.grid_sample(x, grid, mode, padding, align)
                assert_np_close(rtorch.grid_sampler(x, grid, m, p, align), to_np(expected))
                assert_np_close(rtorch.grid_sampler_2d(x, grid, m, p, align), to_np(expected))
    theta = rt(rnd(2, 2, 3))
    for align in (False, True):
        assert_np_close(rtorch.affine_grid_generator(theta, [2, 3, 4, 5], align),
                        to_np(F.affine_grid(theta, [2, 3, 4, 5], align)))  # fmt: skip


def test_affine_grid_generator_against_numpy():
    theta = rnd(1, 2, 3)
    got = to_np(rtorch.affine_grid_generator(rt(theta), [1, 1, 2, 3], True))
    xs, ys = np.linspace(-1, 1, 3), np.linspace(-1, 1, 2)
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            np.testing.assert_allclose(got[0, i, j], theta[0] @ np.array([x, y, 1.0]), 1e-12)


def test_grid_sampler_errors():
    x, grid = rtorch.randn(1, 1, 3, 3), rtorch.randn(1, 2, 2, 2)
    with pytest.raises(RuntimeError, match="interpolation mode"):
        rtorch.grid_sampler(x, grid, 5, 0, False)
    with pytest.raises(RuntimeError, match="padding mode"):
        rtorch.grid_sampler(x, grid, 0, 7, False)
    with pytest.raises(RuntimeError, match="expected 4D input"):
        rtorch.grid_sampler_2d(rtorch.randn(1, 1, 3, 3, 3), rtorch.randn(1, 2, 2, 2, 3), 0, 0,
                               False)  # fmt: skip
    with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D"):
        rtorch.grid_sampler_3d(rtorch.randn(1, 1, 3, 3, 3), rtorch.randn(1, 2, 2, 2, 3), 2, 0,
                               False)  # fmt: skip
    with pytest.raises(RuntimeError, match="size 3 in last dimension"):
        rtorch.grid_sampler_3d(rtorch.randn(1, 1, 3, 3, 3), rtorch.randn(1, 2, 2, 2, 2), 0, 0,
                               False)  # fmt: skip
    with pytest.raises(ValueError, match="Nx3x4"):
        rtorch.affine_grid_generator(rtorch.randn(1, 2, 3), [1, 1, 2, 2, 2], False)


def _trilinear_reference(volume, point, align):
    """numpy: one channel of a (D, H, W) volume at a normalized (x, y, z), zeros padding."""
    d, h, w = volume.shape
    coords = []
    for c, size in zip(point, (w, h, d)):
        coords.append((c + 1) / 2 * (size - 1) if align else ((c + 1) * size - 1) / 2)
    x, y, z = coords
    total = 0.0
    for zz in (np.floor(z), np.floor(z) + 1):
        for yy in (np.floor(y), np.floor(y) + 1):
            for xx in (np.floor(x), np.floor(x) + 1):
                weight = (1 - abs(x - xx)) * (1 - abs(y - yy)) * (1 - abs(z - zz))
                if 0 <= xx < w and 0 <= yy < h and 0 <= zz < d:
                    total += weight * volume[int(zz), int(yy), int(xx)]
    return total


@pytest.mark.parametrize("align", [False, True])
def test_grid_sampler_3d_against_numpy_and_grad(align):
    volume = rnd(1, 2, 3, 4, 5)
    grid = rnd(1, 2, 3, 1, 3) * 0.9
    got = to_np(rtorch.grid_sampler_3d(rt(volume), rt(grid), 0, 0, align))
    for c in range(2):
        for i, j in np.ndindex(2, 3):
            expected = _trilinear_reference(volume[0, c], grid[0, i, j, 0], align)
            np.testing.assert_allclose(got[0, c, i, j, 0], expected, rtol=1e-12, atol=1e-12)
    assert rtorch.grid_sampler(rt(volume), rt(grid), 1, 1, align).shape == (1, 2, 2, 3, 1)
    x = rt(rnd(1, 2, 3, 3, 3), requires_grad=True)
    # Locations away from voxel boundaries (the interpolation has kinks on them).
    g = rt(np.array([[[[[0.13, -0.41, 0.27], [-0.62, 0.38, -0.19]]]]]), requires_grad=True)
    for padding in (0, 1, 2):
        assert gradcheck(lambda a, b, p=padding: rtorch.grid_sampler_3d(a, b, 0, p, align), (x, g))
    theta = rt(rnd(2, 3, 4), requires_grad=True)
    assert gradcheck(lambda t: rtorch.affine_grid_generator(t, [2, 1, 2, 3, 2], align), (theta,))


def test_affine_grid_generator_3d_against_numpy():
    theta = rnd(1, 3, 4)
    got = to_np(rtorch.affine_grid_generator(rt(theta), [1, 1, 2, 3, 4], True))
    for k, z in enumerate(np.linspace(-1, 1, 2)):
        for i, y in enumerate(np.linspace(-1, 1, 3)):
            for j, x in enumerate(np.linspace(-1, 1, 4)):
                expected = theta[0] @ np.array([x, y, z, 1.0])
                np.testing.assert_allclose(got[0, k, i, j], expected, rtol=1e-12, atol=1e-12)


def test_grid_3d_parity(torch_ref):
    torch = torch_ref
    x, grid, theta = rt(rnd(2, 3, 4, 5, 6)), rt(rnd(2, 3, 2, 4, 3) * 1.2), rt(rnd(2, 3, 4))
    for m in (0, 1):
        for p in (0, 1, 2):
            for align in (False, True):
                xr = x.detach().requires_grad_(True)
                gr = grid.detach().requires_grad_(True)
                ours = rtorch.grid_sampler_3d(xr, gr, m, p, align)
                xt, gt = (to_torch(torch, t).requires_grad_(True) for t in (x, grid))
                theirs = torch.grid_sampler_3d(xt, gt, m, p, align)
                assert_same(torch, ours, theirs, 1e-12, 1e-12)
                weights = rnd(*ours.shape)
                ours.backward(rt(weights))
                theirs.backward(torch.tensor(weights))
                assert_same(torch, xr.grad, xt.grad, 1e-10, 1e-10)
                if m == 0:  # nearest has no grid gradient (zeros in PyTorch)
                    assert_same(torch, gr.grad, gt.grad, 1e-9, 1e-9)
    for align in (False, True):
        assert_same(torch, rtorch.affine_grid_generator(theta, [2, 3, 4, 5, 6], align),
                    torch.affine_grid_generator(to_torch(torch, theta), [2, 3, 4, 5, 6], align),
                    1e-12, 1e-12)  # fmt: skip


def test_grid_parity(torch_ref):
    torch = torch_ref
    x, grid, theta = rt(rnd(2, 3, 4, 5)), rt(rnd(2, 3, 4, 2)), rt(rnd(2, 2, 3))
    for m in (0, 1, 2):
        for p in (0, 1, 2):
            for align in (False, True):
                assert_same(torch, rtorch.grid_sampler(x, grid, m, p, align),
                            torch.grid_sampler(*to_torch(torch, [x, grid]), m, p, align),
                            1e-9, 1e-9)  # fmt: skip
    for align in (False, True):
        assert_same(torch, rtorch.affine_grid_generator(theta, [2, 3, 4, 5], align),
                    torch.affine_grid_generator(to_torch(torch, theta), [2, 3, 4, 5], align))  # fmt: skip


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2])
def test_norm_except_dim(dim):
    v = rnd(3, 4, 5)
    got = rtorch.norm_except_dim(rt(v), 2, dim)
    if dim == -1:
        assert got.shape == ()
        assert_np_close(got, np.sqrt((v**2).sum()))
    else:
        d = dim % 3
        axes = tuple(a for a in range(3) if a != d)
        assert_np_close(got, np.sqrt((v**2).sum(axes, keepdims=True)))
    assert_np_close(rtorch.norm_except_dim(rt(v), 3, 1),
                    (np.abs(v) ** 3).sum((0, 2), keepdims=True) ** (1 / 3))  # fmt: skip
    assert_np_close(rtorch.norm_except_dim(rt([3.0, -4.0]), 2, 0), [3.0, 4.0])
    with pytest.raises(IndexError):
        rtorch.norm_except_dim(rt(v), 2, 5)
    with pytest.raises(IndexError):
        rtorch.norm_except_dim(rtorch.tensor(3.0), 2, 0)


def test_norm_except_dim_parity(torch_ref):
    torch = torch_ref
    v = rt(rnd(3, 4, 5))
    for dim in (0, 1, 2, -1, -2):
        for p in (2, 3):
            assert_same(torch, rtorch.norm_except_dim(v, p, dim),
                        torch.norm_except_dim(to_torch(torch, v), p, dim))  # fmt: skip
    one = rt([3.0, -4.0])
    assert_same(torch, rtorch.norm_except_dim(one, 2, 0),
                torch.norm_except_dim(to_torch(torch, one), 2, 0))  # fmt: skip


# --- recurrent cells and layers --------------------------------------------------------


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _cell_reference(kind, x, h, c, w_ih, w_hh, b_ih, b_hh):
    gi = x @ w_ih.T + b_ih
    gh = h @ w_hh.T + b_hh
    if kind == "rnn_tanh_cell":
        return np.tanh(gi + gh)
    if kind == "rnn_relu_cell":
        return np.maximum(gi + gh, 0)
    if kind == "gru_cell":
        hs = h.shape[1]
        r = _sigmoid(gi[:, :hs] + gh[:, :hs])
        z = _sigmoid(gi[:, hs : 2 * hs] + gh[:, hs : 2 * hs])
        n = np.tanh(gi[:, 2 * hs :] + r * gh[:, 2 * hs :])
        return (1 - z) * n + z * h
    hs = h.shape[1]
    g = gi + gh
    i, f = _sigmoid(g[:, :hs]), _sigmoid(g[:, hs : 2 * hs])
    gg, o = np.tanh(g[:, 2 * hs : 3 * hs]), _sigmoid(g[:, 3 * hs :])
    c2 = f * c + i * gg
    return o * np.tanh(c2), c2


CELL_GATES = {"rnn_tanh_cell": 1, "rnn_relu_cell": 1, "gru_cell": 3, "lstm_cell": 4}


@pytest.mark.parametrize("kind", list(CELL_GATES))
@pytest.mark.parametrize("bias", [True, False])
def test_cells_against_numpy(kind, bias):
    g, hs = CELL_GATES[kind], 4
    x, h, c = rnd(2, 3), rnd(2, hs), rnd(2, hs)
    w_ih, w_hh = rnd(g * hs, 3), rnd(g * hs, hs)
    b_ih, b_hh = (rnd(g * hs), rnd(g * hs)) if bias else (np.zeros(g * hs), np.zeros(g * hs))
    biases = (rt(b_ih), rt(b_hh)) if bias else ()
    hx = [rt(h), rt(c)] if kind == "lstm_cell" else rt(h)
    got = getattr(rtorch, kind)(rt(x), hx, rt(w_ih), rt(w_hh), *biases)
    expected = _cell_reference(kind, x, h, c, w_ih, w_hh, b_ih, b_hh)
    if kind == "lstm_cell":
        assert_np_close(got[0], expected[0])
        assert_np_close(got[1], expected[1])
    else:
        assert_np_close(got, expected)


def test_cells_equal_modules_and_gradcheck():
    cell = nn.GRUCell(3, 4).double()
    x, h = rt(rnd(2, 3), requires_grad=True), rt(rnd(2, 4), requires_grad=True)
    got = rtorch.gru_cell(x, h, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    assert_np_close(got, to_np(cell(x, h).detach()))
    lstm = nn.LSTMCell(3, 4).double()
    c = rt(rnd(2, 4), requires_grad=True)
    got = rtorch.lstm_cell(x, [h, c], lstm.weight_ih, lstm.weight_hh, lstm.bias_ih, lstm.bias_hh)
    ref = lstm(x, (h, c))
    assert_np_close(got[1], to_np(ref[1].detach()))
    w_ih, w_hh = rt(rnd(4, 3), requires_grad=True), rt(rnd(4, 4), requires_grad=True)
    assert gradcheck(lambda a, b, p, q: rtorch.rnn_tanh_cell(a, b, p, q), (x, h, w_ih, w_hh))
    assert gradcheck(
        lambda a, b, d: rtorch.lstm_cell(a, [b, d], lstm.weight_ih, lstm.weight_hh)[0], (x, h, c)
    )


def test_cell_errors():
    with pytest.raises(RuntimeError, match="Expected 2D input"):
        rtorch.rnn_tanh_cell(rtorch.randn(3), rtorch.randn(4), rtorch.randn(4, 3),
                             rtorch.randn(4, 4))  # fmt: skip
    with pytest.raises(RuntimeError, match="lstm_cell expects two hidden states"):
        rtorch.lstm_cell(rtorch.randn(2, 3), [rtorch.randn(2, 4)], rtorch.randn(16, 3),
                         rtorch.randn(16, 4))  # fmt: skip
    with pytest.raises(RuntimeError, match="inconsistent input_size"):
        rtorch.gru_cell(rtorch.randn(2, 5), rtorch.randn(2, 4), rtorch.randn(12, 3),
                        rtorch.randn(12, 4))  # fmt: skip
    with pytest.raises(RuntimeError, match="inconsistent hidden_size"):
        rtorch.gru_cell(rtorch.randn(2, 3), rtorch.randn(2, 4), rtorch.randn(12, 3),
                        rtorch.randn(12, 5))  # fmt: skip


LAYERS = {"rnn_tanh": (nn.RNN, {}), "rnn_relu": (nn.RNN, {"nonlinearity": "relu"}),
          "gru": (nn.GRU, {}), "lstm": (nn.LSTM, {})}  # fmt: skip


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_rnn_layers_equal_modules(kind, bias, bidirectional, batch_first):
    cls, extra = LAYERS[kind]
    module = cls(3, 4, num_layers=2, bias=bias, bidirectional=bidirectional,
                 batch_first=batch_first, **extra).double()  # fmt: skip
    d = 2 if bidirectional else 1
    x = rt(rnd(2, 5, 3) if batch_first else rnd(5, 2, 3))
    h0, c0 = rt(rnd(2 * d, 2, 4)), rt(rnd(2 * d, 2, 4))
    hx = [h0, c0] if kind == "lstm" else h0
    got = getattr(rtorch, kind)(x, hx, module._flat_weights, bias, 2, 0.0, False, bidirectional,
                                batch_first)  # fmt: skip
    out, state = module(x, (h0, c0) if kind == "lstm" else h0)
    states = state if kind == "lstm" else (state,)
    assert len(got) == 1 + len(states)
    assert_np_close(got[0], to_np(out.detach()))
    for a, b in zip(got[1:], states):
        assert_np_close(a, to_np(b.detach()))


@pytest.mark.parametrize("kind", list(LAYERS))
def test_rnn_layers_packed_overload(kind):
    cls, extra = LAYERS[kind]
    module = cls(3, 4, num_layers=2, bidirectional=True, **extra).double()
    seqs = [rt(rnd(4, 3)), rt(rnd(2, 3)), rt(rnd(1, 3))]
    packed = nn.utils.rnn.pack_sequence(seqs)
    h0, c0 = rt(rnd(4, 3, 4)), rt(rnd(4, 3, 4))
    hx = [h0, c0] if kind == "lstm" else h0
    got = getattr(rtorch, kind)(packed.data, packed.batch_sizes, hx, module._flat_weights, True,
                                2, 0.0, False, True)  # fmt: skip
    out, state = module(packed, (h0, c0) if kind == "lstm" else h0)
    assert_np_close(got[0], to_np(out.data.detach()))
    states = state if kind == "lstm" else (state,)
    for a, b in zip(got[1:], states):
        assert_np_close(a, to_np(b.detach()))


def test_lstm_projection_and_gradcheck():
    module = nn.LSTM(3, 4, proj_size=2).double()
    x = rt(rnd(5, 2, 3), requires_grad=True)
    h0, c0 = rt(rnd(1, 2, 2)), rt(rnd(1, 2, 4))
    got = rtorch.lstm(x, [h0, c0], module._flat_weights, True, 1, 0.0, False, False, False)
    out, (h, c) = module(x, (h0, c0))
    assert got[0].shape == (5, 2, 2)
    assert_np_close(got[0], to_np(out.detach()))
    assert_np_close(got[1], to_np(h.detach()))
    assert_np_close(got[2], to_np(c.detach()))
    params = [rt(rnd(6, 3), requires_grad=True), rt(rnd(6, 2), requires_grad=True)]
    xs = rt(rnd(3, 1, 3), requires_grad=True)
    hs = rt(rnd(1, 1, 2), requires_grad=True)
    assert gradcheck(
        lambda a, b, p, q: rtorch.gru(a, b, [p, q], False, 1, 0.0, False, False, False)[0],
        (xs, hs, *params),
    )


def test_rnn_layer_dropout_between_layers():
    module = nn.GRU(3, 4, num_layers=2).double()
    x, h0 = rt(rnd(5, 2, 3)), rt(rnd(2, 2, 4))
    args = (module._flat_weights, True, 2, 0.5)
    evaluated = rtorch.gru(x, h0, *args, False, False, False)[0]
    rtorch.manual_seed(3)
    a = rtorch.gru(x, h0, *args, True, False, False)[0]
    rtorch.manual_seed(3)
    b = rtorch.gru(x, h0, *args, True, False, False)[0]
    assert_np_close(a, to_np(b))
    assert not np.allclose(to_np(a), to_np(evaluated))


def test_rnn_layer_errors():
    w = [rtorch.randn(12, 3), rtorch.randn(12, 4)]
    x = rtorch.randn(5, 2, 3)
    with pytest.raises(RuntimeError, match="incorrect number of RNN parameters"):
        rtorch.gru(x, rtorch.randn(1, 2, 4), w, True, 1, 0.0, False, False, False)
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        rtorch.gru(x, rtorch.randn(2, 2, 4), w, False, 1, 0.0, False, False, False)
    with pytest.raises(RuntimeError, match="lstm expects two hidden states"):
        rtorch.lstm(x, [rtorch.randn(1, 2, 4)], [rtorch.randn(16, 3), rtorch.randn(16, 4)], False,
                    1, 0.0, False, False, False)  # fmt: skip
    with pytest.raises(RuntimeError, match="input must have 3 dimensions"):
        rtorch.gru(rtorch.randn(5, 3), rtorch.randn(1, 4), w, False, 1, 0.0, False, False, False)
    with pytest.raises(TypeError, match="missing"):
        rtorch.gru(x, rtorch.randn(1, 2, 4), w, False)


def test_rnn_parity(torch_ref):
    torch = torch_ref
    for kind, g in (("rnn_tanh", 1), ("rnn_relu", 1), ("gru", 3), ("lstm", 4)):
        for bidirectional in (False, True):
            d = 2 if bidirectional else 1
            params = []
            for layer in range(2):
                for _ in range(d):
                    inp = 3 if layer == 0 else 4 * d
                    params += [rt(rnd(g * 4, inp)), rt(rnd(g * 4, 4)), rt(rnd(g * 4)),
                               rt(rnd(g * 4))]  # fmt: skip
            for batch_first in (False, True):
                x = rt(rnd(2, 5, 3) if batch_first else rnd(5, 2, 3))
                h0, c0 = rt(rnd(2 * d, 2, 4)), rt(rnd(2 * d, 2, 4))
                hx = [h0, c0] if kind == "lstm" else h0
                ours = getattr(rtorch, kind)(x, hx, params, True, 2, 0.0, False, bidirectional,
                                             batch_first)  # fmt: skip
                theirs = getattr(torch, kind)(to_torch(torch, x), to_torch(torch, hx),
                                              to_torch(torch, params), True, 2, 0.0, False,
                                              bidirectional, batch_first)  # fmt: skip
                assert_same(torch, ours, theirs)
            data, sizes = rt(rnd(7, 3)), rtorch.tensor([3, 2, 1, 1])
            h0, c0 = rt(rnd(2 * d, 3, 4)), rt(rnd(2 * d, 3, 4))
            hx = [h0, c0] if kind == "lstm" else h0
            ours = getattr(rtorch, kind)(data, sizes, hx, params, True, 2, 0.0, False,
                                         bidirectional)  # fmt: skip
            theirs = getattr(torch, kind)(*to_torch(torch, [data, sizes]), to_torch(torch, hx),
                                          to_torch(torch, params), True, 2, 0.0, False,
                                          bidirectional)  # fmt: skip
            assert_same(torch, ours, theirs)
    x, h, c = rt(rnd(2, 3)), rt(rnd(2, 4)), rt(rnd(2, 4))
    for kind, g in CELL_GATES.items():
        w_ih, w_hh, b_ih, b_hh = (
            rt(rnd(g * 4, 3)),
            rt(rnd(g * 4, 4)),
            rt(rnd(g * 4)),
            rt(rnd(g * 4)),
        )
        hx = [h, c] if kind == "lstm_cell" else h
        ours = getattr(rtorch, kind)(x, hx, w_ih, w_hh, b_ih, b_hh)
        theirs = getattr(torch, kind)(to_torch(torch, x), to_torch(torch, hx),
                                      *to_torch(torch, [w_ih, w_hh, b_ih, b_hh]))  # fmt: skip
        assert_same(torch, ours, theirs)


# --- integer and bool inputs -----------------------------------------------------------


def _integer_cases(lib):
    x = lib.arange(24).reshape(2, 3, 4)
    return {
        "native_layer_norm": lambda: lib.native_layer_norm(x, [4], None, None, 1e-5),
        "native_layer_norm_bool": lambda: lib.native_layer_norm(x > 3, [4], None, None, 1e-5),
        "native_group_norm": lambda: lib.native_group_norm(x, None, None, 2, 3, 4, 3, 1e-5),
        "native_batch_norm": lambda: lib.native_batch_norm(x, None, None, None, None, True, 0.1,
                                                           1e-5),
        "batch_norm_update_stats": lambda: lib.batch_norm_update_stats(x, None, None, 0.1),
        "instance_norm": lambda: lib.instance_norm(x, None, None, None, None, True, 0.1, 1e-5,
                                                   False),
        "kl_div": lambda: lib.kl_div(x, x, 1),
        "native_dropout": lambda: lib.native_dropout(x, 0.5, True),
        "feature_dropout": lambda: lib.feature_dropout(x, 0.5, True),
    }  # fmt: skip


@pytest.mark.parametrize("name", list(_integer_cases(rtorch)))
def test_integer_inputs_raise(name, request):
    expected = {
        "kl_div": (RuntimeError, "Integral inputs not supported"),
        "native_dropout": (RuntimeError, "can't be cast to the desired output type Long"),
        "feature_dropout": (RuntimeError, "can't be cast to the desired output type Long"),
        "native_layer_norm_bool": (NotImplementedError, "not implemented for 'Bool'"),
    }.get(name, (NotImplementedError, "not implemented for 'Long'"))
    with pytest.raises(expected[0], match=expected[1]):
        _integer_cases(rtorch)[name]()


def test_integer_inputs_raise_parity(torch_ref):
    torch = torch_ref
    ours, theirs = _integer_cases(rtorch), _integer_cases(torch)
    for name in ours:
        with pytest.raises(Exception) as ours_error:
            ours[name]()
        with pytest.raises(Exception) as theirs_error:
            theirs[name]()
        assert type(ours_error.value) is type(theirs_error.value), name
        assert str(ours_error.value) == str(theirs_error.value), name


def test_rnn_float32_parity(torch_ref):
    torch = torch_ref
    module = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    x, h0, c0 = rtorch.randn(5, 2, 3), rtorch.randn(4, 2, 4), rtorch.randn(4, 2, 4)
    ours = rtorch.lstm(x, [h0, c0], module._flat_weights, True, 2, 0.0, False, True, False)
    theirs = torch.lstm(to_torch(torch, x), to_torch(torch, [h0, c0]),
                        to_torch(torch, [w.detach() for w in module._flat_weights]), True, 2, 0.0,
                        False, True, False)  # fmt: skip
    assert_same(torch, ours, theirs, 1e-5, 1e-5)
    cell_w = [rtorch.randn(12, 3), rtorch.randn(12, 4), rtorch.randn(12), rtorch.randn(12)]
    xs, hs = rtorch.randn(2, 3), rtorch.randn(2, 4)
    assert_same(torch, rtorch.gru_cell(xs, hs, *cell_w),
                torch.gru_cell(*to_torch(torch, [xs, hs, *cell_w])), 1e-5, 1e-5)  # fmt: skip


def test_embedding_bag_without_bags_or_indices():
    w = rt(rnd(5, 3))
    for mode in (0, 1, 2):
        # No offsets: no bags, every index in none (PyTorch 2.15 crashes here for mean/max).
        out, offset2bag, bag_size, max_indices = rtorch.embedding_bag(
            w, rtorch.tensor([1, 2]), rtorch.tensor([], dtype=rtorch.int64), False, mode
        )
        assert out.shape == (0, 3) and bag_size.shape == (0,)
        assert to_np(offset2bag).tolist() == [-1, -1]  # float64: no sum fast path
        assert max_indices.shape == ((0, 3) if mode == 2 else (0,))
        # No indices: empty bags give zeros.
        empty = rtorch.tensor([], dtype=rtorch.int64)
        out, offset2bag, bag_size, max_indices = rtorch.embedding_bag(
            w, empty, rtorch.tensor([0, 0]), False, mode
        )
        assert to_np(out).tolist() == [[0.0] * 3] * 2
        assert offset2bag.shape == (0,) and to_np(bag_size).tolist() == [0, 0]


def test_embedding_bag_empty_indices_parity(torch_ref):
    torch = torch_ref
    w = rt(rnd(5, 3))
    empty, off = rtorch.tensor([], dtype=rtorch.int64), rtorch.tensor([0, 0])
    for mode in (0, 1, 2):
        ours = rtorch.embedding_bag(w, empty, off, False, mode)
        theirs = torch.embedding_bag(*to_torch(torch, [w, empty, off]), False, mode)
        assert_same(torch, ours, theirs)
