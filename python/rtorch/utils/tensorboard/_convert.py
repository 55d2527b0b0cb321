"""Conversion of logged values to numpy arrays and of images to ``(H, W, C)`` layout."""

from __future__ import annotations

import math

import numpy as np

import rtorch


def make_np(x: object) -> np.ndarray:
    """``x`` (an rtorch tensor, a numpy array or a scalar) as a numpy array; a scalar
    becomes a one-element array, as in PyTorch."""
    if isinstance(x, np.ndarray):
        return x
    if np.isscalar(x):
        return np.array([x])
    if isinstance(x, rtorch.Tensor):
        if x.device.type == "meta":
            # PyTorch logs a random number for a meta tensor; we refuse instead of
            # logging a value that never existed.
            raise NotImplementedError("A meta tensor has no data to log to TensorBoard.")
        x = x.detach().cpu()
        if x.dtype == rtorch.bfloat16:
            # numpy has no bfloat16; float32 holds every bfloat16 value exactly
            # (PyTorch goes through float16, which can round or overflow).
            x = x.float()
        return x.numpy()
    raise NotImplementedError(f"Got {type(x)}, but numpy array or torch tensor are expected.")


def make_grid(images: np.ndarray, ncols: int = 8) -> np.ndarray:
    """A ``(N, C, H, W)`` batch (C 1 or 3) tiled row-major into one ``(3, H*rows,
    W*cols)`` image with at most ``ncols`` columns; unfilled tiles stay zero."""
    if not isinstance(images, np.ndarray):
        raise AssertionError("plugin error, should pass numpy array here")  # noqa: TRY004 (PyTorch's class)
    if images.ndim == 4 and images.shape[1] == 1:
        images = np.concatenate([images, images, images], 1)
    if images.ndim != 4 or images.shape[1] != 3:
        raise AssertionError("Input should be a 4D numpy array with 3 channels")
    n, _, h, w = images.shape
    ncols = min(n, ncols)
    nrows = math.ceil(n / ncols)  # no image: ZeroDivisionError, as PyTorch
    canvas = np.zeros((3, h * nrows, w * ncols), dtype=images.dtype)
    for i in range(n):
        row, col = divmod(i, ncols)
        canvas[:, row * h : (row + 1) * h, col * w : (col + 1) * w] = images[i]
    return canvas


def convert_to_hwc(array: np.ndarray, input_format: str) -> np.ndarray:
    """``array`` laid out as ``input_format`` (e.g. ``CHW``, ``HWC``, ``HW``, ``NCHW``)
    rearranged to ``(H, W, C)``: batches become a grid, one channel or none becomes
    three equal ones."""
    if len(set(input_format)) != len(input_format):
        raise AssertionError(
            f"You can not use the same dimension shorthand twice. input_format: {input_format}"
        )
    if array.ndim != len(input_format):
        raise AssertionError(
            "size of input tensor and input format are different. "
            f"tensor shape: {array.shape}, input_format: {input_format}"
        )
    input_format = input_format.upper()
    if len(input_format) == 4:
        grid = make_grid(array.transpose([input_format.find(c) for c in "NCHW"]))
        return grid.transpose(1, 2, 0)
    if len(input_format) == 3:
        hwc = array.transpose([input_format.find(c) for c in "HWC"])
        if hwc.shape[2] == 1:
            hwc = np.concatenate([hwc, hwc, hwc], 2)
        return hwc
    if len(input_format) == 2:
        hw = array.transpose([input_format.find(c) for c in "HW"])
        return np.stack([hw, hw, hw], 2)
    raise AssertionError(f"Unsupported image format {input_format!r}")


def figure_to_image(figures: object, close: bool = True) -> np.ndarray:
    """A matplotlib figure rendered to a ``(3, H, W)`` uint8 array, or a list of them
    to ``(N, 3, H, W)``.  Needs matplotlib (``ModuleNotFoundError`` otherwise)."""
    import matplotlib.pyplot as plt
    from matplotlib.backends import backend_agg

    def render(figure: object) -> np.ndarray:
        canvas = backend_agg.FigureCanvasAgg(figure)
        canvas.draw()
        rgba = np.frombuffer(canvas.buffer_rgba(), dtype=np.uint8)
        w, h = figure.canvas.get_width_height()
        chw = np.moveaxis(rgba.reshape(h, w, 4)[:, :, :3], 2, 0)
        if close:
            plt.close(figure)
        return chw

    if isinstance(figures, list):
        return np.stack([render(f) for f in figures])
    return render(figures)
