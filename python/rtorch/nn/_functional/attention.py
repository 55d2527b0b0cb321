"""Attention of rtorch.nn.functional: scaled_dot_product_attention and
multi_head_attention_forward, as torch.nn.functional.

Both are a handful of batched matrix products around one softmax. Masks follow
PyTorch's two conventions: in ``scaled_dot_product_attention`` a boolean mask says which
positions *take part* (True = attend); in ``multi_head_attention_forward`` boolean
``attn_mask``/``key_padding_mask`` say which positions are *masked out* (True = ignore).
Float masks are added to the scores in both.
"""

from __future__ import annotations

import math
import warnings

from ... import _C
from ..._C import Tensor
from .. import functional as F  # partially initialised at import time; used at call time
from .activation import _SCALAR_NAMES
from .conv import _CPP_TYPE_NAMES
from .dropout import dropout

__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]


def _dropout(x: Tensor, p: float) -> Tensor:
    """Inverted dropout in training mode, drawn as ``F.dropout`` (PyTorch's attention calls
    ``at::dropout`` too, so a seed gives its masks)."""
    if p <= 0.0:
        return x
    return dropout(x, p, training=True)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(q k^T * scale + mask) v over the last two dimensions.

    Args:
        query: (..., L, E); key: (..., S, E); value: (..., S, Ev).
        attn_mask: bool (True = attend) or float (added to the scores), broadcastable to
            (..., L, S).
        dropout_p: dropout probability applied to the attention weights.
        is_causal: attend only to positions j <= i (top-left aligned); excludes attn_mask.
        scale: defaults to 1 / sqrt(E).
        enable_gqa: key/value with fewer heads (dim -3) are shared by groups of query heads.

    Shape:
        - output: (..., L, Ev)
    """
    if is_causal and attn_mask is not None:
        raise RuntimeError(
            "_scaled_dot_product_attention: Explicit attn_mask should not be set when "
            "is_causal=True"
        )
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError(
            "Expected query, key, and value to all be  at least 2 dimensional, but got "
            f"query.dim: {query.dim()} key.dim: {key.dim()} and value.dim: {value.dim()} instead."
        )
    if not query.dtype == key.dtype == value.dtype:
        names = [_CPP_TYPE_NAMES.get(t.dtype, str(t.dtype)) for t in (query, key, value)]
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{names[0]} key.dtype: {names[1]} and value.dtype: {names[2]} instead."
        )
    if not query.is_floating_point():
        name = _SCALAR_NAMES.get(query.dtype, str(query.dtype))
        raise RuntimeError(f"expected scalar type Float but found {name}")
    head_dim = query.shape[-1]
    if key.shape[-1] != head_dim:
        raise RuntimeError(
            "Expected query and key to have the same size in their last dimension, but got "
            f"query: {list(query.shape)}, key: {list(key.shape)}"
        )
    if enable_gqa and query.dim() >= 3 and key.shape[-3] != query.shape[-3]:
        groups = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(groups, -3)
        value = value.repeat_interleave(groups, -3)
    if query.dtype in (_C.bfloat16, _C.float16):
        # Scores, softmax and products in float32, rounded once at the end, as PyTorch's
        # CPU kernel accumulates them (16-bit op by op: 46% of the bfloat16 outputs
        # correctly rounded, PyTorch 67%, this ~100%).
        if attn_mask is not None and attn_mask.is_floating_point():
            attn_mask = attn_mask.float()
        wide = (query.float(), key.float(), value.float())
        out = scaled_dot_product_attention(*wide, attn_mask, dropout_p, is_causal, scale)
        return out.to(query.dtype)
    scale = 1.0 / math.sqrt(head_dim) if scale is None else scale
    if dropout_p > 0.0:
        # PyTorch computes attention with dropout by its math path, which splits the
        # scale between the factors: the same scores to the last bit.
        root = math.sqrt(scale)
        scores = _C.matmul(query * root, key.transpose(-2, -1) * root)
    else:
        scores = _C.matmul(query * scale, key.transpose(-2, -1))
    # A query row with every key masked out attends to nothing and gets zeros (as
    # PyTorch's CPU kernel does); it is unmasked for the softmax and zeroed after, so
    # neither its output nor its gradient turns into NaN.
    empty_rows = None
    if is_causal:
        length, source = scores.shape[-2], scores.shape[-1]
        future = _C.ones((length, source), dtype=_C.bool, device=scores.device).triu(1)
        scores = scores.masked_fill(future, -math.inf)
    elif attn_mask is not None:
        if attn_mask.dtype is _C.bool:
            blocked = attn_mask.logical_not()
            empty_rows = blocked.all(-1, keepdim=True)
            if bool(empty_rows.any()):
                blocked = blocked & empty_rows.logical_not()
            else:
                empty_rows = None
            scores = scores.masked_fill(blocked, -math.inf)
        else:
            empty_rows = attn_mask.isneginf().all(-1, keepdim=True)
            if bool(empty_rows.any()):
                attn_mask = attn_mask.masked_fill(empty_rows, 0.0)
            else:
                empty_rows = None
            scores = scores + attn_mask
    weights = scores.softmax(-1)
    if empty_rows is not None:
        weights = weights.masked_fill(empty_rows, 0.0)
    weights = _dropout(weights, dropout_p)
    return _C.matmul(weights, value)


# ----- multi-head attention -----


def _canonical_mask(mask: Tensor | None, name: str, target_dtype: object) -> Tensor | None:
    """A boolean mask (True = masked out) becomes an additive float mask (-inf there)."""
    if mask is None:
        return None
    if mask.dtype is _C.bool:
        zeros = _C.zeros(tuple(mask.shape), dtype=target_dtype, device=mask.device)
        return zeros.masked_fill(mask, -math.inf)
    if not mask.is_floating_point():
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


def _check_shapes(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    key_padding_mask: Tensor | None,
    attn_mask: Tensor | None,
    num_heads: int,
) -> bool:
    """PyTorch's shape checks of multi_head_attention_forward; True for batched input."""
    d = query.dim()
    if d not in (2, 3):
        raise AssertionError(
            f"query should be unbatched 2D or batched 3D tensor but received {d}-D query tensor"
        )
    which = "batched (3-D)" if d == 3 else "unbatched (2-D)"
    if key.dim() != d or value.dim() != d:
        raise AssertionError(
            f"For {which} `query`, expected `key` and `value` to be {d}-D but found "
            f"{key.dim()}-D and {value.dim()}-D tensors respectively"
        )
    if key_padding_mask is not None and key_padding_mask.dim() != d - 1:
        raise AssertionError(
            f"For {which} `query`, expected `key_padding_mask` to be `None` or {d - 1}-D "
            f"but found {key_padding_mask.dim()}-D tensor instead"
        )
    if attn_mask is not None and attn_mask.dim() not in (2, 3):
        raise AssertionError(
            f"For {which} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
            f"{attn_mask.dim()}-D tensor instead"
        )
    if d == 2 and attn_mask is not None and attn_mask.dim() == 3:
        # Unbatched, a 3-D mask is one (L, S) mask per head.
        expected = (num_heads, query.shape[0], key.shape[0])
        if tuple(attn_mask.shape) != expected:
            raise AssertionError(
                f"Expected `attn_mask` shape to be {expected} but got {tuple(attn_mask.shape)}"
            )
    return d == 3


def _split_heads(
    x: Tensor, static: Tensor | None, name: str, n_heads_total: int, head_dim: int
) -> Tensor:
    """(S, N, E) -> (N * num_heads, S, head_dim); or ``static_<name>``, already in that
    layout, after checking its shape."""
    if static is None:
        return x.reshape(x.shape[0], n_heads_total, head_dim).transpose(0, 1)
    if static.shape[0] != n_heads_total or static.shape[2] != head_dim:
        raise AssertionError(
            f"expecting static_{name}.size(0) of {n_heads_total}, but got {static.shape[0]}"
        )
    return static


def _project_inputs(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    use_separate_proj_weight: bool,
    q_proj_weight: Tensor | None,
    k_proj_weight: Tensor | None,
    v_proj_weight: Tensor | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """q, k, v projections; self-attention (query is key is value) is one matmul, and a
    shared key/value source one more."""
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise AssertionError(
                "use_separate_proj_weight is True but q_proj_weight, k_proj_weight or "
                "v_proj_weight is None"
            )
        b_q = b_k = b_v = None
        if in_proj_bias is not None:
            b_q, b_k, b_v = in_proj_bias.chunk(3)
        q = F.linear(query, q_proj_weight, b_q)
        return q, F.linear(key, k_proj_weight, b_k), F.linear(value, v_proj_weight, b_v)
    if in_proj_weight is None:
        raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
    if query is key and key is value:
        return F.linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
    b_q = b_kv = None
    if in_proj_bias is not None:
        b_q, b_kv = in_proj_bias[:embed_dim], in_proj_bias[embed_dim:]
    q = F.linear(query, in_proj_weight[:embed_dim], b_q)
    w_kv = in_proj_weight[embed_dim:]
    if key is value:
        return (q, *F.linear(key, w_kv, b_kv).chunk(2, -1))
    w_k, w_v = w_kv.chunk(2)
    b_k, b_v = (None, None) if b_kv is None else b_kv.chunk(2)
    return q, F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention over sequence-first inputs, as torch's functional form.

    Shape:
        - query: (L, N, E) or (L, E); key: (S, N, kdim) or (S, kdim); value: (S, N, vdim)
        - key_padding_mask: (N, S) or (S,), bool (True = ignore) or float (added)
        - attn_mask: (L, S) or (N * num_heads, L, S), bool (True = ignore) or float
        - output: (L, N, E) or (L, E), and the weights (N, L, S) averaged over heads,
          (N, num_heads, L, S) otherwise, or None when ``need_weights`` is False.
    """
    is_batched = _check_shapes(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)

    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise AssertionError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}"
        )
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(
                f"key's sequence and batch dims {tuple(key.shape[:2])} do not match value's "
                f"{tuple(value.shape[:2])}"
            )
    elif key.shape != value.shape:
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")

    if (
        key_padding_mask is not None
        and attn_mask is not None
        and (key_padding_mask.dtype is _C.bool) != (attn_mask.dtype is _C.bool)
    ):
        warnings.warn(
            "Support for mismatched key_padding_mask and attn_mask is deprecated. Use same "
            "type for both instead.",
            stacklevel=2,
        )
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
            "module method `generate_square_subsequent_mask` to create this mask."
        )
    # The causal structure is already in attn_mask; the hint only selects a kernel.
    attn_mask = _canonical_mask(attn_mask, "attn_mask", query.dtype)

    q, k, v = _project_inputs(
        query,
        key,
        value,
        embed_dim,
        in_proj_weight,
        in_proj_bias,
        use_separate_proj_weight,
        q_proj_weight,
        k_proj_weight,
        v_proj_weight,
    )

    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                    f"{(tgt_len, src_len)}."
                )
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            expected = (bsz * num_heads, tgt_len, src_len)
            if tuple(attn_mask.shape) != expected:
                raise RuntimeError(
                    f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be {expected}."
                )
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key/value.")
        k = _C.cat([k, bias_k.reshape(1, 1, embed_dim).expand(1, bsz, embed_dim)])
        v = _C.cat([v, bias_v.reshape(1, 1, embed_dim).expand(1, bsz, embed_dim)])
        attn_mask = _pad_last(attn_mask)
        key_padding_mask = _pad_last(key_padding_mask)
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k and bias_v must both be given or both be None")

    # (L, N, E) -> (N * H, L, head_dim)
    q = _split_heads(q, None, "q", bsz * num_heads, head_dim)
    k = _split_heads(k, static_k, "k", bsz * num_heads, head_dim)
    v = _split_heads(v, static_v, "v", bsz * num_heads, head_dim)

    if add_zero_attn:
        zeros = _C.zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype, device=k.device)
        k = _C.cat([k, zeros], 1)
        v = _C.cat([v, zeros], 1)
        attn_mask = _pad_last(attn_mask)
        key_padding_mask = _pad_last(key_padding_mask)

    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(
                f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                f"{tuple(key_padding_mask.shape)}"
            )
        per_head = (
            key_padding_mask.reshape(bsz, 1, 1, src_len)
            .expand(bsz, num_heads, 1, src_len)
            .reshape(bsz * num_heads, 1, src_len)
        )
        attn_mask = per_head if attn_mask is None else attn_mask + per_head

    if not training:
        dropout_p = 0.0

    # scores: (N * H, L, S)
    scores = _C.bmm(q * (1.0 / math.sqrt(head_dim)), k.transpose(1, 2))
    if attn_mask is not None:
        scores = scores + attn_mask
    # As PyTorch, the weights returned are the ones applied: after dropout.
    weights = _dropout(scores.softmax(-1), dropout_p)
    out = _C.bmm(weights, v)  # (N * H, L, head_dim)
    out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)

    if not need_weights:
        return (out if is_batched else out.squeeze(1)), None
    weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
    if average_attn_weights:
        weights = weights.mean(1)
    if not is_batched:
        return out.squeeze(1), weights.squeeze(0)
    return out, weights


def _pad_last(mask: Tensor | None) -> Tensor | None:
    """One more (unmasked, zero) column at the end of a float mask."""
    if mask is None:
        return None
    pad = _C.zeros(tuple(mask.shape[:-1]) + (1,), dtype=mask.dtype, device=mask.device)
    return _C.cat([mask, pad], -1)
