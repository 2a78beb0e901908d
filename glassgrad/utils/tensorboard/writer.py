"""``SummaryWriter``: scalars to a TensorBoard event file (the other ``add_*`` are not here)."""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime
from typing import Any

try:
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
except ImportError as e:  # as PyTorch: the package is an optional dependency
    raise ImportError(
        "glassgrad.utils.tensorboard needs the tensorboard package (pip install tensorboard)"
    ) from e

__all__ = ["SummaryWriter"]


def _scalar(value: Any, what: str) -> float:
    if hasattr(value, "numel"):
        if value.numel() != 1:
            raise ValueError(
                f"SummaryWriter.{what}: scalar value must be a one-element tensor, got shape "
                f"{tuple(value.shape)}"
            )
        return float(value.item())
    return float(value)


class SummaryWriter:
    """Writes ``add_scalar``/``add_scalars`` values to ``log_dir`` (default
    ``runs/<date>_<host><comment>``), readable by TensorBoard."""

    def __init__(
        self,
        log_dir: str | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: int = 120,
        filename_suffix: str = "",
    ) -> None:
        if not log_dir:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = str(log_dir)
        self._max_queue, self._flush_secs, self._suffix = max_queue, flush_secs, filename_suffix
        self._writers: dict[str, Any] = {}
        self._writer(self.log_dir)

    def _writer(self, path: str) -> Any:
        if path not in self._writers:
            self._writers[path] = EventFileWriter(
                path, self._max_queue, self._flush_secs, self._suffix
            )
        return self._writers[path]

    def get_logdir(self) -> str:
        """The folder the events go to."""
        return self.log_dir

    def _add(self, path: str, tag: str, value: float, step: Any, walltime: Any) -> None:
        summary = Summary(value=[Summary.Value(tag=tag, simple_value=value)])
        event = Event(summary=summary, wall_time=time.time() if walltime is None else walltime)
        if step is not None:
            event.step = int(step)
        self._writer(path).add_event(event)

    def add_scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: Any = None,
        walltime: float | None = None,
        new_style: bool = False,
        double_precision: bool = False,
    ) -> None:
        """Log one number (a Python number or a one-element tensor) under ``tag``."""
        self._add(self.log_dir, tag, _scalar(scalar_value, "add_scalar"), global_step, walltime)

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: dict[str, Any],
        global_step: Any = None,
        walltime: float | None = None,
    ) -> None:
        """Several numbers on one chart: each in its own ``<log_dir>/<main_tag>_<tag>`` run."""
        for tag, value in tag_scalar_dict.items():
            path = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{tag}")
            self._add(path, main_tag, _scalar(value, "add_scalars"), global_step, walltime)

    def flush(self) -> None:
        """Write pending events to disk."""
        for w in self._writers.values():
            w.flush()

    def close(self) -> None:
        """Flush and close the event files."""
        for w in self._writers.values():
            w.close()

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
