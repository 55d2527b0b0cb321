"""Loss layers, as torch.nn.modules.loss.

Each loss stores its options and calls its function in ``rtorch.nn.functional``; class
weights are buffers (so they follow ``.to()`` and appear in ``state_dict``), as in PyTorch.
The deprecated ``size_average``/``reduce`` pair is mapped to ``reduction`` once, here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from ..._C import Tensor
from .. import functional as F
from .._functional.loss import _check_triplet_margin, _legacy_reduction
from .module import Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CTCLoss",
    "CosineEmbeddingLoss",
    "CrossEntropyLoss",
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "LinearCrossEntropyLoss",
    "MSELoss",
    "MarginRankingLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "NLLLoss",
    "NLLLoss2d",
    "PoissonNLLLoss",
    "SmoothL1Loss",
    "SoftMarginLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
]


class _Loss(Module):
    reduction: str

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            self.reduction = _legacy_reduction(size_average, reduce)
        else:
            self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(
        self, weight: Tensor | None = None, size_average=None, reduce=None, reduction="mean"
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class _PairMarginLoss(_Loss):
    """CosineEmbeddingLoss and MarginRankingLoss: (input1, input2, target) and a margin."""

    def __init__(
        self, margin: float = 0.0, size_average=None, reduce=None, reduction: str = "mean"
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin


class L1Loss(_Loss):
    """Mean absolute error |x - y|.

    Args:
        reduction: 'none' | 'mean' | 'sum'. Default: 'mean'
        size_average, reduce: deprecated (see ``reduction``).

    Shape:
        - Input: (*), Target: (*), same shape; Output: scalar, or (*) with 'none'.

    Example::

        >>> loss = nn.L1Loss()
        >>> output = loss(torch.randn(3, 5, requires_grad=True), torch.randn(3, 5))
        >>> output.backward()
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error (x - y)^2.

    Args:
        reduction: 'none' | 'mean' | 'sum'. Default: 'mean'
        size_average, reduce: deprecated (see ``reduction``).

    Shape:
        - Input: (*), Target: (*), same shape; Output: scalar, or (*) with 'none'.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities at class indices.

    Args:
        weight: per-class weights (C,). Default: None
        ignore_index: target value that contributes nothing. Default: -100
        reduction: 'none' | 'mean' | 'sum'; 'mean' divides by the summed weights of the
            non-ignored targets. Default: 'mean'

    Shape:
        - Input: (N, C), (C,) or (N, C, d1, ..., dK); Target: (N,), () or (N, d1, ..., dK).
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average=None,
        ignore_index: int = -100,
        reduce=None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy between logits and class indices or class probabilities.

    Args:
        weight: per-class weights (C,). Default: None
        ignore_index: class-index target that contributes nothing. Default: -100
        reduction: 'none' | 'mean' | 'sum'. Default: 'mean'
        label_smoothing: mass in [0, 1] spread uniformly over the classes. Default: 0.0

    Shape:
        - Input: (N, C), (C,) or (N, C, d1, ..., dK)
        - Target: class indices (N,), () or (N, d1, ..., dK), or probabilities of the
          input's shape.

    Example::

        >>> loss = nn.CrossEntropyLoss()
        >>> output = loss(torch.randn(3, 5, requires_grad=True), torch.tensor([1, 0, 4]))
        >>> output.backward()
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average=None,
        ignore_index: int = -100,
        reduce=None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class PoissonNLLLoss(_Loss):
    """Negative log-likelihood of a Poisson target.

    Args:
        log_input: the input is log(rate) (True) or the rate. Default: True
        full: add the Stirling approximation term. Default: False
        eps: keeps log(rate) finite when log_input is False. Default: 1e-8
        reduction: 'none' | 'mean' | 'sum'. Default: 'mean'
    """

    def __init__(
        self,
        log_input: bool = True,
        full: bool = False,
        size_average=None,
        eps: float = 1e-8,
        reduce=None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input = log_input
        self.full = full
        self.eps = eps

    def forward(self, log_input: Tensor, target: Tensor) -> Tensor:
        return F.poisson_nll_loss(
            log_input,
            target,
            log_input=self.log_input,
            full=self.full,
            eps=self.eps,
            reduction=self.reduction,
        )


class GaussianNLLLoss(_Loss):
    """Negative log-likelihood of a Gaussian target with predicted mean and variance.

    Args:
        full: add the constant log(2 pi) / 2. Default: False
        eps: variance clamp for stability. Default: 1e-6
        reduction: 'none' | 'mean' | 'sum'. Default: 'mean'

    Shape:
        - Input (N, *), Target (N, *), Var (N, *) or one dimension of size 1 (homoscedastic).
    """

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(None, None, reduction)
        self.full = full
        self.eps = eps

    def forward(self, input: Tensor, target: Tensor, var: Tensor | float) -> Tensor:
        return F.gaussian_nll_loss(
            input, target, var, full=self.full, eps=self.eps, reduction=self.reduction
        )


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence; the input holds log-probabilities.

    Args:
        reduction: 'none' | 'batchmean' | 'sum' | 'mean' ('mean' averages over elements
            and warns; 'batchmean' is the mathematical KL). Default: 'mean'
        log_target: the target holds log-probabilities too. Default: False
    """

    def __init__(
        self, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities; log terms clamped at -100.

    Args:
        weight: rescaling weight broadcast over the elements. Default: None
        reduction: 'none' | 'mean' | 'sum'. Default: 'mean'

    Shape:
        - Input: (*) in [0, 1], Target: (*), same shape.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one stable expression.

    Args:
        weight: rescaling weight broadcast over the elements. Default: None
        reduction: 'none' | 'mean' | 'sum'. Default: 'mean'
        pos_weight: weight of the positive term, broadcast over the classes. Default: None
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average=None,
        reduce=None,
        reduction: str = "mean",
        pos_weight: Tensor | None = None,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, pos_weight=self.pos_weight, reduction=self.reduction
        )


class HingeEmbeddingLoss(_Loss):
    """x where y = 1, max(0, margin - x) where y = -1.

    Args:
        margin: Default: 1.0
        reduction: 'none' | 'mean' | 'sum'. Default: 'mean'
    """

    def __init__(
        self, margin: float = 1.0, size_average=None, reduce=None, reduction: str = "mean"
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Quadratic within ``beta`` of the target, linear beyond.

    Args:
        reduction: 'none' | 'mean' | 'sum'. Default: 'mean'
        beta: the switch point (0 gives L1). Default: 1.0
    """

    def __init__(
        self, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """0.5 d^2 within ``delta``, delta * (|d| - delta / 2) beyond.

    Args:
        reduction: 'none' | 'mean' | 'sum'. Default: 'mean'
        delta: the switch point, > 0. Default: 1.0
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SoftMarginLoss(_Loss):
    """Two-class logistic loss log(1 + exp(-y x)).

    Args:
        reduction: 'none' | 'mean' | 'sum'. Default: 'mean'
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """Multi-label one-versus-all logistic loss, averaged over classes.

    Args:
        weight: per-class weights (C,). Default: None
        reduction: 'none' | 'mean' | 'sum'. Default: 'mean'

    Shape:
        - Input: (N, C) or (C,), Target: same shape with 0/1 labels; Output: (N,) with 'none'.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_soft_margin_loss(
            input, target, weight=self.weight, reduction=self.reduction
        )


class CosineEmbeddingLoss(_PairMarginLoss):
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1.

    Args:
        margin: in [-1, 1]. Default: 0.0
        reduction: 'none' | 'mean' | 'sum'. Default: 'mean'
    """

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.cosine_embedding_loss(
            input1, input2, target, margin=self.margin, reduction=self.reduction
        )


class MarginRankingLoss(_PairMarginLoss):
    """max(0, -y (x1 - x2) + margin).

    Args:
        margin: Default: 0.0
        reduction: 'none' | 'mean' | 'sum'. Default: 'mean'
    """

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.margin_ranking_loss(
            input1, input2, target, margin=self.margin, reduction=self.reduction
        )


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss.

    Args:
        p: 1 or 2. Default: 1
        margin: Default: 1.0
        weight: per-class weights (C,). Default: None
        reduction: 'none' | 'mean' | 'sum'. Default: 'mean'
    """

    def __init__(
        self,
        p: int = 1,
        margin: float = 1.0,
        weight: Tensor | None = None,
        size_average=None,
        reduce=None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if p not in (1, 2):
            raise ValueError("only p == 1 and p == 2 supported")
        if weight is not None and weight.dim() != 1:
            raise ValueError(
                f"MultiMarginLoss: expected weight to be None or 1D tensor, got {weight.dim()}D "
                "instead"
            )
        self.p = p
        self.margin = margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multi_margin_loss(
            input,
            target,
            p=self.p,
            margin=self.margin,
            weight=self.weight,
            reduction=self.reduction,
        )


class TripletMarginLoss(_Loss):
    """max(0, d(a, p) - d(a, n) + margin) with p-norm distances.

    Args:
        margin: Default: 1.0
        p: the norm degree. Default: 2.0
        eps: added to the difference for a differentiable norm. Default: 1e-6
        swap: use the distance swap of Balntas et al. Default: False
        reduction: 'none' | 'mean' | 'sum'. Default: 'mean'
    """

    def __init__(
        self,
        margin: float = 1.0,
        p: float = 2.0,
        eps: float = 1e-6,
        swap: bool = False,
        size_average=None,
        reduce=None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        _check_triplet_margin("TripletMarginLoss", margin)
        self.margin = margin
        self.p = p
        self.eps = eps
        self.swap = swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_loss(
            anchor,
            positive,
            negative,
            margin=self.margin,
            p=self.p,
            eps=self.eps,
            swap=self.swap,
            reduction=self.reduction,
        )


class TripletMarginWithDistanceLoss(_Loss):
    """Triplet margin loss with a custom distance function (default: pairwise L2).

    Args:
        distance_function: (Tensor, Tensor) -> Tensor of distances. Default: None
        margin: > 0. Default: 1.0
        swap: use the distance swap. Default: False
        reduction: 'none' | 'mean' | 'sum'. Default: 'mean'
    """

    def __init__(
        self,
        *,
        distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
        margin: float = 1.0,
        swap: bool = False,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction=reduction)
        _check_triplet_margin("TripletMarginWithDistanceLoss", margin)
        self.distance_function = distance_function
        self.margin = margin
        self.swap = swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_with_distance_loss(
            anchor,
            positive,
            negative,
            distance_function=self.distance_function,
            margin=self.margin,
            swap=self.swap,
            reduction=self.reduction,
        )


class CTCLoss(_Loss):
    """Connectionist Temporal Classification loss.

    Args:
        blank: the blank label. Default: 0
        reduction: 'none' | 'mean' (per-target-length, then over the batch) | 'sum'.
            Default: 'mean'
        zero_infinity: impossible alignments give 0 loss and 0 gradient. Default: False

    Shape:
        - Log_probs: (T, N, C) or (T, C); Targets: (N, S) or (sum(target_lengths),);
          Input_lengths, Target_lengths: (N,) or ().
    """

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(
        self, log_probs: Tensor, targets: Tensor, input_lengths: Tensor, target_lengths: Tensor
    ) -> Tensor:
        return F.ctc_loss(
            log_probs,
            targets,
            input_lengths,
            target_lengths,
            self.blank,
            self.reduction,
            self.zero_infinity,
        )


class MultiLabelMarginLoss(_Loss):
    r"""Multi-class multi-classification hinge (margin-based) loss between an input
    :math:`x` (scores) and a target :math:`y` of class indices.

    For each sample, the target classes are the entries of :math:`y` before the first
    ``-1``; the loss is

    .. math::
        \text{loss}(x, y) = \sum_{ij} \frac{\max(0, 1 - (x[y[j]] - x[i]))}{x.\text{size}(0)}

    over the target classes :math:`y[j]` and the classes :math:`i` that are not targets.

    Args:
        size_average, reduce: deprecated (see :attr:`reduction`).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``. Default: ``'mean'``

    Shape:
        - Input: :math:`(C)` or :math:`(N, C)`.
        - Target: the same shape, int64 class indices padded with ``-1``.
        - Output: a scalar, or :math:`(N)` with ``reduction='none'``.

    Examples::

        >>> loss = nn.MultiLabelMarginLoss()
        >>> x = torch.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> y = torch.tensor([[3, 0, -1, 1]])
        >>> loss(x, y)
        tensor(0.8500)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class NLLLoss2d(NLLLoss):
    """Deprecated alias of :class:`NLLLoss` (warns on construction, as PyTorch)."""

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        warnings.warn(
            "`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in "
            "replacement and see https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more "
            "details.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


class LinearCrossEntropyLoss(_WeightedLoss):
    r"""Cross entropy of a learnable linear projection of the input: the module owns a
    :class:`Linear` (``self.linear``, weight ``(C * prod(out_features), in_features)``)
    and computes :func:`~rtorch.nn.functional.linear_cross_entropy`.

    Args:
        in_features (int): size of each input sample
        num_classes (int): number of classes :math:`C`
        out_features (tuple[int], optional): extra dimensions :math:`(d_1, …, d_K)` for a
            K-dimensional loss. Default: ``()``
        bias (bool, optional): whether the linear map has a bias. Default: ``False``
        reduction, weight, ignore_index, label_smoothing: as :class:`CrossEntropyLoss`
            (``ignore_index=None`` ignores no class)
        options (LinearCrossEntropyOptions, optional): PyTorch's chunking options
            (accepted; the result is the same). Default: ``None``
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        *,
        out_features: tuple[int, ...] = (),
        bias: bool = False,
        device: object = None,
        dtype: object = None,
        reduction: str = "mean",
        weight: Tensor | None = None,
        ignore_index: int | None = None,
        label_smoothing: float = 0.0,
        options: object = None,
    ) -> None:
        import math

        from .linear import Linear

        if weight is not None and tuple(weight.shape) != (num_classes,):
            raise RuntimeError(
                f"expected weight shape to be {(num_classes,)}, got {tuple(weight.shape)}"
            )
        if label_smoothing < 0 or label_smoothing > 1.0:
            raise RuntimeError(
                f"expected label_smoothing to be in range [0, 1], got {label_smoothing}"
            )
        super().__init__(weight=weight, size_average=None, reduce=None, reduction=reduction)
        self.num_classes = num_classes
        self.out_features = out_features
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.linear = Linear(in_features, math.prod(out_features, start=num_classes), bias=bias,
                             device=device, dtype=dtype)  # fmt: skip
        self.options = options

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        linear_weight = self.linear.weight.reshape(
            (self.num_classes, *self.out_features, self.linear.in_features)
        )
        linear_bias = (
            self.linear.bias.reshape((self.num_classes, *self.out_features))
            if self.linear.bias is not None
            else None
        )
        return F.linear_cross_entropy(
            input, linear_weight, target, linear_bias=linear_bias, weight=self.weight,
            reduction=self.reduction, ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing, options=self.options,
        )  # fmt: skip

    def extra_repr(self) -> str:
        return (
            f"in_features={self.linear.in_features},"
            f" num_classes={self.num_classes},"
            f" out_features={self.out_features},"
            f" bias={self.linear.bias is not None},"
            f" reduction={self.reduction},"
            f" ignore_index={self.ignore_index},"
            f" label_smoothing={self.label_smoothing},"
            f" options={self.options}"
        )
