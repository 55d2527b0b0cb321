"""LeNet-5 (LeCun et al., 1998) in its common modern form (ReLU, max-pooling).

torchvision has no LeNet; the names here follow the PyTorch CIFAR-10 tutorial's ``Net``,
so its state_dicts load: ``conv1`` (in_channels -> 6, 5x5), ``conv2`` (6 -> 16, 5x5),
``fc1`` (16*5*5 -> 120), ``fc2`` (120 -> 84), ``fc3`` (84 -> num_classes); ``pool`` (2x2
max) and ``relu`` hold no parameters. The input is 32x32; for 28x28 MNIST digits pass
``padding=2`` (conv1 then pads as the original network's 32x32 framing did).
"""

from __future__ import annotations

from typing import Any

import rtorch
from rtorch import Tensor, nn

from ._api import _build, register_model

__all__ = ["LeNet5", "lenet5"]


class LeNet5(nn.Module):
    """LeNet-5.

    Args:
        num_classes: outputs of ``fc3`` (default 10).
        in_channels: input channels (1 for MNIST, 3 for CIFAR-10).
        padding: zero padding of ``conv1`` (0 for 32x32 inputs, 2 for 28x28).

    Shape:
        input (N, in_channels, 32 - 2*padding, 32 - 2*padding) -> output (N, num_classes).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, padding: int = 0) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 6, kernel_size=5, padding=padding)
        self.pool = nn.MaxPool2d(2, 2)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = rtorch.flatten(x, 1)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)


@register_model(None)
def lenet5(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> LeNet5:
    """LeNet-5; ``weights`` may be a path to a state_dict file (no published weights)."""
    return _build(LeNet5, None, weights, progress, kwargs)
