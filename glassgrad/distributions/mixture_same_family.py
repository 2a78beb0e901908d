"""The `torch.distributions.mixture_same_family` import path."""

from glassgrad.distributions.more import MixtureSameFamily

__all__ = ["MixtureSameFamily"]
