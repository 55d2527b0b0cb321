"""A tour of autograd: tensors that record their history, a graph rebuilt on every
iteration (so ordinary Python control flow decides its shape), a module returning two
outputs, backward, gradients, a hand-written SGD update and ``no_grad``.

    python examples/autograd_tour.py [--smoke]

Set ``RTORCH_EXAMPLE_USE_TORCH=1`` to run the identical program on PyTorch.
"""

from __future__ import annotations

import argparse
import os

if os.environ.get("RTORCH_EXAMPLE_USE_TORCH") == "1":
    import torch
    from torch import nn
else:
    import rtorch as torch
    from rtorch import nn


def tensors_and_gradients() -> None:
    print("== tensors and gradients")
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x + 2 * x).sum()  # y = sum(x^2 + 2x), dy/dx = 2x + 2
    print("y =", y, " grad_fn:", type(y.grad_fn).__name__)
    y.backward()
    print("x.grad =", x.grad, "(expected 2x + 2 =", (2 * x + 2).detach(), ")")


def dynamic_graph() -> None:
    print("== a graph that depends on the data")
    w = torch.tensor(0.5, requires_grad=True)
    for start in (0.3, 3.0):
        h = torch.tensor(start)
        steps = 0
        while h.abs() < 10 and steps < 20:  # how many multiplications runs is data-dependent
            h = h * (1 + w) + 1
            steps += 1
        h.backward()
        print(f"start {start}: {steps} steps, h = {h.item():.3f}, dh/dw = {w.grad.item():.3f}")
        w.grad = None


class TwoHeads(nn.Module):
    """A module with two outputs: a class score and a regression value."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(4, 8)
        self.classify = nn.Linear(8, 3)
        self.regress = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.relu(self.body(x))
        return self.classify(h), self.regress(h).squeeze(-1)


def manual_sgd(steps: int) -> None:
    print("== two outputs, one backward, a manual SGD update")
    torch.manual_seed(0)
    model = TwoHeads()
    x = torch.randn(64, 4)
    classes = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    target = x.sum(1)
    for step in range(steps):
        scores, value = model(x)
        loss = nn.functional.cross_entropy(scores, classes) + ((value - target) ** 2).mean()
        model.zero_grad()
        loss.backward()
        with torch.no_grad():  # the update itself must not be recorded
            for p in model.parameters():
                p -= 0.1 * p.grad
        if step % (steps // 5 or 1) == 0 or step == steps - 1:
            print(f"step {step:3d}: loss {loss.item():.4f}")
    with torch.no_grad():
        scores, _ = model(x)
    print("under no_grad, requires_grad =", scores.requires_grad)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="fewer steps, for tests")
    args = parser.parse_args()
    tensors_and_gradients()
    dynamic_graph()
    manual_sgd(20 if args.smoke else 200)


if __name__ == "__main__":
    main()
