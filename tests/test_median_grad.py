"""Gradients of ``median`` / ``nanmedian``: without ``dim`` PyTorch shares the gradient
evenly among the elements tied at the median (among the NaNs when the median is NaN);
with ``dim`` it goes wholly to the element at the returned index."""

import math

import numpy as np
import pytest

import rtorch

INF = math.inf
NAN = math.nan


def _even_share(values: list[float], median: float) -> np.ndarray:
    # Reference: 1/k on each of the k elements equal to the median (or NaN when it is NaN).
    x = np.array(values, dtype=np.float64)
    ties = np.isnan(x) if math.isnan(median) else x == median
    return ties / ties.sum()


@pytest.mark.parametrize(
    "values",
    [
        [1.0, 2.0, 2.0, 3.0],
        [2.0, 2.0, 2.0, 1.0],
        [5.0, 5.0],
        [4.0],
        [INF, INF, 1.0],
        [-INF, -INF, INF],
        [1.0, NAN, NAN],
        [3.0, 1.0, 2.0, 2.0, NAN],
    ],
)
@pytest.mark.parametrize("method", [True, False])
def test_median_all_shares_gradient_among_ties(values, method):
    x = rtorch.tensor(values, dtype=rtorch.float64, requires_grad=True)
    y = x.median() if method else rtorch.median(x)
    arr = np.array(values)
    expected = np.nan if np.isnan(arr).any() else np.sort(arr)[(len(arr) - 1) // 2]
    np.testing.assert_equal(y.item(), expected)
    (3.0 * y).backward()
    np.testing.assert_allclose(x.grad.numpy(), 3.0 * _even_share(values, expected), 1e-7, 1e-7)


@pytest.mark.parametrize(
    "values, expected",
    [
        ([1.0, 2.0, 2.0, 3.0], 2.0),
        ([1.0, NAN, NAN], 1.0),
        ([3.0, 1.0, 2.0, 2.0, NAN], 2.0),
        ([1.0, INF, INF, NAN], INF),
        ([NAN, NAN], NAN),
    ],
)
def test_nanmedian_all_shares_gradient_among_ties(values, expected):
    x = rtorch.tensor(values, dtype=rtorch.float32, requires_grad=True)
    y = x.nanmedian()
    np.testing.assert_equal(y.item(), expected)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), _even_share(values, expected), 1.3e-6, 1e-5)


def test_median_all_non_contiguous_2d():
    base = rtorch.tensor([[1.0, 2.0, 7.0], [2.0, 1.0, 2.0]], requires_grad=True)
    y = base.t().median()  # a transposed view
    assert y.item() == 2.0
    y.backward()
    np.testing.assert_allclose(base.grad.numpy(), [[0, 1 / 3, 0], [1 / 3, 0, 1 / 3]], 1.3e-6, 1e-5)


def test_median_with_dim_sends_gradient_to_index():
    x = rtorch.tensor([[1.0, 2.0, 2.0, 3.0], [2.0, 2.0, 2.0, 1.0]], requires_grad=True)
    values, indices = x.median(dim=1)
    values.sum().backward()
    expected = np.zeros((2, 4))
    expected[np.arange(2), indices.numpy()] = 1.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    assert x.grad.sum().item() == 2.0  # one element per row, not shared


def test_median_without_grad_and_integer_input():
    assert rtorch.tensor([3, 1, 2, 2]).median().item() == 2
    x = rtorch.tensor([1.0, 2.0, 2.0], requires_grad=True)
    with rtorch.no_grad():
        y = x.median()
    assert not y.requires_grad and y.item() == 2.0
    v, i = rtorch.median(rtorch.tensor([[3.0, 1.0, 2.0]]), 1, True)
    assert v.tolist() == [[2.0]] and i.tolist() == [[2]]


def test_median_all_grad_fn_and_double_backward():
    x = rtorch.tensor([1.0, 2.0, 2.0, 3.0], dtype=rtorch.float64, requires_grad=True)
    y = x.median()
    assert y.grad_fn.name() == "MedianBackward0"
    assert x.nanmedian().grad_fn.name() == "NanmedianBackward0"
    w = rtorch.tensor(2.0, dtype=rtorch.float64, requires_grad=True)
    (g,) = rtorch.autograd.grad(y * w, x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [0.0, 1.0, 1.0, 0.0])
    # d(sum g)/dw = sum of the shares = 1
    (gw,) = rtorch.autograd.grad(g.sum(), w)
    assert gw.item() == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["median", "nanmedian"])
def test_median_grad_matches_torch(name):
    torch = pytest.importorskip("torch")
    values = [[2.0, NAN, 1.0, 2.0], [2.0, 5.0, 2.0, NAN]]
    for rows in (values, [[2.0, 1.0, 2.0], [INF, 2.0, 0.0]]):
        xt = torch.tensor(rows, requires_grad=True)
        xr = rtorch.tensor(rows, requires_grad=True)
        getattr(xt, name)().backward()
        getattr(xr, name)().backward()
        np.testing.assert_array_equal(xr.grad.numpy(), xt.grad.numpy())
