"""i0 / special.i0e / i1 / i1e against the integral I_n(x) = (1/π)∫₀^π e^{x cos t} cos(nt) dt
(trapezoid rule, exponentially accurate for this periodic integrand) in float64, their
gradients by gradcheck and closed forms, and the rest of rtorch.special against numpy
and math closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rtorch
import rtorch.special as sp
from rtorch.autograd import gradcheck

# numpy 2 renamed trapz to trapezoid (the test extra allows numpy 1.22).
_trapezoid = getattr(np, "trapezoid", None) or np.trapz

XS = [0.0, 1e-3, 0.5, 1.0, -2.0, 5.5, -12.0, 19.9, 20.0, 20.1, -27.0, 45.0, 120.0, 700.0]


def _scaled_ref(x: float, n: int) -> float:
    """e^{-|x|} I_n(x) by the trapezoid rule on [0, π]."""
    t = np.linspace(0.0, np.pi, 20001)
    f = np.exp(abs(x) * (np.cos(t) - 1.0)) * np.cos(n * t)
    val = _trapezoid(f, t) / np.pi
    return val * (np.sign(x) if n == 1 else 1.0)


@pytest.mark.parametrize(
    ("fn", "n", "scaled"),
    [
        (rtorch.i0, 0, False),
        (sp.i0e, 0, True),
        (sp.i1, 1, False),
        (sp.i1e, 1, True),
    ],
)
def test_against_integral(fn, n: int, scaled: bool) -> None:
    got = fn(rtorch.tensor(XS, dtype=rtorch.float64)).tolist()
    for x, g in zip(XS, got):
        want = _scaled_ref(x, n) * (1.0 if scaled else math.exp(abs(x)))
        assert g == pytest.approx(want, rel=1e-13, abs=1e-300), x


def test_i0_matches_numpy_i0() -> None:
    x = np.linspace(-30, 30, 241)
    np.testing.assert_allclose(rtorch.i0(rtorch.tensor(x)).numpy(), np.i0(x), rtol=1e-13)


def test_dtypes_and_special_values() -> None:
    assert rtorch.i0(rtorch.tensor([0, 1])).dtype == rtorch.float32
    assert rtorch.i0(rtorch.tensor([True])).tolist() == pytest.approx([1.2660658])
    assert sp.i1(rtorch.tensor([1], dtype=rtorch.int32)).dtype == rtorch.float32
    assert rtorch.i0(rtorch.tensor([1.0], dtype=rtorch.float16)).dtype == rtorch.float16
    assert rtorch.i0(rtorch.tensor([800.0])).tolist() == [math.inf]
    assert rtorch.i0(rtorch.tensor([800.0], dtype=rtorch.float64)).tolist() == [math.inf]
    assert sp.i1(rtorch.tensor([-800.0])).tolist() == [-math.inf]
    inf = rtorch.tensor([math.inf, -math.inf])
    assert sp.i0e(inf).tolist() == [0.0, 0.0] and sp.i1e(inf).tolist() == [0.0, -0.0]
    nan = rtorch.tensor([math.nan])
    for fn in (rtorch.i0, sp.i0e, sp.i1, sp.i1e):
        assert math.isnan(fn(nan).item())
    t = rtorch.tensor([1.0, 2.0])
    assert t.i0().tolist() == rtorch.i0(t).tolist()
    u = t.clone()
    assert u.i0_() is u and u.tolist() == rtorch.i0(t).tolist()


def test_gradients() -> None:
    x = rtorch.tensor(
        [-25.0, -3.0, -0.4, 0.7, 4.0, 19.5, 33.0], dtype=rtorch.float64, requires_grad=True
    )
    for fn in (rtorch.i0, sp.i0e, sp.i1, sp.i1e):
        assert gradcheck(fn, (x,))
    # Closed forms: I0' = I1, I1'(0) = 1/2, i0e'(0) = 0.
    z = rtorch.tensor([0.0, 1.0, -2.0], requires_grad=True)
    rtorch.i0(z).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), sp.i1(z.detach()).numpy(), rtol=1e-6)
    z.grad = None
    sp.i1(z).sum().backward()
    assert z.grad[0].item() == pytest.approx(0.5)
    z.grad = None
    sp.i0e(z).sum().backward()
    assert z.grad[0].item() == 0.0


def test_special_namespace_closed_forms() -> None:
    x = rtorch.tensor([-2.0, 0.0, 0.5, 1.0, math.nan], dtype=rtorch.float64)
    ent = sp.entr(x).tolist()
    assert ent[0] == -math.inf and ent[1] == 0.0 and math.isnan(ent[4])
    assert ent[2] == pytest.approx(-0.5 * math.log(0.5))
    nd = sp.ndtr(x).tolist()
    for v, g in zip([-2.0, 0.0, 0.5, 1.0], nd):
        assert g == pytest.approx(0.5 * math.erfc(-v / math.sqrt(2)), rel=1e-14)
    p = rtorch.tensor([0.0, 0.2, 0.5, 1.0, 1.2], dtype=rtorch.float64)
    q = sp.ndtri(p).tolist()
    assert q[0] == -math.inf and q[3] == math.inf and math.isnan(q[4]) and q[2] == 0.0
    assert sp.ndtr(rtorch.tensor(q[1], dtype=rtorch.float64)).item() == pytest.approx(0.2)
    ln = sp.log_ndtr(rtorch.tensor([-40.0, -5.0, 0.0, 5.0], dtype=rtorch.float64)).tolist()
    assert ln[1] == pytest.approx(math.log(0.5 * math.erfc(5 / math.sqrt(2))), rel=1e-13)
    assert ln[3] == pytest.approx(math.log1p(-0.5 * math.erfc(5 / math.sqrt(2))), rel=1e-13)
    # Φ(-40) = φ(40)/40 (1 - 1/40² + 3/40⁴ - 15/40⁶ + …)
    series = math.fsum((-1) ** k * math.prod(range(1, 2 * k, 2)) / 1600**k for k in range(12))
    tail = -800 - 0.5 * math.log(2 * math.pi) - math.log(40) + math.log(series)
    assert ln[0] == pytest.approx(tail, rel=1e-12)
    ex = sp.erfcx(rtorch.tensor([-1.0, 0.0, 1.0, 30.0, 100.0], dtype=rtorch.float64)).tolist()
    assert ex[0] == pytest.approx(math.exp(1) * math.erfc(-1), rel=1e-14) and ex[1] == 1.0
    series = math.fsum((-1) ** k * math.prod(range(1, 2 * k, 2)) / 1800**k for k in range(12))
    assert ex[3] == pytest.approx(series / (30 * math.sqrt(math.pi)), rel=1e-13)
    xl = sp.xlog1py(rtorch.tensor([0.0, 1, 2]), rtorch.tensor([-1.0, 1, math.nan])).tolist()
    assert xl[0] == 0.0 and xl[1] == pytest.approx(math.log(2)) and math.isnan(xl[2])
    assert sp.xlog1py(2, rtorch.tensor([1.0])).tolist() == pytest.approx([2 * math.log(2)])
    assert sp.expit(rtorch.tensor([0.0])).tolist() == [0.5]
    assert sp.gammaln(rtorch.tensor([5.0])).item() == pytest.approx(math.log(24))
    assert sp.psi(rtorch.tensor([1.0])).item() == pytest.approx(-0.5772156649, rel=1e-6)
    assert sp.multigammaln(rtorch.tensor([2.5]), 2).item() == pytest.approx(
        0.5 * math.log(math.pi) + math.lgamma(2.5) + math.lgamma(2.0), rel=1e-6
    )
    out = rtorch.empty(2)
    assert sp.erf(rtorch.tensor([0.0, 1.0]), out=out) is out
    assert out.tolist() == pytest.approx([0.0, math.erf(1.0)])
    assert sp.log_softmax(rtorch.tensor([1.0, 2.0]), 0, dtype=rtorch.float64).dtype == (
        rtorch.float64
    )
    assert sp.logsumexp(rtorch.tensor([[0.0, 0.0]]), 1).tolist() == pytest.approx([math.log(2)])
    assert sp.entr(rtorch.tensor([1, 2])).dtype == rtorch.float32


def test_special_gradients() -> None:
    x = rtorch.tensor([0.3, 1.2, 2.5], dtype=rtorch.float64, requires_grad=True)
    y = rtorch.tensor([-0.5, 0.1, 3.0], dtype=rtorch.float64, requires_grad=True)
    assert gradcheck(sp.entr, (x,))
    assert gradcheck(sp.ndtr, (y,))
    assert gradcheck(sp.log_ndtr, (y,))
    assert gradcheck(sp.erfcx, (y,))
    assert gradcheck(sp.xlog1py, (x, y))
    assert gradcheck(lambda p: sp.ndtri(p * 0.3), (x,))


def test_parity_with_torch() -> None:
    torch = pytest.importorskip("torch")
    x = np.concatenate([np.linspace(-40, 40, 161), [0.0, 1e-8, 700.0]])
    for name in ("i0", "i0e", "i1", "i1e", "ndtr", "log_ndtr", "erfcx", "entr", "expit",
                 "spherical_bessel_j0", "modified_bessel_i0"):  # fmt: skip
        want = getattr(torch.special, name)(torch.tensor(x)).numpy()
        got = getattr(sp, name)(rtorch.tensor(x)).numpy()
        # PyTorch's ndtr loses digits in the far left tail (it is 6.106e-16 at x = -8,
        # where Φ(-8) = 6.2210e-16); compare there absolutely.
        atol = 1e-15 if name == "ndtr" else 1e-300
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=atol, equal_nan=True, err_msg=name)


def test_zeta_closed_forms() -> None:
    z = sp.zeta
    x = rtorch.tensor([2.0, 4.0, 2.0, 2.0, 3.0], dtype=rtorch.float64)
    q = rtorch.tensor([1.0, 1.0, 2.0, 0.5, 1.0], dtype=rtorch.float64)
    got = z(x, q).tolist()
    apery = 1.2020569031595942853997  # ζ(3)
    want = [math.pi**2 / 6, math.pi**4 / 90, math.pi**2 / 6 - 1, math.pi**2 / 2, apery]
    for g, w in zip(got, want):
        assert g == pytest.approx(w, rel=1e-14)
    # The recurrence ζ(x, q) - ζ(x, q + 1) = q^-x over a grid, including large x.
    xs = rtorch.tensor([1.5, 2.5, 7.3, 20.0, 50.0], dtype=rtorch.float64).reshape(-1, 1)
    qs = rtorch.tensor([0.3, 0.9, 2.0, 12.7], dtype=rtorch.float64)
    lhs = (z(xs, qs) - z(xs, qs + 1)).numpy()
    np.testing.assert_allclose(lhs, (qs.numpy() ** -xs.numpy()), rtol=1e-11)
    special = z(
        rtorch.tensor([1.0, 0.5, 2.0, 2.0, 2.5]), rtorch.tensor([1.0, 1.0, 0.0, -2.0, -1.5])
    )
    assert special.tolist()[0] == math.inf and math.isnan(special.tolist()[1])
    assert special.tolist()[2:4] == [math.inf, math.inf] and math.isnan(special.tolist()[4])
    assert z(rtorch.tensor([2, 3]), rtorch.tensor([1, 1])).dtype == rtorch.float32
    assert z(2.0, rtorch.tensor([1.0, 2.0])).tolist() == pytest.approx(
        [math.pi**2 / 6, math.pi**2 / 6 - 1]
    )
    b = rtorch.tensor([1.0, 2.0], dtype=rtorch.float64, requires_grad=True)
    a = rtorch.tensor([2.0, 3.0], dtype=rtorch.float64)
    assert gradcheck(lambda v: z(a, v), (b,))
    a.requires_grad_(True)
    with pytest.raises(NotImplementedError, match="the derivative for 'zeta' is not implemented"):
        z(a, b).sum().backward()


def test_spherical_j0_and_modified_bessel_aliases() -> None:
    x = rtorch.tensor([0.0, 1e-8, 1e-3, 1.0, -3.0, 100.0], dtype=rtorch.float64)
    got = sp.spherical_bessel_j0(x).tolist()
    for v, g in zip(x.tolist(), got):
        assert g == pytest.approx(1.0 if v == 0 else math.sin(v) / v, rel=1e-15)
    y = rtorch.tensor([0.5, 2.0], requires_grad=True)
    assert not sp.spherical_bessel_j0(y).requires_grad  # not differentiable, as in PyTorch
    assert sp.modified_bessel_i0(y).tolist() == rtorch.i0(y.detach()).tolist()
    assert sp.modified_bessel_i1(y).tolist() == sp.i1(y.detach()).tolist()
