"""``torch.distributions.pareto``: where PyTorch programs import ``Pareto`` from."""

from glassgrad.distributions.univariate import Pareto

__all__ = ["Pareto"]
