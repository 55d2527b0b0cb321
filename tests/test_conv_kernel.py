"""The fused conv2d kernel (``_C._conv2d``): forward, input/weight/bias gradients.

References are numpy float64 sums over kernel offsets (no function under test). The
shapes reach every path the kernel special-cases: 1x1 pointwise (no im2col), strided
1x1, groups and depthwise, stride/dilation/padding, samples spread over threads, one
large sample with the product split over threads, the weight gradient's batch parts,
an empty batch, non-contiguous inputs, and float32/float64.
"""

import numpy as np
import pytest
from conftest import run_script, same_bits_at_every_simd_level

import rtorch
import rtorch.nn.functional as F

TOL = {
    rtorch.float32: {"rtol": 1.3e-6, "atol": 1e-5},
    rtorch.float64: {"rtol": 1e-7, "atol": 1e-7},
}
NP = {rtorch.float32: np.float32, rtorch.float64: np.float64}


def _windows(x, kh, kw, stride, padding, dilation):
    """Yields ``(i, j, patch)``: the zero-padded input seen by kernel offset (i, j)."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    oh = (xp.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (xp.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    for i in range(kh):
        for j in range(kw):
            y0, x0 = i * dilation[0], j * dilation[1]
            ys = slice(y0, y0 + stride[0] * (oh - 1) + 1, stride[0])
            xs = slice(x0, x0 + stride[1] * (ow - 1) + 1, stride[1])
            yield i, j, ys, xs, xp


def ref_conv(x, w, b, stride, padding, dilation, groups):
    """float64 forward and a function giving (gx, gw, gb) for an upstream gradient."""
    x, w = x.astype(np.float64), w.astype(np.float64)
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    og = o // groups
    out = None
    for i, j, ys, xs, xp in _windows(x, kh, kw, stride, padding, dilation):
        patch = xp[:, :, ys, xs]
        for g in range(groups):
            term = np.einsum(
                "nchw,oc->nohw", patch[:, g * cg : (g + 1) * cg], w[g * og : (g + 1) * og, :, i, j]
            )
            if out is None:
                out = np.zeros((n, o) + term.shape[2:])
            out[:, g * og : (g + 1) * og] += term
    if b is not None:
        out += b.astype(np.float64)[None, :, None, None]

    def grads(gy):
        gy = gy.astype(np.float64)
        gw = np.zeros_like(w)
        gxp = None
        for i, j, ys, xs, xp in _windows(x, kh, kw, stride, padding, dilation):
            if gxp is None:
                gxp = np.zeros_like(xp)
            patch = xp[:, :, ys, xs]
            for g in range(groups):
                go = gy[:, g * og : (g + 1) * og]
                gw[g * og : (g + 1) * og, :, i, j] += np.einsum(
                    "nohw,nchw->oc", go, patch[:, g * cg : (g + 1) * cg]
                )
                gxp[:, g * cg : (g + 1) * cg, ys, xs] += np.einsum(
                    "nohw,oc->nchw", go, w[g * og : (g + 1) * og, :, i, j]
                )
        ph, pw = padding
        gx = gxp[:, :, ph : gxp.shape[2] - ph, pw : gxp.shape[3] - pw]
        return gx, gw, gy.sum(axis=(0, 2, 3))

    return out, grads


# (n, c, h, w, o, kh, kw, stride, padding, dilation, groups)
CASES = [
    (2, 3, 7, 9, 4, 3, 3, (1, 1), (0, 0), (1, 1), 1),
    (3, 1, 28, 28, 10, 5, 5, (1, 1), (0, 0), (1, 1), 1),  # the MNIST CNN's first conv
    (2, 4, 8, 8, 6, 1, 1, (1, 1), (0, 0), (1, 1), 1),  # pointwise: no im2col
    (2, 4, 9, 8, 6, 1, 1, (2, 2), (0, 0), (1, 1), 1),  # strided 1x1: im2col
    (2, 6, 7, 7, 4, 3, 3, (2, 1), (1, 2), (1, 1), 2),  # groups, asymmetric stride
    (1, 5, 11, 10, 5, 3, 2, (1, 1), (2, 1), (2, 3), 5),  # depthwise, dilation
    (2, 6, 6, 6, 9, 1, 1, (1, 1), (0, 0), (1, 1), 3),  # grouped pointwise
    (5, 3, 13, 5, 2, 4, 1, (3, 1), (1, 0), (1, 1), 1),  # odd sizes, tall kernel
    (1, 2, 3, 3, 3, 3, 3, (1, 1), (1, 1), (1, 1), 1),  # one output per window row
    (
        9,
        2,
        6,
        5,
        3,
        2,
        2,
        (2, 2),
        (1, 1),
        (1, 1),
        1,
    ),  # 9 samples of 4x3 outputs: one block, so one weight-grad part (gradient in place)
    (2, 3, 5, 70, 2, 1, 3, (1, 1), (0, 1), (1, 1), 1),  # rows of 70: the long-row copy
    # 10x10 outputs: blocks of 6 samples share one product (6 + 6 + 1 here; the last
    # block of one sample writes its output directly), rows of 10 and 14 copied in
    # overlapping chunks.
    (13, 6, 14, 14, 16, 5, 5, (1, 1), (0, 0), (1, 1), 1),
    (8, 4, 12, 12, 6, 3, 3, (1, 1), (0, 0), (1, 1), 2),  # blocks of 6 + 2, two groups
    (7, 2, 9, 17, 3, 3, 3, (2, 1), (2, 1), (1, 2), 1),  # blocked, padded, strided, dilated
    # float32, unit stride, <= 64 channels: the direct AVX-512 kernels where the CPU has
    # them (float64 keeps the im2col route, so both are checked). Odd tap counts leave
    # the weight gradient's last tap alone (its pairs otherwise).
    (3, 18, 9, 9, 12, 3, 3, (1, 1), (1, 1), (1, 1), 1),  # 8 + 4 output channels
    (2, 40, 8, 7, 33, 3, 3, (1, 1), (1, 1), (1, 1), 1),  # 4 x 8 + 1 out, 9 taps
    # Over 16 outputs the weight gradient is a register-tiled product with 2-4 vectors of
    # output channels and 24 / vectors columns a tile: 20 out is 2 vectors, 12 columns,
    # 45 columns padded to 48; forward tiles of 6 rows leave 2; dx has 5 rows.
    (2, 5, 11, 13, 20, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    (1, 7, 4, 23, 1, 2, 3, (1, 1), (1, 0), (1, 1), 1),  # 1 out: a 1-row forward tile
    (2, 70, 6, 6, 64, 3, 3, (1, 1), (1, 1), (1, 1), 1),  # 64 out direct; 70 in: dx by GEMM
    (1, 9, 5, 6, 65, 3, 3, (1, 1), (1, 1), (1, 1), 1),  # 65 out: all by GEMM
    (2, 3, 10, 11, 5, 3, 2, (1, 1), (2, 1), (2, 3), 1),  # padded and dilated
    (2, 2, 1, 40, 3, 1, 7, (1, 1), (0, 3), (1, 1), 1),  # one row, wide padding
    # Images of 300 outputs: blocks of 2 samples, weight-grad parts of 3 (2 + 1, the
    # second block adding to the first), 6 parts: the gradient goes as dW^T, transposed
    # at the end (pointwise, and grouped im2col).
    (17, 2, 20, 15, 3, 1, 1, (1, 1), (0, 0), (1, 1), 1),
    (17, 2, 12, 25, 4, 3, 3, (1, 1), (1, 1), (1, 1), 2),
    (5, 4, 40, 30, 6, 3, 3, (1, 1), (1, 1), (1, 1), 2),  # blocks and parts of 1 sample
    # Depthwise (one input channel a group): plane by plane on zero-padded phase planes.
    (3, 8, 9, 11, 8, 3, 3, (1, 1), (1, 1), (1, 1), 8),  # MobileNet's 3x3
    (2, 6, 12, 13, 12, 3, 3, (2, 2), (1, 1), (1, 1), 6),  # 2 outputs a channel, 4 phases
    (2, 4, 10, 9, 4, 5, 3, (2, 3), (2, 1), (1, 2), 4),  # 6 phases, dilated
    (2, 5, 7, 7, 5, 7, 7, (1, 1), (3, 3), (1, 1), 5),  # ConvNeXt's 7x7
    (1, 3, 1, 1, 3, 3, 3, (1, 1), (1, 1), (1, 1), 3),  # a 1x1 image, all padding around
    (2, 4, 6, 5, 8, 1, 1, (1, 1), (0, 0), (1, 1), 4),  # 1x1: a scale per channel
    # Small planes go 83 to a forward task (4096 outputs): tasks of 83, 83 and 26 planes
    # sharing a zeroed buffer; 64 grid positions a plane, one register block.
    (2, 96, 7, 7, 96, 3, 3, (1, 1), (1, 1), (1, 1), 96),
    (1, 2, 66, 70, 2, 3, 3, (1, 1), (1, 1), (1, 1), 2),  # 4620 outputs: a plane a task
]


def _tol(dtype, terms):
    """TOL, with float32's atol grown for long sums: each output sums `terms` products
    of unit-scale values, and float32 rounding of a sequential sum grows about as the
    square root of its length (the tolerance stays at TOL up to 25 terms)."""
    tol = dict(TOL[dtype])
    if dtype == rtorch.float32:
        tol["atol"] *= max(1.0, np.sqrt(terms) / 5)
    return tol


def _case_tensors(case, dtype, seed=0, bias=True):
    n, c, h, w, o, kh, kw = case[:7]
    groups = case[10]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(NP[dtype])
    wt = rng.standard_normal((o, c // groups, kh, kw)).astype(NP[dtype])
    b = rng.standard_normal(o).astype(NP[dtype]) if bias else None
    return x, wt, b


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_forward_and_gradients_match_float64_reference(case, dtype, bias):
    x, w, b = _case_tensors(case, dtype, bias=bias)
    stride, padding, dilation, groups = case[7:]
    ref, ref_grads = ref_conv(x, w, b, stride, padding, dilation, groups)
    xt = rtorch.tensor(x, requires_grad=True)
    wt = rtorch.tensor(w, requires_grad=True)
    bt = rtorch.tensor(b, requires_grad=True) if bias else None
    out = F.conv2d(xt, wt, bt, stride, padding, dilation, groups)
    assert out.dtype == dtype and tuple(out.shape) == ref.shape
    assert out.grad_fn.name() == "ConvolutionBackward0"
    n, o, c = x.shape[0], w.shape[0], x.shape[1]
    kk = w.shape[2] * w.shape[3]
    np.testing.assert_allclose(out.detach().numpy(), ref, **_tol(dtype, c // groups * kk))
    gy = np.random.default_rng(1).standard_normal(ref.shape).astype(NP[dtype])
    out.backward(rtorch.tensor(gy))
    gx, gw, gb = ref_grads(gy)
    np.testing.assert_allclose(xt.grad.numpy(), gx, **_tol(dtype, o // groups * kk))
    np.testing.assert_allclose(wt.grad.numpy(), gw, **_tol(dtype, n * ref.shape[2] * ref.shape[3]))
    if bias:
        np.testing.assert_allclose(bt.grad.numpy(), gb, **TOL[dtype])


# Sizes that reach the threaded paths: many samples over threads (and the weight
# gradient's parallel parts), and one sample large enough to split its products.
BIG = [
    (16, 8, 24, 24, 16, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    (9, 8, 24, 24, 16, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    (1, 16, 32, 32, 32, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    (3, 32, 32, 32, 64, 1, 1, (1, 1), (0, 0), (1, 1), 1),
    (40, 6, 14, 14, 16, 5, 5, (1, 1), (0, 0), (1, 1), 1),  # LeNet's conv2: blocks of 6
    # Two groups: forward and input-gradient blocks of 6 at one thread, 8 at two and 10
    # at three (evened out over the threads), the same bits.
    (30, 4, 10, 10, 8, 3, 3, (1, 1), (1, 1), (1, 1), 2),
    # im2col weight gradients: the whole batch one block (one part, the product split
    # over threads, gradient in place); 6 parts of 2 (parts over threads, dW^T).
    (8, 96, 14, 14, 80, 3, 3, (2, 2), (1, 1), (1, 1), 1),
    (12, 72, 16, 16, 80, 3, 3, (1, 1), (1, 1), (1, 1), 2),
    # Depthwise: planes over threads, the weight gradient's channels over threads.
    (16, 40, 14, 14, 40, 3, 3, (1, 1), (1, 1), (1, 1), 40),
    (8, 24, 20, 21, 48, 3, 3, (2, 2), (1, 1), (1, 1), 24),
]


@pytest.mark.parametrize("case", BIG)
def test_threaded_paths_match_reference_and_do_not_depend_on_thread_count(case):
    dtype = rtorch.float32
    x, w, b = _case_tensors(case, dtype)
    stride, padding, dilation, groups = case[7:]
    ref, ref_grads = ref_conv(x, w, b, stride, padding, dilation, groups)
    gy = np.random.default_rng(2).standard_normal(ref.shape).astype(np.float32)
    before = rtorch.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            rtorch.set_num_threads(threads)
            xt, wt, bt = (rtorch.tensor(a, requires_grad=True) for a in (x, w, b))
            out = F.conv2d(xt, wt, bt, stride, padding, dilation, groups)
            out.backward(rtorch.tensor(gy))
            results.append([t.numpy() for t in (out.detach(), xt.grad, wt.grad, bt.grad)])
    finally:
        rtorch.set_num_threads(before)
    for other in results[1:]:
        for a, b_ in zip(results[0], other, strict=True):
            assert np.array_equal(a, b_)
    # Sums of up to ~5000 float32 products: atol scaled to the size of the terms.
    gx, gw, gb = ref_grads(gy)
    for got, want in zip(results[0], (ref, gx, gw, gb), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
def test_non_finite_values_only_reach_the_outputs_they_touch(dtype):
    # The direct kernels compute whole padded rows; inputs whose infinities sit where
    # only those spare positions read them (and infinite weights meeting the padding)
    # must still give PyTorch's answer.
    x = np.array([[[[1.0, 2.0, np.inf], [3.0, -1.0, 0.5]]]])
    w = np.array([[[[0.5, -2.0]]]])
    b = np.array([0.25])
    ref, ref_grads = ref_conv(x, w, b, (1, 1), (0, 0), (1, 1), 1)
    xt = rtorch.tensor(x, dtype=dtype, requires_grad=True)
    wt = rtorch.tensor(w, dtype=dtype, requires_grad=True)
    out = F.conv2d(xt, wt, rtorch.tensor(b, dtype=dtype))
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-6)
    gy = np.array([[[[1.0, -1.0], [2.0, 0.5]]]])
    out.backward(rtorch.tensor(gy, dtype=dtype))
    _, gw, _ = ref_grads(gy)
    assert np.isfinite(gw[0, 0, 0, 0]) and gw[0, 0, 0, 1] == -np.inf
    np.testing.assert_allclose(wt.grad.numpy(), gw, rtol=1e-6)

    w_inf = np.array([[[[np.inf, 1.0, 1.0]]]])
    xt = rtorch.tensor(x[..., :2].copy(), dtype=dtype, requires_grad=True)
    out = F.conv2d(xt, rtorch.tensor(w_inf, dtype=dtype), padding=(0, 1))
    gy = np.ones(tuple(out.shape))
    out.backward(rtorch.tensor(gy, dtype=dtype))
    ref_gx = ref_conv(x[..., :2], w_inf, None, (1, 1), (0, 1), (1, 1), 1)[1](gy)[0]
    np.testing.assert_array_equal(xt.grad.numpy(), ref_gx)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
def test_depthwise_non_finite_values(dtype):
    # The depthwise kernels compute spare grid columns that read other pixels; a NaN or
    # an infinity must still reach only the outputs whose windows hold it. Infinite
    # weights (input gradient) and inputs (weight gradient) take the other kernels.
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 5, 6))
    x[0, 0, 1, 5], x[1, 2, 4, 0] = np.nan, np.inf
    w = rng.standard_normal((3, 1, 3, 3))
    gy = rng.standard_normal((2, 3, 5, 6))
    for w_case in (w, np.where(np.arange(27).reshape(3, 1, 3, 3) == 4, np.inf, w)):
        ref, ref_grads = ref_conv(x, w_case, None, (1, 1), (1, 1), (1, 1), 3)
        xt = rtorch.tensor(x, dtype=dtype, requires_grad=True)
        wt = rtorch.tensor(w_case, dtype=dtype, requires_grad=True)
        out = F.conv2d(xt, wt, padding=1, groups=3)
        np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-5, atol=1e-5)
        assert np.isfinite(out.detach().numpy()[0, 1]).all()
        out.backward(rtorch.tensor(gy, dtype=dtype))
        gx, gw, _ = ref_grads(gy)
        np.testing.assert_allclose(xt.grad.numpy(), gx, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(wt.grad.numpy(), gw, rtol=1e-5, atol=1e-5)


_DEPTHWISE_SCRIPT = """
import sys
import numpy as np
import rtorch
import rtorch.nn.functional as F
rng = np.random.default_rng(0)
x = rtorch.tensor(rng.standard_normal((3, 8, 9, 11)).astype(np.float32), requires_grad=True)
w = rtorch.tensor(rng.standard_normal((16, 1, 3, 3)).astype(np.float32), requires_grad=True)
out = F.conv2d(x, w, stride=(2, 1), padding=1, groups=8)
out.backward(rtorch.ones_like(out))
for t in (out.detach(), x.grad, w.grad):
    print(t.numpy().tobytes().hex())
"""


def test_depthwise_bits_do_not_depend_on_the_simd_level():
    """Products rounded, then added, in the same order on every level."""
    assert same_bits_at_every_simd_level(_DEPTHWISE_SCRIPT)


def test_non_contiguous_inputs():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 3, 5))  # stored NHWC, used as NCHW through a permute
    xt = rtorch.tensor(x).permute(0, 3, 1, 2)
    wt = rtorch.tensor(rng.standard_normal((3, 5, 2, 2, 2)))[..., 0]  # a strided slice
    w = wt.numpy()
    assert not xt.is_contiguous() and not wt.is_contiguous()
    ref, _ = ref_conv(x.transpose(0, 3, 1, 2), w, None, (1, 1), (1, 1), (1, 1), 1)
    np.testing.assert_allclose(F.conv2d(xt, wt, padding=1).numpy(), ref, rtol=1e-7, atol=1e-7)


def test_empty_batch_gives_empty_output_and_zero_weight_grad():
    x = rtorch.zeros(0, 3, 5, 5, requires_grad=True)
    w = rtorch.ones(4, 3, 3, 3, requires_grad=True)
    b = rtorch.ones(4, requires_grad=True)
    out = F.conv2d(x, w, b)
    assert tuple(out.shape) == (0, 4, 3, 3)
    out.sum().backward()
    assert tuple(x.grad.shape) == (0, 3, 5, 5)
    assert np.array_equal(w.grad.numpy(), np.zeros((4, 3, 3, 3), np.float32))
    assert np.array_equal(b.grad.numpy(), np.zeros(4, np.float32))


def test_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(4)
    x = rtorch.tensor(rng.standard_normal((2, 4, 5, 4)), requires_grad=True)
    w = rtorch.tensor(rng.standard_normal((6, 2, 3, 2)), requires_grad=True)
    b = rtorch.tensor(rng.standard_normal(6), requires_grad=True)

    def f(x, w, b):
        return F.conv2d(x, w, b, stride=(2, 1), padding=(1, 1), dilation=(1, 2), groups=2)

    assert rtorch.autograd.gradcheck(f, (x, w, b))
    assert rtorch.autograd.gradgradcheck(f, (x, w, b))


def test_only_the_requested_gradients_are_computed():
    x = rtorch.randn(2, 3, 6, 6, dtype=rtorch.float64)
    w = rtorch.randn(4, 3, 3, 3, dtype=rtorch.float64, requires_grad=True)
    out = F.conv2d(x, w)
    (gw,) = rtorch.autograd.grad(out.sum(), [w])
    _, ref_grads = ref_conv(x.numpy(), w.detach().numpy(), None, (1, 1), (0, 0), (1, 1), 1)
    np.testing.assert_allclose(
        gw.numpy(), ref_grads(np.ones((2, 4, 4, 4)))[1], rtol=1e-7, atol=1e-7
    )
    assert x.grad is None


@pytest.mark.parametrize("dtype", [rtorch.float64, rtorch.bfloat16])
def test_grad_of_one_input_when_all_require_grad(dtype):
    # autograd.grad asking for one of x, w, b: the node computes only that gradient
    # (the engine tells it which inputs the pass uses); each still matches.
    case = (2, 16, 6, 6, 16, 3, 3, (1, 1), (1, 1), (1, 1), 1)
    x, w, b = _case_tensors(case, rtorch.float64)
    ts = [rtorch.tensor(v).to(dtype).requires_grad_() for v in (x, w, b)]
    out = F.conv2d(*ts, padding=1)
    gy = rtorch.ones(out.shape, dtype=dtype)
    alone = [rtorch.autograd.grad(out, [t], gy, retain_graph=True)[0] for t in ts]
    together = rtorch.autograd.grad(out, ts, gy)
    for a, t in zip(alone, together, strict=True):
        np.testing.assert_array_equal(a.double().numpy(), t.double().numpy())
    _, ref_grads = ref_conv(*(t.detach().double().numpy() for t in ts), (1, 1), (1, 1), (1, 1), 1)
    tol = {"rtol": 1e-7, "atol": 1e-7} if dtype == rtorch.float64 else {"rtol": 2e-2, "atol": 0.1}
    for a, r in zip(alone, ref_grads(np.ones(tuple(out.shape))), strict=True):
        np.testing.assert_allclose(a.double().numpy(), r, **tol)


def test_conv1d_runs_through_the_kernel():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 17))
    w = rng.standard_normal((5, 4, 3))
    out = F.conv1d(rtorch.tensor(x), rtorch.tensor(w), stride=2, padding=1)
    ref, _ = ref_conv(x[:, :, None], w[:, :, None], None, (1, 2), (0, 1), (1, 1), 1)
    np.testing.assert_allclose(out.numpy(), ref[:, :, 0], rtol=1e-7, atol=1e-7)


def test_kernel_argument_errors():
    x = rtorch.zeros(1, 4, 5, 5)
    w = rtorch.zeros(2, 4, 3, 3)
    with pytest.raises(RuntimeError, match="channels"):
        rtorch._C._conv2d(x, rtorch.zeros(2, 3, 3, 3), None, (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(RuntimeError, match="groups"):
        rtorch._C._conv2d(x, w, None, (1, 1), (0, 0), (1, 1), 0)
    with pytest.raises(RuntimeError, match="stride"):
        rtorch._C._conv2d(x, w, None, (0, 1), (0, 0), (1, 1), 1)
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        rtorch._C._conv2d(rtorch.zeros(1, 4, 2, 2), w, None, (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(RuntimeError, match="bias"):
        rtorch._C._conv2d(x, w, rtorch.zeros(3), (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(RuntimeError, match="4-D"):
        rtorch._C._conv2d(rtorch.zeros(4, 5, 5), w, None, (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(RuntimeError, match="scalar type"):
        rtorch._C._conv2d(x, w.double(), None, (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(NotImplementedError):
        rtorch._C._conv2d(x.long(), w.long(), None, (1, 1), (0, 0), (1, 1), 1)


# bfloat16 / float16: im2col and one batched 16-bit product (the native bfloat16 kernel
# when the product has 16+ rows and columns and 32+ terms), the bias added to the float32
# sums; the gradients from the float32 kernels. Every result is rounded once.
HALF_CASES = [
    CASES[0],  # 3x3, small: the float32 route of the product
    CASES[2],  # pointwise: the input is the product's operand
    CASES[3],  # strided 1x1
    CASES[4],  # groups: the bias of each group's channels
    CASES[5],  # depthwise, dilation
    (2, 8, 10, 11, 32, 3, 3, (1, 1), (1, 1), (1, 1), 2),  # native kernel, two groups
    (3, 12, 9, 9, 40, 3, 3, (1, 1), (0, 0), (1, 1), 1),  # native kernel, row tails
    # Output images narrower than a panel: one product per group as wide as the batch.
    (4, 6, 4, 4, 10, 3, 3, (1, 1), (1, 1), (1, 1), 2),
    (2, 4, 5, 5, 6, 3, 3, (1, 1), (0, 0), (1, 1), 1),
    # Where bfloat16 products are native: weight gradients as one product per group over
    # the batch (16+ outputs and 8+ inputs a group), input gradients as the forward of
    # the flipped weights (16+ inputs a group): with two groups through the wide forward
    # (6x6), strided (the input gradient on the float32 kernels), and 64 inputs on
    # 16x16 images (per-sample products: too many inputs for the direct kernel's 50%
    # rule, too few outputs for its 90% one).
    (2, 32, 6, 6, 32, 3, 3, (1, 1), (1, 1), (1, 1), 2),
    (2, 16, 9, 9, 24, 3, 3, (2, 2), (1, 1), (1, 1), 1),
    (1, 64, 16, 16, 16, 3, 3, (1, 1), (1, 1), (1, 1), 1),
]
HALF_UNIT = {rtorch.bfloat16: 2.0**-8, rtorch.float16: 2.0**-11}


def _half_bound(ref, mag, dtype, terms):
    """One rounding of the exact result to `dtype`, after float32 sums of `terms`
    products (bounded by `mag`, the same sums of absolute values). A second rounding
    (of a product before its bias, of each sample's weight gradient, of the columns'
    gradient before their overlaps are summed) exceeds it wherever terms cancel."""
    return HALF_UNIT[dtype] * np.abs(ref) + 2 * terms * 2.0**-24 * mag + 2.0**-24


@pytest.mark.parametrize("dtype", [rtorch.bfloat16, rtorch.float16])
@pytest.mark.parametrize("case", HALF_CASES)
def test_half_forward_and_gradients_round_once(case, dtype):
    x, w, b = _case_tensors(case, rtorch.float64)
    stride, padding, dilation, groups = case[7:]
    xt, wt, bt = (rtorch.tensor(v).to(dtype).requires_grad_() for v in (x, w, b))
    # The reference takes the 16-bit values.
    x, w, b = (t.detach().double().numpy() for t in (xt, wt, bt))
    ref, ref_grads = ref_conv(x, w, b, stride, padding, dilation, groups)
    mag, mag_grads = ref_conv(np.abs(x), np.abs(w), np.abs(b), stride, padding, dilation, groups)
    out = F.conv2d(xt, wt, bt, stride, padding, dilation, groups)
    assert out.dtype == dtype and tuple(out.shape) == ref.shape
    assert out.grad_fn.name() == "ConvolutionBackward0"
    n, o, c = x.shape[0], w.shape[0], x.shape[1]
    kk = w.shape[2] * w.shape[3]
    got = out.detach().double().numpy()
    assert np.all(np.abs(got - ref) <= _half_bound(ref, mag, dtype, c // groups * kk + 1))
    gyt = rtorch.tensor(np.random.default_rng(1).standard_normal(ref.shape)).to(dtype)
    out.backward(gyt)
    gy = gyt.double().numpy()
    terms = [o // groups * kk, n * ref.shape[2] * ref.shape[3], n * ref.shape[2] * ref.shape[3]]
    for t, want, bound_mag, k in zip((xt, wt, bt), ref_grads(gy), mag_grads(np.abs(gy)), terms):
        assert t.grad.dtype == dtype
        err = np.abs(t.grad.double().numpy() - want)
        assert np.all(err <= _half_bound(want, bound_mag, dtype, k)), np.max(err)


@pytest.mark.parametrize("dtype, ulp", [(rtorch.bfloat16, 2.0**-7), (rtorch.float16, 2.0**-10)])
@pytest.mark.parametrize("o, c, groups", [(4, 2, 2), (32, 8, 2), (13, 5, 1)])
def test_half_conv_adds_the_bias_before_its_one_rounding(dtype, ulp, o, c, groups):
    # Every output of the product is 1 + 0.75 ulp (exact in float32). The bias of every
    # third channel is -0.25 ulp (the sum is the tie 1 + 0.5 ulp: 1.0 once rounded;
    # 1 + ulp rounding the product first), the others' +1.25 ulp (1 + 2 ulp either way),
    # so a bias reaching the wrong channel or group shows too. o = 4 takes the float32 route of the
    # product, o = 32 (16 per group, 36 terms, 64 columns) the native bfloat16 kernel,
    # one group the direct bfloat16 kernel (slices of 12 and 4 channels, 32 columns).
    x = np.zeros((2, c, 10, 34))
    x[:, 0], x[:, c // 2] = 1.0, 1.0  # channel 0 of each of the two groups
    w = np.zeros((o, c // groups, 3, 3))
    w[:, 0, 1, 1] = 1.0
    w[:, 0, 0, 0] = 0.75 * ulp
    first = np.arange(o) % 3 == 0
    bias = np.where(first, -0.25 * ulp, 1.25 * ulp)
    got = F.conv2d(*(rtorch.from_numpy(v).to(dtype) for v in (x, w, bias)), groups=groups)
    want = np.where(first, 1.0, 1.0 + 2 * ulp)[None, :, None, None]
    np.testing.assert_array_equal(got.double().numpy(), np.broadcast_to(want, got.shape))


# One group, unit stride and dilation, a window larger than 1x1 and at least 90% of the
# grid columns outputs: the direct bfloat16 kernel (cpu/conv_bf16.rs) on CPUs with
# AVX512-BF16 and no AMX. Its special cases: panels inside grid rows (ow a multiple of
# 32, or 62 and 60: tails of 30 and 28) or tiling the grid across rows (39 wide), an odd
# channel count (the last pair half zero), output channels in slices of 12, 8 and 4
# with unused rows (1, 8, 13, 16, 21, 40), windows up to 5x5 and unequal sides, paddings
# 0 to 3 (as large as the window: the input gradient takes the float32 kernels), more
# than one sample. The weight gradient's kernel (8 input channels or more) tiles the
# input channels likewise (10, 9, 18: slices of 12 and 8) and the output channels by
# 32 (16, 13, 40: one or two blocks, unused lanes).
DIRECT_CASES = [
    (2, 10, 32, 32, 16, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    (1, 3, 4, 62, 21, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    (3, 9, 39, 39, 13, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    (2, 18, 12, 32, 40, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    (1, 7, 20, 60, 1, 2, 5, (1, 1), (0, 2), (1, 1), 1),
    (2, 9, 12, 60, 8, 5, 5, (1, 1), (2, 2), (1, 1), 1),
    (1, 4, 30, 30, 4, 3, 3, (1, 1), (3, 3), (1, 1), 1),
    # The input gradient alone (a third to a half of its grid columns junk: fewer than 64
    # channels, no float32 Winograd route).
    (3, 5, 8, 8, 13, 3, 3, (1, 1), (1, 1), (1, 1), 1),
]


@pytest.mark.parametrize("case", DIRECT_CASES)
def test_direct_bfloat16_conv_rounds_once(case):
    test_half_forward_and_gradients_round_once(case, rtorch.bfloat16)


def test_direct_bfloat16_conv_layouts_and_special_values():
    # A channels-last input (read through a contiguous copy), no bias, NaN and infinity
    # reaching exactly the outputs whose windows hold them, an empty batch.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 9, 30))
    x[0, 1, 4, 4], x[1, 2, 0, 0] = np.nan, np.inf
    w = np.abs(rng.standard_normal((6, 4, 3, 3))) + 0.5
    xt = rtorch.from_numpy(x).bfloat16().permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    assert not xt.is_contiguous()
    wt = rtorch.from_numpy(w).bfloat16()
    got = F.conv2d(xt, wt, padding=1).double().numpy()
    xs, ws = xt.double().numpy(), wt.double().numpy()
    with np.errstate(invalid="ignore"):
        ref, _ = ref_conv(xs, ws, None, (1, 1), (1, 1), (1, 1), 1)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(ref))
    assert np.isnan(got[0, :, 3:6, 3:6]).all() and np.isposinf(got[1, :, :2, :2]).all()
    fin = np.isfinite(ref)
    mag, _ = ref_conv(
        np.nan_to_num(np.abs(xs), posinf=0), np.abs(ws), None, (1, 1), (1, 1), (1, 1), 1
    )
    bound = _half_bound(ref[fin], mag[fin], rtorch.bfloat16, 4 * 9)
    assert np.all(np.abs(got[fin] - ref[fin]) <= bound)
    empty = F.conv2d(rtorch.zeros(0, 4, 9, 30, dtype=rtorch.bfloat16), wt, padding=1)
    assert tuple(empty.shape) == (0, 6, 9, 30)


@pytest.mark.parametrize("c", [16, 64], ids=["direct", "product"])
def test_bfloat16_input_gradient_with_an_infinite_weight(c):
    # The input gradient is a convolution of the padded output gradient: an infinite
    # weight must not meet the padding's zeros (0 * inf = NaN where the gradient has no
    # term: here gx[..., 7, :] and gx[..., :, 7] of channel 2), so such weights go to the
    # float32 kernels, on either route (16 channels: the direct kernel, 64: products).
    rng = np.random.default_rng(5)
    x = rtorch.from_numpy(rng.standard_normal((2, c, 8, 8))).bfloat16().requires_grad_()
    w = rng.standard_normal((8, c, 3, 3))
    w[3, 2, 0, 0] = np.inf
    wt = rtorch.from_numpy(w).bfloat16()
    out = F.conv2d(x, wt, padding=1)
    gy = rtorch.from_numpy(rng.standard_normal(tuple(out.shape))).bfloat16()
    out.backward(gy)
    with np.errstate(invalid="ignore"):
        _, grads = ref_conv(
            x.detach().double().numpy(), wt.double().numpy(), None, (1, 1), (1, 1), (1, 1), 1
        )
        want = grads(gy.double().numpy())[0]
    got = x.grad.double().numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    assert np.isfinite(want[:, 2, 7]).all() and not np.isfinite(want[:, 2, :7, :7]).any()


def test_direct_bfloat16_weight_gradient_with_infinite_inputs():
    # The weight-gradient kernel's junk grid columns read the input's last column: an
    # infinity there must reach only the weights whose windows meet it (the float32
    # kernels take such inputs), not every tap's gradient as 0 * inf = NaN.
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 8, 6, 30))
    x[1, 2, 3, -1] = np.inf
    w = rng.standard_normal((5, 8, 3, 3))
    xt = rtorch.from_numpy(x).bfloat16()
    wt = rtorch.from_numpy(w).bfloat16().requires_grad_()
    out = F.conv2d(xt, wt, padding=1)
    gy = rtorch.from_numpy(rng.standard_normal(tuple(out.shape))).bfloat16()
    out.backward(gy)
    with np.errstate(invalid="ignore"):
        _, grads = ref_conv(
            xt.double().numpy(), wt.detach().double().numpy(), None, (1, 1), (1, 1), (1, 1), 1
        )
        want = grads(gy.double().numpy())[1]
    got = wt.grad.double().numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    assert np.isinf(want).any() and np.isfinite(want).any()


_HALF_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
import rtorch
from test_conv_kernel import DIRECT_CASES, HALF_CASES, test_half_conv_adds_the_bias_before_its_one_rounding as tie
from test_conv_kernel import test_half_forward_and_gradients_round_once as bounds
for dtype, ulp in [(rtorch.bfloat16, 2.0**-7), (rtorch.float16, 2.0**-10)]:
    for case in HALF_CASES[4:] + DIRECT_CASES[:3]:
        bounds(case, dtype)
    tie(dtype, ulp, 32, 8, 2)
    tie(dtype, ulp, 13, 5, 1)
print("ok", rtorch._C._bf16_matmul_kernel())
"""


@pytest.mark.parametrize(
    "env, kernels",
    [
        ({"RTORCH_DISABLE_AMX": "1"}, ("avx512_bf16", "float32")),
        ({"RTORCH_DISABLE_AMX": "1", "RTORCH_CPU_CAPABILITY": "avx2"}, ("float32",)),
    ],
    ids=["avx512_bf16", "float32"],
)
def test_half_conv_on_the_other_product_kernels(env, kernels):
    """The bias rows on the AVX512-BF16 kernel (AMX turned off) and on the float32 route
    of the product, where this process has AMX; the float32 kernels' gradients at the
    AVX2 level."""
    out = run_script(_HALF_SCRIPT, **env)
    assert out[0] == "ok" and out[1] in kernels, out


@pytest.mark.parametrize(
    "case", [HALF_CASES[5], HALF_CASES[6], DIRECT_CASES[0]], ids=["groups", "wide", "direct"]
)
def test_half_matches_torch(case):
    torch = pytest.importorskip("torch")
    stride, padding, dilation, groups = case[7:]
    native_bf16 = rtorch._C._bf16_matmul_kernel() != "float32"
    for dtype in ("bfloat16", "float16"):
        x, w, b = _case_tensors(case, rtorch.float64)
        ours = [rtorch.tensor(v).to(getattr(rtorch, dtype)).requires_grad_() for v in (x, w, b)]
        theirs = [torch.tensor(v).to(getattr(torch, dtype)).requires_grad_() for v in (x, w, b)]
        got = F.conv2d(*ours, stride, padding, dilation, groups)
        want = torch.nn.functional.conv2d(*theirs, stride, padding, dilation, groups)
        gy = rtorch.tensor(np.random.default_rng(1).standard_normal(want.shape)).to(got.dtype)
        got.backward(gy)
        want.backward(torch.tensor(gy.double().numpy()).to(want.dtype))
        x, w, b = (t.detach().double().numpy() for t in ours)
        _, ref_grads = ref_conv(x, w, b, stride, padding, dilation, groups)
        refs = dict(zip(("gx", "gw"), ref_grads(gy.double().numpy())))
        names = ("out", "gx", "gw", "gb")
        pairs = [(got, want)] + list(zip((t.grad for t in ours), (t.grad for t in theirs)))
        for name, (a, r) in zip(names, pairs):
            a, r = a.detach().double().numpy(), r.detach().double().numpy()
            if name in refs and (dtype == "float16" or not native_bf16):
                # PyTorch 2.15's float16 input and weight gradients on the CPU round
                # partial sums (2.5x our mean error on the groups case, 44% of gx
                # equal), and so do its bfloat16 ones on a CPU without AVX512-BF16 (a
                # Zen 3: 2.5x, 42% of gx equal): ours, rounded once, are at least as
                # close to float64.
                err = np.mean(np.abs(a - refs[name]))
                assert err <= np.mean(np.abs(r - refs[name])), (name, err)
                continue
            # The same float32 sums in another order, rounded once: all but a few values
            # equal (rounding the product and the bias separately matched 71% of them).
            same = np.mean(a == r)
            assert same >= 0.99, (dtype, name, same)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    for case in CASES[:6]:
        x, w, b = _case_tensors(case, rtorch.float32)
        stride, padding, dilation, groups = case[7:]
        got = F.conv2d(
            rtorch.tensor(x), rtorch.tensor(w), rtorch.tensor(b), stride, padding, dilation, groups
        )
        want = torch.nn.functional.conv2d(
            torch.tensor(x), torch.tensor(w), torch.tensor(b), stride, padding, dilation, groups
        )
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


# Winograd F(2x2, 3x3): float32 3x3 kernels with unit stride and dilation, 8x8 outputs
# and up, with enough tiles over the batch above 128 channels (192 for the forward and
# input gradient, 384 for the weight gradient), at least 48 channels each side where
# the direct kernels are the alternative (up to 64 output channels), 16 where im2col is.
# (n, c, o, h, w, padding)
WINOGRAD = [
    (2, 48, 50, 15, 17, 1),  # forward and input gradient; odd outputs: half tiles
    (2, 16, 70, 18, 20, 0),  # beyond the direct kernels: the weight gradient too
    (1, 20, 66, 14, 15, 2),  # padding 2 (the input gradient pads dy by 0)
    (2, 20, 66, 62, 17, 1),  # 31 tile rows: blocks of 15 + 15 + 1
    (7, 48, 64, 8, 9, 1),  # 8x9 outputs: 4x5 tiles, samples 4 + 3 a block
    (16, 136, 130, 8, 8, 1),  # over 128 channels, 256 tiles: forward and input gradient
    (8, 130, 136, 14, 13, 1),  # 392 tiles: the weight gradient too
]


def _winograd_run(case, bias=True, seed=0):
    """rtorch's float32 forward and gradients, and the float64 reference's."""
    n, c, o, h, w, p = case
    x, wt, b = _case_tensors((n, c, h, w, o, 3, 3, 0, 0, 0, 1), rtorch.float32, seed, bias)
    ref, ref_grads = ref_conv(x, wt, b, (1, 1), (p, p), (1, 1), 1)
    gy = np.random.default_rng(seed + 1).standard_normal(ref.shape).astype(np.float32)
    xt, wtt = rtorch.tensor(x, requires_grad=True), rtorch.tensor(wt, requires_grad=True)
    bt = rtorch.tensor(b) if bias else None
    out = F.conv2d(xt, wtt, bt, padding=p)
    out.backward(rtorch.tensor(gy))
    got = [out.detach().numpy(), xt.grad.numpy(), wtt.grad.numpy()]
    return got, [ref, *ref_grads(gy)[:2]]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", WINOGRAD)
def test_winograd_shapes_match_float64_reference(case, bias):
    got, want = _winograd_run(case, bias)
    # atol from the largest output: sums of up to 2040 products whose partial sums grow
    # to it (the other kernels are off by 9.2e-5 on the last case's dw of up to 161 too).
    for g, r, name in zip(got, want, ("out", "dx", "dw"), strict=True):
        np.testing.assert_allclose(g, r, rtol=1.3e-6, atol=1e-6 * np.abs(r).max(), err_msg=name)


_WINOGRAD_SCRIPT = """
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from test_conv_kernel import WINOGRAD, _winograd_run
for case in WINOGRAD[:3]:
    got, want = _winograd_run(case)
    for g, r in zip(got, want):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-3)
print("ok")
"""


@pytest.mark.parametrize(
    "env",
    [{"RTORCH_CPU_CAPABILITY": "avx2"}, {"RTORCH_DISABLE_WINOGRAD": "1"}],
    ids=["avx2", "disabled"],
)
def test_winograd_shapes_at_other_levels(env):
    """The AVX2 build of the transforms and shuffles (this process has the machine's
    best level), and the other kernels on the same shapes."""
    assert run_script(_WINOGRAD_SCRIPT, **env) == ["ok"]


@pytest.mark.parametrize("n", [1, 5])
def test_winograd_does_not_depend_on_thread_count(n):
    """Samples spread over threads (5), and one sample's products split over them."""
    case = (n, 48, 64, 16, 16, 1)
    before = rtorch.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            rtorch.set_num_threads(threads)
            results.append(_winograd_run(case)[0])
    finally:
        rtorch.set_num_threads(before)
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            assert np.array_equal(a, b)


def test_values_winograd_cannot_take_go_to_the_other_kernels():
    """An infinity would spread over its whole tile (inf - inf) and huge values could
    overflow in the transforms: those operands take the direct route."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 48, 16, 16)).astype(np.float32)
    w = rng.standard_normal((48, 48, 3, 3)).astype(np.float32)
    gy = rng.standard_normal((2, 48, 16, 16)).astype(np.float32)
    x_inf = x.copy()
    x_inf[0, 3, 5, 6] = np.inf
    w_huge = w.copy()
    w_huge[1, 2, 0, 0] = 1e30
    gy_nan = gy.copy()
    gy_nan[1, 0, 8, 8] = np.nan
    for xs, ws, gys in [(x_inf, w, gy), (x, w_huge, gy), (x, w, gy_nan)]:
        ref, ref_grads = ref_conv(xs, ws, None, (1, 1), (1, 1), (1, 1), 1)
        with np.errstate(invalid="ignore"):
            gx_ref = ref_grads(gys)[0]
        xt = rtorch.tensor(xs, requires_grad=True)
        out = F.conv2d(xt, rtorch.tensor(ws), padding=1)
        out.backward(rtorch.tensor(gys))
        np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-5, atol=1e-3)
        np.testing.assert_allclose(xt.grad.numpy(), gx_ref, rtol=1e-5, atol=1e-3)
