"""``torch.distributions.laplace``: where PyTorch programs import ``Laplace`` from."""

from glassgrad.distributions.more import Laplace

__all__ = ["Laplace"]
