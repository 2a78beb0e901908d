"""``torch.distributions.cauchy``: where PyTorch programs import ``Cauchy`` from."""

from glassgrad.distributions.more import Cauchy

__all__ = ["Cauchy"]
