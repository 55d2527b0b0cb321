"""Rust window kernels behind nn.functional: im2col/col2im (F.unfold/F.fold, conv2d,
conv_transpose2d, avg_pool2d) and the max-pool argmax kernel (``_C._max_pool``,
checked directly and next to F.max_pool2d), against numpy float64 references written here
(vectorised over kernel offsets), gradcheck and gradgradcheck."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rtorch
import rtorch.nn.functional as F
from rtorch import _C
from rtorch.autograd import gradcheck, gradgradcheck

RNG = np.random.RandomState(7)


def blocks(size, k, d, p, s):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def np_unfold(x, k, d, p, s):
    """(N, C, H, W) -> (N, C*kh*kw, L), one strided slice per kernel offset."""
    n, c, h, w = x.shape
    oh, ow = blocks(h, k[0], d[0], p[0], s[0]), blocks(w, k[1], d[1], p[1], s[1])
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    out = np.zeros((n, c, k[0], k[1], oh, ow), dtype=x.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            r0, c0 = i * d[0], j * d[1]
            out[:, :, i, j] = xp[:, :, r0 : r0 + s[0] * (oh - 1) + 1 : s[0],
                                 c0 : c0 + s[1] * (ow - 1) + 1 : s[1]]  # fmt: skip
    return out.reshape(n, c * k[0] * k[1], oh * ow)


def np_fold(cols, size, k, d, p, s):
    """The adjoint of np_unfold: sums each column entry into its pixel."""
    n = cols.shape[0]
    c = cols.shape[1] // (k[0] * k[1])
    oh, ow = blocks(size[0], k[0], d[0], p[0], s[0]), blocks(size[1], k[1], d[1], p[1], s[1])
    cols = cols.reshape(n, c, k[0], k[1], oh, ow)
    out = np.zeros((n, c, size[0] + 2 * p[0], size[1] + 2 * p[1]), dtype=cols.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            r0, c0 = i * d[0], j * d[1]
            out[:, :, r0 : r0 + s[0] * (oh - 1) + 1 : s[0],
                c0 : c0 + s[1] * (ow - 1) + 1 : s[1]] += cols[:, :, i, j]  # fmt: skip
    return out[:, :, p[0] : p[0] + size[0], p[1] : p[1] + size[1]]


def pool_out(n, k, s, p, d, ceil):
    span = n + 2 * p - d * (k - 1) - 1
    o = (math.ceil(span / s) if ceil else span // s) + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def np_max_pool_idx(x, k, s, p, d, ceil):
    """Flat argmax per window, PyTorch's CPU rule: the first valid element starts, then a
    later one replaces it if greater or NaN. Vectorised over windows, looped over offsets."""
    n, c, h, w = x.shape
    oh, ow = pool_out(h, k[0], s[0], p[0], d[0], ceil), pool_out(w, k[1], s[1], p[1], d[1], ceil)
    best = np.zeros((n, c, oh, ow))
    idx = np.full((n, c, oh, ow), -1, dtype=np.int64)
    flat = x.reshape(n, c, h * w)
    for i in range(k[0]):
        rows = np.arange(oh) * s[0] - p[0] + i * d[0]
        for j in range(k[1]):
            cols = np.arange(ow) * s[1] - p[1] + j * d[1]
            valid = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :]
            f = np.clip(rows, 0, h - 1)[:, None] * w + np.clip(cols, 0, w - 1)[None, :]
            cand = flat[:, :, f]
            with np.errstate(invalid="ignore"):
                take = valid & ((idx < 0) | (cand > best) | np.isnan(cand))
            best = np.where(take, cand, best)
            idx = np.where(take, f, idx)
    return idx


def t(a, requires_grad=False):
    return rtorch.tensor(a, requires_grad=requires_grad)


def close(a, b, dtype=np.float64):
    a = a.detach().numpy() if hasattr(a, "detach") else a
    if dtype == np.float32:
        np.testing.assert_allclose(a, b, rtol=1.3e-6, atol=1e-5)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-7)


GEOMS = [
    # kernel, dilation, padding, stride
    ((3, 3), (1, 1), (0, 0), (1, 1)),
    ((2, 3), (1, 2), (1, 0), (2, 1)),
    ((1, 1), (1, 1), (0, 0), (2, 3)),
    ((3, 2), (2, 1), (2, 1), (3, 2)),
    ((5, 5), (1, 1), (2, 2), (1, 1)),
]


# Planes of up to 64 pixels fold as a per-pixel gather, larger ones row by row; planes
# of up to 255 pixels unfold through a table of source pixels, larger ones row by row.
@pytest.mark.parametrize("size", [(9, 11), (4, 5), (8, 8), (15, 17), (16, 16)])
@pytest.mark.parametrize("k,d,p,s", GEOMS)
def test_unfold_fold_match_numpy(k, d, p, s, size):
    # 2*5*9*11 = 990 inputs; the 5x5 geometry gives 2*5*25*99 columns, above the grain.
    x = RNG.randn(2, 5, *size)
    got = F.unfold(t(x), k, dilation=d, padding=p, stride=s)
    want = np_unfold(x, k, d, p, s)
    close(got, want)
    # float32 has its own small-plane route (a table of source pixels); unfold copies,
    # so the values are exact.
    x32 = x.astype(np.float32)
    got32 = F.unfold(t(x32), k, dilation=d, padding=p, stride=s).numpy()
    np.testing.assert_array_equal(got32, np_unfold(x32.astype(np.float64), k, d, p, s))
    cols = RNG.randn(*want.shape)
    close(F.fold(t(cols), size, k, dilation=d, padding=p, stride=s),
          np_fold(cols, size, k, d, p, s))  # fmt: skip
    # Unbatched forms drop the batch dimension.
    close(F.unfold(t(x[0]), k, dilation=d, padding=p, stride=s), want[0])
    close(F.fold(t(cols[1]), size, k, dilation=d, padding=p, stride=s),
          np_fold(cols, size, k, d, p, s)[1])  # fmt: skip


def test_unfold_small_plane_with_more_columns_than_its_table_holds():
    # 3x3 windows over a 5x4 plane padded by 90: 9 * 185 * 184 column entries, above
    # the 65536 a source table holds, so the rows are copied one by one.
    x = RNG.randn(1, 2, 5, 4).astype(np.float32)
    got = F.unfold(t(x), 3, padding=90).numpy()
    np.testing.assert_array_equal(
        got, np_unfold(x.astype(np.float64), (3, 3), (1, 1), (90, 90), (1, 1))
    )


def test_unfold_large_parallel_float32_noncontiguous():
    x = RNG.randn(8, 16, 20, 13).astype(np.float32)
    xt = t(x.transpose(0, 1, 3, 2).copy()).transpose(2, 3)  # non-contiguous view of x
    assert not xt.is_contiguous()
    got = F.unfold(xt, (3, 4), dilation=(1, 2), padding=(1, 2), stride=(2, 1))
    assert got.dtype == rtorch.float32
    close(got, np_unfold(x, (3, 4), (1, 2), (1, 2), (2, 1)), np.float32)
    cols = RNG.randn(*got.shape).astype(np.float32)
    ct = t(cols.transpose(0, 2, 1).copy()).transpose(1, 2)
    got = F.fold(ct, (20, 13), (3, 4), dilation=(1, 2), padding=(1, 2), stride=(2, 1))
    # Summation order differs from numpy's: float32 sums of up to 12 terms.
    np.testing.assert_allclose(
        got.numpy(), np_fold(cols, (20, 13), (3, 4), (1, 2), (1, 2), (2, 1)), rtol=1e-5,
        atol=1e-5,
    )  # fmt: skip


def test_unfold_half_types_and_errors():
    x = RNG.randn(1, 2, 5, 5)
    for dt in (rtorch.float16, rtorch.bfloat16):
        got = F.unfold(t(x).to(dt), 2)
        assert got.dtype == dt
        close(got.double(), np_unfold(t(x).to(dt).double().numpy(), (2, 2), (1, 1), (0, 0),
                                      (1, 1)))  # fmt: skip
        folded = F.fold(got, (5, 5), 2)
        assert folded.dtype == dt
    with pytest.raises(NotImplementedError, match="im2col_out_cpu"):
        F.unfold(rtorch.zeros(1, 1, 3, 3, dtype=rtorch.int64), 2)
    with pytest.raises(RuntimeError, match="its components must be at least one"):
        F.unfold(rtorch.zeros(1, 1, 3, 3), 4)
    with pytest.raises(RuntimeError, match="kernel size should be greater than zero"):
        F.unfold(rtorch.zeros(1, 1, 3, 3), 0)
    with pytest.raises(RuntimeError, match="stride should be greater than zero"):
        F.unfold(rtorch.zeros(1, 1, 3, 3), 2, stride=0)
    with pytest.raises(RuntimeError, match="Expected 3D or 4D"):
        F.unfold(rtorch.zeros(1, 0, 3, 3), 2)
    with pytest.raises(RuntimeError, match="divisible by the product of kernel_size"):
        F.fold(rtorch.zeros(1, 5, 4), (3, 3), 2)
    with pytest.raises(RuntimeError, match=r"sliding blocks 2 \* 2 = 4, but got input.size\(2\)=5"):
        F.fold(rtorch.zeros(1, 4, 5), (3, 3), 2)
    # Empty batch: empty result of the right shape.
    assert F.unfold(rtorch.zeros(0, 2, 4, 4), 2).shape == (0, 8, 9)


@pytest.mark.parametrize("k,d,p,s", GEOMS[:4])
def test_unfold_fold_gradcheck(k, d, p, s):
    x = t(RNG.randn(2, 2, 6, 7), requires_grad=True)
    assert gradcheck(lambda a: F.unfold(a, k, dilation=d, padding=p, stride=s), (x,))
    assert gradgradcheck(lambda a: F.unfold(a, k, dilation=d, padding=p, stride=s), (x,))
    cols = F.unfold(x.detach(), k, dilation=d, padding=p, stride=s)
    c = t(RNG.randn(*cols.shape), requires_grad=True)
    assert gradcheck(lambda a: F.fold(a, (6, 7), k, dilation=d, padding=p, stride=s), (c,))
    assert gradgradcheck(lambda a: F.fold(a, (6, 7), k, dilation=d, padding=p, stride=s), (c,))
    assert F.unfold(x, k, dilation=d, padding=p, stride=s).grad_fn.name() == "Im2ColBackward0"


def np_conv2d(x, wt, b, s, p, d, groups):
    n = x.shape[0]
    o, cg, kh, kw = wt.shape
    cols = np_unfold(x, (kh, kw), d, p, s).reshape(n, groups, cg * kh * kw, -1)
    out = np.einsum("gok,ngkl->ngol", wt.reshape(groups, o // groups, -1), cols)
    oh = blocks(x.shape[2], kh, d[0], p[0], s[0])
    return out.reshape(n, o, oh, -1) + b.reshape(1, o, 1, 1)


@pytest.mark.parametrize(
    "s,p,d,groups",
    [((1, 1), (0, 0), (1, 1), 1), ((2, 1), (1, 2), (1, 2), 2), ((1, 2), (2, 0), (2, 1), 4)],
)
def test_conv2d_matches_numpy_and_gradcheck(s, p, d, groups):
    x = RNG.randn(3, 4, 9, 8)
    wt = RNG.randn(6 if groups != 4 else 8, 4 // groups, 3, 2)
    b = RNG.randn(wt.shape[0])
    got = F.conv2d(t(x), t(wt), t(b), stride=s, padding=p, dilation=d, groups=groups)
    close(got, np_conv2d(x, wt, b, s, p, d, groups))
    xs = t(x[:1, :, :5, :5], requires_grad=True)
    ws = t(wt, requires_grad=True)
    f = lambda a, w: F.conv2d(a, w, None, s, p, d, groups)
    assert gradcheck(f, (xs, ws))
    assert gradgradcheck(f, (xs, ws))


def test_conv2d_same_padding_even_kernel():
    # 'same' with an even kernel pads one more on the right/bottom than on the left/top.
    x = RNG.randn(1, 2, 6, 7)
    wt = RNG.randn(3, 2, 4, 2)
    b = np.zeros(3)
    got = F.conv2d(t(x), t(wt), padding="same")
    xp = np.pad(x, ((0, 0), (0, 0), (1, 2), (0, 1)))
    close(got, np_conv2d(xp, wt, b, (1, 1), (0, 0), (1, 1), 1))


@pytest.mark.parametrize(
    "s,p,op,d", [((2, 2), (1, 0), (1, 0), (1, 1)), ((1, 1), (0, 1), (1, 1), (2, 2))]
)
def test_conv_transpose2d_is_adjoint_of_conv2d(s, p, op, d):
    # <conv_transpose2d(y, w), x> == <y, conv2d(x, w)> for x of the transposed output size.
    y = RNG.randn(2, 3, 4, 5)
    wt = RNG.randn(3, 2, 3, 2)
    out = F.conv_transpose2d(t(y), t(wt), stride=s, padding=p, output_padding=op, dilation=d)
    x = RNG.randn(*out.shape)
    conv = F.conv2d(t(x), t(wt), stride=s, padding=p, dilation=d)
    # output_padding >= stride lets conv2d fit extra windows at the end: the adjoint is
    # conv2d restricted to y's positions.
    assert conv.shape[2] >= 4 and conv.shape[3] >= 5
    conv = conv[:, :, :4, :5]
    lhs = float((out.numpy() * x).sum())
    rhs = float((conv.numpy() * y).sum())
    assert abs(lhs - rhs) < 1e-9 * max(1.0, abs(lhs))
    ys = t(y[:1, :, :3, :3], requires_grad=True)
    f = lambda a: F.conv_transpose2d(a, t(wt), stride=s, padding=p, output_padding=op, dilation=d)
    assert gradcheck(f, (ys,))


POOLS = [
    # kernel, stride, padding, dilation, ceil_mode
    ((2, 2), (2, 2), (0, 0), (1, 1), False),
    ((3, 3), (2, 2), (1, 1), (1, 1), True),
    ((3, 2), (2, 3), (1, 1), (2, 1), False),
    ((2, 3), (3, 2), (0, 1), (1, 2), True),
    ((1, 1), (2, 2), (0, 0), (1, 1), True),
]


@pytest.mark.parametrize("k,s,p,d,ceil", POOLS)
def test_max_pool2d_indices_and_values(k, s, p, d, ceil):
    # Few distinct values: many ties; NaNs sprinkled in.
    x = RNG.randint(0, 4, size=(4, 3, 11, 10)).astype(np.float64)
    x.flat[RNG.choice(x.size, 15, replace=False)] = np.nan
    vals, idx = F.max_pool2d(t(x), k, s, p, d, ceil, return_indices=True)
    want = np_max_pool_idx(x, k, s, p, d, ceil)
    np.testing.assert_array_equal(idx.numpy(), want)
    # The Rust kernel directly.
    np.testing.assert_array_equal(_C._max_pool(t(x), k, s, p, d, ceil)[1].numpy(), want)
    np.testing.assert_array_equal(_C._max_pool(t(x[0]), k, s, p, d, ceil)[1].numpy(), want[0])
    flat = x.reshape(4, 3, -1)
    want_vals = np.take_along_axis(flat, want.reshape(4, 3, -1), 2).reshape(want.shape)
    np.testing.assert_array_equal(vals.numpy(), want_vals)
    # float32, non-contiguous, above the grain (64*8*... windows).
    big = RNG.randn(16, 8, 30, 17).astype(np.float32)
    bt = t(big.transpose(0, 1, 3, 2).copy()).transpose(2, 3)
    v32, i32 = F.max_pool2d(bt, k, s, p, d, ceil, return_indices=True)
    want32 = np_max_pool_idx(big, k, s, p, d, ceil)
    np.testing.assert_array_equal(i32.numpy(), want32)
    np.testing.assert_array_equal(_C._max_pool(bt, k, s, p, d, ceil)[1].numpy(), want32)
    assert v32.dtype == rtorch.float32


def test_max_pool_all_minus_inf_and_integers():
    x = np.full((1, 1, 4, 4), -np.inf)
    _, idx = F.max_pool2d(t(x), 2, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), [[[[0, 2], [8, 10]]]])
    xi = RNG.randint(-5, 5, size=(2, 3, 7, 6))
    want = np_max_pool_idx(xi.astype(np.float64), (3, 3), (2, 2), (1, 1), (1, 1), False)
    got = _C._max_pool(t(xi), (3, 3), (2, 2), (1, 1), (1, 1), False)[1]
    np.testing.assert_array_equal(got.numpy(), want)
    # Without padding through F (its padded integer path is a separate Python issue).
    vals, idx = F.max_pool2d(t(xi), 3, 2, return_indices=True)
    assert vals.dtype == rtorch.int64
    want = np_max_pool_idx(xi.astype(np.float64), (3, 3), (2, 2), (0, 0), (1, 1), False)
    np.testing.assert_array_equal(idx.numpy(), want)
    got = _C._max_pool(t(x), (2, 2), (2, 2), (0, 0), (1, 1), False)[1]
    np.testing.assert_array_equal(got.numpy(), [[[[0, 2], [8, 10]]]])
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        _C._max_pool(t(x), (2, 2), (2, 2), (2, 0), (1, 1), False)[1]
    with pytest.raises(RuntimeError, match="Output size is too small"):
        _C._max_pool(t(x[:, :, :1, :1]), (3, 3), (1, 1), (1, 1), (2, 2), False)[1]


def test_max_pool1d_and_unbatched():
    x = RNG.randn(2, 3, 13)
    vals, idx = F.max_pool1d(t(x), 3, 2, 1, 2, True, return_indices=True)
    want = np_max_pool_idx(x[:, :, None, :], (1, 3), (1, 2), (0, 1), (1, 2), True)[:, :, 0]
    np.testing.assert_array_equal(idx.numpy(), want)
    close(vals, np.take_along_axis(x, want, 2))
    v3, i3 = F.max_pool2d(t(x[0].reshape(3, 13, 1)), (3, 1), return_indices=True)
    assert v3.shape == (3, 4, 1) and i3.shape == (3, 4, 1)


def test_max_pool_gradcheck_and_errors():
    # Distinct values keep the argmax away from ties under finite differences.
    x = t(RNG.permutation(2 * 2 * 7 * 6).reshape(2, 2, 7, 6) / 10.0, requires_grad=True)
    f = lambda a: F.max_pool2d(a, 3, 2, 1, ceil_mode=True)
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel size"):
        F.max_pool2d(rtorch.zeros(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        F.max_pool2d(rtorch.zeros(1, 1, 1, 1), 3, padding=1, dilation=2)
    with pytest.raises(RuntimeError, match="stride should not be zero"):
        F.max_pool2d(rtorch.zeros(1, 1, 4, 4), 2, stride=0)


@pytest.mark.parametrize("ceil,include,div", [(False, True, None), (True, False, None),
                                              (True, True, 3)])  # fmt: skip
def test_avg_pool2d_window_sums(ceil, include, div):
    x = RNG.randn(3, 4, 9, 10)
    k, s, p = (3, 2), (2, 3), (1, 1)
    got = F.avg_pool2d(t(x), k, s, p, ceil, include, div)
    oh, ow = pool_out(9, 3, 2, 1, 1, ceil), pool_out(10, 2, 3, 1, 1, ceil)
    want = np.zeros((3, 4, oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * 2 - 1, j * 3 - 1
            r1, c1 = min(r0 + 3, 9 + 1), min(c0 + 2, 10 + 1)  # window clipped to padded plane
            rs, cs = max(r0, 0), max(c0, 0)
            total = x[:, :, rs : min(r1, 9), cs : min(c1, 10)].sum((2, 3))
            count = (r1 - r0) * (c1 - c0) if include else (min(r1, 9) - rs) * (min(c1, 10) - cs)
            want[:, :, i, j] = total / (div if div else count)
    close(got, want)
    xs = t(x[:1, :2], requires_grad=True)
    f = lambda a: F.avg_pool2d(a, k, s, p, ceil, include, div)
    assert gradcheck(f, (xs,))
