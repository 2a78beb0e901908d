"""``FractionalMaxPool2d``/``FractionalMaxPool3d``: max pooling at pseudo-random steps that shrink
the input by a fractional ratio (Graham, 2014; see ``nn.functional.fractional_max_pool2d``).

>>> import glassgrad as gg
>>> from glassgrad import nn
>>> nn.FractionalMaxPool2d(3, output_ratio=0.5)(gg.randn(2, 4, 10, 10)).shape
torch.Size([2, 4, 5, 5])
"""

from __future__ import annotations

from typing import Any

from glassgrad.nn import functional as F
from glassgrad.nn.module import Module
from glassgrad.tensor import Tensor

__all__ = ["FractionalMaxPool2d", "FractionalMaxPool3d"]


def _ntuple(value: Any, d: int) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * d


class _FractionalMaxPoolNd(Module):
    _d = 2

    def __init__(
        self,
        kernel_size: Any,
        output_size: Any = None,
        output_ratio: Any = None,
        return_indices: bool = False,
        _random_samples: Tensor | None = None,
    ) -> None:
        super().__init__()
        name, d = type(self).__name__, self._d
        if any(k <= 0 for k in _ntuple(kernel_size, d)):
            raise ValueError(f"kernel_size must be greater than 0, but got {kernel_size}")
        self.kernel_size = _ntuple(kernel_size, d)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _ntuple(output_size, d) if output_size is not None else None
        self.output_ratio = _ntuple(output_ratio, d) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(
                f"{name} requires specifying either an output size, or a pooling ratio"
            )
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input: Tensor) -> Any:
        pool = F.fractional_max_pool2d if self._d == 2 else F.fractional_max_pool3d
        return pool(
            input,
            self.kernel_size,
            self.output_size,
            self.output_ratio,
            self.return_indices,
            _random_samples=self._random_samples,
        )


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Fractional max pooling of (N, C, H, W) or (C, H, W) inputs; ``_random_samples`` (N, C, 2)
    fixes the steps (else each call draws them from glassgrad's generator)."""

    _d = 2


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """Fractional max pooling of (N, C, D, H, W) or (C, D, H, W) inputs; ``_random_samples``
    (N, C, 3) fixes the steps."""

    _d = 3
