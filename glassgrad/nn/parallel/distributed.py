"""``DistributedDataParallel``: the same model on every rank, each on its share of the batch.

Construction checks that every rank built the same model (names, shapes, dtypes) and copies rank
0's parameters and buffers to the others; then each ``backward()`` averages the gradients over
the ranks while it runs (bucketed, non-blocking all-reduce: ``glassgrad.distributed.reducer``),
so after it every rank holds the gradient of the whole batch's mean loss and the optimizers step
alike. Run with ``mpiexec -n N python train.py``::

    dist.init_process_group("mpi")
    model = DistributedDataParallel(Net())
    for x, y in loader:                       # each rank: its own share (DistributedSampler)
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()  # gradients averaged over the ranks
        opt.step()
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

from glassgrad.autograd.grad_mode import is_grad_enabled
from glassgrad.autograd.graph import walk
from glassgrad.distributed import _group
from glassgrad.distributed.collectives import _array, _store
from glassgrad.distributed.reducer import Reducer
from glassgrad.nn.module import Module
from glassgrad.tensor import Tensor

__all__ = ["DistributedDataParallel"]


class DistributedDataParallel(Module):
    """Wraps ``module`` for data-parallel training over the default process group.

    ``bucket_cap_mb`` (default 25) bounds each all-reduce's size. ``find_unused_parameters``
    searches each forward graph for parameters it does not reach and marks them ready at once,
    so their buckets need not wait for the end of the backward pass; without it such parameters
    are found at the end (no rank ever hangs on them). ``broadcast_buffers`` copies rank 0's
    buffers (BatchNorm statistics) to every rank before each forward. ``no_sync()`` skips the
    averaging for gradient accumulation. ``device_ids``/``output_device`` are ignored (CPUs).
    As in PyTorch the model is ``.module`` and state-dict keys start with ``module.``.
    """

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        init_sync: bool = True,
        process_group: Any = None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
    ) -> None:
        pg = _group.default_group("DistributedDataParallel", process_group)
        super().__init__()
        self.module = module
        self.device_ids: list[Any] = []
        self.output_device = None
        self.dim = dim
        self.process_group = pg
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.static_graph = static_graph
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 2**20)
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        named = list(module.named_parameters())
        self._buffers_to_sync = [b for _, b in module.named_buffers()]
        _check_same_model(pg, named, list(module.named_buffers()))
        if init_sync:
            _broadcast_from_0(pg, [p for _, p in named] + self._buffers_to_sync)
        trainable = [(n, p) for n, p in named if p.requires_grad]
        self.reducer = Reducer(
            [p for _, p in trainable], [n for n, _ in trainable], pg, self.bucket_bytes_cap
        )
        weakref.finalize(self, self.reducer.close)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        reducer = self.reducer
        if reducer.running:
            raise RuntimeError(
                "DistributedDataParallel: the previous backward pass did not finish averaging "
                "(it raised midway); the ranks are out of step"
            )
        if self.broadcast_buffers and self.require_forward_param_sync and self._buffers_to_sync:
            _broadcast_from_0(self.process_group, self._buffers_to_sync)
        out = self.module(*inputs, **kwargs)
        reducer.sync = bool(
            is_grad_enabled() and self.require_backward_grad_sync and reducer.params
        )
        if reducer.sync and self.find_unused_parameters:
            reached = {id(x) for x in walk(_graph_roots(out), leaves=True)}
            reducer.unused = [i for i, p in enumerate(reducer.params) if id(p) not in reached]
        return out

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Forward passes run inside skip the averaging in their backward: gradients accumulate
        on each rank, and the first backward after the block averages the accumulated sums."""
        before = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = before

    def _get_ddp_logging_data(self) -> dict[str, Any]:
        """What the last averaged backward pass did: buckets, bytes all-reduced, when each
        bucket started (seconds after the first gradient), time spent waiting at the end."""
        r = self.reducer
        return {
            "world_size": r.world,
            "bucket_sizes": [b.buffer.nbytes for b in r.buckets],
            "find_unused_parameters": self.find_unused_parameters,
            **r.stats,
        }


def _graph_roots(out: Any) -> list[Any]:
    """The graph nodes (or leaf tensors) behind the tensors in a forward's output."""
    roots: list[Any] = []
    stack = [out]
    while stack:
        x = stack.pop()
        if isinstance(x, Tensor):
            if x.requires_grad:
                roots.append(x.grad_fn if x.grad_fn is not None else x)
        elif isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
    return roots


def _check_same_model(
    pg: Any, named: list[tuple[str, Any]], buffers: list[tuple[str, Any]]
) -> None:
    """Every rank must hold the same parameters and buffers: the same error on every rank
    (naming the first difference) instead of a garbled broadcast or a hang."""
    mine = [("parameter", n, tuple(p.shape), p._data.dtype.str) for n, p in named]
    mine += [("buffer", n, tuple(b.shape), b._data.dtype.str) for n, b in buffers]
    every = pg.comm.allgather(mine)
    ref = every[0]
    for r, theirs in enumerate(every):
        if theirs == ref:
            continue
        for a, b in zip(ref, theirs):
            if a != b:
                raise RuntimeError(
                    f"DistributedDataParallel: the model differs between ranks: rank 0 has "
                    f"{_show(a)}, rank {r} has {_show(b)}; every rank must build the same model"
                )
        raise RuntimeError(
            f"DistributedDataParallel: the model differs between ranks: rank 0 has {len(ref)} "
            f"parameters and buffers, rank {r} has {len(theirs)}; every rank must build the "
            "same model"
        )


def _show(entry: tuple[str, str, tuple[int, ...], str]) -> str:
    from glassgrad import dtypes

    kind, name, shape, dtype = entry
    return f"{kind} {name!r} of shape {shape} ({dtypes.name(dtype)})"


def _broadcast_from_0(pg: Any, tensors: list[Any]) -> None:
    """Rank 0's values into every rank's ``tensors`` (shapes already checked to agree)."""
    for t in tensors:
        flat = _array("DistributedDataParallel", "a parameter", t)
        pg.comm.Bcast(flat, root=0)
        if pg.rank() != 0:
            _store(t, flat)
