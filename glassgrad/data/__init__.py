"""Data loading as in ``torch.utils.data``, plus ready-made datasets (``load_digits``...).

>>> import glassgrad as gg
>>> from glassgrad.data import DataLoader, TensorDataset
>>> loader = DataLoader(TensorDataset(gg.randn(10, 3), gg.arange(10)), batch_size=4, shuffle=True)
>>> [len(y) for x, y in loader]
[4, 4, 2]
"""

from glassgrad.data.dataset import Dataset, Subset, TensorDataset, random_split
from glassgrad.data.datasets import load_csv, load_digits, load_idx, load_npz
from glassgrad.data.distributed import DistributedSampler
from glassgrad.data.loader import DataLoader, default_collate

__all__ = [
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "Subset",
    "TensorDataset",
    "default_collate",
    "load_csv",
    "load_digits",
    "load_idx",
    "load_npz",
    "random_split",
]
