"""In-place writes through views, with autograd (PyTorch's CopySlices rules).

Each function below writes through a view of a tensor with history; gradcheck and
gradgradcheck compare its gradients with finite differences in float64, so a base
whose history was not rebased (a silently wrong gradient) fails here.
"""

from __future__ import annotations

import numpy as np
import pytest

import rtorch
from rtorch.autograd import gradcheck, gradgradcheck


def leaf(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rtorch.tensor(rng.uniform(0.5, 1.5, size=shape), requires_grad=True)


def mul_slice(x):
    y = x * 2
    y[1:].mul_(x[1:])
    return y * y


def add_through_view_reshape(x):
    y = x * 1
    y.view(-1).add_(x.view(-1) ** 2)
    return y


def base_written_after_view(x):
    # `b` was made before the base changed: its history must be re-derived.
    y = x * 2
    b = y[1:3]
    y.mul_(x)
    return b * b


def overlapping_views(x):
    y = x.clone()
    a, b = y[0:3], y[1:4]
    a.mul_(x[0:3])
    return b**3


def grad_value_into_plain_buffer(x):
    buf = rtorch.zeros(2, 4, dtype=rtorch.float64)
    buf[0].copy_(x * x)
    buf[1, 1:3] = x[:2].exp()
    return buf * rtorch.arange(8.0, dtype=rtorch.float64).view(2, 4)


def transposed_view_of_view(x):
    y = (x * 1).view(2, 2)
    y.t()[0].sub_(x[:2] ** 2)
    return y


def rnn_style_loop(x):
    out = rtorch.zeros(3, 4, dtype=rtorch.float64)
    h = x
    for t in range(3):
        h = rtorch.tanh(h * 0.5 + 1)
        out[t] = h
    return out


def unary_inplace_on_strided_view(x):
    y = x.view(2, 2) * 3
    y[:, 1].exp_()
    y[0].clamp_(max=4.0)
    return y


def expanded_view_rederived(x):
    y = x * 2
    z = y.unsqueeze(0).expand(3, 4)
    y.add_(x)
    return z * rtorch.arange(12.0, dtype=rtorch.float64).view(3, 4)


def index_put_through_view(x):
    y = x * x
    v = y[1:]
    v[rtorch.tensor([0, 2])] = x[:2] * 5
    return y


def fill_and_zero_through_views(x):
    y = x * x
    y[0].zero_()
    y[1:2].fill_(x[3])
    return y * x


def masked_fill_through_view(x):
    y = (x * 3).view(2, 2)
    y[1].masked_fill_(rtorch.tensor([True, False]), 0.5)
    return y * y


def non_contiguous_base(x):
    # A root tensor with a transposed layout: the base of the views below is strided.
    big = rtorch.empty_strided((2, 4), (1, 2), dtype=rtorch.float64).zero_()
    assert not big.is_contiguous() and not big._is_view()
    big[0, 1:3] = x[:2] * x[2:]
    big.t()[3].add_(x[1:3])
    return big * 2


def strided_boxes_of_a_buffer(x):
    # Writes through boxes of a contiguous base with steps and a leading offset: the
    # gradient's region is a strided view, not a list of indices.
    out = rtorch.zeros(3, 4, 4, dtype=rtorch.float64)
    out[1, 1:3, ::2] = x.view(2, 2) * x.view(2, 2)
    out[:, 0].narrow(1, 1, 2).add_(x[:2])
    out[2].t()[3, 1:].mul_(x[1:])
    return out * rtorch.arange(48.0, dtype=rtorch.float64).view(3, 4, 4)


def empty_region(x):
    y = x * 2
    y[2:2].mul_(3)
    return y * y


def constant_pad_3d(x):
    return rtorch.nn.functional.pad(x.view(1, 1, 2, 2), (1, 2, 0, 1, 1, 1)) ** 2


CASES = [
    strided_boxes_of_a_buffer,
    empty_region,
    constant_pad_3d,
    mul_slice,
    add_through_view_reshape,
    base_written_after_view,
    overlapping_views,
    grad_value_into_plain_buffer,
    transposed_view_of_view,
    rnn_style_loop,
    unary_inplace_on_strided_view,
    expanded_view_rederived,
    index_put_through_view,
    fill_and_zero_through_views,
    masked_fill_through_view,
    non_contiguous_base,
]


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_gradcheck_through_inplace_view_writes(f):
    assert gradcheck(f, (leaf(4),))


@pytest.mark.parametrize(
    "f",
    [
        strided_boxes_of_a_buffer,
        constant_pad_3d,
        mul_slice,
        base_written_after_view,
        overlapping_views,
        grad_value_into_plain_buffer,
        rnn_style_loop,
    ],
    ids=lambda f: f.__name__,
)
def test_gradgradcheck_through_inplace_view_writes(f):
    assert gradgradcheck(f, (leaf(4),))


def test_known_values_and_node_names():
    x = rtorch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 2
    v = y[1:]
    v.mul_(3)
    assert y.grad_fn.name() == "CopySlices"
    assert v.grad_fn.name() == "AsStridedBackward0"
    assert v._base is not None and v._is_view() and not y._is_view()
    assert y.tolist() == [2.0, 12.0, 18.0, 24.0]
    (y * y).sum().backward()
    assert x.grad.tolist() == [8.0, 144.0, 216.0, 288.0]


def test_view_made_before_base_write_sees_the_new_history():
    x = rtorch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 2
    b = y[1]
    assert b.grad_fn.name() == "SelectBackward0"
    y.mul_(3)
    assert b.grad_fn.name() == "AsStridedBackward0"
    b.backward()
    assert x.grad.tolist() == [0.0, 6.0, 0.0, 0.0]


def test_writing_constants_through_a_view_blocks_the_gradient():
    x = rtorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    y[0:2].uniform_()
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]


def test_view_of_a_leaf_is_refused():
    w = rtorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match="a view of a leaf Variable that requires grad is being used in an in-place operation",
    ):
        w[0:2].mul_(2)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
        w.view(3).copy_(rtorch.zeros(3))
    with rtorch.no_grad():
        w[0:2].mul_(2)  # allowed without grad mode (an optimizer step)
    assert w.tolist() == [2.0, 4.0, 3.0]


def test_view_made_under_no_grad_cannot_be_written_with_grad_mode():
    x = rtorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    with rtorch.no_grad():
        v = y[0:2]
    with pytest.raises(
        RuntimeError,
        match="A view was created in no_grad mode and is being modified inplace with grad mode enabled",
    ):
        v.add_(1)
    buf = rtorch.zeros(3)
    with rtorch.no_grad():
        u = buf[0:2]
    with pytest.raises(RuntimeError, match="created in no_grad mode"):
        u.copy_(rtorch.ones(2, requires_grad=True))
    u.add_(1)  # nothing requires grad: allowed
    assert buf.tolist() == [1.0, 1.0, 0.0]


def test_detach_in_place_on_a_view_is_refused():
    y = rtorch.ones(3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="Can't detach views in-place"):
        y[1:].detach_()


def test_saved_tensor_check_sees_writes_through_views():
    x = rtorch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y * y  # saves y
    y[0:1].mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_rnn_loop_memory_does_not_grow():
    x = rtorch.ones(8, requires_grad=True)
    before = rtorch._C._live_nodes()
    for _ in range(200):
        out = rtorch.zeros(4, 8)
        for t in range(4):
            out[t] = x * t
        out.sum().backward()
    del out
    assert rtorch._C._live_nodes() == before
    assert x.grad.tolist() == [200.0 * 6] * 8


def test_plain_views_without_grad_are_unaffected():
    a = rtorch.arange(6.0).view(2, 3)
    a[0].mul_(2)
    a.t()[2].add_(1)
    assert a.tolist() == [[0.0, 2.0, 5.0], [3.0, 4.0, 6.0]]
    assert not a.requires_grad and a.grad_fn is None
    assert a[0]._base is not None


@pytest.mark.parametrize("base_grad", [False, True])
def test_copy_slices_gradient_region_from_any_gradient_layout(base_grad):
    # The written region's gradient is read straight from the incoming gradient when the
    # view is a box of the base (slices with step 1), whatever that gradient's layout:
    # an expanded one (sum), a transposed one, and a step-2 view (another path).
    rng = np.random.default_rng(3)
    w = rng.standard_normal((6, 5, 4))
    cases = [
        (lambda t: t[1:4, :, 2:], (3, 5, 2), lambda o: o.sum(), np.ones((6, 5, 4))),
        (lambda t: t[2:5, 1:3], (3, 2, 4), lambda o: (o * rtorch.tensor(w)).sum(), w),
        (
            lambda t: t[:, ::2, 1:3],
            (6, 3, 2),
            lambda o: o.permute(2, 0, 1).sum(),
            np.ones((6, 5, 4)),
        ),
    ]
    for view, shape, loss, g in cases:
        base = rtorch.zeros(6, 5, 4, dtype=rtorch.float64, requires_grad=base_grad).clone()
        x = rtorch.tensor(rng.standard_normal(shape), requires_grad=True)
        view(base).copy_(x)
        loss(base).backward()
        want = view(rtorch.tensor(g)).numpy()
        np.testing.assert_array_equal(x.grad.numpy(), want)
