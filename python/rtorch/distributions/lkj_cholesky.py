"""``LKJCholesky``: the LKJ distribution over Cholesky factors of correlation matrices."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from .. import _C
from .._C import Tensor
from .._size import Size
from . import constraints
from .beta import Beta
from .distribution import _EMPTY_SHAPE, Distribution
from .utils import broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    r"""The LKJ distribution for lower Cholesky factors ``L`` of correlation matrices: the
    correlation matrix ``M = L @ L.T`` has density proportional to
    :math:`\det(M)^{\eta - 1}` for the ``concentration`` :math:`\eta`, so
    ``concentration == 1`` is uniform over correlation matrices' factors.

    Sampling uses the onion method of Lewandowski, Kurowicka and Joe (2009), Section 3:
    row ``i`` of ``L`` is ``sqrt(y_i) * u_i`` on its first ``i`` entries, with
    ``y_i ~ Beta(i/2, eta + (dim - 2)/2 - (i - 1)/2)`` its squared length off the diagonal and
    ``u_i`` uniform on the unit sphere, and the diagonal entry completes the unit norm.

    Example::

        >>> l = LKJCholesky(3, 0.5)
        >>> l.sample()  # l @ l.T is a sample of a correlation 3x3 matrix

    Args:
        dim (int): dimension of the matrices (at least 2)
        concentration (float or Tensor): concentration/shape parameter of the distribution
            (often referred to as eta)
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "concentration": constraints.positive
    }
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration: Any = 1.0,
                 validate_args: bool | None = None) -> None:  # fmt: skip
        if dim < 2:
            raise ValueError(
                f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}."
            )
        if not isinstance(dim, int):
            # As PyTorch, where the event shape torch.Size((dim, dim)) refuses it.
            raise TypeError(
                f"torch.Size() takes an iterable of 'int' (item 0 is '{type(dim).__name__}')"
            )
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        batch_shape = self.concentration.size()
        event_shape = Size((dim, dim))
        # Row i (0-based) has i entries left of the diagonal, whose squared norm is
        # Beta(i / 2, beta_0 - (i - 1) / 2) with beta_0 = eta + (dim - 2) / 2 (the onion
        # method's step 2b). Row 0 is fixed to e_1; its draw (same as row 1's) is unused.
        # PyTorch takes (2i - 1) / 2 for the first parameter from row 2 on, which makes the
        # correlations of later rows too spread (E r_13^2 = 0.30 instead of 0.25 for dim 3,
        # eta 1) and breaks the distribution's symmetry under permutations; its log_prob is
        # LKJ's and agrees with the draws here.
        dtype, device = self.concentration.dtype, self.concentration.device
        marginal_conc = self.concentration + 0.5 * (self.dim - 2)
        offset = _C.arange(self.dim - 1, dtype=dtype, device=device)
        offset = _C.cat([_C.zeros(1, dtype=dtype, device=device), offset])
        beta_conc1 = 0.5 * (offset + 1)
        beta_conc0 = marginal_conc.unsqueeze(-1) - 0.5 * offset
        self._beta = Beta(beta_conc1, beta_conc0)
        super().__init__(batch_shape, event_shape, validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> LKJCholesky:
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = Size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = Beta(
            self._beta.concentration1.expand((*batch_shape, self.dim)),
            self._beta.concentration0.expand((*batch_shape, self.dim)),
        )
        super(LKJCholesky, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape: Any = _EMPTY_SHAPE) -> Tensor:
        from .._dtype_info import finfo
        from ..autograd import no_grad

        with no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)  # squared off-diagonal norms
            shape = tuple(self._extended_shape(sample_shape))
            u = _C.empty(shape, dtype=y.dtype, device=y.device).normal_().tril(-1)
            # Row i's direction: i normal entries scaled to unit length (row 0 has none).
            norms = u.norm(dim=-1, keepdim=True)
            first_row = _C.arange(self.dim, device=y.device).reshape(-1, 1) == 0
            u_sphere = _C.where(first_row, _C.zeros_like(u), u / norms)
            w = y.sqrt() * u_sphere
            tiny = finfo(w.dtype).tiny
            diag = (1 - w.pow(2).sum(-1)).clamp(min=tiny).sqrt()
            return w + _C.diag_embed(diag)

    def log_prob(self, value: Tensor) -> Tensor:
        r"""The log density with respect to the Lebesgue measure on the rows' sub-diagonal
        entries: :math:`\sum_{i=2}^{d} (d - i + 2(\eta - 1)) \log L_{ii}` minus the log
        normaliser (LKJ's, for the Cholesky parameterisation)."""
        from .. import mvlgamma

        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = _C.arange(2, self.dim + 1, dtype=self.concentration.dtype, device=value.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized_log_pdf = (order * diag_elems.log()).sum(-1)
        # Normaliser: pi^{(d-1)/2 ...} Gamma_{d-1}(alpha - 1/2) / Gamma(alpha)^{d-1}.
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = _C.lgamma(alpha) * dm1
        numerator = mvlgamma(alpha - 0.5, dm1)
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        normalize_term = pi_constant + numerator - denominator
        return unnormalized_log_pdf - normalize_term
