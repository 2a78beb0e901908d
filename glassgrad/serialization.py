"""``glassgrad.save`` / ``glassgrad.load``: checkpoints in a documented format that runs no code.

What can be saved: a ``Tensor`` or NumPy array, a number, string, bool or None, and dicts, lists
and tuples nesting them: model and optimizer ``state_dict()``s, epoch counters, and the RNG states
of ``numpy.random.Generator.bit_generator.state``.

The format
----------
One ZIP archive written by ``np.savez`` (a standard ``.npz``, whatever the file is named):

- ``__glassgrad__``: a uint8 array holding UTF-8 JSON, the header
  ``{"format": "glassgrad", "version": 1, "root": NODE}``;
- ``a0``, ``a1``, ...: one ``.npy`` entry per distinct array or tensor.

A ``NODE`` is a JSON object tagged by ``"t"``:

- ``{"t": "none"}``, ``{"t": "bool", "v": true}``, ``{"t": "str", "v": "..."}``;
- ``{"t": "int", "v": "123"}``: ints as decimal strings, so any size round-trips (the 128-bit
  state of PCG64) and no JSON reader rounds them;
- ``{"t": "float", "v": "0.1"}``: floats as ``repr``, exact, ``nan`` and ``inf`` included;
- ``{"t": "list", "items": [NODE, ...]}`` and the same with ``"tuple"``;
- ``{"t": "dict", "items": [[KEY, NODE], ...]}``: keys are nodes too, so int keys stay ints
  (optimizer state); ``"ordered": true`` marks an ``OrderedDict``;
- ``{"t": "tensor", "key": "a0", "dtype": "float32", "shape": [2, 3], "requires_grad": false}``,
  with ``"parameter": true`` for an ``nn.Parameter``; ``"ndarray"`` and ``"scalar"`` nodes, with
  the same ``key``/``dtype``/``shape`` fields, are NumPy arrays and NumPy scalars.

A tensor that appears twice (tied weights) is stored once and loads as one object.

Safety and atomicity: ``load`` reads with ``np.load(..., allow_pickle=False)`` and parses JSON,
so a file can hold no code to run. ``save`` writes a temporary file beside the target, flushes and
fsyncs it, then ``os.replace``s it over the target: a crash mid-save leaves the previous checkpoint
intact. A damaged file, or an archive glassgrad did not write, raises one ``ValueError`` naming it.

>>> import glassgrad as gg, tempfile, os
>>> from glassgrad.serialization import load, save
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt.pt")
>>> save({"w": gg.ones(2), "step": 3, 0: (1.5, None)}, path)
>>> load(path)
{'w': tensor([1., 1.]), 'step': 3, 0: (1.5, None)}
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import OrderedDict
from typing import IO, Any

import numpy as np

from glassgrad.tensor import Tensor

__all__ = ["load", "save"]

HEADER_KEY = "__glassgrad__"
FORMAT_VERSION = 1
PathOrFile = str | os.PathLike[str] | IO[bytes]


# ---- encoding --------------------------------------------------------------------------------


class _Encoder:
    """Walks an object, collecting arrays under generated keys and building the JSON tree."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.seen: dict[int, str] = {}  # id(tensor or array) -> its key, to store it once
        self.keep: list[Any] = []  # keeps encoded objects alive so their ids stay unique
        self.path: set[int] = set()  # containers on the current path, to catch cycles

    def array_node(self, tag: str, obj: Any, arr: np.ndarray, where: str) -> dict[str, Any]:
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"save: {where} has dtype {arr.dtype}; only numeric arrays are stored")
        key = self.seen.get(id(obj))
        if key is None:
            key = self.seen[id(obj)] = f"a{len(self.arrays)}"
            self.arrays[key] = arr
            self.keep.append(obj)
        node: dict[str, Any] = {
            "t": tag,
            "key": key,
            "dtype": arr.dtype.name,
            "shape": list(arr.shape),
        }
        if isinstance(obj, Tensor):
            node["requires_grad"] = bool(obj.requires_grad)
            if type(obj).__name__ == "Parameter":
                node["parameter"] = True
        return node

    def encode(self, obj: Any, where: str) -> dict[str, Any]:
        if obj is None:
            return {"t": "none"}
        if isinstance(obj, bool):
            return {"t": "bool", "v": obj}
        if isinstance(obj, int):
            return {"t": "int", "v": str(int(obj))}
        if isinstance(obj, float):
            return {"t": "float", "v": repr(float(obj))}
        if isinstance(obj, str):
            return {"t": "str", "v": obj}
        if isinstance(obj, Tensor):
            return self.array_node("tensor", obj, obj._data, where)
        if isinstance(obj, np.ndarray):
            return self.array_node("ndarray", obj, obj, where)
        if isinstance(obj, np.generic):
            return self.array_node("scalar", obj, np.asarray(obj), where)
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self.path:
                raise ValueError(f"save: {where} contains itself (a reference cycle)")
            self.path.add(id(obj))
            try:
                return self.container(obj, where)
            finally:
                self.path.discard(id(obj))
        raise TypeError(
            f"save: cannot store {where}, a {type(obj).__name__}; glassgrad.save stores tensors, "
            f"NumPy arrays, numbers, strings, None and dicts, lists and tuples of them"
        )

    def container(self, obj: Any, where: str) -> dict[str, Any]:
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if not (k is None or isinstance(k, (bool, int, float, str))):
                    raise TypeError(
                        f"save: {where} has a key of type {type(k).__name__}; dict keys must be "
                        f"str, int, float, bool or None"
                    )
                items.append([self.encode(k, where), self.encode(v, f"{where}[{k!r}]")])
            node: dict[str, Any] = {"t": "dict", "items": items}
            if isinstance(obj, OrderedDict):
                node["ordered"] = True
            return node
        tag = "tuple" if isinstance(obj, tuple) else "list"
        return {"t": tag, "items": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}


def _write(f: IO[bytes], obj: Any) -> None:
    enc = _Encoder()
    root = enc.encode(obj, "obj")
    header = {"format": "glassgrad", "version": FORMAT_VERSION, "root": root}
    text = json.dumps(header, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    blob = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    np.savez(f, **{HEADER_KEY: blob}, **enc.arrays)  # type: ignore[arg-type]


def save(obj: Any, f: PathOrFile) -> None:
    """Save ``obj`` (tensors, numbers, strings, None, nested dicts/lists/tuples) to ``f``.

    ``f`` is a path, written atomically (see the module docstring), or a binary file object.
    The file is a standard ``.npz`` archive, but keeps the name it is given (``ckpt.pt`` is fine).
    """
    if hasattr(f, "write"):
        _write(f, obj)  # type: ignore[arg-type]
        return
    path = os.fspath(f)  # type: ignore[arg-type]
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            _write(out, obj)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def _fsync_dir(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- decoding --------------------------------------------------------------------------------


class _Decoder:
    def __init__(self, archive: Any, name: str) -> None:
        self.archive = archive
        self.name = name
        self.loaded: dict[str, Any] = {}  # key -> object, so a shared tensor loads as one object

    def fail(self, what: str) -> ValueError:
        return ValueError(f"{self.name}: corrupt glassgrad checkpoint: {what}")

    def array(self, node: dict[str, Any]) -> Any:
        key = node.get("key")
        if key in self.loaded:
            return self.loaded[key]
        if not isinstance(key, str) or key not in self.archive.files or key == HEADER_KEY:
            raise self.fail(f"the header refers to a missing array entry {key!r}")
        arr = self.archive[key]
        if arr.dtype.name != node.get("dtype") or list(arr.shape) != node.get("shape"):
            raise self.fail(
                f"entry {key!r} is {arr.dtype.name} of shape {list(arr.shape)}, the header says "
                f"{node.get('dtype')} of shape {node.get('shape')}"
            )
        obj: Any
        if node["t"] == "ndarray":
            obj = arr
        elif node["t"] == "scalar":
            obj = arr[()]
        else:
            obj = Tensor._make(arr)
            if node.get("parameter"):
                obj = _as_parameter(obj, bool(node.get("requires_grad", True)))
            elif node.get("requires_grad"):
                obj.requires_grad_(True)
        self.loaded[key] = obj
        return obj

    def decode(self, node: Any) -> Any:
        if not isinstance(node, dict) or "t" not in node:
            raise self.fail(f"malformed node {str(node)[:80]!r}")
        t = node["t"]
        try:
            if t == "none":
                return None
            if t == "bool":
                return bool(node["v"])
            if t == "int":
                return int(node["v"])
            if t == "float":
                return float(node["v"])
            if t == "str":
                return str(node["v"])
            if t in ("list", "tuple"):
                items = [self.decode(v) for v in node["items"]]
                return tuple(items) if t == "tuple" else items
            if t == "dict":
                pairs = [(self.decode(k), self.decode(v)) for k, v in node["items"]]
                return OrderedDict(pairs) if node.get("ordered") else dict(pairs)
            if t in ("tensor", "ndarray", "scalar"):
                return self.array(node)
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, ValueError) and str(e).startswith(self.name):
                raise
            raise self.fail(f"malformed {t!r} node {str(node)[:80]!r} ({e})") from e
        raise self.fail(f"unknown node type {t!r}")


def _as_parameter(t: Tensor, requires_grad: bool) -> Tensor:
    from glassgrad import nn

    parameter = getattr(nn, "Parameter", None)
    if parameter is None:  # nn without Parameter: a leaf that requires grad is the same thing
        return t.requires_grad_(requires_grad) if requires_grad else t
    return parameter(t, requires_grad=requires_grad)  # type: ignore[no-any-return]


def load(f: PathOrFile, map_location: Any = None, weights_only: bool | None = None) -> Any:
    """Load what ``save`` wrote to ``f`` (a path or binary file object).

    ``map_location`` (only None or ``"cpu"``) and ``weights_only`` are accepted for PyTorch
    compatibility: glassgrad runs on the CPU and never unpickles, so loading is always safe.
    """
    if map_location is not None and str(map_location) != "cpu":
        raise ValueError(f"load: glassgrad runs on the CPU only, got map_location={map_location!r}")
    del weights_only
    name = "<file object>" if hasattr(f, "read") else os.fspath(f)  # type: ignore[arg-type]
    try:
        archive = np.load(f, allow_pickle=False)  # type: ignore[arg-type]
    except FileNotFoundError:
        raise
    except Exception as e:  # pickled data, not a ZIP, a truncated ZIP...
        if "pickle" in str(e):  # NumPy's message would suggest allow_pickle=True: never here
            raise ValueError(
                f"{name}: not a glassgrad checkpoint: it holds pickled Python objects, which "
                f"glassgrad never loads (loading them could run arbitrary code)"
            ) from e
        raise ValueError(f"{name}: not a glassgrad checkpoint (cannot read as .npz: {e})") from e
    if isinstance(archive, np.ndarray):
        raise ValueError(f"{name}: not a glassgrad checkpoint (a single .npy array)")
    with archive:
        try:
            if HEADER_KEY not in archive.files:
                hint = (
                    " (it looks like a PyTorch checkpoint, which glassgrad cannot read)"
                    if any(k.endswith("data.pkl") for k in archive.files)
                    else ""
                )
                raise ValueError(
                    f"{name}: not a glassgrad checkpoint: no {HEADER_KEY!r} entry among "
                    f"{sorted(archive.files)[:10]}{hint}"
                )
            header = _read_header(archive, name)
            return _Decoder(archive, name).decode(header["root"])
        except ValueError as e:
            if str(e).startswith(name):
                raise
            raise ValueError(f"{name}: corrupt glassgrad checkpoint: {e}") from e
        except Exception as e:  # BadZipFile, zlib.error, EOFError, CRC errors from damaged data
            raise ValueError(f"{name}: corrupt glassgrad checkpoint: {e}") from e


def _read_header(archive: Any, name: str) -> dict[str, Any]:
    blob = archive[HEADER_KEY]
    if blob.dtype != np.uint8 or blob.ndim != 1:
        raise ValueError(f"{name}: corrupt glassgrad checkpoint: the header is not bytes")
    try:
        header = json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{name}: corrupt glassgrad checkpoint: unreadable header ({e})") from e
    if not isinstance(header, dict) or header.get("format") != "glassgrad" or "root" not in header:
        raise ValueError(f"{name}: not a glassgrad checkpoint: header {str(header)[:80]!r}")
    if header.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{name}: glassgrad checkpoint format version {header.get('version')!r}; this "
            f"glassgrad reads version {FORMAT_VERSION}"
        )
    return header


class safe_globals:
    """``torch.serialization.safe_globals([...])``: a context PyTorch needs to unpickle custom
    classes under ``weights_only``. glassgrad never unpickles, so there is nothing to allow."""

    def __init__(self, safe_globals: Any = ()) -> None:
        self.globals = list(safe_globals)

    def __enter__(self) -> safe_globals:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


def add_safe_globals(safe_globals: Any) -> None:
    """``torch.serialization.add_safe_globals``: accepted; glassgrad's format holds no pickles."""


def get_safe_globals() -> list[Any]:
    return []
