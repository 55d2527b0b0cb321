"""nn dropout family and lookup tables (embedding, embedding_bag, one_hot)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_np_close, to_np
from nn_layers_parity import compare, rtorch_results, torch_results

import rtorch
import rtorch.nn.functional as F
from rtorch import nn
from rtorch.autograd import gradcheck

RNG = np.random.RandomState(3)


def t64(shape, requires_grad=False):
    return rtorch.tensor(RNG.randn(*shape), dtype=rtorch.float64, requires_grad=requires_grad)


# ---------------------------------------------------------------- dropout


def test_dropout_scales_kept_values_and_drops_at_rate_p():
    x = rtorch.ones(200, 500)
    y = to_np(F.dropout(x, 0.3))
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    # 100k Bernoulli(0.3) draws: the rate is within 1% with overwhelming probability.
    assert abs((~kept).mean() - 0.3) < 0.01


def test_dropout_eval_identity_p_edges_and_gradient():
    x = t64((4, 5), True)
    assert F.dropout(x, 0.5, training=False) is x
    assert_np_close(F.dropout(x, 0.0), to_np(x))
    np.testing.assert_array_equal(to_np(F.dropout(x, 1.0)), np.zeros((4, 5)))
    y = F.dropout(x, 0.5)
    y.sum().backward()
    # The gradient is the mask scaled by 1/(1-p): 2 where kept, 0 where dropped.
    np.testing.assert_array_equal(to_np(x.grad), np.where(to_np(y) != 0, 2.0, 0.0))


def test_dropout_inplace_and_errors():
    x = rtorch.ones(10, 10)
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x
    assert set(np.unique(to_np(x))) <= {0.0, 2.0}
    with pytest.raises(
        ValueError, match=r"^dropout probability has to be between 0 and 1, but got 1.5$"
    ):
        F.dropout(rtorch.randn(3), 1.5)
    with pytest.raises(
        ValueError, match="dropout probability has to be between 0 and 1, but got -0.1"
    ):
        nn.Dropout(-0.1)
    with pytest.raises(
        RuntimeError, match=r"dropout1d: Expected 2D or 3D input, but received a 4D input"
    ):
        F.dropout1d(rtorch.randn(3, 4, 5, 6))


def test_channel_dropout_zeroes_whole_channels():
    y = to_np(F.dropout2d(rtorch.ones(8, 50, 3, 3), 0.5))
    per_channel = y.reshape(8, 50, 9)
    assert (per_channel == per_channel[:, :, :1]).all()
    assert set(np.unique(y)) <= {0.0, 2.0}
    y1 = to_np(F.dropout1d(rtorch.ones(20, 4), 0.5))  # unbatched (C, L): one value per channel
    assert (y1 == y1[:, :1]).all()
    y3 = to_np(F.dropout3d(rtorch.ones(2, 30, 2, 2, 2), 0.5)).reshape(2, 30, -1)
    assert (y3 == y3[:, :, :1]).all()


def test_alpha_dropout_keeps_moments():
    x = rtorch.randn(1000, 1000)
    y = F.alpha_dropout(x, 0.2, training=True)
    assert abs(float(y.mean())) < 0.01 and abs(float(y.std()) - 1) < 0.01
    assert F.alpha_dropout(x, 0.2) is x  # training defaults to False
    f = to_np(F.feature_alpha_dropout(rtorch.zeros(4, 30, 5), 0.5, training=True))
    assert (f == f[:, :, :1]).all()


def test_dropout_modules():
    m = nn.Dropout(0.4)
    assert repr(m) == "Dropout(p=0.4, inplace=False)"
    x = rtorch.ones(50, 50)
    assert (to_np(m(x)) == 0).any()
    m.eval()
    assert m(x) is x
    assert repr(nn.Dropout2d(0.2, True)) == "Dropout2d(p=0.2, inplace=True)"
    assert repr(nn.AlphaDropout()) == "AlphaDropout(p=0.5, inplace=False)"
    assert list(nn.Dropout().state_dict()) == []


# ---------------------------------------------------------------- embedding


def test_embedding_lookup_and_gradient_accumulates_repeats():
    w = t64((6, 3), True)
    idx = rtorch.tensor([[1, 2, 1], [5, 0, 2]])
    y = F.embedding(idx, w)
    assert_np_close(y, to_np(w)[to_np(idx)])
    g = t64((2, 3, 3))
    (y * g).sum().backward()
    ref = np.zeros((6, 3))
    np.add.at(ref, to_np(idx).reshape(-1), to_np(g).reshape(-1, 3))
    assert_np_close(w.grad, ref)
    assert F.embedding(rtorch.tensor(3), w).shape == (3,)
    assert F.embedding(rtorch.tensor([1, 2], dtype=rtorch.int32), w).shape == (2, 3)


def test_embedding_padding_idx_gets_no_gradient_but_keeps_its_value():
    w = t64((6, 3), True)
    idx = rtorch.tensor([[1, 2, 1], [5, 0, 2]])
    y = F.embedding(idx, w, padding_idx=1)
    assert_np_close(y, to_np(w)[to_np(idx)])
    y.sum().backward()
    np.testing.assert_array_equal(to_np(w.grad)[1], np.zeros(3))
    np.testing.assert_array_equal(to_np(w.grad)[2], np.full(3, 2.0))


def test_embedding_max_norm_renormalises_looked_up_rows_in_place():
    w = rtorch.tensor(RNG.randn(6, 3) * 3, dtype=rtorch.float64)
    before = to_np(w)
    F.embedding(rtorch.tensor([1, 2, 1]), w, max_norm=1.0)
    after = to_np(w)
    for r in (1, 2):
        n = np.linalg.norm(before[r])
        expected = before[r] * (1.0 / (n + 1e-7)) if n > 1.0 else before[r]
        np.testing.assert_allclose(after[r], expected, rtol=1e-12)
    np.testing.assert_array_equal(after[[0, 3, 4, 5]], before[[0, 3, 4, 5]])


def test_embedding_scale_grad_by_freq():
    w = t64((6, 3), True)
    F.embedding(rtorch.tensor([1, 2, 1, 1]), w, scale_grad_by_freq=True).sum().backward()
    np.testing.assert_allclose(to_np(w.grad)[1], np.ones(3))  # 3 lookups, each scaled by 1/3
    np.testing.assert_allclose(to_np(w.grad)[2], np.ones(3))


def test_embedding_errors():
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(rtorch.tensor([1, 5]), rtorch.randn(3, 2))
    with pytest.raises(
        RuntimeError,
        match="Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int",
    ):
        F.embedding(rtorch.tensor([1.0, 2.0]), rtorch.randn(3, 2))
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(3, 2, padding_idx=5)


def test_embedding_module_init_state_dict_and_from_pretrained():
    m = nn.Embedding(1000, 40, padding_idx=3)
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == [("weight", (1000, 40))]
    w = to_np(m.weight)
    np.testing.assert_array_equal(w[3], np.zeros(40))
    assert abs(w.mean()) < 0.03 and abs(w.std() - 1) < 0.03  # N(0, 1) init
    assert repr(m) == "Embedding(1000, 40, padding_idx=3)"
    assert repr(
        nn.Embedding(10, 3, max_norm=2.0, norm_type=1.0, scale_grad_by_freq=True, sparse=True)
    ) == ("Embedding(10, 3, max_norm=2.0, norm_type=1.0, scale_grad_by_freq=True, sparse=True)")
    assert nn.Embedding(10, 3, padding_idx=-1).padding_idx == 9
    pre = rtorch.tensor([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]])
    e = nn.Embedding.from_pretrained(pre)
    assert not e.weight.requires_grad
    assert_np_close(e(rtorch.tensor([1])), [[4.0, 5.1, 6.3]])
    assert nn.Embedding.from_pretrained(pre, freeze=False).weight.requires_grad


def np_bags(w, idx, offsets, mode, psw=None, padding_idx=None, last=False):
    idx = list(idx)
    starts = list(offsets[:-1]) if last else list(offsets)
    ends = list(offsets[1:]) if last else [*list(offsets[1:]), len(idx)]
    out = []
    for s, e in zip(starts, ends, strict=True):
        rows = [
            w[idx[i]] * (psw[i] if psw is not None else 1.0)
            for i in range(s, e)
            if idx[i] != padding_idx
        ]
        if not rows:
            out.append(np.zeros(w.shape[1]))
        elif mode == "sum":
            out.append(np.sum(rows, axis=0))
        elif mode == "mean":
            out.append(np.mean(rows, axis=0))
        else:
            out.append(np.max(rows, axis=0))
    return np.array(out)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_matches_numpy(mode):
    w = t64((7, 3), True)
    idx = [1, 2, 4, 5, 4, 3, 2, 0]
    offsets = [0, 2, 2, 5]  # bag 1 is empty
    out = F.embedding_bag(rtorch.tensor(idx), w, rtorch.tensor(offsets), mode=mode)
    assert_np_close(out, np_bags(to_np(w), idx, offsets, mode))
    out2 = F.embedding_bag(
        rtorch.tensor(idx), w, rtorch.tensor([0, 2, 3, 5]), mode=mode, padding_idx=4
    )
    assert_np_close(out2, np_bags(to_np(w), idx, [0, 2, 3, 5], mode, padding_idx=4))
    two_d = F.embedding_bag(rtorch.tensor([[1, 2, 4], [5, 4, 3]]), w, mode=mode)
    assert_np_close(two_d, np_bags(to_np(w), [1, 2, 4, 5, 4, 3], [0, 3], mode))
    assert gradcheck(
        lambda a: F.embedding_bag(rtorch.tensor(idx), a, rtorch.tensor(offsets), mode=mode), (w,)
    )


def test_embedding_bag_per_sample_weights_and_last_offset():
    w = t64((7, 3))
    idx = [1, 2, 4, 5, 4, 3, 2, 0]
    psw = t64((8,), True)
    out = F.embedding_bag(
        rtorch.tensor(idx), w, rtorch.tensor([0, 2, 5]), mode="sum", per_sample_weights=psw
    )
    assert_np_close(out, np_bags(to_np(w), idx, [0, 2, 5], "sum", psw=to_np(psw)))
    assert gradcheck(
        lambda p: F.embedding_bag(
            rtorch.tensor(idx), w, rtorch.tensor([0, 2, 5]), mode="sum", per_sample_weights=p
        ),
        (psw,),
    )
    last = F.embedding_bag(
        rtorch.tensor(idx), w, rtorch.tensor([0, 2, 2, 6]), mode="mean", include_last_offset=True
    )
    assert_np_close(last, np_bags(to_np(w), idx, [0, 2, 2, 6], "mean", last=True))


def test_embedding_bag_errors_and_module():
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor but got None"):
        F.embedding_bag(rtorch.tensor([1, 2]), rtorch.randn(3, 2))
    with pytest.raises(RuntimeError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(rtorch.tensor([1, 2]), rtorch.randn(3, 2), rtorch.tensor([1]))
    with pytest.raises(
        NotImplementedError, match="per_sample_weights is only supported for mode='sum'"
    ):
        F.embedding_bag(
            rtorch.tensor([1, 2]),
            rtorch.randn(3, 2),
            rtorch.tensor([0]),
            per_sample_weights=rtorch.ones(2),
        )
    with pytest.raises(ValueError, match="mode has to be one of sum, mean or max"):
        F.embedding_bag(rtorch.tensor([1, 2]), rtorch.randn(3, 2), rtorch.tensor([0]), mode="foo")
    m = nn.EmbeddingBag(10, 3, mode="sum", padding_idx=2)
    assert repr(m) == "EmbeddingBag(10, 3, mode='sum', padding_idx=2)"
    assert list(m.state_dict()) == ["weight"]
    np.testing.assert_array_equal(to_np(m.weight)[2], np.zeros(3))
    assert m(rtorch.tensor([1, 2, 4, 5]), rtorch.tensor([0, 2])).shape == (2, 3)
    assert repr(nn.EmbeddingBag(10, 3)) == "EmbeddingBag(10, 3, mode='mean')"
    frozen = nn.EmbeddingBag.from_pretrained(rtorch.randn(4, 2))
    assert not frozen.weight.requires_grad


def test_one_hot():
    out = F.one_hot(rtorch.tensor([[0, 3], [1, 2]]))
    assert out.dtype == rtorch.int64 and out.shape == (2, 2, 4)
    np.testing.assert_array_equal(to_np(out), np.eye(4, dtype=np.int64)[[[0, 3], [1, 2]]])
    assert F.one_hot(rtorch.tensor([0, 3]), 5).shape == (2, 5)
    with pytest.raises(
        RuntimeError, match="one_hot is only applicable to index tensor of type LongTensor."
    ):
        F.one_hot(rtorch.tensor([1, 2], dtype=rtorch.int32))
    with pytest.raises(RuntimeError, match="Class values must be non-negative."):
        F.one_hot(rtorch.tensor([-1, 2]))
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes."):
        F.one_hot(rtorch.tensor([1, 5]), 3)
    with pytest.raises(
        RuntimeError, match="Can not infer total number of classes from empty tensor."
    ):
        F.one_hot(rtorch.tensor([], dtype=rtorch.int64))
    assert F.one_hot(rtorch.tensor([], dtype=rtorch.int64), 3).shape == (0, 3)


PARITY = r"""
def mk(torch, np, shape, seed, rg=True):
    t = torch.from_numpy(np.random.RandomState(seed).randn(*shape))
    return t.requires_grad_() if rg else t

def emb(idx, **kw):
    def f(torch, F, nn, np):
        w = mk(torch, np, (6, 3), 0)
        y = F.embedding(torch.tensor(idx), w, **kw)
        (y * mk(torch, np, tuple(y.shape), 3, False)).sum().backward()
        return [y, w.grad, w.detach()]
    return f

def bag(idx, offsets=None, psw=False, **kw):
    def f(torch, F, nn, np):
        w = mk(torch, np, (7, 3), 0)
        i = torch.tensor(idx)
        o = torch.tensor(offsets) if offsets is not None else None
        p = mk(torch, np, tuple(i.shape), 5) if psw else None
        y = F.embedding_bag(i, w, o, per_sample_weights=p, **kw)
        (y * mk(torch, np, tuple(y.shape), 3, False)).sum().backward()
        return [y, w.grad] + ([p.grad] if psw else [])
    return f

CASES = {
    "emb_pad": emb([[1, 2, 1], [5, 0, 2]], padding_idx=-1),
    "emb_maxnorm": emb([[1, 2, 1], [5, 0, 2]], max_norm=1.0),
    "emb_freq": emb([[1, 2, 1], [5, 1, 2]], scale_grad_by_freq=True),
    "bag_max": bag([1, 2, 4, 5, 4, 3, 2, 0], [0, 2, 2, 5], mode="max"),
    "bag_last": bag([1, 2, 4, 5, 4, 3, 2, 0], [0, 2, 2, 5, 8], mode="sum", include_last_offset=True),
    "bag_psw": bag([1, 2, 4, 5, 4, 3, 2, 0], [0, 2, 2, 5], mode="sum", psw=True),
    "bag_pad": bag([1, 2, 4, 5, 4, 3, 2, 0], [0, 2, 3, 5], mode="mean", padding_idx=4),
    "bag_2d_max": bag([[1, 2, 4], [4, 4, 3]], mode="max", padding_idx=4),
    "oh": lambda torch, F, nn, np: F.one_hot(torch.tensor([[0, 3], [1, 2]])),
    "dropout_eval": lambda torch, F, nn, np: F.dropout(mk(torch, np, (3, 4), 0, False), 0.5, False),
    "e1": lambda torch, F, nn, np: F.dropout(torch.randn(3), 1.5),
    "e2": lambda torch, F, nn, np: F.embedding(torch.tensor([1.0, 2.0]), torch.randn(3, 2)),
    "e3": lambda torch, F, nn, np: F.one_hot(torch.tensor([1, 5]), 3),
}
"""


def test_parity_with_pytorch():
    theirs = torch_results(PARITY)
    if theirs is None:
        pytest.skip("PyTorch is not installed")
    assert compare(rtorch_results(PARITY), theirs) == []


def test_dropout_mask_is_not_degenerate_across_calls():
    a = to_np(F.dropout(rtorch.ones(1000), 0.5))
    b = to_np(F.dropout(rtorch.ones(1000), 0.5))
    assert (a != b).any()
    assert math.isclose(a.mean(), 1.0, abs_tol=0.15)


def test_dropout_edge_cases_as_pytorch():
    ints = rtorch.ones(3, 2, dtype=rtorch.int64)
    # p = 1 multiplies by a zero of the input's dtype: integers stay integers.
    for drop in (F.dropout, F.alpha_dropout, F.feature_alpha_dropout):
        out = drop(ints, 1.0, True)
        assert out.dtype == rtorch.int64 and out.abs().sum().item() == 0
    # An integer input without elements passes through; with elements its float mask
    # cannot be applied (PyTorch's RuntimeError).
    empty = rtorch.ones(0, 4, 2, dtype=rtorch.int64)
    for drop in (F.dropout, F.alpha_dropout, F.dropout2d):
        assert drop(empty, 0.3, True).dtype == rtorch.int64
    for drop in (F.dropout, F.alpha_dropout):
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
            drop(ints, 0.3, True)
    # Channel dropout needs a channel dimension (after its deprecation warning).
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="at least 2 dimensions"):
        F.dropout2d(rtorch.ones(5), 0.3)
