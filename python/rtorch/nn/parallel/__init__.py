"""rtorch.nn.parallel: ``DataParallel`` (single-device here)."""

from .data_parallel import DataParallel, data_parallel

__all__ = ["DataParallel", "data_parallel"]
