"""Transformer layers against a float64 numpy reference of PyTorch's equations (eval
mode), state_dict keys as PyTorch's, masks, pre-norm, and the stacks."""

import numpy as np
import pytest

import rtorch as torch
from rtorch import nn


def _np_mha(x_q, x_kv, attn, mask=None):
    """(L, E) / (S, E) float64 multi-head attention with the module's weights."""
    e = attn.embed_dim
    h = attn.num_heads
    w = attn.in_proj_weight.detach().numpy()
    b = attn.in_proj_bias.detach().numpy()
    q = x_q @ w[:e].T + b[:e]
    k = x_kv @ w[e : 2 * e].T + b[e : 2 * e]
    v = x_kv @ w[2 * e :].T + b[2 * e :]
    d = e // h
    outs = []
    for i in range(h):
        s = q[:, i * d : (i + 1) * d] @ k[:, i * d : (i + 1) * d].T / np.sqrt(d)
        if mask is not None:
            s = s + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        outs.append(s @ v[:, i * d : (i + 1) * d])
    o = np.concatenate(outs, -1)
    return o @ attn.out_proj.weight.detach().numpy().T + attn.out_proj.bias.detach().numpy()


def _np_ln(x, norm):
    mu = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + norm.eps) * norm.weight.detach().numpy() + (
        norm.bias.detach().numpy()
    )


def _np_ff(x, layer):
    h = np.maximum(
        x @ layer.linear1.weight.detach().numpy().T + layer.linear1.bias.detach().numpy(), 0
    )
    return h @ layer.linear2.weight.detach().numpy().T + layer.linear2.bias.detach().numpy()


def _np_encoder_layer(x, layer, mask=None):
    if layer.norm_first:
        n = _np_ln(x, layer.norm1)
        x = x + _np_mha(n, n, layer.self_attn, mask)
        return x + _np_ff(_np_ln(x, layer.norm2), layer)
    x = _np_ln(x + _np_mha(x, x, layer.self_attn, mask), layer.norm1)
    return _np_ln(x + _np_ff(x, layer), layer.norm2)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_matches_numpy(norm_first, batch_first):
    torch.manual_seed(0)
    layer = (
        nn.TransformerEncoderLayer(
            8, 2, dim_feedforward=16, batch_first=batch_first, norm_first=norm_first
        )
        .double()
        .eval()
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 8))  # (N, S, E)
    inp = torch.from_numpy(x if batch_first else x.transpose(1, 0, 2).copy())
    out = layer(inp).detach().numpy()
    if not batch_first:
        out = out.transpose(1, 0, 2)
    for n in range(2):
        np.testing.assert_allclose(out[n], _np_encoder_layer(x[n], layer), rtol=1e-9, atol=1e-10)


def test_causal_mask_and_is_causal_agree_with_reference():
    torch.manual_seed(1)
    layer = nn.TransformerEncoderLayer(8, 4, dim_feedforward=8, batch_first=True).double()
    layer.eval()
    x = torch.randn(1, 6, 8, dtype=torch.float64)
    mask = nn.Transformer.generate_square_subsequent_mask(6, dtype=torch.float64)
    assert mask[0, 1].item() == float("-inf") and mask[1, 0].item() == 0
    out = layer(x, src_mask=mask)
    out_causal = layer(x, src_mask=mask, is_causal=True)
    torch.testing.assert_close(out, out_causal)
    ref = _np_encoder_layer(x[0].numpy(), layer, mask.numpy())
    np.testing.assert_allclose(out[0].detach().numpy(), ref, rtol=1e-9, atol=1e-10)


def test_key_padding_mask_ignores_padded_positions():
    torch.manual_seed(2)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=8, batch_first=True).eval()
    x = torch.randn(1, 5, 8)
    padding = torch.tensor([[False, False, False, True, True]])
    out = layer(x, src_key_padding_mask=padding)
    # the first three positions see only themselves: equal to running on the prefix
    torch.testing.assert_close(out[:, :3], layer(x[:, :3]), rtol=1e-5, atol=1e-5)


def test_state_dict_keys_match_pytorch():
    layer = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32)
    assert list(layer.state_dict().keys()) == [
        "self_attn.in_proj_weight",
        "self_attn.in_proj_bias",
        "self_attn.out_proj.weight",
        "self_attn.out_proj.bias",
        "linear1.weight",
        "linear1.bias",
        "linear2.weight",
        "linear2.bias",
        "norm1.weight",
        "norm1.bias",
        "norm2.weight",
        "norm2.bias",
    ]
    dec = nn.TransformerDecoderLayer(16, 4, dim_feedforward=32)
    keys = list(dec.state_dict().keys())
    assert keys[:8] == [
        "self_attn.in_proj_weight",
        "self_attn.in_proj_bias",
        "self_attn.out_proj.weight",
        "self_attn.out_proj.bias",
        "multihead_attn.in_proj_weight",
        "multihead_attn.in_proj_bias",
        "multihead_attn.out_proj.weight",
        "multihead_attn.out_proj.bias",
    ]
    assert keys[-2:] == ["norm3.weight", "norm3.bias"] and len(keys) == 18
    model = nn.Transformer(16, 4, 2, 1, 32)
    sd = model.state_dict()
    assert "encoder.layers.1.linear2.bias" in sd and "encoder.norm.weight" in sd
    assert "decoder.layers.0.norm3.bias" in sd and "decoder.norm.bias" in sd
    assert len(sd) == 2 * 12 + 2 + 18 + 2


def test_stacks_are_independent_copies_and_train():
    torch.manual_seed(3)
    with pytest.warns(UserWarning, match="enable_nested_tensor is True"):
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2)
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    torch.testing.assert_close(enc.layers[0].linear1.weight, enc.layers[1].linear1.weight)
    model = nn.Transformer(8, 2, 1, 1, 16, dropout=0.0)
    src, tgt = torch.randn(5, 3, 8), torch.randn(4, 3, 8)
    out = model(src, tgt, tgt_mask=model.generate_square_subsequent_mask(4))
    assert out.shape == (4, 3, 8)
    out.pow(2).mean().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_decoder_layer_matches_numpy_in_eval():
    torch.manual_seed(4)
    layer = nn.TransformerDecoderLayer(8, 2, dim_feedforward=12).double().eval()
    rng = np.random.default_rng(4)
    tgt, mem = rng.standard_normal((3, 8)), rng.standard_normal((4, 8))
    out = layer(torch.from_numpy(tgt), torch.from_numpy(mem)).detach().numpy()
    x = _np_ln(tgt + _np_mha(tgt, tgt, layer.self_attn), layer.norm1)
    x = _np_ln(x + _np_mha(x, mem, layer.multihead_attn), layer.norm2)
    x = _np_ln(x + _np_ff(x, layer), layer.norm3)
    np.testing.assert_allclose(out, x, rtol=1e-9, atol=1e-10)


def test_errors():
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    model = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        model(torch.randn(5, 3, 8), torch.randn(4, 2, 8))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal"):
        model(torch.randn(5, 3, 8), torch.randn(4, 3, 6))


@pytest.mark.parametrize("cls", [nn.TransformerEncoder, nn.TransformerDecoder])
def test_stack_of_a_non_module_raises_before_copying(cls):
    # Found by the bad-input sweep: a huge num_layers with a non-module layer hung while
    # deep-copying it; the type is now checked first.
    with pytest.raises(TypeError, match="is not a Module subclass"):
        cls(-1, 2**62)
