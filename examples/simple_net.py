"""A 784-128-10 MLP with ReLU, trained with Adam(lr=0.001) on MNIST, with a validation
loop under ``no_grad`` after every epoch.

    python examples/simple_net.py [--epochs 2] [--batch-size 64] [--data data] [--smoke]

Set ``RTORCH_EXAMPLE_USE_TORCH=1`` to run the identical program on PyTorch/torchvision
(``--data`` must then hold torchvision's ``MNIST/raw`` layout).
"""

from __future__ import annotations

import argparse
import os
import time

if os.environ.get("RTORCH_EXAMPLE_USE_TORCH") == "1":
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, random_split
    from torchvision import datasets, transforms
else:
    import rtorch as torch
    from rtorch import nn
    from rtorch.utils.data import DataLoader, random_split
    from rtorch.vision import datasets, transforms


class SimpleNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.layers = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.flatten(x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "data"))
    parser.add_argument("--smoke", action="store_true", help="a few batches, for tests")
    args = parser.parse_args()

    torch.manual_seed(0)
    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]
    )
    full = datasets.MNIST(args.data, train=True, transform=transform)
    train_set, val_set = random_split(
        full, [55000, 5000], generator=torch.Generator().manual_seed(0)
    )
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=1000)

    model = SimpleNet()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)

    max_batches = 40 if args.smoke else None
    epochs = 1 if args.smoke else args.epochs
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        losses = []
        for i, (images, labels) in enumerate(train_loader):
            if max_batches is not None and i >= max_batches:
                break
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())

        model.eval()
        correct = total = 0
        val_loss = 0.0
        with torch.no_grad():
            for i, (images, labels) in enumerate(val_loader):
                if max_batches is not None and i >= 1:
                    break
                outputs = model(images)
                val_loss += criterion(outputs, labels).item() * labels.shape[0]
                correct += (outputs.argmax(1) == labels).sum().item()
                total += labels.shape[0]
        print(
            f"epoch {epoch}: train loss {sum(losses) / len(losses):.4f}, "
            f"val loss {val_loss / total:.4f}, val accuracy {100 * correct / total:.2f}% "
            f"({time.perf_counter() - start:.1f}s)"
        )
    if args.smoke:
        print(f"smoke: loss {sum(losses[:5]) / 5:.4f} -> {sum(losses[-5:]) / 5:.4f}")


if __name__ == "__main__":
    main()
