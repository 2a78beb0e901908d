"""``torch.distributions.geometric``: where PyTorch programs import ``Geometric`` from."""

from glassgrad.distributions.more import Geometric

__all__ = ["Geometric"]
