"""rtorch.nn.utils.prune: masks against numpy selections, the module reparametrization
(``<name>_orig``, ``<name>_mask``, forward pre-hooks, state_dict), remove(), combined and
global pruning, random methods statistically, error paths, and PyTorch parity of the masks
(ties included)."""

from __future__ import annotations

import copy
import importlib
import pickle
import random

import numpy as np
import pytest
from conftest import to_np

import rtorch
from rtorch import nn
from rtorch.nn.utils import prune
from rtorch.nn.utils._topk_selection import topk_indices


def _linear(weight: np.ndarray, dtype=rtorch.float32) -> nn.Linear:
    out_f, in_f = weight.shape
    lin = nn.Linear(in_f, out_f, dtype=dtype)
    with rtorch.no_grad():
        lin.weight.copy_(rtorch.tensor(weight, dtype=dtype))
        lin.bias.zero_()
    return lin


def _distinct(shape, seed=0) -> np.ndarray:
    """Values with distinct absolute values (no ties), so the selection is unique."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    mags = rng.permutation(np.arange(1, n + 1)) / 8.0
    signs = rng.choice([-1.0, 1.0], size=n)
    return (mags * signs).reshape(shape)


def _l1_expected(w: np.ndarray, k: int) -> np.ndarray:
    mask = np.ones(w.size)
    mask[np.argsort(np.abs(w).ravel(), kind="stable")[:k]] = 0
    return mask.reshape(w.shape)


# ---------------------------------------------------------------------- L1 unstructured


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
@pytest.mark.parametrize("amount", [0, 3, 0.5, 0.3, 1.0, 12])
def test_l1_unstructured_mask_against_numpy(dtype, amount):
    w = _distinct((3, 4))
    lin = _linear(w, dtype)
    prune.l1_unstructured(lin, "weight", amount=amount)
    # A float amount is a fraction rounded half to even (round(0.5 * 12) = 6, 0.3 * 12 -> 4).
    k = amount if isinstance(amount, int) else round(amount * 12)
    np.testing.assert_array_equal(to_np(lin.weight_mask), _l1_expected(w, k))
    assert lin.weight_mask.dtype == dtype
    assert lin.weight.dtype == dtype
    np.testing.assert_array_equal(to_np(lin.weight), w * _l1_expected(w, k))


def test_amount_fraction_rounds_half_to_even():
    # 0.5 * 5 = 2.5 -> 2 and 0.5 * 7 = 3.5 -> 4 (Python's round).
    for n, expected in ((5, 2), (7, 4)):
        w = _distinct((1, n))
        lin = _linear(w)
        prune.l1_unstructured(lin, "weight", amount=0.5)
        assert int((to_np(lin.weight_mask) == 0).sum()) == expected


def test_reparametrization_names_hooks_and_state_dict():
    lin = _linear(_distinct((3, 4)))
    orig_param = lin.weight
    prune.l1_unstructured(lin, "weight", amount=2)
    assert [n for n, _ in lin.named_parameters()] == ["bias", "weight_orig"]
    assert [n for n, _ in lin.named_buffers()] == ["weight_mask"]
    assert list(lin.state_dict().keys()) == ["bias", "weight_orig", "weight_mask"]
    assert lin.weight_orig is orig_param
    assert not isinstance(lin.weight, nn.Parameter)
    hooks = list(lin._forward_pre_hooks.values())
    assert len(hooks) == 1 and isinstance(hooks[0], prune.L1Unstructured)
    assert hooks[0]._tensor_name == "weight"
    assert prune.is_pruned(lin)
    assert prune.is_pruned(nn.Sequential(nn.ReLU(), lin))
    assert not prune.is_pruned(nn.Linear(2, 2))


def test_forward_uses_masked_weight_and_follows_orig_changes():
    w = _distinct((3, 4))
    lin = _linear(w, rtorch.float64)
    prune.l1_unstructured(lin, "weight", amount=5)
    mask = _l1_expected(w, 5)
    x = np.random.default_rng(1).standard_normal((2, 4))
    y = lin(rtorch.tensor(x))
    np.testing.assert_allclose(to_np(y), x @ (w * mask).T, rtol=1e-12)
    # The hook recomputes weight from weight_orig before every forward.
    with rtorch.no_grad():
        lin.weight_orig.mul_(2.0)
    y = lin(rtorch.tensor(x))
    np.testing.assert_allclose(to_np(y), x @ (2 * w * mask).T, rtol=1e-12)
    np.testing.assert_allclose(to_np(lin.weight), 2 * w * mask, rtol=1e-12)


def test_gradient_flows_to_orig_through_mask():
    w = _distinct((3, 4))
    lin = _linear(w, rtorch.float64)
    prune.l1_unstructured(lin, "weight", amount=6)
    mask = _l1_expected(w, 6)
    x = np.random.default_rng(2).standard_normal((5, 4))
    lin(rtorch.tensor(x)).sum().backward()
    # d(sum(x @ (w*m).T)) / dw = m * (column sums of x), the same for every row.
    expected = mask * x.sum(axis=0)[None, :]
    np.testing.assert_allclose(to_np(lin.weight_orig.grad), expected, rtol=1e-12)
    assert lin.weight_mask.grad is None


def test_remove_makes_pruning_permanent():
    w = _distinct((3, 4))
    lin = _linear(w)
    prune.l1_unstructured(lin, "weight", amount=4)
    returned = prune.remove(lin, "weight")
    assert returned is lin
    assert [n for n, _ in lin.named_parameters()] == ["bias", "weight"]
    assert isinstance(lin.weight, nn.Parameter)
    assert list(lin.named_buffers()) == []
    # The parameter is registered anew, after bias (as in PyTorch).
    assert list(lin.state_dict().keys()) == ["bias", "weight"]
    assert not lin._forward_pre_hooks
    assert not prune.is_pruned(lin)
    np.testing.assert_array_equal(to_np(lin.weight), w * _l1_expected(w, 4))
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(lin, "weight")


def test_remove_state_dict_keys_order_matches_pytorch(torch_ref):
    torch = torch_ref
    w = _distinct((3, 4))
    ours = _linear(w)
    ref = torch.nn.Linear(4, 3)
    tp = _torch_prune()
    prune.l1_unstructured(ours, "weight", amount=4)
    tp.l1_unstructured(ref, "weight", amount=4)
    prune.remove(ours, "weight")
    tp.remove(ref, "weight")
    assert list(ours.state_dict().keys()) == list(ref.state_dict().keys())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]


def test_iterative_pruning_builds_a_container_acting_on_kept_entries():
    w = _distinct((4, 5))
    lin = _linear(w)
    prune.l1_unstructured(lin, "weight", amount=6)
    prune.l1_unstructured(lin, "weight", amount=0.5)
    hooks = list(lin._forward_pre_hooks.values())
    assert len(hooks) == 1 and isinstance(hooks[0], prune.PruningContainer)
    assert len(hooks[0]) == 2
    assert [type(m) for m in hooks[0]] == [prune.L1Unstructured, prune.L1Unstructured]
    # The second pass prunes half (round(0.5 * 14) = 7) of the 14 remaining entries.
    np.testing.assert_array_equal(to_np(lin.weight_mask), _l1_expected(w, 13))
    # A third method joins the same container.
    prune.ln_structured(lin, "weight", amount=1, n=1, dim=0)
    assert len(next(iter(lin._forward_pre_hooks.values()))) == 3
    prune.remove(lin, "weight")
    assert not lin._forward_pre_hooks


def test_importance_scores_decide_instead_of_values():
    w = _distinct((2, 3))
    scores = np.array([[6.0, 5.0, 4.0], [3.0, 2.0, 1.0]])
    lin = _linear(w)
    prune.l1_unstructured(lin, "weight", amount=2, importance_scores=rtorch.tensor(scores))
    np.testing.assert_array_equal(to_np(lin.weight_mask), [[1, 1, 1], [1, 0, 0]])
    np.testing.assert_array_equal(to_np(lin.weight), w * np.array([[1, 1, 1], [1, 0, 0]]))


def test_prune_method_on_a_bare_tensor():
    t = rtorch.tensor([1.0, -3.0, 2.0, 0.5])
    out = prune.L1Unstructured(0.5).prune(t)
    np.testing.assert_array_equal(to_np(out), [0.0, -3.0, 2.0, 0.0])
    out = prune.L1Unstructured(1).prune(t, default_mask=rtorch.tensor([1.0, 1.0, 0.0, 1.0]))
    # The default mask is kept and one more entry (the smallest) goes.
    np.testing.assert_array_equal(to_np(out), [1.0, -3.0, 0.0, 0.0])


def test_empty_parameter_and_zero_amount():
    lin = nn.Linear(0, 3)
    prune.l1_unstructured(lin, "weight", amount=0.5)
    assert tuple(lin.weight_mask.shape) == (3, 0)
    lin = _linear(_distinct((2, 2)))
    prune.l1_unstructured(lin, "weight", amount=0.0)
    np.testing.assert_array_equal(to_np(lin.weight_mask), np.ones((2, 2)))


# ---------------------------------------------------------------------- structured


def _ln_expected(w: np.ndarray, amount: int, n, dim: int) -> np.ndarray:
    axes = tuple(d for d in range(w.ndim) if d != dim % w.ndim)
    a = np.abs(w)
    if n == np.inf:
        norms = a.max(axis=axes)
    elif n == -np.inf:
        norms = a.min(axis=axes)
    else:
        norms = (a**n).sum(axis=axes) ** (1.0 / n)
    keep = np.argsort(-norms, kind="stable")[: w.shape[dim] - amount]
    mask = np.zeros_like(w)
    idx = [slice(None)] * w.ndim
    idx[dim] = keep
    mask[tuple(idx)] = 1
    return mask


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("n", [1, 2, 3, np.inf, -np.inf])
def test_ln_structured_against_numpy(dim, n):
    conv = nn.Conv2d(3, 4, (3, 5), dtype=rtorch.float64)
    w = _distinct((4, 3, 3, 5), seed=3)
    with rtorch.no_grad():
        conv.weight.copy_(rtorch.tensor(w))
    prune.ln_structured(conv, "weight", amount=1, n=float(n) if np.isinf(n) else n, dim=dim)
    np.testing.assert_array_equal(to_np(conv.weight_mask), _ln_expected(w, 1, n, dim))


def test_ln_structured_fraction_and_zero():
    w = _distinct((6, 4), seed=4)
    lin = _linear(w)
    prune.ln_structured(lin, "weight", amount=0.5, n=2, dim=0)
    np.testing.assert_array_equal(to_np(lin.weight_mask), _ln_expected(w, 3, 2, 0))
    lin = _linear(w)
    prune.ln_structured(lin, "weight", amount=0, n=2, dim=0)
    np.testing.assert_array_equal(to_np(lin.weight_mask), np.ones((6, 4)))


def test_structured_after_unstructured_only_sees_live_channels():
    w = _distinct((4, 3), seed=5)
    lin = _linear(w)
    # Prune the whole first row by hand, then ask for one more row by L2 norm.
    row0 = np.ones((4, 3))
    row0[0] = 0
    prune.custom_from_mask(lin, "weight", rtorch.tensor(row0))
    prune.ln_structured(lin, "weight", amount=1, n=2, dim=0)
    norms = np.sqrt((w**2).sum(axis=1))
    live = [1, 2, 3]
    dropped = live[int(np.argmin(norms[live]))]
    expected = row0.copy()
    expected[dropped] = 0
    np.testing.assert_array_equal(to_np(lin.weight_mask), expected)


def test_random_structured_prunes_whole_channels():
    rtorch.manual_seed(0)
    w = _distinct((5, 4), seed=6)
    lin = _linear(w)
    prune.random_structured(lin, "weight", amount=2, dim=0)
    m = to_np(lin.weight_mask)
    row_state = m.min(axis=1)
    assert np.array_equal(m.max(axis=1), row_state)  # rows all zero or all one
    assert int((row_state == 0).sum()) == 2
    lin = _linear(w)
    prune.random_structured(lin, "weight", amount=1, dim=1)
    m = to_np(lin.weight_mask)
    assert np.array_equal(m.max(axis=0), m.min(axis=0))
    assert int((m.min(axis=0) == 0).sum()) == 1


# ---------------------------------------------------------------------- random: statistics


def test_random_unstructured_counts_and_uniformity():
    rtorch.manual_seed(1234)
    n, k, trials = 10, 3, 600
    counts = np.zeros(n)
    for _ in range(trials):
        lin = nn.Linear(n, 1)
        prune.random_unstructured(lin, "weight", amount=k)
        m = to_np(lin.weight_mask).ravel()
        assert int((m == 0).sum()) == k
        counts += m == 0
    # Each entry is pruned with probability k/n; 5 standard deviations of a binomial.
    p = k / n
    sd = np.sqrt(trials * p * (1 - p))
    assert np.all(np.abs(counts - trials * p) < 5 * sd), counts


def test_random_structured_channel_uniformity():
    rtorch.manual_seed(99)
    channels, k, trials = 6, 2, 600
    counts = np.zeros(channels)
    for _ in range(trials):
        lin = nn.Linear(3, channels)
        prune.random_structured(lin, "weight", amount=k, dim=0)
        counts += to_np(lin.weight_mask).max(axis=1) == 0
    p = k / channels
    sd = np.sqrt(trials * p * (1 - p))
    assert counts.sum() == k * trials
    assert np.all(np.abs(counts - trials * p) < 5 * sd), counts


# ---------------------------------------------------------------------- global, custom


def test_global_unstructured_across_modules():
    w1 = _distinct((3, 4), seed=7)
    w2 = _distinct((2, 1, 2, 2), seed=8) * 1.03  # distinct from w1's magnitudes
    lin = _linear(w1)
    conv = nn.Conv2d(1, 2, 2)
    with rtorch.no_grad():
        conv.weight.copy_(rtorch.tensor(w2, dtype=rtorch.float32))
    params = [(lin, "weight"), (conv, "weight")]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=9)
    flat = np.concatenate([w1.ravel(), w2.ravel()]).astype(np.float32)
    mask = _l1_expected(flat, 9)
    np.testing.assert_array_equal(to_np(lin.weight_mask), mask[:12].reshape(3, 4))
    np.testing.assert_array_equal(to_np(conv.weight_mask), mask[12:].reshape(w2.shape))
    assert isinstance(next(iter(lin._forward_pre_hooks.values())), prune.CustomFromMask)
    # A second global pass prunes among the surviving entries only.
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=3)
    mask2 = _l1_expected(flat, 12)
    np.testing.assert_array_equal(to_np(lin.weight_mask), mask2[:12].reshape(3, 4))
    np.testing.assert_array_equal(to_np(conv.weight_mask), mask2[12:].reshape(w2.shape))


def test_global_unstructured_with_importance_scores():
    a, b = _linear(_distinct((2, 2), 9)), _linear(_distinct((2, 2), 10))
    scores = {
        (a, "weight"): rtorch.tensor([[1.0, 2.0], [3.0, 4.0]]),
        (b, "weight"): rtorch.tensor([[0.5, 5.0], [6.0, 7.0]]),
    }
    prune.global_unstructured(
        [(a, "weight"), (b, "weight")], prune.L1Unstructured, importance_scores=scores, amount=2
    )
    np.testing.assert_array_equal(to_np(a.weight_mask), [[0, 1], [1, 1]])
    np.testing.assert_array_equal(to_np(b.weight_mask), [[0, 1], [1, 1]])


def test_custom_from_mask_and_identity():
    w = _distinct((2, 3), seed=11)
    lin = _linear(w)
    mask = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    prune.custom_from_mask(lin, "weight", rtorch.tensor(mask))
    np.testing.assert_array_equal(to_np(lin.weight), w.astype(np.float32) * mask)
    # A further custom mask multiplies into the existing one.
    prune.custom_from_mask(lin, "weight", rtorch.tensor([[0.0, 1.0, 1.0]] * 2))
    np.testing.assert_array_equal(to_np(lin.weight_mask), mask * [[0.0, 1.0, 1.0]])
    lin2 = _linear(w)
    assert prune.identity(lin2, "bias") is lin2
    np.testing.assert_array_equal(to_np(lin2.bias_mask), np.ones(2))
    assert [n for n, _ in lin2.named_parameters()] == ["weight", "bias_orig"]


def test_deepcopy_and_pickle_keep_the_pruning():
    w = _distinct((3, 3), seed=12)
    lin = _linear(w)
    prune.l1_unstructured(lin, "weight", amount=4)
    # As in PyTorch: the computed weight is a non-leaf tensor, which deepcopy refuses …
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(lin)
    x = rtorch.randn(2, 3)
    clones = [pickle.loads(pickle.dumps(lin))]
    # … until a forward under no_grad recomputes it without history.
    with rtorch.no_grad():
        lin(x)
    clones.append(copy.deepcopy(lin))
    for clone in clones:
        np.testing.assert_array_equal(to_np(clone(x)), to_np(lin(x)))
        assert prune.is_pruned(clone)
        prune.remove(clone, "weight")
        assert isinstance(clone.weight, nn.Parameter)
    assert prune.is_pruned(lin)


def test_load_state_dict_into_pruned_module():
    w = _distinct((3, 3), seed=13)
    src = _linear(w)
    prune.l1_unstructured(src, "weight", amount=4)
    dst = nn.Linear(3, 3)
    prune.identity(dst, "weight")
    dst.load_state_dict(src.state_dict())
    np.testing.assert_array_equal(to_np(dst.weight_mask), to_np(src.weight_mask))
    x = rtorch.randn(2, 3)
    np.testing.assert_array_equal(to_np(dst(x)), to_np(src(x)))


# ---------------------------------------------------------------------- errors


def test_amount_validation():
    for bad in (-1, 1.5, -0.1):
        with pytest.raises(ValueError, match="should either be a float in the range"):
            prune.L1Unstructured(bad)
    with pytest.raises(TypeError, match="Invalid type for amount: a. Must be int or float."):
        prune.RandomUnstructured("a")
    with pytest.raises(ValueError, match="amount=7 should be smaller than the number"):
        prune.l1_unstructured(nn.Linear(3, 2), "weight", amount=7)
    with pytest.raises(ValueError, match="amount=3 should be smaller"):
        prune.ln_structured(nn.Linear(3, 2), "weight", amount=3, n=2, dim=0)


def test_failed_pruning_leaves_the_module_unchanged():
    lin = nn.Linear(3, 2)
    w = lin.weight
    with pytest.raises(ValueError, match="Structured pruning can only be applied"):
        prune.ln_structured(lin, "bias", amount=1, n=2, dim=0)
    with pytest.raises(IndexError, match=r"Invalid index 2 for tensor of size"):
        prune.ln_structured(lin, "weight", amount=1, n=2, dim=2)
    with pytest.raises(AssertionError, match="importance_scores should have the same shape"):
        prune.l1_unstructured(lin, "weight", amount=1, importance_scores=rtorch.ones(3))
    # The parameter that failed is registered anew, so it comes last (as in PyTorch).
    assert [n for n, _ in lin.named_parameters()] == ["bias", "weight"]
    assert lin.weight is w
    assert not lin._forward_pre_hooks


def test_global_and_container_errors():
    lin = nn.Linear(3, 2)
    with pytest.raises(TypeError, match='Only "unstructured" PRUNING_TYPE supported'):
        prune.global_unstructured([(lin, "weight")], prune.RandomStructured, amount=1)
    with pytest.raises(TypeError, match="parameters is not an Iterable"):
        prune.global_unstructured(3, prune.L1Unstructured, amount=1)
    with pytest.raises(TypeError, match="importance_scores must be of type dict"):
        prune.global_unstructured(
            [(lin, "weight")], prune.L1Unstructured, importance_scores=[1], amount=1
        )
    m = prune.L1Unstructured(1)
    m._tensor_name = "weight"
    c = prune.PruningContainer(m)
    with pytest.raises(TypeError, match="is not a BasePruningMethod subclass"):
        c.add_pruning_method(3)
    other = prune.L1Unstructured(1)
    other._tensor_name = "bias"
    with pytest.raises(ValueError, match="Can only add pruning methods acting on the parameter"):
        c.add_pruning_method(other)
    with pytest.raises(AttributeError, match="_tensor_name"):
        prune.L1Unstructured(0.5).remove(lin)


# ---------------------------------------------------------------------- ties and parity


def test_ties_keep_the_entries_pytorch_keeps():
    # PyTorch's CPU topk on ten ones keeps/drops these indices (recorded from its
    # libstdc++ selection; also checked against torch below).
    lin = nn.Linear(10, 1)
    with rtorch.no_grad():
        lin.weight.fill_(1.0)
    prune.l1_unstructured(lin, "weight", amount=4)
    dropped = sorted(np.flatnonzero(to_np(lin.weight_mask).ravel() == 0).tolist())
    assert dropped == topk_indices([1.0] * 10, 4, largest=False)
    assert len(dropped) == 4


def test_topk_selection_matches_pytorch_topk(torch_ref):
    torch = torch_ref
    rng = random.Random(0)
    for _ in range(400):
        n = rng.choice([1, 2, 3, 4, 7, 16, 17, 40, 129, 700, 3000])
        hi = rng.choice([1, 2, 5, 40])
        vals = [float(rng.randint(0, hi)) for _ in range(n)]
        if rng.random() < 0.2:
            for i in rng.sample(range(n), max(1, n // 10)):
                vals[i] = float("nan")
        k = rng.randint(0, n)
        for largest in (False, True):
            for dtype in (torch.float32, torch.float64):
                ref = torch.topk(torch.tensor(vals, dtype=dtype), k=k, largest=largest)
                assert topk_indices(vals, k, largest) == sorted(ref.indices.tolist())


def _torch_prune():
    """PyTorch's prune module (``import torch`` does not load it)."""
    return importlib.import_module("torch.nn.utils.prune")


def _both(torch, w):
    ours = nn.Linear(w.shape[1], w.shape[0])
    ref = torch.nn.Linear(w.shape[1], w.shape[0])
    with rtorch.no_grad():
        ours.weight.copy_(rtorch.tensor(w, dtype=rtorch.float32))
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(w, dtype=torch.float32))
    return ours, ref


@pytest.mark.parametrize(
    "weights",
    [
        np.ones((4, 6)),
        np.round(np.random.default_rng(0).standard_normal((8, 9)), 1),
        np.random.default_rng(1).integers(-2, 3, (16, 20)).astype(float),
        np.random.default_rng(2).standard_normal((5, 7)),
    ],
)
def test_masks_match_pytorch(torch_ref, weights):
    torch = torch_ref
    tp = _torch_prune()
    steps = [
        ("l1_unstructured", {"amount": 0.3}),
        ("ln_structured", {"amount": 1, "n": 2, "dim": 0}),
        ("l1_unstructured", {"amount": 5}),
        ("ln_structured", {"amount": 0.4, "n": 1, "dim": 1}),
        ("ln_structured", {"amount": 1, "n": float("inf"), "dim": -1}),
    ]
    ours, ref = _both(torch, weights)
    for name, kw in steps:
        getattr(prune, name)(ours, "weight", **kw)
        getattr(tp, name)(ref, "weight", **kw)
        np.testing.assert_array_equal(to_np(ours.weight_mask), ref.weight_mask.numpy())
        np.testing.assert_array_equal(to_np(ours.weight), ref.weight.detach().numpy())


def test_global_masks_match_pytorch(torch_ref):
    torch = torch_ref
    rng = np.random.default_rng(5)
    ws = [np.ones((3, 4)), rng.integers(-1, 2, (5, 4)).astype(float), np.full((2, 4), 0.5)]
    pairs = [_both(torch, w) for w in ws]
    tp = _torch_prune()
    for amount in (0.25, 6):
        prune.global_unstructured(
            [(o, "weight") for o, _ in pairs], prune.L1Unstructured, amount=amount
        )
        tp.global_unstructured([(r, "weight") for _, r in pairs], tp.L1Unstructured, amount=amount)
        for o, r in pairs:
            np.testing.assert_array_equal(to_np(o.weight_mask), r.weight_mask.numpy())


@pytest.mark.parametrize(
    ("vals", "amount"),
    [
        ([1.0, float("nan"), 1.0, 0.0, float("nan"), 2.0], 3),
        ([float("nan")] * 5, 2),
        ([0.0, 0.0, float("nan"), 1.0], 2),
    ],
)
def test_nan_weights_match_pytorch(torch_ref, vals, amount):
    # topk counts NaN as the largest value: NaN entries are the last to be pruned.
    torch = torch_ref
    tp = _torch_prune()
    ours, ref = _both(torch, np.array([vals]))
    prune.l1_unstructured(ours, "weight", amount=amount)
    tp.l1_unstructured(ref, "weight", amount=amount)
    np.testing.assert_array_equal(to_np(ours.weight_mask), ref.weight_mask.numpy())
    ours, ref = _both(torch, np.array([vals, vals]).T)
    prune.ln_structured(ours, "weight", amount=amount, n=2, dim=0)
    tp.ln_structured(ref, "weight", amount=amount, n=2, dim=0)
    np.testing.assert_array_equal(to_np(ours.weight_mask), ref.weight_mask.numpy())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_ties_match_pytorch(torch_ref, dtype):
    torch = torch_ref
    tp = _torch_prune()
    ours = nn.Linear(6, 2).to(getattr(rtorch, dtype))
    ref = torch.nn.Linear(6, 2).to(getattr(torch, dtype))
    with rtorch.no_grad():
        ours.weight.fill_(1.0)
    with torch.no_grad():
        ref.weight.fill_(1.0)
    prune.l1_unstructured(ours, "weight", amount=5)
    tp.l1_unstructured(ref, "weight", amount=5)
    assert ours.weight_mask.dtype == getattr(rtorch, dtype)
    assert ours.weight_mask.tolist() == ref.weight_mask.tolist()
