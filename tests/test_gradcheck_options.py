"""gradcheck/gradgradcheck options that rtorch does not implement raise instead of passing
silently (issue 7)."""

import pytest

import rtorch
from rtorch.autograd import gradcheck, gradgradcheck


def _x():
    return rtorch.tensor([0.5, -1.5], dtype=rtorch.float64, requires_grad=True)


@pytest.mark.parametrize(
    "option",
    [
        "check_batched_grad",
        "check_batched_forward_grad",
        "check_forward_ad",
        "fast_mode",
        "masked",
        "check_grad_dtypes",
    ],
)
def test_gradcheck_unimplemented_option_raises(option):
    with pytest.raises(NotImplementedError, match=option):
        gradcheck(rtorch.sin, (_x(),), **{option: True})


@pytest.mark.parametrize(
    "option",
    [
        "check_batched_grad",
        "check_fwd_over_rev",
        "fast_mode",
        "masked",
        "gen_non_contig_grad_outputs",
        "check_grad_dtypes",
    ],
)
def test_gradgradcheck_unimplemented_option_raises(option):
    with pytest.raises(NotImplementedError, match=option):
        gradgradcheck(rtorch.sin, (_x(),), **{option: True})


def test_defaults_and_explicit_false_still_check():
    assert gradcheck(rtorch.sin, (_x(),), check_batched_grad=False, fast_mode=False)
    assert gradgradcheck(rtorch.sin, (_x(),))
    with pytest.raises(ValueError, match="check_forward_ad or check_backward_ad"):
        gradcheck(rtorch.sin, (_x(),), check_backward_ad=False)
