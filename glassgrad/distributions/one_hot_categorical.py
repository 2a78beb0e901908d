"""``torch.distributions.one_hot_categorical``: ``OneHotCategorical`` and its straight-through
variant, whose samples carry the probabilities' gradient."""

from __future__ import annotations

from typing import Any

from glassgrad.distributions.more import OneHotCategorical
from glassgrad.tensor import Tensor

__all__ = ["OneHotCategorical", "OneHotCategoricalStraightThrough"]


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """One-hot samples in the forward pass, the gradient of ``probs`` in the backward pass:
    ``sample + (probs - probs.detach())`` (Bengio et al., 2013)."""

    has_rsample = True

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        samples = self.sample(sample_shape)
        probs = self._categorical.probs
        return samples + (probs - probs.detach())
