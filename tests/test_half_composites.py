"""Composite ops on float16/bfloat16 that PyTorch computes in float32 (its accumulate or
"opmath" type) and rounds once, or rounds at a stated step: rms_norm, instance_norm,
adaptive_avg_pool2d, renorm, smooth_l1/huber and binary_cross_entropy. Computed in the
half type op by op, these were off by an ulp in 30-70% of the outputs (and rms_norm's
default eps was bfloat16's own). References: numpy in float64 on the same half inputs,
rounded to the half type at the steps PyTorch rounds at; float32 and float64 evaluation
orders can still part in a rare tie, so each test allows 0.1% of outputs one ulp off."""

from __future__ import annotations

import numpy as np
import pytest
from test_half_maps import half_round, ulp

import rtorch
import rtorch.nn.functional as F

HALVES = [rtorch.float16, rtorch.bfloat16]


def _half(values: np.ndarray, dtype) -> tuple[rtorch.Tensor, np.ndarray]:
    t = rtorch.tensor(values, dtype=rtorch.float32).to(dtype)
    return t, t.to(rtorch.float64).numpy()


def _check(got: rtorch.Tensor, want: np.ndarray, dtype, atol: float = 0.0, per: int = 1000) -> None:
    """`got` equals `want` (already rounded to the half type) but for at most one output
    in `per` (0.1%), and those one ulp away (or `atol`: a float32 sum's own error, where
    cancellation leaves an output far below its terms)."""
    assert got.dtype == dtype and tuple(got.shape) == want.shape
    g = got.to(rtorch.float64).numpy()
    off = g != want
    assert off.sum() <= max(1, want.size // per), f"{int(off.sum())} of {want.size} differ"
    assert np.all(np.abs(g - want)[off] <= np.maximum(ulp(want[off], dtype), atol))


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_rms_norm_in_float32_with_float32_eps(dtype) -> None:
    x, x64 = _half(_rng(0).standard_normal((500, 200)) * 3, dtype)
    want = half_round(x64 / np.sqrt((x64 * x64).mean(1, keepdims=True) + 2.0**-23), dtype)
    _check(F.rms_norm(x, (200,)), want, dtype)
    # eps defaults to float32's epsilon for the 16-bit types, as PyTorch: bfloat16's own
    # (2^-7) turned 0.01 into 0.11 (PyTorch: 1.0).
    small, s64 = _half(np.full(4, 0.01), dtype)
    want_small = half_round(s64 / np.sqrt(s64 * s64 + 2.0**-23), dtype)
    assert F.rms_norm(small, (4,)).to(rtorch.float64).numpy().tolist() == want_small.tolist()
    # The weight's product joins the float32 result before the one rounding, as
    # PyTorch's fused rms_norm (rounding first put 26% of the outputs an ulp off); the
    # result keeps the input's dtype with a weight of another (PyTorch's composite).
    w, w64 = _half(_rng(1).standard_normal(200), dtype)
    normed = x64 / np.sqrt((x64 * x64).mean(1, keepdims=True) + 2.0**-23)
    _check(F.rms_norm(x, (200,), w), half_round(normed * w64, dtype), dtype)
    wide = F.rms_norm(x, (200,), w.to(rtorch.float32))
    _check(wide, half_round(normed * w64, dtype), dtype)


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_instance_norm_rounds_once(dtype) -> None:
    x, x64 = _half(_rng(2).standard_normal((10, 20, 10, 10)) * 3, dtype)
    w, w64 = _half(_rng(3).standard_normal(20), dtype)
    b, b64 = _half(_rng(4).standard_normal(20), dtype)
    mean = x64.mean((2, 3), keepdims=True)
    var = x64.var((2, 3), keepdims=True)
    norm = (x64 - mean) / np.sqrt(var + 1e-5)
    want = half_round(norm * w64.reshape(1, 20, 1, 1) + b64.reshape(1, 20, 1, 1), dtype)
    _check(F.instance_norm(x, weight=w, bias=b), want, dtype)


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_adaptive_avg_pool2d_unequal_bins_rounds_once(dtype) -> None:
    x, x64 = _half(_rng(5).standard_normal((8, 25, 30, 30)), dtype)
    edges = [(i * 30 // 7, -(-(i + 1) * 30 // 7)) for i in range(7)]
    want = np.empty((8, 25, 7, 7))
    for i, (r0, r1) in enumerate(edges):
        for j, (c0, c1) in enumerate(edges):
            want[:, :, i, j] = x64[:, :, r0:r1, c0:c1].mean((2, 3))
    _check(F.adaptive_avg_pool2d(x, 7), half_round(want, dtype), dtype)


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_renorm_scales_in_float32_rounded_to_the_half_type(dtype) -> None:
    x, x64 = _half(_rng(6).standard_normal((1000, 200)) * 3, dtype)
    norm = np.sqrt((x64 * x64).sum(1, keepdims=True))
    scale = half_round(np.where(norm > 5.0, 5.0 / (norm + 1e-7), 1.0), dtype)
    # x * scale of two half values is exact in float64: one rounding, as PyTorch's mul.
    # A float32 norm can round a scale to the neighbouring half value where the float64
    # one sits at a tie: each row must match one scale, the reference's in nearly all.
    got = x.renorm(2, 0, 5.0)
    assert got.dtype == dtype
    g = got.to(rtorch.float64).numpy()
    exact = np.all(g == half_round(x64 * scale, dtype), axis=1)
    assert exact.sum() >= 995
    for row in np.flatnonzero(~exact):
        s, u = scale[row, 0], ulp(scale[row], dtype)[0]
        assert any(
            np.array_equal(g[row], half_round(x64[row] * (s + k * u), dtype)) for k in (-1, 1)
        )


def _smooth_l1(d: np.ndarray, param: float, huber: bool) -> np.ndarray:
    z = np.abs(d)
    if huber:
        return np.where(z < param, 0.5 * z * z, param * (z - 0.5 * param))
    return np.where(z < param, 0.5 * z * z / param, z - 0.5 * param)


@pytest.mark.parametrize("dtype", HALVES, ids=str)
@pytest.mark.parametrize("huber", [False, True])
def test_smooth_l1_and_huber_round_as_pytorch(dtype, huber) -> None:
    x, x64 = _half(_rng(7).standard_normal(100_000) * 3, dtype)
    y, y64 = _half(_rng(8).standard_normal(100_000) * 3, dtype)
    # PyTorch 2.x computes smooth_l1 of bfloat16 and huber of float16 from the inputs in
    # float32; the other pairs from the difference rounded to the half type.
    fused = (dtype == rtorch.bfloat16) != huber
    d = x64 - y64 if fused else half_round(x64 - y64, dtype)
    for param in (1.0, 0.5):
        want = half_round(_smooth_l1(d, param, huber), dtype)
        if huber:
            got = F.huber_loss(x, y, reduction="none", delta=param)
        else:
            got = F.smooth_l1_loss(x, y, reduction="none", beta=param)
        _check(got, want, dtype)


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_binary_cross_entropy_rounds_op_by_op(dtype) -> None:
    p, p64 = _half(_rng(9).uniform(0.01, 0.99, 100_000), dtype)
    t, t64 = _half(_rng(10).uniform(0, 1, 100_000), dtype)

    def r(v: np.ndarray) -> np.ndarray:
        return half_round(v, dtype)

    # PyTorch's kernel in the half type: (y - 1) max(log1p(-x), -100) - y max(log x, -100).
    log_1mx = np.maximum(r(np.log1p(-p64)), -100.0)
    log_x = np.maximum(r(np.log(p64)), -100.0)
    want = r(r(r(t64 - 1) * log_1mx) - r(t64 * log_x))
    _check(F.binary_cross_entropy(p, t, reduction="none"), want, dtype)


def test_binary_cross_entropy_keeps_digits_near_zero() -> None:
    # log1p(-x), not log(1 - x): for x = 1e-7 the latter loses most digits in float32.
    x = rtorch.tensor([1e-7, 3e-6], dtype=rtorch.float32)
    t = rtorch.zeros(2)
    got = F.binary_cross_entropy(x, t, reduction="none").to(rtorch.float64).numpy()
    want = -np.log1p(-x.to(rtorch.float64).numpy())
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_addmm_addmv_baddbmm_round_once(dtype) -> None:
    # beta * input + alpha * product in float32, rounded once, as PyTorch's GEMMs: the
    # composed ops rounded the product, its scaling and the sum (26-41% of the bfloat16
    # outputs an ulp off). Full and broadcast inputs, beta 0 (attention's scores). (A
    # float32 sum of ~100 products of size ~3 is off by ~1e-6: outputs that cancel to
    # near zero may be that far from the rounded float64 value, and float16's finer ulp
    # sees a boundary crossed in up to 0.5% of the outputs; PyTorch's are the same.)
    rng = _rng(11)
    a, a64 = _half(rng.standard_normal((64, 96)), dtype)
    b, b64 = _half(rng.standard_normal((96, 80)), dtype)
    c, c64 = _half(rng.standard_normal((64, 80)), dtype)
    row, row64 = _half(rng.standard_normal(80), dtype)
    v, v64 = _half(rng.standard_normal(96), dtype)
    y, y64 = _half(rng.standard_normal(64), dtype)
    _check(rtorch.addmm(c, a, b), half_round(c64 + a64 @ b64, dtype), dtype, atol=1e-5, per=200)
    _check(
        rtorch.addmm(row, a, b, beta=0.5, alpha=2.0),
        half_round(0.5 * row64 + 2.0 * (a64 @ b64), dtype),
        dtype,
        atol=1e-5,
        per=200,
    )
    _check(
        rtorch.addmv(y, a, v, beta=0.5, alpha=2.0),
        half_round(0.5 * y64 + 2.0 * (a64 @ v64), dtype),
        dtype,
        atol=1e-5,
        per=200,
    )
    q, q64 = _half(rng.standard_normal((4, 32, 48)), dtype)
    k, k64 = _half(rng.standard_normal((4, 48, 40)), dtype)
    s, s64 = _half(rng.standard_normal((4, 32, 40)), dtype)
    _check(
        rtorch.baddbmm(s, q, k, beta=0.0, alpha=0.125),
        half_round(0.125 * (q64 @ k64), dtype),
        dtype,
        atol=1e-5,
        per=200,
    )
    _check(rtorch.baddbmm(s, q, k), half_round(s64 + q64 @ k64, dtype), dtype, atol=1e-5, per=200)
    # The gradients come back in the operands' dtype (through float32).
    a.requires_grad_()
    rtorch.addmm(c, a, b).sum().backward()
    assert a.grad.dtype == dtype
    _check(a.grad, half_round(np.ones((64, 80)) @ b64.T, dtype), dtype, atol=1e-5, per=200)


def _np_attention(q, k, v, mask):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]) + mask
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    return (weights / weights.sum(-1, keepdims=True)) @ v


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_scaled_dot_product_attention_rounds_once(dtype) -> None:
    # Scores, softmax and products in float32, rounded once (op by op in the half type
    # 46% of the bfloat16 outputs were correctly rounded; PyTorch's CPU kernel, which
    # rounds the softmax numerators to the half type for its second product, 67%). The
    # float32 exponentials and sums part from float64 at a rounding boundary more often
    # than one product does: 0.5% of the outputs may be an ulp off.
    rng = _rng(12)
    q, q64 = _half(rng.standard_normal((2, 4, 32, 32)), dtype)
    k, k64 = _half(rng.standard_normal((2, 4, 32, 32)), dtype)
    v, v64 = _half(rng.standard_normal((2, 4, 32, 32)), dtype)
    m, m64 = _half(rng.standard_normal((32, 32)), dtype)
    causal = np.where(np.triu(np.ones((32, 32)), 1) == 1, -np.inf, 0.0)
    for got, mask in (
        (F.scaled_dot_product_attention(q, k, v), 0.0),
        (F.scaled_dot_product_attention(q, k, v, is_causal=True), causal),
        (F.scaled_dot_product_attention(q, k, v, m), m64),
    ):
        want = half_round(_np_attention(q64, k64, v64, mask), dtype)
        g = got.to(rtorch.float64).numpy()
        assert got.dtype == dtype
        off = g != want
        assert off.sum() <= want.size // 200, f"{int(off.sum())} of {want.size} differ"
        assert np.all(np.abs(g - want)[off] <= ulp(want[off], dtype))
