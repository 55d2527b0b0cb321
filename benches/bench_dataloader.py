"""DataLoader throughput, rtorch vs PyTorch: one epoch over MNIST train (60k 28x28 uint8).

Each sample is converted in ``__getitem__`` like ToTensor + Normalize (uint8 -> float32 in
[0, 1], shape 1x28x28, then (x - 0.1307) / 0.3081) with the library's own tensor ops;
batches of 64 are collated by the default collate_fn, with num_workers 0 and 2.

    python benches/bench_dataloader.py [--torch-python /path/to/python-with-torch]
        [--samples N] [--workers 0 2]

PyTorch runs in this process when importable, else in a subprocess with the given
interpreter (or $RTORCH_BENCH_TORCH_PYTHON). Prints samples/s (higher is better).
The images are read from data/mnist (the IDX files); without them random images of the
same shape are used. With --vision, each library's own MNIST dataset and ToTensor +
Normalize transforms are used instead (rtorch.vision vs torchvision; needs data/mnist).
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST = os.path.join(ROOT, "data", "mnist", "train-images-idx3-ubyte.gz")
LABELS = os.path.join(ROOT, "data", "mnist", "train-labels-idx1-ubyte.gz")


def load_mnist(n: int) -> tuple[np.ndarray, np.ndarray]:
    if os.path.exists(MNIST) and os.path.exists(LABELS):
        with gzip.open(MNIST) as f:
            images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28).copy()
        with gzip.open(LABELS) as f:
            labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    else:
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, 60000)
    return images[:n], labels[:n]


class MnistLike:
    """Map-style dataset; the conversion uses the library given (rtorch or torch)."""

    def __init__(self, lib, images: np.ndarray, labels: np.ndarray) -> None:
        self.lib = lib
        self.images = images
        self.labels = labels.tolist()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        x = self.lib.from_numpy(self.images[i]).to(self.lib.float32).div(255).unsqueeze(0)
        x = x.sub(0.1307).div(0.3081)
        return x, self.labels[i]


def mnist_root() -> str:
    """A folder in torchvision's layout (root/MNIST/raw/<idx file>) made from data/mnist.

    torchvision only accepts the decompressed files, so they are written out once.
    """
    root = os.path.join(tempfile.gettempdir(), "bench-mnist")
    raw = os.path.join(root, "MNIST", "raw")
    os.makedirs(raw, exist_ok=True)
    folder = os.path.dirname(MNIST)
    for name in os.listdir(folder):
        target = os.path.join(raw, name.removesuffix(".gz"))
        if not os.path.exists(target):
            with gzip.open(os.path.join(folder, name)) as src, open(target + ".tmp", "wb") as dst:
                dst.write(src.read())
            os.replace(target + ".tmp", target)
    return root


def vision_dataset(lib_name: str, samples: int):
    """The library's own MNIST dataset with ToTensor + Normalize (PIL images per sample)."""
    vision = "rtorch.vision" if lib_name == "rtorch" else "torchvision"
    datasets = importlib.import_module(f"{vision}.datasets")
    transforms = importlib.import_module(f"{vision}.transforms")
    data = importlib.import_module(f"{lib_name}.utils.data")
    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]
    )
    dataset = datasets.MNIST(mnist_root(), train=True, transform=transform)
    return data.Subset(dataset, range(samples))


def run(lib_name: str, samples: int, workers: list[int], vision: bool = False) -> dict:
    lib = importlib.import_module(lib_name)
    data = importlib.import_module(f"{lib_name}.utils.data")
    if vision:
        dataset = vision_dataset(lib_name, samples)
    else:
        images, labels = load_mnist(samples)
        dataset = MnistLike(lib, images, labels)
    results = {}
    for w in workers:
        loader = data.DataLoader(dataset, batch_size=64, shuffle=True, num_workers=w)
        best = 0.0
        for _ in range(2):  # the better of two epochs: the machine is shared
            start = time.perf_counter()
            count = 0
            for x, y in loader:
                count += x.shape[0]
            elapsed = time.perf_counter() - start
            assert count == samples and tuple(x.shape[1:]) == (1, 28, 28)
            best = max(best, count / elapsed)
        results[str(w)] = best
    return results


def torch_results(
    python: str | None, samples: int, workers: list[int], vision: bool
) -> dict | None:
    try:
        import torch  # noqa: F401
    except ImportError:
        python = python or os.environ.get("RTORCH_BENCH_TORCH_PYTHON")
        if not python:
            return None
        cmd = [python, __file__, "--_child", "torch", "--samples", str(samples)]
        cmd += ["--vision"] if vision else []
        cmd += ["--workers"]
        out = subprocess.run(
            cmd + [str(w) for w in workers], check=True, capture_output=True, text=True
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    return run("torch", samples, workers, vision)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--torch-python")
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--vision", action="store_true", help="the libraries' MNIST + transforms")
    parser.add_argument("--_child")
    args = parser.parse_args()
    if args._child:
        print(json.dumps(run(args._child, args.samples, args.workers, args.vision)))
        return
    mine = run("rtorch", args.samples, args.workers, args.vision)
    theirs = torch_results(args.torch_python, args.samples, args.workers, args.vision)
    how = "vision MNIST + transforms" if args.vision else "ToTensor+Normalize in __getitem__"
    print(f"DataLoader, {args.samples} MNIST samples, batch 64, {how}")
    print(f"{'num_workers':>12} {'rtorch samples/s':>18} {'torch samples/s':>17} {'ratio':>7}")
    for w in args.workers:
        t = theirs[str(w)] if theirs else None
        ratio = f"{mine[str(w)] / t:7.2f}" if t else "    n/a"
        tt = f"{t:17.0f}" if t else f"{'n/a':>17}"
        print(f"{w:>12} {mine[str(w)]:18.0f} {tt} {ratio}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
