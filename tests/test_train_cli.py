"""``glassgrad train``: accuracy of the defaults, exact resume, data formats, clear errors."""

from __future__ import annotations

import ast
import gzip
import json
import os
import re
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.__main__ import main as cli_main
from glassgrad.data import load_digits
from glassgrad.serialization import load, save

ROOT = Path(__file__).resolve().parent.parent
# Small and quick: 2 epochs of a narrow MLP on the digits take well under a second.
QUICK = ["--hidden", "32", "--epochs", "2", "--no-progress"]


def train(capsys, *args: str) -> dict:
    """Run ``glassgrad train ARGS --json`` in process; its last stdout line, parsed."""
    code = cli_main(["train", *args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out.strip().splitlines()[-1])


def fails(capsys, *args: str) -> tuple[int, str]:
    """Exit status and stderr of a ``glassgrad train`` that must fail with one clear line."""
    code = cli_main(["train", *args])
    _, err = capsys.readouterr()
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return code, lines[0]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m glassgrad ARGS`` in a fresh interpreter (what a user types)."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    return subprocess.run(
        [sys.executable, "-m", "glassgrad", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


# ---- the main job --------------------------------------------------------------------------------


def test_default_run_reaches_97_percent() -> None:
    """`glassgrad train --json`: the defaults, as `make demo` runs them, in a fresh process."""
    proc = cli("train", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["model"] == "mlp" and result["data"] == "digits"
    assert result["test_accuracy"] >= 0.97
    assert result["seconds"] > 0  # reported; its speed is measured by bench W8, not asserted
    assert result["epochs"] == result["config"]["epochs"] == len(result["history"]["train_loss"])
    # the progress went to stderr: a bar (tqdm) or plain lines, each epoch with its loss
    assert "epoch" in proc.stderr and "loss" in proc.stderr


def test_cnn_default_run_reaches_98_percent() -> None:
    """`glassgrad train --model cnn` with every other option at its default."""
    proc = cli("train", "--model", "cnn", "--json", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["test_accuracy"] >= 0.98


def test_quick_run_learns_and_reports_every_field(capsys) -> None:
    r = train(capsys, *QUICK)
    for key in ("test_accuracy", "train_loss", "epochs", "seconds", "test_loss", "parameters"):
        assert key in r
    assert r["epochs"] == 2
    assert r["parameters"] == (64 * 32 + 32) + (32 * 10 + 10)
    assert r["test_accuracy"] > 0.85  # 2 epochs of a 32-wide MLP; chance is 0.1
    losses = r["history"]["train_loss"]
    assert losses[1] < losses[0] < np.log(10)


def test_summary_table_and_progress_lines_without_json(capsys) -> None:
    assert cli_main(["train", *QUICK]) == 0
    out = capsys.readouterr().out
    assert "train loss" in out and "test acc" in out  # the table's header
    assert "test accuracy" in out.splitlines()[-1]  # the closing line


def test_progress_bar_shows_loss_and_throughput(capsys) -> None:
    assert cli_main(["train", "--hidden", "32", "--epochs", "1"]) == 0
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "loss=" in err and "sample/s" in err


def test_progress_falls_back_to_plain_lines_without_tqdm(capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # `import tqdm` now raises ImportError
    assert cli_main(["train", "--hidden", "32", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "samples/s" in out and "epoch   1/1" in out


@pytest.mark.parametrize(
    "options",
    [
        ["--optimizer", "sgd", "--schedule", "step"],
        ["--optimizer", "adamw", "--schedule", "onecycle", "--lr", "0.01"],
        ["--optimizer", "adam", "--schedule", "none", "--batch-size", "64"],
        ["--dtype", "float64", "--dropout", "0"],
    ],
)
def test_optimizers_schedules_and_dtypes_all_train(capsys, options) -> None:
    r = train(capsys, *QUICK, *options)
    assert r["test_accuracy"] > 0.7, options


def test_float64_checkpoint_holds_float64_weights(capsys, tmp_path) -> None:
    ck = tmp_path / "ck.gg"
    train(capsys, *QUICK, "--dtype", "float64", "--save", str(ck))
    state = load(ck)["model"]
    assert {np.asarray(v).dtype for v in state.values()} == {np.dtype(np.float64)}


def test_cnn_trains_on_images(capsys) -> None:
    r = train(capsys, "--model", "cnn", "--hidden", "8", "--epochs", "1", "--no-progress")
    assert r["model"] == "cnn" and r["test_accuracy"] > 0.5


def test_plot_writes_a_png(capsys, tmp_path) -> None:
    png = tmp_path / "curves.png"
    train(capsys, *QUICK, "--plot", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- resume --------------------------------------------------------------------------------------

# Everything that carries state across epochs: Adam's moments, a per-batch OneCycle schedule,
# dropout (glassgrad's generator) and shuffling (the loader's generator).
RESUME = ["--hidden", "24", "--epochs", "4", "--dropout", "0.3", "--schedule", "onecycle"]


def test_resume_continues_with_exactly_the_uninterrupted_losses(capsys, tmp_path) -> None:
    straight = train(capsys, *RESUME, "--no-progress")
    ck = tmp_path / "run.ckpt"
    first = train(capsys, *RESUME, "--no-progress", "--save", str(ck), "--stop-after", "2")
    assert first["epochs"] == 2
    assert load(ck)["epoch"] == 2
    gg.manual_seed(12345)  # whatever the generator holds now, the checkpoint's state wins
    np.random.default_rng(99).random(7)
    resumed = train(capsys, "--resume", str(ck), "--no-progress")
    assert resumed["epochs"] == 4
    for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy", "lr"):
        assert resumed["history"][key] == straight["history"][key], key  # exact, not approx
    assert first["history"]["train_loss"] == straight["history"]["train_loss"][:2]


def test_resume_without_a_change_of_schedule_may_extend_the_run(capsys, tmp_path) -> None:
    ck = tmp_path / "run.ckpt"
    opts = ["--hidden", "16", "--schedule", "none", "--no-progress", "--save", str(ck)]
    train(capsys, *opts, "--epochs", "1")
    r = train(capsys, "--resume", str(ck), "--epochs", "2", "--no-progress")
    assert r["epochs"] == 2 and len(r["history"]["train_loss"]) == 2


def test_resume_refuses_an_option_that_changes_the_run(capsys, tmp_path) -> None:
    ck = tmp_path / "run.ckpt"
    train(capsys, *QUICK, "--save", str(ck))
    code, msg = fails(capsys, "--resume", str(ck), "--lr", "0.5")
    assert code == 2 and "--lr" in msg and str(ck) in msg


def test_resume_from_a_missing_or_foreign_file_is_one_clear_line(capsys, tmp_path) -> None:
    _, msg = fails(capsys, "--resume", str(tmp_path / "nope.ckpt"))
    assert "nope.ckpt" in msg
    other = tmp_path / "other.ckpt"
    save({"weights": gg.ones(3)}, other)
    _, msg = fails(capsys, "--resume", str(other))
    assert "not a glassgrad train checkpoint" in msg
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(b"PK\x03\x04 definitely not a zip")
    _, msg = fails(capsys, "--resume", str(broken))
    assert "broken.ckpt" in msg


# ---- data formats --------------------------------------------------------------------------------


def _digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits()
    return np.asarray(X), np.asarray(y)


def test_npz_data(capsys, tmp_path) -> None:
    X, y = _digits()
    path = tmp_path / "digits.npz"
    np.savez(path, x=(X * 16).astype(np.uint8).reshape(-1, 8, 8), y=y)
    r = train(capsys, *QUICK, "--data", f"npz:{path}")
    assert r["test_accuracy"] > 0.85
    r = train(capsys, "--data", f"npz:{path}", "--model", "cnn", "--hidden", "8", "--epochs", "1")
    assert r["test_accuracy"] > 0.5


def test_csv_data(capsys, tmp_path) -> None:
    X, y = _digits()
    path = tmp_path / "digits.csv"
    np.savetxt(path, np.column_stack([X * 16, y]), fmt="%d", delimiter=",")
    r = train(capsys, *QUICK, "--data", f"csv:{path}")
    assert r["test_accuracy"] > 0.85


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_idx_data_gzipped(capsys, tmp_path) -> None:
    X, y = _digits()
    images, labels = tmp_path / "images.idx3.gz", tmp_path / "labels.idx1.gz"
    _write_idx(images, (X * 255).reshape(-1, 8, 8))
    _write_idx(labels, y)
    r = train(capsys, *QUICK, "--data", f"idx:{images},{labels}")
    assert r["test_accuracy"] > 0.85


# ---- bad options and bad data: non-zero exit, one line, no traceback -----------------------------


@pytest.mark.parametrize(
    "args,culprit",
    [
        (["--epochs", "0"], "--epochs"),
        (["--epochs", "many"], "--epochs"),
        (["--model", "rnn"], "--model"),
        (["--optimizer", "lbfgs"], "--optimizer"),
        (["--hidden", "12,x"], "--hidden"),
        (["--lr", "-1"], "--lr"),
        (["--dropout", "1.5"], "--dropout"),
        (["--data", "mnist"], "--data"),
        (["--data", "idx:only-one-file"], "--data"),
        (["--frobnicate"], "--frobnicate"),
    ],
)
def test_bad_options_exit_2_naming_the_option(capsys, args, culprit) -> None:
    code, msg = fails(capsys, *args)
    assert code == 2 and culprit in msg


def test_bad_data_files_exit_1_naming_the_file(capsys, tmp_path) -> None:
    _, msg = fails(capsys, "--data", f"npz:{tmp_path / 'missing.npz'}")
    assert "missing.npz" in msg
    truncated = tmp_path / "cut.npz"
    np.savez(truncated, x=np.zeros((10, 4)), y=np.zeros(10, np.int64))
    truncated.write_bytes(truncated.read_bytes()[:100])
    code, msg = fails(capsys, "--data", f"npz:{truncated}")
    assert code == 1 and "cut.npz" in msg
    labels = tmp_path / "fractional.npz"
    np.savez(labels, x=np.zeros((10, 4)), y=np.linspace(0, 1, 10))
    _, msg = fails(capsys, "--data", f"npz:{labels}")
    assert "fractional.npz" in msg or "label" in msg


def test_cnn_on_non_image_data_is_refused(capsys, tmp_path) -> None:
    path = tmp_path / "tabular.npz"
    np.savez(path, x=np.zeros((20, 5), np.float32), y=np.arange(20) % 2)
    _, msg = fails(capsys, "--data", f"npz:{path}", "--model", "cnn")
    assert "--model cnn" in msg and "5 features" in msg


def test_plot_into_a_missing_folder_fails_before_training(capsys, tmp_path) -> None:
    _, msg = fails(capsys, *QUICK, "--plot", str(tmp_path / "no" / "such" / "dir.png"))
    assert "--plot" in msg


def test_a_bad_option_in_a_fresh_process_prints_no_traceback() -> None:
    proc = cli("train", "--epochs", "-3")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "--epochs" in proc.stderr


def test_help_lists_the_options() -> None:
    proc = cli("train", "--help")
    assert proc.returncode == 0
    for option in ("--data", "--model", "--resume", "--json", "--plot", "--schedule"):
        assert option in proc.stdout


def test_report_prints_gradient_flow_each_epoch_and_plots_norms(tmp_path, capsys) -> None:
    png = tmp_path / "norms.png"
    args = ["train", "--epochs", "2", "--hidden", "16", "--no-progress", "--report", str(png)]
    assert cli_main(args) == 0
    out = capsys.readouterr().out
    assert out.count("gradient flow after epoch") == 2
    assert "grad norm" in out and "dead" in out and "Linear" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- --compile: each step through glassgrad.compile ----------------------------------------------


def _without_timings(r: dict) -> dict:
    """A result with its wall-clock fields dropped (they differ run to run)."""
    r = {k: v for k, v in r.items() if k != "seconds"}
    r["history"] = {
        k: v for k, v in r["history"].items() if k not in ("seconds", "samples_per_second")
    }
    return r


@pytest.mark.parametrize(
    "options",
    [
        [],  # Adam, cosine schedule, dropout: the defaults
        ["--optimizer", "sgd", "--schedule", "onecycle", "--dtype", "float64"],  # per-batch lr
    ],
)
def test_compile_gives_the_same_results_as_eager_and_warns_of_nothing(capsys, options) -> None:
    quick = ["--hidden", "32", "--epochs", "1", "--no-progress", *options]
    eager = train(capsys, *quick)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled = train(capsys, *quick, "--compile")
    assert [str(w.message) for w in caught] == []
    stats = compiled.pop("compile")
    assert stats["replays"] > 0 and stats["eager_groups"] == 0, stats
    assert "compile" not in eager
    assert _without_timings(compiled) == _without_timings(eager)  # every float, bit for bit


def test_compiled_resume_continues_with_exactly_the_uninterrupted_losses(capsys, tmp_path) -> None:
    """The compiled step is made after the restore: it reads the restored weights and moments."""
    ck = tmp_path / "ck.gg"
    quick = ["--hidden", "16", "--epochs", "2", "--no-progress"]
    whole = train(capsys, *quick)
    train(capsys, *quick, "--compile", "--save", str(ck), "--stop-after", "1")
    resumed = train(capsys, *quick, "--compile", "--resume", str(ck))
    assert resumed["history"]["train_loss"] == whole["history"]["train_loss"]
    assert resumed["test_accuracy"] == whole["test_accuracy"]


def test_show_code_prints_the_compiled_step(capsys) -> None:
    assert (
        cli_main(["train", "--hidden", "16", "--epochs", "1", "--no-progress", "--show-code"]) == 0
    )
    out = capsys.readouterr().out
    code = out[out.index("def train_step(") :]
    ast.parse(code)  # the generated function, as Python source
    assert "test accuracy" in out[: out.index("def train_step(")]  # after the summary table
    # gradients named after the model's parameters, each backward line under its rule
    assert re.search(r"^ +model_0_weight_grad = ", code, re.M)
    assert "AddmmBackward0:" in code and "ReluBackward0:" in code
    assert "# Adam.step" in code
