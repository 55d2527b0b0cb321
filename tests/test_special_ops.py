"""Special functions and other composites added at top level (issue 7's missing
names). References: Python's math.lgamma, series sums in float64 numpy, closed forms
and PyTorch 2.15's printed values for the edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import with_threads

import rtorch

XS = [0.1, 0.5, 0.75, 1.0, 1.5, 2.5, 3.3, 7.0, 12.5, 40.0, -0.5, -1.5, -2.25, -7.7]


def _digamma_ref(x: float) -> float:
    # Central difference of math.lgamma with Richardson extrapolation.
    h = 1e-4
    d1 = (math.lgamma(x + h) - math.lgamma(x - h)) / (2 * h)
    d2 = (math.lgamma(x + h / 2) - math.lgamma(x - h / 2)) / h
    return (4 * d2 - d1) / 3


def _trigamma_ref(x: float) -> float:
    k = np.arange(0, 200_000, dtype=np.float64)
    s = np.sum(1.0 / (x + k) ** 2)
    n = x + 200_000
    return float(s + 1 / n + 1 / (2 * n * n))


def test_lgamma_matches_math() -> None:
    x = rtorch.tensor(XS, dtype=rtorch.float64)
    got = rtorch.lgamma(x).tolist()
    for v, g in zip(XS, got):
        assert g == pytest.approx(math.lgamma(v), rel=1e-12, abs=1e-12), v
    assert rtorch.lgamma(rtorch.tensor([0.0, -1.0, -2.0])).tolist() == [math.inf] * 3
    assert rtorch.lgamma(rtorch.tensor([1, 2])).dtype == rtorch.float32
    assert x.lgamma().tolist() == got


def test_digamma_matches_lgamma_derivative() -> None:
    x = rtorch.tensor(XS, dtype=rtorch.float64)
    got = rtorch.digamma(x).tolist()
    for v, g in zip(XS, got):
        assert g == pytest.approx(_digamma_ref(v), rel=1e-7, abs=1e-7), v
    assert rtorch.digamma(rtorch.tensor(1.0, dtype=rtorch.float64)).item() == pytest.approx(
        -0.5772156649015329, abs=1e-14
    )
    edge = rtorch.digamma(rtorch.tensor([0.0, -1.0, -2.0])).tolist()
    assert edge[0] == -math.inf and math.isnan(edge[1]) and math.isnan(edge[2])


def test_polygamma() -> None:
    for v in [0.5, 1.0, 2.5, 7.0]:
        x = rtorch.tensor([v], dtype=rtorch.float64)
        assert rtorch.polygamma(1, x).item() == pytest.approx(_trigamma_ref(v), rel=1e-9)
        assert rtorch.polygamma(0, x).item() == pytest.approx(_digamma_ref(v), rel=1e-7)
    # Closed forms: ψ'(1) = π²/6, ψ''(1) = -2 ζ(3). (rel 1e-9: PyTorch 2.15 itself is
    # 5e-10 off at ψ'(1); ours is within 1e-15.)
    one = rtorch.tensor([1.0], dtype=rtorch.float64)
    assert rtorch.polygamma(1, one).item() == pytest.approx(math.pi**2 / 6, rel=1e-9)
    assert rtorch.polygamma(2, one).item() == pytest.approx(-2 * 1.2020569031595942, rel=1e-12)
    assert one.polygamma(3).item() == pytest.approx(math.pi**4 / 15, rel=1e-12)
    # Below zero the recurrence still holds: ψ'(x) = ψ'(x + 1) + 1/x².
    neg = rtorch.tensor([-1.5], dtype=rtorch.float64)
    assert rtorch.polygamma(1, neg).item() == pytest.approx(
        _trigamma_ref(0.5) + 1 / 0.25 + 1 / 2.25, rel=1e-9
    )


def test_special_gradients() -> None:
    x = rtorch.tensor([0.7, 1.9, 4.2, -0.3], dtype=rtorch.float64, requires_grad=True)
    rtorch.lgamma(x).sum().backward()
    assert x.grad.tolist() == pytest.approx(
        [_digamma_ref(v) for v in [0.7, 1.9, 4.2, -0.3]], rel=1e-7
    )
    x.grad = None
    rtorch.digamma(x[:3]).sum().backward()
    assert x.grad[:3].tolist() == pytest.approx(
        [_trigamma_ref(v) for v in [0.7, 1.9, 4.2]], rel=1e-6
    )


def test_mvlgamma() -> None:
    x = rtorch.tensor([2.5, 3.0], dtype=rtorch.float64)
    want = [math.lgamma(v) + math.lgamma(v - 0.5) + 0.5 * math.log(math.pi) for v in [2.5, 3.0]]
    assert rtorch.mvlgamma(x, 2).tolist() == pytest.approx(want, rel=1e-12)


def test_logit_xlogy_sinc() -> None:
    p = rtorch.tensor([0.0, 0.3, 1.0], dtype=rtorch.float64)
    assert rtorch.logit(p).tolist() == [-math.inf, pytest.approx(math.log(0.3 / 0.7)), math.inf]
    assert rtorch.logit(p, eps=0.1).tolist() == pytest.approx(
        [math.log(0.1 / 0.9), math.log(0.3 / 0.7), math.log(0.9 / 0.1)]
    )
    r = rtorch.xlogy(rtorch.tensor([0.0, 0.0, 1.0, 2.0]), rtorch.tensor([0.0, math.nan, 0.0, 3.0]))
    v = r.tolist()
    assert v[0] == 0.0 and math.isnan(v[1]) and v[2] == -math.inf
    assert v[3] == pytest.approx(2 * math.log(3), rel=1e-6)
    assert rtorch.xlogy(2.0, rtorch.tensor([3.0])).tolist() == pytest.approx([2 * math.log(3)])
    s = rtorch.sinc(rtorch.tensor([0.0, 0.5, 1.0], dtype=rtorch.float64)).tolist()
    assert s == pytest.approx([1.0, 2 / math.pi, 0.0], abs=1e-15)
    x = rtorch.tensor([0.2, 0.6], dtype=rtorch.float64, requires_grad=True)
    rtorch.logit(x).sum().backward()
    assert x.grad.tolist() == pytest.approx([1 / (0.2 * 0.8), 1 / (0.6 * 0.4)])


def test_logaddexp_and_friends() -> None:
    a = rtorch.tensor([1000.0, -1000.0, 0.0, -math.inf], dtype=rtorch.float64)
    b = rtorch.tensor([1000.0, -1000.0, 1.0, -math.inf], dtype=rtorch.float64)
    got = rtorch.logaddexp(a, b).tolist()
    assert got[:3] == pytest.approx([1000 + math.log(2), -1000 + math.log(2), math.log(1 + math.e)])
    assert got[3] == -math.inf
    assert rtorch.logaddexp2(rtorch.tensor([1.0]), rtorch.tensor([1.0])).tolist() == pytest.approx(
        [2.0]
    )
    x = rtorch.tensor([[0.0, 1.0, 2.0]], dtype=rtorch.float64)
    assert rtorch.logcumsumexp(x, 1).tolist()[0] == pytest.approx(
        list(np.log(np.cumsum(np.exp([0.0, 1.0, 2.0]))))
    )
    assert rtorch.deg2rad(rtorch.tensor([180.0])).tolist() == pytest.approx([math.pi])
    assert rtorch.rad2deg(rtorch.tensor([math.pi])).tolist() == pytest.approx([180.0])
    h = rtorch.heaviside(rtorch.tensor([-1.0, 0.0, 2.0]), rtorch.tensor([0.5]))
    assert h.tolist() == [0.0, 0.5, 1.0]
    assert rtorch.signbit(rtorch.tensor([-0.0, 0.0, -2.0, 3.0])).tolist() == [
        True,
        False,
        True,
        False,
    ]


def test_search_and_counting() -> None:
    b = rtorch.tensor([1, 3, 5, 7, 9])
    v = rtorch.tensor([1, 5, 9])
    assert rtorch.bucketize(v, b).tolist() == [0, 2, 4]
    assert rtorch.bucketize(v, b, right=True).tolist() == [1, 3, 5]
    seq = rtorch.tensor([[1, 3, 5, 7, 9], [2, 4, 6, 8, 10]])
    q = rtorch.tensor([[3, 6, 9], [3, 6, 9]])
    assert rtorch.searchsorted(seq, q).tolist() == [[1, 3, 4], [1, 2, 4]]
    assert rtorch.searchsorted(seq, q, side="right").tolist() == [[2, 3, 5], [1, 3, 4]]
    assert rtorch.bincount(rtorch.tensor([0, 1, 1, 3])).tolist() == [1, 2, 0, 1]
    w = rtorch.bincount(
        rtorch.tensor([0, 1, 1, 3]), weights=rtorch.tensor([0.5, 1.0, 1.0, 2.0]), minlength=6
    )
    assert w.tolist() == [0.5, 2.0, 0.0, 2.0, 0.0, 0.0]
    assert rtorch.histc(rtorch.tensor([1.0, 2, 1]), bins=4, min=0, max=3).tolist() == [
        0.0,
        2.0,
        1.0,
        0.0,
    ]


def test_shapes_and_linear_algebra() -> None:
    assert rtorch.tril_indices(3, 3).tolist() == [[0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2]]
    assert rtorch.triu_indices(3, 4, 1).tolist() == [[0, 0, 0, 1, 1, 2], [1, 2, 3, 2, 3, 3]]
    assert rtorch.diff(rtorch.tensor([1, 3, 2])).tolist() == [2, -1]
    assert rtorch.diff(rtorch.tensor([1, 3, 2, 7]), n=2).tolist() == [-3, 6]
    assert rtorch.rot90(rtorch.arange(4).view(2, 2)).tolist() == [[1, 3], [0, 2]]
    assert rtorch.rot90(rtorch.arange(4).view(2, 2), 2).tolist() == [[3, 2], [1, 0]]
    assert rtorch.rot90(rtorch.arange(4).view(2, 2), -1).tolist() == [[2, 0], [3, 1]]
    k = rtorch.kron(rtorch.tensor([[1, 2], [3, 4]]), rtorch.tensor([[0, 1], [1, 0]]))
    assert k.tolist() == np.kron([[1, 2], [3, 4]], [[0, 1], [1, 0]]).tolist()
    a = np.arange(60.0).reshape(3, 4, 5)
    b = np.arange(24.0).reshape(4, 3, 2)
    t = rtorch.tensordot(rtorch.tensor(a), rtorch.tensor(b), dims=([1, 0], [0, 1]))
    assert t.tolist() == np.tensordot(a, b, axes=([1, 0], [0, 1])).tolist()
    assert rtorch.tensordot(rtorch.ones(2, 3), rtorch.ones(3, 4), 1).tolist() == [[3.0] * 4] * 2
    c = rtorch.cdist(rtorch.tensor([[0.0, 0.0], [1.0, 1.0]]), rtorch.tensor([[3.0, 4.0]]))
    assert c.reshape(-1).tolist() == pytest.approx([5.0, math.sqrt(13)])
    data = np.array([[0.0, 1.0, 2.0], [2.0, 1.5, 0.0]])
    assert rtorch.cov(rtorch.tensor(data)).numpy() == pytest.approx(np.cov(data))
    assert rtorch.corrcoef(rtorch.tensor(data)).numpy() == pytest.approx(np.corrcoef(data))
    m = rtorch.tensor([[1.0, 1.0], [0.0, 1.0]])
    assert rtorch.matrix_power(m, 3).tolist() == [[1.0, 3.0], [0.0, 1.0]]
    assert rtorch.matrix_power(m, 0).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    bd = rtorch.block_diag(rtorch.ones(2, 2), rtorch.tensor(3.0), rtorch.tensor([4.0, 5.0]))
    assert bd.tolist() == [
        [1.0, 1.0, 0.0, 0.0, 0.0],
        [1.0, 1.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 3.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 4.0, 5.0],
    ]
    assert rtorch.cartesian_prod(rtorch.tensor([1, 2]), rtorch.tensor([3, 4])).tolist() == [
        [1, 3],
        [1, 4],
        [2, 3],
        [2, 4],
    ]
    assert rtorch.combinations(rtorch.tensor([1, 2, 3])).tolist() == [[1, 2], [1, 3], [2, 3]]
    x = rtorch.tensor([[1.0, 0.0, 0.0]])
    y = rtorch.tensor([[0.0, 1.0, 0.0]])
    assert rtorch.cross(x, y, dim=1).tolist() == [[0.0, 0.0, 1.0]]
    assert rtorch.trapezoid(rtorch.tensor([1.0, 2.0, 3.0])).item() == 4.0
    assert (
        rtorch.trapezoid(rtorch.tensor([1.0, 2.0, 3.0]), rtorch.tensor([0.0, 1.0, 3.0])).item()
        == 6.5
    )
    assert [t.shape for t in rtorch.hsplit(rtorch.zeros(2, 4), 2)] == [(2, 2), (2, 2)]
    assert rtorch.dstack([rtorch.ones(2), rtorch.zeros(2)]).shape == (1, 2, 2)
    assert rtorch.column_stack([rtorch.ones(2), rtorch.zeros(2, 2)]).shape == (2, 3)


def test_predicates_and_methods() -> None:
    assert rtorch.is_nonzero(rtorch.tensor([1.5])) is True
    with pytest.raises(RuntimeError, match="more than one value"):
        rtorch.is_nonzero(rtorch.ones(2))
    assert rtorch.is_same_size(rtorch.ones(2), rtorch.zeros(2))
    assert not rtorch.is_signed(rtorch.ones(1, dtype=rtorch.uint8))
    assert rtorch.ones(2).type_as(rtorch.zeros(1, dtype=rtorch.int32)).dtype == rtorch.int32
    x = rtorch.tensor([-2.0, 0.5, 3.0])
    assert x.clone().clamp_min_(0).tolist() == [0.0, 0.5, 3.0]
    assert rtorch.clamp_max_(x.clone(), 1).tolist() == [-2.0, 0.5, 1.0]
    assert x.clone().multiply_(2).tolist() == [-4.0, 1.0, 6.0]
    assert rtorch.ones(2, 3).sum_to_size(1, 3).tolist() == [[2.0, 2.0, 2.0]]
    assert rtorch.ones(2, 3).sum_to_size(3).tolist() == [2.0, 2.0, 2.0]
    y = rtorch.tensor([0.25, 0.5])
    y.logit_()
    assert y.tolist() == pytest.approx([math.log(1 / 3), 0.0])


def test_more_top_level_names() -> None:
    hw = rtorch.hann_window(5, dtype=rtorch.float64).tolist()
    assert hw == pytest.approx(
        [0.5 - 0.5 * math.cos(2 * math.pi * k / 5) for k in range(5)], abs=1e-12
    )
    assert rtorch.hann_window(5, periodic=False).tolist() == pytest.approx(
        [0.0, 0.5, 1.0, 0.5, 0.0], abs=1e-7
    )
    assert rtorch.hamming_window(4).tolist() == pytest.approx([0.08, 0.54, 1.0, 0.54], abs=1e-6)
    assert rtorch.blackman_window(4).tolist() == pytest.approx([0.0, 0.34, 1.0, 0.34], abs=1e-6)
    assert rtorch.bartlett_window(5).tolist() == pytest.approx([0.0, 0.4, 0.8, 0.8, 0.4], abs=1e-7)
    assert rtorch.isin(rtorch.tensor([1, 2, 3]), rtorch.tensor([2, 5])).tolist() == [
        False,
        True,
        False,
    ]
    assert rtorch.isin(rtorch.tensor([1, 2, 3]), 2, invert=True).tolist() == [True, False, True]
    r, c = rtorch.unravel_index(rtorch.tensor([4, 7]), (2, 4))
    assert r.tolist() == [1, 1] and c.tolist() == [0, 3]
    assert rtorch.gcd(rtorch.tensor([12, -18, 0]), rtorch.tensor([8, 12, 5])).tolist() == [4, 6, 5]
    assert rtorch.lcm(rtorch.tensor([4, 6, 0]), rtorch.tensor([6, 4, 3])).tolist() == [12, 12, 0]
    assert rtorch.diagflat(rtorch.tensor([1, 2]), 1).tolist() == [[0, 1, 0], [0, 0, 2], [0, 0, 0]]
    assert rtorch.vander(rtorch.tensor([1, 2, 3])).tolist() == [[1, 1, 1], [4, 2, 1], [9, 3, 1]]
    assert rtorch.vander(rtorch.tensor([1, 2, 3]), N=2, increasing=True).tolist() == [
        [1, 1],
        [1, 2],
        [1, 3],
    ]
    assert rtorch.ldexp(rtorch.tensor([1.0]), rtorch.tensor([3])).tolist() == [8.0]
    assert rtorch.select_scatter(rtorch.zeros(2, 2), rtorch.ones(2), 0, 0).tolist() == [
        [1.0, 1.0],
        [0.0, 0.0],
    ]
    s = rtorch.slice_scatter(rtorch.zeros(4, 2), rtorch.ones(2, 2), 0, 1, 3)
    assert s.tolist() == [[0.0, 0.0], [1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]
    assert rtorch.diagonal_scatter(rtorch.zeros(2, 2), rtorch.ones(2)).tolist() == [
        [1.0, 0.0],
        [0.0, 1.0],
    ]
    assert rtorch.typename(rtorch.zeros(1)) == "torch.FloatTensor"
    assert rtorch.typename(rtorch.zeros(1, dtype=rtorch.int64)) == "torch.LongTensor"
    assert rtorch.typename(3) == "int"
    assert rtorch.fill(rtorch.zeros(2), 3.0).tolist() == [3.0, 3.0]
    assert rtorch.dropout(rtorch.ones(3), 0.5, False).tolist() == [1.0, 1.0, 1.0]
    assert rtorch.threshold(rtorch.tensor([1.0, 2.0, 3.0]), 2.0, 0.0).tolist() == [0.0, 0.0, 3.0]
    x = rtorch.randn(2, 3, 4)
    w, b = rtorch.ones(3), rtorch.zeros(3)
    rm, rv = rtorch.zeros(3), rtorch.ones(3)
    y = rtorch.batch_norm(x, w, b, rm, rv, False, 0.1, 1e-5, True)
    assert y.numpy() == pytest.approx(x.numpy() / math.sqrt(1 + 1e-5), rel=1e-5)
    emb = rtorch.embedding(rtorch.arange(6.0).reshape(3, 2), rtorch.tensor([2, 0]))
    assert emb.tolist() == [[4.0, 5.0], [0.0, 1.0]]


def test_polygamma_of_a_huge_order_returns_instead_of_hanging():
    # Found by the bad-input sweep: math.factorial(2**62) never finished. Beyond 170!
    # the factorial overflows a double; PyTorch returns non-finite values there too.
    out = rtorch.polygamma(2**62, rtorch.tensor([3.0, 0.5]))
    assert not bool(rtorch.isfinite(out).any())
    assert rtorch.polygamma(171, rtorch.tensor([3.0])).shape == (1,)


def test_mvlgamma_of_a_huge_dimension_raises_instead_of_hanging():
    # Found by the bad-input sweep: an empty input passed the domain check and then
    # looped 2**62 times; the terms are now built at once, as PyTorch builds them.
    with pytest.raises(RuntimeError):
        rtorch.mvlgamma(rtorch.tensor([]), 2**62)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64, rtorch.int64, rtorch.int16])
def test_searchsorted_binary_search_matches_numpy(dtype) -> None:
    # Past the parallel threshold, 1-d and batched sequences, both sides.
    rng = np.random.default_rng(3)
    seq = np.sort(rng.integers(-500, 500, size=1000)).astype(np.float64)
    vals = rng.integers(-600, 600, size=50_000).astype(np.float64)
    s, v = rtorch.tensor(seq).to(dtype), rtorch.tensor(vals).to(dtype)
    for side in ("left", "right"):
        got = rtorch.searchsorted(s, v, side=side)
        assert got.dtype is rtorch.int64 and got.shape == (50_000,)
        np.testing.assert_array_equal(got.numpy(), np.searchsorted(seq, vals, side=side))
    rows = np.sort(rng.integers(0, 50, size=(3, 40)), axis=1).astype(np.float64)
    q = rng.integers(-5, 55, size=(3, 7)).astype(np.float64)
    got = rtorch.searchsorted(rtorch.tensor(rows).to(dtype), rtorch.tensor(q).to(dtype))
    want = np.stack([np.searchsorted(rows[i], q[i]) for i in range(3)])
    np.testing.assert_array_equal(got.numpy(), want)
    assert rtorch.searchsorted(s, v[:5], out_int32=True).dtype is rtorch.int32


def test_searchsorted_nan_and_promotion_as_pytorch() -> None:
    # PyTorch's comparisons put a NaN value, and a sorted row's trailing NaNs, above
    # every number (numpy would answer 2 for the NaN).
    seq = rtorch.tensor([1.0, 2.0, math.nan])
    q = rtorch.tensor([1.5, math.nan, math.inf])
    assert rtorch.searchsorted(seq, q).tolist() == [1, 3, 3]
    assert rtorch.searchsorted(seq, q, right=True).tolist() == [1, 3, 3]
    # An int64 sequence searched for floats compares in float.
    assert rtorch.searchsorted(rtorch.tensor([1, 3, 5]), rtorch.tensor([2.5, 3.0])).tolist() == [
        1,
        1,
    ]
    assert rtorch.searchsorted(rtorch.tensor([1, 3, 5]), 3.5).item() == 2
    assert rtorch.searchsorted(rtorch.tensor([]), rtorch.tensor([1.0])).tolist() == [0]
    with pytest.raises(RuntimeError, match="boundaries tensor should have positive dimension"):
        rtorch.searchsorted(rtorch.tensor(1.0), rtorch.tensor([1.0]))
    with pytest.raises(RuntimeError, match="first N-1 dimensions"):
        rtorch.searchsorted(rtorch.zeros(2, 3), rtorch.zeros(3, 1))


@pytest.mark.parametrize("mode", [None, "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"])
def test_cdist_euclidean_paths_against_numpy(mode) -> None:
    """More than 25 rows (or use_mm_for_euclid_dist) take one matrix product, as
    PyTorch; batch dimensions broadcast; the gradient is 0 at a zero distance."""
    rng = np.random.default_rng(11)
    a = rng.standard_normal((2, 1, 30, 5))
    b = rng.standard_normal((3, 27, 5))
    b[1, 3] = a[0, 0, 7]  # one distance exactly 0
    at = rtorch.tensor(a, requires_grad=True)
    bt = rtorch.tensor(b, requires_grad=True)
    out = rtorch.cdist(at, bt, compute_mode=mode)
    diff = a[:, :, :, None, :] - b[None, :, None, :, :]  # (2, 3, 30, 27, 5)
    want = np.sqrt((diff**2).sum(-1))
    assert tuple(out.shape) == (2, 3, 30, 27)
    # The product form cancels: |a|^2 + |b|^2 - 2 a.b loses digits to rounding.
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-7, atol=1e-7)
    g = rng.standard_normal(want.shape)
    out.backward(rtorch.tensor(g))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(want > 0, g / want, 0.0)
    ga = (ratio[..., None] * diff).sum((1, 3))[:, None]
    gb = -(ratio[..., None] * diff).sum((0, 2))
    np.testing.assert_allclose(at.grad.numpy(), ga, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(bt.grad.numpy(), gb, rtol=1e-6, atol=1e-7)
    x = rtorch.tensor(rng.standard_normal((30, 4)), requires_grad=True)
    assert rtorch.autograd.gradgradcheck(lambda t: rtorch.cdist(t, x.detach() + 0.5), (x,))


def test_cdist_rejects_an_unknown_compute_mode() -> None:
    with pytest.raises(ValueError, match="x is not a valid value for compute_mode"):
        rtorch.cdist(rtorch.ones(3, 2), rtorch.ones(3, 2), compute_mode="x")


def test_bincount_kernel_against_numpy() -> None:
    """Chunks of 65536 values counted apart and summed (200k values: four chunks, the
    parallel form); many bins next to few values (one pass); every integer dtype;
    minlength; errors for negative values and non-integer or non-1-d inputs."""
    rng = np.random.default_rng(13)
    big = rng.integers(0, 1000, 200_000)
    for dt in (rtorch.int64, rtorch.int32, rtorch.int16, rtorch.uint8):
        vals = big % 250 if dt == rtorch.uint8 else big
        got = rtorch.bincount(rtorch.tensor(vals).to(dt))
        assert got.dtype == rtorch.int64
        np.testing.assert_array_equal(got.numpy(), np.bincount(vals))
    sparse = np.array([5, 3, 100_000, 3])
    np.testing.assert_array_equal(
        rtorch.bincount(rtorch.tensor(sparse)).numpy(), np.bincount(sparse)
    )
    np.testing.assert_array_equal(
        rtorch.bincount(rtorch.tensor(big), minlength=1500).numpy(),
        np.bincount(big, minlength=1500),
    )
    assert rtorch.bincount(rtorch.tensor([], dtype=rtorch.int64), minlength=3).tolist() == [0] * 3
    assert rtorch.bincount(rtorch.tensor([], dtype=rtorch.int64)).tolist() == []

    def run():
        return rtorch.bincount(rtorch.tensor(big)).numpy().tobytes()

    assert with_threads(1, run) == with_threads(3, run)
    with pytest.raises(RuntimeError, match="non-negative integral inputs"):
        rtorch.bincount(rtorch.tensor([1, -2, 3]))
    with pytest.raises(RuntimeError, match="non-negative integral inputs"):
        rtorch.bincount(rtorch.tensor([[1, 2]]))
    with pytest.raises(RuntimeError, match="bincount_cpu"):
        rtorch.bincount(rtorch.tensor([1.0, 2.0]))


def test_gcd_lcm_refuse_floating_and_bool_as_pytorch() -> None:
    for fn, kernel in ((rtorch.gcd, "gcd_cpu"), (rtorch.lcm, "lcm_cpu")):
        for dtype, name in (
            (rtorch.float32, "Float"),
            (rtorch.float16, "Half"),
            (rtorch.bool, "Bool"),
        ):
            with pytest.raises(
                NotImplementedError, match=f"\"{kernel}\" not implemented for '{name}'"
            ):
                fn(rtorch.ones(2, dtype=dtype), rtorch.ones(2, dtype=dtype))
    assert rtorch.gcd(rtorch.tensor([4, 6]), rtorch.tensor([6, 4])).tolist() == [2, 2]
