"""Transfer learning with ResNet-18, as in the seed article: load pretrained weights,
replace the final layer with ``Linear(num_ftrs, 10)`` and fine-tune.

``--weights`` takes a local file written by ``torch.save(torchvision.models.resnet18(
weights="IMAGENET1K_V1").state_dict(), path)`` (or by rtorch). Without it the network
starts from random initialisation (the program says so). Data: CIFAR-10 from ``--data``
(official python format), else FakeData so the program runs offline.

    python examples/resnet18_transfer.py [--weights resnet18.pth] [--data ~/datasets]
                                         [--epochs 1] [--freeze]

Set ``RTORCH_EXAMPLE_USE_TORCH=1`` to run the identical program on PyTorch/torchvision.
"""

from __future__ import annotations

import argparse
import os
import time

if os.environ.get("RTORCH_EXAMPLE_USE_TORCH") == "1":
    import torch
    from torch import nn, optim
    from torch.utils.data import DataLoader
    from torchvision import datasets, models, transforms
else:
    import rtorch as torch
    from rtorch import nn, optim
    from rtorch.utils.data import DataLoader
    from rtorch.vision import datasets, models, transforms


def build_model(weights: str | None, freeze: bool) -> nn.Module:
    model = models.resnet18()
    if weights:
        model.load_state_dict(torch.load(weights, map_location="cpu"))
        print(f"loaded pretrained weights from {weights}")
    else:
        print(
            "note: no --weights file given: fine-tuning from random initialisation "
            "(accuracy will be that of training from scratch)"
        )
    if freeze:
        for p in model.parameters():
            p.requires_grad = False
    num_ftrs = model.fc.in_features
    model.fc = nn.Linear(num_ftrs, 10)  # the new head is trainable either way
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="a resnet18 state_dict file")
    parser.add_argument("--data", default=None, help="folder holding cifar-10-batches-py")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--freeze", action="store_true", help="train only the new fc")
    parser.add_argument("--smoke", action="store_true", help="a few batches, for tests")
    args = parser.parse_args()

    torch.manual_seed(0)
    transform = transforms.Compose(
        [
            transforms.ToTensor(),
            transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ]
    )
    if args.data:
        train = datasets.CIFAR10(args.data, train=True, transform=transform)
        test = datasets.CIFAR10(args.data, train=False, transform=transform)
    else:
        n = 64 if args.smoke else 2000
        train = datasets.FakeData(n, (3, 32, 32), 10, transform=transform)
        test = datasets.FakeData(n // 4, (3, 32, 32), 10, transform=transform, random_offset=n)
    train_loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test, batch_size=args.batch_size)

    model = build_model(args.weights, args.freeze)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = optim.SGD(params, lr=0.001, momentum=0.9)
    criterion = nn.CrossEntropyLoss()

    max_batches = None
    if args.smoke:  # FakeData has no signal to learn: check that one batch gets memorised
        train_loader = [next(iter(train_loader))] * 6
    losses = []
    start = time.perf_counter()
    for epoch in range(1 if args.smoke else args.epochs):
        model.train()
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
        with torch.no_grad():
            for i, (images, labels) in enumerate(test_loader):
                if args.smoke and i >= 1:
                    break
                correct += (model(images).argmax(1) == labels).sum().item()
                total += labels.shape[0]
        print(
            f"epoch {epoch + 1}: last loss {losses[-1]:.4f}, test accuracy "
            f"{100 * correct / total:.1f}% ({time.perf_counter() - start:.1f}s)"
        )
    if args.smoke:
        print(f"smoke: loss {losses[0]:.4f} -> {losses[-1]:.4f}")


if __name__ == "__main__":
    main()
