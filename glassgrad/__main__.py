"""Command line: ``glassgrad train`` trains a model; ``glassgrad demo`` runs the worked examples.

``python -m glassgrad ...`` and the ``glassgrad`` console script both enter ``main()``. This module
is the command line only: options in, a summary table, curves and JSON out; the training job
itself (data, models, the loop, checkpoints) is ``glassgrad.train``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import runpy
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, NoReturn

from glassgrad import explain
from glassgrad.train import (
    DTYPES,
    OPTIMIZERS,
    SCHEDULES,
    Config,
    RunOptions,
    TrainError,
    run,
)
from glassgrad.train import __doc__ as TRAIN_DOC
from glassgrad.train_parallel import join

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


# ---- glassgrad train: options --------------------------------------------------------------------


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting: main() prints one line."""

    def error(self, message: str) -> NoReturn:
        raise TrainError(message, code=2)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _nonneg_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _hidden(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 128,64, got {text!r}"
        )
    return sizes


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``glassgrad train`` (Config fields default to None: 'not given')."""
    d = Config()
    p.add_argument(
        "--data",
        help="digits (bundled, default) | idx:IMAGES,LABELS | npz:PATH | csv:PATH",
    )
    p.add_argument("--model", choices=("mlp", "cnn"), help="default: mlp")
    p.add_argument(
        "--hidden",
        type=_hidden,
        help="MLP layer widths (default 256,128) or CNN channels per conv block (default 32,64)",
    )
    p.add_argument("--epochs", type=_positive_int, help=f"default: {d.epochs}")
    p.add_argument("--batch-size", type=_positive_int, help=f"default: {d.batch_size}")
    p.add_argument("--lr", type=_nonneg_float, help="peak learning rate (default: 0.002 Adam)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help=f"default: {d.optimizer}")
    p.add_argument("--schedule", choices=SCHEDULES, help=f"default: {d.schedule}")
    p.add_argument("--weight-decay", type=_nonneg_float, help="default: 0")
    p.add_argument(
        "--dropout", type=_nonneg_float, help=f"after each hidden layer (default: {d.dropout})"
    )
    p.add_argument("--seed", type=int, help="seeds the split, the initial weights, the shuffling")
    p.add_argument("--dtype", choices=tuple(DTYPES), help=f"default: {d.dtype}")
    p.add_argument("--save", metavar="PATH", help="write a checkpoint after every epoch")
    p.add_argument("--resume", metavar="PATH", help="continue the run saved in a checkpoint")
    p.add_argument(
        "--stop-after",
        type=_positive_int,
        metavar="N",
        help="stop after epoch N (the schedule still plans for --epochs; resume later)",
    )
    p.add_argument("--plot", metavar="PATH.png", help="save loss and accuracy curves (matplotlib)")
    p.add_argument("--json", action="store_true", help="end with one JSON line of results")
    p.add_argument(
        "--report",
        nargs="?",
        const="gradient_norms.png",
        metavar="PATH.png",
        help="print a gradient-flow report (norms, update ratios, saturated and dead units) "
        "each epoch and plot per-layer gradient norms (default gradient_norms.png)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--compile",
        action="store_true",
        help="run each training step through glassgrad.compile: recorded once, then replayed "
        "as generated NumPy code (the same numbers)",
    )
    p.add_argument(
        "--show-code",
        action="store_true",
        help="print the compiled training step's NumPy code after training (implies --compile)",
    )


def options_from_args(ns: argparse.Namespace) -> tuple[Config, RunOptions]:
    """The run's Config (with the fields given explicitly) and this invocation's RunOptions."""
    cfg = Config()
    explicit = set()
    for name in asdict(cfg):
        value = getattr(ns, name, None)
        if value is not None:
            setattr(cfg, name, value)
            explicit.add(name)
    if cfg.dropout >= 1:
        raise TrainError(f"--dropout must be in [0, 1), got {cfg.dropout}", code=2)
    opts = RunOptions(
        save=ns.save,
        resume=ns.resume,
        progress=not ns.no_progress,
        stop_after=ns.stop_after,
        report=ns.report,
        compile=ns.compile,
        show_code=ns.show_code,
        explicit=explicit,
    )
    if ns.report:
        _check_plot(ns.report)
    return cfg, opts


# ---- glassgrad train: reporting ------------------------------------------------------------------


def summary_table(result: dict[str, Any]) -> str:
    """Per-epoch metrics as an aligned text table, then the totals."""
    h = result["history"]
    head = f"{'epoch':>5}  {'lr':>9}  {'train loss':>10}  {'train acc':>9}  "
    head += f"{'test loss':>9}  {'test acc':>8}  {'samples/s':>9}"
    lines = [head, "-" * len(head)]
    for i in range(len(h.get("train_loss", []))):
        lines.append(
            f"{i + 1:>5}  {h['lr'][i]:>9.3g}  {h['train_loss'][i]:>10.4f}  "
            f"{h['train_accuracy'][i]:>9.2%}  {h['test_loss'][i]:>9.4f}  "
            f"{h['test_accuracy'][i]:>8.2%}  {h['samples_per_second'][i]:>9,.0f}"
        )
    lines.append("-" * len(head))
    acc = result["test_accuracy"]
    lines.append(
        f"{result['model']} with {result['parameters']:,} parameters, {result['epochs']} epochs "
        f"in {result['seconds']:.1f} s: test accuracy "
        + (f"{acc:.2%}" if acc is not None else "n/a")
    )
    return "\n".join(lines)


def _check_plot(path: str) -> None:
    """Fail before training, not after it, if the plot cannot be written."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise TrainError(
            "--plot needs matplotlib: pip install 'glassgrad[train]' (or matplotlib)"
        ) from None
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise TrainError(f"--plot {path}: the folder {folder} does not exist")


def plot(history: dict[str, list[float]], path: str) -> None:
    """Loss and accuracy per epoch, train and test, side by side."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    epochs = range(1, len(history.get("train_loss", [])) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for split in ("train", "test"):
        ax1.plot(epochs, history.get(f"{split}_loss", []), marker="o", label=split)
        ax2.plot(epochs, history.get(f"{split}_accuracy", []), marker="o", label=split)
    ax1.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as e:
        raise TrainError(f"--plot {path}: {e}") from None
    finally:
        plt.close(fig)


def cli(ns: argparse.Namespace) -> int:
    """``glassgrad train`` once its arguments are parsed.

    With ``--json``, stdout holds only the final JSON line and everything else goes to stderr.
    Under ``mpiexec -n N`` every rank trains and rank 0 alone prints and writes files.
    """
    cfg, opts = options_from_args(ns)
    if ns.plot:
        _check_plot(ns.plot)
    leader = join().leader
    log = (lambda s: print(s, file=sys.stderr)) if ns.json else print
    try:
        result = run(cfg, opts, log=log)
    except KeyboardInterrupt:
        where = f"; resume with --resume {opts.save}" if opts.save else ""
        if leader:
            print(f"glassgrad train: interrupted{where}", file=sys.stderr)
        return 130
    if not leader:
        return 0
    log(summary_table(result))
    code = result.get("compiled_code")
    if ns.show_code:
        log(code if code is not None else "(no training step ran: nothing was compiled)")
    if ns.plot:
        plot(result["history"], ns.plot)
        log(f"curves written to {ns.plot}")
    if ns.json:
        print(json.dumps(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="glassgrad", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the worked examples (the chain rule, step by step)")
    train_parser = sub.add_parser(
        "train",
        help="train a classifier (default: an MLP on the bundled digits)",
        description=TRAIN_DOC,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(train_parser)
    explain.add_subparser(sub)
    try:
        args = parser.parse_args(argv)
    except TrainError as e:  # argparse's complaint, as one line
        print(f"glassgrad: error: {e} (see glassgrad --help)", file=sys.stderr)
        return e.code
    if args.command == "demo":
        return demo()
    if args.command == "explain":
        return explain.run(args)
    try:
        return cli(args)
    except TrainError as e:  # bad options, data or checkpoint: one line, no traceback
        if join().leader:  # (the same error on every rank: rank 0 says it)
            print(f"glassgrad train: error: {e}", file=sys.stderr)
        return e.code


if __name__ == "__main__":
    sys.exit(main())
