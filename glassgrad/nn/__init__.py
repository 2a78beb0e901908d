"""Neural-network building blocks; ``glassgrad.nn.functional`` holds the stateless ops."""

from glassgrad.nn import functional

__all__ = ["functional"]
