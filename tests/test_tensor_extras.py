"""Tensor.apply_/map_/map2_, as_strided_scatter, the is_<backend> flags, output_nr
(python/rtorch/_tensor_extras.py) and rtorch.backends.cpu/mkl/mkldnn/openmp/opt_einsum.
References: the same callables run element by element in plain Python, numpy's
as_strided on a copy, central differences (gradcheck), and PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rtorch
from rtorch.autograd import gradcheck

# --- apply_ / map_ / map2_ ---------------------------------------------------------------------


def test_apply_float_int_bool_values_and_types():
    seen: list[type] = []
    x = rtorch.tensor([1.0, -2.5, 3.0])
    out = x.apply_(lambda v: seen.append(type(v)) or math.exp(v))
    assert out is x and seen == [float, float, float]
    np.testing.assert_allclose(x.numpy(), np.float32(np.exp([1.0, -2.5, 3.0])), rtol=1e-6)
    seen.clear()
    i = rtorch.tensor([1, 2, 3]).apply_(lambda v: seen.append(type(v)) or v / 2)
    assert seen == [int, int, int] and i.tolist() == [0, 1, 1]  # truncation, as int()
    b = rtorch.tensor([True, False]).apply_(lambda v: seen.append(type(v)) or not v)
    assert seen[-1] is bool and b.tolist() == [False, True]
    assert rtorch.tensor([True, False]).apply_(lambda v: 0.5).tolist() == [True, True]
    assert rtorch.ones(2).apply_(lambda v: True).tolist() == [1.0, 1.0]
    h = rtorch.ones(2, dtype=rtorch.float16).apply_(lambda v: v / 3)
    assert h.dtype == rtorch.float16 and h.tolist() == [np.float16(1 / 3)] * 2
    assert rtorch.tensor(3.0).apply_(lambda v: v + 1).item() == 4.0
    assert rtorch.zeros(0).apply_(lambda v: 5).numel() == 0


def test_apply_integer_conversion_rules():
    assert rtorch.ones(2, dtype=rtorch.int64).apply_(lambda v: 2.7).tolist() == [2, 2]
    assert rtorch.ones(2, dtype=rtorch.uint8).apply_(lambda v: -1).tolist() == [255, 255]
    with pytest.raises(RuntimeError, match="without overflow"):
        rtorch.ones(2, dtype=rtorch.uint8).apply_(lambda v: 300)
    with pytest.raises(RuntimeError, match="without overflow"):
        rtorch.ones(2, dtype=rtorch.int8).apply_(lambda v: 200)
    with pytest.raises(RuntimeError, match="without overflow"):
        rtorch.ones(2, dtype=rtorch.int64).apply_(lambda v: float("inf"))
    with pytest.raises(TypeError, match="must be real number, not str"):
        rtorch.ones(2).apply_(lambda v: "a")
    with pytest.raises(TypeError, match="must be real number, not NoneType"):
        rtorch.ones(2).apply_(lambda v: None)
    # 0-dim and one-element tensors, numpy scalars convert like Python numbers.
    assert rtorch.ones(2).apply_(lambda v: rtorch.tensor([3.0])).tolist() == [3.0, 3.0]
    assert rtorch.ones(2).apply_(lambda v: np.float64(2.5)).tolist() == [2.5, 2.5]


def test_apply_integer_and_bool_need_integers():
    with pytest.raises(TypeError, match="'str' object cannot be interpreted as an integer"):
        rtorch.ones(2, dtype=rtorch.int64).apply_(lambda v: "3")
    with pytest.raises(TypeError, match="'NoneType' object cannot be interpreted"):
        rtorch.ones(2, dtype=rtorch.bool).apply_(lambda v: None)
    with pytest.raises(ValueError, match="Overflow"):
        rtorch.ones(2, dtype=rtorch.int64).apply_(lambda v: 2**63)
    assert (
        rtorch.ones(2, dtype=rtorch.int64).apply_(lambda v: 2**63 - 1).tolist() == [2**63 - 1] * 2
    )
    assert rtorch.ones(2, dtype=rtorch.uint8).apply_(lambda v: -255).tolist() == [1, 1]
    with pytest.raises(RuntimeError, match="without overflow"):
        rtorch.ones(2, dtype=rtorch.uint8).apply_(lambda v: -256)


_CONVERSIONS = [
    ("float32", 1e300),
    ("float16", 1e6),
    ("float64", True),
    ("int64", 2.7),
    ("int64", -2.7),
    ("int64", float("nan")),
    ("int64", "3"),
    ("int64", None),
    ("int32", 2**31),
    ("int8", -128),
    ("uint8", -1),
    ("uint8", 256),
    ("bool", 0.5),
    ("bool", 0.0),
    ("bool", 2),
    ("bool", "x"),
    ("float32", "1.5"),
    ("float32", (1, 2)),
]


@pytest.mark.parametrize("dtype,value", _CONVERSIONS)
def test_apply_conversions_match_pytorch(torch_ref, dtype, value):
    torch = torch_ref

    def run(lib):
        try:
            return lib.ones(2, dtype=getattr(lib, dtype)).apply_(lambda v: value).tolist()
        except (RuntimeError, TypeError, ValueError) as e:  # the class must agree
            return type(e)

    assert run(rtorch) == run(torch)


def test_apply_on_views_and_expanded_memory():
    base = rtorch.zeros(2, 3)
    base[:, ::2].apply_(lambda v: 5)
    assert base.tolist() == [[5.0, 0.0, 5.0], [5.0, 0.0, 5.0]]
    order: list[float] = []
    t = rtorch.arange(6.0).view(2, 3).t()
    t.apply_(lambda v: order.append(v) or v)
    assert order == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]  # logical order, not memory order
    # Three elements share one memory cell: each call sees the previous write.
    e = rtorch.ones(1).expand(3)
    assert e.apply_(lambda v: v + 1).tolist() == [4.0, 4.0, 4.0]


def test_map_and_map2_broadcast_the_operands():
    a = rtorch.zeros(2, 3)
    a.map_(rtorch.tensor([1.0, 2, 3]), lambda p, q: p + q)
    assert a.tolist() == [[1, 2, 3], [1, 2, 3]]
    a.map_(rtorch.tensor([[10.0], [20.0]]), lambda p, q: p * q)
    assert a.tolist() == [[10, 20, 30], [20, 40, 60]]
    c = rtorch.zeros(2, 3).map2_(
        rtorch.ones(3), rtorch.arange(2.0).view(2, 1), lambda p, q, r: p + q + r
    )
    assert c.tolist() == [[1, 1, 1], [2, 2, 2]]
    with pytest.raises(RuntimeError):
        rtorch.zeros(3).map_(rtorch.zeros(2, 3), lambda p, q: q)
    with pytest.raises(
        TypeError, match=r"map_: expected torch.FloatTensor for 'other' \(got torch.LongTensor\)"
    ):
        rtorch.zeros(3).map_(rtorch.arange(3), lambda p, q: q)
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        rtorch.zeros(2).map_([1, 2], lambda p, q: q)
    with pytest.raises(TypeError, match="map2_: expected torch.FloatTensor for argument 'y'"):
        rtorch.zeros(2).map2_(rtorch.zeros(2), rtorch.zeros(2).long(), lambda p, q, r: q)
    with pytest.raises(TypeError, match=r"argument 'x' \(position 1\) must be Tensor"):
        rtorch.zeros(2).map2_([1.0, 2.0], rtorch.zeros(2), lambda p, q, r: q)
    with pytest.raises(RuntimeError, match="requires grad"):
        rtorch.zeros(2).map_(rtorch.ones(2, requires_grad=True), lambda p, q: q)
    with pytest.raises(TypeError):
        rtorch.ones(2).map_(rtorch.ones(2), lambda a: a)


def test_apply_family_refuses_grad_and_skips_meta():
    leaf = rtorch.ones(2, requires_grad=True)
    for call, name in [
        (lambda t: t.apply_(lambda v: v), "apply_"),
        (lambda t: t.map_(rtorch.ones(2), lambda a, b: a), "map_"),
        (lambda t: t.map2_(rtorch.ones(2), rtorch.ones(2), lambda a, b, c: a), "map2_"),
    ]:
        with pytest.raises(
            RuntimeError, match=rf"Can't call {name}\(\) on Variable that requires grad"
        ):
            call(leaf)
        with pytest.raises(RuntimeError, match="requires grad"):
            call(leaf * 1)
    m = rtorch.zeros(2, device="meta")
    calls: list[float] = []
    assert m.apply_(lambda v: calls.append(v)) is m and calls == []
    assert m.map_(rtorch.zeros(2, device="meta"), lambda a, b: a) is m
    with pytest.raises(TypeError, match="not callable"):
        rtorch.ones(2).apply_(1)


def test_apply_family_matches_pytorch(torch_ref):
    torch = torch_ref

    def run(lib):
        x = lib.arange(12.0).view(3, 4)[:, 1::2]
        x.apply_(lambda v: v * v - 1)
        y = lib.arange(6, dtype=lib.int32).view(2, 3)
        y.map_(lib.tensor([1, -2, 3], dtype=lib.int32), lambda p, q: p * q + 1)
        z = lib.zeros(2, 2).map2_(
            lib.tensor([0.5, 1.5]), lib.tensor([[1.0], [2.0]]), lambda s, a, b: a / b
        )
        return [x.tolist(), y.tolist(), z.tolist()]

    assert run(rtorch) == run(torch)


# --- as_strided_scatter --------------------------------------------------------------------------


def _reference(inp: np.ndarray, src: np.ndarray, size, stride, offset: int) -> np.ndarray:
    out = np.ascontiguousarray(inp).copy()
    flat = out.reshape(-1)
    item = flat.itemsize
    view = np.lib.stride_tricks.as_strided(
        flat[offset:], shape=size, strides=[s * item for s in stride]
    )
    view[...] = src
    return out


@pytest.mark.parametrize(
    "shape,size,stride,offset",
    [
        ((3, 3), (2, 2), (3, 1), 0),
        ((3, 3), (2, 2), (3, 1), 1),
        ((3, 3), (2, 2), (1, 3), 4),
        ((4, 5), (3,), (6,), 2),
        ((6,), (2, 3), (3, 1), 0),
    ],
)
def test_as_strided_scatter_against_numpy(shape, size, stride, offset):
    rng = np.random.default_rng(0)
    inp = rng.standard_normal(shape)
    src = rng.standard_normal(size)
    got = rtorch.as_strided_scatter(rtorch.tensor(inp), rtorch.tensor(src), size, stride, offset)
    np.testing.assert_array_equal(got.numpy(), _reference(inp, src, size, stride, offset))
    method = rtorch.tensor(inp).as_strided_scatter(rtorch.tensor(src), size, stride, offset)
    np.testing.assert_array_equal(method.numpy(), got.numpy())


def test_as_strided_scatter_layouts_dtypes_and_empty():
    src = rtorch.tensor([[1.0, 2], [3, 4]])
    base = rtorch.zeros(10)
    view = base[2:8].view(2, 3)  # storage offset 2: offsets count from the view's start
    expected = [[1.0, 2, 0], [3, 4, 0]]
    assert rtorch.as_strided_scatter(view, src, (2, 2), (3, 1)).tolist() == expected
    assert rtorch.as_strided_scatter(view, src, (2, 2), (3, 1), 2).tolist() == expected
    assert base.tolist() == [0.0] * 10
    # A transposed (column-major) input keeps its strides in the clone.
    tv = rtorch.zeros(3, 2).t()
    assert rtorch.as_strided_scatter(tv, src, (2, 2), (1, 2)).tolist() == expected
    x = rtorch.zeros(3, 3, dtype=rtorch.int64)
    out = rtorch.as_strided_scatter(x, src.double(), (2, 2), (3, 1))
    assert out.dtype == rtorch.int64 and out.tolist() == [[1, 2, 0], [3, 4, 0], [0, 0, 0]]
    out = rtorch.as_strided_scatter(rtorch.ones(3, 3), rtorch.ones(0, 2), (0, 2), (3, 1))
    assert out.tolist() == [[1.0] * 3] * 3


def test_as_strided_scatter_errors():
    x, src = rtorch.zeros(3, 3), rtorch.ones(2, 2)
    with pytest.raises(RuntimeError, match="expected src to have a size equal to the slice"):
        rtorch.as_strided_scatter(x, rtorch.ones(3), (2, 2), (3, 1))
    with pytest.raises(RuntimeError, match="out of bounds for storage of size 36"):
        rtorch.as_strided_scatter(x, src, (2, 2), (3, 1), 8)
    with pytest.raises(RuntimeError, match="more than one element"):
        rtorch.as_strided_scatter(x, src, (2, 2), (0, 1))
    with pytest.raises(RuntimeError, match="Negative strides"):
        rtorch.as_strided_scatter(x, src, (2, 2), (-1, 1))
    with pytest.raises(RuntimeError, match="mismatch in length"):
        rtorch.as_strided_scatter(x, src, (2, 2), (1,))


def test_as_strided_scatter_gradients():
    rng = np.random.default_rng(1)
    x = rtorch.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    s = rtorch.tensor(rng.standard_normal((2, 2)), requires_grad=True)
    assert gradcheck(lambda a, b: rtorch.as_strided_scatter(a, b, (2, 2), (3, 1), 1), (x, s))
    g = rtorch.arange(1.0, 10.0, dtype=rtorch.float64).view(3, 3)
    gx, gs = rtorch.autograd.grad(rtorch.as_strided_scatter(x, s, (2, 2), (3, 1), 1), (x, s), g)
    # The overwritten cells pass nothing back to the input; src gets their gradient.
    assert gx.tolist() == [[1.0, 0, 0], [4, 0, 0], [7, 8, 9]]
    assert gs.tolist() == [[2.0, 3], [5, 6]]


def test_as_strided_scatter_values_match_pytorch(torch_ref):
    torch = torch_ref
    rng = np.random.default_rng(2)
    inp, src = rng.standard_normal((4, 5)), rng.standard_normal((2, 3))
    for lib_args in [((2, 3), (5, 2), 1), ((2, 3), (1, 5), 3)]:
        ours = rtorch.as_strided_scatter(rtorch.tensor(inp), rtorch.tensor(src), *lib_args)
        ref = torch.as_strided_scatter(torch.tensor(inp), torch.tensor(src), *lib_args)
        np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    # PyTorch 2.15's gradient for ``input`` is the complement of the right one (it fails
    # its own gradcheck); rtorch's src gradient agrees with it.
    s = torch.tensor(src, requires_grad=True)
    g = torch.tensor(rng.standard_normal((4, 5)))
    (ref_gs,) = torch.autograd.grad(
        torch.as_strided_scatter(torch.tensor(inp), s, (2, 3), (5, 2), 1), (s,), g
    )
    rs = rtorch.tensor(src, requires_grad=True)
    (gs,) = rtorch.autograd.grad(
        rtorch.as_strided_scatter(rtorch.tensor(inp), rs, (2, 3), (5, 2), 1),
        (rs,),
        rtorch.tensor(g.numpy()),
    )
    np.testing.assert_array_equal(gs.numpy(), ref_gs.numpy())


# --- flags and output_nr ------------------------------------------------------------------------

FLAGS = ("is_xpu", "is_mps", "is_ipu", "is_mtia", "is_maia", "is_vulkan", "is_xla", "is_sparse_csr")


@pytest.mark.parametrize("flag", FLAGS)
def test_backend_flags_are_false_properties(flag):
    assert isinstance(getattr(rtorch.Tensor, flag), property)
    for t in (
        rtorch.zeros(2),
        rtorch.zeros(2, device="meta"),
        rtorch.tensor(1, dtype=rtorch.int64),
    ):
        assert getattr(t, flag) is False


def test_flags_are_properties_in_pytorch_too(torch_ref):
    torch = torch_ref
    for flag in FLAGS:
        assert getattr(torch.zeros(2), flag) is False
        assert not callable(getattr(torch.zeros(2), flag))


def test_output_nr():
    x = rtorch.randn(2, 3, requires_grad=True)
    assert x.output_nr == 0
    parts = x.unbind(0)
    assert [p.output_nr for p in parts] == [0, 1]
    values, _indices = x.max(1)
    assert values.output_nr == 0


# --- backends ------------------------------------------------------------------------------------


def test_backends_cpu_capability_spelling():
    import rtorch.backends

    cap = rtorch.backends.cpu.get_cpu_capability()
    in_use = rtorch._C._cpu_capability()[0]
    assert cap == {"avx512": "AVX512", "avx2": "AVX2", "default": "DEFAULT"}[in_use]


def test_backends_without_mkl_onednn_openmp():
    import rtorch.backends as b

    assert b.mkl.is_available() is False
    assert b.mkldnn.is_available() is False and b.mkldnn.is_acl_available() is False
    assert b.openmp.is_available() is False
    with b.mkl.verbose(b.mkl.VERBOSE_OFF):
        pass
    with pytest.raises(AssertionError), b.mkl.verbose(b.mkl.VERBOSE_ON):
        pass
    assert (b.mkldnn.VERBOSE_OFF, b.mkldnn.VERBOSE_ON, b.mkldnn.VERBOSE_ON_CREATION) == (0, 1, 2)
    assert b.mkldnn.enabled is True
    with b.mkldnn.flags(enabled=False):
        assert b.mkldnn.enabled is False
    assert b.mkldnn.enabled is True


def test_backends_opt_einsum_reflects_the_package():
    import importlib.util

    import rtorch.backends as b

    present = importlib.util.find_spec("opt_einsum") is not None
    assert b.opt_einsum.is_available() is present
    assert b.opt_einsum.enabled is present
    assert b.opt_einsum.strategy == ("auto" if present else None)
    if not present:
        assert b.opt_einsum.get_opt_einsum() is None
        with pytest.raises(ValueError, match="opt_einsum is not available"):
            b.opt_einsum.enabled = True
        b.opt_einsum.enabled = False
        assert b.opt_einsum.enabled is False
    else:
        with pytest.raises(ValueError, match="must be one of"):
            b.opt_einsum.strategy = "fastest"


def test_backends_match_pytorch_names(torch_ref):
    torch = torch_ref
    import rtorch.backends as b

    assert b.cpu.get_cpu_capability() in ("DEFAULT", "AVX2", "AVX512")
    assert torch.backends.cpu.get_cpu_capability() in ("DEFAULT", "AVX2", "AVX512")
    for mod in ("mkl", "mkldnn", "openmp", "opt_einsum"):
        assert callable(getattr(torch.backends, mod).is_available)
        assert callable(getattr(b, mod).is_available)
    assert b.opt_einsum.is_available() == torch.backends.opt_einsum.is_available()


def test_as_strided_scatter_on_meta():
    out = rtorch.as_strided_scatter(
        rtorch.empty(3, 3, device="meta"), rtorch.empty(2, 2, device="meta"), (2, 2), (3, 1)
    )
    assert out.is_meta and tuple(out.shape) == (3, 3)


def test_apply_on_overlapping_views_matches_pytorch(torch_ref):
    torch = torch_ref

    def run(lib):
        b = lib.arange(5.0)
        v = b.as_strided((2, 2), (1, 1))
        first = v.apply_(lambda x: x * 10).tolist()
        c = lib.arange(5.0)
        w = c.as_strided((2, 2), (1, 1)).map_(lib.ones(2, 2), lambda x, y: x + y)
        return first, b.tolist(), w.tolist(), c.tolist()

    assert run(rtorch) == run(torch)


# --- as_subclass / _make_subclass ------------------------------------------------------------


class _Sub(rtorch.Tensor):
    pass


class _NeedsArgs(rtorch.Tensor):
    def __new__(cls, a, b):
        raise AssertionError("as_subclass must not call the subclass's __new__")


def test_as_subclass_aliases_and_keeps_the_graph() -> None:
    x = rtorch.tensor([1.0, 2.0], requires_grad=True)
    y = x.as_subclass(_Sub)
    assert type(y) is _Sub and y.requires_grad and not y.is_leaf
    assert y.grad_fn.name() == "AliasBackward0"
    (y * y).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    w = rtorch.zeros(3)
    v = w.as_subclass(_NeedsArgs)
    assert type(v) is _NeedsArgs
    v[1] = 5.0
    assert w.tolist() == [0.0, 5.0, 0.0]
    assert type(w.as_subclass(rtorch.Tensor)) is rtorch.Tensor
    with pytest.raises(TypeError, match="does not inherit from Tensor"):
        w.as_subclass(int)


def test_make_subclass_is_a_detached_alias() -> None:
    data = rtorch.ones(2, requires_grad=True) * 3
    z = rtorch.Tensor._make_subclass(_Sub, data, True)
    assert type(z) is _Sub and z.requires_grad and z.is_leaf and z.grad_fn is None
    data.detach().add_(1.0)  # same storage
    assert z.tolist() == [4.0, 4.0]
    assert not rtorch.Tensor._make_subclass(_Sub, rtorch.ones(2)).requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        rtorch.Tensor._make_subclass(_Sub, rtorch.ones(2).int(), True)
    with pytest.raises(TypeError, match="does not inherit from Tensor"):
        rtorch.Tensor._make_subclass(int, rtorch.ones(2))


def test_as_subclass_matches_torch(torch_ref) -> None:
    torch = torch_ref

    class TSub(torch.Tensor):
        pass

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x.as_subclass(TSub)
    mine = rtorch.tensor([1.0, 2.0], requires_grad=True).as_subclass(_Sub)
    assert y.grad_fn.name() == mine.grad_fn.name()
    assert (y.is_leaf, y.requires_grad) == (mine.is_leaf, mine.requires_grad)
