"""Optimizer state_dict / load_state_dict: PyTorch's exact structure (so checkpoints
move between the libraries), round trips mid-training, dtype casting and errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import to_np

import rtorch
from rtorch import optim

RNG = np.random.RandomState(7)
INITS = [RNG.randn(4, 3), RNG.randn(3), RNG.randn(2)]


def grad_of(x):
    return 2.0 * x + 0.3 * x**3 - 0.5


def make_params(dtype=rtorch.float64, inits=INITS):
    return [rtorch.tensor(x, dtype=dtype, requires_grad=True) for x in inits]


def train(opt, params, steps):
    for _ in range(steps):
        for p in params:
            p.grad = rtorch.tensor(grad_of(to_np(p)), dtype=p.dtype)
        opt.step()


def clone_state(value):
    """A deep copy of a state_dict (state_dict() returns the live state tensors)."""
    if isinstance(value, rtorch.Tensor):
        return value.clone()
    if isinstance(value, dict):
        return {k: clone_state(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone_state(v) for v in value]
    if isinstance(value, tuple):
        return tuple(clone_state(v) for v in value)
    return value


# The group keys PyTorch 2.x writes for each optimizer, in its order.
GROUP_KEYS = {
    "SGD": ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "foreach",
            "differentiable", "fused", "params"],
    "Adam": ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach",
             "capturable", "differentiable", "fused", "decoupled_weight_decay", "params"],
    "AdamW": ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach",
              "capturable", "differentiable", "fused", "decoupled_weight_decay", "params"],
    "RMSprop": ["lr", "momentum", "alpha", "eps", "centered", "weight_decay", "capturable",
                "foreach", "maximize", "differentiable", "params"],
    "Adagrad": ["lr", "lr_decay", "eps", "weight_decay", "initial_accumulator_value",
                "foreach", "maximize", "differentiable", "fused", "params"],
    "Adadelta": ["lr", "rho", "eps", "weight_decay", "maximize", "capturable", "foreach",
                 "differentiable", "params"],
    "Adamax": ["lr", "betas", "eps", "weight_decay", "foreach", "maximize", "differentiable",
               "capturable", "params"],
    "NAdam": ["lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay",
              "maximize", "foreach", "capturable", "differentiable", "params"],
    "RAdam": ["lr", "betas", "eps", "weight_decay", "maximize", "foreach", "capturable",
              "decoupled_weight_decay", "differentiable", "params"],
    "Rprop": ["lr", "etas", "step_sizes", "foreach", "maximize", "differentiable",
              "capturable", "params"],
    "ASGD": ["lr", "lambd", "alpha", "t0", "weight_decay", "foreach", "maximize",
             "differentiable", "capturable", "params"],
    "LBFGS": ["lr", "max_iter", "max_eval", "tolerance_grad", "tolerance_change",
              "history_size", "line_search_fn", "maximize", "params"],
}  # fmt: skip

# Per-parameter state keys and, for each, (is a 0-dim counter, shaped like the param).
STATE_KEYS = {
    ("SGD", ()): [],
    ("SGD", (("momentum", 0.9),)): ["momentum_buffer"],
    ("Adam", ()): ["step", "exp_avg", "exp_avg_sq"],
    ("Adam", (("amsgrad", True),)): ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
    ("AdamW", ()): ["step", "exp_avg", "exp_avg_sq"],
    ("RMSprop", ()): ["step", "square_avg"],
    ("RMSprop", (("momentum", 0.9), ("centered", True))): [
        "step", "square_avg", "momentum_buffer", "grad_avg"],
    ("Adagrad", ()): ["step", "sum"],
    ("Adadelta", ()): ["step", "square_avg", "acc_delta"],
    ("Adamax", ()): ["step", "exp_avg", "exp_inf"],
    ("NAdam", ()): ["step", "mu_product", "exp_avg", "exp_avg_sq"],
    ("RAdam", ()): ["step", "exp_avg", "exp_avg_sq"],
    ("Rprop", ()): ["step", "prev", "step_size"],
    ("ASGD", ()): ["step", "eta", "mu", "ax"],
}  # fmt: skip


@pytest.mark.parametrize("key", list(STATE_KEYS), ids=[f"{k[0]}{dict(k[1])}" for k in STATE_KEYS])
def test_state_dict_structure(key):
    name, extra = key
    kwargs = dict(extra)
    if name == "SGD":
        kwargs["lr"] = 0.1
    a, b, c = make_params(rtorch.float32)
    opt = getattr(optim, name)([{"params": [a, b]}, {"params": [c], "lr": 0.5}], **kwargs)
    train(opt, [a, b, c], 2)
    sd = opt.state_dict()
    assert list(sd) == ["state", "param_groups"]
    groups = sd["param_groups"]
    assert [list(g) for g in groups] == [GROUP_KEYS[name]] * 2
    assert groups[0]["params"] == [0, 1] and groups[1]["params"] == [2]
    assert groups[1]["lr"] == 0.5
    expected_keys = STATE_KEYS[key]
    if not expected_keys:
        assert sd["state"] == {}
        return
    assert list(sd["state"]) == [0, 1, 2]
    for index, param in zip([0, 1, 2], [a, b, c]):
        entry = sd["state"][index]
        assert list(entry) == expected_keys
        for k, v in entry.items():
            assert isinstance(v, rtorch.Tensor)
            if k in ("step", "mu_product", "eta", "mu"):
                assert v.shape == () and v.dtype == rtorch.float32
            else:
                assert v.shape == param.shape and v.dtype == param.dtype
        if "step" in entry:
            assert entry["step"].item() == 2.0
    # The state is the live state, keyed by integers and by parameters respectively.
    assert sd["state"][0] is opt.state[a]


def test_explicit_adam_state_dict():
    w = rtorch.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.Adam([w], lr=0.1, amsgrad=True)
    w.grad = rtorch.tensor([0.5, 0.25])
    opt.step()
    sd = opt.state_dict()
    expected_group = {
        "lr": 0.1,
        "betas": (0.9, 0.999),
        "eps": 1e-08,
        "weight_decay": 0,
        "amsgrad": True,
        "maximize": False,
        "foreach": None,
        "capturable": False,
        "differentiable": False,
        "fused": None,
        "decoupled_weight_decay": False,
        "params": [0],
    }
    assert sd["param_groups"] == [expected_group]
    state = sd["state"][0]
    assert state["step"].item() == 1.0
    np.testing.assert_allclose(to_np(state["exp_avg"]), [0.05, 0.025], rtol=1e-6)
    np.testing.assert_allclose(to_np(state["exp_avg_sq"]), [0.00025, 0.0000625], rtol=1e-5)
    np.testing.assert_allclose(to_np(state["max_exp_avg_sq"]), [0.00025, 0.0000625], rtol=1e-5)


def test_shared_parameter_index_is_first_occurrence():
    a = rtorch.zeros(2, requires_grad=True)
    b = rtorch.zeros(2, requires_grad=True)
    with pytest.warns(UserWarning, match="duplicate"):
        opt = optim.SGD([a, b, a], lr=0.1)
    assert opt.state_dict()["param_groups"][0]["params"] == [0, 1, 0]


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
        ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}),
        ("AdamW", {"lr": 0.05}),
        ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
        ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
        ("Adadelta", {"lr": 0.5}),
        ("Adamax", {"lr": 0.05}),
        ("NAdam", {"lr": 0.05}),
        ("RAdam", {"lr": 0.05, "betas": (0.9, 0.9)}),
        ("Rprop", {"lr": 0.05}),
        ("ASGD", {"lr": 0.05, "t0": 2}),
    ],
)
def test_round_trip_mid_training_continues_identically(name, kwargs):
    # float32 params: every state tensor keeps its dtype through the load (NAdam's float32
    # mu_product would become float64 next to float64 params, as in PyTorch).
    params = make_params(rtorch.float32)
    opt = getattr(optim, name)([{"params": params[:2]}, {"params": params[2:]}], **kwargs)
    train(opt, params, 4)
    saved_params = [p.detach().clone() for p in params]
    saved = clone_state(opt.state_dict())
    train(opt, params, 4)

    fresh = [p.clone().requires_grad_(True) for p in saved_params]
    fresh_opt = getattr(optim, name)([{"params": fresh[:2]}, {"params": fresh[2:]}], lr=0.123)
    fresh_opt.load_state_dict(saved)
    # The loaded groups bring their hyperparameters (here: the original lr).
    assert fresh_opt.param_groups[0]["lr"] == kwargs.get("lr", opt.defaults["lr"])
    assert fresh_opt.param_groups[0]["params"][0] is fresh[0]
    train(fresh_opt, fresh, 4)
    for p, q in zip(params, fresh):
        assert to_np(p).tolist() == to_np(q).tolist()


def test_load_state_dict_casts_to_param_dtype_but_keeps_step():
    src = make_params(rtorch.float64)
    opt = optim.Adam(src, lr=0.1)
    train(opt, src, 2)
    dst = make_params(rtorch.float32)
    opt32 = optim.Adam(dst, lr=0.1)
    opt32.load_state_dict(clone_state(opt.state_dict()))
    state = opt32.state[dst[0]]
    assert state["exp_avg"].dtype == rtorch.float32
    assert state["exp_avg_sq"].dtype == rtorch.float32
    assert state["step"].dtype == rtorch.float32 and state["step"].item() == 2.0
    train(opt32, dst, 1)
    assert opt32.state[dst[0]]["step"].item() == 3.0


def test_load_state_dict_accepts_numeric_step_from_old_checkpoints():
    w = rtorch.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    old = {
        "state": {0: {"step": 3, "exp_avg": rtorch.zeros(2), "exp_avg_sq": rtorch.zeros(2)}},
        "param_groups": [dict(opt.state_dict()["param_groups"][0])],
    }
    opt.load_state_dict(old)
    step = opt.state[w]["step"]
    assert isinstance(step, rtorch.Tensor) and step.item() == 3.0


def test_load_state_dict_errors():
    a, b, c = make_params()
    opt = optim.SGD([a, b], lr=0.1)
    other = optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(other.state_dict())
    bigger = optim.SGD([a, b, c], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(bigger.state_dict())


def test_state_dict_hooks():
    w = rtorch.zeros(2, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    assert opt.state_dict()["extra"] == 1
    seen = []
    opt.register_load_state_dict_post_hook(lambda o: seen.append(o))
    opt.load_state_dict({"state": {}, "param_groups": opt.state_dict()["param_groups"]})
    assert seen == [opt]


def test_lbfgs_state_keys():
    w = rtorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    opt = optim.LBFGS([w], max_iter=3)

    def closure():
        opt.zero_grad()
        loss = ((w - 1.0) ** 2).sum() + (w**4).sum()
        loss.backward()
        return loss

    opt.step(closure)
    state = opt.state_dict()["state"]
    assert list(state) == [0]
    assert set(state[0]) == {
        "func_evals", "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag",
        "prev_flat_grad", "prev_loss", "al",
    }  # fmt: skip
    # Without a line search every iteration but one that hits max_iter evaluates once.
    assert 1 <= state[0]["n_iter"] <= 3
    assert state[0]["func_evals"] == state[0]["n_iter"] + 1
    assert isinstance(state[0]["prev_loss"], float)
    assert isinstance(state[0]["d"], rtorch.Tensor) and state[0]["d"].shape == (3,)
