"""Module reprs and state_dict layouts, written out as PyTorch 2.15 prints them.

Generated once from PyTorch 2.15 (`repr(m)` and `{k: shape}` of `m.state_dict()`);
a difference here is a difference a user sees in a printed model or a checkpoint. The
test passes with PyTorch itself imported as `rtorch`.
"""

from __future__ import annotations

import pytest

import rtorch as t

nn = t.nn

CASES = [
    (
        "rnn",
        lambda: nn.RNN(3, 4, num_layers=2, nonlinearity="relu", bidirectional=True),
        "RNN(3, 4, num_layers=2, bidirectional=True)",
        {
            "bias_hh_l0": [4],
            "bias_hh_l0_reverse": [4],
            "bias_hh_l1": [4],
            "bias_hh_l1_reverse": [4],
            "bias_ih_l0": [4],
            "bias_ih_l0_reverse": [4],
            "bias_ih_l1": [4],
            "bias_ih_l1_reverse": [4],
            "weight_hh_l0": [4, 4],
            "weight_hh_l0_reverse": [4, 4],
            "weight_hh_l1": [4, 4],
            "weight_hh_l1_reverse": [4, 4],
            "weight_ih_l0": [4, 3],
            "weight_ih_l0_reverse": [4, 3],
            "weight_ih_l1": [4, 8],
            "weight_ih_l1_reverse": [4, 8],
        },
    ),
    (
        "lstm",
        lambda: nn.LSTM(3, 4, batch_first=True, proj_size=2),
        "LSTM(3, 4, proj_size=2, batch_first=True)",
        {
            "bias_hh_l0": [16],
            "bias_ih_l0": [16],
            "weight_hh_l0": [16, 2],
            "weight_hr_l0": [2, 4],
            "weight_ih_l0": [16, 3],
        },
    ),
    (
        "gru",
        lambda: nn.GRU(3, 4, bias=False, dropout=0.1, num_layers=2),
        "GRU(3, 4, num_layers=2, bias=False, dropout=0.1)",
        {
            "weight_hh_l0": [12, 4],
            "weight_hh_l1": [12, 4],
            "weight_ih_l0": [12, 3],
            "weight_ih_l1": [12, 4],
        },
    ),
    (
        "conv1d",
        lambda: nn.Conv1d(2, 4, 3, stride=2, padding=1, dilation=2, groups=2),
        "Conv1d(2, 4, kernel_size=(3,), stride=(2,), padding=(1,), dilation=(2,), groups=2)",
        {"bias": [4], "weight": [4, 1, 3]},
    ),
    (
        "conv2d",
        lambda: nn.Conv2d(3, 6, (3, 5), padding="same", bias=False, padding_mode="reflect"),
        "Conv2d(3, 6, kernel_size=(3, 5), stride=(1, 1), padding=same, bias=False, padding_mode=reflect)",
        {"weight": [6, 3, 3, 5]},
    ),
    (
        "convT2d",
        lambda: nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1),
        "ConvTranspose2d(4, 2, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1))",
        {"bias": [2], "weight": [4, 2, 3, 3]},
    ),
    (
        "bn",
        lambda: nn.BatchNorm2d(5, momentum=None),
        "BatchNorm2d(5, eps=1e-05, momentum=None, affine=True, bias=True, track_running_stats=True)",
        {
            "bias": [5],
            "num_batches_tracked": [],
            "running_mean": [5],
            "running_var": [5],
            "weight": [5],
        },
    ),
    (
        "ln",
        lambda: nn.LayerNorm((4, 5), elementwise_affine=True, bias=False),
        "LayerNorm((4, 5), eps=1e-05, elementwise_affine=True, bias=False)",
        {"weight": [4, 5]},
    ),
    (
        "emb",
        lambda: nn.Embedding(10, 3, padding_idx=0, max_norm=2.0),
        "Embedding(10, 3, padding_idx=0, max_norm=2.0)",
        {"weight": [10, 3]},
    ),
    (
        "embbag",
        lambda: nn.EmbeddingBag(10, 3, mode="max"),
        "EmbeddingBag(10, 3, mode='max')",
        {"weight": [10, 3]},
    ),
    (
        "mha_bf",
        lambda: nn.MultiheadAttention(8, 2, batch_first=True, add_bias_kv=True),
        "MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=8, out_features=8, bias=True)\n)",
        {
            "bias_k": [1, 1, 8],
            "bias_v": [1, 1, 8],
            "in_proj_bias": [24],
            "in_proj_weight": [24, 8],
            "out_proj.bias": [8],
            "out_proj.weight": [8, 8],
        },
    ),
    (
        "acts",
        lambda: nn.Sequential(
            nn.LeakyReLU(0.2, inplace=True),
            nn.ELU(),
            nn.PReLU(3),
            nn.Softmax(dim=1),
            nn.LogSoftmax(1),
            nn.Hardtanh(-2, 2),
            nn.Softplus(2, 10),
            nn.Threshold(0.1, 20),
            nn.GLU(),
            nn.CELU(),
            nn.SELU(),
            nn.Mish(),
            nn.SiLU(),
            nn.Hardswish(),
            nn.Softshrink(),
            nn.RReLU(),
        ),
        "Sequential(\n  (0): LeakyReLU(negative_slope=0.2, inplace=True)\n  (1): ELU(alpha=1.0)\n  (2): PReLU(num_parameters=3)\n  (3): Softmax(dim=1)\n  (4): LogSoftmax(dim=1)\n  (5): Hardtanh(min_val=-2, max_val=2)\n  (6): Softplus(beta=2, threshold=10)\n  (7): Threshold(threshold=0.1, value=20)\n  (8): GLU(dim=-1)\n  (9): CELU(alpha=1.0)\n  (10): SELU()\n  (11): Mish()\n  (12): SiLU()\n  (13): Hardswish()\n  (14): Softshrink(0.5)\n  (15): RReLU(lower=0.125, upper=0.3333333333333333)\n)",
        {"2.weight": [3]},
    ),
    (
        "pools",
        lambda: nn.Sequential(
            nn.MaxPool2d(2, 1, 1, ceil_mode=True),
            nn.AvgPool2d(3, count_include_pad=False),
            nn.AdaptiveAvgPool2d((2, None)),
            nn.AdaptiveMaxPool1d(3),
            nn.MaxPool1d(2, return_indices=True),
            nn.LPPool2d(2, 3),
            nn.MaxUnpool2d(2),
            nn.FractionalMaxPool2d(2, output_size=3)
            if hasattr(nn, "FractionalMaxPool2d")
            else nn.Identity(),
        ),
        "Sequential(\n  (0): MaxPool2d(kernel_size=2, stride=1, padding=1, dilation=1, ceil_mode=True)\n  (1): AvgPool2d(kernel_size=3, stride=3, padding=0)\n  (2): AdaptiveAvgPool2d(output_size=(2, None))\n  (3): AdaptiveMaxPool1d(output_size=3)\n  (4): MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n  (5): LPPool2d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)\n  (6): MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))\n  (7): FractionalMaxPool2d()\n)",
        {},
    ),
    (
        "losses",
        lambda: nn.Sequential(
            nn.CrossEntropyLoss(label_smoothing=0.1, ignore_index=3),
            nn.NLLLoss(reduction="sum"),
            nn.MSELoss(),
            nn.BCEWithLogitsLoss(pos_weight=t.ones(2)),
            nn.HuberLoss(delta=2.0),
            nn.SmoothL1Loss(beta=0.5),
            nn.KLDivLoss(log_target=True, reduction="batchmean"),
            nn.CTCLoss(blank=1),
            nn.MarginRankingLoss(0.5),
            nn.TripletMarginLoss(),
            nn.CosineEmbeddingLoss(),
            nn.MultiLabelSoftMarginLoss(),
            nn.PoissonNLLLoss(),
            nn.GaussianNLLLoss(),
            nn.HingeEmbeddingLoss(),
            nn.MultiMarginLoss(p=2),
        ),
        "Sequential(\n  (0): CrossEntropyLoss()\n  (1): NLLLoss()\n  (2): MSELoss()\n  (3): BCEWithLogitsLoss()\n  (4): HuberLoss()\n  (5): SmoothL1Loss()\n  (6): KLDivLoss()\n  (7): CTCLoss()\n  (8): MarginRankingLoss()\n  (9): TripletMarginLoss()\n  (10): CosineEmbeddingLoss()\n  (11): MultiLabelSoftMarginLoss()\n  (12): PoissonNLLLoss()\n  (13): GaussianNLLLoss()\n  (14): HingeEmbeddingLoss()\n  (15): MultiMarginLoss()\n)",
        {"3.pos_weight": [2]},
    ),
]


@pytest.mark.parametrize(("name", "make", "text", "layout"), CASES, ids=[c[0] for c in CASES])
def test_repr_and_state_dict_layout_as_pytorch(name, make, text, layout) -> None:
    m = make()
    assert repr(m) == text
    assert {k: list(v.shape) for k, v in m.state_dict().items()} == layout
