"""Bad input gets PyTorch's exception, never a panic or a crash (issues 7 and 8).

Expected classes and messages are PyTorch 2.15's, checked by hand against it.
"""

import sys

import numpy as np
import pytest

import rtorch

# ----- the last line of defence -----


def test_a_panic_reaches_python_as_runtime_error_naming_the_op():
    with pytest.raises(RuntimeError) as e:
        rtorch._C._panic_for_test()
    msg = str(e.value)
    # The call as written on the calling line (Python 3.11+ knows its position).
    if sys.version_info >= (3, 11):
        assert msg.startswith("rtorch._C._panic_for_test(): internal error")
    assert "internal error" in msg and "please report it" in msg
    assert "Rust panic at rust/rtorch-python/src/error.rs:" in msg
    assert "deliberate panic for the test suite" in msg
    # Ordinary error handling keeps working.
    with pytest.raises(Exception):  # noqa: B017 (the point: it is an Exception)
        rtorch._C._panic_for_test()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="code positions are Python 3.11+")
def test_the_panicking_call_is_named_as_written():
    from rtorch._panics import call_source

    panic = rtorch._C._panic_for_test
    with pytest.raises(RuntimeError, match=r"^panic\(\): internal error"):
        _ = [1, panic(
        )]  # fmt: skip

    class Probe:
        def method(self, *args):
            return call_source(sys._getframe(1))

        def __add__(self, other):
            return call_source(sys._getframe(1))

    # (Results go to variables first: pytest rewrites the assert statements.)
    p = Probe()
    plain = p.method(1, [2, 3])
    nested = p.method(
        p.method(),
    )  # fmt: skip
    operator = p + 1
    assert (plain, nested, operator) == ("p.method()", "p.method()", "p + 1")


# ----- issue 8 findings -----


def test_clamp_inplace_with_a_broadcasting_bound():
    with pytest.raises(
        RuntimeError, match=r"output with shape \[\] doesn't match the broadcast shape \[0\]"
    ):
        rtorch.clamp_(rtorch.tensor(3.0), rtorch.tensor([]))
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        rtorch.tensor(3.0).clip_(rtorch.tensor([]))


def test_chunk_and_tensor_split_with_huge_counts():
    with pytest.raises(RuntimeError, match="cannot create std::vector larger than max_size()"):
        rtorch.chunk(rtorch.tensor([]), 2**62)
    with pytest.raises(RuntimeError, match="cannot create std::vector larger than max_size()"):
        rtorch.tensor_split(rtorch.tensor([]), 2**62)
    assert len(rtorch.chunk(rtorch.tensor([]), 3)) == 3


def test_mode_of_empty():
    with pytest.raises(
        IndexError, match=r"mode\(\): Expected reduction dim 0 to have non-zero size."
    ):
        rtorch.mode(rtorch.tensor([]))
    v, i = rtorch.mode(rtorch.zeros(0, 3), 1)
    assert v.shape == (0,) and i.shape == (0,)


def test_split_family_on_0_dim():
    msg = "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims"
    with pytest.raises(RuntimeError, match=msg):
        rtorch.tensor_split(rtorch.tensor(3.0), 1)
    with pytest.raises(RuntimeError, match=msg):
        rtorch.tensor_split(rtorch.tensor(3.0), [1, 2])
    with pytest.raises(RuntimeError, match="split expects at least a 1-dimensional tensor"):
        rtorch.split(rtorch.tensor(3.0), 1)
    with pytest.raises(RuntimeError, match="split expects at least a 1-dimensional tensor"):
        rtorch.split(rtorch.tensor(3.0), [1])


@pytest.mark.parametrize(
    "make",
    [
        lambda: rtorch.arange(2, 2**62),
        lambda: rtorch.arange(2**62),
        lambda: rtorch.range(0, 2**62),
        lambda: rtorch.randperm(2**62),
        lambda: rtorch.linspace(0, 1, 2**62),
        lambda: rtorch.logspace(0, 1, 2**62),
    ],
)
def test_huge_ranges_raise_before_allocating(make):
    with pytest.raises(
        RuntimeError, match="Storage size calculation overflowed|can't allocate memory"
    ):
        make()


def test_range_of_infinity():
    # PyTorch says "unsupported range: 0 -> inf"; rtorch names the argument instead.
    with pytest.raises(RuntimeError, match="unsupported range: .* -> inf"):
        rtorch.range(0, float("inf"))


# ----- allocation -----


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: rtorch.empty(2**62),
            "Storage size calculation overflowed with sizes=[4611686018427387904]",
        ),
        (
            lambda: rtorch.zeros(2**40, 2**40),
            "Storage size calculation overflowed with sizes=[1099511627776, 1099511627776]",
        ),
        (lambda: rtorch.ones(2).new_empty(2**62), "Storage size calculation overflowed"),
        (lambda: rtorch.ones(1).repeat(2**62), "Storage size calculation overflowed"),
        (lambda: rtorch.ones(1).expand(2**62).contiguous(), "Storage size calculation overflowed"),
        (
            lambda: rtorch.empty_strided((9,), (2**61,)),
            "Storage size calculation overflowed with sizes=[9] and strides=[2305843009213693952]",
        ),
        (
            lambda: rtorch.empty(2**60),
            "can't allocate memory: you tried to allocate 4611686018427387904 bytes",
        ),
    ],
)
def test_sizes_that_cannot_exist_raise(make, message):
    with pytest.raises(RuntimeError) as e:
        make()
    assert message in str(e.value)


def test_view_with_a_wrapping_size():
    with pytest.raises(RuntimeError, match="is invalid for input of size 4"):
        rtorch.ones(4).view(2**62, -1)
    with pytest.raises(RuntimeError, match="is invalid for input of size 0"):
        rtorch.ones(0).view(2**32, 2**32)  # the product wraps to 0 in 64 bits
    assert rtorch.ones(0).view(2**32, 2**32, 0).shape == (2**32, 2**32, 0)


def test_expand_whose_numel_overflows():
    with pytest.raises(RuntimeError, match="numel: integer multiplication overflow"):
        rtorch.ones(1).expand(2**40, 2**40)
    assert rtorch.ones(1).expand(2**40, 0).shape == (2**40, 0)


def test_empty_strided_reads_inside_its_storage():
    t = rtorch.empty_strided((3,), (2,))
    assert t.untyped_storage().nbytes() == 5 * 4
    assert t[2].item() == 0.0


# ----- integer extremes -----

INT_DTYPES = [
    (rtorch.int8, np.int8),
    (rtorch.int16, np.int16),
    (rtorch.int32, np.int32),
    (rtorch.int64, np.int64),
    (rtorch.uint8, np.uint8),
]


def _extremes(np_dtype):
    info = np.iinfo(np_dtype)
    vals = (
        [info.min, info.max, 0, 1, 2, -1, -2] if info.min < 0 else [0, 1, 2, info.max, info.max - 1]
    )
    return np.array(vals, dtype=np_dtype)


def test_floor_divide_of_int64_min_by_minus_one_wraps():
    x = rtorch.tensor([-(2**63)])
    assert (x // -1).tolist() == [-(2**63)]
    assert rtorch.floor_divide(x, -1).tolist() == [-(2**63)]
    assert (x % -1).tolist() == [0]
    assert rtorch.fmod(x, -1).tolist() == [0]
    assert rtorch.div(x, -1, rounding_mode="trunc").tolist() == [-(2**63)]


@pytest.mark.parametrize("dt, npdt", INT_DTYPES)
def test_wrapping_binary_ops_match_numpy(dt, npdt):
    a_np = _extremes(npdt)
    a = rtorch.from_numpy(a_np.copy())
    for b_np in (a_np[::-1].copy(), np.full_like(a_np, a_np[1])):
        b = rtorch.from_numpy(b_np.copy())
        with np.errstate(all="ignore"):
            cases = {
                "add": (a + b, a_np + b_np),
                "sub": (a - b, a_np - b_np),
                "mul": (a * b, a_np * b_np),
                "and": (a & b, a_np & b_np),
                "or": (a | b, a_np | b_np),
                "xor": (a ^ b, a_np ^ b_np),
            }
        for name, (got, want) in cases.items():
            assert got.dtype == dt, name
            assert got.tolist() == want.tolist(), name
        nz = b_np != 0
        if nz.all():
            with np.errstate(all="ignore"):
                assert (a // b).tolist() == (a_np // b_np).tolist()
                assert (a % b).tolist() == (a_np % b_np).tolist()


@pytest.mark.parametrize("dt, npdt", INT_DTYPES)
def test_every_op_over_integer_extremes_raises_only_ordinary_errors(dt, npdt):
    a = rtorch.from_numpy(_extremes(npdt))
    b = a.flip(0)
    scalars = [0, 1, -1, 2, 63, 64, 70, -(2**63), 2**63 - 1]
    binary = [
        "add", "sub", "mul", "div", "floor_divide", "remainder", "fmod", "pow",
        "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
        "bitwise_right_shift", "maximum", "minimum", "eq", "lt", "true_divide",
        "__lshift__", "__rshift__", "__floordiv__", "__mod__", "__pow__", "__rpow__",
        "__rfloordiv__", "__rmod__", "__rsub__", "__truediv__",
    ]  # fmt: skip
    unary = [
        "neg", "abs", "sign", "square", "bitwise_not", "float", "double", "half",
        "bfloat16", "byte", "char", "short", "int", "long", "bool", "sum", "prod",
        "cumsum", "cumprod", "max", "min", "argmax", "sort", "unique", "mode", "median",
        "exp", "sqrt", "reciprocal", "clone", "tolist",
    ]  # fmt: skip
    for name in binary:
        f = getattr(rtorch.Tensor, name, None) or getattr(rtorch, name)
        for other in [b, *scalars]:
            try:
                f(a, other)
            except (RuntimeError, TypeError, ValueError, OverflowError, ZeroDivisionError):
                pass
    for name in unary:
        try:
            getattr(a, name)()
        except (RuntimeError, TypeError, ValueError, NotImplementedError):
            pass
    for target in (rtorch.int8, rtorch.uint8, rtorch.int64, rtorch.float16):
        a.to(target)


@pytest.mark.parametrize("dt, npdt", INT_DTYPES)
def test_shifts_by_out_of_range_amounts(dt, npdt):
    a_np = _extremes(npdt)
    a = rtorch.from_numpy(a_np.copy())
    # PyTorch: shifting by >= the width gives 0 (left) or the sign fill (right).
    assert (a << 70).tolist() == [0] * len(a_np)
    assert (a >> 70).tolist() == [-1 if v < 0 else 0 for v in a_np.tolist()]


# ----- overlapping writes (issue 7) -----

OVERLAP = "unsupported operation: more than one element of the written-to tensor refers to a single memory location"


@pytest.mark.parametrize(
    "write",
    [
        lambda t: t.exp_(),
        lambda t: t.add_(rtorch.ones(3, 4)),
        lambda t: t.add_(1),
        lambda t: t.mul_(2.0),
        lambda t: t.clamp_(0.0, 1.0),
        lambda t: t.copy_(rtorch.ones(3, 4)),
        lambda t: t.neg_(),
        lambda t: t.normal_(),
        lambda t: t.lt_(1.0),
    ],
)
def test_in_place_write_into_expanded_tensor_raises(write):
    base = rtorch.tensor([0.0, 0.5, 1.0, 1.5])
    t = base.expand(3, 4)
    with pytest.raises(RuntimeError) as e:
        write(t)
    assert OVERLAP in str(e.value)
    assert base.tolist() == [0.0, 0.5, 1.0, 1.5]


def test_large_expanded_write_raises_instead_of_racing():
    t = rtorch.zeros(100_000).expand(4, 100_000)
    with pytest.raises(RuntimeError, match="more than one element"):
        t.add_(1.0)


def test_writes_that_do_not_overlap_are_still_allowed():
    base = rtorch.zeros(4)
    base.expand(3, 4)[0].add_(1.0)  # one row: no shared elements
    assert base.tolist() == [1.0] * 4
    base.expand(3, 4).fill_(2.0)  # PyTorch allows fills (every write stores the same value)
    assert base.tolist() == [2.0] * 4
    base.expand(3, 4).zero_()
    assert base.tolist() == [0.0] * 4
    one = rtorch.zeros(1).expand(1, 1)  # stride 0 over a size-1 dim shares nothing
    one.add_(1.0)
    assert one.item() == 1.0


def test_partial_overlap_of_input_and_output_raises_as_pytorch():
    # PyTorch 2.15 refuses a write whose input partly overlaps the written-to tensor.
    x = rtorch.arange(6.0)
    with pytest.raises(RuntimeError, match="refer to a single memory location"):
        x[1:].add_(x[:-1])
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    y = rtorch.arange(6.0)
    with pytest.raises(RuntimeError, match="refer to a single memory location"):
        y[1:].copy_(y[:-1])
    assert y.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def test_narrow_errors_match_pytorch():
    # Found by scripts/bad_input_sweep.py: narrow of a 0-dim tensor panicked (reached
    # through cumulative_trapezoid with a 0-dim x).
    with pytest.raises(RuntimeError, match="narrow\\(\\) cannot be applied to a 0-dim tensor"):
        rtorch.tensor(1.0).narrow(0, 0, 1)
    with pytest.raises(RuntimeError):
        rtorch.cumulative_trapezoid(rtorch.ones(2, 3), rtorch.tensor(2.0))
    x = rtorch.arange(5.0)
    with pytest.raises(
        IndexError, match=r"start out of range \(expected to be in range of \[-5, 5\], but got 6\)"
    ):
        x.narrow(0, 6, 0)
    with pytest.raises(IndexError, match="start out of range"):
        x.narrow(0, 2**62, 2**62)
    with pytest.raises(RuntimeError, match="length must be non-negative"):
        x.narrow(0, 1, -1)
    with pytest.raises(
        RuntimeError, match=r"start \(4\) \+ length \(9223372036854775807\) exceeds"
    ):
        x.narrow(0, -1, 2**63 - 1)
    assert x.narrow(0, -2, 2).tolist() == [3.0, 4.0]
    assert x.narrow(0, 5, 0).tolist() == []
