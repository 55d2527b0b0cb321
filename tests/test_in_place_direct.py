"""In-place `add_`, `sub_`, `mul_`, `div_`, `addcmul_`, `addcdiv_` and `lerp_` written straight
into the tensor (no temporary copied back) where nothing needs the old value: no autograd, `b` a number or a tensor of the
same dtype on other storage. Every layout and case that path special-cases or declines:
numbers and tensors, contiguous sizes around the parallel grain, strided and transposed
targets, broadcast operands, integer dtypes, `b` on `a`'s own storage, autograd, an
expanded target (its error), the version counter. Reference: numpy in float64."""

import numpy as np
import pytest

import rtorch

SIZES = [0, 1, 17, 1025, 40_003]
BINARY = [
    ("mul_", np.multiply),
    ("div_", np.divide),
    ("add_", np.add),
    ("sub_", np.subtract),
]
FLOATS = [rtorch.float32, rtorch.float64]


def arrays(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-4, 4, n), rng.uniform(0.5, 3, n) * rng.choice([-1.0, 1.0], n)


def close(got: rtorch.Tensor, want: np.ndarray, dtype) -> None:
    rel = 2.0**-23 if dtype == rtorch.float32 else 2.0**-52
    g = got.to(rtorch.float64).numpy()
    assert np.all(np.abs(g - want) <= rel * np.abs(want) + 1e-300), float(np.max(np.abs(g - want)))


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("n", SIZES)
def test_by_tensor_and_number(n, dtype):
    x, y = arrays(n)
    for op, ref in BINARY:
        a, b = rtorch.tensor(x, dtype=dtype), rtorch.tensor(y, dtype=dtype)
        # (copies: a float64 tensor's .to(float64) is itself, and `a` is written)
        x32, y32 = a.to(rtorch.float64).numpy().copy(), b.to(rtorch.float64).numpy().copy()
        version = a._version
        assert getattr(a, op)(b) is a
        close(a, ref(x32, y32), dtype)
        assert a._version == version + 1
        a = rtorch.tensor(x, dtype=dtype)
        getattr(a, op)(0.75)
        close(a, ref(x32, 0.75), dtype)


def test_the_same_bits_as_the_out_of_place_op():
    x, y = arrays(40_003, seed=1)
    for dtype in FLOATS:
        a, b = rtorch.tensor(x, dtype=dtype), rtorch.tensor(y, dtype=dtype)
        assert rtorch.equal(a.clone().mul_(b), a * b)
        assert rtorch.equal(a.clone().div_(b), a / b)
        assert rtorch.equal(a.clone().mul_(0.3), a * 0.3)
        assert rtorch.equal(a.clone().div_(0.3), a / 0.3)
        assert rtorch.equal(a.clone().add_(b), a + b)
        assert rtorch.equal(a.clone().sub_(b), a - b)
        assert rtorch.equal(a.clone().add_(b, alpha=-1.5), rtorch.add(a, b, alpha=-1.5))
        assert rtorch.equal(a.clone().sub_(b, alpha=0.25), rtorch.sub(a, b, alpha=0.25))
        assert rtorch.equal(a.clone().add_(0.3), a + 0.3)
        assert rtorch.equal(a.clone().sub_(0.3), a - 0.3)
        assert rtorch.equal(a.clone().add_(0.3, alpha=2), rtorch.add(a, 0.3, alpha=2))


def test_strided_transposed_and_broadcast():
    """Reference: numpy in float32, one correctly rounded operation per step as in
    rtorch (the two writes overlap in some rows), so the bits must agree."""
    x, y = arrays(300 * 200, seed=2)
    for op, ref in BINARY:
        base = rtorch.tensor(x, dtype=rtorch.float32).reshape(300, 200)
        want = base.numpy().copy()
        row = rtorch.tensor(y[:200], dtype=rtorch.float32)
        col = rtorch.tensor(y[:100], dtype=rtorch.float32).reshape(100, 1)
        r64 = row.numpy()
        c64 = col.numpy()
        # every other row (a stepped target) by a broadcast row
        getattr(base[::2], op)(row)
        want[::2] = ref(want[::2], r64)
        # a transposed target by a broadcast column of its own shape's rows
        getattr(base[1::3].t()[:100], op)(col)
        w = want[1::3].T
        w[:100] = ref(w[:100], c64)
        assert np.array_equal(base.numpy(), want)


def test_integer_mul_by_tensor_and_number():
    rng = np.random.default_rng(3)
    x = rng.integers(-1000, 1000, 40_003)
    for dtype in (rtorch.int64, rtorch.int32, rtorch.int16):
        a = rtorch.tensor(x, dtype=dtype)
        a.mul_(rtorch.tensor(x[::-1].copy(), dtype=dtype)).mul_(3)
        want = (x * x[::-1] * 3).astype(np.int64)
        if dtype == rtorch.int16:
            want = want.astype(np.int16)  # wraps, as PyTorch
        assert np.array_equal(a.numpy(), want.astype(a.numpy().dtype))


@pytest.mark.parametrize(
    "dtype", [rtorch.int64, rtorch.int32, rtorch.int16, rtorch.int8, rtorch.uint8], ids=str
)
def test_integer_add_and_sub_by_tensor_and_number(dtype):
    rng = np.random.default_rng(7)
    x = rng.integers(0, 100, 40_003)
    y = rng.integers(0, 20, 40_003)
    a = rtorch.tensor(x, dtype=dtype)
    a.add_(rtorch.tensor(y, dtype=dtype)).sub_(7).add_(rtorch.tensor(y, dtype=dtype), alpha=2)
    a.sub_(rtorch.tensor(y, dtype=dtype), alpha=3).add_(5)
    assert np.array_equal(a.numpy(), (x - 2).astype(a.numpy().dtype))  # uint8 wraps
    with pytest.raises(RuntimeError, match="alpha must not be a floating point"):
        a.add_(rtorch.tensor(y, dtype=dtype), alpha=0.5)
    with pytest.raises(RuntimeError):
        a.add_(0.5)  # a float result cannot be held


def test_in_place_map_over_permuted_and_sliced_targets():
    """The map writes into its own input: dense permuted targets (one flat run), rows
    of a slice (unit-stride runs in a strided walk) and columns (strided rows).
    Reference: numpy in the tensor's own dtype, each step one correctly rounded (or
    exact) operation as in rtorch, so the results must agree bit for bit."""
    x, y = arrays(64 * 70 * 3, seed=8)
    for dtype in FLOATS + [rtorch.int32]:
        base = rtorch.tensor(x * 50, dtype=dtype).reshape(64, 70, 3)
        other = rtorch.tensor(y * 50, dtype=dtype).reshape(64, 70, 3)
        want = base.numpy().copy()
        o64 = other.numpy()
        base.permute(2, 0, 1).mul_(3)  # dense permutation: runs flat
        want *= 3
        base[:, 5:60].add_(other[:, 5:60])  # unit-stride rows of 3 x 55
        want[:, 5:60] += o64[:, 5:60]
        base[:, :, 1].sub_(2)  # stride-3 rows
        want[:, :, 1] -= 2
        base.transpose(0, 1).add_(other.transpose(0, 1), alpha=2)  # both permuted
        want += 2 * o64
        assert np.array_equal(base.numpy(), want)


DIRECT_OPS = {
    "add_number": lambda v: v.add_(1),
    "add_tensor": lambda v: v.add_(rtorch.ones(2)),
    "sub_number": lambda v: v.sub_(1),
    "sub_tensor": lambda v: v.sub_(rtorch.ones(2), alpha=2),
    "mul_number": lambda v: v.mul_(2.0),
    "mul_tensor": lambda v: v.mul_(rtorch.full((2,), 3.0)),
    "div_number": lambda v: v.div_(2.0),
    "addcmul_": lambda v: v.addcmul_(rtorch.ones(2), rtorch.ones(2)),
    "addcdiv_": lambda v: v.addcdiv_(rtorch.ones(2), rtorch.ones(2)),
    "lerp_": lambda v: v.lerp_(rtorch.ones(2), 0.5),
    "clamp_": lambda v: v.clamp_(0.0, 1.0),
}


@pytest.mark.parametrize("name", sorted(DIRECT_OPS))
def test_a_no_grad_view_keeps_its_error_in_grad_mode(name):
    """A view made under no_grad of a tensor that requires grad cannot be written with
    grad mode on, even though the view itself does not require grad (PyTorch's error);
    with grad mode off it can."""
    op = DIRECT_OPS[name]
    y = rtorch.tensor([1.0, 2.0, 3.0], requires_grad=True) * 2
    with rtorch.no_grad():
        v = y[0:2]
    with pytest.raises(RuntimeError, match="created in no_grad mode"):
        op(v)
    assert y.tolist() == [2.0, 4.0, 6.0]
    with rtorch.no_grad():
        op(v)
    assert y.tolist() != [2.0, 4.0, 6.0]


def test_declined_cases_keep_their_results_and_errors():
    x, _ = arrays(2000, seed=4)
    # b on a's own storage (reversed): the general path's answer
    a = rtorch.tensor(x, dtype=rtorch.float32)
    want = a.to(rtorch.float64).numpy() * a.to(rtorch.float64).numpy()[::-1]
    a.mul_(a.flip(0))
    close(a, want, rtorch.float32)
    a = rtorch.tensor(x, dtype=rtorch.float32)
    a.mul_(a)  # exactly itself
    close(a, rtorch.tensor(x, dtype=rtorch.float32).to(rtorch.float64).numpy() ** 2, rtorch.float32)
    # an integer tensor divided in place: true division cannot be held
    with pytest.raises(RuntimeError, match="can't be cast"):
        rtorch.arange(4).div_(2)
    # a float number into an integer tensor
    with pytest.raises(RuntimeError):
        rtorch.arange(4).mul_(0.5)
    # an expanded target overlaps itself
    with pytest.raises(RuntimeError, match="single memory location"):
        rtorch.ones(1, 3).expand(4, 3).mul_(2.0)
    # a b that does not broadcast to a's shape
    with pytest.raises(RuntimeError):
        rtorch.ones(3).mul_(rtorch.ones(2, 3))


def test_autograd_still_records_and_no_grad_writes():
    w = rtorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = w * 1.0
    y.mul_(rtorch.tensor([2.0, 3.0, 4.0]))
    y.div_(2.0)
    y.sum().backward()
    assert w.grad.tolist() == [1.0, 1.5, 2.0]
    with rtorch.no_grad():
        w.mul_(2.0).div_(rtorch.tensor([1.0, 2.0, 4.0]))
    assert w.tolist() == [2.0, 2.0, 1.5]
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.mul_(2.0)


FUSED = {
    "addcmul_": (
        lambda a, y, z: a.addcmul_(y, z, value=0.5),
        lambda a, y, z: rtorch.addcmul(a, y, z, value=0.5),
        lambda x, y, z: x + 0.5 * y * z,
    ),
    "addcdiv_": (
        lambda a, y, z: a.addcdiv_(y, z, value=-0.25),
        lambda a, y, z: rtorch.addcdiv(a, y, z, value=-0.25),
        lambda x, y, z: x - 0.25 * y / z,
    ),
    "lerp_number": (
        lambda a, y, z: a.lerp_(y, 0.3),
        lambda a, y, z: rtorch.lerp(a, y, 0.3),
        lambda x, y, z: x + 0.3 * (y - x),
    ),
    "lerp_tensor": (
        lambda a, y, z: a.lerp_(y, z - 1),
        lambda a, y, z: rtorch.lerp(a, y, z - 1),
        lambda x, y, z: x + (z - 1) * (y - x),
    ),
}


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_in_place_ops(name, n, dtype):
    in_place, out_of_place, ref = FUSED[name]
    x, y = arrays(n, seed=5)
    z = np.abs(y)
    a, b, c = (rtorch.tensor(v, dtype=dtype) for v in (x, y, z))
    want = ref(*(t.to(rtorch.float64).numpy().copy() for t in (a, b, c)))
    same = out_of_place(a, b, c)
    version = a._version
    assert in_place(a, b, c) is a
    assert a._version == version + 1
    assert rtorch.equal(a, same)
    # a few roundings of terms up to about 6 in magnitude
    tol = (8 * 2.0**-24 if dtype == rtorch.float32 else 8 * 2.0**-53) * 6
    assert np.all(np.abs(a.to(rtorch.float64).numpy() - want) <= tol)


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_in_place_broadcast_strided_and_declined(name):
    in_place, out_of_place, _ = FUSED[name]
    x, y = arrays(60 * 50, seed=6)
    base = rtorch.tensor(x, dtype=rtorch.float32).reshape(60, 50)
    row = rtorch.tensor(y[:50], dtype=rtorch.float32)
    col = rtorch.tensor(np.abs(y[:60]), dtype=rtorch.float32).reshape(60, 1)
    # a transposed target, partners broadcast along each dimension
    target = base.clone().t()
    want = out_of_place(target, row.reshape(50, 1), col.t())
    in_place(target, row.reshape(50, 1), col.t())
    assert rtorch.equal(target, want)
    # a partner on the target's own storage: the general path, the same values
    a = base.clone()
    want = out_of_place(a, a.flip(1), col)
    in_place(a, a.flip(1), col)
    assert rtorch.equal(a, want)
    # autograd: recorded as the out-of-place op's
    grads = []
    for op in (in_place, out_of_place):
        w = rtorch.tensor([1.0, -2.0, 0.5], requires_grad=True)
        out = op(w * 2.0, rtorch.full((3,), 3.0), rtorch.full((3,), 2.0))
        (out * rtorch.tensor([1.0, 2.0, 3.0])).sum().backward()
        grads.append(w.grad)
    assert rtorch.equal(grads[0], grads[1]), grads
    # mixed dtypes keep their errors or promotions
    with pytest.raises(RuntimeError):
        in_place(rtorch.ones(3), rtorch.ones(3, dtype=rtorch.float64), rtorch.ones(4))


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "int64"])
def test_bitwise_in_place_matches_numpy(dtype):
    # Written straight into the target (contiguous, strided and transposed targets,
    # number and broadcast row operands), above the parallel threshold.
    rng = np.random.default_rng(7)
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, (300, 250), endpoint=True).astype(dtype)
    ops = [
        ("bitwise_and_", np.bitwise_and, None),
        ("bitwise_and_", np.bitwise_and, "row"),
        ("bitwise_or_", np.bitwise_or, "row"),
        ("bitwise_xor_", np.bitwise_xor, "row"),
        ("bitwise_left_shift_", np.left_shift, "shift"),
        ("bitwise_right_shift_", np.right_shift, "shift"),
    ]
    for name, ref, kind in ops:
        for view in (lambda t: t, lambda t: t[::2, 1::3], lambda t: t.t()):
            target = view(rtorch.from_numpy(a.copy()))
            want = target.numpy().copy()
            cols = target.shape[1]
            if kind is None:
                other = 0x5A
            elif kind == "row":
                other = rng.integers(info.min, info.max, (1, cols), endpoint=True).astype(dtype)
            else:
                other = rng.integers(0, 8, (1, cols)).astype(dtype)
            getattr(target, name)(other if kind is None else rtorch.from_numpy(other))
            np.testing.assert_array_equal(target.numpy(), ref(want, other).astype(dtype))
