"""``torch.distributions.half_cauchy``: where PyTorch programs import ``HalfCauchy`` from."""

from glassgrad.distributions.univariate import HalfCauchy

__all__ = ["HalfCauchy"]
