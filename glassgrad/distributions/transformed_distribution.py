"""The `torch.distributions.transformed_distribution` import path."""

from glassgrad.distributions.more import TransformedDistribution

__all__ = ["TransformedDistribution"]
