"""``ToTensor``, ``Normalize``, ``Resize`` and ``Compose`` for (H, W) uint8 images."""

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


class Resize:
    """(H, W[, C]) uint8 -> the smaller side ``size`` (an int) or (h, w), by nearest pixels
    (not PIL's bilinear: both runs see the same images either way)."""

    def __init__(self, size: Any) -> None:
        self.size = size

    def __call__(self, img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        if isinstance(self.size, int):
            s = self.size
            th, tw = (s, round(w * s / h)) if h <= w else (round(h * s / w), s)
        else:
            th, tw = self.size
        rows = (np.arange(th) * h // th).clip(0, h - 1)
        cols = (np.arange(tw) * w // tw).clip(0, w - 1)
        return img[rows][:, cols]
