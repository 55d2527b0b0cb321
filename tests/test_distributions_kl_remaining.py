"""Tests of the last KL pairs of PyTorch's registry (distributions/_kl_remaining.py) and of
Bernoulli, Exponential, Normal and Poisson as ``ExponentialFamily`` members.

References: float64 Gauss-Legendre quadrature of numpy densities, exact sums, closed-form
entropies; PyTorch parity where torch is installed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import rtorch
from rtorch.distributions import (
    Bernoulli,
    Exponential,
    ExponentialFamily,
    Laplace,
    Normal,
    Poisson,
    Uniform,
    kl_divergence,
)
from rtorch.distributions._kl_gamma_family import _kl_expfamily_expfamily

F64 = rtorch.float64
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(24)


def _integrate(f, a: float, b: float, pieces: int = 400) -> float:
    """Composite 24-point Gauss-Legendre of a vectorised f over [a, b]."""
    edges = np.linspace(a, b, pieces + 1)
    mid = (edges[1:] + edges[:-1])[:, None] / 2
    half = (edges[1:] - edges[:-1])[:, None] / 2
    x = mid + half * _NODES[None, :]
    return float((f(x) * _WEIGHTS[None, :] * half).sum())


# numpy log-densities: the references, independent of the code under test.
def _log_normal(x, mu, s):
    return -((x - mu) ** 2) / (2 * s * s) - math.log(s) - 0.5 * math.log(2 * math.pi)


def _log_laplace(x, m, b):
    return -np.abs(x - m) / b - math.log(2 * b)


def _log_exponential(x, rate):
    return math.log(rate) - rate * x


def _kl_quadrature(log_p, log_q, pieces_bounds) -> float:
    def integrand(x):
        lp = log_p(x)
        return np.exp(lp) * (lp - log_q(x))

    return sum(_integrate(integrand, a, b) for a, b in pieces_bounds)


def _t(v) -> rtorch.Tensor:
    return rtorch.tensor(v, dtype=F64)


FINITE_CASES = [
    # (name, p factory, q factory, log_p, log_q, integration pieces)
    *[
        (
            "exponential_normal",
            lambda r=r, mu=mu, s=s: (Exponential(_t(r)), Normal(_t(mu), _t(s))),
            lambda x, r=r: _log_exponential(x, r),
            lambda x, mu=mu, s=s: _log_normal(x, mu, s),
            [(0.0, 60.0 / r)],
        )
        for r, mu, s in [(0.5, 0.3, 1.5), (2.0, -1.0, 0.7), (1.0, 4.0, 3.0)]
    ],
    *[
        (
            "laplace_normal",
            lambda m=m, b=b, mu=mu, s=s: (Laplace(_t(m), _t(b)), Normal(_t(mu), _t(s))),
            lambda x, m=m, b=b: _log_laplace(x, m, b),
            lambda x, mu=mu, s=s: _log_normal(x, mu, s),
            [(m - 60 * b, m), (m, m + 60 * b)],
        )
        for m, b, mu, s in [(0.5, 1.0, 0.0, 1.0), (-1.0, 0.3, 2.0, 2.5), (2.0, 2.0, 2.0, 0.8)]
    ],
    *[
        (
            "normal_laplace",
            lambda mu=mu, s=s, m=m, b=b: (Normal(_t(mu), _t(s)), Laplace(_t(m), _t(b))),
            lambda x, mu=mu, s=s: _log_normal(x, mu, s),
            lambda x, m=m, b=b: _log_laplace(x, m, b),
            [(mu - 40 * s, m), (m, mu + 40 * s)] if mu - 40 * s < m < mu + 40 * s else [],
        )
        for mu, s, m, b in [(0.5, 1.0, 0.0, 1.0), (-1.0, 0.3, 2.0, 2.5), (2.0, 2.0, 2.0, 0.8)]
    ],
    *[
        (
            "uniform_normal",
            lambda lo=lo, hi=hi, mu=mu, s=s: (Uniform(_t(lo), _t(hi)), Normal(_t(mu), _t(s))),
            lambda x, lo=lo, hi=hi: np.full_like(x, -math.log(hi - lo)),
            lambda x, mu=mu, s=s: _log_normal(x, mu, s),
            [(lo, hi)],
        )
        for lo, hi, mu, s in [(-0.5, 1.0, 0.0, 1.0), (1.0, 4.0, -2.0, 0.5), (0.0, 0.1, 0.05, 2.0)]
    ],
    *[
        (
            "uniform_exponential",
            lambda lo=lo, hi=hi, r=r: (Uniform(_t(lo), _t(hi)), Exponential(_t(r))),
            lambda x, lo=lo, hi=hi: np.full_like(x, -math.log(hi - lo)),
            lambda x, r=r: _log_exponential(x, r),
            [(lo, hi)],
        )
        for lo, hi, r in [(0.0, 1.0, 1.0), (1.0, 4.0, 0.3), (0.5, 0.6, 5.0)]
    ],
]


@pytest.mark.parametrize(
    "make, log_p, log_q, bounds",
    [c[1:] for c in FINITE_CASES],
    ids=[f"{c[0]}{i}" for i, c in enumerate(FINITE_CASES)],
)
def test_finite_pairs_match_quadrature(make, log_p, log_q, bounds):
    p, q = make()
    expected = _kl_quadrature(log_p, log_q, bounds)
    got = kl_divergence(p, q)
    assert got.dtype == F64 and tuple(got.shape) == ()
    assert got.item() == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_bernoulli_poisson_is_the_two_term_sum():
    probs = np.array([0.0, 0.3, 0.9, 1.0, 0.5])
    rates = np.array([0.5, 2.0, 0.1, 3.0, 0.0])
    got = kl_divergence(Bernoulli(_t(probs.tolist())), Poisson(_t(rates.tolist())))
    for i, (pr, lam) in enumerate(zip(probs, rates)):
        expected = 0.0
        for k, pk in ((0, 1 - pr), (1, pr)):
            if pk > 0:
                qk = math.exp(-lam) * lam**k / math.factorial(k)
                expected += pk * (math.log(pk) - math.log(qk)) if qk > 0 else math.inf
        assert got[i].item() == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    "make, param",
    [
        (lambda: (Exponential(_t([0.5, 2.0])), Uniform(_t(0.0), _t(100.0))), "rate"),
        (lambda: (Laplace(_t([0.5, 2.0]), _t(1.0)), Exponential(_t(1.0))), "loc"),
        (lambda: (Laplace(_t([0.5, 2.0]), _t(1.0)), Uniform(_t(-9.0), _t(9.0))), "loc"),
        (lambda: (Normal(_t([0.5, 2.0]), _t(1.0)), Exponential(_t(3.0))), "loc"),
        (lambda: (Normal(_t([0.5, 2.0]), _t(1.0)), Uniform(_t(-9.0), _t(9.0))), "loc"),
        (lambda: (Poisson(_t([0.5, 2.0])), Bernoulli(_t(0.5))), "rate"),
    ],
)
def test_support_mismatch_pairs_are_infinite_shaped_like_p(make, param):
    p, q = make()
    got = kl_divergence(p, q)
    assert tuple(got.shape) == tuple(getattr(p, param).shape) == (2,)
    assert got.dtype == F64
    assert all(v == math.inf for v in got.tolist())


def test_uniform_exponential_infinite_below_zero_and_broadcasts():
    p = Uniform(_t([[-0.5], [1.0]]), _t([[1.0], [2.0]]))
    q = Exponential(_t([0.5, 2.0, 1.0]))
    got = kl_divergence(p, q)
    assert tuple(got.shape) == (2, 3)
    assert got[0].tolist() == [math.inf] * 3
    for j, r in enumerate([0.5, 2.0, 1.0]):
        expected = -math.log(1.0) - math.log(r) + r * 1.5
        assert got[1, j].item() == pytest.approx(expected, rel=1e-14)


def test_finite_pairs_broadcast_and_float32():
    p = Normal(rtorch.tensor([[0.0], [1.0]]), rtorch.tensor([[1.0], [2.0]]))
    q = Laplace(rtorch.tensor([0.0, 1.0, 2.0]), rtorch.tensor(1.5))
    got = kl_divergence(p, q)
    assert got.dtype == rtorch.float32 and tuple(got.shape) == (2, 3)
    ref = kl_divergence(
        Normal(_t([[0.0], [1.0]]), _t([[1.0], [2.0]])), Laplace(_t([0.0, 1.0, 2.0]), _t(1.5))
    )
    np.testing.assert_allclose(np.array(got.tolist()), np.array(ref.tolist()), rtol=1e-5, atol=1e-6)


def test_empty_batch():
    got = kl_divergence(Exponential(_t([])), Normal(_t([]), _t([])))
    assert tuple(got.shape) == (0,)


@pytest.mark.parametrize(
    "build",
    [
        lambda a, b, c, d: kl_divergence(Exponential(a), Normal(b, c)),
        lambda a, b, c, d: kl_divergence(Laplace(a, b), Normal(c, d)),
        lambda a, b, c, d: kl_divergence(Normal(a, b), Laplace(c, d)),
        lambda a, b, c, d: kl_divergence(Uniform(a, a + b), Normal(c, d)),
        lambda a, b, c, d: kl_divergence(Uniform(a, a + b), Exponential(d)),
        lambda a, b, c, d: kl_divergence(Bernoulli(a / 2), Poisson(d)),
    ],
)
def test_gradcheck(build):
    args = [_t(v).requires_grad_() for v in ([0.4, 1.3], [0.7, 1.1], [0.2, 0.9], [1.5, 0.6])]
    assert rtorch.autograd.gradcheck(build, tuple(args))


# ------------------------------------------------------- exponential-family members


def test_members_are_exponential_family():
    for cls in (Bernoulli, Exponential, Normal, Poisson):
        assert issubclass(cls, ExponentialFamily)


@pytest.mark.parametrize(
    "make, closed_form",
    [
        (
            lambda: Normal(_t([0.3, -1.0]), _t([0.7, 2.0])),
            lambda: [0.5 * math.log(2 * math.pi * math.e * s * s) for s in (0.7, 2.0)],
        ),
        (lambda: Exponential(_t([0.3, 2.0])), lambda: [1 - math.log(r) for r in (0.3, 2.0)]),
        (
            lambda: Bernoulli(_t([0.3, 0.9])),
            lambda: [-(p * math.log(p) + (1 - p) * math.log(1 - p)) for p in (0.3, 0.9)],
        ),
    ],
)
def test_bregman_entropy_matches_closed_form(make, closed_form):
    d = make()
    bregman = ExponentialFamily.entropy(d)
    np.testing.assert_allclose(np.array(bregman.tolist()), closed_form(), rtol=1e-13)


@pytest.mark.parametrize(
    "make_p, make_q",
    [
        (lambda: Normal(_t([0.3, -1.0]), _t([0.7, 2.0])), lambda: Normal(_t(1.0), _t(1.3))),
        (lambda: Exponential(_t([0.3, 2.0])), lambda: Exponential(_t(1.1))),
        (lambda: Bernoulli(_t([0.3, 0.9])), lambda: Bernoulli(_t(0.6))),
        (lambda: Poisson(_t([0.3, 4.0])), lambda: Poisson(_t(2.5))),
    ],
)
def test_bregman_kl_matches_registered_closed_form(make_p, make_q):
    p, q = make_p(), make_q().expand((2,))
    np.testing.assert_allclose(
        np.array(_kl_expfamily_expfamily(p, q).tolist()),
        np.array(kl_divergence(p, q).tolist()),
        rtol=1e-12,
    )


def test_poisson_entropy_not_implemented():
    with pytest.raises(NotImplementedError):
        Poisson(_t([1.0])).entropy()


def test_cross_family_bregman_refused():
    with pytest.raises(NotImplementedError, match="cross KL-divergence"):
        _kl_expfamily_expfamily(Normal(_t(0.0), _t(1.0)), Exponential(_t(1.0)))


# ------------------------------------------------------------------ PyTorch parity


def _build(lib, name, params):
    return getattr(lib.distributions, name)(*[lib.tensor(v, dtype=lib.float64) for v in params])


PARITY = {
    "Bernoulli": [[[0.2], [0.7]]],
    "Poisson": [[[0.5], [2.0]]],
    "Exponential": [[[0.5], [2.0]]],
    "Laplace": [[[0.5], [-1.0]], [[1.0], [2.0]]],
    "Normal": [[[0.5], [-1.0]], [[1.0], [2.0]]],
    "Uniform": [[[0.5], [1.0]], [[1.0], [2.0]]],
}
PARITY_Q = {
    "Bernoulli": [[0.1, 0.3, 0.95]],
    "Poisson": [[0.5, 2.0, 1.0]],
    "Exponential": [[0.5, 2.0, 1.0]],
    "Laplace": [[0.5, -1.0, 0.0], [1.0, 2.0, 3.0]],
    "Normal": [[0.5, -1.0, 0.0], [1.0, 2.0, 3.0]],
    "Uniform": [[-0.5, 1.0, 0.0], [1.0, 2.0, 3.0]],
}


def test_registry_parity(torch_ref):
    torch = torch_ref
    from rtorch.distributions.kl import _KL_REGISTRY

    theirs = {(a.__name__, b.__name__) for a, b in torch.distributions.kl._KL_REGISTRY}
    # Other test modules register pairs of their own subclasses; only the library's count.
    ours = {
        (a.__name__, b.__name__)
        for a, b in _KL_REGISTRY
        if a.__module__.startswith("rtorch.") and b.__module__.startswith("rtorch.")
    }
    assert theirs == ours
    for cls in (Bernoulli, Exponential, Normal, Poisson):
        theirs_mro = [k.__name__ for k in getattr(torch.distributions, cls.__name__).__mro__]
        assert [k.__name__ for k in cls.__mro__] == theirs_mro


@pytest.mark.parametrize(
    "pair",
    [
        ("Bernoulli", "Poisson"),
        ("Exponential", "Normal"),
        ("Exponential", "Uniform"),
        ("Laplace", "Exponential"),
        ("Laplace", "Normal"),
        ("Laplace", "Uniform"),
        ("Normal", "Exponential"),
        ("Normal", "Laplace"),
        ("Normal", "Uniform"),
        ("Poisson", "Bernoulli"),
        ("Uniform", "Normal"),
    ],
)
def test_kl_parity(torch_ref, pair):
    torch = torch_ref
    a, b = pair
    ours = kl_divergence(_build(rtorch, a, PARITY[a]), _build(rtorch, b, PARITY_Q[b]))
    theirs = torch.distributions.kl_divergence(
        _build(torch, a, PARITY[a]), _build(torch, b, PARITY_Q[b])
    )
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(np.array(ours.tolist()), theirs.numpy(), rtol=1e-12)


def test_uniform_exponential_parity_same_shape(torch_ref):
    # PyTorch's boolean-mask indexing fails when q broadcasts p's batch shape, so the
    # parity check uses equal shapes; the broadcast case is tested above.
    torch = torch_ref
    lo, hi, rate = [-0.5, 1.0, 0.0], [1.0, 2.0, 3.0], [0.5, 2.0, 1.0]
    ours = kl_divergence(Uniform(_t(lo), _t(hi)), Exponential(_t(rate)))
    theirs = torch.distributions.kl_divergence(
        torch.distributions.Uniform(
            torch.tensor(lo, dtype=torch.float64), torch.tensor(hi, dtype=torch.float64)
        ),
        torch.distributions.Exponential(torch.tensor(rate, dtype=torch.float64)),
    )
    np.testing.assert_allclose(np.array(ours.tolist()), theirs.numpy(), rtol=1e-14)


@pytest.mark.parametrize("name", ["Bernoulli", "Exponential", "Normal", "Poisson"])
def test_natural_params_and_bregman_entropy_parity(torch_ref, name):
    torch = torch_ref
    params = PARITY[name]
    ours, theirs = _build(rtorch, name, params), _build(torch, name, params)
    for o, t in zip(ours._natural_params, theirs._natural_params):
        np.testing.assert_allclose(np.array(o.tolist()), t.numpy(), rtol=1e-14)
    if name == "Poisson":
        with pytest.raises(NotImplementedError):
            theirs.entropy()
        with pytest.raises(NotImplementedError):
            ours.entropy()
        return
    np.testing.assert_allclose(
        np.array(ExponentialFamily.entropy(ours).tolist()),
        torch.distributions.ExponentialFamily.entropy(theirs).detach().numpy(),
        rtol=1e-13,
    )


# ------------------------------------------------------------------------ dispatch


def test_ambiguous_dispatch_warns_once_and_picks_the_p_specific_pair():
    import warnings

    from rtorch.distributions import register_kl

    class _P(Normal):
        pass

    class _Q(Normal):
        pass

    @register_kl(_P, Normal)
    def _left(p, q):
        return "left"

    @register_kl(Normal, _Q)
    def _right(p, q):
        return "right"

    p, q = _P(_t(0.0), _t(1.0)), _Q(_t(0.0), _t(1.0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert kl_divergence(p, q) == "left"
        assert kl_divergence(p, q) == "left"  # memoised: no second warning
    assert [(w.category, str(w.message)) for w in caught] == [
        (RuntimeWarning, "Ambiguous kl_divergence(_P, _Q). Please register_kl(_P, _Q)")
    ]

    # Registering the exact pair resolves it (and clears the memo).
    @register_kl(_P, _Q)
    def _exact(p, q):
        return "exact"

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kl_divergence(p, q) == "exact"
    # An unambiguous subclass pair does not warn and uses the nearest registration.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kl_divergence(_P(_t(0.0), _t(1.0)), Normal(_t(0.0), _t(1.0))) == "left"


def test_ambiguity_parity(torch_ref):
    import warnings

    torch = torch_ref
    messages = []
    for lib in (rtorch, torch):
        dists = lib.distributions

        class A(dists.Normal):
            pass

        class B(dists.Normal):
            pass

        dists.register_kl(A, dists.Normal)(lambda p, q: "left")
        dists.register_kl(dists.Normal, B)(lambda p, q: "right")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = dists.kl_divergence(A(0.0, 1.0), B(0.0, 1.0))
        messages.append((result, [(w.category.__name__, str(w.message)) for w in caught]))
    assert messages[0] == messages[1]
