"""``glassgrad.utils.data``: ``torch.utils.data``'s names, from ``glassgrad.data``.

>>> from glassgrad.utils.data import DataLoader, TensorDataset, RandomSampler
>>> import glassgrad as gg
>>> ds = TensorDataset(gg.arange(6.0))
>>> len(DataLoader(ds, batch_size=4, sampler=RandomSampler(ds)))
2
"""

from glassgrad.data.dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from glassgrad.data.distributed import DistributedSampler
from glassgrad.data.loader import DataLoader, default_collate, default_convert, get_worker_info
from glassgrad.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from glassgrad.utils.data import dataloader, dataset, distributed, sampler

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]
