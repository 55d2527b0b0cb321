"""``rtorch.backends.cpu``: which SIMD level rtorch's CPU kernels chose at run time."""

from __future__ import annotations

__all__ = ["get_cpu_capability"]

# rtorch's names for its kernel levels and PyTorch's spelling of the same level.
_PYTORCH_NAMES = {"avx512": "AVX512", "avx2": "AVX2", "default": "DEFAULT"}


def get_cpu_capability() -> str:
    """The instruction set the CPU kernels use in this process, spelled as PyTorch
    spells it: "AVX512", "AVX2" or "DEFAULT". Like PyTorch's, it honours the
    ``RTORCH_CPU_CAPABILITY`` override (PyTorch's ``ATEN_CPU_CAPABILITY``)."""
    from .. import _C

    in_use, _hardware = _C._cpu_capability()
    return _PYTORCH_NAMES.get(in_use, in_use.upper())
