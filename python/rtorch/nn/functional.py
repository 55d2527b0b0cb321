"""rtorch.nn.functional: the functional form of every layer, as torch.nn.functional.

The functions live in ``rtorch.nn._functional.<family>``; this module re-exports them.
"""

from ._functional.activation import *
from ._functional.attention import *
from ._functional.conv import *
from ._functional.distance import *
from ._functional.dropout import *
from ._functional.linear import *
from ._functional.loss import *
from ._functional.normalization import *
from ._functional.padding import *
from ._functional.pooling import *
from ._functional.pooling3d import *
from ._functional.sparse import *
from ._functional.vision import *


def has_torch_function(relevant_args: object) -> bool:
    """False: rtorch has no ``__torch_function__`` overrides."""
    return False


def has_torch_function_unary(arg: object) -> bool:
    """False: rtorch has no ``__torch_function__`` overrides."""
    return False


def has_torch_function_variadic(*args: object) -> bool:
    """False: rtorch has no ``__torch_function__`` overrides."""
    return False


def handle_torch_function(public_api: object, relevant_args: object, *args: object,
                          **kwargs: object) -> object:  # fmt: skip
    """Never needed (``has_torch_function`` is always False); raises if called."""
    raise NotImplementedError("rtorch has no __torch_function__ overrides")
