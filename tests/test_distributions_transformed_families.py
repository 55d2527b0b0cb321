"""Tests of TransformedDistribution and the transform-built families (LogNormal, HalfNormal,
HalfCauchy, Gumbel, Pareto, Weibull, Kumaraswamy, LogisticNormal, InverseGamma) and their KL
pairs.

References: closed-form densities, cdfs, quantiles, moments and entropies in float64 (math and
numpy only), KL divergences by numerical integration of the closed-form densities, sample
statistics with tolerances from the sample size, gradcheck, and PyTorch (torch_ref).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import to_np

import rtorch
import rtorch.distributions as D
from rtorch.distributions import constraints
from rtorch.distributions import transforms as T

F64 = rtorch.float64
EULER = 0.57721566490153286060


def _t(a, dtype=F64):
    return rtorch.tensor(np.asarray(a, dtype=np.float64).tolist(), dtype=dtype)


_erf = np.vectorize(math.erf)
_lgamma = np.vectorize(math.lgamma)


def _digamma(x):
    """psi(x) by a central difference of lgamma (accurate to ~1e-10)."""
    h = 1e-5
    return (_lgamma(np.asarray(x) + h) - _lgamma(np.asarray(x) - h)) / (2 * h)


def _reg_lower_gamma(a, x):
    """P(a, x) by its power series x^a e^-x / Gamma(a+1) * sum x^n / ((a+1)...(a+n))."""
    out = []
    for ai, xi in np.broadcast(a, x):
        term = total = 1.0
        n = 0
        while term > 1e-17 * total:
            n += 1
            term *= xi / (ai + n)
            total += term
        out.append(math.exp(ai * math.log(xi) - xi - math.lgamma(ai + 1)) * total)
    return np.array(out).reshape(np.broadcast(a, x).shape)


# ---------------------------------------------------------------------------------------
# closed forms: each entry builds the distribution from numpy parameters and gives the
# reference log-density, cdf, quantile (or None), mean, variance, entropy and mode.

P = {
    "LogNormal": (np.array([0.3, -1.0, 0.0]), np.array([0.5, 1.2, 0.1])),
    "HalfNormal": (np.array([0.7, 2.0, 0.05]),),
    "HalfCauchy": (np.array([0.7, 2.0, 0.05]),),
    "Gumbel": (np.array([0.3, -1.0, 5.0]), np.array([0.5, 2.0, 0.1])),
    "Pareto": (np.array([1.5, 0.5, 2.0]), np.array([4.5, 5.0, 2.5])),
    "Weibull": (np.array([1.5, 0.5, 2.0]), np.array([1.8, 3.0, 1.2])),
    "Kumaraswamy": (np.array([2.0, 1.5, 5.0]), np.array([3.0, 1.2, 2.0])),
    "InverseGamma": (np.array([4.5, 5.0, 6.0]), np.array([1.5, 3.0, 0.5])),
}


def _ref(name, params):
    if name == "LogNormal":
        mu, s = params
        return {
            "log_prob": lambda x: (
                -np.log(x)
                - np.log(s)
                - 0.5 * np.log(2 * np.pi)
                - (np.log(x) - mu) ** 2 / (2 * s**2)
            ),
            "cdf": lambda x: 0.5 * (1 + _erf((np.log(x) - mu) / (s * np.sqrt(2)))),
            "icdf": None,
            "mean": np.exp(mu + s**2 / 2),
            "variance": np.expm1(s**2) * np.exp(2 * mu + s**2),
            "entropy": mu + 0.5 + 0.5 * np.log(2 * np.pi * s**2),
            "mode": np.exp(mu - s**2),
            "values": np.exp(mu + s * np.array([0.3, -1.1, 2.0])),
        }
    if name == "HalfNormal":
        (s,) = params
        return {
            "log_prob": lambda x: 0.5 * np.log(2 / np.pi) - np.log(s) - x**2 / (2 * s**2),
            "cdf": lambda x: _erf(x / (s * np.sqrt(2))),
            "icdf": None,
            "mean": s * np.sqrt(2 / np.pi),
            "variance": s**2 * (1 - 2 / np.pi),
            "entropy": 0.5 * np.log(np.pi * s**2 / 2) + 0.5,
            "mode": np.zeros(3),
            "values": s * np.array([0.3, 1.1, 2.5]),
        }
    if name == "HalfCauchy":
        (s,) = params
        return {
            "log_prob": lambda x: np.log(2 / np.pi) - np.log(s) - np.log1p((x / s) ** 2),
            "cdf": lambda x: 2 / np.pi * np.arctan(x / s),
            "icdf": lambda p: s * np.tan(np.pi * p / 2),
            "mean": np.full(3, np.inf),
            "variance": np.full(3, np.inf),
            "entropy": np.log(2 * np.pi * s),
            "mode": np.zeros(3),
            "values": s * np.array([0.3, 1.1, 25.0]),
        }
    if name == "Gumbel":
        mu, b = params
        return {
            "log_prob": lambda x: -np.log(b) - (x - mu) / b - np.exp(-(x - mu) / b),
            "cdf": lambda x: np.exp(-np.exp(-(x - mu) / b)),
            "icdf": lambda p: mu - b * np.log(-np.log(p)),
            "mean": mu + b * EULER,
            "variance": np.pi**2 * b**2 / 6,
            "entropy": np.log(b) + EULER + 1,
            "mode": mu,
            "values": mu + b * np.array([-1.5, 0.2, 4.0]),
        }
    if name == "Pareto":
        xm, a = params
        return {
            "log_prob": lambda x: np.log(a) + a * np.log(xm) - (a + 1) * np.log(x),
            "cdf": lambda x: 1 - (xm / x) ** a,
            "icdf": lambda p: xm * (1 - p) ** (-1 / a),
            "mean": a * xm / (a - 1),
            "variance": xm**2 * a / ((a - 1) ** 2 * (a - 2)),
            "entropy": np.log(xm / a) + 1 + 1 / a,
            "mode": xm,
            "values": xm * np.array([1.01, 1.7, 6.0]),
        }
    if name == "Weibull":
        lam, k = params
        g1 = np.exp(_lgamma(1 + 1 / k))
        g2 = np.exp(_lgamma(1 + 2 / k))
        return {
            "log_prob": lambda x: np.log(k / lam) + (k - 1) * np.log(x / lam) - (x / lam) ** k,
            "cdf": lambda x: -np.expm1(-((x / lam) ** k)),
            "icdf": lambda p: lam * (-np.log1p(-p)) ** (1 / k),
            "mean": lam * g1,
            "variance": lam**2 * (g2 - g1**2),
            "entropy": EULER * (1 - 1 / k) + np.log(lam / k) + 1,
            "mode": lam * ((k - 1) / k) ** (1 / k),
            "values": lam * np.array([0.2, 1.1, 2.5]),
        }
    if name == "Kumaraswamy":
        a, b = params

        def raw_moment(n):
            return b * np.exp(_lgamma(1 + n / a) + _lgamma(b) - _lgamma(1 + n / a + b))

        mean = raw_moment(1)
        harmonic_b = _digamma(b + 1) + EULER
        return {
            "log_prob": lambda x: np.log(a * b) + (a - 1) * np.log(x) + (b - 1) * np.log1p(-(x**a)),
            "cdf": lambda x: 1 - (1 - x**a) ** b,
            "icdf": lambda p: (1 - (1 - p) ** (1 / b)) ** (1 / a),
            "mean": mean,
            "variance": raw_moment(2) - mean**2,
            "entropy": (1 - 1 / b) + (1 - 1 / a) * harmonic_b - np.log(a * b),
            "mode": ((a - 1) / (a * b - 1)) ** (1 / a),
            "values": np.array([0.3, 0.8, 0.05]),
        }
    if name == "InverseGamma":
        a, b = params
        return {
            "log_prob": lambda x: a * np.log(b) - _lgamma(a) - (a + 1) * np.log(x) - b / x,
            "cdf": lambda x: 1 - _reg_lower_gamma(a, b / x),
            "icdf": None,
            "mean": b / (a - 1),
            "variance": b**2 / ((a - 1) ** 2 * (a - 2)),
            "entropy": a + np.log(b) + _lgamma(a) - (1 + a) * _digamma(a),
            "mode": b / (a + 1),
            "values": b / a * np.array([0.5, 1.2, 3.0]),
        }
    raise AssertionError(name)


def _make(name, params, **kw):
    return getattr(D, name)(*[_t(p) for p in params], **kw)


FAMILIES = list(P)


@pytest.mark.parametrize("name", FAMILIES)
def test_log_prob_and_cdf_closed_form(name):
    d = _make(name, P[name])
    ref = _ref(name, P[name])
    x = ref["values"]
    np.testing.assert_allclose(to_np(d.log_prob(_t(x))), ref["log_prob"](x), rtol=1e-11)
    np.testing.assert_allclose(to_np(d.cdf(_t(x))), ref["cdf"](x), rtol=1e-10, atol=1e-14)
    assert d.log_prob(_t(x)).dtype == F64


@pytest.mark.parametrize("name", FAMILIES)
def test_icdf(name):
    d = _make(name, P[name])
    ref = _ref(name, P[name])
    p = np.array([0.05, 0.5, 0.93])
    if name == "InverseGamma":
        with pytest.raises(NotImplementedError):  # Gamma has no icdf
            d.icdf(_t(p))
        return
    q = to_np(d.icdf(_t(p)))
    if ref["icdf"] is not None:
        np.testing.assert_allclose(q, ref["icdf"](p), rtol=1e-10)
    # And the reference cdf of the quantile is the probability.
    np.testing.assert_allclose(ref["cdf"](q), p, rtol=1e-9)


@pytest.mark.parametrize("name", FAMILIES)
def test_moments_entropy_mode(name):
    d = _make(name, P[name])
    ref = _ref(name, P[name])
    for key in ("mean", "variance", "mode"):
        np.testing.assert_allclose(to_np(getattr(d, key)), ref[key], rtol=1e-10, err_msg=key)
    np.testing.assert_allclose(to_np(d.entropy()), ref["entropy"], rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(to_np(d.stddev), np.sqrt(ref["variance"]), rtol=1e-10)


def test_infinite_moments():
    # Pareto: infinite mean for alpha <= 1 and variance for alpha <= 2.
    p = D.Pareto(_t([1.0, 1.0, 1.0]), _t([0.5, 1.5, 3.0]))
    assert to_np(p.mean)[0] == np.inf and np.isfinite(to_np(p.mean)[1:]).all()
    assert (to_np(p.variance)[:2] == np.inf).all() and np.isfinite(to_np(p.variance)[2])
    ig = D.InverseGamma(_t([0.5, 1.5, 3.0]), _t([1.0, 1.0, 1.0]))
    assert to_np(ig.mean)[0] == np.inf and np.isfinite(to_np(ig.mean)[1:]).all()
    assert (to_np(ig.variance)[:2] == np.inf).all() and np.isfinite(to_np(ig.variance)[2])
    # Kumaraswamy's mode is undefined (NaN) where a concentration is below one.
    k = D.Kumaraswamy(_t([0.5, 2.0, 2.0]), _t([2.0, 0.5, 2.0]))
    m = to_np(k.mode)
    assert np.isnan(m[:2]).all() and abs(m[2] - (1 / 3) ** 0.5) < 1e-14


def test_half_distributions_outside_support():
    for d in (
        D.HalfNormal(_t([1.0]), validate_args=False),
        D.HalfCauchy(_t([1.0]), validate_args=False),
    ):
        assert to_np(d.log_prob(_t([-0.5])))[0] == -np.inf
    with pytest.raises(ValueError, match="support"):
        D.HalfNormal(_t([1.0])).log_prob(_t([-0.5]))
    with pytest.raises(ValueError, match="support"):
        D.Pareto(_t(2.0), _t(1.0)).log_prob(_t(1.5))
    with pytest.raises(ValueError, match="support"):
        D.Kumaraswamy(_t(2.0), _t(1.0)).log_prob(_t(1.5))
    with pytest.raises(ValueError, match="support"):
        D.LogisticNormal(_t([0.0, 0.0]), _t([1.0, 1.0])).log_prob(_t([0.5, 0.6, 0.1]))


@pytest.mark.parametrize(
    "name,args",
    [
        ("LogNormal", (0.0, -1.0)),
        ("HalfNormal", (0.0,)),
        ("HalfCauchy", (-1.0,)),
        ("Gumbel", (0.0, 0.0)),
        ("Pareto", (-1.0, 1.0)),
        ("Pareto", (1.0, 0.0)),
        ("Weibull", (1.0, -2.0)),
        ("Kumaraswamy", (0.0, 1.0)),
        ("LogisticNormal", (0.0, -1.0)),
        ("InverseGamma", (1.0, 0.0)),
    ],
)
def test_invalid_parameters(name, args):
    with pytest.raises(ValueError, match="Expected parameter"):
        getattr(D, name)(*[_t([a]) for a in args])
    getattr(D, name)(*[_t([a]) for a in args], validate_args=False)  # no check


# ---------------------------------------------------------------------------------------
# shapes


@pytest.mark.parametrize("name", FAMILIES + ["LogisticNormal"])
def test_shapes_expand_and_scalars(name):
    params = P.get(name, (np.zeros((3, 2)), np.ones((3, 2))))
    d = _make(name, params)
    event = (3,) if name == "LogisticNormal" else ()
    batch = (3,)
    assert tuple(d.batch_shape) == batch and tuple(d.event_shape) == event
    assert tuple(d.sample().shape) == batch + event
    assert tuple(d.rsample((4, 2)).shape) == (4, 2) + batch + event
    e = d.expand((5,) + batch)
    assert type(e) is type(d)
    assert tuple(e.batch_shape) == (5,) + batch and tuple(e.event_shape) == event
    assert tuple(e.sample((2,)).shape) == (2, 5) + batch + event
    x = d.sample()
    np.testing.assert_allclose(
        to_np(e.log_prob(x)), np.broadcast_to(to_np(d.log_prob(x)), (5,) + batch), rtol=1e-14
    )
    # Python-number parameters give a scalar distribution of the default dtype.
    scalars = [float(np.ravel(p)[0]) for p in params]
    s = getattr(D, name)(*scalars)
    assert tuple(s.batch_shape) == ()
    assert s.sample().dtype == rtorch.float32
    if name == "LogisticNormal":
        assert tuple(s.event_shape) == (2,)  # a scalar base is a vector of one
    # Broadcasting parameters.
    if len(params) == 2 and name != "LogisticNormal":
        b = getattr(D, name)(_t(params[0]).reshape(3, 1), _t(params[1]))
        assert tuple(b.batch_shape) == (3, 3)


def test_float32_parameters():
    d = D.Weibull(rtorch.tensor([1.5]), rtorch.tensor([2.0]))
    assert d.sample().dtype == rtorch.float32
    assert d.log_prob(rtorch.tensor([0.5])).dtype == rtorch.float32
    ref = _ref("Weibull", (np.array([1.5]), np.array([2.0])))
    np.testing.assert_allclose(
        to_np(d.log_prob(rtorch.tensor([0.5]))), ref["log_prob"](np.array([0.5])), rtol=1e-6
    )


# ---------------------------------------------------------------------------------------
# sampling


N_SAMPLES = 100_000


@pytest.mark.parametrize("name", FAMILIES)
def test_sample_cdf_and_mean(name):
    rtorch.manual_seed(123)
    params = P[name]
    d = _make(name, params)
    ref = _ref(name, params)
    x = to_np(d.sample((N_SAMPLES,)))
    assert x.shape == (N_SAMPLES, 3)
    # The empirical cdf at the reference quartiles, within 5 binomial standard errors.
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        point = np.array([np.quantile(x[:, j], q) for j in range(3)])
        f = ref["cdf"](point)
        emp = (x <= point).mean(0)
        assert (np.abs(emp - f) <= 5 * np.sqrt(f * (1 - f) / N_SAMPLES) + 1e-12).all(), q
    # Absolute check of the cdf at fixed points (the above is relative to the sample).
    pts = ref["values"]
    f = ref["cdf"](pts)
    emp = (x <= pts).mean(0)
    assert (np.abs(emp - f) <= 5 * np.sqrt(f * (1 - f) / N_SAMPLES) + 1e-12).all()
    if np.isfinite(ref["variance"]).all():
        se = np.sqrt(ref["variance"] / N_SAMPLES)
        assert (np.abs(x.mean(0) - ref["mean"]) <= 6 * se).all()


def test_logistic_normal_samples():
    rtorch.manual_seed(7)
    loc, scale = np.array([0.3, -1.0, 0.5]), np.array([0.5, 2.0, 1.0])
    d = D.LogisticNormal(_t(loc), _t(scale))
    y = d.sample((N_SAMPLES,))
    assert bool(constraints.simplex.check(y).all())
    # Pulled back through the stick-breaking map the samples are Normal(loc, scale).
    x = to_np(T.StickBreakingTransform().inv(y))
    assert (np.abs(x.mean(0) - loc) <= 5 * scale / np.sqrt(N_SAMPLES)).all()
    assert (np.abs(x.std(0) - scale) <= 5 * scale / np.sqrt(2 * N_SAMPLES)).all()


def test_logistic_normal_log_prob_closed_form():
    loc, scale = np.array([0.3, -1.0, 0.5]), np.array([0.5, 2.0, 1.0])
    d = D.LogisticNormal(_t(loc), _t(scale))
    y = np.array([[0.2, 0.3, 0.1, 0.4], [0.7, 0.1, 0.15, 0.05]])
    # Inverse stick-breaking and its triangular Jacobian, by hand.
    k1 = 3
    want = []
    for row in y:
        rest = 1.0
        logdet = 0.0
        logp = 0.0
        for i in range(k1):
            z = row[i] / rest
            xi = math.log(z / (1 - z)) + math.log(k1 - i)
            logdet += math.log(z * (1 - z) * rest)
            logp += (
                -0.5 * ((xi - loc[i]) / scale[i]) ** 2
                - math.log(scale[i])
                - 0.5 * math.log(2 * math.pi)
            )
            rest -= row[i]
        want.append(logp - logdet)
    np.testing.assert_allclose(to_np(d.log_prob(_t(y))), want, rtol=1e-11)


# ---------------------------------------------------------------------------------------
# gradients


def _seeded(name, n_params, *params):
    rtorch.manual_seed(3)
    return getattr(D, name)(*params).rsample((4,))


@pytest.mark.parametrize(
    "name", ["LogNormal", "HalfNormal", "HalfCauchy", "Gumbel", "Pareto", "Weibull", "Kumaraswamy"]
)
def test_gradcheck_rsample(name):
    params = tuple(_t(p).requires_grad_() for p in P[name])
    assert D.__dict__[name].has_rsample if name != "Gumbel" else True
    assert rtorch.autograd.gradcheck(lambda *ps: _seeded(name, len(ps), *ps), params)


def test_gradcheck_rsample_logistic_normal_and_inverse_gamma():
    loc = _t([0.3, -1.0]).requires_grad_()
    scale = _t([0.5, 2.0]).requires_grad_()
    assert rtorch.autograd.gradcheck(lambda a, b: _seeded("LogisticNormal", 2, a, b), (loc, scale))
    # The gamma sample's gradient in its concentration is the implicit one (not the
    # derivative at a fixed seed), so only the rate is checked by differences here.
    conc = _t([4.5, 5.0])
    rate = _t([1.5, 3.0]).requires_grad_()
    assert rtorch.autograd.gradcheck(lambda r: _seeded("InverseGamma", 2, conc, r), (rate,))


@pytest.mark.parametrize("name", FAMILIES)
def test_gradcheck_log_prob(name):
    params = tuple(_t(p).requires_grad_() for p in P[name])
    value = _t(_ref(name, P[name])["values"]).requires_grad_()

    def f(v, *ps):
        return getattr(D, name)(*ps).log_prob(v)

    assert rtorch.autograd.gradcheck(f, (value, *params))


def test_rsample_gradient_flows():
    scale = _t([1.5]).requires_grad_()
    D.Weibull(scale, _t([2.0])).rsample((10,)).sum().backward()
    assert scale.grad is not None and bool(scale.grad.isfinite().all())
    assert D.Weibull(scale, _t([2.0])).sample().grad_fn is None


# ---------------------------------------------------------------------------------------
# TransformedDistribution in general


def test_affine_of_normal_is_normal():
    base = D.Normal(_t([0.0, 1.0]), _t([1.0, 2.0]))
    d = D.TransformedDistribution(base, [T.AffineTransform(_t(3.0), _t(-0.5))])
    x = np.array([0.7, -2.0])
    mu, s = np.array([3.0, 2.5]), np.array([0.5, 1.0])
    want = -0.5 * ((x - mu) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(to_np(d.log_prob(_t(x))), want, rtol=1e-13)
    # A decreasing map turns the base cdf around.
    want_cdf = 0.5 * (1 + _erf((x - mu) / (s * np.sqrt(2))))
    np.testing.assert_allclose(to_np(d.cdf(_t(x))), want_cdf, rtol=1e-12)
    np.testing.assert_allclose(to_np(d.icdf(_t(want_cdf))), x, rtol=1e-10)
    assert d.has_rsample and repr(d.support) == "Real()"


def test_event_shapes_from_transforms():
    base = D.Normal(rtorch.zeros(4, 6, dtype=F64), rtorch.ones(4, 6, dtype=F64))
    d = D.TransformedDistribution(base, T.ReshapeTransform((6,), (2, 3)))
    assert tuple(d.batch_shape) == (4,) and tuple(d.event_shape) == (2, 3)
    x = _t(np.linspace(-1, 1, 24).reshape(4, 2, 3))
    want = (-0.5 * np.linspace(-1, 1, 24) ** 2 - 0.5 * np.log(2 * np.pi)).reshape(4, 6).sum(1)
    np.testing.assert_allclose(to_np(d.log_prob(x)), want, rtol=1e-13)
    sb = D.TransformedDistribution(base, T.StickBreakingTransform())
    assert tuple(sb.batch_shape) == (4,) and tuple(sb.event_shape) == (7,)
    assert repr(sb.support) == "Simplex()"
    assert tuple(sb.log_prob(sb.sample()).shape) == (4,)
    # Transforms that broadcast the base expand it (a Cauchy base: rtorch's Normal has no
    # expand yet).
    bc = D.TransformedDistribution(
        D.Cauchy(_t(0.0), _t(1.0)), T.AffineTransform(_t([1.0, 2.0]), 1.0)
    )
    assert tuple(bc.batch_shape) == (2,) and tuple(bc.base_dist.batch_shape) == (2,)
    e = bc.expand((3, 2))
    assert tuple(e.batch_shape) == (3, 2) and tuple(e.base_dist.batch_shape) == (3, 2)


def test_transformed_distribution_errors():
    base = D.Normal(_t(0.0), _t(1.0))
    with pytest.raises(ValueError, match="transforms must be a Transform or list"):
        D.TransformedDistribution(base, T.ExpTransform)
    with pytest.raises(ValueError, match="transforms must be a Transform or a list"):
        D.TransformedDistribution(base, [T.ExpTransform(), 3])
    with pytest.raises(ValueError, match="needs to have shape with size at least 1"):
        D.TransformedDistribution(base, T.StickBreakingTransform())
    d = D.TransformedDistribution(base, [])
    assert d.support is constraints.real
    assert constraints.is_dependent(D.TransformedDistribution.support)


def test_inverse_gamma_cdf_uses_decreasing_power():
    d = D.InverseGamma(_t(2.5), _t(1.5))
    x = np.array([0.3, 1.0, 4.0])
    np.testing.assert_allclose(to_np(d.cdf(_t(x))), 1 - _reg_lower_gamma(2.5, 1.5 / x), rtol=1e-10)


# ---------------------------------------------------------------------------------------
# KL divergences


def _np_logpdf(name, params):
    with np.errstate(divide="ignore"):
        return _ref(name, tuple(np.float64(v) for v in params))["log_prob"]


def _normal_logpdf(mu, s):
    return lambda x: -0.5 * ((x - mu) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)


def _kl_numeric(logp, logq, grid):
    lp, lq = logp(grid), logq(grid)
    return np.trapezoid(np.exp(lp) * (lp - lq), grid)


def _scalar(name, *vals):
    return getattr(D, name)(*[_t(v) for v in vals])


def test_kl_lognormal_and_halfnormal_closed_forms():
    p, q = _scalar("LogNormal", 0.3, 0.5), _scalar("LogNormal", -1.0, 1.5)
    want = np.log(1.5 / 0.5) + (0.5**2 + 1.3**2) / (2 * 1.5**2) - 0.5
    assert abs(D.kl_divergence(p, q).item() - want) < 1e-13
    p, q = _scalar("HalfNormal", 0.7), _scalar("HalfNormal", 2.0)
    want = np.log(2.0 / 0.7) + 0.7**2 / (2 * 2.0**2) - 0.5
    assert abs(D.kl_divergence(p, q).item() - want) < 1e-13
    # Different transforms: no closed form.
    other = D.TransformedDistribution(D.Normal(_t(0.3), _t(0.5)), T.SigmoidTransform())
    with pytest.raises(NotImplementedError):
        D.kl_divergence(_scalar("LogNormal", 0.3, 0.5), other)


def _gamma_logpdf(a, r):
    return lambda x: a * np.log(r) - _lgamma(a) + (a - 1) * np.log(x) - r * x


KL_NUMERIC = [
    # (p, q, numpy logp, numpy logq, grid)
    (
        lambda: (_scalar("Gumbel", 0.3, 0.8), _scalar("Gumbel", -0.5, 1.5)),
        _np_logpdf("Gumbel", (0.3, 0.8)),
        _np_logpdf("Gumbel", (-0.5, 1.5)),
        np.linspace(-10, 40, 400_001),
    ),
    (
        lambda: (_scalar("Pareto", 1.5, 3.0), _scalar("Pareto", 1.0, 2.0)),
        _np_logpdf("Pareto", (1.5, 3.0)),
        _np_logpdf("Pareto", (1.0, 2.0)),
        1.5 * np.exp(np.linspace(0, 20, 400_001)),
    ),
    (
        lambda: (D.Exponential(_t(1.3)), _scalar("Gumbel", 0.4, 1.2)),
        lambda x: np.log(1.3) - 1.3 * x,
        _np_logpdf("Gumbel", (0.4, 1.2)),
        np.linspace(0, 40, 400_001),
    ),
    (
        lambda: (_scalar("Gumbel", 0.3, 0.8), D.Normal(_t(0.5), _t(1.7))),
        _np_logpdf("Gumbel", (0.3, 0.8)),
        _normal_logpdf(0.5, 1.7),
        np.linspace(-10, 40, 400_001),
    ),
    (
        lambda: (D.Normal(_t(0.5), _t(0.7)), _scalar("Gumbel", 0.3, 1.8)),
        _normal_logpdf(0.5, 0.7),
        _np_logpdf("Gumbel", (0.3, 1.8)),
        np.linspace(-10, 10, 400_001),
    ),
    (
        lambda: (D.Uniform(_t(-1.0), _t(2.0)), _scalar("Gumbel", 0.3, 1.8)),
        lambda x: np.full_like(x, -np.log(3.0)),
        _np_logpdf("Gumbel", (0.3, 1.8)),
        np.linspace(-1, 2, 400_001),
    ),
    (
        lambda: (_scalar("Pareto", 1.5, 3.5), D.Exponential(_t(0.7))),
        _np_logpdf("Pareto", (1.5, 3.5)),
        lambda x: np.log(0.7) - 0.7 * x,
        1.5 * np.exp(np.linspace(0, 25, 800_001)),
    ),
    (
        lambda: (_scalar("Pareto", 1.5, 4.5), D.Normal(_t(0.5), _t(2.0))),
        _np_logpdf("Pareto", (1.5, 4.5)),
        _normal_logpdf(0.5, 2.0),
        1.5 * np.exp(np.linspace(0, 25, 800_001)),
    ),
    (
        lambda: (_scalar("Pareto", 1.5, 3.5), D.Gamma(_t(2.0), _t(0.8))),
        _np_logpdf("Pareto", (1.5, 3.5)),
        _gamma_logpdf(2.0, 0.8),
        1.5 * np.exp(np.linspace(0, 25, 800_001)),
    ),
    (
        lambda: (D.Uniform(_t(2.0), _t(5.0)), _scalar("Pareto", 1.5, 2.5)),
        lambda x: np.full_like(x, -np.log(3.0)),
        _np_logpdf("Pareto", (1.5, 2.5)),
        np.linspace(2, 5, 400_001),
    ),
    (
        lambda: (D.Gamma(_t(2.5), _t(1.5)), _scalar("Gumbel", 0.4, 1.2)),
        _gamma_logpdf(2.5, 1.5),
        _np_logpdf("Gumbel", (0.4, 1.2)),
        np.linspace(1e-9, 40, 400_001),
    ),
]


@pytest.mark.parametrize("case", KL_NUMERIC, ids=lambda c: "")
def test_kl_against_numerical_integration(case):
    make, logp, logq, grid = case
    p, q = make()
    got = D.kl_divergence(p, q).item()
    want = _kl_numeric(logp, logq, grid)
    assert abs(got - want) < 1e-6 * max(1.0, abs(want)), (got, want)


def test_kl_infinite_pairs():
    par = _scalar("Pareto", 1.5, 3.0)
    gum = _scalar("Gumbel", 0.0, 1.0)
    inf_pairs = [
        (D.Normal(_t(0.0), _t(1.0)), par),
        (D.Exponential(_t(1.0)), par),
        (D.Gamma(_t(2.0), _t(1.0)), par),
        (D.Laplace(_t(0.0), _t(1.0)), par),
        (D.Beta(_t(2.0), _t(3.0)), par),
        (gum, par),
        (gum, D.Exponential(_t(1.0))),
        (gum, D.Gamma(_t(2.0), _t(1.0))),
        (gum, D.Uniform(_t(0.0), _t(1.0))),
        (gum, D.Beta(_t(2.0), _t(3.0))),
        (par, D.Uniform(_t(0.0), _t(5.0))),
        (par, D.Beta(_t(2.0), _t(3.0))),
    ]
    for p, q in inf_pairs:
        assert D.kl_divergence(p, q).item() == math.inf, (type(p), type(q))
    # Support mismatches inside the closed forms.
    assert (
        D.kl_divergence(_scalar("Pareto", 1.0, 3.0), _scalar("Pareto", 2.0, 3.0)).item() == math.inf
    )
    assert D.kl_divergence(_scalar("Pareto", 1.5, 0.8), D.Exponential(_t(1.0))).item() == math.inf
    assert (
        D.kl_divergence(_scalar("Pareto", 1.5, 1.8), D.Normal(_t(0.0), _t(1.0))).item() == math.inf
    )
    assert (
        D.kl_divergence(D.Uniform(_t(0.5), _t(3.0)), _scalar("Pareto", 1.0, 2.0)).item() == math.inf
    )


def test_kl_batched_and_differentiable():
    loc = _t([0.3, -1.0]).requires_grad_()
    scale = _t([0.8, 1.5]).requires_grad_()

    def f(a, b):
        return D.kl_divergence(D.Gumbel(a, b), D.Gumbel(_t([0.0, 0.5]), _t([1.0, 2.0])))

    assert tuple(f(loc, scale).shape) == (2,)
    assert rtorch.autograd.gradcheck(f, (loc, scale))


# ---------------------------------------------------------------------------------------
# parity with PyTorch


PARITY = [
    ("LogNormal", P["LogNormal"]),
    ("HalfNormal", P["HalfNormal"]),
    ("HalfCauchy", P["HalfCauchy"]),
    ("Gumbel", P["Gumbel"]),
    ("Pareto", (np.array([1.5, 0.5, 2.0]), np.array([0.8, 1.5, 2.5]))),
    ("Weibull", (np.array([1.5, 0.5, 2.0]), np.array([0.8, 3.0, 1.2]))),
    ("Kumaraswamy", (np.array([2.0, 0.7, 5.0]), np.array([3.0, 1.2, 0.5]))),
    ("InverseGamma", (np.array([0.5, 1.5, 6.0]), np.array([1.5, 3.0, 0.5]))),
    ("LogisticNormal", (np.array([[0.3, -1.0], [0.0, 2.0]]), np.array([[0.5, 2.0], [1.0, 0.1]]))),
]


@pytest.mark.parametrize("name,params", PARITY, ids=[p[0] for p in PARITY])
def test_families_match_pytorch(torch_ref, name, params):
    torch = torch_ref
    ours = getattr(D, name)(*[_t(p) for p in params])
    theirs = getattr(torch.distributions, name)(*[torch.tensor(p) for p in params])
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    assert repr(ours.support) == repr(theirs.support)
    assert repr(ours) == repr(theirs)
    with torch.no_grad():
        x = theirs.sample((5,)).double()
    x = x.clamp(min=1e-6) if name not in ("Gumbel", "LogisticNormal") else x
    if name == "Kumaraswamy":
        x = x.clamp(max=1 - 1e-6)

    def cmp(f_ours, f_theirs, what, rtol=1e-11):
        try:
            want = f_theirs()
        except NotImplementedError:
            with pytest.raises(NotImplementedError):
                f_ours()
            return
        np.testing.assert_allclose(
            to_np(f_ours()), want.numpy(), rtol=rtol, atol=1e-12, equal_nan=True, err_msg=what
        )

    cmp(lambda: ours.log_prob(_t(x.numpy())), lambda: theirs.log_prob(x), "log_prob")
    cmp(lambda: ours.mean, lambda: theirs.mean, "mean")
    cmp(lambda: ours.variance, lambda: theirs.variance, "variance")
    cmp(lambda: ours.entropy(), lambda: theirs.entropy(), "entropy", rtol=1e-9)
    if name != "Kumaraswamy":  # PyTorch's Kumaraswamy.mode is NaN (see the module)
        cmp(lambda: ours.mode, lambda: theirs.mode, "mode")
    if name != "LogisticNormal":
        cmp(lambda: ours.cdf(_t(x.numpy())), lambda: theirs.cdf(x), "cdf", rtol=1e-10)
        p = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
        cmp(lambda: ours.icdf(_t(p.numpy())), lambda: theirs.icdf(p), "icdf", rtol=1e-10)
    e_o, e_t = (
        ours.expand((4,) + tuple(ours.batch_shape)),
        theirs.expand((4,) + tuple(theirs.batch_shape)),
    )
    assert tuple(e_o.batch_shape) == tuple(e_t.batch_shape)
    assert tuple(e_o.sample().shape) == tuple(e_t.sample().shape)


def test_kumaraswamy_mode_deviation(torch_ref):
    # PyTorch takes log1p(-c0), NaN for every c0 > 1; ours is the true mode. Documented.
    torch = torch_ref
    theirs = torch.distributions.Kumaraswamy(torch.tensor([2.0]), torch.tensor([3.0])).mode
    assert math.isnan(theirs.item())
    assert abs(D.Kumaraswamy(_t([2.0]), _t([3.0])).mode.item() - 0.2**0.5) < 1e-15


def test_kl_matches_pytorch(torch_ref):
    torch = torch_ref
    TD = torch.distributions

    def both(name, *vals):
        return getattr(D, name)(*[_t(v) for v in vals]), getattr(TD, name)(
            *[torch.tensor(np.asarray(v, dtype=np.float64)) for v in vals]
        )

    specs = [
        (("Gumbel", [0.3, -1.0], [0.8, 2.0]), ("Gumbel", [0.0, 0.5], [1.0, 1.5])),
        (("HalfNormal", [0.7, 2.0]), ("HalfNormal", [1.0, 0.5])),
        (("Pareto", [1.5, 2.0], [3.0, 0.5]), ("Pareto", [1.0, 2.5], [2.0, 1.0])),
        (("LogNormal", [0.3, -1.0], [0.8, 2.0]), ("LogNormal", [0.0, 0.5], [1.0, 1.5])),
        (("Exponential", [1.3, 0.2]), ("Gumbel", [0.0, 0.5], [1.0, 1.5])),
        (("Gamma", [2.5, 0.7], [1.5, 3.0]), ("Gumbel", [0.0, 0.5], [1.0, 1.5])),
        (("Gumbel", [0.3, -1.0], [0.8, 2.0]), ("Normal", [0.0, 0.5], [1.0, 1.5])),
        (("Normal", [0.3, -1.0], [0.8, 2.0]), ("Gumbel", [0.0, 0.5], [1.0, 1.5])),
        (("Uniform", [0.3, -1.0], [0.8, 2.0]), ("Gumbel", [0.0, 0.5], [1.0, 1.5])),
        (("Pareto", [1.5, 2.0], [3.0, 0.5]), ("Exponential", [1.0, 2.5])),
        (("Pareto", [1.5, 2.0], [3.0, 0.5]), ("Gamma", [2.5, 0.7], [1.5, 3.0])),
        (("Pareto", [1.5, 2.0], [3.0, 2.5]), ("Normal", [0.0, 0.5], [1.0, 1.5])),
        (("Uniform", [1.6, 0.5], [2.8, 2.0]), ("Pareto", [1.5, 1.0], [3.0, 0.5])),
        (("Normal", [0.3, -1.0], [0.8, 2.0]), ("Pareto", [1.5, 1.0], [3.0, 0.5])),
    ]
    for (pn, *pv), (qn, *qv) in specs:
        p_o, p_t = both(pn, *pv)
        q_o, q_t = both(qn, *qv)
        np.testing.assert_allclose(
            to_np(D.kl_divergence(p_o, q_o)),
            TD.kl_divergence(p_t, q_t).numpy(),
            rtol=1e-11,
            err_msg=f"{pn} {qn}",
        )


def test_errors_match_pytorch(torch_ref):
    torch = torch_ref
    cases = [
        ("Pareto", ([1.0], [-1.0])),
        ("Weibull", ([0.0], [1.0])),
        ("HalfCauchy", ([-2.0],)),
    ]
    for name, args in cases:
        with pytest.raises(ValueError):
            getattr(torch.distributions, name)(*[torch.tensor(a) for a in args])
        with pytest.raises(ValueError):
            getattr(D, name)(*[_t(a) for a in args])
    with pytest.raises(ValueError):
        torch.distributions.HalfNormal(torch.tensor(1.0)).log_prob(torch.tensor(-1.0))
    with pytest.raises(ValueError):
        D.HalfNormal(_t(1.0)).log_prob(_t(-1.0))
