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

from glassgrad.ops._common import Node, Tensor, as_tensor, binary_operands, to_default_float
from glassgrad.ops._erf import erf as erf_of_array
from glassgrad.ops.registry import FUNCTIONAL, TORCH, op


def _conj(v: Any) -> Any:
    """complex conjugate of an array or Tensor of complex dtype (rules call it on complex only)."""
    return np.conj(v) if v.dtype.kind == "c" else v


# ---- unary ops from one line each ---------------------------------------------------------------

Rule = Callable[[Any, Any, Any], Any]


def _quiet(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``f`` without NumPy's divide/invalid warnings: log(0) is -inf and sqrt(-1) NaN, silently,
    as in PyTorch (the transformer mask ``log(tril(ones))`` is a common idiom)."""

    def quiet(x: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return f(x)

    return quiet


def _unary(
    name: str,
    f: Callable[[Any], Any],
    rule: Rule,
    uses: str,
    doc: str,
    node: str | None = None,
    numpy: Any = None,
    operators: tuple[str, ...] = (),
    functional: bool = False,
    declared: bool = True,
    holomorphic: bool = False,
) -> Callable:
    """Declare ``y = f(x)`` with ``dx = rule(g, x, y)``: its node class and public op.

    ``uses`` says what the rule reads ("x", "out" or "x,out"), so nothing else is kept alive.
    ``node`` is PyTorch's node name when it is not the op's (``square`` records ``PowBackward0``).
    The op gets a Tensor method and an in-place variant (PyTorch has both for every unary op),
    and ``f`` itself maps onto it when it is a NumPy ufunc. ``holomorphic``: on complex tensors
    the rule gives ``g * conj(f'(x))`` (PyTorch's convention), computed as
    ``conj(rule(conj(g), x, y))``; real tensors pay one dtype check in backward, nothing more.
    """
    # NOTE: forwards store ``ctx._saved`` directly (what save_for_backward does, one call less).
    if holomorphic and uses == "x":

        def forward(ctx: Any, x: Any) -> Any:
            ctx._saved = (x,)
            return f(x)

        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            if g.dtype.kind == "c":
                return np.conj(rule(np.conj(g), x, None))
            return rule(g, x, None)

    elif holomorphic and uses == "out":

        def forward(ctx: Any, x: Any) -> Any:
            out = f(x)
            ctx._saved = (out,)
            return out

        def backward(ctx: Any, g: Any) -> Any:
            (out,) = ctx.saved_tensors
            if g.dtype.kind == "c":
                return np.conj(rule(np.conj(g), None, out))
            return rule(g, None, out)

    elif uses == "x":

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
            "op_name": node,
            "forward": staticmethod(forward),
            "backward": staticmethod(backward),
            "__doc__": doc,
        },
    )
    apply = cls.apply

    def unary_op(input: Any) -> Tensor:
        return apply(input)

    unary_op.__name__ = unary_op.__qualname__ = name
    unary_op.__doc__ = doc
    unary_op.Function = cls  # type: ignore[attr-defined]
    if not declared:  # a building block of a declared op
        return unary_op
    if numpy is None and isinstance(f, np.ufunc):
        numpy = f
    namespaces = (TORCH, FUNCTIONAL) if functional else (TORCH,)
    return op(
        unary_op,
        inplace=True,
        numpy=numpy,
        operators=operators,
        namespaces=namespaces,
        guard=False,  # its work is in Node.apply, which words NumPy's errors itself
    )


def _sigmoid(x: Any) -> Any:
    # tanh form: one transcendental, and it never overflows for large |x|
    return 0.5 * np.tanh(0.5 * x) + 0.5


_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _sgn(x: Any) -> Any:
    """d|x|/dx: sign(x) for real x, x / |x| for complex x (PyTorch's ``sgn``); 0 at 0."""
    if x.dtype.kind != "c":
        return np.sign(x)
    a = np.abs(x)
    return x / (a + (a == 0))


def _sign(x: Any) -> Any:
    """np.sign, but 0 for NaN as in PyTorch."""
    if x.dtype.kind != "f":
        return np.sign(x)
    return np.where(np.isnan(x), x.dtype.type(0), np.sign(x))


# fmt: off
neg        = _unary("neg", np.negative, lambda g, x, y: -g, "out",
                    "-x, elementwise.", operators=("__neg__",))
exp        = _unary("exp", np.exp, lambda g, x, y: g * y, "out",
                    "e**x; its derivative is itself, so the rule reuses the output.",
                    holomorphic=True)
expm1      = _unary("expm1", np.expm1, lambda g, x, y: g * (y + 1), "out",
                    "exp(x) - 1, accurate for small x.", holomorphic=True)
log        = _unary("log", _quiet(np.log), lambda g, x, y: g / x, "x",
                    "Natural logarithm.", numpy=np.log, holomorphic=True)
log1p      = _unary("log1p", _quiet(np.log1p), lambda g, x, y: g / (x + 1), "x",
                    "log(1 + x), accurate for small x.", numpy=np.log1p, holomorphic=True)
log2       = _unary("log2", _quiet(np.log2), lambda g, x, y: g / (x * _LN2), "x",
                    "Base-2 logarithm.", numpy=np.log2, holomorphic=True)
log10      = _unary("log10", _quiet(np.log10), lambda g, x, y: g / (x * _LN10), "x",
                    "Base-10 logarithm.", numpy=np.log10, holomorphic=True)
sqrt       = _unary("sqrt", _quiet(np.sqrt), lambda g, x, y: g / (2 * y), "out",
                    "Square root; d/dx = 1 / (2 sqrt(x)).", numpy=np.sqrt, holomorphic=True)
rsqrt      = _unary("rsqrt", lambda x: 1 / np.sqrt(x), lambda g, x, y: -0.5 * g * y ** 3, "out",
                    "1 / sqrt(x).", holomorphic=True)
reciprocal = _unary("reciprocal", lambda x: 1 / x, lambda g, x, y: -g * y * y, "out",
                    "1 / x.", holomorphic=True)
square     = _unary("square", np.square, lambda g, x, y: 2 * g * x, "x",
                    "x * x.", node="Pow", holomorphic=True)
abs        = _unary("abs", np.absolute, lambda g, x, y: g * _sgn(x), "x",
                    "|x|; the gradient at 0 is 0, as in PyTorch.", operators=("__abs__",))
sin        = _unary("sin", np.sin, lambda g, x, y: g * np.cos(x), "x",
                    "Sine.", holomorphic=True)
cos        = _unary("cos", np.cos, lambda g, x, y: -g * np.sin(x), "x",
                    "Cosine.", holomorphic=True)
tan        = _unary("tan", np.tan, lambda g, x, y: g * (1 + y * y), "out",
                    "Tangent; d/dx = 1 + tan(x)**2.", holomorphic=True)
tanh       = _unary("tanh", np.tanh, lambda g, x, y: g * (1 - y * y), "out",
                    "Hyperbolic tangent; d/dx = 1 - tanh(x)**2, small when |x| is large.",
                    functional=True, holomorphic=True)
sigmoid    = _unary("sigmoid", _sigmoid, lambda g, x, y: g * y * (1 - y), "out",
                    "1 / (1 + e**-x); its local gradient y(1-y) vanishes when y saturates.",
                    functional=True, holomorphic=True)
relu       = _unary("relu", lambda x: np.maximum(x, 0), lambda g, x, y: g * (y > 0), "out",
                    "max(x, 0); the gradient passes where the output is positive.", functional=True)
erf        = _unary("erf", erf_of_array,  # NumPy has none: Cody's rational approximations
                    lambda g, x, y: g * _TWO_OVER_SQRT_PI * np.exp(-x * x), "x",
                    "The error function; d/dx = 2/sqrt(pi) e**(-x**2).")
sign       = _unary("sign", _sign, lambda g, x, y: g * 0, "out",
                    "-1, 0 or 1 (0 for NaN); piecewise constant, so its gradient is zero.",
                    numpy=np.sign)
floor      = _unary("floor", np.floor, lambda g, x, y: g * 0, "out",
                    "Round down; zero gradient.")
ceil       = _unary("ceil", np.ceil, lambda g, x, y: g * 0, "out",
                    "Round up; zero gradient.")
trunc      = _unary("trunc", np.trunc, lambda g, x, y: g * 0, "out",
                    "Round toward zero; zero gradient.")
# fmt: on


round_half_even = _unary(
    "round",
    np.round,
    lambda g, x, y: g * 0,
    "out",
    "Round half to even, as PyTorch does; zero gradient.",
    declared=False,
)


@op(
    inplace=True,
    numpy={np.rint: round_half_even, np.round: lambda a, decimals=0, out=None: round(a, decimals)},
)
def round(input: Any, decimals: int = 0) -> Tensor:
    """Round half to even, as PyTorch does; zero gradient."""
    if decimals == 0:
        return round_half_even(input)
    scale = 10.0**decimals
    return round_half_even(input * scale) / scale


# ---- binary arithmetic --------------------------------------------------------------------------
# Tensor-with-tensor nodes save both inputs; tensor-with-number nodes keep only the number and
# return no gradient for it. Both record PyTorch's node name for the expression.


class Add(Node):
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        return x + y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g, g


class AddScalar(Node):
    op_name = "Add"
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, c: Any) -> Any:
        return x + c

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g, None


class Sub(Node):
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        return x - y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g, -g


class SubScalar(Node):
    op_name = "Sub"
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, c: Any) -> Any:
        return x - c

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g, None


class Rsub(Node):  # other - input, as torch.rsub(input, other)
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        return y - x

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return -g, g


class RsubScalar(Node):  # c - x: what ``1 - x`` records
    op_name = "Rsub"
    variant = 1
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, c: Any) -> Any:
        return c - x

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return -g, None


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
        if g.dtype.kind == "c":  # PyTorch: grad * other.conj()
            x, y = _conj(x), _conj(y)
        return (g * y if nx is not None else None), (g * x if ny is not None else None)


class MulScalar(Node):
    op_name = "Mul"
    __slots__ = ("c",)

    @staticmethod
    def forward(ctx: Any, x: Any, c: Any) -> Any:
        ctx.c = c
        return x * c

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        c = ctx.c
        return g * (c.conjugate() if type(c) is complex else c), None


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
        if g.dtype.kind == "c":  # PyTorch: grad / other.conj(), -grad * (self / other**2).conj()
            x, y = _conj(x), _conj(y)
        gx = g / y
        return (gx if nx is not None else None), (-gx * x / y if ny is not None else None)


class DivScalar(Node):
    op_name = "Div"
    __slots__ = ("c",)

    @staticmethod
    def forward(ctx: Any, x: Any, c: Any) -> Any:
        ctx.c = c
        return x / c

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        c = ctx.c
        return g / (c.conjugate() if type(c) is complex else c), None


class PowScalar(Node):  # x ** c
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
        if g.dtype.kind == "c":  # PyTorch: grad * (c * x ** (c - 1)).conj()
            return g * _conj(c * x ** (c - 1)), None
        return g * c * x ** (c - 1), None


class Pow(Node):  # x ** y
    __slots__ = ()
    broadcasts = True
    variant = 1

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
        if g.dtype.kind == "c":  # holomorphic in both: g * conj(derivative)
            if nx is not None:
                gx = g * _conj(y * x ** (y - 1))
            if ny is not None:
                gy = g * _conj(out * np.log(x))
            return gx, gy
        if nx is not None:
            gx = g * y * x ** (y - 1)
        if ny is not None:  # d/dy x**y = x**y log x, taken as 0 where x == 0 (PyTorch's choice)
            safe = np.where(x == 0, 1, x)
            gy = g * np.where((x == 0) & (y >= 0), 0, out * np.log(safe))
        return gx, gy


class RPowScalar(Node):  # c ** x
    op_name = "Pow"
    variant = 2
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


class Remainder(Node):  # x - floor(x / y) * y, Python's sign convention
    __slots__ = ()
    broadcasts = True
    variant = 1

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return np.remainder(x, y)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        return g, -g * np.floor(x / y)


class RemainderScalar(Node):
    op_name = "Remainder"
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, c: Any) -> Any:
        return np.remainder(x, c)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g, None


_NUMBER = (int, float, bool, complex)
_FAST_SCALAR = {int, float}
# a tensor that requires grad is floating point: no promotion to sort out


def _binary(op: str, tensors: Any, scalar: Any, rscalar: Any, input: Any, other: Any) -> Tensor:
    """Promote, then record the tensor-tensor node or a tensor-number one (``rscalar(b, a)``)."""
    a, b = binary_operands(op, input, other)
    if type(b) in _NUMBER:
        return scalar.apply(a, b)
    if type(a) in _NUMBER:
        return rscalar(b, a)
    return tensors.apply(a, b)


@op(inplace=True, operators=("__add__", "__radd__"), numpy=np.add, raw_operators=True)
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
    return _binary("add", Add, AddScalar, AddScalar.apply, input, other)


@op(
    inplace=True,
    operators=("__sub__",),
    numpy=np.subtract,
    aliases=("subtract",),
    raw_operators=True,
)
def sub(input: Any, other: Any, alpha: Any = 1) -> Tensor:
    """input - alpha * other."""
    if alpha == 1 and isinstance(input, Tensor):
        if type(other) in _FAST_SCALAR and (input.requires_grad or input._data.dtype.kind == "f"):
            return SubScalar.apply(input, other)
        if isinstance(other, Tensor) and input._data.dtype is other._data.dtype:
            return Sub.apply(input, other)
    if alpha != 1:
        other = mul(other, alpha)
    return _binary("sub", Sub, SubScalar, RsubScalar.apply, input, other)


@op(method=False, operators=("__rsub__",), raw_operators=True)
def rsub(input: Any, other: Any, alpha: Any = 1) -> Tensor:
    """other - alpha * input (``1 - x`` records ``RsubBackward1``, as in PyTorch)."""
    if alpha != 1:
        input = mul(input, alpha)
    return _binary("rsub", Rsub, RsubScalar, SubScalar.apply, input, other)


@op(
    inplace=True,
    operators=("__mul__", "__rmul__"),
    numpy=np.multiply,
    aliases=("multiply",),
    raw_operators=True,
)
def mul(input: Any, other: Any) -> Tensor:
    """Elementwise product: d(xy) = y dx + x dy."""
    if isinstance(input, Tensor):
        if type(other) in _FAST_SCALAR and (input.requires_grad or input._data.dtype.kind == "f"):
            return MulScalar.apply(input, other)
        if isinstance(other, Tensor) and input._data.dtype is other._data.dtype:
            return Mul.apply(input, other)
    return _binary("mul", Mul, MulScalar, MulScalar.apply, input, other)


@op(
    inplace=True,
    operators=("__truediv__",),
    reflected=("__rtruediv__",),
    numpy=np.true_divide,
    aliases=("divide", "true_divide"),
    raw_operators=True,
)
def div(input: Any, other: Any, rounding_mode: str | None = None) -> Tensor:
    """Elementwise quotient x / y: dx = g / y, dy = -g x / y**2."""
    if rounding_mode is not None:
        q = div(input, other)
        if rounding_mode == "floor":
            r = floor(q)
            if r._data.dtype.kind == "f" and r._data.size:  # PyTorch's values (fmod-based)
                r._data[...] = _floor_quotient(_values(input), _values(other)).astype(r.dtype)
            return r
        if rounding_mode == "trunc":
            return trunc(q)
        raise ValueError(
            f"div: rounding_mode must be None, 'floor' or 'trunc', not {rounding_mode!r}"
        )
    a, b = binary_operands("div", input, other)
    if type(b) in _NUMBER:
        if b == 0:
            return Div.apply(to_default_float(a), b)
        return DivScalar.apply(to_default_float(a), b)
    if type(a) in _NUMBER:  # c / x is c * (1/x), as PyTorch records it
        return MulScalar.apply(reciprocal(to_default_float(b)), a)
    return Div.apply(to_default_float(a), to_default_float(b))


@op(inplace=True, operators=("__pow__",), reflected=("__rpow__",), numpy=np.power)
def pow(input: Any, exponent: Any) -> Tensor:
    """input ** exponent; either side (or both) may be a tensor and both are differentiable."""
    return _binary("pow", Pow, PowScalar, RPowScalar.apply, input, exponent)


def _values(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _floor_quotient(a: Any, b: Any) -> Any:
    """floor(a / b) as PyTorch computes it (from fmod, so ``inf // 1`` is NaN and ``5 // 0.1``
    is 49, not NumPy's inf and 50)."""
    with np.errstate(all="ignore"):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        mod = np.fmod(a, b)
        d = (a - mod) / b
        d = np.where((mod != 0) & ((b < 0) != (mod < 0)), d - 1, d)
        fl = np.floor(d)
        fl = np.where(d - fl > 0.5, fl + 1, fl)
        out = np.where(d != 0, fl, np.copysign(0.0, a / b))
        return np.where(b == 0, a / b, out)


@op(
    inplace=True,
    operators=("__floordiv__",),
    reflected=("__rfloordiv__",),
    numpy=np.floor_divide,
    differentiable=False,
)
def floor_divide(input: Any, other: Any) -> Tensor:
    """floor(input / other), elementwise; zero gradient."""
    return div(input, other, rounding_mode="floor")


@op(inplace=True, operators=("__mod__",), reflected=("__rmod__",), numpy=np.remainder)
def remainder(input: Any, other: Any) -> Tensor:
    """Python-style modulus x - floor(x / y) * y: gradient 1 for x, -floor(x / y) for y."""
    a, b = binary_operands("remainder", input, other)
    if type(a) in _NUMBER:
        a = Tensor._make(np.asarray(a, b._data.dtype))
    return _binary("remainder", Remainder, RemainderScalar, None, a, b)


class Logaddexp(Node):  # log(e**x + e**y), without overflow
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        out = np.logaddexp(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y, out = ctx.saved_tensors  # d/dx = e**x / (e**x + e**y) = e**(x - out)
        return g * np.exp(x - out), g * np.exp(y - out)


@op(numpy=np.logaddexp)
def logaddexp(input: Any, other: Any) -> Tensor:
    """log(exp(input) + exp(other)), stable for large inputs; each side gets its softmax weight."""
    a, b = binary_operands("logaddexp", input, other)
    return Logaddexp.apply(as_tensor(a), as_tensor(b))


@op(operators=("__pos__",), numpy=np.positive)
def positive(input: Any) -> Tensor:
    """+x: the tensor itself."""
    return input
