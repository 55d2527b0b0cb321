"""The chi-squared distribution."""

from __future__ import annotations

from typing import Any, ClassVar

from .._C import Tensor
from .._size import Size
from . import constraints
from .gamma import Gamma

__all__ = ["Chi2"]


class Chi2(Gamma):
    r"""A chi-squared distribution with ``df`` degrees of freedom: exactly
    ``Gamma(concentration=0.5 * df, rate=0.5)``.

    Args:
        df (float or Tensor): shape parameter of the distribution
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {"df": constraints.positive}

    def __init__(self, df: Any, validate_args: bool | None = None) -> None:
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Chi2:
        new = self._get_checked_instance(Chi2, _instance)
        return super().expand(Size(batch_shape), new)

    @property
    def df(self) -> Tensor:
        return self.concentration * 2
