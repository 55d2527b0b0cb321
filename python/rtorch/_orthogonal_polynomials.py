"""The orthogonal polynomials of ``torch.special``: Chebyshev T, U, V, W (and their shifted
forms on [0, 1]), Hermite H and He, Laguerre L and Legendre P of degree ``n``.

Each follows PyTorch's CPU kernel: ``n`` truncated to an integer, 0 for a negative ``n``,
closed forms at the ends of the interval, the trigonometric form for high degrees inside
it (Chebyshev), else the three-term recurrence, all in the result's dtype so that the
numbers agree. The recurrence runs on whole tensors, each element stopping at its own
degree. Not differentiable, as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _C
from ._C import Tensor

# A rule: (mask, value) over the broadcast (x, n); the first matching rule wins.
Rule = tuple[Tensor, Any]


def _operands(input: Any, n: Any) -> tuple[Tensor, Tensor]:
    """x in the promoted floating dtype and the degree as int64, broadcast together."""
    from ._composite_ops import broadcast_tensors

    x = input if isinstance(input, Tensor) else _C.tensor(input)
    d = n if isinstance(n, Tensor) else _C.tensor(n)
    dtype = _C.result_type(x, d)
    if not dtype.is_floating_point:
        dtype = _C.get_default_dtype()
    x, d = broadcast_tensors(x.detach().to(dtype), d.detach().to(dtype))
    # PyTorch casts the degree to int64 (truncation); NaN and inf become int64's minimum,
    # a negative degree.
    return x, d.to(_C.int64)


def _evaluate(
    x: Tensor,
    n: Tensor,
    rules: list[Rule],
    first: Tensor,
    step: Callable[[int, Tensor, Tensor], Tensor],
) -> Tensor:
    """Applies ``rules`` (then ``n == 0 -> 1`` and ``n == 1 -> first``) and runs the
    recurrence ``r = step(k, p, q)`` for the degrees 2..n of the other elements."""
    rules = [*rules, (n == 0, 1.0), (n == 1, first)]
    handled = _C.zeros_like(n, dtype=_C.bool)
    for mask, _ in rules:
        handled = handled | mask
    rest = n[~handled]
    top = int(rest.max()) if rest.numel() else 1
    p, q = _C.ones_like(x), first
    for k in range(2, top + 1):
        r = step(k, p, q)
        live = n >= k
        p, q = _C.where(live, q, p), _C.where(live, r, q)
    out = q
    for mask, value in reversed(rules):
        value = value if isinstance(value, Tensor) else _C.full_like(x, value)
        out = _C.where(mask, value, out)
    return out


def _chebyshev(x: Tensor, n: Tensor, kind: str, shifted: bool) -> Tensor:
    nf = n.to(x.dtype)
    # The shifted polynomials are the plain ones of 2x - 1, with their ends at x = 1, 0.
    t = x + x - 1.0 if shifted else x
    at_top = (x == 1.0) if shifted else (x.abs() == 1.0) & (x > 0)
    at_bottom = (x == 0.0) if shifted else (x.abs() == 1.0) & (x < 0)
    odd = n % 2 != 0
    one = _C.ones_like(x)
    if kind == "t":
        top, bottom = one, _C.where(odd, -one, one)
        threshold = 6
    elif kind == "u":
        top = nf + 1
        bottom = _C.where(odd, -(nf + 1), nf + 1)
        threshold = 8 if not shifted else 6
    elif kind == "v":
        top = one
        bottom = _C.where(odd, -(nf + nf + 1), nf + nf + 1)
        threshold = 8 if not shifted else 6
    else:
        top = nf + nf + 1
        bottom = _C.where(odd, -one, one)
        threshold = 8 if not shifted else 4
    inside = (n > threshold) & (t.abs() < 1.0)
    theta = _C.where(inside, t, _C.zeros_like(t)).acos()
    if kind == "t":
        trig = (nf * theta).cos()
    elif kind == "u":
        s = theta.sin()
        trig = _C.where(
            s != 0, ((nf + 1) * theta).sin() / s, (nf + 1) * ((nf + 1) * theta).cos() / t
        )
    elif kind == "v":
        half = theta / 2.0
        trig = _C.where(half.sin() != 1.0, ((nf + 0.5) * theta).cos() / half.cos(), bottom)
    else:
        half = theta / 2.0
        trig = _C.where(half.cos() != 1.0, ((nf + 0.5) * theta).sin() / half.sin(), top)
    first = {"t": t, "u": t + t, "v": t + t - 1.0, "w": t + t + 1.0}[kind]
    rules: list[Rule] = [
        (n < 0, 0.0),
        (at_top, top),
        (at_bottom, bottom),
        (inside, trig),
    ]
    two_t = t + t
    return _evaluate(x, n, rules, first, lambda k, p, q: two_t * q - p)


def _hermite_h(x: Tensor, n: Tensor) -> Tensor:
    two_x = x + x
    # H_{j} = 2x H_{j-1} - 2(j-1) H_{j-2}.
    return _evaluate(x, n, [(n < 0, 0.0)], two_x, lambda k, p, q: two_x * q - (2 * k - 2) * p)


def _hermite_he(x: Tensor, n: Tensor) -> Tensor:
    return _evaluate(x, n, [(n < 0, 0.0)], x, lambda k, p, q: x * q - (k - 1) * p)


def _laguerre(x: Tensor, n: Tensor) -> Tensor:
    one_minus = 1.0 - x

    def step(k: int, p: Tensor, q: Tensor) -> Tensor:
        j = k - 1
        return (((j + j) + one_minus) * q - j * p) / (j + 1)

    return _evaluate(x, n, [(n < 0, 0.0), (x.abs() == 0.0, 1.0)], one_minus, step)


def _legendre(x: Tensor, n: Tensor) -> Tensor:
    ends = x.abs() == 1.0
    end_value = _C.where((x > 0) | (n % 2 == 0), _C.ones_like(x), -_C.ones_like(x))

    def step(k: int, p: Tensor, q: Tensor) -> Tensor:
        j = k - 1
        return ((j + j + 1) * x * q - j * p) / (j + 1)

    return _evaluate(x, n, [(n < 0, 0.0), (ends, end_value)], x, step)


def _function(name: str, evaluate: Callable[[Tensor, Tensor], Tensor]):
    def f(input: Any, n: Any, *, out: Tensor | None = None) -> Tensor:
        x, d = _operands(input, n)
        result = evaluate(x, d)
        return out.copy_(result) if out is not None else result

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``torch.special.{name}(input, n)``: the degree-``n`` polynomial at ``input``."
    return f


FUNCTIONS = {
    f"{prefix}chebyshev_polynomial_{kind}": _function(
        f"{prefix}chebyshev_polynomial_{kind}",
        lambda x, n, kind=kind, shifted=bool(prefix): _chebyshev(x, n, kind, shifted),
    )
    for prefix in ("", "shifted_")
    for kind in "tuvw"
}
FUNCTIONS.update(
    {
        "hermite_polynomial_h": _function("hermite_polynomial_h", _hermite_h),
        "hermite_polynomial_he": _function("hermite_polynomial_he", _hermite_he),
        "laguerre_polynomial_l": _function("laguerre_polynomial_l", _laguerre),
        "legendre_polynomial_p": _function("legendre_polynomial_p", _legendre),
    }
)
