"""glassgrad.viz pictures: DOT text, SVG/PNG through Graphviz, escaping, groups, the cap."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import glassgrad as gg
from glassgrad import nn
from glassgrad.viz import (
    Drawing,
    GraphvizNotFoundError,
    capture_grads,
    draw,
    group_by_module,
    name,
    render,
    to_dot,
    trace,
)
from glassgrad.viz import dot as dotmod

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    return [t.text or "" for t in root.iter(SVG + "text")]


def _f_with_grads():
    x = gg.tensor(-2.0, requires_grad=True, name="x")
    y = gg.tensor(5.0, requires_grad=True, name="y")
    z = gg.tensor(-4.0, requires_grad=True, name="z")
    f = name(name(x + y, "q") * z, "f")
    with capture_grads() as grads:
        f.backward()
    return f, grads


def _edge_lines(dot: str, colour: str) -> list[str]:
    return [ln for ln in dot.splitlines() if "->" in ln and f"color={colour}" in ln]


def test_dot_of_f_shows_values_and_red_backward_edges_with_gradients() -> None:
    f, grads = _f_with_grads()
    dot = to_dot(f, grads=grads)
    for label in ('"x\\n', '"q\\nAddBackward0', "MulBackward0", "value = -12", "value = 3"):
        assert label in dot, label
    assert "grad = -4" in dot and "grad = 3" in dot  # dq and dz, in the boxes
    black, red = _edge_lines(dot, "black"), _edge_lines(dot, "red")
    assert len(black) == len(red) == 5
    assert all("dir=back" in ln for ln in red)
    # the gradient each wire carries back: -4 to q, x and y; 3 to z; 1 into the output
    labels = sorted(re.search(r'label="([^"]*)"', ln).group(1) for ln in red)
    assert labels == ["-4", "-4", "-4", "1", "3"]
    assert dot.startswith("digraph glassgrad {") and dot.rstrip().endswith("}")


def test_without_gradients_no_backward_edges_unless_asked() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).sum()
    assert _edge_lines(to_dot(y), "red") == []
    red = _edge_lines(to_dot(y, backward=True), "red")
    assert len(red) == 3 and not any("label" in ln for ln in red)
    y.backward()  # x.grad is known now: backward edges are drawn
    assert len(_edge_lines(to_dot(y), "red")) == 3
    assert _edge_lines(to_dot(y, backward=False), "red") == []


def test_large_tensors_show_shape_dtype_and_statistics() -> None:
    w = name(gg.randn(20, 30, requires_grad=True), "W")
    dot = to_dot((w * w).sum())
    box = next(ln for ln in dot.splitlines() if '"W\\n' in ln)
    assert "(20, 30) float32" in box and "min " in box and "std " in box and "value =" not in box
    assert "scalar float32" in dot


def test_svg_renders_parses_and_contains_the_labels(tmp_path) -> None:
    f, grads = _f_with_grads()
    path = render(f, tmp_path / "f.svg", grads=grads)
    texts = _texts(Path(path).read_text(encoding="utf-8"))
    for label in ("x", "y", "z", "q", "AddBackward0", "MulBackward0", "output f"):
        assert label in texts, label
    assert "value = -12" in texts and "grad = -4" in texts
    png = render(f, tmp_path / "f.png")
    assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    d = draw(f, grads=grads)
    assert isinstance(d, Drawing) and "MulBackward0" in _texts(d._repr_svg_())
    assert Path(d.save(tmp_path / "d.png")).read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="format must be one of svg, png; got 'gif'"):
        render(f, tmp_path / "f.gif", format="gif")


@pytest.mark.parametrize(
    "label",
    [
        'say "hi"',
        "a[0] {b} |c| <d>",
        "<b>bold</b> &amp; <script>alert(1)</script>",
        "back\\slash \\n \\N \\l",
        "two\nlines",
        "}; digraph x { a -> b",
    ],
)
def test_labels_are_escaped(label: str) -> None:
    x = gg.tensor(1.0, requires_grad=True, name=label)
    dot = to_dot(x * 2)
    svg = draw(x * 2).svg()  # Graphviz accepts the text...
    texts = _texts(svg)  # ...and the SVG is well-formed XML
    for line in label.split("\n"):  # ...showing the name exactly as written
        assert line in texts, (line, texts)
    assert dot.count("digraph") == 1 + label.count("digraph")


def test_quote_escapes_backslashes_quotes_and_control_characters() -> None:
    assert dotmod._q('a"b') == '"a\\"b"'
    assert dotmod._q("a\\nb") == '"a\\\\nb"'
    assert dotmod._q("a\nb\x00c") == '"a\\nbc"'
    assert dotmod._q("&amp; <b>") == '"&amp;amp; <b>"'  # Graphviz decodes entities
    assert dotmod._q(["one", "two"]) == '"one\\ntwo"'


def test_cap_draws_a_summary_node() -> None:
    x = gg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(3_300):
        y = y * 1.0
    dot = to_dot(y, max_nodes=80)
    assert "... 3,221 more nodes" in dot  # 3,300 ops + 1 leaf, 80 drawn
    assert dot.count("shape=ellipse") == 80
    assert "... 3,221 more nodes" in to_dot(trace(y, max_nodes=90), max_nodes=80)
    assert "more nodes" not in to_dot(y, max_nodes=None)


class _MLP(nn.Module):
    def __init__(self, depth: int, width: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            *[m for _ in range(depth) for m in (nn.Linear(width, width), nn.ReLU())]
        )
        self.head = nn.Linear(width, 10)

    def forward(self, x):
        return self.head(self.layers(x))


def test_modules_are_clusters_and_collapse_into_one_box() -> None:
    model = _MLP(2, 8)
    with group_by_module(model):
        loss = model(gg.randn(4, 8)).sum()
    dot = to_dot(loss)
    assert 'subgraph "cluster_layers" {' in dot and 'subgraph "cluster_layers.0" {' in dot
    assert 'label="layers.0 (Linear)"' in dot and 'label="head (Linear)"' in dot
    # layers.0 is nested inside layers
    start = dot.index('subgraph "cluster_layers" {')
    assert start < dot.index('subgraph "cluster_layers.0" {')
    small = to_dot(loss, collapse={"layers.0", "head"})
    assert 'subgraph "cluster_layers.0"' not in small and 'subgraph "cluster_layers"' in small
    assert re.search(r'"layers\.0 \(Linear\)\\n3 nodes collapsed', small)
    assert "shape=box3d" in small
    assert "0.weight" not in small.replace("layers.2.weight", "")
    svg_texts = _texts(draw(loss, collapse="layers").svg())
    assert "layers (Sequential)" in svg_texts


def test_a_twelve_layer_mlp_renders_to_svg(tmp_path) -> None:
    model = _MLP(12, 32)
    with group_by_module(model), capture_grads() as grads:
        loss = nn.functional.cross_entropy(model(gg.randn(16, 32)), gg.randint(0, 10, (16,)))
        loss.backward()
    path = render(loss, tmp_path / "mlp.svg", grads=grads)
    texts = _texts(Path(path).read_text(encoding="utf-8"))
    assert "layers.22 (Linear)" in texts and "layers.23 (ReLU)" in texts
    assert "layers.0.weight" in texts and "head.bias" in texts
    assert sum(t == "AddmmBackward0" for t in texts) == 13


def test_missing_graphviz_gives_a_clear_error_and_dot_still_works(tmp_path, monkeypatch) -> None:
    x = gg.tensor(2.0, requires_grad=True, name="x")
    y = x * 3
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere on PATH
    assert shutil.which("dot") is None
    with pytest.raises(GraphvizNotFoundError) as err:
        render(y, tmp_path / "y.svg")
    msg = str(err.value)
    assert "apt-get install graphviz" in msg and "brew install graphviz" in msg
    assert "to_dot" in msg
    assert not (tmp_path / "y.svg").exists()
    with pytest.raises(GraphvizNotFoundError):
        draw(y)._repr_svg_()
    assert '"x\\n' in to_dot(y)
    monkeypatch.setattr(dotmod.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        render(y, tmp_path / "y.png")


def test_bad_options_name_the_culprit() -> None:
    x = gg.tensor(2.0, requires_grad=True)
    with pytest.raises(ValueError, match="rankdir must be one of"):
        to_dot(x * 2, rankdir="sideways")
    with pytest.raises(ValueError, match="backward must be True, False or 'auto'"):
        to_dot(x * 2, backward="yes")
    with pytest.raises(TypeError, match=r"expected a Graph from glassgrad\.viz\.trace"):
        to_dot(3.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"pass them to glassgrad\.viz\.trace"):
        to_dot(trace(x * 2), grads=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no module 'enc'"):
        to_dot(x * 2, collapse={"enc"})


def test_the_html_page_is_exported_lazily() -> None:
    import glassgrad.viz as viz
    from glassgrad.viz.html import to_html

    assert viz.to_html is to_html
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        viz.nope  # noqa: B018
