"""``Tensor.is_contiguous(memory_format=...)`` and ``Tensor.contiguous(memory_format=...)``
with PyTorch's rules: channels-last layouts are checked dim by dim from the fastest
(C, spatial from the last, N), size-1 dims may have any stride; empty tensors are
row-major contiguous; channels-last strides multiply sizes as they are (0 included)."""

import itertools

import numpy as np
import pytest

import rtorch

CL = rtorch.channels_last
CL3 = rtorch.channels_last_3d


def _nhwc(shape):
    """A channels-last 4-d tensor built by permuting a row-major NHWC one."""
    n, c, h, w = shape
    return rtorch.arange(float(n * c * h * w)).reshape(n, h, w, c).permute(0, 3, 1, 2)


def test_channels_last_strides_are_channels_last_contiguous():
    x = _nhwc((2, 3, 4, 5))
    assert x.stride() == (60, 1, 15, 3)
    assert x.is_contiguous(memory_format=CL)
    assert not x.is_contiguous()
    assert not x.is_contiguous(memory_format=CL3)  # wrong rank
    y = rtorch.arange(120.0).reshape(2, 3, 4, 5)
    assert y.is_contiguous() and not y.is_contiguous(memory_format=CL)


@pytest.mark.parametrize(
    "shape, strides, expected",
    [
        ((2, 1, 4, 5), (20, 20, 5, 1), True),  # C == 1: row-major is also channels-last
        ((2, 1, 4, 5), (20, 7, 5, 1), True),  # a size-1 dim's stride does not matter
        ((2, 3, 1, 1), (3, 1, 3, 3), True),
        ((2, 3, 1, 1), (3, 1, 99, 0), True),
        ((1, 3, 4, 5), (0, 1, 15, 3), True),  # N == 1
        ((2, 3, 1, 5), (15, 1, 15, 3), True),
        ((2, 3, 1, 5), (15, 1, 15, 4), False),
        ((2, 3, 4, 5), (60, 1, 15, 4), False),
        ((2, 3, 4, 5), (61, 1, 15, 3), False),
        ((1, 1, 1, 1), (5, 6, 7, 8), True),
    ],
)
def test_channels_last_rule_with_size_one_dims(shape, strides, expected):
    x = rtorch.zeros(200).as_strided(shape, strides)
    assert x.is_contiguous(memory_format=CL) is expected


def _reference_rule(sizes, strides, order):
    # Independent statement of the rule: the non-size-1 dims, taken in `order`, must
    # have strides equal to the running product of their sizes.
    kept = [d for d in order if sizes[d] != 1]
    products = np.cumprod([1] + [sizes[d] for d in kept])[:-1]
    return all(strides[d] == p for d, p in zip(kept, products))


def test_channels_last_rule_exhaustive_small():
    base = rtorch.zeros(400)
    order = (1, 3, 2, 0)
    for sizes in itertools.product((1, 2, 3), repeat=4):
        canon = [0] * 4
        step = 1
        for d in order:
            canon[d] = step
            step *= sizes[d]
        for bump in range(5):  # canonical strides, then one stride perturbed
            strides = list(canon)
            if bump < 4:
                strides[bump] += 1
            x = base.as_strided(sizes, strides)
            assert x.is_contiguous(memory_format=CL) == _reference_rule(sizes, strides, order)


def test_channels_last_3d():
    n, c, d, h, w = 2, 3, 2, 4, 5
    x = rtorch.arange(float(n * c * d * h * w)).reshape(n, d, h, w, c).permute(0, 4, 1, 2, 3)
    assert x.stride() == (120, 1, 60, 15, 3)
    assert x.is_contiguous(memory_format=CL3)
    assert not x.is_contiguous(memory_format=CL) and not x.is_contiguous()
    y = rtorch.zeros(300).as_strided((2, 1, 2, 1, 5), (10, 3, 5, 8, 1))  # C, H of size 1
    assert y.is_contiguous(memory_format=CL3)
    assert not rtorch.zeros(2, 3, 2, 4, 5).is_contiguous(memory_format=CL3)


def test_is_contiguous_empty_and_argument_errors():
    e = rtorch.zeros(10).as_strided((2, 0, 3), (7, 5, 2))
    assert e.is_contiguous() and e.is_contiguous(memory_format=rtorch.contiguous_format)
    assert e.is_contiguous(memory_format=rtorch.preserve_format)
    x = rtorch.zeros(2, 3, 4, 5)
    with pytest.raises(TypeError, match="takes 0 positional arguments but 1 was given"):
        x.is_contiguous(CL)
    with pytest.raises(TypeError, match="must be torch.memory_format, not NoneType"):
        x.is_contiguous(memory_format=None)


def test_contiguous_channels_last():
    x = rtorch.arange(120.0).reshape(2, 3, 4, 5)
    y = x.contiguous(memory_format=CL)
    assert y.stride() == (60, 1, 15, 3)
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    assert y.contiguous(memory_format=CL) is y
    # Already channels-last by the size-1 rule: no copy, strides kept.
    z = rtorch.zeros(2, 1, 4, 5)
    assert z.contiguous(memory_format=CL) is z
    # A copy of a tensor with size-1 dims gets the canonical strides.
    t = rtorch.zeros(2, 1, 5, 4).transpose(2, 3)
    assert t.contiguous(memory_format=CL).stride() == (20, 1, 5, 1)
    # 0-sized dims: the products are 0 after them.
    assert rtorch.zeros(2, 0, 2, 3).contiguous(memory_format=CL).stride() == (0, 1, 0, 0)
    assert rtorch.zeros(2, 2, 3, 0).contiguous(memory_format=CL).stride() == (0, 1, 0, 2)
    w = rtorch.zeros(2, 3, 2, 4, 5).contiguous(memory_format=CL3)
    assert w.stride() == (120, 1, 60, 15, 3) and w.is_contiguous(memory_format=CL3)


def test_contiguous_channels_last_keeps_gradient():
    x = rtorch.arange(24.0).reshape(1, 2, 3, 4).requires_grad_()
    y = x.contiguous(memory_format=CL)
    (y * rtorch.arange(24.0).reshape(1, 2, 3, 4)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(24.0).reshape(1, 2, 3, 4))


def test_contiguous_errors_and_preserve():
    x = rtorch.zeros(2, 3, 4)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        x.contiguous(memory_format=CL)
    assert x.contiguous(memory_format=rtorch.preserve_format) is x
    with pytest.raises(RuntimeError, match="preserve memory format is unsupported"):
        x.transpose(1, 2).contiguous(memory_format=rtorch.preserve_format)
    with pytest.raises(TypeError, match="contiguous\\(\\): argument 'memory_format' must be"):
        x.contiguous(memory_format="channels_last")
    e = rtorch.zeros(10).as_strided((2, 0, 3), (7, 5, 2))
    assert e.contiguous() is e


def test_contiguity_matches_torch_on_random_layouts():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for rank, fmt in ((4, "channels_last"), (5, "channels_last_3d"), (4, "contiguous_format")):
        for _ in range(100):
            sizes = [int(s) for s in rng.choice([0, 1, 1, 2, 3], rank)]
            strides = [int(s) for s in rng.choice([0, 1, 2, 3, 6, 12, 18], rank)]
            t = torch.zeros(600).as_strided(sizes, strides)
            r = rtorch.zeros(600).as_strided(sizes, strides)
            tf, rf = getattr(torch, fmt), getattr(rtorch, fmt)
            assert r.is_contiguous(memory_format=rf) == t.is_contiguous(memory_format=tf)
            tc, rc = t.contiguous(memory_format=tf), r.contiguous(memory_format=rf)
            assert rc.stride() == tc.stride() and (rc is r) == (tc is t), (sizes, strides)


def test_empty_in_a_memory_format():
    # (PyTorch's strides; the format used to be ignored.)
    cl = rtorch.channels_last
    e = rtorch.empty(2, 3, 4, 5, memory_format=cl)
    assert e.stride() == (60, 1, 15, 3) and e.is_contiguous(memory_format=cl)
    assert not e.is_contiguous() and rtorch.empty_like(e).stride() == (60, 1, 15, 3)
    o = rtorch.empty(2, 3, 4, 5, 6, memory_format=rtorch.channels_last_3d)
    assert o.stride() == (360, 1, 90, 18, 3)
    assert rtorch.empty(2, 3, memory_format=rtorch.contiguous_format).stride() == (3, 1)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last"):
        rtorch.empty(2, 3, memory_format=cl)
    with pytest.raises(RuntimeError, match="unsupported memory format Preserve"):
        rtorch.empty(2, 3, memory_format=rtorch.preserve_format)
