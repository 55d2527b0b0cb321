"""Saving and loading a model both ways, as the seed article shows: the whole model
(``torch.save(model)``, loaded with ``weights_only=False``) and its state_dict (the
recommended way), plus a safetensors file. After reloading, ``model.eval()`` outputs
are checked to be identical.

    python examples/save_load.py [--dir /tmp/rtorch_save_load]

Set ``RTORCH_EXAMPLE_USE_TORCH=1`` to run the identical program on PyTorch.
"""

from __future__ import annotations

import argparse
import os
import tempfile

if os.environ.get("RTORCH_EXAMPLE_USE_TORCH") == "1":
    import torch
    import torch.nn.functional as F
    from safetensors.torch import load_file, save_file
    from torch import nn
else:
    import rtorch as torch
    import rtorch.nn.functional as F
    from rtorch import nn
    from rtorch.safetensors import load_file, save_file


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3)
        self.bn = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6 * 6 * 6, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn(self.conv1(x))), 2)
        return self.fc(torch.flatten(x, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=None, help="where to write the files")
    parser.add_argument("--smoke", action="store_true", help="same run (it is fast)")
    args = parser.parse_args()
    folder = args.dir or tempfile.mkdtemp(prefix="rtorch_save_load_")
    os.makedirs(folder, exist_ok=True)

    torch.manual_seed(0)
    model = Net()
    # a few training steps so that BatchNorm's running statistics are not the defaults
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(5):
        x = torch.randn(16, 1, 14, 14)
        loss = model(x).logsumexp(1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    probe = torch.randn(4, 1, 14, 14)
    with torch.no_grad():
        expected = model(probe)

    # 1. the whole model (pickles the class by reference: loading needs weights_only=False)
    whole = os.path.join(folder, "model.pt")
    torch.save(model, whole)
    loaded_model = torch.load(whole, weights_only=False)
    loaded_model.eval()

    # 2. the state_dict into a fresh instance (weights_only=True, the default, suffices)
    weights = os.path.join(folder, "model_state_dict.pt")
    torch.save(model.state_dict(), weights)
    fresh = Net()
    fresh.load_state_dict(torch.load(weights))
    fresh.eval()

    # 3. safetensors
    st = os.path.join(folder, "model.safetensors")
    save_file(model.state_dict(), st)
    from_st = Net()
    from_st.load_state_dict(load_file(st))
    from_st.eval()

    with torch.no_grad():
        for name, m in [
            ("whole model", loaded_model),
            ("state_dict", fresh),
            ("safetensors", from_st),
        ]:
            same = torch.equal(m(probe), expected)
            print(f"{name:12s}: outputs identical = {same}")
            if not same:
                raise SystemExit(f"{name}: reloaded outputs differ")
    print(f"files in {folder}: {sorted(os.listdir(folder))}")


if __name__ == "__main__":
    main()
