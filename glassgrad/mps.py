"""``torch.mps``: Apple's Metal GPUs, absent here (glassgrad runs on the CPU): ``is_available()`` is
False and ``device_count()`` 0, so a device-agnostic program picks the CPU; seeding,
``synchronize`` and ``empty_cache`` are harmless no-ops, as in ``torch.cuda``."""

from __future__ import annotations

from glassgrad.cuda import (
    device_count,
    empty_cache,
    is_available,
    manual_seed,
    seed,
    synchronize,
)

__all__ = [
    "device_count",
    "empty_cache",
    "is_available",
    "manual_seed",
    "seed",
    "synchronize",
]
