"""benches/run.py: the side-by-side benchmark command produces its table and results file.

Only the runner's plumbing and output format are checked (one tiny workload, rtorch
alone); benchmark numbers are never asserted.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "benches" / "run.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(RUN), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_quick_single_workload_table_and_results_file(tmp_path):
    results = tmp_path / "RESULTS.md"
    proc = _run(
        "--quick", "--only", "add_4", "--rounds", "1", "--no-torch", "--results", str(results)
    )
    assert proc.returncode == 0, proc.stderr
    text = results.read_text()
    # The file holds exactly what was printed.
    assert text in proc.stdout
    for key in ("Date", "CPU", "SIMD flags", "Threads", "Command", "Load average"):
        assert re.search(rf"^- {key}[^:\n]*: \S", text, re.MULTILINE), key
    assert "--only add_4" in text
    # The extension the workers imported, with its size (release and development builds
    # run at different speeds).
    assert re.search(r"^- rtorch extension: \S*_C\.\S+ \([0-9.]+ MB\)$", text, re.MULTILINE)
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["workload", "unit", "rtorch", "rtorch peak RSS MiB"]
    assert set(lines[1]) <= {"|", "-"}
    assert len(lines) == 3  # header, rule, one workload
    row = [c.strip() for c in lines[2].strip("|").split("|")]
    assert row[0] == "add_4" and row[1] == "ops/s"
    # A positive throughput such as 351.7k, and a peak RSS with its growth after import.
    assert re.fullmatch(r"[0-9.]+[kM]?", row[2]) and float(row[2].rstrip("kM")) > 0, row
    assert re.fullmatch(r"\d+ \(\+\d+\)", row[3]), row
    assert "PyTorch not available" in text
    assert "Errors" not in text


def test_unknown_workload_is_a_usage_error():
    proc = _run("--only", "no_such_workload", "--no-torch")
    assert proc.returncode == 2
    assert "unknown workload" in proc.stderr and "add_4" in proc.stderr


def _load_runner():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_ratios_failures_and_geometric_mean():
    run = _load_runner()
    by_name = run.BY_NAME
    rows = [
        # throughput: ratio = rtorch / PyTorch
        (
            by_name["add_4"],
            {"value": 4e5, "rss_mib": 40.0, "rss_delta_mib": 1.0},
            {"value": 1e5, "rss_mib": 300.0, "rss_delta_mib": 2.0},
        ),
        # time (import): ratio = PyTorch / rtorch
        (by_name["import"], {"value": 100.0, "rss_mib": 30.0}, {"value": 400.0, "rss_mib": 200.0}),
        # a failure in one library: n/a, left out of the mean, error listed
        (
            by_name["softmax"],
            {"error": "AttributeError: no softmax"},
            {"value": 5.0, "rss_mib": 250.0},
        ),
    ]
    lines, summary, errors = run.build_table(rows, with_torch=True)
    cells = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
    assert cells[0][:5] == ["workload", "unit", "rtorch", "PyTorch", "ratio"]
    assert cells[2][4] == "4.00x" and cells[3][4] == "4.00x"
    assert cells[4][2] == "n/a" and cells[4][4] == "n/a"
    assert "Geometric mean of the 2 ratios" in summary and summary.endswith("4.00x")
    assert errors == ["softmax (rtorch): AttributeError: no softmax"]
