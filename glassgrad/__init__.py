"""glassgrad: reverse-mode automatic differentiation on NumPy, with PyTorch's names.

>>> import glassgrad as gg
>>> x = gg.tensor(-2.0, requires_grad=True)
>>> y = gg.tensor(5.0, requires_grad=True)
>>> z = gg.tensor(-4.0, requires_grad=True)
>>> f = (x + y) * z
>>> f.backward()
>>> x.grad, y.grad, z.grad
(tensor(-4.), tensor(-4.), tensor(3.))
"""

from __future__ import annotations

import typing as _typing

from glassgrad import (
    autograd,
    data,
    dtypes,
    func,
    inspect,
    manual,
    nn,
    ops,
    optim,
    serialization,
    utils,
    viz,
)
from glassgrad.autograd import grad
from glassgrad.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from glassgrad.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    generator,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from glassgrad.dtypes import (
    bool_,
    double,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_dtype,
    uint8,
)
from glassgrad.ops.registry import TORCH as _TORCH
from glassgrad.ops.registry import in_namespace as _in_namespace
from glassgrad.serialization import load, save
from glassgrad.tensor import Tensor

# Every op declared with the ``glassgrad`` namespace (``glassgrad/ops/registry.py``).
globals().update(_in_namespace(_TORCH))

float = float32
bool = bool_
int = int32
Size = tuple
is_tensor = lambda obj: isinstance(obj, Tensor)  # noqa: E731
__version__ = "0.1.0"
_ = (autograd, data, dtypes, func, inspect, manual, nn, ops, optim, serialization, utils, viz)


def __getattr__(name: str) -> _typing.Any:
    """Ops come from the registry at import; this only answers for names that don't exist."""
    raise AttributeError(f"module 'glassgrad' has no attribute {name!r}")
