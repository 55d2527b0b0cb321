"""Parity with real PyTorch: the same optimizer / scheduler program runs under both
libraries and must give the same trajectories, state_dict layouts and lr sequences.

PyTorch is found in this interpreter, or else at ``$RTORCH_TORCH_PYTHON`` (an
interpreter that has it); without either the tests skip.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import rtorch

# One program, run with ``torch`` bound to either library; prints a JSON summary.
PROGRAM = r"""
import json, math, warnings
warnings.simplefilter("ignore")
out = {}
W0 = [[0.3, -1.2, 0.8, 0.1], [1.5, -0.4, 0.0, -2.0], [0.7, 0.2, -0.9, 1.1]]
B0 = [0.5, -0.3, 1.2, -0.8]
OPTS = [
    ("SGD", {"lr": 0.1}), ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "dampening": 0.3, "maximize": True}),
    ("Adam", {"lr": 0.1}), ("Adam", {"lr": 0.1, "amsgrad": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.1, "maximize": True}), ("AdamW", {"lr": 0.1}),
    ("AdamW", {"lr": 0.1, "amsgrad": True}), ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1, "initial_accumulator_value": 0.5}),
    ("Adadelta", {}), ("Adadelta", {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.1}), ("Adamax", {"lr": 0.1, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.1}), ("NAdam", {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.1}), ("RAdam", {"lr": 0.1, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.1, "betas": (0.9, 0.9), "decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("Adafactor", {}), ("Adafactor", {"lr": 0.1, "weight_decay": 0.1, "d": 2.0}),
    ("Rprop", {"lr": 0.05}), ("Rprop", {"lr": 0.1, "etas": (0.3, 1.5), "maximize": True}),
    ("ASGD", {"lr": 0.05}), ("ASGD", {"lr": 0.05, "lambd": 0.1, "t0": 2, "weight_decay": 0.1}),
]
def loss_fn(w, b):
    return ((w * w).sum(1) * torch.sin(b[:3])).sum() + (b ** 4).sum() * 0.1 + (w ** 3).sum() * 0.05
for dtype_name in ("float32", "float64"):
    dtype = getattr(torch, dtype_name)
    for k, (name, kw) in enumerate(OPTS):
        w = torch.tensor(W0, dtype=dtype, requires_grad=True)
        b = torch.tensor(B0, dtype=dtype, requires_grad=True)
        opt = getattr(torch.optim, name)([{"params": [w]}, {"params": [b], "lr": 0.02}], **kw)
        for i in range(6):
            opt.zero_grad()
            loss_fn(w, b).backward()
            opt.step()
        sd = opt.state_dict()
        out[f"{dtype_name}/{k}/{name}{kw}"] = {
            "params": [w.detach().reshape(-1).tolist(), b.detach().tolist()],
            "groups": [[[key, repr(v)] for key, v in g.items()] for g in sd["param_groups"]],
            "state": {str(i): [[key, str(v.dtype), list(v.shape)] for key, v in st.items()]
                      for i, st in sd["state"].items()},
        }
for ls in (None, "strong_wolfe"):
    w = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], lr=0.5, max_iter=10, line_search_fn=ls, history_size=4)
    def closure():
        opt.zero_grad()
        loss = ((w - 1.0) ** 2 * torch.arange(1, 13, dtype=torch.float64).reshape(3, 4)).sum()
        loss = loss + (w ** 4).sum()
        loss.backward()
        return loss
    for i in range(3):
        opt.step(closure)
    st = opt.state[w]
    out[f"LBFGS {ls}"] = {"params": [w.detach().reshape(-1).tolist()],
                          "counts": [st["func_evals"], st["n_iter"]],
                          "keys": sorted(st)}
L = torch.optim.lr_scheduler
def make_opt(cls=torch.optim.SGD, **kw):
    a = torch.zeros(2, requires_grad=True); b = torch.zeros(3, requires_grad=True)
    return cls([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1, **kw)
SCHEDS = {
    "step": lambda o: L.StepLR(o, 3, gamma=0.5),
    "multistep": lambda o: L.MultiStepLR(o, [2, 5, 5, 9], gamma=0.3),
    "exp": lambda o: L.ExponentialLR(o, 0.9),
    "cos": lambda o: L.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
    "coswr": lambda o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
    "lambda": lambda o: L.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: 1 / (e + 1)]),
    "mult": lambda o: L.MultiplicativeLR(o, lambda e: 0.9),
    "linear": lambda o: L.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=6),
    "const": lambda o: L.ConstantLR(o, factor=0.4, total_iters=4),
    "poly": lambda o: L.PolynomialLR(o, total_iters=8, power=2.0),
    "onecycle": lambda o: L.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=25),
    "onecycle3": lambda o: L.OneCycleLR(o, max_lr=1.0, epochs=5, steps_per_epoch=5,
                                        three_phase=True, anneal_strategy="linear"),
    "cyclic": lambda o: L.CyclicLR(o, 0.01, 0.1, step_size_up=4, step_size_down=3),
    "cyclic2": lambda o: L.CyclicLR(o, [0.01, 0.02], 0.1, step_size_up=3, mode="triangular2"),
    "cyclicexp": lambda o: L.CyclicLR(o, 0.01, 0.1, step_size_up=3, mode="exp_range", gamma=0.9),
    "seq": lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=3),
                                        L.ExponentialLR(o, 0.8)], milestones=[4]),
    "chain": lambda o: L.ChainedScheduler([L.ConstantLR(o, 0.5, total_iters=3),
                                           L.ExponentialLR(o, 0.9)]),
    "swalr": lambda o: torch.optim.swa_utils.SWALR(o, swa_lr=[0.01, 0.02], anneal_epochs=5,
                                                   anneal_strategy="linear"),
    "swalr_cos": lambda o: torch.optim.swa_utils.SWALR(o, swa_lr=0.01, anneal_epochs=3),
}
for name, make in SCHEDS.items():
    o = make_opt(momentum=0.9)
    s = make(o)
    seq = [[s.get_last_lr(), [g["momentum"] for g in o.param_groups]]]
    for i in range(24):
        o.step(); s.step()
        seq.append([s.get_last_lr(), [g["momentum"] for g in o.param_groups]])
    out["sched/" + name] = [seq, sorted(s.state_dict()), sorted(o.param_groups[0])]
    if name in ("step", "multistep", "exp", "cos", "linear", "const", "poly", "coswr"):
        o = make_opt(momentum=0.9)
        s = make(o)
        closed = []
        for e in [3, 7, 1, 10, 5]:
            o.step(); s.step(e); closed.append(s.get_last_lr())
        out["closed/" + name] = closed
o = make_opt(torch.optim.Adam)
s = L.OneCycleLR(o, max_lr=0.3, total_steps=10)
seq = []
for i in range(10):
    o.step(); s.step(); seq.append([s.get_last_lr(), [list(g["betas"]) for g in o.param_groups]])
out["sched/onecycle_adam"] = seq
o = make_opt()
s = L.ReduceLROnPlateau(o, patience=2, factor=0.5, cooldown=1, min_lr=[0.0, 0.02])
seq = []
for m in [5, 4, 4, 4, 4, 4, 3.9999, 4, 4, 4, 4, 4, 4, 1, 1, 1, 1]:
    o.step(); s.step(m); seq.append(s.get_last_lr())
out["sched/plateau"] = [seq, sorted(s.state_dict())]
print(json.dumps(out))
"""


def _torch_outputs() -> dict:
    """Run PROGRAM under PyTorch in a subprocess (so rtorch and torch never share one)."""
    if importlib.util.find_spec("torch") is not None:
        python = sys.executable
    else:
        python = os.environ.get("RTORCH_TORCH_PYTHON", "")
        if not python or not os.path.exists(python):
            pytest.skip("PyTorch is not installed (set RTORCH_TORCH_PYTHON to compare)")
    proc = subprocess.run(
        [python, "-c", "import torch\n" + PROGRAM],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def _rtorch_outputs() -> dict:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(PROGRAM, {"torch": rtorch})  # noqa: S102 (our own program text)
    return json.loads(buffer.getvalue())


@pytest.fixture(scope="module")
def outputs():
    return _torch_outputs(), _rtorch_outputs()


def test_optimizer_trajectories_and_state_dicts(outputs):
    theirs, ours = outputs
    keys = [k for k in theirs if "/" in k and k.split("/")[0] in ("float32", "float64")]
    assert len(keys) == 56 and set(keys) <= set(ours)
    for key in keys:
        t, r = theirs[key], ours[key]
        assert r["groups"] == t["groups"], key
        assert r["state"] == t["state"], key
        # float32: the same update order, but the loss's own kernels (sin, pow, sums)
        # may round differently, and six steps compound it.
        rtol, atol = (1e-5, 1e-5) if key.startswith("float32") else (1e-10, 1e-12)
        for a, b in zip(r["params"], t["params"]):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=key)


def test_lbfgs(outputs):
    theirs, ours = outputs
    for key in ("LBFGS None", "LBFGS strong_wolfe"):
        assert ours[key]["counts"] == theirs[key]["counts"], key
        assert ours[key]["keys"] == theirs[key]["keys"], key
        np.testing.assert_allclose(ours[key]["params"], theirs[key]["params"], rtol=1e-10)


def test_scheduler_sequences_exact(outputs):
    theirs, ours = outputs
    keys = [k for k in theirs if k.startswith(("sched/", "closed/"))]
    assert len(keys) > 20
    for key in keys:
        assert ours[key] == theirs[key], key


# Train 3 steps and save (optimizer + scheduler state) with one library, load and train 3
# more with the other: optimizer checkpoints interchange in both directions.
SAVE = r"""
w = torch.tensor([[0.3, -1.2], [0.8, 0.1]], requires_grad=True)
b = torch.tensor([0.5, -0.3], requires_grad=True)
opt = torch.optim.Adam([{"params": [w]}, {"params": [b], "lr": 0.01}], lr=0.1, amsgrad=True)
sched = torch.optim.lr_scheduler.StepLR(opt, 2, gamma=0.5)
for i in range(3):
    opt.zero_grad(); ((w ** 2).sum() + (b ** 3).sum()).backward(); opt.step(); sched.step()
torch.save({"opt": opt.state_dict(), "sched": sched.state_dict(), "w": w.detach(),
            "b": b.detach()}, PATH)
"""
LOAD = r"""
import json
ck = torch.load(PATH, weights_only=False)
w = ck["w"].clone().requires_grad_(True); b = ck["b"].clone().requires_grad_(True)
opt = torch.optim.Adam([{"params": [w]}, {"params": [b], "lr": 0.01}], lr=0.1, amsgrad=True)
sched = torch.optim.lr_scheduler.StepLR(opt, 2, gamma=0.5)
opt.load_state_dict(ck["opt"]); sched.load_state_dict(ck["sched"])
for i in range(3):
    opt.zero_grad(); ((w ** 2).sum() + (b ** 3).sum()).backward(); opt.step(); sched.step()
state = opt.state_dict()["state"][0]
print(json.dumps([w.detach().reshape(-1).tolist(), b.detach().tolist(), sched.get_last_lr(),
                  state["step"].item(), sorted(state)]))
"""


def _run_torch(program: str, path: str) -> str:
    python = sys.executable
    if importlib.util.find_spec("torch") is None:
        python = os.environ.get("RTORCH_TORCH_PYTHON", "")
        if not python or not os.path.exists(python):
            pytest.skip("PyTorch is not installed (set RTORCH_TORCH_PYTHON to compare)")
    code = f"import torch\nPATH = {path!r}\n" + program
    proc = subprocess.run(
        [python, "-c", code], check=False, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _run_rtorch(program: str, path: str) -> str:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(program, {"torch": rtorch, "PATH": path})  # noqa: S102 (our own program text)
    return buffer.getvalue()


@pytest.mark.parametrize("saver", ["torch", "rtorch"])
def test_optimizer_checkpoints_interchange(saver, tmp_path):
    if not hasattr(rtorch, "save"):
        pytest.skip("rtorch.save is not available")
    path = str(tmp_path / "ckpt.pt")
    (_run_torch if saver == "torch" else _run_rtorch)(SAVE, path)
    theirs = json.loads(_run_torch(LOAD, path))
    ours = json.loads(_run_rtorch(LOAD, path))
    assert ours[2:] == theirs[2:]  # lrs, step count, state keys
    assert ours[4] == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
    for a, b in zip(ours[:2], theirs[:2]):
        # float32 Adam updates; the two libraries round some steps differently.
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
