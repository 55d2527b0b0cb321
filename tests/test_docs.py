"""Every ```python block in docs/*.md runs against the current tree.

Each page runs in its own subprocess (a fresh interpreter, a temporary working directory),
its blocks in order in one namespace, the way a reader would paste them. A block whose
first line is ``# raises: ErrorName`` must raise an exception of that class name.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(DOCS.glob("*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
RAISES = re.compile(r"#\s*raises:\s*(\w+)")

# Runs inside the subprocess: argv[1] is the page; exits 1 with a message on the first
# block that fails (or that does not raise what its marker says).
RUNNER = r"""
import faulthandler, re, signal, sys, traceback, types
# A page that hangs is sent SIGUSR1 before it is killed: every thread's stack (and those
# of forked children, which inherit the handler) goes to stderr.
faulthandler.register(signal.SIGUSR1, all_threads=True)
text = open(sys.argv[1], encoding="utf-8").read()
blocks = re.findall(r"^```python\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
# A fresh __main__ module, so classes defined in a block can be pickled.
main = types.ModuleType("__main__")
sys.modules["__main__"] = main
namespace = main.__dict__
for number, source in enumerate(blocks, 1):
    first = source.splitlines()[0] if source.strip() else ""
    marker = re.match(r"#\s*raises:\s*(\w+)", first)
    code = compile(source, f"{sys.argv[1]}[block {number}]", "exec")
    print(f"running block {number}", file=sys.stderr, flush=True)
    try:
        exec(code, namespace)
    except BaseException as error:
        if marker and type(error).__name__ == marker.group(1):
            continue
        traceback.print_exc()
        print(f"block {number} failed:\n{source}", file=sys.stderr)
        sys.exit(1)
    if marker:
        print(f"block {number} did not raise {marker.group(1)}:\n{source}", file=sys.stderr)
        sys.exit(1)
print(len(blocks))
"""


def test_docs_exist() -> None:
    names = {page.name for page in PAGES}
    for name in ("README.md", "tensors.md", "autograd.md", "nn.md", "optim.md", "data.md"):
        assert name in names
    for name in ("saving.md", "cuda.md", "differences.md"):
        assert name in names


def test_block_parser_sees_markers() -> None:
    text = "x\n```python\n# raises: ValueError\nraise ValueError\n```\n```bash\nls\n```\n"
    blocks = BLOCK.findall(text)
    assert blocks == ["# raises: ValueError\nraise ValueError\n"]
    assert RAISES.match(blocks[0]).group(1) == "ValueError"


def _run_page(page: Path, workdir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, str(page)],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_runner_reports_failures(tmp_path: Path) -> None:
    """The runner itself can fail: a block that errors, and a marked block that does not
    raise what its marker says, both fail the page; a matching marker passes."""
    good = tmp_path / "good.md"
    good.write_text("```python\nx = 1\n```\n```python\n# raises: ZeroDivisionError\nx / 0\n```\n")
    result = _run_page(good, tmp_path)
    assert result.returncode == 0 and result.stdout.split() == ["2"]
    broken = tmp_path / "broken.md"
    broken.write_text("```python\nx = 1\n```\n```python\nundefined_name\n```\n")
    result = _run_page(broken, tmp_path)
    assert result.returncode == 1 and "block 2 failed" in result.stderr
    silent = tmp_path / "silent.md"
    silent.write_text("```python\n# raises: ValueError\nx = 1\n```\n")
    result = _run_page(silent, tmp_path)
    assert result.returncode == 1 and "did not raise ValueError" in result.stderr
    wrong = tmp_path / "wrong.md"
    wrong.write_text("```python\n# raises: ValueError\n1 / 0\n```\n")
    assert _run_page(wrong, tmp_path).returncode == 1


@pytest.fixture(scope="module")
def page_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, str]]:
    """Start every page's subprocess at once (they mostly wait on imports and workers),
    then collect (returncode, stdout, stderr) per page name."""
    running = {}
    for page in PAGES:
        workdir = tmp_path_factory.mktemp(page.stem)
        # The pages are written for a reader in the repository root: the bundled data is there.
        (workdir / "data").symlink_to(DOCS.parent / "data")
        running[page.name] = subprocess.Popen(
            [sys.executable, "-c", RUNNER, str(page)],
            cwd=workdir,  # files a page writes land here
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: the page and its children
        )
    results = {}
    for name, process in running.items():
        try:
            out, err = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            out, err = _stacks_then_kill(process)
            err += "\n(timed out)"
        results[name] = (process.returncode, out, err)
    return results


def _stacks_then_kill(process: subprocess.Popen) -> tuple[str, str]:
    """Ask every process of a hung page for its threads' stacks (SIGUSR1, see RUNNER),
    one at a time so that their dumps do not interleave, then kill the whole group.
    Returns all the page printed (communicate keeps what it read before a timeout)."""
    for pid in _process_group(process.pid):
        try:
            os.kill(pid, signal.SIGUSR1)
        except ProcessLookupError:
            continue
        try:
            process.communicate(timeout=1)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return process.communicate()


def _process_group(pgid: int) -> list[int]:
    """The pids of a process group, leader first (Linux /proc; empty elsewhere)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # Fields after the parenthesised command name: state, ppid, pgrp, ...
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            pids.append(int(stat.parent.name))
    return sorted(pids, key=lambda pid: pid != pgid)


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_page_snippets_run(page: Path, page_runs: dict[str, tuple[int, str, str]]) -> None:
    blocks = BLOCK.findall(page.read_text(encoding="utf-8"))
    returncode, out, err = page_runs[page.name]
    assert returncode == 0, err[-12000:]
    assert out.strip().splitlines()[-1] == str(len(blocks))
