"""Activation functions with PyTorch's names, defaults and gradients (``F.gelu``, ``F.softmax``...).

Each op is one node that saves the input (or only the output, or only a bool mask) and
recomputes what its rule needs, so the same rule also runs on Tensors under ``create_graph``.
``relu``, ``sigmoid`` and ``tanh`` live in ``glassgrad.ops.elementwise`` and are re-exported.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.ops._common import (
    Node,
    Tensor,
    _scalar,
    as_tensor,
    check_dim,
    floating_input,
)
from glassgrad.ops._erf import erf as _np_erf
from glassgrad.ops.elementwise import Mul, sigmoid
from glassgrad.ops.inplace import apply_inplace
from glassgrad.ops.registry import FUNCTIONAL, SPECIAL, TORCH, functional


def _floating(op: str, input: Any) -> Tensor:
    """Activations refuse integer tensors with PyTorch's NotImplementedError."""
    return floating_input(op, input, NotImplementedError)


def _sigmoid(x: Any) -> Any:
    """1 / (1 + e**-x) in tanh form (no overflow); arrays or Tensors alike."""
    return 0.5 * np.tanh(0.5 * x) + 0.5


def _erf(x: Any) -> Any:
    """erf on arrays (fast rational approximation) or Tensors (the differentiable op)."""
    if isinstance(x, Tensor):
        from glassgrad.ops.elementwise import erf

        return erf(x)
    return _np_erf(x)


# ---- piecewise-linear units ---------------------------------------------------------------------


class LeakyRelu(Node):
    __slots__ = ("slope",)

    @staticmethod
    def forward(ctx: Any, x: Any, slope: float) -> Any:
        ctx.slope = slope
        pos = x > 0
        ctx.save_for_backward(pos)
        return np.where(pos, x, x * slope)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (pos,) = ctx.saved_tensors
        return np.where(pos, g, g * ctx.slope), None


@functional
def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x: a small gradient keeps negative units alive."""
    if inplace:
        return apply_inplace(
            input,
            "leaky_relu_",
            lambda t: _InplaceLeakyRelu.apply(_floating("leaky_relu_", t), float(negative_slope)),
        )
    return LeakyRelu.apply(_floating("leaky_relu", input), float(negative_slope))


class Hardtanh(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, lo: Any, hi: Any) -> Any:
        ctx.save_for_backward((x > lo) & (x < hi))
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (inside,) = ctx.saved_tensors  # zero at both ends, as PyTorch's hardtanh_backward
        return np.where(inside, g, 0), None, None


@functional
def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """Clamp to [min_val, max_val]; the gradient passes strictly inside the interval."""
    if min_val > max_val:
        raise ValueError(
            f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})"
        )
    if inplace:
        return apply_inplace(input, "hardtanh_", hardtanh, min_val, max_val)
    x = as_tensor(input)
    if x._data.dtype.kind == "f":
        min_val, max_val = float(min_val), float(max_val)
    elif x._data.dtype.kind in "iu":  # an integer tensor stays integer, as PyTorch's (relu6)
        min_val, max_val = int(min_val), int(max_val)
    return Hardtanh.apply(x, min_val, max_val)


@functional
def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6): ``hardtanh(x, 0, 6)``, as in PyTorch."""
    return hardtanh(input, 0.0, 6.0, inplace)


@functional
def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: a piecewise-linear sigmoid (gradient 1/6 strictly inside (-3, 3))."""
    if inplace:
        return apply_inplace(input, "hardsigmoid_", hardsigmoid)
    x = _floating("hardsigmoid", input)
    return _Hardsigmoid.apply(x * (1 / 6) + 0.5, 0.0, 1.0)


class _Hardsigmoid(Hardtanh):
    """hardsigmoid's last step, a clip to [0, 1]: PyTorch's ``HardsigmoidBackward0``."""

    __slots__ = ()
    op_name = "Hardsigmoid"


class Hardswish(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x * np.clip(x + 3, 0, 6) * (1 / 6)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors  # PyTorch's branches: 0 below -3, x/3 + 1/2 up to 3, then 1
        return np.where(x < -3, 0, np.where(x <= 3, g * (x * (1 / 3) + 0.5), g))


@functional
def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6 (MobileNetV3's cheap swish)."""
    if inplace:
        return apply_inplace(input, "hardswish_", hardswish)
    return Hardswish.apply(_floating("hardswish", input))


class Threshold(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, th: Any, value: Any) -> Any:
        keep = x > th
        ctx.save_for_backward(keep)
        return np.where(keep, x, value)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (keep,) = ctx.saved_tensors
        return np.where(keep, g, 0), None, None


@functional(namespaces=(TORCH, FUNCTIONAL))
def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else ``value`` (which gets no gradient)."""
    threshold, value = _scalar(threshold), _scalar(value)  # NumPy scalars: weak, as Python's
    if inplace:
        return apply_inplace(
            input,
            "threshold_",
            lambda t: _InplaceThreshold.apply(_floating("threshold_", t), threshold, value),
        )
    return Threshold.apply(_floating("threshold", input), threshold, value)


# ---- exponential units --------------------------------------------------------------------------


class Elu(Node):
    # elu, selu and celu in one rule, as PyTorch's elu(x, alpha, scale, input_scale)
    __slots__ = ("alpha", "input_scale", "scale")

    @staticmethod
    def forward(ctx: Any, x: Any, alpha: float, scale: float, input_scale: float) -> Any:
        ctx.alpha, ctx.scale, ctx.input_scale = alpha, scale, input_scale
        pos = x > 0
        neg = np.expm1(np.minimum(x, 0) * input_scale) * (alpha * scale)
        out = np.where(pos, x * scale, neg)
        ctx.save_for_backward(pos, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        pos, out = ctx.saved_tensors  # below 0: d/dx = input_scale * (out + alpha * scale)
        neg = g * ((out + ctx.alpha * ctx.scale) * ctx.input_scale)
        return np.where(pos, g * ctx.scale, neg), None, None, None


@functional
def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) below: smooth, with negative outputs."""
    if inplace:
        return apply_inplace(
            input, "elu_", lambda t: _InplaceElu.apply(_floating("elu_", t), float(alpha), 1.0, 1.0)
        )
    return Elu.apply(_floating("elu", input), float(alpha), 1.0, 1.0)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@functional(namespaces=(TORCH, FUNCTIONAL))
def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al."""
    if inplace:
        return apply_inplace(
            input,
            "selu_",
            lambda t: _InplaceElu.apply(_floating("selu_", t), _SELU_ALPHA, _SELU_SCALE, 1.0),
        )
    return Elu.apply(_floating("selu", input), _SELU_ALPHA, _SELU_SCALE, 1.0)


@functional(namespaces=(TORCH, FUNCTIONAL))
def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)): elu made continuously differentiable."""
    alpha = _scalar(alpha)  # (1.0 / np.float64 would make a float32 result float64)
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError: alpha cannot be 0 for CELU")
    if inplace:
        return apply_inplace(
            input,
            "celu_",
            lambda t: _InplaceCelu.apply(_floating("celu_", t), float(alpha), 1.0, 1.0 / alpha),
        )
    return _Celu.apply(_floating("celu", input), float(alpha), 1.0, 1.0 / alpha)


class _Celu(Elu):
    __slots__ = ()
    op_name = "Celu"


_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_K = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


class Gelu(Node):
    __slots__ = ("tanh",)

    @staticmethod
    def forward(ctx: Any, x: Any, tanh: bool) -> Any:
        ctx.tanh = tanh
        ctx.save_for_backward(x)
        if tanh:
            return 0.5 * x * (1 + np.tanh(_GELU_K * (x + _GELU_C * x * x * x)))
        return x * (0.5 + 0.5 * _np_erf(x * _SQRT1_2))

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        if ctx.tanh:
            x2 = x * x
            t = np.tanh(_GELU_K * (x + _GELU_C * x2 * x))
            d = 0.5 * (1 + t) + (0.5 * _GELU_K) * x * (1 - t * t) * (1 + 3 * _GELU_C * x2)
        else:  # Phi(x) + x phi(x)
            d = (0.5 + 0.5 * _erf(x * _SQRT1_2)) + x * np.exp(-0.5 * x * x) * _INV_SQRT_2PI
        return g * d, None


@functional
def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF (exact via erf, or the tanh approximation).

    >>> import glassgrad as gg
    >>> import glassgrad.nn.functional as F
    >>> F.gelu(gg.tensor([-1.0, 0.0, 1.0]))
    tensor([-0.1587,  0.0000,  0.8413])
    """
    if approximate not in ("none", "tanh"):
        raise RuntimeError(
            f"gelu: approximate argument must be either none or tanh, got {approximate!r}"
        )
    return Gelu.apply(_floating("gelu", input), approximate == "tanh")


class Silu(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x * _sigmoid(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        s = _sigmoid(x)
        return g * (s * (1 + x * (1 - s)))


@functional
def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (swish)."""
    if inplace:
        return apply_inplace(input, "silu_", silu)
    return Silu.apply(_floating("silu", input))


def _softplus1(x: Any) -> Any:
    """log(1 + e**x) without overflow: max(x, 0) + log1p(e**-|x|)."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


class Mish(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x * np.tanh(_softplus1(x))

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        t = np.tanh(_softplus1(x))
        return g * (t + x * (1 - t * t) * _sigmoid(x))


@functional
def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    if inplace:
        return apply_inplace(input, "mish_", mish)
    return Mish.apply(_floating("mish", input))


class Softplus(Node):
    __slots__ = ("beta", "threshold")

    @staticmethod
    def forward(ctx: Any, x: Any, beta: float, threshold: float) -> Any:
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(x)
        z = x * beta
        return np.where(z > threshold, x, np.logaddexp(0, z) * (1 / beta))

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        z = x * ctx.beta  # above the threshold the op is the identity
        return np.where(z > ctx.threshold, g, g * _sigmoid(z)), None, None


@functional
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (for stability)."""
    return Softplus.apply(_floating("softplus", input), float(beta), float(threshold))


class Logsigmoid(Node):
    __slots__ = ()
    op_name = "LogSigmoid"

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * (0.5 - 0.5 * np.tanh(0.5 * x))  # sigmoid(-x)


@functional
def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), computed without overflow for large |x|."""
    return Logsigmoid.apply(_floating("logsigmoid", input))


class Softsign(Node):
    __slots__ = ()
    op_name = "Div"  # PyTorch computes softsign as x / (1 + |x|)

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x / (1 + np.abs(x))

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        d = 1 + np.abs(x)
        return g / (d * d)


@functional
def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return Softsign.apply(_floating("softsign", input))


@functional
def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    x = _floating("tanhshrink", input)
    return x - np.tanh(x)


# ---- softmax family -----------------------------------------------------------------------------


def _shifted(x: np.ndarray, axis: int) -> np.ndarray:
    """x - max(x) along ``axis``, so exp can't overflow (forward only: plain arrays)."""
    m = x.max(axis=axis, keepdims=True)
    total = m.sum()
    if -np.inf < total < np.inf:  # every max finite (comparisons: no float() of the value)
        return x - m
    with np.errstate(invalid="ignore"):  # an all -inf (or +inf) row gives NaN, as in PyTorch
        return x - m


class Softmax(Node):
    # NOTE: fused: one node that saves only its output, shifted by the max so exp can't overflow.
    __slots__ = ("axis",)

    @staticmethod
    def forward(ctx: Any, x: Any, axis: Any) -> Any:
        ctx.axis = axis
        if x.ndim == 0:  # exp(x - x) / itself: 1, but NaN for NaN and inf (as in PyTorch)
            out = np.asarray(x - x + 1, dtype=x.dtype)
        elif x.size == 0:
            out = np.empty_like(x)
        else:
            out = _shifted(x, axis)
            np.exp(out, out=out)
            out /= out.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        return y * (g - np.sum(g * y, axis=ctx.axis, keepdims=True)), None


class LogSoftmax(Node):
    # NOTE: fused and stable: x - max - log(sum(exp(x - max))), one node saving only its output.
    __slots__ = ("axis",)

    @staticmethod
    def forward(ctx: Any, x: Any, axis: Any) -> Any:
        ctx.axis = axis
        if x.ndim == 0:  # x - x: 0, but NaN for NaN and inf (as in PyTorch)
            out = np.asarray(x - x, dtype=x.dtype)
        elif x.size == 0:
            out = np.empty_like(x)
        else:
            out = _shifted(x, axis)
            out -= np.log(np.exp(out).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        return g - np.exp(y) * np.sum(g, axis=ctx.axis, keepdims=True), None


def _softmax_args(op: str, input: Any, dim: Any, stacklevel: int, dtype: Any) -> tuple:
    x = as_tensor(input)
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind != "f":
        raise NotImplementedError(
            f"{op}: expected a floating-point tensor, got dtype {dtypes.name(x._data.dtype)} "
            "(pass dtype=glassgrad.float32 to convert)"
        )
    if dim is None:
        warnings.warn(
            f"Implicit dimension choice for {op} has been deprecated. Change the call to include "
            "dim=X as an argument.",
            UserWarning,
            stacklevel=stacklevel + 1,  # PyTorch's count from its F.<op>; here one frame deeper
        )
        dim = 0 if x.ndim in (0, 1, 3) else 1
    nd = x._data.ndim
    return x, (check_dim(op, dim, nd) if nd else None)


@functional(
    namespaces=(TORCH, FUNCTIONAL, SPECIAL),
    method=lambda self, dim, dtype=None: softmax(self, dim, dtype=dtype),
)
def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None):
    """exp(x) / sum(exp(x)) along ``dim``: a probability distribution over that dimension.

    >>> import glassgrad as gg
    >>> import glassgrad.nn.functional as F
    >>> F.softmax(gg.tensor([0.0, 0.0]), dim=0)
    tensor([0.5000, 0.5000])
    """
    x, axis = _softmax_args("softmax", input, dim, _stacklevel, dtype)
    return Softmax.apply(x, axis)


@functional(
    namespaces=(TORCH, FUNCTIONAL, SPECIAL),
    method=lambda self, dim, dtype=None: log_softmax(self, dim, dtype=dtype),
)
def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None):
    """log(softmax(x)) along ``dim``, computed stably (what cross-entropy wants)."""
    x, axis = _softmax_args("log_softmax", input, dim, _stacklevel, dtype)
    return LogSoftmax.apply(x, axis)


@functional
def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None):
    """softmax(-x) along ``dim``."""
    x, axis = _softmax_args("softmin", input, dim, _stacklevel, dtype)
    return Softmax.apply(-x, axis)


@functional
def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), where a and b are the two halves of ``input`` along ``dim``."""
    x = _floating("glu", input)
    if x.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = check_dim("glu", dim, x.ndim)
    n = x.shape[d]
    if n % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {d} is size {n} "
            f"(glu on a tensor of shape {tuple(x.shape)})"
        )
    lead = (slice(None),) * d
    a, b = x[lead + (slice(0, n // 2),)], x[lead + (slice(n // 2, n),)]
    return _Glu.apply(a, sigmoid(b))


class _Glu(Mul):
    """glu's last step, the product a * sigmoid(b): PyTorch's ``GluBackward0``."""

    __slots__ = ()
    op_name = "Glu"


def _tensor_softmax(self: Tensor, dim: int, dtype: Any = None) -> Tensor:
    return softmax(self, dim, dtype=dtype)


def _tensor_log_softmax(self: Tensor, dim: int, dtype: Any = None) -> Tensor:
    return log_softmax(self, dim, dtype=dtype)


# ---- learnable, randomised and shrinking units --------------------------------------------------


class PreluKernel(Node):
    # weight arrives already shaped to broadcast over the input (C at dim 1, ones elsewhere)
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, w: Any) -> Any:
        ctx.save_for_backward(x, w)
        return np.where(x > 0, x, w * x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, w = ctx.saved_tensors
        pos = x > 0
        return np.where(pos, g, w * g), np.where(pos, 0 * g, x * g)


@functional(namespaces=(TORCH, FUNCTIONAL), method=True)
def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, else weight * x, with one learnt slope per channel (dim 1) or one shared."""
    x = _floating("prelu", input)
    w = as_tensor(weight)
    if w.ndim > 1:
        raise RuntimeError(f"prelu: weight must be 0-d or 1-d, got weight of shape {w.shape}")
    n = w.numel()
    if n != 1:
        channels = x.shape[1] if x.ndim >= 2 else 1
        if channels != n:
            raise RuntimeError(
                f"prelu: mismatch in parameter numbers, weight has {n} slopes but the input of "
                f"shape {tuple(x.shape)} has {channels} channels"
            )
        shape = [1] * x.ndim
        shape[1] = n
        w = w.reshape(shape)
    elif w.ndim == 1 and x.ndim == 0:
        w = w.reshape(())
    return PreluKernel.apply(x, w)


class RreluWithNoise(Node):
    # the slopes (1 where x > 0) are drawn beforehand: a fixed per-element scale
    __slots__ = ("noise",)

    @staticmethod
    def forward(ctx: Any, x: Any, noise: Any) -> Any:
        ctx.noise = noise
        return x * noise

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g * ctx.noise, None


@functional(namespaces=(TORCH, FUNCTIONAL))
def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Leaky ReLU whose negative slope is drawn from U(lower, upper) per element in training,
    and is (lower + upper) / 2 in evaluation."""
    if inplace:
        return apply_inplace(
            input, "rrelu_", lambda t: _rrelu(t, lower, upper, training, _InplaceRrelu)
        )
    return _rrelu(input, lower, upper, training, RreluWithNoise)


def _rrelu(input: Any, lower: float, upper: float, training: bool, node: Any) -> Tensor:
    x = _floating("rrelu", input)
    if lower > upper:
        raise RuntimeError(f"rrelu: lower bound ({lower}) must be <= upper bound ({upper})")
    neg = x._data <= 0
    if training:
        from glassgrad.creation import generator

        slopes = generator().uniform(lower, upper, size=x.shape).astype(x.dtype)
    else:
        slopes = np.asarray((lower + upper) / 2, x.dtype)
    noise = np.where(neg, slopes, np.ones((), x.dtype)).astype(x.dtype)
    return node.apply(x, noise)


class Hardshrink(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, lambd: float) -> Any:
        keep = (x > lambd) | (x < -lambd)
        ctx.save_for_backward(keep)
        return np.where(keep | np.isnan(x), x, np.zeros((), x.dtype))  # +0.0, NaN kept

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (keep,) = ctx.saved_tensors
        return np.where(keep, g, 0 * g), None


@functional(namespaces=(TORCH, FUNCTIONAL), method=True)
def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    return Hardshrink.apply(_floating("hardshrink", input), float(lambd))


class Softshrink(Node):
    __slots__ = ("lambd",)

    @staticmethod
    def forward(ctx: Any, x: Any, lambd: float) -> Any:
        ctx.lambd = lambd
        keep = (x > lambd) | (x < -lambd)
        ctx.save_for_backward(keep)
        return np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0 * x))

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (keep,) = ctx.saved_tensors
        return np.where(keep, g, 0 * g), None


@functional
def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 in between."""
    if lambd < 0:
        raise RuntimeError(
            f"softshrink: lambda must be greater or equal to 0, but found to be {lambd}."
        )
    return Softshrink.apply(_floating("softshrink", input), float(lambd))


class ChannelShuffle(Node):
    # a permutation of dim 1; its gradient is the inverse permutation (itself a shuffle)
    __slots__ = ("inverse",)

    @staticmethod
    def forward(ctx: Any, x: Any, perm: Any, inverse: Any) -> Any:
        ctx.inverse = (perm, inverse)
        return x[:, perm]

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        perm, inverse = ctx.inverse
        if isinstance(g, Tensor):
            return ChannelShuffle.apply(g, inverse, perm), None, None
        return g[:, inverse], None, None


@functional(namespaces=(TORCH, FUNCTIONAL))
def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Split the C channels into ``groups`` groups and interleave them (ShuffleNet)."""
    x = as_tensor(input)
    if x.ndim < 3:
        raise RuntimeError(
            f"channel_shuffle: expected input of at least 3 dims (N, C, *), got shape "
            f"{tuple(x.shape)}"
        )
    if groups <= 0:
        raise RuntimeError(f"channel_shuffle: number of groups must be positive, got {groups}")
    c = x.shape[1]
    if c % groups:
        raise RuntimeError(
            f"channel_shuffle: number of channels ({c}) must be divisible by groups ({groups})"
        )
    perm = np.arange(c).reshape(groups, c // groups).T.reshape(-1)
    return ChannelShuffle.apply(x, perm, np.argsort(perm))


# ---- in-place functional variants (F.relu_ & co.) -----------------------------------------------


@functional(namespaces=(TORCH, FUNCTIONAL))
def relu_(input: Tensor) -> Tensor:
    """In-place ``relu``."""
    from glassgrad.ops.elementwise import relu

    return apply_inplace(input, "relu_", relu)


@functional
def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``elu``."""
    return elu(input, alpha, inplace=True)


@functional
def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place ``leaky_relu``."""
    return leaky_relu(input, negative_slope, inplace=True)


@functional
def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place ``hardtanh``."""
    return hardtanh(input, min_val, max_val, inplace=True)


@functional(namespaces=(TORCH, FUNCTIONAL))
def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place ``threshold``."""
    return globals()["threshold"](input, threshold, value, inplace=True)


@functional(namespaces=(TORCH, FUNCTIONAL))
def selu_(input: Tensor) -> Tensor:
    """In-place ``selu``."""
    return selu(input, inplace=True)


@functional(namespaces=(TORCH, FUNCTIONAL))
def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``celu``."""
    return celu(input, alpha, inplace=True)


@functional(namespaces=(TORCH, FUNCTIONAL))
def rrelu_(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
) -> Tensor:
    """In-place ``rrelu``."""
    return rrelu(input, lower, upper, training, inplace=True)


@functional
def gumbel_softmax(
    logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> Tensor:
    """softmax((logits + g) / tau) with Gumbel(0, 1) noise g; ``hard``: the one-hot argmax in
    the forward pass with the soft sample's gradient (straight-through)."""
    from glassgrad.creation import generator

    x = _floating("gumbel_softmax", logits)
    noise = -np.log(generator().exponential(size=x.shape)).astype(x.dtype)
    y = softmax((x + noise) / tau, dim)
    if not hard:
        return y
    d = check_dim("gumbel_softmax", dim, max(x.ndim, 1)) if x.ndim else 0
    idx = np.expand_dims(np.argmax(y._data, axis=d), d) if x.ndim else None
    y_hard = np.zeros(x.shape, x.dtype)
    if idx is None:
        y_hard[...] = 1
    else:
        np.put_along_axis(y_hard, idx, 1, axis=d)
    return as_tensor(y_hard) - y.detach() + y


# PyTorch names the in-place variants' nodes ``...Backward1`` (``EluBackward1`` for ``elu_``)


class _InplaceLeakyRelu(LeakyRelu):
    __slots__ = ()
    op_name, variant = "LeakyRelu", 1


class _InplaceThreshold(Threshold):
    __slots__ = ()
    op_name, variant = "Threshold", 1


class _InplaceElu(Elu):
    __slots__ = ()
    op_name, variant = "Elu", 1


class _InplaceCelu(Elu):
    __slots__ = ()
    op_name, variant = "Celu", 1


class _InplaceRrelu(RreluWithNoise):
    __slots__ = ()
    op_name, variant = "RreluWithNoise", 1
