"""``rtorch.Size``: the type of ``Tensor.shape``, a tuple subclass as in PyTorch."""

from __future__ import annotations

from . import _C


class Size(tuple):
    """A tuple of dimension sizes. ``x.shape == (2, 3)`` is True."""

    def __repr__(self) -> str:
        return f"torch.Size([{', '.join(str(d) for d in self)}])"

    def numel(self) -> int:
        """Number of elements a tensor of this shape holds."""
        n = 1
        for d in self:
            n *= d
        return n

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        _C._install_size_subscript(cls)

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __reduce__(self):
        return (Size, (tuple(self),))


# Slices of a Size are Sizes: tuple's indexing with that one change, installed as the
# type's C slot (here and on subclasses). A Python `__getitem__` made every
# `x.shape[0]` a Python call, and CPython calls such a method directly, past the slot.
_C._install_size_subscript(Size)
