"""torch.special's orthogonal polynomials (python/rtorch/_orthogonal_polynomials.py).
References: numpy.polynomial in float64 (Chebyshev T, Hermite H and He, Laguerre,
Legendre), the trigonometric closed forms of Chebyshev U, V, W inside [-1, 1], the
shifted forms as the plain ones of 2x - 1, and PyTorch's special values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.polynomial import chebyshev, hermite, hermite_e, laguerre, legendre

import rtorch

sp = rtorch.special
XS = np.concatenate([np.linspace(-2.5, 2.5, 41), [-1.0, 1.0, 0.0, -0.999, 0.9999]])
DEGREES = list(range(16)) + [25]


NUMPY = {
    "chebyshev_polynomial_t": lambda x, n: chebyshev.chebval(x, np.eye(n + 1)[n]),
    "hermite_polynomial_h": lambda x, n: hermite.hermval(x, np.eye(n + 1)[n]),
    "hermite_polynomial_he": lambda x, n: hermite_e.hermeval(x, np.eye(n + 1)[n]),
    "laguerre_polynomial_l": lambda x, n: laguerre.lagval(x, np.eye(n + 1)[n]),
    "legendre_polynomial_p": lambda x, n: legendre.legval(x, np.eye(n + 1)[n]),
}


def _close(got: rtorch.Tensor, want: np.ndarray, rtol: float) -> None:
    g = got.to(rtorch.float64).numpy()
    scale = np.maximum(np.abs(want), 1.0)
    assert np.all(np.abs(g - want) <= rtol * scale), float(np.max(np.abs(g - want) / scale))


@pytest.mark.parametrize("name", sorted(NUMPY))
@pytest.mark.parametrize("dtype", [rtorch.float64, rtorch.float32])
def test_against_numpy_polynomials(name, dtype) -> None:
    f = getattr(sp, name)
    x = rtorch.tensor(XS, dtype=dtype)
    xs = x.to(rtorch.float64).numpy()
    # float32: the trigonometric form at degree 25 near x = -0.999 loses ~1e-5 relative.
    rtol = 1e-11 if dtype == rtorch.float64 else 3e-5
    for n in DEGREES:
        got = f(x, n)
        assert got.dtype == dtype and got.shape == x.shape
        _close(got, NUMPY[name](xs, n), rtol)


@pytest.mark.parametrize("kind", ["u", "v", "w"])
def test_chebyshev_u_v_w_closed_forms(kind) -> None:
    theta = np.linspace(0.05, math.pi - 0.05, 37)
    x = rtorch.tensor(np.cos(theta), dtype=rtorch.float64)
    xs = x.numpy()
    th = np.arccos(xs)
    f = getattr(sp, f"chebyshev_polynomial_{kind}")
    shifted = getattr(sp, f"shifted_chebyshev_polynomial_{kind}")
    for n in DEGREES:
        if kind == "u":
            want = np.sin((n + 1) * th) / np.sin(th)
        elif kind == "v":
            want = np.cos((n + 0.5) * th) / np.cos(th / 2)
        else:
            want = np.sin((n + 0.5) * th) / np.sin(th / 2)
        _close(f(x, n), want, 1e-10)
        _close(shifted((x + 1) / 2, n), want, 1e-10)


def test_shifted_t_is_t_of_2x_minus_1() -> None:
    x = rtorch.tensor(np.linspace(-1, 2, 31), dtype=rtorch.float64)
    for n in DEGREES:
        want = chebyshev.chebval(2 * x.numpy() - 1, np.eye(n + 1)[n])
        _close(sp.shifted_chebyshev_polynomial_t(x, n), want, 1e-11)


def test_degree_rules_dtypes_and_broadcasting() -> None:
    x = rtorch.tensor([-1.0, 0.5, 1.0, 2.0])
    # A negative degree gives 0; a fractional one is truncated (2.7 -> 2).
    assert sp.chebyshev_polynomial_t(x, -1).tolist() == [0.0] * 4
    assert sp.chebyshev_polynomial_t(x, 2.7).tolist() == [1.0, -0.5, 1.0, 7.0]
    # Ends of the interval: PyTorch's closed forms.
    assert sp.chebyshev_polynomial_u(x, 3).tolist()[0::2] == [-4.0, 4.0]
    assert sp.chebyshev_polynomial_v(x, 3).tolist()[0::2] == [-7.0, 1.0]
    assert sp.chebyshev_polynomial_w(x, 3).tolist()[0::2] == [-1.0, 7.0]
    # Integer inputs compute in the default float dtype; a tensor degree broadcasts.
    assert sp.hermite_polynomial_h(rtorch.tensor([1, 2]), 2).dtype == rtorch.float32
    got = sp.legendre_polynomial_p(rtorch.tensor([[0.5], [1.0]]), rtorch.tensor([0, 1, 2]))
    assert got.shape == (2, 3)
    assert got.tolist() == [[1.0, 0.5, -0.125], [1.0, 1.0, 1.0]]
    # A number for x, a tensor for n.
    assert sp.chebyshev_polynomial_t(0.5, rtorch.tensor([3, 4])).tolist() == pytest.approx(
        [-1.0, -0.5]
    )
    # NaN stays NaN past degree 0; the output does not require grad (as PyTorch).
    nan = sp.laguerre_polynomial_l(rtorch.tensor([math.nan]), rtorch.tensor([0, 3]))
    assert nan[0].item() == 1.0 and math.isnan(nan[1].item())
    w = rtorch.tensor([0.3], requires_grad=True)
    assert not sp.chebyshev_polynomial_t(w, 3).requires_grad
    out = rtorch.empty(4)
    sp.hermite_polynomial_he(x, 3, out=out)
    assert out.tolist() == pytest.approx(hermite_e.hermeval(x.numpy(), [0, 0, 0, 1]).tolist())


NAMES = [
    "chebyshev_polynomial_t",
    "chebyshev_polynomial_u",
    "chebyshev_polynomial_v",
    "chebyshev_polynomial_w",
    "shifted_chebyshev_polynomial_t",
    "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w",
    "hermite_polynomial_h",
    "hermite_polynomial_he",
    "laguerre_polynomial_l",
    "legendre_polynomial_p",
]


@pytest.mark.parametrize("name", NAMES)
def test_matches_pytorch(name, torch_ref) -> None:
    xs = list(XS) + [math.nan, math.inf, -math.inf, 0.25, 0.75]
    ns = list(range(-2, 21)) + [2.7, 30]
    grid_x = [x for x in xs for n in ns]
    grid_n = [float(n) for x in xs for n in ns]
    for dt, tdt, rtol in (
        (rtorch.float64, torch_ref.float64, 1e-9),
        (rtorch.float32, torch_ref.float32, 1e-4),
    ):
        got = getattr(sp, name)(rtorch.tensor(grid_x, dtype=dt), rtorch.tensor(grid_n, dtype=dt))
        want = getattr(torch_ref.special, name)(
            torch_ref.tensor(grid_x, dtype=tdt), torch_ref.tensor(grid_n, dtype=tdt)
        )
        np.testing.assert_allclose(
            got.to(rtorch.float64).numpy(),
            want.double().numpy(),
            rtol=rtol,
            atol=1e-5,
            equal_nan=True,
        )
