"""Loss and attention step time, rtorch vs PyTorch: ``F.cross_entropy`` forward and
forward + backward on (64, 10) and (256, 1000) logits and on a segmentation map, one
MultiheadAttention (E=256, 8 heads, batch 16, length 128) forward + backward, and the
smooth L1 and Huber losses.

    python benches/bench_losses.py [--torch-python /path/to/python-with-torch] [--quick]

PyTorch runs in this process when importable, else in a subprocess with the given
interpreter (or $RTORCH_BENCH_TORCH_PYTHON). Prints µs per call and the ratio
(rtorch / PyTorch; below 1 rtorch is faster). BENCH_ONE_THREAD=1 runs both on one
thread. Each number is the best single call, the one no other process interrupted.
"""

from __future__ import annotations

import os

import _sidebyside
from _sidebyside import best_us

ROWS = [
    "cross_entropy (64, 10) forward",
    "cross_entropy (64, 10) forward+backward",
    "cross_entropy (256, 1000) forward",
    "cross_entropy (256, 1000) forward+backward",
    "MultiheadAttention E256 h8 N16 L128 forward+backward",
    "cross_entropy (8, 21, 64, 64) forward+backward",
    "smooth_l1_loss (4096, 256) forward+backward",
    "huber_loss (4096, 256) forward+backward",
]


def time_calls(lib, seconds: float) -> dict:
    """µs per call for each row."""
    if os.environ.get("BENCH_ONE_THREAD"):
        lib.set_num_threads(1)
    lib.manual_seed(0)
    F = lib.nn.functional
    results = {}
    for n, c in [(64, 10), (256, 1000)]:
        x = lib.randn(n, c, requires_grad=True)
        t = lib.randint(0, c, (n,))

        def forward(x=x, t=t):
            return F.cross_entropy(x, t)

        def step(x=x, t=t):
            x.grad = None
            F.cross_entropy(x, t).backward()

        results[f"cross_entropy ({n}, {c}) forward"] = best_us(forward, seconds)
        results[f"cross_entropy ({n}, {c}) forward+backward"] = best_us(step, seconds)
    mha = lib.nn.MultiheadAttention(256, 8, batch_first=True)
    seq = lib.randn(16, 128, 256, requires_grad=True)

    def attention():
        mha.zero_grad()
        out, _ = mha(seq, seq, seq, need_weights=False)
        out.sum().backward()

    results[ROWS[4]] = best_us(attention, seconds * 3)
    seg = lib.randn(8, 21, 64, 64, requires_grad=True)
    labels = lib.randint(0, 21, (8, 64, 64))

    def segmentation():
        seg.grad = None
        F.cross_entropy(seg, labels).backward()

    results[ROWS[5]] = best_us(segmentation, seconds)
    a = lib.randn(4096, 256, requires_grad=True)
    b = lib.randn(4096, 256)
    for row, loss in ((ROWS[6], F.smooth_l1_loss), (ROWS[7], F.huber_loss)):

        def regression(loss=loss):
            a.grad = None
            loss(a, b).backward()

        results[row] = best_us(regression, seconds)
    return results


if __name__ == "__main__":
    _sidebyside.main("bench_losses", "time_calls", ROWS, "", __doc__)
