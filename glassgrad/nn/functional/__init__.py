"""Stateless neural-network ops with PyTorch's names (``import glassgrad.nn.functional as F``).

Each op is declared in its module (``@functional``); this namespace is generated from those
declarations, together with the ``glassgrad`` ops PyTorch also lists here (``F.relu``).
"""

import typing as _typing

from glassgrad.nn.functional import (
    activation,
    adaptive_pool,
    attention,
    conv,
    conv_transpose,
    ctc,
    distance,
    fractional_pool,
    loss,
    margin_loss,
    norm,
    normalization,
    pooling,
    rnn,
    sampling,
    sparse,
    unpool,
    vision,
)
from glassgrad.ops import bind as _bind
from glassgrad.ops.registry import FUNCTIONAL as _FUNCTIONAL
from glassgrad.ops.registry import in_namespace as _in_namespace

_bind()  # Tensor.softmax & co. come from the declarations just imported
globals().update(_in_namespace(_FUNCTIONAL))
__all__ = sorted(_in_namespace(_FUNCTIONAL))
_ = (
    activation,
    adaptive_pool,
    attention,
    conv,
    conv_transpose,
    ctc,
    distance,
    fractional_pool,
    loss,
    margin_loss,
    norm,
    normalization,
    pooling,
    rnn,
    sampling,
    sparse,
    unpool,
    vision,
)


def __getattr__(name: str) -> _typing.Any:
    """Ops come from the registry at import; this only answers for names that don't exist."""
    raise AttributeError(f"module 'glassgrad.nn.functional' has no attribute {name!r}")
