"""The GEMM kernels behind matmul/mm/bmm/addmm/baddbmm/linear: odd sizes and SIMD tails,
transposed, strided and expanded operands, batch broadcast, empty dims, every float
dtype (bfloat16 on AMX tiles and on the float32 fallback), the batch scheduling, and
bitwise-identical results for any thread count. References are numpy float64 products
of the (rounded) inputs.

Tolerances: a float32 (float64) product of length k carries at most about
k * 2**-24 (2**-53) of sum |a_i| |b_i| of rounding error; we allow 2 k u of that sum
plus a tiny atol. bfloat16 / float16 results are accumulated in float32 and rounded
once, so they also get the final rounding: 2**-8 (2**-11) of |result|.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_script, with_threads

import rtorch
import rtorch.nn.functional as F

RNG = np.random.default_rng(12)
ODD = [1, 7, 17, 33, 65, 129]
UNIT = {rtorch.float32: 2.0**-24, rtorch.float64: 2.0**-53}
FINAL = {rtorch.bfloat16: 2.0**-8, rtorch.float16: 2.0**-11}


def npv(t: rtorch.Tensor) -> np.ndarray:
    """float64 numpy copy of a tensor's values."""
    if t.dtype in (rtorch.bfloat16, rtorch.float16):
        t = t.float()
    return np.asarray(t.contiguous().numpy(), dtype=np.float64)


def mk(shape, dtype=rtorch.float32) -> rtorch.Tensor:
    return rtorch.from_numpy(RNG.standard_normal(shape)).to(dtype)


def check(got: rtorch.Tensor, a: np.ndarray, b: np.ndarray, dtype, k: int) -> None:
    """got vs a @ b in float64 with the k- and dtype-scaled bound described above."""
    ref = np.matmul(a, b)
    mag = np.matmul(np.abs(a), np.abs(b))
    assert tuple(got.shape) == ref.shape
    assert got.dtype == dtype
    u = UNIT.get(dtype, 2.0**-24)
    bound = 2 * max(k, 1) * u * mag + FINAL.get(dtype, 0.0) * np.abs(ref) + 1e-30
    err = np.abs(npv(got) - ref)
    assert np.all(err <= bound), f"max excess {np.max(err - bound)}"


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
@pytest.mark.parametrize("m", ODD)
def test_odd_sizes(dtype, m):
    for k in ODD:
        for n in (1, 17, 65, 129):
            a, b = mk((m, k), dtype), mk((k, n), dtype)
            check(a @ b, npv(a), npv(b), dtype, k)


@pytest.mark.parametrize("dtype", [rtorch.bfloat16, rtorch.float16])
def test_half_odd_sizes(dtype):
    for m, k, n in [
        (1, 7, 17),
        (17, 33, 65),
        (33, 65, 17),
        (65, 129, 33),
        (129, 17, 65),
        (16, 32, 16),
        (64, 64, 64),
        (7, 300, 9),
    ]:
        a, b = mk((m, k), dtype), mk((k, n), dtype)
        check(a @ b, npv(a), npv(b), dtype, k)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64, rtorch.bfloat16, rtorch.float16])
def test_transposed_and_strided_operands(dtype):
    for m, k, n in [(33, 65, 17), (70, 40, 130)]:
        at = mk((k, m), dtype).t()  # column-major view
        bt = mk((n, k), dtype).t()
        check(at @ bt, npv(at), npv(bt), dtype, k)
        # every other row and column of bigger buffers
        a2 = mk((2 * m, 2 * k), dtype)[::2, ::2]
        b2 = mk((2 * k, 3 * n), dtype)[::2, ::3]
        assert not a2.is_contiguous()
        check(a2 @ b2, npv(a2), npv(b2), dtype, k)
        check(rtorch.mm(at, b2), npv(at), npv(b2), dtype, k)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.bfloat16])
def test_batched_broadcast_and_bmm(dtype):
    # many small products (parallel over the batch)
    a, b = mk((64, 17, 33), dtype), mk((64, 33, 65), dtype)
    check(rtorch.bmm(a, b), npv(a), npv(b), dtype, 33)
    # few large ones (parallel inside each product)
    a, b = mk((3, 129, 65), dtype), mk((3, 65, 130), dtype)
    check(rtorch.bmm(a, b), npv(a), npv(b), dtype, 65)
    # broadcast batch dims (stride-0 operands), transposed inside the batch
    a = mk((4, 1, 33, 17), dtype)
    b = mk((5, 65, 17), dtype).transpose(-1, -2)
    check(a @ b, npv(a), npv(b), dtype, 17)
    w = mk((17, 9), dtype)
    check(a @ w, npv(a), npv(w), dtype, 17)


@pytest.mark.parametrize("threads", [1, 2])
def test_half_linear_with_transposed_weight(threads):
    # float16 x @ w.t(): w is widened in its own row order and multiplied as a
    # transposed float32 operand (in column slabs over the threads when large enough);
    # odd sizes, with a bias (added to the float32 sums, one rounding), against numpy in
    # float64.
    def run():
        for m, k, n in [(5, 33, 17), (64, 300, 130), (256, 300, 260)]:
            x, w = mk((m, k), rtorch.float16), mk((n, k), rtorch.float16)
            xs, ws = npv(x), npv(w).T
            check(x @ w.t(), xs, ws, rtorch.float16, k)
            bias = mk((n,), rtorch.float16)
            got = npv(F.linear(x, w, bias))
            prod, mag = xs @ ws, np.abs(xs) @ np.abs(ws)
            want = prod + npv(bias)
            bound = 2 * k * 2.0**-24 * mag + 2.0**-11 * (np.abs(prod) + np.abs(want)) + 1e-30
            assert (np.abs(got - want) <= bound).all(), (m, k, n)

    with_threads(threads, run)


@pytest.mark.parametrize("dtype, ulp", [(rtorch.bfloat16, 2.0**-7), (rtorch.float16, 2.0**-10)])
@pytest.mark.parametrize("m", [5, 40])
def test_half_linear_adds_the_bias_before_its_one_rounding(dtype, ulp, m):
    # Each row of x @ w.t() is 1 + 0.75 ulp (exact in float32); the bias is -0.25 ulp.
    # Rounded once (PyTorch's addmm) the sum is 1 + 0.5 ulp, a tie that goes to the even
    # 1.0; rounding the product first would give 1 + ulp. m = 5 takes the float32 route,
    # m = 40 the native bfloat16 kernel where the machine has one. Bias as (n,) and (1, n).
    k, n = 64, 40
    x = np.zeros((m, k))
    x[:, 0], x[:, 1] = 1.0, 0.75 * ulp
    w = np.zeros((n, k))
    w[:, :2] = 1.0
    xt, wt = rtorch.from_numpy(x).to(dtype), rtorch.from_numpy(w).to(dtype)
    for bias in (np.full(n, -0.25 * ulp), np.full((1, n), -0.25 * ulp)):
        got = F.linear(xt, wt, rtorch.from_numpy(bias).to(dtype))
        np.testing.assert_array_equal(npv(got), np.ones((m, n)))
        got = rtorch.addmm(rtorch.from_numpy(bias).to(dtype), xt, wt.t())
        np.testing.assert_array_equal(npv(got), np.ones((m, n)))


@pytest.mark.parametrize("dtype", [rtorch.bfloat16, rtorch.float16])
def test_half_linear_with_bias_backward(dtype):
    # The fused 16-bit addmm records AddmmBackward0 like the float32 one; gradients
    # against numpy float64 on the (rounded) values.
    m, k, n = 40, 70, 48
    x, w, b = mk((m, k), dtype), mk((n, k), dtype), mk((n,), dtype)
    for t in (x, w, b):
        t.requires_grad_()
    out = F.linear(x, w, b)
    assert out.grad_fn.name() == "AddmmBackward0"
    g = mk((m, n), dtype)
    out.backward(g)
    gv, xv, wv = npv(g), npv(x.detach()), npv(w.detach())
    tol = 2 * 2.0**-8 if dtype == rtorch.bfloat16 else 2 * 2.0**-11
    for got, want, mag in [
        (x.grad, gv @ wv, np.abs(gv) @ np.abs(wv)),
        (w.grad, gv.T @ xv, np.abs(gv.T) @ np.abs(xv)),
        (b.grad, gv.sum(0), np.abs(gv).sum(0)),
    ]:
        assert np.all(np.abs(npv(got) - want) <= tol * mag + 1e-30)
    # A bias that is not a row (here a full (m, n) matrix) takes the composed path.
    full = mk((m, n), dtype)
    got = npv(rtorch.addmm(full, x.detach(), w.detach().t()))
    prod = xv @ wv.T
    assert np.all(
        np.abs(got - (prod + npv(full))) <= tol * (np.abs(xv) @ np.abs(wv.T) + np.abs(npv(full)))
    )


def test_empty_dims():
    for sa, sb in [((0, 5), (5, 3)), ((4, 0), (0, 3)), ((4, 5), (5, 0)), ((0, 4, 5), (0, 5, 3))]:
        for dtype in (rtorch.float32, rtorch.bfloat16, rtorch.float16):
            a, b = rtorch.ones(*sa, dtype=dtype), rtorch.ones(*sb, dtype=dtype)
            r = rtorch.matmul(a, b)
            ref = np.matmul(np.ones(sa), np.ones(sb))
            assert tuple(r.shape) == ref.shape and r.dtype == dtype
            np.testing.assert_array_equal(npv(r), ref)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64, rtorch.bfloat16])
def test_addmm_baddbmm_linear(dtype):
    m, k, n = 33, 65, 17
    inp, a, b = mk((n,), dtype), mk((m, k), dtype), mk((k, n), dtype)
    got = rtorch.addmm(inp, a, b, beta=0.5, alpha=2.0)
    ref_prod = npv(a) @ npv(b)
    ref = 0.5 * npv(inp) + 2.0 * ref_prod
    mag = np.abs(npv(a)) @ np.abs(npv(b))
    u = UNIT.get(dtype, 2.0**-24)
    tol = 2 * (k + 2) * u * 2 * mag + FINAL.get(dtype, 0.0) * (np.abs(ref) + 2 * np.abs(ref_prod))
    assert np.all(np.abs(npv(got) - ref) <= tol + 4 * u * np.abs(npv(inp)))
    # baddbmm with a broadcast input
    bi, b1, b2 = mk((1, n), dtype), mk((6, m, k), dtype), mk((6, k, n), dtype)
    got = rtorch.baddbmm(bi, b1, b2)
    prod = npv(b1) @ npv(b2)
    ref = npv(bi) + prod
    mag = np.abs(npv(b1)) @ np.abs(npv(b2))
    tol = 2 * (k + 2) * u * mag + FINAL.get(dtype, 0.0) * (np.abs(ref) + np.abs(prod))
    assert np.all(np.abs(npv(got) - ref) <= tol + 2 * u * np.abs(npv(bi)))
    # linear: x (batch, in) @ weight (out, in)^T + bias
    x, wt, bias = mk((5, 7, k), dtype), mk((n, k), dtype), mk((n,), dtype)
    got = F.linear(x, wt, bias)
    prod = npv(x) @ npv(wt).T
    ref = prod + npv(bias)
    mag = np.abs(npv(x)) @ np.abs(npv(wt)).T
    tol = 2 * (k + 2) * u * mag + FINAL.get(dtype, 0.0) * (np.abs(ref) + np.abs(prod))
    assert np.all(np.abs(npv(got) - ref) <= tol + 2 * u * np.abs(npv(bias)))


CASES = [
    ((256, 256), (256, 256), rtorch.float32),  # one product split over the threads
    ((64, 64, 64), (64, 64, 64), rtorch.float32),  # batch spread over the threads
    ((3, 200, 130), (130, 150), rtorch.float64),  # a batch that does not divide evenly
    ((256, 192), (192, 160), rtorch.bfloat16),
    ((16, 64, 96), (16, 96, 48), rtorch.bfloat16),
    ((130, 70), (70, 90), rtorch.float16),
]


def test_thread_count_does_not_change_results():
    before = rtorch.get_num_threads()
    try:
        for sa, sb, dtype in CASES:
            a, b = mk(sa, dtype), mk(sb, dtype)
            a_t = mk(sa[::-1], dtype).transpose(0, -1) if len(sa) == 2 else a
            rtorch.set_num_threads(1)
            r1, r1t = a @ b, a_t @ b
            rtorch.set_num_threads(2)
            r2, r2t = a @ b, a_t @ b
            rtorch.set_num_threads(3)
            r3 = a @ b
            assert rtorch.equal(r1, r2) and rtorch.equal(r1, r3), (sa, sb, dtype)
            assert rtorch.equal(r1t, r2t), (sa, sb, dtype)
    finally:
        rtorch.set_num_threads(before)


# Products with a transposed B (Linear's x @ w.t(), attention's q @ k^T) run as column
# slabs of (n / 8 rounded up to 16, at least 64) columns when A is row-major, n >= 128,
# m <= 2n and m*n*k >= 2**20, each slab of B copied row-major first: n = 200 leaves a
# partial last slab, m = 600 > 2n and a transposed A take the plain path.
NT_CASES = [
    ((64, 784), (128, 784)),
    ((100, 300), (200, 300)),
    ((256, 256), (256, 256)),
    ((600, 64), (200, 64)),
    ((3, 80, 96), (3, 150, 96)),
]


@pytest.mark.parametrize("sa, sw", NT_CASES)
def test_transposed_b_column_slabs(sa, sw):
    before = rtorch.get_num_threads()
    try:
        a, w = mk(sa), mk(sw)
        bias = mk(sw[-2:-1])
        a_t = mk(sa[::-1]).t() if len(sa) == 2 else None
        got = {}
        for threads in (1, 2, 3):
            rtorch.set_num_threads(threads)
            r = [a @ w.transpose(-2, -1)]
            if len(sa) == 2:
                r += [F.linear(a, w, bias), rtorch.addmm(bias, a, w.t()), a_t @ w.t()]
            got[threads] = r
        k = sa[-1]
        wt = np.swapaxes(npv(w), -1, -2)
        check(got[1][0], npv(a), wt, rtorch.float32, k)
        if len(sa) == 2:
            check(got[1][1] - bias, npv(a), wt, rtorch.float32, k)
            check(got[1][3], npv(a_t), wt, rtorch.float32, k)
            assert rtorch.equal(got[1][1], got[1][2])
        for threads in (2, 3):
            for r1, r in zip(got[1], got[threads]):
                assert rtorch.equal(r1, r), (sa, sw, threads)
    finally:
        rtorch.set_num_threads(before)


# The same slabs in float64, with B a view whose rows are longer than k (a column
# slice of a wider matrix), and with k large enough that a slab's row-major copy
# (4 MiB at most) narrows the slabs to 96 columns (k = 5000), the last one partial.
NT_COPY_CASES = [
    (8, 5000, 1000, 5000, rtorch.float32),
    (8, 5000, 1000, 5000, rtorch.float64),
    (64, 300, 200, 437, rtorch.float32),
    (48, 333, 150, 333, rtorch.float64),
]


@pytest.mark.parametrize("m, k, n, row, dtype", NT_COPY_CASES)
def test_transposed_b_slab_copies(m, k, n, row, dtype):
    a = mk((m, k), dtype)
    w = mk((n, row), dtype)[:, :k]
    bias = mk((n,), dtype)
    got = {t: with_threads(t, lambda: (a @ w.t(), F.linear(a, w, bias))) for t in (1, 2, 3)}
    check(got[1][0], npv(a), npv(w).T, dtype, k)
    check(got[1][1] - bias, npv(a), npv(w).T, dtype, k)
    for t in (2, 3):
        for r1, r in zip(got[1], got[t]):
            assert rtorch.equal(r1, r), (m, k, n, t)


# Threaded float products with a row-major output run as one slab per thread: column
# slabs when A is row-major and m >= 128, else row slabs when B is row-major and
# n >= 128; slabs are multiples of 16, at least 64 wide, and the product has at least
# 2**22 multiply-adds. k = 1100 spans several of the crate's k-blocks. The cases give
# partial last slabs at 2, 3 and 4 threads, a product too narrow to cut at 3 and 4
# threads (m = 130 as rows), and both operands transposed (the crate's own split).
CUT_CASES = [
    (400, 1100, 300, "nn", rtorch.float32),
    (400, 1100, 300, "tn", rtorch.float32),
    (130, 1100, 300, "tn", rtorch.float32),
    (400, 1100, 300, "tt", rtorch.float32),
    (200, 700, 392, "nn", rtorch.float64),
    (392, 700, 200, "tn", rtorch.float64),
]


@pytest.mark.parametrize("m, k, n, layout, dtype", CUT_CASES)
def test_thread_slabs_any_thread_count(m, k, n, layout, dtype):
    before = rtorch.get_num_threads()
    try:
        a = mk((m, k), dtype) if layout[0] == "n" else mk((k, m), dtype).t()
        b = mk((k, n), dtype) if layout[1] == "n" else mk((n, k), dtype).t()
        c = mk((m, n), dtype)
        got = {}
        for threads in (1, 2, 3, 4):
            rtorch.set_num_threads(threads)
            got[threads] = (a @ b, rtorch.addmm(c, a, b))
        check(got[1][0], npv(a), npv(b), dtype, k)
        check(got[1][1] - c, npv(a), npv(b), dtype, k + 1)
        for threads in (2, 3, 4):
            for r1, r in zip(got[1], got[threads]):
                assert rtorch.equal(r1, r), (m, k, n, layout, threads)
    finally:
        rtorch.set_num_threads(before)


def test_bf16_transposed_weight_any_thread_count():
    # x @ w.t() in bfloat16 on the native kernel: products of 2**23 multiply-adds and
    # more spread their packing and blocks over the threads (256x300x260), smaller
    # ones stay on the calling thread (64x784x128); the bits never depend on it.
    before = rtorch.get_num_threads()
    try:
        for m, k, n in [(256, 300, 260), (64, 784, 128), (16, 256, 256)]:
            x, w = mk((m, k), rtorch.bfloat16), mk((n, k), rtorch.bfloat16)
            got = {}
            for threads in (1, 2, 3):
                rtorch.set_num_threads(threads)
                got[threads] = x @ w.t()
            check(got[1], npv(x), npv(w).T, rtorch.bfloat16, k)
            assert rtorch.equal(got[1], got[2]) and rtorch.equal(got[1], got[3]), (m, k, n)
    finally:
        rtorch.set_num_threads(before)


def test_bf16_rounds_once_from_float32():
    # sum of 256 products of 1 + 2^-8 style values: float32 accumulation keeps the
    # low bits that a bfloat16 accumulator would lose.
    a = rtorch.full((16, 256), 1.0 + 2.0**-7, dtype=rtorch.bfloat16)
    b = rtorch.full((256, 16), 1.0 + 2.0**-7, dtype=rtorch.bfloat16)
    exact = 256 * (1.0 + 2.0**-7) ** 2
    got = npv(a @ b)
    want = npv(rtorch.tensor(exact, dtype=rtorch.float32).to(rtorch.bfloat16))
    np.testing.assert_array_equal(got, np.full((16, 16), want))


_FALLBACK_SCRIPT = """
import numpy as np, rtorch
rng = np.random.default_rng(3)
# k > 512: the k-chunked accumulation; odd sizes leave tails everywhere. b is a
# transposed weight (Linear's x @ w.t()): whole 32-column panels of it are packed by
# 16 x 16 transposes of k-pairs (odd k: a half pair; k % 32: a masked last k-tile), a
# partial last panel element by element.
# A is read in place by the AVX512-BF16 kernel when its rows are unit-stride, k % 32 == 0,
# m >= 32 and the row stride is not a multiple of 4 KiB (else, k = 2048 or a column-major
# A, each k-chunk of a row block is copied); m % 32 != 0 then recomputes the last 32
# rows' overlap; a[:, :k] of a wider tensor has a row stride other than k. 1000 x 96 x 128 runs on two threads with rows cut in two parts.
def check(a, b):
    k = a.shape[1]
    ref = a.double().numpy() @ b.double().numpy()
    mag = np.abs(a.double().numpy()) @ np.abs(b.double().numpy())
    got = (a @ b).double().numpy()
    assert np.all(np.abs(got - ref) <= 2 * k * 2.0**-24 * mag + 2.0**-8 * np.abs(ref)), (
        tuple(a.shape), tuple(b.shape), a.stride(), b.stride())
for m, k, n in [(17, 33, 65), (64, 64, 64), (129, 70, 40), (40, 1100, 50), (33, 513, 31),
                (48, 95, 96), (20, 64, 160), (64, 784, 128), (70, 96, 40), (1000, 128, 96),
                (40, 2048, 33)]:
    a = rtorch.from_numpy(rng.standard_normal((m, k))).to(rtorch.bfloat16)
    b = rtorch.from_numpy(rng.standard_normal((n, k))).to(rtorch.bfloat16)
    check(a, b.t())
    check(a, b.t().contiguous())
    wide = rtorch.from_numpy(rng.standard_normal((m, k + 48))).to(rtorch.bfloat16)
    check(wide[:, 8:k + 8], b.t())
    check(a.t().contiguous().t(), b.t().contiguous())  # A column-major: AVX-512 transposes
print("ok", rtorch._C._bf16_matmul_kernel())
"""


def _run_bf16_script(**env: str) -> list[str]:
    return run_script(_FALLBACK_SCRIPT, **env)


def test_bf16_fallback_without_native_kernels():
    """The float32 path, forced on machines with AMX or AVX512-BF16."""
    out = _run_bf16_script(RTORCH_DISABLE_AMX="1", RTORCH_CPU_CAPABILITY="avx2")
    assert out == ["ok", "float32"]


def test_bf16_native_kernel_with_each_packing():
    """The machine's native kernel (AMX where present) with B's panels packed by the
    AVX-512 transposes, and with the element-by-element packing of the AVX2 level."""
    for env in ({}, {"RTORCH_CPU_CAPABILITY": "avx2"}):
        out = _run_bf16_script(**env)
        assert out[0] == "ok" and out[1] in ("amx", "avx512_bf16", "float32"), env


def test_bf16_avx512_kernel_without_amx():
    """AVX512-BF16 (forced on AMX machines by turning AMX off); the float32 path where
    the CPU lacks it."""
    out = _run_bf16_script(RTORCH_DISABLE_AMX="1")
    assert out[0] == "ok" and out[1] in ("avx512_bf16", "float32")


_AVX2_FLOAT_SCRIPT = """
import numpy as np, rtorch
rng = np.random.default_rng(5)
rtorch.set_num_threads(2)
# Odd sizes (tails in both directions), k > 512 (several k-blocks), each layout, and
# products large enough for one slab per thread.
for dtype, unit in ((rtorch.float32, 2.0**-24), (rtorch.float64, 2.0**-53)):
    for m, k, n in [(17, 33, 65), (129, 70, 40), (40, 1100, 50), (400, 700, 300)]:
        for ta in (False, True):
            for tb in (False, True):
                a = rtorch.from_numpy(rng.standard_normal((k, m) if ta else (m, k))).to(dtype)
                b = rtorch.from_numpy(rng.standard_normal((n, k) if tb else (k, n))).to(dtype)
                a, b = (a.t() if ta else a), (b.t() if tb else b)
                an, bn = a.double().numpy(), b.double().numpy()
                err = np.abs((a @ b).double().numpy() - an @ bn)
                assert np.all(err <= 2 * k * unit * (np.abs(an) @ np.abs(bn))), (m, k, n, ta, tb)
# The recurrent layers' products go through the same call (cpu/rnn.rs).
rnn = rtorch.nn.RNN(40, 70, batch_first=True).double()
x = rtorch.from_numpy(rng.standard_normal((3, 5, 40)))
w_ih, w_hh, b_ih, b_hh = (p.detach().numpy() for p in rnn.parameters())
h = np.zeros((3, 70))
for t in range(5):
    h = np.tanh(x.numpy()[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
assert np.allclose(rnn(x)[0][:, -1].detach().numpy(), h, rtol=1e-12, atol=1e-12)
print("ok")
"""


def test_float_products_with_rtorch_held_to_avx2():
    """float32/float64 products with RTORCH_CPU_CAPABILITY=avx2: on a CPU with AVX-512
    the gemm crate would pick its AVX-512 kernels itself, so rtorch calls the crate's
    AVX2 (FMA) kernels directly there; this runs them on every layout, and in a
    recurrent layer."""
    assert run_script(_AVX2_FLOAT_SCRIPT, RTORCH_CPU_CAPABILITY="avx2") == ["ok"]
