"""``torch.distributions.binomial``: where PyTorch programs import ``Binomial`` from."""

from glassgrad.distributions.more import Binomial

__all__ = ["Binomial"]
