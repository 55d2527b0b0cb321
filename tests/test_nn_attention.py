"""rtorch.nn attention: scaled_dot_product_attention and MultiheadAttention against numpy
float64 references of the same math (using the module's own weights), masks in both
conventions, head averaging, parameter names, init, errors and PyTorch parity."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_np_close, to_np
from nn_parity_cases import attention_cases, run_in_torch

import rtorch
import rtorch.nn.functional as F
from rtorch import nn
from rtorch.autograd import gradcheck

RNG = np.random.default_rng(0)


def _t(a, dtype=rtorch.float64, requires_grad=False):
    return rtorch.tensor(np.asarray(a), dtype=dtype, requires_grad=requires_grad)


def _softmax(x):
    m = x.max(-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(x - m)
    return e / e.sum(-1, keepdims=True)


def sdpa_reference(q, k, v, keep=None, bias=None, causal=False, scale=None):
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ np.swapaxes(k, -1, -2) * scale
    if causal:
        keep = np.tril(np.ones(scores.shape[-2:], bool))
    if keep is not None:
        scores = np.where(keep, scores, -np.inf)
    if bias is not None:
        scores = scores + bias
    return _softmax(scores) @ v


# ----- scaled_dot_product_attention -----


def test_sdpa_plain_scale_and_shapes():
    q, k, v = (
        RNG.standard_normal((2, 3, 4, 5)),
        RNG.standard_normal((2, 3, 6, 5)),
        RNG.standard_normal((2, 3, 6, 7)),
    )
    got = F.scaled_dot_product_attention(_t(q), _t(k), _t(v))
    assert got.shape == (2, 3, 4, 7)
    assert_np_close(got, sdpa_reference(q, k, v))
    got = F.scaled_dot_product_attention(_t(q), _t(k), _t(v), scale=0.3)
    assert_np_close(got, sdpa_reference(q, k, v, scale=0.3))
    got32 = F.scaled_dot_product_attention(
        *(rtorch.tensor(a, dtype=rtorch.float32) for a in (q, k, v))
    )
    assert got32.dtype == rtorch.float32
    assert_np_close(got32, sdpa_reference(q, k, v), rtol=1e-5, atol=1e-5)  # float32 softmax/matmul


def test_sdpa_masks():
    q, k, v = (RNG.standard_normal((2, 4, 5)) for _ in range(3))
    keep = np.tril(np.ones((4, 4), bool)) | np.eye(4, k=2, dtype=bool)
    got = F.scaled_dot_product_attention(_t(q), _t(k), _t(v), attn_mask=rtorch.tensor(keep))
    assert_np_close(got, sdpa_reference(q, k, v, keep=keep))  # bool: True = take part
    bias = RNG.standard_normal((4, 4))
    got = F.scaled_dot_product_attention(_t(q), _t(k), _t(v), attn_mask=_t(bias))
    assert_np_close(got, sdpa_reference(q, k, v, bias=bias))  # float: added
    got = F.scaled_dot_product_attention(_t(q), _t(k), _t(v), is_causal=True)
    assert_np_close(got, sdpa_reference(q, k, v, causal=True))
    # rectangular causal mask is aligned top-left, as PyTorch's
    got = F.scaled_dot_product_attention(_t(q), _t(k[:, :3]), _t(v[:, :3]), is_causal=True)
    assert_np_close(got, sdpa_reference(q, k[:, :3], v[:, :3], keep=np.tril(np.ones((4, 3), bool))))
    with pytest.raises(
        RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"
    ):
        F.scaled_dot_product_attention(_t(q), _t(k), _t(v), attn_mask=_t(bias), is_causal=True)
    # PyTorch's messages for mixed and integer dtypes.
    with pytest.raises(
        RuntimeError,
        match="Expected query, key, and value to have the same dtype, but got query.dtype: "
        "c10::BFloat16 key.dtype: double and value.dtype: double instead.",
    ):
        F.scaled_dot_product_attention(_t(q).bfloat16(), _t(k), _t(v))
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Long"):
        F.scaled_dot_product_attention(*(rtorch.ones(2, 3, 4, dtype=rtorch.int64),) * 3)


def test_sdpa_grouped_query_attention_and_dropout():
    q, k, v = (
        RNG.standard_normal((1, 4, 3, 5)),
        RNG.standard_normal((1, 2, 3, 5)),
        RNG.standard_normal((1, 2, 3, 5)),
    )
    got = F.scaled_dot_product_attention(_t(q), _t(k), _t(v), enable_gqa=True)
    assert_np_close(got, sdpa_reference(q, np.repeat(k, 2, 1), np.repeat(v, 2, 1)))
    assert np.all(to_np(F.scaled_dot_product_attention(_t(q), _t(q), _t(q), dropout_p=1.0)) == 0)
    rtorch.manual_seed(0)
    dropped = to_np(F.scaled_dot_product_attention(_t(q), _t(q), _t(q), dropout_p=0.5))
    assert not np.allclose(dropped, sdpa_reference(q, q, q))


def test_sdpa_gradcheck():
    q, k, v = (_t(RNG.standard_normal((2, 3, 4)), requires_grad=True) for _ in range(3))
    mask = rtorch.tensor(np.tril(np.ones((3, 3), bool)))
    assert gradcheck(
        lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=mask), (q, k, v)
    )


# ----- MultiheadAttention -----


def mha_reference(m, q, k, v, key_padding_mask=None, attn_mask=None, average=True):
    """Multi-head attention by its definition, with the module's weights; (L, N, E) inputs."""
    E, H = m.embed_dim, m.num_heads
    hd = E // H
    if m._qkv_same_embed_dim:
        w_q, w_k, w_v = np.split(to_np(m.in_proj_weight.detach()), 3)
    else:
        w_q, w_k, w_v = (
            to_np(w.detach()) for w in (m.q_proj_weight, m.k_proj_weight, m.v_proj_weight)
        )
    b_q, b_k, b_v = (
        np.split(to_np(m.in_proj_bias.detach()), 3) if m.in_proj_bias is not None else (0, 0, 0)
    )
    Q, K, V = q @ w_q.T + b_q, k @ w_k.T + b_k, v @ w_v.T + b_v
    L, N, _ = q.shape
    if m.bias_k is not None:
        K = np.concatenate([K, np.broadcast_to(to_np(m.bias_k.detach()), (1, N, E))])
        V = np.concatenate([V, np.broadcast_to(to_np(m.bias_v.detach()), (1, N, E))])
    if m.add_zero_attn:
        K = np.concatenate([K, np.zeros((1, N, E))])
        V = np.concatenate([V, np.zeros((1, N, E))])
    S = K.shape[0]

    def heads(x):  # (len, N, E) -> (N, H, len, hd)
        return x.reshape(x.shape[0], N, H, hd).transpose(1, 2, 0, 3)

    scores = heads(Q) @ heads(K).transpose(0, 1, 3, 2) / math.sqrt(hd)
    bias = np.zeros((N, H, L, S))
    if attn_mask is not None:
        # extra key columns (bias_k, zero attention) are never masked
        full = np.zeros(attn_mask.shape[:-1] + (S,), dtype=attn_mask.dtype)
        full[..., : attn_mask.shape[-1]] = attn_mask
        if full.ndim == 3:
            full = full.reshape(N, H, L, S)
        bias = bias + (np.where(full, -np.inf, 0.0) if full.dtype == bool else full)
    if key_padding_mask is not None:
        pad = np.zeros((N, S), dtype=bool)
        pad[:, : key_padding_mask.shape[1]] = key_padding_mask
        bias = bias + np.where(pad, -np.inf, 0.0)[:, None, None, :]
    weights = _softmax(scores + bias)
    out = (weights @ heads(V)).transpose(2, 0, 1, 3).reshape(L, N, E)
    out = out @ to_np(m.out_proj.weight.detach()).T
    if m.out_proj.bias is not None:
        out = out + to_np(m.out_proj.bias.detach())
    return out, (weights.mean(1) if average else weights)


E, H, L, S, N = 8, 2, 3, 4, 2
Q_DATA = RNG.standard_normal((L, N, E))
K_DATA = RNG.standard_normal((S, N, E))
V_DATA = RNG.standard_normal((S, N, E))
PADDING = np.array([[False, False, True, False], [False, False, False, True]])
MASK_BOOL = np.array(
    [[False, True, False, False], [False, False, True, False], [True, False, False, False]]
)


def _module(**kwargs):
    rtorch.manual_seed(0)
    m = nn.MultiheadAttention(E, H, **kwargs).double()
    with rtorch.no_grad():  # non-zero biases, so that the reference checks them
        if m.in_proj_bias is not None:
            m.in_proj_bias.normal_(0, 0.1)
            m.out_proj.bias.normal_(0, 0.1)
    return m


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("self_attention", [False, True])
def test_mha_matches_reference(batch_first, self_attention):
    m = _module(batch_first=batch_first)
    q = Q_DATA
    k, v = (q, q) if self_attention else (K_DATA, V_DATA)

    def arg(x):
        return _t(x.transpose(1, 0, 2) if batch_first else x)

    if self_attention:
        query = arg(q)
        out, weights = m(query, query, query)
    else:
        out, weights = m(arg(q), arg(k), arg(v))
    ref_out, ref_weights = mha_reference(m, q, k, v)
    assert_np_close(out, ref_out.transpose(1, 0, 2) if batch_first else ref_out)
    assert weights.shape == (N, L, k.shape[0])
    assert_np_close(weights, ref_weights)


@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_masks_and_per_head_weights(batch_first):
    m = _module(batch_first=batch_first)
    swap = (lambda x: x.transpose(1, 0, 2)) if batch_first else (lambda x: x)
    bias = RNG.standard_normal((L, S))
    for key_padding_mask, attn_mask in [
        (PADDING, None),
        (None, MASK_BOOL),
        (PADDING, MASK_BOOL),
        (None, bias),
        (PADDING.astype(float) * -1e9, bias),
        (None, RNG.standard_normal((N * H, L, S))),
    ]:
        out, weights = m(
            _t(swap(Q_DATA)), _t(swap(K_DATA)), _t(swap(V_DATA)),
            key_padding_mask=None if key_padding_mask is None else rtorch.tensor(key_padding_mask),
            attn_mask=None if attn_mask is None else rtorch.tensor(attn_mask),
            average_attn_weights=False,
        )  # fmt: skip
        kpm = (
            key_padding_mask
            if key_padding_mask is None or key_padding_mask.dtype == bool
            else key_padding_mask < -1
        )
        ref_out, ref_weights = mha_reference(
            m, Q_DATA, K_DATA, V_DATA, kpm, attn_mask, average=False
        )
        assert_np_close(out, swap(ref_out), rtol=1e-7, atol=1e-7)
        assert weights.shape == (N, H, L, S)
        assert_np_close(weights, ref_weights)
    out, weights = m(_t(swap(Q_DATA)), _t(swap(K_DATA)), _t(swap(V_DATA)), need_weights=False)
    assert weights is None
    assert_np_close(out, swap(mha_reference(m, Q_DATA, K_DATA, V_DATA)[0]))


def test_mha_unbatched_kdim_vdim_bias_kv_zero_attn():
    m = _module()
    out, weights = m(_t(Q_DATA[:, 0]), _t(K_DATA[:, 0]), _t(V_DATA[:, 0]),
                     key_padding_mask=rtorch.tensor(PADDING[0]))  # fmt: skip
    ref_out, ref_weights = mha_reference(
        m, Q_DATA[:, :1], K_DATA[:, :1], V_DATA[:, :1], PADDING[:1]
    )
    assert out.shape == (L, E) and weights.shape == (L, S)
    assert_np_close(out, ref_out[:, 0])
    assert_np_close(weights, ref_weights[0])

    m = nn.MultiheadAttention(E, H, kdim=5, vdim=6).double()
    assert [n for n, _ in m.named_parameters()] == [
        "q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias",
        "out_proj.weight", "out_proj.bias",
    ]  # fmt: skip
    assert m.k_proj_weight.shape == (E, 5) and m.v_proj_weight.shape == (E, 6)
    k5, v6 = RNG.standard_normal((S, N, 5)), RNG.standard_normal((S, N, 6))
    out, weights = m(_t(Q_DATA), _t(k5), _t(v6))
    ref_out, ref_weights = mha_reference(m, Q_DATA, k5, v6)
    assert_np_close(out, ref_out)
    assert_np_close(weights, ref_weights)

    m = _module(add_bias_kv=True, add_zero_attn=True)
    assert m.bias_k.shape == (1, 1, E) and m.bias_v.shape == (1, 1, E)
    out, weights = m(_t(Q_DATA), _t(K_DATA), _t(V_DATA), key_padding_mask=rtorch.tensor(PADDING),
                     attn_mask=rtorch.tensor(MASK_BOOL))  # fmt: skip
    ref_out, ref_weights = mha_reference(m, Q_DATA, K_DATA, V_DATA, PADDING, MASK_BOOL)
    assert weights.shape == (N, L, S + 2)
    assert_np_close(out, ref_out)
    assert_np_close(weights, ref_weights)


def test_mha_state_dict_names_and_init():
    m = nn.MultiheadAttention(16, 4)
    assert list(m.state_dict()) == [
        "in_proj_weight",
        "in_proj_bias",
        "out_proj.weight",
        "out_proj.bias",
    ]
    assert type(m.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert m.in_proj_weight.shape == (48, 16) and m.in_proj_bias.shape == (48,)
    assert np.all(to_np(m.in_proj_bias.detach()) == 0) and np.all(
        to_np(m.out_proj.bias.detach()) == 0
    )
    w = to_np(m.in_proj_weight.detach())
    bound = math.sqrt(6 / (16 + 48))  # xavier_uniform_: fan_in 16, fan_out 48
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound
    keys = list(nn.MultiheadAttention(8, 2, add_bias_kv=True, bias=False).state_dict())
    assert keys == ["in_proj_weight", "bias_k", "bias_v", "out_proj.weight"]
    text = repr(nn.MultiheadAttention(8, 2))
    assert text == (
        "MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=8, "
        "out_features=8, bias=True)\n)"
    )


def test_mha_gradients_and_dropout():
    m = _module(dropout=0.5)
    q = _t(Q_DATA, requires_grad=True)
    m.eval()
    out, _ = m(q, q, q)
    out.sum().backward()
    assert m.in_proj_weight.grad.shape == (3 * E, E) and q.grad is not None
    eval_out = to_np(m(q, q, q)[0].detach())
    assert_np_close(m(q, q, q)[0], eval_out)  # eval: no dropout, deterministic
    m.train()
    rtorch.manual_seed(1)
    train_out, weights = m(q, q, q)
    assert not np.allclose(to_np(train_out.detach()), eval_out)
    row_sums = to_np(weights.detach()).sum(-1)
    assert not np.allclose(row_sums, 1.0)  # the returned weights are the dropped ones

    kpm = rtorch.tensor(PADDING)

    def fn(query):
        return F.multi_head_attention_forward(
            query, query[:, :, :].detach() * 0 + _t(K_DATA[:L]), _t(V_DATA[:L]), E, H,
            m.in_proj_weight.detach(), m.in_proj_bias.detach(), None, None, False, 0.0,
            m.out_proj.weight.detach(), m.out_proj.bias.detach(), training=False,
            key_padding_mask=kpm[:, :L],
        )[0]  # fmt: skip

    assert gradcheck(fn, (_t(Q_DATA, requires_grad=True),))


def test_mha_errors():
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="embed_dim and num_heads must be greater than 0"):
        nn.MultiheadAttention(0, 1)
    m = nn.MultiheadAttention(8, 2)
    x = rtorch.randn(3, 2, 8)
    with pytest.raises(
        RuntimeError,
        match=r"The shape of the 2D attn_mask is torch.Size\(\[2, 2\]\), but should be \(3, 3\).",
    ):
        m(x, x, x, attn_mask=rtorch.zeros(2, 2))
    with pytest.raises(RuntimeError, match=r"The shape of the 3D attn_mask is"):
        m(x, x, x, attn_mask=rtorch.zeros(3, 3, 3))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 8, but got 4"):
        m(rtorch.randn(3, 2, 4), x, x)
    with pytest.raises(AssertionError, match="only bool and floating types of key_padding_mask"):
        m(x, x, x, key_padding_mask=rtorch.zeros(2, 3, dtype=rtorch.int64))
    with pytest.raises(AssertionError, match="expected `key` and `value` to be 3-D"):
        m(x, x[0], x[0])


def test_mha_causal_mask_with_hint():
    m = _module()
    causal = np.triu(np.ones((L, L), bool), 1)
    q = _t(Q_DATA)
    out, _ = m(q, q, q, attn_mask=rtorch.tensor(causal), is_causal=True)
    assert_np_close(out, mha_reference(m, Q_DATA, Q_DATA, Q_DATA, attn_mask=causal)[0])


# ----- parity with PyTorch -----


@pytest.fixture(scope="module")
def torch_results():
    expected = run_in_torch("attention")
    if expected is None:
        pytest.skip("PyTorch is not installed")
    return expected


def test_parity_with_pytorch(torch_results):
    ours = attention_cases(rtorch)
    assert ours.keys() == torch_results.keys()
    for name, (value, grad) in torch_results.items():
        np.testing.assert_allclose(ours[name][0], value, rtol=1e-7, atol=1e-7, err_msg=name)
        np.testing.assert_allclose(ours[name][1], grad, rtol=1e-7, atol=1e-7, err_msg=name)


def test_sdpa_fully_masked_rows_give_zeros_not_nan():
    q = _t(RNG.standard_normal((2, 3, 4)), requires_grad=True)
    keep = np.tril(np.ones((3, 3), bool), -1)  # row 0 may attend to nothing
    out = F.scaled_dot_product_attention(q, q, q, attn_mask=rtorch.tensor(keep))
    with np.errstate(invalid="ignore"):  # the reference's row 0 is 0/0
        expected = sdpa_reference(*(to_np(q.detach()),) * 3, keep=keep)
    expected[:, 0] = 0.0
    assert_np_close(out, expected)
    out.sum().backward()
    assert np.all(np.isfinite(to_np(q.grad)))
    bias = rtorch.tensor(np.where(keep, 0.0, -np.inf))
    assert_np_close(
        F.scaled_dot_product_attention(q.detach(), q.detach(), q.detach(), attn_mask=bias), expected
    )


def test_sdpa_second_order_gradients():
    from rtorch.autograd import gradgradcheck

    q = _t(RNG.standard_normal((2, 3, 4)), requires_grad=True)
    assert gradgradcheck(lambda a: F.scaled_dot_product_attention(a, a * 0.5, a), (q,))
