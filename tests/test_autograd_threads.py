"""Autograd under threads (issue 7): gradient accumulation into a shared leaf is
serialized, and a backward that re-enters its own node raises instead of deadlocking."""

import threading

import pytest

import rtorch


def test_concurrent_backward_into_one_leaf_loses_nothing():
    # Large enough that the add runs long with the GIL released, small enough to be fast.
    w = rtorch.zeros(100_000, dtype=rtorch.float64, requires_grad=True)
    n_threads, n_iter = 4, 25
    errors = []

    def work():
        try:
            for _ in range(n_iter):
                (w * 1.0).sum().backward()
        except Exception as e:  # noqa: BLE001 (reported by the main thread)
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    expected = float(n_threads * n_iter)
    g = w.grad
    assert float(g.min()) == expected and float(g.max()) == expected


class _Reenter(rtorch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2.0

    @staticmethod
    def backward(ctx, g):
        # Runs a backward pass through the graph that contains this very node.
        with rtorch.enable_grad():
            _Reenter.graph_output.sum().backward(retain_graph=True)
        return g * 2.0


def test_backward_reentering_its_own_node_raises():
    x = rtorch.ones(3, requires_grad=True)
    y = _Reenter.apply(x)
    _Reenter.graph_output = y
    result = {}

    def run():
        try:
            y.sum().backward(retain_graph=True)
            result["ok"] = True
        except RuntimeError as e:
            result["error"] = str(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(30)
    assert not t.is_alive(), "backward deadlocked re-entering its own node"
    assert "re-entered itself" in result.get("error", "")
    del _Reenter.graph_output


def test_reentrant_backward_of_another_graph_still_works():
    class Inner(rtorch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 3.0

        @staticmethod
        def backward(ctx, g):
            z = rtorch.ones(2, requires_grad=True)
            with rtorch.enable_grad():
                (z * z).sum().backward()  # a separate graph: fine
            assert z.grad.tolist() == [2.0, 2.0]
            return g * 3.0

    x = rtorch.ones(2, requires_grad=True)
    Inner.apply(x).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("n", [1, 3])
def test_threads_on_separate_leaves(n):
    leaves = [rtorch.ones(10, requires_grad=True) for _ in range(n)]

    def work(leaf):
        for _ in range(10):
            (leaf * 2.0).sum().backward()

    ts = [threading.Thread(target=work, args=(leaf,)) for leaf in leaves]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    for leaf in leaves:
        assert leaf.grad.tolist() == [20.0] * 10
