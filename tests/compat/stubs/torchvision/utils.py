"""``torchvision.utils.save_image``: writes the batch as a NumPy file (no PIL needed)."""

from __future__ import annotations

from typing import Any

import numpy as np


def save_image(tensor: Any, fp: str, **kwargs: Any) -> None:
    np.save(str(fp) + ".npy", tensor.detach().cpu().numpy())
