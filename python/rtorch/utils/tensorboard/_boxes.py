"""Bounding boxes drawn onto images for ``SummaryWriter.add_image_with_boxes``.

Drawing lines and text needs a rasterizer and a font, so this uses Pillow (an
rtorch dependency) the way PyTorch does, which keeps the pixels identical.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np


def _draw_box(image: object, box: Sequence[float], label: str | None, color: str = "Red") -> None:
    from PIL import ImageDraw, ImageFont

    left, top, right, bottom = (box[0], box[1], box[2], box[3])
    draw = ImageDraw.Draw(image)
    # A closed outline 2 pixels wide.
    corners = [(left, top), (left, bottom), (right, bottom), (right, top), (left, top)]
    draw.line(corners, width=2, fill=color)
    if label:
        # The label sits on a filled box just above the box's bottom edge.
        font = ImageFont.load_default()
        x0, y0, x1, y1 = font.getbbox(label)
        text_w, text_h = x1 - x0, y1 - y0
        margin = np.ceil(0.05 * text_h)
        draw.rectangle([(left, bottom - text_h - 2 * margin), (left + text_w, bottom)], fill=color)
        draw.text((left + margin, bottom - text_h - margin), label, fill="black", font=font)


def render_image(
    pixels: np.ndarray,
    rescale: float = 1,
    boxes: np.ndarray | None = None,
    labels: Sequence[str] | None = None,
) -> bytes:
    """PNG bytes of ``(H, W, C)`` uint8 ``pixels`` with ``boxes`` (``(N, 4)`` rows
    ``x1, y1, x2, y2``, optional ``labels``) drawn in red, resized by ``rescale``
    (Lanczos)."""
    from PIL import Image

    height, width, _ = pixels.shape
    image = Image.fromarray(pixels)
    if boxes is not None:
        for i in range(boxes.shape[0]):
            _draw_box(image, boxes[i], None if labels is None else labels[i])
    image = image.resize((int(width * rescale), int(height * rescale)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
