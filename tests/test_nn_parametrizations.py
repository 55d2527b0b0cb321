"""``rtorch.nn.utils.parametrizations.orthogonal`` and ``spectral_norm``.

References: numpy in float64 (QR with a positive R diagonal, LAPACK's raw Householder
reflectors, SVD, the maps written out by hand), finite differences (gradcheck), and
PyTorch's results on the same tensors where they are deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import to_np

import rtorch
from rtorch.nn.utils import parametrizations as P
from rtorch.nn.utils import parametrize

MAPS = ["matrix_exp", "cayley", "householder"]
SHAPES = [(4, 4), (5, 3), (3, 5)]
BATCH_SHAPES = [(2, 3, 4, 4), (2, 5, 3), (3, 2, 5)]


class Holder(rtorch.nn.Module):
    """A module with one ``weight`` of any shape and dtype."""

    def __init__(self, weight: rtorch.Tensor) -> None:
        super().__init__()
        self.weight = rtorch.nn.Parameter(weight, requires_grad=weight.is_floating_point())


def holder(*shape: int, seed: int = 0, dtype=rtorch.float64) -> Holder:
    rng = np.random.default_rng(seed)
    return Holder(rtorch.tensor(rng.standard_normal(shape), dtype=dtype))


def np_q(a: np.ndarray) -> np.ndarray:
    """The orthonormal factor of (each matrix of) ``a`` with R's diagonal positive;
    wide matrices are factored through their transpose."""
    wide = a.shape[-2] < a.shape[-1]
    if wide:
        a = np.swapaxes(a, -1, -2)
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]
    return np.swapaxes(q, -1, -2) if wide else q


def orthonormality_error(q: np.ndarray) -> float:
    """max |Q^T Q - I| over the short side (columns of a tall, rows of a wide matrix)."""
    if q.shape[-2] < q.shape[-1]:
        q = np.swapaxes(q, -1, -2)
    gram = np.swapaxes(q, -1, -2) @ q
    return float(np.abs(gram - np.eye(q.shape[-1])).max())


def np_orthogonal_map(x: np.ndarray, orthogonal_map: str) -> np.ndarray:
    """The map without trivialization, written out in numpy for one matrix."""
    wide = x.shape[0] < x.shape[1]
    if wide:
        x = x.T
    n, k = x.shape
    if orthogonal_map == "householder":
        q = np.eye(n)[:, :k]
        # Q = H_1 H_2 ... H_k applied to the first k columns of I.
        for i in reversed(range(k)):
            v = np.zeros(n)
            v[i] = 1.0
            v[i + 1 :] = x[i + 1 :, i]
            q = q - (2.0 / (v @ v)) * np.outer(v, v @ q)
        q = q * np.trunc(np.diagonal(x))[None, :]
    else:
        lower = np.zeros((n, n))
        lower[:, :k] = np.tril(x)
        a = lower - lower.T
        if orthogonal_map == "matrix_exp":
            # A is skew-symmetric, so normal: exp through its eigen-decomposition.
            w, vecs = np.linalg.eig(a)
            q = (vecs @ np.diag(np.exp(w)) @ np.linalg.inv(vecs)).real
        else:
            q = np.linalg.solve(np.eye(n) - a / 2, np.eye(n) + a / 2)
        q = q[:, :k]
    return q.T if wide else q


def from_torch(t) -> rtorch.Tensor:
    return rtorch.tensor(t.detach().tolist(), dtype=rtorch.float64).reshape(tuple(t.shape))


def to_torch(torch, t: rtorch.Tensor):
    return torch.tensor(to_np(t.detach()), dtype=torch.float64)


# ---------------------------------------------------------------------------------------
# orthogonal
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("orthogonal_map", [None, *MAPS])
@pytest.mark.parametrize("use_trivialization", [True, False])
def test_orthogonal_registration(shape, orthogonal_map, use_trivialization):
    m = holder(*shape)
    w = to_np(m.weight.detach())
    P.orthogonal(m, orthogonal_map=orthogonal_map, use_trivialization=use_trivialization)
    q = to_np(m.weight.detach())
    assert q.shape == shape
    assert orthonormality_error(q) < 1e-12
    plist = m.parametrizations.weight
    chosen = orthogonal_map or ("matrix_exp" if shape[0] == shape[1] else "householder")
    assert plist[0].orthogonal_map.name == chosen
    if use_trivialization or chosen == "householder":
        # The weight becomes the orthonormal factor of its QR decomposition.
        np.testing.assert_allclose(q, np_q(w), atol=1e-12, rtol=0)
    else:
        # matrix_exp / cayley cannot be inverted: the original stays the weight.
        np.testing.assert_array_equal(to_np(plist.original.detach()), w)
        np.testing.assert_allclose(q, np_orthogonal_map(w, chosen), atol=1e-12, rtol=0)
    if use_trivialization:
        np.testing.assert_array_equal(to_np(plist.original.detach()), -np.eye(*shape))
        n = max(shape)
        assert tuple(plist[0].base.shape) == (n, n)
        assert orthonormality_error(to_np(plist[0].base)) < 1e-12
    else:
        assert "base" not in dict(plist[0].named_buffers())


@pytest.mark.parametrize("shape", BATCH_SHAPES)
@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_orthogonal_batched(shape, orthogonal_map):
    m = holder(*shape, seed=1)
    w = to_np(m.weight.detach())
    P.orthogonal(m, orthogonal_map=orthogonal_map)
    q = to_np(m.weight.detach())
    assert q.shape == shape
    assert orthonormality_error(q) < 1e-12
    np.testing.assert_allclose(q, np_q(w), atol=1e-12, rtol=0)
    n = max(shape[-2:])
    assert tuple(m.parametrizations.weight[0].base.shape) == (*shape[:-2], n, n)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_orthogonal_maps_of_any_original(shape, orthogonal_map):
    # Without trivialization the weight is the map of the original itself.
    m = holder(*shape, seed=2)
    P.orthogonal(m, orthogonal_map=orthogonal_map, use_trivialization=False)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    if orthogonal_map == "householder":
        # The diagonal's integer part is the column sign: keep it +-1 as in use.
        d = np.sign(rng.standard_normal(min(shape)))
        np.fill_diagonal(x, d)
    with rtorch.no_grad():
        m.parametrizations.weight.original.copy_(rtorch.tensor(x))
    q = to_np(m.weight.detach())
    assert orthonormality_error(q) < 1e-12
    np.testing.assert_allclose(q, np_orthogonal_map(x, orthogonal_map), atol=1e-12, rtol=0)


def test_orthogonal_float32():
    m = holder(6, 4, dtype=rtorch.float32)
    w = to_np(m.weight.detach())
    P.orthogonal(m)
    assert m.weight.dtype == rtorch.float32
    assert m.parametrizations.weight[0].base.dtype == rtorch.float32
    q = to_np(m.weight.detach())
    assert orthonormality_error(q) < 1e-5
    np.testing.assert_allclose(q, np_q(w), atol=1e-5, rtol=0)


@pytest.mark.parametrize("shape", [(0, 0), (3, 0), (0, 3), (2, 0, 0)])
@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_orthogonal_empty(shape, orthogonal_map):
    m = P.orthogonal(holder(*shape), orthogonal_map=orthogonal_map)
    assert tuple(m.weight.shape) == shape


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 3, 2)])
@pytest.mark.parametrize("orthogonal_map", MAPS)
@pytest.mark.parametrize("use_trivialization", [True, False])
def test_orthogonal_gradcheck(shape, orthogonal_map, use_trivialization):
    m = P.orthogonal(
        holder(*shape, seed=4),
        orthogonal_map=orthogonal_map,
        use_trivialization=use_trivialization,
    )
    orth = m.parametrizations.weight[0]
    x = rtorch.tensor(np.random.default_rng(5).standard_normal(shape), requires_grad=True)
    assert rtorch.autograd.gradcheck(orth, (x,))


@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_orthogonal_gradient_reaches_original(orthogonal_map):
    m = P.orthogonal(rtorch.nn.Linear(4, 4).double(), orthogonal_map=orthogonal_map)
    x = rtorch.randn(3, 4, dtype=rtorch.float64)
    m(x).pow(2).sum().backward()
    g = to_np(m.parametrizations.weight.original.grad)
    # Only the strictly lower triangle of the original enters any of the maps (the
    # householder diagonal is used through its integer part).
    assert np.abs(np.tril(g, -1)).max() > 0
    np.testing.assert_array_equal(np.triu(g), 0.0)


@pytest.mark.parametrize("shape", SHAPES + BATCH_SHAPES)
@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_orthogonal_assign_orthogonal_matrix(shape, orthogonal_map):
    m = P.orthogonal(holder(*shape, seed=6), orthogonal_map=orthogonal_map)
    q = np_q(np.random.default_rng(7).standard_normal(shape))
    m.weight = rtorch.tensor(q)
    np.testing.assert_allclose(to_np(m.weight.detach()), q, atol=1e-12, rtol=0)
    np.testing.assert_array_equal(
        to_np(m.parametrizations.weight.original.detach()),
        np.broadcast_to(-np.eye(*shape[-2:]), shape),
    )
    if shape[-2] == shape[-1]:
        # An orthogonal square matrix is kept as the base itself.
        np.testing.assert_array_equal(to_np(m.parametrizations.weight[0].base), q)


@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_orthogonal_assign_non_orthogonal_matrix(orthogonal_map):
    m = P.orthogonal(holder(4, 4, seed=8), orthogonal_map=orthogonal_map)
    x = np.random.default_rng(9).standard_normal((4, 4))
    m.weight = rtorch.tensor(x)
    np.testing.assert_allclose(to_np(m.weight.detach()), np_q(x), atol=1e-12, rtol=0)


@pytest.mark.parametrize("shape", SHAPES + [(2, 5, 3)])
def test_orthogonal_householder_without_trivialization_stores_reflectors(shape):
    m = P.orthogonal(
        holder(*shape, seed=10), orthogonal_map="householder", use_trivialization=False
    )
    x = np.random.default_rng(11).standard_normal(shape)
    m.weight = rtorch.tensor(x)
    np.testing.assert_allclose(to_np(m.weight.detach()), np_q(x), atol=1e-12, rtol=0)
    original = to_np(m.parametrizations.weight.original.detach())
    wide = shape[-2] < shape[-1]
    tall = np.swapaxes(x, -1, -2) if wide else x
    stored = np.swapaxes(original, -1, -2) if wide else original
    for i in np.ndindex(*shape[:-2]):
        # numpy's 'raw' QR is LAPACK's geqrf, transposed.
        h, tau = np.linalg.qr(tall[i], mode="raw")
        h = h.T
        k = min(shape[-2:])
        np.testing.assert_allclose(np.tril(stored[i], -1), np.tril(h, -1), atol=1e-12)
        expected_diag = np.sign(np.diagonal(h)) * np.where(tau == 0.0, -1.0, 1.0)
        np.testing.assert_array_equal(np.diagonal(stored[i]), expected_diag[:k])


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley"])
def test_orthogonal_assign_without_trivialization_not_implemented(orthogonal_map):
    m = P.orthogonal(holder(4, 3), orthogonal_map=orthogonal_map, use_trivialization=False)
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):
        m.weight = rtorch.randn(4, 3, dtype=rtorch.float64)


def test_orthogonal_errors():
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices. Got a tensor"):
        P.orthogonal(rtorch.nn.Linear(3, 4), name="bias")
    with pytest.raises(ValueError, match='orthogonal_map has to be one of "matrix_exp"'):
        P.orthogonal(rtorch.nn.Linear(3, 4), orthogonal_map="qr")
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'foo'"):
        P.orthogonal(rtorch.nn.Linear(3, 4), name="foo")
    with pytest.raises(TypeError):
        P.orthogonal(rtorch.nn.Linear(3, 4), "weight", "matrix_exp", True)
    m = P.orthogonal(rtorch.nn.Linear(3, 4))
    with pytest.raises(ValueError, match=r"of shape torch.Size\(\[4, 3\]\)\. Got a tensor"):
        m.weight = rtorch.randn(3, 4)
    with pytest.raises(TypeError, match="floating point"):
        P.orthogonal(Holder(rtorch.ones(3, 3, dtype=rtorch.int64)))


def test_orthogonal_state_dict_and_buffers():
    m = P.orthogonal(rtorch.nn.Linear(3, 4))
    assert list(m.state_dict()) == [
        "bias",
        "parametrizations.weight.original",
        "parametrizations.weight.0.base",
    ]
    assert [n for n, _ in m.named_parameters()] == ["bias", "parametrizations.weight.original"]
    assert type(m).__name__ == "ParametrizedLinear"
    assert type(m.parametrizations.weight[0]).__name__ == "_Orthogonal"
    m = P.orthogonal(rtorch.nn.Linear(3, 4), use_trivialization=False)
    assert list(m.state_dict()) == ["bias", "parametrizations.weight.original"]
    # Loading the state into a fresh module reproduces the weight.
    src = P.orthogonal(rtorch.nn.Linear(3, 5).double())
    dst = P.orthogonal(rtorch.nn.Linear(3, 5).double())
    dst.load_state_dict(src.state_dict())
    np.testing.assert_array_equal(to_np(dst.weight.detach()), to_np(src.weight.detach()))


def test_orthogonal_remove_parametrizations_keeps_q():
    m = P.orthogonal(holder(5, 3, seed=12), orthogonal_map="cayley")
    q = to_np(m.weight.detach())
    parametrize.remove_parametrizations(m, "weight")
    np.testing.assert_array_equal(to_np(m.weight.detach()), q)


@pytest.mark.parametrize("shape", SHAPES + BATCH_SHAPES)
@pytest.mark.parametrize("orthogonal_map", [None, *MAPS])
def test_orthogonal_parity_registration(torch_ref, shape, orthogonal_map):
    torch = torch_ref
    from torch.nn.utils import parametrizations as TP

    w = np.random.default_rng(13).standard_normal(shape)

    class TorchHolder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.tensor(w))

    t = TP.orthogonal(TorchHolder(), orthogonal_map=orthogonal_map)
    r = P.orthogonal(Holder(rtorch.tensor(w)), orthogonal_map=orthogonal_map)
    assert r.parametrizations.weight[0].orthogonal_map.name == (
        t.parametrizations.weight[0].orthogonal_map.name
    )
    np.testing.assert_allclose(
        to_np(r.weight.detach()), t.weight.detach().numpy(), atol=1e-12, rtol=0
    )
    np.testing.assert_array_equal(
        to_np(r.parametrizations.weight.original.detach()),
        t.parametrizations.weight.original.detach().numpy(),
    )
    assert list(r.state_dict()) == list(t.state_dict())


@pytest.mark.parametrize("shape", SHAPES + [(2, 5, 3)])
@pytest.mark.parametrize("orthogonal_map", MAPS)
@pytest.mark.parametrize("use_trivialization", [True, False])
def test_orthogonal_parity_same_state(torch_ref, shape, orthogonal_map, use_trivialization):
    torch = torch_ref
    from torch.nn.utils import parametrizations as TP

    class TorchHolder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.randn(*shape, dtype=torch.float64))

    t = TP.orthogonal(
        TorchHolder(), orthogonal_map=orthogonal_map, use_trivialization=use_trivialization
    )
    with torch.no_grad():
        x = torch.tensor(np.random.default_rng(14).standard_normal(shape))
        if orthogonal_map == "householder":
            x.diagonal(dim1=-2, dim2=-1).copy_(torch.sign(x.diagonal(dim1=-2, dim2=-1)))
        t.parametrizations.weight.original.copy_(x)
    r = P.orthogonal(
        holder(*shape), orthogonal_map=orthogonal_map, use_trivialization=use_trivialization
    )
    r.load_state_dict({k: from_torch(v) for k, v in t.state_dict().items()})
    np.testing.assert_allclose(
        to_np(r.weight.detach()), t.weight.detach().numpy(), atol=1e-12, rtol=0
    )
    if orthogonal_map == "householder" or use_trivialization:
        # Assignments store what PyTorch stores.
        q = np_q(np.random.default_rng(15).standard_normal(shape))
        t.weight = torch.tensor(q)
        r.weight = rtorch.tensor(q)
        np.testing.assert_allclose(
            to_np(r.parametrizations.weight.original.detach()),
            t.parametrizations.weight.original.detach().numpy(),
            atol=1e-12,
            rtol=0,
        )
        np.testing.assert_allclose(
            to_np(r.weight.detach()), t.weight.detach().numpy(), atol=1e-12, rtol=0
        )


# ---------------------------------------------------------------------------------------
# spectral_norm
# ---------------------------------------------------------------------------------------


def np_power_iterations(w: np.ndarray, u: np.ndarray, v: np.ndarray, n: int):
    for _ in range(n):
        u = w @ v
        u = u / max(np.linalg.norm(u), 1e-12)
        v = w.T @ u
        v = v / max(np.linalg.norm(v), 1e-12)
    return u, v


def sn_state(m, name: str = "weight"):
    sn = m.parametrizations[name][0]
    return to_np(sn._u), to_np(sn._v)


def test_spectral_norm_buffers_and_state_dict():
    m = P.spectral_norm(rtorch.nn.Linear(5, 4))
    assert list(m.state_dict()) == [
        "bias",
        "parametrizations.weight.original",
        "parametrizations.weight.0._u",
        "parametrizations.weight.0._v",
    ]
    assert [n for n, _ in m.named_parameters()] == ["bias", "parametrizations.weight.original"]
    assert [n for n, _ in m.named_buffers()] == [
        "parametrizations.weight.0._u",
        "parametrizations.weight.0._v",
    ]
    sn = m.parametrizations.weight[0]
    assert type(sn).__name__ == "_SpectralNorm"
    assert (sn.dim, sn.eps, sn.n_power_iterations) == (0, 1e-12, 1)
    assert tuple(sn._u.shape) == (4,) and tuple(sn._v.shape) == (5,)
    assert sn._u.dtype == rtorch.float32
    np.testing.assert_allclose(np.linalg.norm(to_np(sn._u)), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(to_np(sn._v)), 1.0, rtol=1e-6)


@pytest.mark.parametrize("training", [True, False])
def test_spectral_norm_initial_power_iterations(training):
    # The buffers start from normalised normal draws (u then v), refined by 15 power
    # iterations, plus the training-mode steps of the registration's check forward.
    m = holder(4, 6, seed=16)
    m.train(training)
    w = to_np(m.weight.detach())
    rtorch.manual_seed(123)
    u0 = to_np(m.weight.new_empty(4).normal_(0, 1))
    v0 = to_np(m.weight.new_empty(6).normal_(0, 1))
    rtorch.manual_seed(123)
    P.spectral_norm(m, n_power_iterations=2)
    u0, v0 = u0 / np.linalg.norm(u0), v0 / np.linalg.norm(v0)
    u, v = np_power_iterations(w, u0, v0, 15 + (2 if training else 0))
    got_u, got_v = sn_state(m)
    np.testing.assert_allclose(got_u, u, atol=1e-13, rtol=0)
    np.testing.assert_allclose(got_v, v, atol=1e-13, rtol=0)


def test_spectral_norm_training_forward_updates_buffers_in_place():
    m = P.spectral_norm(holder(4, 6, seed=17), n_power_iterations=3)
    sn = m.parametrizations.weight[0]
    w = to_np(m.parametrizations.weight.original.detach())
    u_buf, v_buf = sn._u, sn._v
    u0, v0 = sn_state(m)
    weight = to_np(m.weight.detach())
    u, v = np_power_iterations(w, u0, v0, 3)
    assert sn._u is u_buf and sn._v is v_buf
    np.testing.assert_allclose(to_np(u_buf), u, atol=1e-14, rtol=0)
    np.testing.assert_allclose(to_np(v_buf), v, atol=1e-14, rtol=0)
    np.testing.assert_allclose(weight, w / (u @ w @ v), atol=1e-14, rtol=1e-13)


def test_spectral_norm_eval_does_not_update():
    m = P.spectral_norm(holder(4, 6, seed=18))
    m.eval()
    u0, v0 = sn_state(m)
    w = to_np(m.parametrizations.weight.original.detach())
    for _ in range(3):
        weight = to_np(m.weight.detach())
    u, v = sn_state(m)
    np.testing.assert_array_equal(u, u0)
    np.testing.assert_array_equal(v, v0)
    np.testing.assert_allclose(weight, w / (u0 @ w @ v0), atol=1e-14, rtol=1e-13)


@pytest.mark.parametrize("shape", [(4, 6), (7, 3), (5, 2, 3)])
def test_spectral_norm_converges_to_unit_spectral_norm(shape):
    m = P.spectral_norm(holder(*shape, seed=19))
    for _ in range(300):
        weight = m.weight
    matrix = to_np(weight.detach()).reshape(shape[0], -1)
    s = np.linalg.svd(matrix, compute_uv=False)
    np.testing.assert_allclose(s[0], 1.0, atol=1e-10, rtol=0)
    original = to_np(m.parametrizations.weight.original.detach()).reshape(shape[0], -1)
    sigma = np.linalg.svd(original, compute_uv=False)[0]
    np.testing.assert_allclose(matrix, original / sigma, atol=1e-10, rtol=0)


def test_spectral_norm_float32():
    m = P.spectral_norm(holder(4, 6, seed=20, dtype=rtorch.float32))
    for _ in range(100):
        weight = m.weight
    assert weight.dtype == rtorch.float32
    s = np.linalg.svd(to_np(weight.detach()), compute_uv=False)
    np.testing.assert_allclose(s[0], 1.0, atol=1e-5, rtol=0)


def test_spectral_norm_one_dimensional_weight():
    m = P.spectral_norm(holder(5, seed=21))
    assert list(m.state_dict()) == ["parametrizations.weight.original"]
    w = to_np(m.parametrizations.weight.original.detach())
    for training in (True, False):
        m.train(training)
        np.testing.assert_allclose(
            to_np(m.weight.detach()), w / np.linalg.norm(w), atol=1e-15, rtol=1e-14
        )


def test_spectral_norm_conv_dims():
    conv = P.spectral_norm(rtorch.nn.Conv2d(3, 6, 2).double())
    sn = conv.parametrizations.weight[0]
    assert sn.dim == 0 and tuple(sn._u.shape) == (6,) and tuple(sn._v.shape) == (12,)
    conv.eval()
    w = to_np(conv.parametrizations.weight.original.detach())
    u, v = sn_state(conv)
    sigma = u @ w.reshape(6, -1) @ v
    np.testing.assert_allclose(to_np(conv.weight.detach()), w / sigma, atol=1e-14, rtol=1e-13)

    for cls in (rtorch.nn.ConvTranspose1d, rtorch.nn.ConvTranspose2d, rtorch.nn.ConvTranspose3d):
        assert P.spectral_norm(cls(3, 6, 2)).parametrizations.weight[0].dim == 1
    convt = P.spectral_norm(rtorch.nn.ConvTranspose2d(3, 6, 2).double())
    sn = convt.parametrizations.weight[0]
    assert tuple(sn._u.shape) == (6,) and tuple(sn._v.shape) == (12,)
    convt.eval()
    w = to_np(convt.parametrizations.weight.original.detach())
    u, v = sn_state(convt)
    sigma = u @ np.moveaxis(w, 1, 0).reshape(6, -1) @ v
    np.testing.assert_allclose(to_np(convt.weight.detach()), w / sigma, atol=1e-14, rtol=1e-13)

    explicit = P.spectral_norm(rtorch.nn.Conv2d(3, 6, 2), dim=1)
    assert tuple(explicit.parametrizations.weight[0]._u.shape) == (3,)
    negative = P.spectral_norm(holder(2, 3, 4), dim=-1)
    sn = negative.parametrizations.weight[0]
    assert sn.dim == 2 and tuple(sn._u.shape) == (4,) and tuple(sn._v.shape) == (6,)


def test_spectral_norm_gradcheck_and_gradient_to_original():
    m = P.spectral_norm(holder(4, 3, seed=22))
    m.eval()  # fixed u, v: the parametrization is a function of the weight alone
    sn = m.parametrizations.weight[0]
    x = rtorch.tensor(np.random.default_rng(23).standard_normal((4, 3)), requires_grad=True)
    assert rtorch.autograd.gradcheck(sn, (x,))
    y = rtorch.tensor(np.random.default_rng(24).standard_normal(5), requires_grad=True)
    assert rtorch.autograd.gradcheck(P._SpectralNorm(y.detach()), (y,))
    m.train()
    m.weight.pow(2).sum().backward()
    assert m.parametrizations.weight.original.grad is not None
    assert np.abs(to_np(m.parametrizations.weight.original.grad)).max() > 0


def test_spectral_norm_right_inverse_and_remove():
    m = P.spectral_norm(holder(4, 3, seed=25))
    x = rtorch.randn(4, 3, dtype=rtorch.float64)
    m.weight = x
    np.testing.assert_array_equal(to_np(m.parametrizations.weight.original.detach()), to_np(x))
    m.eval()
    expected = to_np(m.weight.detach())
    parametrize.remove_parametrizations(m, "weight")
    np.testing.assert_array_equal(to_np(m.weight.detach()), expected)


def test_spectral_norm_registered_twice():
    m = P.spectral_norm(P.spectral_norm(rtorch.nn.Linear(3, 4)))
    assert len(m.parametrizations.weight) == 2


@pytest.mark.parametrize("shape", [(4, 0), (0, 3)])
def test_spectral_norm_empty(shape):
    assert tuple(P.spectral_norm(holder(*shape)).weight.shape) == shape


def test_spectral_norm_errors():
    for n in (0, -1):
        with pytest.raises(
            ValueError,
            match=f"Expected n_power_iterations to be positive, but got n_power_iterations={n}",
        ):
            P.spectral_norm(rtorch.nn.Linear(3, 4), n_power_iterations=n)
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'foo'"):
        P.spectral_norm(rtorch.nn.Linear(3, 4), name="foo")
    with pytest.raises(IndexError, match=r"range of \[-2, 1\] but got 2\)"):
        P.spectral_norm(rtorch.nn.Linear(3, 4), dim=2)
    with pytest.raises(IndexError, match=r"range of \[-2, 1\] but got -3\)"):
        P.spectral_norm(rtorch.nn.Linear(3, 4), dim=-3)
    with pytest.raises(IndexError, match=r"range of \[-0, -1\] but got 0\)"):
        P.spectral_norm(Holder(rtorch.tensor(2.0)))
    with pytest.raises(NotImplementedError):
        P.spectral_norm(Holder(rtorch.ones(3, 3, dtype=rtorch.int64)))


@pytest.mark.parametrize(
    ("function", "shape", "kwargs", "exc"),
    [
        ("spectral_norm", (3, 4), {"n_power_iterations": 0}, ValueError),
        ("spectral_norm", (3, 4), {"dim": 2}, IndexError),
        ("spectral_norm", (), {}, IndexError),
        ("spectral_norm", (3, 4), {"name": "foo"}, ValueError),
        ("orthogonal", (3,), {}, ValueError),
        ("orthogonal", (3, 4), {"orthogonal_map": "qr"}, ValueError),
        ("orthogonal", (3, 4), {"name": "foo"}, ValueError),
    ],
)
def test_errors_match_torch(torch_ref, function, shape, kwargs, exc):
    torch = torch_ref
    from torch.nn.utils import parametrizations as TP

    rm, tm = rtorch.nn.Module(), torch.nn.Module()
    rm.weight = rtorch.nn.Parameter(rtorch.ones(shape))
    tm.weight = torch.nn.Parameter(torch.ones(shape))
    with pytest.raises(exc) as r_err:
        getattr(P, function)(rm, **kwargs)
    with pytest.raises(exc) as t_err:
        getattr(TP, function)(tm, **kwargs)
    # The module's repr is part of some messages; the rest must agree.
    assert str(r_err.value).replace("Module()", "M") == str(t_err.value).replace("Module()", "M")


@pytest.mark.parametrize(
    "make",
    [
        lambda nn: nn.Linear(5, 4),
        lambda nn: nn.Conv2d(3, 6, 2),
        lambda nn: nn.ConvTranspose2d(3, 6, 2),
    ],
)
def test_spectral_norm_parity_same_state(torch_ref, make):
    torch = torch_ref
    from torch.nn.utils import parametrizations as TP

    t = TP.spectral_norm(make(torch.nn).double(), n_power_iterations=2)
    r = P.spectral_norm(make(rtorch.nn).double(), n_power_iterations=2)
    assert list(r.state_dict()) == list(t.state_dict())
    r.load_state_dict({k: from_torch(v) for k, v in t.state_dict().items()})
    for training in (True, True, False):
        t.train(training)
        r.train(training)
        np.testing.assert_allclose(
            to_np(r.weight.detach()), t.weight.detach().numpy(), atol=1e-14, rtol=1e-12
        )
        for key in ("parametrizations.weight.0._u", "parametrizations.weight.0._v"):
            np.testing.assert_allclose(
                to_np(r.state_dict()[key]), t.state_dict()[key].numpy(), atol=1e-14, rtol=0
            )
    x = np.random.default_rng(26).standard_normal((2, 5) if t.weight.ndim == 2 else (2, 3, 4, 4))
    np.testing.assert_allclose(
        to_np(r(rtorch.tensor(x)).detach()),
        t(torch.tensor(x)).detach().numpy(),
        atol=1e-12,
        rtol=1e-10,
    )


@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_orthogonal_stays_orthogonal_while_training(orthogonal_map):
    rtorch.manual_seed(27)
    m = P.orthogonal(rtorch.nn.Linear(4, 6).double(), orthogonal_map=orthogonal_map)
    opt = rtorch.optim.SGD(m.parameters(), lr=0.1)
    x = rtorch.randn(8, 4, dtype=rtorch.float64)
    target = rtorch.randn(8, 6, dtype=rtorch.float64)
    before = to_np(m.weight.detach())
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = (m(x) - target).pow(2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    after = to_np(m.weight.detach())
    assert losses[-1] < losses[0]
    assert np.abs(after - before).max() > 1e-3
    assert orthonormality_error(after) < 1e-12


def test_spectral_norm_two_forwards_then_backward():
    # Each training forward updates _u/_v in place; the first forward's graph must still
    # hold the vectors it used (a gradient of W / sigma with u, v constant).
    m = P.spectral_norm(holder(4, 3, seed=28))
    w = to_np(m.parametrizations.weight.original.detach())
    u1, v1 = np_power_iterations(w, *sn_state(m), 1)
    first = m.weight
    u2, v2 = np_power_iterations(w, u1, v1, 1)
    second = m.weight
    (first.sum() + 2.0 * second.sum()).backward()

    def grad_of_sum(u, v):
        # d/dW sum(W / s), s = u.W v: 1/s - sum(W) u v^T / s^2.
        s = u @ w @ v
        return np.ones_like(w) / s - w.sum() * np.outer(u, v) / s**2

    expected = grad_of_sum(u1, v1) + 2.0 * grad_of_sum(u2, v2)
    np.testing.assert_allclose(
        to_np(m.parametrizations.weight.original.grad), expected, atol=1e-12, rtol=1e-10
    )
