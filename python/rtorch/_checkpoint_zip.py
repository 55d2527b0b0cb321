"""The zip container of PyTorch checkpoints, read and written without ``zipfile``.

PyTorch's writer (miniz) stores every record uncompressed and pads the local header's
extra field (id ``FB``, filled with ``Z``) so that each record's data starts at a
multiple of 64 bytes; that is what lets a loader map storages straight from the file.
This module writes the same layout (zip64 when sizes or offsets need it) and reads any
stored zip, checking every length and offset against the real size of the input so that a
corrupt file gives ``RuntimeError`` -- never a crash, a hang or a huge allocation.
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import Any, BinaryIO

ALIGNMENT = 64
ZIP64_LIMIT = 0xFFFFFFFF  # a module constant so that tests can force zip64 on small files
ZIP64_COUNT_LIMIT = 0xFFFF

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_EOCD = struct.Struct("<IHHHHIIH")
_EOCD64 = struct.Struct("<IQHHIIQQQQ")
_EOCD64_LOCATOR = struct.Struct("<IIQI")
_LOCAL_SIG = 0x04034B50
_CENTRAL_SIG = 0x02014B50
_EOCD_SIG = 0x06054B50
_EOCD64_SIG = 0x06064B50
_EOCD64_LOCATOR_SIG = 0x07064B50
_UTF8_FLAG = 0x0800


def _zip_error(message: str) -> RuntimeError:
    return RuntimeError(f"PytorchStreamReader failed reading zip archive: {message}")


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------


class ZipWriter:
    """Writes records one after another to ``f``; :meth:`close` writes the directory."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self._pos = 0
        self._entries: list[tuple[bytes, int, int, int]] = []  # name, crc, size, offset

    def _write(self, data: Any) -> None:
        self._f.write(data)
        self._pos += len(data)

    def write_record(self, name: str, data: Any, crc: int | None = None) -> None:
        """Append record ``name`` holding the bytes of ``data`` (any contiguous buffer);
        ``crc`` is its CRC-32 when the caller computed it already."""
        view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
        size = len(view)
        if crc is None:
            crc = zlib.crc32(view)
        encoded = name.encode("utf-8")
        offset = self._pos
        zip64 = size >= ZIP64_LIMIT
        extra = struct.pack("<HHQQ", 1, 16, size, size) if zip64 else b""
        fixed = offset + _LOCAL.size + len(encoded) + len(extra) + 4
        pad = -fixed % ALIGNMENT
        extra += b"FB" + struct.pack("<H", pad) + b"Z" * pad
        small = 0xFFFFFFFF if zip64 else size
        self._write(
            _LOCAL.pack(
                _LOCAL_SIG,
                45 if zip64 else 20,
                _UTF8_FLAG,
                0,
                0,
                0,
                crc,
                small,
                small,
                len(encoded),
                len(extra),
            )
            + encoded
            + extra
        )
        self._write(view)
        self._entries.append((encoded, crc, size, offset))

    def close(self) -> None:
        """Write the central directory and the end records."""
        cd_start = self._pos
        for encoded, crc, size, offset in self._entries:
            zip64 = size >= ZIP64_LIMIT or offset >= ZIP64_LIMIT
            extra = struct.pack("<HHQQQ", 1, 24, size, size, offset) if zip64 else b""
            small_size = 0xFFFFFFFF if zip64 else size
            small_offset = 0xFFFFFFFF if zip64 else offset
            self._write(
                _CENTRAL.pack(
                    _CENTRAL_SIG,
                    45 if zip64 else 20,
                    45 if zip64 else 20,
                    _UTF8_FLAG,
                    0,
                    0,
                    0,
                    crc,
                    small_size,
                    small_size,
                    len(encoded),
                    len(extra),
                    0,
                    0,
                    0,
                    0,
                    small_offset,
                )
            )
            self._write(encoded)
            self._write(extra)
        cd_size = self._pos - cd_start
        count = len(self._entries)
        if cd_start >= ZIP64_LIMIT or cd_size >= ZIP64_LIMIT or count >= ZIP64_COUNT_LIMIT:
            eocd64_at = self._pos
            self._write(
                _EOCD64.pack(_EOCD64_SIG, 44, 45, 45, 0, 0, count, count, cd_size, cd_start)
            )
            self._write(_EOCD64_LOCATOR.pack(_EOCD64_LOCATOR_SIG, 0, eocd64_at, 1))
            self._write(_EOCD.pack(_EOCD_SIG, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
        else:
            self._write(_EOCD.pack(_EOCD_SIG, 0, 0, count, count, cd_size, cd_start, 0))


def crc32_all(buffers: list) -> list[int]:
    """The CRC-32 of each buffer, computed in parallel (zlib releases the GIL on large
    buffers), so that many storages cost about the time of the largest one."""
    big = sum(len(b) for b in buffers) >= 1 << 24
    workers = min(8, os.cpu_count() or 1, len(buffers))
    if not big or workers < 2:
        return [zlib.crc32(b) for b in buffers]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(zlib.crc32, buffers))


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------


class _Source:
    """Random access to the bytes of a seekable file or of a buffer."""

    def __init__(self, f: Any = None, buffer: Any = None) -> None:
        self._f = f
        self._buffer = memoryview(buffer).cast("B") if buffer is not None else None
        if self._buffer is not None:
            self.size = len(self._buffer)
            self._start = 0
        else:
            self._start = f.tell()
            f.seek(0, 2)
            self.size = f.tell() - self._start

    def read(self, offset: int, n: int) -> bytes:
        """Exactly ``n`` bytes at ``offset`` (both already checked against ``size``)."""
        if offset < 0 or n < 0 or offset + n > self.size:
            raise _zip_error("record extends past the end of the file")
        if self._buffer is not None:
            return bytes(self._buffer[offset : offset + n])
        self._f.seek(self._start + offset)
        data = self._f.read(n)
        if len(data) != n:
            raise _zip_error("file truncated")
        return data

    def writable_copy_or_view(self, offset: int, n: int) -> Any:
        """A writable buffer with the ``n`` bytes at ``offset``: a view into a private
        (copy-on-write) map, or one fresh bytearray read straight from the file."""
        if offset < 0 or n < 0 or offset + n > self.size:
            raise _zip_error("record extends past the end of the file")
        if self._buffer is not None:
            view = self._buffer[offset : offset + n]
            return view if not view.readonly else bytearray(view)
        out = bytearray(n)
        self._f.seek(self._start + offset)
        got = self._f.readinto(out) if hasattr(self._f, "readinto") else None
        if got is None:
            self._f.seek(self._start + offset)
            data = self._f.read(n)
            got = len(data)
            out[:got] = data
        if got != n:
            raise _zip_error("file truncated")
        return out


class ZipReader:
    """The records of a stored (uncompressed) zip archive, by name."""

    def __init__(self, f: Any = None, buffer: Any = None) -> None:
        self._src = _Source(f, buffer)
        self._records: dict[str, tuple[int, int, int, int]] = {}  # name: offset,csize,size,method
        self._read_directory()

    def _find_eocd(self) -> tuple[int, bytes]:
        size = self._src.size
        if size < _EOCD.size:
            raise _zip_error("file too small to be a zip archive")
        tail_len = min(size, _EOCD.size + 0xFFFF)
        tail = self._src.read(size - tail_len, tail_len)
        at = tail.rfind(b"PK\x05\x06")
        while at >= 0:
            if at + _EOCD.size <= len(tail):
                record = tail[at : at + _EOCD.size]
                comment_len = struct.unpack_from("<H", record, 20)[0]
                if at + _EOCD.size + comment_len == len(tail):
                    return size - tail_len + at, record
            at = tail.rfind(b"PK\x05\x06", 0, at)
        raise _zip_error("failed finding central directory")

    def _read_directory(self) -> None:
        eocd_at, record = self._find_eocd()
        _, disk, cd_disk, _n_here, count, cd_size, cd_offset, _ = _EOCD.unpack(record)
        if disk != 0 or cd_disk != 0:
            raise _zip_error("multi-disk archives are not supported")
        if count == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
            count, cd_size, cd_offset = self._read_eocd64(eocd_at)
        if cd_offset + cd_size > self._src.size:
            raise _zip_error("central directory extends past the end of the file")
        # Each entry takes at least the fixed header, so a bogus count cannot make us loop
        # (or allocate) more than the directory's real size allows.
        if count * _CENTRAL.size > cd_size:
            raise _zip_error("central directory entry count does not fit its size")
        directory = self._src.read(cd_offset, cd_size)
        pos = 0
        for _ in range(count):
            if pos + _CENTRAL.size > len(directory):
                raise _zip_error("truncated central directory")
            fields = _CENTRAL.unpack_from(directory, pos)
            if fields[0] != _CENTRAL_SIG:
                raise _zip_error("bad central directory signature")
            method, csize, size = fields[4], fields[8], fields[9]
            name_len, extra_len, comment_len = fields[10], fields[11], fields[12]
            offset = fields[16]
            start = pos + _CENTRAL.size
            end = start + name_len + extra_len + comment_len
            if end > len(directory):
                raise _zip_error("truncated central directory")
            raw_name = directory[start : start + name_len]
            extra = directory[start + name_len : start + name_len + extra_len]
            size, csize, offset = _apply_zip64(extra, size, csize, offset)
            try:
                name = raw_name.decode("utf-8")
            except UnicodeDecodeError:
                name = raw_name.decode("cp437")
            self._records[name] = (offset, csize, size, method)
            pos = end

    def _read_eocd64(self, eocd_at: int) -> tuple[int, int, int]:
        locator_at = eocd_at - _EOCD64_LOCATOR.size
        if locator_at < 0:
            raise _zip_error("missing zip64 end of central directory locator")
        sig, _, eocd64_at, _ = _EOCD64_LOCATOR.unpack(
            self._src.read(locator_at, _EOCD64_LOCATOR.size)
        )
        if sig != _EOCD64_LOCATOR_SIG or eocd64_at + _EOCD64.size > locator_at:
            raise _zip_error("bad zip64 end of central directory locator")
        fields = _EOCD64.unpack(self._src.read(eocd64_at, _EOCD64.size))
        if fields[0] != _EOCD64_SIG:
            raise _zip_error("bad zip64 end of central directory record")
        return fields[7], fields[8], fields[9]

    def names(self) -> list[str]:
        return list(self._records)

    def has_record(self, name: str) -> bool:
        return name in self._records

    def _data_span(self, name: str) -> tuple[int, int]:
        try:
            offset, csize, size, method = self._records[name]
        except KeyError:
            raise RuntimeError(
                f"PytorchStreamReader failed locating file {name}: file not found"
            ) from None
        if method != 0 or csize != size:
            raise _zip_error(f"record {name} is compressed; checkpoints store records as-is")
        if offset + _LOCAL.size > self._src.size:
            raise _zip_error(f"record {name} starts past the end of the file")
        header = _LOCAL.unpack(self._src.read(offset, _LOCAL.size))
        if header[0] != _LOCAL_SIG:
            raise _zip_error(f"bad local header signature for record {name}")
        data_at = offset + _LOCAL.size + header[9] + header[10]
        if data_at + size > self._src.size:
            raise _zip_error(f"record {name} extends past the end of the file")
        return data_at, size

    def read_record(self, name: str) -> bytes:
        """The bytes of a (small) record."""
        data_at, size = self._data_span(name)
        return self._src.read(data_at, size)

    def record_buffer(self, name: str) -> Any:
        """A writable buffer with the record's bytes: zero-copy when reading a mapped file,
        otherwise read once into a fresh buffer."""
        data_at, size = self._data_span(name)
        return self._src.writable_copy_or_view(data_at, size)


def _apply_zip64(extra: bytes, size: int, csize: int, offset: int) -> tuple[int, int, int]:
    """Replace the 0xFFFFFFFF fields from a zip64 extended-information extra field."""
    if 0xFFFFFFFF not in (size, csize, offset):
        return size, csize, offset
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + length]
        if tag == 1:
            values = [v[0] for v in struct.iter_unpack("<Q", body[: len(body) // 8 * 8])]
            fields = [size, csize, offset]
            for i in range(3):
                if fields[i] == 0xFFFFFFFF:
                    if not values:
                        raise _zip_error("truncated zip64 extra field")
                    fields[i] = values.pop(0)
            return fields[0], fields[1], fields[2]
        pos += 4 + length
    raise _zip_error("missing zip64 extra field")
