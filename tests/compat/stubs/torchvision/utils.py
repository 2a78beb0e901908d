"""``torchvision.utils.save_image``: writes the batch as a NumPy file (no PIL needed);
``make_grid`` tiles a batch of images into one."""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def save_image(tensor: Any, fp: str, **kwargs: Any) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(str(fp))), exist_ok=True)
    np.save(str(fp) + ".npy", tensor.detach().cpu().numpy())


def make_grid(
    tensor: Any, nrow: int = 8, padding: int = 2, pad_value: float = 0.0, **kw: Any
) -> Any:
    """(B, C, H, W) -> (C, rows, cols): the images side by side, ``nrow`` to a row, as
    torchvision tiles them (one-channel images repeated to three)."""
    import torch

    x = tensor.detach().cpu().numpy()
    if x.shape[1] == 1:
        x = np.repeat(x, 3, axis=1)
    b, c, h, w = x.shape
    cols, rows = min(nrow, b), -(-b // nrow)
    hh, ww = h + padding, w + padding
    grid = np.full((c, rows * hh + padding, cols * ww + padding), pad_value, x.dtype)
    for k in range(b):
        top, left = (i * step + padding for i, step in zip(divmod(k, cols), (hh, ww), strict=True))
        grid[:, top : top + h, left : left + w] = x[k]
    return torch.from_numpy(grid)
