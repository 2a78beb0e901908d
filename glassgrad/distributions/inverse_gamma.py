"""``torch.distributions.inverse_gamma``: where PyTorch programs import ``InverseGamma`` from."""

from glassgrad.distributions.univariate import InverseGamma

__all__ = ["InverseGamma"]
