"""Finite-difference gradient checks (float64 central differences)."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from .. import _C


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when analytical and numerical gradients differ."""


def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(func: Callable, inputs: tuple) -> list:
    return [o for o in _as_tuple(func(*inputs)) if isinstance(o, _C.Tensor)]


def _numerical_jacobian(func: Callable, inputs: tuple, i: int, eps: float) -> list:
    """Jacobian blocks d(out_k)/d(inputs[i]) as nested lists [k][out_elem][in_elem]."""
    x = inputs[i]
    flat = x.detach().numpy().reshape(-1) if x.is_contiguous() else None
    if flat is None:
        raise GradcheckError("gradcheck needs contiguous inputs to perturb")
    with _C_no_grad():
        base = _outputs(func, inputs)
        cols: list[list[list[float]]] = [[[0.0] * x.numel() for _ in range(o.numel())] for o in base]
        for j in range(x.numel()):
            orig = float(flat[j])
            flat[j] = orig + eps
            plus = [o.detach().reshape(-1).tolist() for o in _outputs(func, inputs)]
            flat[j] = orig - eps
            minus = [o.detach().reshape(-1).tolist() for o in _outputs(func, inputs)]
            flat[j] = orig
            for k in range(len(base)):
                for r in range(len(plus[k])):
                    cols[k][r][j] = (plus[k][r] - minus[k][r]) / (2 * eps)
    return cols


class _C_no_grad:
    def __enter__(self) -> None:
        self.prev = _C.is_grad_enabled()
        _C._set_grad_enabled(False)

    def __exit__(self, *a: Any) -> None:
        _C._set_grad_enabled(self.prev)


def _analytical_jacobian(func: Callable, inputs: tuple, i: int, create_graph: bool = False) -> list:
    outs = _outputs(func, inputs)
    x = inputs[i]
    rows_all = []
    for o in outs:
        rows = []
        if not o.requires_grad:
            rows_all.append([[0.0] * x.numel() for _ in range(o.numel())])
            continue
        for r in range(o.numel()):
            seed = _C.zeros(o.numel(), dtype=o.dtype)
            seed_np = seed.numpy()
            seed_np[r] = 1.0
            (g,) = _C._grad([o], [x], [seed.reshape(o.shape)], True, create_graph, True, False)
            rows.append([0.0] * x.numel() if g is None else g.reshape(-1).tolist())
        rows_all.append(rows)
    return rows_all


def gradcheck(
    func: Callable[..., Any],
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **_unused: Any,
) -> bool:
    """Compares autograd gradients of ``func`` at ``inputs`` with central differences.

    Inputs that require grad should be float64 and contiguous.
    """
    inputs = _as_tuple(inputs)
    for i, x in enumerate(inputs):
        if not (isinstance(x, _C.Tensor) and x.requires_grad):
            continue
        if x.dtype != _C.float64:
            import warnings

            warnings.warn("gradcheck input is not float64: results may be inaccurate")
        num = _numerical_jacobian(func, inputs, i, eps)
        ana = _analytical_jacobian(func, inputs, i)
        for k, (nb, ab) in enumerate(zip(num, ana)):
            for r, (nrow, arow) in enumerate(zip(nb, ab)):
                for j, (n, a) in enumerate(zip(nrow, arow)):
                    if abs(n - a) > atol + rtol * abs(n):
                        msg = (
                            f"Jacobian mismatch for output {k} with respect to input {i}, "
                            f"at (output element {r}, input element {j}): "
                            f"numerical {n} vs analytical {a}"
                        )
                        if raise_exception:
                            raise GradcheckError(msg)
                        return False
    return True


def gradgradcheck(
    func: Callable[..., Any],
    inputs: Any,
    grad_outputs: Sequence[Any] | None = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **_unused: Any,
) -> bool:
    """Checks second derivatives: gradcheck of the first gradients (create_graph)."""
    inputs = _as_tuple(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, _C.Tensor) and x.requires_grad]

    def first_grads(*xs: Any) -> tuple:
        prev = _C.is_grad_enabled()
        _C._set_grad_enabled(True)
        try:
            return _first_grads(*xs)
        finally:
            _C._set_grad_enabled(prev)

    def _first_grads(*xs: Any) -> tuple:
        outs = _outputs(func, xs)
        seeds = grad_outputs
        if seeds is None:
            seeds = [_C.ones_like(o) for o in outs]
        gs = _C._grad(outs, [xs[i] for i in diff_idx], list(seeds), True, True, True, False)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, inputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
