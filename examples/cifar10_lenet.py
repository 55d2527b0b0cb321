"""The seed article's CIFAR-10 classifier: LeNet (Conv2d(3, 6, 5), pool, Conv2d(6, 16, 5),
Linear(400, 120), Linear(120, 84), Linear(84, 10)), batch 100, SGD(lr=0.001,
momentum=0.9), 10 epochs, with per-class accuracy at the end.

CIFAR-10 is read from ``--data`` in its official python format
(``<data>/cifar-10-batches-py/data_batch_1`` …). Without it, the program says where to get
it; ``--fake`` trains on random images (FakeData) so the program can be tried offline.

    python examples/cifar10_lenet.py --data ~/datasets [--epochs 10] [--workers 2]
    python examples/cifar10_lenet.py --fake

Set ``RTORCH_EXAMPLE_USE_TORCH=1`` to run the identical program on PyTorch/torchvision.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

if os.environ.get("RTORCH_EXAMPLE_USE_TORCH") == "1":
    import torch
    import torch.nn.functional as F
    from torch import nn, optim
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms
else:
    import rtorch as torch
    import rtorch.nn.functional as F
    from rtorch import nn, optim
    from rtorch.utils.data import DataLoader
    from rtorch.vision import datasets, transforms

CLASSES = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def datasets_for(args, transform):
    if args.fake:
        size = 1000 if args.smoke else 10000
        train = datasets.FakeData(size, (3, 32, 32), 10, transform=transform)
        test = datasets.FakeData(
            size // 5, (3, 32, 32), 10, transform=transform, random_offset=size
        )
        return train, test
    folder = os.path.join(args.data or "", "cifar-10-batches-py")
    if not args.data or not os.path.isdir(folder):
        sys.exit(
            "CIFAR-10 not found. Download the python version "
            "(https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz), extract it so that "
            f"{folder or '<data>/cifar-10-batches-py'}/data_batch_1 exists, and pass "
            "--data <data>; or run with --fake to try the program on random images."
        )
    train = datasets.CIFAR10(args.data, train=True, transform=transform)
    test = datasets.CIFAR10(args.data, train=False, transform=transform)
    return train, test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="folder holding cifar-10-batches-py")
    parser.add_argument("--fake", action="store_true", help="train on FakeData")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="a few batches, for tests")
    args = parser.parse_args()

    torch.manual_seed(0)
    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]
    )
    trainset, testset = datasets_for(args, transform)
    trainloader = DataLoader(
        trainset, batch_size=args.batch_size, shuffle=True, num_workers=args.workers
    )
    testloader = DataLoader(
        testset, batch_size=args.batch_size, shuffle=False, num_workers=args.workers
    )

    net = Net()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)

    epochs = 1 if args.smoke else args.epochs
    max_batches = None
    if args.smoke:  # FakeData has no signal to learn: check that one batch gets memorised
        trainloader = [next(iter(trainloader))] * 20
        max_batches = 20
    first_losses, last_losses = [], []
    start = time.perf_counter()
    for epoch in range(epochs):
        running_loss = 0.0
        for i, (inputs, labels) in enumerate(trainloader):
            if max_batches is not None and i >= max_batches:
                break
            optimizer.zero_grad()
            loss = criterion(net(inputs), labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            (first_losses if epoch == 0 and i < 3 else last_losses).append(loss.item())
            if i % 100 == 99:
                print(f"[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 100:.3f}")
                running_loss = 0.0
        print(f"epoch {epoch + 1} done ({time.perf_counter() - start:.1f}s)")

    correct = {c: 0 for c in CLASSES}
    total = {c: 0 for c in CLASSES}
    with torch.no_grad():
        for i, (images, labels) in enumerate(testloader):
            if args.smoke and i >= 2:
                break
            predictions = net(images).argmax(1)
            for label, prediction in zip(labels.tolist(), predictions.tolist()):
                total[CLASSES[label]] += 1
                correct[CLASSES[label]] += int(label == prediction)
    overall = sum(correct.values()) / max(sum(total.values()), 1)
    print(f"Accuracy of the network on the test images: {100 * overall:.1f} %")
    for c in CLASSES:
        if total[c]:
            print(f"Accuracy for class: {c:5s} is {100 * correct[c] / total[c]:.1f} %")
    if args.smoke:
        print(
            f"smoke: loss {sum(first_losses) / len(first_losses):.4f} -> "
            f"{sum(last_losses[-3:]) / 3:.4f}"
        )


if __name__ == "__main__":
    main()
