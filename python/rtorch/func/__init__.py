"""``rtorch.func``: function transforms over rtorch's reverse-mode autograd.

``grad``, ``grad_and_value``, ``vjp``, ``jacrev`` and ``hessian`` build on
``autograd.grad`` with ``create_graph=True``, so they nest (``grad(grad(f))``); ``jvp``
transposes a vector-Jacobian product with a second reverse pass and ``jacfwd`` equals
``jacrev`` (there is no forward mode).
``functional_call`` runs a module with substituted parameters and buffers. ``vmap`` has
PyTorch's semantics but no batching rules: it calls ``func`` once per batch entry and
stacks the results (correct, not fast).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .. import _C
from .._C import Tensor

__all__ = [
    "functional_call",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "vjp",
    "vmap",
]


def _argnums_tuple(argnums: int | tuple[int, ...]) -> tuple[tuple[int, ...], bool]:
    if isinstance(argnums, int):
        return (argnums,), False
    if not isinstance(argnums, tuple) or not argnums:
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums).__name__}")
    return argnums, True


def _track(args: tuple, argnums: tuple[int, ...]) -> tuple[list, list]:
    """``args`` with the differentiated ones made graph leaves when they are not already
    part of a graph (a nested transform's inputs stay connected)."""
    args = list(args)
    tracked = []
    for i in argnums:
        if i >= len(args) or i < -len(args):
            raise RuntimeError(f"Got argnums={i} but only {len(args)} positional inputs")
        a = args[i]
        if not isinstance(a, Tensor):
            raise RuntimeError(  # noqa: TRY004 - PyTorch raises RuntimeError
                f"Expected argument {i} to be a Tensor, got {type(a).__name__}"
            )
        if not a.requires_grad:
            a = a.detach().requires_grad_(True)
            args[i] = a
        tracked.append(a)
    return args, tracked


def _outermost(args: tuple, nums: tuple[int, ...]) -> bool:
    """True when no differentiated input is part of a graph: then this transform is not
    nested in another and its results are returned without autograd history, as PyTorch
    unwraps them."""
    return not any(isinstance(args[i], Tensor) and args[i].requires_grad for i in nums
                   if -len(args) <= i < len(args))  # fmt: skip


def _detach(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.detach()
    if isinstance(value, tuple):
        return tuple(_detach(v) for v in value)
    if isinstance(value, list):
        return [_detach(v) for v in value]
    if isinstance(value, dict):
        return {k: _detach(v) for k, v in value.items()}
    return value


def grad_and_value(
    func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable:
    """A function returning ``(gradient, value)`` of the scalar-valued ``func`` with respect
    to the arguments ``argnums`` (``((gradient, (value, aux)))`` with ``has_aux``)."""
    nums, as_tuple = _argnums_tuple(argnums)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..autograd import enable_grad
        from ..autograd import grad as autograd_grad

        with enable_grad():
            call_args, tracked = _track(args, nums)
            result = func(*call_args, **kwargs)
            if has_aux:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        "grad_and_value(f)(*args): output of function f should be a tuple: "
                        "(output, aux) if has_aux is True"
                    )
                output, aux = result
            else:
                output, aux = result, None
            if not isinstance(output, Tensor):
                raise RuntimeError(  # noqa: TRY004 - PyTorch raises RuntimeError
                    "grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                    f"{type(output)}"
                )
            if output.dim() != 0:
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, "
                    f"got tensor with {output.dim()} dims. Maybe you wanted to use the vjp or "
                    "jacrev APIs instead?"
                )
            grads = autograd_grad(output, tracked, create_graph=True, allow_unused=True)
        grads = tuple(g if g is not None else _C.zeros_like(t) for g, t in zip(grads, tracked))
        grad_out = grads if as_tuple else grads[0]
        value = output if has_aux is False else (output, aux)
        if _outermost(args, nums):
            return _detach(grad_out), _detach(value)
        return grad_out, value

    return wrapper


def grad(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """A function returning the gradient of the scalar-valued ``func`` with respect to the
    arguments ``argnums`` (``(gradient, aux)`` with ``has_aux``)."""
    inner = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = inner(*args, **kwargs)
        if has_aux:
            return g, value[1]
        return g

    return wrapper


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> Any:
    """``(func(*primals), vjp_fn)``; ``vjp_fn(cotangents)`` gives the tuple of
    vector-Jacobian products for every primal."""
    from ..autograd import enable_grad
    from ..autograd import grad as autograd_grad

    outer = _outermost(primals, tuple(range(len(primals))))
    with enable_grad():
        args, tracked = _track(primals, tuple(range(len(primals))))
        result = func(*args)
    output, aux = result if has_aux else (result, None)

    def vjp_fn(cotangents: Any) -> tuple:
        outs = output if isinstance(output, tuple) else (output,)
        cots = cotangents if isinstance(cotangents, tuple) else (cotangents,)
        with enable_grad():
            grads = autograd_grad(outs, tracked, cots, create_graph=True, allow_unused=True)
        out = tuple(g if g is not None else _C.zeros_like(t) for g, t in zip(grads, tracked))
        return _detach(out) if outer else out

    if has_aux:
        return (_detach(output), vjp_fn, _detach(aux)) if outer else (output, vjp_fn, aux)
    return (_detach(output), vjp_fn) if outer else (output, vjp_fn)


def jacrev(
    func: Callable, argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False
) -> Callable:
    """A function returning the Jacobian of ``func`` with respect to ``argnums``, computed
    row by row with reverse mode (shape ``output.shape + input.shape``)."""
    nums, as_tuple = _argnums_tuple(argnums)

    @functools.wraps(func)
    def wrapper(*args: Any) -> Any:
        from ..autograd import enable_grad
        from ..autograd import grad as autograd_grad

        with enable_grad():
            call_args, tracked = _track(args, nums)
            result = func(*call_args)
            output, aux = result if has_aux else (result, None)
            flat = output.reshape(-1)
            rows: list[list[Tensor]] = [[] for _ in tracked]
            for k in range(flat.numel()):
                grads = autograd_grad(flat[k], tracked, retain_graph=True, create_graph=True,
                                      allow_unused=True)  # fmt: skip
                for j, (g, t) in enumerate(zip(grads, tracked)):
                    rows[j].append(g if g is not None else _C.zeros_like(t))
        jacs = tuple(
            (_C.stack(r) if r else _C.zeros(0, *t.shape, dtype=t.dtype)).reshape(
                *output.shape, *t.shape
            )
            for r, t in zip(rows, tracked)
        )
        jac = jacs if as_tuple else jacs[0]
        result = (jac, aux) if has_aux else jac
        return _detach(result) if _outermost(args, nums) else result

    return wrapper


def jvp(
    func: Callable, primals: Any, tangents: Any, *, strict: bool = False, has_aux: bool = False
) -> Any:
    """``(func(*primals), J @ tangents)``: the Jacobian-vector product, computed with two
    reverse passes (the transpose of a vector-Jacobian product), so it needs the function
    to be twice differentiable in rtorch's reverse mode."""
    from ..autograd import enable_grad
    from ..autograd import grad as autograd_grad

    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise RuntimeError(  # noqa: TRY004 - PyTorch raises RuntimeError
            "jvp(f, primals, tangents): Expected primals and tangents to be tuples. E.g. "
            "jvp(f, (x,), (t,))"
        )
    if len(primals) != len(tangents):
        raise RuntimeError(
            "jvp(f, primals, tangents): Expected primals and tangents to have the same python "
            f"structure. For example, if primals is a tuple of 3 tensors, tangents also must be. "
            f"Got primals with structure {len(primals)} and tangents with structure "
            f"{len(tangents)}"
        )
    outer = _outermost(primals, tuple(range(len(primals))))
    with enable_grad():
        args, tracked = _track(primals, tuple(range(len(primals))))
        result = func(*args)
        output, aux = result if has_aux else (result, None)
        outs = output if isinstance(output, tuple) else (output,)
        dummies = tuple(_C.zeros_like(o).requires_grad_(True) for o in outs)
        vjps = autograd_grad(outs, tracked, dummies, create_graph=True, allow_unused=True)
        pairs = [(v, t) for v, t in zip(vjps, tangents) if v is not None]
        jvps = autograd_grad(
            [v for v, _ in pairs], dummies, [t for _, t in pairs], create_graph=not outer,
            allow_unused=True,
        )  # fmt: skip
    jvps = tuple(j if j is not None else _C.zeros_like(o) for j, o in zip(jvps, outs))
    jvp_out = jvps if isinstance(output, tuple) else jvps[0]
    if outer:
        output, jvp_out, aux = _detach(output), _detach(jvp_out), _detach(aux)
    return (output, jvp_out, aux) if has_aux else (output, jvp_out)


def jacfwd(
    func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False, *,
    randomness: str = "error",
) -> Callable:  # fmt: skip
    """The Jacobian of ``func`` (same values as :func:`jacrev`; rtorch has no forward
    mode, so it is computed row by row in reverse mode)."""
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """The Hessian of the scalar-valued ``func``: ``jacrev(jacrev(func))``."""
    return jacrev(jacrev(func, argnums), argnums)


def _in_dims_list(in_dims: Any, n: int) -> list:
    if isinstance(in_dims, int) or in_dims is None:
        return [in_dims] * n
    if isinstance(in_dims, (tuple, list)):
        if len(in_dims) != n:
            raise ValueError(
                f"vmap(f, in_dims={tuple(in_dims)}, ...)(<inputs>): in_dims is not compatible "
                f"with the structure of `inputs`. in_dims has structure with {len(in_dims)} "
                f"leaves but inputs has {n}."
            )
        return list(in_dims)
    raise ValueError(f"vmap: in_dims must be an int, None or a tuple, got {in_dims!r}")


def vmap(
    func: Callable,
    in_dims: Any = 0,
    out_dims: Any = 0,
    randomness: str = "error",
    *,
    chunk_size: int | None = None,
) -> Callable:
    """Maps ``func`` over dimension ``in_dims`` of its inputs and stacks the results along
    ``out_dims``. Here ``func`` runs once per batch entry (see the module docstring)."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(
            f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}"
        )

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        dims = _in_dims_list(in_dims, len(args))
        sizes = {a.shape[d] for a, d in zip(args, dims) if d is not None and isinstance(a, Tensor)}
        if not sizes:
            raise ValueError(
                f"vmap({getattr(func, '__name__', 'f')}, in_dims={in_dims}, ...)(<inputs>): At "
                "least one of the inputs must be a Tensor with a dimension mapped by in_dims."
            )
        if len(sizes) != 1:
            raise ValueError(
                f"vmap: Expected all tensors to have the same size in the mapped dimension, "
                f"got sizes {sorted(sizes)} for the mapped dimension"
            )
        (batch,) = sizes
        results = []
        for i in range(batch):
            sliced = [a.select(d, i) if d is not None else a for a, d in zip(args, dims)]
            results.append(func(*sliced, **kwargs))
        first = results[0]
        if isinstance(first, tuple):
            outs = out_dims if isinstance(out_dims, (tuple, list)) else [out_dims] * len(first)
            return tuple(_C.stack([r[k] for r in results], outs[k]) for k in range(len(first)))
        return _C.stack(results, out_dims)

    return wrapper


def functional_call(
    module: Any,
    parameter_and_buffer_dicts: Any,
    args: Any = None,
    kwargs: dict | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """Calls ``module(*args, **kwargs)`` with its parameters and buffers replaced by the
    tensors in ``parameter_and_buffer_dicts`` (dotted names, as in ``state_dict``);
    the module is restored afterwards."""
    if isinstance(parameter_and_buffer_dicts, (list, tuple)):
        merged: dict[str, Any] = {}
        for d in parameter_and_buffer_dicts:
            for k in d:
                if k in merged:
                    raise ValueError(
                        f"{k} appeared in multiple dictionaries; behavior of functional call is "
                        "ambiguous"
                    )
            merged.update(d)
    else:
        merged = dict(parameter_and_buffer_dicts)
    if strict:
        expected = {n for n, _ in module.named_parameters()} | {
            n for n, _ in module.named_buffers()
        }
        missing = sorted(expected - set(merged))
        unexpected = sorted(set(merged) - expected)
        if missing or unexpected:
            parts = []
            if unexpected:
                parts.append("Unexpected key(s): " + ", ".join(f"'{k}'" for k in unexpected) + ".")
            if missing:
                parts.append("Missing key(s): " + ", ".join(f"'{k}'" for k in missing) + ".")
            raise RuntimeError(
                "Error(s) in reparametrizing for "
                + module._get_name()
                + ":\n\t"
                + "\n\t".join(parts)
            )
    saved: list[tuple[Any, str, str, Any]] = []
    try:
        for name, value in merged.items():
            owner = module
            *path, leaf = name.split(".")
            for part in path:
                owner = getattr(owner, part)
            if leaf in owner._parameters:
                saved.append((owner, "_parameters", leaf, owner._parameters[leaf]))
                owner._parameters[leaf] = value
            elif leaf in owner._buffers:
                saved.append((owner, "_buffers", leaf, owner._buffers[leaf]))
                owner._buffers[leaf] = value
            else:
                saved.append((owner, "attr", leaf, getattr(owner, leaf, None)))
                object.__setattr__(owner, leaf, value)
        call_args = () if args is None else (args if isinstance(args, tuple) else (args,))
        return module(*call_args, **(kwargs or {}))
    finally:
        for owner, kind, leaf, old in reversed(saved):
            if kind == "attr":
                object.__setattr__(owner, leaf, old)
            else:
                getattr(owner, kind)[leaf] = old
