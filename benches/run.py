"""rtorch vs PyTorch, side by side: the one benchmark command (issue 12).

    python benches/run.py [--torch-python /path/to/python-with-torch] [--rounds 3]
                          [--quick] [--only NAME ...] [--threads N] [--no-torch]
                          [--results benches/RESULTS.md]

Every workload of ``benches/workloads.py`` runs once per round in each library, each
in its own fresh subprocess (rtorch with this interpreter, PyTorch with
``--torch-python``, ``$RTORCH_BENCH_TORCH_PYTHON`` or this interpreter when it can
import torch), the two libraries alternating which goes first. A subprocess warms the
workload up, times it for a fixed minimum duration and prints the median time per call
and its peak RSS as JSON. The parent reports the median over rounds, the throughput
ratio rtorch/PyTorch (higher is better for rtorch), the peak RSS of each and the
geometric mean of the ratios, and writes the same table to ``--results``.

A workload that fails in a library reads ``n/a`` with the error below the table; the
run goes on. ``python benches/run.py --worker LIB NAME ...`` is the subprocess side.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import math
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workloads import BY_NAME, WORKLOADS, Workload

RESULT_TAG = "BENCH_RESULT "
# Environment variables that change either library's threading or SIMD level; recorded
# when set.
TUNING_ENV = (
    "OMP_WAIT_POLICY",
    "KMP_BLOCKTIME",
    "MKL_NUM_THREADS",
    "RTORCH_CPU_CAPABILITY",
    "RTORCH_DISABLE_AMX",
    "ATEN_CPU_CAPABILITY",
    "ONEDNN_MAX_CPU_ISA",
    "MKL_ENABLE_INSTRUCTIONS",
)
LIBS = ("rtorch", "torch")
SIMD_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "asimd",
    "sve",
)


# ------------------------------------------------------------------- worker (child)


def _peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _median_seconds(fn: Any, min_time: float, min_samples: int) -> tuple[float, int]:
    """Median seconds per call of ``fn`` over batches filling at least ``min_time``."""
    t0 = time.perf_counter()
    fn()  # the first call pays for lazy initialisation
    per_call = time.perf_counter() - t0
    if per_call < 0.1 * min_time:
        # Warm up for a tenth of the budget; a slower first call was warm-up enough.
        warm_until = t0 + per_call + 0.1 * min_time
        calls, t0 = 0, time.perf_counter()
        while time.perf_counter() < warm_until:
            fn()
            calls += 1
        per_call = min(per_call, (time.perf_counter() - t0) / max(calls, 1))
    # Batches of ~1/20 of the budget, so the median has samples to choose from and
    # the timer's resolution is irrelevant even for sub-microsecond calls.
    batch = max(1, int(min_time / 20 / max(per_call, 1e-9)))
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < min_samples or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - t0) / batch)
    return statistics.median(samples), batch * len(samples)


def _import_library(lib: str) -> Any:
    if lib == "rtorch":
        import rtorch as module
    else:
        import torch as module
    return module


def _compile_bytecode(pythons: dict[str, str]) -> None:
    """Writes each library's bytecode, as `pip install` does, before `import` is timed.

    A library imported from a source tree (rtorch with `PYTHONPATH=python`) under
    `PYTHONDONTWRITEBYTECODE=1` would otherwise compile every module in every timed
    import, which an installed package never does.
    """
    code = (
        "import compileall, importlib.util, os, sys\n"
        "spec = importlib.util.find_spec(sys.argv[1])\n"
        "compileall.compile_dir(os.path.dirname(spec.origin), quiet=1)\n"
    )
    for lib, python in pythons.items():
        # An installed package's directory may not be writable; it has its bytecode.
        subprocess.run([python, "-c", code, lib], capture_output=True, check=False)


def worker(lib: str, name: str, min_time: float, min_samples: int, threads: int) -> dict:
    """Time one workload in this process and return the JSON-able result."""
    workload = BY_NAME[name]
    out: dict[str, Any] = {"lib": lib, "workload": name}
    try:
        if workload.kind == "import":
            t0 = time.perf_counter()
            module = _import_library(lib)
            out["seconds"] = time.perf_counter() - t0
            out["rss_peak_kib"] = _peak_rss_kib()
            out["version"] = str(module.__version__)
            return out
        module = _import_library(lib)
        out["version"] = str(module.__version__)
        module.set_num_threads(threads)
        out["threads"] = module.get_num_threads()
        out["rss_base_kib"] = _peak_rss_kib()
        fn, work = workload.setup(module)
        seconds, calls = _median_seconds(fn, min_time, min_samples)
        out.update(seconds=seconds, work=work, calls=calls, rss_peak_kib=_peak_rss_kib())
    except Exception as exc:  # noqa: BLE001 -- any failure is data; the parent goes on
        lines = traceback.format_exception_only(type(exc), exc)
        out["error"] = "".join(lines).strip().splitlines()[-1][:500]
    return out


# -------------------------------------------------------------------- parent side


def _run_child(python: str, lib: str, name: str, opts: dict) -> dict:
    cmd = [python, str(Path(__file__).resolve()), "--worker", lib, name]
    cmd += ["--min-time", repr(opts["min_time"]), "--samples", str(opts["samples"])]
    cmd += ["--threads", str(opts["threads"])]
    timeout = opts["timeout"]
    env = dict(os.environ)
    # Both libraries see the same thread count, also in OpenMP/MKL pools they may start.
    env["OMP_NUM_THREADS"] = str(opts["threads"])
    env["RAYON_NUM_THREADS"] = str(opts["threads"])
    try:
        proc = subprocess.run(
            cmd, check=False, capture_output=True, text=True, timeout=timeout, env=env
        )
    except subprocess.TimeoutExpired:
        return {"lib": lib, "workload": name, "error": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG) :])
    tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1][:300]
    return {"lib": lib, "workload": name, "error": f"worker exited {proc.returncode}: {tail}"}


def _can_import_torch(python: str) -> bool:
    try:
        proc = subprocess.run(
            [python, "-c", "import torch"], capture_output=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def find_torch_python(requested: str | None, no_torch: bool) -> str | None:
    if no_torch:
        return None
    candidates = [requested] if requested else []
    if not requested:
        candidates.append(sys.executable)
        env = os.environ.get("RTORCH_BENCH_TORCH_PYTHON")
        if env:
            candidates.append(env)
    for python in candidates:
        if _can_import_torch(python):
            return python
    if requested:
        print(f"warning: {requested} cannot import torch; rtorch alone", file=sys.stderr)
    return None


def _summarise(workload: Workload, runs: list[dict]) -> dict:
    """Median over rounds of one library's results, or the first error."""
    good = [r for r in runs if "error" not in r]
    if not good:
        return {"error": runs[0]["error"] if runs else "not run"}
    seconds = statistics.median(r["seconds"] for r in good)
    if workload.kind == "import":
        value = seconds * 1e3
    else:
        value = statistics.median(r["work"] / r["seconds"] for r in good)
    peak = max(r["rss_peak_kib"] for r in good) / 1024
    base = [r["rss_base_kib"] / 1024 for r in good if "rss_base_kib" in r]
    summary = {"value": value, "rss_mib": peak, "version": good[0].get("version")}
    if base:
        summary["rss_delta_mib"] = peak - min(base)
    return summary


def _ratio(workload: Workload, ours: dict, theirs: dict | None) -> float | None:
    if theirs is None or "value" not in ours or "value" not in theirs:
        return None
    if workload.higher_is_better:
        return ours["value"] / theirs["value"]
    return theirs["value"] / ours["value"]


def _fmt_value(summary: dict | None) -> str:
    if summary is None:
        return "-"
    if "value" not in summary:
        return "n/a"
    v = summary["value"]
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e4:
        return f"{v / 1e3:.1f}k"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def _fmt_rss(summary: dict | None) -> str:
    if summary is None or "rss_mib" not in summary:
        return "-" if summary is None else "n/a"
    text = f"{summary['rss_mib']:.0f}"
    if "rss_delta_mib" in summary:
        text += f" (+{summary['rss_delta_mib']:.0f})"
    return text


def build_table(rows: list[tuple[Workload, dict, dict | None]], with_torch: bool):
    """Markdown table lines, the geometric mean line and the error lines."""
    header = ["workload", "unit", "rtorch"]
    if with_torch:
        header += ["PyTorch", "ratio"]
    header += ["rtorch peak RSS MiB"]
    if with_torch:
        header += ["PyTorch peak RSS MiB"]
    body, ratios, errors = [], [], []
    for workload, ours, theirs in rows:
        ratio = _ratio(workload, ours, theirs)
        cells = [workload.name, workload.unit, _fmt_value(ours)]
        if with_torch:
            cells += [_fmt_value(theirs), "n/a" if ratio is None else f"{ratio:.2f}x"]
        cells.append(_fmt_rss(ours))
        if with_torch:
            cells.append(_fmt_rss(theirs))
        body.append(cells)
        if ratio is not None:
            ratios.append(ratio)
        for lib, summary in (("rtorch", ours), ("PyTorch", theirs)):
            if summary is not None and "error" in summary:
                errors.append(f"{workload.name} ({lib}): {summary['error']}")
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    lines = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [line(cells) for cells in body]
    if ratios:
        gmean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        summary = f"Geometric mean of the {len(ratios)} ratios (rtorch/PyTorch): {gmean:.2f}x"
    elif with_torch:
        summary = "Geometric mean: n/a (no workload ran in both libraries)"
    else:
        summary = "PyTorch not available: rtorch's numbers alone."
    return lines, summary, errors


def _version(results: dict, lib: str) -> str:
    for (_, which), runs in results.items():
        for r in runs:
            if which == lib and "version" in r:
                return r["version"]
    return "?"


def machine_info() -> dict[str, str]:
    model, flags = "", set()
    try:
        for raw in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = raw.partition(":")
            key = key.strip()
            if key == "model name" and not model:
                model = value.strip()
            elif key in ("flags", "Features") and not flags:
                flags = set(value.split())
    except OSError:
        pass
    return {
        "cpu": model or platform.processor() or platform.machine(),
        "simd": " ".join(f for f in SIMD_FLAGS if f in flags) or "unknown",
        "cpus": str(os.cpu_count()),
    }


def extension_info() -> str:
    """The compiled extension the rtorch workers import: its file and size, found without
    importing rtorch here. A release build (what `pip install .` makes) and a development
    build differ in speed; the size tells them apart (the release one is stripped)."""
    spec = importlib.util.find_spec("rtorch")
    if spec is None or not spec.submodule_search_locations:
        return "unknown"
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("_C.*"))
    if not found:
        return "unknown"
    return f"{found[0]} ({found[0].stat().st_size / 1e6:.1f} MB)"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def render_results(meta: dict[str, str], table: list[str], summary: str, errors: list[str]):
    out = ["# Benchmark results: rtorch vs PyTorch", ""]
    out += [f"- {key}: {value}" for key, value in meta.items()]
    out += [
        "",
        "Throughput medians over rounds (higher is better; `import` is milliseconds, lower is",
        "better). ratio = rtorch throughput / PyTorch throughput (for `import`: PyTorch's time /",
        "rtorch's), above 1 means rtorch is faster. Peak RSS: the process's maximum resident",
        "set size, with the growth after importing the library in parentheses.",
        "",
        *table,
        "",
        summary,
    ]
    if errors:
        out += ["", "Errors:", ""] + [f"- {e}" for e in errors]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--torch-python", help="interpreter that can import PyTorch")
    parser.add_argument("--no-torch", action="store_true", help="rtorch alone")
    parser.add_argument("--rounds", type=int, help="rounds per library (default 3, quick 1)")
    parser.add_argument("--quick", action="store_true", help="short timings (noisier)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="workloads to run")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--results", default=str(HERE / "RESULTS.md"), help="where to write")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    parser.add_argument("--min-time", type=float, help="seconds of timing per subprocess")
    parser.add_argument("--samples", type=int, help="minimum timed batches (default 3, quick 1)")
    parser.add_argument("--worker", nargs=2, metavar=("LIB", "NAME"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        lib, name = args.worker
        result = worker(lib, name, args.min_time or 1.0, args.samples or 3, args.threads)
        print(RESULT_TAG + json.dumps(result), flush=True)
        return
    if args.list:
        for w in WORKLOADS:
            print(f"{w.name:18s} {w.unit:8s} {w.description}")
        return

    names = args.only or [w.name for w in WORKLOADS]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; known: {', '.join(BY_NAME)}")
    workloads = [BY_NAME[n] for n in names]
    rounds = args.rounds or (1 if args.quick else 3)
    min_time = args.min_time or (0.25 if args.quick else 1.0)
    imports = 3 if args.quick else 5  # fresh interpreters per round for `import`
    opts = {
        "min_time": min_time,
        "samples": args.samples or (1 if args.quick else 3),
        "threads": args.threads,
        "timeout": 120.0 if args.quick else 300.0,
    }

    load_start = load_average()
    torch_python = find_torch_python(args.torch_python, args.no_torch)
    pythons = {"rtorch": sys.executable}
    libs = ["rtorch"]
    if torch_python:
        pythons["torch"] = torch_python
        libs.append("torch")

    if any(w.kind == "import" for w in workloads):
        _compile_bytecode(pythons)

    results: dict[tuple[str, str], list[dict]] = {}
    started = time.perf_counter()
    for rnd in range(rounds):
        for i, w in enumerate(workloads):
            # Alternate which library goes first, so neither always meets a warmer cache.
            order = libs if (rnd + i) % 2 == 0 else libs[::-1]
            for lib in order:
                repeat = imports if w.kind == "import" else 1
                for _ in range(repeat):
                    r = _run_child(pythons[lib], lib, w.name, opts)
                    results.setdefault((w.name, lib), []).append(r)
            print(f"round {rnd + 1}/{rounds}: {w.name} done", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started

    rows = []
    for w in workloads:
        ours = _summarise(w, results[(w.name, "rtorch")])
        theirs = _summarise(w, results[(w.name, "torch")]) if torch_python else None
        rows.append((w, ours, theirs))
    table, summary, errors = build_table(rows, torch_python is not None)

    load_end = load_average()
    info = machine_info()
    command = "python benches/run.py" + "".join(" " + shlex.quote(a) for a in sys.argv[1:])
    versions = f"rtorch {_version(results, 'rtorch')}"
    if torch_python:
        versions += f", PyTorch {_version(results, 'torch')} ({torch_python})"
    meta = {
        "Date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": f"{info['cpu']} ({info['cpus']} logical CPUs)",
        "SIMD flags": info["simd"],
        "Threads": f"{args.threads} (set_num_threads in both libraries)",
        "Versions": f"{versions}; Python {platform.python_version()}",
        "rtorch extension": extension_info(),
        "Command": f"`{command}`",
        "Rounds": f"{rounds}; per subprocess at least {min_time} s and {opts['samples']} batches"
        " of timing",
        "Load average (1/5/15 min)": f"{load_start} at start, {load_end} at end",
        "Wall time": f"{elapsed:.0f} s",
    }
    tuning = [f"{k}={os.environ[k]}" for k in TUNING_ENV if k in os.environ]
    if tuning:
        meta["Environment"] = " ".join(tuning)
    if "RTORCH_CPU_CAPABILITY" in os.environ:
        meta["SIMD level"] = (
            "rtorch's kernels and matrix products at RTORCH_CPU_CAPABILITY (only the"
            " torch.linalg decompositions pick their own)"
        )
    busy = [float(x.split()[0]) for x in (load_start, load_end) if x != "unknown"]
    if busy and max(busy) > 0.5 * (os.cpu_count() or 1):
        meta["Note"] = (
            "the machine was loaded by other work during this run (see the load average);"
            " the numbers are indicative only, re-run on a quiet machine"
        )
    text = render_results(meta, table, summary, errors)
    print()
    print(text, end="")
    Path(args.results).write_text(text)
    print(f"\nwritten to {args.results}", file=sys.stderr)


if __name__ == "__main__":
    main()
