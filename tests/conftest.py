"""Shared test helpers: numpy references and optional PyTorch parity."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rtorch

# Tolerances of PyTorch's assert_close by dtype.
TOL = {
    rtorch.float32: (1.3e-6, 1e-5),
    rtorch.float64: (1e-7, 1e-7),
    rtorch.float16: (1e-3, 1e-5),
    rtorch.bfloat16: (1.6e-2, 1e-5),
}

FLOAT_DTYPES = [rtorch.float32, rtorch.float64, rtorch.float16, rtorch.bfloat16]
INT_DTYPES = [rtorch.uint8, rtorch.int8, rtorch.int16, rtorch.int32, rtorch.int64]
ALL_DTYPES = FLOAT_DTYPES + INT_DTYPES + [rtorch.bool]


def run_script(script: str, **env: str) -> list[str]:
    """`script` run by a fresh Python with `env` added to this environment and the
    tests folder as its first argument (for `sys.path`); asserts it exits cleanly and
    returns its output's words. (A SIMD level or a kernel switch is chosen once per
    process, so other levels run in children.)"""
    r = subprocess.run(
        [sys.executable, "-c", script, str(Path(__file__).parent)],
        check=False,
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def same_bits_at_every_simd_level(script: str) -> bool:
    """Whether `script` prints the same in fresh processes at the machine's widest SIMD
    level, at avx2 and at the portable level (RTORCH_CPU_CAPABILITY)."""
    best = run_script(script)
    return all(
        run_script(script, RTORCH_CPU_CAPABILITY=level) == best for level in ("avx2", "default")
    )


def with_threads(n: int, fn):
    """`fn()` run with `n` threads, the previous count restored after."""
    old = rtorch.get_num_threads()
    rtorch.set_num_threads(n)
    try:
        return fn()
    finally:
        rtorch.set_num_threads(old)


def to_np(t: rtorch.Tensor) -> np.ndarray:
    """The tensor's values as a float64 (or integer/bool) numpy array."""
    if t.dtype == rtorch.bfloat16:
        t = t.float()
    # reshape keeps empty shapes like (0, 4), which tolist() alone loses.
    return np.array(t.tolist()).reshape(tuple(t.shape))


def assert_np_close(t: rtorch.Tensor, expected, rtol=None, atol=None) -> None:
    """Compares a tensor with a numpy reference using the dtype's tolerances."""
    r, a = TOL.get(t.dtype, (0.0, 0.0))
    rtol = r if rtol is None else rtol
    atol = a if atol is None else atol
    got = to_np(t)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)


@pytest.fixture
def torch_ref():
    """Real PyTorch for parity tests; skips where it is not installed."""
    return pytest.importorskip("torch")
