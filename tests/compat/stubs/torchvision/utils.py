"""``torchvision.utils.save_image``: writes the batch as a NumPy file (no PIL needed)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def save_image(tensor: Any, fp: str, **kwargs: Any) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(str(fp))), exist_ok=True)
    np.save(str(fp) + ".npy", tensor.detach().cpu().numpy())
