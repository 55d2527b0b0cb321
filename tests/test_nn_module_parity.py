"""nn.Module behaviour side by side with PyTorch: nn_module_parity_program.py runs under
rtorch here and under PyTorch in its own interpreter, and both must print the same lines
(registration errors, iteration order, state_dict keys and messages, hooks, repr...).

PyTorch is found at ``$RTORCH_TORCH_PYTHON`` or ``/work/torchvenv``; without it the test
skips (CI has no PyTorch; the expected strings that matter most are also written out in
test_nn_module.py).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nn_module_parity_program.py")


def _torch_python() -> str | None:
    for candidate in (os.environ.get("RTORCH_TORCH_PYTHON", ""), "/work/torchvenv/bin/python"):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def _run(python: str, lib: str) -> str:
    done = subprocess.run(
        [python, PROGRAM, lib], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_module_behaviour_matches_pytorch():
    python = _torch_python()
    if python is None:
        pytest.skip("PyTorch is not installed (set RTORCH_TORCH_PYTHON to compare)")
    probe = subprocess.run([python, "-c", "import torch"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("the PyTorch interpreter cannot import torch")
    ours = _run(sys.executable, "rtorch").splitlines()
    theirs = _run(python, "torch").splitlines()
    assert len(ours) == len(theirs) > 50
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a == b, f"line {i}: rtorch {a!r} != torch {b!r}"
