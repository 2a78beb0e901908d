"""``torch.linalg``: matrix functions and decompositions with PyTorch's names and gradients.

Each op is declared in its family module (``glassgrad/ops/decompositions.py``, ``matmul`` in
``glassgrad/ops/linalg.py``) with the ``LINALG`` namespace; this namespace is generated from those
declarations (an op named ``linalg_<name>`` appears here as ``<name>``).
"""

import typing as _typing

from glassgrad.ops.decompositions import LinAlgError as LinAlgError
from glassgrad.ops.registry import LINALG as _LINALG
from glassgrad.ops.registry import in_namespace as _in_namespace

globals().update(_in_namespace(_LINALG))
__all__ = sorted([*_in_namespace(_LINALG), "LinAlgError"])


def __getattr__(name: str) -> _typing.Any:
    """Ops come from the registry at import; this only answers for names that don't exist."""
    raise AttributeError(f"module 'glassgrad.linalg' has no attribute {name!r}")
