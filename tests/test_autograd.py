"""The autograd engine: backward/grad options, hooks, errors, higher order, memory."""

from __future__ import annotations

import gc
import warnings

import numpy as np
import pytest

import rtorch
from rtorch.autograd import GradcheckError, gradcheck, gradgradcheck


def t64(values, requires_grad=True):
    return rtorch.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def np_of(t):
    return np.array(t.detach().tolist(), dtype=np.float64)


# ----- backward / grad basics -----


def test_backward_accumulates_into_leaves():
    w = t64([1.0, 2.0, 3.0, 4.0])
    a = t64([0.5, -1.0, 2.0, 3.0], requires_grad=False)
    b = t64([0.1, 0.2, 0.3, 0.4])
    for _ in range(2):
        ((w * a + b).sum()).backward()
    np.testing.assert_allclose(np_of(w.grad), 2 * np.array([0.5, -1.0, 2.0, 3.0]))
    np.testing.assert_allclose(np_of(b.grad), [2.0] * 4)
    assert a.grad is None


def test_first_grad_is_never_reachable_elsewhere():
    # A gradient nothing else holds becomes `.grad` as it is (no copy); one that the
    # caller or a hook still holds, or a piece of a larger buffer, is copied.
    a = t64([1.0, 2.0, 3.0])
    g = t64([1.0, 1.0, 1.0], requires_grad=False)
    (a + 0).backward(g)  # add's backward passes `g` itself on
    g.add_(5.0)
    assert np_of(a.grad).tolist() == [1.0, 1.0, 1.0]

    b = t64([1.0, 2.0])
    seen = []
    b.register_hook(seen.append)
    (b * 3).sum().backward()
    seen[0].add_(1.0)
    assert np_of(b.grad).tolist() == [3.0, 3.0]

    # cat's backward hands each input a view of one gradient buffer.
    c, d = t64([1.0, 2.0]), t64([3.0, 4.0, 5.0])
    (rtorch.cat([c, d]) * t64([1, 2, 3, 4, 5], requires_grad=False)).sum().backward()
    assert np_of(c.grad).tolist() == [1.0, 2.0] and np_of(d.grad).tolist() == [3.0, 4.0, 5.0]
    assert c.grad.untyped_storage().nbytes() == 2 * 8
    assert d.grad.untyped_storage().nbytes() == 3 * 8


def test_grad_returns_tuple_and_does_not_touch_grad():
    x = t64([1.0, 2.0])
    y = t64([3.0, 4.0])
    gx, gy = rtorch.autograd.grad((x * y).sum(), [x, y])
    np.testing.assert_allclose(np_of(gx), [3.0, 4.0])
    np.testing.assert_allclose(np_of(gy), [1.0, 2.0])
    assert x.grad is None and y.grad is None


def test_grad_outputs_and_broadcast():
    x = t64([[1.0, 2.0, 3.0]])  # (1, 3) broadcast against (2, 1)
    y = t64([[2.0], [5.0]])
    z = x * y
    go = t64([[1.0, 0.0, 2.0], [0.5, 1.0, 1.0]], requires_grad=False)
    gx, gy = rtorch.autograd.grad(z, [x, y], grad_outputs=go)
    np.testing.assert_allclose(np_of(gx), [[2.0 + 2.5, 5.0, 4.0 + 5.0]])
    np.testing.assert_allclose(np_of(gy), [[1.0 + 6.0], [0.5 + 2.0 + 3.0]])


def test_allow_unused_and_materialize():
    x = t64([1.0, 2.0])
    u = t64([3.0])
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        rtorch.autograd.grad((x * 2).sum(), [x, u])
    _, gu = rtorch.autograd.grad((x * 2).sum(), [x, u], allow_unused=True)
    assert gu is None
    _gx, gu = rtorch.autograd.grad((x * 2).sum(), [x, u], materialize_grads=True)
    np.testing.assert_allclose(np_of(gu), [0.0])
    with pytest.raises(ValueError, match="Expected allow_unused to be True"):
        rtorch.autograd.grad((x * 2).sum(), [x], allow_unused=False, materialize_grads=True)


def test_grad_of_input_not_requiring_grad():
    x = t64([1.0, 2.0])
    with pytest.raises(
        RuntimeError, match="One of the differentiated Tensors does not require grad"
    ):
        rtorch.autograd.grad((x * 2).sum(), [t64([1.0, 2.0], requires_grad=False)])


def test_retain_graph_and_second_backward_error():
    x = t64([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(np_of(x.grad), [4.0, 8.0])
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_backward_nonscalar_needs_gradient():
    x = t64([1.0, 2.0])
    with pytest.raises(
        RuntimeError, match="grad can be implicitly created only for scalar outputs"
    ):
        (x * 2).backward()
    (x * 2).backward(t64([1.0, 3.0], requires_grad=False))
    np.testing.assert_allclose(np_of(x.grad), [2.0, 6.0])


def test_backward_without_grad_fn():
    x = t64([1.0], requires_grad=False)
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        x.sum().backward()


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(
        RuntimeError, match="only Tensors of floating point dtype can require gradients"
    ):
        rtorch.tensor([1, 2]).requires_grad_()


def test_inplace_on_leaf_requiring_grad():
    x = t64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        x.mul_(2)
    with rtorch.no_grad():
        x.mul_(2)  # allowed under no_grad
    np.testing.assert_allclose(np_of(x), [2.0, 4.0])


def test_saved_tensor_modified_inplace():
    x = t64([1.0, 2.0])
    a = x * 2
    b = a * a
    a.add_(1)
    with pytest.raises(RuntimeError) as e:
        b.sum().backward()
    msg = str(e.value)
    assert (
        "one of the variables needed for gradient computation has been modified by an inplace operation"
        in msg
    )
    assert "[torch.DoubleTensor [2]], which is output 0 of Add," in msg
    assert "is at version 1; expected version 0 instead" in msg


def test_backward_inputs_argument():
    x = t64([1.0, 2.0])
    y = t64([3.0, 4.0])
    (x * y).sum().backward(inputs=[x])
    np.testing.assert_allclose(np_of(x.grad), [3.0, 4.0])
    assert y.grad is None
    h = x * 2
    h.retain_grad()
    (h * y).sum().backward(inputs=[h])
    assert x.grad is not None  # from the first backward only
    np.testing.assert_allclose(np_of(h.grad), [3.0, 4.0])


def test_create_graph_backward_keeps_grad_history():
    x = t64([1.0, 2.0])
    (x * x * x).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (g,) = rtorch.autograd.grad(x.grad.sum(), [x])
    np.testing.assert_allclose(np_of(g), 6 * np.array([1.0, 2.0]))


# ----- non-leaf .grad, retain_grad -----


def test_nonleaf_grad_warns_unless_retained():
    x = t64([1.0, 2.0])
    y = x * 2
    z = y * 3
    z.sum().backward(retain_graph=True)
    with pytest.warns(UserWarning, match="is not a leaf Tensor is being accessed"):
        assert y.grad is None
    y.retain_grad()
    assert y.retains_grad
    z.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(np_of(y.grad), [3.0, 3.0])


# ----- tensor hooks -----


def test_hook_replaces_gradient_on_leaf_and_nonleaf():
    x = t64([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: g * 10)
    y = x * 3
    y.register_hook(lambda g: seen.append(np_of(g)) or g * 2)
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [1.0, 1.0])
    np.testing.assert_allclose(np_of(x.grad), [60.0, 60.0])


def test_hook_handle_remove():
    x = t64([1.0, 2.0])
    h = x.register_hook(lambda g: g * 10)
    h.remove()
    (x * 1).sum().backward()
    np.testing.assert_allclose(np_of(x.grad), [1.0, 1.0])
    y = x * 2
    with y.register_hook(lambda g: g * 0):
        pass
    y.sum().backward()
    np.testing.assert_allclose(np_of(x.grad), [3.0, 3.0])


def test_hook_on_tensor_not_requiring_grad():
    with pytest.raises(
        RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"
    ):
        t64([1.0], requires_grad=False).register_hook(lambda g: g)


def test_hook_exception_propagates_unchanged():
    x = t64([1.0, 2.0])

    def bad(g):
        raise KeyError("from hook")

    x.register_hook(bad)
    with pytest.raises(KeyError, match="from hook"):
        (x * 2).sum().backward()


def test_hooks_run_in_autograd_grad():
    x = t64([1.0, 2.0])
    x.register_hook(lambda g: g + 1)
    (g,) = rtorch.autograd.grad((x * 2).sum(), [x])
    np.testing.assert_allclose(np_of(g), [3.0, 3.0])


def test_post_accumulate_grad_hook():
    x = t64([1.0, 2.0])
    calls = []
    h = x.register_post_accumulate_grad_hook(lambda p: calls.append(np_of(p.grad)))
    (x * 2).sum().backward()
    (x * 2).sum().backward()
    np.testing.assert_allclose(calls[0], [2.0, 2.0])
    np.testing.assert_allclose(calls[1], [4.0, 4.0])
    h.remove()
    (x * 2).sum().backward()
    assert len(calls) == 2
    with pytest.raises(
        RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf"
    ):
        (x * 2).register_post_accumulate_grad_hook(lambda p: None)


# ----- graph nodes -----


def test_node_api():
    x = t64([1.0, 2.0])
    y = x * 2
    z = (y + x).sum()
    assert z.grad_fn.name().startswith("SumBackward")
    ((add, nr),) = z.grad_fn.next_functions
    assert add.name() == "AddBackward0" and nr == 0
    names = [n.name() if n is not None else None for n, _ in add.next_functions]
    assert names == ["MulBackward0", "AccumulateGrad"]
    assert add.next_functions[1][0].variable._cdata == x._cdata
    assert isinstance(z.grad_fn, rtorch.autograd.graph.Node)
    z.grad_fn.metadata["k"] = 1
    assert z.grad_fn.metadata == {"k": 1}


def test_node_hooks():
    x = t64([1.0, 2.0])
    y = x * 3
    seen = {}

    def pre(grad_outputs):
        seen["pre"] = np_of(grad_outputs[0])
        return (grad_outputs[0] * 2,)

    def post(grad_inputs, grad_outputs):
        seen["post"] = (np_of(grad_inputs[0]), np_of(grad_outputs[0]))

    h1 = y.grad_fn.register_prehook(pre)
    y.grad_fn.register_hook(post)
    y.sum().backward(retain_graph=True)
    np.testing.assert_allclose(seen["pre"], [1.0, 1.0])
    np.testing.assert_allclose(seen["post"][0], [6.0, 6.0])
    np.testing.assert_allclose(np_of(x.grad), [6.0, 6.0])
    h1.remove()
    x.grad = None
    y.sum().backward()
    np.testing.assert_allclose(np_of(x.grad), [3.0, 3.0])


# ----- higher order -----


def test_third_derivative_of_cube():
    x = t64([0.5, -2.0, 3.0])
    y = (x * x * x).sum()
    (g1,) = rtorch.autograd.grad(y, [x], create_graph=True)
    (g2,) = rtorch.autograd.grad(g1.sum(), [x], create_graph=True)
    (g3,) = rtorch.autograd.grad(g2.sum(), [x])
    xv = np.array([0.5, -2.0, 3.0])
    np.testing.assert_allclose(np_of(g1), 3 * xv**2)
    np.testing.assert_allclose(np_of(g2), 6 * xv)
    np.testing.assert_allclose(np_of(g3), [6.0, 6.0, 6.0])


def test_second_derivative_through_div():
    x = t64([0.5, 2.0])
    y = (1.0 / x).sum()
    (g,) = rtorch.autograd.grad(y, [x], create_graph=True)
    (h,) = rtorch.autograd.grad(g.sum(), [x])
    xv = np.array([0.5, 2.0])
    np.testing.assert_allclose(np_of(g), -1 / xv**2)
    np.testing.assert_allclose(np_of(h), 2 / xv**3)


def test_mlp_like_hessian_vector_product():
    # f(w) = sum((w1 * x) * w2 * (w1 * x)) built from mul/sum; Hv by double backward.
    rng = np.random.default_rng(0)
    xv, w1v, w2v, v1, v2 = (rng.standard_normal(3) for _ in range(5))
    x = t64(xv, requires_grad=False)
    w1, w2 = t64(w1v), t64(w2v)
    h = w1 * x
    f = (h * w2 * h).sum()
    g1, g2 = rtorch.autograd.grad(f, [w1, w2], create_graph=True)
    dot = (g1 * t64(v1, False)).sum() + (g2 * t64(v2, False)).sum()
    hv1, hv2 = rtorch.autograd.grad(dot, [w1, w2])
    # f = sum(w1^2 x^2 w2): H11 = 2 x^2 w2, H12 = 2 w1 x^2, H22 = 0 (diagonal blocks).
    np.testing.assert_allclose(np_of(hv1), 2 * xv**2 * w2v * v1 + 2 * w1v * xv**2 * v2)
    np.testing.assert_allclose(np_of(hv2), 2 * w1v * xv**2 * v1)


# ----- gradcheck -----


def test_gradcheck_noncontiguous_and_multiple_outputs():
    a = t64(np.arange(6.0).reshape(2, 3) + 1).t()  # non-contiguous (3, 2)
    b = t64(np.linspace(0.5, 1.5, 6).reshape(3, 2))
    assert not a.is_contiguous()
    assert gradcheck(lambda p, q: (p * q, p / q), (a, b))
    assert gradgradcheck(lambda p, q: p * q * p, (a, b))


def test_gradcheck_detects_wrong_gradient():
    class Wrong(rtorch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3

    x = t64([1.0, 2.0])
    with pytest.raises(
        GradcheckError, match="Jacobian mismatch for output 0 with respect to input 0"
    ):
        gradcheck(Wrong.apply, (x,))
    assert issubclass(GradcheckError, RuntimeError)
    assert gradcheck(Wrong.apply, (x,), raise_exception=False) is False


def test_gradcheck_needs_an_input_requiring_grad():
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        gradcheck(lambda x: x * 2, (t64([1.0], requires_grad=False),))


# ----- anomaly mode -----


def test_anomaly_mode_reports_nan_with_forward_name():
    class NanBack(rtorch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    x = t64([1.0, 2.0])
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        with rtorch.autograd.detect_anomaly():
            assert rtorch.autograd.is_anomaly_enabled()
            y = NanBack.apply(x).sum()
            with pytest.raises(
                RuntimeError,
                match=r"Function 'NanBackBackward' returned nan values in its 0th output.",
            ):
                y.backward()
    assert not rtorch.is_anomaly_enabled()
    texts = [str(w.message) for w in rec]
    assert any("Anomaly Detection has been enabled" in t for t in texts)
    tb = [t for t in texts if t.startswith("Error detected in NanBackBackward")]
    assert tb and "test_anomaly_mode_reports_nan_with_forward_name" in tb[0]
    # Outside anomaly mode NaN passes silently.
    NanBack.apply(x).sum().backward()


def test_set_detect_anomaly_function_and_check_nan():
    rtorch.autograd.set_detect_anomaly(True, check_nan=False)
    try:
        assert rtorch.autograd.is_anomaly_enabled()
        assert not rtorch.autograd.is_anomaly_check_nan_enabled()
        x = t64([0.0])
        (x / x).sum().backward()  # NaN gradient allowed without check_nan
    finally:
        rtorch.autograd.set_detect_anomaly(False)
    assert not rtorch.autograd.is_anomaly_enabled()


# ----- memory -----


def _graph_step(w, a, b):
    loss = ((w * a + b) * (w / a)).sum()
    loss.backward()


def test_live_nodes_return_to_baseline():
    w, b = t64([1.0, 2.0, 3.0, 4.0]), t64([0.1, 0.2, 0.3, 0.4])
    a = t64([1.0, 2.0, 3.0, 4.0], requires_grad=False)
    _graph_step(w, a, b)
    gc.collect()
    base = rtorch._C._live_nodes()
    for _ in range(200):
        _graph_step(w, a, b)
    gc.collect()
    assert rtorch._C._live_nodes() == base
    y = w * a
    assert rtorch._C._live_nodes() > base
    del y
    assert rtorch._C._live_nodes() == base


def test_saved_output_creates_no_cycle():
    class SaveOut(rtorch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    x = t64([1.0, 2.0])
    gc.collect()
    base = rtorch._C._live_nodes()
    for _ in range(50):
        y = SaveOut.apply(x)
        del y  # dropped without backward: the node must die with its output
    gc.collect()
    assert rtorch._C._live_nodes() == base
    y = SaveOut.apply(x)
    y.sum().backward()
    np.testing.assert_allclose(np_of(x.grad), [2.0, 4.0])
    del y
    gc.collect()
    assert rtorch._C._live_nodes() == base


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_training_loop_memory_is_flat():
    w, b = t64(np.ones(16)), t64(np.zeros(16))
    a = t64(np.linspace(1, 2, 16), requires_grad=False)
    for _ in range(500):
        _graph_step(w, a, b)
    gc.collect()
    before = _rss_mb()
    nodes = rtorch._C._live_nodes()
    for _ in range(10_000):
        _graph_step(w, a, b)
        w.grad = None
        b.grad = None
    gc.collect()
    assert rtorch._C._live_nodes() == nodes
    assert _rss_mb() - before < 4.0


def test_variable_shim_and_increment_version():
    from rtorch.autograd import Variable

    t = rtorch.ones(2, dtype=rtorch.float64)
    v = Variable(t, requires_grad=True)
    assert v is t and v.requires_grad and isinstance(t, Variable)
    a = t64([1.0, 2.0])
    y = a * 1
    z = y * y
    rtorch.autograd.graph.increment_version(y)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_multi_grad_hook_all():
    a, b = t64([1.0]), t64([2.0])
    got = []
    rtorch.autograd.graph.register_multi_grad_hook(
        (a, b), lambda gs: got.append([np_of(g) for g in gs])
    )
    (a * 3 + b * 5).sum().backward()
    assert len(got) == 1
    np.testing.assert_allclose(got[0][0], [3.0])
    np.testing.assert_allclose(got[0][1], [5.0])


def test_inplace_on_the_base_and_under_no_grad():
    x = rtorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    with rtorch.no_grad():
        y[1:].mul_(3)
    assert y.tolist() == [2.0, 12.0, 18.0]
    z = x * 2
    z.mul_(3)
    z.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0, 6.0]


# ----- split and chunk: one node for all the views -----


def test_split_and_chunk_record_one_node_named_as_pytorch():
    x = rtorch.randn(6, 4, requires_grad=True)
    parts = x.chunk(3)
    assert parts[0].grad_fn.name() == "SplitBackward0"
    assert parts[0].grad_fn == parts[2].grad_fn
    assert x.split(4)[1].grad_fn.name() == "SplitBackward0"
    assert x.split([1, 5])[1].grad_fn.name() == "SplitWithSizesBackward0"
    assert rtorch.split(x, 3, 1)[0].grad_fn.name() == "SplitBackward0"
    # tensor_split narrows view by view, as PyTorch's does.
    assert x.tensor_split(3)[0].grad_fn.name() == "SliceBackward0"


@pytest.mark.parametrize("dim", [0, 1])
def test_split_gradient_joins_the_pieces_and_zeros_the_unused(dim):
    rng = np.random.default_rng(5)
    base = rng.standard_normal((7, 6))
    # A transposed (non-contiguous) input, split into pieces of 2, 0, 3 and the rest.
    x = rtorch.tensor(base.T.copy(), requires_grad=True)
    xt = x.t()
    a, empty, b, _unused = xt.split([2, 0, 3, xt.shape[dim] - 5], dim)
    assert empty.shape[dim] == 0
    (
        a.sin().sum() + (b * 3).sum()
    ).backward()  # the last piece unused: its part of the gradient is 0
    want = np.zeros_like(base)
    index = [slice(None), slice(None)]
    index[dim] = slice(0, 2)
    want[tuple(index)] = np.cos(base[tuple(index)])
    index[dim] = slice(2, 5)
    want[tuple(index)] = 3.0
    np.testing.assert_allclose(x.grad.numpy(), want.T, rtol=1e-6, atol=1e-7)


def test_split_double_backward_and_inplace_on_a_piece():
    x = rtorch.tensor([0.5, -1.0, 2.0, 3.0], dtype=rtorch.float64, requires_grad=True)
    a, b = x.chunk(2)
    (g,) = rtorch.autograd.grad((a**3).sum() + (b**2).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [0.75, 3.0, 4.0, 6.0])
    (gg,) = rtorch.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), [3.0, -6.0, 2.0, 2.0])
    # A write into one piece of a non-leaf (PyTorch refuses it; rtorch records it as a
    # write through a view): the other piece's gradient still reaches x.
    y = x * 1.0
    p, _ = y.chunk(2)
    p.mul_(5.0)
    (y * y).sum().backward()
    v = x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), [50 * v[0], 50 * v[1], 2 * v[2], 2 * v[3]])
    assert gradcheck(
        lambda t: t.chunk(3, 0)[1] * t.chunk(3, 0)[2], (x[:3].detach().requires_grad_(),)
    )


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_unbind_records_one_node_and_stacks_the_gradients(dim):
    """unbind's views share one `UnbindBackward0` node (as PyTorch's); the input's
    gradient is one stack, zeros for the unused views; on a transposed input, along
    every dim; double backward and gradcheck through it."""
    rng = np.random.default_rng(6)
    base = rng.standard_normal((4, 3))
    x = rtorch.tensor(base.T.copy(), requires_grad=True)
    xt = x.t()
    views = xt.unbind(dim)
    assert len(views) == base.shape[dim]
    assert views[0].grad_fn.name() == "UnbindBackward0"
    assert views[0].grad_fn == views[-1].grad_fn
    (views[0].sin().sum() + (views[2] * 3).sum()).backward()  # the others unused
    want = np.zeros_like(base)
    index: list = [slice(None), slice(None)]
    index[dim] = 0
    want[tuple(index)] = np.cos(base[tuple(index)])
    index[dim] = 2
    want[tuple(index)] = 3.0
    np.testing.assert_allclose(x.grad.numpy(), want.T, rtol=1e-6, atol=1e-7)
    y = rtorch.tensor([[0.5, -1.0], [2.0, 3.0]], dtype=rtorch.float64, requires_grad=True)
    r0, r1 = y.unbind(0)
    (g,) = rtorch.autograd.grad((r0**3).sum() + (r1**2).sum(), y, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [[0.75, 3.0], [4.0, 6.0]])
    (gg,) = rtorch.autograd.grad(g.sum(), y)
    np.testing.assert_allclose(gg.numpy(), [[3.0, -6.0], [2.0, 2.0]])
    assert gradcheck(lambda t: t.unbind(1)[0] * t.unbind(1)[1], (y.detach().requires_grad_(),))
    assert rtorch.zeros(0, 3, requires_grad=True).unbind(0) == ()
