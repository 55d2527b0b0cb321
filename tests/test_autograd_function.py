"""Custom ``rtorch.autograd.Function``s."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import rtorch
from rtorch.autograd import Function, gradcheck, gradgradcheck


def t64(values, requires_grad=True):
    return rtorch.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def np_of(t):
    return np.array(t.detach().tolist(), dtype=np.float64)


def version(t) -> int:
    v = t._version  # a property in PyTorch
    return v() if callable(v) else v


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


class ScaleBy(Function):
    """A non-tensor argument: backward returns None for it."""

    @staticmethod
    def forward(ctx, x, k, name):
        ctx.k = k
        ctx.name = name
        return x * k

    @staticmethod
    def backward(ctx, g):
        return g * ctx.k, None, None


def test_forward_backward_and_grad_fn_name():
    x = t64([1.0, -2.0, 3.0])
    y = Cube.apply(x)
    assert y.grad_fn.name() == "CubeBackward"
    assert y.requires_grad and not y.is_leaf
    y.sum().backward()
    np.testing.assert_allclose(np_of(x.grad), 3 * np.array([1.0, 4.0, 9.0]))


def test_forward_runs_without_grad():
    seen = {}

    class Spy(Function):
        @staticmethod
        def forward(ctx, x):
            seen["grad"] = rtorch.is_grad_enabled()
            y = x * 2
            seen["y_requires_grad"] = y.requires_grad
            return y

        @staticmethod
        def backward(ctx, g):
            return g * 2

    Spy.apply(t64([1.0]))
    assert seen == {"grad": False, "y_requires_grad": False}


def test_non_tensor_args_and_ctx_attributes():
    x = t64([1.0, 2.0])
    y = ScaleBy.apply(x, 2.5, "s")
    y.sum().backward()
    np.testing.assert_allclose(np_of(x.grad), [2.5, 2.5])
    assert gradcheck(lambda a: ScaleBy.apply(a, 3.0, "t"), (t64([0.3, 0.7]),))


def test_needs_input_grad():
    seen = {}

    class F(Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen["needs"] = ctx.needs_input_grad
            return a * b * k

        @staticmethod
        def backward(ctx, g):
            return g, None, None

    F.apply(t64([1.0]), t64([2.0], requires_grad=False), 3)
    assert seen["needs"] == (True, False, False)


def test_no_graph_when_no_input_requires_grad():
    y = Cube.apply(t64([2.0], requires_grad=False))
    assert not y.requires_grad and y.grad_fn is None
    with rtorch.no_grad():
        y = Cube.apply(t64([2.0]))
    assert y.grad_fn is None


def test_multiple_outputs_and_non_differentiable():
    class SumAndCount(Function):
        @staticmethod
        def forward(ctx, x):
            s = x * 2
            n = rtorch.tensor([x.numel()])
            ctx.mark_non_differentiable(n)
            return s, n, x * 3

        @staticmethod
        def backward(ctx, gs, gn, g3):
            assert gn is not None  # materialized zeros
            return gs * 2 + g3 * 3

    x = t64([1.0, 2.0])
    s, n, t = SumAndCount.apply(x)
    assert not n.requires_grad
    assert s.grad_fn.name() == "SumAndCountBackward"
    assert s._output_nr == 0 and t._output_nr == 2
    (s.sum() + t.sum()).backward()
    np.testing.assert_allclose(np_of(x.grad), [5.0, 5.0])
    x.grad = None
    s, n, t = SumAndCount.apply(x)
    s.sum().backward()  # the unused output's gradient arrives as zeros
    np.testing.assert_allclose(np_of(x.grad), [2.0, 2.0])


def test_set_materialize_grads_false():
    seen = []

    class Two(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            seen.append((g1 is None, g2 is None))
            out = None
            for g, k in ((g1, 2), (g2, 3)):
                if g is not None:
                    out = g * k if out is None else out + g * k
            return out

    x = t64([1.0])
    a, _b = Two.apply(x)
    a.sum().backward()
    assert seen == [(False, True)]
    np.testing.assert_allclose(np_of(x.grad), [2.0])


def test_mark_dirty():
    class AddOneInplace(Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    leaf = t64([1.0, 2.0])
    a = leaf * 2
    v0 = version(a)
    b = AddOneInplace.apply(a)
    assert b is a
    assert version(a) > v0
    assert a.grad_fn.name() == "AddOneInplaceBackward"
    (b * b).sum().backward()
    np.testing.assert_allclose(np_of(leaf.grad), 2 * 2 * np.array([3.0, 5.0]))
    with pytest.raises(
        RuntimeError,
        match="a leaf Variable that requires grad has been used in an in-place operation",
    ):
        AddOneInplace.apply(t64([1.0]))


def test_returning_an_input_makes_a_new_tensor():
    class Ident(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5

    x = t64([1.0])
    y = Ident.apply(x)
    assert y is not x and y.grad_fn.name() == "IdentBackward"
    y.sum().backward()
    np.testing.assert_allclose(np_of(x.grad), [5.0])


def test_wrong_number_of_gradients():
    class F(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(
        RuntimeError,
        match=r"function FBackward returned an incorrect number of gradients \(expected 2, got 1\)",
    ):
        F.apply(t64([1.0, 2.0]), 2).sum().backward()


def test_gradient_for_non_tensor_input():
    class G(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(
        RuntimeError,
        match="returned a gradient different than None at position 2, but the corresponding forward input was not a Variable",
    ):
        G.apply(t64([1.0, 2.0]), 2).sum().backward()


def test_extra_none_gradients_allowed():
    class H(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, None, None

    x = t64([1.0, 2.0])
    H.apply(x).sum().backward()
    np.testing.assert_allclose(np_of(x.grad), [2.0, 2.0])


def test_gradient_shape_checked_and_summed():
    class BadShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return rtorch.ones(3, dtype=rtorch.float64)

    class Broadcastable(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return rtorch.ones(3, 2, dtype=rtorch.float32)

    x = t64([1.0, 2.0])
    with pytest.raises(
        RuntimeError,
        match=r"Function BadShapeBackward returned an invalid gradient at index 0 - got \[3\] but expected shape compatible with \[2\]",
    ):
        BadShape.apply(x).sum().backward()
    Broadcastable.apply(x).sum().backward()
    assert x.grad.dtype == rtorch.float64
    np.testing.assert_allclose(np_of(x.grad), [3.0, 3.0])


def test_backward_exception_propagates():
    class Boom(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom in backward")

    with pytest.raises(ValueError, match="boom in backward"):
        Boom.apply(t64([1.0])).sum().backward()


def test_saved_tensors_version_check():
    x = t64([1.0, 2.0])
    a = x * 1
    y = Cube.apply(a)
    with rtorch.no_grad():
        a.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_saved_tensors_freed_after_backward():
    seen = {}

    class Keep(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            seen["ctx"] = ctx
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    y = Keep.apply(t64([1.0]))
    y.sum().backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        _ = seen["ctx"].saved_tensors
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.sum().backward()


def test_save_output_and_none():
    class ExpLike(Function):
        """y = x*x saved as output; backward uses y and x via saved tensors."""

        @staticmethod
        def forward(ctx, x):
            y = x * x
            ctx.save_for_backward(y, None, x)
            return y

        @staticmethod
        def backward(ctx, g):
            y, none, x = ctx.saved_tensors
            assert none is None
            return g * 2 * y / x

    x = t64([1.5, -2.0])
    assert gradcheck(ExpLike.apply, (x,))
    y = ExpLike.apply(x)
    with rtorch.no_grad():
        y.mul_(1.0)
    with pytest.raises(RuntimeError, match=r"which is output 0 of ExpLike,"):
        y.sum().backward()


def test_double_backward_through_function():
    x = t64([0.5, 1.5, -1.0])
    y = Cube.apply(x).sum()
    (g,) = rtorch.autograd.grad(y, [x], create_graph=True)
    (h,) = rtorch.autograd.grad(g.sum(), [x])
    np.testing.assert_allclose(np_of(h), 6 * np.array([0.5, 1.5, -1.0]))
    assert gradgradcheck(Cube.apply, (t64([0.5, -1.25]),))


def test_once_differentiable():
    class Once(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @rtorch.autograd.function.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x

    x = t64([1.0, 2.0])
    (g,) = rtorch.autograd.grad(Once.apply(x).sum(), [x], create_graph=True)
    assert not g.requires_grad
    np.testing.assert_allclose(np_of(g), [2.0, 4.0])


def test_setup_context_style():
    class Mul(Function):
        @staticmethod
        def forward(a, b):
            return a * b

        @staticmethod
        def setup_context(ctx, inputs, output):
            a, b = inputs
            ctx.save_for_backward(a, b)

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return g * b, g * a

    a, b = t64([1.0, 2.0]), t64([3.0, 4.0])
    assert gradcheck(Mul.apply, (a, b))
    Mul.apply(a, b).sum().backward()
    np.testing.assert_allclose(np_of(a.grad), [3.0, 4.0])


def test_function_nodes_are_freed():
    x = t64([1.0, 2.0])
    Cube.apply(x).sum().backward()
    gc.collect()
    base = rtorch._C._live_nodes()
    for _ in range(100):
        Cube.apply(x).sum().backward()
        ScaleBy.apply(x, 2.0, "n")
    gc.collect()
    assert rtorch._C._live_nodes() == base


def test_legacy_instance_call_rejected():
    with pytest.raises(
        RuntimeError, match="Legacy autograd function with non-static forward method is deprecated"
    ):
        Cube()(t64([1.0]))
