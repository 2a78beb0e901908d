"""``glassgrad.utils.tensorboard``: ``SummaryWriter`` for scalars, writing TensorBoard event files
with the ``tensorboard`` package (as PyTorch's does; importing this without it installed raises).

>>> import tempfile
>>> with SummaryWriter(log_dir=tempfile.mkdtemp()) as w:
...     w.add_scalar("Loss/train", 0.5, 1)
"""

from __future__ import annotations

from glassgrad.utils.tensorboard.writer import SummaryWriter

__all__ = ["SummaryWriter"]
