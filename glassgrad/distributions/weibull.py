"""``torch.distributions.weibull``: where PyTorch programs import ``Weibull`` from."""

from glassgrad.distributions.univariate import Weibull

__all__ = ["Weibull"]
