"""The switches every op reads: grad mode, anomaly mode, create-graph (per thread, as in
PyTorch), and the process-wide count of in-place modifications.

``Node.apply`` (``node.py``) and the engine read these on every op and every backward; the
public context managers (``no_grad`` & co., ``grad_mode.py``) and anomaly mode set them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# ---- the switches: per thread, as in PyTorch --------------------------------------------------
#
# Grad mode, anomaly mode, the create-graph flag and the backward observer belong to the thread
# that sets them (a thread starts with PyTorch's defaults). Reading a ``threading.local`` costs
# about 4x a slot, and ``Node.apply`` reads grad mode on every op, so the hot paths first read a
# process-wide summary, a plain module global: ``GRAD_OFF`` (threads with grad mode off),
# ``ANOMALY_ON`` and ``CREATE_GRAPH_ON``. Only when one is non-empty do they read the calling
# thread's own value. A thread that ends away from the default is counted out again.

# One entry per thread away from the default: list append/pop are atomic, so no lock is needed,
# and a list's truth value is as cheap to read as a bool.
GRAD_OFF: list[None] = []  # threads with grad mode off
ANOMALY_ON: list[None] = []  # threads with anomaly mode on
CREATE_GRAPH_ON: list[None] = []  # threads running rules under create_graph
_AWAY = (GRAD_OFF, ANOMALY_ON, CREATE_GRAPH_ON)


class _Away:
    """One per thread that moved a switch off its default: its entries in the lists above."""

    __slots__ = ("flags",)

    def __init__(self) -> None:
        self.flags = [False, False, False]

    def __del__(self) -> None:  # the thread ended (its thread-local values are dropped)
        try:
            for i, f in enumerate(self.flags):
                if f:
                    _AWAY[i].pop()
        except Exception:  # interpreter shutdown
            pass


_local_setattr = threading.local.__setattr__
_SWITCHES = ("grad_enabled", "anomaly", "create_graph")


class _State(threading.local):
    """The switches read on every op, one set per thread (class attributes are the defaults).

    Reading one is a plain attribute read; setting ``grad_enabled``, ``anomaly`` or
    ``create_graph`` also keeps the process-wide summary (``GRAD_OFF`` ...) right.
    ``inplace_epoch`` is process-wide (tensors are shared between threads): see ``EPOCH``.
    """

    grad_enabled = True  # record ops into the graph?
    create_graph = False  # are backward rules being run on Tensors (higher order)?
    anomaly = False  # remember where each op was created and check gradients for NaN?
    anomaly_check_nan = True  # in anomaly mode, raise at the first NaN/Inf gradient?
    # called as observer(node, grad_in, grads_out, seconds, saved) after each rule runs
    # (tools that show the backward pass step by step set it; None costs one check a pass)
    backward_observer: Any = None
    retain_graph = False  # does the running backward keep what nodes saved? (a rule may free)
    _away: _Away | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SWITCHES:
            switch(name, value is True or bool(value))
        else:
            _local_setattr(self, name, value)

    @property
    def inplace_epoch(self) -> int:
        """Process-wide count of in-place modifications (read-only here; see ``EPOCH``)."""
        return EPOCH[0]


state = _State()


def _setter(name: str, i: int, away: bool) -> Callable[[bool], None]:
    """The setter of one switch: this thread's value, and the summary counted before it is away
    from its default and uncounted after it is back (so a reader never misses it)."""
    summary = _AWAY[i]

    def set_switch(value: bool) -> None:
        st = state
        a = st._away
        if a is None:
            a = _Away()
            _local_setattr(st, "_away", a)
        flags = a.flags
        if value is away:
            if not flags[i]:
                flags[i] = True
                summary.append(None)
            _local_setattr(st, name, value)
        else:
            _local_setattr(st, name, value)
            if flags[i]:
                flags[i] = False
                summary.pop()

    set_switch.__name__ = set_switch.__qualname__ = f"set_{name}"
    return set_switch


set_grad_enabled_switch = _setter("grad_enabled", 0, False)  # (no_grad and the engine: hot)
set_create_graph_switch = _setter("create_graph", 2, True)
_SETTERS = {
    "grad_enabled": set_grad_enabled_switch,
    "anomaly": _setter("anomaly", 1, True),
    "create_graph": set_create_graph_switch,
}


def switch(name: str, value: bool) -> None:
    """Set this thread's switch ``name`` to the bool ``value``, keeping the summary right.

    What ``state.<name> = value`` does, a little faster (``grad_mode`` and the engine use it).
    """
    _SETTERS[name](value)


# Counts in-place modifications of any tensor, in every thread: while it is unchanged since an op
# was recorded, none of what that op saved can be stale and the engine skips the version checks.
# Bumped under a lock with the tensor's own counter: a lost increment could bring a count back to
# a value an op saw, making a stale saved tensor look fresh.
EPOCH = [0]
_bump_lock = threading.Lock()


def bump_version(t: Any) -> None:
    """Record an in-place modification of ``t`` (and of every view sharing its counter).

    The counter is ``[version]`` until the first bump, then ``[version, epoch]``: the value
    of ``EPOCH`` at the latest modification, so tools can tell whether a tensor changed after
    a node was recorded (``Node.changed_since``) without every op noting every version.
    """
    with _bump_lock:
        vc = t._vc
        vc[0] += 1
        EPOCH[0] += 1
        if len(vc) == 1:
            vc.append(EPOCH[0])
        else:
            vc[1] = EPOCH[0]
