"""``torch.distributions.exponential``: where PyTorch programs import ``Exponential`` from."""

from glassgrad.distributions.more import Exponential

__all__ = ["Exponential"]
