"""``torch.special``: special functions with PyTorch's names, arguments and gradients.

Each op is declared in its family module (``glassgrad/ops/special.py``, ``elementwise.py``...)
with the ``SPECIAL`` namespace; this namespace is generated from those declarations (an op named
``special_<name>`` appears here as ``<name>``).
"""

import typing as _typing

from glassgrad.ops.registry import SPECIAL as _SPECIAL
from glassgrad.ops.registry import in_namespace as _in_namespace

globals().update(_in_namespace(_SPECIAL))
__all__ = sorted(_in_namespace(_SPECIAL))


def __getattr__(name: str) -> _typing.Any:
    """Ops come from the registry at import; this only answers for names that don't exist."""
    raise AttributeError(f"module 'glassgrad.special' has no attribute {name!r}")
