"""``torch.nn.modules.channelshuffle``: PyTorch's module path; its layers are ``glassgrad.nn``'s."""

from glassgrad.nn.modules import __getattr__  # noqa: F401  (every layer comes from glassgrad.nn)
