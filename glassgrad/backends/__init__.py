"""``glassgrad.backends``: PyTorch's backend switches, as a CPU-only build reports them.

The flags (``cudnn.benchmark``, ``cuda.matmul.allow_tf32``...) can be read and set, so training
scripts that set them run unchanged; they change nothing, as there is no GPU backend.

>>> import glassgrad as gg
>>> gg.backends.cudnn.benchmark = True
>>> gg.backends.mps.is_available(), gg.backends.cudnn.is_available()
(False, False)
"""

from __future__ import annotations

from glassgrad.backends import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
