"""``torch.distributions.relaxed_bernoulli``: where PyTorch programs import ``RelaxedBernoulli``
and ``LogitRelaxedBernoulli`` from."""

from glassgrad.distributions.bernoulli_family import LogitRelaxedBernoulli, RelaxedBernoulli

__all__ = ["LogitRelaxedBernoulli", "RelaxedBernoulli"]
