"""A systematic parity sweep of ``rtorch.distributions`` against PyTorch (the specification).

* Names: every public name of ``torch.distributions`` and of its ``constraints``,
  ``transforms``, ``constraint_registry``, ``kl`` and ``utils`` modules (and every
  submodule's ``__all__``) exists with the same kind, MRO, class members and signatures.
* Values: every case of ``CASES`` (each family, several parameterisations, edge and extreme
  parameters), built in float64, agrees with PyTorch on shapes, support, argument
  constraints, flags, moments, entropy, perplexity, log_prob/cdf/icdf (also of broadcasting
  values), enumerate_support, expand, reprs, validation messages, KL against every other
  case, and the gradients of all of these in every parameter; the same from float32,
  float16, bfloat16 and int64 parameters; exception classes wherever PyTorch raises.
  Values for log_prob are PyTorch's own samples, so these comparisons are deterministic.
* Sampling: rtorch's draws against PyTorch's moments, cdf and pmf, against PyTorch's own
  sampler (two-sample KS), and the unbiasedness of rsample's pathwise gradients.
* Constraints and transforms: every constraint and transform against PyTorch's.
* Devices: results computed from meta-device parameters stay on that device.

The deliberate deviations are listed with their reasons (``EXPECTED_DIFFERENCES``,
``LOOSER_TOLERANCES``, ``GRADIENT_DIFFERENCES``, ``DTYPE_DIFFERENCES``, ``KL_DIFFERENCES``,
``SAMPLER_DIFFERENCES``, ``PATHWISE_EXCEPTIONS``) and checked against their own references,
including that PyTorch still differs, so a stale entry fails.

All but two tests need torch (``torch_ref``) and skip cleanly without it.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import types

import numpy as np
import pytest

import rtorch

# ------------------------------------------------------------------------ name sweep

MODULES = [
    "distributions",
    "distributions.constraints",
    "distributions.transforms",
    "distributions.constraint_registry",
    "distributions.kl",
    "distributions.utils",
]


def _kind(obj: object) -> str:
    if isinstance(obj, types.ModuleType):
        return "module"
    if isinstance(obj, type):
        return "class"
    if callable(obj):
        return "function"
    return type(obj).__name__


def _module(lib: types.ModuleType, dotted: str) -> types.ModuleType:
    return importlib.import_module(f"{lib.__name__}.{dotted}")


@pytest.mark.parametrize("dotted", MODULES)
def test_public_names_exist_with_same_kind(torch_ref, dotted):
    theirs, ours = _module(torch_ref, dotted), _module(rtorch, dotted)
    names = getattr(theirs, "__all__", None) or [n for n in dir(theirs) if not n.startswith("_")]
    problems = []
    for name in names:
        if not hasattr(ours, name):
            problems.append(f"missing {name}")
        elif _kind(getattr(theirs, name)) != _kind(getattr(ours, name)):
            problems.append(
                f"{name}: {_kind(getattr(ours, name))} != {_kind(getattr(theirs, name))}"
            )
    if hasattr(theirs, "__all__"):
        extra = set(getattr(ours, "__all__", ())) - set(theirs.__all__)
        problems += [f"extra in __all__: {n}" for n in sorted(extra)]
    assert not problems, problems


def test_submodules_and_their_all(torch_ref):
    td = torch_ref.distributions
    theirs = {m.name for m in pkgutil.iter_modules(td.__path__)}
    ours = {m.name for m in pkgutil.iter_modules(rtorch.distributions.__path__)}
    assert theirs <= ours
    assert all(name.startswith("_kl_") for name in ours - theirs)
    for name in sorted(theirs):
        a = importlib.import_module(f"torch.distributions.{name}")
        b = importlib.import_module(f"rtorch.distributions.{name}")
        if hasattr(a, "__all__"):
            assert sorted(a.__all__) == sorted(getattr(b, "__all__", ())), name


def test_class_hierarchy(torch_ref):
    td = torch_ref.distributions
    for name in td.__all__:
        cls = getattr(td, name)
        if isinstance(cls, type):
            ours_cls = getattr(rtorch.distributions, name)
            theirs = [k.__name__ for k in cls.__mro__]
            assert [k.__name__ for k in ours_cls.__mro__] == theirs, name
            # Generic classes (Independent[D]) subscript the same way.
            params = getattr(cls, "__parameters__", ())
            assert len(getattr(ours_cls, "__parameters__", ())) == len(params), name
    assert "Normal]" in repr(rtorch.distributions.Independent[rtorch.distributions.Normal])


def test_class_members(torch_ref):
    """Every method and attribute of PyTorch's distribution and transform classes (private
    helpers such as ``_new`` or ``_natural_params`` included, dunders aside) exists."""
    problems = []
    for module in ("distributions", "distributions.transforms", "distributions.constraints"):
        theirs_mod, ours_mod = _module(torch_ref, module), _module(rtorch, module)
        for name in getattr(theirs_mod, "__all__", ()):
            cls = getattr(theirs_mod, name)
            if not isinstance(cls, type):
                continue
            ours_cls = getattr(ours_mod, name)
            typing_internals = {"_abc_impl", "_is_protocol"}
            missing = {m for m in dir(cls) if not m.startswith("__")} - set(dir(ours_cls))
            problems += [f"{name}.{m}" for m in sorted(missing - typing_internals)]
    assert not problems, problems


# ------------------------------------------------------------------------ value sweep


def _spd(lib, rows):
    """Symmetric positive-definite matrices ``A A^T + I`` from nested lists ``A``."""
    a = lib.tensor(rows, dtype=lib.float64)
    return a @ a.transpose(-1, -2) + lib.eye(a.shape[-1], dtype=lib.float64)


A2 = [[[1.0, 0.3], [0.2, 0.8]], [[0.5, -0.4], [0.1, 1.5]]]
A3 = [[[1.0, 0.3, 0.0], [0.2, 0.8, -0.1], [0.4, 0.0, 0.6]]] * 2
P3 = [[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]]
L3 = [[-0.5, 0.2, 1.0], [0.0, 1.5, -2.0]]


def _cases():
    """name -> factory(D, t, lib) building the distribution from ``lib`` (torch or rtorch)."""
    return {
        "Bernoulli-probs": lambda D, t, L: D.Bernoulli(probs=t([0.3, 0.8])),
        "Bernoulli-logits": lambda D, t, L: D.Bernoulli(logits=t([-0.5, 1.2])),
        "Bernoulli-half": lambda D, t, L: D.Bernoulli(probs=t([0.5, 0.0])),
        "Bernoulli-scalar": lambda D, t, L: D.Bernoulli(0.3),
        "Beta": lambda D, t, L: D.Beta(t([0.5, 2.0]), t([1.5, 3.0])),
        "Binomial": lambda D, t, L: D.Binomial(t([5.0, 10.0]), probs=t([0.3, 0.6])),
        "Binomial-logits": lambda D, t, L: D.Binomial(10, logits=t([-0.3, 0.6])),
        "Categorical-probs": lambda D, t, L: D.Categorical(probs=t(P3)),
        "Categorical-logits": lambda D, t, L: D.Categorical(logits=t(L3)),
        "Cauchy": lambda D, t, L: D.Cauchy(t([0.0, 1.0]), t([1.0, 2.0])),
        "Chi2": lambda D, t, L: D.Chi2(t([1.5, 4.0])),
        "ContinuousBernoulli": lambda D, t, L: D.ContinuousBernoulli(probs=t([0.3, 0.5])),
        "ContinuousBernoulli-logits": lambda D, t, L: D.ContinuousBernoulli(logits=t([0.7, -2.0])),
        "Dirichlet": lambda D, t, L: D.Dirichlet(t([[0.5, 1.0, 2.0], [3.0, 1.0, 1.0]])),
        "Exponential": lambda D, t, L: D.Exponential(t([0.5, 2.0])),
        "FisherSnedecor": lambda D, t, L: D.FisherSnedecor(t([3.0, 5.0]), t([4.0, 7.0])),
        "FisherSnedecor-small": lambda D, t, L: D.FisherSnedecor(t([3.0, 5.0]), t([1.5, 3.0])),
        "Gamma": lambda D, t, L: D.Gamma(t([0.5, 3.0]), t([1.0, 2.0])),
        # concentration 1: the (c - 1) log x terms' gradient at c - 1 = 0
        "Gamma-unit": lambda D, t, L: D.Gamma(t([1.0, 2.0]), t([0.5, 1.0])),
        "Chi2-two": lambda D, t, L: D.Chi2(t([2.0, 1.0])),
        "Beta-unit": lambda D, t, L: D.Beta(t([1.0, 2.0]), t([1.0, 0.5])),
        "GeneralizedPareto": lambda D, t, L: D.GeneralizedPareto(
            t([0.0, 1.0]), t([1.0, 2.0]), t([0.2, -0.3])
        ),
        "Geometric": lambda D, t, L: D.Geometric(probs=t([0.3, 0.7])),
        "Geometric-logits": lambda D, t, L: D.Geometric(logits=t([0.3, -0.7])),
        "Gumbel": lambda D, t, L: D.Gumbel(t([0.0, 1.0]), t([1.0, 2.0])),
        "HalfCauchy": lambda D, t, L: D.HalfCauchy(t([1.0, 2.0])),
        "HalfNormal": lambda D, t, L: D.HalfNormal(t([1.0, 2.0])),
        # edges: zero probabilities, point masses, zero rates and counts
        "Categorical-zeros": lambda D, t, L: D.Categorical(
            probs=t([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
        ),
        "OneHotCategorical-zeros": lambda D, t, L: D.OneHotCategorical(
            probs=t([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
        ),
        "Bernoulli-edges": lambda D, t, L: D.Bernoulli(probs=t([0.0, 1.0])),
        "Binomial-edges": lambda D, t, L: D.Binomial(t([0.0, 5.0, 4.0]), probs=t([0.3, 0.0, 1.0])),
        "Geometric-one": lambda D, t, L: D.Geometric(probs=t([1.0, 0.5])),
        "Poisson-zero": lambda D, t, L: D.Poisson(t([0.0, 1e-3])),
        "Multinomial-zeros": lambda D, t, L: D.Multinomial(
            4, probs=t([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
        ),
        "NegativeBinomial-zero": lambda D, t, L: D.NegativeBinomial(
            t([3.0, 2.0]), probs=t([0.0, 0.5])
        ),
        "Dirichlet-small": lambda D, t, L: D.Dirichlet(t([[0.05, 0.1, 0.2]])),
        "Gamma-small": lambda D, t, L: D.Gamma(t([0.05, 1e-3]), t([1.0, 3.0])),
        "Beta-small": lambda D, t, L: D.Beta(t([0.05, 50.0]), t([0.1, 0.02])),
        # large and extreme parameters
        "Binomial-large": lambda D, t, L: D.Binomial(t([1000.0, 500.0]), probs=t([0.003, 0.97])),
        "Poisson-large": lambda D, t, L: D.Poisson(t([1e4, 37.5])),
        "Geometric-tiny": lambda D, t, L: D.Geometric(probs=t([1e-6, 0.999])),
        "Gamma-large": lambda D, t, L: D.Gamma(t([1e4, 150.0]), t([1.0, 1e-3])),
        "StudentT-large-df": lambda D, t, L: D.StudentT(t([1e6, 30.0])),
        "Multinomial-large": lambda D, t, L: D.Multinomial(2000, probs=t(P3)),
        "NegativeBinomial-large": lambda D, t, L: D.NegativeBinomial(
            t([500.0, 0.5]), probs=t([0.9, 0.01])
        ),
        "Normal-extreme": lambda D, t, L: D.Normal(t([1e8, -3.0]), t([1e-6, 1e5])),
        "Independent": lambda D, t, L: D.Independent(
            D.Normal(t([[0.0, 1.0, 2.0], [0.5, 0.5, 0.5]]), t([[1.0, 2.0, 0.5]] * 2)), 1
        ),
        "InverseGamma": lambda D, t, L: D.InverseGamma(t([2.5, 3.0]), t([1.0, 2.0])),
        "Kumaraswamy": lambda D, t, L: D.Kumaraswamy(t([1.5, 2.0]), t([2.0, 3.0])),
        "LKJCholesky": lambda D, t, L: D.LKJCholesky(3, t([0.5, 2.0])),
        "Laplace": lambda D, t, L: D.Laplace(t([0.0, 1.0]), t([1.0, 2.0])),
        "LogNormal": lambda D, t, L: D.LogNormal(t([0.0, 1.0]), t([0.5, 1.0])),
        "LogisticNormal": lambda D, t, L: D.LogisticNormal(
            t([[0.1, -0.2], [0.3, 0.4]]), t([[1.0, 0.5], [0.7, 1.2]])
        ),
        "LowRankMultivariateNormal": lambda D, t, L: D.LowRankMultivariateNormal(
            t([[0.0, 1.0, 2.0], [0.5, 0.5, 0.5]]),
            t([[[0.3], [0.1], [-0.2]], [[1.0], [0.0], [0.5]]]),
            t([[1.0, 2.0, 0.5], [0.3, 0.4, 0.5]]),
        ),
        "MixtureSameFamily": lambda D, t, L: D.MixtureSameFamily(
            D.Categorical(probs=t(P3)), D.Normal(t(L3), t([[1.0, 2.0, 0.5]] * 2))
        ),
        "Multinomial": lambda D, t, L: D.Multinomial(5, probs=t(P3)),
        "MultivariateNormal-cov": lambda D, t, L: D.MultivariateNormal(
            t([[0.0, 1.0, 2.0], [0.5, 0.5, 0.5]]), covariance_matrix=_spd(L, A3)
        ),
        "MultivariateNormal-prec": lambda D, t, L: D.MultivariateNormal(
            t([0.0, 1.0, 2.0]), precision_matrix=_spd(L, A3)
        ),
        "MultivariateNormal-tril": lambda D, t, L: D.MultivariateNormal(
            t([0.0, 1.0]), scale_tril=t([[1.0, 0.0], [0.3, 2.0]])
        ),
        "NegativeBinomial": lambda D, t, L: D.NegativeBinomial(t([3.0, 5.0]), probs=t([0.3, 0.6])),
        "NegativeBinomial-logits": lambda D, t, L: D.NegativeBinomial(3.0, logits=t([0.3, -0.6])),
        "Normal": lambda D, t, L: D.Normal(t([0.0, 1.0]), t([1.0, 2.0])),
        "Normal-scalar": lambda D, t, L: D.Normal(0.5, 2.0),
        "OneHotCategorical": lambda D, t, L: D.OneHotCategorical(probs=t(P3)),
        "OneHotCategoricalStraightThrough": lambda D, t, L: D.OneHotCategoricalStraightThrough(
            logits=t(L3)
        ),
        "Pareto": lambda D, t, L: D.Pareto(t([1.0, 2.0]), t([3.0, 0.5])),
        "Poisson": lambda D, t, L: D.Poisson(t([0.5, 3.0])),
        "RelaxedBernoulli": lambda D, t, L: D.RelaxedBernoulli(t(0.5), probs=t([0.3, 0.8])),
        "RelaxedOneHotCategorical": lambda D, t, L: D.RelaxedOneHotCategorical(t(0.5), probs=t(P3)),
        "StudentT": lambda D, t, L: D.StudentT(t([3.0, 1.5]), t([0.0, 1.0]), t([1.0, 2.0])),
        "StudentT-small-df": lambda D, t, L: D.StudentT(t([0.8, 2.0])),
        "TransformedDistribution": lambda D, t, L: D.TransformedDistribution(
            D.Normal(t([0.0, 1.0]), t([1.0, 0.5])),
            [D.transforms.ExpTransform(), D.transforms.AffineTransform(1.0, 2.0)],
        ),
        "Uniform": lambda D, t, L: D.Uniform(t([0.0, -1.0]), t([1.0, 2.0])),
        "VonMises": lambda D, t, L: D.VonMises(t([0.0, 1.0]), t([0.5, 3.0])),
        "Weibull": lambda D, t, L: D.Weibull(t([1.0, 2.0]), t([0.5, 3.0])),
        "Wishart": lambda D, t, L: D.Wishart(t([4.0, 5.0]), covariance_matrix=_spd(L, A2)),
        "Wishart-tril": lambda D, t, L: D.Wishart(t(3.0), scale_tril=t([[1.0, 0.0], [0.3, 2.0]])),
    }


CASES = _cases()

# Deliberate deviations: (case, quantity) -> reason. The sweep does not compare these with
# PyTorch; test_expected_differences checks each against its own reference instead (and that
# PyTorch still differs, so that a stale entry fails).
EXPECTED_DIFFERENCES = {
    ("Kumaraswamy", "mode"): (
        "PyTorch's mode formula returns NaN where the log of a ratio of its own terms goes "
        "negative; rtorch gives the true mode ((a - 1) / (a b - 1))^(1/a) for a, b >= 1"
    ),
    **{
        ("GeneralizedPareto", q): (
            f"PyTorch 2.15's GeneralizedPareto.{q} raises RuntimeError 'Double did not match "
            "Float' for float64 parameters; rtorch evaluates it (float32 agrees with PyTorch)"
        )
        for q in ("log_prob", "cdf")
    },
    ("NegativeBinomial", "mode"): (
        "(r - 1) p / (1 - p) = 6 exactly for r = 5, p = 0.6, so 5 and 6 are both modes and the "
        "floor of (r - 1) exp(logit p) turns on the last ulp of exp: rtorch's float64 exp "
        "returns 1.5 for exp(0.4054651081081643), one ulp above the correctly rounded "
        "1.4999999999999998 that PyTorch returns (a core-kernel rounding, not this family)"
    ),
}

# Quantities PyTorch computes with approximations: compared at the approximation's accuracy.
# (case, quantity) -> (rtol, reason)
LOOSER_TOLERANCES = {
    **{
        ("VonMises", q): (
            1e-7,
            (
                "PyTorch evaluates log I0 / I1 by Abramowitz-Stegun polynomial fits (relative "
                "error ~1e-8); rtorch's log I0 is exact through i0e (checked against numpy's "
                "i0 in test_looser_tolerance_von_mises_is_exact)"
            ),
        )
        for q in ("log_prob", "variance", "stddev", "expand.log_prob")
    },
}


LOOSER_TOLERANCES.update(
    {
        ("Gamma-large", q): (
            1e-9,
            (
                "PyTorch's igamma is accurate to ~3e-10 relative at concentration 150 (rtorch's "
                "cdf to ~1e-13; both checked offline against mpmath at 40 digits)"
            ),
        )
        for q in ("cdf",)
    }
)
LOOSER_TOLERANCES.update(
    {
        ("Multinomial-large", q): (
            1e-7,
            (
                "the entropy sums lgamma(k + 1) weights of about 1e4 over 2001 binomial terms, "
                "so the last bits of lgamma (1e-12 relative) cancel to ~1e-9 relative in both"
            ),
        )
        for q in ("entropy", "perplexity")
    }
)


def _rtol(name: str, quantity: str, default: float) -> float:
    return LOOSER_TOLERANCES.get((name, quantity), (default, ""))[0]


QUANTITIES = ["mean", "mode", "variance", "stddev", "entropy"]


def _build(lib, name):
    def t(v):
        return lib.tensor(v, dtype=lib.float64)

    return CASES[name](lib.distributions, t, lib)


def _to_rtorch(x):
    """A torch tensor (or nested structure) as an rtorch tensor of the same dtype."""
    dtype = getattr(rtorch, str(x.dtype).split(".")[-1])
    return rtorch.tensor(x.detach().tolist(), dtype=dtype).reshape(tuple(x.shape))


def _np(x) -> np.ndarray:
    if hasattr(x, "detach") and not isinstance(x, rtorch.Tensor):
        return x.detach().double().numpy()
    return np.array(x.detach().tolist(), dtype=np.float64).reshape(tuple(x.shape))


def _outcome(fn):
    """("ok", value) or ("raise", exception class)."""
    try:
        return ("ok", fn())
    except Exception as exc:  # noqa: BLE001  (the class is what is compared)
        return ("raise", type(exc))


def _assert_same(ours, theirs, what, rtol=1e-10, atol=1e-12):
    assert ours[0] == theirs[0], f"{what}: rtorch {ours} vs torch {theirs}"
    if ours[0] == "raise":
        assert ours[1].__name__ == theirs[1].__name__, f"{what}: {ours[1]} vs {theirs[1]}"
        return
    o, t = ours[1], theirs[1]
    assert tuple(o.shape) == tuple(t.shape), f"{what}: shape {tuple(o.shape)} vs {tuple(t.shape)}"
    assert str(o.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], f"{what}: dtype"
    np.testing.assert_allclose(_np(o), _np(t), rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def _pair(torch, name):
    torch.manual_seed(0)
    return _build(rtorch, name), _build(torch, name)


@pytest.mark.parametrize("name", list(CASES))
def test_structure(torch_ref, name):
    ours, theirs = _pair(torch_ref, name)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    assert ours.has_rsample == theirs.has_rsample
    assert ours.has_enumerate_support == theirs.has_enumerate_support
    assert ours.arg_constraints.keys() == theirs.arg_constraints.keys()
    for key, constraint in theirs.arg_constraints.items():
        assert type(ours.arg_constraints[key]).__name__ == type(constraint).__name__, key
    assert type(ours.support).__name__ == type(theirs.support).__name__
    assert repr(ours.support) == repr(theirs.support)
    assert ours.support.event_dim == theirs.support.event_dim
    assert ours.support.is_discrete == theirs.support.is_discrete
    assert repr(ours) == repr(theirs)
    # PyTorch's instance attributes (parameters, cached factors, _validate_args, ...) exist.
    assert set(vars(theirs)) <= set(dir(ours)), sorted(set(vars(theirs)) - set(dir(ours)))


@pytest.mark.parametrize("quantity", QUANTITIES)
@pytest.mark.parametrize("name", list(CASES))
def test_moments_and_entropy(torch_ref, name, quantity):
    if (name, quantity) in EXPECTED_DIFFERENCES:
        pytest.skip(EXPECTED_DIFFERENCES[name, quantity])
    ours, theirs = _pair(torch_ref, name)
    if quantity == "entropy":
        _assert_same(
            _outcome(ours.entropy),
            _outcome(theirs.entropy),
            f"{name}.entropy",
            rtol=_rtol(name, "entropy", 1e-10),
        )
    else:
        _assert_same(
            _outcome(lambda: getattr(ours, quantity)),
            _outcome(lambda: getattr(theirs, quantity)),
            f"{name}.{quantity}",
            rtol=_rtol(name, quantity, 1e-10),
        )


def _values(torch, dist):
    """Points of the support: PyTorch's own samples (two draws per batch element)."""
    torch.manual_seed(1)
    with torch.no_grad():
        return dist.sample((2,))


@pytest.mark.parametrize("name", list(CASES))
def test_log_prob_cdf(torch_ref, name):
    torch = torch_ref
    ours, theirs = _pair(torch, name)
    value = _values(torch, theirs)
    rvalue = _to_rtorch(value)
    if (name, "log_prob") not in EXPECTED_DIFFERENCES:
        _assert_same(
            _outcome(lambda: ours.log_prob(rvalue)),
            _outcome(lambda: theirs.log_prob(value)),
            f"{name}.log_prob",
            rtol=_rtol(name, "log_prob", 1e-9),
        )
    if (name, "cdf") not in EXPECTED_DIFFERENCES:
        _assert_same(
            _outcome(lambda: ours.cdf(rvalue)),
            _outcome(lambda: theirs.cdf(value)),
            f"{name}.cdf",
            rtol=_rtol(name, "cdf", 1e-10),
        )


@pytest.mark.parametrize("name", list(CASES))
def test_log_prob_cdf_broadcast_values(torch_ref, name):
    """Values that broadcast against the batch shape: a leading sample dim, a size-1 batch
    dim and a value missing the leading batch dim."""
    torch = torch_ref
    ours, theirs = _pair(torch, name)
    torch.manual_seed(1)
    value = theirs.sample()
    variants = [value.unsqueeze(0).expand((3, *value.shape))]
    if len(theirs.batch_shape) >= 1:
        variants += [value.narrow(0, 0, 1), value[0]]
    for i, x in enumerate(variants):
        for method in ("log_prob", "cdf"):
            if (name, method) in EXPECTED_DIFFERENCES:
                continue
            _assert_same(
                _outcome(lambda: getattr(ours, method)(_to_rtorch(x))),  # noqa: B023
                _outcome(lambda: getattr(theirs, method)(x)),  # noqa: B023
                f"{name}.{method} variant {i}",
                rtol=_rtol(name, "log_prob", 1e-9),
            )


@pytest.mark.parametrize("name", list(CASES))
def test_copy_pickle_and_perplexity(torch_ref, name):
    """deepcopy and pickle round trips give the same distribution (repr, log_prob), and
    perplexity() equals PyTorch's."""
    import copy
    import pickle

    torch = torch_ref
    ours, theirs = _pair(torch, name)
    value = _to_rtorch(_values(torch, theirs))
    want = _outcome(lambda: _np(ours.log_prob(value)))
    for clone in (copy.deepcopy(ours), pickle.loads(pickle.dumps(ours))):
        assert type(clone) is type(ours) and repr(clone) == repr(ours)
        got = _outcome(lambda: _np(clone.log_prob(value)))  # noqa: B023
        assert got[0] == want[0]
        if got[0] == "ok":
            np.testing.assert_array_equal(got[1], want[1])
    _assert_same(
        _outcome(ours.perplexity),
        _outcome(theirs.perplexity),
        f"{name}.perplexity",
        rtol=_rtol(name, "perplexity", _rtol(name, "variance", 1e-10)),
    )


@pytest.mark.parametrize("name", list(CASES))
def test_icdf(torch_ref, name):
    torch = torch_ref
    ours, theirs = _pair(torch, name)
    q = torch.tensor([0.1, 0.45, 0.9], dtype=torch.float64).reshape(
        (3,) + (1,) * len(theirs.batch_shape)
    )
    q = q.expand((3, *theirs.batch_shape))
    _assert_same(
        _outcome(lambda: ours.icdf(_to_rtorch(q))),
        _outcome(lambda: theirs.icdf(q)),
        f"{name}.icdf",
        rtol=1e-9,
    )


@pytest.mark.parametrize("name", list(CASES))
def test_enumerate_support_and_sampling_shapes(torch_ref, name):
    ours, theirs = _pair(torch_ref, name)
    for expand in (True, False):
        _assert_same(
            _outcome(lambda expand=expand: ours.enumerate_support(expand)),
            _outcome(lambda expand=expand: theirs.enumerate_support(expand)),
            f"{name}.enumerate_support({expand})",
        )
    rtorch.manual_seed(0)
    for shape in ((), (4,), (2, 3)):
        got, want = ours.sample(shape), theirs.sample(shape)
        assert tuple(got.shape) == tuple(want.shape)
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        assert bool(ours.support.check(got).all())
    r_ours, r_theirs = _outcome(lambda: ours.rsample((2,))), _outcome(lambda: theirs.rsample((2,)))
    assert r_ours[0] == r_theirs[0]
    if r_ours[0] == "raise":
        assert r_ours[1].__name__ == r_theirs[1].__name__
    else:
        assert tuple(r_ours[1].shape) == tuple(r_theirs[1].shape)


@pytest.mark.parametrize("name", list(CASES))
def test_expand(torch_ref, name):
    torch = torch_ref
    ours, theirs = _pair(torch, name)
    shape = (3, *theirs.batch_shape)
    eo, et = _outcome(lambda: ours.expand(shape)), _outcome(lambda: theirs.expand(shape))
    _ = eo[0] == et[0] or pytest.fail(f"expand: {eo} vs {et}")
    if eo[0] == "raise":
        assert eo[1].__name__ == et[1].__name__
        return
    eo, et = eo[1], et[1]
    assert type(eo) is type(ours)
    assert tuple(eo.batch_shape) == tuple(et.batch_shape) == shape
    assert tuple(eo.event_shape) == tuple(et.event_shape)
    assert repr(eo) == repr(et)
    value = _values(torch, et)
    if (name, "log_prob") not in EXPECTED_DIFFERENCES:
        _assert_same(
            _outcome(lambda: eo.log_prob(_to_rtorch(value))),
            _outcome(lambda: et.log_prob(value)),
            f"{name}.expand.log_prob",
            rtol=_rtol(name, "expand.log_prob", 1e-9),
        )
    _assert_same(_outcome(lambda: eo.mean), _outcome(lambda: et.mean), f"{name}.expand.mean")


def _float32_involved(*dists) -> bool:
    return any(getattr(v, "dtype", None) == rtorch.float32 for d in dists for v in vars(d).values())


# KL pairs that differ from PyTorch by design: (case p, case q) -> reason.
KL_DIFFERENCES = {
    ("Bernoulli-edges", "Poisson-zero"): (
        "KL(Bernoulli(0) || Poisson(0)) is 0 (both are the point mass at 0); PyTorch's "
        "formula evaluates 0 * log(0) there and returns NaN. rtorch's xlogy terms give 0 "
        "(checked in test_distributions_kl_remaining's exact sums)"
    ),
}


@pytest.mark.parametrize("name_p", list(CASES))
def test_kl_divergence_against_every_case(torch_ref, name_p):
    """kl_divergence(p, q) for q over every case: the same value, or the same exception
    class (NotImplementedError for unregistered pairs, shape errors for mismatched batches)."""
    torch = torch_ref
    compared = 0
    for name_q in CASES:
        p_ours, p_theirs = _pair(torch, name_p)
        q_ours, q_theirs = _pair(torch, name_q)
        # A float32 parameter (Python-number cases) makes the value float32-accurate only.
        if (name_p, name_q) in KL_DIFFERENCES:
            got = _np(rtorch.distributions.kl_divergence(p_ours, q_ours))
            want = _np(torch.distributions.kl_divergence(p_theirs, q_theirs))
            assert got[0] == 0 and np.isnan(want[0])  # the point-mass pair
            np.testing.assert_allclose(got[1:], want[1:], rtol=1e-9)
            compared += 1
            continue
        low = _float32_involved(p_ours, q_ours)
        rtol, atol = (1e-6, 1e-6) if low else (1e-9, 1e-12)
        _assert_same(
            _outcome(lambda: rtorch.distributions.kl_divergence(p_ours, q_ours)),  # noqa: B023
            _outcome(lambda: torch.distributions.kl_divergence(p_theirs, q_theirs)),  # noqa: B023
            f"KL({name_p} || {name_q})",
            rtol=rtol,
            atol=atol,
        )
        compared += 1
    assert compared == len(CASES)


# Gradient deviations: (case, quantity) -> reason; compared only where PyTorch's is finite
# and, for the VonMises approximations, at rtol 1e-6.
GRADIENT_DIFFERENCES = {
    ("Multinomial-large", "entropy"): (
        "the entropy's lgamma-weight cancellation (see LOOSER_TOLERANCES) leaves ~3e-7 "
        "relative in its gradient in both libraries; compared at rtol 1e-6"
    ),
    ("Wishart-tril", "log_prob"): (
        "the gradient in the upper triangle of scale_tril, which log_prob never reads (a "
        "central difference there is 0): rtorch's is 0, PyTorch's cholesky_inverse backward "
        "returns a full, non-triangular matrix"
    ),
    **{
        ("VonMises", q): "PyTorch's polynomial Bessel fits (see LOOSER_TOLERANCES)"
        for q in ("log_prob", "variance")
    },
}


def _build_leaves(lib, name):
    """The case with every tensor parameter a float64 leaf requiring grad, and the leaves."""
    leaves = []

    def t(v):
        leaf = lib.tensor(v, dtype=lib.float64, requires_grad=True)
        leaves.append(leaf)
        return leaf

    return CASES[name](lib.distributions, t, lib), leaves


def _gradients(lib, name, quantity, value):
    dist, leaves = _build_leaves(lib, name)
    try:
        if quantity in ("log_prob", "cdf"):
            out = getattr(dist, quantity)(value)
        elif quantity == "icdf":
            q = lib.tensor([0.1, 0.45, 0.9], dtype=lib.float64).reshape(
                (3,) + (1,) * len(dist.batch_shape)
            )
            out = dist.icdf(q.expand((3, *dist.batch_shape)))
        elif quantity == "entropy":
            out = dist.entropy()
        else:
            out = getattr(dist, quantity)
    except Exception as exc:  # noqa: BLE001  (compared by class)
        return ("forward raises", type(exc).__name__)
    if not out.requires_grad:
        return ("constant",)
    try:
        grads = lib.autograd.grad(out.sum(), leaves, allow_unused=True)
    except Exception as exc:  # noqa: BLE001
        return ("backward raises", type(exc).__name__)
    shapes = [tuple(leaf.shape) for leaf in leaves]
    return (
        "ok",
        [np.zeros(sh) if g is None else _np(g) for g, sh in zip(grads, shapes)],
    )


@pytest.mark.parametrize("name", list(CASES))
def test_gradients(torch_ref, name):
    """Gradients of log_prob, cdf, icdf, entropy, mean and variance in every parameter (atol 1e-9:
    entropy gradients are differences of trigamma values, which cancel)."""
    torch = torch_ref
    theirs_dist, _ = _build_leaves(torch, name)
    value = _values(torch, theirs_dist)
    for quantity in ("log_prob", "cdf", "icdf", "entropy", "mean", "variance"):
        if (name, quantity) in EXPECTED_DIFFERENCES:
            continue
        ours = _gradients(rtorch, name, quantity, _to_rtorch(value))
        theirs = _gradients(torch, name, quantity, value)
        what = f"d {name}.{quantity}"
        assert ours[0] == theirs[0], f"{what}: {ours[:2]} vs {theirs[:2]}"
        if ours[0] != "ok":
            assert ours[1:] == theirs[1:], what
            continue
        for i, (g_ours, g_theirs) in enumerate(zip(ours[1], theirs[1])):
            if (name, quantity) in GRADIENT_DIFFERENCES:
                if name in ("VonMises", "Multinomial-large"):
                    np.testing.assert_allclose(g_ours, g_theirs, rtol=1e-6, err_msg=what)
                elif name == "Wishart-tril":
                    lower = np.tril if g_ours.ndim == 2 else (lambda g: g)
                    np.testing.assert_allclose(lower(g_ours), lower(g_theirs), rtol=1e-9)
                else:
                    finite = np.isfinite(g_theirs) & (g_theirs != 0)
                    np.testing.assert_allclose(g_ours[finite], g_theirs[finite], rtol=1e-9)
                continue
            np.testing.assert_allclose(
                g_ours, g_theirs, rtol=1e-8, atol=1e-9, equal_nan=True, err_msg=f"{what} [{i}]"
            )


def test_gradient_differences_are_real(torch_ref):
    """Each gradient deviation still exists (a stale entry fails) and ours is the right one."""
    torch = torch_ref
    # Wishart: the upper-triangle gradient is an artefact; a central difference is 0.
    dist, _ = _build_leaves(torch, "Wishart-tril")
    value = _values(torch, dist)
    ours = _gradients(rtorch, "Wishart-tril", "log_prob", _to_rtorch(value))[1][1]
    theirs = _gradients(torch, "Wishart-tril", "log_prob", value)[1][1]
    assert ours[0, 1] == 0 and theirs[0, 1] != 0

    def log_prob_with_upper(e):
        tril = rtorch.tensor([[1.0, e], [0.3, 2.0]], dtype=rtorch.float64)
        d = rtorch.distributions.Wishart(
            rtorch.tensor(3.0, dtype=rtorch.float64), scale_tril=tril, validate_args=False
        )
        return float(d.log_prob(_to_rtorch(value)).sum())

    assert (log_prob_with_upper(1e-6) - log_prob_with_upper(-1e-6)) / 2e-6 == pytest.approx(
        0.0, abs=1e-6
    )


# Other parameter dtypes: (dtype, case, quantity) -> reason.
DTYPE_DIFFERENCES = {
    **{
        ("int64", case, q): (
            "PyTorch's StudentT.variance fails on an int64 df (an index_put of inf into an "
            "integer tensor: 'value cannot be converted to type int64_t'); rtorch returns the "
            "float variance"
        )
        for case in ("StudentT", "StudentT-small-df")
        for q in ("variance", "stddev")
    },
}
DTYPE_DIFFERENCES.update(
    {
        ("int64", "StudentT-large-df", q): DTYPE_DIFFERENCES[("int64", "StudentT", q)]
        for q in ("variance", "stddev")
    }
)
DTYPE_DIFFERENCES.update(
    {
        ("float32", "Multinomial-large", q): (
            "float32 cancels the entropy's lgamma weights (about 1e4, float32 ulp 1e-3) "
            "catastrophically in both libraries: the float64 value is 8.69/8.43, PyTorch's "
            "float32 gives 12.87/14.65 and rtorch's 12.87/13.89"
        )
        for q in ("entropy",)
    }
)
DTYPE_DIFFERENCES[("float32", "Gamma-large", "entropy")] = (
    "lgamma(1e4) ~ 8.2e4 and (1 - c) digamma(c) ~ -9.2e4 cancel in float32 (ulp 0.0078): "
    "the two libraries differ by one such ulp"
)
DTYPE_TOLERANCE = {"float32": 2e-5, "float16": 1e-2, "bfloat16": 1e-2, "int64": 1e-5}


def _build_dtype(lib, name, dtype_name):
    def t(v):
        if dtype_name == "int64":
            return lib.tensor(np.round(np.asarray(v)).astype(np.int64).tolist())
        return lib.tensor(v, dtype=getattr(lib, dtype_name))

    return CASES[name](lib.distributions, t, lib)


@pytest.mark.parametrize("dtype_name", list(DTYPE_TOLERANCE))
@pytest.mark.parametrize("name", list(CASES))
def test_parameter_dtypes(torch_ref, name, dtype_name):
    """Cases built from float32, float16, bfloat16 or int64 parameters: the same
    construction outcome, moments (value and dtype, or exception class), log_prob and
    sample dtype/shape as PyTorch."""
    torch = torch_ref
    tol = DTYPE_TOLERANCE[dtype_name]
    torch.manual_seed(0)
    ours = _outcome(lambda: _build_dtype(rtorch, name, dtype_name))
    theirs = _outcome(lambda: _build_dtype(torch, name, dtype_name))
    assert ours[0] == theirs[0], (ours, theirs)
    if ours[0] == "raise":
        assert ours[1].__name__ == theirs[1].__name__
        return
    ours, theirs = ours[1], theirs[1]
    for quantity in ("mean", "mode", "variance", "stddev", "entropy", "sample", "log_prob"):
        if (name, quantity) in EXPECTED_DIFFERENCES or (
            dtype_name,
            name,
            quantity,
        ) in DTYPE_DIFFERENCES:
            continue
        if quantity == "sample":
            got, want = _outcome(lambda: ours.sample((2,))), _outcome(lambda: theirs.sample((2,)))
            assert got[0] == want[0], (quantity, got, want)
            if got[0] == "ok":
                assert str(got[1].dtype) == str(want[1].dtype)
                assert tuple(got[1].shape) == tuple(want[1].shape)
            continue
        if quantity == "log_prob":
            torch.manual_seed(1)
            value = _outcome(lambda: theirs.sample((2,)))
            if value[0] == "raise":
                continue
            value = value[1]
            got = _outcome(lambda: ours.log_prob(_to_rtorch(value)))  # noqa: B023
            want = _outcome(lambda: theirs.log_prob(value))  # noqa: B023
        elif quantity == "entropy":
            got, want = _outcome(ours.entropy), _outcome(theirs.entropy)
        else:
            got = _outcome(lambda: getattr(ours, quantity))  # noqa: B023
            want = _outcome(lambda: getattr(theirs, quantity))  # noqa: B023
        _assert_same(got, want, f"{dtype_name} {name}.{quantity}", rtol=tol, atol=tol)


def test_dtype_differences_are_real(torch_ref):
    torch = torch_ref
    with pytest.raises(RuntimeError):
        _ = _build_dtype(torch, "StudentT", "int64").variance
    # df = [3, 2]: variance df / (df - 2) = 3 and, at df = 2, inf.
    got = _build_dtype(rtorch, "StudentT", "int64").variance
    assert got.tolist() == [3.0, math.inf] and got.dtype == rtorch.float32


def test_expected_differences_are_all_checked():
    assert set(EXPECTED_DIFFERENCES) == {
        ("Kumaraswamy", "mode"),
        ("GeneralizedPareto", "log_prob"),
        ("GeneralizedPareto", "cdf"),
        ("NegativeBinomial", "mode"),
    }


def test_expected_difference_kumaraswamy_mode(torch_ref):
    ours, theirs = _pair(torch_ref, "Kumaraswamy")
    a, b = np.array([1.5, 2.0]), np.array([2.0, 3.0])
    want = ((a - 1) / (a * b - 1)) ** (1 / a)  # where the density's derivative vanishes
    np.testing.assert_allclose(_np(ours.mode), want, rtol=1e-14)
    assert not np.allclose(_np(theirs.mode), want)


def test_expected_difference_generalized_pareto_log_prob(torch_ref):
    torch = torch_ref
    ours, theirs = _pair(torch, "GeneralizedPareto")
    with pytest.raises(RuntimeError):
        theirs.log_prob(torch.tensor([0.5, 1.5], dtype=torch.float64))
    loc, scale, xi = np.array([0.0, 1.0]), np.array([1.0, 2.0]), np.array([0.2, -0.3])
    x = np.array([[0.5, 1.5], [3.0, 2.0]])
    z = (x - loc) / scale
    want = -np.log(scale) - (1 / xi + 1) * np.log1p(xi * z)
    rx = rtorch.tensor(x.tolist(), dtype=rtorch.float64)
    np.testing.assert_allclose(_np(ours.log_prob(rx)), want, rtol=1e-13)
    with pytest.raises(RuntimeError):
        theirs.cdf(torch.tensor([0.5, 1.5], dtype=torch.float64))
    np.testing.assert_allclose(_np(ours.cdf(rx)), 1 - (1 + xi * z) ** (-1 / xi), rtol=1e-13)
    # float32 works in PyTorch, and agrees.
    ours32 = rtorch.distributions.GeneralizedPareto(
        *(rtorch.tensor(v.tolist()) for v in (loc, scale, xi))
    )
    theirs32 = torch.distributions.GeneralizedPareto(
        *(torch.tensor(v.tolist()) for v in (loc, scale, xi))
    )
    np.testing.assert_allclose(
        _np(ours32.log_prob(rtorch.tensor(x.tolist()))),
        theirs32.log_prob(torch.tensor(x.tolist())).numpy(),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        _np(ours32.cdf(rtorch.tensor(x.tolist()))),
        theirs32.cdf(torch.tensor(x.tolist())).numpy(),
        rtol=1e-5,
    )


def test_expected_difference_negative_binomial_mode_tie(torch_ref):
    ours, theirs = _pair(torch_ref, "NegativeBinomial")
    r, p = np.array([3.0, 5.0]), np.array([0.3, 0.6])

    def log_pmf(k, r, p):  # PyTorch's parameterisation: p is the success probability
        return (
            math.lgamma(k + r)
            - math.lgamma(k + 1)
            - math.lgamma(r)
            + r * math.log1p(-p)
            + k * math.log(p)
        )

    got, theirs_mode = _np(ours.mode), _np(theirs.mode)
    assert got[0] == theirs_mode[0]
    for k in (got[1], theirs_mode[1]):  # both are modes of the tied element
        neighbours = [log_pmf(j, r[1], p[1]) for j in range(15)]
        assert log_pmf(int(k), r[1], p[1]) == pytest.approx(max(neighbours), rel=1e-12)
    assert got[1] != theirs_mode[1]  # else the entry is stale


def test_looser_tolerance_von_mises_is_exact(torch_ref):
    """rtorch's VonMises log_prob and variance against numpy's exact Bessel functions."""
    ours, theirs = _pair(torch_ref, "VonMises")
    loc, kappa = np.array([0.0, 1.0]), np.array([0.5, 3.0])
    x = np.array([[0.3, -2.0], [1.0, 2.5]])
    want = kappa * np.cos(x - loc) - math.log(2 * math.pi) - np.log(np.i0(kappa))
    got = ours.log_prob(rtorch.tensor(x.tolist(), dtype=rtorch.float64))
    np.testing.assert_allclose(_np(got), want, rtol=1e-13)
    # I1 by its power series sum (x/2)^(2k+1) / (k! (k+1)!).
    i1 = np.array(
        [
            math.fsum(
                (k_ / 2) ** (2 * k + 1) / (math.factorial(k) * math.factorial(k + 1))
                for k in range(40)
            )
            for k_ in kappa
        ]
    )
    np.testing.assert_allclose(_np(ours.variance), 1 - i1 / np.i0(kappa), rtol=1e-13)
    # PyTorch's approximation is visibly coarser than the exact value, but within 1e-7.
    theirs_var = theirs.variance.numpy()
    np.testing.assert_allclose(theirs_var, 1 - i1 / np.i0(kappa), rtol=1e-7)
    assert not np.allclose(theirs_var, 1 - i1 / np.i0(kappa), rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", list(CASES))
def test_log_prob_validation_messages(torch_ref, name):
    """log_prob and cdf of values outside the support, NaN values and mis-shaped values: the
    same exception class and message (including the distribution's repr and the values);
    icdf outside [0, 1]: the same values or error."""
    torch = torch_ref
    ours, theirs = _pair(torch, name)
    value = _values(torch, theirs)
    ours.sample((2,))  # the same lazily computed parameters appear in both reprs
    if value.dtype == torch.bool:
        pytest.skip("boolean samples have no out-of-support arithmetic variant")
    bad_values = [-value - 1.5, value * math.nan, torch.zeros((5,) * value.dim())]
    for bad in bad_values:
        for method in ("log_prob", "cdf"):
            got = _outcome_message(lambda: getattr(ours, method)(_to_rtorch(bad)))  # noqa: B023
            want = _outcome_message(lambda: getattr(theirs, method)(bad))  # noqa: B023
            assert got == want, method
    # icdf outside [0, 1] and at NaN: the same values (NaN) or the same error.
    q = torch.tensor([-0.5, 1.5, math.nan], dtype=torch.float64)
    q = q.reshape((3,) + (1,) * len(theirs.batch_shape)).expand((3, *theirs.batch_shape))
    got, want = _outcome(lambda: ours.icdf(_to_rtorch(q))), _outcome(lambda: theirs.icdf(q))
    _assert_same(got, want, f"{name}.icdf outside [0, 1]")


def _build_invalid(lib, name, mode):
    """The case with every tensor parameter made negative, NaN or pushed above 1."""

    def t(v):
        a = np.asarray(v, dtype=np.float64)
        a = {"negative": -np.abs(a) - 0.5, "nan": a * np.nan, "large": np.abs(a) + 1.5}[mode]
        return lib.tensor(a.tolist(), dtype=lib.float64)

    return CASES[name](lib.distributions, t, lib)


@pytest.mark.parametrize("mode", ["negative", "nan", "large"])
@pytest.mark.parametrize("name", list(CASES))
def test_parameter_validation_messages(torch_ref, name, mode):
    """Invalid parameters (validation on, PyTorch's default): the same exception class (the
    linalg error's leading underscore aside) and message, or both accept them."""
    if name == "LKJCholesky" and mode in ("negative", "nan"):
        # The message shows the onion sampler's internal Beta concentrations, which are
        # the documented sampler deviation (Beta(i/2, ...) for row i, PyTorch (2i-1)/2).
        pytest.skip("LKJCholesky's internal onion-method concentrations differ by design")
    got = _outcome_message(lambda: _build_invalid(rtorch, name, mode))
    want = _outcome_message(lambda: _build_invalid(torch_ref, name, mode))
    assert (got[0].lstrip("_"), *got[1:]) == (want[0].lstrip("_"), *want[1:])


def _outcome_message(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001  (class and message are compared)
        return (type(exc).__name__, str(exc))
    return ("ok",)


def test_validation_errors_parity(torch_ref):
    """Invalid parameters raise the same exception class in both libraries."""
    torch = torch_ref
    bad = {
        "Normal": lambda D, t: D.Normal(t([0.0]), t([-1.0]), validate_args=True),
        "Beta": lambda D, t: D.Beta(t([0.0]), t([1.0]), validate_args=True),
        "Categorical": lambda D, t: D.Categorical(probs=t([[0.5, -0.1]]), validate_args=True),
        "Bernoulli-both": lambda D, t: D.Bernoulli(probs=t([0.5]), logits=t([0.0])),
        "Poisson": lambda D, t: D.Poisson(t([-1.0]), validate_args=True),
        "Uniform": lambda D, t: D.Uniform(t([1.0]), t([0.0]), validate_args=True),
    }
    for key, make in bad.items():

        def t_ours(v):
            return rtorch.tensor(v, dtype=rtorch.float64)

        def t_theirs(v):
            return torch.tensor(v, dtype=torch.float64)

        ours = _outcome(lambda make=make: make(rtorch.distributions, t_ours))
        theirs = _outcome(lambda make=make: make(torch.distributions, t_theirs))
        assert ours[0] == theirs[0] == "raise", key
        assert ours[1].__name__ == theirs[1].__name__, key
    # log_prob outside the support
    for lib in (rtorch, torch):
        with pytest.raises(ValueError, match="Expected value argument"):
            lib.distributions.Exponential(
                lib.tensor([1.0], dtype=lib.float64), validate_args=True
            ).log_prob(lib.tensor([-1.0], dtype=lib.float64))


# ---------------------------------------------------------------- constraints sweep


def _constraint_pool(lib):
    """Values of assorted shapes and kinds to check every constraint against."""

    def t(v):
        return lib.tensor(v, dtype=lib.float64)

    inf, nan = math.inf, math.nan
    return [
        t(0.5),
        t([-1.0, 0.0, 0.5, 1.0, 2.0, nan, inf, -inf]),
        t([[1.0, 0.0], [0.5, 2.0]]),
        t([[1.0, 0.3], [0.3, 2.0]]),
        t([[1.0, 0.3], [0.2, 2.0]]),
        t([[0.0, 0.0], [0.0, 0.0]]),
        t([[1.0, 0.0], [0.6, 0.8]]),
        t([[1.0, 0.0], [0.6, -0.8]]),
        t([[-1.0, 0.0], [0.0, 1.0]]),
        t([0.0, 1.0, 0.0]),
        t([0.2, 0.3, 0.5]),
        t([0.2, 0.3, 0.6]),
        t([3.0, 1.0, 1.0]),
        t([[[1.0, 0.0], [0.0, 1.0]]]),
        lib.tensor([0, 1, 3]),
        lib.tensor([True, False]),
    ]


def _constraints(lib):
    c = lib.distributions.constraints
    found = {n: getattr(c, n) for n in c.__all__ if isinstance(getattr(c, n), c.Constraint)}
    found.update(
        {
            "greater_than(1)": c.greater_than(1.0),
            "greater_than_eq(t)": c.greater_than_eq(lib.tensor([0.0, 1.0], dtype=lib.float64)),
            "less_than(1)": c.less_than(1.0),
            "interval(-1, 1)": c.interval(-1.0, 1.0),
            "half_open_interval(0, 1)": c.half_open_interval(0.0, 1.0),
            "integer_interval(0, 2)": c.integer_interval(0, 2),
            "multinomial(5)": c.multinomial(5),
            "independent(positive, 1)": c.independent(c.positive, 1),
            "cat": c.cat([c.positive, c.real], dim=0, lengths=[1, 1]),
            **{f"stack(dim={d})": c.stack([c.positive, c.real], dim=d) for d in (0, -1, 1, -2)},
            "stack(real_vector, dim=-2)": c.stack([c.real_vector], dim=-2),
        }
    )
    return found


def test_constraints_sweep(torch_ref):
    torch = torch_ref
    ours, theirs = _constraints(rtorch), _constraints(torch)
    assert ours.keys() == theirs.keys()
    ours_pool, theirs_pool = _constraint_pool(rtorch), _constraint_pool(torch)
    for name, want in theirs.items():
        got = ours[name]
        assert repr(got) == repr(want), name
        for attr in ("event_dim", "is_discrete"):
            assert _outcome(lambda: getattr(got, attr)) == _outcome(  # noqa: B023
                lambda: getattr(want, attr)  # noqa: B023
            ), (name, attr)
        for i, (x_ours, x_theirs) in enumerate(zip(ours_pool, theirs_pool)):
            a = _outcome(lambda: got.check(x_ours))  # noqa: B023
            b = _outcome(lambda: want.check(x_theirs))  # noqa: B023
            assert a[0] == b[0], (name, i, a, b)
            if a[0] == "raise":
                assert a[1].__name__ == b[1].__name__, (name, i)
                continue
            assert str(a[1].dtype) == str(b[1].dtype), (name, i)
            assert a[1].tolist() == b[1].tolist(), (name, i)


# ----------------------------------------------------------------- transforms sweep


def _transforms(lib):
    tr = lib.distributions.transforms

    def t(v):
        return lib.tensor(v, dtype=lib.float64)

    row = t([[0.3, -1.0, 2.0]])
    return {
        "Exp": (tr.ExpTransform(), row),
        "Power": (tr.PowerTransform(t(2.5)), t([[0.3, 1.0, 2.0]])),
        "Sigmoid": (tr.SigmoidTransform(), row),
        "Tanh": (tr.TanhTransform(), row),
        "Softplus": (tr.SoftplusTransform(), row),
        "Abs": (tr.AbsTransform(), row),
        "Affine": (tr.AffineTransform(t(1.0), t([2.0, -0.5, 3.0])), row),
        "Affine-event": (tr.AffineTransform(t(1.0), t([2.0, -0.5, 3.0]), event_dim=1), row),
        "Softmax": (tr.SoftmaxTransform(), row),
        "StickBreaking": (tr.StickBreakingTransform(), row),
        "LowerCholesky": (tr.LowerCholeskyTransform(), t([[[0.3, 1.0], [-1.0, 2.0]]])),
        "PositiveDefinite": (tr.PositiveDefiniteTransform(), t([[[0.3, 1.0], [-1.0, 2.0]]])),
        "CorrCholesky": (tr.CorrCholeskyTransform(), row),
        "Reshape": (tr.ReshapeTransform((2, 3), (3, 2)), t([[[0.3, -1.0, 2.0], [1, 2, 3]]])),
        "Independent": (tr.IndependentTransform(tr.ExpTransform(), 1), row),
        "Compose": (tr.ComposeTransform([tr.ExpTransform(), tr.AffineTransform(1.0, 2.0)]), row),
        "Cat": (
            tr.CatTransform([tr.ExpTransform(), tr.AffineTransform(1.0, 2.0)], -1, [1, 2]),
            row,
        ),
        "Stack": (
            tr.StackTransform([tr.ExpTransform(), tr.SigmoidTransform()], dim=-1),
            t([[0.3, -1.0], [2.0, 1.0]]),
        ),
        "CumulativeDistribution": (
            tr.CumulativeDistributionTransform(lib.distributions.Normal(t(0.0), t(1.0))),
            row,
        ),
        "identity": (tr.identity_transform, row),
        "Exp.inv": (tr.ExpTransform().inv, t([[0.3, 1.0, 2.0]])),
    }


def _plain(value):
    """Tensors as (dtype name, nested list), other values unchanged."""
    if hasattr(value, "tolist") and hasattr(value, "dtype"):
        return (str(value.dtype).split(".")[-1], value.tolist())
    return value


@pytest.mark.parametrize("name", list(_transforms(rtorch)))
def test_transforms_sweep(torch_ref, name):
    torch = torch_ref
    ours, x_ours = _transforms(rtorch)[name]
    theirs, x_theirs = _transforms(torch)[name]
    y_ours, y_theirs = _outcome(lambda: ours(x_ours)), _outcome(lambda: theirs(x_theirs))
    _assert_same(y_ours, y_theirs, f"{name}()")
    if y_theirs[0] == "ok":
        _assert_same(
            _outcome(lambda: ours.inv(y_ours[1])),
            _outcome(lambda: theirs.inv(y_theirs[1])),
            f"{name}.inv",
            rtol=1e-8,
        )
        _assert_same(
            _outcome(lambda: ours.log_abs_det_jacobian(x_ours, y_ours[1])),
            _outcome(lambda: theirs.log_abs_det_jacobian(x_theirs, y_theirs[1])),
            f"{name}.log_abs_det_jacobian",
            rtol=1e-8,
        )
    for attr in ("bijective", "event_dim", "sign"):
        a = _outcome(lambda: _plain(getattr(ours, attr)))  # noqa: B023
        b = _outcome(lambda: _plain(getattr(theirs, attr)))  # noqa: B023
        assert a == b, (attr, a, b)
    for attr in ("domain", "codomain"):
        a, b = getattr(ours, attr), getattr(theirs, attr)
        assert repr(a) == repr(b) and a.event_dim == b.event_dim, attr
    assert repr(ours) == repr(theirs) and repr(ours.inv) == repr(theirs.inv)
    assert repr(ours.with_cache(1)) == repr(theirs.with_cache(1))
    shape = tuple(x_theirs.shape)
    for method in ("forward_shape", "inverse_shape"):
        a = _outcome(lambda: tuple(getattr(ours, method)(shape)))  # noqa: B023
        b = _outcome(lambda: tuple(getattr(theirs, method)(shape)))  # noqa: B023
        assert a == b or (a[0] == b[0] == "raise" and a[1].__name__ == b[1].__name__), method


# ------------------------------------------------------------- sampling statistics

N_DRAWS = 50_000
Z_LIMIT = 5.0  # fixed seeds make these deterministic; 5 sigma leaves no false alarms
# Cases with an infinite fourth moment: their sample mean converges too slowly and
# unevenly for a z-test (one extreme draw moves it by several standard errors); their
# samples are checked by the KS distance to PyTorch's cdf or by the family tests instead.
# Cases whose draws are clamped at the smallest normal number often enough to form an atom
# (Gamma(1e-3) puts about half its mass below 2.2e-308), where the one-sample KS against
# the continuous cdf does not apply (PyTorch's own draws fail it equally); the two-sample
# test against PyTorch's sampler covers them.
ATOMS_FROM_CLAMPING = {"Gamma-small"}
HEAVY_TAILED = {
    "InverseGamma",
    "Pareto",
    "FisherSnedecor",
    "FisherSnedecor-small",
    "StudentT",
    "StudentT-small-df",
    "GeneralizedPareto",
}


def _z_scores(x, mean, var):
    """|sample mean - mean| and |sample variance - var| in standard errors (the variance's
    from the sample's fourth central moment), over the elements with finite moments."""
    n = x.shape[0]
    centred = x - x.mean(0)
    s2 = (centred**2).mean(0)
    m4 = (centred**4).mean(0)
    finite = np.isfinite(mean) & np.isfinite(var) & (var > 0)
    z_mean = np.abs(x.mean(0) - mean) / np.sqrt(var / n)
    spread = m4 - s2**2
    z_var = np.abs(s2 - var) / np.sqrt(np.where(spread > 0, spread, 1.0) / n)
    # A constant sample (a point mass, up to rounding) has no variance error to estimate.
    return z_mean[finite], z_var[finite & (spread > 0)]


@pytest.mark.parametrize("name", list(CASES))
def test_sampling_statistics(torch_ref, name):
    """rtorch's samples against PyTorch's moments (mean, variance), cdf (a KS distance) and
    pmf (frequencies of every value of discrete scalar families)."""
    torch = torch_ref
    ours, theirs = _pair(torch, name)
    scalar_discrete = theirs.support.is_discrete and not theirs.event_shape
    if not scalar_discrete and name != "VonMises":
        probe = theirs.sample()
        if _outcome(lambda: theirs.mean)[0] == "raise" and (
            _outcome(lambda: theirs.cdf(probe))[0] == "raise"
        ):
            pytest.skip("no moments, cdf or pmf in PyTorch to compare samples with")
    rtorch.manual_seed(123)
    draws = ours.sample((N_DRAWS,))
    x = _np(draws)
    x_torch = torch.from_numpy(x).to(
        theirs.mean.dtype if _outcome(lambda: theirs.mean)[0] == "ok" else torch.float64
    )
    checked = 0
    if name == "VonMises":
        # Circular: E cos(x - loc) = I1/I0 = 1 - (circular) variance; |cos| <= 1.
        loc = _np(theirs.loc)
        resultant = np.cos(x - loc).mean(0)
        want = 1 - _np(theirs.variance)
        assert np.all(np.abs(resultant - want) * math.sqrt(N_DRAWS) < Z_LIMIT)
        return
    moments = _outcome(lambda: (_np(theirs.mean), _np(theirs.variance)))
    if moments[0] == "ok" and name not in HEAVY_TAILED:
        z_mean, z_var = _z_scores(x, *moments[1])
        assert np.all(z_mean < Z_LIMIT), (name, z_mean.max())
        assert np.all(z_var < Z_LIMIT), (name, z_var.max())
        checked += 1
    cdf = _outcome(lambda: _np(theirs.cdf(x_torch)))
    if cdf[0] == "ok" and not theirs.support.is_discrete and name not in ATOMS_FROM_CLAMPING:
        f = np.sort(cdf[1].reshape(N_DRAWS, -1), axis=0)
        emp = np.arange(1, N_DRAWS + 1)[:, None] / N_DRAWS
        ks = np.maximum(np.abs(f - emp), np.abs(f - emp + 1 / N_DRAWS)).max() * math.sqrt(N_DRAWS)
        assert ks < 1.95, (name, ks)  # Kolmogorov's 0.1% point
        checked += 1
    if theirs.support.is_discrete and not theirs.event_shape:
        theirs._validate_args = False  # values of one column may be outside another's support
        flat = x.reshape(N_DRAWS, -1)
        batch = tuple(theirs.batch_shape)
        for col in range(flat.shape[1]):
            values, counts = np.unique(flat[:, col], return_counts=True)
            grid = torch.from_numpy(values).to(x_torch.dtype).reshape(-1, *[1] * len(batch))
            log_pmf = _np(theirs.log_prob(grid.expand(-1, *batch))).reshape(len(values), -1)
            pmf = np.exp(log_pmf[:, col])
            # Cells expecting >= 50 draws, where the binomial count is close to normal.
            freq = counts / N_DRAWS
            sure = pmf == 1  # a point mass: every draw is that value
            assert np.all(freq[sure] == 1), (name, col)
            big = (pmf * N_DRAWS >= 50) & ~sure
            z = np.abs(freq[big] - pmf[big]) / np.sqrt(pmf[big] * (1 - pmf[big]) / N_DRAWS)
            assert np.all(z < Z_LIMIT), (name, col, values[big], z)
        checked += 1
    if checked == 0:
        pytest.skip("no moments, cdf or pmf in PyTorch to compare samples with")


def _two_sample_ks(a: np.ndarray, b: np.ndarray) -> float:
    """sqrt(n m / (n + m)) * sup |F_a - F_b| of two samples (one column each)."""
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / len(a)
    fb = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.abs(fa - fb).max() * math.sqrt(len(a) * len(b) / (len(a) + len(b))))


# Samplers that differ from PyTorch's by design: case -> reason.
SAMPLER_DIFFERENCES = {
    "LKJCholesky": (
        "rtorch's onion method draws row i from Beta(i/2, beta_0 - (i-1)/2); PyTorch uses "
        "(2i-1)/2 from row 2 on, which spreads later rows' correlations (documented in "
        "lkj_cholesky.py and tested against the LKJ density in the multivariate tests)"
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_samples_match_pytorch_sampler(torch_ref, name):
    """Every coordinate of rtorch's draws against PyTorch's own draws: a two-sample KS
    distance below Kolmogorov's 1e-4 point (Bonferroni over the coordinates); the reference
    covers the families without a cdf or finite moments."""
    torch = torch_ref
    ours, theirs = _pair(torch, name)
    rtorch.manual_seed(7)
    torch.manual_seed(7)
    n = 20_000
    x = _np(ours.sample((n,))).reshape(n, -1)
    with torch.no_grad():
        y = _np(theirs.sample((n,))).reshape(n, -1)
    ks = np.array([_two_sample_ks(x[:, j], y[:, j]) for j in range(x.shape[1])])
    # P(K > c) ~ 2 exp(-2 c^2): c for a 1e-4 chance over all of the case's coordinates.
    limit = math.sqrt(math.log(2 * x.shape[1] / 1e-4) / 2)
    if name in SAMPLER_DIFFERENCES:
        assert ks.max() > limit, "the documented sampler difference no longer shows"
        return
    assert ks.max() < limit, (name, ks, limit)


# ------------------------------------------------------ reparameterised gradients

# Where d/dtheta E[x] = E[dx/dtheta] does not hold for PyTorch either: case -> reason.
PATHWISE_EXCEPTIONS = {
    "ContinuousBernoulli": (
        "probs = 0.5 lies in the unstable region where PyTorch's icdf (and so rsample) "
        "returns the uniform draw itself: a pathwise gradient of 0 while d mean/dp = 1/3; "
        "rtorch follows PyTorch (the element is skipped, the other is checked)"
    ),
}


@pytest.mark.parametrize("name", [n for n in CASES if n not in ("Normal-scalar",)])
def test_rsample_gradients_are_unbiased(torch_ref, name):
    """The mean of rtorch's pathwise gradients of rsample equals the gradient of PyTorch's
    mean (E[dx/dtheta] = dE[x]/dtheta), within a t-test over 20 batches of draws; covers the
    implicit reparameterisation of Gamma, Beta, Dirichlet, Chi2 and the transform families."""
    torch = torch_ref
    ours, leaves = _build_leaves(rtorch, name)
    if not ours.has_rsample:
        pytest.skip("no rsample")
    theirs, theirs_leaves = _build_leaves(torch, name)
    mean = _outcome(lambda: theirs.mean)
    if mean[0] == "raise" or not bool(torch.isfinite(mean[1]).all()):
        pytest.skip("no finite mean in PyTorch")
    if mean[1].requires_grad:
        want = torch.autograd.grad(mean[1].sum(), theirs_leaves, allow_unused=True)
    else:  # a mean that depends on no parameter (StudentT's loc default)
        want = [None] * len(theirs_leaves)
    want = [
        np.zeros(tuple(leaf.shape)) if g is None else g.numpy()
        for g, leaf in zip(want, theirs_leaves)
    ]
    batches, per_batch = 20, 2500
    rtorch.manual_seed(5)
    estimates = []
    for _ in range(batches):
        dist, leaves = _build_leaves(rtorch, name)
        grads = rtorch.autograd.grad(
            dist.rsample((per_batch,)).sum() / per_batch, leaves, allow_unused=True
        )
        estimates.append(
            [np.zeros(tuple(leaf.shape)) if g is None else _np(g) for g, leaf in zip(grads, leaves)]
        )
    for i, target in enumerate(want):
        e = np.stack([est[i] for est in estimates])
        mean_grad, se = e.mean(0), e.std(0, ddof=1) / math.sqrt(batches)
        exact = np.isclose(mean_grad, target, rtol=1e-9, atol=1e-12)
        # Constant gradients (se = 0) must be exact.
        t = np.where(se > 0, np.abs(mean_grad - target) / np.where(se > 0, se, 1.0), np.inf)
        ok = exact | (t < 5.5)  # t with 19 dof: ~1e-4 two-sided
        if name in PATHWISE_EXCEPTIONS:
            ok = ok | (_np(theirs.probs) == 0.5)
        assert np.all(ok), (name, i, mean_grad, target, t)


# ------------------------------------------------------------------------- devices


def _tensors_of(dist, depth: int = 3) -> list:
    """The tensors a distribution holds, through its component distributions."""
    found = []
    for value in vars(dist).values():
        if isinstance(value, rtorch.Tensor):
            found.append(value)
        elif isinstance(value, rtorch.distributions.Distribution) and depth > 0:
            found += _tensors_of(value, depth - 1)
    return found


@pytest.mark.parametrize("name", list(CASES))
def test_results_stay_on_the_parameters_device(torch_ref, name):
    """Parameters on the meta device (validation off, as it reads values): every quantity
    rtorch returns is on meta too, never a CPU tensor made without the parameters' device
    (what would break CUDA parameters); torch_ref only gates the sweep's availability."""
    old = rtorch.distributions.Distribution._validate_args
    rtorch.distributions.Distribution.set_default_validate_args(False)
    try:

        def t(v):
            return rtorch.tensor(v, dtype=rtorch.float64).to("meta")

        built = _outcome(lambda: CASES[name](rtorch.distributions, t, rtorch))
        if built[0] == "raise":
            pytest.skip(f"construction reads parameter values ({built[1].__name__})")
        dist = built[1]
        tensors = _tensors_of(dist)
        if not tensors or any(str(v.device) != "meta" for v in tensors):
            pytest.skip("the case has Python-number or CPU-built parameters")
        value = rtorch.zeros(
            tuple(dist.batch_shape) + tuple(dist.event_shape), dtype=rtorch.float64, device="meta"
        )
        quantities = {
            "mean": lambda: dist.mean,
            "mode": lambda: dist.mode,
            "variance": lambda: dist.variance,
            "entropy": dist.entropy,
            "log_prob": lambda: dist.log_prob(value),
            "cdf": lambda: dist.cdf(value),
            "enumerate_support": dist.enumerate_support,
            "sample": lambda: dist.sample((2,)),
            "rsample": lambda: dist.rsample((2,)),
        }
        produced = 0
        for quantity, fn in quantities.items():
            out = _outcome(fn)
            if out[0] == "ok":
                assert str(out[1].device) == "meta", (name, quantity, out[1].device)
                produced += 1
        if produced == 0:
            pytest.skip("every quantity reads values (core ops without meta kernels)")
    finally:
        rtorch.distributions.Distribution.set_default_validate_args(old)


# ----------------------------------------------------------------------- signatures


def _signature(fn):
    import inspect

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    return [
        (p.name, p.kind.name, None if p.default is inspect.Parameter.empty else repr(p.default))
        for p in params
    ]


@pytest.mark.parametrize("dotted", MODULES)
def test_signatures(torch_ref, dotted):
    """Parameter names, kinds and defaults of every public function and method (and
    __init__/__call__) equal PyTorch's (Gamma's generator argument included)."""
    import inspect

    theirs_mod, ours_mod = _module(torch_ref, dotted), _module(rtorch, dotted)
    names = getattr(theirs_mod, "__all__", None) or [
        n for n in dir(theirs_mod) if not n.startswith("_")
    ]
    problems = []
    for name in names:
        theirs, ours = getattr(theirs_mod, name), getattr(ours_mod, name)
        pairs = []
        if isinstance(theirs, type):
            for member in dir(theirs):
                if member.startswith("_") and member not in ("__init__", "__call__"):
                    continue
                a = inspect.getattr_static(theirs, member, None)
                b = inspect.getattr_static(ours, member, None)
                a, b = (getattr(x, "__func__", x) for x in (a, b))
                if callable(a) and callable(b) and not isinstance(a, type):
                    pairs.append((f"{name}.{member}", a, b))
        elif callable(theirs):
            pairs.append((name, theirs, ours))
        for label, a, b in pairs:
            sa, sb = _signature(a), _signature(b)
            if sa is not None and sb is not None and sa != sb:
                problems.append(f"{label}: {sb} != {sa}")
    assert not problems, problems


def test_gamma_family_generator_argument():
    """Gamma.sample/rsample (and Chi2's) draw from an explicit generator: the same seed
    gives the same draws, and the global generator is left untouched."""
    dist = rtorch.distributions.Gamma(rtorch.tensor([2.0, 0.5]), rtorch.tensor([1.0, 3.0]))
    gen = rtorch.Generator()
    rtorch.manual_seed(11)
    reference = rtorch.rand(3)
    rtorch.manual_seed(11)
    gen.manual_seed(4)
    first = dist.sample((5,), generator=gen)
    gen.manual_seed(4)
    second = dist.rsample((5,), gen)
    assert first.tolist() == second.tolist() and tuple(first.shape) == (5, 2)
    assert bool((first > 0).all())
    assert rtorch.rand(3).tolist() == reference.tolist()  # global stream not advanced
    chi2 = rtorch.distributions.Chi2(rtorch.tensor([3.0]))
    gen.manual_seed(9)
    a = chi2.sample((4,), generator=gen)
    gen.manual_seed(9)
    assert chi2.sample((4,), generator=gen).tolist() == a.tolist()


def _registry_constraints(lib):
    c = lib.distributions.constraints
    return {
        "real": c.real,
        "real_vector": c.real_vector,
        "positive": c.positive,
        "nonnegative": c.nonnegative,
        "greater_than(1)": c.greater_than(1.0),
        "greater_than_eq(-1)": c.greater_than_eq(-1.0),
        "greater_than(tensor)": c.greater_than(lib.tensor([0.0, 1.0, 2.0], dtype=lib.float64)),
        "less_than(2)": c.less_than(2.0),
        "unit_interval": c.unit_interval,
        "interval(-1, 3)": c.interval(-1.0, 3.0),
        "half_open_interval(0, 2)": c.half_open_interval(0.0, 2.0),
        "simplex": c.simplex,
        "lower_cholesky": c.lower_cholesky,
        "positive_definite": c.positive_definite,
        "positive_semidefinite": c.positive_semidefinite,
        "corr_cholesky": c.corr_cholesky,
        "independent(positive, 1)": c.independent(c.positive, 1),
        "cat": c.cat([c.positive, c.real], 0, [1, 2]),
        "stack": c.stack([c.positive, c.unit_interval], -1),
        "boolean": c.boolean,
        "integer_interval": c.integer_interval(0, 3),
    }


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_constraint_registry_sweep(torch_ref, registry):
    """biject_to/transform_to of every registered constraint (and the unregistered ones'
    errors): the same transform repr, values and log-determinants as PyTorch."""
    torch = torch_ref
    x = np.random.default_rng(0).standard_normal((3, 3))
    ours_c, theirs_c = _registry_constraints(rtorch), _registry_constraints(torch)
    for name, want_c in theirs_c.items():

        def run(lib, constraint, name=name):
            tr = getattr(lib.distributions, registry)(constraint)
            inp = lib.tensor(x.tolist(), dtype=lib.float64)
            if name == "stack":
                inp = inp[:, :2]
            y = tr(inp)
            return repr(tr), y, tr.log_abs_det_jacobian(inp, y)

        got = _outcome(lambda: run(rtorch, ours_c[name]))  # noqa: B023
        want = _outcome(lambda: run(torch, want_c))  # noqa: B023
        assert got[0] == want[0], (name, got, want)
        if got[0] == "raise":
            assert got[1].__name__ == want[1].__name__, name
            continue
        assert got[1][0] == want[1][0], name
        for i in (1, 2):
            _assert_same(("ok", got[1][i]), ("ok", want[1][i]), f"{registry}({name})[{i}]")
