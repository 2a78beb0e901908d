"""What a trace is made of: variables and the statements that compute them.

A trace is a straight-line list of NumPy calls. Each ``Stmt`` calls one function (a ufunc, a
NumPy function, an ndarray method, a generator's draw, an item assignment or a guard) on
*expressions*: a ``Var`` (an array or number the trace computed or read), a ``Const`` (an object
handed to the generated code by reference) or a plain Python literal, nested in tuples, lists,
dicts and slices as the call had them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Var:
    """One value of the trace: an array (``kind="array"``) or a Python number (``"number"``).

    ``buffer`` names the memory an array lives in (views share their base's), so that a write
    through one view keeps the statements reading another alive. ``source`` says where the value
    comes from when the trace did not compute it (see ``trace.Source``).
    """

    __slots__ = (
        "buffer",
        "contiguous",
        "dtype",
        "dynamic",
        "hint",
        "id",
        "kind",
        "name",
        "owner",
        "shape",
        "source",
    )

    def __init__(self, id: int, kind: str, shape: Any = None, dtype: Any = None) -> None:
        self.id = id
        self.kind = kind
        self.shape = shape
        self.dtype = dtype
        self.buffer: int = id
        self.name: str = ""
        self.hint: str = ""
        self.source: Any = None
        self.owner: Any = None  # the recording it belongs to
        self.contiguous = False  # an array laid out in C order when recorded (may reuse a buffer)
        self.dynamic = False  # its shape depends on data (a boolean mask's selection, nonzero)

    def __repr__(self) -> str:
        return self.name or f"v{self.id}"


@dataclass(frozen=True)
class Const:
    """An object the generated code receives by reference (an array, a dtype, a function).

    ``live``: for an array copied when recorded, the array itself (a NumPy array the user keeps
    and may change between calls is checked against the copy before each replay)."""

    value: Any
    name: str
    live: Any = field(default=None, compare=False)


@dataclass
class Stmt:
    """One call of the trace.

    ``kind``: ``"call"`` (``outs = fn(*args, **kwargs)``), ``"method"`` (``outs =
    args[0].fn(*args[1:], **kwargs)``), ``"binop"`` (``outs = args[0] <fn> args[1]``, Python
    numbers), ``"setitem"`` (``args[0][args[1]] = args[2]``) or ``"guard"`` (``fn`` is a Python
    expression over ``args`` that must equal ``expected``, else the trace does not apply).
    ``writes`` lists the variables whose memory the call changes; ``effect`` marks calls whose
    side effects matter beyond their results (a random generator's draw).
    """

    kind: str
    fn: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    outs: list[Var]
    writes: list[Var] = field(default_factory=list)
    note: str = ""
    effect: bool = False
    expected: Any = None
    scalar_out: bool = False  # the call returned a NumPy scalar (a 0-d array while recording)
    tuple_out: bool = False  # the call returned a tuple (unpacked into ``outs``)
    errstate: Any = None  # NumPy's error handling the call ran under (``np.errstate``), if set

    def reads(self) -> list[Var]:
        """Every variable the statement's arguments mention."""
        found: list[Var] = []
        _collect((self.args, self.kwargs), found)
        return found


def _collect(x: Any, found: list[Var]) -> None:
    if isinstance(x, Var):
        found.append(x)
    elif isinstance(x, (tuple, list)):
        for y in x:
            _collect(y, found)
    elif isinstance(x, dict):
        for y in x.values():
            _collect(y, found)
    elif isinstance(x, slice):
        _collect((x.start, x.stop, x.step), found)
