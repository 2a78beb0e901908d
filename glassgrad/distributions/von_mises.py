"""``torch.distributions.von_mises``: where PyTorch programs import ``VonMises`` from."""

from glassgrad.distributions.univariate import VonMises

__all__ = ["VonMises"]
