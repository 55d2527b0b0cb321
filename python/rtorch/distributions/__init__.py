"""``rtorch.distributions``: parameterizable probability distributions and sampling.

Available: ``Distribution``, ``Normal``, ``Uniform``, ``Bernoulli``, ``Categorical``,
``OneHotCategorical``, ``Exponential``, ``Laplace``, ``Poisson``, ``Independent``,
``kl_divergence``/``register_kl`` (for same-type pairs of these) and ``constraints``. Samples come from rtorch's generator
(``rtorch.manual_seed``), so they differ from PyTorch's stream for the same seed.
"""

from . import _kl_multivariate, constraints  # noqa: F401  (_kl_multivariate registers KL pairs)
from .bernoulli import Bernoulli
from .categorical import Categorical
from .cauchy import Cauchy
from .distribution import Distribution
from .exponential import Exponential
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .mixture_same_family import MixtureSameFamily
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .poisson import Poisson
from .uniform import Uniform

__all__ = [
    "Bernoulli",
    "Categorical",
    "Cauchy",
    "Distribution",
    "Exponential",
    "Independent",
    "Laplace",
    "LowRankMultivariateNormal",
    "MixtureSameFamily",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "Poisson",
    "Uniform",
    "constraints",
    "kl_divergence",
    "register_kl",
]
