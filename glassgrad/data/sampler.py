"""Samplers: the order (and batches) of dataset indices a ``DataLoader`` draws, as in PyTorch.

A sampler is any iterable of indices with a ``__len__``; a batch sampler yields lists of
indices. Random samplers draw from their ``generator`` (an int seed, a ``glassgrad.Generator``
or a NumPy ``Generator``), else from glassgrad's default generator at the time of each pass.

>>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
[[0, 1], [2, 3], [4]]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any, Generic, TypeVar

import numpy as np

from glassgrad.data.dataset import as_generator

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]

T_co = TypeVar("T_co", covariant=True)


def _keep(generator: Any, who: str) -> Any:
    """Resolve an int seed once (else every pass would repeat the first one's order); keep a
    ``glassgrad.Generator`` or None to look up at each pass."""
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return as_generator(generator, who)
    return generator


class Sampler(Generic[T_co]):
    """Base class: subclasses define ``__iter__`` (indices) and usually ``__len__``."""

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler[int]):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def indices(self) -> np.ndarray:
        return np.arange(len(self.data_source))

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """A random permutation each pass; with ``replacement``, ``num_samples`` independent draws."""

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Any = None,
    ) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got {replacement!r}")
        if num_samples is not None and (not isinstance(num_samples, int) or num_samples <= 0):
            raise ValueError(
                f"num_samples should be a positive integer value, but got {num_samples!r}"
            )
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = _keep(generator, "RandomSampler")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    _CHUNK = 1 << 16  # draws with replacement come this many at a time (num_samples may be 1e10)

    def chunks(self) -> Iterator[np.ndarray]:
        """One pass's indices as int64 arrays, drawn lazily: with replacement at most ``_CHUNK``
        at a time, without it one permutation at a time."""
        n, rng = len(self.data_source), as_generator(self.generator, "RandomSampler")
        k = self.num_samples
        if self.replacement:
            for start in range(0, k, self._CHUNK):
                yield rng.integers(0, n, size=min(self._CHUNK, k - start)).astype(np.int64)
            return
        if not n:
            return
        for start in range(0, k, n):
            yield rng.permutation(n)[: k - start].astype(np.int64)

    def indices(self) -> np.ndarray:
        """One pass's indices as one int64 array (what ``__iter__`` yields)."""
        parts = list(self.chunks())
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def __iter__(self) -> Iterator[int]:
        for chunk in self.chunks():
            yield from chunk.tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given ``indices`` in a random order each pass."""

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices = indices
        self.generator = _keep(generator, "SubsetRandomSampler")

    def __iter__(self) -> Iterator[int]:
        rng = as_generator(self.generator, "SubsetRandomSampler")
        return (self.indices[int(i)] for i in rng.permutation(len(self.indices)))

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``."""

    def __init__(
        self,
        weights: Any,
        num_samples: int,
        replacement: bool = True,
        generator: Any = None,
    ) -> None:
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got {num_samples!r}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got {replacement!r}")
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(
                f"weights should be a 1d sequence but given weights have shape {w.shape}"
            )
        if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise RuntimeError(
                "WeightedRandomSampler: weights must be non-negative, finite and not all zero"
            )
        if not replacement and num_samples > np.count_nonzero(w):
            raise RuntimeError(
                "WeightedRandomSampler: cannot draw more samples than non-zero weights "
                "without replacement"
            )
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = _keep(generator, "WeightedRandomSampler")

    def __iter__(self) -> Iterator[int]:
        rng = as_generator(self.generator, "WeightedRandomSampler")
        p = self.weights / self.weights.sum()
        drawn = rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p)
        return iter(drawn.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """Lists of ``batch_size`` indices from ``sampler`` (the last one shorter unless
    ``drop_last``)."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size!r}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(
                f"drop_last should be a boolean value, but got drop_last={drop_last!r}"
            )
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for i in self.sampler:
            batch.append(int(i))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
