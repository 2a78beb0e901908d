"""``torch.distributions.independent``: where PyTorch programs import ``Independent`` from."""

from glassgrad.distributions.more import Independent

__all__ = ["Independent"]
