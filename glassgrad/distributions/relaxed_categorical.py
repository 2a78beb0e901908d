"""The `torch.distributions.relaxed_categorical` import path."""

from glassgrad.distributions.more import RelaxedOneHotCategorical

__all__ = ["RelaxedOneHotCategorical"]
