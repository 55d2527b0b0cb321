"""clamp / clamp_min / clamp_max gradients at and around their bounds (PyTorch 2.15).

Expected values are PyTorch 2.15's rules written out as closed forms:
- number bounds: the gradient passes only strictly inside (lo < x < hi);
- one tensor bound: maximum/minimum's rule (a tie splits evenly, NaN passes to both);
- two bounds with a tensor: x gets it where !(x < lo) and !(x > hi), lo where
  x < lo <= hi, hi where x > hi >= lo or everywhere when lo > hi; a tie of x with
  one bound splits evenly.
"""

from __future__ import annotations

import itertools
import math

import pytest

import rtorch

NAN = float("nan")
VALS = [-1.0, 0.0, 1.0, NAN]


def _grads(f, *vals):
    ts = [rtorch.tensor([v], dtype=rtorch.float64, requires_grad=True) for v in vals]
    f(*ts).sum().backward()
    return [t.grad.item() for t in ts]


def _b(c: bool) -> float:
    return 1.0 if c else 0.0


def _expect_two(x: float, lo: float, hi: float) -> list[float]:
    tl = _b(x == lo and x < hi)
    th = _b(x == hi and x > lo)
    gx = _b(not (x < lo) and not (x > hi)) - 0.5 * tl - 0.5 * th
    gl = _b(lo <= hi and x < lo) + 0.5 * tl
    gh = _b(lo > hi) + _b(lo <= hi and x > hi) + 0.5 * th
    return [gx, gl, gh]


@pytest.mark.parametrize("x,lo,hi", list(itertools.product(VALS, VALS, VALS)))
def test_two_tensor_bounds(x: float, lo: float, hi: float) -> None:
    got = _grads(lambda a, b, c: a.clamp(b, c), x, lo, hi)
    assert got == _expect_two(x, lo, hi)


@pytest.mark.parametrize("x,b", list(itertools.product(VALS, VALS)))
def test_one_tensor_bound(x: float, b: float) -> None:
    tie = x == b
    exp_min = [0.5, 0.5] if tie else [_b(not (x < b)), _b(not (x > b))]
    exp_max = [0.5, 0.5] if tie else [_b(not (x > b)), _b(not (x < b))]
    assert _grads(lambda a, c: a.clamp(min=c), x, b) == exp_min
    assert _grads(rtorch.clamp_min, x, b) == exp_min
    assert _grads(lambda a, c: a.clamp(max=c), x, b) == exp_max
    assert _grads(rtorch.clamp_max, x, b) == exp_max


@pytest.mark.parametrize(
    "lo,hi", [(lo, hi) for lo in VALS + [None] for hi in VALS + [None] if (lo, hi) != (None, None)]
)
def test_number_bounds(lo, hi) -> None:
    for x in VALS:
        want = _b((lo is None or x > lo) and (hi is None or x < hi))
        assert _grads(lambda a: a.clamp(lo, hi), x) == [want], (x, lo, hi)
        if hi is None:
            assert _grads(lambda a: rtorch.clamp_min(a, lo), x) == [want]
            assert _grads(lambda a: a.clamp_min(lo), x) == [want]
        if lo is None:
            assert _grads(lambda a: rtorch.clamp_max(a, hi), x) == [want]


def test_the_issue_repro() -> None:
    x = rtorch.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    x.clamp(-1, 1).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]


def test_inplace_and_activations_at_bounds() -> None:
    x = rtorch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0], dtype=rtorch.float64, requires_grad=True)
    x.mul(1).clamp_(-1, 1).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]
    x.grad = None
    x.mul(1).clamp_min_(-1).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]
    x.grad = None
    rtorch.nn.functional.hardtanh(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]
    y = rtorch.tensor([0.0, 3.0, 6.0, 7.0], dtype=rtorch.float64, requires_grad=True)
    rtorch.nn.functional.relu6(y).sum().backward()
    assert y.grad.tolist() == [0.0, 1.0, 0.0, 0.0]


def test_broadcast_bounds_reduce_to_their_shape() -> None:
    x = rtorch.tensor(
        [[-2.0, 0.5, 2.0], [1.0, -1.0, 0.0]], dtype=rtorch.float64, requires_grad=True
    )
    lo = rtorch.tensor([-1.0], dtype=rtorch.float64, requires_grad=True)
    hi = rtorch.tensor([[1.0], [1.0]], dtype=rtorch.float64, requires_grad=True)
    x.clamp(lo, hi).sum().backward()
    exp = [[_expect_two(v, -1.0, 1.0) for v in row] for row in x.tolist()]
    assert x.grad.tolist() == [[e[0] for e in row] for row in exp]
    assert lo.grad.tolist() == [sum(e[1] for row in exp for e in row)]
    assert hi.grad.tolist() == [[sum(e[2] for e in row)] for row in exp]


def test_grad_fn_names() -> None:
    x = rtorch.zeros(3, requires_grad=True)
    t = rtorch.zeros(3)
    assert x.clamp(-1, 1).grad_fn.name() == "ClampBackward1"
    assert x.clamp(min=-1).grad_fn.name() == "ClampBackward1"
    assert x.clamp(t, t).grad_fn.name() == "ClampBackward0"
    assert x.clamp(max=t).grad_fn.name() == "ClampBackward0"
    assert rtorch.clamp_min(x, -1).grad_fn.name() == "ClampMinBackward0"
    assert rtorch.clamp_min(x, t).grad_fn.name() == "ClampMinBackward1"
    assert rtorch.clamp_max(x, 1).grad_fn.name() == "ClampMaxBackward0"
    assert x.clamp_max(t).grad_fn.name() == "ClampMaxBackward1"


def test_gradcheck_away_from_ties() -> None:
    x = rtorch.tensor([-2.0, -0.3, 0.4, 2.5], dtype=rtorch.float64, requires_grad=True)
    lo = rtorch.tensor([-1.0, -1.0, -1.5, 0.0], dtype=rtorch.float64, requires_grad=True)
    hi = rtorch.tensor([1.0, 0.5, 1.0, 2.0], dtype=rtorch.float64, requires_grad=True)
    assert rtorch.autograd.gradcheck(lambda a, b, c: a.clamp(b, c), (x, lo, hi))
    assert rtorch.autograd.gradcheck(lambda a: a.clamp(-1.0, 1.0), (x,))
    assert math.isclose(x.clamp(lo, hi).sum().item(), -1.0 - 0.3 + 0.4 + 2.0)


def test_masked_positions_get_exact_zeros_whatever_the_upstream_gradient():
    # PyTorch masks: an infinite or NaN upstream gradient where x was clamped (or beaten)
    # gives 0 there, not inf * 0 = NaN; inside, it passes through unchanged.
    nan, inf = float("nan"), float("inf")
    up = rtorch.tensor([nan, inf, -inf, 1.0, nan])
    x = rtorch.tensor([0.5, 0.5, 3.0, 2.0, 1.5], requires_grad=True)

    def grads(f):
        x.grad = None
        f(x).backward(up)
        return [str(v) for v in x.grad.tolist()]

    assert grads(lambda t: t.clamp(min=1)) == ["0.0", "0.0", "-inf", "1.0", "nan"]
    assert grads(lambda t: t.clamp(1, 2)) == ["0.0", "0.0", "0.0", "0.0", "nan"]
    assert grads(lambda t: t.clamp(rtorch.ones(5), rtorch.full((5,), 2.0))) == [
        "0.0", "0.0", "0.0", "0.5", "nan",
    ]  # fmt: skip
    assert grads(lambda t: t.clamp(max=1)) == ["nan", "inf", "0.0", "0.0", "0.0"]
    assert grads(lambda t: rtorch.maximum(t, rtorch.ones(5))) == [
        "0.0",
        "0.0",
        "-inf",
        "1.0",
        "nan",
    ]
    assert grads(lambda t: rtorch.minimum(t, rtorch.ones(5))) == ["nan", "inf", "0.0", "0.0", "0.0"]
    # The legacy norm's nuclear order (the sum of the singular values) works again.
    assert rtorch.norm(rtorch.ones(3, 3), p="nuc").item() == pytest.approx(3.0, rel=1e-6)
    assert rtorch.ones(2, 3, 3).norm(p="nuc", dim=(1, 2)).tolist() == pytest.approx(
        [3.0, 3.0], rel=1e-6
    )
