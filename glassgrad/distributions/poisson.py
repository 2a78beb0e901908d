"""``torch.distributions.poisson``: where PyTorch programs import ``Poisson`` from."""

from glassgrad.distributions.more import Poisson

__all__ = ["Poisson"]
