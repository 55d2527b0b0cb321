"""``rtorch.__version__``: PyTorch's API version with rtorch's own as a PEP 440 local
segment, comparing as a version (``torch.torch_version.TorchVersion``), and the
``rtorch.version`` module."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import rtorch
from rtorch import torch_version

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def _pyproject_version() -> str:
    # [project] version = "..." (read with a regex: tomllib is Python 3.11+).
    text = PYPROJECT.read_text(encoding="utf-8")
    project = text.split("[project]", 1)[1].split("\n[", 1)[0]
    return re.search(r'^version\s*=\s*"([^"]+)"', project, re.MULTILINE).group(1)


def test_version_string():
    package = _pyproject_version()
    assert rtorch.version.rtorch_version == package
    assert rtorch.__version__ == f"2.15.0+rtorch.{package}"
    assert rtorch.version.__version__ == rtorch.__version__
    assert isinstance(rtorch.__version__, str)
    assert type(rtorch.__version__).__name__ == "TorchVersion"
    assert rtorch.__version__.split("+") == ["2.15.0", f"rtorch.{package}"]
    assert hash(rtorch.__version__) == hash(str(rtorch.__version__))


def test_version_module():
    import rtorch.version as v

    assert v.cuda is None and v.hip is None and v.rocm is None and v.xpu is None
    assert v.debug is False
    assert isinstance(v.git_version, str) and v.git_version
    assert {"__version__", "cuda", "git_version"} <= set(v.__all__)


@pytest.mark.parametrize(
    "other, relation",
    [
        ("2", ">"),
        ("2.0", ">"),
        ("2.0.0", ">"),
        ("1.13.1", ">"),
        ("2.9", ">"),  # numeric, not lexicographic ("2.15" < "2.9" as plain strings)
        ("2.15", ">"),  # a local segment sorts after the bare release
        ("2.15.0a0", ">"),
        ("2.15.0rc1", ">"),
        ("2.16", "<"),
        ("3.0.dev0", "<"),
        ("10.0", "<"),
        ("2.15.0+rtorch.0.1.0", "=="),
        ((2, 0), ">"),
        ((2, 15, 0), ">"),
        ([2, 16], "<"),
    ],
)
def test_version_compares_as_a_version(other, relation):
    v = rtorch.__version__
    expected = {">": (True, False, False), "<": (False, False, True), "==": (False, True, False)}
    assert (v > other, v == other, v < other) == expected[relation]
    assert (v >= other) == (relation != "<") and (v <= other) == (relation != ">")
    assert (v != other) == (relation != "==")


def test_unparsable_operands_compare_as_strings():
    v = rtorch.__version__
    assert (v < "garbage") is True  # "2..." < "g..." as strings
    assert v != "garbage"
    with pytest.raises(TypeError):
        v > 5  # noqa: B015 -- str vs int, as PyTorch's TorchVersion


# Ordered ascending; adjacent entries are strictly increasing, same-group ones equal.
ORDERED = [
    ["1.0.dev0"],
    ["1.0a0", "1.0alpha0", "1.0a"],
    ["1.0a1"],
    ["1.0b2"],
    ["1.0rc1", "1.0c1"],
    ["1.0", "1.0.0", "1", "v1.0"],
    ["1.0+abc"],
    ["1.0+abc.5"],
    ["1.0+5"],
    ["1.0.post1", "1.0-1", "1.0post1"],
    ["1.1.dev1"],
    ["1.1"],
    ["2.15.0"],
    ["2.15.0+cu132"],
    ["2.15.0+rtorch.0.1.0"],
    ["1!0.1"],
]


def _check_order(make):
    flat = [(i, make(text)) for i, group in enumerate(ORDERED) for text in group]
    for i, a in flat:
        for j, b in flat:
            assert (a < b) == (i < j), (a, b)
            assert (a == b) == (i == j), (a, b)


def test_fallback_parser_orders_like_pep440():
    # The parser used when packaging is absent, tested whether or not it is.
    _check_order(torch_version._Version)
    with pytest.raises(torch_version.InvalidVersion):
        torch_version._Version("not a version")


def test_packaging_comparisons():
    packaging_version = pytest.importorskip("packaging.version")
    v = packaging_version.Version(rtorch.__version__)
    assert v >= packaging_version.Version("2.0")
    assert v.release == (2, 15, 0) and v.local == f"rtorch.{rtorch.version.rtorch_version}"
    assert rtorch.__version__ >= packaging_version.Version("2.1")
    _check_order(packaging_version.Version)  # the table above is PEP 440's order


def test_matches_torch_version_comparisons():
    torch = pytest.importorskip("torch")
    theirs = torch.torch_version.TorchVersion("2.15.0+rtorch.0.1.0")
    for other in ["2", "2.9", "2.15", "2.16", (2, 1), "2.15.0+cu132", "zz"]:
        assert (rtorch.__version__ > other) == (theirs > other), other
        assert (rtorch.__version__ == other) == (theirs == other), other


def test_comparisons_without_packaging():
    # A fresh interpreter in which `import packaging` fails: the fallback parser serves.
    code = (
        "import sys; sys.modules['packaging'] = None\n"
        "import rtorch\n"
        "from rtorch import torch_version as tv\n"
        "assert tv.Version is tv._Version\n"
        "v = rtorch.__version__\n"
        "assert v >= '2.0' and v > '2.9' and v < '2.16' and v >= (2, 1) and v == v\n"
        "assert v < 'garbage'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
