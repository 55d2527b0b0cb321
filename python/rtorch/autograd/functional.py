"""``rtorch.autograd.functional``: Jacobians, Hessians and vector products of functions.

All of these are built on reverse mode (``autograd.grad``); ``jvp`` uses the
double-backward trick. ``strict`` and ``vectorize`` are accepted and ignored.
"""

from __future__ import annotations

from typing import Any, Callable

from .. import _C
from .grad_mode import enable_grad

# numpy is imported inside the functions that use it: importing it costs about half of
# `import rtorch`, and these run only when a user calls them.

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(x: Any, arg_name: str, fn_name: str) -> tuple[bool, tuple]:
    is_tuple = isinstance(x, (tuple, list))
    items = tuple(x) if is_tuple else (x,)
    for i, el in enumerate(items):
        if not isinstance(el, _C.Tensor):
            if is_tuple:
                raise TypeError(
                    f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple "
                    f"of Tensors but the value at index {i} has type {type(el)}."
                )
            raise TypeError(
                f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of "
                f"Tensors but the given {arg_name} has type {type(el)}."
            )
    return is_tuple, items


def _prepare(inputs: tuple, create_graph: bool) -> tuple:
    """Fresh leaves requiring grad (or views keeping history under create_graph)."""
    out = []
    for x in inputs:
        if create_graph and x.requires_grad:
            out.append(x.view_as(x))
        else:
            out.append(x.detach().requires_grad_(True))
    return tuple(out)


def _finish(ts: tuple, create_graph: bool) -> tuple:
    return tuple(t if create_graph or t is None else t.detach() for t in ts)


def _grad(
    outputs: tuple,
    inputs: tuple,
    grad_outputs: tuple | None,
    create_graph: bool,
    retain_graph: bool | None = None,
) -> tuple:
    """``autograd.grad`` that tolerates outputs without history (zero gradients)."""
    outs, seeds = [], []
    for i, o in enumerate(outputs):
        if o.requires_grad:
            outs.append(o)
            seeds.append(None if grad_outputs is None else grad_outputs[i])
    if not outs:
        return tuple(_C.zeros_like(x) for x in inputs)
    retain = create_graph if retain_graph is None else retain_graph
    gs = _C._grad(outs, list(inputs), seeds, retain, create_graph, True, False)
    return tuple(_C.zeros_like(x) if g is None else g for g, x in zip(gs, inputs))


def _check_v(v: tuple, outputs: tuple, what: str, fn_name: str) -> None:
    if len(v) != len(outputs):
        raise RuntimeError(
            f"v is a tuple of invalid length: should be {len(outputs)} but got {len(v)}."
        )
    for i, (a, b) in enumerate(zip(v, outputs)):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(
                f"Entry {i} in v has invalid size: should be {tuple(b.shape)} but got "
                f"{tuple(a.shape)}."
            )


def _ones_for_scalars(outputs: tuple, fn_name: str, what: str) -> tuple:
    if len(outputs) != 1 or outputs[0].numel() != 1:
        raise RuntimeError(
            f"The vector v can only be None if the {what} is a single Tensor with a single element."
        )
    return (_C.ones_like(outputs[0]),)


def _unwrap(is_tuple: bool, ts: tuple) -> Any:
    return ts if is_tuple else ts[0]


def vjp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple:
    """Returns ``(func(inputs), v^T J)``."""
    with enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        xs = _prepare(inputs, create_graph)
        out_tuple, outputs = _as_tuple(func(*xs), "outputs of the user-provided function", "vjp")
        if v is None:
            vs = _ones_for_scalars(outputs, "vjp", "user-provided function returns")
        else:
            _, vs = _as_tuple(v, "v", "vjp")
            _check_v(vs, outputs, "v", "vjp")
        grads = _grad(outputs, xs, vs, create_graph)
    return (
        _unwrap(out_tuple, _finish(outputs, create_graph)),
        _unwrap(in_tuple, _finish(grads, create_graph)),
    )


def jvp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple:
    """Returns ``(func(inputs), J v)`` (by the double-backward trick)."""
    with enable_grad():
        _in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        xs = _prepare(inputs, create_graph)
        if v is None:
            if len(xs) != 1 or xs[0].numel() != 1:
                raise RuntimeError(
                    "The vector v can only be None if the input to the user-provided "
                    "function is a single Tensor with a single element."
                )
            vs = (_C.ones_like(xs[0]),)
        else:
            _, vs = _as_tuple(v, "v", "jvp")
            _check_v(vs, xs, "v", "jvp")
        out_tuple, outputs = _as_tuple(func(*xs), "outputs of the user-provided function", "jvp")
        # g(u) = u^T J is linear in u; its vjp with v is J v.
        us = tuple(_C.zeros_like(o).requires_grad_(True) for o in outputs)
        gs = _grad(outputs, xs, us, create_graph=True)
        pairs = [(g, vv) for g, vv in zip(gs, vs) if g.requires_grad]
        if pairs:
            res = _C._grad(
                [g for g, _ in pairs],
                list(us),
                [vv for _, vv in pairs],
                True,
                create_graph,
                True,
                False,
            )
            res = tuple(_C.zeros_like(o) if r is None else r for r, o in zip(res, outputs))
        else:
            res = tuple(_C.zeros_like(o) for o in outputs)
    return (
        _unwrap(out_tuple, _finish(outputs, create_graph)),
        _unwrap(out_tuple, _finish(res, create_graph)),
    )


def _onehot(like: Any, k: int) -> Any:
    import numpy as np

    arr = np.zeros(like.numel(), dtype=np.float64)
    arr[k] = 1.0
    return _C.tensor(arr.reshape(tuple(like.shape)), dtype=like.dtype)


def _jacobian_blocks(outputs: tuple, xs: tuple, create_graph: bool) -> list:
    """blocks[i][j] = d outputs[i] / d xs[j], shaped out_i.shape + x_j.shape."""
    import numpy as np

    blocks = []
    for o in outputs:
        rows: list[list[Any]] = [[] for _ in xs]
        for k in range(o.numel()):
            gs = _grad((o,), xs, (_onehot(o, k),), create_graph, retain_graph=True)
            for j, g in enumerate(gs):
                rows[j].append(g)
        row_blocks = []
        for j, x in enumerate(xs):
            shape = tuple(o.shape) + tuple(x.shape)
            if create_graph:
                # Differentiable assembly: sum_k e_k (outer) g_k.
                acc = _C.zeros(shape, dtype=x.dtype)
                for k, g in enumerate(rows[j]):
                    e = _onehot(o, k).reshape(tuple(o.shape) + (1,) * x.dim())
                    acc = acc + e * g.reshape((1,) * o.dim() + tuple(x.shape))
                row_blocks.append(acc)
            else:
                np_dtype = np.float64
                data = np.zeros((o.numel(), x.numel()), dtype=np_dtype)
                for k, g in enumerate(rows[j]):
                    data[k] = np.asarray(g.detach().double().numpy()).reshape(-1)
                row_blocks.append(_C.tensor(data.reshape(shape), dtype=x.dtype))
        blocks.append(tuple(row_blocks))
    return blocks


def jacobian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The Jacobian of ``func`` at ``inputs`` (blocks shaped out.shape + in.shape)."""
    with enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        xs = _prepare(inputs, create_graph)
        out_tuple, outputs = _as_tuple(
            func(*xs), "outputs of the user-provided function", "jacobian"
        )
        blocks = _jacobian_blocks(outputs, xs, create_graph)
    if out_tuple:
        return tuple(_unwrap(in_tuple, b) for b in blocks)
    return _unwrap(in_tuple, blocks[0])


def hessian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of a scalar function (blocks shaped in_i.shape + in_j.shape)."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def grad_func(*xs: Any) -> tuple:
        out = func(*xs)
        _, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        if len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError(
                "The function given to hessian should return a single Tensor with a single element."
            )
        return _grad(outs, xs, None, create_graph=True)

    with enable_grad():
        xs = _prepare(inputs, create_graph)
        blocks = _jacobian_blocks(grad_func(*xs), xs, create_graph)
    if in_tuple:
        return tuple(tuple(b) for b in blocks)
    return blocks[0][0]


def vhp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple:
    """Returns ``(func(inputs), v^T H)``."""
    with enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "vhp")
        xs = _prepare(inputs, create_graph)
        if v is None:
            if len(xs) != 1 or xs[0].numel() != 1:
                raise RuntimeError(
                    "The vector v can only be None if the input to the user-provided "
                    "function is a single Tensor with a single element."
                )
            vs = (_C.ones_like(xs[0]),)
        else:
            _, vs = _as_tuple(v, "v", "vhp")
            _check_v(vs, xs, "v", "vhp")
        _, outputs = _as_tuple(func(*xs), "outputs of the user-provided function", "vhp")
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError(
                "The function given to vhp should return a single Tensor with a single element."
            )
        gs = _grad(outputs, xs, None, create_graph=True)
        res = _grad(gs, xs, vs, create_graph)
    return (_finish(outputs, create_graph)[0], _unwrap(in_tuple, _finish(res, create_graph)))


def hvp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple:
    """Returns ``(func(inputs), H v)`` (equal to ``vhp`` for twice-differentiable f)."""
    return vhp(func, inputs, v, create_graph, strict)
