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
from glassgrad.ops._common import Node, Tensor, as_tensor, binary_operands, to_default_float
from glassgrad.ops._erf import erf as erf_of_array
from glassgrad.ops.out import write_out
from glassgrad.ops.registry import FUNCTIONAL, SPECIAL, TORCH, fast_inplace, op


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


class _InFloat:
    """Marks a unary op's ``f`` as computed in the default float dtype for integer and bool
    inputs, as PyTorch's float ops are (``exp`` of an int64 tensor is float32, not NumPy's
    float64; of a bool, not float16). ``_unary`` casts in the op itself: no call layer more."""

    __slots__ = ("f",)

    def __init__(self, f: Callable[[Any], Any]) -> None:
        self.f = f


def _in_float(f: Callable[[Any], Any]) -> Any:
    return _InFloat(f)


def _unary(
    name: str,
    f: Any,
    rule: Rule,
    uses: str,
    doc: str,
    node: str | None = None,
    numpy: Any = None,
    operators: tuple[str, ...] = (),
    functional: bool | str = False,
    declared: bool = True,
    holomorphic: bool = False,
    aliases: tuple[str, ...] = (),
    special: bool = False,
) -> Callable:
    """Declare ``y = f(x)`` with ``dx = rule(g, x, y)``: its node class and public op.

    ``uses`` says what the rule reads ("x", "out" or "x,out"), so nothing else is kept alive.
    ``node`` is PyTorch's node name when it is not the op's (``square`` records ``PowBackward0``).
    The op gets a Tensor method and an in-place variant (PyTorch has both for every unary op),
    and ``f`` itself maps onto it when it is a NumPy ufunc; ``aliases`` are other names for it,
    ``special``: it is also in ``glassgrad.special`` under its name. ``holomorphic``: on complex
    tensors the rule gives ``g * conj(f'(x))`` (PyTorch's convention), computed as
    ``conj(rule(conj(g), x, y))``; real tensors pay one dtype check in backward, nothing more.
    """
    in_float = isinstance(f, _InFloat)
    if isinstance(f, _InFloat):
        f = f.f
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

    # NOTE: ``out=`` is taken here, not by a wrapper: these are the hottest ops (W3)
    if in_float:

        def unary_op(input: Any, *, out: Any = None) -> Tensor:
            if isinstance(input, Tensor) and input._data.dtype.kind in "iub":
                input = Tensor._make(input._data.astype(dtypes.default_float()))
            result = apply(input)
            return result if out is None else write_out(name, result, out)

    else:

        def unary_op(input: Any, *, out: Any = None) -> Tensor:
            result = apply(input)
            return result if out is None else write_out(name, result, out)

    unary_op.__name__ = unary_op.__qualname__ = name
    unary_op.__doc__ = doc
    unary_op.Function = cls  # type: ignore[attr-defined]
    if not declared:  # a building block of a declared op
        return unary_op
    if numpy is None and isinstance(f, np.ufunc):
        numpy = f
    namespaces = (TORCH, FUNCTIONAL) if functional else (TORCH,)
    if functional == "inplace":  # nn.functional's takes inplace= too (F.relu(x, inplace=True))
        return op(
            _with_inplace_flag(unary_op, unary_op if in_float else apply),
            inplace=True,
            method=unary_op,
            torch_function=unary_op,
            numpy=numpy,
            operators=operators,
            namespaces=namespaces + ((SPECIAL,) if special else ()),
            aliases=aliases,
            guard=False,
        )
    return op(
        unary_op,
        inplace=True,
        numpy=numpy,
        operators=operators,
        namespaces=namespaces + ((SPECIAL,) if special else ()),
        aliases=aliases,
        guard=False,  # its work is in Node.apply, which words NumPy's errors itself
    )


def _with_inplace_flag(
    plain: Callable[[Any], Tensor], run: Callable[[Any], Tensor]
) -> Callable[..., Tensor]:
    """``plain`` as ``torch.nn.functional`` has it: ``f(input, inplace=False)``, where
    ``inplace=True`` writes the result into ``input`` (its ``<name>_``). ``run``: what computes
    it out of place, the node's ``apply`` itself where ``plain`` adds nothing (``F.relu`` is hot:
    no call layer more than before it took ``inplace=``)."""
    name = plain.__name__

    def with_flag(input: Any, inplace: bool = False) -> Tensor:
        if inplace is False:
            return run(input)
        if not isinstance(inplace, bool):
            raise TypeError(
                f"{name}(): argument 'inplace' must be bool, not {type(inplace).__name__}"
            )
        if not isinstance(input, Tensor):
            raise TypeError(
                f"{name}(): argument 'input' must be Tensor to be changed in place "
                f"(inplace=True), not {type(input).__name__}"
            )
        from glassgrad.ops.inplace import apply_inplace

        return apply_inplace(input, name + "_", plain)

    with_flag.__name__ = with_flag.__qualname__ = name
    with_flag.__doc__ = plain.__doc__
    with_flag.Function = plain.Function  # type: ignore[attr-defined]
    return with_flag


def sigmoid_array(x: Any) -> Any:
    """1 / (1 + e**-x) on an array, PyTorch's formula (and its bits, mostly). The tanh form
    0.5 * tanh(x / 2) + 0.5 loses every digit of the small outputs: in float32 it gave 0 for
    sigmoid(-20), and -inf for its log, where PyTorch gives 2.1e-9."""
    with np.errstate(over="ignore"):  # e**-x overflows to inf for x << 0: the result is 0
        return 1 / (1 + np.exp(-x))


_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _sgn(x: Any) -> Any:
    """d|x|/dx: sign(x) for real x, x / |x| for complex x (PyTorch's ``sgn``); 0 at 0."""
    if x.dtype.kind != "c":
        return np.sign(x)
    a = np.abs(x)
    return x / (a + (a == 0))


def _square(x: Any) -> Any:
    """x * x; a bool tensor squares to int64, as PyTorch's (NumPy's gives int8)."""
    return np.square(x.astype(np.int64) if x.dtype == np.bool_ else x)


def _sign(x: Any) -> Any:
    """np.sign, but 0 for NaN as in PyTorch (and a bool tensor is its own sign)."""
    if x.dtype == np.bool_:
        return x.copy()
    if x.dtype.kind != "f":
        return np.sign(x)
    return np.where(np.isnan(x), x.dtype.type(0), np.sign(x))


# fmt: off
neg        = _unary("neg", np.negative, lambda g, x, y: -g, "out",
                    "-x, elementwise.", operators=("__neg__",), aliases=("negative",))
exp        = _unary("exp", _in_float(np.exp), lambda g, x, y: g * y, "out",
                    "e**x; its derivative is itself, so the rule reuses the output.",
                    numpy=np.exp, holomorphic=True)
expm1      = _unary("expm1", _in_float(np.expm1), lambda g, x, y: g * (y + 1), "out",
                    "exp(x) - 1, accurate for small x.", numpy=np.expm1, holomorphic=True,
                    special=True)
log        = _unary("log", _in_float(_quiet(np.log)), lambda g, x, y: g / x, "x",
                    "Natural logarithm.", numpy=np.log, holomorphic=True)
log1p      = _unary("log1p", _in_float(_quiet(np.log1p)), lambda g, x, y: g / (x + 1), "x",
                    "log(1 + x), accurate for small x.", numpy=np.log1p, holomorphic=True,
                    special=True)
log2       = _unary("log2", _in_float(_quiet(np.log2)), lambda g, x, y: g / (x * _LN2), "x",
                    "Base-2 logarithm.", numpy=np.log2, holomorphic=True)
log10      = _unary("log10", _in_float(_quiet(np.log10)), lambda g, x, y: g / (x * _LN10), "x",
                    "Base-10 logarithm.", numpy=np.log10, holomorphic=True)
sqrt       = _unary("sqrt", _in_float(_quiet(np.sqrt)), lambda g, x, y: g / (2 * y), "out",
                    "Square root; d/dx = 1 / (2 sqrt(x)).", numpy=np.sqrt, holomorphic=True)
rsqrt      = _unary("rsqrt", _in_float(_quiet(lambda x: 1 / np.sqrt(x))),
                    lambda g, x, y: -0.5 * g * y ** 3, "out", "1 / sqrt(x).", holomorphic=True)
reciprocal = _unary("reciprocal", _in_float(lambda x: 1 / x), lambda g, x, y: -g * y * y, "out",
                    "1 / x.", holomorphic=True)
square     = _unary("square", _square, lambda g, x, y: 2 * g * x, "x",
                    "x * x.", node="Pow", numpy=np.square, holomorphic=True)
abs        = _unary("abs", np.absolute, lambda g, x, y: g * _sgn(x), "x",
                    "|x|; the gradient at 0 is 0, as in PyTorch.", operators=("__abs__",),
                    aliases=("absolute",))
sin        = _unary("sin", _in_float(np.sin), lambda g, x, y: g * np.cos(x), "x",
                    "Sine.", numpy=np.sin, holomorphic=True)
cos        = _unary("cos", _in_float(np.cos), lambda g, x, y: -g * np.sin(x), "x",
                    "Cosine.", numpy=np.cos, holomorphic=True)
tan        = _unary("tan", _in_float(np.tan), lambda g, x, y: g * (1 + y * y), "out",
                    "Tangent; d/dx = 1 + tan(x)**2.", numpy=np.tan, holomorphic=True)
tanh       = _unary("tanh", _in_float(np.tanh), lambda g, x, y: g * (1 - y * y), "out",
                    "Hyperbolic tangent; d/dx = 1 - tanh(x)**2, small when |x| is large.",
                    numpy=np.tanh, functional=True, holomorphic=True)
sigmoid    = _unary("sigmoid", _in_float(sigmoid_array), lambda g, x, y: g * (1 - y) * y, "out",
                    "1 / (1 + e**-x); its local gradient y(1-y) vanishes when y saturates.",
                    functional=True, holomorphic=True)
relu       = _unary("relu", lambda x: np.maximum(x, 0), lambda g, x, y: g * (y > 0), "out",
                    "max(x, 0); the gradient passes where the output is positive.",
                    functional="inplace")
erf        = _unary("erf", erf_of_array,  # NumPy has none: Cody's rational approximations
                    lambda g, x, y: g * _TWO_OVER_SQRT_PI * np.exp(-x * x), "x",
                    "The error function; d/dx = 2/sqrt(pi) e**(-x**2).", special=True)
sign       = _unary("sign", _sign, lambda g, x, y: g * 0, "out",
                    "-1, 0 or 1 (0 for NaN); piecewise constant, so its gradient is zero.",
                    numpy=np.sign)
floor      = _unary("floor", np.floor, lambda g, x, y: g * 0, "out",
                    "Round down; zero gradient.")
ceil       = _unary("ceil", np.ceil, lambda g, x, y: g * 0, "out",
                    "Round up; zero gradient.")
trunc      = _unary("trunc", np.trunc, lambda g, x, y: g * 0, "out",
                    "Round toward zero; zero gradient.", aliases=("fix",))
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
    saved_const_names = ("exponent",)
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
        if rounding_mode not in ("floor", "trunc"):
            raise ValueError(
                f"div: rounding_mode must be None, 'floor' or 'trunc', not {rounding_mode!r}"
            )
        if _integral(input) and _integral(other):  # int // int stays int, as in PyTorch
            return _integer_quotient("div", input, other, rounding_mode)
        q = div(input, other)
        if rounding_mode == "floor":
            r = floor(q)
            if r._data.dtype.kind == "f" and r._data.size:  # PyTorch's values (fmod-based)
                r._data[...] = _floor_quotient(_values(input), _values(other)).astype(r.dtype)
            return r
        return trunc(q)
    a, b = binary_operands("div", input, other)
    if type(b) in _NUMBER:
        if b == 0:
            return Div.apply(to_default_float(a), b)
        return DivScalar.apply(to_default_float(a), b)
    if type(a) in _NUMBER:  # c / x is c * (1/x), as PyTorch records it
        return MulScalar.apply(reciprocal(to_default_float(b)), a)
    return Div.apply(to_default_float(a), to_default_float(b))


@op(
    inplace=True,
    operators=("__pow__",),
    reflected=("__rpow__",),
    inplace_operators=("__ipow__",),
    numpy=np.power,
)
def pow(input: Any, exponent: Any) -> Tensor:
    """input ** exponent; either side (or both) may be a tensor and both are differentiable."""
    if isinstance(input, Tensor) and input._data.dtype == np.bool_ and type(exponent) is int:
        input = Tensor._make(input._data.astype(np.int64))  # bool ** 2 is int64, as PyTorch's
    return _binary("pow", Pow, PowScalar, RPowScalar.apply, input, exponent)


def _values(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _integral(x: Any) -> bool:
    """An integer or bool tensor, or a Python int or bool."""
    if isinstance(x, Tensor):
        return x._data.dtype.kind in "iub"
    return type(x) in (int, bool) or isinstance(x, np.integer | np.bool_)


def _integer_quotient(op: str, input: Any, other: Any, rounding_mode: str) -> Tensor:
    """Integer division of integers, rounded down (Python's ``//``) or toward zero; in the
    operands' promoted integer dtype, with no gradient (nothing integral has one)."""
    a, b = binary_operands(op, input, other)
    if type(a) in _NUMBER:
        a = Tensor._make(np.asarray(a, b._data.dtype))
    x, y = a._data, (b._data if isinstance(b, Tensor) else b)  # (a number stays weak: int32)
    if x.dtype == np.bool_ and np.asarray(y).dtype == np.bool_:
        raise NotImplementedError(
            f"{op}: rounding_mode={rounding_mode!r} is not implemented for two bool operands "
            f"(shapes {tuple(x.shape)} and {tuple(np.shape(y))}), as in PyTorch; convert them "
            "to an integer dtype first"
        )
    _int_divisor_check(op, a, b)
    q = np.floor_divide(x, y)
    if rounding_mode == "trunc":  # floor is one below trunc where the signs differ, inexactly
        q = q + ((np.remainder(x, y) != 0) & ((x < 0) != (np.asarray(y) < 0))).astype(q.dtype)
    return Tensor._make(np.asarray(q))


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
    inplace_operators=("__ifloordiv__",),
    numpy=np.floor_divide,
    differentiable=False,
)
def floor_divide(input: Any, other: Any) -> Tensor:
    """floor(input / other), elementwise; zero gradient."""
    if _integral(input) and _integral(other):
        return _integer_quotient("floor_divide", input, other, "floor")
    return div(input, other, rounding_mode="floor")


@op(
    inplace=True,
    operators=("__mod__",),
    reflected=("__rmod__",),
    inplace_operators=("__imod__",),
    numpy=np.remainder,
)
def remainder(input: Any, other: Any) -> Tensor:
    """Python-style modulus x - floor(x / y) * y: gradient 1 for x, -floor(x / y) for y."""
    a, b = binary_operands("remainder", input, other)
    if type(a) in _NUMBER:
        a = Tensor._make(np.asarray(a, b._data.dtype))
    _int_divisor_check("remainder", a, b)
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


# ---- trigonometric, hyperbolic and other float unary ops ----------------------------------------
# Integer and bool inputs compute in the default float dtype, as PyTorch's float ops do.


def _floating(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``f`` on a float array (ints and bools in the default float dtype), without NumPy's
    domain warnings (asin(2) is NaN silently, as in PyTorch)."""
    from glassgrad import dtypes

    def floating(x: Any) -> Any:
        if x.dtype.kind not in "fc":
            x = x.astype(dtypes.default_float())
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return f(x)

    return floating


_PI = math.pi
_DEG = math.pi / 180.0


def _sinc(x: Any) -> Any:
    """sin(pi x) / (pi x), 1 at 0."""
    px = _PI * np.where(x == 0, 1, x)
    return np.where(x == 0, 1, np.sin(px) / px).astype(x.dtype, copy=False)


def _sinc_grad(g: Any, x: Any) -> Any:
    """d sinc / dx = (pi x cos(pi x) - sin(pi x)) / (pi x**2), 0 at 0 (PyTorch's rule)."""
    safe = np.where(x == 0, 1, x)
    px = _PI * safe
    return g * np.where(x == 0, 0, (px * np.cos(px) - np.sin(px)) / (px * safe))


def _domain(rule: Rule) -> Rule:
    """A rule without NumPy's warnings outside the domain (NaN there, silently, as PyTorch)."""

    def quiet(g: Any, x: Any, y: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return rule(g, x, y)

    return quiet


def _sgn_forward(x: Any) -> Any:
    """sign(x) for real x, x / |x| for complex x (0 at 0)."""
    return _sgn(x) if x.dtype.kind == "c" else _sign(x)


def _sgn_grad(g: Any, x: Any, y: Any) -> Any:
    """0 for real x; (g - sgn**2 conj(g)) / (2|x|) for complex x (PyTorch's sgn_backward)."""
    if x.dtype.kind != "c":
        return g * 0
    a = np.abs(x)
    live = a != 0
    return np.where(live, (g - y * y * np.conj(g)) / (2 * np.where(live, a, 1)), 0)


# fmt: off
asin    = _unary("asin", _floating(np.arcsin), _domain(lambda g, x, y: g / np.sqrt(1 - x * x)), "x",
                 "Inverse sine; d/dx = 1 / sqrt(1 - x**2).", numpy=np.arcsin,
                 aliases=("arcsin",), holomorphic=True)
acos    = _unary("acos", _floating(np.arccos),
                 _domain(lambda g, x, y: -g / np.sqrt(1 - x * x)), "x",
                 "Inverse cosine; d/dx = -1 / sqrt(1 - x**2).", numpy=np.arccos,
                 aliases=("arccos",), holomorphic=True)
atan    = _unary("atan", _floating(np.arctan), lambda g, x, y: g / (1 + x * x), "x",
                 "Inverse tangent; d/dx = 1 / (1 + x**2).", numpy=np.arctan,
                 aliases=("arctan",), holomorphic=True)
sinh    = _unary("sinh", _floating(np.sinh), lambda g, x, y: g * np.cosh(x), "x",
                 "Hyperbolic sine.", numpy=np.sinh, holomorphic=True)
cosh    = _unary("cosh", _floating(np.cosh), lambda g, x, y: g * np.sinh(x), "x",
                 "Hyperbolic cosine.", numpy=np.cosh, holomorphic=True)
asinh   = _unary("asinh", _floating(np.arcsinh), lambda g, x, y: g / np.sqrt(x * x + 1), "x",
                 "Inverse hyperbolic sine; d/dx = 1 / sqrt(x**2 + 1).", numpy=np.arcsinh,
                 aliases=("arcsinh",), holomorphic=True)
acosh   = _unary("acosh", _floating(np.arccosh),
                 _domain(lambda g, x, y: g / np.sqrt(x * x - 1)), "x",
                 "Inverse hyperbolic cosine (x >= 1); d/dx = 1 / sqrt(x**2 - 1).",
                 numpy=np.arccosh, aliases=("arccosh",), holomorphic=True)
atanh   = _unary("atanh", _floating(np.arctanh), _domain(lambda g, x, y: g / (1 - x * x)), "x",
                 "Inverse hyperbolic tangent (|x| < 1); d/dx = 1 / (1 - x**2).",
                 numpy=np.arctanh, aliases=("arctanh",), holomorphic=True)
deg2rad = _unary("deg2rad", _floating(lambda x: x * x.dtype.type(_DEG)),
                 lambda g, x, y: g * _DEG, "out", "Degrees to radians: x * pi / 180.",
                 numpy=np.deg2rad)
rad2deg = _unary("rad2deg", _floating(lambda x: x * x.dtype.type(1 / _DEG)),
                 lambda g, x, y: g * (1 / _DEG), "out", "Radians to degrees: x * 180 / pi.",
                 numpy=np.rad2deg)
exp2    = _unary("exp2", _floating(np.exp2), lambda g, x, y: g * y * _LN2, "out",
                 "2**x; d/dx = 2**x ln 2.", numpy=np.exp2, holomorphic=True, special=True)
frac    = _unary("frac", lambda x: x - np.trunc(x), lambda g, x, y: g, "out",
                 "The fractional part x - trunc(x), sign kept; its gradient is 1.")
sinc    = _unary("sinc", _floating(_sinc), lambda g, x, y: _sinc_grad(g, x), "x",
                 "The normalised sinc sin(pi x) / (pi x), 1 at 0.", special=True)
sgn     = _unary("sgn", _sgn_forward, _sgn_grad, "x,out",
                 "sign(x) for real x, x / |x| for complex x (0 at 0).")
# fmt: on


# ---- nan_to_num, logit, clamp_min/max -----------------------------------------------------------


class NanToNum(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, nan: Any, posinf: Any, neginf: Any) -> Any:
        ctx.save_for_backward(x)
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors  # the gradient passes where the value was kept
        return np.where(np.isfinite(x), g, 0), None, None, None


@op(inplace=True, numpy=np.nan_to_num)
def nan_to_num(
    input: Any, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    """NaN to ``nan``, +inf/-inf to ``posinf``/``neginf`` (the dtype's extremes by default)."""
    x = as_tensor(input)
    if x._data.dtype.kind not in "fc":
        return Tensor._make(x._data.copy())
    return NanToNum.apply(x, nan, posinf, neginf)


class Logit(Node):
    __slots__ = ("eps",)

    @staticmethod
    def forward(ctx: Any, x: Any, eps: Any) -> Any:
        ctx.eps = eps
        ctx.save_for_backward(x)
        z = x if eps is None else np.clip(x, eps, 1 - eps)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(z / (1 - z))

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        eps = ctx.eps
        with np.errstate(divide="ignore", invalid="ignore"):
            d = g / (x * (1 - x))
            if eps is None:  # PyTorch: NaN outside [0, 1]
                return np.where((x < 0) | (x > 1), np.nan, d), None
            return np.where((x < eps) | (x > 1 - eps), 0, d), None  # clamped: no gradient


@op(inplace=True, namespaces=(TORCH, SPECIAL))
def logit(input: Any, eps: float | None = None) -> Tensor:
    """log(x / (1 - x)); with ``eps``, x is first clamped to [eps, 1 - eps] (no gradient there)."""
    x = to_default_float(as_tensor(input))
    return Logit.apply(x, None if eps is None else float(eps))


class ClampMin(Node):
    __slots__ = ()
    broadcasts = True
    variant = 1

    @staticmethod
    def forward(ctx: Any, x: Any, lo: Any) -> Any:
        ctx.save_for_backward(x, lo)
        return np.maximum(x, lo)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, lo = ctx.saved_tensors
        keep = x >= lo
        return np.where(keep, g, 0), np.where(keep, 0, g)


class ClampMinScalar(Node):
    __slots__ = ("c",)
    op_name = "ClampMin"

    @staticmethod
    def forward(ctx: Any, x: Any, lo: Any) -> Any:
        ctx.save_for_backward(x)
        ctx.c = lo
        return np.maximum(x, lo).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return np.where(x >= ctx.c, g, 0), None


class ClampMax(Node):
    __slots__ = ()
    broadcasts = True
    variant = 1

    @staticmethod
    def forward(ctx: Any, x: Any, hi: Any) -> Any:
        ctx.save_for_backward(x, hi)
        return np.minimum(x, hi)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, hi = ctx.saved_tensors
        keep = x <= hi
        return np.where(keep, g, 0), np.where(keep, 0, g)


class ClampMaxScalar(Node):
    __slots__ = ("c",)
    op_name = "ClampMax"

    @staticmethod
    def forward(ctx: Any, x: Any, hi: Any) -> Any:
        ctx.save_for_backward(x)
        ctx.c = hi
        return np.minimum(x, hi).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return np.where(x <= ctx.c, g, 0), None


def _clamp_one(op: str, tensors: Any, scalar: Any, input: Any, bound: Any) -> Tensor:
    """clamp_min / clamp_max: a number bound records the Scalar node, a tensor bound the other."""
    x = as_tensor(input, op)
    if isinstance(bound, Tensor):
        a, b = binary_operands(op, x, bound)
        return tensors.apply(a, b)
    if isinstance(bound, (bool, int, float, np.number)):
        if x._data.dtype.kind in "iub" and isinstance(bound, float):
            x = to_default_float(x)
        return scalar.apply(x, bound.item() if isinstance(bound, np.number) else bound)
    raise TypeError(f"{op}(): the bound must be a number or a tensor, got {type(bound).__name__}")


@op(inplace=True)
def clamp_min(input: Any, min: Any) -> Tensor:
    """max(input, min): the gradient passes where input >= min, to ``min`` elsewhere."""
    return _clamp_one("clamp_min", ClampMin, ClampMinScalar, input, min)


@op(inplace=True)
def clamp_max(input: Any, max: Any) -> Tensor:
    """min(input, max): the gradient passes where input <= max, to ``max`` elsewhere."""
    return _clamp_one("clamp_max", ClampMax, ClampMaxScalar, input, max)


# ---- float binary ops ---------------------------------------------------------------------------


def _float_operands(op: str, input: Any, other: Any) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of PyTorch's result dtype, ints promoted to the default float
    (``atan2(int, int)`` is float32, as in PyTorch)."""
    a, b = binary_operands(op, input, other)
    a, b = as_tensor(a, op), as_tensor(b, op)
    if a._data.dtype.kind in "iub" and b._data.dtype.kind in "iub":
        return to_default_float(a), to_default_float(b)
    if a._data.dtype != b._data.dtype:
        return binary_operands(op, a, b)  # type: ignore[return-value]
    return a, b


class Atan2(Node):  # atan2(y, x): the angle of the point (x, y)
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, y: Any, x: Any) -> Any:
        ctx.save_for_backward(y, x)
        return np.arctan2(y, x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        y, x = ctx.saved_tensors
        r2 = y * y + x * x
        live = r2 != 0  # 0 at (0, 0), as in PyTorch
        recip = np.where(live, 1 / np.where(live, r2, 1), 0)
        return g * x * recip, -g * y * recip


@op(inplace=True, numpy=np.arctan2, aliases=("arctan2",))
def atan2(input: Any, other: Any) -> Tensor:
    """The angle of (other, input) in (-pi, pi]: atan(input / other) in the right quadrant."""
    return Atan2.apply(*_float_operands("atan2", input, other))


class Hypot(Node):
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        out = np.hypot(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y, out = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):  # NaN at (0, 0), as in PyTorch
            return g * x / out, g * y / out


@op(inplace=True, numpy=np.hypot)
def hypot(input: Any, other: Any) -> Tensor:
    """sqrt(input**2 + other**2) without overflow."""
    return Hypot.apply(*_float_operands("hypot", input, other))


class Logaddexp2(Node):  # log2(2**x + 2**y), without overflow
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        out = np.logaddexp2(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y, out = ctx.saved_tensors  # d/dx = 2**x / (2**x + 2**y) = 2**(x - out)
        return g * np.exp2(x - out), g * np.exp2(y - out)


@op(numpy=np.logaddexp2)
def logaddexp2(input: Any, other: Any) -> Tensor:
    """log2(2**input + 2**other), stable for large inputs."""
    return Logaddexp2.apply(*_float_operands("logaddexp2", input, other))


class Fmod(Node):  # C's fmod: x - trunc(x / y) * y, the sign of x
    __slots__ = ()
    broadcasts = True
    variant = 1

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.fmod(x, y)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        return g, -g * np.trunc(x / y)


class FmodScalar(Node):
    __slots__ = ()
    op_name = "Fmod"

    @staticmethod
    def forward(ctx: Any, x: Any, c: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.fmod(x, c)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g, None


def _tensor_first(op: str, input: Any) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, not {type(input).__name__}")


def _int_divisor_check(op: str, a: Any, b: Any) -> None:
    if a._data.dtype.kind in "iub":
        d = b._data if isinstance(b, Tensor) else np.asarray(b)
        if d.dtype.kind in "iub" and np.any(d == 0):
            raise RuntimeError(f"{op}(): ZeroDivisionError (integer division by zero)")


@op(inplace=True, numpy=np.fmod)
def fmod(input: Any, other: Any) -> Tensor:
    """C-style remainder x - trunc(x / y) * y (the sign of x): gradient 1 for x,
    -trunc(x / y) for y."""
    _tensor_first("fmod", input)
    a, b = binary_operands("fmod", input, other)
    _int_divisor_check("fmod", a, b)
    if type(b) in _NUMBER:
        return FmodScalar.apply(a, b)
    return Fmod.apply(a, b)


class Copysign(Node):
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        out = np.copysign(x, y)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, out = ctx.saved_tensors  # +-1 where the sign flipped or not; 0 at x == 0 (PyTorch)
        return g * _copysign_ratio(x, out), g * 0  # ``other``: zeros, as in PyTorch


class CopysignScalar(Copysign):
    __slots__ = ()
    op_name = "Copysign"
    variant = 1

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, out = ctx.saved_tensors
        return g * _copysign_ratio(x, out), None


def _copysign_ratio(x: Any, out: Any) -> Any:
    zero = x == 0
    return np.where(zero, 0, out / np.where(zero, 1, x))


@op(inplace=True, numpy=np.copysign)
def copysign(input: Any, other: Any) -> Tensor:
    """|input| with the sign of ``other``; no gradient flows to ``other``."""
    _tensor_first("copysign", input)
    if type(other) in _NUMBER:
        return CopysignScalar.apply(to_default_float(input), float(other))
    return Copysign.apply(*_float_operands("copysign", input, other))


class Xlogy(Node):  # x * log(y), 0 where x == 0
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return _xlogy_np(x, y, np.log)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        return _xlog_grads(g, x, y, np.log, y)


class XlogyScalarSelf(Node):  # c * log(y): the number first (PyTorch's XlogyBackward1)
    __slots__ = ("c",)
    op_name = "Xlogy"
    variant = 1

    @staticmethod
    def forward(ctx: Any, y: Any, c: Any) -> Any:
        ctx.c = c
        ctx.save_for_backward(y)
        return _xlogy_np(np.asarray(c, y.dtype), y, np.log)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return g * ctx.c / y, None


class XlogyScalarOther(Node):  # x * log(c) (PyTorch's XlogyBackward2)
    __slots__ = ("c",)
    op_name = "Xlogy"
    variant = 2

    @staticmethod
    def forward(ctx: Any, x: Any, c: Any) -> Any:
        ctx.c = c
        ctx.save_for_backward(x)
        return _xlogy_np(x, np.asarray(c, x.dtype), np.log)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return g * np.log(np.asarray(ctx.c, x.dtype)), None


def _xlogy_np(x: Any, y: Any, log: Any) -> Any:
    """x * log(y) with 0 where x == 0 (NaN stays NaN), PyTorch's xlogy/xlog1py forward."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x * log(y)
        return np.where((x == 0) & ~np.isnan(y), 0, out).astype(out.dtype, copy=False)


def _xlog_grads(g: Any, x: Any, y: Any, log: Any, denom: Any) -> tuple[Any, Any]:
    """d/dx = log(y), 0 where x == 0 and log(y) is undefined (PyTorch's masked rule);
    d/dy = x / denom (y, or 1 + y for xlog1py)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        undefined = (x == 0) & (denom <= 0)
        return np.where(undefined, 0, g * log(y)), g * x / denom


def _xlog(op: str, nodes: tuple[Any, Any, Any], input: Any, other: Any) -> Tensor:
    """Record the tensor-tensor node, or a number-first / number-second one."""
    tensors, number_self, number_other = nodes
    if type(input) in _NUMBER and isinstance(other, Tensor):
        return number_self.apply(to_default_float(other), float(input))
    if type(other) in _NUMBER and isinstance(input, Tensor):
        return number_other.apply(to_default_float(input), float(other))
    return tensors.apply(*_float_operands(op, input, other))


@op(inplace=True, namespaces=(TORCH, SPECIAL))
def xlogy(input: Any, other: Any) -> Tensor:
    """input * log(other), 0 where input == 0 (entropy terms without 0 * log 0 = NaN)."""
    return _xlog("xlogy", (Xlogy, XlogyScalarSelf, XlogyScalarOther), input, other)


class SpecialXlog1py(Node):  # x * log1p(y), 0 where x == 0
    __slots__ = ()
    broadcasts = True
    op_name = "SpecialXlog1Py"

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return _xlogy_np(x, y, np.log1p)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        return _xlog_grads(g, x, y, np.log1p, 1 + y)


class SpecialXlog1pyScalarSelf(Node):
    __slots__ = ("c",)
    op_name = "SpecialXlog1Py"
    variant = 1

    @staticmethod
    def forward(ctx: Any, y: Any, c: Any) -> Any:
        ctx.c = c
        ctx.save_for_backward(y)
        return _xlogy_np(np.asarray(c, y.dtype), y, np.log1p)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return g * ctx.c / (1 + y), None


class SpecialXlog1pyScalarOther(Node):
    __slots__ = ("c",)
    op_name = "SpecialXlog1Py"
    variant = 2

    @staticmethod
    def forward(ctx: Any, x: Any, c: Any) -> Any:
        ctx.c = c
        ctx.save_for_backward(x)
        return _xlogy_np(x, np.asarray(c, x.dtype), np.log1p)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return g * np.log1p(np.asarray(ctx.c, x.dtype)), None


@op(method=False, namespaces=(SPECIAL,))
def special_xlog1py(input: Any, other: Any) -> Tensor:
    """input * log1p(other), 0 where input == 0."""
    nodes = (SpecialXlog1py, SpecialXlog1pyScalarSelf, SpecialXlog1pyScalarOther)
    return _xlog("special.xlog1py", nodes, input, other)


# ---- float_power, ldexp, lerp, addcmul, addcdiv -------------------------------------------------


def _double(v: Any) -> Any:
    """``v`` in float64 (complex128 for complex): float_power computes in double precision."""
    from glassgrad.ops.shape import to

    if isinstance(v, Tensor):
        return to(v, np.complex128 if v._data.dtype.kind == "c" else np.float64)
    if isinstance(v, (np.ndarray, list, tuple)):
        return _double(as_tensor(np.asarray(v), "float_power"))
    return v


@op(inplace=True)
def float_power(input: Any, exponent: Any) -> Tensor:
    """input ** exponent in double precision (a float64 or complex128 result), as in PyTorch."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power(): expected a Tensor as input or exponent")
    a, b = _double(input), _double(exponent)
    if type(b) in (int, bool):
        b = float(b)
    if type(a) in (int, bool):
        a = float(a)
    return pow(a, b)


@fast_inplace("float_power_")
def float_power_(self: Tensor, exponent: Any) -> Tensor:
    """In-place ``float_power``: only a double tensor can hold its result (PyTorch's rule)."""
    from glassgrad.ops.inplace import apply_inplace

    want = np.complex128 if self._data.dtype.kind == "c" else np.float64
    if self._data.dtype != want:
        raise RuntimeError(
            f"float_power_(): the base given to float_power_ has dtype {self.dtype} but the "
            f"operation's result requires dtype {np.dtype(want)}"
        )
    return apply_inplace(self, "float_power_", float_power, exponent)


class Ldexp(Node):  # x * 2**e
    __slots__ = ()
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, e: Any) -> Any:
        scale = np.exp2(e.astype(x.dtype) if e.dtype.kind in "iub" else e)
        ctx.save_for_backward(x, e, scale)
        return x * scale

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, e, scale = ctx.saved_tensors
        ge = g * x * scale * _LN2 if e.dtype.kind == "f" else None
        return g * scale, ge


@op(inplace=True, numpy=np.ldexp)
def ldexp(input: Any, other: Any) -> Tensor:
    """input * 2**other (other typically an integer tensor of exponents)."""
    _tensor_first("ldexp", input)
    x = to_default_float(input)
    e = other if isinstance(other, Tensor) else as_tensor(np.asarray(other), "ldexp")
    if e._data.dtype.kind in "fc" and e._data.dtype != x._data.dtype:
        x, e = binary_operands("ldexp", x, e)
    return Ldexp.apply(x, e)


def _lerp_np(start: Any, end: Any, w: Any) -> Any:
    """PyTorch's lerp: start + w (end - start) for w < 1/2, end - (end - start)(1 - w) above,
    so that lerp(a, b, 1) is exactly b."""
    diff = end - start
    return np.where(np.abs(w) < 0.5, start + w * diff, end - diff * (1 - w))


class Lerp(Node):  # a number weight
    __slots__ = ("w",)

    @staticmethod
    def forward(ctx: Any, start: Any, end: Any, w: float) -> Any:
        ctx.w = w
        return _lerp_np(start, end, w).astype(np.result_type(start, end), copy=False)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        w = ctx.w
        return g * (1 - w), g * w, None


class LerpTensor(Node):  # a tensor weight: PyTorch's LerpBackward1
    __slots__ = ()
    broadcasts = True
    op_name = "Lerp"
    variant = 1

    @staticmethod
    def forward(ctx: Any, start: Any, end: Any, w: Any) -> Any:
        ctx.save_for_backward(start, end, w)
        return _lerp_np(start, end, w)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        start, end, w = ctx.saved_tensors
        return g * (1 - w), g * w, g * (end - start)


def _same_float_dtype(op: str, *tensors: Tensor) -> None:
    """PyTorch's lerp/addcdiv refuse mixed dtypes; name them all."""
    kinds = {t._data.dtype for t in tensors}
    if len(kinds) > 1:
        listed = ", ".join(f"{t.dtype} {tuple(t.shape)}" for t in tensors)
        raise RuntimeError(f"{op}(): expected all tensors to have the same dtype, got {listed}")


@op(inplace=True)
def lerp(input: Any, end: Any, weight: Any) -> Tensor:
    """input + weight * (end - input); ``weight`` a number or a tensor (both differentiable)."""
    _tensor_first("lerp", input)
    e = end if isinstance(end, Tensor) else as_tensor(np.asarray(end, input._data.dtype), "lerp")
    if isinstance(weight, Tensor):
        _same_float_dtype("lerp", input, e, weight)
        return LerpTensor.apply(input, e, weight)
    _same_float_dtype("lerp", input, e)
    if type(weight) not in _NUMBER and not isinstance(weight, np.number):
        raise TypeError(f"lerp(): weight must be a number or a Tensor, not {type(weight).__name__}")
    if input._data.dtype.kind not in "fc":
        raise RuntimeError(f"lerp(): expected a floating-point input, got {input.dtype}")
    return Lerp.apply(input, e, float(weight))


class Addcmul(Node):  # x + v * t1 * t2
    __slots__ = ("v",)
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, t1: Any, t2: Any, v: Any) -> Any:
        ctx.v = v
        ctx.save_for_backward(t1, t2)
        return x + v * (t1 * t2)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        t1, t2 = ctx.saved_tensors
        n = ctx.next
        v = ctx.v
        return (
            g,
            g * v * _conj(t2) if n[1] is not None else None,
            g * v * _conj(t1) if n[2] is not None else None,
            None,
        )


class Addcdiv(Node):  # x + v * t1 / t2
    __slots__ = ("v",)
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, t1: Any, t2: Any, v: Any) -> Any:
        ctx.v = v
        ctx.save_for_backward(t1, t2)
        return x + v * (t1 / t2)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        t1, t2 = ctx.saved_tensors
        n = ctx.next
        v = ctx.v
        return (
            g,
            g * v / _conj(t2) if n[1] is not None else None,
            -g * v * _conj(t1 / (t2 * t2)) if n[2] is not None else None,
            None,
        )


def _addc(op: str, cls: Any, input: Any, tensor1: Any, tensor2: Any, value: Any) -> Tensor:
    ts = [as_tensor(t, op) for t in (input, tensor1, tensor2)]
    target = ts[0]
    for t in ts[1:]:
        target = binary_operands(op, target, t)[0]
    dtype = target._data.dtype
    if op == "addcdiv" and dtype.kind in "iub":
        raise RuntimeError(
            "addcdiv(): integer division with addcdiv is no longer supported; use "
            "input + value * tensor1 / tensor2 with a float tensor (got dtype "
            f"{target.dtype})"
        )
    from glassgrad.ops.shape import to

    ts = [t if t._data.dtype == dtype else to(t, dtype) for t in ts]
    if isinstance(value, np.generic):  # a Python number as PyTorch takes it: np.float64 is weak
        value = value.item()
    return cls.apply(*ts, value)


@op(inplace=True)
def addcmul(input: Any, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    """input + value * tensor1 * tensor2, broadcasting."""
    return _addc("addcmul", Addcmul, input, tensor1, tensor2, value)


@op(inplace=True)
def addcdiv(input: Any, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    """input + value * tensor1 / tensor2, broadcasting (the Adam update's shape)."""
    return _addc("addcdiv", Addcdiv, input, tensor1, tensor2, value)


def _inplace_variant(decl_fn: Any, variant: int) -> None:
    """``t.<op>_()`` recording PyTorch's node of another overload (``acosh_`` records
    ``AcoshBackward1``), which has no derivative in PyTorch: backward raises as PyTorch's does."""
    base = decl_fn.Function
    name = decl_fn.__name__ + "_"

    def backward(ctx: Any, g: Any) -> Any:
        raise NotImplementedError(
            f"the derivative for 'inplace version of {decl_fn.__name__}' is not implemented."
        )

    attrs = {"__slots__": (), "variant": variant, "backward": staticmethod(backward)}
    node: Any = type(base.__name__, (base,), attrs)

    def inplace(self: Tensor) -> Tensor:
        from glassgrad.ops.inplace import apply_inplace

        return apply_inplace(self, name, node.apply)

    inplace.__name__ = inplace.__qualname__ = name
    inplace.__doc__ = (
        f"In-place ``{decl_fn.__name__}`` (PyTorch's {base.__name__}Backward{variant})."
    )
    fast_inplace(name)(inplace)


for _f in (asinh, acosh, atanh):
    _inplace_variant(_f, 1)
