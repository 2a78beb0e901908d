"""``glassgrad.cuda``: what ``torch.cuda`` answers on a machine without a GPU.

glassgrad runs on the CPU only, so ``is_available()`` is False and ``device_count()`` 0: a
device-agnostic program (``device = "cuda" if torch.cuda.is_available() else "cpu"``) picks the
CPU. Seeding, ``synchronize`` and ``empty_cache`` are harmless no-ops; questions about a current
GPU (``current_device``, ``get_device_name``...) raise ``CPUOnlyError``.

>>> import glassgrad as gg
>>> gg.cuda.is_available(), gg.cuda.device_count()
(False, 0)
"""

from __future__ import annotations

from typing import Any, NoReturn

from glassgrad._errors import OutOfMemoryError
from glassgrad.cuda import amp
from glassgrad.device import CPUOnlyError

__all__ = [
    "OutOfMemoryError",
    "amp",
    "current_device",
    "device_count",
    "empty_cache",
    "get_device_name",
    "get_device_properties",
    "is_available",
    "is_bf16_supported",
    "is_initialized",
    "manual_seed",
    "manual_seed_all",
    "max_memory_allocated",
    "memory_allocated",
    "seed",
    "seed_all",
    "set_device",
    "synchronize",
]


def _unavailable(what: str) -> NoReturn:
    raise CPUOnlyError(
        f"glassgrad.cuda.{what}: no CUDA device, this build of glassgrad runs on the CPU only "
        f"(check glassgrad.cuda.is_available() first)"
    )


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def manual_seed(seed: int) -> None:
    """No-op: there is no GPU generator to seed (``glassgrad.manual_seed`` seeds the CPU's)."""


def manual_seed_all(seed: int) -> None:
    """No-op, as ``manual_seed``."""


def seed() -> None:
    """No-op."""


def seed_all() -> None:
    """No-op."""


def synchronize(device: Any = None) -> None:
    """No-op: CPU work is finished when the call returns."""


def empty_cache() -> None:
    """No-op: there is no GPU memory cache."""


def memory_allocated(device: Any = None) -> int:
    return 0


def max_memory_allocated(device: Any = None) -> int:
    return 0


def current_device() -> int:
    _unavailable("current_device()")


def get_device_name(device: Any = None) -> str:
    _unavailable("get_device_name()")


def get_device_properties(device: Any = None) -> Any:
    _unavailable("get_device_properties()")


def set_device(device: Any) -> None:
    _unavailable("set_device()")
