"""Size and render time of the explorable backward-pass page for the char-transformer example.

    .venv/bin/python bench/viz_page.py            # 2 layers, dim 32 (the test's model)
    .venv/bin/python bench/viz_page.py --layers 6 --dim 64

Prints the graph's size, how many boxes the page opens on (folded by module), the time Python
takes to record the backward pass, recompute every value, lay the graph out (Graphviz) and write
the page, the page's size, and the time headless Chromium takes from the page's script starting
to the first drawing (``data-render-ms``). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))

from char_transformer import CharTransformer  # noqa: E402

import glassgrad as gg  # noqa: E402
import glassgrad.nn.functional as F  # noqa: E402
from glassgrad import viz  # noqa: E402
from glassgrad.viz.folds import folded_graph  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--dim", type=int, default=32)
    p.add_argument("--context", type=int, default=16)
    p.add_argument("--batch", type=int, default=4)
    args = p.parse_args()
    gg.manual_seed(0)
    vocab = 40
    model = CharTransformer(vocab, context=args.context, dim=args.dim, heads=4, layers=args.layers)
    idx = gg.randint(0, vocab, (args.batch, args.context))
    with viz.group_by_module(model):
        logits = model(idx)
    loss = F.cross_entropy(logits.reshape(-1, vocab), idx.reshape(-1))
    t0 = time.perf_counter()
    page = viz.explore(loss, title="char transformer")
    text = page.html
    seconds = time.perf_counter() - t0
    d = page.data
    print(
        f"graph: {len(d['nodes'])} nodes, {len(d['edges'])} edges, {len(d['steps'])} steps, "
        f"{len(d['modules'])} modules; layout {d['layout']['engine']} {d['rankdir']}"
    )
    shown, _ = folded_graph(d["nodes"], d["edges"], d["modules"], d["collapsed"])
    runs = sum(m["run"] for m in d["modules"])
    print(
        f"opens on {len(shown)} boxes ({len(d['collapsed'])} modules and runs folded, {runs} runs)"
    )
    print(f"python (record + layout + page): {seconds * 1e3:.0f} ms")
    print(f"page size: {len(text.encode('utf-8')) / 1024:.0f} KiB")
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        print("render: chromium not found")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "page.html"
        path.write_text(text, encoding="utf-8")
        t0 = time.perf_counter()
        dom = subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--window-size=1400,900",
                f"--user-data-dir={tmp}/profile",
                "--dump-dom",
                path.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        wall = time.perf_counter() - t0
    found = re.search(r'data-render-ms="(\d+)"', dom)
    print(
        f"render in the page (script start to first drawing): "
        f"{found.group(1) if found else '?'} ms; chromium start to DOM dump: {wall:.1f} s"
    )


if __name__ == "__main__":
    main()
