"""Tests of rtorch.distributions.constraints, .transforms and .constraint_registry.

References: numpy closed forms of each map, log|det J| of central-difference Jacobians in
float64 (numpy's slogdet), hand-made constraint cases, and PyTorch (torch_ref) for parity.
"""

from __future__ import annotations

import gc
import math

import numpy as np
import pytest
from conftest import to_np

import rtorch
from rtorch.distributions import constraints as C
from rtorch.distributions import transforms as T
from rtorch.distributions.constraint_registry import biject_to, transform_to

F64 = rtorch.float64


def _t(a, dtype=F64):
    return rtorch.tensor(np.asarray(a, dtype=np.float64).tolist(), dtype=dtype)


def _rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------
# constraints


CONSTRAINT_TABLE = [
    # (constraint, event_dim, is_discrete, repr)
    (C.boolean, 0, True, "Boolean()"),
    (C.real, 0, False, "Real()"),
    (C.positive, 0, False, "GreaterThan(lower_bound=0.0)"),
    (C.nonnegative, 0, False, "GreaterThanEq(lower_bound=0.0)"),
    (C.greater_than(2), 0, False, "GreaterThan(lower_bound=2)"),
    (C.greater_than_eq(2.5), 0, False, "GreaterThanEq(lower_bound=2.5)"),
    (C.less_than(1.0), 0, False, "LessThan(upper_bound=1.0)"),
    (C.interval(0, 3), 0, False, "Interval(lower_bound=0, upper_bound=3)"),
    (C.half_open_interval(0, 3), 0, False, "HalfOpenInterval(lower_bound=0, upper_bound=3)"),
    (C.unit_interval, 0, False, "Interval(lower_bound=0.0, upper_bound=1.0)"),
    (C.integer_interval(0, 3), 0, True, "IntegerInterval(lower_bound=0, upper_bound=3)"),
    (C.nonnegative_integer, 0, True, "IntegerGreaterThan(lower_bound=0)"),
    (C.positive_integer, 0, True, "IntegerGreaterThan(lower_bound=1)"),
    (C.real_vector, 1, False, "IndependentConstraint(Real(), 1)"),
    (C.simplex, 1, False, "Simplex()"),
    (C.one_hot, 1, True, "OneHot()"),
    (C.multinomial(4), 1, True, "Multinomial()"),
    (C.lower_triangular, 2, False, "LowerTriangular()"),
    (C.lower_cholesky, 2, False, "LowerCholesky()"),
    (C.corr_cholesky, 2, False, "CorrCholesky()"),
    (C.square, 2, False, "Square()"),
    (C.symmetric, 2, False, "Symmetric()"),
    (C.positive_semidefinite, 2, False, "PositiveSemidefinite()"),
    (C.positive_definite, 2, False, "PositiveDefinite()"),
    (C.independent(C.simplex, 2), 3, False, "IndependentConstraint(Simplex(), 2)"),
    (C.independent(C.boolean, 1), 1, True, "IndependentConstraint(Boolean(), 1)"),
    (C.cat([C.real, C.simplex]), 1, False, "Cat()"),
    (C.stack([C.real, C.boolean]), 0, True, "Stack()"),
    (
        C.MixtureSameFamilyConstraint(C.positive),
        0,
        False,
        "MixtureSameFamilyConstraint(GreaterThan(lower_bound=0.0))",
    ),
]


@pytest.mark.parametrize("c,event_dim,is_discrete,rep", CONSTRAINT_TABLE)
def test_constraint_attributes(c, event_dim, is_discrete, rep):
    assert c.event_dim == event_dim
    assert c.is_discrete is is_discrete
    assert repr(c) == rep


def test_elementwise_constraint_checks():
    v = _t([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, math.inf, math.nan])
    cases = {
        C.boolean: [0, 1, 0, 1, 0, 0, 0, 0],
        C.real: [1, 1, 1, 1, 1, 1, 1, 0],
        C.positive: [0, 0, 1, 1, 1, 1, 1, 0],
        C.nonnegative: [0, 1, 1, 1, 1, 1, 1, 0],
        C.less_than(1.0): [1, 1, 1, 0, 0, 0, 0, 0],
        C.greater_than_eq(1.0): [0, 0, 0, 1, 1, 1, 1, 0],
        C.interval(0.0, 2.0): [0, 1, 1, 1, 1, 0, 0, 0],
        C.half_open_interval(0.0, 2.0): [0, 1, 1, 1, 0, 0, 0, 0],
        C.integer_interval(0, 2): [0, 1, 0, 1, 1, 0, 0, 0],
        C.nonnegative_integer: [0, 1, 0, 1, 1, 1, 0, 0],
        C.positive_integer: [0, 0, 0, 1, 1, 1, 0, 0],
    }
    for c, expected in cases.items():
        got = c.check(v)
        assert got.dtype == rtorch.bool
        assert got.tolist() == [bool(e) for e in expected], repr(c)
    # Integer inputs work as well.
    assert C.positive_integer.check(rtorch.tensor([0, 1, 5])).tolist() == [False, True, True]
    # Tensor-valued bounds broadcast.
    lb = _t([0.0, 1.0, 2.0])
    assert C.greater_than(lb).check(_t([0.5, 0.5, 2.5])).tolist() == [True, False, True]


def test_vector_constraint_checks():
    s = _t([[0.2, 0.8], [0.5, 0.6], [-0.1, 1.1], [1.0, 0.0]])
    assert C.simplex.check(s).tolist() == [True, False, False, True]
    oh = _t([[0.0, 1.0], [1.0, 1.0], [0.5, 0.5], [0.0, 0.0]])
    assert C.one_hot.check(oh).tolist() == [True, False, False, False]
    m = _t([[1.0, 2.0], [3.0, 2.0], [-1.0, 1.0]])
    assert C.multinomial(4).check(m).tolist() == [True, False, False]
    rv = _t([[0.0, math.nan], [1.0, 2.0]])
    assert C.real_vector.check(rv).tolist() == [False, True]
    # The event dimensions are reduced, the batch ones kept.
    assert tuple(C.independent(C.positive, 2).check(rtorch.ones(2, 3, 4)).shape) == (2,)
    with pytest.raises(ValueError, match="Expected value.dim\\(\\) >= 2"):
        C.independent(C.real, 2).check(_t([1.0]))


def test_matrix_constraint_checks():
    a = np.array([[2.0, 0.0, 0.0], [0.5, 1.0, 0.0], [0.3, -0.2, 0.7]])
    spd = a @ a.T
    corr_l = a / np.linalg.norm(a, axis=-1, keepdims=True)
    neg_diag = a.copy()
    neg_diag[1, 1] = -1.0
    full = a + np.triu(np.ones((3, 3)), 1)
    psd = np.diag([1.0, 0.0, 2.0])  # semidefinite, exactly singular
    mats = _t(np.stack([a, spd, corr_l, neg_diag, full, psd]))
    assert C.lower_triangular.check(mats).tolist() == [True, False, True, True, False, True]
    assert C.lower_cholesky.check(mats).tolist() == [True, False, True, False, False, False]
    assert C.corr_cholesky.check(mats).tolist() == [False, False, True, False, False, False]
    assert C.symmetric.check(mats).tolist() == [False, True, False, False, False, True]
    assert C.square.check(mats).tolist() == [True] * 6
    assert C.square.check(rtorch.zeros(2, 3, 4)).tolist() == [False, False]
    # A batch with a non-symmetric matrix gets the symmetric check alone (as PyTorch): the
    # singular matrix passes it here, and fails only in an all-symmetric batch below.
    assert C.positive_definite.check(mats).tolist() == [False, True, False, False, False, True]
    sym = _t(np.stack([spd, psd, -spd]))
    assert C.positive_definite.check(sym).tolist() == [True, False, False]
    assert C.positive_semidefinite.check(sym).tolist() == [True, True, False]


def test_cat_stack_and_mixture_constraints():
    v = _t([[1.0, -1.0, 0.5, 2.0], [-1.0, 3.0, 0.1, 0.9]])
    c = C.cat([C.positive, C.real, C.unit_interval], dim=1, lengths=[1, 1, 2])
    assert c.check(v).tolist() == [[True, True, True, False], [False, True, True, True]]
    s = C.stack([C.positive, C.boolean], dim=0)
    assert s.check(_t([[1.0, -1.0], [1.0, 0.5]])).tolist() == [[True, False], [True, False]]
    mix = C.MixtureSameFamilyConstraint(C.positive)
    assert mix.check(_t([1.0, -1.0])).tolist() == [True, False]


def test_dependent_constraints():
    assert C.is_dependent(C.dependent)
    assert not C.is_dependent(C.real)
    assert repr(C.dependent) == "Dependent()"
    with pytest.raises(ValueError, match="Cannot determine validity"):
        C.dependent.check(_t(1.0))
    with pytest.raises(NotImplementedError):
        _ = C.dependent.event_dim
    d = C.dependent(is_discrete=True, event_dim=1)
    assert d.is_discrete and d.event_dim == 1

    class Holder:
        @C.dependent_property(is_discrete=False, event_dim=0)
        def support(self):
            return C.greater_than(3.0)

    assert C.is_dependent(Holder.support)
    assert Holder().support.check(_t([2.0, 4.0])).tolist() == [False, True]
    with pytest.raises(NotImplementedError):
        C.Constraint().check(_t(1.0))


def test_constraints_match_pytorch(torch_ref):
    torch = torch_ref
    rng = _rng(1)
    vals = rng.choice([-1.0, 0.0, 0.5, 1.0, 2.0], size=(4, 3, 3))
    vals[0, 0, 0] = np.nan
    a = rng.standard_normal((4, 3, 3))
    mats = np.concatenate([vals, a, a @ np.swapaxes(a, -1, -2) + np.eye(3)])
    names = [
        ("boolean", ()),
        ("real", ()),
        ("positive", ()),
        ("nonnegative", ()),
        ("greater_than", (0.5,)),
        ("greater_than_eq", (0.5,)),
        ("less_than", (0.5,)),
        ("interval", (0.0, 1.0)),
        ("half_open_interval", (0.0, 1.0)),
        ("integer_interval", (0, 1)),
        ("nonnegative_integer", ()),
        ("positive_integer", ()),
        ("real_vector", ()),
        ("simplex", ()),
        ("one_hot", ()),
        ("multinomial", (3,)),
        ("lower_triangular", ()),
        ("lower_cholesky", ()),
        ("corr_cholesky", ()),
        ("square", ()),
        ("symmetric", ()),
        ("positive_semidefinite", ()),
        ("positive_definite", ()),
    ]
    for name, args in names:
        ours, theirs = getattr(C, name), getattr(torch.distributions.constraints, name)
        if args:
            ours, theirs = ours(*args), theirs(*args)
        got = ours.check(_t(mats)).tolist()
        want = theirs.check(torch.tensor(mats)).tolist()
        assert got == want, name
        assert repr(ours) == repr(theirs)
        assert (ours.event_dim, ours.is_discrete) == (theirs.event_dim, theirs.is_discrete)


# ---------------------------------------------------------------------------------------
# reference machinery


def _apply(t, x_np, inverse=False):
    x = _t(x_np)
    y = t.inv(x) if inverse else t(x)
    return to_np(y)


def fd_logdet(fn, x, event_dim, select=lambda y: y, h=1e-6):
    """log|det J| of ``x -> select(fn(x))`` per event, from central differences (float64)."""
    x = np.asarray(x, dtype=np.float64)
    batch_shape = x.shape[: x.ndim - event_dim]
    ev_shape = x.shape[x.ndim - event_dim :]
    n = int(np.prod(ev_shape, dtype=int))
    out = np.empty(batch_shape)
    for b in np.ndindex(*batch_shape):
        cols = []
        for k in range(n):
            xp, xm = x.copy(), x.copy()
            ep = xp[b].reshape(-1).copy()
            em = xm[b].reshape(-1).copy()
            ep[k] += h
            em[k] -= h
            xp[b] = ep.reshape(ev_shape)
            xm[b] = em.reshape(ev_shape)
            yp = np.asarray(select(fn(xp)))[b].reshape(-1)
            ym = np.asarray(select(fn(xm)))[b].reshape(-1)
            cols.append((yp - ym) / (2 * h))
        jac = np.stack(cols, axis=-1)
        assert jac.shape == (n, n)
        out[b] = np.linalg.slogdet(jac)[1]
    return out


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_stick_breaking(x):
    k1 = x.shape[-1]
    offset = np.log(k1 - np.arange(k1))
    z = np_sigmoid(x - offset)
    y = np.empty(x.shape[:-1] + (k1 + 1,))
    rest = np.ones(x.shape[:-1])
    for i in range(k1):
        y[..., i] = z[..., i] * rest
        rest = rest * (1 - z[..., i])
    y[..., k1] = rest
    return y


def np_corr_cholesky(x):
    n = x.shape[-1]
    d = round((0.25 + 2 * n) ** 0.5 + 0.5)
    r = np.tanh(x)
    out = np.zeros(x.shape[:-1] + (d, d))
    rows, cols = np.tril_indices(d, -1)
    for idx in np.ndindex(*x.shape[:-1]):
        m = np.zeros((d, d))
        m[rows, cols] = r[idx]
        y = np.zeros((d, d))
        for i in range(d):
            left = 1.0
            for j in range(i):
                y[i, j] = m[i, j] * np.sqrt(left)
                left -= y[i, j] ** 2
            y[i, i] = np.sqrt(left)
        out[idx] = y
    return out


# (name, transform factory, numpy forward, input maker, event_dim of the input,
#  selector of the output coordinates the log-det refers to)
_EXP = np.array([0.5, 1.5, 2.0, 3.0])
CASES = [
    ("exp", lambda: T.ExpTransform(), np.exp, lambda r: r.standard_normal((3, 4)), 0, None),
    (
        "power",
        lambda: T.PowerTransform(_t(_EXP)),
        lambda x: x**_EXP,
        lambda r: np.exp(r.standard_normal((3, 4))),
        0,
        None,
    ),
    (
        "power_scalar",
        lambda: T.PowerTransform(-1.0),
        lambda x: 1 / x,
        lambda r: np.exp(r.standard_normal((3, 4))),
        0,
        None,
    ),
    (
        "sigmoid",
        lambda: T.SigmoidTransform(),
        np_sigmoid,
        lambda r: 3 * r.standard_normal((3, 4)),
        0,
        None,
    ),
    ("tanh", lambda: T.TanhTransform(), np.tanh, lambda r: r.standard_normal((3, 4)), 0, None),
    (
        "softplus",
        lambda: T.SoftplusTransform(),
        lambda x: np.log1p(np.exp(x)),
        lambda r: 2 * r.standard_normal((3, 4)),
        0,
        None,
    ),
    (
        "affine_scalar",
        lambda: T.AffineTransform(1.5, -2.0),
        lambda x: 1.5 - 2.0 * x,
        lambda r: r.standard_normal((3, 4)),
        0,
        None,
    ),
    (
        "affine_tensor",
        lambda: T.AffineTransform(_t([1.0, 2.0, 3.0, 4.0]), _t([0.5, -3.0, 2.0, 1.0])),
        lambda x: np.array([1.0, 2.0, 3.0, 4.0]) + np.array([0.5, -3.0, 2.0, 1.0]) * x,
        lambda r: r.standard_normal((3, 4)),
        0,
        None,
    ),
    (
        "affine_event",
        lambda: T.AffineTransform(0.0, _t([0.5, -3.0, 2.0, 1.0]), event_dim=1),
        lambda x: np.array([0.5, -3.0, 2.0, 1.0]) * x,
        lambda r: r.standard_normal((3, 4)),
        1,
        None,
    ),
    (
        "stick_breaking",
        lambda: T.StickBreakingTransform(),
        np_stick_breaking,
        lambda r: 2 * r.standard_normal((3, 4)),
        1,
        lambda y: y[..., :-1],
    ),
    (
        "corr_cholesky",
        lambda: T.CorrCholeskyTransform(),
        np_corr_cholesky,
        lambda r: r.standard_normal((2, 6)),
        1,
        lambda y: y[..., np.tril_indices(4, -1)[0], np.tril_indices(4, -1)[1]],
    ),
    (
        "reshape",
        lambda: T.ReshapeTransform((4,), (2, 2)),
        lambda x: x.reshape(x.shape[:-1] + (2, 2)),
        lambda r: r.standard_normal((3, 4)),
        1,
        None,
    ),
    (
        "independent_exp",
        lambda: T.IndependentTransform(T.ExpTransform(), 1),
        np.exp,
        lambda r: r.standard_normal((3, 4)),
        1,
        None,
    ),
    (
        "compose",
        lambda: T.ComposeTransform([T.AffineTransform(0.5, 2.0), T.ExpTransform()]),
        lambda x: np.exp(0.5 + 2.0 * x),
        lambda r: r.standard_normal((3, 4)),
        0,
        None,
    ),
    (
        "compose_vector",
        lambda: T.ComposeTransform([T.ExpTransform(), T.StickBreakingTransform()]),
        lambda x: np_stick_breaking(np.exp(x)),
        # Moderate inputs: exp then stick-breaking leaves little of the stick for large ones,
        # and the inverse of a nearly used-up stick loses digits (in PyTorch as well).
        lambda r: 0.5 * r.standard_normal((3, 4)),
        1,
        lambda y: y[..., :-1],
    ),
    (
        "cat",
        lambda: T.CatTransform([T.ExpTransform(), T.SigmoidTransform()], dim=1, lengths=[1, 3]),
        lambda x: np.concatenate([np.exp(x[:, :1]), np_sigmoid(x[:, 1:])], axis=1),
        lambda r: r.standard_normal((3, 4)),
        0,
        None,
    ),
    (
        "stack",
        lambda: T.StackTransform([T.ExpTransform(), T.TanhTransform()], dim=0),
        lambda x: np.stack([np.exp(x[0]), np.tanh(x[1])]),
        lambda r: r.standard_normal((2, 4)),
        0,
        None,
    ),
    (
        "inverse_sigmoid",
        lambda: T.SigmoidTransform().inv,
        lambda y: np.log(y) - np.log1p(-y),
        lambda r: r.uniform(0.05, 0.95, (3, 4)),
        0,
        None,
    ),
    (
        "cdf_normal",
        lambda: T.CumulativeDistributionTransform(rtorch.distributions.Normal(_t(0.5), _t(2.0))),
        lambda x: 0.5 * (1 + np.vectorize(math.erf)((x - 0.5) / (2.0 * math.sqrt(2)))),
        lambda r: r.standard_normal((3, 4)),
        0,
        None,
    ),
]
CASE_IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_forward_matches_numpy(case):
    _, make, np_fwd, make_x, _, _ = case
    x = make_x(_rng(2))
    np.testing.assert_allclose(_apply(make(), x), np_fwd(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_round_trip(case):
    _, make, _, make_x, _, _ = case
    t = make()
    x = make_x(_rng(3))
    y = t(_t(x))
    np.testing.assert_allclose(to_np(t.inv(y)), x, rtol=1e-9, atol=1e-10)
    assert t.bijective


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_log_abs_det_jacobian_finite_differences(case):
    _, make, _, make_x, event_dim, select = case
    t = make()
    x = make_x(_rng(4))
    xt = _t(x)
    got = to_np(t.log_abs_det_jacobian(xt, t(xt)))
    want = fd_logdet(lambda a: _apply(t, a), x, event_dim, select or (lambda y: y))
    if event_dim == 0 and got.shape != want.shape:
        pytest.fail(f"shape {got.shape} != {want.shape}")
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-7)
    # The inverse's log-det is the negative, at the swapped pair.
    y = t(xt)
    np.testing.assert_allclose(
        to_np(t.inv.log_abs_det_jacobian(y, xt)), -got, rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_shapes(case):
    _, make, _, make_x, _, _ = case
    t = make()
    x = _t(make_x(_rng(5)))
    y = t(x)
    assert tuple(t.forward_shape(x.shape)) == tuple(y.shape)
    assert tuple(t.inverse_shape(y.shape)) == tuple(x.shape)
    assert tuple(t.inv.forward_shape(y.shape)) == tuple(x.shape)
    # The codomain holds every output, the domain every input.
    assert bool(t.codomain.check(y).all())
    assert bool(t.domain.check(x).all())


def test_float32_dtype_preserved():
    x = rtorch.randn(5, 4)
    for t in [
        T.ExpTransform(),
        T.SigmoidTransform(),
        T.TanhTransform(),
        T.SoftplusTransform(),
        T.StickBreakingTransform(),
        T.CorrCholeskyTransform(),
        T.AffineTransform(1.0, 2.0),
    ]:
        xi = x if not isinstance(t, T.CorrCholeskyTransform) else x[:, :3]
        y = t(xi)
        assert y.dtype == rtorch.float32
        assert t.log_abs_det_jacobian(xi, y).dtype == rtorch.float32


def test_zero_dim_and_empty_inputs():
    t = T.ExpTransform()
    y = t(_t(0.5))
    assert tuple(y.shape) == () and abs(y.item() - math.exp(0.5)) < 1e-15
    sb = T.StickBreakingTransform()
    y = sb(rtorch.zeros(0, 3, dtype=F64))
    assert tuple(y.shape) == (0, 4)
    assert tuple(sb.log_abs_det_jacobian(rtorch.zeros(0, 3, dtype=F64), y).shape) == (0,)
    assert tuple(T.ExpTransform()(rtorch.zeros(0, dtype=F64)).shape) == (0,)


def test_numerical_extremes():
    # Sigmoid stays inside [tiny, 1 - eps] so the inverse and logs are finite.
    for dtype in (rtorch.float32, F64):
        x = rtorch.tensor([-1000.0, -200.0, 0.0, 200.0, 1000.0], dtype=dtype)
        y = T.SigmoidTransform()(x)
        assert bool(((y > 0) & (y < 1)).all())
        assert bool(T.SigmoidTransform().inv(y).isfinite().all())
        ladj = T.SigmoidTransform().log_abs_det_jacobian(x, y)
        assert bool(ladj.isfinite().all())
        # log sigmoid'(x) ~ -|x| for large |x|.
        assert abs(ladj[1].item() + 200.0) < 1e-3
        # tanh's log-det through softplus: 2 (log 2 - |x| - log1p(exp(-2|x|))), finite where
        # log(1 - tanh^2) would be log 0.
        ladj = T.TanhTransform().log_abs_det_jacobian(x, T.TanhTransform()(x))
        want = 2 * (math.log(2) - 1000.0)
        assert abs(ladj[0].item() - want) < 1e-3 * abs(want)
        assert abs(ladj[4].item() - want) < 1e-3 * abs(want)
    # Stick-breaking of a very negative coordinate still lands on the simplex.
    y = T.StickBreakingTransform()(_t([[-800.0, 0.0, 800.0]]))
    assert bool(C.simplex.check(y).all())
    assert bool(T.StickBreakingTransform().inv(y).isfinite().all())


def test_non_bijective_transforms():
    x = _t(_rng(6).standard_normal((2, 3, 3)))
    lc = T.LowerCholeskyTransform()
    y = lc(x)
    want = np.tril(to_np(x), -1) + np.exp(np.diagonal(to_np(x), axis1=-2, axis2=-1))[
        ..., None
    ] * np.eye(3)
    np.testing.assert_allclose(to_np(y), want, rtol=1e-14)
    assert bool(C.lower_cholesky.check(y).all())
    np.testing.assert_allclose(to_np(lc.inv(y)), np.tril(to_np(x)), rtol=1e-12, atol=1e-14)
    pd = T.PositiveDefiniteTransform()
    s = pd(x)
    np.testing.assert_allclose(to_np(s), want @ np.swapaxes(want, -1, -2), rtol=1e-12)
    assert bool(C.positive_definite.check(s).all())
    np.testing.assert_allclose(to_np(pd.inv(s)), np.tril(to_np(x)), rtol=1e-9, atol=1e-10)
    sm = T.SoftmaxTransform()
    v = _t([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    p = sm(v)
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(to_np(p)[1], e / e.sum(), rtol=1e-14)
    assert to_np(p)[0].tolist() == [1.0, 0.0, 0.0]
    ab = T.AbsTransform()
    assert ab(_t([-2.0, 3.0])).tolist() == [2.0, 3.0]
    assert ab.inv(_t([2.0])).tolist() == [2.0]
    for t in (lc, pd, sm, ab):
        assert not t.bijective
        with pytest.raises(NotImplementedError):
            t.log_abs_det_jacobian(x, x)
    with pytest.raises(NotImplementedError):
        _ = ab.sign


# ---------------------------------------------------------------------------------------
# caching, inverses, equality, signs


def test_cache_and_inverse_identity():
    x = _t([0.1, 0.2])
    t0 = T.ExpTransform()
    assert t0(x) is not t0(x)
    t1 = T.ExpTransform(cache_size=1)
    y = t1(x)
    assert t1(x) is y
    assert t1.inv(y) is x  # the cached input, not a recomputation
    x2 = t1.inv(_t([5.0]))
    assert t1(x2).tolist() == [5.0] or abs(t1(x2).item() - 5.0) < 1e-14
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        T.ExpTransform(cache_size=2)
    # with_cache: same object when unchanged, a cached copy otherwise.
    assert t1.with_cache(1) is t1
    assert t0.with_cache(1)._cache_size == 1
    a = T.AffineTransform(1.0, 2.0).with_cache(1)
    assert isinstance(a, T.AffineTransform) and a._cache_size == 1
    c = T.ComposeTransform([T.ExpTransform(), T.AffineTransform(0.0, 2.0)], cache_size=1)
    assert all(p._cache_size == 1 for p in c.parts)
    inv_cached = T.SigmoidTransform().inv.with_cache(1)
    assert isinstance(inv_cached, T._InverseTransform) and inv_cached._cache_size == 1


def test_inverse_is_weakly_held():
    t = T.ExpTransform()
    inv = t.inv
    assert t.inv is inv
    assert inv.inv is t
    assert repr(inv) == "_InverseTransform(ExpTransform())"
    assert inv.domain is t.codomain and inv.codomain is t.domain
    del inv
    gc.collect()
    assert t._inv() is None  # the forward transform does not keep its inverse alive
    c = T.ComposeTransform([T.ExpTransform(), T.SigmoidTransform()])
    ci = c.inv
    assert isinstance(ci, T.ComposeTransform) and ci.inv is c
    assert ci.parts == [T.SigmoidTransform().inv, T.ExpTransform().inv]


def test_equality_and_hash():
    assert T.ExpTransform() == T.ExpTransform()
    assert T.ExpTransform() != T.SigmoidTransform()
    assert T.ExpTransform().inv == T.ExpTransform().inv
    assert T.AffineTransform(1.0, 2.0) == T.AffineTransform(1.0, 2.0)
    assert T.AffineTransform(1.0, 2.0) != T.AffineTransform(1.0, 3.0)
    assert T.AffineTransform(_t([1.0, 2.0]), 2.0) == T.AffineTransform(_t([1.0, 2.0]), 2.0)
    assert T.PowerTransform(2.0) == T.PowerTransform(2.0)
    assert T.PowerTransform(2.0) != T.PowerTransform(3.0)
    assert T.ComposeTransform([T.ExpTransform()]) == T.ComposeTransform([T.ExpTransform()])
    cd = T.CorrCholeskyTransform()
    assert cd == cd.inv.inv and cd != T.CorrCholeskyTransform()  # identity, as PyTorch
    with pytest.raises(TypeError):
        hash(T.ExpTransform())


def test_signs_and_event_dims():
    assert T.ExpTransform().sign == 1
    assert T.AffineTransform(0.0, -2.0).sign == -1
    assert T.AffineTransform(0.0, _t([-2.0, 0.0, 3.0])).sign.tolist() == [-1.0, 0.0, 1.0]
    assert T.PowerTransform(_t(-1.0)).sign.item() == -1.0
    c = T.ComposeTransform([T.ExpTransform(), T.AffineTransform(0.0, -1.0)])
    assert c.sign == -1
    assert T.ExpTransform().inv.sign == 1
    assert T.StickBreakingTransform().event_dim == 1
    assert T.AffineTransform(0.0, 1.0, event_dim=2).event_dim == 2
    with pytest.raises(ValueError, match="Please use either"):
        _ = T.CorrCholeskyTransform().event_dim
    comp = T.ComposeTransform([T.ExpTransform(), T.StickBreakingTransform()])
    assert comp.domain.event_dim == 1 and comp.codomain.event_dim == 1
    comp = T.ComposeTransform([T.StickBreakingTransform(), T.ExpTransform()])
    assert repr(comp.codomain) == "IndependentConstraint(GreaterThan(lower_bound=0.0), 1)"
    assert repr(T.identity_transform.domain) == "Real()"
    assert T.identity_transform(_t([1.5])).tolist() == [1.5]
    assert T.identity_transform.log_abs_det_jacobian(_t([1.5]), _t([1.5])).tolist() == [0.0]


def test_shape_errors():
    with pytest.raises(ValueError, match="different numbers of elements"):
        T.ReshapeTransform((2, 3), (5,))
    r = T.ReshapeTransform((2, 3), (6,))
    with pytest.raises(ValueError, match="Too few dimensions"):
        r.forward_shape((3,))
    with pytest.raises(ValueError, match="Shape mismatch"):
        r.forward_shape((4, 3, 2))
    with pytest.raises(ValueError, match="Too few dimensions"):
        T.StickBreakingTransform().forward_shape(())
    with pytest.raises(ValueError, match="Too few dimensions"):
        T.SoftmaxTransform().inverse_shape(())
    with pytest.raises(ValueError, match="flattend lower-diagonal"):
        T.CorrCholeskyTransform().forward_shape((5,))
    with pytest.raises(ValueError, match="not square"):
        T.CorrCholeskyTransform().inverse_shape((3, 4))
    with pytest.raises(ValueError, match="Too few dimensions"):
        T.IndependentTransform(T.ExpTransform(), 2)(_t([1.0]))
    assert tuple(T.AffineTransform(_t([1.0, 2.0]), 1.0).forward_shape((3, 1))) == (3, 2)
    assert tuple(T.CorrCholeskyTransform().forward_shape((5, 3))) == (5, 3, 3)


def test_transforms_gradcheck():
    x = _t(_rng(7).standard_normal((2, 3))).requires_grad_()
    for t in [
        T.SigmoidTransform(),
        T.TanhTransform(),
        T.SoftplusTransform(),
        T.StickBreakingTransform(),
        T.CorrCholeskyTransform(),
        T.PowerTransform(2.5),
    ]:
        inp = x.exp() if isinstance(t, T.PowerTransform) else x

        def fwd(a, t=t):
            return t(a)

        def ladj(a, t=t):
            return t.log_abs_det_jacobian(a, t(a))

        base = inp.detach().requires_grad_()
        assert rtorch.autograd.gradcheck(fwd, (base,))
        assert rtorch.autograd.gradcheck(ladj, (base,))


# ---------------------------------------------------------------------------------------
# biject_to / transform_to


REGISTRY_CASES = [
    (C.real, (4, 3)),
    (C.positive, (4, 3)),
    (C.nonnegative, (4, 3)),
    (C.greater_than(2.0), (4, 3)),
    (C.greater_than(_t([1.0, -2.0, 5.0])), (4, 3)),
    (C.greater_than_eq(-1.0), (4, 3)),
    (C.less_than(3.0), (4, 3)),
    (C.interval(-2.0, 5.0), (4, 3)),
    (C.half_open_interval(0.0, 1.0), (4, 3)),
    (C.unit_interval, (4, 3)),
    (C.simplex, (4, 5)),
    (C.corr_cholesky, (4, 3, 3)),
    (C.independent(C.positive, 1), (4, 3)),
    (C.real_vector, (4, 3)),
    (C.cat([C.positive, C.interval(0.0, 1.0)], dim=-1, lengths=[2, 3]), (4, 5)),
    (C.stack([C.positive, C.less_than(0.0)], dim=-1), (4, 2)),
]


@pytest.mark.parametrize("registry", [biject_to, transform_to], ids=["biject_to", "transform_to"])
@pytest.mark.parametrize("c,shape", REGISTRY_CASES, ids=[repr(c[0]) for c in REGISTRY_CASES])
def test_registry_maps_reals_into_support(registry, c, shape):
    t = registry(c)
    x_shape = tuple(t.inverse_shape(shape))
    x = _t(2 * _rng(8).standard_normal(x_shape))
    y = t(x)
    assert tuple(y.shape) == shape
    assert bool(c.check(y).all()), repr(c)
    if registry is biject_to:
        assert t.bijective
        np.testing.assert_allclose(to_np(t.inv(y)), to_np(x), rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("c", [C.lower_cholesky, C.positive_definite, C.positive_semidefinite])
def test_transform_to_matrices(c):
    t = transform_to(c)
    y = t(_t(_rng(9).standard_normal((4, 3, 3))))
    assert bool(c.check(y).all())
    with pytest.raises(NotImplementedError, match="Cannot transform"):
        biject_to(c)


def test_registry_choices_and_errors():
    assert isinstance(biject_to(C.simplex), T.StickBreakingTransform)
    assert isinstance(transform_to(C.simplex), T.SoftmaxTransform)
    assert isinstance(biject_to(C.unit_interval), T.SigmoidTransform)
    assert biject_to(C.real) is T.identity_transform
    # positive shares greater_than's type, so it gets exp followed by a shift of 0.
    pos = biject_to(C.positive)
    assert isinstance(pos, T.ComposeTransform) and isinstance(pos.parts[0], T.ExpTransform)
    with pytest.raises(NotImplementedError, match="Cannot transform _Boolean constraints"):
        biject_to(C.boolean)
    with pytest.raises(TypeError, match="Expected constraint"):
        biject_to.register(5, lambda c: T.ExpTransform())

    from rtorch.distributions.constraint_registry import ConstraintRegistry

    reg = ConstraintRegistry()

    @reg.register(C.positive)
    def _f(constraint):
        return T.ExpTransform()

    assert isinstance(reg(C.greater_than(3.0)), T.ExpTransform)


def test_exported_at_package_level():
    import rtorch.distributions as D

    for name in T.__all__:
        assert getattr(D, name) is getattr(T, name)
    assert D.biject_to is biject_to and D.transform_to is transform_to
    assert D.transforms is T


# ---------------------------------------------------------------------------------------
# parity with PyTorch


def _both(torch, spec):
    """The same transform built in rtorch and in PyTorch from a spec."""
    name, args, kwargs = spec

    def build(mod, tensor):
        conv = [tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        if name in ("ComposeTransform", "CatTransform", "StackTransform"):
            conv[0] = [getattr(mod, n)() for n in conv[0]]
        return getattr(mod, name)(*conv, **kwargs)

    ours = build(T, lambda a: _t(a))
    theirs = build(torch.distributions.transforms, lambda a: torch.tensor(a))
    return ours, theirs


PARITY_SPECS = [
    ("ExpTransform", (), {}, (3, 4), "real"),
    ("PowerTransform", (np.array([0.5, 2.0, -1.5, 3.0]),), {}, (3, 4), "pos"),
    ("SigmoidTransform", (), {}, (3, 4), "real"),
    ("TanhTransform", (), {}, (3, 4), "real"),
    ("SoftplusTransform", (), {}, (3, 4), "real"),
    ("AffineTransform", (np.array([1.0, 2.0, 3.0, 4.0]), -2.5), {"event_dim": 1}, (3, 4), "real"),
    ("StickBreakingTransform", (), {}, (3, 4), "real"),
    ("CorrCholeskyTransform", (), {}, (3, 6), "real"),
    ("SoftmaxTransform", (), {}, (3, 4), "real"),
    ("ReshapeTransform", ((4,), (2, 2)), {}, (3, 4), "real"),
    ("ComposeTransform", (["ExpTransform", "StickBreakingTransform"],), {}, (3, 4), "real"),
    ("CatTransform", (["ExpTransform", "TanhTransform"], 1, [1, 3]), {}, (3, 4), "real"),
    ("StackTransform", (["ExpTransform", "SigmoidTransform"], 0), {}, (2, 4), "real"),
    ("LowerCholeskyTransform", (), {}, (2, 3, 3), "real"),
    ("PositiveDefiniteTransform", (), {}, (2, 3, 3), "real"),
]


@pytest.mark.parametrize("spec", PARITY_SPECS, ids=[s[0] for s in PARITY_SPECS])
def test_transforms_match_pytorch(torch_ref, spec):
    torch = torch_ref
    name, args, kwargs, shape, kind = spec
    ours, theirs = _both(torch, (name, args, kwargs))
    x = 2 * _rng(10).standard_normal(shape)
    if kind == "pos":
        x = np.exp(x)
    y_o, y_t = ours(_t(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(to_np(y_o), y_t.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        to_np(ours.inv(y_o)), theirs.inv(y_t).numpy(), rtol=1e-10, atol=1e-12
    )
    if theirs.bijective:
        np.testing.assert_allclose(
            to_np(ours.log_abs_det_jacobian(_t(x), y_o)),
            theirs.log_abs_det_jacobian(torch.tensor(x), y_t).numpy(),
            rtol=1e-11,
            atol=1e-12,
        )
    assert repr(ours) == repr(theirs)
    assert repr(ours.domain) == repr(theirs.domain)
    assert repr(ours.codomain) == repr(theirs.codomain)
    assert ours.bijective == theirs.bijective
    assert tuple(ours.forward_shape(shape)) == tuple(theirs.forward_shape(torch.Size(shape)))
    # float32 as well, for the clamps that depend on the dtype.
    x32 = 10 * _rng(11).standard_normal(shape)
    if kind == "pos":
        x32 = np.exp(x32 / 10)
    y_o = ours(rtorch.tensor(x32.tolist(), dtype=rtorch.float32))
    y_t = theirs(torch.tensor(x32, dtype=torch.float32))
    np.testing.assert_allclose(to_np(y_o), y_t.double().numpy(), rtol=2e-6, atol=1e-6)


def test_registry_matches_pytorch(torch_ref):
    torch = torch_ref
    tc = torch.distributions.constraints
    pairs = [
        (C.positive, tc.positive),
        (C.greater_than(2.0), tc.greater_than(2.0)),
        (C.less_than(-1.0), tc.less_than(-1.0)),
        (C.interval(-2.0, 5.0), tc.interval(-2.0, 5.0)),
        (C.unit_interval, tc.unit_interval),
        (C.simplex, tc.simplex),
        (C.corr_cholesky, tc.corr_cholesky),
        (C.real_vector, tc.real_vector),
    ]
    x = 2 * _rng(12).standard_normal((4, 3))
    for ours_c, theirs_c in pairs:
        for ours_r, theirs_r in (
            (biject_to, torch.distributions.biject_to),
            (transform_to, torch.distributions.transform_to),
        ):
            o, t = ours_r(ours_c), theirs_r(theirs_c)
            assert repr(o) == repr(t)
            np.testing.assert_allclose(
                to_np(o(_t(x))), t(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-14
            )


def test_cached_tanh_log_prob_at_saturated_samples():
    # The usual squashed-Gaussian policy: tanh of a float32 normal rounds to +-1 for large
    # inputs, where atanh is infinite; the cache hands log_prob the pre-image instead.
    base = rtorch.distributions.Normal(rtorch.tensor([0.0, 0.0]), rtorch.tensor([1.0, 1.0]))
    d = rtorch.distributions.TransformedDistribution(base, [T.TanhTransform(cache_size=1)])
    x = rtorch.tensor([12.0, -0.3])
    y = d.transforms[0](x)
    assert y[0].item() == 1.0
    lp = d.log_prob(y)
    want0 = (
        -0.5 * 144.0
        - 0.5 * math.log(2 * math.pi)
        - 2 * (math.log(2) - 12.0 - math.log1p(math.exp(-24.0)))
    )
    assert abs(lp[0].item() - want0) < 1e-4 * abs(want0)
    # Without the cache the pre-image is lost.
    d0 = rtorch.distributions.TransformedDistribution(base, [T.TanhTransform()])
    assert not math.isfinite(d0.log_prob(y)[0].item())


def test_transforms_pickle():
    import pickle

    t = T.ComposeTransform([T.AffineTransform(_t([1.0, 2.0]), 3.0), T.ExpTransform()])
    _ = t.inv  # a weak reference that must not be pickled
    t2 = pickle.loads(pickle.dumps(t))
    x = _t([0.1, -0.2])
    np.testing.assert_allclose(to_np(t2(x)), to_np(t(x)), rtol=0)
    assert t2 == t
