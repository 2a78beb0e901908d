"""``torch.mtia``: Meta's MTIA accelerators, absent here (glassgrad runs on the CPU):
``is_available()`` is False and ``device_count()`` 0, so a device-agnostic program picks the
CPU; seeding, ``synchronize`` and ``empty_cache`` are harmless no-ops, as in ``torch.cuda``."""

from __future__ import annotations

from glassgrad.cuda import (
    device_count,
    empty_cache,
    is_available,
    is_initialized,
    manual_seed,
    manual_seed_all,
    seed,
    seed_all,
    synchronize,
)

__all__ = [
    "device_count",
    "empty_cache",
    "is_available",
    "is_initialized",
    "manual_seed",
    "manual_seed_all",
    "seed",
    "seed_all",
    "synchronize",
]
