"""``torch.nn.modules.linear``: PyTorch's module path; its layers are ``glassgrad.nn``'s."""

from glassgrad.nn.linear import Linear
from glassgrad.nn.modules import __getattr__  # noqa: F401  (every layer comes from glassgrad.nn)

NonDynamicallyQuantizableLinear = Linear  # PyTorch's name for MultiheadAttention.out_proj's class
