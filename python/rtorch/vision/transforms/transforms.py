"""Transform classes, as ``torchvision.transforms`` (v1).

Each transform is a callable object (an ``nn.Module`` where torchvision's is one); random transforms draw from rtorch's global
generator (``rtorch.rand``/``rtorch.randint``), so ``rtorch.manual_seed`` makes a
pipeline reproducible. The others alias ``forward`` to ``__call__``.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Sequence
from typing import Any, Callable

import rtorch
from rtorch import Tensor
from rtorch.nn import Module

from . import functional as F
from .functional import InterpolationMode, _interpolation_mode

__all__ = [
    "CenterCrop",
    "ColorJitter",
    "Compose",
    "ConvertImageDtype",
    "GaussianBlur",
    "Grayscale",
    "InterpolationMode",
    "Lambda",
    "Normalize",
    "PILToTensor",
    "Pad",
    "RandomAffine",
    "RandomApply",
    "RandomChoice",
    "RandomCrop",
    "RandomErasing",
    "RandomGrayscale",
    "RandomHorizontalFlip",
    "RandomOrder",
    "RandomResizedCrop",
    "RandomRotation",
    "RandomVerticalFlip",
    "Resize",
    "ToPILImage",
    "ToTensor",
]


def _uniform(low: float, high: float) -> float:
    """One draw from U(low, high) through rtorch's global generator."""
    return float(rtorch.empty(1).uniform_(low, high).item())


def _randint(low: int, high: int) -> int:
    return int(rtorch.randint(low, high, size=(1,)).item())


def _coin(p: float) -> bool:
    """True with probability ``p``."""
    return float(rtorch.rand(1).item()) < p


def _setup_size(size: Any, error_msg: str) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(error_msg)
    return size[0], size[1]


def _check_sequence_input(x: Any, name: str, req_sizes: tuple[int, ...]) -> None:
    msg = req_sizes[0] if len(req_sizes) < 2 else " or ".join(str(s) for s in req_sizes)
    if not isinstance(x, Sequence):
        raise TypeError(f"{name} should be a sequence of length {msg}.")
    if len(x) not in req_sizes:
        raise ValueError(f"{name} should be a sequence of length {msg}.")


def _setup_angle(x: Any, name: str, req_sizes: tuple[int, ...] = (2,)) -> list[float]:
    if isinstance(x, numbers.Number):
        if x < 0:
            raise ValueError(f"If {name} is a single number, it must be positive.")
        return [-float(x), float(x)]
    _check_sequence_input(x, name, req_sizes)
    return [float(d) for d in x]


class _Transform:
    """Shared plumbing: ``forward`` aliases ``__call__``; repr as torchvision's."""

    def forward(self, *args: Any) -> Any:
        return self(*args)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class _ModuleTransform(Module):
    """Base of the transforms that torchvision makes ``nn.Module``s (so they can sit in an
    ``nn.Sequential`` and move with ``.to()``); ``forward`` does the work."""


class Compose(_Transform):
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = transforms

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        lines = [self.__class__.__name__ + "("]
        lines += [f"    {t}" for t in self.transforms]
        return "\n".join(lines) + "\n)"


class ToTensor(_Transform):
    """PIL image or numpy (H, W, C) -> float tensor (C, H, W), uint8 scaled to [0, 1]."""

    def __call__(self, pic: Any) -> Tensor:
        return F.to_tensor(pic)


class PILToTensor(_Transform):
    """PIL image -> tensor (C, H, W) of the image's dtype, without scaling."""

    def __call__(self, pic: Any) -> Tensor:
        return F.pil_to_tensor(pic)


class ToPILImage(_Transform):
    """Tensor (C, H, W) or numpy (H, W, C) -> PIL image (see ``functional.to_pil_image``)."""

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode

    def __call__(self, pic: Any) -> Any:
        return F.to_pil_image(pic, self.mode)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(" + (f"mode={self.mode})" if self.mode else ")")


class ConvertImageDtype(_ModuleTransform):
    """Convert a tensor image to ``dtype``, rescaling values to the new range."""

    def __init__(self, dtype: rtorch.dtype) -> None:
        super().__init__()
        self.dtype = dtype

    def forward(self, image: Tensor) -> Tensor:
        return F.convert_image_dtype(image, self.dtype)


class Normalize(_ModuleTransform):
    """``(x - mean[c]) / std[c]`` for each channel c of a float tensor image (..., C, H, W).

    Args:
        mean: per-channel means.   std: per-channel standard deviations.
        inplace: overwrite the input instead of returning a new tensor.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        super().__init__()
        self.mean = mean
        self.std = std
        self.inplace = inplace
        # (dtype, mean tensor, std tensor): built once per dtype, not once per image.
        self._params: tuple[rtorch.dtype, Tensor, Tensor] | None = None

    def forward(self, tensor: Tensor) -> Tensor:
        F._check_normalize_input(tensor)
        params = self._params
        if params is None or params[0] != tensor.dtype:
            params = (tensor.dtype, *F._normalize_params(self.mean, self.std, tensor.dtype))
            self._params = params
        if self.inplace:
            return tensor.sub_(params[1]).div_(params[2])
        # Same two operations as clone().sub_().div_(), one allocation fewer.
        return tensor.sub(params[1]).div_(params[2])

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(mean={self.mean}, std={self.std})"


class Resize(_ModuleTransform):
    """Resize to ``size`` ((h, w), or an int for the shorter side keeping the aspect ratio).

    Args:
        size: output size.   interpolation: an ``InterpolationMode`` (default bilinear).
        max_size: bound on the longer side when ``size`` is an int.
        antialias: antialias tensor images when downsampling (PIL always antialiases).
    """

    def __init__(
        self,
        size: int | Sequence[int],
        interpolation: Any = InterpolationMode.BILINEAR,
        max_size: int | None = None,
        antialias: bool | None = True,
    ) -> None:
        super().__init__()
        if not isinstance(size, (int, Sequence)):
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError("If size is a sequence, it should have 1 or 2 values")
        self.size = size
        self.max_size = max_size
        self.interpolation = _interpolation_mode(interpolation)
        self.antialias = antialias

    def forward(self, img: Any) -> Any:
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(size={self.size}, interpolation="
            f"{self.interpolation.value}, max_size={self.max_size}, antialias={self.antialias})"
        )


class CenterCrop(_ModuleTransform):
    """Crop the centre ``size`` region (padding with 0 when the image is smaller)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        super().__init__()
        self.size = _setup_size(size, "Please provide only two dimensions (h, w) for size.")

    def forward(self, img: Any) -> Any:
        return F.center_crop(img, self.size)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self.size})"


class Pad(_ModuleTransform):
    """Pad the borders (see ``functional.pad`` for ``padding`` and ``padding_mode``)."""

    def __init__(self, padding: Any, fill: Any = 0, padding_mode: str = "constant") -> None:
        super().__init__()
        if not isinstance(padding, (numbers.Number, tuple, list)):
            raise TypeError("Got inappropriate padding arg")
        if not isinstance(fill, (numbers.Number, tuple, list)):
            raise TypeError("Got inappropriate fill arg")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
        if isinstance(padding, Sequence) and len(padding) not in (1, 2, 4):
            raise ValueError(
                "Padding must be an int or a 1, 2, or 4 element tuple, not a "
                f"{len(padding)} element tuple"
            )
        self.padding = padding
        self.fill = fill
        self.padding_mode = padding_mode

    def forward(self, img: Any) -> Any:
        return F.pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(padding={self.padding}, fill={self.fill}, "
            f"padding_mode={self.padding_mode})"
        )


class Lambda(_Transform):
    """Apply a user function."""

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)


class RandomApply(_ModuleTransform):
    """Apply all of ``transforms`` with probability ``p``, or none of them."""

    def __init__(self, transforms: Sequence[Callable], p: float = 0.5) -> None:
        super().__init__()
        self.transforms = transforms
        self.p = p

    def forward(self, img: Any) -> Any:
        if self.p < float(rtorch.rand(1).item()):
            return img
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        lines = [f"{self.__class__.__name__}(", f"    p={self.p}"]
        lines += [f"    {t}" for t in self.transforms]
        return "\n".join(lines) + "\n)"


class RandomChoice(_Transform):
    """Apply one of ``transforms``, chosen with weights ``p`` (uniform by default).

    As torchvision, the choice is drawn from Python's ``random`` module
    (``random.choices``), so ``random.seed`` makes it repeatable and gives torchvision's.
    """

    def __init__(self, transforms: Sequence[Callable], p: Sequence[float] | None = None):
        if not isinstance(transforms, Sequence):
            raise TypeError("Argument transforms should be a sequence")
        if p is not None and not isinstance(p, Sequence):
            raise TypeError("Argument p should be a sequence")
        if p is not None and len(p) != len(transforms):
            raise ValueError(
                f"Length of p doesn't match the number of transforms: {len(p)} != {len(transforms)}"
            )
        self.transforms = transforms
        self.p = p

    def __call__(self, *args: Any) -> Any:
        return random.choices(self.transforms, weights=self.p)[0](*args)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(transforms={self.transforms}, p={self.p})"


class RandomOrder(_Transform):
    """Apply ``transforms`` in a random order (a ``random.shuffle``, as torchvision)."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = transforms

    def __call__(self, img: Any) -> Any:
        order = list(range(len(self.transforms)))
        random.shuffle(order)
        for i in order:
            img = self.transforms[i](img)
        return img


class RandomCrop(_ModuleTransform):
    """Crop a random ``size`` region, optionally after padding.

    Args:
        size: (h, w) or int.   padding: border padding applied first (see ``Pad``).
        pad_if_needed: pad images smaller than ``size`` so that a crop always fits.
        fill, padding_mode: as for ``Pad``.
    """

    @staticmethod
    def get_params(img: Any, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """``(top, left, height, width)`` of a uniformly random crop of ``output_size``."""
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(
                f"Required crop size {(th, tw)} is larger than input image size {(h, w)}"
            )
        if w == tw and h == th:
            return 0, 0, h, w
        return _randint(0, h - th + 1), _randint(0, w - tw + 1), th, tw

    def __init__(
        self,
        size: int | Sequence[int],
        padding: Any | None = None,
        pad_if_needed: bool = False,
        fill: Any = 0,
        padding_mode: str = "constant",
    ) -> None:
        super().__init__()
        self.size = tuple(_setup_size(size, "Please provide only two dimensions (h, w) for size."))
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    def forward(self, img: Any) -> Any:
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, height, width = F.get_dimensions(img)
        if self.pad_if_needed and width < self.size[1]:
            img = F.pad(img, [self.size[1] - width, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            img = F.pad(img, [0, self.size[0] - height], self.fill, self.padding_mode)
        i, j, h, w = self.get_params(img, self.size)
        return F.crop(img, i, j, h, w)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self.size}, padding={self.padding})"


class _RandomFlip(_ModuleTransform):
    """The two random flips: a probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"


class RandomHorizontalFlip(_RandomFlip):
    """Mirror left-right with probability ``p``."""

    def forward(self, img: Any) -> Any:
        return F.hflip(img) if _coin(self.p) else img


class RandomVerticalFlip(_RandomFlip):
    """Mirror top-bottom with probability ``p``."""

    def forward(self, img: Any) -> Any:
        return F.vflip(img) if _coin(self.p) else img


class RandomResizedCrop(_ModuleTransform):
    """Crop a random area/aspect-ratio region and resize it to ``size``.

    Args:
        size: output (h, w) or int.
        scale: range of the crop's area as a fraction of the image's.
        ratio: range of the crop's aspect ratio (w / h), sampled log-uniformly.
        interpolation, antialias: as for ``Resize``.
    """

    def __init__(
        self,
        size: int | Sequence[int],
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
        interpolation: Any = InterpolationMode.BILINEAR,
        antialias: bool | None = True,
    ) -> None:
        super().__init__()
        self.size = _setup_size(size, "Please provide only two dimensions (h, w) for size.")
        if not isinstance(scale, Sequence):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("Ratio should be a sequence")
        self.interpolation = _interpolation_mode(interpolation)
        self.antialias = antialias
        self.scale = scale
        self.ratio = ratio

    @staticmethod
    def get_params(
        img: Any, scale: Sequence[float], ratio: Sequence[float]
    ) -> tuple[int, int, int, int]:
        """``(top, left, height, width)``: ten random tries, then a central fallback crop."""
        _, height, width = F.get_dimensions(img)
        area = height * width
        log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
        for _ in range(10):
            target_area = area * _uniform(scale[0], scale[1])
            aspect = math.exp(_uniform(log_low, log_high))
            w = round(math.sqrt(target_area * aspect))
            h = round(math.sqrt(target_area / aspect))
            if 0 < w <= width and 0 < h <= height:
                return _randint(0, height - h + 1), _randint(0, width - w + 1), h, w
        in_ratio = width / height
        if in_ratio < min(ratio):
            w, h = width, round(width / min(ratio))
        elif in_ratio > max(ratio):
            h, w = height, round(height * max(ratio))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def forward(self, img: Any) -> Any:
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, self.size, self.interpolation, self.antialias)

    def __repr__(self) -> str:
        scale = tuple(round(s, 4) for s in self.scale)
        ratio = tuple(round(r, 4) for r in self.ratio)
        return (
            f"{self.__class__.__name__}(size={self.size}, scale={scale}, ratio={ratio}, "
            f"interpolation={self.interpolation.value}, antialias={self.antialias})"
        )


class RandomRotation(_ModuleTransform):
    """Rotate by an angle drawn uniformly from ``degrees`` (a range, or (-d, d) for a number)."""

    def __init__(
        self,
        degrees: Any,
        interpolation: Any = InterpolationMode.NEAREST,
        expand: bool = False,
        center: Sequence[int] | None = None,
        fill: Any = 0,
    ) -> None:
        super().__init__()
        self.degrees = _setup_angle(degrees, name="degrees", req_sizes=(2,))
        if center is not None:
            _check_sequence_input(center, "center", req_sizes=(2,))
        if fill is None:
            fill = 0
        elif not isinstance(fill, (Sequence, numbers.Number)):
            raise TypeError("Fill should be either a sequence or a number.")
        self.center = center
        self.interpolation = _interpolation_mode(interpolation)
        self.expand = expand
        self.fill = fill

    @staticmethod
    def get_params(degrees: list[float]) -> float:
        return _uniform(float(degrees[0]), float(degrees[1]))

    def forward(self, img: Any) -> Any:
        fill = self.fill
        if isinstance(img, Tensor):
            channels = F.get_dimensions(img)[0]
            fill = [float(fill)] * channels if isinstance(fill, numbers.Number) else list(fill)
        angle = self.get_params(self.degrees)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, fill)

    def __repr__(self) -> str:
        s = (
            f"{self.__class__.__name__}(degrees={self.degrees}, "
            f"interpolation={self.interpolation.value}, expand={self.expand}"
        )
        if self.center is not None:
            s += f", center={self.center}"
        if self.fill is not None:
            s += f", fill={self.fill}"
        return s + ")"


class RandomAffine(_ModuleTransform):
    """Random affine transform keeping the centre: rotation, translation, scale, shear.

    Args:
        degrees: rotation range (a number d means (-d, d)), clockwise degrees.
        translate: (a, b): shifts drawn from [-a * width, a * width] and [-b * height,
            b * height], rounded to whole pixels.
        scale: (min, max) scale range.   shear: a number s (x shear in (-s, s)), a pair
            (x range) or four values (x range, y range), in degrees.
        interpolation, fill, center: as for ``functional.affine``.
    """

    def __init__(
        self,
        degrees: Any,
        translate: Sequence[float] | None = None,
        scale: Sequence[float] | None = None,
        shear: Any = None,
        interpolation: Any = InterpolationMode.NEAREST,
        fill: Any = 0,
        center: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        self.degrees = _setup_angle(degrees, name="degrees", req_sizes=(2,))
        if translate is not None:
            _check_sequence_input(translate, "translate", req_sizes=(2,))
            for t in translate:
                if not 0.0 <= t <= 1.0:
                    raise ValueError("translation values should be between 0 and 1")
        self.translate = translate
        if scale is not None:
            _check_sequence_input(scale, "scale", req_sizes=(2,))
            for s in scale:
                if s <= 0:
                    raise ValueError("scale values should be positive")
        self.scale = scale
        self.shear = None if shear is None else _setup_angle(shear, "shear", req_sizes=(2, 4))
        self.interpolation = _interpolation_mode(interpolation)
        if fill is None:
            fill = 0
        elif not isinstance(fill, (Sequence, numbers.Number)):
            raise TypeError("Fill should be either a sequence or a number.")
        self.fill = fill
        if center is not None:
            _check_sequence_input(center, "center", req_sizes=(2,))
        self.center = center

    @staticmethod
    def get_params(
        degrees: list[float],
        translate: Sequence[float] | None,
        scale_ranges: Sequence[float] | None,
        shears: Sequence[float] | None,
        img_size: list[int],
    ) -> tuple[float, tuple[int, int], float, tuple[float, float]]:
        """``(angle, (tx, ty), scale, (shear_x, shear_y))`` for an image of ``[w, h]``."""
        angle = _uniform(float(degrees[0]), float(degrees[1]))
        tx = ty = 0
        if translate is not None:
            max_dx = float(translate[0] * img_size[0])
            max_dy = float(translate[1] * img_size[1])
            tx = round(_uniform(-max_dx, max_dx))
            ty = round(_uniform(-max_dy, max_dy))
        scale = 1.0 if scale_ranges is None else _uniform(scale_ranges[0], scale_ranges[1])
        shear_x = shear_y = 0.0
        if shears is not None:
            shear_x = _uniform(shears[0], shears[1])
            if len(shears) == 4:
                shear_y = _uniform(shears[2], shears[3])
        return angle, (tx, ty), scale, (shear_x, shear_y)

    def forward(self, img: Any) -> Any:
        channels, height, width = F.get_dimensions(img)
        fill = self.fill
        if isinstance(img, Tensor):
            fill = [float(fill)] * channels if isinstance(fill, numbers.Number) else list(fill)
        params = self.get_params(
            self.degrees, self.translate, self.scale, self.shear, [width, height]
        )
        return F.affine(
            img, *params, interpolation=self.interpolation, fill=fill, center=self.center
        )

    def __repr__(self) -> str:
        s = f"{self.__class__.__name__}(degrees={self.degrees}"
        if self.translate is not None:
            s += f", translate={self.translate}"
        if self.scale is not None:
            s += f", scale={self.scale}"
        if self.shear is not None:
            s += f", shear={self.shear}"
        if self.interpolation != InterpolationMode.NEAREST:
            s += f", interpolation={self.interpolation.value}"
        if self.fill != 0:
            s += f", fill={self.fill}"
        if self.center is not None:
            s += f", center={self.center}"
        return s + ")"


class ColorJitter(_ModuleTransform):
    """Randomly change brightness, contrast, saturation and hue, in a random order.

    Each of ``brightness``, ``contrast``, ``saturation`` is a non-negative number b
    (factor drawn from [max(0, 1 - b), 1 + b]) or a (min, max) range; ``hue`` is h in
    [0, 0.5] (shift drawn from [-h, h]) or a range within [-0.5, 0.5].
    """

    def __init__(
        self,
        brightness: Any = 0,
        contrast: Any = 0,
        saturation: Any = 0,
        hue: Any = 0,
    ) -> None:
        super().__init__()
        self.brightness = self._check_input(brightness, "brightness")
        self.contrast = self._check_input(contrast, "contrast")
        self.saturation = self._check_input(saturation, "saturation")
        self.hue = self._check_input(
            hue, "hue", center=0, bound=(-0.5, 0.5), clip_first_on_zero=False
        )

    @staticmethod
    def _check_input(
        value: Any,
        name: str,
        center: float = 1,
        bound: tuple[float, float] = (0, float("inf")),
        clip_first_on_zero: bool = True,
    ) -> tuple[float, float] | None:
        if isinstance(value, numbers.Number):
            if value < 0:
                raise ValueError(f"If {name} is a single number, it must be non negative.")
            value = [center - float(value), center + float(value)]
            if clip_first_on_zero:
                value[0] = max(value[0], 0.0)
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            value = [float(value[0]), float(value[1])]
        else:
            raise TypeError(f"{name} should be a single number or a list/tuple with length 2.")
        if not bound[0] <= value[0] <= value[1] <= bound[1]:
            raise ValueError(f"{name} values should be between {bound}, but got {value}.")
        # A range that is one point means "no change": skip the transform entirely.
        if value[0] == value[1] == center:
            return None
        return tuple(value)

    @staticmethod
    def get_params(
        brightness: Sequence[float] | None,
        contrast: Sequence[float] | None,
        saturation: Sequence[float] | None,
        hue: Sequence[float] | None,
    ) -> tuple[Tensor, float | None, float | None, float | None, float | None]:
        """A random order of the four adjustments and a factor for each (None: skipped)."""
        order = rtorch.randperm(4)
        b = None if brightness is None else _uniform(brightness[0], brightness[1])
        c = None if contrast is None else _uniform(contrast[0], contrast[1])
        s = None if saturation is None else _uniform(saturation[0], saturation[1])
        h = None if hue is None else _uniform(hue[0], hue[1])
        return order, b, c, s, h

    def forward(self, img: Any) -> Any:
        order, b, c, s, h = self.get_params(
            self.brightness, self.contrast, self.saturation, self.hue
        )
        for fn_id in order.tolist():
            if fn_id == 0 and b is not None:
                img = F.adjust_brightness(img, b)
            elif fn_id == 1 and c is not None:
                img = F.adjust_contrast(img, c)
            elif fn_id == 2 and s is not None:
                img = F.adjust_saturation(img, s)
            elif fn_id == 3 and h is not None:
                img = F.adjust_hue(img, h)
        return img

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(brightness={self.brightness}, contrast={self.contrast}"
            f", saturation={self.saturation}, hue={self.hue})"
        )


class GaussianBlur(_ModuleTransform):
    """Blur with a Gaussian whose sigma is drawn uniformly from ``sigma`` = (min, max).

    Args:
        kernel_size: odd size, int or (kx, ky).
        sigma: a positive number (fixed) or a (min, max) range.
    """

    def __init__(
        self, kernel_size: int | Sequence[int], sigma: float | Sequence[float] = (0.1, 2.0)
    ) -> None:
        super().__init__()
        self.kernel_size = _setup_size(
            kernel_size, "Kernel size should be a tuple/list of two integers"
        )
        for ks in self.kernel_size:
            if ks <= 0 or ks % 2 == 0:
                raise ValueError("Kernel size value should be an odd and positive number.")
        if isinstance(sigma, numbers.Number):
            if sigma <= 0:
                raise ValueError("If sigma is a single number, it must be positive.")
            sigma = (float(sigma), float(sigma))
        elif isinstance(sigma, Sequence) and len(sigma) == 2:
            if not 0.0 < sigma[0] <= sigma[1]:
                raise ValueError("sigma values should be positive and of the form (min, max).")
        else:
            raise ValueError("sigma should be a single number or a list/tuple with length 2.")
        self.sigma = sigma

    @staticmethod
    def get_params(sigma_min: float, sigma_max: float) -> float:
        return _uniform(sigma_min, sigma_max)

    def forward(self, img: Any) -> Any:
        sigma = self.get_params(self.sigma[0], self.sigma[1])
        return F.gaussian_blur(img, self.kernel_size, [sigma, sigma])

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(kernel_size={self.kernel_size}, sigma={self.sigma})"


class Grayscale(_ModuleTransform):
    """Convert to greyscale with ``num_output_channels`` (1 or 3) channels."""

    def __init__(self, num_output_channels: int = 1) -> None:
        super().__init__()
        self.num_output_channels = num_output_channels

    def forward(self, img: Any) -> Any:
        return F.rgb_to_grayscale(img, num_output_channels=self.num_output_channels)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(num_output_channels={self.num_output_channels})"


class RandomGrayscale(_ModuleTransform):
    """Convert to greyscale (keeping the channel count) with probability ``p``."""

    def __init__(self, p: float = 0.1) -> None:
        super().__init__()
        self.p = p

    def forward(self, img: Any) -> Any:
        channels = F.get_dimensions(img)[0]
        if _coin(self.p):
            return F.rgb_to_grayscale(img, num_output_channels=channels)
        return img

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"


class RandomErasing(_ModuleTransform):
    """Erase a random rectangle of a tensor image with probability ``p``.

    Args:
        p: probability of erasing.
        scale: range of the erased area as a fraction of the image's.
        ratio: range of the rectangle's aspect ratio (sampled log-uniformly).
        value: fill value: a number, a per-channel sequence, or ``'random'`` (normal noise).
        inplace: erase in the input tensor.
    """

    def __init__(
        self,
        p: float = 0.5,
        scale: tuple[float, float] = (0.02, 0.33),
        ratio: tuple[float, float] = (0.3, 3.3),
        value: Any = 0,
        inplace: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError("Argument value should be either a number or str or a sequence")
        if isinstance(value, str) and value != "random":
            raise ValueError("If value is str, it should be 'random'")
        if not isinstance(scale, Sequence):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("Ratio should be a sequence")
        if (scale[0] > scale[1]) or (ratio[0] > ratio[1]):
            raise ValueError("Scale and ratio should be of kind (min, max)")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError("Scale should be between 0 and 1")
        if p < 0 or p > 1:
            raise ValueError("Random erasing probability should be between 0 and 1")
        self.p = p
        self.scale = scale
        self.ratio = ratio
        self.value = value
        self.inplace = inplace

    @staticmethod
    def get_params(
        img: Tensor,
        scale: Sequence[float],
        ratio: Sequence[float],
        value: list[float] | None = None,
    ) -> tuple[int, int, int, int, Tensor]:
        """``(top, left, h, w, fill)`` of the rectangle; the whole image if ten tries fail."""
        channels, height, width = img.shape[-3], img.shape[-2], img.shape[-1]
        area = height * width
        log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
        for _ in range(10):
            erase_area = area * _uniform(scale[0], scale[1])
            aspect = math.exp(_uniform(log_low, log_high))
            h = round(math.sqrt(erase_area * aspect))
            w = round(math.sqrt(erase_area / aspect))
            if not (h < height and w < width):
                continue
            if value is None:
                fill = rtorch.empty([channels, h, w], dtype=rtorch.float32).normal_()
            else:
                fill = rtorch.tensor(value)[:, None, None]
            return _randint(0, height - h + 1), _randint(0, width - w + 1), h, w, fill
        return 0, 0, height, width, img

    def forward(self, img: Tensor) -> Tensor:
        if not _coin(self.p):
            return img
        if isinstance(self.value, (int, float)):
            value = [float(self.value)]
        elif isinstance(self.value, str):
            value = None
        else:
            value = [float(v) for v in self.value]
        channels = img.shape[-3]
        if value is not None and len(value) not in (1, channels):
            raise ValueError(
                "If value is a sequence, it should have either a single value or "
                f"{channels} (number of input channels)"
            )
        x, y, h, w, v = self.get_params(img, self.scale, self.ratio, value)
        return F.erase(img, x, y, h, w, v, self.inplace)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(p={self.p}, scale={self.scale}, ratio={self.ratio}, "
            f"value={self.value}, inplace={self.inplace})"
        )
