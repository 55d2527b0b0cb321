"""Runs nn layer programs on rtorch (in process) and on real PyTorch (a subprocess).

A case file defines ``CASES = {name: fn(torch, F, nn, np) -> tensor | list of tensors}``;
an exception is recorded as ``"ExceptionClass: message"`` so error paths compare too.
PyTorch is found as the interpreter in ``RTORCH_TORCH_PYTHON`` or ``/work/torchvenv``;
where neither has torch (or ``RTORCH_TORCH_PYTHON=none``), ``torch_results`` returns None
and the parity tests skip.
Nothing here imports torch into the test process.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile

import numpy as np

_CANDIDATES = [os.environ.get("RTORCH_TORCH_PYTHON", ""), "/work/torchvenv/bin/python"]


def _evaluate(torch, F, nn, source: str) -> dict:
    ns: dict = {}
    exec(compile(source, "<cases>", "exec"), ns)  # noqa: S102 -- trusted test programs
    out = {}
    for name, fn in ns["CASES"].items():
        try:
            r = fn(torch, F, nn, np)
            r = list(r) if isinstance(r, (list, tuple)) else [r]
            out[name] = [np.array(x.detach().tolist()) for x in r]
        except Exception as e:  # noqa: BLE001 -- recorded: error paths are compared too
            out[name] = f"{type(e).__name__}: {e}"
    return out


def _to_plain(results: dict, path: str) -> None:
    """Writes `_evaluate`'s results as JSON (shape, flat values and dtype name per array):
    unlike a pickle of numpy arrays, it loads under any numpy version, where PyTorch's
    interpreter may have another numpy than the tested one."""
    plain = {
        name: r if isinstance(r, str) else [[a.shape, a.ravel().tolist(), str(a.dtype)] for a in r]
        for name, r in results.items()
    }
    with open(path, "w") as f:
        json.dump(plain, f)


def _from_plain(path: str) -> dict:
    """`_to_plain`'s file back as `_evaluate`'s results."""
    with open(path) as f:
        plain = json.load(f)
    return {
        name: r
        if isinstance(r, str)
        else [np.array(flat, dtype=dtype).reshape(shape) for shape, flat, dtype in r]
        for name, r in plain.items()
    }


def rtorch_results(source: str) -> dict:
    import rtorch
    import rtorch.nn
    import rtorch.nn.functional

    return _evaluate(rtorch, rtorch.nn.functional, rtorch.nn, source)


def torch_results(source: str) -> dict | None:
    if os.environ.get("RTORCH_TORCH_PYTHON") == "none":  # opt out of the (slow) parity runs
        return None
    python = next((p for p in _CANDIDATES if p and os.path.exists(p)), None)
    if python is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "cases.py")
        dst = os.path.join(tmp, "out.json")
        with open(src, "w") as f:
            f.write(source)
        here = os.path.dirname(os.path.abspath(__file__))
        code = (
            f"import sys; sys.path.insert(0, {here!r})\n"
            "import torch, torch.nn, torch.nn.functional\n"
            "from nn_layers_parity import _evaluate, _to_plain\n"
            f"src = open({src!r}).read()\n"
            "out = _evaluate(torch, torch.nn.functional, torch.nn, src)\n"
            f"_to_plain(out, {dst!r})\n"
        )
        proc = subprocess.run(
            [python, "-c", code], check=False, capture_output=True, text=True, timeout=120
        )
        if proc.returncode != 0:
            if "No module named 'torch'" in proc.stderr:
                return None
            raise RuntimeError(proc.stderr)
        return _from_plain(dst)


def compare(ours: dict, theirs: dict, rtol: float = 1e-7, atol: float = 1e-7) -> list[str]:
    """Names of the cases whose results differ (values, shapes or error messages)."""
    bad = []
    for name, expected in theirs.items():
        got = ours[name]
        if isinstance(expected, str) or isinstance(got, str):
            # PyTorch may append a C++ debug suffix after a newline.
            if (
                not isinstance(got, str)
                or not isinstance(expected, str)
                or got != expected.split("\n[")[0]
            ):
                bad.append(f"{name}: {got!r} vs {expected!r}")
            continue
        ok = len(got) == len(expected) and all(
            a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
            for a, b in zip(got, expected, strict=True)
        )
        if not ok:
            bad.append(name)
    return bad
