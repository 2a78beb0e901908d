"""Losses that are pointwise in (input, target): regression losses and binary cross-entropy.

Each is one node on d = input - target (or on the probabilities/logits), reduced with PyTorch's
'none' | 'mean' | 'sum'; the reduction helpers here are shared with ``loss.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from glassgrad.ops._common import Node, Tensor, as_tensor, binary_operands, floating_input
from glassgrad.ops.elementwise import MulScalar, sigmoid_array
from glassgrad.ops.registry import functional

REDUCTION_ENUM = ("none", "mean", "sum")  # torch.<loss>(..., reduction=1): PyTorch's int codes


def _reduction(op: str, size_average: Any, reduce: Any, reduction: str, extra: tuple = ()) -> str:
    """The reduction to use, honouring PyTorch's deprecated ``size_average``/``reduce`` flags."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
        warnings.warn(  # PyTorch's words, from its legacy reduction helper
            f"size_average and reduce args will be deprecated, please use "
            f"reduction='{reduction}' instead.",
            UserWarning,
            stacklevel=3,
        )
    if reduction not in ("none", "mean", "sum") + extra:
        allowed = ", ".join(repr(r) for r in ("none", "mean", "sum") + extra)
        raise ValueError(
            f"{op}: {reduction} is not a valid value for reduction (expected one of {allowed})"
        )
    return reduction


def _reduce_array(loss: np.ndarray, reduction: str) -> Any:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.sum(loss)
    if loss.size == 0:  # the mean of nothing is NaN, as in PyTorch (without NumPy's warning)
        return np.full((), np.nan, loss.dtype)
    return np.mean(loss)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _data(t: Any) -> Any:
    return t._data if isinstance(t, Tensor) else t


def _size_warning(x: Tensor, y: Any) -> None:
    if isinstance(y, Tensor) and x.shape != y.shape:
        warnings.warn(
            f"Using a target size ({tuple(y.shape)}) that is different to the input size "
            f"({tuple(x.shape)}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )


# ---- regression losses: one node each, on d = input - target -------------------------------------


def _pointwise_loss(
    name: str, loss: Callable[[Any, float], Any], slope: Callable[[Any, float], Any]
) -> type:
    """A Function for reduce(loss(input - target)); its rule is ``slope`` (dloss/dd)."""

    def forward(ctx: Any, x: Any, y: Any, reduction: str, param: float) -> Any:
        d = x - y
        ctx.reduction, ctx.param, ctx.n = reduction, param, d.size
        ctx.save_for_backward(x, y)
        return _reduce_array(loss(d, param), reduction)

    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        nx, ny = ctx.next[:2]
        if ctx.reduction == "mean":
            g = g * (1.0 / ctx.n if ctx.n else 0.0)
        gd = g * slope(x - y, ctx.param)
        return (gd if nx is not None else None), (-gd if ny is not None else None), None, None

    return type(
        name,
        (Node,),
        {
            "__slots__": ("n", "param", "reduction"),
            "forward": staticmethod(forward),
            "backward": staticmethod(backward),
        },
    )


def _huber(d: Any, delta: float) -> Any:
    ad = np.abs(d)
    return np.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))


def _smooth_l1(d: Any, beta: float) -> Any:
    ad = np.abs(d)
    return np.where(ad < beta, (0.5 / beta) * d * d, ad - 0.5 * beta)


class NanDiv(MulScalar):
    """x * NaN, standing for a division by an empty count (0 / 0): PyTorch's ``DivBackward0``.

    (A real division would warn about 0 / 0 in the forward and again in the backward.)
    """

    __slots__ = ()
    op_name = "Div"


MseLoss = _pointwise_loss("MseLoss", lambda d, p: d * d, lambda d, p: 2 * d)
L1Loss = _pointwise_loss("L1Loss", lambda d, p: np.abs(d), lambda d, p: np.sign(d))
HuberLoss = _pointwise_loss("HuberLoss", _huber, lambda d, delta: np.clip(d, -delta, delta))
SmoothL1Loss = _pointwise_loss(
    "SmoothL1Loss", _smooth_l1, lambda d, beta: np.clip(d * (1 / beta), -1, 1)
)


# l1_loss's node under the name of PyTorch's last step, per reduction (the rule is L1Loss's)
_L1_NODE: dict[str, Any] = {
    reduction: type(f"L1Loss{name}", (L1Loss,), {"__slots__": (), "op_name": name})
    for reduction, name in (("none", "Abs"), ("mean", "Mean"), ("sum", "Sum"))
}


def _pointwise(
    op: str, fn: Any, input: Any, target: Any, reduction: str, param: float, weight: Any = None
) -> Tensor:
    x, y = binary_operands(op, input, target)
    x = floating_input(op, x)
    _size_warning(x, y)
    if weight is None:
        if fn is L1Loss:  # PyTorch computes l1_loss as abs(input - target), then mean or sum
            return _L1_NODE[reduction].apply(x, y, reduction, param)
        return fn.apply(x, y, reduction, param)
    if tuple(np.shape(_data(weight))) != x.shape:
        raise ValueError(
            f"{op}: Weights and input must have the same size (weight shape "
            f"{tuple(np.shape(_data(weight)))}, input shape {tuple(x.shape)})"
        )
    loss = fn.apply(x, y, "none", param) * weight
    if reduction == "mean" and op != "huber_loss":  # PyTorch normalises by the weights' sum
        if loss._data.size == 0:  # the mean of nothing is NaN (and 0 / 0 would warn)
            return NanDiv.apply(loss.sum(), float("nan"))
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


@functional
def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean squared error (input - target)**2, reduced; ``weight`` weighs each element."""
    reduction = _reduction("mse_loss", size_average, reduce, reduction)
    return _pointwise("mse_loss", MseLoss, input, target, reduction, 0.0, weight)


@functional
def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean absolute error |input - target| (gradient sign(input - target), 0 at ties)."""
    reduction = _reduction("l1_loss", size_average, reduce, reduction)
    return _pointwise("l1_loss", L1Loss, input, target, reduction, 0.0, weight)


@functional
def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    """0.5 d**2 where |d| < delta, else delta (|d| - delta / 2): quadratic near 0, linear beyond."""
    reduction = _reduction("huber_loss", None, None, reduction)
    if delta <= 0:
        raise RuntimeError(
            f"huber_loss does not support non-positive values for delta, got {delta}"
        )
    return _pointwise("huber_loss", HuberLoss, input, target, reduction, float(delta), weight)


@functional
def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """0.5 d**2 / beta where |d| < beta, else |d| - beta / 2 (huber_loss / beta); beta=0 is L1."""
    reduction = _reduction("smooth_l1_loss", size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta, got {beta}")
    if beta == 0:
        return _pointwise("smooth_l1_loss", L1Loss, input, target, reduction, 0.0)
    return _pointwise("smooth_l1_loss", SmoothL1Loss, input, target, reduction, float(beta))


# ---- binary cross-entropy -----------------------------------------------------------------------


class BinaryCrossEntropy(Node):
    __slots__ = ("n", "reduction", "weight")

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any, weight: Any, reduction: str) -> Any:
        ctx.weight, ctx.reduction, ctx.n = weight, reduction, x.size
        ctx.save_for_backward(x, y)
        with np.errstate(divide="ignore"):  # log(0) = -inf is clamped to -100, as in PyTorch
            loss = (y - 1) * np.maximum(np.log1p(-x), -100) - y * np.maximum(np.log(x), -100)
        if weight is not None:
            loss = loss * weight
        return _reduce_array(loss, reduction)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        nx, ny = ctx.next[:2]
        if ctx.reduction == "mean":
            g = g * (1.0 / ctx.n if ctx.n else 0.0)
        if ctx.weight is not None:
            g = g * ctx.weight
        gx = gy = None
        if nx is not None:  # PyTorch's rule: (x - y) / max(x (1 - x), 1e-12)
            gx = g * (x - y) / np.maximum(x * (1 - x), 1e-12)
        if ny is not None:  # -logit(x)
            gy = g * (np.log1p(-x) - np.log(x))
        return gx, gy, None, None


@functional
def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x in [0, 1]; logs clamped at -100."""
    reduction = _reduction("binary_cross_entropy", size_average, reduce, reduction)
    x = floating_input("binary_cross_entropy", input)
    y = as_tensor(target)
    if y.shape != x.shape:
        raise ValueError(
            f"binary_cross_entropy: Using a target size ({tuple(y.shape)}) that is different to "
            f"the input size ({tuple(x.shape)}) is deprecated. Please ensure they have the same "
            "size."
        )
    if x._data.size and (np.min(x._data) < 0 or np.max(x._data) > 1):
        raise RuntimeError(
            "binary_cross_entropy: all elements of input should be between 0 and 1 (got values "
            f"in [{np.min(x._data)}, {np.max(x._data)}]); for logits use "
            "binary_cross_entropy_with_logits"
        )
    x, y = binary_operands("binary_cross_entropy", x, y)
    w = None if weight is None else np.asarray(_data(weight), x._data.dtype)
    return BinaryCrossEntropy.apply(x, y, w, reduction)


def _logsigmoid(x: Any) -> Any:
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


class BinaryCrossEntropyWithLogits(Node):
    # NOTE: fused and stable: (1 - y) x - lw log sigmoid(x), never exp of a large positive number.
    __slots__ = ("n", "pos_weight", "reduction", "weight")

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any, weight: Any, pos_weight: Any, reduction: str) -> Any:
        ctx.weight, ctx.pos_weight, ctx.reduction, ctx.n = weight, pos_weight, reduction, x.size
        ctx.save_for_backward(x, y)
        ls = _logsigmoid(x)
        if pos_weight is not None:
            ls = ls * ((pos_weight - 1) * y + 1)
        loss = (1 - y) * x - ls
        if weight is not None:
            loss = loss * weight
        return _reduce_array(loss, reduction)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        nx, ny = ctx.next[:2]
        pw = ctx.pos_weight
        if ctx.reduction == "mean":
            g = g * (1.0 / ctx.n if ctx.n else 0.0)
        if ctx.weight is not None:
            g = g * ctx.weight
        gx = gy = None
        if nx is not None:
            s = sigmoid_array(x)
            gx = g * (s - y) if pw is None else g * (((pw - 1) * y + 1) * s - pw * y)
        if ny is not None:
            gy = -g * x if pw is None else -g * (x + (pw - 1) * _logsigmoid(x))
        return gx, gy, None, None, None


@functional(
    torch_function=lambda input, target, weight=None, pos_weight=None, reduction=1: (
        binary_cross_entropy_with_logits(
            input, target, weight, reduction=REDUCTION_ENUM[reduction], pos_weight=pos_weight
        )
    )
)
def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """binary_cross_entropy(sigmoid(input), target), computed stably from the logits.

    ``pos_weight`` (broadcast over the last dim) weighs the positive term y log sigmoid(x).
    """
    reduction = _reduction("binary_cross_entropy_with_logits", size_average, reduce, reduction)
    x = floating_input("binary_cross_entropy_with_logits", input)
    y = as_tensor(target)
    if y.shape != x.shape:
        raise ValueError(
            f"binary_cross_entropy_with_logits: Target size ({tuple(y.shape)}) must be the same "
            f"as input size ({tuple(x.shape)})"
        )
    x, y = binary_operands("binary_cross_entropy_with_logits", x, y)
    dt = x._data.dtype
    w = None if weight is None else np.asarray(_data(weight), dt)
    pw = None if pos_weight is None else np.asarray(_data(pos_weight), dt)
    return BinaryCrossEntropyWithLogits.apply(x, y, w, pw, reduction)
