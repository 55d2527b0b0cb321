"""igamma / igammac (special.gammainc / gammaincc) against a 60-digit Decimal evaluation
of the series, closed forms (P(1, x) = 1 - e^-x), PyTorch's special values and errors,
and the gradient in x."""

from __future__ import annotations

import math
from decimal import Decimal, getcontext

import numpy as np
import pytest

import rtorch
from rtorch.autograd import gradcheck


def _lgamma_decimal(z: Decimal) -> Decimal:
    shift = Decimal(0)
    while z < 40:
        shift -= z.ln()
        z += 1
    inv = 1 / z
    inv2 = inv * inv
    series = inv * (
        Decimal(1) / 12
        - inv2 * (Decimal(1) / 360 - inv2 * (Decimal(1) / 1260 - inv2 * (Decimal(1) / 1680
                  - inv2 * Decimal(1) / 1188)))
    )  # fmt: skip
    half_log_2pi = Decimal("0.918938533204672741780329736405617639861397473637783412817151")
    return (z - Decimal("0.5")) * z.ln() - z + half_log_2pi + series + shift


def _p_reference(a: float, x: float) -> float:
    getcontext().prec = 60
    big_a, big_x = Decimal(a), Decimal(x)
    term = total = Decimal(1)
    ap = big_a
    for _ in range(20000):
        ap += 1
        term = term * big_x / ap
        total += term
        if term < total * Decimal("1e-40"):
            break
    return float((big_a * big_x.ln() - big_x - _lgamma_decimal(big_a + 1)).exp() * total)


POINTS = [(0.5, 0.2), (1.0, 1.0), (3.0, 5.0), (10.0, 8.0), (32.0917, 22.9946), (2.5, 30.0),
          (100.0, 90.0), (100.0, 110.0), (0.01, 0.5), (7.5, 7.5), (1000.0, 1010.0)]  # fmt: skip


def test_matches_decimal_series() -> None:
    a = rtorch.tensor([p[0] for p in POINTS], dtype=rtorch.float64)
    x = rtorch.tensor([p[1] for p in POINTS], dtype=rtorch.float64)
    got_p = rtorch.igamma(a, x).tolist()
    got_q = rtorch.special.gammaincc(a, x).tolist()
    for (av, xv), gp, gq in zip(POINTS, got_p, got_q):
        want = _p_reference(av, xv)
        assert gp == pytest.approx(want, rel=1e-11, abs=1e-15), (av, xv)
        assert gq == pytest.approx(1 - want, rel=1e-10, abs=1e-14), (av, xv)


def test_closed_form_and_special_values() -> None:
    x = rtorch.linspace(0.0, 20.0, 41, dtype=rtorch.float64)
    np.testing.assert_allclose(rtorch.igamma(rtorch.ones_like(x), x).numpy(),
                               -np.expm1(-x.numpy()), rtol=1e-13, atol=1e-16)  # fmt: skip
    p = rtorch.igamma(rtorch.tensor([0.0, -1.0, 2.0, math.inf, 2.0]),
                      rtorch.tensor([1.0, 1.0, 0.0, 3.0, math.inf]))  # fmt: skip
    q = rtorch.igammac(rtorch.tensor([0.0, -1.0, 2.0, math.inf, 2.0]),
                       rtorch.tensor([1.0, 1.0, 0.0, 3.0, math.inf]))  # fmt: skip
    assert p.tolist()[0] == 1.0 and math.isnan(p.tolist()[1]) and p.tolist()[2:] == [0.0, 0.0, 1.0]
    assert q.tolist()[0] == 0.0 and math.isnan(q.tolist()[1]) and q.tolist()[2:] == [1.0, 1.0, 0.0]
    assert rtorch.igamma(rtorch.tensor([2.0]), rtorch.tensor([-1.0])).isnan().all()
    assert rtorch.igamma(rtorch.tensor([1.0]), rtorch.tensor([[1.0], [2.0]])).shape == (2, 1)
    t = rtorch.tensor([2.0, 3.0])
    assert t.igamma(rtorch.tensor([1.0, 1.0])).dtype == rtorch.float32
    assert t.clone().igammac_(rtorch.tensor([1.0, 1.0])).tolist() == pytest.approx(
        rtorch.igammac(t, rtorch.tensor([1.0, 1.0])).tolist()
    )
    with pytest.raises(NotImplementedError, match="\"igamma_cpu\" not implemented for 'Long'"):
        rtorch.igamma(rtorch.tensor([1, 2]), rtorch.tensor([1, 2]))


def test_gradients() -> None:
    a = rtorch.tensor([0.5, 1.0, 3.0, 10.0], dtype=rtorch.float64)
    x = rtorch.tensor([0.2, 1.0, 5.0, 8.0], dtype=rtorch.float64, requires_grad=True)
    assert gradcheck(lambda v: rtorch.igamma(a, v), (x,))
    assert gradcheck(lambda v: rtorch.special.gammaincc(a, v), (x,))
    x.grad = None
    rtorch.igamma(a, x).sum().backward()
    want = [math.exp(-xv + (av - 1) * math.log(xv) - math.lgamma(av))
            for av, xv in zip(a.tolist(), x.tolist())]  # fmt: skip
    assert x.grad.tolist() == pytest.approx(want, rel=1e-12)
    a.requires_grad_(True)
    y = rtorch.special.gammainc(a, x)
    assert y.grad_fn.name() == "IgammaBackward0"
    with pytest.raises(NotImplementedError, match="the derivative for 'igamma: input' is not"):
        y.sum().backward()


def test_parity_with_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.uniform(0.01, 5, 200), rng.uniform(5, 200, 100)])
    x = np.concatenate([rng.uniform(0, 10, 200), a[200:] * rng.uniform(0.5, 1.5, 100)])
    # PyTorch switches to an asymptotic expansion for large a that is good to about
    # 2e-9 relative (checked against the Decimal series above): compare at 1e-8.
    for name in ("igamma", "igammac"):
        np.testing.assert_allclose(
            getattr(rtorch, name)(rtorch.tensor(a), rtorch.tensor(x)).numpy(),
            getattr(torch, name)(torch.tensor(a), torch.tensor(x)).numpy(), rtol=1e-8, atol=1e-300,
        )  # fmt: skip
