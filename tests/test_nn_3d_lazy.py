"""3-D convolution and pooling, lazy modules and multilabel_margin_loss (issue 9's missing
names). References: direct numpy float64 loops over output positions (the slow, obvious
definition), gradcheck for the compositions, PyTorch 2.15's messages, and parity with
torch when it is installed."""

from __future__ import annotations

import copy
import itertools
import pickle

import numpy as np
import pytest

import rtorch
import rtorch.nn.functional as F
from rtorch import nn
from rtorch.autograd import gradcheck


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _conv3d_ref(x, w, b, stride, padding, dilation, groups):
    n, _c, _d, _h, _wd = x.shape
    oc, cg, kd, kh, kw = w.shape
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
    span = [dl * (k - 1) + 1 for k, dl in zip((kd, kh, kw), dilation)]
    outs = [(s - sp) // st + 1 for s, sp, st in zip(xp.shape[2:], span, stride)]
    out = np.zeros((n, oc, *outs))
    og = oc // groups
    for o in range(oc):
        g = o // og
        for i, j, k in itertools.product(*(range(s) for s in outs)):
            patch = xp[
                :,
                g * cg : (g + 1) * cg,
                i * stride[0] : i * stride[0] + span[0] : dilation[0],
                j * stride[1] : j * stride[1] + span[1] : dilation[1],
                k * stride[2] : k * stride[2] + span[2] : dilation[2],
            ]
            out[:, o, i, j, k] = (patch * w[o]).sum((1, 2, 3, 4))
    if b is not None:
        out += b.reshape(1, -1, 1, 1, 1)
    return out


@pytest.mark.parametrize(
    ("xshape", "wshape", "stride", "padding", "dilation", "groups"),
    [
        ((2, 3, 4, 5, 6), (4, 3, 2, 3, 2), (1, 1, 1), (0, 0, 0), (1, 1, 1), 1),
        ((1, 4, 7, 6, 5), (6, 2, 3, 2, 2), (2, 1, 2), (1, 2, 0), (2, 1, 1), 2),
        ((2, 3, 5, 5, 5), (3, 1, 1, 3, 1), (1, 2, 1), (0, 1, 1), (1, 1, 2), 3),
        ((1, 2, 3, 3, 3), (5, 2, 1, 1, 1), (2, 2, 2), (0, 0, 0), (1, 1, 1), 1),
    ],
)
def test_conv3d_matches_direct_loop(xshape, wshape, stride, padding, dilation, groups) -> None:
    rng = _rng(1)
    x, w, b = (
        rng.standard_normal(xshape),
        rng.standard_normal(wshape),
        rng.standard_normal(wshape[0]),
    )
    got = F.conv3d(
        rtorch.tensor(x), rtorch.tensor(w), rtorch.tensor(b), stride, padding, dilation, groups
    )
    want = _conv3d_ref(x, w, b, stride, padding, dilation, groups)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    # Contiguous, as PyTorch's: `.view` works on it.
    assert got.is_contiguous() and got.view(got.shape[0], -1).shape[1] == want[0].size
    got32 = F.conv3d(rtorch.tensor(x, dtype=rtorch.float32), rtorch.tensor(w, dtype=rtorch.float32),
                     None, stride, padding, dilation, groups)  # fmt: skip
    assert got32.dtype == rtorch.float32
    np.testing.assert_allclose(
        got32.numpy(), want - b.reshape(1, -1, 1, 1, 1), rtol=1e-4, atol=1e-4
    )


def test_conv3d_same_valid_unbatched() -> None:
    rng = _rng(2)
    x, w = rng.standard_normal((3, 4, 5, 6)), rng.standard_normal((2, 3, 2, 3, 4))
    got = F.conv3d(rtorch.tensor(x), rtorch.tensor(w), padding="same")
    assert got.shape == (2, 4, 5, 6)
    # 'same' with even kernels: the odd unit of padding goes on the right.
    xp = np.pad(x[None], [(0, 0), (0, 0), (0, 1), (1, 1), (1, 2)])
    want = _conv3d_ref(xp, w, None, (1, 1, 1), (0, 0, 0), (1, 1, 1), 1)[0]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    valid = F.conv3d(rtorch.tensor(x), rtorch.tensor(w), padding="valid")
    np.testing.assert_allclose(
        valid.numpy(), _conv3d_ref(x[None], w, None, (1,) * 3, (0,) * 3, (1,) * 3, 1)[0],
        rtol=1e-10, atol=1e-12,
    )  # fmt: skip


def test_conv3d_gradcheck() -> None:
    rng = _rng(3)
    x = rtorch.tensor(rng.standard_normal((1, 4, 4, 3, 4)), requires_grad=True)
    w = rtorch.tensor(rng.standard_normal((2, 2, 2, 2, 3)), requires_grad=True)
    b = rtorch.tensor(rng.standard_normal(2), requires_grad=True)
    assert gradcheck(
        lambda a, k, c: F.conv3d(
            a, k, c, stride=(2, 1, 1), padding=1, dilation=(1, 2, 1), groups=2
        ),
        (x, w, b),
    )


@pytest.mark.parametrize(
    ("call", "msg"),
    [
        (lambda: F.conv3d(rtorch.randn(3, 4), rtorch.randn(4, 3, 2, 2, 2)),
         "Expected 4D (unbatched) or 5D (batched) input to conv3d, but got input of size: [3, 4]"),
        (lambda: F.conv3d(rtorch.randn(2, 3, 5, 6, 7), rtorch.randn(4, 2, 2, 2, 2)),
         ("Given groups=1, weight of size [4, 2, 2, 2, 2], expected input[2, 3, 5, 6, 7] to have "
         "2 channels, but got 3 channels instead")),
        (lambda: F.conv3d(rtorch.randn(2, 3, 5, 6, 7), rtorch.randn(4, 3, 9, 2, 2)),
         ("Calculated padded input size per channel: (5 x 6 x 7). Kernel size: (9 x 2 x 2). "
         "Kernel size can't be greater than actual input size")),
        (lambda: F.conv3d(rtorch.randn(2, 3, 5, 6, 7), rtorch.randn(4, 3, 2, 2, 2), padding=(1, 2)),
         ("expected padding to be a single integer value or a list of 3 values to match the "
         "convolution dimensions, but got padding=[1, 2]")),
        (lambda: F.conv3d(rtorch.randn(2, 3, 5, 6, 7), rtorch.randn(4, 3, 2, 2, 2),
                          padding="same", stride=2),
         "padding='same' is not supported for strided convolutions"),
    ],
)  # fmt: skip
def test_conv3d_errors(call, msg: str) -> None:
    with pytest.raises(RuntimeError) as info:
        call()
    assert str(info.value) == msg


def test_conv3d_module() -> None:
    m = nn.Conv3d(4, 6, (3, 2, 2), stride=(2, 1, 1), padding=1, bias=True)
    assert repr(m) == "Conv3d(4, 6, kernel_size=(3, 2, 2), stride=(2, 1, 1), padding=(1, 1, 1))"
    assert list(m.state_dict()) == ["weight", "bias"] and m.weight.shape == (6, 4, 3, 2, 2)
    bound = 1 / np.sqrt(4 * 12)
    assert float(m.weight.abs().max()) <= bound and float(m.bias.abs().max()) <= bound
    x = rtorch.randn(2, 4, 5, 5, 5)
    y = m(x)
    assert y.shape == (2, 6, 3, 6, 6)
    np.testing.assert_allclose(
        y.detach().numpy(),
        F.conv3d(x, m.weight, m.bias, (2, 1, 1), 1).detach().numpy(), rtol=1e-6,
    )  # fmt: skip
    r = nn.Conv3d(2, 2, 3, padding=1, padding_mode="reflect")
    xr = rtorch.randn(1, 2, 4, 4, 4)
    want = F.conv3d(F.pad(xr, [1] * 6, mode="reflect"), r.weight, r.bias)
    np.testing.assert_allclose(r(xr).detach().numpy(), want.detach().numpy(), rtol=1e-6)
    y.sum().backward()
    assert m.weight.grad.shape == m.weight.shape


# ----- pooling -----


def _pool_ref(x, kernel, stride, padding, dilation, ceil_mode, kind, count_include_pad=True):
    """Direct loop: max (with flat indices) or average over each window."""
    n, c, *sizes = x.shape
    outs = []
    for s, k, st, p, d in zip(sizes, kernel, stride, padding, dilation):
        span = s + 2 * p - d * (k - 1) - 1
        o = (-(-span // st) if ceil_mode else span // st) + 1
        if ceil_mode and (o - 1) * st >= s + p:
            o -= 1
        outs.append(o)
    vals = np.zeros((n, c, *outs))
    idx = np.zeros((n, c, *outs), dtype=np.int64)
    for pos in itertools.product(*(range(o) for o in outs)):
        coords = []
        for a, (o_i, k, st, p, d) in enumerate(zip(pos, kernel, stride, padding, dilation)):
            start = o_i * st - p
            coords.append([start + j * d for j in range(k)])
        best = np.full((n, c), -np.inf)
        best_i = np.zeros((n, c), dtype=np.int64)
        total = np.zeros((n, c))
        count_pad = 1
        count_real = 1
        for a in range(3):
            lo = pos[a] * stride[a] - padding[a]
            hi = min(lo + kernel[a], sizes[a] + padding[a])
            count_pad *= hi - lo
            count_real *= min(hi, sizes[a]) - max(lo, 0)
        for cd, ch, cw in itertools.product(*coords):
            if not (0 <= cd < sizes[0] and 0 <= ch < sizes[1] and 0 <= cw < sizes[2]):
                continue
            v = x[:, :, cd, ch, cw]
            better = v > best
            best = np.where(better, v, best)
            best_i = np.where(better, (cd * sizes[1] + ch) * sizes[2] + cw, best_i)
            total += v
        if kind == "max":
            vals[(slice(None), slice(None), *pos)] = best
            idx[(slice(None), slice(None), *pos)] = best_i
        else:
            vals[(slice(None), slice(None), *pos)] = total / (
                count_pad if count_include_pad else count_real
            )
    return vals, idx


MAX_CASES = [
    ((2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1), False),
    ((3, 3, 3), (2, 2, 2), (1, 1, 1), (1, 1, 1), True),
    ((2, 3, 1), (1, 2, 3), (1, 1, 0), (2, 1, 3), False),
    ((3, 2, 3), (2, 2, 2), (1, 0, 1), (1, 1, 1), True),
]


@pytest.mark.parametrize(("kernel", "stride", "padding", "dilation", "ceil"), MAX_CASES)
def test_max_pool3d_matches_loop(kernel, stride, padding, dilation, ceil) -> None:
    x = _rng(4).standard_normal((2, 3, 5, 6, 7))
    values, indices = F.max_pool3d(
        rtorch.tensor(x), kernel, stride, padding, dilation, ceil, return_indices=True
    )
    want_v, want_i = _pool_ref(x, kernel, stride, padding, dilation, ceil, "max")
    np.testing.assert_array_equal(values.numpy(), want_v)
    np.testing.assert_array_equal(indices.numpy(), want_i)
    m = nn.MaxPool3d(kernel, stride, padding, dilation, ceil_mode=ceil)
    np.testing.assert_array_equal(m(rtorch.tensor(x[0])).numpy(), want_v[0])


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "ceil"),
    [((2, 2, 2), (2, 2, 2), (0, 0, 0), False), ((3, 3, 3), (2, 2, 2), (1, 1, 1), True),
     ((2, 3, 1), (1, 2, 3), (1, 1, 0), True)],
)  # fmt: skip
def test_avg_pool3d_matches_loop(kernel, stride, padding, ceil, count_include_pad) -> None:
    x = _rng(5).standard_normal((2, 3, 5, 6, 7))
    got = F.avg_pool3d(rtorch.tensor(x), kernel, stride, padding, ceil, count_include_pad)
    want, _ = _pool_ref(x, kernel, stride, padding, (1, 1, 1), ceil, "avg", count_include_pad)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    m = nn.AvgPool3d(kernel, stride, padding, ceil, count_include_pad)
    np.testing.assert_allclose(m(rtorch.tensor(x)).numpy(), want, rtol=1e-12)
    sums = F.avg_pool3d(rtorch.tensor(x), 2, divisor_override=1)
    np.testing.assert_allclose(
        sums.numpy(), _pool_ref(x, (2,) * 3, (2,) * 3, (0,) * 3, (1,) * 3, False, "avg")[0] * 8,
        rtol=1e-12,
    )  # fmt: skip


def _adaptive_ref(x, outs, kind):
    sizes = x.shape[2:]
    bins = [[(i * s // o, -(-(i + 1) * s // o)) for i in range(o)] for s, o in zip(sizes, outs)]
    vals = np.zeros((*x.shape[:2], *outs))
    for pos in itertools.product(*(range(o) for o in outs)):
        (a0, a1), (b0, b1), (c0, c1) = (bins[k][pos[k]] for k in range(3))
        win = x[:, :, a0:a1, b0:b1, c0:c1]
        vals[(slice(None), slice(None), *pos)] = (
            win.max((2, 3, 4)) if kind == "max" else win.mean((2, 3, 4))
        )
    return vals


@pytest.mark.parametrize("outs", [(2, 2, 2), (3, 4, 5), (5, 6, 2), (1, 1, 1), (4, 5, 7)])
def test_adaptive_pool3d(outs) -> None:
    x = _rng(6).standard_normal((2, 3, 5, 6, 7))
    t = rtorch.tensor(x)
    np.testing.assert_allclose(
        F.adaptive_avg_pool3d(t, outs).numpy(), _adaptive_ref(x, outs, "avg"), rtol=1e-12
    )
    values, indices = F.adaptive_max_pool3d(t, outs, return_indices=True)
    np.testing.assert_array_equal(values.numpy(), _adaptive_ref(x, outs, "max"))
    flat = x.reshape(2, 3, -1)
    np.testing.assert_array_equal(
        np.take_along_axis(flat, indices.numpy().reshape(2, 3, -1), 2).reshape(values.shape),
        values.numpy(),
    )
    assert nn.AdaptiveAvgPool3d(outs)(t).shape == (2, 3, *outs)
    assert nn.AdaptiveMaxPool3d(outs)(t[0]).shape == (3, *outs)
    assert F.adaptive_avg_pool3d(t, (2, None, 3)).shape == (2, 3, 2, 6, 3)


def test_pool3d_gradcheck() -> None:
    x = rtorch.tensor(_rng(7).standard_normal((1, 2, 4, 5, 3)), requires_grad=True)
    assert gradcheck(lambda a: F.max_pool3d(a, 2, 1, 1, ceil_mode=True), (x,))
    assert gradcheck(lambda a: F.avg_pool3d(a, (2, 3, 2), 2, 1, True, False), (x,))
    assert gradcheck(lambda a: F.adaptive_avg_pool3d(a, (3, 2, 2)), (x,))
    assert gradcheck(lambda a: F.adaptive_max_pool3d(a, (3, 2, 2)), (x,))


def test_pool3d_integer_inputs() -> None:
    x = rtorch.arange(2 * 4 * 4 * 4).reshape(2, 4, 4, 4)
    assert F.max_pool3d(x, 2).dtype == rtorch.int64
    np.testing.assert_array_equal(
        F.avg_pool3d(x, 2).numpy(),
        (x.double().numpy().reshape(2, 2, 2, 2, 2, 2, 2).mean((2, 4, 6))).astype(np.int64),
    )


@pytest.mark.parametrize(
    ("call", "msg"),
    [
        (lambda: F.max_pool3d(rtorch.randn(3, 4, 4), 2),
         "non-empty 4D or 5D (batch mode) tensor expected for input"),
        (lambda: F.avg_pool3d(rtorch.randn(3, 4, 4), 2),
         "non-empty 4D or 5D (batch mode) tensor expected for input"),
        (lambda: F.max_pool3d(rtorch.randn(2, 3, 5, 6, 7), 3, padding=2),
         ("pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 "
         "and dilation=1")),
        (lambda: F.max_pool3d(rtorch.randn(2, 3, 5, 6, 7), 8),
         ("Given input size: (3x5x6x7). Calculated output size: (3x0x0x0). Output size is too "
         "small")),
        (lambda: F.avg_pool3d(rtorch.randn(2, 3, 5, 6, 7), 8),
         "input image (T: 5 H: 6 W: 7) smaller than kernel size (kT: 8 kH: 8 kW: 8)"),
        (lambda: F.max_pool3d(rtorch.randn(2, 3, 5, 6, 7), 2, stride=0),
         "stride should not be zero"),
        (lambda: F.max_pool3d(rtorch.randn(2, 3, 5, 6, 7), (2, 2)),
         "max_pool3d: kernel_size must either be a single int, or a tuple of three ints"),
        (lambda: F.avg_pool3d(rtorch.randn(2, 3, 5, 6, 7), (2, 2)),
         "avg_pool3d: kernel_size must be a single int, or a tuple of three ints"),
        (lambda: F.adaptive_avg_pool3d(rtorch.randn(3, 4), 2),
         "adaptive_avg_pool3d(): Expected 4D or 5D tensor, but got [3, 4]"),
        (lambda: F.adaptive_avg_pool3d(rtorch.randn(2, 3, 5, 6, 7), (2, 2)),
         "adaptive_avg_pool3d: output_size must be 3"),
    ],
)  # fmt: skip
def test_pool3d_errors(call, msg: str) -> None:
    with pytest.raises(RuntimeError) as info:
        call()
    assert str(info.value) == msg


def test_pool3d_reprs() -> None:
    assert repr(nn.MaxPool3d(2)) == (
        "MaxPool3d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    )
    assert repr(nn.AvgPool3d(2)) == "AvgPool3d(kernel_size=2, stride=2, padding=0)"
    assert repr(nn.AdaptiveAvgPool3d((2, None, 3))) == "AdaptiveAvgPool3d(output_size=(2, None, 3))"
    assert repr(nn.AdaptiveMaxPool3d(2)) == "AdaptiveMaxPool3d(output_size=2)"


# ----- lazy modules -----


def test_lazy_linear_infers_in_features() -> None:
    m = nn.LazyLinear(3)
    assert repr(m) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    assert isinstance(m.weight, nn.UninitializedParameter)
    assert repr(m.weight) == "<UninitializedParameter>"
    assert m.has_uninitialized_params()
    sd = m.state_dict()
    assert list(sd) == ["weight", "bias"] and isinstance(sd["weight"], nn.UninitializedParameter)
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized"):
        _ = m.weight.shape
    x = rtorch.randn(4, 5)
    y = m(x)
    assert type(m) is nn.Linear and m.in_features == 5
    assert repr(m) == "Linear(in_features=5, out_features=3, bias=True)"
    assert type(m.weight) is nn.Parameter and m.weight.shape == (3, 5)
    assert float(m.weight.abs().max()) <= 1 / np.sqrt(5)
    np.testing.assert_allclose(
        y.detach().numpy(), x.numpy() @ m.weight.detach().numpy().T + m.bias.detach().numpy(),
        rtol=1e-5, atol=1e-6,
    )  # fmt: skip
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == {
        "weight": (3, 5), "bias": (3,)
    }  # fmt: skip
    y.sum().backward()
    assert m.weight.grad.shape == (3, 5)
    other = nn.Linear(5, 3)
    other.load_state_dict(m.state_dict())
    assert rtorch.equal(other.weight, m.weight)


def test_lazy_linear_optimizer_and_copy() -> None:
    net = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(2, bias=False))
    net(rtorch.randn(3, 6))
    assert [tuple(p.shape) for p in net.parameters()] == [(8, 6), (8,), (2, 8)]
    opt = rtorch.optim.SGD(net.parameters(), lr=0.1)
    before = net[0].weight.detach().clone()
    net(rtorch.randn(3, 6)).sum().backward()
    opt.step()
    assert not rtorch.equal(before, net[0].weight)
    clone = copy.deepcopy(net)
    assert rtorch.equal(clone[2].weight, net[2].weight)
    lazy = nn.LazyLinear(4)
    assert isinstance(copy.deepcopy(lazy).weight, nn.UninitializedParameter)
    assert isinstance(pickle.loads(pickle.dumps(lazy.weight)), nn.UninitializedParameter)
    d = nn.LazyLinear(2).double()
    d(rtorch.randn(1, 3, dtype=rtorch.float64))
    assert d.weight.dtype == rtorch.float64


def test_lazy_load_state_dict_materializes() -> None:
    src = nn.Linear(7, 3)
    m = nn.LazyLinear(3)
    m.load_state_dict(src.state_dict())
    assert type(m) is nn.LazyLinear and m.weight.shape == (3, 7)
    assert rtorch.equal(m.weight, src.weight)
    m(rtorch.randn(2, 7))
    assert type(m) is nn.Linear


def test_lazy_convs() -> None:
    c = nn.LazyConv2d(4, 3, padding=1)
    assert repr(c) == "LazyConv2d(0, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    with pytest.raises(RuntimeError) as info:
        c(rtorch.randn(5))
    assert str(info.value) == (
        "Expected 3D (unbatched) or 4D (batched) input to LazyConv2d, but got input of size: "
        "torch.Size([5])"
    )
    x = rtorch.randn(2, 3, 6, 6)
    y = c(x)
    assert type(c) is nn.Conv2d and c.in_channels == 3 and c.weight.shape == (4, 3, 3, 3)
    np.testing.assert_allclose(
        y.detach().numpy(), F.conv2d(x, c.weight, c.bias, padding=1).detach().numpy(), rtol=1e-6
    )
    c1 = nn.LazyConv1d(5, 2, groups=1, bias=False)
    assert c1(rtorch.randn(4, 9)).shape == (5, 8) and type(c1) is nn.Conv1d and c1.bias is None
    c3 = nn.LazyConv3d(2, 2, groups=2)
    assert c3(rtorch.randn(1, 4, 3, 3, 3)).shape == (1, 2, 2, 2, 2)
    assert type(c3) is nn.Conv3d and c3.weight.shape == (2, 2, 2, 2, 2)


def test_uninitialized_parameter_materialize() -> None:
    p = nn.UninitializedParameter(requires_grad=False, dtype=rtorch.float64)
    p.materialize((2, 3))
    assert type(p) is nn.Parameter and p.shape == (2, 3) and p.dtype == rtorch.float64
    assert not p.requires_grad
    b = nn.UninitializedBuffer()
    b.materialize(4)
    assert type(b) is rtorch.Tensor and b.shape == (4,)
    assert nn.parameter.is_lazy(nn.UninitializedParameter())


# ----- multilabel margin loss -----


def _mlm_ref(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = []
    for row, tgt in zip(x, y):
        targets = []
        for t in tgt:
            if t < 0:
                break
            targets.append(int(t))
        total = 0.0
        for j in targets:
            for i in range(len(row)):
                if i not in targets:
                    total += max(0.0, 1 - (row[j] - row[i]))
        out.append(total / len(row))
    return np.array(out)


def test_multilabel_margin_loss() -> None:
    x = rtorch.tensor([[0.1, 0.2, 0.4, 0.8], [0.3, -0.2, 0.5, 0.1]])
    y = rtorch.tensor([[3, 0, -1, 1], [1, 1, 2, -1]])
    assert F.multilabel_margin_loss(x, y).item() == pytest.approx(1.3)
    assert F.multilabel_margin_loss(x, y, reduction="none").tolist() == pytest.approx([0.85, 1.75])
    assert F.multilabel_margin_loss(x, y, reduction="sum").item() == pytest.approx(2.6)
    r = F.multilabel_margin_loss(x[0], y[0], reduction="none")
    assert r.dim() == 0 and r.item() == pytest.approx(0.85)
    assert nn.MultiLabelMarginLoss()(x, y).item() == pytest.approx(1.3)
    assert repr(nn.MultiLabelMarginLoss()) == "MultiLabelMarginLoss()"
    rng = _rng(8)
    xs = rng.standard_normal((6, 9))
    ys = np.stack(
        [np.concatenate([rng.permutation(9)[:k], -np.ones(9 - k, int)]) for k in range(6)]
    )
    ys[5, 7] = 3  # entries after the first -1 are ignored
    got = F.multilabel_margin_loss(rtorch.tensor(xs), rtorch.tensor(ys), reduction="none")
    np.testing.assert_allclose(got.numpy(), _mlm_ref(xs, ys), rtol=1e-12)
    xg = rtorch.tensor(xs, requires_grad=True)
    assert gradcheck(lambda a: F.multilabel_margin_loss(a, rtorch.tensor(ys)), (xg,))
    with pytest.raises(RuntimeError, match="argument #2 'target' is out of range"):
        F.multilabel_margin_loss(x, rtorch.tensor([[4, 0, -1, 1], [1, 1, 2, -1]]))
    with pytest.raises(RuntimeError, match=r"inconsistent target size: \[2, 3\] for input"):
        F.multilabel_margin_loss(x, y[:, :3])
    with pytest.raises(RuntimeError, match="expected scalar type Long but found Int"):
        F.multilabel_margin_loss(x, y.int())
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.multilabel_margin_loss(x, y, reduction="foo")


def test_parity_with_torch() -> None:
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = _rng(9)
    x = rng.standard_normal((2, 4, 6, 5, 7))
    w = rng.standard_normal((6, 2, 3, 2, 3))
    kw = {"stride": (2, 1, 2), "padding": (1, 0, 1), "dilation": (1, 2, 1), "groups": 2}
    np.testing.assert_allclose(
        F.conv3d(rtorch.tensor(x), rtorch.tensor(w), **kw).numpy(),
        tf.conv3d(torch.tensor(x), torch.tensor(w), **kw).numpy(), rtol=1e-10, atol=1e-12,
    )  # fmt: skip
    for args in [(3, 2, 1, 1, True), ((2, 3, 2), (1, 2, 1), (1, 1, 0), (1, 1, 2), False)]:
        a = F.max_pool3d(rtorch.tensor(x), *args, return_indices=True)
        b = tf.max_pool3d(torch.tensor(x), *args, return_indices=True)
        np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
        np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())
    for args in [(3, 2, 1, True, False), ((2, 3, 2), (1, 2, 1), (1, 1, 0), True, True, 3)]:
        np.testing.assert_allclose(
            F.avg_pool3d(rtorch.tensor(x), *args).numpy(),
            tf.avg_pool3d(torch.tensor(x), *args).numpy(), rtol=1e-12,
        )  # fmt: skip
    for outs in [(4, 3, 5), (2, None, 3)]:
        np.testing.assert_allclose(
            F.adaptive_avg_pool3d(rtorch.tensor(x), outs).numpy(),
            tf.adaptive_avg_pool3d(torch.tensor(x), outs).numpy(), rtol=1e-12,
        )  # fmt: skip
        a = F.adaptive_max_pool3d(rtorch.tensor(x), outs, True)
        b = tf.adaptive_max_pool3d(torch.tensor(x), outs, True)
        np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())
    ys = np.array([[3, 0, -1, 1, 2, 5, 6], [1, 1, 2, -1, 0, 0, 0]])
    xs = rng.standard_normal((2, 7))
    np.testing.assert_allclose(
        F.multilabel_margin_loss(rtorch.tensor(xs), rtorch.tensor(ys), reduction="none").numpy(),
        tf.multilabel_margin_loss(torch.tensor(xs), torch.tensor(ys), reduction="none").numpy(),
        rtol=1e-12,
    )


# ----- transposed 3-D convolution -----


def _conv_transpose3d_ref(x, w, b, stride, padding, output_padding, dilation, groups):
    """Scatter every input voxel times the kernel into the (uncropped) output, then crop."""
    n, c, d, h, wd = x.shape
    _, og, kd, kh, kw = w.shape
    full = [
        (s - 1) * st + dl * (k - 1) + 1 + op
        for s, st, dl, k, op in zip((d, h, wd), stride, dilation, (kd, kh, kw), output_padding)
    ]
    out = np.zeros((n, og * groups, *full))
    cg = c // groups
    for ci in range(c):
        g = ci // cg
        for i, j, k in itertools.product(range(d), range(h), range(wd)):
            for a, bb, cc in itertools.product(range(kd), range(kh), range(kw)):
                z = i * stride[0] + a * dilation[0]
                y = j * stride[1] + bb * dilation[1]
                xx = k * stride[2] + cc * dilation[2]
                out[:, g * og : (g + 1) * og, z, y, xx] += (
                    x[:, ci, i, j, k][:, None] * w[ci, :, a, bb, cc]
                )
    sizes = [f - op - 2 * p for f, op, p in zip(full, output_padding, padding)]
    sizes = [s + op for s, op in zip(sizes, output_padding)]
    out = out[:, :, padding[0] : padding[0] + sizes[0], padding[1] : padding[1] + sizes[1],
              padding[2] : padding[2] + sizes[2]]  # fmt: skip
    if b is not None:
        out = out + b.reshape(1, -1, 1, 1, 1)
    return out


@pytest.mark.parametrize(
    ("xshape", "wshape", "stride", "padding", "output_padding", "dilation", "groups"),
    [
        ((2, 4, 3, 4, 3), (4, 3, 2, 3, 2), (1, 1, 1), (0, 0, 0), (0, 0, 0), (1, 1, 1), 1),
        ((1, 4, 3, 3, 3), (4, 2, 3, 2, 2), (2, 1, 2), (1, 1, 0), (1, 0, 1), (1, 2, 1), 2),
        ((1, 2, 3, 2, 3), (2, 3, 3, 1, 2), (1, 2, 1), (0, 0, 1), (1, 1, 0), (2, 1, 1), 1),
    ],
)
def test_conv_transpose3d_matches_scatter_loop(
    xshape, wshape, stride, padding, output_padding, dilation, groups
) -> None:
    rng = _rng(10)
    x, w = rng.standard_normal(xshape), rng.standard_normal(wshape)
    b = rng.standard_normal(wshape[1] * groups)
    got = F.conv_transpose3d(
        rtorch.tensor(x), rtorch.tensor(w), rtorch.tensor(b), stride, padding, output_padding,
        groups, dilation,
    )  # fmt: skip
    want = _conv_transpose3d_ref(x, w, b, stride, padding, output_padding, dilation, groups)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    assert got.is_contiguous()
    plain = F.conv_transpose3d(
        rtorch.tensor(x), rtorch.tensor(w), None, stride, padding, output_padding, groups, dilation
    )
    assert plain.is_contiguous() and plain.view(-1).numel() == plain.numel()


def test_conv_transpose3d_gradcheck_and_module() -> None:
    rng = _rng(11)
    x = rtorch.tensor(rng.standard_normal((1, 2, 2, 3, 2)), requires_grad=True)
    w = rtorch.tensor(rng.standard_normal((2, 2, 2, 2, 2)), requires_grad=True)
    b = rtorch.tensor(rng.standard_normal(4), requires_grad=True)
    assert gradcheck(
        lambda a, k, c: F.conv_transpose3d(a, k, c, stride=2, padding=(1, 0, 0), groups=2),
        (x, w, b),
    )
    m = nn.ConvTranspose3d(4, 6, 3, stride=2, output_padding=1)
    assert repr(m) == (
        "ConvTranspose3d(4, 6, kernel_size=(3, 3, 3), stride=(2, 2, 2), output_padding=(1, 1, 1))"
    )
    assert m.weight.shape == (4, 6, 3, 3, 3)
    assert m(rtorch.randn(1, 4, 3, 3, 3)).shape == (1, 6, 8, 8, 8)
    m2 = nn.ConvTranspose3d(4, 6, 3, stride=2)
    assert m2(rtorch.randn(4, 3, 3, 3), output_size=[8, 8, 8]).shape == (6, 8, 8, 8)
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride"):
        F.conv_transpose3d(
            rtorch.randn(1, 2, 3, 3, 3), rtorch.randn(2, 2, 2, 2, 2), output_padding=2
        )
    with pytest.raises(RuntimeError, match=r"Calculated output size per channel: \(-1 x -1 x -1\)"):
        F.conv_transpose3d(rtorch.randn(1, 2, 1, 1, 1), rtorch.randn(2, 2, 1, 1, 1), padding=1)
    assert rtorch.conv_transpose3d(rtorch.randn(1, 2, 2, 2, 2), rtorch.randn(2, 1, 1, 1, 1)).shape == (
        1, 1, 2, 2, 2
    )  # fmt: skip


# ----- more lazy modules, unpool/lp 3-D, SyncBatchNorm, NLLLoss2d -----


def test_lazy_norms() -> None:
    b = nn.LazyBatchNorm1d()
    assert repr(b) == (
        "LazyBatchNorm1d(0, eps=1e-05, momentum=0.1, affine=True, bias=True, "
        "track_running_stats=True)"
    )
    x = rtorch.randn(8, 3, dtype=rtorch.float64)
    y = b.double()(x)
    assert type(b) is nn.BatchNorm1d and b.num_features == 3 and b.weight.shape == (3,)
    ref = nn.BatchNorm1d(3).double()
    np.testing.assert_allclose(y.detach().numpy(), ref(x).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.running_mean.numpy(), ref.running_mean.numpy(), rtol=1e-12)
    assert b.num_batches_tracked.item() == 1
    assert list(b.state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"
    ]  # fmt: skip
    b2 = nn.LazyBatchNorm2d(affine=False)
    b2(rtorch.randn(2, 5, 3, 3))
    assert type(b2) is nn.BatchNorm2d and b2.weight is None and b2.running_var.shape == (5,)
    b3 = nn.LazyBatchNorm3d(track_running_stats=False)
    b3(rtorch.randn(2, 4, 2, 2, 2))
    assert b3.running_mean is None and b3.weight.shape == (4,)
    i2 = nn.LazyInstanceNorm2d()
    i2(rtorch.randn(3, 4, 4))  # unbatched: features are dim 0
    assert type(i2) is nn.InstanceNorm2d and i2.num_features == 3 and i2.affine


def test_lazy_conv_transpose() -> None:
    c = nn.LazyConvTranspose2d(4, 3, stride=2)
    assert repr(c) == "LazyConvTranspose2d(0, 4, kernel_size=(3, 3), stride=(2, 2))"
    x = rtorch.randn(1, 3, 5, 5)
    y = c(x)
    assert type(c) is nn.ConvTranspose2d and c.weight.shape == (3, 4, 3, 3)
    np.testing.assert_allclose(
        y.detach().numpy(), F.conv_transpose2d(x, c.weight, c.bias, 2).detach().numpy(), rtol=1e-6
    )
    c1 = nn.LazyConvTranspose1d(2, 2, groups=2)
    assert c1(rtorch.randn(4, 6)).shape == (2, 7) and c1.weight.shape == (4, 1, 2)
    c3 = nn.LazyConvTranspose3d(2, 1)
    assert c3(rtorch.randn(1, 3, 2, 2, 2)).shape == (1, 2, 2, 2, 2)


def test_max_unpool3d_and_lp_pool3d() -> None:
    x = rtorch.randn(2, 3, 4, 4, 4, dtype=rtorch.float64)
    values, idx = F.max_pool3d(x, 2, return_indices=True)
    up = nn.MaxUnpool3d(2)(values, idx)
    assert up.shape == x.shape
    mask = up != 0
    assert rtorch.equal(up[mask], x[mask]) and int(mask.sum()) == values.numel()
    assert F.max_unpool3d(values, idx, 2, output_size=(5, 5, 5)).shape == (2, 3, 5, 5, 5)
    lp = F.lp_pool3d(x.abs(), 2, 2)
    want = (x.abs() ** 2).numpy().reshape(2, 3, 2, 2, 2, 2, 2, 2).sum((3, 5, 7)) ** 0.5
    np.testing.assert_allclose(lp.numpy(), want, rtol=1e-12)
    assert rtorch.equal(nn.LPPool3d(2, 2)(x.abs()), lp)
    assert repr(nn.MaxUnpool3d(2)) == (
        "MaxUnpool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0))"
    )


def test_sync_batchnorm_and_nllloss2d() -> None:
    net = nn.Sequential(nn.Conv2d(1, 3, 1), nn.BatchNorm2d(3))
    conv = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert type(conv[1]) is nn.SyncBatchNorm and conv[1].weight is net[1].weight
    assert repr(conv[1]) == (
        "SyncBatchNorm(3, eps=1e-05, momentum=0.1, affine=True, bias=True, "
        "track_running_stats=True)"
    )
    x = rtorch.randn(2, 1, 3, 3)
    ref = nn.BatchNorm2d(3)
    ref.load_state_dict(conv[1].state_dict())
    h = net[0](x)
    np.testing.assert_allclose(conv[1](h).detach().numpy(), ref(h).detach().numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="expected at least 2D input \\(got 1D input\\)"):
        nn.SyncBatchNorm(3)(rtorch.randn(3))
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated"):
        loss = nn.NLLLoss2d()
    assert isinstance(loss, nn.NLLLoss)
    assert F.has_torch_function((x,)) is False and F.has_torch_function_variadic(x, x) is False


# ----- fractional max pooling -----


def _fractional_reference(x, kernel, outs, samples):
    """Direct loops over PyTorch's interval rule (samples: width first in 2-D)."""
    nd = len(kernel)
    n, c = x.shape[:2]
    sizes = x.shape[2:]
    order = (1, 0) if nd == 2 else (0, 1, 2)

    def starts(u, size, out, pool):
        if out == 1:
            return [size - pool]
        alpha = (size - pool) / (out - 1)
        seq = [int((i + u) * alpha) - int(u * alpha) for i in range(out - 1)]
        return [*seq, size - pool]

    vals = np.zeros((n, c, *outs))
    idx = np.zeros((n, c, *outs), dtype=np.int64)
    for b in range(n):
        for ch in range(c):
            seqs = [starts(float(samples[b, ch, order[a]]), sizes[a], outs[a], kernel[a])
                    for a in range(nd)]  # fmt: skip
            for pos in itertools.product(*(range(o) for o in outs)):
                best, best_i = -np.inf, None
                ranges = [range(seqs[a][pos[a]], seqs[a][pos[a]] + kernel[a]) for a in range(nd)]
                for coord in itertools.product(*ranges):
                    v = x[(b, ch, *coord)]
                    if v > best:
                        flat = 0
                        for a in range(nd):
                            flat = flat * sizes[a] + coord[a]
                        best, best_i = v, flat
                vals[(b, ch, *pos)] = best
                idx[(b, ch, *pos)] = best_i
    return vals, idx


@pytest.mark.parametrize(("shape", "kernel", "outs"), [
    ((2, 3, 7, 8), (2, 3), (4, 3)), ((1, 2, 9, 9), (3, 3), (5, 6)), ((1, 2, 6, 7, 8), (2, 3, 2), (3, 3, 4)),
])  # fmt: skip
def test_fractional_max_pool_matches_loop(shape, kernel, outs) -> None:
    rng = _rng(12)
    x = rng.standard_normal(shape)
    samples = rng.random((shape[0], shape[1], len(kernel)))
    fn = F.fractional_max_pool2d if len(kernel) == 2 else F.fractional_max_pool3d
    values, indices = fn(rtorch.tensor(x), kernel, output_size=outs, return_indices=True,
                         _random_samples=rtorch.tensor(samples))  # fmt: skip
    want_v, want_i = _fractional_reference(x, kernel, outs, samples)
    np.testing.assert_array_equal(values.numpy(), want_v)
    np.testing.assert_array_equal(indices.numpy(), want_i)


def test_fractional_max_pool_modules_and_errors() -> None:
    m = nn.FractionalMaxPool2d(3, output_ratio=0.5)
    assert repr(m) == "FractionalMaxPool2d()" and m(rtorch.randn(1, 2, 10, 10)).shape == (
        1,
        2,
        5,
        5,
    )
    assert nn.FractionalMaxPool3d(2, output_size=3)(rtorch.randn(2, 6, 6, 6)).shape == (2, 3, 3, 3)
    x = rtorch.randn(1, 1, 6, 6, dtype=rtorch.float64, requires_grad=True)
    samples = rtorch.tensor([[[0.3, 0.7]]], dtype=rtorch.float64)
    assert gradcheck(
        lambda a: F.fractional_max_pool2d(a, 2, output_size=3, _random_samples=samples), (x,)
    )
    with pytest.raises(ValueError, match="requires specifying either an output size, or a pooling"):
        nn.FractionalMaxPool2d(3)
    with pytest.raises(ValueError, match="only one of output_size and output_ratio may be"):
        nn.FractionalMaxPool2d(3, output_size=2, output_ratio=0.5)
    with pytest.raises(ValueError, match="output_ratio must be between 0 and 1 \\(got 1.5\\)"):
        nn.FractionalMaxPool2d(3, output_ratio=1.5)
    with pytest.raises(RuntimeError, match="pool height 3 too large relative to input height 5"):
        F.fractional_max_pool2d(rtorch.randn(1, 1, 5, 5), 3, output_size=4)
    with pytest.raises(ValueError, match="requires specifying either an output_size or an"):
        F.fractional_max_pool2d(rtorch.randn(1, 1, 5, 5), 3)
