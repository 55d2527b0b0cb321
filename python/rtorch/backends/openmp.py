"""``rtorch.backends.openmp``: rtorch parallelises with one rayon pool, not OpenMP."""

from __future__ import annotations

__all__ = ["is_available"]


def is_available() -> bool:
    """False: this build does not use OpenMP (see ``rtorch.get_num_threads``)."""
    return False
