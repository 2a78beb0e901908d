"""``Compare``: measurements laid out as tables, one per label; a row per (threads, env,
sub-label), a column per description, each cell the median time in the table's unit."""

from __future__ import annotations

import enum
import math
from typing import Any

from glassgrad.utils.benchmark.timer import (
    Measurement,
    ordered_unique,
    select_unit,
    trim_sigfig,
    unit_to_english,
)

_BEST, _GOOD, _BAD, _VERY_BAD = "\033[92m", "\033[34m", "\033[2m\033[91m", "\033[31m"
_BOLD, _END = "\033[1m", "\033[0m"


class Colorize(enum.Enum):
    NONE = "none"
    COLUMNWISE = "columnwise"
    ROWWISE = "rowwise"


def _painted(text: str, value: float, best: float) -> str:
    """Green for the best time in its row or column, blue near it, red far from it."""
    if value <= best * 1.01 or value <= best + 100e-9:
        return _BEST + _BOLD + text + _END * 2
    if value <= best * 1.1:
        return _GOOD + _BOLD + text + _END * 2
    if value >= best * 5:
        return _VERY_BAD + _BOLD + text + _END * 2
    if value >= best * 2:
        return _BAD + text + _END * 2
    return text


class Compare:
    """Print ``Measurement``s side by side: ``Compare(results).print()``."""

    def __init__(self, results: list[Measurement]) -> None:
        self._results: list[Measurement] = []
        self.extend_results(results)
        self._trim = False
        self._colorize = Colorize.NONE
        self._highlight = False

    def extend_results(self, results: list[Measurement]) -> None:
        for r in results:
            if not isinstance(r, Measurement):
                raise ValueError(f"Expected an instance of `Measurement`, got {type(r)} instead.")
        self._results.extend(results)

    def trim_significant_figures(self) -> None:
        self._trim = True

    def colorize(self, rowwise: bool = False) -> None:
        self._colorize = Colorize.ROWWISE if rowwise else Colorize.COLUMNWISE

    def highlight_warnings(self) -> None:
        self._highlight = True

    def __str__(self) -> str:
        merged = Measurement.merge(self._results)
        by_label: dict[Any, list[Measurement]] = {}
        for m in merged:
            by_label.setdefault(m.label, []).append(m)
        return "\n".join(self._table(group) for group in by_label.values())

    def print(self) -> None:
        print(str(self))

    def _table(self, results: list[Measurement]) -> str:
        unit, scale = select_unit(min(m.median for m in results))
        row_keys = ordered_unique((m.num_threads, m.env, m.as_row_name) for m in results)
        row_keys.sort(key=lambda k: k[:2])  # by threads and env; statements keep their order
        col_keys = ordered_unique(m.description for m in results)
        cells: dict[tuple[Any, Any], Measurement] = {
            ((m.num_threads, m.env, m.as_row_name), m.description): m for m in results
        }
        highlight = self._highlight and any(m.has_warnings for m in results)
        groups = [
            [k for k in row_keys if k[0] == t] for t in ordered_unique(k[0] for k in row_keys)
        ]
        formats = [self._column_format(col, groups, cells, scale, highlight) for col in col_keys]
        envs = {m.env for m in results}
        env_width = max(len(str(e)) for e in envs) if len(envs) > 1 else 0
        texts = [["", *[str(c) if c is not None else "" for c in col_keys]]]
        prior_env = None
        for key in row_keys:
            env = f"({key[1]})" if len(envs) > 1 and key[1] != prior_env else ""
            prior_env = key[1]
            row = ["  " + env.ljust(env_width + 4) + key[2]]
            for col, fmt in zip(col_keys, formats):
                m = cells.get((key, col))
                row.append(fmt(m) if m is not None else " " * len(fmt(None)))
            texts.append(row)
        widths = [max(len(r[i]) for r in texts) for i in range(len(texts[0]))]
        header = "  |  ".join(t.center(w) for t, w in zip(texts[0], widths))
        lines = [header]
        previous_threads = None
        for key, row in zip(row_keys, texts[1:]):
            if key[0] != previous_threads:
                previous_threads = key[0]
                lines.append(f"{key[0]} threads: ".ljust(len(header), "-"))
            lines.append("  |  ".join(self._cells(key, row, widths, col_keys, cells, groups)))
        label = next(iter(results)).label or ""
        out = [f"[{(' ' + label + ' ').center(len(header) - 2, '-')}]", *lines, ""]
        out.append(f"Times are in {unit_to_english(unit)}s ({unit}).")
        if highlight:
            out.append(
                "(! XX%) Measurement has high variance, where XX is the IQR / median * 100.\n"
            )
        else:
            out.append("")
        return "\n".join(out)

    def _cells(
        self,
        key: Any,
        row: list[str],
        widths: list[int],
        col_keys: list[Any],
        cells: dict[tuple[Any, Any], Measurement],
        groups: list[list[Any]],
    ) -> list[str]:
        out = [row[0].ljust(widths[0])]
        in_row = [cells[(key, c)] for c in col_keys if (key, c) in cells]
        group = next(g for g in groups if key in g)
        for col, text, width in zip(col_keys, row[1:], widths[1:]):
            text = text.center(width)
            m = cells.get((key, col))
            if self._colorize is not Colorize.NONE and m is not None:
                if self._colorize is Colorize.ROWWISE:
                    best = min(r.median for r in in_row)
                else:
                    best = min(cells[(k, col)].median for k in group if (k, col) in cells)
                text = _painted(text, m.median, best)
            out.append(text)
        return out

    def _column_format(
        self,
        col: Any,
        groups: list[list[Any]],
        cells: dict[tuple[Any, Any], Measurement],
        scale: float,
        highlight: bool,
    ) -> Any:
        ms = [cells[(k, col)] for g in groups for k in g if (k, col) in cells]
        highlight = highlight and any(m.has_warnings for m in ms)  # per column, as PyTorch's
        leading = [math.ceil(math.log10(m.median / scale)) for m in ms]
        decimals = (
            min(max(m.significant_figures - d, 0) for d, m in zip(leading, ms)) if self._trim else 1
        )
        width = max(leading) + decimals + (1 if decimals else 0)

        def fmt(m: Measurement | None) -> str:
            if m is None:
                value, spread = 1.0, None
            else:
                value = m.median / scale
                spread = m.iqr / m.median if m.has_warnings else None
                if self._trim:
                    value = trim_sigfig(value, m.significant_figures)
            text = f"{value:>{width}.{decimals}f}"
            if highlight:
                text += f"{f' (! {spread * 100:.0f}%)' if spread is not None else '':>7}"
            return text

        return fmt
