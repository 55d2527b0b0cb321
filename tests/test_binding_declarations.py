"""What the one-declaration binding (`rust/rtorch-python/src/declare.rs`) generates:
module functions with `out=`, in-place forms on the module exactly where PyTorch has
them, aliases, and self-registration under the declared name. References are numpy in
float64 and PyTorch 2.15's names written out here."""

import types
import warnings

import numpy as np
import pytest

import rtorch

# torch.NAME_ exists in PyTorch 2.15 for these declared ops...
MODULE_IN_PLACE = [
    "abs_",
    "acos_",
    "acosh_",
    "arccos_",
    "arccosh_",
    "arcsin_",
    "arcsinh_",
    "arctan_",
    "arctanh_",
    "asin_",
    "asinh_",
    "atan_",
    "atanh_",
    "ceil_",
    "clamp_",
    "clamp_max_",
    "clamp_min_",
    "clip_",
    "cos_",
    "cosh_",
    "erf_",
    "erfc_",
    "exp2_",
    "exp_",
    "expm1_",
    "fix_",
    "floor_",
    "frac_",
    "log10_",
    "log1p_",
    "log2_",
    "log_",
    "nan_to_num_",
    "neg_",
    "negative_",
    "reciprocal_",
    "relu_",
    "round_",
    "rsqrt_",
    "sigmoid_",
    "sin_",
    "sinh_",
    "sqrt_",
    "square_",
    "tan_",
    "tanh_",
    "trunc_",
]
# ...and not for these, which are Tensor methods only.
METHOD_ONLY_IN_PLACE = [
    "absolute_",
    "add_",
    "addcdiv_",
    "addcmul_",
    "arctan2_",
    "atan2_",
    "bitwise_not_",
    "div_",
    "divide_",
    "eq_",
    "erfinv_",
    "floor_divide_",
    "fmod_",
    "ge_",
    "greater_",
    "greater_equal_",
    "gt_",
    "hypot_",
    "le_",
    "lerp_",
    "less_",
    "less_equal_",
    "logical_and_",
    "logical_not_",
    "logical_or_",
    "logical_xor_",
    "lt_",
    "mul_",
    "multiply_",
    "ne_",
    "not_equal_",
    "pow_",
    "remainder_",
    "sign_",
    "sub_",
    "subtract_",
    "true_divide_",
]


@pytest.mark.parametrize("name", MODULE_IN_PLACE)
def test_in_place_module_function_exists_where_pytorch_has_it(name):
    assert callable(getattr(rtorch, name))
    assert hasattr(rtorch.Tensor, name)


@pytest.mark.parametrize("name", METHOD_ONLY_IN_PLACE)
def test_in_place_form_is_a_method_only_where_pytorch_has_no_function(name):
    assert not hasattr(rtorch, name)
    assert hasattr(rtorch.Tensor, name)


def test_every_module_function_is_registered_under_its_own_name():
    for name in dir(rtorch._C):
        f = getattr(rtorch._C, name)
        if isinstance(f, types.BuiltinFunctionType):
            assert f.__name__ == name, (name, f.__name__)


A = np.array([[-1.5, 0.25, 2.0], [3.5, -0.5, np.nan]])
B = np.array([[0.5, 0.25, -2.0], [1.0, 4.0, 1.0]])


def _t(a):
    return rtorch.tensor(a, dtype=rtorch.float64)


# (function, args built from x=A and y=B, numpy reference)
OUT_CASES = [
    ("eq", lambda x, y: (x, y), lambda a, b: a == b),
    ("not_equal", lambda x, y: (x, y), lambda a, b: a != b),
    ("less", lambda x, y: (x, 0.25), lambda a, b: a < 0.25),
    ("greater_equal", lambda x, y: (x, y), lambda a, b: a >= b),
    ("logical_and", lambda x, y: (x, y), lambda a, b: np.logical_and(a, b)),
    ("logical_xor", lambda x, y: (x, y), lambda a, b: np.logical_xor(a, b)),
    ("round", lambda x, y: (x,), lambda a, b: np.round(a)),
    ("nan_to_num", lambda x, y: (x,), lambda a, b: np.nan_to_num(a)),
    ("clamp_min", lambda x, y: (x, 0.0), lambda a, b: np.where(a < 0, 0.0, a)),
    ("clamp_max", lambda x, y: (x, y), lambda a, b: np.where(a > b, b, a)),
    ("maximum", lambda x, y: (x, y), lambda a, b: np.maximum(a, b)),
    ("fmod", lambda x, y: (x, y), lambda a, b: np.fmod(a, b)),
    ("atan2", lambda x, y: (x, y), lambda a, b: np.arctan2(a, b)),
    ("hypot", lambda x, y: (x, y), lambda a, b: np.hypot(a, b)),
    ("lerp", lambda x, y: (x, y, 0.25), lambda a, b: a + 0.25 * (b - a)),
    ("addcmul", lambda x, y: (x, y, y), lambda a, b: a + b * b),
    ("negative", lambda x, y: (x,), lambda a, b: -a),
    ("subtract", lambda x, y: (x, y), lambda a, b: a - b),
    ("tril", lambda x, y: (x,), lambda a, b: np.tril(a)),
    ("triu", lambda x, y: (y, 1), lambda a, b: np.triu(b, 1)),
    ("diag", lambda x, y: (y,), lambda a, b: np.diag(b)),
    (
        "gather",
        lambda x, y: (y, 1, rtorch.tensor([[2, 0], [1, 1]])),
        lambda a, b: np.take_along_axis(b, np.array([[2, 0], [1, 1]]), 1),
    ),
    ("index_select", lambda x, y: (y, 1, rtorch.tensor([2, 0])), lambda a, b: b[:, [2, 0]]),
    ("masked_select", lambda x, y: (y, y > 0.3), lambda a, b: b[b > 0.3]),
    ("take", lambda x, y: (y, rtorch.tensor([5, 0])), lambda a, b: b.ravel()[[5, 0]]),
]


@pytest.mark.parametrize("name,args,ref", OUT_CASES, ids=[c[0] for c in OUT_CASES])
def test_out_keyword(name, args, ref):
    fn = getattr(rtorch, name)
    x, y = _t(A), _t(B)
    expected = ref(A, B)
    result = fn(*args(x, y))
    out = rtorch.empty(0, dtype=result.dtype)
    assert fn(*args(x, y), out=out) is out
    np.testing.assert_array_equal(out.numpy(), result.numpy())
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, equal_nan=True)
    # A wrongly shaped non-empty out is resized with PyTorch's warning.
    out = rtorch.empty(5, dtype=result.dtype)
    with pytest.warns(UserWarning, match="was resized"):
        fn(*args(x, y), out=out)
    assert out.shape == result.shape


def test_out_rejects_partial_overlap_with_any_tensor_argument():
    base = rtorch.arange(8, dtype=rtorch.float64)
    x, y = base[:4], base[2:6]
    # `y` is a later argument (a tensor the op reads), not the first.
    with pytest.raises(RuntimeError, match="single memory location"):
        rtorch.addcmul(rtorch.ones(4, dtype=rtorch.float64), x, x, out=y)
    with pytest.raises(RuntimeError, match="single memory location"):
        rtorch.maximum(rtorch.zeros(4, dtype=rtorch.float64), x, out=y)
    # The same memory exactly is fine, as in PyTorch.
    z = rtorch.tensor([1.0, -2.0], dtype=rtorch.float64)
    rtorch.neg(z, out=z)
    assert z.tolist() == [-1.0, 2.0]


def test_out_that_is_an_input_is_not_resized():
    # PyTorch: an out= tensor that is also an input cannot grow to the broadcast shape
    # (it would be resized under the op); the same rule as the in-place form.
    x = rtorch.tensor([1.0, 2.0, 3.0])
    y = rtorch.ones(2, 3)
    with pytest.raises(
        RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"
    ):
        rtorch.add(x, y, out=x)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        rtorch.maximum(y, x, out=x)
    assert x.tolist() == [1.0, 2.0, 3.0]
    # Same shape: written in place.
    rtorch.add(x, y[0], out=x)
    assert x.tolist() == [2.0, 3.0, 4.0]


def test_out_with_autograd_is_refused():
    x = rtorch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        rtorch.clamp_min(x, 0.5, out=rtorch.empty(3))


@pytest.mark.parametrize(
    "alias,name",
    [
        ("arcsin", "asin"),
        ("arctan", "atan"),
        ("fix", "trunc"),
        ("clip", "clamp"),
        ("multiply", "mul"),
        ("divide", "div"),
        ("not_equal", "ne"),
        ("greater", "gt"),
    ],
)
def test_alias_is_the_same_op_in_every_form(alias, name):
    x = _t(np.array([-0.75, 0.0, 0.5]))
    args = () if name in ("asin", "atan", "trunc") else ((-0.25,) if name == "clamp" else (0.5,))
    np.testing.assert_array_equal(
        getattr(rtorch, alias)(x, *args).numpy(), getattr(rtorch, name)(x, *args).numpy()
    )
    np.testing.assert_array_equal(getattr(x, alias)(*args).numpy(), getattr(x, name)(*args).numpy())
    if name in ("ne", "gt"):
        return  # comparisons in place need a bool-castable self; covered elsewhere
    a, b = x.clone(), x.clone()
    assert getattr(a, alias + "_")(*args) is a
    getattr(b, name + "_")(*args)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_in_place_module_functions_write_their_input():
    x = _t(np.array([1.0, -2.0, np.nan]))
    assert rtorch.neg_(x) is x
    assert rtorch.nan_to_num_(x, nan=7.0) is x
    assert rtorch.clamp_min_(x, 0.0) is x
    assert rtorch.clip_(x, None, 5.0) is x
    np.testing.assert_array_equal(x.numpy(), [0.0, 2.0, 5.0])
    y = _t(np.array([0.26, -1.5]))
    assert rtorch.round_(y, decimals=1) is y
    np.testing.assert_allclose(y.numpy(), [0.3, -1.5], rtol=1e-12)


def test_index_put_module_function_writes_its_input():
    x = rtorch.zeros(4, dtype=rtorch.float64)
    idx = (rtorch.tensor([1, 3, 1]),)
    assert (
        rtorch.index_put_(
            x, idx, rtorch.tensor([1.0, 2.0, 4.0], dtype=rtorch.float64), accumulate=True
        )
        is x
    )
    assert x.tolist() == [0.0, 5.0, 0.0, 2.0]


def test_named_tuple_results_from_function_and_method_agree():
    a = np.array([[3.0, -1.0, 2.0], [0.5, 0.5, -4.0]])
    x = _t(a)
    for values, indices in (rtorch.sort(x, descending=True), x.sort(1, True)):
        np.testing.assert_array_equal(values.numpy(), -np.sort(-a, axis=1, kind="stable"))
        np.testing.assert_array_equal(indices.numpy(), np.argsort(-a, axis=1, kind="stable"))
    top = rtorch.topk(x, 2, dim=0, largest=False)
    np.testing.assert_array_equal(top.values.numpy(), np.sort(a, axis=0)[:2])
    assert rtorch.median(x).item() == np.sort(a.ravel())[2]  # the lower middle, as PyTorch
    kth = x.kthvalue(2, 1, keepdim=True)
    assert kth.values.shape == (2, 1) and kth.values.flatten().tolist() == [2.0, 0.5]


def test_keyword_arguments_and_defaults():
    x = _t(np.array([1.0, 2.0]))
    y = _t(np.array([4.0, 8.0]))
    np.testing.assert_array_equal(rtorch.sub(x, y, alpha=2).numpy(), [-7.0, -14.0])
    np.testing.assert_array_equal(x.subtract(y, alpha=0.5).numpy(), [-1.0, -2.0])
    np.testing.assert_array_equal(rtorch.divide(y, 3, rounding_mode="floor").numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(x.addcdiv(y, y, value=3).numpy(), [4.0, 5.0])
    with pytest.raises(TypeError):
        rtorch.sub(x, y, 2)  # alpha is keyword-only
    with pytest.raises(TypeError, match="must be Tensor"):
        rtorch.eq(1.0, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert rtorch.round(x, decimals=0).tolist() == [1.0, 2.0]


def test_products_write_out_including_addmm_which_used_to_ignore_it():
    a = np.arange(6.0).reshape(2, 3)
    b = np.arange(12.0).reshape(3, 4) / 7
    c = np.ones((2, 4))
    out = rtorch.empty(0, dtype=rtorch.float64)
    assert rtorch.addmm(_t(c), _t(a), _t(b), beta=0.5, alpha=2, out=out) is out
    np.testing.assert_allclose(out.numpy(), 0.5 * c + 2 * a @ b, rtol=1e-12)
    for name, args, ref in [
        ("matmul", (_t(a), _t(b)), a @ b),
        ("mm", (_t(a), _t(b)), a @ b),
        ("mv", (_t(a), _t(np.ones(3))), a.sum(1)),
        ("dot", (_t(a[0]), _t(a[1])), a[0] @ a[1]),
        ("outer", (_t(a[0]), _t(b[0])), np.outer(a[0], b[0])),
        ("ger", (_t(a[0]), _t(b[0])), np.outer(a[0], b[0])),
    ]:
        out = rtorch.empty(0, dtype=rtorch.float64)
        assert getattr(rtorch, name)(*args, out=out) is out
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12, err_msg=name)
    x = _t(np.zeros(2))
    assert rtorch.addmv_(x, _t(a), _t(np.ones(3)), alpha=3) is x
    np.testing.assert_allclose(x.numpy(), 3 * a.sum(1), rtol=1e-12)
    y = _t(np.zeros((3, 4)))
    assert y.addr_(_t(np.ones(3)), _t(b[0])) is y
    np.testing.assert_allclose(y.numpy(), np.outer(np.ones(3), b[0]), rtol=1e-12)
    assert rtorch.ones(2).dot(tensor=rtorch.ones(2)).item() == 2.0
