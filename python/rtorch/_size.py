"""``rtorch.Size``: the type of ``Tensor.shape``, a tuple subclass as in PyTorch."""

from __future__ import annotations


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

    def __getitem__(self, key):  # slices of a Size are Sizes
        r = tuple.__getitem__(self, key)
        return Size(r) if isinstance(key, slice) else r

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __reduce__(self):
        return (Size, (tuple(self),))
