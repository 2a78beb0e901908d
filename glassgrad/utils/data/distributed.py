"""``torch.utils.data.distributed``: ``DistributedSampler``."""

from glassgrad.data.distributed import DistributedSampler

__all__ = ["DistributedSampler"]
