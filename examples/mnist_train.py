"""Train a small MLP (784-128-10) on MNIST with rtorch, the way a PyTorch user would.

No ``nn``, no ``optim``: parameters are leaf tensors with ``requires_grad``, the loss is
a log-softmax cross-entropy, and SGD updates run under ``no_grad``. Prints the test
accuracy at the end of each epoch (about 97% after two epochs).

    python examples/mnist_train.py [--epochs 2] [--batch-size 64] [--lr 0.1]

Set ``RTORCH_EXAMPLE_USE_TORCH=1`` to run the identical program on PyTorch.
"""

from __future__ import annotations

import argparse
import gzip
import os
import struct
import time
from pathlib import Path

if os.environ.get("RTORCH_EXAMPLE_USE_TORCH") == "1":
    import torch
else:
    import rtorch as torch

DATA = Path(__file__).resolve().parent.parent / "data" / "mnist"


def read_idx(path: Path) -> torch.Tensor:
    """Reads an IDX file (optionally gzipped) into a uint8 tensor of its shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    body = raw[4 + 4 * ndim :]
    if hasattr(torch, "frombuffer"):
        flat = torch.frombuffer(bytearray(body), dtype=torch.uint8)
    else:
        try:  # numpy is optional: it only makes loading faster
            import numpy as np

            flat = torch.from_numpy(np.frombuffer(body, dtype=np.uint8).copy())
        except ImportError:
            flat = torch.tensor(list(body), dtype=torch.uint8)
    return flat.reshape(shape)


def load(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as normalised float32 rows of 784 values, labels as int64."""
    images = read_idx(DATA / f"{split}-images-idx3-ubyte.gz")
    labels = read_idx(DATA / f"{split}-labels-idx1-ubyte.gz")
    x = images.reshape(images.shape[0], 28 * 28).float() / 255.0
    x = (x - 0.1307) / 0.3081
    return x, labels.long()


def forward(x: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
    w1, b1, w2, b2 = params
    hidden = (x @ w1 + b1).relu()
    return hidden @ w2 + b2


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    log_probs = logits.log_softmax(dim=1)
    return -log_probs.gather(1, target.unsqueeze(1)).mean()


def accuracy(x: torch.Tensor, y: torch.Tensor, params: list[torch.Tensor]) -> float:
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], 1000):
            pred = forward(x[i : i + 1000], params).argmax(dim=1)
            correct += (pred == y[i : i + 1000]).sum().item()
    return correct / x.shape[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    t0 = time.perf_counter()
    x_train, y_train = load("train")
    x_test, y_test = load("t10k")
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    print(
        f"loaded {x_train.shape[0]} training and {x_test.shape[0]} test images "
        f"in {time.perf_counter() - t0:.1f}s"
    )

    # He initialisation for the ReLU layer, LeCun for the output layer.
    w1 = (torch.randn(784, args.hidden) * (2.0 / 784) ** 0.5).requires_grad_()
    b1 = torch.zeros(args.hidden, requires_grad=True)
    w2 = (torch.randn(args.hidden, 10) * (1.0 / args.hidden) ** 0.5).requires_grad_()
    b2 = torch.zeros(10, requires_grad=True)
    params = [w1, b1, w2, b2]

    n = x_train.shape[0]
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        total, batches = 0.0, 0
        for i in range(0, n, args.batch_size):
            idx = perm[i : i + args.batch_size]
            xb, yb = x_train[idx], y_train[idx]
            loss = cross_entropy(forward(xb, params), yb)
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= args.lr * p.grad
                    p.grad = None
            total += loss.item()
            batches += 1
        acc = accuracy(x_test, y_test, params)
        print(
            f"epoch {epoch}: train loss {total / batches:.4f}  "
            f"test accuracy {acc * 100:.2f}%  ({time.perf_counter() - t0:.1f}s)"
        )
    print(f"final test accuracy: {acc * 100:.2f}%")


if __name__ == "__main__":
    main()
