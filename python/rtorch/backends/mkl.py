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
        _refuse_verbose(self.enable, "MKL")
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool:
        return False


def _refuse_verbose(level: int, library: str) -> None:
    """The check of a verbose scope entered in a build without ``library`` (MKL here and
    oneDNN in ``mkldnn``): off is accepted, anything else raises PyTorch's error."""
    if level != VERBOSE_OFF:
        raise AssertionError(
            f"Failed to set {library} into verbose mode. Please consider to disable this "
            "verbose scope."
        )
