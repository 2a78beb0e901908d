"""Collectives: every rank calls the same function at the same point; MPI moves the data.

As in PyTorch they work in place on Tensors (``all_reduce(t)`` leaves the sum in ``t`` on every
rank), are not recorded by autograd, and with ``async_op=True`` return a ``Work`` whose
``wait()`` blocks until the data has arrived (MPI's non-blocking collectives underneath, so the
program computes meanwhile).

Before moving data, each public collective exchanges the shape and dtype of every rank's tensor
(one small message): a mismatch is then the same clear error on every rank, naming the ranks,
shapes and dtypes, instead of MPI's truncation error, garbage or a hang.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.autograd.state import bump_version
from glassgrad.distributed._group import ProcessGroup, default_group
from glassgrad.tensor import Tensor

__all__ = [
    "ReduceOp",
    "Work",
    "all_gather",
    "all_gather_into_tensor",
    "all_gather_object",
    "all_reduce",
    "barrier",
    "broadcast",
    "broadcast_object_list",
    "gather",
    "gather_object",
    "irecv",
    "isend",
    "recv",
    "reduce",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "scatter",
    "send",
]


class RedOpType(enum.IntEnum):
    """PyTorch's reduction operations, with its numbering."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8
    UNUSED = 9


class ReduceOp:
    """``ReduceOp.SUM``, ``AVG``, ``PRODUCT``, ``MIN``, ``MAX``, ``BAND``, ``BOR``, ``BXOR``."""

    RedOpType = RedOpType
    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR
    PREMUL_SUM = RedOpType.PREMUL_SUM
    UNUSED = RedOpType.UNUSED


class Work:
    """A collective in flight (``async_op=True``): ``wait()`` blocks until it has finished.

    ``finish`` runs once the data has arrived: it copies results into tensors that were not
    contiguous, divides for ``AVG`` and bumps the tensors' version counters.
    """

    def __init__(
        self, request: Any, finish: Callable[[], None] | None = None, result: Any = None
    ) -> None:
        self._request = request
        self._finish = finish
        self._result = result if result is not None else []

    def wait(self, timeout: Any = None) -> bool:
        """Block until the collective has finished; True (as PyTorch)."""
        if self._request is not None:
            self._request.Wait()
            self._complete()
        return True

    def is_completed(self) -> bool:
        """Whether it has finished, without blocking (also lets MPI make progress)."""
        if self._request is not None and self._request.Test():
            self._complete()
        return self._request is None

    def is_success(self) -> bool:
        return self.is_completed()

    def result(self) -> list[Tensor]:
        """The output tensors, once finished."""
        self.wait()
        return list(self._result)

    def _complete(self) -> None:
        self._request = None
        finish, self._finish = self._finish, None
        if finish is not None:
            finish()


# ---- the pieces every collective uses ----------------------------------------------------------


def _mpi() -> Any:
    from mpi4py import MPI  # already imported by init_process_group: a dict lookup

    return MPI


def _array(what: str, name: str, t: Any) -> np.ndarray:
    """The tensor's array, as MPI reads and writes it: C-contiguous (a copy if not) and flat."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: {name} must be a Tensor, got {type(t).__name__}")
    a = t._data
    if not a.flags.writeable:
        raise RuntimeError(
            f"{what}: {name} (shape {tuple(a.shape)}) is read-only; collectives write in place"
        )
    return (a if a.flags.c_contiguous else np.ascontiguousarray(a)).reshape(-1)


def _store(t: Tensor, flat: np.ndarray) -> None:
    """Put the result in ``t`` (already there unless ``t`` was not contiguous); new version."""
    if not np.may_share_memory(flat, t._data):  # (a copy was made: t was not contiguous)
        t._data[...] = flat.reshape(t._data.shape)
    bump_version(t)


def _describe(meta: tuple[tuple[int, ...], str]) -> str:
    shape, dtype = meta
    return f"{dtypes.name(np.dtype(dtype))} of shape {shape}"


def _meta(t: Tensor) -> tuple[tuple[int, ...], str]:
    return tuple(t._data.shape), t._data.dtype.str


def _agree(pg: ProcessGroup, what: str, meta: Any, ref: int | None = None) -> None:
    """Exchange every rank's ``meta`` (shapes and dtypes); the same error on every rank unless
    they are equal (or, with ``ref``, equal to rank ``ref``'s)."""
    every = pg.comm.allgather(meta)
    expected = every[0 if ref is None else ref]
    if all(m == expected for m in every):
        return
    shown = ", ".join(f"rank {r} has {_describe_all(m)}" for r, m in enumerate(every))
    want = "the same shapes and dtypes" if ref is None else f"the shape and dtype rank {ref} has"
    raise RuntimeError(f"{what}: the tensors differ between ranks: {shown}; pass {want}")


def _describe_all(meta: Any) -> str:
    if isinstance(meta, list):
        return "[" + ", ".join(_describe(m) for m in meta) + "]"
    return _describe(meta)


def _root(
    pg: ProcessGroup,
    what: str,
    name: str,
    value: int | None,
    group_value: int | None,
    default: int | None = 0,
) -> int:
    """The root rank from ``src``/``dst`` or ``group_src``/``group_dst`` (the same ranks here:
    glassgrad has only the default group), checked."""
    chosen = value if group_value is None else group_value
    if chosen is None:
        chosen = default
    if chosen is None:
        raise ValueError(f"{what}: give {name} (the root rank)")
    return _rank_arg(pg, what, name, chosen)


def _rank_arg(pg: ProcessGroup, what: str, name: str, value: Any) -> int:
    size = pg.size()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{what}: {name} must be a rank (an int), got {value!r}")
    if not 0 <= value < size:
        raise ValueError(f"{what}: {name}={value} is not a rank of this group (0 to {size - 1})")
    return int(value)


def _mpi_op(what: str, op: Any, dtype: np.dtype) -> Any:
    """MPI's operation for ``op`` on ``dtype`` (bool: logical operations, as PyTorch's)."""
    MPI = _mpi()
    try:
        op = RedOpType(op)
    except ValueError:
        raise ValueError(f"{what}: op must be a ReduceOp, got {op!r}") from None
    kind = dtype.kind
    if kind == "b":
        logical = {"SUM": MPI.LOR, "MAX": MPI.LOR, "BOR": MPI.LOR, "MIN": MPI.LAND}
        logical.update(PRODUCT=MPI.LAND, BAND=MPI.LAND, BXOR=MPI.LXOR)
        if op.name in logical:
            return logical[op.name]
    elif op in (RedOpType.SUM, RedOpType.AVG, RedOpType.PRODUCT) and kind in "iufc":
        if op is RedOpType.AVG and kind not in "fc":
            raise ValueError(
                f"{what}: ReduceOp.AVG needs a floating point or complex tensor, got "
                f"{dtypes.name(dtype)} (sum it and divide)"
            )
        return MPI.PROD if op is RedOpType.PRODUCT else MPI.SUM
    elif op in (RedOpType.MIN, RedOpType.MAX) and kind in "iuf":
        return MPI.MIN if op is RedOpType.MIN else MPI.MAX
    elif op in (RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR) and kind in "iu":
        return {"BAND": MPI.BAND, "BOR": MPI.BOR, "BXOR": MPI.BXOR}[op.name]
    raise ValueError(f"{what}: ReduceOp.{op.name} is not supported for {dtypes.name(dtype)}")


def _run(
    request: Any, finish: Callable[[], None] | None, async_op: bool, result: Any = None
) -> Any:
    """Wait now (the default) or hand back a ``Work`` (``async_op=True``)."""
    work = Work(request, finish, result)
    if async_op:
        return work
    work.wait()
    return None


def _averaged(op: Any, size: int, flat: np.ndarray) -> None:
    if op == RedOpType.AVG:
        np.divide(flat, size, out=flat)


# ---- reductions ----------------------------------------------------------------------------------


def all_reduce(
    tensor: Tensor, op: Any = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """Reduce ``tensor`` over all ranks (``op``: SUM, AVG, MAX...); every rank gets the result,
    in place."""
    pg = default_group("all_reduce", group)
    flat = _array("all_reduce", "tensor", tensor)
    mop = _mpi_op("all_reduce", op, flat.dtype)
    _agree(pg, "all_reduce", _meta(tensor))
    request = pg.comm.Iallreduce(_mpi().IN_PLACE, flat, mop)

    def finish() -> None:
        _averaged(op, pg.size(), flat)
        _store(tensor, flat)

    return _run(request, finish, async_op)


def reduce(
    tensor: Tensor,
    dst: int | None = None,
    op: Any = ReduceOp.SUM,
    group: Any = None,
    async_op: bool = False,
    group_dst: int | None = None,
) -> Work | None:
    """Reduce ``tensor`` over all ranks into rank ``dst``'s ``tensor`` (the others keep theirs)."""
    pg = default_group("reduce", group)
    root = _root(pg, "reduce", "dst", dst, group_dst, None)
    flat = _array("reduce", "tensor", tensor)
    mop = _mpi_op("reduce", op, flat.dtype)
    _agree(pg, "reduce", _meta(tensor))
    mine = pg.rank() == root
    MPI = _mpi()
    send, recv = (MPI.IN_PLACE, flat) if mine else (flat, None)
    request = pg.comm.Ireduce(send, recv, mop, root=root)

    def finish() -> None:
        if mine:
            _averaged(op, pg.size(), flat)
            _store(tensor, flat)

    return _run(request, finish, async_op)


def reduce_scatter(
    output: Tensor,
    input_list: Sequence[Tensor],
    op: Any = ReduceOp.SUM,
    group: Any = None,
    async_op: bool = False,
) -> Work | None:
    """Reduce ``input_list`` elementwise over ranks; rank ``r`` gets entry ``r`` in ``output``."""
    pg = default_group("reduce_scatter", group)
    parts = _list_arg(pg, "reduce_scatter", "input_list", input_list)
    flat = _array("reduce_scatter", "output", output)
    mop = _mpi_op("reduce_scatter", op, flat.dtype)
    _agree(pg, "reduce_scatter", [_meta(output)] + [_meta(t) for t in parts])
    _same_as("reduce_scatter", "input_list", parts, output)
    send = np.concatenate([t._data.reshape(-1) for t in parts])
    return _reduce_scatter(pg, send, flat, output, op, mop, async_op)


def reduce_scatter_tensor(
    output: Tensor, input: Tensor, op: Any = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """``reduce_scatter`` with the inputs concatenated in one tensor of ``world_size`` times
    ``output``'s size."""
    pg = default_group("reduce_scatter_tensor", group)
    flat = _array("reduce_scatter_tensor", "output", output)
    send = _array("reduce_scatter_tensor", "input", input)
    mop = _mpi_op("reduce_scatter_tensor", op, flat.dtype)
    _agree(pg, "reduce_scatter_tensor", [_meta(output), _meta(input)])
    _sizes_fit("reduce_scatter_tensor", input, output, pg.size(), ("input", "output"))
    return _reduce_scatter(pg, send, flat, output, op, mop, async_op)


def _reduce_scatter(
    pg: ProcessGroup,
    send: np.ndarray,
    flat: np.ndarray,
    output: Tensor,
    op: Any,
    mop: Any,
    async_op: bool,
) -> Work | None:
    request = pg.comm.Ireduce_scatter_block(send, flat, mop)

    def finish() -> None:
        _averaged(op, pg.size(), flat)
        _store(output, flat)

    return _run(request, finish, async_op)


# ---- moving data ---------------------------------------------------------------------------------


def broadcast(
    tensor: Tensor,
    src: int | None = None,
    group: Any = None,
    async_op: bool = False,
    group_src: int | None = None,
) -> Work | None:
    """Copy rank ``src``'s ``tensor`` into every other rank's ``tensor``."""
    pg = default_group("broadcast", group)
    root = _root(pg, "broadcast", "src", src, group_src, None)
    flat = _array("broadcast", "tensor", tensor)
    _agree(pg, "broadcast", _meta(tensor), ref=root)
    request = pg.comm.Ibcast(flat, root=root)
    mine = pg.rank() == root
    return _run(request, None if mine else (lambda: _store(tensor, flat)), async_op)


def all_gather(
    tensor_list: list[Tensor], tensor: Tensor, group: Any = None, async_op: bool = False
) -> Work | None:
    """Every rank's ``tensor``, in rank order, into every rank's ``tensor_list``."""
    pg = default_group("all_gather", group)
    outs = _list_arg(pg, "all_gather", "tensor_list", tensor_list)
    send = _array("all_gather", "tensor", tensor)
    _same_as("all_gather", "tensor_list", outs, tensor)
    _agree(pg, "all_gather", _meta(tensor))
    recv = np.empty((pg.size(), send.size), send.dtype)
    request = pg.comm.Iallgather(send, recv)

    def finish() -> None:
        for t, row in zip(outs, recv):
            _store(t, row)

    return _run(request, finish, async_op, outs)


def all_gather_into_tensor(
    output_tensor: Tensor, input_tensor: Tensor, group: Any = None, async_op: bool = False
) -> Work | None:
    """Every rank's ``input_tensor``, concatenated in rank order, into ``output_tensor`` (of
    ``world_size`` times its size: (W*n, ...) or stacked (W, n, ...))."""
    pg = default_group("all_gather_into_tensor", group)
    recv = _array("all_gather_into_tensor", "output_tensor", output_tensor)
    send = _array("all_gather_into_tensor", "input_tensor", input_tensor)
    _agree(pg, "all_gather_into_tensor", [_meta(output_tensor), _meta(input_tensor)])
    _sizes_fit(
        "all_gather_into_tensor",
        output_tensor,
        input_tensor,
        pg.size(),
        ("output_tensor", "input_tensor"),
    )
    request = pg.comm.Iallgather(send, recv)
    return _run(request, lambda: _store(output_tensor, recv), async_op, [output_tensor])


def gather(
    tensor: Tensor,
    gather_list: list[Tensor] | None = None,
    dst: int | None = None,
    group: Any = None,
    async_op: bool = False,
    group_dst: int | None = None,
) -> Work | None:
    """Every rank's ``tensor``, in rank order, into rank ``dst``'s ``gather_list``."""
    pg = default_group("gather", group)
    root = _root(pg, "gather", "dst", dst, group_dst)
    send = _array("gather", "tensor", tensor)
    mine = pg.rank() == root
    outs = _root_list(pg, "gather", "gather_list", gather_list, mine, tensor)
    _agree(pg, "gather", _meta(tensor))
    recv = np.empty((pg.size(), send.size), send.dtype) if mine else None
    request = pg.comm.Igather(send, recv, root=root)

    def finish() -> None:
        if recv is not None:
            for t, row in zip(outs, recv):
                _store(t, row)

    return _run(request, finish, async_op, outs)


def scatter(
    tensor: Tensor,
    scatter_list: list[Tensor] | None = None,
    src: int | None = None,
    group: Any = None,
    async_op: bool = False,
    group_src: int | None = None,
) -> Work | None:
    """Rank ``src``'s ``scatter_list[r]`` into rank ``r``'s ``tensor``."""
    pg = default_group("scatter", group)
    root = _root(pg, "scatter", "src", src, group_src)
    recv = _array("scatter", "tensor", tensor)
    mine = pg.rank() == root
    parts = _root_list(pg, "scatter", "scatter_list", scatter_list, mine, tensor)
    _agree(pg, "scatter", _meta(tensor))
    send = np.concatenate([t._data.reshape(-1) for t in parts]) if mine else None
    request = pg.comm.Iscatter(send, recv, root=root)
    return _run(request, lambda: _store(tensor, recv), async_op)


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> Work | None:
    """Wait until every rank has reached this point."""
    pg = default_group("barrier", group)
    return _run(pg.comm.Ibarrier(), None, async_op)


def _list_arg(pg: ProcessGroup, what: str, name: str, tensors: Any) -> list[Tensor]:
    size = pg.size()
    if not isinstance(tensors, (list, tuple)) or len(tensors) != size:
        got = f"{len(tensors)} entries" if isinstance(tensors, (list, tuple)) else repr(tensors)
        raise ValueError(
            f"{what}: {name} must be a list of {size} tensors (one per rank), got {got}"
        )
    for i, t in enumerate(tensors):
        _array(what, f"{name}[{i}]", t)
    return list(tensors)


def _root_list(
    pg: ProcessGroup, what: str, name: str, tensors: Any, mine: bool, like: Tensor
) -> list[Tensor]:
    if not mine:
        if tensors:
            raise ValueError(f"{what}: {name} must be given on the root rank only")
        return []
    parts = _list_arg(pg, what, name, tensors)
    _same_as(what, name, parts, like)
    return parts


def _same_as(what: str, name: str, tensors: list[Tensor], like: Tensor) -> None:
    want = _meta(like)
    for i, t in enumerate(tensors):
        if _meta(t) != want:
            raise ValueError(
                f"{what}: {name}[{i}] is {_describe(_meta(t))}, but the tensor is "
                f"{_describe(want)}; they must match"
            )


def _sizes_fit(what: str, big: Tensor, small: Tensor, size: int, names: tuple[str, str]) -> None:
    """``big`` must hold one ``small`` per rank (same dtype, ``size`` times the elements)."""
    b, s = big._data, small._data
    if b.dtype != s.dtype or b.size != size * s.size:
        raise ValueError(
            f"{what}: {names[0]} must hold {size} x {s.size} elements of {dtypes.name(s.dtype)} "
            f"(one {names[1]} per rank: {names[1]} is {_describe(_meta(small))}), got "
            f"{_describe(_meta(big))}"
        )


# ---- point to point ------------------------------------------------------------------------------


def isend(tensor: Tensor, dst: int | None = None, group: Any = None, tag: int = 0) -> Work:
    """Start sending ``tensor`` to rank ``dst``; ``wait()`` before changing it."""
    pg = default_group("isend", group)
    flat = _array("isend", "tensor", tensor)
    return Work(pg.comm.Isend(flat, dest=_rank_arg(pg, "isend", "dst", dst), tag=tag))


def irecv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0) -> Work:
    """Start receiving into ``tensor`` from rank ``src`` (any rank if None)."""
    pg = default_group("irecv", group)
    flat = _array("irecv", "tensor", tensor)
    source = _mpi().ANY_SOURCE if src is None else _rank_arg(pg, "irecv", "src", src)
    request = pg.comm.Irecv(flat, source=source, tag=tag)
    return Work(request, lambda: _store(tensor, flat), [tensor])


def send(tensor: Tensor, dst: int | None = None, group: Any = None, tag: int = 0) -> None:
    """Send ``tensor`` to rank ``dst`` (which calls ``recv``)."""
    isend(tensor, dst, group, tag).wait()


def recv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0) -> int:
    """Receive into ``tensor`` from rank ``src`` (any rank if None); returns the sender's rank."""
    pg = default_group("recv", group)
    flat = _array("recv", "tensor", tensor)
    MPI = _mpi()
    status = MPI.Status()
    source = MPI.ANY_SOURCE if src is None else _rank_arg(pg, "recv", "src", src)
    pg.comm.Recv(flat, source=source, tag=tag, status=status)
    _store(tensor, flat)
    return int(status.Get_source())


# ---- Python objects (pickled) --------------------------------------------------------------------


def broadcast_object_list(
    object_list: list[Any],
    src: int | None = None,
    group: Any = None,
    device: Any = None,
    group_src: int | None = None,
) -> None:
    """Rank ``src``'s ``object_list`` (any picklable objects) into every rank's list, in place."""
    pg = default_group("broadcast_object_list", group)
    root = _root(pg, "broadcast_object_list", "src", src, group_src)
    got = pg.comm.bcast(list(object_list) if pg.rank() == root else None, root=root)
    object_list[:] = got


def all_gather_object(object_list: list[Any], obj: Any, group: Any = None) -> None:
    """Every rank's ``obj``, in rank order, into ``object_list`` (of ``world_size`` entries)."""
    pg = default_group("all_gather_object", group)
    object_list[:] = pg.comm.allgather(obj)


def gather_object(
    obj: Any, object_gather_list: list[Any] | None = None, dst: int | None = None, group: Any = None
) -> None:
    """Every rank's ``obj``, in rank order, into rank ``dst``'s ``object_gather_list``."""
    pg = default_group("gather_object", group)
    root = _root(pg, "gather_object", "dst", dst, None)
    got = pg.comm.gather(obj, root=root)
    if pg.rank() == root and object_gather_list is not None:
        object_gather_list[:] = got
