"""``glassgrad.distributed``: glassgrad runs in one process, so no process group can be set up.

``is_available()`` is False and ``is_initialized()`` False, so a program that checks first runs
single-process; the calls that need a process group raise PyTorch's error for a missing one.

>>> is_available(), is_initialized()
(False, False)
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = [
    "barrier",
    "destroy_process_group",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_initialized",
]


def _no_group() -> NoReturn:
    raise ValueError(
        "Default process group has not been initialized, please make sure to call "
        "init_process_group."
    )


def is_available() -> bool:
    """False: glassgrad has no distributed backend."""
    return False


def is_initialized() -> bool:
    """False: no process group is ever set up."""
    return False


def init_process_group(backend: Any = None, *args: Any, **kwargs: Any) -> NoReturn:
    """Raises: glassgrad runs in one process, with no distributed backend."""
    raise RuntimeError(
        f"init_process_group(backend={backend!r}): glassgrad runs in a single process and has "
        f"no distributed backend"
    )


def destroy_process_group(group: Any = None) -> NoReturn:
    """Raises, as PyTorch does without a process group."""
    _no_group()


def get_rank(group: Any = None) -> NoReturn:
    """Raises, as PyTorch does without a process group."""
    _no_group()


def get_world_size(group: Any = None) -> NoReturn:
    """Raises, as PyTorch does without a process group."""
    _no_group()


def barrier(group: Any = None, *args: Any, **kwargs: Any) -> NoReturn:
    """Raises, as PyTorch does without a process group."""
    _no_group()
