"""rtorch: a PyTorch-compatible deep-learning library with a Rust core.

``import rtorch as torch`` and PyTorch programs run unchanged.
"""

from __future__ import annotations

from . import _C, _panics
from ._C import Tensor, device, dtype
from ._memory_format import (
    channels_last,
    channels_last_3d,
    contiguous_format,
    memory_format,
    preserve_format,
)
from ._size import Size

_panics.install(_C._PanicException, _C._take_panic_location)

# dtypes, with PyTorch's aliases (torch.bool, torch.int and torch.float shadow the
# builtins inside this module on purpose, as in PyTorch).
bool = _C.bool
uint8 = _C.uint8
int8 = _C.int8
int16 = short = _C.int16
int32 = int = _C.int32
int64 = long = _C.int64
float16 = half = _C.float16
bfloat16 = _C.bfloat16
float32 = float = _C.float32
float64 = double = _C.float64

_DTYPES = {
    d.__repr__().split(".")[1]: d
    for d in (bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)
}


def _dtype_from_name(name: str) -> dtype:
    """Unpickling helper: dtypes pickle by name."""
    return _DTYPES[name]


# Every public function of the extension, under its PyTorch name.
for _name in dir(_C):
    if not _name.startswith("_") and _name not in globals():
        globals()[_name] = getattr(_C, _name)
del _name

from . import autograd
from .autograd import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)

from . import torch_version, version
from .torch_version import TorchVersion as _TorchVersion

# PyTorch's API version with rtorch's own as a local segment: "2.15.0+rtorch.0.1.0".
__version__ = _TorchVersion(version.__version__)


def is_tensor(obj: object) -> bool:
    """True if ``obj`` is an rtorch tensor."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    """True if ``input`` has a floating dtype."""
    return input.is_floating_point()


def numel(input: Tensor) -> int:
    """Number of elements of ``input``."""
    return input.numel()


# --- linalg exports ---
from . import linalg

# torch.inverse, torch.det, torch.svd ... and their Tensor methods.
globals().update(linalg.TOP_LEVEL)
for _name, _fn in linalg.METHODS.items():
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, _fn)

# --- pylayer exports ---
from . import testing
from ._tensor_str import set_printoptions

# Numeric limits, legacy tensor types (torch.FloatTensor …) and ops composed in Python.
from ._dtype_info import finfo, iinfo
from ._legacy_tensor_types import CPU_TYPES as _LEGACY_TYPES

globals().update(_LEGACY_TYPES)
from . import _composite_ops, _special_ops

globals().update({k: v for k, v in _special_ops.FUNCTIONS.items() if k not in globals()})
globals().update(_composite_ops.FUNCTIONS)
_composite_ops.install()

# Order statistics, scatter_reduce, unique_consecutive and Bessel functions, composed
# from core ops in concept-named modules.
from . import (
    _bessel_ops,
    _dlpack,
    _gamma_sampling,
    _incomplete_gamma,
    _linalg_householder,
    _math_extras,
    _memory_format_ops,
    _nn_entry_points,
    _quantile_ops,
    _runtime_api,
    _scatter_reduce_ops,
    _tensor_extras,
    _tensor_storage,
    _unique_ops,
    _view_copies,
)


def _install_extra_ops() -> None:
    for module in (
        _bessel_ops,
        _dlpack,
        _gamma_sampling,
        _incomplete_gamma,
        _linalg_householder,
        _math_extras,
        _memory_format_ops,
        _nn_entry_points,
        _quantile_ops,
        _runtime_api,
        _scatter_reduce_ops,
        _tensor_extras,
        _tensor_storage,
        _unique_ops,
        _view_copies,
    ):
        globals().update(module.FUNCTIONS)
        for name, fn in module.METHODS.items():
            if not hasattr(Tensor, name):
                setattr(Tensor, name, fn)
    for module in (_memory_format_ops, _quantile_ops, _scatter_reduce_ops, _unique_ops):
        for name, fn in module.OVERRIDES.items():
            setattr(Tensor, name, fn)


_install_extra_ops()

from . import amp, random
from .amp import GradScaler, autocast
from .amp.autocast_mode import (
    get_autocast_dtype,
    is_autocast_enabled,
    set_autocast_enabled,
)

is_autocast_cpu_enabled = is_autocast_enabled


def get_autocast_cpu_dtype() -> dtype:
    """The dtype CPU autocast would use (bfloat16)."""
    return bfloat16


def get_autocast_gpu_dtype() -> dtype:
    """The dtype CUDA autocast would use (float16)."""
    return float16


# Submodules that `import torch` makes reachable as attributes (torch.nn, torch.optim, …).
# They load on first use, so `import rtorch` stays fast for programs that only use tensors.
_LAZY_SUBMODULES = frozenset(
    {
        "nn",
        "optim",
        "compiler",
        "utils",
        "vision",
        "serialization",
        "multiprocessing",
        "hub",
        "safetensors",
        "cuda",
        "backends",
        "accelerator",
        "special",
        "jit",
        "distributions",
        "func",
        "types",
    }
)


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


from . import _tensor_pickle
from .serialization import load, save
