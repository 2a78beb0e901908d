"""The ``DataLoader`` iterator with worker processes (``num_workers > 0``), PyTorch's design.

The main process walks the sampler exactly as with ``num_workers=0`` and hands each batch's
indices to the workers in turn (at most ``prefetch_factor`` batches ahead per worker); results
come back on one queue and are yielded in sampler order, so the batches are the same as without
workers. Workers are daemon processes, stopped when the iterator is exhausted or collected
(or, with ``persistent_workers``, when the loader is), and always at interpreter exit.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import queue
import time
import weakref
from typing import Any

from glassgrad.data.worker import ExceptionWrapper, IterableStop, ResumeIteration, worker_loop

_POLL = 0.1  # seconds between checks that the workers are alive while waiting for data


def resolve_context(context: Any) -> Any:
    """``multiprocessing_context`` as a context: None is the platform's default start method
    ('fork' on Linux), a string names one, a context object is used as is."""
    if context is None:
        return mp.get_context()
    if isinstance(context, str):
        methods = mp.get_all_start_methods()
        if context not in methods:
            raise ValueError(
                f"multiprocessing_context option should specify a valid start method in "
                f"{methods!r}, but got multiprocessing_context={context!r}"
            )
        return mp.get_context(context)
    if not isinstance(context, mp.context.BaseContext):
        raise TypeError(
            "multiprocessing_context option should be a valid context object or a string "
            f"specifying the start method, but got multiprocessing_context={context!r}"
        )
    return context


def _base_seed(generator: Any) -> int:
    """Worker seeds' base, a new one per pass: from a child of the loader's generator, so the
    shuffling stream (and thus the batches) stays the one ``num_workers=0`` would draw."""
    try:
        child = generator.spawn(1)[0]
    except (TypeError, AttributeError, ValueError):  # no SeedSequence to spawn from
        child = generator
    return int(child.integers(0, 2**63 - 1))


def _shutdown(workers: list[Any], index_queues: list[Any], data_queue: Any) -> None:
    """Ask every worker to stop, wait a little, then terminate any that did not."""
    for q in index_queues:
        with contextlib.suppress(OSError, ValueError):  # already closed
            q.put(None)
    deadline = time.monotonic() + 5.0
    for w in workers:
        w.join(timeout=max(0.0, deadline - time.monotonic()))
    for w in workers:
        if w.is_alive():
            w.terminate()
            w.join(timeout=1.0)
    for q in (*index_queues, data_queue):
        q.cancel_join_thread()
        q.close()


class MultiProcessingIter:
    """Iterate over a loader's batches loaded by ``loader.num_workers`` worker processes."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader
        self._n = loader.num_workers
        self._prefetch = 2 if loader.prefetch_factor is None else loader.prefetch_factor
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        ctx = resolve_context(loader.multiprocessing_context)
        self._method = ctx.get_start_method()
        self._data_queue = ctx.Queue()
        self._index_queues: list[Any] = []
        self._workers: list[Any] = []
        self._finalizer = weakref.finalize(
            self, _shutdown, self._workers, self._index_queues, self._data_queue
        )
        base_seed = _base_seed(loader.generator)
        auto = loader.batch_sampler is not None or loader._iterable
        for i in range(self._n):
            iq = ctx.Queue()
            self._index_queues.append(iq)
            w = ctx.Process(
                target=worker_loop,
                args=(
                    loader._iterable,
                    loader.dataset,
                    iq,
                    self._data_queue,
                    auto,
                    loader.collate_fn,
                    loader.batch_size,
                    loader.drop_last,
                    base_seed,
                    loader.worker_init_fn,
                    i,
                    self._n,
                ),
                daemon=True,
            )
            try:
                w.start()
            except Exception as e:
                self._finalizer()
                raise RuntimeError(
                    f"DataLoader: could not start worker process {i} with the "
                    f"{self._method!r} start method ({type(e).__name__}: {e}). With 'spawn' "
                    "or 'forkserver' the dataset, collate_fn and worker_init_fn are pickled: "
                    "define them at module level (no lambdas or local classes), or use "
                    "multiprocessing_context='fork'."
                ) from e
            self._workers.append(w)
        self._epoch = 0
        self._reset(first=True)

    def _reset(self, first: bool = False) -> None:
        """Start a pass: a new sampler iterator, and (persistent workers) a new dataset
        iterator in each worker; results of an abandoned pass are dropped by their epoch."""
        loader = self._loader
        if loader._iterable:
            self._sampler_iter: Any = itertools.repeat(None)
        elif loader.batch_sampler is not None:
            self._sampler_iter = loader._batches()
        else:
            self._sampler_iter = iter(loader.sampler)
        if not first:
            self._epoch += 1
            for q in self._index_queues:
                q.put(ResumeIteration(self._epoch))
        self._send_idx = self._rcvd_idx = 0
        self._task_info: dict[int, tuple[Any, ...]] = {}
        self._active = [True] * self._n
        self._cycle = itertools.cycle(range(self._n))
        for _ in range(self._prefetch * self._n):
            self._try_put_index()

    def _try_put_index(self) -> None:
        if not any(self._active):
            return
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(self._n):
            wid = next(self._cycle)
            if self._active[wid]:
                break
        self._index_queues[wid].put((self._epoch, self._send_idx, index))
        self._task_info[self._send_idx] = (wid,)
        self._send_idx += 1

    def _get(self) -> tuple[int, int, Any]:
        """The next result from any worker; raises if one died or ``timeout`` ran out."""
        start = time.monotonic()
        while True:
            try:
                return self._data_queue.get(timeout=_POLL)
            except queue.Empty:
                pass
            dead = [w for w in self._workers if not w.is_alive()]
            if dead:
                pids = ", ".join(str(w.pid) for w in dead)
                codes = ", ".join(str(w.exitcode) for w in dead)
                self._finalizer()
                raise RuntimeError(
                    f"DataLoader worker (pid(s) {pids}) exited unexpectedly (exit code(s) {codes})"
                )
            if self._timeout > 0 and time.monotonic() - start > self._timeout:
                self._finalizer()
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")

    def __iter__(self) -> MultiProcessingIter:
        return self

    def __next__(self) -> Any:
        while True:
            # skip tasks of workers whose iterable is exhausted (they will send no data)
            while self._rcvd_idx < self._send_idx:
                info = self._task_info[self._rcvd_idx]
                if len(info) == 2 or self._active[info[0]]:
                    break
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self._finalizer()
                raise StopIteration
            info = self._task_info[self._rcvd_idx]
            if len(info) == 2:  # arrived earlier, out of order
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
                return self._process(info[1])
            epoch, idx, data = self._get()
            if epoch != self._epoch:
                continue
            if isinstance(data, IterableStop):
                self._active[data.worker_id] = False
                self._try_put_index()
                continue
            if idx != self._rcvd_idx:
                self._task_info[idx] += (data,)
                continue
            del self._task_info[idx]
            self._rcvd_idx += 1
            return self._process(data)

    def _process(self, data: Any) -> Any:
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            if not self._persistent:
                self._finalizer()
            data.reraise()
        return data

    def __len__(self) -> int:
        return len(self._loader)

    def _shutdown_workers(self) -> None:
        """Stop the workers now (what garbage collection or interpreter exit would do)."""
        self._finalizer()
