"""``MixtureSameFamily``: a finite mixture whose components share one distribution family."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import _C
from .._C import Tensor
from .._size import Size
from . import constraints
from .categorical import Categorical
from .distribution import _EMPTY_SHAPE, Distribution

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    r"""A mixture in which every component is a member of the same family: the components
    are the rightmost batch dimension of ``component_distribution``, weighted by the
    ``Categorical`` ``mixture_distribution``.

    Example::

        >>> # A mixture of 5 bivariate normals with diagonal covariance
        >>> mix = Categorical(torch.ones(5))
        >>> comp = Independent(Normal(torch.randn(5, 2), torch.rand(5, 2)), 1)
        >>> gmm = MixtureSameFamily(mix, comp)

    Args:
        mixture_distribution: a ``Categorical`` whose rightmost (event) size ``k`` is the
            number of components; its batch shape broadcasts with
            ``component_distribution.batch_shape[:-1]``.
        component_distribution: any distribution whose rightmost batch dimension (of size
            ``k``) indexes the components.
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {}
    has_rsample = False

    def __init__(self, mixture_distribution: Categorical, component_distribution: Distribution,
                 validate_args: bool | None = None) -> None:  # fmt: skip
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(  # noqa: TRY004  (PyTorch's class)
                " The Mixture distribution needs to be an  instance of "
                "torch.distributions.Categorical"
            )
        if not isinstance(component_distribution, Distribution):
            raise ValueError(  # noqa: TRY004  (PyTorch's class)
                "The Component distribution needs to be an instance of "
                "torch.distributions.Distribution"
            )
        mixture_batch = mixture_distribution.batch_shape
        component_batch = component_distribution.batch_shape[:-1]
        for size1, size2 in zip(reversed(mixture_batch), reversed(component_batch)):
            if size1 != 1 and size2 != 1 and size1 != size2:
                raise ValueError(
                    f"`mixture_distribution.batch_shape` ({mixture_batch}) is not compatible "
                    f"with `component_distribution.batch_shape`({component_batch})"
                )
        k_mixture = mixture_distribution.logits.shape[-1]
        k_component = component_distribution.batch_shape[-1]
        if k_mixture != k_component:
            raise ValueError(
                f"`mixture_distribution component` ({k_mixture}) does not equal "
                f"`component_distribution.batch_shape[-1]` ({k_component})"
            )
        self._num_component = k_mixture
        event_shape = component_distribution.event_shape
        self._event_ndims = len(event_shape)
        super().__init__(component_batch, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> MixtureSameFamily:
        batch_shape = Size(batch_shape)
        new = self._get_checked_instance(MixtureSameFamily, _instance)
        new._component_distribution = self._component_distribution.expand(
            Size((*batch_shape, self._num_component))
        )
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._num_component = self._num_component
        new._event_ndims = self._event_ndims
        event_shape = new._component_distribution.event_shape
        super(MixtureSameFamily, new).__init__(batch_shape, event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property
    def support(self) -> constraints.Constraint:
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    @property
    def mixture_distribution(self) -> Categorical:
        return self._mixture_distribution

    @property
    def component_distribution(self) -> Distribution:
        return self._component_distribution

    @property
    def mean(self) -> Tensor:
        probs = self._pad_mixture_dimensions(self.mixture_distribution.probs)
        return (probs * self.component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self) -> Tensor:
        # Law of total variance: E[Var(X | K)] + Var(E[X | K]).
        probs = self._pad_mixture_dimensions(self.mixture_distribution.probs)
        dim = -1 - self._event_ndims
        mean_cond_var = (probs * self.component_distribution.variance).sum(dim)
        spread = self.component_distribution.mean - self._pad(self.mean)
        var_cond_mean = (probs * spread.pow(2)).sum(dim)
        return mean_cond_var + var_cond_mean

    def cdf(self, x: Tensor) -> Tensor:
        x = self._pad(x)
        cdf_x = self.component_distribution.cdf(x)
        return (cdf_x * self.mixture_distribution.probs).sum(-1)

    def log_prob(self, x: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(x)
        log_prob_x = self.component_distribution.log_prob(self._pad(x))
        log_mix_prob = _C.log_softmax(self.mixture_distribution.logits, -1)
        return (log_prob_x + log_mix_prob).logsumexp(-1)

    def sample(self, sample_shape: Any = _EMPTY_SHAPE) -> Tensor:
        from ..autograd import no_grad

        sample_shape = Size(sample_shape)
        with no_grad():
            # Which component each draw comes from, then that component's draw.
            gather_dim = len(sample_shape) + len(self.batch_shape)
            mix_sample = self.mixture_distribution.sample(sample_shape)
            comp_samples = self.component_distribution.sample(sample_shape)
            # The mixture's batch may be smaller than the components' (it broadcasts), so
            # its indices are expanded to the full sample and batch shape first.
            index_shape = tuple(self._extended_shape(sample_shape))[:gather_dim]
            index = mix_sample.reshape(
                *mix_sample.shape[: len(sample_shape)],
                *((1,) * (len(self.batch_shape) - len(self.mixture_distribution.batch_shape))),
                *mix_sample.shape[len(sample_shape) :],
            ).expand(index_shape)
            index = index.reshape(*index_shape, 1, *((1,) * self._event_ndims))
            index = index.expand(*index_shape, 1, *self.event_shape)
            samples = comp_samples.gather(gather_dim, index)
            return samples.squeeze(gather_dim)

    def _pad(self, x: Tensor) -> Tensor:
        # A value broadcasts against every component: a unit dimension where they lie.
        return x.unsqueeze(-1 - self._event_ndims)

    def _pad_mixture_dimensions(self, x: Tensor) -> Tensor:
        # Mixture weights (..., k) against component quantities (..., k, *event): unit
        # dimensions for the event; missing leading batch dimensions broadcast.
        return x.reshape(*x.shape, *((1,) * self._event_ndims))

    def __repr__(self) -> str:
        args_string = f"\n  {self.mixture_distribution},\n  {self.component_distribution}"
        return "MixtureSameFamily" + "(" + args_string + ")"
