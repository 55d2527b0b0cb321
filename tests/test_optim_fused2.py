"""The fused Rust updates of Adadelta, Adamax, NAdam and RAdam.

``rtorch._C._fused_{adadelta,adamax,nadam,radam}_``: trajectories against an
independent float64 numpy reference written from PyTorch's documented algorithms, for
float32 and float64 parameters and every option; against real PyTorch (``foreach=False``)
when it is importable; bitwise independence from the thread count above the parallel
grain; state_dict layout and a round trip mid-training; and the error paths.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import rtorch
from rtorch import _C

STEPS = 5
# RAdam's approximated SMA length rho_t grows by about one per step from 1, so its
# rectified branch (rho_t > 5) starts at step 6: RAdam trajectories run 8 steps.
RADAM_STEPS = 8


def _steps(name: str) -> int:
    return RADAM_STEPS if name == "RAdam" else STEPS


# Several steps divide by square roots of small running averages, so float32 rounding
# compounds: float32 trajectories get a float32-scaled tolerance (as test_optim_fused).
TOL = {"float32": {"rtol": 2e-5, "atol": 2e-6}, "float64": {"rtol": 1e-7, "atol": 1e-7}}


def _grad_seq(shape: tuple[int, ...], steps: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(steps)]


def _init(shape: tuple[int, ...], seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# ----------------------------------------------------------------- float64 references


def ref_adadelta(p, grads, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    p = p.copy()
    sq = np.zeros_like(p)
    acc = np.zeros_like(p)
    for g in grads:
        g = -g if maximize else g.copy()
        if weight_decay:
            g = g + weight_decay * p
        sq = rho * sq + (1 - rho) * g * g
        delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * g
        acc = rho * acc + (1 - rho) * delta * delta
        p = p - lr * delta
    return p


def ref_adamax(p, grads, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False):
    p = p.copy()
    m = np.zeros_like(p)
    u = np.zeros_like(p)
    b1, b2 = betas
    for t, g in enumerate(grads, 1):
        g = -g if maximize else g.copy()
        if weight_decay:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        p = p - lr / (1 - b1**t) * m / u
    return p


def ref_nadam(
    p,
    grads,
    lr=2e-3,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    momentum_decay=4e-3,
    decoupled_weight_decay=False,
    maximize=False,
):
    p = p.copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    b1, b2 = betas
    mu_prod = 1.0
    for t, g in enumerate(grads, 1):
        g = -g if maximize else g.copy()
        if weight_decay:
            if decoupled_weight_decay:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * p
        mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mu_prod *= mu
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = np.sqrt(v / (1 - b2**t)) + eps
        p = p - lr * (1 - mu) / (1 - mu_prod) * g / denom
        p = p - lr * mu_next / (1 - mu_prod * mu_next) * m / denom
    return p, mu_prod


def ref_radam(
    p,
    grads,
    lr=1e-3,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    decoupled_weight_decay=False,
    maximize=False,
):
    p = p.copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    b1, b2 = betas
    rho_inf = 2 / (1 - b2) - 1
    for t, g in enumerate(grads, 1):
        g = -g if maximize else g.copy()
        if weight_decay:
            if decoupled_weight_decay:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho_t > 5:
            r = math.sqrt(
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            )
            adaptive = math.sqrt(1 - b2**t) / (np.sqrt(v) + eps)
            p = p - lr * m_hat * r * adaptive
        else:
            p = p - lr * m_hat
    return p


def _ref(name: str):
    return {
        "Adadelta": ref_adadelta,
        "Adamax": ref_adamax,
        "NAdam": lambda *a, **k: ref_nadam(*a, **k)[0],
        "RAdam": ref_radam,
    }[name]


# RAdam with beta2 = 0.5: rho_inf = 3, never rectified; with beta2 0.9 or 0.999 the
# first 5 of the 8 steps are unrectified and steps 6-8 rectified.
CASES = [
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.6, "eps": 1e-3}),
    ("Adadelta", {"weight_decay": 0.1, "maximize": True}),
    ("Adadelta", {"rho": 0.0}),
    ("Adadelta", {"rho": 1.0, "lr": 0.3}),
    ("Adamax", {"lr": 0.01}),
    ("Adamax", {"lr": 0.01, "betas": (0.3, 0.7), "eps": 1e-3}),
    ("Adamax", {"lr": 0.01, "weight_decay": 0.2, "maximize": True}),
    ("NAdam", {"lr": 0.01}),
    ("NAdam", {"lr": 0.01, "betas": (0.5, 0.9), "momentum_decay": 0.3, "eps": 1e-4}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.3, "decoupled_weight_decay": True}),
    ("NAdam", {"lr": 0.01, "maximize": True, "weight_decay": 0.05}),
    ("RAdam", {"lr": 0.01}),
    ("RAdam", {"lr": 0.01, "betas": (0.9, 0.9)}),
    ("RAdam", {"lr": 0.01, "betas": (0.6, 0.5), "eps": 1e-3}),
    ("RAdam", {"lr": 0.01, "betas": (0.9, 0.9), "weight_decay": 0.1, "maximize": True}),
    (
        "RAdam",
        {"lr": 0.01, "betas": (0.9, 0.9), "weight_decay": 0.3, "decoupled_weight_decay": True},
    ),
]
IDS = [f"{c[0]}{c[1]}" for c in CASES]


def _run_rtorch(name, kw, p0, grads, dtype, opt=None, p=None):
    if p is None:
        p = rtorch.tensor(p0, dtype=dtype).requires_grad_(True)
    if opt is None:
        opt = getattr(rtorch.optim, name)([p], **kw)
    for g in grads:
        p.grad = rtorch.tensor(g, dtype=dtype)
        opt.step()
    return p, opt


def test_radam_cases_cover_both_branches():
    def rho(b2, t):
        rho_inf = 2 / (1 - b2) - 1
        return rho_inf - 2 * t * b2**t / (1 - b2**t)

    for b2 in (0.9, 0.999):
        assert all(rho(b2, t) <= 5 for t in range(1, 6))
        assert all(rho(b2, t) > 5 for t in range(6, RADAM_STEPS + 1))
    assert all(rho(0.5, t) <= 5 for t in range(1, RADAM_STEPS + 1))


@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_trajectory_matches_float64_reference(name, kw, dtype_name):
    shape = (3, 7)  # 21 elements: a SIMD tail for both widths
    p0 = _init(shape)
    grads = _grad_seq(shape, _steps(name))
    if dtype_name == "float32":
        p0 = p0.astype(np.float32).astype(np.float64)
        grads = [g.astype(np.float32).astype(np.float64) for g in grads]
    p, opt = _run_rtorch(name, kw, p0, grads, getattr(rtorch, dtype_name))
    np.testing.assert_allclose(p.detach().numpy(), _ref(name)(p0, grads, **kw), **TOL[dtype_name])
    st = opt.state[p]
    assert st["step"].item() == float(_steps(name))
    if name == "NAdam":
        np.testing.assert_allclose(
            st["mu_product"].item(), ref_nadam(p0, grads, **kw)[1], rtol=1e-6
        )


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_trajectory_matches_torch(name, kw):
    torch = pytest.importorskip("torch")
    shape = (5, 3)
    p0 = _init(shape, seed=3)
    grads = _grad_seq(shape, _steps(name), seed=4)
    for dtype_name in ("float32", "float64"):
        p, opt = _run_rtorch(name, kw, p0, grads, getattr(rtorch, dtype_name))
        tp = torch.tensor(p0, dtype=getattr(torch, dtype_name), requires_grad=True)
        topt = getattr(torch.optim, name)([tp], foreach=False, **kw)
        for g in grads:
            tp.grad = torch.tensor(g, dtype=getattr(torch, dtype_name))
            topt.step()
        # Same operation order as PyTorch's single-tensor path; PyTorch's AVX2 kernels
        # fuse some multiply-adds (add with alpha, lerp), so float32 may differ in the
        # last bits.
        tol = (
            {"rtol": 1e-5, "atol": 1e-6}
            if dtype_name == "float32"
            else {"rtol": 1e-12, "atol": 1e-14}
        )
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), **tol)
        ours, theirs = opt.state_dict()["state"][0], topt.state_dict()["state"][0]
        assert list(ours) == list(theirs)
        for key in theirs:
            assert (
                ours[key].dtype.__repr__().split(".")[-1] == str(theirs[key].dtype).split(".")[-1]
            )
            assert tuple(ours[key].shape) == tuple(theirs[key].shape)
            np.testing.assert_allclose(
                ours[key].detach().numpy(), theirs[key].detach().numpy(), **tol
            )


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("Adadelta", {"weight_decay": 0.1}),
        ("Adamax", {"lr": 0.01}),
        ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
        ("RAdam", {"lr": 0.01, "betas": (0.9, 0.9)}),
    ],
)
def test_large_param_is_bitwise_independent_of_thread_count(name, kw):
    n = 3 * 32768 + 5  # above the parallel grain, with a partial last chunk
    p0 = _init((n,), seed=5).astype(np.float32)
    grads = [g.astype(np.float32) for g in _grad_seq((n,), _steps(name) - 1, seed=6)]
    before = rtorch.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            rtorch.set_num_threads(threads)
            p, _ = _run_rtorch(name, kw, p0, grads, rtorch.float32)
            results.append(p.detach().numpy().copy())
    finally:
        rtorch.set_num_threads(before)
    assert np.array_equal(results[0], results[1])
    expected = _ref(name)(p0.astype(np.float64), [g.astype(np.float64) for g in grads], **kw)
    np.testing.assert_allclose(results[0], expected, **TOL["float32"])


@pytest.mark.parametrize(("name", "kw"), [CASES[2], CASES[7], CASES[11], CASES[16]], ids=str)
def test_state_dict_round_trip_mid_training(name, kw):
    p0 = _init((4, 3), seed=11)
    grads = _grad_seq((4, 3), _steps(name), seed=12)
    p_ref, _ = _run_rtorch(name, kw, p0, grads, rtorch.float64)

    p, opt = _run_rtorch(name, kw, p0, grads[:2], rtorch.float64)
    sd = opt.state_dict()
    st = sd["state"][0]
    assert st["step"].dtype == rtorch.float32 and st["step"].dim() == 0
    expected_keys = {
        "Adadelta": ["step", "square_avg", "acc_delta"],
        "Adamax": ["step", "exp_avg", "exp_inf"],
        "NAdam": ["step", "mu_product", "exp_avg", "exp_avg_sq"],
        "RAdam": ["step", "exp_avg", "exp_avg_sq"],
    }[name]
    assert list(st) == expected_keys
    # A fresh optimizer over a copy of the parameter continues from the saved state.
    p2 = p.detach().clone().requires_grad_(True)
    opt2 = getattr(rtorch.optim, name)([p2], **kw)
    opt2.load_state_dict(sd)
    _run_rtorch(name, kw, None, grads[2:], rtorch.float64, opt=opt2, p=p2)
    if name == "NAdam":
        # load_state_dict casts mu_product to the parameter's dtype (float64 here), as
        # PyTorch does, so the later products are rounded differently than in float32.
        np.testing.assert_allclose(p2.detach().numpy(), p_ref.detach().numpy(), rtol=1e-8)
    else:
        np.testing.assert_array_equal(p2.detach().numpy(), p_ref.detach().numpy())
    assert opt2.state[p2]["step"].item() == float(_steps(name))


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "NAdam", "RAdam"])
def test_non_contiguous_param_and_expanded_grad(name):
    kw = {"lr": 0.05}
    base0 = _init((4, 6), seed=7)
    p0 = base0.T.copy()
    grads = [np.broadcast_to(g, (6, 4)).copy() for g in _grad_seq((1, 4), _steps(name), seed=8)]
    base = rtorch.tensor(base0, dtype=rtorch.float64)
    p = base.t()
    p.requires_grad_(True)
    opt = getattr(rtorch.optim, name)([p], **kw)
    for g in grads:
        p.grad = rtorch.tensor(g[:1], dtype=rtorch.float64).expand(6, 4)
        opt.step()
    expected = _ref(name)(p0, grads, **kw)
    np.testing.assert_allclose(p.detach().numpy(), expected, **TOL["float64"])
    np.testing.assert_allclose(base.numpy(), expected.T, **TOL["float64"])


@pytest.mark.parametrize("shape", [(0,), (), (1,)])
@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "NAdam", "RAdam"])
def test_empty_and_zero_dim(name, shape):
    p0 = _init(shape, seed=9) if shape != (0,) else np.zeros((0,))
    grads = [np.asarray(g) for g in _grad_seq(shape, 3, seed=10)]
    p, opt = _run_rtorch(name, {"lr": 0.1}, p0, grads, rtorch.float64)
    # NAdam keeps mu_product in float32 (PyTorch's step dtype), hence float64's 1e-7.
    np.testing.assert_allclose(p.detach().numpy(), _ref(name)(p0, grads, lr=0.1), **TOL["float64"])
    assert tuple(p.shape) == shape
    assert opt.state[p]["step"].item() == 3.0


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "NAdam", "RAdam"])
def test_version_counters_are_bumped_and_grad_only_read(name):
    p = rtorch.tensor([1.0, 2.0], requires_grad=True)
    opt = getattr(rtorch.optim, name)([p], lr=0.1)
    p.grad = rtorch.tensor([0.1, -0.2])
    opt.step()
    st = opt.state[p]
    before = {k: v._version for k, v in st.items()} | {"param": p._version}
    g_version = p.grad._version
    opt.step()
    after = {k: v._version for k, v in st.items()} | {"param": p._version}
    assert all(after[k] > before[k] for k in before)
    assert p.grad._version == g_version


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "NAdam", "RAdam"])
def test_low_precision_params_take_the_tensor_op_path(name):
    p16 = rtorch.tensor([1.0, -2.0, 0.5], dtype=rtorch.bfloat16, requires_grad=True)
    p32 = rtorch.tensor([1.0, -2.0, 0.5], requires_grad=True)
    opt = getattr(rtorch.optim, name)([p16, p32], lr=0.1)
    for _ in range(2):
        p16.grad = rtorch.tensor([0.3, 0.3, -0.3], dtype=rtorch.bfloat16)
        p32.grad = rtorch.tensor([0.3, 0.3, -0.3])
        opt.step()
    assert p16.dtype == rtorch.bfloat16
    np.testing.assert_allclose(p16.float().detach().numpy(), p32.detach().numpy(), atol=3e-2)
    assert opt.state[p16]["step"].item() == opt.state[p32]["step"].item() == 2.0


def test_nadam_mu_product_loaded_as_float64_follows_its_dtype():
    # load_state_dict casts mu_product to the parameter's dtype (as PyTorch does); the
    # fused update then keeps the product in float64.
    p = rtorch.tensor([1.0, 2.0], dtype=rtorch.float64, requires_grad=True)
    opt = rtorch.optim.NAdam([p], lr=0.1)
    p.grad = rtorch.tensor([0.1, -0.2], dtype=rtorch.float64)
    opt.step()
    sd = opt.state_dict()
    opt.load_state_dict(sd)
    mp = opt.state[p]["mu_product"]
    assert mp.dtype == rtorch.float64
    opt.step()
    mu = [0.9 * (1 - 0.5 * 0.96 ** (t * 4e-3)) for t in (1, 2)]
    assert opt.state[p]["mu_product"].item() == np.float64(np.float32(mu[0])) * mu[1]


# ----------------------------------------------------------------- the raw ops


def _lists(n=2, shape=(3,), dtype=rtorch.float32):
    def mk(fill):
        return [rtorch.full(shape, fill, dtype=dtype) for _ in range(n)]

    return mk


CALLS = {
    "adadelta": (
        lambda a: _C._fused_adadelta_(
            a["params"], a["grads"], a["s1"], a["s2"], a["steps"],
            lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False,
        ),
        ("square_avgs", "acc_deltas"),
    ),
    "adamax": (
        lambda a: _C._fused_adamax_(
            a["params"], a["grads"], a["s1"], a["s2"], a["steps"],
            lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, maximize=False,
        ),
        ("exp_avgs", "exp_infs"),
    ),
    "nadam": (
        lambda a: _C._fused_nadam_(
            a["params"], a["grads"], a["s1"], a["s2"], a["mu"], a["steps"],
            lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
            momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False,
        ),
        ("exp_avgs", "exp_avg_sqs"),
    ),
    "radam": (
        lambda a: _C._fused_radam_(
            a["params"], a["grads"], a["s1"], a["s2"], a["steps"],
            lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
            decoupled_weight_decay=False, maximize=False,
        ),
        ("exp_avgs", "exp_avg_sqs"),
    ),
}  # fmt: skip


def _args(dtype=rtorch.float32):
    mk = _lists(dtype=dtype)
    return {
        "params": mk(0.0),
        "grads": mk(1.0),
        "s1": mk(0.0),
        "s2": mk(0.0),
        "mu": [rtorch.ones(()) for _ in range(2)],
        "steps": [rtorch.zeros(()) for _ in range(2)],
    }


def _untouched(a):
    assert all(t.tolist() == [0.0, 0.0, 0.0] for t in a["params"])
    assert all(s.tolist() in (0.0, [0.0, 0.0]) for s in a["steps"])
    assert all(m.tolist() in (1.0, [1.0, 1.0]) for m in a["mu"])


@pytest.mark.parametrize("op", sorted(CALLS))
def test_fused_op_errors_leave_everything_unwritten(op):
    call, (n1, n2) = CALLS[op]

    a = _args()
    a["s2"][1] = rtorch.zeros(4)
    with pytest.raises(RuntimeError, match=rf"{n2}\[1\] has shape \[4\], but params\[1\]"):
        call(a)
    _untouched(a)

    a = _args()
    a["grads"][0] = rtorch.ones(3, dtype=rtorch.float64)
    with pytest.raises(RuntimeError, match=r"grads\[0\] has dtype"):
        call(a)
    _untouched(a)

    a = _args()
    a["s1"] = a["s1"][:1]
    with pytest.raises(RuntimeError, match=f"expected {n1} to hold 2 tensors"):
        call(a)

    a = _args()
    a["steps"][1] = rtorch.zeros(2)
    with pytest.raises(RuntimeError, match=r"state_steps\[1\] must be a one-element"):
        call(a)
    _untouched(a)

    a = _args(dtype=rtorch.float16)
    with pytest.raises(RuntimeError, match="only float32 and float64"):
        call(a)

    a = _args()
    a["s1"][1] = a["params"][1]
    with pytest.raises(RuntimeError, match="share memory"):
        call(a)
    _untouched(a)

    a = _args()
    a["params"][1] = rtorch.zeros(1).expand(3)
    with pytest.raises(RuntimeError, match="single memory location"):
        call(a)

    a = _args()
    a["grads"][1] = "not a tensor"
    with pytest.raises(TypeError, match=r"grads\[1\] must be a Tensor"):
        call(a)


def test_nadam_mu_products_are_checked_first():
    call, _ = CALLS["nadam"]
    a = _args()
    a["mu"][1] = rtorch.ones(2)
    with pytest.raises(RuntimeError, match=r"mu_products\[1\] must be a one-element"):
        call(a)
    _untouched(a)
    a = _args()
    a["mu"] = a["mu"][:1]
    with pytest.raises(RuntimeError, match="expected mu_products to hold 2 tensors"):
        call(a)
    a = _args()
    a["mu"][0] = a["steps"][0]
    with pytest.raises(RuntimeError, match=r"mu_products\[0\] shares memory"):
        call(a)
    assert all(t.tolist() == [0.0, 0.0, 0.0] for t in a["params"])
    assert all(s.item() == 0.0 for s in a["steps"])


def test_adamax_and_amsgrad_propagate_nan():
    # torch.maximum propagates a NaN from either side.
    p = rtorch.tensor([1.0, 2.0], requires_grad=True)
    opt = rtorch.optim.Adamax([p], lr=0.1)
    p.grad = rtorch.tensor([float("nan"), 1.0])
    opt.step()
    inf = opt.state[p]["exp_inf"].tolist()
    assert math.isnan(inf[0]) and inf[1] == pytest.approx(1.0)
    q = rtorch.tensor([1.0], requires_grad=True)
    opt = rtorch.optim.Adam([q], lr=0.1, amsgrad=True)
    q.grad = rtorch.tensor([1.0])
    opt.step()
    opt.state[q]["max_exp_avg_sq"].fill_(float("nan"))
    opt.step()
    assert math.isnan(opt.state[q]["max_exp_avg_sq"].item())
