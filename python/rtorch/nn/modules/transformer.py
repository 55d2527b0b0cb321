"""The Transformer of "Attention Is All You Need" and its encoder/decoder stacks, as
``torch.nn``: the same submodule names (so state_dicts interchange), defaults, post-norm
and pre-norm (``norm_first``) layouts, and mask arguments."""

from __future__ import annotations

import copy
import warnings
from typing import Any, Callable, Union

import rtorch
from rtorch import Tensor

from .. import functional as F
from .activation import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = [
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
]

_Activation = Union[str, Callable[[Tensor], Tensor]]


def _activation_fn(activation: _Activation) -> Callable[[Tensor], Tensor]:
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    if callable(activation):
        return activation
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _clones(module: Module, n: int) -> ModuleList:
    # Checked before copying: a non-module would otherwise be deep-copied n times (a hang
    # for a huge n) before ModuleList refused the first copy.
    if not isinstance(module, Module):
        raise TypeError(f"{type(module).__name__} is not a Module subclass")
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


def _generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
    """A float (sz, sz) mask: -inf above the diagonal (the future), 0 elsewhere."""
    return rtorch.full((sz, sz), float("-inf"), dtype=dtype, device=device).triu(1)


class _TransformerLayer(Module):
    """What the encoder and decoder layers share: self-attention (plus, for the decoder,
    attention over memory), the feed-forward network, and one norm and dropout per block.

    ``_cross_attention`` (a class attribute) tells the two apart. Submodules are created in
    PyTorch's order, so parameters draw the same random numbers and state_dict keys come out
    in the same order.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: _Activation = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **factory
        )
        if self._cross_attention:
            self.multihead_attn = MultiheadAttention(
                d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **factory
            )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        # norm1, norm2 (, norm3), then dropout1, dropout2 (, dropout3): one per block.
        n_blocks = 3 if self._cross_attention else 2
        for i in range(1, n_blocks + 1):
            self.add_module(
                f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
            )
        for i in range(1, n_blocks + 1):
            self.add_module(f"dropout{i}", Dropout(dropout))
        self.activation = _activation_fn(activation)

    def _sa_block(
        self, x: Tensor, mask: Tensor | None, padding: Tensor | None, is_causal: bool
    ) -> Tensor:
        out = self.self_attn(
            x,
            x,
            x,
            attn_mask=mask,
            key_padding_mask=padding,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout1(out)

    def _feed_forward(self, x: Tensor) -> Tensor:
        """linear2(dropout(activation(linear1(x)))), before the block's own dropout."""
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


class TransformerEncoderLayer(_TransformerLayer):
    r"""Self-attention followed by a feed-forward network, each with a residual connection
    and layer norm.

    Args:
        d_model: the number of expected features in the input.
        nhead: the number of attention heads.
        dim_feedforward: the width of the feed-forward network. Default: 2048
        dropout: the dropout probability. Default: 0.1
        activation: ``"relu"``, ``"gelu"`` or a callable. Default: ``"relu"``
        layer_norm_eps: the eps of the layer norms. Default: 1e-5
        batch_first: inputs are ``(batch, seq, feature)``. Default: ``False``
        norm_first: normalise before attention and feed-forward (pre-norm) instead of
            after. Default: ``False``
        bias: whether the linear layers and norms have biases. Default: ``True``

    Shape:
        - src: ``(S, E)``, ``(S, N, E)`` or ``(N, S, E)`` if ``batch_first``.
        - Output: the shape of ``src``.

    Example::

        >>> layer = nn.TransformerEncoderLayer(d_model=512, nhead=8)
        >>> out = layer(torch.rand(10, 32, 512))
    """

    _cross_attention = False

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout2(self._feed_forward(x))


class TransformerDecoderLayer(_TransformerLayer):
    r"""Self-attention, attention over the encoder's output (memory), and a feed-forward
    network, each with a residual connection and layer norm.

    Args:
        d_model: the number of expected features in the input.
        nhead: the number of attention heads.
        dim_feedforward: the width of the feed-forward network. Default: 2048
        dropout: the dropout probability. Default: 0.1
        activation: ``"relu"``, ``"gelu"`` or a callable. Default: ``"relu"``
        layer_norm_eps: the eps of the layer norms. Default: 1e-5
        batch_first: inputs are ``(batch, seq, feature)``. Default: ``False``
        norm_first: pre-norm instead of post-norm. Default: ``False``
        bias: whether the linear layers and norms have biases. Default: ``True``

    Shape:
        - tgt: ``(T, E)``, ``(T, N, E)`` or ``(N, T, E)``; memory: ``(S, E)``, ``(S, N, E)``
          or ``(N, S, E)``. Output: the shape of ``tgt``.

    Example::

        >>> layer = nn.TransformerDecoderLayer(d_model=512, nhead=8)
        >>> out = layer(torch.rand(20, 32, 512), torch.rand(10, 32, 512))
    """

    _cross_attention = True

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(
                self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(
            x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal)
        )
        return self.norm3(x + self._ff_block(x))

    def _mha_block(
        self,
        x: Tensor,
        memory: Tensor,
        mask: Tensor | None,
        padding: Tensor | None,
        is_causal: bool,
    ) -> Tensor:
        out = self.multihead_attn(
            x,
            memory,
            memory,
            attn_mask=mask,
            key_padding_mask=padding,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout2(out)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout3(self._feed_forward(x))


class TransformerEncoder(Module):
    r"""A stack of ``num_layers`` copies of an encoder layer, with an optional final norm.

    Args:
        encoder_layer: the layer to copy (deep copies: the layers do not share weights).
        num_layers: the number of layers.
        norm: an optional module applied to the output (e.g. ``LayerNorm``).
        enable_nested_tensor: accepted for compatibility; rtorch has no nested tensors.
        mask_check: accepted for compatibility.

    Example::

        >>> layer = nn.TransformerEncoderLayer(d_model=512, nhead=8)
        >>> encoder = nn.TransformerEncoder(layer, num_layers=6)
        >>> out = encoder(torch.rand(10, 32, 512))
    """

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = False
        self.mask_check = mask_check
        if enable_nested_tensor:
            # PyTorch warns whenever its nested-tensor fast path is unavailable; rtorch
            # never has one, so say why in PyTorch's words for the most common case.
            attn = getattr(encoder_layer, "self_attn", None)
            if attn is not None and not getattr(attn, "batch_first", False):
                warnings.warn(
                    "enable_nested_tensor is True, but self.use_nested_tensor is False "
                    "because encoder_layer.self_attn.batch_first was not True(use "
                    "batch_first for better inference performance)",
                    UserWarning,
                    stacklevel=2,
                )

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        out = src
        for layer in self.layers:
            out = layer(
                out,
                src_mask=mask,
                src_key_padding_mask=src_key_padding_mask,
                is_causal=bool(is_causal),
            )
        return self.norm(out) if self.norm is not None else out


class TransformerDecoder(Module):
    r"""A stack of ``num_layers`` copies of a decoder layer, with an optional final norm.

    Args:
        decoder_layer: the layer to copy.
        num_layers: the number of layers.
        norm: an optional module applied to the output.

    Example::

        >>> layer = nn.TransformerDecoderLayer(d_model=512, nhead=8)
        >>> decoder = nn.TransformerDecoder(layer, num_layers=6)
        >>> out = decoder(torch.rand(20, 32, 512), torch.rand(10, 32, 512))
    """

    def __init__(
        self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None
    ) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        out = tgt
        for layer in self.layers:
            out = layer(
                out,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=bool(tgt_is_causal),
                memory_is_causal=memory_is_causal,
            )
        return self.norm(out) if self.norm is not None else out


class Transformer(Module):
    r"""The encoder-decoder Transformer.

    Args:
        d_model: the number of expected features. Default: 512
        nhead: the number of attention heads. Default: 8
        num_encoder_layers: Default: 6
        num_decoder_layers: Default: 6
        dim_feedforward: Default: 2048
        dropout: Default: 0.1
        activation: ``"relu"``, ``"gelu"`` or a callable. Default: ``"relu"``
        custom_encoder, custom_decoder: modules to use instead of the default stacks.
        layer_norm_eps: Default: 1e-5
        batch_first: inputs are ``(batch, seq, feature)``. Default: ``False``
        norm_first: pre-norm layers. Default: ``False``
        bias: Default: ``True``

    Shape:
        - src: ``(S, E)``, ``(S, N, E)`` or ``(N, S, E)``; tgt: ``(T, E)``, ``(T, N, E)``
          or ``(N, T, E)``. Output: the shape of ``tgt``.

    Example::

        >>> model = nn.Transformer(nhead=16, num_encoder_layers=12)
        >>> out = model(torch.rand(10, 32, 512), torch.rand(20, 32, 512))
    """

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: _Activation = F.relu,
        custom_encoder: Module | None = None,
        custom_decoder: Module | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        layer_args = (
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
        )
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(*layer_args, **factory),
                num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory),
                enable_nested_tensor=False,
            )
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(*layer_args, **factory),
                num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory),
            )
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def _reset_parameters(self) -> None:
        from .. import init

        for p in self.parameters():
            if p.dim() > 1:
                init.xavier_uniform_(p)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """A causal float mask: ``-inf`` above the diagonal, ``0`` on and below it."""
        return _generate_square_subsequent_mask(sz, device, dtype)

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        batched = src.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        if batched and src.shape[batch_dim] != tgt.shape[batch_dim]:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if not batched and tgt.dim() == 3:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(
            src,
            mask=src_mask,
            src_key_padding_mask=src_key_padding_mask,
            is_causal=src_is_causal,
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )
