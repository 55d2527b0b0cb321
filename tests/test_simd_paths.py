"""Every SIMD path the machine has (avx512, avx2, default), each forced in a fresh process
with RTORCH_CPU_CAPABILITY: vectorized transcendentals within 2 ulp of a float64
reference over a dense sweep of float32 bit patterns (subnormals, huge/tiny, inf, nan),
the softmax / log_softmax / cross-entropy / glu / ctc kernels against numpy float64 on
SIMD tail lengths, middle dims and backward, small-channel convolutions (direct kernels on
avx512), the random fills (PyTorch's stream; the uniform and Box-Muller arithmetic of each
level), float32 pow, hypot, logaddexp, asinh, sinh and cosh, float64 exp, the one-pass
float16/bfloat16 binary loops, amax/amin's lane scans and the grouped float32 row
reductions.

Run directly (``python tests/test_simd_paths.py``) it performs the checks under whatever
capability the environment selects."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import rtorch
from rtorch import _C

LEVELS = ["default", "avx2", "avx512"]
TAILS = [1, 7, 15, 16, 17, 31, 33, 1000, 1025]


def _available() -> list[str]:
    hw = _C._cpu_capability()[1]
    return LEVELS[: LEVELS.index(hw) + 1]


def _ulps(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """|got - ref| in units of the float32 spacing at ref (0 where they agree, nan both)."""
    with np.errstate(over="ignore", invalid="ignore"):
        r32 = ref.astype(np.float32)
        # Results below float32's smallest normal are measured in units of that normal:
        # a kernel may flush them to zero, as PyTorch's sigmoid does below x = -88.7.
        unit = np.maximum(np.spacing(np.abs(r32)), np.finfo(np.float32).tiny)
        err = np.abs(got.astype(np.float64) - ref) / unit.astype(np.float64)
    same = (got == r32) | (np.isnan(got) & np.isnan(ref))
    return np.where(same, 0.0, err)


def _sweep() -> np.ndarray:
    """About 2M float32 values: every 2039th bit pattern plus the special values."""
    bits = np.arange(0, 2**32, 2039, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    special = np.array(
        [
            0.0,
            -0.0,
            np.inf,
            -np.inf,
            np.nan,
            1e-45,
            -1e-45,
            1.1754944e-38,
            3.4028235e38,
            -3.4028235e38,
            88.72283,
            88.72284,
            -87.33655,
            -103.97208,
            -104.0,
            0.625,
            -0.625,
            -16.635702,  # where 1 / (1 + e^-x) in float32 was 2.5 ulp off
        ],
        dtype=np.float32,
    )
    return np.concatenate([x, special])


def _ref(name: str, x: np.ndarray) -> np.ndarray:
    d = x.astype(np.float64)
    with np.errstate(all="ignore"):
        if name == "exp":
            return np.exp(d)
        if name == "log":
            return np.log(d)
        if name == "tanh":
            return np.tanh(d)
        if name in ("tan", "exp2", "log2", "log10"):
            return getattr(np, name)(d)
        if name == "atan":
            return np.arctan(d)
        if name in ("asinh", "sinh", "cosh"):
            return getattr(np, name.replace("asinh", "arcsinh"))(d)
        if name == "expm1":
            return np.expm1(d)
        # sigmoid without overflow or cancellation: e^d / (1 + e^d) for negative d.
        e = np.exp(-np.abs(d))
        sig = np.where(d >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return d * sig if name == "silu" else sig


def check_transcendentals() -> dict[str, float]:
    x = _sweep()
    t = rtorch.from_numpy(x.copy())
    worst = {}
    # Issue 12 asks 2 ulp; the kernels' own bounds where they are tighter (atan is
    # evaluated in f64 and rounded once; sigmoid and silu are 0.52 ulp there on the
    # default path, float32 sums with corrections on the FMA paths).
    bounds = {"exp": 2.0, "log": 2.0, "tanh": 2.0, "sigmoid": 1.05, "tan": 1.1, "atan": 0.51}
    bounds |= {"exp2": 1.1, "log2": 1.1, "log10": 1.0, "silu": 1.1, "expm1": 1.05}
    bounds |= {"asinh": 0.7, "sinh": 0.6, "cosh": 0.6}
    F = rtorch.nn.functional
    for name, bound in bounds.items():
        got = (F.silu(t) if name == "silu" else getattr(t, name)()).numpy()
        ref = _ref(name, x)
        u = _ulps(got, ref)
        worst[name] = float(np.nanmax(u))
        bad = np.argmax(u)
        assert worst[name] <= bound, (name, x[bad], got[bad], ref[bad], worst[name])
        # NaN in, NaN out; the in-place form agrees with the out-of-place one.
        assert np.isnan(got[np.isnan(x)]).all()
        y = t.clone()
        if name == "silu":
            F.silu(y, inplace=True)
        else:
            getattr(y, name + "_")()
        np.testing.assert_array_equal(y.numpy(), got)
    # atan2 over pairs of the sweep (every octant, zeros, inf, nan), rounded once.
    y = np.roll(x, 12345)
    got = rtorch.atan2(rtorch.from_numpy(y.copy()), t).numpy()
    with np.errstate(all="ignore"):
        u = _ulps(got, np.arctan2(y.astype(np.float64), x.astype(np.float64)))
    worst["atan2"] = float(np.nanmax(u))
    assert worst["atan2"] <= 0.51, worst
    # hypot over the same pairs (rounded once from float64); an infinite side makes
    # +inf even beside NaN.
    got = rtorch.hypot(rtorch.from_numpy(y.copy()), t).numpy()
    with np.errstate(all="ignore"):
        u = _ulps(got, np.hypot(y.astype(np.float64), x.astype(np.float64)))
    worst["hypot"] = float(np.nanmax(u))
    assert worst["hypot"] <= 0.51, worst
    # logaddexp (float64 inside, rounded once) over values of every scale, and pairs in
    # (-1, 0) whose result nears 0 (max + log1p(e^-d) cancels there: PyTorch's float32
    # formula is hundreds of ulps off); within an ulp of float64's.
    rng = np.random.default_rng(6)
    a = np.concatenate([rng.normal(0, 3, 5000), rng.normal(0, 300, 5000), rng.uniform(-1, 0, 5000)])
    b = np.concatenate([rng.normal(0, 3, 5000), rng.normal(0, 30, 5000), rng.uniform(-1, 0, 5000)])
    a, b = a.astype(np.float32), b.astype(np.float32)
    a[:4], b[:4] = [np.inf, -np.inf, np.inf, np.nan], [np.inf, -np.inf, -np.inf, 1.0]
    got = rtorch.logaddexp(rtorch.from_numpy(a), rtorch.from_numpy(b)).numpy()
    with np.errstate(all="ignore"):
        u = _ulps(got, np.logaddexp(a.astype(np.float64), b.astype(np.float64)))
    worst["logaddexp"] = float(np.nanmax(u))
    assert worst["logaddexp"] <= 1.0, worst
    assert got[:3].tolist() == [np.inf, -np.inf, np.inf] and np.isnan(got[3])
    sides = rtorch.tensor([np.inf, -np.inf, np.nan, np.nan, 3.0])
    others = rtorch.tensor([np.nan, np.nan, np.inf, 1.0, 4.0])
    assert rtorch.hypot(sides, others).tolist()[:3] == [np.inf] * 3
    assert np.isnan(rtorch.hypot(sides, others)[3].item())
    assert rtorch.hypot(sides, others)[4].item() == 5.0
    return worst


def check_pow() -> None:
    """float32 pow (e^(y ln|x|) in float64 at the vector levels, with fused multiply-adds
    on the FMA ones) within 0.51 ulp of float64: bases over the sweep, exponents of
    several sizes and ones that put y ln|x| near the ends of float32's range, where the
    shortened series weigh most; zeros, infinities and NaN (libm's cases) as numpy."""
    x = _sweep()
    with np.errstate(all="ignore"):
        x64 = x.astype(np.float64)
        ln = np.log(np.abs(x64))
        exponents = [np.full_like(x, v) for v in (0.5, -1.5, 3.0, 7.25, -100.0)]
        exponents += [(t / ln).astype(np.float32) for t in (-103.0, -87.0, 40.0, 88.0)]
    t = rtorch.from_numpy(x.copy())
    for y in exponents:
        got = rtorch.pow(t, rtorch.from_numpy(y)).numpy()
        with np.errstate(all="ignore"):
            ref = np.power(x64, y.astype(np.float64))
        u = _ulps(got, ref)
        bad = np.nanargmax(u)
        assert u[bad] <= 0.51, ("pow", x[bad], y[bad], got[bad], ref[bad], u[bad])
        assert (np.isnan(got) == np.isnan(ref)).all()


def check_exp_paths_agree() -> None:
    """exp's vectors whose lanes all lie in [-87, 87] take a shorter path on AVX2 and
    AVX-512 (no clamp, 2^n from the rounding sum's bits, the scaling folded into the
    last multiply-add): the same bits as the general path, which a vector takes when
    one lane is outside (here 100 or -100 beside each value). The sweep above bounds
    both against float64; softmax rows mixing both kinds of vector against numpy."""
    rng = np.random.default_rng(4)
    x = np.concatenate(
        [
            rng.uniform(-87.0, 87.0, 4096),
            rng.uniform(-1.0, 1.0, 4096),
            [-87.0, 87.0, -86.99999, 0.0, -0.0, 1e-45, 0.5, -0.5],
        ]
    ).astype(np.float32)
    fast = rtorch.from_numpy(x.copy()).exp().numpy()
    for far in (100.0, -100.0):
        wide = np.full((x.size, 8), far, dtype=np.float32)
        wide[:, 0] = x
        general = rtorch.from_numpy(wide).exp().numpy()[:, 0]
        np.testing.assert_array_equal(fast.view(np.uint32), general.view(np.uint32))
    # The vector loops check four vectors at once (32 or 64 values): one value outside
    # [-87, 87] (or NaN) sends its whole group down the per-vector path, which gives the
    # other values the same bits; the odd spacing puts it at every position of a group.
    for odd in (100.0, -100.0, np.nan):
        mixed = x.copy()
        mixed[::29] = odd
        got = rtorch.from_numpy(mixed).exp().numpy()
        keep = np.ones(x.size, dtype=bool)
        keep[::29] = False
        np.testing.assert_array_equal(got[keep].view(np.uint32), fast[keep].view(np.uint32))
        np.testing.assert_array_equal(got[~keep], np.exp(np.float32(odd)))
    # Rows where some shifted values fall below -87 (exp underflows towards 0 there).
    a = (rng.standard_normal((5, 1031)) * 40).astype(np.float32)
    ref = _np_log_softmax(a.astype(np.float64), 1)
    np.testing.assert_allclose(rtorch.from_numpy(a).softmax(1).numpy(), np.exp(ref), 1.3e-6, 1e-30)


def check_glu() -> None:
    """glu's fused kernels (a sigmoid(b) and both gradients) on SIMD tail lengths, with
    rows long and short (the short ones laid out as one row first)."""
    rng = np.random.default_rng(3)
    for n in TAILS:
        for rows in (1, 3):
            x = (rng.standard_normal((rows, 2 * n)) * 4).astype(np.float32)
            g = rng.standard_normal((rows, n)).astype(np.float32)
            a, b = x[:, :n].astype(np.float64), x[:, n:].astype(np.float64)
            s = 1.0 / (1.0 + np.exp(-b))
            t = rtorch.from_numpy(x).requires_grad_(True)
            out = rtorch.nn.functional.glu(t, 1)
            np.testing.assert_allclose(out.detach().numpy(), a * s, 1.3e-6, 1e-5)
            (gx,) = rtorch.autograd.grad(out, t, rtorch.from_numpy(g))
            want = np.concatenate([g * s, g * s * (1 - s) * a], axis=1)
            np.testing.assert_allclose(gx.numpy(), want, 1.3e-6, 1e-5)


def check_ctc() -> None:
    """CTC's recursions (a vectorised log-sum-exp per row of positions) and PyTorch's
    gradient, against the numpy alpha-beta reference of test_ctc_kernel."""
    from test_ctc_kernel import ref_ctc

    rng = np.random.default_rng(4)
    lp = _np_log_softmax(rng.standard_normal((12, 2, 5)) * 2, 2)
    targets, in_lens = [[1, 1, 2, 3, 4, 4], [2]], [12, 9]
    x = rtorch.from_numpy(lp).requires_grad_(True)
    padded = rtorch.tensor([targets[0], targets[1] + [0] * 5])
    loss = rtorch.nn.functional.ctc_loss(x, padded, in_lens, [6, 1], reduction="none")
    loss.sum().backward()
    for n in range(2):
        nll, grad = ref_ctc(lp[:, n], targets[n], in_lens[n], 0)
        np.testing.assert_allclose(loss[n].item(), nll, 1e-12)
        np.testing.assert_allclose(x.grad[:, n].numpy(), grad, 1e-10, 1e-12)


def _np_log_softmax(a: np.ndarray, axis: int) -> np.ndarray:
    m = a.max(axis=axis, keepdims=True)
    return a - m - np.log(np.exp(a - m).sum(axis=axis, keepdims=True))


def check_softmax() -> None:
    rng = np.random.default_rng(0)
    for n in TAILS:
        a = (rng.standard_normal((3, n)) * 4).astype(np.float32)
        t = rtorch.from_numpy(a).requires_grad_(True)
        ref = _np_log_softmax(a.astype(np.float64), 1)
        np.testing.assert_allclose(t.log_softmax(1).detach().numpy(), ref, 1.3e-6, 1e-5)
        np.testing.assert_allclose(t.softmax(1).detach().numpy(), np.exp(ref), 1.3e-6, 1e-5)
        # Middle dim: (3, n, 2) along dim 1.
        b = np.ascontiguousarray(np.stack([a, -a], axis=2))
        refb = _np_log_softmax(b.astype(np.float64), 1)
        tb = rtorch.from_numpy(b)
        np.testing.assert_allclose(tb.log_softmax(1).numpy(), refb, 1.3e-6, 1e-5)
        np.testing.assert_allclose(tb.softmax(1).numpy(), np.exp(refb), 1.3e-6, 1e-5)
        # Backward: softmax y (g - sum(g y)), log_softmax g - exp(y) sum(g).
        g = rng.standard_normal((3, n)).astype(np.float32)
        y = np.exp(ref)
        (gx,) = rtorch.autograd.grad(t.softmax(1), t, rtorch.from_numpy(g))
        want = y * (g - (g * y).sum(1, keepdims=True))
        np.testing.assert_allclose(gx.numpy(), want, 1e-5, 1e-6)
        (gx,) = rtorch.autograd.grad(t.log_softmax(1), t, rtorch.from_numpy(g))
        want = g - y * g.sum(1, keepdims=True)
        np.testing.assert_allclose(gx.numpy(), want, 1e-5, 1e-5)
        ls = rtorch.from_numpy(a).logsumexp(1).numpy()
        m = a.astype(np.float64).max(1)
        np.testing.assert_allclose(ls, m + np.log(np.exp(a - m[:, None]).sum(1)), 1.3e-6, 1e-5)
    # log_softmax of rows up to 256 in groups of 16 (the sums' logarithms at once): a
    # short last group, special rows in the middle of a group.
    for n in (1, 5, 16, 17, 100, 256, 257):
        a = (rng.standard_normal((37, n)) * 4).astype(np.float32)
        a[3, 0], a[20, -1] = np.inf, -np.inf
        a[21, :] = -np.inf
        a[22, 0] = np.nan
        with np.errstate(invalid="ignore"):
            ref = _np_log_softmax(a.astype(np.float64), 1)
        got = rtorch.from_numpy(a).log_softmax(1).numpy()
        np.testing.assert_allclose(got, ref, 1.3e-6, 1e-5, err_msg=f"{n}")


def check_activation_gradients() -> None:
    """The fused backward kernels whose float32 form runs a slice kernel per block
    (ops/grad_kinds.rs: silu, logsigmoid, elu, softplus, gelu) on SIMD tail lengths and
    past the 1024-element blocks, against float64 closed forms."""
    import math

    F = rtorch.nn.functional
    rng = np.random.default_rng(6)
    erfc = np.vectorize(math.erfc)

    def sig(d):
        return 0.5 * (1.0 + np.tanh(0.5 * d))

    def gelu_d(d):
        return 0.5 * erfc(-d / math.sqrt(2)) + d * np.exp(-0.5 * d * d) / math.sqrt(2 * math.pi)

    cases = [
        (F.silu, lambda d: sig(d) * (1 + d * (1 - sig(d)))),
        (F.logsigmoid, lambda d: sig(-d)),
        (lambda v: F.elu(v, 0.7), lambda d: np.where(d <= 0, 0.7 * np.exp(d), 1.0)),
        (lambda v: F.softplus(v, 2.0, 5.0), lambda d: np.where(2 * d > 5, 1.0, sig(2 * d))),
        (F.gelu, gelu_d),
    ]
    selu_a, selu_s = 1.6732632423543772, 1.0507009873554805
    for n in TAILS + [2100]:
        x = (rng.standard_normal(n) * 4).astype(np.float32)
        g = rng.standard_normal(n).astype(np.float32)
        t = rtorch.from_numpy(x).requires_grad_(True)
        for fn, deriv in cases:
            (gx,) = rtorch.autograd.grad(fn(t), t, rtorch.from_numpy(g))
            want = g.astype(np.float64) * deriv(x.astype(np.float64))
            np.testing.assert_allclose(gx.numpy(), want, rtol=2e-6, atol=1e-6)
        # elu's forward runs expm1's slice kernel per block (selu: elu with constants).
        d = x.astype(np.float64)
        for got, want in [
            (F.elu(t.detach(), 0.7), np.where(d > 0, d, 0.7 * np.expm1(d))),
            (F.selu(t.detach()), selu_s * np.where(d > 0, d, selu_a * np.expm1(d))),
        ]:
            np.testing.assert_allclose(got.numpy(), want, rtol=4e-7, atol=1e-30)


def check_norms_and_variance() -> None:
    """Float64 row reductions of float32 (2-norm, var, std), each rounded once to
    float32: within one float32 rounding of numpy's float64 value. The 1-norm is a
    float32 sum of |x| (as PyTorch's): n/16 terms per lane at most, hence its bound."""
    rng = np.random.default_rng(4)
    for n in TAILS:
        a = (rng.standard_normal((3, n)) * 3).astype(np.float32)
        t, a64 = rtorch.from_numpy(a), a.astype(np.float64)
        for got, want in [
            (t.norm(dim=1), np.sqrt((a64 * a64).sum(1))),
            (t.var(dim=1, correction=0), a64.var(1)),
            (t.std(dim=1, correction=0), a64.std(1)),
        ]:
            np.testing.assert_allclose(got.numpy(), want, rtol=2.0**-23, atol=1e-30)
        got = t.norm(p=1, dim=1).numpy()
        np.testing.assert_allclose(got, np.abs(a64).sum(1), rtol=(n / 16 + 2) * 2.0**-24)


def check_logsumexp_and_prod() -> None:
    """float32 rows: logsumexp's float32 exponentials (2 ulp each) summed in float64 move
    the result by at most 2^-22 absolute beyond its rounding; prod multiplies in float64
    lanes (each value widened in registers), the float64 path's bits rounded once."""
    rng = np.random.default_rng(5)
    for n in TAILS + [512, 513, 5000, 70000]:
        for scale in (1.0, 30.0):
            a = (rng.standard_normal((3, n)) * scale).astype(np.float32)
            a64 = a.astype(np.float64)
            m = a64.max(1)
            want = m + np.log(np.exp(a64 - m[:, None]).sum(1))
            got = rtorch.from_numpy(a).logsumexp(1).numpy()
            np.testing.assert_allclose(got, want, rtol=2.0**-23, atol=2.0**-22)
        p = (1 + 0.01 * rng.standard_normal((3, n))).astype(np.float32)
        t = rtorch.from_numpy(p)
        got = t.prod(1).numpy()
        assert (got == t.double().prod(1).float().numpy()).all(), n
        np.testing.assert_allclose(got, p.astype(np.float64).prod(1), rtol=2.0**-23)
    special = rtorch.tensor(
        [[float("inf"), 1.0], [float("-inf"), float("-inf")], [float("nan"), 1.0], [1e30, 1e30]]
    )
    got = special.logsumexp(1).tolist()
    assert got[:2] == [float("inf"), float("-inf")] and np.isnan(got[2])
    assert got[3] == np.float32(1e30 + np.log(2.0))
    assert rtorch.tensor([[2.0, float("nan"), 0.0]]).prod(1).isnan().all()


def check_cross_entropy() -> None:
    rng = np.random.default_rng(1)
    F = rtorch.nn.functional
    for c in [1, 7, 17, 33, 1000]:
        x = (rng.standard_normal((5, c)) * 3).astype(np.float32)
        tgt = rng.integers(0, c, 5)
        t = rtorch.from_numpy(x).requires_grad_(True)
        loss = F.cross_entropy(t, rtorch.from_numpy(tgt), label_smoothing=0.1)
        logp = _np_log_softmax(x.astype(np.float64), 1)
        nll = -logp[np.arange(5), tgt]
        want = (0.9 * nll - 0.1 / c * logp.sum(1)).mean()
        np.testing.assert_allclose(loss.item(), want, 1.3e-6, 1e-5)
        loss.backward()
        onehot = np.eye(c)[tgt]
        gwant = (np.exp(logp) - (0.9 * onehot + 0.1 / c)) / 5
        np.testing.assert_allclose(t.grad.numpy(), gwant, 1e-5, 1e-6)


def check_conv() -> None:
    """float32 unit-stride convolutions with up to 64 channels: the direct kernels on avx512
    and avx2 (narrow and 2-, 3- and 4-vector wide weight gradients, position tails), im2col +
    GEMM below them; forward and all gradients against float64 sums."""
    from test_conv_kernel import ref_conv

    import rtorch.nn.functional as F

    rng = np.random.default_rng(5)
    cases = [
        (5, 3, 12, 13, 6, 5, 0),
        (3, 4, 9, 9, 12, 3, 1),
        (2, 24, 8, 8, 40, 3, 1),
        (2, 5, 11, 13, 20, 3, 1),
        (1, 64, 5, 70, 64, 3, 1),
    ]
    for n, c, h, w, o, k, pad in cases:
        x = rng.standard_normal((n, c, h, w)).astype(np.float32)
        wt = rng.standard_normal((o, c, k, k)).astype(np.float32)
        b = rng.standard_normal(o).astype(np.float32)
        ref, grads = ref_conv(x, wt, b, (1, 1), (pad, pad), (1, 1), 1)
        xt, wtt, bt = (rtorch.tensor(a, requires_grad=True) for a in (x, wt, b))
        out = F.conv2d(xt, wtt, bt, padding=pad)
        gy = rng.standard_normal(ref.shape).astype(np.float32)
        out.backward(rtorch.tensor(gy))
        # Sums of up to 576 float32 products of unit-scale values: atol 1e-4.
        tol = {"rtol": 1e-5, "atol": 1e-4}
        for got, want in zip((out.detach(), xt.grad, wtt.grad, bt.grad), (ref, *grads(gy))):
            np.testing.assert_allclose(got.numpy(), want, **tol)


def check_random_stream() -> None:
    """The random fills whose arithmetic runs at this level (uniform and Box-Muller with
    their fused multiply-adds, by FMA instructions or the C library's fma), against the
    numpy reference of PyTorch's stream: the same values on every level."""
    import test_random_stream as ts

    for mean, std in ((0.0, 1.0), (0.5, 2.3)):
        for n in (17, 100_003):
            ts.test_normal_float32_vectorised(n, mean, std)
    ts.test_normal_float64(1003)
    ts.test_uniform_float32(-2.5, 7.25)
    ts.test_uniform_float64(-0.3, 0.7)
    ts.test_randperm(300)


def check_exp_f64() -> None:
    """float64 exp (vectorised, separate multiplies and adds) within 2 ulp of numpy's
    over its whole range, the same bits contiguous, strided and in place, and its
    special values; 70_001 values: parallel chunks and a tail."""
    x = np.concatenate(
        [
            np.linspace(-746.0, 710.0, 50_000),
            np.linspace(-1.0, 1.0, 20_000),
            [0.0, -0.0, np.inf, -np.inf, np.nan, 709.78, 709.79, -745.1],
        ]
    )[:70_001]
    got = rtorch.from_numpy(x).exp().numpy()
    with np.errstate(over="ignore"):
        want = np.exp(x)
    fin = np.isfinite(want) & (want > 0)
    err = np.abs(got[fin] - want[fin]) / np.spacing(want[fin])
    assert err.max() <= 2, (float(err.max()), x[fin][err.argmax()])
    np.testing.assert_array_equal(got[~fin], want[~fin])
    strided = rtorch.from_numpy(np.repeat(x, 2))[::2].exp().numpy()
    np.testing.assert_array_equal(strided, got)
    inplace = rtorch.from_numpy(x.copy())
    inplace.exp_()
    np.testing.assert_array_equal(inplace.numpy(), got)


def check_half_flat() -> None:
    """The one-pass float16/bfloat16 binary loops (F16C 8 or 16 lanes, bfloat16 by
    shifts; the blocked walk on default), flat and by rows against a broadcast row,
    against numpy float32 rounded once."""
    from test_half_maps import (
        FLAT_OPS,
        test_half_flat_one_pass_is_float32_rounded_once,
        test_half_row_broadcast_is_float32_rounded_once,
    )

    for dtype in (rtorch.float16, rtorch.bfloat16):
        for name in FLAT_OPS:
            for n in (17, 1007):
                test_half_flat_one_pass_is_float32_rounded_once(name, dtype, n)
        for name in ("add", "div", "copysign"):
            for shape in ((3, 17), (7, 1000)):
                test_half_row_broadcast_is_float32_rounded_once(name, dtype, shape)


def check_half_scans() -> None:
    """float16/bfloat16 cumsum: blocks widened and rounded by the slice conversions
    (F16C on AVX2 and up, the portable loops on default), along the last dim and down
    a leading one, against numpy's float32 running sums rounded once."""
    from test_scan import test_half_scans_accumulate_in_float32_as_pytorch

    for dtype in (rtorch.float16, rtorch.bfloat16):
        for shape, dim in (((600, 700), 1), ((700, 600), 0), ((3, 5, 7), 1)):
            test_half_scans_accumulate_in_float32_as_pytorch(dtype, shape, dim, "contiguous")


def check_transposing_copies() -> None:
    # `.contiguous()` of a transposed or permuted tensor: register blocks for 2-, 4-
    # and 8-byte types on AVX2 and up (8 x 8, 4 x 4 for 8 bytes), tiles or the plain
    # walk otherwise. Sides around the
    # block and task edges, power-of-two steps and others, outer dims; exact copies.
    rng = np.random.default_rng(5)
    cases = [
        ((8, 8), (1, 0)),
        ((4, 6), (1, 0)),
        ((9, 31), (1, 0)),
        ((256, 256), (1, 0)),
        ((100, 1000), (1, 0)),
        ((33, 1024), (1, 0)),
        ((3, 70, 41), (0, 2, 1)),
        ((2, 5, 24, 40), (1, 3, 0, 2)),
    ]
    for dtype in ["float32", "int32", "float64", "int64", "int16", "float16", "uint8"]:
        for shape, perm in cases:
            a = (rng.standard_normal(shape) * 100).astype(dtype)
            got = rtorch.from_numpy(a).permute(*perm).contiguous()
            assert got.is_contiguous()
            assert np.array_equal(got.numpy(), a.transpose(perm)), (dtype, shape, perm)
    # Bits move unchanged: NaN payloads and signed zeros.
    for ints, floats in [(np.uint16, np.float16), (np.uint32, np.float32), (np.uint64, np.float64)]:
        bits = rng.integers(0, np.iinfo(ints).max, size=(40, 24), dtype=ints)
        got = rtorch.from_numpy(bits.view(floats)).t().contiguous().numpy()
        assert np.array_equal(got.view(ints), bits.T), floats


def check_extremes() -> None:
    """amax/amin (the lane scan with its tree and tail, and the leading-dim row fold)
    for each dtype against numpy, NaN anywhere winning."""
    rng = np.random.default_rng(5)
    dtypes = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8")
    for dtype in dtypes + ("uint8",):
        for shape, dim in (((TAILS[-1],), None), ((9, 33), 1), ((37, 1025), 0), ((67, 5, 17), 0)):
            a = rng.integers(0, 100, shape) if dtype == "uint8" else rng.standard_normal(shape) * 60
            x = rtorch.tensor(a).to(getattr(rtorch, dtype))
            ref = x.double().numpy()
            for fn, np_fn in ((rtorch.amax, np.max), (rtorch.amin, np.min)):
                got = fn(x) if dim is None else fn(x, dim)
                want = np_fn(ref) if dim is None else np_fn(ref, axis=dim)
                np.testing.assert_array_equal(
                    got.double().numpy(), want, err_msg=f"{dtype} {shape}"
                )
    # The 16-bit floats compare through their bits: signed zeros, infinities, NaNs of
    # either sign, against the float32 reduction (it selects the same elements).
    special = np.array([-0.0, 0.0, np.inf, -np.inf, -3.5, 2.0, -1e-3, 7e-5, 1e4, -1e4])
    for dtype in (rtorch.float16, rtorch.bfloat16):
        for nan in (None, 1.0, -1.0):
            a = rng.choice(special, (37, 1025))
            if nan is not None:
                a[rng.integers(0, 37, 40), rng.integers(0, 1025, 40)] = np.copysign(np.nan, nan)
            x = rtorch.tensor(a).to(dtype)
            for fn in (rtorch.amax, rtorch.amin):
                for dim in (0, 1, None):
                    got = fn(x) if dim is None else fn(x, dim)
                    want = fn(x.float()) if dim is None else fn(x.float(), dim)
                    np.testing.assert_array_equal(
                        got.float().numpy(), want.numpy(), err_msg=f"{dtype} {dim} {nan}"
                    )
    # max/min with indices (an integer order-key scan for all but float32): the first
    # of equal values, -0 and +0 alike, the first NaN winning; against numpy's
    # argmax/argmin, which pick the same element, sign of zero included.
    for dtype in dtypes:
        for dim in (0, 1):
            if dtype.startswith("int"):
                a = rng.integers(-3, 4, (37, 1025)).astype(np.float64)
            else:
                a = rng.choice(special, (37, 1025))
                a[rng.integers(0, 37, 20), rng.integers(0, 1025, 20)] = np.nan
            x = rtorch.tensor(a).to(getattr(rtorch, dtype))
            ref = x.double().numpy()
            for fn, np_arg in ((rtorch.max, np.argmax), (rtorch.min, np.argmin)):
                got = fn(x, dim)
                idx = np_arg(ref, axis=dim)
                want = np.take_along_axis(ref, np.expand_dims(idx, dim), dim).squeeze(dim)
                np.testing.assert_array_equal(got.indices.numpy(), idx, err_msg=f"{dtype} {dim}")
                vals = got.values.double().numpy()
                np.testing.assert_array_equal(vals, want, err_msg=f"{dtype} {dim}")
                assert (np.signbit(vals) == np.signbit(want)).all(), (dtype, dim)
    # float16 sums over a leading dim widen each value branch-free (subnormals, infinities
    # and NaNs included): the same float32 sums as the float32 reduction, rounded once.
    values = np.array([1e-7, -3e-6, 6e-5, 0.5, -2.25, 1000.0, -0.0])
    for extra in (None, np.inf, np.nan):
        a = rng.choice(values, (37, 1025))
        if extra is not None:
            a[rng.integers(0, 37, 20), rng.integers(0, 1025, 20)] = extra
        x = rtorch.tensor(a).to(rtorch.float16)
        want = x.float().sum(0).to(rtorch.float16)
        np.testing.assert_array_equal(x.sum(0).float().numpy(), want.float().numpy())
    for n in TAILS:
        for pos in {0, n // 2, n - 1}:
            x = rtorch.ones(n)
            x[pos] = float("nan")
            assert rtorch.amax(x).isnan().item() and rtorch.amin(x).isnan().item(), (n, pos)


def check_short_rows() -> None:
    """sum, mean, 2-norm, product, amax, amin and max/min(dim) of float32 rows up to 256
    long (the grouped kernels: rows folded into one register each, groups of 16 or 8
    rows reduced together, a tail through a masked load, a short last group; the
    norm's and product's float64 lanes row after row), against numpy float64; a NaN at
    any position of a row is that row's amax and amin, and no other row's."""
    rng = np.random.default_rng(11)
    for c in (1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 100, 255, 256, 257):
        for n in (1, 5, 8, 9, 16, 17, 33):
            a = rng.standard_normal((n, c)).astype(np.float32)
            x = rtorch.tensor(a)
            ref = a.astype(np.float64)
            for fn, want in ((rtorch.amax, ref.max(1)), (rtorch.amin, ref.min(1))):
                np.testing.assert_array_equal(fn(x, 1).numpy(), want, err_msg=f"{n}x{c}")
            tol = 1e-6 * np.abs(ref).sum(1) + 1e-7
            assert (np.abs(x.sum(1).numpy() - ref.sum(1)) <= tol).all(), (n, c)
            assert (np.abs(x.mean(1).numpy() - ref.mean(1)) <= tol / c).all(), (n, c)
            # The 2-norm and the product: float64 lanes, a row at a time.
            norm = np.sqrt((ref * ref).sum(1))
            np.testing.assert_allclose(x.norm(dim=1).numpy(), norm, rtol=2e-7, err_msg=f"{c}")
            prod = x.prod(1, dtype=rtorch.float64).numpy()
            np.testing.assert_allclose(prod, ref.prod(1), rtol=1e-13, err_msg=f"{n}x{c}")
            # Division by a value per row (rows of a multiple of 16: 16 lanes at a time).
            col = a[:, :1] + np.float32(3.0)
            np.testing.assert_array_equal((x / rtorch.tensor(col)).numpy(), a / col)
        # max/min along the dim: the value and its first position, ties included.
        a = rng.integers(-3, 4, (37, c)).astype(np.float32)
        x = rtorch.tensor(a)
        for fn, vf, af in ((rtorch.max, np.max, np.argmax), (rtorch.min, np.min, np.argmin)):
            v, i = fn(x, 1)
            np.testing.assert_array_equal(v.numpy(), vf(a, 1), err_msg=f"{c}")
            np.testing.assert_array_equal(i.numpy(), af(a, 1), err_msg=f"{c}")
        # A NaN in one row, at its first, a middle, its last (tail) position; a second
        # NaN after it does not move max(dim)'s index.
        for pos in {0, c // 2, c - 1}:
            a = rng.standard_normal((19, c)).astype(np.float32)
            a[17, pos] = np.nan
            a[17, -1] = np.nan
            x = rtorch.tensor(a)
            for fn in (rtorch.amax, rtorch.amin):
                assert fn(x, 1).isnan().nonzero().flatten().tolist() == [17], (c, pos, fn)
            for fn in (rtorch.max, rtorch.min):
                v, i = fn(x, 1)
                assert v.isnan().nonzero().flatten().tolist() == [17], (c, pos, fn)
                assert i[17].item() == pos, (c, pos, fn)
        # -0.0 and 0.0 tie: max(dim) gives the first one's value and index.
        a = np.zeros((3, c), np.float32) - 1
        a[:, -1] = 0.0
        a[1, c // 2] = -0.0
        v, i = rtorch.max(rtorch.tensor(a), 1)
        assert i.tolist() == [c - 1, c // 2, c - 1]
        assert np.signbit(v.numpy()).tolist() == [False, True, False], c
        # Rows of infinities (the padding's values) and of -0.0 (PyTorch's sum: +0.0).
        x = rtorch.full((17, c), float("-inf"))
        assert (rtorch.amax(x, 1) == float("-inf")).all() and (
            rtorch.amin(x, 1) == float("-inf")
        ).all()
        x = rtorch.full((17, c), float("inf"))
        assert (rtorch.amin(x, 1) == float("inf")).all() and (
            rtorch.amax(x, 1) == float("inf")
        ).all()
        s = rtorch.full((17, c), -0.0).sum(1).numpy()
        assert (s == 0).all() and not np.signbit(s).any(), c


def run_checks() -> None:
    want = os.environ.get("RTORCH_CPU_CAPABILITY")
    if want:
        assert _C._cpu_capability()[0] == want, (_C._cpu_capability(), want)
    worst = check_transcendentals()
    check_exp_paths_agree()
    check_pow()
    check_softmax()
    check_glu()
    check_ctc()
    check_cross_entropy()
    check_activation_gradients()
    check_norms_and_variance()
    check_logsumexp_and_prod()
    check_conv()
    check_random_stream()
    check_exp_f64()
    check_half_flat()
    check_half_scans()
    check_transposing_copies()
    check_extremes()
    check_short_rows()
    print("ok", _C._cpu_capability()[0], worst)


@pytest.mark.parametrize("level", LEVELS)
def test_every_simd_path_in_a_subprocess(level):
    if level not in _available():
        pytest.skip(f"this CPU has no {level} path")
    env = dict(os.environ, RTORCH_CPU_CAPABILITY=level, RTORCH_NUM_THREADS="1")
    r = subprocess.run(
        [sys.executable, os.path.abspath(__file__)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith(f"ok {level}"), r.stdout


def test_override_cannot_raise_the_level():
    env = dict(os.environ, RTORCH_CPU_CAPABILITY="avx512")
    code = "from rtorch import _C; print(*_C._cpu_capability())"
    r = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    used, hw = r.stdout.split()
    assert used == hw


if __name__ == "__main__":
    run_checks()
