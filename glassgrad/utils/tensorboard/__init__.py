"""``torch.utils.tensorboard``: ``SummaryWriter`` writes TensorBoard event files.

The event format and summaries come from tensorboardX (the ``tensorboard`` extra:
``pip install 'glassgrad[tensorboard]'``); glassgrad hands it its tensors as NumPy arrays. As
in PyTorch, importing this without the package installed raises ``ImportError``.
"""

from __future__ import annotations

try:
    import tensorboardX
except ImportError as e:  # PyTorch's torch.utils.tensorboard raises here too when it is missing
    raise ImportError(
        "glassgrad.utils.tensorboard needs the tensorboardX package: "
        "pip install 'glassgrad[tensorboard]'"
    ) from e

from glassgrad.utils.tensorboard import writer
from glassgrad.utils.tensorboard.writer import FileWriter, SummaryWriter

__all__ = ["FileWriter", "SummaryWriter", "writer"]
