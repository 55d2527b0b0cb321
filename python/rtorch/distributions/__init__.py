"""``rtorch.distributions``: parameterizable probability distributions and sampling.

Available: ``Distribution``, ``Normal``, ``Uniform``, ``Bernoulli``, ``Categorical``,
``OneHotCategorical``, ``Exponential``, ``Laplace``, ``Poisson``, ``Independent``,
``kl_divergence``/``register_kl`` (for same-type pairs of these) and ``constraints``. Samples come from rtorch's generator
(``rtorch.manual_seed``), so they differ from PyTorch's stream for the same seed.
"""

from . import (  # noqa: F401  (_kl_*: KL pairs)
    _kl_multivariate,
    _kl_scalar_families,
    _kl_transformed,
    constraint_registry,
    constraints,
    transforms,
)
from .bernoulli import Bernoulli
from .categorical import Categorical
from .cauchy import Cauchy
from .constraint_registry import biject_to, transform_to
from .continuous_bernoulli import ContinuousBernoulli
from .distribution import Distribution
from .exponential import Exponential
from .generalized_pareto import GeneralizedPareto
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
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .pareto import Pareto
from .poisson import Poisson
from .relaxed_bernoulli import RelaxedBernoulli
from .relaxed_categorical import RelaxedOneHotCategorical
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

__all__ = [
    "Bernoulli",
    "Categorical",
    "Cauchy",
    "ContinuousBernoulli",
    "Distribution",
    "Exponential",
    "GeneralizedPareto",
    "Independent",
    "LKJCholesky",
    "Laplace",
    "LowRankMultivariateNormal",
    "MixtureSameFamily",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "OneHotCategoricalStraightThrough",
    "Poisson",
    "RelaxedBernoulli",
    "RelaxedOneHotCategorical",
    "Uniform",
    "VonMises",
    "Wishart",
    "constraints",
    "kl_divergence",
    "register_kl",
]

# The transforms and the constraint registry (helper B1's).
__all__ += [
    "AbsTransform",
    "AffineTransform",
    "CatTransform",
    "ComposeTransform",
    "CorrCholeskyTransform",
    "CumulativeDistributionTransform",
    "ExpTransform",
    "Gumbel",
    "HalfCauchy",
    "HalfNormal",
    "IndependentTransform",
    "InverseGamma",
    "Kumaraswamy",
    "LogNormal",
    "LogisticNormal",
    "LowerCholeskyTransform",
    "Pareto",
    "PositiveDefiniteTransform",
    "PowerTransform",
    "ReshapeTransform",
    "SigmoidTransform",
    "SoftmaxTransform",
    "SoftplusTransform",
    "StackTransform",
    "StickBreakingTransform",
    "TanhTransform",
    "Transform",
    "TransformedDistribution",
    "Weibull",
    "biject_to",
    "constraint_registry",
    "identity_transform",
    "transform_to",
    "transforms",
]

# The gamma family and the discrete families (helper A's); the lowercase submodules
# come with the imports; _kl_gamma_family registers their KL pairs.
# _kl_remaining: the last pairs of PyTorch's registry among the original families.
from . import _kl_gamma_family, _kl_remaining  # noqa: F401
from .beta import Beta
from .binomial import Binomial
from .chi2 import Chi2
from .dirichlet import Dirichlet
from .exp_family import ExponentialFamily
from .fishersnedecor import FisherSnedecor
from .gamma import Gamma
from .geometric import Geometric
from .multinomial import Multinomial
from .negative_binomial import NegativeBinomial
from .studentT import StudentT

__all__ += [
    "Beta",
    "Binomial",
    "Chi2",
    "Dirichlet",
    "ExponentialFamily",
    "FisherSnedecor",
    "Gamma",
    "Geometric",
    "Multinomial",
    "NegativeBinomial",
    "StudentT",
]
