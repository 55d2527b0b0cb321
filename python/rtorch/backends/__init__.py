"""``rtorch.backends``: the backend switches PyTorch programs set, on a machine without a GPU."""

from . import cpu, cuda, cudnn, mkl, mkldnn, mps, openmp, opt_einsum  # noqa: F401
