"""Distance layers: ``CosineSimilarity PairwiseDistance``, over ``F.cosine_similarity`` and
``F.pairwise_distance``.

>>> import glassgrad as gg
>>> CosineSimilarity(dim=0)(gg.tensor([1.0, 0.0]), gg.tensor([1.0, 1.0]))
tensor(0.7071)
"""

from __future__ import annotations

from glassgrad.nn import functional as F
from glassgrad.nn.module import Module
from glassgrad.tensor import Tensor

__all__ = ["CosineSimilarity", "PairwiseDistance"]


class CosineSimilarity(Module):
    """Cosine of the angle between x1 and x2 along ``dim``."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p along the last dim."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
