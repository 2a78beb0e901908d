"""``glassgrad.amp``: mixed precision as PyTorch runs it on a machine without a GPU.

``GradScaler`` scales the loss and unscales gradients, skipping steps whose gradients overflow,
as PyTorch's does (on ``device="cpu"``; a ``"cuda"`` scaler disables itself with PyTorch's
warning, and a disabled scaler passes everything through). ``autocast`` for ``"cuda"`` is
likewise a no-op with a warning; a CPU autocast to float16/bfloat16 runs its block in float32
(one warning says so), since glassgrad computes in the dtypes it is given.

>>> import glassgrad as gg
>>> scaler = GradScaler("cpu", init_scale=8.0)
>>> w = gg.tensor(1.0, requires_grad=True)
>>> opt = gg.optim.SGD([w], lr=0.1)
>>> scaler.scale(w * 3).backward()
>>> w.grad
tensor(24.)
>>> scaler.step(opt)
>>> scaler.update()
>>> w
tensor(0.7000, requires_grad=True)
"""

from glassgrad.amp.autocast_mode import autocast, custom_bwd, custom_fwd, is_autocast_available
from glassgrad.amp.grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd", "is_autocast_available"]
