"""``torch.nn.utils.parametrizations``: ``weight_norm``, ``spectral_norm`` and
``orthogonal`` as parametrizations (see ``parametrize.register_parametrization``).

Each registers a small module on ``module.parametrizations.<name>`` so that the state_dict
keys, buffers and class names are PyTorch's (``parametrizations.weight.original``,
``parametrizations.weight.0._u``, ``parametrizations.weight.0.base``, …).
"""

from __future__ import annotations

from enum import Enum, auto
from typing import Any

import rtorch

from ..._C import Tensor
from .. import functional as F
from ..modules.module import Module
from . import parametrize
from .spectral_norm import _output_channel_dim
from .weight_norm import norm_except_dim

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        if dim is None:
            dim = -1
        self.dim = dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / norm_except_dim(weight_v, 2, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        weight_g = norm_except_dim(weight, 2, self.dim)
        weight_v = weight
        return weight_g, weight_v


def weight_norm(module: Any, name: str = "weight", dim: int | None = 0) -> Any:
    r"""Applies weight normalization to parameter ``name`` of ``module`` as a
    parametrization: the magnitude and direction are
    ``module.parametrizations.<name>.original0`` (g) and ``original1`` (v), and
    ``module.<name>`` is recomputed as :math:`g \, v / \|v\|` on access. Returns ``module``.
    """
    _weight_norm = _WeightNorm(dim)
    parametrize.register_parametrization(module, name, _weight_norm, unsafe=True)
    return module


def _tensor_attribute(module: Any, name: str) -> Tensor:
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(  # noqa: TRY004 - PyTorch raises ValueError
            f"Module '{module}' has no parameter or buffer with name '{name}'"
        )
    return weight


# ---------------------------------------------------------------------------------------
# spectral_norm
# ---------------------------------------------------------------------------------------

# Power-iteration steps run once when the buffers are created, so that the first sigma is
# already a good estimate (PyTorch's count, observed: its buffers after registering on an
# eval-mode module equal 15 steps from the normalised random draws).
_INITIAL_POWER_ITERATIONS = 15


class _SpectralNorm(Module):
    """Divides a weight by an estimate of its largest singular value.

    The weight, with ``dim`` moved first and the other dimensions flattened, is a matrix
    ``W``; ``_u`` and ``_v`` hold the left and right singular-vector estimates, refined by
    power iteration (in place, without gradient) on each training-mode forward, and
    ``sigma = u . (W v)``. A 1-d weight is simply divided by its norm.
    """

    def __init__(
        self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(
                "Dimension out of range (expected to be in range of "
                f"[-{ndim}, {ndim - 1}] but got {dim})"
            )
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but "
                f"got n_power_iterations={n_power_iterations}"
            )
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight)
            h, w = weight_mat.size()
            u = weight_mat.new_empty(h).normal_(0, 1)
            v = weight_mat.new_empty(w).normal_(0, 1)
            self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
            self._power_method(weight_mat, _INITIAL_POWER_ITERATIONS)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        # ndim > 1 here: `dim` first, the rest flattened into the columns.
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.flatten(1)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        # The buffers are the iteration's state: updated in place so that references to
        # them (and the state_dict) follow, and outside autograd (sigma treats u, v as
        # constants, as PyTorch does).
        with rtorch.no_grad():
            for _ in range(n_power_iterations):
                self._u.copy_(F.normalize(rtorch.mv(weight_mat, self._v), dim=0, eps=self.eps))
                self._v.copy_(F.normalize(rtorch.mv(weight_mat.mH, self._u), dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        # Copies, so that later in-place updates of the buffers do not alter what autograd
        # saved for this forward.
        u = self._u.clone()
        v = self._v.clone()
        sigma = rtorch.vdot(u, rtorch.mv(weight_mat, v))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        # Any tensor is a valid preimage: it is stored as given and normalised on access.
        return value


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    r"""Applies spectral normalization to the tensor ``name`` of ``module`` as a
    parametrization: :math:`\mathbf{W}_{SN} = \mathbf{W} / \sigma(\mathbf{W})`.

    :math:`\sigma` is estimated by power iteration on the buffers
    ``module.parametrizations.<name>[0]._u`` and ``._v``: ``n_power_iterations`` steps on
    every access in training mode, none in eval mode. The unnormalized tensor is
    ``module.parametrizations.<name>.original``.

    Args:
        module: the module holding the tensor.
        name: the parameter or buffer to normalize.
        n_power_iterations: power-iteration steps per training-mode access (> 0).
        eps: added for numerical stability when normalizing vectors.
        dim: the dimension of the output channels, moved first before flattening the
            tensor to a matrix; 1 for ``ConvTranspose{1,2,3}d``, else 0, by default.

    Returns:
        ``module``, with the parametrization registered.
    """
    weight = _tensor_attribute(module, name)
    if dim is None:
        dim = _output_channel_dim(module)
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps)
    )
    return module


# ---------------------------------------------------------------------------------------
# orthogonal
# ---------------------------------------------------------------------------------------


class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


def _is_orthogonal(q: Tensor) -> bool:
    """Whether the columns of ``q`` (…, n, k) are orthonormal to ``10 n eps``."""
    n, k = q.size(-2), q.size(-1)
    eye = rtorch.eye(k, dtype=q.dtype, device=q.device)
    atol = 10.0 * n * rtorch.finfo(q.dtype).eps
    return rtorch.allclose(q.mH @ q, eye, atol=atol)


def _orthonormalize(a: Tensor) -> Tensor:
    """The Q of ``a = QR`` with R's diagonal made positive (a unique choice for full-rank
    ``a``), from the Householder reflectors of ``geqrf``."""
    reflectors, tau = rtorch.geqrf(a)
    q = rtorch.linalg.householder_product(reflectors, tau)
    return q * reflectors.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


class _Orthogonal(Module):
    """Maps an unconstrained (…, n, k) tensor ``X`` to a matrix with orthonormal columns
    (rows, when ``n < k``: wide matrices are transposed, mapped and transposed back).

    ``matrix_exp`` / ``cayley``: the skew-symmetric ``A = L - L^T`` of the lower triangle
    ``L`` of ``X`` (zero-padded to square) goes to ``exp(A)`` or
    ``(I - A/2)^{-1} (I + A/2)``, keeping the first ``k`` columns. ``householder``: the
    columns of ``X`` below the diagonal are Householder vectors (unit leading entry), the
    diagonal's signs (truncated to integers) scale the columns of their product.

    With trivialization a buffer ``base`` (an n x n orthogonal matrix) multiplies the result
    on the left; assigning ``Q`` then sets ``base`` from ``Q`` and the original to ``-I``,
    which every map sends to the identity's first ``k`` columns.
    """

    base: Tensor | None

    def __init__(
        self, weight: Tensor, orthogonal_map: _OrthMaps, *, use_trivialization: bool = True
    ) -> None:
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def _uses_trivialization(self) -> bool:
        return "base" in self._buffers

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.size(-2), X.size(-1)
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        # Now n >= k: a tall (or square) matrix with orthonormal columns is built.
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            X = X.tril()
            if n != k:
                pad = X.new_zeros(n, n - k).expand(*X.shape[:-2], -1, -1)
                X = rtorch.cat([X, pad], dim=-1)
            A = X - X.mH
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = rtorch.linalg.matrix_exp(A)
            else:
                eye = rtorch.eye(n, dtype=A.dtype, device=A.device)
                Q = rtorch.linalg.solve(eye - 0.5 * A, eye + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(diagonal=-1)
            # tau = 2 / ||v||^2 for v = e_i + A[:, i]: each factor is a true reflection.
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = rtorch.linalg.householder_product(A, tau)
            # The integer part of the diagonal (+-1 in use) picks each column's sign; it
            # receives no gradient, so training keeps it fixed.
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        base = self._buffers.get("base")
        if base is not None:
            Q = base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        if Q.shape != self.shape:
            raise ValueError(
                f"Expected a matrix or batch of matrices of shape {self.shape}. "
                f"Got a tensor of shape {Q.shape}."
            )
        Q_init = Q
        n, k = Q.size(-2), Q.size(-1)
        transpose = n < k
        if transpose:
            Q = Q.mT
            n, k = k, n
        if not self._uses_trivialization():
            if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
                raise NotImplementedError(
                    "It is not possible to assign to the matrix exponential "
                    "or the Cayley parametrizations when use_trivialization=False."
                )
            # Q = H_1 ... H_k R; with R's diagonal signs in the diagonal of the stored
            # tensor the forward gives the orthonormal factor of Q back. A reflector with
            # tau == 0 (the identity) becomes a reflection in the forward (its tau is
            # 2 / ||v||^2), which an extra sign flip undoes.
            A, tau = rtorch.geqrf(Q)
            diag = A.diagonal(dim1=-2, dim2=-1)
            signs = diag.sign() * rtorch.where(tau == 0.0, -1.0, 1.0).to(diag.dtype)
            diag.copy_(signs)
            return A.mT if transpose else A
        if n == k:
            # Keep an orthogonal Q as it is; orthonormalize anything else.
            Q = Q.clone() if _is_orthogonal(Q) else _orthonormalize(Q)
        else:
            # Complete the k columns to an n x n orthogonal base with random directions.
            extra = rtorch.randn(
                *(tuple(Q.shape[:-2]) + (n, n - k)), dtype=Q.dtype, device=Q.device
            )
            Q = _orthonormalize(rtorch.cat([Q, extra], dim=-1))
        self.base = Q
        neg_eye = rtorch.zeros_like(Q_init)
        neg_eye.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
        return neg_eye


def orthogonal(
    module: Module,
    name: str = "weight",
    orthogonal_map: str | None = None,
    *,
    use_trivialization: bool = True,
) -> Module:
    r"""Constrains the matrix (or batch of matrices) ``name`` of ``module`` to have
    orthonormal columns (or rows, for wide matrices), as a parametrization.

    On registration the tensor is replaced by the orthonormal factor of its QR
    decomposition (R with a positive diagonal), so ``module.<name>`` starts orthogonal.

    Args:
        module: the module holding the tensor.
        name: the parameter or buffer to constrain; at least 2-d.
        orthogonal_map: ``"matrix_exp"``, ``"cayley"`` or ``"householder"``; by default
            ``"matrix_exp"`` for square matrices and ``"householder"`` otherwise.
        use_trivialization: keep an orthogonal ``base`` buffer that the map's result
            multiplies (assignments to ``module.<name>`` then work for every map, and the
            original is reset to ``-I``); without it only ``"householder"`` accepts
            assignments.

    Returns:
        ``module``, with the parametrization registered.
    """
    weight = _tensor_attribute(module, name)
    if weight.ndim < 2:
        raise ValueError(
            f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions."
        )
    if orthogonal_map is None:
        square = weight.size(-2) == weight.size(-1)
        orthogonal_map = "matrix_exp" if square or weight.is_complex() else "householder"
    orth_enum = getattr(_OrthMaps, orthogonal_map, None)
    if not isinstance(orth_enum, _OrthMaps):
        raise ValueError(  # noqa: TRY004 - PyTorch raises ValueError
            'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
            f"Got: {orthogonal_map}"
        )
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
