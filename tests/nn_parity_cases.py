"""Programs run twice, on rtorch and on real PyTorch, for the nn parity tests.

Each ``*_cases(torch)`` function takes the library as an argument and returns
``{name: [output, input_gradient]}`` as nested lists, computed in float64 from fixed numpy
data. The tests call them with rtorch in-process and, through ``run_in_torch``, with
PyTorch in a separate interpreter (PyTorch and rtorch never share a process). Nothing here
imports rtorch, so the file also runs under an interpreter that only has torch and numpy.

Run as ``python nn_parity_cases.py`` it prints every family's results as JSON.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np


def _run(torch, cases: dict) -> dict:
    """Output and gradient of sum(output * ramp) with respect to the case's input."""
    results = {}
    for name, (fn, data) in cases.items():
        x = torch.tensor(np.asarray(data), dtype=torch.float64, requires_grad=True)
        y = fn(x)
        ramp = np.linspace(-1.0, 1.0, max(y.numel(), 1)).reshape(tuple(y.shape))
        (grad,) = torch.autograd.grad((y * torch.tensor(ramp, dtype=torch.float64)).sum(), x)
        results[name] = [y.detach().numpy().tolist(), grad.numpy().tolist()]
    return results


def activation_cases(torch) -> dict:
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    base = rng.standard_normal((4, 6)) * 3
    base[0] = [-3.0, 3.0, 0.0, 0.5, -0.5, 6.0]  # kinks of hardsigmoid/relu/shrinks/relu6
    f64 = torch.float64
    slopes = torch.tensor([0.1, -0.2, 0.3, 0.4, 0.5, 0.6], dtype=f64)
    cases = {
        "relu": F.relu,
        "relu6": F.relu6,
        "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
        "elu": lambda x: F.elu(x, 1.5),
        "selu": F.selu,
        "celu": lambda x: F.celu(x, 0.7),
        "gelu": F.gelu,
        "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
        "silu": F.silu,
        "mish": F.mish,
        "sigmoid": F.sigmoid,
        "tanh": F.tanh,
        "hardtanh": lambda x: F.hardtanh(x, -2.0, 3.0),
        "hardsigmoid": F.hardsigmoid,
        "hardswish": F.hardswish,
        "softplus": lambda x: F.softplus(x, 2.0, 3.0),
        "softsign": F.softsign,
        "softmax": lambda x: F.softmax(x, 1),
        "softmin": lambda x: F.softmin(x, 0),
        "log_softmax": lambda x: F.log_softmax(x, -1),
        "threshold": lambda x: F.threshold(x, 0.5, -4.0),
        "logsigmoid": F.logsigmoid,
        "glu": lambda x: F.glu(x, 1),
        "glu0": lambda x: F.glu(x, 0),
        "tanhshrink": F.tanhshrink,
        "softshrink": lambda x: F.softshrink(x, 0.5),
        "hardshrink": lambda x: F.hardshrink(x, 0.5),
        "prelu": lambda x: F.prelu(x, slopes),
        "prelu_shared": lambda x: F.prelu(x, torch.tensor([0.25], dtype=f64)),
        "rrelu_eval": F.rrelu,
    }
    return _run(torch, {name: (fn, base) for name, fn in cases.items()})


def loss_cases(torch) -> dict:
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    f64 = torch.float64

    def T(a, dtype=None):
        return torch.tensor(np.asarray(a), dtype=dtype)

    X = rng.standard_normal((6, 5)) * 2
    Y = rng.standard_normal((6, 5))
    P = rng.uniform(0.02, 0.98, (6, 5))
    Q = rng.uniform(0, 1, (6, 5))
    Q[0, 0], Q[1, 1] = 0.0, 1.0
    cls = np.array([0, 4, 2, 1, 3, 2])
    cls_ign = np.array([0, -100, 2, 1, -100, 2])
    X3 = rng.standard_normal((2, 5, 3, 2))
    cls3 = rng.integers(0, 5, (2, 3, 2))
    W = np.array([0.5, 1.0, 2.0, 0.3, 1.2])
    soft = rng.uniform(0, 1, (6, 5))
    soft /= soft.sum(1, keepdims=True)
    sign = np.array([1, -1, 1, -1, 1, 1.0])
    lp = rng.standard_normal((7, 3, 4))
    padded = np.array([[1, 2, 2], [3, 1, 0], [1, 1, 1]])
    cases = {}
    for r in ("none", "sum", "mean"):
        y, q, w = T(Y, f64), T(Q, f64), T(W, f64)
        cases |= {
            f"mse_{r}": (lambda x, r=r, y=y: F.mse_loss(x, y, reduction=r), X),
            f"l1_{r}": (lambda x, r=r, y=y: F.l1_loss(x, y, reduction=r), X),
            f"smooth_l1_{r}": (
                lambda x, r=r, y=y: F.smooth_l1_loss(x, y, reduction=r, beta=0.7),
                X,
            ),
            f"huber_{r}": (lambda x, r=r, y=y: F.huber_loss(x, y, reduction=r, delta=1.3), X),
            f"ce_{r}": (lambda x, r=r: F.cross_entropy(x, T(cls), reduction=r), X),
            f"ce_weight_ignore_smooth_{r}": (
                lambda x, r=r, w=w: F.cross_entropy(
                    x, T(cls_ign), weight=w, reduction=r, label_smoothing=0.2
                ),
                X,
            ),
            f"ce_ignore_in_range_{r}": (
                lambda x, r=r: F.cross_entropy(x, T(cls), ignore_index=2, reduction=r),
                X,
            ),
            f"ce_kdim_{r}": (
                lambda x, r=r, w=w: F.cross_entropy(
                    x, T(cls3), weight=w, reduction=r, ignore_index=1, label_smoothing=0.3
                ),
                X3,
            ),
            f"ce_probs_{r}": (
                lambda x, r=r, w=w: F.cross_entropy(
                    x, T(soft, f64), weight=w, reduction=r, label_smoothing=0.2
                ),
                X,
            ),
            f"ce_unbatched_{r}": (lambda x, r=r: F.cross_entropy(x[0], T(cls)[1], reduction=r), X),
            f"nll_{r}": (lambda x, r=r, w=w: F.nll_loss(x, T(cls_ign), weight=w, reduction=r), X),
            f"bce_{r}": (
                lambda x, r=r, q=q, w=w: F.binary_cross_entropy(x, q, weight=w, reduction=r),
                P,
            ),
            f"bce_logits_{r}": (
                lambda x, r=r, q=q, w=w: F.binary_cross_entropy_with_logits(
                    x, q, weight=w, pos_weight=w.flip(0), reduction=r
                ),
                X,
            ),
            f"kl_{r}": (lambda x, r=r, q=q: F.kl_div(x, q, reduction=r), X),
            f"kl_log_target_{r}": (
                lambda x, r=r, y=y: F.kl_div(x, y, reduction=r, log_target=True),
                X,
            ),
            f"poisson_full_{r}": (
                lambda x, r=r, q=q: F.poisson_nll_loss(x, q * 3, reduction=r, full=True),
                X,
            ),
            f"poisson_rate_{r}": (
                lambda x, r=r, q=q: F.poisson_nll_loss(x, q * 3, log_input=False, reduction=r),
                P,
            ),
            f"gaussian_{r}": (
                lambda x, r=r, y=y: F.gaussian_nll_loss(
                    x, y, T(P[:, :1], f64), full=True, reduction=r
                ),
                X,
            ),
            f"margin_ranking_{r}": (
                lambda x, r=r: F.margin_ranking_loss(
                    x[:, 0], x[:, 1], T(sign, f64), margin=0.3, reduction=r
                ),
                X,
            ),
            f"hinge_{r}": (
                lambda x, r=r: F.hinge_embedding_loss(
                    x, T(np.sign(Y), f64), margin=0.5, reduction=r
                ),
                X,
            ),
            f"cosine_embedding_{r}": (
                lambda x, r=r, y=y: F.cosine_embedding_loss(
                    x, y, T(sign, f64), margin=0.1, reduction=r
                ),
                X,
            ),
            f"triplet_swap_{r}": (
                lambda x, r=r, y=y: F.triplet_margin_loss(
                    x, y, T(P, f64), margin=2.0, swap=True, reduction=r
                ),
                X,
            ),
            f"triplet_p1_{r}": (
                lambda x, r=r, y=y: F.triplet_margin_loss(x, y, T(P, f64), p=1, reduction=r),
                X,
            ),
            f"multilabel_soft_margin_{r}": (
                lambda x, r=r, w=w: F.multilabel_soft_margin_loss(
                    x, T((Q > 0.5) * 1.0, f64), weight=w, reduction=r
                ),
                X,
            ),
            f"soft_margin_{r}": (
                lambda x, r=r: F.soft_margin_loss(x, T(np.sign(Y), f64), reduction=r),
                X,
            ),
            f"multi_margin_{r}": (
                lambda x, r=r, w=w: F.multi_margin_loss(
                    x, T(cls), p=2, margin=0.5, weight=w, reduction=r
                ),
                X,
            ),
            f"ctc_padded_{r}": (
                lambda x, r=r: F.ctc_loss(
                    x.log_softmax(2), T(padded), T([7, 5, 6]), T([3, 2, 0]), reduction=r
                ),
                lp,
            ),
            f"ctc_concatenated_{r}": (
                lambda x, r=r: F.ctc_loss(
                    x.log_softmax(2), T([1, 2, 2, 3, 1]), [7, 6, 4], [3, 2, 0], reduction=r
                ),
                lp,
            ),
            f"ctc_zero_infinity_{r}": (
                lambda x, r=r: F.ctc_loss(
                    x.log_softmax(2),
                    T([[1, 1, 1], [3, 1, 0], [1, 1, 1]]),
                    T([4, 5, 6]),
                    T([3, 2, 3]),
                    reduction=r,
                    zero_infinity=True,
                ),
                lp,
            ),
        }
    cases["ctc_blank_last"] = (
        lambda x: F.ctc_loss(
            x.log_softmax(2),
            T([[1, 2, 2], [0, 1, 0], [1, 1, 1]]),
            T([7, 5, 6]),
            T([3, 2, 1]),
            blank=3,
        ),
        lp,
    )
    # The gradient of log_probs themselves (PyTorch's formula, not through a log_softmax).
    cases["ctc_log_probs_grad"] = (
        lambda x: F.ctc_loss(
            x, T([[1, 2, 2], [0, 1, 0], [1, 1, 1]]), T([7, 5, 6]), T([3, 2, 1]), blank=3
        ),
        lp,
    )
    cases["ctc_unbatched"] = (
        lambda x: F.ctc_loss(x[:, 0].log_softmax(1), T([1, 2, 2]), T(7), T(3), reduction="none"),
        lp,
    )
    cases["bce_saturated"] = (
        lambda x: F.binary_cross_entropy(
            x * 0 + T([0.0, 1.0, 0.0, 1.0], f64), T([1.0, 0.0, 0.0, 1.0], f64), reduction="none"
        ),
        np.ones(4),
    )
    return _run(torch, cases)


def attention_cases(torch) -> dict:
    F = torch.nn.functional
    rng = np.random.default_rng(1)
    f64 = torch.float64

    def T(a, dtype=f64):
        return torch.tensor(np.asarray(a), dtype=dtype)

    E, H, L, S, N = 8, 2, 3, 4, 2
    w_in, b_in = T(rng.standard_normal((3 * E, E)) * 0.3), T(rng.standard_normal(3 * E) * 0.1)
    w_out, b_out = T(rng.standard_normal((E, E)) * 0.3), T(rng.standard_normal(E) * 0.1)
    bias_k, bias_v = T(rng.standard_normal((1, 1, E))), T(rng.standard_normal((1, 1, E)))
    w_q = T(rng.standard_normal((E, E)) * 0.3)
    w_k = T(rng.standard_normal((E, 5)) * 0.3)
    w_v = T(rng.standard_normal((E, 6)) * 0.3)
    q_data = rng.standard_normal((L, N, E))
    k, v = T(rng.standard_normal((S, N, E))), T(rng.standard_normal((S, N, E)))
    k5, v6 = T(rng.standard_normal((S, N, 5))), T(rng.standard_normal((S, N, 6)))
    padding = T([[False, False, True, False], [False, False, False, True]], torch.bool)
    mask_bool = T(
        [[False, True, False, False], [False, False, True, False], [True, False, False, False]],
        torch.bool,
    )
    mask_float = T(rng.standard_normal((L, S)))
    mask_3d = T(rng.standard_normal((N * H, L, S)))
    sdpa_data = rng.standard_normal((2, 3, 4, 5))
    keep = T(np.tril(np.ones((4, 4), bool)) | np.eye(4, k=2, dtype=bool), torch.bool)
    sdpa_float = T(rng.standard_normal((4, 4)))
    empty_rows = T(np.tril(np.ones((4, 4), bool), -1), torch.bool)  # row 0 sees no key

    def mha(q, k, v, **kw):
        args = {
            "embed_dim_to_check": E,
            "num_heads": H,
            "in_proj_weight": w_in,
            "in_proj_bias": b_in,
            "bias_k": None,
            "bias_v": None,
            "add_zero_attn": False,
            "dropout_p": 0.0,
            "out_proj_weight": w_out,
            "out_proj_bias": b_out,
            "training": False,
        }
        out, weights = F.multi_head_attention_forward(q, k, v, **(args | kw))
        return out if weights is None else torch.cat([out.reshape(-1), weights.reshape(-1)])

    cases = {
        "self": (lambda x: mha(x, x, x), q_data),
        "cross_masks": (
            lambda x: mha(x, k, v, key_padding_mask=padding, attn_mask=mask_bool),
            q_data,
        ),
        "shared_kv_float_mask_per_head": (
            lambda x: mha(x, k, k, attn_mask=mask_float, average_attn_weights=False),
            q_data,
        ),
        "grad_key_3d_mask": (
            lambda x: mha(T(q_data), x, x, attn_mask=mask_3d, key_padding_mask=padding.to(f64)),
            k.numpy(),
        ),
        "bias_kv_zero_attn": (
            lambda x: mha(
                x,
                k,
                v,
                bias_k=bias_k,
                bias_v=bias_v,
                add_zero_attn=True,
                key_padding_mask=padding,
                attn_mask=mask_bool,
            ),
            q_data,
        ),
        "no_weights": (
            lambda x: mha(x, k, v, key_padding_mask=padding, need_weights=False),
            q_data,
        ),
        "unbatched": (
            lambda x: mha(
                x[:, 0], k[:, 0], v[:, 0], key_padding_mask=padding[0], attn_mask=mask_bool
            ),
            q_data,
        ),
        "separate_weights": (
            lambda x: mha(
                x,
                k5,
                v6,
                in_proj_weight=None,
                use_separate_proj_weight=True,
                q_proj_weight=w_q,
                k_proj_weight=w_k,
                v_proj_weight=w_v,
            ),
            q_data,
        ),
        "sdpa": (lambda x: F.scaled_dot_product_attention(x, x * 0.5, x + 1), sdpa_data),
        "sdpa_causal_rect": (
            lambda x: F.scaled_dot_product_attention(
                x, x[:, :, :3] * 0.5, x[:, :, :3] + 1, is_causal=True, scale=0.3
            ),
            sdpa_data,
        ),
        "sdpa_bool": (
            lambda x: F.scaled_dot_product_attention(x, x * 0.5, x + 1, attn_mask=keep),
            sdpa_data,
        ),
        "sdpa_float": (
            lambda x: F.scaled_dot_product_attention(x, x * 0.5, x + 1, attn_mask=sdpa_float),
            sdpa_data,
        ),
        "sdpa_empty_rows_bool": (
            lambda x: F.scaled_dot_product_attention(x, x * 0.5, x + 1, attn_mask=empty_rows),
            sdpa_data,
        ),
        "sdpa_empty_rows_float": (
            lambda x: F.scaled_dot_product_attention(
                x, x * 0.5, x + 1, attn_mask=T(np.where(empty_rows.numpy(), 0.0, -np.inf))
            ),
            sdpa_data,
        ),
        "sdpa_gqa": (
            lambda x: F.scaled_dot_product_attention(
                x, x[:, :1] * 0.5, x[:, :1] + 1, enable_gqa=True
            ),
            sdpa_data,
        ),
    }
    return _run(torch, cases)


FAMILIES = {
    "activation": activation_cases,
    "loss": loss_cases,
    "attention": attention_cases,
}


def _torch_interpreter() -> str | None:
    """A Python that can import torch: $RTORCH_TORCH_PYTHON, this one, or /work/torchvenv;
    None where there is none or the variable is ``none`` (the parity runs opted out, as
    the other parity helpers take it)."""
    explicit = os.environ.get("RTORCH_TORCH_PYTHON")
    if explicit == "none":
        return None
    if explicit:
        return explicit
    if importlib.util.find_spec("torch") is not None:
        return sys.executable
    fallback = "/work/torchvenv/bin/python"
    return fallback if os.path.exists(fallback) else None


@functools.cache
def _run_all_in_torch() -> dict | None:
    python = _torch_interpreter()
    if python is None:
        return None
    done = subprocess.run(
        [python, os.path.abspath(__file__)],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        if "No module named 'torch'" in done.stderr:
            return None
        raise RuntimeError(f"the PyTorch side of the parity run failed:\n{done.stderr}")
    return json.loads(done.stdout)


def run_in_torch(family: str) -> dict | None:
    """The family's results under real PyTorch, or None where PyTorch is not installed.

    One interpreter start computes every family (importing torch takes seconds)."""
    results = _run_all_in_torch()
    return None if results is None else results[family]


if __name__ == "__main__":
    import torch

    print(json.dumps({name: cases(torch) for name, cases in FAMILIES.items()}))
