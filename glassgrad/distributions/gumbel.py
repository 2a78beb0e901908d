"""``torch.distributions.gumbel``: where PyTorch programs import ``Gumbel`` from."""

from glassgrad.distributions.univariate import Gumbel

__all__ = ["Gumbel"]
