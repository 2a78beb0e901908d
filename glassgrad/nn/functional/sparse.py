"""``embedding_bag``: sums, means or maxima of bags of embedding rows, without materialising
the looked-up rows' graph (one ``EmbeddingBagBackward0`` node, as in PyTorch).

Bags are given as a 2-D index tensor (one bag per row) or as a flat index tensor with
``offsets`` (bag i starts at ``offsets[i]``). The rule scatters each bag's gradient back to its
rows (scaled by the per-sample weight, or 1 / bag size for 'mean'; for 'max' only to each
column's winning row) through the differentiable gather/scatter pair of ``ops.indexing``, so
it also runs under ``create_graph``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.nn.functional.norm import _renorm_rows
from glassgrad.ops._common import Node, Tensor, as_tensor
from glassgrad.ops.indexing import ADVANCED, _into_zeros, _pick
from glassgrad.ops.registry import functional


class BagPlan:
    """The arrays of one call: which rows feed which bag, with which factor."""

    __slots__ = ("bag", "counts", "first", "gscale", "idx", "keep", "mode", "n_bags", "scale")

    def __init__(self, idx: np.ndarray, bag: np.ndarray, keep: np.ndarray, mode: str, n_bags: int):
        self.keep = keep  # positions (into the flat input) that are not padding
        self.idx, self.bag = idx[keep], bag[keep]
        self.mode, self.n_bags = mode, n_bags
        self.counts = np.bincount(self.bag, minlength=n_bags)
        self.scale: Any = None  # per kept entry: 1 / bag size ('mean'), as a column
        self.gscale: Any = None  # the gradient's factor (also / row frequency if asked)
        self.first: Any = None  # 'max': the entry that wins each (bag, column)


def _rows(ctx: Any, g: Any) -> Any:
    """g of each kept entry's bag: (M, D)."""
    return _pick(g, (ctx.plan.bag,), ADVANCED)


class EmbeddingBag(Node):
    __slots__ = ("num", "plan")

    @staticmethod
    def forward(ctx: Any, w: Any, psw: Any, plan: BagPlan) -> Any:
        ctx.plan, ctx.num = plan, w.shape[0]
        ctx.save_for_backward(w, psw)
        dim = w.shape[1]
        vals = w[plan.idx]
        out = np.zeros((plan.n_bags, dim), w.dtype)
        if plan.mode == "max":
            if len(plan.idx):
                best = np.full((plan.n_bags, dim), -np.inf, w.dtype)
                np.maximum.at(best, plan.bag, vals)
                hit = vals == best[plan.bag]
                cand = np.where(hit, np.arange(len(plan.idx))[:, None], len(plan.idx))
                first = np.full((plan.n_bags, dim), len(plan.idx))
                np.minimum.at(first, plan.bag, cand)
                filled = first < len(plan.idx)
                out[filled] = best[filled]
                plan.first = first
            return out
        if psw is not None:
            vals = vals * psw[plan.keep][:, None]
        if plan.scale is not None:
            vals = vals * plan.scale
        np.add.at(out, plan.bag, vals)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        w, psw = ctx.saved_tensors
        nw, npsw = ctx.next[:2]
        plan = ctx.plan
        gw = gp = None
        if plan.mode == "max":
            if nw is not None:
                first = plan.first
                if first is None:  # no entries at all
                    first = np.zeros((0, 0), np.int64)
                b, d = np.nonzero(first < len(plan.idx))
                rows = plan.idx[first[b, d]]
                gw = _into_zeros(_pick(g, (b, d), ADVANCED), tuple(w.shape), (rows, d), ADVANCED)
            return gw, None, None
        rows = _rows(ctx, g)  # (M, D)
        if nw is not None:
            r = rows
            if psw is not None:
                r = r * _pick(psw, (plan.keep,), ADVANCED).reshape(-1, 1)
            if plan.gscale is not None:
                r = r * plan.gscale
            gw = _into_zeros(r, tuple(w.shape), (plan.idx,), ADVANCED)
        if npsw is not None:
            dots = np.sum(rows * _pick(w, (plan.idx,), ADVANCED), axis=-1)
            gp = _into_zeros(dots, tuple(psw.shape), (plan.keep,), ADVANCED)
        return gw, gp, None


_MODES = {"sum": 0, "mean": 1, "max": 2}


def _ints(x: Any) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> tuple[Tensor, BagPlan]:
    op = "embedding_bag"
    idx = _ints(input)
    w = as_tensor(weight)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            f"{op}: Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {dtypes.name(idx.dtype)} instead"
        )
    if w.ndim != 2:
        raise ValueError(
            f"{op}: weight has to be a 2D Tensor, but got Tensor of dimension {w.ndim}"
        )
    if mode not in _MODES:
        raise ValueError(f"{op}: mode has to be one of sum, mean or max, got {mode!r}")
    # sparse=True: a dense gradient, zero on the rows no bag used (see F.embedding)
    psw = None if per_sample_weights is None else as_tensor(per_sample_weights)
    if psw is not None:
        if mode != "sum":
            raise NotImplementedError(
                f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
                "GitHub."
            )
        if tuple(psw.shape) != idx.shape:
            raise ValueError(
                f"embedding_bag: per_sample_weights (shape {list(psw.shape)}) must have the same "
                f"shape as input (shape {list(idx.shape)})"
            )
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a mini-batch "
                "of fixed length sequences. However, found offsets of type Tensor"
            )
        n_bags, length = idx.shape
        off = np.arange(0, n_bags * length, length, dtype=np.int64)
        flat = idx.reshape(-1)
        ends = off + length
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        off = _ints(offsets).astype(np.int64)
        if off.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        flat = idx
        if include_last_offset:
            if off.size == 0:
                raise ValueError(f"{op}: include_last_offset needs at least one offset")
            # the last bag runs to the end of the input (PyTorch's CPU kernel does the same)
            ends = np.append(off[2:], flat.shape[0])
            off = off[:-1]
        else:
            ends = np.append(off[1:], flat.shape[0])
        n_bags = off.shape[0]
        if n_bags and (off[0] != 0 or np.any(np.diff(np.append(off, ends[-1:])) < 0)):
            raise RuntimeError(
                f"{op}: offsets must start at 0 and be non-decreasing, got {off.tolist()}"
            )
        if n_bags and ends[-1] > flat.shape[0]:
            raise RuntimeError(
                f"{op}: offsets point past the end of the input ({ends[-1]} > {flat.shape[0]})"
            )
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {idx.ndim}")
    num = w.shape[0]
    flat = flat.astype(np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= num):
        bad = flat.min() if flat.min() < 0 else flat.max()
        raise IndexError(f"{op}: index {bad} out of range for a weight with {num} rows")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise AssertionError(
                f"padding_idx must be within the number of embeddings (got {padding_idx} for {num})"
            )
        padding_idx %= num
    if max_norm is not None:
        _renorm_rows(w, flat, max_norm, norm_type)
    pos = np.arange(flat.shape[0])
    bag = np.searchsorted(off, pos, side="right") - 1 if n_bags else np.zeros(0, np.int64)
    inside = pos < (ends[-1] if n_bags else 0)
    keep = np.nonzero(inside & (flat != padding_idx if padding_idx is not None else True))[0]
    plan = BagPlan(flat, bag, keep, mode, n_bags)
    if mode == "mean":
        plan.scale = (1.0 / np.maximum(plan.counts, 1)[plan.bag]).astype(w._data.dtype)[:, None]
    plan.gscale = plan.scale
    if scale_grad_by_freq and mode != "max":  # PyTorch's rescaled gradient (not a derivative)
        freq = np.bincount(plan.idx, minlength=num)[plan.idx].astype(w._data.dtype)[:, None]
        plan.gscale = 1.0 / freq if plan.scale is None else plan.scale / freq
    out = EmbeddingBag.apply(w, psw.reshape(-1) if psw is not None else None, plan)
    return out, plan


@functional(torch_function=lambda *a, **k: _torch_embedding_bag(*a, **k))
def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Per bag, the sum / mean / max of the rows of ``weight`` its indices pick: (bags, dim).

    >>> import glassgrad as gg
    >>> import glassgrad.nn.functional as F
    >>> w = gg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> F.embedding_bag(gg.tensor([0, 2, 1]), w, gg.tensor([0, 2]), mode="sum")
    tensor([[6., 8.],
            [3., 4.]])
    """
    return _embedding_bag(
        input,
        weight,
        offsets,
        max_norm,
        norm_type,
        scale_grad_by_freq,
        mode,
        sparse,
        per_sample_weights,
        include_last_offset,
        padding_idx,
    )[0]


def _torch_embedding_bag(
    weight: Tensor,
    indices: Tensor,
    offsets: Tensor,
    scale_grad_by_freq: bool = False,
    mode: int = 0,
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``torch.embedding_bag``: weight first, mode as 0/1/2 (sum/mean/max); the output, then
    each entry's bag, the bag sizes and (for max) each output's winning row."""
    out, plan = _embedding_bag(
        indices,
        weight,
        offsets,
        None,
        2,
        scale_grad_by_freq,
        {v: k for k, v in _MODES.items()}[int(mode)],
        sparse,
        per_sample_weights,
        include_last_offset,
        padding_idx,
    )
    rows = np.zeros(tuple(out.shape), np.int64)
    if plan.first is not None:
        won = plan.first < len(plan.idx)
        rows[won] = plan.idx[plan.first[won]]
    bags = np.zeros(len(plan.keep) and plan.keep.max() + 1, np.int64)
    bags[plan.keep] = plan.bag
    return out, Tensor._make(bags), Tensor._make(plan.counts.astype(np.int64)), Tensor._make(rows)
