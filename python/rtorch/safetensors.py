"""The safetensors file format, compatible with the ``safetensors`` package's files.

A file is an 8-byte little-endian header length ``N``, ``N`` bytes of JSON (padded with
spaces to a multiple of 8) mapping each tensor name to ``{"dtype", "shape",
"data_offsets": [begin, end]}`` (offsets into the data that follows) plus an optional
``"__metadata__"`` of str -> str, then the tensors' bytes back to back. Loading checks
every field before touching the data: header size, JSON, names, dtypes, that each byte
count matches its dtype and shape, and that the tensors tile the data exactly (in order,
no gaps, no overlaps), so a corrupt file raises :class:`SafetensorError`.
"""

from __future__ import annotations

import json
import os
import struct
from collections import OrderedDict
from typing import Any

from . import _C
from .storage import dtype_name, tensor_from_bytes, tensor_storage_bytes

__all__ = [
    "SafetensorError",
    "load",
    "load_file",
    "load_model",
    "save",
    "save_file",
    "save_model",
]

MAX_HEADER_SIZE = 100_000_000  # the safetensors package's limit

# rtorch dtype name -> safetensors dtype code. The order is the package's: a file lists
# its tensors by decreasing dtype (in this order, reversed), then by name.
_CODES = OrderedDict(
    [
        ("bool", "BOOL"),
        ("uint8", "U8"),
        ("int8", "I8"),
        ("int16", "I16"),
        ("float16", "F16"),
        ("bfloat16", "BF16"),
        ("int32", "I32"),
        ("float32", "F32"),
        ("float64", "F64"),
        ("int64", "I64"),
    ]
)
_RANK = {code: i for i, code in enumerate(_CODES.values())}
_DTYPE_OF_CODE = {code: name for name, code in _CODES.items()}
_KNOWN_UNSUPPORTED = {"U16", "U32", "U64", "F8_E5M2", "F8_E4M3", "F8_E8M0", "C64", "F4"}


class SafetensorError(RuntimeError):
    """A safetensors file or buffer is malformed (a RuntimeError, as rtorch's loaders raise)."""


# ---------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------


def _check_tensors(tensors: dict[str, Any]) -> None:
    if not isinstance(tensors, dict):
        raise TypeError(f"expected a dict of name -> tensor, got {type(tensors).__name__}")
    by_storage: dict[int, list[tuple[int, int, str]]] = {}
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"tensor names must be str, got {type(name).__name__}")
        if not isinstance(t, _C.Tensor):
            raise TypeError(f"value of {name!r} is a {type(t).__name__}, not a tensor")
        if dtype_name(t.dtype) not in _CODES:
            raise ValueError(f"safetensors cannot store dtype {t.dtype} (tensor {name!r})")
        if not t.is_contiguous():
            raise ValueError(
                f"You are trying to save a non contiguous tensor: `{name}` which is not "
                "allowed. It either means you are trying to save tensors which are reference "
                "of each other in which case it's recommended to save only the full tensors, "
                "and reslice at load time, or simply call `.contiguous()` on your tensor to "
                "pack it before saving."
            )
        if t.numel() and t.device.type == "cpu":
            start = t.storage_offset() * t.dtype.itemsize
            by_storage.setdefault(t._storage_id(), []).append(
                (start, start + t.numel() * t.dtype.itemsize, name)
            )
    shared = []
    for spans in by_storage.values():
        spans.sort()
        group: set[str] = set()
        end, last = -1, ""
        for begin, stop, name in spans:
            if begin < end:
                group |= {name, last}
            if stop > end:
                end, last = stop, name
        if group:
            shared.append(group)
    if shared:
        raise RuntimeError(
            "Some tensors share memory, this will lead to duplicate memory on disk and "
            f"potential differences when loading them again: {shared}. A potential way to "
            "correctly save your model is to use `save_model`."
        )


def _tensor_bytes(t: Any) -> Any:
    """The bytes of contiguous tensor ``t`` (a view of its memory on the CPU)."""
    if t.device.type != "cpu":
        t = t.cpu()
    if t.numel() == 0:
        return b""
    start = t.storage_offset() * t.dtype.itemsize
    return tensor_storage_bytes(t)[start : start + t.numel() * t.dtype.itemsize]


def _header(tensors: dict[str, Any], metadata: dict[str, str] | None) -> tuple[bytes, list]:
    if metadata is not None and (
        not isinstance(metadata, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    ):
        raise TypeError("metadata must be a dict of str -> str")
    order = sorted(tensors, key=lambda n: (-_RANK[_CODES[dtype_name(tensors[n].dtype)]], n))
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    for name in order:
        t = tensors[name]
        nbytes = t.numel() * t.dtype.itemsize
        header[name] = {
            "dtype": _CODES[dtype_name(t.dtype)],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + nbytes],
        }
        offset += nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text, order


def save(tensors: dict[str, Any], metadata: dict[str, str] | None = None) -> bytes:
    """The safetensors bytes of ``tensors`` (contiguous, not sharing memory)."""
    _check_tensors(tensors)
    head, order = _header(tensors, metadata)
    return b"".join([head, *(bytes(_tensor_bytes(tensors[n])) for n in order)])


def save_file(
    tensors: dict[str, Any], filename: str | os.PathLike, metadata: dict[str, str] | None = None
) -> None:
    """Write ``tensors`` to ``filename`` in the safetensors format.

    Example::

        >>> rtorch.safetensors.save_file({"w": rtorch.ones(2, 2)}, "model.safetensors")
    """
    _check_tensors(tensors)
    head, order = _header(tensors, metadata)
    with open(filename, "wb") as f:
        f.write(head)
        f.writelines(_tensor_bytes(tensors[name]) for name in order)


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise SafetensorError(f"Error while deserializing header: duplicate key {key!r}")
        out[key] = value
    return out


def _is_count(value: Any) -> bool:
    return type(value) is int and value >= 0


def parse_header(data: Any) -> tuple[dict[str, Any], dict[str, str] | None, int]:
    """Validate the header of safetensors bytes ``data``.

    Returns ``(entries, metadata, data_start)`` where ``entries`` maps each name to
    ``(dtype_code, shape, begin, end)`` in file order.
    """
    size = len(data)
    if size < 8:
        raise SafetensorError("Error while deserializing header: HeaderTooSmall")
    (n,) = struct.unpack_from("<Q", data, 0)
    if n > MAX_HEADER_SIZE:
        raise SafetensorError("Error while deserializing header: HeaderTooLarge")
    if 8 + n > size:
        raise SafetensorError("Error while deserializing header: invalid header length")
    raw = bytes(data[8 : 8 + n])
    if not raw.startswith(b"{"):
        raise SafetensorError("Error while deserializing header: invalid header start")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SafetensorError(f"Error while deserializing header: {exc}") from None
    if not isinstance(header, dict):
        raise SafetensorError("Error while deserializing header: header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and (
        not isinstance(metadata, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    ):
        raise SafetensorError("Error while deserializing header: __metadata__ must map str to str")
    entries = {}
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise SafetensorError(f"Error while deserializing header: bad entry for {name!r}")
        code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(code, str) or (
            code not in _DTYPE_OF_CODE and code not in _KNOWN_UNSUPPORTED
        ):
            raise SafetensorError(f"Error while deserializing header: unknown dtype {code!r}")
        if not isinstance(shape, list) or not all(_is_count(s) for s in shape):
            raise SafetensorError(f"Error while deserializing header: bad shape for {name!r}")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_count(o) for o in offsets)
            or offsets[0] > offsets[1]
        ):
            raise SafetensorError(
                f"Error while deserializing header: bad data_offsets for {name!r}"
            )
        entries[name] = (code, shape, offsets[0], offsets[1])
    # The tensors must tile the data exactly, in order of their offsets.
    expected = 0
    for name, (code, shape, begin, end) in sorted(entries.items(), key=lambda e: e[1][2:]):
        if begin != expected:
            raise SafetensorError(
                f"Error while deserializing header: InvalidOffset({name!r}): tensors overlap "
                "or leave a gap"
            )
        if code in _DTYPE_OF_CODE:
            numel = 1
            for s in shape:
                numel *= s
            itemsize = getattr(_C, _DTYPE_OF_CODE[code]).itemsize
            if numel * itemsize != end - begin:
                raise SafetensorError(
                    f"Error while deserializing header: TensorInvalidInfo: {name!r} has "
                    f"{end - begin} bytes for shape {shape} of {code}"
                )
        expected = end
    if 8 + n + expected != size:
        raise SafetensorError(
            "Error while deserializing header: MetadataIncompleteBuffer: the data is "
            f"{size - 8 - n} bytes, the header describes {expected}"
        )
    return entries, metadata, 8 + n


def _tensors_from(data: Any, device: Any = "cpu") -> dict[str, Any]:
    """Tensors over the (writable) buffer ``data``, after validating its header."""
    entries, _, start = parse_header(data)
    view = memoryview(data).cast("B")
    out = {}
    for name, (code, shape, begin, end) in entries.items():
        if code not in _DTYPE_OF_CODE:
            raise SafetensorError(f"rtorch has no dtype for safetensors dtype {code} ({name!r})")
        dtype = getattr(_C, _DTYPE_OF_CODE[code])
        t = tensor_from_bytes(view[start + begin : start + end], dtype).reshape(shape)
        if str(device) != "cpu":
            t = t.to(device)
        out[name] = t
    return out


def load(data: bytes) -> dict[str, Any]:
    """The tensors of safetensors bytes ``data`` (copied once into memory rtorch owns)."""
    return _tensors_from(bytearray(data))


def load_file(filename: str | os.PathLike, device: Any = "cpu") -> dict[str, Any]:
    """The tensors of the safetensors file ``filename``, in file order.

    The file is read once; the tensors are views of that one buffer.
    """
    with open(filename, "rb") as f:
        data = bytearray(os.fstat(f.fileno()).st_size)
        got = f.readinto(data)
    if got != len(data):
        raise SafetensorError(f"could not read all of {os.fspath(filename)!r}")
    return _tensors_from(data, device)


def read_metadata(filename: str | os.PathLike) -> dict[str, str] | None:
    """The ``__metadata__`` of a safetensors file (None when it has none)."""
    with open(filename, "rb") as f:
        data = f.read()
    return parse_header(data)[1]


# ---------------------------------------------------------------------------------------
# Models with shared tensors
# ---------------------------------------------------------------------------------------


def _shared_groups(state_dict: dict[str, Any]) -> list[list[str]]:
    groups: dict[int, list[str]] = {}
    for name, t in state_dict.items():
        if t.numel() and t.device.type == "cpu":
            groups.setdefault(t._storage_id(), []).append(name)
    return [names for names in groups.values() if len(names) > 1]


def _remove_duplicate_names(
    state_dict: dict[str, Any], preferred_names: Any = None
) -> dict[str, list[str]]:
    """For each group of names sharing memory: the kept name -> the names dropped.

    Kept: a preferred name covering the whole storage if any, else the first such name in
    sorted order (as the safetensors package chooses)."""
    preferred = set(preferred_names or ())
    removals: dict[str, list[str]] = {}
    for names in _shared_groups(state_dict):
        complete = {
            n
            for n in names
            if state_dict[n].storage_offset() == 0
            and state_dict[n].numel() * state_dict[n].dtype.itemsize
            == state_dict[n]._storage_nbytes()
        }
        if not complete:
            raise RuntimeError(
                f"Error while trying to find names to remove to save state dict, but found no "
                f"suitable name to keep for saving amongst: {sorted(names)}. None is covering "
                "the entire storage. Refusing to save/load the model since you could be "
                "storing much more memory than needed."
            )
        keep = min(complete)
        candidates = sorted(preferred & complete)
        if candidates:
            keep = candidates[0]
        removals[keep] = sorted(n for n in names if n != keep)
    return removals


def save_model(
    model: Any,
    filename: str | os.PathLike,
    metadata: dict[str, str] | None = None,
    force_contiguous: bool = True,
) -> None:
    """Save ``model.state_dict()``, keeping one name per group of shared tensors and
    recording the dropped names in the metadata (``dropped -> kept``)."""
    state_dict = model.state_dict()
    removals = _remove_duplicate_names(state_dict)
    metadata = dict(metadata or {})
    for kept, dropped in removals.items():
        for name in dropped:
            metadata.setdefault(name, kept)
            del state_dict[name]
    if force_contiguous:
        state_dict = {k: v.contiguous() for k, v in state_dict.items()}
    save_file(dict(state_dict), filename, metadata=metadata or None)


def load_model(
    model: Any, filename: str | os.PathLike, strict: bool = True, device: Any = "cpu"
) -> tuple[list[str], list[str]]:
    """Load a file written by :func:`save_model` into ``model``.

    Returns ``(missing, unexpected)`` keys; with ``strict`` a mismatch raises RuntimeError.
    """
    state_dict = load_file(filename, device=device)
    removals = _remove_duplicate_names(model.state_dict(), preferred_names=state_dict.keys())
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    missing_set = set(missing)
    unexpected = list(unexpected)
    for dropped in removals.values():
        for name in dropped:
            if name in missing_set:
                missing_set.remove(name)
            else:
                unexpected.append(name)
    missing = sorted(missing_set)
    if strict and (missing or unexpected):
        lines = []
        if missing:
            lines.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing))
        if unexpected:
            lines.append(
                "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected)
            )
        raise RuntimeError(
            f"Error(s) in loading state_dict for {type(model).__name__}:\n\t" + "\n\t".join(lines)
        )
    return missing, unexpected
