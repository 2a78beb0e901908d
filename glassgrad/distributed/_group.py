"""The default process group: MPI's processes, as ``glassgrad.distributed`` sees them.

``init_process_group`` imports mpi4py (only then: ``import glassgrad`` stays NumPy-only), takes
the rank and the world size from the MPI launcher (``mpiexec -n N``; one process without it) and
duplicates ``MPI.COMM_WORLD``, so glassgrad's collectives never mix with a program's own MPI
messages. With more than one process it also makes an uncaught exception fatal to the whole job:
the rank that raised prints its traceback and a line naming itself, then calls ``MPI_Abort``, and
the launcher ends every other rank at once instead of leaving them waiting in a collective.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any, NoReturn

__all__ = [
    "Backend",
    "ProcessGroup",
    "destroy_process_group",
    "get_backend",
    "get_rank",
    "get_world_size",
    "group",
    "init_process_group",
    "is_available",
    "is_initialized",
    "is_mpi_available",
    "launched_world_size",
]

# Where launchers put the world size: MPICH/Hydra (PMI), Open MPI, PMIx, Slurm's srun.
_WORLD_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "SLURM_NTASKS")


class Backend(str):
    """A backend's name: ``Backend("gloo")``. glassgrad has one transport, MPI; "gloo" (PyTorch's
    CPU backend) is accepted as a name for it, so CPU scripts run unchanged."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    MPI = "mpi"

    def __new__(cls, name: str) -> Backend:
        if not isinstance(name, str):
            raise ValueError(f"Backend name must be a string, but got: {name!r}")
        return super().__new__(cls, name.lower())


class ProcessGroup:
    """The ranks that run collectives together, over an MPI communicator (``.comm``)."""

    def __init__(self, comm: Any, backend: str) -> None:
        self.comm = comm
        self.backend = backend

    def rank(self) -> int:
        return int(self.comm.Get_rank())

    def size(self) -> int:
        return int(self.comm.Get_size())

    def __repr__(self) -> str:
        return f"<ProcessGroup backend={self.backend} rank={self.rank()} size={self.size()}>"


class group:  # (lower case: PyTorch's name, torch.distributed.group.WORLD)
    """``group.WORLD``: the default process group once initialised, else None."""

    WORLD: ProcessGroup | None = None


GroupMember = group

_default: list[ProcessGroup] = []  # the default group, once initialised
_previous_excepthook: list[Callable[..., Any]] = []


def is_available() -> bool:
    """True when mpi4py is installed (``pip install 'glassgrad[distributed]'``); not imported."""
    return importlib.util.find_spec("mpi4py") is not None


is_mpi_available = is_available


def is_initialized() -> bool:
    """Whether ``init_process_group`` has run (and ``destroy_process_group`` not since)."""
    return bool(_default)


def launched_world_size() -> int:
    """How many processes the launcher started (1 without one), read from its environment
    variables, without importing MPI: lets a program decide whether to set up a process group."""
    for name in _WORLD_SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


def _no_group() -> NoReturn:
    raise ValueError(
        "Default process group has not been initialized, please make sure to call "
        "init_process_group."
    )


def default_group(what: str, given: Any = None) -> ProcessGroup:
    """The default group (PyTorch's error if none); ``given``: a ``group=`` argument, which
    must be None or that group (glassgrad has no sub-groups)."""
    if not _default:
        _no_group()
    pg = _default[0]
    if given is not None and given is not pg:
        raise ValueError(
            f"{what}: group={given!r} is not the default process group; glassgrad has only the "
            "default group (pass group=None)"
        )
    return pg


def _normalise_backend(backend: Any) -> str:
    name = "mpi" if backend is None else Backend(str(backend))
    for part in name.split(","):  # "cpu:gloo,cuda:nccl" names a backend per device type
        device, _, kind = part.rpartition(":")
        if device in ("", "cpu") and kind in ("mpi", "gloo", "undefined"):
            return "mpi"
    raise RuntimeError(
        f"init_process_group(backend={backend!r}): glassgrad runs on CPUs over MPI; use "
        "backend='mpi' (or 'gloo', which glassgrad maps to MPI)"
    )


def init_process_group(
    backend: Any = None,
    init_method: str | None = None,
    timeout: Any = None,
    world_size: int = -1,
    rank: int = -1,
    store: Any = None,
    group_name: str = "",
    pg_options: Any = None,
    device_id: Any = None,
) -> None:
    """Join the job the MPI launcher started: ``mpiexec -n 4 python train.py``.

    The rank and world size come from MPI (one process when run without ``mpiexec``);
    ``world_size``/``rank``, if given, must agree with it. ``init_method`` and ``store`` (how
    PyTorch's processes find each other) are not needed: MPI has already connected them.
    """
    if _default:
        raise RuntimeError("trying to initialize the default process group twice!")
    name = _normalise_backend(backend)
    if not is_available():
        raise RuntimeError(
            "init_process_group: the MPI backend needs mpi4py and an MPI library: "
            "pip install 'glassgrad[distributed]' (installs mpi4py and MPICH)"
        )
    from mpi4py import MPI

    comm = MPI.COMM_WORLD.Dup()
    size, me = comm.Get_size(), comm.Get_rank()
    for arg, asked, got in (("world_size", world_size, size), ("rank", rank, me)):
        if asked not in (-1, None) and asked != got:
            comm.Free()
            raise ValueError(
                f"init_process_group: {arg}={asked} was asked for, but MPI started this process "
                f"as rank {me} of {size}; start the job with `mpiexec -n {world_size} ...` (the "
                "launcher sets the rank and the world size)"
            )
    pg = ProcessGroup(comm, name)
    _default.append(pg)
    group.WORLD = pg
    if size > 1:
        _previous_excepthook.append(sys.excepthook)
        sys.excepthook = _abort_on_uncaught


def destroy_process_group(group: Any = None) -> None:
    """Leave the default group (MPI stays up: a later ``init_process_group`` joins again)."""
    pg = default_group("destroy_process_group", group)
    _default.clear()
    GroupMember.WORLD = None
    if _previous_excepthook:
        sys.excepthook = _previous_excepthook.pop()
    pg.comm.Free()


def get_rank(group: Any = None) -> int:
    """This process's rank in the default group, 0 to ``get_world_size() - 1``."""
    return default_group("get_rank", group).rank()


def get_world_size(group: Any = None) -> int:
    """How many processes the default group has."""
    return default_group("get_world_size", group).size()


def get_backend(group: Any = None) -> str:
    """The backend's name: always "mpi"."""
    return default_group("get_backend", group).backend


def _abort_on_uncaught(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    """``sys.excepthook`` while a group of several ranks is up: report, then end the whole job.

    Without it the other ranks would wait forever in their next collective for this one.
    """
    previous = _previous_excepthook[-1] if _previous_excepthook else sys.__excepthook__
    pg = _default[0] if _default else None
    where = f"rank {pg.rank()} of {pg.size()}" if pg is not None else "a rank"
    sys.stdout.flush()
    # the one line first: MPI_Abort can end the launcher before it forwards the last output
    sys.stderr.write(
        f"glassgrad.distributed: {where} raised {exc_type.__name__}: {exc}; aborting the "
        "whole job (MPI_Abort)\n"
    )
    sys.stderr.flush()
    try:
        previous(exc_type, exc, tb)
    finally:
        sys.stderr.flush()
        from mpi4py import MPI

        MPI.COMM_WORLD.Abort(1)
