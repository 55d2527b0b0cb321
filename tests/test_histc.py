"""torch.histc's counts (float32 and float64 in one Rust pass, the half types composed):
PyTorch's binning formula trunc((v - min) * bins / (max - min)) in the input's type, max
in the last bin, values outside and NaN left out; sizes above the parallel grain at
several thread counts; strided and empty inputs. Reference: the formula in numpy in the
input's type, and np.histogram in float64 away from bin edges."""

import numpy as np
import pytest

import rtorch


def reference(x: np.ndarray, bins: int, lo: float, hi: float) -> np.ndarray:
    t = x.dtype.type
    lo_t, hi_t = t(lo), t(hi)
    keep = (x >= lo_t) & (x <= hi_t)
    with np.errstate(invalid="ignore"):
        pos = ((x[keep] - lo_t) * t(bins) / (hi_t - lo_t)).astype(np.int64)
    return np.bincount(np.minimum(pos, bins - 1), minlength=bins).astype(np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 1000, 200_001])
def test_counts_match_the_formula(dtype, n):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 2).astype(dtype)
    x[: n // 10] = np.round(x[: n // 10] * 4) / 4  # values on bin edges
    if n > 3:
        x[:3] = [np.nan, 3.0, -3.0]  # NaN, max and min exactly
    for bins, lo, hi in [(10, -3.0, 3.0), (7, -0.1, 2.3), (1, -1.0, 1.0), (1000, -5.0, 5.0)]:
        got = rtorch.histc(rtorch.from_numpy(x), bins=bins, min=lo, max=hi)
        assert got.dtype == rtorch.from_numpy(x).dtype
        np.testing.assert_array_equal(got.double().numpy(), reference(x, bins, lo, hi))


def test_agrees_with_np_histogram_away_from_edges():
    x = np.random.default_rng(1).uniform(0, 1, 100_000)
    edges = np.linspace(0, 1, 21)
    x = x[np.min(np.abs(x[:, None] - edges[None, :]), axis=1) > 1e-9]
    want, _ = np.histogram(x, bins=20, range=(0, 1))
    got = rtorch.histc(rtorch.from_numpy(x), bins=20, min=0, max=1)
    np.testing.assert_array_equal(got.numpy(), want)


def test_thread_count_strided_and_range_from_data():
    x = rtorch.randn(300, 1000)
    before = rtorch.get_num_threads()
    try:
        results = []
        for threads in (1, 2, 3):
            rtorch.set_num_threads(threads)
            results.append(rtorch.histc(x.t(), bins=50, min=-2, max=2))
    finally:
        rtorch.set_num_threads(before)
    assert all(rtorch.equal(results[0], r) for r in results[1:])
    want = reference(x.numpy().T.ravel(), 50, -2.0, 2.0)
    np.testing.assert_array_equal(results[0].numpy(), want)
    # min == max: the data's range; all values equal: [v - 1, v + 1].
    assert rtorch.histc(rtorch.tensor([1.0, 2.0, 10.0]), bins=3).tolist() == [2.0, 0.0, 1.0]
    assert rtorch.histc(rtorch.tensor([5.0]), bins=4).tolist() == [0.0, 0.0, 1.0, 0.0]
    assert rtorch.histc(rtorch.tensor([]), bins=3).tolist() == [0.0, 0.0, 0.0]


def test_half_types_and_errors():
    x = rtorch.tensor([0.0, 0.1, 0.2, 0.3, 0.7, 1.0, float("nan"), -1, 2])
    for dtype in (rtorch.float16, rtorch.bfloat16):
        got = rtorch.histc(x.to(dtype), bins=10, min=0, max=1)
        assert got.dtype == dtype
        assert got.tolist() == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0]
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        rtorch.histc(rtorch.tensor([1, 2]), bins=2)
    with pytest.raises(RuntimeError, match="bins must be > 0"):
        rtorch.histc(x, bins=0)
    with pytest.raises(RuntimeError, match="max must be larger than min"):
        rtorch.histc(x, bins=2, min=1, max=0)


@pytest.mark.parametrize("shape", [(2, 3), (0,)], ids=["values", "empty"])
def test_bin_counts_no_tensor_can_hold_raise(shape):
    """A bin count past what memory can hold is PyTorch's RuntimeError (it was a Rust
    panic: the counters were sized before anything checked the count)."""
    x = rtorch.rand(shape)
    with pytest.raises(RuntimeError, match="Storage size calculation overflowed"):
        rtorch.histc(x, bins=2**62)
    with pytest.raises(RuntimeError, match="can't allocate memory"):
        x.histc(bins=2**40)


def test_matches_torch(torch_ref):
    rng = np.random.default_rng(4)
    for dtype in (np.float32, np.float64):
        x = (rng.standard_normal(100_000) * 3).astype(dtype)
        x[:1000] = np.round(x[:1000] * 8) / 8
        for bins, lo, hi in [(10, -3.0, 3.0), (7, -0.1, 2.3), (256, -4.0, 4.0)]:
            got = rtorch.histc(rtorch.from_numpy(x), bins=bins, min=lo, max=hi).numpy()
            want = torch_ref.histc(torch_ref.from_numpy(x), bins=bins, min=lo, max=hi).numpy()
            np.testing.assert_array_equal(got, want)
