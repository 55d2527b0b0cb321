"""rtorch.testing.assert_close / make_tensor; messages checked against PyTorch 2.x."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rtorch
from rtorch.testing import assert_close, make_tensor


def _msg(fn) -> str:
    with pytest.raises(AssertionError) as info:
        fn()
    return str(info.value)


def test_close_tensors_pass() -> None:
    a = rtorch.tensor([1.0, 2.0, 3.0])
    assert_close(a, a.clone())
    assert_close(a, a + 1e-6)  # inside float32's atol 1e-5
    assert_close(rtorch.tensor([1, 2]), rtorch.tensor([1, 2]))
    assert_close(rtorch.tensor(True), rtorch.tensor(True))
    assert_close(rtorch.empty(0), rtorch.empty(0))
    assert_close(rtorch.tensor([1.0, math.inf]), rtorch.tensor([1.0, math.inf]))


def test_mismatch_message_float32() -> None:
    m = _msg(lambda: assert_close(rtorch.tensor([1.0, 2.0, 3.0]), rtorch.tensor([1.0, 2.5, 3.0])))
    assert m == (
        "Tensor-likes are not close!\n\n"
        "Mismatched elements: 1 / 3 (33.3%)\n"
        "Greatest absolute difference: 0.5 at index (1,) (up to 1e-05 allowed)\n"
        "Greatest relative difference: 0.20000000298023224 at index (1,) (up to 1.3e-06 allowed)"
    )


def test_mismatch_message_2d_and_ties() -> None:
    m = _msg(
        lambda: assert_close(
            rtorch.tensor([[1.0, 2.0], [0.0, 4.0]]), rtorch.tensor([[1.0, 2.0], [0.1, 4.1]])
        )
    )
    assert m == (
        "Tensor-likes are not close!\n\n"
        "Mismatched elements: 2 / 4 (50.0%)\n"
        "Greatest absolute difference: 0.10000000149011612 at index (1, 0) (up to 1e-05 allowed)\n"
        "Greatest relative difference: 1.0 at index (1, 0) (up to 1.3e-06 allowed)"
    )


def test_float64_tolerances_and_message() -> None:
    f64 = rtorch.float64
    assert_close(rtorch.tensor([1.0], dtype=f64), rtorch.tensor([1.0 + 5e-8], dtype=f64))
    m = _msg(
        lambda: assert_close(
            rtorch.tensor([1.0, 2.0], dtype=f64), rtorch.tensor([1.0, 2.5], dtype=f64)
        )
    )
    assert m.endswith(
        "Greatest absolute difference: 0.5 at index (1,) (up to 1e-07 allowed)\n"
        "Greatest relative difference: 0.2 at index (1,) (up to 1e-07 allowed)"
    )


def test_zero_expected_gives_relative_difference_one() -> None:
    m = _msg(lambda: assert_close(rtorch.tensor([0.0, 2.0]), rtorch.tensor([1e-3, 2.0])))
    assert "Greatest absolute difference: 0.0010000000474974513 at index (0,)" in m
    assert "Greatest relative difference: 1.0 at index (0,)" in m
    assert_close(rtorch.tensor([0.0, 2.0]), rtorch.tensor([1e-6, 2.0]))


def test_half_precision_defaults() -> None:
    h = rtorch.float16
    assert_close(rtorch.tensor([1.0, 2.0], dtype=h), rtorch.tensor([1.0, 2.001], dtype=h))
    b = rtorch.bfloat16
    assert_close(rtorch.tensor([100.0], dtype=b), rtorch.tensor([101.0], dtype=b))
    with pytest.raises(AssertionError, match="up to 0.016 allowed"):
        assert_close(rtorch.tensor([100.0], dtype=b), rtorch.tensor([104.0], dtype=b))


def test_integers_are_exact() -> None:
    m = _msg(lambda: assert_close(rtorch.tensor([1, 2]), rtorch.tensor([1, 3])))
    assert m == (
        "Tensor-likes are not equal!\n\n"
        "Mismatched elements: 1 / 2 (50.0%)\n"
        "Greatest absolute difference: 1 at index (1,)\n"
        "Greatest relative difference: 0.3333333432674408 at index (1,)"
    )
    u8 = rtorch.uint8
    with pytest.raises(AssertionError, match="not equal"):
        assert_close(rtorch.tensor([1, 2], dtype=u8), rtorch.tensor([1, 3], dtype=u8))
    m = _msg(lambda: assert_close(rtorch.tensor([True, False]), rtorch.tensor([True, True])))
    assert "Greatest relative difference: 1.0 at index (1,)" in m


def test_nan_handling() -> None:
    nan = float("nan")
    m = _msg(lambda: assert_close(rtorch.tensor([1.0, nan]), rtorch.tensor([1.0, nan])))
    assert "Greatest absolute difference: nan at index (1,)" in m
    assert_close(rtorch.tensor([1.0, nan]), rtorch.tensor([1.0, nan]), equal_nan=True)
    m = _msg(lambda: assert_close(rtorch.tensor([1.0, math.inf]), rtorch.tensor([1.0, -math.inf])))
    assert "Greatest absolute difference: inf at index (1,)" in m


def test_attribute_checks() -> None:
    m = _msg(lambda: assert_close(rtorch.tensor([1, 2]), rtorch.tensor([1.0, 2.0])))
    assert m == "The values for attribute 'dtype' do not match: torch.int64 != torch.float32."
    assert_close(rtorch.tensor([1, 2]), rtorch.tensor([1.0, 2.0]), check_dtype=False)
    m = _msg(lambda: assert_close(rtorch.tensor([1.0, 2.0]), rtorch.tensor([[1.0, 2.0]])))
    assert m == (
        "The values for attribute 'shape' do not match: torch.Size([2]) != torch.Size([1, 2])."
    )
    # Mixed dtypes are compared after promotion, with the looser tolerance.
    m = _msg(
        lambda: assert_close(
            rtorch.tensor([1.0, 2.0]),
            rtorch.tensor([1.0, 2.001], dtype=rtorch.float64),
            check_dtype=False,
        )
    )
    assert "Greatest absolute difference: 0.0009999999999998899 at index (1,)" in m
    assert "(up to 1e-05 allowed)" in m


def test_explicit_tolerances() -> None:
    a, b = rtorch.tensor([1.0, 2.0]), rtorch.tensor([1.0, 2.1])
    assert_close(a, b, rtol=0.1, atol=0.0)
    m = _msg(lambda: assert_close(a, b, rtol=0, atol=0))
    assert m.startswith("Tensor-likes are not equal!")
    assert "allowed" not in m
    with pytest.raises(ValueError, match="Both 'rtol' and 'atol' must be either specified"):
        assert_close(a, a, rtol=0)


def test_scalars_sequences_mappings() -> None:
    m = _msg(lambda: assert_close(1.0, 1.1))
    assert m == (
        "Scalars are not close!\n\nExpected 1.1 but got 1.0.\n"
        "Absolute difference: 0.10000000000000009 (up to 1e-07 allowed)\n"
        "Relative difference: 0.09090909090909098 (up to 1e-07 allowed)"
    )
    m = _msg(lambda: assert_close(1, 2))
    assert m == (
        "Scalars are not equal!\n\nExpected 2 but got 1.\n"
        "Absolute difference: 1\nRelative difference: 0.5"
    )
    m = _msg(lambda: assert_close([1.0, 2.0, 3.0], [1.0, 2.0, 3.5]))
    assert m.endswith("\n\nThe failure occurred for item [2]")
    m = _msg(
        lambda: assert_close([rtorch.tensor([1.0]), [2.0, 3.0]], [rtorch.tensor([1.0]), [2.0, 3.5]])
    )
    assert m.endswith("The failure occurred for item [1][1]")
    m = _msg(lambda: assert_close({"a": 1.0}, {"a": 1.5}))
    assert m.endswith("The failure occurred for item ['a']")
    assert _msg(lambda: assert_close([1.0, 2.0], [1.0, 2.0, 3.0])) == (
        "The length of the sequences mismatch: 2 != 3"
    )
    assert _msg(lambda: assert_close(True, False)) == "Booleans mismatch: True is not False"
    assert _msg(lambda: assert_close(1, 1.0)) == (
        "The (d)types do not match: <class 'int'> != <class 'float'>."
    )
    assert_close(None, None)
    assert_close((1.0, 2), [1.0, 2])


def test_zero_dim_tensors_report_as_scalars() -> None:
    m = _msg(lambda: assert_close(rtorch.tensor(1.0), rtorch.tensor(1.5)))
    assert m == (
        "Scalars are not close!\n\nExpected 1.5 but got 1.0.\n"
        "Absolute difference: 0.5 (up to 1e-05 allowed)\n"
        "Relative difference: 0.3333333333333333 (up to 1.3e-06 allowed)"
    )


def test_unsupported_pairs_raise_type_error() -> None:
    with pytest.raises(TypeError, match="No comparison pair was able to handle inputs"):
        assert_close(rtorch.tensor([1.0]), [1.0])
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(1.0, rtorch.tensor(1.0))
    with pytest.raises(TypeError, match="<class 'str'> and <class 'str'>"):
        assert_close("a", "b")


def test_custom_messages() -> None:
    a, b = rtorch.tensor([1.0, 2.0]), rtorch.tensor([1.0, 2.1])
    assert _msg(lambda: assert_close(a, b, msg="custom")) == "custom"
    m = _msg(lambda: assert_close(a, b, msg=lambda s: "X" + s))
    assert m.startswith("XTensor-likes are not close!")


def test_noncontiguous_and_numpy_inputs() -> None:
    base = rtorch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert_close(base.t(), rtorch.tensor([[1.0, 3.0], [2.0, 4.0]]))
    assert_close(base.t(), base.t().contiguous(), check_stride=False)
    with pytest.raises(AssertionError, match="stride"):
        assert_close(base.t(), base.t().contiguous(), check_stride=True)
    assert_close(base, np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
    assert_close(rtorch.tensor([1.0, 2.0], requires_grad=True), rtorch.tensor([1.0, 2.0]))


@pytest.mark.parametrize(
    "dtype",
    [
        rtorch.float32,
        rtorch.float64,
        rtorch.float16,
        rtorch.bfloat16,
        rtorch.int64,
        rtorch.int32,
        rtorch.int16,
        rtorch.int8,
        rtorch.uint8,
        rtorch.bool,
    ],
)
def test_make_tensor(dtype) -> None:
    t = make_tensor(3, 4, dtype=dtype, device="cpu")
    assert t.shape == (3, 4) and t.dtype is dtype and t.is_contiguous()
    vals = [v for row in t.tolist() for v in row]
    if dtype.is_floating_point:
        assert all(-9 <= v <= 9 for v in vals)
    elif dtype == rtorch.uint8:
        assert all(0 <= v < 10 for v in vals)
    elif dtype != rtorch.bool:
        assert all(-9 <= v < 10 for v in vals)
    nc = make_tensor((2, 5), dtype=dtype, noncontiguous=True)
    assert nc.shape == (2, 5) and not nc.is_contiguous()
    g = make_tensor(2, dtype=rtorch.float64, low=1, high=2, requires_grad=True)
    assert g.requires_grad and all(1 <= v <= 2 for v in g.tolist())
    z = make_tensor(50, dtype=dtype if dtype != rtorch.bool else rtorch.int8, exclude_zero=True)
    assert 0 not in z.tolist()
