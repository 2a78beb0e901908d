"""``DistributedSampler``: each of ``num_replicas`` processes reads its own shard of a dataset.

Shards are as PyTorch makes them: the (optionally shuffled) indices are padded by repeating from
the start (or cut, with ``drop_last``) to a multiple of ``num_replicas``, and rank ``r`` takes
every ``num_replicas``-th index from position ``r``. ``set_epoch`` reseeds the shuffle, so every
epoch has a new order that all ranks agree on.

>>> from glassgrad.data.distributed import DistributedSampler
>>> list(DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False))
[1, 3, 0]
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from glassgrad.data.sampler import Sampler

__all__ = ["DistributedSampler"]


def _default_world() -> tuple[int, int]:
    """(world size, rank) of the initialised process group, or PyTorch's error if none."""
    from glassgrad import distributed

    if not distributed.is_initialized():
        raise RuntimeError(
            "DistributedSampler: Default process group has not been initialized, please make "
            "sure to call init_process_group (or pass num_replicas and rank)."
        )
    return distributed.get_world_size(), distributed.get_rank()


class DistributedSampler(Sampler):
    """Yield this rank's shard of ``range(len(dataset))``, shuffled per epoch if ``shuffle``."""

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            world, me = _default_world()
            num_replicas = world if num_replicas is None else num_replicas
            rank = me if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:  # the same order on every rank: seeded by seed + epoch only
            from glassgrad.creation import Generator, randperm

            g = Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[: self.total_size]
        shard = indices[self.rank : self.total_size : self.num_replicas]
        return iter(shard)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` in the shuffle's seed: call it at the start of each epoch."""
        self.epoch = epoch
