"""Classification losses: ``cross_entropy``, ``nll_loss``, ``kl_div`` (and, re-exported from
``_pointwise_loss``, the regression and binary cross-entropy losses).

``cross_entropy`` is ``log_softmax`` followed by ``nll_loss``: two fused nodes, stable for any
logits, and the hot path of classifier training.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.nn.functional._pointwise_loss import (
    REDUCTION_ENUM,
    NanDiv,
    _data,
    _reduce,
    _reduction,
)
from glassgrad.nn.functional.activation import log_softmax
from glassgrad.ops._common import Node, Tensor, as_tensor, binary_operands, floating_input
from glassgrad.ops.registry import functional

# ---- negative log-likelihood and cross-entropy --------------------------------------------------


class NllLoss(Node):
    # NOTE: forward gathers -log p[target] by fancy indexing; backward places -g * w / total into
    # a zeros array (every position is hit at most once, so plain assignment, no add.at).
    __slots__ = ("coef", "in_shape", "index", "reduction", "total")

    @staticmethod
    def forward(ctx: Any, x: Any, index: Any, coef: Any, reduction: str, total: float) -> Any:
        ctx.index, ctx.coef, ctx.reduction, ctx.total, ctx.in_shape = (
            index,
            coef,
            reduction,
            total,
            x.shape,
        )
        picked = x[index]
        if coef is not None:
            picked = picked * coef
        if reduction == "none":
            return -picked
        if total == 0:  # mean over nothing (every target ignored, or an empty batch)
            return np.full((), np.nan, x.dtype)
        return -picked.sum() / total

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        if ctx.reduction == "none":
            v = -g
        else:
            v = g * (-1.0 / ctx.total if ctx.total else 0.0)
        if ctx.coef is not None:
            v = v * ctx.coef
        if isinstance(v, Tensor):
            return PlaceAt.apply(v, ctx.in_shape, ctx.index), None, None, None, None
        out = np.zeros(ctx.in_shape, v.dtype)
        out[ctx.index] = v
        return out, None, None, None, None


class NllLoss2D(NllLoss):
    """nll_loss over (N, C, d1, ...): PyTorch's ``NllLoss2DBackward0``."""

    __slots__ = ()


class PlaceAt(Node):
    """zeros(shape) with ``v`` written at ``index`` (distinct positions): NllLoss's backward."""

    __slots__ = ("index",)

    @staticmethod
    def forward(ctx: Any, v: Any, shape: Any, index: Any) -> Any:
        ctx.index = index
        out = np.zeros(shape, v.dtype)
        out[index] = v
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g[ctx.index], None, None


def _class_targets(op: str, x: Tensor, target: Any, ignore_index: int) -> tuple:
    """Check class-index targets; return (index for x, targets, ignored mask or None)."""
    t = _data(target)
    if not isinstance(t, np.ndarray):
        t = np.asarray(t)
    if t.dtype != np.int64 and t.dtype != np.uint8:
        raise RuntimeError(
            f"{op}: expected target dtype to be Long or Byte (class indices), but got "
            f"{dtypes.name(t.dtype)} (target shape {tuple(t.shape)}); for class probabilities "
            f"pass a float target of the input's shape {tuple(x.shape)}"
        )
    nd = x._data.ndim
    if nd == 0:
        raise ValueError(f"{op}: Expected 1 or more dimensions (got 0)")
    if nd == 1:
        if t.ndim != 0:
            raise RuntimeError(
                f"{op}: an unbatched input of shape {tuple(x.shape)} expects a 0-d target, "
                f"got target of shape {tuple(t.shape)}"
            )
    elif t.ndim == 0 or x._data.shape[0] != t.shape[0]:
        raise ValueError(
            f"{op}: Expected input batch_size ({x.shape[0]}) to match target batch_size "
            f"({t.shape[0] if t.ndim else 'none: a 0-d target'}), input shape "
            f"{tuple(x.shape)}, target shape {tuple(t.shape)}"
        )
    elif nd == 2 and t.ndim != 1:
        raise RuntimeError(
            f"{op}: 0D or 1D target tensor expected, multi-target not supported (input shape "
            f"{tuple(x.shape)}, target shape {tuple(t.shape)})"
        )
    elif nd > 2 and t.shape != x._data.shape[:1] + x._data.shape[2:]:
        raise RuntimeError(
            f"{op}: Expected target size {[x.shape[0], *x.shape[2:]]}, got {list(t.shape)} "
            f"(input shape {tuple(x.shape)})"
        )
    n_classes = x._data.shape[0 if nd == 1 else 1]
    ignored = None
    if t.size:  # (ufunc reductions: the .min()/.max() wrappers cost more than the work here)
        lo, hi = np.minimum.reduce(t, axis=None), np.maximum.reduce(t, axis=None)
        if lo <= ignore_index <= hi:  # only then can a target be ignored (usually it can't)
            ignored = t == ignore_index
            t = np.where(ignored, 0, t)
            lo, hi = np.minimum.reduce(t, axis=None), np.maximum.reduce(t, axis=None)
        if lo < 0 or hi >= n_classes:
            bad = lo if lo < 0 else hi
            raise IndexError(
                f"{op}: Target {bad} is out of bounds: class indices must be in "
                f"[0, {n_classes - 1}] for an input with {n_classes} classes (shape "
                f"{tuple(x.shape)}), or equal ignore_index={ignore_index}"
            )
    index: tuple[Any, ...]
    if nd == 1:
        index = (t,)
    elif nd == 2:
        index = (np.arange(t.shape[0]), t)
    else:
        grids = np.ogrid[tuple(slice(s) for s in t.shape)]
        index = (grids[0], t, *grids[1:])
    return index, t, ignored


def _class_weight(op: str, x: Tensor, weight: Any) -> Any:
    if weight is None:
        return None
    w = _data(weight)
    n_classes = x.shape[0 if x.ndim == 1 else 1]
    if w.ndim != 1 or w.shape[0] != n_classes:
        raise RuntimeError(
            f"{op}: weight tensor should be defined either for all {n_classes} classes or no "
            f"classes but got weight tensor of shape: {list(w.shape)}"
        )
    if w.dtype != x._data.dtype:
        raise RuntimeError(
            f"{op}: expected weight of dtype {dtypes.name(x._data.dtype)} (the input's), but "
            f"found {dtypes.name(w.dtype)}"
        )
    return w


@functional
def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-input[n, target[n]] per sample (input holds log-probabilities), weighted and reduced.

    Weighted 'mean' divides by the summed weights of the targets that are not ignored.

    >>> import glassgrad as gg
    >>> import glassgrad.nn.functional as F
    >>> F.nll_loss(gg.tensor([[-1.0, -2.0], [-3.0, -4.0]]), gg.tensor([0, 1]))
    tensor(2.5000)
    """
    reduction = _reduction("nll_loss", size_average, reduce, reduction)
    x = floating_input("nll_loss", input)
    index, t, ignored = _class_targets("nll_loss", x, target, ignore_index)
    w = _class_weight("nll_loss", x, weight)
    coef = None
    if w is not None:
        coef = w[t]
        if ignored is not None:
            coef = np.where(ignored, 0, coef)
    elif ignored is not None:
        coef = (~ignored).astype(x._data.dtype)
    if reduction == "mean":
        total = float(np.sum(coef)) if coef is not None else float(t.size)
    else:
        total = 1.0
    return (NllLoss if x._data.ndim < 3 else NllLoss2D).apply(x, index, coef, reduction, total)


@functional
def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits ``input`` (N, C, ...) against class indices or probabilities.

    Class indices: ``nll_loss(log_softmax(input, 1), target)`` with its weight/ignore_index
    options; probabilities (a float target of the input's shape): -sum(target * log_softmax).
    ``label_smoothing`` mixes the target with the uniform distribution, as PyTorch does.

    >>> import glassgrad as gg
    >>> import glassgrad.nn.functional as F
    >>> F.cross_entropy(gg.tensor([[0.0, 0.0]]), gg.tensor([1]))
    tensor(0.6931)
    """
    reduction = _reduction("cross_entropy", size_average, reduce, reduction)
    x = floating_input("cross_entropy", input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(
            f"cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}"
        )
    nd = x._data.ndim  # (the array's: cheaper than Tensor.ndim/shape on this hot path)
    if nd == 0:
        raise ValueError("cross_entropy: Expected 1 or more dimensions (got 0)")
    class_dim = 0 if nd == 1 else 1
    t = _data(target)
    target_shape = t.shape if isinstance(t, np.ndarray) else tuple(np.shape(t))
    if target_shape == x._data.shape:
        return _cross_entropy_probs(x, target, weight, ignore_index, reduction, label_smoothing)
    logp = log_softmax(x, class_dim)
    nll = nll_loss(logp, target, weight, None, ignore_index, None, reduction)
    if label_smoothing == 0:
        return nll
    return _label_smoothing(logp, target, weight, ignore_index, reduction, label_smoothing, nll)


def _label_smoothing(
    logp: Tensor, target: Any, weight: Any, ignore_index: int, reduction: str, eps: float, nll: Any
) -> Tensor:
    """(1 - eps) nll + eps / C * (-sum_c w_c log p_c), PyTorch's formula and normalisation."""
    class_dim = 0 if logp.ndim == 1 else 1
    n_classes = logp.shape[class_dim]
    t = _data(target)
    ignored = t == ignore_index
    if weight is not None:
        shape = [1] * logp.ndim
        shape[class_dim] = n_classes
        smooth = -(logp * _data(weight).reshape(shape)).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    if ignored.any():
        from glassgrad.ops.comparison import where

        smooth = where(ignored, np.zeros((), smooth.dtype), smooth)
    if reduction == "mean":
        if weight is not None:
            denom = float(np.sum(_data(weight)[t[~ignored]]))
        else:
            denom = float(np.sum(~ignored))
        smooth = smooth.sum() / denom if denom else smooth.sum() * float("nan")
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - eps) * nll + smooth * (eps / n_classes)


def _cross_entropy_probs(
    x: Tensor, target: Any, weight: Any, ignore_index: int, reduction: str, eps: float
) -> Tensor:
    """-sum_c w_c target_c log_softmax(x)_c over the class dim (target gets a gradient too)."""
    y = as_tensor(target)
    if y._data.dtype.kind != "f":
        raise RuntimeError(
            "cross_entropy: Expected floating point type for target with class probabilities, "
            f"got {dtypes.name(y._data.dtype)} (a target of the input's shape {tuple(x.shape)} "
            "holds probabilities; class indices have the input's shape without the class dim)"
        )
    if ignore_index >= 0:
        raise RuntimeError("cross_entropy: ignore_index is not supported for floating point target")
    class_dim = 0 if x.ndim == 1 else 1
    n_classes = x.shape[class_dim]
    logp = log_softmax(x, class_dim)
    if eps > 0:
        y = y * (1 - eps) + eps / n_classes
    prod = logp * y
    if weight is not None:
        w = _data(weight)
        if w.ndim != 1 or w.shape[0] != n_classes:
            raise RuntimeError(
                f"cross_entropy: weight tensor should be defined either for all {n_classes} "
                f"classes or no classes but got weight tensor of shape: {list(w.shape)}"
            )
        shape = [1] * x.ndim
        shape[class_dim] = n_classes
        prod = prod * w.reshape(shape)
    if reduction == "none":
        return -prod.sum(class_dim)
    if reduction == "sum":
        return -prod.sum()
    if x._data.size == 0:
        return -prod.sum() * float("nan")
    return -prod.sum() / (x._data.size // n_classes)


# ---- divergence ---------------------------------------------------------------------------------


@functional(
    torch_function=lambda input, target, reduction=1, log_target=False: kl_div(
        input, target, reduction=REDUCTION_ENUM[reduction], log_target=log_target
    )
)
def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL(target || p) pointwise, with ``input`` = log p: target (log target - input).

    ``reduction='batchmean'`` (sum / batch size) is the mathematically correct KL divergence.
    """
    from glassgrad.ops.comparison import where
    from glassgrad.ops.elementwise import exp, log

    reduction = _reduction("kl_div", size_average, reduce, reduction, ("batchmean",))
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.",
            UserWarning,
            stacklevel=3,
        )
    x = floating_input("kl_div", input)
    x, t = binary_operands("kl_div", x, target)
    t = as_tensor(t)
    if log_target:
        loss = exp(t) * (t - x)
    else:  # xlogy(t, t) - t x, with 0 log 0 = 0 (a negative target: NaN, as in PyTorch)
        nonzero = t._data != 0
        one, zero = np.ones((), t.dtype), np.zeros((), t.dtype)  # typed: no promotion
        loss = where(nonzero, t * log(where(nonzero, t, one)), zero) - t * x
    if reduction == "batchmean":
        total = loss.sum()
        if x.ndim == 0:
            return total
        return total / x.shape[0] if x.shape[0] else NanDiv.apply(total, float("nan"))
    return _reduce(loss, reduction)
