"""``torch.utils.dlpack``: DLPack capsules to and from CPU tensors (see rtorch._dlpack)."""

from .._dlpack import DLDeviceType, from_dlpack, to_dlpack

__all__ = ["DLDeviceType", "from_dlpack", "to_dlpack"]
