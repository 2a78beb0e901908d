"""Command line: ``python -m glassgrad demo`` runs the worked examples of the notes."""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
WORKED_EXAMPLES = (
    "chain_rule",
    "division_graph",
    "two_paths",
    "gradient_descent",
    "scalar_network",
    "linear_model_gradcheck",
    "vanishing_sigmoid",
)


def demo() -> int:
    """Run each worked example in turn, printing its numbers."""
    if not EXAMPLES_DIR.is_dir():
        print(f"glassgrad demo: the examples folder {EXAMPLES_DIR} is missing (run from a clone)")
        return 1
    for name in WORKED_EXAMPLES:
        print(f"\n=== examples/{name}.py " + "=" * (60 - len(name)))
        runpy.run_path(str(EXAMPLES_DIR / f"{name}.py"), run_name="__main__")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="glassgrad", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the worked examples (the chain rule, step by step)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo()
    return 2


if __name__ == "__main__":
    sys.exit(main())
