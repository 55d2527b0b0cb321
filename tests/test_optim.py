"""rtorch.optim: each optimizer's trajectory against a float64 numpy implementation of
its documented update rule, param groups, closures, zero_grad and argument errors.

The gradients are computed in numpy from the current parameter values and assigned to
``.grad``, so these tests exercise the optimizers alone, not autograd.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import to_np

import rtorch
from rtorch import optim

RNG = np.random.RandomState(1234)
INITS = [RNG.randn(3, 4), RNG.randn(5), RNG.randn(1)]


def grad_of(x: np.ndarray) -> np.ndarray:
    """An elementwise, non-linear gradient field (varied signs and magnitudes)."""
    return 2.0 * x + 0.3 * x**3 - 0.5 + 0.2 * np.cos(3.0 * x)


# ----------------------------------------------------------------- numpy references


def ref_sgd(p, g, st, t, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False,
            maximize=False):  # fmt: skip
    g = -g if maximize else g
    g = g + weight_decay * p
    if momentum != 0:
        st["buf"] = g.copy() if t == 1 else momentum * st["buf"] + (1 - dampening) * g
        g = g + momentum * st["buf"] if nesterov else st["buf"]
    return p - lr * g


def ref_adam(p, g, st, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
             amsgrad=False, maximize=False, decoupled=False):  # fmt: skip
    b1, b2 = betas
    g = -g if maximize else g
    if decoupled:
        p = p * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * p
    st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
    st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g * g
    v = st["v"]
    if amsgrad:
        st["vmax"] = np.maximum(st.get("vmax", 0.0), st["v"])
        v = st["vmax"]
    m_hat_scale = lr / (1 - b1**t)
    denom = np.sqrt(v) / math.sqrt(1 - b2**t) + eps
    return p - m_hat_scale * st["m"] / denom


def ref_adamw(p, g, st, t, lr=1e-3, weight_decay=1e-2, **kw):
    return ref_adam(p, g, st, t, lr=lr, weight_decay=weight_decay, decoupled=True, **kw)


def ref_rmsprop(p, g, st, t, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                centered=False, maximize=False):  # fmt: skip
    g = -g if maximize else g
    g = g + weight_decay * p
    st["v"] = alpha * st.get("v", 0.0) + (1 - alpha) * g * g
    if centered:
        st["ga"] = alpha * st.get("ga", 0.0) + (1 - alpha) * g
        denom = np.sqrt(st["v"] - st["ga"] ** 2) + eps
    else:
        denom = np.sqrt(st["v"]) + eps
    if momentum > 0:
        st["buf"] = momentum * st.get("buf", 0.0) + g / denom
        return p - lr * st["buf"]
    return p - lr * g / denom


def ref_adagrad(p, g, st, t, lr=1e-2, lr_decay=0, weight_decay=0,
                initial_accumulator_value=0, eps=1e-10, maximize=False):  # fmt: skip
    g = -g if maximize else g
    g = g + weight_decay * p
    st["sum"] = st.get("sum", initial_accumulator_value) + g * g
    clr = lr / (1 + (t - 1) * lr_decay)
    return p - clr * g / (np.sqrt(st["sum"]) + eps)


def ref_adadelta(p, g, st, t, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False):
    g = -g if maximize else g
    g = g + weight_decay * p
    st["v"] = rho * st.get("v", 0.0) + (1 - rho) * g * g
    delta = np.sqrt(st.get("u", 0.0) + eps) / np.sqrt(st["v"] + eps) * g
    st["u"] = rho * st.get("u", 0.0) + (1 - rho) * delta * delta
    return p - lr * delta


def ref_adamax(p, g, st, t, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
               maximize=False):  # fmt: skip
    b1, b2 = betas
    g = -g if maximize else g
    g = g + weight_decay * p
    st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
    st["u"] = np.maximum(b2 * st.get("u", 0.0), np.abs(g) + eps)
    return p - lr / (1 - b1**t) * st["m"] / st["u"]


def ref_nadam(p, g, st, t, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
              momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False):  # fmt: skip
    b1, b2 = betas
    g = -g if maximize else g
    if decoupled_weight_decay:
        p = p * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * p
    mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    # PyTorch keeps the running product of the mu's as a float32 scalar tensor state.
    st["prod"] = float(np.float32(st.get("prod", 1.0) * np.float32(mu)))
    st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
    st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g * g
    denom = np.sqrt(st["v"] / (1 - b2**t)) + eps
    step = lr * (1 - mu) / (1 - st["prod"]) * g / denom
    step += lr * mu_next / (1 - st["prod"] * mu_next) * st["m"] / denom
    return p - step


def ref_radam(p, g, st, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
              decoupled_weight_decay=False, maximize=False):  # fmt: skip
    b1, b2 = betas
    g = -g if maximize else g
    if decoupled_weight_decay:
        p = p * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * p
    st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
    st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g * g
    m_hat = st["m"] / (1 - b1**t)
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
    if rho_t > 5:
        rect = math.sqrt(
            (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
        )
        adaptive = math.sqrt(1 - b2**t) / (np.sqrt(st["v"]) + eps)
        return p - lr * m_hat * rect * adaptive
    return p - lr * m_hat


def ref_rprop(p, g, st, t, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), maximize=False):
    g = -g if maximize else g
    agree = np.sign(g * st.get("prev", 0.0))
    factor = np.where(agree > 0, etas[1], np.where(agree < 0, etas[0], 1.0))
    st["size"] = np.clip(st.get("size", lr) * factor, *step_sizes)
    g = np.where(agree < 0, 0.0, g)
    st["prev"] = g
    return p - np.sign(g) * st["size"]


def ref_asgd(p, g, st, t, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
             maximize=False):  # fmt: skip
    # PyTorch keeps eta and mu as float32 scalar tensor states.
    eta, mu = st.get("eta", float(np.float32(lr))), st.get("mu", 1.0)
    g = -g if maximize else g
    g = g + weight_decay * p
    p = p * (1 - lambd * eta) - eta * g
    st["ax"] = p.copy() if mu == 1 else st["ax"] + mu * (p - st["ax"])
    st["eta"] = float(np.float32(lr / (1 + lambd * lr * t) ** alpha))
    st["mu"] = float(np.float32(1 / max(1, t - t0)))
    return p


def ref_adafactor(p, g, st, t, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                  weight_decay=0.0, maximize=False):  # fmt: skip
    eps1 = np.finfo(p.dtype).eps if eps[0] is None else eps[0]
    g = -g if maximize else g
    beta = t**beta2_decay  # 1 - beta2_t
    alpha = max(eps[1], np.sqrt(np.mean(p * p))) * min(lr, 1 / math.sqrt(t))
    p = p * (1 - lr * weight_decay)
    if g.ndim > 1:
        for key, axis in (("row", -1), ("col", -2)):
            mean_sq = np.mean(g * g, axis=axis, keepdims=True)
            st[key] = st.get(key, 0.0) + beta * (mean_sq - st.get(key, 0.0))
        v = st["row"] @ st["col"] / np.maximum(st["row"].mean(axis=-2, keepdims=True), eps1)
    else:
        st["v"] = st.get("v", 0.0) + beta * (g * g - st.get("v", 0.0))
        v = st["v"]
    update = g / np.sqrt(np.maximum(v, eps1 * eps1))
    return p - alpha / max(1.0, np.sqrt(np.mean(update * update)) / d) * update


CASES = [
    ("SGD", ref_sgd, {"lr": 0.1}),
    ("SGD", ref_sgd, {"lr": 0.1, "momentum": 0.9}),
    ("SGD", ref_sgd, {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}),
    ("SGD", ref_sgd, {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", ref_sgd, {"lr": 0.01, "momentum": 0.5, "maximize": True}),
    ("Adam", ref_adam, {"lr": 0.1}),
    ("Adam", ref_adam, {"lr": 0.1, "betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 0.1}),
    ("Adam", ref_adam, {"lr": 0.1, "amsgrad": True}),
    ("Adam", ref_adam, {"lr": 0.1, "maximize": True, "amsgrad": True, "weight_decay": 0.05}),
    ("AdamW", ref_adamw, {"lr": 0.1}),
    ("AdamW", ref_adamw, {"lr": 0.1, "weight_decay": 0.3, "amsgrad": True}),
    ("RMSprop", ref_rmsprop, {}),
    ("RMSprop", ref_rmsprop, {"lr": 0.01, "alpha": 0.9, "momentum": 0.9}),
    ("RMSprop", ref_rmsprop, {"lr": 0.01, "centered": True, "weight_decay": 0.1}),
    ("RMSprop", ref_rmsprop, {"lr": 0.01, "centered": True, "momentum": 0.5, "maximize": True}),
    ("Adagrad", ref_adagrad, {"lr": 0.1}),
    (
        "Adagrad",
        ref_adagrad,
        {"lr": 0.1, "lr_decay": 0.1, "initial_accumulator_value": 0.5, "weight_decay": 0.1},
    ),
    ("Adadelta", ref_adadelta, {}),
    ("Adadelta", ref_adadelta, {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1, "maximize": True}),
    ("Adamax", ref_adamax, {"lr": 0.1}),
    ("Adamax", ref_adamax, {"lr": 0.1, "betas": (0.7, 0.9), "weight_decay": 0.1}),
    ("NAdam", ref_nadam, {"lr": 0.1}),
    ("NAdam", ref_nadam, {"lr": 0.1, "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("NAdam", ref_nadam, {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    # beta2 = 0.9 makes rho_t pass 5 at step 6: both branches of the rectifier run.
    ("Adafactor", ref_adafactor, {}),
    ("Adafactor", ref_adafactor, {"lr": 0.1, "weight_decay": 0.1, "d": 2.0}),
    ("Adafactor", ref_adafactor, {"lr": 0.5, "beta2_decay": -0.5, "eps": (1e-6, 1e-2)}),
    ("Adafactor", ref_adafactor, {"maximize": True}),
    ("Rprop", ref_rprop, {}),
    ("Rprop", ref_rprop, {"lr": 0.1, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2)}),
    ("Rprop", ref_rprop, {"lr": 0.05, "maximize": True}),
    ("ASGD", ref_asgd, {"lr": 0.05}),
    ("ASGD", ref_asgd, {"lr": 0.05, "lambd": 0.1, "alpha": 0.5, "t0": 3, "weight_decay": 0.1}),
    ("RAdam", ref_radam, {"lr": 0.1, "betas": (0.9, 0.9)}),
    ("RAdam", ref_radam, {"lr": 0.1, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    (
        "RAdam",
        ref_radam,
        {"lr": 0.1, "betas": (0.9, 0.9), "weight_decay": 0.1, "decoupled_weight_decay": True},
    ),
]


def run_reference(ref, kwargs, steps, inits=INITS):
    params = [x.copy() for x in inits]
    states = [{} for _ in params]
    for t in range(1, steps + 1):
        params = [ref(p, grad_of(p), st, t, **kwargs) for p, st in zip(params, states)]
    return params


def run_rtorch(name, kwargs, steps, dtype=rtorch.float64, inits=INITS, noncontig_grad=False):
    params = [rtorch.tensor(x, dtype=dtype, requires_grad=True) for x in inits]
    opt = getattr(optim, name)(params, **kwargs)
    for _ in range(steps):
        for p in params:
            g = grad_of(to_np(p))
            if noncontig_grad and g.ndim == 2:
                p.grad = rtorch.tensor(np.ascontiguousarray(g.T), dtype=dtype).t()
            else:
                p.grad = rtorch.tensor(g, dtype=dtype)
        opt.step()
    return params, opt


def _case_id(case):
    name, _, kwargs = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_trajectory_matches_reference(case):
    name, ref, kwargs = case
    params, _ = run_rtorch(name, kwargs, steps=8)
    expected = run_reference(ref, kwargs, steps=8)
    for p, e in zip(params, expected):
        assert p.dtype == rtorch.float64
        # Same arithmetic in float64, differently ordered: rounding-level differences.
        np.testing.assert_allclose(to_np(p), e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,ref,kwargs", [CASES[2], CASES[8], CASES[14], CASES[23]])
def test_float32_trajectory(name, ref, kwargs):
    params, opt = run_rtorch(name, kwargs, steps=6, dtype=rtorch.float32, noncontig_grad=True)
    expected = run_reference(ref, kwargs, steps=6)
    for p, e in zip(params, expected):
        assert p.dtype == rtorch.float32
        # Six float32 updates compound rounding; 1e-5 relative is still far below any
        # algorithmic difference (a wrong rule moves the result by >1e-3).
        np.testing.assert_allclose(to_np(p), e, rtol=1e-5, atol=1e-5)
    for st in opt.state.values():
        for key, value in st.items():
            if isinstance(value, rtorch.Tensor) and key not in ("step", "mu_product"):
                assert value.dtype == rtorch.float32


def test_noncontiguous_grad_float64():
    params, _ = run_rtorch("Adam", {"lr": 0.1, "amsgrad": True}, 5, noncontig_grad=True)
    expected = run_reference(ref_adam, {"lr": 0.1, "amsgrad": True}, 5)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(to_np(p), e, rtol=1e-10, atol=1e-12)


def test_adafactor_factored_state():
    w = rtorch.zeros(2, 3, 4, requires_grad=True)
    b = rtorch.zeros(4, requires_grad=True)
    opt = optim.Adafactor([w, b])
    w.grad, b.grad = rtorch.ones(2, 3, 4), rtorch.ones(4)
    opt.step()
    st = opt.state_dict()["state"]
    assert list(st[0]) == ["step", "row_var", "col_var"] and list(st[1]) == ["step", "variance"]
    assert st[0]["row_var"].shape == (2, 3, 1) and st[0]["col_var"].shape == (2, 1, 4)
    assert list(opt.state_dict()["param_groups"][0]) == [
        "lr", "beta2_decay", "eps", "d", "weight_decay", "foreach", "maximize", "params"
    ]  # fmt: skip


def test_asgd_average_of_iterates():
    kwargs = {"lr": 0.05, "lambd": 0.1, "t0": 2}
    params, opt = run_rtorch("ASGD", kwargs, steps=7)
    states = [{} for _ in INITS]
    ps = [x.copy() for x in INITS]
    for t in range(1, 8):
        ps = [ref_asgd(p, grad_of(p), st, t, **kwargs) for p, st in zip(ps, states)]
    for p, st in zip(params, states):
        np.testing.assert_allclose(to_np(opt.state[p]["ax"]), st["ax"], rtol=1e-10, atol=1e-12)
        assert opt.state[p]["eta"].dtype == rtorch.float32
        assert list(opt.state[p]) == ["step", "eta", "mu", "ax"]


def test_param_groups_with_different_hyperparameters():
    a = rtorch.tensor(INITS[0], dtype=rtorch.float64, requires_grad=True)
    b = rtorch.tensor(INITS[1], dtype=rtorch.float64, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.01, "momentum": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert [g["momentum"] for g in opt.param_groups] == [0, 0.5]
    for _ in range(4):
        for p in (a, b):
            p.grad = rtorch.tensor(grad_of(to_np(p)))
        opt.step()
    ea = run_reference(ref_sgd, {"lr": 0.1}, 4, inits=[INITS[0]])[0]
    eb = run_reference(ref_sgd, {"lr": 0.01, "momentum": 0.5}, 4, inits=[INITS[1]])[0]
    np.testing.assert_allclose(to_np(a), ea, rtol=1e-12)
    np.testing.assert_allclose(to_np(b), eb, rtol=1e-12)
    # Momentum state only where momentum is on.
    assert a not in opt.state
    assert set(opt.state[b]) == {"momentum_buffer"}


def test_changing_lr_in_group_takes_effect():
    w = rtorch.tensor([1.0, 2.0], dtype=rtorch.float64, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad = rtorch.tensor([1.0, 1.0], dtype=rtorch.float64)
    opt.step()
    opt.param_groups[0]["lr"] = 0.5
    opt.step()
    np.testing.assert_allclose(to_np(w), [1.0 - 0.6, 2.0 - 0.6], rtol=1e-12)


def test_tensor_lr():
    w = rtorch.tensor([1.0, 2.0], dtype=rtorch.float64, requires_grad=True)
    opt = optim.Adam([w], lr=rtorch.tensor(0.1))
    w.grad = rtorch.tensor([1.0, -1.0], dtype=rtorch.float64)
    opt.step()
    # First Adam step moves each coordinate by lr * sign(g) (up to eps).
    np.testing.assert_allclose(to_np(w), [0.9, 2.1], rtol=1e-6)
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        optim.SGD([w], lr=rtorch.tensor([0.1, 0.2]))


def test_parameters_without_grad_are_skipped():
    a = rtorch.tensor([1.0, 2.0], requires_grad=True)
    b = rtorch.tensor([3.0], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = rtorch.tensor([1.0, 1.0])
    opt.step()
    assert to_np(b).tolist() == [3.0]
    assert b not in opt.state
    assert float(opt.state[a]["step"]) == 1.0


def test_step_does_not_record_graph_and_closure_runs_with_grad():
    w = rtorch.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    seen = []

    def closure():
        seen.append(rtorch.is_grad_enabled())
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with rtorch.no_grad():
        loss = opt.step(closure)
    assert seen == [True]
    assert float(loss) == 5.0
    assert w.is_leaf and w.grad_fn is None and w.requires_grad
    np.testing.assert_allclose(to_np(w), [0.8, -1.6], rtol=1e-6)
    assert opt.step() is None


def test_zero_grad():
    w = rtorch.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad = rtorch.tensor([3.0, 4.0])
    opt.zero_grad(set_to_none=False)
    assert to_np(w.grad).tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None
    opt.zero_grad()  # no grad at all: still fine


def test_named_parameters_and_parameter_class():
    nn = pytest.importorskip("rtorch.nn")
    parameter = getattr(nn, "Parameter", None)
    if parameter is None:
        pytest.skip("rtorch.nn.Parameter not available")
    w = parameter(rtorch.tensor(INITS[0], dtype=rtorch.float64))
    opt = optim.Adam([("weight", w)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight"]
    for _ in range(3):
        w.grad = rtorch.tensor(grad_of(to_np(w)))
        opt.step()
    expected = run_reference(ref_adam, {"lr": 0.1}, 3, inits=[INITS[0]])[0]
    np.testing.assert_allclose(to_np(w), expected, rtol=1e-10)
    assert isinstance(w, parameter)
    sd = opt.state_dict()
    assert sd["param_groups"][0]["param_names"] == ["weight"]


def test_add_param_group_uses_defaults():
    a = rtorch.zeros(2, requires_grad=True)
    b = rtorch.zeros(3, requires_grad=True)
    opt = optim.Adam([a], lr=0.5, betas=(0.8, 0.99))
    opt.add_param_group({"params": b, "eps": 1e-3})
    group = opt.param_groups[1]
    assert group["params"] == [b] or group["params"][0] is b
    assert group["lr"] == 0.5 and group["betas"] == (0.8, 0.99) and group["eps"] == 1e-3
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([a])


def test_constructor_errors():
    w = rtorch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="^optimizer got an empty parameter list$"):
        optim.SGD([], lr=0.1)
    with pytest.raises(
        TypeError,
        match="^params argument given to the optimizer should be an iterable of Tensors or "
        "dicts, but got torch.FloatTensor$",
    ):
        optim.SGD(w, lr=0.1)
    with pytest.raises(
        TypeError, match="optimizer can only optimize Tensors, but one of the params is int"
    ):
        optim.SGD([1], lr=0.1)
    nonleaf = w * 2
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([nonleaf], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one"):
        optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {w}}], lr=0.1)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([w, w], lr=0.1)


@pytest.mark.parametrize(
    "name,kwargs,message",
    [
        ("SGD", {"lr": -1.0}, "Invalid learning rate: -1.0"),
        ("SGD", {"lr": 0.1, "momentum": -0.5}, "Invalid momentum value: -0.5"),
        ("SGD", {"lr": 0.1, "weight_decay": -1}, "Invalid weight_decay value: -1"),
        ("SGD", {"lr": 0.1, "nesterov": True}, "Nesterov momentum requires a momentum and zero"),
        (
            "SGD",
            {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True},
            "Nesterov momentum requires a momentum and zero dampening",
        ),
        ("Adam", {"lr": -0.1}, "Invalid learning rate: -0.1"),
        ("Adam", {"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
        ("Adam", {"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
        ("Adam", {"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
        ("Adam", {"betas": (0, 0.99)}, "betas must be either both floats or both Tensors"),
        ("Adam", {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
        ("AdamW", {"lr": -1.0}, "Invalid learning rate: -1.0"),
        ("RMSprop", {"alpha": -0.1}, "Invalid alpha value: -0.1"),
        ("RMSprop", {"momentum": -0.1}, "Invalid momentum value: -0.1"),
        ("Adagrad", {"lr_decay": -1}, "Invalid lr_decay value: -1"),
        (
            "Adagrad",
            {"initial_accumulator_value": -1},
            "Invalid initial_accumulator_value value: -1",
        ),
        ("Adadelta", {"rho": 1.5}, "Invalid rho value: 1.5"),
        ("Adamax", {"betas": (0.9, 1.0)}, "Invalid beta parameter at index 1: 1.0"),
        ("NAdam", {"momentum_decay": -1}, "Invalid momentum_decay value: -1"),
        ("RAdam", {"eps": -1.0}, "Invalid epsilon value: -1.0"),
        ("Rprop", {"etas": (1.2, 0.5)}, "Invalid eta values: 1.2, 0.5"),
        ("Adafactor", {"lr": -1.0}, "Learning rate should be >= 0 but is: -1.0"),
        ("Adafactor", {"beta2_decay": 0.5}, "beta2_decay should be <= 0 but is: 0.5"),
        ("Adafactor", {"d": 0.5}, "Clipping threshold d should be >= 1 but is: 0.5"),
        ("ASGD", {"lambd": -1}, "Invalid lambd value: -1"),
        ("LBFGS", {"lr": -1}, "Invalid learning rate: -1"),
    ],
)
def test_argument_validation(name, kwargs, message):
    w = rtorch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        getattr(optim, name)([w], **kwargs)


def test_fused_and_foreach_flags():
    w = rtorch.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together."):
        optim.Adam([w], fused=True, foreach=True)
    with pytest.raises(RuntimeError, match="`fused` does not support `differentiable`"):
        optim.SGD([w], lr=0.1, fused=True, differentiable=True)
    # Accepted and recorded; the update is the same.
    a = rtorch.tensor([1.0, 2.0], requires_grad=True)
    b = rtorch.tensor([1.0, 2.0], requires_grad=True)
    oa = optim.Adam([a], lr=0.1, fused=True)
    ob = optim.Adam([b], lr=0.1, foreach=True)
    assert oa.param_groups[0]["fused"] is True and ob.param_groups[0]["foreach"] is True
    for _ in range(3):
        a.grad = rtorch.tensor([0.5, -1.0])
        b.grad = rtorch.tensor([0.5, -1.0])
        oa.step()
        ob.step()
    assert to_np(a).tolist() == to_np(b).tolist()


def test_differentiable_mode_is_refused_honestly():
    w = rtorch.zeros(2, requires_grad=True)
    opt = optim.SGD([w], lr=0.1, differentiable=True)
    w.grad = rtorch.ones(2)
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        opt.step()


def test_defaults_match_pytorch():
    w = rtorch.zeros(2, requires_grad=True)
    assert optim.SGD([w]).defaults["lr"] == 1e-3
    adamw = optim.AdamW([w]).param_groups[0]
    assert adamw["weight_decay"] == 0.01 and adamw["decoupled_weight_decay"] is True
    assert optim.Adam([w]).param_groups[0]["decoupled_weight_decay"] is False
    assert optim.RMSprop([w]).defaults["alpha"] == 0.99
    assert optim.Adadelta([w]).defaults["lr"] == 1.0
    assert optim.Adagrad([w]).defaults["eps"] == 1e-10
    assert optim.Adamax([w]).defaults["lr"] == 2e-3
    assert optim.NAdam([w]).defaults["momentum_decay"] == 4e-3
    assert optim.LBFGS([w]).defaults["max_eval"] == 25


def test_step_hooks():
    w = rtorch.zeros(2, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o is opt)))
    h2 = opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", o is opt)))
    w.grad = rtorch.ones(2)
    opt.step()
    assert calls == [("pre", True), ("post", True)]
    h1.remove()
    h2.remove()
    opt.step()
    assert len(calls) == 2


def test_repr():
    w = rtorch.zeros(2, requires_grad=True)
    text = repr(optim.SGD([w], lr=0.1))
    assert text.startswith("SGD (\nParameter Group 0\n    dampening: 0\n")
    assert "    lr: 0.1\n" in text and text.endswith(")")


def test_subclass_optimizer_and_required():
    from rtorch.optim.optimizer import required

    class SignSGD(optim.Optimizer):
        def __init__(self, params, lr=required):
            super().__init__(params, {"lr": lr})

        def step(self, closure=None):
            with rtorch.no_grad():
                for group in self.param_groups:
                    for p in group["params"]:
                        p.add_(p.grad.sign(), alpha=-group["lr"])

    w = rtorch.tensor([1.0, -1.0], requires_grad=True)
    with pytest.raises(ValueError, match="didn't specify a value of required optimization"):
        SignSGD([w])
    opt = SignSGD([w], lr=0.25)
    seen = []
    opt.register_step_post_hook(lambda *a: seen.append(1))
    w.grad = rtorch.tensor([3.0, -0.5])
    opt.step()
    assert to_np(w).tolist() == [0.75, -0.75] and seen == [1]


def test_training_an_nn_linear_through_autograd():
    nn = pytest.importorskip("rtorch.nn")
    if not hasattr(nn, "Linear"):
        pytest.skip("rtorch.nn.Linear not available")
    rng = np.random.RandomState(0)
    x, y = rng.randn(8, 3), rng.randn(8, 1)
    model = nn.Linear(3, 1).double()
    w, b = to_np(model.weight).copy(), to_np(model.bias).copy()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    xt, yt = rtorch.tensor(x), rtorch.tensor(y)
    states = [{}, {}]
    for t in range(1, 6):
        opt.zero_grad()
        ((model(xt) - yt) ** 2).mean().backward()
        opt.step()
        # Reference: mean squared error gradients by hand.
        r = 2 * (x @ w.T + b - y) / len(x)
        gw, gb = r.T @ x, r.sum(0)
        w = ref_sgd(w, gw, states[0], t, lr=0.1, momentum=0.9, nesterov=True)
        b = ref_sgd(b, gb, states[1], t, lr=0.1, momentum=0.9, nesterov=True)
    np.testing.assert_allclose(to_np(model.weight), w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(to_np(model.bias), b, rtol=1e-10, atol=1e-12)
