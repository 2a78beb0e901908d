"""State dicts in the safetensors format: the files PyTorch, JAX and Hugging Face exchange.

``save_file(state_dict, path)`` writes a flat ``{name: tensor}`` mapping (a model's
``state_dict()``) and ``load_file(path)`` reads one back as glassgrad tensors. They are thin
wrappers over ``safetensors.numpy``, imported only when called, so ``import glassgrad`` stays
NumPy-only; install the extra with ``pip install 'glassgrad[interchange]'``.

A file written here loads in PyTorch with ``safetensors.torch.load_file(path)`` (and the
reverse), so weights move between the two libraries without pickle::

    import glassgrad, safetensors.torch
    glassgrad.save_file(model.state_dict(), "model.safetensors")
    torch_model.load_state_dict(safetensors.torch.load_file("model.safetensors"))

    safetensors.torch.save_file(torch_model.state_dict(), "model.safetensors")
    model.load_state_dict(glassgrad.load_file("model.safetensors"))

>>> import glassgrad as gg, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
>>> gg.save_file({"weight": gg.ones(2, 2), "step": gg.tensor(3)}, path, metadata={"epoch": "1"})
>>> gg.load_file(path)
{'step': tensor(3), 'weight': tensor([[1., 1.],
        [1., 1.]])}
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from glassgrad.tensor import Tensor

__all__ = ["load_file", "save_file"]

_MISSING = (
    "glassgrad.{name} needs the safetensors package: pip install 'glassgrad[interchange]' "
    "(or pip install safetensors)"
)


def _numpy_backend(name: str) -> Any:
    try:
        import safetensors.numpy
    except ImportError as err:  # pragma: no cover - the dev extra installs it
        raise ImportError(_MISSING.format(name=name)) from err
    return safetensors.numpy


def _as_array(name: str, value: Any) -> np.ndarray:
    if isinstance(value, Tensor):
        arr = value._data
    elif isinstance(value, np.ndarray):
        arr = value
    elif hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        arr = value.detach().cpu().numpy()
    else:
        raise TypeError(
            f"save_file: {name!r} is a {type(value).__name__}; safetensors stores tensors only "
            "(a flat mapping of names to tensors, such as a model's state_dict())"
        )
    return arr if arr.flags.c_contiguous else arr.copy(order="C")  # 0-d stays 0-d


def save_file(
    state_dict: Mapping[str, Any],
    path: str | os.PathLike[str],
    metadata: dict[str, str] | None = None,
) -> None:
    """Write ``state_dict`` (names to tensors or arrays) to ``path`` in the safetensors format.

    ``metadata`` is an optional ``str -> str`` dict stored in the header. Tensors that share
    memory (tied weights) are each written out in full.
    """
    backend = _numpy_backend("save_file")
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save_file expects a mapping of names to tensors, got {type(state_dict)}")
    arrays = {}
    for name, value in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"save_file: keys must be strings, got {name!r}")
        arrays[name] = _as_array(name, value)
    backend.save_file(arrays, os.fspath(path), metadata=metadata)


def load_file(path: str | os.PathLike[str], device: Any = "cpu") -> dict[str, Tensor]:
    """Read a safetensors file as a ``{name: Tensor}`` dict (sorted by name, as torch's loader).

    ``device`` is accepted for torch's signature; glassgrad tensors live on the CPU.
    """
    backend = _numpy_backend("load_file")
    arrays = backend.load_file(os.fspath(path))
    return {name: Tensor._make(np.array(arr)) for name, arr in sorted(arrays.items())}
