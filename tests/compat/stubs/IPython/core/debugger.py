"""``set_trace``: the tutorials import it and leave the call commented out."""

from __future__ import annotations


def set_trace() -> None:
    raise RuntimeError("set_trace: no debugger in the compatibility tests")
