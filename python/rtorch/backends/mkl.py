"""``rtorch.backends.mkl``: rtorch is not built with Intel MKL (its BLAS is the ``gemm``
crate and its decompositions are faer's)."""

from __future__ import annotations

from types import TracebackType

__all__ = ["VERBOSE_OFF", "VERBOSE_ON", "is_available", "verbose"]

VERBOSE_OFF = 0
VERBOSE_ON = 1


def is_available() -> bool:
    """False: this build has no MKL."""
    return False


class verbose:
    """PyTorch's on-demand MKL verbose scope. Without MKL there is nothing to report:
    ``VERBOSE_OFF`` is accepted silently, turning it on raises, as PyTorch does when
    MKL refuses verbose mode."""

    def __init__(self, enable: int) -> None:
        self.enable = enable

    def __enter__(self) -> verbose | None:
        if self.enable == VERBOSE_OFF:
            return None
        raise AssertionError(
            "Failed to set MKL into verbose mode. Please consider to disable this verbose scope."
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool:
        return False
