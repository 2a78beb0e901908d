"""``glassgrad.multiprocessing``: Python's ``multiprocessing`` under ``torch.multiprocessing``'s
name (``spawn``, ``Process``, ``set_start_method``...); tensors are NumPy-backed and pickle."""

from __future__ import annotations

import multiprocessing as _mp
from multiprocessing import *  # noqa: F403
from typing import Any


def spawn(
    fn: Any,
    args: tuple = (),
    nprocs: int = 1,
    join: bool = True,
    daemon: bool = False,
    start_method: str = "spawn",
) -> Any:
    """Run ``fn(i, *args)`` in ``nprocs`` processes, as ``torch.multiprocessing.spawn``."""
    ctx: Any = _mp.get_context(start_method)
    procs = [ctx.Process(target=fn, args=(i, *args), daemon=daemon) for i in range(nprocs)]
    for p in procs:
        p.start()
    if not join:
        return procs
    for p in procs:
        p.join()
    failed = [i for i, p in enumerate(procs) if p.exitcode != 0]
    if failed:
        raise RuntimeError(
            f"multiprocessing.spawn: process {failed[0]} exited with code "
            f"{procs[failed[0]].exitcode}"
        )
    return None


_SHARING = ["file_descriptor"]


def get_all_sharing_strategies() -> set[str]:
    """PyTorch's ways of sharing tensor memory between processes (Linux: two). glassgrad's
    tensors are pickled to other processes, so the choice changes nothing here."""
    return {"file_descriptor", "file_system"}


def get_sharing_strategy() -> str:
    return _SHARING[0]


def set_sharing_strategy(new_strategy: str) -> None:
    """Remembered (scripts set ``"file_system"`` to avoid running out of file descriptors)."""
    if new_strategy not in get_all_sharing_strategies():
        raise ValueError(
            f"set_sharing_strategy: unknown strategy {new_strategy!r}; use one of "
            f"{sorted(get_all_sharing_strategies())}"
        )
    _SHARING[0] = new_strategy
