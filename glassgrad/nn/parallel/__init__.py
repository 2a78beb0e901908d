"""``glassgrad.nn.parallel``: ``DataParallel`` as PyTorch runs it without GPUs (a pass-through)
and ``DistributedDataParallel`` over MPI processes (``glassgrad.distributed``).

>>> import glassgrad as gg
>>> model = gg.nn.Linear(2, 1)
>>> dp = DataParallel(model)
>>> dp.module is model, list(dp.state_dict())
(True, ['module.weight', 'module.bias'])
"""

from __future__ import annotations

from typing import Any

from glassgrad.nn.module import Module
from glassgrad.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]


class DataParallel(Module):
    """Wraps ``module``; ``forward`` calls it unchanged (one device: nothing to split). As in
    PyTorch, parameters are reached through ``.module`` and state-dict keys start ``module.``;
    ``device_ids`` and ``output_device`` are ignored, as PyTorch does on a machine without GPUs."""

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
    ) -> None:
        super().__init__()
        # PyTorch without a GPU ignores device_ids and output_device, and so does this
        self.module = module
        self.device_ids: list[Any] = []
        self.output_device = None
        self.dim = dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)
