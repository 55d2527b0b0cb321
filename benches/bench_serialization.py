"""save / load of a ~100 MB state_dict: rtorch vs PyTorch, side by side.

Cases (best of --repeat runs, file in --dir, page cache warm):
  save        lib.save(state_dict, path)
  load        lib.load(path)                      (reads every storage once)
  load_mmap   lib.load(path, mmap=True)           (maps the file; no read)
  mmap_touch  load_mmap, then sum every tensor    (pages actually read)

Usage:
  python benches/bench_serialization.py [--mb 100] [--torch-python /work/torchvenv/bin/python]
PyTorch numbers come from importing torch in this process, or from running this script
under --torch-python in a subprocess (``--backend torch``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from typing import Any, Callable


def _best(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def run_cases(lib: Any, mb: int, repeat: int, folder: str) -> dict:
    # A ResNet-like mix: a few big matrices and many small vectors.
    sd = OrderedDict()
    total = 0
    i = 0
    while total < mb * (1 << 20):
        sd[f"layer{i}.weight"] = lib.ones(512, 512) * i
        sd[f"layer{i}.bias"] = lib.ones(512)
        sd[f"layer{i}.running_var"] = lib.ones(512)
        total += (512 * 512 + 1024) * 4
        i += 1
    path = os.path.join(folder, f"bench_{lib.__name__}.pt")

    def save() -> None:
        lib.save(sd, path)

    def load() -> None:
        lib.load(path)

    def load_mmap() -> None:
        lib.load(path, mmap=True)

    def mmap_touch() -> None:
        for t in lib.load(path, mmap=True).values():
            t.sum()

    out = {
        "save": _best(save, repeat),
        "load": _best(load, repeat),
        "load_mmap": _best(load_mmap, repeat),
        "mmap_touch": _best(mmap_touch, repeat),
    }
    out["MB"] = os.path.getsize(path) / (1 << 20)
    os.remove(path)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--mb", type=int, default=100)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--dir", default=tempfile.gettempdir())
    p.add_argument("--backend", choices=["both", "rtorch", "torch"], default="both")
    p.add_argument("--torch-python", default=None)
    args = p.parse_args()
    if args.backend == "torch":
        import torch

        print(json.dumps(run_cases(torch, args.mb, args.repeat, args.dir)))
        return
    import rtorch

    ours = run_cases(rtorch, args.mb, args.repeat, args.dir)
    if args.backend == "rtorch":
        print(json.dumps(ours))
        return
    theirs = None
    try:
        import torch

        theirs = run_cases(torch, args.mb, args.repeat, args.dir)
    except ImportError:
        if args.torch_python:
            cmd = [args.torch_python, __file__, "--backend", "torch", "--mb", str(args.mb)]
            cmd += ["--repeat", str(args.repeat), "--dir", args.dir]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            theirs = json.loads(out.strip().splitlines()[-1])
    print(f"state_dict of {ours['MB']:.1f} MB")
    print(f"{'case':<12}{'rtorch ms':>12}{'torch ms':>12}{'speedup':>10}")
    for k, v in ours.items():
        if k == "MB":
            continue
        if theirs is not None:
            print(f"{k:<12}{v:>12.1f}{theirs[k]:>12.1f}{theirs[k] / v:>9.2f}x")
        else:
            print(f"{k:<12}{v:>12.1f}{'-':>12}{'-':>10}")


if __name__ == "__main__":
    sys.exit(main())
