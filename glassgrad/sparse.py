"""``torch.sparse``: products with sparse COO tensors, and the legacy sparse constructors.

The ops are declared in ``glassgrad/ops/sparse.py`` with the ``SPARSE`` namespace (an op named
``sparse_<name>`` appears here as ``<name>``); what a sparse tensor is and costs is explained
there.
"""

import typing as _typing

from glassgrad import dtypes as _dtypes
from glassgrad.ops.registry import SPARSE as _SPARSE
from glassgrad.ops.registry import in_namespace as _in_namespace
from glassgrad.ops.sparse import sparse_coo_tensor as _sparse_coo_tensor


def _legacy(name: str, dtype: _typing.Any) -> _typing.Any:
    def construct(
        indices: _typing.Any, values: _typing.Any, size: _typing.Any = None
    ) -> _typing.Any:
        return _sparse_coo_tensor(indices, values, size, dtype=dtype)

    construct.__name__ = construct.__qualname__ = name
    construct.__doc__ = f"``torch.sparse.{name}(indices, values, size)``: the legacy constructor."
    return construct


FloatTensor = _legacy("FloatTensor", _dtypes.float32)
DoubleTensor = _legacy("DoubleTensor", _dtypes.float64)
LongTensor = _legacy("LongTensor", _dtypes.int64)
IntTensor = _legacy("IntTensor", _dtypes.int32)

globals().update(_in_namespace(_SPARSE))
__all__ = sorted(
    [*_in_namespace(_SPARSE), "DoubleTensor", "FloatTensor", "IntTensor", "LongTensor"]
)


def __getattr__(name: str) -> _typing.Any:
    """Ops come from the registry at import; this only answers for names that don't exist."""
    raise AttributeError(f"module 'glassgrad.sparse' has no attribute {name!r}")
