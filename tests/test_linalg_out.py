"""`out=` on the `linalg` functions (they ignored it): single results and tuple results
written into the given tensors, which are returned (a tuple result in its named type),
an out of another shape resized, another dtype and autograd refused. Expected values
are closed forms on small matrices; PyTorch 2.x passes the same test."""

from __future__ import annotations

import numpy as np
import pytest

import rtorch

LA = rtorch.linalg


def test_single_results_land_in_out() -> None:
    a = rtorch.tensor([[2.0, 0.0], [0.0, 4.0]])
    y = rtorch.ones(())
    assert LA.vector_norm(rtorch.tensor([3.0, 4.0]), out=y) is y and y.item() == 5.0
    assert LA.matrix_norm(a, out=y) is y and y.item() == pytest.approx(np.sqrt(20.0))
    assert LA.norm(rtorch.tensor([3.0, 4.0]), out=y) is y and y.item() == 5.0
    assert LA.det(a, out=y) is y and y.item() == 8.0
    m = rtorch.ones(2, 2)
    assert LA.inv(a, out=m) is m and m.tolist() == [[0.5, 0.0], [0.0, 0.25]]
    assert LA.matmul(a, a, out=m) is m and m.tolist() == [[4.0, 0.0], [0.0, 16.0]]
    assert LA.cholesky(a, out=m) is m
    np.testing.assert_allclose(m.numpy(), np.diag([np.sqrt(2.0), 2.0]), rtol=1e-6)
    x = rtorch.ones(2, 1)
    assert LA.solve(a, rtorch.tensor([[2.0], [8.0]]), out=x) is x and x.tolist() == [[1.0], [2.0]]
    w = rtorch.ones(2)
    assert LA.eigvalsh(a, out=w) is w and w.tolist() == [2.0, 4.0]


def test_tuple_results_land_in_their_outs() -> None:
    a = rtorch.tensor([[2.0, 0.0], [0.0, 4.0]])
    sign, logabs = rtorch.ones(()), rtorch.ones(())
    r = LA.slogdet(a, out=(sign, logabs))
    assert r.sign is sign and r.logabsdet is logabs
    assert sign.item() == 1.0 and logabs.item() == pytest.approx(np.log(8.0))
    u, s, vh = rtorch.empty(0), rtorch.empty(0), rtorch.empty(0)
    r = LA.svd(a, out=(u, s, vh))
    assert r.U is u and r.S is s and r.Vh is vh
    assert u.shape == (2, 2) and s.tolist() == [4.0, 2.0]
    np.testing.assert_allclose((u.numpy() * s.numpy()) @ vh.numpy(), a.numpy(), atol=1e-6)


def test_out_is_resized_and_checked() -> None:
    a = rtorch.tensor([[2.0, 0.0], [0.0, 4.0]])
    m = rtorch.empty(0)
    LA.inv(a, out=m)
    assert m.shape == (2, 2)
    with pytest.raises(RuntimeError, match="dtype"):
        LA.inv(a, out=rtorch.ones(2, 2, dtype=rtorch.float64))
    with pytest.raises(RuntimeError, match="automatic differentiation"):
        LA.inv(a.clone().requires_grad_(), out=rtorch.ones(2, 2))
