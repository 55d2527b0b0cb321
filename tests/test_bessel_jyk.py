"""Bessel J0, J1, Y0, Y1 and modified K0, K1 (and e^x K), and Airy Ai, of rtorch.special
(python/rtorch/_bessel_jyk.py). References: mpmath at 40 digits for fixed points across
every method's range (tests/fixtures/special/bessel_reference.json, written by
tests/fixtures/make_bessel_reference.py), the Wronskians J1 Y0 - J0 Y1 = 2 / (pi x) and
I0 K1 + I1 K0 = 1 / x over a dense grid, and the special values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import rtorch

sp = rtorch.special
REFERENCE = json.loads(
    (Path(__file__).parent / "fixtures" / "special" / "bessel_reference.json").read_text()
)
NAMES = [
    "bessel_j0",
    "bessel_j1",
    "bessel_y0",
    "bessel_y1",
    "modified_bessel_k0",
    "modified_bessel_k1",
]


@pytest.mark.parametrize("name", NAMES)
def test_matches_mpmath_in_every_range(name) -> None:
    x = np.array(REFERENCE["x"])
    want = np.array([float(v) for v in REFERENCE[name]])
    got = getattr(sp, name)(rtorch.tensor(x, dtype=rtorch.float64)).numpy()
    # Relative to the value, within 2e-12 (values near a zero of J or Y lose more to the
    # argument's own rounding); K underflows to 0 where mpmath's value is below float64's
    # smallest normal.
    tiny = np.abs(want) < 2.2e-308
    np.testing.assert_allclose(got[~tiny], want[~tiny], rtol=2e-12, atol=0)
    assert np.all(got[tiny] == 0)
    # float32: the float64 value at the float32 input, rounded once.
    x32 = rtorch.tensor(x, dtype=rtorch.float32)
    got32 = getattr(sp, name)(x32)
    assert got32.dtype == rtorch.float32
    once = getattr(sp, name)(x32.to(rtorch.float64)).to(rtorch.float32)
    assert got32.tolist() == once.tolist()


@pytest.mark.parametrize("name", ["modified_bessel_k0", "modified_bessel_k1"])
def test_scaled_k_is_e_to_the_x_times_k(name) -> None:
    x = np.array(REFERENCE["x"])
    want = np.array([float(v) for v in REFERENCE[name]])
    finite = (want > 1e-300) & (x < 700)
    got = getattr(sp, "scaled_" + name)(rtorch.tensor(x, dtype=rtorch.float64)).numpy()
    np.testing.assert_allclose(got[finite], want[finite] * np.exp(x[finite]), rtol=2e-12)
    # Where K itself underflows, the scaled one does not: ~ sqrt(pi / 2x).
    assert got[-1] == pytest.approx(math.sqrt(math.pi / 2e8), rel=1e-8)


def test_wronskians_hold_across_the_method_boundaries() -> None:
    x = np.concatenate([np.linspace(0.05, 60, 3001), [8.0, 25.0, 2.0, 50.0]])
    t = rtorch.tensor(x, dtype=rtorch.float64)
    j0, j1, y0, y1 = sp.bessel_j0(t), sp.bessel_j1(t), sp.bessel_y0(t), sp.bessel_y1(t)
    w = (j1 * y0 - j0 * y1).numpy()
    np.testing.assert_allclose(w, 2 / (np.pi * x), rtol=1e-12)
    k0, k1 = sp.modified_bessel_k0(t), sp.modified_bessel_k1(t)
    i0, i1 = sp.modified_bessel_i0(t), sp.modified_bessel_i1(t)
    np.testing.assert_allclose((i0 * k1 + i1 * k0).numpy(), 1 / x, rtol=1e-12)


def test_special_values_parity_and_dtypes() -> None:
    inf, nan = math.inf, math.nan
    x = rtorch.tensor([0.0, inf, -inf, nan, -2.0], dtype=rtorch.float64)
    j0, j1 = sp.bessel_j0(x).tolist(), sp.bessel_j1(x).tolist()
    # PyTorch's NaN at the infinities (not the limit 0).
    assert j0[0] == 1.0 and all(math.isnan(v) for v in j0[1:4])
    assert j1[0] == 0.0 and all(math.isnan(v) for v in j1[1:4])
    assert math.copysign(1.0, sp.bessel_j1(rtorch.tensor([-0.0])).item()) == -1.0
    # J0 is even, J1 odd.
    assert j0[4] == sp.bessel_j0(rtorch.tensor([2.0], dtype=rtorch.float64)).item()
    assert j1[4] == -sp.bessel_j1(rtorch.tensor([2.0], dtype=rtorch.float64)).item()
    for f in (sp.bessel_y0, sp.bessel_y1):
        y = f(x).tolist()
        assert y[0] == -inf and all(math.isnan(v) for v in y[1:])
    for f in (sp.modified_bessel_k0, sp.modified_bessel_k1):
        k = f(x).tolist()
        assert k[0] == inf and k[1] == 0.0 and all(math.isnan(v) for v in k[2:])
    # Integers compute in the default dtype; nothing requires grad; out= works.
    assert sp.bessel_j0(rtorch.tensor([1, 2])).dtype == rtorch.float32
    assert not sp.bessel_y1(rtorch.tensor([1.0], requires_grad=True)).requires_grad
    out = rtorch.empty(2, dtype=rtorch.float64)
    sp.modified_bessel_k1(rtorch.tensor([1.0, 3.0], dtype=rtorch.float64), out=out)
    want = [float(REFERENCE["modified_bessel_k1"][REFERENCE["x"].index(v)]) for v in (1.0, 3.0)]
    assert out.tolist() == pytest.approx(want, rel=1e-13)


def test_airy_ai_matches_mpmath_on_both_sides() -> None:
    # Series on [-7, 2], K_1/3 (trapezoidal, then asymptotic) above, the oscillatory
    # asymptotic expansion below: within 1e-11 of the amplitude (Ai's zeros make a
    # relative bound meaningless on the left).
    x = np.array(REFERENCE["airy_x"])
    want = np.array([float(v) for v in REFERENCE["airy_ai"]])
    got = sp.airy_ai(rtorch.tensor(x, dtype=rtorch.float64)).numpy()
    amplitude = np.where(x < 0, np.abs(x).clip(1) ** -0.25 / np.sqrt(np.pi), np.abs(want))
    right = x > 0
    np.testing.assert_allclose(got[right], want[right], rtol=1e-12, atol=1e-300)
    assert np.all(np.abs(got - want) <= 1e-11 * amplitude + 1e-300)
    special = sp.airy_ai(rtorch.tensor([math.inf, -math.inf, math.nan])).tolist()
    assert all(math.isnan(v) for v in special)  # PyTorch's NaN at the infinities


@pytest.mark.parametrize(
    "name", [*NAMES, "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "airy_ai"]
)
def test_matches_pytorch(name, torch_ref) -> None:
    x = np.concatenate([np.linspace(0.01, 60, 601), [0.0, -1.0, np.inf, np.nan, 1e4]])
    if name == "airy_ai":
        x = np.concatenate([x, -x])
    got = getattr(sp, name)(rtorch.tensor(x, dtype=rtorch.float64)).numpy()
    want = getattr(torch_ref.special, name)(torch_ref.tensor(x, dtype=torch_ref.float64)).numpy()
    # PyTorch 2.15's J and Y are themselves off by up to 2e-4 relative (checked against
    # mpmath: its Y1 near x = 5, its J0 near zeros), hence the loose tolerance here; the
    # tight checks are the mpmath ones above.
    np.testing.assert_allclose(got, want, rtol=5e-4, atol=1e-7, equal_nan=True)
