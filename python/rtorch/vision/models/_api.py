"""Weights enums and weight loading for the model builders, as torchvision's ``models._api``.

``weights=`` of a builder takes:

* ``None``: random initialisation;
* a member of the model's weights enum (``ResNet18_Weights.IMAGENET1K_V1``), its name
  (``"IMAGENET1K_V1"``, ``"DEFAULT"``) or ``"ResNet18_Weights.IMAGENET1K_V1"``: torchvision's
  pretrained file, through ``rtorch.hub.load_state_dict_from_url``: its cache (a file
  already downloaded by torchvision into ``$TORCH_HOME/hub/checkpoints`` is found), else a
  download; offline, the error names the file and the folder to put it in;
* a path to a local state_dict file (``rtorch.save``/``torch.save`` format, or
  ``.safetensors``): loaded with ``load_state_dict(strict=True)``. This is rtorch's
  addition: torchvision itself only takes enum members.

The deprecated ``pretrained=True/False`` keyword maps to the default weights / None with
a warning, as torchvision does.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable

import rtorch

__all__ = [
    "ImageClassification",
    "Weights",
    "WeightsEnum",
    "get_model",
    "get_model_builder",
    "get_model_weights",
    "get_weight",
    "list_models",
]


class ImageClassification:
    """The evaluation preset of torchvision's classification weights.

    Resize (shorter side ``resize_size``), centre crop ``crop_size``, convert to float in
    [0, 1] and normalise with ImageNet's mean and std. Accepts PIL images and tensors
    (C, H, W) or (B, C, H, W).
    """

    def __init__(
        self,
        *,
        crop_size: int,
        resize_size: int = 256,
        mean: tuple[float, ...] = (0.485, 0.456, 0.406),
        std: tuple[float, ...] = (0.229, 0.224, 0.225),
        interpolation: Any = None,
        antialias: bool | None = True,
    ) -> None:
        from ..transforms import InterpolationMode

        self.crop_size = [crop_size]
        self.resize_size = [resize_size]
        self.mean = list(mean)
        self.std = list(std)
        self.interpolation = interpolation or InterpolationMode.BILINEAR
        self.antialias = antialias

    def __call__(self, img: Any) -> rtorch.Tensor:
        from ..transforms import functional as F

        img = F.resize(img, self.resize_size, self.interpolation, antialias=self.antialias)
        img = F.center_crop(img, self.crop_size)
        if not isinstance(img, rtorch.Tensor):
            img = F.pil_to_tensor(img)
        img = F.convert_image_dtype(img, rtorch.float)
        return F.normalize(img, mean=self.mean, std=self.std)

    forward = __call__

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(\n    crop_size={self.crop_size}\n"
            f"    resize_size={self.resize_size}\n    mean={self.mean}\n    std={self.std}\n"
            f"    interpolation={self.interpolation}\n)"
        )


@dataclass
class Weights:
    """A pretrained checkpoint: where it is published, its preset transforms and metadata."""

    url: str
    transforms: Callable[..., Any]
    meta: dict[str, Any] = field(default_factory=dict)


def _imagenet(url: str, num_params: int, resize_size: int = 256) -> Weights:
    def preset() -> ImageClassification:
        return ImageClassification(crop_size=224, resize_size=resize_size)

    return Weights(url, preset, {"num_params": num_params, "num_classes": 1000})


class WeightsEnum(Enum):
    """Base of the per-model enums (``ResNet18_Weights`` ...); members wrap :class:`Weights`."""

    @classmethod
    def verify(cls, obj: Any) -> Any:
        """``obj`` as a member of this enum (names are accepted); None stays None."""
        if obj is None:
            return None
        if type(obj) is str:
            name = obj.replace(cls.__name__ + ".", "")
            try:
                return cls[name]
            except KeyError:
                raise KeyError(
                    f"{obj!r} is not a member of {cls.__name__}; choose from "
                    f"{', '.join(m.name for m in cls)} or DEFAULT"
                ) from None
        if not isinstance(obj, cls):
            raise TypeError(
                f"Invalid Weight class provided; expected {cls.__name__} but received "
                f"{obj.__class__.__name__}."
            )
        return obj

    @property
    def url(self) -> str:
        return self.value.url

    @property
    def meta(self) -> dict[str, Any]:
        return self.value.meta

    @property
    def transforms(self) -> Callable[..., Any]:
        return self.value.transforms

    def get_state_dict(self, progress: bool = True, check_hash: bool = True) -> dict:
        """The checkpoint's state_dict: from the hub cache, a download, or a clear error."""
        return _load_from_hub(self.url, progress=progress, check_hash=check_hash)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}.{self._name_}"


def _load_from_hub(url: str, progress: bool, check_hash: bool) -> dict:
    """The checkpoint at ``url`` through rtorch.hub: its cache (which also searches PyTorch's
    hub directory), else a download; offline, rtorch.hub's error names file and folder."""
    from rtorch import hub

    return hub.load_state_dict_from_url(
        url, map_location="cpu", progress=progress, check_hash=check_hash
    )


def _load_local_state_dict(path: str) -> dict:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file {path!r} does not exist")
    if path.endswith(".safetensors"):
        from rtorch import safetensors

        return safetensors.load_file(path)
    state = rtorch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise TypeError(
            f"weights file {path!r} holds a {type(state).__name__}, expected a state_dict"
        )
    return state


def _ovewrite_named_param(kwargs: dict[str, Any], param: str, new_value: Any) -> None:
    """Set ``kwargs[param]``, refusing a different value the user passed (torchvision's name)."""
    if param in kwargs:
        if kwargs[param] != new_value:
            raise ValueError(
                f"The parameter '{param}' expected value {new_value} but got {kwargs[param]} "
                "instead."
            )
    else:
        kwargs[param] = new_value


def _resolve_weights(enum: type[WeightsEnum] | None, weights: Any, kwargs: dict[str, Any]) -> Any:
    """Map ``pretrained=`` and names to an enum member, or keep a path; fix num_classes."""
    if "pretrained" in kwargs:
        pretrained = kwargs.pop("pretrained")
        if weights is not None:
            raise ValueError("Only one of 'pretrained' and 'weights' may be passed")
        if enum is None and pretrained:
            raise ValueError("This model has no pretrained weights; pass weights=<path>")
        default = None if enum is None else enum["DEFAULT"]
        warnings.warn(
            "The parameter 'pretrained' is deprecated, please use 'weights' instead. "
            f"Equivalent: weights={default if pretrained else None}.",
            UserWarning,
            stacklevel=3,
        )
        weights = default if pretrained else None
    if isinstance(weights, os.PathLike):
        return os.fspath(weights)
    if isinstance(weights, str) and (
        enum is None or not (weights.replace(enum.__name__ + ".", "") in enum.__members__)
    ):
        return weights  # a file path
    if enum is None:
        if weights is not None:
            raise TypeError(f"weights should be None or a path, got {type(weights).__name__}")
        return None
    weights = enum.verify(weights)
    if weights is not None:
        _ovewrite_named_param(kwargs, "num_classes", weights.meta["num_classes"])
    return weights


def _fetch_state_dict(weights: Any, progress: bool) -> dict | None:
    """The state_dict ``weights`` names, fetched before the model is built so that a
    missing file fails at once instead of after seconds of weight initialisation."""
    if weights is None:
        return None
    if isinstance(weights, str):
        return _load_local_state_dict(weights)
    return weights.get_state_dict(progress=progress, check_hash=True)


def _build(builder: Callable[..., Any], enum: Any, weights: Any, progress: bool, kwargs) -> Any:
    """Resolve ``weights`` (and ``pretrained=``), fetch them, build, load strictly."""
    weights = _resolve_weights(enum, weights, kwargs)
    state = _fetch_state_dict(weights, progress)
    model = builder(**kwargs)
    if state is not None:
        model.load_state_dict(state)
    return model


# --- registry ------------------------------------------------------------------------------

_MODELS: dict[str, Callable[..., Any]] = {}
_MODEL_WEIGHTS: dict[str, type[WeightsEnum] | None] = {}


def register_model(weights_enum: type[WeightsEnum] | None = None):
    """Decorator: record a builder under its function name."""

    def wrapper(fn: Callable[..., Any]) -> Callable[..., Any]:
        _MODELS[fn.__name__] = fn
        _MODEL_WEIGHTS[fn.__name__] = weights_enum
        return fn

    return wrapper


def list_models() -> list[str]:
    """Names of the registered model builders, sorted."""
    return sorted(_MODELS)


def get_model_builder(name: str) -> Callable[..., Any]:
    name = name.lower()
    if name not in _MODELS:
        raise ValueError(f"Unknown model {name}")
    return _MODELS[name]


def get_model(name: str, **config: Any) -> Any:
    """Build the model ``name`` with the builder's keyword arguments."""
    return get_model_builder(name)(**config)


def get_model_weights(name: str | Callable[..., Any]) -> type[WeightsEnum] | None:
    """The weights enum of a model (by name or builder)."""
    key = name if isinstance(name, str) else name.__name__
    if key.lower() not in _MODEL_WEIGHTS:
        raise ValueError(f"Unknown model {key}")
    return _MODEL_WEIGHTS[key.lower()]


def get_weight(name: str) -> WeightsEnum:
    """A weights member from its full name, e.g. ``"ResNet50_Weights.IMAGENET1K_V2"``."""
    try:
        enum_name, value_name = name.split(".")
    except ValueError:
        raise ValueError(f"Invalid weight name provided: '{name}'.") from None
    for enum in _MODEL_WEIGHTS.values():
        if enum is not None and enum.__name__ == enum_name:
            return enum[value_name]
    raise ValueError(
        f"The weight enum '{enum_name}' for the specific method couldn't be retrieved."
    )
