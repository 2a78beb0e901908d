"""``DataLoader``: batches of a dataset, optionally shuffled by a seeded generator, as in PyTorch.

With ``num_workers=0`` loading runs in the calling process; with ``num_workers > 0`` worker
processes load the batches (``glassgrad.data.worker``: ``worker_init_fn``, ``get_worker_info()``,
``prefetch_factor``, ``persistent_workers``, ``timeout``, ``multiprocessing_context``), yielding
the same batches in the same order. ``sampler=`` and ``batch_sampler=`` take PyTorch's samplers
(``glassgrad.data.sampler``).
For a ``TensorDataset``, also behind ``Subset``s such as those of ``random_split``, each batch
is one fancy index into the underlying arrays: no Python loop over samples.

Shuffling and reproducibility
-----------------------------
Each pass over a shuffling loader draws a new permutation from ``loader.generator``: the
``numpy.random.Generator`` given as ``generator=`` (an int seed makes one), else glassgrad's own
generator (``glassgrad.manual_seed``) at the time of the pass. A fixed seed gives a reproducible
sequence of epochs, and each epoch's order differs from the last.

To resume training exactly, checkpoint ``loader.state_dict()`` (the generator's
``bit_generator.state``, a dict of ints and strings that ``glassgrad.save`` stores) at an epoch
boundary and call ``loader.load_state_dict(state)`` before the next epoch. When the loader uses
glassgrad's own generator this state is that generator's, which dropout and ``rand`` share: saving
it restores every random draw that follows.

>>> import glassgrad as gg
>>> from glassgrad.data import TensorDataset
>>> ds = TensorDataset(gg.arange(5.0), gg.arange(5))
>>> for x, y in DataLoader(ds, batch_size=2):
...     print(x, y)
tensor([0., 1.]) tensor([0, 1])
tensor([2., 3.]) tensor([2, 3])
tensor([4.]) tensor([4])
>>> len(DataLoader(ds, batch_size=2, drop_last=True))
2
"""

from __future__ import annotations

import collections.abc as abc
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from glassgrad.data.dataset import IterableDataset, as_generator
from glassgrad.data.sampler import BatchSampler, RandomSampler, SequentialSampler
from glassgrad.data.worker import IterableFetcher, MapFetcher, default_convert, get_worker_info
from glassgrad.tensor import Tensor

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]


def _stack_tensors(batch: Sequence[Tensor]) -> Tensor:
    first = batch[0].shape
    for i, t in enumerate(batch):
        if t.shape != first:
            raise RuntimeError(
                f"default_collate: stack expects each tensor to be equal size, but got "
                f"{list(first)} at entry 0 and {list(t.shape)} at entry {i}"
            )
    from glassgrad.ops.joining import _torch_layout, stack

    if any(t.requires_grad for t in batch):  # keep the graph, as torch.stack would
        return stack(batch)
    return Tensor._make(_torch_layout(np.stack([t._data for t in batch])))


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into a batch, as ``torch.utils.data.default_collate`` does.

    Tensors and NumPy arrays (and other libraries' tensors, through their values) are stacked
    along a new first dimension; Python ints become an int64
    tensor, floats a float64 tensor, bools a bool tensor; strings stay as they come (the batch's
    list, or a tuple for a field of tuple samples, as PyTorch's); dicts, tuples and lists are
    collated field by field (tuples and lists give a list, named tuples keep their type).

    >>> default_collate([(1, 2.0), (3, 4.0)])
    [tensor([1, 3]), tensor([2., 4.], dtype=torch.float64)]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind not in "biuf":
            raise TypeError(
                f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                f"lists; found an array of dtype {elem.dtype}"
            )
        return _stack_tensors([Tensor._make(np.asarray(b)) for b in batch])
    if isinstance(elem, np.generic):
        return Tensor._make(np.array(batch))
    if isinstance(elem, bool):
        return Tensor._make(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return Tensor._make(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor._make(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)  # type: ignore[call-arg]
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a named tuple keeps its type
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if hasattr(elem, "__array__") and not isinstance(elem, abc.Sequence):
        # another library's tensor (a torch.Tensor from a torchvision transform): its values
        return default_collate([np.asarray(b) for b in batch])
    if isinstance(elem, abc.Sequence):
        size = len(elem)
        if any(len(s) != size for s in batch):
            raise RuntimeError(
                "default_collate: each element in list of batch should be of equal size"
            )
        return [default_collate(s) for s in zip(*batch)]  # (zip's tuples: strings stay one)
    raise TypeError(
        f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        f"found {type(elem).__name__}"
    )


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size`` samples, with PyTorch's arguments.

    Args:
        dataset: a map-style ``Dataset`` (``__getitem__`` and ``__len__``) or an
            ``IterableDataset`` (``__iter__``).
        batch_size: samples per batch; the last batch is smaller unless ``drop_last``. None:
            no batching, each sample is yielded as it is (NumPy arrays become tensors).
        shuffle: draw a new random order for every pass (epoch).
        sampler: the order of indices instead (``RandomSampler``, ``SubsetRandomSampler``,
            ``WeightedRandomSampler``... or any iterable of indices with a length).
        batch_sampler: yields whole lists of indices; excludes ``batch_size``, ``shuffle``,
            ``sampler`` and ``drop_last``.
        collate_fn: merges a list of samples into a batch (default: ``default_collate``).
        generator: an int seed, a ``glassgrad.Generator`` or a ``numpy.random.Generator`` for
            shuffling; None uses glassgrad's generator (see the module docstring on resuming).
        num_workers: worker processes that load batches (0: load in the calling process);
            the batches and their order are the same either way.
        timeout: seconds to wait for a batch from the workers before raising (0: forever).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker after seeding.
        multiprocessing_context: a start method ('fork', 'spawn', 'forkserver') or a context;
            None is the platform's default.
        prefetch_factor: batches loaded ahead per worker (default 2 with workers).
        persistent_workers: keep the workers between passes instead of restarting them.
        pin_memory, pin_memory_device, in_order: accepted and checked as PyTorch does (there
            is no accelerator memory to pin; batches are always yielded in order).
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: Any = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
        ):
            raise TypeError(
                f"DataLoader: batch_size should be a positive integer, got {batch_size!r}"
            )
        if batch_size is not None and batch_size <= 0:
            raise ValueError(
                f"DataLoader: batch_size should be a positive integer, got {batch_size}"
            )
        iterable = isinstance(dataset, IterableDataset)
        if not iterable and (
            not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__")
        ):
            raise TypeError(
                f"DataLoader: dataset must define __getitem__ and __len__ (or be an "
                f"IterableDataset), got {type(dataset).__name__}"
            )
        if num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be >= 0, got {num_workers}")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing. "
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None."
            )
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if multiprocessing_context is not None:
            if num_workers == 0:
                raise ValueError(
                    "multiprocessing_context can only be used with multi-process loading "
                    f"(num_workers > 0), but got num_workers={num_workers}"
                )
            from glassgrad.data._multiprocess import resolve_context

            resolve_context(multiprocessing_context)
        if iterable and shuffle:
            raise ValueError(
                f"DataLoader with IterableDataset: expected unspecified shuffle option, "
                f"but got shuffle={shuffle}"
            )
        if iterable and sampler is not None:
            raise ValueError(
                f"DataLoader with IterableDataset: expected unspecified sampler option, "
                f"but got sampler={sampler}"
            )
        if iterable and batch_sampler is not None:
            raise ValueError(
                f"DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                f"but got batch_sampler={batch_sampler}"
            )
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (
            batch_size != 1 or shuffle or sampler is not None or drop_last
        ):
            raise ValueError(
                "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                "and drop_last"
            )
        if batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with "
                "drop_last"
            )
        self.dataset = dataset
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.pin_memory_device = pin_memory_device
        self.in_order = in_order
        self.shuffle = bool(shuffle)
        self._generator = None if generator is None else _resolve(generator)
        self._iterable = iterable
        if batch_sampler is not None:
            batch_size, drop_last = None, False
        elif sampler is None and not iterable:
            sampler = (
                RandomSampler(dataset, generator=self._generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        self.sampler = sampler
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = bool(drop_last)
        if batch_sampler is None and self.batch_size is not None and sampler is not None:
            batch_sampler = BatchSampler(sampler, self.batch_size, self.drop_last)
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn if collate_fn is not None else default_collate
        self._iterator: Any = None  # the persistent workers' iterator, made at the first pass

    @property
    def generator(self) -> np.random.Generator:
        """The generator the next shuffled pass draws from (glassgrad's own unless given)."""
        return as_generator(self._generator, "DataLoader")

    def state_dict(self) -> dict[str, Any]:
        """The shuffling generator's state, to checkpoint at an epoch boundary."""
        return {"generator": self.generator.bit_generator.state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state from ``state_dict()``: the next pass draws the same order as then."""
        if "generator" not in state_dict:
            raise KeyError(
                f"DataLoader.load_state_dict: missing key 'generator', got keys {list(state_dict)}"
            )
        self.generator.bit_generator.state = state_dict["generator"]

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def _batches(self) -> Iterator[np.ndarray]:
        """Each batch's indices (the samplers' arrays directly, without a Python loop)."""
        bs = self.batch_sampler
        if isinstance(bs, BatchSampler) and isinstance(bs.sampler, _ARRAY_SAMPLERS):
            sampler, size = bs.sampler, bs.batch_size
            if isinstance(sampler, RandomSampler):
                chunks = sampler.chunks()  # lazily: num_samples may be far beyond memory
            else:
                chunks = iter([sampler.indices()])
            rest = np.zeros(0, dtype=np.int64)
            for chunk in chunks:
                order = np.concatenate([rest, chunk]) if len(rest) else chunk
                stop = len(order) - len(order) % size
                for start in range(0, stop, size):
                    yield order[start : start + size]
                rest = order[stop:]
            if len(rest) and not bs.drop_last:
                yield rest
            return
        for batch in bs:
            yield np.asarray(batch, dtype=np.int64)

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers == 0:
            return self._single_process_iter()
        from glassgrad.data._multiprocess import MultiProcessingIter

        if not self.persistent_workers:
            return MultiProcessingIter(self)
        if self._iterator is None:
            self._iterator = MultiProcessingIter(self)
        else:
            self._iterator._reset()
        return self._iterator

    def _single_process_iter(self) -> Iterator[Any]:
        if self._iterable:
            fetch_next = IterableFetcher(
                self.dataset, self.collate_fn, self.batch_size, self.drop_last
            )
            while True:
                try:
                    batch = fetch_next()
                except StopIteration:
                    return
                yield batch
        if self.batch_sampler is None:  # batch_size=None: one sample at a time, no collation
            fetch_one = MapFetcher(self.dataset, self.collate_fn, False)
            for i in self.sampler:
                yield fetch_one(i)
            return
        fetch = MapFetcher(self.dataset, self.collate_fn, True)
        for idx in self._batches():
            yield fetch(idx)

    def __repr__(self) -> str:
        size = "" if self._iterable else f" of {len(self.dataset)}"
        return (
            f"DataLoader({type(self.dataset).__name__}{size}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


_ARRAY_SAMPLERS = (RandomSampler, SequentialSampler)


def _resolve(generator: Any) -> Any:
    """An int seed becomes a generator once; a ``glassgrad.Generator`` or NumPy one is kept."""
    from glassgrad.creation import Generator

    if isinstance(generator, Generator):
        return generator
    return as_generator(generator, "DataLoader")
