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
