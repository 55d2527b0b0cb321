"""The `meta` device: tensors with shape, dtype and strides but no data.

Every op that has a meta path is run on CPU tensors and on meta tensors of the same
shapes and dtypes; the meta result must carry the CPU result's shape, dtype and
requires_grad, on `meta`. Ops without a meta path must raise NotImplementedError
(never crash, never hand out values). Expected strings are PyTorch 2.x's.
"""

import numpy as np
import pytest

import rtorch
from rtorch import nn

F32, F64, I64 = rtorch.float32, rtorch.float64, rtorch.int64


def meta_like(t: rtorch.Tensor) -> rtorch.Tensor:
    return rtorch.empty(tuple(t.shape), dtype=t.dtype, device="meta")


def assert_same_meta(got: rtorch.Tensor, ref: rtorch.Tensor) -> None:
    assert got.device.type == "meta" and got.is_meta
    assert tuple(got.shape) == tuple(ref.shape)
    assert got.dtype == ref.dtype
    assert got.requires_grad == ref.requires_grad


# --- creation -----------------------------------------------------------------------


def test_factories_create_on_meta_without_memory():
    # 2**40 float32 would need 4 TiB on the CPU.
    big = rtorch.empty(2**40, device="meta")
    assert big.shape == (2**40,) and big.dtype == F32 and big.is_meta
    assert big.data_ptr() == 0
    cases = [
        (rtorch.zeros(2, 3, device="meta"), (2, 3), F32),
        (rtorch.ones((4,), dtype=I64, device="meta"), (4,), I64),
        (rtorch.full((2, 2), 7, device="meta"), (2, 2), I64),
        (rtorch.full((2, 2), 7.5, device="meta"), (2, 2), F32),
        (rtorch.rand(3, 5, device="meta"), (3, 5), F32),
        (rtorch.randn(3, dtype=F64, device=rtorch.device("meta")), (3,), F64),
        (rtorch.randint(0, 10, (6,), device="meta"), (6,), I64),
        (rtorch.randperm(5, device="meta"), (5,), I64),
        (rtorch.arange(10, device="meta"), (10,), I64),
        (rtorch.linspace(0, 1, 7, device="meta"), (7,), F32),
        (rtorch.eye(3, device="meta"), (3, 3), F32),
        (rtorch.tensor([[1.0, 2.0]], device="meta"), (1, 2), F32),
        (rtorch.as_tensor([1, 2, 3], device="meta"), (3,), I64),
        (rtorch.empty(0, 3, device="meta"), (0, 3), F32),
        (rtorch.empty((), device="meta"), (), F32),
    ]
    for t, shape, dtype in cases:
        assert t.device == rtorch.device("meta")
        assert tuple(t.shape) == shape and t.dtype == dtype
    s = rtorch.empty_strided((2, 3), (1, 2), device="meta")
    assert s.stride() == (1, 2) and s.is_meta


def test_like_factories_follow_the_input_device():
    m = rtorch.empty(2, 3, dtype=F64, device="meta")
    for f in (rtorch.empty_like, rtorch.zeros_like, rtorch.ones_like, rtorch.rand_like):
        r = f(m)
        assert r.is_meta and r.shape == (2, 3) and r.dtype == F64
    assert rtorch.full_like(m, 3).is_meta
    assert rtorch.randint_like(m, 5).is_meta
    c = rtorch.zeros_like(m, device="cpu")
    assert c.device.type == "cpu" and c.tolist() == [[0.0] * 3] * 2
    assert rtorch.empty_like(rtorch.ones(2), device="meta").is_meta
    for new in (
        m.new_empty((4,)),
        m.new_zeros(4),
        m.new_ones((4,)),
        m.new_full((4,), 2.0),
        m.new_empty_strided((2, 2), (1, 2)),
    ):
        assert new.is_meta and tuple(new.shape) in ((4,), (2, 2))
        assert new.dtype == F64


def test_random_factories_on_meta_leave_the_generator_alone():
    rtorch.manual_seed(0)
    state = rtorch.get_rng_state()
    rtorch.randn(1000, device="meta")
    rtorch.empty(50, device="meta").uniform_()
    rtorch.empty(50, device="meta").normal_()
    rtorch.empty(50, device="meta").bernoulli_(0.5)
    assert rtorch.equal(rtorch.get_rng_state(), state)
    with pytest.raises(RuntimeError):
        rtorch.randint(5, 2, (3,), device="meta")  # the CPU's argument checks still run


def test_device_objects_and_default_device():
    d = rtorch.device("meta")
    assert d.type == "meta" and d.index is None
    assert repr(d) == "device(type='meta')" and str(d) == "meta"
    assert rtorch.empty(1, device="meta").device == d
    assert rtorch.get_default_device() == rtorch.device("cpu")
    with rtorch.device("meta"):
        assert rtorch.get_default_device() == d
        assert rtorch.zeros(3).is_meta
        with rtorch.device("cpu"):
            assert not rtorch.zeros(3).is_meta
        assert rtorch.randn(2).is_meta
    assert not rtorch.zeros(3).is_meta
    rtorch.set_default_device("meta")
    try:
        assert rtorch.ones(2).is_meta
    finally:
        rtorch.set_default_device(None)
    assert rtorch.get_default_device().type == "cpu"
    with pytest.raises(RuntimeError):
        rtorch.set_default_device("cuda")


def test_repr_is_pytorchs():
    assert repr(rtorch.empty(2, 3, device="meta")) == "tensor(..., device='meta', size=(2, 3))"
    assert repr(rtorch.empty((), device="meta")) == "tensor(..., device='meta', size=())"
    assert (
        repr(rtorch.ones(2, device="meta", dtype=I64))
        == "tensor(..., device='meta', size=(2,), dtype=torch.int64)"
    )
    x = rtorch.empty(4, 3, device="meta", requires_grad=True)
    assert repr(x) == "tensor(..., device='meta', size=(4, 3), requires_grad=True)"
    assert repr(x * 2) == "tensor(..., device='meta', size=(4, 3), grad_fn=<MulBackward0>)"
    p = nn.Parameter(rtorch.empty(4, 3, device="meta"))
    assert repr(p) == (
        "Parameter containing:\ntensor(..., device='meta', size=(4, 3), requires_grad=True)"
    )


# --- no data ------------------------------------------------------------------------


def test_reading_values_raises_pytorchs_errors():
    m = rtorch.empty(2, 3, device="meta")
    one = rtorch.empty((), device="meta")
    with pytest.raises(RuntimeError, match=r"Tensor.item\(\) cannot be called on meta tensors"):
        one.item()
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        m.item()
    with pytest.raises(RuntimeError, match="cannot be called on meta tensors"):
        bool(one)
    with pytest.raises(TypeError, match="can't convert meta device type tensor to numpy"):
        m.numpy()
    # allclose reads its answer with item(), as PyTorch's does; equal has no meta kernel.
    with pytest.raises(RuntimeError, match=r"Tensor.item\(\) cannot be called on meta tensors"):
        rtorch.allclose(m, m)
    with pytest.raises(NotImplementedError, match="aten::equal: attempted to run this operator"):
        rtorch.equal(m, m)
    for f in (m.tolist, m.cpu, lambda: m.to("cpu"), lambda: rtorch.ones(2, 3).copy_(m)):
        with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor; no data!"):
            f()


def test_mixing_devices_raises():
    m = rtorch.empty(2, 3, device="meta")
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        m + rtorch.ones(2, 3)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        rtorch.ones(2, 3) @ rtorch.empty(3, 2, device="meta")
    # A zero-dim CPU tensor joins a meta op as a scalar would.
    assert (m * rtorch.tensor(2.0)).is_meta


def test_ops_without_a_meta_path_raise_not_implemented():
    m = rtorch.empty(4, 3, device="meta")
    for f in (
        lambda: m.nonzero(),
        lambda: m[m > 0],
        lambda: m.unique(),
    ):
        with pytest.raises(NotImplementedError):
            f()


# --- ops compute shapes and dtypes ----------------------------------------------------


def _x(*shape, dtype=F32):
    return rtorch.ones(*shape, dtype=dtype)


OPS = {
    # unary and activations (both the SIMD float32 path and the generic one)
    "exp": (lambda a: a.exp(), [_x(5, 40)]),
    "exp_f64": (lambda a: a.exp(), [_x(3, 3, dtype=F64)]),
    "sigmoid": (lambda a: a.sigmoid(), [_x(7)]),
    "relu": (lambda a: rtorch.relu(a), [_x(2, 3)]),
    "gelu": (lambda a: nn.functional.gelu(a), [_x(2, 3)]),
    "neg_int": (lambda a: -a, [_x(4, dtype=I64)]),
    "abs_t": (lambda a: a.t().abs(), [_x(3, 4)]),
    "to_f64": (lambda a: a.to(F64), [_x(3)]),
    "logical_not": (lambda a: rtorch.logical_not(a), [_x(3)]),
    "pow_scalar": (lambda a: a**2, [_x(3)]),
    "clamp": (lambda a: a.clamp(0, 1), [_x(2, 2)]),
    "clamp_tensor_bounds": (lambda a, b: a.clamp(b, b + 1), [_x(2, 2), _x(2)]),
    "isnan": (lambda a: a.isnan(), [_x(3)]),
    "sign_int": (lambda a: a.sign(), [_x(3, dtype=I64)]),
    "floor": (lambda a: a.floor(), [_x(2, 3)]),
    "hardtanh": (lambda a: nn.functional.hardtanh(a), [_x(2, 3)]),
    "nan_to_num": (lambda a: a.nan_to_num(), [_x(4)]),
    "bitwise_not": (lambda a: ~a, [_x(4, dtype=I64)]),
    # binary with broadcasting and promotion
    "add": (lambda a, b: a + b, [_x(4, 1), _x(1, 5)]),
    "mul_promote": (lambda a, b: a * b, [_x(3, dtype=I64), _x(3)]),
    "div_int": (lambda a, b: a / b, [_x(3, dtype=I64), _x(3, dtype=I64)]),
    "sub_scalar": (lambda a: 1 - a, [_x(2)]),
    "eq": (lambda a, b: a == b, [_x(2, 3), _x(3)]),
    "where": (lambda a, b: rtorch.where(a > 0, a, b), [_x(2, 3), _x(2, 3)]),
    "maximum": (lambda a, b: rtorch.maximum(a, b), [_x(2, 3), _x(3)]),
    # reductions
    "sum": (lambda a: a.sum(), [_x(4, 5)]),
    "sum_dim": (lambda a: a.sum(1, keepdim=True), [_x(4, 5)]),
    "sum_outer": (lambda a: a.sum(0), [_x(64, 32)]),
    "sum_int": (lambda a: a.sum(0), [_x(4, 5, dtype=I64)]),
    "mean": (lambda a: a.mean((0, 2)), [_x(2, 3, 4)]),
    "amax": (lambda a: a.amax(-1), [_x(2, 3)]),
    "max_dim": (lambda a: a.max(1)[1], [_x(2, 3)]),
    "argmax": (lambda a: a.argmax(), [_x(2, 3)]),
    "prod": (lambda a: a.prod(0), [_x(2, 3, dtype=I64)]),
    "any": (lambda a: (a > 0).any(1), [_x(2, 3)]),
    "var": (lambda a: a.var(0), [_x(5, 2)]),
    "softmax": (lambda a: a.softmax(-1), [_x(3, 4)]),
    "log_softmax_mid": (lambda a: a.log_softmax(1), [_x(2, 3, 4)]),
    # views and shape ops
    "view": (lambda a: a.view(3, 4), [_x(12)]),
    "permute_contig": (lambda a: a.permute(2, 0, 1).contiguous(), [_x(2, 3, 4)]),
    "expand": (lambda a: a.expand(3, 4), [_x(1, 4)]),
    "index_slice": (lambda a: a[1:, ::2], [_x(4, 6)]),
    "cat": (lambda a, b: rtorch.cat([a, b], 1), [_x(2, 3), _x(2, 5)]),
    "stack": (lambda a, b: rtorch.stack([a, b]), [_x(2, 3), _x(2, 3)]),
    "flip": (lambda a: a.flip(0), [_x(3, 2)]),
    "tril": (lambda a: a.tril(), [_x(3, 3)]),
    "reshape_t": (lambda a: a.t().reshape(-1), [_x(3, 4)]),
    # sorting, scans and indexing (index values are not read on meta)
    "sort": (lambda a: a.sort(1, descending=True)[0], [_x(3, 5)]),
    "argsort": (lambda a: a.argsort(0), [_x(3, 5)]),
    "topk": (lambda a: a.topk(2, 1)[1], [_x(3, 5)]),
    "kthvalue": (lambda a: a.kthvalue(2, 0)[0], [_x(3, 5)]),
    "median_dim": (lambda a: a.median(1, keepdim=True)[0], [_x(3, 5)]),
    "mode": (lambda a: a.mode(0)[1], [_x(3, 5)]),
    "cumsum": (lambda a: a.cumsum(1), [_x(3, 5)]),
    "cumsum_int": (lambda a: a.cumsum(0), [_x(3, 5, dtype=I64)]),
    "cumprod": (lambda a: a.cumprod(0), [_x(3, 5)]),
    "cummax": (lambda a: a.cummax(1)[0], [_x(3, 5)]),
    "index_select": (lambda a, i: a.index_select(1, i), [_x(3, 5), rtorch.zeros(4, dtype=I64)]),
    "getitem_tensor": (lambda a, i: a[i, 1:], [_x(3, 5), rtorch.zeros(2, 2, dtype=I64)]),
    "gather": (lambda a, i: a.gather(1, i), [_x(3, 5), rtorch.zeros(3, 2, dtype=I64)]),
    "scatter": (lambda a, i: a.scatter(1, i, 2.0), [_x(3, 5), rtorch.zeros(3, 2, dtype=I64)]),
    "scatter_add": (
        lambda a, i, s: a.scatter_add(0, i, s),
        [_x(3, 5), rtorch.zeros(2, 5, dtype=I64), _x(2, 5)],
    ),
    "index_add": (
        lambda a, i, s: a.index_add(0, i, s),
        [_x(3, 5), rtorch.zeros(2, dtype=I64), _x(2, 5)],
    ),
    "masked_scatter": (lambda a, m, s: a.masked_scatter(m, s), [_x(3, 5), _x(5) > 0, _x(3, 5)]),
    "masked_fill": (lambda a, m: a.masked_fill(m, 2.0), [_x(3, 5), _x(5) > 0]),
    "index_put": (
        lambda a, i, v: a.index_put((i,), v),
        [_x(3, 5), rtorch.zeros(2, dtype=I64), _x(5)],
    ),
    # products and nn
    "matmul": (lambda a, b: a @ b, [_x(5, 3), _x(3, 7)]),
    "bmm_broadcast": (lambda a, b: a @ b, [_x(2, 5, 3), _x(3, 4)]),
    "matmul_int": (lambda a, b: a @ b, [_x(2, 3, dtype=I64), _x(3, 2, dtype=I64)]),
    "linear": (
        lambda x, w, b: nn.functional.linear(x, w, b),
        [_x(8, 4), _x(6, 4), _x(6)],
    ),
    "conv2d": (
        lambda x, w, b: nn.functional.conv2d(x, w, b, stride=2, padding=1),
        [_x(2, 3, 9, 9), _x(5, 3, 3, 3), _x(5)],
    ),
    "max_pool2d": (lambda x: nn.functional.max_pool2d(x, 2), [_x(1, 2, 6, 6)]),
    "unfold": (lambda x: nn.functional.unfold(x, 3), [_x(1, 2, 5, 5)]),
    "dropout": (lambda x: nn.functional.dropout(x, 0.5), [_x(4, 4)]),
    "mse_loss": (lambda a, b: nn.functional.mse_loss(a, b), [_x(3, 2), _x(3, 2)]),
    "batch_norm": (
        lambda x, w, b: nn.functional.batch_norm(x, None, None, w, b, training=True),
        [_x(4, 3, 5), _x(3), _x(3)],
    ),
    "layer_norm": (
        lambda x, w, b: nn.functional.layer_norm(x, (2, 5), w, b),
        [_x(4, 2, 5), _x(2, 5), _x(2, 5)],
    ),
    "group_norm": (lambda x: nn.functional.group_norm(x, 2), [_x(2, 4, 3)]),
    "embedding": (
        lambda i, w: nn.functional.embedding(i, w),
        [rtorch.zeros(3, 4, dtype=I64), _x(10, 6)],
    ),
    "cross_entropy": (
        lambda x, t: nn.functional.cross_entropy(x, t),
        [_x(5, 4), rtorch.zeros(5, dtype=I64)],
    ),
    "cross_entropy_none": (
        lambda x, t: nn.functional.cross_entropy(x, t, reduction="none"),
        [_x(5, 4, 3), rtorch.zeros(5, 3, dtype=I64)],
    ),
}


def _spd(n: int, *batch: int) -> rtorch.Tensor:
    """A well-conditioned symmetric positive definite float64 matrix (batch)."""
    m = rtorch.arange(float(n * n), dtype=F64).reshape(n, n).sin()
    a = m @ m.T + n * rtorch.eye(n, dtype=F64)
    return a.expand(*batch, n, n).contiguous()


def _tall(m: int, n: int, *batch: int) -> rtorch.Tensor:
    return rtorch.arange(float(m * n), dtype=F64).reshape(m, n).cos().expand(*batch, m, n)


LINALG = {
    "solve": (lambda a, b: rtorch.linalg.solve(a, b), [_spd(3, 2), _x(2, 3, 4, dtype=F64)]),
    "solve_ex": (lambda a, b: rtorch.linalg.solve_ex(a, b), [_spd(3), _x(3, dtype=F64)]),
    "inv": (lambda a: rtorch.linalg.inv(a), [_spd(4, 2, 3)]),
    "inv_ex": (lambda a: rtorch.linalg.inv_ex(a), [_spd(4)]),
    "inverse": (lambda a: rtorch.inverse(a), [_spd(2)]),
    "det": (lambda a: rtorch.linalg.det(a), [_spd(3, 5)]),
    "logdet": (lambda a: rtorch.logdet(a), [_spd(3)]),
    "slogdet": (lambda a: rtorch.linalg.slogdet(a), [_spd(3, 2)]),
    "cholesky": (lambda a: rtorch.linalg.cholesky(a, upper=True), [_spd(4, 2)]),
    "cholesky_ex": (lambda a: rtorch.linalg.cholesky_ex(a), [_spd(4)]),
    "cholesky_solve": (lambda b, l: rtorch.cholesky_solve(b, l), [_x(3, 2, dtype=F64), _spd(3)]),
    "cholesky_inverse": (lambda l: rtorch.cholesky_inverse(l), [_spd(3)]),
    "qr": (lambda a: rtorch.linalg.qr(a), [_tall(5, 3, 2)]),
    "qr_complete": (lambda a: rtorch.linalg.qr(a, mode="complete"), [_tall(5, 3)]),
    "qr_r": (lambda a: rtorch.linalg.qr(a, mode="r"), [_tall(3, 5)]),
    "eigh": (lambda a: rtorch.linalg.eigh(a), [_spd(4, 2)]),
    "eigvalsh": (lambda a: rtorch.linalg.eigvalsh(a), [_spd(4)]),
    "svd": (lambda a: rtorch.linalg.svd(a, full_matrices=False), [_tall(5, 3, 2)]),
    "svd_full": (lambda a: rtorch.linalg.svd(a), [_tall(3, 5)]),
    "svdvals": (lambda a: rtorch.linalg.svdvals(a), [_tall(5, 3)]),
    "matrix_norm_nuc": (lambda a: rtorch.linalg.matrix_norm(a, "nuc"), [_tall(5, 3, 2)]),
    "matrix_norm_2": (lambda a: rtorch.linalg.matrix_norm(a, 2), [_tall(5, 3)]),
    "pinv": (lambda a: rtorch.linalg.pinv(a), [_tall(5, 3, 2)]),
    "matrix_rank": (lambda a: rtorch.linalg.matrix_rank(a), [_tall(5, 3)]),
    "lstsq": (lambda a, b: rtorch.linalg.lstsq(a, b), [_tall(5, 3), _x(5, 2, dtype=F64)]),
}


def _flat(r):
    if isinstance(r, rtorch.Tensor):
        return [r]
    return [t for x in r for t in _flat(x)]


@pytest.mark.parametrize("name", sorted(LINALG))
def test_linalg_on_meta_matches_the_cpu_shapes_and_dtypes(name):
    f, inputs = LINALG[name]
    ref, got = _flat(f(*inputs)), _flat(f(*[meta_like(t) for t in inputs]))
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        assert_same_meta(g, r)


@pytest.mark.parametrize("name", ["inv", "det", "cholesky", "svd", "eigh", "solve"])
def test_linalg_gradients_on_meta(name):
    f, inputs = LINALG[name]
    ref_in = [t.clone().requires_grad_(True) for t in inputs]
    metas = [meta_like(t).requires_grad_(True) for t in inputs]
    sum(t.sum() for t in _flat(f(*ref_in))).backward()
    sum(t.sum() for t in _flat(f(*metas))).backward()
    for m, r in zip(metas, ref_in):
        assert m.grad.is_meta and m.grad.shape == r.shape and m.grad.dtype == r.dtype


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_on_meta_matches_the_cpu_shape_and_dtype(name):
    f, inputs = OPS[name]
    ref = f(*inputs)
    got = f(*[meta_like(t) for t in inputs])
    assert_same_meta(got, ref)


GRAD_OPS = ["add", "matmul", "linear", "conv2d", "softmax", "sum_dim", "layer_norm"]
GRAD_OPS += ["batch_norm", "embedding", "cross_entropy", "max_pool2d", "cumsum", "gather"]
GRAD_OPS += ["index_select", "getitem_tensor", "sort", "relu", "hardtanh", "maximum"]
GRAD_OPS += ["clamp_tensor_bounds", "where"]


@pytest.mark.parametrize("name", GRAD_OPS)
def test_autograd_on_meta_records_the_cpu_node_and_gives_meta_grads(name):
    f, inputs = OPS[name]
    floats = [t.dtype.is_floating_point for t in inputs]
    ref_in = [t.clone().requires_grad_(fl) for t, fl in zip(inputs, floats)]
    ref = f(*ref_in)
    metas = [meta_like(t).requires_grad_(fl) for t, fl in zip(inputs, floats)]
    got = f(*metas)
    assert_same_meta(got, ref)
    assert got.grad_fn.name() == ref.grad_fn.name()
    got.sum().backward()
    for m, r, fl in zip(metas, ref_in, floats):
        if fl:
            assert m.grad.is_meta and m.grad.shape == r.shape and m.grad.dtype == r.dtype


def test_backward_through_a_meta_graph_gives_meta_grads():
    x = rtorch.empty(8, 4, device="meta", requires_grad=True)
    w = rtorch.empty(3, 4, device="meta", requires_grad=True)
    (x @ w.t()).relu().sum().backward()
    assert x.grad.is_meta and x.grad.shape == (8, 4)
    assert w.grad.is_meta and w.grad.shape == (3, 4)


def test_in_place_ops_on_meta():
    m = rtorch.empty(3, 4, device="meta")
    for f in (
        lambda t: t.uniform_(-1, 1),
        lambda t: t.normal_(),
        lambda t: t.fill_(2.0),
        lambda t: t.zero_(),
        lambda t: t.add_(1),
        lambda t: t.mul_(rtorch.empty(4, device="meta")),
        lambda t: t.copy_(rtorch.ones(3, 4)),
        lambda t: t.exp_(),
        lambda t: t.clamp_(0, 1),
    ):
        r = f(m)
        assert r is m and m.is_meta and m.shape == (3, 4)
    with pytest.raises(RuntimeError, match="is not a view|same device|Expected all"):
        rtorch.ones(3, 4).add_(rtorch.empty(3, 4, device="meta"))


def test_to_meta_keeps_shape_and_dtype():
    c = rtorch.arange(6.0).view(2, 3)
    m = c.to("meta")
    assert m.is_meta and m.shape == (2, 3) and m.dtype == F32
    m64 = c.to("meta", F64)
    assert m64.dtype == F64
    assert m.to("meta") is m
    assert c.to(device=rtorch.device("meta")).is_meta


# --- nn: build on meta, materialise with to_empty --------------------------------------


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 3 * 3, 10)

    def forward(self, x: rtorch.Tensor) -> rtorch.Tensor:
        x = self.pool(self.conv(x).relu())
        return self.fc(x.flatten(1)).log_softmax(-1)


def test_module_built_on_meta_runs_shape_only_and_materialises():
    with rtorch.device("meta"):
        net = Net()
    assert all(p.is_meta for p in net.parameters())
    out = net(rtorch.empty(5, 1, 8, 8, device="meta"))
    assert out.is_meta and out.shape == (5, 10)
    assert net.to_empty(device="cpu") is net
    params = dict(net.named_parameters())
    assert all(p.device.type == "cpu" for p in params.values())
    assert params["fc.weight"].shape == (10, 36) and params["conv.bias"].shape == (4,)
    # Materialised parameters are ordinary tensors: load real weights and run.
    ref = Net()
    net.load_state_dict(ref.state_dict())
    x = rtorch.randn(5, 1, 8, 8)
    np.testing.assert_array_equal(net(x).detach().numpy(), ref(x).detach().numpy())


def test_module_factory_kwargs_and_to_empty_meta():
    lin = nn.Linear(3, 4, device="meta")
    assert lin.weight.is_meta and lin.bias.is_meta and lin.weight.requires_grad
    assert lin(rtorch.empty(2, 3, device="meta")).shape == (2, 4)
    cpu = nn.Linear(3, 4)
    cpu.to_empty(device="meta")
    assert cpu.weight.is_meta and isinstance(cpu.weight, nn.Parameter)
    lin.to_empty(device="cpu")
    lin.reset_parameters()
    bound = 1 / 3**0.5
    assert float(lin.weight.abs().max()) <= bound and float(lin.bias.abs().max()) <= bound


MODULES = {
    "lstm_bi": (lambda: nn.LSTM(8, 16, 2, bidirectional=True), lambda d: [_on(d, 7, 3, 8)]),
    "gru_batch_first": (lambda: nn.GRU(8, 6, batch_first=True), lambda d: [_on(d, 3, 7, 8)]),
    "rnn_tanh": (lambda: nn.RNN(4, 5), lambda d: [_on(d, 2, 3, 4)]),
    "transformer_layer": (
        lambda: nn.TransformerEncoderLayer(32, 4, 64, dropout=0.1, batch_first=True),
        lambda d: [_on(d, 2, 5, 32)],
    ),
    "multihead_attention": (lambda: nn.MultiheadAttention(16, 2), lambda d: [_on(d, 4, 2, 16)] * 3),
    "batchnorm2d": (lambda: nn.BatchNorm2d(3), lambda d: [_on(d, 2, 3, 4, 4)]),
    "avgpool2d": (lambda: nn.AvgPool2d(2), lambda d: [_on(d, 1, 2, 6, 6)]),
    "adaptive_avgpool2d": (lambda: nn.AdaptiveAvgPool2d(1), lambda d: [_on(d, 1, 2, 6, 6)]),
    "embedding": (lambda: nn.Embedding(10, 4), lambda d: [rtorch.zeros(3, 2, dtype=I64, device=d)]),
}


def _on(device: str, *shape: int) -> rtorch.Tensor:
    return rtorch.zeros(*shape, device=device, requires_grad=True)


def _first(out):
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_forward_and_backward_on_meta(name):
    make, inputs = MODULES[name]
    rtorch.manual_seed(0)
    ref = _first(make()(*inputs("cpu")))
    with rtorch.device("meta"):
        module = make()
    meta_inputs = inputs("meta")
    got = _first(module(*meta_inputs))
    assert_same_meta(got, ref)
    got.sum().backward()
    for t in [*module.parameters(), *(x for x in meta_inputs if x.requires_grad)]:
        assert t.grad is not None and t.grad.is_meta and t.grad.shape == t.shape


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: rtorch.optim.SGD(ps, lr=0.1, momentum=0.9),
        lambda ps: rtorch.optim.Adam(ps, lr=1e-3),
        lambda ps: rtorch.optim.AdamW(ps, lr=1e-3, amsgrad=True),
        lambda ps: rtorch.optim.RMSprop(ps, lr=1e-3, centered=True),
    ],
)
def test_optimizer_steps_on_meta_parameters(make):
    with rtorch.device("meta"):
        net = nn.Linear(3, 2)
    opt = make(net.parameters())
    for _ in range(2):
        opt.zero_grad()
        net(rtorch.empty(4, 3, device="meta")).sum().backward()
        opt.step()
    for p in net.parameters():
        assert p.is_meta and p.grad.is_meta
        for v in opt.state[p].values():
            assert not isinstance(v, rtorch.Tensor) or v.is_meta or v.dim() == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: nn.BatchNorm1d(3, **kw),
        lambda **kw: nn.LazyBatchNorm1d(**kw),
        lambda **kw: nn.PReLU(2, **kw),
        lambda **kw: nn.MultiheadAttention(8, 2, **kw),
        lambda **kw: nn.MultiheadAttention(8, 2, kdim=4, vdim=6, **kw),
        lambda **kw: nn.LSTM(3, 4, **kw),
        lambda **kw: nn.Conv2d(1, 2, 3, **kw),
        lambda **kw: nn.LayerNorm(4, **kw),
        lambda **kw: nn.Embedding(5, 2, **kw),
    ],
)
def test_factory_device_reaches_every_parameter_and_buffer(make):
    module = make(device="meta")
    tensors = [*module.parameters(), *module.buffers()]
    assert tensors and all(t.is_meta for t in tensors)
