"""Property test: random op sequences over random shapes, layouts and dtypes.

Each example builds a tensor of a random shape (0-size and size-1 dims included),
gives it a random layout (transposed, stepped slice, expanded, permuted), applies a
short random sequence of out-of-place and in-place ops, and compares every step with
numpy in float64. It asserts no crash, the expected dtype and shape, equal values
(dtype-aware tolerances), and PyTorch's errors where PyTorch raises (in-place writes
into an expanded tensor). Inputs it found are kept as regular tests at the bottom.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import rtorch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings
from hypothesis import strategies as st

DTYPES = {
    "float32": (rtorch.float32, np.float32),
    "float64": (rtorch.float64, np.float64),
    "int64": (rtorch.int64, np.int64),
    "int32": (rtorch.int32, np.int32),
}
SELF_OVERLAP = "more than one element of the written-to tensor refers to a single memory location"


def _tol(dtype: rtorch.dtype) -> tuple[float, float]:
    if dtype == rtorch.float32:
        return 1.3e-6, 1e-5
    if dtype == rtorch.float64:
        return 1e-7, 1e-7
    return 0.0, 0.0


def _float_result(dt: rtorch.dtype) -> rtorch.dtype:
    return dt if dt.is_floating_point else rtorch.float32


def _same(dt: rtorch.dtype) -> rtorch.dtype:
    return dt


def _sum_dtype(dt: rtorch.dtype) -> rtorch.dtype:
    return dt if dt.is_floating_point else rtorch.int64


# name -> (rtorch fn, numpy fn on float64, result dtype rule, allowed input dtypes or None)
UNARY: dict[str, tuple[Callable, Callable, Callable, Any]] = {
    "neg": (lambda t: -t, lambda a: -a, _same, None),
    "abs": (rtorch.abs, np.abs, _same, None),
    "exp": (rtorch.exp, np.exp, _float_result, None),
    "sin": (rtorch.sin, np.sin, _float_result, None),
    "tanh": (rtorch.tanh, np.tanh, _float_result, None),
    "sigmoid": (rtorch.sigmoid, lambda a: 1 / (1 + np.exp(-a)), _float_result, None),
    "sqrt_abs": (lambda t: t.abs().sqrt(), lambda a: np.sqrt(np.abs(a)), _float_result, None),
    "relu": (rtorch.relu, lambda a: np.maximum(a, 0), _same, None),
    "square": (lambda t: t * t, lambda a: a * a, _same, None),
    "clamp": (lambda t: t.clamp(-1, 2), lambda a: np.clip(a, -1, 2), _same, None),
    "clamp_min": (lambda t: t.clamp_min(0), lambda a: np.maximum(a, 0), _same, None),
    "add_scalar": (lambda t: t + 2, lambda a: a + 2, _same, None),
    "mul_float": (lambda t: t * 0.5, lambda a: a * 0.5, _float_result, None),
    "sub_self": (lambda t: t - t, lambda a: a - a, _same, None),
    "add_flip": (
        lambda t: t + t.flip(-1) if t.dim() else t + t,
        lambda a: a + (np.flip(a, -1) if a.ndim else a),
        _same,
        None,
    ),
    "maximum_self_t": (
        lambda t: rtorch.maximum(t, t.mT) if t.dim() >= 2 and t.shape[-1] == t.shape[-2] else t,
        lambda a: (
            np.maximum(a, np.swapaxes(a, -1, -2))
            if a.ndim >= 2 and a.shape[-1] == a.shape[-2]
            else a
        ),
        _same,
        None,
    ),
    "div2": (lambda t: t / 2, lambda a: a / 2, _float_result, None),
    "floordiv2": (lambda t: t // 2, lambda a: np.floor_divide(a, 2), _same, None),
    "mod3": (lambda t: t % 3, lambda a: np.mod(a, 3), _same, None),
    "pow2": (lambda t: t.pow(2), lambda a: a**2, _same, None),
    "amax_last": (
        lambda t: t.amax(-1) if t.dim() and t.shape[-1] else t,
        lambda a: a.max(-1) if a.ndim and a.shape[-1] else a,
        _same,
        None,
    ),
    "flip_first": (
        lambda t: t.flip(0) if t.dim() else t,
        lambda a: np.flip(a, 0) if a.ndim else a,
        _same,
        None,
    ),
    "cumsum": (
        lambda t: rtorch.cumsum(t, -1),
        lambda a: np.cumsum(a, -1) if a.ndim else a,
        _sum_dtype,
        None,
    ),
    "sum_keep": (
        lambda t: t.sum(-1, keepdim=True) if t.dim() else t.sum(),
        lambda a: a.sum(-1, keepdims=True) if a.ndim else a,
        _sum_dtype,
        None,
    ),
    "t_contig": (
        lambda t: t.transpose(0, -1).contiguous() if t.dim() >= 2 else t,
        lambda a: np.ascontiguousarray(np.swapaxes(a, 0, -1)) if a.ndim >= 2 else a,
        _same,
        None,
    ),
    "reshape_flat": (lambda t: t.reshape(-1), lambda a: a.reshape(-1), _same, None),
    "where_pos": (
        lambda t: rtorch.where(t > 0, t, rtorch.zeros_like(t)),
        lambda a: np.where(a > 0, a, 0),
        _same,
        None,
    ),
}

# In-place forms: (method applied to the tensor, numpy update, needs float dtype).
INPLACE: dict[str, tuple[Callable, Callable, bool]] = {
    "add_": (lambda t: t.add_(1), lambda a: a + 1, False),
    "mul_": (lambda t: t.mul_(3), lambda a: a * 3, False),
    "neg_": (lambda t: t.neg_(), lambda a: -a, False),
    "clamp_": (lambda t: t.clamp_(-1, 1), lambda a: np.clip(a, -1, 1), False),
    "clamp_min_": (lambda t: t.clamp_min_(0), lambda a: np.maximum(a, 0), False),
    "zero_": (lambda t: t.zero_(), lambda a: a * 0, False),
    "exp_": (lambda t: t.exp_(), np.exp, True),
    "sigmoid_": (lambda t: t.sigmoid_(), lambda a: 1 / (1 + np.exp(-a)), True),
    "div_": (lambda t: t.div_(4), lambda a: a / 4, True),
    "sub_": (lambda t: t.sub_(2, alpha=3), lambda a: a - 6, False),
    "pow_": (lambda t: t.pow_(2), lambda a: a**2, False),
    "abs_": (lambda t: t.abs_(), np.abs, False),
}
# fill_/zero_ write a number and are allowed on an expanded tensor, as in PyTorch.
FILLS = {"zero_"}


@st.composite
def tensors(draw: Any) -> tuple[rtorch.Tensor, np.ndarray, str]:
    name = draw(st.sampled_from(sorted(DTYPES)))
    dt, npdt = DTYPES[name]
    ndim = draw(st.integers(0, 3))
    shape = tuple(draw(st.sampled_from([0, 1, 1, 2, 3, 4])) for _ in range(ndim))
    n = int(np.prod(shape)) if shape else 1
    vals = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
    a = np.array(vals, dtype=npdt).reshape(shape)
    t = rtorch.tensor(a.tolist(), dtype=dt) if ndim else rtorch.tensor(a.item(), dtype=dt)
    t = t.reshape(shape)
    layout = draw(st.sampled_from(["plain", "transpose", "step", "expand", "permute", "narrow"]))
    if layout == "transpose" and ndim >= 2:
        t, a = t.transpose(0, 1), np.swapaxes(a, 0, 1)
    elif layout == "step" and ndim >= 1:
        t, a = t[..., ::2], a[..., ::2]
    elif layout == "expand":
        k = draw(st.sampled_from([0, 1, 3]))
        t = t.unsqueeze(0).expand(k, *shape)
        a = np.broadcast_to(a[None], (k, *shape))
    elif layout == "permute" and ndim == 3:
        t, a = t.permute(2, 0, 1), np.transpose(a, (2, 0, 1))
    elif layout == "narrow" and ndim >= 1 and shape[-1] >= 1:
        start = draw(st.integers(0, shape[-1]))
        length = draw(st.integers(0, shape[-1] - start))
        t, a = t.narrow(-1, start, length), a[..., start : start + length]
    return t, a.astype(np.float64), name


def _check(t: rtorch.Tensor, ref: np.ndarray, dtype: rtorch.dtype, what: str) -> None:
    assert t.dtype == dtype, f"{what}: dtype {t.dtype} != {dtype}"
    assert tuple(t.shape) == ref.shape, f"{what}: shape {tuple(t.shape)} != {ref.shape}"
    got = t.double().numpy() if t.numel() else np.zeros(ref.shape)
    rtol, atol = _tol(dtype)
    if not dtype.is_floating_point:
        ref = np.trunc(ref)  # integer results of integer ops are exact
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol, err_msg=what)


def _has_self_overlap(t: rtorch.Tensor) -> bool:
    if t.numel() == 0:
        return False  # PyTorch: an empty tensor is contiguous, so it never overlaps
    return any(st_ == 0 and sz > 1 for sz, st_ in zip(t.shape, t.stride()))


def run_sequence(t: rtorch.Tensor, ref: np.ndarray, ops: list[tuple[str, str]]) -> None:
    dt = t.dtype
    for kind, name in ops:
        what = f"{kind} {name} on {tuple(t.shape)} stride {t.stride()} {dt}"
        if kind == "unary":
            f, g, rule, _ = UNARY[name]
            with np.errstate(all="ignore"):
                ref = np.asarray(g(ref), dtype=np.float64)
            t = f(t)
            dt = rule(dt)
        else:
            f, g, needs_float = INPLACE[name]
            if needs_float and not dt.is_floating_point:
                with pytest.raises(RuntimeError):
                    f(t)
                continue
            if _has_self_overlap(t) and name not in FILLS:
                with pytest.raises(RuntimeError, match=SELF_OVERLAP):
                    f(t)
                continue
            before = t
            with np.errstate(all="ignore"):
                ref = np.asarray(g(ref), dtype=np.float64)
            r = f(t)
            assert r is before, f"{what}: in-place op must return self"
        if not dt.is_floating_point:
            ref = np.trunc(ref)
        elif dt == rtorch.float32:
            ref = ref.astype(np.float32).astype(np.float64)
        _check(t, ref, dt, what)


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("unary"), st.sampled_from(sorted(UNARY))),
        st.tuples(st.just("inplace"), st.sampled_from(sorted(INPLACE))),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(tensors(), OPS)
def test_random_op_sequences(tn: tuple[rtorch.Tensor, np.ndarray, str], ops: list) -> None:
    t, ref, _ = tn
    run_sequence(t, ref, ops)


# ----- inputs the property test found, kept as regular tests -----


def test_found_narrow_zero_length_backward() -> None:
    # narrow(dim, start, 0) made the backward's region one element long.
    x = rtorch.ones(3, 4, dtype=rtorch.float64, requires_grad=True)
    x.narrow(-1, 1, 0).sum().backward()
    assert x.grad.tolist() == [[0.0] * 4] * 3
    y = rtorch.ones(2, 3, dtype=rtorch.float64, requires_grad=True)
    y.narrow(-2, 0, 0).sum().backward()
    assert y.grad.shape == (2, 3) and not y.grad.any()


def test_found_integer_true_division_in_place_raises() -> None:
    # `int_tensor.div_(4)` wrote the truncated float quotient instead of raising.
    for dt in (rtorch.int32, rtorch.int64):
        t = rtorch.tensor([4, 6], dtype=dt)
        with pytest.raises(RuntimeError, match="result type Float can't be cast"):
            t.div_(4)
        with pytest.raises(RuntimeError, match="result type Float can't be cast"):
            t /= 2
        assert t.tolist() == [4, 6]
        assert t.div_(4, rounding_mode="floor").tolist() == [1, 1]


def test_found_empty_expanded_tensor_takes_in_place_ops() -> None:
    # A zero-element tensor with a zero stride has nothing to overlap (PyTorch allows).
    e = rtorch.zeros(1, 1).expand(0, 2)
    assert e.abs_().shape == (0, 2)
    assert e.add_(1).shape == (0, 2)


def test_found_rsub_keeps_a_python_float_in_float64() -> None:
    # `number - float64 tensor` rounded the number to float32 first.
    z = rtorch.zeros(1, dtype=rtorch.float64)
    assert (1.1447298858494002 - z).item() == 1.1447298858494002
    assert (0.1 - rtorch.zeros(1)).dtype == rtorch.float32
    assert (2 - rtorch.tensor([1], dtype=rtorch.int32)).dtype == rtorch.int32
