"""``Parameter`` and ``Buffer``: the tensor kinds that ``Module`` registers on assignment."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from .. import _utils
from .._C import Tensor

__all__ = ["Buffer", "Parameter", "UninitializedBuffer", "UninitializedParameter", "is_lazy"]


def _alias_as(cls: type, data: Tensor, requires_grad: bool) -> Tensor:
    """A ``cls`` instance sharing ``data``'s storage (and version counter), detached."""
    return Tensor._make_subclass(cls, data, requires_grad)


class Parameter(Tensor):
    r"""A kind of Tensor that is to be considered a module parameter.

    Parameters are :class:`~rtorch.Tensor` subclasses that are automatically added to a
    :class:`~rtorch.nn.Module`'s parameters when assigned as its attributes. The
    parameter shares storage with ``data`` (no copy).

    Args:
        data (Tensor): parameter tensor. Default: an empty float tensor.
        requires_grad (bool, optional): if the parameter requires gradient. Default: ``True``

    Example::

        >>> p = nn.Parameter(torch.zeros(2))
        >>> p
        Parameter containing:
        tensor([0., 0.], requires_grad=True)
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:  # noqa: PYI034
        if data is None:
            data = Tensor()
        elif not isinstance(data, Tensor):
            raise TypeError(
                f"Parameter.__new__(): argument 'data' must be Tensor, not {type(data).__name__}"
            )
        return _alias_as(cls, data, requires_grad)

    def __deepcopy__(self, memo: dict) -> Parameter:
        found = memo.get(id(self))
        if found is not None:
            return found
        result = type(self)(self.data.clone(), self.requires_grad)
        if self.__dict__:
            import copy

            result.__dict__.update(copy.deepcopy(self.__dict__, memo))
        memo[id(self)] = result
        return result

    def __repr__(self) -> str:
        return "Parameter containing:\n" + Tensor.__repr__(self)

    def __reduce_ex__(self, proto: int) -> tuple:
        # Plain data plus requires_grad, like PyTorch; hooks are not pickled.
        # The rebuild functions live in rtorch._utils, as PyTorch's in torch._utils.
        state = self.__dict__
        if state:
            return (
                _utils._rebuild_parameter_with_state,
                (self.data, self.requires_grad, OrderedDict(), dict(state)),
            )
        return (_utils._rebuild_parameter, (self.data, self.requires_grad, OrderedDict()))


class _BufferMeta(type(Tensor)):
    """Makes ``isinstance(t, Buffer)`` true for any tensor marked by ``Buffer(...)``."""

    def __instancecheck__(cls, instance: Any) -> bool:
        if cls is Buffer:
            return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)
        return super().__instancecheck__(instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    r"""A kind of Tensor that is a module's state but not a parameter (``torch.nn.Buffer``).

    Assigning a ``Buffer`` as a module attribute registers it as a buffer, e.g. BatchNorm's
    ``running_mean``. ``Buffer(t)`` returns a plain tensor aliasing ``t``, marked so that
    ``isinstance(b, Buffer)`` holds.

    Args:
        data (Tensor): buffer tensor.
        persistent (bool, optional): whether the buffer is part of the module's
            :attr:`state_dict`. Default: ``True``
    """

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Tensor:
        if data is None:
            data = Tensor()
        t = data.detach().requires_grad_(data.requires_grad)
        t.persistent = persistent
        t._is_buffer = True
        return t


class UninitializedTensorMixin:
    """What uninitialized parameters and buffers share: no shape until ``materialize``."""

    cls_to_become: type = Tensor

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        r"""Creates the tensor's data with ``shape`` (uninitialized values), on ``device``
        and of ``dtype`` (default: the ones given at construction), and turns this object
        into a ``cls_to_become`` (``Parameter`` or ``Tensor``) in place."""
        import rtorch

        if device is None:
            device = self.data.device
        if dtype is None:
            dtype = self.data.dtype
        if isinstance(shape, int):
            shape = (shape,)
        self.data = rtorch.empty(tuple(shape), device=device, dtype=dtype)
        self.__class__ = self.cls_to_become

    @property
    def shape(self) -> Any:
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error "
            "usually happens in `load_state_dict` when trying to load an uninitialized "
            "parameter into an initialized one. Call `forward` to initialize the parameters "
            "before accessing their attributes."
        )

    def share_memory_(self) -> Any:
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
            "initialize the parameters before calling `module.share_memory()`."
        )

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__}>"

    def __reduce_ex__(self, proto: int) -> tuple:
        return (self.__class__, (self.requires_grad,))


def is_lazy(param: Any) -> bool:
    """True if ``param`` is an uninitialized parameter or buffer."""
    return isinstance(param, UninitializedTensorMixin)


def _empty_of(device: Any, dtype: Any) -> Tensor:
    import rtorch

    return rtorch.empty(0, device=device, dtype=dtype)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    r"""A parameter whose shape is not known yet (``torch.nn.UninitializedParameter``).

    Lazy modules (:class:`~rtorch.nn.LazyLinear`, …) hold these until their first
    ``forward`` infers the shape and calls :meth:`materialize`, which turns the object into
    a regular :class:`Parameter` in place.
    """

    cls_to_become = Parameter

    def __new__(  # noqa: PYI034
        cls, requires_grad: bool = True, device: Any = None, dtype: Any = None
    ) -> UninitializedParameter:
        return _alias_as(cls, _empty_of(device, dtype), requires_grad)

    def __deepcopy__(self, memo: dict) -> UninitializedParameter:
        found = memo.get(id(self))
        if found is None:
            found = type(self)(self.requires_grad, self.data.device, self.data.dtype)
            memo[id(self)] = found
        return found


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    r"""A buffer whose shape is not known yet (``torch.nn.UninitializedBuffer``);
    :meth:`materialize` turns it into a plain tensor in place."""

    cls_to_become = Tensor

    def __new__(  # noqa: PYI034
        cls, requires_grad: bool = False, device: Any = None, dtype: Any = None
    ) -> UninitializedBuffer:
        return _alias_as(cls, _empty_of(device, dtype), requires_grad)
