"""Videos for ``SummaryWriter.add_video``: a ``(B, T, C, H, W)`` batch tiled into one
grid per frame and encoded as an animated GIF.

PyTorch encodes with moviepy (and logs nothing without it); here Pillow, an rtorch
dependency, writes the GIF, so the frames match but the GIF bytes differ.
"""

from __future__ import annotations

import io

import numpy as np


def video_grid(video: np.ndarray) -> np.ndarray:
    """``(B, T, C, H, W)`` as ``(T, rows*H, cols*W, C)`` float frames: the batch
    padded with black videos to a power of two and tiled in a grid with
    ``rows = 2 ** ((bits(B) - 1) // 2)``; uint8 input is scaled to [0, 1]."""
    b, t, c, h, w = video.shape
    if video.dtype == np.uint8:
        video = np.float32(video) / 255.0
    if b & (b - 1):
        padding = (1 << b.bit_length()) - b
        video = np.concatenate([video, np.zeros((padding, t, c, h, w))], axis=0)
    rows = 2 ** ((b.bit_length() - 1) // 2)
    cols = video.shape[0] // rows
    grid = video.reshape(rows, cols, t, c, h, w).transpose(2, 0, 4, 1, 5, 3)
    return grid.reshape(t, rows * h, cols * w, c)


def encode_gif(frames: np.ndarray, fps: float) -> bytes:
    """An endlessly looping GIF of ``(T, H, W, C)`` uint8 frames (C 1, 3 or 4)."""
    from PIL import Image

    if frames.shape[-1] == 1:
        frames = frames[..., 0]
    images = [Image.fromarray(np.ascontiguousarray(f)) for f in frames]
    out = io.BytesIO()
    images[0].save(
        out,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=round(1000 / fps),
        loop=0,
    )
    return out.getvalue()
