"""CI coverage of scripts/bad_input_sweep.py: a fixed, fast sample of targets (the ones
that used to panic or crash, plus a seeded sample of the rest) must give no panic and no
crash. The whole sweep: `python scripts/bad_input_sweep.py --jobs 2` (see its docstring).
"""

import importlib.util
import pathlib
import random

import rtorch

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "bad_input_sweep.py"

# Targets with past findings (issue 8), always swept.
KNOWN = [
    "fn:chunk",
    "fn:clamp_",
    "fn:mode",
    "fn:tensor_split",
    "fn:arange",
    "fn:randperm",
    "method:__floordiv__",
    "method:split",
    "module:TransformerEncoder",
]


def _load():
    spec = importlib.util.spec_from_file_location("bad_input_sweep", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_sweep_sample_has_no_panic_or_crash():
    sweep = _load()
    everything = sweep.targets(rtorch, set(sweep.KINDS))
    rest = sorted(set(everything) - set(KNOWN))
    names = KNOWN + sorted(random.Random(8).sample(rest, 6))
    findings = []
    _, calls, panics, crashes = sweep.sweep(
        "rtorch", names, mem_gb=8.0, timeout=60, jobs=2, out=findings.append
    )
    assert calls > 1000
    assert (panics, crashes) == (0, 0), "\n".join(findings)
