"""unique_consecutive: closed-form expectations and a numpy run-length reference."""

from __future__ import annotations

import numpy as np
import pytest

import rtorch


def _runs_numpy(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    flat = a.reshape(-1)
    if flat.size == 0:
        return flat, np.zeros(a.shape, np.int64), np.zeros(0, np.int64)
    start = np.concatenate([[True], flat[1:] != flat[:-1]])
    inverse = np.cumsum(start) - 1
    counts = np.diff(np.concatenate([np.flatnonzero(start), [flat.size]]))
    return flat[start], inverse.reshape(a.shape), counts


def test_flat() -> None:
    a = rtorch.tensor([1, 1, 2, 2, 3, 1, 1, 2])
    assert rtorch.unique_consecutive(a).tolist() == [1, 2, 3, 1, 2]
    out, inv, cnt = rtorch.unique_consecutive(a, return_inverse=True, return_counts=True)
    assert inv.tolist() == [0, 0, 1, 1, 2, 3, 3, 4] and cnt.tolist() == [2, 2, 1, 2, 1]
    out, cnt = a.unique_consecutive(return_counts=True)
    assert out.tolist() == [1, 2, 3, 1, 2] and cnt.tolist() == [2, 2, 1, 2, 1]
    assert cnt.dtype == rtorch.int64


@pytest.mark.parametrize("shape", [(50,), (7, 9), (3, 4, 5)])
def test_matches_numpy_runs(shape: tuple) -> None:
    a = np.random.default_rng(0).integers(0, 2, size=shape).astype(np.float32)
    out, inv, cnt = rtorch.unique_consecutive(
        rtorch.tensor(a), return_inverse=True, return_counts=True
    )
    w_out, w_inv, w_cnt = _runs_numpy(a)
    np.testing.assert_array_equal(out.numpy(), w_out)
    np.testing.assert_array_equal(inv.numpy(), w_inv)
    np.testing.assert_array_equal(cnt.numpy(), w_cnt)
    assert out.dtype == rtorch.float32


def test_dim() -> None:
    b = rtorch.tensor([[1, 1], [1, 1], [2, 3], [2, 3], [1, 1]])
    out, inv, cnt = rtorch.unique_consecutive(b, return_inverse=True, return_counts=True, dim=0)
    assert out.tolist() == [[1, 1], [2, 3], [1, 1]]
    assert inv.tolist() == [0, 0, 1, 1, 2] and cnt.tolist() == [2, 2, 1]
    out, inv, cnt = rtorch.unique_consecutive(b, return_inverse=True, return_counts=True, dim=1)
    assert out.tolist() == b.tolist() and inv.tolist() == [0, 1] and cnt.tolist() == [1, 1]
    c = rtorch.tensor([[[1, 2], [1, 2], [0, 0]], [[5, 5], [5, 5], [5, 6]]])
    out, cnt = rtorch.unique_consecutive(c, return_counts=True, dim=-2)
    assert out.tolist() == [[[1, 2], [0, 0]], [[5, 5], [5, 6]]] and cnt.tolist() == [2, 1]
    out, inv = rtorch.unique_consecutive(b.reshape(2, 5), return_inverse=True)
    assert out.tolist() == [1, 2, 3, 2, 3, 1] and inv.tolist() == [[0, 0, 0, 0, 1], [2, 3, 4, 5, 5]]


def test_edge_cases() -> None:
    out, inv, cnt = rtorch.unique_consecutive(
        rtorch.tensor([]), return_inverse=True, return_counts=True
    )
    assert out.shape == (0,) and inv.shape == (0,) and cnt.shape == (0,)
    assert inv.dtype == rtorch.int64
    out, inv, cnt = rtorch.unique_consecutive(
        rtorch.zeros(0, 2), return_inverse=True, return_counts=True, dim=0
    )
    assert out.shape == (0, 2) and inv.shape == (0,) and cnt.shape == (0,)
    out, inv, cnt = rtorch.unique_consecutive(
        rtorch.tensor(5), return_inverse=True, return_counts=True
    )
    assert out.tolist() == [5] and inv.dim() == 0 and inv.item() == 0 and cnt.tolist() == [1]
    nan = rtorch.unique_consecutive(rtorch.tensor([1.0, float("nan"), float("nan")]))
    assert nan.shape == (3,)  # NaN never equals NaN, as in PyTorch
    assert rtorch.unique_consecutive(rtorch.tensor([True, True, False])).tolist() == [True, False]
    with pytest.raises(IndexError, match=r"expected to be in range of \[-2, 1\], but got 2"):
        rtorch.unique_consecutive(rtorch.zeros(2, 2), dim=2)


def test_parity_with_torch() -> None:
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(1).integers(0, 2, size=(6, 4, 3))
    for dim in (None, 0, 1, 2):
        w = torch.unique_consecutive(torch.tensor(a), True, True, dim)
        g = rtorch.unique_consecutive(rtorch.tensor(a), True, True, dim)
        for x, y in zip(g, w):
            np.testing.assert_array_equal(x.numpy(), y.numpy())


@pytest.mark.parametrize(
    ("call", "node", "op"),
    [
        (lambda x: rtorch.unique(x), "Unique2Backward0", "_unique2"),
        (lambda x: x.unique(sorted=False, return_counts=True), "Unique2Backward0", "_unique2"),
        (
            lambda x: rtorch.unique(x, dim=0, return_inverse=True),
            "UniqueDimBackward0",
            "unique_dim",
        ),
        (
            lambda x: rtorch.unique_consecutive(x, return_inverse=True),
            "UniqueConsecutiveBackward0",
            "unique_consecutive",
        ),
    ],
)
def test_unique_ops_have_no_derivative(call, node, op):
    # As PyTorch: the values require grad behind a node whose backward raises
    # NotImplementedError; the inverse and counts do not require grad.
    x = rtorch.tensor([1.0, 2.0, 2.0, 3.0], requires_grad=True)
    result = call(x)
    values, *rest = result if isinstance(result, tuple) else (result,)
    assert values.requires_grad and values.grad_fn.name() == node
    assert all(not r.requires_grad for r in rest)
    assert sorted(values.tolist()) == [1.0, 2.0, 3.0]
    with pytest.raises(NotImplementedError, match=f"the derivative for '{op}' is not implemented"):
        values.sum().backward()
    with rtorch.no_grad():
        again = call(x)
    assert not (again[0] if isinstance(again, tuple) else again).requires_grad
