"""DistributedDataParallel's reducer: averages gradients across ranks during the backward pass.

Parameters are grouped into *buckets*, each one flat buffer (one dtype, at most ``cap`` bytes;
the first at most 1 MiB so communication starts early). A hook on every parameter copies its
gradient into its bucket as soon as the engine has summed it (the hook runs inside the backward
walk, where PyTorch's AccumulateGrad would); once a bucket is full, a non-blocking
``MPI_Iallreduce`` starts on it while the backward pass goes on computing the earlier layers'
gradients. A callback queued on the engine (``autograd.engine.queue_callback``) runs once the
walk has finished: it waits for every all-reduce and writes the averages into ``.grad``, so the
optimizer never sees a gradient that is not averaged yet.

(``register_post_accumulate_grad_hook`` would be the other place to start from, but glassgrad
writes ``.grad`` all at once at the end of the walk, too late to overlap anything.)

Every rank must start the same all-reduces in the same order, or MPI mixes them up. So buckets
start strictly in bucket order, and a parameter that got no gradient on this rank (an unused
branch) is marked ready with a zero contribution at the end of the backward pass, or right at
its start when ``find_unused_parameters`` found it unused in the forward graph: no rank waits
for a bucket another rank never sends. Each bucket carries one extra element per parameter,
1 where that rank had a gradient for it: a parameter no rank had a gradient for keeps
``.grad`` None, as in PyTorch.

The buckets start in the reverse order of ``parameters()`` (roughly the order the backward pass
produces gradients). After the first averaged backward pass they are rebuilt in the order the
gradients actually arrived on rank 0, as PyTorch does, so each bucket fills as early as it can.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from glassgrad.autograd.engine import queue_callback
from glassgrad.distributed._group import ProcessGroup
from glassgrad.tensor import Tensor

FIRST_BUCKET_BYTES = 1 << 20  # PyTorch's first bucket: small, so the first all-reduce starts soon


class Bucket:
    """Parameters ``members`` (indices) whose gradients travel in one flat ``buffer``.

    ``buffer`` holds the gradients back to back, then one flag per member (1: this rank had a
    gradient for it). ``pending`` counts the members not ready yet in this backward pass.
    """

    __slots__ = ("buffer", "done", "members", "numel", "offsets", "pending", "request")

    def __init__(self, members: list[int], params: list[Tensor]) -> None:
        self.members = members
        sizes = [params[i]._data.size for i in members]
        self.offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).tolist()
        self.numel = self.offsets[-1]
        self.buffer = np.zeros(self.numel + len(members), params[members[0]]._data.dtype)
        self.done = [False] * len(members)
        self.pending = len(members)
        self.request: Any = None

    def view(self, k: int) -> np.ndarray:
        return self.buffer[self.offsets[k] : self.offsets[k + 1]]

    def reset(self) -> None:
        self.done = [False] * len(self.members)
        self.pending = len(self.members)
        self.request = None


def assign_buckets(
    order: list[int], params: list[Tensor], cap: int, first_cap: int
) -> list[list[int]]:
    """Split ``order`` (parameter indices) into buckets of one dtype and at most ``cap`` bytes
    (``first_cap`` for the first); a tensor larger than the cap gets a bucket of its own.

    A bucket closes *before* it would overflow (PyTorch closes it after): then a layer's small
    bias does not drag the next layer's large weight, computed later, into its bucket.
    """
    buckets: list[list[int]] = []
    open_: dict[np.dtype, tuple[list[int], int]] = {}  # dtype -> (members, bytes)
    for i in order:
        a = params[i]._data
        limit = first_cap if not buckets else cap
        members, size = open_.get(a.dtype, ([], 0))
        if members and size + a.nbytes > limit:
            buckets.append(members)
            members, size = [], 0
        open_[a.dtype] = (members + [i], size + a.nbytes)
    buckets.extend(members for members, _ in open_.values() if members)
    return buckets


class Reducer:
    """Averages the gradients of ``params`` across the ranks of ``pg`` (see the module doc)."""

    def __init__(
        self, params: list[Tensor], names: list[str], pg: ProcessGroup, cap_bytes: int
    ) -> None:
        self.params, self.names, self.pg = params, names, pg
        self.comm, self.world = pg.comm, pg.size()
        self.cap = cap_bytes
        self.sync = False  # does the coming backward pass average (set by each forward)?
        self.running = False  # inside a backward pass that averages
        self.unused: list[int] = []  # what the last forward graph did not reach (if searched)
        self.arrived: list[int] = []  # this backward's ready order
        self.rebuilt = False
        self.stats: dict[str, Any] = {}
        self.next_launch = 0
        self._build(list(reversed(range(len(params)))))
        ref = weakref.ref(self)
        self.handles = [p.register_hook(_ready_hook(ref, i)) for i, p in enumerate(params)]

    def _build(self, order: list[int]) -> None:
        groups = assign_buckets(order, self.params, self.cap, min(self.cap, FIRST_BUCKET_BYTES))
        self.buckets = [Bucket(members, self.params) for members in groups]
        self.slot = {i: (b, k) for b, members in enumerate(groups) for k, i in enumerate(members)}

    def close(self) -> None:
        """Take the hooks off the parameters (the DDP wrapper is gone)."""
        for h in self.handles:
            h.remove()
        self.handles = []

    # ---- during the backward pass ------------------------------------------------------------

    def ready(self, i: int, g: np.ndarray | None) -> None:
        """Parameter ``i``'s gradient of this backward pass is ``g`` (None: it got none)."""
        if not self.running:
            self._begin()
        b, k = self.slot[i]
        bucket = self.buckets[b]
        if bucket.done[k]:
            raise RuntimeError(
                f"DistributedDataParallel: parameter {self.names[i]!r} got a gradient after it "
                "was marked unused: find_unused_parameters=True found it unused in the forward "
                "graph, yet the backward pass reached it (was the output of another forward "
                "call used?)"
            )
        bucket.done[k] = True
        view, held = bucket.view(k), self.params[i]._grad
        if g is not None:
            self.arrived.append(i)
        if held is not None:  # gradients accumulated locally (under no_sync) travel too
            if g is None:
                view[...] = held._data.reshape(-1)
            else:
                np.add(held._data.reshape(-1), g.reshape(-1), out=view)
        elif g is not None:
            view[...] = g.reshape(-1)
        else:
            view[...] = 0
        bucket.buffer[bucket.numel + k] = g is not None or held is not None
        bucket.pending -= 1
        if bucket.pending == 0:
            self._launch()
        elif self.next_launch:  # let MPI move the buckets in flight (no progress thread)
            self._poke()

    def _begin(self) -> None:
        """The first gradient of an averaging backward pass: queue the finish, mark the unused."""
        self.running = True
        self.arrived = []
        self.stats["launch_seconds"] = []
        self._t0 = time.perf_counter()
        queue_callback(self._finish)
        unused, self.unused = self.unused, []
        for i in unused:
            self.ready(i, None)

    def _launch(self) -> None:
        """Start the all-reduce of every complete bucket, strictly in bucket order."""
        MPI = _mpi()
        while self.next_launch < len(self.buckets):
            bucket = self.buckets[self.next_launch]
            if bucket.pending:
                return
            bucket.request = self.comm.Iallreduce(MPI.IN_PLACE, bucket.buffer, MPI.SUM)
            self.stats["launch_seconds"].append(time.perf_counter() - self._t0)
            self.next_launch += 1

    def _poke(self) -> None:
        requests = [b.request for b in self.buckets[: self.next_launch]]
        _mpi().Request.Testall(requests)

    def _finish(self) -> None:
        """End of the backward pass: the rest of the buckets, wait for all, write ``.grad``."""
        try:
            launched_in_backward = self.next_launch
            for b in range(self.next_launch, len(self.buckets)):
                bucket = self.buckets[b]
                for k, i in enumerate(bucket.members):
                    if not bucket.done[k]:
                        self.ready(i, None)
            self._launch()
            start = time.perf_counter()
            _mpi().Request.Waitall([b.request for b in self.buckets])
            waited = time.perf_counter() - start
            for bucket in self.buckets:
                self._write(bucket)
            self.stats.update(
                buckets=len(self.buckets),
                bytes=sum(b.buffer.nbytes for b in self.buckets),
                launched_in_backward=launched_in_backward,
                backward_seconds=start - self._t0,
                wait_seconds=waited,
            )
            if not self.rebuilt:
                self._rebuild()
        finally:
            self.running = False
            self.next_launch = 0
            for bucket in self.buckets:
                bucket.reset()

    def _write(self, bucket: Bucket) -> None:
        """``.grad`` = the sum over ranks / world size, for each member any rank had one for."""
        for k, i in enumerate(bucket.members):
            if not bucket.buffer[bucket.numel + k]:
                continue
            p, total = self.params[i], bucket.view(k)
            held = p._grad
            if (
                held is not None
                and held.grad_fn is None
                and held._data.shape == p._data.shape
                and held._data.flags.c_contiguous
                and held._data.flags.writeable
            ):  # (the usual case: backward just wrote it) in place, one pass
                np.divide(total, self.world, out=held._data.reshape(-1))
            else:
                p.grad = Tensor._make(np.divide(total, self.world).reshape(p._data.shape))

    def _rebuild(self) -> None:
        """Buckets in the order rank 0's gradients arrived (every rank takes rank 0's order)."""
        seen = set(self.arrived)
        order = self.arrived + [i for i in reversed(range(len(self.params))) if i not in seen]
        order = self.comm.bcast(order, root=0)
        self._build(order)
        self.rebuilt = True


def _ready_hook(ref: weakref.ref[Reducer], i: int) -> Callable[[Any], None]:
    """The hook on parameter ``i``: hands its summed gradient to the reducer (if averaging)."""

    def hook(g: Any) -> None:
        reducer = ref()
        if reducer is not None and reducer.sync:
            reducer.ready(i, g._data if isinstance(g, Tensor) else np.asarray(g))

    return hook


def _mpi() -> Any:
    from mpi4py import MPI

    return MPI
