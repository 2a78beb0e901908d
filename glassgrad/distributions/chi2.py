"""``torch.distributions.chi2``: where PyTorch programs import ``Chi2`` from."""

from glassgrad.distributions.univariate import Chi2

__all__ = ["Chi2"]
