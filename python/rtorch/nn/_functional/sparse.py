"""Lookup tables, as torch.nn.functional: ``embedding``, ``embedding_bag`` and ``one_hot``.

A lookup is one ``index_select`` of the weight's rows (its backward is an ``index_add``).
Bags are laid out as a dense ``(bags, longest bag, dim)`` block with one ``index_put``, then
reduced in one call, so there is no Python loop over bags.
"""

from __future__ import annotations

import rtorch

from ... import _C
from ..._C import Tensor
from ...autograd import Function

__all__ = ["embedding", "embedding_bag", "one_hot"]


class _ScaleGrad(Function):
    """Identity forward; multiplies the incoming gradient by a fixed tensor."""

    @staticmethod
    def forward(ctx, x: Tensor, scale: Tensor) -> Tensor:  # type: ignore[override]
        ctx.scale = scale
        return x.clone()

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        return grad * ctx.scale, None


_BAG_KERNEL_DTYPES = (_C.float32, _C.float64)
_BAG_MODES = {"sum": 0, "mean": 1, "max": 2}


def _check_indices(input: Tensor, name: str) -> None:
    if input.dtype not in (_C.int64, _C.int32):
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {input.type()} instead (while checking arguments for "
            f"{name})"
        )


def _resolve_padding_idx(padding_idx: int | None, num: int) -> int | None:
    if padding_idx is None:
        return None
    if padding_idx > 0:
        assert padding_idx < num, "Padding_idx must be within num_embeddings"
    elif padding_idx < 0:
        assert padding_idx >= -num, "Padding_idx must be within num_embeddings"
        padding_idx += num
    return padding_idx


def _renorm_rows(weight: Tensor, flat: Tensor, max_norm: float, norm_type: float) -> None:
    # Rescale, in place and outside autograd, every looked-up row whose norm exceeds max_norm.
    with rtorch.no_grad():
        rows = _C.unique(flat)
        picked = weight.index_select(0, rows)
        norms = picked.norm(norm_type, 1, keepdim=True)
        scale = _C.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight.index_copy_(0, rows, picked * scale)


def _lookup(
    weight: Tensor,
    flat: Tensor,
    padding_idx: int | None,
    scale_grad_by_freq: bool,
) -> Tensor:
    num = weight.shape[0]
    if flat.numel() and (int(flat.max().item()) >= num or int(flat.min().item()) < -num):
        raise IndexError("index out of range in self")
    rows = weight.index_select(0, flat)
    if padding_idx is not None and rows.requires_grad:
        # Same values, but the padding row's lookups pass no gradient back.
        keep = (flat != padding_idx).unsqueeze(-1)
        rows = _C.where(keep, rows, rows.detach())
    if scale_grad_by_freq and rows.requires_grad:
        _, inverse, counts = _C.unique(flat, return_inverse=True, return_counts=True)
        freq = counts.index_select(0, inverse.reshape(-1)).to(rows.dtype).unsqueeze(-1)
        rows = _ScaleGrad.apply(rows, freq.reciprocal())
    return rows


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    r"""Looks up rows of a fixed dictionary ``weight`` by index.

    Args:
        input: integer tensor of indices into ``weight``, any shape.
        weight: ``(num_embeddings, embedding_dim)``.
        padding_idx: lookups of this row give no gradient to it.
        max_norm: rows looked up whose ``norm_type``-norm exceeds it are renormalised to
            ``max_norm`` in place (this modifies ``weight``).
        norm_type: the p of the p-norm for ``max_norm``. Default: 2.
        scale_grad_by_freq: divide gradients by each index's frequency in the mini-batch.
        sparse: accepted for compatibility; rtorch has no sparse tensors, so the gradient of
            ``weight`` is dense (its values are those of PyTorch's sparse gradient).

    Shape:
        - Output: ``(*, embedding_dim)`` where ``*`` is the input shape.
    """
    _check_indices(input, "embedding")
    if weight.dim() != 2:
        raise RuntimeError("'weight' must be 2-D")
    padding_idx = _resolve_padding_idx(padding_idx, weight.shape[0])
    if max_norm is None and not scale_grad_by_freq:
        # One Rust op: bounds-checked row lookup; its backward adds gradient rows in index
        # order (deterministic) and leaves the padding row at zero.
        return _C._embedding(weight, input, padding_idx)
    flat = input.reshape(-1)
    if flat.dtype != _C.int64:
        flat = flat.long()
    if max_norm is not None:
        _renorm_rows(weight, flat, max_norm, norm_type)
    rows = _lookup(weight, flat, padding_idx, scale_grad_by_freq)
    return rows.view(*input.shape, weight.shape[1])


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    r"""Sums, averages or takes the maximum of bags of embeddings without materialising the
    individual lookups as separate tensors for the caller.

    Args:
        input: ``(B, N)`` (``B`` bags of length ``N``, ``offsets`` must be ``None``) or a 1-D
            concatenation of bags whose starts are ``offsets``.
        weight: ``(num_embeddings, embedding_dim)``.
        offsets: 1-D start index of each bag in a 1-D ``input``.
        mode: ``'sum'``, ``'mean'`` or ``'max'``. Default: ``'mean'``.
        per_sample_weights: weights of the lookups (``mode='sum'`` only), ``input``'s shape.
        include_last_offset: ``offsets`` has one extra entry, the end of the last bag.
        padding_idx: entries equal to it are left out of their bag (and of the mean's count).

    Shape:
        - Output: ``(B, embedding_dim)``; an empty bag gives zeros.
    """
    _check_indices(input, "embedding_bag")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub."
        )
    if per_sample_weights is not None and per_sample_weights.shape != input.shape:
        raise ValueError(
            f"embedding_bag: If per_sample_weights ({list(per_sample_weights.shape)}) is not "
            f"None, then it must have the same shape as the input ({list(input.shape)})"
        )
    num, dim = weight.shape[0], weight.shape[1]
    if padding_idx is not None and not -num <= padding_idx < num:
        raise RuntimeError(
            f"padding_idx must be within the number of embeddings, {-num} through {num - 1}, "
            f"but got {padding_idx}"
        )
    padding_idx = _resolve_padding_idx(padding_idx, num)
    if weight.dtype in _BAG_KERNEL_DTYPES and not scale_grad_by_freq:
        # One Rust op: bounds and offsets checked (PyTorch's messages), bags reduced in
        # one pass; its backward adds gradient rows deterministically.
        if input.dim() == 2 and offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a "
                "mini-batch of fixed length sequences. However, found offsets of type "
                f"{type(offsets)}"
            )
        if max_norm is not None:
            _renorm_rows(weight, input.reshape(-1).long(), max_norm, norm_type)
        return _C._embedding_bag(
            weight,
            input,
            offsets,
            _BAG_MODES[mode],
            per_sample_weights,
            include_last_offset,
            padding_idx,
        )
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a "
                "mini-batch of fixed length sequences. However, found offsets of type "
                f"{type(offsets)}"
            )
        bags, length = input.shape
        flat = input.reshape(-1).long()
        bag_of = _C.arange(bags).repeat_interleave(length) if length else flat
        pos = _C.arange(length).repeat(bags) if length else flat
        longest = length
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        offsets = offsets.long()
        if offsets.numel() and int(offsets[0].item()) != 0:
            raise RuntimeError(
                "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to "
                f"start from position 0. However, got {int(offsets[0].item())}"
            )
        flat = input.long()
        n = flat.numel()
        starts = offsets[:-1] if include_last_offset else offsets
        ends = (
            _C.cat([starts[1:], _C.tensor([n], device=starts.device)])
            if not include_last_offset
            else offsets[1:]
        )
        ends = ends.clamp_max(n)
        bags = starts.numel()
        lengths = (ends - starts).clamp_min(0)
        # Bag of every position: count the bag starts at or before it.
        marks = _C.zeros(n + 1, dtype=_C.int64, device=starts.device).index_add(
            0, starts.clamp_max(n), _C.ones(bags, dtype=_C.int64, device=starts.device)
        )
        bag_of = marks[:n].cumsum(0) - 1
        pos = _C.arange(n, device=starts.device) - starts.index_select(0, bag_of.clamp_min(0))
        longest = int(lengths.max().item()) if bags else 0
        if include_last_offset and n and bags:
            # Entries past the last offset belong to no bag.
            inside = pos < lengths.index_select(0, bag_of.clamp_min(0))
            if not bool(inside.all()):
                keep = inside.nonzero().squeeze(1)
                flat, bag_of, pos = (t.index_select(0, keep) for t in (flat, bag_of, pos))
                if per_sample_weights is not None:
                    per_sample_weights = per_sample_weights.index_select(0, keep)
    else:
        raise ValueError(
            f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}"
        )
    if max_norm is not None:
        _renorm_rows(weight, flat, max_norm, norm_type)
    rows = _lookup(weight, flat, None, scale_grad_by_freq)
    valid = flat != padding_idx if padding_idx is not None else None
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1).to(rows.dtype)
    fill = float("-inf") if mode == "max" else 0.0
    if valid is not None:
        rows = _C.where(valid.unsqueeze(-1), rows, fill)
    dense = _C.full((bags, max(longest, 1), dim), fill, dtype=weight.dtype, device=weight.device)
    if flat.numel():
        dense = dense.index_put((bag_of, pos), rows)
    if mode == "sum":
        return dense.sum(1)
    if mode == "mean":
        counts = (
            _C.zeros(bags, dtype=weight.dtype, device=weight.device).index_add(
                0,
                bag_of,
                valid.to(weight.dtype)
                if valid is not None
                else _C.ones_like(flat, dtype=weight.dtype),
            )
            if flat.numel()
            else _C.zeros(bags, dtype=weight.dtype, device=weight.device)
        )
        return dense.sum(1) / counts.clamp_min(1.0).unsqueeze(-1)
    values = dense.max(1)[0]
    # An empty bag (or one of padding only) gives zeros, as in PyTorch.
    return _C.where(values == float("-inf"), 0.0, values)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    r"""Returns an int64 tensor of shape ``(*, num_classes)`` with a 1 at each input's class.

    Args:
        tensor: int64 class values, any shape.
        num_classes: total number of classes; ``-1`` infers ``max + 1``.
    """
    if tensor.dtype != _C.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if tensor.numel() == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(tensor.max().item()) + 1
    elif num_classes < -1:
        raise RuntimeError("num_classes should be positive")
    if tensor.numel():
        if int(tensor.min().item()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if int(tensor.max().item()) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    out = _C.zeros(*tensor.shape, num_classes, dtype=_C.int64, device=tensor.device)
    return out.scatter_(-1, tensor.unsqueeze(-1), 1)
