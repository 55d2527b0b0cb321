"""``rtorch.backends.cuda``: switches for CUDA matmuls (no CUDA device in this build)."""

from types import SimpleNamespace

matmul = SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True)


def is_built() -> bool:
    return False
