"""rtorch.utils.tensorboard: ``SummaryWriter`` writing TensorBoard event files, as
``torch.utils.tensorboard``, without the ``tensorboard`` / ``protobuf`` packages."""

from .writer import FileWriter, SummaryWriter

__all__ = ["FileWriter", "SummaryWriter"]
