"""``rtorch.distributions``: parameterizable probability distributions and sampling.

Available: ``Distribution``, ``Normal``, ``Uniform``, ``Bernoulli``, ``Categorical``,
``Independent``, ``kl_divergence``/``register_kl`` (Normal, Uniform, Bernoulli,
Categorical, Independent pairs) and ``constraints``. Samples come from rtorch's generator
(``rtorch.manual_seed``), so they differ from PyTorch's stream for the same seed.
"""

from . import constraints
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .independent import Independent
from .kl import kl_divergence, register_kl
from .normal import Normal
from .uniform import Uniform

__all__ = [
    "Bernoulli",
    "Categorical",
    "Distribution",
    "Independent",
    "Normal",
    "Uniform",
    "constraints",
    "kl_divergence",
    "register_kl",
]
