"""Every program in examples/ runs in its --smoke mode (a few batches) and learns: its
loss goes down. The full runs are measured by hand (README), not in CI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run_example(name: str, *args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=240,
        cwd=cwd,
    )
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def assert_smoke_loss_went_down(output: str) -> None:
    match = re.search(r"smoke: loss ([\d.]+) -> ([\d.]+)", output)
    assert match, output
    first, last = float(match.group(1)), float(match.group(2))
    assert last < first, output


@pytest.mark.parametrize(
    "name, extra",
    [
        ("mnist_cnn.py", ["--out", "{tmp}/mnist_cnn.pt"]),
        ("simple_net.py", []),
        ("cifar10_lenet.py", ["--fake"]),
        ("bilstm_tagger.py", []),
        ("resnet18_transfer.py", []),
    ],
)
def test_training_examples_learn(name: str, extra: list[str], tmp_path: Path) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    assert_smoke_loss_went_down(run_example(name, "--smoke", *args, cwd=tmp_path))


def test_mnist_cnn_saves_a_loadable_state_dict(tmp_path: Path) -> None:
    out = tmp_path / "net.pt"
    run_example("mnist_cnn.py", "--smoke", "--out", str(out), cwd=tmp_path)
    import rtorch

    state = rtorch.load(out)
    assert list(state.keys()) == [
        "conv1.weight",
        "conv1.bias",
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
    ]
    assert state["fc1.weight"].shape == (128, 1440)


def test_linear_regression_recovers_the_line() -> None:
    output = run_example("linear_regression.py")
    match = re.search(r"slope ([-\d.]+) .*intercept ([-\d.]+)", output)
    assert match, output
    assert abs(float(match.group(1)) - 3.0) < 0.05
    assert abs(float(match.group(2)) + 2.0) < 0.05


def test_save_load_reloads_identical_outputs(tmp_path: Path) -> None:
    output = run_example("save_load.py", "--dir", str(tmp_path))
    assert output.count("outputs identical = True") == 3, output
    assert (tmp_path / "model.safetensors").exists()


def test_autograd_tour_runs() -> None:
    output = run_example("autograd_tour.py", "--smoke")
    assert "x.grad = tensor([4., 6., 8.])" in output
    assert "under no_grad, requires_grad = False" in output
    losses = [float(v) for v in re.findall(r"loss ([\d.]+)", output)]
    assert losses[-1] < losses[0]
