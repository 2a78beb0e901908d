"""``torch.distributions.multinomial``: where PyTorch programs import ``Multinomial`` from."""

from glassgrad.distributions.counts import Multinomial

__all__ = ["Multinomial"]
