"""``torch.distributions.log_normal``: where PyTorch programs import ``LogNormal`` from."""

from glassgrad.distributions.more import LogNormal

__all__ = ["LogNormal"]
