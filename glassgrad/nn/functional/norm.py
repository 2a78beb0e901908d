"""Normalisation and regularisation: ``layer_norm``, ``batch_norm``, ``normalize``, ``dropout``.

The normalising rules save only the input (and weight) and recompute mean and variance in
backward, so they stay correct under ``create_graph`` (second derivatives): a saved normalised
activation would be treated as a constant there.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad._errors import ArgumentAssertionError
from glassgrad.autograd.state import bump_version
from glassgrad.creation import generator
from glassgrad.ops._common import Node, Tensor, as_tensor, check_dim, floating_input
from glassgrad.ops.indexing import ADVANCED, Index
from glassgrad.ops.inplace import apply_inplace
from glassgrad.ops.registry import FUNCTIONAL, TORCH, functional


def _mean_over(x: Any, axes: Any) -> Any:
    """``np.mean(x, axis=axes, keepdims=True)`` bit for bit (the same sum, divided by the count
    as NumPy's ``_mean`` divides: an intp, unsafe cast), without NumPy's Python wrapper on float
    arrays (a layer norm takes six per step). Tensors (under create_graph) take ``np.mean``."""
    if isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.dtype.itemsize >= 4:
        shape = x.shape
        if axes is None:
            count = x.size
        else:
            count = 1
            for a in axes if isinstance(axes, tuple) else (axes,):
                count *= shape[a]
        if count:
            total = np.add.reduce(x, axis=axes, keepdims=True)
            return np.true_divide(total, np.intp(count), out=total, casting="unsafe")
    return np.mean(x, axis=axes, keepdims=True)


def _sum_over(g: Any, red: tuple[int, ...]) -> Any:
    """Sum over ``red`` (none at all when it is empty: for a Tensor, dim=() would mean all)."""
    return np.sum(g, axis=red) if red else g


def _view(p: Any, shape: Any) -> Any:
    """A weight/bias (or its gradient's source) viewed so it broadcasts against the input."""
    return p if shape is None else p.reshape(shape)


class Normalize(Node):
    # NOTE: fused (x - mean) / sqrt(var + eps) * w + b over `axes`; the rule recomputes the
    # statistics from the saved input instead of saving x-hat, so it also holds at second order.
    __slots__ = ("axes", "eps", "pshape", "red")

    @staticmethod
    def forward(
        ctx: Any, x: Any, w: Any, b: Any, axes: Any, red: Any, pshape: Any, eps: float, stats: Any
    ) -> Any:
        ctx.axes, ctx.red, ctx.pshape, ctx.eps = axes, red, pshape, eps
        ctx.save_for_backward(x, w)
        if stats is None:
            mu = _mean_over(x, axes)
            out = x - mu
            var = _mean_over(out * out, axes)
        else:  # batch_norm computed them already (it also needs them for the running stats)
            mu, var = stats
            out = x - mu
        out *= 1 / np.sqrt(var + eps)
        if w is not None:
            out *= _view(w, pshape)
        if b is not None:
            out += _view(b, pshape)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.next[:3]
        axes = ctx.axes
        xc = x - _mean_over(x, axes)
        rstd = 1 / np.sqrt(_mean_over(xc * xc, axes) + ctx.eps)
        xhat = xc * rstd
        gx = gw = gb = None
        if nw is not None:
            gw = _sum_over(g * xhat, ctx.red)
        if nb is not None:
            gb = _sum_over(g, ctx.red)
        if nx is not None:
            gh = g if w is None else g * _view(w, ctx.pshape)
            gx = rstd * (gh - _mean_over(gh, axes) - xhat * _mean_over(gh * xhat, axes))
        return gx, gw, gb, None, None, None, None, None


class NativeLayerNorm(Normalize):
    __slots__ = ()


class NativeBatchNorm(Normalize):
    __slots__ = ()


class AffineNorm(Node):
    """(x - mean) * rstd * w + b with constant statistics: batch_norm in evaluation mode."""

    __slots__ = ("mean", "pshape", "red", "rstd")

    @staticmethod
    def forward(ctx: Any, x: Any, w: Any, b: Any, mean: Any, rstd: Any, red: Any, pshape: Any):
        ctx.mean, ctx.rstd, ctx.red, ctx.pshape = mean, rstd, red, pshape
        ctx.save_for_backward(x, w)
        out = x - mean
        out *= rstd
        if w is not None:
            out *= _view(w, pshape)
        if b is not None:
            out += _view(b, pshape)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.next[:3]
        gx = gw = gb = None
        if nx is not None:
            gx = g * ctx.rstd if w is None else g * (_view(w, ctx.pshape) * ctx.rstd)
        if nw is not None:
            gw = _sum_over(g * ((x - ctx.mean) * ctx.rstd), ctx.red)
        if nb is not None:
            gb = _sum_over(g, ctx.red)
        return gx, gw, gb, None, None, None, None


def half_with_float_params(x: Tensor, *params: Any) -> bool:
    """A float16 input with float32 weight or bias: PyTorch's CPU norms take this mix (a model
    cast to half but for its norms), computing in float32 and answering in float16."""
    return x._data.dtype == np.float16 and any(
        isinstance(p, Tensor) and p._data.dtype == np.float32 for p in params
    )


def _param(op: str, name: str, p: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    if p is None:
        return None
    p = as_tensor(p)
    if tuple(p.shape) != shape:
        raise RuntimeError(
            f"{op}: Expected {name} to be of shape {list(shape)}, but got {name} of shape "
            f"{list(p.shape)}"
        )
    if p._data.dtype != dtype:
        raise RuntimeError(
            f"{op}: expected {name} of dtype {dtypes.name(dtype)} (the input's), got "
            f"{dtypes.name(p._data.dtype)}"
        )
    return p


@functional(
    torch_function=lambda input, normalized_shape, weight=None, bias=None, eps=1e-5, *_: layer_norm(
        input, normalized_shape, weight, bias, eps
    )
)
def layer_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims to zero mean, unit variance.

    >>> import glassgrad as gg
    >>> import glassgrad.nn.functional as F
    >>> F.layer_norm(gg.tensor([[1.0, 3.0]]), (2,))
    tensor([[-1.0000,  1.0000]])
    """
    x = floating_input("layer_norm", input)
    if half_with_float_params(x, weight, bias):
        return layer_norm(x.float(), normalized_shape, weight, bias, eps).to(x.dtype)
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(ns)
    if k == 0 or x.ndim < k or x.shape[x.ndim - k :] != ns:
        raise RuntimeError(
            f"layer_norm: Given normalized_shape={list(ns)}, expected input with shape "
            f"[*, {', '.join(map(str, ns))}], but got input of size {list(x.shape)}"
        )
    w = _param("layer_norm", "weight", weight, ns, x._data.dtype)
    b = _param("layer_norm", "bias", bias, ns, x._data.dtype)
    if 0 in ns:  # nothing to normalise (and NumPy would warn about empty means)
        out = x * 0.0
        return out if b is None else out + b
    axes = tuple(range(x.ndim - k, x.ndim))
    red = tuple(range(x.ndim - k))
    return NativeLayerNorm.apply(x, w, b, axes, red, None, float(eps), None)


def _torch_batch_norm(
    input: Tensor, weight: Any, bias: Any, running_mean: Any, running_var: Any, *args: Any
) -> Tensor:
    """``torch.batch_norm``'s argument order: weight and bias before the running statistics."""
    training, momentum, eps = args[:3]
    return batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


@functional(torch_function=_torch_batch_norm)
def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (dim 1) over the batch and spatial dims.

    Training uses the batch statistics and updates ``running_mean``/``running_var`` in place
    (``(1 - momentum) * running + momentum * batch``, the variance unbiased); evaluation uses
    the running statistics.
    """
    x = floating_input("batch_norm", input)
    if half_with_float_params(x, weight, bias):
        up = batch_norm(x.float(), running_mean, running_var, weight, bias, training, momentum, eps)
        return up.to(x.dtype)
    if x.ndim < 2:
        raise ValueError(
            f"batch_norm: expected an input of shape (N, C) or (N, C, *), got shape "
            f"{tuple(x.shape)}"
        )
    c = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and t._data.size != c:
            raise RuntimeError(
                f"batch_norm: {name} should contain {c} elements not {t._data.size} (input shape "
                f"{tuple(x.shape)}, channels on dim 1)"
            )
    w = _param("batch_norm", "weight", weight, (c,), x._data.dtype)
    b = _param("batch_norm", "bias", bias, (c,), x._data.dtype)
    red = (0, *range(2, x.ndim))
    pshape = (1, c) + (1,) * (x.ndim - 2)
    if training:
        n = x._data.size // c if c else 0
        if n <= 1:
            raise ValueError(
                "Expected more than 1 value per channel when training, got input size "
                f"{tuple(x.shape)}"
            )
        xd = x._data
        mu = _mean_over(xd, red)
        xc = xd - mu
        var = _mean_over(xc * xc, red)
        if running_mean is not None:
            _update_running(running_mean, mu, momentum)
        if running_var is not None:
            _update_running(running_var, var * (n / (n - 1)), momentum)
        return NativeBatchNorm.apply(x, w, b, red, red, pshape, float(eps), (mu, var))
    if running_mean is None or running_var is None:
        raise RuntimeError(
            "batch_norm: running_mean and running_var must be defined in evaluation mode "
            "(training=False)"
        )
    dt = x._data.dtype
    mean = running_mean._data.astype(dt, copy=False).reshape(pshape)
    rstd = (1 / np.sqrt(running_var._data.astype(dt, copy=False) + eps)).reshape(pshape)
    return NativeBatchNormEval.apply(x, w, b, mean, rstd, red, pshape)


class NativeBatchNormEval(AffineNorm):
    __slots__ = ()
    op_name = "NativeBatchNorm"


def _update_running(buf: Tensor, batch: np.ndarray, momentum: float) -> None:
    """buf = (1 - momentum) buf + momentum batch, in place (a buffer: no graph, version bump)."""
    d = buf._data
    d *= 1 - momentum
    d += momentum * batch.reshape(d.shape)
    buf._vc[0] += 1


@functional
def normalize(
    input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None
) -> Tensor:
    """input / max(||input||_p, eps) along ``dim``: unit-norm vectors (zero stays zero)."""
    from glassgrad.ops.comparison import clamp, where
    from glassgrad.ops.elementwise import abs
    from glassgrad.ops.reductions import sum

    if out is not None:
        raise TypeError("normalize: out= is not supported")
    x = floating_input("normalize", input)
    d = check_dim("normalize", dim, x.ndim)
    if not 0 < p < float("inf"):
        raise ValueError(f"normalize: p must be a positive finite number, got {p}")
    s = sum(x * x if p == 2 else abs(x) ** p, d, True)
    zero = s._data == 0  # the norm's gradient at 0 is taken as 0 (PyTorch's choice), not NaN
    if zero.any():
        s = where(zero, np.ones((), s.dtype), s)
    n = s ** (1.0 / p) if p != 2 else s**0.5
    if zero.any():
        n = where(zero, np.zeros((), n.dtype), n)
    return x / clamp(n, min=eps)


# ---- dropout --------------------------------------------------------------------------------


class Dropout(Node):
    __slots__ = ("scale",)

    @staticmethod
    def forward(ctx: Any, x: Any, keep: Any, scale: float) -> Any:
        ctx.scale = scale
        ctx.save_for_backward(keep)  # a bool mask: 1 byte per element, no gradient of its own
        out = np.multiply(x, keep)
        out *= scale
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (keep,) = ctx.saved_tensors
        return g * keep * ctx.scale, None, None


@functional(torch_function=lambda input, p, train: dropout(input, p, train))
def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) (training).

    Draws from glassgrad's seeded generator, so ``glassgrad.manual_seed`` makes it reproducible.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if inplace:
        return apply_inplace(input, "dropout_", dropout, p, training)
    x = floating_input("dropout", input)
    if p == 1.0:
        return x * 0.0
    keep = generator().random(x.shape, dtype=np.float32) >= p
    return Dropout.apply(x, keep, 1.0 / (1.0 - p))


def _channel_dropout(op: str, n: int, input: Tensor, p: float, training: bool, inplace: bool):
    """Zero whole channels (every value of one (sample, channel) map) with probability ``p``;
    ``n`` spatial dims, so inputs are (N, C, *n dims) or unbatched (C, *n dims)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = floating_input(op, input)
    spatial = n
    if n == 2 and x.ndim in (2, 3):  # PyTorch's legacy readings of 2-D and 3-D input
        spatial = x.ndim - 2
        warnings.warn(
            f"dropout2d: Received a {x.ndim}-D input to dropout2d; it is read as "
            f"{'(N, C, L): channel-wise 1D dropout' if x.ndim == 3 else '(N, C): plain dropout'}"
            ", as PyTorch does (use dropout1d or dropout to silence this)",
            stacklevel=3,
        )
    elif x.ndim not in (n + 1, n + 2):
        raise RuntimeError(
            f"{op}: expected a {n + 1}-D (unbatched) or {n + 2}-D (batched) input, got shape "
            f"{tuple(x.shape)}"
        )
    if not training or p == 0.0:
        return x
    if inplace:
        return apply_inplace(x, op + "_", _CHANNEL_DROPOUTS[n], p, training)
    if p == 1.0:
        return x * 0.0
    channels = x.shape[: x.ndim - spatial]
    keep = generator().random(channels, dtype=np.float32) >= p
    return Dropout.apply(x, keep.reshape(channels + (1,) * spatial), 1.0 / (1.0 - p))


@functional
def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels of (N, C, L) input with probability ``p`` (training)."""
    return _channel_dropout("dropout1d", 1, input, p, training, inplace)


@functional
def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole feature maps of (N, C, H, W) input with probability ``p`` (training)."""
    return _channel_dropout("dropout2d", 2, input, p, training, inplace)


@functional
def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole volumes of (N, C, D, H, W) input with probability ``p`` (training)."""
    return _channel_dropout("dropout3d", 3, input, p, training, inplace)


_CHANNEL_DROPOUTS = {1: dropout1d, 2: dropout2d, 3: dropout3d}


_ALPHA = 1.7580993408473766  # -SELU's saturation value, scale * alpha


def _alpha_dropout(op: str, input: Any, p: float, training: bool, feature: bool) -> Tensor:
    """PyTorch's alpha dropout: dropped units go to SELU's saturation value, then an affine map
    a * x + b restores zero mean and unit variance (per element, or per channel if ``feature``)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    x = floating_input(op, input)
    if not training or p == 0.0 or x.numel() == 0:
        return x
    if p == 1.0:
        return x * np.zeros((), x.dtype)
    if feature:
        if x.ndim < 2:
            raise RuntimeError(
                f"{op}: Feature dropout requires at least 2 dimensions in the input, got shape "
                f"{tuple(x.shape)}"
            )
        shape: tuple[int, ...] = tuple(x.shape[:2]) + (1,) * (x.ndim - 2)
    else:
        shape = tuple(x.shape)
    keep = (generator().random(shape) >= p).astype(x.dtype)
    a = 1.0 / np.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    b = (keep - 1) * (_ALPHA * a) + _ALPHA * a * p
    return x * (keep * a).astype(x.dtype) + b.astype(x.dtype)


@functional(namespaces=(TORCH, FUNCTIONAL))
def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False):
    """Dropout for SELU networks: keeps the mean and variance of its input (training only)."""
    if inplace:
        return apply_inplace(input, "alpha_dropout_", alpha_dropout, p, training)
    return _alpha_dropout("alpha_dropout", input, p, training, False)


@functional(namespaces=(TORCH, FUNCTIONAL))
def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
):
    """Alpha dropout of whole channels of (N, C, *) input (training only)."""
    if inplace:
        return apply_inplace(input, "feature_alpha_dropout_", feature_alpha_dropout, p, training)
    return _alpha_dropout("feature_alpha_dropout", input, p, training, True)


# ---- embedding and one-hot --------------------------------------------------------------------


class Embedding(Node):
    # NOTE: the rule scatter-adds rows of g into a zeros (num_embeddings, dim) array: indices
    # repeat, so the adds must accumulate (np.add.at), and the padding row gets none.
    __slots__ = ("flat", "num", "scale")

    @staticmethod
    def forward(ctx: Any, w: Any, idx: Any, flat: Any, scale: Any) -> Any:
        ctx.flat, ctx.num, ctx.scale = flat, w.shape[0], scale
        return w[idx]

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        rows = g.reshape(-1, g.shape[-1])
        if ctx.scale is not None:  # per-lookup factor: padding mask and/or 1 / frequency
            rows = rows * ctx.scale
        shape = (ctx.num, rows.shape[-1])
        if isinstance(rows, Tensor):
            return AddRows.apply(rows, shape, ctx.flat), None, None, None
        out = np.zeros(shape, rows.dtype)
        np.add.at(out, ctx.flat, rows)
        return out, None, None, None


class AddRows(Node):
    """zeros(shape) with row ``rows[i]`` added at ``index[i]``: embedding's backward as an op."""

    __slots__ = ("index",)

    @staticmethod
    def forward(ctx: Any, rows: Any, shape: Any, index: Any) -> Any:
        ctx.index = index
        out = np.zeros(shape, rows.dtype)
        np.add.at(out, index, rows)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g[ctx.index], None, None


@functional(
    torch_function=lambda weight, input, padding_idx=-1, *_: embedding(
        input, weight, None if padding_idx < 0 else padding_idx
    )
)
def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``; shape ``input.shape + (dim,)``.

    Gradients add up in each looked-up row; row ``padding_idx`` gets none. ``max_norm``
    rescales the looked-up rows of ``weight`` in place, as in PyTorch.

    >>> import glassgrad as gg
    >>> import glassgrad.nn.functional as F
    >>> F.embedding(gg.tensor([2, 0]), gg.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]))
    tensor([[4., 5.],
            [0., 1.]])
    """
    idx = input._data if isinstance(input, Tensor) else np.asarray(input)
    w = as_tensor(weight)
    if idx.dtype != np.int64 and idx.dtype != np.int32:
        raise RuntimeError(
            "embedding: Expected tensor for argument #1 'indices' to have one of the following "
            f"scalar types: Long, Int; but got {dtypes.name(idx.dtype)} instead"
        )
    if w.ndim != 2:
        raise RuntimeError(f"embedding: 'weight' must be 2-D, got shape {tuple(w.shape)}")
    num = w.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(
            f"embedding: index out of range in self: index {bad} for a weight with {num} rows"
        )
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ArgumentAssertionError(
                f"Padding_idx must be within num_embeddings (got padding_idx={padding_idx} for "
                f"{num} embeddings)"
            )
        padding_idx %= num
    # sparse=True: PyTorch's gradient is a sparse tensor of the looked-up rows; glassgrad's is
    # dense, exact zeros elsewhere (optim.SparseAdam updates only the non-zero rows)
    if max_norm is not None:
        _renorm_rows(w, idx, max_norm, norm_type)
    flat = idx.reshape(-1)
    scale = None
    if padding_idx is not None or scale_grad_by_freq:
        scale = np.ones(flat.shape, w._data.dtype)
        if scale_grad_by_freq:
            scale /= np.bincount(flat, minlength=num)[flat]
        if padding_idx is not None:
            scale[flat == padding_idx] = 0
        scale = scale[:, None]
    return Embedding.apply(w, idx, flat, scale)


def _renorm_rows(w: Tensor, idx: np.ndarray, max_norm: float, norm_type: float) -> None:
    """Scale the looked-up rows whose norm exceeds ``max_norm`` down to it, in place."""
    rows = np.unique(idx)
    sub = w._data[rows]
    norms = np.sum(np.abs(sub) ** norm_type, axis=1) ** (1.0 / norm_type)
    big = norms > max_norm
    if big.any():
        factor = np.where(big, max_norm / (norms + 1e-7), 1.0).astype(w._data.dtype)
        w._data[rows] = sub * factor[:, None]
        bump_version(w)  # (graphs recorded earlier that saved w must see the change)


@functional(differentiable=False)
def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding: shape ``tensor.shape + (num_classes,)`` (-1 infers max + 1).

    >>> import glassgrad as gg
    >>> import glassgrad.nn.functional as F
    >>> F.one_hot(gg.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    t = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if t.dtype != np.int64:
        raise RuntimeError(
            "one_hot is only applicable to index tensor of type LongTensor (got "
            f"{dtypes.name(t.dtype)})."
        )
    if num_classes == -1:
        if t.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(t.max()) + 1
    if t.size:
        if t.min() < 0:
            raise RuntimeError(f"one_hot: Class values must be non-negative (got {t.min()}).")
        if t.max() >= num_classes:
            raise RuntimeError(
                f"one_hot: Class values must be smaller than num_classes (got {t.max()} with "
                f"num_classes={num_classes})."
            )
    elif num_classes < 0:
        raise RuntimeError(f"one_hot: num_classes must be >= -1, got {num_classes}")
    return Tensor._make((t[..., None] == np.arange(num_classes)).astype(np.int64))


# ---- padding ----------------------------------------------------------------------------------


def _pad_array(x: np.ndarray, pads: tuple[tuple[int, int], ...], value: Any) -> np.ndarray:
    """Constant padding of ``x`` by (before, after) per dim; negative amounts crop."""
    crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(x.shape, pads))
    src = x[crop]
    out = np.full(tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, pads)), value, x.dtype)
    dst = tuple(slice(max(lo, 0), max(lo, 0) + n) for n, (lo, _) in zip(src.shape, pads))
    out[dst] = src
    return out


class ConstantPad(Node):
    __slots__ = ("pads",)
    op_name = "ConstantPadNd"

    @staticmethod
    def forward(ctx: Any, x: Any, pads: Any, value: Any) -> Any:
        ctx.pads = pads
        return _pad_array(x, pads, value)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        # the gradient of padding by p is padding by -p: the pad is cropped, the crop re-padded
        undo = tuple((-lo, -hi) for lo, hi in ctx.pads)
        if isinstance(g, Tensor):
            return ConstantPad.apply(g, undo, 0), None, None
        return _pad_array(g, undo, 0), None, None


def _pad_index(mode: str, n: int, lo: int, hi: int) -> np.ndarray:
    """Source positions along one dim for reflect/replicate/circular padding."""
    i = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return i % n
    i = np.abs(i)  # reflect: mirror at both ends, the edge itself not repeated
    return np.where(i >= n, 2 * (n - 1) - i, i)


@functional
def pad(input: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left, right, top, bottom, ...)``.

    ``mode`` is 'constant' (``value``, 0 by default; negative amounts crop), 'reflect',
    'replicate' or 'circular'.

    >>> import glassgrad as gg
    >>> import glassgrad.nn.functional as F
    >>> F.pad(gg.tensor([[1.0, 2.0]]), (1, 0), value=9.0)
    tensor([[9., 1., 2.]])
    """
    x = as_tensor(input)
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError(f"pad: Padding length must be divisible by 2, got {len(pad)}")
    k = len(pad) // 2
    if k > x.ndim:
        raise RuntimeError(
            "pad: Padding length should be less than or equal to two times the input dimension "
            f"but got padding length {len(pad)} and input of dimension {x.ndim}"
        )
    pads = ((0, 0),) * (x.ndim - k) + tuple(
        (pad[2 * j], pad[2 * j + 1]) for j in reversed(range(k))
    )
    for d, ((lo, hi), n) in enumerate(zip(pads, x.shape)):
        if n + lo + hi < 0 or (lo < 0 and -lo > n) or (hi < 0 and -hi > n):
            raise RuntimeError(
                f"pad: padding ({lo}, {hi}) gives dimension {d} of size {n} a negative size "
                f"(input shape {tuple(x.shape)})"
            )
    if mode == "constant":
        return ConstantPad.apply(x, pads, 0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'pad: Padding mode "{mode}" doesn\'t take in value argument')
    if x.ndim not in (k + 1, k + 2) or k > 3:
        raise NotImplementedError(
            f"pad: Padding size {len(pad)} is not supported for {x.ndim}D input tensor in mode "
            f"{mode!r}: use 2 (2D or 3D input), 4 (3D or 4D input) or 6 (4D or 5D input)"
        )
    out = x
    # PyTorch's reflect/replicate padding is one node (ReflectionPad2DBackward0...): here the
    # last dim's gather is recorded under that name (circular: PyTorch copies slices in place)
    named = _PAD_NODES.get((mode, k))
    last = max((d for d in range(x.ndim - k, x.ndim) if pads[d] != (0, 0)), default=x.ndim - 1)
    for d in range(x.ndim - k, x.ndim):
        lo, hi = pads[d]
        n = x.shape[d]
        if (mode == "reflect" and (lo >= n or hi >= n)) or (
            mode == "circular" and (lo > n or hi > n)
        ):
            raise RuntimeError(
                f"pad: padding ({lo}, {hi}) is too large for dimension {d} of size {n} in mode "
                f"{mode!r} (input shape {tuple(x.shape)})"
            )
        if mode == "replicate" and n == 0:
            raise RuntimeError(f"pad: cannot replicate-pad the empty dimension {d}")
        if d == last and named is not None:
            index = (slice(None),) * d + (_pad_index(mode, n, lo, hi),)
            out = named.apply(out, index, ADVANCED)
        elif lo or hi:
            out = out[(slice(None),) * d + (_pad_index(mode, n, lo, hi),)]
    return out


_PAD_NODES: dict[tuple[str, int], Any] = {
    (mode, k): type(f"{name}Pad{k}D", (Index,), {"__slots__": ()})
    for mode, name in (("reflect", "Reflection"), ("replicate", "Replication"))
    for k in (1, 2, 3)
}
