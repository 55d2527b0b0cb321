"""``rtorch.cuda`` on a build or machine without a CUDA device.

The CUDA backend is not built yet, so this module answers as PyTorch does on a machine
with no NVIDIA driver: queries say there is no device, seeding and cache calls do
nothing, and anything that needs a device raises ``RuntimeError``.
"""

from __future__ import annotations

from typing import Any, NoReturn

from .._legacy_tensor_types import CUDA_TYPES

globals().update(CUDA_TYPES)

_NO_DRIVER = (
    "Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU and "
    "installed a driver from http://www.nvidia.com/Download/index.aspx"
)


def _no_device(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise RuntimeError(_NO_DRIVER)


def _nothing(*_args: Any, **_kwargs: Any) -> None:
    return None


def is_available() -> bool:
    """False: no CUDA device can be used."""
    return False


def is_initialized() -> bool:
    return False


def device_count() -> int:
    return 0


def memory_allocated(device: Any = None) -> int:
    return 0


def max_memory_allocated(device: Any = None) -> int:
    return 0


def memory_reserved(device: Any = None) -> int:
    return 0


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


# Seeding and cache management are lazy in PyTorch: without a device they do nothing.
manual_seed = manual_seed_all = seed = seed_all = empty_cache = _nothing
reset_peak_memory_stats = reset_max_memory_allocated = _nothing
init = synchronize = current_device = set_device = get_device_name = _no_device
get_device_properties = get_device_capability = current_stream = _no_device
# Device queries that need a driver raise; statistics of the (never used) allocator are
# empty or zero, as PyTorch answers without a GPU.
get_rng_state = set_rng_state = set_rng_state_all = initial_seed = mem_get_info = _no_device
ipc_collect = default_stream = current_blas_handle = get_sync_debug_mode = _no_device
set_sync_debug_mode = set_stream = _no_device
set_per_process_memory_fraction = get_per_process_memory_fraction = _no_device
can_device_access_peer = _no_device
reset_max_memory_cached = _nothing


def get_rng_state_all() -> list:
    """The generator states of all devices: none here."""
    return []


def memory_stats(device: Any = None) -> dict:
    """The allocator statistics: empty (nothing was allocated)."""
    from collections import OrderedDict

    return OrderedDict()


def memory_snapshot() -> list:
    """The allocator's segments: none."""
    return []


def max_memory_reserved(device: Any = None) -> int:
    """0: nothing was reserved."""
    return 0


memory_cached = max_memory_cached = max_memory_reserved


def is_tf32_supported() -> bool:
    """False: there is no GPU."""
    return False


def get_arch_list() -> list:
    """The CUDA architectures this build supports: none (rtorch has no CUDA kernels)."""
    return []


def get_gencode_flags() -> str:
    """The nvcc gencode flags of this build: none."""
    return ""


from .._runtime_api import OutOfMemoryError as OutOfMemoryError
from . import amp as amp
