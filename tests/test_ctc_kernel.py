"""F.ctc_loss's kernel (rust cpu/ctc.rs, ops/ctc.rs): losses and PyTorch's gradient of
log_probs against a numpy float64 alpha-beta reference, on batches above one task,
unequal and zero lengths, repeated labels, blank first and last, float32 and float64,
impossible targets with and without zero_infinity, and the errors of bad lengths and
labels."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_np_close, to_np

import rtorch
import rtorch.nn.functional as F

RNG = np.random.default_rng(17)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def _lse(*terms: np.ndarray) -> np.ndarray:
    return np.logaddexp.reduce(np.stack(terms), axis=0)


def _shift(a: np.ndarray, k: int) -> np.ndarray:
    """`a` moved k places right (left for negative k), -inf shifted in."""
    pad = np.full(abs(k), -np.inf)
    return np.concatenate([pad, a])[: len(a)] if k > 0 else np.concatenate([a, pad])[-k:]


def ref_ctc(lp: np.ndarray, target: list[int], steps: int, blank: int):
    """One element's loss and PyTorch's gradient of its (T, C) log-probabilities:
    (e^lp - e^(lcab + nll - lp)), zero from `steps` on."""
    ext = [blank]
    for label in target:
        ext += [label, blank]
    w, classes = len(ext), lp.shape[1]
    grad = np.zeros_like(lp)
    if steps == 0:
        return (0.0 if not target else np.inf), grad
    e = lp[:steps, ext]  # (steps, w)
    skip = np.array([s >= 2 and ext[s] != blank and ext[s] != ext[s - 2] for s in range(w)])
    neg = np.full(w, -np.inf)
    alpha = np.full((steps, w), -np.inf)
    alpha[0, : min(2, w)] = e[0, : min(2, w)]
    for t in range(1, steps):
        a = alpha[t - 1]
        one, two = _shift(a, 1), np.where(skip, _shift(a, 2), neg)
        alpha[t] = _lse(a, one, two) + e[t]
    beta = np.full((steps, w), -np.inf)
    beta[-1, max(0, w - 2) :] = e[-1, max(0, w - 2) :]
    skip_next = np.concatenate([skip[2:], [False, False]])[:w]
    for t in range(steps - 2, -1, -1):
        b = beta[t + 1]
        one, two = _shift(b, -1), np.where(skip_next, _shift(b, -2), neg)
        beta[t] = _lse(b, one, two) + e[t]
    ends = [alpha[-1, -1]] + ([alpha[-1, -2]] if w > 1 else [])
    nll = -np.logaddexp.reduce(ends)
    for t in range(steps):
        lcab = np.full(classes, -np.inf)
        for s in range(w):
            lcab[ext[s]] = np.logaddexp(lcab[ext[s]], alpha[t, s] + beta[t, s])
        grad[t] = np.exp(lp[t]) - np.exp(lcab + nll - lp[t])
    return nll, grad


def _problem(steps, batch, classes, max_target, blank=0):
    lp = _log_softmax(RNG.standard_normal((steps, batch, classes)) * 2)
    labels = [c for c in range(classes) if c != blank]
    tgt_lens = RNG.integers(0, max_target + 1, batch)
    in_lens = np.maximum(RNG.integers(steps // 2, steps + 1, batch), 2 * tgt_lens + 1)
    in_lens = np.minimum(in_lens, steps)
    targets = [list(RNG.choice(labels, n)) for n in tgt_lens]
    if batch > 1 and max_target >= 2:
        targets[0] = [labels[0]] * len(targets[0])  # repeats need a blank between
    padded = np.zeros((batch, max_target), dtype=np.int64)
    for i, tg in enumerate(targets):
        padded[i, : len(tg)] = tg
    return lp, targets, padded, in_lens.tolist(), [len(t) for t in targets]


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
@pytest.mark.parametrize(
    "steps,batch,classes,max_target,blank",
    [(30, 20, 6, 8, 0), (9, 3, 4, 3, 3), (50, 2, 40, 12, 7)],
)
def test_losses_and_gradient_against_alpha_beta(steps, batch, classes, max_target, blank, dtype):
    lp, targets, padded, in_lens, tgt_lens = _problem(steps, batch, classes, max_target, blank)
    x = rtorch.tensor(lp, dtype=dtype, requires_grad=True)
    lp = to_np(x)
    refs = [ref_ctc(lp[:, n], targets[n], in_lens[n], blank) for n in range(batch)]
    loss = F.ctc_loss(x, rtorch.tensor(padded), in_lens, tgt_lens, blank=blank, reduction="none")
    assert loss.dtype == dtype
    assert_np_close(loss, [r[0] for r in refs])
    g = RNG.standard_normal(batch)
    loss.backward(rtorch.tensor(g, dtype=dtype))
    want = np.stack([r[1] * gn for r, gn in zip(refs, g)], axis=1)
    assert x.grad.dtype == dtype and x.grad.shape == x.shape
    assert_np_close(x.grad, want)


def test_zero_lengths_and_impossible_targets():
    lp = _log_softmax(RNG.standard_normal((6, 4, 3)))
    # An empty input explains only an empty target; "1 1 1" needs 5 frames, has 4.
    padded = rtorch.tensor([[0, 0, 0], [1, 0, 0], [1, 1, 1], [2, 1, 0]])
    in_lens, tgt_lens = [0, 0, 4, 6], [0, 1, 3, 2]
    want_last = ref_ctc(lp[:, 3], [2, 1], 6, 0)
    for zero_infinity in (False, True):
        x = rtorch.tensor(lp, requires_grad=True)
        loss = F.ctc_loss(
            x, padded, in_lens, tgt_lens, reduction="none", zero_infinity=zero_infinity
        )
        inf = 0.0 if zero_infinity else np.inf
        assert_np_close(loss, [0.0, inf, inf, want_last[0]])
    # Zeroed infinite losses give zero gradients; no frames give none either.
    loss.sum().backward()
    assert np.all(to_np(x.grad[:, :3]) == 0)
    assert_np_close(x.grad[:, 3], want_last[1])


def test_bad_lengths_and_labels():
    lp = rtorch.zeros(5, 2, 3).log_softmax(2)
    targets = rtorch.tensor([[1, 2], [1, 1]])
    with pytest.raises(RuntimeError, match="input_lengths to have value at most 5"):
        F.ctc_loss(lp, targets, [6, 5], [2, 2])
    with pytest.raises(RuntimeError, match="target_lengths to have value at most 2 and at least 0"):
        rtorch._C._ctc_loss(lp, targets, [5, 5], [-1, 2], 0, False)
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        F.ctc_loss(lp, rtorch.tensor([[1, 3], [1, 1]]), [5, 5], [2, 2])
    with pytest.raises(IndexError, match="target -1 is out of bounds"):
        F.ctc_loss(lp, rtorch.tensor([[1, -1], [1, 1]]), [5, 5], [2, 2])
    # Padding past a target's length is never read.
    F.ctc_loss(lp, rtorch.tensor([[1, 99], [1, 1]]), [5, 5], [1, 2])
    with pytest.raises(RuntimeError, match="blank must be in label range"):
        F.ctc_loss(lp, targets, [5, 5], [2, 2], blank=3)
    with pytest.raises(NotImplementedError, match="\"ctc_loss_cpu\" not implemented for 'Long'"):
        rtorch._C._ctc_loss(
            rtorch.zeros(5, 2, 3, dtype=rtorch.int64), targets, [5, 5], [2, 2], 0, False
        )
