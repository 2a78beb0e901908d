"""The `torch.distributions.one_hot_categorical` import path."""

from glassgrad.distributions.more import OneHotCategorical

__all__ = ["OneHotCategorical"]
