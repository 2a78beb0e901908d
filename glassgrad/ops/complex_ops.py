"""Complex tensors: parts, conjugate, polar form, and the real <-> complex views.

Gradients follow PyTorch's convention: for a real loss ``L`` of a complex ``z`` the gradient is
``dL/d(Re z) + i dL/d(Im z)``, so a rule for ``y = f(z)`` returns ``g * conj(f'(z))`` when ``f``
is holomorphic, and a real input gets a real gradient (the real part of what reaches it). Every
rule is written with NumPy functions (``np.real``, ``np.conj``, ``np.astype``...), which dispatch
to these very ops on Tensors, so the rules differentiate themselves under ``create_graph``.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.ops._common import Node, Tensor, as_tensor
from glassgrad.ops.registry import TORCH, op


def _shape(t: Any) -> tuple[int, ...]:
    return tuple(t.shape)


def _is_complex(t: Tensor) -> bool:
    return t._data.dtype.kind == "c"


def _view_of(out: Tensor, x: Tensor) -> Tensor:
    """Mark ``out`` as a view of ``x``'s memory (when it is one): one version counter."""
    if np.shares_memory(out._data, x._data):
        out._vc = x._vc
        out._base = x if x._base is None else x._base
    return out


def _conj(v: Any) -> Any:
    """The complex conjugate of an array, a Tensor or a number; real ones as they are."""
    if isinstance(v, (builtins.complex, np.complexfloating)):
        return v.conjugate()
    if isinstance(v, (builtins.int, builtins.float, builtins.bool)):
        return v
    return np.conj(v) if v.dtype.kind == "c" else v


# ---- parts -------------------------------------------------------------------------------------


class Real(Node):  # PyTorch takes the part through view_as_real: SelectBackward0
    __slots__ = ("cdtype",)
    op_name = "Select"

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.cdtype = x.dtype
        return np.real(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return np.astype(g, ctx.cdtype)  # dL/dRe z = g, dL/dIm z = 0


class Imag(Node):
    __slots__ = ("cdtype",)
    op_name = "Select"

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.cdtype = x.dtype
        return np.imag(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return np.astype(g, ctx.cdtype) * 1j  # dL/dIm z = g


@op(is_property=True, numpy={np.real: lambda val: real(val)})
def real(input: Any) -> Tensor:
    """The real part of a complex tensor (a view); a real tensor is returned as it is."""
    x = as_tensor(input, "real")
    if not _is_complex(x):
        return x
    return _view_of(Real.apply(x), x)


@op(is_property=True, numpy={np.imag: lambda val: imag(val)})
def imag(input: Any) -> Tensor:
    """The imaginary part of a complex tensor (a view); refused for real tensors, as in PyTorch."""
    x = as_tensor(input, "imag")
    if not _is_complex(x):
        raise RuntimeError(
            f"imag is not implemented for tensors with non-complex dtypes (got a tensor of "
            f"dtype {dtypes.name(x.dtype)} and shape {_shape(x)})"
        )
    return _view_of(Imag.apply(x), x)


class Conj(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return np.conj(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return np.conj(g)


class ConjPhysical(Conj):
    __slots__ = ()


@op(numpy=np.conjugate)
def conj(input: Any) -> Tensor:
    """The complex conjugate (a real tensor is returned as it is, as in PyTorch)."""
    x = as_tensor(input, "conj")
    return Conj.apply(x) if _is_complex(x) else x


@op(inplace=True)
def conj_physical(input: Any) -> Tensor:
    """The complex conjugate, computed now (glassgrad has no lazy conjugate bit)."""
    x = as_tensor(input, "conj_physical")
    return ConjPhysical.apply(x) if _is_complex(x) else x


@op(differentiable=False)
def resolve_conj(input: Any) -> Tensor:
    """The tensor itself: glassgrad conjugates eagerly, so there is nothing to resolve."""
    return as_tensor(input, "resolve_conj")


@op(differentiable=False)
def is_conj(input: Any) -> builtins.bool:
    """False: glassgrad has no lazy conjugate bit."""
    return False


class Angle(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        if x.dtype.kind != "c":  # PyTorch: 0 for x >= 0, pi for x < 0, NaN stays NaN
            return np.where(np.isnan(x), x, np.where(x < 0, x.dtype.type(np.pi), 0)).astype(x.dtype)
        return np.angle(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        if x.dtype.kind != "c":
            return g * 0
        # d angle = (-Im z dRe z + Re z dIm z) / |z|^2, i.e. i z / |z|^2; 0 at z = 0
        re, im = np.real(x), np.imag(x)
        r2 = re * re + im * im
        return g * (x * 1j) / (r2 + (r2 == 0))


@op(numpy={np.angle: lambda z, deg=False: angle(z)})
def angle(input: Any) -> Tensor:
    """The argument of each element, in (-pi, pi]; for real tensors 0 or pi."""
    x = as_tensor(input, "angle")
    if x._data.dtype.kind not in "fc":
        x = x.to(dtypes.default_float())
    return Angle.apply(x)


# ---- real <-> complex ----------------------------------------------------------------------------


def _complex_array(a: np.ndarray) -> np.ndarray:
    """``(..., 2)`` real array -> complex array of shape ``(...)`` (a view when contiguous)."""
    a = a if a.flags.c_contiguous else a.copy()  # (np.ascontiguousarray makes 0-d 1-d)
    return a.view(dtypes.complex_of(a.dtype))[..., 0]


def _real_array(z: np.ndarray) -> np.ndarray:
    """complex array -> ``(..., 2)`` real array of its parts (a view when contiguous)."""
    z = z if z.flags.c_contiguous else z.copy()
    flat = z.reshape(z.shape or (1,))  # (NumPy won't change a 0-d array's itemsize)
    return flat.view(dtypes.real_of(z.dtype)).reshape(z.shape + (2,))


class ViewAsReal(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return _real_array(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return ViewAsComplex.apply(g) if isinstance(g, Tensor) else _complex_array(g)


class ViewAsComplex(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return _complex_array(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return ViewAsReal.apply(g) if isinstance(g, Tensor) else _real_array(g)


@op(method=False)
def view_as_real(input: Any) -> Tensor:
    """A complex tensor's parts as a real tensor with a last dimension of 2 (real, imag)."""
    x = as_tensor(input, "view_as_real")
    if not _is_complex(x):
        raise RuntimeError(
            f"view_as_real is only supported for complex tensors (got a tensor of dtype "
            f"{dtypes.name(x.dtype)} and shape {_shape(x)})"
        )
    return _view_of(ViewAsReal.apply(x), x)


@op(method=False)
def view_as_complex(input: Any) -> Tensor:
    """A real float32/float64 tensor whose last dimension is 2 read as complex numbers."""
    x = as_tensor(input, "view_as_complex")
    if x._data.dtype not in (dtypes.np_float32, dtypes.np_float64):
        raise RuntimeError(
            f"view_as_complex is only supported for float and double tensors, but got a tensor "
            f"of scalar type: {dtypes.name(x.dtype)} (shape {_shape(x)})"
        )
    if x.ndim == 0 or x.shape[-1] != 2:
        raise RuntimeError(
            f"view_as_complex: Tensor must have a last dimension of size 2, got shape {_shape(x)}"
        )
    return _view_of(ViewAsComplex.apply(x), x)


def _same_float_pair(op_name: str, a: Any, b: Any, names: tuple[str, str]) -> tuple[Tensor, Tensor]:
    x, y = as_tensor(a, op_name), as_tensor(b, op_name)
    for t, what in ((x, names[0]), (y, names[1])):
        if t._data.dtype not in (dtypes.np_float32, dtypes.np_float64):
            raise RuntimeError(
                f"{op_name}: expected {what} to be a float or double tensor, got dtype "
                f"{dtypes.name(t.dtype)} (shape {_shape(t)})"
            )
    if x._data.dtype != y._data.dtype:
        raise RuntimeError(
            f"{op_name}: expected {names[0]} and {names[1]} to have the same dtype, but got "
            f"{dtypes.name(x.dtype)} and {dtypes.name(y.dtype)} (shapes {_shape(x)} and "
            f"{_shape(y)})"
        )
    return x, y


def _assemble(re: Any, im: Any) -> np.ndarray:
    re, im = np.broadcast_arrays(re, im)
    out = np.empty(re.shape, dtypes.complex_of(re.dtype))
    out.real, out.imag = re, im
    return out


class Complex(Node):
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, re: Any, im: Any) -> Any:
        return _assemble(re, im)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return np.real(g), np.imag(g)


@op(method=False, namespaces=(TORCH,))
def complex(real: Any, imag: Any) -> Tensor:
    """``real + i imag`` from two real tensors of the same dtype (float32 or float64)."""
    re, im = _same_float_pair("complex", real, imag, ("real", "imag"))
    return Complex.apply(re, im)


class Polar(Node):
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, r: Any, theta: Any) -> Any:
        ctx.save_for_backward(r, theta)
        return _assemble(r * np.cos(theta), r * np.sin(theta))

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        # dL/dr = Re(conj(g) sgn(out)), dL/dtheta = Re(conj(g) i out), as PyTorch computes them
        # (so an abs of 0, or a negative one, which PyTorch leaves undefined, gets its values)
        r, theta = ctx.saved_tensors
        gr, gi = np.real(g), np.imag(g)
        c, s = np.cos(theta), np.sin(theta)
        return np.sign(r) * (gr * c + gi * s), r * (gi * c - gr * s)


@op(method=False)
def polar(abs: Any, angle: Any) -> Tensor:
    """``abs * (cos(angle) + i sin(angle))`` from two real tensors of the same dtype."""
    r, theta = _same_float_pair("polar", abs, angle, ("abs", "angle"))
    return Polar.apply(r, theta)
