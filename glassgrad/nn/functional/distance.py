"""Similarities and bilinear forms: ``cosine_similarity``, ``pairwise_distance``, ``bilinear``.

All three are compositions of recorded ops, written as PyTorch's own composite kernels are, so
their gradients (at every order) and their last node names are PyTorch's.
"""

from __future__ import annotations

from glassgrad.ops._common import Tensor, as_tensor
from glassgrad.ops.comparison import clamp
from glassgrad.ops.reductions import Norm, norm
from glassgrad.ops.registry import FUNCTIONAL, TORCH, functional
from glassgrad.ops.shape import broadcast_tensors


@functional(namespaces=(TORCH, FUNCTIONAL))
def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1·x2 / (max(||x1||, eps) max(||x2||, eps)) along ``dim`` (inputs broadcast).

    As in PyTorch each input is divided by its own norm first, and the clamp at ``eps`` does
    not change the gradient (it is applied outside the graph).
    """
    a, b = broadcast_tensors(as_tensor(x1), as_tensor(x2))
    if a._data.dtype.kind != "f":
        a, b = a.double(), b.double()

    def unit(t: Tensor) -> Tensor:
        n = norm(t, 2, dim, True)
        held = n.detach()
        return t / (n + (clamp(held, min=eps) - held))

    return (unit(a) * unit(b)).sum(dim)


class _PairwiseNorm(Norm):
    """PyTorch computes pairwise_distance with ``at::norm``: ``NormBackward1``."""

    __slots__ = ()
    op_name = "Norm"
    variant = 1


@functional(namespaces=(TORCH, FUNCTIONAL))
def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """||x1 - x2 + eps||_p along the last dim (inputs broadcast)."""
    a, b = as_tensor(x1), as_tensor(x2)
    diff = a - b + eps
    if diff._data.dtype.kind != "f":
        raise RuntimeError(f"pairwise_distance: expected floating-point inputs, got {diff.dtype}")
    dim = max(a.ndim, b.ndim) - 1
    return _PairwiseNorm.apply(diff, float(p), (dim,) if dim >= 0 else (), keepdim)


@functional(namespaces=(TORCH, FUNCTIONAL))
def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_k = x1ᵀ W_k x2 + b_k for inputs (*, in1), (*, in2) and a weight (out, in1, in2)."""
    a, b, w = as_tensor(input1), as_tensor(input2), as_tensor(weight)
    if w.ndim != 3:
        raise RuntimeError(
            f"bilinear: expected a 3-D weight (out, in1, in2), got size {list(w.shape)}"
        )
    out, in1, in2 = w.shape
    if a.ndim == 0 or a.shape[:-1] != b.shape[:-1]:
        raise RuntimeError(
            f"bilinear(): input batch dimensions do not match: got {list(a.shape[:-1])} and "
            f"{list(b.shape[:-1])}"
        )
    if a.shape[-1] != in1 or b.shape[-1] != in2:
        raise RuntimeError(
            f"bilinear(): input sizes do not match: input1 {list(a.shape)}, input2 "
            f"{list(b.shape)}, weight {list(w.shape)}"
        )
    lead = tuple(a.shape[:-1])
    rows = 1
    for n in lead:
        rows *= n
    t = a.reshape(rows, in1) @ w.permute(1, 0, 2).reshape(in1, out * in2)
    y = (t.reshape(rows, out, in2) * b.reshape(rows, 1, in2)).sum(-1)
    y = y.view(*lead, out)
    if bias is not None:
        bb = as_tensor(bias)
        if tuple(bb.shape) != (out,):
            raise RuntimeError(
                f"bilinear(): bias size does not match weight size: got bias of size "
                f"{list(bb.shape)} but expected {out} elements"
            )
        y = y + bb
    return y
