"""Autograd engine overhead on tiny graphs: rtorch vs PyTorch.

Cases (4-element float32 tensors, per-iteration wall time, best of several runs):
  fwd_bwd      ((w * a + b).sum()).backward()        forward + backward
  bwd_only     backward of a prebuilt graph (retain_graph=True)
  grad_2op     autograd.grad((x * y / z).sum(), [x]) on 2x2 tensors
  fn_custom    a Python autograd.Function forward + backward

Usage:
  python benches/bench_autograd.py [--iters 1000] [--torch-python /work/torchvenv/bin/python]
PyTorch numbers come from importing torch in this process, or from running this
script under --torch-python in a subprocess (``--backend torch``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any, Callable


def _timeit(fn: Callable[[], None], iters: int, repeat: int = 5) -> float:
    """Best per-iteration time in microseconds."""
    for _ in range(max(10, iters // 10)):
        fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        best = min(best, (time.perf_counter() - t0) / iters)
    return best * 1e6


def run_cases(lib: Any, iters: int) -> dict:
    w = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    a = lib.tensor([0.5, -1.0, 2.0, 3.0])
    b = lib.tensor([0.1, 0.2, 0.3, 0.4], requires_grad=True)

    def fwd_bwd() -> None:
        ((w * a + b).sum()).backward()

    loss = (w * a + b).sum()

    def bwd_only() -> None:
        loss.backward(retain_graph=True)

    x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = lib.tensor([[0.5, 1.5], [2.5, 3.5]])
    z = lib.tensor([[2.0, 2.0], [4.0, 4.0]])

    def grad_2op() -> None:
        lib.autograd.grad((x * y / z).sum(), [x])

    class Double(lib.autograd.Function):
        @staticmethod
        def forward(ctx: Any, t: Any) -> Any:
            return t * 2

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g * 2

    def fn_custom() -> None:
        Double.apply(w).sum().backward()

    def forward_only() -> None:
        (w * a + b).sum()

    return {
        "forward_only": _timeit(forward_only, iters),
        "fwd_bwd": _timeit(fwd_bwd, iters),
        "bwd_only": _timeit(bwd_only, iters),
        "grad_2op": _timeit(grad_2op, iters),
        "fn_custom": _timeit(fn_custom, iters),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--iters", type=int, default=1000)
    p.add_argument("--backend", choices=["both", "rtorch", "torch"], default="both")
    p.add_argument(
        "--torch-python",
        default=None,
        help="python executable with torch installed (runs in a subprocess)",
    )
    p.add_argument("--json", action="store_true", help="print raw JSON for one backend")
    args = p.parse_args()

    if args.backend == "torch":
        import torch

        torch.set_num_threads(1)
        print(json.dumps(run_cases(torch, args.iters)))
        return
    import rtorch

    ours = run_cases(rtorch, args.iters)
    if args.backend == "rtorch" or args.json:
        print(json.dumps(ours))
        if args.backend == "rtorch":
            return
    theirs = None
    try:
        import torch

        torch.set_num_threads(1)
        theirs = run_cases(torch, args.iters)
    except ImportError:
        if args.torch_python:
            out = subprocess.run(
                [args.torch_python, __file__, "--backend", "torch", "--iters", str(args.iters)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            theirs = json.loads(out.strip().splitlines()[-1])
    print(f"{'case':<14}{'rtorch us':>12}{'torch us':>12}{'speedup':>10}")
    for k, v in ours.items():
        if theirs is not None:
            t = theirs[k]
            print(f"{k:<14}{v:>12.2f}{t:>12.2f}{t / v:>9.1f}x")
        else:
            print(f"{k:<14}{v:>12.2f}{'-':>12}{'-':>10}")


if __name__ == "__main__":
    sys.exit(main())
