"""Linear regression with nn.Linear(1, 1), MSELoss and SGD(lr=0.01), as in the seed article.

Fits noisy samples of y = 3x - 2 for 100 epochs of mini-batches and prints the
recovered slope and intercept.

    python examples/linear_regression.py [--epochs 100] [--smoke]

Set ``RTORCH_EXAMPLE_USE_TORCH=1`` to run the identical program on PyTorch.
"""

from __future__ import annotations

import argparse
import os

if os.environ.get("RTORCH_EXAMPLE_USE_TORCH") == "1":
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset
else:
    import rtorch as torch
    from rtorch import nn
    from rtorch.utils.data import DataLoader, TensorDataset

TRUE_SLOPE, TRUE_INTERCEPT = 3.0, -2.0


class LinearRegressionModel(nn.Module):
    def __init__(self, input_dim: int, output_dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(input_dim, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--smoke", action="store_true", help="10 epochs, for tests")
    args = parser.parse_args()
    epochs = 10 if args.smoke else args.epochs

    torch.manual_seed(0)
    inputs = torch.rand(200, 1) * 4 - 2
    labels = TRUE_SLOPE * inputs + TRUE_INTERCEPT + 0.1 * torch.randn(200, 1)
    loader = DataLoader(TensorDataset(inputs, labels), batch_size=10, shuffle=True)

    model = LinearRegressionModel(1, 1)
    criterion = nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    for epoch in range(epochs):
        for x, y in loader:
            outputs = model(x)  # forward
            loss = criterion(outputs, y)
            optimizer.zero_grad()  # backward
            loss.backward()
            optimizer.step()  # update
        if epoch == 0 or (epoch + 1) % 10 == 0:
            with torch.no_grad():
                full = criterion(model(inputs), labels).item()
            print(f"epoch {epoch + 1:3d}: loss {full:.5f}")

    slope, intercept = model.linear.weight.item(), model.linear.bias.item()
    print(
        f"slope {slope:.3f} (true {TRUE_SLOPE}), intercept {intercept:.3f} (true {TRUE_INTERCEPT})"
    )


if __name__ == "__main__":
    main()
