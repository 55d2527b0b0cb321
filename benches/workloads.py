"""The workloads of the side-by-side benchmark (issue 12's table), library-agnostic.

Each workload's ``setup(torch)`` receives the library module -- ``rtorch`` or PyTorch's
``torch`` -- builds its tensors and models with the public API only (``torch.nn``,
``torch.optim``, ``torch.nn.functional``), exactly as a PyTorch user writes them, and
returns ``(fn, work)``: the callable to time and the amount of work one call does in
the workload's unit (GFLOP, GB, ops or steps), so throughput = ``work / seconds``.
Nothing here imports either library: ``benches/run.py`` passes the module in, in a
fresh process per library.

The ``import`` workload is different: ``run.py`` times ``import <library>`` in fresh
interpreters itself (``kind == "import"``); its unit is milliseconds (lower is better).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

Setup = Callable[[Any], tuple[Callable[[], Any], float]]

N_16M = 16 * 1024 * 1024


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    unit: str  # throughput unit ("GFLOP/s", ...) or "ms" for the import row
    setup: Setup | None  # None for kind == "import"
    kind: str = "call"  # "call": time setup()'s callable; "import": time `import lib`
    training: bool = False  # its peak RSS is one of issue 12's targets

    @property
    def higher_is_better(self) -> bool:
        return self.unit != "ms"


# --------------------------------------------------------------------------- kernels


def _matmul(n: int, dtype_name: str = "float32") -> Setup:
    def setup(torch):
        torch.manual_seed(0)
        dtype = getattr(torch, dtype_name)
        a = torch.randn(n, n).to(dtype)
        b = torch.randn(n, n).to(dtype)
        return (lambda: a @ b), 2 * n**3 / 1e9

    return setup


def _bmm(torch):
    torch.manual_seed(0)
    a = torch.randn(64, 128, 128)
    b = torch.randn(64, 128, 128)
    return (lambda: torch.bmm(a, b)), 2 * 64 * 128**3 / 1e9


def _add_16m(torch):
    torch.manual_seed(0)
    x = torch.randn(N_16M)
    y = torch.randn(N_16M)
    return (lambda: x + y), 3 * 4 * N_16M / 1e9  # two reads and one write


def _broadcast_add(torch):
    torch.manual_seed(0)
    x = torch.randn(4096, 4096)
    row = torch.randn(1, 4096)
    return (lambda: x + row), (2 * 4096 * 4096 + 4096) * 4 / 1e9


def _sum_16m(torch):
    torch.manual_seed(0)
    x = torch.randn(N_16M)
    return (lambda: x.sum()), 4 * N_16M / 1e9


def _softmax(torch):
    torch.manual_seed(0)
    x = torch.randn(4096, 1024)
    F = torch.nn.functional
    return (lambda: F.softmax(x, dim=1)), 2 * 4 * 4096 * 1024 / 1e9  # one read, one write


def _add_4(torch):
    a = torch.tensor([1.0, 2.0, 3.0, 4.0])
    b = torch.tensor([0.5, 0.25, 0.125, 0.0625])
    return (lambda: a + b), 1.0


def _tiny_fwd_bwd(torch):
    w = torch.tensor([0.5, -1.0, 2.0, 0.25], requires_grad=True)
    a = torch.tensor([1.0, 2.0, 3.0, 4.0])
    b = torch.tensor([0.1, 0.2, -9.0, 0.4])

    def step():
        ((w * a + b).relu()).sum().backward()

    return step, 1.0


# -------------------------------------------------------------------------- training


def _train_step(torch, model, optimizer, criterion, inputs, targets) -> Callable[[], Any]:
    def step():
        optimizer.zero_grad()
        loss = criterion(model(inputs), targets)
        loss.backward()
        optimizer.step()

    return step


def _mlp_adam(torch):
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(64, 784)
    y = torch.randint(0, 10, (64,))
    return _train_step(torch, model, optimizer, nn.CrossEntropyLoss(), x, y), 1.0


def _mnist_cnn(torch):
    nn = torch.nn
    F = torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
            self.pool = nn.MaxPool2d(2, 2)
            self.fc1 = nn.Linear(1440, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            return self.fc2(x)

    torch.manual_seed(0)
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(64, 1, 28, 28)
    y = torch.randint(0, 10, (64,))
    return _train_step(torch, model, optimizer, nn.CrossEntropyLoss(), x, y), 1.0


def _cifar_lenet(torch):
    nn = torch.nn
    F = torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    torch.manual_seed(0)
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    x = torch.randn(100, 3, 32, 32)
    y = torch.randint(0, 10, (100,))
    return _train_step(torch, model, optimizer, nn.CrossEntropyLoss(), x, y), 1.0


def _resnet_block(torch):
    nn = torch.nn

    class BasicBlock(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + x)

    torch.manual_seed(0)
    block = BasicBlock(64)
    x = torch.randn(16, 64, 32, 32)

    def step():
        block.zero_grad()
        block(x).sum().backward()

    return step, 1.0


def _bilstm(torch):
    nn = torch.nn

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(1000, 64)
            self.lstm = nn.LSTM(64, 128, num_layers=2, bidirectional=True)
            self.out = nn.Linear(2 * 128, 1000)

        def forward(self, tokens):
            h, _ = self.lstm(self.embedding(tokens))  # (length, batch, 256)
            return self.out(h).reshape(-1, 1000)

    torch.manual_seed(0)
    model = Tagger()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    tokens = torch.randint(0, 1000, (35, 32))
    targets = torch.randint(0, 1000, (35 * 32,))
    return _train_step(torch, model, optimizer, nn.CrossEntropyLoss(), tokens, targets), 1.0


def _transformer_layer(torch):
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=256, nhead=8, batch_first=True)
    x = torch.randn(16, 128, 256)

    def step():
        layer.zero_grad()
        layer(x).sum().backward()

    return step, 1.0


WORKLOADS: list[Workload] = [
    Workload("matmul_256", "a @ b, 256x256 float32", "GFLOP/s", _matmul(256)),
    Workload("matmul_1024", "a @ b, 1024x1024 float32", "GFLOP/s", _matmul(1024)),
    Workload("bmm_64x128", "torch.bmm, 64 x (128x128 @ 128x128) float32", "GFLOP/s", _bmm),
    Workload("matmul_bf16_1024", "a @ b, 1024x1024 bfloat16", "GFLOP/s", _matmul(1024, "bfloat16")),
    Workload("add_16m", "x + y, 16M float32 (2 reads + 1 write)", "GB/s", _add_16m),
    Workload("broadcast_add", "x + row, 4096x4096 + 1x4096 float32", "GB/s", _broadcast_add),
    Workload("sum_16m", "x.sum(), 16M float32", "GB/s", _sum_16m),
    Workload("softmax", "F.softmax(x, dim=1), 4096x1024 float32", "GB/s", _softmax),
    Workload("add_4", "a + b, 4-element float32 (dispatch overhead)", "ops/s", _add_4),
    Workload(
        "tiny_fwd_bwd", "((w*a+b).relu()).sum().backward(), 4 elements", "iters/s", _tiny_fwd_bwd
    ),
    Workload(
        "mlp_adam", "MLP 784-128-10, Adam train step, batch 64", "steps/s", _mlp_adam, training=True
    ),
    Workload(
        "mnist_cnn",
        "MNIST CNN (conv 1-10 k5, pool, fc 1440-128-10), SGD momentum, batch 64",
        "steps/s",
        _mnist_cnn,
        training=True,
    ),
    Workload(
        "cifar_lenet",
        "CIFAR LeNet (seed's net), SGD momentum, batch 100",
        "steps/s",
        _cifar_lenet,
        training=True,
    ),
    Workload(
        "resnet_block",
        "ResNet basic block, 64 ch, 32x32, batch 16, fwd+bwd",
        "steps/s",
        _resnet_block,
        training=True,
    ),
    Workload(
        "bilstm",
        "2-layer BiLSTM (emb 1000x64, hidden 128, batch 32, len 35) + Linear + CE, Adam step",
        "steps/s",
        _bilstm,
        training=True,
    ),
    Workload(
        "transformer_layer",
        "TransformerEncoderLayer (256, 8 heads, batch 16, len 128, batch_first) fwd+bwd",
        "steps/s",
        _transformer_layer,
        training=True,
    ),
    Workload("import", "import <library> wall time, fresh interpreter", "ms", None, kind="import"),
]

BY_NAME: dict[str, Workload] = {w.name: w for w in WORKLOADS}
