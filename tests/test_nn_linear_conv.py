"""nn linear and convolution layers: numpy float64 references, gradcheck, modules, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_np_close, to_np
from nn_layers_parity import compare, rtorch_results, torch_results

import rtorch
import rtorch.nn.functional as F
from rtorch import nn
from rtorch.autograd import gradcheck, gradgradcheck

RNG = np.random.RandomState(0)


def t64(shape, requires_grad=False, seed=None):
    rng = RNG if seed is None else np.random.RandomState(seed)
    return rtorch.tensor(rng.randn(*shape), dtype=rtorch.float64, requires_grad=requires_grad)


# ---------------------------------------------------------------- numpy references


def np_conv2d(x, w, b, stride, padding, dilation, groups):
    """Direct-loop convolution over output positions (small shapes only)."""
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, g * cg : (g + 1) * cg, i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                           j * sw : j * sw + dw * (kw - 1) + 1 : dw]  # fmt: skip
                out[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3))
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def np_conv_transpose2d(x, w, b, stride, padding, output_padding, dilation, groups):
    """Scatter form: every input pixel adds its weighted kernel into the output."""
    n, cin, h, wd = x.shape
    _, og, kh, kw = w.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    full = np.zeros((n, og * groups, oh + 2 * ph + sh, ow + 2 * pw + sw))
    ig = cin // groups
    for ci in range(cin):
        g = ci // ig
        for i in range(h):
            for j in range(wd):
                for a in range(kh):
                    for c in range(kw):
                        full[:, g * og : (g + 1) * og, i * sh + a * dh, j * sw + c * dw] += (
                            x[:, ci, i, j][:, None] * w[ci, :, a, c][None, :]
                        )
    out = full[:, :, ph : ph + oh, pw : pw + ow]
    if b is not None:
        out = out + b.reshape(1, -1, 1, 1)
    return out


# ---------------------------------------------------------------- linear


def test_linear_matches_numpy_2d_and_batched():
    x, w, b = t64((5, 3)), t64((4, 3)), t64((4,))
    assert_np_close(F.linear(x, w, b), to_np(x) @ to_np(w).T + to_np(b))
    assert_np_close(F.linear(x, w), to_np(x) @ to_np(w).T)
    x3 = t64((2, 5, 3))
    assert_np_close(F.linear(x3, w, b), to_np(x3) @ to_np(w).T + to_np(b))
    x1 = t64((3,))
    assert_np_close(F.linear(x1, w, b), to_np(w) @ to_np(x1) + to_np(b))


def test_linear_noncontiguous_and_float32():
    x = t64((3, 6))[:, ::2]
    w = t64((3, 4)).t()  # (4, 3), transposed storage
    assert not x.is_contiguous() and not w.is_contiguous()
    assert_np_close(F.linear(x, w), to_np(x) @ to_np(w).T)
    x32 = rtorch.tensor(RNG.randn(7, 3), dtype=rtorch.float32)
    w32 = rtorch.tensor(RNG.randn(2, 3), dtype=rtorch.float32)
    out = F.linear(x32, w32)
    assert out.dtype == rtorch.float32
    assert_np_close(out, to_np(x32) @ to_np(w32).T)


def test_linear_shape_errors_name_both_shapes():
    with pytest.raises(
        RuntimeError, match=r"^addmm: mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)$"
    ):
        F.linear(rtorch.randn(2, 3), rtorch.randn(5, 4), rtorch.randn(5))
    with pytest.raises(
        RuntimeError, match=r"^mm: mat1 and mat2 shapes cannot be multiplied \(4x3 and 4x5\)$"
    ):
        F.linear(rtorch.randn(2, 2, 3), rtorch.randn(5, 4))
    with pytest.raises(
        RuntimeError, match=r"addmm: mat1 and mat2 shapes cannot be multiplied \(64x3 and 4x5\)"
    ):
        nn.Linear(4, 5)(rtorch.randn(64, 3))
    with pytest.raises(
        RuntimeError, match="^mat1 and mat2 must have the same dtype, but got Double and Float$"
    ):
        F.linear(rtorch.randn(2, 3, dtype=rtorch.float64), rtorch.randn(4, 3), rtorch.randn(4))
    with pytest.raises(
        TypeError, match=r"linear\(\): argument 'weight' \(position 2\) must be Tensor, not int"
    ):
        F.linear(rtorch.randn(2, 3), 2)
    with pytest.raises(
        TypeError, match=r"linear\(\): argument 'bias' \(position 3\) must be Tensor, not float"
    ):
        F.linear(rtorch.randn(2, 3), rtorch.randn(4, 3), 1.0)


def test_linear_and_bilinear_gradcheck():
    x, w, b = t64((3, 4), True), t64((2, 4), True), t64((2,), True)
    assert gradcheck(F.linear, (x, w, b))
    assert gradcheck(F.linear, (t64((2, 3, 4), True), w, b))
    x1, x2, wb, bb = t64((3, 2), True), t64((3, 4), True), t64((5, 2, 4), True), t64((5,), True)
    assert gradcheck(F.bilinear, (x1, x2, wb, bb))


def test_bilinear_matches_numpy():
    x1, x2, w, b = t64((3, 2)), t64((3, 4)), t64((5, 2, 4)), t64((5,))
    ref = np.einsum("bi,oij,bj->bo", to_np(x1), to_np(w), to_np(x2)) + to_np(b)
    assert_np_close(F.bilinear(x1, x2, w, b), ref)
    with pytest.raises(
        RuntimeError, match="input2 size does not match weight size: got 3 but expected 4"
    ):
        F.bilinear(x1, t64((3, 3)), w)


def test_linear_module_state_dict_init_and_repr():
    m = nn.Linear(300, 200)
    assert list(m.state_dict()) == ["weight", "bias"]
    assert m.weight.shape == (200, 300) and m.bias.shape == (200,)
    bound = 1 / math.sqrt(300)
    w = to_np(m.weight)
    assert np.abs(w).max() <= bound and np.abs(to_np(m.bias)).max() <= bound
    # U(-b, b) has variance b^2/3; 60000 samples pin it to within a few percent.
    assert abs(w.var() / (bound**2 / 3) - 1) < 0.05
    assert abs(w.mean()) < 0.05 * bound
    assert repr(m) == "Linear(in_features=300, out_features=200, bias=True)"
    nb = nn.Linear(3, 2, bias=False)
    assert nb.bias is None and list(nb.state_dict()) == ["weight"]
    assert repr(nb) == "Linear(in_features=3, out_features=2, bias=False)"
    assert nn.Linear(2, 2, dtype=rtorch.float64).weight.dtype == rtorch.float64
    x = rtorch.randn(4, 300)
    assert_np_close(m(x), to_np(x) @ w.T + to_np(m.bias), rtol=1e-5, atol=1e-5)


def test_identity_bilinear_and_ndq_linear_modules():
    x = rtorch.randn(3, 2)
    assert nn.Identity(54, unused=1)(x) is x
    bl = nn.Bilinear(2, 3, 4)
    assert [(k, tuple(v.shape)) for k, v in bl.state_dict().items()] == [
        ("weight", (4, 2, 3)),
        ("bias", (4,)),
    ]
    assert np.abs(to_np(bl.weight)).max() <= 1 / math.sqrt(2)
    assert bl(rtorch.randn(5, 2), rtorch.randn(5, 3)).shape == (5, 4)
    from rtorch.nn.modules.linear import NonDynamicallyQuantizableLinear

    q = NonDynamicallyQuantizableLinear(3, 3)
    assert isinstance(q, nn.Linear)
    assert repr(q) == "NonDynamicallyQuantizableLinear(in_features=3, out_features=3, bias=True)"


# ---------------------------------------------------------------- convolution

CONV_CASES = [
    # (x shape, w shape, stride, padding, dilation, groups)
    ((2, 3, 7, 6), (4, 3, 3, 3), (1, 1), (0, 0), (1, 1), 1),
    ((2, 4, 7, 6), (6, 2, 3, 2), (2, 1), (1, 1), (1, 2), 2),
    ((1, 4, 8, 8), (8, 1, 3, 3), (1, 1), (1, 1), (1, 1), 4),
    ((2, 3, 5, 6), (5, 3, 1, 1), (1, 1), (0, 0), (1, 1), 1),
    ((2, 3, 5, 6), (5, 3, 1, 1), (2, 2), (0, 0), (1, 1), 1),
    ((1, 2, 9, 7), (3, 2, 2, 3), (3, 2), (2, 1), (2, 1), 1),
]


@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups", CONV_CASES)
def test_conv2d_matches_numpy(xs, ws, stride, padding, dilation, groups):
    x, w, b = t64(xs), t64(ws), t64((ws[0],))
    out = F.conv2d(x, w, b, stride, padding, dilation, groups)
    ref = np_conv2d(to_np(x), to_np(w), to_np(b), stride, padding, dilation, groups)
    assert_np_close(out, ref)
    assert out.is_contiguous()


def test_conv2d_same_valid_unbatched_and_noncontiguous():
    x, w = t64((2, 3, 7, 6)), t64((5, 3, 4, 3))
    # 'same' with an even kernel: total padding 3 along H goes 1 top, 2 bottom.
    xp = np.pad(to_np(x), ((0, 0), (0, 0), (1, 2), (1, 1)))
    ref = np_conv2d(xp, to_np(w), None, (1, 1), (0, 0), (1, 1), 1)
    assert_np_close(F.conv2d(x, w, padding="same"), ref)
    assert_np_close(
        F.conv2d(x, w, padding="valid"),
        np_conv2d(to_np(x), to_np(w), None, (1, 1), (0, 0), (1, 1), 1),
    )
    un = F.conv2d(x[0], w, padding=1)
    assert un.shape == (5, 6, 6)
    assert_np_close(un, np_conv2d(to_np(x[:1]), to_np(w), None, (1, 1), (1, 1), (1, 1), 1)[0])
    xt = t64((2, 6, 7, 3)).permute(0, 3, 2, 1)  # (2, 3, 7, 6), non-contiguous
    assert not xt.is_contiguous()
    assert_np_close(
        F.conv2d(xt, w), np_conv2d(to_np(xt), to_np(w), None, (1, 1), (0, 0), (1, 1), 1)
    )


def test_conv1d_matches_numpy_via_2d_reference():
    x, w, b = t64((2, 4, 11)), t64((6, 2, 3)), t64((6,))
    out = F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2)
    ref = np_conv2d(to_np(x)[:, :, None], to_np(w)[:, :, None], to_np(b), (1, 2), (0, 1), (1, 2), 2)
    assert_np_close(out, ref[:, :, 0])
    assert F.conv1d(x, t64((6, 4, 4)), padding="same").shape == (2, 6, 11)


@pytest.mark.parametrize(
    "xs,ws,stride,padding,out_pad,dilation,groups",
    [
        ((2, 4, 5, 4), (4, 3, 3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 2),
        ((1, 2, 3, 4), (2, 3, 3, 2), (1, 2), (0, 1), (1, 0), (2, 1), 1),
        ((2, 3, 4, 4), (3, 2, 2, 2), (1, 1), (0, 0), (0, 0), (1, 1), 1),
        # Stride 1 runs as conv2d with the flipped, channel-swapped kernel: groups,
        # dilation, padding below and at d(k-1), a 1x1 kernel; padding above d(k-1)
        # (a negative conv2d padding) keeps the col2im path.
        ((2, 4, 6, 5), (4, 3, 3, 3), (1, 1), (1, 2), (0, 0), (1, 2), 2),
        ((2, 3, 5, 4), (3, 4, 1, 1), (1, 1), (0, 0), (0, 0), (1, 1), 1),
        ((1, 2, 7, 7), (2, 3, 3, 3), (1, 1), (3, 0), (0, 0), (1, 1), 1),
    ],
)
def test_conv_transpose2d_matches_numpy(xs, ws, stride, padding, out_pad, dilation, groups):
    x, w, b = t64(xs), t64(ws), t64((ws[1] * groups,))
    out = F.conv_transpose2d(x, w, b, stride, padding, out_pad, groups, dilation)
    ref = np_conv_transpose2d(
        to_np(x), to_np(w), to_np(b), stride, padding, out_pad, dilation, groups
    )
    assert_np_close(out, ref)


def test_conv_transpose_stride_one_fuses_the_bias_as_pytorch():
    # PyTorch's node for a transposed convolution with a bias; a bias of another dtype
    # is still added after (cast to the output's dtype).
    x, w, b = t64((2, 4, 5, 4)), t64((4, 3, 3, 3)), t64((3,))
    out = F.conv_transpose2d(x.requires_grad_(), w, b, padding=1)
    assert out.grad_fn.name() == "ConvolutionBackward0"
    ref = np_conv_transpose2d(to_np(x), to_np(w), to_np(b), (1, 1), (1, 1), (0, 0), (1, 1), 1)
    assert_np_close(out, ref)
    # (Inputs rounded to bfloat16's 8 bits are ~0.4% off each: a tolerance for that
    # rounding over 36 products, not for the kernel.)
    for dtype in (rtorch.float32, rtorch.bfloat16):
        got = F.conv_transpose2d(x.detach().to(dtype), w.to(dtype), b.to(dtype), padding=1)
        assert got.dtype == dtype
        np.testing.assert_allclose(to_np(got), ref, rtol=0.05, atol=0.1)


STRIDED_TRANSPOSED = [
    ((2, 4, 5, 4), (4, 3, 3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 2),
    ((1, 2, 3, 4), (2, 3, 3, 2), (1, 2), (0, 1), (1, 0), (2, 1), 1),
    ((2, 8, 7, 7), (8, 6, 4, 4), (2, 2), (1, 1), (0, 0), (1, 1), 1),
]


def _assert_rounded_once(got, ref, dtype):
    """``got`` (16-bit) is the float64 ``ref`` rounded once: float32 sums leave a rare
    value on the other side of a rounding boundary (1 ulp), so all within an ulp and
    99% exactly the rounded value (16-bit partial sums rounded ~27% the other way)."""
    ref = np.asarray(ref, dtype=np.float64)
    want = rtorch.tensor(ref).to(dtype)
    assert (got == want).double().mean().item() >= 0.99
    ulp = 2.0**-7 if dtype == rtorch.bfloat16 else 2.0**-10
    np.testing.assert_allclose(to_np(got.double()), ref, rtol=ulp, atol=1e-3)


@pytest.mark.parametrize("dtype", [rtorch.bfloat16, rtorch.float16])
@pytest.mark.parametrize("xs,ws,stride,padding,out_pad,dilation,groups", STRIDED_TRANSPOSED)
def test_strided_half_conv_transpose_rounds_once(
    dtype, xs, ws, stride, padding, out_pad, dilation, groups
):
    # 16-bit transposed convolutions sum in float32 and round once, the bias included,
    # as PyTorch's: each output and gradient is the float64 result on the same 16-bit
    # values, rounded. With an output padding below the stride the node is PyTorch's
    # (the input gradient of a convolution); above it (allowed below the dilation) the
    # float32 ops are composed.
    x, w, b = (t64(s).to(dtype).requires_grad_() for s in (xs, ws, (ws[1] * groups,)))
    args = (stride, padding, out_pad, groups, dilation)
    out = F.conv_transpose2d(x, w, b, *args)
    assert out.dtype == dtype
    if all(op < s for op, s in zip(out_pad, stride, strict=True)):
        assert out.grad_fn.name() == "ConvolutionBackward0"
    wide = [t.detach().double().requires_grad_() for t in (x, w, b)]
    ref = np_conv_transpose2d(*(to_np(t) for t in wide), stride, padding, out_pad, dilation, groups)
    _assert_rounded_once(out.detach(), ref, dtype)
    g = rtorch.randn(*out.shape).to(dtype)
    out.backward(g)
    F.conv_transpose2d(*wide, *args).backward(g.double())
    for got, want in zip((x, w, b), wide, strict=True):
        _assert_rounded_once(got.grad, to_np(want.grad), dtype)


def _half_rounds_once(op, shapes, dtype):
    """``op(x, w, b)`` on 16-bit operands against ``op`` on their float64 values: the
    output and the three gradients rounded once. (The float64 paths are checked against
    numpy in test_nn_3d_lazy.)"""
    x, w, b = (t64(s).to(dtype).requires_grad_() for s in shapes)
    out = op(x, w, b)
    assert out.dtype == dtype
    wide = [t.detach().double().requires_grad_() for t in (x, w, b)]
    ref = op(*wide)
    _assert_rounded_once(out.detach(), to_np(ref.detach()), dtype)
    g = rtorch.randn(*out.shape).to(dtype)
    out.backward(g)
    ref.backward(g.double())
    for got, want in zip((x, w, b), wide, strict=True):
        _assert_rounded_once(got.grad, to_np(want.grad), dtype)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("dtype", [rtorch.bfloat16, rtorch.float16])
def test_half_conv_transpose3d_rounds_once(stride, dtype):
    # As the 2-D case: float32 sums and the bias rounded once (16-bit products and
    # col2im along depth rounded 40-45% of the outputs the other way).
    shapes = ((2, 4, 4, 5, 3), (4, 3, 3, 2, 3), (3,))
    _half_rounds_once(lambda x, w, b: F.conv_transpose3d(x, w, b, stride, 1), shapes, dtype)


@pytest.mark.parametrize("dtype", [rtorch.bfloat16, rtorch.float16])
def test_half_conv3d_gradients_round_once(dtype):
    # The input's gradient sums its taps over depth in float32 before the one rounding
    # (in the 16-bit type, 40% of the bfloat16 gradients were an ulp off; PyTorch's are
    # correctly rounded).
    shapes = ((2, 4, 5, 6, 5), (6, 2, 3, 2, 3), (6,))
    _half_rounds_once(lambda x, w, b: F.conv3d(x, w, b, (2, 1, 1), 1, 1, 2), shapes, dtype)


def test_conv_transpose1d_matches_numpy():
    x, w = t64((2, 4, 5)), t64((4, 3, 3))
    out = F.conv_transpose1d(x, w, None, stride=3, padding=1, output_padding=2)
    ref = np_conv_transpose2d(
        to_np(x)[:, :, None], to_np(w)[:, :, None], None, (1, 3), (0, 1), (0, 2), (1, 1), 1
    )
    assert_np_close(out, ref[:, :, 0])


def test_conv_gradcheck():
    x, w, b = t64((1, 4, 5, 4), True), t64((4, 2, 3, 2), True), t64((4,), True)
    assert gradcheck(lambda a, c, d: F.conv2d(a, c, d, (2, 1), 1, (1, 2), 2), (x, w, b))
    assert gradcheck(
        lambda a, c: F.conv2d(a, c, padding="same"),
        (t64((1, 2, 4, 4), True), t64((3, 2, 2, 3), True)),
    )
    assert gradcheck(
        lambda a, c, d: F.conv1d(a, c, d, 2, 1, 2),
        (t64((2, 2, 7), True), t64((3, 2, 2), True), t64((3,), True)),
    )
    xt, wt = t64((1, 4, 3, 3), True), t64((4, 2, 3, 3), True)
    assert gradcheck(
        lambda a, c, d: F.conv_transpose2d(a, c, d, 2, 1, 1, 2), (xt, wt, t64((4,), True))
    )
    assert gradcheck(
        lambda a, c: F.conv_transpose1d(a, c, None, 2, 0, 1),
        (t64((1, 2, 4), True), t64((2, 3, 3), True)),
    )
    assert gradcheck(
        lambda a, c, d: F.conv_transpose2d(a, c, d, 1, (1, 0), 0, 2, (1, 2)),
        (t64((2, 4, 4, 3), True), t64((4, 3, 3, 2), True), t64((6,), True)),
    )
    # Second order: the input gradient (col2im) is itself differentiable.
    assert gradgradcheck(
        lambda a, c: F.conv2d(a, c, stride=2, padding=1),
        (t64((1, 2, 5, 5), True), t64((3, 2, 3, 3), True)),
    )


def test_unfold_fold_match_numpy_and_are_adjoint():
    x = t64((2, 3, 5, 6))
    cols = F.unfold(x, (2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
    xp = np.pad(to_np(x), ((0, 0), (0, 0), (1, 1), (1, 1)))
    # Column (c, ki, kj) at block (i, j) is xp[c, i*1 + 2*ki, j*2 + kj].
    oh, ow = (7 - 3) // 1 + 1, (8 - 3) // 2 + 1
    ref = np.zeros((2, 3 * 6, oh * ow))
    for c in range(3):
        for ki in range(2):
            for kj in range(3):
                ref[:, c * 6 + ki * 3 + kj] = xp[
                    :, c, 2 * ki : 2 * ki + oh, kj : kj + 2 * ow - 1 : 2
                ].reshape(2, -1)
    assert_np_close(cols, ref)
    # fold is unfold's adjoint: <unfold(x), y> == <x, fold(y)>.
    y = t64(tuple(cols.shape))
    back = F.fold(y, (5, 6), (2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
    np.testing.assert_allclose(
        (to_np(cols) * to_np(y)).sum(), (to_np(x) * to_np(back)).sum(), rtol=1e-10
    )
    assert gradcheck(lambda a: F.fold(a, (4, 5), 2, padding=1, stride=2), (t64((1, 8, 9), True),))


def test_fold_unfold_modules():
    x = t64((2, 5, 3, 4))
    u = nn.Unfold(kernel_size=(2, 3))
    assert repr(u) == "Unfold(kernel_size=(2, 3), dilation=1, padding=0, stride=1)"
    assert_np_close(u(x), to_np(F.unfold(x, (2, 3))))
    f = nn.Fold(output_size=(3, 4), kernel_size=(2, 3))
    assert (
        repr(f) == "Fold(output_size=(3, 4), kernel_size=(2, 3), dilation=1, padding=0, stride=1)"
    )
    assert f(u(x)).shape == (2, 5, 3, 4)
    assert nn.Fold.__module__ == "rtorch.nn.modules.fold"


def test_conv_errors_match_pytorch_messages():
    with pytest.raises(
        RuntimeError,
        match=r"^Given groups=1, weight of size \[10, 1, 5, 5\], expected input\[64, 3, 28, 28\] to have 1 channels, but got 3 channels instead$",
    ):
        nn.Conv2d(1, 10, 5)(rtorch.randn(64, 3, 28, 28))
    with pytest.raises(RuntimeError, match=r"Kernel size can't be greater than actual input size"):
        F.conv2d(rtorch.randn(2, 1, 3, 3), rtorch.randn(10, 1, 5, 5))
    with pytest.raises(
        RuntimeError, match="padding='same' is not supported for strided convolutions"
    ):
        F.conv2d(rtorch.randn(2, 1, 8, 8), rtorch.randn(1, 1, 3, 3), padding="same", stride=2)
    with pytest.raises(
        RuntimeError,
        match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: \[2, 1, 8, 8, 2\]",
    ):
        F.conv2d(rtorch.randn(2, 1, 8, 8, 2), rtorch.randn(1, 1, 3, 3))
    with pytest.raises(RuntimeError, match="expected bias to be 1-dimensional with 10 elements"):
        F.conv2d(rtorch.randn(2, 1, 8, 8), rtorch.randn(10, 1, 5, 5), rtorch.randn(3))
    with pytest.raises(
        RuntimeError, match="output padding must be smaller than either stride or dilation"
    ):
        F.conv_transpose2d(
            rtorch.randn(2, 2, 8, 8), rtorch.randn(2, 4, 3, 3), stride=2, output_padding=2
        )
    with pytest.raises(RuntimeError, match="^expected scalar type Double but found Float$"):
        F.conv2d(rtorch.randn(1, 1, 5, 5, dtype=rtorch.float64), rtorch.randn(2, 1, 3, 3))
    with pytest.raises(
        TypeError, match=r"conv2d\(\): argument 'weight' \(position 2\) must be Tensor, not int"
    ):
        F.conv2d(rtorch.randn(1, 1, 5, 5), 3)
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")


def test_conv_modules_state_dict_init_repr_and_padding_modes():
    m = nn.Conv2d(1, 10, 5)
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == [
        ("weight", (10, 1, 5, 5)),
        ("bias", (10,)),
    ]
    assert repr(m) == "Conv2d(1, 10, kernel_size=(5, 5), stride=(1, 1))"
    big = nn.Conv2d(16, 32, 3, groups=2)
    bound = 1 / math.sqrt(8 * 9)  # fan_in = in/groups * kh * kw
    w = to_np(big.weight)
    assert np.abs(w).max() <= bound and abs(w.var() / (bound**2 / 3) - 1) < 0.1
    assert np.abs(to_np(big.bias)).max() <= bound
    r = nn.Conv2d(
        2, 4, (3, 2), stride=2, padding=1, dilation=2, groups=2, bias=False, padding_mode="reflect"
    )
    assert repr(r) == (
        "Conv2d(2, 4, kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), dilation=(2, 2), "
        "groups=2, bias=False, padding_mode=reflect)"
    )
    assert (
        repr(nn.Conv1d(2, 4, 3, padding="same"))
        == "Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding=same)"
    )
    ct = nn.ConvTranspose2d(2, 4, 3, stride=2, output_padding=1)
    assert (
        repr(ct)
        == "ConvTranspose2d(2, 4, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1))"
    )
    assert ct.weight.shape == (2, 4, 3, 3)
    # Transposed weights (in, out/groups, k, k): fan_in from dimension 1 = 4 * 9.
    assert np.abs(to_np(ct.weight)).max() <= 1 / math.sqrt(36)
    # padding_mode='circular': the module pads by wrapping, then convolves unpadded.
    c = nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular", dtype=rtorch.float64)
    x = t64((1, 2, 4, 5))
    xp = np.pad(to_np(x), ((0, 0), (0, 0), (1, 1), (1, 1)), mode="wrap")
    ref = np_conv2d(xp, to_np(c.weight), to_np(c.bias), (1, 1), (0, 0), (1, 1), 1)
    assert_np_close(c(x), ref)
    rf = nn.Conv1d(2, 3, 3, padding=2, padding_mode="reflect", dtype=rtorch.float64)
    x1 = t64((2, 2, 6))
    xp1 = np.pad(to_np(x1), ((0, 0), (0, 0), (2, 2)), mode="reflect")[:, :, None]
    ref1 = np_conv2d(xp1, to_np(rf.weight)[:, :, None], to_np(rf.bias), (1, 1), (0, 0), (1, 1), 1)
    assert_np_close(rf(x1), ref1[:, :, 0])
    up = nn.ConvTranspose2d(16, 16, 3, stride=2, padding=1)
    assert up(rtorch.randn(1, 16, 6, 6), output_size=[1, 16, 12, 12]).shape == (1, 16, 12, 12)
    with pytest.raises(ValueError, match="requested an output size of"):
        up(rtorch.randn(1, 16, 6, 6), output_size=[14, 12])


def test_seed_cnn_trains_one_step():
    # The seed MNIST CNN: conv(1->10, k5) -> relu -> maxpool 2 -> fc 1440->128 -> fc 128->10.
    rtorch.manual_seed(0)
    conv, fc1, fc2 = nn.Conv2d(1, 10, 5), nn.Linear(1440, 128), nn.Linear(128, 10)
    x = rtorch.randn(8, 1, 28, 28)
    h = F.max_pool2d(F.relu(conv(x)), 2, 2)
    out = fc2(F.relu(fc1(h.reshape(8, -1))))
    out.sum().backward()
    assert out.shape == (8, 10)
    assert conv.weight.grad.shape == (10, 1, 5, 5) and fc1.weight.grad.shape == (128, 1440)
    assert float(conv.weight.grad.abs().sum()) > 0


PARITY = r"""
def mk(torch, np, shape, seed, rg=False):
    t = torch.from_numpy(np.random.RandomState(seed).randn(*shape))
    return t.requires_grad_() if rg else t

def conv_case(kw, fn="conv2d", xs=(2, 4, 7, 6), ws=(6, 2, 3, 2), bias=True):
    def f(torch, F, nn, np):
        x = mk(torch, np, xs, 0, True); w = mk(torch, np, ws, 1, True)
        nb = ws[1] * kw.get("groups", 1) if "transpose" in fn else ws[0]
        b = mk(torch, np, (nb,), 2, True) if bias else None
        y = getattr(F, fn)(x, w, b, **kw)
        (y * mk(torch, np, tuple(y.shape), 3)).sum().backward()
        return [y, x.grad, w.grad] + ([b.grad] if bias else [])
    return f

CASES = {
    "c2d": conv_case(dict(stride=(2, 1), padding=1, dilation=(1, 2), groups=2)),
    "c2d_same": conv_case(dict(padding="same", dilation=2), xs=(2, 3, 7, 6), ws=(5, 3, 4, 3)),
    "c1d": conv_case(dict(stride=2, padding=1, dilation=2), fn="conv1d", xs=(2, 4, 11), ws=(6, 4, 3)),
    "ct2d": conv_case(dict(stride=2, padding=1, output_padding=1, groups=2), fn="conv_transpose2d", xs=(2, 4, 5, 4), ws=(4, 3, 3, 3)),
    "ct1d": conv_case(dict(stride=3, padding=1, output_padding=2), fn="conv_transpose1d", xs=(2, 4, 5), ws=(4, 3, 3)),
    "lin": lambda torch, F, nn, np: F.linear(mk(torch, np, (2, 3, 4), 0), mk(torch, np, (5, 4), 1), mk(torch, np, (5,), 2)),
    "e_lin": lambda torch, F, nn, np: F.linear(torch.randn(2, 2, 3), torch.randn(5, 4)),
    "e_ch": lambda torch, F, nn, np: F.conv2d(torch.randn(64, 3, 28, 28), torch.randn(10, 1, 5, 5)),
    "e_groups": lambda torch, F, nn, np: F.conv2d(torch.randn(2, 4, 8, 8), torch.randn(9, 2, 3, 3), groups=2),
    "e_stride": lambda torch, F, nn, np: F.conv1d(torch.randn(2, 1, 8), torch.randn(10, 1, 5), stride=(1, 1)),
    "e_fold": lambda torch, F, nn, np: F.fold(torch.randn(2, 12, 11), (5, 6), (2, 2), padding=1, stride=2),
    "e_ct": lambda torch, F, nn, np: F.conv_transpose2d(torch.randn(2, 3, 8, 8), torch.randn(2, 4, 3, 3)),
}
"""


def test_parity_with_pytorch():
    theirs = torch_results(PARITY)
    if theirs is None:
        pytest.skip("PyTorch is not installed")
    assert compare(rtorch_results(PARITY), theirs) == []
