"""Layer step time, rtorch vs PyTorch: convolutions, pooling, normalization, lookups and
resampling on the seed models' shapes (forward, and forward + backward).

    python benches/bench_layers.py [--torch-python /path/to/python-with-torch] [--quick]

PyTorch runs in this process when importable, else in a subprocess with the given
interpreter (or $RTORCH_BENCH_TORCH_PYTHON). Prints µs per call and the ratio
(rtorch / PyTorch; below 1 rtorch is faster). BENCH_ONE_THREAD=1 runs both on one
thread. Each number is the best single call, the one no other process interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import timeit

ROWS = [
    "conv2d 64x1x28x28 k5->10 forward",
    "conv2d 64x1x28x28 k5->10 forward+backward",
    "conv2d 100x6x14x14 k5->16 forward+backward (dx too)",
    "conv2d 16x32x32x32 k3 p1 ->32 forward+backward",
    "max_pool2d 64x10x24x24 k2 forward+backward",
    "max_pool2d 16x32x32x32 k3 s1 p1 forward",
    "avg_pool2d 64x10x24x24 k2 forward+backward",
    "batch_norm2d 16x32x32x32 train forward+backward",
    "layer_norm 64x128x256 forward+backward",
    "embedding_bag 1000x64 mean, 32 bags of 35 forward+backward",
    "interpolate bilinear 16x32x32x32 x2 forward+backward",
    "seed MNIST CNN batch 64 forward+backward",
]


def _best(fn, seconds: float) -> float:
    fn()
    once = max(timeit.timeit(fn, number=3) / 3, 1e-7)
    return min(timeit.repeat(fn, number=1, repeat=max(10, int(seconds / once)))) * 1e6


def time_calls(lib, seconds: float) -> dict:
    """µs per call for each row."""
    if os.environ.get("BENCH_ONE_THREAD"):
        lib.set_num_threads(1)
    lib.manual_seed(0)
    nn, F = lib.nn, lib.nn.functional

    def step(module_or_fn, *inputs):
        def run():
            out = module_or_fn(*inputs)
            out.sum().backward()

        return run

    r = {}
    x = lib.randn(64, 1, 28, 28)
    conv = nn.Conv2d(1, 10, 5)
    r[ROWS[0]] = _best(lambda: conv(x), seconds)
    r[ROWS[1]] = _best(step(conv, x), seconds)
    h = lib.randn(100, 6, 14, 14, requires_grad=True)
    r[ROWS[2]] = _best(step(nn.Conv2d(6, 16, 5), h), seconds)
    big = lib.randn(16, 32, 32, 32, requires_grad=True)
    r[ROWS[3]] = _best(step(nn.Conv2d(32, 32, 3, padding=1), big), seconds)
    p = lib.randn(64, 10, 24, 24, requires_grad=True)
    r[ROWS[4]] = _best(step(lambda t: F.max_pool2d(t, 2), p), seconds)
    r[ROWS[5]] = _best(lambda: F.max_pool2d(big.detach(), 3, 1, 1), seconds)
    r[ROWS[6]] = _best(step(lambda t: F.avg_pool2d(t, 2), p), seconds)
    r[ROWS[7]] = _best(step(nn.BatchNorm2d(32), big), seconds)
    seq = lib.randn(64, 128, 256, requires_grad=True)
    r[ROWS[8]] = _best(step(nn.LayerNorm(256), seq), seconds)
    bag = nn.EmbeddingBag(1000, 64)
    idx = lib.randint(0, 1000, (32 * 35,))
    offsets = lib.arange(0, 32 * 35, 35)
    r[ROWS[9]] = _best(step(bag, idx, offsets), seconds)
    r[ROWS[10]] = _best(
        step(lambda t: F.interpolate(t, scale_factor=2, mode="bilinear"), big), seconds
    )

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 10, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.fc1 = nn.Linear(1440, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, t):
            t = self.pool(F.relu(self.conv(t)))
            return self.fc2(F.relu(self.fc1(t.view(t.size(0), -1))))

    r[ROWS[11]] = _best(step(Net(), x), seconds)
    return r


def torch_results(python: str | None, seconds: float) -> dict | None:
    try:
        import torch

        return time_calls(torch, seconds)
    except ImportError:
        pass
    python = python or os.environ.get("RTORCH_BENCH_TORCH_PYTHON")
    if not python:
        return None
    here = os.path.dirname(os.path.abspath(__file__))
    code = (
        f"import json, sys; sys.path.insert(0, {here!r}); import bench_layers, torch; "
        f"print(json.dumps(bench_layers.time_calls(torch, {seconds!r})))"
    )
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--torch-python")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds = 0.05 if args.quick else 0.3

    import rtorch

    ours = time_calls(rtorch, seconds)
    theirs = torch_results(args.torch_python, seconds)
    print(f"{'':62} {'rtorch µs':>10} {'torch µs':>10} {'ratio':>7}")
    for row in ROWS:
        t = theirs.get(row) if theirs else None
        ratio = f"{ours[row] / t:7.2f}" if t else "    n/a"
        torch_col = f"{t:10.1f}" if t else f"{'n/a':>10}"
        print(f"{row:62} {ours[row]:10.1f} {torch_col} {ratio}")


if __name__ == "__main__":
    main()
