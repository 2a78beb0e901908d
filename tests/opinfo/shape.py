"""Registry entries for this op family (see tests/opinfo/__init__.py for the format)."""

from __future__ import annotations

from tests.opinfo import OpInfo

OPS: list[OpInfo] = []
