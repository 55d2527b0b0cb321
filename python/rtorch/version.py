"""``torch.version``: the version of the PyTorch API rtorch implements, and build facts.

``__version__`` is PyTorch's version number with rtorch's own as a PEP 440 local
segment (``2.15.0+rtorch.0.1.0``), so that scripts comparing ``torch.__version__``
against ``"2.0"`` take their PyTorch 2 paths; ``rtorch_version`` is the package's
version as pip knows it (pyproject.toml's ``version``).
"""

from __future__ import annotations

__all__ = ["__version__", "cuda", "debug", "git_version", "hip", "rocm", "rtorch_version", "xpu"]

# The PyTorch release whose API and behaviour rtorch follows.
PYTORCH_API_VERSION = "2.15.0"
# Must equal [project].version in pyproject.toml (a test checks it).
rtorch_version = "0.1.0"

__version__ = f"{PYTORCH_API_VERSION}+rtorch.{rtorch_version}"
debug = False
# No CUDA, ROCm or XPU backend: None, as in a CPU-only PyTorch build.
cuda: str | None = None
hip: str | None = None
rocm: str | None = None
xpu: str | None = None
# The commit is not recorded at build time; PyTorch built outside git says the same.
git_version = "Unknown"
