"""The plumbing the small side-by-side benches share: a best-of timer, PyTorch's
numbers (in this process, or in another virtualenv's interpreter), and the table."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import timeit


def best_us(fn, seconds: float) -> float:
    """Best single-call time of ``fn`` in µs, over about ``seconds`` of repeats."""
    fn()
    once = max(timeit.timeit(fn, number=3) / 3, 1e-7)
    return min(timeit.repeat(fn, number=1, repeat=max(10, int(seconds / once)))) * 1e6


def torch_results(bench: str, func: str, python: str | None, seconds: float) -> dict | None:
    """``bench.func(torch, seconds)``, run where PyTorch is importable (None without it)."""
    try:
        import torch

        return getattr(importlib.import_module(bench), func)(torch, seconds)
    except ImportError:
        pass
    python = python or os.environ.get("RTORCH_BENCH_TORCH_PYTHON")
    if not python:
        return None
    here = os.path.dirname(os.path.abspath(__file__))
    code = (
        f"import json, sys; sys.path.insert(0, {here!r}); import {bench}, torch; "
        f"print(json.dumps({bench}.{func}(torch, {seconds!r})))"
    )
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def main(bench: str, func: str, rows: list[str], title: str = "", description: str = "") -> None:
    """Parses --torch-python/--quick, times both libraries and prints µs and ratios."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--torch-python")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds = 0.05 if args.quick else 0.3

    import rtorch

    ours = getattr(importlib.import_module(bench), func)(rtorch, seconds)
    theirs = torch_results(bench, func, args.torch_python, seconds)
    width = max(len(title), *(len(r) for r in rows)) + 1
    print(f"{title:{width}} {'rtorch µs':>10} {'torch µs':>10} {'ratio':>7}")
    for row in rows:
        t = theirs.get(row) if theirs else None
        ratio = f"{ours[row] / t:7.2f}" if t else "    n/a"
        torch_col = f"{t:10.1f}" if t else f"{'n/a':>10}"
        print(f"{row:{width}} {ours[row]:10.1f} {torch_col} {ratio}")
