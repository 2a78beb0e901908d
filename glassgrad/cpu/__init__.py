"""``torch.cpu``: the one device glassgrad runs on, answered as PyTorch answers for it.

``is_available()`` is True and ``device_count()`` 1; ``synchronize``, ``set_device`` and streams
are no-ops (NumPy runs each call to its end before returning). ``torch.cpu.amp.autocast`` is
PyTorch's older spelling of ``torch.autocast("cpu")``.
"""

from __future__ import annotations

from typing import Any

from glassgrad.cpu import amp

__all__ = [
    "Stream",
    "StreamContext",
    "amp",
    "current_device",
    "current_stream",
    "device_count",
    "is_available",
    "set_device",
    "stream",
    "synchronize",
]


def is_available() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def set_device(device: Any) -> None:
    """Accepted for symmetry with ``torch.cuda.set_device``: there is one CPU device."""


def synchronize(device: Any = None) -> None:
    """Nothing to wait for: every NumPy call has finished when it returns."""


class Stream:
    """The CPU's one stream: waiting on it returns at once."""

    def __init__(self, priority: int = -1) -> None:
        self.priority = priority

    def wait_stream(self, stream: Any) -> None:
        return None

    def synchronize(self) -> None:
        return None


def current_stream(device: Any = None) -> Stream:
    return Stream()


class StreamContext:
    """``with torch.cpu.stream(s):``: runs the block as it is (one stream)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def __enter__(self) -> StreamContext:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


def stream(stream: Any) -> StreamContext:
    return StreamContext(stream)
