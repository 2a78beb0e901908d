"""What runs inside a ``DataLoader`` worker process (``num_workers > 0``), as in PyTorch.

Each worker gets a copy of the dataset (forked, or pickled under 'spawn'/'forkserver'), seeds
Python's ``random``, glassgrad's generator (``base_seed + worker_id``) and NumPy's global one
(PyTorch's ``_generate_state``), calls ``worker_init_fn(worker_id)``, then loads the batches the
main process asks for: a list of indices for a map-style dataset, "the next batch" of its own
iterator for an ``IterableDataset`` (which user code shards with ``get_worker_info()``).
An exception is sent back with its traceback text and raised again in the main process.
"""

from __future__ import annotations

import os
import queue
import random
import sys
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from glassgrad.data.dataset import Subset, TensorDataset
from glassgrad.tensor import Tensor

__all__ = ["WorkerInfo", "get_worker_info"]

_STATUS_CHECK_INTERVAL = 5.0  # seconds between checks that the main process is still alive


class WorkerInfo:
    """Who this worker is: ``id`` (0 to ``num_workers - 1``), ``num_workers``, ``seed`` and
    ``dataset`` (this process's copy); read-only, as in PyTorch."""

    __initialized = False

    def __init__(self, **kwargs: Any) -> None:
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs)
        self.__initialized = True

    def __setattr__(self, key: str, val: Any) -> None:
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")
        super().__setattr__(key, val)

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={getattr(self, k)}" for k in self.__keys)
        return f"{type(self).__name__}({body})"


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker process: its ``WorkerInfo`` (id, num_workers, seed, dataset);
    None in the main process. An ``IterableDataset`` uses it to load its share only."""
    return _worker_info


class ExceptionWrapper:
    """An exception caught in a worker, sent back as its type and traceback text."""

    def __init__(self, exc_info: Any = None, where: str = "in background") -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self) -> None:
        """Raise the same exception type in this process, naming the worker and carrying the
        original traceback text."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyError(msg)  # type: ignore[assignment]  # KeyError would quote the text
        try:
            exception = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exception


class IterableStop:
    """A worker's answer once its copy of an ``IterableDataset`` is exhausted."""

    def __init__(self, worker_id: int) -> None:
        self.worker_id = worker_id


class ResumeIteration:
    """Sent to persistent workers at a new epoch: start the dataset's iterator again."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch


def default_convert(data: Any) -> Any:
    """What ``batch_size=None`` yields: NumPy arrays (and numbers) inside a sample become
    tensors; everything else is kept, as ``torch.utils.data.default_convert`` does."""
    import collections.abc as abc

    if isinstance(data, np.ndarray) and data.dtype.kind in "biuf":
        return Tensor._make(data)
    if isinstance(data, np.generic) and data.dtype.kind in "biuf":
        return Tensor._make(np.asarray(data))
    if isinstance(data, abc.Mapping):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(v) for v in data))
    if isinstance(data, (tuple, list)):
        return [default_convert(v) for v in data]
    return data


def _tensor_source(dataset: Any) -> tuple[tuple[Tensor, ...], np.ndarray | None] | None:
    """The tensors of a ``TensorDataset`` behind any ``Subset``s, with the composed indices."""
    index: np.ndarray | None = None
    while isinstance(dataset, Subset):
        sub = np.asarray(dataset.indices, dtype=np.int64)
        index = sub if index is None else sub[index]
        dataset = dataset.dataset
    if type(dataset) is TensorDataset:  # a subclass may override __getitem__
        return dataset.tensors, index
    return None


class MapFetcher:
    """One batch of a map-style dataset from its indices (one index without auto-collation);
    a ``TensorDataset`` (behind ``Subset``s) is indexed at once, without a loop over samples."""

    def __init__(self, dataset: Any, collate_fn: Callable[[list[Any]], Any], auto: bool) -> None:
        from glassgrad.data.loader import default_collate

        self.dataset, self.collate_fn, self.auto = dataset, collate_fn, auto
        self.source = _tensor_source(dataset) if collate_fn is default_collate else None

    def __call__(self, index: Any) -> Any:
        if not self.auto:
            return default_convert(self.dataset[index])
        if self.source is None:
            return self.collate_fn([self.dataset[int(i)] for i in index])
        tensors, base = self.source
        if base is not None:
            index = base[index]
        if any(t.requires_grad for t in tensors):  # keep the graph, as per-sample stacking would
            return [t[Tensor._make(index)] for t in tensors]
        return [Tensor._make(t._data[index]) for t in tensors]


class IterableFetcher:
    """The next batch of an ``IterableDataset``'s iterator (StopIteration at the end)."""

    def __init__(
        self,
        dataset: Any,
        collate_fn: Callable[[list[Any]], Any],
        batch_size: int | None,
        drop_last: bool,
    ) -> None:
        self.it = iter(dataset)
        self.collate_fn, self.batch_size, self.drop_last = collate_fn, batch_size, drop_last

    def __call__(self, index: Any = None) -> Any:
        if self.batch_size is None:
            return default_convert(next(self.it))
        batch: list[Any] = []
        for sample in self.it:
            batch.append(sample)
            if len(batch) == self.batch_size:
                return self.collate_fn(batch)
        if not batch or self.drop_last:
            raise StopIteration
        return self.collate_fn(batch)


def _generate_state(base_seed: int, worker_id: int) -> list[int]:
    """PyTorch's seed for NumPy's global generator in a worker (a hash of base seed and id)."""
    mask = 0xFFFFFFFF
    xshift = 16
    entropy = [worker_id, base_seed & mask, base_seed >> 32, 0]
    const_a = [0x43B0D7E5]

    def hash_(value: int) -> int:
        value = (value ^ const_a[0]) & mask
        const_a[0] = (const_a[0] * 0x931E8875) & mask
        value = (value * const_a[0]) & mask
        return (value ^ (value >> xshift)) & mask

    def mix(x: int, y: int) -> int:
        r = (((0xCA01F9DD * x) & mask) - ((0x4973F715 * y) & mask)) & mask
        return (r ^ (r >> xshift)) & mask

    pool = [hash_(e) for e in entropy]
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                pool[i_dst] = mix(pool[i_dst], hash_(pool[i_src]))
    const_b = 0x8B51F9DD
    state = []
    for v in pool:
        v = (v ^ const_b) & mask
        const_b = (const_b * 0x58F38DED) & mask
        v = (v * const_b) & mask
        state.append((v ^ (v >> xshift)) & mask)
    return state


def worker_loop(
    iterable: bool,
    dataset: Any,
    index_queue: Any,
    data_queue: Any,
    auto_collation: bool,
    collate_fn: Callable[[list[Any]], Any],
    batch_size: int | None,
    drop_last: bool,
    base_seed: int,
    init_fn: Callable[[int], None] | None,
    worker_id: int,
    num_workers: int,
) -> None:
    """A worker process: seed, ``init_fn``, then answer ``(epoch, idx, index)`` tasks with
    ``(epoch, idx, batch)`` until told to stop (None) or the main process is gone."""
    global _worker_info
    from glassgrad.creation import manual_seed

    parent = os.getppid()
    where = f"in DataLoader worker process {worker_id}"
    try:
        seed = base_seed + worker_id
        random.seed(seed)
        manual_seed(seed)
        np.random.seed(_generate_state(base_seed, worker_id))
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        init_error: ExceptionWrapper | None = None
        fetcher: Any = None

        def make_fetcher() -> Any:
            if iterable:
                return IterableFetcher(dataset, collate_fn, batch_size, drop_last)
            return MapFetcher(dataset, collate_fn, auto_collation)

        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = make_fetcher()
        except Exception:
            init_error = ExceptionWrapper(where=where)
        exhausted = False
        while True:
            try:
                task = index_queue.get(timeout=_STATUS_CHECK_INTERVAL)
            except queue.Empty:
                if os.getppid() != parent:  # the main process died: nobody will read
                    break
                continue
            if task is None:  # shutdown
                break
            if isinstance(task, ResumeIteration):
                exhausted = False
                if init_error is None:
                    try:
                        fetcher = make_fetcher()
                    except Exception:
                        init_error = ExceptionWrapper(where=where)
                continue
            epoch, idx, index = task
            data: Any
            if init_error is not None:
                data, init_error = init_error, None
            elif exhausted:
                data = IterableStop(worker_id)
            else:
                try:
                    data = fetcher(index)
                except StopIteration:
                    data, exhausted = IterableStop(worker_id), True
                except Exception:
                    data = ExceptionWrapper(where=where)
            data_queue.put((epoch, idx, data))
            del data
    except KeyboardInterrupt:
        pass
    data_queue.cancel_join_thread()  # exit even when the main process stopped reading
