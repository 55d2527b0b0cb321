"""``rtorch.distributions``: parameterizable probability distributions and sampling, the
counterpart of ``torch.distributions`` (same names, module paths, parameterisations,
constraints, reprs and error classes).

Distributions:

* continuous, univariate: ``Normal``, ``Uniform``, ``Exponential``, ``Laplace``,
  ``Cauchy``, ``Gamma``, ``Chi2``, ``Beta``, ``StudentT``, ``FisherSnedecor``,
  ``ContinuousBernoulli``, ``GeneralizedPareto``, ``VonMises`` and the transform-built
  ``LogNormal``, ``HalfNormal``, ``HalfCauchy``, ``Gumbel``, ``Pareto``, ``Weibull``,
  ``Kumaraswamy``, ``InverseGamma``, ``RelaxedBernoulli``;
* discrete: ``Bernoulli``, ``Binomial``, ``Categorical``, ``Geometric``,
  ``NegativeBinomial``, ``Poisson``, ``Multinomial``, ``OneHotCategorical``,
  ``OneHotCategoricalStraightThrough``;
* multivariate and matrix-valued: ``MultivariateNormal``, ``LowRankMultivariateNormal``,
  ``Dirichlet``, ``LogisticNormal``, ``RelaxedOneHotCategorical``, ``Wishart``,
  ``LKJCholesky``;
* combinators and bases: ``Distribution``, ``ExponentialFamily`` (Bregman entropy and KL),
  ``Independent``, ``MixtureSameFamily``, ``TransformedDistribution``.

Also: ``kl_divergence``/``register_kl`` with every KL pair PyTorch registers (``kl`` and
the ``_kl_*`` modules), ``constraints``, ``transforms`` (the ``*Transform`` classes and
``identity_transform``), ``constraint_registry`` (``biject_to``, ``transform_to``) and
``utils``.

Samples come from rtorch's generator (``rtorch.manual_seed``), so they differ from
PyTorch's stream for the same seed. Deliberate deviations from PyTorch are listed, with
their reasons, in tests/test_distributions_parity_sweep.py (``EXPECTED_DIFFERENCES``,
``LOOSER_TOLERANCES``, ``GRADIENT_DIFFERENCES``, ``DTYPE_DIFFERENCES``,
``SAMPLER_DIFFERENCES``).
"""

# The _kl_* modules only register KL pairs; the lowercase submodules come with the imports.
from . import (  # noqa: F401
    _kl_gamma_family,
    _kl_multivariate,
    _kl_remaining,
    _kl_scalar_families,
    _kl_transformed,
    constraint_registry,
    constraints,
    transforms,
)
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical
from .cauchy import Cauchy
from .chi2 import Chi2
from .constraint_registry import biject_to, transform_to
from .continuous_bernoulli import ContinuousBernoulli
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .fishersnedecor import FisherSnedecor
from .gamma import Gamma
from .generalized_pareto import GeneralizedPareto
from .geometric import Geometric
from .gumbel import Gumbel
from .half_cauchy import HalfCauchy
from .half_normal import HalfNormal
from .independent import Independent
from .inverse_gamma import InverseGamma
from .kl import kl_divergence, register_kl
from .kumaraswamy import Kumaraswamy
from .laplace import Laplace
from .lkj_cholesky import LKJCholesky
from .log_normal import LogNormal
from .logistic_normal import LogisticNormal
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .mixture_same_family import MixtureSameFamily
from .multinomial import Multinomial
from .multivariate_normal import MultivariateNormal
from .negative_binomial import NegativeBinomial
from .normal import Normal
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .pareto import Pareto
from .poisson import Poisson
from .relaxed_bernoulli import RelaxedBernoulli
from .relaxed_categorical import RelaxedOneHotCategorical
from .studentT import StudentT
from .transformed_distribution import TransformedDistribution
from .transforms import (
    AbsTransform,
    AffineTransform,
    CatTransform,
    ComposeTransform,
    CorrCholeskyTransform,
    CumulativeDistributionTransform,
    ExpTransform,
    IndependentTransform,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    PowerTransform,
    ReshapeTransform,
    SigmoidTransform,
    SoftmaxTransform,
    SoftplusTransform,
    StackTransform,
    StickBreakingTransform,
    TanhTransform,
    Transform,
    identity_transform,
)
from .uniform import Uniform
from .von_mises import VonMises
from .weibull import Weibull
from .wishart import Wishart

# PyTorch's names (the submodules are attributes, not star-exported, as there).
__all__ = [
    "AbsTransform",
    "AffineTransform",
    "Bernoulli",
    "Beta",
    "Binomial",
    "CatTransform",
    "Categorical",
    "Cauchy",
    "Chi2",
    "ComposeTransform",
    "ContinuousBernoulli",
    "CorrCholeskyTransform",
    "CumulativeDistributionTransform",
    "Dirichlet",
    "Distribution",
    "ExpTransform",
    "Exponential",
    "ExponentialFamily",
    "FisherSnedecor",
    "Gamma",
    "GeneralizedPareto",
    "Geometric",
    "Gumbel",
    "HalfCauchy",
    "HalfNormal",
    "Independent",
    "IndependentTransform",
    "InverseGamma",
    "Kumaraswamy",
    "LKJCholesky",
    "Laplace",
    "LogNormal",
    "LogisticNormal",
    "LowRankMultivariateNormal",
    "LowerCholeskyTransform",
    "MixtureSameFamily",
    "Multinomial",
    "MultivariateNormal",
    "NegativeBinomial",
    "Normal",
    "OneHotCategorical",
    "OneHotCategoricalStraightThrough",
    "Pareto",
    "Poisson",
    "PositiveDefiniteTransform",
    "PowerTransform",
    "RelaxedBernoulli",
    "RelaxedOneHotCategorical",
    "ReshapeTransform",
    "SigmoidTransform",
    "SoftmaxTransform",
    "SoftplusTransform",
    "StackTransform",
    "StickBreakingTransform",
    "StudentT",
    "TanhTransform",
    "Transform",
    "TransformedDistribution",
    "Uniform",
    "VonMises",
    "Weibull",
    "Wishart",
    "biject_to",
    "identity_transform",
    "kl_divergence",
    "register_kl",
    "transform_to",
]
