"""CRC-32C (Castagnoli), the checksum TFRecord framing uses, table-driven in Python.

TensorBoard's event files guard every record's length and payload with a *masked*
CRC-32C, so that a CRC stored inside data that is itself checksummed does not make
the outer checksum degenerate.  Implemented here so that rtorch needs neither
TensorFlow nor the ``crc32c`` package.
"""

from __future__ import annotations

# Reflected form of the Castagnoli polynomial 0x1EDC6F41.
_POLY_REFLECTED = 0x82F63B78
_MASK_DELTA = 0xA282EAD8


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC-32C of ``data``; pass a previous result as ``crc`` to continue a stream."""
    crc ^= 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC-32C: the CRC rotated right by 15 bits plus a constant."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF
