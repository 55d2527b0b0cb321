"""``torch.torch_version``: ``TorchVersion``, the ``str`` subclass of ``torch.__version__``
that compares as a version, against strings (``"2.1"``), tuples (``(2, 1)``) and
``packaging`` versions, falling back to string comparison for unparsable operands.

PEP 440 ordering comes from ``packaging`` when it is installed, else from the small
parser below (release, pre-, post-, dev-release and local segments; no dependency).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from .version import __version__ as internal_version

__all__ = ["InvalidVersion", "TorchVersion", "Version", "internal_version"]

_PATTERN = re.compile(
    r"""^\s*v?
    (?:(?P<epoch>\d+)!)?
    (?P<release>\d+(?:\.\d+)*)
    (?:[-_.]?(?P<pre_l>alpha|beta|preview|pre|rc|a|b|c)[-_.]?(?P<pre_n>\d*))?
    (?:-(?P<post_n1>\d+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>\d*))?
    (?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>\d*))?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
    \s*$""",
    re.VERBOSE | re.IGNORECASE,
)
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}


class InvalidVersion(ValueError):
    """A string that is not a PEP 440 version."""


class _Version:
    """A PEP 440 version ordered as ``packaging.version.Version`` orders it."""

    __slots__ = ("_key", "_text")

    def __init__(self, text: str) -> None:
        m = _PATTERN.match(text)
        if m is None:
            raise InvalidVersion(f"Invalid version: {text!r}")
        self._text = text
        release = [int(p) for p in m["release"].split(".")]
        while len(release) > 1 and release[-1] == 0:  # 2.0.0 == 2.0 == 2
            release.pop()
        has_post = m["post_n1"] is not None or m["post_l"] is not None
        has_dev = m["dev_l"] is not None
        # Each part is a tuple whose first item ranks "absent" against "present".
        if m["pre_l"] is not None:
            pre: tuple = (1, _PRE_RANK[m["pre_l"].lower()], int(m["pre_n"] or 0))
        elif has_dev and not has_post:
            pre = (0,)  # 1.0.dev0 sorts before 1.0a0
        else:
            pre = (2,)
        post = (1, int(m["post_n1"] or m["post_n2"] or 0)) if has_post else (0,)
        dev = (0, int(m["dev_n"] or 0)) if has_dev else (1,)
        if m["local"] is None:
            local: tuple = (0,)
        else:
            parts = re.split(r"[-_.]", m["local"].lower())
            # Numeric parts sort after alphanumeric ones, numerically.
            local = (1, tuple((1, int(p), "") if p.isdigit() else (0, 0, p) for p in parts))
        self._key = (int(m["epoch"] or 0), tuple(release), pre, post, dev, local)

    def __repr__(self) -> str:
        return f"<Version('{self._text}')>"

    def __str__(self) -> str:
        return self._text

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Version):
            return NotImplemented
        return self._key == other._key

    def __lt__(self, other: Any) -> bool:
        if not isinstance(other, _Version):
            return NotImplemented
        return self._key < other._key


try:
    from packaging.version import InvalidVersion, Version  # type: ignore[assignment]
except ImportError:  # no packaging: the parser above
    Version = functools.total_ordering(_Version)  # type: ignore[misc]


def _as_version(value: Any) -> Any:
    if isinstance(value, Version):
        return value
    if isinstance(value, str):
        return Version(value)
    if isinstance(value, Iterable):  # (2, 1) -> "2.1"
        return Version(".".join(str(part) for part in value))
    raise InvalidVersion(value)


def _compare(name: str) -> Any:
    def method(self: TorchVersion, other: Any) -> Any:
        try:
            return getattr(Version(str(self)), name)(_as_version(other))
        except InvalidVersion:
            # Not a version (e.g. a word, or an int): compare as the plain strings.
            return getattr(str, name)(self, other)

    method.__name__ = name
    return method


class TorchVersion(str):
    """``torch.__version__``: a ``str`` that compares as a PEP 440 version against
    strings, tuples of numbers and ``packaging`` versions."""

    __slots__ = ()

    __lt__ = _compare("__lt__")
    __le__ = _compare("__le__")
    __gt__ = _compare("__gt__")
    __ge__ = _compare("__ge__")
    __eq__ = _compare("__eq__")
    __ne__ = _compare("__ne__")
    __hash__ = str.__hash__
