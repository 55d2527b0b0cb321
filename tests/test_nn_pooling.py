"""nn pooling: numpy float64 references (direct loops), gradcheck, indices, modules, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_np_close, to_np, with_threads
from nn_layers_parity import compare, rtorch_results, torch_results

import rtorch
import rtorch.nn.functional as F
from rtorch import nn
from rtorch.autograd import gradcheck

RNG = np.random.RandomState(1)


def t64(shape, requires_grad=False):
    return rtorch.tensor(RNG.randn(*shape), dtype=rtorch.float64, requires_grad=requires_grad)


def out_size(n, k, s, p, d, ceil):
    span = n + 2 * p - d * (k - 1) - 1
    o = (math.ceil(span / s) if ceil else span // s) + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def np_max_pool2d(x, k, s, p, d, ceil):
    """Values and flat indices, scanning each window in row-major order (first max wins)."""
    n, c, h, w = x.shape
    oh = out_size(h, k[0], s[0], p[0], d[0], ceil)
    ow = out_size(w, k[1], s[1], p[1], d[1], ceil)
    vals = np.full((n, c, oh, ow), -np.inf)
    idx = np.zeros((n, c, oh, ow), dtype=np.int64)
    for i in range(oh):
        for j in range(ow):
            for a in range(k[0]):
                for b in range(k[1]):
                    r, q = i * s[0] - p[0] + a * d[0], j * s[1] - p[1] + b * d[1]
                    if 0 <= r < h and 0 <= q < w:
                        v = x[:, :, r, q]
                        better = v > vals[:, :, i, j]
                        vals[:, :, i, j] = np.where(better, v, vals[:, :, i, j])
                        idx[:, :, i, j] = np.where(better, r * w + q, idx[:, :, i, j])
    return vals, idx


def np_avg_pool2d(x, k, s, p, ceil, include_pad, divisor=None):
    n, c, h, w = x.shape
    oh = out_size(h, k[0], s[0], p[0], 1, ceil)
    ow = out_size(w, k[1], s[1], p[1], 1, ceil)
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            h0, w0 = i * s[0] - p[0], j * s[1] - p[1]
            h1, w1 = min(h0 + k[0], h + p[0]), min(w0 + k[1], w + p[1])
            pool = (h1 - h0) * (w1 - w0)
            hs, ws, he, we = max(h0, 0), max(w0, 0), min(h1, h), min(w1, w)
            total = x[:, :, hs:he, ws:we].sum(axis=(2, 3))
            div = divisor or (pool if include_pad else (he - hs) * (we - ws))
            out[:, :, i, j] = total / div
    return out


def np_adaptive(x, oh, ow, reduce):
    n, c, h, w = x.shape
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            hs, he = (i * h) // oh, -(-((i + 1) * h) // oh)
            ws, we = (j * w) // ow, -(-((j + 1) * w) // ow)
            out[:, :, i, j] = reduce(x[:, :, hs:he, ws:we], axis=(2, 3))
    return out


MAX_CASES = [
    ((2, 3, 8, 7), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((2, 3, 8, 7), (3, 2), (2, 1), (1, 1), (1, 2), False),
    ((2, 3, 8, 7), (3, 3), (2, 2), (1, 1), (1, 1), True),
    ((1, 2, 5, 5), (2, 2), (2, 2), (0, 0), (1, 1), True),
    ((1, 2, 6, 6), (3, 3), (2, 2), (1, 1), (2, 2), True),
]


@pytest.mark.parametrize("xs,k,s,p,d,ceil", MAX_CASES)
def test_max_pool2d_values_and_indices(xs, k, s, p, d, ceil):
    x = t64(xs)
    vals, idx = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil, return_indices=True)
    ref_v, ref_i = np_max_pool2d(to_np(x), k, s, p, d, ceil)
    assert_np_close(vals, ref_v)
    assert idx.dtype == rtorch.int64
    np.testing.assert_array_equal(to_np(idx), ref_i)
    assert_np_close(F.max_pool2d(x, k, s, p, d, ceil_mode=ceil), ref_v)


def test_max_pool_ties_gradient_goes_to_first_maximum_and_nan_propagates():
    x = rtorch.tensor(
        [
            [
                [
                    [1.0, 1.0, 2.0, 2.0],
                    [1.0, 1.0, 2.0, 2.0],
                    [0.0, 3.0, 3.0, 0.0],
                    [3.0, 0.0, 0.0, 3.0],
                ]
            ]
        ],
        requires_grad=True,
    )
    v, i = F.max_pool2d(x, 2, return_indices=True)
    v.sum().backward()
    np.testing.assert_array_equal(to_np(i)[0, 0], [[0, 2], [9, 10]])
    expected = np.zeros((4, 4))
    expected.flat[[0, 2, 9, 10]] = 1
    np.testing.assert_array_equal(to_np(x.grad)[0, 0], expected)
    nan = F.max_pool2d(rtorch.tensor([[[[1.0, float("nan")], [3.0, 2.0]]]]), 2)
    assert math.isnan(float(nan.reshape(-1)[0]))


def test_max_pool1d_and_unbatched():
    x = t64((2, 3, 11))
    v, i = F.max_pool1d(x, 3, 2, 1, ceil_mode=True, return_indices=True)
    rv, ri = np_max_pool2d(to_np(x)[:, :, None], (1, 3), (1, 2), (0, 1), (1, 1), True)
    assert_np_close(v, rv[:, :, 0])
    np.testing.assert_array_equal(to_np(i), ri[:, :, 0])
    u = t64((3, 8, 7))
    assert_np_close(
        F.max_pool2d(u, 2),
        np_max_pool2d(to_np(u)[None], (2, 2), (2, 2), (0, 0), (1, 1), False)[0][0],
    )
    assert F.max_pool1d(t64((3, 11)), 2, dilation=2).shape == (3, 5)  # (11 - 2 - 1) // 2 + 1


@pytest.mark.parametrize(
    "k,s,p,ceil,include_pad,divisor",
    [
        ((3, 3), (2, 2), (1, 1), False, True, None),
        ((3, 3), (2, 2), (1, 1), True, True, None),
        ((3, 3), (2, 2), (1, 1), True, False, None),
        ((2, 3), (1, 1), (1, 1), False, True, 5),
        ((2, 2), (2, 2), (0, 0), True, True, None),
    ],
)
def test_avg_pool2d_matches_numpy(k, s, p, ceil, include_pad, divisor):
    x = t64((2, 3, 8, 7))
    out = F.avg_pool2d(x, k, s, p, ceil, include_pad, divisor)
    assert_np_close(out, np_avg_pool2d(to_np(x), k, s, p, ceil, include_pad, divisor))


def test_avg_pool1d_and_lp_pool():
    x = t64((2, 3, 11))
    out = F.avg_pool1d(x, 4, 3, 2, ceil_mode=True, count_include_pad=False)
    ref = np_avg_pool2d(to_np(x)[:, :, None], (1, 4), (1, 3), (0, 2), True, False)[:, :, 0]
    assert_np_close(out, ref)
    xa = t64((2, 3, 8, 7)).abs()
    lp = F.lp_pool2d(xa, 2, 3, 2)
    ref_lp = np.sqrt(np_avg_pool2d(to_np(xa) ** 2, (3, 3), (2, 2), (0, 0), False, True) * 9)
    assert_np_close(lp, ref_lp)


@pytest.mark.parametrize("oh,ow", [(3, 5), (4, 7), (1, 1), (6, 9), (8, 2)])
def test_adaptive_pools_match_numpy(oh, ow):
    x = t64((2, 3, 8, 7))
    assert_np_close(F.adaptive_avg_pool2d(x, (oh, ow)), np_adaptive(to_np(x), oh, ow, np.mean))
    v, i = F.adaptive_max_pool2d(x, (oh, ow), return_indices=True)
    assert_np_close(v, np_adaptive(to_np(x), oh, ow, np.max))
    # Indices point at the maxima in each input plane.
    flat = to_np(x).reshape(2, 3, -1)
    picked = np.take_along_axis(flat, to_np(i).reshape(2, 3, -1).astype(np.int64), axis=2)
    np.testing.assert_array_equal(picked.reshape(v.shape), to_np(v))


def test_adaptive_max_pool2d_kernel_ties_nan_dtypes_and_threads():
    """The native kernel: 16x32x32x32 -> (7, 5) crosses the parallel grain; ties go to
    the first maximum in scan order, a NaN to the last NaN of its bin (PyTorch's rule);
    bfloat16 (in float32); integers refused as PyTorch does; the gradient lands on the
    argmax; bits the same on 1 and 2 threads."""
    rng = np.random.default_rng(9)
    a = rng.integers(-3, 4, (16, 32, 32, 32)).astype(np.float32)  # many ties
    a[0, 0, 0, 1] = np.nan
    a[0, 0, 2, 3] = np.nan
    x = rtorch.tensor(a, requires_grad=True)
    v, i = F.adaptive_max_pool2d(x, (7, 5), return_indices=True)
    want_v = np.empty((16, 32, 7, 5), np.float32)
    want_i = np.empty((16, 32, 7, 5), np.int64)
    for oy in range(7):
        y0, y1 = oy * 32 // 7, -(-(oy + 1) * 32 // 7)
        for ox in range(5):
            x0, x1 = ox * 32 // 5, -(-(ox + 1) * 32 // 5)
            win = a[:, :, y0:y1, x0:x1]
            flat = (np.arange(y0, y1)[:, None] * 32 + np.arange(x0, x1)[None, :]).reshape(-1)
            w = win.reshape(16, 32, -1)
            first_max = np.argmax(w, axis=2)  # the first maximum (NaN-free bins)
            nan = np.isnan(w)
            last_nan = w.shape[2] - 1 - np.argmax(nan[:, :, ::-1], axis=2)
            pick = np.where(nan.any(2), last_nan, first_max)
            want_i[:, :, oy, ox] = flat[pick]
            want_v[:, :, oy, ox] = np.take_along_axis(w, pick[..., None], 2)[..., 0]
    np.testing.assert_array_equal(to_np(i), want_i)
    np.testing.assert_array_equal(to_np(v), want_v)
    g = rng.standard_normal((16, 32, 7, 5)).astype(np.float32)
    v.backward(rtorch.tensor(g))
    want_g = np.zeros((16 * 32, 32 * 32), np.float32)
    np.add.at(
        want_g, (np.arange(16 * 32)[:, None], want_i.reshape(16 * 32, -1)), g.reshape(16 * 32, -1)
    )
    np.testing.assert_array_equal(to_np(x.grad), want_g.reshape(a.shape))
    half = rtorch.tensor(a[2:4, :3]).to(rtorch.bfloat16)  # no NaN there; small integers
    vh, ih = F.adaptive_max_pool2d(half, (7, 5), return_indices=True)
    assert vh.dtype == rtorch.bfloat16
    np.testing.assert_array_equal(to_np(ih), want_i[2:4, :3])
    np.testing.assert_array_equal(to_np(vh), want_v[2:4, :3])
    with pytest.raises(
        NotImplementedError, match="\"adaptive_max_pool2d\" not implemented for 'Int'"
    ):
        F.adaptive_max_pool2d(rtorch.ones(1, 2, 5, 5, dtype=rtorch.int32), 2)

    def run():
        return to_np(F.adaptive_max_pool2d(x.detach(), (9, 11))).tobytes()

    assert with_threads(1, run) == with_threads(2, run)


def test_adaptive_1d_none_and_unbatched():
    x = t64((2, 3, 10))
    ref = np_adaptive(to_np(x)[:, :, None], 1, 4, np.mean)[:, :, 0]
    assert_np_close(F.adaptive_avg_pool1d(x, 4), ref)
    assert_np_close(
        F.adaptive_max_pool1d(x, 4), np_adaptive(to_np(x)[:, :, None], 1, 4, np.max)[:, :, 0]
    )
    assert F.adaptive_avg_pool2d(t64((2, 3, 8, 7)), (None, 3)).shape == (2, 3, 8, 3)
    assert F.adaptive_max_pool2d(t64((3, 8, 7)), 2).shape == (3, 2, 2)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
def test_adaptive_avg_pool_equal_bins_match_numpy(dtype):
    # Equal bins run as average pooling (its kernel): batched and unbatched, square and
    # oblong bins, the gradient spread evenly.
    x = t64((2, 3, 12, 10)).to(dtype).requires_grad_()
    for size in ((3, 5), (6, 2), (4, 10)):
        got = F.adaptive_avg_pool2d(x, size)
        assert got.dtype == dtype
        want = np_adaptive(to_np(x.detach()).astype(np.float64), *size, np.mean)
        np.testing.assert_allclose(to_np(got.detach()), want, rtol=1e-6, atol=1e-6)
        unbatched = F.adaptive_avg_pool2d(x.detach()[0], size)
        np.testing.assert_allclose(to_np(unbatched), want[0], rtol=1e-6, atol=1e-6)
    F.adaptive_avg_pool2d(x, (3, 5)).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), np.full((2, 3, 12, 10), 1 / 8), rtol=1e-6)
    assert gradcheck(lambda a: F.adaptive_avg_pool2d(a, (3, 2)), (t64((1, 2, 6, 8), True),))


def test_pooling_gradcheck():
    x = t64((1, 2, 5, 6), True)
    assert gradcheck(lambda a: F.max_pool2d(a, 3, 2, 1, ceil_mode=True), (x,))
    assert gradcheck(lambda a: F.avg_pool2d(a, 3, 2, 1, True, False), (x,))
    assert gradcheck(lambda a: F.avg_pool2d(a, 2, 1, 1, divisor_override=3), (x,))
    assert gradcheck(lambda a: F.adaptive_avg_pool2d(a, (3, 4)), (x,))
    assert gradcheck(lambda a: F.adaptive_max_pool2d(a, (3, 4)), (x,))
    assert gradcheck(lambda a: F.max_pool1d(a, 2, 1, 1, 2), (t64((2, 2, 7), True),))


def test_pooling_noncontiguous_input():
    x = t64((2, 7, 8, 3)).permute(0, 3, 1, 2)
    assert not x.is_contiguous()
    assert_np_close(
        F.max_pool2d(x, 2), np_max_pool2d(to_np(x), (2, 2), (2, 2), (0, 0), (1, 1), False)[0]
    )
    assert_np_close(
        F.avg_pool2d(x, 2), np_avg_pool2d(to_np(x), (2, 2), (2, 2), (0, 0), False, True)
    )


def test_pooling_errors():
    x = rtorch.randn(2, 3, 7, 6)
    with pytest.raises(
        RuntimeError,
        match="pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1",
    ):
        F.max_pool2d(x, 3, padding=2)
    with pytest.raises(
        RuntimeError,
        match=r"Given input size: \(3x7x6\). Calculated output size: \(3x0x0\). Output size is too small",
    ):
        F.max_pool2d(x, 8)
    with pytest.raises(RuntimeError, match=r"max_pool1d: Expected 2D or 3D \(batch mode\) tensor"):
        F.max_pool1d(x, 2)
    with pytest.raises(RuntimeError, match="adaptive_avg_pool2d: output_size must be 2"):
        F.adaptive_avg_pool2d(x, (2, 2, 2))
    with pytest.raises(RuntimeError, match="stride should not be zero"):
        F.max_pool2d(x, 2, stride=0)
    with pytest.raises(
        RuntimeError, match="Expected input to have non-zero size for non-batch dimensions"
    ):
        F.adaptive_avg_pool2d(rtorch.randn(2, 3, 0, 4), 2)
    assert F.max_pool2d(rtorch.randn(0, 2, 4, 4), 2).shape == (0, 2, 2, 2)
    assert F.adaptive_avg_pool2d(rtorch.randn(1, 2, 4, 4), (0, 3)).shape == (1, 2, 0, 3)
    assert F.adaptive_max_pool1d(rtorch.randn(1, 2, 4), 0).shape == (1, 2, 0)
    with pytest.raises(
        RuntimeError,
        match=r"elements of output_size must be greater than or equal to 0 but received \{-1, -1\}",
    ):
        F.adaptive_avg_pool2d(x, -1)


def test_pooling_modules_reprs_and_forward():
    assert (
        repr(nn.MaxPool2d(2))
        == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    )
    assert (
        repr(nn.MaxPool1d(3, 2, 1, ceil_mode=True))
        == "MaxPool1d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)"
    )
    assert repr(nn.AvgPool1d(3)) == "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))"
    assert repr(nn.AvgPool2d(3, 2, 1)) == "AvgPool2d(kernel_size=3, stride=2, padding=1)"
    assert repr(nn.AdaptiveAvgPool2d((None, 3))) == "AdaptiveAvgPool2d(output_size=(None, 3))"
    assert repr(nn.AdaptiveMaxPool2d(3)) == "AdaptiveMaxPool2d(output_size=3)"
    x = t64((2, 3, 8, 7))
    v, i = nn.MaxPool2d(2, return_indices=True)(x)
    assert v.shape == i.shape == (2, 3, 4, 3)
    assert_np_close(
        nn.AvgPool2d(2)(x), np_avg_pool2d(to_np(x), (2, 2), (2, 2), (0, 0), False, True)
    )
    assert_np_close(nn.AdaptiveAvgPool2d(1)(x), to_np(x).mean(axis=(2, 3), keepdims=True))
    assert nn.AdaptiveMaxPool1d(3, return_indices=True)(t64((2, 3, 10)))[1].dtype == rtorch.int64
    assert list(nn.MaxPool2d(2).state_dict()) == []


def test_max_unpool_puts_maxima_back():
    x = t64((2, 3, 6, 5))
    v, i = F.max_pool2d(x, 2, return_indices=True)
    out = F.max_unpool2d(v, i, 2, output_size=(6, 5))
    ref = np.zeros((2, 3, 30))
    np.put_along_axis(
        ref, to_np(i).reshape(2, 3, -1).astype(np.int64), to_np(v).reshape(2, 3, -1), axis=2
    )
    assert_np_close(out, ref.reshape(2, 3, 6, 5))
    assert F.max_unpool2d(*F.max_pool2d(t64((1, 2, 6, 4)), 2, return_indices=True), 2).shape == (
        1,
        2,
        6,
        4,
    )
    unpool = nn.MaxUnpool2d(2)
    assert repr(unpool) == "MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    assert_np_close(unpool(v, i, output_size=[2, 3, 6, 5]), ref.reshape(2, 3, 6, 5))
    v1, i1 = F.max_pool1d(t64((2, 3, 9)), 3, 2, 1, return_indices=True)
    assert nn.MaxUnpool1d(3, 2, 1)(v1, i1).shape == (2, 3, 9)
    vg = v.detach().requires_grad_()
    assert gradcheck(lambda a: F.max_unpool2d(a, i, 2, output_size=(6, 5)), (vg,))
    with pytest.raises(ValueError, match="dim 0 must be between 4 and 8"):
        F.max_unpool2d(v, i, 2, output_size=(9, 5))
    with pytest.raises(
        RuntimeError, match=r"Found an invalid max index: 16 \(output volumes are of size 4x4\)"
    ):
        F.max_unpool2d(rtorch.randn(1, 1, 2, 2), rtorch.tensor([[[[0, 1], [2, 16]]]]), 2)


PARITY = r"""
def mk(torch, np, shape, seed, rg=True):
    t = torch.from_numpy(np.random.RandomState(seed).randn(*shape))
    return t.requires_grad_() if rg else t

def pc(fn, xs, *a, **kw):
    def f(torch, F, nn, np):
        x = mk(torch, np, xs, 0)
        y = getattr(F, fn)(x, *a, **kw)
        outs = list(y) if isinstance(y, tuple) else [y]
        (outs[0] * mk(torch, np, tuple(outs[0].shape), 3, False)).sum().backward()
        return outs + [x.grad]
    return f

CASES = {
    "mp2": pc("max_pool2d", (2, 3, 8, 7), (3, 2), (2, 1), 1, (1, 2), return_indices=True),
    "mp2_ceil": pc("max_pool2d", (1, 2, 6, 6), 3, 2, 1, 2, ceil_mode=True, return_indices=True),
    "mp1": pc("max_pool1d", (2, 3, 11), 3, 2, 1, ceil_mode=True, return_indices=True),
    "ap2": pc("avg_pool2d", (2, 3, 8, 7), 3, 2, 1, ceil_mode=True, count_include_pad=False),
    "ap1": pc("avg_pool1d", (2, 3, 11), 4, 3, 2, ceil_mode=True),
    "aap2": pc("adaptive_avg_pool2d", (2, 3, 8, 7), (3, 5)),
    "amp2": pc("adaptive_max_pool2d", (3, 4, 3), (6, 5), return_indices=True),
    "lp2": pc("lp_pool2d", (2, 3, 8, 7), 3, 2),
    "unpool": lambda torch, F, nn, np: F.max_unpool2d(*F.max_pool2d(mk(torch, np, (2, 2, 5, 6), 0), 3, 2, 1, return_indices=True), 3, 2, 1, output_size=(5, 6)),
    "e1": lambda torch, F, nn, np: F.avg_pool1d(torch.randn(2, 3, 7, 6), 2),
    "e2": lambda torch, F, nn, np: F.adaptive_max_pool2d(torch.randn(7, 6), 2),
    "e3": lambda torch, F, nn, np: F.max_pool2d(torch.randn(2, 0, 4, 4), 2),
    "e4": lambda torch, F, nn, np: F.max_pool2d(torch.randn(2, 3, 7, 6), 2, dilation=0),
}
"""


def test_parity_with_pytorch():
    theirs = torch_results(PARITY)
    if theirs is None:
        pytest.skip("PyTorch is not installed")
    assert compare(rtorch_results(PARITY), theirs) == []
