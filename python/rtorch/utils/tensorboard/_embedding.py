"""Files of TensorBoard's embedding projector: ``tensors.tsv``, ``metadata.tsv``,
``sprite.png`` in ``<log_dir>/<step:05d>/<tag>/`` and the run's
``projector_config.pbtxt`` (protobuf text format) listing every embedding."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._convert import make_grid, make_np
from ._png import encode_png


@dataclass
class EmbeddingInfo:
    """One ``embeddings { ... }`` entry of the projector config."""

    tensor_name: str
    tensor_path: str
    metadata_path: str | None = None
    sprite_path: str | None = None
    sprite_dim: tuple[int, int] | None = None  # (width, height) of one image


def encode_tag(tag: str) -> str:
    """``tag`` usable as one directory name: ``%``, ``/`` and ``\\`` percent-escaped."""
    return tag.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")


def write_tensors(mat: np.ndarray, save_path: str) -> None:
    """One row per data point, values tab-separated as Python floats/ints print."""
    with open(os.path.join(save_path, "tensors.tsv"), "wb") as f:
        f.writelines(("\t".join(str(x.item()) for x in row) + "\n").encode("utf-8") for row in mat)


def write_metadata(
    metadata: Sequence, save_path: str, metadata_header: Sequence | None = None
) -> None:
    """One label per line, or with ``metadata_header`` a header line and one
    tab-separated row per data point."""
    if not metadata_header:
        lines = [str(x) for x in metadata]
    else:
        if len(metadata_header) != len(metadata[0]):
            raise AssertionError("len of header must be equal to the number of columns in metadata")
        lines = ["\t".join(str(e) for e in row) for row in [metadata_header, *metadata]]
    with open(os.path.join(save_path, "metadata.tsv"), "wb") as f:
        f.write(("\n".join(lines) + "\n").encode("utf-8"))


def write_sprite(label_img: object, save_path: str) -> None:
    """The ``(N, C, H, W)`` images tiled ceil(sqrt(N)) per row on a square canvas as
    wide as the grid, values in [0, 1] scaled by 255 (the projector cuts the sprite
    into ``single_image_dim`` tiles)."""
    images = make_np(label_img)
    ncols = math.ceil(images.shape[0] ** 0.5)
    grid = make_grid(images, ncols=ncols).transpose(1, 2, 0)
    square = np.zeros((grid.shape[1], grid.shape[1], 3))
    square[: grid.shape[0]] = grid
    pixels = np.uint8((square * 255).clip(0, 255))
    with open(os.path.join(save_path, "sprite.png"), "wb") as f:
        f.write(encode_png(pixels))


def _text_escape(text: str) -> str:
    # Protobuf text format's C escaping of the UTF-8 bytes (non-ASCII as octal), as
    # google.protobuf.text_format writes by default.
    special = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x22: '\\"', 0x27: "\\'", 0x5C: "\\\\"}
    out = []
    for b in text.encode("utf-8"):
        if b in special:
            out.append(special[b])
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03o}")
    return "".join(out)


def projector_config(embeddings: Sequence[EmbeddingInfo]) -> str:
    """The ``ProjectorConfig`` text proto, fields in field-number order."""
    lines = []
    for e in embeddings:
        lines.append("embeddings {")
        lines.append(f'  tensor_name: "{_text_escape(e.tensor_name)}"')
        if e.metadata_path is not None:
            lines.append(f'  metadata_path: "{_text_escape(e.metadata_path)}"')
        if e.sprite_path is not None and e.sprite_dim is not None:
            lines.append("  sprite {")
            lines.append(f'    image_path: "{_text_escape(e.sprite_path)}"')
            lines.extend(f"    single_image_dim: {d}" for d in e.sprite_dim)
            lines.append("  }")
        lines.append(f'  tensor_path: "{_text_escape(e.tensor_path)}"')
        lines.append("}")
    return "".join(line + "\n" for line in lines)
