"""rtorch.distributions: Normal, Uniform, Bernoulli, Categorical, Independent and
kl_divergence against closed forms in float64 (math module), sampling moments with a
fixed seed, gradients through rsample, PyTorch's validation messages and, when torch is
installed, parity of every deterministic quantity."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rtorch
from rtorch.distributions import (
    Bernoulli,
    Categorical,
    Independent,
    Normal,
    Uniform,
    constraints,
    kl_divergence,
    register_kl,
)
from rtorch.distributions.distribution import Distribution


def _t(x) -> rtorch.Tensor:
    return rtorch.tensor(x, dtype=rtorch.float64)


def test_normal_closed_forms() -> None:
    loc, scale = [0.0, 1.0, -2.0], [1.0, 2.0, 0.5]
    n = Normal(_t(loc), _t(scale))
    assert n.batch_shape == (3,) and n.event_shape == () and n.has_rsample
    x = [0.5, -1.0, -2.25]
    for i in range(3):
        z = (x[i] - loc[i]) / scale[i]
        assert n.log_prob(_t(x)).tolist()[i] == pytest.approx(
            -0.5 * z * z - math.log(scale[i]) - 0.5 * math.log(2 * math.pi), rel=1e-14
        )
        assert n.cdf(_t(x)).tolist()[i] == pytest.approx(
            0.5 * math.erfc(-z / math.sqrt(2)), rel=1e-14
        )
        assert n.entropy().tolist()[i] == pytest.approx(
            0.5 + 0.5 * math.log(2 * math.pi) + math.log(scale[i]), rel=1e-14
        )
    np.testing.assert_allclose(n.icdf(n.cdf(_t(x))).numpy(), x, rtol=1e-12)
    assert n.mean.tolist() == loc and n.stddev.tolist() == scale
    assert n.variance.tolist() == [s * s for s in scale]
    assert repr(n) == "Normal(loc: torch.Size([3]), scale: torch.Size([3]))"
    scalar = Normal(0.0, 1.0)
    assert scalar.batch_shape == () and scalar.sample().shape == ()
    assert repr(scalar) == "Normal(loc: 0.0, scale: 1.0)"
    assert scalar.log_prob(rtorch.tensor(0.0)).item() == pytest.approx(-0.9189385332)


def test_normal_sampling_and_rsample_gradient() -> None:
    rtorch.manual_seed(0)
    n = Normal(_t([1.0, -3.0]), _t([2.0, 0.5]))
    s = n.sample((20000,))
    assert s.shape == (20000, 2) and not s.requires_grad
    # 20000 draws: the sample mean is within 4 standard errors.
    assert abs(s[:, 0].mean().item() - 1.0) < 4 * 2.0 / math.sqrt(20000)
    assert abs(s[:, 1].std().item() - 0.5) < 0.02
    loc = _t([0.5]).requires_grad_()
    scale = _t([1.5]).requires_grad_()
    draw = Normal(loc, scale).rsample((5,))
    draw.sum().backward()
    assert loc.grad.tolist() == [5.0]
    eps = (draw.detach() - 0.5) / 1.5
    assert scale.grad.item() == pytest.approx(eps.sum().item())


def test_uniform() -> None:
    u = Uniform(_t([0.0, -1.0]), _t([2.0, 3.0]))
    assert u.log_prob(_t([1.0, 0.0])).tolist() == pytest.approx([-math.log(2), -math.log(4)])
    assert u.entropy().tolist() == pytest.approx([math.log(2), math.log(4)])
    assert u.cdf(_t([1.0, 3.0])).tolist() == [0.5, 1.0]
    assert u.mean.tolist() == [1.0, 1.0] and u.variance.tolist() == pytest.approx([4 / 12, 16 / 12])
    rtorch.manual_seed(1)
    s = u.sample((1000,))
    assert float(s[:, 0].min()) >= 0.0 and float(s[:, 0].max()) < 2.0
    with pytest.raises(ValueError, match="to satisfy the constraint LessThan\\(upper_bound="):
        Uniform(1.0, 0.0)
    with pytest.raises(ValueError) as info:
        u.log_prob(_t([3.0, 0.0]))
    assert "to be within the support (Interval(lower_bound=" in str(info.value)


def test_bernoulli() -> None:
    b = Bernoulli(logits=_t([0.0, 2.0]))
    p = 1 / (1 + math.exp(-2))
    assert b.probs.tolist() == pytest.approx([0.5, p], rel=1e-14)
    assert b.log_prob(_t([1.0, 0.0])).tolist() == pytest.approx([math.log(0.5), math.log(1 - p)])
    ent = -(p * math.log(p) + (1 - p) * math.log(1 - p))
    assert b.entropy().tolist() == pytest.approx([math.log(2), ent], rel=1e-12)
    assert b.variance.tolist() == pytest.approx([0.25, p * (1 - p)])
    assert math.isnan(b.mode[0].item()) and b.mode[1].item() == 1.0
    assert b.enumerate_support().tolist() == [[0.0, 0.0], [1.0, 1.0]]
    bp = Bernoulli(probs=0.3)
    assert bp.batch_shape == () and bp.logits.item() == pytest.approx(math.log(0.3 / 0.7))
    rtorch.manual_seed(2)
    assert abs(Bernoulli(probs=_t([0.3])).sample((20000,)).mean().item() - 0.3) < 0.015
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified"):
        Bernoulli()


def test_categorical() -> None:
    logits = [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]
    c = Categorical(logits=_t(logits))
    norm = math.log(sum(math.exp(v) for v in logits[0]))
    assert c.logits[0].tolist() == pytest.approx([v - norm for v in logits[0]], rel=1e-14)
    assert c.batch_shape == (2,) and c.event_shape == () and c.param_shape == (2, 3)
    assert c.log_prob(rtorch.tensor([2, 0])).tolist() == pytest.approx(
        [3 - norm, -math.log(3)], rel=1e-14
    )
    probs = [math.exp(v - norm) for v in logits[0]]
    assert c.entropy().tolist() == pytest.approx(
        [-sum(q * math.log(q) for q in probs), math.log(3)], rel=1e-12
    )
    assert c.enumerate_support().shape == (3, 2) and c.mode.tolist() == [2, 0]
    # probs was computed (and cached) above, so it is shown too, as in PyTorch.
    assert repr(c) == "Categorical(probs: torch.Size([2, 3]), logits: torch.Size([2, 3]))"
    assert repr(Categorical(logits=_t(logits))) == "Categorical(logits: torch.Size([2, 3]))"
    pc = Categorical(probs=_t([0.2, 0.3, 0.5]) * 2)
    assert pc.probs.tolist() == pytest.approx([0.2, 0.3, 0.5])
    rtorch.manual_seed(3)
    s = pc.sample((30000,))
    assert s.dtype == rtorch.int64 and s.shape == (30000,)
    freq = rtorch.bincount(s, minlength=3).double() / 30000
    np.testing.assert_allclose(freq.numpy(), [0.2, 0.3, 0.5], atol=0.015)
    with pytest.raises(ValueError) as info:
        Categorical(_t([0.2, -0.3, 0.6]))
    assert str(info.value).startswith(
        "Expected parameter probs (Tensor of shape (3,)) of distribution "
        "Categorical(probs: torch.Size([3])) to satisfy the constraint Simplex(), but found "
        "invalid values:"
    )
    with pytest.raises(ValueError, match="to be within the support \\(IntegerInterval"):
        Categorical(logits=_t([1.0, 2.0])).log_prob(rtorch.tensor(3))
    with pytest.raises(ValueError, match="`probs` parameter must be at least one-dimensional"):
        Categorical(probs=_t(0.5))


def test_validation_messages_and_switches() -> None:
    with pytest.raises(ValueError) as info:
        Normal(rtorch.tensor([0.0]), rtorch.tensor([-1.0]))
    assert str(info.value) == (
        "Expected parameter scale (Tensor of shape (1,)) of distribution "
        "Normal(loc: tensor([0.]), scale: tensor([-1.])) to satisfy the constraint "
        "GreaterThan(lower_bound=0.0), but found invalid values:\ntensor([-1.])"
    )
    assert Normal(0.0, -1.0, validate_args=False).scale.item() == -1.0
    Distribution.set_default_validate_args(False)
    try:
        Normal(0.0, -1.0)
    finally:
        Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError, match="The value argument to log_prob must be a Tensor"):
        Normal(0.0, 1.0).log_prob(0.5)
    assert repr(constraints.positive) == "GreaterThan(lower_bound=0.0)"
    assert constraints.unit_interval.check(rtorch.tensor([0.5, 1.5])).tolist() == [True, False]


def test_independent_and_kl() -> None:
    n = Normal(_t([[0.0, 1.0], [2.0, 3.0]]), _t([[1.0, 2.0], [0.5, 1.0]]))
    ind = Independent(n, 1)
    assert ind.batch_shape == (2,) and ind.event_shape == (2,)
    x = _t([[0.5, 0.5], [1.0, 1.0]])
    np.testing.assert_allclose(ind.log_prob(x).numpy(), n.log_prob(x).sum(-1).numpy(), rtol=1e-14)
    assert repr(Independent(Normal(_t([0.0, 1.0]), _t([1.0, 1.0])), 1)) == (
        "Independent(Normal(loc: torch.Size([2]), scale: torch.Size([2])), 1)"
    )
    with pytest.raises(ValueError, match="Expected reinterpreted_batch_ndims <= len"):
        Independent(n, 3)
    kl = kl_divergence(Normal(0.0, 1.0), Normal(1.0, 2.0)).item()
    assert kl == pytest.approx(math.log(2) + (1 + 1) / (2 * 4) - 0.5, rel=1e-7)
    p, q = Categorical(probs=_t([0.5, 0.5, 0.0])), Categorical(probs=_t([0.25, 0.25, 0.5]))
    assert kl_divergence(p, q).item() == pytest.approx(math.log(2), rel=1e-12)
    assert kl_divergence(q, p).item() == math.inf
    bkl = kl_divergence(Bernoulli(probs=_t(0.3)), Bernoulli(probs=_t(0.6))).item()
    assert bkl == pytest.approx(0.3 * math.log(0.3 / 0.6) + 0.7 * math.log(0.7 / 0.4), rel=1e-12)
    ukl = kl_divergence(Uniform(0.0, 1.0), Uniform(-1.0, 3.0)).item()
    assert (
        ukl == pytest.approx(math.log(4))
        and kl_divergence(Uniform(-1.0, 3.0), Uniform(0.0, 1.0)).item() == math.inf
    )
    ikl = kl_divergence(Independent(n, 1), Independent(n, 1))
    assert ikl.tolist() == [0.0, 0.0]
    with pytest.raises(
        NotImplementedError,
        match="No KL\\(p \\|\\| q\\) is implemented for p type Normal and q type Categorical",
    ):
        kl_divergence(Normal(0.0, 1.0), Categorical(probs=_t([0.5, 0.5])))

    class MyNormal(Normal):
        pass

    assert kl_divergence(MyNormal(0.0, 1.0), Normal(0.0, 1.0)).item() == 0.0

    @register_kl(MyNormal, Uniform)
    def _kl(p, q):
        return rtorch.tensor(7.0)

    assert kl_divergence(MyNormal(0.0, 1.0), Uniform(0.0, 1.0)).item() == 7.0


def test_parity_with_torch() -> None:
    torch = pytest.importorskip("torch")
    td = torch.distributions
    rng = np.random.default_rng(0)
    loc, scale, x = rng.standard_normal(4), rng.random(4) + 0.5, rng.standard_normal(4)
    a, b = Normal(_t(loc), _t(scale)), td.Normal(torch.tensor(loc), torch.tensor(scale))
    for name in ("log_prob", "cdf"):
        np.testing.assert_allclose(getattr(a, name)(_t(x)).numpy(),
                                   getattr(b, name)(torch.tensor(x)).numpy(), rtol=1e-13)  # fmt: skip
    np.testing.assert_allclose(a.entropy().numpy(), b.entropy().numpy(), rtol=1e-14)
    logits = rng.standard_normal((3, 5))
    ca, cb = Categorical(logits=_t(logits)), td.Categorical(logits=torch.tensor(logits))
    v = [0, 4, 2]
    np.testing.assert_allclose(ca.log_prob(rtorch.tensor(v)).numpy(),
                               cb.log_prob(torch.tensor(v)).numpy(), rtol=1e-14)  # fmt: skip
    np.testing.assert_allclose(ca.entropy().numpy(), cb.entropy().numpy(), rtol=1e-13)
    cq = _t(rng.standard_normal((3, 5)))
    np.testing.assert_allclose(
        kl_divergence(ca, Categorical(logits=cq)).numpy(),
        td.kl_divergence(cb, td.Categorical(logits=torch.tensor(cq.numpy()))).numpy(),
        rtol=1e-12,
    )
    ba, bb = Bernoulli(logits=_t(x)), td.Bernoulli(logits=torch.tensor(x))
    np.testing.assert_allclose(ba.entropy().numpy(), bb.entropy().numpy(), rtol=1e-13)
    assert repr(ba) == repr(bb).replace("torch.", "torch.")


def test_exponential_laplace_one_hot() -> None:
    from rtorch.distributions import Exponential, Laplace, OneHotCategorical

    rate = _t([0.5, 2.0])
    e = Exponential(rate)
    x = _t([0.3, 1.5])
    assert e.log_prob(x).tolist() == pytest.approx([math.log(0.5) - 0.15, math.log(2) - 3.0])
    assert e.cdf(x).tolist() == pytest.approx([1 - math.exp(-0.15), 1 - math.exp(-3.0)])
    assert e.entropy().tolist() == pytest.approx([1 - math.log(0.5), 1 - math.log(2)])
    np.testing.assert_allclose(e.icdf(e.cdf(x)).numpy(), x.numpy(), rtol=1e-12)
    rtorch.manual_seed(4)
    assert abs(Exponential(_t([2.0])).sample((40000,)).mean().item() - 0.5) < 0.01
    kl = kl_divergence(Exponential(_t(1.0)), Exponential(_t(2.0))).item()
    assert kl == pytest.approx(math.log(1 / 2) + 2 - 1)
    lap = Laplace(_t([0.0, 1.0]), _t([1.0, 2.0]))
    assert lap.log_prob(_t([0.5, -1.0])).tolist() == pytest.approx(
        [-math.log(2) - 0.5, -math.log(4) - 1.0]
    )
    assert lap.cdf(_t([0.0, 1.0])).tolist() == pytest.approx([0.5, 0.5])
    assert lap.entropy().tolist() == pytest.approx([1 + math.log(2), 1 + math.log(4)])
    assert lap.variance.tolist() == pytest.approx([2.0, 8.0])
    rtorch.manual_seed(5)
    s = Laplace(_t([1.0]), _t([0.5])).sample((40000,))
    assert abs(s.median().item() - 1.0) < 0.02 and abs((s - 1).abs().mean().item() - 0.5) < 0.01
    oh = OneHotCategorical(_t([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]))
    assert oh.event_shape == (3,) and oh.batch_shape == (2,) and repr(oh) == "OneHotCategorical()"
    lp = oh.log_prob(_t([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))
    assert lp.tolist() == pytest.approx([math.log(0.5), math.log(0.1)])
    draws = oh.sample((6,))
    assert draws.shape == (6, 2, 3) and bool((draws.sum(-1) == 1).all())
    assert oh.enumerate_support().shape == (3, 2, 3)
    with pytest.raises(ValueError, match="to be within the support"):
        oh.log_prob(_t([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]))


def _expand_cases():
    from rtorch.distributions import Exponential, Laplace, Poisson

    v = _t([0.2, 0.5, 0.9])
    return [
        (Normal(_t([0.0, 1.0, -1.0]), _t([1.0, 2.0, 0.5])), _t([0.3, -1.0, 2.0])),
        (Uniform(_t([0.0, -1.0, 1.0]), _t([1.0, 1.0, 2.0])), _t([0.5, 0.0, 1.5])),
        (Exponential(_t([1.0, 2.0, 0.5])), _t([0.3, 1.0, 2.0])),
        (Laplace(_t([0.0, 1.0, -1.0]), _t([1.0, 2.0, 0.5])), _t([0.3, -1.0, 2.0])),
        (Poisson(_t([1.0, 2.0, 0.5])), _t([0.0, 3.0, 1.0])),
        (Bernoulli(probs=v), _t([1.0, 0.0, 1.0])),
        (Bernoulli(logits=v), _t([1.0, 0.0, 1.0])),
        (Categorical(probs=_t([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]])), _t([1.0, 0.0, 0.0])),
        (Categorical(logits=_t([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]])), _t([1.0, 0.0, 1.0])),
        (
            Independent(Normal(_t([[0.0, 1.0, -1.0]] * 2), _t([[1.0, 2.0, 0.5]] * 2)), 1),
            _t([0.3, -1.0, 2.0]),
        ),
    ]


@pytest.mark.parametrize("case", range(10))
def test_expand_broadcasts_parameters_without_copy(case) -> None:
    d, value = _expand_cases()[case]
    params = d.base_dist if isinstance(d, Independent) else d
    held = {
        k: v
        for k, v in params.__dict__.items()
        if k in ("loc", "scale", "low", "high", "rate", "probs", "logits")
    }
    param_source = next((k for k, v in held.items() if v is params.__dict__.get("_param")), None)
    new = d.expand((4, *d.batch_shape))
    assert type(new) is type(d) and new.batch_shape == (4, *d.batch_shape)
    assert new.event_shape == d.event_shape and new._validate_args == d._validate_args
    want = d.log_prob(value).tolist()
    assert new.log_prob(value).tolist() == [want] * 4
    assert tuple(new.sample((2,)).shape) == (2, 4, *d.batch_shape, *d.event_shape)
    # The parameters set at expand time are views of the originals (no copy).
    new_params = new.base_dist if isinstance(new, Independent) else new
    assert held
    for name, param in held.items():
        assert new_params.__dict__[name].data_ptr() == param.data_ptr()
        assert new_params.__dict__[name].stride()[0] == 0
    if param_source is not None:
        assert new_params._param is new_params.__dict__[param_source]
    with pytest.raises(RuntimeError):
        d.expand((5,))


def test_expand_through_transformed_distribution_and_mixture() -> None:
    from rtorch.distributions import MixtureSameFamily, TransformedDistribution
    from rtorch.distributions.transforms import AffineTransform

    # A scalar base under a vector affine map: the base is expanded to the batch shape.
    td = TransformedDistribution(
        Normal(_t(0.0), _t(1.0)), [AffineTransform(_t([1.0, 2.0]), _t([2.0, 3.0]))]
    )
    assert td.batch_shape == (2,)
    got = td.log_prob(_t([1.0, 5.0])).tolist()
    want = [
        -math.log(2.0) - 0.5 * math.log(2 * math.pi),
        -0.5 - math.log(3.0) - 0.5 * math.log(2 * math.pi),
    ]
    assert got == pytest.approx(want, rel=1e-14)
    assert td.expand((3, 2)).log_prob(_t([1.0, 5.0])).tolist() == [got] * 3
    mix = MixtureSameFamily(
        Categorical(probs=_t([0.25, 0.75])), Normal(_t([0.0, 1.0]), _t([1.0, 1.0]))
    )
    wide = mix.expand((3,))
    assert wide.batch_shape == (3,)
    assert wide.log_prob(_t(0.5)).tolist() == [mix.log_prob(_t(0.5)).item()] * 3


def test_expand_matches_torch(torch_ref) -> None:
    torch = torch_ref
    td = torch.distributions
    loc, scale = [0.0, 1.0], [1.0, 2.0]
    mine = Normal(_t(loc), _t(scale)).expand((3, 2))
    theirs = td.Normal(
        torch.tensor(loc, dtype=torch.float64), torch.tensor(scale, dtype=torch.float64)
    ).expand((3, 2))
    assert tuple(mine.batch_shape) == tuple(theirs.batch_shape)
    x = [[0.5, -1.0]] * 3
    np.testing.assert_allclose(
        mine.log_prob(_t(x)).numpy(),
        theirs.log_prob(torch.tensor(x, dtype=torch.float64)).numpy(),
        rtol=1e-14,
    )
    probs = [[0.2, 0.8], [0.6, 0.4]]
    mine_c = Categorical(probs=_t(probs)).expand((5, 2))
    theirs_c = td.Categorical(probs=torch.tensor(probs, dtype=torch.float64)).expand((5, 2))
    np.testing.assert_allclose(mine_c.entropy().numpy(), theirs_c.entropy().numpy(), rtol=1e-14)
    assert tuple(mine_c.batch_shape) == tuple(theirs_c.batch_shape)
