"""Margin, ranking and likelihood losses with PyTorch's formulas and reductions:
``margin_ranking_loss hinge_embedding_loss cosine_embedding_loss triplet_margin_loss
triplet_margin_with_distance_loss poisson_nll_loss gaussian_nll_loss soft_margin_loss
multilabel_soft_margin_loss multi_margin_loss multilabel_margin_loss``.

Each is written with differentiable ops, in the order of ATen's implementation, so gradients of
any order follow. Where PyTorch runs one fused kernel, the last step is recorded under that
kernel's node name (``SoftMarginLossBackward0``), as ``explain`` and the graph views show it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.nn.functional._pointwise_loss import REDUCTION_ENUM, _reduce, _reduction
from glassgrad.nn.functional.activation import logsigmoid
from glassgrad.nn.functional.distance import pairwise_distance
from glassgrad.ops._common import Tensor, as_tensor, floating_input
from glassgrad.ops.comparison import ClampScalar, minimum, where
from glassgrad.ops.elementwise import MulScalar, exp, log
from glassgrad.ops.registry import functional


@functools.cache
def _named_step(name: str) -> Any:
    """A multiply-by-one node shown as ``<name>Backward0``: the last step of a loss that PyTorch
    computes in one kernel of that name."""
    return type(f"_{name}Step", (MulScalar,), {"__slots__": (), "op_name": name})


def _as_fused(loss: Tensor, name: str) -> Tensor:
    return _named_step(name).apply(loss, 1)


class ClampMin(ClampScalar):
    """max(x, lo) with a number ``lo``: PyTorch's ``clamp_min``, ``ClampMinBackward0``."""

    __slots__ = ()
    op_name, variant = "ClampMin", 0


def _clamp_min(x: Tensor, lo: float) -> Tensor:
    return ClampMin.apply(x, float(lo), None)


def _zeros(like: Tensor) -> Tensor:
    return Tensor._make(np.zeros((), like._data.dtype))


def _same_shape(op: str, **tensors: Tensor) -> None:
    shapes = {k: tuple(t.shape) for k, t in tensors.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{k} {v}" for k, v in shapes.items())
        raise RuntimeError(f"{op}: expected inputs of the same shape, got {listed}")


# ---- ranking and embedding losses ---------------------------------------------------------------


@functional(
    torch_function=lambda input1, input2, target, margin=0.0, reduction=1: margin_ranking_loss(
        input1, input2, target, margin, reduction=REDUCTION_ENUM[reduction]
    )
)
def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, -target (input1 - input2) + margin): target 1 wants input1 ranked higher."""
    reduction = _reduction("margin_ranking_loss", size_average, reduce, reduction)
    x1 = floating_input("margin_ranking_loss", input1)
    x2, y = as_tensor(input2), as_tensor(target)
    if not (x1.ndim == x2.ndim == y.ndim):
        raise RuntimeError(
            f"margin_ranking_loss: All input tensors should have same dimension but got sizes: "
            f"input1: {tuple(x1.shape)}, input2: {tuple(x2.shape)}, target: {tuple(y.shape)}"
        )
    return _reduce(_clamp_min(-y * (x1 - x2) + margin, 0), reduction)


@functional(
    torch_function=lambda input, target, margin=1.0, reduction=1: hinge_embedding_loss(
        input, target, margin, reduction=REDUCTION_ENUM[reduction]
    )
)
def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """x where target is 1, max(0, margin - x) where it is -1 (x: a distance)."""
    reduction = _reduction("hinge_embedding_loss", size_average, reduce, reduction)
    x = floating_input("hinge_embedding_loss", input)
    t = as_tensor(target)._data
    zero = _zeros(x)
    out_margin = where(t != 1, _clamp_min(margin - x, 0), zero)
    out_self = where(t != -1, x, zero)
    return _reduce(out_margin + out_self, reduction)


_EPSILON = 1e-12  # ATen's cosine_embedding_loss guard against zero norms


@functional(
    torch_function=lambda input1, input2, target, margin=0.0, reduction=1: cosine_embedding_loss(
        input1, input2, target, margin, reduction=REDUCTION_ENUM[reduction]
    )
)
def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1."""
    reduction = _reduction("cosine_embedding_loss", size_average, reduce, reduction)
    x1 = floating_input("cosine_embedding_loss", input1)
    x2, t = as_tensor(input2), as_tensor(target)._data
    if t.ndim > 1 or x1.ndim != t.ndim + 1 or tuple(x1.shape) != tuple(x2.shape):
        raise RuntimeError(
            f"cosine_embedding_loss: expected inputs of one shape (N, D) or (D,) and a target "
            f"(N,) or (), got input1 {tuple(x1.shape)}, input2 {tuple(x2.shape)}, target "
            f"{tuple(t.shape)}"
        )
    d = t.ndim
    prod = (x1 * x2).sum(d)
    mag1 = (x1 * x1).sum(d) + _EPSILON
    mag2 = (x2 * x2).sum(d) + _EPSILON
    cos = prod / (mag1 * mag2).sqrt()
    zero = _zeros(cos)
    out = where(t == 1, 1 - cos, zero) + where(t == -1, _clamp_min(cos - margin, 0), zero)
    return _reduce(out, reduction)


def _torch_triplet(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: int = 1,
) -> Tensor:
    """``torch.triplet_margin_loss``: every argument by position, the reduction as its code."""
    red = REDUCTION_ENUM[reduction]
    return triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=red)


@functional(torch_function=_torch_triplet)
def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin) with the p-norm distance (``swap``: the smaller of
    d(a, n) and d(p, n))."""
    reduction = _reduction("triplet_margin_loss", size_average, reduce, reduction)
    a = floating_input("triplet_margin_loss", anchor)
    pos, neg = as_tensor(positive), as_tensor(negative)
    if not (a.ndim == pos.ndim == neg.ndim) or a.ndim not in (1, 2):
        raise RuntimeError(
            f"triplet_margin_loss: expected anchor, positive and negative of 1 or 2 dims alike, "
            f"got anchor {tuple(a.shape)}, positive {tuple(pos.shape)}, negative "
            f"{tuple(neg.shape)}"
        )
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(pos, neg, p, eps))
    return _reduce(_clamp_min(margin + d_pos - d_neg, 0), reduction)


@functional
def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """The triplet loss with any ``distance_function`` (default: ``pairwise_distance``)."""
    reduction = _reduction("triplet_margin_with_distance_loss", None, None, reduction)
    if margin <= 0:
        raise ValueError(
            f"triplet_margin_with_distance_loss: margin must be greater than 0, got {margin}"
        )
    dist = distance_function if distance_function is not None else pairwise_distance
    a, pos, neg = as_tensor(anchor), as_tensor(positive), as_tensor(negative)
    d_pos, d_neg = dist(a, pos), dist(a, neg)
    if swap:
        d_neg = minimum(d_neg, dist(pos, neg))
    return _reduce(_clamp_min(margin + d_pos - d_neg, 0), reduction)


# ---- likelihood losses --------------------------------------------------------------------------


@functional(
    torch_function=lambda input, target, log_input=True, full=False, eps=1e-8, reduction=1: (
        poisson_nll_loss(
            input, target, log_input, full, eps=eps, reduction=REDUCTION_ENUM[reduction]
        )
    )
)
def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Poisson negative log-likelihood: exp(x) - t x for log rates (``log_input``), else
    x - t log(x + eps); ``full`` adds Stirling's approximation of log(t!) where t > 1."""
    reduction = _reduction("poisson_nll_loss", size_average, reduce, reduction)
    x = floating_input("poisson_nll_loss", input)
    t = as_tensor(target)
    loss = exp(x) - t * x if log_input else x - t * log(x + eps)
    if full:
        td = t._data
        st = where(td > 1, t, as_tensor(np.full((), 2, td.dtype)))  # (log of t <= 1 unused)
        stirling = st * log(st) - st + 0.5 * log(2 * math.pi * st)
        loss = loss + where(td <= 1, _zeros(stirling), stirling)
    return _reduce(loss, reduction)


@functional
def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var: Tensor | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Gaussian negative log-likelihood 0.5 (log var + (x - t)^2 / var) (+ 0.5 log 2 pi if
    ``full``); var is clamped to ``eps`` for stability, its gradient passing unchanged."""
    reduction = _reduction("gaussian_nll_loss", None, None, reduction)
    x = floating_input("gaussian_nll_loss", input)
    if not isinstance(var, Tensor):
        if var < 0:
            raise ValueError("gaussian_nll_loss: var has negative entry/entries")
        var = as_tensor(np.full(tuple(x.shape), var, x._data.dtype))
    v = as_tensor(var)
    if tuple(v.shape) != tuple(x.shape):
        if tuple(x.shape[:-1]) == tuple(v.shape):
            v = v.unsqueeze(-1)
        elif tuple(x.shape[:-1]) == tuple(v.shape[:-1]) and v.shape[-1] == 1:
            pass
        else:
            raise ValueError(
                f"gaussian_nll_loss: var is of incorrect size: input {tuple(x.shape)}, var "
                f"{tuple(v.shape)} (expected the input's shape, or it without or with 1 as the "
                "last dim)"
            )
    if np.any(v._data < 0):
        raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    vd = v._data
    v = v + as_tensor(np.maximum(vd, eps) - vd)  # a clamp whose gradient is the identity
    loss = 0.5 * (log(v) + (x - as_tensor(target)) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ---- soft margins -------------------------------------------------------------------------------


@functional
def soft_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """log(1 + exp(-target x)): a logistic loss for targets in {-1, 1}."""
    reduction = _reduction("soft_margin_loss", size_average, reduce, reduction)
    x = floating_input("soft_margin_loss", input)
    t = as_tensor(target)
    if t.requires_grad:
        raise RuntimeError(
            "soft_margin_loss: the function is not differentiable with respect to argument "
            "'target' (it cannot require grad)"
        )
    _same_shape("soft_margin_loss", input=x, target=t)
    return _as_fused(_reduce(-logsigmoid(t * x), reduction), "SoftMarginLoss")


@functional
def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Mean over classes of the binary logistic loss of each label (targets in {0, 1})."""
    reduction = _reduction("multilabel_soft_margin_loss", size_average, reduce, reduction)
    x = floating_input("multilabel_soft_margin_loss", input)
    t = as_tensor(target)
    loss = -(t * logsigmoid(x) + (1 - t) * logsigmoid(-x))
    if weight is not None:
        loss = loss * weight
    class_dim = x.ndim - 1
    loss = loss.sum(class_dim) / x.shape[class_dim]
    return _reduce(loss, reduction)


def _class_targets(op: str, x: Tensor, target: Any) -> np.ndarray:
    t = as_tensor(target)._data
    if t.dtype.kind not in "iu":
        raise RuntimeError(
            f"{op}: expected an integer (Long) target, got {dtypes.name(t.dtype)} (target shape "
            f"{tuple(t.shape)})"
        )
    return t


@functional
def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge loss: sum over i != y of max(0, margin - x[y] + x[i])^p / C."""
    reduction = _reduction("multi_margin_loss", size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 supported, got p={p}")
    x = floating_input("multi_margin_loss", input)
    t = _class_targets("multi_margin_loss", x, target)
    xb = x.unsqueeze(0) if x.ndim == 1 else x
    tb = t.reshape(-1)
    if xb.ndim != 2 or tb.shape[0] != xb.shape[0]:
        raise RuntimeError(
            f"multi_margin_loss: expected input (N, C) or (C,) and target (N,) or (), got input "
            f"{tuple(x.shape)}, target {tuple(t.shape)}"
        )
    n, c = xb.shape
    if tb.size and (tb.min() < 0 or tb.max() >= c):
        raise IndexError(
            f"multi_margin_loss: target {int(tb.max() if tb.max() >= c else tb.min())} is out of "
            f"bounds for {c} classes (input shape {tuple(x.shape)})"
        )
    rows = np.arange(n)
    x_y = xb[rows, tb].unsqueeze(1)
    z = _clamp_min(margin - x_y + xb, 0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * as_tensor(weight)[tb].unsqueeze(1)
    others = np.ones((n, c), bool)
    others[rows, tb] = False
    loss = where(others, z, _zeros(z)).sum(1) / c
    if x.ndim == 1:
        loss = loss.reshape(())
    return _as_fused(_reduce(loss, reduction), "MultiMarginLoss")


@functional
def multilabel_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-label hinge loss: for each listed target j (the list ends at the first -1) and
    each non-target i, max(0, 1 - (x[j] - x[i])), summed and divided by C."""
    reduction = _reduction("multilabel_margin_loss", size_average, reduce, reduction)
    x = floating_input("multilabel_margin_loss", input)
    t = _class_targets("multilabel_margin_loss", x, target)
    if tuple(t.shape) != tuple(x.shape) or x.ndim not in (1, 2):
        raise RuntimeError(
            f"multilabel_margin_loss: expected input (N, C) or (C,) and a target of the same "
            f"shape, got input {tuple(x.shape)}, target {tuple(t.shape)}"
        )
    xb = x.unsqueeze(0) if x.ndim == 1 else x
    tb = t.reshape(xb.shape)
    n, c = xb.shape
    listed = np.cumprod(tb >= 0, axis=1).astype(bool)  # entries before the first -1
    if np.any(tb[listed] >= c):
        raise IndexError(
            f"multilabel_margin_loss: target index out of bounds for {c} classes (input shape "
            f"{tuple(x.shape)})"
        )
    counts = np.zeros((n, c), x._data.dtype)  # how often each class is listed (repeats count)
    rows = np.repeat(np.arange(n), c)[listed.reshape(-1)]
    np.add.at(counts, (rows, tb[listed]), 1)
    non_target = (counts == 0).astype(x._data.dtype)
    pairs = counts[:, :, None] * non_target[:, None, :]  # (n, j, i)
    z = _clamp_min(1 - xb.unsqueeze(2) + xb.unsqueeze(1), 0)
    loss = (z * as_tensor(pairs)).sum((1, 2)) / c
    if x.ndim == 1:
        loss = loss.reshape(())
    return _as_fused(_reduce(loss, reduction), "MultilabelMarginLoss")
