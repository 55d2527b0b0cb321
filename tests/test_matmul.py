"""Matrix products: matmul in every shape form, mm, bmm, mv, dot, outer, addmm family,
einsum, the ``@`` operator; values against numpy float64, errors, gradients."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FLOAT_DTYPES, INT_DTYPES, assert_np_close, to_np

import rtorch
from rtorch.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def close(got: rtorch.Tensor, ref: np.ndarray, **kw) -> None:
    """assert_np_close that also checks shapes of empty results (tolist drops them)."""
    assert tuple(got.shape) == np.shape(ref)
    if np.size(ref):
        assert_np_close(got, ref, **kw)


def arr(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def T(a: np.ndarray, dtype=rtorch.float64, requires_grad: bool = False) -> rtorch.Tensor:
    return rtorch.tensor(np.ascontiguousarray(a), dtype=dtype, requires_grad=requires_grad)


SHAPES = [
    ((3,), (3,)),  # dot -> 0-dim
    ((2, 3), (3, 4)),  # mm
    ((3,), (3, 4)),  # vector-matrix
    ((2, 3), (3,)),  # matrix-vector
    ((5, 2, 3), (5, 3, 4)),  # batched
    ((5, 2, 3), (3, 4)),  # batched by matrix
    ((2, 3), (5, 3, 4)),  # matrix by batched
    ((3,), (5, 3, 4)),  # vector by batched
    ((5, 2, 3), (3,)),  # batched by vector
    ((2, 1, 2, 3), (4, 3, 2)),  # broadcast batch dims
    ((0, 3), (3, 4)),  # empty rows
    ((2, 0), (0, 4)),  # empty inner dim -> zeros
    ((2, 0, 3), (3, 4)),  # empty batch
]


@pytest.mark.parametrize("sa,sb", SHAPES)
def test_matmul_shapes_float64(sa, sb):
    a, b = arr(*sa), arr(*sb)
    got = rtorch.matmul(T(a), T(b))
    close(got, np.matmul(a, b))
    close(T(a) @ T(b), np.matmul(a, b))
    close(T(a).matmul(T(b)), np.matmul(a, b))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_matmul_float_dtypes(dtype):
    a, b = arr(4, 6), arr(6, 5)
    ta, tb = T(a, dtype), T(b, dtype)
    ref = to_np(ta) @ to_np(tb)  # reference from the rounded inputs
    got = ta @ tb
    assert got.dtype == dtype
    # half types round the result (and gemm-f16 partial sums) to 11/8 bits
    tol = {rtorch.float16: 2e-3, rtorch.bfloat16: 1.6e-2}.get(dtype)
    assert_np_close(got, ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_matmul_int_dtypes(dtype):
    a = RNG.integers(0, 5, (3, 4))
    b = RNG.integers(0, 5, (4, 2))
    got = rtorch.tensor(a.tolist(), dtype=dtype) @ rtorch.tensor(b.tolist(), dtype=dtype)
    assert got.dtype == dtype
    np.testing.assert_array_equal(to_np(got), a @ b)
    v = rtorch.tensor([1, 2, 3], dtype=dtype)
    assert rtorch.dot(v, v).item() == 14


def test_int_matmul_wraps():
    a = rtorch.tensor([[100, 100]], dtype=rtorch.int8)
    b = rtorch.tensor([[2], [1]], dtype=rtorch.int8)
    assert (a @ b).tolist() == [[np.int8(np.int64(300) - 256)]]


def test_bool_matmul_raises():
    a = rtorch.ones(2, 3, dtype=rtorch.bool)
    with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
        a @ rtorch.ones(3, 2, dtype=rtorch.bool)


def test_noncontiguous_operands():
    a, b = arr(4, 3), arr(5, 4)
    ta, tb = T(a).t(), T(b).t()  # (3,4) and (4,5), transposed views
    assert not ta.is_contiguous()
    assert_np_close(ta @ tb, a.T @ b.T)
    # narrowed (offset + row stride) and expanded (stride 0) operands
    big = arr(6, 8)
    sub = T(big).narrow(0, 1, 3).narrow(1, 2, 4)
    assert_np_close(sub @ T(b).t(), big[1:4, 2:6] @ b.T)
    row = arr(1, 4)
    ex = T(row).expand(3, 4)
    assert_np_close(ex @ T(b).t(), np.broadcast_to(row, (3, 4)) @ b.T)
    # batched with permuted batch dims
    c = arr(3, 2, 4)
    tc = T(c).permute(1, 0, 2)  # (2,3,4)
    d = arr(2, 4, 5)
    assert_np_close(tc @ T(d), np.transpose(c, (1, 0, 2)) @ d)


def test_large_parallel_product():
    a, b = arr(130, 70), arr(70, 90)
    assert_np_close(T(a, rtorch.float32) @ T(b, rtorch.float32), a @ b, rtol=1e-4, atol=1e-4)
    ab, bb = arr(16, 40, 50), arr(16, 50, 30)
    assert_np_close(rtorch.bmm(T(ab), T(bb)), ab @ bb)


def test_mm_bmm_mv_dot_outer_values():
    a, b = arr(2, 3), arr(3, 4)
    assert_np_close(rtorch.mm(T(a), T(b)), a @ b)
    assert_np_close(T(a).mm(T(b)), a @ b)
    x, y = arr(4, 2, 3), arr(4, 3, 5)
    assert_np_close(rtorch.bmm(T(x), T(y)), x @ y)
    assert_np_close(T(x).bmm(T(y)), x @ y)
    v = arr(3)
    assert_np_close(rtorch.mv(T(a), T(v)), a @ v)
    assert_np_close(T(a).mv(T(v)), a @ v)
    d = rtorch.dot(T(v), T(v))
    assert d.shape == () and abs(d.item() - v @ v) < 1e-12
    assert abs(T(v).dot(T(v)).item() - v @ v) < 1e-12
    assert abs(rtorch.vdot(T(v), T(v)).item() - v @ v) < 1e-12
    w = arr(4)
    assert_np_close(rtorch.outer(T(v), T(w)), np.outer(v, w))
    assert_np_close(rtorch.ger(T(v), T(w)), np.outer(v, w))
    assert_np_close(T(v).outer(T(w)), np.outer(v, w))
    # outer promotes like multiplication
    o = rtorch.outer(rtorch.tensor([1, 2], dtype=rtorch.int32), rtorch.tensor([0.5]))
    assert o.dtype == rtorch.float32


def test_addmm_family():
    inp, a, b = arr(2, 4), arr(2, 3), arr(3, 4)
    assert_np_close(rtorch.addmm(T(inp), T(a), T(b)), inp + a @ b)
    assert_np_close(rtorch.addmm(T(inp), T(a), T(b), beta=0.5, alpha=2.0), 0.5 * inp + 2 * a @ b)
    assert_np_close(T(inp).addmm(T(a), T(b), alpha=3), inp + 3 * a @ b)
    bias = arr(4)  # broadcast input, as nn.Linear uses it
    assert_np_close(rtorch.addmm(T(bias), T(a), T(b)), bias + a @ b)
    nan = T(np.full((2, 4), np.nan))
    assert_np_close(rtorch.addmm(nan, T(a), T(b), beta=0), a @ b)  # beta=0 ignores input
    v = arr(3)
    assert_np_close(rtorch.addmv(T(arr(2) * 0), T(a), T(v)), a @ v)
    x, y = arr(3, 2, 5), arr(3, 5, 4)
    i3 = arr(3, 2, 4)
    assert_np_close(rtorch.baddbmm(T(i3), T(x), T(y), beta=2, alpha=0.5), 2 * i3 + 0.5 * (x @ y))
    assert_np_close(rtorch.addbmm(T(inp), T(x), T(y)), inp + (x @ y).sum(0))
    v1, v2 = arr(2), arr(4)
    assert_np_close(rtorch.addr(T(inp), T(v1), T(v2)), inp + np.outer(v1, v2))
    t = T(inp.copy())
    t.addmm_(T(a), T(b))
    assert_np_close(t, inp + a @ b)


def test_errors():
    with pytest.raises(
        RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"
    ):
        rtorch.ones(2, 3) @ rtorch.ones(4, 5)
    with pytest.raises(
        RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"
    ):
        rtorch.mm(rtorch.ones(2, 3), rtorch.ones(4, 5))
    with pytest.raises(RuntimeError, match="self must be a matrix"):
        rtorch.mm(rtorch.ones(3), rtorch.ones(3, 2))
    with pytest.raises(
        RuntimeError,
        match=r"Expected size for first two dimensions of batch2 tensor to be: \[2, 3\] but got: \[3, 3\].",
    ):
        rtorch.bmm(rtorch.ones(2, 2, 3), rtorch.ones(3, 3, 4))
    with pytest.raises(RuntimeError, match="batch1 must be a 3D tensor"):
        rtorch.bmm(rtorch.ones(2, 3), rtorch.ones(2, 3, 4))
    with pytest.raises(
        RuntimeError, match="expected m1 and m2 to have the same dtype, but got: float != double"
    ):
        rtorch.ones(2, 3) @ rtorch.ones(3, 2, dtype=rtorch.float64)
    # The addmm family words a dtype mismatch each its own way, as PyTorch 2.15.
    bf = rtorch.bfloat16
    for call, msg in (
        (
            lambda: rtorch.addmm(
                rtorch.ones(3, 4), rtorch.ones(3, 5, dtype=bf), rtorch.ones(5, 4, dtype=bf)
            ),
            "self and mat2 must have the same dtype, but got Float and BFloat16",
        ),
        (
            lambda: rtorch.addmm(
                rtorch.ones(3, 4, dtype=bf), rtorch.ones(3, 5), rtorch.ones(5, 4, dtype=bf)
            ),
            "mat1 and mat2 must have the same dtype, but got Float and BFloat16",
        ),
        (
            lambda: rtorch.addbmm(
                rtorch.ones(3, 4), rtorch.ones(2, 3, 5, dtype=bf), rtorch.ones(2, 5, 4, dtype=bf)
            ),
            "self and mat2 must have the same dtype, but got Float and BFloat16",
        ),
        (
            lambda: rtorch.baddbmm(
                rtorch.ones(2, 3, 4), rtorch.ones(2, 3, 5, dtype=bf), rtorch.ones(2, 5, 4, dtype=bf)
            ),
            "Input dtypes must be the same, got: input float, batch1: c10::BFloat16, batch2: c10::BFloat16",
        ),
        (
            lambda: rtorch.addmv(
                rtorch.ones(3), rtorch.ones(3, 5, dtype=bf), rtorch.ones(5, dtype=bf)
            ),
            "addmv input tensors must have the same dtype, but got Float, BFloat16, and BFloat16",
        ),
    ):
        with pytest.raises(RuntimeError, match=msg):
            call()
    with pytest.raises(RuntimeError, match="1D tensors expected, but got 2D and 2D tensors"):
        rtorch.dot(rtorch.ones(2, 2), rtorch.ones(2, 2))
    with pytest.raises(RuntimeError, match="inconsistent tensor size"):
        rtorch.dot(rtorch.ones(3), rtorch.ones(4))
    with pytest.raises(
        RuntimeError,
        match="dot : expected both vectors to have same dtype, but found Float and Double",
    ):
        rtorch.dot(rtorch.ones(3), rtorch.ones(3, dtype=rtorch.float64))
    with pytest.raises(
        RuntimeError, match=r"size mismatch, got input \(2\), mat \(2x3\), vec \(4\)"
    ):
        rtorch.mv(rtorch.ones(2, 3), rtorch.ones(4))
    with pytest.raises(RuntimeError, match="both arguments to matmul need to be at least 1D"):
        rtorch.matmul(rtorch.ones(()), rtorch.ones(3))
    with pytest.raises(
        RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(1x4 and 3x2\)"
    ):
        rtorch.ones(4) @ rtorch.ones(3, 2)
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        rtorch.ones(2, 2, 3) @ rtorch.ones(3, 3, 2)
    with pytest.raises(RuntimeError, match="outer: Expected 1-D argument self, but got 2-D"):
        rtorch.outer(rtorch.ones(3, 2), rtorch.ones(2))
    with pytest.raises(TypeError):
        rtorch.ones(2, 2) @ 3


def test_matmul_errors_match_torch(torch_ref):
    cases = [((2, 2, 3), (4, 5)), ((2, 2, 3), (2, 4, 5)), ((3,), (4,))]
    for sa, sb in cases:
        with pytest.raises(RuntimeError) as theirs:
            torch_ref.ones(*sa) @ torch_ref.ones(*sb)
        with pytest.raises(RuntimeError) as ours:
            rtorch.ones(*sa) @ rtorch.ones(*sb)
        assert str(ours.value) in str(theirs.value)


@pytest.mark.parametrize("sa,sb", [s for s in SHAPES if 0 not in s[0] + s[1]])
def test_matmul_gradcheck(sa, sb):
    a, b = T(arr(*sa), requires_grad=True), T(arr(*sb), requires_grad=True)
    assert gradcheck(rtorch.matmul, (a, b))


def test_gradchecks_other_products():
    def g(*shape):
        return T(arr(*shape), requires_grad=True)

    assert gradcheck(rtorch.mm, (g(2, 3), g(3, 4)))
    assert gradcheck(rtorch.bmm, (g(2, 2, 3), g(2, 3, 2)))
    assert gradcheck(rtorch.mv, (g(2, 3), g(3)))
    assert gradcheck(rtorch.dot, (g(4), g(4)))
    assert gradcheck(rtorch.outer, (g(3), g(2)))
    assert gradcheck(
        lambda i, a, b: rtorch.addmm(i, a, b, beta=0.5, alpha=2.0), (g(4), g(2, 3), g(3, 4))
    )
    assert gradcheck(
        lambda i, a, b: rtorch.baddbmm(i, a, b, alpha=0.5), (g(2, 2, 4), g(2, 2, 3), g(2, 3, 4))
    )
    assert gradgradcheck(rtorch.matmul, (g(2, 2, 3), g(3, 2)))
    # transposed operand keeps its own strides in the gradient
    a = T(arr(3, 2), requires_grad=True)
    (a.t() @ T(arr(3, 4))).sum().backward()
    assert a.grad.shape == (3, 2)


def test_matmul_grad_reduces_broadcast_batch():
    a, b = arr(4, 2, 3), arr(3, 5)
    ta, tb = T(a, requires_grad=True), T(b, requires_grad=True)
    (ta @ tb).sum().backward()
    assert tb.grad.shape == (3, 5)
    assert_np_close(tb.grad, np.einsum("bij,bik->jk", a, np.ones((4, 2, 5))))
    assert_np_close(ta.grad, np.ones((4, 2, 5)) @ b.T)


def test_grad_of_one_operand_when_all_require_grad():
    # autograd.grad asking for one operand: the product nodes compute only that
    # gradient (matmul's MmBackward0, addmm's AddmmBackward0 through F.linear); each
    # matches the closed form and the joint call.
    x, w, b = arr(4, 3), arr(5, 3), arr(5)
    tx, tw, tb = (T(v, requires_grad=True) for v in (x, w, b))
    gy = np.arange(20.0).reshape(4, 5)
    want = [gy @ w, gy.T @ x, gy.sum(0)]
    outs = [tx @ tw.t(), rtorch.nn.functional.linear(tx, tw, tb)]
    for out, ts in zip(outs, [[tx, tw], [tx, tw, tb]], strict=True):
        g = T(gy)
        alone = [rtorch.autograd.grad(out, [t], g, retain_graph=True)[0] for t in ts]
        together = rtorch.autograd.grad(out, ts, g)
        for a, t, r in zip(alone, together, want[: len(ts)], strict=True):
            assert_np_close(a, r)
            np.testing.assert_array_equal(to_np(a), to_np(t))


EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->ji", [(2, 3)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(2,), (3,)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ba,ca", [(2, 3), (4, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("...ij,...jk->...ik", [(5, 2, 3), (5, 3, 4)]),
    ("...ij,jk", [(2, 2, 3), (3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("bii->bi", [(2, 3, 3)]),
    ("i j , j k -> i k", [(2, 3), (3, 4)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM)
def test_einsum(eq, shapes):
    ops = [arr(*s) for s in shapes]
    got = rtorch.einsum(eq, *[T(o) for o in ops])
    assert_np_close(got, np.einsum(eq.replace(" ", ""), *ops))
    got_list = rtorch.einsum(eq, [T(o) for o in ops])
    assert_np_close(got_list, np.einsum(eq.replace(" ", ""), *ops))


@pytest.mark.parametrize("eq,shapes", [EINSUM[i] for i in (0, 2, 6, 7, 12, 14)])
def test_einsum_gradcheck(eq, shapes):
    ops = [T(arr(*s), requires_grad=True) for s in shapes]
    assert gradcheck(lambda *xs: rtorch.einsum(eq, *xs), tuple(ops))


def test_einsum_errors():
    with pytest.raises(
        RuntimeError,
        match="subscript j has size 4 for operand 1 which does not broadcast with previously seen size 3",
    ):
        rtorch.einsum("ij,jk", rtorch.ones(2, 3), rtorch.ones(4, 5))
    with pytest.raises(
        RuntimeError, match="fewer operands were provided than specified in the equation"
    ):
        rtorch.einsum("ij,jk->ik", rtorch.ones(2, 3))
    with pytest.raises(
        RuntimeError,
        match="output subscript k does not appear in the equation for any input operand",
    ):
        rtorch.einsum("ij->k", rtorch.ones(2, 3))
    with pytest.raises(
        RuntimeError,
        match=r"number of subscripts in the equation \(2\) does not match the number of dimensions \(3\) for operand 0",
    ):
        rtorch.einsum("ij->", rtorch.ones(2, 3, 4))
