"""``torch.distributions.kumaraswamy``: where PyTorch programs import ``Kumaraswamy`` from."""

from glassgrad.distributions.univariate import Kumaraswamy

__all__ = ["Kumaraswamy"]
