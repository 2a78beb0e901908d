"""``ToTensor``, ``Normalize``, ``Resize``, ``CenterCrop`` and ``Compose`` for (H, W[, C]) uint8
images, as NumPy arrays or PIL images."""

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


def _array(img: Any) -> np.ndarray:
    """A PIL image's pixels as (H, W[, C]) uint8; arrays as they are."""
    return img if isinstance(img, np.ndarray) else np.asarray(img)


class ToTensor:
    """(H, W) or (H, W, C) uint8 -> (C, H, W) float32 in [0, 1]."""

    def __call__(self, img: np.ndarray) -> Any:
        import torch

        img = _array(img)

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
        img = _array(img)
        h, w = img.shape[:2]
        if isinstance(self.size, int):
            s = self.size
            th, tw = (s, round(w * s / h)) if h <= w else (round(h * s / w), s)
        else:
            th, tw = self.size
        rows = (np.arange(th) * h // th).clip(0, h - 1)
        cols = (np.arange(tw) * w // tw).clip(0, w - 1)
        return img[rows][:, cols]


class CenterCrop:
    """The middle ``size`` (an int or (h, w)) of an image at least that large."""

    def __init__(self, size: Any) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def __call__(self, img: Any) -> np.ndarray:
        img = _array(img)
        (h, w), (th, tw) = img.shape[:2], self.size
        top, left = round((h - th) / 2.0), round((w - tw) / 2.0)
        return img[top : top + th, left : left + tw]


class Lambda:
    """A function as a transform."""

    def __init__(self, lambd: Any) -> None:
        self.lambd = lambd

    def __call__(self, x: Any) -> Any:
        return self.lambd(x)
