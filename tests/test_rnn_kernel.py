"""The fused recurrent layer op (`_C._rnn_layer`, behind nn.RNN/LSTM/GRU): outputs and
final states against a float64 numpy implementation of PyTorch's equations, gradients by
gradcheck and against the step-by-step path, packed sequences, thread-count
independence, the double-backward error and the op's own checks."""

from __future__ import annotations

import numpy as np
import pytest

import rtorch as torch
from rtorch import _C, nn
from rtorch.autograd import gradcheck
from rtorch.nn.modules import rnn as rnn_mod
from rtorch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

CELLS = [
    (nn.LSTM, {}),
    (nn.GRU, {}),
    (nn.RNN, {}),
    (nn.RNN, {"nonlinearity": "relu"}),
]
CELL_IDS = ["lstm", "gru", "rnn_tanh", "rnn_relu"]


def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def _ref_step(mode, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One step of PyTorch's documented equations in float64."""
    hs = h.shape[-1]
    gi = x @ w_ih.T + b_ih
    gh = h @ w_hh.T + b_hh
    if mode == "LSTM":
        i = _sig(gi[:, :hs] + gh[:, :hs])
        f = _sig(gi[:, hs : 2 * hs] + gh[:, hs : 2 * hs])
        g = np.tanh(gi[:, 2 * hs : 3 * hs] + gh[:, 2 * hs : 3 * hs])
        o = _sig(gi[:, 3 * hs :] + gh[:, 3 * hs :])
        c_new = f * c + i * g
        return o * np.tanh(c_new), c_new
    if mode == "GRU":
        r = _sig(gi[:, :hs] + gh[:, :hs])
        z = _sig(gi[:, hs : 2 * hs] + gh[:, hs : 2 * hs])
        n = np.tanh(gi[:, 2 * hs :] + r * gh[:, 2 * hs :])
        return (1.0 - z) * n + z * h, None
    pre = gi + gh
    return (np.tanh(pre) if mode == "RNN_TANH" else np.maximum(pre, 0.0)), None


def _reference(m, x, h0, c0):
    """x: (T, B, F) float64; h0/c0: (L*D, B, H). Returns out, h_n, c_n."""
    dirs = 2 if m.bidirectional else 1
    hn, cn = [], []
    for layer in range(m.num_layers):
        outs = []
        for d in range(dirs):
            sfx = "_reverse" if d else ""
            p = {
                n: getattr(m, f"{n}_l{layer}{sfx}").detach().double().numpy()
                for n in ("weight_ih", "weight_hh")
            }
            for n in ("bias_ih", "bias_hh"):
                b = getattr(m, f"{n}_l{layer}{sfx}", None)
                p[n] = 0.0 if b is None else b.detach().double().numpy()
            h = h0[layer * dirs + d]
            c = c0[layer * dirs + d] if c0 is not None else None
            seq = [None] * x.shape[0]
            order = range(x.shape[0]) if d == 0 else range(x.shape[0] - 1, -1, -1)
            for t in order:
                h, c = _ref_step(m.mode, x[t], h, c, *p.values())
                seq[t] = h
            outs.append(np.stack(seq))
            hn.append(h)
            cn.append(c)
        x = np.concatenate(outs, -1)
    return x, np.stack(hn), (np.stack(cn) if c0 is not None else None)


def _make(cls, kw, inp, hid, layers, bidir, dtype, batch_first=False, seed=0):
    torch.manual_seed(seed)
    m = cls(inp, hid, num_layers=layers, bidirectional=bidir, batch_first=batch_first, **kw)
    return m.to(dtype)


def _tol(dtype):
    return (
        {"rtol": 1.3e-6, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 1e-7, "atol": 1e-7}
    )


SHAPES = [
    # input, hidden, layers, bidirectional, batch, length
    (3, 5, 1, False, 1, 1),
    (7, 5, 2, True, 3, 4),
    (4, 9, 2, False, 1, 6),
    (5, 3, 1, True, 2, 1),
    (6, 17, 2, True, 5, 7),
]


@pytest.mark.parametrize("cls, kw", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "h0"])
def test_forward_matches_numpy(cls, kw, shape, dtype, with_state):
    inp, hid, layers, bidir, batch, length = shape
    m = _make(cls, kw, inp, hid, layers, bidir, dtype)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((length, batch, inp))
    states = layers * (2 if bidir else 1)
    h0 = rng.standard_normal((states, batch, hid)) if with_state else np.zeros((states, batch, hid))
    c0 = rng.standard_normal((states, batch, hid)) if with_state else np.zeros((states, batch, hid))
    is_lstm = cls is nn.LSTM
    xt = torch.tensor(x, dtype=dtype)
    if with_state:
        hx = (torch.tensor(h0, dtype=dtype), torch.tensor(c0, dtype=dtype))
        out, hn = m(xt, hx if is_lstm else hx[0])
    else:
        out, hn = m(xt)
    # The reference runs on the module's own (rounded) parameters and input.
    x_r = xt.double().numpy()
    h0_r = torch.tensor(h0, dtype=dtype).double().numpy()
    c0_r = torch.tensor(c0, dtype=dtype).double().numpy()
    ref_out, ref_h, ref_c = _reference(m, x_r, h0_r, c0_r if is_lstm else None)
    assert out.dtype == dtype and tuple(out.shape) == ref_out.shape
    np.testing.assert_allclose(out.detach().double().numpy(), ref_out, **_tol(dtype))
    if is_lstm:
        np.testing.assert_allclose(hn[0].detach().double().numpy(), ref_h, **_tol(dtype))
        np.testing.assert_allclose(hn[1].detach().double().numpy(), ref_c, **_tol(dtype))
    else:
        np.testing.assert_allclose(hn.detach().double().numpy(), ref_h, **_tol(dtype))


@pytest.mark.parametrize("cls, kw", CELLS, ids=CELL_IDS)
def test_batch_first_matches_numpy(cls, kw):
    m = _make(cls, kw, 4, 6, 2, True, torch.float64, batch_first=True)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5, 4))  # (batch, length, features)
    out, hn = m(torch.tensor(x))
    zeros = np.zeros((4, 3, 6))
    ref_out, ref_h, _ = _reference(m, x.transpose(1, 0, 2), zeros, zeros)
    np.testing.assert_allclose(
        out.detach().numpy(), ref_out.transpose(1, 0, 2), rtol=1e-7, atol=1e-7
    )
    h = hn[0] if cls is nn.LSTM else hn
    np.testing.assert_allclose(h.detach().numpy(), ref_h, rtol=1e-7, atol=1e-7)


def test_no_bias_matches_numpy():
    for cls in (nn.LSTM, nn.GRU, nn.RNN):
        torch.manual_seed(3)
        m = cls(3, 4, num_layers=2, bias=False, bidirectional=True).double()
        x = np.random.default_rng(3).standard_normal((5, 2, 3))
        out, _ = m(torch.tensor(x))
        zeros = np.zeros((4, 2, 4))
        ref_out, _, _ = _reference(m, x, zeros, zeros)
        np.testing.assert_allclose(out.detach().numpy(), ref_out, rtol=1e-7, atol=1e-7)


def _grads_of(m, x, hx, fused, packed_lengths=None):
    """Loss gradients of every parameter, the input and the initial states."""
    old = rnn_mod._USE_FUSED
    rnn_mod._USE_FUSED = fused
    try:
        m.zero_grad()
        x = x.detach().requires_grad_(True)
        hx = tuple(
            h.detach().requires_grad_(True) for h in hx[: 2 if isinstance(m, nn.LSTM) else 1]
        )
        arg = hx if isinstance(m, nn.LSTM) else hx[0]
        inp = x
        if packed_lengths is not None:
            inp = pack_padded_sequence(x, packed_lengths, enforce_sorted=False)
        out, hn = m(inp, arg)
        if packed_lengths is not None:
            out = pad_packed_sequence(out)[0]
        finals = hn if isinstance(hn, tuple) else (hn,)
        # Weighted, so every output and final state gets a distinct gradient.
        w = torch.linspace(-1.0, 2.0, out.numel(), dtype=out.dtype).reshape(out.shape)
        loss = (out * w).sum() + sum((f * f).sum() for f in finals)
        loss.backward()
        grads = [p.grad.clone() for p in m.parameters()]
        return out.detach(), [f.detach() for f in finals], grads + [x.grad] + [h.grad for h in hx]
    finally:
        rnn_mod._USE_FUSED = old


@pytest.mark.parametrize("cls, kw", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("bidir", [False, True], ids=["uni", "bi"])
def test_gradients_match_step_by_step_path(cls, kw, bidir):
    m = _make(cls, kw, 5, 7, 2, bidir, torch.float64, seed=4)
    torch.manual_seed(5)
    states = 2 * (2 if bidir else 1)
    x = torch.randn(6, 3, 5, dtype=torch.float64)
    hx = (
        torch.randn(states, 3, 7, dtype=torch.float64),
        torch.randn(states, 3, 7, dtype=torch.float64),
    )
    o1, f1, g1 = _grads_of(m, x, hx, True)
    o2, f2, g2 = _grads_of(m, x, hx, False)
    torch.testing.assert_close(o1, o2, rtol=1e-7, atol=1e-7)
    for a, b in zip(f1, f2):
        torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-7)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("cls, kw", CELLS, ids=CELL_IDS)
def test_float32_gradients_match_step_by_step_path(cls, kw):
    m = _make(cls, kw, 6, 10, 1, True, torch.float32, seed=6)
    torch.manual_seed(7)
    x = torch.randn(5, 4, 6)
    hx = (torch.randn(2, 4, 10), torch.randn(2, 4, 10))
    _, _, g1 = _grads_of(m, x, hx, True)
    _, _, g2 = _grads_of(m, x, hx, False)
    for a, b in zip(g1, g2):
        # float32 sums over time steps in a different order on the two paths.
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls, kw", CELLS, ids=CELL_IDS)
def test_gradcheck(cls, kw):
    m = _make(cls, kw, 2, 2, 2, True, torch.float64, seed=8)
    torch.manual_seed(9)
    is_lstm = cls is nn.LSTM
    x = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)
    states = [torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True)]
    if is_lstm:
        states.append(torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True))
    names = [n for n, _ in m.named_parameters()]
    saved = {n: getattr(m, n) for n in names}
    leaves = [p.detach().clone().requires_grad_(True) for p in saved.values()]

    def f(x, *rest):
        # Functional over the parameters so that gradcheck checks their gradients too:
        # plain tensors stand in for the (removed) parameters.
        hx, ps = rest[: len(states)], rest[len(states) :]
        for n, p in zip(names, ps):
            setattr(m, n, p)
        out, hn = m(x, tuple(hx) if is_lstm else hx[0])
        return (out, *(hn if is_lstm else (hn,)))

    try:
        for n in names:
            delattr(m, n)
        assert gradcheck(f, (x, *states, *leaves))
    finally:
        for n in names:
            if hasattr(m, n):
                delattr(m, n)
            setattr(m, n, saved[n])


@pytest.mark.parametrize("cls, kw", CELLS, ids=CELL_IDS)
def test_packed_matches_step_by_step_path(cls, kw):
    m = _make(cls, kw, 3, 5, 2, True, torch.float64, seed=10)
    torch.manual_seed(11)
    lengths = [2, 5, 1, 3]
    seqs = [torch.randn(n, 3, dtype=torch.float64) for n in lengths]
    x = pad_sequence(seqs)
    hx = (torch.randn(4, 4, 5, dtype=torch.float64), torch.randn(4, 4, 5, dtype=torch.float64))
    o1, f1, g1 = _grads_of(m, x, hx, True, lengths)
    o2, f2, g2 = _grads_of(m, x, hx, False, lengths)
    torch.testing.assert_close(o1, o2, rtol=1e-7, atol=1e-7)
    for a, b in zip(f1 + g1, f2 + g2):
        torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-7)
    # Each sequence alone gives the same outputs and final states.
    for b, s in enumerate(seqs):
        alone_h = tuple(h[:, b : b + 1] for h in hx)
        out, hn = m(s.unsqueeze(1), alone_h if cls is nn.LSTM else alone_h[0])
        torch.testing.assert_close(o1[: lengths[b], b], out[:, 0].detach(), rtol=1e-7, atol=1e-7)
        finals = hn if isinstance(hn, tuple) else (hn,)
        for got, want in zip(f1, finals):
            torch.testing.assert_close(got[:, b], want[:, 0].detach(), rtol=1e-7, atol=1e-7)


# Bidirectional: each direction on its own thread. One direction with hidden 256 and
# batch 32: every step's product (and the weight gradient's) split over the threads.
@pytest.mark.parametrize("hidden, batch, bidir", [(96, 24, True), (256, 32, False)])
@pytest.mark.parametrize("cls, kw", CELLS, ids=CELL_IDS)
def test_same_bits_for_one_and_two_threads(cls, kw, hidden, batch, bidir):
    m = _make(cls, kw, 40, hidden, 2, bidir, torch.float32, seed=12)
    torch.manual_seed(13)
    x = torch.randn(6, batch, 40)
    states = 4 if bidir else 2
    hx = (torch.randn(states, batch, hidden), torch.randn(states, batch, hidden))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        o1, f1, g1 = _grads_of(m, x, hx, True)
        torch.set_num_threads(2)
        o2, f2, g2 = _grads_of(m, x, hx, True)
    finally:
        torch.set_num_threads(threads)
    for a, b in zip([o1, *f1, *g1], [o2, *f2, *g2]):
        assert torch.equal(a, b)


def test_only_final_state_used():
    # No gradient reaches the outputs: the kernel starts from the final states alone.
    for cls in (nn.LSTM, nn.GRU):
        m = _make(cls, {}, 3, 4, 1, False, torch.float64, seed=14)
        x = torch.randn(4, 2, 3, dtype=torch.float64)
        _, hn = m(x)
        h = hn[0] if cls is nn.LSTM else hn
        h.sum().backward()
        fused = [p.grad.clone() for p in m.parameters()]
        m.zero_grad()
        rnn_mod._USE_FUSED = False
        try:
            _, hn = m(x)
            (hn[0] if cls is nn.LSTM else hn).sum().backward()
        finally:
            rnn_mod._USE_FUSED = True
        for a, p in zip(fused, m.parameters()):
            torch.testing.assert_close(a, p.grad, rtol=1e-7, atol=1e-7)


def test_no_grad_matches_training_forward():
    m = _make(nn.LSTM, {}, 5, 6, 2, True, torch.float32, seed=15)
    x = torch.randn(4, 3, 5)
    with torch.no_grad():
        a, (ha, ca) = m(x)
    b, (hb, cb) = m(x)
    assert (
        torch.equal(a, b.detach()) and torch.equal(ha, hb.detach()) and torch.equal(ca, cb.detach())
    )


def test_dropout_between_layers_matches_step_by_step_path():
    m = _make(nn.LSTM, {"dropout": 0.5}, 4, 5, 3, True, torch.float64, seed=16)
    x = torch.randn(3, 2, 4, dtype=torch.float64)
    torch.manual_seed(17)
    a, _ = m(x)
    rnn_mod._USE_FUSED = False
    try:
        torch.manual_seed(17)
        b, _ = m(x)
    finally:
        rnn_mod._USE_FUSED = True
    torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-7)
    m.eval()
    c, _ = m(x)
    assert not torch.equal(a, c)


def test_double_backward_raises_and_step_path_supports_it():
    m = _make(nn.LSTM, {}, 2, 3, 1, False, torch.float64, seed=18)
    x = torch.randn(3, 1, 2, dtype=torch.float64, requires_grad=True)
    out, _ = m(x)
    (gx,) = torch.autograd.grad(out.sum(), x, create_graph=False)
    assert gx.shape == x.shape
    out, _ = m(x)
    with pytest.raises(RuntimeError, match="double backward"):
        torch.autograd.grad(out.sum(), x, create_graph=True)
    rnn_mod._USE_FUSED = False
    try:
        out, _ = m(x)
        (gx2,) = torch.autograd.grad(out.sum(), x, create_graph=True)
        (gg,) = torch.autograd.grad(gx2.sum(), x)
        assert gg.shape == x.shape
    finally:
        rnn_mod._USE_FUSED = True
    torch.testing.assert_close(gx, gx2.detach(), rtol=1e-7, atol=1e-7)


def test_weight_modified_in_place_before_backward_raises():
    m = _make(nn.GRU, {}, 2, 3, 1, False, torch.float32, seed=19)
    out, _ = m(torch.randn(2, 1, 2))
    with torch.no_grad():
        m.weight_hh_l0.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_fallback_cases_still_work():
    # proj_size and float16 go the step-by-step way.
    m = nn.LSTM(3, 5, proj_size=2)
    out, (h, c) = m(torch.randn(4, 2, 3))
    assert out.shape == (4, 2, 2) and h.shape == (1, 2, 2) and c.shape == (1, 2, 5)
    g = nn.GRU(3, 4).half()
    out, h = g(torch.randn(2, 2, 3).half())
    assert out.dtype == torch.float16 and out.shape == (2, 2, 4) and h.shape == (1, 2, 4)


def test_op_checks():
    x = torch.randn(6, 8)
    h = torch.zeros(3, 2)
    w = torch.randn(8, 2)
    c = torch.zeros(3, 2)
    # LSTM: 4 * hidden 2 = 8 gate columns, 2 steps of batch 3.
    out, hn, cn = _C._rnn_layer("LSTM", [3, 3], [(x, h, c, w, None, False)])
    assert out.shape == (6, 2) and hn.shape == (3, 2) and cn.shape == (3, 2)
    with pytest.raises(RuntimeError, match="expected x_proj of shape"):
        _C._rnn_layer("LSTM", [3, 2], [(x, h, c, w, None, False)])
    with pytest.raises(RuntimeError, match="must not increase"):
        _C._rnn_layer("LSTM", [2, 4], [(x, h, c, w, None, False)])
    with pytest.raises(RuntimeError, match="LSTM needs c0"):
        _C._rnn_layer("LSTM", [3, 3], [(x, h, None, w, None, False)])
    with pytest.raises(RuntimeError, match="expected float32 or float64"):
        _C._rnn_layer(
            "RNN_TANH", [3], [(x[:3, :2].half(), h.half(), None, w[:2].half(), None, False)]
        )
    with pytest.raises(RuntimeError, match="expected all tensors to be Float"):
        _C._rnn_layer("LSTM", [3, 3], [(x, h.double(), c, w, None, False)])
    with pytest.raises(RuntimeError, match="Unrecognized RNN mode"):
        _C._rnn_layer("LSTMX", [3, 3], [(x, h, c, w, None, False)])
