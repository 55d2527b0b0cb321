"""rtorch.optim.lr_scheduler: each scheduler's lr sequence against its closed form,
state_dict round trips, the step-order warning and argument errors."""

from __future__ import annotations

import math
import types
import warnings

import pytest

import rtorch
from rtorch import optim
from rtorch.optim import lr_scheduler as L

EPOCHS = 25


def make_opt(cls=optim.SGD, lrs=(0.1, 0.05), **kwargs):
    groups = [{"params": [rtorch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    return cls(groups, lr=lrs[0], **kwargs)


def run(opt, sched, epochs=EPOCHS):
    """lr of each group after construction and after each of ``epochs`` steps."""
    seq = [sched.get_last_lr()]
    for _ in range(epochs):
        opt.step()
        sched.step()
        seq.append(sched.get_last_lr())
        assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
    return seq


def assert_sequence(seq, closed_form, base_lrs=(0.1, 0.05)):
    for epoch, lrs in enumerate(seq):
        expected = [closed_form(base, epoch) for base in base_lrs]
        assert lrs == pytest.approx(expected, rel=1e-12, abs=1e-15), f"epoch {epoch}"


def test_step_lr():
    opt = make_opt()
    assert_sequence(
        run(opt, L.StepLR(opt, step_size=3, gamma=0.5)), lambda b, e: b * 0.5 ** (e // 3)
    )


def test_multistep_lr_with_repeated_milestone():
    opt = make_opt()
    seq = run(opt, L.MultiStepLR(opt, milestones=[2, 5, 5, 9], gamma=0.3))

    def closed(b, e):
        return b * 0.3 ** sum(m <= e for m in [2, 5, 5, 9])

    assert_sequence(seq, closed)


def test_exponential_lr():
    opt = make_opt()
    assert_sequence(run(opt, L.ExponentialLR(opt, gamma=0.9)), lambda b, e: b * 0.9**e)


def test_cosine_annealing_lr_over_several_periods():
    opt = make_opt()
    seq = run(opt, L.CosineAnnealingLR(opt, T_max=7, eta_min=0.001))

    def closed(b, e):
        return 0.001 + (b - 0.001) * (1 + math.cos(math.pi * e / 7)) / 2

    assert_sequence(seq, closed)


def test_cosine_annealing_warm_restarts():
    opt = make_opt()
    seq = run(opt, L.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.001))

    def closed(b, e):
        t_i, t_cur = 3, e
        while t_cur >= t_i:
            t_cur -= t_i
            t_i *= 2
        return 0.001 + (b - 0.001) * (1 + math.cos(math.pi * t_cur / t_i)) / 2

    assert_sequence(seq, closed)


def test_cosine_annealing_warm_restarts_fractional_epoch():
    opt = make_opt()
    sched = L.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # unlike other schedulers, no deprecation warning
        sched.step(5.5)
    assert sched.get_last_lr()[0] == pytest.approx(0.05 * (1 + math.cos(math.pi * 1.5 / 4)))
    assert sched.last_epoch == 5
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        sched.step(-1)


def test_lambda_and_multiplicative_lr():
    opt = make_opt()
    seq = run(opt, L.LambdaLR(opt, [lambda e: 0.95**e, lambda e: 1 / (e + 1)]))
    for e, lrs in enumerate(seq):
        assert lrs == pytest.approx([0.1 * 0.95**e, 0.05 / (e + 1)], rel=1e-12)
    opt = make_opt()
    seq = run(opt, L.MultiplicativeLR(opt, lambda e: 0.9))
    assert_sequence(seq, lambda b, e: b * 0.9**e)


def test_linear_lr():
    opt = make_opt()
    seq = run(opt, L.LinearLR(opt, start_factor=0.25, end_factor=0.9, total_iters=6))
    assert_sequence(seq, lambda b, e: b * (0.25 + (0.9 - 0.25) * min(e, 6) / 6))


def test_constant_lr():
    opt = make_opt()
    seq = run(opt, L.ConstantLR(opt, factor=0.4, total_iters=4))
    assert_sequence(seq, lambda b, e: b * (0.4 if e < 4 else 1.0))


def test_polynomial_lr():
    opt = make_opt()
    seq = run(opt, L.PolynomialLR(opt, total_iters=8, power=2.0))
    assert_sequence(seq, lambda b, e: b * (1 - min(e, 8) / 8) ** 2)


def test_one_cycle_lr_cos_and_momentum():
    opt = make_opt(momentum=0.9)
    sched = L.OneCycleLR(opt, max_lr=[1.0, 0.5], total_steps=20, pct_start=0.25)
    seq = run(opt, sched, epochs=19)
    rise_end = 0.25 * 20 - 1

    def anneal(start, end, pct):
        return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)

    for step, lrs in enumerate(seq):
        for max_lr, lr in zip([1.0, 0.5], lrs):
            initial, minimum = max_lr / 25, max_lr / 25 / 1e4
            if step <= rise_end:
                expected = anneal(initial, max_lr, step / rise_end)
            else:
                expected = anneal(max_lr, minimum, (step - rise_end) / (19 - rise_end))
            assert lr == pytest.approx(expected, rel=1e-12)
    # Momentum moves inversely: lowest at the lr peak, back to max at the end.
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.95)
    with pytest.raises(ValueError, match="Tried to step 21 times"):
        for _ in range(2):
            sched.step()


def test_one_cycle_three_phase_linear_with_adam_betas():
    opt = make_opt(optim.Adam)
    sched = L.OneCycleLR(
        opt, max_lr=1.0, epochs=2, steps_per_epoch=10, three_phase=True, anneal_strategy="linear"
    )
    seq = run(opt, sched, epochs=19)
    # pct_start 0.3 of 20 steps: phases end at steps 5, 10 and 19.
    phases = [(0.0, 5.0, 0.04, 1.0), (5.0, 10.0, 1.0, 0.04), (10.0, 19.0, 0.04, 4e-6)]
    for step, lrs in enumerate(seq):
        start, end, lr0, lr1 = next(ph for ph in phases if step <= ph[1])
        expected = (lr1 - lr0) * (step - start) / (end - start) + lr0
        assert lrs[0] == pytest.approx(expected, rel=1e-12)
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.95)
    assert opt.param_groups[0]["betas"][1] == 0.999


def test_cyclic_lr_modes():
    def triangle(e, up, down):
        pos = e % (up + down)
        return pos / up if pos <= up else 1 - (pos - up) / down

    opt = make_opt(momentum=0.9)
    seq = run(opt, L.CyclicLR(opt, 0.01, 0.1, step_size_up=4, step_size_down=3))
    for e, lrs in enumerate(seq):
        assert lrs[0] == pytest.approx(0.01 + 0.09 * triangle(e, 4, 3), rel=1e-12, abs=1e-15)
    opt = make_opt(momentum=0.9)
    seq = run(opt, L.CyclicLR(opt, [0.01, 0.02], 0.1, step_size_up=3, mode="triangular2"))
    for e, lrs in enumerate(seq):
        scale = 1 / 2 ** (e // 6)
        assert lrs[1] == pytest.approx(0.02 + 0.08 * triangle(e, 3, 3) * scale, rel=1e-12)
    opt = make_opt(momentum=0.9)
    seq = run(opt, L.CyclicLR(opt, 0.01, 0.1, step_size_up=3, mode="exp_range", gamma=0.9))
    for e, lrs in enumerate(seq):
        assert lrs[0] == pytest.approx(0.01 + 0.09 * triangle(e, 3, 3) * 0.9**e, rel=1e-12)
    # Momentum cycles inversely between base_momentum and max_momentum.
    assert opt.param_groups[0]["momentum"] == pytest.approx(
        0.9 - 0.1 * triangle(EPOCHS, 3, 3) * 0.9**EPOCHS
    )


def test_sequential_lr():
    opt = make_opt()
    sched = L.SequentialLR(
        opt,
        [L.LinearLR(opt, start_factor=0.1, total_iters=3), L.ExponentialLR(opt, gamma=0.8)],
        milestones=[4],
    )
    seq = run(opt, sched, epochs=10)

    def closed(b, e):
        return b * (0.1 + 0.9 * min(e, 3) / 3) if e < 4 else b * 0.8 ** (e - 4)

    assert_sequence(seq, closed)


def test_chained_scheduler():
    opt = make_opt()
    sched = L.ChainedScheduler([L.ConstantLR(opt, 0.5, total_iters=3), L.ExponentialLR(opt, 0.9)])
    seq = run(opt, sched, epochs=8)
    assert_sequence(seq, lambda b, e: b * (0.5 if e < 3 else 1.0) * 0.9**e)


def test_reduce_lr_on_plateau():
    opt = make_opt()
    sched = L.ReduceLROnPlateau(opt, patience=2, factor=0.5, cooldown=1, min_lr=[0.0, 0.02])
    lrs = []
    for metric in [5, 4, 4, 4, 4, 4, 3.9999, 4, 4, 4, 4, 4, 4, 1, 1, 1, 1]:
        opt.step()
        sched.step(metric)
        lrs.append(sched.get_last_lr())
    # best=4 at epoch 2; the 3rd bad epoch after it (index 4) reduces; a cooldown epoch
    # resets the count, so every 4th epoch reduces again. 3.9999 is not a relative
    # improvement of 1e-4 over 4; the 1 at index 13 is, and resets the count.
    firsts = [lr[0] for lr in lrs]
    assert firsts == [0.1] * 4 + [0.05] * 4 + [0.025] * 4 + [0.0125] * 4 + [0.00625]
    # The second group stops at its min_lr.
    assert [lr[1] for lr in lrs][-1] == 0.02
    sd = sched.state_dict()
    assert sd["best"] == 1 and "optimizer" not in sd
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        L.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode avg is unknown!"):
        L.ReduceLROnPlateau(opt, mode="avg")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 1"):
        L.ReduceLROnPlateau(opt, min_lr=[0.1])


def test_reduce_lr_on_plateau_max_abs():
    opt = make_opt(lrs=(1.0,))
    sched = L.ReduceLROnPlateau(opt, mode="max", threshold=0.1, threshold_mode="abs", patience=0)
    out = []
    for metric in [1, 1.05, 1.2, 1.25, 1.4]:
        sched.step(metric)
        out.append(sched.get_last_lr()[0])
    assert out == pytest.approx([1.0, 0.1, 0.1, 0.01, 0.01])


def test_initial_lr_and_base_lrs():
    opt = make_opt()
    sched = L.StepLR(opt, 2)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
    assert sched.base_lrs == [0.1, 0.05] and sched.last_epoch == 0
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups"):
        L.StepLR(make_opt(), 2, last_epoch=3)


def test_state_dict_round_trip_resumes_sequence():
    opt = make_opt()
    sched = L.CosineAnnealingLR(opt, T_max=10)
    run(opt, sched, epochs=4)
    saved = sched.state_dict()
    assert sorted(saved) == sorted(
        [
            "T_max", "eta_min", "base_lrs", "last_epoch", "_step_count", "_is_initial",
            "_get_lr_called_within_step", "_last_lr",
        ]
    )  # fmt: skip
    saved_opt = opt.state_dict()
    rest = run(opt, sched, epochs=4)[1:]

    opt2 = make_opt()
    opt2.load_state_dict(saved_opt)
    sched2 = L.CosineAnnealingLR(opt2, T_max=10)
    sched2.load_state_dict(saved)
    assert run(opt2, sched2, epochs=4)[1:] == rest


def test_lambda_state_dict_saves_callable_objects_only():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, epoch):
            return self.rate**epoch

    opt = make_opt()
    sched = L.LambdaLR(opt, [Decay(0.5), lambda e: 1.0])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.5}, None]
    other = L.LambdaLR(make_opt(), [Decay(0.9), lambda e: 1.0])
    other.load_state_dict(sd)
    assert other.lr_lambdas[0].rate == 0.5


def test_warns_when_scheduler_steps_before_optimizer():
    opt = make_opt()
    sched = L.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before"):
        sched.step()
    opt = make_opt()
    sched = L.StepLR(opt, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()
        sched.step()


def test_get_lr_outside_step_warns():
    opt = make_opt()
    sched = L.ExponentialLR(opt, 0.5)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()


def test_explicit_epoch_uses_closed_form():
    opt = make_opt()
    sched = L.StepLR(opt, step_size=3, gamma=0.5)
    opt.step()
    with pytest.warns(UserWarning, match="The epoch parameter"):
        sched.step(7)
    assert sched.get_last_lr() == pytest.approx([0.1 * 0.25, 0.05 * 0.25])
    assert sched.last_epoch == 7


def test_tensor_lr_is_updated_in_place():
    lr = rtorch.tensor(0.1)
    opt = optim.Adam([rtorch.zeros(2, requires_grad=True)], lr=lr)
    sched = L.ExponentialLR(opt, 0.5)
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] is lr
    assert lr.item() == pytest.approx(0.05)


def test_argument_errors():
    opt = make_opt()
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        L.StepLR([], 2)
    with pytest.raises(ValueError, match="Constant multiplicative factor expected"):
        L.ConstantLR(opt, factor=1.5)
    with pytest.raises(ValueError, match="Starting multiplicative factor expected"):
        L.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="Expected positive integer T_0, but got 0"):
        L.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        L.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="You must define either total_steps OR"):
        L.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        L.OneCycleLR(opt, max_lr=[1.0], total_steps=5)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        L.CyclicLR(make_opt(optim.Adagrad), 0.01, 0.1)
    with pytest.raises(ValueError, match="expects number of schedulers provided to be one more"):
        L.SequentialLR(opt, [L.StepLR(opt, 2), L.StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        L.ChainedScheduler([L.ReduceLROnPlateau(opt)])
    assert L._LRScheduler.__mro__[1] is L.LRScheduler


def test_warns_when_optimizer_step_was_replaced():
    opt = make_opt()
    sched = L.StepLR(opt, 2)
    opt.step = lambda closure=None: None  # e.g. a user's monkeypatch after the scheduler
    opt.step()
    with pytest.warns(UserWarning, match="`optimizer.step\\(\\)` has been overridden"):
        sched.step()


def test_composite_state_dict_round_trip():
    opt = make_opt()
    sched = L.SequentialLR(
        opt, [L.ConstantLR(opt, 0.5, total_iters=2), L.ExponentialLR(opt, 0.9)], milestones=[3]
    )
    run(opt, sched, epochs=2)
    saved = sched.state_dict()
    assert [sorted(s) for s in saved["_schedulers"]][1] == sorted(
        ["gamma", "base_lrs", "last_epoch", "_step_count", "_is_initial",
         "_get_lr_called_within_step", "_last_lr"]
    )  # fmt: skip
    saved_opt = opt.state_dict()
    rest = run(opt, sched, epochs=5)[1:]
    opt2 = make_opt()
    opt2.load_state_dict(saved_opt)
    sched2 = L.SequentialLR(
        opt2, [L.ConstantLR(opt2, 0.5, total_iters=2), L.ExponentialLR(opt2, 0.9)], milestones=[3]
    )
    sched2.load_state_dict(saved)
    assert run(opt2, sched2, epochs=5)[1:] == rest


def test_only_optimizer_steps_after_the_scheduler_count():
    opt = make_opt()
    opt.step()  # before any scheduler exists: does not count, as in PyTorch
    sched = L.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before"):
        sched.step()


def test_step_replaced_before_the_scheduler_is_tracked():
    opt = make_opt()
    calls = []
    opt.step = types.MethodType(lambda self, closure=None: calls.append(self), opt)
    sched = L.StepLR(opt, 2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()
    assert calls == [opt]
