"""Functional image transforms, as ``torchvision.transforms.functional`` (v1).

Every function accepts a PIL image or a tensor image of shape (..., C, H, W) and returns
the same kind. PIL images are processed by Pillow; tensors by whole-tensor rtorch ops
(no Python loops over pixels). Pillow is imported only when a PIL image is handled.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from enum import Enum
from typing import Any

import numpy as np

import rtorch
from rtorch import Tensor

__all__ = [
    "InterpolationMode",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_gamma",
    "adjust_hue",
    "adjust_saturation",
    "center_crop",
    "convert_image_dtype",
    "crop",
    "erase",
    "get_dimensions",
    "get_image_num_channels",
    "get_image_size",
    "hflip",
    "normalize",
    "pad",
    "pil_to_tensor",
    "resize",
    "resized_crop",
    "rgb_to_grayscale",
    "rotate",
    "to_grayscale",
    "to_pil_image",
    "to_tensor",
    "vflip",
]


class InterpolationMode(Enum):
    """Interpolation modes, with torchvision's names and values."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


# Pillow's integer resampling constants, which torchvision still accepts.
_INT_TO_MODE = {
    0: InterpolationMode.NEAREST,
    2: InterpolationMode.BILINEAR,
    3: InterpolationMode.BICUBIC,
    4: InterpolationMode.BOX,
    5: InterpolationMode.HAMMING,
    1: InterpolationMode.LANCZOS,
}
_MODE_TO_PIL = {
    InterpolationMode.NEAREST: 0,
    InterpolationMode.NEAREST_EXACT: 0,
    InterpolationMode.BILINEAR: 2,
    InterpolationMode.BICUBIC: 3,
    InterpolationMode.BOX: 4,
    InterpolationMode.HAMMING: 5,
    InterpolationMode.LANCZOS: 1,
}


def _interpolation_mode(interpolation: Any) -> InterpolationMode:
    if isinstance(interpolation, InterpolationMode):
        return interpolation
    if isinstance(interpolation, int) and interpolation in _INT_TO_MODE:
        return _INT_TO_MODE[interpolation]
    if isinstance(interpolation, str):
        try:
            return InterpolationMode(interpolation)
        except ValueError:
            pass
    raise TypeError(
        "Argument interpolation should be a InterpolationMode or a corresponding "
        f"Pillow integer constant, got {interpolation!r}"
    )


# --- kinds of images ---------------------------------------------------------------------


_PIL_IMAGE_CLASS: Any = None


def _is_pil_image(img: Any) -> bool:
    global _PIL_IMAGE_CLASS
    # Tensors and arrays are answered without importing Pillow.
    if isinstance(img, (Tensor, np.ndarray)):
        return False
    if _PIL_IMAGE_CLASS is None:
        try:
            from PIL import Image
        except ImportError:  # pragma: no cover - pillow is a dependency
            return False
        _PIL_IMAGE_CLASS = Image.Image
    return isinstance(img, _PIL_IMAGE_CLASS)


def _shared_pixels(pic: Any) -> Tensor | None:
    """The uint8 (H, W) tensor a dataset built ``pic`` on, if its pixels are still those.

    The MNIST readers create read-only images sharing memory with ``dataset.data`` and
    tag them with ``(core image, data, index)``. Pillow replaces the core image before
    any write to a read-only image, so an unchanged core means unchanged pixels, and
    ``data[index]`` can be converted with two tensor ops instead of copying the pixels
    out of Pillow and through numpy.
    """
    tag = getattr(pic, "_rtorch_pixels", None)
    if tag is not None and tag[0] is getattr(pic, "_im", None):
        return tag[1].select(0, tag[2])
    return None


def _check_image(img: Any) -> None:
    if not isinstance(img, Tensor) and not _is_pil_image(img):
        raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")


def _assert_image_tensor(img: Tensor) -> None:
    if img.ndim < 2:
        raise TypeError("Tensor is not a torch image.")


def _pil_num_channels(img) -> int:
    return len(img.getbands())


def get_dimensions(img: Any) -> list[int]:
    """``[channels, height, width]`` of an image."""
    if isinstance(img, Tensor):
        _assert_image_tensor(img)
        channels = 1 if img.ndim == 2 else img.shape[-3]
        return [channels, img.shape[-2], img.shape[-1]]
    _check_image(img)
    width, height = img.size
    return [_pil_num_channels(img), height, width]


def get_image_size(img: Any) -> list[int]:
    """``[width, height]`` of an image."""
    _, height, width = get_dimensions(img)
    return [width, height]


def get_image_num_channels(img: Any) -> int:
    return get_dimensions(img)[0]


def _max_value(dtype: rtorch.dtype) -> int:
    if dtype == rtorch.bool:
        return 1
    if dtype.is_floating_point:
        return 1
    return rtorch.iinfo(dtype).max


_NUMPY_FLOAT = {rtorch.float32: np.float32, rtorch.float64: np.float64}


# --- conversions ---------------------------------------------------------------------------


def _pil_to_uint8_array(pic) -> np.ndarray:
    """The pixels of an 8-bit-per-band PIL image as a contiguous (H, W, C) uint8 array."""
    width, height = pic.size
    channels = _pil_num_channels(pic)
    # One copy out of Pillow and one reshape: the fastest route for small images.
    return np.frombuffer(pic.tobytes(), dtype=np.uint8).reshape(height, width, channels)


def _pil_to_array(pic) -> np.ndarray:
    """The pixels of any PIL image as an (H, W, C) array of its natural dtype."""
    if pic.mode == "1":
        return np.asarray(pic, dtype=np.uint8)[:, :, None] * np.uint8(255)
    if pic.mode in ("I", "I;16", "F"):
        dtype = {"I": np.int32, "I;16": np.int16, "F": np.float32}[pic.mode]
        array = np.array(pic)  # a writable copy, as torchvision's
        if pic.mode == "I;16":  # uint16 on disk; torchvision reinterprets as int16
            array = array.astype(np.uint16).view(np.int16)
        return np.ascontiguousarray(array, dtype=dtype)[:, :, None]
    return _pil_to_uint8_array(pic)


def to_tensor(pic: Any) -> Tensor:
    """A PIL image or numpy array (H, W, C) as a float tensor (C, H, W).

    uint8 pixels are scaled to [0, 1] (divided by 255) in the default float dtype; other
    dtypes are converted without scaling. Mode ``'1'`` images become 0/1.
    """
    shared = _shared_pixels(pic)
    if shared is not None:
        return shared.unsqueeze(0).to(rtorch.get_default_dtype()).div_(255)
    if isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        array = pic[:, :, None] if pic.ndim == 2 else pic
    elif _is_pil_image(pic):
        array = _pil_to_array(pic)
    else:
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if array.dtype == np.uint8:
        height, width, channels = array.shape
        out_dtype = _NUMPY_FLOAT.get(rtorch.get_default_dtype(), np.float32)
        out = np.empty((channels, height, width), dtype=out_dtype)
        # Division (not multiplication by 1/255) rounds exactly as torch's div(255).
        np.divide(array.transpose(2, 0, 1), out_dtype(255), out=out)
        result = rtorch.from_numpy(out)
        if out_dtype is np.float32 and rtorch.get_default_dtype() != rtorch.float32:
            result = result.to(rtorch.get_default_dtype())
        return result
    return rtorch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def pil_to_tensor(pic: Any) -> Tensor:
    """A PIL image as a tensor (C, H, W) of its own dtype (uint8 for 8-bit modes), unscaled."""
    if not _is_pil_image(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    shared = _shared_pixels(pic)
    if shared is not None:  # a copy: the tensor must not alias the dataset's memory
        return shared.unsqueeze(0).clone()
    array = _pil_to_array(pic)
    if pic.mode == "1":
        array = array // 255  # pil_to_tensor keeps the bit value, not 255
    # np.array copies: a writable tensor that does not alias Pillow's bytes.
    return rtorch.from_numpy(np.array(array.transpose(2, 0, 1)))


def to_pil_image(pic: Any, mode: str | None = None):
    """A tensor (C, H, W) or numpy array (H, W, C) as a PIL image.

    Float data in [0, 1] is scaled by 255 and truncated to uint8 (unless ``mode='F'``).
    With no ``mode``: 1 channel -> ``'L'`` (``'I;16'``, ``'I'``, ``'F'`` for int16, int32,
    float32 arrays), 2 -> ``'LA'``, 3 -> ``'RGB'``, 4 -> ``'RGBA'``.
    """
    from PIL import Image

    if isinstance(pic, Tensor):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        if pic.ndim == 2:
            pic = pic.unsqueeze(0)
        if pic.shape[-3] > 4:
            raise ValueError(f"pic should not have > 4 channels. Got {pic.shape[-3]} channels.")
        if pic.is_floating_point() and mode != "F":
            pic = pic.mul(255).byte()
        array = pic.permute(1, 2, 0).contiguous().numpy()
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        array = pic[:, :, None] if pic.ndim == 2 else pic
        if array.shape[-1] > 4:
            raise ValueError(f"pic should not have > 4 channels. Got {array.shape[-1]} channels.")
    else:
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")

    channels = array.shape[2]
    if channels == 1:
        array = array[:, :, 0]
        expected = {
            np.dtype(np.uint8): "L",
            np.dtype(np.int16): "I;16",
            np.dtype(np.int32): "I",
            np.dtype(np.float32): "F",
        }.get(array.dtype)
        if mode is not None and mode != expected and not (mode == "L" and expected is None):
            raise ValueError(
                f"Incorrect mode ({mode}) supplied for input type {array.dtype}. "
                f"Should be {expected}"
            )
        mode = mode or expected
        if mode is None:
            raise TypeError(f"Input type {array.dtype} is not supported")
        if mode == "I;16":
            array = array.astype(np.uint16)
    else:
        allowed = {2: ["LA"], 3: ["RGB", "YCbCr", "HSV"], 4: ["RGBA", "CMYK", "RGBX"]}[channels]
        if mode is not None and mode not in allowed:
            raise ValueError(f"Only modes {allowed} are supported for {channels}D inputs")
        mode = mode or allowed[0]
        if array.dtype != np.uint8:
            raise TypeError(f"Input type {array.dtype} is not supported")
    array = np.ascontiguousarray(array)
    height, width = array.shape[:2]
    if mode in ("L", "RGB", "RGBA", "LA", "YCbCr", "HSV", "CMYK", "RGBX"):
        return Image.frombytes(mode, (width, height), array.tobytes())
    return Image.fromarray(array, mode=mode) if mode != "I;16" else Image.fromarray(array)


def convert_image_dtype(image: Tensor, dtype: rtorch.dtype = rtorch.float32) -> Tensor:
    """Convert a tensor image to ``dtype``, rescaling values to the new type's range.

    Floats span [0, 1]; integers span [0, max of the type].
    """
    if not isinstance(image, Tensor):
        raise TypeError("Input img should be Tensor Image")
    if image.dtype == dtype:
        return image
    if image.is_floating_point():
        if dtype.is_floating_point:
            return image.to(dtype)
        if (image.dtype == rtorch.float32 and dtype in (rtorch.int32, rtorch.int64)) or (
            image.dtype == rtorch.float64 and dtype == rtorch.int64
        ):
            raise RuntimeError(
                f"The cast from {image.dtype} to {dtype} cannot be performed safely."
            )
        # Scale by max+1-eps so that 1.0 maps to max and the bins are equally wide.
        eps = 1e-3
        return image.mul(_max_value(dtype) + 1.0 - eps).to(dtype)
    input_max = _max_value(image.dtype)
    if dtype.is_floating_point:
        return image.to(dtype).div(input_max)
    output_max = _max_value(dtype)
    if input_max > output_max:
        factor = (input_max + 1) // (output_max + 1)
        return rtorch.div(image, factor, rounding_mode="floor").to(dtype)
    factor = (output_max + 1) // (input_max + 1)
    return image.to(dtype).mul(factor)


def _check_normalize_input(tensor: Any) -> None:
    """normalize's checks (shared with the Normalize transform): a float (..., C, H, W)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError(
            "Expected tensor to be a tensor image of size (..., C, H, W). Got "
            f"tensor.size() = {tensor.size()}"
        )


def normalize(
    tensor: Tensor, mean: Sequence[float], std: Sequence[float], inplace: bool = False
) -> Tensor:
    """``(tensor - mean) / std`` per channel of a float tensor image (..., C, H, W)."""
    _check_normalize_input(tensor)
    mean_t, std_t = _normalize_params(mean, std, tensor.dtype)
    if not inplace:
        tensor = tensor.clone()
    return tensor.sub_(mean_t).div_(std_t)


def _normalize_params(mean: Any, std: Any, dtype: rtorch.dtype) -> tuple[Tensor, Tensor]:
    """mean and std as (C, 1, 1) tensors of ``dtype``; refuses a zero std."""
    mean_t = rtorch.as_tensor(mean, dtype=dtype)
    std_t = rtorch.as_tensor(std, dtype=dtype)
    if bool((std_t == 0).any()):
        raise ValueError(
            f"std evaluated to zero after conversion to {dtype}, leading to division by zero."
        )
    if mean_t.ndim == 1:
        mean_t = mean_t.view(-1, 1, 1)
    if std_t.ndim == 1:
        std_t = std_t.view(-1, 1, 1)
    return mean_t, std_t


# --- geometry ------------------------------------------------------------------------------


def _resized_output_size(
    height: int, width: int, size: int | Sequence[int], max_size: int | None
) -> list[int]:
    """torchvision's rule: an int (or 1-sequence) sets the shorter side, keeping the ratio."""
    if isinstance(size, int) or len(size) == 1:
        requested = size if isinstance(size, int) else size[0]
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = requested, int(requested * long / short)
        if max_size is not None:
            if max_size <= requested:
                raise ValueError(
                    f"max_size = {max_size} must be strictly greater than the requested size "
                    f"for the smaller edge size = {size}"
                )
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
        return [new_h, new_w]
    if max_size is not None:
        raise ValueError(
            "max_size should only be passed if size specifies the length of the smaller edge, "
            "i.e. size should be an int or a sequence of length 1 in torchscript mode."
        )
    return [int(size[0]), int(size[1])]


def _cubic(x: np.ndarray, a: float) -> np.ndarray:
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def _resize_matrix(
    in_size: int, out_size: int, mode: InterpolationMode, antialias: bool
) -> np.ndarray:
    """The (out_size, in_size) float64 matrix M with ``out = M @ in`` along one axis.

    Linear and cubic resampling are separable, so a 2-D resize is two matrix products.
    With ``antialias`` the filter widens by the downscale factor (PIL's and torch's
    antialiased kernels); without it, taps outside the image are clamped to the border.
    """
    scale = in_size / out_size
    centers = scale * (np.arange(out_size) + 0.5)  # in input pixel units, edges at 0
    matrix = np.zeros((out_size, in_size))
    rows = np.arange(out_size)[:, None]
    if mode in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        if mode == InterpolationMode.NEAREST:
            src = np.floor(np.arange(out_size) * scale).astype(np.int64)
        else:
            src = np.floor(centers).astype(np.int64)
        matrix[np.arange(out_size), np.minimum(src, in_size - 1)] = 1.0
        return matrix
    if mode == InterpolationMode.BILINEAR:
        half_width, kernel = 1.0, (lambda x: np.maximum(0.0, 1.0 - np.abs(x)))
    elif mode == InterpolationMode.BICUBIC:
        a = -0.5 if antialias else -0.75
        half_width, kernel = 2.0, (lambda x: _cubic(x, a))
    else:
        raise NotImplementedError(
            f"resize of tensor images supports nearest, nearest-exact, bilinear and bicubic "
            f"interpolation, not {mode.value}; convert to a PIL image for {mode.value}"
        )
    if antialias:
        stretch = max(scale, 1.0)
        support = half_width * stretch
        first = np.maximum((centers - support + 0.5).astype(np.int64), 0)
        last = np.minimum((centers + support + 0.5).astype(np.int64), in_size)
        taps = first[:, None] + np.arange(math.ceil(support) * 2 + 1)[None, :]
        weights = kernel((taps - centers[:, None] + 0.5) / stretch)
        weights = np.where(taps < last[:, None], weights, 0.0)
        weights /= weights.sum(axis=1, keepdims=True)
        valid = taps < last[:, None]
        np.add.at(matrix, (np.broadcast_to(rows, taps.shape)[valid], taps[valid]), weights[valid])
        return matrix
    src = centers - 0.5
    if mode == InterpolationMode.BILINEAR:
        src = np.maximum(src, 0.0)
    base = np.floor(src).astype(np.int64)
    offsets = np.arange(-1, 3) if mode == InterpolationMode.BICUBIC else np.arange(0, 2)
    taps = base[:, None] + offsets[None, :]
    weights = kernel(taps - src[:, None])
    np.add.at(
        matrix,
        (np.broadcast_to(rows, taps.shape), np.clip(taps, 0, in_size - 1)),
        weights,
    )
    return matrix


def _resize_tensor(
    img: Tensor, height: int, width: int, mode: InterpolationMode, antialias: bool
) -> Tensor:
    in_h, in_w = img.shape[-2], img.shape[-1]
    if (in_h, in_w) == (height, width):
        return img
    if mode in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        # Nearest is a gather: index the rows and columns, exact for every dtype.
        rows = rtorch.from_numpy(_resize_matrix(in_h, height, mode, False).argmax(axis=1))
        cols = rtorch.from_numpy(_resize_matrix(in_w, width, mode, False).argmax(axis=1))
        return img.index_select(-2, rows).index_select(-1, cols)
    work_dtype = img.dtype if img.is_floating_point() else rtorch.float32
    np_dtype = np.float64 if work_dtype == rtorch.float64 else np.float32
    rows = rtorch.from_numpy(_resize_matrix(in_h, height, mode, antialias).astype(np_dtype))
    cols = rtorch.from_numpy(_resize_matrix(in_w, width, mode, antialias).T.astype(np_dtype))
    x = img.to(work_dtype)
    out = rtorch.matmul(rtorch.matmul(rows.to(work_dtype), x), cols.to(work_dtype))
    if not img.is_floating_point():
        # Integer images round to nearest and saturate, as torchvision's.
        bound = _max_value(img.dtype)
        out = out.round_().clamp_(0 if img.dtype == rtorch.uint8 else -bound - 1, bound)
        out = out.to(img.dtype)
    elif mode == InterpolationMode.BICUBIC and img.dtype == rtorch.uint8:
        out = out.clamp_(0, 255)
    return out


def resize(
    img: Any,
    size: int | Sequence[int],
    interpolation: Any = InterpolationMode.BILINEAR,
    max_size: int | None = None,
    antialias: bool | None = True,
) -> Any:
    """Resize to ``size``: (h, w), or an int giving the shorter side (ratio kept).

    PIL images use Pillow's resampling (always antialiased); tensors use separable
    linear/cubic weights (antialiased when ``antialias``) or nearest-neighbour gathers.
    """
    mode = _interpolation_mode(interpolation)
    if isinstance(size, (list, tuple)):
        if len(size) not in (1, 2):
            raise ValueError(
                f"Size must be an int or a 1 or 2 element tuple/list, not a {len(size)} "
                "element tuple/list"
            )
    elif not isinstance(size, int):
        raise TypeError(f"Size should be int or sequence. Got {type(size)}")
    _, height, width = get_dimensions(img)
    new_h, new_w = _resized_output_size(height, width, size, max_size)
    if (height, width) == (new_h, new_w):
        return img
    if isinstance(img, Tensor):
        return _resize_tensor(img, new_h, new_w, mode, bool(antialias))
    return img.resize((new_w, new_h), _MODE_TO_PIL[mode])


def _constant_padded(img: Tensor, left: int, top: int, right: int, bottom: int, fill) -> Tensor:
    height, width = img.shape[-2], img.shape[-1]
    shape = list(img.shape[:-2]) + [height + top + bottom, width + left + right]
    out = (
        rtorch.full(shape, fill, dtype=img.dtype) if fill else rtorch.zeros(shape, dtype=img.dtype)
    )
    out[..., top : top + height, left : left + width] = img
    return out


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """The region ``[top, top + height) x [left, left + width)``; outside pixels are 0."""
    if not isinstance(img, Tensor):
        _check_image(img)
        return img.crop((left, top, left + width, top + height))
    _assert_image_tensor(img)
    in_h, in_w = img.shape[-2], img.shape[-1]
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > in_w or bottom > in_h:
        inner = img[..., max(top, 0) : min(bottom, in_h), max(left, 0) : min(right, in_w)]
        pad_l, pad_t = max(-left, 0), max(-top, 0)
        pad_r, pad_b = max(right - in_w, 0), max(bottom - in_h, 0)
        return _constant_padded(inner, pad_l, pad_t, pad_r, pad_b, 0)
    return img[..., top:bottom, left:right]


def center_crop(img: Any, output_size: int | Sequence[int]) -> Any:
    """The central ``output_size`` region (int -> square); pads with 0 if the image is smaller."""
    if isinstance(output_size, numbers.Number):
        output_size = (int(output_size), int(output_size))
    elif isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        output_size = (output_size[0], output_size[0])
    _, height, width = get_dimensions(img)
    crop_h, crop_w = output_size
    if crop_w > width or crop_h > height:
        padding = [
            (crop_w - width) // 2 if crop_w > width else 0,
            (crop_h - height) // 2 if crop_h > height else 0,
            (crop_w - width + 1) // 2 if crop_w > width else 0,
            (crop_h - height + 1) // 2 if crop_h > height else 0,
        ]
        img = pad(img, padding, fill=0)
        _, height, width = get_dimensions(img)
        if crop_w == width and crop_h == height:
            return img
    top = round((height - crop_h) / 2.0)
    left = round((width - crop_w) / 2.0)
    return crop(img, top, left, crop_h, crop_w)


def resized_crop(
    img: Any,
    top: int,
    left: int,
    height: int,
    width: int,
    size: Sequence[int],
    interpolation: Any = InterpolationMode.BILINEAR,
    antialias: bool | None = True,
) -> Any:
    """``crop`` then ``resize`` to ``size``."""
    img = crop(img, top, left, height, width)
    return resize(img, size, interpolation, antialias=antialias)


def _flip(img: Any, dim: int, pil_method: str) -> Any:
    if isinstance(img, Tensor):
        _assert_image_tensor(img)
        return img.flip(dim)
    _check_image(img)
    from PIL import Image

    return img.transpose(Image.Transpose[pil_method])


def hflip(img: Any) -> Any:
    """Mirror left-right."""
    return _flip(img, -1, "FLIP_LEFT_RIGHT")


def vflip(img: Any) -> Any:
    """Mirror top-bottom."""
    return _flip(img, -2, "FLIP_TOP_BOTTOM")


def _parse_padding(padding: Any) -> list[int]:
    """``padding`` as [left, top, right, bottom]."""
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if isinstance(padding, numbers.Number):
        return [int(padding)] * 4
    if len(padding) not in (1, 2, 4):
        raise ValueError(
            "Padding must be an int or a 1, 2, or 4 element tuple, not a "
            f"{len(padding)} element tuple"
        )
    if len(padding) == 1:
        return [int(padding[0])] * 4
    if len(padding) == 2:
        return [int(padding[0]), int(padding[1])] * 2
    return [int(p) for p in padding]


def _pad_indices(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """Source indices along one axis for edge/reflect/symmetric padding."""
    positions = np.arange(-before, size + after)
    if mode == "edge":
        return np.clip(positions, 0, size - 1)
    if mode == "reflect":
        if before >= size or after >= size:
            raise ValueError(
                "Padding size should be less than the corresponding input dimension, but got: "
                f"padding ({before}, {after}) at dimension of size {size}"
            )
        period = 2 * size - 2 if size > 1 else 1
        folded = np.mod(positions, period)
        return np.where(folded >= size, period - folded, folded)
    period = 2 * size  # symmetric: the edge pixel is repeated
    folded = np.mod(positions, period)
    return np.where(folded >= size, period - 1 - folded, folded)


def pad(img: Any, padding: Any, fill: Any = 0, padding_mode: str = "constant") -> Any:
    """Pad the borders: ``padding`` is an int, (left/right, top/bottom) or (l, t, r, b).

    ``padding_mode``: ``constant`` (with ``fill``), ``edge``, ``reflect`` (mirror without
    the edge pixel) or ``symmetric`` (mirror with it). Negative padding crops tensors.
    """
    if not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg")
    if not isinstance(padding_mode, str):
        raise TypeError("Got inappropriate padding_mode arg")
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    left, top, right, bottom = _parse_padding(padding)
    if isinstance(img, Tensor):
        return _pad_tensor(img, left, top, right, bottom, fill, padding_mode)
    _check_image(img)
    return _pad_pil(img, left, top, right, bottom, fill, padding_mode)


def _pad_tensor(img: Tensor, left, top, right, bottom, fill, padding_mode) -> Tensor:
    _assert_image_tensor(img)
    # Negative padding crops first, so that only non-negative padding remains.
    height, width = img.shape[-2], img.shape[-1]
    img = img[..., max(-top, 0) : height - max(-bottom, 0), max(-left, 0) : width - max(-right, 0)]
    left, top, right, bottom = (max(p, 0) for p in (left, top, right, bottom))
    if padding_mode == "constant":
        if isinstance(fill, (tuple, list)):
            if len(fill) != 1:
                raise TypeError("Only int or float fill is supported for tensor images")
            fill = fill[0]
        return _constant_padded(img, left, top, right, bottom, fill)
    height, width = img.shape[-2], img.shape[-1]
    rows = rtorch.from_numpy(_pad_indices(height, top, bottom, padding_mode))
    cols = rtorch.from_numpy(_pad_indices(width, left, right, padding_mode))
    return img.index_select(-2, rows).index_select(-1, cols)


def _pil_fill(fill: Any, img) -> Any:
    """A fill value in the form Pillow wants: one number per band (a tuple for several)."""
    if fill is None:
        return None
    bands = len(img.getbands())
    if isinstance(fill, (tuple, list)):
        if len(fill) == 1:
            fill = fill[0]
        elif len(fill) != bands:
            raise ValueError(
                f"The number of elements in 'fill' does not match the number of channels of "
                f"the image ({len(fill)} != {bands})"
            )
        else:
            return tuple(int(f) if img.mode != "F" else float(f) for f in fill)
    fill = float(fill) if img.mode == "F" else int(fill)
    return fill if bands == 1 else (fill,) * bands


def _pad_pil(img, left, top, right, bottom, fill, padding_mode):
    from PIL import Image

    if padding_mode == "constant":
        fill = _pil_fill(fill, img)
        width, height = img.size
        out = Image.new(img.mode, (width + left + right, height + top + bottom), fill)
        if img.mode == "P":
            out.putpalette(img.getpalette())
        out.paste(img, (left, top))
        return out
    array = np.asarray(img)
    height, width = array.shape[:2]
    rows = _pad_indices(height, max(top, 0), max(bottom, 0), padding_mode)
    cols = _pad_indices(width, max(left, 0), max(right, 0), padding_mode)
    array = array[rows][:, cols]
    array = array[max(-top, 0) : array.shape[0] - max(-bottom, 0)]
    array = array[:, max(-left, 0) : array.shape[1] - max(-right, 0)]
    out = Image.fromarray(np.ascontiguousarray(array), mode=None)
    if img.mode == "P":
        out.putpalette(img.getpalette())
    return out


def _inverse_affine_matrix(
    center: Sequence[float],
    angle: float,
    translate: Sequence[float],
    scale: float,
    shear: Sequence[float],
) -> np.ndarray:
    """The 2x3 map from output to source points of the affine transform
    ``T(translate) C RSS C^-1`` (C: about ``center``; R: rotation by ``angle`` degrees,
    clockwise on screen; S: ``scale``; shear ``(sx, sy)`` in degrees), i.e. its inverse
    ``C RSS^-1 C^-1 T^-1``, as torchvision defines it."""
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    # RSS without scale, then its inverse (closed form of a 2x2 inverse).
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = np.array([[d, -b, 0.0], [-c, a, 0.0]]) / scale
    m[0, 2] = m[0, 0] * (-cx - tx) + m[0, 1] * (-cy - ty) + cx
    m[1, 2] = m[1, 0] * (-cx - tx) + m[1, 1] * (-cy - ty) + cy
    return m


def _rotation_output_size(width: int, height: int, matrix: np.ndarray) -> tuple[int, int]:
    """Bounding size of the rotated image, with torchvision's 1e-4 tolerance on the corners."""
    corners = np.array(
        [
            [-0.5 * width, -0.5 * height, 1.0],
            [-0.5 * width, 0.5 * height, 1.0],
            [0.5 * width, 0.5 * height, 1.0],
            [0.5 * width, -0.5 * height, 1.0],
        ],
        dtype=np.float32,
    )
    moved = corners @ matrix.astype(np.float32).T
    shift = np.array([width * 0.5, height * 0.5], dtype=np.float32)
    tol = np.float32(1e-4)
    high = np.ceil(np.trunc((moved.max(axis=0) + shift) / tol) * tol)
    low = np.floor(np.trunc((moved.min(axis=0) + shift) / tol) * tol)
    size = high - low
    return int(size[0]), int(size[1])


def _rotation_sources(
    matrix: np.ndarray, width: int, height: int, out_w: int, out_h: int, dtype: type
) -> tuple[np.ndarray, np.ndarray]:
    """Source (x, y) pixel coordinates of every output pixel, flattened row-major.

    Computed in the image's float precision in the same order as torch's affine grid and
    grid_sample, so that nearest-neighbour ties (common at 30, 45, 90 degrees) round
    the same way.
    """
    one = dtype(1)
    xs = np.linspace(-out_w * 0.5 + 0.5, out_w * 0.5 - 0.5, out_w, dtype=dtype)
    ys = np.linspace(-out_h * 0.5 + 0.5, out_h * 0.5 - 0.5, out_h, dtype=dtype)
    base_x = np.broadcast_to(xs[None, :], (out_h, out_w)).ravel()
    base_y = np.broadcast_to(ys[:, None], (out_h, out_w)).ravel()
    theta = matrix.astype(dtype)
    half = np.array([0.5 * width, 0.5 * height], dtype=dtype)
    scaled = theta / half[:, None]  # normalised grid coordinates in [-1, 1]
    grid_x = base_x * scaled[0, 0] + base_y * scaled[0, 1] + scaled[0, 2]
    grid_y = base_x * scaled[1, 0] + base_y * scaled[1, 1] + scaled[1, 2]
    src_x = ((grid_x + one) * dtype(width) - one) / dtype(2)
    src_y = ((grid_y + one) * dtype(height) - one) / dtype(2)
    return src_x.astype(np.float64), src_y.astype(np.float64)


def rotate(
    img: Any,
    angle: float,
    interpolation: Any = InterpolationMode.NEAREST,
    expand: bool = False,
    center: Sequence[int] | None = None,
    fill: float | Sequence[float] | None = None,
) -> Any:
    """Rotate by ``angle`` degrees counter-clockwise about ``center`` (default: the middle).

    ``expand`` grows the output to hold the whole rotated image; uncovered pixels get
    ``fill`` (0 by default).
    """
    mode = _interpolation_mode(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    if not isinstance(img, Tensor):
        _check_image(img)
        fill = _pil_fill(fill, img)
        return img.rotate(
            angle, resample=_MODE_TO_PIL[mode], expand=expand, center=center, fillcolor=fill
        )
    return _rotate_tensor(img, float(angle), mode, expand, center, fill)


def _rotate_tensor(img: Tensor, angle, mode, expand, center, fill) -> Tensor:
    _assert_image_tensor(img)
    height, width = img.shape[-2], img.shape[-1]
    offset = (0.0, 0.0)
    if center is not None:
        offset = (center[0] - width * 0.5, center[1] - height * 0.5)
    matrix = _inverse_affine_matrix(offset, -angle, (0.0, 0.0), 1.0, (0.0, 0.0))
    out_w, out_h = _rotation_output_size(width, height, matrix) if expand else (width, height)
    return _warp_tensor(img, matrix, mode, fill, out_w, out_h)


def _warp_tensor(img: Tensor, matrix: np.ndarray, mode, fill, out_w: int, out_h: int) -> Tensor:
    """Sample ``img`` at ``matrix`` (output -> source, centred coordinates) for every output
    pixel: nearest or bilinear, zero outside unless ``fill`` is given (torch's grid_sample
    with align_corners=False, as torchvision's tensor rotate/affine)."""
    _assert_image_tensor(img)
    if mode not in (InterpolationMode.NEAREST, InterpolationMode.BILINEAR):
        raise ValueError(f"Interpolation mode '{mode.value}' is unsupported with Tensor input")
    height, width = img.shape[-2], img.shape[-1]
    grid_dtype = np.float64 if img.dtype == rtorch.float64 else np.float32
    src_x, src_y = _rotation_sources(matrix, width, height, out_w, out_h, grid_dtype)
    flat = img.reshape(list(img.shape[:-2]) + [height * width])
    work_dtype = img.dtype if img.is_floating_point() else rtorch.float32
    if mode == InterpolationMode.NEAREST:
        col, row = np.rint(src_x).astype(np.int64), np.rint(src_y).astype(np.int64)
        taps = [(row, col, np.ones_like(src_x))]
    else:
        x0, y0 = np.floor(src_x).astype(np.int64), np.floor(src_y).astype(np.int64)
        fx, fy = src_x - x0, src_y - y0
        taps = [
            (y0, x0, (1 - fx) * (1 - fy)),
            (y0, x0 + 1, fx * (1 - fy)),
            (y0 + 1, x0, (1 - fx) * fy),
            (y0 + 1, x0 + 1, fx * fy),
        ]
    out = None
    coverage = np.zeros(out_h * out_w)
    for row, col, weight in taps:
        inside = (row >= 0) & (row < height) & (col >= 0) & (col < width)
        weight = np.where(inside, weight, 0.0)
        coverage += weight
        index = rtorch.from_numpy(np.where(inside, row * width + col, 0))
        w = rtorch.from_numpy(weight.astype(np.float64)).to(work_dtype)
        term = flat.index_select(-1, index).to(work_dtype) * w
        out = term if out is None else out + term
    if fill is not None:
        fill_t = rtorch.as_tensor(fill, dtype=work_dtype)
        fill_t = fill_t.view(-1, 1) if fill_t.ndim == 1 else fill_t
        cover_t = rtorch.from_numpy(coverage).to(work_dtype)
        if mode == InterpolationMode.NEAREST:
            out = rtorch.where(cover_t < 0.5, fill_t, out)
        else:
            out = out * cover_t + (1.0 - cover_t) * fill_t
    out = out.reshape(list(img.shape[:-2]) + [out_h, out_w])
    if not img.is_floating_point():
        out = out.round_() if mode != InterpolationMode.NEAREST else out
        out = out.to(img.dtype)
    return out


def affine(
    img: Any,
    angle: float,
    translate: Sequence[int],
    scale: float,
    shear: float | Sequence[float],
    interpolation: Any = InterpolationMode.NEAREST,
    fill: float | Sequence[float] | None = None,
    center: Sequence[int] | None = None,
) -> Any:
    """Affine transform keeping the image centre fixed (or ``center``): rotate by ``angle``
    degrees clockwise, scale, shear by ``shear`` degrees (a number shears along x; a pair
    is (x, y)), then translate by ``translate`` pixels. Uncovered pixels get ``fill``."""
    mode = _interpolation_mode(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if not isinstance(translate, (list, tuple)):
        raise TypeError("Argument translate should be a sequence")
    if len(translate) != 2:
        raise ValueError("Argument translate should be a sequence of length 2")
    if scale <= 0.0:
        raise ValueError("Argument scale should be positive")
    if not isinstance(shear, (numbers.Number, list, tuple)):
        raise TypeError("Shear should be either a single value or a sequence of two values")
    if isinstance(shear, numbers.Number):
        shear = [float(shear), 0.0]
    elif len(shear) == 1:
        shear = [float(shear[0]), float(shear[0])]
    elif len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    _, height, width = get_dimensions(img)
    if not isinstance(img, Tensor):
        # PIL: centre without the half-pixel offset, as torchvision (matches rot90 exactly).
        pil_center = [width * 0.5, height * 0.5] if center is None else center
        matrix = _inverse_affine_matrix(pil_center, angle, translate, scale, shear)
        from PIL import Image

        return img.transform(
            img.size,
            Image.Transform.AFFINE,
            tuple(matrix.ravel()),
            _MODE_TO_PIL[mode],
            fillcolor=_pil_fill(fill, img),
        )
    offset = [0.0, 0.0]
    if center is not None:
        offset = [center[0] - width * 0.5, center[1] - height * 0.5]
    matrix = _inverse_affine_matrix(offset, angle, [float(t) for t in translate], scale, shear)
    return _warp_tensor(img, matrix, mode, fill, width, height)


def _gaussian_kernel1d(kernel_size: int, sigma: float) -> np.ndarray:
    half = (kernel_size - 1) * 0.5
    x = np.linspace(-half, half, kernel_size, dtype=np.float32)
    pdf = np.exp(np.float32(-0.5) * (x / np.float32(sigma)) ** 2)
    return pdf / pdf.sum()


def _blur_matrix(size: int, kernel: np.ndarray) -> np.ndarray:
    """(size, size + k - 1) band matrix: row i applies ``kernel`` at padded offset i."""
    k = len(kernel)
    matrix = np.zeros((size, size + k - 1), dtype=kernel.dtype)
    rows = np.arange(size)[:, None]
    matrix[rows, rows + np.arange(k)[None, :]] = kernel
    return matrix


def gaussian_blur(
    img: Any, kernel_size: int | Sequence[int], sigma: float | Sequence[float] | None = None
) -> Any:
    """Gaussian blur with ``kernel_size`` = (kx, ky) (odd) and ``sigma`` = (sx, sy), reflect
    padding at the borders (default sigma: ``0.3 * ((k - 1) * 0.5 - 1) + 0.8``, written
    ``k * 0.15 + 0.35``). PIL images are blurred as uint8 tensors and converted back."""
    if not isinstance(kernel_size, (int, list, tuple)):
        raise TypeError(
            f"kernel_size should be int or a sequence of integers. Got {type(kernel_size)}"
        )
    if isinstance(kernel_size, int):
        kernel_size = [kernel_size, kernel_size]
    if len(kernel_size) != 2:
        raise ValueError(
            f"If kernel_size is a sequence its length should be 2. Got {len(kernel_size)}"
        )
    for k in kernel_size:
        if k % 2 == 0 or k < 0:
            raise ValueError(
                f"kernel_size should have odd and positive integers. Got {kernel_size}"
            )
    if sigma is None:
        sigma = [k * 0.15 + 0.35 for k in kernel_size]
    if not isinstance(sigma, (int, float, list, tuple)):
        raise TypeError(f"sigma should be either float or sequence of floats. Got {type(sigma)}")
    if isinstance(sigma, (int, float)):
        sigma = [float(sigma), float(sigma)]
    if isinstance(sigma, (list, tuple)) and len(sigma) == 1:
        sigma = [float(sigma[0]), float(sigma[0])]
    if len(sigma) != 2:
        raise ValueError(f"If sigma is a sequence, its length should be 2. Got {len(sigma)}")
    for s in sigma:
        if s <= 0.0:
            raise ValueError(f"sigma should have positive values. Got {sigma}")
    if not isinstance(img, Tensor):
        _check_image(img)
        blurred = gaussian_blur(pil_to_tensor(img), kernel_size, sigma)
        return to_pil_image(blurred, mode=img.mode)
    _assert_image_tensor(img)
    kx, ky = kernel_size
    padded = pad(img, [kx // 2, ky // 2], padding_mode="reflect")
    work_dtype = img.dtype if img.is_floating_point() else rtorch.float32
    # The 2-D kernel is an outer product: blur rows and columns with two band matrices.
    rows = _blur_matrix(img.shape[-2], _gaussian_kernel1d(ky, sigma[1]))
    cols = _blur_matrix(img.shape[-1], _gaussian_kernel1d(kx, sigma[0])).T
    rows_t = rtorch.from_numpy(rows).to(work_dtype)
    cols_t = rtorch.from_numpy(np.ascontiguousarray(cols)).to(work_dtype)
    out = rtorch.matmul(rtorch.matmul(rows_t, padded.to(work_dtype)), cols_t)
    if not img.is_floating_point():
        out = out.round_().clamp_(0, _max_value(img.dtype)).to(img.dtype)
    return out


# --- colour --------------------------------------------------------------------------------


def _blend(img1: Tensor, img2: Tensor, ratio: float) -> Tensor:
    bound = _max_value(img1.dtype)
    return (ratio * img1 + (1.0 - ratio) * img2).clamp(0, bound).to(img1.dtype)


def _pil_enhance(img, enhancer_name: str, factor: float):
    from PIL import ImageEnhance

    return getattr(ImageEnhance, enhancer_name)(img).enhance(factor)


def _check_factor(name: str, factor: float) -> None:
    if factor < 0:
        raise ValueError(f"{name} ({factor}) is not non-negative.")


def _check_channels(img: Tensor, permitted: Sequence[int]) -> int:
    channels = get_dimensions(img)[0]
    if channels not in permitted:
        raise TypeError(
            f"Input image tensor permitted channel values are {list(permitted)}, "
            f"but found {channels}"
        )
    return channels


def rgb_to_grayscale(img: Any, num_output_channels: int = 1) -> Any:
    """Luma ``0.2989 R + 0.587 G + 0.114 B``, repeated to ``num_output_channels`` (1 or 3)."""
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    if not isinstance(img, Tensor):
        _check_image(img)
        gray = img.convert("L")
        if num_output_channels == 3:
            from PIL import Image

            gray = Image.merge("RGB", [gray, gray, gray])
        return gray
    _assert_image_tensor(img)
    if _check_channels(img, [1, 3]) == 3:
        r, g, b = img.unbind(dim=-3)
        gray = (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype).unsqueeze(dim=-3)
    else:
        gray = img.clone()
    if num_output_channels == 3:
        return gray.expand(img.shape)
    return gray


def to_grayscale(img: Any, num_output_channels: int = 1) -> Any:
    return rgb_to_grayscale(img, num_output_channels)


def adjust_brightness(img: Any, brightness_factor: float) -> Any:
    """Multiply intensities by ``brightness_factor`` (0 black, 1 unchanged), clamped."""
    _check_factor("brightness_factor", brightness_factor)
    if not isinstance(img, Tensor):
        _check_image(img)
        return _pil_enhance(img, "Brightness", brightness_factor)
    _assert_image_tensor(img)
    _check_channels(img, [1, 3])
    return _blend(img, rtorch.zeros_like(img), brightness_factor)


def adjust_contrast(img: Any, contrast_factor: float) -> Any:
    """Blend with the mean grey level: 0 gives a flat grey image, 1 the original."""
    _check_factor("contrast_factor", contrast_factor)
    if not isinstance(img, Tensor):
        _check_image(img)
        return _pil_enhance(img, "Contrast", contrast_factor)
    _assert_image_tensor(img)
    channels = _check_channels(img, [1, 3])
    dtype = img.dtype if img.is_floating_point() else rtorch.float32
    gray = rgb_to_grayscale(img) if channels == 3 else img
    mean = gray.to(dtype).mean(dim=(-3, -2, -1), keepdim=True)
    return _blend(img, mean, contrast_factor)


def adjust_saturation(img: Any, saturation_factor: float) -> Any:
    """Blend with the grey image: 0 is greyscale, 1 the original, 2 doubled saturation."""
    _check_factor("saturation_factor", saturation_factor)
    if not isinstance(img, Tensor):
        _check_image(img)
        return _pil_enhance(img, "Color", saturation_factor)
    _assert_image_tensor(img)
    if _check_channels(img, [1, 3]) == 1:
        return img
    return _blend(img, rgb_to_grayscale(img), saturation_factor)


def _rgb_to_hsv(img: Tensor) -> Tensor:
    r, g, b = img.unbind(dim=-3)
    maxc = img.amax(dim=-3)
    minc = img.amin(dim=-3)
    chroma = maxc - minc
    flat = maxc == minc
    ones = rtorch.ones_like(maxc)
    saturation = chroma / rtorch.where(flat, ones, maxc)
    safe_chroma = rtorch.where(flat, ones, chroma)
    rc, gc, bc = (maxc - r) / safe_chroma, (maxc - g) / safe_chroma, (maxc - b) / safe_chroma
    is_r = maxc == r
    is_g = (maxc == g) & ~is_r
    hue = rtorch.where(is_r, bc - gc, rtorch.where(is_g, 2.0 + rc - bc, 4.0 + gc - rc))
    hue = rtorch.where(flat, rtorch.zeros_like(hue), hue)
    hue = rtorch.fmod(hue / 6.0 + 1.0, 1.0)
    return rtorch.stack((hue, saturation, maxc), dim=-3)


def _hsv_to_rgb(img: Tensor) -> Tensor:
    h, s, v = img.unbind(dim=-3)
    sector = rtorch.floor(h * 6.0)
    frac = h * 6.0 - sector
    sector = sector.to(rtorch.int32) % 6
    p = (v * (1.0 - s)).clamp(0.0, 1.0)
    q = (v * (1.0 - s * frac)).clamp(0.0, 1.0)
    t = (v * (1.0 - s * (1.0 - frac))).clamp(0.0, 1.0)
    # (r, g, b) per hue sector 0..5.
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    channels = []
    for c in range(3):
        value = table[5][c]
        for k in range(4, -1, -1):
            value = rtorch.where(sector == k, table[k][c], value)
        channels.append(value)
    return rtorch.stack(channels, dim=-3)


def adjust_hue(img: Any, hue_factor: float) -> Any:
    """Rotate the hue by ``hue_factor`` turns, in [-0.5, 0.5]."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if not isinstance(img, Tensor):
        _check_image(img)
        from PIL import Image

        if img.mode in {"L", "1", "I", "F"}:
            return img
        mode = img.mode
        h, s, v = img.convert("HSV").split()
        shifted = np.asarray(h, dtype=np.uint8) + np.uint8(int(hue_factor * 255) % 256)
        h = Image.fromarray(shifted.astype(np.uint8), "L")
        return Image.merge("HSV", (h, s, v)).convert(mode)
    _assert_image_tensor(img)
    if _check_channels(img, [1, 3]) == 1:
        return img
    dtype = img.dtype
    x = convert_image_dtype(img, rtorch.float32)
    hsv = _rgb_to_hsv(x)
    h, s, v = hsv.unbind(dim=-3)
    h = (h + hue_factor) % 1.0
    rgb = _hsv_to_rgb(rtorch.stack((h, s, v), dim=-3))
    return convert_image_dtype(rgb, dtype)


def adjust_gamma(img: Any, gamma: float, gain: float = 1.0) -> Any:
    """``gain * img ** gamma`` on intensities scaled to [0, 1]."""
    if gamma < 0:
        raise ValueError("Gamma should be a non-negative real number")
    if not isinstance(img, Tensor):
        _check_image(img)

        mode = img.mode
        # torchvision's table: scale by 256 - 1e-3 and truncate.
        table = [int((255 + 1 - 1e-3) * gain * pow(i / 255.0, gamma)) for i in range(256)]
        return img.convert("RGB").point([min(v, 255) for v in table] * 3).convert(mode)
    dtype = img.dtype
    x = img if img.is_floating_point() else convert_image_dtype(img, rtorch.float32)
    out = (gain * x.pow(gamma)).clamp(0, 1)
    return convert_image_dtype(out, dtype)


def erase(img: Tensor, i: int, j: int, h: int, w: int, v: Any, inplace: bool = False) -> Tensor:
    """Set ``img[..., i:i+h, j:j+w] = v`` (tensor images only)."""
    if not isinstance(img, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(img)}")
    if not inplace:
        img = img.clone()
    img[..., i : i + h, j : j + w] = v
    return img
