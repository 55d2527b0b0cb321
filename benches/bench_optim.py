"""Optimizer step time, rtorch vs PyTorch: one ``step()`` over the parameters of an MLP
784->128->10 (weights 128x784, 128, 10x128, 10) with fixed gradients.

    python benches/bench_optim.py [--torch-python /path/to/python-with-torch] [--quick]

PyTorch runs in this process when importable, else in a subprocess with the given
interpreter (or $RTORCH_BENCH_TORCH_PYTHON). Prints µs per step and the ratio.
BENCH_ONE_THREAD=1 runs both on one thread. Each number is the best single step.
"""

from __future__ import annotations

import os
import timeit

import _sidebyside

SHAPES = [(128, 784), (128,), (10, 128), (10,)]
CONFIGS = [
    ("Adam", {"lr": 1e-3}),
    ("AdamW", {"lr": 1e-3}),
    ("SGD", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01}),
]


def time_steps(lib, seconds: float) -> dict:
    """µs per optimizer step for each config: best of three rounds."""
    results = {}
    if os.environ.get("BENCH_ONE_THREAD"):
        lib.set_num_threads(1)
    lib.manual_seed(0)
    for name, kwargs in CONFIGS:
        params = [lib.randn(*shape, requires_grad=True) for shape in SHAPES]
        for p in params:
            p.grad = lib.randn(*p.shape) * 0.01
        opt = getattr(lib.optim, name)(params, **kwargs)
        opt.step()
        # The best of many single steps: on a busy machine the minimum is the run that
        # no other process interrupted.
        once = max(timeit.timeit(opt.step, number=3) / 3, 1e-7)
        best = min(timeit.repeat(opt.step, number=1, repeat=max(20, int(seconds / once))))
        results[name] = best * 1e6
    return results


if __name__ == "__main__":
    _sidebyside.main(
        "bench_optim",
        "time_steps",
        [name for name, _ in CONFIGS],
        "optimizer step, MLP 784-128-10",
        __doc__,
    )
