"""rtorch vs PyTorch, side by side, in one run.

    python benches/bench_ops.py [--torch-python /path/to/python-with-torch] [--quick]

rtorch runs in this process. PyTorch runs in this process too when ``import torch``
works here; otherwise in a subprocess started with the interpreter given by
``--torch-python`` or ``$RTORCH_BENCH_TORCH_PYTHON`` (rtorch and PyTorch may live in
different virtualenvs). A row whose op is missing from a library prints
``n/a (missing op)``. The last column is rtorch's time divided by PyTorch's for the same
work (above 1: rtorch is slower).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any, Callable

# name, unit, work per call (for throughput units), description
ROWS: list[tuple[str, str, str]] = [
    ("add_small", "us/op", "a + b, 4-element float32"),
    ("add_16m", "GB/s", "x + y, 16M float32"),
    ("sum_16m", "GB/s", "x.sum(), 16M float32"),
    ("matmul_1024", "GFLOP/s", "a @ b, 1024x1024 float32"),
    ("backward_small", "us/iter", "((w * a + b).relu()).sum().backward(), 4 elements"),
    ("autograd_grad", "us/iter", "autograd.grad of a 2-op 2x2 graph"),
    ("mlp_step", "ms/iter", "MLP 784-128-10, batch 64, forward + backward"),
    # Single ops on 1000x1000 (the kernels issue 12's scan found far behind).
    ("add_f16", "us/op", "x + y, 1M float16"),
    ("div_f32", "us/op", "x / y, 1M float32"),
    ("exp_f16", "us/op", "exp(x), 1M float16"),
    ("gelu_f32", "us/op", "gelu(x), 1M float32"),
    ("erf_f32", "us/op", "erf(x), 1M float32"),
    ("sin_f32", "us/op", "sin(x), 1M float32"),
    ("cast_f16", "us/op", "x.to(float16), 1M float32"),
    ("relu_bf16", "us/op", "relu(x), 1M bfloat16"),
    ("sum_f16", "us/op", "x.sum(), 1M float16"),
    ("clamp_f32", "us/op", "x.clamp(-0.5, 0.5), 1M float32"),
    ("topk_f32", "us/op", "x.topk(10, 1), 1000x1000 float32"),
    ("index_select_f32", "us/op", "x.index_select(0, idx), 1000 rows of 1000"),
    # numpy exchange (zero-copy both ways): the per-call cost a data pipeline pays.
    ("from_numpy", "us/op", "from_numpy(a), 4x4 float32 array"),
    ("to_numpy", "us/op", "t.numpy(), 4x4 float32 tensor"),
    # Small products and copies whose cost is the call, not the arithmetic.
    ("linear_small", "us/op", "F.linear(x, w, b), 8x16 -> 32 float32"),
    ("transpose_copy", "us/op", "x.t().contiguous(), 256x256 float32"),
    # 16-bit products on the machine's native support (AMX / AVX512-BF16 where present).
    ("linear_bf16", "us/op", "F.linear(x, w, b), 256x1024 -> 1024 bfloat16"),
    ("linear_bf16_small", "us/op", "F.linear(x, w, b), 64x784 -> 128 bfloat16"),
    ("conv_bf16", "us/op", "conv2d 3x3 pad 1 + bias, 16x64x32x32, 64 filters, bfloat16"),
    ("conv_bf16_bwd", "us/iter", "the same conv2d, forward + backward, bfloat16"),
    # A ResNet's last stage: small images, many channels (products, not direct kernels).
    ("conv_deep_bwd", "us/iter", "conv2d 3x3 pad 1, 8x512x7x7, 512 filters, fwd + bwd, float32"),
    ("conv_deep_bf16_bwd", "us/iter", "the same conv2d, forward + backward, bfloat16"),
    # The stage before it: 256 channels on 14x14 images (Winograd's transforms above 128
    # channels once the batch has enough tiles).
    ("conv_256_bwd", "us/iter", "conv2d 3x3 pad 1, 16x256x14x14, 256 filters, fwd + bwd"),
    # Depthwise (MobileNet): one input channel per group.
    ("conv_depthwise_bwd", "us/iter", "conv2d 3x3 pad 1, groups=384, 16x384x14x14, fwd + bwd"),
    # Generic paths found slow by a sweep of 100 ops (blocks not compiled per SIMD level,
    # element-by-element walks, dependent add chains).
    ("addcmul_f32", "us/op", "addcmul(x, x, y, value=0.5), 1M float32"),
    ("lerp_f32", "us/op", "lerp(x, y, 0.3), 1M float32"),
    # In place, as optimizers and EMA updates write them (a temporary copied back before).
    ("mul_inplace_f32", "us/op", "x.mul_(0.999999), 1M float32"),
    ("addcmul_inplace_f32", "us/op", "x.addcmul_(y, y, value=1e-6), 1M float32"),
    ("lerp_inplace_f32", "us/op", "x.lerp_(y, 0.001), 1M float32"),
    ("softplus_f32", "us/op", "softplus(x), 1M float32"),
    ("elu_f32", "us/op", "elu(x), 1M float32"),
    ("flip_f32", "us/op", "x.flip(1), 1000x1000 float32"),
    ("prod_f32", "us/op", "x.prod(1), 1000x1000 float32"),
    ("neg_f16", "us/op", "-x, 1M float16"),
    ("normalize_f32", "us/op", "F.normalize(x, dim=1), 1000x1000 float32"),
    # Math that called libm per element (or was composed in Python).
    ("atan_f32", "us/op", "atan(x), 1M float32"),
    ("tan_f32", "us/op", "tan(x), 1M float32"),
    ("atan2_f32", "us/op", "atan2(x, y), 1M float32"),
    ("exp2_f32", "us/op", "exp2(x), 1M float32"),
    ("log2_f32", "us/op", "log2(y), 1M float32"),
    ("log10_f32", "us/op", "log10(y), 1M float32"),
    ("fmod_f32", "us/op", "fmod(x, y), 1M float32"),
    ("remainder_f32", "us/op", "remainder(x, y), 1M float32"),
    ("pow_f32", "us/op", "pow(y, x), 1M float32"),
    ("copysign_f16", "us/op", "copysign(x, y - 1), 1M float16"),
    ("asin_f32", "us/op", "asin(u), 1M float32 in (-0.99, 0.99)"),
    ("erfinv_f32", "us/op", "erfinv(u), 1M float32 in (-0.99, 0.99)"),
    ("logsumexp_f32", "us/op", "x.logsumexp(1), 1000x1000 float32"),
    ("lgamma_f32", "us/op", "lgamma(x), 1M float32"),
    ("digamma_f32", "us/op", "digamma(x), 1M float32"),
    ("trigamma_f32", "us/op", "polygamma(1, x), 1M float32"),
    # Activation backward (one fused kernel each where PyTorch has one).
    ("sigmoid_bwd_f32", "us/op", "autograd.grad of sigmoid(x), 1M float32"),
    ("tanh_bwd_f32", "us/op", "autograd.grad of tanh(x), 1M float32"),
    ("silu_bwd_f32", "us/op", "autograd.grad of silu(x), 1M float32"),
    ("gelu_bwd_f32", "us/op", "autograd.grad of gelu(x), 1M float32"),
    ("elu_bwd_f32", "us/op", "autograd.grad of elu(x), 1M float32"),
    # Linear's x @ w.t() with a small batch: B's column slabs copied row-major first.
    ("linear_8x2048", "us/op", "F.linear(x, w), 8x2048 -> 2048 float32"),
    ("linear_32x1024", "us/op", "F.linear(x, w), 32x1024 -> 256 float32"),
    ("scatter_amax", "us/op", "zeros(1000).scatter_reduce(0, idx, src, 'amax'), 5000 values"),
    ("cummax_f32", "us/op", "x.cummax(1), 1000x1000 float32"),
    ("cumsum_bwd_f32", "us/iter", "x.cumsum(1).sum().backward(), 1000x1000 float32"),
    ("conv_transpose_s1_bwd", "us/iter", "conv_transpose2d 3x3 pad 1, 32x64x28x28, fwd + bwd"),
    ("lstm_bwd", "us/iter", "nn.LSTM(128, 256), batch 32, 50 steps, fwd + bwd"),
]

N_BIG = 16 * 1024 * 1024


def _timeit(fn: Callable[[], Any], min_time: float, repeats: int = 3) -> float:
    """Best seconds per call of ``fn`` over ``repeats`` rounds of at least ``min_time``."""
    fn()  # warm up
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time / 4 or n >= 1 << 20:
            break
        n *= 4
    n = max(1, int(n * (min_time / max(dt, 1e-9))))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def _cases(lib: Any) -> dict[str, Callable[[], tuple[Callable[[], Any], float]]]:
    """Each case returns (function to time, conversion factor from seconds/call)."""

    def add_small():
        a = lib.tensor([1.0, 2.0, 3.0, 4.0])
        b = lib.tensor([0.5, 0.5, 0.5, 0.5])
        return (lambda: a + b), 1e6  # us/op

    def add_16m():
        x = lib.ones(N_BIG)
        y = lib.full((N_BIG,), 2.0)
        return (lambda: x + y), 3 * 4 * N_BIG / 1e9  # GB per call

    def sum_16m():
        x = lib.ones(N_BIG)
        return (lambda: x.sum()), 4 * N_BIG / 1e9

    def matmul_1024():
        a = lib.ones(1024, 1024) * 0.5
        b = lib.ones(1024, 1024) * 0.25
        return (lambda: a @ b), 2 * 1024**3 / 1e9  # GFLOP per call

    def backward_small():
        w = lib.tensor([1.0, -2.0, 3.0, -4.0], requires_grad=True)
        a = lib.tensor([0.5, 0.5, 0.5, 0.5])
        b = lib.tensor([0.1, 0.2, 0.3, 0.4], requires_grad=True)

        def step():
            ((w * a + b).relu()).sum().backward()

        return step, 1e6

    def autograd_grad():
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        y = lib.tensor([[0.5, -1.0], [2.0, 0.25]])

        def step():
            out = (x * y + x).sum()
            return lib.autograd.grad(out, x)

        return step, 1e6

    def mlp_step():
        g = lib.Generator().manual_seed(0) if hasattr(lib, "Generator") else None
        kw = {"generator": g} if g is not None else {}
        x = lib.randn(64, 784, **kw)
        target = lib.randint(0, 10, (64,), **kw)
        w1 = (lib.randn(784, 128, **kw) * 0.05).requires_grad_()
        b1 = lib.zeros(128, requires_grad=True)
        w2 = (lib.randn(128, 10, **kw) * 0.09).requires_grad_()
        b2 = lib.zeros(10, requires_grad=True)

        def step():
            h = (x @ w1 + b1).relu()
            logits = h @ w2 + b2
            loss = -logits.log_softmax(dim=1).gather(1, target.unsqueeze(1)).mean()
            loss.backward()
            for p in (w1, b1, w2, b2):
                p.grad = None

        return step, 1e3

    def one_million(dtype: str = "float32") -> tuple[Any, Any]:
        g = lib.Generator().manual_seed(0)
        x = lib.randn(1000, 1000, generator=g).to(getattr(lib, dtype))
        y = (lib.rand(1000, 1000, generator=g) + 0.5).to(getattr(lib, dtype))
        return x, y

    def single(dtype: str, op: Callable[[Any, Any], Any]):
        def make():
            x, y = one_million(dtype)
            return (lambda: op(x, y)), 1e6

        return make

    def index_select_f32():
        x, _ = one_million()
        idx = lib.randint(0, 1000, (1000,), generator=lib.Generator().manual_seed(1))
        return (lambda: x.index_select(0, idx)), 1e6

    def from_numpy():
        import numpy as np

        a = np.zeros((4, 4), dtype=np.float32)
        return (lambda: lib.from_numpy(a)), 1e6

    def to_numpy():
        t = lib.zeros(4, 4)
        return (lambda: t.numpy()), 1e6

    def linear_small():
        x, w, b = lib.ones(8, 16), lib.ones(32, 16) * 0.5, lib.ones(32)
        return (lambda: lib.nn.functional.linear(x, w, b)), 1e6

    def transpose_copy():
        t = lib.ones(256, 256).t()
        return (lambda: t.contiguous()), 1e6

    def linear_bf16(m: int, k: int, n: int):
        def make():
            g = lib.Generator().manual_seed(0)
            x, w, b = (lib.randn(*s, generator=g).to(lib.bfloat16) for s in ((m, k), (n, k), (n,)))
            return (lambda: lib.nn.functional.linear(x, w, b)), 1e6

        return make

    def conv_bf16_tensors(grad: bool):
        g = lib.Generator().manual_seed(0)
        shapes = ((16, 64, 32, 32), (64, 64, 3, 3), (64,))
        return [lib.randn(*s, generator=g).to(lib.bfloat16).requires_grad_(grad) for s in shapes]

    def conv_bf16():
        x, w, b = conv_bf16_tensors(False)
        return (lambda: lib.nn.functional.conv2d(x, w, b, padding=1)), 1e6

    def conv_bf16_bwd():
        x, w, b = conv_bf16_tensors(True)
        gy = lib.ones(16, 64, 32, 32, dtype=lib.bfloat16)

        def step():
            lib.nn.functional.conv2d(x, w, b, padding=1).backward(gy)

        return step, 1e6

    def conv_bwd(dtype: Any, n: int, c: int, hw: int, groups: int = 1):
        """float32 / bfloat16 3x3 conv with padding 1 and c filters, forward + backward."""

        def make():
            g = lib.Generator().manual_seed(0)
            x = lib.randn(n, c, hw, hw, generator=g).to(dtype).requires_grad_()
            w = lib.randn(c, c // groups, 3, 3, generator=g) * 0.02
            w = w.to(dtype).requires_grad_()
            gy = lib.ones(n, c, hw, hw, dtype=dtype)

            def step():
                lib.nn.functional.conv2d(x, w, padding=1, groups=groups).backward(gy)

            return step, 1e6

        return make

    def in_unit_interval(op: Callable[[Any], Any]):
        def make():
            g = lib.Generator().manual_seed(0)
            u = lib.rand(1000, 1000, generator=g) * 1.98 - 0.99
            return (lambda: op(u)), 1e6

        return make

    def copysign_f16():
        x, y = one_million("float16")
        y = y - 1
        return (lambda: lib.copysign(x, y)), 1e6

    def activation_grad(op: Callable[[Any], Any]):
        def make():
            g = lib.Generator().manual_seed(0)
            x = lib.randn(1000, 1000, generator=g).requires_grad_(True)
            gy = lib.randn(1000, 1000, generator=g)
            y = op(x)
            return (lambda: lib.autograd.grad(y, x, gy, retain_graph=True)), 1e6

        return make

    f = lib.nn.functional
    ops = {
        "add_f16": single("float16", lambda x, y: x + y),
        "div_f32": single("float32", lambda x, y: x / y),
        "exp_f16": single("float16", lambda x, y: lib.exp(x)),
        "gelu_f32": single("float32", lambda x, y: f.gelu(x)),
        "erf_f32": single("float32", lambda x, y: lib.erf(x)),
        "sin_f32": single("float32", lambda x, y: lib.sin(x)),
        "cast_f16": single("float32", lambda x, y: x.to(lib.float16)),
        "relu_bf16": single("bfloat16", lambda x, y: lib.relu(x)),
        "sum_f16": single("float16", lambda x, y: x.sum()),
        "clamp_f32": single("float32", lambda x, y: x.clamp(-0.5, 0.5)),
        "topk_f32": single("float32", lambda x, y: x.topk(10, 1)),
        "index_select_f32": index_select_f32,
        "from_numpy": from_numpy,
        "to_numpy": to_numpy,
        "linear_small": linear_small,
        "transpose_copy": transpose_copy,
        "linear_bf16": linear_bf16(256, 1024, 1024),
        "linear_bf16_small": linear_bf16(64, 784, 128),
        "conv_bf16": conv_bf16,
        "conv_bf16_bwd": conv_bf16_bwd,
        "conv_deep_bwd": conv_bwd(lib.float32, 8, 512, 7),
        "conv_deep_bf16_bwd": conv_bwd(lib.bfloat16, 8, 512, 7),
        "conv_256_bwd": conv_bwd(lib.float32, 16, 256, 14),
        "conv_depthwise_bwd": conv_bwd(lib.float32, 16, 384, 14, groups=384),
        "addcmul_f32": single("float32", lambda x, y: lib.addcmul(x, x, y, value=0.5)),
        "lerp_f32": single("float32", lambda x, y: lib.lerp(x, y, 0.3)),
        "mul_inplace_f32": single("float32", lambda x, y: x.mul_(0.999999)),
        "addcmul_inplace_f32": single("float32", lambda x, y: x.addcmul_(y, y, value=1e-6)),
        "lerp_inplace_f32": single("float32", lambda x, y: x.lerp_(y, 0.001)),
        "softplus_f32": single("float32", lambda x, y: f.softplus(x)),
        "elu_f32": single("float32", lambda x, y: f.elu(x)),
        "flip_f32": single("float32", lambda x, y: x.flip(1)),
        "prod_f32": single("float32", lambda x, y: x.prod(1)),
        "neg_f16": single("float16", lambda x, y: -x),
        "normalize_f32": single("float32", lambda x, y: f.normalize(x, dim=1)),
        "atan_f32": single("float32", lambda x, y: lib.atan(x)),
        "tan_f32": single("float32", lambda x, y: lib.tan(x)),
        "atan2_f32": single("float32", lambda x, y: lib.atan2(x, y)),
        "exp2_f32": single("float32", lambda x, y: lib.exp2(x)),
        "log2_f32": single("float32", lambda x, y: lib.log2(y)),
        "log10_f32": single("float32", lambda x, y: lib.log10(y)),
        "fmod_f32": single("float32", lambda x, y: lib.fmod(x, y)),
        "remainder_f32": single("float32", lambda x, y: lib.remainder(x, y)),
        "pow_f32": single("float32", lambda x, y: lib.pow(y, x)),
        "copysign_f16": copysign_f16,
        "asin_f32": in_unit_interval(lambda u: lib.asin(u)),
        "erfinv_f32": in_unit_interval(lambda u: lib.erfinv(u)),
        "logsumexp_f32": single("float32", lambda x, y: x.logsumexp(1)),
        "lgamma_f32": single("float32", lambda x, y: lib.lgamma(x)),
        "digamma_f32": single("float32", lambda x, y: lib.digamma(x)),
        "trigamma_f32": single("float32", lambda x, y: lib.polygamma(1, x)),
        "sigmoid_bwd_f32": activation_grad(lib.sigmoid),
        "tanh_bwd_f32": activation_grad(lib.tanh),
        "silu_bwd_f32": activation_grad(f.silu),
        "gelu_bwd_f32": activation_grad(f.gelu),
        "elu_bwd_f32": activation_grad(f.elu),
    }

    def linear_nt(m: int, k: int, n: int):
        def make():
            g = lib.Generator().manual_seed(0)
            x, w = lib.randn(m, k, generator=g), lib.randn(n, k, generator=g)
            return (lambda: f.linear(x, w)), 1e6

        return make

    def scatter_amax():
        g = lib.Generator().manual_seed(0)
        idx = lib.randint(0, 1000, (5000,), generator=g)
        src = lib.randn(5000, generator=g)
        base = lib.zeros(1000)
        return (lambda: base.scatter_reduce(0, idx, src, "amax")), 1e6

    def backward_of(make: Callable[[], tuple[Callable[..., Any], tuple]]):
        """``make()`` gives a loss function and its inputs; the row times its backward."""

        def made():
            loss, inputs = make()

            def step():
                for t in inputs:
                    t.grad = None
                loss(*inputs).backward()

            return step, 1e6

        return made

    def cumsum_case():
        return (lambda x: x.cumsum(1).sum()), (one_million()[0].requires_grad_(),)

    def conv_transpose_case():
        g = lib.Generator().manual_seed(0)
        x = lib.randn(32, 64, 28, 28, generator=g).requires_grad_()
        w = lib.randn(64, 64, 3, 3, generator=g).requires_grad_()
        return (lambda x, w: f.conv_transpose2d(x, w, padding=1).sum()), (x, w)

    def lstm_case():
        lib.manual_seed(0)
        layer = lib.nn.LSTM(128, 256, batch_first=True)
        return (lambda x: layer(x)[0].sum()), (lib.randn(32, 50, 128, requires_grad=True),)

    ops.update(
        {
            "linear_8x2048": linear_nt(8, 2048, 2048),
            "linear_32x1024": linear_nt(32, 1024, 256),
            "scatter_amax": scatter_amax,
            "cummax_f32": single("float32", lambda x, y: x.cummax(1)),
            "cumsum_bwd_f32": backward_of(cumsum_case),
            "conv_transpose_s1_bwd": backward_of(conv_transpose_case),
            "lstm_bwd": backward_of(lstm_case),
        }
    )

    return {
        **ops,
        "add_small": add_small,
        "add_16m": add_16m,
        "sum_16m": sum_16m,
        "matmul_1024": matmul_1024,
        "backward_small": backward_small,
        "autograd_grad": autograd_grad,
        "mlp_step": mlp_step,
    }


def run_suite(lib: Any, quick: bool) -> dict[str, dict[str, Any]]:
    """Runs every row with ``lib`` (rtorch or torch); seconds per call, or the error."""
    results: dict[str, dict[str, Any]] = {}
    min_time = 0.05 if quick else 0.3
    for name, make in _cases(lib).items():
        try:
            fn, factor = make()
            sec = _timeit(fn, min_time, repeats=2 if quick else 3)
            results[name] = {"sec": sec, "factor": factor}
        except (AttributeError, NotImplementedError, TypeError) as e:
            results[name] = {"error": f"missing op ({type(e).__name__}: {str(e)[:60]})"}
        except Exception as e:  # noqa: BLE001 - report a real failure, keep benchmarking
            results[name] = {"error": f"error ({type(e).__name__}: {str(e)[:60]})"}
    return results


def _value(res: dict[str, Any] | None, unit: str) -> float | None:
    if res is None or "sec" not in res:
        return None
    if unit in ("GB/s", "GFLOP/s"):
        return res["factor"] / res["sec"]
    return res["sec"] * res["factor"]


def _cell(res: dict[str, Any] | None, unit: str) -> str:
    if res is None:
        return "n/a (no torch)"
    if "error" in res:
        return "n/a (missing op)" if res["error"].startswith("missing op") else "n/a (error)"
    v = _value(res, unit)
    return f"{v:,.2f} {unit}" if v is not None and v < 100 else f"{v:,.0f} {unit}"


def _torch_results(args: argparse.Namespace) -> tuple[dict[str, Any] | None, str]:
    exe = args.torch_python or os.environ.get("RTORCH_BENCH_TORCH_PYTHON")
    if not exe:
        try:
            import torch
        except ImportError:
            return None, "torch not importable here; pass --torch-python"
        return run_suite(torch, args.quick), f"torch {torch.__version__} (in-process)"
    cmd = [exe, os.path.abspath(__file__), "--worker", "torch"]
    if args.quick:
        cmd.append("--quick")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None, f"torch subprocess failed: {proc.stderr.strip()[-300:]}"
    payload = json.loads(proc.stdout.strip().splitlines()[-1])
    return payload["results"], f"torch {payload['version']} (subprocess {exe})"


def main() -> None:
    parser = argparse.ArgumentParser(description="rtorch vs PyTorch micro-benchmarks")
    parser.add_argument("--torch-python", help="interpreter with PyTorch installed")
    parser.add_argument("--quick", action="store_true", help="shorter timings (noisier)")
    parser.add_argument("--worker", choices=["torch", "rtorch"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        lib = __import__(args.worker)
        res = run_suite(lib, args.quick)
        print(json.dumps({"version": getattr(lib, "__version__", "?"), "results": res}))
        return

    import rtorch

    ours = run_suite(rtorch, args.quick)
    theirs, torch_desc = _torch_results(args)
    print(f"rtorch {rtorch.__version__} vs {torch_desc}; {os.cpu_count()} CPUs")
    header = ("benchmark", "rtorch", "torch", "rtorch time / torch time")
    rows = []
    for name, unit, desc in ROWS:
        r = ours.get(name)
        t = theirs.get(name) if theirs is not None else None
        ratio = "-"
        if r and t and "sec" in r and "sec" in t:
            ratio = f"{r['sec'] / t['sec']:.2f}x"
        rows.append((desc, _cell(r, unit), _cell(t, unit), ratio))
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(4)]
    line = " | ".join(h.ljust(w) for h, w in zip(header, widths))
    print(line)
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    for name, res in ours.items():
        if "error" in res:
            print(f"rtorch {name}: {res['error']}")


if __name__ == "__main__":
    sys.exit(main())
