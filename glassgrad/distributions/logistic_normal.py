"""``torch.distributions.logistic_normal``: where PyTorch programs import
``LogisticNormal`` from."""

from glassgrad.distributions.lowrank_multivariate_normal import LogisticNormal

__all__ = ["LogisticNormal"]
