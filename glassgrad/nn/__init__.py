"""Neural-network building blocks with PyTorch's names: ``Module``, ``Parameter``, layers,
losses and containers; ``glassgrad.nn.functional`` holds the stateless ops, ``nn.init`` the
initialisers and ``nn.utils`` gradient clipping.

>>> import glassgrad as gg
>>> from glassgrad import nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
>>> sum(p.numel() for p in model.parameters())
67
"""

from glassgrad.nn import functional, init, parallel, parameter, utils
from glassgrad.nn.activation import *
from glassgrad.nn.adaptive import *
from glassgrad.nn.attention import *
from glassgrad.nn.container import *
from glassgrad.nn.conv import *
from glassgrad.nn.distance import *
from glassgrad.nn.fractional import *
from glassgrad.nn.lazy import *
from glassgrad.nn.linear import *
from glassgrad.nn.loss import *
from glassgrad.nn.module import *
from glassgrad.nn.norm import *
from glassgrad.nn.normalization import *
from glassgrad.nn.padding import *
from glassgrad.nn.parallel import DataParallel
from glassgrad.nn.parameter import UninitializedBuffer, UninitializedParameter
from glassgrad.nn.rnn import *
from glassgrad.nn.sparse import *
from glassgrad.nn.transformer import *
from glassgrad.nn.upsampling import *

__all__ = [
    "DataParallel",
    "UninitializedBuffer",
    "UninitializedParameter",
    "functional",
    "init",
    "parallel",
    "parameter",
    "utils",
]
for _m in (
    "activation",
    "adaptive",
    "attention",
    "container",
    "conv",
    "distance",
    "fractional",
    "lazy",
    "linear",
    "loss",
    "module",
    "norm",
    "normalization",
    "padding",
    "rnn",
    "sparse",
    "transformer",
    "upsampling",
):
    __all__ += __import__(f"glassgrad.nn.{_m}", fromlist=["__all__"]).__all__
__all__ = sorted(set(__all__))

from glassgrad.nn import modules  # noqa: E402  (torch.nn.modules.rnn.LSTM and the like)
