"""The gamma family's core kernels (cpu/gamma.rs): lgamma, digamma, polygamma.

References: Python's math.lgamma (its own implementation, not libm's), series sums in
float64 numpy, closed forms, and central differences in float64 for the gradients.
float32 and the half types compute in float64 and round once (float32 lgamma, digamma
and trigamma: their own vectorised float64 kernels, within 1 ulp): checked against the float64 results
(themselves checked against the references) rounded to the dtype.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import rtorch

EULER = 0.5772156649015329


def _grid() -> np.ndarray:
    rng = np.random.default_rng(7)
    # Away from the poles (the negative half keeps 0.05 from the integers).
    neg = -rng.uniform(0, 40, 3000)
    neg = neg[np.abs(neg - np.round(neg)) > 0.05]
    return np.concatenate([rng.uniform(0.01, 60, 3000), neg, 10 ** rng.uniform(-20, 20, 500)])


def _trigamma_ref(x: float) -> float:
    """ψ'(x) = Σ 1/(x + k)², the tail after K terms by its Euler-Maclaurin start."""
    k = np.arange(0, 20_000, dtype=np.float64)
    n = x + 20_000
    return float(np.sum(1.0 / (x + k) ** 2) + 1 / n + 1 / (2 * n * n) + 1 / (6 * n**3))


def test_lgamma_float64_matches_math_lgamma() -> None:
    xs = _grid()
    got = rtorch.lgamma(rtorch.tensor(xs, dtype=rtorch.float64)).numpy()
    want = np.array([math.lgamma(v) for v in xs])
    # Relative 1e-13, absolute 1e-14 where lgamma crosses zero (x near 1, 2 and the
    # negative roots, where both libraries round a cancellation differently).
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.bfloat16, rtorch.float16])
@pytest.mark.parametrize("name", ["lgamma", "digamma", "trigamma", "polygamma3"])
def test_narrow_dtypes_round_the_float64_value_once(dtype, name) -> None:
    xs = _grid()
    if dtype == rtorch.float16:
        xs = xs[np.abs(xs) < 60]  # float16's range: the results too must fit
    x64 = rtorch.tensor(xs, dtype=rtorch.float64).to(dtype).double()  # representable
    fn = {
        "lgamma": rtorch.lgamma,
        "digamma": rtorch.digamma,
        "trigamma": lambda t: rtorch.polygamma(1, t),
        "polygamma3": lambda t: rtorch.polygamma(3, t),
    }[name]
    got = fn(x64.to(dtype))
    assert got.dtype == dtype
    if name in ("lgamma", "digamma", "trigamma"):
        # float32 lgamma, digamma and polygamma(1, ·) have their own vectorised kernels,
        # within 1 ulp (not always the nearest float); the 16-bit types compute in them
        # and round once.
        exact = fn(x64).numpy()
        if dtype == rtorch.float32:
            g = got.numpy().astype(np.float64)
            finite = np.isfinite(exact) & (np.abs(exact) < 3e38)
            ulp = np.spacing(np.abs(exact[finite]).astype(np.float32)).astype(np.float64)
            assert np.all(np.abs(g[finite] - exact[finite]) <= ulp)
            with np.errstate(over="ignore"):  # values past float32's range become inf
                beyond = exact[~finite].astype(np.float32)
            assert np.array_equal(g[~finite], beyond, equal_nan=True)
            return
        want = fn(x64.float()).to(dtype)
    else:
        want = fn(x64).to(dtype)
    assert rtorch.equal(got.isnan(), want.isnan())
    both = ~want.isnan()
    assert rtorch.equal(got[both], want[both])


def test_lgamma_exact_and_special_values() -> None:
    x = rtorch.tensor(
        [1.0, 2.0, 0.0, -0.0, -3.0, math.inf, -math.inf, math.nan], dtype=rtorch.float64
    )
    got = rtorch.lgamma(x).tolist()
    assert got[:2] == [0.0, 0.0]
    assert got[2:7] == [math.inf] * 5
    assert math.isnan(got[7])
    assert rtorch.lgamma(rtorch.tensor(0.5)).item() == pytest.approx(
        0.5 * math.log(math.pi), rel=1e-7
    )


def test_digamma_closed_forms_and_special_values() -> None:
    x = rtorch.tensor([1.0, 0.5, 20.0, 10.0, -0.5], dtype=rtorch.float64)
    h19 = sum(1 / k for k in range(1, 20))
    h9 = sum(1 / k for k in range(1, 10))
    want = [
        -EULER,
        -EULER - 2 * math.log(2),
        -EULER + h19,
        -EULER + h9,
        -EULER - 2 * math.log(2) + 2,
    ]
    assert rtorch.digamma(x).tolist() == pytest.approx(want, rel=1e-14, abs=1e-15)
    edge = rtorch.digamma(rtorch.tensor([0.0, -0.0, -2.0, -math.inf, math.inf])).tolist()
    assert edge[0] == -math.inf and edge[1] == math.inf
    assert math.isnan(edge[2]) and math.isnan(edge[3]) and edge[4] == math.inf


def test_polygamma_against_series_and_closed_forms() -> None:
    xs = [0.3, 1.0, 2.5, 11.9, 12.0, 57.0, -0.5, -1.5, -7.3, -100.25]
    got = rtorch.polygamma(1, rtorch.tensor(xs, dtype=rtorch.float64)).tolist()
    for v, g in zip(xs, got):
        if v > 0:
            assert g == pytest.approx(_trigamma_ref(v), rel=1e-12), v
    # Below zero by the recurrence ψ'(x) = ψ'(x + m) + Σ_{k<m} 1/(x + k)², from the
    # series above zero (m = 1, 2, 8, 101: both sides of the 64-term switch).
    for v, g in zip(xs[6:], got[6:]):
        m = math.ceil(-v)
        want = _trigamma_ref(v + m) + sum(1 / (v + k) ** 2 for k in range(m))
        assert g == pytest.approx(want, rel=1e-12), v
    one = rtorch.tensor([1.0], dtype=rtorch.float64)
    assert rtorch.polygamma(2, one).item() == pytest.approx(-2 * 1.2020569031595942, rel=1e-14)
    assert rtorch.polygamma(4, one).item() == pytest.approx(-24 * 1.0369277551433699, rel=1e-14)
    # The general path far below zero: ψ⁽³⁾(x) = ψ⁽³⁾(x + m) + 6 Σ_{k<m} (x + k)^-4.
    v, m = -100.25, 101
    want = rtorch.polygamma(3, rtorch.tensor([v + m], dtype=rtorch.float64)).item() + 6 * sum(
        (v + k) ** -4 for k in range(m)
    )
    assert rtorch.polygamma(3, rtorch.tensor([v], dtype=rtorch.float64)).item() == pytest.approx(
        want, rel=1e-12
    )
    edge = rtorch.polygamma(
        2, rtorch.tensor([0.0, -3.0, math.inf, -math.inf], dtype=rtorch.float64)
    )
    assert edge.tolist()[:3] == [-math.inf, -math.inf, 0.0] and math.isnan(edge.tolist()[3])
    assert rtorch.polygamma(1, rtorch.tensor([-2.0])).item() == math.inf


def test_polygamma_order_checks() -> None:
    with pytest.raises(RuntimeError, match="negative n"):
        rtorch.polygamma(-1, rtorch.tensor([1.0]))
    with pytest.raises(RuntimeError, match="negative n"):
        rtorch.tensor([1.0]).polygamma_(-2)
    # n = 0 is digamma.
    x = rtorch.tensor([0.7, 3.0], dtype=rtorch.float64)
    assert rtorch.equal(rtorch.polygamma(0, x), rtorch.digamma(x))


def _central(f, x: float, h: float = 1e-5) -> float:
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_gradients_by_central_differences(n: int) -> None:
    xs = [0.6, 1.7, 5.2, 14.0, -0.4, -2.7]
    x = rtorch.tensor(xs, dtype=rtorch.float64, requires_grad=True)
    y = rtorch.polygamma(n, x)
    assert y.grad_fn.name() == "PolygammaBackward0"  # PyTorch's name for n = 0 too
    y.sum().backward()

    def f(v: float) -> float:
        return rtorch.polygamma(n, rtorch.tensor([v], dtype=rtorch.float64)).item()

    for v, g in zip(xs, x.grad.tolist()):
        assert g == pytest.approx(_central(f, v), rel=1e-6), v


def test_lgamma_gradient_and_double_backward() -> None:
    x = rtorch.tensor([0.6, 3.5, -1.5], dtype=rtorch.float64, requires_grad=True)
    y = rtorch.lgamma(x)
    assert y.grad_fn.name() == "LgammaBackward0"
    (g,) = rtorch.autograd.grad(y.sum(), x, create_graph=True)
    assert g.tolist() == pytest.approx(
        [_central(math.lgamma, v) for v in [0.6, 3.5, -1.5]], rel=1e-7
    )
    (gg,) = rtorch.autograd.grad(g.sum(), x)
    assert gg.tolist() == pytest.approx(
        [_trigamma_ref(0.6), _trigamma_ref(3.5), math.pi**2 - _trigamma_ref(2.5)], rel=1e-9
    )


def test_layouts_in_place_out_and_dtypes() -> None:
    # Past the parallel split, non-contiguous and expanded inputs, in place and out=.
    base = rtorch.linspace(0.05, 30.0, 300_000, dtype=rtorch.float64)
    strided = base[::3]
    want = np.array([math.lgamma(v) for v in strided.tolist()])
    np.testing.assert_allclose(rtorch.lgamma(strided).numpy(), want, rtol=1e-13, atol=1e-14)
    row = rtorch.tensor([0.5, 1.5, 2.5], dtype=rtorch.float64)
    assert rtorch.equal(rtorch.digamma(row.expand(4, 3)), rtorch.digamma(row).expand(4, 3))
    y = row.clone()
    assert y.polygamma_(1) is y and rtorch.equal(y, rtorch.polygamma(1, row))
    y = row.clone()
    y.lgamma_()
    assert rtorch.equal(y, rtorch.lgamma(row))
    y = row.clone()
    y.digamma_()
    assert rtorch.equal(y, rtorch.digamma(row))
    out = rtorch.empty(3, dtype=rtorch.float64)
    assert rtorch.polygamma(2, row, out=out) is out and rtorch.equal(out, rtorch.polygamma(2, row))
    for fn in (rtorch.lgamma, rtorch.digamma, lambda t: rtorch.polygamma(1, t)):
        assert fn(rtorch.tensor([1, 2, 3])).dtype == rtorch.float32
        assert fn(rtorch.empty(0, 2)).shape == (0, 2)
        assert fn(rtorch.tensor(2.5)).shape == ()
    assert rtorch.special.gammaln(row).tolist() == rtorch.lgamma(row).tolist()
    assert rtorch.special.psi(row).tolist() == rtorch.digamma(row).tolist()
