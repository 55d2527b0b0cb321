"""quantile / nanquantile / nanmedian (issue 7's missing names): numpy float64
references (np.quantile's methods are the same five interpolations), gradcheck, the
error messages of PyTorch 2.15 and, when torch is installed, parity with it."""

from __future__ import annotations

import numpy as np
import pytest

import rtorch
from rtorch.autograd import gradcheck

MODES = ["linear", "lower", "higher", "midpoint", "nearest"]
# numpy's names for PyTorch's interpolation modes ("nearest" rounds half to even in both).
NP_METHOD = {m: m for m in MODES}


def _data(shape: tuple, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_quantile_matches_numpy(mode: str, dim: int | None) -> None:
    a = _data((5, 7))
    q = np.array([0.0, 0.1, 0.25, 0.5, 0.9, 1.0])
    got = rtorch.quantile(
        rtorch.tensor(a), rtorch.tensor(q, dtype=rtorch.float64), dim=dim, interpolation=mode
    ).numpy()
    want = np.quantile(a, q, axis=dim, method=NP_METHOD[mode])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_quantile_scalar_q_and_keepdim(mode: str) -> None:
    a = _data((3, 4, 5), 1)
    t = rtorch.tensor(a, dtype=rtorch.float32)
    for dim in (0, 1, 2):
        got = rtorch.quantile(t, 0.3, dim=dim, keepdim=True, interpolation=mode)
        want = np.quantile(a.astype(np.float32), 0.3, axis=dim, keepdims=True, method=mode)
        assert tuple(got.shape) == want.shape
        np.testing.assert_allclose(got.numpy(), want, rtol=1.3e-6, atol=1e-5)
    assert rtorch.quantile(t, 0.5, keepdim=True).shape == (1, 1, 1)
    assert rtorch.quantile(t, rtorch.tensor([0.5, 0.2]), keepdim=True).shape == (2, 1, 1, 1)
    assert rtorch.quantile(t, rtorch.tensor([0.5, 0.2]), dim=1).shape == (2, 3, 5)
    assert rtorch.quantile(t, rtorch.tensor(0.5), dim=1).shape == (3, 5)
    assert t.quantile(0.5).dtype == rtorch.float32


def test_nearest_rounds_half_to_even() -> None:
    x = rtorch.tensor([0.0, 1, 2, 3])
    q = rtorch.tensor([0.125, 0.375, 0.5, 0.625])
    assert rtorch.quantile(x, q, interpolation="nearest").tolist() == [0.0, 1.0, 2.0, 2.0]


def test_quantile_nan_and_nanquantile() -> None:
    nan = float("nan")
    a = np.array([[1.0, 5, 2, 8], [3, nan, 4, 0], [nan, nan, nan, nan]])
    t = rtorch.tensor(a)
    got = rtorch.quantile(t, 0.3, dim=1).numpy()
    assert got[0] == pytest.approx(np.quantile(a[0], 0.3)) and np.isnan(got[1:]).all()
    assert np.isnan(rtorch.quantile(t, 0.3).item())
    for mode in MODES:
        got = rtorch.nanquantile(
            t, rtorch.tensor([0.3, 0.5], dtype=rtorch.float64), dim=1, interpolation=mode
        )
        want = np.array(
            [
                [np.quantile(a[0], q, method=mode) for q in (0.3, 0.5)],
                [np.quantile(a[1][~np.isnan(a[1])], q, method=mode) for q in (0.3, 0.5)],
                [nan, nan],
            ]
        ).T
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    assert rtorch.nanquantile(t, 0.5).item() == pytest.approx(np.nanquantile(a, 0.5))


def test_quantile_gradcheck() -> None:
    x = rtorch.tensor(_data((4, 6), 2), requires_grad=True)
    q = rtorch.tensor([0.2, 0.55, 1.0], dtype=rtorch.float64)
    for mode in MODES:
        assert gradcheck(lambda t, m=mode: rtorch.quantile(t, q, dim=1, interpolation=m), (x,))
        assert gradcheck(lambda t, m=mode: rtorch.nanquantile(t, 0.3, interpolation=m), (x,))


@pytest.mark.parametrize("mode", MODES)
def test_quantile_selection_and_sort_agree(mode: str) -> None:
    # Up to 4 order statistics are selected one by one (kthvalue); more sort the slices.
    # Both give the same values and gradients, a NaN slice giving NaN.
    a = _data((3, 1000), 3)
    a[1, 17] = np.nan
    x = rtorch.tensor(a, requires_grad=True)
    few = rtorch.tensor([0.3, 0.71], dtype=rtorch.float64)
    many = rtorch.tensor([0.3, 0.71, 0.05, 0.2, 0.4, 0.6, 0.8], dtype=rtorch.float64)
    selected = rtorch.quantile(x, few, dim=1, interpolation=mode)
    (g_selected,) = rtorch.autograd.grad(selected.sum(), x)
    sorted_ = rtorch.quantile(x, many, dim=1, interpolation=mode)[:2]
    (g_sorted,) = rtorch.autograd.grad(sorted_.sum(), x)
    np.testing.assert_array_equal(selected.detach().numpy(), sorted_.detach().numpy())
    np.testing.assert_array_equal(g_selected.numpy(), g_sorted.numpy())
    want = np.quantile(a, [0.3, 0.71], axis=1, method=mode)
    np.testing.assert_allclose(selected.detach().numpy(), want, rtol=1e-12)
    assert g_selected.numpy().sum() == pytest.approx(6.0)  # each of 6 quantiles adds 1


def test_quantile_grad_goes_to_the_interpolated_pair() -> None:
    x = rtorch.tensor([4.0, 1.0, 3.0, 2.0], requires_grad=True)
    rtorch.quantile(x, 0.5).backward()  # rank 1.5 between 2 and 3
    assert x.grad.tolist() == [0.0, 0.0, 0.5, 0.5]


def test_quantile_out() -> None:
    out = rtorch.empty(())
    r = rtorch.quantile(rtorch.tensor([1.0, 2.0]), 0.5, out=out)
    assert r is out and out.item() == 1.5


@pytest.mark.parametrize(
    ("call", "err", "msg"),
    [
        (
            lambda: rtorch.quantile(rtorch.ones(3), 1.5),
            RuntimeError,
            "quantile() q must be in the range [0, 1] but got 1.5",
        ),
        (
            lambda: rtorch.quantile(rtorch.ones(3), rtorch.tensor([1.5])),
            RuntimeError,
            "quantile() q values must be in the range [0, 1]",
        ),
        (
            lambda: rtorch.quantile(rtorch.ones(3), rtorch.tensor([[0.5]])),
            RuntimeError,
            "quantile() q must be a scalar or 1D tensor",
        ),
        (
            lambda: rtorch.quantile(rtorch.ones(3, dtype=rtorch.int64), 0.5),
            RuntimeError,
            "quantile() input tensor must be either float or double dtype",
        ),
        (
            lambda: rtorch.quantile(rtorch.ones(3), rtorch.tensor(0.5, dtype=rtorch.float64)),
            RuntimeError,
            "quantile() q tensor must be same dtype as the input tensor",
        ),
        (
            lambda: rtorch.quantile(rtorch.ones(3), 0.5, interpolation="foo"),
            RuntimeError,
            (
                "quantile() interpolation must be one of linear, lower, higher, midpoint or "
                "nearest, but got foo"
            ),
        ),
        (
            lambda: rtorch.quantile(rtorch.ones(0), 0.5),
            RuntimeError,
            "quantile() input tensor must be non-empty",
        ),
        (
            lambda: rtorch.nanquantile(rtorch.ones(2, 0), 0.5, dim=0),
            RuntimeError,
            "nanquantile() input tensor must be non-empty",
        ),
        (
            lambda: rtorch.quantile(rtorch.ones(2, 4), 0.5, dim=2),
            IndexError,
            "Dimension out of range (expected to be in range of [-2, 1], but got 2)",
        ),
    ],
)
def test_quantile_errors(call, err: type, msg: str) -> None:
    with pytest.raises(err) as info:
        call()
    assert str(info.value) == msg


def test_nanmedian_without_dim() -> None:
    nan = float("nan")
    x = rtorch.tensor([[1.0, 5, 2, 8], [3, nan, 4, 0]])
    assert rtorch.nanmedian(x).item() == 3.0  # lower middle of 7 values
    assert x.nanmedian().item() == 3.0
    assert np.isnan(rtorch.nanmedian(rtorch.tensor([nan, nan])).item())
    assert np.isnan(rtorch.nanmedian(rtorch.tensor([])).item())
    assert rtorch.nanmedian(rtorch.tensor([3, 1, 2])).item() == 2
    a = _data((41,), 3)
    a[::5] = nan
    assert rtorch.nanmedian(rtorch.tensor(a)).item() == np.sort(a[~np.isnan(a)])[15]


def test_nanmedian_with_dim() -> None:
    nan = float("nan")
    x = rtorch.tensor([[1.0, 5, 2, 8], [3, nan, 4, 0]])
    r = rtorch.nanmedian(x, 1)
    assert type(r).__name__ == "nanmedian" and r.values.tolist() == [2.0, 3.0]
    assert r.indices.tolist() == [2, 0]
    r = rtorch.nanmedian(x, dim=0, keepdim=True)
    assert r.values.tolist() == [[1.0, 5.0, 2.0, 0.0]] and r.indices.tolist() == [[0, 0, 0, 1]]
    r = rtorch.nanmedian(rtorch.tensor([[nan, nan], [1, 2]]), 1)
    assert np.isnan(r.values[0].item()) and r.values[1].item() == 1.0
    assert r.indices.tolist() == [0, 0]
    r = rtorch.nanmedian(rtorch.tensor(5.0), 0)
    assert r.values.item() == 5.0 and r.indices.item() == 0 and r.values.dim() == 0
    r = rtorch.tensor([3, 1, 2]).nanmedian(0)
    assert r.values.item() == 2 and r.indices.item() == 2
    a = _data((4, 9, 3), 4)
    a[a > 0.8] = nan
    r = rtorch.nanmedian(rtorch.tensor(a), 1)
    for i in range(4):
        for j in range(3):
            col = a[i, :, j]
            valid = np.sort(col[~np.isnan(col)])
            want = valid[(len(valid) - 1) // 2] if len(valid) else nan
            got = r.values[i, j].item()
            assert got == want or (np.isnan(want) and np.isnan(got))
            if len(valid):
                assert a[i, r.indices[i, j].item(), j] == want
    assert rtorch.nanmedian(rtorch.zeros(0, 3), 1).values.shape == (0,)
    with pytest.raises(IndexError, match="Expected reduction dim 1 to have non-zero size"):
        rtorch.nanmedian(rtorch.zeros(3, 0), 1)


def test_nanmedian_gradients() -> None:
    x = rtorch.tensor([1.0, 2, 2, 3, float("nan")], requires_grad=True)
    rtorch.nanmedian(x).backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.5, 0.0, 0.0]  # shared by the tied medians
    x.grad = None
    rtorch.nanmedian(x, 0).values.backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]
    y = rtorch.tensor(_data((3, 5), 5), requires_grad=True)
    assert gradcheck(lambda t: rtorch.nanmedian(t, 1, keepdim=True).values, (y,))
    assert gradcheck(lambda t: rtorch.nanmedian(t), (y,))


def test_parity_with_torch() -> None:
    torch = pytest.importorskip("torch")
    a = _data((6, 5), 6)
    a[1, 2] = a[4, 0] = np.nan
    q = [0.0, 0.33, 0.5, 0.71, 1.0]
    for name in ("quantile", "nanquantile"):
        for mode in MODES:
            for dim in (None, 0, 1):
                want = getattr(torch, name)(
                    torch.tensor(a),
                    torch.tensor(q, dtype=torch.float64),
                    dim=dim,
                    keepdim=dim is not None,
                    interpolation=mode,
                ).numpy()
                got = getattr(rtorch, name)(
                    rtorch.tensor(a),
                    rtorch.tensor(q, dtype=rtorch.float64),
                    dim=dim,
                    keepdim=dim is not None,
                    interpolation=mode,
                ).numpy()
                np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
    for dim in (0, 1):
        w = torch.nanmedian(torch.tensor(a), dim)
        g = rtorch.nanmedian(rtorch.tensor(a), dim)
        np.testing.assert_array_equal(g.values.numpy(), w.values.numpy())
        np.testing.assert_array_equal(g.indices.numpy(), w.indices.numpy())
