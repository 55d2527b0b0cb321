"""Fused Rust kernels behind nn.functional: max_pool2d/max_pool1d/max_pool3d (values +
indices in one pass, scatter backward), avg_pool2d/avg_pool3d (separable window sums), batch_norm and layer_norm (fused statistics + affine, backward
kernels), checked against numpy float64 references written here, gradcheck /
gradgradcheck, and bitwise equality across thread counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import run_script, same_bits_at_every_simd_level, with_threads

import rtorch
import rtorch.nn.functional as F
from rtorch.autograd import gradcheck, gradgradcheck

RNG = np.random.RandomState(11)


def t(a, dtype=rtorch.float64, requires_grad=False):
    return rtorch.tensor(np.asarray(a, dtype=np.float64), dtype=dtype, requires_grad=requires_grad)


def npy(x):
    return np.array(x.detach().double().tolist(), dtype=np.float64)


def close(got, want, dtype):
    rtol, atol = (1.3e-6, 1e-5) if dtype == rtorch.float32 else (1e-7, 1e-7)
    np.testing.assert_allclose(npy(got), want, rtol=rtol, atol=atol, equal_nan=True)


def pool_out(n, k, s, p, d, ceil):
    span = n + 2 * p - d * (k - 1) - 1
    o = (math.ceil(span / s) if ceil else span // s) + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def np_max_pool2d(x, k, s, p, d, ceil):
    """Values and flat in-plane indices, vectorised over (N, C): scan the window's
    in-bounds taps in order, a later tap wins when greater or NaN (PyTorch's rule)."""
    n, c, h, w = x.shape
    oh = pool_out(h, k[0], s[0], p[0], d[0], ceil)
    ow = pool_out(w, k[1], s[1], p[1], d[1], ceil)
    vals = np.empty((n, c, oh, ow))
    idx = np.empty((n, c, oh, ow), dtype=np.int64)
    for oy in range(oh):
        for ox in range(ow):
            best = bi = None
            for i in range(k[0]):
                y = oy * s[0] - p[0] + i * d[0]
                if not 0 <= y < h:
                    continue
                for j in range(k[1]):
                    xx = ox * s[1] - p[1] + j * d[1]
                    if not 0 <= xx < w:
                        continue
                    v = x[:, :, y, xx]
                    f = y * w + xx
                    if best is None:
                        best, bi = v.copy(), np.full(v.shape, f)
                    else:
                        upd = (v > best) | np.isnan(v)
                        best = np.where(upd, v, best)
                        bi = np.where(upd, f, bi)
            vals[:, :, oy, ox] = best
            idx[:, :, oy, ox] = bi
    return vals, idx


def np_pool_backward(g, idx, h, w):
    n, c = g.shape[:2]
    out = np.zeros((n * c, h * w))
    gf, inf = g.reshape(n * c, -1), idx.reshape(n * c, -1)
    for r in range(n * c):
        np.add.at(out[r], inf[r], gf[r])
    return out.reshape(n, c, h, w)


POOL_CASES = [
    # (shape, kernel, stride, padding, dilation, ceil)
    ((2, 3, 7, 9), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((2, 3, 7, 9), (2, 2), (2, 2), (0, 0), (1, 1), True),
    ((1, 2, 8, 5), (3, 3), (2, 1), (1, 1), (1, 1), True),
    ((1, 2, 9, 11), (3, 2), (2, 3), (1, 1), (2, 2), False),
    ((1, 2, 9, 11), (3, 2), (2, 3), (1, 1), (2, 2), True),
    ((2, 1, 5, 5), (1, 1), (1, 1), (0, 0), (1, 1), False),
    ((1, 1, 6, 7), (4, 3), (3, 2), (2, 1), (1, 3), True),
    # Long rows of whole windows (computed tap by tap across the row), with partial
    # windows at both edges in the second.
    ((2, 2, 6, 67), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((1, 3, 5, 40), (3, 3), (1, 1), (1, 1), (1, 1), False),
    # Long rows of whole windows with a column stride of 3 and dilation (every third
    # tap of a row), and with unit stride and dilation 2.
    ((1, 2, 7, 50), (2, 3), (1, 3), (0, 1), (2, 2), False),
    ((1, 2, 6, 45), (3, 3), (1, 1), (1, 1), (1, 2), True),
]


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool2d_values_indices_backward(case, dtype):
    shape, k, s, p, d, ceil = case
    x = RNG.standard_normal(shape)
    x[0, 0, 1, 1] = np.nan  # NaN propagates
    x[0, -1, 2, 3:5] = [np.nan, np.nan]  # the last NaN wins
    x[-1, 0, 3:5, :] = -np.inf  # windows of only -inf pick their first element
    x.flat[5] = x.flat[6]  # ties: first wins
    xt = t(x, dtype, requires_grad=True)
    vals, idx = F.max_pool2d(xt, k, s, p, d, ceil_mode=ceil, return_indices=True)
    xr = npy(xt)
    want_v, want_i = np_max_pool2d(xr, k, s, p, d, ceil)
    assert idx.dtype == rtorch.int64
    assert np.array_equal(np.array(idx.tolist()), want_i)
    close(vals, want_v, dtype)
    g = RNG.standard_normal(want_v.shape)
    vals.backward(t(g, dtype))
    close(xt.grad, np_pool_backward(g, want_i, shape[2], shape[3]), dtype)


def test_max_pool2d_channels_last_unbatched_empty_and_large():
    # A channels-last-like permuted (non-contiguous) input.
    base = RNG.standard_normal((2, 9, 10, 3))
    x = t(base).permute(0, 3, 1, 2)
    assert not x.is_contiguous()
    want_v, want_i = np_max_pool2d(npy(x), (3, 3), (2, 2), (1, 1), (1, 1), True)
    v, i = F.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True)
    close(v, want_v, rtorch.float64)
    assert np.array_equal(np.array(i.tolist()), want_i)
    # Unbatched (C, H, W).
    v3 = F.max_pool2d(x[0], 3, 2, 1, ceil_mode=True)
    close(v3, want_v[0], rtorch.float64)
    # Empty batch.
    e = F.max_pool2d(rtorch.zeros(0, 3, 6, 6, requires_grad=True), 2)
    assert tuple(e.shape) == (0, 3, 3, 3)
    e.sum().backward()
    # Above the parallel grain size: planes run on several threads.
    xl = RNG.standard_normal((8, 16, 30, 30))
    want_v, want_i = np_max_pool2d(xl, (2, 2), (2, 2), (0, 0), (1, 1), False)
    v, i = F.max_pool2d(t(xl, rtorch.float32), 2, return_indices=True)
    close(v, want_v.astype(np.float32).astype(np.float64), rtorch.float32)
    assert np.array_equal(np.array(i.tolist()), want_i)


def test_max_pool1d_and_unpool():
    x = RNG.standard_normal((2, 3, 11))
    xt = t(x, requires_grad=True)
    v, i = F.max_pool1d(xt, 3, 2, 1, ceil_mode=True, return_indices=True)
    want_v, want_i = np_max_pool2d(x[:, :, None, :], (1, 3), (1, 2), (0, 1), (1, 1), True)
    close(v, want_v[:, :, 0], rtorch.float64)
    assert np.array_equal(np.array(i.tolist()), want_i[:, :, 0])
    v.sum().backward()
    want_g = np_pool_backward(np.ones(want_v.shape), want_i, 1, 11)[:, :, 0]
    close(xt.grad, want_g, rtorch.float64)
    u = F.max_unpool1d(v, i, 3, 2, 1, output_size=[11])
    want_u = np.zeros((2, 3, 11))
    for a in range(2):
        for b in range(3):
            want_u[a, b, want_i[a, b, 0]] = want_v[a, b, 0]
    close(u, want_u, rtorch.float64)


def test_max_pool2d_gradcheck_gradgradcheck():
    x = t(RNG.permutation(2 * 2 * 7 * 6).reshape(2, 2, 7, 6) / 10.0, requires_grad=True)
    for f in (
        lambda a: F.max_pool2d(a, 3, 2, 1, ceil_mode=True),
        lambda a: F.max_pool2d(a, (2, 3), (1, 2), (1, 0), dilation=(2, 1)),
    ):
        assert gradcheck(f, (x,))
        assert gradgradcheck(f, (x,))


def test_max_pool2d_integer_and_errors():
    xi = rtorch.tensor(RNG.randint(-50, 50, (1, 2, 5, 5)))
    v, i = F.max_pool2d(xi, 2, return_indices=True)
    want_v, want_i = np_max_pool2d(np.array(xi.tolist(), dtype=np.float64), (2, 2), (2, 2),
                                   (0, 0), (1, 1), False)  # fmt: skip
    assert v.dtype == rtorch.int64
    assert np.array_equal(np.array(v.tolist()), want_v)
    assert np.array_equal(np.array(i.tolist()), want_i)
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.max_pool2d(rtorch.zeros(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        F.max_pool2d(rtorch.zeros(1, 1, 2, 2), 3)


def np_max_pool3d(x, k, s, p, d, ceil):
    """Values and flat in-volume indices of a (N, C, D, H, W) input, taps scanned in
    (depth, row, column) order with PyTorch's rule (a later tap wins when greater or
    NaN); a window without in-bounds taps gives -inf and index -1."""
    n, c, *sizes = x.shape
    outs = [pool_out(sizes[a], k[a], s[a], p[a], d[a], ceil) for a in range(3)]
    vals = np.empty((n, c, *outs))
    idx = np.empty((n, c, *outs), dtype=np.int64)
    for pos in np.ndindex(*outs):
        taps = [
            [o * s[a] - p[a] + j * d[a] for j in range(k[a])
             if 0 <= o * s[a] - p[a] + j * d[a] < sizes[a]]
            for a, o in enumerate(pos)
        ]  # fmt: skip
        best, bi = np.full((n, c), -np.inf), np.full((n, c), -1)
        first = True
        for z in taps[0]:
            for y in taps[1]:
                for xx in taps[2]:
                    v = x[:, :, z, y, xx]
                    upd = np.full((n, c), first) | (v > best) | np.isnan(v)
                    best = np.where(upd, v, best)
                    bi = np.where(upd, (z * sizes[1] + y) * sizes[2] + xx, bi)
                    first = False
        vals[(slice(None), slice(None), *pos)] = best
        idx[(slice(None), slice(None), *pos)] = bi
    return vals, idx


POOL3D_CASES = [
    # (shape, kernel, stride, padding, dilation, ceil)
    ((2, 3, 4, 6, 7), (2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1), False),
    ((2, 3, 5, 6, 7), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), False),
    ((1, 2, 5, 6, 7), (3, 2, 3), (2, 1, 2), (1, 1, 1), (1, 2, 1), True),
    ((1, 2, 6, 5, 9), (2, 3, 2), (3, 2, 3), (1, 1, 0), (2, 1, 2), True),
    # Depth only (in-plane kernel 1) and in-plane only (depth kernel 1), stride 1.
    ((1, 2, 5, 4, 4), (3, 1, 1), (1, 1, 1), (1, 0, 0), (1, 1, 1), False),
    ((1, 2, 3, 5, 40), (1, 3, 3), (1, 1, 1), (0, 1, 1), (1, 1, 1), False),
    # A depth window wholly in the padding (dilation 2 from -1 over a depth of 1).
    ((1, 2, 1, 4, 4), (2, 2, 2), (1, 2, 2), (1, 0, 0), (2, 1, 1), False),
]


@pytest.mark.parametrize(
    "dtype", [rtorch.float32, rtorch.float64, rtorch.float16, rtorch.bfloat16, rtorch.int64,
              rtorch.int32, rtorch.int16, rtorch.int8, rtorch.uint8],
)  # fmt: skip
@pytest.mark.parametrize("case", POOL3D_CASES)
def test_max_pool3d_values_indices_backward(case, dtype):
    shape, k, s, p, d, ceil = case
    # Few distinct values: ties within and across slices everywhere.
    x = RNG.randint(0, 4, shape).astype(np.float64)
    if dtype.is_floating_point:
        x[0, 0, 0, 1, 1] = np.nan  # NaN propagates
        x[0, -1, :2, 2, 3] = np.nan  # the last NaN (in depth too) wins
        x[-1, 0, :, 3, :] = -np.inf  # windows of only -inf pick their first element
    xt = t(x, dtype, requires_grad=dtype.is_floating_point)
    vals, idx = F.max_pool3d(xt, k, s, p, d, ceil_mode=ceil, return_indices=True)
    want_v, want_i = np_max_pool3d(x, k, s, p, d, ceil)
    assert idx.dtype == rtorch.int64 and vals.dtype == dtype
    assert np.array_equal(np.array(idx.tolist()), want_i)
    if dtype.is_floating_point:
        assert np.array_equal(npy(vals), want_v, equal_nan=True)
        assert vals.grad_fn.name() == "MaxPool3DWithIndicesBackward0"
        g = RNG.randint(-3, 4, want_v.shape).astype(np.float64)
        vals.backward(t(g, dtype))
        want_g = np_pool_backward(g, np.where(want_i < 0, 0, want_i), 1, int(np.prod(shape[2:])))
        want_g -= np_pool_backward(
            g * (want_i < 0), np.zeros_like(want_i), 1, int(np.prod(shape[2:]))
        )
        close(xt.grad, want_g.reshape(shape), rtorch.float64)
    else:
        # A window without elements holds the type's lowest value, as in PyTorch.
        want_v[np.isneginf(want_v)] = rtorch.iinfo(dtype).min
        assert np.array_equal(np.array(vals.tolist()), want_v)


def test_max_pool3d_large_unbatched_noncontiguous_and_errors():
    # Above the parallel grain size, with a permuted (non-contiguous) input.
    base = RNG.standard_normal((4, 9, 10, 11, 16))
    x = t(base, rtorch.float32).permute(0, 4, 1, 2, 3)
    want_v, want_i = np_max_pool3d(npy(x), (3, 3, 3), (2, 2, 2), (1, 1, 1), (1, 1, 1), True)
    v, i = F.max_pool3d(x, 3, 2, 1, ceil_mode=True, return_indices=True)
    close(v, want_v, rtorch.float32)
    assert np.array_equal(np.array(i.tolist()), want_i)
    v3 = F.max_pool3d(x[1], 3, 2, 1, ceil_mode=True)
    close(v3, want_v[1], rtorch.float32)
    e = F.max_pool3d(rtorch.zeros(0, 3, 4, 4, 4, requires_grad=True), 2)
    assert tuple(e.shape) == (0, 3, 2, 2, 2)
    with pytest.raises(NotImplementedError, match="\"max_pool3d\" not implemented for 'Bool'"):
        F.max_pool3d(rtorch.zeros(1, 2, 2, 2, dtype=rtorch.bool), 2)
    xg = t(RNG.permutation(2 * 4 * 5 * 3).reshape(1, 2, 4, 5, 3) / 10.0, requires_grad=True)
    f = lambda a: F.max_pool3d(a, (2, 3, 2), (1, 2, 1), (1, 1, 0), dilation=(2, 1, 1))
    assert gradcheck(f, (xg,))
    assert gradgradcheck(f, (xg,))
    y = f(xg)
    gy = rtorch.ones_like(y, requires_grad=True)
    gg = rtorch.autograd.grad(y, xg, gy, create_graph=True)[0]
    assert gg.grad_fn.name() == "MaxPool3DWithIndicesBackwardBackward0"


_POOL3D_LEVEL_SCRIPT = """
import sys
import rtorch, rtorch.nn.functional as F
g = rtorch.Generator().manual_seed(3)
for dt in (rtorch.float32, rtorch.float64, rtorch.int64, rtorch.bfloat16):
    x = (rtorch.randn(2, 5, 7, 9, 37, generator=g) * 3).round().to(dt)
    for args in ((3, 1, 1), (2, 2, 0), ((2, 3, 3), (1, 2, 1), 1)):
        v, i = F.max_pool3d(x, *args, return_indices=True)
        print(v.float().numpy().tobytes().hex(), i.numpy().tobytes().hex())
"""


def test_max_pool3d_bits_do_not_depend_on_the_simd_level_or_threads():
    assert same_bits_at_every_simd_level(_POOL3D_LEVEL_SCRIPT)
    x = rtorch.randn(4, 8, 9, 20, 20)

    def run():
        return [a.numpy().copy() for a in F.max_pool3d(x, 3, 2, 1, return_indices=True)]

    for a, b in zip(with_threads(1, run), with_threads(2, run), strict=True):
        assert np.array_equal(a, b)


def np_avg_pool(x, k, s, p, ceil, include_pad, divisor=None):
    """Average pooling over the last len(k) axes of x in float64, and a function giving
    the input gradient (the adjoint) for an output gradient: PyTorch's windows, each
    clipped to the padded input for the divisor with padding, to the input for the sum."""
    dims = len(k)
    sizes = x.shape[-dims:]
    outs = [pool_out(sizes[a], k[a], s[a], p[a], 1, ceil) for a in range(dims)]
    wins = []
    for pos in np.ndindex(*outs):
        sl, pad_n, in_n = [], 1, 1
        for a, o in enumerate(pos):
            lo = o * s[a] - p[a]
            hi = min(lo + k[a], sizes[a] + p[a])
            pad_n *= hi - lo
            sl.append(slice(max(lo, 0), min(hi, sizes[a])))
            in_n *= sl[-1].stop - sl[-1].start
        div = divisor if divisor else (pad_n if include_pad else in_n)
        wins.append((pos, tuple(sl), div))
    lead = (Ellipsis,)
    out = np.zeros((*x.shape[:-dims], *outs))
    for pos, sl, div in wins:
        out[lead + pos] = x[lead + sl].sum(tuple(range(-dims, 0))) / div

    def backward(g):
        gi = np.zeros(x.shape)
        for pos, sl, div in wins:
            gi[lead + sl] += (g[lead + pos] / div)[(...,) + (None,) * dims]
        return gi

    return out, backward


AVG_CASES = [
    # (shape, kernel, stride, padding, ceil, count_include_pad, divisor_override)
    ((2, 3, 9, 10), (3, 2), (2, 3), (1, 1), False, True, None),
    ((2, 3, 9, 10), (3, 2), (2, 3), (1, 1), True, False, None),
    ((2, 3, 9, 10), (3, 3), (2, 2), (1, 0), True, True, 3),
    # Long rows of whole windows at strides 1, 2 and 3, with partial edge windows.
    ((1, 2, 5, 67), (3, 3), (1, 1), (1, 1), False, False, None),
    ((1, 2, 6, 70), (2, 2), (2, 2), (0, 0), False, True, None),
    ((1, 2, 7, 75), (3, 4), (2, 3), (1, 2), True, True, None),
    ((2, 3, 5, 6, 7), (3, 3, 3), (1, 1, 1), (1, 1, 1), False, False, None),
    ((2, 3, 5, 6, 7), (2, 3, 2), (2, 1, 2), (1, 1, 0), True, True, None),
    ((1, 2, 6, 5, 41), (3, 2, 3), (3, 2, 2), (1, 1, 1), True, False, None),
    ((1, 2, 4, 4, 4), (2, 2, 2), (2, 2, 2), (0, 0, 0), False, True, 5),
]


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64, rtorch.float16, rtorch.bfloat16])
@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool_values_and_backward(case, dtype):
    shape, k, s, p, ceil, include, div = case
    # Halves get values they hold exactly, so the float64 reference applies to them too.
    x = RNG.randint(-8, 9, shape) / 4.0 if dtype in (rtorch.float16, rtorch.bfloat16) else (
        RNG.standard_normal(shape)
    )  # fmt: skip
    xt = t(x, dtype, requires_grad=True)
    pool = F.avg_pool2d if len(k) == 2 else F.avg_pool3d
    y = pool(xt, k, s, p, ceil, include, div)
    want, backward = np_avg_pool(x, k, s, p, ceil, include, div)
    assert y.dtype == dtype and y.grad_fn.name() == f"AvgPool{len(k)}DBackward0"
    rtol = {rtorch.float16: 1e-3, rtorch.bfloat16: 8e-3}.get(dtype, None)
    if rtol is None:
        close(y, want, dtype)
    else:
        np.testing.assert_allclose(npy(y), want, rtol=rtol, atol=rtol)
    g = RNG.randint(-4, 5, want.shape).astype(np.float64)
    y.backward(t(g, dtype))
    if rtol is None:
        close(xt.grad, backward(g), dtype)
    else:
        np.testing.assert_allclose(npy(xt.grad), backward(g), rtol=rtol, atol=rtol)


def test_avg_pool_unbatched_noncontiguous_large_and_edge_values():
    base = RNG.standard_normal((4, 9, 10, 11, 16))
    x = t(base, rtorch.float32).permute(0, 4, 1, 2, 3)  # non-contiguous, above the grain
    want, _ = np_avg_pool(npy(x), (3, 3, 3), (2, 2, 2), (1, 1, 1), True, False)
    close(F.avg_pool3d(x, 3, 2, 1, True, False), want, rtorch.float32)
    close(F.avg_pool3d(x[1], 3, 2, 1, True, False), want[1], rtorch.float32)
    x2 = t(base[0], rtorch.float64)
    want2, _ = np_avg_pool(npy(x2), (2, 3), (1, 2), (1, 1), False, True)
    close(F.avg_pool2d(x2, (2, 3), (1, 2), (1, 1)), want2, rtorch.float64)
    e = F.avg_pool3d(rtorch.zeros(0, 3, 4, 4, 4, requires_grad=True), 2)
    assert tuple(e.shape) == (0, 3, 2, 2, 2)
    e.sum().backward()
    # Sums start from zero (a window of -0.0 averages to 0.0); inf and NaN propagate
    # to their windows only.
    z = rtorch.full((1, 1, 2, 4), -0.0)
    assert all(math.copysign(1, v) == 1 for v in F.avg_pool2d(z, 2).flatten().tolist())
    xs = rtorch.zeros(1, 1, 2, 6)
    xs[0, 0, 0, 0], xs[0, 0, 1, 5] = math.inf, math.nan
    got = F.avg_pool2d(xs, 2).flatten().tolist()
    assert got[0] == math.inf and got[1] == 0.0 and math.isnan(got[2])
    with pytest.raises(RuntimeError, match="divisor must be not zero"):
        F.avg_pool3d(rtorch.zeros(1, 2, 2, 2), 2, divisor_override=0)


def test_avg_pool_gradgradcheck_and_integer_division():
    xg = t(RNG.standard_normal((1, 2, 4, 5, 3)), requires_grad=True)
    f = lambda a: F.avg_pool3d(a, (2, 3, 2), (1, 2, 1), (1, 1, 0), True, False)
    assert gradcheck(f, (xg,)) and gradgradcheck(f, (xg,))
    y = f(xg)
    gy = rtorch.ones_like(y, requires_grad=True)
    gx = rtorch.autograd.grad(y, xg, gy, create_graph=True)[0]
    assert gx.grad_fn.name() == "AvgPool3DBackwardBackward0"
    # Integer windows divide as C integers (toward zero), as in PyTorch.
    xi = -rtorch.arange(2 * 4 * 4 * 4).reshape(2, 4, 4, 4)
    sums = xi.double().numpy().reshape(2, 2, 2, 2, 2, 2, 2).sum((2, 4, 6))
    np.testing.assert_array_equal(F.avg_pool3d(xi, 2).numpy(), np.trunc(sums / 8))
    np.testing.assert_array_equal(
        F.avg_pool3d(xi, 2, divisor_override=3).numpy(), np.trunc(sums / 3)
    )
    np.testing.assert_array_equal(
        F.avg_pool2d(xi[:1], 2, divisor_override=3).numpy(),
        np.trunc(xi[:1].double().numpy().reshape(1, 4, 2, 2, 2, 2).sum((3, 5)) / 3),
    )


_AVG_LEVEL_SCRIPT = """
import rtorch, rtorch.nn.functional as F
g = rtorch.Generator().manual_seed(4)
for dt in (rtorch.float32, rtorch.float64):
    # Drawn in float64: float32 normal draws differ by the level's multiply-add.
    x = rtorch.randn(2, 5, 7, 9, 37, generator=g, dtype=rtorch.float64).to(dt).requires_grad_()
    for args in ((3, 1, 1), (2, 2, 0), ((2, 3, 3), (1, 2, 3), 1, True, False)):
        y = F.avg_pool3d(x, *args)
        (gx,) = rtorch.autograd.grad(y, x, rtorch.ones_like(y))
        print(y.detach().numpy().tobytes().hex(), gx.numpy().tobytes().hex())
"""


def test_avg_pool_bits_do_not_depend_on_the_simd_level_or_threads():
    assert same_bits_at_every_simd_level(_AVG_LEVEL_SCRIPT)
    x = rtorch.randn(4, 8, 9, 20, 20, requires_grad=True)

    def run():
        y = F.avg_pool3d(x, 3, 2, 1)
        return [a.numpy().copy() for a in (y.detach(), *rtorch.autograd.grad(y.sum(), x))]

    for a, b in zip(with_threads(1, run), with_threads(2, run), strict=True):
        assert np.array_equal(a, b)


def test_thread_count_bitwise_identical():
    x = rtorch.randn(8, 16, 34, 34, requires_grad=True)
    w = rtorch.randn(16, requires_grad=True)
    b = rtorch.randn(16, requires_grad=True)
    lw = rtorch.randn(34, requires_grad=True)
    lb = rtorch.randn(34, requires_grad=True)
    g = rtorch.randn(8, 16, 34, 34)

    def run():
        outs = []
        for a in (x, w, b, lw, lb):
            a.grad = None
        y = F.max_pool2d(x, 3, 2, 1)
        y.backward(g[:, :, :17, :17])
        y2 = F.batch_norm(x, None, None, w, b, True)
        y2.backward(g)
        y3 = F.layer_norm(x, (34,), lw, lb)
        y3.backward(g)
        outs = [y, y2, y3, x.grad, w.grad, b.grad, lw.grad, lb.grad]
        return [np.array(o.detach().tolist()) for o in outs]

    one = with_threads(1, run)
    two = with_threads(2, run)
    for a, c in zip(one, two, strict=True):
        assert np.array_equal(a, c, equal_nan=True)


# ------------------------------------------------------------------------ batch norm


def np_bn(x, w, b, eps, mean=None, var=None):
    axes = (0, *range(2, x.ndim))
    shape = [1] * x.ndim
    shape[1] = x.shape[1]
    if mean is None:
        mean, var = x.mean(axes), x.var(axes)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if w is not None:
        y = y * w.reshape(shape)
    if b is not None:
        y = y + b.reshape(shape)
    return y


def np_bn_backward(g, x, w, eps):
    axes = (0, *range(2, x.ndim))
    shape = [1] * x.ndim
    shape[1] = x.shape[1]
    m = x.size / x.shape[1]
    mu, var = x.mean(axes).reshape(shape), x.var(axes).reshape(shape)
    rstd = 1 / np.sqrt(var + eps)
    xhat = (x - mu) * rstd
    gw = g * (w.reshape(shape) if w is not None else 1)
    gx = rstd * (
        gw - gw.sum(axes).reshape(shape) / m - xhat * (gw * xhat).sum(axes).reshape(shape) / m
    )
    return gx, (g * xhat).sum(axes), g.sum(axes)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
@pytest.mark.parametrize(
    "shape",
    [
        (5, 3),
        (4, 3, 7),
        (2, 5, 9, 7),
        (2, 3, 2, 3, 4),
        (4, 16, 33, 33),
        # Planes below 32 values take the column kernels: 39000 and 45880 values split
        # the columns over threads (130 columns: blocks of 80 and 50).
        (300, 130),
        (40, 37, 31),
        (40, 37, 32),
    ],
)
def test_batch_norm_train(shape, dtype):
    x = RNG.standard_normal(shape) * 3 + 1.5
    c = shape[1]
    w, b = RNG.standard_normal(c), RNG.standard_normal(c)
    xt, wt, bt = (t(a, dtype, True) for a in (x, w, b))
    rm, rv = t(RNG.standard_normal(c), dtype), t(RNG.random(c) + 0.5, dtype)
    rm0, rv0 = npy(rm), npy(rv)
    y = F.batch_norm(xt, rm, rv, wt, bt, True, 0.3, 1e-3)
    xr = npy(xt)
    close(y, np_bn(xr, npy(wt), npy(bt), 1e-3), dtype)
    axes = (0, *range(2, len(shape)))
    close(rm, 0.7 * rm0 + 0.3 * xr.mean(axes), dtype)
    close(rv, 0.7 * rv0 + 0.3 * xr.var(axes, ddof=1), dtype)
    g = RNG.standard_normal(shape)
    y.backward(t(g, dtype))
    gx, gw, gb = np_bn_backward(g, xr, npy(wt), 1e-3)
    # The gradient sums cancel (sum(gx) == 0): float32 is compared with a looser atol.
    atol = 1e-4 if dtype == rtorch.float32 else 1e-7
    np.testing.assert_allclose(npy(xt.grad), gx, rtol=1e-5, atol=atol)
    np.testing.assert_allclose(npy(wt.grad), gw, rtol=1e-5, atol=atol * 10)
    np.testing.assert_allclose(npy(bt.grad), gb, rtol=1e-5, atol=atol * 10)


@pytest.mark.parametrize("shape", [(300, 130), (64, 96, 7), (16, 64, 8, 8)])
def test_batch_norm_bits_do_not_depend_on_the_thread_count(shape):
    x = t(RNG.standard_normal(shape).astype(np.float32), rtorch.float32, True)
    c = shape[1]
    w = t(RNG.standard_normal(c).astype(np.float32), rtorch.float32, True)
    g = t(RNG.standard_normal(shape).astype(np.float32), rtorch.float32)

    def run():
        x.grad = w.grad = None
        y = F.batch_norm(x, None, None, w, None, True)
        y.backward(g)
        return [npy(a).tobytes() for a in (y, x.grad, w.grad)]

    assert with_threads(1, run) == with_threads(2, run) == with_threads(3, run)


_BN_SCRIPT = """
import numpy as np
import rtorch
import rtorch.nn.functional as F
rng = np.random.default_rng(0)
for shape in [(300, 130), (64, 96, 7)]:
    x = rtorch.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    w = rtorch.tensor(rng.standard_normal(shape[1]).astype(np.float32), requires_grad=True)
    y = F.batch_norm(x, None, None, w, None, True)
    y.backward(rtorch.tensor(rng.standard_normal(shape).astype(np.float32)))
    for a in (y.detach(), x.grad, w.grad):
        print(a.numpy().tobytes().hex())
"""


def test_batch_norm_columns_bits_do_not_depend_on_the_simd_level():
    assert same_bits_at_every_simd_level(_BN_SCRIPT)


def test_batch_norm_eval_noaffine_noncontiguous():
    x = t(RNG.standard_normal((3, 6, 4, 5))).permute(0, 1, 3, 2)  # non-contiguous
    x.requires_grad_(True)
    rm, rv = RNG.standard_normal(6), RNG.random(6) + 0.5
    w = t(RNG.standard_normal(6), requires_grad=True)
    y = F.batch_norm(x, t(rm), t(rv), w, None, False)
    close(y, np_bn(npy(x), npy(w), None, 1e-5, rm, rv), rtorch.float64)
    g = RNG.standard_normal(tuple(y.shape))
    y.backward(t(g))
    rstd = 1 / np.sqrt(rv + 1e-5)
    close(x.grad, g * (npy(w) * rstd).reshape(1, 6, 1, 1), rtorch.float64)
    xhat = (npy(x) - rm.reshape(1, 6, 1, 1)) * rstd.reshape(1, 6, 1, 1)
    close(w.grad, (g * xhat).sum((0, 2, 3)), rtorch.float64)
    # No affine, no running stats, training.
    xn = RNG.standard_normal((4, 3, 5))
    close(
        F.batch_norm(t(xn), None, None, training=True), np_bn(xn, None, None, 1e-5), rtorch.float64
    )
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        F.batch_norm(rtorch.zeros(1, 3), None, None, training=True)


def test_batch_norm_module_and_gradchecks():
    bn = rtorch.nn.BatchNorm2d(3).double()
    x = t(RNG.standard_normal((4, 3, 2, 3)))
    bn(x)
    axes = (0, 2, 3)
    close(bn.running_mean, 0.1 * npy(x).mean(axes), rtorch.float64)
    close(bn.running_var, 0.9 + 0.1 * npy(x).var(axes, ddof=1), rtorch.float64)
    assert int(bn.num_batches_tracked) == 1
    xg = t(RNG.standard_normal((3, 2, 4)), requires_grad=True)
    w = t(RNG.standard_normal(2), requires_grad=True)
    b = t(RNG.standard_normal(2), requires_grad=True)
    assert gradcheck(lambda a, c, d: F.batch_norm(a, None, None, c, d, True), (xg, w, b))
    rm, rv = t(RNG.standard_normal(2)), t(RNG.random(2) + 0.5)
    assert gradcheck(lambda a, c, d: F.batch_norm(a, rm, rv, c, d, False), (xg, w, b))
    # create_graph: the backward is built from differentiable ops.
    assert gradgradcheck(lambda a, c, d: F.batch_norm(a, None, None, c, d, True), (xg, w, b))
    assert gradgradcheck(lambda a, c: F.batch_norm(a, rm, rv, c, None, False), (xg, w))


# ------------------------------------------------------------------------ layer norm


def np_ln(x, k, w, b, eps):
    axes = tuple(range(x.ndim - k, x.ndim))
    mu = x.mean(axes, keepdims=True)
    var = x.var(axes, keepdims=True)
    y = (x - mu) / np.sqrt(var + eps)
    if w is not None:
        y = y * w
    if b is not None:
        y = y + b
    return y


def np_ln_backward(g, x, k, w, eps):
    axes = tuple(range(x.ndim - k, x.ndim))
    d = int(np.prod(x.shape[x.ndim - k :]))
    mu = x.mean(axes, keepdims=True)
    rstd = 1 / np.sqrt(x.var(axes, keepdims=True) + eps)
    xhat = (x - mu) * rstd
    gw = g * w if w is not None else g
    gx = rstd * (
        gw - gw.sum(axes, keepdims=True) / d - xhat * (gw * xhat).sum(axes, keepdims=True) / d
    )
    lead = tuple(range(x.ndim - k))
    return gx, (g * xhat).sum(lead), g.sum(lead)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
# Row lengths: below one 16-lane group (5, 7), a group and a tail (30, 33), the weight
# gradient's 32-column register blocks with a 16-column block and a tail (50) or a tail
# alone (70), and one wide row (1000).
@pytest.mark.parametrize(
    "shape,k",
    [
        ((3, 7), 1),
        ((2, 5, 6), 2),
        ((4, 9, 33), 1),
        ((5,), 1),
        ((40, 20, 70), 1),
        ((30, 50), 1),
        ((3, 1000), 1),
    ],
)
def test_layer_norm(shape, k, dtype):
    x = RNG.standard_normal(shape) * 2 - 0.5
    ns = shape[len(shape) - k :]
    w, b = RNG.standard_normal(ns), RNG.standard_normal(ns)
    xt, wt, bt = (t(a, dtype, True) for a in (x, w, b))
    y = F.layer_norm(xt, ns, wt, bt, 1e-4)
    xr, wr, br = npy(xt), npy(wt), npy(bt)
    close(y, np_ln(xr, k, wr, br, 1e-4), dtype)
    g = RNG.standard_normal(shape)
    y.backward(t(g, dtype))
    gx, gw, gb = np_ln_backward(g, xr, k, wr, 1e-4)
    atol = 1e-4 if dtype == rtorch.float32 else 1e-7
    np.testing.assert_allclose(npy(xt.grad), gx, rtol=1e-5, atol=atol)
    np.testing.assert_allclose(npy(wt.grad), gw, rtol=1e-5, atol=atol * 10)
    np.testing.assert_allclose(npy(bt.grad), gb, rtol=1e-5, atol=atol * 10)


@pytest.mark.parametrize("affine", [False, True])
def test_layer_norm_float32_rows_far_from_zero(affine):
    """float32 rows whose spread is small next to their mean (1000 + noise of 1e-2): the
    output is centered on the mean held as two floats, so the digits of the spread
    survive (a folded `x * rstd - mean * rstd` in float32 is off by whole units here)."""
    x = 1000.0 + RNG.standard_normal((64, 300)) * 1e-2
    xt = t(x, rtorch.float32, True)
    xr = npy(xt)
    w = b = None
    if affine:
        w, b = (
            t(RNG.standard_normal(300), rtorch.float32),
            t(RNG.standard_normal(300), rtorch.float32),
        )
    y = F.layer_norm(xt, (300,), w, b)
    want = np_ln(xr, 1, None if w is None else npy(w), None if b is None else npy(b), 1e-5)
    close(y, want, rtorch.float32)
    g = RNG.standard_normal((64, 300))
    y.backward(t(g, rtorch.float32))
    gx = np_ln_backward(g, xr, 1, None if w is None else npy(w), 1e-5)[0]
    # Gradients of size ~1e2 (rstd ~ 100): float32's relative tolerance.
    np.testing.assert_allclose(npy(xt.grad), gx, rtol=1e-5, atol=1e-3)


_LN_LEVEL_SCRIPT = """
import hashlib, rtorch, numpy as np
import rtorch.nn.functional as F
rng = np.random.RandomState(5)
out = []
for rows, d in [(40, 70), (33, 50), (8, 1000), (20, 7)]:
    x = rtorch.tensor(rng.standard_normal((rows, d)) * 3 + 1, dtype=rtorch.float32, requires_grad=True)
    w = rtorch.tensor(rng.standard_normal(d), dtype=rtorch.float32, requires_grad=True)
    b = rtorch.tensor(rng.standard_normal(d), dtype=rtorch.float32, requires_grad=True)
    y = F.layer_norm(x, (d,), w, b)
    y.backward(rtorch.tensor(rng.standard_normal((rows, d)), dtype=rtorch.float32))
    for a in (y, x.grad, w.grad, b.grad):
        out.append(hashlib.sha1(a.detach().numpy().tobytes()).hexdigest()[:12])
print(" ".join(out))
"""


def test_layer_norm_bits_do_not_depend_on_the_simd_level():
    """float32 layer norm forward and backward give the same bits on every SIMD level
    the machine has (the statistics' float64 lanes and the element loops perform the
    same operations at every width)."""
    levels = [run_script(_LN_LEVEL_SCRIPT, RTORCH_CPU_CAPABILITY=c) for c in ("default", "avx2")]
    levels.append(run_script(_LN_LEVEL_SCRIPT))
    assert levels[0] == levels[1] == levels[2]


def test_layer_norm_no_affine_noncontiguous_and_grads():
    x = t(RNG.standard_normal((6, 4))).t()
    x.requires_grad_(True)
    y = F.layer_norm(x, (6,))
    close(y, np_ln(npy(x), 1, None, None, 1e-5), rtorch.float64)
    g = RNG.standard_normal((4, 6))
    y.backward(t(g))
    close(x.grad, np_ln_backward(g, npy(x), 1, None, 1e-5)[0], rtorch.float64)
    xg = t(RNG.standard_normal((3, 2, 4)), requires_grad=True)
    w = t(RNG.standard_normal((2, 4)), requires_grad=True)
    b = t(RNG.standard_normal((2, 4)), requires_grad=True)
    f = lambda a, c, d: F.layer_norm(a, (2, 4), c, d)
    assert gradcheck(f, (xg, w, b))
    assert gradgradcheck(f, (xg, w, b))
    one = t(RNG.standard_normal(5), requires_grad=True)
    assert gradgradcheck(lambda a: F.layer_norm(a, (5,), a * 0 + 2.0, None), (one,))
    ln = rtorch.nn.LayerNorm(6).double()
    xm = RNG.standard_normal((3, 6))
    close(ln(t(xm)), np_ln(xm, 1, None, None, 1e-5), rtorch.float64)


# ------------------------------------------------------------------------ embedding


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
def test_embedding_lookup_and_backward(dtype):
    num, dim = 13, 7
    w = RNG.standard_normal((num, dim))
    idx = RNG.randint(0, num, (5, 6))
    idx[0, :3] = 4  # repeated rows accumulate
    for pad in (None, 4):
        wt = t(w, dtype, True)
        y = F.embedding(rtorch.tensor(idx), wt, padding_idx=pad)
        assert tuple(y.shape) == (5, 6, dim)
        close(y, w.astype(np.float32 if dtype == rtorch.float32 else np.float64)[idx], dtype)
        g = RNG.standard_normal((5, 6, dim))
        y.backward(t(g, dtype))
        want = np.zeros((num, dim))
        np.add.at(want, idx.reshape(-1), g.reshape(-1, dim))
        if pad is not None:
            want[pad] = 0
        close(wt.grad, want, dtype)
    # int32 indices, above the parallel grain size, thread-count independent.
    big = RNG.randint(0, 50, 3000)
    wb = rtorch.randn(50, 40, requires_grad=True)
    gb = rtorch.randn(3000, 40)

    def run():
        wb.grad = None
        F.embedding(rtorch.tensor(big, dtype=rtorch.int32), wb).backward(gb)
        return np.array(wb.grad.tolist())

    a, b = with_threads(1, run), with_threads(2, run)
    assert np.array_equal(a, b)
    want = np.zeros((50, 40))
    np.add.at(want, big, np.array(gb.tolist()))
    np.testing.assert_allclose(a, want, rtol=1e-5, atol=1e-5)


def test_embedding_errors_and_double_backward():
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(rtorch.tensor([1, 3]), rtorch.randn(3, 2))
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(rtorch.tensor([-1]), rtorch.randn(3, 2))
    e = F.embedding(rtorch.zeros(0, 2, dtype=rtorch.int64), rtorch.randn(3, 4))
    assert tuple(e.shape) == (0, 2, 4)
    w = t(RNG.standard_normal((6, 3)), requires_grad=True)
    idx = rtorch.tensor([[1, 2, 1], [5, 0, 2]])
    # gradcheck cannot see padding_idx (the forward still reads that row, the backward
    # deliberately gives it no gradient, as PyTorch), so it runs without it ...
    assert gradcheck(lambda a: F.embedding(idx, a), (w,))
    assert gradgradcheck(lambda a: F.embedding(idx, a * a), (w,))
    # ... and the padding row's zero gradient is checked directly.
    F.embedding(idx, w, padding_idx=2).sum().backward()
    want = np.zeros((6, 3))
    for i in [1, 1, 5, 0]:
        want[i] += 1.0
    np.testing.assert_array_equal(w.grad.numpy(), want)
