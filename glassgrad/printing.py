"""``glassgrad.set_printoptions``: how tensors print, with PyTorch's options and profiles.

>>> import glassgrad as gg
>>> gg.set_printoptions(precision=2)
>>> gg.tensor([1.23456, 2.0])
tensor([1.23, 2.00])
>>> gg.set_printoptions(profile="default")
>>> gg.tensor([1.23456, 2.0])
tensor([1.2346, 2.0000])
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["get_printoptions", "set_printoptions"]

_DEFAULT: dict[str, Any] = {
    "precision": 4,
    "threshold": 1000,
    "edgeitems": 3,
    "linewidth": 80,  # PyTorch's; NumPy then wraps rows where PyTorch does
    "sci_mode": None,
}
_PROFILES: dict[str, dict[str, Any]] = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": float("inf"), "edgeitems": 3, "linewidth": 80},
}
options: dict[str, Any] = dict(_DEFAULT)


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set how tensors print, as ``torch.set_printoptions``: ``precision`` (digits after the
    point, 4), ``threshold`` (elements before summarising with ``...``, 1000), ``edgeitems``
    (items kept at each end when summarising, 3), ``linewidth``, ``profile`` (``'default'``,
    ``'short'``, ``'full'``: resets the others first) and ``sci_mode`` (None: automatic)."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(
                f"set_printoptions: unknown profile {profile!r}; use {list(_PROFILES)}"
            )
        options.update(_PROFILES[profile])
    for key, value in (
        ("precision", precision),
        ("threshold", threshold),
        ("edgeitems", edgeitems),
        ("linewidth", linewidth),
    ):
        if value is not None:
            options[key] = value
    options["sci_mode"] = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The current print options (a copy)."""
    return dict(options)


def numpy_options(ndim: int = 1) -> dict[str, Any]:
    """The options as ``numpy.array2string`` keywords for an ``ndim``-d array. NumPy keeps one
    more column free per level of nesting than PyTorch does, so its line width grows with
    ``ndim`` to break rows where PyTorch breaks them."""
    threshold = options["threshold"]
    kw: dict[str, Any] = {
        "precision": int(options["precision"]),
        "threshold": 2**62 if threshold == float("inf") else int(threshold),
        "edgeitems": int(options["edgeitems"]),
    }
    if options["linewidth"] is not None:
        kw["max_line_width"] = int(options["linewidth"]) + max(ndim - 1, 0)
    return kw


def shown(d: np.ndarray) -> np.ndarray:
    """The elements a print shows: all of them, or only the ``edgeitems`` at each end of every
    dim once there are more than ``threshold`` (PyTorch picks the number format from these)."""
    if d.size <= options["threshold"]:
        return d
    k = int(options["edgeitems"])
    for axis, n in enumerate(d.shape):
        if n > 2 * k:
            d = np.concatenate([d.take(range(k), axis), d.take(range(n - k, n), axis)], axis)
    return d


def _is_fixed(parts: np.ndarray) -> bool:
    """Print with fixed digits (``1.5000``) unless every finite value is an integer (``2.``)."""
    return parts.size > 0 and not np.all(np.isnan(parts) | (parts == np.round(parts)))


def complex_formatter(d: np.ndarray) -> Any:
    """``array2string``'s formatter for complex ``d``, as PyTorch prints complex tensors: the
    real and the imaginary parts each formatted on their own (``1.5000+2.j``)."""
    from numpy._core.arrayprint import FloatingFormat  # type: ignore[attr-defined]

    precision, suppress = int(options["precision"]), True
    re, im = np.real(d).ravel(), np.abs(np.imag(d)).ravel()
    kw = {"legacy": sys.maxsize}
    fr = FloatingFormat(re, precision, "fixed" if _is_fixed(re) else "maxprec", suppress, **kw)
    fi = FloatingFormat(im, precision, "fixed" if _is_fixed(im) else "maxprec", suppress, **kw)

    def fmt(z: Any) -> str:
        sign = "-" if np.signbit(z.imag) else "+"
        return f"{fr(z.real)}{sign}{fi(abs(z.imag)).strip()}j"

    return {"complex_kind": fmt}


def tensor_body(d: np.ndarray) -> str:
    """What a real (or bool, or integer) tensor prints inside ``tensor(...)``, laid out as
    PyTorch's ``_tensor_str``: one format for every item, picked from the items shown
    (``_item_format``); rows of ``(linewidth - 7) // (width + 2)`` items, ``...`` counting as
    one; nested dims joined by ``,`` and one blank line per level below the top."""
    if d.size == 0:
        return "[]"
    summarize = d.size > options["threshold"]
    if summarize and not options["edgeitems"]:
        return "[...]"
    fmt, width = _item_format(shown(d) if summarize else d)
    if d.ndim == 0:
        return fmt(d.item())
    return _nested(d, len("tensor("), summarize, fmt, width)


def _nested(d: np.ndarray, indent: int, summarize: bool, fmt: Any, width: int) -> str:
    k = int(options["edgeitems"])
    if d.ndim == 1:
        if summarize and not k:
            items = ["..."]
        elif summarize and len(d) > 2 * k:
            items = [*map(fmt, d[:k].tolist()), " ...", *map(fmt, d[len(d) - k :].tolist())]
        else:
            items = [fmt(v) for v in d.tolist()]
        linewidth = options["linewidth"] or 80
        per_line = max(1, (int(linewidth) - indent) // (width + 2))
        rows = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(rows) + "]"
    rows_of: Sequence[int] = range(len(d))
    if summarize and len(d) > 2 * k:
        rows_of = [*range(k), -1, *range(len(d) - k, len(d))]
    parts = [
        "..." if i == -1 else _nested(d[i], indent + 1, summarize, fmt, width) for i in rows_of
    ]
    return "[" + ("," + "\n" * (d.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _item_format(values: np.ndarray) -> tuple[Any, int]:
    """How each item prints, and the width they are right-aligned to, as PyTorch's
    ``_Formatter``: integers and bools as Python prints them; floats from their nonzero finite
    values: whole numbers as ``2.``, others with ``precision`` digits, scientific
    (``1.0000e-05``) when they span more than 1000x, pass 1e8 or fall below 1e-4 (or as
    ``sci_mode`` says). A ``-inf`` or a ``0.`` sets no width: ``tensor([0., -inf])``."""
    if values.dtype.kind != "f":
        width = max((len(str(v)) for v in values.ravel().tolist()), default=1)
        return (lambda v: str(v).rjust(width)), width
    precision = int(options["precision"])
    flat = np.asarray(values, np.float64).ravel()
    nonzero = flat[np.isfinite(flat) & (flat != 0)]
    whole, sci, width = True, False, 1
    if nonzero.size:
        magnitude = np.abs(nonzero)
        small, large = magnitude.min(), magnitude.max()
        whole = bool(np.all(nonzero == np.ceil(nonzero)))
        sci = large / small > 1000.0 or large > 1.0e8 or small < 1.0e-4
        if options["sci_mode"] is not None:
            sci = bool(options["sci_mode"])
        if sci:
            width = max(len(f"{v:.{precision}e}") for v in nonzero.tolist())
        elif whole:
            width = max(len(f"{v:.0f}") + 1 for v in nonzero.tolist())
        else:
            width = max(len(f"{v:.{precision}f}") for v in nonzero.tolist())

    def fmt(v: float) -> str:
        if sci:
            text = f"{v:{width}.{precision}e}"
        elif whole:
            text = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            text = f"{v:.{precision}f}"
        return text.rjust(width)

    return fmt, width


def add_suffixes(text: str, suffixes: list[str], indent: int, force_newline: bool = False) -> str:
    """``text`` closed with ``, suffix`` for each of ``suffixes`` (``grad_fn=<...>``,
    ``dtype=...``), each on a new line indented by ``indent`` where it would pass the line
    width, as PyTorch wraps them (``force_newline``: the first one on a new line regardless,
    as for a sparse tensor's ``size=``)."""
    width = options["linewidth"]
    parts, last = [text], len(text) - text.rfind("\n") + 1  # (PyTorch's count, one over)
    for suffix in suffixes:
        n = len(suffix)  # lines break where PyTorch's do
        if force_newline or (width is not None and last + n + 2 > width):
            force_newline = False
            parts.append(",\n" + " " * indent + suffix)
            last = indent + n
        else:
            parts.append(", " + suffix)
            last += n + 2
    return "".join(parts) + ")"
