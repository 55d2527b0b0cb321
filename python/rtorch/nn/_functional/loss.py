"""Loss functions of rtorch.nn.functional, as torch.nn.functional.

Every loss is a short chain of whole-tensor ops; gradients come from autograd (BCE's
backward is written out because PyTorch's is not the derivative of its clamped forward).
Cross-entropy with class indices is one fused Rust kernel (``_C._cross_entropy``) with its
own backward; NLL is one gather: no one-hot matrix, no Python loop over samples.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence

from ... import _C
from ..._C import Tensor
from ...autograd import Function
from .activation import _SCALAR_NAMES, _require_floating

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cross_entropy",
    "ctc_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "margin_ranking_loss",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]

# ----- reductions -----


def _legacy_reduction(size_average: bool | None, reduce: bool | None) -> str:
    """Maps the deprecated size_average/reduce pair to a reduction string, with the warning."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        reduction = "mean"
    elif reduce:
        reduction = "sum"
    else:
        reduction = "none"
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{reduction}' "
        "instead.",
        stacklevel=3,
    )
    return reduction


def _resolve_reduction(
    size_average: bool | None, reduce: bool | None, reduction: str, allowed: tuple = ()
) -> str:
    """The effective reduction: the legacy pair wins when given; unknown names raise."""
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce)
    if reduction == "elementwise_mean":
        warnings.warn(
            "reduction='elementwise_mean' is deprecated, please use reduction='mean' instead.",
            stacklevel=3,
        )
        return "mean"
    if reduction not in ("none", "mean", "sum") and reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


# PyTorch's Reduction enum, as the fused kernels take it.
_REDUCTION_CODES = {"none": 0, "mean": 1, "sum": 2}


def _apply_reduction(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _warn_size_mismatch(input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=3,
        )


def _weighted(loss: Tensor, weight: Tensor, input: Tensor, reduction: str, mean_by_weight: bool):
    """The `weight=` form of the regression losses: mean divides by weight.sum() for
    mse/l1 and by the element count for huber, as PyTorch does."""
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum() if mean_by_weight else loss.mean()
    return _apply_reduction(loss, reduction)


# ----- regression losses -----


def _smooth_l1_terms(
    input: Tensor, target: Tensor, param: float, huber: bool, fused_half: object
) -> Tensor:
    """The pointwise smooth_l1 (``huber``: huber) loss of ``input - target``. PyTorch 2.x's
    CPU kernels compute smooth_l1 of bfloat16 and huber of float16 in float32 from the two
    inputs and round once; for the other 16-bit type each takes the difference rounded to
    it. ``fused_half`` names the dtype computed the first way, to give the same bits."""
    if input.dtype == fused_half and target.dtype == fused_half:
        wide = input.float() - target.float()
        return _C._smooth_l1(wide, param, huber).to(input.dtype)
    return _C._smooth_l1(input - target, param, huber)


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean squared error (x - y)^2, optionally weighted per element."""
    _require_floating(input, "mse_cpu")
    _warn_size_mismatch(input, target)
    reduction = _resolve_reduction(size_average, reduce, reduction)
    diff = input - target
    loss = diff * diff
    if weight is not None:
        return _weighted(loss, weight, input, reduction, mean_by_weight=True)
    return _apply_reduction(loss, reduction)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean absolute error |x - y| (gradient 0 where x == y), optionally weighted."""
    _warn_size_mismatch(input, target)
    reduction = _resolve_reduction(size_average, reduce, reduction)
    loss = (input - target).abs()
    if weight is not None:
        return _weighted(loss, weight, input, reduction, mean_by_weight=True)
    return _apply_reduction(loss, reduction)


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """Smooth L1: quadratic within ``beta`` of the target, linear beyond (beta=0: L1)."""
    _require_floating(input, "smooth_l1_cpu")
    _warn_size_mismatch(input, target)
    reduction = _resolve_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        loss = (input - target).abs()
    else:
        loss = _smooth_l1_terms(input, target, beta, False, _C.bfloat16)
    return _apply_reduction(loss, reduction)


def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    """Huber: 0.5 d^2 within ``delta``, delta * (|d| - delta / 2) beyond."""
    _require_floating(input, "huber_cpu")
    _warn_size_mismatch(input, target)
    reduction = _resolve_reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    loss = _smooth_l1_terms(input, target, delta, True, _C.float16)
    if weight is not None:
        return _weighted(loss, weight, input, reduction, mean_by_weight=False)
    return _apply_reduction(loss, reduction)


# ----- classification: NLL and cross-entropy -----


def _check_class_weight(weight: Tensor | None, input: Tensor, class_dim: int) -> None:
    if weight is None:
        return
    n_classes = input.shape[class_dim]
    if weight.numel() != n_classes:
        raise RuntimeError(
            f"weight tensor should be defined either for all {n_classes} classes or no classes "
            f"but got weight tensor of shape: {list(weight.shape)}"
        )
    if weight.dtype != input.dtype:
        raise RuntimeError(
            f"expected scalar type {_SCALAR_NAMES[input.dtype]} but found "
            f"{_SCALAR_NAMES[weight.dtype]}"
        )


def _check_nll_shapes(input: Tensor, target: Tensor) -> None:
    """PyTorch's checks of (input, class-index target) pairs, in its order and words:
    shapes first, then the target's dtype."""
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    if input.dim() == 1:
        if target.dim() > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if target.dim() == 1 and target.shape[0] != 1:
            raise ValueError(
                f"For 1D input, 1D target must have size 1, but got target size: {target.shape[0]}"
            )
    elif target.dim() >= 1 and input.shape[0] != target.shape[0]:
        raise ValueError(
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
            f"({target.shape[0]})."
        )
    elif input.dim() == 2:
        if target.dim() != 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    else:
        expected = [input.shape[0]] + list(input.shape[2:])
        if list(target.shape) != expected:
            raise RuntimeError(f"Expected target size {expected}, got {list(target.shape)}")
    if target.dtype is not _C.int64 and target.dtype is not _C.uint8:
        raise RuntimeError(
            "expected target dtype to be Long or Byte, but got "
            f"{_SCALAR_NAMES.get(target.dtype, str(target.dtype))}"
        )


def _raise_out_of_bounds(target: Tensor, n_classes: int, ignore_index: int) -> None:
    """Raises PyTorch's IndexError naming the first target outside [0, n_classes)."""
    bad = (target != ignore_index) & ((target < 0) | (target >= n_classes))
    flat = bad.reshape(-1)
    if bool(flat.any()):
        first = int(target.reshape(-1)[int(flat.long().argmax())])
        raise IndexError(f"Target {first} is out of bounds.")


def _nll_batched(
    logp: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, reduction: str
) -> Tensor:
    """NLL of log-probabilities ``logp`` (N, C, *) at class indices ``target`` (N, *).

    The common case (no weight, no ignored target, ignore_index outside [0, C)) is one
    gather and one reduction; the bounds check costs nothing there because gather itself
    refuses an index outside [0, C).
    """
    n_classes = logp.shape[1]
    if target.dtype is _C.uint8:
        target = target.long()
    index = target.unsqueeze(1)
    maybe_ignored = 0 <= ignore_index < n_classes
    if weight is None and not maybe_ignored:
        try:
            picked = logp.gather(1, index).squeeze(1)
        except RuntimeError:
            # Some target is outside [0, C): either ignored ones or a real error.
            _raise_out_of_bounds(target, n_classes, ignore_index)
        else:
            return _apply_reduction(-picked, reduction)
    _raise_out_of_bounds(target, n_classes, ignore_index)
    keep = target != ignore_index
    safe = _C.where(keep, target, 0)
    picked = logp.gather(1, safe.unsqueeze(1)).squeeze(1)
    if weight is None:
        w = keep.to(logp.dtype)
    else:
        w = weight.to(logp.dtype)[safe] * keep
    loss = -picked * w
    if reduction == "mean":
        return loss.sum() / w.sum()
    return _apply_reduction(loss, reduction)


def _unbatch(input: Tensor, target: Tensor) -> tuple[Tensor, Tensor, bool]:
    """An unbatched (C,) input becomes a batch of one."""
    if input.dim() == 1:
        return input.unsqueeze(0), target.reshape(1), True
    return input, target, False


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities at class indices.

    Shape:
        - input: (N, C), (C,) or (N, C, d1, ..., dK); target: (N,), () or (N, d1, ..., dK)
          with values in [0, C) or ``ignore_index``.
        - output: scalar, or the target's shape with reduction='none'.
    """
    reduction = _resolve_reduction(size_average, reduce, reduction)
    _check_nll_shapes(input, target)
    _check_class_weight(weight, input, 1 if input.dim() > 1 else 0)
    logp, target, unbatched = _unbatch(input, target)
    loss = _nll_batched(logp, target, weight, ignore_index, reduction)
    return loss.squeeze(0) if unbatched and reduction == "none" else loss


def _cross_entropy_probabilities(
    logp: Tensor, target: Tensor, weight: Tensor | None, reduction: str, label_smoothing: float
) -> Tensor:
    """Cross-entropy against class probabilities ``target`` of logp's shape."""
    n_classes = logp.shape[1]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    terms = logp * target
    if weight is not None:
        terms = terms * weight.to(logp.dtype).reshape([1, -1] + [1] * (logp.dim() - 2))
    if reduction == "none":
        return -terms.sum(1)
    total = -terms.sum()
    if reduction == "sum":
        return total
    # mean: over every position but the class dimension, whatever the weights.
    return total / (logp.numel() // n_classes) if logp.numel() else total * math.nan


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between logits ``input`` and class indices or class probabilities.

    With class indices this is one fused kernel (log-sum-exp and NLL per sample, stable
    for large logits); reduction='mean' divides by the summed weights of the non-ignored
    targets, label smoothing included. Probability targets go through log_softmax.

    Shape:
        - input: (N, C), (C,) or (N, C, d1, ..., dK)
        - target: class indices (N,), () or (N, d1, ..., dK) as int64, or probabilities of
          input's shape as floats.
        - output: scalar, or (N,)/(N, d1, ..., dK) with reduction='none'.
    """
    reduction = _resolve_reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(
            f"label_smoothing must be between 0.0 and 1.0. Got: {float(label_smoothing):g}"
        )
    probabilities = input.shape == target.shape
    if probabilities:
        if not target.is_floating_point():
            raise RuntimeError(
                "Expected floating point type for target with class probabilities, got "
                f"{_SCALAR_NAMES.get(target.dtype, str(target.dtype))}"
            )
        if input.dim() == 0:
            raise ValueError("Expected 1 or more dimensions (got 0)")
    else:
        _check_nll_shapes(input, target)
    unbatched = input.dim() == 1
    if unbatched:
        # A (C,) input is a batch of one; its target is (C,) probabilities or a () / (1,) index.
        input = input.unsqueeze(0)
        target = target.unsqueeze(0) if probabilities else target.reshape(1)
    _check_class_weight(weight, input, 1)
    if probabilities:
        logp = input.log_softmax(1)
        loss = _cross_entropy_probabilities(logp, target, weight, reduction, label_smoothing)
    else:
        # One fused kernel: log-sum-exp, NLL and smoothing per sample; its backward is
        # softmax minus the target distribution.
        loss = _C._cross_entropy(
            input,
            target,
            weight,
            _REDUCTION_CODES[reduction],
            ignore_index,
            float(label_smoothing),
        )
    return loss.squeeze(0) if unbatched and reduction == "none" else loss


# ----- binary classification -----


class _BinaryCrossEntropy(Function):
    """BCE with PyTorch's backward: (x - y) / max(x (1 - x), 1e-12), not the derivative of
    the clamped logs (which would be zero at saturation)."""

    @staticmethod
    def forward(ctx, input: Tensor, target: Tensor) -> Tensor:
        ctx.save_for_backward(input, target)
        # PyTorch's kernel, op for op (so a 16-bit type rounds where it rounds):
        # (y - 1) max(log1p(-x), -100) - y max(log x, -100). log1p(-x) keeps the digits
        # that log(1 - x) loses for small x.
        log_x = input.log().clamp_min(-100.0)
        log_1mx = (-input).log1p().clamp_min(-100.0)
        return (target - 1) * log_1mx - target * log_x

    @staticmethod
    def backward(ctx, grad: Tensor):
        input, target = ctx.saved_tensors
        denom = (input * (1 - input)).clamp_min(1e-12)
        grad_input = grad * (input - target) / denom
        grad_target = None
        if ctx.needs_input_grad[1]:
            grad_target = grad * (
                (1 - input).log().clamp_min(-100.0) - input.log().clamp_min(-100.0)
            )
        return grad_input, grad_target


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-(y log x + (1 - y) log(1 - x)) with each log clamped at -100 (so a saturated
    prediction costs 100, not inf)."""
    _require_floating(input, "binary_cross_entropy")
    reduction = _resolve_reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    if target.dtype != input.dtype:
        raise RuntimeError(
            f"Found dtype {_SCALAR_NAMES[target.dtype]} but expected {_SCALAR_NAMES[input.dtype]}"
        )
    if input.numel():
        lo, hi = _C.aminmax(input.detach())
        if not (float(lo) >= 0.0 and float(hi) <= 1.0):
            raise RuntimeError("all elements of input should be between 0 and 1")
    loss = _BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _apply_reduction(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """BCE of sigmoid(input), computed stably as (1 - y) x - w_pos * logsigmoid(x) with
    w_pos = 1 + (pos_weight - 1) y."""
    reduction = _resolve_reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    log_sig = _C.logsigmoid(input)
    if pos_weight is None:
        loss = (1 - target) * input - log_sig
    else:
        log_weight = (pos_weight - 1) * target + 1
        loss = (1 - target) * input - log_weight * log_sig
    if weight is not None:
        loss = loss * weight
    return _apply_reduction(loss, reduction)


# ----- distribution losses -----


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL divergence with ``input`` as log-probabilities: y (log y - x), 0 where y = 0.

    reduction='batchmean' divides the sum by the batch size (the mathematical KL);
    'mean' divides by the element count and warns, as PyTorch.
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    else:
        if reduction == "mean":
            warnings.warn(
                "reduction: 'mean' divides the total loss by both the batch size and the "
                "support size.'batchmean' divides only by the batch size, and aligns with the "
                "KL div math definition.'mean' will be changed to behave the same as "
                "'batchmean' in the next major release.",
                stacklevel=2,
            )
        reduction = _resolve_reduction(None, None, reduction, allowed=("batchmean",))
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # y log y with 0 log 0 = 0; the log never sees a zero, so no inf reaches autograd.
        positive = target > 0
        y_log_y = target * _C.where(positive, target, 1.0).log()
        loss = y_log_y - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.dim() != 0 else total
    return _apply_reduction(loss, reduction)


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Poisson NLL: exp(x) - y x (log_input) or x - y log(x + eps); ``full`` adds the
    Stirling term y log y - y + log(2 pi y) / 2 where y > 1."""
    reduction = _resolve_reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        safe = _C.where(target > 1, target, 1.0)
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        loss = loss + _C.where(target > 1, stirling, 0.0)
    return _apply_reduction(loss, reduction)


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var: Tensor | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Gaussian NLL: (log(var) + (x - y)^2 / var) / 2, var clamped at ``eps`` (without
    gradient through the clamp), plus log(2 pi) / 2 when ``full``."""
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = _C.full_like(input, float(var))
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (
            input.dim() == var.dim()
            and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1
        ):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    # Clamping is a stability measure, not part of the model: the gradient flows to var
    # as if it had not been clamped (PyTorch clamps a clone in place under no_grad).
    var = var + (var.detach().clamp_min(eps) - var.detach())
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _apply_reduction(loss, reduction)


# ----- margin and embedding losses -----


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, -y (x1 - x2) + margin)."""
    reduction = _resolve_reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} "
        )
    loss = _C.relu(-target * (input1 - input2) + margin)
    return _apply_reduction(loss, reduction)


def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1."""
    reduction = _resolve_reduction(size_average, reduce, reduction)
    below_margin = _C.relu(margin - input)
    loss = _C.where(target != 1, below_margin, 0.0) + _C.where(target != -1, input, 0.0)
    return _apply_reduction(loss, reduction)


def soft_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """log(1 + exp(-y x)), computed as -logsigmoid(y x)."""
    reduction = _resolve_reduction(size_average, reduce, reduction)
    loss = -_C.logsigmoid(input * target)
    return _apply_reduction(loss, reduction)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Per-sample mean over classes of the binary logistic loss of each class."""
    reduction = _resolve_reduction(size_average, reduce, reduction)
    loss = -(target * _C.logsigmoid(input) + (1 - target) * _C.logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    return _apply_reduction(loss, reduction)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1."""
    reduction = _resolve_reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() not in (1, 2):
        raise RuntimeError(
            f"cosine_embedding_loss : 1D target tensor expects 2D input tensors, but found "
            f"inputs with sizes {list(input1.shape)} and {list(input2.shape)}."
        )
    if target.dim() != input1.dim() - 1:
        raise RuntimeError(
            f"cosine_embedding_loss : {'0D' if input1.dim() == 1 else '1D'} target tensor "
            f"expects {input1.dim()}D input tensors, but found inputs with sizes "
            f"{list(input1.shape)} and {list(input2.shape)}."
        )
    dim = input1.dim() - 1
    eps = 1e-12
    dot = (input1 * input2).sum(dim)
    norms = (((input1 * input1).sum(dim) + eps) * ((input2 * input2).sum(dim) + eps)).sqrt()
    cos = dot / norms
    loss = _C.where(target == 1, 1 - cos, 0.0) + _C.where(target == -1, _C.relu(cos - margin), 0.0)
    return _apply_reduction(loss, reduction)


def _pairwise_distance(x1: Tensor, x2: Tensor, p: float, eps: float) -> Tensor:
    """||x1 - x2 + eps||_p over the last dimension (eps keeps the norm differentiable)."""
    return (x1 - x2 + eps).norm(p, dim=-1)


def _check_triplet_margin(loss_name: str, margin: float) -> None:
    if margin <= 0:
        raise ValueError(f"{loss_name}: expected margin to be greater than 0, got {margin} instead")


def _triplet(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    dist: Callable[[Tensor, Tensor], Tensor],
    margin: float,
    swap: bool,
    reduction: str,
) -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)); ``swap`` uses min(d(a, n), d(p, n)) instead of
    d(a, n)."""
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = _C.minimum(d_neg, dist(positive, negative))
    return _apply_reduction(_C.relu(margin + d_pos - d_neg), reduction)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin) with p-norm distances; ``swap`` uses
    min(d(a, n), d(p, n)) as the negative distance."""
    reduction = _resolve_reduction(size_average, reduce, reduction)
    dims = (anchor.dim(), positive.dim(), negative.dim())
    if not dims[0] == dims[1] == dims[2]:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {dims[0]}D, positive {dims[1]}D, and negative "
            f"{dims[2]}D inputs"
        )
    dist = functools.partial(_pairwise_distance, p=p, eps=eps)
    return _triplet(anchor, positive, negative, dist, margin, swap, reduction)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """Triplet margin loss with a user-supplied distance (default: pairwise L2)."""
    reduction = _resolve_reduction(None, None, reduction)
    _check_triplet_margin("TripletMarginWithDistanceLoss", margin)
    dist = distance_function or (lambda x1, x2: _pairwise_distance(x1, x2, 2.0, 1e-6))
    return _triplet(anchor, positive, negative, dist, margin, swap, reduction)


def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge: sum over i != y of max(0, margin - x[y] + x[i])^p / C."""
    reduction = _resolve_reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    unbatched = input.dim() <= 1
    x = input.reshape(1, -1) if unbatched else input
    t = target.reshape(-1)
    n_classes = x.shape[1]
    if t.shape[0] != x.shape[0]:
        raise RuntimeError(
            f"inconsistent target size, expected {x.shape[0]} but got {list(target.shape)}"
        )
    _raise_out_of_bounds(t, n_classes, -(2**63))
    t = t.long()
    x_y = x.gather(1, t.unsqueeze(1))
    z = _C.relu(margin - x_y + x)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.to(x.dtype)[t].unsqueeze(1)
    # The target's own class does not count.
    not_target = _C.ones_like(z).scatter(1, t.unsqueeze(1), 0.0)
    loss = (z * not_target).sum(1) / n_classes
    if unbatched and reduction == "none":
        loss = loss.reshape(target.shape)
    return _apply_reduction(loss, reduction)


# ----- CTC -----


def _as_lengths(lengths: Tensor | Sequence[int], name: str) -> Tensor:
    if isinstance(lengths, Tensor):
        return lengths.long().reshape(-1)
    return _C.tensor(list(lengths), dtype=_C.int64)


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Tensor | Sequence[int],
    target_lengths: Tensor | Sequence[int],
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """Connectionist Temporal Classification loss: the forward algorithm in log space,
    one kernel over the batch (in float64 whatever the input's dtype).

    The gradient of ``log_probs`` is PyTorch's: that of the loss through a log_softmax
    which produced them, folded in (so it equals the logits' gradient then). Like
    PyTorch's, it is not differentiable again.

    Shape:
        - log_probs: (T, N, C) or (T, C)
        - targets: (N, S) padded, or the concatenation of all targets (sum(target_lengths),)
        - input_lengths, target_lengths: (N,) (or () unbatched)
        - output: scalar, or (N,) with reduction='none'
    """
    reduction = _resolve_reduction(None, None, reduction)
    unbatched = log_probs.dim() == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        targets = targets.reshape(1, -1) if targets.dim() <= 1 else targets
    if log_probs.dim() != 3:
        raise RuntimeError(f"ctc_loss: expected log_probs to be 2D or 3D, got {log_probs.dim()}D")
    steps, batch, n_classes = log_probs.shape
    in_lens = _as_lengths(input_lengths, "input_lengths")
    tgt_lens = _as_lengths(target_lengths, "target_lengths")
    if in_lens.numel() != batch:
        raise RuntimeError(f"input_lengths must be of size batch_size, got {in_lens.numel()}")
    if tgt_lens.numel() != batch:
        raise RuntimeError(f"target_lengths must be of size batch_size, got {tgt_lens.numel()}")
    in_list = in_lens.tolist()
    tgt_list = tgt_lens.tolist()
    if any(n > steps for n in in_list):
        raise RuntimeError(
            f"Expected input_lengths to have value at most {steps}, but got value "
            f"{max(in_list)} (while checking arguments for ctc_loss_cpu)"
        )
    if not 0 <= blank < n_classes:
        raise RuntimeError("blank must be in label range")
    max_len = max(tgt_list) if tgt_list else 0
    targets = targets.long()
    if targets.dim() == 1 and not unbatched:
        # Concatenated targets: split into a padded (N, S) matrix.
        offsets = [0]
        for n in tgt_list:
            offsets.append(offsets[-1] + n)
        pos = _C.arange(max_len).unsqueeze(0) + _C.tensor(offsets[:-1]).unsqueeze(1)
        valid = _C.arange(max_len).unsqueeze(0) < tgt_lens.unsqueeze(1)
        if targets.numel() < offsets[-1]:
            raise RuntimeError(
                f"Expected tensor to have size {offsets[-1]} at dimension 0, but got size "
                f"{targets.numel()} for argument #2 'targets' (while checking arguments for "
                "ctc_loss_allocate_outputs)"
            )
        if offsets[-1] == 0:
            targets = _C.full((batch, max_len), blank, dtype=_C.int64, device=targets.device)
        else:
            padded = targets[_C.where(valid, pos, 0)]
            targets = _C.where(valid, padded, blank)
    elif targets.shape[1] < max_len:
        raise RuntimeError(
            f"Expected tensor to have size at least {max_len} at dimension 1, but got size "
            f"{targets.shape[1]} for argument #2 'targets' (while checking arguments for "
            "ctc_loss_allocate_outputs)"
        )
    targets = targets[:, :max_len]
    nll = _C._ctc_loss(log_probs, targets, in_list, tgt_list, blank, zero_infinity)
    dtype = log_probs.dtype
    if reduction == "mean":
        return (nll / tgt_lens.clamp_min(1).to(dtype)).mean()
    if reduction == "sum":
        return nll.sum()
    return nll.squeeze(0) if unbatched else nll


def multilabel_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Multi-class multi-classification hinge loss.

    ``target`` holds class indices: the sample's target classes are its entries up to the
    first ``-1``. For each target class ``j`` and each non-target class ``i`` the loss adds
    :math:`\max(0, 1 - (x[j] - x[i]))`, divided by the number of classes.

    Shape: input ``(C)`` or ``(N, C)``; target (int64) the same; output a scalar, or
    ``(N)`` with ``reduction='none'``.
    """
    reduction = _resolve_reduction(size_average, reduce, reduction)
    if input.dim() > 2 or (input.dim() > 0 and input.shape[-1] == 0):
        raise RuntimeError(
            "Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
            f"{list(input.shape)}"
        )
    if target.shape != input.shape:
        raise RuntimeError(
            f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}"
        )
    if target.dtype != _C.int64:
        raise RuntimeError(f"expected scalar type Long but found {_SCALAR_NAMES[target.dtype]}")
    squeeze = input.dim() < 2
    x = input.reshape(1, -1) if squeeze else input
    t = target.reshape(1, -1) if squeeze else target
    n_classes = x.shape[1]
    # The target classes are each row's prefix up to its first -1.
    valid = (t >= 0).to(_C.int64).cumprod(1).bool()
    if bool(((t >= n_classes) & valid).any()):
        raise RuntimeError("argument #2 'target' is out of range")
    safe = _C.where(valid, t, _C.zeros_like(t))
    is_target = _C.zeros(t.shape, dtype=_C.int64).scatter_add(1, safe, valid.to(_C.int64)) > 0
    x_target = x.gather(1, safe)  # (N, slots)
    hinge = _C.relu(1 - x_target.unsqueeze(2) + x.unsqueeze(1))  # (N, slot j, class i)
    pair = valid.unsqueeze(2) & ~is_target.unsqueeze(1)
    loss = (hinge * pair.to(hinge.dtype)).sum((1, 2)) / n_classes
    if squeeze:
        loss = loss.reshape(())
    return _apply_reduction(loss, reduction)


__all__ += ["multilabel_margin_loss"]


def linear_cross_entropy(
    input: Tensor,
    linear_weight: Tensor,
    target: Tensor,
    *,
    linear_bias: Tensor | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options: object = None,
) -> Tensor:
    r"""Cross entropy of ``linear(input, linear_weight, linear_bias)`` against ``target``.

    ``linear_weight`` is ``(C, *out_features, in_features)``; the logits are reshaped to
    ``(*input.shape[:-1], C, *out_features)`` before :func:`cross_entropy`. ``options``
    (PyTorch's chunking settings) are accepted and do not change the result.
    """
    from .linear import linear

    num_classes, *out_features, in_features = linear_weight.shape
    logits = linear(
        input,
        linear_weight.reshape(-1, in_features),
        None if linear_bias is None else linear_bias.reshape(-1),
    )
    logits = logits.reshape(*input.shape[:-1], num_classes, *out_features)
    kwargs: dict = {"weight": weight, "reduction": reduction, "label_smoothing": label_smoothing}
    if ignore_index is not None:
        kwargs["ignore_index"] = ignore_index
    return cross_entropy(logits, target, **kwargs)


__all__ += ["linear_cross_entropy"]
