"""``torch.nn.parameter``: ``Parameter``, and the placeholders of lazy layers
(``UninitializedParameter``, ``UninitializedBuffer``) that take their shape at the first call.

A placeholder is materialised in place (``materialize(shape)``): the same Python object becomes
a ``Parameter`` (or a plain ``Tensor``), so an optimizer built before the first forward holds it.

>>> p = UninitializedParameter()
>>> p.materialize((2, 3))
>>> type(p).__name__, tuple(p.shape)
('Parameter', (2, 3))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.autograd.state import bump_version
from glassgrad.nn.module import Buffer, Parameter
from glassgrad.tensor import Tensor

__all__ = ["Buffer", "Parameter", "UninitializedBuffer", "UninitializedParameter", "is_lazy"]

_UNINIT = (
    "Can't access the shape of an uninitialized parameter or buffer. This error usually "
    "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
    "initialized one. Call `forward` to initialize the parameters before accessing their "
    "attributes."
)


class UninitializedTensorMixin:
    """What both placeholders share: no shape until ``materialize`` turns them into
    ``cls_to_become`` in place."""

    __slots__ = ()
    cls_to_become: type = Tensor

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Give the placeholder an (uninitialised) array of ``shape``; it becomes
        ``cls_to_become``, the same object."""
        if device is not None and str(device).split(":")[0] != "cpu":
            raise RuntimeError(f"glassgrad runs on the CPU only, got device {device!r}")
        t: Any = self
        d = t._data.dtype if dtype is None else dtypes.as_dtype(dtype)
        shp = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
        t._data = np.zeros(shp, d)
        bump_version(t)
        t.__class__ = self.cls_to_become

    @property
    def shape(self) -> Any:
        raise RuntimeError(_UNINIT)

    def size(self, dim: Any = None) -> Any:
        raise RuntimeError(_UNINIT)

    def numel(self) -> int:
        raise RuntimeError(_UNINIT)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: Any) -> Any:
        t: Any = self
        return (type(self), (t.requires_grad, None, t._data.dtype))


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape is not known yet (a lazy layer's ``weight`` before its first
    call); becomes a ``Parameter`` when materialised."""

    __slots__ = ()
    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> None:
        d = dtypes.as_dtype(dtype)
        super().__init__(Tensor._make(np.empty((0,), d)), requires_grad)

    def __deepcopy__(self, memo: dict[int, Any]) -> UninitializedParameter:
        if id(self) not in memo:
            memo[id(self)] = type(self)(self.requires_grad, None, self._data.dtype)
        return memo[id(self)]


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (a lazy BatchNorm's running statistics);
    becomes a plain ``Tensor`` when materialised."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad: bool = False, device: Any = None, dtype: Any = None) -> None:
        self._data = np.empty((0,), dtypes.as_dtype(dtype))
        self.grad_fn = None
        self._grad = None
        self._vc = [0]
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __deepcopy__(self, memo: dict[int, Any]) -> UninitializedBuffer:
        if id(self) not in memo:
            memo[id(self)] = type(self)(self.requires_grad, None, self._data.dtype)
        return memo[id(self)]


def is_lazy(param: Any) -> bool:
    """Whether ``param`` is a placeholder not materialised yet."""
    return isinstance(param, UninitializedTensorMixin)
