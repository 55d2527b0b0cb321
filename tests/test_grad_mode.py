"""Grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode, threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import rtorch


def leaf():
    return rtorch.tensor(np.array([1.0, 2.0]), requires_grad=True)


def test_no_grad_context_and_decorator():
    x = leaf()
    with rtorch.no_grad():
        assert not rtorch.is_grad_enabled()
        y = x * 2
    assert rtorch.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @rtorch.no_grad()
    def f(t):
        return t * 2

    assert f(x).grad_fn is None


def test_enable_grad_inside_no_grad():
    x = leaf()
    with rtorch.no_grad():
        with rtorch.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad


def test_set_grad_enabled_function_and_context():
    x = leaf()
    with rtorch.set_grad_enabled(False):
        assert (x * 2).grad_fn is None
    assert rtorch.is_grad_enabled()
    rtorch.set_grad_enabled(False)
    try:
        assert not rtorch.is_grad_enabled()
    finally:
        rtorch.set_grad_enabled(True)


def test_inference_mode():
    x = leaf()
    with rtorch.inference_mode():
        assert rtorch.is_inference_mode_enabled()
        assert (x * 2).grad_fn is None
    assert not rtorch.is_inference_mode_enabled()
    with rtorch.inference_mode(False):
        assert (x * 2).grad_fn is not None


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError), rtorch.no_grad():
        raise ValueError
    assert rtorch.is_grad_enabled()


def test_grad_mode_is_thread_local():
    results = {}
    start = threading.Barrier(2)

    def worker_no_grad():
        with rtorch.no_grad():
            start.wait()
            results["worker_enabled"] = rtorch.is_grad_enabled()
            results["worker_graph"] = (leaf() * 2).grad_fn is not None
            start.wait()

    def main_side():
        start.wait()
        results["main_enabled"] = rtorch.is_grad_enabled()
        results["main_graph"] = (leaf() * 2).grad_fn is not None
        start.wait()

    t = threading.Thread(target=worker_no_grad)
    t.start()
    main_side()
    t.join()
    assert results == {
        "worker_enabled": False,
        "worker_graph": False,
        "main_enabled": True,
        "main_graph": True,
    }


def test_new_thread_starts_with_grad_enabled():
    seen = []
    with rtorch.no_grad():
        th = threading.Thread(target=lambda: seen.append(rtorch.is_grad_enabled()))
        th.start()
        th.join()
    assert seen == [True]


def test_backward_in_threads():
    errors = []

    def work(k):
        try:
            for _ in range(50):
                x = rtorch.tensor(np.array([float(k), 1.0]), requires_grad=True)
                (x * x).sum().backward()
                assert x.grad.tolist() == [2.0 * k, 2.0]
        except (AssertionError, RuntimeError) as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
