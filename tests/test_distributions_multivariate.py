"""rtorch.distributions' multivariate and mixture families: MultivariateNormal,
LowRankMultivariateNormal, MixtureSameFamily, Wishart, LKJCholesky and the Gaussian KL
pairs.

References are numpy float64 closed forms (slogdet, solve, inv, cholesky), math's erf and
lgamma; samples are checked by their moments with tolerances derived from the sample size;
gradients by gradcheck in float64; and, where torch is installed, every deterministic
quantity and error against PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rtorch
from rtorch.autograd import gradcheck
from rtorch.distributions import (
    Categorical,
    Independent,
    LowRankMultivariateNormal,
    MixtureSameFamily,
    MultivariateNormal,
    Normal,
    constraints,
    kl_divergence,
)

F64 = rtorch.float64
LOG_2PI = math.log(2 * math.pi)


def _t(x, dtype=F64) -> rtorch.Tensor:
    return rtorch.tensor(np.asarray(x).tolist(), dtype=dtype)


def _np(t: rtorch.Tensor) -> np.ndarray:
    return np.array(t.tolist()).reshape(tuple(t.shape))


def _spd(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Random symmetric positive-definite matrices of shape ``shape + (n, n)``."""
    n = shape[-1]
    a = rng.standard_normal((*shape, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _np_mvn_log_prob(x: np.ndarray, loc: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log N(x; loc, cov) with numpy's slogdet and solve, batch shapes broadcast."""
    n = x.shape[-1]
    batch = np.broadcast_shapes(x.shape[:-1], loc.shape[:-1], cov.shape[:-2])
    x = np.broadcast_to(x, (*batch, n)).reshape(-1, n)
    loc = np.broadcast_to(loc, (*batch, n)).reshape(-1, n)
    cov = np.broadcast_to(cov, (*batch, n, n)).reshape(-1, n, n)
    out = []
    for xi, mi, ci in zip(x, loc, cov):
        d = xi - mi
        _, logdet = np.linalg.slogdet(ci)
        out.append(-0.5 * (n * LOG_2PI + logdet + d @ np.linalg.solve(ci, d)))
    return np.array(out).reshape(batch)


def _np_mvn_entropy(cov: np.ndarray) -> np.ndarray:
    n = cov.shape[-1]
    return 0.5 * n * (1 + LOG_2PI) + 0.5 * np.linalg.slogdet(cov)[1]


def _np_gauss_kl(mp, sp, mq, sq) -> np.ndarray:
    """KL(N(mp, sp) || N(mq, sq)) with numpy, batch shapes broadcast."""
    n = mp.shape[-1]
    batch = np.broadcast_shapes(mp.shape[:-1], sp.shape[:-2], mq.shape[:-1], sq.shape[:-2])
    args = [
        np.broadcast_to(mp, (*batch, n)).reshape(-1, n),
        np.broadcast_to(sp, (*batch, n, n)).reshape(-1, n, n),
        np.broadcast_to(mq, (*batch, n)).reshape(-1, n),
        np.broadcast_to(sq, (*batch, n, n)).reshape(-1, n, n),
    ]
    out = []
    for a, b, c, d in zip(*args):
        diff = c - a
        out.append(
            0.5
            * (
                np.trace(np.linalg.solve(d, b))
                + diff @ np.linalg.solve(d, diff)
                - n
                + np.linalg.slogdet(d)[1]
                - np.linalg.slogdet(b)[1]
            )
        )
    return np.array(out).reshape(batch)


def _close(t: rtorch.Tensor, expected, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    got = _np(t)
    expected = np.asarray(expected, dtype=float)
    assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


# ----------------------------------------------------------------- MultivariateNormal


def _mvn_three_ways(loc: np.ndarray, cov: np.ndarray) -> list[MultivariateNormal]:
    return [
        MultivariateNormal(_t(loc), covariance_matrix=_t(cov)),
        MultivariateNormal(_t(loc), precision_matrix=_t(np.linalg.inv(cov))),
        MultivariateNormal(_t(loc), scale_tril=_t(np.linalg.cholesky(cov))),
    ]


def test_mvn_closed_forms_in_each_parameterisation() -> None:
    rng = np.random.default_rng(0)
    n = 4
    loc = rng.standard_normal((2, 1, n))
    cov = _spd(rng, 3, n)
    x = rng.standard_normal((5, 2, 3, n))
    full_cov = np.broadcast_to(cov, (2, 3, n, n))
    for m in _mvn_three_ways(loc, cov):
        assert m.batch_shape == (2, 3) and m.event_shape == (n,) and m.has_rsample
        _close(m.log_prob(_t(x)), _np_mvn_log_prob(x, loc, cov))
        _close(m.entropy(), np.broadcast_to(_np_mvn_entropy(cov), (2, 3)))
        _close(m.mean, np.broadcast_to(loc, (2, 3, n)))
        _close(m.mode, np.broadcast_to(loc, (2, 3, n)))
        _close(m.variance, np.diagonal(full_cov, axis1=-2, axis2=-1))
        _close(m.stddev, np.sqrt(np.diagonal(full_cov, axis1=-2, axis2=-1)))
        _close(m.covariance_matrix, full_cov)
        _close(m.precision_matrix, np.linalg.inv(full_cov))
        _close(m.scale_tril, np.linalg.cholesky(full_cov))
    assert constraints.real_vector is MultivariateNormal.support


def test_mvn_float32_and_unbatched() -> None:
    rng = np.random.default_rng(1)
    loc, cov, x = rng.standard_normal(3), _spd(rng, 3), rng.standard_normal((7, 3))
    m = MultivariateNormal(_t(loc, rtorch.float32), _t(cov, rtorch.float32))
    lp = m.log_prob(_t(x, rtorch.float32))
    assert lp.dtype == rtorch.float32 and lp.shape == (7,)
    _close(lp, _np_mvn_log_prob(x, loc, cov), rtol=1e-5, atol=1e-5)
    h = m.entropy()
    assert h.shape == () and h.dtype == rtorch.float32
    assert h.item() == pytest.approx(_np_mvn_entropy(cov), rel=1e-6)
    assert m.sample().shape == (3,) and m.sample((2, 5)).shape == (2, 5, 3)
    assert m.sample().dtype == rtorch.float32


def test_mvn_batch_broadcasting() -> None:
    rng = np.random.default_rng(2)
    # loc batched, one shared covariance, and the reverse.
    m = MultivariateNormal(_t(rng.standard_normal((3, 2))), _t(_spd(rng, 2)))
    assert m.batch_shape == (3,) and m.covariance_matrix.shape == (3, 2, 2)
    m = MultivariateNormal(
        _t(rng.standard_normal(2)), scale_tril=_t(np.eye(2) + np.zeros((4, 2, 2)))
    )
    assert m.batch_shape == (4,) and m.loc.shape == (4, 2) and m.entropy().shape == (4,)
    # A value without the batch dims broadcasts against it.
    assert m.log_prob(_t(np.zeros(2))).shape == (4,)
    assert m.rsample((6,)).shape == (6, 4, 2)
    with pytest.raises(RuntimeError):
        MultivariateNormal(_t(np.zeros((3, 2))), _t(np.eye(2) + np.zeros((4, 2, 2))))


def test_mvn_empty_batch() -> None:
    # (Validation folds the event dimension with reshape(0, -1), which fails on no
    # elements, in PyTorch as here.)
    m = MultivariateNormal(rtorch.zeros(0, 2, dtype=F64), _t(np.eye(2)), validate_args=False)
    assert m.batch_shape == (0,)
    assert m.log_prob(rtorch.zeros(0, 2, dtype=F64)).shape == (0,)
    assert m.entropy().shape == (0,)
    assert m.sample((3,)).shape == (3, 0, 2)


def test_mvn_expand() -> None:
    rng = np.random.default_rng(3)
    loc, cov = rng.standard_normal(3), _spd(rng, 3)
    m = MultivariateNormal(_t(loc), _t(cov))
    e = m.expand((4, 2))
    assert type(e) is MultivariateNormal
    assert e.batch_shape == (4, 2) and e.event_shape == (3,)
    assert e.covariance_matrix.shape == (4, 2, 3, 3)
    x = rng.standard_normal((4, 2, 3))
    _close(e.log_prob(_t(x)), _np_mvn_log_prob(x, loc, cov))
    _close(e.precision_matrix, np.broadcast_to(np.linalg.inv(cov), (4, 2, 3, 3)))
    assert e.sample((5,)).shape == (5, 4, 2, 3)


def test_mvn_sample_moments() -> None:
    rtorch.manual_seed(0)
    rng = np.random.default_rng(4)
    loc, cov = rng.standard_normal(3), _spd(rng, 3)
    n_draws = 40000
    for m in _mvn_three_ways(loc, cov):
        s = _np(m.sample((n_draws,)))
        assert s.shape == (n_draws, 3)
        # Each coordinate mean is within 5 standard errors of loc.
        se = np.sqrt(np.diag(cov) / n_draws)
        assert np.all(np.abs(s.mean(0) - loc) < 5 * se)
        # Var(sample covariance_ij) = (S_ij^2 + S_ii S_jj) / N for Gaussian draws.
        se_cov = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / n_draws)
        assert np.all(np.abs(np.cov(s.T) - cov) < 5 * se_cov)


def test_mvn_gradients() -> None:
    rng = np.random.default_rng(5)
    loc = _t(rng.standard_normal(3)).requires_grad_()
    a = _t(rng.standard_normal((3, 3))).requires_grad_()
    x = _t(rng.standard_normal((4, 3)))
    eye = rtorch.eye(3, dtype=F64)

    def from_cov(loc, a):
        return MultivariateNormal(loc, a @ a.mT + eye).log_prob(x)

    def from_precision(loc, a):
        return MultivariateNormal(loc, precision_matrix=a @ a.mT + eye).log_prob(x)

    def tril(a):
        return a.tril(-1) + a.diagonal().exp().diag_embed()

    def from_tril(loc, a):
        m = MultivariateNormal(loc, scale_tril=tril(a))
        return rtorch.cat([m.log_prob(x), m.entropy().reshape(1)])

    def draws(loc, a):
        rtorch.manual_seed(7)  # the same noise at every evaluation
        return MultivariateNormal(loc, scale_tril=tril(a)).rsample((5,))

    for fn in (from_cov, from_precision, from_tril, draws):
        assert gradcheck(fn, (loc, a))
    # rsample is loc + L eps: d(sum)/d(loc) counts the draws.
    MultivariateNormal(loc, scale_tril=tril(a)).rsample((5,)).sum().backward()
    assert loc.grad.tolist() == [5.0, 5.0, 5.0]
    assert not MultivariateNormal(loc, scale_tril=tril(a)).sample((2,)).requires_grad


def test_mvn_errors() -> None:
    eye = _t(np.eye(2))
    with pytest.raises(ValueError, match="loc must be at least one-dimensional"):
        MultivariateNormal(_t(0.0), eye)
    for kwargs in ({}, {"covariance_matrix": eye, "scale_tril": eye}):
        with pytest.raises(ValueError, match="Exactly one of covariance_matrix"):
            MultivariateNormal(_t([0.0, 0.0]), **kwargs)
    for name in ("covariance_matrix", "precision_matrix", "scale_tril"):
        with pytest.raises(ValueError, match=f"^{name}.* must be at least two-dimensional"):
            MultivariateNormal(_t([0.0, 0.0]), **{name: _t([1.0, 1.0])})
    indefinite = _t([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="to satisfy the constraint PositiveDefinite()"):
        MultivariateNormal(_t([0.0, 0.0]), indefinite)
    with pytest.raises(ValueError, match="PositiveDefinite"):
        MultivariateNormal(_t([0.0, 0.0]), precision_matrix=indefinite)
    with pytest.raises(ValueError, match="PositiveDefinite"):  # not symmetric
        MultivariateNormal(_t([0.0, 0.0]), _t([[1.0, 0.5], [0.4, 1.0]]))
    with pytest.raises(ValueError, match="LowerCholesky"):
        MultivariateNormal(_t([0.0, 0.0]), scale_tril=_t([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="LowerCholesky"):
        MultivariateNormal(_t([0.0, 0.0]), scale_tril=_t([[1.0, 0.0], [0.5, -1.0]]))
    with pytest.raises(ValueError, match=r"IndependentConstraint\(Real\(\), 1\)"):
        MultivariateNormal(_t([0.0, math.nan]), eye)
    # Unvalidated, the factorisation itself fails (LinAlgError is a RuntimeError).
    with pytest.raises(rtorch.linalg.LinAlgError):
        MultivariateNormal(_t([0.0, 0.0]), indefinite, validate_args=False)
    m = MultivariateNormal(_t(np.zeros((3, 2))), eye)
    with pytest.raises(ValueError, match="The right-most size of value must match event_shape"):
        m.log_prob(_t([0.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="Value is not broadcastable"):
        m.log_prob(_t(np.zeros((4, 2))))
    with pytest.raises(ValueError, match="to be within the support"):
        m.log_prob(_t([0.0, math.nan]))
    # Integer parameters cannot be factorised.
    with pytest.raises((RuntimeError, NotImplementedError, TypeError)):
        MultivariateNormal(
            rtorch.zeros(2, dtype=rtorch.int64),
            rtorch.eye(2, dtype=rtorch.int64),
            validate_args=False,
        )


def test_non_contiguous_parameters_and_values() -> None:
    rng = np.random.default_rng(8)
    n = 3
    loc, cov = rng.standard_normal((2, n)), _spd(rng, 2, n)
    x = rng.standard_normal((4, 2, n))
    # A strided loc, a transposed covariance, an upper factor's transpose, an expanded value.
    loc_strided = _t(np.stack([loc, loc], -1))[..., 0]
    cov_t = _t(np.swapaxes(cov, -1, -2)).transpose(-2, -1)
    upper = _t(np.swapaxes(np.linalg.cholesky(cov), -1, -2))
    x_expanded = _t(x[:1]).expand(4, 2, n)
    assert not loc_strided.is_contiguous() and not cov_t.is_contiguous()
    assert not x_expanded.is_contiguous()
    expected = _np_mvn_log_prob(np.broadcast_to(x[:1], (4, 2, n)), loc, cov)
    for m in (
        MultivariateNormal(loc_strided, cov_t),
        MultivariateNormal(loc_strided, precision_matrix=_t(np.linalg.inv(cov)).mT),
        MultivariateNormal(loc_strided, scale_tril=upper.mT),
    ):
        _close(m.log_prob(x_expanded), expected)
        _close(m.entropy(), _np_mvn_entropy(cov))
    w = rng.standard_normal((2, n, 2))
    d = rng.random(n) + 0.5
    low = LowRankMultivariateNormal(
        loc_strided, _t(np.swapaxes(w, -1, -2)).mT, _t(np.stack([d, d], -1))[..., 0]
    )
    full = w @ np.swapaxes(w, -1, -2) + np.diag(d)
    _close(low.log_prob(x_expanded), _np_mvn_log_prob(np.broadcast_to(x[:1], (4, 2, n)), loc, full))


# --------------------------------------------------------- LowRankMultivariateNormal


def _lowrank_params(rng, batch_w=(), batch_d=(), batch_loc=(), n=4, rank=2):
    return (
        rng.standard_normal((*batch_loc, n)),
        rng.standard_normal((*batch_w, n, rank)),
        rng.random((*batch_d, n)) + 0.5,
    )


def test_lowrank_closed_forms() -> None:
    rng = np.random.default_rng(10)
    loc, w, d = _lowrank_params(rng, batch_w=(3, 1), batch_d=(2,))
    m = LowRankMultivariateNormal(_t(loc), _t(w), _t(d))
    assert m.batch_shape == (3, 2) and m.event_shape == (4,)
    assert m.loc.shape == (3, 2, 4) and m.cov_factor.shape == (3, 2, 4, 2)
    assert m.cov_diag.shape == (3, 2, 4)
    cov = w @ np.swapaxes(w, -1, -2) + d[..., None] * np.eye(4)  # (3, 2, 4, 4)
    x = rng.standard_normal((5, 3, 2, 4))
    _close(m.log_prob(_t(x)), _np_mvn_log_prob(x, loc, cov))
    _close(m.entropy(), _np_mvn_entropy(cov))
    _close(m.covariance_matrix, cov)
    _close(m.precision_matrix, np.linalg.inv(cov))
    _close(m.scale_tril, np.linalg.cholesky(cov))
    _close(m.variance, np.diagonal(cov, axis1=-2, axis2=-1))
    _close(m.mean, np.broadcast_to(loc, (3, 2, 4)))
    _close(m.mode, np.broadcast_to(loc, (3, 2, 4)))
    # The same distribution given by its full covariance.
    full = MultivariateNormal(_t(loc), _t(cov))
    _close(m.log_prob(_t(x)), _np(full.log_prob(_t(x))))
    # Unbatched, float32.
    loc, w, d = _lowrank_params(rng, n=3, rank=1)
    m32 = LowRankMultivariateNormal(
        _t(loc, rtorch.float32), _t(w, rtorch.float32), _t(d, rtorch.float32)
    )
    x = rng.standard_normal((6, 3))
    cov = w @ w.T + np.diag(d)
    lp = m32.log_prob(_t(x, rtorch.float32))
    assert lp.dtype == rtorch.float32
    _close(lp, _np_mvn_log_prob(x, loc, cov), rtol=1e-5, atol=1e-5)
    assert m32.entropy().shape == ()


def test_lowrank_sample_moments_and_expand() -> None:
    rtorch.manual_seed(1)
    rng = np.random.default_rng(11)
    loc, w, d = _lowrank_params(rng, n=3, rank=2)
    m = LowRankMultivariateNormal(_t(loc), _t(w), _t(d))
    cov = w @ w.T + np.diag(d)
    n_draws = 40000
    s = _np(m.sample((n_draws,)))
    assert s.shape == (n_draws, 3)
    assert np.all(np.abs(s.mean(0) - loc) < 5 * np.sqrt(np.diag(cov) / n_draws))
    se_cov = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / n_draws)
    assert np.all(np.abs(np.cov(s.T) - cov) < 5 * se_cov)
    e = m.expand((2, 5))
    assert type(e) is LowRankMultivariateNormal and e.batch_shape == (2, 5)
    assert e.cov_factor.shape == (2, 5, 3, 2) and e.cov_diag.shape == (2, 5, 3)
    x = rng.standard_normal((2, 5, 3))
    _close(e.log_prob(_t(x)), _np_mvn_log_prob(x, loc, cov))
    assert e.rsample((4,)).shape == (4, 2, 5, 3)


def test_lowrank_gradients() -> None:
    rng = np.random.default_rng(12)
    loc = _t(rng.standard_normal(3)).requires_grad_()
    w = _t(rng.standard_normal((3, 2))).requires_grad_()
    raw_d = _t(rng.standard_normal(3)).requires_grad_()
    x = _t(rng.standard_normal((4, 3)))

    def lp(loc, w, raw_d):
        m = LowRankMultivariateNormal(loc, w, raw_d.exp())
        return rtorch.cat([m.log_prob(x), m.entropy().reshape(1)])

    def matrices(loc, w, raw_d):
        m = LowRankMultivariateNormal(loc, w, raw_d.exp())
        return rtorch.cat([m.precision_matrix.flatten(), m.scale_tril.flatten()])

    def draws(loc, w, raw_d):
        rtorch.manual_seed(3)
        return LowRankMultivariateNormal(loc, w, raw_d.exp()).rsample((5,))

    for fn in (lp, matrices, draws):
        assert gradcheck(fn, (loc, w, raw_d))


def test_lowrank_errors() -> None:
    z = lambda *s: rtorch.zeros(*s, dtype=F64)
    with pytest.raises(ValueError, match="loc must be at least one-dimensional"):
        LowRankMultivariateNormal(z(), z(2, 1), z(2) + 1)
    with pytest.raises(ValueError, match="cov_factor must be at least two-dimensional"):
        LowRankMultivariateNormal(z(2), z(2), z(2) + 1)
    with pytest.raises(ValueError, match="cov_factor must be a batch of matrices with shape 2 x m"):
        LowRankMultivariateNormal(z(2), z(3, 1), z(2) + 1)
    with pytest.raises(ValueError, match=r"cov_diag must be a batch of vectors with shape"):
        LowRankMultivariateNormal(z(2), z(2, 1), z(3) + 1)
    with pytest.raises(ValueError, match="Incompatible batch shapes"):
        LowRankMultivariateNormal(z(3, 2), z(4, 2, 1), z(2) + 1)
    # A zero diagonal makes the capacitance matrix non-finite before validation runs.
    with pytest.raises(RuntimeError):
        LowRankMultivariateNormal(z(2), z(2, 1), z(2))
    with pytest.raises(ValueError, match="IndependentConstraint\\(GreaterThan"):
        LowRankMultivariateNormal(z(2), z(2, 1), rtorch.tensor([1.0, -1.0], dtype=F64))
    m = LowRankMultivariateNormal(z(2), z(2, 1), z(2) + 1)
    with pytest.raises(ValueError, match="The right-most size of value must match event_shape"):
        m.log_prob(z(3))


# ---------------------------------------------------------------------------- KL


def _kl_fixtures(rng: np.random.Generator, n: int = 3):
    """(distribution, loc, covariance) triples, batch shapes chosen to broadcast."""
    loc1, cov1 = rng.standard_normal((2, 1, n)), _spd(rng, 3, n)
    loc2, chol2 = rng.standard_normal(n), np.linalg.cholesky(_spd(rng, 2, 1, n))
    cov2 = chol2 @ np.swapaxes(chol2, -1, -2)
    loc3, w3, d3 = _lowrank_params(rng, batch_w=(2, 1), batch_loc=(3,), n=n, rank=2)
    cov3 = w3 @ np.swapaxes(w3, -1, -2) + d3[..., None] * np.eye(n)
    loc4, w4, d4 = _lowrank_params(rng, batch_d=(3,), n=n, rank=1)
    cov4 = w4 @ np.swapaxes(w4, -1, -2) + d4[..., None] * np.eye(n)
    return [
        (MultivariateNormal(_t(loc1), _t(cov1)), loc1, cov1),
        (MultivariateNormal(_t(loc2), scale_tril=_t(chol2)), loc2, cov2),
        (LowRankMultivariateNormal(_t(loc3), _t(w3), _t(d3)), loc3, cov3),
        (LowRankMultivariateNormal(_t(loc4), _t(w4), _t(d4)), loc4, cov4),
    ]


def test_kl_every_pair_against_numpy() -> None:
    fixtures = _kl_fixtures(np.random.default_rng(20))
    for p, mp, sp in fixtures:
        for q, mq, sq in fixtures:
            expected = _np_gauss_kl(mp, sp, mq, sq)
            _close(kl_divergence(p, q), expected, rtol=1e-9, atol=1e-11)
        # KL(p || p) vanishes.
        assert np.all(np.abs(_np(kl_divergence(p, p))) < 1e-12)


def test_kl_errors_and_gradient() -> None:
    m2 = MultivariateNormal(_t(np.zeros(2)), _t(np.eye(2)))
    m3 = MultivariateNormal(_t(np.zeros(3)), _t(np.eye(3)))
    l2 = LowRankMultivariateNormal(_t(np.zeros(2)), _t(np.ones((2, 1))), _t(np.ones(2)))
    l3 = LowRankMultivariateNormal(_t(np.zeros(3)), _t(np.ones((3, 1))), _t(np.ones(3)))
    for p, q in ((m2, m3), (l2, l3), (m2, l3), (l2, m3)):
        with pytest.raises(ValueError, match="different event shapes cannot be computed"):
            kl_divergence(p, q)
    rng = np.random.default_rng(21)
    a = _t(rng.standard_normal((3, 3))).requires_grad_()
    w = _t(rng.standard_normal((3, 2))).requires_grad_()
    loc = _t(rng.standard_normal(3)).requires_grad_()
    eye = rtorch.eye(3, dtype=F64)
    d = _t(rng.random(3) + 0.5)

    def kls(loc, a, w):
        mvn = MultivariateNormal(loc, a @ a.mT + eye)
        low = LowRankMultivariateNormal(-loc, w, d)
        std = MultivariateNormal(rtorch.zeros(3, dtype=F64), eye)
        pairs = ((mvn, std), (std, mvn), (mvn, low), (low, mvn), (low, low.expand(())))
        return rtorch.stack([kl_divergence(p, q) for p, q in pairs])

    assert gradcheck(kls, (loc, a, w))


# ------------------------------------------------------------------ MixtureSameFamily


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def test_mixture_of_normals_closed_forms() -> None:
    w = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    mu = np.array([[-2.0, 0.0, 3.0], [1.0, 1.5, -1.0]])
    sd = np.array([[1.0, 0.5, 2.0], [0.3, 1.0, 2.5]])
    m = MixtureSameFamily(Categorical(_t(w * 4.0)), Normal(_t(mu), _t(sd)))
    assert m.batch_shape == (2,) and m.event_shape == () and not m.has_rsample
    assert repr(m.support) == "MixtureSameFamilyConstraint(Real())"
    x = np.array([[0.0, 1.0], [-3.0, 2.5], [10.0, -7.0]])
    dens = np.exp(-0.5 * ((x[..., None] - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
    _close(m.log_prob(_t(x)), np.log((w * dens).sum(-1)))
    _close(m.cdf(_t(x)), (w * _normal_cdf((x[..., None] - mu) / sd)).sum(-1))
    mean = (w * mu).sum(-1)
    _close(m.mean, mean)
    _close(m.variance, (w * (sd**2 + mu**2)).sum(-1) - mean**2)
    _close(m.stddev, np.sqrt((w * (sd**2 + mu**2)).sum(-1) - mean**2))
    assert m.mixture_distribution.probs.shape == (2, 3)
    assert isinstance(m.component_distribution, Normal)


def test_mixture_sampling_matches_its_cdf() -> None:
    rtorch.manual_seed(2)
    w, mu, sd = np.array([0.2, 0.3, 0.5]), np.array([-2.0, 0.0, 3.0]), np.array([1.0, 0.5, 2.0])
    m = MixtureSameFamily(Categorical(_t(w)), Normal(_t(mu), _t(sd)))
    n_draws = 20000
    s = _np(m.sample((n_draws,)))
    assert s.shape == (n_draws,)
    # Kolmogorov-Smirnov distance against the mixture's cdf: 1.95 / sqrt(N) is the 0.1% level.
    s.sort()
    cdf = (w * _normal_cdf((s[:, None] - mu) / sd)).sum(-1)
    ecdf_hi = np.arange(1, n_draws + 1) / n_draws
    ks = max(np.max(ecdf_hi - cdf), np.max(cdf - (ecdf_hi - 1 / n_draws)))
    assert ks < 1.95 / math.sqrt(n_draws)
    var = (w * (sd**2 + mu**2)).sum() - (w * mu).sum() ** 2
    assert abs(s.mean() - (w * mu).sum()) < 5 * math.sqrt(var / n_draws)


def test_mixture_of_multivariate_normals() -> None:
    rng = np.random.default_rng(30)
    k, n = 3, 2
    logits = rng.standard_normal((4, k))
    locs = rng.standard_normal((4, k, n))
    covs = _spd(rng, k, n)  # shared by the batch: broadcasts
    comp = MultivariateNormal(_t(locs), _t(covs))
    m = MixtureSameFamily(Categorical(logits=_t(logits)), comp)
    assert m.batch_shape == (4,) and m.event_shape == (n,)
    w = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    x = rng.standard_normal((5, 4, n))
    comp_lp = _np_mvn_log_prob(x[:, :, None, :], locs, covs)  # (5, 4, k)
    _close(m.log_prob(_t(x)), np.log((w * np.exp(comp_lp)).sum(-1)))
    mean = (w[..., None] * locs).sum(-2)
    _close(m.mean, mean)
    diag = np.diagonal(covs, axis1=-2, axis2=-1)
    _close(m.variance, (w[..., None] * (diag + locs**2)).sum(-2) - mean**2)
    rtorch.manual_seed(3)
    s = m.sample((20000,))
    assert s.shape == (20000, 4, n)
    var = _np(m.variance)
    assert np.all(np.abs(_np(s).mean(0) - mean) < 5 * np.sqrt(var / 20000))
    # A mixture of diagonal Gaussians through Independent, unbatched mixture weights.
    mix = MixtureSameFamily(
        Categorical(_t(np.ones(k))), Independent(Normal(_t(locs), _t(np.ones((4, k, n)))), 1)
    )
    assert mix.batch_shape == (4,) and mix.event_shape == (n,)
    assert mix.sample((3,)).shape == (3, 4, n)
    diag_lp = (-0.5 * (x[:, :, None, :] - locs) ** 2 - 0.5 * LOG_2PI).sum(-1)
    _close(mix.log_prob(_t(x)), np.log(np.exp(diag_lp).mean(-1)))


def test_mixture_gradients() -> None:
    rng = np.random.default_rng(31)
    logits = _t(rng.standard_normal((2, 3))).requires_grad_()
    mu = _t(rng.standard_normal((2, 3))).requires_grad_()
    x = _t(rng.standard_normal((4, 2)))

    def fn(logits, mu):
        m = MixtureSameFamily(Categorical(logits=logits), Normal(mu, rtorch.ones(2, 3, dtype=F64)))
        return rtorch.cat([m.log_prob(x).flatten(), m.cdf(x).flatten(), m.mean, m.variance])

    assert gradcheck(fn, (logits, mu))


def test_mixture_errors() -> None:
    n3 = Normal(_t(np.zeros(3)), _t(np.ones(3)))
    with pytest.raises(ValueError, match="The Mixture distribution needs to be an  instance"):
        MixtureSameFamily(n3, n3)
    with pytest.raises(ValueError, match="The Component distribution needs to be an instance"):
        MixtureSameFamily(Categorical(_t(np.ones(3))), 5)
    with pytest.raises(ValueError, match="is not compatible with"):
        MixtureSameFamily(Categorical(_t(np.ones((2, 3)))), Normal(_t(np.zeros((4, 3))), 1.0))
    with pytest.raises(ValueError, match=r"`mixture_distribution component` \(4\) does not equal"):
        MixtureSameFamily(Categorical(_t(np.ones(4))), n3)
    m = MixtureSameFamily(Categorical(_t(np.ones(3))), n3)
    with pytest.raises(NotImplementedError):
        m.rsample()
    with pytest.raises(ValueError, match="to be within the support"):
        m.log_prob(_t(math.nan))
    with pytest.raises(NotImplementedError):
        m.entropy()


# -------------------------------------------------------------------------- Wishart


def _np_mvlgamma(a: float, p: int) -> float:
    return p * (p - 1) / 4 * math.log(math.pi) + sum(math.lgamma(a - j / 2) for j in range(p))


def _digamma(x: float, h: float = 1e-5) -> float:
    """psi(x) by a central difference of math.lgamma (float64: about 1e-10 accurate)."""
    return (math.lgamma(x + h) - math.lgamma(x - h)) / (2 * h)


def _np_wishart_log_prob(x: np.ndarray, df: float, cov: np.ndarray) -> float:
    p = cov.shape[-1]
    return (
        (df - p - 1) / 2 * np.linalg.slogdet(x)[1]
        - np.trace(np.linalg.solve(cov, x)) / 2
        - df * p / 2 * math.log(2)
        - df / 2 * np.linalg.slogdet(cov)[1]
        - _np_mvlgamma(df / 2, p)
    )


def _np_wishart_entropy(df: float, cov: np.ndarray) -> float:
    # -E[log p(X)] with E[log|X|] = psi_p(df/2) + p log 2 + log|S| and E[tr(S^-1 X)] = df p.
    p = cov.shape[-1]
    mvdigamma = sum(_digamma(df / 2 - j / 2) for j in range(p))
    e_logdet = mvdigamma + p * math.log(2) + np.linalg.slogdet(cov)[1]
    return -(
        (df - p - 1) / 2 * e_logdet
        - df * p / 2
        - df * p / 2 * math.log(2)
        - df / 2 * np.linalg.slogdet(cov)[1]
        - _np_mvlgamma(df / 2, p)
    )


def _wishart_three_ways(df, cov: np.ndarray) -> list:
    from rtorch.distributions import Wishart

    return [
        Wishart(df, covariance_matrix=_t(cov)),
        Wishart(df, precision_matrix=_t(np.linalg.inv(cov))),
        Wishart(df, scale_tril=_t(np.linalg.cholesky(cov))),
    ]


def test_wishart_closed_forms_in_each_parameterisation() -> None:
    from rtorch.distributions import Wishart

    rng = np.random.default_rng(50)
    p = 3
    cov = _spd(rng, 2, 1, p)
    df = np.array([3.5, 5.0, 7.25])
    b = rng.standard_normal((4, 2, 3, p, p))
    x = b @ np.swapaxes(b, -1, -2) + np.eye(p)
    for w in _wishart_three_ways(_t(df), cov):
        assert w.batch_shape == (2, 3) and w.event_shape == (p, p) and w.has_rsample
        full = np.broadcast_to(cov, (2, 3, p, p))
        expected = np.array(
            [
                [[_np_wishart_log_prob(x[s, i, j], df[j], full[i, j]) for j in range(3)]
                 for i in range(2)]
                for s in range(4)
            ]
        )  # fmt: skip
        _close(w.log_prob(_t(x)), expected)
        entropy = [[_np_wishart_entropy(df[j], full[i, j]) for j in range(3)] for i in range(2)]
        _close(w.entropy(), entropy, rtol=1e-8)
        _close(w.mean, df[:, None, None] * full)
        diag = np.diagonal(full, axis1=-2, axis2=-1)
        _close(w.variance, df[:, None, None] * (full**2 + diag[..., :, None] * diag[..., None, :]))
        # The mode (df - p - 1) S exists for df > p + 1 only (NaN otherwise, as PyTorch).
        mode = _np(w.mode)
        assert np.all(np.isnan(mode[:, 0]))
        for j in (1, 2):
            np.testing.assert_allclose(mode[:, j], (df[j] - p - 1) * full[:, j], rtol=1e-12)
        assert np.all(np.isnan(_np(Wishart(_t([3.0, 4.0]), _t(cov[0, 0])).mode)))
        _close(w.covariance_matrix, full)
        _close(w.precision_matrix, np.linalg.inv(full))
        _close(w.scale_tril, np.linalg.cholesky(full))
        # The exponential-family entropy (Bregman divergence of the log normaliser) agrees.
        from rtorch.distributions.exp_family import ExponentialFamily

        _close(ExponentialFamily.entropy(w), entropy, rtol=1e-8)


def test_wishart_scalar_df_float32_and_expand() -> None:
    from rtorch.distributions import Wishart

    rng = np.random.default_rng(51)
    cov = _spd(rng, 2)
    w = Wishart(4, _t(cov, rtorch.float32))
    assert w.df.dtype == rtorch.float32 and w.df.shape == () and w.batch_shape == ()
    x = cov + np.eye(2)
    lp = w.log_prob(_t(x, rtorch.float32))
    assert lp.dtype == rtorch.float32
    assert lp.item() == pytest.approx(_np_wishart_log_prob(x, 4.0, cov), rel=1e-5)
    e = Wishart(_t(4.5), _t(cov)).expand((3, 2))
    assert type(e) is Wishart and e.batch_shape == (3, 2) and e.df.shape == (3, 2)
    _close(e.log_prob(_t(x)), np.full((3, 2), _np_wishart_log_prob(x, 4.5, cov)))
    assert e.sample((4,)).shape == (4, 3, 2, 2, 2)
    assert repr(e.arg_constraints["df"]) == "GreaterThan(lower_bound=1)"


def test_wishart_sample_moments() -> None:

    rtorch.manual_seed(4)
    cov = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 1.5]])
    df, n_draws = 5.5, 20000
    for w in _wishart_three_ways(_t(df), cov):
        s = _np(w.sample((n_draws,)))
        assert s.shape == (n_draws, 3, 3)
        assert np.all(np.linalg.eigvalsh(s) > 0) and np.array_equal(s, np.swapaxes(s, -1, -2))
        var = df * (cov**2 + np.outer(np.diag(cov), np.diag(cov)))
        assert np.all(np.abs(s.mean(0) - df * cov) < 5 * np.sqrt(var / n_draws))
        # The sample variance's standard error from the sample's own fourth moment.
        centred = s - s.mean(0)
        m4 = (centred**4).mean(0)
        se_var = np.sqrt((m4 - var**2) / n_draws)
        assert np.all(np.abs(s.var(0) - var) < 5 * se_var)
    # The entropy is -E[log p(X)]: a Monte Carlo estimate within 5 standard errors.
    lp = _np(w.log_prob(_t(s)))
    assert abs(-lp.mean() - w.entropy().item()) < 5 * lp.std() / math.sqrt(n_draws)


def test_wishart_gradients() -> None:
    from rtorch.distributions import Wishart

    rng = np.random.default_rng(52)
    df = _t([4.5, 6.0]).requires_grad_()
    a = _t(rng.standard_normal((3, 3))).requires_grad_()
    x = _t(np.eye(3) * 2 + 0.1)

    def tril(a):
        return a.tril(-1) + a.diagonal().exp().diag_embed()

    def densities(df, a):
        w = Wishart(df, scale_tril=tril(a))
        return rtorch.cat([w.log_prob(x), w.entropy(), w.mean.flatten(), w.variance.flatten()])

    def through_covariance(df, a):
        return Wishart(df, a @ a.mT + rtorch.eye(3, dtype=F64)).log_prob(x)

    assert gradcheck(densities, (df, a))
    assert gradcheck(through_covariance, (df, a))

    def draws(a):
        rtorch.manual_seed(5)
        return Wishart(df.detach(), scale_tril=tril(a)).rsample((3,))

    assert gradcheck(draws, (a,))
    # The pathwise gradient in df (implicit, through the chi-squared draws) is unbiased for
    # d E[X] / d df = S: per-draw gradients of X_ii averaged, within 5 standard errors.
    rtorch.manual_seed(6)
    n_draws = 4000
    cov = np.array([[1.0, 0.3], [0.3, 2.0]])
    dfs = rtorch.full((n_draws,), 3.5, dtype=F64).requires_grad_()
    draws = Wishart(dfs, _t(cov)).rsample()
    for i in range(2):
        (g,) = rtorch.autograd.grad(draws[:, i, i].sum(), dfs, retain_graph=True)
        g = _np(g)
        assert abs(g.mean() - cov[i, i]) < 5 * g.std() / math.sqrt(n_draws)


def test_wishart_errors_and_singular_draws() -> None:
    from rtorch.distributions import Wishart

    eye = _t(np.eye(3))
    with pytest.raises(AssertionError, match="Exactly one of covariance_matrix"):
        Wishart(5.0)
    with pytest.raises(AssertionError, match="Exactly one of covariance_matrix"):
        Wishart(5.0, eye, scale_tril=eye)
    for name in ("covariance_matrix", "precision_matrix", "scale_tril"):
        with pytest.raises(ValueError, match="must be at least two-dimensional"):
            Wishart(5.0, **{name: _t([1.0, 1.0])})
    for validate in (True, False):
        with pytest.raises(
            ValueError, match=r"Value of df=1.5 expected to be greater than ndim - 1 = 2."
        ):
            Wishart(1.5, eye, validate_args=validate)
    with pytest.raises(ValueError, match=r"Value of df=tensor\(\[5., 1.\]"):
        Wishart(rtorch.tensor([5.0, 1.0]), eye)
    with pytest.raises(ValueError, match="PositiveDefinite"):
        Wishart(5.0, _t([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="LowerCholesky"):
        Wishart(5.0, scale_tril=_t([[1.0, 1.0], [0.0, 1.0]]))
    w = Wishart(5.0, eye)
    with pytest.raises(ValueError, match="to be within the support"):
        w.log_prob(_t(np.ones((3, 3))))
    with pytest.raises(ValueError, match="The right-most size of value must match event_shape"):
        w.log_prob(_t(np.eye(2)))
    with pytest.warns(UserWarning, match="Low df values detected"):
        low = Wishart(2.0001, eye)
    # Near df = p - 1 about half the Bartlett draws are singular in floating point; the
    # correction redraws them (with a warning) and leaves few.
    for tries in (0, 10):
        rtorch.manual_seed(0)
        with pytest.warns(UserWarning, match="Singular sample detected."):
            s = low.rsample((2000,), max_try_correction=tries)
        singular = int((~low.support.check(s)).sum().item())
        assert singular > 500 if tries == 0 else singular < 50


# --------------------------------------------------------------------- LKJCholesky


def _np_lkj_log_prob(l: np.ndarray, eta: float) -> float:
    """log density of a Cholesky factor ``l`` w.r.t. its rows' sub-diagonal entries.

    Row k (1-based, k >= 2) holds k - 1 free entries x in the unit ball with L_kk =
    sqrt(1 - |x|^2); the unnormalised density is prod_k L_kk^(d - k + 2 eta - 2), and each
    row's integral over its ball is pi^((k-1)/2) Gamma(e/2 + 1) / Gamma(e/2 + 1 + (k-1)/2)
    for its exponent e."""
    d = l.shape[-1]
    total = 0.0
    for k in range(2, d + 1):
        e = d - k + 2 * eta - 2
        total += e * math.log(l[k - 1, k - 1])
        total -= (k - 1) / 2 * math.log(math.pi) + math.lgamma(e / 2 + 1)
        total += math.lgamma(e / 2 + 1 + (k - 1) / 2)
    return total


def _random_corr_cholesky(rng: np.random.Generator, d: int, *batch: int) -> np.ndarray:
    a = rng.standard_normal((*batch, d, d))
    c = a @ np.swapaxes(a, -1, -2) + np.eye(d)
    s = np.sqrt(np.diagonal(c, axis1=-2, axis2=-1))
    return np.linalg.cholesky(c / s[..., :, None] / s[..., None, :])


def test_lkj_log_prob_closed_form() -> None:
    from rtorch.distributions import LKJCholesky

    rng = np.random.default_rng(60)
    etas = [0.5, 1.0, 2.5]
    for d in (2, 3, 5):
        m = LKJCholesky(d, _t(etas))
        assert m.batch_shape == (3,) and m.event_shape == (d, d)
        l = _random_corr_cholesky(rng, d, 4, 3)
        expected = [[_np_lkj_log_prob(l[i, j], etas[j]) for j in range(3)] for i in range(4)]
        _close(m.log_prob(_t(l)), expected)
    # d = 2: L_21 = r is the correlation, with density (1 - r^2)^(eta - 1) / (2^(2 eta - 1) B(eta, eta)).
    r, eta = 0.3, 2.5
    l = np.array([[1.0, 0.0], [r, math.sqrt(1 - r * r)]])
    log_beta = 2 * math.lgamma(eta) - math.lgamma(2 * eta)
    expected = (eta - 1) * math.log(1 - r * r) - (2 * eta - 1) * math.log(2) - log_beta
    assert LKJCholesky(2, _t(eta)).log_prob(_t(l)).item() == pytest.approx(expected, rel=1e-12)
    # float32 with a scalar concentration (the default dtype).
    m32 = LKJCholesky(3)
    assert m32.concentration.dtype == rtorch.float32 and m32.batch_shape == ()
    l = _random_corr_cholesky(rng, 3)
    lp = m32.log_prob(_t(l, rtorch.float32))
    assert lp.dtype == rtorch.float32
    assert lp.item() == pytest.approx(_np_lkj_log_prob(l, 1.0), rel=1e-5)


def test_lkj_samples_are_correlation_factors() -> None:
    from rtorch.distributions import LKJCholesky

    rtorch.manual_seed(7)
    n_draws = 20000
    for d, eta in ((2, 1.0), (4, 0.5), (5, 3.0)):
        m = LKJCholesky(d, _t(eta))
        s = m.sample((n_draws,))
        assert s.shape == (n_draws, d, d) and s.dtype == F64 and not s.requires_grad
        assert bool(constraints.corr_cholesky.check(s).all())
        l = _np(s)
        assert np.all(np.triu(l, 1) == 0) and np.all(np.diagonal(l, axis1=-2, axis2=-1) > 0)
        np.testing.assert_allclose(np.linalg.norm(l, axis=-1), 1.0, rtol=1e-12)
        corr = l @ np.swapaxes(l, -1, -2)
        # Each off-diagonal correlation is Beta(a, a) on (-1, 1) with a = eta - 1 + d/2:
        # E r = 0, E r^2 = 1 / (2a + 1), E r^4 = 3 / ((2a + 1)(2a + 3)).
        a = eta - 1 + d / 2
        m2, m4 = 1 / (2 * a + 1), 3 / ((2 * a + 1) * (2 * a + 3))
        for i in range(1, d):
            for j in range(i):
                r = corr[:, i, j]
                assert abs(r.mean()) < 5 * math.sqrt(m2 / n_draws)
                assert abs((r**2).mean() - m2) < 5 * math.sqrt((m4 - m2 * m2) / n_draws)
    batched = LKJCholesky(3, _t([0.5, 2.0])).sample((2, 4))
    assert batched.shape == (2, 4, 2, 3, 3)
    assert LKJCholesky(3, 2.0).sample().dtype == rtorch.float32


def test_lkj_expand_gradient_and_errors() -> None:
    from rtorch.distributions import LKJCholesky

    rng = np.random.default_rng(61)
    l = _random_corr_cholesky(rng, 4, 2)
    e = LKJCholesky(4, _t(1.5)).expand((3, 2))
    assert type(e) is LKJCholesky and e.batch_shape == (3, 2)
    _close(e.log_prob(_t(l)), np.full((3, 2), [_np_lkj_log_prob(li, 1.5) for li in l]))
    assert e.sample((5,)).shape == (5, 3, 2, 4, 4)
    eta = _t([0.7, 2.0]).requires_grad_()
    assert gradcheck(lambda eta: LKJCholesky(4, eta).log_prob(_t(l)), (eta,))
    with pytest.raises(
        ValueError, match="Expected dim to be an integer greater than or equal to 2. Found dim=1."
    ):
        LKJCholesky(1)
    with pytest.raises(ValueError, match="GreaterThan"):
        LKJCholesky(3, -1.0)
    with pytest.raises(TypeError):
        LKJCholesky(2.5)
    m = LKJCholesky(2)
    with pytest.raises(ValueError, match="CorrCholesky"):
        m.log_prob(_t([[1.0, 0.0], [0.5, 0.5]]))  # row of norm < 1
    with pytest.raises(ValueError, match="CorrCholesky"):
        m.log_prob(_t([[1.0, 0.1], [0.0, 1.0]]))  # not lower triangular
    assert not LKJCholesky.has_rsample
    with pytest.raises(NotImplementedError):
        m.rsample()


# ------------------------------------------------------------------ PyTorch parity


def _both(torch, program) -> None:
    """Runs ``program(module)`` under rtorch and PyTorch; every returned tensor must agree
    (float64, within 1e-12 relative) and every other value must be equal."""
    ours, theirs = program(rtorch), program(torch)
    assert ours.keys() == theirs.keys()
    for key in ours:
        a, b = ours[key], theirs[key]
        if isinstance(a, rtorch.Tensor):
            assert tuple(a.shape) == tuple(b.shape), key
            assert str(a.dtype) == str(b.dtype), key
            np.testing.assert_allclose(
                _np(a.detach()),
                np.array(b.detach().tolist()).reshape(tuple(b.shape)),
                rtol=1e-12,
                atol=1e-13,
                err_msg=key,
            )
        else:
            assert a == b, key


def _tensors(mod, rng_seed: int):
    rng = np.random.default_rng(rng_seed)
    return rng, lambda x: mod.tensor(np.asarray(x).tolist(), dtype=mod.float64)


def test_parity_multivariate_normal(torch_ref) -> None:
    def program(mod):
        rng, T = _tensors(mod, 40)
        loc, cov, x = (
            rng.standard_normal((2, 1, 3)),
            _spd(rng, 4, 3),
            rng.standard_normal((5, 2, 4, 3)),
        )
        out = {}
        D = mod.distributions
        for kind, kwargs in {
            "cov": {"covariance_matrix": T(cov)},
            "prec": {"precision_matrix": T(np.linalg.inv(cov))},
            "tril": {"scale_tril": T(np.linalg.cholesky(cov))},
        }.items():
            loc_t = T(loc).requires_grad_()
            m = D.MultivariateNormal(loc_t, **kwargs)
            lp = m.log_prob(T(x))
            (grad,) = mod.autograd.grad(lp.sum(), loc_t)
            e = m.expand((3, 2, 4))
            out.update(
                {
                    f"{kind} log_prob": lp,
                    f"{kind} grad": grad,
                    f"{kind} entropy": m.entropy(),
                    f"{kind} mean": m.mean,
                    f"{kind} mode": m.mode,
                    f"{kind} variance": m.variance,
                    f"{kind} stddev": m.stddev,
                    f"{kind} cov": m.covariance_matrix,
                    f"{kind} prec": m.precision_matrix,
                    f"{kind} tril": m.scale_tril,
                    f"{kind} shapes": (tuple(m.batch_shape), tuple(m.event_shape)),
                    f"{kind} repr": repr(m),
                    f"{kind} sample": tuple(m.sample((2,)).shape),
                    f"{kind} expand": e.log_prob(T(x[0])),
                    f"{kind} expand shape": tuple(e.batch_shape),
                    f"{kind} support": repr(m.support),
                }
            )
        return out

    _both(torch_ref, program)


def test_parity_lowrank_multivariate_normal(torch_ref) -> None:
    def program(mod):
        rng, T = _tensors(mod, 41)
        loc, w, d = _lowrank_params(rng, batch_w=(3, 1), batch_d=(2,), n=4, rank=2)
        x = rng.standard_normal((5, 3, 2, 4))
        w_t = T(w).requires_grad_()
        m = mod.distributions.LowRankMultivariateNormal(T(loc), w_t, T(d))
        lp = m.log_prob(T(x))
        (grad,) = mod.autograd.grad(lp.sum(), w_t)
        e = m.expand((2, 3, 2))
        return {
            "log_prob": lp,
            "grad": grad,
            "entropy": m.entropy(),
            "mean": m.mean,
            "variance": m.variance,
            "cov": m.covariance_matrix,
            "prec": m.precision_matrix,
            "tril": m.scale_tril,
            "capacitance": m._capacitance_tril,
            "loc": m.loc,
            "cov_factor": m.cov_factor,
            "cov_diag": m.cov_diag,
            "repr": repr(m),
            "shapes": (tuple(m.batch_shape), tuple(m.event_shape)),
            "sample": tuple(m.rsample((2,)).shape),
            "expand": e.log_prob(T(x[0])),
            "constraints": repr(m.arg_constraints),
        }

    _both(torch_ref, program)


def test_parity_kl(torch_ref) -> None:
    def program(mod):
        rng, T = _tensors(mod, 42)
        D = mod.distributions
        n = 3
        dists = [
            D.MultivariateNormal(T(rng.standard_normal((2, 1, n))), T(_spd(rng, 3, n))),
            D.MultivariateNormal(
                T(rng.standard_normal(n)), scale_tril=T(np.linalg.cholesky(_spd(rng, 2, 1, n)))
            ),
            D.LowRankMultivariateNormal(
                *map(T, _lowrank_params(rng, batch_w=(2, 1), batch_loc=(3,), n=n))
            ),
            # Diagonal batch shape within the factor's: PyTorch computes these as well.
            D.LowRankMultivariateNormal(
                *map(T, _lowrank_params(rng, batch_w=(3,), batch_d=(3,), n=n, rank=1))
            ),
        ]
        return {
            f"{i} {j}": D.kl_divergence(p, q)
            for i, p in enumerate(dists)
            for j, q in enumerate(dists)
        }

    _both(torch_ref, program)


def test_parity_mixture(torch_ref) -> None:
    def program(mod):
        rng, T = _tensors(mod, 43)
        D = mod.distributions
        logits = T(rng.standard_normal((2, 3))).requires_grad_()
        m = D.MixtureSameFamily(
            D.Categorical(logits=logits),
            D.Normal(T(rng.standard_normal((2, 3))), T(rng.random((2, 3)) + 0.5)),
        )
        x = T(rng.standard_normal((4, 2)))
        lp = m.log_prob(x)
        (grad,) = mod.autograd.grad(lp.sum(), logits)
        mv = D.MixtureSameFamily(
            D.Categorical(T(rng.random(3))),
            D.MultivariateNormal(T(rng.standard_normal((4, 3, 2))), T(_spd(rng, 3, 2))),
        )
        xv = T(rng.standard_normal((5, 4, 2)))
        return {
            "log_prob": lp,
            "grad": grad,
            "cdf": m.cdf(x),
            "mean": m.mean,
            "variance": m.variance,
            "repr": repr(m),
            "support": repr(m.support),
            "shapes": (tuple(m.batch_shape), tuple(m.event_shape)),
            "sample": tuple(m.sample((3,)).shape),
            "mv log_prob": mv.log_prob(xv),
            "mv mean": mv.mean,
            "mv variance": mv.variance,
            "mv shapes": (tuple(mv.batch_shape), tuple(mv.event_shape)),
            # (mv.sample fails in PyTorch: its gather index lacks the batch dimension that
            # only the components have; ours is tested in test_mixture_of_multivariate_normals.)
        }

    _both(torch_ref, program)


def _error_of(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001  (the class and message are what is compared)
        # PyTorch's LinAlgError is torch._C._LinAlgError; ours is rtorch.linalg.LinAlgError.
        return type(e).__name__.lstrip("_"), str(e).split("\n")[0]
    return None


def test_parity_errors(torch_ref) -> None:
    def program(mod):
        D = mod.distributions
        z = lambda *s: mod.zeros(s, dtype=mod.float64)
        eye = mod.eye(2, dtype=mod.float64)
        bad = mod.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=mod.float64)
        cases = {
            "loc 0-d": lambda: D.MultivariateNormal(z(), eye),
            "none": lambda: D.MultivariateNormal(z(2)),
            "two": lambda: D.MultivariateNormal(z(2), eye, scale_tril=eye),
            "cov 1-d": lambda: D.MultivariateNormal(z(2), z(2)),
            "prec 1-d": lambda: D.MultivariateNormal(z(2), precision_matrix=z(2)),
            "tril 1-d": lambda: D.MultivariateNormal(z(2), scale_tril=z(2)),
            "not pd": lambda: D.MultivariateNormal(z(2), bad),
            "not pd unvalidated": lambda: D.MultivariateNormal(z(2), bad, validate_args=False),
            "not lower": lambda: D.MultivariateNormal(z(2), scale_tril=bad.abs()),
            "event": lambda: D.MultivariateNormal(z(3, 2), eye).log_prob(z(3)),
            "value batch": lambda: D.MultivariateNormal(z(3, 2), eye).log_prob(z(4, 2)),
            "lr loc": lambda: D.LowRankMultivariateNormal(z(), z(2, 1), z(2) + 1),
            "lr factor": lambda: D.LowRankMultivariateNormal(z(2), z(2), z(2) + 1),
            "lr factor rows": lambda: D.LowRankMultivariateNormal(z(2), z(3, 1), z(2) + 1),
            "lr diag": lambda: D.LowRankMultivariateNormal(z(2), z(2, 1), z(3) + 1),
            "lr batch": lambda: D.LowRankMultivariateNormal(z(3, 2), z(4, 2, 1), z(2) + 1),
            "lr zero diag": lambda: D.LowRankMultivariateNormal(z(2), z(2, 1), z(2)),
            "mix type": lambda: D.MixtureSameFamily(D.Normal(z(3), 1.0), D.Normal(z(3), 1.0)),
            "mix comp": lambda: D.MixtureSameFamily(D.Categorical(z(3) + 1), 5),
            "mix batch": lambda: D.MixtureSameFamily(
                D.Categorical(z(2, 3) + 1), D.Normal(z(4, 3), 1.0)
            ),
            "mix k": lambda: D.MixtureSameFamily(D.Categorical(z(4) + 1), D.Normal(z(3), 1.0)),
        }
        out = {key: _error_of(fn) for key, fn in cases.items()}
        # broadcast_shapes' message prints the shapes as given (a tuple here, a torch.Size
        # in PyTorch): the class and the sentence before them are compared.
        batch_error = _error_of(lambda: D.MultivariateNormal(z(3, 2), eye.expand(4, 2, 2)))
        out["batch"] = (batch_error[0], batch_error[1].split("!")[0])
        return out

    _both(torch_ref, program)


def test_parity_wishart(torch_ref) -> None:
    import warnings

    def program(mod):
        rng, T = _tensors(mod, 44)
        D = mod.distributions
        cov = _spd(rng, 2, 1, 3)
        b = rng.standard_normal((4, 2, 3, 3, 3))
        x = T(b @ np.swapaxes(b, -1, -2) + np.eye(3))
        out = {}
        for kind, kwargs in {
            "cov": {"covariance_matrix": T(cov)},
            "prec": {"precision_matrix": T(np.linalg.inv(cov))},
            "tril": {"scale_tril": T(np.linalg.cholesky(cov))},
        }.items():
            df = T([2.5, 4.0, 6.5]).requires_grad_()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                w = D.Wishart(df, **kwargs)
            lp = w.log_prob(x)
            (grad,) = mod.autograd.grad(lp.sum(), df)
            e = w.expand((5, 2, 3))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # df = 2.5 < p: singular draws are redrawn
                sample_shape = tuple(w.rsample((2,)).shape)
            out.update(
                {
                    f"{kind} warnings": [str(c.message) for c in caught],
                    f"{kind} log_prob": lp,
                    f"{kind} grad": grad,
                    f"{kind} entropy": w.entropy(),
                    f"{kind} exp family entropy": D.ExponentialFamily.entropy(w),
                    f"{kind} mean": w.mean,
                    f"{kind} mode": w.mode,
                    f"{kind} variance": w.variance,
                    f"{kind} cov": w.covariance_matrix,
                    f"{kind} prec": w.precision_matrix,
                    f"{kind} tril": w.scale_tril,
                    f"{kind} natural 0": w._natural_params[0],
                    f"{kind} natural 1": w._natural_params[1],
                    f"{kind} log normalizer": w._log_normalizer(*w._natural_params),
                    f"{kind} shapes": (tuple(w.batch_shape), tuple(w.event_shape)),
                    f"{kind} repr": repr(w),
                    f"{kind} constraints": repr(w.arg_constraints),
                    f"{kind} support": repr(w.support),
                    f"{kind} expand": e.log_prob(x[0]),
                    f"{kind} sample": sample_shape,
                }
            )
        scalar = D.Wishart(4, T(cov[0, 0]))
        out.update(
            {
                "scalar df": scalar.df,
                "scalar repr": repr(scalar),
                "scalar entropy": scalar.entropy(),
            }
        )
        return out

    _both(torch_ref, program)


def test_parity_lkj_cholesky(torch_ref) -> None:
    def program(mod):
        rng, T = _tensors(mod, 45)
        D = mod.distributions
        out = {}
        for d in (2, 3, 6):
            eta = T([0.5, 1.0, 3.0]).requires_grad_()
            m = D.LKJCholesky(d, eta)
            lp = m.log_prob(T(_random_corr_cholesky(rng, d, 4, 3)))
            (grad,) = mod.autograd.grad(lp.sum(), eta)
            out.update(
                {
                    f"{d} log_prob": lp,
                    f"{d} grad": grad,
                    f"{d} shapes": (tuple(m.batch_shape), tuple(m.event_shape)),
                    f"{d} sample": tuple(m.sample((2,)).shape),
                    f"{d} repr": repr(m),
                    f"{d} expand": m.expand((2, 3)).log_prob(T(_random_corr_cholesky(rng, d))),
                }
            )
        m = D.LKJCholesky(4, 1.5)
        out.update(
            {
                "float32": m.log_prob(T(_random_corr_cholesky(rng, 4)).float()),
                "support": repr(m.support),
                "constraints": repr(m.arg_constraints),
                "dtype": str(m.sample().dtype),
            }
        )
        return out

    _both(torch_ref, program)


def test_parity_wishart_lkj_errors(torch_ref) -> None:
    def program(mod):
        D = mod.distributions
        eye = mod.eye(3, dtype=mod.float64)
        cases = {
            "none": lambda: D.Wishart(5.0),
            "two": lambda: D.Wishart(5.0, eye, scale_tril=eye),
            "1-d": lambda: D.Wishart(5.0, precision_matrix=mod.ones(3)),
            "df": lambda: D.Wishart(1.5, eye),
            "df unvalidated": lambda: D.Wishart(1.5, eye, validate_args=False),
            "df tensor": lambda: D.Wishart(mod.tensor([5.0, 1.0]), eye),
            "not pd": lambda: D.Wishart(5.0, eye - 2),
            "value": lambda: D.Wishart(5.0, eye).log_prob(mod.ones(3, 3, dtype=mod.float64)),
            "lkj dim": lambda: D.LKJCholesky(1),
            "lkj eta": lambda: D.LKJCholesky(3, -1.0),
            "lkj value": lambda: D.LKJCholesky(2).log_prob(mod.tensor([[1.0, 0.0], [0.5, 0.5]])),
            "lkj rsample": lambda: D.LKJCholesky(2).rsample(),
            "lkj mean": lambda: D.LKJCholesky(2).mean,
            "lkj float dim": lambda: D.LKJCholesky(2.5),
            "lkj low float dim": lambda: D.LKJCholesky(1.5),
            "int matrix": lambda: D.Wishart(5, mod.eye(3, dtype=mod.int64), validate_args=False),
            "int mvn": lambda: D.MultivariateNormal(
                mod.zeros(2, dtype=mod.int64), mod.eye(2, dtype=mod.int64)
            ),
            "int lowrank": lambda: D.LowRankMultivariateNormal(
                mod.zeros(2, dtype=mod.int64),
                mod.ones(2, 1, dtype=mod.int64),
                mod.ones(2, dtype=mod.int64),
            ),
        }
        return {key: _error_of(fn) for key, fn in cases.items()}

    _both(torch_ref, program)
