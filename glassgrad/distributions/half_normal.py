"""``torch.distributions.half_normal``: where PyTorch programs import ``HalfNormal`` from."""

from glassgrad.distributions.univariate import HalfNormal

__all__ = ["HalfNormal"]
