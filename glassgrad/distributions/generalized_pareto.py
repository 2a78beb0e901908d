"""``torch.distributions.generalized_pareto``: where PyTorch programs import
``GeneralizedPareto`` from."""

from glassgrad.distributions.univariate import GeneralizedPareto

__all__ = ["GeneralizedPareto"]
