"""Finite-difference gradient checks (central differences, float64 recommended).

``gradcheck`` compares the Jacobian autograd computes (one backward per output
element) with central differences; inputs of any layout work: each perturbed input
is replaced by a contiguous copy that is perturbed in place through numpy.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable

from .. import _C

# numpy is imported inside the functions that use it: importing it costs about half of
# `import rtorch`, and these run only when a user calls them.
if TYPE_CHECKING:
    import numpy as np

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when analytical and numerical gradients differ."""


def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _diff_outputs(out: Any) -> list:
    """The differentiable (floating) tensor outputs of ``func``."""
    return [o for o in _as_tuple(out) if isinstance(o, _C.Tensor) and o.is_floating_point()]


def _np(t: Any) -> np.ndarray:
    import numpy as np

    # A copy: an output may alias the input being perturbed (e.g. a gradient that is
    # the incoming grad_output itself), and must not change when it is restored.
    return np.array(t.detach().double().numpy(), dtype=np.float64, copy=True).reshape(-1)


def _numerical(func: Callable, inputs: tuple, diff_idx: list, eps: float) -> list:
    """num[i][k]: d out_k / d inputs[i] as an (out_numel, in_numel) array."""
    import numpy as np

    result = []
    for i in diff_idx:
        x = inputs[i]
        copy = x.detach().clone().contiguous()
        args = list(inputs)
        args[i] = copy
        flat = copy.numpy().reshape(-1)
        base = _diff_outputs(func(*args))
        blocks = [np.zeros((o.numel(), x.numel())) for o in base]
        for j in range(x.numel()):
            orig = flat[j].item()
            flat[j] = orig + eps
            plus = [_np(o) for o in _diff_outputs(func(*args))]
            flat[j] = orig - eps
            minus = [_np(o) for o in _diff_outputs(func(*args))]
            flat[j] = orig
            for k in range(len(base)):
                blocks[k][:, j] = (plus[k] - minus[k]) / (2 * eps)
        result.append(blocks)
    return result


def _analytical(func: Callable, inputs: tuple, diff_idx: list) -> list:
    """ana[i][k] like ``_numerical``, from one backward per output element."""
    import numpy as np

    xs = [inputs[i] for i in diff_idx]
    outs = _diff_outputs(func(*inputs))
    blocks = [[np.zeros((o.numel(), x.numel())) for o in outs] for x in xs]
    for k, o in enumerate(outs):
        if not o.requires_grad:
            continue
        for r in range(o.numel()):
            seed = np.zeros(o.numel())
            seed[r] = 1.0
            seed_t = _C.tensor(seed.reshape(tuple(o.shape)), dtype=o.dtype)
            gs = _C._grad([o], xs, [seed_t], True, False, True, False)
            for i, g in enumerate(gs):
                if g is not None:
                    if tuple(g.shape) != tuple(xs[i].shape):
                        raise GradcheckError(
                            f"Gradient for input {diff_idx[i]} has shape {tuple(g.shape)}, "
                            f"expected {tuple(xs[i].shape)}"
                        )
                    blocks[i][k][r] = _np(g)
    return blocks


def _fail(msg: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(msg)
    return False


def _refuse_unimplemented(fn: str, **options: Any) -> None:
    """Options rtorch accepts for PyTorch's signature but does not implement raise
    when turned on, rather than passing silently."""
    on = [name for name, value in options.items() if value]
    if on:
        raise NotImplementedError(
            f"rtorch.autograd.{fn}: {', '.join(on)}=True is not implemented "
            "(only the reverse-mode full-Jacobian check is)"
        )


def gradcheck(
    func: Callable[..., Any],
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_batched_forward_grad: bool = False,
    check_forward_ad: bool = False,
    check_backward_ad: bool = True,
    fast_mode: bool = False,
    masked: bool | None = None,
) -> bool:
    """Checks autograd's gradients of ``func`` at ``inputs`` against central
    differences; raises ``GradcheckError`` (or returns False) on a mismatch."""
    import numpy as np

    _refuse_unimplemented(
        "gradcheck",
        check_grad_dtypes=check_grad_dtypes,
        check_batched_grad=check_batched_grad,
        check_batched_forward_grad=check_batched_forward_grad,
        check_forward_ad=check_forward_ad,
        fast_mode=fast_mode,
        masked=masked,
    )
    if not check_backward_ad:
        raise ValueError(
            "Expected at least one of check_forward_ad or check_backward_ad to be True"
        )
    inputs = _as_tuple(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, _C.Tensor) and x.requires_grad]
    if not diff_idx:
        raise ValueError(
            "gradcheck expects at least one input tensor to require gradient, but none "
            "of the them have requires_grad=True."
        )
    for i in diff_idx:
        if inputs[i].dtype != _C.float64:
            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point "
                "or complex. This check will likely fail if all the inputs are not of "
                "double precision floating point or complex. ",
                stacklevel=2,
            )
    num = _numerical(func, inputs, diff_idx, eps)
    ana = _analytical(func, inputs, diff_idx)
    for a, i in enumerate(diff_idx):
        for k, (nb, ab) in enumerate(zip(num[a], ana[a])):
            bad = np.abs(nb - ab) > atol + rtol * np.abs(nb)
            if bad.any():
                r, j = (int(v[0]) for v in np.nonzero(bad))
                with np.printoptions(precision=6, suppress=True, linewidth=120):
                    msg = (
                        f"Jacobian mismatch for output {k} with respect to input {i},\n"
                        f"numerical:{nb}\nanalytical:{ab}\n"
                        f"first mismatch at (output element {r}, input element {j}): "
                        f"numerical {nb[r, j]:.8g} vs analytical {ab[r, j]:.8g}\n"
                    )
                return _fail(msg, raise_exception)
    return True


def gradgradcheck(
    func: Callable[..., Any],
    inputs: Any,
    grad_outputs: Sequence[Any] | None = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    gen_non_contig_grad_outputs: bool = False,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_fwd_over_rev: bool = False,
    check_rev_over_rev: bool = True,
    fast_mode: bool = False,
    masked: bool = False,
) -> bool:
    """Checks second derivatives: ``gradcheck`` of the first gradients (computed with
    ``create_graph=True``) with respect to the inputs and the output gradients."""
    import numpy as np

    _refuse_unimplemented(
        "gradgradcheck",
        gen_non_contig_grad_outputs=gen_non_contig_grad_outputs,
        check_grad_dtypes=check_grad_dtypes,
        check_batched_grad=check_batched_grad,
        check_fwd_over_rev=check_fwd_over_rev,
        fast_mode=fast_mode,
        masked=masked,
    )
    if not check_rev_over_rev:
        raise ValueError(
            "Expected at least one of check_fwd_over_rev or check_rev_over_rev to be True"
        )
    inputs = _as_tuple(inputs)
    n = len(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, _C.Tensor) and x.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        outs = _diff_outputs(func(*inputs))
        grad_outputs = tuple(
            _C.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype).requires_grad_(True)
            for o in outs
        )
    grad_outputs = _as_tuple(grad_outputs)
    n_go = len(grad_outputs)

    def first_grads(*args: Any) -> tuple:
        prev = _C.is_grad_enabled()
        _C._set_grad_enabled(True)
        try:
            xs = list(args[:n])
            for i in diff_idx:
                if not xs[i].requires_grad:
                    xs[i] = xs[i].detach().requires_grad_(True)
            gos = args[n : n + n_go]
            outs = _diff_outputs(func(*xs))
            pairs = [(o, g) for o, g in zip(outs, gos) if o.requires_grad]
            targets = [xs[i] for i in diff_idx]
            if not pairs:
                return tuple(_C.zeros_like(t) for t in targets)
            gs = _C._grad(
                [o for o, _ in pairs], targets, [g for _, g in pairs], True, True, True, False
            )
            return tuple(_C.zeros_like(t) if g is None else g for g, t in zip(gs, targets))
        finally:
            _C._set_grad_enabled(prev)

    return gradcheck(
        first_grads,
        inputs + tuple(grad_outputs),
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
    )
