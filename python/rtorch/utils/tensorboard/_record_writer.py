"""TFRecord framing of serialized protobufs, the container of TensorBoard event files.

One record is, little-endian::

    uint64 length | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
"""

from __future__ import annotations

import struct

from ._crc32c import masked_crc32c


def frame_record(data: bytes) -> bytes:
    """``data`` wrapped as one TFRecord (length, its CRC, the data, the data's CRC)."""
    header = struct.pack("<Q", len(data))
    return (
        header
        + struct.pack("<I", masked_crc32c(header))
        + data
        + struct.pack("<I", masked_crc32c(data))
    )
