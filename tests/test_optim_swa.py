"""rtorch.optim.swa_utils: weight averages against numpy means, EMA, SWALR's lr
sequence against its closed form, and update_bn's recomputed statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import to_np

import rtorch

nn = pytest.importorskip("rtorch.nn")
swa_utils = rtorch.optim.swa_utils


def _snapshots(model, count):
    """Perturb the model ``count`` times; return each state's weight and bias."""
    rng = np.random.RandomState(0)
    out = []
    for _ in range(count):
        with rtorch.no_grad():
            model.weight.copy_(rtorch.tensor(rng.randn(3, 2)))
            model.bias.copy_(rtorch.tensor(rng.randn(3)))
        out.append((to_np(model.weight).copy(), to_np(model.bias).copy()))
        yield out[-1]


def test_swa_running_mean_equals_numpy_mean():
    model = nn.Linear(2, 3).double()
    averaged = swa_utils.AveragedModel(model)
    seen = []
    for w, b in _snapshots(model, 5):
        averaged.update_parameters(model)
        seen.append((w, b))
    assert averaged.n_averaged.item() == 5 and averaged.n_averaged.dtype == rtorch.int64
    np.testing.assert_allclose(to_np(averaged.module.weight), np.mean([s[0] for s in seen], 0))
    np.testing.assert_allclose(to_np(averaged.module.bias), np.mean([s[1] for s in seen], 0))
    assert list(averaged.state_dict()) == ["n_averaged", "module.weight", "module.bias"]
    x = rtorch.ones(1, 2, dtype=rtorch.float64)
    np.testing.assert_allclose(to_np(averaged(x)), to_np(averaged.module(x)))


@pytest.mark.parametrize("multi", [True, False])
def test_ema(multi):
    model = nn.Linear(2, 3).double()
    kwargs = (
        {"multi_avg_fn": swa_utils.get_ema_multi_avg_fn(0.9)}
        if multi
        else {"avg_fn": swa_utils.get_ema_avg_fn(0.9)}
    )
    averaged = swa_utils.AveragedModel(model, **kwargs)
    expected = None
    for w, _ in _snapshots(model, 4):
        averaged.update_parameters(model)
        expected = w if expected is None else 0.9 * expected + 0.1 * w
    np.testing.assert_allclose(to_np(averaged.module.weight), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="Invalid decay value 1.5 provided"):
        swa_utils.get_ema_avg_fn(1.5)


def test_swalr_sequence():
    w = rtorch.zeros(2, requires_grad=True)
    opt = rtorch.optim.SGD([w], lr=1.0)
    sched = swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=4, anneal_strategy="cos")
    lrs = [sched.get_last_lr()[0]]
    for _ in range(6):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    # lr_t = swa_lr * a(t) + lr_0 * (1 - a(t)), a(t) = (1 - cos(pi * min(t/4, 1))) / 2.
    for t, lr in enumerate(lrs):
        alpha = (1 - math.cos(math.pi * min(t / 4, 1))) / 2
        assert lr == pytest.approx(0.1 * alpha + 1.0 * (1 - alpha), rel=1e-12)
    assert opt.param_groups[0]["swa_lr"] == 0.1
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        swa_utils.SWALR(opt, 0.1, anneal_epochs=-1)


def test_update_bn_recomputes_statistics():
    bn = nn.BatchNorm1d(3).double()
    model = nn.Sequential(bn)
    model.eval()
    rng = np.random.RandomState(1)
    batches = [rng.randn(4, 3) * 2 + 1 for _ in range(3)]
    loader = [(rtorch.tensor(b), 0) for b in batches]
    swa_utils.update_bn(loader, model)
    # momentum=None during the pass: a cumulative average of the batch statistics.
    np.testing.assert_allclose(to_np(bn.running_mean), np.mean([b.mean(0) for b in batches], 0))
    np.testing.assert_allclose(
        to_np(bn.running_var), np.mean([b.var(0, ddof=1) for b in batches], 0), rtol=1e-10
    )
    assert bn.momentum == 0.1 and not model.training
