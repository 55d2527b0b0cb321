"""``rtorch.backends``: the backend switches PyTorch programs set, on a machine without a GPU."""

from . import cuda, cudnn, mps  # noqa: F401
