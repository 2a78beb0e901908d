"""``torch.distributions.studentT``: where PyTorch programs import ``StudentT`` from."""

from glassgrad.distributions.more import StudentT

__all__ = ["StudentT"]
