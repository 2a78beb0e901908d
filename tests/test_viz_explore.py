"""The explorable backward-pass page (glassgrad.viz.explore), driven in real headless Chromium.

Each browser test writes the page with a small test script appended: it clicks the page's own
"step" button to the end, clicks a node, measures every text line against its box, and writes
what it saw as JSON into the DOM, which ``--dump-dom`` returns. The same pages, photographed
at 1400×900, are the screenshots in docs/images/ that the README and the tutorial show.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import nn, optim, viz
from glassgrad.autograd import node as recorder
from glassgrad.autograd.graph import walk
from glassgrad.viz import explorer
from glassgrad.viz.rules import rule
from tests.test_viz_html import _chromium

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"

# Appended to the page: drives it as a user would and reports what it shows.
_DRIVER = r"""
<script>
(function () {
  var P = window.glassgradPage, out = {}, TARGET = %(target)s, UNFOLD = %(unfold)s;
  var CLICKS = %(clicks)s;
  function shown(el) { return el.offsetParent !== null && getComputedStyle(el).display !== "none"; }
  function overflow() { // every visible text line inside its box (the text's own extent)
    var bad = [], bs = document.querySelectorAll(".box");
    for (var i = 0; i < bs.length; i++) {
      var b = bs[i];
      if (!shown(b)) continue;
      var r = b.getBoundingClientRect(), ls = b.querySelectorAll(".ln");
      for (var j = 0; j < ls.length; j++) {
        if (!shown(ls[j])) continue;
        var rg = document.createRange();
        rg.selectNodeContents(ls[j]);
        var t = rg.getBoundingClientRect();
        if (t.width === 0) continue;
        if (t.left < r.left - 0.5 || t.right > r.right + 0.5 || t.top < r.top - 0.5 ||
            t.bottom > r.bottom + 0.5) bad.push(b.id + ": " + ls[j].textContent);
      }
    }
    return bad;
  }
  function visible() {
    return Array.prototype.filter.call(document.querySelectorAll(".box"), shown).length;
  }
  function shownIds() {
    return Array.prototype.filter.call(document.querySelectorAll(".box"), shown).map(
      function (b) { return b.getAttribute("data-id"); });
  }
  function rgb(css) { return css.match(/[\d.]+/g).slice(0, 3).map(Number); }
  function lum(c) {
    var l = c.map(function (v) {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
  }
  function contrast() { // every visible text line against its box's fill (WCAG ratio)
    var worst = 99, bad = [], bs = document.querySelectorAll(".box");
    for (var i = 0; i < bs.length; i++) {
      if (!shown(bs[i])) continue;
      var bg = lum(rgb(getComputedStyle(bs[i]).backgroundColor));
      var ls = bs[i].querySelectorAll(".ln");
      for (var j = 0; j < ls.length; j++) {
        if (!shown(ls[j]) || !ls[j].textContent.trim()) continue;
        var fg = lum(rgb(getComputedStyle(ls[j]).color));
        var r = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
        worst = Math.min(worst, r);
        if (r < 4.5) bad.push(bs[i].id + " " + r.toFixed(2) + ": " + ls[j].textContent);
      }
    }
    return { worst: worst, bad: bad };
  }
  function crossings() { // edge paths entering a box they do not connect (stage coordinates)
    var bad = [], ps = document.querySelectorAll("#edges path"), bs = [];
    Array.prototype.forEach.call(document.querySelectorAll(".box"), function (b) {
      if (shown(b)) bs.push({ id: b.getAttribute("data-id"), l: b.offsetLeft + 2,
        t: b.offsetTop + 2, r: b.offsetLeft + b.offsetWidth - 2,
        b: b.offsetTop + b.offsetHeight - 2 });
    });
    for (var i = 0; i < ps.length; i++) {
      var p = ps[i], a = p.getAttribute("data-a"), z = p.getAttribute("data-b");
      var n = p.getTotalLength();
      for (var d = 0; d <= n; d += 3) {
        var q = p.getPointAtLength(d);
        for (var k = 0; k < bs.length; k++) {
          var B = bs[k];
          if (B.id !== a && B.id !== z && q.x > B.l && q.x < B.r && q.y > B.t && q.y < B.b) {
            bad.push(a + ">" + z + " crosses " + B.id); d = n + 1; break;
          }
        }
      }
    }
    return bad;
  }
  function fitted() { // the initial view: the drawing inside the viewport, text big enough
    var vp = document.getElementById("viewport").getBoundingClientRect();
    var els = Array.prototype.filter.call(document.querySelectorAll(".box, .frame, #edges path"),
      function (e) { return e.tagName === "path" || shown(e); });
    var l = Infinity, t = Infinity, r = -Infinity, b = -Infinity, font = Infinity;
    els.forEach(function (e) {
      var q = e.getBoundingClientRect();
      l = Math.min(l, q.left); t = Math.min(t, q.top);
      r = Math.max(r, q.right); b = Math.max(b, q.bottom);
    });
    Array.prototype.forEach.call(document.querySelectorAll(".box .ln"), function (e) {
      if (shown(e) && e.textContent.trim()) {
        font = Math.min(font, parseFloat(getComputedStyle(e).fontSize) * P.state().scale);
      }
    });
    return { inside: l >= vp.left - 0.5 && t >= vp.top - 0.5 && r <= vp.right + 0.5 &&
      b <= vp.bottom + 0.5, box: [l, t, r, b], viewport: [vp.left, vp.top, vp.right, vp.bottom],
      font: font };
  }
  out.viewport = [window.innerWidth, window.innerHeight];
  out.fit = fitted();
  out.shownStart = shownIds();
  var warn = document.getElementById("warn");
  out.warn = warn.hidden ? null : warn.textContent;
  out.crossings = crossings();
  out.contrastStart = contrast();
  var vp = document.getElementById("viewport"), vr = vp.getBoundingClientRect(), nav = [P.state()];
  var cx = Math.round(vr.left + 200), cy = Math.round(vr.top + 150); // events carry whole pixels
  out.pointer = [cx - vr.left, cy - vr.top];
  vp.dispatchEvent(new WheelEvent("wheel", { deltaY: -200, clientX: cx, clientY: cy,
    bubbles: true, cancelable: true }));
  nav.push(P.state());
  ["+", "-", "ArrowLeft", "ArrowUp", "ArrowRight", "ArrowDown", "0"].forEach(function (key) {
    document.dispatchEvent(new KeyboardEvent("keydown",
      { key: key, bubbles: true, cancelable: true }));
    nav.push(P.state());
  });
  out.nav = nav;
  out.layout = document.body.getAttribute("data-layout");
  out.scale = P.state().scale;
  out.folded = P.state().folded;
  out.visible = visible();
  out.overflow = overflow();
  out.texts = Array.prototype.map.call(document.querySelectorAll(".box .ln.t"),
    function (e) { return e.textContent; });
  out.values = Array.prototype.map.call(document.querySelectorAll(".box:not(.module) .ln.v"),
    function (e) { return e.textContent; });
  out.valueOf = {};
  Array.prototype.forEach.call(document.querySelectorAll(".box:not(.module)"), function (b) {
    var v = b.querySelector(".ln.v");
    var ok = v && !v.classList.contains("moved");
    out.valueOf[b.getAttribute("data-id")] = ok ? v.textContent : "";
  });
  var clicks = 0, steps = P.state().steps;
  while (document.body.getAttribute("data-step") !== String(steps) && clicks < 100000) {
    document.getElementById("step").click();
    clicks++;
  }
  out.clicks = clicks; out.steps = steps;
  out.explain = document.getElementById("explain-text").textContent;
  out.cells = Array.prototype.map.call(document.querySelectorAll("td.grad"), function (c) {
    return { label: c.getAttribute("data-label"), value: c.getAttribute("data-value"),
      norm: c.getAttribute("data-norm") };
  });
  out.contrastEnd = contrast();
  out.clicked = CLICKS.map(function (id) { // unfold box after box, as a reader drills down
    var b = document.querySelector('.box[data-id="' + id + '"]'), was = !!b && shown(b);
    if (b) b.click();
    return { id: id, wasShown: was, shown: shownIds(), overflow: overflow(), fit: fitted() };
  });
  if (CLICKS.length) { P.fit(); out.fitAfterClicks = fitted(); }
  if (UNFOLD) {
    var head = document.querySelector(".box.module");
    out.unfoldedOne = head ? head.getAttribute("data-id") : null;
    if (head) { head.click(); out.afterOneClick = P.state().folded; }
    document.getElementById("unfold").click();
    out.visibleUnfolded = visible();
    out.overflowUnfolded = overflow();
    out.crossingsUnfolded = crossings();
    out.contrastUnfolded = contrast();
  }
  var box = document.querySelector('.box[data-id="' + TARGET + '"]');
  out.targetShown = !!box && shown(box);
  if (box) box.click();
  function text(id) { var e = document.getElementById(id); return e ? e.textContent : null; }
  function items(id) {
    var e = document.getElementById(id);
    if (!e) return null;
    return Array.prototype.map.call(e.querySelectorAll("li"), function (l) {
      return l.textContent;
    });
  }
  out.panel = { title: text("p-title"), op: text("p-op"), forward: text("p-forward"),
    words: text("p-words"), symbols: text("p-symbols"), incoming: text("p-incoming"),
    sends: items("p-sends"), saved: items("p-saved"), bytes: text("p-bytes"),
    value: text("p-value"), flag: text("p-flag"), module: text("p-module") };
  var pre = document.createElement("pre");
  pre.id = "test-out";
  pre.style.display = "none";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
  if (UNFOLD) { document.getElementById("fold").click(); P.fit(); }
})();
</script>
"""


VIEW_W, VIEW_H = 1400, 900  # the page is measured and photographed at this viewport


def _browser(
    args: list[str], tmp_path: Path, window: tuple[int, int] = (VIEW_W, VIEW_H)
) -> subprocess.CompletedProcess[str]:
    cmd = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--window-size={window[0]},{window[1]}",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        *args,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"chromium failed ({done.returncode}): {done.stderr[-2000:]}"
    return done


_WINDOW: list[tuple[int, int]] = []


def _dump_window(tmp_path: Path) -> tuple[int, int]:
    """The window size whose page viewport is VIEW_W × VIEW_H under ``--dump-dom`` (headless
    Chromium counts some browser frame in the window there, unlike for screenshots)."""
    if not _WINDOW:
        probe = tmp_path / "viewport.html"
        probe.write_text(
            "<html><body><script>document.body.setAttribute('data-inner', "
            "innerWidth + 'x' + innerHeight);</script></body></html>",
            encoding="utf-8",
        )
        dom = _browser(["--dump-dom", probe.resolve().as_uri()], tmp_path).stdout
        found = re.search(r'data-inner="(\d+)x(\d+)"', dom)
        assert found, dom[-500:]
        w, h = int(found.group(1)), int(found.group(2))
        _WINDOW.append((2 * VIEW_W - w, 2 * VIEW_H - h))
    return _WINDOW[0]


def _drive(
    page: explorer.Page,
    target: str,
    tmp_path: Path,
    name: str,
    unfold: bool = False,
    screenshot: str | None = None,
    clicks: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Open the page with the driver appended; return what the driver reported."""
    driver = _DRIVER % {
        "target": json.dumps(target),
        "unfold": json.dumps(unfold),
        "clicks": json.dumps(list(clicks)),
    }
    text = page.html.replace("</body>", driver + "</body>")
    path = tmp_path / f"{name}.html"
    path.write_text(text, encoding="utf-8")
    dom = _browser(["--dump-dom", path.resolve().as_uri()], tmp_path, _dump_window(tmp_path)).stdout
    found = re.search(r'<pre id="test-out"[^>]*>(.*?)</pre>', dom, re.S)
    assert found, f"the page's script or the driver did not run: {dom[-3000:]}"
    report = json.loads(html.unescape(found.group(1)))
    assert report["viewport"] == [VIEW_W, VIEW_H]
    if screenshot is not None:  # the same page, stepped to the end, a node selected
        IMAGES.mkdir(parents=True, exist_ok=True)
        shot = IMAGES / screenshot
        _browser([f"--screenshot={shot}", path.resolve().as_uri()], tmp_path)
        assert shot.stat().st_size > 10_000
    return report


def _check_leaf_grads(report: dict[str, Any], params: dict[str, Any]) -> int:
    """The page's running sums at the leaves equal .grad; returns how many compared exactly."""
    cells = {c["label"]: c for c in report["cells"]}
    assert set(cells) == set(params)
    exact = 0
    for name, p in params.items():
        want = p.grad.numpy()
        if cells[name]["value"]:
            np.testing.assert_allclose(json.loads(cells[name]["value"]), want, rtol=2e-5, atol=1e-7)
            exact += 1
        norm = float(np.sqrt(np.sum(want.astype(np.float64) ** 2)))
        assert float(cells[name]["norm"]) == pytest.approx(norm, rel=1e-4, abs=1e-9)
    return exact


MIN_FONT_PX = 6.0  # the smallest box text a small graph, opened whole, may show (size × zoom)
READABLE_PX = 9.0  # the smallest box text a big network's folded overview may show


def _check_view(report: dict[str, Any], unfold: bool = False, font: float = MIN_FONT_PX) -> None:
    """Fitted to the window, text at least ``font`` px, no edge through a box, readable
    colours."""
    fit = report["fit"]
    assert fit["inside"], fit
    assert fit["font"] >= font, fit
    assert report["crossings"] == []
    for key in ("contrastStart", "contrastEnd") + (("contrastUnfolded",) if unfold else ()):
        assert report[key]["bad"] == [] and report[key]["worst"] >= 4.5, report[key]
    if unfold:
        assert report["crossingsUnfolded"] == []


def _check_navigation(nav: list[dict[str, Any]], pointer: list[float]) -> None:
    """Wheel zooms about the pointer, + and − zoom, arrows pan by 60 px, 0 fits again."""
    fit, wheel, plus, minus, left, up, right, down, zero = nav
    px, py = pointer
    assert wheel["scale"] == pytest.approx(min(4.0, fit["scale"] * np.exp(0.3)))
    # the stage point under the pointer stays under it
    assert (px - wheel["tx"]) / wheel["scale"] == pytest.approx((px - fit["tx"]) / fit["scale"])
    assert (py - wheel["ty"]) / wheel["scale"] == pytest.approx((py - fit["ty"]) / fit["scale"])
    assert plus["scale"] == pytest.approx(min(4.0, wheel["scale"] * 1.25))
    assert minus["scale"] == pytest.approx(plus["scale"] * 0.8)
    assert (left["tx"] - minus["tx"], left["ty"]) == (pytest.approx(60), pytest.approx(minus["ty"]))
    assert (up["ty"] - left["ty"], up["tx"]) == (pytest.approx(60), pytest.approx(left["tx"]))
    assert (right["tx"], down["ty"]) == (pytest.approx(minus["tx"]), pytest.approx(minus["ty"]))
    assert (zero["scale"], zero["tx"], zero["ty"]) == (
        pytest.approx(fit["scale"]),
        pytest.approx(fit["tx"]),
        pytest.approx(fit["ty"]),
    )
    assert zero["scale"] != plus["scale"]


def _id_of(page: explorer.Page, op: str, module: str | None = None) -> str:
    for n in page.data["nodes"]:
        if n.get("op") == op and (module is None or n["module"] == module):
            return str(n["id"])
    raise AssertionError(f"no {op} node in {module}")


def _tutorial_mlp() -> tuple[nn.Module, gg.Tensor, gg.Tensor]:
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    return model, gg.randn(16, 4), gg.randint(0, 3, (16,))


# ---- in the browser ------------------------------------------------------------------------
def test_tutorial_mlp_page(tmp_path: Path) -> None:
    model, x, y = _tutorial_mlp()
    loss = F.cross_entropy(model(x), y)
    page = viz.explore(loss)  # names from the model by themselves: nothing passed
    labels = {n["label"] for n in page.data["nodes"] if n["kind"] == "leaf"}
    assert labels == {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"}
    assert all(p.grad is None for p in model.parameters())  # the page left .grad alone
    tanh = _id_of(page, "TanhBackward0")
    report = _drive(page, tanh, tmp_path, "mlp", screenshot="backward_mlp.png")
    loss.backward()

    assert report["layout"] in ("graphviz TB", "graphviz LR")
    assert report["overflow"] == [] and report["texts"]
    _check_view(report)
    _check_navigation(report["nav"], report["pointer"])
    assert "0.weight" in report["texts"]
    assert len(report["values"]) == len(page.data["nodes"])
    assert not any("not kept" in v for v in report["values"]), report["values"]
    assert report["clicks"] == report["steps"] == len(page.data["steps"]) == 7
    assert "step 7 of 7" in report["explain"]
    assert _check_leaf_grads(report, dict(model.named_parameters())) == 6
    panel = report["panel"]
    assert panel["op"] == "TanhBackward0"
    assert panel["forward"] == "output = tanh(x)"
    assert panel["symbols"] == "dL/dx = g · (1 − tanh²(x))"
    assert "saturates" in panel["words"]
    assert panel["incoming"].startswith("16×8 float32") and "rms" in panel["incoming"]
    assert len(panel["sends"]) == 1 and panel["sends"][0].startswith("to x (Addmm): 16×8")
    assert panel["saved"] == ["its output: 16×8 float32, 512 B"]
    assert panel["bytes"].startswith("512 B")
    assert panel["flag"] is not None and "%" in panel["flag"]


def _deep_mlp() -> tuple[nn.Module, gg.Tensor, gg.Tensor]:
    """12 Linear+ReLU layers in one flat Sequential: no parent module to fold them into."""
    gg.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(12):
        layers += [nn.Linear(16, 16), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(16, 4)), gg.randn(32, 16), gg.randint(0, 4, (32,))


def _char_transformer() -> tuple[nn.Module, gg.Tensor]:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from char_transformer import CharTransformer
    finally:
        sys.path.remove(str(ROOT / "examples"))
    gg.manual_seed(0)
    return CharTransformer(40, context=16, dim=32, heads=4, layers=2), gg.randint(0, 40, (4, 16))


_VALUE = re.compile(r"^(= \S+|μ \S+  σ \S+)$")  # what a box shows: a number, or mean and std


def _check_value_lines(page: explorer.Page, report: dict[str, Any]) -> None:
    """Every node's box shows a value: a number or mean and std, never an empty ``=``."""
    shown = report["valueOf"]
    assert set(shown) == {n["id"] for n in page.data["nodes"]}
    bad = {i: v for i, v in shown.items() if not _VALUE.match(v)}
    assert bad == {}, bad


@pytest.mark.parametrize("grouped", [True, False], ids=["group_by_module", "plain"])
def test_deep_mlp_opens_readable_and_unfolds_run_by_run(tmp_path: Path, grouped: bool) -> None:
    model, x, y = _deep_mlp()
    if grouped:
        with viz.group_by_module(model):
            loss = F.cross_entropy(model(x), y)
    else:  # nothing recorded: the ReLUs still find their modules (a Sequential is a chain)
        loss = F.cross_entropy(model(x), y)
    page = viz.explore(loss)
    runs = [m for m in page.data["modules"] if m["run"]]
    assert [(m["label"], m["cls"], m["parent"]) for m in runs] == [
        ("0–9", "5 × Linear, ReLU", None),
        ("10–17", "4 × Linear, ReLU", None),
        ("18–24", "3 × Linear, ReLU + Linear", None),
    ]
    run_of = {str(i): runs[0 if i < 10 else 1 if i < 18 else 2]["path"] for i in range(25)}
    assert {m["path"]: m["parent"] for m in page.data["modules"] if not m["run"]} == run_of
    loss_ops = [n["id"] for n in page.data["nodes"] if n["module"] is None]
    assert [page.data["nodes"][int(i[1:])]["op"] for i in loss_ops] == [
        "NllLossBackward0",
        "LogSoftmaxBackward0",
    ]
    report = _drive(
        page,
        "m:10–17",
        tmp_path,
        "deep",
        unfold=True,
        screenshot="backward_deep_mlp.png" if grouped else None,
        clicks=("m:0–9", "m:0"),
    )
    loss.backward()

    # opens on an overview of three runs and the loss, its text readable at 1400×900
    assert sorted(report["shownStart"]) == sorted(["m:0–9", "m:10–17", "m:18–24", *loss_ops])
    _check_view(report, unfold=True, font=READABLE_PX)
    assert report["overflow"] == [] and report["overflowUnfolded"] == []
    # a click on a run shows its ten modules, folded; a click on a module its op and parameters
    run, layer = report["clicked"]
    assert run["wasShown"] and "m:0–9" not in run["shown"]
    assert {f"m:{i}" for i in range(10)} | {"m:10–17", "m:18–24"} <= set(run["shown"])
    assert layer["wasShown"] and "m:0" not in layer["shown"]
    inside = {n["id"] for n in page.data["nodes"] if n["module"] == "0"}
    assert len(inside) == 3 and inside <= set(layer["shown"])  # Addmm, 0.weight, 0.bias
    assert {f"m:{i}" for i in range(1, 10)} <= set(layer["shown"])  # the others stay folded
    assert run["overflow"] == [] and layer["overflow"] == []
    assert report["visibleUnfolded"] == len(page.data["nodes"])  # "unfold all": every node
    # stepped through to the end, the leaves' sums are .grad; every box shows its value
    assert report["clicks"] == report["steps"] == len(page.data["steps"])
    assert _check_leaf_grads(report, dict(model.named_parameters())) == 26
    _check_value_lines(page, report)
    assert report["panel"]["title"] == "10–17 (4 × Linear, ReLU)"
    assert "Modules 10–17 of the model" in report["panel"]["module"]


def test_char_transformer_opens_readable_and_unfolds_by_module(tmp_path: Path) -> None:
    model, idx = _char_transformer()
    with viz.group_by_module(model):
        logits = model(idx)
    loss = F.cross_entropy(logits.reshape(-1, 40), idx.reshape(-1))
    page = viz.explore(loss, title="char transformer")
    modules = page.data["modules"]
    assert set(page.data["collapsed"]) == {m["path"] for m in modules}  # every level folded
    assert {m["path"] for m in modules if m["parent"] is None} == {
        "tok",
        "pos",
        "blocks",
        "ln",
        "head",
    }
    assert not any(m["run"] for m in modules)  # (no container has enough children for runs)
    norm = _id_of(page, "NativeLayerNormBackward0", "ln")
    report = _drive(
        page,
        norm,
        tmp_path,
        "tf",
        unfold=True,
        screenshot="backward_transformer.png",
        clicks=("m:blocks", "m:blocks.0"),
    )
    loss.backward()

    _check_view(report, unfold=True, font=READABLE_PX)
    assert report["overflow"] == [] and report["overflowUnfolded"] == []
    blocks, block0 = report["clicked"]
    assert {"m:blocks.0", "m:blocks.1"} <= set(blocks["shown"]) and "m:blocks" not in blocks[
        "shown"
    ]
    parts = {"m:blocks.0.ln1", "m:blocks.0.attn", "m:blocks.0.ln2", "m:blocks.0.mlp"}
    assert parts <= set(block0["shown"]) and "m:blocks.1" in block0["shown"]
    residual = [n["id"] for n in page.data["nodes"] if n["module"] == "blocks.0"]
    assert len(residual) == 2 and set(residual) <= set(block0["shown"])  # the two residual adds
    assert report["clicks"] == report["steps"] == len(page.data["steps"])
    exact = _check_leaf_grads(report, dict(model.named_parameters()))
    assert 0 < exact < len(list(model.parameters()))  # big leaves are compared by norm
    _check_value_lines(page, report)
    panel = report["panel"]
    assert panel["op"] == "NativeLayerNormBackward0" and panel["module"] == "ln (LayerNorm)"
    assert "γ" in panel["symbols"] and len(panel["sends"]) == 3
    assert panel["saved"] and "B" in panel["bytes"]


# ---- in Python -----------------------------------------------------------------------------
@contextmanager
def _forward_outputs() -> Iterator[dict[int, np.ndarray]]:
    """Every op's output as the forward computed it, by the id of its node: a spy on the
    recorder, so the values the page shows are checked against what really ran."""
    seen: dict[int, np.ndarray] = {}
    nodes: list[Any] = []  # (kept alive: ids stay unique)
    real = recorder._recorded

    def spy(ctx: Any, out: Any, args: Any) -> Any:
        t = real(ctx, out, args)
        nodes.append(ctx)
        seen[id(ctx)] = np.array(t._data, copy=True)
        return t

    recorder._recorded = spy
    try:
        yield seen
    finally:
        recorder._recorded = real


def _check_against_forward(
    loss: gg.Tensor, page: explorer.Page, truth: dict[int, np.ndarray]
) -> tuple[int, list[dict[str, Any]]]:
    """Each op value the page shows is the forward's (mean, std, min, max); returns how many
    ops show one, and the nodes showing none."""
    objs = list(walk([loss.grad_fn], leaves=True, breadth_first=True))  # the page's order
    shown, missing = 0, []
    for obj, n in zip(objs, page.data["nodes"], strict=True):
        if n["kind"] != "op":
            continue
        if n["value"] is None:
            missing.append(n)
            continue
        a = truth[id(obj)].astype(np.float64)
        with np.errstate(invalid="ignore"):  # (the causal mask's -inf: its std is NaN)
            stats = (("mean", a.mean()), ("std", a.std()), ("min", a.min()), ("max", a.max()))
        for key, want in stats:
            got = float(n["value"][key])  # (JSON: infinities travel as "-Infinity")
            assert got == pytest.approx(float(want), rel=1e-5, abs=1e-6, nan_ok=True), (n, key)
        shown += 1
    return shown, missing


@pytest.mark.parametrize("net", ["tutorial MLP", "12-layer MLP", "char transformer"])
def test_every_node_shows_its_forward_value(net: str, tmp_path: Path) -> None:
    """Plain code, nothing recorded for pictures: every node's value, as the forward had it,
    also for ops whose number and index arguments only the node kept (views, slices,
    transposes, embeddings, scalings)."""
    with _forward_outputs() as truth:
        if net == "char transformer":
            model, idx = _char_transformer()
            logits = model(idx)
            loss = F.cross_entropy(logits.reshape(-1, 40), idx.reshape(-1))
        else:
            model, x, y = _tutorial_mlp() if net == "tutorial MLP" else _deep_mlp()
            loss = F.cross_entropy(model(x), y)
    page = viz.explore(loss)
    shown, missing = _check_against_forward(loss, page, truth)
    assert missing == [] and shown == sum(n["kind"] == "op" for n in page.data["nodes"])
    assert all(n["value"] is not None and n["note"] is None for n in page.data["nodes"])
    if net == "char transformer":  # the ops nothing saved: no longer "value not kept"
        ops = {n.get("op") for n in page.data["nodes"]}
        assert {"GetItemBackward0", "TransposeBackward0", "ViewBackward0"} <= ops
        assert {"EmbeddingBackward0", "MulBackward0"} <= ops
    report = _drive(page, "n0", tmp_path, net.replace(" ", "-"))
    _check_value_lines(page, report)


def test_module_outputs_changed_in_place_are_not_shown() -> None:
    """group_by_module keeps what each module returned; an in-place ReLU then overwrites the
    Linear's output. The page shows the Linear's forward value, not the ReLU's."""
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(inplace=True), nn.Linear(8, 2))
    with _forward_outputs() as truth, viz.group_by_module(model):
        loss = model(gg.randn(16, 4)).square().mean()
    page = viz.explore(loss)
    shown, missing = _check_against_forward(loss, page, truth)
    assert missing == [] and shown == 5  # Mean, Pow, Addmm, Relu, Addmm
    first = [n for n in page.data["nodes"] if n.get("op") == "AddmmBackward0"][-1]
    assert first["module"] == "0" and first["value"]["min"] < 0  # before the ReLU


def _stepped_mlp(which: str) -> tuple[nn.Module, gg.Tensor, dict[int, np.ndarray]]:
    """The tutorial MLP's loss after backward(retain_graph=True) and an SGD step on ``which``
    parameters: the graph is intact, the leaves are not what the forward saw."""
    model, x, y = _tutorial_mlp()
    with _forward_outputs() as truth:
        loss = F.cross_entropy(model(x), y)
    loss.backward(retain_graph=True)
    params = [p for k, p in model.named_parameters() if which == "all" or k.endswith(which)]
    optim.SGD(params, lr=0.5).step()
    return model, loss, truth


def test_a_step_on_unsaved_leaves_hides_what_depends_on_them(tmp_path: Path) -> None:
    """The biases step in place between backward and the page (nothing saved them, so the
    backward still runs): the ops computed from them say they cannot show their value, the
    page says why at the top, and every value it does show is the forward's."""
    model, loss, truth = _stepped_mlp("bias")
    biases = {k: p for k, p in model.named_parameters() if k.endswith("bias")}
    assert all(p._version == 2 for p in biases.values())  # (init, then the step)
    page = viz.explore(loss)
    shown, missing = _check_against_forward(loss, page, truth)
    assert shown == 4  # NllLoss, LogSoftmax, ReLU, Tanh: kept for backward, the forward's
    assert [n["op"] for n in missing] == ["AddmmBackward0"] * 3
    for n, bias in zip(missing, ("4.bias", "2.bias", "0.bias"), strict=True):
        assert n["note"] == f"{bias} was modified in place after the forward"
    leaves = {n["label"]: n for n in page.data["nodes"] if n["kind"] == "leaf"}
    assert {k for k, n in leaves.items() if n["note"]} == set(biases)
    assert "now version 2" in leaves["0.bias"]["note"]
    report = _drive(page, missing[-1]["id"], tmp_path, "stale")
    for bias in biases:
        assert bias in report["warn"]
    assert "modified in place after the forward" in report["warn"]
    assert {report["valueOf"][n["id"]] for n in missing} == {"⚠ leaf changed: no value"}
    assert {report["valueOf"][leaves[b]["id"]] for b in biases} == {"⚠ changed after forward"}
    shown_values = [v for i, v in report["valueOf"].items() if v.startswith(("=", "μ"))]
    assert len(shown_values) == 4 + 3  # the four ops above and the three weights
    assert report["panel"]["value"] == "⚠ not shown: 0.bias was modified in place after the forward"
    assert report["overflow"] == []
    # the gradients are the recorded graph's: what backward() computed before the step
    assert _check_leaf_grads(report, dict(model.named_parameters())) == 6


def test_a_step_on_saved_leaves_refuses_the_page() -> None:
    """A full optimizer step changes the weights the backward pass needs: no page, and the
    error names them."""
    model, loss, _ = _stepped_mlp("all")
    with pytest.raises(ValueError, match=r"4\.weight, 2\.weight, 0\.weight changed in place"):
        viz.to_html(loss)
    assert all(p.grad is not None for p in model.parameters())


def test_a_change_without_version_bump_withdraws_recomputed_values() -> None:
    """``p.data += 1`` bumps no version counter; running the ops again then disagrees with the
    outputs backward kept, so no recomputed value is shown rather than a wrong one."""
    model, x, y = _tutorial_mlp()
    with _forward_outputs() as truth:
        loss = F.cross_entropy(model(x), y)
    model[0].bias.data += 1.0
    assert model[0].bias._version == 1  # (init only: the change went unseen)
    page = viz.explore(loss)
    shown, missing = _check_against_forward(loss, page, truth)
    assert shown == 4 and [n["op"] for n in missing] == ["AddmmBackward0"] * 3
    assert all("without a version bump" in n["note"] for n in missing)


def test_every_intermediate_value_as_pytorch_computes_it() -> None:
    """No grouping by module: pre-activations (nothing saved them) are recomputed from what the
    graph holds, and every node's value matches the same network run in PyTorch."""
    import torch

    model, x, y = _tutorial_mlp()
    loss = F.cross_entropy(model(x), y)
    page = viz.explore(loss)
    w = {k: torch.tensor(v.detach().numpy()) for k, v in model.named_parameters()}
    tx = torch.tensor(x.numpy())
    a0 = tx @ w["0.weight"].T + w["0.bias"]
    a2 = a0.tanh() @ w["2.weight"].T + w["2.bias"]
    a4 = a2.relu() @ w["4.weight"].T + w["4.bias"]
    logp = torch.log_softmax(a4, dim=1)
    want = [  # the page's ops, output first
        ("NllLossBackward0", torch.nn.functional.nll_loss(logp, torch.tensor(y.numpy()))),
        ("LogSoftmaxBackward0", logp),
        ("AddmmBackward0", a4),
        ("ReluBackward0", a2.relu()),
        ("AddmmBackward0", a2),
        ("TanhBackward0", a0.tanh()),
        ("AddmmBackward0", a0),
    ]
    ops = [n for n in page.data["nodes"] if n["kind"] == "op"]
    assert [n["op"] for n in ops] == [op for op, _ in want]
    for n, (op, t) in zip(ops, want):
        v = n["value"]
        assert v is not None, f"{op} shows no value"
        a = t.double().numpy()
        assert v["shape"] == list(a.shape)
        for key, got in (("mean", a.mean()), ("std", a.std()), ("min", a.min()), ("max", a.max())):
            assert v[key] == pytest.approx(float(got), rel=1e-5, abs=1e-6), (op, key)
    for n in page.data["nodes"]:  # leaves too: every box has a value
        assert n["value"] is not None
    # plain trace() is unchanged: without recompute the Linear outputs stay unknown
    plain = viz.trace(loss)
    assert any(n.op == "AddmmBackward0" and n.value is None for n in plain.nodes)
    assert all(p.grad is None for p in model.parameters())


def test_params_dict_names_plain_code() -> None:
    w = gg.randn(3, 2, requires_grad=True)
    b = gg.zeros(2, requires_grad=True)
    loss = (gg.randn(5, 3) @ w + b).tanh().sum()
    text = viz.to_html(loss, params={"W": w, "b": b})
    page = viz.explore(loss, params={"W": w, "b": b})
    assert {n["label"] for n in page.data["nodes"] if n["kind"] == "leaf"} == {"W", "b"}
    assert '<td class="grad" id="gn' in text and 'data-label="W"' in text
    unnamed = viz.explore(loss)
    assert {n["label"] for n in unnamed.data["nodes"] if n["kind"] == "leaf"} == {"leaf0", "leaf1"}


def test_saturated_units_flagged_as_inspect_does() -> None:
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh())
    with gg.no_grad():
        model[0].weight.mul_(100.0)  # pre-activations of size ~100: tanh saturates
    page = viz.explore(model(gg.randn(16, 4)).sum())
    tanh = next(n for n in page.data["nodes"] if n.get("op") == "TanhBackward0")
    assert tanh["flag"]["what"] == "saturated" and tanh["flag"]["flagged"]
    assert tanh["flag"]["fraction"] > 0.5
    calm = viz.explore(nn.Sequential(nn.Linear(4, 8), nn.Tanh())(gg.randn(16, 4) * 0.01).sum())
    flag = next(n for n in calm.data["nodes"] if n.get("op") == "TanhBackward0")["flag"]
    assert not flag["flagged"]


def test_user_text_is_escaped_and_nothing_is_fetched() -> None:
    evil = "</script><script>alert(1)</script>"
    w = gg.randn(2, requires_grad=True)
    text = viz.to_html((w * 2).sum(), params={evil: w}, title=evil)
    assert evil not in text and "alert(1)</script>" not in text
    assert text.count("<script") == 2 and "src=" not in text
    assert "https://" not in text
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_fallback_layout_without_graphviz(monkeypatch: Any) -> None:
    model, x, y = _tutorial_mlp()
    loss = F.cross_entropy(model(x), y)
    monkeypatch.setattr(explorer.layout.__globals__["shutil"], "which", lambda name: None)
    page = viz.explore(loss)
    lay = page.data["layout"]
    assert lay["engine"] == "fallback"
    assert set(lay["pos"]) == {n["id"] for n in page.data["nodes"]}
    assert set(lay["clusters"]) == {"0", "1", "2", "3", "4"}  # (Tanh and ReLU: a Sequential's)
    model, x, y = _deep_mlp()  # runs of modules nest without Graphviz too
    page = viz.explore(F.cross_entropy(model(x), y))
    clusters = page.data["layout"]["clusters"]
    assert {"0–9", "10–17", "18–24"} <= set(clusters)
    outer, inner = clusters["0–9"], clusters["3"]
    assert outer[0] <= inner[0] and outer[1] <= inner[1]
    assert outer[2] >= inner[2] and outer[3] >= inner[3]


def test_show_and_jupyter(monkeypatch: Any, tmp_path: Path) -> None:
    opened: list[str] = []
    monkeypatch.setattr(explorer.webbrowser, "open", lambda uri: opened.append(uri) or True)
    monkeypatch.setattr(explorer.tempfile, "tempdir", str(tmp_path))
    x = gg.tensor([1.0, 2.0], requires_grad=True, name="x")
    path = viz.show((x * x).sum())
    assert opened == [Path(path).resolve().as_uri()]
    assert Path(path).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    shown = viz.explore((x * x).sum())._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and "<script" not in shown  # escaped inside
    assert "&lt;script" in shown


def test_rules_table_and_fallback() -> None:
    assert rule("ReluBackward0").symbols == "dL/dx = g · [x > 0]"
    assert rule("AddmmBackward0").args == ("x", "W", "b")
    generic = rule("CubeBackward")
    assert generic.generic and "vector-Jacobian" in generic.words


def test_page_refuses_what_it_cannot_show() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(ValueError, match="freed by an earlier backward"):
        viz.explore(y)
    with pytest.raises(ValueError, match="reduce it first"):
        viz.explore(x * 2)
    with pytest.raises(ValueError, match="is a leaf"):
        viz.explore(gg.tensor(1.0, requires_grad=True))
