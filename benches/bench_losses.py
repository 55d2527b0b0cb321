"""Loss and attention step time, rtorch vs PyTorch: ``F.cross_entropy`` forward and
forward + backward on (64, 10) and (256, 1000) logits, and one MultiheadAttention
(E=256, 8 heads, batch 16, length 128) forward + backward.

    python benches/bench_losses.py [--torch-python /path/to/python-with-torch] [--quick]

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
    "cross_entropy (64, 10) forward",
    "cross_entropy (64, 10) forward+backward",
    "cross_entropy (256, 1000) forward",
    "cross_entropy (256, 1000) forward+backward",
    "MultiheadAttention E256 h8 N16 L128 forward+backward",
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

        results[f"cross_entropy ({n}, {c}) forward"] = _best(forward, seconds)
        results[f"cross_entropy ({n}, {c}) forward+backward"] = _best(step, seconds)
    mha = lib.nn.MultiheadAttention(256, 8, batch_first=True)
    seq = lib.randn(16, 128, 256, requires_grad=True)

    def attention():
        mha.zero_grad()
        out, _ = mha(seq, seq, seq, need_weights=False)
        out.sum().backward()

    results[ROWS[-1]] = _best(attention, seconds * 3)
    return results


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
        f"import json, sys; sys.path.insert(0, {here!r}); import bench_losses, torch; "
        f"print(json.dumps(bench_losses.time_calls(torch, {seconds!r})))"
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
    print(f"{'':54} {'rtorch µs':>10} {'torch µs':>10} {'ratio':>7}")
    for row in ROWS:
        t = theirs.get(row) if theirs else None
        ratio = f"{ours[row] / t:7.2f}" if t else "    n/a"
        torch_col = f"{t:10.1f}" if t else f"{'n/a':>10}"
        print(f"{row:54} {ours[row]:10.1f} {torch_col} {ratio}")


if __name__ == "__main__":
    main()
