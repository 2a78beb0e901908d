"""``DataLoader``: batches of a dataset, optionally shuffled by a seeded generator, as in PyTorch.

Loading runs in the calling process (``num_workers`` and ``pin_memory`` are accepted for
compatibility and do nothing). For a ``TensorDataset``, also behind ``Subset``s such as those of
``random_split``, each batch is one fancy index into the underlying arrays: no Python loop over
samples.

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
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from glassgrad.data.dataset import Dataset, Subset, TensorDataset, as_generator
from glassgrad.tensor import Tensor

__all__ = ["DataLoader", "default_collate"]


def _stack_tensors(batch: list[Tensor]) -> Tensor:
    first = batch[0].shape
    for i, t in enumerate(batch):
        if t.shape != first:
            raise RuntimeError(
                f"default_collate: stack expects each tensor to be equal size, but got "
                f"{list(first)} at entry 0 and {list(t.shape)} at entry {i}"
            )
    if any(t.requires_grad for t in batch):  # keep the graph, as torch.stack would
        from glassgrad.ops.joining import stack

        return stack(batch)
    return Tensor._make(np.stack([t._data for t in batch]))


def default_collate(batch: list[Any]) -> Any:
    """Merge a list of samples into a batch, as ``torch.utils.data.default_collate`` does.

    Tensors and NumPy arrays are stacked along a new first dimension; Python ints become an int64
    tensor, floats a float64 tensor, bools a bool tensor; strings stay a list; dicts, tuples and
    lists are collated field by field (tuples and lists give a list, named tuples keep their type).

    >>> default_collate([(1, 2.0), (3, 4.0)])
    [tensor([1, 3]), tensor([2., 4.], dtype=glassgrad.float64)]
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
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, abc.Sequence):
        size = len(elem)
        if any(len(s) != size for s in batch):
            raise RuntimeError(
                "default_collate: each element in list of batch should be of equal size"
            )
        return [default_collate(list(s)) for s in zip(*batch)]
    raise TypeError(
        f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        f"found {type(elem).__name__}"
    )


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


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size`` samples.

    Args:
        dataset: a ``Dataset`` (anything with ``__getitem__`` and ``__len__``).
        batch_size: samples per batch; the last batch is smaller unless ``drop_last``.
        shuffle: draw a new random order for every pass (epoch).
        collate_fn: merges a list of samples into a batch (default: ``default_collate``).
        generator: an int seed or ``numpy.random.Generator`` for shuffling; None uses
            glassgrad's generator (see the module docstring on resuming).
    """

    def __init__(
        self,
        dataset: Dataset[Any],
        batch_size: int = 1,
        shuffle: bool = False,
        *,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        generator: Any = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(
                f"DataLoader: batch_size should be a positive integer, got {batch_size!r}"
            )
        if batch_size <= 0:
            raise ValueError(
                f"DataLoader: batch_size should be a positive integer, got {batch_size}"
            )
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise TypeError(
                f"DataLoader: dataset must define __getitem__ and __len__, "
                f"got {type(dataset).__name__}"
            )
        if num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be >= 0, got {num_workers}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.collate_fn = collate_fn if collate_fn is not None else default_collate
        self._generator = None if generator is None else as_generator(generator, "DataLoader")

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
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        return self.generator.permutation(n) if self.shuffle else np.arange(n)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        n, bs = len(order), self.batch_size
        stop = n - n % bs if self.drop_last else n
        source = _tensor_source(self.dataset) if self.collate_fn is default_collate else None
        if source is not None:
            tensors, base = source
            if base is not None:
                order = base[order]
            arrays = [t._data for t in tensors]
            grads = any(t.requires_grad for t in tensors)
            for start in range(0, stop, bs):
                idx = order[start : start + bs]
                if grads:  # keep the graph to the dataset's tensors, as per-sample stacking would
                    yield [t[Tensor._make(idx)] for t in tensors]
                else:
                    yield [Tensor._make(a[idx]) for a in arrays]
            return
        for start in range(0, stop, bs):
            yield self.collate_fn([self.dataset[int(i)] for i in order[start : start + bs]])

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})"
        )
