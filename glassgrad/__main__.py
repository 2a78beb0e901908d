"""Command line: ``glassgrad train`` trains a model; ``glassgrad demo`` runs the worked examples.

``python -m glassgrad ...`` and the ``glassgrad`` console script both enter ``main()``.
"""

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
    from glassgrad import train

    parser = train.ArgumentParser(prog="glassgrad", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the worked examples (the chain rule, step by step)")
    train_parser = sub.add_parser(
        "train",
        help="train a classifier (default: an MLP on the bundled digits)",
        description=train.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_arguments(train_parser)
    try:
        args = parser.parse_args(argv)
    except train.TrainError as e:  # argparse's complaint, as one line
        print(f"glassgrad: error: {e} (see glassgrad --help)", file=sys.stderr)
        return e.code
    if args.command == "demo":
        return demo()
    try:
        return train.cli(args)
    except train.TrainError as e:  # bad options, data or checkpoint: one line, no traceback
        print(f"glassgrad train: error: {e}", file=sys.stderr)
        return e.code


if __name__ == "__main__":
    sys.exit(main())
