"""nn padding, resampling (interpolate, pixel shuffle, affine_grid) and distances."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import (
    assert_np_close,
    run_script,
    same_bits_at_every_simd_level,
    to_np,
    with_threads,
)
from nn_layers_parity import compare, rtorch_results, torch_results

import rtorch
import rtorch.nn.functional as F
from rtorch import nn
from rtorch.autograd import gradcheck, gradgradcheck

RNG = np.random.RandomState(4)


def t64(shape, requires_grad=False):
    return rtorch.tensor(RNG.randn(*shape), dtype=rtorch.float64, requires_grad=requires_grad)


# ---------------------------------------------------------------- pad


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_borders_match_numpy(mode):
    """Non-negative pads: the middle of each row copied in one run and the borders
    gathered; widths up to the dim's limit (past it for replicate), 1-d to 3-d, float32
    rows long enough for the vector copies, and the gradient adding each border back
    into its source."""
    x = rtorch.tensor(RNG.randn(2, 3, 5, 6, 40).astype(np.float32), requires_grad=True)
    xn = to_np(x)
    wide = {"reflect": (4, 39, 1, 5, 4, 2), "replicate": (45, 3, 7, 0, 0, 9),
            "circular": (40, 40, 6, 1, 2, 5)}[mode]  # fmt: skip
    for pads, inp in ((wide[:2], x[0, 0]), (wide[:4], x[0]), (wide, x)):
        out = F.pad(inp, pads, mode=mode)
        widths = [(0, 0)] * (inp.dim() - len(pads) // 2) + [
            (pads[2 * i], pads[2 * i + 1]) for i in reversed(range(len(pads) // 2))
        ]
        ref = np.pad(to_np(inp), widths, mode=NP_MODE[mode])
        assert np.array_equal(to_np(out), ref)
    g = RNG.randn(*out.shape).astype(np.float32)
    out.backward(rtorch.tensor(g))
    # The adjoint of the padding: every output gradient added at its source element.
    src = np.pad(np.arange(xn.size).reshape(xn.shape), widths, mode=NP_MODE[mode])
    want = np.bincount(src.reshape(-1), weights=g.reshape(-1).astype(np.float64), minlength=xn.size)
    np.testing.assert_allclose(to_np(x.grad).reshape(-1), want, rtol=1e-5, atol=1e-5)


NP_MODE = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_matches_numpy(mode):
    x = t64((2, 3, 4, 5))
    out = F.pad(x, (2, 1, 3, 0), mode=mode)
    ref = np.pad(to_np(x), ((0, 0), (0, 0), (3, 0), (2, 1)), mode=NP_MODE[mode])
    assert_np_close(out, ref)
    x1 = t64((3, 6))
    assert_np_close(
        F.pad(x1, (3, 2), mode=mode), np.pad(to_np(x1), ((0, 0), (3, 2)), mode=NP_MODE[mode])
    )
    assert gradcheck(lambda a: F.pad(a, (2, 1, 1, 2), mode=mode), (t64((1, 2, 3, 4), True),))


def test_constant_pad_value_negative_crop_and_dtypes():
    x = t64((2, 3, 4))
    assert_np_close(
        F.pad(x, (1, 1), value=2.5), np.pad(to_np(x), ((0, 0), (0, 0), (1, 1)), constant_values=2.5)
    )
    assert_np_close(F.pad(x, (-1, 2, 0, -2)), np.pad(to_np(x)[:, :1, 1:], ((0, 0), (0, 0), (0, 2))))
    assert_np_close(F.pad(x, (1, 1, 1, 1, 1, 1)), np.pad(to_np(x), 1))
    i = F.pad(rtorch.arange(4).view(1, 4), (2, 1), value=2.7)
    assert i.dtype == rtorch.int64
    np.testing.assert_array_equal(to_np(i), [[2, 2, 0, 1, 2, 3, 2]])
    nc = t64((4, 3)).t()
    assert_np_close(
        F.pad(nc, (1, 2), mode="reflect"), np.pad(to_np(nc), ((0, 0), (1, 2)), mode="reflect")
    )
    assert_np_close(F.pad(x, (0, 0)), to_np(x))


def _pad_reference(xn: np.ndarray, pads, mode: str) -> np.ndarray:
    """numpy's padding with negative amounts as crops: of the output for reflect and
    replicate (output i reads input i - left), of the input first for circular (which
    then wraps around what is left), as PyTorch."""
    n = len(pads) // 2
    lead = xn.ndim - n
    if mode == "circular":
        crop = [slice(None)] * lead
        for i in reversed(range(n)):
            left, right = pads[2 * i], pads[2 * i + 1]
            crop.append(slice(-left if left < 0 else 0, right if right < 0 else None))
        xn = xn[tuple(crop)]
        pads = tuple(max(p, 0) for p in pads)
    widths = [(0, 0)] * lead + [
        (max(pads[2 * i], 0), max(pads[2 * i + 1], 0)) for i in reversed(range(n))
    ]
    out = np.pad(xn, widths, mode=NP_MODE[mode])
    index = [slice(None)] * lead
    for i in reversed(range(n)):
        left, right = pads[2 * i], pads[2 * i + 1]
        index.append(slice(-left if left < 0 else 0, right if right < 0 else None))
    return out[tuple(index)]


def _pad_adjoint(shape, pads, mode: str, g: np.ndarray) -> np.ndarray:
    """The padding's gradient: each output gradient added at the element it reads."""
    size = int(np.prod(shape))
    src = _pad_reference(np.arange(size).reshape(shape), pads, mode)
    return np.bincount(src.reshape(-1), weights=g.reshape(-1), minlength=size).reshape(shape)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "shape,pads",
    [
        ((2, 7), (-2, 3)),
        ((2, 3, 6), (3, -1)),
        ((3, 5, 6), (-1, 2, 3, -2)),
        ((2, 2, 4, 5, 6), (1, -2, -1, 3, 2, 0)),
        ((2, 3, 4, 5), (0, 0, 2, 1)),
    ],
)
def test_pad_negative_amounts_and_gradients_match_numpy(mode, shape, pads):
    """Negative amounts crop (output i reads input i - left on every mode), zero pairs
    leave a dim alone; float64 values and gradients against numpy, gradgradcheck."""
    x = t64(shape, True)
    out = F.pad(x, pads, mode=mode)
    ref = _pad_reference(to_np(x), pads, mode)
    assert_np_close(out, ref)
    g = RNG.randn(*ref.shape)
    out.backward(rtorch.tensor(g))
    assert_np_close(x.grad, _pad_adjoint(shape, pads, mode, g))
    small = t64(shape[:1] + tuple(min(s, 4) for s in shape[1:]), True)
    fit = tuple(max(-1, min(p, 2)) for p in pads)
    assert gradgradcheck(lambda a: F.pad(a, fit, mode=mode), (small,))


def test_pad_dtypes_layouts_threads_and_names():
    """Every dtype moves its elements unchanged (bool on circular only, as PyTorch);
    the half types' gradients are summed in float32; non-contiguous inputs; a tensor
    above the parallel grain gives the same bits on one and two threads; an empty
    batch; PyTorch's grad_fn names."""
    xi = rtorch.arange(60).view(3, 4, 5)
    for dt in (rtorch.int64, rtorch.uint8, rtorch.int16, rtorch.float16, rtorch.bfloat16):
        out = F.pad(xi.to(dt), (2, 1, 1, 3), mode="reflect")
        assert out.dtype == dt
        np.testing.assert_array_equal(
            to_np(out.to(rtorch.int64)), _pad_reference(to_np(xi), (2, 1, 1, 3), "reflect")
        )
    b = (xi % 3 == 0).view(3, 20)
    np.testing.assert_array_equal(
        to_np(F.pad(b, (4, 2), mode="circular")), _pad_reference(to_np(b), (4, 2), "circular")
    )
    for mode, kernel in (("reflect", "reflection_pad1d"), ("replicate", "replication_pad1d")):
        with pytest.raises(NotImplementedError, match=f"\"{kernel}\" not implemented for 'Bool'"):
            F.pad(b, (1, 1), mode=mode)
    for dt in (rtorch.float16, rtorch.bfloat16):
        h = rtorch.tensor(RNG.randn(2, 3, 6), dtype=dt, requires_grad=True)
        out = F.pad(h, (3, 2), mode="replicate")
        g = rtorch.tensor(RNG.randn(2, 3, 11), dtype=dt)
        out.backward(g)
        assert h.grad.dtype == dt
        want = _pad_adjoint((2, 3, 6), (3, 2), "replicate", to_np(g.float()))
        np.testing.assert_allclose(to_np(h.grad.float()), want, rtol=1e-2, atol=1e-2)
    base = t64((4, 6, 5))
    for nc in (base.transpose(1, 2), base[:, ::2, 1:]):
        assert not nc.is_contiguous()
        assert_np_close(
            F.pad(nc, (2, 2, 1, 0), mode="reflect"),
            _pad_reference(to_np(nc), (2, 2, 1, 0), "reflect"),
        )
    big = rtorch.tensor(RNG.randn(8, 16, 40, 70).astype(np.float32), requires_grad=True)
    gb = rtorch.tensor(RNG.randn(8, 16, 45, 76).astype(np.float32))

    def run():
        big.grad = None
        out = F.pad(big, (3, 3, 2, 3), mode="reflect")
        out.backward(gb)
        return to_np(out), to_np(big.grad)

    one, two = with_threads(1, run), with_threads(2, run)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])
    np.testing.assert_array_equal(one[0], _pad_reference(to_np(big), (3, 3, 2, 3), "reflect"))
    want = _pad_adjoint((8, 16, 40, 70), (3, 3, 2, 3), "reflect", to_np(gb))
    np.testing.assert_allclose(one[1], want, rtol=1e-5, atol=1e-5)
    empty = rtorch.randn(0, 3, 5, requires_grad=True)
    out = F.pad(empty, (2, 2), mode="circular")
    assert tuple(out.shape) == (0, 3, 9)
    out.sum().backward()
    assert tuple(empty.grad.shape) == (0, 3, 5)
    names = {
        "reflect": "ReflectionPad{}DBackward0",
        "replicate": "ReplicationPad{}DBackward0",
        "circular": "CopySlices",
    }
    for mode, name in names.items():
        for n in (1, 2, 3):
            x = rtorch.randn(*([2, 3] + [5] * n), requires_grad=True)
            assert F.pad(x, (1, 2) * n, mode=mode).grad_fn.name() == name.format(n)
    meta = F.pad(rtorch.empty(2, 3, 5, device="meta"), (1, 2), mode="reflect")
    assert meta.device.type == "meta" and tuple(meta.shape) == (2, 3, 8)


def test_pad_kernel_checks_its_arguments():
    """`_C._pad` called directly: what the Python checks would refuse is an error there
    too, never a crash."""
    x = rtorch.randn(2, 3, 5)
    for pads, mode in (
        ([5, 0], "reflect"),
        ([6, 0], "circular"),
        ([-3, -3], "replicate"),
        ([1, 1, 1], "reflect"),
        ([1, 1] * 3, "reflect"),
        ([2**62, 2**62], "replicate"),
    ):
        with pytest.raises((RuntimeError, NotImplementedError)):
            rtorch._C._pad(x, pads, mode)
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode"):
        rtorch._C._pad(x, [1, 1], "edge")
    with pytest.raises(RuntimeError, match="does not fit"):
        rtorch._C._pad(rtorch.randn(2, 0, 5), [1, 1, 1, 1], "replicate")


def test_pad_errors():
    x = rtorch.randn(1, 2, 3)
    with pytest.raises(RuntimeError, match="Padding length must be divisible by 2"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(
        RuntimeError,
        match=r"Argument #4: Padding size should be less than the corresponding input dimension, but got: padding \(3, 0\) at dimension 2 of input \[1, 2, 3\]",
    ):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(RuntimeError, match="Padding value causes wrapping around more than once."):
        F.pad(x, (4, 0), mode="circular")
    # Circular padding crops first: 3 values kept of 5, so 4 would wrap twice.
    with pytest.raises(RuntimeError, match="Padding value causes wrapping around more than once."):
        F.pad(rtorch.randn(1, 5), (4, -2), mode="circular")
    with pytest.raises(
        NotImplementedError, match="Padding size 2 is not supported for 4D input tensor."
    ):
        F.pad(rtorch.randn(1, 2, 3, 3), (1, 1), mode="reflect")
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode foo"):
        F.pad(x, (1, 1), mode="foo")
    with pytest.raises(
        RuntimeError,
        match="Padding length should be less than or equal to two times the input dimension",
    ):
        F.pad(x, (1,) * 8)
    with pytest.raises(
        RuntimeError, match='Padding mode "reflect" doesn\'t take in value argument'
    ):
        F.pad(x, (1, 1), mode="reflect", value=2.0)


def test_padding_modules():
    x = t64((1, 2, 3, 4))
    assert repr(nn.ZeroPad2d(1)) == "ZeroPad2d((1, 1, 1, 1))"
    assert repr(nn.ConstantPad1d(2, 3.5)) == "ConstantPad1d(padding=(2, 2), value=3.5)"
    assert repr(nn.ReflectionPad2d((1, 2, 0, 1))) == "ReflectionPad2d((1, 2, 0, 1))"
    assert repr(nn.CircularPad2d(1)) == "CircularPad2d((1, 1, 1, 1))"
    assert_np_close(
        nn.ZeroPad2d((1, 0, 2, 1))(x), np.pad(to_np(x), ((0, 0), (0, 0), (2, 1), (1, 0)))
    )
    assert_np_close(
        nn.ConstantPad2d(1, -1.0)(x),
        np.pad(to_np(x), ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-1.0),
    )
    assert_np_close(
        nn.ReflectionPad2d(2)(x), np.pad(to_np(x), ((0, 0), (0, 0), (2, 2), (2, 2)), mode="reflect")
    )
    assert_np_close(
        nn.ReplicationPad1d((0, 3))(x[0]),
        np.pad(to_np(x[0]), ((0, 0), (0, 0), (0, 3)), mode="edge"),
    )
    assert_np_close(
        nn.CircularPad2d(1)(x), np.pad(to_np(x), ((0, 0), (0, 0), (1, 1), (1, 1)), mode="wrap")
    )
    assert_np_close(
        nn.ReflectionPad1d(2)(x[0]), np.pad(to_np(x[0]), ((0, 0), (0, 0), (2, 2)), mode="reflect")
    )
    assert list(nn.ZeroPad2d(1).state_dict()) == []


# ---------------------------------------------------------------- interpolate


def np_nearest_index(n_in, n_out, scale=None, exact=False):
    s = np.float32(1.0 / scale if scale else n_in / n_out)
    pos = np.arange(n_out, dtype=np.float32) + (np.float32(0.5) if exact else np.float32(0))
    return np.minimum(np.floor(pos * s).astype(np.int64), n_in - 1)


def np_linear_1d(x, axis, n_out, align_corners, scale=None):
    n_in = x.shape[axis]
    out = []
    for j in range(n_out):
        if align_corners:
            src = j * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        else:
            s = 1.0 / scale if scale else n_in / n_out
            src = max(s * (j + 0.5) - 0.5, 0.0)
        i0 = min(math.floor(src), n_in - 1)
        i1 = min(i0 + 1, n_in - 1)
        lam = src - i0
        out.append(np.take(x, i0, axis=axis) * (1 - lam) + np.take(x, i1, axis=axis) * lam)
    return np.stack(out, axis=axis)


def np_cubic_1d(x, axis, n_out, align_corners):
    a = -0.75

    def weight(d):
        d = abs(d)
        if d <= 1:
            return ((a + 2) * d - (a + 3)) * d * d + 1
        if d < 2:
            return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
        return 0.0

    n_in = x.shape[axis]
    out = []
    for j in range(n_out):
        src = j * (n_in - 1) / (n_out - 1) if align_corners else (n_in / n_out) * (j + 0.5) - 0.5
        base = math.floor(src)
        acc = 0
        for k in range(-1, 3):
            idx = min(max(base + k, 0), n_in - 1)
            acc = acc + np.take(x, idx, axis=axis) * weight(src - (base + k))
        out.append(acc)
    return np.stack(out, axis=axis)


def test_interpolate_nearest_modes():
    x = t64((1, 2, 5, 7))
    xn = to_np(x)
    ih, iw = np_nearest_index(5, 3), np_nearest_index(7, 11)
    assert_np_close(F.interpolate(x, size=(3, 11)), xn[:, :, ih][:, :, :, iw])
    eh, ew = np_nearest_index(5, 3, exact=True), np_nearest_index(7, 11, exact=True)
    assert_np_close(F.interpolate(x, size=(3, 11), mode="nearest-exact"), xn[:, :, eh][:, :, :, ew])
    sh, sw = np_nearest_index(5, 8, 1.7), np_nearest_index(7, 4, 0.6)
    assert_np_close(F.interpolate(x, scale_factor=(1.7, 0.6)), xn[:, :, sh][:, :, :, sw])
    up = F.interpolate(x, scale_factor=2)
    assert_np_close(up, xn.repeat(2, axis=2).repeat(2, axis=3))
    # Twice the size takes every source twice whatever the scale (PyTorch's nearest_idx):
    # 1 / 2.0000001 in float32 would put output 2 on source 0.
    up = F.interpolate(x, scale_factor=2.0000001)
    assert_np_close(up, xn.repeat(2, axis=2).repeat(2, axis=3))
    ints = rtorch.arange(12, dtype=rtorch.int16).reshape(1, 1, 3, 4)
    assert np.array_equal(
        to_np(F.interpolate(ints, size=(6, 2))), to_np(ints).repeat(2, axis=2)[..., ::2]
    )
    v = t64((2, 3, 7))
    assert_np_close(F.interpolate(v, size=4), to_np(v)[:, :, np_nearest_index(7, 4)])
    assert F.interpolate(t64((1, 2, 3, 4, 5)), size=(5, 3, 7)).shape == (1, 2, 5, 3, 7)


@pytest.mark.parametrize("align_corners", [False, True])
def test_interpolate_linear_modes(align_corners):
    x = t64((1, 2, 5, 7))
    out = F.interpolate(x, size=(3, 11), mode="bilinear", align_corners=align_corners)
    ref = np_linear_1d(np_linear_1d(to_np(x), 2, 3, align_corners), 3, 11, align_corners)
    assert_np_close(out, ref)
    v = t64((2, 3, 7))
    assert_np_close(
        F.interpolate(v, size=11, mode="linear", align_corners=align_corners),
        np_linear_1d(to_np(v), 2, 11, align_corners),
    )
    bic = F.interpolate(x, size=(9, 4), mode="bicubic", align_corners=align_corners)
    assert_np_close(
        bic, np_cubic_1d(np_cubic_1d(to_np(x), 2, 9, align_corners), 3, 4, align_corners)
    )
    t = t64((1, 2, 3, 4, 5))
    tri = F.interpolate(t, size=(5, 3, 7), mode="trilinear", align_corners=align_corners)
    ref3 = to_np(t)
    for axis, n in ((2, 5), (3, 3), (4, 7)):
        ref3 = np_linear_1d(ref3, axis, n, align_corners)
    assert_np_close(tri, ref3)


def test_interpolate_scale_factor_uses_given_scale_and_area_mode():
    x = t64((1, 2, 5, 7))
    out = F.interpolate(x, scale_factor=1.5, mode="bilinear")
    ref = np_linear_1d(np_linear_1d(to_np(x), 2, 7, False, 1.5), 3, 10, False, 1.5)
    assert_np_close(out, ref)
    area = F.interpolate(x, size=(5, 7), mode="area")
    assert_np_close(area, to_np(x))
    assert_np_close(
        F.interpolate(t64((1, 1, 4, 4)) * 0 + 1, size=(3, 2), mode="area"), np.ones((1, 1, 3, 2))
    )


def test_interpolate_gradcheck():
    x = t64((1, 2, 4, 3), True)
    assert gradcheck(lambda a: F.interpolate(a, size=(5, 7), mode="bilinear"), (x,))
    assert gradcheck(
        lambda a: F.interpolate(a, size=(6, 2), mode="bicubic", align_corners=True), (x,)
    )
    assert gradcheck(lambda a: F.interpolate(a, scale_factor=2), (x,))


def _np_matrix(mode: str, n_in: int, n_out: int, align_corners: bool) -> np.ndarray:
    """One axis's resampling as a dense (n_out, n_in) matrix, in float64."""
    if mode == "bicubic":
        return np_cubic_1d(np.eye(n_in), 0, n_out, align_corners)
    return np_linear_1d(np.eye(n_in), 0, n_out, align_corners)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("size", [(57, 33), (9, 4)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_interpolate_large_batches_and_gradient(mode, size, align_corners):
    """The last axis is resampled first, by gathers (inner size 1); the height then by
    whole rows of 33 (the row form: a SIMD body and a tail; 3*70*57 rows cross the
    parallel grain) or of 4 (gathers of 4). Down-sampling to (9, 4) leaves source rows
    without taps, whose gradient is zero. The gradient is the transposed product."""
    x = t64((3, 70, 40, 30), True)
    out = F.interpolate(x, size=size, mode=mode, align_corners=align_corners)
    mh = _np_matrix(mode, 40, size[0], align_corners)
    mw = _np_matrix(mode, 30, size[1], align_corners)
    assert_np_close(out, np.einsum("oh,nchw,pw->ncop", mh, to_np(x), mw))
    g = RNG.randn(*out.shape)
    out.backward(rtorch.tensor(g))
    assert_np_close(x.grad, np.einsum("oh,ncop,pw->nchw", mh, g, mw))
    assert (
        out.grad_fn.name()
        == {
            "bilinear": "UpsampleBilinear2DBackward0",
            "bicubic": "UpsampleBicubic2DBackward0",
        }[mode]
    )


def test_interpolate_float32_half_types_and_layouts():
    x64 = t64((2, 5, 13, 21))
    ref = np.einsum(
        "oh,nchw,pw->ncop",
        _np_matrix("bilinear", 13, 30, False),
        to_np(x64),
        _np_matrix("bilinear", 21, 17, False),
    )
    x32 = x64.float()
    out32 = F.interpolate(x32, size=(30, 17), mode="bilinear")
    assert out32.dtype == rtorch.float32
    assert_np_close(out32, ref)
    # float16 and bfloat16 are computed in float32 and rounded once, at the end.
    for half in (rtorch.float16, rtorch.bfloat16):
        xh = x32.to(half)
        got = F.interpolate(xh, size=(30, 17), mode="bilinear")
        assert got.dtype == half
        want = F.interpolate(xh.float(), size=(30, 17), mode="bilinear").to(half)
        assert np.array_equal(to_np(got.float()), to_np(want.float()))
    # Non-contiguous inputs: channels last through a permute, and a strided slice.
    nhwc = x64.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    assert not nhwc.is_contiguous()
    assert np.array_equal(
        to_np(F.interpolate(nhwc, size=(30, 17), mode="bilinear")),
        to_np(F.interpolate(x64, size=(30, 17), mode="bilinear")),
    )
    sliced = x64[:, ::2, 1:, ::3]
    assert_np_close(
        F.interpolate(sliced, size=(8, 9), mode="bicubic"),
        np.einsum(
            "oh,nchw,pw->ncop",
            _np_matrix("bicubic", 12, 8, False),
            to_np(sliced),
            _np_matrix("bicubic", 7, 9, False),
        ),
    )


def test_interpolate_empty_and_thread_count():
    x = rtorch.zeros(0, 3, 4, 5, requires_grad=True)
    out = F.interpolate(x, size=(7, 2), mode="bilinear")
    assert tuple(out.shape) == (0, 3, 7, 2)
    out.sum().backward()
    assert tuple(x.grad.shape) == (0, 3, 4, 5)
    # The same bits for any thread count (the work is split by whole output rows).
    x = rtorch.tensor(RNG.randn(4, 16, 33, 47).astype(np.float32), requires_grad=True)
    g = rtorch.tensor(RNG.randn(4, 16, 70, 90).astype(np.float32))

    def run():
        x.grad = None
        out = F.interpolate(x, size=(70, 90), mode="bicubic")
        out.backward(g)
        return to_np(out).tobytes(), to_np(x.grad).tobytes()

    assert with_threads(1, run) == with_threads(2, run) == with_threads(3, run)


_RESAMPLE_SCRIPT = """
import numpy as np
import rtorch
import rtorch.nn.functional as F
rng = np.random.default_rng(0)
x = rtorch.tensor(rng.standard_normal((3, 4, 19, 37)).astype(np.float32), requires_grad=True)
out = F.interpolate(x, size=(41, 23), mode="bicubic", align_corners=True)
out.backward(rtorch.tensor(rng.standard_normal(tuple(out.shape)).astype(np.float32)))
for t in (out.detach(), x.grad):
    print(t.numpy().tobytes().hex())
"""


def test_interpolate_bits_do_not_depend_on_the_simd_level():
    """Products rounded, then added, in tap order on every level."""
    assert same_bits_at_every_simd_level(_RESAMPLE_SCRIPT)


def test_interpolate_double_backward():
    x = t64((1, 2, 4, 3), True)
    from rtorch.autograd import gradgradcheck

    assert gradgradcheck(lambda a: F.interpolate(a, size=(5, 7), mode="bilinear"), (x,))
    assert gradgradcheck(
        lambda a: F.interpolate(a, size=(3, 5), mode="bicubic", align_corners=True), (x,)
    )
    v = t64((2, 3, 6), True)
    assert gradgradcheck(lambda a: F.interpolate(a, size=4, mode="linear"), (v,))


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_interpolate_uint8_rounds_after_each_axis(mode):
    """uint8 images: the width first, then the height, each rounded (halves up) and
    saturated."""
    xn = RNG.randint(0, 256, size=(2, 3, 9, 11))
    x = rtorch.tensor(xn.astype(np.uint8))
    one = np_cubic_1d if mode == "bicubic" else np_linear_1d

    def rounded(v):
        return np.clip(np.floor(v + 0.5), 0, 255)

    def check(got, exact):
        # Exact away from rounding ties; at a tie (a weighted sum of integers can be
        # one) the float32 weights may fall on either side.
        assert got.dtype == rtorch.uint8
        diff = np.abs(to_np(got).astype(np.int64) - rounded(exact))
        tie = np.abs(exact - np.floor(exact) - 0.5) < 1e-4
        assert diff.max() <= 1 and not np.any(diff[~tie])

    # One axis at a time (the other keeps its size: identity weights).
    check(F.interpolate(x, size=(9, 6), mode=mode), one(xn.astype(np.float64), 3, 6, False))
    check(F.interpolate(x, size=(14, 11), mode=mode), one(xn.astype(np.float64), 2, 14, False))
    # Both: the height pass reads the rounded width pass. (PyTorch's fixed-point weights
    # differ from float32 ones in 0.07% of 120k values, by 1: a throwaway comparison.)
    ref = rounded(one(rounded(one(xn.astype(np.float64), 3, 6, False)), 2, 14, False))
    diff = np.abs(to_np(F.interpolate(x, size=(14, 6), mode=mode)).astype(np.int64) - ref)
    assert diff.max() <= 1 and (diff > 0).mean() < 0.1


def test_interpolate_integer_inputs_other_than_uint8_images_are_not_implemented():
    with pytest.raises(
        NotImplementedError, match="compute_indices_weights_linear\" not implemented for 'Int'"
    ):
        F.interpolate(rtorch.ones(1, 1, 4, dtype=rtorch.int32), size=8, mode="linear")
    with pytest.raises(
        NotImplementedError, match="upsample_bilinear2d_channels_last\" not implemented for 'Long'"
    ):
        F.interpolate(rtorch.ones(1, 1, 4, 4, dtype=rtorch.int64), size=8, mode="bilinear")
    with pytest.raises(NotImplementedError, match="not implemented for 'Byte'"):
        F.interpolate(rtorch.ones(1, 1, 2, 4, 4, dtype=rtorch.uint8), size=8, mode="trilinear")


def test_interpolate_huge_sizes_are_errors_not_aborts():
    # The coordinates of each axis are reserved fallibly (an empty batch makes the output
    # itself free to allocate).
    for mode in ("bilinear", "bicubic", "nearest"):
        with pytest.raises(RuntimeError, match="cannot allocate"):
            F.interpolate(rtorch.zeros(0, 1, 2, 2), size=(2**50, 2), mode=mode)
    with pytest.raises(RuntimeError):
        F.interpolate(rtorch.zeros(1, 1, 2, 2), size=(10**12, 2), mode="bilinear")


def test_interpolate_kernel_checks_its_arguments():
    """``_C._interpolate`` is reached after ``F.interpolate``'s own checks; it still
    refuses what it cannot compute, with an error rather than a crash."""
    x = t64((2, 3, 5))
    with pytest.raises(ValueError, match="unknown mode 'cubic'"):
        rtorch._C._interpolate(x, [4], [None], False, "cubic")
    with pytest.raises(NotImplementedError, match="Got 3D input, but bilinear mode needs 4D"):
        rtorch._C._interpolate(x, [4], [None], False, "bilinear")
    with pytest.raises(NotImplementedError, match="needs 3D input and 1 output sizes"):
        rtorch._C._interpolate(x, [4, 4], [None, None], False, "linear")
    with pytest.raises(RuntimeError, match="Input and output sizes should be greater than 0"):
        rtorch._C._interpolate(x, [0], [None], False, "linear")
    with pytest.raises(RuntimeError, match="Input and output sizes should be greater than 0"):
        rtorch._C._interpolate(t64((2, 3, 0)), [3], [None], False, "linear")
    # A scale given with the size: the coordinates use it (1 / 0.5 = 2 input positions
    # per output), clamped at the last input.
    out = rtorch._C._interpolate(x, [4], [0.5], False, "linear")
    xn = to_np(x)
    ref = np_linear_1d(xn, 2, 4, False, 0.5)
    assert_np_close(out, ref)
    # Odd scales (zero, negative, nan) fall back to input over output size, as PyTorch's
    # compute_scales_value; none of them may crash.
    for bad in (0.0, -1.0, float("nan")):
        assert_np_close(
            rtorch._C._interpolate(x, [4], [bad], False, "linear"), np_linear_1d(xn, 2, 4, False)
        )
    # The meta device: shapes only.
    m = F.interpolate(rtorch.empty(2, 3, 6, 5, device="meta"), size=(7, 9), mode="bicubic")
    assert m.device.type == "meta" and tuple(m.shape) == (2, 3, 7, 9)


def test_interpolate_errors():
    x = rtorch.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match="either size or scale_factor should be defined"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="only one of size or scale_factor should be defined"):
        F.interpolate(x, size=2, scale_factor=2)
    with pytest.raises(
        ValueError, match="Input and output must have the same number of spatial dimensions"
    ):
        F.interpolate(x, size=(2,))
    with pytest.raises(
        ValueError, match="align_corners option can only be set with the interpolating modes"
    ):
        F.interpolate(x, size=3, align_corners=True)
    with pytest.raises(NotImplementedError, match="Got 4D input, but linear mode needs 3D input"):
        F.interpolate(x, size=3, mode="linear")
    with pytest.raises(
        NotImplementedError, match=r"Only 3D, 4D and 5D input Tensors supported \(got 2D\)"
    ):
        F.interpolate(rtorch.randn(2, 3), size=3)
    with pytest.raises(ValueError, match="Anti-alias option is restricted to bilinear"):
        F.interpolate(x, size=3, mode="nearest", antialias=True)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("size", [(12, 20), (5, 7), (30, 40), (60, 80)])
def test_interpolate_antialias_matches_pillow(mode, size) -> None:
    # PyTorch's antialiased kernels are Pillow's filters (triangle; cubic a = -0.5),
    # widened by the down-scaling factor: Pillow's float ('F') resize is the reference.
    from PIL import Image

    a = np.random.default_rng(0).random((37, 53)).astype(np.float32) * 255
    pil = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}[mode]
    ref = np.asarray(Image.fromarray(a, mode="F").resize((size[1], size[0]), pil))
    x = rtorch.tensor(a)[None, None].expand(2, 3, 37, 53)
    got = F.interpolate(x, size=size, mode=mode, antialias=True)
    assert got.shape == (2, 3, *size)
    np.testing.assert_allclose(got[1, 2].numpy(), ref, rtol=0, atol=1e-4)  # float32 sums
    u8 = F.interpolate(
        rtorch.tensor(a.round()).to(rtorch.uint8)[None, None], size=size, mode=mode, antialias=True
    )
    assert u8.dtype is rtorch.uint8
    ref8 = np.asarray(Image.fromarray(a.round().astype(np.uint8)).resize((size[1], size[0]), pil))
    assert np.abs(u8[0, 0].numpy().astype(int) - ref8.astype(int)).max() <= 1


def test_interpolate_antialias_scale_factor_and_gradient() -> None:
    x = rtorch.arange(30.0, dtype=rtorch.float64).reshape(1, 2, 3, 5).requires_grad_()
    by_scale = F.interpolate(x, scale_factor=0.5, mode="bilinear", antialias=True)
    assert by_scale.shape == (1, 2, 1, 2)
    # The given scale (not in/out = 3/1) sets the step, 2 on both axes: the triangle
    # of half-width 2 centred at 1.0 weighs pixels 0, 1, 2 by 0.75, 0.75, 0.25 (then
    # normalised to sum 1), on rows and columns alike.
    cols = np.array([0.75, 0.75, 0.25, 0.0, 0.0]) / 1.75
    rows = np.array([0.75, 0.75, 0.25]) / 1.75
    xs = np.arange(30.0).reshape(2, 3, 5)
    np.testing.assert_allclose(by_scale[0, 0, 0, 0].item(), rows @ xs[0] @ cols, rtol=1e-12)
    assert gradcheck(lambda t: F.interpolate(t, size=(2, 4), mode="bicubic", antialias=True), (x,))


def test_pixel_shuffle_roundtrip_and_reference():
    x = t64((2, 8, 3, 4))
    out = F.pixel_shuffle(x, 2)
    ref = to_np(x).reshape(2, 2, 2, 2, 3, 4).transpose(0, 1, 4, 2, 5, 3).reshape(2, 2, 6, 8)
    assert_np_close(out, ref)
    assert_np_close(F.pixel_unshuffle(out, 2), to_np(x))
    assert F.pixel_shuffle(t64((3, 2, 9, 3, 4)), 3).shape == (3, 2, 1, 9, 12)
    with pytest.raises(
        RuntimeError, match="pixel_shuffle expects input to have at least 3 dimensions"
    ):
        F.pixel_shuffle(rtorch.randn(2, 3), 2)
    with pytest.raises(RuntimeError, match=r"input.size\(-3\)=5 is not divisible by 4"):
        F.pixel_shuffle(rtorch.randn(1, 5, 2, 2), 2)
    with pytest.raises(RuntimeError, match=r"input.size\(-2\)=3 is not divisible by 2"):
        F.pixel_unshuffle(rtorch.randn(1, 1, 3, 4), 2)
    assert repr(nn.PixelShuffle(2)) == "PixelShuffle(upscale_factor=2)"
    assert repr(nn.PixelUnshuffle(3)) == "PixelUnshuffle(downscale_factor=3)"
    assert nn.PixelShuffle(3)(rtorch.randn(1, 9, 4, 4)).shape == (1, 1, 12, 12)


def test_channel_shuffle():
    x = t64((2, 6, 3, 2))
    ref = to_np(x).reshape(2, 3, 2, 3, 2).transpose(0, 2, 1, 3, 4).reshape(2, 6, 3, 2)
    assert_np_close(F.channel_shuffle(x, 3), ref)
    assert_np_close(nn.ChannelShuffle(3)(x), ref)
    assert repr(nn.ChannelShuffle(2)) == "ChannelShuffle(groups=2)"
    with pytest.raises(
        RuntimeError,
        match="Number of channels must be divisible by groups. Got 5 channels and 2 groups.",
    ):
        F.channel_shuffle(rtorch.randn(1, 5, 2), 2)


def test_upsample_modules():
    x = t64((1, 2, 3, 4))
    assert repr(nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"
    assert (
        repr(nn.Upsample(size=(3, 4), mode="bilinear")) == "Upsample(size=(3, 4), mode='bilinear')"
    )
    assert repr(nn.UpsamplingBilinear2d(size=4)) == "UpsamplingBilinear2d(size=4, mode='bilinear')"
    assert_np_close(nn.UpsamplingNearest2d(scale_factor=2)(x), to_np(x).repeat(2, 2).repeat(2, 3))
    bl = nn.UpsamplingBilinear2d(size=(5, 6))(x)
    assert_np_close(bl, np_linear_1d(np_linear_1d(to_np(x), 2, 5, True), 3, 6, True))


def test_affine_grid_identity():
    theta = rtorch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=rtorch.float64)
    grid = F.affine_grid(theta, (1, 1, 2, 3), align_corners=True)
    xs, ys = np.meshgrid(np.linspace(-1, 1, 3), np.linspace(-1, 1, 2))
    assert_np_close(grid, np.stack([xs, ys], axis=-1)[None])
    g2 = F.affine_grid(theta, (1, 1, 2, 3), align_corners=False)
    xs2, ys2 = np.meshgrid(np.linspace(-1, 1, 3) * 2 / 3, np.linspace(-1, 1, 2) * 1 / 2)
    assert_np_close(g2, np.stack([xs2, ys2], axis=-1)[None])


def np_grid_sample_trilinear_zeros(x, grid, align):
    n, c, d, h, w = x.shape
    out = np.zeros((n, c, *grid.shape[1:4]))
    for b in range(n):
        for pos in np.ndindex(*grid.shape[1:4]):
            gx, gy, gz = grid[(b, *pos)]
            if align:
                f = [(gz + 1) / 2 * (d - 1), (gy + 1) / 2 * (h - 1), (gx + 1) / 2 * (w - 1)]
            else:
                f = [((gz + 1) * d - 1) / 2, ((gy + 1) * h - 1) / 2, ((gx + 1) * w - 1) / 2]
            lo = [math.floor(v) for v in f]
            for corner in np.ndindex(2, 2, 2):
                idx = [lo[k] + corner[k] for k in range(3)]
                wt = math.prod(f[k] - lo[k] if corner[k] else 1 - (f[k] - lo[k]) for k in range(3))
                if 0 <= idx[0] < d and 0 <= idx[1] < h and 0 <= idx[2] < w:
                    out[(b, slice(None), *pos)] += wt * x[b, :, idx[0], idx[1], idx[2]]
    return out


@pytest.mark.parametrize("align", [False, True])
def test_grid_sample_and_affine_grid_volumes(align):
    rng = np.random.default_rng(21)
    x = rng.standard_normal((2, 3, 4, 5, 6))
    grid = rng.uniform(-1.2, 1.2, (2, 3, 2, 4, 3))
    got = F.grid_sample(rtorch.tensor(x), rtorch.tensor(grid), align_corners=align)
    assert_np_close(got, np_grid_sample_trilinear_zeros(x, grid, align))
    # Nearest lands on a voxel value (or zero outside).
    near = F.grid_sample(rtorch.tensor(x), rtorch.tensor(grid), "nearest", align_corners=align)
    assert tuple(near.shape) == (2, 3, 3, 2, 4)
    xt = rtorch.tensor(x, requires_grad=True)
    gt = rtorch.tensor(grid * 0.7, requires_grad=True)
    assert gradcheck(
        lambda a, g: F.grid_sample(a, g, padding_mode="border", align_corners=align), (xt, gt)
    )
    # affine_grid in 3-D: theta applied to each voxel's normalized (x, y, z, 1).
    theta = rng.standard_normal((2, 3, 4))
    g = F.affine_grid(rtorch.tensor(theta), (2, 1, 2, 3, 4), align_corners=align).numpy()

    def axis(n):
        line = np.linspace(-1, 1, n) if n > 1 else np.zeros(n)
        return line if align else line * (n - 1) / n

    zs, ys, xs = np.meshgrid(axis(2), axis(3), axis(4), indexing="ij")
    base = np.stack([xs, ys, zs, np.ones_like(xs)], -1)
    np.testing.assert_allclose(g, np.einsum("dhwk,njk->ndhwj", base, theta), rtol=1e-12, atol=1e-14)
    with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D input"):
        F.grid_sample(rtorch.tensor(x), rtorch.tensor(grid), "bicubic", align_corners=align)
    with pytest.raises(RuntimeError, match="expected 4D or 5D input and grid"):
        F.grid_sample(rtorch.tensor(x), rtorch.tensor(grid[:, 0]), align_corners=align)
    with pytest.raises(ValueError, match="shape Nx3x4 for size"):
        F.affine_grid(rtorch.tensor(theta[:, :2, :3]), (2, 1, 2, 3, 4), align_corners=align)


def test_grid_sample_volumes_match_torch(torch_ref):
    torch = torch_ref
    rng = np.random.default_rng(22)
    x = rng.standard_normal((1, 2, 3, 4, 5))
    grid = rng.uniform(-1.1, 1.1, (1, 2, 3, 2, 3))
    for mode in ("bilinear", "nearest"):
        for padding in ("zeros", "border", "reflection"):
            for align in (False, True):
                mine = F.grid_sample(rtorch.tensor(x), rtorch.tensor(grid), mode, padding, align)
                theirs = torch.nn.functional.grid_sample(
                    torch.tensor(x), torch.tensor(grid), mode, padding, align
                )
                np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-13)


def np_grid_sample_bilinear_zeros(x, grid):
    n, c, h, w = x.shape
    _, ho, wo, _ = grid.shape
    out = np.zeros((n, c, ho, wo))
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                fx = ((grid[b, i, j, 0] + 1) * w - 1) / 2
                fy = ((grid[b, i, j, 1] + 1) * h - 1) / 2
                x0, y0 = math.floor(fx), math.floor(fy)
                for yy, xx, wt in (
                    (y0, x0, (1 - (fy - y0)) * (1 - (fx - x0))),
                    (y0, x0 + 1, (1 - (fy - y0)) * (fx - x0)),
                    (y0 + 1, x0, (fy - y0) * (1 - (fx - x0))),
                    (y0 + 1, x0 + 1, (fy - y0) * (fx - x0)),
                ):
                    if 0 <= yy < h and 0 <= xx < w:
                        out[b, :, i, j] += wt * x[b, :, yy, xx]
    return out


def test_grid_sample():
    x = t64((2, 3, 5, 6))
    grid = rtorch.tensor(RNG.uniform(-1.2, 1.2, (2, 4, 7, 2)), dtype=rtorch.float64)
    out = F.grid_sample(x, grid, align_corners=False)
    assert_np_close(out, np_grid_sample_bilinear_zeros(to_np(x), to_np(grid)))
    # The identity affine grid with align_corners=True reproduces the input exactly.
    theta = rtorch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]] * 2, dtype=rtorch.float64)
    ident = F.affine_grid(theta, (2, 3, 5, 6), align_corners=True)
    assert_np_close(F.grid_sample(x, ident, align_corners=True), to_np(x))
    assert_np_close(F.grid_sample(x, ident, mode="nearest", align_corners=True), to_np(x))
    g = (t64((1, 3, 4, 2)) * 0.7).detach().requires_grad_()
    xs = t64((1, 2, 4, 5), True)
    for pm in ("zeros", "border", "reflection"):
        assert gradcheck(
            lambda a, b, pm=pm: F.grid_sample(a, b, padding_mode=pm, align_corners=False), (xs, g)
        )
    with pytest.raises(
        ValueError, match="expected padding_mode to be 'zeros', 'border', or 'reflection'"
    ):
        F.grid_sample(x, grid, padding_mode="foo")


def _np_source(g: np.ndarray, size: int, padding: str, align: bool) -> np.ndarray:
    """PyTorch's source coordinate of grid values along an axis, in float64."""
    c = (g + 1) / 2 * (size - 1) if align else ((g + 1) * size - 1) / 2
    if padding == "reflection":
        lo, hi = (0.0, size - 1.0) if align else (-0.5, size - 0.5)
        span = hi - lo
        d = np.abs(c - lo)
        flips = np.floor(d / span)
        extra = np.fmod(d, span)
        c = np.where(flips % 2 == 0, lo + extra, hi - extra)
    if padding in ("border", "reflection"):
        c = np.clip(c, 0, size - 1)
    return c


def _np_grid_sample(x: np.ndarray, grid: np.ndarray, mode: str, padding: str, align: bool):
    n, c, h, w = x.shape
    out = np.zeros((n, c) + grid.shape[1:3])
    for b in range(n):
        sx = _np_source(grid[b, ..., 0], w, padding, align)
        sy = _np_source(grid[b, ..., 1], h, padding, align)
        for i, j in np.ndindex(*grid.shape[1:3]):
            fx, fy = sx[i, j], sy[i, j]
            if mode == "nearest":
                taps = [(np.round(fy), np.round(fx), 1.0)]
            else:
                x0, y0 = math.floor(fx), math.floor(fy)
                taps = [
                    (y0 + dy, x0 + dx, (1 - abs(fy - y0 - dy)) * (1 - abs(fx - x0 - dx)))
                    for dy in (0, 1)
                    for dx in (0, 1)
                ]
            for yy, xx, wt in taps:
                if 0 <= yy < h and 0 <= xx < w:
                    out[b, :, i, j] += wt * x[b, :, int(yy), int(xx)]
    return out


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [False, True])
def test_grid_sample_modes_match_numpy(mode, padding, align):
    """Every mode, padding and corner alignment against float64 numpy, locations inside
    and far outside the input; the grid's gradient is zero for nearest sampling."""
    x = t64((2, 3, 5, 6), True)
    gn = RNG.uniform(-2.5, 2.5, (2, 4, 7, 2))
    gn[0, 0, 0] = (0.3, -0.7)
    grid = rtorch.tensor(gn, dtype=rtorch.float64, requires_grad=True)
    out = F.grid_sample(x, grid, mode=mode, padding_mode=padding, align_corners=align)
    assert_np_close(out, _np_grid_sample(to_np(x), gn, mode, padding, align))
    out.sum().backward()
    if mode == "nearest":
        assert not to_np(grid.grad).any()
    xs = t64((1, 2, 4, 5), True)
    gs = rtorch.tensor(RNG.uniform(-1.1, 1.1, (1, 3, 4, 2)), dtype=rtorch.float64)
    gs.requires_grad_(mode == "bilinear")
    assert gradcheck(
        lambda a, b: F.grid_sample(a, b, mode=mode, padding_mode=padding, align_corners=align),
        (xs, gs),
    )


def test_grid_sample_gradient_of_one_operand():
    # autograd.grad of the grid alone (the input also requiring one) or of the input
    # alone: each the same as from a backward of both. The grid's against central
    # differences of the numpy reference, in float64.
    x = t64((2, 3, 5, 6), True)
    gn = RNG.uniform(-1.2, 1.2, (2, 4, 7, 2))
    grid = rtorch.tensor(gn, dtype=rtorch.float64, requires_grad=True)
    out = F.grid_sample(x, grid, align_corners=False)
    g = RNG.standard_normal(tuple(out.shape))
    (only_grid,) = rtorch.autograd.grad(out, grid, rtorch.tensor(g), retain_graph=True)
    (only_x,) = rtorch.autograd.grad(out, x, rtorch.tensor(g), retain_graph=True)
    both = rtorch.autograd.grad(out, (x, grid), rtorch.tensor(g))
    assert rtorch.equal(only_x, both[0]) and rtorch.equal(only_grid, both[1])
    h, num = 1e-6, np.zeros_like(gn)
    for i in np.ndindex(*gn.shape):
        up, down = gn.copy(), gn.copy()
        up[i] += h
        down[i] -= h
        diff = _np_grid_sample(to_np(x.detach()), up, "bilinear", "zeros", False)
        diff -= _np_grid_sample(to_np(x.detach()), down, "bilinear", "zeros", False)
        num[i] = (diff * g).sum() / (2 * h)
    assert_np_close(only_grid, num, rtol=1e-5, atol=1e-6)


def _np_keys(d: float) -> float:
    """Keys' cubic convolution kernel with a = -0.75 (PyTorch's), at distance d."""
    a, d = -0.75, abs(d)
    if d <= 1:
        return ((a + 2) * d - (a + 3)) * d * d + 1
    if d < 2:
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return 0.0


def _np_grid_sample_bicubic(x: np.ndarray, grid: np.ndarray, padding: str, align: bool):
    """Bicubic sampling: 4 x 4 taps around the unnormalised location, each tap's pixel
    coordinate moved inside by the padding mode on its own (zeros outside for 'zeros')."""
    n, c, h, w = x.shape
    out = np.zeros((n, c) + grid.shape[1:3])

    def unnorm(g: float, size: int) -> float:
        return (g + 1) / 2 * (size - 1) if align else ((g + 1) * size - 1) / 2

    def pad(p: float, size: int) -> float:
        # _np_source without its unnormalisation: apply it to a pixel coordinate.
        g = p / (size - 1) * 2 - 1 if align else (2 * p + 1) / size - 1
        return float(_np_source(np.array(g), size, padding, align)) if padding != "zeros" else p

    for b in range(n):
        for i, j in np.ndindex(*grid.shape[1:3]):
            fx, fy = unnorm(grid[b, i, j, 0], w), unnorm(grid[b, i, j, 1], h)
            x0, y0 = math.floor(fx), math.floor(fy)
            for dy in (-1, 0, 1, 2):
                for dx in (-1, 0, 1, 2):
                    yy, xx = round(pad(y0 + dy, h)), round(pad(x0 + dx, w))
                    if 0 <= yy < h and 0 <= xx < w:
                        wt = _np_keys(fx - x0 - dx) * _np_keys(fy - y0 - dy)
                        out[b, :, i, j] += wt * x[b, :, yy, xx]
    return out


@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [False, True])
def test_grid_sample_bicubic_matches_numpy(padding, align):
    """Bicubic against float64 numpy (Keys' kernel, each tap padded on its own), locations
    inside and far outside; gradients to input and grid by gradcheck."""
    x = t64((2, 3, 5, 6), True)
    gn = RNG.uniform(-2.5, 2.5, (2, 4, 7, 2))
    grid = rtorch.tensor(gn, dtype=rtorch.float64, requires_grad=True)
    out = F.grid_sample(x, grid, mode="bicubic", padding_mode=padding, align_corners=align)
    assert_np_close(out, _np_grid_sample_bicubic(to_np(x), gn, padding, align))
    xs = t64((1, 2, 4, 5), True)
    gs = rtorch.tensor(RNG.uniform(-1.1, 1.1, (1, 3, 4, 2)), dtype=rtorch.float64)
    gs.requires_grad_(True)
    assert gradcheck(
        lambda a, b: F.grid_sample(a, b, mode="bicubic", padding_mode=padding, align_corners=align),
        (xs, gs),
    )


def test_grid_sample_bicubic_interpolates_the_pixels():
    # Keys' kernel is 1 at 0 and 0 at the other integers: at the pixel centres the input
    # comes back exactly.
    x = t64((1, 2, 4, 5), False)
    ys, xs = np.meshgrid(np.linspace(-1, 1, 4), np.linspace(-1, 1, 5), indexing="ij")
    grid = rtorch.tensor(np.stack([xs, ys], -1)[None], dtype=rtorch.float64)
    out = F.grid_sample(x, grid, mode="bicubic", align_corners=True)
    np.testing.assert_allclose(to_np(out), to_np(x), atol=1e-14)
    with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D input"):
        F.grid_sample(rtorch.ones(1, 1, 2, 2, 2), rtorch.zeros(1, 1, 1, 1, 3), mode="bicubic")


_GS_SCRIPT = """
import hashlib, rtorch, numpy as np
import rtorch.nn.functional as F
rng = np.random.RandomState(3)
x = rtorch.tensor(rng.standard_normal((8, 16, 20, 24)), dtype=rtorch.float32, requires_grad=True)
grid = rtorch.tensor(rng.uniform(-1.1, 1.1, (8, 18, 22, 2)), dtype=rtorch.float32, requires_grad=True)
out = []
for threads in (1, 2):
    rtorch.set_num_threads(threads)
    x.grad = grid.grad = None
    y = F.grid_sample(x, grid, padding_mode="reflection", align_corners=False)
    y.backward(rtorch.ones_like(y) * 0.5)
    out.append(" ".join(hashlib.sha1(a.detach().numpy().tobytes()).hexdigest()[:12] for a in (y, x.grad, grid.grad)))
print(out[0], out[0] == out[1])
"""


def test_grid_sample_float32_threads_half_types_and_errors():
    """float32 above the parallel grain: the same bits on one and two threads (and at
    every SIMD level), close to float64; float16/bfloat16 in float32; non-contiguous
    operands; NaN and infinite locations read nothing; errors for mismatched dtypes,
    empty planes and a second derivative."""
    assert run_script(_GS_SCRIPT)[-1] == "True"
    assert same_bits_at_every_simd_level(_GS_SCRIPT)
    xn = RNG.standard_normal((8, 16, 20, 24))
    gn = RNG.uniform(-1.1, 1.1, (8, 18, 22, 2))
    got = F.grid_sample(
        rtorch.tensor(xn, dtype=rtorch.float32), rtorch.tensor(gn, dtype=rtorch.float32),
        align_corners=True,
    )  # fmt: skip
    want = _np_grid_sample(xn, gn, "bilinear", "zeros", True)
    np.testing.assert_allclose(to_np(got), want, rtol=1e-5, atol=1e-5)
    for dt in (rtorch.float16, rtorch.bfloat16):
        xh, gh = rtorch.tensor(xn[:1], dtype=dt), rtorch.tensor(gn[:1], dtype=dt)
        h = F.grid_sample(xh, gh, align_corners=True)
        assert h.dtype == dt
        # Against the rounded operands; the output rounded once to the half type.
        ref = _np_grid_sample(to_np(xh.float()), to_np(gh.float()), "bilinear", "zeros", True)
        np.testing.assert_allclose(to_np(h.float()), ref, rtol=1e-2, atol=1e-2)
    xt = rtorch.tensor(xn[:2, :3].transpose(0, 1, 3, 2).copy()).transpose(2, 3)
    gt = rtorch.tensor(gn[:2, :5, :6].transpose(0, 2, 1, 3).copy()).transpose(1, 2)
    assert not xt.is_contiguous() and not gt.is_contiguous()
    assert_np_close(
        F.grid_sample(xt, gt, align_corners=False),
        _np_grid_sample(xn[:2, :3], gn[:2, :5, :6], "bilinear", "zeros", False),
    )
    odd = rtorch.tensor([[[[float("nan"), 0.0], [float("inf"), -float("inf")]]]])
    for pm in ("zeros", "border", "reflection"):
        y = F.grid_sample(rtorch.ones(1, 2, 3, 3), odd, padding_mode=pm, align_corners=False)
        assert tuple(y.shape) == (1, 2, 1, 2)
    with pytest.raises(RuntimeError, match="same floating point dtype"):
        F.grid_sample(rtorch.ones(1, 1, 2, 2), rtorch.zeros(1, 1, 1, 2, dtype=rtorch.float64))
    with pytest.raises(RuntimeError, match="non-empty spatial dimensions"):
        F.grid_sample(rtorch.ones(1, 1, 0, 2), rtorch.zeros(1, 1, 1, 2))
    x = rtorch.randn(1, 1, 3, 3, requires_grad=True)
    (gx,) = rtorch.autograd.grad(
        F.grid_sample(x, rtorch.zeros(1, 2, 2, 2), align_corners=False).sum(), x,
        create_graph=False,
    )  # fmt: skip
    assert tuple(gx.shape) == (1, 1, 3, 3)
    with pytest.raises(RuntimeError, match="grid_sampler_2d_backward"):
        rtorch.autograd.grad(
            F.grid_sample(x, rtorch.zeros(1, 2, 2, 2), align_corners=False).sum(), x,
            create_graph=True,
        )  # fmt: skip
    assert (
        F.grid_sample(x, rtorch.zeros(1, 2, 2, 2), align_corners=False).grad_fn.name()
        == "GridSampler2DBackward0"
    )


# ---------------------------------------------------------------- distances


def test_cosine_similarity_and_pairwise_distance():
    a, b = t64((4, 5)), t64((4, 5))
    an, bn = to_np(a), to_np(b)
    ref = (an * bn).sum(1) / (np.linalg.norm(an, axis=1) * np.linalg.norm(bn, axis=1))
    assert_np_close(F.cosine_similarity(a, b), ref)
    assert_np_close(
        nn.CosineSimilarity(dim=0)(a, b),
        (an * bn).sum(0) / (np.linalg.norm(an, axis=0) * np.linalg.norm(bn, axis=0)),
    )
    c = t64((5,))
    assert F.cosine_similarity(a, c).shape == (4,)
    assert_np_close(
        F.cosine_similarity(rtorch.zeros(2, 3, dtype=rtorch.float64), a[:2, :3]), np.zeros(2)
    )
    assert_np_close(F.pairwise_distance(a, b), np.linalg.norm(an - bn + 1e-6, axis=1))
    assert_np_close(
        nn.PairwiseDistance(p=1, keepdim=True)(a, c),
        np.abs(an - to_np(c) + 1e-6).sum(1, keepdims=True),
    )
    assert gradcheck(F.cosine_similarity, (t64((3, 4), True), t64((3, 4), True)))
    assert gradcheck(F.pairwise_distance, (t64((3, 4), True), t64((3, 4), True)))
    with pytest.raises(
        RuntimeError,
        match=r"The size of tensor a \(2\) must match the size of tensor b \(4\) at non-singleton dimension 0",
    ):
        F.cosine_similarity(rtorch.randn(2, 3), rtorch.randn(4, 3))


def test_pdist():
    x = t64((5, 3))
    xn = to_np(x)
    ref = [np.linalg.norm(xn[i] - xn[j]) for i in range(5) for j in range(i + 1, 5)]
    assert_np_close(F.pdist(x), ref)
    ref3 = [
        np.sum(np.abs(xn[i] - xn[j]) ** 3) ** (1 / 3) for i in range(5) for j in range(i + 1, 5)
    ]
    assert_np_close(F.pdist(x, 3), ref3)
    assert gradcheck(F.pdist, (t64((4, 3), True),))


PARITY = r"""
def mk(torch, np, shape, seed, rg=True):
    t = torch.from_numpy(np.random.RandomState(seed).randn(*shape))
    return t.requires_grad_() if rg else t

def it(xs, **kw):
    def f(torch, F, nn, np):
        x = mk(torch, np, xs, 0)
        y = F.interpolate(x, **kw)
        (y * mk(torch, np, tuple(y.shape), 3, False)).sum().backward()
        return [y, x.grad]
    return f

def it32(xs, **kw):
    return lambda torch, F, nn, np: F.interpolate(mk(torch, np, xs, 0, False).float(), **kw)

def pd(mode, p):
    def f(torch, F, nn, np):
        x = mk(torch, np, (1, 2, 4, 5), 0)
        y = F.pad(x, p, mode=mode)
        (y * mk(torch, np, tuple(y.shape), 3, False)).sum().backward()
        return [y, x.grad]
    return f

CASES = {
    "n_sf": it((1, 2, 5, 7), scale_factor=(1.7, 0.6)),
    "n32": it32((1, 2, 7, 9), scale_factor=1 / 3),
    "ne": it((1, 2, 5, 7), size=(3, 11), mode="nearest-exact"),
    "n_x2": it((1, 2, 5, 7), scale_factor=2.0000001),
    "bic_sf": it((1, 2, 5, 7), scale_factor=(1.7, 0.6), mode="bicubic"),
    "lin_sf32": it32((2, 3, 9), scale_factor=2.3, mode="linear"),
    "bil_sf": it((1, 2, 5, 7), scale_factor=1.5, mode="bilinear"),
    "bil32": it32((1, 2, 5, 7), size=(8, 13), mode="bilinear"),
    "bic": it((1, 2, 5, 7), size=(9, 4), mode="bicubic"),
    "tri": it((1, 2, 3, 4, 5), size=(5, 3, 7), mode="trilinear", align_corners=True),
    "area": it((1, 2, 5, 7), size=(3, 4), mode="area"),
    "reflect": pd("reflect", (2, 3, 1, 3)),
    "replicate": pd("replicate", (2, -1, 3, 0)),
    "circular": pd("circular", (5, 2, 1, 4)),
    "constant": pd("constant", (2, -1, -2, 1)),
    "ps": lambda torch, F, nn, np: F.pixel_shuffle(mk(torch, np, (2, 8, 3, 4), 0, False), 2),
    "ag": lambda torch, F, nn, np: F.affine_grid(mk(torch, np, (2, 2, 3), 0, False), (2, 3, 4, 5), align_corners=False),
    "cos": lambda torch, F, nn, np: F.cosine_similarity(mk(torch, np, (4, 3), 0, False), mk(torch, np, (3,), 1, False)),
    "pdist": lambda torch, F, nn, np: F.pdist(mk(torch, np, (5, 3), 0, False), p=3),
    "gs_bil_ref": lambda torch, F, nn, np: F.grid_sample(mk(torch, np, (2, 3, 5, 6), 0), mk(torch, np, (2, 4, 7, 2), 1, False) * 0.8, padding_mode="reflection", align_corners=False),
    "gs_near_border": lambda torch, F, nn, np: F.grid_sample(mk(torch, np, (2, 3, 5, 6), 0), mk(torch, np, (2, 4, 7, 2), 1, False), mode="nearest", padding_mode="border", align_corners=True),
    "e1": lambda torch, F, nn, np: F.interpolate(torch.randn(1, 2, 4, 4), size=0),
    "e2": lambda torch, F, nn, np: F.pad(torch.randn(1, 2, 3), (-4, 1), mode="replicate"),
}
"""


def test_parity_with_pytorch():
    theirs = torch_results(PARITY)
    if theirs is None:
        pytest.skip("PyTorch is not installed")
    # float32 cases (n32, bil32) are compared at float32 precision.
    assert compare(rtorch_results(PARITY), theirs, rtol=1e-6, atol=1e-6) == []


def test_grid_sample_signed_zeros_and_non_finite_taps():
    """PyTorch's sums: bilinear adds every tap, a missing one as zero (at the last pixel,
    -0.0 inputs sum to +0.0; inside, all four taps are -0.0 products and stay -0.0);
    nearest copies the value (-0.0 stays -0.0). A NaN in the input reaches only the
    locations that tap it. Expected values: PyTorch 2.x's."""
    x = rtorch.full((1, 1, 2, 2), -0.0)
    g = rtorch.tensor([[[[1.0, 1.0], [0.0, 0.0], [-0.5, -0.5]]]])
    for mode, signs in [("bilinear", [False, True, True]), ("nearest", [True, True, True])]:
        y = F.grid_sample(x, g, mode=mode, align_corners=True).flatten()
        assert y.tolist() == [0.0, 0.0, 0.0]
        assert rtorch.signbit(y).tolist() == signs, mode
    x = rtorch.tensor([[[[float("nan"), 1.0], [2.0, 3.0]]]])
    g = rtorch.tensor([[[[1.0, 1.0], [0.9, 0.9], [-1.0, -1.0]]]])
    for mode, want in [("bilinear", [3.0, None, None]), ("nearest", [3.0, 3.0, None])]:
        y = F.grid_sample(x, g, mode=mode, align_corners=True).flatten().tolist()
        assert [None if math.isnan(v) else v for v in y] == want, mode


def test_grid_sample_volume_nearest_gives_the_grid_zero_gradient():
    x = rtorch.randn(1, 2, 3, 3, 3, requires_grad=True)
    g = (rtorch.rand(1, 2, 2, 2, 3) * 2 - 1).requires_grad_()
    out = F.grid_sample(x, g, "nearest", align_corners=False)
    gx, gg = rtorch.autograd.grad(out.sum(), (x, g))
    assert gg.shape == g.shape and gg.abs().sum().item() == 0.0
    # Each output takes one voxel: the input's gradient counts the draws.
    assert gx.sum().item() == pytest.approx(out.numel(), abs=0)
