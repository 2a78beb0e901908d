"""``torch.distributions.fishersnedecor``: where PyTorch programs import ``FisherSnedecor`` from."""

from glassgrad.distributions.univariate import FisherSnedecor

__all__ = ["FisherSnedecor"]
