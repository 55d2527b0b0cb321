"""Lookup tables, as torch.nn.modules.sparse: Embedding and EmbeddingBag."""

from __future__ import annotations

from typing import Any

import rtorch

from ..._C import Tensor
from .. import functional as F
from ..parameter import Parameter
from . import _factory
from .module import Module

__all__ = ["Embedding", "EmbeddingBag"]


def _check_padding_idx(padding_idx: int | None, num_embeddings: int) -> int | None:
    if padding_idx is None:
        return None
    if padding_idx > 0:
        assert padding_idx < num_embeddings, "Padding_idx must be within num_embeddings"
    elif padding_idx < 0:
        assert padding_idx >= -num_embeddings, "Padding_idx must be within num_embeddings"
        padding_idx = num_embeddings + padding_idx
    return padding_idx


def _make_weight(
    num: int, dim: int, _weight: Tensor | None, freeze: bool, device: Any, dtype: Any
) -> tuple[Parameter, bool]:
    """(weight parameter, whether it still needs its default initialisation)."""
    if _weight is None:
        return Parameter(_factory.empty((num, dim), device, dtype), requires_grad=not freeze), True
    assert list(_weight.shape) == [num, dim], (
        "Shape of weight does not match num_embeddings and embedding_dim"
    )
    return Parameter(_weight, requires_grad=not freeze), False


class Embedding(Module):
    r"""A lookup table that stores embeddings of a fixed dictionary and size.

    Args:
        num_embeddings: size of the dictionary of embeddings
        embedding_dim: the size of each embedding vector
        padding_idx: entries at this index do not contribute to the gradient; its row is
            initialised to zeros.
        max_norm: each embedding vector looked up with a norm larger than ``max_norm`` is
            renormalized to norm ``max_norm`` (in place, in ``weight``).
        norm_type: the p of the p-norm for ``max_norm``. Default: ``2``.
        scale_grad_by_freq: scale gradients by the inverse of the words' frequency in the
            mini-batch. Default: ``False``.
        sparse: accepted; the gradient is dense in rtorch (same values).

    Attributes:
        weight: :math:`(\text{num\_embeddings}, \text{embedding\_dim})`, initialized from
            :math:`\mathcal{N}(0, 1)`.

    Shape:
        - Input: :math:`(*)`, integer indices.
        - Output: :math:`(*, H)`, where :math:`H=\text{embedding\_dim}`.

    Examples::

        >>> embedding = nn.Embedding(10, 3)
        >>> embedding(torch.LongTensor([[1, 2, 4, 5], [4, 3, 2, 9]])).shape
        torch.Size([2, 4, 3])
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = _check_padding_idx(padding_idx, num_embeddings)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.weight, fresh = _make_weight(
            num_embeddings, embedding_dim, _weight, _freeze, device, dtype
        )
        if fresh:
            self.reset_parameters()
        self.sparse = sparse

    def reset_parameters(self) -> None:
        with rtorch.no_grad():
            self.weight.normal_(0.0, 1.0)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            with rtorch.no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(
            input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
            self.scale_grad_by_freq, self.sparse,
        )  # fmt: skip

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        r"""Creates an Embedding instance from a given 2-dimensional FloatTensor.

        Args:
            embeddings: weights for the Embedding, ``(num_embeddings, embedding_dim)``.
            freeze: if ``True`` the tensor does not get updated in training. Default: ``True``
            padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse: see the module.

        Examples::

            >>> weight = torch.FloatTensor([[1, 2.3, 3], [4, 5.1, 6.3]])
            >>> embedding = nn.Embedding.from_pretrained(weight)
            >>> embedding(torch.LongTensor([1]))
            tensor([[4.0000, 5.1000, 6.3000]])
        """
        assert embeddings.dim() == 2, "Embeddings parameter is expected to be 2-dimensional"
        rows, cols = embeddings.shape
        return cls(
            num_embeddings=rows,
            embedding_dim=cols,
            _weight=embeddings,
            _freeze=freeze,
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            sparse=sparse,
        )


class EmbeddingBag(Module):
    r"""Computes sums, means or maxima of "bags" of embeddings, without instantiating the
    intermediate embeddings.

    Args:
        num_embeddings: size of the dictionary of embeddings
        embedding_dim: the size of each embedding vector
        max_norm, norm_type, scale_grad_by_freq, sparse: as :class:`Embedding`.
        mode: ``"sum"``, ``"mean"`` or ``"max"``. Default: ``"mean"``
        include_last_offset: ``offsets`` has one extra element, the end of the last bag.
        padding_idx: entries at this index are left out of their bag and get no gradient.

    Attributes:
        weight: :math:`(\text{num\_embeddings}, \text{embedding\_dim})` from
            :math:`\mathcal{N}(0, 1)`.

    Inputs: ``input``, ``offsets`` (1-D input only), ``per_sample_weights`` (``mode='sum'``).

    Shape:
        - Output: :math:`(B, \text{embedding\_dim})`.

    Examples::

        >>> embedding_sum = nn.EmbeddingBag(10, 3, mode="sum")
        >>> input = torch.tensor([1, 2, 4, 5, 4, 3, 2, 9], dtype=torch.long)
        >>> offsets = torch.tensor([0, 4], dtype=torch.long)
        >>> embedding_sum(input, offsets).shape
        torch.Size([2, 3])
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: Tensor | None = None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.padding_idx = _check_padding_idx(padding_idx, num_embeddings)
        self.weight, fresh = _make_weight(
            num_embeddings, embedding_dim, _weight, False, device, dtype
        )
        if fresh:
            self.reset_parameters()
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset

    def reset_parameters(self) -> None:
        with rtorch.no_grad():
            self.weight.normal_(0.0, 1.0)
        if self.padding_idx is not None:
            with rtorch.no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(
        self,
        input: Tensor,
        offsets: Tensor | None = None,
        per_sample_weights: Tensor | None = None,
    ) -> Tensor:
        return F.embedding_bag(
            input, self.weight, offsets, self.max_norm, self.norm_type,
            self.scale_grad_by_freq, self.mode, self.sparse, per_sample_weights,
            self.include_last_offset, self.padding_idx,
        )  # fmt: skip

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> EmbeddingBag:
        r"""Creates an EmbeddingBag instance from a given 2-dimensional FloatTensor."""
        assert embeddings.dim() == 2, "Embeddings parameter is expected to be 2-dimensional"
        rows, cols = embeddings.shape
        bag = cls(
            num_embeddings=rows,
            embedding_dim=cols,
            _weight=embeddings,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            mode=mode,
            sparse=sparse,
            include_last_offset=include_last_offset,
            padding_idx=padding_idx,
        )
        bag.weight.requires_grad = not freeze
        return bag
