"""Comparisons and selections: ``maximum``, ``minimum``, ``clamp``, ``where`` (each input gets
the gradient of the value it supplied) and the comparison and logical ops (no gradient)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.ops._common import (
    Node,
    Tensor,
    as_tensor,
    binary_operands,
    return_type,
    to_default_float,
)
from glassgrad.ops.indexing import nonzero
from glassgrad.ops.registry import op

# ---- maximum, minimum, clamp, where -------------------------------------------------------------


class Maximum(Node):
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return np.maximum(x, y)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        # ties split the gradient in half between the two inputs, as PyTorch does
        share = np.where(x == y, g * 0.5, g)
        return np.where(x < y, 0, share), np.where(x > y, 0, share)


class Minimum(Node):
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return np.minimum(x, y)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        share = np.where(x == y, g * 0.5, g)
        return np.where(x > y, 0, share), np.where(x < y, 0, share)


@op(numpy=np.maximum)
def maximum(input: Any, other: Any) -> Tensor:
    """Elementwise max; at ties each input gets half the gradient (PyTorch's rule)."""
    a, b = binary_operands("maximum", input, other)
    return Maximum.apply(as_tensor(a), as_tensor(b))


@op(numpy=np.minimum)
def minimum(input: Any, other: Any) -> Tensor:
    """Elementwise min; at ties each input gets half the gradient (PyTorch's rule)."""
    a, b = binary_operands("minimum", input, other)
    return Minimum.apply(as_tensor(a), as_tensor(b))


class Fmax(Node):
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return np.fmax(x, y)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        first = (x >= y) | np.isnan(y)  # NaN loses; ties go to the first input (PyTorch)
        return np.where(first, g, 0), np.where(first, 0, g)


class Fmin(Node):
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return np.fmin(x, y)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        first = (x <= y) | np.isnan(y)
        return np.where(first, g, 0), np.where(first, 0, g)


@op(numpy=np.fmax)
def fmax(input: Any, other: Any) -> Tensor:
    """Elementwise max that ignores NaN (the other value wins)."""
    a, b = binary_operands("fmax", input, other)
    return Fmax.apply(as_tensor(a), as_tensor(b))


@op(numpy=np.fmin)
def fmin(input: Any, other: Any) -> Tensor:
    """Elementwise min that ignores NaN (the other value wins)."""
    a, b = binary_operands("fmin", input, other)
    return Fmin.apply(as_tensor(a), as_tensor(b))


class Clamp(Node):
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, lo: Any, hi: Any) -> Any:
        ctx.save_for_backward(x, lo, hi)
        out = x
        if lo is not None:
            out = np.maximum(out, lo)
        if hi is not None:
            out = np.minimum(out, hi)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, lo, hi = ctx.saved_tensors
        nx, nlo, nhi = ctx.next
        below = (x < lo) if lo is not None else np.zeros(np.shape(x), bool)
        above = (x > hi) if hi is not None else np.zeros(np.shape(x), bool)
        gx = np.where(below | above, 0, g) if nx is not None else None
        glo = np.where(below, g, 0) if nlo is not None else None
        ghi = np.where(above & ~below, g, 0) if nhi is not None else None
        return gx, glo, ghi


class ClampScalar(Clamp):  # number bounds: PyTorch's ClampBackward1
    __slots__ = ()
    op_name = "Clamp"
    variant = 1


@op(
    inplace=True,
    aliases=("clip",),
    numpy={np.clip: lambda a, a_min=None, a_max=None, **kw: clamp(a, a_min, a_max)},
)
def clamp(input: Any, min: Any = None, max: Any = None) -> Tensor:
    """Limit to [min, max]; the gradient passes where min <= x <= max (ends included)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    x = as_tensor(input)
    if x._data.dtype.kind in "iub" and any(isinstance(v, float) for v in (min, max)):
        x = to_default_float(x)  # an int tensor clamped to 2.5: float32, as PyTorch's

    def bound(v: Any) -> Any:
        if v is None or isinstance(v, Tensor):
            return v
        if isinstance(v, np.ndarray):
            return Tensor._make(v.astype(x._data.dtype))
        return float(v) if x._data.dtype.kind == "f" else v

    lo, hi = bound(min), bound(max)
    node = Clamp if isinstance(lo, Tensor) or isinstance(hi, Tensor) else ClampScalar
    return node.apply(x, lo, hi)


class Where(Node):
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, cond: Any, x: Any, y: Any) -> Any:
        ctx.save_for_backward(cond)
        return np.where(cond, x, y)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (cond,) = ctx.saved_tensors
        return None, np.where(cond, g, 0), np.where(cond, 0, g)


@op(numpy=np.where, method=lambda self, condition, other: where(condition, self, other))
def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """Pick ``input`` where ``condition`` holds, else ``other``; each gets the gradient it chose."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}")
    # NumPy scalars are numbers to PyTorch (weak: np.float64 does not make the result float64)
    input, other = (v.item() if isinstance(v, np.generic) else v for v in (input, other))
    a, b = binary_operands("where", input, other)
    if not isinstance(a, Tensor):  # a Python number takes the other operand's dtype unless it
        # is of a higher category (where(m, 2, int32 tensor) is int32, where(m, 2, bools) int64)
        if isinstance(b, Tensor):
            a = Tensor._make(np.asarray(a, dtypes.result_np(b, a)))
        else:
            a = as_tensor(a)
    return Where.apply(cond, a, b)


# ---- no-gradient elementwise ops ----------------------------------------------------------------


def _nograd(
    f: Callable[..., Any],
    name: str,
    doc: str,
    operators: tuple[str, ...] = (),
    reflected: tuple[str, ...] = (),
    inplace: bool = True,
    aliases: tuple[str, ...] = (),
    inplace_operators: tuple[str, ...] = (),
) -> Callable[..., Tensor]:
    """Declare an op with no gradient (comparisons, logic, tests) that runs NumPy's ``f``."""

    def run(*args: Any) -> Tensor:
        arrays = [a._data if isinstance(a, Tensor) else a for a in args]
        try:
            return Tensor._make(f(*arrays))
        except (ValueError, TypeError) as e:
            shapes = ", ".join(str(tuple(np.shape(a))) for a in arrays)
            raise type(e)(f"{name}: {e} (operand shapes {shapes})") from None

    # PyTorch's parameter names (``torch.eq(x, other=y)``)
    def unary(input: Any) -> Tensor:
        return run(input)

    def binary(input: Any, other: Any) -> Tensor:
        return run(input, other)

    nograd_op = binary if getattr(f, "nin", 1) == 2 else unary
    nograd_op.__name__ = nograd_op.__qualname__ = name
    nograd_op.__doc__ = doc
    return op(
        nograd_op,
        numpy=f,
        operators=operators,
        reflected=reflected,
        inplace=inplace,
        aliases=aliases,
        differentiable=False,
        inplace_operators=inplace_operators,
    )


eq = _nograd(np.equal, "eq", "x == y, elementwise (a bool tensor; no gradient).", ("__eq__",))
ne = _nograd(np.not_equal, "ne", "x != y, elementwise.", ("__ne__",), aliases=("not_equal",))
lt = _nograd(np.less, "lt", "x < y, elementwise.", ("__lt__",), aliases=("less",))
le = _nograd(np.less_equal, "le", "x <= y, elementwise.", ("__le__",), aliases=("less_equal",))
gt = _nograd(np.greater, "gt", "x > y, elementwise.", ("__gt__",), aliases=("greater",))
ge = _nograd(
    np.greater_equal, "ge", "x >= y, elementwise.", ("__ge__",), aliases=("greater_equal",)
)
logical_and = _nograd(np.logical_and, "logical_and", "Elementwise and of truth values.")
logical_or = _nograd(np.logical_or, "logical_or", "Elementwise or of truth values.")
logical_xor = _nograd(np.logical_xor, "logical_xor", "Elementwise xor of truth values.")
logical_not = _nograd(np.logical_not, "logical_not", "Elementwise not of truth values.")
bitwise_and = _nograd(
    np.bitwise_and,
    "bitwise_and",
    "Elementwise & of integers or bools.",
    ("__and__", "__rand__"),
    inplace_operators=("__iand__",),
)
bitwise_or = _nograd(
    np.bitwise_or,
    "bitwise_or",
    "Elementwise | of integers or bools.",
    ("__or__", "__ror__"),
    inplace_operators=("__ior__",),
)
bitwise_xor = _nograd(
    np.bitwise_xor,
    "bitwise_xor",
    "Elementwise ^ of integers or bools.",
    ("__xor__", "__rxor__"),
    inplace_operators=("__ixor__",),
)


def _shift(left: bool) -> Callable[..., Any]:
    """``a << b`` / ``a >> b`` of integers, as PyTorch's: a shift by the bit width or more gives
    0 (or -1 for a negative number shifted right), where C (and NumPy) leave it undefined."""
    name = "bitwise_left_shift" if left else "bitwise_right_shift"

    def shift(a: Any, b: Any) -> Any:
        kinds = [np.asarray(v).dtype.kind for v in (a, b)]
        if any(k not in "iub" for k in kinds):
            raise NotImplementedError(
                f"{name}: shifts are defined for integer tensors, got dtypes "
                f"{' and '.join(str(np.asarray(v).dtype) for v in (a, b))}"
            )
        out = np.left_shift(a, b) if left else np.right_shift(a, b)
        out = np.asarray(out)
        bits = out.dtype.itemsize * 8
        wide = np.asarray(b) >= bits
        if np.any(wide):
            fill = 0 if left else np.where(np.asarray(a) < 0, -1, 0)
            out = np.where(wide, fill, out).astype(out.dtype)
        return out

    shift.nin = 2  # type: ignore[attr-defined]  # (a binary op, as a ufunc would say)
    return shift


bitwise_left_shift = _nograd(
    _shift(True),
    "bitwise_left_shift",
    "Elementwise << of integers.",
    ("__lshift__",),
    ("__rlshift__",),
    inplace_operators=("__ilshift__",),
)
bitwise_right_shift = _nograd(
    _shift(False),
    "bitwise_right_shift",
    "Elementwise >> of integers (arithmetic: the sign is kept).",
    ("__rshift__",),
    ("__rrshift__",),
    inplace_operators=("__irshift__",),
)
bitwise_not = _nograd(
    np.invert, "bitwise_not", "Elementwise ~ of integers or bools.", ("__invert__",)
)
isnan = _nograd(np.isnan, "isnan", "True where the value is NaN.", inplace=False)
isinf = _nograd(np.isinf, "isinf", "True where the value is +-inf.", inplace=False)
isfinite = _nograd(
    np.isfinite, "isfinite", "True where the value is neither NaN nor inf.", inplace=False
)
signbit = _nograd(np.signbit, "signbit", "True where the sign bit is set.", inplace=False)


@op(differentiable=False)
def allclose(input: Any, other: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    return bool(np.allclose(np.asarray(input), np.asarray(other), rtol=rtol, atol=atol))


@op(differentiable=False)
def isclose(input: Any, other: Any, rtol: float = 1e-5, atol: float = 1e-8) -> Tensor:
    return Tensor._make(np.isclose(np.asarray(input), np.asarray(other), rtol=rtol, atol=atol))


@op(differentiable=False)
def equal(input: Any, other: Any) -> bool:
    """True when both have the same shape and elements."""
    a, b = np.asarray(input), np.asarray(other)
    return a.shape == b.shape and bool(np.array_equal(a, b))


@op(differentiable=False)
def is_nonzero(input: Any) -> bool:
    """Whether a one-element tensor is not zero (more or fewer elements are ambiguous)."""
    a = input._data if isinstance(input, Tensor) else np.asarray(input)
    if a.size != 1:
        what = "no values" if a.size == 0 else "more than one value"
        raise RuntimeError(
            f"is_nonzero: Boolean value of Tensor with {what} is ambiguous (shape {tuple(a.shape)})"
        )
    return bool(a.reshape(()))


@op(differentiable=False)
def is_same_size(input: Any, other: Any) -> bool:
    """Whether both tensors have the same shape."""
    return tuple(np.shape(input)) == tuple(np.shape(other))


isneginf = _nograd(np.isneginf, "isneginf", "True where the value is -inf.", inplace=False)
isposinf = _nograd(np.isposinf, "isposinf", "True where the value is +inf.", inplace=False)


@op(differentiable=False)
def isreal(input: Any) -> Tensor:
    """True where the imaginary part is 0 (everywhere for real tensors)."""
    x = as_tensor(input, "isreal")
    return Tensor._make(np.isreal(x._data) if x._data.dtype.kind == "c" else np.ones(x.shape, bool))


@op(method=False, differentiable=False)
def isin(
    elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False
) -> Tensor:
    """True where an element of ``elements`` occurs in ``test_elements`` (``invert``: the
    opposite); either may be a number."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin(): expected elements or test_elements to be a Tensor")
    a = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    b = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    out = np.isin(a, b, assume_unique=assume_unique, invert=invert)
    return Tensor._make(np.asarray(out, bool))


def _operands(op: str, input: Any, other: Any, kinds: str, what: str) -> tuple[Any, Any]:
    """Both operands' arrays at the common dtype, which must be of ``kinds``."""
    a, b = binary_operands(op, input, other)
    a, b = as_tensor(a, op), as_tensor(b, op)
    da, db = a._data, b._data
    if da.dtype.kind not in kinds or db.dtype.kind not in kinds:
        raise RuntimeError(
            f"{op}(): expected {what} tensors, got {a.dtype} {tuple(a.shape)} and "
            f"{b.dtype} {tuple(b.shape)}"
        )
    try:
        shape = np.broadcast_shapes(da.shape, db.shape)
    except ValueError:
        raise RuntimeError(
            f"{op}(): the shapes {tuple(da.shape)} and {tuple(db.shape)} don't broadcast"
        ) from None
    del shape
    return da, db


@op(inplace=True, numpy=np.gcd, differentiable=False)
def gcd(input: Any, other: Any) -> Tensor:
    """The greatest common divisor, elementwise (integer tensors)."""
    a, b = _operands("gcd", input, other, "iu", "integer")
    return Tensor._make(np.gcd(a, b))


@op(inplace=True, numpy=np.lcm, differentiable=False)
def lcm(input: Any, other: Any) -> Tensor:
    """The least common multiple, elementwise (integer tensors)."""
    a, b = _operands("lcm", input, other, "iu", "integer")
    return Tensor._make(np.lcm(a, b))


@op(inplace=True, numpy=np.nextafter, differentiable=False)
def nextafter(input: Any, other: Any) -> Tensor:
    """The next representable float after ``input`` towards ``other``."""
    a, b = _operands("nextafter", input, other, "f", "floating-point")
    return Tensor._make(np.nextafter(a, b))


@op(inplace=True, numpy=np.heaviside, differentiable=False)
def heaviside(input: Any, values: Any) -> Tensor:
    """0 where input < 0, 1 where input > 0, ``values`` where input == 0 (no gradient)."""
    if not isinstance(values, Tensor) or not isinstance(input, Tensor):
        raise TypeError("heaviside(): input and values must be Tensors")
    if input._data.dtype != values._data.dtype:
        raise RuntimeError(
            f"heaviside(): is not yet implemented for tensors with different dtypes, got "
            f"{input.dtype} {tuple(input.shape)} and {values.dtype} {tuple(values.shape)}"
        )
    a, b = _operands("heaviside", input, values, "biuf", "real")
    out = np.where(a == 0, b, (a > 0).astype(a.dtype))
    return Tensor._make(np.asarray(out, a.dtype))


class return_types:
    """What ``frexp`` returns, like ``torch.return_types.frexp``."""

    frexp = return_type("frexp", ("mantissa", "exponent"), __name__)


@op(differentiable=False, numpy=np.frexp)
def frexp(input: Any) -> Any:
    """(mantissa, exponent) with input = mantissa * 2**exponent, |mantissa| in [0.5, 1)."""
    x = as_tensor(input, "frexp")
    if x._data.dtype.kind != "f":
        raise RuntimeError(
            f"frexp(): only supports floating-point dtypes, got {x.dtype} {tuple(x.shape)}"
        )
    m, e = np.frexp(x._data)
    return return_types.frexp(Tensor._make(m), Tensor._make(e.astype(np.int32)))
