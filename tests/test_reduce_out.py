"""`out=` on the reductions and scans (`sum`, `mean`, `prod`, `amax`, `argmax`, `var`,
`std`, `logsumexp`, `any`, `all`, `cumsum`, …), checked against numpy in float64."""

from __future__ import annotations

import numpy as np
import pytest

import rtorch

X = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 7.0 - 1.0

CASES = [
    # (function, kwargs, numpy reference)
    (rtorch.sum, {"dim": 1}, lambda a: a.sum(1)),
    (rtorch.sum, {"dim": (0, 2), "keepdim": True}, lambda a: a.sum((0, 2), keepdims=True)),
    (rtorch.mean, {"dim": 2}, lambda a: a.mean(2)),
    (rtorch.nansum, {"dim": 0}, lambda a: np.nansum(a, 0)),
    (rtorch.nanmean, {"dim": 0}, lambda a: np.nanmean(a, 0)),
    (rtorch.prod, {"dim": 1}, lambda a: a.prod(1)),
    (rtorch.amax, {"dim": 1}, lambda a: a.max(1)),
    (rtorch.amin, {"dim": (1, 2)}, lambda a: a.min((1, 2))),
    (rtorch.var, {"dim": 2}, lambda a: a.var(2, ddof=1)),
    (rtorch.std, {"dim": 2, "correction": 0}, lambda a: a.std(2)),
    (rtorch.logsumexp, {"dim": 1}, lambda a: np.log(np.exp(a).sum(1))),
    (rtorch.cumsum, {"dim": 2}, lambda a: a.cumsum(2)),
    (rtorch.cumprod, {"dim": 0}, lambda a: a.cumprod(0)),
]


@pytest.mark.parametrize("fn,kwargs,ref", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_reduction_writes_out_and_returns_it(fn, kwargs, ref) -> None:
    x = rtorch.tensor(X, dtype=rtorch.float64)
    want = ref(X)
    out = rtorch.empty(want.shape, dtype=rtorch.float64)
    r = fn(x, **kwargs, out=out)
    assert r is out
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-12, atol=1e-12)
    # Without out= the result is the same.
    np.testing.assert_allclose(fn(x, **kwargs).numpy(), want, rtol=1e-12, atol=1e-12)


def test_arg_and_logical_reductions_write_their_dtypes() -> None:
    x = rtorch.tensor(X)
    idx = rtorch.empty(2, 4, dtype=rtorch.int64)
    assert rtorch.argmax(x, 1, out=idx) is idx
    assert idx.tolist() == X.argmax(1).tolist()
    rtorch.argmin(x, dim=1, out=idx)
    assert idx.tolist() == X.argmin(1).tolist()
    b = rtorch.empty(2, 4, dtype=rtorch.bool)
    rtorch.any(x > 0.5, 1, out=b)
    assert b.tolist() == (X > 0.5).any(1).tolist()
    rtorch.all(x > -0.5, dim=1, out=b)
    assert b.tolist() == (X > -0.5).all(1).tolist()


def test_out_dtype_is_the_computation_dtype_when_none_is_given() -> None:
    # As ATen's get_dtype_from_result: an int64 out makes sum add int64 values.
    x = rtorch.tensor([1.5, 2.5, 3.75])
    o = rtorch.empty((), dtype=rtorch.int64)
    rtorch.sum(x, 0, out=o)
    assert o.item() == 1 + 2 + 3
    # A float64 out sums a float32 input in float64 (2**24 + 1 has no float32).
    o64 = rtorch.empty((), dtype=rtorch.float64)
    rtorch.sum(rtorch.tensor([16777216.0, 1.0]), dim=0, out=o64)
    assert o64.item() == 16777217.0
    # An integer input with a float out adds in the out's dtype.
    o32 = rtorch.empty(2)
    rtorch.cumsum(rtorch.tensor([1, 2]), 0, out=o32)
    assert o32.dtype == rtorch.float32 and o32.tolist() == [1.0, 3.0]


def test_reduction_out_rules() -> None:
    x = rtorch.tensor(X, dtype=rtorch.float32)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired"):
        rtorch.mean(x, 1, out=rtorch.empty(2, 4, dtype=rtorch.int64))
    o = rtorch.zeros(5)
    with pytest.warns(UserWarning, match="was resized"):
        rtorch.mean(x, 2, out=o)
    assert o.shape == (2, 3)
    w = rtorch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"sum\(\): functions with out=\.\.\. arguments"):
        rtorch.sum(w, 0, out=rtorch.empty(()))
    with pytest.raises(TypeError, match="argument 'out' must be Tensor"):
        rtorch.sum(x, 0, out=[1.0])


def test_out_dtype_rules_per_op() -> None:
    # PyTorch 2.15's rules, checked case by case: which out dtypes each op accepts.
    x = rtorch.tensor([[1.5, 2.5], [3.75, -1.0]])
    with pytest.raises(
        RuntimeError, match="Expected out tensor to have dtype double, but got float instead"
    ):
        rtorch.sum(x, 0, dtype=rtorch.float64, out=rtorch.empty(2))
    with pytest.raises(
        RuntimeError, match="Expected out tensor to have dtype double, but got float instead"
    ):
        rtorch.cumsum(x, 0, dtype=rtorch.float64, out=rtorch.empty(2, 2))
    with pytest.raises(
        RuntimeError,
        match="Expected the dtype for input and out to match, but got Float for input's "
        "dtype and Double for out's dtype.",
    ):
        rtorch.amax(x, 0, out=rtorch.empty(2, dtype=rtorch.float64))
    with pytest.raises(
        RuntimeError, match="Expected out tensor to have dtype long int, but got int instead"
    ):
        rtorch.argmax(x, 0, out=rtorch.empty(2, dtype=rtorch.int32))
    with pytest.raises(RuntimeError, match="all only supports bool tensor for result, got: Float"):
        rtorch.all(x > 0, 0, out=rtorch.empty(2))
    u8 = rtorch.empty(2, dtype=rtorch.uint8)
    assert rtorch.any(x > 2, 0, out=u8).tolist() == [1, 1]
    with pytest.raises(
        RuntimeError,
        match=r"logsumexp\(\): Expected floating point type for result tensor, but got: Long",
    ):
        rtorch.logsumexp(x, 0, out=rtorch.empty(2, dtype=rtorch.int64))
    # mean takes out's dtype only for floating inputs: an integer input keeps its error.
    with pytest.raises(NotImplementedError, match="mean\\(\\): could not infer output dtype"):
        rtorch.mean(rtorch.tensor([[1, 2], [3, 4]]), 0, out=rtorch.empty(2))


def test_float_out_computes_in_its_dtype() -> None:
    # var/std/logsumexp of float32 into a float64 out are computed in float64.
    x32 = np.array([[1.5, 2.5], [3.75, -1.0]], dtype=np.float32)
    x = rtorch.tensor(x32)
    for fn, ref in (
        (rtorch.var, lambda a: a.var(0, ddof=1)),
        (rtorch.std, lambda a: a.std(0, ddof=1)),
        (rtorch.logsumexp, lambda a: np.log(np.exp(a).sum(0))),
    ):
        o = rtorch.empty(2, dtype=rtorch.float64)
        fn(x, 0, out=o)
        np.testing.assert_allclose(o.numpy(), ref(x32.astype(np.float64)), rtol=1e-13)


def test_dim_is_required_where_pytorch_requires_it():
    # PyTorch: cumsum/cumprod/logsumexp have no overload without `dim` (TypeError), and
    # logsumexp's dim may not be None.
    x = rtorch.ones(3)
    for call in (
        lambda: rtorch.cumsum(x),
        lambda: rtorch.cumprod(x),
        lambda: x.cumsum(),
        lambda: rtorch.logsumexp(x),
        lambda: x.logsumexp(),
        lambda: rtorch.logsumexp(x, dim=None),
        lambda: x.logsumexp(None),
        lambda: rtorch.logsumexp(x, out=rtorch.empty(())),
    ):
        with pytest.raises(TypeError):
            call()
    assert rtorch.cumsum(x, 0).tolist() == [1.0, 2.0, 3.0]
    assert rtorch.logsumexp(rtorch.zeros(2), 0).item() == pytest.approx(0.6931471805599453)
    assert rtorch.logsumexp(rtorch.zeros(2, 2), dim=(0, 1)).item() == pytest.approx(
        1.3862943611198906
    )


def test_sum_and_prod_overloads_tell_missing_dim_from_none():
    # PyTorch 2.15: the overload without `dim` takes no `out=`, and prod has no dim=None.
    x = rtorch.tensor([1.0, 2.0, 4.0])
    for name in ("sum", "prod"):
        with pytest.raises(TypeError):
            getattr(rtorch, name)(x, out=rtorch.empty(0))
        out = rtorch.empty(0)
        assert getattr(rtorch, name)(x, 0, out=out) is out
        assert out.item() == (7.0 if name == "sum" else 8.0)
    out = rtorch.empty(0)
    assert rtorch.sum(x, None, out=out) is out and out.item() == 7.0
    assert rtorch.sum(x, dim=None).item() == 7.0 and x.sum(dim=None).item() == 7.0
    for call in (
        lambda: rtorch.prod(x, dim=None),
        lambda: x.prod(dim=None),
        lambda: rtorch.prod(x, None, out=rtorch.empty(0)),
    ):
        with pytest.raises(TypeError, match="must be int, not NoneType"):
            call()
    assert rtorch.prod(x).item() == 8.0 and x.prod(0, True).tolist() == [8.0]
