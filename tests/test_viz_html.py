"""The step-by-step page, opened in real headless Chromium: it ends with the same values as .grad.

Chromium is a system program (Debian's ``chromium`` package); ``make test`` installs it when it is
missing. Without it these tests fail, saying so: nothing here is skipped.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.explain import main as explain_main
from glassgrad.viz.html import to_html

EVIL = "<script>alert(1)</script>"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "headless Chromium is needed to test the HTML page and was not found on PATH; "
        "`make test` installs it (apt-get install chromium)"
    )


def _dump_dom(page: Path, fragment: str, tmp_path: Path) -> str:
    """Open ``page#fragment`` in headless Chromium and return the DOM after its scripts ran."""
    cmd = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--dump-dom",
        f"{page.resolve().as_uri()}#{fragment}",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"chromium failed ({done.returncode}): {done.stderr[-2000:]}"
    assert "data-ready" in done.stdout, f"the page's script did not run: {done.stdout[:2000]}"
    return done.stdout


class _Cells(HTMLParser):
    """Collects the running-gradient cells, the body's attributes and every element's tag."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[str, dict[str, str]] = {}
        self.body: dict[str, str] = {}
        self.tags: list[str] = []
        self._cell: str | None = None
        self.text: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        if tag == "body":
            self.body = a
        if tag == "td" and a.get("class") == "grad":
            self.cells[a["data-label"]] = a
            self._cell = a["data-label"]

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self.text[self._cell] = self.text.get(self._cell, "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None


def _read(dom: str) -> _Cells:
    cells = _Cells()
    cells.feed(dom)
    return cells


def _values(cells: _Cells) -> dict[str, Any]:
    return {
        k: json.loads(c["data-value"]) if c["data-value"] else None for k, c in cells.cells.items()
    }


def test_explain_page_steps_to_the_same_gradients(tmp_path: Path, capsys: Any) -> None:
    page = tmp_path / "f.html"
    argv = ["(x + y) * z + sum(v * x)", "--at", "x=-2", "y=5", "z=-4", "v=[1,2,3]"]
    assert explain_main([*argv, "--html", str(page)]) == 0
    capsys.readouterr()
    x = gg.tensor(-2.0, dtype=gg.float64, requires_grad=True)
    y = gg.tensor(5.0, dtype=gg.float64, requires_grad=True)
    z = gg.tensor(-4.0, dtype=gg.float64, requires_grad=True)
    v = gg.tensor([1.0, 2.0, 3.0], dtype=gg.float64, requires_grad=True)
    ((x + y) * z + (v * x).sum()).backward()

    cells = _read(_dump_dom(page, "autoplay", tmp_path))
    assert cells.body["data-step"] == "5"  # five nodes, all visited
    got = _values(cells)
    assert set(got) == {"x", "y", "z", "v"}
    for name, t in {"x": x, "y": y, "z": z, "v": v}.items():
        np.testing.assert_allclose(got[name], t.grad.numpy(), rtol=1e-12, atol=0)

    # after two steps (f = s + t, then s = q * z) z holds its whole gradient, the others nothing
    cells = _read(_dump_dom(page, "step=2", tmp_path))
    assert cells.body["data-step"] == "2"
    got = _values(cells)
    assert got["z"] == pytest.approx(z.grad.item(), rel=1e-12)
    assert got["x"] is None and got["y"] is None and got["v"] is None
    assert cells.text["x"] == "0 (nothing yet)"


def test_to_html_escapes_names_and_matches_grad(tmp_path: Path) -> None:
    gg.manual_seed(0)
    x = gg.randn(4, 3, dtype=gg.float64)
    w = gg.randn(3, 2, dtype=gg.float64, requires_grad=True)
    w.name = EVIL
    b = gg.zeros(2, dtype=gg.float64, requires_grad=True)
    b.name = 'b" onmouseover="alert(2)'
    h = gg.tanh(x @ w + b)
    loss = (h * h).mean() + (w * w).sum() * 0.01  # w reached on two paths
    loss.name = "<b>loss</b>"
    page = tmp_path / "loss.html"
    text = to_html(loss, page, title=EVIL)
    assert page.read_text() == text
    assert w.grad is None and b.grad is None  # recording the page left .grad alone
    assert EVIL not in text and "alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert 'onmouseover="alert' not in text
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in text

    loss.backward()
    dom = _dump_dom(page, "autoplay", tmp_path)
    cells = _read(dom)
    assert cells.tags.count("script") == 2  # the page's data and its code: nothing injected
    assert "onmouseover" not in " ".join(cells.tags)
    got = _values(cells)
    assert set(got) == {EVIL, 'b" onmouseover="alert(2)'}
    np.testing.assert_allclose(got[EVIL], w.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got['b" onmouseover="alert(2)'], b.grad.numpy(), rtol=1e-12)
    assert re.search(r"step \d+ of \d+", dom)


def test_to_html_needs_the_graph() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(ValueError, match="freed by an earlier backward"):
        to_html(y)
    with pytest.raises(ValueError, match="reduce it first"):
        to_html(x * 2)
    with pytest.raises(ValueError, match="does not require grad"):
        to_html(gg.tensor(1.0))
