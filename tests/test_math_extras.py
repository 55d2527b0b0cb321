"""angle, frexp, renorm, kaiser_window, gradient, cumulative_trapezoid, histogram,
index_reduce, put, asarray and split_with_sizes against numpy float64 and closed forms."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import rtorch
from rtorch.autograd import gradcheck


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_angle() -> None:
    v = np.array([-1.0, 0.0, 2.0, np.nan, -0.0, np.inf, -np.inf])
    got = rtorch.angle(rtorch.tensor(v, dtype=rtorch.float64)).numpy()
    want = np.angle(v)
    want[4] = 0.0  # PyTorch's angle(-0.0) is 0 (numpy's is pi)
    np.testing.assert_array_equal(got, want)
    assert rtorch.angle(rtorch.tensor([-1, 2])).dtype == rtorch.float32
    x = rtorch.tensor([-1.0, 2.0], requires_grad=True)
    x.angle().sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_frexp_matches_numpy(dtype) -> None:
    f = np.array([0.0, 1.0, -3.5, 1e-40, np.inf, -np.inf, np.nan, 1024.0, 0.999999, 2.0**-149])
    if dtype == np.float64:
        f = np.concatenate([f, [3e-310, -1e300, 2.0**-1074, np.nextafter(1.0, 0.0)]])
    f = f.astype(dtype)
    m, e = rtorch.frexp(rtorch.tensor(f))
    wm, we = np.frexp(f)
    np.testing.assert_array_equal(m.numpy(), wm)
    np.testing.assert_array_equal(e.numpy()[np.isfinite(f)], we[np.isfinite(f)])
    assert e.dtype == rtorch.int32 and m.dtype == rtorch.tensor(f).dtype
    r = rtorch.tensor(f).frexp()
    assert type(r).__name__ == "frexp" and r.mantissa.shape == m.shape
    with pytest.raises(RuntimeError, match=r"torch.frexp\(\) only supports floating-point dtypes"):
        rtorch.frexp(rtorch.tensor([1, 2]))


def test_renorm() -> None:
    a = _rng(1).standard_normal((4, 3, 5))
    for p, dim, maxnorm in [(2, 0, 2.0), (1, 1, 1.5), (3, 2, 0.5), (math.inf, 0, 1.0)]:
        got = rtorch.renorm(rtorch.tensor(a), p, dim, maxnorm).numpy()
        moved = np.moveaxis(a, dim, 0).reshape(a.shape[dim], -1)
        norms = np.linalg.norm(moved, ord=p, axis=1)
        scale = np.where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
        shape = [1] * 3
        shape[dim] = -1
        np.testing.assert_allclose(got, a * scale.reshape(shape), rtol=1e-12)
    x = rtorch.tensor(a, requires_grad=True)
    assert gradcheck(lambda t: rtorch.renorm(t, 2, 1, 1.0), (x,))
    y = rtorch.tensor(a)
    assert y.renorm_(2, 0, 1.0) is y and float(y[0].norm()) <= 1.0
    with pytest.raises(RuntimeError, match="renorm: input needs at least 2 dimensions, got 1"):
        rtorch.renorm(rtorch.ones(2), 2, 0, 1.0)
    with pytest.raises(RuntimeError, match="renorm: non-positive-norm not supported"):
        rtorch.renorm(rtorch.ones(2, 2), -1, 0, 1.0)


def test_kaiser_window() -> None:
    for n in (2, 5, 10, 33):
        got = rtorch.kaiser_window(n, periodic=False, beta=8.0, dtype=rtorch.float64).numpy()
        np.testing.assert_allclose(got, np.kaiser(n, 8.0), rtol=1e-12)
        per = rtorch.kaiser_window(n, dtype=rtorch.float64).numpy()
        np.testing.assert_allclose(per, np.kaiser(n + 1, 12.0)[:n], rtol=1e-12)
    assert rtorch.kaiser_window(1).tolist() == [1.0] and rtorch.kaiser_window(0).shape == (0,)
    assert rtorch.kaiser_window(4).dtype == rtorch.float32
    with pytest.raises(RuntimeError, match="kaiser_window expects floating point dtypes"):
        rtorch.kaiser_window(4, dtype=rtorch.int64)


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_matches_numpy(edge_order: int) -> None:
    g = _rng(2).standard_normal((5, 6))
    t = rtorch.tensor(g)
    for got, want in zip(rtorch.gradient(t, edge_order=edge_order),
                         np.gradient(g, edge_order=edge_order)):  # fmt: skip
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    got = rtorch.gradient(t, spacing=[2.0, 3.0], edge_order=edge_order)
    for a, b in zip(got, np.gradient(g, 2.0, 3.0, edge_order=edge_order)):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-12)
    xs = np.array([0.0, 1, 3, 4, 7, 9])
    (got,) = rtorch.gradient(t, spacing=(rtorch.tensor(xs),), dim=1, edge_order=edge_order)
    np.testing.assert_allclose(got.numpy(), np.gradient(g, xs, axis=1, edge_order=edge_order),
                               rtol=1e-12)  # fmt: skip
    assert rtorch.gradient(rtorch.tensor([1, 2, 4]))[0].tolist() == [1.0, 1.5, 2.0]
    with pytest.raises(RuntimeError, match="at least edge_order\\+1"):
        rtorch.gradient(rtorch.tensor([1.0, 2.0]), edge_order=2)
    with pytest.raises(RuntimeError, match="only supports edge_order=1 and edge_order=2"):
        rtorch.gradient(t, edge_order=3)


def test_cumulative_trapezoid() -> None:
    g = _rng(3).standard_normal((4, 6))
    t = rtorch.tensor(g)
    want = np.cumsum((g[:, 1:] + g[:, :-1]) / 2, axis=1)
    np.testing.assert_allclose(rtorch.cumulative_trapezoid(t).numpy(), want, rtol=1e-12)
    want0 = np.cumsum((g[1:] + g[:-1]) / 2 * 2.0, axis=0)
    np.testing.assert_allclose(rtorch.cumulative_trapezoid(t, dx=2.0, dim=0).numpy(), want0,
                               rtol=1e-12)  # fmt: skip
    xs = np.array([0.0, 1, 3, 4, 7, 9])
    wantx = np.cumsum((g[:, 1:] + g[:, :-1]) / 2 * np.diff(xs), axis=1)
    np.testing.assert_allclose(rtorch.cumulative_trapezoid(t, rtorch.tensor(xs)).numpy(), wantx,
                               rtol=1e-12)  # fmt: skip
    x = rtorch.tensor(g, requires_grad=True)
    assert gradcheck(lambda a: rtorch.cumulative_trapezoid(a, dim=0), (x,))


def test_histogram_matches_numpy() -> None:
    h = _rng(4).standard_normal(200)
    w = _rng(5).random(200)
    t = rtorch.tensor(h)
    for kwargs in [{"bins": 5}, {"bins": 7, "range": (-1.0, 1.0)}, {"bins": 4, "density": True}]:
        hist, edges = rtorch.histogram(t, **kwargs)
        nh, ne = np.histogram(h, **kwargs)
        np.testing.assert_allclose(hist.numpy(), nh, rtol=1e-12)
        np.testing.assert_allclose(edges.numpy(), ne, rtol=1e-12)
    edges = np.array([-2.0, -0.5, 0.0, 1.0, 3.0])
    hist, _ = rtorch.histogram(t, rtorch.tensor(edges), weight=rtorch.tensor(w), density=True)
    np.testing.assert_allclose(hist.numpy(), np.histogram(h, edges, weights=w, density=True)[0],
                               rtol=1e-12)  # fmt: skip
    r = rtorch.histogram(rtorch.tensor([1.0, 1.0]), bins=2)
    assert r.hist.tolist() == [0.0, 2.0] and r.bin_edges.tolist() == [0.5, 1.0, 1.5]
    with pytest.raises(NotImplementedError, match="\"histogramdd\" not implemented for 'Long'"):
        rtorch.histogram(rtorch.tensor([1, 2]), bins=2)
    with pytest.raises(RuntimeError, match="should have the same dtype"):
        rtorch.histogram(t, bins=rtorch.tensor([0.0, 1.0]))


def test_histogram_empty_and_errors_as_pytorch() -> None:
    # An empty input spans [0, 1] (not a unit bin around 0).
    r = rtorch.histogram(rtorch.zeros(0), bins=2)
    assert r.hist.tolist() == [0.0, 0.0] and r.bin_edges.tolist() == [0.0, 0.5, 1.0]
    with pytest.raises(RuntimeError, match=r"^torch.histogram\(\): bins must be > 0, but got 0"):
        rtorch.histogram(rtorch.ones(3), bins=0)
    with pytest.raises(RuntimeError, match="min should not exceed max, but got min 1 max 0"):
        rtorch.histogram(rtorch.ones(3), bins=2, range=(1.0, 0.0))
    with pytest.raises(RuntimeError, match=r"dimension 0's range \[1, inf\] is not finite"):
        rtorch.histogram(rtorch.tensor([math.inf, 1.0]), bins=2)
    with pytest.raises(NotImplementedError, match="not implemented for 'Half'"):
        rtorch.histogram(rtorch.ones(3).half(), bins=2)


def test_histogramdd_matches_numpy() -> None:
    rng = _rng(7)
    pts = rng.standard_normal((300, 3))
    w = rng.random(300)
    t = rtorch.tensor(pts)
    cases = [
        {"bins": 4},
        {"bins": (2, 3, 5)},
        {"bins": (3, 1, 2), "range": [-1.0, 1.0, -2.0, 0.5, 0.0, 3.0]},
        {"bins": 3, "density": True},
    ]
    for kwargs in cases:
        rng_arg = kwargs.get("range")
        np_kwargs = dict(kwargs)
        if rng_arg is not None:
            np_kwargs["range"] = [rng_arg[i : i + 2] for i in range(0, 6, 2)]
        hist, edges = rtorch.histogramdd(t, **kwargs)
        nh, ne = np.histogramdd(pts, **np_kwargs)
        np.testing.assert_allclose(hist.numpy(), nh, rtol=1e-12)
        assert len(edges) == 3
        for e, n in zip(edges, ne):
            np.testing.assert_allclose(e.numpy(), n, rtol=1e-12)
    # Explicit edges, weights, density, a (*, D) input whose batch dims flatten.
    edges = [
        np.array([-2.0, -0.5, 0.0, 1.0, 3.0]),
        np.array([-1.0, 1.0]),
        np.array([-3.0, 0.0, 3.0]),
    ]
    hist, _ = rtorch.histogramdd(
        rtorch.tensor(pts.reshape(10, 30, 3)),
        [rtorch.tensor(e) for e in edges],
        weight=rtorch.tensor(w.reshape(10, 30)),
        density=True,
    )
    want, _ = np.histogramdd(pts, edges, weights=w, density=True)
    np.testing.assert_allclose(hist.numpy(), want, rtol=1e-12)
    # Points on the last edge count in the last bin; points outside any bin are dropped.
    on_edges = rtorch.tensor([[1.0, 1.0], [0.0, 0.0], [1.5, 0.5], [0.5, -0.1]])
    r = rtorch.histogramdd(on_edges, bins=2, range=[0.0, 1.0, 0.0, 1.0])
    assert r.hist.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert isinstance(r.bin_edges, tuple)
    # float32 works in float32.
    r32 = rtorch.histogramdd(t.float(), bins=(2, 2, 2))
    assert r32.hist.dtype == rtorch.float32 and r32.hist.sum().item() == 300.0
    empty = rtorch.histogramdd(rtorch.zeros(0, 2), bins=2)
    assert empty.hist.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert empty.bin_edges[0].tolist() == [0.0, 0.5, 1.0]


def test_histogramdd_errors() -> None:
    x = rtorch.ones(4, 2)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        rtorch.histogramdd(rtorch.ones(3), bins=2)
    with pytest.raises(RuntimeError, match="size of bins must be equal to the innermost"):
        rtorch.histogramdd(x, bins=[2])
    with pytest.raises(RuntimeError, match="bins must be > 0, but got 0 for dimension 1"):
        rtorch.histogramdd(x, bins=[2, 0])
    with pytest.raises(RuntimeError, match="range should have 4 elements, but got 2"):
        rtorch.histogramdd(x, bins=2, range=[0.0, 1.0])
    with pytest.raises(RuntimeError, match="same shape as the input tensor excluding"):
        rtorch.histogramdd(x, bins=2, weight=rtorch.ones(3))
    with pytest.raises(RuntimeError, match=r"input\(float\), and weight\(double\)"):
        rtorch.histogramdd(x, bins=2, weight=rtorch.ones(4, dtype=rtorch.float64))
    with pytest.raises(RuntimeError, match="bins for dimension 1 with dtype double"):
        rtorch.histogramdd(x, bins=[rtorch.tensor([0.0, 1.0]), rtorch.tensor([0.0, 1.0]).double()])
    with pytest.raises(TypeError):
        rtorch.histogramdd(x, bins=[2, rtorch.tensor([0.0, 1.0])])
    with pytest.raises(NotImplementedError, match="not implemented for 'Int'"):
        rtorch.histogramdd(x.int(), bins=2)


def test_histogramdd_matches_torch(torch_ref) -> None:
    torch = torch_ref
    pts = _rng(8).standard_normal((50, 2))
    for kwargs in [
        {"bins": 3},
        {"bins": (2, 4), "range": [-1.0, 1.0, 0.0, 2.0]},
        {"bins": 5, "density": True},
    ]:
        mine = rtorch.histogramdd(rtorch.tensor(pts), **kwargs)
        theirs = torch.histogramdd(torch.tensor(pts), **kwargs)
        np.testing.assert_allclose(mine.hist.numpy(), theirs.hist.numpy(), rtol=1e-12)
        for a, b in zip(mine.bin_edges, theirs.bin_edges):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


def test_index_reduce() -> None:
    rng = _rng(6)
    x, src = rng.standard_normal((5, 3)), rng.standard_normal((4, 3))
    idx = [0, 4, 2, 0]
    ops = {"prod": np.prod, "mean": np.mean, "amax": np.max, "amin": np.min}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for red, fn in ops.items():
            for include_self in (True, False):
                got = rtorch.tensor(x).index_reduce(0, rtorch.tensor(idx), rtorch.tensor(src), red,
                                                    include_self=include_self)  # fmt: skip
                want = x.copy()
                for row in set(idx):
                    vals = [src[k] for k, i in enumerate(idx) if i == row]
                    if include_self:
                        vals.append(x[row])
                    want[row] = fn(np.stack(vals), axis=0)
                np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
        a = rtorch.tensor(x, requires_grad=True)
        b = rtorch.tensor(src, requires_grad=True)
        assert gradcheck(lambda p, q: p.index_reduce(0, rtorch.tensor(idx), q, "mean"), (a, b))
        y = rtorch.ones(3, 2)
        y.index_reduce_(1, rtorch.tensor([1, 1]), rtorch.full((3, 2), 3.0), "prod")
        assert y.tolist() == [[1.0, 9.0]] * 3
        with pytest.raises(RuntimeError, match="Expected reduce to be one of prod, mean, amax"):
            rtorch.ones(3).index_reduce(0, rtorch.tensor([0]), rtorch.tensor([2.0]), "sum")
    with pytest.warns(UserWarning, match="index_reduce\\(\\) is in beta"):
        rtorch.ones(3).index_reduce(0, rtorch.tensor([0]), rtorch.tensor([2.0]), "amax")


def test_put() -> None:
    a = np.array([[1, 2], [3, 4]])
    got = rtorch.tensor(a).put(rtorch.tensor([1, -1]), rtorch.tensor([9, 8]))
    want = a.copy()
    np.put(want, [1, -1], [9, 8])
    assert got.tolist() == want.tolist()
    z = rtorch.zeros(2, 2)
    assert z.put_(rtorch.tensor([1, 1]), rtorch.tensor([1.0, 2.0]), accumulate=True) is z
    assert z.tolist() == [[0.0, 3.0], [0.0, 0.0]]
    with pytest.raises(IndexError, match="tried to access index 5 on a tensor of 4 elements"):
        rtorch.tensor(a).put(rtorch.tensor([5]), rtorch.tensor([9]))


def test_asarray_and_splits() -> None:
    arr = np.array([1.0, 2.0])
    t = rtorch.asarray(arr)
    arr[0] = 7.0
    assert t.tolist() == [7.0, 2.0]  # shares memory
    assert rtorch.asarray(arr, copy=True).tolist() == [7.0, 2.0]
    base = rtorch.tensor([1.0])
    assert rtorch.asarray(base) is base
    assert rtorch.asarray(base, dtype=rtorch.float64).dtype == rtorch.float64
    assert rtorch.asarray([1, 2]).dtype == rtorch.int64
    assert rtorch.asarray([1.0], requires_grad=True).requires_grad
    parts = rtorch.split_with_sizes(rtorch.arange(5), [2, 3])
    assert [p.tolist() for p in parts] == [[0, 1], [2, 3, 4]]
    assert [p.tolist() for p in rtorch.arange(5).unsafe_split(2)] == [[0, 1], [2, 3], [4]]
    with pytest.raises(RuntimeError, match="split_with_sizes expects split_sizes to sum exactly"):
        rtorch.split_with_sizes(rtorch.arange(5), [2, 2])


def test_parity_with_torch() -> None:
    torch = pytest.importorskip("torch")
    f = np.array([0.0, -3.5, 1e-40, 1024.0, 3e-310])
    a, b = rtorch.frexp(rtorch.tensor(f)), torch.frexp(torch.tensor(f))
    np.testing.assert_array_equal(a.mantissa.numpy(), b.mantissa.numpy())
    np.testing.assert_array_equal(a.exponent.numpy(), b.exponent.numpy())
    g = _rng(7).standard_normal((5, 6))
    xs = np.array([0.0, 1, 3, 4, 7, 9], dtype=np.float32)
    (mine,) = rtorch.gradient(rtorch.tensor(g), spacing=(rtorch.tensor(xs),), dim=1)
    (theirs,) = torch.gradient(torch.tensor(g), spacing=(torch.tensor(xs),), dim=1)
    np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        rtorch.kaiser_window(7).numpy(), torch.kaiser_window(7).numpy(), rtol=1e-6
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nextafter_matches_numpy(dtype) -> None:
    fi = np.finfo(dtype)
    rng = _rng(9)
    x = np.concatenate([
        rng.standard_normal(200) * 10.0 ** rng.integers(-30, 30, 200),
        [1.0, 1.0, 0.0, 0.0, -1.0, 2.0, 2.0, 0.5, fi.max, np.inf, np.inf, -np.inf, 3.0,
         np.nan, fi.tiny, -fi.tiny, fi.tiny * fi.eps, 1024.0],
    ]).astype(dtype)  # fmt: skip
    y = np.concatenate([
        rng.standard_normal(200) * 1e3,
        [2.0, 0.0, 1.0, -1.0, 0.0, 0.0, 3.0, 0.0, np.inf, 0.0, np.inf, 0.0, 3.0, 1.0, 0.0,
         0.0, 0.0, 1000.0],
    ]).astype(dtype)  # fmt: skip
    with np.errstate(over="ignore"):
        want = np.nextafter(x, y)
    got = rtorch.nextafter(rtorch.tensor(x), rtorch.tensor(y)).numpy()
    np.testing.assert_array_equal(got, want)
    t = rtorch.tensor([1.0], dtype=rtorch.float64)
    assert t.nextafter_(rtorch.tensor([2.0], dtype=rtorch.float64)).item() == np.nextafter(1.0, 2.0)
    with pytest.raises(RuntimeError, match="\"nextafter_cpu\" not implemented for 'Long'"):
        rtorch.nextafter(rtorch.tensor([1]), rtorch.tensor([2]))


@pytest.mark.parametrize("rate", [0.5, 3.0, 9.9, 15.0, 60.0])
def test_poisson_sampling_matches_the_pmf(rate: float) -> None:
    rtorch.manual_seed(11)
    n = 40000
    draws = rtorch.poisson(rtorch.full((n,), rate, dtype=rtorch.float64)).numpy()
    assert (draws == np.floor(draws)).all() and draws.min() >= 0
    # Frequencies of the likeliest values against the pmf, within 5 standard errors.
    ks = np.arange(max(0, int(rate - 2 * math.sqrt(rate))), int(rate + 2 * math.sqrt(rate)) + 1)
    pmf = np.exp(ks * math.log(rate) - rate - np.array([math.lgamma(k + 1) for k in ks]))
    freq = np.array([(draws == k).mean() for k in ks])
    np.testing.assert_array_less(np.abs(freq - pmf), 5 * np.sqrt(pmf * (1 - pmf) / n) + 1e-12)
    assert abs(draws.mean() - rate) < 5 * math.sqrt(rate / n)


def test_poisson_edges_and_distribution() -> None:
    from rtorch.distributions import Poisson, kl_divergence

    assert rtorch.poisson(rtorch.zeros(5)).tolist() == [0.0] * 5
    big = rtorch.poisson(rtorch.full((2000,), 1e6, dtype=rtorch.float64))
    assert abs(big.mean().item() - 1e6) < 5 * math.sqrt(1e6 / 2000)
    x = rtorch.tensor([2.0], requires_grad=True)
    y = rtorch.poisson(x)
    y.backward()
    assert x.grad.tolist() == [0.0]
    with pytest.raises(
        RuntimeError, match="invalid Poisson rate, expected rate to be non-negative"
    ):
        rtorch.poisson(rtorch.tensor([-1.0]))
    with pytest.raises(NotImplementedError, match="\"poisson_cpu\" not implemented for 'Long'"):
        rtorch.poisson(rtorch.tensor([1, 2]))
    d = Poisson(rtorch.tensor([2.0, 3.0], dtype=rtorch.float64))
    lp = d.log_prob(rtorch.tensor([1.0, 4.0], dtype=rtorch.float64)).tolist()
    assert lp == pytest.approx([math.log(2) - 2, 4 * math.log(3) - 3 - math.log(24)], rel=1e-14)
    assert d.mode.tolist() == [2.0, 3.0] and d.sample((3,)).shape == (3, 2)
    kl = kl_divergence(d, Poisson(rtorch.tensor([1.0, 1.0], dtype=rtorch.float64))).tolist()
    assert kl == pytest.approx([2 * math.log(2) - 1, 3 * math.log(3) - 2], rel=1e-14)
    with pytest.raises(ValueError, match="to be within the support \\(IntegerGreaterThan"):
        d.log_prob(rtorch.tensor([1.5, 4.0], dtype=rtorch.float64))
