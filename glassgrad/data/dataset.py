"""Datasets: ``Dataset``, ``TensorDataset``, ``Subset`` and ``random_split``, as in PyTorch.

A dataset is anything with ``__getitem__(i)`` and ``__len__()``. ``TensorDataset`` wraps arrays
that share their first dimension; ``DataLoader`` recognises it (also behind ``Subset``s, which is
what ``random_split`` returns) and cuts whole batches with one fancy index instead of a Python loop
over samples.

>>> import glassgrad as gg
>>> ds = TensorDataset(gg.arange(10.0).reshape(5, 2), gg.arange(5))
>>> len(ds), ds[1]
(5, (tensor([2., 3.]), tensor(1)))
>>> train, test = random_split(ds, [0.8, 0.2], generator=0)
>>> len(train), len(test)
(4, 1)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from glassgrad.tensor import Tensor

__all__ = [
    "ChainDataset",
    "ConcatDataset",
    "Dataset",
    "IterableDataset",
    "StackDataset",
    "Subset",
    "TensorDataset",
    "as_generator",
    "random_split",
]

T_co = TypeVar("T_co", covariant=True)


def as_generator(generator: Any, who: str) -> np.random.Generator:
    """An int seed, a ``glassgrad.Generator`` or a ``numpy.random.Generator`` as a NumPy
    Generator; None is glassgrad's own.

    ``None`` means the generator that ``glassgrad.manual_seed`` seeds, looked up at call time
    (``manual_seed`` replaces it).
    """
    if generator is None:
        from glassgrad.creation import generator as global_generator

        return global_generator()
    if isinstance(generator, np.random.Generator):
        return generator
    from glassgrad.creation import Generator

    if isinstance(generator, Generator):
        return generator.rng
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(
        f"{who}: generator must be None, an int seed, a glassgrad.Generator or a "
        f"numpy.random.Generator, "
        f"got {type(generator).__name__}"
    )


class Dataset(Generic[T_co]):
    """Base class of map-style datasets: subclasses define ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index: int) -> T_co:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other: Dataset[Any]) -> ConcatDataset[Any]:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """Base class of iterable-style datasets: subclasses define ``__iter__`` (samples in order);
    a ``DataLoader`` batches what it yields (no sampler, no shuffling)."""

    def __iter__(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other: Any) -> ChainDataset[Any]:  # type: ignore[override]
        return ChainDataset([self, other])


class ConcatDataset(Dataset[T_co]):
    """The samples of several map-style datasets one after the other."""

    def __init__(self, datasets: Any) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()  # type: ignore[arg-type]

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index: int) -> T_co:
        n = len(self)
        if index < 0:
            if -index > n:
                raise ValueError("absolute value of index should not exceed dataset length")
            index += n
        k = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        if k >= len(self.datasets):
            raise IndexError(f"ConcatDataset: index {index} out of range for length {n}")
        start = 0 if k == 0 else self.cumulative_sizes[k - 1]
        return self.datasets[k][index - start]  # type: ignore[no-any-return]


class ChainDataset(IterableDataset[T_co]):
    """Several iterable datasets, one after the other."""

    def __init__(self, datasets: Any) -> None:
        self.datasets = datasets

    def __iter__(self) -> Any:
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class TensorDataset(Dataset[tuple[Tensor, ...]]):
    """Samples are ``(t[i] for t in tensors)``; every tensor has the same first dimension.

    NumPy arrays are accepted too and wrapped (without a copy) as tensors.
    """

    tensors: tuple[Tensor, ...]

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        wrapped = []
        for k, t in enumerate(tensors):
            if isinstance(t, np.ndarray):
                t = Tensor._make(t)
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"TensorDataset: argument {k} is a {type(t).__name__}, expected a Tensor"
                )
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: argument {k} is 0-d; it has no samples to index")
            wrapped.append(t)
        sizes = [t.shape[0] for t in wrapped]
        if any(s != sizes[0] for s in sizes):
            shapes = ", ".join(f"tensor {k}: {tuple(t.shape)}" for k, t in enumerate(wrapped))
            raise ValueError(
                f"TensorDataset: size mismatch between tensors, all need the same first "
                f"dimension (number of samples); got {shapes}"
            )
        self.tensors = tuple(wrapped)

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class StackDataset(Dataset[Any]):
    """Datasets of one length side by side: sample i is ``(a[i], b[i])`` for
    ``StackDataset(a, b)``, or ``{"image": a[i], "text": b[i]}`` for keyword datasets."""

    datasets: tuple[Any, ...] | dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and kwargs:
            raise ValueError(
                "Supported either ``tuple``- (via ``args``) or ``dict``- (via ``kwargs``) like "
                "input/output, but both types are given."
            )
        if not args and not kwargs:
            raise ValueError("At least one dataset should be passed")
        parts = list(args or kwargs.values())
        lengths = [len(d) for d in parts]
        if any(n != lengths[0] for n in lengths):
            raise ValueError(f"Size mismatch between datasets: lengths {lengths}")
        self._length = lengths[0]
        self.datasets = args if args else kwargs

    def __getitem__(self, index: Any) -> Any:
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length


class Subset(Dataset[T_co]):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset[T_co], indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index: Any) -> T_co:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]  # type: ignore[index]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


def _split_lengths(n: int, lengths: Sequence[float]) -> list[int]:
    """Integer lengths, or fractions summing to 1 turned into lengths as PyTorch does."""
    fractional = any(isinstance(x, float) for x in lengths)
    if fractional and math.isclose(sum(lengths), 1.0) and all(0 <= x <= 1 for x in lengths):
        counts = [math.floor(n * frac) for frac in lengths]
        for i in range(n - sum(counts)):  # the remainder goes round-robin from the first split
            counts[i % len(counts)] += 1
        return counts
    counts = []
    for x in lengths:
        if isinstance(x, bool) or not float(x).is_integer() or x < 0:
            raise ValueError(
                f"random_split: lengths must be non-negative ints or fractions summing to 1, "
                f"got {list(lengths)}"
            )
        counts.append(int(x))
    if sum(counts) != n:
        raise ValueError(
            f"random_split: sum of input lengths {counts} is {sum(counts)}, which does not "
            f"equal the length of the input dataset ({n})"
        )
    return counts


def random_split(
    dataset: Dataset[T_co], lengths: Sequence[float], generator: Any = None
) -> list[Subset[T_co]]:
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    ``lengths`` are ints summing to ``len(dataset)`` or fractions summing to 1 (``[0.8, 0.2]``;
    the remainder of the rounding goes one by one to the first splits, as in PyTorch).
    ``generator`` is an int seed, a ``numpy.random.Generator``, or None for glassgrad's own.
    """
    n = len(dataset)
    counts = _split_lengths(n, lengths)
    perm = as_generator(generator, "random_split").permutation(n)
    splits, start = [], 0
    for count in counts:
        splits.append(Subset(dataset, perm[start : start + count].tolist()))
        start += count
    return splits
