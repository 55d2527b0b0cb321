"""F.glu's fused kernels (rust cpu/glu.rs, ops/glu.rs) on the layouts they special-case:
rows of long halves (one kernel row each), short halves laid out as one row first, a
single row split among threads, sizes above the parallel threshold (and bitwise equality
across thread counts), non-contiguous and expanded inputs, empty tensors, every float
dtype, the fused backward, and double backward through it."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TOL, assert_np_close, to_np

import rtorch
import rtorch.nn.functional as F
from rtorch.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(5)


def ref_glu(x: np.ndarray, g: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """a sigmoid(b) and the input gradient for output gradient g, in float64."""
    a, b = np.split(x.astype(np.float64), 2, axis=dim)
    s = 1.0 / (1.0 + np.exp(-b))
    g = g.astype(np.float64)
    return a * s, np.concatenate([g * s, g * s * (1 - s) * a], axis=dim)


# (shape, dim): long halves in many rows, above and below the grain; short halves
# (under 64 values per row) in many rows; one row (dim 0), small and split among tasks.
LAYOUTS = [
    ((5, 300), 1),
    ((80, 1030), 1),
    ((3000, 24), 1),
    ((7, 10, 3), 1),
    ((2, 6, 4), 0),
    ((70_000, 2), 0),
    ((4, 2, 33), -2),
]


@pytest.mark.parametrize("shape,dim", LAYOUTS)
@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
def test_forward_and_backward_against_float64(shape, dim, dtype):
    x = RNG.standard_normal(shape) * 4
    t = rtorch.tensor(x, dtype=dtype, requires_grad=True)
    x = to_np(t)
    half = list(shape)
    half[dim] //= 2
    g = RNG.standard_normal(half)
    gt = rtorch.tensor(g, dtype=dtype)
    want, want_gx = ref_glu(x, to_np(gt), dim)
    out = F.glu(t, dim)
    assert out.dtype == dtype
    assert_np_close(out, want)
    (gx,) = rtorch.autograd.grad(out, t, gt)
    assert_np_close(gx, want_gx)


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16])
def test_half_dtypes_compute_in_float32(dtype):
    for shape in [(6, 200), (50, 8)]:
        t = rtorch.tensor(RNG.standard_normal(shape) * 3, dtype=dtype, requires_grad=True)
        x = to_np(t)
        g = rtorch.tensor(RNG.standard_normal((shape[0], shape[1] // 2)), dtype=dtype)
        want, want_gx = ref_glu(x, to_np(g), 1)
        out = F.glu(t, 1)
        assert out.dtype == dtype
        # One rounding to the half dtype: within its tolerance of the float64 values.
        assert_np_close(out, want)
        (gx,) = rtorch.autograd.grad(out, t, g)
        assert gx.dtype == dtype
        rtol, _ = TOL[dtype]
        np.testing.assert_allclose(
            to_np(gx), want_gx, rtol=rtol, atol=rtol * np.abs(to_np(g)).max()
        )


def test_noncontiguous_and_expanded_inputs():
    base = RNG.standard_normal((40, 300))
    for view in (
        lambda t: t.t(),  # (300, 40), glu along dim 1: strided rows
        lambda t: t[:, ::3],  # step in the last dim
        lambda t: t[:1].expand(40, 300),  # zero stride
    ):
        t = view(rtorch.tensor(base, requires_grad=True))
        x = to_np(t)
        g = RNG.standard_normal((x.shape[0], x.shape[1] // 2))
        want, want_gx = ref_glu(x, g, 1)
        out = F.glu(t, 1)
        assert_np_close(out, want)
        (gx,) = rtorch.autograd.grad(out, t, rtorch.tensor(g))
        assert_np_close(gx, want_gx)


def test_bitwise_equal_across_thread_counts():
    t = rtorch.tensor(RNG.standard_normal((300, 600)), dtype=rtorch.float32, requires_grad=True)
    g = rtorch.tensor(RNG.standard_normal((300, 300)), dtype=rtorch.float32)
    results = []
    before = rtorch.get_num_threads()
    try:
        for threads in (1, 2, 3):
            rtorch.set_num_threads(threads)
            out = F.glu(t, 1)
            (gx,) = rtorch.autograd.grad(out, t, g)
            results.append((to_np(out), to_np(gx)))
    finally:
        rtorch.set_num_threads(before)
    for out, gx in results[1:]:
        np.testing.assert_array_equal(out, results[0][0])
        np.testing.assert_array_equal(gx, results[0][1])


def test_empty_inputs():
    for shape, dim, want in [((0, 6), 1, (0, 3)), ((4, 0), 1, (4, 0)), ((0,), 0, (0,))]:
        t = rtorch.zeros(shape, requires_grad=True)
        out = F.glu(t, dim)
        assert out.shape == want
        out.sum().backward()
        assert t.grad.shape == shape


def test_errors():
    with pytest.raises(
        RuntimeError, match="Halving dimension must be even, but dimension 0 is size 3"
    ):
        F.glu(rtorch.ones(3, 4), -2)
    with pytest.raises(RuntimeError, match="glu does not support scalars"):
        F.glu(rtorch.tensor(1.0))
    with pytest.raises(IndexError, match="Dimension out of range"):
        F.glu(rtorch.ones(2, 4), -3)
    with pytest.raises(NotImplementedError, match="\"glu_cpu\" not implemented for 'Int'"):
        F.glu(rtorch.ones(2, 4, dtype=rtorch.int32))


def test_gradcheck_and_double_backward():
    for shape, dim in [((3, 8), 1), ((4, 2, 3), 1), ((2, 70), 1)]:
        x = rtorch.tensor(RNG.standard_normal(shape), requires_grad=True)
        assert gradcheck(lambda t, d=dim: F.glu(t, d), (x,))
        assert gradgradcheck(lambda t, d=dim: F.glu(t, d), (x,))
