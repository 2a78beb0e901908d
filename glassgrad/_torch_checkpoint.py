"""Read PyTorch's ZIP checkpoints (``torch.save`` since 1.6) of tensors and containers: a model's
or optimizer's ``state_dict``, or a dict of them with epochs and accuracies, as a program that
switched its import resumes from (``checkpoint = torch.load('./checkpoint/ckpt.pth')``).

The archive holds ``<name>/data.pkl``, a pickle whose tensors point at raw storages
``<name>/data/<key>``. The pickle is read by an unpickler that rebuilds only what a state dict
is made of (containers, numbers, strings, PyTorch's tensor and parameter rebuilders, storage
types, dtypes and devices, NumPy arrays and scalars of numbers, as PyTorch's own
``weights_only`` loading allows or can be told to) and refuses any
other class or function by name, so loading runs no code from the file. A whole pickled model
(``torch.save(model, f)``) is refused: its classes are PyTorch's, not glassgrad's.
"""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from typing import Any

import numpy as np

from glassgrad.tensor import Tensor

_STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "UntypedStorage": np.uint8,
    "BoolStorage": np.bool_,
    "ComplexFloatStorage": np.complex64,
    "ComplexDoubleStorage": np.complex128,
}


class _Refused(ValueError):
    """Something the checkpoint holds that glassgrad won't rebuild (not damage)."""


class _StorageType:
    """A PyTorch storage class named in the pickle: its element dtype (None: NumPy has none)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype = _STORAGE_DTYPES.get(name)


def _rebuild_tensor(
    storage: np.ndarray,
    offset: int,
    size: Any,
    stride: Any,
    requires_grad: bool = False,
    backward_hooks: Any = None,
    metadata: Any = None,
) -> Tensor:
    """``torch._utils._rebuild_tensor_v2``: the strided view of the storage, copied."""
    from glassgrad.creation import tensor

    size, stride = tuple(size), tuple(stride)
    numbers = (offset, *size, *stride)
    if len(size) != len(stride) or not all(type(n) is int and n >= 0 for n in numbers):
        raise ValueError(  # as_strided would read outside the storage: refuse, never guess
            f"a tensor with size {size!r:.60}, stride {stride!r:.60} and offset {offset!r:.20} "
            "(sizes, strides and offset must be non-negative ints, one stride per dim)"
        )
    if 0 not in size:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if offset < 0 or last >= storage.size:
            raise ValueError(
                f"a tensor of size {list(size)} and stride {list(stride)} at offset {offset} "
                f"reaches past its storage of {storage.size} elements"
            )
    view = np.lib.stride_tricks.as_strided(
        storage[offset:],
        shape=size,
        strides=tuple(s * storage.itemsize for s in stride),
        writeable=False,
    )
    out = tensor(np.array(view))
    return out.requires_grad_(True) if requires_grad else out


def _rebuild_parameter(data: Tensor, requires_grad: bool, *hooks_and_state: Any) -> Tensor:
    from glassgrad.nn.parameter import Parameter

    return Parameter(data, requires_grad=requires_grad)


def _torch_dtype(name: str) -> Any:
    import glassgrad

    return getattr(glassgrad, name)


def _cpu(*args: Any) -> Any:
    """``torch.device(...)`` in a checkpoint: everything loads onto the CPU here."""
    import glassgrad

    return glassgrad.device("cpu")


class _Unpickler(pickle.Unpickler):
    """Rebuilds state dicts only; every other global is refused by name."""

    def __init__(self, data: bytes, storages: Any, name: str) -> None:
        super().__init__(io.BytesIO(data))
        self.storages, self.name = storages, name

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch._utils" and name in (
            "_rebuild_parameter",
            "_rebuild_parameter_with_state",
        ):
            return _rebuild_parameter
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name)
        if module == "torch" and name == "device":
            return _cpu
        if module == "torch" and name in ("float32", "float64", "float16", "int64", "int32",
                                          "int16", "int8", "uint8", "bool", "complex64",
                                          "complex128"):  # fmt: skip
            return _torch_dtype(name)
        if module == "torch" and name == "Size":
            from glassgrad.size import Size

            return Size
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "scalar":
            return _numpy_scalar
        if module == "numpy" and name == "dtype":
            return _numpy_dtype
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
            return _numpy_array  # a NumPy array torch.save'd (its data comes by __setstate__)
        if module == "numpy" and name == "ndarray":
            return np.ndarray
        if module == "_codecs" and name == "encode":  # how protocol 2 pickles bytes
            return _encode
        if module in ("builtins", "__builtin__") and name in (
            "set",
            "frozenset",
            "slice",
            "complex",
        ):
            return {"set": set, "frozenset": frozenset, "slice": slice, "complex": complex}[name]
        what = "a whole pickled model? " if ".nn." in module or module.endswith(".nn") else ""
        raise ValueError(
            f"{self.name}: this PyTorch checkpoint pickles {module}.{name} ({what}glassgrad reads "
            f"PyTorch checkpoints of tensors, numbers and containers, such as state_dict()s); "
            f"save model.state_dict() with torch.save instead"
        )

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise ValueError(f"{self.name}: unknown PyTorch storage reference {pid!r:.80}")
        kind, key, numel = pid[1], str(pid[2]), int(pid[4])
        if not isinstance(kind, _StorageType):
            raise ValueError(f"{self.name}: unknown PyTorch storage type {kind!r:.80}")
        if kind.dtype is None:
            raise ValueError(
                f"{self.name}: the checkpoint holds a torch.{kind.name} (tensor data of a dtype "
                f"NumPy has no type for, such as bfloat16); convert it in PyTorch first "
                f"(tensor.float())"
            )
        return self.storages(key, np.dtype(kind.dtype), numel)


def _encode(text: str, encoding: str = "utf-8") -> bytes:
    if encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise _Refused(f"the checkpoint encodes bytes as {encoding!r}")
    return text.encode(encoding)


def _numpy_scalar(dtype: np.dtype, data: bytes | None = None) -> Any:
    if dtype.hasobject or data is None:
        raise _Refused("the checkpoint holds a NumPy object scalar, which glassgrad won't load")
    return np.frombuffer(data, dtype=dtype, count=1)[0]


def _numpy_array(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    if subtype is not np.ndarray:
        raise _Refused(f"the checkpoint rebuilds a NumPy array as {subtype!r:.60}")
    return np.ndarray.__new__(np.ndarray, shape, _numpy_dtype(dtype))


def _numpy_dtype(name: Any, align: bool = False, copy: bool = False) -> np.dtype:
    dtype = np.dtype(name)
    if dtype.hasobject:
        raise _Refused("the checkpoint holds a NumPy object dtype, which glassgrad won't load")
    return dtype


def load_torch_zip(archive: Any, name: str) -> Any:
    """The object a PyTorch ZIP checkpoint holds; ``archive`` is an open ``zipfile.ZipFile``."""
    files = archive.namelist()
    pickles = [f for f in files if f.endswith("data.pkl") and f.count("/") == 1]
    if len(pickles) != 1:
        raise ValueError(f"{name}: not a PyTorch checkpoint (no single <name>/data.pkl entry)")
    prefix = pickles[0][: -len("data.pkl")]
    order = "little"
    if prefix + "byteorder" in files:
        order = archive.read(prefix + "byteorder").decode("ascii", "replace").strip()
    loaded: dict[str, np.ndarray] = {}

    def storage(key: str, dtype: np.dtype, numel: int) -> np.ndarray:
        if key not in loaded:
            raw = archive.read(f"{prefix}data/{key}")
            arr = np.frombuffer(raw, dtype=dtype.newbyteorder("<" if order == "little" else ">"))
            if arr.size < numel:
                raise ValueError(
                    f"{name}: storage {key} holds {arr.size} elements, the pickle expects {numel}"
                )
            loaded[key] = arr.astype(dtype, copy=False)
        return loaded[key]

    try:
        return _Unpickler(archive.read(pickles[0]), storage, name).load()
    except _Refused as e:
        raise ValueError(f"{name}: {e}") from None
    except ValueError as e:
        if str(e).startswith(name):
            raise
        raise ValueError(f"{name}: corrupt PyTorch checkpoint: {e}") from e
    except Exception as e:  # a damaged pickle or archive entry
        raise ValueError(f"{name}: corrupt PyTorch checkpoint: {type(e).__name__}: {e}") from e
