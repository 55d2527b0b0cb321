"""A pickle interpreter that only builds data: the ``weights_only=True`` loader.

It executes the pickle opcodes itself (it never hands the stream to ``pickle``), so that
every global is checked against an allow-list when its GLOBAL opcode is read -- before
anything it could be called with has run -- and so that the memo, the stack and every
length in the stream stay bounded by the size of the input.

Admitted: Python primitives and containers, ``collections.OrderedDict``/``Counter``, the
tensor rebuild functions, storages, ``Parameter``, dtypes, ``torch.Size`` and
``torch.device`` (by their ``torch.*`` names as PyTorch writes them, or their ``rtorch.*``
names), plus whatever the user allowed with ``rtorch.serialization.add_safe_globals``.
"""

from __future__ import annotations

import codecs
import struct
from collections import Counter, OrderedDict
from pickle import UnpicklingError
from typing import Any, Callable

__all__ = ["Unpickler", "UnpicklingError", "allowed_globals", "load"]

_BLOCKED_MODULES = frozenset(
    {
        "os",
        "posix",
        "nt",
        "subprocess",
        "sys",
        "shutil",
        "socket",
        "builtins",
        "__builtin__",
        "importlib",
        "runpy",
        "pty",
        "ctypes",
        "code",
        "pickle",
        "_pickle",
        "marshal",
        "io",
    }
)

_OTHER_DTYPES = frozenset(
    {
        "complex32",
        "complex64",
        "complex128",
        "cfloat",
        "cdouble",
        "uint16",
        "uint32",
        "uint64",
        "float8_e4m3fn",
        "float8_e5m2",
        "float8_e4m3fnuz",
        "float8_e5m2fnuz",
        "qint8",
        "quint8",
        "qint32",
    }
)

_DTYPE_NAMES = (
    "float32",
    "float64",
    "float16",
    "bfloat16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
    "float",
    "double",
    "half",
    "long",
    "int",
    "short",
)


def _latin1_encode(text: Any, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for bytes; other codecs refused."""
    if not isinstance(text, str) or codecs.lookup(encoding).name != "iso8859-1":
        raise UnpicklingError(
            f"_codecs.encode is only admitted for latin1 strings, got {encoding!r}"
        )
    return text.encode("latin1")


def _bytearray(*args: Any) -> bytearray:
    """``bytearray`` from a str/bytes; ``bytearray(n)`` would let a file allocate n bytes."""
    if not args or not isinstance(args[0], (str, bytes, bytearray)):
        raise UnpicklingError("bytearray is only admitted from str or bytes")
    return bytearray(*args)


def allowed_globals() -> dict[str, Any]:
    """The built-in allow-list: ``'module.name'`` as written in a pickle -> object."""
    import rtorch

    from . import _utils, storage
    from ._size import Size

    table: dict[str, Any] = {
        "collections.OrderedDict": OrderedDict,
        "collections.Counter": Counter,
        "builtins.set": set,
        "builtins.frozenset": frozenset,
        "builtins.bytearray": _bytearray,
        "builtins.complex": complex,
        "builtins.slice": slice,
        "_codecs.encode": _latin1_encode,
    }
    for prefix in ("torch", "rtorch"):
        for name in _utils.__all__:
            table[f"{prefix}._utils.{name}"] = getattr(_utils, name)
        table[f"{prefix}._tensor._rebuild_from_type_v2"] = _utils._rebuild_from_type_v2
        for name, cls in storage.LEGACY_STORAGE_CLASSES.items():
            table[f"{prefix}.{name}"] = cls
            table[f"{prefix}.storage.{name}"] = cls
        for name in ("UntypedStorage", "TypedStorage"):
            table[f"{prefix}.storage.{name}"] = getattr(storage, name)
            table[f"{prefix}.{name}"] = getattr(storage, name)
        for name in _DTYPE_NAMES:
            table[f"{prefix}.{name}"] = getattr(rtorch, name)
        table[f"{prefix}.Size"] = Size
        table[f"{prefix}.device"] = rtorch.device
        table[f"{prefix}.Tensor"] = rtorch.Tensor
        table[f"{prefix}._tensor.Tensor"] = rtorch.Tensor
    table["rtorch._size.Size"] = Size
    return table


def _parameter_class() -> Any:
    from .nn.parameter import Parameter

    return Parameter


def _callable_classes() -> tuple:
    from ._C import device
    from ._size import Size

    return (OrderedDict, Counter, set, frozenset, complex, slice, Size, device)


class _Mark:
    """Marks the stack position of a MARK opcode."""


_MARK = _Mark()


class Unpickler:
    """Interprets one pickle from ``data`` (bytes) with a restricted set of globals.

    Args:
        data: the whole pickle.
        persistent_load: called with the id of every PERSID/BINPERSID.
        user_globals: ``'module.name' -> object`` admitted on top of the built-in list.
    """

    def __init__(
        self,
        data: bytes,
        persistent_load: Callable[[Any], Any] | None = None,
        user_globals: dict[str, Any] | None = None,
        encoding: str = "utf-8",
    ) -> None:
        self._data = bytes(data)
        self._len = len(self._data)
        self._pos = 0
        self._persistent_load = persistent_load
        self._allowed = allowed_globals()
        self._user = dict(user_globals or {})
        # What REDUCE may call: rebuild functions and value constructors. Classes such as
        # Tensor are admitted as arguments only: `Tensor(10**12)` would allocate.
        self._callables = {
            id(v)
            for v in self._allowed.values()
            if not isinstance(v, type) or v in _callable_classes()
        } | {id(v) for v in self._user.values()}
        self._user_ids = {id(v) for v in self._user.values()}
        self._encoding = encoding

    # -- reading the stream ------------------------------------------------------------
    def _read(self, n: int) -> bytes:
        pos = self._pos
        end = pos + n
        if n < 0 or end > self._len:
            raise UnpicklingError("pickle data was truncated")
        self._pos = end
        return self._data[pos:end]

    def _read1(self) -> int:
        pos = self._pos
        if pos >= self._len:
            raise UnpicklingError("pickle data was truncated")
        self._pos = pos + 1
        return self._data[pos]

    def _readline(self) -> bytes:
        data = self._data
        # Text arguments (GLOBAL names, protocol-0 numbers) are short; bound the scan.
        end = data.find(b"\n", self._pos, min(self._len, self._pos + 4096))
        if end < 0:
            raise UnpicklingError("pickle line too long or missing newline")
        line = data[self._pos : end]
        self._pos = end + 1
        return line

    def _unpack(self, fmt: str, n: int) -> Any:
        pos = self._pos
        if pos + n > self._len:
            raise UnpicklingError("pickle data was truncated")
        self._pos = pos + n
        return _STRUCTS[fmt].unpack_from(self._data, pos)[0]

    # -- the stack ---------------------------------------------------------------------
    def _pop_mark(self) -> list:
        stack = self._stack
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is _MARK:
                items = stack[i + 1 :]
                del stack[i:]
                return items
        raise UnpicklingError("could not find MARK")

    def _pop(self) -> Any:
        if not self._stack or self._stack[-1] is _MARK:
            raise UnpicklingError("unpickling stack underflow")
        return self._stack.pop()

    def _top(self) -> Any:
        if not self._stack or self._stack[-1] is _MARK:
            raise UnpicklingError("unpickling stack underflow")
        return self._stack[-1]

    # -- globals -----------------------------------------------------------------------
    def _find_class(self, module: str, name: str) -> Any:
        full = f"{module}.{name}"
        if full in self._user:
            return self._user[full]
        if full in self._allowed:
            return self._allowed[full]
        if module.split(".")[0] in ("torch", "rtorch"):
            resolved = _resolve_rtorch(module, name)
            if resolved is not None and id(resolved) in self._user_ids:
                return resolved
            if (
                module == "torch.nn.parameter"
                and name == "Parameter"
                or (module == "rtorch.nn.parameter" and name == "Parameter")
            ):
                param = _parameter_class()
                self._callables.add(id(param))
                return param
        root = module.split(".")[0]
        if root in ("torch", "rtorch") and (name.endswith("Storage") or name in _OTHER_DTYPES):
            # A real PyTorch type that rtorch lacks (complex, uint16, float8, ...).
            raise UnpicklingError(
                f"this checkpoint holds {full}, a dtype rtorch does not support yet"
            )
        if root in _BLOCKED_MODULES:
            raise UnpicklingError(
                f"Trying to load unsupported GLOBAL {full} whose module {module} is blocked."
            )
        raise UnpicklingError(
            f"Unsupported global: GLOBAL {full} was not an allowed global by default. "
            f"Please use `rtorch.serialization.add_safe_globals([{name}])` or the "
            f"`rtorch.serialization.safe_globals([{name}])` context manager to allowlist "
            "this global if you trust this class/function."
        )

    # -- the interpreter ---------------------------------------------------------------
    def load(self) -> Any:
        self._stack: list = []
        self._memo: dict[int, Any] = {}
        stack = self._stack
        memo = self._memo
        data = self._data
        size = self._len
        dispatch = _DISPATCH
        while True:
            pos = self._pos
            if pos >= size:
                raise UnpicklingError("pickle data was truncated")
            op = data[pos]
            self._pos = pos + 1
            if op == 0x2E:  # STOP
                if len(stack) != 1 or stack[0] is _MARK:
                    raise UnpicklingError("unpickling stack is not a single object at STOP")
                return stack[0]
            handler = dispatch[op]
            if handler is None:
                raise UnpicklingError(f"Unsupported operand {op} in a weights-only pickle")
            handler(self, stack, memo)

    # Each handler takes (self, stack, memo). Returning None continues the loop.
    def _op_proto(self, stack, memo):
        proto = self._read1()
        if proto > 5:
            raise UnpicklingError(f"unsupported pickle protocol: {proto}")

    def _op_frame(self, stack, memo):
        self._read(8)  # the frame length; frames need no special handling on a buffer

    def _op_mark(self, stack, memo):
        stack.append(_MARK)

    def _op_pop(self, stack, memo):
        self._pop()

    def _op_pop_mark(self, stack, memo):
        self._pop_mark()

    def _op_dup(self, stack, memo):
        stack.append(self._top())

    def _op_none(self, stack, memo):
        stack.append(None)

    def _op_true(self, stack, memo):
        stack.append(True)

    def _op_false(self, stack, memo):
        stack.append(False)

    def _op_int(self, stack, memo):
        line = self._readline()
        if line == b"00":
            stack.append(False)
        elif line == b"01":
            stack.append(True)
        else:
            stack.append(int(line))

    def _op_binint(self, stack, memo):
        stack.append(self._unpack("<i", 4))

    def _op_binint1(self, stack, memo):
        stack.append(self._read1())

    def _op_binint2(self, stack, memo):
        stack.append(self._unpack("<H", 2))

    def _op_long(self, stack, memo):
        line = self._readline()
        stack.append(int(line[:-1] if line.endswith(b"L") else line))

    def _op_long1(self, stack, memo):
        n = self._read1()
        stack.append(int.from_bytes(self._read(n), "little", signed=True))

    def _op_long4(self, stack, memo):
        n = self._unpack("<i", 4)
        if n < 0 or n > 1 << 16:
            raise UnpicklingError(f"LONG4 of {n} bytes refused")
        stack.append(int.from_bytes(self._read(n), "little", signed=True))

    def _op_float(self, stack, memo):
        stack.append(float(self._readline()))

    def _op_binfloat(self, stack, memo):
        stack.append(self._unpack(">d", 8))

    def _decode_string(self, raw: bytes) -> Any:
        if self._encoding == "bytes":
            return raw
        return raw.decode(self._encoding, "strict")

    def _op_binstring(self, stack, memo):
        n = self._unpack("<i", 4)
        stack.append(self._decode_string(self._read(n)))

    def _op_short_binstring(self, stack, memo):
        n = self._read1()
        stack.append(self._decode_string(self._read(n)))

    def _op_binbytes(self, stack, memo):
        stack.append(self._read(self._unpack("<I", 4)))

    def _op_short_binbytes(self, stack, memo):
        stack.append(self._read(self._read1()))

    def _op_binbytes8(self, stack, memo):
        stack.append(self._read(self._unpack("<Q", 8)))

    def _op_bytearray8(self, stack, memo):
        stack.append(bytearray(self._read(self._unpack("<Q", 8))))

    def _op_unicode(self, stack, memo):
        stack.append(self._readline().decode("raw-unicode-escape"))

    def _op_short_binunicode(self, stack, memo):
        stack.append(self._read(self._read1()).decode("utf-8", "surrogatepass"))

    def _op_binunicode(self, stack, memo):
        stack.append(self._read(self._unpack("<I", 4)).decode("utf-8", "surrogatepass"))

    def _op_binunicode8(self, stack, memo):
        stack.append(self._read(self._unpack("<Q", 8)).decode("utf-8", "surrogatepass"))

    def _op_empty_list(self, stack, memo):
        stack.append([])

    def _op_append(self, stack, memo):
        value = self._pop()
        target = self._top()
        if type(target) is not list:
            raise UnpicklingError(f"APPEND to a {type(target).__name__} refused")
        target.append(value)

    def _op_appends(self, stack, memo):
        items = self._pop_mark()
        target = self._top()
        if type(target) is not list:
            raise UnpicklingError(f"APPENDS to a {type(target).__name__} refused")
        target.extend(items)

    def _op_list(self, stack, memo):
        stack.append(self._pop_mark())

    def _op_empty_tuple(self, stack, memo):
        stack.append(())

    def _op_tuple(self, stack, memo):
        stack.append(tuple(self._pop_mark()))

    def _op_tuple1(self, stack, memo):
        stack.append((self._pop(),))

    def _op_tuple2(self, stack, memo):
        b = self._pop()
        a = self._pop()
        stack.append((a, b))

    def _op_tuple3(self, stack, memo):
        c = self._pop()
        b = self._pop()
        a = self._pop()
        stack.append((a, b, c))

    def _op_empty_dict(self, stack, memo):
        stack.append({})

    def _op_dict(self, stack, memo):
        items = self._pop_mark()
        if len(items) % 2:
            raise UnpicklingError("DICT with an odd number of items")
        stack.append(dict(zip(items[::2], items[1::2])))

    def _setitems(self, target: Any, items: list) -> None:
        if not isinstance(target, dict) or type(target) not in (dict, OrderedDict, Counter):
            raise UnpicklingError(f"SETITEM on a {type(target).__name__} refused")
        if len(items) % 2:
            raise UnpicklingError("SETITEMS with an odd number of items")
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def _op_setitem(self, stack, memo):
        value = self._pop()
        key = self._pop()
        self._setitems(self._top(), [key, value])

    def _op_setitems(self, stack, memo):
        items = self._pop_mark()
        self._setitems(self._top(), items)

    def _op_empty_set(self, stack, memo):
        stack.append(set())

    def _op_additems(self, stack, memo):
        items = self._pop_mark()
        target = self._top()
        if type(target) is not set:
            raise UnpicklingError(f"ADDITEMS to a {type(target).__name__} refused")
        target.update(items)

    def _op_frozenset(self, stack, memo):
        stack.append(frozenset(self._pop_mark()))

    def _get(self, memo: dict, index: int) -> Any:
        try:
            return memo[index]
        except KeyError:
            raise UnpicklingError(f"Memo value not found at index {index}") from None

    def _op_get(self, stack, memo):
        stack.append(self._get(memo, int(self._readline())))

    def _op_binget(self, stack, memo):
        stack.append(self._get(memo, self._read1()))

    def _op_long_binget(self, stack, memo):
        stack.append(self._get(memo, self._unpack("<I", 4)))

    def _op_put(self, stack, memo):
        memo[int(self._readline())] = self._top()

    def _op_binput(self, stack, memo):
        memo[self._read1()] = self._top()

    def _op_long_binput(self, stack, memo):
        memo[self._unpack("<I", 4)] = self._top()

    def _op_memoize(self, stack, memo):
        memo[len(memo)] = self._top()

    def _op_global(self, stack, memo):
        module = self._readline().decode("utf-8")
        name = self._readline().decode("utf-8")
        stack.append(self._find_class(module, name))

    def _op_stack_global(self, stack, memo):
        name = self._pop()
        module = self._pop()
        if type(module) is not str or type(name) is not str:
            raise UnpicklingError("STACK_GLOBAL requires str")
        stack.append(self._find_class(module, name))

    def _check_callable(self, func: Any) -> None:
        if id(func) not in self._callables:
            raise UnpicklingError(f"Trying to call reduce for unrecognized function {func!r}")

    def _op_reduce(self, stack, memo):
        args = self._pop()
        func = self._pop()
        self._check_callable(func)
        if type(args) is not tuple:
            raise UnpicklingError("REDUCE arguments must be a tuple")
        stack.append(func(*args))

    def _op_newobj(self, stack, memo):
        args = self._pop()
        cls = self._pop()
        self._check_newobj(cls)
        if type(args) is not tuple:
            raise UnpicklingError("NEWOBJ arguments must be a tuple")
        stack.append(cls.__new__(cls, *args))

    def _op_newobj_ex(self, stack, memo):
        kwargs = self._pop()
        args = self._pop()
        cls = self._pop()
        self._check_newobj(cls)
        if type(args) is not tuple or type(kwargs) is not dict:
            raise UnpicklingError("NEWOBJ_EX arguments must be a tuple and a dict")
        stack.append(cls.__new__(cls, *args, **kwargs))

    def _check_newobj(self, cls: Any) -> None:
        if not isinstance(cls, type) or (
            cls not in (OrderedDict, Counter, set, frozenset, bytearray, complex)
            and id(cls) not in self._user_ids
            and cls is not _parameter_class()
        ):
            raise UnpicklingError(f"Trying to instantiate unsupported class {cls!r}")

    def _op_build(self, stack, memo):
        state = self._pop()
        inst = self._top()
        if type(inst) in (OrderedDict, Counter) or _is_tensor(inst):
            # OrderedDict carries state_dict's `_metadata`; tensors their Python attributes.
            if isinstance(state, tuple) and len(state) == 2:
                state, slots = state
                if slots:
                    raise UnpicklingError("slot state refused")
            if state is None:
                return
            if not isinstance(state, dict) or not all(type(k) is str for k in state):
                raise UnpicklingError(f"BUILD state for {type(inst).__name__} must be a dict")
            if _is_tensor(inst):
                for key, value in state.items():
                    setattr(inst, key, value)
            else:
                inst.__dict__.update(state)
            return
        if id(type(inst)) in self._user_ids:
            setstate = getattr(inst, "__setstate__", None)
            if setstate is not None:
                setstate(state)
                return
            if isinstance(state, tuple) and len(state) == 2:
                state, slots = state
                for key, value in (slots or {}).items():
                    setattr(inst, key, value)
            if state:
                inst.__dict__.update(state)
            return
        raise UnpicklingError(
            f"Tried to set the state of an object of type {type(inst).__name__}, which is "
            "not allowed in a weights-only load"
        )

    def _op_persid(self, stack, memo):
        pid = self._readline().decode("ascii")
        stack.append(self._persistent(pid))

    def _op_binpersid(self, stack, memo):
        stack.append(self._persistent(self._pop()))

    def _persistent(self, pid: Any) -> Any:
        if self._persistent_load is None:
            raise UnpicklingError("A load persistent id instruction was encountered")
        return self._persistent_load(pid)


def _is_tensor(obj: Any) -> bool:
    from ._C import Tensor

    return isinstance(obj, Tensor)


def _resolve_rtorch(module: str, name: str) -> Any:
    """The rtorch object a ``torch.*`` (or ``rtorch.*``) global names, or None."""
    import importlib

    target = "rtorch" + module[len("torch") :] if module.split(".")[0] == "torch" else module
    try:
        obj = importlib.import_module(target)
    except ImportError:
        return None
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


_OPCODES = {
    b"\x80": "proto",
    b"\x95": "frame",
    b"(": "mark",
    b"0": "pop",
    b"1": "pop_mark",
    b"2": "dup",
    b"N": "none",
    b"\x88": "true",
    b"\x89": "false",
    b"I": "int",
    b"J": "binint",
    b"K": "binint1",
    b"M": "binint2",
    b"L": "long",
    b"\x8a": "long1",
    b"\x8b": "long4",
    b"F": "float",
    b"G": "binfloat",
    b"T": "binstring",
    b"U": "short_binstring",
    b"B": "binbytes",
    b"C": "short_binbytes",
    b"\x8e": "binbytes8",
    b"\x96": "bytearray8",
    b"V": "unicode",
    b"\x8c": "short_binunicode",
    b"X": "binunicode",
    b"\x8d": "binunicode8",
    b"]": "empty_list",
    b"a": "append",
    b"e": "appends",
    b"l": "list",
    b")": "empty_tuple",
    b"t": "tuple",
    b"\x85": "tuple1",
    b"\x86": "tuple2",
    b"\x87": "tuple3",
    b"}": "empty_dict",
    b"d": "dict",
    b"s": "setitem",
    b"u": "setitems",
    b"\x8f": "empty_set",
    b"\x90": "additems",
    b"\x91": "frozenset",
    b"g": "get",
    b"h": "binget",
    b"j": "long_binget",
    b"p": "put",
    b"q": "binput",
    b"r": "long_binput",
    b"\x94": "memoize",
    b"c": "global",
    b"\x93": "stack_global",
    b"R": "reduce",
    b"\x81": "newobj",
    b"\x92": "newobj_ex",
    b"b": "build",
    b"P": "persid",
    b"Q": "binpersid",
}
_DISPATCH: list = [None] * 256
for _code, _name in _OPCODES.items():
    _DISPATCH[_code[0]] = getattr(Unpickler, f"_op_{_name}")
_STRUCTS = {fmt: struct.Struct(fmt) for fmt in ("<i", "<H", "<I", "<Q", ">d")}


def load(
    data: bytes,
    persistent_load: Callable[[Any], Any] | None = None,
    user_globals: dict[str, Any] | None = None,
    encoding: str = "utf-8",
) -> Any:
    """Unpickle ``data`` with the restricted interpreter."""
    return Unpickler(data, persistent_load, user_globals, encoding).load()
