"""Minimal PNG encoder (8-bit grey+alpha, RGB or RGBA) built on zlib.

TensorBoard's image plugin wants PNG bytes; writing them here avoids requiring
Pillow for logging.  No filtering (filter type 0 on every scanline): simple, and
zlib still compresses the flat regions typical of plots and masks.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

# PNG colour types by channel count.
_COLOR_TYPE = {2: 4, 3: 2, 4: 6}
_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def encode_png(pixels: np.ndarray, compression_level: int = 6) -> bytes:
    """PNG bytes of a ``(H, W, C)`` uint8 array, ``C`` in {2, 3, 4}
    (grey+alpha, RGB, RGBA)."""
    if pixels.dtype != np.uint8 or pixels.ndim != 3:
        raise TypeError(
            f"encode_png expects an (H, W, C) uint8 array, got {pixels.dtype} {pixels.shape}"
        )
    height, width, channels = pixels.shape
    if channels not in _COLOR_TYPE:
        raise TypeError(
            f"Cannot encode an image with {channels} channels as PNG (2, 3 or 4 expected)"
        )
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPE[channels], 0, 0, 0)
    # Each scanline starts with its filter type byte (0: none).
    rows = np.zeros((height, 1 + width * channels), dtype=np.uint8)
    rows[:, 1:] = np.ascontiguousarray(pixels).reshape(height, width * channels)
    data = zlib.compress(rows.tobytes(), compression_level)
    return _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
