"""``glassgrad.distributions``, as ``torch.distributions``: Normal, Uniform, Bernoulli,
Categorical, MultivariateNormal, Gamma, Beta, Dirichlet and ``kl_divergence``.

Densities, entropies, moments and KL divergences are built from glassgrad ops, so they are
differentiable in the parameters (``lgamma``/``digamma`` and the Cholesky factor are nodes of
their own, in ``_special``). ``rsample`` is reparameterised: explicitly for Normal,
Uniform and MultivariateNormal, implicitly (as PyTorch) for Gamma, Beta and Dirichlet.

>>> import glassgrad as gg
>>> from glassgrad.distributions import Normal, kl_divergence
>>> kl_divergence(Normal(gg.tensor(0.0), gg.tensor(1.0)), Normal(gg.tensor(1.0), gg.tensor(1.0)))
tensor(0.5000)
"""

from glassgrad.distributions import (
    constraints,
    transforms,
)
from glassgrad.distributions.bernoulli import Bernoulli
from glassgrad.distributions.categorical import Categorical
from glassgrad.distributions.distribution import Distribution
from glassgrad.distributions.gamma import Beta, Dirichlet, Gamma
from glassgrad.distributions.kl import kl_divergence, register_kl
from glassgrad.distributions.more import (
    Binomial,
    Cauchy,
    Exponential,
    Geometric,
    Independent,
    Laplace,
    LogNormal,
    MixtureSameFamily,
    OneHotCategorical,
    Poisson,
    RelaxedOneHotCategorical,
    StudentT,
    TransformedDistribution,
)
from glassgrad.distributions.multivariate_normal import MultivariateNormal
from glassgrad.distributions.normal import Normal
from glassgrad.distributions.transforms import (
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    PowerTransform,
    SigmoidTransform,
    SoftplusTransform,
    TanhTransform,
    Transform,
    identity_transform,
)
from glassgrad.distributions.uniform import Uniform

__all__ = [
    "AffineTransform",
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "Cauchy",
    "ComposeTransform",
    "Dirichlet",
    "Distribution",
    "ExpTransform",
    "Exponential",
    "Gamma",
    "Geometric",
    "Independent",
    "Laplace",
    "LogNormal",
    "MixtureSameFamily",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "Poisson",
    "PowerTransform",
    "RelaxedOneHotCategorical",
    "SigmoidTransform",
    "SoftplusTransform",
    "StudentT",
    "TanhTransform",
    "Transform",
    "TransformedDistribution",
    "Uniform",
    "constraints",
    "identity_transform",
    "kl_divergence",
    "register_kl",
    "transforms",
]
