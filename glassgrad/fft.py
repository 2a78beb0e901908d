"""``torch.fft``: discrete Fourier transforms with PyTorch's names, arguments and gradients.

Each op is declared in ``glassgrad/ops/spectral.py`` with the ``FFT`` namespace; this namespace is
generated from those declarations (an op named ``fft_<name>`` appears here as ``<name>``).
"""

import typing as _typing

from glassgrad.ops.registry import FFT as _FFT
from glassgrad.ops.registry import in_namespace as _in_namespace

globals().update(_in_namespace(_FFT))
__all__ = sorted(_in_namespace(_FFT))


def __getattr__(name: str) -> _typing.Any:
    """Ops come from the registry at import; this only answers for names that don't exist."""
    raise AttributeError(f"module 'glassgrad.fft' has no attribute {name!r}")
