r"""Pruning of module parameters, as ``torch.nn.utils.prune``.

Pruning ``module.<name>`` re-registers the original values as the parameter
``<name>_orig``, stores a 0/1 ``<name>_mask`` buffer, and installs the pruning method as a
forward pre-hook that recomputes ``module.<name> = <name>_orig * <name>_mask`` (a plain
tensor attribute) before each forward. Pruning the same tensor again combines the methods in
a :class:`PruningContainer`, each later method acting only on the entries (or channels) the
earlier ones kept. :func:`remove` makes the pruning permanent.

The deterministic methods (:class:`L1Unstructured`, :class:`LnStructured`) keep the same
entries as PyTorch, ties included: PyTorch chooses with ``torch.topk``, whose choice among
equal values on the CPU is replayed by :mod:`._topk_selection`.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import rtorch
from rtorch import Tensor

from ._topk_selection import topk_indices

__all__ = [
    "BasePruningMethod",
    "CustomFromMask",
    "Identity",
    "L1Unstructured",
    "LnStructured",
    "PruningContainer",
    "RandomStructured",
    "RandomUnstructured",
    "custom_from_mask",
    "global_unstructured",
    "identity",
    "is_pruned",
    "l1_unstructured",
    "ln_structured",
    "random_structured",
    "random_unstructured",
    "remove",
]


class BasePruningMethod(ABC):
    r"""Abstract base of the pruning methods.

    A subclass defines :meth:`compute_mask` and ``PRUNING_TYPE`` (``"unstructured"``,
    ``"structured"`` with a ``dim`` attribute, or ``"global"``), which tells a
    :class:`PruningContainer` what part of an already pruned tensor a further method sees.
    """

    _tensor_name: str
    PRUNING_TYPE: str

    def __call__(self, module: Any, inputs: Any) -> None:
        """The forward pre-hook: sets ``module.<name>`` to the masked original."""
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        r"""The mask for ``t``: ``default_mask`` (the mask so far) with more entries zeroed.

        Args:
            t (Tensor): the importance scores (the parameter's values by default).
            default_mask (Tensor): the mask from earlier pruning, of ``t``'s shape.
        """

    def apply_mask(self, module: Any) -> Tensor:
        """``<name>_orig * <name>_mask`` of ``module`` (the mask in the parameter's dtype)."""
        if getattr(self, "_tensor_name", None) is None:
            raise AssertionError(f"Module {module} has to be pruned")
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(
        cls,
        module: Any,
        name: str,
        *args: Any,
        importance_scores: Tensor | None = None,
        **kwargs: Any,
    ) -> BasePruningMethod:
        r"""Prunes ``module.<name>`` with a new ``cls(*args, **kwargs)``.

        Args:
            module (nn.Module): the module holding the tensor.
            name (str): the parameter's name within ``module``.
            importance_scores (Tensor, optional): scores, of the parameter's shape, that
                decide which entries go (the parameter's own values by default).

        Returns:
            The method (or the :class:`PruningContainer` combining it with earlier ones)
            installed as the forward pre-hook.
        """
        method = _combined_method(cls, module, name, args, kwargs)
        orig = getattr(module, name)
        if importance_scores is not None:
            if importance_scores.shape != orig.shape:
                raise AssertionError(
                    f"importance_scores should have the same shape as parameter {name} of "
                    f"{module}, got {importance_scores.shape} vs {orig.shape}"
                )
        else:
            importance_scores = orig
        first_pruning = not isinstance(method, PruningContainer)
        if first_pruning:
            # The original values move to <name>_orig; <name> becomes a computed tensor.
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = rtorch.ones_like(orig)
        else:
            default_mask = getattr(module, name + "_mask").detach().clone()
        try:
            mask = method.compute_mask(importance_scores, default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if first_pruning:
                orig = getattr(module, name + "_orig")
                module.register_parameter(name, orig)
                del module._parameters[name + "_orig"]
            raise
        return method

    def prune(
        self,
        t: Tensor,
        default_mask: Tensor | None = None,
        importance_scores: Tensor | None = None,
    ) -> Tensor:
        r"""``t`` times the mask this method computes for it (no module involved).

        Args:
            t (Tensor): the tensor to prune.
            default_mask (Tensor, optional): the mask so far (all ones by default).
            importance_scores (Tensor, optional): scores of ``t``'s shape deciding what goes.
        """
        if importance_scores is not None:
            if importance_scores.shape != t.shape:
                raise AssertionError("importance_scores should have the same shape as tensor t")
        else:
            importance_scores = t
        default_mask = default_mask if default_mask is not None else rtorch.ones_like(t)
        return t * self.compute_mask(importance_scores, default_mask=default_mask)

    def remove(self, module: Any) -> None:
        r"""Makes the pruning of ``module`` permanent: ``<name>`` becomes a parameter again
        holding the masked values; ``<name>_orig`` and ``<name>_mask`` go. (The hook itself
        is removed by the module-level :func:`remove`.)"""
        if getattr(self, "_tensor_name", None) is None:
            # PyTorch reads the attribute first, so an unapplied method fails the same way.
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '_tensor_name'")
        weight = self.apply_mask(module)
        if hasattr(module, self._tensor_name):
            delattr(module, self._tensor_name)
        orig = module._parameters[self._tensor_name + "_orig"]
        orig.data = weight.data
        del module._parameters[self._tensor_name + "_orig"]
        del module._buffers[self._tensor_name + "_mask"]
        setattr(module, self._tensor_name, orig)


def _combined_method(
    cls: type, module: Any, name: str, args: tuple, kwargs: dict
) -> BasePruningMethod:
    """The new method, combined with the one already pruning ``module.<name>`` (whose hook
    goes; the caller installs the result)."""
    old_method = None
    found = []
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            old_method = hook
            found.append(key)
    if len(found) > 1:
        raise AssertionError(
            f"Avoid adding multiple pruning hooks to the same tensor {name} of module "
            f"{module}. Use a PruningContainer."
        )
    for key in found:
        del module._forward_pre_hooks[key]
    method = cls(*args, **kwargs)
    method._tensor_name = name
    if old_method is not None:
        if isinstance(old_method, PruningContainer):
            old_method.add_pruning_method(method)
            method = old_method
        else:
            container = PruningContainer(old_method)
            container.add_pruning_method(method)
            method = container
    return method


class PruningContainer(BasePruningMethod):
    r"""A sequence of pruning methods applied one after another to the same tensor.

    Each method only sees what the earlier ones kept: the unpruned entries (unstructured),
    the channels with an unpruned entry (structured, along the method's ``dim``), or the
    whole tensor (global).
    """

    def __init__(self, *args: BasePruningMethod) -> None:
        self._pruning_methods: tuple[BasePruningMethod, ...] = ()
        if len(args) == 1:
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
        else:
            for method in args:
                self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod | None) -> None:
        """Appends ``method`` (which must act on the container's tensor)."""
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError(
                "Can only add pruning methods acting on the parameter named "
                f"'{self._tensor_name}' to PruningContainer {self}. "
                f"Found '{method._tensor_name}'"
            )
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self) -> Iterator[BasePruningMethod]:
        return iter(self._pruning_methods)

    def __getitem__(self, idx: int) -> BasePruningMethod:
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        r"""``default_mask`` further pruned by the last method, applied to the slice of
        ``t`` that the mask so far leaves (see the class docstring)."""
        method = self._pruning_methods[-1]
        new_mask = default_mask.to(dtype=t.dtype)
        kind = method.PRUNING_TYPE
        if kind == "unstructured":
            slc: Any = default_mask == 1
        elif kind == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError(
                    "Pruning methods of PRUNING_TYPE 'structured' need to have the "
                    "attribute `dim` defined."
                )
            n_dims = t.dim()
            dim = method.dim
            if dim < 0:
                dim = n_dims + dim
            if dim < 0:
                raise IndexError(f"Index is out of bounds for tensor with dimensions {n_dims}")
            others = [d for d in range(n_dims) if d != dim]
            keep_channel = default_mask.sum(dim=others) != 0
            parts: list[Any] = [slice(None)] * n_dims
            parts[dim] = keep_channel
            slc = tuple(parts)
        elif kind == "global":
            slc = tuple([slice(None)] * t.dim())
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {kind}")
        partial_mask = method.compute_mask(t[slc], default_mask=default_mask[slc])
        new_mask[slc] = partial_mask.to(dtype=new_mask.dtype)
        return new_mask


class Identity(BasePruningMethod):
    """Prunes nothing: the mask is all ones (used to reparametrize a tensor as pruned)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """``default_mask`` unchanged."""
        return default_mask

    @classmethod
    def apply(cls, module: Any, name: str) -> BasePruningMethod:  # type: ignore[override]
        """Installs the identity pruning on ``module.<name>``."""
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    r"""Prunes ``amount`` entries chosen uniformly at random.

    Args:
        amount (int or float): how many entries to prune; a float in ``[0, 1]`` is a
            fraction of the entries (rounded half to even), an int an absolute count.
    """

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount: float) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """``default_mask`` with ``amount`` random entries set to zero."""
        # The entries of the k largest uniform draws go.
        return _prune_entries(
            t,
            default_mask,
            self.amount,
            lambda k: rtorch.topk(rtorch.rand_like(t).reshape(-1), k=k).indices,
        )

    @classmethod
    def apply(cls, module: Any, name: str, amount: float) -> BasePruningMethod:  # type: ignore[override]
        """Prunes ``module.<name>`` at random."""
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    r"""Prunes the ``amount`` entries of smallest absolute value.

    Args:
        amount (int or float): how many entries to prune; a float in ``[0, 1]`` is a
            fraction of the entries (rounded half to even), an int an absolute count.
    """

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount: float) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """``default_mask`` with the ``amount`` entries of smallest ``|t|`` set to zero."""
        return _prune_entries(
            t,
            default_mask,
            self.amount,
            lambda k: _topk_like_torch(rtorch.abs(t).reshape(-1), k, largest=False),
        )

    @classmethod
    def apply(  # type: ignore[override]
        cls,
        module: Any,
        name: str,
        amount: float,
        importance_scores: Tensor | None = None,
    ) -> BasePruningMethod:
        """Prunes the smallest entries (by ``|importance_scores|``) of ``module.<name>``."""
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    r"""Prunes ``amount`` whole channels along ``dim``, chosen at random.

    Args:
        amount (int or float): how many channels to prune (a float is a fraction).
        dim (int): the dimension whose slices are the channels (default: -1).
    """

    PRUNING_TYPE = "structured"

    def __init__(self, amount: float, dim: int = -1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """``default_mask`` times a mask zero on ``amount`` random channels."""
        nparams_toprune = _channels_to_prune(t, self.dim, self.amount)
        if nparams_toprune == 0:
            return default_mask
        # The channels whose uniform draw exceeds the nparams_toprune-th smallest stay.
        prob = rtorch.rand(t.shape[self.dim])
        threshold = rtorch.kthvalue(prob, k=nparams_toprune).values
        return _channel_mask(t, self.dim, prob > threshold, default_mask)

    @classmethod
    def apply(cls, module: Any, name: str, amount: float, dim: int = -1) -> BasePruningMethod:  # type: ignore[override]
        """Prunes random channels of ``module.<name>``."""
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    r"""Prunes the ``amount`` channels along ``dim`` of smallest ``L_n`` norm.

    Args:
        amount (int or float): how many channels to prune (a float is a fraction).
        n (int, float, inf, -inf, 'fro', 'nuc'): the norm, as ``torch.norm``'s ``p``.
        dim (int): the dimension whose slices are the channels (default: -1).
    """

    PRUNING_TYPE = "structured"

    def __init__(self, amount: float, n: Any, dim: int = -1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """``default_mask`` times a mask keeping the channels of largest norm."""
        nparams_toprune = _channels_to_prune(t, self.dim, self.amount)
        if nparams_toprune == 0:
            return default_mask
        nparams_tokeep = t.shape[self.dim] - nparams_toprune
        norm = _compute_norm(t, self.n, self.dim)
        keep = _topk_like_torch(norm, nparams_tokeep, largest=True)
        return _channel_mask(t, self.dim, keep, default_mask)

    @classmethod
    def apply(  # type: ignore[override]
        cls,
        module: Any,
        name: str,
        amount: float,
        n: Any,
        dim: int,
        importance_scores: Tensor | None = None,
    ) -> BasePruningMethod:
        """Prunes the channels of smallest norm (of ``importance_scores``) of ``module.<name>``."""
        return super().apply(
            module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores
        )


class CustomFromMask(BasePruningMethod):
    r"""Prunes with a given mask (multiplied into the mask so far).

    Args:
        mask (Tensor): the mask, of the pruned tensor's shape.
    """

    PRUNING_TYPE = "global"

    def __init__(self, mask: Tensor) -> None:
        self.mask = mask

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """``default_mask * mask``."""
        if default_mask.shape != self.mask.shape:
            raise AssertionError(
                f"mask of shape {tuple(self.mask.shape)} does not match the tensor's "
                f"shape {tuple(default_mask.shape)}"
            )
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module: Any, name: str, mask: Tensor) -> BasePruningMethod:  # type: ignore[override]
        """Prunes ``module.<name>`` with ``mask``."""
        return super().apply(module, name, mask=mask)


# ---------------------------------------------------------------------- functions


def identity(module: Any, name: str) -> Any:
    r"""Reparametrizes ``module.<name>`` as pruned with an all-ones mask; returns ``module``."""
    Identity.apply(module, name)
    return module


def random_unstructured(module: Any, name: str, amount: float) -> Any:
    r"""Prunes ``amount`` random entries of ``module.<name>``; returns ``module``."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(
    module: Any, name: str, amount: float, importance_scores: Tensor | None = None
) -> Any:
    r"""Prunes the ``amount`` entries of ``module.<name>`` of smallest absolute value (of
    ``importance_scores`` if given); returns ``module``."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: Any, name: str, amount: float, dim: int) -> Any:
    r"""Prunes ``amount`` random channels along ``dim`` of ``module.<name>``; returns
    ``module``."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(
    module: Any,
    name: str,
    amount: float,
    n: Any,
    dim: int,
    importance_scores: Tensor | None = None,
) -> Any:
    r"""Prunes the ``amount`` channels along ``dim`` of ``module.<name>`` of smallest
    ``L_n`` norm (of ``importance_scores`` if given); returns ``module``."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(
    parameters: Iterable[tuple[Any, str]],
    pruning_method: type,
    importance_scores: dict | None = None,
    **kwargs: Any,
) -> None:
    r"""Prunes several tensors together: ``pruning_method(**kwargs)`` (an unstructured
    method) decides on all their entries at once, as one flattened vector.

    Args:
        parameters (Iterable of (module, name) pairs): the tensors to prune.
        pruning_method (type): an unstructured pruning method class, e.g. L1Unstructured.
        importance_scores (dict, optional): ``{(module, name): scores}``; a tensor's own
            values where missing.
        kwargs: the method's arguments (e.g. ``amount``).
    """
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    from .convert_parameters import parameters_to_vector

    relevant_scores = parameters_to_vector(
        [
            importance_scores.get((module, name), getattr(module, name))
            for module, name in parameters
        ]
    )
    default_mask = parameters_to_vector(
        [
            getattr(module, name + "_mask", rtorch.ones_like(getattr(module, name)))
            for module, name in parameters
        ]
    )
    container = PruningContainer()
    container._tensor_name = "temp"
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(
            'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found '
            f"method {pruning_method} of type {method.PRUNING_TYPE}"
        )
    container.add_pruning_method(method)
    final_mask = container.compute_mask(relevant_scores, default_mask)
    pointer = 0
    for module, name in parameters:
        param = getattr(module, name)
        num_param = param.numel()
        param_mask = final_mask[pointer : pointer + num_param].view_as(param)
        custom_from_mask(module, name, mask=param_mask)
        pointer += num_param


def custom_from_mask(module: Any, name: str, mask: Tensor) -> Any:
    r"""Prunes ``module.<name>`` with ``mask`` (times any earlier mask); returns ``module``."""
    CustomFromMask.apply(module, name, mask)
    return module


def remove(module: Any, name: str) -> Any:
    r"""Makes the pruning of ``module.<name>`` permanent and removes its hook, ``<name>_orig``
    and ``<name>_mask``; returns ``module``.

    Raises:
        ValueError: if ``module.<name>`` is not pruned.
    """
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(
        f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed"
    )


def is_pruned(module: Any) -> bool:
    r"""Whether ``module`` or one of its submodules has a pruning hook."""
    for _, submodule in module.named_modules():
        for hook in submodule._forward_pre_hooks.values():
            if isinstance(hook, BasePruningMethod):
                return True
    return False


# ---------------------------------------------------------------------- helpers


def _topk_like_torch(values: Tensor, k: int, largest: bool) -> Tensor:
    """The indices of PyTorch's CPU ``topk(values, k, largest)`` (1-D ``values``), ties
    resolved as PyTorch resolves them: where the k-th and (k+1)-th values are equal, the
    choice is replayed with libstdc++'s selection; otherwise any topk is the same set."""
    n = values.numel()
    if 0 < k < n:
        # kthvalue orders NaN last, as the comparators do for both directions.
        kth, nxt = (k, k + 1) if not largest else (n - k + 1, n - k)
        a = rtorch.kthvalue(values, kth).values.item()
        b = rtorch.kthvalue(values, nxt).values.item()
        if a == b or (a != a and b != b):  # noqa: PLR0124 (NaN tests)
            chosen = topk_indices(values.tolist(), k, largest)
            return rtorch.tensor(chosen, dtype=rtorch.int64)
    return rtorch.topk(values, k=k, largest=largest).indices


def _prune_entries(
    t: Tensor, default_mask: Tensor, amount: Any, choose: Callable[[int], Tensor]
) -> Tensor:
    """``default_mask`` with the entries ``choose(k)`` names (indices into the flattened
    ``t``) set to zero, ``k`` the number of entries ``amount`` asks to prune."""
    nparams_toprune = _compute_nparams_toprune(amount, t.nelement())
    mask = default_mask.clone().contiguous()
    if nparams_toprune != 0:
        mask.view(-1)[choose(nparams_toprune)] = 0
    return mask


def _channels_to_prune(t: Tensor, dim: int, amount: Any) -> int:
    """The number of channels along ``dim`` that ``amount`` asks to prune, after the
    checks of structured pruning."""
    _validate_structured_pruning(t)
    _validate_pruning_dim(t, dim)
    return _compute_nparams_toprune(amount, t.shape[dim])


def _channel_mask(t: Tensor, dim: int, channels: Tensor, default_mask: Tensor) -> Tensor:
    """``default_mask`` times a mask of ``t``'s shape and dtype that is one on ``channels``
    (indices or a bool mask) along ``dim`` and zero elsewhere."""
    mask = rtorch.zeros_like(t)
    parts: list[Any] = [slice(None)] * t.dim()
    parts[dim] = channels
    mask[tuple(parts)] = 1
    mask *= default_mask.to(dtype=mask.dtype)
    return mask


def _compute_norm(t: Tensor, n: Any, dim: int) -> Tensor:
    """The ``L_n`` norm of each channel of ``t`` along ``dim`` (over all other dims)."""
    dims = list(range(t.dim()))
    if dim < 0:
        dim = dims[dim]
    dims.remove(dim)
    return rtorch.norm(t, p=n, dim=dims)


def _validate_pruning_amount_init(amount: Any) -> None:
    """``amount`` must be a non-negative int or a float in ``[0, 1]``."""
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
        not isinstance(amount, numbers.Integral) and (float(amount) > 1.0 or float(amount) < 0.0)
    ):
        raise ValueError(
            f"amount={amount} should either be a float in the range [0, 1] or a "
            "non-negative integer"
        )


def _validate_pruning_amount(amount: Any, tensor_size: int) -> None:
    """An integer ``amount`` must not exceed the number of entries (or channels)."""
    if isinstance(amount, numbers.Integral) and amount > tensor_size:
        raise ValueError(
            f"amount={amount} should be smaller than the number of parameters to "
            f"prune={tensor_size}"
        )


def _validate_structured_pruning(t: Tensor) -> None:
    """Structured pruning needs at least two dimensions."""
    shape = t.shape
    if len(shape) <= 1:
        raise ValueError(
            "Structured pruning can only be applied to multidimensional tensors. Found "
            f"tensor of shape {shape} with {len(shape)} dims"
        )


def _validate_pruning_dim(t: Tensor, dim: int) -> None:
    """``dim`` must be below ``t.dim()`` (negative dims are left to indexing)."""
    if dim >= t.dim():
        raise IndexError(f"Invalid index {dim} for tensor of size {t.shape}")


def _compute_nparams_toprune(amount: Any, tensor_size: int) -> int:
    """The number of entries to prune: ``amount`` itself, or ``round(amount * size)``."""
    _validate_pruning_amount(amount, tensor_size)
    if isinstance(amount, numbers.Integral):
        return amount
    return round(amount * tensor_size)
