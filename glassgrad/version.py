"""``torch.version``: what a script reads to report its environment (``torch.version.cuda`` is
None: glassgrad runs on the CPU, as a CPU-only PyTorch build reports)."""

from __future__ import annotations

__all__ = ["__version__", "cuda", "debug", "git_version", "hip"]

__version__ = "0.1.0"  # glassgrad's own version (also ``glassgrad.__version__``)
cuda: str | None = None
hip: str | None = None
debug = False
git_version = "unknown"
