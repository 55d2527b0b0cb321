"""Random numbers: seeding, generators, state, reproducibility, distributions,
in-place fills, fill_/zero_, thread settings."""

from __future__ import annotations

import re
import struct

import numpy as np
import pytest
from conftest import FLOAT_DTYPES, INT_DTYPES, to_np

import rtorch


def vals(t: rtorch.Tensor) -> np.ndarray:
    return np.asarray(to_np(t), dtype=np.float64)


def test_manual_seed_reproducible():
    g = rtorch.manual_seed(123)
    assert isinstance(g, rtorch.Generator)
    a = rtorch.rand(5)
    b = rtorch.randn(3, 2)
    rtorch.manual_seed(123)
    assert rtorch.rand(5).tolist() == a.tolist()
    assert rtorch.randn(3, 2).tolist() == b.tolist()
    assert rtorch.initial_seed() == 123


def test_default_seed_and_seed():
    s = rtorch.seed()
    assert isinstance(s, int) and rtorch.initial_seed() == s
    rtorch.manual_seed(67280421310721)
    assert rtorch.initial_seed() == 67280421310721
    rtorch.manual_seed(-1)  # negative seeds wrap modulo 2**64
    assert rtorch.initial_seed() == 2**64 - 1


def test_rng_state_roundtrip():
    rtorch.manual_seed(7)
    rtorch.rand(3)
    state = rtorch.get_rng_state()
    # PyTorch's CPUGeneratorImplState: 5056 bytes.
    assert state.dtype == rtorch.uint8 and state.shape == (5056,)
    a = rtorch.rand(4)
    rtorch.set_rng_state(state)
    assert rtorch.rand(4).tolist() == a.tolist()
    # The returned state is a copy, not a view of the generator.
    copy = rtorch.get_rng_state()
    copy[30] = (copy[30].item() + 1) % 256
    assert rtorch.get_rng_state()[30].item() != copy[30].item()
    # Saved mid-stream with a normal cached (randn(3) draws two pairs): restoring it
    # gives the cached value back, whatever ran in between.
    rtorch.manual_seed(3)
    rtorch.randn(3)
    mid = rtorch.get_rng_state()
    assert struct.unpack("<QiiQ", bytes(mid[:24].tolist())) == (3, 1 + 624 - 8, 1, 8)
    assert struct.unpack("<i", bytes(mid[5040:5044].tolist())) == (1,)
    b = rtorch.randn(5)
    c = rtorch.randn(40, dtype=rtorch.float64)
    rtorch.manual_seed(99)
    rtorch.randn(1)
    rtorch.set_rng_state(mid)
    assert rtorch.initial_seed() == 3
    assert rtorch.randn(5).tolist() == b.tolist()
    assert rtorch.randn(40, dtype=rtorch.float64).tolist() == c.tolist()


def test_set_rng_state_size_check_as_pytorch():
    for n in (16, 5048, 5057):  # PyTorch 2.15 no longer takes the 5048-byte legacy state
        with pytest.raises(
            RuntimeError,
            match=f"^Expected a CPUGeneratorImplState of size 5056 but found the input RNG "
            f"state size to be {n}$",
        ):
            rtorch.set_rng_state(rtorch.zeros(n, dtype=rtorch.uint8))


def test_set_rng_state_rejects_an_invalid_twister_state():
    rtorch.manual_seed(3)
    s = rtorch.get_rng_state()

    def patched(offset: int, raw: bytes) -> rtorch.Tensor:
        z = s.clone()
        z[offset : offset + len(raw)] = rtorch.tensor(list(raw), dtype=rtorch.uint8)
        return z

    for bad in (
        patched(8, struct.pack("<i", 0)),  # left
        patched(8, struct.pack("<i", 625)),
        patched(16, struct.pack("<Q", 625)),  # next
        patched(12, struct.pack("<i", 0)),  # seeded
    ):
        with pytest.raises(RuntimeError, match="^Invalid mt19937 state$"):
            rtorch.set_rng_state(bad)
        with pytest.raises(RuntimeError, match="^Invalid mt19937 state$"):
            rtorch.Generator().set_state(bad)
    rtorch.set_rng_state(patched(8, struct.pack("<i", 624)))  # the bounds are valid
    rtorch.set_rng_state(patched(16, struct.pack("<Q", 624)))


def test_set_rng_state_wants_a_contiguous_byte_tensor_as_pytorch():
    with pytest.raises(TypeError, match="^RNG state must be a torch.ByteTensor$"):
        rtorch.set_rng_state(rtorch.get_rng_state().float())
    with pytest.raises(TypeError, match="^RNG state must be a torch.ByteTensor$"):
        rtorch.Generator().set_state(rtorch.get_rng_state().to(rtorch.int8))
    with pytest.raises(RuntimeError, match="^RNG state must be contiguous$"):
        rtorch.set_rng_state(rtorch.zeros(2 * 5056, dtype=rtorch.uint8)[::2])


def test_generator_independent_of_default():
    g = rtorch.Generator()
    g.manual_seed(5)
    a = rtorch.rand(4, generator=g)
    rtorch.manual_seed(0)
    rtorch.rand(10)  # advancing the default generator does not touch g
    g2 = rtorch.Generator(device="cpu").manual_seed(5)
    assert rtorch.rand(4, generator=g2).tolist() == a.tolist()
    assert g.initial_seed() == 5
    st = g.get_state()
    x = rtorch.randn(3, generator=g)
    g.set_state(st)
    assert rtorch.randn(3, generator=g).tolist() == x.tolist()
    assert isinstance(g.seed(), int)
    assert str(g.device) == "cpu"


def test_independent_of_thread_count():
    old = rtorch.get_num_threads()
    try:
        rtorch.set_num_threads(1)
        assert rtorch.get_num_threads() == 1
        rtorch.manual_seed(3)
        a = rtorch.randn(100_000)
        rtorch.set_num_threads(2)
        rtorch.manual_seed(3)
        b = rtorch.randn(100_000)
        assert np.array_equal(vals(a), vals(b))
    finally:
        rtorch.set_num_threads(old)
    with pytest.raises(RuntimeError):
        rtorch.set_num_threads(0)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_rand_randn_statistics(dtype):
    rtorch.manual_seed(0)
    u = vals(rtorch.rand(20_000, dtype=dtype))
    assert rtorch.rand(2, dtype=dtype).dtype == dtype
    assert u.min() >= 0 and u.max() <= 1  # half types may round up to 1.0
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.std() - (1 / 12) ** 0.5) < 0.01
    z = vals(rtorch.randn(20_000, dtype=dtype))
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03


def test_rand_shapes_and_keywords():
    assert rtorch.rand(2, 3).shape == (2, 3)
    assert rtorch.rand((2, 3)).shape == (2, 3)
    assert rtorch.rand(()).shape == ()
    assert rtorch.randn(0, 3).shape == (0, 3)
    assert rtorch.rand(2, requires_grad=True).requires_grad
    assert rtorch.rand(2, dtype=rtorch.float64).dtype == rtorch.float64
    x = rtorch.zeros(2, 3, dtype=rtorch.float64)
    assert rtorch.rand_like(x).shape == (2, 3) and rtorch.rand_like(x).dtype == rtorch.float64
    assert rtorch.randn_like(x, dtype=rtorch.float32).dtype == rtorch.float32


def test_rand_int_dtype_errors():
    with pytest.raises(
        NotImplementedError, match="\"check_uniform_bounds\" not implemented for 'Long'"
    ):
        rtorch.rand(2, dtype=rtorch.int64)
    with pytest.raises(
        NotImplementedError, match="\"normal_kernel_cpu\" not implemented for 'Long'"
    ):
        rtorch.randn(2, dtype=rtorch.int64)


def test_randint():
    rtorch.manual_seed(1)
    t = rtorch.randint(3, 10, (5000,))
    assert t.dtype == rtorch.int64
    v = vals(t)
    assert v.min() == 3 and v.max() == 9
    assert set(np.unique(v)) == set(range(3, 10))
    t2 = rtorch.randint(4, (2, 3))
    assert t2.shape == (2, 3) and vals(t2).max() < 4 and vals(t2).min() >= 0
    neg = vals(rtorch.randint(-5, -2, (1000,)))
    assert neg.min() == -5 and neg.max() == -3
    assert rtorch.randint(0, 2, (3,), dtype=rtorch.float32).dtype == rtorch.float32
    assert rtorch.randint(low=0, high=5, size=(4,)).shape == (4,)
    like = rtorch.randint_like(rtorch.zeros(3, 2, dtype=rtorch.int32), 5)
    assert like.dtype == rtorch.int32 and like.shape == (3, 2) and vals(like).max() < 5
    assert vals(rtorch.randint_like(rtorch.zeros(50), 2, 4)).min() >= 2
    with pytest.raises(
        RuntimeError, match="random_ expects 'from' to be less than 'to', but got from=5 >= to=5"
    ):
        rtorch.randint(5, 5, (3,))


def test_randperm():
    rtorch.manual_seed(2)
    p = rtorch.randperm(100)
    assert p.dtype == rtorch.int64
    assert sorted(p.tolist()) == list(range(100))
    assert p.tolist() != list(range(100))
    assert rtorch.randperm(0).shape == (0,)
    assert rtorch.randperm(5, dtype=rtorch.float32).dtype == rtorch.float32
    g = rtorch.Generator().manual_seed(9)
    a = rtorch.randperm(20, generator=g)
    g.manual_seed(9)
    assert rtorch.randperm(20, generator=g).tolist() == a.tolist()


def test_normal_overloads():
    rtorch.manual_seed(0)
    a = rtorch.normal(2.0, 3.0, size=(20_000,))
    assert a.dtype == rtorch.float32
    v = vals(a)
    assert abs(v.mean() - 2) < 0.1 and abs(v.std() - 3) < 0.1
    m = rtorch.zeros(4, 5000) + rtorch.tensor([[0.0], [10.0], [20.0], [30.0]])
    b = rtorch.normal(m, 1.0)
    assert b.shape == (4, 5000)
    assert np.allclose(vals(b).mean(1), [0, 10, 20, 30], atol=0.1)
    s = rtorch.full((5000,), 2.0, dtype=rtorch.float64)
    c = rtorch.normal(1.0, s)
    assert c.dtype == rtorch.float64 and abs(vals(c).std() - 2) < 0.1
    d = rtorch.normal(rtorch.zeros(3), rtorch.ones(3))
    assert d.shape == (3,)
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0, but found std -1"):
        rtorch.normal(rtorch.zeros(3), -1.0)
    mean = rtorch.zeros(3, requires_grad=True)
    out = rtorch.normal(mean, rtorch.ones(3))
    out.sum().backward()
    assert mean.grad.tolist() == [0.0, 0.0, 0.0]


def test_bernoulli():
    rtorch.manual_seed(0)
    p = rtorch.tensor([0.0, 1.0, 0.3]).expand(20_000, 3)
    b = rtorch.bernoulli(p)
    assert b.dtype == rtorch.float32 and b.shape == (20_000, 3)
    v = vals(b)
    assert set(np.unique(v)) <= {0.0, 1.0}
    assert v[:, 0].sum() == 0 and v[:, 1].sum() == 20_000
    assert abs(v[:, 2].mean() - 0.3) < 0.02
    assert abs(vals(rtorch.bernoulli(rtorch.zeros(10_000), 0.7)).mean() - 0.7) < 0.02
    assert abs(vals(rtorch.zeros(10_000).bernoulli(0.2)).mean() - 0.2) < 0.02
    t = rtorch.zeros(10_000, dtype=rtorch.int64)
    t.bernoulli_(0.5)
    assert abs(vals(t).mean() - 0.5) < 0.02
    t2 = rtorch.zeros(3)
    t2.bernoulli_(rtorch.tensor([1.0, 0.0, 1.0]))
    assert t2.tolist() == [1.0, 0.0, 1.0]
    with pytest.raises(RuntimeError, match="Expected p_in >= 0 && p_in <= 1"):
        rtorch.bernoulli(rtorch.full((3,), 1.5))
    with pytest.raises(RuntimeError, match=r"bernoulli_ expects p to be in \[0, 1\]"):
        rtorch.zeros(3).bernoulli_(2.0)


def test_multinomial():
    rtorch.manual_seed(0)
    w = rtorch.tensor([1.0, 0.0, 3.0])
    s = rtorch.multinomial(w, 8000, replacement=True)
    assert s.dtype == rtorch.int64 and s.shape == (8000,)
    v = vals(s)
    assert (v == 1).sum() == 0
    assert abs((v == 2).mean() - 0.75) < 0.03
    nr = rtorch.multinomial(rtorch.ones(2, 5), 5)
    assert nr.shape == (2, 5)
    for row in nr.tolist():
        assert sorted(row) == [0, 1, 2, 3, 4]
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        rtorch.multinomial(rtorch.ones(3), 4)
    with pytest.raises(
        RuntimeError, match="probability tensor contains either `inf`, `nan` or element < 0"
    ):
        rtorch.multinomial(rtorch.tensor([1.0, -1.0]), 1)
    assert rtorch.ones(4).multinomial(2).shape == (2,)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_inplace_uniform_normal_exponential(dtype):
    rtorch.manual_seed(0)
    t = rtorch.empty(10_000, dtype=dtype)
    assert t.uniform_(2, 5) is t
    v = vals(t)
    assert v.min() >= 2 and v.max() <= 5 and abs(v.mean() - 3.5) < 0.05
    t.normal_(1.0, 0.5)
    v = vals(t)
    assert abs(v.mean() - 1) < 0.03 and abs(v.std() - 0.5) < 0.03
    t.exponential_(2.0)
    v = vals(t)
    assert v.min() >= 0 and abs(v.mean() - 0.5) < 0.03


def test_inplace_on_noncontiguous_view():
    base = rtorch.zeros(4, 6)
    view = base.t()
    view.uniform_(1, 2)
    assert vals(base).min() >= 1
    sub = rtorch.zeros(4, 6).narrow(1, 1, 3)
    sub.normal_()
    assert sub.shape == (4, 3)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
def test_inplace_draws_follow_memory_order(dtype):
    # As PyTorch: a non-contiguous tensor is visited in memory order, so uniform_ of a
    # transposed tensor fills its storage as uniform_ of the contiguous one would; a
    # non-contiguous normal_ takes one value at a time, as a strided vector does.
    rtorch.manual_seed(7)
    direct = rtorch.empty(70_021, dtype=dtype).uniform_(-1, 3)
    rtorch.manual_seed(7)
    staged = rtorch.empty(10_003, 7, dtype=dtype).t().uniform_(-1, 3)
    assert not staged.is_contiguous()
    np.testing.assert_array_equal(vals(staged.t()).reshape(-1), vals(direct))
    rtorch.manual_seed(7)
    strided = rtorch.empty(2 * 70_021, dtype=dtype)[::2].normal_(0.5, 2.0)
    rtorch.manual_seed(7)
    staged = rtorch.empty(10_003, 7, dtype=dtype).t().normal_(0.5, 2.0)
    np.testing.assert_array_equal(vals(staged.t()).reshape(-1), vals(strided))


def test_inplace_errors():
    with pytest.raises(
        RuntimeError,
        match=r"uniform_ expects to return a \[from, to\) range, but found from=5 > to=4",
    ):
        rtorch.ones(3).uniform_(5, 4)
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0, but found std -1"):
        rtorch.ones(3).normal_(0, -1)
    with pytest.raises(
        RuntimeError, match="exponential_ expects lambda > 0.0, but found lambda=-1"
    ):
        rtorch.ones(3).exponential_(-1)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        rtorch.ones(3, requires_grad=True).uniform_()
    with pytest.raises(
        RuntimeError, match="random_ expects 'from' to be less than 'to', but got from=5 >= to=5"
    ):
        rtorch.ones(3).random_(5, 5)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES)
def test_random_(dtype):
    rtorch.manual_seed(0)
    t = rtorch.zeros(2000, dtype=dtype)
    t.random_(2, 9)
    v = vals(t)
    assert v.min() == 2 and v.max() == 8
    t.random_(4)
    assert vals(t).max() <= 3
    t.random_()
    assert vals(t).min() >= 0


def test_fill_and_zero():
    t = rtorch.ones(2, 3)

    def version(x: rtorch.Tensor) -> int:
        return x._version() if callable(x._version) else x._version

    v0 = version(t)
    assert t.fill_(2.5) is t
    assert t.tolist() == [[2.5] * 3] * 2 and version(t) > v0
    t.zero_()
    assert t.tolist() == [[0.0] * 3] * 2
    i = rtorch.zeros(3, dtype=rtorch.int32)
    i.fill_(7)
    assert i.tolist() == [7, 7, 7]
    i.fill_(rtorch.tensor(4))
    assert i.tolist() == [4, 4, 4]
    tt = rtorch.zeros(4, 4).t()
    tt.fill_(1)
    assert tt.tolist() == [[1.0] * 4] * 4
    with pytest.raises(RuntimeError, match="fill_ only supports 0-dimension value tensor"):
        rtorch.zeros(3).fill_(rtorch.ones(2))
    # gradient: fill_ cuts the dependence on the old values, a tensor value gets the sum
    x = rtorch.ones(3, requires_grad=True)
    y = x * 2
    val = rtorch.tensor(3.0, requires_grad=True)
    y.fill_(val)
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0] and val.grad.item() == 3.0


def test_continuous_in_place_draws_refuse_integer_tensors_as_pytorch():
    names = {rtorch.int64: ("long int", "Long"), rtorch.int32: ("int", "Int"),
             rtorch.int8: ("signed char", "Char"), rtorch.uint8: ("unsigned char", "Byte"),
             rtorch.bool: ("bool", "Bool")}  # fmt: skip
    for dtype, (cpp, short) in names.items():
        t = rtorch.zeros(3, dtype=dtype)
        with pytest.raises(
            RuntimeError, match=f"Cauchy distribution is a continuous .* you specified {cpp}$"
        ):
            t.cauchy_()
        with pytest.raises(
            RuntimeError, match=f"Exponential distribution .* you specified {short}$"
        ):
            t.exponential_()
        with pytest.raises(
            NotImplementedError, match=f"\"log_normal_cpu\" not implemented for '{short}'"
        ):
            t.log_normal_()
    with pytest.raises(NotImplementedError, match="\"geometric_cpu\" not implemented for 'Bool'"):
        rtorch.zeros(3, dtype=rtorch.bool).geometric_(0.5)
    assert rtorch.zeros(3, dtype=rtorch.int64).geometric_(0.5).min().item() >= 1


def test_bernoulli_of_integer_probabilities_raises_as_pytorch():
    for dtype, name in ((rtorch.int64, "Long"), (rtorch.int32, "Int"), (rtorch.bool, "Bool")):
        with pytest.raises(
            NotImplementedError, match=f"\"bernoulli_tensor_cpu_p_\" not implemented for '{name}'"
        ):
            rtorch.bernoulli(rtorch.ones(3, dtype=dtype))
    # A number p fills any dtype, as PyTorch.
    assert rtorch.ones(4, dtype=rtorch.int64).bernoulli_(1.0).tolist() == [1, 1, 1, 1]


@pytest.mark.parametrize(
    ("shape", "n", "replacement", "outcome"),
    [
        ((3, 0), 2, True, "sum of probabilities <= 0"),
        ((3, 0), 1, True, "aminmax(): cannot compute aminmax over an empty dimension"),
        ((0,), 1, True, "aminmax(): cannot compute aminmax over an empty dimension"),
        ((0,), 2, True, "sum of probabilities <= 0"),
        ((3, 0), 1, False, "cannot sample n_sample > prob_dist.size(-1)"),
        ((0, 4), 2, True, (0, 2)),
        ((0, 4), 1, False, (0, 1)),
        ((0, 0), 2, True, (0, 2)),
    ],
)
def test_multinomial_without_categories_or_rows_as_pytorch(shape, n, replacement, outcome):
    # Rows without categories fail PyTorch's checks (RuntimeError, its messages); no rows
    # give an empty result. Neither draws anything.
    rtorch.manual_seed(0)
    probs = rtorch.ones(*shape)
    if isinstance(outcome, str):
        with pytest.raises(RuntimeError, match=re.escape(outcome)):
            rtorch.multinomial(probs, n, replacement=replacement)
    else:
        assert rtorch.multinomial(probs, n, replacement=replacement).shape == outcome
    after = rtorch.rand(1).item()
    rtorch.manual_seed(0)
    assert rtorch.rand(1).item() == after


@pytest.mark.parametrize("dtype", [rtorch.int64, rtorch.uint8, rtorch.bool])
def test_continuous_fills_of_empty_integer_tensors_are_no_ops_as_pytorch(dtype):
    # PyTorch's dtype checks of these fills sit in kernels an empty tensor never reaches.
    empty = rtorch.empty(3, 0, dtype=dtype)
    assert empty.normal_().shape == (3, 0)
    assert empty.exponential_().shape == (3, 0)
    assert empty.log_normal_().shape == (3, 0)
    assert empty.geometric_(0.5).shape == (3, 0)
    assert rtorch.bernoulli(empty).dtype == dtype
    assert rtorch.randn(0, 2, dtype=dtype).shape == (0, 2)
    assert rtorch.randn_like(empty).dtype == dtype
    with pytest.raises(NotImplementedError):
        rtorch.empty(2, dtype=dtype).normal_()
    with pytest.raises(NotImplementedError):
        rtorch.randn(2, dtype=dtype)


@pytest.mark.parametrize(
    ("dtype", "low", "high", "message"),
    [
        (rtorch.bool, 2, 9, "from is out of bounds for bool"),
        (rtorch.uint8, -1, 2, "from is out of bounds for unsigned char"),
        (rtorch.uint8, 0, 300, "to - 1 is out of bounds for unsigned char"),
        (rtorch.int8, 0, 2**40, "to - 1 is out of bounds for signed char"),
        (rtorch.int16, 0, 2**16, "to - 1 is out of bounds for short int"),
        (rtorch.int32, -(2**31) - 1, 0, "from is out of bounds for int"),
    ],
)
def test_random_bounds_outside_the_integer_dtype_raise_as_pytorch(dtype, low, high, message):
    # Draws outside the dtype would wrap around: PyTorch refuses the bounds.
    with pytest.raises(RuntimeError, match=re.escape(message)):
        rtorch.empty(3, dtype=dtype).random_(low, high)
    with pytest.raises(RuntimeError, match=re.escape(message)):
        rtorch.randint(low, high, (3,), dtype=dtype)
    assert rtorch.empty(3, dtype=rtorch.int64).random_(low, high).dtype == rtorch.int64


def test_generator_pickles_deep_copies_and_clones_its_state():
    import copy
    import pickle

    g = rtorch.Generator().manual_seed(5)
    rtorch.randn(3, generator=g)  # leaves a cached normal value in g
    copies = [pickle.loads(pickle.dumps(g)), copy.deepcopy(g), g.clone_state()]
    want = rtorch.randn(5, generator=g).tolist()
    for c in copies:
        assert c is not g and c.initial_seed() == 5
        assert rtorch.randn(5, generator=c).tolist() == want
    # CPU generators have no Philox offset and no CUDA-graph state (PyTorch's errors).
    with pytest.raises(RuntimeError, match="CPU Generator does not use offset"):
        g.get_offset()
    with pytest.raises(NotImplementedError, match="graphsafe_get_state"):
        g.graphsafe_get_state()
