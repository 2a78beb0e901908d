"""``glassgrad.multiprocessing``: Python's ``multiprocessing`` under ``torch.multiprocessing``'s
name (``spawn``, ``Process``, ``set_start_method``...). Tensors pickle by value, except those
moved to shared memory (``share_memory_()``, ``Module.share_memory()``): their numbers live in a
file under /dev/shm that every process maps, and a process receiving one (a ``Process``
argument, a ``Queue`` item) maps the same file, so a Hogwild worker's updates reach the parent.
The file is removed when the tensor that made it is freed (a process that mapped it keeps its
mapping)."""

from __future__ import annotations

import contextlib
import mmap
import multiprocessing as _mp
import os
import tempfile
import weakref
from multiprocessing import *  # noqa: F403
from multiprocessing.reduction import ForkingPickler
from typing import Any

import numpy as np


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


_SHARED_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()


def _mapped(path: str, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """The array stored in the file at ``path``, mapped (writes go to every process)."""
    nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    with open(path, "r+b") as f:
        buffer = mmap.mmap(f.fileno(), max(nbytes, 1))
    return np.frombuffer(buffer, dtype, int(np.prod(shape, dtype=np.int64))).reshape(shape)


def move_to_shared_memory(t: Any) -> None:
    """Give tensor ``t`` a copy of its numbers in a new shared file, mapped in place of its
    own array."""
    if t._base is not None:
        raise RuntimeError(
            f"share_memory_: a view (shape {tuple(t.shape)}) shares its base's memory: call it "
            "on the base tensor"
        )
    data = t._data
    fd, path = tempfile.mkstemp(prefix=f"glassgrad-{os.getpid()}-", dir=_SHARED_DIR)
    with os.fdopen(fd, "wb") as f:
        f.truncate(max(data.nbytes, 1))
    shared = _mapped(path, data.dtype.str, data.shape)
    shared[...] = data
    t._data = shared
    t._shared_path_ = path
    weakref.finalize(shared, _remove, path)  # (only the process that made it removes it)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _reduce_tensor(t: Any) -> Any:
    """Pickle ``t`` for another process: by value, or, when shared, by the file it maps."""
    path = getattr(t, "_shared_path_", None)
    if path is None:
        return t.__reduce_ex__(4)
    data = t._data
    return (_rebuild_shared, (type(t), path, data.dtype.str, data.shape, t.requires_grad))


def _rebuild_shared(
    cls: type, path: str, dtype: str, shape: tuple[int, ...], requires_grad: bool
) -> Any:
    """A tensor of class ``cls`` over the shared file at ``path`` (in the receiving process)."""
    from glassgrad.nn.parameter import Parameter
    from glassgrad.tensor import Tensor

    t: Any = Tensor._make(_mapped(path, dtype, shape))
    if issubclass(cls, Parameter):
        t = cls(t, requires_grad)  # (a Parameter made from a tensor shares its memory)
    else:
        t.requires_grad = requires_grad
    t._shared_path_ = path
    return t


def _register_reductions() -> None:
    """Hand shared tensors to other processes by file (what ``Process`` and ``Queue`` pickle
    with), for the Tensor class and the subclasses that exist now (``Parameter``)."""
    from glassgrad.nn.parameter import Parameter
    from glassgrad.tensor import Tensor

    for cls in (Tensor, Parameter, *Tensor.__subclasses__(), *Parameter.__subclasses__()):
        ForkingPickler.register(cls, _reduce_tensor)
