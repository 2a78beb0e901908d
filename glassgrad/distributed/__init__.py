"""``glassgrad.distributed``: PyTorch's ``torch.distributed`` names, over MPI (mpi4py).

The same program runs as one process, as N processes on a laptop or as N processes on the nodes
of a cluster (``mpiexec -n N -f hosts python train.py``; see ``docs/distributed.md``)::

    import glassgrad.distributed as dist
    dist.init_process_group("mpi")          # rank and world size from mpiexec ("gloo" works too)
    t = glassgrad.tensor([float(dist.get_rank())])
    dist.all_reduce(t, op=dist.ReduceOp.SUM)  # in place: every rank now holds 0 + 1 + ...
    model = glassgrad.nn.parallel.DistributedDataParallel(model)

Collectives work in place on Tensors and accept ``async_op=True`` (a ``Work`` to ``wait()``).
``import glassgrad`` never imports mpi4py: that happens in ``init_process_group``, so the core
stays NumPy-only. Without a process group the calls raise PyTorch's error for a missing one.

>>> is_initialized()
False
"""

from __future__ import annotations

from glassgrad.distributed._group import (
    Backend,
    GroupMember,
    ProcessGroup,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
    launched_world_size,
)
from glassgrad.distributed.collectives import (
    ReduceOp,
    Work,
    all_gather,
    all_gather_into_tensor,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    broadcast_object_list,
    gather,
    gather_object,
    irecv,
    isend,
    recv,
    reduce,
    reduce_scatter,
    reduce_scatter_tensor,
    scatter,
    send,
)

__all__ = [
    "Backend",
    "GroupMember",
    "ProcessGroup",
    "ReduceOp",
    "Work",
    "all_gather",
    "all_gather_into_tensor",
    "all_gather_object",
    "all_reduce",
    "barrier",
    "broadcast",
    "broadcast_object_list",
    "destroy_process_group",
    "gather",
    "gather_object",
    "get_backend",
    "get_rank",
    "get_world_size",
    "group",
    "init_process_group",
    "irecv",
    "is_available",
    "is_gloo_available",
    "is_initialized",
    "is_mpi_available",
    "is_nccl_available",
    "isend",
    "launched_world_size",
    "recv",
    "reduce",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "scatter",
    "send",
]


def is_gloo_available() -> bool:
    """Whether ``backend="gloo"`` works: it does wherever MPI does (glassgrad runs it on MPI)."""
    return is_available()


def is_nccl_available() -> bool:
    """False: glassgrad runs on CPUs."""
    return False
