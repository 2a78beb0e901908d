"""``torch.distributions.negative_binomial``: where PyTorch programs import
``NegativeBinomial`` from."""

from glassgrad.distributions.counts import NegativeBinomial

__all__ = ["NegativeBinomial"]
