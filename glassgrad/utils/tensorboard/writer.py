"""``SummaryWriter`` with PyTorch's arguments, on tensorboardX's event writer.

Every ``add_*`` method takes glassgrad tensors wherever PyTorch's takes torch tensors (also
inside the dicts of ``add_scalars`` and ``add_hparams``); they are passed on as NumPy arrays.
``add_graph`` writes nothing (it needs PyTorch's JIT tracer): draw glassgrad graphs with
``glassgrad.viz`` instead.
"""

from __future__ import annotations

import functools
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorboardX
from tensorboardX import FileWriter
from tensorboardX.summary import scalar

from glassgrad.tensor import Tensor

__all__ = ["FileWriter", "SummaryWriter"]


def _plain(value: Any) -> Any:
    """A tensor as a NumPy array (a 0-d one as a Python number), inside lists and dicts too."""
    if isinstance(value, Tensor):
        array = value._data
        return array.item() if array.ndim == 0 else np.array(array, copy=True)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) for v in value):
        return type(value)(_plain(v) for v in value)
    return value


def _converting(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        return method(self, *(_plain(a) for a in args), **{k: _plain(v) for k, v in kwargs.items()})

    return call


class SummaryWriter(tensorboardX.SummaryWriter):
    """Write scalars, histograms, images, text... for TensorBoard under ``log_dir``
    (default ``runs/<date>_<host><comment>``, as PyTorch names it)."""

    def __init__(
        self,
        log_dir: str | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: int = 120,
        filename_suffix: str = "",
    ) -> None:
        super().__init__(
            logdir=None if log_dir is None else str(log_dir),
            comment=comment,
            purge_step=purge_step,
            max_queue=max_queue,
            flush_secs=flush_secs,
            filename_suffix=filename_suffix,
        )
        self.log_dir = self.logdir

    def get_logdir(self) -> str:
        """The directory the event files go to."""
        return str(self.logdir)

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: dict[str, Any],
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Several curves in one chart: each key is a run of its own, written where PyTorch
        writes it (``<log_dir>/<main_tag>_<key>``, a ``/`` in ``main_tag`` becoming ``_``)."""
        walltime = time.time() if walltime is None else walltime
        root = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            run = os.path.join(str(root), main_tag.replace("/", "_") + "_" + tag)
            writer = self.all_writers.get(run)
            if writer is None:
                writer = self.all_writers[run] = FileWriter(
                    logdir=run,
                    max_queue=self._max_queue,
                    flush_secs=self._flush_secs,
                    filename_suffix=self._filename_suffix,
                )
            writer.add_summary(scalar(main_tag, _plain(value)), global_step, walltime)

    def add_graph(self, model: Any, input_to_model: Any = None, *args: Any, **kwargs: Any) -> None:
        """Write nothing: the model graph needs PyTorch's tracer (see ``glassgrad.viz``)."""
        warnings.warn(
            "SummaryWriter.add_graph: glassgrad does not export model graphs to TensorBoard; "
            "draw them with glassgrad.viz (to_dot, to_html)",
            UserWarning,
            stacklevel=2,
        )


for _name in dir(tensorboardX.SummaryWriter):
    if _name.startswith("add_") and _name not in ("add_graph", "add_scalars"):
        setattr(SummaryWriter, _name, _converting(getattr(tensorboardX.SummaryWriter, _name)))
del _name
