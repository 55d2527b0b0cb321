"""``rtorch.testing``: :func:`assert_close` and :func:`make_tensor`, as in ``torch.testing``.

The comparison runs on Python values (``tolist``), rounding intermediate results to the
compared dtype the way PyTorch's tensor arithmetic does, so the failure messages carry
the same numbers as PyTorch's.
"""

from __future__ import annotations

import collections.abc
import math
import random as _random
import struct
from collections.abc import Sequence
from typing import Any, Callable, Optional, Union

import rtorch

__all__ = ["assert_close", "make_tensor"]

_DTYPE_PRECISIONS = {
    rtorch.float16: (0.001, 1e-5),
    rtorch.bfloat16: (0.016, 1e-5),
    rtorch.float32: (1.3e-6, 1e-5),
    rtorch.float64: (1e-7, 1e-7),
}

Msg = Optional[Union[str, Callable[[str], str]]]


class _Failure(Exception):
    """A mismatch found while comparing; turned into the user-facing exception."""

    def __init__(self, kind: type, msg: str, id: tuple[Any, ...] = ()) -> None:
        super().__init__(msg)
        self.kind = kind
        self.msg = msg
        self.id = id


def _default_tolerances(*dtypes: Any) -> tuple[float, float]:
    rtols, atols = zip(*[_DTYPE_PRECISIONS.get(d, (0.0, 0.0)) for d in dtypes])
    return max(rtols), max(atols)


def _tolerances(
    dtypes: Sequence[Any], rtol: float | None, atol: float | None, id: tuple[Any, ...]
) -> tuple[float, float]:
    if (rtol is None) ^ (atol is None):
        raise _Failure(
            ValueError,
            "Both 'rtol' and 'atol' must be either specified or omitted, "
            f"but got no {'rtol' if rtol is None else 'atol'}.",
            id,
        )
    if rtol is not None and atol is not None:
        return rtol, atol
    return _default_tolerances(*dtypes)


def _round_f32(v: float) -> float:
    if math.isnan(v) or math.isinf(v):
        return v
    try:
        return struct.unpack("f", struct.pack("f", v))[0]
    except OverflowError:
        return math.copysign(math.inf, v)


def _round_f16(v: float) -> float:
    if math.isnan(v) or math.isinf(v):
        return v
    try:
        return struct.unpack("e", struct.pack("e", v))[0]
    except OverflowError:
        return math.copysign(math.inf, v)


def _round_bf16(v: float) -> float:
    v = _round_f32(v)
    if math.isnan(v) or math.isinf(v):
        return v
    bits = struct.unpack("I", struct.pack("f", v))[0]
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return struct.unpack("f", struct.pack("I", bits))[0]


def _rounder(dtype: Any) -> Callable[[float], float]:
    if dtype == rtorch.float32:
        return _round_f32
    if dtype == rtorch.float16:
        return _round_f16
    if dtype == rtorch.bfloat16:
        return _round_bf16
    return float


def _flat(t: Any) -> list[Any]:
    if t.dim() == 0:
        return [t.item()]
    return t.reshape(-1).tolist()


def _make_mismatch_msg(
    identifier: Msg,
    default_identifier: str,
    extra: str | None,
    abs_diff: Any,
    abs_idx: tuple[int, ...] | None,
    atol: float,
    rel_diff: Any,
    rel_idx: tuple[int, ...] | None,
    rtol: float,
) -> str:
    equality = rtol == 0 and atol == 0

    def diff_msg(kind: str, diff: Any, idx: tuple[int, ...] | None, tol: float) -> str:
        if idx is None:
            m = f"{kind.title()} difference: {diff}"
        else:
            m = f"Greatest {kind} difference: {diff} at index {idx}"
        if not equality:
            m += f" (up to {tol} allowed)"
        return m + "\n"

    if identifier is None:
        name = default_identifier
    elif callable(identifier):
        name = identifier(default_identifier)
    else:
        name = identifier
    msg = f"{name} are not {'equal' if equality else 'close'}!\n\n"
    if extra:
        msg += f"{extra.strip()}\n"
    msg += diff_msg("absolute", abs_diff, abs_idx, atol)
    msg += diff_msg("relative", rel_diff, rel_idx, rtol)
    return msg.strip()


def _scalar_mismatch_msg(actual: Any, expected: Any, rtol: float, atol: float) -> str:
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _make_mismatch_msg(
        None,
        "Scalars",
        f"Expected {expected} but got {actual}.",
        abs_diff,
        None,
        atol,
        rel_diff,
        None,
        rtol,
    )


def _is_number(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, (int, float)):
        return True
    return type(x).__module__ == "numpy" and hasattr(x, "item") and getattr(x, "ndim", 1) == 0


def _is_tensor_like(x: Any) -> bool:
    return isinstance(x, rtorch.Tensor) or (
        type(x).__module__ == "numpy" and type(x).__name__ == "ndarray"
    )


def _compare_numbers(
    actual: Any,
    expected: Any,
    rtol: float | None,
    atol: float | None,
    equal_nan: bool,
    check_dtype: bool,
    id: tuple[Any, ...],
) -> None:
    if hasattr(actual, "item"):
        actual = actual.item()
    if hasattr(expected, "item"):
        expected = expected.item()
    dt = {int: rtorch.int64, float: rtorch.float64}
    r, a = _tolerances([dt.get(type(actual)), dt.get(type(expected))], rtol, atol, id)
    if check_dtype and type(actual) is not type(expected):
        raise _Failure(
            AssertionError,
            f"The (d)types do not match: {type(actual)} != {type(expected)}.",
            id,
        )
    if actual == expected:
        return
    if equal_nan and math.isnan(actual) and math.isnan(expected):
        return
    abs_diff = abs(actual - expected)
    if math.isfinite(abs_diff) and abs_diff <= a + r * abs(expected):
        return
    raise _Failure(AssertionError, _scalar_mismatch_msg(actual, expected, r, a), id)


def _to_tensor(x: Any) -> Any:
    if isinstance(x, rtorch.Tensor):
        return x
    return rtorch.as_tensor(x)


def _compare_tensors(
    actual: Any,
    expected: Any,
    rtol: float | None,
    atol: float | None,
    equal_nan: bool,
    check_dtype: bool,
    check_device: bool,
    check_stride: bool,
    id: tuple[Any, ...],
) -> None:
    actual = _to_tensor(actual).detach()
    expected = _to_tensor(expected).detach()
    r, a = _tolerances([actual.dtype, expected.dtype], rtol, atol, id)

    def mismatch(attr: str, x: Any, y: Any) -> None:
        raise _Failure(
            AssertionError, f"The values for attribute '{attr}' do not match: {x} != {y}.", id
        )

    if actual.shape != expected.shape:
        mismatch("shape", actual.shape, expected.shape)
    if check_stride and actual.stride() != expected.stride():
        mismatch("stride()", actual.stride(), expected.stride())
    if check_device and actual.device != expected.device:
        mismatch("device", actual.device, expected.device)
    if check_dtype and actual.dtype != expected.dtype:
        mismatch("dtype", actual.dtype, expected.dtype)

    dtype = actual.dtype
    if actual.dtype != expected.dtype:
        dtype = rtorch.promote_types(actual.dtype, expected.dtype)
        actual = actual.to(dtype)
        expected = expected.to(dtype)

    xs = _flat(actual)
    ys = _flat(expected)
    floating = dtype.is_floating_point
    rnd = _rounder(dtype) if floating else float

    # isclose, elementwise, with the dtype's rounding.
    matches: list[bool] = []
    for x, y in zip(xs, ys):
        if x == y:
            matches.append(True)
            continue
        if floating:
            if math.isnan(x) or math.isnan(y):
                matches.append(equal_nan and math.isnan(x) and math.isnan(y))
                continue
            err = rnd(abs(rnd(x - y)))
            allowed = rnd(a + rnd(abs(rnd(r * y))))
        else:
            err = abs(x - y)
            allowed = a + r * abs(y)
        matches.append(math.isfinite(err) and err <= allowed)
    if all(matches):
        return

    if actual.dim() == 0:
        text = _scalar_mismatch_msg(actual.item(), expected.item(), r, a)
        raise _Failure(AssertionError, text, id)

    n = len(xs)
    mismatched = n - sum(matches)
    extra = f"Mismatched elements: {mismatched} / {n} ({mismatched / n:.1%})"
    abs_diffs: list[Any] = []
    rel_diffs: list[Any] = []
    for x, y, ok in zip(xs, ys, matches):
        if floating:
            d = rnd(abs(x - y)) if not (math.isinf(x) and x == y) else math.nan
            if math.isnan(x) or math.isnan(y):
                d = math.nan
            den = abs(y)
            if den == 0:
                rel = math.nan if d == 0 or math.isnan(d) else math.inf
            else:
                rel = rnd(d / den)
        else:
            d = abs(int(x) - int(y))
            den = abs(int(y))
            # int64 / int64 is true division in the default float dtype.
            rd = _rounder(rtorch.get_default_dtype())
            if den == 0:
                rel = math.nan if d == 0 else math.inf
            else:
                rel = rd(rd(float(d)) / rd(float(den)))
        abs_diffs.append(0 if ok and not floating else (0.0 if ok else d))
        rel_diffs.append(0.0 if ok else rel)

    def argmax(vals: list[Any]) -> int:
        best = 0
        for i, v in enumerate(vals):
            if isinstance(v, float) and math.isnan(v):
                return i
            if v > vals[best]:
                best = i
        return best

    shape = tuple(actual.shape)

    def unravel(flat: int) -> tuple[int, ...]:
        idx = []
        for size in shape[::-1]:
            flat, mod = divmod(flat, size)
            idx.append(mod)
        return tuple(idx[::-1])

    ia = argmax(abs_diffs)
    ir = argmax(rel_diffs)
    text = _make_mismatch_msg(
        None,
        "Tensor-likes",
        extra,
        abs_diffs[ia],
        unravel(ia),
        a,
        rel_diffs[ir],
        unravel(ir),
        r,
    )
    raise _Failure(AssertionError, text, id)


def _compare(actual: Any, expected: Any, id: tuple[Any, ...], **kw: Any) -> None:
    if actual is None or expected is None:
        if not (actual is None and expected is None):
            raise _Failure(AssertionError, f"None mismatch: {actual} is not {expected}", id)
        return
    if isinstance(actual, bool) and isinstance(expected, bool):
        if actual != expected:
            raise _Failure(AssertionError, f"Booleans mismatch: {actual} is not {expected}", id)
        return
    if _is_tensor_like(actual) and _is_tensor_like(expected):
        _compare_tensors(actual, expected, id=id, **kw)
        return
    if _is_number(actual) and _is_number(expected):
        _compare_numbers(
            actual, expected, kw["rtol"], kw["atol"], kw["equal_nan"], kw["check_dtype"], id
        )
        return
    seq = (collections.abc.Sequence,)
    if (
        isinstance(actual, seq)
        and isinstance(expected, seq)
        and not isinstance(actual, str)
        and not isinstance(expected, str)
    ):
        if len(actual) != len(expected):
            raise _Failure(
                AssertionError,
                f"The length of the sequences mismatch: {len(actual)} != {len(expected)}",
                id,
            )
        for i, (x, y) in enumerate(zip(actual, expected)):
            _compare(x, y, id + (i,), **kw)
        return
    if isinstance(actual, collections.abc.Mapping) and isinstance(
        expected, collections.abc.Mapping
    ):
        ka, ke = set(actual.keys()), set(expected.keys())
        if ka != ke:
            missing = ke - ka
            extra = ka - ke
            raise _Failure(
                AssertionError,
                f"The keys of the mappings do not match:\n"
                f"Missing keys in the actual mapping: {sorted(missing, key=repr)}\n"
                f"Extra keys in the actual mapping: {sorted(extra, key=repr)}",
                id,
            )
        for k in actual:
            _compare(actual[k], expected[k], id + (k,), **kw)
        return
    raise _Failure(
        TypeError,
        f"No comparison pair was able to handle inputs of type {type(actual)} "
        f"and {type(expected)}.",
    )


def assert_close(
    actual: Any,
    expected: Any,
    *,
    allow_subclasses: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg: Msg = None,
) -> None:
    """Asserts that ``actual`` and ``expected`` are close, as ``torch.testing.assert_close``.

    Tensors (and numpy arrays), Python numbers, and sequences or mappings of them are
    compared; the default ``rtol``/``atol`` depend on the dtype (float32: 1.3e-6/1e-5,
    float64: 1e-7/1e-7, float16: 1e-3/1e-5, bfloat16: 1.6e-2/1e-5, integers and bool:
    exact). Raises ``AssertionError`` with PyTorch's message on a mismatch.
    """
    del allow_subclasses, check_layout
    try:
        _compare(
            actual,
            expected,
            (),
            rtol=rtol,
            atol=atol,
            equal_nan=equal_nan,
            check_dtype=check_dtype,
            check_device=check_device,
            check_stride=check_stride,
        )
    except _Failure as f:
        text = f.msg
        if isinstance(msg, str):
            text = msg
        else:
            if f.id:
                text += "\n\nThe failure occurred for item " + "".join(str([i]) for i in f.id)
            if callable(msg):
                text = msg(text)
        raise f.kind(text) from None


def make_tensor(
    *shape: Any,
    dtype: Any,
    device: Any = None,
    low: float | None = None,
    high: float | None = None,
    requires_grad: bool = False,
    noncontiguous: bool = False,
    exclude_zero: bool = False,
    memory_format: Any = None,
) -> Any:
    """A tensor of the given shape and dtype filled with uniform random values.

    As ``torch.testing.make_tensor``: floats in ``[low, high)`` (default ``[-9, 9)``),
    integers in ``[low, high)`` (default ``[-9, 10)``, ``[0, 10)`` for uint8), bools at
    random. The values come from Python's ``random`` module, not rtorch's generator.
    """
    del device, memory_format
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    dims = [int(s) for s in shape]
    n = 1
    for d in dims:
        n *= d
    if dtype == rtorch.bool:
        vals: list[Any] = [_random.random() < 0.5 for _ in range(n)]
    elif dtype.is_floating_point:
        lo = -9.0 if low is None else float(low)
        hi = 9.0 if high is None else float(high)
        if lo > hi:
            raise ValueError(f"`low` must be less than or equal to `high`, but got {lo} > {hi}")
        vals = [lo + (hi - lo) * _random.random() for _ in range(n)]
        if exclude_zero:
            tiny = 1e-3 if dtype in (rtorch.float16, rtorch.bfloat16) else 1e-6
            vals = [tiny if v == 0 else v for v in vals]
    else:
        lo_default = 0 if dtype == rtorch.uint8 else -9
        lo = lo_default if low is None else math.ceil(low)
        hi = 10 if high is None else math.ceil(high)
        if lo >= hi:
            hi = lo + 1
        vals = [_random.randrange(lo, hi) for _ in range(n)]
        if exclude_zero:
            vals = [1 if v == 0 else v for v in vals]
    t = rtorch.tensor(vals, dtype=dtype).reshape(dims)
    if noncontiguous and n > 1 and dims:
        # Every other element of a buffer twice as large: stride 2 in the last dim.
        view = rtorch.zeros(*dims, 2, dtype=dtype).select(-1, 0)
        view.copy_(t)
        t = view
    if requires_grad:
        t.requires_grad_(True)
    return t
