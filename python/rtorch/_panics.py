"""The message of a Rust panic that reaches Python (each one is a bug in rtorch).

pyo3 raises ``PanicException`` for a panic inside any binding; the extension re-bases it
onto ``RuntimeError`` (so ``except Exception`` catches it) and records where in Rust the
panic happened. This module rewrites the message to name the call, as written in the
calling Python line, and to ask for a report. The call is read from the caller's frame
(the bytecode position of the call, Python 3.11+), not from Rust symbols: the released
extension is stripped.
"""

from __future__ import annotations

import ast
import dis
import linecache
import sys
from types import FrameType
from typing import Any, Callable


def call_source(frame: FrameType) -> str:
    """The call or expression that `frame` is executing, as written (`''` if unknown)."""
    code = frame.f_code
    # The instruction at f_lasti, or the one whose inline caches it points into.
    at = None
    for ins in dis.get_instructions(code):
        if ins.offset > frame.f_lasti:
            break
        at = ins
    pos = getattr(at, "positions", None)  # Python 3.11+
    if pos is None or pos.lineno is None or pos.end_lineno is None:
        return ""
    lines = [
        linecache.getline(code.co_filename, n).encode()
        for n in range(pos.lineno, pos.end_lineno + 1)
    ]
    if not all(lines) or pos.col_offset is None or pos.end_col_offset is None:
        return ""
    # Column offsets count UTF-8 bytes.
    if len(lines) == 1:
        text = lines[0][pos.col_offset : pos.end_col_offset]
    else:
        text = lines[0][pos.col_offset :] + b"".join(lines[1:-1]) + lines[-1][: pos.end_col_offset]
    source = " ".join(text.decode(errors="replace").split())
    try:
        node = ast.parse(f"({source})", mode="eval").body
    except SyntaxError:
        return ""
    if isinstance(node, ast.Call):
        return f"{ast.unparse(node.func)}()"
    return source if len(source) <= 80 else ""


def install(panic_exception: type, take_location: Callable[[], str | None]) -> None:
    """Gives `panic_exception` rtorch's message (it already derives from RuntimeError)."""

    def __init__(self: BaseException, *args: Any) -> None:
        if len(args) == 1 and isinstance(args[0], str) and "internal error" not in args[0]:
            location = take_location()
            try:
                # Frame 0 is this function; frame 1 made the call that panicked.
                op = call_source(sys._getframe(1))
            except Exception:  # noqa: BLE001 (naming the op must never hide the panic)
                op = ""
            where = f" at {location}" if location else ""
            message = (
                f"{op or 'an rtorch operation'}: internal error (Rust panic{where}: "
                f"{args[0]}). This is a bug in rtorch; please report it."
            )
            args = (message,)
        RuntimeError.__init__(self, *args)

    panic_exception.__init__ = __init__  # type: ignore[misc]
