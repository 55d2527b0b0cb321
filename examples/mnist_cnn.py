"""Train a small CNN on MNIST: rtorch's main job, written the way a PyTorch user writes it.

The network is the seed article's: Conv2d(1, 10, 5) -> ReLU -> MaxPool2d(2, 2) ->
Linear(1440, 128) -> ReLU -> Linear(128, 10), trained with SGD (lr 0.01, momentum 0.9)
and cross-entropy on the MNIST digits bundled in ``data/mnist``. Each epoch shows a
progress bar with the running loss, then the test accuracy; the trained state_dict is
saved at the end, and ``--plot`` draws the loss/accuracy curves to a PNG.

    python examples/mnist_cnn.py [--epochs 3] [--batch-size 64] [--lr 0.01] [--workers 0]
                                 [--data data] [--out mnist_cnn.pt] [--plot curves.png]

Set ``RTORCH_EXAMPLE_USE_TORCH=1`` to run the identical program on PyTorch/torchvision
(``--data`` must then hold torchvision's ``MNIST/raw`` layout).
"""

from __future__ import annotations

import argparse
import os
import time

if os.environ.get("RTORCH_EXAMPLE_USE_TORCH") == "1":
    import torch
    from torch import nn, optim
    from torch.nn import functional as F
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms
else:
    import rtorch as torch
    from rtorch import nn, optim
    from rtorch.nn import functional as F
    from rtorch.utils.data import DataLoader
    from rtorch.vision import datasets, transforms

try:
    from tqdm import tqdm
except ImportError:  # the progress bar is a nicety; training does not need it
    tqdm = None


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(1440, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def train_epoch(model, loader, optimizer, criterion, device, epoch, max_batches=None):
    """One pass over the training set; returns the mean loss of each batch."""
    model.train()
    losses = []
    bar = tqdm(loader, desc=f"epoch {epoch}", unit="batch", leave=False) if tqdm else loader
    running = 0.0
    for i, (images, labels) in enumerate(bar):
        if max_batches is not None and i >= max_batches:
            break
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        running = 0.9 * running + 0.1 * losses[-1] if i else losses[-1]
        if tqdm and i % 20 == 0:
            bar.set_postfix(loss=f"{running:.4f}")
    return losses


def evaluate(model, loader, device, max_batches=None):
    """Accuracy on ``loader`` (a fraction)."""
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for i, (images, labels) in enumerate(loader):
            if max_batches is not None and i >= max_batches:
                break
            predictions = model(images.to(device)).argmax(dim=1)
            correct += (predictions == labels.to(device)).sum().item()
            total += labels.shape[0]
    return correct / max(total, 1)


def plot_curves(path, losses, accuracies, batches_per_epoch):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot needs matplotlib: pip install matplotlib")
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(losses, linewidth=0.5)
    ax1.set_xlabel("batch")
    ax1.set_ylabel("training loss")
    ax1.set_yscale("log")
    epochs = list(range(1, len(accuracies) + 1))
    ax2.plot(epochs, [100 * a for a in accuracies], marker="o")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("test accuracy (%)")
    ax2.set_xticks(epochs)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"curves saved to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Train the seed CNN on MNIST")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--test-batch-size", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "data"))
    parser.add_argument("--out", default="mnist_cnn.pt", help="where to save the state_dict")
    parser.add_argument("--plot", default=None, help="draw loss/accuracy curves to this PNG")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="a few batches, for tests")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]
    )
    train_set = datasets.MNIST(args.data, train=True, transform=transform)
    test_set = datasets.MNIST(args.data, train=False, transform=transform)
    train_loader = DataLoader(
        train_set, batch_size=args.batch_size, shuffle=True, num_workers=args.workers
    )
    test_loader = DataLoader(test_set, batch_size=args.test_batch_size, shuffle=False)

    model = Net().to(device)
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    criterion = nn.CrossEntropyLoss()

    max_train, max_test = (30, 2) if args.smoke else (None, None)
    epochs = 1 if args.smoke else args.epochs
    losses, accuracies = [], []
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        epoch_losses = train_epoch(
            model, train_loader, optimizer, criterion, device, epoch, max_train
        )
        losses += epoch_losses
        accuracies.append(evaluate(model, test_loader, device, max_test))
        print(
            f"epoch {epoch}: mean loss {sum(epoch_losses) / len(epoch_losses):.4f}, "
            f"test accuracy {100 * accuracies[-1]:.2f}% "
            f"({time.perf_counter() - start:.1f}s)"
        )
    if args.smoke:
        first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
        print(f"smoke: loss {first:.4f} -> {last:.4f}")
    torch.save(model.state_dict(), args.out)
    print(f"state_dict saved to {args.out}")
    if args.plot:
        plot_curves(args.plot, losses, accuracies, len(train_loader))


if __name__ == "__main__":
    main()
