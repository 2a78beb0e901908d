"""``glassgrad.utils.data.dataloader``: as ``torch.utils.data.dataloader``."""

from glassgrad.data.loader import DataLoader, default_collate, default_convert, get_worker_info

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]
