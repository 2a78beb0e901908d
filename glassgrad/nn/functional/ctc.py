"""Connectionist temporal classification: ``ctc_loss``.

The loss of one sequence is ``-log p(target | log_probs)``, summed over every alignment of the
target (blanks between and around its labels, repeats merged) by the log-space forward (alpha)
recursion. The gradient is PyTorch's: from the alpha and backward (beta) variables,
``exp(lp) - exp(log Σ_{s: l'_s = c} α_t(s) β_t(s) + nll - lp)``, which is the gradient with
respect to the logits of a ``log_softmax`` (the usual input), as in PyTorch's kernels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.nn.functional._pointwise_loss import REDUCTION_ENUM, _reduction
from glassgrad.ops._common import Node, Tensor, as_tensor
from glassgrad.ops.registry import FUNCTIONAL, TORCH, functional

_NEG = -np.inf


def _lse(*xs: np.ndarray) -> np.ndarray:
    """log Σ exp over the arrays, -inf where all are -inf (no NaN)."""
    m = np.maximum.reduce(xs)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.where(np.isfinite(m), safe + np.log(sum(np.exp(x - safe) for x in xs)), m)


def _extended(target: np.ndarray, blank: int) -> np.ndarray:
    """l': the target with a blank before, between and after its labels."""
    ext = np.full(2 * len(target) + 1, blank, np.int64)
    ext[1::2] = target
    return ext


def _alpha_beta(
    lp: np.ndarray, ext: np.ndarray, blank: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Log-space forward and backward variables (T, S') of one sequence, and its nll."""
    t_len, s_len = lp.shape[0], len(ext)
    # s may come from s - 2 when l'_s is a label different from l'_{s-2}
    skip = np.zeros(s_len, bool)
    skip[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
    emit = lp[:, ext]  # (T, S')
    alpha = np.full((t_len, s_len), _NEG)
    beta = np.full((t_len, s_len), _NEG)
    if t_len == 0:
        return alpha, beta, (0.0 if s_len == 1 else np.inf)
    alpha[0, 0] = emit[0, 0]
    if s_len > 1:
        alpha[0, 1] = emit[0, 1]
    for t in range(1, t_len):
        prev = alpha[t - 1]
        one = np.concatenate([[_NEG], prev])[:s_len]
        two = np.where(skip, np.concatenate([[_NEG, _NEG], prev])[:s_len], _NEG)
        alpha[t] = emit[t] + _lse(prev, one, two)
    beta[-1, -1] = emit[-1, -1]
    if s_len > 1:
        beta[-1, -2] = emit[-1, -2]
    skip_back = np.zeros(s_len, bool)  # s + 2 reachable from s
    skip_back[:-2] = skip[2:]
    for t in range(t_len - 2, -1, -1):
        nxt = beta[t + 1]
        one = np.concatenate([nxt[1:], [_NEG]])
        two = np.where(skip_back, np.concatenate([nxt, [_NEG, _NEG]])[2:], _NEG)
        beta[t] = emit[t] + _lse(nxt, one, two)
    ends = alpha[-1, -2:] if s_len > 1 else alpha[-1, -1:]
    return alpha, beta, float(-_lse(*ends))


class _Targets(tuple):
    """The target sequences (of differing lengths): a plain argument, not a tensor to convert."""


class CtcLoss(Node):
    """Per-sequence negative log-likelihoods (N,) of the targets under log_probs (T, N, C)."""

    __slots__ = ("grad",)

    @staticmethod
    def forward(
        ctx: Any,
        lp: Any,
        targets: tuple[np.ndarray, ...],
        in_lens: tuple[int, ...],
        blank: int,
        zero_infinity: bool,
    ) -> Any:
        n = lp.shape[1]
        out = np.zeros(n, lp.dtype)
        grad = np.zeros(lp.shape, lp.dtype)
        for b in range(n):
            t_len = in_lens[b]
            x = lp[:t_len, b].astype(np.float64)
            ext = _extended(targets[b], blank)
            alpha, beta, nll = _alpha_beta(x, ext, blank)
            if zero_infinity and np.isinf(nll):
                continue  # loss and gradient 0
            out[b] = nll
            ab = alpha + beta  # (T, S'): both include lp[t, l'_s]
            occ = np.full(x.shape, _NEG)
            for c in np.unique(ext):
                occ[:, c] = (
                    _lse(*ab[:, ext == c].T) if (ext == c).sum() > 1 else ab[:, ext == c][:, 0]
                )
            with np.errstate(invalid="ignore", over="ignore"):
                grad[:t_len, b] = np.exp(x) - np.exp(occ + nll - x)
        ctx.grad = grad
        ctx.save_for_backward(lp)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        if isinstance(g, Tensor):
            (lp,) = ctx.saved_tensors  # an input, so that differentiating again reaches the error
            return CtcLossBackward.apply(g, lp, ctx.grad), None, None, None, None
        return g[None, :, None] * ctx.grad, None, None, None, None


class CtcLossBackward(Node):
    """The gradient of ``ctc_loss`` under ``create_graph``: not differentiable, as in PyTorch."""

    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, g: Any, lp: Any, grad: np.ndarray) -> Any:
        return g[None, :, None] * grad

    @staticmethod
    def backward(ctx: Any, gg: Any) -> Any:
        raise RuntimeError("derivative for ctc_loss's backward is not implemented (nor in PyTorch)")


def _lengths(op: str, name: str, v: Any, n: int) -> list[int]:
    arr = np.asarray(v._data if isinstance(v, Tensor) else v)
    if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and np.all(arr == np.round(arr))):
        raise RuntimeError(f"{op}: {name} must be integers, got dtype {arr.dtype}")
    arr = arr.reshape(-1).astype(np.int64)
    if arr.shape[0] != n:
        raise RuntimeError(
            f"{op}: expected {name} to have one entry per sequence ({n}), but got {arr.shape[0]}"
        )
    return [int(a) for a in arr]


@functional(namespaces=(TORCH, FUNCTIONAL))
def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Any,
    target_lengths: Any,
    blank: int = 0,
    reduction: str | int = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """CTC loss of log-probabilities (T, N, C) or (T, C) against padded or concatenated targets."""
    op = "ctc_loss"
    if isinstance(reduction, int) and not isinstance(reduction, bool):  # torch.ctc_loss's enum
        reduction = REDUCTION_ENUM[reduction]
    reduction = _reduction(op, None, None, str(reduction))
    lp = as_tensor(log_probs)
    if lp.ndim not in (2, 3) or lp._data.dtype.kind != "f":
        raise RuntimeError(
            f"{op}: expected log_probs of shape (T, N, C) or (T, C) and a floating dtype, but "
            f"got shape {list(lp.shape)} and dtype {lp.dtype}"
        )
    unbatched = lp.ndim == 2
    if unbatched:
        lp = lp.unsqueeze(1)
    t_max, n, c = lp.shape
    tg = np.asarray(targets._data if isinstance(targets, Tensor) else targets)
    if unbatched:
        tg = tg.reshape(1, -1)
    in_lens = _lengths(op, "input_lengths", input_lengths, n)
    tg_lens = _lengths(op, "target_lengths", target_lengths, n)
    if not 0 <= blank < c:
        raise RuntimeError(f"{op}: blank must be in label range [0, {c}), got {blank}")
    seqs: list[np.ndarray] = []
    if tg.ndim == 2 and tg.shape[0] == n:
        for b, length in enumerate(tg_lens):
            if length > tg.shape[1]:
                raise RuntimeError(
                    f"{op}: expected target_lengths[{b}] = {length} to be at most the padded "
                    f"target length {tg.shape[1]} (targets {list(tg.shape)})"
                )
            seqs.append(tg[b, :length].astype(np.int64))
    elif tg.ndim == 1:
        if tg.shape[0] < sum(tg_lens):
            raise RuntimeError(
                f"{op}: concatenated targets of length {tg.shape[0]} are shorter than the sum of "
                f"target_lengths {sum(tg_lens)}"
            )
        ends = np.cumsum([0, *tg_lens])
        seqs = [tg[ends[b] : ends[b + 1]].astype(np.int64) for b in range(n)]
    else:
        raise RuntimeError(
            f"{op}: expected targets of shape (N, S) with N = {n} or a 1-d concatenation, but got "
            f"{list(tg.shape)} for log_probs {list(log_probs.shape)}"
        )
    for b, (t_len, s) in enumerate(zip(in_lens, seqs)):
        if not 0 <= t_len <= t_max:
            raise RuntimeError(
                f"{op}: expected input_lengths[{b}] = {t_len} to be in [0, {t_max}] "
                f"(log_probs {list(log_probs.shape)})"
            )
        if len(s) and (s.min() < 0 or s.max() >= c or np.any(s == blank)):
            raise RuntimeError(
                f"{op}: targets of sequence {b} must be labels in [0, {c}) other than the blank "
                f"{blank}, got {s.tolist()}"
            )
    loss = CtcLoss.apply(lp, _Targets(seqs), tuple(in_lens), blank, bool(zero_infinity))
    if zero_infinity and reduction == "none":
        from glassgrad.ops.comparison import where

        # the node already zeroed them; the where is PyTorch's last node (WhereBackward0)
        loss = where(as_tensor(np.isinf(loss._data)), as_tensor(np.zeros((), loss.dtype)), loss)
    if reduction == "mean":
        lens = np.maximum(np.asarray(tg_lens, dtype=loss.dtype), 1)
        loss = (loss / as_tensor(lens)).mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss.squeeze(0) if unbatched and reduction == "none" else loss
