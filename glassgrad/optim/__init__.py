"""Optimizers with PyTorch's names, options and numbers (``import glassgrad.optim as optim``).

>>> import glassgrad as gg
>>> from glassgrad import optim
>>> w = gg.tensor([2.0], requires_grad=True)
>>> opt = optim.SGD([w], lr=0.25)
>>> (w * w).sum().backward()
>>> opt.step()
>>> w
tensor([1.], requires_grad=True)
"""

from glassgrad.optim import lr_scheduler, swa_utils
from glassgrad.optim.adadelta import Adadelta
from glassgrad.optim.adafactor import Adafactor
from glassgrad.optim.adagrad import Adagrad
from glassgrad.optim.adam import Adam, AdamW
from glassgrad.optim.adamax import Adamax
from glassgrad.optim.asgd import ASGD
from glassgrad.optim.lbfgs import LBFGS
from glassgrad.optim.muon import Muon
from glassgrad.optim.nadam import NAdam, RAdam
from glassgrad.optim.optimizer import Optimizer
from glassgrad.optim.rmsprop import RMSprop
from glassgrad.optim.rprop import Rprop
from glassgrad.optim.sgd import SGD
from glassgrad.optim.sparse_adam import SparseAdam

__all__ = [
    "ASGD",
    "LBFGS",
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Muon",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "Rprop",
    "SparseAdam",
    "lr_scheduler",
    "swa_utils",
]
