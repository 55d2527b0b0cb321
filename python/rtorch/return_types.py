"""Named-tuple results of reductions and sorts, like ``torch.return_types``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self


class _StructSeq(tuple):
    """A tuple with named fields, printed as PyTorch prints its structseqs."""

    _fields: tuple[str, ...] = ()

    def __new__(cls, seq: Iterable[Any]) -> Self:
        seq = tuple(seq)
        if len(seq) != len(cls._fields):
            raise TypeError(
                f"torch.return_types.{cls.__name__} takes a {len(cls._fields)}-sequence "
                f"({len(seq)}-sequence given)"
            )
        return super().__new__(cls, seq)

    def __repr__(self) -> str:
        body = ",\n".join(f"{n}={v!r}" for n, v in zip(self._fields, self))
        return f"torch.return_types.{type(self).__name__}(\n{body})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (tuple(self),))


def _make(name: str, fields: tuple[str, ...]) -> type:
    ns: dict[str, Any] = {"_fields": fields, "__slots__": ()}
    for i, f in enumerate(fields):
        ns[f] = property(lambda self, i=i: self[i])
    cls = type(name, (_StructSeq,), ns)
    cls.__module__ = __name__
    return cls


_PAIRS = (
    "max",
    "min",
    "sort",
    "topk",
    "kthvalue",
    "median",
    "mode",
    "cummax",
    "cummin",
    "nanmedian",
)
for _n in _PAIRS:
    globals()[_n] = _make(_n, ("values", "indices"))
aminmax = _make("aminmax", ("min", "max"))
frexp = _make("frexp", ("mantissa", "exponent"))
histogram = _make("histogram", ("hist", "bin_edges"))
histogramdd = _make("histogramdd", ("hist", "bin_edges"))
del _n

__all__ = list(_PAIRS) + ["aminmax", "frexp", "histogram", "histogramdd"]


# torch.linalg and the legacy decomposition functions.
linalg_inv_ex = _make("linalg_inv_ex", ("inverse", "info"))
linalg_cholesky_ex = _make("linalg_cholesky_ex", ("L", "info"))
linalg_solve_ex = _make("linalg_solve_ex", ("result", "info"))
linalg_slogdet = _make("linalg_slogdet", ("sign", "logabsdet"))
slogdet = _make("slogdet", ("sign", "logabsdet"))
linalg_qr = _make("linalg_qr", ("Q", "R"))
qr = _make("qr", ("Q", "R"))
linalg_eigh = _make("linalg_eigh", ("eigenvalues", "eigenvectors"))
linalg_svd = _make("linalg_svd", ("U", "S", "Vh"))
svd = _make("svd", ("U", "S", "V"))
linalg_lstsq = _make("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
linalg_lu_factor = _make("linalg_lu_factor", ("LU", "pivots"))
linalg_lu_factor_ex = _make("linalg_lu_factor_ex", ("LU", "pivots", "info"))
linalg_lu = _make("linalg_lu", ("P", "L", "U"))
lu_unpack = _make("lu_unpack", ("P", "L", "U"))
linalg_ldl_factor = _make("linalg_ldl_factor", ("LD", "pivots"))
linalg_ldl_factor_ex = _make("linalg_ldl_factor_ex", ("LD", "pivots", "info"))
geqrf = _make("geqrf", ("a", "tau"))
triangular_solve = _make("triangular_solve", ("solution", "cloned_coefficient"))
__all__ += [
    "geqrf",
    "linalg_cholesky_ex",
    "linalg_eigh",
    "linalg_inv_ex",
    "linalg_ldl_factor",
    "linalg_ldl_factor_ex",
    "linalg_lstsq",
    "linalg_lu",
    "linalg_lu_factor",
    "linalg_lu_factor_ex",
    "linalg_qr",
    "linalg_slogdet",
    "linalg_solve_ex",
    "linalg_svd",
    "lu_unpack",
    "qr",
    "slogdet",
    "svd",
    "triangular_solve",
]
