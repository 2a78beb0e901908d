"""``torch.utils.tensorboard.SummaryWriter`` on glassgrad: the same events as PyTorch's writes."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import torch.utils.tensorboard as torch_tb
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import glassgrad as gg
import glassgrad.utils.tensorboard as gg_tb


def _write(lib, tb, log_dir) -> None:
    values = np.linspace(-2.0, 3.0, 101)
    with tb.SummaryWriter(log_dir) as w:
        for step in range(3):
            loss = lib.tensor(1.0 / (step + 1))
            w.add_scalar("train/loss", loss, step)
            w.add_scalar("lr", 0.1 * step, global_step=step)
            w.add_scalars("run", {"a": lib.tensor(float(step)), "b": 2.0 * step}, step)
        w.add_histogram("weights", lib.tensor(values), 0)
        w.add_text("note", "hello", 0)
        w.add_image("img", lib.tensor(np.linspace(0, 1, 3 * 4 * 5).reshape(3, 4, 5)), 0)


def _read(path: str) -> EventAccumulator:
    acc = EventAccumulator(path, size_guidance={"histograms": 0, "scalars": 0, "images": 0})
    acc.Reload()
    return acc


def test_summary_writer_writes_what_pytorch_writes(tmp_path) -> None:
    _write(torch, torch_tb, str(tmp_path / "torch"))
    _write(gg, gg_tb, str(tmp_path / "gg"))
    ours, theirs = _read(str(tmp_path / "gg")), _read(str(tmp_path / "torch"))
    assert ours.Tags()["scalars"] == theirs.Tags()["scalars"] == ["train/loss", "lr"]
    for tag in ("train/loss", "lr"):
        a, b = ours.Scalars(tag), theirs.Scalars(tag)
        assert [(e.step, e.value) for e in a] == [(e.step, e.value) for e in b]
    (h_ours,), (h_theirs,) = ours.Histograms("weights"), theirs.Histograms("weights")
    for field in ("min", "max", "num", "sum", "sum_squares", "bucket_limit", "bucket"):
        np.testing.assert_allclose(
            getattr(h_ours.histogram_value, field), getattr(h_theirs.histogram_value, field)
        )
    (img_ours,), (img_theirs,) = ours.Images("img"), theirs.Images("img")
    assert (img_ours.width, img_ours.height) == (img_theirs.width, img_theirs.height) == (5, 4)
    assert img_ours.encoded_image_string == img_theirs.encoded_image_string
    assert ours.Tags()["tensors"] == theirs.Tags()["tensors"]  # the text summary
    # add_scalars: one run directory per key, named as PyTorch names them
    runs = [
        {d for d in os.listdir(tmp_path / lib) if not d.startswith("events")}
        for lib in ("gg", "torch")
    ]
    assert runs[0] == runs[1] == {"run_a", "run_b"}
    for key, scale in (("a", 1.0), ("b", 2.0)):
        run = _read(str(tmp_path / "gg" / f"run_{key}"))
        assert [(e.step, e.value) for e in run.Scalars("run")] == [(s, scale * s) for s in range(3)]


def test_default_log_dir_and_add_graph(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    w = gg_tb.SummaryWriter(comment="_exp")
    assert w.get_logdir().startswith("runs" + os.sep) and w.get_logdir().endswith("_exp")
    with pytest.warns(UserWarning, match="glassgrad.viz"):
        w.add_graph(gg.nn.Linear(2, 1), gg.ones(1, 2))
    w.close()
