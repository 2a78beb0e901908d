"""docs/tutorial.md runs as written.

Its fenced blocks are read in order. ``python`` blocks run in one shared namespace, as a reader
pasting them into one session would; ``sh`` blocks are ``glassgrad ...`` command lines, run through
``glassgrad.__main__.main`` and expected to exit with 0. Everything runs in a temporary working
directory, so the files the tutorial writes (SVG, HTML, PNG) land there. A ``text`` block right
after a code block is that block's exact output (compared line by line, trailing spaces ignored);
output the tutorial shows in a fence without a language (timings, memory figures) is not compared.
A failure names the block's number and its line in docs/tutorial.md.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from glassgrad.__main__ import main as glassgrad_main

DOCS = Path(__file__).resolve().parent.parent / "docs"
TUTORIAL = DOCS / "tutorial.md"
LANGUAGES = {"python", "sh", "text", ""}
FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


@dataclass
class Block:
    number: int  # 1-based, counting every fenced block of the file
    lang: str
    code: str
    line: int  # where the block's first line of content is in the file

    def where(self) -> str:
        return f"block {self.number} ({self.lang or 'plain'}, docs/tutorial.md line {self.line})"


def read_blocks(text: str) -> list[Block]:
    return [
        Block(k + 1, m.group(1), m.group(2), text.count("\n", 0, m.start(2)) + 1)
        for k, m in enumerate(FENCE.finditer(text))
    ]


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip("\n").splitlines()]


def run_python(block: Block, namespace: dict) -> str:
    out = io.StringIO()
    code = compile(block.code, f"<docs/tutorial.md {block.where()}>", "exec")
    try:
        with contextlib.redirect_stdout(out):
            exec(code, namespace)  # our own documentation, run as the reader would
    except Exception:
        pytest.fail(
            f"{block.where()} raised:\n{traceback.format_exc()}\nits output so far:\n"
            f"{out.getvalue()}",
            pytrace=False,
        )
    return out.getvalue()


def run_sh(block: Block) -> str:
    out = io.StringIO()
    for k, line in enumerate(block.code.splitlines()):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        argv = shlex.split(line, comments=True)
        if argv[0] != "glassgrad":
            pytest.fail(
                f"{block.where()}, line {k + 1}: only glassgrad commands are checked: {line}"
            )
        with contextlib.redirect_stdout(out):
            code = glassgrad_main(argv[1:])
        if code != 0:
            pytest.fail(
                f"{block.where()}: `{line}` exited with {code}; output:\n{out.getvalue()}",
                pytrace=False,
            )
    return out.getvalue()


@pytest.fixture(scope="module")
def blocks() -> list[Block]:
    return read_blocks(TUTORIAL.read_text(encoding="utf-8"))


def test_blocks_are_well_formed(blocks: list[Block]) -> None:
    assert sum(b.lang == "python" for b in blocks) >= 20
    assert any(b.lang == "sh" for b in blocks)
    for k, b in enumerate(blocks):
        assert b.lang in LANGUAGES, f"{b.where()}: unknown language {b.lang!r}"
        if b.lang in ("text", ""):  # an output block follows the code it belongs to
            assert k > 0 and blocks[k - 1].lang in ("python", "sh"), (
                f"{b.where()}: an output block must directly follow a python or sh block"
            )


def test_tutorial_runs(blocks: list[Block], tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__tutorial__"}
    for k, block in enumerate(blocks):
        if block.lang == "python":
            output = run_python(block, namespace)
        elif block.lang == "sh":
            output = run_sh(block)
        else:
            continue
        after = blocks[k + 1] if k + 1 < len(blocks) else None
        if after is not None and after.lang == "text":
            assert _lines(output) == _lines(after.code), (
                f"{block.where()} printed something else than {after.where()} shows:\n"
                f"--- printed\n{output}--- shown\n{after.code}"
            )
    for written in (
        "chain_rule.svg",
        "tiny_mlp.svg",
        "tiny_mlp_collapsed.svg",
        "chain_rule.html",
        "explain.svg",
        "f.html",
        "gradient_norms.png",
    ):
        assert (tmp_path / written).stat().st_size > 0, f"the tutorial did not write {written}"
    # the picture shown in the tutorial is the one its code renders (same labels, any layout)
    assert _svg_text(tmp_path / "chain_rule.svg") == _svg_text(DOCS / "images/chain_rule.svg")


def _svg_text(path: Path) -> list[str]:
    return sorted(re.findall(r"<text[^>]*>([^<]*)</text>", path.read_text(encoding="utf-8")))


def _prose(markdown: str) -> str:
    """The text without code: fenced blocks and inline code removed."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", markdown))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_docs_links_resolve() -> None:
    for page in (TUTORIAL, DOCS / "README.md"):
        text = _prose(page.read_text(encoding="utf-8"))
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
    text = _prose(TUTORIAL.read_text(encoding="utf-8"))
    anchors = {_slug(h) for h in re.findall(r"^#+ (.*)$", text, flags=re.M)}
    for anchor in re.findall(r"\]\(#([^)]+)\)", text):
        assert anchor in anchors, f"tutorial.md links to a missing heading #{anchor}"
