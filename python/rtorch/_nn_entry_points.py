"""The low-level ``torch.*`` entry points of nn functions (``torch.kl_div``, ``torch.lstm_cell``, ``torch.native_layer_norm`` …), which PyTorch programs sometimes call directly.

They take PyTorch's positional (ATen) signatures, which differ from
``torch.nn.functional``'s: reductions are the ``Reduction`` enum (0 none, 1 mean, 2 sum),
modes of ``embedding_bag`` and ``grid_sampler`` are ints, recurrent layers take a flat
list of weights. Each one delegates the math to ``rtorch.nn.functional`` (or the Rust op
underneath it) and adds what the ATen function returns besides: the saved mean and
reciprocal standard deviation of the ``native_*_norm`` functions, the dropout mask, the
bookkeeping tensors of ``embedding_bag``.

``rtorch.nn`` loads lazily (``import rtorch`` must stay light), so the functions here
import it on first call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _C
from ._C import Tensor

FUNCTIONS: dict[str, Any] = {}
METHODS: dict[str, Any] = {}


def _export(fn: Any) -> Any:
    FUNCTIONS[fn.__name__] = fn
    return fn


def _functional() -> Any:
    from .nn import functional

    return functional


_HALF_DTYPES = ("float16", "bfloat16")


def _is_half(t: Tensor) -> bool:
    return str(t.dtype).rsplit(".", 1)[-1] in _HALF_DTYPES


def _reduction(value: Any, fn: str, position: int) -> str:
    """PyTorch's ``Reduction`` enum as nn.functional's string: 1 mean, 2 sum, any other int
    none (ATen treats every other value as none)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{fn}(): argument 'reduction' (position {position}) must be int, not "
            f"{type(value).__name__}"
        )
    return {1: "mean", 2: "sum"}.get(value, "none")


# --- losses ----------------------------------------------------------------------------


@_export
def kl_div(
    input: Tensor, target: Tensor, reduction: int = 1, *, log_target: bool = False
) -> Tensor:
    """``torch.kl_div``: pointwise KL divergence, ``reduction`` as an int. Mean divides by
    the element count (no warning here, unlike ``F.kl_div(reduction='mean')``)."""
    mode = _reduction(reduction, "kl_div", 3)
    if not (input.is_floating_point() and target.is_floating_point()):
        raise RuntimeError("kl_div: Integral inputs not supported.")
    loss = _functional().kl_div(input, target, reduction="none", log_target=log_target)
    if mode == "mean":
        return loss.mean()
    return loss.sum() if mode == "sum" else loss


@_export
def cosine_embedding_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, reduction: int = 1
) -> Tensor:
    """``torch.cosine_embedding_loss``: ``F.cosine_embedding_loss`` with an int reduction."""
    mode = _reduction(reduction, "cosine_embedding_loss", 5)
    return _functional().cosine_embedding_loss(
        input1, input2, target, margin=margin, reduction=mode
    )


@_export
def hinge_embedding_loss(
    input: Tensor, target: Tensor, margin: float = 1.0, reduction: int = 1
) -> Tensor:
    """``torch.hinge_embedding_loss``: ``F.hinge_embedding_loss`` with an int reduction."""
    mode = _reduction(reduction, "hinge_embedding_loss", 4)
    return _functional().hinge_embedding_loss(input, target, margin=margin, reduction=mode)


@_export
def margin_ranking_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, reduction: int = 1
) -> Tensor:
    """``torch.margin_ranking_loss``: ``F.margin_ranking_loss`` with an int reduction."""
    mode = _reduction(reduction, "margin_ranking_loss", 5)
    return _functional().margin_ranking_loss(input1, input2, target, margin=margin, reduction=mode)


@_export
def poisson_nll_loss(
    input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float, reduction: int
) -> Tensor:
    """``torch.poisson_nll_loss``: every argument required, as in ATen."""
    mode = _reduction(reduction, "poisson_nll_loss", 6)
    return _functional().poisson_nll_loss(
        input, target, log_input=log_input, full=full, eps=eps, reduction=mode
    )


@_export
def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: int = 1,
) -> Tensor:
    """``torch.triplet_margin_loss``: ``F.triplet_margin_loss`` with an int reduction."""
    mode = _reduction(reduction, "triplet_margin_loss", 8)
    return _functional().triplet_margin_loss(
        anchor, positive, negative, margin=margin, p=p, eps=eps, swap=swap, reduction=mode
    )


@_export
def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    pos_weight: Tensor | None = None,
    reduction: int = 1,
) -> Tensor:
    """``torch.binary_cross_entropy_with_logits``: note ``pos_weight`` comes right after
    ``weight`` here, and the reduction is an int."""
    mode = _reduction(reduction, "binary_cross_entropy_with_logits", 5)
    return _functional().binary_cross_entropy_with_logits(
        input, target, weight, reduction=mode, pos_weight=pos_weight
    )


@_export
def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Tensor | Sequence[int],
    target_lengths: Tensor | Sequence[int],
    blank: int = 0,
    reduction: int = 1,
    zero_infinity: bool = False,
) -> Tensor:
    """``torch.ctc_loss``: lengths as tensors or int lists, an int reduction."""
    mode = _reduction(reduction, "ctc_loss", 6)
    return _functional().ctc_loss(
        log_probs, targets, input_lengths, target_lengths, blank, mode, zero_infinity
    )


# --- embeddings ------------------------------------------------------------------------

_BAG_MODES = {0: "sum", 1: "mean", 2: "max"}


@_export
def embedding_bag(
    weight: Tensor,
    indices: Tensor,
    offsets: Tensor,
    scale_grad_by_freq: bool = False,
    mode: int = 0,
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``torch.embedding_bag``: ``(output, offset2bag, bag_size, max_indices)``.

    ``output`` is ``F.embedding_bag``'s. The others are what PyTorch's CPU kernel returns
    for its backward, in the indices' dtype: ``offset2bag`` the bag of each index (empty
    in mode sum for float32/16-bit weights without padding_idx, PyTorch's fast path);
    ``bag_size`` the count of non-padding indices per bag (zeros in mode sum);
    ``max_indices`` in mode max the weight row that gave each output element's maximum
    (0 for an empty bag), in mode mean a copy of ``bag_size``, in mode sum zeros.
    """
    if mode not in _BAG_MODES:
        raise RuntimeError("`mode` must be sum, mean, or max.")
    if per_sample_weights is not None and mode != 0:
        raise RuntimeError("embedding_bag: per_sample_weights only supported with mode='sum'")
    if indices.dim() != 1 or offsets.dim() != 1:
        raise RuntimeError(
            f"embedding_bag: expected 1-D indices and offsets, but got indices of dimension "
            f"{indices.dim()} and offsets of dimension {offsets.dim()}"
        )
    output = _functional().embedding_bag(
        indices,
        weight,
        offsets,
        scale_grad_by_freq=scale_grad_by_freq,
        mode=_BAG_MODES[mode],
        sparse=sparse,
        per_sample_weights=per_sample_weights,
        include_last_offset=include_last_offset,
        padding_idx=padding_idx,
    )
    num = weight.shape[0]
    pad = None if padding_idx is None else padding_idx % num
    with _no_grad():
        return (output, *_bag_bookkeeping(weight, indices, offsets, mode, include_last_offset, pad))


def _no_grad() -> Any:
    from .autograd import no_grad

    return no_grad()


def _bag_bookkeeping(
    weight: Tensor,
    indices: Tensor,
    offsets: Tensor,
    mode: int,
    include_last_offset: bool,
    pad: int | None,
) -> tuple[Tensor, Tensor, Tensor]:
    import rtorch

    itype = indices.dtype
    n = indices.shape[0]
    starts = offsets[:-1] if include_last_offset else offsets
    bags = starts.shape[0]
    positions = rtorch.arange(n, dtype=itype)
    # The bag of index i is the last start <= i.
    offset2bag = (rtorch.searchsorted(starts.to(itype), positions, right=True) - 1).to(itype)
    fast_sum = mode == 0 and pad is None and weight.dtype != rtorch.float64
    if mode == 0:
        # PyTorch's sum kernel leaves these unused: zeros, one per offset.
        zeros = rtorch.zeros(offsets.shape[0], dtype=itype)
        return (positions[:0] if fast_sum else offset2bag), zeros, zeros.clone()
    if bags == 0:
        # No bags: every index belongs to none (-1).
        empty = rtorch.zeros((0, weight.shape[1]) if mode == 2 else (0,), dtype=itype)
        return offset2bag, rtorch.zeros(0, dtype=itype), empty
    counted = (indices != pad) if pad is not None else rtorch.ones(n, dtype=rtorch.bool)
    bag_size = rtorch.zeros(bags, dtype=itype).index_add_(0, offset2bag, counted.to(itype))
    if mode == 1:
        return offset2bag, bag_size, bag_size.clone()
    # Mode max: the first position of each bag holding the maximum, per column.
    dim = weight.shape[1]
    rows = weight.detach().index_select(0, indices.long())
    ids = offset2bag.long()
    best = _max_per_bag(rows, ids, bags, counted)
    hit = (rows == best.index_select(0, ids)) & counted.unsqueeze(1)
    where = rtorch.where(hit, positions.long().unsqueeze(1).expand(n, dim), n)
    first = rtorch.full((bags, dim), n, dtype=rtorch.int64).scatter_reduce(
        0, ids.unsqueeze(1).expand(n, dim), where, "amin"
    )
    padded_indices = rtorch.cat([indices, rtorch.zeros(1, dtype=itype)])
    max_indices = padded_indices.index_select(0, first.reshape(-1)).reshape(bags, dim)
    return offset2bag, bag_size, max_indices


def _max_per_bag(rows: Tensor, ids: Tensor, bags: int, counted: Tensor) -> Tensor:
    import rtorch

    n, dim = rows.shape[0], rows.shape[1]
    values = rtorch.where(counted.unsqueeze(1), rows, float("-inf"))
    start = rtorch.full((bags, dim), float("-inf"), dtype=rows.dtype)
    return start.scatter_reduce(0, ids.unsqueeze(1).expand(n, dim), values, "amax")


@_export
def embedding_renorm_(input: Tensor, indices: Tensor, max_norm: float, norm_type: float) -> Tensor:
    """``torch.embedding_renorm_``: rescales in place each row of ``input`` named in
    ``indices`` whose ``norm_type``-norm exceeds ``max_norm`` to norm ``max_norm``
    (``max_norm / (norm + 1e-7)``, as PyTorch); returns ``input``."""
    import rtorch

    from .nn._functional.sparse import _renorm_rows

    if indices.dtype not in (rtorch.int64, rtorch.int32):
        raise RuntimeError(
            "Expected tensor for argument #2 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {indices.dtype} instead"
        )
    _renorm_rows(input, indices.reshape(-1), max_norm, norm_type)
    return input


# --- normalization ---------------------------------------------------------------------


@_export
def instance_norm(
    input: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    use_input_stats: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool,
) -> Tensor:
    """``torch.instance_norm``: ``F.instance_norm`` in ATen's argument order
    (``cudnn_enabled`` is ignored)."""
    _require_float(input, "batch_norm")
    return _functional().instance_norm(
        input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps
    )


def _require_float(input: Tensor, kernel: str) -> None:
    # ATen's dispatch error for a kernel with no integer version; nn.functional owns it
    # (imported here on first call, as rtorch.nn loads lazily).
    from .nn._functional.activation import _require_floating

    _require_floating(input, kernel)


def _stats(x: Tensor, dims: list[int], keepdim: bool, eps: float) -> tuple[Tensor, Tensor]:
    """Mean and ``1 / sqrt(biased var + eps)`` over ``dims``, 16-bit floats computed in
    float32 and rounded once (as PyTorch's kernels accumulate)."""
    wide = x.float() if _is_half(x) else x
    if x.numel() == 0:
        # No samples: undefined statistics of the right shape (var_mean would warn).
        nan = wide.sum(dims, keepdim=keepdim) * float("nan")
        return nan.to(x.dtype), nan.to(x.dtype)
    var, mean = _C.var_mean(wide, dims, correction=0, keepdim=keepdim)
    rstd = (var + eps).rsqrt()
    return mean.to(x.dtype), rstd.to(x.dtype)


@_export
def native_layer_norm(
    input: Tensor,
    normalized_shape: Sequence[int],
    weight: Tensor | None,
    bias: Tensor | None,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """``torch.native_layer_norm``: ``(output, mean, rstd)``; mean and rstd have the
    input's leading dimensions and size 1 in each normalized one."""
    _require_float(input, "LayerNormKernelImpl")
    out = _functional().layer_norm(input, normalized_shape, weight, bias, eps)
    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    dims = list(range(input.dim() - k, input.dim()))
    with _no_grad():
        mean, rstd = _stats(input, dims, True, eps)
    return out, mean, rstd


@_export
def native_group_norm(
    input: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    N: int,
    C: int,
    HxW: int,
    group: int,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """``torch.native_group_norm``: ``(output, mean, rstd)``, mean and rstd ``(N, group)``.
    They carry gradients, as PyTorch's do."""
    _require_float(input, "GroupNormKernelImpl")
    if input.numel() != N * C * HxW:
        raise RuntimeError("Expected X.numel() == N * C * HxW to be true, but got false.")
    if input.dim() < 2 or input.shape[0] != N or input.shape[1] != C:
        raise RuntimeError(
            f"native_group_norm: expected input of shape [{N}, {C}, *], got {list(input.shape)}"
        )
    if group <= 0 or C % group != 0:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got "
            f"input of shape {list(input.shape)} and num_groups={group}"
        )
    if N * C * HxW == 0:
        # Nothing to normalize; F.group_norm's batch-size check does not apply.
        empty = input.new_zeros((N, group))
        return input.clone(), empty, empty.clone()
    out = _functional().group_norm(input, group, weight, bias, eps)
    mean, rstd = _stats(input.reshape(N, group, -1), [2], False, eps)
    return out, mean, rstd


@_export
def native_batch_norm(
    input: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """``torch.native_batch_norm``: ``(output, save_mean, save_invstd)``.

    In training the batch mean and ``1 / sqrt(biased var + eps)`` per channel, and the
    running statistics (when given) updated in place; in evaluation two empty tensors.
    Unlike ``F.batch_norm`` a single value per channel is allowed.
    """
    if input.dim() < 2:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [-{max(input.dim(), 1)}, "
            f"{max(input.dim(), 1) - 1}], but got 1)"
        )
    if not training and (running_mean is None or running_var is None):
        raise ValueError("running_mean must be defined in evaluation mode")
    _require_float(input, "batch_norm")
    channels = input.shape[1]
    for t, name in (
        (running_mean, "running_mean"),
        (running_var, "running_var"),
        (weight, "weight"),
        (bias, "bias"),
    ):
        if t is not None and t.numel() != channels:
            raise RuntimeError(f"{name} should contain {channels} elements not {t.numel()}")
    if input.numel() == 0:
        raise RuntimeError(
            "input tensor must have at least one element, but got input_sizes = "
            f"{list(input.shape)}"
        )
    dims = _reduce_dims(input)
    if training and input.numel() // channels == 1:
        # One value per channel: the fused kernel refuses it (as F.batch_norm does), ATen
        # normalizes it to zero; the running variance becomes NaN (0 / 0 unbiased).
        with _no_grad():
            mean, invstd = _stats(input, dims, False, eps)
        out = batch_norm_elemt(input, weight, bias, mean, invstd, eps)
        _update_running(running_mean, running_var, mean, mean * float("nan"), momentum)
        return out, mean, invstd
    out = _C._batch_norm(
        input, running_mean, running_var, weight, bias, training, float(momentum), float(eps)
    )
    if not training:
        empty = input.new_empty((0,))
        return out, empty, empty.clone()
    with _no_grad():
        mean, invstd = _stats(input, dims, False, eps)
    return out, mean, invstd


# The synchronized batch norm primitives (ATen's CUDA kernels behind SyncBatchNorm; PyTorch
# has no CPU kernel for them): per-channel statistics, their combination across
# workers, the normalization, and the two halves of the backward.


def _per_channel(t: Tensor, input: Tensor) -> Tensor:
    shape = [1] * input.dim()
    shape[1] = input.shape[1]
    return t.reshape(shape)


def _reduce_dims(input: Tensor) -> list[int]:
    return [d for d in range(input.dim()) if d != 1]


def _stat_dtype(input: Tensor) -> Any:
    import rtorch

    return rtorch.float32 if _is_half(input) else input.dtype


@_export
def batch_norm_stats(input: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """``torch.batch_norm_stats``: per-channel ``(mean, invstd)`` of this worker's batch,
    ``invstd = 1 / sqrt(biased var + eps)``; float32 for 16-bit inputs."""
    var, mean = _C.var_mean(input.to(_stat_dtype(input)), _reduce_dims(input), correction=0)
    return mean, (var + eps).rsqrt()


@_export
def batch_norm_elemt(
    input: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    mean: Tensor,
    invstd: Tensor,
    eps: float,
) -> Tensor:
    """``torch.batch_norm_elemt``: ``(input - mean) * invstd * weight + bias`` per channel
    (``eps`` is unused: it is already inside ``invstd``)."""
    scale = invstd if weight is None else invstd * weight
    out = (input - _per_channel(mean, input)) * _per_channel(scale, input)
    if bias is not None:
        out = out + _per_channel(bias, input)
    return out.to(input.dtype)


def _update_running(
    running_mean: Tensor | None,
    running_var: Tensor | None,
    mean: Tensor,
    unbiased_var: Tensor,
    momentum: float,
) -> None:
    with _no_grad():
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(mean.to(running_mean.dtype), alpha=momentum)
        if running_var is not None:
            running_var.mul_(1 - momentum).add_(unbiased_var.to(running_var.dtype), alpha=momentum)


@_export
def batch_norm_gather_stats_with_counts(
    input: Tensor,
    mean: Tensor,
    invstd: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    momentum: float,
    eps: float,
    counts: Tensor,
) -> tuple[Tensor, Tensor]:
    """``torch.batch_norm_gather_stats_with_counts``: combines the ``(W, C)`` per-worker
    means and invstds of ``counts`` samples each into the global ``(mean, invstd)``
    (Chan's parallel variance), and updates the running statistics in place with the
    unbiased global variance. ``input`` gives only the dtype context, as in PyTorch."""
    if mean.dim() != 2 or invstd.shape != mean.shape:
        raise RuntimeError(
            f"batch_norm_gather_stats: expected mean and invstd of shape (world_size, "
            f"channels), got {list(mean.shape)} and {list(invstd.shape)}"
        )
    n = counts.to(mean.dtype).reshape(-1, 1)
    if n.shape[0] != mean.shape[0]:
        raise RuntimeError(
            f"batch_norm_gather_stats: {n.shape[0]} counts for {mean.shape[0]} workers"
        )
    total = n.sum(0)
    global_mean = (n * mean).sum(0) / total
    worker_var = invstd.pow(-2) - eps
    m2 = (n * (worker_var + (mean - global_mean).pow(2))).sum(0)
    var = m2 / total
    _update_running(running_mean, running_var, global_mean, m2 / (total - 1), momentum)
    return global_mean, (var + eps).rsqrt()


@_export
def batch_norm_gather_stats(
    input: Tensor,
    mean: Tensor,
    invstd: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    momentum: float,
    eps: float,
    count: int,
) -> tuple[Tensor, Tensor]:
    """``torch.batch_norm_gather_stats``: as ``..._with_counts`` with every worker holding
    ``count`` samples."""
    import rtorch

    counts = rtorch.full((mean.shape[0],), float(count), dtype=mean.dtype)
    return batch_norm_gather_stats_with_counts(
        input, mean, invstd, running_mean, running_var, momentum, eps, counts
    )


@_export
def batch_norm_update_stats(
    input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, momentum: float
) -> tuple[Tensor, Tensor]:
    """``torch.batch_norm_update_stats``: the per-channel batch ``(mean, biased var)``;
    the running statistics updated in place (the variance with the unbiased one)."""
    _require_float(input, "batch_norm_update_stats_cpu")
    var, mean = _C.var_mean(input, _reduce_dims(input), correction=0)
    count = input.numel() // max(input.shape[1], 1)
    unbiased = var * (count / (count - 1)) if count > 1 else var * float("nan")
    _update_running(running_mean, running_var, mean.detach(), unbiased.detach(), momentum)
    return mean, var


@_export
def batch_norm_backward_reduce(
    grad_out: Tensor,
    input: Tensor,
    mean: Tensor,
    invstd: Tensor,
    weight: Tensor | None,
    input_g: bool,
    weight_g: bool,
    bias_g: bool,
) -> tuple[Tensor | None, Tensor | None, Tensor | None, Tensor | None]:
    """``torch.batch_norm_backward_reduce``: per channel ``sum_dy = Σ dy``,
    ``sum_dy_xmu = Σ dy (x - mean)``, ``grad_weight = sum_dy_xmu * invstd`` and
    ``grad_bias = sum_dy``; each one ``None`` where its flag is False."""
    dims = _reduce_dims(input)
    dy = grad_out.to(mean.dtype)
    sum_dy = dy.sum(dims)
    sum_dy_xmu = (dy * (input.to(mean.dtype) - _per_channel(mean, input))).sum(dims)
    wdtype = weight.dtype if weight is not None else mean.dtype
    return (
        sum_dy if input_g else None,
        sum_dy_xmu if input_g else None,
        (sum_dy_xmu * invstd).to(wdtype) if weight_g else None,
        sum_dy.to(wdtype) if bias_g else None,
    )


@_export
def batch_norm_backward_elemt(
    grad_out: Tensor,
    input: Tensor,
    mean: Tensor,
    invstd: Tensor,
    weight: Tensor | None,
    sum_dy: Tensor,
    sum_dy_xmu: Tensor,
    count: Tensor,
) -> Tensor:
    """``torch.batch_norm_backward_elemt``: the input gradient from the globally reduced
    sums, ``N = count.sum()``:
    ``(dy - sum_dy/N - (x - mean) invstd² sum_dy_xmu/N) * invstd * weight``."""
    total = count.sum().item()
    mean_dy = _per_channel(sum_dy / total, input)
    mean_dy_xmu = _per_channel(sum_dy_xmu / total, input)
    inv = _per_channel(invstd, input)
    xmu = input - _per_channel(mean, input)
    scale = inv if weight is None else inv * _per_channel(weight, input)
    grad = (grad_out - mean_dy - xmu * inv * inv * mean_dy_xmu) * scale
    return grad.to(input.dtype)


# --- dropout ---------------------------------------------------------------------------


def _check_dropout_p(p: float) -> None:
    if not 0 <= p <= 1:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")


def _feature_mask_shape(input: Tensor) -> list[int]:
    if input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return [input.shape[0], input.shape[1]] + [1] * (input.dim() - 2)


def _feature_dropout(input: Tensor, p: float, train: bool, inplace: bool) -> Tensor:
    from .nn._functional.dropout import _apply

    _check_dropout_p(p)
    shape = _feature_mask_shape(input)
    if not train or p == 0:
        return input
    return _apply(input, shape, p, inplace)


@_export
def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.feature_dropout``: zeroes whole ``(N, C)`` feature maps of an input of any
    rank >= 2 with probability ``p`` and scales the rest by ``1 / (1 - p)``."""
    return _feature_dropout(input, p, train, False)


@_export
def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place ``torch.feature_dropout``; returns ``input``."""
    return _feature_dropout(input, p, train, True)


@_export
def native_dropout(input: Tensor, p: float, train: bool | None) -> tuple[Tensor, Tensor]:
    """``torch.native_dropout``: ``(output, mask)``, ``mask`` bool (True = kept) and
    ``output = input * mask / (1 - p)`` (zeros when ``p == 1``). ``train=None`` means
    training; when not training, a copy of the input and an all-True mask."""
    import rtorch

    if train is None or train:
        if not input.is_floating_point():
            from .nn._functional.activation import _SCALAR_NAMES

            raise RuntimeError(
                f"result type Float can't be cast to the desired output type "
                f"{_SCALAR_NAMES[input.dtype]}"
            )
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={1 - p}")
        keep = 1.0 - p
        mask = rtorch.empty(input.shape, dtype=input.dtype).bernoulli_(keep)
        scale = 0.0 if keep == 0 else 1.0 / keep
        return input * (mask * scale), mask.bool()
    return input.clone(), rtorch.ones(input.shape, dtype=rtorch.bool)


@_export
def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """``torch.native_channel_shuffle``: ``F.channel_shuffle`` (PyTorch's messages for the
    checks that differ)."""
    if input.dim() <= 2:
        raise RuntimeError(
            f"channel_shuffle expects input with > 2 dims, but got input with sizes "
            f"{list(input.shape)}"
        )
    if groups > 0 and input.shape[1] % groups != 0:
        raise RuntimeError(
            f"Number of channels must be divisible by groups. Got {input.shape[1]} channels "
            f"and {groups} groups."
        )
    return _functional().channel_shuffle(input, groups)


# --- convolution -----------------------------------------------------------------------


@_export
def convolution(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    transposed: bool,
    output_padding: Sequence[int],
    groups: int,
) -> Tensor:
    """``torch.convolution``: the 1-, 2- or 3-d convolution (``transposed`` for the
    transposed one) picked by the weight's rank, on a batched input."""
    spatial = weight.dim() - 2
    if spatial not in (1, 2, 3):
        raise RuntimeError(
            f"convolution: expected a 3-, 4- or 5-dimensional weight, got {weight.dim()}"
        )
    if input.dim() != weight.dim():
        raise RuntimeError(
            f"Expected {weight.dim()}-dimensional input for {weight.dim()}-dimensional weight "
            f"{list(weight.shape)}, but got {input.dim()}-dimensional input of size "
            f"{list(input.shape)} instead"
        )
    F = _functional()
    stride, padding, dilation = (_expand(v, spatial) for v in (stride, padding, dilation))
    if transposed:
        fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[spatial - 1]
        out_pad = _expand(output_padding, spatial)
        return fn(input, weight, bias, stride, padding, out_pad, groups, dilation)
    fn = (F.conv1d, F.conv2d, F.conv3d)[spatial - 1]
    return fn(input, weight, bias, stride, padding, dilation, groups)


def _expand(value: Sequence[int] | int, n: int) -> tuple[int, ...]:
    values = [value] if isinstance(value, int) else list(value)
    if len(values) == 1:
        values = values * n
    if len(values) != n:
        raise RuntimeError(f"expected a list of {n} values, got {list(values)}")
    return tuple(int(v) for v in values)


@_export
def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    """``torch.conv_tbc``: a 1-d convolution over a time-first ``(time, batch, channels)``
    input with a ``(kernel, in, out)`` weight; ``pad`` zeros on both ends of time (a
    negative ``pad`` crops)."""
    if input.dim() != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.dim() != 3:
        raise RuntimeError(
            "Weight tensor must have 3 dims: kernel_width, in_channels, out_channels."
        )
    if bias.dim() != 1:
        raise RuntimeError("Bias must be 1-D")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if weight.shape[2] != bias.shape[0]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    x = input.permute(1, 2, 0)
    if pad < 0:
        x = x.narrow(2, -pad, x.shape[2] + 2 * pad)
    out = _functional().conv1d(x, weight.permute(2, 1, 0), bias, padding=max(pad, 0))
    return out.permute(2, 0, 1)


# --- sampling grids --------------------------------------------------------------------

_GRID_MODES = {0: "bilinear", 1: "nearest", 2: "bicubic"}
_GRID_PADDINGS = {0: "zeros", 1: "border", 2: "reflection"}


@_export
def affine_grid_generator(theta: Tensor, size: Sequence[int], align_corners: bool) -> Tensor:
    """``torch.affine_grid_generator``: ``F.affine_grid`` with a required
    ``align_corners`` (4-D and 5-D sizes)."""
    return _functional().affine_grid(theta, [int(s) for s in size], align_corners)


@_export
def grid_sampler(
    input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int, align_corners: bool
) -> Tensor:
    """``torch.grid_sampler``: ``F.grid_sample`` with the modes as PyTorch's enums
    (interpolation 0 bilinear, 1 nearest, 2 bicubic; padding 0 zeros, 1 border,
    2 reflection)."""
    mode, padding = _grid_modes(interpolation_mode, padding_mode)
    return _functional().grid_sample(input, grid, mode, padding, align_corners)


def _grid_modes(interpolation_mode: int, padding_mode: int) -> tuple[str, str]:
    """The enums as ``F.grid_sample``'s strings."""
    if interpolation_mode not in _GRID_MODES:
        raise RuntimeError(f"grid_sampler(): unknown interpolation mode {interpolation_mode}")
    if padding_mode not in _GRID_PADDINGS:
        raise RuntimeError(f"grid_sampler(): unknown padding mode {padding_mode}")
    return _GRID_MODES[interpolation_mode], _GRID_PADDINGS[padding_mode]


def _check_grid_dims(input: Tensor, grid: Tensor, dims: int) -> None:
    if input.dim() != dims or grid.dim() != dims:
        raise RuntimeError(
            f"grid_sampler(): expected {dims}D input and grid with same number of dimensions, "
            f"but got input with sizes {list(input.shape)} and grid with sizes "
            f"{list(grid.shape)}"
        )


@_export
def grid_sampler_2d(
    input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int, align_corners: bool
) -> Tensor:
    """``torch.grid_sampler_2d``: ``grid_sampler`` restricted to 4-D inputs."""
    _check_grid_dims(input, grid, 4)
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


@_export
def grid_sampler_3d(
    input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int, align_corners: bool
) -> Tensor:
    """``torch.grid_sampler_3d``: samples a ``(N, C, D, H, W)`` volume at the ``(x, y, z)``
    locations of a ``(N, Do, Ho, Wo, 3)`` grid (trilinear or nearest; bicubic is 2-D only,
    as in PyTorch), through ``F.grid_sample``."""
    _check_grid_dims(input, grid, 5)
    mode, padding = _grid_modes(interpolation_mode, padding_mode)
    if mode == "bicubic":
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    return _functional().grid_sample(input, grid, mode, padding, align_corners)


@_export
def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:
    """``torch.norm_except_dim``: the ``pow``-norm over every dimension but ``dim``, kept
    as size 1 (the whole norm, 0-dim, when ``dim == -1``)."""
    from .nn.utils.weight_norm import norm_except_dim as _norm

    if dim == -1:
        return v.norm(pow)
    if v.dim() == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if not -v.dim() <= dim < v.dim():
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-v.dim()}, {v.dim() - 1}], "
            f"but got {dim})"
        )
    if v.dim() == 1:
        # The norm of each single element; an empty dim list would reduce everything.
        return v.abs() if pow != 0 else (v != 0).to(v.dtype)
    return _norm(v, pow, dim)


# --- recurrent cells and layers ----------------------------------------------------------


def _rnn_module() -> Any:
    from .nn.modules import rnn

    return rnn


def _project_input(
    input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None
) -> Tensor:
    """ATen's checks of a cell's input and hidden state, then ``x w_ih^T + b_ih`` (the part
    of every cell's gates that does not depend on the hidden state)."""
    if input.dim() != 2:
        raise RuntimeError(f"Expected 2D input (batch x feature), but got {input.dim()}D input")
    if input.shape[1] != w_ih.shape[1]:
        raise RuntimeError(
            f"input has inconsistent input_size: got {input.shape[1]} expected {w_ih.shape[1]}"
        )
    if hx.shape[-1] != w_hh.shape[1]:
        raise RuntimeError(
            f"hidden0 has inconsistent hidden_size: got {hx.shape[-1]}, expected {w_hh.shape[1]}"
        )
    return _functional().linear(input, w_ih, b_ih)


def _simple_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    relu: bool,
) -> Tensor:
    x_proj = _project_input(input, hx, w_ih, w_hh, b_ih)
    return _rnn_module()._rnn_step(x_proj, hx, w_hh, b_hh, relu)


@_export
def rnn_tanh_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """``torch.rnn_tanh_cell``: ``tanh(x w_ih^T + b_ih + h w_hh^T + b_hh)``."""
    return _simple_cell(input, hx, w_ih, w_hh, b_ih, b_hh, False)


@_export
def rnn_relu_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """``torch.rnn_relu_cell``: ``relu(x w_ih^T + b_ih + h w_hh^T + b_hh)``."""
    return _simple_cell(input, hx, w_ih, w_hh, b_ih, b_hh, True)


@_export
def lstm_cell(
    input: Tensor,
    hx: Sequence[Tensor],
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """``torch.lstm_cell``: one LSTM step (gates i, f, g, o); ``hx`` is ``[h, c]``."""
    if len(hx) != 2:
        raise RuntimeError("lstm_cell expects two hidden states")
    h, c = hx
    x_proj = _project_input(input, h, w_ih, w_hh, b_ih)
    return _rnn_module()._lstm_step(x_proj, h, c, w_hh, b_hh)


@_export
def gru_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """``torch.gru_cell``: one GRU step (gates r, z, n)."""
    x_proj = _project_input(input, hx, w_ih, w_hh, b_ih)
    return _rnn_module()._gru_step(x_proj, hx, w_hh, b_hh)


class _FlatWeightsRNN:
    """The state ``nn.RNNBase``'s recurrence reads, built from a flat weight list instead
    of a module's parameters, so the functional entry points run the very same code
    (fused Rust layer op where it applies, the step-by-step path otherwise)."""

    def __init__(
        self,
        mode: str,
        params: Sequence[Tensor],
        has_biases: bool,
        num_layers: int,
        dropout: float,
        train: bool,
        bidirectional: bool,
    ) -> None:
        directions = 2 if bidirectional else 1
        per = 4 if has_biases else 2
        params = list(params)
        groups = num_layers * directions
        if mode == "LSTM" and len(params) == groups * (per + 1):
            per += 1
        if len(params) != groups * per:
            raise RuntimeError("got an incorrect number of RNN parameters")
        self.mode = mode
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = float(dropout)
        self.training = bool(train)
        self.bias = has_biases
        self.proj_size = params[per - 1].shape[0] if per in (3, 5) else 0
        self._params = params
        self._per = per
        self.hidden_size = params[1].shape[1] if not self.proj_size else params[per - 1].shape[1]

    # RNNBase's recurrence, run on this object: plain functions of the attributes above.
    def _run(self, *args: Any) -> Any:
        return _rnn_module().RNNBase._run(self, *args)

    def _run_direction(self, *args: Any) -> Any:
        return _rnn_module().RNNBase._run_direction(self, *args)

    def _fused_ok(self, *args: Any) -> Any:
        return _rnn_module().RNNBase._fused_ok(self, *args)

    def _run_fused(self, *args: Any) -> Any:
        return _rnn_module().RNNBase._run_fused(self, *args)

    @property
    def _flat_weights(self) -> list[Tensor]:
        return self._params

    def _layer_weights(self, layer: int, direction: int) -> list[Tensor | None]:
        start = (layer * (2 if self.bidirectional else 1) + direction) * self._per
        group = self._params[start : start + self._per]
        b_ih, b_hh = (group[2], group[3]) if self.bias else (None, None)
        w_hr = group[-1] if self.proj_size else None
        return [group[0], group[1], b_ih, b_hh, w_hr]


def _run_rnn(
    mode: str,
    data: Tensor,
    batch_sizes: Tensor | None,
    hx: tuple[Tensor, ...],
    params: Sequence[Tensor],
    has_biases: bool,
    num_layers: int,
    dropout: float,
    train: bool,
    bidirectional: bool,
    batch_first: bool,
) -> tuple[Tensor, ...]:
    net = _FlatWeightsRNN(mode, params, has_biases, num_layers, dropout, train, bidirectional)
    directions = 2 if bidirectional else 1
    if batch_sizes is not None:
        if data.dim() != 2:
            raise RuntimeError(f"input must have 2 dimensions, got {data.dim()}")
        sizes = [int(b) for b in batch_sizes.tolist()]
        flat, steps, batch = data, len(sizes), sizes[0] if sizes else 0
    else:
        if data.dim() != 3:
            raise RuntimeError(f"input must have 3 dimensions, got {data.dim()}")
        x = data.transpose(0, 1) if batch_first else data
        steps, batch = x.shape[0], x.shape[1]
        sizes = [batch] * steps
        flat = x.reshape(steps * batch, x.shape[2])
    for k, (state, size) in enumerate(zip(hx, (net.proj_size or net.hidden_size, net.hidden_size))):
        expected = (num_layers * directions, batch, size)
        if tuple(state.shape) != expected:
            raise RuntimeError(
                f"Expected hidden[{k}] size {expected}, got {list(state.shape)}"
                if mode == "LSTM"
                else f"Expected hidden size {expected}, got {list(state.shape)}"
            )
    out, finals = net._run(flat, sizes, tuple(hx))
    if batch_sizes is None:
        out = out.reshape(steps, batch, out.shape[-1])
        if batch_first:
            out = out.transpose(0, 1)
    return (out, *finals)


def _rnn_entry(mode: str, name: str, args: tuple, kwargs: dict) -> tuple[Tensor, ...]:
    """Parses both ATen overloads: ``(input, hx, params, has_biases, num_layers, dropout,
    train, bidirectional, batch_first)`` and, for packed data, ``(data, batch_sizes, hx,
    params, has_biases, num_layers, dropout, train, bidirectional)``."""
    is_lstm = mode == "LSTM"
    second = args[1] if len(args) > 1 else kwargs.get("batch_sizes", kwargs.get("hx"))
    third = args[2] if len(args) > 2 else None
    packed = "batch_sizes" in kwargs or (
        isinstance(second, Tensor) and (is_lstm or isinstance(third, Tensor))
    )
    names = (
        ["data", "batch_sizes", "hx", "params", "has_biases", "num_layers", "dropout", "train",
         "bidirectional"]
        if packed
        else ["input", "hx", "params", "has_biases", "num_layers", "dropout", "train",
              "bidirectional", "batch_first"]
    )  # fmt: skip
    if len(args) > len(names):
        raise TypeError(f"{name}() takes {len(names)} positional arguments, got {len(args)}")
    values = dict(zip(names, args))
    for key, value in kwargs.items():
        if key not in names or key in values:
            raise TypeError(f"{name}() got an unexpected or repeated argument '{key}'")
        values[key] = value
    missing = [n for n in names if n not in values]
    if missing:
        raise TypeError(f"{name}() missing required arguments: {', '.join(missing)}")
    hx = values["hx"]
    if is_lstm:
        hx = tuple(hx)
        if len(hx) != 2:
            raise RuntimeError("lstm expects two hidden states")
    else:
        hx = (hx,)
    return _run_rnn(
        mode,
        values["data"] if packed else values["input"],
        values["batch_sizes"] if packed else None,
        hx,
        values["params"],
        bool(values["has_biases"]),
        int(values["num_layers"]),
        float(values["dropout"]),
        bool(values["train"]),
        bool(values["bidirectional"]),
        False if packed else bool(values["batch_first"]),
    )


@_export
def rnn_tanh(*args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
    """``torch.rnn_tanh``: a whole multi-layer tanh RNN from flat weights (per layer and
    direction ``w_ih, w_hh[, b_ih, b_hh]``); returns ``(output, h_n)``. Also the packed
    overload ``(data, batch_sizes, hx, params, ...)``."""
    return _rnn_entry("RNN_TANH", "rnn_tanh", args, kwargs)


@_export
def rnn_relu(*args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
    """``torch.rnn_relu``: as ``rnn_tanh`` with relu."""
    return _rnn_entry("RNN_RELU", "rnn_relu", args, kwargs)


@_export
def lstm(*args: Any, **kwargs: Any) -> tuple[Tensor, Tensor, Tensor]:
    """``torch.lstm``: a whole multi-layer LSTM from flat weights (``w_ih, w_hh[, b_ih,
    b_hh][, w_hr]`` per layer and direction); ``hx`` is ``[h_0, c_0]``; returns
    ``(output, h_n, c_n)``. Also the packed overload."""
    return _rnn_entry("LSTM", "lstm", args, kwargs)


@_export
def gru(*args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
    """``torch.gru``: a whole multi-layer GRU from flat weights; returns ``(output, h_n)``.
    Also the packed overload."""
    return _rnn_entry("GRU", "gru", args, kwargs)
