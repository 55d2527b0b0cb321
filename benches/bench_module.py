"""nn.Module overhead, rtorch vs PyTorch: the per-call cost of the Module machinery.

    python benches/bench_module.py [--torch-python /path/to/python-with-torch] [--quick]

PyTorch runs in this process when importable, else in a subprocess with the given
interpreter (or $RTORCH_BENCH_TORCH_PYTHON). Prints µs per call (best of several
rounds) and rtorch / PyTorch (below 1: rtorch is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import timeit

ROWS = [
    "bare Module call: Id()(x)",
    "parameter read: m.weight",
    "Linear(4, 4)(x), 4-element input",
    "Sequential of 3 Id modules",
    "named_parameters() of a 3-layer MLP",
    "state_dict() of a 3-layer MLP",
]


def time_rows(lib, seconds: float) -> dict:
    """µs per call for each row: best of five rounds."""
    nn = lib.nn
    lib.set_num_threads(1)

    class Id(nn.Module):
        def forward(self, x):
            return x

    lin = nn.Linear(4, 4)
    x = lib.randn(4)
    ident = Id()
    seq = nn.Sequential(Id(), Id(), Id())
    mlp = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.Linear(64, 10))
    calls = [
        lambda: ident(x),
        lambda: lin.weight,
        lambda: lin(x),
        lambda: seq(x),
        lambda: list(mlp.named_parameters()),
        lambda: mlp.state_dict(),
    ]
    results = {}
    for row, fn in zip(ROWS, calls):
        fn()
        number = max(1, int(seconds / max(timeit.timeit(fn, number=10) / 10, 1e-8)))
        results[row] = min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6
    return results


def torch_results(python: str | None, seconds: float) -> dict | None:
    try:
        import torch

        return time_rows(torch, seconds)
    except ImportError:
        pass
    python = python or os.environ.get("RTORCH_BENCH_TORCH_PYTHON")
    if not python:
        return None
    here = os.path.dirname(os.path.abspath(__file__))
    code = (
        f"import json, sys; sys.path.insert(0, {here!r}); import bench_module, torch; "
        f"print(json.dumps(bench_module.time_rows(torch, {seconds!r})))"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--torch-python", default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds = 0.05 if args.quick else 0.3
    import rtorch

    ours = time_rows(rtorch, seconds)
    theirs = torch_results(args.torch_python, seconds)
    print(f"{'row':40} {'rtorch µs':>10} {'torch µs':>10} {'ratio':>7}")
    for row in ROWS:
        t = theirs[row] if theirs else None
        ratio = f"{ours[row] / t:7.2f}" if t else "    n/a"
        t_str = f"{t:10.3f}" if t else "       n/a"
        print(f"{row:40} {ours[row]:10.3f} {t_str} {ratio}")


if __name__ == "__main__":
    sys.exit(main())
