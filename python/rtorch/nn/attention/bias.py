"""``rtorch.nn.attention.bias``: causal attention masks (``causal_upper_left``,
``causal_lower_right``), as ``torch.nn.attention.bias``.

PyTorch's ``CausalBias`` is a placeholder tensor subclass that
``scaled_dot_product_attention`` recognises through ``__torch_function__`` and turns into
its causal kernels. rtorch has no ``__torch_function__``, so here ``CausalBias`` *is* the
materialized boolean mask (True = may attend, ``(seq_len_q, seq_len_kv)``): passed as
``attn_mask`` it gives the same attention as PyTorch's, and ``_materialize()`` returns it
as a plain tensor.
"""

from __future__ import annotations

import warnings
from enum import IntEnum
from typing import Any

import rtorch

from ..._C import Tensor

__all__ = ["CausalBias", "CausalVariant", "causal_lower_right", "causal_upper_left"]


class CausalVariant(IntEnum):
    r"""Which corner the causal diagonal starts from when the query and key lengths differ.

    - ``UPPER_LEFT``: query ``i`` attends to keys ``j <= i``.
    - ``LOWER_RIGHT``: query ``i`` attends to keys ``j <= i + (seq_len_kv - seq_len_q)``,
      so the last query sees every key.
    """

    UPPER_LEFT = 1
    LOWER_RIGHT = 2


def _causal_mask(variant: CausalVariant, seq_len_q: int, seq_len_kv: int, device: Any) -> Tensor:
    offset = 0 if variant == CausalVariant.UPPER_LEFT else seq_len_kv - seq_len_q
    ones = rtorch.ones(seq_len_q, seq_len_kv, dtype=rtorch.bool, device=device)
    return ones.tril(offset)


class CausalBias(Tensor):
    """A causal mask of ``seq_len_q`` queries over ``seq_len_kv`` keys (see the module
    docstring for how it differs from PyTorch's placeholder)."""

    variant: CausalVariant
    seq_len_q: int
    seq_len_kv: int

    def __new__(cls, variant: CausalVariant, seq_len_q: int, seq_len_kv: int) -> CausalBias:  # noqa: PYI034
        if not isinstance(variant, CausalVariant):
            raise AssertionError(  # noqa: TRY004 (PyTorch asserts)
                f"variant must be a CausalVariant, got {type(variant).__name__}"
            )
        if seq_len_q > seq_len_kv and variant == CausalVariant.LOWER_RIGHT:
            warnings.warn(
                "Lower right causal bias will produce NaNs in the output when seq_len_q > "
                "seq_len_kv!",
                stacklevel=3,
            )
        out = Tensor.__new__(cls)
        # Rebind the fresh instance to the mask's storage (as nn.Parameter does).
        out.data = _causal_mask(variant, seq_len_q, seq_len_kv, None)
        out.variant = variant
        out.seq_len_q = seq_len_q
        out.seq_len_kv = seq_len_kv
        return out

    def __init__(self, variant: CausalVariant, seq_len_q: int, seq_len_kv: int) -> None:
        pass  # everything is set in __new__

    def _upper_left(self, device: Any) -> Tensor:
        return _causal_mask(CausalVariant.UPPER_LEFT, self.seq_len_q, self.seq_len_kv, device)

    def _lower_right(self, device: Any) -> Tensor:
        return _causal_mask(CausalVariant.LOWER_RIGHT, self.seq_len_q, self.seq_len_kv, device)

    def _materialize(self, device: Any = None) -> Tensor:
        """The mask as a plain boolean tensor (True = may attend)."""
        return _causal_mask(self.variant, self.seq_len_q, self.seq_len_kv, device)

    def __repr__(self) -> str:
        return repr(self._materialize())


def causal_upper_left(*size: int) -> CausalBias:
    """A causal mask aligned at the upper left: ``causal_upper_left(seq_len_q, seq_len_kv)``."""
    if len(size) != 2:
        raise AssertionError("causal_upper_left only supports 2D tensors")
    return CausalBias(CausalVariant.UPPER_LEFT, int(size[0]), int(size[1]))


def causal_lower_right(*size: int) -> CausalBias:
    """A causal mask aligned at the lower right: ``causal_lower_right(seq_len_q,
    seq_len_kv)``."""
    if len(size) != 2:
        raise AssertionError("causal_lower_right only supports 2D tensors")
    return CausalBias(CausalVariant.LOWER_RIGHT, int(size[0]), int(size[1]))
