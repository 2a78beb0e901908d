"""``glassgrad.distributions``, as ``torch.distributions``: Normal, Uniform, Bernoulli,
Categorical, MultivariateNormal, Gamma, Beta, Dirichlet and the rest of PyTorch's families,
``kl_divergence``, the transforms and ``biject_to``/``transform_to``.

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
    constraint_registry,
    constraints,
    relaxed_bernoulli,
    transforms,
)
from glassgrad.distributions.bernoulli import Bernoulli
from glassgrad.distributions.bernoulli_family import (
    ContinuousBernoulli,
    RelaxedBernoulli,
)
from glassgrad.distributions.categorical import Categorical
from glassgrad.distributions.constraint_registry import biject_to, transform_to
from glassgrad.distributions.counts import Multinomial, NegativeBinomial
from glassgrad.distributions.distribution import Distribution
from glassgrad.distributions.exp_family import ExponentialFamily
from glassgrad.distributions.gamma import Beta, Dirichlet, Gamma
from glassgrad.distributions.kl import kl_divergence, register_kl
from glassgrad.distributions.lkj_cholesky import LKJCholesky
from glassgrad.distributions.lowrank_multivariate_normal import (
    LogisticNormal,
    LowRankMultivariateNormal,
)
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
from glassgrad.distributions.one_hot_categorical import OneHotCategoricalStraightThrough
from glassgrad.distributions.transforms import (
    AbsTransform,
    AffineTransform,
    CatTransform,
    ComposeTransform,
    CorrCholeskyTransform,
    CumulativeDistributionTransform,
    ExpTransform,
    IndependentTransform,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    PowerTransform,
    ReshapeTransform,
    SigmoidTransform,
    SoftmaxTransform,
    SoftplusTransform,
    StackTransform,
    StickBreakingTransform,
    TanhTransform,
    Transform,
    identity_transform,
)
from glassgrad.distributions.uniform import Uniform
from glassgrad.distributions.univariate import (
    Chi2,
    FisherSnedecor,
    GeneralizedPareto,
    Gumbel,
    HalfCauchy,
    HalfNormal,
    InverseGamma,
    Kumaraswamy,
    Pareto,
    VonMises,
    Weibull,
)
from glassgrad.distributions.wishart import Wishart

__all__ = [
    "AbsTransform",
    "AffineTransform",
    "Bernoulli",
    "Beta",
    "Binomial",
    "CatTransform",
    "Categorical",
    "Cauchy",
    "Chi2",
    "ComposeTransform",
    "ContinuousBernoulli",
    "CorrCholeskyTransform",
    "CumulativeDistributionTransform",
    "Dirichlet",
    "Distribution",
    "ExpTransform",
    "Exponential",
    "ExponentialFamily",
    "FisherSnedecor",
    "Gamma",
    "GeneralizedPareto",
    "Geometric",
    "Gumbel",
    "HalfCauchy",
    "HalfNormal",
    "Independent",
    "IndependentTransform",
    "InverseGamma",
    "Kumaraswamy",
    "LKJCholesky",
    "Laplace",
    "LogNormal",
    "LogisticNormal",
    "LowRankMultivariateNormal",
    "LowerCholeskyTransform",
    "MixtureSameFamily",
    "Multinomial",
    "MultivariateNormal",
    "NegativeBinomial",
    "Normal",
    "OneHotCategorical",
    "OneHotCategoricalStraightThrough",
    "Pareto",
    "Poisson",
    "PositiveDefiniteTransform",
    "PowerTransform",
    "RelaxedBernoulli",
    "RelaxedOneHotCategorical",
    "ReshapeTransform",
    "SigmoidTransform",
    "SoftmaxTransform",
    "SoftplusTransform",
    "StackTransform",
    "StickBreakingTransform",
    "StudentT",
    "TanhTransform",
    "Transform",
    "TransformedDistribution",
    "Uniform",
    "VonMises",
    "Weibull",
    "Wishart",
    "biject_to",
    "constraints",
    "identity_transform",
    "kl_divergence",
    "register_kl",
    "transform_to",
    "transforms",
]
