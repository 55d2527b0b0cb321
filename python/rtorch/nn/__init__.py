"""rtorch.nn: modules, parameters, initialisation and the functional API, as torch.nn."""

from . import attention, functional, grad, init, parallel, utils  # noqa: F401
from .modules import *
from .parallel import DataParallel  # noqa: F401
from .parameter import (  # noqa: F401
    Buffer,
    Parameter,
    UninitializedBuffer,
    UninitializedParameter,
)

# torch.nn.functional.grad is torch.nn.grad (PyTorch's functional module imports it).
functional.grad = grad
