"""nn.init: exact gains/fans/bounds, and sample statistics against closed forms.

Statistical tolerances: with n samples the sample mean of a distribution with std s has
standard error s/sqrt(n); the sample variance of a uniform has relative standard error
about 0.89/sqrt(n), of a normal sqrt(2/n). Bounds below are 6 standard errors, so a
correct implementation fails about once in 10^8 runs, while a wrong bound or std (a
factor of sqrt(2) or sqrt(3) off, the usual mistakes) fails every time.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import rtorch
from rtorch.nn import init

N_ROWS, N_COLS = 256, 256  # 65536 samples per tensor
SIGMAS = 6.0


def values(t):
    return np.array(t.detach().reshape(-1).tolist(), dtype=np.float64)


def check_uniform(t, low, high):
    v = values(t)
    n = v.size
    assert v.min() >= low and v.max() <= high
    width = high - low
    # the extremes of n uniform samples lie within width * 20/n of the bounds w.p. ~1
    assert v.min() < low + width * 20 / n and v.max() > high - width * 20 / n
    mean, var = (low + high) / 2, width**2 / 12
    assert abs(v.mean() - mean) < SIGMAS * math.sqrt(var / n)
    assert abs(v.var() / var - 1) < SIGMAS * 0.9 / math.sqrt(n)


def check_normal(t, mean, std):
    v = values(t)
    n = v.size
    assert abs(v.mean() - mean) < SIGMAS * std / math.sqrt(n)
    assert abs(v.var() / std**2 - 1) < SIGMAS * math.sqrt(2 / n)


# ----- gains and fans -----


def test_calculate_gain():
    for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "sigmoid"):
        assert init.calculate_gain(name) == 1
    assert init.calculate_gain("tanh") == 5.0 / 3
    assert init.calculate_gain("relu") == math.sqrt(2.0)
    assert init.calculate_gain("leaky_relu") == math.sqrt(2.0 / (1 + 0.01**2))
    assert init.calculate_gain("leaky_relu", 0.2) == 1.3867504905630728  # PyTorch's value
    assert init.calculate_gain("leaky_relu", 1) == 1.0
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        init.calculate_gain("foo")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_fans():
    assert init._calculate_fan_in_and_fan_out(rtorch.empty(16, 8, 3, 5)) == (120, 240)
    assert init._calculate_fan_in_and_fan_out(rtorch.empty(7, 3)) == (3, 7)
    with pytest.raises(
        ValueError,
        match="Fan in and fan out can not be computed for tensor with fewer than 2 dimensions",
    ):
        init.xavier_uniform_(rtorch.empty(5))
    with pytest.raises(ValueError, match=r"Mode fan_avg not supported, please use one of \["):
        init.kaiming_uniform_(rtorch.empty(3, 3), mode="fan_avg")


# ----- distributions -----


def test_uniform_and_normal():
    t = rtorch.empty(N_ROWS, N_COLS)
    assert init.uniform_(t, -0.5, 2.0) is t
    check_uniform(t, -0.5, 2.0)
    assert init.normal_(t, 3.0, 0.25) is t
    check_normal(t, 3.0, 0.25)


def test_generator_makes_it_reproducible():
    g = rtorch.Generator()
    g.manual_seed(123)
    a = init.kaiming_uniform_(rtorch.empty(8, 8), generator=g).clone()
    g.manual_seed(123)
    b = init.kaiming_uniform_(rtorch.empty(8, 8), generator=g)
    assert rtorch.equal(a, b)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
def test_kaiming_uniform_default_and_linear_default(dtype):
    # default: leaky_relu with a=0 -> gain sqrt(2), bound sqrt(6 / fan_in)
    t = rtorch.empty(N_ROWS, N_COLS // 4, 2, 2, dtype=dtype)
    init.kaiming_uniform_(t)
    bound = math.sqrt(6.0 / (N_COLS // 4 * 4))
    check_uniform(t, -bound, bound)
    # nn.Linear's reset_parameters: a=sqrt(5) -> bound 1/sqrt(fan_in)
    init.kaiming_uniform_(t, a=math.sqrt(5))
    bound = 1 / math.sqrt(N_COLS)
    check_uniform(t, -bound, bound)


def test_kaiming_normal_fan_out_relu():
    t = rtorch.empty(N_COLS, N_ROWS)
    init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")
    check_normal(t, 0.0, math.sqrt(2.0 / N_COLS))


def test_xavier():
    t = rtorch.empty(N_ROWS, N_COLS // 2)
    fan_in, fan_out = N_COLS // 2, N_ROWS
    init.xavier_uniform_(t, gain=2.0)
    bound = 2.0 * math.sqrt(6.0 / (fan_in + fan_out))
    check_uniform(t, -bound, bound)
    init.xavier_normal_(t, gain=0.5)
    check_normal(t, 0.0, 0.5 * math.sqrt(2.0 / (fan_in + fan_out)))


def _phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _cdf(x):
    return (1 + math.erf(x / math.sqrt(2))) / 2


def test_trunc_normal_matches_truncated_moments():
    mean, std, a, b = 0.5, 2.0, -1.0, 3.0
    t = init.trunc_normal_(rtorch.empty(N_ROWS, N_COLS, dtype=rtorch.float64), mean, std, a, b)
    v = values(t)
    assert v.min() >= a and v.max() <= b
    alpha, beta = (a - mean) / std, (b - mean) / std
    z = _cdf(beta) - _cdf(alpha)
    ref_mean = mean + std * (_phi(alpha) - _phi(beta)) / z
    ref_var = std**2 * (
        1 + (alpha * _phi(alpha) - beta * _phi(beta)) / z - ((_phi(alpha) - _phi(beta)) / z) ** 2
    )
    n = v.size
    assert abs(v.mean() - ref_mean) < SIGMAS * math.sqrt(ref_var / n)
    # a truncated normal's variance estimate is no noisier than a normal's
    assert abs(v.var() / ref_var - 1) < SIGMAS * math.sqrt(2 / n)


def test_trunc_normal_warns_far_mean():
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        init.trunc_normal_(rtorch.empty(3), mean=10.0)


# ----- deterministic fills -----


def test_constant_ones_zeros_eye():
    t = rtorch.empty(3, 4)
    assert init.constant_(t, 2.5) is t and values(t).tolist() == [2.5] * 12
    assert values(init.ones_(t)).tolist() == [1.0] * 12
    assert values(init.zeros_(t)).tolist() == [0.0] * 12
    np.testing.assert_array_equal(np.array(init.eye_(t).tolist()), np.eye(3, 4))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(rtorch.empty(2, 2, 2))


def test_init_under_no_grad_on_leaf_parameters():
    w = rtorch.nn.Parameter(rtorch.empty(4, 4))
    for fn in (init.ones_, init.zeros_, init.xavier_uniform_, init.orthogonal_, init.eye_):
        fn(w)
        assert w.is_leaf and w.grad_fn is None and w.requires_grad


def test_fill_through_non_contiguous_view():
    base = rtorch.zeros(6, 8)
    view = base.t()[:, ::2]  # (8, 3) strided view
    init.uniform_(view, 1.0, 2.0)
    filled = np.array(base.tolist())[::2, :]
    assert filled.min() >= 1.0 and filled.max() <= 2.0
    assert np.all(np.array(base.tolist())[1::2, :] == 0.0)


@pytest.mark.parametrize("groups", [1, 2])
def test_dirac(groups):
    w = rtorch.empty(4, 3, 3, 5)
    init.dirac_(w, groups=groups)
    ref = np.zeros((4, 3, 3, 5))
    per = 4 // groups
    for g in range(groups):
        for d in range(min(per, 3)):
            ref[g * per + d, d, 1, 2] = 1.0
    np.testing.assert_array_equal(np.array(w.tolist()), ref)
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions are supported"):
        init.dirac_(rtorch.empty(3, 3))
    with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
        init.dirac_(rtorch.empty(3, 3, 3), groups=2)


@pytest.mark.parametrize("shape", [(20, 8), (8, 20), (6, 2, 3, 2), (5, 5)])
def test_orthogonal(shape):
    w = rtorch.empty(*shape, dtype=rtorch.float64)
    init.orthogonal_(w, gain=1.5)
    m = np.array(w.reshape(shape[0], -1).tolist())
    rows, cols = m.shape
    gram = m.T @ m if rows >= cols else m @ m.T
    np.testing.assert_allclose(gram, 1.5**2 * np.eye(min(rows, cols)), atol=1e-12)


def test_orthogonal_errors_and_empty():
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        init.orthogonal_(rtorch.empty(4))
    e = rtorch.empty(0, 3)
    assert init.orthogonal_(e) is e


def test_sparse():
    w = rtorch.empty(50, 40)
    init.sparse_(w, sparsity=0.3, std=0.5)
    m = np.array(w.tolist())
    assert np.all((m == 0).sum(axis=0) == math.ceil(0.3 * 50))
    nz = m[m != 0]
    # 1400 normal samples: std within 6 standard errors of 0.5
    assert abs(nz.std() / 0.5 - 1) < SIGMAS * math.sqrt(1 / (2 * nz.size))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.sparse_(rtorch.empty(3), 0.1)


def test_zero_element_kaiming_warns():
    t = rtorch.empty(0, 3)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert init.kaiming_uniform_(t) is t
        assert init.kaiming_normal_(t) is t
    assert [str(x.message) for x in w] == ["Initializing zero-element tensors is a no-op"] * 2


def test_deprecated_aliases_warn_and_delegate():
    t = rtorch.empty(3, 3)
    with pytest.warns(
        FutureWarning, match=r"`nn.init.constant` is now deprecated in favor of `nn.init.constant_`"
    ):
        assert init.constant(t, 4.0) is t
    assert values(t).tolist() == [4.0] * 9
    with pytest.warns(FutureWarning, match="nn.init.xavier_uniform_"):
        init.xavier_uniform(t)
    assert np.abs(values(t)).max() <= math.sqrt(6.0 / 6)
