"""``rtorch.save`` and ``rtorch.load`` in PyTorch's zip checkpoint format.

A checkpoint is a zip archive ``<name>/`` holding ``data.pkl`` (a pickle whose tensors
are ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` calls, each
storage a persistent id ``('storage', torch.FloatStorage, key, location, numel)``), one
``data/<key>`` record per storage (aligned to 64 bytes), and the small records
``.format_version``, ``.storage_alignment``, ``byteorder``, ``version`` and
``.data/serialization_id``. rtorch writes PyTorch's names, so ``torch.load`` reads its
files, and maps them back to rtorch's objects when loading, so ``rtorch.load`` reads
``torch.save``'s files without PyTorch installed.
"""

from __future__ import annotations

import io
import mmap as _mmap
import os
import pickle
import struct
import sys
import types
from collections import OrderedDict
from pickle import UnpicklingError
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, ClassVar, Union

from . import _C, _utils
from ._size import Size
from ._tensor_pickle import _contiguous_stride
from .storage import (
    LEGACY_STORAGE_CLASSES,
    STORAGE_NAME_BY_DTYPE_NAME,
    StorageBytes,
    TypedStorage,
    dtype_name,
    tensor_storage_bytes,
)

if TYPE_CHECKING:
    from ._checkpoint_zip import ZipReader

# The zip reader/writer and the weights-only interpreter load on first use, to keep
# `import rtorch` (which imports this module for rtorch.save/rtorch.load) fast.

__all__ = [
    "DEFAULT_PROTOCOL",
    "add_safe_globals",
    "clear_safe_globals",
    "get_safe_globals",
    "load",
    "safe_globals",
    "save",
]

DEFAULT_PROTOCOL = 2
FILE_LIKE = Union[str, os.PathLike, BinaryIO, io.BytesIO]

# ---------------------------------------------------------------------------------------
# Safe globals for weights_only loads
# ---------------------------------------------------------------------------------------

_safe_globals: list[Any] = []


def add_safe_globals(safe_globals: list[Any]) -> None:
    """Admit these functions/classes in ``weights_only=True`` loads.

    Each entry is an object (found under ``f"{obj.__module__}.{obj.__qualname__}"``) or a
    tuple ``(obj, "module.name")`` giving the name the checkpoint uses.
    """
    if not isinstance(safe_globals, (list, tuple)):
        raise TypeError("add_safe_globals expects a list of globals")
    for entry in safe_globals:
        if isinstance(entry, tuple) and (len(entry) != 2 or not isinstance(entry[1], str)):
            raise TypeError("a tuple entry of add_safe_globals must be (obj, 'module.name')")
    _safe_globals.extend(safe_globals)


def get_safe_globals() -> list[Any]:
    """The globals the user admitted with :func:`add_safe_globals`."""
    return list(_safe_globals)


def clear_safe_globals() -> None:
    """Forget every global added with :func:`add_safe_globals`."""
    _safe_globals.clear()


class safe_globals:
    """Context manager admitting ``safe_globals`` in ``weights_only`` loads inside it.

    Example::

        >>> with rtorch.serialization.safe_globals([MyConfig]):
        ...     ckpt = rtorch.load("ckpt.pt")
    """

    def __init__(self, safe_globals: list[Any]) -> None:
        self._globals = list(safe_globals)
        self._saved: list[Any] = []

    def __enter__(self) -> None:
        self._saved = get_safe_globals()
        add_safe_globals(self._globals)

    def __exit__(self, *exc: object) -> None:
        clear_safe_globals()
        _safe_globals.extend(self._saved)


def get_unsafe_globals_in_checkpoint(f: FILE_LIKE) -> list[str]:
    """The globals of checkpoint ``f`` that a ``weights_only`` load would refuse, as
    ``'module.name'`` strings, found by scanning its pickle without executing it."""
    import pickletools

    from . import _weights_only_unpickler as _wo

    reader, handle = _open_reader(f, False)
    try:
        data = reader.read_record(f"{_find_prefix(reader)}data.pkl")
    finally:
        if handle is not None:
            handle.close()
    allowed = set(_wo.allowed_globals()) | set(_user_globals())
    allowed |= {"torch.nn.parameter.Parameter", "rtorch.nn.parameter.Parameter"}
    found: list[str] = []
    strings: list[str] = []  # recent string pushes, for STACK_GLOBAL's operands
    memo: dict[Any, Any] = {}
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name == "GLOBAL":
                name = arg.replace(" ", ".", 1)
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                name = f"{strings[-2]}.{strings[-1]}"
            else:
                if isinstance(arg, str) and "UNICODE" in op.name:
                    strings.append(arg)
                elif op.name in ("BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE") and strings:
                    memo[arg if op.name != "MEMOIZE" else len(memo)] = strings[-1]
                elif op.name in ("BINGET", "LONG_BINGET", "GET") and arg in memo:
                    strings.append(memo[arg])
                continue
            if name not in allowed and name not in found:
                found.append(name)
    except ValueError as exc:
        raise UnpicklingError(f"could not scan the checkpoint's pickle: {exc}") from None
    return found


_mmap_flags = _mmap.MAP_PRIVATE


def get_default_mmap_options() -> int:
    """The flags ``load(..., mmap=True)`` maps files with (default ``mmap.MAP_PRIVATE``)."""
    return _mmap_flags


class set_default_mmap_options:
    """Set the flags of ``load(..., mmap=True)``: ``mmap.MAP_PRIVATE`` (writes to loaded
    tensors stay in memory) or ``mmap.MAP_SHARED`` (writes go to the file). Works as a
    plain call or as a context manager that restores the previous flags on exit."""

    def __init__(self, flags: int) -> None:
        global _mmap_flags
        if flags not in (_mmap.MAP_PRIVATE, _mmap.MAP_SHARED):
            raise ValueError(
                "Invalid argument in function set_default_mmap_options, expected "
                f"mmap.MAP_PRIVATE or mmap.MAP_SHARED, but got {flags}"
            )
        self.prev = _mmap_flags
        _mmap_flags = flags

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        global _mmap_flags
        _mmap_flags = self.prev


def _user_globals() -> dict[str, Any]:
    """``'module.name' -> object`` for the user's safe globals, under rtorch's and (for
    rtorch objects) PyTorch's module names."""
    table: dict[str, Any] = {}
    for entry in _safe_globals:
        if isinstance(entry, tuple):
            obj, name = entry
            table[name] = obj
            continue
        module = getattr(entry, "__module__", None)
        name = getattr(entry, "__qualname__", None) or getattr(entry, "__name__", None)
        if module is None or name is None:
            raise TypeError(f"cannot admit {entry!r} as a safe global: it has no module name")
        table[f"{module}.{name}"] = entry
        if module.split(".")[0] == "rtorch":
            table[f"torch{module[len('rtorch') :]}.{name}"] = entry
    return table


# ---------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------


def _torch_names() -> dict[int, tuple[str, str]]:
    """id(rtorch object) -> the (module, name) PyTorch knows it by."""
    import rtorch

    names: dict[int, tuple[str, str]] = {}
    for name in _utils.__all__:
        names[id(getattr(_utils, name))] = ("torch._utils", name)
    names[id(_utils._rebuild_from_type_v2)] = ("torch._tensor", "_rebuild_from_type_v2")
    for name, cls in LEGACY_STORAGE_CLASSES.items():
        names[id(cls)] = ("torch", name)
    names[id(_C.UntypedStorage)] = ("torch.storage", "UntypedStorage")
    names[id(TypedStorage)] = ("torch.storage", "TypedStorage")
    names[id(Size)] = ("torch", "Size")
    names[id(_C.device)] = ("torch", "device")
    names[id(_C.Tensor)] = ("torch", "Tensor")
    names[id(_C.dtype)] = ("torch", "dtype")
    for dtype in rtorch._DTYPES.values():
        names[id(dtype)] = ("torch", dtype_name(dtype))
    return names


def _public_torch_name(obj: Any, name: str | None) -> tuple[str, str] | None:
    """For an object of the rtorch package, ``('torch.<pkg>', name)`` where ``<pkg>`` is
    the shortest public package that exposes it (``rtorch.nn.modules.linear.Linear`` ->
    ``torch.nn.Linear``), so that PyTorch can resolve it."""
    module = getattr(obj, "__module__", None)
    qualname = name or getattr(obj, "__qualname__", None)
    if not module or not qualname or module.split(".")[0] != "rtorch":
        return None
    parts = module.split(".")
    for i in range(2, len(parts) + 1):
        parent = sys.modules.get(".".join(parts[:i]))
        if parent is not None and "." not in qualname and getattr(parent, qualname, None) is obj:
            return "torch" + ".".join(parts[:i])[len("rtorch") :], qualname
    return "torch" + module[len("rtorch") :], qualname


class _SavedStorage:
    """One storage being saved: pickled as a persistent id, written as data/<key>."""

    __slots__ = ("key", "location", "numel", "storage_class", "tensor")

    def __init__(self, key: str, tensor: Any, location: str) -> None:
        self.key = key
        self.tensor = tensor  # keeps the memory alive until the record is written
        self.storage_class = LEGACY_STORAGE_CLASSES[
            STORAGE_NAME_BY_DTYPE_NAME[dtype_name(tensor.dtype)]
        ]
        self.location = location
        self.numel = tensor._storage_nbytes() // tensor.dtype.itemsize


class _TensorReducer:
    """What both checkpoint picklers share: tensors reduce to PyTorch's rebuild calls,
    storages become persistent ids, dtypes pickle as globals."""

    def _setup(self) -> None:
        self.storages: dict[Any, _SavedStorage] = {}
        self._names = _torch_names()
        self._parameter = _parameter_class_if_loaded()
        # The (always empty) backward-hooks argument: one object, pickled once.
        self._no_hooks: OrderedDict = OrderedDict()

    def persistent_id(self, obj: Any) -> Any:
        kind = type(obj)
        if kind is _SavedStorage:
            return ("storage", obj.storage_class, obj.key, obj.location, obj.numel)
        if kind is _C.UntypedStorage:
            # A storage saved on its own: PyTorch's ('storage', torch.UntypedStorage, ...).
            as_bytes = _C.empty(0, dtype=_C.uint8, device=obj.device)
            as_bytes.set_(obj, 0, (obj.nbytes(),), (1,))
            saved, _ = self._storage_of(as_bytes)
            return ("storage", _C.UntypedStorage, saved.key, saved.location, obj.nbytes())
        return None

    def _storage_of(self, t: Any) -> tuple[_SavedStorage, int]:
        """The saved storage holding ``t`` and ``t``'s offset in it."""
        if t.device.type != "cpu":
            # Device memory is copied to the host; views of it are saved separately.
            cpu = t.detach().contiguous().cpu()
            key = ("device", id(t))
            saved = _SavedStorage(str(len(self.storages)), cpu, str(t.device))
            self.storages[key] = saved
            return saved, 0
        key = t._storage_id()
        saved = self.storages.get(key)
        if saved is None:
            saved = _SavedStorage(str(len(self.storages)), t.detach(), "cpu")
            self.storages[key] = saved
        elif saved.tensor.dtype != t.dtype:
            # PyTorch's loader keeps one dtype per storage record, so it refuses this too.
            raise RuntimeError(
                "Cannot save multiple tensors or storages that view the same data as "
                "different types"
            )
        return saved, t.storage_offset()

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _C.Tensor):
            if self._parameter is not None and isinstance(obj, self._parameter):
                state = getattr(obj, "__dict__", None)
                if state:  # Python attributes on the Parameter: PyTorch's "with_state" form
                    return (
                        _utils._rebuild_parameter_with_state,
                        (obj.detach(), obj.requires_grad, OrderedDict(), dict(state)),
                    )
                return (
                    _utils._rebuild_parameter,
                    (obj.detach(), obj.requires_grad, OrderedDict()),
                )
            saved, offset = self._storage_of(obj)
            stride = (
                tuple(obj.stride()) if obj.device.type == "cpu" else _contiguous_stride(obj.shape)
            )
            return (
                _utils._rebuild_tensor_v2,
                (saved, offset, tuple(obj.shape), stride, obj.requires_grad, self._no_hooks),
            )
        if type(obj) is _C.dtype:
            return dtype_name(obj)  # a global in module torch, as PyTorch pickles dtypes
        return NotImplemented


class _CheckpointPickler(_TensorReducer, pickle._Pickler):
    """The pure-Python pickler, whose ``save_global`` writes every rtorch global under its
    ``torch`` name as it goes (any protocol, any pickle)."""

    def __init__(self, file: BinaryIO, protocol: int) -> None:
        pickle._Pickler.__init__(self, file, protocol)
        self._setup()

    def save_global(self, obj: Any, name: str | None = None) -> None:
        target = self._names.get(id(obj)) or _public_torch_name(obj, name)
        if target is None:
            return super().save_global(obj, name)
        module, qualname = target
        if self.proto >= 4:
            self.save(module)
            self.save(qualname)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{module}\n{qualname}\n".encode())
        self.memoize(obj)

    # The base class's dispatch table holds its own save_global; route classes and
    # functions to the override above.
    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)
    dispatch[type] = save_global
    dispatch[types.FunctionType] = save_global
    dispatch[types.BuiltinFunctionType] = save_global


class _FastCheckpointPickler(_TensorReducer, pickle.Pickler):
    """The C pickler, for protocols 2 and 3: it writes rtorch's names, and
    :func:`_rename_globals` then rewrites its GLOBAL opcodes to PyTorch's."""

    def __init__(self, file: BinaryIO, protocol: int) -> None:
        pickle.Pickler.__init__(self, file, protocol)
        self._setup()


# Argument sizes of the opcodes the C pickler writes at protocols 2-3.
_FIXED_ARG = {
    **dict.fromkeys(b"Kqh\x80\x82", 1),
    **dict.fromkeys(b"M\x83", 2),
    **dict.fromkeys(b"Jrj\x84", 4),
    ord("G"): 8,
}
_COUNTED_ARG = {
    **dict.fromkeys(b"\x8aUC", struct.Struct("<B")),
    **dict.fromkeys(b"\x8bT", struct.Struct("<i")),
    **dict.fromkeys(b"XB", struct.Struct("<I")),
}
_NO_ARG = frozenset(b"(012N.R]a}bdelstu)Q\x81\x85\x86\x87\x88\x89")


def _rename_globals(data: bytes, names: dict[int, tuple[str, str]]) -> bytes | None:
    """``data`` (a protocol 2-3 pickle) with every GLOBAL naming an rtorch object renamed
    to PyTorch's name, or None if it holds an opcode this scanner does not know."""
    pieces = []
    start = 0
    pos = 0
    size = len(data)
    while pos < size:
        op = data[pos]
        pos += 1
        if op in _NO_ARG:
            if op == 0x2E:  # STOP
                break
            continue
        fixed = _FIXED_ARG.get(op)
        if fixed is not None:
            pos += fixed
            continue
        counted = _COUNTED_ARG.get(op)
        if counted is not None:
            pos += counted.size + counted.unpack_from(data, pos)[0]
            continue
        if op != 0x63:  # GLOBAL
            return None
        end_module = data.index(b"\n", pos)
        end_name = data.index(b"\n", end_module + 1)
        module = data[pos:end_module].decode("utf-8")
        name = data[end_module + 1 : end_name].decode("utf-8")
        target = _torch_target(module, name, names)
        if target is not None:
            pieces.append(data[start:pos])
            pieces.append(f"{target[0]}\n{target[1]}\n".encode())
            start = end_name + 1
        pos = end_name + 1
    pieces.append(data[start:])
    return b"".join(pieces)


def _torch_target(module: str, name: str, names: dict[int, tuple[str, str]]) -> Any:
    """PyTorch's (module, name) for the rtorch object ``module.name`` (None: keep)."""
    obj: Any = sys.modules.get(module)
    for part in name.split("."):
        obj = getattr(obj, part, None)
    if obj is None:
        return None
    target = names.get(id(obj))
    if target is not None:
        return target
    return _public_torch_name(obj, name) if module.split(".")[0] == "rtorch" else None


def _pickle_checkpoint(obj: Any, protocol: int) -> tuple[Any, dict]:
    """The pickle of ``obj`` with PyTorch's names, and the storages it references."""
    if protocol in (2, 3):
        buffer = io.BytesIO()
        pickler = _FastCheckpointPickler(buffer, protocol)
        pickler.dump(obj)
        renamed = _rename_globals(buffer.getvalue(), pickler._names)
        if renamed is not None:
            return renamed, pickler.storages
    buffer = io.BytesIO()
    pickler = _CheckpointPickler(buffer, protocol)
    pickler.dump(obj)
    return buffer.getbuffer(), pickler.storages


def _parameter_class_if_loaded() -> Any:
    module = sys.modules.get("rtorch.nn.parameter")
    return getattr(module, "Parameter", None) if module is not None else None


def _archive_name(f: Any) -> str:
    if isinstance(f, (str, os.PathLike)):
        return os.path.splitext(os.path.basename(os.fspath(f)))[0] or "archive"
    return "archive"


def save(
    obj: object,
    f: FILE_LIKE,
    pickle_module: Any = pickle,
    pickle_protocol: int = DEFAULT_PROTOCOL,
    _use_new_zipfile_serialization: bool = True,
    _disable_byteorder_record: bool = False,
) -> None:
    """Save ``obj`` to ``f`` (a path or a writable binary file object) in PyTorch's zip
    checkpoint format; ``torch.load`` reads the result.

    Tensors that share memory are written once and share again after :func:`load`.
    """
    if not _use_new_zipfile_serialization:
        raise NotImplementedError(
            "rtorch.save writes only the zip checkpoint format (PyTorch's default since 1.6)"
        )
    if pickle_module is not pickle and pickle_module is not None:
        raise NotImplementedError("rtorch.save supports only the standard pickle module")
    pickled, storages = _pickle_checkpoint(obj, pickle_protocol)
    if isinstance(f, (str, os.PathLike)):
        parent = os.path.dirname(os.path.abspath(os.fspath(f)))
        if not os.path.isdir(parent):
            raise RuntimeError(f"Parent directory {parent} does not exist.")
        with open(f, "wb") as out:
            _write_archive(out, _archive_name(f), pickled, storages, _disable_byteorder_record)
    else:
        if not hasattr(f, "write"):
            raise AttributeError(
                f"expected 'f' to be string, path, or a file-like object with a 'write' "
                f"attribute, got {type(f).__name__}"
            )
        _write_archive(f, "archive", pickled, storages, _disable_byteorder_record)


def _write_archive(
    f: BinaryIO, name: str, pickled: Any, storages: dict, no_byteorder: bool
) -> None:
    from ._checkpoint_zip import ZipWriter, crc32_all

    writer = ZipWriter(f)
    writer.write_record(f"{name}/data.pkl", pickled)
    writer.write_record(f"{name}/.format_version", b"1")
    writer.write_record(f"{name}/.storage_alignment", b"64")
    if not no_byteorder:
        writer.write_record(f"{name}/byteorder", sys.byteorder.encode("ascii"))
    ordered = sorted(storages.values(), key=lambda s: int(s.key))
    views = [tensor_storage_bytes(saved.tensor) for saved in ordered]
    for saved, view, crc in zip(ordered, views, crc32_all(views)):
        writer.write_record(f"{name}/data/{saved.key}", view, crc)
    writer.write_record(f"{name}/version", b"3\n")
    serialization_id = str(int.from_bytes(os.urandom(16), "little")).zfill(40)
    writer.write_record(f"{name}/.data/serialization_id", serialization_id.encode("ascii"))
    writer.close()


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------

_WEIGHTS_ONLY_MESSAGE = (
    "Weights only load failed. Re-running `rtorch.load` with `weights_only` set to `False` "
    "will likely succeed, but it can result in arbitrary code execution. Do it only if you "
    "got the file from a trusted source.\n"
)

# The start of a pre-1.6 (non-zip) checkpoint: a protocol-2 pickle of PyTorch's magic number.
_LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"


def _device_for(location: str) -> Any:
    """The device a saved location maps to by default, refusing unavailable devices."""
    try:
        device = _C.device(location)
    except Exception as exc:
        raise RuntimeError(f"don't know how to restore data location {location!r}") from exc
    if device.type == "cuda":
        import rtorch

        if not rtorch.cuda.is_available():
            raise RuntimeError(
                "Attempting to deserialize object on a CUDA device but "
                "rtorch.cuda.is_available() is False. If you are running on a CPU-only "
                "machine, please use rtorch.load with map_location=torch.device('cpu') to "
                "map your storages to the CPU."
            )
    elif device.type not in ("cpu", "meta"):
        raise RuntimeError(f"rtorch cannot restore data on device {location!r}")
    return device


def _restore(storage: StorageBytes, location: str, map_location: Any) -> StorageBytes:
    if map_location is None:
        target: Any = location
    elif isinstance(map_location, dict):
        target = map_location.get(location, location)
    elif isinstance(map_location, (str, _C.device)):
        target = map_location
    elif callable(map_location):
        result = map_location(storage, location)
        if result is None:
            target = location
        elif isinstance(result, (StorageBytes, TypedStorage)):
            result = result.untyped() if isinstance(result, TypedStorage) else result
            _device_for(str(result.device))
            return result
        else:
            raise RuntimeError(
                f"map_location returned {type(result).__name__}; expected a storage or None"
            )
    else:
        raise TypeError(f"unsupported map_location {map_location!r}")
    device = _device_for(str(target))
    return storage if device.type == "cpu" else storage.to(device)


class _StorageLoader:
    """The persistent-load callback: one storage per key, read once."""

    def __init__(self, reader: ZipReader, prefix: str, map_location: Any, byteorder: str) -> None:
        self._reader = reader
        self._prefix = prefix
        self._map_location = map_location
        self._byteorder = byteorder
        self._loaded: dict[str, TypedStorage] = {}

    def __call__(self, pid: Any) -> TypedStorage:
        if not isinstance(pid, tuple) or len(pid) != 5 or pid[0] != "storage":
            raise UnpicklingError(f"unknown persistent id {pid!r} in checkpoint")
        _, storage_type, key, location, numel = pid
        if storage_type is _C.UntypedStorage:
            dtype = _C.uint8
        elif isinstance(storage_type, type) and storage_type in LEGACY_STORAGE_CLASSES.values():
            dtype = storage_type.dtype
        else:
            raise UnpicklingError(f"unknown storage type {storage_type!r} in checkpoint")
        if type(key) is not str or type(location) is not str or type(numel) is not int:
            raise UnpicklingError(f"malformed storage id {pid!r} in checkpoint")
        typed = self._typed(key, location, numel, dtype)
        if storage_type is _C.UntypedStorage:
            # A storage saved on its own loads as rtorch's (core) UntypedStorage.
            return typed.base_tensor().untyped_storage()
        return typed

    def _typed(self, key: str, location: str, numel: int, dtype: Any) -> TypedStorage:
        known = self._loaded.get(key)
        if known is not None:
            if known.dtype == dtype:
                return known
            return TypedStorage(wrap_storage=known.untyped(), dtype=dtype)
        if numel < 0:
            raise RuntimeError(f"storage {key} has negative size {numel}")
        buffer = self._reader.record_buffer(f"{self._prefix}data/{key}")
        if len(buffer) != numel * dtype.itemsize:
            raise RuntimeError(
                f"storage {key} holds {len(buffer)} bytes; the checkpoint says {numel} "
                f"elements of {dtype} ({numel * dtype.itemsize} bytes)"
            )
        if self._byteorder != sys.byteorder and dtype.itemsize > 1:
            _swap_bytes(buffer, dtype.itemsize)
        untyped = _restore(StorageBytes(buffer, "cpu"), location, self._map_location)
        typed = TypedStorage(wrap_storage=untyped, dtype=dtype)
        self._loaded[key] = typed
        return typed


def _swap_bytes(buffer: Any, itemsize: int) -> None:
    import numpy as np

    view = np.frombuffer(buffer, dtype=f"u{itemsize}")
    view.byteswap(inplace=True)


def _resolve_global(module: str, name: str) -> Any:
    """rtorch's object for a ``torch.*`` global of a full (weights_only=False) load."""
    import importlib

    full = f"{module}.{name}"
    from . import _weights_only_unpickler as _wo

    allowed = _wo.allowed_globals()
    if full in allowed:
        return allowed[full]
    if module == "torch.nn.parameter" and name == "Parameter":
        from .nn.parameter import Parameter

        return Parameter
    obj = _wo._resolve_rtorch(module, name)
    if obj is not None:
        return obj
    # rtorch's module files need not match PyTorch's: look for the name in each parent
    # package (torch.nn.modules.linear.Linear -> rtorch.nn.Linear).
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        try:
            package = importlib.import_module(".".join(["rtorch", *parts[1:i]]))
        except ImportError:
            continue
        found = getattr(package, name, None)
        if found is not None:
            return found
    raise AttributeError(f"rtorch has no equivalent of {full} (needed to load this checkpoint)")


def _full_unpickler(pickle_module: Any) -> type:
    class _FullUnpickler(pickle_module.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if module.split(".")[0] in ("torch", "rtorch"):
                return _resolve_global(module, name)
            return super().find_class(module, name)

    return _FullUnpickler


def _find_prefix(reader: ZipReader) -> str:
    names = reader.names()
    for name in names:
        if name.endswith("data.pkl") and name.count("/") == 1:
            return name[: -len("data.pkl")]
    if any(n.endswith("constants.pkl") for n in names):
        raise RuntimeError(
            "this file is a TorchScript archive (torch.jit.save); rtorch.load reads "
            "torch.save checkpoints only"
        )
    raise RuntimeError("PytorchStreamReader failed locating file data.pkl: file not found")


def _open_reader(f: Any, use_mmap: bool) -> tuple[ZipReader, Any]:
    """A reader over ``f`` and the file object to close afterwards (or None)."""
    if isinstance(f, (str, os.PathLike)):
        # MAP_SHARED maps the file writable, so it must be opened for writing.
        mode = "r+b" if use_mmap and _mmap_flags == _mmap.MAP_SHARED else "rb"
        handle = open(f, mode)  # noqa: SIM115 (closed by load once unpickled)
        try:
            return _reader_over(handle, use_mmap), handle
        except BaseException:
            handle.close()
            raise
    if isinstance(f, (bytes, bytearray, memoryview)):
        raise TypeError("rtorch.load expects a path or a file-like object; wrap bytes in BytesIO")
    if not (hasattr(f, "read") and hasattr(f, "seek")):
        raise AttributeError(
            "expected 'f' to be string, path, or a file-like object with 'read' and 'seek'"
        )
    if use_mmap and not _has_fileno(f):
        raise ValueError("f must be a file path or a real file object in order to use mmap=True")
    return _reader_over(f, use_mmap), None


def _has_fileno(f: Any) -> bool:
    try:
        f.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return False
    return True


def _reader_over(handle: Any, use_mmap: bool) -> ZipReader:
    from ._checkpoint_zip import ZipReader

    start = handle.tell()
    head = handle.read(len(_LEGACY_MAGIC))
    handle.seek(start)
    if head[:4] != b"PK\x03\x04":
        if head.startswith(_LEGACY_MAGIC[:4]):
            raise RuntimeError(
                "this checkpoint is in PyTorch's legacy (pre-1.6, non-zip) format, which "
                "rtorch.load does not read; re-save it with torch.save from PyTorch >= 1.6"
            )
        raise RuntimeError(
            "Invalid checkpoint: not a PyTorch zip archive (PytorchStreamReader failed "
            "reading zip archive: failed finding central directory)"
        )
    if use_mmap:
        if start != 0:
            raise ValueError("mmap=True needs the checkpoint to start at the beginning of the file")
        try:
            shared = _mmap_flags == _mmap.MAP_SHARED  # writes reach the file
            access = _mmap.ACCESS_WRITE if shared else _mmap.ACCESS_COPY
            mapped = _mmap.mmap(handle.fileno(), 0, access=access)
        except (ValueError, OSError) as exc:
            raise RuntimeError(f"could not map the checkpoint: {exc}") from exc
        return ZipReader(buffer=mapped)
    return ZipReader(f=handle)


def load(
    f: FILE_LIKE,
    map_location: Callable | _C.device | str | dict | None = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
    **pickle_load_args: Any,
) -> Any:
    """Load an object saved with ``torch.save`` or :func:`save` from a path or file object.

    Args:
        f: a path or a readable, seekable binary file object.
        map_location: where storages go: a device or string (``'cpu'``), a dict mapping
            saved locations to new ones, or ``callable(storage, location)`` returning a
            storage (or None for the default).
        pickle_module: the module unpickling ``data.pkl`` (only with ``weights_only=False``).
        weights_only: (default True) admit only tensors, primitive containers, dtypes and
            the globals added with :func:`add_safe_globals`; anything else raises
            ``pickle.UnpicklingError`` before it runs.
        mmap: map the file and build tensors over the mapped bytes (copy-on-write)
            instead of reading them.
    """
    if weights_only is None:
        weights_only = True
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    encoding = pickle_load_args.pop("encoding", "utf-8")
    reader, handle = _open_reader(f, bool(mmap))
    try:
        return _load_archive(
            reader, map_location, pickle_module, weights_only, encoding, pickle_load_args
        )
    finally:
        if handle is not None:
            handle.close()


def _load_archive(
    reader: ZipReader,
    map_location: Any,
    pickle_module: Any,
    weights_only: bool,
    encoding: str,
    pickle_load_args: dict,
) -> Any:
    prefix = _find_prefix(reader)
    byteorder = sys.byteorder
    if reader.has_record(f"{prefix}byteorder"):
        byteorder = reader.read_record(f"{prefix}byteorder").decode("ascii", "replace")
        if byteorder not in ("little", "big"):
            raise RuntimeError(f"Unknown endianness type: {byteorder!r}")
    data = reader.read_record(f"{prefix}data.pkl")
    loader = _StorageLoader(reader, prefix, map_location, byteorder)
    if weights_only:
        from . import _weights_only_unpickler as _wo

        try:
            return _wo.load(data, loader, _user_globals(), encoding)
        except RuntimeError:
            raise
        except UnpicklingError as exc:
            raise UnpicklingError(_WEIGHTS_ONLY_MESSAGE + str(exc)) from None
        except Exception as exc:  # noqa: BLE001 (any failure of a corrupt pickle)
            raise UnpicklingError(f"{_WEIGHTS_ONLY_MESSAGE}{type(exc).__name__}: {exc}") from None
    unpickler = _full_unpickler(pickle_module or pickle)(
        io.BytesIO(data), encoding=encoding, **pickle_load_args
    )
    unpickler.persistent_load = loader
    return unpickler.load()
