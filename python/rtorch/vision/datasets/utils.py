"""Helpers shared by the dataset readers: integrity checks, downloads, archives, IDX files."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "calculate_md5",
    "check_integrity",
    "check_md5",
    "download_and_extract_archive",
    "download_url",
    "extract_archive",
    "read_file_bytes",
    "read_idx_array",
    "verify_str_arg",
]

# Seconds to wait for a mirror before giving up: offline machines fail fast.
_DOWNLOAD_TIMEOUT = 10.0
_USER_AGENT = "rtorch.vision"


def calculate_md5(fpath: str, chunk_size: int = 1024 * 1024) -> str:
    """The hex md5 digest of a file."""
    md5 = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            md5.update(chunk)
    return md5.hexdigest()


def check_md5(fpath: str, md5: str) -> bool:
    return md5 == calculate_md5(fpath)


def check_integrity(fpath: str, md5: str | None = None) -> bool:
    """True when ``fpath`` is a file and, if ``md5`` is given, has that digest."""
    if not os.path.isfile(fpath):
        return False
    if md5 is None:
        return True
    return check_md5(fpath, md5)


def download_url(url: str, root: str, filename: str | None = None, md5: str | None = None) -> None:
    """Download ``url`` into ``root/filename`` and check its md5.

    Raises ``RuntimeError`` (wrong checksum) or ``urllib.error.URLError`` (no network).
    A file already present with the right checksum is not downloaded again.
    """
    root = os.path.expanduser(root)
    filename = filename or os.path.basename(url)
    fpath = os.path.join(root, filename)
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5):
        return
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    partial = fpath + ".partial"
    try:
        with (
            urllib.request.urlopen(request, timeout=_DOWNLOAD_TIMEOUT) as response,
            open(partial, "wb") as out,
        ):
            out.writelines(iter(lambda: response.read(1024 * 1024), b""))
    except (OSError, ValueError) as e:
        if os.path.exists(partial):
            os.remove(partial)
        if isinstance(e, urllib.error.URLError):
            raise
        raise urllib.error.URLError(e) from e
    os.replace(partial, fpath)
    if not check_integrity(fpath, md5):
        raise RuntimeError(
            f"File {fpath} downloaded from {url} has the wrong md5 (expected {md5})."
        )


def extract_archive(
    from_path: str, to_path: str | None = None, remove_finished: bool = False
) -> str:
    """Extract a .zip, .tar(.gz/.bz2/.xz) or decompress a single .gz file; returns ``to_path``."""
    if to_path is None:
        to_path = os.path.dirname(from_path)
    lower = from_path.lower()
    if lower.endswith(".zip"):
        with zipfile.ZipFile(from_path) as z:
            z.extractall(to_path)
    elif ".tar" in lower or lower.endswith((".tgz", ".tbz", ".txz")):
        with tarfile.open(from_path) as t:
            t.extractall(to_path, filter="data")
    elif lower.endswith(".gz"):
        target = os.path.join(to_path, os.path.basename(from_path)[:-3])
        with gzip.open(from_path, "rb") as src, open(target, "wb") as dst:
            dst.write(src.read())
    else:
        raise RuntimeError(f"Extraction of {from_path} not supported")
    if remove_finished:
        os.remove(from_path)
    return to_path


def download_and_extract_archive(
    url: str,
    download_root: str,
    extract_root: str | None = None,
    filename: str | None = None,
    md5: str | None = None,
    remove_finished: bool = False,
) -> None:
    download_root = os.path.expanduser(download_root)
    extract_root = extract_root or download_root
    filename = filename or os.path.basename(url)
    download_url(url, download_root, filename, md5)
    extract_archive(os.path.join(download_root, filename), extract_root, remove_finished)


def download_from_mirrors(
    filename: str, md5: str | None, mirrors: Sequence[str], folder: str, extract: bool
) -> None:
    """Try each mirror in turn; raise one RuntimeError naming every failure and the manual fix."""
    errors = []
    for mirror in mirrors:
        url = f"{mirror}{filename}"
        try:
            if extract:
                download_and_extract_archive(url, folder, filename=filename, md5=md5)
            else:
                download_url(url, folder, filename, md5)
            return
        except (RuntimeError, urllib.error.URLError, OSError) as e:
            errors.append(f"  tried {url}: {e}")
    raise RuntimeError(
        f"Error downloading {filename}:\n"
        + "\n".join(errors)
        + f"\nWithout network access, download {filename} yourself and put it in {folder}"
    )


def verify_str_arg(
    value: str, arg: str | None = None, valid_values: Iterable[str] | None = None
) -> str:
    """Check that ``value`` is a string among ``valid_values``; ValueError otherwise."""
    if not isinstance(value, str):
        msg = "Expected type str" + (f" for argument {arg}" if arg else "")
        raise ValueError(f"{msg}, but got type {type(value)}.")  # noqa: TRY004 (as torchvision)
    if valid_values is None:
        return value
    valid_values = tuple(valid_values)
    if value not in valid_values:
        shown = ", ".join(f"'{v}'" for v in valid_values)
        raise ValueError(
            f"Unknown value '{value}' for argument {arg}. Valid values are {{{shown}}}."
        )
    return value


def read_file_bytes(path: str) -> bytearray:
    """The bytes of a file, decompressed when it is gzipped (by magic number, not by name).

    Returns a writable ``bytearray`` so that tensors built on it own writable memory.
    """
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            # wbits 47 = auto-detect gzip/zlib header; one call, faster than the gzip module.
            raw = zlib.decompress(raw, 47)
        except zlib.error as e:
            raise RuntimeError(f"{path} is not a valid gzip file: {e}") from None
    return bytearray(raw)


# IDX ("SN3 Pascal Vincent") type codes -> big-endian numpy dtypes.
_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx_array(path: str) -> np.ndarray:
    """Parse a whole IDX file (gzipped or not) into one numpy array in native byte order.

    The payload is interpreted with one ``np.frombuffer``: no per-item Python work.
    """
    data = read_file_bytes(path)
    if len(data) < 4:
        raise RuntimeError(f"{path} is not an IDX file: only {len(data)} bytes")
    zero, type_code, ndim = struct.unpack(">HBB", bytes(data[:4]))
    if zero != 0 or type_code not in _IDX_TYPES or not 1 <= ndim <= 4:
        raise RuntimeError(f"{path} is not an IDX file: bad magic number 0x{bytes(data[:4]).hex()}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise RuntimeError(f"{path} is truncated: header needs {header} bytes")
    shape = struct.unpack(f">{ndim}I", bytes(data[4:header]))
    dtype = _IDX_TYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header < expected:
        raise RuntimeError(
            f"{path} is truncated: shape {tuple(shape)} needs {expected} bytes of data, "
            f"found {len(data) - header}"
        )
    array = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    if dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))
    return array.reshape(shape)
