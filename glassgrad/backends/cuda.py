"""``glassgrad.backends.cuda``: ``matmul.allow_tf32`` and friends, settable, with PyTorch's
defaults; CUDA is not built."""

from __future__ import annotations


class _MatmulFlags:
    """``backends.cuda.matmul``: attributes a script may set (no effect on the CPU)."""

    def __init__(self) -> None:
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()


def is_built() -> bool:
    return False
