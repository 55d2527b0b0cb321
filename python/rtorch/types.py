# ruff: noqa: PYI042, PYI047 (PyTorch's lower-case private alias names, exported for other modules)
"""Type aliases used in annotations, as ``torch.types``.

``Number``, ``Device``, ``FileLike`` and ``Storage`` are public (PyTorch's ``__all__``); the
underscored aliases are what PyTorch's own signatures and many libraries' annotations use.

rtorch has no symbolic shapes (no ``SymInt``/``SymFloat``/``SymBool``), so the ``*LikeType``
aliases are the plain Python types and ``py_sym_types`` is empty; quantization types
(``qscheme``) do not exist either, so ``_qscheme`` is left out.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, Self, TypeAlias, Union

from rtorch import Size, Tensor
from rtorch import device as _device
from rtorch import dtype as _dtype
from rtorch import layout as _layout  # noqa: F401 (torch.types._layout)

if TYPE_CHECKING:
    from rtorch.autograd.graph import GradientEdge

__all__ = ["Device", "FileLike", "Number", "Storage"]

# Python's own types under the names PyTorch's stubs use (``_int`` is ``int``, …).
_bool = bool
_complex = complex
_float = float
_int = int
_str = str
_bytes = bytes

_TensorOrTensors: TypeAlias = Tensor | Sequence[Tensor]
_TensorOrOptionalTensors: TypeAlias = Tensor | Sequence[Tensor | None]
_TensorOrTensorsOrGradEdge: TypeAlias = Union[
    Tensor, Sequence[Tensor], "GradientEdge", Sequence["GradientEdge"]
]

_size: TypeAlias = Size | list[int] | tuple[int, ...]
_symsize: TypeAlias = Size | Sequence[int]
_dispatchkey: TypeAlias = str

# Without symbolic values, the "like" types are the concrete ones.
IntLikeType: TypeAlias = int
FloatLikeType: TypeAlias = float
BoolLikeType: TypeAlias = bool
py_sym_types: tuple[type, ...] = ()

_Number = (int, float, bool)
Number: TypeAlias = int | float | bool

Device: TypeAlias = _device | str | int | None

FileLike: TypeAlias = Union[str, os.PathLike[str], IO[bytes]]


class Storage:
    """The interface of a storage, for annotations (as ``torch.types.Storage``): concrete
    storages are ``rtorch.UntypedStorage`` and ``rtorch.TypedStorage``, which do not derive
    from it. Its methods only document the interface."""

    _cdata: int
    device: _device
    dtype: _dtype
    _torch_load_uninitialized: bool

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        raise NotImplementedError

    def _new_shared(self, size: int) -> Self:
        raise NotImplementedError

    def element_size(self) -> int:
        """Bytes per element."""
        raise NotImplementedError

    def is_shared(self) -> bool:
        """Whether the storage is in shared memory."""
        raise NotImplementedError

    def share_memory_(self) -> Self:
        """Moves the storage to shared memory."""
        raise NotImplementedError

    def nbytes(self) -> int:
        """The storage's size in bytes."""
        raise NotImplementedError

    def cpu(self) -> Self:
        """The storage on the CPU."""
        raise NotImplementedError

    def data_ptr(self) -> int:
        """The address of the first byte."""
        raise NotImplementedError
