"""`out=` on factory functions (zeros, ones, full, arange, range, linspace, logspace,
eye, rand, randn, randint, randperm, normal) and on bernoulli, multinomial and norm:
the values land in `out`, which is returned, resized when its shape differs (silently
for a factory), and a factory fills `out` in `out`'s own dtype (another `dtype` is an
error). (These used to ignore `out`
and return a new tensor.) Expected values are closed forms; PyTorch 2.x gives the
same."""

from __future__ import annotations

import warnings

import pytest

import rtorch


def test_constant_factories_write_into_out() -> None:
    y = rtorch.ones(3)
    assert rtorch.zeros(3, out=y) is y and y.tolist() == [0.0, 0.0, 0.0]
    assert rtorch.empty(3, out=y) is y
    assert rtorch.full((3,), 7.0, out=y) is y and y.tolist() == [7.0, 7.0, 7.0]
    e = rtorch.ones(2, 2)
    assert rtorch.eye(2, out=e) is e and e.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    # A factory resizes out silently, empty or not.
    z, w = rtorch.empty(0), rtorch.ones(4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert rtorch.ones(2, 3, out=z).shape == (2, 3) and z.shape == (2, 3)
        assert rtorch.zeros(2, out=w) is w
    assert w.tolist() == [0.0, 0.0]


def test_factories_take_outs_dtype_unless_given() -> None:
    y = rtorch.ones(2, dtype=rtorch.int64)
    assert rtorch.zeros(2, out=y).dtype == rtorch.int64 and y.tolist() == [0, 0]
    assert rtorch.arange(2, out=y) is y and y.tolist() == [0, 1]
    f = rtorch.ones(3)
    assert rtorch.full((3,), 7, out=f).dtype == rtorch.float32 and f.tolist() == [7.0] * 3
    with pytest.raises(
        RuntimeError, match=r"dtype Float does not match dtype of out parameter \(Long\)"
    ):
        rtorch.zeros(2, dtype=rtorch.float32, out=rtorch.ones(2, dtype=rtorch.int64))


def test_ranges_write_into_out() -> None:
    y = rtorch.ones(5)
    assert rtorch.linspace(0, 1, 5, out=y) is y
    assert y.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    g = rtorch.ones(4)
    assert rtorch.logspace(0, 3, 4, out=g) is g and g.tolist() == [1.0, 10.0, 100.0, 1000.0]
    r = rtorch.ones(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.range's deprecation
        assert rtorch.range(0, 2, out=r) is r
    assert r.tolist() == [0.0, 1.0, 2.0]


def test_random_factories_write_into_out() -> None:
    rtorch.manual_seed(0)
    y = rtorch.ones(1000)
    assert rtorch.rand(1000, out=y) is y
    assert 0.0 <= y.min().item() and y.max().item() < 1.0
    assert rtorch.randn(1000, out=y) is y and y.min().item() < 0.0
    assert rtorch.normal(5.0, 1e-3, (1000,), out=y) is y
    assert abs(y.mean().item() - 5.0) < 1e-3
    i = rtorch.ones(100, dtype=rtorch.int64)
    assert rtorch.randint(3, 7, (100,), out=i) is i
    assert set(i.tolist()) <= {3, 4, 5, 6}
    p = rtorch.ones(50, dtype=rtorch.int64)
    assert rtorch.randperm(50, out=p) is p and sorted(p.tolist()) == list(range(50))


def test_bernoulli_multinomial_and_norm_write_into_out() -> None:
    y = rtorch.ones(3)
    assert rtorch.bernoulli(rtorch.tensor([1.0, 1.0, 0.0]), out=y) is y
    assert y.tolist() == [1.0, 1.0, 0.0]
    m = rtorch.zeros(4, dtype=rtorch.int64)
    assert rtorch.multinomial(rtorch.tensor([0.0, 1.0]), 4, True, out=m) is m
    assert m.tolist() == [1, 1, 1, 1]
    n = rtorch.ones(())
    assert rtorch.norm(rtorch.tensor([3.0, 4.0]), out=n) is n and n.item() == 5.0
    with pytest.raises(RuntimeError, match="automatic differentiation"):
        rtorch.norm(rtorch.tensor([3.0, 4.0], requires_grad=True), out=rtorch.ones(()))
