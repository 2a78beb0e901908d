"""``torch.distributions.continuous_bernoulli``: where PyTorch programs import
``ContinuousBernoulli`` from."""

from glassgrad.distributions.bernoulli_family import ContinuousBernoulli

__all__ = ["ContinuousBernoulli"]
