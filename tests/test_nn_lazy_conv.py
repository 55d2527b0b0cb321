"""LazyConv1d/2d/3d and LazyConvTranspose1d/2d/3d: PyTorch's names, module path,
constructor parameters, repr before and after the first call, and the class each one
becomes (they share their constructors through two private bases)."""

import inspect

import numpy as np
import pytest

import rtorch
import rtorch.nn.functional as F
from rtorch import nn
from rtorch.nn.modules import conv as conv_module

CONV_PARAMS = [
    "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias",
    "padding_mode", "device", "dtype",
]  # fmt: skip
TRANSPOSE_PARAMS = [
    "out_channels", "kernel_size", "stride", "padding", "output_padding", "groups", "bias",
    "dilation", "padding_mode", "device", "dtype",
]  # fmt: skip
LAZY = [
    ("LazyConv1d", "Conv1d", 1, CONV_PARAMS),
    ("LazyConv2d", "Conv2d", 2, CONV_PARAMS),
    ("LazyConv3d", "Conv3d", 3, CONV_PARAMS),
    ("LazyConvTranspose1d", "ConvTranspose1d", 1, TRANSPOSE_PARAMS),
    ("LazyConvTranspose2d", "ConvTranspose2d", 2, TRANSPOSE_PARAMS),
    ("LazyConvTranspose3d", "ConvTranspose3d", 3, TRANSPOSE_PARAMS),
]


@pytest.mark.parametrize("name, becomes, nd, params", LAZY)
def test_names_paths_and_signatures(name, becomes, nd, params):
    cls = getattr(nn, name)
    assert cls is getattr(conv_module, name) and name in conv_module.__all__
    assert cls.__module__ == "rtorch.nn.modules.conv" and cls.__qualname__ == name
    assert cls.cls_to_become is getattr(nn, becomes)
    assert issubclass(cls, getattr(nn, becomes))
    signature = inspect.signature(cls)
    assert list(signature.parameters) == params
    defaults = {k: v.default for k, v in signature.parameters.items()}
    assert defaults["stride"] == 1 and defaults["bias"] is True
    assert defaults["padding_mode"] == "zeros" and defaults["groups"] == 1


@pytest.mark.parametrize("name, becomes, nd, params", LAZY)
def test_first_call_infers_in_channels_and_becomes_the_layer(name, becomes, nd, params):
    m = getattr(nn, name)(4, 3, padding=1, bias=True)
    k, one = (3,) * nd, (1,) * nd  # tuples print as Python prints them: (3,), (3, 3)
    assert repr(m) == f"{name}(0, 4, kernel_size={k}, stride={one}, padding={one})"
    assert m.has_uninitialized_params() and m._get_num_spatial_dims() == nd
    x = rtorch.randn(2, 6, *([4] * nd))
    y = m(x)
    assert type(m) is getattr(nn, becomes)
    assert repr(m) == f"{becomes}(6, 4, kernel_size={k}, stride={one}, padding={one})"
    transposed = "Transpose" in name
    expected_weight = (6, 4, *([3] * nd)) if transposed else (4, 6, *([3] * nd))
    assert tuple(m.weight.shape) == expected_weight and tuple(m.bias.shape) == (4,)
    fn = getattr(F, f"conv_transpose{nd}d" if transposed else f"conv{nd}d")
    np.testing.assert_array_equal(
        y.detach().numpy(), fn(x, m.weight, m.bias, padding=1).detach().numpy()
    )


@pytest.mark.parametrize("name, becomes, nd, params", LAZY)
def test_arguments_and_errors(name, becomes, nd, params):
    cls = getattr(nn, name)
    m = cls(4, 2, groups=2, bias=False, dtype=rtorch.float64)
    m(rtorch.zeros(6, *([3] * nd), dtype=rtorch.float64))  # unbatched: channels from dim 0
    assert m.in_channels == 6 and m.bias is None and m.weight.dtype == rtorch.float64
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        cls(4, 2, groups=2)(rtorch.zeros(1, 3, *([3] * nd)))
    with pytest.raises(RuntimeError, match=rf"Expected {nd + 1}D \(unbatched\) or {nd + 2}D"):
        cls(4, 2)(rtorch.zeros([3] * (nd + 3)))


def test_signatures_match_torch():
    torch = pytest.importorskip("torch")
    for name, _, _, _ in LAZY:
        ours = inspect.signature(getattr(nn, name)).parameters
        theirs = inspect.signature(getattr(torch.nn, name)).parameters
        assert list(ours) == list(theirs), name
        for key in ours:
            assert ours[key].default == theirs[key].default, (name, key)
