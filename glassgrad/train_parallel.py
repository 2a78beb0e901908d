"""``glassgrad train`` over several processes: ``mpiexec -n N glassgrad train ...``.

Every rank runs the same loop on the same shuffled batches; each takes its 1/N share of every
batch (``share``) and ``DistributedDataParallel`` averages the gradients, scaled so that they are
the gradients of the whole batch's mean loss. So ``--batch-size`` is the global batch, and an
N-rank run is the 1-rank run with the work split: the same steps, up to float rounding and
dropout's random masks (each rank draws its own, from a seed fixed by seed, epoch and rank, so
a resumed run draws what the uninterrupted one did). That is why a checkpoint resumes on any
number of ranks: nothing in it depends on N.

Rank 0 alone prints, plots, logs and writes checkpoints; it reads a checkpoint to resume from
and sends it to the others, so only rank 0 needs the file.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

import glassgrad as gg
from glassgrad import distributed as dist

__all__ = ["Ranks", "join"]


@dataclass(frozen=True)
class Ranks:
    """This process's place in the job: ``rank`` of ``world`` (0 of 1 without a launcher)."""

    rank: int = 0
    world: int = 1

    @property
    def leader(self) -> bool:
        """Rank 0: the one that prints and writes files."""
        return self.rank == 0

    def share(self, n: int) -> slice:
        """This rank's contiguous part of ``n`` items (sizes differ by at most one)."""
        return slice(n * self.rank // self.world, n * (self.rank + 1) // self.world)

    def sum(self, values: list[float]) -> list[float]:
        """Elementwise sums over the ranks (one all-reduce), e.g. [loss sum, correct, count]."""
        if self.world == 1:
            return values
        t = gg.tensor(np.asarray(values, dtype=np.float64))
        dist.all_reduce(t)
        return t.tolist()

    def seed_dropout(self, seed: int, epoch: int) -> None:
        """Each rank its own dropout masks, fixed by (seed, epoch, rank) so that a resumed run
        (on as many ranks) draws the same ones; a single process keeps its saved generator."""
        if self.world > 1:
            entropy = np.random.SeedSequence([seed, 2, epoch, self.rank]).generate_state(1)[0]
            gg.manual_seed(int(entropy))

    def from_leader(self, value: Any) -> Any:
        """Rank 0's ``value`` (any picklable object), on every rank."""
        if self.world == 1:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def fail(self, message: str, code: int) -> NoReturn:
        """An error on this rank alone: report it and end every rank (the others would wait
        for it forever in their next all-reduce)."""
        print(f"glassgrad train: error on rank {self.rank}: {message}", file=sys.stderr)
        sys.stderr.flush()
        if self.world == 1:
            raise SystemExit(code)
        from mpi4py import MPI

        MPI.COMM_WORLD.Abort(code)
        raise SystemExit(code)  # (not reached)


def join() -> Ranks:
    """Set up the process group if the MPI launcher started several processes (once); the
    ranks of the group there is, else a single process."""
    if not dist.is_initialized():
        if dist.launched_world_size() == 1:
            return Ranks()
        dist.init_process_group("mpi")
    return Ranks(dist.get_rank(), dist.get_world_size())


def wrap(model: Any, ranks: Ranks) -> Any:
    """The model as the training loop calls it: wrapped for gradient averaging on N ranks."""
    if ranks.world == 1:
        return model
    from glassgrad.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model)
