"""rtorch.vision.transforms: torchvision's (v1) image transforms."""

from . import functional
from .transforms import *
from .transforms import __all__ as _transforms_all

__all__ = ["functional", *_transforms_all]  # noqa: PLE0604
