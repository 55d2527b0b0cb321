"""rtorch.vision: the torchvision equivalents (datasets, transforms, models, utils).

``import rtorch.vision as torchvision`` gives the names scripts reach for:
``torchvision.datasets.MNIST``, ``torchvision.transforms.ToTensor``,
``torchvision.models.resnet18``, ``torchvision.utils.make_grid``.

The submodules load on first attribute access, so importing ``rtorch.vision`` does not
import Pillow or ``rtorch.nn`` until they are needed.
"""

import importlib

__all__ = ["datasets", "models", "transforms", "utils"]

_SUBMODULES = frozenset(__all__)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_image_backend() -> str:
    """The image backend used by the dataset loaders: always ``"PIL"``."""
    return "PIL"


def set_image_backend(backend: str) -> None:
    """Only Pillow is supported; ``accimage`` is refused with a clear message."""
    if backend != "PIL":
        raise ValueError(f"Invalid backend '{backend}'. rtorch.vision supports only 'PIL'")
