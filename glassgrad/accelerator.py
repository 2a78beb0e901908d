"""``glassgrad.accelerator``: ``torch.accelerator``'s answers on a CPU-only build.

Recent PyTorch examples pick their device with ``torch.accelerator.is_available()``; here there
is no accelerator, so such programs run on the CPU.

>>> import glassgrad as gg
>>> gg.accelerator.is_available(), gg.accelerator.device_count()
(False, 0)
"""

from __future__ import annotations

from typing import Any, NoReturn

from glassgrad.device import CPUOnlyError

__all__ = [
    "current_accelerator",
    "current_device_index",
    "device_count",
    "is_available",
    "set_device_index",
    "synchronize",
]


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def current_accelerator(check_available: bool = False) -> None:
    """None: there is no accelerator (PyTorch returns None too when none is present)."""
    return None


def _none(what: str) -> NoReturn:
    raise CPUOnlyError(f"glassgrad.accelerator.{what}: no accelerator, glassgrad runs on the CPU")


def current_device_index() -> int:
    _none("current_device_index()")


def set_device_index(device: Any) -> None:
    _none(f"set_device_index({device!r})")


def synchronize(device: Any = None) -> None:
    """Nothing to wait for on the CPU."""
