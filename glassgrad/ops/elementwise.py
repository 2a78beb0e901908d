"""Elementwise ops: each forward beside its derivative.

Rule contract (every op family follows it): ``backward(ctx, g)`` returns one gradient per forward
argument (None for no gradient), written with NumPy functions and operators only, in terms of the
incoming gradient ``g``, the saved inputs and the output. The engine un-broadcasts the result, so
``x + bias`` just returns ``g`` for both. Written this way the same rule also runs on Tensors,
which is how gradients of gradients work.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.ops._common import Node, Tensor, binary_operands
from glassgrad.ops.comparison import (  # re-exported: part of the elementwise family
    allclose,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    clamp,
    clip,
    eq,
    equal,
    fmax,
    fmin,
    ge,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    minimum,
    ne,
    signbit,
    where,
)

__all__ = [
    "abs",
    "add",
    "allclose",
    "bitwise_and",
    "bitwise_not",
    "bitwise_or",
    "bitwise_xor",
    "ceil",
    "clamp",
    "clip",
    "cos",
    "div",
    "divide",
    "eq",
    "equal",
    "erf",
    "exp",
    "expm1",
    "floor",
    "floor_divide",
    "fmax",
    "fmin",
    "ge",
    "gt",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "le",
    "log",
    "log1p",
    "log2",
    "log10",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "lt",
    "maximum",
    "minimum",
    "mul",
    "ne",
    "neg",
    "pow",
    "reciprocal",
    "relu",
    "remainder",
    "round",
    "rsqrt",
    "rsub",
    "sigmoid",
    "sign",
    "signbit",
    "sin",
    "sqrt",
    "square",
    "sub",
    "tan",
    "tanh",
    "true_divide",
    "trunc",
    "where",
]

# ---- unary ops from one line each ---------------------------------------------------------------

Rule = Callable[[Any, Any, Any], Any]


def _unary(name: str, f: Callable[[Any], Any], rule: Rule, uses: str, doc: str) -> Callable:
    """Make the Function and public function for ``y = f(x)`` with ``dx = rule(g, x, y)``.

    ``uses`` says what the rule reads ("x", "out" or "x,out"), so nothing else is kept alive.
    """
    # NOTE: forwards store ``ctx._saved`` directly (what save_for_backward does, one call less).
    if uses == "x":

        def forward(ctx: Any, x: Any) -> Any:
            ctx._saved = (x,)
            return f(x)

        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            return rule(g, x, None)

    elif uses == "out":

        def forward(ctx: Any, x: Any) -> Any:
            out = f(x)
            ctx._saved = (out,)
            return out

        def backward(ctx: Any, g: Any) -> Any:
            (out,) = ctx.saved_tensors
            return rule(g, None, out)

    else:

        def forward(ctx: Any, x: Any) -> Any:
            out = f(x)
            ctx._saved = (x, out)
            return out

        def backward(ctx: Any, g: Any) -> Any:
            x, out = ctx.saved_tensors
            return rule(g, x, out)

    cls: Any = type(
        name.title().replace("_", ""),
        (Node,),
        {
            "__slots__": (),
            "forward": staticmethod(forward),
            "backward": staticmethod(backward),
            "__doc__": doc,
        },
    )
    apply = cls.apply

    def op(input: Any) -> Tensor:
        return apply(input)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    op.Function = cls  # type: ignore[attr-defined]
    return op


def _sigmoid(x: Any) -> Any:
    # tanh form: one transcendental, and it never overflows for large |x|
    return 0.5 * np.tanh(0.5 * x) + 0.5


def _erf_array(x: np.ndarray) -> np.ndarray:
    # NumPy has no erf: Cody's rational approximations, vectorised (within 3e-16 of math.erf)
    from glassgrad.nn.functional._erf import erf as fast_erf

    return fast_erf(x)


_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# fmt: off
neg        = _unary("neg", np.negative, lambda g, x, y: -g, "out",
                    "-x, elementwise.")
exp        = _unary("exp", np.exp, lambda g, x, y: g * y, "out",
                    "e**x; its derivative is itself, so the rule reuses the output.")
expm1      = _unary("expm1", np.expm1, lambda g, x, y: g * (y + 1), "out",
                    "exp(x) - 1, accurate for small x.")
log        = _unary("log", np.log, lambda g, x, y: g / x, "x",
                    "Natural logarithm.")
log1p      = _unary("log1p", np.log1p, lambda g, x, y: g / (x + 1), "x",
                    "log(1 + x), accurate for small x.")
log2       = _unary("log2", np.log2, lambda g, x, y: g / (x * _LN2), "x",
                    "Base-2 logarithm.")
log10      = _unary("log10", np.log10, lambda g, x, y: g / (x * _LN10), "x",
                    "Base-10 logarithm.")
sqrt       = _unary("sqrt", np.sqrt, lambda g, x, y: g / (2 * y), "out",
                    "Square root; d/dx = 1 / (2 sqrt(x)).")
rsqrt      = _unary("rsqrt", lambda x: 1 / np.sqrt(x), lambda g, x, y: -0.5 * g * y ** 3, "out",
                    "1 / sqrt(x).")
reciprocal = _unary("reciprocal", lambda x: 1 / x, lambda g, x, y: -g * y * y, "out",
                    "1 / x.")
square     = _unary("square", np.square, lambda g, x, y: 2 * g * x, "x",
                    "x * x.")
abs        = _unary("abs", np.abs, lambda g, x, y: g * np.sign(x), "x",
                    "|x|; the gradient at 0 is 0, as in PyTorch.")
sin        = _unary("sin", np.sin, lambda g, x, y: g * np.cos(x), "x",
                    "Sine.")
cos        = _unary("cos", np.cos, lambda g, x, y: -g * np.sin(x), "x",
                    "Cosine.")
tan        = _unary("tan", np.tan, lambda g, x, y: g * (1 + y * y), "out",
                    "Tangent; d/dx = 1 + tan(x)**2.")
tanh       = _unary("tanh", np.tanh, lambda g, x, y: g * (1 - y * y), "out",
                    "Hyperbolic tangent; d/dx = 1 - tanh(x)**2, small when |x| is large.")
sigmoid    = _unary("sigmoid", _sigmoid, lambda g, x, y: g * y * (1 - y), "out",
                    "1 / (1 + e**-x); its local gradient y(1-y) vanishes when y saturates.")
relu       = _unary("relu", lambda x: np.maximum(x, 0), lambda g, x, y: g * (y > 0), "out",
                    "max(x, 0); the gradient passes where the output is positive.")
erf        = _unary("erf", _erf_array,
                    lambda g, x, y: g * _TWO_OVER_SQRT_PI * np.exp(-x * x), "x",
                    "The error function; d/dx = 2/sqrt(pi) e**(-x**2).")
sign       = _unary("sign", np.sign, lambda g, x, y: g * 0, "out",
                    "-1, 0 or 1; piecewise constant, so its gradient is zero.")
floor      = _unary("floor", np.floor, lambda g, x, y: g * 0, "out",
                    "Round down; zero gradient.")
ceil       = _unary("ceil", np.ceil, lambda g, x, y: g * 0, "out",
                    "Round up; zero gradient.")
trunc      = _unary("trunc", np.trunc, lambda g, x, y: g * 0, "out",
                    "Round toward zero; zero gradient.")
# fmt: on


def round(input: Any, decimals: int = 0) -> Tensor:
    """Round half to even, as PyTorch does; zero gradient."""
    if decimals == 0:
        return _round0(input)
    scale = 10.0**decimals
    return _round0(input * scale) / scale


_round0 = _unary("round", np.round, lambda g, x, y: g * 0, "out", "Round half to even.")


# ---- binary arithmetic --------------------------------------------------------------------------


class Add(Node):
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        return x + y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g, g


class Sub(Node):
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        return x - y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g, -g


class Mul(Node):
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        nx, ny = ctx.next
        return (g * y if nx is not None else None), (g * x if ny is not None else None)


class Div(Node):
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return x / y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        nx, ny = ctx.next
        gx = g / y
        return (gx if nx is not None else None), (-gx * x / y if ny is not None else None)


class Pow(Node):
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        out = x**y
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y, out = ctx.saved_tensors
        nx, ny = ctx.next
        gx = gy = None
        if nx is not None:
            gx = g * y * x ** (y - 1)
        if ny is not None:  # d/dy x**y = x**y log x, taken as 0 where x == 0 (PyTorch's choice)
            safe = np.where(x == 0, 1, x)
            gy = g * np.where((x == 0) & (y >= 0), 0, out * np.log(safe))
        return gx, gy


# Tensor-with-constant variants: nothing to save but the constant, no wasted gradient.
class AddScalar(Node):
    op_name = "Add"
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, c: Any) -> Any:
        return x + c

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g, None


class MulScalar(Node):
    op_name = "Mul"
    __slots__ = ("c",)

    @staticmethod
    def forward(ctx: Any, x: Any, c: Any) -> Any:
        ctx.c = c
        return x * c

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g * ctx.c, None


class PowScalar(Node):
    op_name = "Pow"
    __slots__ = ("c",)

    @staticmethod
    def forward(ctx: Any, x: Any, c: Any) -> Any:
        ctx.c = c
        ctx.save_for_backward(x)
        return x**c

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        c = ctx.c
        if c == 0:
            return g * 0, None
        return g * c * x ** (c - 1), None


class RPowScalar(Node):  # c ** x
    op_name = "Pow"
    __slots__ = ("c",)

    @staticmethod
    def forward(ctx: Any, x: Any, c: Any) -> Any:
        ctx.c = c
        out = np.power(c, x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (out,) = ctx.saved_tensors
        c = ctx.c
        return (g * out * math.log(c) if c > 0 else g * 0), None


_NUMBER = (int, float, bool)
_FAST_SCALAR = {int, float}
# a tensor that requires grad is floating point: no promotion to sort out


def add(input: Any, other: Any, alpha: Any = 1) -> Tensor:
    """input + alpha * other, broadcasting as NumPy does.

    >>> import glassgrad as gg
    >>> gg.add(gg.tensor([1.0, 2.0]), 1.0)
    tensor([2., 3.])
    """
    if alpha == 1 and isinstance(input, Tensor):  # the common cases, without general dispatch
        if type(other) in _FAST_SCALAR and (input.requires_grad or input._data.dtype.kind == "f"):
            return AddScalar.apply(input, other)
        if isinstance(other, Tensor) and input._data.dtype is other._data.dtype:
            return Add.apply(input, other)
    if alpha != 1:
        other = mul(other, alpha)
    a, b = binary_operands("add", input, other)
    if type(b) in _NUMBER:
        return AddScalar.apply(a, b)
    if type(a) in _NUMBER:
        return AddScalar.apply(b, a)
    return Add.apply(a, b)


def sub(input: Any, other: Any, alpha: Any = 1) -> Tensor:
    """input - alpha * other."""
    if alpha == 1 and isinstance(input, Tensor):
        if type(other) in _FAST_SCALAR and (input.requires_grad or input._data.dtype.kind == "f"):
            return AddScalar.apply(input, -other)
        if isinstance(other, Tensor) and input._data.dtype is other._data.dtype:
            return Sub.apply(input, other)
    if alpha != 1:
        other = mul(other, alpha)
    a, b = binary_operands("sub", input, other)
    if type(b) in _NUMBER:
        return AddScalar.apply(a, -b)
    if type(a) in _NUMBER:
        return AddScalar.apply(neg(b), a)
    return Sub.apply(a, b)


def rsub(input: Any, other: Any) -> Tensor:
    return sub(other, input)


def mul(input: Any, other: Any) -> Tensor:
    """Elementwise product: d(xy) = y dx + x dy."""
    if isinstance(input, Tensor):
        if type(other) in _FAST_SCALAR and (input.requires_grad or input._data.dtype.kind == "f"):
            return MulScalar.apply(input, other)
        if isinstance(other, Tensor) and input._data.dtype is other._data.dtype:
            return Mul.apply(input, other)
    a, b = binary_operands("mul", input, other)
    if type(b) in _NUMBER:
        return MulScalar.apply(a, b)
    if type(a) in _NUMBER:
        return MulScalar.apply(b, a)
    return Mul.apply(a, b)


def div(input: Any, other: Any, rounding_mode: str | None = None) -> Tensor:
    """Elementwise quotient x / y: dx = g / y, dy = -g x / y**2."""
    if rounding_mode is not None:
        q = div(input, other)
        if rounding_mode == "floor":
            return floor(q)
        if rounding_mode == "trunc":
            return trunc(q)
        raise ValueError(
            f"div: rounding_mode must be None, 'floor' or 'trunc', not {rounding_mode!r}"
        )
    a, b = binary_operands("div", input, other)
    if type(b) in _NUMBER:
        if isinstance(a, Tensor) and a._data.dtype.kind in "iub":
            a = Tensor._make(a._data.astype(dtypes.get_default_dtype()))
        return MulScalar.apply(a, 1.0 / b) if b != 0 else Div.apply(a, b)
    if type(a) in _NUMBER:
        return MulScalar.apply(reciprocal(_float(b)), a)
    return Div.apply(_float(a), _float(b))


true_divide = divide = div


def _float(t: Tensor) -> Tensor:
    """Integer division in PyTorch gives floats of the default dtype."""
    if t._data.dtype.kind in "iub":
        return Tensor._make(t._data.astype(dtypes.get_default_dtype()))
    return t


def pow(input: Any, exponent: Any) -> Tensor:
    """input ** exponent; either side (or both) may be a tensor and both are differentiable."""
    a, b = binary_operands("pow", input, exponent)
    if type(b) in _NUMBER:
        return PowScalar.apply(a, b)
    if type(a) in _NUMBER:
        return RPowScalar.apply(b, a)
    return Pow.apply(a, b)


def rpow(input: Any, other: Any) -> Tensor:
    return pow(other, input)


def floor_divide(input: Any, other: Any) -> Tensor:
    return div(input, other, rounding_mode="floor")


def remainder(input: Any, other: Any) -> Tensor:
    """Python-style modulus: x - floor(x / y) * y (gradient 1 for x, -floor(x/y) for y)."""
    return input - floor_divide(input, other) * other


NUMPY_UFUNCS = {
    np.add: add,
    np.subtract: sub,
    np.multiply: mul,
    np.true_divide: div,
    np.negative: neg,
    np.positive: lambda x: x,
    np.power: pow,
    np.exp: exp,
    np.expm1: expm1,
    np.log: log,
    np.log1p: log1p,
    np.log2: log2,
    np.log10: log10,
    np.sqrt: sqrt,
    np.reciprocal: reciprocal,
    np.square: square,
    np.absolute: abs,
    np.sin: sin,
    np.cos: cos,
    np.tan: tan,
    np.tanh: tanh,
    np.sign: sign,
    np.floor: floor,
    np.ceil: ceil,
    np.trunc: trunc,
    np.rint: round,
    np.maximum: maximum,
    np.minimum: minimum,
    np.equal: eq,
    np.not_equal: ne,
    np.less: lt,
    np.less_equal: le,
    np.greater: gt,
    np.greater_equal: ge,
    np.logical_and: logical_and,
    np.logical_or: logical_or,
    np.logical_xor: logical_xor,
    np.logical_not: logical_not,
    np.bitwise_and: bitwise_and,
    np.bitwise_or: bitwise_or,
    np.invert: bitwise_not,
    np.isnan: isnan,
    np.isinf: isinf,
    np.isfinite: isfinite,
}
NUMPY_FUNCTIONS = {
    np.where: where,
    np.clip: lambda a, a_min=None, a_max=None, **kw: clamp(a, a_min, a_max),
    np.round: round,
}
