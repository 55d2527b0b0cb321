"""RNN, LSTM, GRU and their cells against a float64 numpy reference of PyTorch's equations,
gradients by gradcheck, packed sequences against per-sequence runs, and PyTorch's
parameter names, shapes and errors."""

import numpy as np
import pytest

import rtorch as torch
from rtorch import nn
from rtorch.autograd import gradcheck
from rtorch.nn.utils.rnn import (
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _np_cell(mode, x, h, c, w):
    """One step of PyTorch's documented cell equations; w = (w_ih, w_hh, b_ih, b_hh)."""
    w_ih, w_hh, b_ih, b_hh = w
    gi = x @ w_ih.T + b_ih
    gh = h @ w_hh.T + b_hh
    if mode == "RNN_TANH":
        return np.tanh(gi + gh), None
    if mode == "RNN_RELU":
        return np.maximum(gi + gh, 0), None
    if mode == "LSTM":
        i, f, g, o = np.split(gi + gh, 4, axis=-1)
        c2 = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        return _sigmoid(o) * np.tanh(c2), c2
    ir, iz, in_ = np.split(gi, 3, axis=-1)
    hr, hz, hn = np.split(gh, 3, axis=-1)
    r, z = _sigmoid(ir + hr), _sigmoid(iz + hz)
    n = np.tanh(in_ + r * hn)
    return (1 - z) * n + z * h, None


def _np_rnn(module, x, h0, c0):
    """Multi-layer (bi)directional reference over a (T, B, F) float64 array."""
    dirs = 2 if module.bidirectional else 1
    hs, cs = [], []
    for layer in range(module.num_layers):
        outs = []
        for d in range(dirs):
            sfx = "_reverse" if d else ""
            w = [
                getattr(module, f"{n}_l{layer}{sfx}").detach().numpy()
                for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            ]
            h, c = h0[layer * dirs + d], None if c0 is None else c0[layer * dirs + d]
            out = [None] * x.shape[0]
            for t in range(x.shape[0]) if d == 0 else reversed(range(x.shape[0])):
                h, c = _np_cell(module.mode, x[t], h, c, w)
                out[t] = h
            outs.append(np.stack(out))
            hs.append(h)
            cs.append(c)
        x = np.concatenate(outs, -1)
    return x, np.stack(hs), (np.stack(cs) if c0 is not None else None)


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (nn.RNN, {}),
        (nn.RNN, {"nonlinearity": "relu"}),
        (nn.LSTM, {}),
        (nn.GRU, {}),
    ],
)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_forward_matches_numpy_reference(cls, kwargs, bidirectional):
    torch.manual_seed(0)
    m = cls(3, 5, num_layers=2, bidirectional=bidirectional, **kwargs).double()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 2, 3))
    d = 2 if bidirectional else 1
    h0 = rng.standard_normal((2 * d, 2, 5))
    c0 = rng.standard_normal((2 * d, 2, 5)) if cls is nn.LSTM else None
    hx = (torch.from_numpy(h0), torch.from_numpy(c0)) if c0 is not None else torch.from_numpy(h0)
    out, hn = m(torch.from_numpy(x), hx)
    ref_out, ref_h, ref_c = _np_rnn(m, x, h0, c0)
    np.testing.assert_allclose(out.detach().numpy(), ref_out, rtol=1e-10, atol=1e-12)
    if c0 is not None:
        np.testing.assert_allclose(hn[0].detach().numpy(), ref_h, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(hn[1].detach().numpy(), ref_c, rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_allclose(hn.detach().numpy(), ref_h, rtol=1e-10, atol=1e-12)


def test_parameter_names_shapes_and_init():
    m = nn.LSTM(10, 20, num_layers=2, bidirectional=True)
    names = [n for n, _ in m.named_parameters()]
    expected = []
    for layer in range(2):
        for sfx in ("", "_reverse"):
            expected += [
                f"weight_ih_l{layer}{sfx}",
                f"weight_hh_l{layer}{sfx}",
                f"bias_ih_l{layer}{sfx}",
                f"bias_hh_l{layer}{sfx}",
            ]
    assert names == expected == list(m.state_dict().keys())
    assert m.weight_ih_l0.shape == (80, 10) and m.weight_ih_l1.shape == (80, 40)
    assert m.weight_hh_l1_reverse.shape == (80, 20)
    bound = 1 / np.sqrt(20)
    for p in m.parameters():
        assert p.abs().max().item() <= bound
    assert nn.GRU(4, 6).weight_hh_l0.shape == (18, 6)
    assert [n for n, _ in nn.RNN(4, 6, bias=False).named_parameters()] == [
        "weight_ih_l0",
        "weight_hh_l0",
    ]
    assert repr(nn.LSTM(10, 20, 2, batch_first=True)) == (
        "LSTM(10, 20, num_layers=2, batch_first=True)"
    )
    assert repr(nn.GRUCell(3, 4)) == "GRUCell(3, 4)"


def test_batch_first_and_unbatched_agree_with_seq_first():
    torch.manual_seed(1)
    m = nn.GRU(3, 4, batch_first=True).double()
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    out_bf, h_bf = m(x)
    m.batch_first = False
    out_sf, h_sf = m(x.transpose(0, 1))
    torch.testing.assert_close(out_bf, out_sf.transpose(0, 1))
    torch.testing.assert_close(h_bf, h_sf)
    out_u, h_u = m(x[1].contiguous())
    torch.testing.assert_close(out_u, out_sf[:, 1])
    assert h_u.shape == (1, 4)


def test_gradcheck_lstm_and_gru():
    torch.manual_seed(2)
    for cls in (nn.LSTM, nn.GRU):
        m = cls(2, 3, num_layers=2, bidirectional=True).double()
        x = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)

        def f(inp, m=m):
            return m(inp)[0]

        assert gradcheck(f, (x,))
        out, _ = m(x)
        out.sum().backward()
        for p in m.parameters():
            assert p.grad is not None and p.grad.abs().sum().item() > 0


def test_weight_gradients_match_finite_differences():
    torch.manual_seed(3)
    m = nn.LSTM(2, 3).double()
    x = torch.randn(4, 2, 2, dtype=torch.float64)
    w = m.weight_hh_l0
    m(x)[0].pow(2).sum().backward()
    analytic = w.grad.clone()
    eps = 1e-6
    for idx in [(0, 0), (5, 1), (11, 2)]:
        with torch.no_grad():
            w[idx] += eps
            up = m(x)[0].pow(2).sum().item()
            w[idx] -= 2 * eps
            down = m(x)[0].pow(2).sum().item()
            w[idx] += eps
        assert analytic[idx].item() == pytest.approx((up - down) / (2 * eps), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
def test_packed_sequence_equals_running_each_sequence_alone(cls):
    torch.manual_seed(4)
    m = cls(3, 4, num_layers=2, bidirectional=True).double()
    lengths = [2, 5, 3]
    seqs = [torch.randn(n, 3, dtype=torch.float64) for n in lengths]
    packed = pack_padded_sequence(pad_sequence(seqs), lengths, enforce_sorted=False)
    out, hn = m(packed)
    padded, out_lengths = pad_packed_sequence(out, batch_first=True)
    assert out_lengths.tolist() == lengths and padded.shape == (3, 5, 8)
    for b, s in enumerate(seqs):
        alone_out, alone_h = m(s.unsqueeze(1))
        torch.testing.assert_close(padded[b, : lengths[b]], alone_out[:, 0])
        assert padded[b, lengths[b] :].abs().sum().item() == 0
        if cls is nn.LSTM:
            torch.testing.assert_close(hn[0][:, b], alone_h[0][:, 0])
            torch.testing.assert_close(hn[1][:, b], alone_h[1][:, 0])
        else:
            torch.testing.assert_close(hn[:, b], alone_h[:, 0])


def test_pack_utilities():
    x = torch.tensor([[1, 2, 3], [4, 5, 0]]).t()
    p = pack_padded_sequence(x, [3, 2])
    assert p.data.tolist() == [1, 4, 2, 5, 3] and p.batch_sizes.tolist() == [2, 2, 1]
    padded, lens = pad_packed_sequence(p, total_length=4)
    assert padded.t().tolist() == [[1, 2, 3, 0], [4, 5, 0, 0]] and lens.tolist() == [3, 2]
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        pack_padded_sequence(x, [2, 3])
    with pytest.raises(RuntimeError, match="has to be greater than 0"):
        pack_padded_sequence(x, [3, 0])
    with pytest.raises(ValueError, match="total_length"):
        pad_packed_sequence(p, total_length=2)
    left = pad_sequence([torch.ones(1), torch.ones(3)], batch_first=True, padding_side="left")
    assert left.tolist() == [[0, 0, 1], [1, 1, 1]]
    q = pack_sequence([torch.tensor([1, 2]), torch.tensor([3, 4, 5])], enforce_sorted=False)
    assert q.sorted_indices.tolist() == [1, 0] and q.unsorted_indices.tolist() == [1, 0]
    # packing is differentiable
    v = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda t: pack_padded_sequence(t, [3, 1]).data, (v,))


def test_cells_match_layers():
    torch.manual_seed(5)
    for cell_cls, layer_cls in [(nn.LSTMCell, nn.LSTM), (nn.GRUCell, nn.GRU), (nn.RNNCell, nn.RNN)]:
        cell = cell_cls(3, 4).double()
        layer = layer_cls(3, 4).double()
        layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
        x = torch.randn(1, 2, 3, dtype=torch.float64)
        out, _ = layer(x)
        step = cell(x[0])
        torch.testing.assert_close(step[0] if cell_cls is nn.LSTMCell else step, out[0])
        unbatched = cell(x[0, 1])
        torch.testing.assert_close(
            unbatched[0] if cell_cls is nn.LSTMCell else unbatched, out[0, 1]
        )


def test_projection_lstm_shapes():
    m = nn.LSTM(3, 6, proj_size=2, num_layers=2)
    out, (h, c) = m(torch.randn(4, 5, 3))
    assert out.shape == (4, 5, 2) and h.shape == (2, 5, 2) and c.shape == (2, 5, 6)
    assert m.weight_hr_l0.shape == (2, 6) and m.weight_ih_l1.shape == (24, 2)


def test_dropout_between_layers_only_in_training():
    torch.manual_seed(6)
    m = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    x = torch.randn(5, 2, 3)
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    torch.testing.assert_close(a, b)
    m.train()
    c, _ = m(x)
    assert not torch.allclose(a, c)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.2)


def test_errors():
    m = nn.LSTM(10, 20, 2)
    with pytest.raises(
        RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 10, got 5"
    ):
        m(torch.randn(3, 2, 5))
    with pytest.raises(
        RuntimeError,
        match=r"Expected hidden\[0\] size \(2, 3, 20\), got "
        r"\[1, 3, 20\]",
    ):
        m(torch.randn(4, 3, 10), (torch.randn(1, 3, 20), torch.randn(2, 3, 20)))
    with pytest.raises(RuntimeError, match="For unbatched 2-D input, hx and cx should also"):
        m(torch.randn(4, 10), (torch.randn(2, 3, 20), torch.randn(2, 3, 20)))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 4D"):
        m(torch.randn(1, 2, 3, 10))
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(RuntimeError, match="Expected hidden size \\(1, 2, 4\\)"):
        nn.GRU(3, 4)(torch.randn(5, 2, 3), torch.randn(1, 3, 4))
