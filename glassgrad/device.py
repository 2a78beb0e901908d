"""``glassgrad.device``: PyTorch's device object, for a library that runs on the CPU only.

Device-agnostic programs build a device and move models and data to it::

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

``glassgrad.cuda.is_available()`` is False, so such a program picks the CPU and runs unchanged.
A device object for an accelerator (``device('cuda:0')``) can be built and compared, as in
PyTorch, but putting anything on it raises ``CPUOnlyError`` (a ``RuntimeError``) naming the
function and the device.

>>> import glassgrad as gg
>>> gg.device("cpu"), gg.device("cuda:1").index, str(gg.device("cpu", 0))
(device(type='cpu'), 1, 'cpu:0')
>>> gg.ones(2).device == gg.device("cpu")
True
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CPUOnlyError",
    "check_cpu",
    "device",
    "get_default_device",
    "parse_to",
    "set_default_device",
]

# The device types PyTorch knows (its error message lists them in this order).
_TYPES = (
    "cpu",
    "cuda",
    "ipu",
    "xpu",
    "mkldnn",
    "opengl",
    "opencl",
    "ideep",
    "hip",
    "ve",
    "fpga",
    "maia",
    "xla",
    "lazy",
    "vulkan",
    "mps",
    "meta",
    "hpu",
    "mtia",
    "privateuseone",
)


class CPUOnlyError(RuntimeError, AssertionError):
    """Something asked for a device other than the CPU. A ``RuntimeError``; also an
    ``AssertionError``, which is what a CPU-only PyTorch raises ("Torch not compiled with CUDA
    enabled"), so ``except`` clauses written for either catch it."""


def _parse_index(text: str, spec: str) -> int:
    if not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        raise RuntimeError(f"Invalid device string: {spec!r}")
    return int(text)


class device:
    """Where a tensor lives: ``device('cpu')``, ``device('cuda:0')``, ``device('cuda', 1)``.

    ``type`` is the kind of device, ``index`` its ordinal or None. Two devices are equal when
    both match; as in PyTorch a device never equals a string (``str(d) == 'cpu'`` compares text).
    """

    __slots__ = ("_index", "_type")

    def __init__(self, type: Any, index: int | None = None) -> None:
        if isinstance(type, device):
            if index is not None:
                raise RuntimeError("device(): a device object takes no separate index")
            self._type, self._index = type.type, type.index
            return
        if isinstance(type, int) and not isinstance(type, bool):
            raise CPUOnlyError(
                f"device({type}): an integer names an accelerator (cuda:{type}); this build of "
                f"glassgrad runs on the CPU only"
            )
        if not isinstance(type, str):
            raise TypeError(
                f"device(): expected a string, a device or an int, got {_typename(type)}"
            )
        spec = type
        if not spec:
            raise RuntimeError("Device string must not be empty")
        kind, sep, rest = spec.partition(":")
        if kind not in _TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(_TYPES)} device type at start of device string: {spec}"
            )
        parsed = _parse_index(rest, spec) if sep else None
        if index is not None:
            if parsed is not None:
                raise RuntimeError(
                    f"type (string) must not include an index because index was passed "
                    f"explicitly: {spec}"
                )
            if isinstance(index, bool) or not isinstance(index, int):
                raise TypeError(f"device(): index must be an int, got {_typename(index)}")
            if index < 0:
                raise RuntimeError(f"Device index must not be negative, got {index}")
            parsed = index
        self._type, self._index = kind, parsed

    @property
    def type(self) -> str:
        return self._type

    @property
    def index(self) -> int | None:
        return self._index

    def __str__(self) -> str:
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self) -> str:
        if self._index is None:
            return f"device(type={self._type!r})"
        return f"device(type={self._type!r}, index={self._index})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, device):
            return False  # PyTorch: device('cpu') == 'cpu' is False
        return (self._type, self._index) == (other._type, other._index)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((self._type, self._index))

    def __reduce__(self) -> Any:
        return (device, (self._type, self._index))

    def __enter__(self) -> device:
        """``with glassgrad.device('cpu'):`` is accepted (the CPU is always the default)."""
        check_cpu(self, "device.__enter__")
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


CPU = device("cpu")


def _typename(obj: Any) -> str:
    return type(obj).__name__


def check_cpu(dev: Any, where: str) -> None:
    """Accept None, 'cpu', 'cpu:0', a CPU ``device``; raise ``CPUOnlyError`` for anything else.

    ``where`` names the function, for the message: ``zeros(): this build of glassgrad runs on
    the CPU only, got device 'cuda'``.
    """
    if dev is None:
        return
    d = dev if isinstance(dev, device) else device(dev)
    if d.type != "cpu":
        raise CPUOnlyError(
            f"{where}: this build of glassgrad runs on the CPU only, got device {str(d)!r} "
            f"(use 'cpu', or pick the device with glassgrad.cuda.is_available())"
        )


def _is_device_like(a: Any) -> bool:
    if isinstance(a, device):
        return True
    if isinstance(a, str):
        return a.partition(":")[0] in _TYPES
    return isinstance(a, int) and not isinstance(a, bool)  # to(0): accelerator 0, as in PyTorch


def parse_to(*args: Any, **kwargs: Any) -> tuple[Any, Any, bool, bool]:
    """The arguments of ``Tensor.to`` / ``Module.to``, as PyTorch reads them:
    ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``, and the keywords
    ``device=``, ``dtype=``, ``non_blocking=``, ``copy=``, ``memory_format=``.

    Returns ``(device, dtype, non_blocking, copy)``; ``device`` is a ``glassgrad.device`` or None
    and ``dtype`` whatever was passed (None when none). A device other than the CPU raises
    ``CPUOnlyError``.

    >>> import glassgrad as gg
    >>> parse_to("cpu", gg.float64)
    (device(type='cpu'), torch.float64, False, False)
    >>> parse_to(gg.zeros(1, dtype=gg.int64))
    (device(type='cpu'), torch.int64, False, False)
    """
    from glassgrad.tensor import Tensor

    dev = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    non_blocking = bool(kwargs.pop("non_blocking", False))
    copy = bool(kwargs.pop("copy", False))
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    rest = list(args)
    if rest and isinstance(rest[0], Tensor):
        other = rest.pop(0)
        dev, dtype = CPU, other.dtype
    elif rest and _is_device_like(rest[0]):
        dev = rest.pop(0)
    if rest and not isinstance(rest[0], bool):
        dtype = rest.pop(0)
    if rest:  # positional non_blocking, copy
        non_blocking = bool(rest.pop(0))
    if rest:
        copy = bool(rest.pop(0))
    if rest:
        raise TypeError(f"to() received too many positional arguments: {args!r}")
    if dev is not None:
        dev = dev if isinstance(dev, device) else device(dev)
        check_cpu(dev, "to()")
    return dev, dtype, non_blocking, copy


def set_default_device(device: Any) -> None:
    """Where factory functions put tensors by default: only the CPU (or None) is accepted."""
    check_cpu(device, "set_default_device()")


def get_default_device() -> device:
    """The device factory functions use by default: always ``device('cpu')``."""
    return CPU
