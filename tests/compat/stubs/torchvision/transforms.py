"""``ToTensor``, ``Normalize`` and ``Compose`` for (H, W) uint8 images."""

from __future__ import annotations

from typing import Any

import numpy as np


class Compose:
    def __init__(self, transforms: list[Any]) -> None:
        self.transforms = transforms

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x


class ToTensor:
    """(H, W) or (H, W, C) uint8 -> (C, H, W) float32 in [0, 1]."""

    def __call__(self, img: np.ndarray) -> Any:
        import torch

        chw = img[None] if img.ndim == 2 else img.transpose(2, 0, 1)
        return torch.from_numpy((chw / np.float32(255.0)).astype(np.float32))


class Normalize:
    def __init__(self, mean: Any, std: Any) -> None:
        self.mean, self.std = mean, std

    def __call__(self, x: Any) -> Any:
        import torch

        mean = torch.tensor(self.mean, dtype=x.dtype).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype).view(-1, 1, 1)
        return (x - mean) / std
