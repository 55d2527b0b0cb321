"""The Rust embedding-bag kernel behind ``F.embedding_bag`` / ``nn.EmbeddingBag``.

Forward and gradients against a float64 numpy reference for sum/mean/max, 1-D input
with offsets (with and without include_last_offset), 2-D input, per-sample weights,
padding_idx and empty bags; gradcheck in float64; a deterministic backward (bitwise
the same for 1 and 2 threads); PyTorch's errors for bad indices and offsets.
"""

from __future__ import annotations

import numpy as np
import pytest

import rtorch
import rtorch.nn.functional as F
from rtorch.autograd import gradcheck

TOL = {"float32": {"rtol": 1.3e-6, "atol": 1e-5}, "float64": {"rtol": 1e-7, "atol": 1e-7}}


def ref_bag(w, idx, bounds, mode, psw=None, pad=None):
    """The bag outputs, and a function giving the weight and per-sample-weight
    gradients (gw, gpsw) for an output gradient gy."""
    _, d = w.shape
    nb = len(bounds) - 1
    out = np.zeros((nb, d))
    arg = np.full((nb, d), -1)
    for b in range(nb):
        ent = [i for i in range(bounds[b], bounds[b + 1]) if idx[i] != pad]
        if not ent:
            continue
        if mode == "max":
            rows = w[[idx[i] for i in ent]]
            j = rows.argmax(0)  # first maximum, as PyTorch's CPU kernel
            out[b] = rows[j, np.arange(d)]
            arg[b] = np.array([idx[ent[k]] for k in j])
        else:
            s = np.array([psw[i] if psw is not None else 1.0 for i in ent])
            out[b] = (w[[idx[i] for i in ent]] * s[:, None]).sum(0)
            if mode == "mean":
                out[b] /= len(ent)

    def grads(gy):
        gw = np.zeros_like(w)
        gp = np.zeros(len(idx))
        for b in range(nb):
            ent = [i for i in range(bounds[b], bounds[b + 1]) if idx[i] != pad]
            if mode == "max":
                for k in range(d):
                    if arg[b, k] >= 0:
                        gw[arg[b, k], k] += gy[b, k]
                continue
            for i in ent:
                s = psw[i] if psw is not None else (1 / len(ent) if mode == "mean" else 1.0)
                gw[idx[i]] += s * gy[b]
                gp[i] = gy[b] @ w[idx[i]]
        return gw, gp

    return out, grads


def _bounds_1d(n, offsets, include_last):
    return list(offsets) if include_last else [*offsets, n]


CASES = [
    # (mode, idx, offsets or None (2-D), include_last, with psw, padding_idx)
    ("sum", [1, 2, 4, 5, 4, 3, 2, 9], [0, 2, 2, 5], False, False, None),
    ("mean", [1, 2, 4, 5, 4, 3, 2, 9], [0, 2, 2, 5], False, False, None),
    ("max", [1, 2, 4, 5, 4, 3, 2, 9], [0, 2, 2, 5], False, False, None),
    ("sum", [1, 2, 4, 5, 4, 3, 2, 9], [0, 3, 3, 6], True, False, None),
    ("mean", [1, 2, 4, 5, 4, 3, 2, 9], [0, 1, 3, 8], True, False, 4),
    ("max", [4, 4, 4, 5, 4, 3, 2, 9], [0, 3, 5], False, False, 4),
    ("sum", [1, 2, 4, 5, 4, 3, 2, 9], [0, 2, 2, 5], False, True, None),
    ("sum", [1, 2, 4, 5, 4, 3, 2, 9], [0, 4, 8], True, True, 2),
    ("sum", [[1, 2, 3], [4, 4, 0], [7, 8, 9]], None, False, False, None),
    ("mean", [[1, 2, 3], [4, 4, 0], [7, 8, 9]], None, False, False, 4),
    ("max", [[1, 2, 3], [4, 4, 0], [7, 8, 9]], None, False, False, None),
    ("sum", [[1, 2, 3], [4, 4, 0], [7, 8, 9]], None, False, True, 0),
    ("mean", [], [0, 0], False, False, None),
]


@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
@pytest.mark.parametrize(("mode", "idx", "offsets", "last", "with_psw", "pad"), CASES, ids=str)
def test_forward_and_backward_match_reference(mode, idx, offsets, last, with_psw, pad, dtype_name):
    rng = np.random.default_rng(0)
    dtype = getattr(rtorch, dtype_name)
    w0 = rng.standard_normal((10, 5))
    idx_np = np.array(idx, dtype=np.int64)
    psw0 = rng.standard_normal(idx_np.shape) if with_psw else None
    if dtype_name == "float32":
        w0 = w0.astype(np.float32).astype(np.float64)
        psw0 = None if psw0 is None else psw0.astype(np.float32).astype(np.float64)
    flat = idx_np.reshape(-1)
    if offsets is None:
        b, l = idx_np.shape
        bounds = [i * l for i in range(b + 1)]
    else:
        bounds = _bounds_1d(flat.size, offsets, last)
    out_ref, grads = ref_bag(
        w0, flat, bounds, mode, None if psw0 is None else psw0.reshape(-1), pad
    )

    w = rtorch.tensor(w0, dtype=dtype, requires_grad=True)
    psw = rtorch.tensor(psw0, dtype=dtype, requires_grad=True) if with_psw else None
    off = rtorch.tensor(offsets, dtype=rtorch.int64) if offsets is not None else None
    out = F.embedding_bag(
        rtorch.tensor(idx_np), w, off, mode=mode, per_sample_weights=psw,
        include_last_offset=last, padding_idx=pad,
    )  # fmt: skip
    assert out.dtype == dtype and tuple(out.shape) == out_ref.shape
    np.testing.assert_allclose(out.detach().numpy(), out_ref, **TOL[dtype_name])
    gy = rng.standard_normal(out_ref.shape)
    if dtype_name == "float32":
        gy = gy.astype(np.float32).astype(np.float64)
    out.backward(rtorch.tensor(gy, dtype=dtype))
    gw, gp = grads(gy)
    np.testing.assert_allclose(w.grad.numpy(), gw, **TOL[dtype_name])
    if with_psw:
        np.testing.assert_allclose(psw.grad.numpy().reshape(-1), gp, **TOL[dtype_name])


def test_module_and_int32_indices():
    m = rtorch.nn.EmbeddingBag(10, 3, mode="sum")
    w0 = m.weight.detach().numpy().astype(np.float64)
    out = m(
        rtorch.tensor([1, 2, 3, 3], dtype=rtorch.int32), rtorch.tensor([0, 1], dtype=rtorch.int32)
    )
    np.testing.assert_allclose(
        out.detach().numpy(), np.stack([w0[1], w0[2] + 2 * w0[3]]), **TOL["float32"]
    )


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_gradcheck(mode):
    rng = np.random.default_rng(1)
    w = rtorch.tensor(rng.standard_normal((6, 3)), dtype=rtorch.float64, requires_grad=True)
    idx = rtorch.tensor([0, 2, 5, 1, 1, 4, 3])
    off = rtorch.tensor([0, 3, 3, 5])
    assert gradcheck(lambda w_: F.embedding_bag(idx, w_, off, mode=mode, padding_idx=1), (w,))
    if mode == "sum":
        p = rtorch.tensor(rng.standard_normal(7), dtype=rtorch.float64, requires_grad=True)
        assert gradcheck(
            lambda w_, p_: F.embedding_bag(idx, w_, off, mode="sum", per_sample_weights=p_),
            (w, p),
        )


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_large_backward_is_bitwise_independent_of_thread_count(mode):
    rng = np.random.default_rng(2)
    num, d, n = 300, 64, 4000  # 256k lookups x columns: above the parallel grain
    w0 = rng.standard_normal((num, d)).astype(np.float32)
    idx = rng.integers(0, num, n)
    offsets = np.sort(rng.choice(np.arange(1, n), 499, replace=False))
    offsets = np.concatenate([[0], offsets])
    gy = rng.standard_normal((500, d)).astype(np.float32)
    before = rtorch.get_num_threads()
    res = []
    try:
        for threads in (1, 2):
            rtorch.set_num_threads(threads)
            w = rtorch.tensor(w0, requires_grad=True)
            out = F.embedding_bag(rtorch.tensor(idx), w, rtorch.tensor(offsets), mode=mode)
            out.backward(rtorch.tensor(gy))
            res.append((out.detach().numpy().copy(), w.grad.numpy().copy()))
    finally:
        rtorch.set_num_threads(before)
    assert np.array_equal(res[0][0], res[1][0]) and np.array_equal(res[0][1], res[1][1])
    bounds = [*offsets.tolist(), n]
    out_ref, grads = ref_bag(w0.astype(np.float64), idx, bounds, mode)
    np.testing.assert_allclose(res[0][0], out_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(res[0][1], grads(gy.astype(np.float64))[0], rtol=1e-4, atol=1e-4)


INDEX_MSG = r"Expected i < index_size to be true, but got false"


def test_errors_match_pytorch():
    w = rtorch.randn(5, 3)
    with pytest.raises(RuntimeError, match=INDEX_MSG):
        F.embedding_bag(rtorch.tensor([0, 1, 7]), w, rtorch.tensor([0, 2]))
    with pytest.raises(RuntimeError, match=INDEX_MSG):
        F.embedding_bag(rtorch.tensor([0, 1, -1]), w, rtorch.tensor([0, 2]))
    with pytest.raises(RuntimeError, match=INDEX_MSG):
        F.embedding_bag(rtorch.tensor([0, 1, 2]), w, rtorch.tensor([0, 3, 1]))
    with pytest.raises(RuntimeError, match=INDEX_MSG):
        F.embedding_bag(rtorch.tensor([[0, 5]]), w)
    with pytest.raises(
        RuntimeError,
        match=r"offsets\[-1\] can not be greater than input's length 3 but got offsets\[-1\] of 5",
    ):
        F.embedding_bag(rtorch.tensor([0, 1, 2]), w, rtorch.tensor([0, 5]))
    with pytest.raises(RuntimeError, match=r"offsets\[0\] has to be 0, .* However, got 1"):
        F.embedding_bag(rtorch.tensor([0, 1, 2]), w, rtorch.tensor([1, 2]))
    with pytest.raises(
        RuntimeError, match="include_last_offset: number of offset should be at least 1"
    ):
        F.embedding_bag(
            rtorch.tensor([0, 1]),
            w,
            rtorch.tensor([], dtype=rtorch.int64),
            include_last_offset=True,
        )
    with pytest.raises(
        RuntimeError,
        match="'per_sample_weights'; but type torch.FloatTensor does not equal torch.DoubleTensor",
    ):
        F.embedding_bag(
            rtorch.tensor([[1, 1]]),
            w,
            mode="sum",
            per_sample_weights=rtorch.ones(1, 2, dtype=rtorch.float64),
        )
    with pytest.raises(
        RuntimeError,
        match="padding_idx must be within the number of embeddings, -5 through 4, but got 7",
    ):
        F.embedding_bag(rtorch.tensor([0, 1]), w, rtorch.tensor([0]), padding_idx=7)
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        F.embedding_bag(rtorch.zeros((2, 0), dtype=rtorch.int64), w)
    with pytest.raises(NotImplementedError, match="only supported for mode='sum'"):
        F.embedding_bag(
            rtorch.tensor([[1, 1]]), w, mode="max", per_sample_weights=rtorch.ones(1, 2)
        )


def test_empty_bags_and_empty_input_give_zeros():
    w = rtorch.randn(5, 3, requires_grad=True)
    for mode in ("sum", "mean", "max"):
        out = F.embedding_bag(
            rtorch.tensor([2, 3], dtype=rtorch.int64), w, rtorch.tensor([0, 0, 2, 2]), mode=mode
        )
        assert (
            out[0].tolist() == [0.0] * 3
            and out[2].tolist() == [0.0] * 3
            and out[3].tolist() == [0.0] * 3
        )
        out.sum().backward()
    out = F.embedding_bag(rtorch.tensor([], dtype=rtorch.int64), w, rtorch.tensor([0, 0]))
    assert tuple(out.shape) == (2, 3) and out.abs().sum().item() == 0.0


def test_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    w0 = rng.standard_normal((10, 4))
    idx = [1, 2, 4, 5, 4, 3, 2, 9, 9, 0]
    off = [0, 2, 2, 6]
    gy = rng.standard_normal((4, 4))
    for mode in ("sum", "mean", "max"):
        for pad in (None, 4):
            w = rtorch.tensor(w0, requires_grad=True, dtype=rtorch.float64)
            tw = torch.tensor(w0, requires_grad=True, dtype=torch.float64)
            o = F.embedding_bag(
                rtorch.tensor(idx), w, rtorch.tensor(off), mode=mode, padding_idx=pad
            )
            to = torch.nn.functional.embedding_bag(
                torch.tensor(idx), tw, torch.tensor(off), mode=mode, padding_idx=pad
            )
            np.testing.assert_allclose(
                o.detach().numpy(), to.detach().numpy(), rtol=1e-12, atol=1e-12
            )
            o.backward(rtorch.tensor(gy, dtype=rtorch.float64))
            to.backward(torch.tensor(gy, dtype=torch.float64))
            np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12, atol=1e-12)
